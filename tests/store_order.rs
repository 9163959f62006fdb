//! `Store::events` reads rows in storage order and sorts them in memory: it must give exactly the
//! order the (at, id) index gives, ties on `at` included, however the events were appended, in a
//! real SQLite file shared with other incidents' events.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::store::Store;

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc()
}

/// An instant drawn so that ties are common: a few whole seconds apart, sometimes a nanosecond
/// apart, sometimes centuries apart (the text column must still sort like the instant).
fn at(choice: u8, n: i64) -> DateTime<Utc> {
    match choice % 4 {
        0 | 1 => base() + Duration::seconds(n % 4),
        2 => base() + Duration::nanoseconds(n % 3),
        _ => base() + Duration::days(365 * (n % 900) - 365 * 450),
    }
}

/// Events of `incident` with random ids (so a tie on `at` is broken by an id unrelated to it).
fn events(incident: Uuid, specs: &[(u8, i64, u128)]) -> Vec<Event> {
    specs
        .iter()
        .enumerate()
        .map(|(i, &(choice, n, id))| {
            let mut ev = Event::new(
                incident,
                at(choice, n),
                "ana",
                EventKind::Note { text: format!("n{i}"), tag: Tag::Note },
            );
            ev.id = Uuid::from_u128(id);
            ev
        })
        .collect()
}

fn ids(evs: &[Event]) -> Vec<Uuid> {
    evs.iter().map(|e| e.id).collect()
}

proptest! {
    // Up to 6,000 events: past the row count (4,096 on two cores) where reading splits across
    // threads and connections.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn storage_order_read_sorts_like_the_index(
        specs in prop::collection::vec((any::<u8>(), any::<i64>(), any::<u128>()), 0..6000),
        other in prop::collection::vec((any::<u8>(), any::<i64>(), any::<u128>()), 0..50),
        batches in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let open = Event::open(base(), "ana", "t".into(), Severity::new(2).unwrap(), None);
        let mine = events(open.incident, &specs);
        let theirs = events(Uuid::from_u128(7), &other);
        // Appended in several transactions, the other incident's events interleaved.
        store.append(&open).unwrap();
        let per = mine.len().div_ceil(batches).max(1);
        for (i, chunk) in mine.chunks(per).enumerate() {
            store.append_all(chunk, None).unwrap();
            if i == 0 {
                store.append_all(&theirs, None).unwrap();
            }
        }
        let got = store.events(open.incident).unwrap();
        let index = store.events_index_order(open.incident).unwrap();
        prop_assert_eq!(ids(&got), ids(&index));
        prop_assert_eq!(&got, &index);
        // The same through the snapshot read the cockpit uses.
        let (with_mark, _) = store.events_with_mark(open.incident).unwrap();
        prop_assert_eq!(ids(&with_mark), ids(&index));
        let theirs_got = store.events(Uuid::from_u128(7)).unwrap();
        prop_assert_eq!(ids(&theirs_got), ids(&store.events_index_order(Uuid::from_u128(7)).unwrap()));
    }
}

/// A body that does not parse is still reported by its event id, also when a helper thread read
/// it (the second half of the rows, on a machine with two cores or more).
#[test]
fn unreadable_body_names_the_event_on_the_parallel_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let open = Event::open(base(), "ana", "t".into(), Severity::new(2).unwrap(), None);
    let specs: Vec<_> = (0..6000).map(|i| (0u8, i as i64, (i as u128 + 1) << 64)).collect();
    let mut evs = vec![open.clone()];
    evs.extend(events(open.incident, &specs));
    store.append_all(&evs, None).unwrap();
    let victim = evs[5000].id;
    // Corrupt one stored body through SQLite itself, as a bad disk or a foreign writer might.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute("UPDATE events SET body = '{\"id\": 1' WHERE id = ?1", [victim.to_string()]).unwrap();
    drop(conn);
    let err = store.events(open.incident).unwrap_err().to_string();
    assert!(err.contains(&victim.to_string()), "{err}");
    assert!(err.contains("unreadable"), "{err}");
}
