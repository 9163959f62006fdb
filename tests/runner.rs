//! The command runner through the library, with real processes: exit codes, timeouts that kill
//! whole pipelines, cancel, big and binary output, and the evidence + events it records.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use sha2::{Digest, Sha256};
use warroom::incident::{Event, EventKind, Severity};
use warroom::runner::{self, Outcome, RunResult, RunSpec, RunUpdate};
use warroom::store::Store;

/// A bound on every wait: far above what any of these runs needs, so only a hang trips it.
const BOUND: Duration = Duration::from_secs(25);

fn spec(script: &str, timeout_secs: u64) -> RunSpec {
    let cmd = warroom::runbook::Command { lang: "sh".into(), script: format!("{script}\n"), line: 1 };
    RunSpec::new("test-book", "section--item-0123abcd", &cmd, Duration::from_secs(timeout_secs))
}

/// Runs to the end within BOUND; returns the result and all live output as one string.
async fn run(spec: RunSpec) -> (RunResult, String) {
    let mut live = String::new();
    let result = finish(runner::start(spec).expect("start"), |chunk| live.push_str(chunk)).await;
    (result, live)
}

/// Waits (bounded) for a started run's result, handing its live output to `on_output`.
async fn finish(run: runner::Run, on_output: impl FnMut(&str)) -> RunResult {
    tokio::time::timeout(BOUND, run.finish(on_output))
        .await
        .expect("the run must end within the bound")
        .expect("run result")
}

/// Live (non-zombie) processes whose process group is `pgid`, from /proc.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the `(comm)`: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[0] != "Z" && f[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

/// Waits (bounded) until the group has at least `n` live members, so that "gone" afterwards
/// means killed, not "never was a group".
async fn group_has(pgid: u32, n: usize) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while group_members(pgid).len() < n {
        assert!(tokio::time::Instant::now() < deadline, "group {pgid} never had {n} members");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `script` and waits until its process group has `members` live processes; returns the
/// run and its group id.
async fn started(script: &str, timeout_secs: u64, members: usize) -> (runner::Run, u32) {
    let run = runner::start(spec(script, timeout_secs)).unwrap();
    let pgid = run.pid();
    group_has(pgid, members).await;
    (run, pgid)
}

/// Waits (bounded) until nothing of the group is left; returns what is left if something is.
async fn group_gone(pgid: u32) -> Vec<u32> {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let left = group_members(pgid);
        if left.is_empty() || tokio::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn success_merges_stdout_and_stderr_in_order() {
    let (r, live) = run(spec("echo one; echo two >&2; echo three", 10)).await;
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert_eq!(String::from_utf8_lossy(&r.capture.kept), "one\ntwo\nthree\n");
    assert_eq!(live, "one\ntwo\nthree\n");
    assert_eq!(r.bytes(), 14);
    assert!(!r.pipe_left_open && r.live_skipped == 0);
    assert!(r.finished_at >= r.started_at);
}

#[tokio::test]
async fn non_zero_exit_is_reported() {
    let (r, _) = run(spec("echo failing; exit 3", 10)).await;
    assert_eq!(r.outcome, Outcome::Exited(3));
    assert_eq!(r.outcome.exit_code(), Some(3));
    assert_eq!(r.capture.excerpt(), "failing");
}

#[tokio::test]
async fn killed_by_a_signal_has_no_exit_code() {
    let (r, _) = run(spec("kill -9 $$", 10)).await;
    assert_eq!(r.outcome, Outcome::Signalled(9));
    assert_eq!(r.outcome.exit_code(), None);
    assert_eq!(r.outcome.to_string(), "killed by signal 9 (SIGKILL)");
}

#[tokio::test]
async fn bash_blocks_run_under_bash() {
    let cmd = warroom::runbook::Command {
        lang: "bash".into(),
        script: "[[ a == a ]] && echo bashism\n".into(),
        line: 1,
    };
    let (r, _) = run(RunSpec::new("b", "i", &cmd, Duration::from_secs(10))).await;
    assert_eq!((r.outcome, r.capture.excerpt().as_str()), (Outcome::Exited(0), "bashism"));
}

#[tokio::test]
async fn timeout_kills_a_hanging_command_and_keeps_its_output() {
    let (run, pgid) = started("echo started; sleep 30", 1, 2).await;
    let r = finish(run, |_| {}).await;
    assert_eq!(r.outcome, Outcome::TimedOut(Duration::from_secs(1)));
    assert_eq!(r.outcome.to_string(), "timed out after 1 s");
    assert_eq!(r.outcome.exit_code(), None);
    assert_eq!(r.capture.excerpt(), "started");
    assert_eq!(group_gone(pgid).await, Vec::<u32>::new(), "sleep must be gone");
}

#[tokio::test]
async fn timeout_kills_the_whole_pipeline() {
    // `trap '' TERM` makes the shell ignore the polite signal: the group must still die (SIGKILL).
    // The pipeline is really running before the timeout: shell, sleep and cat.
    let (run, pgid) = started("trap '' TERM; sleep 30 | cat; echo never", 1, 3).await;
    let r = finish(run, |_| {}).await;
    assert!(matches!(r.outcome, Outcome::TimedOut(_)), "{:?}", r.outcome);
    assert!(!String::from_utf8_lossy(&r.capture.kept).contains("never"));
    assert_eq!(group_gone(pgid).await, Vec::<u32>::new(), "sleep and cat must be gone");
}

#[tokio::test]
async fn cancel_kills_the_group_after_live_output() {
    let (mut run, pgid) = started("echo ready; sleep 30 | cat", 30, 3).await;
    let first = tokio::time::timeout(BOUND, run.next()).await.unwrap();
    assert!(matches!(&first, Some(RunUpdate::Output(l)) if l == "ready\n"), "{first:?}");
    run.canceller().cancel();
    let r = finish(run, |_| {}).await;
    assert_eq!(r.outcome, Outcome::Cancelled);
    assert_eq!(r.outcome.to_string(), "cancelled");
    assert_eq!(group_gone(pgid).await, Vec::<u32>::new());
}

#[tokio::test]
async fn dropping_the_run_cancels_it() {
    let mut run = runner::start(spec("echo ready; sleep 30", 30)).unwrap();
    let pgid = run.pid();
    let _ = tokio::time::timeout(BOUND, run.next()).await.unwrap();
    group_has(pgid, 2).await;
    drop(run);
    assert_eq!(group_gone(pgid).await, Vec::<u32>::new(), "an abandoned command must not keep running");
}

#[tokio::test]
async fn background_jobs_do_not_keep_the_run_open() {
    // The shell exits at once; its background sleep would hold the pipe for 300 s.
    let (run, pgid) = started("sleep 300 & echo done; sleep 0.2", 30, 2).await;
    let r = finish(run, |_| {}).await;
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert_eq!(r.capture.excerpt(), "done");
    assert!(!r.pipe_left_open);
    assert_eq!(group_gone(pgid).await, Vec::<u32>::new());
}

#[tokio::test]
async fn a_process_outside_the_group_holding_the_pipe_is_given_up_on() {
    let run =
        runner::start(spec("setsid sh -c 'echo pid $$; exec sleep 300' & sleep 0.3; echo main done", 30))
            .unwrap();
    let r = finish(run, |_| {}).await;
    let text = String::from_utf8_lossy(&r.capture.kept).into_owned();
    // Clean up the escaped sleep before asserting.
    if let Some(pid) =
        text.lines().find_map(|l| l.strip_prefix("pid ")).and_then(|p| p.trim().parse::<i32>().ok())
    {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(pid).unwrap(),
            rustix::process::Signal::KILL,
        );
    }
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert!(r.pipe_left_open, "{text}");
    assert!(text.contains("main done"), "{text}");
}

fn store_with_incident(dir: &std::path::Path) -> (Store, uuid::Uuid) {
    let store = Store::open(&dir.join("data")).unwrap();
    let at = chrono::Utc::now();
    let opened = Event::open(at, "ana", "disk full".into(), Severity::new(2).unwrap(), None);
    store.append(&opened).unwrap();
    (store, opened.id)
}

#[tokio::test]
async fn large_output_bounded_excerpt_complete_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, incident) = store_with_incident(tmp.path());
    let s = spec("seq 1 100000", 20);
    let (r, live) = run(s.clone()).await;
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert_eq!(r.live_skipped, 0);
    assert_eq!(live.lines().count(), 100_000, "every line streamed live");
    let rec = runner::record(&store, incident, "ana", &s, &r).unwrap();
    let ev = rec.evidence.expect("evidence written");

    let body = std::fs::read(&ev.path).unwrap();
    assert_eq!(body.len() as u64, ev.bytes);
    let sha: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sha, ev.sha256);
    assert_eq!(std::fs::metadata(&ev.path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(ev.path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(ev.path.parent().unwrap(), store.evidence_dir(incident));
    let text = String::from_utf8(body).unwrap();
    let expected: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    let (head, output) = text.split_once("# ----\n").unwrap();
    assert_eq!(output, expected, "the evidence holds the whole output");
    assert!(
        head.contains("#   seq 1 100000\n") && head.contains("# outcome:  exited with status 0\n"),
        "{head}"
    );

    let stored = store.events(incident).unwrap();
    let kinds: Vec<&EventKind> = stored.iter().map(|e| &e.kind).collect();
    let run_ev = kinds.iter().find_map(|k| match k {
        EventKind::CommandRun { exit_code, output_excerpt, evidence, command, runbook, item } => {
            Some((exit_code, output_excerpt, evidence, command, runbook, item))
        }
        _ => None,
    });
    let (exit_code, excerpt, evidence, command, runbook, item) = run_ev.expect("command_run stored");
    assert_eq!(*exit_code, Some(0));
    assert_eq!(
        (command.as_str(), runbook.as_str(), item.as_str()),
        ("seq 1 100000", "test-book", s.item.as_str())
    );
    assert!(excerpt.len() <= 2048 && excerpt.lines().count() <= 20, "{excerpt}");
    assert!(excerpt.ends_with("99999\n100000"), "{excerpt}");
    assert_eq!(evidence.as_deref(), Some(ev.path.to_str().unwrap()));
    assert!(
        kinds.iter().any(|k| matches!(k, EventKind::EvidenceCaptured { sha256, .. } if *sha256 == ev.sha256))
    );
}

#[tokio::test]
async fn output_beyond_the_cap_is_counted_and_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, incident) = store_with_incident(tmp.path());
    let mut s = spec("seq 1 20000; echo the-end", 20);
    s.max_output = 1000;
    let (r, _) = run(s.clone()).await;
    assert!(r.capture.truncated());
    assert_eq!(r.capture.kept.len(), 1000);
    assert!(r.bytes() > 100_000);
    assert!(r.capture.excerpt().ends_with("20000\nthe-end"), "the excerpt shows the real end");
    let rec = runner::record(&store, incident, "ana", &s, &r).unwrap();
    let text = std::fs::read_to_string(rec.evidence.unwrap().path).unwrap();
    assert!(text.contains("[warroom: output truncated at 1000 bytes;"), "{}", &text[text.len() - 200..]);
}

#[tokio::test]
async fn binary_and_ansi_output_is_kept_raw_but_excerpted_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, incident) = store_with_incident(tmp.path());
    let s = spec(r"printf '\033[31mred\033[0m \033]0;pwned\007\000\001\377\376bin\r\n\033[2Jend\n'", 10);
    let (r, live) = run(s.clone()).await;
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert!(live.contains('\u{fffd}'), "invalid UTF-8 is replaced live: {live:?}");
    let rec = runner::record(&store, incident, "ana", &s, &r).unwrap();
    let raw = std::fs::read(rec.evidence.unwrap().path).unwrap();
    assert!(raw.windows(4).any(|w| w == b"\x00\x01\xff\xfe"), "the evidence keeps the exact bytes");
    let excerpt = rec
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CommandRun { output_excerpt, .. } => Some(output_excerpt.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!excerpt.chars().any(|c| c.is_control() && c != '\n'), "{excerpt:?}");
    assert!(excerpt.starts_with("red ") && excerpt.ends_with("bin\nend"), "{excerpt:?}");
}

#[tokio::test]
async fn a_timed_out_run_is_recorded_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, incident) = store_with_incident(tmp.path());
    let s = spec("echo waiting; sleep 30", 1);
    let (r, _) = run(s.clone()).await;
    let rec = runner::record(&store, incident, "ana", &s, &r).unwrap();
    let text = std::fs::read_to_string(rec.evidence.as_ref().unwrap().path.clone()).unwrap();
    assert!(text.contains("# outcome:  timed out after 1 s\n"), "{text}");
    let Some(EventKind::CommandRun { exit_code, output_excerpt, .. }) = rec.events.last().map(|e| &e.kind)
    else {
        panic!("{:?}", rec.events)
    };
    assert_eq!(*exit_code, None);
    assert_eq!(output_excerpt, "waiting\n[warroom: timed out after 1 s; process group killed]");
}

#[tokio::test]
async fn an_unwritable_evidence_dir_still_records_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, incident) = store_with_incident(tmp.path());
    // A file where the evidence directory should be.
    std::fs::write(tmp.path().join("data").join("evidence"), "not a dir").unwrap();
    let s = spec("echo hi", 10);
    let (r, _) = run(s.clone()).await;
    let rec = runner::record(&store, incident, "ana", &s, &r).unwrap();
    assert!(rec.evidence.is_none());
    assert_eq!(rec.events.len(), 1);
    let EventKind::CommandRun { evidence, output_excerpt, .. } = &rec.events[0].kind else { panic!() };
    assert_eq!(evidence, &None);
    assert!(output_excerpt.starts_with("hi\n[warroom: evidence not saved in "), "{output_excerpt}");
    assert_eq!(store.events(incident).unwrap().len(), 2);
}
