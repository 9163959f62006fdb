//! The whole event loop driven headless (gitui's `run_main_loop<B: Backend>`, television's
//! `run_headless`): the real `event_loop` on a `TestBackend`, keys sent through its input channel,
//! and its queued effects run by a real `Effects` against real things: a sync server on
//! 127.0.0.1:0, a child process that gets killed, a local HTTP receiver standing in for a pager.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

use super::app::{App, ProcsMsg};
use super::tests::{Harness, effects, options, sample, sample_with};
use super::{Inputs, event_loop};
use crate::config::Config;
use crate::incident::{Event, EventKind, Severity, Tag};
use crate::store::Store;

/// The loop's input channels, held by the test that drives it.
struct Driver {
    keys: mpsc::UnboundedSender<io::Result<TermEvent>>,
    procs: mpsc::Sender<ProcsMsg>,
}

impl Driver {
    fn new() -> (Driver, Inputs) {
        let (keys, terminal) = mpsc::unbounded_channel();
        let (procs, procs_rx) = mpsc::channel(1);
        (Driver { keys, procs }, Inputs { terminal, procs: procs_rx })
    }
    fn key(&self, code: KeyCode) -> &Self {
        let _ = self.keys.send(Ok(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))));
        self
    }
    fn chars(&self, s: &str) -> &Self {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }
}

/// What runs the loop headless: its effects (with `config`), the driver of its inputs and an
/// 80x24 test terminal.
fn headless(config: Config) -> (super::Effects, Driver, Inputs, Terminal<TestBackend>) {
    let (driver, inputs) = Driver::new();
    (effects(config), driver, inputs, Terminal::new(TestBackend::new(80, 24)).unwrap())
}

/// Waits (bounded) for `f`; panics naming `what` when it never holds.
async fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts a server with ana's and bo's tokens on the database `file`, listening on `listen`.
async fn start_server(file: std::path::PathBuf, listen: String) -> std::io::Result<crate::server::Running> {
    let opts = crate::server::ServeOptions::from_config(&listen, file, false, &ana_and_bo_server());
    crate::server::start(opts).await.map_err(std::io::Error::other)
}

/// The title of the incident `ana_cockpit` opens.
const ANA_TITLE: &str = "Queue backlog on ingest";

/// Ana's cockpit on a new incident of her own, its effects following the server at `url` with
/// her token (the sync task started).
fn ana_cockpit(url: &str) -> (Harness, super::Effects, crate::incident::IncidentId) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let open = Event::open(chrono::Utc::now(), super::tests::ME, ANA_TITLE.into(), Severity::ALL[1], None);
    store.append_all(std::slice::from_ref(&open), None).unwrap();
    let id = open.incident;
    let mut h = Harness { app: App::new(store, options("default", Some(id))).unwrap(), dir };
    let mut config = Config::default();
    config.server.url = Some(url.into());
    config.server.token = Some("ana-token-0123456789".into());
    let mut fx = effects(config);
    fx.run(&mut h.app);
    (h, fx, id)
}

/// A server config with a token each for ana and bo (`NAME-token-0123456789`).
fn ana_and_bo_server() -> Config {
    let mut config = Config::default();
    let token = |name: &str| crate::config::TokenConfig {
        name: name.into(),
        token: Some(format!("{name}-token-0123456789")),
        token_sha256: None,
    };
    config.server.tokens = vec![token("ana"), token("bo")];
    config
}

fn kinds(dir: &std::path::Path, app: &App) -> Vec<Event> {
    Store::open(dir).unwrap().events(app.incident().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_follows_sync_pushing_notes_and_showing_what_arrives() {
    let db = tempfile::tempdir().unwrap();
    let server_config = ana_and_bo_server();
    let server = crate::server::start(crate::server::ServeOptions::from_config(
        "127.0.0.1:0",
        db.path().join("server.db"),
        false,
        &server_config,
    ))
    .await
    .unwrap();
    let url = format!("http://{}", server.addr);
    // An incident of our own: the server takes only events written by the token's owner.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let title = "Queue backlog on ingest";
    let open = Event::open(chrono::Utc::now(), super::tests::ME, title.into(), Severity::ALL[1], None);
    store.append_all(std::slice::from_ref(&open), None).unwrap();
    let mut app = App::new(store, options("default", Some(open.incident))).unwrap();
    let id = app.incident().unwrap();
    let mut config = Config::default();
    config.server.url = Some(url.clone());
    config.server.token = Some("ana-token-0123456789".into());
    let (mut fx, driver, inputs, mut term) = headless(config);
    let http = reqwest::Client::new();
    let on_server = |text: &'static str| server_has(http.clone(), url.clone(), id, text);
    let script = async {
        // The loop started the sync task for the incident on screen: the sample events go up.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !on_server(ANA_TITLE).await {
            assert!(Instant::now() < deadline, "the sample incident never reached the server");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A note written in the TUI is pushed at once (the write queues a nudge).
        driver.key(KeyCode::Char('n')).chars("pushed by the loop").key(KeyCode::Enter);
        while !on_server("pushed by the loop").await {
            assert!(Instant::now() < deadline, "the note never reached the server");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Another responder's note reaches our store through the stream.
        let theirs = Event::new(
            id,
            chrono::Utc::now(),
            "bo@db-02",
            EventKind::Note { text: "sent by bo".into(), tag: Tag::Finding },
        );
        http.post(format!("{url}/v1/incidents/{id}/events"))
            .bearer_auth("bo-token-0123456789")
            .json(&serde_json::json!({ "events": [theirs] }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let store = Store::open(dir.path()).unwrap();
        until("bo's note in the local store", 15, || {
            store.events(id).unwrap().iter().any(|e| e.author == "bo@db-02")
        })
        .await;
        // Whatever woke the loop first (the arrival or the store poll), it re-reads within a poll.
        tokio::time::sleep(super::STORE_POLL * 3).await;
        driver.key(KeyCode::Char('q'));
    };
    let (result, ()) = tokio::join!(event_loop(&mut app, &mut term, inputs, &mut fx), script);
    result.unwrap();
    assert!(app.data.as_ref().unwrap().events.iter().any(|e| e.author == "bo@db-02"), "shown after arriving");
    let status = app.sync.clone().expect("the header has a sync state");
    assert_eq!(status.pending, 0, "{status:?}");
    assert_eq!(fx.following, Some(id));
    assert_eq!(fx.nudged, app.appended, "every write was passed on");
    drop(fx);
    server.stop().await.unwrap();
}

/// Waits until `pid` runs `prog` (after fork, before exec, /proc shows the parent's command).
fn wait_exec(pid: u32, prog: &str) {
    let start = Instant::now();
    while !std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(prog.as_bytes()) {
        assert!(start.elapsed() < Duration::from_secs(10), "pid {pid} never ran {prog}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `sleep` child for a process-pane test, with a duration no other process on the box has, so
/// the pane's filter finds exactly it (`base` keeps the tests' durations apart).
struct Sleeper {
    child: std::process::Child,
    pid: u32,
    secs: String,
}

impl Sleeper {
    fn spawn(base: u32) -> Sleeper {
        let secs = format!("{}", base + std::process::id() % 100_000);
        let child = std::process::Command::new("sleep").arg(&secs).spawn().unwrap();
        let pid = child.id();
        wait_exec(pid, "sleep");
        Sleeper { child, pid, secs }
    }

    /// Kills and reaps the child (it may already have exited).
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `e` records a signal sent to `pid`.
fn signalled(e: &Event, pid: u32) -> bool {
    matches!(e.kind, EventKind::ProcessSignalled { pid: p, .. } if p as u32 == pid)
}

/// Whether `e` records the manifest of a capture of `pid`.
fn captured(e: &Event, pid: u32) -> bool {
    matches!(&e.kind, EventKind::EvidenceCaptured { path, .. }
        if path.contains(&format!("/{pid}-")) && path.ends_with("manifest.json"))
}

/// A sleeper (`base` as in `Sleeper::spawn`) and the sample app, with the index of the app's
/// process pane for `Driver::select`.
fn sleeper_app(base: u32) -> (Sleeper, App, tempfile::TempDir, usize) {
    let sleeper = Sleeper::spawn(base);
    let Harness { app, dir } = sample("default");
    let procs = app.panes.iter().position(|p| p.name() == "Processes").unwrap();
    (sleeper, app, dir, procs)
}

impl Driver {
    /// Feeds the loop a fresh process snapshot, focuses the process pane (`procs`, its index) and
    /// filters it down to the sleeper.
    async fn select(&self, procs: usize, s: &Sleeper) {
        let snap = crate::procs::Sampler::new().unwrap().sample();
        assert!(snap.processes.iter().any(|p| p.pid as u32 == s.pid), "the sampler sees the child");
        self.procs.send(ProcsMsg::Snapshot(Arc::new(snap))).await.unwrap();
        self.key(KeyCode::Char(char::from(b'1' + procs as u8)));
        self.key(KeyCode::Char('/')).chars(&format!("sleep {}", s.secs)).key(KeyCode::Enter);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_runs_a_confirmed_kill_off_the_ui_thread_and_records_it() {
    let (mut sleeper, mut app, dir, procs) = sleeper_app(300_000);
    let pid = sleeper.pid;
    let (mut fx, driver, inputs, mut term) = headless(Config::default());
    let store = Store::open(dir.path()).unwrap();
    let incident = app.incident().unwrap();
    let script = async {
        driver.select(procs, &sleeper).await;
        // Evidence off (it has its own tests), then the reason, then send.
        driver.key(KeyCode::F(9)).key(KeyCode::Tab).key(KeyCode::Char(' '));
        driver
            .key(KeyCode::Tab)
            .key(KeyCode::Tab)
            .key(KeyCode::Tab)
            .chars("hung sleeper")
            .key(KeyCode::Enter);
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(s) = sleeper.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the child was never signalled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15), "{status:?}");
        until("the kill on the timeline", 15, || {
            store.events(incident).unwrap().iter().any(|e| signalled(e, pid))
        })
        .await;
        driver.key(KeyCode::Esc).key(KeyCode::Char('q'));
    };
    let (result, ()) = tokio::join!(event_loop(&mut app, &mut term, inputs, &mut fx), script);
    result.unwrap();
    let rec = kinds(dir.path(), &app)
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::ProcessSignalled { pid: p, signal, reason, outcome, .. } if p as u32 == pid => {
                Some((signal, reason, outcome))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!((rec.0.as_str(), rec.1.as_str()), ("TERM", "hung sleeper"));
    assert!(rec.2.starts_with("sent"), "{rec:?}");
}

/// What a webhook receiver that answers after `delay` has been sent.
type Seen = Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// The sample app with the example team and paging to a local receiver that answers after `delay`.
async fn paging_app(delay: Duration) -> (App, tempfile::TempDir, Seen) {
    let (url, seen) = super::contacts_tests::receiver(delay).await;
    let team = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("team.example.toml");
    let Harness { app, dir } = sample_with("default", |o| {
        o.team = Some(team);
        o.notifier = Some(super::contacts_tests::webhook(&url));
    });
    (app, dir, seen)
}

impl Driver {
    /// Contacts, the primary on call, page, yes, and quit straight away.
    fn page_primary_and_quit(&self) {
        self.key(KeyCode::Char('2')).key(KeyCode::Char('g'));
        for _ in 0..8 {
            self.key(KeyCode::Char('k'));
        }
        self.key(KeyCode::Char('p')).key(KeyCode::Char('y')).key(KeyCode::Char('q'));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_confirmed_just_before_quitting_is_sent_and_recorded_by_the_loop() {
    // Slow enough that the quit below really has to wait for it.
    let (mut app, dir, seen) = paging_app(Duration::from_millis(300)).await;
    let (mut fx, driver, inputs, mut term) = headless(Config::default());
    driver.page_primary_and_quit();
    event_loop(&mut app, &mut term, inputs, &mut fx).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1, "the receiver got the page");
    assert_eq!(app.pager.in_flight, 0);
    let paged = kinds(dir.path(), &app)
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::Paged { person, ok, .. } => Some((person, ok)),
            _ => None,
        })
        .expect("the page is on the timeline");
    assert!(paged.1, "delivered: {paged:?}");
    drop(driver);
}

/// The quit's wait for work in flight can be cut from the terminal: Ctrl-C leaves at once,
/// with the page still in flight (and said to be unrecorded on screen while it waited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cuts_the_wait_for_a_page_in_flight_on_quit() {
    // A receiver that answers long after the test would give up.
    let (mut app, _dir, _seen) = paging_app(Duration::from_secs(120)).await;
    let (mut fx, driver, inputs, mut term) = headless(Config::default());
    driver.page_primary_and_quit();
    let ctrl_c = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let k = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let _ = driver.keys.send(Ok(TermEvent::Key(k)));
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(event_loop(&mut app, &mut term, inputs, &mut fx), ctrl_c)
    })
    .await
    .expect("Ctrl-C did not cut the wait");
    result.unwrap();
    assert_eq!(app.pager.in_flight, 1, "left with the page still in flight");
    assert!(app.notice.as_ref().is_some_and(|(n, _)| n.contains("Ctrl-C: leave now")), "{:?}", app.notice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_captures_without_a_signal_off_the_ui_thread_and_records_it() {
    let (mut sleeper, mut app, dir, procs) = sleeper_app(200_000);
    let pid = sleeper.pid;
    let (mut fx, driver, inputs, mut term) = headless(Config::default());
    let store = Store::open(dir.path()).unwrap();
    let incident = app.incident().unwrap();
    let script = async {
        driver.select(procs, &sleeper).await;
        // Quick profile, capture.
        driver.key(KeyCode::Char('c')).key(KeyCode::Left).key(KeyCode::Enter);
        until("the capture's manifest on the timeline", 30, || {
            store.events(incident).unwrap().iter().any(|e| captured(e, pid))
        })
        .await;
        driver.key(KeyCode::Esc).key(KeyCode::Char('V')).key(KeyCode::Enter);
        // The verification runs on the blocking pool; give it a moment, then leave.
        tokio::time::sleep(Duration::from_millis(500)).await;
        driver.key(KeyCode::Char('q')).key(KeyCode::Char('q'));
    };
    let (result, ()) = tokio::join!(event_loop(&mut app, &mut term, inputs, &mut fx), script);
    result.unwrap();
    assert!(sleeper.child.try_wait().unwrap().is_none(), "captured, not signalled");
    sleeper.stop();
    assert!(!kinds(dir.path(), &app).iter().any(|e| signalled(e, pid)), "no signal recorded");
}

/// A hang-up (the terminal's input gone) right after a capture started: the loop waits for the
/// capture and records it before it returns; the evidence is on the timeline, not only on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_started_just_before_a_hang_up_is_still_recorded() {
    // Its own duration: the kill test's sleeper runs at the same time and must not match.
    let (mut sleeper, mut app, dir, procs) = sleeper_app(400_000);
    let pid = sleeper.pid;
    let (mut fx, driver, inputs, mut term) = headless(Config::default());
    driver.select(procs, &sleeper).await;
    // Standard profile, capture, and the terminal goes away at once.
    driver.key(KeyCode::Char('c')).key(KeyCode::Enter);
    drop(driver);
    event_loop(&mut app, &mut term, inputs, &mut fx).await.unwrap();
    assert_eq!(fx.guarded_in_flight, 0);
    sleeper.stop();
    assert!(kinds(dir.path(), &app).iter().any(|e| captured(e, pid)), "the capture is recorded");
}

/// Reads each request's first line on a server that accepts and never answers (a frozen
/// `kill -STOP` server: the kernel still accepts), sending it to `seen`; holds every connection.
fn frozen_server() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (seen_tx, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((mut conn, _)) = listener.accept() {
            let mut head = [0u8; 256];
            let n = conn.read(&mut head).unwrap_or(0);
            let line = String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or_default().to_string();
            held.push(conn);
            let _ = seen_tx.send(line);
        }
    });
    (url, seen)
}

/// Offline on a frozen server, a note saved in the TUI shows as pending on the next status, not
/// when the request then hanging on the frozen server times out (10 s later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_written_while_offline_shows_as_pending_at_once() {
    let (url, seen) = frozen_server();
    let mut h = sample("default");
    let mut config = Config::default();
    config.server.url = Some(url);
    let mut fx = effects(config);
    fx.run(&mut h.app);
    let status = fx.handle.as_ref().expect("a sync task").status.clone();
    let feed = |h: &mut super::tests::Harness| {
        let st = status.borrow().clone();
        h.app.update(super::app::Action::Sync(st), super::tests::now());
    };
    // The first push hangs until the client's request timeout: then the header says offline.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(status.borrow().link, crate::sync::Link::Offline { .. }) {
        assert!(Instant::now() < deadline, "never offline: {:?}", status.borrow());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    feed(&mut h);
    let before = h.app.sync.as_ref().unwrap().pending;
    // Wait until the task is inside its next try (a push or pull, not a health probe): that
    // request hangs for the client's whole 10 s timeout.
    while seen.try_recv().is_ok() {}
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match seen.recv_timeout(Duration::from_millis(50)) {
            Ok(line) if !line.contains("/healthz") => break,
            _ => assert!(Instant::now() < deadline, "the task never tried again"),
        }
    }
    h.key(KeyCode::Char('n')).chars("written while offline").key(KeyCode::Enter);
    fx.run(&mut h.app);
    assert_eq!(fx.nudged, h.app.appended, "the write was passed on");
    let want = format!("{} pending", before + 1);
    // Bounded well under the hanging request's 10 s timeout, which the old code waited out.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        feed(&mut h);
        let header = h.text(80, 24).lines().next().unwrap_or_default().to_string();
        if header.contains(&want) {
            assert!(header.contains("offline"), "{header}");
            break;
        }
        assert!(Instant::now() < deadline, "the header never said {want:?}: {header}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two responders share an incident; the server is restarted on the same port with an empty
/// database. Neither header may go on saying `synced`: ana's says the server is behind and a
/// notice says so once; each client sends the server its own events again, and a note ana writes
/// after the restart reaches bo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_empty_is_noticed_and_given_the_events_again() {
    let db = tempfile::tempdir().unwrap();
    let start = |listen: String, file: &str| start_server(db.path().join(file), listen);
    let server = start("127.0.0.1:0".into(), "s-full.db").await.unwrap();
    let addr = server.addr;
    let url = format!("http://{addr}");
    // Ana's incident, in her TUI.
    let (mut h, mut fx, id) = ana_cockpit(&url);
    let status = fx.handle.as_ref().expect("a sync task").status.clone();
    // Bo follows it from his own store, with his own token.
    let bo_dir = tempfile::tempdir().unwrap();
    let bo_store = Store::open(bo_dir.path()).unwrap();
    let bo_config = crate::sync::SyncConfig {
        data_dir: bo_dir.path().to_path_buf(),
        server: url.clone(),
        token: Some("bo-token-0123456789".into()),
        viewer: "bo@db-02".into(),
        incident: id,
    };
    let bo = crate::sync::SyncHandle::spawn(bo_config.clone()).unwrap();
    let bo_has = |text: &str| {
        bo_store
            .events(id)
            .unwrap()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Note { text: t, .. } if t == text))
    };
    // Bo writes more than ana will send the new server, so his cursor stays above its head.
    let bo_note = |text: &str| {
        Event::new(
            id,
            chrono::Utc::now(),
            "bo@db-02",
            EventKind::Note { text: text.into(), tag: Tag::Finding },
        )
    };
    let more: Vec<Event> = (0..4).map(|i| bo_note(&format!("bo's earlier note {i}"))).collect();
    let theirs = bo_note("written by bo before");
    let http = reqwest::Client::new();
    let on_server = |text: &'static str| server_has(http.clone(), url.clone(), id, text);
    let feed = |h: &mut Harness| {
        let st = status.borrow().clone();
        h.app.update(super::app::Action::Sync(st), super::tests::now());
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while bo_store.events(id).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "bo never got the incident");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bo_store.append_all(&more, None).unwrap();
    bo_store.append(&theirs).unwrap();
    bo.nudge();
    // Both hold everything: ana has bo's note and is synced (her cursor is the server's head).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        feed(&mut h);
        let synced = crate::sync::plan::is_synced(&status.borrow(), chrono::Utc::now());
        if synced && h.stored().iter().any(|e| e.id == theirs.id) {
            break;
        }
        assert!(Instant::now() < deadline, "never synced with bo's note: {:?}", status.borrow());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.app.sync.as_ref().unwrap().lost, 0);

    // Bo closes his cockpit. The server comes back on the same port with an empty database;
    // ana writes a note; then bo opens his cockpit again.
    bo.stop();
    server.stop().await.unwrap();
    let server = start(addr.to_string(), "s-empty.db").await.unwrap();
    h.key(KeyCode::Char('n')).chars("written after the restart").key(KeyCode::Enter);
    fx.run(&mut h.app);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !on_server(ANA_TITLE).await {
        feed(&mut h);
        assert!(
            Instant::now() < deadline,
            "ana never sent the server her events again: {:?}",
            status.borrow()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bo = crate::sync::SyncHandle::spawn(bo_config).unwrap();
    let mut noticed = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        feed(&mut h);
        if let Some((text, _)) = &h.app.notice {
            noticed |= text.contains("server lost events");
        }
        if noticed
            && bo_has("written after the restart")
            && on_server(ANA_TITLE).await
            && on_server("written by bo before").await
        {
            break;
        }
        if Instant::now() >= deadline {
            let events = ana_get(&http, &format!("{url}/v1/incidents/{id}/events?after=0")).await;
            panic!(
                "never recovered (noticed: {noticed}): {:?}, bo has the note: {}, bo: {:?}, server: {events}",
                status.borrow(),
                bo_has("written after the restart"),
                bo.status.borrow()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.app.sync.as_ref().unwrap().lost, 1, "noticed once");
    // The server lists the incident again (it has the `opened` event back).
    let list = ana_get(&http, &format!("{url}/v1/incidents")).await;
    assert!(list.contains(&id.to_string()), "{list}");
    drop(bo);
    drop(fx);
    server.stop().await.unwrap();
}

/// The server comes back on another, empty database, and bo fills it past ana's cursor before
/// ana reconnects: its head alone (6, above her cursor 5) looks like the server she left. The
/// heartbeat's store id tells her: the header stops saying `synced`, a notice says so once, she
/// sends her events again and takes in all of the new server's (none skipped under her old cursor).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_another_database_is_noticed_even_when_its_head_passed_the_cursor() {
    let db = tempfile::tempdir().unwrap();
    let start = |listen: String, file: &str| start_server(db.path().join(file), listen);
    let server = start("127.0.0.1:0".into(), "s-one.db").await.unwrap();
    let addr = server.addr;
    let url = format!("http://{addr}");
    let (mut h, mut fx, id) = ana_cockpit(&url);
    let mut status = fx.handle.as_ref().expect("a sync task").status.clone();
    let http = reqwest::Client::new();
    let bo_posts = |texts: Vec<String>| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let events: Vec<Event> = texts
                .into_iter()
                .map(|text| {
                    Event::new(
                        id,
                        chrono::Utc::now(),
                        "bo@db-02",
                        EventKind::Note { text, tag: Tag::Finding },
                    )
                })
                .collect();
            http.post(format!("{url}/v1/incidents/{id}/events"))
                .bearer_auth("bo-token-0123456789")
                .json(&serde_json::json!({ "events": events }))
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap();
        }
    };
    let notes = |h: &Harness, prefix: &str| {
        h.stored()
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Note { text, .. } if text.starts_with(prefix)))
            .count()
    };
    let feed = |h: &mut Harness, status: &tokio::sync::watch::Receiver<crate::sync::SyncStatus>| {
        let st = status.borrow().clone();
        h.app.update(super::app::Action::Sync(st), super::tests::now());
    };
    let on_server = |text: &'static str| server_has(http.clone(), url.clone(), id, text);
    // Ana's `opened` goes up, bo adds 4 notes: ana holds seq 1..=5 and is synced.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !on_server(ANA_TITLE).await {
        assert!(Instant::now() < deadline, "ana's incident never reached the server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bo_posts((0..4).map(|i| format!("bo on the first server {i}")).collect()).await;
    loop {
        feed(&mut h, &status);
        let synced = crate::sync::plan::is_synced(&status.borrow(), chrono::Utc::now());
        if synced && notes(&h, "bo on the first server") == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "never synced with bo's notes: {:?}", status.borrow());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let local = Store::open(h.dir.path()).unwrap();
    assert_eq!(crate::sync::engine::cursor(&local, id).unwrap(), 5);
    assert_eq!(h.app.sync.as_ref().unwrap().lost, 0);

    // Ana's sync stops (a laptop asleep). The server comes back on another, empty database and
    // bo writes 6 notes there: its head is 6, past ana's cursor.
    fx.handle.take().expect("a sync task").stop();
    server.stop().await.unwrap();
    let server = start(addr.to_string(), "s-other.db").await.unwrap();
    bo_posts((0..6).map(|i| format!("bo on the other server {i}")).collect()).await;
    // Ana's sync resumes.
    let cfg = crate::sync::SyncConfig {
        data_dir: h.dir.path().to_path_buf(),
        server: url.clone(),
        token: Some("ana-token-0123456789".into()),
        viewer: super::tests::ME.into(),
        incident: id,
    };
    fx.handle = Some(crate::sync::SyncHandle::spawn(cfg).unwrap());
    status = fx.handle.as_ref().unwrap().status.clone();
    let mut noticed = 0;
    let mut said_synced_before_notice = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        feed(&mut h, &status);
        if let Some((text, _)) = h.app.notice.take() {
            noticed += usize::from(text.contains("server lost events"));
        }
        let synced = crate::sync::plan::is_synced(&status.borrow(), chrono::Utc::now());
        said_synced_before_notice |= synced && noticed == 0 && notes(&h, "bo on the other server") < 6;
        if noticed > 0 && synced && notes(&h, "bo on the other server") == 6 && on_server(ANA_TITLE).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never recovered (noticed {noticed}): {:?}, other server's notes here: {}",
            status.borrow(),
            notes(&h, "bo on the other server")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!said_synced_before_notice, "said `synced` while missing the other server's notes");
    assert_eq!(noticed, 1, "noticed once");
    assert_eq!(h.app.sync.as_ref().unwrap().lost, 1);
    // The first server's notes are still here (kept locally), and ana's cursor counts in the
    // new store: 6 of bo's plus her `opened`.
    assert_eq!(notes(&h, "bo on the first server"), 4);
    let local = Store::open(h.dir.path()).unwrap();
    assert_eq!(crate::sync::engine::cursor(&local, id).unwrap(), 7);
    drop(fx);
    server.stop().await.unwrap();
}

/// GET `url` with ana's token: the body of a success, else the error.
async fn ana_try_get(http: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    http.get(url).bearer_auth("ana-token-0123456789").send().await?.error_for_status()?.text().await
}

/// GET `url` with ana's token; the body (the test fails on an error).
async fn ana_get(http: &reqwest::Client, url: &str) -> String {
    ana_try_get(http, url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Whether ana's view of incident `id` on the server at `url` holds `text` (false while the
/// server does not answer).
async fn server_has(http: reqwest::Client, url: String, id: crate::incident::IncidentId, text: &str) -> bool {
    let events = format!("{url}/v1/incidents/{id}/events?after=0");
    ana_try_get(&http, &events).await.is_ok_and(|body| body.contains(text))
}
