//! What is sent: the PagerDuty Events API v2 body and the generic webhook bodies. Pure.

use serde_json::{Value, json};

use crate::incident::sanitize::one_line;
use crate::incident::{Audience, IncidentId, IncidentState, Severity, Status};
use crate::team::Person;

/// A page: who, for which incident, at which ladder level, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub incident: IncidentId,
    pub title: String,
    pub severity: Severity,
    pub person: Paged,
    /// The escalation level this page stands for, if any.
    pub level: Option<u32>,
    /// What the responder wants the paged person to read; default: built from the incident.
    pub message: Option<String>,
    /// Who sends the page (the event author).
    pub by: String,
}

/// The paged person's details, copied from the team file.
pub type Paged = crate::team::Contact;

/// PagerDuty caps `payload.summary` at 1024 characters.
const SUMMARY_MAX: usize = 1024;

impl Page {
    /// A page of `person` for the incident as it stands.
    pub fn new(
        incident: &IncidentState,
        person: &Person,
        level: Option<u32>,
        message: Option<String>,
        by: impl Into<String>,
    ) -> Page {
        Page {
            incident: incident.id,
            title: incident.title.clone(),
            severity: incident.severity,
            person: person.into(),
            level,
            message: message.filter(|m| !m.trim().is_empty()),
            by: by.into(),
        }
    }

    /// The one line the paged person reads first.
    pub fn summary(&self) -> String {
        let text = match &self.message {
            Some(m) if !m.trim().is_empty() => format!("[{}] {}", self.severity, m.trim()),
            _ => {
                let level = self.level.map(|l| format!(" (level {l})")).unwrap_or_default();
                format!("[{}] {} - paging {}{level}", self.severity, self.title.trim(), self.person.name)
            }
        };
        let text = one_line(&text).into_owned();
        match text.char_indices().nth(SUMMARY_MAX) {
            Some((i, _)) => text[..i].to_string(),
            None => text,
        }
    }
}

/// PagerDuty's severity for ours.
pub fn pagerduty_severity(s: Severity) -> &'static str {
    match s.get() {
        1 => "critical",
        2 => "error",
        3 => "warning",
        _ => "info",
    }
}

/// The Events API v2 `trigger` body. The dedup key is the incident id, so one incident is one alert.
pub fn pagerduty_body(page: &Page, routing_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": page.incident.to_string(),
        "client": "warroom",
        "payload": {
            "summary": page.summary(),
            "severity": pagerduty_severity(page.severity),
            "source": format!("warroom ({})", one_line(&page.by)),
            "custom_details": {
                "incident": page.incident.to_string(),
                "title": page.title,
                "severity": page.severity.to_string(),
                "person": page.person.id,
                "person_name": page.person.name,
                "pagerduty_user": page.person.pagerduty_user,
                "level": page.level,
                "message": page.message,
                "paged_by": page.by,
            },
        },
    })
}

/// The generic webhook's page body.
pub fn webhook_page_body(page: &Page) -> Value {
    json!({
        "kind": "page",
        "incident": page.incident.to_string(),
        "title": page.title,
        "severity": page.severity.get(),
        "summary": page.summary(),
        "person": page.person,
        "level": page.level,
        "message": page.message,
        "by": page.by,
    })
}

/// A status update as posted to the status webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub incident: IncidentId,
    pub title: String,
    pub severity: Severity,
    /// The incident's status after this update.
    pub status: Status,
    pub audience: Audience,
    pub text: String,
    pub by: String,
}

/// The status webhook's body.
pub fn status_update_body(u: &StatusUpdate) -> Value {
    json!({
        "kind": "status_update",
        "incident": u.incident.to_string(),
        "title": u.title,
        "severity": u.severity.get(),
        "status": u.status.as_str(),
        "audience": u.audience.as_str(),
        "text": u.text,
        "by": u.by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        Page {
            incident: uuid::Uuid::nil(),
            title: "Checkout 502\x1b[2J".into(),
            severity: Severity::new(1).unwrap(),
            person: Paged {
                id: "bo".into(),
                name: "Bo Chen".into(),
                handle: None,
                phone: Some("+1 212".into()),
                email: None,
                chat: None,
                pagerduty_user: Some("PBO".into()),
            },
            level: Some(2),
            message: None,
            by: "ana".into(),
        }
    }

    #[test]
    fn pagerduty_body_has_the_fields_the_api_requires() {
        let b = pagerduty_body(&page(), "KEY");
        assert_eq!(b["routing_key"], "KEY");
        assert_eq!(b["event_action"], "trigger");
        assert_eq!(b["dedup_key"], uuid::Uuid::nil().to_string());
        assert_eq!(b["payload"]["severity"], "critical");
        assert_eq!(b["payload"]["source"], "warroom (ana)");
        assert_eq!(b["payload"]["custom_details"]["pagerduty_user"], "PBO");
        let summary = b["payload"]["summary"].as_str().unwrap();
        assert!(summary.starts_with("[SEV1] Checkout 502"), "{summary}");
        assert!(summary.ends_with("paging Bo Chen (level 2)"), "{summary}");
        assert!(!summary.contains('\x1b'), "{summary}");
    }

    #[test]
    fn summary_uses_the_message_and_is_capped() {
        let mut p = page();
        p.message = Some("x".repeat(5000));
        let s = p.summary();
        assert!(s.starts_with("[SEV1] xxx"));
        assert_eq!(s.chars().count(), SUMMARY_MAX);
    }

    #[test]
    fn severities_map_to_pagerduty_levels() {
        let names: Vec<_> = Severity::ALL.iter().map(|s| pagerduty_severity(*s)).collect();
        assert_eq!(names, ["critical", "error", "warning", "info"]);
    }
}
