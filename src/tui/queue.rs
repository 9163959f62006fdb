//! The one way effects leave the App: `update` only changes state and queues `Command`s; the event
//! loop hands the queue to `Effects`, which runs each command and sends its result back as an
//! `Action` (modelled on gitui's `queue.rs` + `process_queue`). Nothing in `update` spawns a task,
//! writes to the terminal or touches the sync task.

use std::sync::Arc;

use crate::incident::IncidentId;
use crate::notify::{Channel, Notifier, Page, StatusUpdate};
use crate::procs::{GuardContext, KillRequest};
use crate::runner::RunSpec;

/// Work the App asks the event loop to do; each answers with an `Action` (named per variant).
// A handful of commands per keypress at most: boxing the page would only move the allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Command {
    /// Run `guarded_kill` off the UI thread → `Action::KillDone`.
    Kill { req: KillRequest, ctx: Arc<GuardContext> },
    /// Capture evidence of (pid, start time) into `dir` off the UI thread → `Action::CaptureDone`.
    Capture {
        incident: IncidentId,
        pid: i32,
        start_time: u64,
        dir: std::path::PathBuf,
        opts: crate::procs::CaptureOptions,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Run `guarded_restart` (capture, then restart the unit/container) → `Action::RestartDone`.
    Restart { incident: IncidentId, req: Box<crate::procs::restart::RestartRequest>, ctx: Arc<GuardContext> },
    /// Re-hash a capture's files against its manifest → `Action::EvidenceChecked`.
    VerifyEvidence { dir: std::path::PathBuf, recorded: std::collections::HashMap<String, String> },
    /// Capture the chosen process's evidence, signal every member of a tree or group, record
    /// that (`Action::KillSetSent`), then watch for the exits (`Action::KillSetWatched`).
    KillSet {
        incident: IncidentId,
        set: crate::procs::killset::KillSet,
        ctx: Arc<GuardContext>,
        signal: crate::procs::Sig,
        reason: String,
        evidence_dir: Option<std::path::PathBuf>,
        at: chrono::DateTime<chrono::Utc>,
        grace: std::time::Duration,
    },
    /// Start a runbook command → `Background::RunOutput` chunks, then `Background::RunFinished`
    /// (or `Background::RunNotStarted`).
    Run(RunSpec),
    /// Cancel the running command (its `RunFinished` still arrives).
    CancelRun,
    /// Post a recorded status update (the event `update_id` at `update_at`) to every provider
    /// → `Background::StatusPosted`.
    PostStatus {
        notifier: Notifier,
        update: StatusUpdate,
        update_id: uuid::Uuid,
        update_at: chrono::DateTime<chrono::Utc>,
        statuspage_incident: Option<String>,
    },
    /// Send a confirmed page → `Action::PageDone`, delivered or not.
    Page { notifier: Notifier, channel: Channel, page: Page },
    /// Tell PagerDuty what a recorded ack, resolve or `change` note means for it → one
    /// `Action::PageDone` per alert updated or change sent.
    Forward { notifier: Notifier, event: Box<crate::incident::Event>, events: Vec<crate::incident::Event> },
    /// Write this OSC 52 sequence to the terminal between frames → `Action::Notice` on failure.
    Copy(String),
    /// Sync the incident on screen (None: nothing open) → `Action::Following`.
    Follow(Option<IncidentId>),
    /// The App wrote an event: the sync task pushes it now.
    Nudge,
    /// The responder asked (C-r): the sync task drops its connection and reconnects now.
    Reconnect,
}

/// The App's outgoing commands, in the order they were asked for.
#[derive(Debug, Default)]
pub struct Queue(Vec<Command>);

impl Queue {
    pub fn push(&mut self, cmd: Command) {
        self.0.push(cmd);
    }

    /// Everything queued, oldest first, leaving the queue empty.
    pub fn take(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// What is queued (tests look before the loop runs it).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Command> {
        self.0.iter()
    }

    /// Takes the queued commands `f` picks out, keeping the rest in order (tests run them by hand).
    pub fn take_where(&mut self, f: impl Fn(&Command) -> bool) -> Vec<Command> {
        let (picked, kept) = std::mem::take(&mut self.0).into_iter().partition(|c| f(c));
        self.0 = kept;
        picked
    }
}
