//! One JSON POST with timeouts, retries and backoff, and a result that says in one line what
//! happened.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};

use crate::incident::sanitize::one_line;

/// Timeouts and retry schedule for outbound requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Limit for establishing the connection.
    pub connect_timeout: Duration,
    /// Limit for one whole try (connect, send, answer).
    pub timeout: Duration,
    /// Tries in all (at least 1).
    pub tries: u32,
    /// Wait before the second try; doubles each time up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Policy {
    /// The schedule `[paging] timeout_secs` and `retries` describe.
    pub fn from_config(timeout_secs: u64, retries: u32) -> Policy {
        let timeout = Duration::from_secs(timeout_secs.max(1));
        Policy {
            connect_timeout: timeout.min(Duration::from_secs(5)),
            timeout,
            tries: retries.saturating_add(1),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(2),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_config(10, 2)
    }
}

/// Where a request goes, and how that place is written in messages and on the timeline.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Url,
    /// The URL as shown: no credentials, no query, and for webhooks no path (it often holds a secret).
    pub shown: String,
    pub headers: HeaderMap,
}

impl Endpoint {
    /// An endpoint shown with its full path (the path is not secret, e.g. PagerDuty's).
    pub fn public(url: Url, headers: HeaderMap) -> Endpoint {
        let mut shown = origin(&url);
        shown.push_str(url.path());
        Endpoint { url, shown, headers }
    }

    /// An endpoint shown by its origin only (`https://hooks.slack.com/…`).
    pub fn secret_path(url: Url, headers: HeaderMap) -> Endpoint {
        let mut shown = origin(&url);
        shown.push_str(if url.path().len() > 1 { "/…" } else { "/" });
        Endpoint { url, shown, headers }
    }
}

fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// A delivered request: the 2xx status, how many tries it took, and the start of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub status: u16,
    pub url: String,
    pub tries: u32,
    /// The answer's body, one line, capped (PagerDuty's `{"status":"success",…}`).
    pub answer: String,
}

impl fmt::Display for Delivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delivered: HTTP {} from {}{}", self.status, self.url, after(self.tries))
    }
}

/// Why a request was not delivered. Each displays as one line naming the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Nothing to send to, or a bad setting: the message names the config key.
    #[error("{0}")]
    Config(String),
    /// The server answered with a non-2xx status.
    #[error("HTTP {status} from {url}{}{}", status_tail(*status, *tries), body_tail(body))]
    Status { status: u16, url: String, tries: u32, body: String },
    #[error("connection refused to {url}{}", after(*tries))]
    Refused { url: String, tries: u32 },
    #[error("cannot connect to {url}{}: {detail}", after(*tries))]
    Connect { url: String, detail: String, tries: u32 },
    #[error("no answer from {url} within {}{}", limit(*ms), after(*tries))]
    Timeout { url: String, ms: u64, tries: u32 },
    #[error("request to {url} failed{}: {detail}", after(*tries))]
    Other { url: String, detail: String, tries: u32 },
}

impl DeliveryError {
    /// How many requests were sent (0 when nothing was configured).
    pub fn tries(&self) -> u32 {
        match self {
            DeliveryError::Config(_) => 0,
            DeliveryError::Status { tries, .. }
            | DeliveryError::Refused { tries, .. }
            | DeliveryError::Connect { tries, .. }
            | DeliveryError::Timeout { tries, .. }
            | DeliveryError::Other { tries, .. } => *tries,
        }
    }
}

fn after(tries: u32) -> String {
    if tries > 1 { format!(" after {tries} tries") } else { String::new() }
}

fn limit(ms: u64) -> String {
    if ms % 1000 == 0 { format!("{} s", ms / 1000) } else { format!("{ms} ms") }
}

fn status_tail(status: u16, tries: u32) -> String {
    if tries > 1 {
        after(tries)
    } else if retryable(status) {
        String::new()
    } else {
        " (not retried)".into()
    }
}

fn body_tail(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!(": {body}") }
}

/// 429 and 5xx may succeed later; any other non-2xx answer will not.
fn retryable(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// Longest part of an error answer's body kept in the message.
const BODY_EXCERPT: usize = 160;

/// POSTs `body` as JSON to `to`, retrying per `policy`.
pub async fn post_json(
    client: &reqwest::Client,
    to: &Endpoint,
    body: &serde_json::Value,
    policy: &Policy,
) -> Result<Delivered, DeliveryError> {
    send_json(client, reqwest::Method::POST, to, body, policy).await.map(|(d, _)| d)
}

/// Longest answer body kept from a successful request (it is parsed, not shown).
const ANSWER_MAX: usize = 256 * 1024;

/// Sends `body` as JSON with `method` to `to`, retrying per `policy`; returns the answer's body
/// too (at most 256 KiB), for APIs whose answer carries an id.
pub async fn send_json(
    client: &reqwest::Client,
    method: reqwest::Method,
    to: &Endpoint,
    body: &serde_json::Value,
    policy: &Policy,
) -> Result<(Delivered, String), DeliveryError> {
    let tries = policy.tries.max(1);
    let mut delay = policy.backoff_initial;
    let mut attempt = 1;
    loop {
        let sent = client
            .request(method.clone(), to.url.clone())
            .headers(to.headers.clone())
            .json(body)
            .timeout(policy.timeout)
            .send()
            .await;
        let mut wait = delay;
        let failure = match sent {
            Ok(mut resp) if resp.status().is_success() => {
                let status = resp.status().as_u16();
                let mut answer = Vec::new();
                while answer.len() < ANSWER_MAX {
                    match resp.chunk().await {
                        Ok(Some(c)) => answer.extend_from_slice(&c),
                        _ => break,
                    }
                }
                let answer = String::from_utf8_lossy(&answer).into_owned();
                let delivered =
                    Delivered { status, url: to.shown.clone(), tries: attempt, answer: summarize(&answer) };
                return Ok((delivered, answer));
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                if status == StatusCode::TOO_MANY_REQUESTS.as_u16()
                    && let Some(secs) = retry_after(resp.headers())
                {
                    wait = wait.max(Duration::from_secs(secs).min(policy.backoff_max));
                }
                let body = excerpt(resp).await;
                let e = DeliveryError::Status { status, url: to.shown.clone(), tries: attempt, body };
                if !retryable(status) {
                    return Err(e);
                }
                e
            }
            Err(e) => classify(&e, &to.shown, policy, attempt),
        };
        if attempt >= tries {
            return Err(failure);
        }
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(policy.backoff_max);
        attempt += 1;
    }
}

fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// The start of an error answer's body, on one line and free of control characters.
async fn excerpt(mut resp: reqwest::Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < 4096 {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    summarize(&String::from_utf8_lossy(&buf))
}

/// An answer's body on one line, free of control characters and capped; an API's `errors` list
/// (PagerDuty names the field there) leads.
fn summarize(raw: &str) -> String {
    // PagerDuty answers a 400 with `{"status":"invalid event","errors":["'routing_key' is …"]}`:
    // the errors name the field, so they lead the message.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw)
        && let Some(errors) = v.get("errors").and_then(|e| e.as_array())
        && !errors.is_empty()
    {
        let list: Vec<String> =
            errors.iter().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string())).collect();
        let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("rejected");
        return one_line(&format!("{status}: {}", list.join("; "))).trim().to_string();
    }
    let text = one_line(raw);
    let text = text.trim();
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn classify(e: &reqwest::Error, url: &str, policy: &Policy, tries: u32) -> DeliveryError {
    let url = url.to_string();
    let io_kind = source_chain(e).find_map(|s| s.downcast_ref::<std::io::Error>().map(|io| io.kind()));
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        return DeliveryError::Refused { url, tries };
    }
    if e.is_timeout() {
        let limit = if e.is_connect() { policy.connect_timeout } else { policy.timeout };
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        return DeliveryError::Timeout { url, ms, tries };
    }
    let detail = innermost(e);
    if e.is_connect() {
        DeliveryError::Connect { url, detail, tries }
    } else {
        DeliveryError::Other { url, detail, tries }
    }
}

fn source_chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

/// The deepest cause's message: reqwest's own top line repeats the URL and says little.
fn innermost(e: &reqwest::Error) -> String {
    let last = source_chain(e).last().map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
    one_line(&last).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_say_what_happened() {
        let e =
            DeliveryError::Status { status: 500, url: "http://h/x".into(), tries: 3, body: String::new() };
        assert_eq!(e.to_string(), "HTTP 500 from http://h/x after 3 tries");
        let e =
            DeliveryError::Status { status: 400, url: "http://h/x".into(), tries: 1, body: "bad key".into() };
        assert_eq!(e.to_string(), "HTTP 400 from http://h/x (not retried): bad key");
        let e = DeliveryError::Refused { url: "http://h/x".into(), tries: 3 };
        assert_eq!(e.to_string(), "connection refused to http://h/x after 3 tries");
        let e = DeliveryError::Connect { url: "http://h/x".into(), detail: "dns error".into(), tries: 2 };
        assert_eq!(e.to_string(), "cannot connect to http://h/x after 2 tries: dns error");
        let d = Delivered { status: 202, url: "http://h/x".into(), tries: 2, answer: String::new() };
        assert_eq!(d.to_string(), "delivered: HTTP 202 from http://h/x after 2 tries");
    }

    #[test]
    fn webhook_urls_hide_their_path_and_credentials() {
        let u = Url::parse("https://user:pw@hooks.slack.com:8443/services/T0/B0/SECRET?x=1").unwrap();
        assert_eq!(
            Endpoint::secret_path(u.clone(), HeaderMap::new()).shown,
            "https://hooks.slack.com:8443/…"
        );
        assert_eq!(
            Endpoint::public(u, HeaderMap::new()).shown,
            "https://hooks.slack.com:8443/services/T0/B0/SECRET"
        );
    }

    #[test]
    fn policy_from_config() {
        let p = Policy::from_config(10, 2);
        assert_eq!(
            (p.tries, p.connect_timeout, p.timeout),
            (3, Duration::from_secs(5), Duration::from_secs(10))
        );
        assert_eq!(Policy::from_config(2, 0).connect_timeout, Duration::from_secs(2));
    }

    #[test]
    fn retry_after_seconds_are_read_and_dates_ignored() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, " 7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(7));
        h.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_429_and_5xx_are_retried() {
        assert!(retryable(429) && retryable(500) && retryable(503));
        assert!(!retryable(400) && !retryable(401) && !retryable(404) && !retryable(302));
    }
}
