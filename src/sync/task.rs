//! The background sync task the TUI runs: push, pull, follow the stream, back off on failure,
//! and publish a `SyncStatus` plus an "events arrived" counter.
//!
//! It runs on its own thread with its own runtime and store connection (a SQLite connection is
//! not `Sync`), so the TUI only holds watch receivers and a nudge handle:
//!
//! ```no_run
//! # fn demo(config: &warroom::config::Config, store: &warroom::store::Store, incident: uuid::Uuid)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use warroom::sync::{SyncConfig, SyncHandle, status_line};
//! let handle = match SyncConfig::from_config(config, store, incident)? {
//!     Some(cfg) => Some(SyncHandle::spawn(cfg)?),
//!     None => None, // no server: the header shows "local"
//! };
//! if let Some(h) = &handle {
//!     // In the event loop's select!: `h.status.changed()` → redraw the header with
//!     // status_line(&h.status.borrow(), now) and h.status.borrow().viewers;
//!     // `h.arrivals.changed()` → re-read the incident from the store.
//!     // After appending a local event: h.nudge().
//!     let _line = status_line(&h.status.borrow(), chrono::Utc::now());
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};

use super::client::{Client, StreamItem, SyncError};
use super::engine;
use super::plan::{self, Link, Retry, SyncStatus};
use crate::incident::IncidentId;
use crate::store::Store;

/// What the task needs: where the store is, which server, which incident to follow.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub data_dir: PathBuf,
    pub server: String,
    pub token: Option<String>,
    /// The presence name (the author).
    pub viewer: String,
    pub incident: IncidentId,
}

/// What sync reads of the config, taken at the edge: `[server] url` (or `WARROOM_SERVER`,
/// already applied by `Config::load`), `[server] token`, and the author as the presence name.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    pub url: Option<String>,
    pub token: Option<String>,
    pub viewer: String,
}

impl ServerSettings {
    pub fn from_config(config: &crate::config::Config) -> ServerSettings {
        ServerSettings {
            url: config.server.url.clone(),
            token: config.server.token.clone(),
            viewer: config.author(),
        }
    }
}

impl SyncConfig {
    /// What the TUI passes to `SyncHandle::spawn`: the configured server, else the one `warroom
    /// join` remembered in the store. None when there is no server: the header then shows `local`.
    pub fn resolve(
        settings: &ServerSettings,
        store: &Store,
        incident: IncidentId,
    ) -> Result<Option<SyncConfig>, crate::store::StoreError> {
        let server = match &settings.url {
            Some(u) => Some(u.clone()),
            None => store.meta(engine::SERVER_KEY)?,
        };
        Ok(server.map(|server| SyncConfig {
            data_dir: store.dir().to_path_buf(),
            server,
            token: settings.token.clone(),
            viewer: settings.viewer.clone(),
            incident,
        }))
    }

    /// [`SyncConfig::resolve`] with the settings of `config`.
    pub fn from_config(
        config: &crate::config::Config,
        store: &Store,
        incident: IncidentId,
    ) -> Result<Option<SyncConfig>, crate::store::StoreError> {
        SyncConfig::resolve(&ServerSettings::from_config(config), store, incident)
    }
}

/// The TUI's handle on the running task. Dropping it stops the task.
pub struct SyncHandle {
    /// Latest status; `changed().await` wakes on every update.
    pub status: watch::Receiver<SyncStatus>,
    /// Bumped whenever events from the server reached the store: re-read the incident.
    pub arrivals: watch::Receiver<u64>,
    nudge: Arc<Notify>,
    /// Told of every local write, whatever the task is doing: the pending count is recounted at
    /// once, even while a push or a probe hangs on a frozen server.
    wrote: Arc<Notify>,
    reconnect: Arc<Notify>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The task's ends of the handle's channels.
struct Channels {
    status: watch::Sender<SyncStatus>,
    arrivals: watch::Sender<u64>,
    nudge: Arc<Notify>,
    wrote: Arc<Notify>,
    reconnect: Arc<Notify>,
    stop: watch::Receiver<bool>,
}

impl SyncHandle {
    /// Starts the task.
    pub fn spawn(cfg: SyncConfig) -> std::io::Result<SyncHandle> {
        let (status_tx, status) = watch::channel(SyncStatus { link: Link::Connecting, ..Default::default() });
        let (arrivals_tx, arrivals) = watch::channel(0u64);
        let nudge = Arc::new(Notify::new());
        let wrote = Arc::new(Notify::new());
        let reconnect = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let (n, w, r) = (nudge.clone(), wrote.clone(), reconnect.clone());
        let thread = std::thread::Builder::new().name("warroom-sync".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = status_tx.send(SyncStatus {
                        link: Link::Offline { since: Utc::now() },
                        last_error: Some(format!("sync runtime: {e}")),
                        ..Default::default()
                    });
                    return;
                }
            };
            let chans = Channels {
                status: status_tx,
                arrivals: arrivals_tx,
                nudge: n,
                wrote: w,
                reconnect: r,
                stop: stop_rx,
            };
            rt.block_on(run(cfg, chans));
        })?;
        Ok(SyncHandle { status, arrivals, nudge, wrote, reconnect, stop, thread: Some(thread) })
    }

    /// Asks the task to push now (call after writing an event locally). The pending count in
    /// the status is recounted at once, online or not.
    pub fn nudge(&self) {
        self.wrote.notify_one();
        self.nudge.notify_one();
    }

    /// Drops the current connection (or the wait before the next try) and reconnects now.
    pub fn reconnect(&self) {
        self.reconnect.notify_one();
    }

    /// Stops the task and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Task {
    cfg: SyncConfig,
    store: Store,
    client: Client,
    status: watch::Sender<SyncStatus>,
    arrivals: watch::Sender<u64>,
    nudge: Arc<Notify>,
    wrote: Arc<Notify>,
    reconnect: Arc<Notify>,
    stop: watch::Receiver<bool>,
    /// Whether the current session got as far as the stream (a Cell: the session runs beside
    /// the recount of local writes, both borrowing the task).
    connected: std::cell::Cell<bool>,
}

/// Between probes while the server is unreachable: a server that comes back is noticed within
/// about this long, whatever the backoff has grown to.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long a probe may take: a frozen or black-holed server must not hold the probing up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn run(cfg: SyncConfig, chans: Channels) {
    let Channels { status, arrivals, nudge, wrote, reconnect, stop } = chans;
    let offline = |why: String| SyncStatus {
        link: Link::Offline { since: Utc::now() },
        last_error: Some(why),
        ..Default::default()
    };
    let store = match Store::open(&cfg.data_dir) {
        Ok(s) => s,
        Err(e) => {
            let _ = status.send(offline(e.to_string()));
            return;
        }
    };
    let client = match Client::new(&cfg.server, cfg.token.clone(), Duration::from_secs(10), &cfg.viewer) {
        Ok(c) => c,
        Err(e) => {
            let _ = status.send(offline(e.to_string()));
            return;
        }
    };
    let mut task = Task {
        cfg,
        store,
        client,
        status,
        arrivals,
        nudge,
        wrote,
        reconnect,
        stop,
        connected: std::cell::Cell::new(false),
    };
    task.main_loop().await;
}

fn jitter() -> f64 {
    // The random bits of a v7 uuid are a good enough jitter source without another crate.
    (uuid::Uuid::now_v7().as_u128() & 0xffff) as f64 / 65536.0
}

impl Task {
    /// (pending, rejected), as `engine::outbox_counts`; a store that cannot be read counts 0.
    fn counts(&self) -> (usize, usize) {
        engine::outbox_counts(&self.store).unwrap_or((0, 0))
    }

    fn publish(&self, link: Link, error: Option<String>, viewers: Option<Vec<String>>) {
        let (pending, rejected) = self.counts();
        self.status.send_modify(|s| {
            // Keep the time we went offline, so the header counts from the first failure; a
            // link that dies counts from the last time the server confirmed the head.
            s.link = match (&s.link, link) {
                (Link::Offline { since }, Link::Offline { .. }) => Link::Offline { since: *since },
                (Link::Online, Link::Offline { since }) => {
                    Link::Offline { since: s.confirmed_at.map_or(since, |c| c.min(since)) }
                }
                (_, l) => l,
            };
            s.pending = pending;
            s.rejected = rejected;
            if let Some(v) = viewers {
                s.viewers = v;
            }
            s.last_error = error;
        });
    }

    /// Recounts the outbox (and the refused events) into the status, leaving the link as it
    /// is: a local write shows as pending at once, even while offline or while a request hangs.
    fn recount(&self) {
        let (pending, rejected) = self.counts();
        self.status.send_if_modified(|s| {
            let changed = s.pending != pending || s.rejected != rejected;
            s.pending = pending;
            s.rejected = rejected;
            changed
        });
    }

    /// The server said its head is `head` and we hold everything up to it.
    fn confirmed(&self, every: Duration) {
        self.status.send_modify(|s| {
            s.confirmed_at = Some(Utc::now());
            s.every = every;
            s.behind = None;
        });
    }

    /// The server's head is below what we took from it: say so (never `synced`) and count it,
    /// so the TUI shows a notice once per time it happened.
    /// `replaced`: the heartbeat named another store than the one the cursor counts in.
    fn server_behind(&self, head: i64, cursor: i64, replaced: bool) {
        self.status.send_modify(|s| {
            s.behind = Some((head, cursor));
            s.confirmed_at = None;
            s.lost += 1;
            s.lost_note = Some(if replaced {
                format!(
                    "server lost events (another store, head {head}, {cursor} seen here): re-sending local events"
                )
            } else {
                format!("server lost events (head {head} < {cursor} seen here): re-sending local events")
            });
        });
    }

    fn arrived(&self, n: usize) {
        if n > 0 {
            self.arrivals.send_modify(|c| *c += 1);
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    async fn main_loop(&mut self) {
        let mut failures = 0u32;
        'sessions: while !self.stopping() {
            self.connected.set(false);
            // Stopping must not wait for a request to time out (a hung server would freeze the
            // TUI on quit or on switching incidents): race the session against the stop signal.
            // Cancelling mid-push is safe: unacknowledged events stay in the outbox and a
            // re-push is idempotent by event id.
            let stop = stopped(self.stop.clone());
            tokio::pin!(stop);
            let reconnect = self.reconnect.clone();
            let wrote = self.wrote.clone();
            let session = self.session();
            tokio::pin!(session);
            let err = loop {
                tokio::select! {
                    r = &mut session => match r {
                        Ok(()) => return,
                        Err(e) => break e,
                    },
                    _ = &mut stop => return,
                    // A local write: count it as pending now, not when this session's request
                    // (which may hang on a frozen server until it times out) is over.
                    _ = wrote.notified() => self.recount(),
                    // The responder asked to reconnect now: drop this session, start over at once.
                    _ = reconnect.notified() => {
                        failures = 0;
                        self.publish(Link::Connecting, None, None);
                        continue 'sessions;
                    }
                }
            };
            // A session that got as far as the stream was a success: start the backoff over.
            failures = if self.connected.get() { 1 } else { failures + 1 };
            let failure = err.failure();
            let link = match plan::classify(failure) {
                Retry::Auth => {
                    failures = failures.max(6);
                    Link::AuthFailed
                }
                _ => Link::Offline { since: Utc::now() },
            };
            self.publish(link, Some(err.to_string()), Some(Vec::new()));
            let wait = plan::backoff(failures, jitter());
            // An unreachable server is probed every second: when it answers, reconnect at once
            // rather than at the end of a backoff grown to 30 s. Errors the server answered
            // (5xx, garbage, auth) wait the whole backoff: it is up and would fail again.
            // With several replicas, one that answered 5xx was left for the next: probe too, and
            // go on at once with whichever replica answers healthy.
            let probing =
                failure == plan::Failure::Network || (err.fails_over() && self.client.bases().len() > 1);
            tokio::select! {
                _ = self.wait(wait, probing) => {}
                // A local write while offline: count it as pending, and try again now rather
                // than after the backoff.
                _ = self.nudge.notified() => self.recount(),
                _ = self.reconnect.notified() => { failures = 0; }
                _ = stopped(self.stop.clone()) => return,
            }
        }
    }

    /// Sleeps `backoff`; when `probing`, returns early once the server answers a probe.
    async fn wait(&self, backoff: Duration, probing: bool) {
        let until = tokio::time::Instant::now() + backoff;
        if !probing {
            return tokio::time::sleep_until(until).await;
        }
        while tokio::time::Instant::now() < until {
            let nap = PROBE_EVERY.mul_f64(0.75 + 0.5 * jitter());
            tokio::time::sleep(nap.min(until.saturating_duration_since(tokio::time::Instant::now()))).await;
            if self.client.probe(PROBE_TIMEOUT).await {
                return;
            }
        }
    }

    /// Catches up, then follows the stream until it fails (Err) or the task is stopped (Ok).
    /// Each heartbeat names the server's head: behind it, the gap is pulled; at it, the head is
    /// confirmed (the header may say `synced`). Silence for 2.5 heartbeats ends the session.
    async fn session(&self) -> Result<(), SyncError> {
        let incident = self.cfg.incident;
        let report = engine::sync_once(&self.store, &self.client, &[incident]).await?;
        self.arrived(report.pulled);
        let after = engine::cursor(&self.store, incident)?;
        let mut stream = self.client.stream(incident, after).await?;
        self.connected.set(true);
        self.publish(Link::Online, None, None);
        let stop = stopped(self.stop.clone());
        tokio::pin!(stop);
        // Other warroom processes on this host write to the same store: push their events too.
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut every = plan::ASSUMED_EVERY;
        let mut heard = tokio::time::Instant::now();
        loop {
            let silence = tokio::time::sleep_until(heard + plan::silence_limit(every));
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = silence => {
                    let secs = heard.elapsed().as_secs_f64();
                    return Err(SyncError::Silent { url: self.client.base().into(), secs });
                }
                _ = self.nudge.notified() => {
                    // Say "1 pending" while the push is under way: it may hang on a frozen server.
                    self.publish(Link::Online, None, None);
                    engine::push_outbox(&self.store, &self.client).await?;
                    self.publish(Link::Online, None, None);
                }
                _ = tick.tick() => {
                    if engine::outbox_counts(&self.store)?.0 > 0 {
                        self.publish(Link::Online, None, None);
                        engine::push_outbox(&self.store, &self.client).await?;
                        self.publish(Link::Online, None, None);
                    }
                }
                item = stream.next() => {
                    heard = tokio::time::Instant::now();
                    match item {
                        None => return Err(SyncError::Garbage { url: self.client.base().into(), why: "stream closed".into() }),
                        Some(Err(e)) => return Err(e),
                        Some(Ok(StreamItem::Presence(viewers))) => {
                            let others: Vec<String> = viewers.into_iter().map(|v| crate::incident::sanitize::one_line(&v).into_owned()).collect();
                            self.publish(Link::Online, None, Some(others));
                        }
                        Some(Ok(StreamItem::Event { seq, event })) => {
                            let added = engine::take_in(&self.store, incident, vec![super::wire::Sequenced { seq, event: *event }])?;
                            self.arrived(added);
                            self.publish(Link::Online, None, None);
                        }
                        Some(Ok(StreamItem::Heartbeat { head, every: e, store: id })) => {
                            // Clamped: a server announcing 0 ms or an hour must not make us spin or go deaf.
                            every = e.clamp(Duration::from_millis(100), Duration::from_secs(300));
                            let kept = engine::kept_store(&self.store, incident)?;
                            // Another store than the one our cursor counts in (restored,
                            // emptied, replaced): its head may already be past our cursor, so
                            // the head alone would not tell. A server that names no store (an
                            // old one) is judged by its head alone.
                            let replaced = matches!((&kept, &id), (Some(k), Some(n)) if k != n);
                            if head < stream.last() || replaced {
                                // The server has less than we took from it, or other events
                                // under the same numbers: it lost events or is another store.
                                // Say so, send it ours again, take in what it holds now under
                                // its new numbering, and follow from there.
                                self.server_behind(head, stream.last(), replaced);
                                self.publish(Link::Online, None, None);
                                engine::resend(&self.store, &self.client, incident).await?;
                                // The cursor is 0 now: it counts in the new store from here.
                                if let Some(n) = &id {
                                    engine::keep_store(&self.store, incident, n)?;
                                }
                                let added = engine::pull(&self.store, &self.client, incident).await?;
                                self.arrived(added);
                                stream = self.client.stream(incident, engine::cursor(&self.store, incident)?).await?;
                                heard = tokio::time::Instant::now();
                                self.publish(Link::Online, None, None);
                                // The new stream's first heartbeat confirms the head (or not).
                                continue;
                            }
                            if let (None, Some(n)) = (&kept, &id) {
                                // First contact (or a client from before store ids): keep it.
                                engine::keep_store(&self.store, incident, n)?;
                            }
                            if head > stream.last() {
                                // The server has events this stream did not bring: pull them.
                                let added = engine::pull(&self.store, &self.client, incident).await?;
                                self.arrived(added);
                                stream.advance(engine::cursor(&self.store, incident)?);
                            }
                            if stream.last() >= head {
                                self.confirmed(every);
                            }
                            self.publish(Link::Online, None, None);
                        }
                    }
                }
            }
        }
    }
}

/// Resolves once the handle asks the task to stop.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that accepts connections and never answers: every request hangs until the
    /// client's 10 s timeout. Stopping the handle must not wait for that.
    #[test]
    fn stop_does_not_wait_for_a_hung_request() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (accepted_tx, accepted) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept() {
                held.push(conn);
                let _ = accepted_tx.send(());
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let cfg = SyncConfig {
            data_dir: dir.path().to_path_buf(),
            server: format!("http://{addr}"),
            token: None,
            viewer: "ana".into(),
            incident: uuid::Uuid::now_v7(),
        };
        let handle = SyncHandle::spawn(cfg).unwrap();
        accepted.recv_timeout(Duration::from_secs(10)).expect("the task connected");
        let (done_tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            handle.stop();
            let _ = done_tx.send(());
        });
        // Well under the client's 10 s request timeout: the stop raced the request.
        done.recv_timeout(Duration::from_secs(5)).expect("stop returned while the request hung");
    }
}
