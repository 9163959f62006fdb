//! The capture key, restart-with-evidence refusals and the evidence browser, driven through the
//! App with the process pane's fixed snapshots plus real child processes, real captures written to
//! a real evidence directory, and real re-hashing; snapshots at 80x24 and 200x50.

use std::path::Path;
use std::time::Duration;

use ratatui::crossterm::event::KeyCode;

use super::app::Action;
use super::popups::Popup;
use super::popups::capture::{CaptureForm, Field, Stage};
use super::popups::evidence::{EvidenceBrowser, Level};
use super::procs_tests::{FAKE, H, fixed_snapshot, harness, now, real_row, wait_exec};
use super::queue::Command;
use crate::incident::EventKind;
use crate::procs::browse::Integrity;
use crate::procs::evidence::{MANIFEST, sha256_hex};
use crate::procs::restart::{Manager, RestartTarget, guarded_restart};

struct Reaped(std::process::Child);
impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn form(h: &H) -> &CaptureForm {
    match h.app.popups.last() {
        Some(Popup::Capture(g)) => g,
        other => panic!("no capture popup: {other:?}"),
    }
}

fn browser(h: &H) -> &EvidenceBrowser {
    match h.app.popups.last() {
        Some(Popup::Evidence(b)) => b,
        other => panic!("no evidence browser: {other:?}"),
    }
}

/// Runs the queued capture, restart and verification jobs here, as the event loop's blocking
/// pool would, and feeds their results back.
fn run_jobs(h: &mut H) {
    let jobs = h.app.queue.take_where(|c| {
        matches!(c, Command::Capture { .. } | Command::Restart { .. } | Command::VerifyEvidence { .. })
    });
    for job in jobs {
        let action = match job {
            Command::Capture { incident, pid, start_time, dir, opts, at } => Action::CaptureDone {
                incident,
                result: crate::procs::capture_with(&dir, pid, start_time, at, &opts)
                    .map_err(|e| e.to_string()),
            },
            Command::Restart { incident, req, ctx } => Action::RestartDone {
                incident,
                result: Box::new(guarded_restart(&req, &ctx).map_err(|e| e.to_string())),
            },
            Command::VerifyEvidence { dir, recorded } => {
                let files = crate::procs::browse::verify_capture(&dir, &recorded);
                Action::EvidenceChecked { dir, files }
            }
            _ => unreachable!("only these were taken"),
        };
        h.app.update(action, now());
    }
}

fn with_sleeper(h: &mut H) -> Reaped {
    let child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    wait_exec(child.id() as i32, "sleep");
    let mut snap = fixed_snapshot();
    snap.processes.push(real_row(&child, "sleep"));
    h.snap(snap);
    h.select(child.id() as i32);
    Reaped(child)
}

#[test]
fn c_captures_a_real_process_without_a_signal_and_records_it_as_the_cli_does() {
    let mut h = harness(Duration::from_secs(10));
    let mut child = with_sleeper(&mut h);
    let pid = child.0.id() as i32;
    h.key(KeyCode::Char('c'));
    assert_eq!(form(&h).profile().name(), "standard", "the default profile, as `warroom capture`");
    assert!(form(&h).restart.is_err(), "a test process is in no unit or container");
    assert!(h.text(80, 24).contains("restart not offered"), "{}", h.text(80, 24));
    h.key(KeyCode::Left).key(KeyCode::Enter);
    assert_eq!(form(&h).profile().name(), "quick");
    assert!(matches!(form(&h).stage, Stage::Running { .. }));
    assert!(h.text(80, 24).contains("Capturing evidence (quick profile)… 0 s (the process is not paused)"));
    // Off the UI thread: the App only queued it.
    assert!(h.app.queue.iter().any(|c| matches!(c, Command::Capture { pid: p, .. } if *p == pid)));
    // Esc does nothing while it runs (the result must land somewhere).
    h.key(KeyCode::Esc);
    assert!(matches!(form(&h).stage, Stage::Running { .. }));
    h.app.update(Action::Tick, now() + chrono::Duration::seconds(3));
    assert!(h.text(80, 24).contains("… 3 s"));
    run_jobs(&mut h);
    let Stage::Done { message, ok } = &form(&h).stage else { panic!("{:?}", form(&h).stage) };
    assert!(ok, "{message}");
    assert!(
        message.contains("recorded on the timeline") && message.contains("target not paused"),
        "{message}"
    );
    assert!(child.0.try_wait().unwrap().is_none(), "no signal: the process still runs");

    let id = h.app.incident().unwrap();
    let captured: Vec<(String, String)> = h
        .app
        .store
        .events(id)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::EvidenceCaptured { path, sha256, .. } if path.contains(&format!("/{pid}-")) => {
                Some((path, sha256))
            }
            _ => None,
        })
        .collect();
    assert!(captured.len() > 10, "one event per file, as `warroom capture`: {captured:?}");
    assert!(captured.last().unwrap().0.ends_with(MANIFEST), "the manifest last");
    for (path, sha) in &captured {
        assert_eq!(&sha256_hex(&std::fs::read(path).unwrap()), sha, "{path}");
    }
    h.key(KeyCode::Esc);
    assert!(h.app.popups.is_empty());
}

#[test]
fn a_capture_of_a_process_that_exited_says_nothing_was_captured() {
    let mut h = harness(Duration::from_secs(10));
    let mut child = with_sleeper(&mut h);
    h.key(KeyCode::Char('c')).key(KeyCode::Left).key(KeyCode::Enter);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    run_jobs(&mut h);
    let Stage::Done { message, ok } = &form(&h).stage else { panic!() };
    assert!(!ok);
    assert!(message.starts_with("nothing captured: pid") && message.contains("exited"), "{message}");
}

/// The restart row, as offered for a process in a container: a reason is required, and the real
/// `guarded_restart` re-reads the cgroup and refuses when the process is not in that container.
#[test]
fn restart_needs_a_reason_and_is_refused_when_the_process_is_not_in_that_container() {
    let mut h = harness(Duration::from_secs(10));
    let child = with_sleeper(&mut h);
    h.key(KeyCode::Char('c'));
    let via = RestartTarget { manager: Manager::Docker, name: "a".repeat(64) };
    if let Some(Popup::Capture(g)) = h.app.popups.last_mut() {
        g.restart = Ok(via);
    }
    h.key(KeyCode::Tab).key(KeyCode::Right);
    assert!(form(&h).restarting);
    assert!(h.text(80, 24).contains("restart docker container aaaaaaaaaaaa"), "{}", h.text(80, 24));
    h.key(KeyCode::Enter);
    assert!(matches!(form(&h).stage, Stage::Form));
    assert!(form(&h).error.as_deref().unwrap().contains("a reason is required"));
    h.chars("wedged container").key(KeyCode::Enter);
    assert!(h.app.queue.iter().any(|c| matches!(c, Command::Restart { .. })));
    run_jobs(&mut h);
    let Stage::Done { message, ok } = &form(&h).stage else { panic!() };
    assert!(!ok);
    assert!(
        message.starts_with("nothing restarted: refused:") && message.contains("nothing to restart"),
        "{message}"
    );
    let id = h.app.incident().unwrap();
    assert!(
        !h.app.store.events(id).unwrap().iter().any(|e| matches!(e.kind, EventKind::ServiceRestarted { .. })),
        "a refusal records nothing"
    );
    drop(child);
}

#[test]
fn typing_on_a_choice_row_goes_to_the_reason_or_is_refused_out_loud() {
    let mut h = harness(Duration::from_secs(10));
    let child = with_sleeper(&mut h);
    h.key(KeyCode::Char('c'));
    if let Some(Popup::Capture(g)) = h.app.popups.last_mut() {
        g.restart = Err("not in a unit or container".into());
    }
    // No restart offered: the form has no text field, and says so.
    h.chars("x");
    assert!(form(&h).error.as_deref().unwrap().contains("nothing to type here"), "{:?}", form(&h).error);
    assert!(h.text(80, 24).contains("nothing to type here"), "{}", h.text(80, 24));
    let via = RestartTarget { manager: Manager::Docker, name: "a".repeat(64) };
    if let Some(Popup::Capture(g)) = h.app.popups.last_mut() {
        g.restart = Ok(via);
    }
    h.key(KeyCode::Tab).key(KeyCode::Right);
    assert!(form(&h).restarting);
    // On the action row, typing goes to the reason the restart asks for.
    h.chars("wedged");
    assert_eq!(form(&h).field, Field::Reason);
    assert_eq!(form(&h).answers.reason.value, "wedged");
    drop(child);
}

#[test]
fn restart_of_pid_1_is_refused_in_the_form() {
    let mut h = harness(Duration::from_secs(10));
    let via = RestartTarget { manager: Manager::Systemd, name: "init.service".into() };
    push_form(&mut h, 1, via);
    h.key(KeyCode::Tab).key(KeyCode::Right).key(KeyCode::Tab).chars("why not").key(KeyCode::Enter);
    assert!(form(&h).error.as_deref().unwrap().starts_with("restart refused: PID 1"), "{:?}", form(&h).error);
    assert!(!h.app.queue.iter().any(|c| matches!(c, Command::Restart { .. })));
}

/// The capture popup for a row of the fixed snapshot, offering a restart of `via` (the pane reads
/// the cgroup from /proc; the fixed rows are not real processes).
fn push_form(h: &mut H, pid: i32, via: RestartTarget) {
    let snap = fixed_snapshot();
    let row = snap.processes.iter().find(|r| r.pid == pid).unwrap();
    let about = vec![
        ("process", format!("{} (pid {})", row.name, row.pid)),
        ("user", format!("{} (uid {})", row.user, row.uid)),
        ("cmdline", row.cmdline.to_string()),
        if via.manager == Manager::Systemd {
            ("unit", via.name.clone())
        } else {
            ("container", via.name.clone())
        },
    ];
    let ctx = std::sync::Arc::new(crate::procs::GuardContext {
        self_pid: 999_999,
        ancestors: vec![],
        our_uid: row.uid,
        critical: crate::procs::CriticalList::default(),
    });
    let form = CaptureForm::new(crate::procs::ProcessIdentity::from(row), about, Ok(via), ctx);
    h.app.popups.push(Popup::Capture(Box::new(form)));
}

/// A capture directory with a manifest, as `capture_with` writes it, at fixed values (snapshots).
fn plant_capture(root: &Path, name: &str, pid: i32, proc_name: &str, at: &str, files: &[(&str, &[u8])]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let steps: Vec<serde_json::Value> = files
        .iter()
        .map(|(n, b)| {
            std::fs::write(dir.join(n), b).unwrap();
            serde_json::json!({"name": n, "status": "ok", "file": n, "bytes": b.len(), "sha256": sha256_hex(b)})
        })
        .chain([serde_json::json!({"name": "py-spy", "status": "skipped", "reason": "not installed"})])
        .collect();
    let doc = serde_json::json!({"pid": pid, "start_time": 1, "name": proc_name, "profile": "standard",
        "captured_at": at, "steps": steps});
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

fn planted(h: &H) -> std::path::PathBuf {
    let root = h.app.store.evidence_dir(h.app.incident().unwrap());
    plant_capture(
        &root,
        "4121-1000",
        4121,
        "report-worker",
        "2026-11-23T03:41:07+00:00",
        &[
            ("status", b"Name:\treport-worker\nState:\tR (running)\n"),
            ("threads.txt", b"tid 4121 R\n\x1b[2Jnot a clear screen\n"),
            ("maps", &b"55d0 r-xp /usr/bin/report-worker\n".repeat(20_000)),
        ],
    );
    plant_capture(
        &root,
        "977-2000",
        977,
        "billing",
        "2026-11-23T03:30:00+00:00",
        &[("stat", b"977 (billing) S")],
    );
    std::fs::write(root.join("run-01.txt"), "$ df -h\n/dev/sda1 98%\n").unwrap();
    root
}

#[test]
fn the_browser_lists_verifies_flags_changed_files_and_shows_them_capped_and_clean() {
    let mut h = harness(Duration::from_secs(10));
    let root = planted(&h);
    h.key(KeyCode::Char('V'));
    let b = browser(&h);
    assert_eq!(b.entries.len(), 3, "two captures and a command output");
    let list = h.text(80, 24);
    assert!(list.contains("2026-11-23 03:41:07    4121 report-worker   standard     4"), "{list}");
    // A file changed on disk after the capture.
    std::fs::write(root.join("4121-1000/status"), "Name:\tsomething-else\n").unwrap();
    h.key(KeyCode::Enter);
    assert!(matches!(&browser(&h).level, Level::Capture { files: None, .. }));
    assert!(h.text(80, 24).contains("verifying every file's sha256"));
    run_jobs(&mut h);
    let Level::Capture { files: Some(files), .. } = &browser(&h).level else { panic!() };
    let status = |n: &str| files.iter().find(|f| f.name == n).unwrap().status.clone();
    assert_eq!(status("status"), Integrity::Changed);
    assert_eq!(status("maps"), Integrity::Ok);
    // Nothing on this timeline recorded the planted manifest.
    assert_eq!(status(MANIFEST), Integrity::NotOnTimeline);
    let text = h.text(80, 24);
    assert!(
        text.contains("changed") && text.contains("2 of 4 match their recorded sha256; 1 changed"),
        "{text}"
    );

    // threads.txt: escape sequences do not reach the terminal.
    h.key(KeyCode::Char('g')).key(KeyCode::Char('j')).key(KeyCode::Char('j')).key(KeyCode::Enter);
    let Level::File { view, .. } = &browser(&h).level else { panic!("{:?}", browser(&h).level) };
    assert_eq!(view.title, "threads.txt");
    let text = h.text(80, 24);
    assert!(text.contains("not a clear screen") && !text.contains('\u{1b}'), "{text}");
    h.key(KeyCode::Esc);
    // maps is 660,000 bytes: capped with a clear line.
    h.key(KeyCode::Char('j')).key(KeyCode::Enter);
    let Level::File { view, .. } = &browser(&h).level else { panic!() };
    assert_eq!(view.title, "maps");
    let joined: Vec<String> = view.lines.iter().map(|l| l.to_string()).collect();
    assert!(joined[1].contains("showing the first 256K only"), "{:?}", &joined[..3]);
    assert!(joined.last().unwrap().contains("more bytes not shown"), "{:?}", joined.last());
    h.key(KeyCode::Esc).key(KeyCode::Esc);
    assert!(matches!(browser(&h).level, Level::List));
    // The loose command output opens directly.
    h.key(KeyCode::Char('G')).key(KeyCode::Enter);
    assert!(h.text(80, 24).contains("/dev/sda1 98%"));
    h.key(KeyCode::Esc).key(KeyCode::Char('q'));
    assert!(h.app.popups.is_empty());
}

#[test]
fn a_real_capture_opened_in_the_browser_matches_its_manifest_and_the_timeline() {
    let mut h = harness(Duration::from_secs(10));
    let child = with_sleeper(&mut h);
    h.key(KeyCode::Char('c')).key(KeyCode::Left).key(KeyCode::Enter);
    run_jobs(&mut h);
    h.key(KeyCode::Esc).key(KeyCode::Char('V')).key(KeyCode::Enter);
    run_jobs(&mut h);
    let Level::Capture { files: Some(files), summary, .. } = &browser(&h).level else { panic!() };
    assert_eq!(summary.pid, Some(child.0.id() as i32));
    assert!(files.iter().all(|f| f.status == Integrity::Ok), "{files:?}");
    assert!(h.text(80, 24).contains(&format!("all {} files match", files.len())));
}

#[test]
fn help_lists_the_capture_key_and_the_browser() {
    let mut h = harness(Duration::from_secs(10));
    h.key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!() };
    let all: String = v.lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(all.contains("capture evidence without a signal"), "{all}");
    assert!(all.contains("evidence browser: captures, files, sha256 re-checked"), "{all}");
    assert!(all.contains("Evidence browser"), "{all}");
}

/// The evidence browser on the planted evidence at `w`x`h`: its list, or (`open`) the capture
/// opened after one of its files changed.
fn browser_screen(w: u16, h: u16, open: bool) -> String {
    let mut hs = harness(Duration::from_secs(10));
    hs.app.size = (w, h);
    let root = planted(&hs);
    if open {
        std::fs::write(root.join("4121-1000/status"), "changed").unwrap();
        hs.key(KeyCode::Char('V')).key(KeyCode::Enter);
        run_jobs(&mut hs);
    } else {
        hs.key(KeyCode::Char('V'));
    }
    hs.text(w, h)
}

#[test]
fn snapshot_evidence_browser_80x24() {
    insta::assert_snapshot!(browser_screen(80, 24, false));
}

#[test]
fn snapshot_evidence_browser_200x50() {
    insta::assert_snapshot!(browser_screen(200, 50, false));
}

#[test]
fn snapshot_evidence_capture_files_80x24() {
    insta::assert_snapshot!(browser_screen(80, 24, true));
}

#[test]
fn snapshot_evidence_capture_files_200x50() {
    insta::assert_snapshot!(browser_screen(200, 50, true));
}

#[test]
fn snapshot_capture_popup_80x24() {
    let mut h = harness(Duration::from_secs(10));
    h.app.size = (80, 24);
    push_form(
        &mut h,
        FAKE + 4242,
        RestartTarget { manager: Manager::Systemd, name: "billing.service".into() },
    );
    insta::assert_snapshot!("capture_form", h.text(80, 24));
    h.key(KeyCode::Tab).key(KeyCode::Right).key(KeyCode::Tab).chars("heap at 8G, GC thrashing");
    insta::assert_snapshot!("capture_form_restart", h.text(80, 24));
}

#[test]
fn snapshot_capture_popup_200x50() {
    let mut h = harness(Duration::from_secs(10));
    h.app.size = (200, 50);
    push_form(&mut h, FAKE + 4242, RestartTarget { manager: Manager::Docker, name: "b".repeat(64) });
    h.key(KeyCode::Tab).key(KeyCode::Right).key(KeyCode::Tab).chars("heap at 8G");
    insta::assert_snapshot!(h.text(200, 50));
}
