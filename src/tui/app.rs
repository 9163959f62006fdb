//! The App: all TUI state, changed only by `update(Action)`. Keys go to the top popup first, then
//! the composer, then the focused pane, then the global table; the first that wants a key wins.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::keymap::{self, GLOBAL, GlobalCmd, PaneCmd};
use super::layout::screen;
use super::paging::{PageDone, Pager};
use super::pane::{Effect, IncidentData, Pane, PaneCtx};
use super::panes::runbook::RunbookOptions;
use super::panes::{Contacts, Processes, ProcsSettings, Runbooks, Timeline};
use super::popups::kill::SendSignal;
use super::popups::{
    Choice, Composer, Confirm, FollowupForm, Outcome, Popup, Question, ResolveForm, RunOutput, RunRequest,
    StartChoice, StartForm, TextView,
};
use super::queue::{Command, Queue};
use super::theme::Theme;
use crate::incident::sanitize::one_line;
use crate::incident::state::canonical;
use crate::incident::{Event, EventKind, FoldCursor, IncidentId, Severity, Status, fold_resumable};
use crate::notify::{Notifier, StatusUpdate};
use crate::procs::{CriticalList, KillReport, KillRequest, Snapshot, current_context};
use crate::runbook::CadenceConfig;
use crate::runner::{RunResult, RunSpec};
use crate::store::Store;
use crate::sync::SyncStatus;

/// Everything that can happen to the App.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Once a second: the header's clock moves.
    Tick,
    /// Check whether another process wrote to the store.
    PollStore,
    /// SIGTERM/SIGHUP/input gone: keep the draft and leave now.
    Terminate,
    /// A page sent in the background finished (delivered or not).
    PageDone(Box<PageDone>),
    /// The sync task's status changed (only when a server is configured).
    Sync(SyncStatus),
    /// The sync task wrote events from the server to the store: re-read it.
    Arrived,
    /// The process sampler produced a snapshot (or could not start).
    Procs(ProcsMsg),
    /// A `guarded_kill` the App asked for (a `Job`) finished; `Err` means nothing was attempted.
    KillDone(Result<KillReport, String>),
    /// A tree or group was signalled (or refused: nothing sent); its events are to be recorded.
    KillSetSent {
        incident: IncidentId,
        result: Result<crate::procs::killset::SetSent, String>,
    },
    /// The watch after a set's signal ended: one `process_outcome` per member signalled.
    KillSetWatched {
        incident: IncidentId,
        events: Vec<EventKind>,
    },
    /// A capture without a signal finished (`Command::Capture`), for `incident`.
    CaptureDone {
        incident: IncidentId,
        result: Result<crate::procs::Evidence, String>,
    },
    /// A capture-then-restart finished (`Command::Restart`); `Err`: nothing was restarted.
    RestartDone {
        incident: IncidentId,
        result: Box<Result<crate::procs::restart::RestartReport, String>>,
    },
    /// A capture's files were re-hashed (`Command::VerifyEvidence`).
    EvidenceChecked {
        dir: std::path::PathBuf,
        files: Vec<crate::procs::browse::CheckedFile>,
    },
    /// Work the App started on a task reports back (command output, a delivery).
    Background(Background),
    /// A command could not be carried out: say so in the footer (an error).
    Notice(String),
    /// The sync task now follows the incident on screen: its first status, None when no server
    /// is configured, or why it did not start.
    Following(Result<Option<SyncStatus>, String>),
}

/// What spawned tasks send back to the App (through `App::take_background`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Background {
    /// A chunk of the running command's output (raw).
    RunOutput(String),
    /// The running command ended (or could not be supervised).
    RunFinished(Result<RunResult, String>),
    /// The confirmed command could not be started.
    RunNotStarted(String),
    /// A status update went to its providers: `events` record each delivery or failure, after
    /// the update at `update_at`, on `incident`.
    StatusPosted {
        incident: IncidentId,
        update_at: DateTime<Utc>,
        events: Vec<EventKind>,
        failed: bool,
        message: String,
    },
}

/// The command being run: what, and for which incident (`Effects` holds the way to stop it).
struct Running {
    spec: RunSpec,
    incident: IncidentId,
}

/// What the sampler thread sends.
#[derive(Debug, Clone)]
pub enum ProcsMsg {
    Snapshot(Arc<Snapshot>),
    Failed(String),
}

/// Snapshots compare by identity: the same snapshot delivered twice is the same message.
impl PartialEq for ProcsMsg {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ProcsMsg::Snapshot(a), ProcsMsg::Snapshot(b)) => Arc::ptr_eq(a, b),
            (ProcsMsg::Failed(a), ProcsMsg::Failed(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for ProcsMsg {}

/// The process pane's options (`[procs]` in the config).
#[derive(Debug, Clone)]
pub struct ProcsOptions {
    /// Names that need typing before a kill, on top of the built-in list.
    pub critical: Vec<String>,
    /// How long TERM gets before KILL is offered (`Config::procs_grace`).
    pub grace: Duration,
}

impl Default for ProcsOptions {
    fn default() -> Self {
        ProcsOptions { critical: Vec::new(), grace: crate::procs::DEFAULT_GRACE }
    }
}

/// How the App starts.
pub struct AppOptions {
    /// Author written on events.
    pub me: String,
    pub theme: Theme,
    /// The responder's zone for local times.
    pub local: Tz,
    /// Start with local times in the timeline (`[ui] time = "local"`).
    pub local_time: bool,
    /// The incident to open; None shows the start popup.
    pub incident: Option<IncidentId>,
    /// Terminal size at start.
    pub size: (u16, u16),
    pub procs: ProcsOptions,
    /// Runbooks, status-update cadence and webhook, command timeout.
    pub runbooks: RunbookOptions,
    /// The team file; the contacts pane exists only when there is one.
    pub team: Option<std::path::PathBuf>,
    /// Where `warroom team init` writes when no team file is configured: watched by the Contacts pane.
    pub team_default: Option<std::path::PathBuf>,
    /// Sends pages (`[paging]` of the config); None when the HTTP client could not start.
    pub notifier: Option<crate::notify::Notifier>,
}

pub struct App {
    pub store: Store,
    pub me: String,
    pub theme: Theme,
    pub local: Tz,
    pub data: Option<IncidentData>,
    pub panes: Vec<Box<dyn Pane>>,
    pub focus: usize,
    /// The user asked for one pane at a time even where the grid fits.
    pub zoomed: bool,
    pub popups: Vec<Popup>,
    pub composer: Composer,
    pub notice: Option<(String, bool)>,
    pub size: (u16, u16),
    pub quit: bool,
    pub dirty: bool,
    /// The sync state for the header; None when no server is configured (local only).
    pub sync: Option<SyncStatus>,
    /// Counts every event this App wrote (each also queues a `Command::Nudge`).
    pub appended: u64,
    /// Effects for the event loop to run (`Effects::run`, after every update); results come back
    /// as `Action`s.
    pub queue: Queue,
    data_version: Option<i64>,
    /// Where the loaded incident's fold and store read stopped.
    follow: Option<Follow>,
    /// Status-update interval per severity (the header's countdown).
    pub cadence: CadenceConfig,
    notifier: Option<Notifier>,
    command_timeout: std::time::Duration,
    /// Item texts of every runbook found, for the postmortem (`E`) and the resolve warnings.
    export_texts: crate::incident::export::RunbookTexts,
    change_window: chrono::Duration,
    running: Option<Running>,
    /// Asks before a page and counts the pages in flight.
    pub pager: Pager,
}

/// The fold's cursor and the store's row mark of the loaded incident: what is new is read and
/// folded alone, so a note from another process costs the same at 100 or 100,000 events.
struct Follow {
    cursor: FoldCursor,
    mark: i64,
}

fn draft_key(id: IncidentId) -> String {
    format!("draft:{id}")
}

impl App {
    pub fn new(store: Store, opts: AppOptions) -> Result<App, String> {
        let rb = opts.runbooks;
        // Every pane always exists, so its number never moves (Processes is always 4); without a
        // team file the Contacts pane says how to get one.
        let mut panes: Vec<Box<dyn Pane>> = vec![Box::new(Timeline::new(opts.local, opts.local_time))];
        panes.push(Box::new(match &opts.team {
            Some(path) => Contacts::load(path),
            None => Contacts::missing(opts.team_default.as_deref()),
        }));
        let export_texts = crate::incident::export::RunbookTexts {
            books: rb.books.iter().map(|b| b.export_text()).collect(),
        };
        let composer = Composer { templates: rb.templates.clone(), ..Composer::default() };
        panes.push(Box::new(Runbooks::new(rb.books, rb.problems)));
        let guard = current_context(CriticalList::with_extra(&opts.procs.critical));
        panes.push(Box::new(Processes::new(ProcsSettings {
            guard: Arc::new(guard),
            grace: opts.procs.grace,
        })));
        let mut app = App {
            store,
            me: opts.me,
            theme: opts.theme,
            local: opts.local,
            data: None,
            panes,
            focus: 0,
            zoomed: false,
            popups: Vec::new(),
            composer,
            notice: None,
            size: opts.size,
            quit: false,
            dirty: true,
            sync: None,
            appended: 0,
            queue: Queue::default(),
            data_version: None,
            follow: None,
            cadence: rb.cadence,
            notifier: rb.notifier,
            command_timeout: rb.command_timeout,
            export_texts,
            change_window: rb.change_window,
            running: None,
            pager: Pager::new(opts.notifier),
        };
        app.data_version = app.store.data_version().ok();
        match opts.incident {
            Some(id) => app.load(id)?,
            None => {
                let incidents = app.store.incidents().map_err(|e| e.to_string())?;
                app.popups.push(Popup::Start(StartForm::new(&incidents)));
            }
        }
        Ok(app)
    }

    /// Loads an incident, or brings the loaded one up to date with what the store holds beyond
    /// the last read, and tells every pane. Newer events are folded onto the state as they are;
    /// only an event that sorts before what is shown (an older one arriving by sync) folds again.
    fn load(&mut self, id: IncidentId) -> Result<(), String> {
        // Pagers taken (the team stream) are few: re-read them whole; a change redraws.
        let team_events = self.store.events(crate::incident::event::TEAM_STREAM).unwrap_or_default();
        let team_changed = self.data.as_ref().is_some_and(|d| d.team_events != team_events);
        if let Some(d) = self.data.as_mut() {
            d.team_events = team_events.clone();
        }
        match self.catch_up(id) {
            Ok(Some(false)) if !team_changed => return Ok(()),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => self.load_all(id, team_events)?,
        }
        if let Some(data) = &self.data {
            for p in &mut self.panes {
                p.sync(data);
            }
        }
        self.dirty = true;
        Ok(())
    }

    /// Folds what was stored since the last read onto the loaded incident: Some(changed), or
    /// None when it must be read whole (another incident, or an event older than those shown).
    fn catch_up(&mut self, id: IncidentId) -> Result<Option<bool>, String> {
        let (Some(data), Some(follow)) = (self.data.as_mut(), self.follow.as_mut()) else {
            return Ok(None);
        };
        if data.state.id != id {
            return Ok(None);
        }
        let (mut new, mark) = self.store.events_after(id, follow.mark).map_err(|e| e.to_string())?;
        if new.is_empty() {
            follow.mark = mark;
            return Ok(Some(false));
        }
        canonical(&mut new);
        if follow.cursor.push(&mut data.state, &new).is_err() {
            return Ok(None);
        }
        follow.mark = mark;
        data.events.extend(new);
        Ok(Some(true))
    }

    /// Reads and folds the incident's every event.
    fn load_all(&mut self, id: IncidentId, team_events: Vec<Event>) -> Result<(), String> {
        self.follow = None;
        let (events, mark) = self.store.events_with_mark(id).map_err(|e| e.to_string())?;
        let (state, cursor) = fold_resumable(events.iter()).map_err(|e| format!("incident {id}: {e}"))?;
        let first = self.data.as_ref().is_none_or(|d| d.state.id != id);
        self.data = Some(IncidentData { state, events, team_events });
        self.follow = Some(Follow { cursor, mark });
        if first {
            self.queue.push(Command::Follow(Some(id)));
        }
        if first
            && let Ok(Some(draft)) = self.store.meta(&draft_key(id))
            && !draft.trim().is_empty()
        {
            self.composer.set_draft(&draft);
        }
        Ok(())
    }

    pub fn incident(&self) -> Option<IncidentId> {
        self.data.as_ref().map(|d| d.state.id)
    }

    pub fn update(&mut self, action: Action, now: DateTime<Utc>) {
        match action {
            Action::Key(k) if k.kind == KeyEventKind::Press => {
                self.notice = None;
                self.dirty = true;
                self.key(k, now);
            }
            Action::Key(_) => {}
            Action::Mouse(m) => self.mouse(m),
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
            }
            Action::Tick => {
                let mut changed = self.data.is_some();
                for p in &mut self.panes {
                    changed |= p.on_tick(now);
                }
                let mut outcome = None;
                if let Some(Popup::Kill(g)) = self.popups.last_mut() {
                    changed |= g.tick(now);
                    outcome = g.outcome.take();
                }
                if let Some(Popup::Capture(g)) = self.popups.last_mut() {
                    changed |= g.tick(now);
                }
                // Whether it exited after TERM (and when) goes on the timeline, not only the popup.
                if let Some(kind) = outcome {
                    self.append_or_notice(kind, now);
                    changed = true;
                }
                self.dirty |= changed;
            }
            Action::Procs(msg) => {
                let visible = self.visible_panes();
                for (i, p) in self.panes.iter_mut().enumerate() {
                    let changed = match &msg {
                        ProcsMsg::Snapshot(s) => p.snapshot(s),
                        ProcsMsg::Failed(e) => p.snapshot_failed(e),
                    };
                    // A pane that is not on screen takes the snapshot without a redraw.
                    self.dirty |= changed && visible.contains(&i);
                }
            }
            Action::KillDone(result) => self.kill_done(result, now),
            Action::KillSetSent { incident, result } => self.kill_set_sent(incident, result, now),
            Action::KillSetWatched { incident, events } => self.kill_set_watched(incident, events, now),
            Action::CaptureDone { incident, result } => self.capture_done(incident, result, now),
            Action::RestartDone { incident, result } => self.restart_done(incident, *result, now),
            Action::EvidenceChecked { dir, files } => {
                if let Some(Popup::Evidence(b)) =
                    self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Evidence(_)))
                {
                    b.checked(&dir, files);
                    self.dirty = true;
                }
            }
            // The store poll may already have seen the arrival: `poll_store` reloads only when
            // the store's data version moved, so the two never reload twice for one write.
            Action::PollStore | Action::Arrived => self.poll_store(),
            Action::Terminate => self.finish(),
            Action::PageDone(done) => self.page_done(*done, now),
            Action::Sync(s) => {
                // The server was found behind what we took from it: say it once, in words.
                if s.lost > self.sync.as_ref().map_or(0, |o| o.lost)
                    && let Some(note) = &s.lost_note
                {
                    self.notice = Some((note.clone(), true));
                    self.dirty = true;
                }
                self.dirty |= self.sync.as_ref() != Some(&s);
                self.sync = Some(s);
            }
            Action::Background(b) => {
                self.dirty = true;
                self.background(b, now);
            }
            Action::Notice(message) => {
                self.notice = Some((message, true));
                self.dirty = true;
            }
            Action::Following(started) => {
                self.sync = None;
                match started {
                    Ok(status) => self.sync = status,
                    Err(e) => self.notice = Some((format!("sync not started: {e}"), true)),
                }
                self.dirty = true;
            }
        }
    }

    /// Indices of the panes drawn at the current size.
    fn visible_panes(&self) -> Vec<usize> {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        screen(area, self.panes.len(), self.focus, self.zoomed).panes.iter().map(|(i, _)| *i).collect()
    }

    /// Records what a kill did and tells the popup (or the footer, if it was closed).
    fn kill_done(&mut self, result: Result<KillReport, String>, now: DateTime<Utc>) {
        self.dirty = true;
        if let Ok(report) = &result {
            let message = match self.record_kill(report, now) {
                Ok(()) => format!("signal: {}", report.outcome),
                Err(e) => format!("signal: {} — but the timeline entry was not saved: {e}", report.outcome),
            };
            self.notice = Some((message, !report.outcome.was_sent()));
        }
        match self.popups.last_mut() {
            Some(Popup::Kill(g)) => g.finished(&result, now),
            _ => {
                if let Err(e) = &result {
                    self.notice = Some((e.clone(), true));
                }
            }
        }
    }

    /// Records what signalling a set did and tells the kill popup.
    fn kill_set_sent(
        &mut self,
        incident: IncidentId,
        result: Result<crate::procs::killset::SetSent, String>,
        now: DateTime<Utc>,
    ) {
        self.dirty = true;
        let told = match result {
            Ok(sent) => match self.record_on(incident, &sent.events, now) {
                Ok(()) if sent.sent.is_empty() => {
                    Err(format!("{}: none was signalled (recorded)", sent.summary))
                }
                Ok(()) => Ok(format!("{} (recorded); watching for the exits…", sent.summary)),
                Err(e) => Err(format!("{} — but NOT recorded on the timeline: {e}", sent.summary)),
            },
            Err(e) => Err(e),
        };
        match self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Kill(_))) {
            Some(Popup::Kill(g)) => g.set_finished(told),
            _ => self.tell_footer(told),
        }
    }

    /// Records each member's outcome and says how many exited.
    fn kill_set_watched(&mut self, incident: IncidentId, events: Vec<EventKind>, now: DateTime<Utc>) {
        self.dirty = true;
        let exited =
            events.iter().filter(|k| matches!(k, EventKind::ProcessOutcome { exited: true, .. })).count();
        let still = events.len() - exited;
        let told = match self.record_on(incident, &events, now) {
            // Only a watch that failed reports no outcome (a set that signalled nobody is not watched).
            Ok(()) if events.is_empty() => {
                Err("watching for the exits failed: no outcome recorded (see the process pane)".into())
            }
            Ok(()) if still == 0 => Ok(format!("all {exited} signalled processes exited (recorded)")),
            Ok(()) => Err(format!(
                "{exited} exited, {still} still running (recorded): send KILL to the set if needed"
            )),
            Err(e) => Err(format!("outcomes NOT recorded: {e}")),
        };
        match self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Kill(_))) {
            Some(Popup::Kill(g)) if g.target_set_pending() => g.set_finished(told),
            _ => self.tell_footer(told),
        }
    }

    /// Records a capture made without a signal as `warroom capture` does (one `evidence_captured`
    /// per file, the manifest last) on the incident it was made for, and tells the popup.
    fn capture_done(
        &mut self,
        incident: IncidentId,
        result: Result<crate::procs::Evidence, String>,
        now: DateTime<Utc>,
    ) {
        self.dirty = true;
        let told = match result {
            Ok(ev) => match self.record_on(incident, &ev.events(), now) {
                Ok(()) => Ok(format!(
                    "captured: {} — recorded on the timeline · {}",
                    ev.summary(),
                    ev.dir.display()
                )),
                Err(e) => Err(format!(
                    "evidence written to {} but NOT recorded on the timeline: {e}",
                    ev.dir.display()
                )),
            },
            Err(e) => Err(format!("nothing captured: {e}")),
        };
        self.tell_capture(told);
    }

    /// Records a restart's evidence and outcome, and tells the popup.
    fn restart_done(
        &mut self,
        incident: IncidentId,
        result: Result<crate::procs::restart::RestartReport, String>,
        now: DateTime<Utc>,
    ) {
        self.dirty = true;
        let told = match result {
            Ok(r) => {
                let ev =
                    r.evidence.as_ref().map(|e| format!(" · evidence: {}", e.summary())).unwrap_or_default();
                match self.record_on(incident, &r.events, now) {
                    Ok(()) if r.ok => Ok(format!("{}{ev} — recorded on the timeline", r.outcome)),
                    Ok(()) => Err(format!("{}{ev} — recorded on the timeline", r.outcome)),
                    Err(e) => Err(format!("{}{ev} — but NOT recorded on the timeline: {e}", r.outcome)),
                }
            }
            Err(e) => Err(format!("nothing restarted: {e}")),
        };
        self.tell_capture(told);
    }

    fn tell_capture(&mut self, told: Result<String, String>) {
        match self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Capture(_))) {
            Some(Popup::Capture(g)) => g.finished(told),
            _ => self.tell_footer(told),
        }
    }

    /// Says `told` in the footer (an `Err` as a warning), for when its popup is gone.
    fn tell_footer(&mut self, told: Result<String, String>) {
        self.notice = Some(match told {
            Ok(m) => (m, false),
            Err(m) => (m, true),
        });
    }

    /// Appends `kinds` in order on `incident` (a millisecond apart, so the order holds) and
    /// reloads it when it is on screen.
    fn record_on(
        &mut self,
        incident: IncidentId,
        kinds: &[EventKind],
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let n = kinds.len() as i64;
        let events: Vec<Event> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Event::new(
                    incident,
                    now - chrono::Duration::milliseconds(n - i as i64),
                    self.me.clone(),
                    k.clone(),
                )
            })
            .collect();
        self.store.append_all(&events, None).map_err(|e| e.to_string())?;
        self.appended += events.len() as u64;
        self.queue.push(Command::Nudge);
        // Recorded: a reload that fails now is said as such, not as "not recorded" (which would
        // have the responder capture or restart again).
        if self.incident() == Some(incident)
            && let Err(e) = self.load(incident)
        {
            self.notice =
                Some((format!("recorded, but the screen could not reload the incident: {e}"), true));
        }
        Ok(())
    }

    /// Appends the kill's events: one `evidence_captured` per file, manifest last (the timeline
    /// shows the capture as its manifest's one line, see `EvidenceFold`; the postmortem lists
    /// every file), and the `process_signalled` record.
    fn record_kill(&mut self, report: &KillReport, now: DateTime<Utc>) -> Result<(), String> {
        let id = self.incident().ok_or("no incident is open")?;
        // One transaction, each event a millisecond after the one before (the evidence, then the
        // signal: events of the same instant are ordered by id, which is not causal).
        self.record_on(id, &report.events, now)
    }

    fn poll_store(&mut self) {
        let Ok(v) = self.store.data_version() else { return };
        if self.data_version == Some(v) {
            return;
        }
        self.data_version = Some(v);
        if let Some(id) = self.incident()
            && let Err(e) = self.load(id)
        {
            self.notice = Some((e, true));
        }
    }

    /// Leaves, keeping an unsaved draft in the store (a hang-up must not lose it) or forgetting
    /// a kept one that was saved or discarded.
    fn finish(&mut self) {
        if let Some(id) = self.incident()
            && self.composer.amend.is_none()
        {
            let draft = if self.composer.has_draft() { self.composer.text() } else { String::new() };
            let kept = self.store.meta(&draft_key(id)).ok().flatten().unwrap_or_default();
            if kept != draft {
                let _ = self.store.set_meta(&draft_key(id), &draft);
            }
        }
        self.quit = true;
    }

    fn key(&mut self, k: KeyEvent, now: DateTime<Utc>) {
        if let Some(popup) = self.popups.pop() {
            self.popup_key(popup, k, now);
            return;
        }
        if self.composer.open {
            self.composer_key(k, now);
            return;
        }
        if let (Some(data), Some(pane)) = (&self.data, self.panes.get_mut(self.focus)) {
            let ctx = PaneCtx { data, me: &self.me };
            let effect = if pane.capturing() {
                Some(pane.input(k, &ctx))
            } else {
                keymap::lookup(pane.keymap(), &k).map(|cmd| pane.command(cmd, &ctx))
            };
            if let Some(effect) = effect {
                self.apply(effect, now);
                return;
            }
        }
        if let Some(cmd) = keymap::lookup(GLOBAL, &k) {
            self.global(cmd, now);
        }
    }

    fn popup_key(&mut self, mut popup: Popup, k: KeyEvent, now: DateTime<Utc>) {
        // A dialog that takes no typing never swallows a key silently: once it is done (details,
        // help, a kill's result) a global key closes it and acts (`n` opens the composer); a key
        // it cannot use, or a global one while a kill is still under way, says so in the footer.
        if let Some(done) = popup.settled()
            && !popup.binds(&k)
        {
            match keymap::lookup(GLOBAL, &k) {
                Some(cmd) if done => {
                    self.global(cmd, now);
                    return;
                }
                _ => {
                    let key = keymap::Key { code: k.code, mods: k.modifiers }.label();
                    let key = crate::incident::sanitize::one_line(&key).into_owned();
                    let why = if done { "Esc closes it" } else { "wait for the result" };
                    self.notice = Some((format!("{key} does nothing in this dialog: {why}"), true));
                }
            }
            self.popups.push(popup);
            return;
        }
        let keep = match &mut popup {
            Popup::Start(form) => match form.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => {
                    self.quit = true;
                    false
                }
                Outcome::Done(choice) => match self.start(choice, now) {
                    Ok(()) => false,
                    Err(e) => {
                        form.error = Some(e);
                        true
                    }
                },
            },
            Popup::Choose(which, chooser) => match chooser.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(i) => {
                    let kind = match which {
                        Choice::Severity => EventKind::SeveritySet { severity: Severity::ALL[i] },
                        Choice::Status if Status::ALL[i] == Status::Resolved && self.is_open() => {
                            // Resolving asks for the resolution first, as `warroom resolve` does.
                            self.popups.push(Popup::Resolve(ResolveForm::new(self.resolve_warnings())));
                            return;
                        }
                        Choice::Status => EventKind::StatusSet { status: Status::ALL[i] },
                    };
                    self.append_or_notice(kind, now);
                    false
                }
            },
            Popup::Followup(form) => match form.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(kind) => {
                    self.append_or_notice(kind, now);
                    if !matches!(self.notice, Some((_, true))) {
                        self.notice = Some(("follow-up added".into(), false));
                    }
                    false
                }
            },
            Popup::Resolve(form) => match form.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(text) => match self.resolve(text, now) {
                    Ok(()) => false,
                    Err(e) => {
                        form.error = Some(format!("not saved: {e}"));
                        true
                    }
                },
            },
            Popup::Confirm(q, c) => match c.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(()) => {
                    match q {
                        Question::Ack => self.append_or_notice(EventKind::Acknowledged {}, now),
                        Question::QuitWithDraft => {
                            self.composer.reset();
                            self.finish();
                        }
                        Question::RunCommand(req) => self.start_run((**req).clone()),
                        Question::Page(page) => self.send_page((**page).clone()),
                    }
                    false
                }
            },
            Popup::View(v) => v.handle(k) == Outcome::Consumed,
            Popup::Kill(g) => match g.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(SendSignal { signal, reason, typed_name, evidence, set: Some(set) }) => {
                    if let Some(id) = self.incident() {
                        self.queue.push(Command::KillSet {
                            incident: id,
                            set,
                            ctx: g.ctx.clone(),
                            signal,
                            reason,
                            evidence_dir: evidence.then(|| self.store.evidence_dir(id)),
                            at: now,
                            grace: g.grace,
                        });
                    } else {
                        g.set_finished(Err("no incident is open: nothing to record the kill on".into()));
                    }
                    let _ = typed_name;
                    true
                }
                Outcome::Done(SendSignal { signal, reason, typed_name, evidence, set: None }) => {
                    let evidence_dir = match (evidence, self.incident()) {
                        (true, Some(id)) => Some(self.store.evidence_dir(id)),
                        _ => None,
                    };
                    let req = KillRequest {
                        target: g.target.clone(),
                        signal,
                        reason,
                        typed_name,
                        evidence_dir,
                        at: now,
                    };
                    self.queue.push(Command::Kill { req, ctx: g.ctx.clone() });
                    true
                }
            },
            Popup::Capture(g) => match g.handle(k, now) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(ask) => {
                    match self.incident() {
                        None => {
                            g.finished(Err("no incident is open: nothing to record the evidence on".into()))
                        }
                        Some(id) => {
                            let dir = self.store.evidence_dir(id);
                            let capture =
                                crate::procs::CaptureOptions { profile: ask.profile, ..Default::default() };
                            let cmd = match ask.restart {
                                None => Command::Capture {
                                    incident: id,
                                    pid: g.target.pid,
                                    start_time: g.target.start_time,
                                    dir,
                                    opts: capture,
                                    at: now,
                                },
                                Some((via, reason, typed_name)) => Command::Restart {
                                    incident: id,
                                    req: Box::new(crate::procs::restart::RestartRequest {
                                        target: g.target.clone(),
                                        via,
                                        reason,
                                        typed_name,
                                        evidence_dir: Some(dir),
                                        capture,
                                        timeout: crate::procs::restart::DEFAULT_RESTART_TIMEOUT,
                                        at: now,
                                    }),
                                    ctx: g.ctx.clone(),
                                },
                            };
                            self.queue.push(cmd);
                        }
                    }
                    true
                }
            },
            Popup::Evidence(b) => match b.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(super::popups::evidence::BrowseAsk::Verify(dir)) => {
                    self.queue.push(Command::VerifyEvidence { dir, recorded: b.recorded() });
                    true
                }
            },
            Popup::Run(out) => match out.handle(k) {
                Outcome::Consumed => true,
                Outcome::Done(super::popups::run::CancelRun) => {
                    if self.running.is_some() {
                        self.queue.push(Command::CancelRun);
                    }
                    true
                }
                Outcome::Cancelled => false,
            },
            Popup::Record(chooser, kinds) => match chooser.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(i) => {
                    if let Some(kind) = kinds.get(i) {
                        self.append_or_notice(kind.clone(), now);
                    }
                    false
                }
            },
            Popup::Contact(form) => match form.handle(k) {
                Outcome::Consumed => true,
                Outcome::Cancelled => false,
                Outcome::Done(kind) => {
                    self.append_or_notice(kind, now);
                    false
                }
            },
        };
        if keep {
            self.popups.push(popup);
        }
    }

    fn start(&mut self, choice: StartChoice, now: DateTime<Utc>) -> Result<(), String> {
        let choice_kind = choice.clone();
        let id = match choice {
            StartChoice::New { title, severity } => {
                let ev = Event::open(now, self.me.clone(), title, severity, None);
                self.write(&ev)?;
                self.store.set_current(ev.id).map_err(|e| e.to_string())?;
                ev.id
            }
            StartChoice::Pick(id) => {
                // Picked: the incident at hand for the CLI too, until another is opened or picked.
                self.store.set_current(id).map_err(|e| e.to_string())?;
                id
            }
        };
        if let StartChoice::New { .. } = &choice_kind {
            // The host changes of the last hours go on the new incident's timeline.
            match self.store.copy_recent_changes(id, now, self.change_window) {
                Ok(copied) if !copied.is_empty() => {
                    self.notice =
                        Some((format!("{} recent host change(s) on the timeline", copied.len()), false));
                }
                Ok(_) => {}
                Err(e) => self.notice = Some((format!("recent changes not copied: {e}"), true)),
            }
        }
        self.load(id)
    }

    fn is_open(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.state.is_open())
    }

    /// What to warn about before resolving (the same as `warroom resolve`).
    fn resolve_warnings(&self) -> Vec<String> {
        match &self.data {
            Some(d) => crate::incident::export::resolve_warnings(&d.state, &d.events, &self.export_texts),
            None => Vec::new(),
        }
    }

    /// Records the resolution, then the status, on the incident on screen.
    fn resolve(&mut self, text: String, now: DateTime<Utc>) -> Result<(), String> {
        let id = self.incident().ok_or("no incident is open")?;
        self.write(&Event::new(id, now, self.me.clone(), EventKind::ResolutionRecorded { text }))?;
        let at = now + chrono::Duration::milliseconds(1);
        self.write(&Event::new(id, at, self.me.clone(), EventKind::StatusSet { status: Status::Resolved }))?;
        self.load(id)?;
        self.notice = Some(("resolved; E exports the postmortem".into(), false));
        Ok(())
    }

    /// `E`: writes the postmortem (Markdown) and the event log (JSON) into the data dir's
    /// `exports/` and says where.
    fn export(&mut self, now: DateTime<Utc>) {
        let Some(d) = &self.data else { return };
        let dir = crate::report::export_dir(self.store.dir());
        let tz = Some(self.local);
        self.notice = Some(
            match crate::report::write_exports(&dir, &d.state, &d.events, &self.export_texts, tz, now) {
                Ok((md, json)) => (format!("exported {} and {}", md.display(), json.display()), false),
                Err(e) => (format!("export failed in {}: {e}", dir.display()), true),
            },
        );
    }

    fn composer_key(&mut self, k: KeyEvent, now: DateTime<Utc>) {
        if let Outcome::Done(kind) = self.composer.handle(k) {
            // The composer closes only once the note is durably in the store.
            let update = match &kind {
                EventKind::StatusUpdatePosted { audience, text } => Some((*audience, text.clone())),
                _ => None,
            };
            let mut now = now;
            if let (Some(_), Some(status)) = (&update, self.composer.status)
                && self.data.as_ref().is_some_and(|d| d.state.status != status)
            {
                // The status the update announces, just before it.
                if let Err(e) = self.append(EventKind::StatusSet { status }, now) {
                    self.composer.error = Some(format!("not saved: {e}"));
                    return;
                }
                now += chrono::Duration::milliseconds(1);
            }
            match self.append(kind, now) {
                Ok(()) => {
                    if let Some((audience, text)) = update {
                        self.composer.reset();
                        self.discard_kept_draft();
                        self.post_status_update(audience, text);
                        return;
                    }
                    let was_amend = self.composer.amend.is_some();
                    self.composer.reset();
                    if !was_amend {
                        self.discard_kept_draft();
                    }
                    self.notice = Some(("saved".into(), false));
                }
                Err(e) => self.composer.error = Some(format!("not saved: {e}")),
            }
        }
    }

    fn discard_kept_draft(&mut self) {
        if let Some(id) = self.incident()
            && let Ok(Some(_)) = self.store.meta(&draft_key(id))
        {
            let _ = self.store.set_meta(&draft_key(id), "");
        }
    }

    /// Appends an event to the incident on screen and reloads it.
    pub fn append(&mut self, kind: EventKind, now: DateTime<Utc>) -> Result<(), String> {
        let id = self.incident().ok_or("no incident is open")?;
        let ev = Event::new(id, now, self.me.clone(), kind);
        self.write(&ev)?;
        self.load(id)?;
        // An ack, a resolve or a `change` note also goes to PagerDuty, in the background.
        if let Some(data) = &self.data
            && let Some(cmd) = self.pager.forward(&ev, &data.events)
        {
            self.queue.push(cmd);
        }
        Ok(())
    }

    /// The one place the App writes an event: the store, then the count the sync task follows.
    fn write(&mut self, ev: &Event) -> Result<(), String> {
        self.store.append(ev).map_err(|e| e.to_string())?;
        self.appended += 1;
        self.queue.push(Command::Nudge);
        Ok(())
    }

    fn append_or_notice(&mut self, kind: EventKind, now: DateTime<Utc>) {
        if let Err(e) = self.append(kind, now) {
            self.notice = Some((format!("not saved: {e}"), true));
        }
    }

    fn apply(&mut self, effect: Effect, now: DateTime<Utc>) {
        match effect {
            Effect::Ignored | Effect::Redraw => {}
            Effect::Show(view) => self.popups.push(Popup::View(view)),
            Effect::Amend { target, text } => {
                if !self.composer.open_amend(target, &text) {
                    self.notice = Some(("finish or clear the open draft first (n)".into(), true));
                }
            }
            Effect::Append(kind) => self.append_or_notice(kind, now),
            Effect::AppendAll(kinds) => {
                // A millisecond apart so they sort in the order given.
                for (i, kind) in kinds.into_iter().enumerate() {
                    if let Err(e) = self.append(kind, now + chrono::Duration::milliseconds(i as i64)) {
                        self.notice = Some((format!("not saved: {e}"), true));
                        break;
                    }
                }
            }
            Effect::Run(req) => {
                if self.running.is_some() {
                    self.notice =
                        Some(("a command is already running: wait for it or cancel it".into(), true));
                    return;
                }
                let message = format!(
                    "Run this command on this host ({} -c, timeout {} s)?\n\n{}",
                    if req.command.lang.eq_ignore_ascii_case("bash") { "bash" } else { "sh" },
                    self.command_timeout.as_secs(),
                    crate::incident::sanitize::visible(req.command.script.trim_end())
                );
                self.popups.push(Popup::Confirm(
                    Question::RunCommand(Box::new(req)),
                    Confirm::new("Run command", message),
                ));
            }
            Effect::Notice(s) => self.notice = Some((s, true)),
            Effect::Clipboard(text) => {
                self.queue.push(Command::Copy(super::clipboard::osc52(&text)));
                self.notice = Some((format!("copied {}", one_line(&text)), false));
            }
            Effect::AppendTeam(kind) => {
                let ev = Event::new(crate::incident::event::TEAM_STREAM, now, self.me.clone(), kind);
                let result = self.write(&ev).and_then(|()| match self.incident() {
                    Some(id) => self.load(id),
                    None => Ok(()),
                });
                let what = match &ev.kind {
                    EventKind::OncallTaken { rotation, until, .. } => {
                        format!(
                            "you have the {rotation} pager until {} (recorded)",
                            until.format("%a %H:%M UTC")
                        )
                    }
                    _ => "recorded".into(),
                };
                self.notice = Some(match result {
                    Ok(()) => (what, false),
                    Err(e) => (format!("not saved: {e}"), true),
                });
            }
            Effect::Page(page, warning) => match self.pager.ask(*page, warning) {
                Ok(popup) => self.popups.push(popup),
                Err(e) => self.notice = Some((e, true)),
            },
            Effect::Popup(popup) => self.popups.push(*popup),
        }
    }

    fn send_page(&mut self, page: crate::notify::Page) {
        self.notice = Some(match self.pager.send(page) {
            Ok((msg, cmd)) => {
                self.queue.push(cmd);
                (msg, false)
            }
            Err(e) => (e, true),
        });
    }

    /// Records a finished page on the incident it was sent for, delivered or not.
    fn page_done(&mut self, done: PageDone, now: DateTime<Utc>) {
        self.pager.in_flight = self.pager.in_flight.saturating_sub(1);
        self.dirty = true;
        let ev = Event::new(done.incident, now, self.me.clone(), done.kind.clone());
        if let Err(e) = self.write(&ev) {
            self.notice = Some((format!("page result not saved: {e}"), true));
            return;
        }
        self.notice = Some(done.notice());
        if self.incident() == Some(done.incident)
            && let Err(e) = self.load(done.incident)
        {
            self.notice = Some((e, true));
        }
    }

    fn global(&mut self, cmd: GlobalCmd, now: DateTime<Utc>) {
        let n = self.panes.len();
        match cmd {
            GlobalCmd::Quit => {
                if self.composer.has_draft() {
                    self.popups.push(Popup::Confirm(
                        Question::QuitWithDraft,
                        Confirm::new("Quit", "Discard the unsaved note and quit?".into()),
                    ));
                } else {
                    self.finish();
                }
            }
            GlobalCmd::Help => self.popups.push(Popup::View(self.help())),
            GlobalCmd::NextPane => self.focus = (self.focus + 1) % n.max(1),
            GlobalCmd::PrevPane => self.focus = (self.focus + n.max(1) - 1) % n.max(1),
            GlobalCmd::Focus(i) if i < n => self.focus = i,
            GlobalCmd::Focus(_) => {}
            GlobalCmd::Zoom => self.zoomed = !self.zoomed,
            GlobalCmd::Reconnect => match self.sync {
                Some(_) => {
                    self.queue.push(Command::Reconnect);
                    self.notice = Some(("reconnecting to the server now".into(), false));
                }
                None => self.notice = Some(("no server configured: nothing to reconnect".into(), true)),
            },
            _ if self.data.is_none() => {}
            GlobalCmd::Compose => {
                if !self.composer.open_new() {
                    self.notice = Some(("finish or clear the status update draft first (u)".into(), true));
                }
            }
            GlobalCmd::StatusUpdate => {
                if !self.composer.open_status() {
                    self.notice = Some(("finish or clear the open note draft first (n)".into(), true));
                } else if let Some(d) = &self.data {
                    // What the templates' placeholders become, as the incident stands now.
                    let st = &d.state;
                    self.composer.vars = vec![
                        ("title", one_line(&st.title).into_owned()),
                        ("severity", st.severity.to_string()),
                        ("status", st.status.to_string()),
                    ];
                }
            }
            GlobalCmd::Export => self.export(now),
            GlobalCmd::Evidence => {
                if let Some(d) = &self.data {
                    let root = self.store.evidence_dir(d.state.id);
                    let browser = super::popups::EvidenceBrowser::open(root, &d.events);
                    self.popups.push(Popup::Evidence(Box::new(browser)));
                }
            }
            GlobalCmd::Followup => self.popups.push(Popup::Followup(FollowupForm::default())),
            GlobalCmd::Severity => {
                let cur = self.data.as_ref().map(|d| d.state.severity).unwrap_or(Severity::ALL[1]);
                self.popups.push(Popup::severity(cur));
            }
            GlobalCmd::Status => {
                let cur = self.data.as_ref().map(|d| d.state.status).unwrap_or_default();
                self.popups.push(Popup::status(cur));
            }
            GlobalCmd::Ack => {
                let message = match self.data.as_ref().and_then(|d| d.state.acknowledged.as_ref()) {
                    Some(a) => format!(
                        "Already acknowledged by {} at {}. Acknowledge again?",
                        one_line(&a.by),
                        a.at.format("%H:%M UTC")
                    ),
                    None => "Acknowledge this incident? This stops the escalation ladder.".into(),
                };
                self.popups.push(Popup::Confirm(Question::Ack, Confirm::new("Acknowledge", message)));
            }
        }
    }

    /// Starts the confirmed command; its output and end come back as `Background` actions.
    fn start_run(&mut self, req: RunRequest) {
        let Some(incident) = self.incident() else { return };
        let spec = RunSpec::new(req.runbook, req.item, &req.command, self.command_timeout);
        self.running = Some(Running { spec: spec.clone(), incident });
        self.popups.push(Popup::Run(RunOutput::new(spec.command_text())));
        self.queue.push(Command::Run(spec));
    }

    /// Posts a recorded status update to the webhook on a task, when one is configured.
    fn post_status_update(&mut self, audience: crate::incident::Audience, text: String) {
        let (Some(notifier), Some(d)) = (self.notifier.clone(), self.data.as_ref()) else {
            self.notice = Some(("status update recorded".into(), false));
            return;
        };
        let st = &d.state;
        let update = StatusUpdate {
            incident: st.id,
            title: st.title.clone(),
            severity: st.severity,
            status: st.status,
            audience,
            text,
            by: self.me.clone(),
        };
        if notifier.status_providers(audience).is_empty() {
            self.notice = Some(("status update recorded".into(), false));
            return;
        }
        let page_incident = st.external_ids.get(crate::notify::Provider::Statuspage.as_str()).cloned();
        let Some((update_id, update_at)) = d
            .events
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::StatusUpdatePosted { .. }))
            .map(|e| (e.id, e.at))
        else {
            return;
        };
        self.notice = Some(("status update recorded; posting…".into(), false));
        self.queue.push(Command::PostStatus {
            notifier,
            update,
            update_id,
            update_at,
            statuspage_incident: page_incident,
        });
    }

    fn background(&mut self, b: Background, now: DateTime<Utc>) {
        match b {
            Background::RunOutput(chunk) => {
                if let Some(Popup::Run(out)) =
                    self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Run(_)))
                {
                    out.push(&chunk);
                }
            }
            Background::RunNotStarted(e) => {
                self.running = None;
                if let Some(i) = self.popups.iter().rposition(|p| matches!(p, Popup::Run(_))) {
                    self.popups.remove(i);
                }
                self.notice = Some((format!("not run: {e}"), true));
            }
            Background::RunFinished(result) => {
                let Some(running) = self.running.take() else { return };
                let how = match result {
                    Ok(result) => {
                        let recorded = crate::runner::record(
                            &self.store,
                            running.incident,
                            &self.me,
                            &running.spec,
                            &result,
                        );
                        if self.incident() == Some(running.incident)
                            && let Err(e) = self.load(running.incident)
                        {
                            self.notice = Some((e, true));
                        }
                        match recorded {
                            Ok(r) => match (&r.evidence, &r.evidence_error) {
                                (Some(ev), _) => {
                                    format!("{} · output kept in {}", result.outcome, ev.path.display())
                                }
                                (None, Some(e)) => format!("{} · {e}", result.outcome),
                                (None, None) => result.outcome.to_string(),
                            },
                            Err(e) => format!("{} · NOT RECORDED: {e}", result.outcome),
                        }
                    }
                    Err(e) => format!("the command could not be supervised: {e}"),
                };
                match self.popups.iter_mut().rev().find(|p| matches!(p, Popup::Run(_))) {
                    Some(Popup::Run(out)) => out.finish(how),
                    _ => self.notice = Some((how, false)),
                }
            }
            Background::StatusPosted { incident, update_at, events, failed, message } => {
                let is_error = failed;
                // Recorded on the incident the update was for, after the update, whatever is on
                // screen now.
                let mut t = now.max(update_at);
                let evs: Vec<Event> = events
                    .into_iter()
                    .map(|k| {
                        t += chrono::Duration::milliseconds(1);
                        Event::new(incident, t, self.me.clone(), k)
                    })
                    .collect();
                if let Err(e) = self.store.append_all(&evs, None) {
                    self.notice = Some((format!("not saved: {e}"), true));
                    return;
                }
                self.appended += evs.len() as u64;
                if self.incident() == Some(incident)
                    && let Err(e) = self.load(incident)
                {
                    self.notice = Some((e, true));
                }
                if !matches!(&self.notice, Some((m, true)) if m.starts_with("not saved")) {
                    self.notice = Some((message, is_error));
                }
            }
        }
    }

    fn mouse(&mut self, m: MouseEvent) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let layout = screen(area, self.panes.len(), self.focus, self.zoomed);
        let pos = Position::new(m.column, m.row);
        let under = layout.panes.iter().find(|(_, r)| r.contains(pos)).map(|(i, _)| *i);
        let cmd = match m.kind {
            MouseEventKind::ScrollUp => PaneCmd::Up,
            MouseEventKind::ScrollDown => PaneCmd::Down,
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(i) = under
                    && self.popups.is_empty()
                    && !self.composer.open
                {
                    self.focus = i;
                    self.dirty = true;
                }
                return;
            }
            _ => return,
        };
        if !self.popups.is_empty() || self.composer.open {
            return;
        }
        let target = under.unwrap_or(self.focus);
        if let (Some(data), Some(pane)) = (&self.data, self.panes.get_mut(target)) {
            let ctx = PaneCtx { data, me: &self.me };
            for _ in 0..3 {
                pane.command(cmd, &ctx);
            }
            self.dirty = true;
        }
    }

    /// Every key of every scope, from the same tables that handle them.
    pub fn help(&self) -> TextView {
        let t = &self.theme;
        let mut lines = Vec::new();
        let mut section = |name: String, rows: Vec<(String, &'static str)>| {
            lines.push(Line::from(Span::styled(name, t.title)));
            for (k, d) in rows {
                lines.push(Line::from(vec![Span::styled(format!("  {k:<14}"), t.key), Span::raw(d)]));
            }
            lines.push(Line::from(""));
        };
        // The focused pane's keys first: that is what `?` is pressed for.
        let n = self.panes.len();
        if let Some(p) = self.panes.get(self.focus) {
            section(format!("{} (this pane)", p.name()), keymap::help_rows(p.all_keymaps()));
        }
        let global = GLOBAL.iter().filter(|b| !matches!(b.cmd, GlobalCmd::Focus(i) if i >= n));
        section("Everywhere".into(), global.map(|b| (b.keys_label(), b.desc)).collect());
        for (_, p) in self.panes.iter().enumerate().filter(|(i, _)| *i != self.focus) {
            section(p.name().into(), keymap::help_rows(p.all_keymaps()));
        }
        for (name, rows) in super::popups::help_sections() {
            section(name.into(), rows);
        }
        TextView::new("Keys", lines)
    }
}
