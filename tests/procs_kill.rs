//! The kill path end to end through the library API, against real processes.

#[path = "common/procs.rs"]
mod procs_support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use procs_support::Reaped;
use warroom::incident::{Event, EventKind, Severity, export, fold};
use warroom::procs::evidence::sha256_hex;
use warroom::procs::{
    CriticalList, Delivery, KillError, KillRequest, Liveness, ProcessIdentity, Sampler, Sig, SignalOutcome,
    current_context, guarded_kill, liveness, wait_for_exit,
};

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:10:00Z").unwrap().to_utc()
}

fn spawn(script: &str) -> Reaped {
    Reaped(Command::new("sh").args(["-c", script]).spawn().unwrap())
}

/// Samples twice with a pause, so CPU% has an interval, and returns the row of `pid`.
/// A spinner on a loaded machine may get a small share of a core: sample until it has been
/// seen using CPU (bounded) rather than expecting a fixed share.
fn sampled(pid: i32) -> (ProcessIdentity, f32) {
    let mut s = Sampler::new().unwrap();
    s.sample();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let snap = s.sample();
        let row = snap.get(pid).unwrap_or_else(|| panic!("pid {pid} not in snapshot"));
        if row.cpu_percent > 1.0 || std::time::Instant::now() > deadline {
            return (ProcessIdentity::from(row), row.cpu_percent);
        }
    }
}

fn request(target: ProcessIdentity, evidence: Option<std::path::PathBuf>) -> KillRequest {
    KillRequest {
        target,
        signal: Sig::Term,
        reason: "runaway loop at 100% CPU, nobody owns it".into(),
        typed_name: None,
        evidence_dir: evidence,
        at: at(),
    }
}

#[test]
fn cpu_hog_is_killed_with_evidence_and_reason_on_the_timeline() {
    let mut hog = spawn("while :; do :; done");
    let pid = hog.0.id() as i32;
    let (target, cpu) = sampled(pid);
    assert!(cpu > 1.0, "hog at {cpu}%");
    assert_eq!(target.name, "sh");
    let start = target.start_time;

    let dir = tempfile::tempdir().unwrap();
    let evroot = dir.path().join("evidence").join("inc");
    let ctx = current_context(CriticalList::default());
    let report = guarded_kill(&request(target, Some(evroot.clone())), &ctx).unwrap();

    assert_eq!(report.outcome, SignalOutcome::Sent { via: Delivery::Pidfd });
    assert!(wait_for_exit(pid, start, Duration::from_secs(10)), "hog still running");
    let status = hog.0.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert_eq!(liveness(pid, start), Liveness::Gone);

    // Evidence: 0700 dir, 0600 files, each matching the manifest's sha256.
    let ev = report.evidence.as_ref().unwrap();
    assert!(ev.dir.starts_with(&evroot));
    assert_eq!(std::fs::metadata(&ev.dir).unwrap().permissions().mode() & 0o777, 0o700);
    let manifest_path = ev.dir.join("manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    // Every step is listed; those that wrote a file name it with its size and sha256.
    let steps = manifest["steps"].as_array().unwrap();
    let listed: Vec<_> = steps.iter().filter(|s| s["file"].is_string()).collect();
    assert!(listed.len() >= 7, "{listed:?}");
    for entry in &listed {
        let path = ev.dir.join(entry["file"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sha256_hex(&bytes), entry["sha256"].as_str().unwrap(), "{}", path.display());
        assert_eq!(entry["bytes"].as_u64().unwrap(), bytes.len() as u64);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
    let cmdline = std::fs::read_to_string(ev.dir.join("cmdline.txt")).unwrap();
    assert_eq!(cmdline, "sh\n-c\nwhile :; do :; done\n");

    // Events: evidence first (manifest last among them), then the signal with the reason.
    let (last, evidence_events) = report.events.split_last().unwrap();
    assert_eq!(evidence_events.len(), listed.len() + 1);
    match &evidence_events[evidence_events.len() - 1] {
        EventKind::EvidenceCaptured { path, sha256, .. } => {
            assert_eq!(path, &manifest_path.display().to_string());
            assert_eq!(sha256, &sha256_hex(&std::fs::read(&manifest_path).unwrap()));
        }
        other => panic!("expected evidence_captured, got {other:?}"),
    }
    match last {
        EventKind::ProcessSignalled {
            pid: p, start_time, name, signal, reason, outcome, evidence, ..
        } => {
            assert_eq!((*p, *start_time, name.as_str(), signal.as_str()), (pid, start, "sh", "TERM"));
            assert_eq!(reason, "runaway loop at 100% CPU, nobody owns it");
            assert!(outcome.starts_with("sent"), "{outcome}");
            assert_eq!(evidence.as_deref(), Some(manifest_path.display().to_string().as_str()));
        }
        other => panic!("expected process_signalled, got {other:?}"),
    }

    // The timeline (the postmortem export of the folded log) shows the kill and its reason.
    let opened = Event::open(at(), "ana", "CPU pegged".into(), Severity::new(2).unwrap(), None);
    let mut events = vec![opened.clone()];
    events.extend(report.events.iter().cloned().map(|k| Event::new(opened.incident, at(), "ana", k)));
    let state = fold(&events).unwrap();
    let md = export::to_markdown(&state, &events, None, at());
    assert!(md.contains("runaway loop at 100% CPU, nobody owns it"), "{md}");
    assert!(md.contains(&format!("Sent SIGTERM to sh (pid {pid})")), "{md}");
}

#[test]
fn stale_start_time_is_refused_and_the_process_lives() {
    let sleeper = spawn("sleep 60; :");
    let pid = sleeper.0.id() as i32;
    let (mut target, _) = sampled(pid);
    let real_start = target.start_time;
    // What a recycled pid looks like: same pid, the sampled start time no longer matches.
    target.start_time = real_start.saturating_sub(5);
    let dir = tempfile::tempdir().unwrap();
    let ctx = current_context(CriticalList::default());
    let mut req = request(target, Some(dir.path().to_path_buf()));
    req.signal = Sig::Kill;
    let report = guarded_kill(&req, &ctx).unwrap();
    assert_eq!(report.outcome, SignalOutcome::Recycled { expected: real_start - 5, found: real_start });
    assert!(report.evidence.is_none());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no evidence of the wrong process");
    assert!(
        matches!(&report.events[..], [EventKind::ProcessSignalled { outcome, .. }] if outcome.starts_with("refused"))
    );
    assert_eq!(liveness(pid, real_start), Liveness::Running);
    // Without evidence capture the signal path itself refuses too.
    req.evidence_dir = None;
    let report = guarded_kill(&req, &ctx).unwrap();
    assert!(matches!(report.outcome, SignalOutcome::Recycled { .. }));
    assert_eq!(liveness(pid, real_start), Liveness::Running);
}

#[test]
fn exited_process_reports_gone() {
    let mut quick = spawn("sleep 60; :");
    let pid = quick.0.id() as i32;
    let (target, _) = sampled(pid);
    quick.0.kill().unwrap();
    quick.0.wait().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report =
        guarded_kill(&request(target, Some(dir.path().into())), &current_context(CriticalList::default()))
            .unwrap();
    assert_eq!(report.outcome, SignalOutcome::Gone);
    assert!(
        matches!(&report.events[..], [EventKind::ProcessSignalled { outcome, .. }] if outcome.contains("exited"))
    );
}

#[test]
fn our_own_pid_our_parent_and_pid_one_are_refused() {
    let mut s = Sampler::new().unwrap();
    let snap = s.sample();
    let me = std::process::id() as i32;
    let ctx = current_context(CriticalList::default());
    let own = snap.get(me).unwrap();
    let parent = snap.get(own.ppid).unwrap();
    let init = snap.get(1).unwrap();
    for (row, needle) in [(own, "warroom itself"), (parent, "ancestor"), (init, "PID 1")] {
        match guarded_kill(&request(ProcessIdentity::from(row), None), &ctx) {
            Err(KillError::Refused { reason }) => assert!(reason.contains(needle), "{reason}"),
            other => panic!("pid {} must be refused, got {other:?}", row.pid),
        }
    }
    // Still alive: we are running this assertion.
    assert_eq!(liveness(me, own.start_time), Liveness::Running);
}

#[test]
fn kernel_threads_are_refused() {
    let snap = Sampler::new().unwrap().sample();
    let Some(kthread) = snap.processes.iter().find(|p| p.kernel_thread && p.pid != 1) else {
        return; // No kernel threads visible (a container's own pid namespace): nothing to refuse.
    };
    let ctx = current_context(CriticalList::default());
    let err = guarded_kill(&request(ProcessIdentity::from(kthread), None), &ctx).unwrap_err();
    assert!(matches!(err, KillError::Refused { ref reason } if reason.contains("kernel thread")), "{err}");
}

#[test]
fn other_users_process_needs_its_name_typed_and_a_reason() {
    let sleeper = spawn("sleep 60; :");
    let pid = sleeper.0.id() as i32;
    let (mut target, _) = sampled(pid);
    let start = target.start_time;
    target.uid = target.uid.wrapping_add(4242); // as if sampled from another user's process
    let ctx = current_context(CriticalList::default());
    let mut req = request(target, None);
    assert!(matches!(guarded_kill(&req, &ctx), Err(KillError::NeedsTypedName { .. })));
    req.typed_name = Some("bash".into());
    assert!(matches!(guarded_kill(&req, &ctx), Err(KillError::NeedsTypedName { .. })));
    req.typed_name = Some("sh".into());
    req.reason = "  ".into();
    assert!(matches!(guarded_kill(&req, &ctx), Err(KillError::MissingReason)));
    assert_eq!(liveness(pid, start), Liveness::Running, "nothing sent before confirmation");
    req.reason = "stuck deploy hook".into();
    let report = guarded_kill(&req, &ctx).unwrap();
    assert!(report.outcome.was_sent());
    assert!(wait_for_exit(pid, start, Duration::from_secs(10)));
}

/// Runs itself again as uid 65534 (via setpriv) to signal a root-owned sleeper: the kernel's
/// EPERM must come back as PermissionDenied with a message, and the sleeper must live.
#[test]
fn unprivileged_sender_gets_permission_denied() {
    if let Ok(target) = std::env::var("WARROOM_EPERM_TARGET") {
        // The inner run, as nobody.
        let (pid, start) = target.split_once(':').unwrap();
        let out = warroom::procs::send_signal(pid.parse().unwrap(), start.parse().unwrap(), Sig::Term);
        println!("OUTCOME: {}", out.describe());
        assert!(matches!(out, SignalOutcome::PermissionDenied { .. }), "{out:?}");
        return;
    }
    let have_setpriv = Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success());
    if !rustix::process::getuid().is_root() || !have_setpriv {
        eprintln!("skipped: needs root and setpriv to run a sender under another uid");
        return;
    }
    let sleeper = spawn("sleep 60; :");
    let pid = sleeper.0.id() as i32;
    let start = warroom::procs::signal::current_start_time(pid).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "unprivileged_sender_gets_permission_denied", "--nocapture", "--test-threads=1"])
        .env("WARROOM_EPERM_TARGET", format!("{pid}:{start}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "inner run failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout
            .contains("OUTCOME: not sent: permission denied: run warroom as the process owner or with root"),
        "{stdout}"
    );
    assert_eq!(liveness(pid, start), Liveness::Running);
}
