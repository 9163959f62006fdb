//! Format stability: the v1 event JSON must keep parsing, and every kind round-trips.

use std::collections::BTreeSet;

use warroom::incident::{Event, EventKind, Status, fold};

const FIXTURE: &str = include_str!("fixtures/events-v1.json");

fn fixture() -> Vec<Event> {
    serde_json::from_str(FIXTURE).expect("v1 fixture parses")
}

#[test]
fn v1_fixture_parses_with_every_kind() {
    let events = fixture();
    let kinds: BTreeSet<&str> = events.iter().map(|e| e.kind.name()).collect();
    let expected = [
        "opened",
        "note",
        "amended",
        "severity_set",
        "status_set",
        "acknowledged",
        "role_assigned",
        "process_signalled",
        "evidence_captured",
        "runbook_attached",
        "checklist_item_set",
        "command_run",
        "paged",
        "contact_attempted",
        "status_update_posted",
        "process_outcome",
    ];
    assert_eq!(kinds, expected.into_iter().collect(), "fixture must hold every kind");
    assert!(events.iter().all(|e| e.kind != EventKind::Unknown));
}

#[test]
fn every_kind_round_trips_to_the_same_json() {
    let raw: Vec<serde_json::Value> = serde_json::from_str(FIXTURE).unwrap();
    for (value, ev) in raw.iter().zip(fixture()) {
        let again = serde_json::to_value(&ev).unwrap();
        assert_eq!(&again, value, "{} changed shape", ev.kind.name());
        let back: Event = serde_json::from_value(again).unwrap();
        assert_eq!(back, ev);
    }
}

#[test]
fn fixture_folds_as_expected() {
    let st = fold(&fixture()).unwrap();
    assert_eq!(st.title, "Checkout API returning 502");
    assert_eq!(st.severity.get(), 2);
    assert_eq!(st.status, Status::Resolved);
    assert!(st.acknowledged.is_some());
    assert_eq!(st.notes[0].text, "nginx upstream timeouts to pay-svc (all 3 pods)", "amendment applied");
    assert_eq!(st.checklist.len(), 1);
    assert_eq!(st.people.len(), 2);
    assert_eq!(st.event_count, 18);
}

#[test]
fn malformed_events_are_errors_not_panics() {
    for bad in [
        r#"{"id":"x","incident":"y","at":"2026","author":"a","type":"note","text":"t"}"#,
        r#"{"id":"01a20000-0000-7000-8000-000000000000","incident":"01a20000-0000-7000-8000-000000000000","at":"2026-11-23T03:00:00Z","author":"a","type":"severity_set","severity":9}"#,
        r#"{"id":"01a20000-0000-7000-8000-000000000000","incident":"01a20000-0000-7000-8000-000000000000","at":"2026-11-23T03:00:00Z","author":"a","type":"note"}"#,
        r#"[]"#,
    ] {
        assert!(serde_json::from_str::<Event>(bad).is_err(), "{bad}");
    }
}
