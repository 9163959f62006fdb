//! Escalation ladder timing: when each level fires, who it reaches, and acknowledgement.

use chrono::{DateTime, Utc};

use super::*;
use crate::team::tests::with_escalation;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

const ESCALATION: &str = r#"
[escalation.sev1]
levels = [
  { target = "primary", after_minutes = 5 },
  { target = "primary", after_minutes = 10 },
  { target = "cy", after_minutes = 15 },
]
"#;

fn team() -> Team {
    with_escalation(ESCALATION)
}

fn states(l: &LadderNow) -> Vec<LevelState> {
    l.levels.iter().map(|l| l.state).collect()
}

#[test]
fn levels_fire_at_cumulative_minutes_and_resolve_at_that_instant() {
    // Opened 03:00Z on the 23rd with nobody acknowledging; now is 03:07.
    let l = team().ladder(1, at("2026-11-23T03:00:00Z"), None, at("2026-11-23T03:07:00Z")).unwrap();
    let fires: Vec<_> = l.levels.iter().map(|l| l.fires_at).collect();
    assert_eq!(
        fires,
        vec![at("2026-11-23T03:00:00Z"), at("2026-11-23T03:05:00Z"), at("2026-11-23T03:15:00Z")]
    );
    assert_eq!(l.exhausted_at, at("2026-11-23T03:30:00Z"));
    // The rotation hands off from ana (shift 0, from the 22nd 03:10) to bo at 03:10 on the 23rd: level 1
    // and 2 reach ana, and a level of the same rotation firing after 03:10 would reach bo.
    let people: Vec<_> = l.levels.iter().map(|l| l.person.clone().unwrap()).collect();
    assert_eq!(people, vec!["ana", "ana", "cy"]);
    assert_eq!(states(&l), vec![LevelState::Fired, LevelState::Fired, LevelState::Pending]);
    assert_eq!((l.next, l.countdown_secs), (Some(2), Some(8 * 60)));
}

#[test]
fn a_rotation_level_reaches_whoever_is_on_call_when_it_fires() {
    let l = team().ladder(1, at("2026-11-23T03:06:00Z"), None, at("2026-11-23T03:06:00Z")).unwrap();
    assert_eq!(l.levels[0].person.as_deref(), Some("ana")); // 03:06
    assert_eq!(l.levels[1].person.as_deref(), Some("bo")); // 03:11, after the 03:10 handoff
    assert_eq!(l.levels[1].target, Target::Rotation("primary".into()));
}

#[test]
fn acknowledgement_cancels_later_levels_and_stops_the_countdown() {
    let opened = at("2026-11-23T03:00:00Z");
    let l = team().ladder(1, opened, Some(at("2026-11-23T03:06:00Z")), at("2026-11-23T03:20:00Z")).unwrap();
    assert_eq!(states(&l), vec![LevelState::Fired, LevelState::Fired, LevelState::Cancelled]);
    assert_eq!((l.next, l.countdown_secs), (None, None));
    // Acknowledged exactly when level 2 fires: level 2 had fired.
    let l = team().ladder(1, opened, Some(at("2026-11-23T03:05:00Z")), at("2026-11-23T03:05:00Z")).unwrap();
    assert_eq!(states(&l), vec![LevelState::Fired, LevelState::Fired, LevelState::Cancelled]);
}

#[test]
fn an_acknowledgement_after_now_is_not_known_yet() {
    let l = team()
        .ladder(1, at("2026-11-23T03:00:00Z"), Some(at("2026-11-23T03:12:00Z")), at("2026-11-23T03:02:00Z"))
        .unwrap();
    assert_eq!(l.acknowledged_at, None);
    assert_eq!(states(&l), vec![LevelState::Fired, LevelState::Pending, LevelState::Pending]);
    assert_eq!((l.next, l.countdown_secs), (Some(1), Some(180)));
}

#[test]
fn exhausted_ladder_has_no_next_level() {
    let l = team().ladder(1, at("2026-11-23T03:00:00Z"), None, at("2026-11-23T05:00:00Z")).unwrap();
    assert!(l.levels.iter().all(|l| l.state == LevelState::Fired));
    assert_eq!((l.next, l.countdown_secs), (None, None));
}

#[test]
fn severity_without_a_ladder_is_none() {
    assert!(team().ladder(2, at("2026-11-23T03:00:00Z"), None, at("2026-11-23T03:00:00Z")).is_none());
}

#[test]
fn ladder_serialises_for_json_output() {
    let l = team().ladder(1, at("2026-11-23T03:00:00Z"), None, at("2026-11-23T03:01:00Z")).unwrap();
    let json = serde_json::to_value(&l).unwrap();
    assert_eq!(json["levels"][0]["target"], serde_json::json!({"kind": "rotation", "id": "primary"}));
    assert_eq!(json["levels"][1]["state"], "pending");
    assert_eq!(json["countdown_secs"], 240);
}
