//! The full-screen TUI: terminal setup and restoration, and the one event loop that turns input,
//! ticks, store changes and signals into `Action`s for `App::update`, drawing only when dirty.

pub mod app;
pub mod clipboard;
pub mod composer;
pub mod fixture;
pub mod keymap;
pub mod killguard;
pub mod layout;
pub mod paging;
pub mod pane;
pub mod panes;
pub mod popups;
pub mod render;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod contacts_tests;
#[cfg(test)]
mod procs_tests;
#[cfg(test)]
mod runbook_tests;
#[cfg(test)]
mod tests;

use std::io::{Stdout, stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

pub use app::{Action, App, AppOptions, Background, Job, ProcsMsg, ProcsOptions};

use crate::incident::IncidentId;
use crate::sync::{SyncConfig, SyncHandle};

/// How often the store is checked for other processes' writes.
const STORE_POLL: Duration = Duration::from_millis(300);

/// Why the TUI stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("{0}")]
    Start(String),
}

/// Runs the TUI until the user quits or a signal ends it. The terminal is restored on every exit
/// path (return, error, panic, SIGTERM, SIGHUP) before this returns.
/// `config` decides whether to sync (`[server]`, `WARROOM_SERVER`, or the server `join` remembered).
pub fn run(
    store: crate::store::Store,
    opts: AppOptions,
    mouse: bool,
    config: &crate::config::Config,
) -> Result<(), TuiError> {
    let mut opts = opts;
    if let Ok((w, h)) = ratatui::crossterm::terminal::size() {
        opts.size = (w, h);
    }
    let _engine = CockpitEngine::spawn(&store, &opts, config);
    let app = App::new(store, opts).map_err(TuiError::Start)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    install_panic_hook();
    let guard = TerminalGuard::enter(mouse)?;
    let sync = Syncer::new(config.clone());
    let refresh = config.procs_refresh();
    let result = rt.block_on(event_loop(app, guard.terminal()?, sync, refresh));
    drop(guard);
    result
}

/// The escalation engine a cockpit runs for every open incident in its store (claiming through the
/// server when one is configured), on a thread of its own; stopped on drop. None without a valid
/// team file (the Contacts pane shows why). Its rare errors (the store failing) are kept, not
/// printed: the terminal belongs to the TUI; page failures are on the timeline.
struct CockpitEngine {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CockpitEngine {
    fn spawn(store: &crate::store::Store, opts: &AppOptions, config: &crate::config::Config) -> Option<Self> {
        let text = std::fs::read_to_string(opts.team.as_ref()?).ok()?;
        let team = crate::team::load(&text, "team").ok()?;
        let server = crate::sync::SyncConfig::from_config(config, store, uuid::Uuid::nil())
            .ok()
            .flatten()
            .map(|c| (c.server, c.token));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let engine = crate::escalation::run::LocalOptions {
            data_dir: store.dir().to_path_buf(),
            team,
            notifier: opts.notifier.clone(),
            author: opts.me.clone(),
            server,
            stop: stop.clone(),
            only: None,
        };
        std::thread::Builder::new()
            .name("warroom-escalation".into())
            .spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(crate::escalation::run::run_local(engine, |_| {}));
                }
            })
            .ok()?;
        Some(CockpitEngine { stop })
    }
}

impl Drop for CockpitEngine {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Raw mode and the alternate screen, undone on drop.
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> std::io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(stdout(), EnterAlternateScreen)?;
        if mouse {
            execute!(stdout(), EnableMouseCapture)?;
        }
        Ok(guard)
    }

    fn terminal(&self) -> std::io::Result<Terminal<CrosstermBackend<Stdout>>> {
        Terminal::new(CrosstermBackend::new(stdout()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Best effort: after a hang-up the terminal is gone and every write fails, which is fine.
fn restore_terminal() {
    let _ = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    let _ = disable_raw_mode();
}

/// Wraps the existing panic hook (color-eyre's) so the terminal is usable before it prints.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// Reads terminal input on a plain thread (ratatui does not expose crossterm's async stream) and
/// forwards it; polls with a timeout so it notices when the loop is gone.
fn spawn_input(tx: mpsc::UnboundedSender<std::io::Result<TermEvent>>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => {
                    let ev = event::read();
                    let failed = ev.is_err();
                    if tx.send(ev).is_err() || failed {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
}

/// Samples /proc every `refresh` on its own thread, reusing one `Sampler` (its caches and
/// previous counters) across ticks. The channel holds one snapshot: if the UI falls behind the
/// sampler waits rather than piling up snapshots. The thread ends when the loop drops the receiver.
fn spawn_sampler(tx: mpsc::Sender<ProcsMsg>, refresh: Duration) {
    std::thread::spawn(move || {
        let mut sampler = match crate::procs::Sampler::new() {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send(ProcsMsg::Failed(format!("/proc: {e}")));
                return;
            }
        };
        loop {
            let snap = std::sync::Arc::new(sampler.sample());
            if tx.blocking_send(ProcsMsg::Snapshot(snap)).is_err() {
                return;
            }
            std::thread::sleep(refresh);
        }
    });
}

/// Runs the App's blocking jobs on tokio's blocking pool; each answers with an `Action`.
fn run_jobs(app: &mut App, done: &mpsc::UnboundedSender<Action>) {
    for job in app.jobs.drain(..) {
        let done = done.clone();
        match job {
            Job::Kill { req, ctx } => {
                tokio::task::spawn_blocking(move || {
                    let result = crate::procs::guarded_kill(&req, &ctx).map_err(|e| e.to_string());
                    let _ = done.send(Action::KillDone(result));
                });
            }
        }
    }
}

/// The sync task for the incident on screen: started when a server is configured, restarted when
/// the user switches incident, nudged after every event the App writes.
struct Syncer {
    config: crate::config::Config,
    /// The incident the handle follows (None before one is open).
    following: Option<IncidentId>,
    handle: Option<SyncHandle>,
    /// `App::appended` when the task was last nudged.
    nudged: u64,
}

impl Syncer {
    fn new(config: crate::config::Config) -> Syncer {
        Syncer { config, following: None, handle: None, nudged: 0 }
    }

    /// Runs after every update: follows the App's incident and pushes what it just wrote.
    fn follow(&mut self, app: &mut App) {
        let incident = app.incident();
        if incident != self.following {
            self.following = incident;
            self.nudged = app.appended;
            // Dropping the old handle stops its task promptly (it races every request).
            self.handle = None;
            app.sync = None;
            if let Some(id) = incident {
                match SyncConfig::from_config(&self.config, &app.store, id) {
                    Ok(Some(cfg)) => match SyncHandle::spawn(cfg) {
                        Ok(h) => {
                            app.sync = Some(h.status.borrow().clone());
                            self.handle = Some(h);
                        }
                        Err(e) => app.notice = Some((format!("sync not started: {e}"), true)),
                    },
                    Ok(None) => {}
                    Err(e) => app.notice = Some((format!("sync not started: {e}"), true)),
                }
            }
            app.dirty = true;
        }
        if app.appended != self.nudged {
            self.nudged = app.appended;
            if let Some(h) = &self.handle {
                h.nudge();
            }
        }
    }
}

/// Resolves when the watched value changes; never when there is no handle or its task is gone
/// (a closed channel would otherwise wake the loop forever).
async fn changed<T>(rx: Option<&mut watch::Receiver<T>>) {
    if let Some(rx) = rx
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

async fn event_loop(
    mut app: App,
    mut terminal: Terminal<CrosstermBackend<Stdout>>,
    mut sync: Syncer,
    refresh: Duration,
) -> Result<(), TuiError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let Some(mut background) = app.take_background() else {
        return Err(TuiError::Start("the event loop was started twice".into()));
    };
    let stop = Arc::new(AtomicBool::new(false));
    spawn_input(tx, stop.clone());
    let (procs_tx, mut procs_rx) = mpsc::channel(1);
    spawn_sampler(procs_tx, refresh);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut poll = tokio::time::interval(STORE_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let result = loop {
        if let Some(seq) = app.clipboard.take() {
            // Straight to the terminal, between frames: it draws nothing.
            use std::io::Write;
            let out = terminal.backend_mut();
            if let Err(e) = out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
                app.notice = Some((format!("copy failed: {e}"), true));
            }
        }
        sync.follow(&mut app);
        run_jobs(&mut app, &done_tx);
        if app.dirty {
            let now = Utc::now();
            if let Err(e) = terminal.draw(|f| render::render(&app, f, now)) {
                break Err(TuiError::Terminal(e));
            }
            app.dirty = false;
        }
        if app.quit {
            break Ok(());
        }
        let (status, arrivals) = match &mut sync.handle {
            Some(h) => (Some(&mut h.status), Some(&mut h.arrivals)),
            None => (None, None),
        };
        let action = tokio::select! {
            ev = rx.recv() => match ev {
                Some(Ok(TermEvent::Key(k))) => Action::Key(k),
                Some(Ok(TermEvent::Mouse(m))) => Action::Mouse(m),
                Some(Ok(TermEvent::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(_)) => continue,
                // Input is gone (terminal closed): keep the draft and leave.
                Some(Err(_)) | None => Action::Terminate,
            },
            _ = tick.tick() => Action::Tick,
            _ = poll.tick() => Action::PollStore,
            Some(b) = background.recv() => Action::Background(b),
            _ = term.recv() => Action::Terminate,
            _ = hup.recv() => Action::Terminate,
            Some(done) = app.pager.done.recv() => Action::PageDone(Box::new(done)),
            _ = changed(status) => match &sync.handle {
                Some(h) => Action::Sync(h.status.borrow().clone()),
                None => continue,
            },
            _ = changed(arrivals) => Action::Arrived,
            Some(msg) = procs_rx.recv() => Action::Procs(msg),
            Some(action) = done_rx.recv() => action,
        };
        app.update(action, Utc::now());
    };
    finish_pages(&mut app, &mut sync, &mut terminal, &mut term, &mut hup).await;
    stop.store(true, Ordering::Relaxed);
    result
}

/// Longest wait on quit for pages still in flight (a page's own tries stay well under it).
const PAGE_DRAIN: Duration = Duration::from_secs(60);

/// A page sent just before quitting is still recorded, delivered or not: a page must never vanish
/// silently. Waits for the ones in flight unless a signal says to leave now.
async fn finish_pages(
    app: &mut App,
    sync: &mut Syncer,
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    term: &mut tokio::signal::unix::Signal,
    hup: &mut tokio::signal::unix::Signal,
) {
    let deadline = tokio::time::Instant::now() + PAGE_DRAIN;
    while app.pager.in_flight > 0 {
        let n = app.pager.in_flight;
        app.notice = Some((format!("waiting for {n} page(s) to finish before quitting…"), false));
        // Best effort: after a hang-up there is no terminal to draw on.
        let _ = terminal.draw(|f| render::render(app, f, Utc::now()));
        tokio::select! {
            done = app.pager.done.recv() => match done {
                Some(d) => {
                    app.update(Action::PageDone(Box::new(d)), Utc::now());
                    // Outbox first: the sync task pushes it if it still can, else the next run does.
                    sync.follow(app);
                }
                None => return,
            },
            _ = tokio::time::sleep_until(deadline) => return,
            _ = term.recv() => return,
            _ = hup.recv() => return,
        }
    }
}
