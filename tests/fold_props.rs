//! The fold's promise: any permutation and duplication of an event set gives the same state.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use warroom::incident::state::canonical;
use warroom::incident::{Audience, Event, EventKind, Role, Severity, Status, Tag, fold, fold_resumable};

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc()
}

/// A kind drawn from everything the fold treats specially; `notes` lets amendments target notes.
fn kind(choice: u8, n: u8, notes: &[Uuid]) -> EventKind {
    let sev = Severity::new(n % 4 + 1).unwrap();
    match choice % 10 {
        0 => EventKind::Note { text: format!("note {n}"), tag: Tag::ALL[n as usize % Tag::ALL.len()] },
        1 => EventKind::SeveritySet { severity: sev },
        2 => EventKind::StatusSet { status: Status::ALL[n as usize % Status::ALL.len()] },
        3 => EventKind::Acknowledged {},
        4 => EventKind::RoleAssigned { role: Role::ALL[n as usize % 4], person: format!("p{}", n % 3) },
        5 => EventKind::ChecklistItemSet {
            runbook: "rb".into(),
            item: format!("i{}", n % 3),
            checked: n % 2 == 0,
        },
        6 => EventKind::RunbookAttached { runbook: format!("rb{}", n % 2), title: "T".into() },
        7 => EventKind::StatusUpdatePosted { audience: Audience::ALL[n as usize % 2], text: "u".into() },
        8 if !notes.is_empty() => {
            EventKind::Amended { target: notes[n as usize % notes.len()], text: format!("amended {n}") }
        }
        _ => EventKind::ContactAttempted {
            person: "cy".into(),
            method: "phone".into(),
            outcome: "no answer".into(),
        },
    }
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    // (kind choice, parameter, minute offset — small so equal timestamps happen, author)
    prop::collection::vec((any::<u8>(), any::<u8>(), 0i64..20, 0u8..3), 0..40).prop_map(|specs| {
        let open = Event::open(base(), "a0", "t".into(), Severity::new(1).unwrap(), None);
        let mut out = vec![open.clone()];
        let mut notes = Vec::new();
        for (c, n, minute, author) in specs {
            // Minutes may be negative relative to the opening: clock skew between responders.
            let at = base() + Duration::minutes(minute - 3);
            let ev = Event::new(open.id, at, format!("a{author}"), kind(c, n, &notes));
            if matches!(ev.kind, EventKind::Note { .. }) {
                notes.push(ev.id);
            }
            out.push(ev);
        }
        out
    })
}

proptest! {
    #[test]
    fn any_order_and_duplication_folds_the_same(
        evs in events(),
        seed in any::<u64>(),
        dup_mask in any::<u64>(),
    ) {
        let expected = fold(&evs).unwrap();
        let mut shuffled = evs.clone();
        // Duplicate a random subset, then shuffle deterministically from the seed.
        for (i, e) in evs.iter().enumerate() {
            if dup_mask >> (i % 64) & 1 == 1 {
                shuffled.push(e.clone());
            }
        }
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let got = fold(&shuffled).unwrap();
        prop_assert_eq!(got, expected);
    }

    /// A cockpit folds what it has, then pushes what arrives: the same state as one fold. A
    /// push that sorts before what was folded is refused (the caller folds again), never
    /// applied out of order.
    #[test]
    fn folding_a_prefix_then_pushing_the_rest_folds_the_same(evs in events(), cut in any::<usize>()) {
        let mut sorted = evs.clone();
        canonical(&mut sorted);
        let expected = fold(&evs).unwrap();
        // The prefix must hold the opening for a resumable fold.
        let open_at = sorted.iter().position(|e| matches!(e.kind, EventKind::Opened { .. })).unwrap();
        let cut = open_at + 1 + cut % (sorted.len() - open_at);
        let (mut st, mut cursor) = fold_resumable(sorted[..cut].iter()).unwrap();
        cursor.push(&mut st, &sorted[cut..]).unwrap();
        prop_assert_eq!(&st, &expected);
        // Pushing the same events again changes nothing but is refused as out of order, unless
        // only the very last one is repeated (that is skipped).
        if cut >= 2 && cut < sorted.len() {
            prop_assert!(cursor.push(&mut st, &sorted[cut - 2..cut - 1]).is_err());
        }
        prop_assert!(cursor.push(&mut st, &sorted[sorted.len() - 1..]).is_ok());
        prop_assert_eq!(st, expected);
    }

    #[test]
    fn last_writer_wins_on_status(minutes in prop::collection::vec(0i64..1000, 1..20)) {
        let open = Event::open(base(), "a", "t".into(), Severity::new(2).unwrap(), None);
        let mut evs = vec![open.clone()];
        for (i, m) in minutes.iter().enumerate() {
            let status = Status::ALL[i % 4];
            evs.push(Event::new(open.id, base() + Duration::minutes(*m), "a", EventKind::StatusSet { status }));
        }
        let latest = evs[1..].iter().max_by_key(|e| e.order_key()).unwrap();
        let EventKind::StatusSet { status } = latest.kind else { unreachable!() };
        prop_assert_eq!(fold(&evs).unwrap().status, status);
    }
}

#[test]
fn only_the_author_may_amend() {
    let open = Event::open(base(), "ana", "t".into(), Severity::new(2).unwrap(), None);
    let note = Event::new(open.id, base(), "ana", EventKind::Note { text: "orig".into(), tag: Tag::Note });
    let foreign =
        Event::new(open.id, base(), "bo", EventKind::Amended { target: note.id, text: "bo's".into() });
    let st = fold(&[open.clone(), note.clone(), foreign]).unwrap();
    assert_eq!(st.notes[0].text, "orig");
    // An amendment that sorts before its note (clock skew) still applies.
    let skewed = Event::new(
        open.id,
        base() - Duration::minutes(5),
        "ana",
        EventKind::Amended { target: note.id, text: "fixed".into() },
    );
    let st = fold(&[open, note, skewed]).unwrap();
    assert_eq!(st.notes[0].text, "fixed");
}

#[test]
fn no_opened_event_is_an_error() {
    let id = Uuid::now_v7();
    let ev = Event::new(id, base(), "a", EventKind::Acknowledged {});
    assert!(fold(&[ev]).unwrap_err().to_string().contains("no `opened` event"));
    assert!(fold(&[]).is_err());
}
