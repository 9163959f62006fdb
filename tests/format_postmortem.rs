//! Format stability of the kinds the postmortem work added: they keep parsing and round-trip to
//! the same JSON, and fold as expected (a follow-up's status, the change before the opening, the
//! Statuspage id).

use warroom::incident::{Event, EventKind, FollowupStatus, fold};

const FIXTURE: &str = include_str!("fixtures/events-postmortem.json");

#[test]
fn postmortem_kinds_round_trip_and_fold() {
    let raw: Vec<serde_json::Value> = serde_json::from_str(FIXTURE).unwrap();
    let events: Vec<Event> = serde_json::from_str(FIXTURE).unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    for kind in [
        "change_recorded",
        "status_update_delivered",
        "followup_added",
        "followup_status_set",
        "resolution_recorded",
    ] {
        assert!(names.contains(&kind), "fixture lacks {kind}");
    }
    for (value, ev) in raw.iter().zip(&events) {
        assert_ne!(ev.kind, EventKind::Unknown);
        assert_eq!(&serde_json::to_value(ev).unwrap(), value, "{} changed shape", ev.kind.name());
    }
    let st = fold(&events).unwrap();
    assert_eq!(st.changes.len(), 1);
    assert!(st.changes[0].at < st.opened_at, "the change before the opening is kept");
    assert_eq!(st.changes[0].command.as_ref().unwrap().duration_ms, 41_250);
    assert_eq!(st.followups[0].status, FollowupStatus::WontDo);
    assert_eq!(st.external_ids["statuspage"], "p31zjtct2jer");
    assert_eq!(st.resolution.as_ref().unwrap().value, "rolled back pay-svc to v1.4.1");
    assert_eq!(st.impact_started_at, st.opened_at, "a change is not impact");
}
