//! Status updates where people read them: Atlassian Statuspage (the public page), a
//! Slack-compatible incoming webhook (the incident channel: Slack, Mattermost) and the generic
//! JSON webhook. Each configured provider gets each update it is meant for; what came of it
//! becomes events (a `status_update_delivered`, or an `action` note when it failed).
//!
//! Statuspage (developer.statuspage.io): `POST /v1/pages/{page_id}/incidents` creates the page's
//! incident on the first stakeholder update, `PATCH /v1/pages/{page_id}/incidents/{incident_id}`
//! amends it after; body `{"incident": {"name", "status", "body", "component_ids", "components"}}`,
//! header `Authorization: OAuth KEY`. Its id is recorded with the delivery so later updates, from
//! any replica, amend the same incident. Internal updates never reach the public page.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use uuid::Uuid;

use super::http::{Delivered, DeliveryError, Endpoint, send_json};
use super::payload::{StatusUpdate, status_update_body};
use super::{Notifier, parse_url};
use crate::incident::sanitize::one_line;
use crate::incident::{Audience, EventKind, Severity, Status, Tag};

/// Where a status update goes. Written as the `provider` of `status_update_delivered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `[status_updates] webhook_url`: warroom's own JSON body.
    Webhook,
    /// `[status_updates] chat_webhook_url`: Slack-compatible `{"text": ...}`.
    Chat,
    /// `[status_updates] statuspage_*`: Atlassian Statuspage incidents.
    Statuspage,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Webhook => "webhook",
            Provider::Chat => "chat",
            Provider::Statuspage => "statuspage",
        }
    }
}

/// What posting one update came to: the events to append (in order) and one line per provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    pub events: Vec<EventKind>,
    pub lines: Vec<String>,
    /// Whether any provider failed.
    pub failed: bool,
}

impl UpdateOutcome {
    /// Whether the update went anywhere at all.
    pub fn attempted(&self) -> bool {
        !self.lines.is_empty()
    }
}

impl Notifier {
    /// The providers configured for updates to `audience`, in delivery order.
    pub fn status_providers(&self, audience: Audience) -> Vec<Provider> {
        let mut out = Vec::new();
        if self.status.statuspage_page_id.is_some() && audience == Audience::Stakeholders {
            out.push(Provider::Statuspage);
        }
        if self.status.chat_webhook_url.is_some() {
            out.push(Provider::Chat);
        }
        if self.status.webhook_url.is_some() {
            out.push(Provider::Webhook);
        }
        out
    }

    /// Posts `update` (the recorded `status_update_posted` event `update_id`) to every provider
    /// meant for its audience. `statuspage_incident` is the page's incident id once one exists.
    pub async fn deliver_update(
        &self,
        update: &StatusUpdate,
        update_id: Uuid,
        statuspage_incident: Option<&str>,
    ) -> UpdateOutcome {
        let mut out = UpdateOutcome::default();
        for p in self.status_providers(update.audience) {
            let result = match p {
                Provider::Statuspage => self.statuspage(update, statuspage_incident).await,
                Provider::Chat => self.chat(update).await.map(|d| (d, None)),
                Provider::Webhook => self.webhook(update).await.map(|d| (d, None)),
            };
            match result {
                Ok((d, external_id)) => {
                    out.lines.push(format!("status update posted to {}: {d}", p.as_str()));
                    out.events.push(EventKind::StatusUpdateDelivered {
                        update: update_id,
                        provider: p.as_str().into(),
                        outcome: d.to_string(),
                        external_id,
                    });
                }
                Err(e) => {
                    out.failed = true;
                    out.lines.push(format!("status update NOT delivered to {}: {e}", p.as_str()));
                    out.events.push(delivery_failed_kind(p, &e));
                }
            }
        }
        out
    }

    /// [`Notifier::deliver_update`] on a runtime of its own: for the CLI.
    pub fn deliver_update_blocking(
        &self,
        update: &StatusUpdate,
        update_id: Uuid,
        statuspage_incident: Option<&str>,
    ) -> UpdateOutcome {
        match super::block_on(self.deliver_update(update, update_id, statuspage_incident)) {
            Ok(o) => o,
            Err(e) => UpdateOutcome {
                events: vec![delivery_failed_kind(Provider::Webhook, &e)],
                lines: vec![format!("status update NOT delivered: {e}")],
                failed: true,
            },
        }
    }

    async fn webhook(&self, update: &StatusUpdate) -> Result<Delivered, DeliveryError> {
        let url = self.status.webhook_url.as_deref().unwrap_or_default();
        let url = parse_url(url, "[status_updates] webhook_url")?;
        let headers = super::header_map(&self.status.webhook_headers, "[status_updates] webhook_headers")?;
        let to = Endpoint::secret_path(url, headers);
        super::post_json(&self.client, &to, &status_update_body(update), &self.policy).await
    }

    async fn chat(&self, update: &StatusUpdate) -> Result<Delivered, DeliveryError> {
        let url = self.status.chat_webhook_url.as_deref().unwrap_or_default();
        let url = parse_url(url, "[status_updates] chat_webhook_url")?;
        let to = Endpoint::secret_path(url, HeaderMap::new());
        super::post_json(&self.client, &to, &chat_body(update), &self.policy).await
    }

    async fn statuspage(
        &self,
        update: &StatusUpdate,
        existing: Option<&str>,
    ) -> Result<(Delivered, Option<String>), DeliveryError> {
        let s = &self.status;
        let (Some(page), Some(key)) = (s.statuspage_page_id.as_deref(), s.statuspage_api_key.as_deref())
        else {
            return Err(DeliveryError::Config(
                "Statuspage needs [status_updates] statuspage_page_id and statuspage_api_key".into(),
            ));
        };
        let base = s.statuspage_url.trim_end_matches('/');
        let (method, path) = match existing {
            None => (Method::POST, format!("{base}/v1/pages/{page}/incidents")),
            Some(id) => (Method::PATCH, format!("{base}/v1/pages/{page}/incidents/{id}")),
        };
        let url = parse_url(&path, "[status_updates] statuspage_url")?;
        let mut headers = HeaderMap::new();
        let auth = HeaderValue::from_str(&format!("OAuth {key}")).map_err(|_| {
            DeliveryError::Config("[status_updates] statuspage_api_key: not a valid header value".into())
        })?;
        headers.insert(AUTHORIZATION, auth);
        // The page id is not secret, the key is in a header: the path can be shown.
        let to = Endpoint::public(url, headers);
        let body = statuspage_body(update, &s.statuspage_components, existing.is_none());
        let (delivered, answer) = send_json(&self.client, method, &to, &body, &self.policy).await?;
        let id = serde_json::from_str::<Value>(&answer)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
            .map(|id| one_line(&id).into_owned())
            .filter(|id| !id.is_empty() && id.len() <= 64 && !id.contains('/'));
        match (existing, id) {
            (_, Some(id)) => Ok((delivered, Some(id))),
            (Some(known), None) => Ok((delivered, Some(known.to_string()))),
            (None, None) => Err(DeliveryError::Other {
                url: to.shown.clone(),
                detail: format!("HTTP {} but the answer has no incident `id`", delivered.status),
                tries: delivered.tries,
            }),
        }
    }
}

/// The `action` note for a provider that did not take an update: someone has to tell that
/// audience another way. The generic webhook keeps its original wording.
pub fn delivery_failed_kind(p: Provider, err: &DeliveryError) -> EventKind {
    let text = match p {
        Provider::Webhook => format!("status update delivery failed: {err}"),
        p => format!("status update delivery failed via {}: {err}", p.as_str()),
    };
    EventKind::Note { text, tag: Tag::Action }
}

/// Statuspage's component status for the incident's severity and status.
pub fn component_status(severity: Severity, status: Status) -> &'static str {
    match (status, severity.get()) {
        (Status::Resolved, _) => "operational",
        (Status::Monitoring, _) => "degraded_performance",
        (_, 1) => "major_outage",
        (_, 2) => "partial_outage",
        _ => "degraded_performance",
    }
}

/// The Statuspage incident body: `name` only when creating; components when configured.
pub fn statuspage_body(u: &StatusUpdate, components: &[String], create: bool) -> Value {
    let mut incident = json!({
        "status": u.status.as_str(),
        "body": u.text,
    });
    if create {
        incident["name"] = json!(one_line(&u.title));
        incident["deliver_notifications"] = json!(true);
    }
    if !components.is_empty() {
        incident["component_ids"] = json!(components);
        let state = component_status(u.severity, u.status);
        incident["components"] =
            Value::Object(components.iter().map(|c| (c.clone(), json!(state))).collect());
    }
    json!({ "incident": incident })
}

/// Slack's incoming-webhook body (Mattermost takes the same): `text` with `&`, `<`, `>` escaped
/// as Slack requires, so nothing in the update becomes a link or a mention.
pub fn chat_body(u: &StatusUpdate) -> Value {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let head = format!("[{}] {} — {} ({})", u.severity, one_line(&u.title), u.status, u.audience);
    json!({ "text": format!("{}\n{}\n— {} via warroom", esc(&head), esc(u.text.trim()), esc(&one_line(&u.by))) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: Status) -> StatusUpdate {
        StatusUpdate {
            incident: Uuid::nil(),
            title: "Checkout <502>".into(),
            severity: Severity::new(1).unwrap(),
            status,
            audience: Audience::Stakeholders,
            text: "Payments fail for some EU cards & we are on it".into(),
            by: "ana".into(),
        }
    }

    #[test]
    fn statuspage_bodies_create_then_amend() {
        let b = statuspage_body(&update(Status::Investigating), &["c1".into()], true);
        let i = &b["incident"];
        assert_eq!(i["name"], "Checkout <502>");
        assert_eq!(i["status"], "investigating");
        assert_eq!(i["component_ids"], json!(["c1"]));
        assert_eq!(i["components"]["c1"], "major_outage");
        let b = statuspage_body(&update(Status::Resolved), &[], false);
        assert!(b["incident"].get("name").is_none() && b["incident"].get("component_ids").is_none());
        assert_eq!(b["incident"]["status"], "resolved");
    }

    #[test]
    fn chat_text_is_escaped_for_slack() {
        let t = chat_body(&update(Status::Identified))["text"].as_str().unwrap().to_string();
        assert!(t.starts_with("[SEV1] Checkout &lt;502&gt; — identified (stakeholders)\n"), "{t}");
        assert!(t.contains("EU cards &amp; we"), "{t}");
    }
}
