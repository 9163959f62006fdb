//! The full-screen TUI: terminal setup and restoration, and the one event loop that turns input,
//! ticks, store changes, signals and the results of queued effects into `Action`s for
//! `App::update`, drawing only when dirty. `update` changes state and queues `Command`s
//! (`queue.rs`); `Effects` (`effects.rs`) runs them and answers with `Action`s.

pub mod app;
pub mod clipboard;
pub mod compact;
pub mod effects;
pub mod fixture;
pub mod keymap;
pub mod layout;
pub mod paging;
pub mod pane;
pub mod panes;
pub mod popups;
pub mod queue;
pub mod render;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod contacts_tests;
#[cfg(test)]
mod evidence_tests;
#[cfg(test)]
mod loop_tests;
#[cfg(test)]
mod postmortem_tests;
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
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyCode, KeyModifiers,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

pub use app::{Action, App, AppOptions, Background, ProcsMsg, ProcsOptions};
pub use effects::Effects;
pub use queue::{Command, Queue};

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

/// What the TUI's loop reads of the config, besides the App's own options; built at the edge.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `[ui] mouse`.
    pub mouse: bool,
    /// `[procs] refresh_ms`: time between process samples.
    pub refresh: std::time::Duration,
    /// Whether and where to sync (`[server]`, `WARROOM_SERVER`, or the server `join` remembered).
    pub server: crate::sync::ServerSettings,
}

/// Runs the TUI until the user quits or a signal ends it. The terminal is restored on every exit
/// path (return, error, panic, SIGTERM, SIGHUP) before this returns.
pub fn run(store: crate::store::Store, opts: AppOptions, run: RunOptions) -> Result<(), TuiError> {
    let RunOptions { mouse, refresh, server } = run;
    let mut opts = opts;
    if let Ok((w, h)) = ratatui::crossterm::terminal::size() {
        opts.size = (w, h);
    }
    let _engine = CockpitEngine::spawn(&store, &opts, &server);
    let mut app = App::new(store, opts).map_err(TuiError::Start)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    install_panic_hook();
    let guard = TerminalGuard::enter(mouse)?;
    let mut terminal = guard.terminal()?;
    let mut effects = Effects::new(server, Box::new(stdout()));
    let stop = Arc::new(AtomicBool::new(false));
    let result = rt.block_on(async {
        watch_signals(effects.sender())?;
        let (input_tx, input) = mpsc::unbounded_channel();
        spawn_input(input_tx, stop.clone());
        let (procs_tx, procs) = mpsc::channel(1);
        spawn_sampler(procs_tx, refresh);
        event_loop(&mut app, &mut terminal, Inputs { terminal: input, procs }, &mut effects).await
    });
    stop.store(true, Ordering::Relaxed);
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
    fn spawn(
        store: &crate::store::Store,
        opts: &AppOptions,
        server: &crate::sync::ServerSettings,
    ) -> Option<Self> {
        let text = std::fs::read_to_string(opts.team.as_ref()?).ok()?;
        let team = crate::team::load(&text, "team").ok()?;
        let server = crate::sync::SyncConfig::resolve(server, store, uuid::Uuid::nil())
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

/// SIGTERM and SIGHUP become `Action::Terminate` (each time: a second one also cuts the wait for
/// pages in flight short).
fn watch_signals(tx: mpsc::UnboundedSender<Action>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            if tx.send(Action::Terminate).is_err() {
                return;
            }
        }
    });
    Ok(())
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

    fn terminal(&self) -> std::io::Result<Terminal<compact::Compact<CrosstermBackend<Stdout>>>> {
        Terminal::new(compact::Compact::new(CrosstermBackend::new(stdout()))?)
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

/// What the loop listens to besides the clock and `Effects`: terminal events (a reader thread,
/// or a test's channel) and process snapshots (the sampler thread, or a test's channel).
pub struct Inputs {
    pub terminal: mpsc::UnboundedReceiver<std::io::Result<TermEvent>>,
    pub procs: mpsc::Receiver<ProcsMsg>,
}

/// The one event loop: runs what `update` queued (`Effects::run`), draws when dirty, then waits
/// for the next input, tick, store poll, snapshot or effect result and hands it to `update`.
/// Generic over the backend so tests drive it headless on a `TestBackend`.
pub async fn event_loop<B: Backend>(
    app: &mut App,
    terminal: &mut Terminal<B>,
    inputs: Inputs,
    fx: &mut Effects,
) -> Result<(), TuiError> {
    let Inputs { terminal: mut input, mut procs } = inputs;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut poll = tokio::time::interval(STORE_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let result = loop {
        fx.run(app);
        if app.dirty {
            let now = Utc::now();
            if let Err(e) = terminal.draw(|f| render::render(app, f, now)) {
                break Err(TuiError::Terminal(std::io::Error::other(e.to_string())));
            }
            app.dirty = false;
        }
        if app.quit {
            break Ok(());
        }
        let action = tokio::select! {
            ev = input.recv() => match ev {
                Some(Ok(TermEvent::Key(k))) => Action::Key(k),
                Some(Ok(TermEvent::Mouse(m))) => Action::Mouse(m),
                Some(Ok(TermEvent::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(_)) => continue,
                // Input is gone (terminal closed): keep the draft and leave.
                Some(Err(_)) | None => Action::Terminate,
            },
            _ = tick.tick() => Action::Tick,
            _ = poll.tick() => Action::PollStore,
            Some(msg) = procs.recv() => Action::Procs(msg),
            action = fx.next() => action,
        };
        app.update(action, Utc::now());
    };
    finish_work(app, fx, terminal, &mut input).await;
    result
}

/// Longest wait on quit for work still in flight: a page's own tries stay well under it, a
/// restart is bounded by its own timeout.
const QUIT_DRAIN: Duration =
    Duration::from_secs(crate::procs::restart::DEFAULT_RESTART_TIMEOUT.as_secs() + 30);

/// A page sent, or a kill, capture or restart started, just before quitting (or a hang-up) is
/// still recorded, done or not: none may vanish silently. Waits for the ones in flight unless a
/// second signal, or Ctrl-C at the terminal, says to leave now.
async fn finish_work<B: Backend>(
    app: &mut App,
    fx: &mut Effects,
    terminal: &mut Terminal<B>,
    input: &mut mpsc::UnboundedReceiver<std::io::Result<TermEvent>>,
) {
    let mut input_open = true;
    let deadline = tokio::time::Instant::now() + QUIT_DRAIN;
    while app.pager.in_flight > 0 || fx.guarded_in_flight > 0 {
        let (pages, actions) = (app.pager.in_flight, fx.guarded_in_flight);
        let what = match (pages, actions) {
            (0, n) => format!("{n} action(s)"),
            (n, 0) => format!("{n} page(s)"),
            (p, a) => format!("{p} page(s) and {a} action(s)"),
        };
        let notice = format!("waiting for {what} to finish before quitting (Ctrl-C: leave now, unrecorded)…");
        app.notice = Some((notice, false));
        // Best effort: after a hang-up there is no terminal to draw on.
        let _ = terminal.draw(|f| render::render(app, f, Utc::now()));
        tokio::select! {
            action = fx.next() => match action {
                Action::Terminate => return,
                action => {
                    app.update(action, Utc::now());
                    // Outbox first: the sync task pushes it if it still can, else the next run does.
                    fx.run(app);
                }
            },
            ev = input.recv(), if input_open => match ev {
                Some(Ok(TermEvent::Key(k)))
                    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    return;
                }
                Some(Ok(_)) => {}
                // The terminal is gone (a hang-up): nobody to ask, keep waiting.
                Some(Err(_)) | None => input_open = false,
            },
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}
