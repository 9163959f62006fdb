//! The live event stream (SSE): catch up from the database after Last-Event-ID, then forward
//! broadcast events, falling back to the database on any gap so a subscriber never misses one.
//! A heartbeat at a fixed interval carries the incident's head sequence read from the database
//! (a read shared with the other streams' heartbeats that asked before it began: `Hub::read_head`);
//! anything the broadcast missed up to that head is sent first, so the heartbeat is a promise:
//! every event up to `head` came before it on this stream.
//!
//! The response body is the subscriber itself (a stream polled by the connection's own task):
//! no task or channel per subscriber. A broadcast event arrives already framed (`hub::sse_frame`,
//! once per append), so forwarding it to a thousand streams clones a refcount a thousand times.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval};

use super::hub::{Msg, PRESENCE_EVERY, PresenceGuard, sse_frame};
use super::routes::{ApiError, ApiQuery, AppState, Principal, parse_incident};
use crate::incident::IncidentId;
use crate::sync::wire::{self, Heartbeat, Sequenced};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamQuery {
    /// Resume point when the client cannot set Last-Event-ID.
    after: Option<i64>,
    /// Display name for presence on a server without tokens.
    viewer: Option<String>,
}

pub(super) async fn stream(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let incident = parse_incident(&id)?;
    let last = match headers.get("last-event-id").map(|v| v.to_str().unwrap_or("\u{fffd}")) {
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "Last-Event-ID", "not a sequence number", None)
        })?,
        None => q.after.unwrap_or(0),
    };
    let name = match who.0 {
        Some(n) => n,
        None => q
            .viewer
            .map(|v| crate::incident::sanitize::one_line(&v).chars().take(64).collect::<String>())
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "anonymous".into()),
    };
    // Subscribe before the catch-up read so nothing appended in between is missed.
    let rx = st.hub.subscribe();
    let sub = Subscriber::new(st, incident, &name, last, rx);
    let body = futures_util::stream::unfold(sub, |mut sub| async move {
        let frame = sub.next().await?;
        Some((Ok::<_, Infallible>(frame), sub))
    });
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// An SSE comment, sent when nothing else was for this long (what axum's default keep-alive did;
/// heartbeats normally come far more often).
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

fn sse_heartbeat(head: i64, every: std::time::Duration, store: &str) -> Bytes {
    let beat = Heartbeat { head, every_ms: every.as_millis() as u64, store: Some(store.to_string()) };
    sse_frame("heartbeat", None, &serde_json::to_string(&beat).unwrap_or_default())
}

/// Counts an open stream in /metrics while it lives.
struct Counted(std::sync::Arc<super::metrics::Metrics>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the next database read is for.
enum Catch {
    /// The first catch-up after Last-Event-ID; a heartbeat naming the head follows it.
    Opening,
    /// A heartbeat found the head beyond `last`: the heartbeat (naming at least `head`) follows.
    Heartbeat { head: i64 },
    /// A gap in the broadcast (appends published out of order, or this stream lagged).
    Gap,
}

/// One stream's state. `next` yields its frames in order; the stream ends (None) when the server
/// stops or the database fails (the client then resumes from its cursor). Dropping it (client
/// gone) leaves presence.
struct Subscriber {
    st: AppState,
    incident: IncidentId,
    /// The last sequence number sent on this stream.
    last: i64,
    rx: broadcast::Receiver<Msg>,
    presence: PresenceGuard,
    presence_sent: Instant,
    presence_due: Option<Instant>,
    beat: Option<Interval>,
    /// When the last frame went out, and the keep-alive timer (re-armed lazily from it, so a
    /// frame costs no timer update).
    last_frame: Instant,
    idle: Pin<Box<tokio::time::Sleep>>,
    stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
    out: VecDeque<Bytes>,
    catching: Option<Catch>,
    done: bool,
    _counted: Counted,
}

impl Subscriber {
    fn new(st: AppState, incident: IncidentId, name: &str, last: i64, rx: broadcast::Receiver<Msg>) -> Self {
        st.metrics.subscribers.fetch_add(1, Ordering::Relaxed);
        let mut presence = st.hub.join(incident, name);
        // Presence changes are coalesced: at most one message per PRESENCE_EVERY, the latest list.
        let first = presence.changes.borrow_and_update().clone();
        let stopped = Box::pin(stopped(st.shutdown.clone()));
        Subscriber {
            _counted: Counted(st.metrics.clone()),
            incident,
            last,
            rx,
            presence,
            presence_sent: Instant::now(),
            presence_due: None,
            beat: None,
            last_frame: Instant::now(),
            idle: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
            stopped,
            out: VecDeque::from([sse_frame("presence", None, &first)]),
            // A first heartbeat right after the catch-up, so the client learns the head and the
            // interval at once: the catch-up reads up to an empty page, so `last` is then the
            // head it saw (no second read, which matters when a thousand streams open together).
            catching: Some(Catch::Opening),
            done: false,
            st,
        }
    }

    /// The next frame to write, or None when the stream ends.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(b) = self.out.pop_front() {
                self.last_frame = Instant::now();
                return Some(b);
            }
            if self.done {
                return None;
            }
            if self.catching.is_some() {
                self.catch_up_page().await;
            } else {
                self.wait().await;
            }
        }
    }

    /// Reads one page after `last` from the database and queues it; an empty page ends the
    /// catch-up (and queues the heartbeat it was for).
    async fn catch_up_page(&mut self) {
        let page: Vec<Sequenced> = match self.st.store.after(self.incident, self.last, wire::MAX_PAGE).await {
            Ok(p) => p,
            Err(_) => {
                self.done = true;
                return;
            }
        };
        if page.is_empty() {
            match self.catching.take() {
                Some(Catch::Opening) => {
                    self.out.push_back(sse_heartbeat(self.last, self.st.heartbeat, self.st.store.store_id()));
                    let every = self.st.heartbeat;
                    let mut beat = tokio::time::interval_at(Instant::now() + every, every);
                    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    self.beat = Some(beat);
                }
                Some(Catch::Heartbeat { head }) => self.out.push_back(sse_heartbeat(
                    self.last.max(head),
                    self.st.heartbeat,
                    self.st.store.store_id(),
                )),
                Some(Catch::Gap) | None => {}
            }
            return;
        }
        for s in page {
            match serde_json::to_string(&s.event) {
                Ok(json) => self.out.push_back(sse_frame("event", Some(s.seq), &json)),
                Err(_) => {
                    self.done = true;
                    return;
                }
            }
            self.last = s.seq;
        }
    }

    /// Waits for the next thing to send: a broadcast event, a heartbeat, a presence change, a
    /// keep-alive, or the server stopping.
    /// Starts reading from the database because the broadcast did not bring what is due.
    fn fall_back(&mut self, why: Catch) {
        self.st.metrics.stream_catch_ups.fetch_add(1, Ordering::Relaxed);
        self.catching = Some(why);
    }

    async fn wait(&mut self) {
        let due = self.presence_due.unwrap_or_else(|| self.presence_sent + PRESENCE_EVERY);
        let has_beat = self.beat.is_some();
        let beat = self.beat.as_mut();
        tokio::select! {
            _ = &mut self.stopped => self.done = true,
            changed = self.presence.changes.changed(), if self.presence_due.is_none() => {
                if changed.is_err() {
                    self.done = true;
                } else {
                    self.presence_due = Some(self.presence_sent + PRESENCE_EVERY);
                }
            }
            _ = tokio::time::sleep_until(due), if self.presence_due.is_some() => {
                self.presence_due = None;
                self.presence_sent = Instant::now();
                let json = self.presence.changes.borrow_and_update().clone();
                self.out.push_back(sse_frame("presence", None, &json));
            }
            _ = async { beat.expect("guarded: only polled when set").tick().await }, if has_beat => {
                let store = &self.st.store;
                match self.st.hub.read_head(self.incident, || store.last_seq(self.incident)).await {
                    // The broadcast missed something (or it is still on its way): send it from
                    // the database before the heartbeat.
                    Ok(head) if head > self.last => self.fall_back(Catch::Heartbeat { head }),
                    Ok(head) => {
                        self.out.push_back(sse_heartbeat(head, self.st.heartbeat, self.st.store.store_id()))
                    }
                    Err(_) => self.done = true,
                }
            }
            _ = self.idle.as_mut() => {
                let quiet_until = self.last_frame + KEEP_ALIVE;
                if quiet_until <= Instant::now() {
                    self.out.push_back(Bytes::from_static(b":\n\n"));
                    self.idle.as_mut().reset(Instant::now() + KEEP_ALIVE);
                } else {
                    self.idle.as_mut().reset(quiet_until);
                }
            }
            msg = self.rx.recv() => match msg {
                Ok(Msg::Events { incident, items }) if incident == self.incident => {
                    if items.first().is_some_and(|(seq, _)| *seq > self.last.saturating_add(1)) {
                        // Everything published is committed first, so the database has it all.
                        self.fall_back(Catch::Gap);
                    } else {
                        for (seq, frame) in items.iter() {
                            if *seq > self.last {
                                self.out.push_back(frame.clone());
                                self.last = *seq;
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => self.fall_back(Catch::Gap),
                Err(broadcast::error::RecvError::Closed) => self.done = true,
            },
        }
    }
}

/// Resolves once the server is stopping.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
