//! Outbound delivery: pages (PagerDuty Events API v2, generic webhook) and status updates (webhook).
//!
//! IO at the edge: [`Notifier`] sends; [`paged_kind`] and [`status_delivery_failed_kind`] turn a
//! result into the event to append (pure, so the caller stamps the time and author). The async
//! methods never block a UI: spawn them. The `*_blocking` wrappers serve the CLI.
//!
//! ```no_run
//! # async fn demo(config: &warroom::config::Config, page: warroom::notify::Page) {
//! use warroom::notify::{Notifier, paged_kind};
//! let notifier = Notifier::new(&config.paging, &config.status_updates).expect("HTTP client");
//! let channel = notifier.default_channel().expect("paging configured");
//! let result = notifier.page(channel, &page).await; // retries inside; never panics
//! let kind = paged_kind(&page, channel, &result); // ok true/false, one-line outcome
//! # }
//! ```

mod http;
mod payload;
pub mod status;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::{PagingConfig, StatusUpdatesConfig};
use crate::incident::{EventKind, Tag};

pub use http::{Delivered, DeliveryError, Endpoint, Policy, post_json, send_json};
pub use payload::{
    AlertAction, ChangeEvent, Page, Paged, StatusUpdate, change_event_body, pagerduty_body,
    pagerduty_severity, pagerduty_update_body, status_update_body, webhook_page_body,
};
pub use status::{Provider, UpdateOutcome};

/// What a delivery came to.
pub type Delivery = Result<Delivered, DeliveryError>;

/// How a page is sent. Written as the `method` of the `paged` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    PagerDuty,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::PagerDuty => "pagerduty",
            Channel::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pagerduty" | "pd" => Ok(Channel::PagerDuty),
            "webhook" => Ok(Channel::Webhook),
            _ => Err(format!("unknown paging channel `{s}` (expected one of: pagerduty, webhook)")),
        }
    }
}

/// Sends pages and status updates as the config says. Cheap to clone (the HTTP client is shared).
#[derive(Debug, Clone)]
pub struct Notifier {
    client: reqwest::Client,
    paging: PagingConfig,
    status: StatusUpdatesConfig,
    policy: Policy,
}

impl Notifier {
    /// A notifier for a config's `[paging]` and `[status_updates]`.
    pub fn new(paging: &PagingConfig, status: &StatusUpdatesConfig) -> Result<Notifier, DeliveryError> {
        let policy = Policy::from_config(paging.timeout_secs, paging.retries);
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Pages are rare; not pooling lets each CLI call use its own short-lived runtime.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Config(format!("cannot start the HTTP client: {e}")))?;
        Ok(Notifier { client, paging: paging.clone(), status: status.clone(), policy })
    }

    /// Replaces the timeout and retry schedule (tests use short backoffs).
    pub fn with_policy(mut self, policy: Policy) -> Notifier {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The channel used when none is asked for: PagerDuty if a routing key is set, else the webhook.
    pub fn default_channel(&self) -> Result<Channel, DeliveryError> {
        if self.paging.pagerduty_routing_key.is_some() {
            Ok(Channel::PagerDuty)
        } else if self.paging.webhook_url.is_some() {
            Ok(Channel::Webhook)
        } else {
            Err(DeliveryError::Config(
                "no paging channel configured: set [paging] pagerduty_routing_key or [paging] webhook_url"
                    .into(),
            ))
        }
    }

    /// Whether `channel` has what it needs; the error names the config key to set.
    pub fn check(&self, channel: Channel) -> Result<(), DeliveryError> {
        self.page_request(channel, None).map(|_| ())
    }

    /// The PagerDuty Events API v2 endpoint and the routing key every event to it carries.
    fn pagerduty_events(&self) -> Result<(Endpoint, &str), DeliveryError> {
        let key = self.paging.pagerduty_routing_key.as_deref().ok_or_else(|| {
            DeliveryError::Config(
                "no PagerDuty routing key configured ([paging] pagerduty_routing_key)".into(),
            )
        })?;
        let base = self.paging.pagerduty_url.trim_end_matches('/');
        let url = parse_url(&format!("{base}/v2/enqueue"), "[paging] pagerduty_url")?;
        Ok((Endpoint::public(url, HeaderMap::new()), key))
    }

    fn page_request(
        &self,
        channel: Channel,
        page: Option<&Page>,
    ) -> Result<(Endpoint, serde_json::Value), DeliveryError> {
        let body = |f: &dyn Fn(&Page) -> serde_json::Value| page.map(f).unwrap_or(serde_json::Value::Null);
        match channel {
            Channel::PagerDuty => {
                let (to, key) = self.pagerduty_events()?;
                Ok((to, body(&|p| pagerduty_body(p, key))))
            }
            Channel::Webhook => {
                let url = self.paging.webhook_url.as_deref().ok_or_else(|| {
                    DeliveryError::Config("no paging webhook configured ([paging] webhook_url)".into())
                })?;
                let url = parse_url(url, "[paging] webhook_url")?;
                let headers = header_map(&self.paging.webhook_headers, "[paging] webhook_headers")?;
                Ok((Endpoint::secret_path(url, headers), body(&webhook_page_body)))
            }
        }
    }

    /// Sends `page` through `channel`, with retries. Never panics; every failure is a `DeliveryError`.
    pub async fn page(&self, channel: Channel, page: &Page) -> Delivery {
        let (to, body) = self.page_request(channel, Some(page))?;
        post_json(&self.client, &to, &body, &self.policy).await
    }

    /// Every channel configured for pages, PagerDuty first: the escalation engine pages through all.
    pub fn channels(&self) -> Vec<Channel> {
        let mut v = Vec::new();
        if self.paging.pagerduty_routing_key.is_some() {
            v.push(Channel::PagerDuty);
        }
        if self.paging.webhook_url.is_some() {
            v.push(Channel::Webhook);
        }
        v
    }

    /// Whether PagerDuty is configured (ack and resolve are sent there).
    pub fn pagerduty_configured(&self) -> bool {
        self.paging.pagerduty_routing_key.is_some()
    }

    /// Acknowledges or resolves the PagerDuty alert `dedup_key`, with retries.
    pub async fn update_alert(&self, action: AlertAction, dedup_key: &str) -> Delivery {
        let (to, key) = self.pagerduty_events()?;
        post_json(&self.client, &to, &pagerduty_update_body(action, dedup_key, key), &self.policy).await
    }

    /// The routing key change events go to: `[paging] pagerduty_change_routing_key`, else the
    /// Events v2 key (PagerDuty accepts change events on an Events API v2 integration).
    pub fn change_routing_key(&self) -> Option<&str> {
        self.paging.pagerduty_change_routing_key.as_deref().or(self.paging.pagerduty_routing_key.as_deref())
    }

    /// Sends `change` to PagerDuty's Change Events API (`/v2/change/enqueue`) with retries;
    /// `None` when no routing key is configured (changes are then only recorded).
    pub async fn send_change(&self, change: &ChangeEvent) -> Option<Delivery> {
        let key = self.change_routing_key()?;
        if change.summary.trim().is_empty() {
            return Some(Err(DeliveryError::Config("change event: payload.summary is empty".into())));
        }
        let result = async {
            let base = self.paging.pagerduty_url.trim_end_matches('/');
            let url = parse_url(&format!("{base}/v2/change/enqueue"), "[paging] pagerduty_url")?;
            let to = Endpoint::public(url, HeaderMap::new());
            post_json(&self.client, &to, &change_event_body(change, key), &self.policy).await
        };
        Some(result.await)
    }

    /// [`Notifier::send_change`] on a runtime of its own: for the CLI.
    pub fn send_change_blocking(&self, change: &ChangeEvent) -> Option<Delivery> {
        match block_on(self.send_change(change)) {
            Ok(r) => r,
            Err(e) => Some(Err(e)),
        }
    }

    /// [`Notifier::update_alert`] on a runtime of its own: for the CLI.
    pub fn update_alert_blocking(&self, action: AlertAction, dedup_key: &str) -> Delivery {
        block_on(self.update_alert(action, dedup_key))?
    }

    /// Whether status updates are posted anywhere.
    pub fn status_webhook_configured(&self) -> bool {
        self.status.webhook_url.is_some()
            || self.status.chat_webhook_url.is_some()
            || self.status.statuspage_page_id.is_some()
    }

    /// Posts a status update to `[status_updates] webhook_url`; `None` when none is configured.
    pub async fn post_status_update(&self, update: &StatusUpdate) -> Option<Delivery> {
        let url = self.status.webhook_url.as_deref()?;
        let result = async {
            let url = parse_url(url, "[status_updates] webhook_url")?;
            let headers = header_map(&self.status.webhook_headers, "[status_updates] webhook_headers")?;
            let to = Endpoint::secret_path(url, headers);
            post_json(&self.client, &to, &status_update_body(update), &self.policy).await
        };
        Some(result.await)
    }

    /// [`Notifier::page`] on a current-thread runtime of its own: for the CLI.
    pub fn page_blocking(&self, channel: Channel, page: &Page) -> Delivery {
        block_on(self.page(channel, page))?
    }

    /// [`Notifier::post_status_update`] on a current-thread runtime of its own: for the CLI.
    pub fn post_status_update_blocking(&self, update: &StatusUpdate) -> Option<Delivery> {
        match block_on(self.post_status_update(update)) {
            Ok(r) => r,
            Err(e) => Some(Err(e)),
        }
    }
}

fn block_on<F: Future>(f: F) -> Result<F::Output, DeliveryError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DeliveryError::Config(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

fn parse_url(url: &str, key: &str) -> Result<Url, DeliveryError> {
    Url::parse(url).map_err(|e| DeliveryError::Config(format!("{key}: `{url}` is not a valid URL: {e}")))
}

fn header_map(headers: &BTreeMap<String, String>, key: &str) -> Result<HeaderMap, DeliveryError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| DeliveryError::Config(format!("{key}: `{name}` is not a valid header name")))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| DeliveryError::Config(format!("{key}.{name}: not a valid header value")))?;
        map.insert(n, v);
    }
    Ok(map)
}

/// The `paged` event for a page's result: delivered or not, with the one-line outcome, the dedup
/// key it was sent with and, for PagerDuty, its answer.
pub fn paged_kind(page: &Page, channel: Channel, result: &Delivery) -> EventKind {
    EventKind::Paged {
        person: page.person.id.clone(),
        method: channel.as_str().into(),
        level: page.level,
        ok: result.is_ok(),
        outcome: outcome_line(channel == Channel::PagerDuty, result),
        dedup_key: Some(page.dedup_key.clone()),
        cycle: page.cycle,
    }
}

/// A delivery as one line; `with_answer` adds the receiver's answer (PagerDuty's says what it did).
pub fn outcome_line(with_answer: bool, result: &Delivery) -> String {
    match result {
        Ok(d) if with_answer && !d.answer.is_empty() => format!("{d}: {}", d.answer),
        Ok(d) => d.to_string(),
        Err(e) => e.to_string(),
    }
}

/// The `alert_updated` event for an acknowledge or resolve sent to PagerDuty.
pub fn alert_updated_kind(action: AlertAction, dedup_key: &str, result: &Delivery) -> EventKind {
    EventKind::AlertUpdated {
        action: action.as_str().into(),
        dedup_key: dedup_key.into(),
        ok: result.is_ok(),
        outcome: outcome_line(true, result),
    }
}

/// Every dedup key the incident's pages were sent to PagerDuty with, oldest first, each once.
pub fn pagerduty_dedup_keys(events: &[crate::incident::Event]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for ev in events {
        if let EventKind::Paged { method, dedup_key: Some(k), .. } = &ev.kind
            && method == Channel::PagerDuty.as_str()
            && !keys.contains(k)
        {
            keys.push(k.clone());
        }
    }
    keys
}

/// Sends `action` for every PagerDuty alert the incident triggered; one event per alert to append.
/// Empty when PagerDuty is not configured or nothing was sent there.
pub async fn update_all_alerts(
    notifier: &Notifier,
    action: AlertAction,
    events: &[crate::incident::Event],
) -> Vec<EventKind> {
    if !notifier.pagerduty_configured() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for key in pagerduty_dedup_keys(events) {
        let result = notifier.update_alert(action, &key).await;
        out.push(alert_updated_kind(action, &key, &result));
    }
    out
}

/// The `change` note's forward to PagerDuty, as a change event.
pub fn change_for_note(note: &crate::incident::Event, text: &str, title: Option<&str>) -> ChangeEvent {
    let mut details = serde_json::json!({ "author": note.author, "note": note.id.to_string() });
    if note.incident != crate::incident::event::TEAM_STREAM {
        details["incident"] = serde_json::Value::String(note.incident.to_string());
        if let Some(t) = title {
            details["incident_title"] = serde_json::Value::String(t.to_string());
        }
    }
    ChangeEvent {
        summary: text.to_string(),
        timestamp: note.at,
        source: format!("warroom ({})", note.author),
        links: Vec::new(),
        details,
    }
}

/// The `change_sent` event for a forwarded change note.
pub fn change_sent_kind(note: uuid::Uuid, result: &Delivery) -> EventKind {
    EventKind::ChangeSent { note, ok: result.is_ok(), outcome: outcome_line(true, result) }
}

/// The timeline record of a status update that was recorded but not delivered: a note tagged
/// `action`, because someone has to tell the audience another way.
pub fn status_delivery_failed_kind(err: &DeliveryError) -> EventKind {
    EventKind::Note { text: format!("status update delivery failed: {err}"), tag: Tag::Action }
}
