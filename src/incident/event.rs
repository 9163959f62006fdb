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
    #[serde(deserialize_with = "utc_time")]
    pub at: DateTime<Utc>,
    pub author: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Reads an event's `at`: the shape warroom writes (`2026-11-23T03:02:00.123Z`, 0 to 9 fraction
/// digits) is read by [`utc_fast`]; anything else goes to chrono's own parser, so what is
/// accepted and how it errs are chrono's. chrono's general RFC 3339 parser was a sixth of a
/// 100k-event load.
pub(super) fn utc_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = DateTime<Utc>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 formatted date and time string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DateTime<Utc>, E> {
            match utc_fast(s) {
                Some(at) => Ok(at),
                None => DateTime::<Utc>::deserialize(serde::de::value::StrDeserializer::<E>::new(s)),
            }
        }
    }
    d.deserialize_str(Visitor)
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z` exactly (what chrono's serde writes for a `DateTime<Utc>`
/// in years 0 to 9999, leap seconds aside), or None. Whatever it returns, chrono's parser
/// returns too (property-tested against it).
pub(crate) fn utc_fast(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let nanos = match &b[19..] {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            num(20..20 + digits.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    if sec > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)?;
    Some(date.and_time(time).and_utc())
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

    /// The sort key of the fold: (at, id).
    pub fn order_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.id)
    }
}

/// The stream that holds team-wide events (pager overrides) rather than one incident's: a fixed
/// id no v7 incident id can equal, synced through the server like an incident's events.
pub const TEAM_STREAM: IncidentId = Uuid::from_u128(0x7761_7272_6f6f_8000_8000_0074_6561_6d00);

/// The id of the escalation claim for (incident, level, cycle, attempt): a v8 UUID made of the
/// SHA-256 of those four, so every executor computes the same id for the same page.
pub fn escalation_claim_id(incident: IncidentId, level: u32, cycle: u32, attempt: u32) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"warroom/escalation-claim/v1\0");
    h.update(incident.as_bytes());
    h.update(level.to_be_bytes());
    h.update(cycle.to_be_bytes());
    h.update(attempt.to_be_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Defines [`EventKind`] and, from the same list of variants, `KindFields`: the same variants
/// externally tagged, which serde reads field by field as they stream past. The derive for the
/// internally tagged `EventKind` first buffers every field of the object (serde's `Content`) to
/// find the `"type"` among them, which was over a third of reading an event; the store's reader
/// ([`Event::from_json`]) reads `"type"` first and hands the rest straight to `KindFields`.
/// Both derives see the very same fields and serde attributes, so they cannot drift apart.
macro_rules! event_kinds {
    (
        $(#[$meta:meta])*
        pub enum EventKind {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum EventKind {
            $( $(#[$vmeta])* $variant $({ $( $(#[$fmeta])* $field: $ty ),* })? ),*
        }

        /// [`EventKind`] externally tagged: what follows `"type"` in a stored event.
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub(super) enum KindFields {
            $( $variant $({ $( $(#[$fmeta])* $field: $ty ),* })? ),*
        }

        impl From<KindFields> for EventKind {
            fn from(k: KindFields) -> EventKind {
                match k {
                    $( KindFields::$variant $({ $($field),* })? => EventKind::$variant $({ $($field),* })? ),*
                }
            }
        }
    };
}

event_kinds! {
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
            /// The PagerDuty dedup key the page was sent with (ack and resolve reuse it).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            dedup_key: Option<String>,
            /// The ladder cycle (1 = first pass) for pages the escalation engine sent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            cycle: Option<u32>,
        },
        /// The escalation engine's claim to page ladder `level` in `cycle`. Its id is derived from
        /// (incident, level, cycle, attempt) by [`escalation_claim_id`], so every executor writes the same
        /// id and the idempotent append decides which one sends; `paged` events record the delivery.
        EscalationClaimed {
            level: u32,
            cycle: u32,
            /// 1 for the first claim; a later attempt re-sends a claim whose sender died before recording.
            attempt: u32,
            /// The ladder target as written in the team file (a person or rotation id).
            target: String,
            /// The person the target reached when the level fell due, if it resolved to anyone.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            person: Option<String>,
            /// The dedup key every channel sends this page with.
            dedup_key: String,
        },
        /// An acknowledge or resolve sent to PagerDuty for one alert this incident triggered.
        AlertUpdated {
            /// `acknowledge` or `resolve`.
            action: String,
            dedup_key: String,
            ok: bool,
            outcome: String,
        },
        /// A `change` note forwarded to PagerDuty's Change Events API.
        ChangeSent {
            /// The note it forwards.
            note: Uuid,
            ok: bool,
            outcome: String,
        },
        /// Someone takes a rotation's pager until `until`. Lives in the team stream
        /// ([`TEAM_STREAM`]), not in an incident, and wins over the rotation and the file's overrides.
        OncallTaken {
            rotation: String,
            person: String,
            from: DateTime<Utc>,
            until: DateTime<Utc>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            reason: Option<String>,
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
        /// The one-line resolution asked for when the incident is resolved: what ended the impact.
        ResolutionRecorded {
            text: String,
        },
        /// A follow-up: work that must happen after the incident (not work done during it, which is
        /// an `action` note). Its id is this event's id.
        FollowupAdded {
            text: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            owner: Option<String>,
            #[serde(default)]
            priority: Priority,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            ticket: Option<String>,
        },
        /// A follow-up's status changed (last writer wins by (at, id)).
        FollowupStatusSet {
            target: Uuid,
            status: FollowupStatus,
        },
        /// A change to the system (a deploy, a config push, a rollback), from `warroom change -- CMD`,
        /// `note --tag change` with no open incident, or copied from the host change log when the
        /// incident opened. `at` is when the change started.
        ChangeRecorded {
            text: String,
            /// The host it was made on.
            host: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            command: Option<ChangeCommand>,
            /// The id of the entry in the host change log it was copied from.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            host_log_id: Option<Uuid>,
        },
        /// A status update reached a provider (Statuspage, a chat webhook, the generic webhook).
        /// `external_id` is the provider's own incident id (Statuspage): later updates amend it.
        StatusUpdateDelivered {
            update: Uuid,
            provider: String,
            outcome: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            external_id: Option<String>,
        },
        /// What became of a signalled process: whether it exited, after which signal, how long
        /// after it was sent (or how long it was watched before giving up).
        ProcessOutcome {
            pid: i32,
            start_time: u64,
            name: String,
            signal: String,
            exited: bool,
            waited_ms: u64,
            outcome: String,
        },
        /// A systemd unit or a docker/podman container restarted because of a process in it (after
        /// its evidence was captured): who asked why, and what came of it (checked afterwards).
        ServiceRestarted {
            /// The process the responder chose (its identity when the restart was asked for).
            pid: i32,
            start_time: u64,
            name: String,
            /// `systemd`, `docker` or `podman`.
            manager: String,
            /// The unit name or the container id.
            target: String,
            reason: String,
            /// Whether the restart command succeeded and the unit/container is running again.
            ok: bool,
            took_ms: u64,
            /// The unit's main pid or the container's init pid afterwards, when known.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            new_pid: Option<i32>,
            /// What happened, in words (state afterwards, or why it failed).
            outcome: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            evidence: Option<String>,
        },
        /// A kind this build does not know (written by a newer warroom). Kept in the store as raw
        /// JSON, ignored by the fold; never produced locally.
        #[serde(other)]
        Unknown,
    }
}

/// How a change made through `warroom change -- CMD` ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCommand {
    /// The command line as run (secrets redacted).
    pub command: String,
    /// None when it was killed by a signal or could not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// One line: `exit 0`, `killed by SIGTERM`, `could not start: ...`.
    pub outcome: String,
    pub duration_ms: u64,
}

impl ChangeCommand {
    /// Whether the command ran and exited 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
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
            EventKind::EscalationClaimed { .. } => "escalation_claimed",
            EventKind::AlertUpdated { .. } => "alert_updated",
            EventKind::ChangeSent { .. } => "change_sent",
            EventKind::OncallTaken { .. } => "oncall_taken",
            EventKind::ContactAttempted { .. } => "contact_attempted",
            EventKind::StatusUpdatePosted { .. } => "status_update_posted",
            EventKind::ResolutionRecorded { .. } => "resolution_recorded",
            EventKind::FollowupAdded { .. } => "followup_added",
            EventKind::FollowupStatusSet { .. } => "followup_status_set",
            EventKind::ChangeRecorded { .. } => "change_recorded",
            EventKind::StatusUpdateDelivered { .. } => "status_update_delivered",
            EventKind::ProcessOutcome { .. } => "process_outcome",
            EventKind::ServiceRestarted { .. } => "service_restarted",
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
            EventKind::Paged { person, method, outcome, dedup_key, .. } => {
                let mut v = vec![person, method, outcome];
                if let Some(k) = dedup_key {
                    v.push(k);
                }
                v
            }
            EventKind::EscalationClaimed { target, person, dedup_key, .. } => {
                let mut v = vec![target, dedup_key];
                if let Some(p) = person {
                    v.push(p);
                }
                v
            }
            EventKind::AlertUpdated { action, dedup_key, outcome, .. } => vec![action, dedup_key, outcome],
            EventKind::ChangeSent { outcome, .. } => vec![outcome],
            EventKind::OncallTaken { rotation, person, reason, .. } => {
                let mut v = vec![rotation, person];
                if let Some(r) = reason {
                    v.push(r);
                }
                v
            }
            EventKind::ContactAttempted { person, method, outcome } => vec![person, method, outcome],
            EventKind::StatusUpdatePosted { text, .. } | EventKind::ResolutionRecorded { text } => vec![text],
            EventKind::FollowupAdded { text, owner, ticket, .. } => {
                let mut v = vec![text];
                v.extend(owner.iter_mut());
                v.extend(ticket.iter_mut());
                v
            }
            EventKind::ChangeRecorded { text, host, command, .. } => {
                let mut v = vec![text, host];
                if let Some(c) = command {
                    v.push(&mut c.command);
                    v.push(&mut c.outcome);
                }
                v
            }
            EventKind::StatusUpdateDelivered { provider, outcome, external_id, .. } => {
                let mut v = vec![provider, outcome];
                v.extend(external_id.iter_mut());
                v
            }
            EventKind::FollowupStatusSet { .. } => vec![],
            EventKind::ProcessOutcome { name, signal, outcome, .. } => vec![name, signal, outcome],
            EventKind::ServiceRestarted { name, manager, target, reason, outcome, evidence, .. } => {
                let mut v = vec![name, manager, target, reason, outcome];
                if let Some(e) = evidence {
                    v.push(e);
                }
                v
            }
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

/// How urgent a follow-up is: p0 (drop everything) to p3 (when there is time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    P0,
    P1,
    #[default]
    P2,
    P3,
}
vocabulary!(Priority { P0 => "p0", P1 => "p1", P2 => "p2", P3 => "p3" });

/// Where a follow-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FollowupStatus {
    #[default]
    Open,
    Done,
    WontDo,
}
vocabulary!(FollowupStatus { Open => "open", Done => "done", WontDo => "wont_do" });

impl FollowupStatus {
    /// How the status reads in prose and tables.
    pub fn label(self) -> &'static str {
        match self {
            FollowupStatus::Open => "open",
            FollowupStatus::Done => "done",
            FollowupStatus::WontDo => "won't do",
        }
    }
}

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

    proptest::proptest! {
        /// The fast reader of `at` reads what chrono writes, and whatever it accepts chrono's
        /// parser reads as the same instant.
        #[test]
        fn fast_time_reader_agrees_with_chrono(
            secs in -62_000_000_000i64..253_000_000_000,
            nanos in 0u32..1_000_000_000,
            digits in proptest::collection::vec(0u8..10, 20..32),
            cut in 0usize..12,
            seps in proptest::collection::vec(proptest::option::weighted(0.15, 32u8..127), 6),
        ) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let written = serde_json::to_string(&t).unwrap();
            let written = written.trim_matches('"');
            proptest::prop_assert_eq!(utc_fast(written), Some(t), "{}", written);
            // Near-misses built from digits and separators: whatever the fast path accepts,
            // chrono reads the same.
            let mut s: Vec<u8> = digits.iter().map(|d| b'0' + d).collect();
            // Mostly the right separators, sometimes any character.
            for ((i, right), wrong) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')]
                .into_iter()
                .zip(seps)
            {
                if i < s.len() {
                    s[i] = wrong.unwrap_or(right);
                }
            }
            s.truncate(s.len() - cut.min(s.len()));
            s.push(b'Z');
            let s = String::from_utf8(s).unwrap();
            if let Some(fast) = utc_fast(&s) {
                proptest::prop_assert_eq!(s.parse::<DateTime<Utc>>().ok(), Some(fast), "{}", s);
            }
            if let Some(fast) = utc_fast(written) {
                proptest::prop_assert_eq!(written.parse::<DateTime<Utc>>().ok(), Some(fast));
            }
        }
    }

    #[test]
    fn fast_time_reader_leaves_other_shapes_to_chrono() {
        for s in [
            "2026-11-23T03:00:00+01:00",
            "2026-11-23 03:00:00Z",
            "2026-02-30T03:00:00Z",
            "2026-11-23T03:00:60Z",
            "2026-11-23T03:00:00.1234567891Z",
            "+12026-11-23T03:00:00Z",
            "2026-11-23T03:00:00.Z",
            "2026-11-23t03:00:00Z",
        ] {
            assert_eq!(utc_fast(s), None, "{s}");
        }
        let ev: Event = serde_json::from_str(r#"{"id":"0196f0b2-0000-7000-8000-000000000001","incident":"0196f0b2-0000-7000-8000-000000000001","at":"2026-11-23T04:00:00+01:00","author":"x","type":"acknowledged"}"#).unwrap();
        assert_eq!(ev.at, DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc());
    }

    #[test]
    fn unknown_kind_parses_as_unknown() {
        let json = r#"{"id":"0196f0b2-0000-7000-8000-000000000001","incident":"0196f0b2-0000-7000-8000-000000000001","at":"2026-11-23T03:00:00Z","author":"x","type":"hologram","beam":1}"#;
        let ev: Event = serde_json::from_str(json).unwrap();
        assert_eq!(ev.kind, EventKind::Unknown);
    }
}
