//! Signalling one process by identity (pid + start time), never by a pid that may have been
//! recycled: a pidfd is opened first, then the start time is re-read and compared, and only then
//! is the signal sent through the pidfd. Without pidfd support (ENOSYS, kernels before 5.3) the
//! start time is re-checked right before kill(2), and the outcome says so.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};
use serde::{Deserialize, Serialize};

use super::parse::parse_stat;
use super::procfs::{ProcFs, is_gone};

/// How long to watch for an exit after TERM before offering KILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The signals the kill popup offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sig {
    Term,
    Int,
    Hup,
    /// Also asks a JVM for a thread dump.
    Quit,
    Usr1,
    /// Also asks a Node started with --report-on-signal for a diagnostic report.
    Usr2,
    Kill,
    Stop,
    Cont,
}

impl Sig {
    pub const ALL: [Sig; 9] =
        [Sig::Term, Sig::Int, Sig::Hup, Sig::Quit, Sig::Usr1, Sig::Usr2, Sig::Kill, Sig::Stop, Sig::Cont];

    /// `SIGTERM`, ...
    pub fn name(self) -> &'static str {
        match self {
            Sig::Term => "SIGTERM",
            Sig::Int => "SIGINT",
            Sig::Hup => "SIGHUP",
            Sig::Quit => "SIGQUIT",
            Sig::Usr1 => "SIGUSR1",
            Sig::Usr2 => "SIGUSR2",
            Sig::Kill => "SIGKILL",
            Sig::Stop => "SIGSTOP",
            Sig::Cont => "SIGCONT",
        }
    }

    /// `TERM`, ...: the form the `process_signalled` event stores (the export prefixes `SIG`).
    pub fn short(self) -> &'static str {
        &self.name()[3..]
    }

    /// A few words for the popup.
    pub fn hint(self) -> &'static str {
        match self {
            Sig::Term => "ask to exit (default)",
            Sig::Int => "interrupt, like Ctrl-C",
            Sig::Hup => "hang up / reload config",
            Sig::Quit => "quit with core; JVM thread dump",
            Sig::Usr1 => "user-defined (often reopen logs)",
            Sig::Usr2 => "user-defined; Node diagnostic report",
            Sig::Kill => "force: cannot be caught",
            Sig::Stop => "freeze (resume with CONT)",
            Sig::Cont => "resume a stopped process",
        }
    }

    fn to_rustix(self) -> Signal {
        match self {
            Sig::Term => Signal::TERM,
            Sig::Int => Signal::INT,
            Sig::Hup => Signal::HUP,
            Sig::Quit => Signal::QUIT,
            Sig::Usr1 => Signal::USR1,
            Sig::Usr2 => Signal::USR2,
            Sig::Kill => Signal::KILL,
            Sig::Stop => Signal::STOP,
            Sig::Cont => Signal::CONT,
        }
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sig {
    type Err = String;
    /// `TERM`, `SIGTERM`, `term` or the number (15).
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase();
        let bare = up.strip_prefix("SIG").unwrap_or(&up);
        Sig::ALL
            .into_iter()
            .find(|sig| sig.short() == bare || sig.to_rustix().as_raw().to_string() == bare)
            .ok_or_else(|| {
                format!(
                    "unknown signal `{s}` (expected one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL, STOP, CONT)"
                )
            })
    }
}

/// How a sent signal was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Through a pidfd opened before the start-time check: cannot hit another process.
    Pidfd,
    /// pidfd unavailable (ENOSYS): kill(2) right after re-checking the start time. A tiny race
    /// window remains; the outcome text says so.
    KillAfterRecheck,
}

/// What happened when asked to signal (pid, start time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SignalOutcome {
    Sent {
        via: Delivery,
    },
    /// The process exited before the signal.
    Gone,
    /// The pid now belongs to another process: refused.
    Recycled {
        expected: u64,
        found: u64,
    },
    PermissionDenied {
        message: String,
    },
    /// Already exited; only its parent reaping it will remove it.
    Zombie,
    /// Anything else the kernel said, with the errno text.
    Failed {
        message: String,
    },
}

impl SignalOutcome {
    pub fn was_sent(&self) -> bool {
        matches!(self, SignalOutcome::Sent { .. })
    }

    /// One line for the timeline's `outcome` field and the pane.
    pub fn describe(&self) -> String {
        match self {
            SignalOutcome::Sent { via: Delivery::Pidfd } => "sent (via pidfd, identity checked)".into(),
            SignalOutcome::Sent { via: Delivery::KillAfterRecheck } => {
                "sent via kill(2) after re-checking the start time (pidfd unavailable on this kernel)".into()
            }
            SignalOutcome::Gone => "not sent: the process had already exited".into(),
            SignalOutcome::Recycled { expected, found } => format!(
                "refused: the pid now belongs to another process (start time {found}, expected {expected})"
            ),
            SignalOutcome::PermissionDenied { message } => format!("not sent: {message}"),
            SignalOutcome::Zombie => {
                "not sent: the process is a zombie (already exited; its parent has not reaped it)".into()
            }
            SignalOutcome::Failed { message } => format!("not sent: {message}"),
        }
    }
}

impl fmt::Display for SignalOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Where a (pid, start time) stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Running,
    Zombie,
    Gone,
    /// The pid is held by a different process.
    Recycled {
        found: u64,
    },
    /// /proc/PID/stat exists but cannot be read or parsed.
    Unknown,
}

/// Checks (pid, start time) against /proc now.
pub fn liveness(pid: i32, start_time: u64) -> Liveness {
    match ProcFs::open(Path::new("/proc")) {
        Ok(fs) => liveness_in(&fs, pid, start_time, &mut Vec::with_capacity(512)),
        Err(_) => Liveness::Unknown,
    }
}

fn liveness_in(fs: &ProcFs, pid: i32, start_time: u64, buf: &mut Vec<u8>) -> Liveness {
    match fs.read_pid(pid, "stat", buf) {
        Err(e) if is_gone(&e) => return Liveness::Gone,
        Err(_) => return Liveness::Unknown,
        Ok(()) => {}
    }
    match parse_stat(buf) {
        Ok(st) if st.start_time != start_time => Liveness::Recycled { found: st.start_time },
        Ok(st) if matches!(st.state, b'Z' | b'X' | b'x') => Liveness::Zombie,
        Ok(_) => Liveness::Running,
        Err(_) => Liveness::Unknown,
    }
}

/// Sends `sig` to the process identified by (pid, start time). Never signals another process.
pub fn send_signal(pid: i32, start_time: u64, sig: Sig) -> SignalOutcome {
    send_signal_with(pid, start_time, sig, |p| rustix::process::pidfd_open(p, PidfdFlags::empty()))
}

/// `send_signal` with the pidfd opener injected, so the ENOSYS fallback path is testable.
fn send_signal_with(
    pid: i32,
    start_time: u64,
    sig: Sig,
    open_pidfd: impl FnOnce(Pid) -> Result<OwnedFd, Errno>,
) -> SignalOutcome {
    // Pid::from_raw asserts on negative values, so check the sign first.
    let Some(rpid) = (pid > 0).then(|| Pid::from_raw(pid)).flatten() else {
        return SignalOutcome::Failed { message: format!("pid {pid} is not a single process") };
    };
    let fs = match ProcFs::open(Path::new("/proc")) {
        Ok(fs) => fs,
        Err(e) => return SignalOutcome::Failed { message: format!("/proc: {e}") },
    };
    let mut buf = Vec::with_capacity(512);
    // Open the pidfd FIRST: from here on it names one process, whatever happens to the pid.
    let pidfd = match open_pidfd(rpid) {
        Ok(fd) => Some(fd),
        Err(Errno::SRCH) => return SignalOutcome::Gone,
        Err(Errno::NOSYS) => None,
        Err(Errno::INVAL) => {
            return SignalOutcome::Failed {
                message: format!("pid {pid} is not a process id (a thread id?)"),
            };
        }
        Err(e) => return SignalOutcome::Failed { message: format!("pidfd_open({pid}): {e}") },
    };
    match liveness_in(&fs, pid, start_time, &mut buf) {
        Liveness::Running => {}
        Liveness::Gone => return SignalOutcome::Gone,
        Liveness::Zombie => return SignalOutcome::Zombie,
        Liveness::Recycled { found } => return SignalOutcome::Recycled { expected: start_time, found },
        Liveness::Unknown => {
            return SignalOutcome::Failed {
                message: format!("cannot read /proc/{pid}/stat to check the start time (hidepid?): refusing"),
            };
        }
    }
    let (result, via) = match &pidfd {
        Some(fd) => (rustix::process::pidfd_send_signal(fd, sig.to_rustix()), Delivery::Pidfd),
        None => (rustix::process::kill_process(rpid, sig.to_rustix()), Delivery::KillAfterRecheck),
    };
    outcome_of(result, via, pid, sig)
}

/// Maps the kernel's answer to a signal into the outcome the pane shows.
fn outcome_of(result: Result<(), Errno>, via: Delivery, pid: i32, sig: Sig) -> SignalOutcome {
    match result {
        Ok(()) => SignalOutcome::Sent { via },
        Err(Errno::SRCH) => SignalOutcome::Gone,
        Err(Errno::PERM) => SignalOutcome::PermissionDenied {
            message: format!(
                "permission denied: run warroom as the process owner or with root (sudo) to signal pid {pid}"
            ),
        },
        Err(e) => SignalOutcome::Failed { message: format!("{} to pid {pid}: {e}", sig.name()) },
    }
}

/// Watches (pid, start time) until it is no longer running or `grace` passes. True when it
/// exited (gone, zombie, or the pid was reused). Polls /proc every 50 ms; blocking.
pub fn wait_for_exit(pid: i32, start_time: u64, grace: Duration) -> bool {
    let Ok(fs) = ProcFs::open(Path::new("/proc")) else { return false };
    let mut buf = Vec::with_capacity(512);
    let deadline = Instant::now() + grace;
    loop {
        match liveness_in(&fs, pid, start_time, &mut buf) {
            Liveness::Gone | Liveness::Zombie | Liveness::Recycled { .. } => return true,
            Liveness::Running | Liveness::Unknown => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// The start time of a live pid, read now (for tests and for callers that hold only a pid).
pub fn current_start_time(pid: i32) -> io::Result<u64> {
    let fs = ProcFs::open(Path::new("/proc"))?;
    let mut buf = Vec::with_capacity(512);
    fs.read_pid(pid, "stat", &mut buf)?;
    parse_stat(&buf).map(|s| s.start_time).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};

    fn sleeper() -> (Child, i32, u64) {
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id() as i32;
        let start = current_start_time(pid).unwrap();
        (child, pid, start)
    }

    #[test]
    fn signal_names_parse() {
        assert_eq!("term".parse::<Sig>().unwrap(), Sig::Term);
        assert_eq!("SIGKILL".parse::<Sig>().unwrap(), Sig::Kill);
        assert_eq!("9".parse::<Sig>().unwrap(), Sig::Kill);
        assert_eq!(" usr1 ".parse::<Sig>().unwrap(), Sig::Usr1);
        assert!("SIGSEGV".parse::<Sig>().unwrap_err().contains("expected one of"));
        assert_eq!(serde_json::to_string(&Sig::Quit).unwrap(), "\"QUIT\"");
    }

    #[test]
    fn term_through_pidfd_and_wait() {
        let (mut child, pid, start) = sleeper();
        assert_eq!(send_signal(pid, start, Sig::Term), SignalOutcome::Sent { via: Delivery::Pidfd });
        // Our own child becomes a zombie until reaped: that counts as exited.
        assert!(wait_for_exit(pid, start, Duration::from_secs(5)));
        assert_eq!(liveness(pid, start), Liveness::Zombie);
        assert_eq!(send_signal(pid, start, Sig::Kill), SignalOutcome::Zombie);
        child.wait().unwrap();
        assert_eq!(send_signal(pid, start, Sig::Kill), SignalOutcome::Gone);
        assert_eq!(liveness(pid, start), Liveness::Gone);
    }

    #[test]
    fn stale_start_time_is_refused_and_process_survives() {
        let (mut child, pid, start) = sleeper();
        let out = send_signal(pid, start - 1, Sig::Kill);
        assert_eq!(out, SignalOutcome::Recycled { expected: start - 1, found: start });
        assert!(out.describe().contains("another process"));
        assert!(!wait_for_exit(pid, start, Duration::from_millis(200)), "must still run");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn stop_and_cont() {
        let (mut child, pid, start) = sleeper();
        assert!(send_signal(pid, start, Sig::Stop).was_sent());
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = Vec::new();
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        loop {
            fs.read_pid(pid, "stat", &mut buf).unwrap();
            if parse_stat(&buf).unwrap().state == b'T' {
                break;
            }
            assert!(Instant::now() < deadline, "never stopped");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(send_signal(pid, start, Sig::Cont).was_sent());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn without_pidfd_kill_after_recheck() {
        let (mut child, pid, start) = sleeper();
        let out = send_signal_with(pid, start, Sig::Term, |_| Err(Errno::NOSYS));
        assert_eq!(out, SignalOutcome::Sent { via: Delivery::KillAfterRecheck });
        assert!(out.describe().contains("pidfd unavailable"));
        assert!(wait_for_exit(pid, start, Duration::from_secs(5)));
        child.wait().unwrap();
        // And the fallback also refuses a stale identity.
        let (mut other, pid2, start2) = sleeper();
        let out = send_signal_with(pid2, start2 + 7, Sig::Kill, |_| Err(Errno::NOSYS));
        assert!(matches!(out, SignalOutcome::Recycled { .. }), "{out:?}");
        other.kill().unwrap();
        other.wait().unwrap();
    }

    #[test]
    fn kernel_answers_map_to_outcomes() {
        let eperm = outcome_of(Err(Errno::PERM), Delivery::Pidfd, 42, Sig::Term);
        assert!(
            matches!(&eperm, SignalOutcome::PermissionDenied { message } if message.contains("root (sudo)"))
        );
        assert!(eperm.describe().starts_with("not sent: permission denied"), "{eperm}");
        assert_eq!(outcome_of(Err(Errno::SRCH), Delivery::Pidfd, 42, Sig::Term), SignalOutcome::Gone);
        let other = outcome_of(Err(Errno::INVAL), Delivery::Pidfd, 42, Sig::Kill);
        assert!(
            matches!(&other, SignalOutcome::Failed { message } if message.starts_with("SIGKILL to pid 42"))
        );
        assert!(outcome_of(Ok(()), Delivery::KillAfterRecheck, 42, Sig::Term).was_sent());
    }

    #[test]
    fn bad_pids() {
        assert!(matches!(send_signal(0, 1, Sig::Term), SignalOutcome::Failed { .. }));
        assert!(matches!(send_signal(-1, 1, Sig::Kill), SignalOutcome::Failed { .. }));
        assert_eq!(send_signal(i32::MAX, 1, Sig::Term), SignalOutcome::Gone);
    }
}
