//! Paging from the TUI without blocking it: a confirmed page becomes `Command::Page`, which the
//! loop's `Effects` sends on a task; its `paged` event (delivered or failed, with the one-line
//! reason) comes back as `Action::PageDone`, which the App appends to the store.

use super::popups::{Confirm, Popup, Question};
use super::queue::Command;
use crate::incident::sanitize::one_line;
use crate::incident::{EventKind, IncidentId};
use crate::notify::{Notifier, Page};

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

/// The notifier, and the pages still in flight.
pub struct Pager {
    notifier: Option<Notifier>,
    /// Pages sent and not yet finished.
    pub in_flight: usize,
}

impl Pager {
    /// `None`: the HTTP client could not start; pages say so instead of being sent.
    pub fn new(notifier: Option<Notifier>) -> Pager {
        Pager { notifier, in_flight: 0 }
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
        Ok(Popup::Confirm(Question::Page(Box::new(page)), Confirm::new("Page", message)))
    }

    /// What `ev` (just recorded) also tells PagerDuty: an ack acknowledges and a resolve resolves
    /// every alert the incident triggered; a `change` note goes to the Change Events API. The
    /// command's answers come back one `Action::PageDone` each (counted in `in_flight`, so a quit
    /// waits for them like for pages). `None`: nothing to send.
    pub fn forward(
        &mut self,
        ev: &crate::incident::Event,
        events: &[crate::incident::Event],
    ) -> Option<Command> {
        use crate::incident::{Status, Tag};
        let notifier = self.notifier.clone()?;
        let expected = match &ev.kind {
            EventKind::Acknowledged {} | EventKind::StatusSet { status: Status::Resolved }
                if notifier.pagerduty_configured() =>
            {
                crate::notify::pagerduty_dedup_keys(events).len()
            }
            EventKind::Note { tag: Tag::Change, .. } if notifier.change_routing_key().is_some() => 1,
            _ => 0,
        };
        if expected == 0 {
            return None;
        }
        self.in_flight += expected;
        Some(Command::Forward { notifier, event: Box::new(ev.clone()), events: events.to_vec() })
    }

    /// The command that sends `page` (the loop sends it on a task and answers with
    /// `Action::PageDone`), and the notice to show meanwhile.
    pub fn send(&mut self, page: Page) -> Result<(String, Command), String> {
        let notifier = self.notifier()?.clone();
        let channel = notifier.default_channel().map_err(|e| format!("cannot page: {e}"))?;
        let notice = format!("paging {} via {channel}…", one_line(&page.person.name));
        self.in_flight += 1;
        Ok((notice, Command::Page { notifier, channel, page }))
    }
}
