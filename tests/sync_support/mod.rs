//! Helpers shared by the sync integration tests: real servers on 127.0.0.1:0, real SQLite files,
//! and a real Postgres (see `pg`) so the same suites run against both server stores.
#![allow(dead_code, unused_macros)]

pub mod pg;

pub mod proxy;
pub mod server_proc;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::config::{Config, TokenConfig};
use warroom::incident::{Event, EventKind, IncidentId, Severity, Tag};
use warroom::server::{self, Db, EventStore, PgStore, Running, ServeOptions, SqliteStore};
use warroom::store::Store;
use warroom::sync::{Client, SyncConfig, SyncHandle, engine};

pub const ANA: &str = "ana-token-0123456789";
pub const BO: &str = "bo-token-0123456789";

pub fn tokens() -> Vec<TokenConfig> {
    vec![
        TokenConfig { name: "ana".into(), token: Some(ANA.into()), token_sha256: None },
        TokenConfig {
            name: "bo".into(),
            token: None,
            token_sha256: Some(warroom::server::auth::hash_token(BO)),
        },
    ]
}

/// Starts the server in-process with the test tokens.
pub async fn start(db: impl Into<Db>) -> Running {
    start_on(db, "127.0.0.1:0").await
}

pub async fn start_on(db: impl Into<Db>, listen: &str) -> Running {
    let mut config = Config::default();
    config.server.tokens = tokens();
    server::start(ServeOptions::from_config(listen, db, false, &config)).await.expect("server starts")
}

/// Which server store a parameterised test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh server database of `backend`: a SQLite file in `dir`, or a new Postgres database in
/// this binary's test cluster.
pub async fn fresh_db(backend: Backend, dir: &Path) -> Db {
    match backend {
        Backend::Sqlite => Db::Sqlite(dir.join("s.db")),
        Backend::Postgres => {
            Db::Postgres(pg::fresh_db().await.expect("postgres tests run only with a cluster"))
        }
    }
}

/// Opens the store behind `db` directly (beside any running server).
pub async fn open_store(db: &Db) -> std::sync::Arc<dyn EventStore> {
    match db {
        Db::Sqlite(p) => std::sync::Arc::new(SqliteStore::open(p).unwrap()),
        Db::Postgres(url) => std::sync::Arc::new(PgStore::connect(url).await.unwrap()),
    }
}

/// Events stored in `db`.
pub async fn stored_count(db: &Db) -> i64 {
    open_store(db).await.count().await.unwrap()
}

/// Runs one async test body against both server stores: `name::sqlite` and `name::postgres`
/// (which skips, with one line on stderr, where Postgres is not installed).
macro_rules! on_both_stores {
    ($(#[$m:meta])* async fn $name:ident($b:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$m])*
            async fn run($b: Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if pg::cluster().is_some() {
                    run(Backend::Postgres).await
                }
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_stores;

pub fn url(r: &Running) -> String {
    format!("http://{}", r.addr)
}

pub fn open(author: &str, title: &str) -> Event {
    Event::open(Utc::now(), author, title.into(), Severity::new(2).unwrap(), None)
}

pub fn note(incident: IncidentId, author: &str, text: &str) -> Event {
    Event::new(incident, Utc::now(), author, EventKind::Note { text: text.into(), tag: Tag::Note })
}

/// A client store in `dir` holding a freshly opened incident (not pushed yet); returns its id.
pub fn store_with_incident(dir: &Path, author: &str, title: &str) -> (Store, IncidentId) {
    let store = Store::open(dir).unwrap();
    let opened = open(author, title);
    store.append(&opened).unwrap();
    (store, opened.id)
}

/// A sync task for the client store in `dir`, following `inc` on `server` (a comma list of
/// replicas) as `viewer`.
pub fn follow(dir: &Path, server: &str, token: &str, viewer: &str, inc: IncidentId) -> SyncHandle {
    SyncHandle::spawn(SyncConfig {
        data_dir: dir.to_path_buf(),
        server: server.into(),
        token: Some(token.into()),
        viewer: viewer.into(),
        incident: inc,
    })
    .unwrap()
}

/// Acknowledged events: the local store's rows that have a server sequence.
pub fn acked(store: &Store, inc: IncidentId) -> HashSet<uuid::Uuid> {
    let pending: HashSet<_> = store.pending(1_000_000).unwrap().into_iter().map(|e| e.id).collect();
    store.events(inc).unwrap().into_iter().map(|e| e.id).filter(|id| !pending.contains(id)).collect()
}

/// Every event on the server for `inc`, checking the sequence is gap-free; returns the ids.
pub async fn server_ids(c: &Client, inc: IncidentId) -> Vec<uuid::Uuid> {
    let (mut after, mut seqs, mut ids) = (0, Vec::new(), Vec::new());
    loop {
        let page = c.pull(inc, after, 1000).await.unwrap();
        let Some(last) = page.events.last() else { break };
        after = last.seq;
        for s in page.events {
            seqs.push(s.seq);
            ids.push(s.event.id);
        }
    }
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "sequence has no gaps");
    ids
}

/// Every event acknowledged to the client (`acked`) is on the server behind `c`, exactly once
/// (and the server's sequence has no gaps).
pub async fn assert_acked_on_server_once(c: &Client, inc: IncidentId, acked: &HashSet<uuid::Uuid>) {
    let ids = server_ids(c, inc).await;
    let on_server: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(on_server.len(), ids.len(), "no duplicates");
    assert!(acked.is_subset(&on_server), "{} acknowledged events lost", acked.difference(&on_server).count());
}

/// The server's `/metrics` text.
pub async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap()
}

/// One counter's value in a `/metrics` text, if it is there.
pub fn counter(metrics: &str, name: &str) -> Option<u64> {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
}

/// A writer on its own thread and runtime (a store connection is not Sync): appends batches of
/// notes to an incident in a client store and pushes its outbox after each batch through a
/// client of one or more replicas, until stopped or until `give_up_after` pushes in a row failed.
pub struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<HashSet<String>>,
}

impl Writer {
    /// Writes `batch` notes by `author` at a time to `inc` in the store in `dir`, pushing through
    /// `servers` (a comma list) as ana. A failed push pauses 50 ms, so a dead server is not
    /// hammered in a hot loop.
    pub fn spawn(
        dir: &Path,
        servers: &str,
        inc: IncidentId,
        author: &str,
        batch: usize,
        give_up_after: Option<usize>,
    ) -> Writer {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dir, servers, author, stopped) =
            (dir.to_path_buf(), servers.to_string(), author.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let store = Store::open(&dir).unwrap();
                let c = Client::new(&servers, Some(ANA.into()), Duration::from_secs(3), "ana").unwrap();
                let (mut i, mut failures, mut bases) = (0, 0, HashSet::new());
                while !stopped.load(Ordering::Relaxed) && give_up_after.is_none_or(|n| failures < n) {
                    let notes: Vec<_> =
                        (0..batch).map(|k| note(inc, &author, &format!("n{i}-{k}"))).collect();
                    store.append_all(&notes, None).unwrap();
                    i += 1;
                    bases.insert(c.base().to_string());
                    match engine::push_outbox(&store, &c).await {
                        Ok(_) => failures = 0,
                        Err(_) => {
                            failures += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                bases
            })
        });
        Writer { stop, thread }
    }

    /// True once it has given up (or was stopped).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Stops it (it finishes the batch in hand) and waits; returns every base it pushed through.
    pub async fn stop(self) -> HashSet<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        tokio::task::spawn_blocking(move || self.thread.join().unwrap()).await.unwrap()
    }
}

/// Polls `f` every 20 ms until it is true or `secs` pass.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// A config file with the test tokens, for the real binary.
pub fn write_server_config(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("server.toml");
    let text = format!(
        "[[server.tokens]]\nname = \"ana\"\ntoken = \"{ANA}\"\n\n[[server.tokens]]\nname = \"bo\"\ntoken_sha256 = \"{}\"\n",
        warroom::server::auth::hash_token(BO)
    );
    std::fs::write(&p, text).unwrap();
    p
}

/// Spawns `warroom serve` and waits (bounded) for its "listening on URL" line.
pub fn spawn_server(
    config: &Path,
    db: &(impl AsRef<std::ffi::OsStr> + ?Sized),
    listen: &str,
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["serve", "--listen", listen, "--db"])
        .arg(db)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn warroom serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("server printed its address");
    let url = line
        .strip_prefix("listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    (child, url)
}
