//! The engine's decision under a moving clock: what is due, when, and what stops it.

use chrono::{DateTime, Duration, Utc};

use super::plan::*;
use crate::incident::{Event, EventKind, Severity, Status};
use crate::team::Team;
use crate::team::tests::with_escalation;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const ESCALATION: &str = r#"
[escalation.sev1]
repeat = 1
levels = [
  { target = "primary", after_minutes = 5 },
  { target = "cy", after_minutes = 10 },
]

[escalation.sev2]
levels = [
  { target = "bo", after_minutes = 0.5 },
  { target = "cy", after_minutes = 30 },
]
"#;

fn team() -> Team {
    with_escalation(ESCALATION)
}

const T0: &str = "2026-11-23T03:00:00Z";

fn opened(sev: u8) -> Event {
    Event::open(at(T0), "ana", "db down".into(), Severity::new(sev).unwrap(), None)
}

fn ev(incident: &Event, mins: f64, kind: EventKind) -> Event {
    let t = at(T0) + Duration::milliseconds((mins * 60_000.0) as i64);
    Event::new(incident.incident, t, "bo", kind)
}

/// Runs the engine like an executor would: at each instant, claims what is due and records it
/// delivered a second later. Returns (minute, level, cycle, person) of every page.
fn drive(team: &Team, mut events: Vec<Event>, until_min: i64) -> Vec<(f64, u32, u32, Option<String>)> {
    let mut sent = Vec::new();
    let start = at(T0);
    for s in 0..=until_min * 60 {
        let now = start + Duration::seconds(s);
        let p = plan(team, &events, now);
        for d in p.due {
            events.push(claim_event(events[0].incident, &d, now, "exec"));
            let mut paged = Event::new(
                events[0].incident,
                now,
                "exec",
                EventKind::Paged {
                    person: d.person.clone().unwrap_or_default(),
                    method: "webhook".into(),
                    level: Some(d.level),
                    ok: true,
                    outcome: "delivered".into(),
                    dedup_key: Some(d.dedup_key.clone()),
                    cycle: Some(d.cycle),
                },
            );
            paged.at = now;
            events.push(paged);
            sent.push((s as f64 / 60.0, d.level, d.cycle, d.person));
        }
    }
    sent
}

#[test]
fn sev1_pages_level_1_at_once_level_2_after_its_minutes_and_repeats_the_ladder() {
    let sent = drive(&team(), vec![opened(1)], 60);
    let who = |s: &str| Some(s.to_string());
    assert_eq!(
        sent,
        vec![
            (0.0, 1, 1, who("ana")),
            (5.0, 2, 1, who("cy")),
            // Cycle 2 starts when level 2's wait runs out; the rotation handed off to bo at 03:10.
            (15.0, 1, 2, who("bo")),
            (20.0, 2, 2, who("cy")),
        ]
    );
    let events = vec![opened(1)];
    let p = plan(&team(), &events, at(T0) + Duration::minutes(2));
    assert_eq!(p.due.len(), 1, "level 1 is due until it is claimed");
    assert_eq!(p.next_at, Some(at(T0) + Duration::minutes(5)));
}

#[test]
fn ack_stops_the_ladder_and_resolve_too() {
    let o = opened(1);
    let ack = ev(&o, 3.0, EventKind::Acknowledged {});
    let sent = drive(&team(), vec![o.clone(), ack], 60);
    assert_eq!(sent.iter().map(|s| s.1).collect::<Vec<_>>(), vec![1], "only level 1 before the ack");
    let resolved = ev(&o, 7.0, EventKind::StatusSet { status: Status::Resolved });
    let sent = drive(&team(), vec![o.clone(), resolved.clone()], 60);
    assert_eq!(sent.len(), 2, "levels 1 and 2, nothing after the resolve: {sent:?}");
    let p = plan(&team(), &[o, resolved], at(T0) + Duration::minutes(30));
    assert_eq!(p.stopped, Some(Stopped::Resolved));
    assert!(p.due.is_empty() && p.next_at.is_none());
}

#[test]
fn an_ack_not_yet_happened_at_now_does_not_count() {
    let o = opened(1);
    let ack = ev(&o, 30.0, EventKind::Acknowledged {});
    let p = plan(&team(), &[o, ack], at(T0) + Duration::minutes(6));
    assert_eq!(p.due.iter().map(|d| d.level).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn fractional_minutes_fall_due_in_seconds() {
    let sent = drive(&team(), vec![opened(2)], 1);
    assert_eq!(sent.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), vec![(0.0, 1), (0.5, 2)]);
}

#[test]
fn a_severity_change_replans_from_the_change_without_paging_a_level_twice() {
    // SEV2: bo at once, cy after 30 s. Raised to SEV1 at 0:10, before level 2 was due: the SEV1
    // ladder runs from 0:10, level 1 is already paged, level 2 (cy) falls due 5 minutes later.
    let o = opened(2);
    let raise = ev(&o, 10.0 / 60.0, EventKind::SeveritySet { severity: Severity::new(1).unwrap() });
    let sent = drive(&team(), vec![o, raise], 16);
    let got: Vec<_> = sent.iter().map(|s| ((s.0 * 60.0).round() as i64, s.1, s.2)).collect();
    assert_eq!(got, vec![(0, 1, 1), (310, 2, 1), (910, 1, 2)]);
}

#[test]
fn a_claim_without_an_outcome_is_resent_once_stale_with_the_same_dedup_key() {
    let o = opened(1);
    let now = at(T0);
    let first = plan(&team(), std::slice::from_ref(&o), now).due.remove(0);
    let claim = claim_event(o.incident, &first, now, "exec-that-died");
    let events = vec![o.clone(), claim];
    assert!(plan(&team(), &events, now + Duration::seconds(60)).due.is_empty(), "not stale yet");
    let p = plan(&team(), &events, now + STALE_CLAIM);
    let again = p.due.iter().find(|d| d.level == 1).expect("level 1 re-sent");
    assert_eq!((again.attempt, &again.dedup_key), (2, &first.dedup_key));
    assert_ne!(again.claim_id, first.claim_id, "a new claim, so one executor wins the re-send too");
    assert_eq!(first.claim_id, crate::incident::event::escalation_claim_id(o.incident, 1, 1, 1));
}

#[test]
fn every_executor_computes_the_same_claim_id() {
    let o = opened(1);
    let a = plan(&team(), std::slice::from_ref(&o), at(T0)).due;
    let b = plan(&team(), std::slice::from_ref(&o), at(T0) + Duration::seconds(30)).due;
    assert_eq!(a[0].claim_id, b[0].claim_id);
    assert_eq!(a[0].dedup_key, format!("warroom-{}-L1-C1", o.incident));
}

#[test]
fn no_ladder_for_the_severity_stops_with_a_reason() {
    let p = plan(&team(), &[opened(4)], at(T0));
    assert_eq!(p.stopped, Some(Stopped::NoLadder));
}

#[test]
fn page_records_pair_claims_with_outcomes() {
    let o = opened(1);
    let d = plan(&team(), std::slice::from_ref(&o), at(T0)).due.remove(0);
    let claim = claim_event(o.incident, &d, at(T0), "server");
    let paged = ev(
        &o,
        0.1,
        EventKind::Paged {
            person: "ana".into(),
            method: "pagerduty".into(),
            level: Some(1),
            ok: false,
            outcome: "HTTP 400".into(),
            dedup_key: Some(d.dedup_key.clone()),
            cycle: Some(1),
        },
    );
    let r = page_records(&[o, paged, claim]);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].level, r[0].by.as_str(), r[0].delivered()), (1, "server", false));
    assert_eq!(r[0].outcomes[0].2, "HTTP 400");
}
