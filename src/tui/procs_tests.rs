//! The process pane and the kill guard popup, driven through the App with fixed snapshots
//! (no /proc reads in what is rendered), plus real child processes for the kill paths.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, ProcsMsg, ProcsOptions};
use super::fixture;
use super::panes::Processes;
use super::popups::Popup;
use super::popups::kill::{GuardField, KillGuard, Stage};
use super::queue::Command;
use super::render::render;
use crate::incident::EventKind;
use crate::procs::{CpuUsage, Meters, ProcessRow, Sig, Snapshot, Verdict, guarded_kill};

pub(super) fn now() -> DateTime<Utc> {
    fixture::opened_at() + chrono::Duration::minutes(47)
}

pub(super) fn row(pid: i32, ppid: i32, name: &str, cmdline: &str, cpu: f32, rss_mb: u64) -> ProcessRow {
    let uid = rustix::process::getuid().as_raw();
    ProcessRow {
        pid,
        ppid,
        start_time: 1000 + pid as u64,
        name: Arc::from(name),
        cmdline: Arc::from(cmdline),
        user: Arc::from("app"),
        uid,
        state: if cpu > 50.0 { 'R' } else { 'S' },
        threads: 1,
        nice: 0,
        priority: 20,
        rss_bytes: rss_mb << 20,
        vsize_bytes: 0,
        cpu_percent: cpu,
        cpu_time_ticks: (cpu as u64) * 1000,
        kernel_thread: false,
        unit: None,
        container: None,
    }
}

/// Pids near the top of the default 64-bit pid_max (4194304), where no test box has reached; and
/// were one taken, the start times here would not match it, so the guard would still refuse.
pub(super) const FAKE: i32 = 4_190_000;

pub(super) fn fixed_snapshot() -> Snapshot {
    let mut rows = vec![
        row(1, 0, "systemd", "/sbin/init splash", 0.0, 12),
        row(FAKE + 812, 1, "sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 0.0, 8),
        row(FAKE + 4242, 1, "java", "java -Xmx8g -jar /opt/billing/billing.jar --port 8080", 92.3, 6100),
        row(FAKE + 4300, FAKE + 4242, "java", "java -cp /opt/billing/worker.jar Worker", 12.5, 900),
        row(FAKE + 900, 1, "postgres", "postgres: checkpointer", 3.1, 300),
        row(FAKE + 5000, FAKE + 812, "bash", "-bash", 0.2, 5),
        row(FAKE + 5100, FAKE + 5000, "evil", "evil \u{1b}[2Jcleared? \u{7}bell", 1.0, 1),
    ];
    let mut kt = row(2, 0, "kthreadd", "", 0.0, 0);
    kt.kernel_thread = true;
    rows.insert(1, kt);
    rows.push(row(FAKE + 950, 1, "billing-sync", "billing-sync --once", 0.5, 40));
    // System processes belong to root whoever runs the tests (the snapshots show the user).
    for r in rows.iter_mut().filter(|r| [1, 2, FAKE + 812].contains(&r.pid)) {
        r.uid = 0;
        r.user = Arc::from("root");
    }
    let cpu = |b: f32| CpuUsage { busy: b, user: b * 0.8, system: b * 0.2, ..Default::default() };
    Snapshot {
        seq: 7,
        clock_ticks: 100,
        meters: Meters {
            cpu: cpu(63.5),
            per_cpu: vec![cpu(98.0), cpu(29.0)],
            mem_total: 16 << 30,
            mem_used: 9 << 30,
            mem_available: 7 << 30,
            swap_total: 2 << 30,
            swap_used: 1 << 28,
            load: [3.12, 2.50, 1.75],
            uptime_secs: 3.0 * 86400.0 + 5000.0,
            tasks: 8,
            threads: 40,
            running: 2,
        },
        processes: rows,
        unreadable: 0,
    }
}

pub(super) struct H {
    pub(super) app: App,
    _dir: tempfile::TempDir,
}

pub(super) fn harness(grace: Duration) -> H {
    let super::tests::Harness { mut app, dir } = super::tests::sample_with("default", |o| {
        o.procs = ProcsOptions { critical: vec!["billing*".into()], grace };
    });
    let procs = app.panes.iter().position(|p| p.name() == "Processes").expect("the process pane exists");
    app.focus = procs;
    let mut h = H { app, _dir: dir };
    h.snap(fixed_snapshot());
    h
}

impl H {
    pub(super) fn key(&mut self, code: KeyCode) -> &mut Self {
        self.app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), now());
        self
    }
    pub(super) fn chars(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }
    pub(super) fn snap(&mut self, s: Snapshot) {
        self.app.update(Action::Procs(ProcsMsg::Snapshot(Arc::new(s))), now());
    }
    fn pane(&self) -> &Processes {
        self.app
            .panes
            .iter()
            .find_map(|p| p.as_any()?.downcast_ref::<Processes>())
            .expect("the process pane is registered")
    }
    fn pids(&self) -> Vec<i32> {
        self.pane().shown_pids()
    }
    fn selected(&self) -> i32 {
        self.pane().selected_row().unwrap().pid
    }
    pub(super) fn select(&mut self, pid: i32) {
        self.key(KeyCode::Char('g'));
        while self.selected() != pid {
            let before = self.selected();
            self.key(KeyCode::Char('j'));
            assert_ne!(before, self.selected(), "pid {pid} not shown: {:?}", self.pids());
        }
    }
    fn guard(&self) -> &KillGuard {
        match self.app.popups.last() {
            Some(Popup::Kill(g)) => g,
            other => panic!("no kill popup: {other:?}"),
        }
    }
    pub(super) fn text(&self, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| render(&self.app, f, now())).unwrap();
        let buf = term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
    /// The kills queued for the event loop.
    fn jobs(&self) -> Vec<&Command> {
        self.app.queue.iter().filter(|c| matches!(c, Command::Kill { .. })).collect()
    }
    /// Runs the queued jobs here (the event loop runs them on the blocking pool).
    fn run_jobs(&mut self) {
        for job in self.app.queue.take_where(|c| matches!(c, Command::Kill { .. })) {
            let Command::Kill { req, ctx } = job else { unreachable!("only kills were taken") };
            let result = guarded_kill(&req, &ctx).map_err(|e| e.to_string());
            self.app.update(Action::KillDone(result), now());
        }
    }
    /// What the incident's stored events record, in order.
    fn recorded(&self) -> Vec<EventKind> {
        let id = self.app.incident().unwrap();
        self.app.store.events(id).unwrap().into_iter().map(|e| e.kind).collect()
    }
    /// The `process_outcome` records: (exited, outcome text).
    fn outcomes(&self) -> Vec<(bool, String)> {
        self.recorded()
            .into_iter()
            .filter_map(|k| match k {
                EventKind::ProcessOutcome { exited, outcome, .. } => Some((exited, outcome)),
                _ => None,
            })
            .collect()
    }
    /// The `process_signalled` records this test wrote (the sample incident has one of its own).
    fn signalled(&self) -> Vec<(String, String, String)> {
        self.recorded()
            .into_iter()
            .filter_map(|k| match k {
                EventKind::ProcessSignalled { signal, reason, outcome, pid, .. } if pid != 4121 => {
                    Some((signal, reason, outcome))
                }
                _ => None,
            })
            .collect()
    }
}

#[test]
fn until_moved_the_top_row_stays_selected() {
    let mut h = harness(Duration::from_secs(10));
    let mut first = fixed_snapshot();
    first.processes.iter_mut().for_each(|r| r.cpu_percent = 0.0);
    h.snap(first);
    assert_eq!(h.selected(), 1, "all idle: pid order");
    h.snap(fixed_snapshot());
    assert_eq!(h.selected(), FAKE + 4242, "the hog on top is selected, not pid 1 where it went");
}

#[test]
fn sort_cycles_and_inverts_and_the_selection_follows() {
    let mut h = harness(Duration::from_secs(10));
    assert_eq!(h.pids()[..3], [FAKE + 4242, FAKE + 4300, FAKE + 900], "cpu, biggest first");
    h.select(FAKE + 900);
    h.key(KeyCode::F(6));
    assert_eq!(h.pane().sort, crate::procs::SortKey::Mem);
    assert_eq!(h.pids()[0], FAKE + 4242);
    assert_eq!(h.selected(), FAKE + 900, "the selection follows its process across a re-sort");
    h.key(KeyCode::Char('>'));
    assert_eq!(h.pids()[..2], [1, FAKE + 812], "pid, ascending (kernel threads hidden)");
    h.key(KeyCode::Char('I'));
    assert_eq!(h.pids()[0], FAKE + 5100, "inverted");
    h.key(KeyCode::Char('<'));
    assert_eq!(h.pane().sort, crate::procs::SortKey::Mem);
    assert_eq!(h.selected(), FAKE + 900);

    // A refresh that reorders the rows keeps the same process selected.
    let mut next = fixed_snapshot();
    next.processes.iter_mut().find(|r| r.pid == FAKE + 900).unwrap().rss_bytes = 1;
    h.snap(next);
    assert_eq!(h.selected(), FAKE + 900);
    // ...and when it is gone, the selection stays at its place instead of jumping to the top.
    let mut gone = fixed_snapshot();
    gone.processes.retain(|r| r.pid != FAKE + 900);
    h.key(KeyCode::Char('j')).key(KeyCode::Char('k'));
    let at = h.pids().iter().position(|p| *p == h.selected()).unwrap();
    h.snap(gone);
    assert_eq!(h.pids().iter().position(|p| *p == h.selected()).unwrap(), at.min(h.pids().len() - 1));
}

#[test]
fn filter_on_name_and_cmdline_and_esc_clears() {
    let mut h = harness(Duration::from_secs(10));
    h.key(KeyCode::Char('/')).chars("billing");
    assert_eq!(h.pids(), [FAKE + 4242, FAKE + 4300, FAKE + 950], "name and cmdline match");
    h.key(KeyCode::Enter);
    let title = h.app.panes[h.app.focus].title();
    assert!(title.contains("/billing · 3/9"), "{title}");
    h.key(KeyCode::Char('/')).key(KeyCode::Esc);
    assert_eq!(h.pids().len(), 8, "every process but the kernel thread");
    h.key(KeyCode::Char('/')).chars("SSHD").key(KeyCode::Enter);
    assert_eq!(h.pids(), [FAKE + 812], "name matches, case-insensitive");
    h.key(KeyCode::Char('/')).key(KeyCode::Esc).key(KeyCode::Char('/')).chars("nothing-like-this");
    assert!(h.text(80, 24).contains("No process matches the filter."));
}

#[test]
fn kernel_threads_are_hidden_until_k() {
    let mut h = harness(Duration::from_secs(10));
    assert!(!h.pids().contains(&2));
    assert!(!h.text(80, 24).contains("[kthreadd]"));
    h.key(KeyCode::Char('K'));
    assert!(h.pids().contains(&2));
    assert!(h.text(80, 24).contains("[kthreadd]"));
    h.key(KeyCode::F(5));
    assert!(h.pids().contains(&2), "in the tree too");
    h.key(KeyCode::Char('K'));
    assert!(!h.pids().contains(&2));
}

#[test]
fn space_pauses_the_view_and_resuming_shows_the_newest() {
    let mut h = harness(Duration::from_secs(10));
    h.key(KeyCode::Char(' '));
    assert!(h.pane().paused && h.text(80, 24).contains("PAUSED"));
    let mut next = fixed_snapshot();
    next.processes.push(row(FAKE + 7777, 1, "newcomer", "newcomer --now", 99.0, 1));
    h.snap(next);
    assert!(!h.pids().contains(&(FAKE + 7777)), "paused: the view is frozen");
    h.key(KeyCode::Char(' '));
    assert_eq!(h.pids()[0], FAKE + 7777, "resumed with the snapshot that came meanwhile");
    assert!(!h.text(80, 24).contains("PAUSED"));
}

#[test]
fn f5_shows_the_tree_and_back() {
    let mut h = harness(Duration::from_secs(10));
    h.select(FAKE + 5100);
    h.key(KeyCode::F(5));
    assert!(h.pane().tree);
    let pids = h.pids();
    let pos = |p: i32| pids.iter().position(|x| *x == p).unwrap();
    assert!(pos(FAKE + 812) < pos(FAKE + 5000) && pos(FAKE + 5000) < pos(FAKE + 5100), "{pids:?}");
    assert_eq!(pos(FAKE + 4300), pos(FAKE + 4242) + 1, "child right under its parent");
    assert_eq!(h.selected(), FAKE + 5100);
    let screen = h.text(200, 50);
    assert!(screen.contains("  └ evil"), "{screen}");
    h.key(KeyCode::F(5));
    assert!(!h.pane().tree);
    assert_eq!(h.pids()[0], FAKE + 4242);
}

#[test]
fn guard_refuses_pid_1_and_our_own_parent() {
    let mut h = harness(Duration::from_secs(10));
    h.select(1);
    h.key(KeyCode::F(9));
    assert!(matches!(&h.guard().verdict, Verdict::Refuse { reason } if reason.contains("PID 1")));
    // A reason typed into a refusal is refused out loud, not swallowed.
    h.chars("any");
    assert_eq!(h.guard().error.as_deref(), Some("refused: nothing can be sent to this process; Esc closes"));
    assert!(h.text(80, 24).contains("nothing can be sent"), "{}", h.text(80, 24));
    h.chars("thing").key(KeyCode::Enter);
    assert!(h.guard().error.as_deref().unwrap_or("").starts_with("refused"), "{:?}", h.guard().error);
    assert!(h.jobs().is_empty(), "nothing is sent for a refused process");
    assert!(h.text(80, 24).contains("Refused"));
    h.key(KeyCode::Esc);
    assert!(h.app.popups.is_empty());

    let parent = rustix::process::getppid().map_or(1, |p| p.as_raw_nonzero().get());
    let mut snap = fixed_snapshot();
    snap.processes.push(row(parent, 1, "cargo", "cargo test", 200.0, 1));
    h.snap(snap);
    h.select(parent);
    h.key(KeyCode::Char('x'));
    assert!(
        matches!(&h.guard().verdict, Verdict::Refuse { reason } if reason.contains("ancestor")),
        "{:?}",
        h.guard().verdict
    );
    h.chars("stop it").key(KeyCode::Enter);
    assert!(h.jobs().is_empty());
}

#[test]
fn critical_names_need_the_name_typed_and_a_reason_is_required() {
    let mut h = harness(Duration::from_secs(10));
    h.select(FAKE + 812);
    h.key(KeyCode::F(9));
    assert!(matches!(h.guard().verdict, Verdict::RequireTypedName { .. }), "sshd is critical");
    h.key(KeyCode::Enter);
    assert!(h.guard().error.as_deref().unwrap().contains("reason is required"));
    h.chars("listener stuck").key(KeyCode::Enter);
    assert!(h.guard().error.as_deref().unwrap().contains("type the process name `sshd`"));
    assert!(h.jobs().is_empty());
    h.chars("ssh").key(KeyCode::Enter);
    assert!(h.jobs().is_empty(), "a partial name is not enough");
    h.chars("d").key(KeyCode::Enter);
    assert_eq!(h.jobs().len(), 1);
    assert_eq!(h.guard().stage, Stage::Running);
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.popups.last(), Some(Popup::Kill(_))), "no closing while the kill runs");
    // The process does not exist: recorded as gone, never a panic, the popup says so.
    h.run_jobs();
    let rec = h.signalled();
    assert_eq!(rec.len(), 1);
    assert_eq!((rec[0].0.as_str(), rec[0].1.as_str()), ("TERM", "listener stuck"));
    assert!(rec[0].2.contains("already exited"), "{rec:?}");
    assert!(matches!(&h.guard().stage, Stage::Done { message, .. } if message.contains("already exited")));
    // Typed text on the result is refused out loud, never swallowed; `n` closes it and opens
    // the composer.
    h.key(KeyCode::Char('x'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Kill(_))));
    assert!(h.text(80, 24).contains("x does nothing in this dialog: Esc closes it"));
    h.key(KeyCode::Char('n'));
    assert!(h.app.popups.is_empty() && h.app.composer.open, "n on a kill's result opens the composer");
    h.key(KeyCode::Esc);

    // `[procs] critical` adds to the built-in list.
    h.select(FAKE + 950);
    h.key(KeyCode::F(9));
    assert!(
        matches!(&h.guard().verdict, Verdict::RequireTypedName { reason } if reason.contains("billing*"))
    );
    h.key(KeyCode::Esc);

    h.select(FAKE + 4300);
    h.key(KeyCode::F(9));
    assert_eq!(h.guard().verdict, Verdict::Allow);
    h.key(KeyCode::Down).key(KeyCode::Down).key(KeyCode::Down);
    assert_eq!(h.guard().chosen(), Sig::Quit, "↑/↓ pick the signal");
    h.key(KeyCode::Enter);
    assert!(h.guard().error.as_deref().unwrap().contains("reason is required"));
    h.key(KeyCode::Esc);
    assert!(h.app.popups.is_empty() && h.jobs().is_empty());
}

/// Waits (up to 10 s) until `pid` runs `prog` (its exec happened).
pub(super) fn wait_exec(pid: i32, prog: &str) {
    let start = Instant::now();
    while !std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(prog.as_bytes()) {
        assert!(start.elapsed() < Duration::from_secs(10), "pid {pid} never ran {prog}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(super) fn real_row(child: &std::process::Child, name: &str) -> ProcessRow {
    let pid = child.id() as i32;
    let mut r = row(pid, std::process::id() as i32, name, &format!("{name} 30"), 1.0, 1);
    r.start_time = crate::procs::signal::current_start_time(pid).unwrap();
    r
}

#[test]
fn a_reason_typed_after_a_tab_too_many_goes_to_the_reason() {
    let mut h = harness(Duration::from_secs(10));
    h.select(FAKE + 812);
    h.key(KeyCode::F(9));
    assert_eq!(h.guard().field, GuardField::Reason, "the reason has the keys first");
    // Tab twice: past the typed name to the evidence row, which takes no typing.
    h.key(KeyCode::Tab).key(KeyCode::Tab);
    assert_ne!(h.guard().field, GuardField::Reason);
    // 'k' and 'x' are bound on other rows (scope, evidence toggle): here they are typing.
    h.chars("kex listener stuck");
    assert_eq!(h.guard().field, GuardField::Reason);
    assert_eq!(h.guard().answers.reason.value, "kex listener stuck");
    // Space on the evidence row still toggles it, not a typed space.
    h.key(KeyCode::Tab).key(KeyCode::Tab);
    assert_eq!(h.guard().field, GuardField::Evidence);
    let before = h.guard().evidence;
    h.key(KeyCode::Char(' '));
    assert_ne!(h.guard().evidence, before);
    assert_eq!(h.guard().answers.reason.value, "kex listener stuck");
}

#[test]
fn term_is_watched_then_kill_is_offered_and_both_are_recorded() {
    let mut h = harness(Duration::from_secs(1));
    // Ignores TERM (an ignored disposition survives exec), so only KILL ends it.
    let mut child =
        std::process::Command::new("sh").args(["-c", "trap '' TERM; exec sleep 30"]).spawn().unwrap();
    wait_exec(child.id() as i32, "sleep");
    let mut snap = fixed_snapshot();
    snap.processes.push(real_row(&child, "sleep"));
    h.snap(snap);
    h.select(child.id() as i32);
    h.key(KeyCode::F(9));
    // Evidence off: this test is about the signals (evidence has its own tests in procs).
    h.key(KeyCode::Tab).key(KeyCode::Char(' '));
    assert!(!h.guard().evidence);
    h.key(KeyCode::Tab).key(KeyCode::Tab).key(KeyCode::Tab).chars("stuck sleeper").key(KeyCode::Enter);
    h.run_jobs();
    assert!(matches!(h.guard().stage, Stage::Watching { remaining: 1, .. }), "{:?}", h.guard().stage);
    assert!(h.text(80, 24).contains("SIGTERM sent"));
    // The grace passes with the process still alive.
    h.app.update(Action::Tick, now() + chrono::Duration::seconds(2));
    assert_eq!(h.guard().stage, Stage::Escalate);
    assert!(h.text(80, 24).contains("Send SIGKILL"));
    h.key(KeyCode::Enter);
    h.run_jobs();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed: {status:?}");
    // Both carry the test's fixed time, so the stored order between them is the ids': sort.
    let mut rec = h.signalled();
    rec.sort();
    assert_eq!(rec.len(), 2, "{rec:?}");
    assert_eq!((rec[0].0.as_str(), rec[0].1.as_str()), ("KILL", "stuck sleeper (escalated to KILL)"));
    assert_eq!((rec[1].0.as_str(), rec[1].1.as_str()), ("TERM", "stuck sleeper"));
    assert!(rec[0].2.starts_with("sent") && rec[1].2.starts_with("sent"), "{rec:?}");
    let outcomes = h.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(!outcomes[0].0 && outcomes[0].1.contains("still running 1 s after SIGTERM"), "{outcomes:?}");
}

#[test]
fn term_that_works_ends_the_countdown_and_evidence_manifest_is_recorded() {
    let mut h = harness(Duration::from_secs(10));
    let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    wait_exec(child.id() as i32, "sleep");
    let mut snap = fixed_snapshot();
    snap.processes.push(real_row(&child, "sleep"));
    h.snap(snap);
    h.select(child.id() as i32);
    h.key(KeyCode::F(9)).chars("testing the guard").key(KeyCode::Enter);
    h.run_jobs();
    assert!(matches!(h.guard().stage, Stage::Watching { .. }), "{:?}", h.guard().stage);
    // Not reaped yet: a zombie counts as exited. The exit itself is asynchronous: tick until the
    // popup sees it (the grace, 10 s of App time, is never reached here).
    let start = Instant::now();
    while matches!(h.guard().stage, Stage::Watching { .. }) {
        assert!(start.elapsed() < Duration::from_secs(10), "sleep did not exit after TERM");
        std::thread::sleep(Duration::from_millis(20));
        h.app.update(Action::Tick, now() + chrono::Duration::seconds(1));
    }
    assert!(matches!(&h.guard().stage, Stage::Done { ok: true, message } if message.contains("exited")));
    child.wait().unwrap();
    let id = h.app.incident().unwrap();
    let events = h.app.store.events(id).unwrap();
    let evidence: Vec<_> = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::EvidenceCaptured { path, .. } if path.contains(&format!("{}", child.id()))))
        .collect();
    // Every file is recorded (the postmortem lists them); the timeline shows the capture as
    // one line, its manifest's.
    assert!(evidence.len() > 1, "{evidence:?}");
    let fold = crate::incident::export::EvidenceFold::of(&events);
    let shown: Vec<_> = evidence.iter().filter(|e| !fold.folds(e)).collect();
    assert_eq!(shown.len(), 1, "one timeline line per capture: {shown:?}");
    let EventKind::EvidenceCaptured { path, .. } = &shown[0].kind else { unreachable!() };
    assert!(path.ends_with("manifest.json") && std::path::Path::new(path).exists(), "{path}");
    let rec = h.signalled();
    assert_eq!(rec.len(), 1);
    let outcomes = h.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(outcomes[0].0 && outcomes[0].1.contains("after SIGTERM"), "{outcomes:?}");
}

#[test]
fn snapshot_process_pane_80x24() {
    let mut h = harness(Duration::from_secs(10));
    h.app.size = (80, 24);
    insta::assert_snapshot!(h.text(80, 24));
}

#[test]
fn snapshot_process_pane_200x50() {
    let mut h = harness(Duration::from_secs(10));
    h.app.size = (200, 50);
    h.key(KeyCode::Char('z'));
    insta::assert_snapshot!(h.text(200, 50));
}

#[test]
fn snapshot_kill_popup_80x24() {
    let mut h = harness(Duration::from_secs(10));
    h.select(FAKE + 812);
    h.key(KeyCode::F(9)).chars("listener stuck");
    insta::assert_snapshot!(h.text(80, 24));
}

#[test]
fn drawn_cmdlines_carry_no_control_characters() {
    let h = harness(Duration::from_secs(10));
    for (w, ht) in [(80, 24), (200, 50)] {
        let s = h.text(w, ht);
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
}

fn children_of(pid: i32) -> Vec<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    text.split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

#[test]
fn a_tree_is_previewed_and_killed_whole_from_the_pane_and_the_group_with_us_in_it_is_refused() {
    let mut h = harness(Duration::from_secs(10));
    let mut root =
        std::process::Command::new("sh").args(["-c", "sleep 300 & sleep 300 & wait"]).spawn().unwrap();
    let pid = root.id() as i32;
    let start = Instant::now();
    while children_of(pid).len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "two sleeps under the shell");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kids = children_of(pid);
    for k in &kids {
        wait_exec(*k, "sleep");
    }
    let mut snap = fixed_snapshot();
    let mut r = real_row(&root, "sh");
    r.cmdline = "sh -c sleep 300 & sleep 300 & wait".into();
    snap.processes.push(r);
    h.snap(snap);
    h.select(pid);
    h.key(KeyCode::F(9)).key(KeyCode::BackTab);
    assert_eq!(h.guard().field, super::popups::kill::GuardField::Scope);
    // Group: this test runs in the same process group: warroom itself (and its ancestors) are refused.
    h.key(KeyCode::Left);
    assert_eq!(h.guard().scope, crate::procs::killset::Scope::Group);
    let text = h.text(120, 40);
    // (In CI the group may also hold the runner's shell, an ancestor: refused either way.)
    assert!(text.contains("refused: the set contains"), "{text}");
    h.key(KeyCode::Tab).chars("batch runaway").key(KeyCode::Enter);
    assert!(
        h.guard().error.as_deref().unwrap_or("").starts_with("refused: the set contains"),
        "{:?}",
        h.guard().error
    );
    assert!(!h.app.queue.iter().any(|c| matches!(c, Command::KillSet { .. })));
    // Tree: the shell and both sleeps, each with its identity.
    assert_eq!(h.guard().field, super::popups::kill::GuardField::Scope, "the refusal points at the scope");
    h.key(KeyCode::Right).key(KeyCode::Right);
    assert_eq!(h.guard().scope, crate::procs::killset::Scope::Tree);
    let text = h.text(120, 40);
    for k in &kids {
        assert!(text.contains(&format!("{k}  start")), "member {k} previewed: {text}");
    }
    assert!(text.contains("its whole tree (3 processes"), "{text}");
    h.key(KeyCode::Enter);
    let jobs = h.app.queue.take_where(|c| matches!(c, Command::KillSet { .. }));
    let [Command::KillSet { incident, set, ctx, signal, reason, evidence_dir, at, grace }] = &jobs[..] else {
        panic!("{jobs:?}")
    };
    assert_eq!(set.members.len(), 3);
    let sent =
        crate::procs::killset::signal_set(set, ctx, *signal, reason, evidence_dir.as_deref(), *at).unwrap();
    h.app.update(Action::KillSetSent { incident: *incident, result: Ok(sent.clone()) }, now());
    assert!(
        matches!(&h.guard().stage, Stage::Done { message, ok: true } if message.contains("SIGTERM sent to 3 of 3"))
    );
    let events = crate::procs::killset::watch_outcomes(&sent.sent, *signal, *grace);
    h.app.update(Action::KillSetWatched { incident: *incident, events }, now());
    assert!(
        matches!(&h.guard().stage, Stage::Done { message, ok: true } if message.contains("all 3 signalled processes exited")),
        "{:?}",
        h.guard().stage
    );
    assert!(!root.wait().unwrap().success());
    let mut rec = h.signalled();
    rec.retain(|r| r.1 == "batch runaway");
    assert_eq!(rec.len(), 3, "{rec:?}");
    assert!(rec.iter().all(|r| r.0 == "TERM" && r.2.starts_with("sent")), "{rec:?}");
    assert_eq!(h.outcomes().iter().filter(|o| o.0).count(), 3);
    let id = h.app.incident().unwrap();
    let manifests = h.app.store.events(id).unwrap().into_iter().filter(|e| {
        matches!(&e.kind, EventKind::EvidenceCaptured { path, .. } if path.contains(&format!("/{pid}-")) && path.ends_with("manifest.json"))
    });
    assert_eq!(manifests.count(), 1, "the chosen process's evidence first");
}
