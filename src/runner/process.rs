//! The process side of a run: spawn in a new process group with one pipe for stdout and stderr,
//! read it, watch the clock and the cancel flag, and kill the whole group when either fires.

use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::output::{Capture, LineSplitter};
use super::{Outcome, RunError, RunResult, RunSpec};

/// After SIGTERM to the group, how long the shell gets before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// After the shell exits, how long its output pipe may stay open before leftovers are killed.
const DRAIN_GRACE: Duration = Duration::from_secs(1);
/// A partial line (a prompt, a progress bar) is shown live after this much quiet.
const IDLE_FLUSH: Duration = Duration::from_millis(200);

pub(super) fn spawn(
    spec: &RunSpec,
    live: mpsc::Sender<String>,
    cancel: watch::Receiver<bool>,
) -> Result<(u32, JoinHandle<RunResult>), RunError> {
    let (pipe_w, pipe_r) = pipe::pipe().map_err(RunError::Pipe)?;
    let write_end: OwnedFd = pipe_w.into_blocking_fd().map_err(RunError::Pipe)?;
    let write_end2 = write_end.try_clone().map_err(RunError::Pipe)?;
    let shell = spec.shell();
    let mut cmd = tokio::process::Command::new(shell);
    cmd.arg("-c")
        .arg(&spec.script)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::from(write_end2))
        // A group of its own: the timeout and cancel kill every process of a pipeline, and a
        // Ctrl-C meant for warroom does not reach the command behind its back.
        .process_group(0)
        .kill_on_drop(true);
    let spawned = cmd.spawn();
    // The Command still owns copies of the pipe's write end: drop it so EOF can arrive.
    drop(cmd);
    let child = spawned.map_err(|source| RunError::Spawn { shell, source })?;
    let started_at = Utc::now();
    let started = Instant::now();
    let pid =
        child.id().ok_or_else(|| RunError::Supervisor("the shell exited before its pid was read".into()))?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let reader = tokio::spawn(read_output(pipe_r, live, stop_rx, spec.max_output));
    let timeout = spec.timeout;
    let handle = tokio::spawn(async move {
        let (outcome, reading) = supervise(child, pid, timeout, cancel, reader, stop_tx).await;
        let finished_at = Utc::now();
        RunResult {
            outcome,
            started_at,
            finished_at,
            duration: started.elapsed(),
            capture: reading.capture,
            live_skipped: reading.live_skipped,
            pipe_left_open: !reading.eof,
        }
    });
    Ok((pid, handle))
}

/// What the reader saw.
struct Reading {
    capture: Capture,
    live_skipped: u64,
    eof: bool,
}

/// Sends live chunks without ever waiting for the consumer: a slow or absent reader must not
/// stall the command or the capture. Skipped chunks are announced once there is room again.
struct Live {
    tx: mpsc::Sender<String>,
    skipped_pending: u64,
    skipped_total: u64,
}

impl Live {
    fn send(&mut self, line: String) {
        if self.skipped_pending > 0 {
            let note = format!(
                "[warroom: {} chunks of output not shown live; the evidence file has them]\n",
                self.skipped_pending
            );
            if self.tx.try_send(note).is_err() {
                self.skip();
                return;
            }
            self.skipped_pending = 0;
        }
        if self.tx.try_send(line).is_err() {
            self.skip();
        }
    }

    fn skip(&mut self) {
        if !self.tx.is_closed() {
            self.skipped_pending += 1;
            self.skipped_total += 1;
        }
    }
}

async fn read_output(
    mut rx: pipe::Receiver,
    tx: mpsc::Sender<String>,
    mut stop: oneshot::Receiver<()>,
    cap: usize,
) -> Reading {
    let mut capture = Capture::new(cap);
    let mut split = LineSplitter::default();
    let mut live = Live { tx, skipped_pending: 0, skipped_total: 0 };
    let mut buf = vec![0u8; 16 * 1024];
    let mut eof = false;
    loop {
        tokio::select! {
            r = tokio::time::timeout(IDLE_FLUSH, rx.read(&mut buf)) => match r {
                Err(_quiet) => {
                    if let Some(p) = split.take_partial() {
                        live.send(p);
                    }
                }
                Ok(Ok(0)) => {
                    eof = true;
                    break;
                }
                Ok(Ok(n)) => {
                    capture.push(&buf[..n]);
                    // One message per read, not per line: a fast producer fills the queue 100x slower.
                    let lines = split.push(&buf[..n]);
                    if !lines.is_empty() {
                        live.send(lines.concat());
                    }
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => {
                    capture.push(format!("\n[warroom: reading the output failed: {e}]\n").as_bytes());
                    break;
                }
            },
            _ = &mut stop => break,
        }
    }
    if let Some(rest) = split.finish() {
        live.send(rest);
    }
    if live.skipped_pending > 0 {
        let n = live.skipped_pending;
        live.skipped_pending = 0;
        let _ = live.tx.try_send(format!(
            "[warroom: {n} chunks of output not shown live; the evidence file has them]\n"
        ));
    }
    Reading { capture, live_skipped: live.skipped_total, eof }
}

/// Resolves when the run is cancelled, or when every `Canceller` is gone (the `Run` was dropped).
async fn cancelled(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Signals the whole group. ESRCH (nobody left) is the normal end and is ignored.
fn signal_group(pgid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, sig);
    }
}

async fn supervise(
    mut child: Child,
    pgid: u32,
    timeout: Duration,
    mut cancel: watch::Receiver<bool>,
    mut reader: JoinHandle<Reading>,
    stop: oneshot::Sender<()>,
) -> (Outcome, Reading) {
    let waited = tokio::select! {
        status = child.wait() => Ok(status),
        _ = tokio::time::sleep(timeout) => Err(Outcome::TimedOut(timeout)),
        _ = cancelled(&mut cancel) => Err(Outcome::Cancelled),
    };
    let outcome = match waited {
        Ok(status) => from_status(status),
        Err(killed) => {
            signal_group(pgid, Signal::TERM);
            // A member stopped by job control (it touched the terminal from its background
            // group) only acts on SIGTERM once continued.
            signal_group(pgid, Signal::CONT);
            if tokio::time::timeout(TERM_GRACE, child.wait()).await.is_err() {
                signal_group(pgid, Signal::KILL);
                // SIGKILL cannot be refused; a process stuck in the kernel is reaped later by tokio.
                let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
            }
            killed
        }
    };
    // The shell is gone; what is left of its group (background jobs) is part of the command and
    // would otherwise outlive the run holding the output pipe open. The group id cannot have
    // been reused while any member lives, and with none left the signal finds nobody.
    let mut reading = tokio::time::timeout(DRAIN_GRACE, &mut reader).await;
    if reading.is_err() {
        signal_group(pgid, Signal::KILL);
        reading = tokio::time::timeout(DRAIN_GRACE, &mut reader).await;
    }
    let reading = match reading {
        Ok(r) => r,
        Err(_) => {
            // A process that left the group (setsid, a daemon) still holds the pipe: stop reading.
            let _ = stop.send(());
            reader.await
        }
    };
    let reading = reading.unwrap_or_else(|e| Reading {
        capture: {
            let mut c = Capture::new(0);
            c.push(format!("[warroom: the output reader failed: {e}]").as_bytes());
            c
        },
        live_skipped: 0,
        eof: false,
    });
    (outcome, reading)
}

fn from_status(status: std::io::Result<ExitStatus>) -> Outcome {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(sig)) => Outcome::Signalled(sig),
            (None, None) => Outcome::Exited(-1),
        },
        Err(_) => Outcome::Exited(-1),
    }
}
