//! The live event stream (SSE): catch up from the database after Last-Event-ID, then forward
//! broadcast events, falling back to the database on any gap so a subscriber never misses one.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::hub::{Msg, PRESENCE_EVERY};
use super::routes::{ApiError, ApiQuery, AppState, Principal, parse_incident};
use crate::incident::IncidentId;
use crate::sync::wire::{self, Sequenced};

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
) -> Result<Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
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
    let (tx, out) = mpsc::channel::<SseEvent>(256);
    tokio::spawn(subscriber(st, incident, name, last, rx, tx));
    Ok(Sse::new(ReceiverStream::new(out).map(Ok)).keep_alive(KeepAlive::default()))
}

fn sse_event(seq: i64, json: &str) -> SseEvent {
    SseEvent::default().event("event").id(seq.to_string()).data(json)
}

fn sse_presence(json: &str) -> SseEvent {
    SseEvent::default().event("presence").data(json)
}

/// Sends everything after `last` from the database; returns the new `last`, or None when the
/// client is gone or the database failed (the stream then ends and the client resumes).
async fn catch_up(
    st: &AppState,
    incident: IncidentId,
    mut last: i64,
    tx: &mpsc::Sender<SseEvent>,
) -> Option<i64> {
    loop {
        let store = st.store.clone();
        let page: Vec<Sequenced> =
            tokio::task::spawn_blocking(move || store.after(incident, last, wire::MAX_PAGE))
                .await
                .ok()?
                .ok()?;
        if page.is_empty() {
            return Some(last);
        }
        for s in page {
            let json = serde_json::to_string(&s.event).ok()?;
            tx.send(sse_event(s.seq, &json)).await.ok()?;
            last = s.seq;
        }
    }
}

async fn subscriber(
    st: AppState,
    incident: IncidentId,
    name: String,
    mut last: i64,
    mut rx: broadcast::Receiver<Msg>,
    tx: mpsc::Sender<SseEvent>,
) {
    st.metrics.subscribers.fetch_add(1, Ordering::Relaxed);
    let mut presence = st.hub.join(incident, &name);
    let stopped = stopped(st.shutdown.clone());
    tokio::pin!(stopped);
    // Presence changes are coalesced: at most one message per PRESENCE_EVERY, the latest list.
    let first = presence.changes.borrow_and_update().clone();
    let mut presence_sent = tokio::time::Instant::now();
    let mut presence_due: Option<tokio::time::Instant> = None;
    if tx.send(sse_presence(&first)).await.is_ok()
        && let Some(l) = catch_up(&st, incident, last, &tx).await
    {
        last = l;
        loop {
            let due = presence_due.unwrap_or_else(|| presence_sent + PRESENCE_EVERY);
            tokio::select! {
                _ = &mut stopped => break,
                _ = tx.closed() => break,
                changed = presence.changes.changed(), if presence_due.is_none() => {
                    if changed.is_err() {
                        break;
                    }
                    presence_due = Some(presence_sent + PRESENCE_EVERY);
                }
                _ = tokio::time::sleep_until(due), if presence_due.is_some() => {
                    presence_due = None;
                    presence_sent = tokio::time::Instant::now();
                    let json = presence.changes.borrow_and_update().clone();
                    if tx.send(sse_presence(&json)).await.is_err() {
                        break;
                    }
                }
                msg = rx.recv() => match msg {
                    Ok(Msg::Events { incident: i, items }) if i == incident => {
                        // A gap (appends published out of order, or we lagged): read it from the db.
                        if items.first().is_some_and(|(seq, _)| *seq > last.saturating_add(1)) {
                            match catch_up(&st, incident, last, &tx).await {
                                Some(l) => last = l,
                                None => break,
                            }
                        }
                        let mut gone = false;
                        for (seq, json) in items.iter() {
                            if *seq <= last {
                                continue;
                            }
                            if tx.send(sse_event(*seq, json)).await.is_err() {
                                gone = true;
                                break;
                            }
                            last = *seq;
                        }
                        if gone {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => match catch_up(&st, incident, last, &tx).await {
                        Some(l) => last = l,
                        None => break,
                    },
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
    }
    st.metrics.subscribers.fetch_sub(1, Ordering::Relaxed);
}

/// Resolves once the server is stopping.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
