//! `warroom serve`: the sync backend. An axum app over an event store (a SQLite file, or Postgres
//! for several replicas), with named bearer tokens, SSE fan-out, presence and graceful shutdown.

pub mod auth;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod pg;
pub mod presence;
pub mod routes;
pub mod store;
pub mod stream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::config::Config;
pub use pg::PgStore;
pub use store::{EventStore, SqliteStore};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7077";

/// Where the server keeps its events.
#[derive(Clone, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file (the embedded default, one server).
    Sqlite(PathBuf),
    /// A `postgres://` URL (several replicas may share it).
    Postgres(String),
}

impl Db {
    /// The database named by `--db` or `server.db`: a `postgres://` or `postgresql://` URL, or a path.
    pub fn parse(s: &str) -> Db {
        if pg::is_postgres_url(s) { Db::Postgres(s.to_string()) } else { Db::Sqlite(PathBuf::from(s)) }
    }
}

impl From<PathBuf> for Db {
    fn from(p: PathBuf) -> Db {
        match p.to_str() {
            Some(s) if pg::is_postgres_url(s) => Db::Postgres(s.to_string()),
            _ => Db::Sqlite(p),
        }
    }
}

impl From<&PathBuf> for Db {
    fn from(p: &PathBuf) -> Db {
        p.clone().into()
    }
}

impl From<&std::path::Path> for Db {
    fn from(p: &std::path::Path) -> Db {
        p.to_path_buf().into()
    }
}

impl std::fmt::Display for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Db::Sqlite(p) => write!(f, "{}", p.display()),
            Db::Postgres(url) => f.write_str(&pg::redact(url)),
        }
    }
}

/// Never prints a Postgres password.
impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({self})")
    }
}

/// How to run the server: what it reads of the config, taken at the edge by
/// [`ServeOptions::from_config`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub db: Db,
    pub insecure_loopback: bool,
    /// `[[server.tokens]]`: who may read and write.
    pub tokens: Vec<crate::config::TokenConfig>,
    /// `[server] replica`: this replica's name in /metrics and /healthz (default host:port).
    pub replica: Option<String>,
    /// `[server] heartbeat_ms`: time between stream heartbeats.
    pub heartbeat: std::time::Duration,
    /// `[team] file`, resolved against the config's directory: the escalation engine pages
    /// from it, and `GET /v1/team` serves it. None: no engine.
    pub team_file: Option<PathBuf>,
    /// `[paging]`: how the escalation engine pages.
    pub paging: crate::config::PagingConfig,
    /// Who the engine's events are written by (`[user] name`, then the environment).
    pub author: String,
}

impl ServeOptions {
    pub fn from_config(
        listen: impl Into<String>,
        db: impl Into<Db>,
        insecure_loopback: bool,
        config: &Config,
    ) -> Self {
        ServeOptions {
            listen: listen.into(),
            db: db.into(),
            insecure_loopback,
            tokens: config.server.tokens.clone(),
            replica: config.server.replica.clone(),
            heartbeat: heartbeat_interval(config.server.heartbeat_ms),
            team_file: config.team.file.as_ref().map(|f| config.relative(f)),
            paging: config.paging.clone(),
            author: config.author(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "no [[server.tokens]] configured: add one (see config.example.toml), or pass --insecure-loopback to serve without auth on loopback only"
    )]
    NoTokens,
    #[error("--listen `{0}`: expected IP:PORT, e.g. 127.0.0.1:7077")]
    BadListen(String),
    #[error("--insecure-loopback only binds to loopback, but --listen is {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] store::ServerStoreError),
    #[error("postgres LISTEN connection: {0}")]
    Listener(String),
}

/// A started server: its address, and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    listener: Option<tokio::task::JoinHandle<()>>,
    /// The cluster presence task (Postgres): it deletes this replica's rows on the way out.
    presence: Option<tokio::task::JoinHandle<()>>,
    /// Stops the escalation engine's thread (when one runs).
    engine_stop: Arc<AtomicBool>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes streams, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.engine_stop.store(true, Ordering::Relaxed);
        let served = self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Some(l) = self.listener {
            let _ = l.await;
        }
        if let Some(p) = self.presence {
            let _ = p.await;
        }
        served
    }
}

/// Default time between stream heartbeats.
pub const DEFAULT_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// `[server] heartbeat_ms` (the config refuses one under 100 ms; a config built in code is held
/// to that floor too: a tighter loop only burns the server).
pub fn heartbeat_interval(heartbeat_ms: Option<u64>) -> std::time::Duration {
    heartbeat_ms.map_or(DEFAULT_HEARTBEAT, |ms| {
        std::time::Duration::from_millis(ms.max(crate::config::MIN_HEARTBEAT_MS))
    })
}

/// Opens the store, binds, and serves in a background task.
pub async fn start(opts: ServeOptions) -> Result<Running, ServeError> {
    let addr: SocketAddr = opts.listen.parse().map_err(|_| ServeError::BadListen(opts.listen.clone()))?;
    let tokens = auth::Tokens::from_config(&opts.tokens);
    if tokens.is_empty() && !opts.insecure_loopback {
        return Err(ServeError::NoTokens);
    }
    if opts.insecure_loopback && !addr.ip().is_loopback() {
        return Err(ServeError::NotLoopback(addr));
    }
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let hub = Arc::new(hub::Hub::default());
    let metrics = Arc::new(metrics::Metrics::default());
    let replica = opts.replica.clone().unwrap_or_else(|| default_replica_name(addr));
    let (store, pg_listener, presence): (Arc<dyn EventStore>, _, _) = match &opts.db {
        Db::Sqlite(path) => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| store::ServerStoreError::Task(e.to_string()))??;
            (Arc::new(store), None, None)
        }
        Db::Postgres(url) => {
            let store = Arc::new(PgStore::connect(url).await?);
            // Serve only once the listener is up and knows every incident's head, so no
            // stream can open before live fan-out from other replicas works.
            let (ready_tx, mut ready) = watch::channel(false);
            let task = tokio::spawn(pg::listener(
                store.clone(),
                hub.clone(),
                metrics.clone(),
                shutdown_rx.clone(),
                ready_tx,
            ));
            let up = tokio::time::timeout(std::time::Duration::from_secs(15), ready.wait_for(|r| *r)).await;
            if !matches!(up, Ok(Ok(_))) {
                task.abort();
                let why = metrics.cluster.listener_error().unwrap_or_else(|| "no answer in 15 s".into());
                return Err(ServeError::Listener(why));
            }
            let presence = tokio::spawn(presence::run(
                store.clone(),
                hub.clone(),
                metrics.clone(),
                replica.clone(),
                presence::Timing::from_heartbeat(opts.heartbeat),
                shutdown_rx.clone(),
            ));
            (store as Arc<dyn EventStore>, Some(task), Some(presence))
        }
    };
    let _ = metrics.cluster.replica.set((replica, store.backend()));
    let team_file = opts.team_file;
    let engine_stop = Arc::new(AtomicBool::new(false));
    if let Some(team) = escalation_team(team_file.as_deref()) {
        let notifier = crate::notify::Notifier::new(&opts.paging, &Default::default()).ok();
        let author = format!("{} (serve)", opts.author);
        crate::escalation::run::spawn_server_engine(
            store.clone(),
            hub.clone(),
            team,
            notifier,
            author,
            engine_stop.clone(),
        )
        .map_err(|source| ServeError::Bind { addr, source })?;
    }
    let state = routes::AppState {
        store,
        tokens: Arc::new(tokens),
        hub,
        metrics,
        team_file,
        shutdown: shutdown_rx.clone(),
        heartbeat: opts.heartbeat,
    };
    let app = routes::router(state);
    let mut stop = shutdown_rx;
    // Without TCP_NODELAY a stream's small SSE writes wait behind Nagle for the peer's (delayed)
    // ACK of the previous one: tens of ms added to live notes now and then.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running { addr, shutdown, task, listener: pg_listener, presence, engine_stop })
}

/// `host:port`, naming this replica in /metrics and /healthz when `server.replica` is unset.
fn default_replica_name(addr: SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "warroom".into());
    format!("{host}:{}", addr.port())
}

/// The team the server's escalation engine pages from: `[team] file`. No file, or one that cannot
/// be read or has problems: no engine, and one line on stderr says why (file:line and field). The
/// server still serves sync: an outage of sharing would be worse than one of auto-paging, and
/// cockpits and `warroom escalate` still escalate.
fn escalation_team(file: Option<&Path>) -> Option<crate::team::Team> {
    let Some(file) = file else {
        eprintln!("warroom serve: escalation engine off: no [team] file in the server config");
        return None;
    };
    let problem = match std::fs::read_to_string(file) {
        Err(e) => format!("{}: cannot read team file: {e}", file.display()),
        Ok(text) => match crate::team::load(&text, &file.display().to_string()) {
            Ok(t) => return Some(t),
            Err(problems) => format!(
                "{} ({} problem(s); run `warroom team check`)",
                crate::incident::sanitize::one_line(&problems[0].to_string()),
                problems.len()
            ),
        },
    };
    eprintln!("warroom serve: escalation engine off: {problem}");
    None
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handlers the default action (exit) still applies; wait forever.
        _ => std::future::pending::<()>().await,
    }
}
