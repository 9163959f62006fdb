//! Runs the App's queued `Command`s (see `queue.rs`) and turns their results into `Action`s: the
//! blocking kill on tokio's blocking pool, runbook commands, status posts and pages on tasks, the
//! OSC 52 copy to the terminal, and the sync task that follows the incident on screen.
//! The event loop calls `run` after every update and selects on `next`.

use std::io::Write;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::app::{Action, App, Background};
use super::queue::Command;
use crate::incident::IncidentId;
use crate::notify::paged_kind;
use crate::runner::{Canceller, RunUpdate};
use crate::store::Store;
use crate::sync::{SyncConfig, SyncHandle};

/// The executor of the App's commands; owns everything that lives outside the App's state.
pub struct Effects {
    /// Where results come back; cloned into every task (and the signal watcher).
    tx: mpsc::UnboundedSender<Action>,
    rx: mpsc::UnboundedReceiver<Action>,
    /// Decides whether and where to sync (`[server]`, `WARROOM_SERVER`, the server `join` remembered).
    server: crate::sync::ServerSettings,
    /// The incident the sync task follows (None before one is open).
    pub following: Option<IncidentId>,
    pub handle: Option<SyncHandle>,
    /// Nudges passed on to the sync task: one per event the App wrote.
    pub nudged: u64,
    /// Stops the runbook command in flight.
    cancel: Option<Canceller>,
    /// Guarded actions whose result is not back yet (a kill, a capture, a restart, a kill set
    /// until its watch ends): their results are records, so quitting waits for them.
    pub guarded_in_flight: usize,
    /// The terminal, for OSC 52 (it draws nothing, so it goes straight out between frames).
    out: Box<dyn Write + Send>,
}

impl Effects {
    pub fn new(server: crate::sync::ServerSettings, out: Box<dyn Write + Send>) -> Effects {
        let (tx, rx) = mpsc::unbounded_channel();
        Effects {
            tx,
            rx,
            server,
            following: None,
            handle: None,
            nudged: 0,
            cancel: None,
            guarded_in_flight: 0,
            out,
        }
    }

    /// A way in for other sources of actions (signals).
    pub fn sender(&self) -> mpsc::UnboundedSender<Action> {
        self.tx.clone()
    }

    /// Runs everything the App queued, oldest first. Answers known at once are applied at once,
    /// so the next frame already shows them; the rest arrive through `next`.
    pub fn run(&mut self, app: &mut App) {
        loop {
            let cmds = app.queue.take();
            if cmds.is_empty() {
                return;
            }
            for cmd in cmds {
                if let Some(action) = self.execute(cmd, &app.store) {
                    app.update(action, Utc::now());
                }
            }
        }
    }

    /// The next result of work in flight, or of the sync task. Pending while there is none.
    pub async fn next(&mut self) -> Action {
        let (status, arrivals) = match &mut self.handle {
            Some(h) => (Some(&mut h.status), Some(&mut h.arrivals)),
            None => (None, None),
        };
        tokio::select! {
            Some(action) = self.rx.recv() => {
                if ends_guarded(&action) {
                    self.guarded_in_flight = self.guarded_in_flight.saturating_sub(1);
                }
                action
            }
            st = changed(status) => Action::Sync(st),
            _ = changed(arrivals) => Action::Arrived,
        }
    }

    fn execute(&mut self, cmd: Command, store: &Store) -> Option<Action> {
        let tx = self.tx.clone();
        if matches!(
            cmd,
            Command::Kill { .. }
                | Command::Capture { .. }
                | Command::Restart { .. }
                | Command::KillSet { .. }
        ) {
            self.guarded_in_flight += 1;
        }
        match cmd {
            Command::Kill { req, ctx } => {
                tokio::task::spawn_blocking(move || {
                    let done = OrElse::new(&tx, Action::KillDone(Err(PANICKED.into())));
                    let result = crate::procs::guarded_kill(&req, &ctx).map_err(|e| e.to_string());
                    done.send(Action::KillDone(result));
                });
                None
            }
            Command::Capture { incident, pid, start_time, dir, opts, at } => {
                tokio::task::spawn_blocking(move || {
                    let done =
                        OrElse::new(&tx, Action::CaptureDone { incident, result: Err(PANICKED.into()) });
                    let result = crate::procs::capture_with(&dir, pid, start_time, at, &opts)
                        .map_err(|e| e.to_string());
                    done.send(Action::CaptureDone { incident, result });
                });
                None
            }
            Command::Restart { incident, req, ctx } => {
                tokio::task::spawn_blocking(move || {
                    let done = OrElse::new(
                        &tx,
                        Action::RestartDone { incident, result: Box::new(Err(PANICKED.into())) },
                    );
                    let result =
                        crate::procs::restart::guarded_restart(&req, &ctx).map_err(|e| e.to_string());
                    done.send(Action::RestartDone { incident, result: Box::new(result) });
                });
                None
            }
            Command::VerifyEvidence { dir, recorded } => {
                tokio::task::spawn_blocking(move || {
                    let files = crate::procs::browse::verify_capture(&dir, &recorded);
                    let _ = tx.send(Action::EvidenceChecked { dir, files });
                });
                None
            }
            Command::KillSet { incident, set, ctx, signal, reason, evidence_dir, at, grace } => {
                tokio::task::spawn_blocking(move || {
                    use crate::procs::killset::{signal_set, watch_outcomes};
                    let sent_done =
                        OrElse::new(&tx, Action::KillSetSent { incident, result: Err(PANICKED.into()) });
                    match signal_set(&set, &ctx, signal, &reason, evidence_dir.as_deref(), at) {
                        Err(e) => sent_done.send(Action::KillSetSent { incident, result: Err(e) }),
                        Ok(sent) => {
                            let members = sent.sent.clone();
                            // Nothing was signalled: nothing to watch (and no "all 0 exited").
                            let watched = (!members.is_empty()).then(|| {
                                OrElse::new(&tx, Action::KillSetWatched { incident, events: Vec::new() })
                            });
                            sent_done.send(Action::KillSetSent { incident, result: Ok(sent) });
                            if let Some(watched) = watched {
                                let events = watch_outcomes(&members, signal, grace);
                                watched.send(Action::KillSetWatched { incident, events });
                            }
                        }
                    }
                });
                None
            }
            Command::Run(spec) => {
                let mut run = match crate::runner::start(spec) {
                    Ok(r) => r,
                    Err(e) => return Some(Action::Background(Background::RunNotStarted(e.to_string()))),
                };
                self.cancel = Some(run.canceller());
                tokio::spawn(async move {
                    while let Some(update) = run.next().await {
                        let msg = match update {
                            RunUpdate::Output(chunk) => Background::RunOutput(chunk),
                            RunUpdate::Finished(r) => Background::RunFinished(r.map_err(|e| e.to_string())),
                        };
                        if tx.send(Action::Background(msg)).is_err() {
                            break;
                        }
                    }
                });
                None
            }
            Command::CancelRun => {
                if let Some(c) = &self.cancel {
                    c.cancel();
                }
                None
            }
            Command::PostStatus { notifier, update, update_id, update_at, statuspage_incident } => {
                tokio::spawn(async move {
                    let out =
                        notifier.deliver_update(&update, update_id, statuspage_incident.as_deref()).await;
                    let msg = Background::StatusPosted {
                        incident: update.incident,
                        update_at,
                        events: out.events,
                        failed: out.failed,
                        message: out.lines.join("; "),
                    };
                    let _ = tx.send(Action::Background(msg));
                });
                None
            }
            Command::Page { notifier, channel, page } => {
                tokio::spawn(async move {
                    let result = notifier.page(channel, &page).await;
                    let kind = paged_kind(&page, channel, &result);
                    let done =
                        super::paging::PageDone { incident: page.incident, kind, name: page.person.name };
                    // The receiver is gone only when the TUI quit; nothing is left to tell.
                    let _ = tx.send(Action::PageDone(Box::new(done)));
                });
                None
            }
            Command::Forward { notifier, event, events } => {
                tokio::spawn(async move {
                    for kind in forward(&notifier, &event, &events).await {
                        let done =
                            super::paging::PageDone { incident: event.incident, kind, name: String::new() };
                        let _ = tx.send(Action::PageDone(Box::new(done)));
                    }
                });
                None
            }
            Command::Copy(seq) => {
                let out = &mut self.out;
                match out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
                    Ok(()) => None,
                    Err(e) => Some(Action::Notice(format!("copy failed: {e}"))),
                }
            }
            Command::Follow(incident) => {
                if incident == self.following {
                    return None;
                }
                self.following = incident;
                // Dropping the old handle stops its task promptly (it races every request).
                self.handle = None;
                let Some(id) = incident else { return Some(Action::Following(Ok(None))) };
                let started = match SyncConfig::resolve(&self.server, store, id) {
                    Ok(Some(cfg)) => match SyncHandle::spawn(cfg) {
                        Ok(h) => {
                            let st = h.status.borrow().clone();
                            self.handle = Some(h);
                            Ok(Some(st))
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    Ok(None) => Ok(None),
                    Err(e) => Err(e.to_string()),
                };
                Some(Action::Following(started))
            }
            Command::Nudge => {
                self.nudged += 1;
                if let Some(h) = &self.handle {
                    h.nudge();
                }
                None
            }
            Command::Reconnect => {
                if let Some(h) = &self.handle {
                    h.reconnect();
                }
                None
            }
        }
    }
}

/// Resolves with the new value when the watched value changes; never when there is no handle or
/// its task is gone (a closed channel would otherwise wake the loop forever).
async fn changed<T: Clone>(rx: Option<&mut watch::Receiver<T>>) -> T {
    if let Some(rx) = rx
        && rx.changed().await.is_ok()
    {
        return rx.borrow().clone();
    }
    std::future::pending().await
}

/// What a recorded ack, resolve or `change` note sends to PagerDuty, as the events to record.
async fn forward(
    notifier: &crate::notify::Notifier,
    ev: &crate::incident::Event,
    events: &[crate::incident::Event],
) -> Vec<crate::incident::EventKind> {
    use crate::incident::{EventKind, Status};
    use crate::notify::{AlertAction, change_for_note, change_sent_kind, update_all_alerts};
    match &ev.kind {
        EventKind::Acknowledged {} => update_all_alerts(notifier, AlertAction::Acknowledge, events).await,
        EventKind::StatusSet { status: Status::Resolved } => {
            update_all_alerts(notifier, AlertAction::Resolve, events).await
        }
        EventKind::Note { text, .. } => {
            let title = crate::incident::fold(events).ok().map(|s| s.title);
            match notifier.send_change(&change_for_note(ev, text, title.as_deref())).await {
                Some(result) => vec![change_sent_kind(ev.id, &result)],
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// Whether `action` is the last result of a guarded action (see `Effects::guarded_in_flight`).
fn ends_guarded(action: &Action) -> bool {
    match action {
        Action::KillDone(_) | Action::CaptureDone { .. } | Action::RestartDone { .. } => true,
        Action::KillSetWatched { .. } => true,
        // A set that signalled nobody is not watched; one that did ends with its watch.
        Action::KillSetSent { result, .. } => result.as_ref().map_or(true, |sent| sent.sent.is_empty()),
        _ => false,
    }
}

/// What a guarded action's task reports when it ended without its result (it panicked).
const PANICKED: &str =
    "the task doing it failed unexpectedly: what it did is NOT recorded (see the process pane)";

/// The last result of a guarded action's task, sent on drop if the task never sent its own: a
/// panicking task still brings `Effects::guarded_in_flight` back down (quitting would otherwise
/// wait its whole bound for it) and still tells the responder.
struct OrElse {
    tx: mpsc::UnboundedSender<Action>,
    fallback: Option<Action>,
}

impl OrElse {
    fn new(tx: &mpsc::UnboundedSender<Action>, fallback: Action) -> OrElse {
        OrElse { tx: tx.clone(), fallback: Some(fallback) }
    }

    /// Sends the task's own result instead of the fallback.
    fn send(mut self, action: Action) {
        self.fallback = None;
        let _ = self.tx.send(action);
    }
}

impl Drop for OrElse {
    fn drop(&mut self) {
        if let Some(action) = self.fallback.take() {
            let _ = self.tx.send(action);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guarded task that panics still reports (and so still ends its count in flight); one
    /// that finishes reports its own result, once.
    #[test]
    fn a_guarded_task_that_panics_still_reports() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t = tx.clone();
        let panicked = std::thread::spawn(move || {
            let _done = OrElse::new(&t, Action::KillDone(Err(PANICKED.into())));
            panic!("a bug in the task");
        })
        .join();
        assert!(panicked.is_err());
        let got = rx.try_recv().unwrap();
        assert!(matches!(&got, Action::KillDone(Err(e)) if e == PANICKED));
        assert!(ends_guarded(&got));

        OrElse::new(&tx, Action::KillDone(Err(PANICKED.into()))).send(Action::Terminate);
        assert!(matches!(rx.try_recv(), Ok(Action::Terminate)));
        assert!(rx.try_recv().is_err(), "the fallback is not sent after the result");
    }
}
