//! `warroom runbook attach|tick|show|run` through the real binary, with a runbooks dir in a
//! tempdir named by a config file: what is recorded, what is refused, and what is killed.

#[path = "common/pty.rs"]
mod pty;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A bound on every wait: only a hang trips it.
const BOUND: Duration = Duration::from_secs(25);

/// Unique sleep lengths, so a leftover process of this file can be told from anyone else's.
const HANG_SLEEP: &str = "30.417";
const CANCEL_SLEEP: &str = "30.419";
const CONFIG_SLEEP: &str = "30.421";

fn book() -> String {
    format!(
        r#"---
title: Test book
---
# Test book

## Diagnose

- [ ] Say hello
  ```sh
  echo hello; echo oops >&2
  ```
- [ ] Fail on purpose
  ```sh
  echo failing; exit 4
  ```
- [ ] Hang in a pipeline
  ```sh
  echo hanging; sleep {HANG_SLEEP} | cat
  ```
- [ ] Hang until cancelled
  ```sh
  echo waiting; sleep {CANCEL_SLEEP} | cat
  ```
- [ ] Hang past the configured timeout
  ```sh
  echo slow; sleep {CONFIG_SLEEP}
  ```
- [ ] Print lots
  ```sh
  seq 1 50000
  ```
- [ ] Print escapes and binary
  ```sh
  printf '\033]0;pwned\007\033[31mred\033[0m\001\377 done\n'
  ```

## Mitigate

- [ ] Do it by hand
"#
    )
}

struct Env {
    tmp: TempDir,
}

impl Env {
    /// A tempdir with `books/test-book.md`, a config naming it, and an open incident.
    fn new(timeout_secs: u64) -> Env {
        let env = Env { tmp: tempfile::tempdir().unwrap() };
        let books = env.tmp.path().join("books");
        std::fs::create_dir(&books).unwrap();
        std::fs::write(books.join("test-book.md"), book()).unwrap();
        std::fs::write(
            env.config(),
            format!("[user]\nname = \"ana\"\n\n[runbooks]\ndir = \"books\"\ncommand_timeout_secs = {timeout_secs}\n"),
        )
        .unwrap();
        env.ok(&["new", "disk filling", "--sev", "2"]);
        env
    }
    fn config(&self) -> PathBuf {
        self.tmp.path().join("config.toml")
    }
    fn std_cmd(&self) -> StdCommand {
        let mut c = StdCommand::new(env!("CARGO_BIN_EXE_warroom"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("XDG_CONFIG_HOME", self.tmp.path().join("xdg"))
            .env("WARROOM_DATA_DIR", self.tmp.path().join("data"))
            .env("WARROOM_CONFIG", self.config());
        c
    }
    /// Runs with stdin closed (not a terminal); returns (status, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::from_std(self.std_cmd()).args(args).timeout(BOUND).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn ok(&self, args: &[&str]) -> (String, String) {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "warroom {args:?} failed: {err}");
        assert!(!err.contains("panicked"), "{err}");
        (out, err)
    }
    fn fails(&self, args: &[&str], needle: &str) {
        let (code, _, err) = self.run(args);
        assert_eq!(code, 2, "warroom {args:?}: wrong exit status; stderr: {err}");
        assert!(err.contains(needle), "warroom {args:?}: stderr lacks {needle:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "error must be one line: {err}");
    }
    fn events(&self) -> Vec<Value> {
        let (out, _) = self.ok(&["export", "--format", "json"]);
        let doc: Value = serde_json::from_str(&out).unwrap();
        doc["events"].as_array().unwrap().clone()
    }
    fn of_type(&self, kind: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["type"] == kind).collect()
    }
}

/// Pids of live processes whose command line contains `needle` (zombies excluded).
fn processes_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Waits (bounded) until no process has `needle` in its command line; returns any left.
fn gone(needle: &str) -> Vec<u32> {
    let deadline = Instant::now() + BOUND;
    loop {
        let left = processes_with(needle);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn command_run(env: &Env) -> Value {
    let runs = env.of_type("command_run");
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

#[test]
fn run_streams_output_and_records_evidence_and_command_run() {
    let env = Env::new(30);
    let (out, err) = env.ok(&["runbook", "run", "test-book", "diagnose--say-hello", "--yes"]);
    assert_eq!(out, "hello\noops\n", "stdout and stderr of the command, merged");
    assert!(err.contains("echo hello; echo oops >&2"), "the exact command is shown: {err}");
    assert!(err.contains("exited with status 0"), "{err}");
    assert!(err.contains("attached runbook test-book"), "{err}");

    let run = command_run(&env);
    assert_eq!(run["runbook"], "test-book");
    assert!(run["item"].as_str().unwrap().starts_with("diagnose--say-hello-"), "{run}");
    assert_eq!(run["command"], "echo hello; echo oops >&2");
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["output_excerpt"], "hello\noops");
    let path = run["evidence"].as_str().unwrap();

    let ev = env.of_type("evidence_captured");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["path"], path);
    let body = std::fs::read(path).unwrap();
    let sha: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(ev[0]["sha256"], sha);
    assert_eq!(ev[0]["bytes"], body.len() as u64);
    assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("#   echo hello; echo oops >&2\n") && text.ends_with("# ----\nhello\noops\n"),
        "{text}"
    );

    assert_eq!(env.of_type("runbook_attached").len(), 1, "running attaches the runbook once");
    // The Markdown export shows it on the timeline too.
    let (md, _) = env.ok(&["export"]);
    assert!(md.contains("echo hello; echo oops") && md.contains("→ exit 0"), "{md}");
}

#[test]
fn non_zero_exit_is_recorded_and_warroom_still_succeeds() {
    let env = Env::new(30);
    let (out, err) = env.ok(&["runbook", "run", "test-book", "diagnose--fail", "--yes"]);
    assert_eq!(out, "failing\n");
    assert!(err.contains("exited with status 4"), "{err}");
    let run = command_run(&env);
    assert_eq!(run["exit_code"], 4);
    assert_eq!(run["output_excerpt"], "failing");
}

#[test]
fn timeout_flag_kills_the_whole_pipeline_and_is_recorded() {
    let env = Env::new(30);
    let (out, err) = env.ok(&["runbook", "run", "test-book", "diagnose--hang-in", "--yes", "--timeout", "1"]);
    assert_eq!(out, "hanging\n");
    assert!(err.contains("timed out after 1 s"), "{err}");
    assert_eq!(gone(HANG_SLEEP), Vec::<u32>::new(), "the pipeline's sleep must be killed");
    let run = command_run(&env);
    assert_eq!(run["exit_code"], Value::Null);
    assert_eq!(run["output_excerpt"], "hanging\n[warroom: timed out after 1 s; process group killed]");
    let text = std::fs::read_to_string(run["evidence"].as_str().unwrap()).unwrap();
    assert!(text.contains("# outcome:  timed out after 1 s\n"), "{text}");
}

#[test]
fn configured_timeout_applies_without_the_flag() {
    let env = Env::new(1);
    let (_, err) = env.ok(&["runbook", "run", "test-book", "diagnose--hang-past", "--yes"]);
    assert!(err.contains("timeout 1 s") && err.contains("timed out after 1 s"), "{err}");
    assert_eq!(gone(CONFIG_SLEEP), Vec::<u32>::new());
    assert_eq!(command_run(&env)["exit_code"], Value::Null);
}

#[test]
fn sigint_cancels_the_command_and_the_run_is_still_recorded() {
    let env = Env::new(30);
    let mut child = env
        .std_cmd()
        .args(["runbook", "run", "test-book", "diagnose--hang-until", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert_eq!(first, "waiting\n");
    assert!(!processes_with(CANCEL_SLEEP).is_empty(), "the command is running");
    // What Ctrl-C does: SIGINT to warroom. The command's own group does not get it.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "warroom did not finish after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("cancelled"), "{err}");
    assert_eq!(gone(CANCEL_SLEEP), Vec::<u32>::new());
    let run = command_run(&env);
    assert_eq!(run["exit_code"], Value::Null);
    assert!(run["output_excerpt"].as_str().unwrap().ends_with("[warroom: cancelled; process group killed]"));
}

#[test]
fn large_output_is_excerpted_but_kept_whole() {
    let env = Env::new(30);
    let (out, _) = env.ok(&["runbook", "run", "test-book", "diagnose--print-lots", "--yes"]);
    assert_eq!(out.lines().count(), 50_000);
    let run = command_run(&env);
    let excerpt = run["output_excerpt"].as_str().unwrap();
    assert!(excerpt.len() <= 2048 && excerpt.lines().count() <= 20, "{excerpt}");
    assert!(excerpt.ends_with("49999\n50000"), "{excerpt}");
    let text = std::fs::read_to_string(run["evidence"].as_str().unwrap()).unwrap();
    let expected: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
    assert!(text.ends_with(&format!("# ----\n{expected}")), "the evidence holds every line");
}

#[test]
fn escapes_and_binary_never_reach_the_terminal_or_the_excerpt() {
    let env = Env::new(30);
    let (out, _) = env.ok(&["runbook", "run", "test-book", "diagnose--print-esc", "--yes"]);
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert!(out.contains("red") && out.contains("done"), "{out:?}");
    let run = command_run(&env);
    let excerpt = run["output_excerpt"].as_str().unwrap();
    assert!(!excerpt.chars().any(|c| c.is_control() && c != '\n'), "{excerpt:?}");
    assert!(excerpt.starts_with("red") && excerpt.ends_with(" done"), "{excerpt:?}");
    let raw = std::fs::read(run["evidence"].as_str().unwrap()).unwrap();
    assert!(raw.windows(5).any(|w| w == b"\x1b[31m"), "the evidence keeps the raw bytes");
}

#[test]
fn without_a_terminal_or_yes_it_refuses_and_records_nothing() {
    let env = Env::new(30);
    env.fails(&["runbook", "run", "test-book", "diagnose--say-hello"], "pass --yes");
    assert!(env.of_type("command_run").is_empty());
    assert!(env.of_type("runbook_attached").is_empty());
}

#[test]
fn bad_runbook_or_item_is_one_line_exit_2() {
    let env = Env::new(30);
    env.fails(&["runbook", "run", "no-such-book", "x", "--yes"], "unknown runbook `no-such-book`");
    env.fails(
        &["runbook", "run", "test-book", "nothing-like-this", "--yes"],
        "has no item `nothing-like-this`",
    );
    env.fails(&["runbook", "run", "test-book", "diagnose--hang", "--yes"], "is ambiguous");
    env.fails(&["runbook", "run", "test-book", "mitigate--do-it", "--yes"], "has no command to run");
    env.fails(&["runbook", "tick", "test-book", "nothing-like-this"], "has no item");
    env.fails(&["runbook", "show", "no-such-book"], "unknown runbook");
    env.fails(&["runbook", "attach", "no-such-book"], "unknown runbook");
    assert!(env.of_type("command_run").is_empty());
}

#[test]
fn attach_tick_untick_and_show() {
    let env = Env::new(30);
    let (out, _) = env.ok(&["runbook", "attach", "test-book"]);
    assert!(out.contains("attached test-book: Test book"), "{out}");
    let (out, _) = env.ok(&["runbook", "attach", "test-book"]);
    assert!(out.contains("already attached"), "{out}");
    assert_eq!(env.of_type("runbook_attached").len(), 1);

    let (out, _) = env.ok(&["runbook", "tick", "test-book", "diagnose--say"]);
    assert!(out.contains("ticked: Say hello  (1/8 done)"), "{out}");
    env.ok(&["runbook", "tick", "test-book", "mitigate--do-it"]);
    let (out, _) = env.ok(&["runbook", "tick", "test-book", "diagnose--say", "--undo"]);
    assert!(out.contains("unticked: Say hello  (1/8 done)"), "{out}");

    let (show, _) = env.ok(&["runbook", "show", "test-book"]);
    assert!(show.contains("runbook attached, 1/8 done"), "{show}");
    assert!(show.contains("## Diagnose  (0/7)") && show.contains("## Mitigate  (1/1)"), "{show}");
    let lines: Vec<&str> = show.lines().collect();
    let say = lines.iter().position(|l| l.contains("diagnose--say-hello-")).unwrap();
    assert!(lines[say].trim_start().starts_with("[ ] "), "{show}");
    assert!(lines[say + 1].contains("Say hello  (unticked ") && lines[say + 1].contains("by ana)"), "{show}");
    assert!(lines[say + 2].trim_start() == "$ echo hello; echo oops >&2", "{show}");
    let by_hand = lines.iter().position(|l| l.contains("mitigate--do-it-by-hand-")).unwrap();
    assert!(lines[by_hand].trim_start().starts_with("[x] "), "{show}");

    let sets = env.of_type("checklist_item_set");
    assert_eq!(sets.len(), 3);
    assert_eq!(sets.iter().filter(|e| e["checked"] == true).count(), 2);
    let (out, _) = env.ok(&["export", "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let checklist = doc["incident"]["checklist"].as_array().unwrap();
    assert_eq!(checklist.len(), 2, "{checklist:?}");
}

/// Runs `warroom ARGS` on a pty, answers `answer` to the y/N prompt; returns (exit code, screen text).
fn on_a_terminal(env: &Env, args: &[&str], answer: &str) -> (u32, String) {
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.args(args);
    cmd.env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("HOME", env.tmp.path());
    cmd.env("XDG_CONFIG_HOME", env.tmp.path().join("xdg"));
    cmd.env("WARROOM_DATA_DIR", env.tmp.path().join("data"));
    cmd.env("WARROOM_CONFIG", env.config());
    let mut tui = pty::Tui::spawn_command(cmd, 24, 200);
    // What was written, not the emulated screen: the prompt and the answer as they came.
    let raw = tui.raw.clone();
    let text = || String::from_utf8_lossy(&raw.lock().unwrap()).into_owned();
    let deadline = Instant::now() + BOUND;
    while !text().contains("Run it? [y/N]") {
        assert!(Instant::now() < deadline, "no prompt on the terminal: {}", text());
        std::thread::sleep(Duration::from_millis(20));
    }
    tui.send(answer);
    let status = loop {
        if let Some(s) = tui.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "warroom did not exit: {}", text());
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the reader thread drain what is left.
    std::thread::sleep(Duration::from_millis(100));
    (status.exit_code(), text())
}

#[test]
fn on_a_terminal_it_asks_first() {
    let env = Env::new(30);
    let (code, screen) = on_a_terminal(&env, &["runbook", "run", "test-book", "diagnose--say-hello"], "n\r");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("echo hello; echo oops >&2") && screen.contains("not run"), "{screen}");
    assert!(env.of_type("command_run").is_empty(), "declined: nothing ran, nothing recorded");

    let (code, screen) = on_a_terminal(&env, &["runbook", "run", "test-book", "diagnose--say-hello"], "y\r");
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("hello") && screen.contains("exited with status 0"), "{screen}");
    assert_eq!(command_run(&env)["exit_code"], 0);
}
