//! The shipped `team.example.toml` must load cleanly and resolve sensibly.

use chrono::{DateTime, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn example() -> Team {
    let text = include_str!("../../team.example.toml");
    match load(text, "team.example.toml") {
        Ok(team) => team,
        Err(errors) => panic!("example has problems:\n{}", format_errors(&errors)),
    }
}

#[test]
fn example_loads_with_zero_problems() {
    let team = example();
    assert_eq!(team.people.len(), 5);
    assert_eq!(team.rotations.len(), 2);
    assert_eq!(team.escalation.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(team.roles.get("scribe"), Some("chidi"));
    assert_eq!(team.rotation("primary").unwrap().overrides().len(), 2);
}

#[test]
fn example_report_names_everyone() {
    let team = example();
    // 2026-11-23 is in week 46 since 2026-01-05 (Mon): 46 mod 4 = 2 → chidi, until Mon 30th 09:00 CET.
    let report = oncall_report(&team, at("2026-11-23T12:00:00Z"));
    let primary = report.iter().find(|r| r.rotation == "primary").unwrap();
    assert_eq!(primary.on_call.id, "chidi");
    let next = primary.next.as_ref().unwrap();
    assert_eq!((next.person.id.as_str(), next.at), ("dana", at("2026-11-30T08:00:00Z")));
    let text = format_oncall(&report);
    assert!(text.contains("now   Chidi Okafor (chidi) · their time Mon 12:00 GMT"), "{text}");
    assert!(text.contains("next  Dana Kowalski (dana) at Mon 2026-11-30 09:00 +01:00 (in 6d20h)"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json[0]["on_call"]["phone"], "+44 20 5555 0103");
}

#[test]
fn example_overrides_apply() {
    let team = example();
    // Week 49 (from Mon 2026-12-14) is bo's (49 mod 4 = 1); the override gives it to chidi.
    let r = team.rotation("primary").unwrap();
    let t = at("2026-12-16T12:00:00Z");
    assert_eq!(r.shift_at(t).person, "bo");
    assert_eq!(r.on_call(t), "chidi");
    assert_eq!(r.override_at(t).unwrap().reason.as_deref(), Some("bo on holiday"));
    // The override starts and ends at the 09:00 Berlin handoff (08:00 UTC in winter).
    assert_eq!(r.on_call(at("2026-12-14T07:59:59Z")), "ana");
    assert_eq!(r.on_call(at("2026-12-14T08:00:00Z")), "chidi");
    assert_eq!(r.on_call(at("2026-12-21T08:00:00Z")), "chidi"); // week 50 is chidi's own
    assert!(r.override_at(at("2026-12-21T08:00:00Z")).is_none());
    // Local date-time start (18:00 Berlin = 17:00Z) and offset end (08:00+01:00 = 07:00Z).
    assert_eq!(r.on_call(at("2027-01-15T16:59:59Z")), "bo");
    assert_eq!(r.on_call(at("2027-01-15T17:00:00Z")), "ana");
    assert_eq!(r.on_call(at("2027-01-16T07:00:00Z")), "bo");
}

#[test]
fn report_at_the_ends_of_time_does_not_panic() {
    let team = example();
    for t in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
        let report = oncall_report(&team, t);
        assert_eq!(report.len(), 2);
        let _ = format_oncall(&report);
        let _ = serde_json::to_string(&report).unwrap();
        let _ = team.ladder(1, t, None, t).unwrap();
    }
}
