//! The incident event log's vocabulary: every fact warroom records is one immutable `Event`.
//!
//! Format stability: the JSON shape of every kind is pinned by `tests/fixtures/events-v1.json`.
//! New facts are new variants; an existing variant never changes meaning or loses a field.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An incident's id: the id of its `opened` event (a v7 UUID, so ids sort by opening time).
pub type IncidentId = Uuid;

/// One immutable fact about an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub incident: IncidentId,
    pub at: DateTime<Utc>,
    pub author: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// A new event with a fresh v7 id. `at` is a parameter: the domain never reads the clock.
    pub fn new(incident: IncidentId, at: DateTime<Utc>, author: impl Into<String>, kind: EventKind) -> Self {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            at.timestamp().max(0) as u64,
            at.timestamp_subsec_nanos(),
        );
        Event { id: Uuid::new_v7(ts), incident, at, author: author.into(), kind }
    }

    /// The `opened` event of a new incident: its id is the incident id.
    pub fn open(
        at: DateTime<Utc>,
        author: impl Into<String>,
        title: String,
        severity: Severity,
        summary: Option<String>,
    ) -> Self {
        let mut ev = Event::new(Uuid::nil(), at, author, EventKind::Opened { title, severity, summary });
        ev.incident = ev.id;
        ev
    }

    /// Parses one event's JSON, as `serde_json::from_str` does, in two plain passes: the head
    /// fields, then the kind (which ignores them). The derived path goes through `flatten`,
    /// which buffers every field twice; this is the store's hot path when a cockpit opens a
    /// long incident.
    pub fn from_json(body: &str) -> Result<Event, serde_json::Error> {
        #[derive(Deserialize)]
        struct Head {
            id: Uuid,
            incident: IncidentId,
            at: DateTime<Utc>,
            author: String,
        }
        let head: Head = serde_json::from_str(body)?;
        let kind: EventKind = serde_json::from_str(body)?;
        Ok(Event { id: head.id, incident: head.incident, at: head.at, author: head.author, kind })
    }

    /// The sort key of the fold: (at, id).
    pub fn order_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.id)
    }
}

/// What happened. Internally tagged as `"type"`, snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Opened {
        title: String,
        severity: Severity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
    },
    Note {
        text: String,
        #[serde(default)]
        tag: Tag,
    },
    /// A correction of an earlier note's text; only its own author may amend a note.
    Amended {
        target: Uuid,
        text: String,
    },
    SeveritySet {
        severity: Severity,
    },
    StatusSet {
        status: Status,
    },
    Acknowledged {},
    RoleAssigned {
        role: Role,
        person: String,
    },
    ProcessSignalled {
        pid: i32,
        /// Start time in clock ticks since boot (field 22 of /proc/PID/stat): with pid, the identity.
        start_time: u64,
        name: String,
        user: String,
        cmdline: String,
        signal: String,
        reason: String,
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    EvidenceCaptured {
        path: String,
        sha256: String,
        bytes: u64,
        what: String,
    },
    RunbookAttached {
        runbook: String,
        title: String,
    },
    ChecklistItemSet {
        runbook: String,
        item: String,
        checked: bool,
    },
    CommandRun {
        runbook: String,
        item: String,
        command: String,
        /// None when the command was killed (timeout, cancel) before it exited.
        exit_code: Option<i32>,
        output_excerpt: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    Paged {
        person: String,
        method: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<u32>,
        /// Whether the page was delivered.
        ok: bool,
        outcome: String,
    },
    ContactAttempted {
        person: String,
        method: String,
        outcome: String,
    },
    StatusUpdatePosted {
        audience: Audience,
        text: String,
    },
    /// A kind this build does not know (written by a newer warroom). Kept in the store as raw
    /// JSON, ignored by the fold; never produced locally.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The `type` tag as written in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Opened { .. } => "opened",
            EventKind::Note { .. } => "note",
            EventKind::Amended { .. } => "amended",
            EventKind::SeveritySet { .. } => "severity_set",
            EventKind::StatusSet { .. } => "status_set",
            EventKind::Acknowledged {} => "acknowledged",
            EventKind::RoleAssigned { .. } => "role_assigned",
            EventKind::ProcessSignalled { .. } => "process_signalled",
            EventKind::EvidenceCaptured { .. } => "evidence_captured",
            EventKind::RunbookAttached { .. } => "runbook_attached",
            EventKind::ChecklistItemSet { .. } => "checklist_item_set",
            EventKind::CommandRun { .. } => "command_run",
            EventKind::Paged { .. } => "paged",
            EventKind::ContactAttempted { .. } => "contact_attempted",
            EventKind::StatusUpdatePosted { .. } => "status_update_posted",
            EventKind::Unknown => "unknown",
        }
    }

    /// Every string field an outsider could have written, for sanitising and size checks.
    pub fn texts_mut(&mut self) -> Vec<&mut String> {
        match self {
            EventKind::Opened { title, summary, .. } => {
                let mut v = vec![title];
                if let Some(s) = summary {
                    v.push(s);
                }
                v
            }
            EventKind::Note { text, .. } | EventKind::Amended { text, .. } => vec![text],
            EventKind::RoleAssigned { person, .. } => vec![person],
            EventKind::ProcessSignalled {
                name, user, cmdline, signal, reason, outcome, evidence, ..
            } => {
                let mut v = vec![name, user, cmdline, signal, reason, outcome];
                if let Some(e) = evidence {
                    v.push(e);
                }
                v
            }
            EventKind::EvidenceCaptured { path, sha256, what, .. } => vec![path, sha256, what],
            EventKind::RunbookAttached { runbook, title } => vec![runbook, title],
            EventKind::ChecklistItemSet { runbook, item, .. } => vec![runbook, item],
            EventKind::CommandRun { runbook, item, command, output_excerpt, evidence, .. } => {
                let mut v = vec![runbook, item, command, output_excerpt];
                if let Some(e) = evidence {
                    v.push(e);
                }
                v
            }
            EventKind::Paged { person, method, outcome, .. } => vec![person, method, outcome],
            EventKind::ContactAttempted { person, method, outcome } => vec![person, method, outcome],
            EventKind::StatusUpdatePosted { text, .. } => vec![text],
            EventKind::SeveritySet { .. }
            | EventKind::StatusSet { .. }
            | EventKind::Acknowledged {}
            | EventKind::Unknown => vec![],
        }
    }
}

/// SEV1 (worst) to SEV4. Serialized as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

impl Severity {
    pub const ALL: [Severity; 4] = [Severity(1), Severity(2), Severity(3), Severity(4)];

    pub fn new(n: u8) -> Result<Self, String> {
        if (1..=4).contains(&n) {
            Ok(Severity(n))
        } else {
            Err(format!("severity must be 1 to 4 (1 is worst), got {n}"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        Severity::new(n)
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SEV{}", self.0)
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let digits = t.strip_prefix("SEV").or_else(|| t.strip_prefix("sev")).unwrap_or(t);
        let n: u8 = digits.parse().map_err(|_| format!("severity must be 1 to 4 (1 is worst), got `{s}`"))?;
        Severity::new(n)
    }
}

/// Generates the string conversions shared by the small closed vocabularies below.
macro_rules! vocabulary {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{}` (expected one of: {})",
                        stringify!($ty).to_ascii_lowercase(),
                        s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

/// Lifecycle of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}
vocabulary!(Status { Investigating => "investigating", Identified => "identified", Monitoring => "monitoring", Resolved => "resolved" });

/// What kind of note: drives grouping in the postmortem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    #[default]
    Note,
    Finding,
    Action,
    Change,
    Decision,
}
vocabulary!(Tag { Note => "note", Finding => "finding", Action => "action", Change => "change", Decision => "decision" });

/// Incident roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Commander,
    Comms,
    Scribe,
    Ops,
}
vocabulary!(Role { Commander => "commander", Comms => "comms", Scribe => "scribe", Ops => "ops" });

/// Who a status update is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[default]
    Internal,
    Stakeholders,
}
vocabulary!(Audience { Internal => "internal", Stakeholders => "stakeholders" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_parses_and_rejects() {
        assert_eq!("2".parse::<Severity>().unwrap().get(), 2);
        assert_eq!("SEV1".parse::<Severity>().unwrap().get(), 1);
        assert!("9".parse::<Severity>().unwrap_err().contains("1 to 4"));
        assert!(serde_json::from_str::<Severity>("0").is_err());
    }

    #[test]
    fn vocabulary_errors_list_choices() {
        let e = "bogus".parse::<Status>().unwrap_err();
        assert!(e.contains("investigating, identified, monitoring, resolved"), "{e}");
    }

    #[test]
    fn opened_event_is_its_incident() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc();
        let ev = Event::open(at, "ana", "db down".into(), Severity::new(1).unwrap(), None);
        assert_eq!(ev.id, ev.incident);
        assert_eq!(ev.id.get_version_num(), 7);
    }

    #[test]
    fn unknown_kind_parses_as_unknown() {
        let json = r#"{"id":"0196f0b2-0000-7000-8000-000000000001","incident":"0196f0b2-0000-7000-8000-000000000001","at":"2026-11-23T03:00:00Z","author":"x","type":"hologram","beam":1}"#;
        let ev: Event = serde_json::from_str(json).unwrap();
        assert_eq!(ev.kind, EventKind::Unknown);
    }
}
