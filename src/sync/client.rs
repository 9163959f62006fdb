//! The HTTP client for the sync protocol: push a batch, pull a page, follow the stream.
//! Every answer is checked: bodies are size-limited and must parse, or the call fails as garbage.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;

use super::plan::Failure;
use super::sse;
use super::wire::{Ack, AppendRequest, AppendResponse, ErrorBody, EventsPage, Presence};
use crate::incident::{Event, IncidentId};

/// Largest answer body read (bytes): a page of 1000 maximal events fits; a garbage flood does not.
const MAX_ANSWER: usize = 96 * 1024 * 1024;

/// A failed call, with what the server said when it said something.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{url}: {}", root_cause(source))]
    Network { url: String, source: reqwest::Error },
    /// An error answer: `index` is the batch index of the event the server blamed, `field` the
    /// field it named (`events[0].author`), when it said.
    #[error("{url}: HTTP {code}: {message}")]
    Status { url: String, code: u16, message: String, index: Option<usize>, field: Option<String> },
    #[error("{url}: unexpected answer: {why}")]
    Garbage { url: String, why: String },
    /// The stream carried nothing, not even a heartbeat, for this long: the link is dead even if
    /// the connection still looks open (a frozen server, a black-holed network).
    #[error("{url}: nothing heard for {secs:.1} s")]
    Silent { url: String, secs: f64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The innermost cause of a transport error ("Connection refused", "operation timed out"):
/// reqwest's own message only repeats the URL.
fn root_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl SyncError {
    /// Whether another replica may do better after this failure: the replica did not answer (or
    /// went silent), or answered 5xx. A failed request has already moved the client on to the
    /// next URL, so retrying at once lands there.
    pub fn fails_over(&self) -> bool {
        match self {
            SyncError::Network { .. } | SyncError::Silent { .. } => true,
            SyncError::Status { code, .. } => (500..600).contains(code),
            SyncError::Garbage { .. } | SyncError::Store(_) => false,
        }
    }

    /// The failure as the planner classifies it. A 403 blames one event only when it names that
    /// event's author (`events[i].author`: the token may not write it); any other 403 is about
    /// the token, and keeps no index.
    pub fn failure(&self) -> Failure {
        match self {
            SyncError::Network { .. } | SyncError::Silent { .. } => Failure::Network,
            SyncError::Status { code: 403, index, field, .. } => {
                let index = index.filter(|i| field.as_deref() == Some(&format!("events[{i}].author")));
                Failure::Status { code: 403, index }
            }
            SyncError::Status { code, index, .. } => Failure::Status { code: *code, index: *index },
            SyncError::Garbage { .. } | SyncError::Store(_) => Failure::Garbage,
        }
    }
}

/// A connection to a server, or to one of several replicas sharing a Postgres store: `base` may
/// list several URLs separated by commas. Requests go to the current one; a network failure or a
/// 5xx answer moves on to the next (a 4xx does not: it would fail the same everywhere), so the
/// caller's next attempt (push, pull, or a stream resumed from its cursor) lands on another
/// replica. Nothing is lost or doubled by switching: replicas share one
/// sequence per incident, and appends are idempotent on event id.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    bases: std::sync::Arc<Vec<String>>,
    current: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    token: Option<String>,
    timeout: Duration,
    viewer: String,
}

/// What the stream delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    Event {
        seq: i64,
        event: Box<Event>,
    },
    Presence(Vec<String>),
    /// The server's head sequence when it sent this (everything up to it came before), and how
    /// often heartbeats come, and the identity of the server's database (None from a server
    /// that does not send one).
    Heartbeat {
        head: i64,
        every: Duration,
        store: Option<String>,
    },
}

impl Client {
    /// `timeout` bounds connecting and each push/pull (not the stream). `viewer` is the presence
    /// name sent to servers without tokens.
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
        viewer: &str,
    ) -> Result<Client, SyncError> {
        let bases: Vec<String> = split_urls(base);
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| SyncError::Network { url: base.to_string(), source })?;
        Ok(Client {
            http,
            bases: std::sync::Arc::new(bases),
            current: Default::default(),
            token,
            timeout,
            viewer: viewer.to_string(),
        })
    }

    /// The server (replica) requests go to now.
    pub fn base(&self) -> &str {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        self.bases.get(i % self.bases.len().max(1)).map_or("", |s| s.as_str())
    }

    /// Every configured server URL.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// Moves on to the next replica (after `failed` failed); a no-op with one URL, and when another
    /// request already moved on from `failed`.
    fn fail_over(&self, failed: &str) {
        if self.bases.len() > 1 && self.base() == failed {
            self.current.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A network-level failure of a request to `base`: fail over, and describe it.
    fn network(&self, base: &str, url: &str, source: reqwest::Error) -> SyncError {
        self.fail_over(base);
        SyncError::Network { url: url.to_string(), source }
    }

    fn url(&self, incident: IncidentId, tail: &str) -> String {
        format!("{}/v1/incidents/{incident}/{tail}", self.base())
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Reads an answer from `base`. A 5xx moves on to the next replica (this one's database may
    /// be gone; another may be fine); a 4xx does not: the request itself is at fault and would
    /// fail the same everywhere.
    async fn read(&self, base: &str, url: &str, resp: reqwest::Response) -> Result<Vec<u8>, SyncError> {
        let status = resp.status();
        if status.is_server_error() {
            self.fail_over(base);
        }
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| SyncError::Network { url: url.into(), source })?;
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(SyncError::Garbage { url: url.into(), why: "answer too large".into() });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(status_error(url, status, &body));
        }
        Ok(body)
    }

    fn parse<T: serde::de::DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, SyncError> {
        serde_json::from_slice(body).map_err(|e| SyncError::Garbage { url: url.into(), why: e.to_string() })
    }

    /// Sends `req` (to `url`, on `base`) with the token and the request timeout, and reads its
    /// JSON answer; a failure fails over as `network` and `read` say.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, SyncError> {
        let resp = self
            .auth(req.timeout(self.timeout))
            .send()
            .await
            .map_err(|source| self.network(base, url, source))?;
        let bytes = self.read(base, url, resp).await?;
        Self::parse(url, &bytes)
    }

    /// Appends a batch; answers one ack per event, checked against the request.
    pub async fn push(&self, incident: IncidentId, events: &[Event]) -> Result<Vec<Ack>, SyncError> {
        let base = self.base().to_string();
        let url = format!("{base}/v1/incidents/{incident}/events");
        let body = AppendRequest { events: events.to_vec() };
        let ans: AppendResponse = self.call(&base, &url, self.http.post(&url).json(&body)).await?;
        let matches = ans.acks.len() == events.len()
            && ans.acks.iter().zip(events).all(|(a, e)| a.id == e.id && a.seq > 0);
        if !matches {
            return Err(SyncError::Garbage { url, why: "acks do not match the events sent".into() });
        }
        Ok(ans.acks)
    }

    /// One page of events after `after`.
    pub async fn pull(
        &self,
        incident: IncidentId,
        after: i64,
        limit: usize,
    ) -> Result<EventsPage, SyncError> {
        let base = self.base().to_string();
        let url = format!("{base}/v1/incidents/{incident}/events");
        let query = [("after", after), ("limit", limit as i64)];
        let page: EventsPage = self.call(&base, &url, self.http.get(&url).query(&query)).await?;
        let mut prev = after;
        for s in &page.events {
            if s.seq <= prev {
                return Err(SyncError::Garbage { url, why: "sequence numbers out of order".into() });
            }
            prev = s.seq;
        }
        Ok(page)
    }

    /// The incidents the server holds, with their titles (`GET /v1/incidents`).
    pub async fn incidents(&self) -> Result<Vec<super::wire::IncidentSummary>, SyncError> {
        let base = self.base().to_string();
        let url = format!("{base}/v1/incidents");
        self.call(&base, &url, self.http.get(&url)).await
    }

    /// Who is viewing the incident.
    pub async fn presence(&self, incident: IncidentId) -> Result<Presence, SyncError> {
        let base = self.base().to_string();
        let url = format!("{base}/v1/incidents/{incident}/presence");
        self.call(&base, &url, self.http.get(&url)).await
    }

    /// Whether the server answers at all: `GET /healthz` within `timeout`. Cheap enough to ask
    /// every second while offline, so a server that comes back is noticed at once.
    /// With several replicas, every one is asked at once and the first to answer becomes current.
    pub async fn probe(&self, timeout: Duration) -> bool {
        let asks = self.bases.iter().enumerate().map(|(i, base)| {
            let url = format!("{base}/healthz");
            let req = self.http.get(url).timeout(timeout).send();
            Box::pin(async move {
                match req.await {
                    Ok(r) if r.status().is_success() => Ok(i),
                    _ => Err(()),
                }
            })
        });
        let asks: Vec<_> = asks.collect();
        if asks.is_empty() {
            return false;
        }
        match futures_util::future::select_ok(asks).await {
            Ok((i, _)) => {
                self.current.store(i, std::sync::atomic::Ordering::Relaxed);
                true
            }
            Err(()) => false,
        }
    }

    /// Opens the event stream from `after` (sent as Last-Event-ID). Waiting for the answer's
    /// headers is bounded by the request timeout (a frozen server accepts and never answers).
    pub async fn stream(&self, incident: IncidentId, after: i64) -> Result<EventStream, SyncError> {
        let url = self.url(incident, "stream");
        let send = self
            .auth(
                self.http
                    .get(&url)
                    .query(&[("viewer", self.viewer.as_str())])
                    .header("Last-Event-ID", after.to_string())
                    .header("Accept", "text/event-stream"),
            )
            .send();
        let base = self.base().to_string();
        let resp = tokio::time::timeout(self.timeout, send)
            .await
            .map_err(|_| {
                self.fail_over(&base);
                SyncError::Silent { url: url.clone(), secs: self.timeout.as_secs_f64() }
            })?
            .map_err(|source| self.network(&base, &url, source))?;
        if !resp.status().is_success() {
            return Err(self
                .read(&base, &url, resp)
                .await
                .err()
                .unwrap_or(SyncError::Garbage { url: url.clone(), why: "error status".into() }));
        }
        Ok(EventStream {
            url,
            body: Box::pin(resp.bytes_stream()),
            parser: sse::Parser::default(),
            queue: Default::default(),
            last: after,
        })
    }
}

fn status_error(url: &str, status: StatusCode, body: &[u8]) -> SyncError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let message = match &parsed {
        Some(e) => crate::incident::sanitize::one_line(&e.error).chars().take(300).collect(),
        None => status.canonical_reason().unwrap_or("error").to_string(),
    };
    let (index, field) = parsed.map_or((None, None), |e| (e.index, e.field));
    SyncError::Status { url: url.into(), code: status.as_u16(), message, index, field }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>;

/// A live event stream. Sequence numbers must increase by exactly one; a gap is an error so the
/// caller reconnects (and resumes from its cursor) rather than silently missing events. An event
/// at or below the last one taken is one the caller already has (pulled it): skipped.
pub struct EventStream {
    url: String,
    body: ByteStream,
    parser: sse::Parser,
    queue: std::collections::VecDeque<sse::Message>,
    last: i64,
}

impl EventStream {
    /// The newest sequence number taken from this stream (or pulled, see `advance`).
    pub fn last(&self) -> i64 {
        self.last
    }

    /// The caller pulled up to `to` by other means: events up to it are skipped, the next is `to + 1`.
    pub fn advance(&mut self, to: i64) {
        self.last = self.last.max(to);
    }

    /// The next item; None when the server closed the stream.
    pub async fn next(&mut self) -> Option<Result<StreamItem, SyncError>> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                match self.decode(m) {
                    Ok(Some(item)) => return Some(Ok(item)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                }
            }
            let chunk = match self.body.next().await? {
                Ok(c) => c,
                Err(source) => return Some(Err(SyncError::Network { url: self.url.clone(), source })),
            };
            match self.parser.feed(&chunk) {
                Ok(ms) => self.queue.extend(ms),
                Err(why) => return Some(Err(SyncError::Garbage { url: self.url.clone(), why })),
            }
        }
    }

    fn decode(&mut self, m: sse::Message) -> Result<Option<StreamItem>, SyncError> {
        let garbage = |why: String| SyncError::Garbage { url: self.url.clone(), why };
        match m.event.as_str() {
            "event" => {
                let seq: i64 =
                    m.id.as_deref()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| garbage("event without id".into()))?;
                if seq <= self.last {
                    return Ok(None);
                }
                if seq != self.last + 1 {
                    return Err(garbage(format!("expected seq {}, got {seq}", self.last + 1)));
                }
                let event: Event = serde_json::from_str(&m.data).map_err(|e| garbage(e.to_string()))?;
                self.last = seq;
                Ok(Some(StreamItem::Event { seq, event: Box::new(event) }))
            }
            "presence" => {
                let p: Presence = serde_json::from_str(&m.data).map_err(|e| garbage(e.to_string()))?;
                Ok(Some(StreamItem::Presence(p.viewers)))
            }
            "heartbeat" => {
                let b: super::wire::Heartbeat =
                    serde_json::from_str(&m.data).map_err(|e| garbage(e.to_string()))?;
                Ok(Some(StreamItem::Heartbeat {
                    head: b.head,
                    every: Duration::from_millis(b.every_ms),
                    store: b.store,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// The URLs in a `server.url` value: one, or several separated by commas (replicas).
pub fn split_urls(value: &str) -> Vec<String> {
    value.split(',').map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, body: &str) -> SyncError {
        status_error("http://s/v1/x", StatusCode::from_u16(code).unwrap(), body.as_bytes())
    }

    #[test]
    fn a_403_blames_an_event_only_when_it_names_its_author() {
        let author = r#"{"error":"events[1].author: `mallory` may not be written with the token of `ana`","field":"events[1].author","index":1}"#;
        assert_eq!(answer(403, author).failure(), Failure::Status { code: 403, index: Some(1) });
        // The index must be the one the field names; anything else is about the token.
        let other = r#"{"error":"forbidden","field":"events[2].author","index":1}"#;
        assert_eq!(answer(403, other).failure(), Failure::Status { code: 403, index: None });
        let token = r#"{"error":"forbidden","field":"authorization","index":0}"#;
        assert_eq!(answer(403, token).failure(), Failure::Status { code: 403, index: None });
        assert_eq!(answer(403, "not json").failure(), Failure::Status { code: 403, index: None });
        let bad = r#"{"error":"events[3].text: too long","field":"events[3].text","index":3}"#;
        assert_eq!(answer(422, bad).failure(), Failure::Status { code: 422, index: Some(3) });
    }
}
