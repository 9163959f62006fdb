//! `warroom serve`, `warroom join`, and the sync wrapper around every incident command: push the
//! outbox and pull before, push after; an unreachable server means a warning, never a failure.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};

use super::{Ctx, Global, UsageError, runtime};
use crate::config::{self, Config};
use crate::incident::sanitize::one_line;
use crate::server::{self, ServeOptions};
use crate::sync::engine::{self, SERVER_KEY};
use crate::sync::{Client, SyncError};

/// How long a CLI command waits for the server before working offline.
const CLI_TIMEOUT: Duration = Duration::from_secs(3);

/// The server to sync with: `[server] url` / `WARROOM_SERVER`, else the one `join` remembered.
fn server_url(ctx: &Ctx) -> Result<Option<String>> {
    let cfg = crate::sync::SyncConfig::from_config(&ctx.config, &ctx.store, uuid::Uuid::nil())?;
    Ok(cfg.map(|c| c.server))
}

/// Events the server refused for good stay in the local store, set aside: say which and why.
fn warn_refused(report: &engine::Report) {
    for why in &report.refusals {
        eprintln!("warroom: warning: server refused {}; kept locally, not synced", one_line(why));
    }
}

/// One line on stderr for a sync that failed: what happened (no answer, the token refused, an
/// error answer) and how many events wait locally. Never "unreachable" for a server that answered.
fn warn(url: &str, e: &SyncError, pending: usize) {
    let queued = if pending > 0 { format!("; {pending} event(s) queued") } else { String::new() };
    let what = match (e, crate::sync::plan::classify(e.failure())) {
        (SyncError::Network { .. } | SyncError::Silent { .. }, _) => "unreachable, working offline",
        (_, crate::sync::plan::Retry::Auth) => "refused the token (auth failed), not synced",
        _ => "answered with an error, not synced",
    };
    eprintln!("warroom: warning: server {url} {what}{queued} ({})", one_line(&e.to_string()));
}

/// Runs `f`, and again on the next replica while it fails in a way that moved the client on
/// (no answer, or 5xx), at most once per configured server URL.
async fn each_replica<T, F: std::future::Future<Output = Result<T, SyncError>>>(
    client: &Client,
    mut f: impl FnMut() -> F,
) -> Result<T, SyncError> {
    let mut result = f().await;
    for _ in 1..client.bases().len() {
        match &result {
            Err(e) if e.fails_over() => result = f().await,
            _ => break,
        }
    }
    result
}

/// Local events waiting to be pushed: the unsynced ones but those set aside (never sent again).
fn queued(ctx: &Ctx) -> Result<usize> {
    Ok(engine::outbox_counts(&ctx.store)?.0)
}

/// Runs an incident command with sync around it when a server is configured.
pub(super) fn around(ctx: &Ctx, command: impl FnOnce(&Ctx) -> Result<ExitCode>) -> Result<ExitCode> {
    let Some(url) = server_url(ctx)? else { return command(ctx) };
    let rt = runtime()?;
    let client = Client::new(&url, ctx.config.server.token.clone(), CLI_TIMEOUT, &ctx.config.author())?;
    // The team stream (pagers taken) is followed too: `oncall` and paging honour it.
    let mut follow: Vec<_> = ctx.incident().ok().into_iter().collect();
    follow.push(crate::incident::event::TEAM_STREAM);
    let offline = match rt.block_on(each_replica(&client, || engine::sync_once(&ctx.store, &client, &follow)))
    {
        Ok(report) => {
            warn_refused(&report);
            None
        }
        Err(SyncError::Store(e)) => return Err(e.into()),
        Err(e) => Some(e),
    };
    let code = command(ctx)?;
    // Offline: warn once, after the command, so the count includes what it just queued. A
    // second attempt would only add another timeout.
    if let Some(e) = offline {
        warn(&url, &e, queued(ctx)?);
    } else if queued(ctx)? > 0 {
        match rt.block_on(each_replica(&client, || engine::push_outbox(&ctx.store, &client))) {
            Ok(report) => warn_refused(&report),
            Err(SyncError::Store(e)) => return Err(e.into()),
            Err(e) => warn(&url, &e, queued(ctx)?),
        }
    }
    Ok(code)
}

#[derive(Debug, clap::Args)]
pub struct Join {
    /// The server, e.g. https://warroom.example.internal
    url: String,
    /// The incident's id.
    #[arg(value_name = "INCIDENT_ID")]
    incident_id: String,
}

impl Join {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        join(ctx, &self.url, &self.incident_id)
    }
}

/// `warroom join URL INCIDENT_ID`: fetch an incident from a server and make it current.
fn join(ctx: &Ctx, url: &str, id: &str) -> Result<ExitCode> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(UsageError(format!("`{url}` must start with http:// or https://")).into());
    }
    let rt = runtime()?;
    let client =
        Client::new(url, ctx.config.server.token.clone(), Duration::from_secs(10), &ctx.config.author())?;
    let incident = match uuid::Uuid::parse_str(id.trim()) {
        Ok(full) => full,
        // The start of an id, as `warroom incidents` prints it: the one server incident it names.
        Err(_) => {
            let listed =
                rt.block_on(client.incidents()).wrap_err_with(|| format!("listing incidents on {url}"))?;
            match_prefix(id, listed.iter().map(|i| i.id))?
        }
    };
    let added = rt
        .block_on(engine::pull(&ctx.store, &client, incident))
        .wrap_err_with(|| format!("cannot join incident {incident}"))?;
    let events = ctx.store.events(incident)?;
    let st = crate::incident::fold(&events)
        .map_err(|_| eyre!("incident {incident} not found on {url} (no `opened` event)"))?;
    ctx.store.set_current(incident)?;
    if ctx.config.server.url.as_deref().is_none_or(|u| u.trim_end_matches('/') != url.trim_end_matches('/')) {
        ctx.store.set_meta(SERVER_KEY, url)?;
    }
    println!("joined {} {} ({} events, {added} new)", st.severity, one_line(&st.title), events.len());
    Ok(ExitCode::SUCCESS)
}

/// The one id in `ids` that starts with `prefix` (at least 8 characters of a uuid), or a usage
/// error saying why not.
fn match_prefix(prefix: &str, ids: impl Iterator<Item = uuid::Uuid>) -> Result<uuid::Uuid> {
    let p = prefix.trim().to_ascii_lowercase();
    if p.len() < 8 || !p.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        let shown = one_line(&crate::incident::sanitize::cap(prefix, 40)).into_owned();
        return Err(UsageError(format!(
            "`{shown}` is not an incident id (a uuid, or its first 8+ characters)"
        ))
        .into());
    }
    let found: Vec<uuid::Uuid> = ids.filter(|id| id.to_string().starts_with(&p)).collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(UsageError(format!("no incident on the server starts with `{p}`")).into()),
        more => Err(UsageError(format!(
            "`{p}` starts {} incidents on the server: give more of the id",
            more.len()
        ))
        .into()),
    }
}

#[derive(Debug, clap::Args)]
pub struct Serve {
    /// Address to listen on (IP:PORT; port 0 picks one). Default 127.0.0.1:7077.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// The server database: a SQLite file (default: server.db in the data dir), or a
    /// postgres://user@host/db URL that several replicas share.
    #[arg(long, value_name = "FILE|URL")]
    db: Option<PathBuf>,
    /// Serve without tokens, bound to loopback only (for one host, e.g. a tmux pair).
    #[arg(long)]
    insecure_loopback: bool,
}

impl Serve {
    pub(super) fn run(self, g: &Global) -> Result<ExitCode> {
        serve(g, self.listen, self.db, self.insecure_loopback)
    }
}

/// `warroom serve`: runs until SIGTERM or SIGINT, then shuts down gracefully.
fn serve(
    g: &Global,
    listen: Option<String>,
    db: Option<PathBuf>,
    insecure_loopback: bool,
) -> Result<ExitCode> {
    let config = Config::load(g.config.as_deref())?;
    let listen =
        listen.or_else(|| config.server.listen.clone()).unwrap_or_else(|| server::DEFAULT_LISTEN.into());
    let db: server::Db = match db {
        Some(p) => p.into(),
        None => match &config.server.db {
            // A Postgres URL is not a path: never resolve it against the config file's dir.
            Some(p) if p.to_str().is_some_and(server::pg::is_postgres_url) => p.clone().into(),
            Some(p) => server::Db::Sqlite(config.relative(p)),
            None => server::Db::Sqlite(
                config::data_dir(g.data_dir.as_deref())
                    .ok_or_else(|| UsageError("cannot find a data dir for the server db: pass --db".into()))?
                    .join("server.db"),
            ),
        },
    };
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().wrap_err("starting the runtime")?;
    rt.block_on(async {
        let opts = ServeOptions::from_config(listen, db.clone(), insecure_loopback, &config);
        let running = server::start(opts).await.map_err(|e| match e {
            server::ServeError::NoTokens
            | server::ServeError::BadListen(_)
            | server::ServeError::NotLoopback(_) => color_eyre::Report::new(UsageError(e.to_string())),
            e => color_eyre::Report::new(e),
        })?;
        // The first stdout line is the address, for scripts and tests that listen on port 0.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A closed stdout (daemonised) must not stop the server: ignore write errors here.
        let _ = writeln!(out, "listening on http://{} (db {db})", running.addr).and_then(|_| out.flush());
        drop(out);
        server::shutdown_signal().await;
        eprintln!("warroom serve: shutting down");
        running.stop().await.wrap_err("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}
