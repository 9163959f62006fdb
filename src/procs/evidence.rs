//! Evidence capture: what a process was and why it behaved so, kept before a kill or restart
//! destroys it (or on its own: `warroom capture`). Written 0600 into a fresh 0700 directory with
//! a manifest listing every step: its file, size and sha256, or why it was skipped.
//!
//! Profiles: `quick` reads /proc only and never pauses the target; `standard` (the default)
//! adds the runtime's own dumps when their tool is installed (native backtraces with eu-stack or
//! gdb, py-spy for Python, jcmd for a JVM, a Node diagnostic report when the process asked for
//! one), which stop the target for as long as the tool runs; `full` adds a core dump (gcore).
//! Go's SIGQUIT goroutine dump ends a Go program, so it is only sent on explicit request.

use std::fmt::Write as _;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::details::{DetailsError, open_fds, parent_chain, read_stat_checked};
use super::parse::{self, Proto};
use super::procfs::{ProcFs, USER_HZ};
use super::redact;
use super::runtime;
use crate::incident::EventKind;

/// Why evidence could not be captured.
#[derive(Debug, Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Process(#[from] DetailsError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("pid {pid} was replaced by another process during capture: evidence discarded")]
    ReplacedDuringCapture { pid: i32, expected: u64, found: u64 },
}

/// One written evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFile {
    /// File name inside the evidence directory.
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub what: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A piece that could not be captured, and why (e.g. py-spy not installed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub name: String,
    pub why: String,
}

/// How one step of a capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Written whole.
    Ok,
    /// Written, but cut at the size cap.
    Truncated,
    /// The tool ran and failed or timed out; what it printed is written.
    Failed,
    /// Nothing written; `reason` says why.
    Skipped,
}

/// One step of a capture, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub name: String,
    pub status: StepStatus,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub took_ms: u64,
    /// True for tools that stop the target while they run (ptrace, a JVM safepoint).
    pub pauses_target: bool,
}

/// The result of one capture. `files` ends with the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub dir: PathBuf,
    pub files: Vec<EvidenceFile>,
    pub skipped: Vec<Skipped>,
    /// Every step in order, written or not.
    pub steps: Vec<Step>,
    /// How long tools that stop the target ran, summed: an upper bound of the pause.
    pub paused: Duration,
    pub took: Duration,
}

impl Evidence {
    /// The manifest (sha256 of every other file).
    pub fn manifest(&self) -> Option<&EvidenceFile> {
        self.files.last().filter(|f| f.name == MANIFEST)
    }

    /// One `evidence_captured` event per file, manifest last, for the caller to append.
    pub fn events(&self) -> Vec<EventKind> {
        self.files
            .iter()
            .map(|f| EventKind::EvidenceCaptured {
                path: f.path.display().to_string(),
                sha256: f.sha256.clone(),
                bytes: f.bytes,
                what: f.what.clone(),
            })
            .collect()
    }

    /// One line: files, skipped steps, how long, how long the target was stopped.
    pub fn summary(&self) -> String {
        let pause = if self.paused.is_zero() {
            "target not paused".to_string()
        } else {
            format!("target paused up to {} ms", self.paused.as_millis())
        };
        format!(
            "{} files, {} steps skipped, {} ms, {pause}",
            self.files.len(),
            self.steps.iter().filter(|s| s.status == StepStatus::Skipped).count(),
            self.took.as_millis()
        )
    }
}

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// How much to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// /proc only: never stops the target.
    Quick,
    /// Quick plus runtime dumps whose tools are installed (they stop the target briefly).
    #[default]
    Standard,
    /// Standard plus a core dump (gcore), refused when the process is larger than the free disk.
    Full,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Standard => "standard",
            Profile::Full => "full",
        }
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quick" => Ok(Profile::Quick),
            "standard" => Ok(Profile::Standard),
            "full" => Ok(Profile::Full),
            _ => Err(format!("unknown profile `{s}` (expected one of: quick, standard, full)")),
        }
    }
}

/// What to capture and the bounds on each outside tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOptions {
    pub profile: Profile,
    /// Send SIGQUIT to a Go program for its goroutine dump. It ENDS the program unless the
    /// program handles SIGQUIT, so it is never part of a profile.
    pub go_sigquit: bool,
    /// Each tool run is killed after this long.
    pub tool_timeout: Duration,
    /// Each tool's output is cut at this many bytes.
    pub tool_cap: usize,
    /// jcmd Thread.print is taken this many times, `jvm_interval` apart.
    pub jvm_samples: u32,
    pub jvm_interval: Duration,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            profile: Profile::Standard,
            go_sigquit: false,
            tool_timeout: Duration::from_secs(20),
            tool_cap: 8 << 20,
            jvm_samples: 3,
            jvm_interval: Duration::from_secs(2),
        }
    }
}

impl CaptureOptions {
    pub fn quick() -> Self {
        CaptureOptions { profile: Profile::Quick, ..CaptureOptions::default() }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    pid: i32,
    start_time: u64,
    /// When the process started, as a date (from the boot time and `start_time`).
    started_at: Option<String>,
    name: &'a str,
    exe: Option<String>,
    profile: &'static str,
    runtimes: Vec<&'static str>,
    captured_at: String,
    took_ms: u64,
    /// Upper bound of how long the target was stopped (the run time of the tools that stop it).
    target_paused_ms: u64,
    steps: &'a [Step],
}

/// Captures with the default options (profile `standard`). See [`capture_with`].
pub fn capture_evidence(
    evidence_root: &Path,
    pid: i32,
    start_time: u64,
    at: DateTime<Utc>,
) -> Result<Evidence, EvidenceError> {
    capture_with(evidence_root, pid, start_time, at, &CaptureOptions::default())
}

/// Captures evidence of (pid, start time) into a new directory under `evidence_root` (created
/// 0700 if missing), named `<pid>-<start time>` (`-2`, `-3`, ... for later captures of the same
/// process). `at` goes into the manifest. Refuses a pid that is gone or belongs to another
/// process, and discards the capture if the pid was reused while it ran.
pub fn capture_with(
    evidence_root: &Path,
    pid: i32,
    start_time: u64,
    at: DateTime<Utc>,
    opts: &CaptureOptions,
) -> Result<Evidence, EvidenceError> {
    let fs = ProcFs::open(Path::new("/proc"))
        .map_err(|source| EvidenceError::Io { path: PathBuf::from("/proc"), source })?;
    let began = Instant::now();
    let mut buf = Vec::with_capacity(8192);
    let (name, ppid, kernel_thread) = {
        let st = read_stat_checked(&fs, pid, start_time, &mut buf)?;
        (String::from_utf8_lossy(st.comm).into_owned(), st.ppid, st.is_kernel_thread())
    };
    let dir = make_dir(evidence_root, &format!("{pid}-{start_time}"))?;
    let mut c = Capture {
        fs: &fs,
        pid,
        name: name.clone(),
        dir: dir.clone(),
        ev: Evidence {
            dir: dir.clone(),
            files: Vec::new(),
            skipped: Vec::new(),
            steps: Vec::new(),
            paused: Duration::ZERO,
            took: Duration::ZERO,
        },
    };
    let result = c.cheap(ppid, &mut buf).and_then(|exe| {
        let rt = runtime::detect(&fs, pid, exe.as_ref().map(|e| e.go).unwrap_or(false));
        if opts.profile != Profile::Quick && !kernel_thread {
            runtime::dumps(&mut c, &rt, opts)?;
        } else if kernel_thread {
            c.skip("runtime dumps", "kernel thread: no user-space stacks to dump".into());
        }
        if opts.go_sigquit {
            runtime::go_sigquit(&mut c, &rt, start_time, opts)?;
        } else if rt.go {
            c.skip(
                "go-goroutines",
                "offered, not sent: Go prints every goroutine on SIGQUIT and then EXITS unless it handles the \
                 signal; ask for it with `warroom capture PID --go-sigquit`"
                    .into(),
            );
        }
        if opts.profile == Profile::Full {
            runtime::core_dump(&mut c, opts)?;
        }
        Ok((exe, rt))
    });
    let (exe, rt) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };

    // The pid must still be the same process (or gone, after a Go SIGQUIT), or what we wrote
    // may describe another one.
    match read_stat_checked(&fs, pid, start_time, &mut buf) {
        Ok(_) | Err(DetailsError::Gone { .. }) => {}
        Err(DetailsError::Recycled { expected, found, .. }) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(EvidenceError::ReplacedDuringCapture { pid, expected, found });
        }
        Err(e) => return Err(e.into()),
    }

    let mut ev = c.ev;
    ev.took = began.elapsed();
    let manifest = Manifest {
        pid,
        start_time,
        started_at: started_at(&fs, start_time).map(|d| d.to_rfc3339()),
        name: &name,
        exe: exe.map(|e| e.path),
        profile: opts.profile.name(),
        runtimes: rt.names(),
        captured_at: at.to_rfc3339(),
        took_ms: ev.took.as_millis() as u64,
        target_paused_ms: ev.paused.as_millis() as u64,
        steps: &ev.steps,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| EvidenceError::Io { path: dir.join(MANIFEST), source: io::Error::other(e) })?;
    let m = write_file(
        &dir,
        MANIFEST,
        format!("evidence manifest of {name} (pid {pid}): every step with its sha256, or why it was skipped"),
        &json,
    )?;
    ev.files.push(m);
    Ok(ev)
}

/// The date a process started: boot time (`btime` in /proc/stat) plus its start time in ticks.
pub fn started_at(fs: &ProcFs, start_time: u64) -> Option<DateTime<Utc>> {
    let mut buf = Vec::new();
    fs.read(b"stat", &mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let btime: i64 = text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    let ms = btime * 1000 + (start_time * 1000 / USER_HZ) as i64;
    DateTime::from_timestamp_millis(ms)
}

/// The executable as hashed.
pub(crate) struct ExeInfo {
    pub path: String,
    pub go: bool,
}

/// The capture in progress: the directory and what has been written so far.
pub(crate) struct Capture<'a> {
    pub fs: &'a ProcFs,
    pub pid: i32,
    pub name: String,
    pub dir: PathBuf,
    pub ev: Evidence,
}

impl Capture<'_> {
    /// Writes `data` as `file`, or records why there is none.
    pub fn file(
        &mut self,
        file: &str,
        what: String,
        data: Result<Vec<u8>, String>,
        took: Duration,
    ) -> Result<(), EvidenceError> {
        match data {
            Ok(bytes) => self.written(file, what, &bytes, StepStatus::Ok, None, took, false),
            Err(reason) => {
                self.skip(file, reason);
                Ok(())
            }
        }
    }

    /// Writes `bytes` as `file` with a step of the given status.
    #[allow(clippy::too_many_arguments)]
    pub fn written(
        &mut self,
        file: &str,
        what: String,
        bytes: &[u8],
        status: StepStatus,
        reason: Option<String>,
        took: Duration,
        pauses_target: bool,
    ) -> Result<(), EvidenceError> {
        let f = write_file(&self.dir, file, what, bytes)?;
        self.add(f, status, reason, took, pauses_target);
        Ok(())
    }

    /// Adds a file a tool wrote into the directory itself (a core dump): mode 0600, hashed.
    pub fn existing(
        &mut self,
        path: &Path,
        what: String,
        took: Duration,
        pauses_target: bool,
    ) -> Result<(), EvidenceError> {
        let err = |source| EvidenceError::Io { path: path.to_path_buf(), source };
        crate::store::restrict(path).map_err(err)?;
        let mut f = std::fs::File::open(path).map_err(err)?;
        let mut hasher = Sha256::new();
        let bytes = io::copy(&mut f, &mut hasher).map_err(err)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let f = EvidenceFile { name, path: path.to_path_buf(), what, bytes, sha256: sha256_hex_of(hasher) };
        self.add(f, StepStatus::Ok, None, took, pauses_target);
        Ok(())
    }

    /// Lists a file now in the directory, with its step.
    fn add(
        &mut self,
        f: EvidenceFile,
        status: StepStatus,
        reason: Option<String>,
        took: Duration,
        pauses_target: bool,
    ) {
        if pauses_target {
            self.ev.paused += took;
        }
        self.ev.steps.push(Step {
            name: f.name.clone(),
            status,
            what: f.what.clone(),
            file: Some(f.name.clone()),
            bytes: Some(f.bytes),
            sha256: Some(f.sha256.clone()),
            reason,
            took_ms: took.as_millis() as u64,
            pauses_target,
        });
        self.ev.files.push(f);
    }

    /// Records a step that wrote nothing, and why.
    pub fn skip(&mut self, name: &str, reason: String) {
        self.ev.skipped.push(Skipped { name: name.to_string(), why: reason.clone() });
        self.ev.steps.push(Step {
            name: name.to_string(),
            status: StepStatus::Skipped,
            what: String::new(),
            file: None,
            bytes: None,
            sha256: None,
            reason: Some(reason),
            took_ms: 0,
            pauses_target: false,
        });
    }

    fn proc_file(
        &mut self,
        file: &str,
        out: &str,
        what: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(), EvidenceError> {
        let t = Instant::now();
        let data = self.fs.read_pid(self.pid, file, buf).map(|()| buf.clone()).map_err(|e| e.to_string());
        let what = format!("/proc/{}/{file} of {}: {what}", self.pid, self.name);
        self.file(out, what, data, t.elapsed())
    }

    /// The /proc steps: nothing here stops the target. Returns what the executable is.
    fn cheap(&mut self, ppid: i32, buf: &mut Vec<u8>) -> Result<Option<ExeInfo>, EvidenceError> {
        let (pid, name) = (self.pid, self.name.clone());
        self.proc_file("status", "status", "identity, memory, signals, capabilities", buf)?;
        self.proc_file("stat", "stat", "state and counters", buf)?;

        let t = Instant::now();
        let cmdline = self.fs.read_pid(pid, "cmdline", buf).map_err(|e| e.to_string()).map(|()| {
            let args = redact::redact_args(&parse::split_nul(buf));
            args.iter().flat_map(|a| [a.as_str(), "\n"]).collect::<String>().into_bytes()
        });
        let what = format!("command line of {name}, one argument per line, secrets redacted");
        self.file("cmdline.txt", what, cmdline, t.elapsed())?;
        let t = Instant::now();
        let environ = self
            .fs
            .read_pid(pid, "environ", buf)
            .map_err(|e| e.to_string())
            .map(|()| redact::redact_environ(buf).into_bytes());
        self.file("environ.txt", format!("environment of {name}, secrets redacted"), environ, t.elapsed())?;
        self.proc_file("limits", "limits", "resource limits", buf)?;
        self.proc_file("cgroup", "cgroup", "control groups", buf)?;

        let t = Instant::now();
        let threads = threads_text(self.fs, pid);
        self.file(
            "threads.txt",
            format!("every thread of {name}: stat, status, wchan, syscall, kernel stack"),
            threads,
            t.elapsed(),
        )?;
        self.proc_file("smaps_rollup", "smaps_rollup", "memory totals (Rss, Pss, Swap)", buf)?;
        self.proc_file("io", "io", "bytes read and written", buf)?;
        self.proc_file("sched", "sched", "scheduler statistics", buf)?;
        self.proc_file("maps", "maps", "memory mappings (libraries loaded)", buf)?;

        let t = Instant::now();
        let fds = open_fds(self.fs, pid);
        let fd_text = fds.as_ref().map(|fds| {
            let mut s = String::new();
            for f in fds {
                let _ = writeln!(s, "{}\t{}", f.fd, f.target);
            }
            s.into_bytes()
        });
        let unreadable = format!("/proc/{pid}/fd is not readable (run as the owner or root)");
        self.file(
            "fds.txt",
            format!("open file descriptors of {name}"),
            fd_text.ok_or_else(|| unreadable.clone()),
            t.elapsed(),
        )?;
        let t = Instant::now();
        let sockets = fds.as_ref().map(|fds| sockets_text(self.fs, pid, fds).into_bytes());
        self.file(
            "sockets.txt",
            format!("TCP/UDP sockets of {name}: state, queues, peers (from /proc/net by inode)"),
            sockets.ok_or(unreadable),
            t.elapsed(),
        )?;

        let cg = self.fs.read_pid(pid, "cgroup", buf).ok().map(|()| parse::parse_cgroup(buf));
        let t = Instant::now();
        let stats = match self.fs.read_pid(pid, "cgroup", buf) {
            Ok(()) => cgroup_stats(Path::new("/sys/fs/cgroup"), &String::from_utf8_lossy(buf)),
            Err(e) => Err(format!("/proc/{pid}/cgroup: {e}")),
        };
        self.file(
            "cgroup-stats.txt",
            format!("cgroup of {name}: memory.events, cpu.stat, pressure"),
            stats,
            t.elapsed(),
        )?;
        self.journal(cg.as_ref().and_then(|c| c.unit.clone()))?;

        let t = Instant::now();
        let exe = exe_info(self.fs, pid);
        let info = exe.as_ref().ok().map(|(i, _)| ExeInfo { path: i.path.clone(), go: i.go });
        self.file(
            "exe.txt",
            format!("executable of {name}: path, size, sha256, Go build info"),
            exe.map(|(_, text)| text.into_bytes()),
            t.elapsed(),
        )?;

        let t = Instant::now();
        let chain = parents_text(self.fs, pid, ppid);
        self.file(
            "parents.txt",
            format!("parent chain of {name} with command lines (secrets redacted)"),
            Ok(chain.into_bytes()),
            t.elapsed(),
        )?;
        let t = Instant::now();
        let table = process_table(self.fs);
        self.file(
            "ps.txt",
            "every process at capture time (command lines redacted)".into(),
            table,
            t.elapsed(),
        )?;
        Ok(info)
    }

    /// The unit's last journal lines, when it has a unit and journalctl exists.
    fn journal(&mut self, unit: Option<String>) -> Result<(), EvidenceError> {
        let Some(unit) = unit else {
            self.skip("journal.txt", "not part of a systemd unit (from its cgroup)".into());
            return Ok(());
        };
        let Some(jc) = super::tools::which("journalctl") else {
            self.skip("journal.txt", format!("journalctl is not installed (unit {unit})"));
            return Ok(());
        };
        let args = ["-u", unit.as_str(), "-n", "300", "--no-pager", "-o", "short-iso"];
        match super::tools::run_tool(&jc, &args, Duration::from_secs(10), 1 << 20) {
            Ok(run) => {
                let text = redact_output(&String::from_utf8_lossy(&run.output));
                let status = if run.problem(Duration::from_secs(10)).is_some() {
                    StepStatus::Failed
                } else {
                    StepStatus::Ok
                };
                let what = format!("last 300 journal lines of {unit} (secrets redacted)");
                self.written(
                    "journal.txt",
                    what,
                    text.as_bytes(),
                    status,
                    run.problem(Duration::from_secs(10)),
                    run.took,
                    false,
                )
            }
            Err(e) => {
                self.skip("journal.txt", format!("journalctl: {e}"));
                Ok(())
            }
        }
    }
}

/// Tool output, journal lines: PEM blocks across lines, then every line as arguments.
pub fn redact_output(text: &str) -> String {
    let whole = redact::redact_text(text);
    whole.split('\n').map(redact::redact_cmdline).collect::<Vec<_>>().join("\n")
}

/// Every thread: its stat line, status, wchan, syscall and kernel stack (when readable).
fn threads_text(fs: &ProcFs, pid: i32) -> Result<Vec<u8>, String> {
    let mut tids = Vec::new();
    fs.list_numeric(format!("{pid}/task").as_bytes(), &mut tids, &mut Vec::new())
        .map_err(|e| e.to_string())?;
    tids.sort_unstable();
    let mut out = String::new();
    let mut buf = Vec::new();
    for tid in tids {
        let _ = writeln!(out, "=== thread {tid} ===");
        for f in ["stat", "status", "wchan", "syscall", "stack"] {
            let rel = format!("task/{tid}/{f}");
            match fs.read_pid(pid, &rel, &mut buf) {
                Ok(()) => {
                    let text = String::from_utf8_lossy(&buf);
                    if text.contains('\n') && text.trim_end().contains('\n') {
                        let _ = writeln!(out, "{f}:\n{}", text.trim_end());
                    } else {
                        let _ = writeln!(out, "{f}: {}", text.trim_end());
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "{f}: (unreadable: {e})");
                }
            }
        }
    }
    Ok(out.into_bytes())
}

fn tcp_state(code: u8, proto: Proto) -> String {
    if !proto.is_tcp() {
        return if code == 0x07 {
            "UNCONN".into()
        } else if code == 0x01 {
            "ESTAB".into()
        } else {
            format!("{code:02X}")
        };
    }
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        _ => return format!("{code:02X}"),
    }
    .into()
}

/// The process's TCP/UDP sockets from its own network namespace, matched by inode, with state,
/// send and receive queues and the peer.
fn sockets_text(fs: &ProcFs, pid: i32, fds: &[super::details::OpenFd]) -> String {
    use std::collections::{HashMap, HashSet};
    let inodes: HashSet<u64> = fds.iter().filter_map(|f| parse::socket_inode(f.target.as_bytes())).collect();
    let mut s = String::from("proto\tstate\tsend-q\trecv-q\tlocal\tpeer\tinode\n");
    let mut buf = Vec::new();
    for (file, proto) in parse::SOCKET_TABLES {
        if inodes.is_empty() || fs.read_pid(pid, file, &mut buf).is_err() {
            continue;
        }
        // Queues are field 5 (`tx:rx`, hex); the parser keeps addresses, state and inode.
        let text = String::from_utf8_lossy(&buf);
        let queues: HashMap<u64, (u64, u64)> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let inode = f.get(9)?.parse().ok()?;
                let (tx, rx) = f.get(4)?.split_once(':')?;
                Some((inode, (u64::from_str_radix(tx, 16).ok()?, u64::from_str_radix(rx, 16).ok()?)))
            })
            .collect();
        for e in parse::parse_net_sockets(&buf, proto).into_iter().filter(|s| inodes.contains(&s.inode)) {
            let (tx, rx) = queues.get(&e.inode).copied().unwrap_or_default();
            let _ = writeln!(
                s,
                "{}\t{}\t{tx}\t{rx}\t{}\t{}\t{}",
                e.proto.as_str(),
                tcp_state(e.state, e.proto),
                std::net::SocketAddr::new(e.local, e.local_port),
                std::net::SocketAddr::new(e.remote, e.remote_port),
                e.inode
            );
        }
    }
    s
}

/// memory.events, cpu.stat and the pressure files of the process's cgroups: the v2 (unified)
/// group, and on a v1 or hybrid host the memory, cpu and pids controllers' groups.
fn cgroup_stats(root: &Path, proc_cgroup: &str) -> Result<Vec<u8>, String> {
    const V2: &[&str] = &[
        "memory.events",
        "memory.current",
        "memory.max",
        "cpu.stat",
        "cpu.max",
        "memory.pressure",
        "cpu.pressure",
        "io.pressure",
        "pids.current",
    ];
    let mut dirs: Vec<(std::path::PathBuf, &[&str])> = Vec::new();
    for line in proc_cgroup.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (f.next(), f.next(), f.next()) else { continue };
        let path = path.trim_start_matches('/');
        if ctrl.is_empty() {
            dirs.push((root.join(path), V2));
            dirs.push((root.join("unified").join(path), V2));
        }
        for c in ctrl.split(',') {
            let files: &[&str] = match c {
                "memory" => &[
                    "memory.usage_in_bytes",
                    "memory.limit_in_bytes",
                    "memory.failcnt",
                    "memory.oom_control",
                    "memory.stat",
                    "memory.pressure_level",
                ],
                "cpu" => &["cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
                "cpuacct" => &["cpuacct.usage"],
                "pids" => &["pids.current", "pids.max"],
                _ => continue,
            };
            dirs.push((root.join(line.split(':').nth(1).unwrap_or(c)).join(path), files));
        }
    }
    let mut out = String::new();
    let mut any = false;
    for (dir, files) in dirs {
        for f in files {
            if let Ok(t) = std::fs::read_to_string(dir.join(f)) {
                any = true;
                let _ = writeln!(out, "== {} ==\n{}", dir.join(f).display(), t.trim_end());
            }
        }
    }
    if any {
        Ok(out.into_bytes())
    } else {
        Err(format!("no cgroup statistics readable under {} for this process", root.display()))
    }
}

/// The marker the Go linker puts before a binary's build info.
const GO_BUILDINFO: &[u8] = b"\xff Go buildinf:";

/// Path, size and sha256 of /proc/PID/exe (hashed through the link, so a deleted or replaced
/// file on disk still hashes what runs), and whether it is a Go binary.
fn exe_info(fs: &ProcFs, pid: i32) -> Result<(ExeInfo, String), String> {
    let path = fs.readlink_pid(pid, "exe").map_err(|e| format!("/proc/{pid}/exe: {e}"))?;
    let path = String::from_utf8_lossy(&path).into_owned();
    let proc_path = fs.path().join(format!("{pid}/exe"));
    let mut f = std::fs::File::open(&proc_path).map_err(|e| format!("{}: {e}", proc_path.display()))?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut size = 0u64;
    let mut go = false;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = io::Read::read(&mut f, &mut chunk).map_err(|e| format!("{}: {e}", proc_path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        size += n as u64;
        if !go {
            tail.extend_from_slice(&chunk[..n]);
            go = tail.windows(GO_BUILDINFO.len()).any(|w| w == GO_BUILDINFO);
            let keep = tail.len().saturating_sub(GO_BUILDINFO.len());
            tail.drain(..keep);
        }
    }
    let hex = sha256_hex_of(hasher);
    let text = format!("path\t{path}\nbytes\t{size}\nsha256\t{hex}\ngo\t{go}\n");
    Ok((ExeInfo { path, go }, text))
}

/// The parent chain: pid, name and redacted cmdline of each ancestor, nearest first.
fn parents_text(fs: &ProcFs, pid: i32, ppid: i32) -> String {
    let mut buf = Vec::new();
    let mut out = format!("{pid}\t(the target)\n");
    for link in parent_chain(fs, ppid, &mut buf) {
        let cmd = match fs.read_pid(link.pid, "cmdline", &mut buf) {
            Ok(()) => redact::redact_args(&parse::split_nul(&buf)).join(" "),
            Err(e) => format!("(cmdline unreadable: {e})"),
        };
        let _ = writeln!(out, "{}\t{}\t{}", link.pid, link.name, cmd);
    }
    out
}

/// Every process: pid, ppid, user, state, threads, RSS, CPU time, start, redacted cmdline.
fn process_table(fs: &ProcFs) -> Result<Vec<u8>, String> {
    let mut sampler = super::sampler::Sampler::with_paths(fs.path(), Path::new("/etc/passwd"))
        .map_err(|e| format!("/proc: {e}"))?;
    let snap = sampler.sample();
    let mut out = String::from("PID\tPPID\tUSER\tS\tTHR\tRSS_KB\tCPU_S\tSTART_TICKS\tCOMMAND\n");
    for r in &snap.processes {
        let cmd =
            if r.cmdline.is_empty() { format!("[{}]", r.name) } else { redact::redact_cmdline(&r.cmdline) };
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{:.2}\t{}\t{}",
            r.pid,
            r.ppid,
            r.user,
            r.state,
            r.threads,
            r.rss_bytes / 1024,
            r.cpu_time_ticks as f64 / USER_HZ as f64,
            r.start_time,
            cmd
        );
    }
    Ok(out.into_bytes())
}

/// Creates `root` (0700, with parents) and a fresh `root/name` (0700), adding `-2`, `-3`, ... if
/// it exists, so a capture never mixes with an earlier one.
fn make_dir(root: &Path, name: &str) -> Result<PathBuf, EvidenceError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Io { path, source }
    };
    DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(io_err(root))?;
    for n in 1..1000 {
        let dir = if n == 1 { root.join(name) } else { root.join(format!("{name}-{n}")) };
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        }
    }
    Err(io_err(&root.join(name))(io::Error::new(io::ErrorKind::AlreadyExists, "999 captures with this name")))
}

fn write_file(dir: &Path, name: &str, what: String, bytes: &[u8]) -> Result<EvidenceFile, EvidenceError> {
    let path = dir.join(name);
    let err = |source| EvidenceError::Io { path: path.clone(), source };
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    Ok(EvidenceFile {
        name: name.to_string(),
        path: path.clone(),
        what,
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    })
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    sha256_hex_of(h)
}

/// The lowercase hex digest of a hasher that was fed a file.
pub fn sha256_hex_of(hasher: Sha256) -> String {
    let mut s = String::with_capacity(64);
    for b in hasher.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::signal::current_start_time;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T03:04:05Z").unwrap().to_utc()
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn captures_redacted_files_with_modes_and_manifest() {
        // `; :` keeps sh from exec'ing sleep, so the argv under test stays sh's.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 60; :", "x", "--password=hunter2"])
            .env("API_TOKEN", "tok-123")
            .env("DATABASE_URL", "postgres://app:s3cret@db/app")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = current_start_time(pid).unwrap();
        let root = tempfile::tempdir().unwrap();
        let evroot = root.path().join("evidence/inc-1");
        let quick = CaptureOptions::quick();
        let ev = capture_with(&evroot, pid, start, at(), &quick).unwrap();
        let again = capture_with(&evroot, pid, start, at(), &quick).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(ev.dir, evroot.join(format!("{pid}-{start}")));
        assert_eq!(again.dir, evroot.join(format!("{pid}-{start}-2")));
        assert_eq!(std::fs::metadata(&evroot).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&ev.dir).unwrap().permissions().mode() & 0o777, 0o700);
        let names: Vec<&str> = ev.files.iter().map(|f| f.name.as_str()).collect();
        for n in [
            "status",
            "stat",
            "cmdline.txt",
            "environ.txt",
            "limits",
            "threads.txt",
            "smaps_rollup",
            "maps",
            "fds.txt",
            "sockets.txt",
            "exe.txt",
            "parents.txt",
            "ps.txt",
            MANIFEST,
        ] {
            assert!(names.contains(&n), "{n} missing from {names:?}, skipped {:?}", ev.skipped);
        }
        for f in &ev.files {
            let bytes = std::fs::read(&f.path).unwrap();
            assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.name);
            assert_eq!(bytes.len() as u64, f.bytes);
            assert_eq!(std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.name);
        }
        let env = std::fs::read_to_string(ev.dir.join("environ.txt")).unwrap();
        assert!(env.contains("API_TOKEN=***\n"), "{env}");
        assert!(env.contains("DATABASE_URL=postgres://app:***@db/app\n"), "{env}");
        assert!(!env.contains("tok-123") && !env.contains("s3cret"));
        let cmd = std::fs::read_to_string(ev.dir.join("cmdline.txt")).unwrap();
        assert_eq!(cmd, "sh\n-c\nsleep 60; :\nx\n--password=***\n");

        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ev.dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest["pid"], pid);
        assert_eq!(manifest["start_time"], start);
        assert_eq!(manifest["captured_at"], "2026-11-23T03:04:05+00:00");
        assert_eq!(manifest["profile"], "quick");
        assert_eq!(manifest["target_paused_ms"], 0, "the quick profile never stops the target");
        assert!(manifest["started_at"].as_str().unwrap().starts_with("20"), "{}", manifest["started_at"]);
        let steps = manifest["steps"].as_array().unwrap();
        let written: Vec<_> = steps.iter().filter(|s| s["file"].is_string()).collect();
        assert_eq!(written.len(), ev.files.len() - 1);
        for entry in written {
            let name = entry["file"].as_str().unwrap();
            let bytes = std::fs::read(ev.dir.join(name)).unwrap();
            assert_eq!(entry["sha256"].as_str().unwrap(), sha256_hex(&bytes), "{name}");
            assert_eq!(entry["bytes"].as_u64().unwrap(), bytes.len() as u64, "{name}");
        }
        for skipped in steps.iter().filter(|s| s["status"] == "skipped") {
            assert!(!skipped["reason"].as_str().unwrap().is_empty(), "{skipped}");
        }
        let threads = std::fs::read_to_string(ev.dir.join("threads.txt")).unwrap();
        assert!(
            threads.contains(&format!("=== thread {pid} ===")) && threads.contains("wchan:"),
            "{threads}"
        );
        let ps = std::fs::read_to_string(ev.dir.join("ps.txt")).unwrap();
        assert!(ps.contains(&format!("\n{pid}\t")), "the process table holds the target");
        let exe = std::fs::read_to_string(ev.dir.join("exe.txt")).unwrap();
        assert!(exe.contains("sha256\t") && exe.contains("go\tfalse"), "{exe}");
        let events = ev.events();
        assert_eq!(events.len(), ev.files.len());
        assert!(
            matches!(&events[events.len() - 1], EventKind::EvidenceCaptured { what, .. } if what.contains("manifest"))
        );
    }

    #[test]
    fn sockets_show_state_queues_and_peer() {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_server, _) = listener.accept().unwrap();
        // Unread bytes sit in the server's receive queue.
        client.write_all(b"x".repeat(100).as_slice()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let ev =
            capture_with(root.path(), me, current_start_time(me).unwrap(), at(), &CaptureOptions::quick())
                .unwrap();
        let s = std::fs::read_to_string(ev.dir.join("sockets.txt")).unwrap();
        assert!(s.contains(&format!("tcp\tLISTEN\t0\t0\t127.0.0.1:{port}\t")), "{s}");
        let server_line = format!("\t127.0.0.1:{port}\t127.0.0.1:{}", client.local_addr().unwrap().port());
        let line = s.lines().find(|l| l.contains(&server_line)).unwrap_or_else(|| panic!("{s}"));
        assert!(line.starts_with("tcp\tESTABLISHED\t0\t100\t"), "{line}");
    }

    #[test]
    fn refuses_gone_and_recycled_targets() {
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let start = current_start_time(me).unwrap();
        let e = capture_evidence(root.path(), me, start + 1, at()).unwrap_err();
        assert!(matches!(e, EvidenceError::Process(DetailsError::Recycled { .. })), "{e}");
        let e = capture_evidence(root.path(), i32::MAX, 1, at()).unwrap_err();
        assert!(matches!(e, EvidenceError::Process(DetailsError::Gone { .. })), "{e}");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn unwritable_root_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let me = std::process::id() as i32;
        let e = capture_evidence(&file.join("sub"), me, current_start_time(me).unwrap(), at()).unwrap_err();
        assert!(e.to_string().contains("not-a-dir"), "{e}");
    }
}
