//! Running an outside diagnostic tool (eu-stack, gdb, py-spy, jcmd, gcore, journalctl) for the
//! evidence capture: found on PATH or not at all, stdin closed, in its own process group, killed
//! whole at its timeout, its output kept up to a size cap.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// The executable `name` on PATH, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    which_in(name, &std::env::var_os("PATH").unwrap_or_default())
}

fn which_in(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// What a tool run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRun {
    /// stdout, then stderr under a `--- stderr ---` line when it said anything; at most the cap.
    pub output: Vec<u8>,
    /// Bytes the tool wrote beyond the cap (dropped).
    pub dropped: u64,
    /// The exit status; None when killed at the timeout.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub took: Duration,
}

impl ToolRun {
    /// One line for the manifest when the run did not end cleanly.
    pub fn problem(&self, timeout: Duration) -> Option<String> {
        if self.timed_out {
            Some(format!("killed at its {} s timeout; output so far kept", timeout.as_secs()))
        } else {
            match self.exit_code {
                Some(0) => None,
                Some(c) => Some(format!("exited with status {c}")),
                None => Some("killed by a signal".into()),
            }
        }
    }
}

/// Runs `program args` with `timeout` and an output cap of `cap` bytes (stdout and stderr
/// together). Err only when it could not be started.
pub fn run_tool(program: &Path, args: &[&str], timeout: Duration, cap: usize) -> std::io::Result<ToolRun> {
    use std::os::unix::process::CommandExt;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C")
        .process_group(0)
        .spawn()?;
    let pgid = Pid::from_raw(child.id() as i32);
    let reader = |mut r: Box<dyn Read + Send>, cap: usize| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut dropped = 0u64;
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = cap.saturating_sub(kept.len()).min(n);
                        kept.extend_from_slice(&chunk[..room]);
                        dropped += (n - room) as u64;
                    }
                }
            }
            (kept, dropped)
        })
    };
    let out = child.stdout.take().map(|s| reader(Box::new(s), cap));
    let err = child.stderr.take().map(|s| reader(Box::new(s), cap.min(64 * 1024)));
    let deadline = started + timeout;
    let (exit_code, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status.code(), false);
        }
        if Instant::now() >= deadline {
            if let Some(p) = pgid {
                let _ = kill_process_group(p, Signal::KILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A grandchild still holding the pipe was killed with the group; the readers end.
    let (mut output, mut dropped) = out.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some((e, edrop)) = err.and_then(|h| h.join().ok())
        && !e.is_empty()
    {
        let room = cap.saturating_sub(output.len());
        if room > 0 {
            output.extend_from_slice(&b"\n--- stderr ---\n"[..room.min(16)]);
            let room = cap.saturating_sub(output.len());
            output.extend_from_slice(&e[..room.min(e.len())]);
            dropped += (e.len() - room.min(e.len())) as u64;
        } else {
            dropped += e.len() as u64;
        }
        dropped += edrop;
    }
    Ok(ToolRun { output, dropped, exit_code, timed_out, took: started.elapsed() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(which("sh").is_some());
        assert!(which("warroom-no-such-tool-xyz").is_none());
        assert!(which_in("sh", std::ffi::OsStr::new("")).is_none());
    }

    #[test]
    fn output_exit_code_and_cap() {
        let sh = which("sh").unwrap();
        let r = run_tool(&sh, &["-c", "echo hello; echo oops >&2; exit 3"], Duration::from_secs(10), 1024)
            .unwrap();
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(String::from_utf8_lossy(&r.output), "hello\n\n--- stderr ---\noops\n");
        assert_eq!(r.problem(Duration::from_secs(10)).unwrap(), "exited with status 3");
        let r = run_tool(&sh, &["-c", "head -c 5000 /dev/zero"], Duration::from_secs(10), 100).unwrap();
        assert_eq!((r.output.len(), r.dropped), (100, 4900));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let sh = which("sh").unwrap();
        // The background sleep holds stdout open: only killing the group ends the read.
        let r = run_tool(&sh, &["-c", "echo started; sleep 30 & sleep 30"], Duration::from_millis(300), 1024)
            .unwrap();
        assert!(r.timed_out);
        assert_eq!(r.exit_code, None);
        assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
        assert_eq!(String::from_utf8_lossy(&r.output), "started\n");
        assert!(r.problem(Duration::from_secs(1)).unwrap().contains("timeout"));
    }
}
