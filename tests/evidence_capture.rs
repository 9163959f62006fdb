//! Evidence capture against real processes: a native spinner whose function shows in the
//! backtrace, a Python process whose py-spy dump names its function, and a planted-secrets
//! process whose evidence and timeline hold none of the planted values.
//!
//! Tests that need a tool (cc, eu-stack or gdb, python3, py-spy) skip with one line without it,
//! and fail under CI=true (`.ci/run` installs them).

#[path = "common/procs.rs"]
mod procs_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use procs_support::{Reaped, warroom_at};
use warroom::procs::signal::current_start_time;
use warroom::procs::tools::which;
use warroom::procs::{
    CaptureOptions, CriticalList, KillRequest, ProcessIdentity, Profile, Sampler, Sig, StepStatus,
    capture_with, current_context, guarded_kill,
};

/// True when every tool is on PATH; otherwise one line on how to get it (a failure under CI).
fn have(tools: &[&str], test: &str) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| which(t).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: skipped: {} not installed (run `bash .ci/run`, or apt-get install gcc elfutils gdb python3 && pip install py-spy)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} — CI=true requires it");
    }
    eprintln!("{msg}");
    false
}

/// Waits until the process has exec'd (its comm is `name`) and returns its start time.
fn ready(pid: i32, name: &str) -> u64 {
    for _ in 0..200 {
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name) {
            return current_start_time(pid).unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("pid {pid} never became {name}");
}

fn opts() -> CaptureOptions {
    CaptureOptions { tool_timeout: Duration::from_secs(60), ..CaptureOptions::default() }
}

fn step<'a>(ev: &'a warroom::procs::Evidence, name: &str) -> &'a warroom::procs::Step {
    ev.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name}: {:#?}", ev.steps))
}

#[test]
fn native_spinner_function_is_in_the_backtrace() {
    if !have(&["cc"], "native_spinner") || (which("eu-stack").is_none() && !have(&["gdb"], "native_spinner"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("spin.c");
    std::fs::write(
        &src,
        "volatile unsigned long n;\n\
         __attribute__((noinline)) void warroom_spin_here(void) { for (;;) n++; }\n\
         int main(void) { warroom_spin_here(); return 0; }\n",
    )
    .unwrap();
    let bin = dir.path().join("wr-spin");
    let st = Command::new("cc").args(["-g", "-O0", "-o"]).arg(&bin).arg(&src).status().unwrap();
    assert!(st.success());
    let child = Reaped(Command::new(&bin).spawn().unwrap());
    let pid = child.0.id() as i32;
    let start = ready(pid, "wr-spin");
    let root = tempfile::tempdir().unwrap();
    let ev = capture_with(root.path(), pid, start, Utc::now(), &opts()).unwrap();
    let s = step(&ev, "native-stacks.txt");
    assert_eq!(s.status, StepStatus::Ok, "{s:?}");
    assert!(s.pauses_target);
    let stacks = std::fs::read_to_string(ev.dir.join("native-stacks.txt")).unwrap();
    assert!(stacks.contains("warroom_spin_here"), "{stacks}");
    assert!(ev.paused > Duration::ZERO);
    // It survived the capture: no signal, and still spinning.
    assert!(current_start_time(pid).is_ok_and(|s| s == start));
}

#[test]
fn python_function_is_in_the_py_spy_dump() {
    if !have(&["python3", "py-spy"], "python_py_spy") {
        return;
    }
    let child = Reaped(
        Command::new("python3")
            .args(["-c", "def warroom_py_spin():\n    while True:\n        pass\nwarroom_py_spin()\n"])
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id() as i32;
    // python3 may be a pyenv shim that execs the real interpreter: wait for libpython or python*.
    let mut start = 0;
    for _ in 0..300 {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim().starts_with("python") {
            start = current_start_time(pid).unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(start > 0, "python never started");
    // Give the interpreter time to reach the function.
    std::thread::sleep(Duration::from_millis(500));
    let root = tempfile::tempdir().unwrap();
    let ev = capture_with(root.path(), pid, start, Utc::now(), &opts()).unwrap();
    let s = step(&ev, "python-stacks.txt");
    assert_eq!(s.status, StepStatus::Ok, "{s:?}");
    let dump = std::fs::read_to_string(ev.dir.join("python-stacks.txt")).unwrap();
    assert!(dump.contains("warroom_py_spin"), "{dump}");
    let manifest = std::fs::read_to_string(ev.dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"python\""), "runtime detected: {manifest}");
}

/// Every planted value, each in one of the forms the redaction must catch.
const PLANTED: &[(&str, &str)] = &[
    ("DB_PASS", "pl4nted-dbpass"),
    ("MYSQL_PWD", "pl4nted-mysqlpwd"),
    ("SENTRY_DSN", "https://pl4ntedsentrykey@o1.ingest.sentry.io/42"),
    ("ALERT_WEBHOOK", "https://hooks.slack.com/services/T0PL4NT/B0PL4NT/pl4ntedSlackPath"),
    ("JDBC_URL", "jdbc:postgresql://db:5432/app?user=app&password=pl4nted-jdbc"),
    ("MSSQL_CONN", "Server=db;Database=app;User Id=sa;Password=pl4nted-mssql;"),
    ("SERVER_PEM", "-----BEGIN PRIVATE KEY-----\nMIIpl4ntedPEMbody\n-----END PRIVATE KEY-----"),
    ("CI_BLOB", "ghp_pl4ntedGithubToken000000000000000"),
    ("GL", "glpat-pl4ntedGitlab00000"),
    ("SLACK_BOT", "xoxb-pl4nted-slack-bot-token"),
    ("AWS_ID", "AKIAPL4NTEDAWS000000"),
    ("STRIPE", "sk_live_pl4ntedStripe0000"),
];

/// The secret part of each planted value (what must not appear anywhere).
const SECRETS: &[&str] = &[
    "pl4nted-dbpass",
    "pl4nted-mysqlpwd",
    "pl4ntedsentrykey",
    "pl4ntedSlackPath",
    "pl4nted-jdbc",
    "pl4nted-mssql",
    "MIIpl4ntedPEMbody",
    "pl4ntedGithubToken",
    "pl4ntedGitlab",
    "pl4nted-slack-bot-token",
    "PL4NTEDAWS00000",
    "pl4ntedStripe",
    "pl4nted-argv-p",
    "pl4nted-bearer",
    "pl4nted-curl-pass",
    "pl4nted-flag",
];

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn planted_secrets_reach_neither_the_evidence_nor_the_timeline() {
    let data = tempfile::tempdir().unwrap();
    let warroom = |args: &[&str]| {
        let out = warroom_at(data.path(), args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    warroom(&["new", "planted secrets", "--sev", "2"]);

    // `exec -a` is not portable; sh -c keeps sh as the process with every argument visible.
    let script = "sleep 300; :";
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        script,
        "planted",
        "-ppl4nted-argv-p",
        "-H",
        "Authorization: Bearer pl4nted-bearer",
        "-u",
        "ops:pl4nted-curl-pass",
        "--token",
        "pl4nted-flag",
        "ghp_pl4ntedGithubToken000000000000000",
    ]);
    for (k, v) in PLANTED {
        cmd.env(k, v);
    }
    let child = Reaped(cmd.spawn().unwrap());
    let pid = child.0.id() as i32;
    let start = ready(pid, "sh");

    // The CLI capture: files and timeline.
    let listing = warroom(&["capture", &pid.to_string()]);
    assert!(listing.contains("recorded on the timeline"), "{listing}");
    // The kill path: the process_signalled event carries the cmdline.
    let mut s = Sampler::new().unwrap();
    let snap = s.sample();
    let row = snap.get(pid).expect("planted process sampled");
    let target = ProcessIdentity::from(row);
    assert!(target.cmdline.contains("pl4nted-bearer"), "the sampler sees the raw cmdline");
    let ev_root = data.path().join("kill-evidence");
    let report = guarded_kill(
        &KillRequest {
            target,
            signal: Sig::Term,
            reason: "planted secrets test".into(),
            typed_name: None,
            evidence_dir: Some(ev_root.clone()),
            at: Utc::now(),
        },
        &current_context(CriticalList::default()),
    )
    .unwrap();
    assert!(report.outcome.was_sent(), "{:?}", report.outcome);
    let signalled = serde_json::to_string(&report.events).unwrap();
    let _ = start;

    let json = warroom(&["export", "--format", "json"]);
    let md = warroom(&["export"]);
    let mut haystacks =
        vec![("export.json".to_string(), json), ("export.md".into(), md), ("kill events".into(), signalled)];
    for f in files_under(data.path()).into_iter().chain(files_under(&ev_root)) {
        let name = f.display().to_string();
        if name.contains("warroom.db") {
            continue; // The events are checked through the exports.
        }
        haystacks.push((name, String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned()));
    }
    assert!(haystacks.iter().any(|(n, _)| n.ends_with("environ.txt")), "environ captured");
    assert!(haystacks.iter().any(|(n, _)| n.ends_with("ps.txt")), "process table captured");
    for (name, text) in &haystacks {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{name} holds the planted `{secret}`:\n{text}");
        }
    }
    // And the redaction left the names, so the evidence still says what was there.
    let environ = haystacks.iter().find(|(n, _)| n.ends_with("environ.txt")).unwrap();
    for (k, _) in PLANTED {
        assert!(environ.1.contains(&format!("{k}=")), "{k} missing:\n{}", environ.1);
    }
}

#[test]
fn capture_cli_rejects_bad_pids_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| warroom_at(data.path(), args);
    assert!(run(&["new", "x", "--sev", "3"]).status.success());
    for (args, needle) in [
        (vec!["capture", "2147483000"], "no such process"),
        (vec!["capture", "0"], "positive process id"),
        (vec!["capture", "1", "--profile", "huge"], "unknown profile `huge`"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = Profile::Quick;
}

fn children_of(pid: i32) -> Vec<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    text.split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

#[test]
fn a_process_tree_is_killed_whole_and_each_outcome_recorded() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| warroom_at(data.path(), args);
    assert!(run(&["new", "tree", "--sev", "2"]).status.success());
    let mut root = Reaped(Command::new("sh").args(["-c", "sleep 300 & sleep 300 & wait"]).spawn().unwrap());
    let pid = root.0.id() as i32;
    let mut kids = Vec::new();
    for _ in 0..300 {
        kids = children_of(pid);
        if kids.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(kids.len(), 2, "two sleeps under the shell");
    let kid_starts: Vec<u64> = kids.iter().map(|k| ready(*k, "sleep")).collect();

    // Without --yes and without a terminal: nothing is sent.
    let out = run(&["kill", &pid.to_string(), "--tree", "--reason", "test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(children_of(pid).len() == 2);

    let out = run(&[
        "kill",
        &pid.to_string(),
        "--tree",
        "--yes",
        "--reason",
        "runaway batch tree",
        "--grace",
        "20",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("SIGTERM to 3 process(es):"), "{stdout}");
    for k in &kids {
        assert!(stdout.contains(&format!("{k}  start")), "preview lists {k}: {stdout}");
    }
    let status = root.0.wait().unwrap();
    assert!(!status.success(), "the shell was signalled");
    for (k, s) in kids.iter().zip(&kid_starts) {
        let alive = current_start_time(*k).is_ok_and(|now| now == *s)
            && !std::fs::read_to_string(format!("/proc/{k}/stat")).unwrap_or_default().contains(") Z ");
        assert!(!alive, "child {k} survived");
    }
    let json = String::from_utf8(run(&["export", "--format", "json"]).stdout).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let events = doc["events"].as_array().unwrap();
    let of = |t: &str| events.iter().filter(|e| e["type"] == t).collect::<Vec<_>>();
    assert_eq!(of("process_signalled").len(), 3);
    let outcomes = of("process_outcome");
    assert_eq!(outcomes.len(), 3, "{json}");
    for o in outcomes {
        assert_eq!(o["exited"], true, "{o}");
        assert_eq!(o["signal"], "TERM");
        assert!(o["outcome"].as_str().unwrap().contains("after SIGTERM"), "{o}");
    }
    let md = String::from_utf8(run(&["export"]).stdout).unwrap();
    assert!(md.contains("after SIGTERM: exited"), "{md}");
    // Evidence listed relative to the incident's evidence dir, with size and sha256.
    let start = kid_starts[0];
    let _ = start;
    assert!(md.contains(&format!("- `{pid}-")) && md.contains("/manifest.json` — "), "{md}");
}

#[test]
fn a_set_holding_an_ancestor_of_the_session_is_refused_whole() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| warroom_at(data.path(), args);
    assert!(run(&["new", "x", "--sev", "3"]).status.success());
    // This test process is warroom's parent: its tree holds warroom's whole session.
    let me = std::process::id().to_string();
    let out = run(&["kill", &me, "--tree", "--yes", "--reason", "no"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused") && err.contains("ancestor"), "{err}");
    let json = String::from_utf8(run(&["export", "--format", "json"]).stdout).unwrap();
    assert!(!json.contains("process_signalled"), "nothing recorded: {json}");
}
