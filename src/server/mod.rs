//! `warroom serve`: the sync backend. An axum app over a SQLite event store, with named bearer
//! tokens, SSE fan-out, presence and graceful shutdown.

pub mod auth;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod store;
pub mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::config::Config;
pub use store::{EventStore, SqliteStore};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7077";

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub db: PathBuf,
    pub insecure_loopback: bool,
    pub config: Config,
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
}

/// A started server: its address, and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Stops the escalation engine's thread (when one runs).
    engine_stop: Arc<AtomicBool>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes streams, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.engine_stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Opens the store, binds, and serves in a background task.
pub async fn start(opts: ServeOptions) -> Result<Running, ServeError> {
    let addr: SocketAddr = opts.listen.parse().map_err(|_| ServeError::BadListen(opts.listen.clone()))?;
    let tokens = auth::Tokens::from_config(&opts.config.server.tokens);
    if tokens.is_empty() && !opts.insecure_loopback {
        return Err(ServeError::NoTokens);
    }
    if opts.insecure_loopback && !addr.ip().is_loopback() {
        return Err(ServeError::NotLoopback(addr));
    }
    let db = opts.db.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&db))
        .await
        .map_err(|e| ServeError::Bind { addr, source: std::io::Error::other(e) })??;
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr, source })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let team_file = opts.config.team.file.as_ref().map(|f| opts.config.relative(f));
    let store: Arc<dyn EventStore> = Arc::new(store);
    let hub = Arc::new(hub::Hub::default());
    let engine_stop = Arc::new(AtomicBool::new(false));
    if let Some(team) = escalation_team(&opts.config) {
        let notifier = crate::notify::Notifier::new(&opts.config).ok();
        let author = format!("{} (serve)", opts.config.author());
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
        metrics: Arc::new(metrics::Metrics::default()),
        team_file,
        shutdown: shutdown_rx.clone(),
    };
    let app = routes::router(state);
    let mut stop = shutdown_rx;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running { addr, shutdown, task, engine_stop })
}

/// The team the server's escalation engine pages from: `[team] file`. No file, or one that cannot
/// be read or has problems: no engine, and one line on stderr says why (file:line and field). The
/// server still serves sync: an outage of sharing would be worse than one of auto-paging, and
/// cockpits and `warroom escalate` still escalate.
fn escalation_team(config: &Config) -> Option<crate::team::Team> {
    let Some(file) = config.team.file.as_ref().map(|f| config.relative(f)) else {
        eprintln!("warroom serve: escalation engine off: no [team] file in the server config");
        return None;
    };
    let problem = match std::fs::read_to_string(&file) {
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
