//! Runtime-specific dumps for the evidence capture: which runtime a process runs (from its
//! memory maps, executable and command line), and each runtime's own dump when its tool is
//! installed — native backtraces (eu-stack, else gdb), Python (py-spy dump), JVM (jcmd
//! Thread.print a few times apart, GC.heap_info), Node (the diagnostic report it writes on a
//! signal when started with --report-on-signal), Go (SIGQUIT, on request only) and a core dump
//! (gcore, on request only). Every step has a timeout and a size cap; what is skipped says why.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::evidence::{Capture, CaptureOptions, EvidenceError, StepStatus, redact_output};
use super::parse;
use super::procfs::ProcFs;
use super::redact;
use super::signal::{Sig, send_signal, wait_for_exit};
use super::tools::{run_tool, which};

/// What a process runs on, as far as its maps, executable and command line tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runtimes {
    pub python: bool,
    pub jvm: bool,
    pub go: bool,
    pub node: bool,
    /// Set when Node was started with --report-on-signal: the signal and where the report goes.
    pub node_report: Option<NodeReport>,
    pub unit: Option<String>,
}

/// How a Node process asked for its diagnostic report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub signal: Sig,
    pub dir: PathBuf,
}

impl Runtimes {
    /// Names for the manifest (native is always there).
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = vec!["native"];
        for (on, name) in [(self.python, "python"), (self.jvm, "jvm"), (self.go, "go"), (self.node, "node")] {
            if on {
                v.push(name);
            }
        }
        v
    }
}

/// Detects the runtime of `pid`; `go` comes from the executable scan done while hashing it.
pub fn detect(fs: &ProcFs, pid: i32, go: bool) -> Runtimes {
    let mut buf = Vec::new();
    let maps = fs
        .read_pid(pid, "maps", &mut buf)
        .map(|()| String::from_utf8_lossy(&buf).into_owned())
        .unwrap_or_default();
    let exe =
        fs.readlink_pid(pid, "exe").map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let base = exe.rsplit('/').next().unwrap_or("").trim_end_matches(" (deleted)");
    let args = fs.read_pid(pid, "cmdline", &mut buf).map(|()| parse::split_nul(&buf)).unwrap_or_default();
    let python = maps.contains("libpython") || base.starts_with("python");
    let jvm = maps.contains("libjvm.so") || base == "java";
    let node = maps.contains("libnode") || base == "node" || base == "nodejs";
    let unit = fs.read_pid(pid, "cgroup", &mut buf).ok().and_then(|()| parse::parse_cgroup(&buf).unit);
    let node_report = node.then(|| node_report(fs, pid, &args)).flatten();
    Runtimes { python, jvm, go, node, node_report, unit }
}

/// --report-on-signal on the command line or in NODE_OPTIONS, with --report-signal and
/// --report-directory (default: the process's working directory).
fn node_report(fs: &ProcFs, pid: i32, args: &[String]) -> Option<NodeReport> {
    let mut buf = Vec::new();
    let node_options = fs
        .read_pid(pid, "environ", &mut buf)
        .ok()
        .and_then(|()| {
            parse::split_nul(&buf)
                .into_iter()
                .find_map(|e| e.strip_prefix("NODE_OPTIONS=").map(str::to_string))
        })
        .unwrap_or_default();
    let all: Vec<&str> = args.iter().map(String::as_str).chain(node_options.split_whitespace()).collect();
    if !all.contains(&"--report-on-signal") {
        return None;
    }
    let value = |flag: &str| {
        all.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&format!("{flag}="))
                .map(str::to_string)
                .or_else(|| (*a == flag).then(|| all.get(i + 1).map(|s| s.to_string())).flatten())
        })
    };
    let signal = match value("--report-signal") {
        Some(s) => s.parse().ok()?,
        None => Sig::Usr2,
    };
    let dir =
        value("--report-directory").or_else(|| value("--report-dir")).map(PathBuf::from).or_else(|| {
            fs.readlink_pid(pid, "cwd").ok().map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()))
        })?;
    Some(NodeReport { signal, dir })
}

impl Capture<'_> {
    /// Runs an installed tool and writes its (redacted) output as `file`; records a skip when
    /// the tool is missing. True when it ran.
    #[allow(clippy::too_many_arguments)]
    fn tool(
        &mut self,
        file: &str,
        what: String,
        program: &str,
        install: &str,
        args: &[&str],
        opts: &CaptureOptions,
        pauses_target: bool,
    ) -> Result<bool, EvidenceError> {
        let Some(path) = which(program) else {
            self.skip(file, format!("{program} is not installed ({install})"));
            return Ok(false);
        };
        let run = match run_tool(&path, args, opts.tool_timeout, opts.tool_cap) {
            Ok(r) => r,
            Err(e) => {
                self.skip(file, format!("{program} could not start: {e}"));
                return Ok(false);
            }
        };
        let text = redact_output(&String::from_utf8_lossy(&run.output));
        let (status, reason) = match run.problem(opts.tool_timeout) {
            Some(p) => (StepStatus::Failed, Some(format!("{program} {p}"))),
            None if run.dropped > 0 => (
                StepStatus::Truncated,
                Some(format!("cut at {} bytes; {} more bytes not kept", opts.tool_cap, run.dropped)),
            ),
            None => (StepStatus::Ok, None),
        };
        let cmd = format!("{program} {}", args.join(" "));
        self.written(
            file,
            format!("{what} (`{cmd}`)"),
            text.as_bytes(),
            status,
            reason,
            run.took,
            pauses_target,
        )?;
        Ok(true)
    }
}

/// The dumps of the `standard` profile, each only when its runtime is there and its tool is
/// installed.
pub(crate) fn dumps(c: &mut Capture<'_>, rt: &Runtimes, opts: &CaptureOptions) -> Result<(), EvidenceError> {
    let pid = c.pid.to_string();
    let what = format!("native backtrace of every thread of {}", c.name);
    // eu-stack is quicker to attach and detach than gdb, so the target stops for less time.
    if which("eu-stack").is_some() {
        c.tool("native-stacks.txt", what, "eu-stack", "apt-get install elfutils", &["-p", &pid], opts, true)?;
    } else {
        c.tool(
            "native-stacks.txt",
            what,
            "gdb",
            "neither eu-stack nor gdb is installed: apt-get install elfutils (or gdb)",
            &[
                "-batch",
                "-nx",
                "-p",
                &pid,
                "-ex",
                "set pagination off",
                "-ex",
                "info threads",
                "-ex",
                "thread apply all bt",
            ],
            opts,
            true,
        )?;
    }
    if rt.python {
        let what = format!("Python stack of every thread of {}", c.name);
        c.tool(
            "python-stacks.txt",
            what,
            "py-spy",
            "pip install py-spy",
            &["dump", "--pid", &pid],
            opts,
            true,
        )?;
    }
    if rt.jvm {
        let n = opts.jvm_samples.max(1);
        for i in 1..=n {
            let what =
                format!("JVM thread dump {i} of {n} of {} ({} s apart)", c.name, opts.jvm_interval.as_secs());
            let ran = c.tool(
                &format!("jvm-threads-{i}.txt"),
                what,
                "jcmd",
                "install a JDK (apt-get install openjdk-17-jdk-headless)",
                &[&pid, "Thread.print", "-l"],
                opts,
                true,
            )?;
            if !ran {
                break;
            }
            if i < n {
                std::thread::sleep(opts.jvm_interval);
            }
        }
        let what = format!("JVM heap summary of {}", c.name);
        c.tool("jvm-heap.txt", what, "jcmd", "install a JDK", &[&pid, "GC.heap_info"], opts, true)?;
    }
    if rt.node {
        node_report_step(c, rt, opts)?;
    }
    Ok(())
}

/// Signals a Node process that asked for it (--report-on-signal) and keeps the report it writes,
/// with its environment variables and every string redacted.
fn node_report_step(c: &mut Capture<'_>, rt: &Runtimes, opts: &CaptureOptions) -> Result<(), EvidenceError> {
    let Some(nr) = &rt.node_report else {
        c.skip(
            "node-report.json",
            "Node was not started with --report-on-signal: signalling it would not write a report".into(),
        );
        return Ok(());
    };
    let start = super::signal::current_start_time(c.pid).unwrap_or(0);
    let before = SystemTime::now();
    let t = Instant::now();
    let outcome = send_signal(c.pid, start, nr.signal);
    if !outcome.was_sent() {
        c.skip("node-report.json", format!("{} not sent: {outcome}", nr.signal.name()));
        return Ok(());
    }
    let marker = format!(".{}.", c.pid);
    let deadline = Instant::now() + opts.tool_timeout;
    let found = loop {
        let hit = std::fs::read_dir(&nr.dir).ok().and_then(|rd| {
            rd.flatten().map(|e| e.path()).find(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                name.starts_with("report.")
                    && name.ends_with(".json")
                    && name.contains(&marker)
                    && std::fs::metadata(p).and_then(|m| m.modified()).is_ok_and(|m| m >= before)
            })
        });
        // The report is written in one go; a parse failure means it is still being written.
        if let Some(p) = hit
            && let Ok(bytes) = std::fs::read(&p)
            && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            break Some((p, json));
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    match found {
        Some((path, mut json)) => {
            redact_json(&mut json, None);
            let text = serde_json::to_vec_pretty(&json).unwrap_or_default();
            let what = format!(
                "Node diagnostic report of {} (after {}; from {}, redacted)",
                c.name,
                nr.signal.name(),
                path.display()
            );
            c.written("node-report.json", what, &text, StepStatus::Ok, None, t.elapsed(), true)
        }
        None => {
            c.skip(
                "node-report.json",
                format!(
                    "{} sent, but no report.*{marker}json appeared in {} within {} s",
                    nr.signal.name(),
                    nr.dir.display(),
                    opts.tool_timeout.as_secs()
                ),
            );
            Ok(())
        }
    }
}

/// Redacts a JSON document: values under secret keys, every string through `redact_text`.
pub fn redact_json(v: &mut serde_json::Value, key: Option<&str>) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if key.is_some_and(redact::is_secret_key) {
                *s = redact::MASK.into();
            } else if let std::borrow::Cow::Owned(o) = redact::redact_text(s) {
                *s = o;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact_json(x, None)),
        Value::Object(m) => m.iter_mut().for_each(|(k, x)| redact_json(x, Some(k))),
        _ => {}
    }
}

/// Go's goroutine dump: SIGQUIT makes the Go runtime print every goroutine to stderr and EXIT
/// (unless the program handles SIGQUIT). Sent only on explicit request, and only when the dump
/// can be read back: stderr is a file, or the unit's journal.
pub(crate) fn go_sigquit(
    c: &mut Capture<'_>,
    rt: &Runtimes,
    start_time: u64,
    opts: &CaptureOptions,
) -> Result<(), EvidenceError> {
    const FILE: &str = "go-goroutines.txt";
    if !rt.go {
        c.skip(FILE, "not sent: not a Go program (no Go build info in its executable)".into());
        return Ok(());
    }
    let stderr = c.fs.readlink_pid(c.pid, "fd/2").map(|b| String::from_utf8_lossy(&b).into_owned());
    let file_target =
        stderr.as_ref().ok().filter(|p| p.starts_with('/') && Path::new(p.as_str()).is_file()).cloned();
    let journal = which("journalctl").zip(rt.unit.clone());
    if file_target.is_none() && journal.is_none() {
        let where_ = stderr.unwrap_or_else(|e| format!("unreadable ({e})"));
        c.skip(
            FILE,
            format!("not sent: its stderr is {where_}, where warroom cannot read the dump back (not a file, no unit journal)"),
        );
        return Ok(());
    }
    // Read what the file holds from the offset it has now: the dump is what gets appended.
    let offset = file_target.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len());
    let since = chrono::Utc::now();
    let t = Instant::now();
    let outcome = send_signal(c.pid, start_time, Sig::Quit);
    if !outcome.was_sent() {
        c.skip(FILE, format!("SIGQUIT not sent: {outcome}"));
        return Ok(());
    }
    let exited = wait_for_exit(c.pid, start_time, opts.tool_timeout);
    // Let the last bytes land.
    std::thread::sleep(Duration::from_millis(200));
    let mut text = format!(
        "# SIGQUIT sent at {}; the program {} within {} s\n",
        since.to_rfc3339(),
        if exited { "EXITED" } else { "was still running (it handles SIGQUIT)" },
        opts.tool_timeout.as_secs()
    );
    match (&file_target, &journal) {
        (Some(p), _) => {
            let bytes = std::fs::read(p).unwrap_or_default();
            let from = (offset as usize).min(bytes.len());
            let end = bytes.len().min(from + opts.tool_cap);
            text.push_str(&format!("# read from its stderr file {p} at offset {offset}\n"));
            text.push_str(&String::from_utf8_lossy(&bytes[from..end]));
        }
        (None, Some((jc, unit))) => {
            let since_arg = format!("@{}", since.timestamp());
            let args = ["-u", unit.as_str(), "--since", since_arg.as_str(), "--no-pager", "-o", "cat"];
            text.push_str(&format!("# read from the journal of {unit}\n"));
            if let Ok(run) = run_tool(jc, &args, Duration::from_secs(10), opts.tool_cap) {
                text.push_str(&String::from_utf8_lossy(&run.output));
            }
        }
        (None, None) => {}
    }
    let text = redact_output(&text);
    let what = format!("Go goroutine dump of {} (SIGQUIT; the program exited: {exited})", c.name);
    c.written(FILE, what, text.as_bytes(), StepStatus::Ok, None, t.elapsed(), true)
}

/// A core dump with gcore: refused when the process's RSS is larger than the free disk where
/// the evidence goes.
pub(crate) fn core_dump(c: &mut Capture<'_>, opts: &CaptureOptions) -> Result<(), EvidenceError> {
    const FILE: &str = "core";
    let Some(gcore) = which("gcore") else {
        c.skip(FILE, "gcore is not installed (apt-get install gdb)".into());
        return Ok(());
    };
    let mut buf = Vec::new();
    let rss =
        c.fs.read_pid(c.pid, "status", &mut buf)
            .ok()
            .and_then(|()| parse::parse_status(&buf).ok())
            .and_then(|s| s.vm_rss)
            .unwrap_or(0);
    let free = rustix::fs::statvfs(&c.dir).map(|s| s.f_bavail * s.f_frsize).unwrap_or(0);
    if rss >= free {
        c.skip(
            FILE,
            format!(
                "refused: RSS {} exceeds the free disk {} in {}",
                super::view::human_bytes(rss),
                super::view::human_bytes(free),
                c.dir.display()
            ),
        );
        return Ok(());
    }
    let prefix = c.dir.join("core");
    let prefix_s = prefix.display().to_string();
    let pid = c.pid.to_string();
    let timeout = opts.tool_timeout.max(Duration::from_secs(120));
    let t = Instant::now();
    let run = match run_tool(&gcore, &["-o", &prefix_s, &pid], timeout, 64 * 1024) {
        Ok(r) => r,
        Err(e) => {
            c.skip(FILE, format!("gcore could not start: {e}"));
            return Ok(());
        }
    };
    let written = c.dir.join(format!("core.{pid}"));
    if !written.is_file() {
        let why = run.problem(timeout).unwrap_or_else(|| "wrote no core file".into());
        let said = String::from_utf8_lossy(&run.output);
        c.skip(FILE, format!("gcore {why}: {}", crate::incident::sanitize::one_line(said.trim())));
        return Ok(());
    }
    let what = format!("core dump of {} (gcore; RSS {} at capture)", c.name, super::view::human_bytes(rss));
    c.existing(&written, what, t.elapsed(), true)
}
