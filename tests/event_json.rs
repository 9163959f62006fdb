//! The store reads events with a field-by-field reader (`Event::from_json`) instead of the derived
//! `Deserialize`: the two must never disagree. Wherever the fast reader accepts a text, the
//! derived one gives the same event; `from_json` gives exactly the derived answer on any text
//! (valid, shuffled, duplicated, unknown fields or kinds, wrong types); and what warroom writes
//! is always read the fast way.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use warroom::incident::event::ChangeCommand;
use warroom::incident::{Audience, Event, EventKind, FollowupStatus, Priority};

const FIXTURE: &str = include_str!("fixtures/events-v1.json");

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc()
}

/// One event of every kind: the v1 fixture and the kinds added since.
fn every_kind() -> Vec<Event> {
    let mut events: Vec<Event> = serde_json::from_str(FIXTURE).unwrap();
    let incident = events[0].incident;
    let s = |t: &str| t.to_string();
    let later = [
        EventKind::EscalationClaimed {
            level: 2,
            cycle: 1,
            attempt: 1,
            target: s("dba"),
            person: Some(s("bo")),
            dedup_key: s("k1"),
        },
        EventKind::AlertUpdated { action: s("acknowledge"), dedup_key: s("k1"), ok: true, outcome: s("202") },
        EventKind::ChangeSent { note: Uuid::from_u128(9), ok: false, outcome: s("timeout") },
        EventKind::OncallTaken {
            rotation: s("dba"),
            person: s("cy"),
            from: at(),
            until: at() + Duration::hours(8),
            reason: None,
        },
        EventKind::ResolutionRecorded { text: s("rolled back \"v2\"\n") },
        EventKind::FollowupAdded {
            text: s("alert"),
            owner: None,
            priority: Priority::P1,
            ticket: Some(s("T-1")),
        },
        EventKind::FollowupStatusSet { target: Uuid::from_u128(5), status: FollowupStatus::WontDo },
        EventKind::ChangeRecorded {
            text: s("deploy"),
            host: s("db-01"),
            command: Some(ChangeCommand {
                command: s("kubectl apply"),
                exit_code: None,
                outcome: s("killed"),
                duration_ms: 7,
            }),
            host_log_id: Some(Uuid::from_u128(3)),
        },
        EventKind::StatusUpdateDelivered {
            update: Uuid::from_u128(4),
            provider: s("statuspage"),
            outcome: s("ok"),
            external_id: Some(s("sp1")),
        },
        EventKind::ServiceRestarted {
            pid: 42,
            start_time: 99,
            name: s("pg"),
            manager: s("systemd"),
            target: s("postgresql.service"),
            reason: s("hung"),
            ok: true,
            took_ms: 1200,
            new_pid: Some(43),
            outcome: s("active"),
            evidence: None,
        },
        EventKind::StatusUpdatePosted { audience: Audience::Stakeholders, text: s("ünïcode ✓") },
    ];
    for (i, kind) in later.into_iter().enumerate() {
        events.push(Event::new(incident, at() + Duration::nanoseconds(i as i64 * 1_000_123), "bo\t", kind));
    }
    events
}

/// The derived reader: what `Event`'s `Deserialize` says.
fn derived(text: &str) -> Result<Event, String> {
    serde_json::from_str::<Event>(text).map_err(|e| e.to_string())
}

#[test]
fn what_warroom_writes_is_read_field_by_field_and_the_same() {
    let events = every_kind();
    let kinds: BTreeSet<&str> = events.iter().map(|e| e.kind.name()).collect();
    // Every variant but `unknown` (tested below): a new kind must be added here.
    assert_eq!(kinds.len(), 26, "{kinds:?}");
    for ev in &events {
        let text = serde_json::to_string(ev).unwrap();
        assert_eq!(Event::from_json_streamed(&text).as_ref().ok(), Some(ev), "{text}");
        assert_eq!(Event::from_json(&text).ok().as_ref(), Some(ev));
    }
}

#[test]
fn unknown_kinds_and_misplaced_type_read_as_the_derived_reader_does() {
    let head = r#""id":"0196f0b2-0000-7000-8000-000000000001","incident":"0196f0b2-0000-7000-8000-000000000001","at":"2026-11-23T03:00:00Z","author":"x""#;
    for text in [
        format!(r#"{{{head},"type":"hologram","beam":1}}"#),
        format!(r#"{{{head},"type":"unknown","text":"t"}}"#),
        format!(r#"{{"text":"first",{head},"type":"note"}}"#),
        format!(r#"{{"type":"note",{head},"text":"head after type"}}"#),
        format!(r#"{{{head},"type":"note","text":"a","text":"b"}}"#),
        format!(r#"{{{head},"type":"note","text":"a","type":"note"}}"#),
        format!(r#"{{{head},"type":"note"}}"#),
        format!(r#"{{{head},"type":"severity_set","severity":9}}"#),
        format!(r#"{{{head},"t\u0079pe":"note","te\u0078t":"escaped keys"}}"#),
        format!(r#"{{{head},"type":"no\u0074e","text":"escaped tag"}}"#),
        format!(r#"{{{head},"type":"acknowledged","extra":[1,{{"a":null}}]}}"#),
        format!(r#"{{{head},"author":"twice","type":"acknowledged"}}"#),
        format!(r#"{{{head},"type":"note","text":"trailing"}} x"#),
    ] {
        let want = derived(&text);
        assert_eq!(Event::from_json(&text).map_err(|e| e.to_string()), want, "{text}");
        if let Ok(fast) = Event::from_json_streamed(&text) {
            assert_eq!(Ok(fast), want, "{text}");
        }
    }
    let unknown = format!(r#"{{{head},"type":"hologram","beam":1}}"#);
    assert_eq!(Event::from_json(&unknown).unwrap().kind, EventKind::Unknown);
}

/// An event's JSON object as (key, value) texts, so keys can be repeated and reordered.
fn entries(ev: &Event) -> Vec<(String, String)> {
    let value = serde_json::to_value(ev).unwrap();
    let serde_json::Value::Object(map) = value else { unreachable!("an event is an object") };
    // serde_json's map is sorted; put the fields back in the order warroom writes them.
    let written = serde_json::to_string(ev).unwrap();
    let mut out: Vec<(String, String)> =
        map.into_iter().map(|(k, v)| (serde_json::to_string(&k).unwrap(), v.to_string())).collect();
    out.sort_by_key(|(k, _)| written.find(&format!("{k}:")).unwrap_or(usize::MAX));
    out
}

fn object(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", fields.join(","))
}

/// Values a field may be swapped for: other types, other kinds' tags, odd strings.
fn odd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("-1".to_string()),
        Just("3".to_string()),
        Just("1.5".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just(r#""note""#.to_string()),
        Just(r#""acknowledged""#.to_string()),
        Just(r#""unknown""#.to_string()),
        Just(r#""2026-11-23T03:00:00.5+01:00""#.to_string()),
        Just(r#""2026-02-30T03:00:00Z""#.to_string()),
        Just(r#""0196f0b2-0000-7000-8000-000000000001""#.to_string()),
        "[a-z_]{0,8}".prop_map(|s| format!("{s:?}")),
    ]
}

/// Edits to an event's object: move a field, repeat one, drop one, change a value, add one.
#[derive(Debug, Clone)]
enum Edit {
    Move(usize, usize),
    Repeat(usize),
    Drop(usize),
    Change(usize, String),
    Add(usize, String, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Move(a, b)),
        any::<usize>().prop_map(Edit::Repeat),
        any::<usize>().prop_map(Edit::Drop),
        (any::<usize>(), odd_value()).prop_map(|(a, v)| Edit::Change(a, v)),
        (
            any::<usize>(),
            prop::sample::select(vec!["id", "at", "type", "text", "tag", "x", "severity"]),
            odd_value()
        )
            .prop_map(|(a, k, v)| Edit::Add(a, k.to_string(), v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    #[test]
    fn the_fast_reader_never_disagrees_with_the_derived_one(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let events = every_kind();
        let ev = which.get(&events);
        let mut fields = entries(ev);
        for e in edits {
            let n = fields.len().max(1);
            match e {
                Edit::Move(a, b) if !fields.is_empty() => {
                    let f = fields.remove(a % n);
                    fields.insert(b % fields.len().max(1), f);
                }
                Edit::Repeat(a) if !fields.is_empty() => {
                    let f = fields[a % n].clone();
                    fields.push(f);
                }
                Edit::Drop(a) if !fields.is_empty() => {
                    fields.remove(a % n);
                }
                Edit::Change(a, v) if !fields.is_empty() => fields[a % n].1 = v,
                Edit::Add(a, k, v) => fields.insert(a % (fields.len() + 1), (format!("{k:?}"), v)),
                _ => {}
            }
        }
        let text = object(&fields);
        let want = derived(&text);
        prop_assert_eq!(Event::from_json(&text).map_err(|e| e.to_string()), want.clone(), "{}", text);
        if let Ok(fast) = Event::from_json_streamed(&text) {
            prop_assert_eq!(Ok(fast), want, "{}", text);
        }
    }
}
