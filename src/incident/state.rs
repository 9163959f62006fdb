//! The incident as it stands: a pure fold over its events sorted by (at, id).
//!
//! Any two replicas holding the same set of events fold to the same state whatever order the
//! events arrived in; single-valued fields are last-writer-wins by (at, id).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::event::{
    Audience, ChangeCommand, Event, EventKind, FollowupStatus, IncidentId, Priority, Role, Severity, Status,
    Tag,
};

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

/// A follow-up as it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowupView {
    /// The id of its `followup_added` event.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
    pub owner: Option<String>,
    pub priority: Priority,
    pub ticket: Option<String>,
    pub status: FollowupStatus,
    /// When and by whom the status was last set (None while never changed).
    pub status_set: Option<(DateTime<Utc>, String)>,
}

/// A change made to the system, before or during the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
    pub host: Option<String>,
    pub command: Option<ChangeCommand>,
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
    /// The one-line resolution (the latest one recorded).
    pub resolution: Option<Stamped<String>>,
    pub followups: Vec<FollowupView>,
    /// Changes: `change_recorded` events and notes tagged `change`, in time order.
    pub changes: Vec<ChangeView>,
    /// When the impact began: the opening, or the earliest note (not a change) written with an
    /// earlier `--at`, when someone noticed late.
    pub impact_started_at: DateTime<Utc>,
    /// The first time the status became `monitoring` (a fix is in) or `resolved`.
    pub mitigated_at: Option<DateTime<Utc>>,
    /// Provider → the provider's incident id (e.g. Statuspage's), from the latest delivery.
    pub external_ids: BTreeMap<String, String>,
    /// The newest event time: what "last activity" means.
    pub last_event_at: DateTime<Utc>,
    pub event_count: usize,
    /// Which recorded evidence files a timeline folds into their capture's manifest line, kept
    /// as events are folded so a screen never re-reads every event for it.
    #[serde(skip)]
    pub evidence: super::export::EvidenceFold,
    /// How many amendments changed a note: while none did, a screen need not look for them.
    #[serde(skip)]
    pub amendments: usize,
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
    fold_resumable(events).map(|(st, _)| st)
}

/// The next event given to [`FoldCursor::push`] sorts before one already folded: fold again
/// from scratch (it happens when a replica receives an older event, e.g. written offline).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {0} sorts before the last folded event")]
pub struct OutOfOrder(pub Uuid);

/// What a fold keeps besides the state so that newer events can be applied later without
/// folding everything again: a cockpit on a 100k-event incident applies one new note in
/// microseconds. Folding a prefix and pushing the rest gives the same state as one fold.
#[derive(Debug, Clone, Default)]
pub struct FoldCursor {
    /// The (at, id) of the newest event folded: pushes must sort after it.
    last: Option<(DateTime<Utc>, Uuid)>,
    /// Note id → index in `notes`, for amendments. Filled only when an amendment asks, from
    /// the notes not indexed yet: most incidents amend a few notes or none, and hashing every
    /// note id was a fifth of a 100k-event fold.
    notes: HashMap<Uuid, usize>,
    /// How many of the state's notes (from the first) are in `notes`.
    indexed: usize,
    /// Amendments whose target note has not been seen (clock skew put them first), in order.
    orphans: Vec<Event>,
    /// Follow-up status changes whose follow-up has not been seen yet, in order.
    followup_orphans: Vec<Event>,
}

impl FoldCursor {
    /// Applies events that sort after everything folded so far, in canonical order. On
    /// `OutOfOrder` nothing of `events` from the offending one on was applied.
    pub fn push<'a>(
        &mut self,
        st: &mut IncidentState,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), OutOfOrder> {
        for ev in events {
            match self.last {
                Some(last) if ev.order_key() == last => continue,
                Some(last) if ev.order_key() < last => return Err(OutOfOrder(ev.id)),
                _ => {}
            }
            self.last = Some(ev.order_key());
            self.apply(st, ev);
        }
        Ok(())
    }

    fn apply(&mut self, st: &mut IncidentState, ev: &Event) {
        st.event_count += 1;
        st.last_event_at = st.last_event_at.max(ev.at);
        if !st.people.contains(&ev.author) {
            st.people.insert(ev.author.clone());
        }
        match &ev.kind {
            EventKind::Opened { .. } | EventKind::Unknown => {}
            EventKind::Note { text, tag } => {
                if *tag == Tag::Change {
                    st.changes.push(ChangeView {
                        id: ev.id,
                        at: ev.at,
                        by: ev.author.clone(),
                        text: text.clone(),
                        host: None,
                        command: None,
                    });
                } else {
                    st.impact_started_at = st.impact_started_at.min(ev.at);
                }
                st.notes.push(NoteView {
                    id: ev.id,
                    at: ev.at,
                    author: ev.author.clone(),
                    tag: *tag,
                    text: text.clone(),
                    amended_at: None,
                });
                if self.orphans.iter().any(|o| amends(o) == Some(ev.id)) {
                    let (mine, rest) =
                        std::mem::take(&mut self.orphans).into_iter().partition(|o| amends(o) == Some(ev.id));
                    self.orphans = rest;
                    for am in &mine {
                        self.amend(st, am);
                    }
                }
            }
            EventKind::Amended { target, .. } => {
                if self.note_index(st, *target).is_some() {
                    self.amend(st, ev);
                } else {
                    self.orphans.push(ev.clone());
                }
            }
            EventKind::SeveritySet { severity } => {
                st.severity = *severity;
                st.severity_history.push(stamped(ev, *severity));
            }
            EventKind::StatusSet { status } => {
                st.status = *status;
                st.resolved_at = (*status == Status::Resolved).then_some(ev.at);
                if matches!(status, Status::Monitoring | Status::Resolved) && st.mitigated_at.is_none() {
                    st.mitigated_at = Some(ev.at);
                }
                st.status_history.push(stamped(ev, *status));
            }
            EventKind::Acknowledged {} => {
                if st.acknowledged.is_none() {
                    st.acknowledged = Some(stamped(ev, ()));
                }
            }
            EventKind::RoleAssigned { role, person } => {
                st.roles.insert(*role, stamped(ev, person.clone()));
            }
            EventKind::RunbookAttached { runbook, title } => {
                if !st.runbooks.iter().any(|(id, _)| id == runbook) {
                    st.runbooks.push((runbook.clone(), title.clone()));
                }
            }
            EventKind::ChecklistItemSet { runbook, item, checked } => {
                // Kept sorted by (runbook, item): last writer wins per item.
                let view = ChecklistView {
                    runbook: runbook.clone(),
                    item: item.clone(),
                    checked: *checked,
                    at: ev.at,
                    by: ev.author.clone(),
                };
                match st.checklist.binary_search_by(|c| {
                    (c.runbook.as_str(), c.item.as_str()).cmp(&(runbook.as_str(), item.as_str()))
                }) {
                    Ok(i) => st.checklist[i] = view,
                    Err(i) => st.checklist.insert(i, view),
                }
            }
            EventKind::StatusUpdatePosted { audience, .. } => {
                st.last_status_update = Some(stamped(ev, *audience));
            }
            EventKind::ResolutionRecorded { text } => st.resolution = Some(stamped(ev, text.clone())),
            EventKind::FollowupAdded { text, owner, priority, ticket } => {
                st.followups.push(FollowupView {
                    id: ev.id,
                    at: ev.at,
                    by: ev.author.clone(),
                    text: text.clone(),
                    owner: owner.clone(),
                    priority: *priority,
                    ticket: ticket.clone(),
                    status: FollowupStatus::Open,
                    status_set: None,
                });
                if self.followup_orphans.iter().any(|o| followup_target(o) == Some(ev.id)) {
                    let (mine, rest): (Vec<Event>, Vec<Event>) = std::mem::take(&mut self.followup_orphans)
                        .into_iter()
                        .partition(|o| followup_target(o) == Some(ev.id));
                    self.followup_orphans = rest;
                    for set in &mine {
                        set_followup(st, set);
                    }
                }
            }
            EventKind::FollowupStatusSet { target, .. } => {
                if st.followups.iter().any(|f| f.id == *target) {
                    set_followup(st, ev);
                } else {
                    self.followup_orphans.push(ev.clone());
                }
            }
            EventKind::ChangeRecorded { text, host, command, .. } => st.changes.push(ChangeView {
                id: ev.id,
                at: ev.at,
                by: ev.author.clone(),
                text: text.clone(),
                host: Some(host.clone()),
                command: command.clone(),
            }),
            EventKind::StatusUpdateDelivered { provider, external_id: Some(x), .. } => {
                st.external_ids.insert(provider.clone(), x.clone());
            }
            EventKind::EvidenceCaptured { path, .. } => st.evidence.add(path),
            EventKind::StatusUpdateDelivered { .. }
            | EventKind::ProcessSignalled { .. }
            | EventKind::CommandRun { .. }
            | EventKind::Paged { .. }
            | EventKind::EscalationClaimed { .. }
            | EventKind::AlertUpdated { .. }
            | EventKind::ChangeSent { .. }
            | EventKind::OncallTaken { .. }
            | EventKind::ContactAttempted { .. }
            | EventKind::ProcessOutcome { .. }
            | EventKind::ServiceRestarted { .. } => {}
        }
    }

    /// Where the note `id` is in `st.notes`, indexing the notes added since the last call.
    fn note_index(&mut self, st: &IncidentState, id: Uuid) -> Option<usize> {
        if self.indexed < st.notes.len() {
            let start = self.indexed;
            self.notes.extend(st.notes[start..].iter().enumerate().map(|(i, n)| (n.id, start + i)));
            self.indexed = st.notes.len();
        }
        self.notes.get(&id).copied()
    }

    /// An amendment changes the note only when its author wrote the note.
    fn amend(&mut self, st: &mut IncidentState, am: &Event) {
        if let EventKind::Amended { target, text } = &am.kind
            && let Some(i) = self.note_index(st, *target)
        {
            let note = &mut st.notes[i];
            if note.author == am.author {
                note.text = text.clone();
                note.amended_at = Some(am.at);
                st.amendments += 1;
            }
        }
    }
}

fn stamped<T>(ev: &Event, value: T) -> Stamped<T> {
    Stamped { value, at: ev.at, by: ev.author.clone() }
}

fn followup_target(ev: &Event) -> Option<Uuid> {
    match &ev.kind {
        EventKind::FollowupStatusSet { target, .. } => Some(*target),
        _ => None,
    }
}

/// Applies a follow-up status change to its (present) follow-up.
fn set_followup(st: &mut IncidentState, ev: &Event) {
    if let EventKind::FollowupStatusSet { target, status } = &ev.kind
        && let Some(f) = st.followups.iter_mut().find(|f| f.id == *target)
    {
        f.status = *status;
        f.status_set = Some((ev.at, ev.author.clone()));
    }
}

fn amends(ev: &Event) -> Option<Uuid> {
    match &ev.kind {
        EventKind::Amended { target, .. } => Some(*target),
        _ => None,
    }
}

/// Fold over events in canonical order, keeping the cursor to apply newer events later.
pub fn fold_resumable<'a>(
    events: impl Iterator<Item = &'a Event>,
) -> Result<(IncidentState, FoldCursor), FoldError> {
    let mut state: Option<IncidentState> = None;
    let mut early: Vec<&Event> = Vec::new();
    let mut cursor = FoldCursor::default();
    let mut last_id = None;

    for ev in events {
        if last_id == Some(ev.id) {
            continue;
        }
        last_id = Some(ev.id);
        cursor.last = Some(ev.order_key());
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
                    resolution: None,
                    followups: Vec::new(),
                    changes: Vec::new(),
                    impact_started_at: ev.at,
                    mitigated_at: None,
                    external_ids: BTreeMap::new(),
                    last_event_at: ev.at,
                    event_count: 1,
                    evidence: Default::default(),
                    amendments: 0,
                };
                // Events that sort before the opening (clock skew) still count.
                for e in early.drain(..) {
                    cursor.apply(&mut st, e);
                }
                state = Some(st);
            } else {
                early.push(ev);
            }
            continue;
        };
        cursor.apply(st, ev);
    }

    match state {
        Some(st) => Ok((st, cursor)),
        None => match early.first() {
            Some(ev) => Err(FoldError::NotOpened(ev.incident)),
            None => Err(FoldError::Empty),
        },
    }
}
