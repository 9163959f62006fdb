//! The incident as it stands: a pure fold over its events sorted by (at, id).
//!
//! Any two replicas holding the same set of events fold to the same state whatever order the
//! events arrived in; single-valued fields are last-writer-wins by (at, id).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::event::{Audience, Event, EventKind, IncidentId, Role, Severity, Status, Tag};

/// A value and who set it when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stamped<T> {
    pub value: T,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A note as it reads now (with its latest amendment applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub author: String,
    pub tag: Tag,
    pub text: String,
    /// Set when the text is an amendment of the original.
    pub amended_at: Option<DateTime<Utc>>,
}

/// One runbook checklist item's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistView {
    pub runbook: String,
    pub item: String,
    pub checked: bool,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// The folded incident. Field names are part of the JSON export format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentState {
    pub id: IncidentId,
    pub title: String,
    pub summary: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub severity: Severity,
    pub status: Status,
    pub severity_history: Vec<Stamped<Severity>>,
    pub status_history: Vec<Stamped<Status>>,
    /// The first acknowledgement.
    pub acknowledged: Option<Stamped<()>>,
    /// When the current `resolved` status was set; None while open.
    pub resolved_at: Option<DateTime<Utc>>,
    pub roles: BTreeMap<Role, Stamped<String>>,
    /// Everyone who wrote an event.
    pub people: BTreeSet<String>,
    pub notes: Vec<NoteView>,
    /// Runbook id → title, in attachment order.
    pub runbooks: Vec<(String, String)>,
    pub checklist: Vec<ChecklistView>,
    pub last_status_update: Option<Stamped<Audience>>,
    /// The newest event time: what "last activity" means.
    pub last_event_at: DateTime<Utc>,
    pub event_count: usize,
}

impl IncidentState {
    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved
    }

    /// Open duration up to `now` (or to resolution).
    pub fn duration(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.resolved_at.unwrap_or(now) - self.opened_at
    }
}

/// Why events do not fold to an incident.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("incident {0} has no `opened` event")]
    NotOpened(IncidentId),
    #[error("no events")]
    Empty,
}

/// Sorts by (at, id) and drops duplicate ids: the canonical order every replica agrees on.
pub fn canonical(events: &mut Vec<Event>) {
    events.sort_by_key(|a| a.order_key());
    events.dedup_by(|a, b| a.id == b.id);
}

/// Folds one incident's events (any order, duplicates allowed) into its state.
pub fn fold(events: &[Event]) -> Result<IncidentState, FoldError> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.order_key());
    sorted.dedup_by(|a, b| a.id == b.id);
    fold_sorted(sorted.into_iter())
}

/// Fold over events already in canonical order (sorted by (at, id), no duplicate ids).
pub fn fold_sorted<'a>(events: impl Iterator<Item = &'a Event>) -> Result<IncidentState, FoldError> {
    let mut state: Option<IncidentState> = None;
    let mut pending: Vec<&Event> = Vec::new();
    // Amendments are applied after the pass: with clock skew one may sort before its target.
    let mut amendments: Vec<&Event> = Vec::new();
    let mut checklist: BTreeMap<(String, String), ChecklistView> = BTreeMap::new();
    let mut last_id = None;

    for ev in events {
        if last_id == Some(ev.id) {
            continue;
        }
        last_id = Some(ev.id);
        let Some(st) = state.as_mut() else {
            if let EventKind::Opened { title, severity, summary } = &ev.kind {
                let mut st = IncidentState {
                    id: ev.incident,
                    title: title.clone(),
                    summary: summary.clone(),
                    opened_at: ev.at,
                    opened_by: ev.author.clone(),
                    severity: *severity,
                    status: Status::Investigating,
                    severity_history: vec![Stamped { value: *severity, at: ev.at, by: ev.author.clone() }],
                    status_history: vec![Stamped {
                        value: Status::Investigating,
                        at: ev.at,
                        by: ev.author.clone(),
                    }],
                    acknowledged: None,
                    resolved_at: None,
                    roles: BTreeMap::new(),
                    people: BTreeSet::from([ev.author.clone()]),
                    notes: Vec::new(),
                    runbooks: Vec::new(),
                    checklist: Vec::new(),
                    last_status_update: None,
                    last_event_at: ev.at,
                    event_count: 1,
                };
                // Events that sort before the opening (clock skew) still count.
                for early in pending.drain(..) {
                    apply(&mut st, early, &mut amendments, &mut checklist);
                }
                state = Some(st);
            } else {
                pending.push(ev);
            }
            continue;
        };
        apply(st, ev, &mut amendments, &mut checklist);
    }

    let Some(mut st) = state else {
        return match pending.first() {
            Some(ev) => Err(FoldError::NotOpened(ev.incident)),
            None => Err(FoldError::Empty),
        };
    };
    let index: HashMap<Uuid, usize> = st.notes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    for am in amendments {
        if let EventKind::Amended { target, text } = &am.kind
            && let Some(&i) = index.get(target)
        {
            let note = &mut st.notes[i];
            if note.author == am.author {
                note.text = text.clone();
                note.amended_at = Some(am.at);
            }
        }
    }
    st.checklist = checklist.into_values().collect();
    Ok(st)
}

fn apply<'a>(
    st: &mut IncidentState,
    ev: &'a Event,
    amendments: &mut Vec<&'a Event>,
    checklist: &mut BTreeMap<(String, String), ChecklistView>,
) {
    st.event_count += 1;
    st.last_event_at = st.last_event_at.max(ev.at);
    st.people.insert(ev.author.clone());
    let stamp = |value| Stamped { value, at: ev.at, by: ev.author.clone() };
    match &ev.kind {
        EventKind::Opened { .. } | EventKind::Unknown => {}
        EventKind::Note { text, tag } => st.notes.push(NoteView {
            id: ev.id,
            at: ev.at,
            author: ev.author.clone(),
            tag: *tag,
            text: text.clone(),
            amended_at: None,
        }),
        EventKind::Amended { .. } => amendments.push(ev),
        EventKind::SeveritySet { severity } => {
            st.severity = *severity;
            st.severity_history.push(stamp(*severity));
        }
        EventKind::StatusSet { status } => {
            st.status = *status;
            st.resolved_at = (*status == Status::Resolved).then_some(ev.at);
            st.status_history.push(Stamped { value: *status, at: ev.at, by: ev.author.clone() });
        }
        EventKind::Acknowledged {} => {
            if st.acknowledged.is_none() {
                st.acknowledged = Some(Stamped { value: (), at: ev.at, by: ev.author.clone() });
            }
        }
        EventKind::RoleAssigned { role, person } => {
            st.roles.insert(*role, Stamped { value: person.clone(), at: ev.at, by: ev.author.clone() });
        }
        EventKind::RunbookAttached { runbook, title } => {
            if !st.runbooks.iter().any(|(id, _)| id == runbook) {
                st.runbooks.push((runbook.clone(), title.clone()));
            }
        }
        EventKind::ChecklistItemSet { runbook, item, checked } => {
            checklist.insert(
                (runbook.clone(), item.clone()),
                ChecklistView {
                    runbook: runbook.clone(),
                    item: item.clone(),
                    checked: *checked,
                    at: ev.at,
                    by: ev.author.clone(),
                },
            );
        }
        EventKind::StatusUpdatePosted { audience, .. } => {
            st.last_status_update = Some(Stamped { value: *audience, at: ev.at, by: ev.author.clone() });
        }
        EventKind::ProcessSignalled { .. }
        | EventKind::EvidenceCaptured { .. }
        | EventKind::CommandRun { .. }
        | EventKind::Paged { .. }
        | EventKind::ContactAttempted { .. }
        | EventKind::ProcessOutcome { .. } => {}
    }
}
