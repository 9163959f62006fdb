//! The HTTP API: handlers, the auth and metrics layers, and error answers that name the field.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use tokio::sync::watch;

use super::auth::{Tokens, author_allowed};
use super::hub::Hub;
use super::metrics::Metrics;
use super::store::{EventStore, ServerStoreError};
use crate::incident::{IncidentId, fold};
use crate::sync::wire::{
    self, Ack, AppendRequest, AppendResponse, ErrorBody, EventsPage, IncidentSummary, Presence,
};

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn EventStore>,
    pub tokens: Arc<Tokens>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    /// The team file served at /v1/team, if configured.
    pub team_file: Option<std::path::PathBuf>,
    /// Flips to true when the server is stopping: streams end.
    pub shutdown: watch::Receiver<bool>,
    /// Time between heartbeats on every stream.
    pub heartbeat: std::time::Duration,
}

/// Who made the request: the token's name, or None on an insecure loopback server.
#[derive(Debug, Clone)]
pub struct Principal(pub Option<String>);

/// An error answer with a JSON body.
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError { status, body: ErrorBody { error: error.into(), field: None, index: None } }
    }
    pub(super) fn field(
        status: StatusCode,
        field: impl Into<String>,
        error: impl Into<String>,
        index: Option<usize>,
    ) -> Self {
        let field = field.into();
        let error = format!("{field}: {}", error.into());
        ApiError { status, body: ErrorBody { error, field: Some(field), index } }
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
    /// A store failure: 503 when the database is out of reach (a client with several replicas
    /// moves on to the next), else 500.
    fn store(e: ServerStoreError) -> Self {
        match e {
            ServerStoreError::Unavailable { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            e => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/incidents", get(list_incidents))
        .route("/incidents/{id}/events", post(append).get(events_after))
        .route("/incidents/{id}/stream", get(super::stream::stream))
        .route("/incidents/{id}/presence", get(presence))
        .route("/team", get(team))
        .route("/openapi.json", get(openapi));
    // Outermost last: errors as JSON, then metrics, then the token (before any body is read:
    // a request without a valid token never makes the server buffer its body), then the body.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(wire::MAX_BODY))
        .layer(middleware::from_fn(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), measure))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// How much of an oversized body is still read (and thrown away) before the 413 is sent.
const DRAIN_MAX: usize = 8 * wire::MAX_BODY;
/// How long that may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);
/// How long a body within the limit may take to arrive (a client trickling bytes holds a
/// connection and a buffer until then).
const BODY_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// The body limit, answered so that the client can read the answer. A server that answers 413
/// and closes with the rest of the body unread makes the kernel reset the connection, and a
/// client still writing (HTTP/1.1 without `Expect: 100-continue`) then loses the 413 and sees
/// only "connection reset". So the body is read here: up to the limit it is handed on, past it
/// the rest is drained (bounded by [`DRAIN_MAX`] and [`DRAIN_TIME`], as nginx's lingering close)
/// and the JSON 413 goes out on a connection the client is no longer writing to.
async fn body_limit(req: Request, next: Next) -> Response {
    use futures_util::StreamExt;
    let too_large = || {
        let limit = format!("larger than the limit of {} bytes", wire::MAX_BODY);
        ApiError::field(StatusCode::PAYLOAD_TOO_LARGE, "body", limit, None)
    };
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared == Some(0) || (declared.is_none() && !parts.headers.contains_key(header::TRANSFER_ENCODING)) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n.min(wire::MAX_BODY as u64) as usize));
    let over = declared.is_some_and(|n| n > wire::MAX_BODY as u64);
    if !over {
        let deadline = tokio::time::Instant::now() + BODY_TIME;
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    let why = "the request body could not be read";
                    return ApiError::field(StatusCode::BAD_REQUEST, "body", why, None).into_response();
                }
                Err(_) => {
                    let why = format!("the body did not arrive within {} s", BODY_TIME.as_secs());
                    let mut resp =
                        ApiError::field(StatusCode::REQUEST_TIMEOUT, "body", why, None).into_response();
                    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return resp;
                }
            };
            if buf.len() + chunk.len() > wire::MAX_BODY {
                return drain_then(stream, buf.len() + chunk.len(), too_large()).await;
            }
            buf.extend_from_slice(&chunk);
        }
        return next.run(Request::from_parts(parts, Body::from(buf))).await;
    }
    drain_then(stream, 0, too_large()).await
}

/// An error answered before the body was read: the body is drained, not kept (bounded as for
/// a 413), so the client, which may still be writing, can read the answer.
async fn answer_unread(req: Request, answer: ApiError) -> Response {
    drain_then(req.into_body().into_data_stream(), 0, answer).await
}

async fn drain_then(mut stream: axum::body::BodyDataStream, mut read: usize, answer: ApiError) -> Response {
    use futures_util::StreamExt;
    let drain = async {
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > DRAIN_MAX {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    let mut resp = answer.into_response();
    // The connection is not reused: whatever the client sends next is not a request.
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Any path no route matches: 404 naming the method and path.
async fn no_route(method: Method, uri: Uri) -> ApiError {
    let msg = format!("no route {method} {} (the API is described at /v1/openapi.json)", uri.path());
    ApiError {
        status: StatusCode::NOT_FOUND,
        body: ErrorBody { error: msg, field: Some("path".into()), index: None },
    }
}

/// Longest framework error text carried into a JSON message.
const MAX_FRAMEWORK_TEXT: usize = 4096;

/// Makes every error answer JSON, including those the framework writes by itself (405 with its
/// `Allow` header, 413 from the body limit, rejections of paths it cannot decode): the status
/// and headers stay, the body becomes an `ErrorBody` naming the field or the reason.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_FRAMEWORK_TEXT)
        .await
        .map(|b| crate::incident::sanitize::one_line(&String::from_utf8_lossy(&b)).trim().to_string())
        .unwrap_or_default();
    let (field, error) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            let allowed = if allowed.is_empty() { "none".to_string() } else { allowed.to_string() };
            (Some("method"), format!("method {method} not allowed on {path}; allowed: {allowed}"))
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            (Some("body"), format!("body: larger than the limit of {} bytes", wire::MAX_BODY))
        }
        StatusCode::NOT_FOUND if text.is_empty() => (Some("path"), format!("no route {method} {path}")),
        _ if text.is_empty() => (None, status.canonical_reason().unwrap_or("error").to_string()),
        _ => (None, text),
    };
    let body = ErrorBody { error, field: field.map(str::to_string), index: None };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":\"error\"}".to_vec());
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// `Query` whose rejection is a JSON error naming the parameter (`after: invalid digit ...`).
/// Unknown parameters are refused too, so a typo (`?afterr=5`) is not silently ignored.
pub(super) struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(q)) => Ok(ApiQuery(q)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                // serde names the parameter first (`after: ...`) when one value was wrong.
                let field = detail
                    .split_once(": ")
                    .map(|(f, _)| f)
                    .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                    .unwrap_or("query");
                let error = if field == "query" { format!("query: {detail}") } else { detail.to_string() };
                Err(ApiError {
                    status: StatusCode::BAD_REQUEST,
                    body: ErrorBody { error, field: Some(field.to_string()), index: None },
                })
            }
        }
    }
}

/// An append body must say it is JSON (`application/json` or a `+json` type, any parameters).
fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let raw = headers.get(header::CONTENT_TYPE);
    let essence = raw
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some(e) if e == "application/json" || (e.starts_with("application/") && e.ends_with("+json")) => {
            Ok(())
        }
        _ => {
            let got = match raw {
                None => "none".to_string(),
                Some(v) => format!(
                    "`{}`",
                    crate::incident::sanitize::one_line(&String::from_utf8_lossy(v.as_bytes()))
                ),
            };
            Err(ApiError::field(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type",
                format!("must be application/json, got {got}"),
                None,
            ))
        }
    }
}

async fn measure(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let resp = next.run(req).await;
    st.metrics.request(&route, resp.status().as_u16(), started.elapsed());
    resp
}

/// The token check of everything under `/v1` (`/healthz` and `/metrics` are open), before the
/// body is read.
async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path == "/v1" || path.starts_with("/v1/")) {
        return next.run(req).await;
    }
    let principal = if st.tokens.is_empty() {
        Principal(None)
    } else {
        match bearer(req.headers()).and_then(|t| st.tokens.check(t).ok_or("invalid token")) {
            Ok(name) => Principal(Some(name.to_string())),
            Err(why) => {
                let answer = ApiError::field(StatusCode::UNAUTHORIZED, "authorization", why, None);
                return answer_unread(req, answer).await;
            }
        }
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// The token of an `Authorization: Bearer <token>` header, exactly as sent: a token with
/// whitespace around or inside it is refused, never trimmed into a match.
fn bearer(headers: &HeaderMap) -> Result<&str, &'static str> {
    let value = headers.get(header::AUTHORIZATION).ok_or("missing bearer token")?;
    let value = value.to_str().map_err(|_| "Authorization header is not printable ASCII")?;
    let (scheme, token) = value.split_once(' ').ok_or("expected `Authorization: Bearer <token>`")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("expected the Bearer scheme: `Authorization: Bearer <token>`");
    }
    if token.is_empty() {
        return Err("empty bearer token");
    }
    if token.chars().any(char::is_whitespace) {
        return Err("bearer token has whitespace around or inside it; send exactly `Bearer <token>`");
    }
    Ok(token)
}

pub(super) fn parse_incident(id: &str) -> Result<IncidentId, ApiError> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "incident", "not a uuid", None))
}

async fn append(
    State(st): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AppendResponse>, ApiError> {
    let incident = parse_incident(&id)?;
    check_json_content_type(&headers)?;
    let body = body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::field(
                status,
                "body",
                format!("larger than the limit of {} bytes", wire::MAX_BODY),
                None,
            )
        } else {
            ApiError::field(status, "body", r.body_text(), None)
        }
    })?;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let req: AppendRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::field(unprocessable, "body", format!("not a valid append request: {e}"), None)
    })?;
    if req.events.len() > wire::MAX_BATCH {
        let msg = format!("batch of {} events, more than {}", req.events.len(), wire::MAX_BATCH);
        return Err(ApiError::field(unprocessable, "events", msg, None));
    }
    // Validate the whole batch before writing anything: a rejected request changes nothing.
    // Each event is serialised once, here: its JSON is checked, stored and published.
    let mut bodies = Vec::with_capacity(req.events.len());
    for (i, ev) in req.events.iter().enumerate() {
        let json = serde_json::to_string(ev).map_err(ApiError::internal)?;
        wire::check_encoded(ev, incident, &json).map_err(|bad| {
            ApiError::field(unprocessable, format!("events[{i}].{}", bad.field), bad.message, Some(i))
        })?;
        if let Principal(Some(name)) = &who
            && !author_allowed(name, &ev.author)
        {
            let msg = format!("`{}` may not be written with the token of `{name}`", ev.author);
            return Err(ApiError::field(StatusCode::FORBIDDEN, format!("events[{i}].author"), msg, Some(i)));
        }
        bodies.push(json);
    }
    let bodies = Arc::new(bodies);
    let events = Arc::new(req.events);
    let (store, hub, metrics) = (st.store.clone(), st.hub.clone(), st.metrics.clone());
    // Commit and publish in one spawned task. This future is dropped at the `.await` when the
    // client hangs up mid-request (a request that waited out a frozen server), while the spawned
    // task still commits: publishing after the await would then never happen, and every open
    // stream would stay behind the store until some later append revealed the gap.
    let batch = events.clone();
    let result = tokio::spawn(async move {
        let r = store.append_encoded(incident, batch, bodies.clone()).await;
        if let Ok(appended) = &r {
            let fresh: Vec<(i64, String)> = appended
                .iter()
                .zip(bodies.iter())
                .filter(|(a, _)| a.new)
                .map(|(a, json)| (a.seq, json.clone()))
                .collect();
            metrics.appended.fetch_add(fresh.len() as u64, Ordering::Relaxed);
            hub.publish(incident, fresh);
        }
        r
    })
    .await
    .map_err(ApiError::internal)?;
    let appended = match result {
        Ok(a) => a,
        Err(ServerStoreError::WrongIncident { id, existing, .. }) => {
            let i = events.iter().position(|e| e.id == id);
            let field = i.map_or("events".to_string(), |i| format!("events[{i}].id"));
            return Err(ApiError::field(
                unprocessable,
                field,
                format!("already used in incident {existing}"),
                i,
            ));
        }
        Err(ServerStoreError::Conflict { id }) => {
            let i = events.iter().position(|e| e.id == id);
            let field = i.map_or("events".to_string(), |i| format!("events[{i}].id"));
            return Err(ApiError::field(
                StatusCode::CONFLICT,
                field,
                format!(
                    "event {id} is already stored with a different body; an event id names one event forever"
                ),
                i,
            ));
        }
        Err(e) => return Err(ApiError::store(e)),
    };
    Ok(Json(AppendResponse {
        acks: appended.iter().map(|a| Ack { id: a.id, seq: a.seq, new: Some(a.new) }).collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AfterQuery {
    after: Option<i64>,
    limit: Option<usize>,
}

async fn events_after(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let incident = parse_incident(&id)?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(wire::MAX_PAGE).clamp(1, wire::MAX_PAGE);
    let events = st.store.after(incident, after, limit).await.map_err(ApiError::store)?;
    let last_seq = st.store.last_seq(incident).await.map_err(ApiError::store)?;
    Ok(Json(EventsPage { events, last_seq }))
}

async fn presence(State(st): State<AppState>, Path(id): Path<String>) -> Result<Json<Presence>, ApiError> {
    let incident = parse_incident(&id)?;
    Ok(Json(Presence { viewers: st.hub.viewers(incident) }))
}

async fn list_incidents(State(st): State<AppState>) -> Result<Json<Vec<IncidentSummary>>, ApiError> {
    let store = &st.store;
    let mut all = Vec::new();
    for id in store.incidents().await.map_err(ApiError::store)? {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = store.after(id, after, wire::MAX_PAGE).await.map_err(ApiError::store)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            events.extend(page.into_iter().map(|s| s.event));
        }
        all.push((id, after, events));
    }
    let mut list: Vec<IncidentSummary> = all
        .into_iter()
        .filter_map(|(id, last_seq, events)| {
            // Incidents whose `opened` event has not arrived yet have no summary to show.
            let s = fold(&events).ok()?;
            Some(IncidentSummary {
                id,
                title: s.title,
                severity: s.severity.get(),
                status: s.status.as_str().to_string(),
                opened_at: s.opened_at,
                opened_by: s.opened_by,
                last_event_at: s.last_event_at,
                event_count: s.event_count,
                last_seq,
                viewers: st.hub.viewers(id),
            })
        })
        .collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.opened_at));
    Ok(Json(list))
}

async fn team(State(st): State<AppState>) -> Result<Response, ApiError> {
    let Some(path) = st.team_file.clone() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no team file configured on this server"));
    };
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => Ok(([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], text).into_response()),
        Err(e) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("team file {}: {e}", path.display()))),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::SPEC).into_response()
}

/// 200 when the database answers within 5 s, else 503; the body names the backend, the replica
/// and (for Postgres) whether the LISTEN connection that carries other replicas' events is up.
async fn healthz(State(st): State<AppState>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(5), st.store.ping()).await;
    let db = match ping {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in 5 s".to_string()),
    };
    let c = &st.metrics.cluster;
    let replica = c.replica.get().map(|(r, _)| r.clone()).unwrap_or_default();
    let backend = st.store.backend();
    let mut body = serde_json::json!({
        "status": if db.is_ok() { "ok" } else { "unavailable" },
        "backend": backend,
        "replica": replica,
        "database": match &db { Ok(()) => "ok".to_string(), Err(e) => e.clone() },
        "store": st.store.store_id(),
    });
    let mut healthy = db.is_ok();
    if backend == "postgres" {
        let up = c.listener_connected.load(Ordering::Relaxed);
        body["listener"] = serde_json::json!(if up {
            "ok".to_string()
        } else {
            c.listener_error().unwrap_or_else(|| "reconnecting".into())
        });
        // Without its listener a replica serves writes but its streams miss other replicas'
        // events until the reconnect: take it out of the load balancer meanwhile.
        if !up {
            body["status"] = "unavailable".into();
            healthy = false;
        }
    }
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn metrics(State(st): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render()).into_response()
}
