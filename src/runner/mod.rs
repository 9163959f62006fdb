//! Running a runbook item's command: `sh -c` (or `bash -c`) in its own process group, stdin
//! null, stdout and stderr merged into one pipe in arrival order, streamed live line by line,
//! killed as a whole group at its timeout or on cancel, its output kept (capped) as evidence.
//!
//! The API is async (tokio) so the TUI can drive it from its event loop:
//!
//! ```text
//! let mut run = runner::start(RunSpec::new(book_id, item_id, &command, timeout))?;
//! let cancel = run.canceller();               // Esc in the popup: cancel.cancel()
//! while let Some(update) = run.next().await { // cancel-safe: fine inside select!
//!     match update {
//!         RunUpdate::Output(chunk) => popup.push_lines(&chunk), // strip_controls per line
//!         RunUpdate::Finished(result) => runner::record(&store, incident, &author, run.spec(), &result?)?,
//!     }
//! }
//! ```
//!
//! Dropping a `Run` (and every `Canceller`) before it finishes cancels it: a command is never left
//! running unsupervised.

mod evidence;
pub mod output;
mod process;

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use evidence::{Evidence, RecordError, Recorded, events, record, write_evidence};
pub use output::Capture;

/// Default time a command may run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default bytes of output kept for the evidence file (the rest is counted, not kept).
pub const DEFAULT_MAX_OUTPUT: usize = 4 * 1024 * 1024;
/// Default number of chunks (one per read, at most ~20 KiB each) buffered for a slow live
/// reader before chunks are skipped live.
pub const DEFAULT_LIVE_CAPACITY: usize = 256;

/// What to run and under which limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// Runbook id (recorded on the events).
    pub runbook: String,
    /// Item id (recorded on the events).
    pub item: String,
    /// The fence's language: `bash` runs under bash, anything else under sh.
    pub lang: String,
    /// The script exactly as written in the runbook.
    pub script: String,
    pub timeout: Duration,
    /// Bytes of output kept for the evidence file.
    pub max_output: usize,
    /// Chunks buffered for the live reader; beyond, chunks are skipped live (never from evidence).
    pub live_capacity: usize,
}

impl RunSpec {
    /// A spec for a runbook item's command with the default limits.
    pub fn new(
        runbook: impl Into<String>,
        item: impl Into<String>,
        command: &crate::runbook::Command,
        timeout: Duration,
    ) -> RunSpec {
        RunSpec {
            runbook: runbook.into(),
            item: item.into(),
            lang: command.lang.clone(),
            script: command.script.clone(),
            timeout,
            max_output: DEFAULT_MAX_OUTPUT,
            live_capacity: DEFAULT_LIVE_CAPACITY,
        }
    }

    /// The interpreter: `bash` for ```` ```bash ```` blocks, else `sh`.
    pub fn shell(&self) -> &'static str {
        if self.lang.eq_ignore_ascii_case("bash") { "bash" } else { "sh" }
    }

    /// The command as recorded on the timeline: the script without its final newline.
    pub fn command_text(&self) -> &str {
        self.script.trim_end_matches(['\n', '\r'])
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The shell exited with this status.
    Exited(i32),
    /// The shell was killed by this signal (not by warroom).
    Signalled(i32),
    /// warroom killed the process group at the timeout.
    TimedOut(Duration),
    /// warroom killed the process group because the run was cancelled.
    Cancelled,
}

impl Outcome {
    /// The exit status, when the command exited by itself.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Outcome::Exited(c) => Some(*c),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exited(c) => write!(f, "exited with status {c}"),
            Outcome::Signalled(s) => write!(f, "killed by signal {s} ({})", signal_name(*s)),
            Outcome::TimedOut(d) => write!(f, "timed out after {} s", d.as_secs_f64()),
            Outcome::Cancelled => f.write_str("cancelled"),
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "signal",
    }
}

/// Everything known about a finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub outcome: Outcome,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration: Duration,
    /// The output (stdout and stderr merged in arrival order), capped at `RunSpec::max_output`.
    pub capture: Capture,
    /// Chunks the live reader did not take in time (still in the capture).
    pub live_skipped: u64,
    /// Set when a process that left the command's group still held the output pipe open and
    /// warroom stopped reading: later output is not in the capture.
    pub pipe_left_open: bool,
}

impl RunResult {
    /// Total bytes the command wrote.
    pub fn bytes(&self) -> u64 {
        self.capture.total
    }
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot create the output pipe: {0}")]
    Pipe(std::io::Error),
    #[error("cannot start `{shell}`: {source}")]
    Spawn { shell: &'static str, source: std::io::Error },
    #[error("the command supervisor failed: {0}")]
    Supervisor(String),
}

/// A live update from a run.
#[derive(Debug)]
pub enum RunUpdate {
    /// A chunk of output: whole lines each ending in `\n`, or a partial line (a prompt, a
    /// progress bar after 200 ms of quiet, a line over 4 KiB). Lossy UTF-8, never a split
    /// character; raw: split on `\n` and strip control characters before drawing.
    Output(String),
    /// The run ended; always the last update.
    Finished(Result<RunResult, RunError>),
}

/// Cancels a run: kills its whole process group. Cheap to clone; cancelling twice is harmless.
#[derive(Debug, Clone)]
pub struct Canceller(std::sync::Arc<watch::Sender<bool>>);

impl Canceller {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

/// A started command.
pub struct Run {
    spec: RunSpec,
    pid: u32,
    output: mpsc::Receiver<String>,
    result: Option<JoinHandle<RunResult>>,
    cancel: Canceller,
}

impl Run {
    /// What is running.
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// The shell's pid, which is also the process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// A handle that cancels this run.
    pub fn canceller(&self) -> Canceller {
        self.cancel.clone()
    }

    /// Cancels the run (the final update still arrives, with `Outcome::Cancelled`).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The next update: output chunks, then exactly one `Finished`, then None. Cancel-safe.
    pub async fn next(&mut self) -> Option<RunUpdate> {
        if let Some(line) = self.output.recv().await {
            return Some(RunUpdate::Output(line));
        }
        let handle = self.result.as_mut()?;
        let joined = handle.await;
        self.result = None;
        Some(RunUpdate::Finished(joined.map_err(|e| RunError::Supervisor(e.to_string()))))
    }

    /// Runs to the end, handing each output chunk to `on_output`.
    pub async fn finish(mut self, mut on_output: impl FnMut(&str)) -> Result<RunResult, RunError> {
        while let Some(update) = self.next().await {
            match update {
                RunUpdate::Output(line) => on_output(&line),
                RunUpdate::Finished(r) => return r,
            }
        }
        Err(RunError::Supervisor("the run ended without a result".into()))
    }
}

/// Starts a command. Must be called inside a tokio runtime (it spawns the supervising tasks).
pub fn start(spec: RunSpec) -> Result<Run, RunError> {
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (out_tx, out_rx) = mpsc::channel(spec.live_capacity.max(1));
    let (pid, handle) = process::spawn(&spec, out_tx, cancel_rx)?;
    Ok(Run {
        spec,
        pid,
        output: out_rx,
        result: Some(handle),
        cancel: Canceller(std::sync::Arc::new(cancel_tx)),
    })
}
