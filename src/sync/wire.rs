//! The sync protocol's JSON shapes and limits, shared by `warroom serve` and the client so both
//! sides agree on what a valid event is.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::incident::{Event, EventKind, IncidentId};

/// Most events in one append request.
pub const MAX_BATCH: usize = 1000;
/// Most events one catch-up page returns.
pub const MAX_PAGE: usize = 1000;
/// Largest request body the server reads (bytes); larger gets 413.
pub const MAX_BODY: usize = 1024 * 1024;
/// Longest author (bytes).
pub const MAX_AUTHOR: usize = 256;

/// Longest value (bytes) of a text field, by its JSON name. A note is prose, not a log dump.
pub fn field_limit(name: &str) -> usize {
    match name {
        "text" => crate::incident::MAX_NOTE,
        "output_excerpt" => 16 * 1024,
        "summary" | "cmdline" => 8 * 1024,
        // A runbook step's script: a few dozen lines is normal.
        "command" => 16 * 1024,
        _ => 1024,
    }
}

/// POST /v1/incidents/{id}/events body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendRequest {
    pub events: Vec<Event>,
}

/// One event's acknowledgement: its sequence number in the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: Uuid,
    pub seq: i64,
    /// Whether this request stored the event (false: it was there already). The escalation
    /// engine's claims rely on it: only the executor whose claim was new sends the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
}

/// POST answer: one ack per request event, in request order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendResponse {
    pub acks: Vec<Ack>,
}

/// An event with the sequence number the server gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequenced {
    pub seq: i64,
    pub event: Event,
}

/// GET .../events answer. `last_seq` is the incident's newest sequence number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<Sequenced>,
    pub last_seq: i64,
}

/// An error answer. `field` names what was wrong, e.g. `events[3].text`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The index of the offending event in the batch, when one event was at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

/// Who has the incident open right now (live state, not events).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub viewers: Vec<String>,
}

/// The stream's heartbeat, sent at a fixed interval on every stream: the incident's newest
/// sequence number when it was sent (everything up to it was sent before it on this stream), and
/// the interval, so a client knows how long a silence may last. `store` is the server database's
/// identity (`EventStore::store_id`): a client that sees it change knows its cursor counts
/// another store's events. Absent from servers before it existed (the client then relies on the
/// head alone), and old clients ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub head: i64,
    pub every_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// One line of `GET /v1/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: IncidentId,
    pub title: String,
    pub severity: u8,
    pub status: String,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub opened_by: String,
    pub last_event_at: chrono::DateTime<chrono::Utc>,
    pub event_count: usize,
    pub last_seq: i64,
    pub viewers: Vec<String>,
}

/// Why an event is not acceptable; `field` is relative to the event (`text`, `author`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

/// Checks one event against the protocol's rules: a known kind, the expected incident, a
/// non-empty author and every text field within its limit.
pub fn check_event(ev: &Event, incident: IncidentId) -> Result<(), Invalid> {
    let json =
        serde_json::to_string(ev).map_err(|e| Invalid { field: "event".into(), message: e.to_string() })?;
    check_encoded(ev, incident, &json)
}

/// `check_event` for an event whose JSON is already made (`json` is `serde_json::to_string(ev)`,
/// the body the server stores): the field limits are read from it in one pass that builds no
/// value tree, so the event is not serialised a second time.
pub fn check_encoded(ev: &Event, incident: IncidentId, json: &str) -> Result<(), Invalid> {
    let bad = |field: &str, message: String| Err(Invalid { field: field.into(), message });
    if ev.kind == EventKind::Unknown {
        return bad("type", "unknown event kind".into());
    }
    if ev.incident != incident {
        return bad("incident", format!("is {}, but the request is for incident {incident}", ev.incident));
    }
    if ev.id.is_nil() {
        return bad("id", "must not be the nil uuid".into());
    }
    // An incident has exactly one `opened` event, whose id is the incident id: a second one with
    // an earlier time would retitle the incident and move its clocks for everyone.
    if matches!(ev.kind, EventKind::Opened { .. }) && ev.id != incident {
        return bad("id", format!("an `opened` event must have the incident's id {incident}"));
    }
    // The team stream holds pager overrides only, and overrides live nowhere else.
    let team_kind = matches!(ev.kind, EventKind::OncallTaken { .. });
    if (incident == crate::incident::event::TEAM_STREAM) != team_kind {
        return bad("type", format!("`{}` does not belong in stream {incident}", ev.kind.name()));
    }
    // A claim's id is derived from what it claims, so no executor can forge a second claim.
    if let EventKind::EscalationClaimed { level, cycle, attempt, .. } = ev.kind
        && ev.id != crate::incident::event::escalation_claim_id(incident, level, cycle, attempt)
    {
        return bad(
            "id",
            "an `escalation_claimed` event must have the id derived from its level and cycle".into(),
        );
    }
    if ev.author.trim().is_empty() {
        return bad("author", "must not be empty".into());
    }
    if ev.author.len() > MAX_AUTHOR {
        return bad("author", format!("is {} bytes, more than {MAX_AUTHOR}", ev.author.len()));
    }
    // Field names come from the JSON form, so every kind (and future ones) is covered by name.
    let over: limits::Oversized =
        serde_json::from_str(json).map_err(|e| Invalid { field: "event".into(), message: e.to_string() })?;
    // The first by name, as when the fields were read into a (sorted) JSON map.
    if let Some((name, len)) = over.0.into_iter().min() {
        let limit = field_limit(&name);
        return bad(&name, format!("is {len} bytes, more than {limit}"));
    }
    Ok(())
}

/// Reads an event's JSON object for `check_encoded`: only the top-level string fields longer
/// than their `field_limit`, without allocating for the others.
mod limits {
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use crate::incident::JsonKey;

    /// (field name, length in bytes) of each string field over its limit.
    pub(super) struct Oversized(pub Vec<(String, usize)>);

    impl<'de> Deserialize<'de> for Oversized {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Oversized;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Oversized, A::Error> {
                    let mut over = Vec::new();
                    while let Some(JsonKey(name)) = m.next_key::<JsonKey>()? {
                        if let StrLen(Some(len)) = m.next_value::<StrLen>()?
                            && len > super::field_limit(&name)
                        {
                            over.push((name.into_owned(), len));
                        }
                    }
                    Ok(Oversized(over))
                }
            }
            d.deserialize_map(V)
        }
    }

    /// A value's length in bytes when it is a string (unescaped, as `Value::String` held it).
    struct StrLen(Option<usize>);

    impl<'de> Deserialize<'de> for StrLen {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = StrLen;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON value")
                }
                fn visit_str<E>(self, s: &str) -> Result<StrLen, E> {
                    Ok(StrLen(Some(s.len())))
                }
                fn visit_bool<E>(self, _: bool) -> Result<StrLen, E> {
                    Ok(StrLen(None))
                }
                fn visit_i64<E>(self, _: i64) -> Result<StrLen, E> {
                    Ok(StrLen(None))
                }
                fn visit_u64<E>(self, _: u64) -> Result<StrLen, E> {
                    Ok(StrLen(None))
                }
                fn visit_f64<E>(self, _: f64) -> Result<StrLen, E> {
                    Ok(StrLen(None))
                }
                fn visit_unit<E>(self) -> Result<StrLen, E> {
                    Ok(StrLen(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<StrLen, A::Error> {
                    while s.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(StrLen(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<StrLen, A::Error> {
                    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(StrLen(None))
                }
            }
            d.deserialize_any(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Severity, Tag};
    use chrono::Utc;

    fn note(text: String) -> (Event, IncidentId) {
        let open = Event::open(Utc::now(), "ana", "t".into(), Severity::new(1).unwrap(), None);
        (Event::new(open.id, Utc::now(), "ana", EventKind::Note { text, tag: Tag::Note }), open.id)
    }

    #[test]
    fn a_second_opened_event_is_refused() {
        let open = Event::open(Utc::now(), "ana", "t".into(), Severity::new(1).unwrap(), None);
        assert!(check_event(&open, open.id).is_ok());
        let mut forged = Event::open(Utc::now(), "eve", "retitled".into(), Severity::new(4).unwrap(), None);
        forged.incident = open.id;
        let e = check_event(&forged, open.id).unwrap_err();
        assert_eq!(e.field, "id");
    }

    /// Limits count the text itself, not its escaped JSON form; with two fields over, the first
    /// by name is reported (as when the fields were read into a sorted JSON map).
    #[test]
    fn limits_count_unescaped_bytes_and_name_the_first_field() {
        let limit = field_limit("text");
        let (ev, inc) = note("\n".repeat(limit));
        assert!(check_event(&ev, inc).is_ok(), "{limit} newlines are {} bytes escaped", 2 * limit);
        let (ev, inc) = note("é".repeat(limit / 2 + 1));
        let err = check_event(&ev, inc).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.clone()),
            ("text", format!("is {} bytes, more than {limit}", limit + 2))
        );
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(check_encoded(&ev, inc, &json).unwrap_err().message, err.message);
        let mut open = Event::open(Utc::now(), "ana", "t".repeat(2000), Severity::new(1).unwrap(), None);
        open.incident = open.id;
        if let EventKind::Opened { summary, .. } = &mut open.kind {
            *summary = Some("s".repeat(9000));
        }
        assert_eq!(check_event(&open, open.id).unwrap_err().field, "summary");
    }

    #[test]
    fn names_the_oversized_field() {
        let (ev, inc) = note("x".repeat(field_limit("text") + 1));
        assert_eq!(check_event(&ev, inc).unwrap_err().field, "text");
        let (ev, inc) = note("fine".into());
        assert!(check_event(&ev, inc).is_ok());
        assert_eq!(check_event(&ev, Uuid::now_v7()).unwrap_err().field, "incident");
    }

    #[test]
    fn rejects_unknown_kind_and_empty_author() {
        let (mut ev, inc) = note("a".into());
        ev.author = " ".into();
        assert_eq!(check_event(&ev, inc).unwrap_err().field, "author");
        ev.author = "ana".into();
        ev.kind = EventKind::Unknown;
        assert_eq!(check_event(&ev, inc).unwrap_err().field, "type");
    }
}
