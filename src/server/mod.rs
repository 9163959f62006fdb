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
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, closes streams, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Default time between stream heartbeats.
pub const DEFAULT_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// `[server] heartbeat_ms`, at least 100 ms (a tighter loop only burns the server).
pub fn heartbeat_interval(config: &Config) -> std::time::Duration {
    config.server.heartbeat_ms.map_or(DEFAULT_HEARTBEAT, |ms| std::time::Duration::from_millis(ms.max(100)))
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
    let state = routes::AppState {
        store: Arc::new(store),
        tokens: Arc::new(tokens),
        hub: Arc::new(hub::Hub::default()),
        metrics: Arc::new(metrics::Metrics::default()),
        team_file,
        shutdown: shutdown_rx.clone(),
        heartbeat: heartbeat_interval(&opts.config),
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
    Ok(Running { addr, shutdown, task })
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
