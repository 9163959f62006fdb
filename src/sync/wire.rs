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
    if ev.author.trim().is_empty() {
        return bad("author", "must not be empty".into());
    }
    if ev.author.len() > MAX_AUTHOR {
        return bad("author", format!("is {} bytes, more than {MAX_AUTHOR}", ev.author.len()));
    }
    // Field names come from the JSON form, so every kind (and future ones) is covered by name.
    let value =
        serde_json::to_value(ev).map_err(|e| Invalid { field: "event".into(), message: e.to_string() })?;
    if let serde_json::Value::Object(map) = value {
        for (name, v) in &map {
            if let serde_json::Value::String(s) = v {
                let limit = field_limit(name);
                if s.len() > limit {
                    return bad(name, format!("is {} bytes, more than {limit}", s.len()));
                }
            }
        }
    }
    Ok(())
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
