//! The host change log: changes recorded on this host while no incident was open (deploys, config
//! pushes from scripts and cron). A newly opened incident copies the recent ones onto its
//! timeline, and the postmortem's Trigger section lists them. Pure: time is a parameter.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::event::{ChangeCommand, Event, EventKind, IncidentId};

/// One entry of the host change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostChange {
    pub id: Uuid,
    /// When the change started.
    pub at: DateTime<Utc>,
    pub author: String,
    pub host: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<ChangeCommand>,
}

impl HostChange {
    /// A new entry with a fresh v7 id.
    pub fn new(
        at: DateTime<Utc>,
        author: impl Into<String>,
        host: impl Into<String>,
        text: impl Into<String>,
        command: Option<ChangeCommand>,
    ) -> HostChange {
        let ev = Event::new(Uuid::nil(), at, "", EventKind::Unknown);
        HostChange { id: ev.id, at, author: author.into(), host: host.into(), text: text.into(), command }
    }

    /// The event that records this change on an incident's timeline (at the change's own time).
    pub fn to_event(&self, incident: IncidentId) -> Event {
        let mut ev = Event::new(
            incident,
            self.at,
            self.author.clone(),
            EventKind::ChangeRecorded {
                text: self.text.clone(),
                host: self.host.clone(),
                command: self.command.clone(),
                host_log_id: Some(self.id),
            },
        );
        // Deterministic per (incident, change): copying twice (two processes opening, a retry)
        // appends once. Keeps the v7 time prefix of the change so ids still sort by time.
        let mut bytes = *self.id.as_bytes();
        for (b, x) in bytes[8..].iter_mut().zip(incident.as_bytes()[8..].iter()) {
            *b ^= x;
        }
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        ev.id = Uuid::from_bytes(bytes);
        ev
    }
}

/// The entries of `log` that started within `window` before `opened` (or up to it), oldest first.
pub fn recent(log: &[HostChange], opened: DateTime<Utc>, window: Duration) -> Vec<&HostChange> {
    let mut out: Vec<&HostChange> =
        log.iter().filter(|c| c.at <= opened && opened - c.at <= window).collect();
    out.sort_by_key(|c| (c.at, c.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc() + Duration::minutes(m)
    }

    #[test]
    fn recent_keeps_the_window_before_the_opening() {
        let log: Vec<HostChange> = [-300, -200, -30, 5]
            .into_iter()
            .map(|m| HostChange::new(t(m), "ana", "db1", format!("at {m}"), None))
            .collect();
        let got: Vec<&str> = recent(&log, t(0), Duration::hours(4)).iter().map(|c| c.text.as_str()).collect();
        assert_eq!(got, ["at -200", "at -30"]);
    }

    #[test]
    fn copies_are_deterministic_per_incident() {
        let c = HostChange::new(t(-10), "ana", "db1", "deploy v2", None);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(c.to_event(a).id, c.to_event(a).id);
        assert_ne!(c.to_event(a).id, c.to_event(b).id);
        assert_eq!(c.to_event(a).at, t(-10));
        assert!(
            matches!(c.to_event(a).kind, EventKind::ChangeRecorded { host_log_id: Some(id), .. } if id == c.id)
        );
    }
}
