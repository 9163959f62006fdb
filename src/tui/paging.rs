//! Paging from the TUI without blocking it: a confirmed page is sent on a spawned tokio task and its
//! `paged` event (delivered or failed, with the one-line reason) comes back through a channel the
//! event loop turns into `Action::PageDone`, which the App appends to the store.

use tokio::sync::mpsc;

use super::popups::{Popup, Question};
use super::widgets::Confirm;
use crate::incident::sanitize::one_line;
use crate::incident::{EventKind, IncidentId};
use crate::notify::{Notifier, Page, paged_kind};

/// A page that finished: the event to append to the incident it was sent for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDone {
    pub incident: IncidentId,
    pub kind: EventKind,
    /// Who was paged, for the notice.
    pub name: String,
}

impl PageDone {
    /// The footer notice, and whether it is an error.
    pub fn notice(&self) -> (String, bool) {
        match &self.kind {
            EventKind::Paged { ok: true, outcome, .. } => {
                (format!("paged {}: {}", one_line(&self.name), one_line(outcome)), false)
            }
            EventKind::Paged { outcome, .. } => {
                (format!("page to {} FAILED (recorded): {}", one_line(&self.name), one_line(outcome)), true)
            }
            EventKind::AlertUpdated { action, ok, outcome, .. } => {
                let what = if *ok { "sent" } else { "FAILED (recorded)" };
                (format!("PagerDuty {action} {what}: {}", one_line(outcome)), !ok)
            }
            EventKind::ChangeSent { ok, outcome, .. } => {
                let what = if *ok { "sent to PagerDuty" } else { "NOT sent to PagerDuty (recorded)" };
                (format!("change {what}: {}", one_line(outcome)), !ok)
            }
            _ => (String::new(), false),
        }
    }
}

/// The notifier and the channel finished pages come back on.
pub struct Pager {
    notifier: Option<Notifier>,
    tx: mpsc::UnboundedSender<PageDone>,
    /// Finished pages; the event loop selects on it.
    pub done: mpsc::UnboundedReceiver<PageDone>,
    /// Pages sent and not yet finished.
    pub in_flight: usize,
}

impl Pager {
    /// `None`: the HTTP client could not start; pages say so instead of being sent.
    pub fn new(notifier: Option<Notifier>) -> Pager {
        let (tx, done) = mpsc::unbounded_channel();
        Pager { notifier, tx, done, in_flight: 0 }
    }

    fn notifier(&self) -> Result<&Notifier, String> {
        self.notifier.as_ref().ok_or_else(|| "cannot page: the HTTP client did not start".to_string())
    }

    /// The confirm popup for `page`, or why nothing can be sent (no paging configured).
    pub fn ask(&self, page: Page, warning: Option<String>) -> Result<Popup, String> {
        let channel = self.notifier()?.default_channel().map_err(|e| format!("cannot page: {e}"))?;
        let level = page.level.map(|l| format!(" as escalation level {l}")).unwrap_or_default();
        let warning = warning.map(|w| format!("{}\n\n", one_line(&w))).unwrap_or_default();
        let message = format!(
            "{warning}Page {} ({}){level} via {channel} for {}?",
            one_line(&page.person.name),
            one_line(&page.person.id),
            page.severity
        );
        Ok(Popup::Confirm(Question::Page(Box::new(page)), Confirm { title: "Page".into(), message }))
    }

    /// What `ev` (just recorded) also tells PagerDuty: an ack acknowledges and a resolve resolves
    /// every alert the incident triggered; a `change` note goes to the Change Events API. Sent on
    /// a spawned task; each answer comes back as a [`PageDone`] to record.
    pub fn forward(&mut self, ev: &crate::incident::Event, events: &[crate::incident::Event]) {
        use crate::incident::{Status, Tag};
        use crate::notify::{AlertAction, change_for_note, change_sent_kind, update_all_alerts};
        let action = match &ev.kind {
            EventKind::Acknowledged {} => Some(AlertAction::Acknowledge),
            EventKind::StatusSet { status: Status::Resolved } => Some(AlertAction::Resolve),
            EventKind::Note { tag: Tag::Change, .. } => None,
            _ => return,
        };
        let (Some(notifier), Ok(rt)) = (self.notifier.clone(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        // Each answer is one `PageDone`: count them now so a quit waits for them like for pages.
        let expected = match action {
            Some(_) if notifier.pagerduty_configured() => crate::notify::pagerduty_dedup_keys(events).len(),
            None if notifier.change_routing_key().is_some() => 1,
            _ => 0,
        };
        if expected == 0 {
            return;
        }
        let (ev, events, tx) = (ev.clone(), events.to_vec(), self.tx.clone());
        self.in_flight += expected;
        rt.spawn(async move {
            let kinds = match (action, &ev.kind) {
                (Some(action), _) => update_all_alerts(&notifier, action, &events).await,
                (None, EventKind::Note { text, .. }) => {
                    let title = crate::incident::fold(&events).ok().map(|s| s.title);
                    match notifier.send_change(&change_for_note(&ev, text, title.as_deref())).await {
                        Some(result) => vec![change_sent_kind(ev.id, &result)],
                        None => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            for kind in kinds {
                let _ = tx.send(PageDone { incident: ev.incident, kind, name: String::new() });
            }
        });
    }

    /// Sends `page` on a spawned task; returns the notice to show meanwhile.
    pub fn send(&mut self, page: Page) -> Result<String, String> {
        let notifier = self.notifier()?.clone();
        let channel = notifier.default_channel().map_err(|e| format!("cannot page: {e}"))?;
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| "cannot page: no async runtime is running".to_string())?;
        let tx = self.tx.clone();
        let name = page.person.name.clone();
        rt.spawn(async move {
            let result = notifier.page(channel, &page).await;
            let kind = paged_kind(&page, channel, &result);
            // The receiver is gone only when the TUI quit; nothing is left to tell.
            let _ = tx.send(PageDone { incident: page.incident, kind, name: page.person.name.clone() });
        });
        self.in_flight += 1;
        Ok(format!("paging {} via {channel}…", one_line(&name)))
    }
}
