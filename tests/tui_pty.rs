//! The real binary in a pseudo-terminal, its screen read back through a VT100 emulator. Screens are
//! polled with a deadline (never fixed sleeps), so a loaded CI machine is slow, not flaky.

#[path = "common/pty.rs"]
mod pty;
mod sync_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pty::{DEADLINE, Tui, cli, env};
use sync_support::server_proc::ServerProc;

/// A data dir with an incident opened by `warroom new TITLE --sev SEV`, and the TUI at 80x24 on
/// it, once its timeline shows.
fn on_new_incident(title: &str, sev: &str) -> (tempfile::TempDir, Tui) {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path(), &["new", title, "--sev", sev], None);
    let tui = Tui::spawn(dir.path(), 24, 80);
    tui.wait_for("the timeline", |s| s.contains(title) && s.contains("Timeline"));
    (dir, tui)
}

#[test]
fn open_from_start_popup_write_a_note_quit_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut tui = Tui::spawn(dir.path(), 24, 80);
    tui.wait_for("the start popup", |s| s.contains("No open incident"));
    tui.send("Disk full on db-2");
    tui.send("\t1\r");
    tui.wait_for("the incident header", |s| s.contains("SEV1") && s.contains("Disk full on db-2"));
    tui.send("n");
    tui.wait_for("the composer", |s| s.contains("New note"));
    tui.send("freed 20G in /var/log");
    tui.send("\t\r");
    let s =
        tui.wait_for("the saved note", |s| s.contains("freed 20G in /var/log") && !s.contains("New note"));
    assert!(s.contains("finding"), "{s}");
    tui.send("q");
    let status = tui.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(!tui.parser.lock().unwrap().screen().alternate_screen(), "alternate screen left on exit");

    let md = cli(dir.path(), &["export"], None);
    assert!(md.contains("Disk full on db-2"), "{md}");
    assert!(md.contains("freed 20G in /var/log"), "{md}");
}

#[test]
fn a_note_from_another_process_appears_within_two_seconds() {
    let (dir, mut tui) = on_new_incident("Queue backlog", "2");
    cli(dir.path(), &["note", "--tag", "change", "deployed v1.4.2 from cron"], None);
    // The note is durable once `warroom note` returns; the TUI polls the store every 300 ms.
    tui.wait_within(Duration::from_secs(2), "the other process's note within 2 s", |s| {
        s.contains("deployed v1.4.2 from cron")
    });
    tui.quit();
}

#[test]
fn escape_sequences_in_notes_are_shown_inert() {
    let (dir, mut tui) = on_new_incident("Hostile input", "3");
    let evil = b"title\x1b]0;PWNED\x07 then\x1b[2J\x1b[H clear \x1b]52;c;ZXZpbA==\x07done\x1bc";
    cli(dir.path(), &["note", "-"], Some(evil));
    let s = tui.wait_for("the hostile note", |s| s.contains("done"));
    assert!(s.contains("title then clear done"), "{s}");
    // The screen was not cleared: header and border are still there.
    assert!(s.contains("Hostile input") && s.contains("Timeline"), "{s}");
    assert!(!s.contains("PWNED"));
    tui.send("\r"); // the detail popup shows the full text, also inert
    let s = tui.wait_for("the detail popup", |s| s.contains("Event"));
    assert!(s.contains("Hostile input"), "{s}");
    let titles = tui.parser.lock().unwrap().callbacks().titles.clone();
    assert!(titles.iter().all(|t| !t.contains("PWNED")), "{titles:?}");
    tui.send("\x1b");
    tui.wait_for("the popup to close", |s| !s.contains("Id    "));
    tui.quit();
}

#[test]
fn unknown_theme_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["--theme", "neon"])
        .envs(env(dir.path()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown theme `neon`") && err.contains("16-colour"), "{err}");
}

#[test]
fn sighup_restores_and_keeps_the_draft() {
    let (dir, mut tui) = on_new_incident("SSH drop", "2");
    tui.send("n");
    tui.wait_for("the composer", |s| s.contains("New note"));
    tui.send("half-typed when the link died");
    tui.wait_for("the typed text", |s| s.contains("half-typed when the link died"));
    let pid = tui.child.process_id().expect("child pid");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid is positive"),
        rustix::process::Signal::HUP,
    )
    .unwrap();
    tui.wait_exit();
    assert!(!tui.parser.lock().unwrap().screen().alternate_screen());
    // A new session finds the draft waiting in the composer.
    let mut again = Tui::spawn(dir.path(), 24, 80);
    again.wait_for("the timeline", |s| s.contains("SSH drop"));
    again.send("n");
    again.wait_for("the kept draft", |s| s.contains("half-typed when the link died"));
}

#[test]
fn incident_flag_opens_that_incident() {
    let dir = tempfile::tempdir().unwrap();
    let first = cli(dir.path(), &["new", "Older incident", "--sev", "3"], None);
    cli(dir.path(), &["new", "Newer incident", "--sev", "2"], None);
    let prefix = &first.trim()[..13];
    let mut tui = Tui::spawn_with(dir.path(), 24, 80, &["--incident", prefix], &[]);
    let s = tui.wait_for("the chosen incident", |s| s.contains("Older incident"));
    assert!(!s.contains("Newer incident"), "{s}");
    tui.quit();
}

#[test]
fn no_color_draws_without_colour_but_marks_sev() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path(), &["new", "Monochrome", "--sev", "1"], None);
    let mut tui = Tui::spawn_with(dir.path(), 24, 80, &["--theme", "light"], &[("NO_COLOR", "1")]);
    tui.wait_for("the timeline", |s| s.contains("Monochrome") && s.contains("Timeline"));
    {
        let p = tui.parser.lock().unwrap();
        let screen = p.screen();
        for row in 0..24 {
            for col in 0..80 {
                let c = screen.cell(row, col).unwrap();
                assert_eq!(c.fgcolor(), vt100::Color::Default, "fg colour at {row},{col}");
                assert_eq!(c.bgcolor(), vt100::Color::Default, "bg colour at {row},{col}");
            }
        }
        let sev = screen.cell(0, 1).unwrap();
        assert!(sev.inverse() && sev.bold(), "SEV1 badge is bold reverse");
    }
    tui.quit();
}

#[test]
fn tiny_terminal_shows_a_message_and_still_quits() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path(), &["new", "Small screen", "--sev", "2"], None);
    let mut tui = Tui::spawn(dir.path(), 12, 50);
    tui.wait_for("the too-small message", |s| s.contains("Terminal too small: 50x12"));
    tui.quit();
}

// ---- two TUIs on one real server ----------------------------------------------------------

/// `warroom serve --insecure-loopback` with its own db and an empty config of its own, so
/// nothing from the machine running the test leaks in.
fn serve(db: &Path) -> ServerProc {
    std::fs::write(db.with_extension("toml"), "").unwrap();
    ServerProc::warroom(db, &db.with_extension("toml"))
}

/// A config naming the responder, so presence tells the two TUIs apart.
fn named_config(dir: &Path, name: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, format!("[user]\nname = \"{name}\"\ntimezone = \"UTC\"\n")).unwrap();
    p.display().to_string()
}

/// The header row (first line of the screen).
fn header(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[test]
fn two_tuis_share_notes_through_a_server_and_survive_it_going_away() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let db = tmp.path().join("server.db");
    let mut server = serve(&db);
    let url = server.url();

    // Ana opens the incident locally; her TUI pushes it when it connects.
    cli(&a_dir, &["new", "Shared outage", "--sev", "2"], None);
    let id = warroom::store::Store::open(&a_dir.join("data")).unwrap().resolve_incident(None).unwrap();
    let a_cfg = named_config(&a_dir, "ana");
    let mut a =
        Tui::spawn_with(&a_dir, 24, 100, &[], &[("WARROOM_SERVER", &url), ("WARROOM_CONFIG", &a_cfg)]);
    a.wait_for("ana's header to say synced", |s| {
        header(s).contains("Shared outage") && header(s).contains("synced")
    });

    // Bo joins it by id, then opens his TUI on the same server.
    let out = cli(&b_dir, &["join", &url, &id.to_string()], None);
    assert!(out.contains("joined") && out.contains("Shared outage"), "{out}");
    let b_cfg = named_config(&b_dir, "bo");
    let mut b =
        Tui::spawn_with(&b_dir, 24, 100, &[], &[("WARROOM_SERVER", &url), ("WARROOM_CONFIG", &b_cfg)]);
    b.wait_for("bo's header to say synced", |s| {
        header(s).contains("Shared outage") && header(s).contains("synced")
    });
    // Presence: each sees the other, never themselves.
    let s = a.wait_for("ana to see bo viewing", |s| header(s).contains("with bo"));
    assert!(!header(&s).contains("with ana"), "{s}");
    b.wait_for("bo to see ana viewing", |s| header(s).contains("with ana"));

    // A note written in ana's TUI appears in bo's.
    a.send("n");
    a.wait_for("the composer", |s| s.contains("New note"));
    a.send("rolled back deploy 4711");
    a.send("\r");
    a.wait_for("the note saved", |s| s.contains("rolled back deploy 4711") && !s.contains("New note"));
    b.wait_for("ana's note in bo's timeline", |s| s.contains("rolled back deploy 4711"));

    // The server dies: ana keeps writing, the header says offline with the note pending.
    server.kill();
    a.wait_for("ana's header to go offline", |s| header(s).contains("offline"));
    a.send("n");
    a.wait_for("the composer", |s| s.contains("New note"));
    a.send("written while the server was down");
    a.send("\r");
    a.wait_for("offline with the note pending", |s| {
        header(s).contains("offline") && header(s).contains("1 pending")
    });
    assert!(!header(&a.screen()).contains("with bo"), "presence is live state, gone when offline");

    // Back on the same port with the same db: the outbox drains and bo gets the note.
    server.start_again();
    // The client probes an unreachable server every second, so it is back within a few seconds
    // (not at the end of a backoff); the deadline only leaves room for a loaded machine.
    let deadline = Duration::from_secs(20);
    a.wait_within(deadline, "ana to drain to synced", |s| header(s).contains("synced"));
    b.wait_within(deadline, "the offline note in bo's timeline", |s| {
        s.contains("written while the server was down")
    });

    a.send("q");
    b.send("q");
    assert!(a.wait_exit().success());
    assert!(b.wait_exit().success());
    drop(server);
}

/// The lost-note bug, end to end with real processes: a cockpit with a server configured (its sync
/// task holds a second connection to the store), a CLI command run beside it, a note typed after
/// that, then SIGHUP (an SSH drop). The note must be visible to other processes while the cockpit
/// runs, survive the hang-up, and be in the export. Before the fix the CLI's close unlinked the
/// cockpit's live WAL and the note went into a deleted file.
#[test]
fn a_note_typed_after_a_cli_command_beside_a_synced_cockpit_survives_sighup() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    std::fs::create_dir_all(&dir).unwrap();
    let server = serve(&tmp.path().join("server.db"));
    let url = server.url();
    cli(&dir, &["new", "wal test", "--sev", "2"], None);
    let mut tui = Tui::spawn_with(&dir, 30, 120, &[], &[("WARROOM_SERVER", &url)]);
    tui.wait_for("the header to say synced", |s| {
        header(s).contains("wal test") && header(s).contains("synced")
    });

    // Any CLI command beside the cockpit.
    cli(&dir, &["status"], None);
    let pid = tui.child.process_id().expect("child pid");
    let unlinked: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .filter(|p| p.contains("-wal") && p.ends_with("(deleted)"))
        .collect();
    assert!(unlinked.is_empty(), "the cockpit writes into an unlinked WAL: {unlinked:?}");

    tui.send("n");
    tui.wait_for("the composer", |s| s.contains("New note"));
    tui.send("typed after the CLI ran");
    tui.send("\r");
    tui.wait_for("the note saved", |s| s.contains("typed after the CLI ran") && !s.contains("New note"));
    // Another process sees it while the cockpit still runs.
    let json = cli(&dir, &["export", "--format", "json"], None);
    assert!(json.contains("typed after the CLI ran"), "another process cannot see the note: {json}");

    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid is positive"),
        rustix::process::Signal::HUP,
    )
    .unwrap();
    tui.wait_exit();
    let md = cli(&dir, &["export"], None);
    assert!(md.contains("typed after the CLI ran"), "the note is not in the export after SIGHUP:\n{md}");
    let store = warroom::store::Store::open(&dir.join("data")).unwrap();
    let id = store.resolve_incident(None).unwrap();
    let notes = store.events(id).unwrap().into_iter().filter(|e| {
        matches!(&e.kind, warroom::incident::EventKind::Note { text, .. } if text == "typed after the CLI ran")
    });
    assert_eq!(notes.count(), 1, "the note is in the store exactly once");
}

/// The seed incident, end to end: filter the process pane to a CPU hog, F9, give a reason,
/// confirm; the hog dies, the timeline shows the kill and the export holds it. Our own parent
/// (this test process, which started warroom) is refused on screen.
#[test]
fn process_pane_kills_a_filtered_hog_and_refuses_our_parent() {
    let dir = tempfile::tempdir().unwrap();
    cli(dir.path(), &["new", "CPU pegged on api-3", "--sev", "2"], None);
    // A distinctive cmdline: a script path no other process has.
    let script = dir.path().join(format!("wrhog-{}.sh", std::process::id()));
    std::fs::write(&script, "while :; do :; done\n").unwrap();
    let mut hog = Command::new("sh").arg(&script).spawn().unwrap();
    let tag = script.file_name().unwrap().to_string_lossy().into_owned();

    let mut tui = Tui::spawn(dir.path(), 24, 80);
    tui.wait_for("the timeline", |s| s.contains("CPU pegged on api-3"));
    // Pane 4, with or without a team file: numbers never move.
    tui.send("4");
    tui.wait_for("the process table", |s| s.contains("COMMAND") && s.contains("CPU["));
    tui.send(&format!("/{tag}\r"));
    tui.wait_for("the hog, alone", |s| s.contains(&tag) && s.contains(" 1/"));
    tui.send("\x1b[20~"); // F9
    tui.wait_for("the kill guard", |s| s.contains(&format!("Signal sh (pid {})", hog.id())));
    tui.send("\r");
    tui.wait_for("the reason demand", |s| s.contains("a reason is required"));
    tui.send("runaway loop from the pty test\r");
    tui.wait_for("the exit", |s| s.contains("exited after SIGTERM"));
    let start = Instant::now();
    while hog.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < DEADLINE, "the hog survived");
        std::thread::sleep(Duration::from_millis(30));
    }
    tui.send("\x1b");
    tui.wait_for("the popup to close", |s| !s.contains("exited after SIGTERM"));
    tui.send("1");
    let s = tui.wait_for("the kill on the timeline", |s| {
        s.contains(&format!("Sent SIGTERM to sh (pid {}", hog.id()))
    });
    assert!(s.find("Evidence captured").unwrap() < s.find("Sent SIGTERM").unwrap(), "evidence first:\n{s}");

    // This test process is warroom's parent.
    let me = std::env::current_exe().unwrap();
    let me = me.file_name().unwrap().to_string_lossy().into_owned();
    tui.send("4/");
    tui.send("\x15"); // C-u: clear the old filter
    tui.send(&format!("{me}\r"));
    tui.wait_for("this test process in the table", |s| s.contains(" 1/") && s.contains(&me[..8]));
    tui.send("x");
    tui.wait_for("the refusal", |s| s.contains("Refused") && s.contains("ancestor of warroom"));
    tui.send("stop\r");
    tui.wait_for("the refusal again", |s| s.contains("refused:"));
    tui.send("\x1b");
    tui.wait_for("the popup to close", |s| !s.contains("Refused"));
    tui.quit();

    let json = cli(dir.path(), &["export", "--format", "json"], None);
    assert!(json.contains("process_signalled") && json.contains("runaway loop from the pty test"), "{json}");
    assert!(json.contains("evidence_captured"), "{json}");
    assert_eq!(json.matches("process_signalled").count(), 1, "the refused attempt records nothing");
}

#[test]
fn runbook_attach_tick_run_update_then_timeline_and_export() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("runbooks")).unwrap();
    std::fs::write(
        dir.path().join("runbooks/e2e.md"),
        "+++\ntitle = \"Checkout e2e\"\nseverity = [2]\n+++\n# E2E checks\n\n## Look\n\n\
         - [ ] Say hello\n  ```sh\n  echo hello-from-runbook\n  ```\n- [ ] Check the dashboard\n\n\
         ## Fix\n\n- [ ] Roll back\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[user]\nname = \"tester\"\ntimezone = \"UTC\"\n[runbooks]\ndir = \"runbooks\"\n",
    )
    .unwrap();
    cli(dir.path(), &["new", "Checkout down", "--sev", "2"], None);
    let mut tui = Tui::spawn(dir.path(), 24, 80);
    let s = tui.wait_for("the header countdown", |s| s.contains("Checkout down") && s.contains("upd in 30m"));
    assert!(s.contains("3 Runbooks"), "pane numbers never move: {s}");
    tui.send("3");
    let s = tui.wait_for("the runbook list", |s| s.contains("Checkout e2e"));
    // Runbooks for this severity, by title: ours, then the built-in ones.
    let first = s.lines().position(|l| l.contains("Checkout e2e")).unwrap();
    let builtin = s.lines().position(|l| l.contains("Disk full")).unwrap();
    assert!(first < builtin, "{s}");
    tui.send("\r");
    tui.wait_for("the open runbook", |s| s.contains("[ ] Say hello") && s.contains("not attached"));
    tui.send("A");
    tui.wait_for("attached", |s| s.contains("0/3  attached"));
    tui.send(" ");
    tui.wait_for("the first tick", |s| s.contains("[x] Say hello"));
    tui.send("j ");
    tui.wait_for("the second tick", |s| s.contains("[x] Check the dashboard") && s.contains("2/3"));
    tui.send("kr");
    let s = tui.wait_for("the run confirm", |s| s.contains("Run command"));
    assert!(s.contains("echo hello-from-runbook"), "{s}");
    tui.send("y");
    let s = tui.wait_for("the command's end", |s| s.contains("exited with status 0"));
    assert!(s.contains("hello-from-runbook"), "{s}");
    tui.send("\x1b");
    tui.wait_for("the popup to close", |s| !s.contains("exited with status 0"));
    tui.send("u");
    tui.wait_for("the status composer", |s| s.contains("Status update"));
    tui.send("Rolled back; errors falling\t\r");
    tui.wait_for("the composer to close", |s| !s.contains("Status update"));
    tui.send("1");
    let s = tui.wait_for("the timeline", |s| s.contains("Ran `echo hello-from-runbook` → exit 0"));
    assert!(s.contains("Runbook attached: Checkout e2e"), "{s}");
    assert!(s.contains("Evidence captured"), "{s}");
    assert!(s.contains("Status update (stakeholders): Rolled back"), "{s}");
    tui.quit();

    let md = cli(dir.path(), &["export"], None);
    assert!(md.contains("#### Checkout e2e (`e2e`)"), "{md}");
    assert!(md.contains("2/3 steps done."), "{md}");
    assert!(md.contains("- [x] Say hello — done") && md.contains("by tester"), "{md}");
    assert!(md.contains("- [x] Check the dashboard — done"), "{md}");
    assert!(md.contains("- [ ] Roll back — not done"), "{md}");
    assert!(md.contains("ran `echo hello-from-runbook` at"), "{md}");
    assert!(md.contains("→ exit 0"), "{md}");
    assert!(md.contains("## Status updates"), "{md}");
    assert!(md.contains("to stakeholders by tester: Rolled back; errors falling"), "{md}");
    assert!(md.contains("## Evidence"), "{md}");
}

#[test]
fn invisible_characters_never_scramble_the_80x24_screen() {
    // A ZWJ, a zero-width space, a BOM and a bidi override in the title: terminals and ratatui
    // disagree on their widths, which left the header reading `open 013s` and fragments behind.
    let dir = tempfile::tempdir().unwrap();
    let title = "DB\u{200d}\u{200b} failover\u{feff} stuck\u{202e} in\u{2066} us-east";
    cli(dir.path(), &["new", title, "--sev", "1"], None);
    let mut tui = Tui::spawn(dir.path(), 24, 80);
    let s = tui.wait_for("the header", |s| s.contains("NOT ACKED"));
    let header = s.lines().next().unwrap();
    assert!(header.contains(" DB failover stuck "), "a readable, clean part of the title: {header}");
    assert!(header.contains("│ open ") && header.trim_end().ends_with("NOT ACKED"), "{header}");
    // Fixed pane numbers without a team file: the process pane is 4.
    assert!(s.lines().nth(1).unwrap().contains("4 Processes"), "{s}");
    tui.send("2");
    tui.wait_for("how to get a team file", |s| s.contains("warroom team init"));
    tui.quit();
}
