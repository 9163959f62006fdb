//! On-call resolution across DST changes, with overrides, plus properties over random rotations.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn rot(people: &[&str], handoff: &str, days: u32, tz: Tz, start: &str) -> Rotation {
    let people = people.iter().map(|p| p.to_string()).collect();
    let handoff = NaiveTime::parse_from_str(handoff, "%H:%M").unwrap();
    let start = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
    Rotation::new("r", "R", people, handoff, days, tz, start).unwrap()
}

fn ov(person: &str, start: &str, end: &str) -> Override {
    Override { person: person.into(), start: at(start), end: at(end), reason: None }
}

#[test]
fn berlin_spring_forward_keeps_local_handoff() {
    // EU clocks go forward on Sun 2026-03-29 02:00 CET → 03:00 CEST.
    let r = rot(&["ana", "bo"], "09:00", 1, chrono_tz::Europe::Berlin, "2026-03-28");
    // Sat 28th 09:00 CET = 08:00Z: ana. Sun 29th 09:00 CEST = 07:00Z: bo. A 23-hour shift.
    let s = r.shift_at(at("2026-03-28T20:00:00Z"));
    assert_eq!(
        (s.start, s.end, s.person.as_str()),
        (at("2026-03-28T08:00:00Z"), at("2026-03-29T07:00:00Z"), "ana")
    );
    assert_eq!(r.on_call(at("2026-03-29T06:59:59Z")), "ana");
    assert_eq!(r.on_call(at("2026-03-29T07:00:00Z")), "bo");
    let h = r.next_handoff(at("2026-03-28T08:00:00Z")).unwrap();
    assert_eq!((h.at, h.person.as_str()), (at("2026-03-29T07:00:00Z"), "bo"));
}

#[test]
fn berlin_fall_back_keeps_local_handoff() {
    // EU clocks go back on Sun 2026-10-25 03:00 CEST → 02:00 CET: the Saturday shift lasts 25 hours.
    let r = rot(&["ana", "bo"], "09:00", 1, chrono_tz::Europe::Berlin, "2026-10-24");
    let s = r.shift_at(at("2026-10-24T12:00:00Z"));
    assert_eq!((s.start, s.end), (at("2026-10-24T07:00:00Z"), at("2026-10-25T08:00:00Z")));
    assert_eq!(s.end - s.start, Duration::hours(25));
    assert_eq!(r.on_call(at("2026-10-25T07:59:59Z")), "ana");
    assert_eq!(r.on_call(at("2026-10-25T08:00:00Z")), "bo");
}

#[test]
fn new_york_weekly_rotation_across_both_changes() {
    // US: forward Sun 2026-03-08, back Sun 2026-11-01. Weekly Monday 09:00 handoffs.
    let r = rot(&["ana", "bo", "chidi"], "09:00", 7, chrono_tz::America::New_York, "2026-03-02");
    // Mon 2 Mar 09:00 EST = 14:00Z; Mon 9 Mar 09:00 EDT = 13:00Z.
    assert_eq!(r.boundary(0), at("2026-03-02T14:00:00Z"));
    assert_eq!(r.boundary(1), at("2026-03-09T13:00:00Z"));
    assert_eq!(r.on_call(at("2026-03-09T12:59:59Z")), "ana");
    assert_eq!(r.on_call(at("2026-03-09T13:00:00Z")), "bo");
    // Mon 26 Oct 09:00 EDT = 13:00Z; Mon 2 Nov 09:00 EST = 14:00Z (34 and 35 weeks in).
    assert_eq!(r.boundary(34), at("2026-10-26T13:00:00Z"));
    assert_eq!(r.boundary(35), at("2026-11-02T14:00:00Z"));
    assert_eq!(r.on_call(at("2026-11-02T13:30:00Z")), "bo"); // shift 34: 34 mod 3 = 1
    assert_eq!(r.on_call(at("2026-11-02T14:00:00Z")), "chidi");
}

#[test]
fn handoff_inside_the_spring_gap_happens_when_clocks_jump() {
    // 02:30 does not exist in Berlin on 2026-03-29: the clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
    let r = rot(&["ana", "bo"], "02:30", 1, chrono_tz::Europe::Berlin, "2026-03-28");
    assert_eq!(r.boundary(0), at("2026-03-28T01:30:00Z"));
    assert_eq!(r.boundary(1), at("2026-03-29T01:00:00Z"));
    assert_eq!(r.boundary(2), at("2026-03-30T00:30:00Z"));
    assert_eq!(r.on_call(at("2026-03-29T00:59:59Z")), "ana");
    assert_eq!(r.on_call(at("2026-03-29T01:00:00Z")), "bo");
}

#[test]
fn handoff_at_an_ambiguous_time_is_the_first_occurrence() {
    // 02:30 happens twice in Berlin on 2026-10-25: 02:30 CEST (00:30Z), then 02:30 CET (01:30Z).
    let r = rot(&["ana", "bo"], "02:30", 1, chrono_tz::Europe::Berlin, "2026-10-24");
    assert_eq!(r.boundary(1), at("2026-10-25T00:30:00Z"));
    assert_eq!(r.on_call(at("2026-10-25T01:30:00Z")), "bo");
}

#[test]
fn shifts_before_the_start_continue_the_cycle_backwards() {
    let r = rot(&["ana", "bo", "chidi"], "09:00", 1, Tz::UTC, "2026-01-10");
    assert_eq!(r.on_call(at("2026-01-09T12:00:00Z")), "chidi");
    assert_eq!(r.on_call(at("2026-01-08T12:00:00Z")), "bo");
    assert_eq!(r.shift_at(at("2026-01-09T12:00:00Z")).index, -1);
}

#[test]
fn overrides_win_and_move_the_next_handoff() {
    let r = rot(&["ana", "bo"], "09:00", 7, Tz::UTC, "2026-01-05")
        .with_override(ov("dana", "2026-01-07T18:00:00Z", "2026-01-08T06:00:00Z"))
        .unwrap();
    let t = at("2026-01-07T12:00:00Z");
    assert_eq!(r.on_call(t), "ana");
    let h = r.next_handoff(t).unwrap();
    assert_eq!((h.at, h.person.as_str()), (at("2026-01-07T18:00:00Z"), "dana"));
    assert_eq!(r.on_call(at("2026-01-08T05:59:59Z")), "dana");
    let back = r.next_handoff(at("2026-01-07T20:00:00Z")).unwrap();
    assert_eq!((back.at, back.person.as_str()), (at("2026-01-08T06:00:00Z"), "ana"));
}

#[test]
fn override_by_the_next_person_extends_their_turn_backwards() {
    // bo takes over a day early: the next change after that is bo → ana two weeks later, not at the boundary.
    let r = rot(&["ana", "bo"], "09:00", 7, Tz::UTC, "2026-01-05")
        .with_override(ov("bo", "2026-01-11T09:00:00Z", "2026-01-12T09:00:00Z"))
        .unwrap();
    let h = r.next_handoff(at("2026-01-11T12:00:00Z")).unwrap();
    assert_eq!((h.at, h.person.as_str()), (at("2026-01-19T09:00:00Z"), "ana"));
}

#[test]
fn one_person_rotation_has_no_next_handoff() {
    let r = rot(&["ana"], "09:00", 1, Tz::UTC, "2026-01-05");
    assert_eq!(r.on_call(at("2030-05-05T00:00:00Z")), "ana");
    assert_eq!(r.next_handoff(at("2030-05-05T00:00:00Z")), None);
}

#[test]
fn constructor_refuses_what_resolution_cannot_handle() {
    let p = vec!["ana".to_string()];
    let (h, d) = (NaiveTime::MIN, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert_eq!(Rotation::new("r", "R", vec![], h, 1, Tz::UTC, d), Err(RotationError::NoPeople));
    assert_eq!(Rotation::new("r", "R", p.clone(), h, 0, Tz::UTC, d), Err(RotationError::ZeroLength));
    let r = Rotation::new("r", "R", p, h, 1, Tz::UTC, d).unwrap();
    let r = r.with_override(ov("ana", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")).unwrap();
    let clash = r.clone().with_override(ov("bo", "2026-01-02T12:00:00Z", "2026-01-04T00:00:00Z"));
    assert_eq!(clash, Err(RotationError::Overlap(0)));
    let empty = r.with_override(ov("bo", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z"));
    assert_eq!(empty, Err(RotationError::EmptyOverride));
}

#[test]
fn handoff_on_a_skipped_day_happens_when_the_day_ends() {
    // Samoa skipped Fri 2011-12-30 entirely: Thu 23:59:59 -10:00 was followed by Sat 00:00 +14:00 (10:00Z).
    let r = rot(&["ana", "bo", "chidi", "dana"], "09:00", 1, chrono_tz::Pacific::Apia, "2011-12-28");
    assert_eq!(r.boundary(1), at("2011-12-29T19:00:00Z"));
    assert_eq!(r.boundary(2), at("2011-12-30T10:00:00Z"));
    assert_eq!(r.boundary(3), at("2011-12-30T19:00:00Z"));
    assert_eq!(r.on_call(at("2011-12-30T12:00:00Z")), "chidi");
}

#[test]
fn extreme_instants_and_lengths_do_not_panic() {
    let tokyo = rot(&["ana", "bo"], "09:00", 4_000_000_000, chrono_tz::Asia::Tokyo, "2026-01-01");
    let honolulu = rot(&["ana", "bo"], "23:59", 1, chrono_tz::Pacific::Honolulu, "2026-01-01");
    for r in [&tokyo, &honolulu] {
        for t in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC, at("2026-06-01T00:00:00Z")] {
            let _ = r.on_call(t);
            let _ = r.next_handoff(t);
            let s = r.shift_at(t);
            assert!(s.start <= s.end);
        }
    }
    assert_eq!(tokyo.on_call(at("2500-06-01T00:00:00Z")), "ana");
}

const ZONES: [Tz; 7] = [
    chrono_tz::Europe::Berlin,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Lord_Howe, // 30-minute DST shift
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::Santiago, // southern hemisphere, midnight transitions
    chrono_tz::Pacific::Apia,     // skipped a whole day in 2011
    Tz::UTC,
];

const POOL: [&str; 5] = ["ana", "bo", "chidi", "dana", "emi"];

/// A random rotation and an instant, with overrides placed within a month of the instant so they
/// matter.
fn arb_case() -> impl Strategy<Value = (Rotation, DateTime<Utc>)> {
    let people = prop::collection::vec(prop::sample::select(&POOL[..]), 1..6);
    let overrides =
        prop::collection::vec((-24 * 30i64..24 * 30, 1i64..24 * 20, prop::sample::select(&POOL[..])), 0..4);
    // Instants from 2007 to 2028: before and after the start anchors and across many DST changes.
    let t = (1_167_609_600i64..1_830_297_600).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap());
    (people, 0u32..24, 0u32..60, 1u32..15, prop::sample::select(&ZONES[..]), 0i64..3650, overrides, t)
        .prop_map(|(people, h, m, days, tz, start, overrides, t)| {
            let start_date = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap() + Duration::days(start);
            let people = people.into_iter().map(String::from).collect();
            let handoff = NaiveTime::from_hms_opt(h, m, 0).unwrap();
            let mut r = Rotation::new("r", "R", people, handoff, days, tz, start_date).unwrap();
            for (from_h, len_h, who) in overrides {
                let s = t + Duration::hours(from_h);
                let o =
                    Override { person: who.into(), start: s, end: s + Duration::hours(len_h), reason: None };
                // Overlapping ones are refused; keep the rotation built so far.
                if let Ok(next) = r.clone().with_override(o) {
                    r = next;
                }
            }
            (r, t)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn exactly_one_person_is_on_call((r, t) in arb_case()) {
        let shift = r.shift_at(t);
        // The shift containing t is unique: t is in [start, end) and the neighbours do not contain it.
        prop_assert!(shift.start <= t && t < shift.end, "{shift:?} does not contain {t}");
        prop_assert!(r.boundary(shift.index - 1) < shift.start);
        prop_assert_eq!(r.boundary(shift.index + 1), shift.end);
        let covering: Vec<_> = r.overrides().iter().filter(|o| o.start <= t && t < o.end).collect();
        prop_assert!(covering.len() <= 1);
        let expected = covering.first().map_or(shift.person.as_str(), |o| o.person.as_str());
        prop_assert_eq!(r.on_call(t), expected);
        prop_assert!(POOL.contains(&r.on_call(t)));
    }

    #[test]
    fn next_handoff_agrees_with_on_call((r, t) in arb_case(), frac in 0.0f64..1.0) {
        let current = r.on_call(t).to_string();
        let distinct = r.people().iter().any(|p| *p != r.people()[0]);
        match r.next_handoff(t) {
            Some(h) => {
                prop_assert!(h.at > t);
                prop_assert_eq!(r.on_call(h.at), h.person.as_str());
                prop_assert_ne!(&h.person, &current);
                prop_assert_eq!(r.on_call(h.at - Duration::seconds(1)), current.as_str());
                let gap = (h.at - t).num_seconds();
                let mid = t + Duration::seconds((gap as f64 * frac) as i64);
                prop_assert_eq!(r.on_call(mid), current.as_str(), "changed at {} before {}", mid, h.at);
            }
            None => prop_assert!(!distinct, "rotation with two people never hands off from {}", t),
        }
    }
}
