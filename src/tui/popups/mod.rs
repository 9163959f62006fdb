//! Modal popups, one file each (after gitui's `src/popups/`). The top popup gets keys first. Each
//! popup drives its keys from its own `Binding` table (keymap.rs), so its footer hints and its `?`
//! help section are generated from the table that handles the keys. Every popup, and the
//! composer, answers a key with the one result type `Outcome`.
//!
//! Popups depend on the shared widgets, the key tables and the theme only: panes and the App use
//! popups, never the other way round.

pub mod capture;
pub mod chooser;
pub mod composer;
pub mod confirm;
pub mod contact;
pub mod evidence;
pub mod followup;
pub mod guarded;
pub mod kill;
pub mod resolve;
pub mod run;
pub mod start;
pub mod view;

use ratatui::Frame;
use ratatui::layout::Rect;

pub use capture::CaptureForm;
pub use chooser::Chooser;
pub use composer::Composer;
pub use confirm::Confirm;
pub use contact::ContactForm;
pub use evidence::EvidenceBrowser;
pub use followup::FollowupForm;
pub use kill::KillGuard;
pub use resolve::ResolveForm;
pub use run::{RunOutput, RunRequest};
pub use start::{StartChoice, StartForm};
pub use view::TextView;

use super::theme::Theme;
use crate::incident::{Severity, Status};

/// What a popup (or the composer) did with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Key used or ignored: the popup stays as it is.
    Consumed,
    /// The popup closes without a result.
    Cancelled,
    /// A result for the App, which decides whether the popup stays (a kill in flight, a run being
    /// cancelled) or closes.
    Done(T),
}

/// What a chooser picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Severity,
    Status,
}

/// What a confirm box asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Ack,
    QuitWithDraft,
    /// Run this runbook command.
    RunCommand(Box<RunRequest>),
    /// Send this page.
    Page(Box<crate::notify::Page>),
}

/// Every popup the App can stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Start(StartForm),
    Choose(Choice, Chooser),
    Confirm(Question, Confirm),
    View(TextView),
    Kill(Box<KillGuard>),
    /// Capture without a signal, or capture then restart the unit/container.
    Capture(Box<CaptureForm>),
    /// The incident's evidence: captures, their files, one file.
    Evidence(Box<EvidenceBrowser>),
    /// A runbook command's live output.
    Run(RunOutput),
    /// Pick one item; the event at its index is appended.
    Record(Chooser, Vec<crate::incident::EventKind>),
    /// How a person was contacted and what came of it.
    Contact(ContactForm),
    /// A follow-up: text, owner, priority, ticket.
    Followup(FollowupForm),
    /// The one-line resolution, asked for when the status is set to resolved.
    Resolve(ResolveForm),
}

impl Popup {
    pub fn severity(current: Severity) -> Popup {
        let items = Severity::ALL.iter().map(|s| format!("{s}  {}", sev_words(*s))).collect();
        Popup::Choose(Choice::Severity, Chooser::new("Severity", items, usize::from(current.get() - 1)))
    }

    pub fn status(current: Status) -> Popup {
        let items = Status::ALL.iter().map(|s| s.to_string()).collect();
        let at = Status::ALL.iter().position(|s| *s == current).unwrap_or(0);
        Popup::Choose(Choice::Status, Chooser::new("Status", items, at))
    }

    /// For dialogs that take no typing, whether they are done: Some(true) for details, help, a
    /// kill's result and a finished command's output (a global key closes them and acts), Some(false)
    /// while a kill or a command is under way; None for forms and lists, which own every key.
    pub fn settled(&self) -> Option<bool> {
        match self {
            Popup::View(_) => Some(true),
            Popup::Kill(g) => g.settled(),
            Popup::Capture(g) => g.settled(),
            Popup::Run(r) => Some(r.finished.is_some()),
            _ => None,
        }
    }

    /// Whether the popup's own table binds `key` (only asked of settled dialogs).
    pub fn binds(&self, key: &ratatui::crossterm::event::KeyEvent) -> bool {
        use super::keymap::lookup;
        match self {
            Popup::View(_) => lookup(view::KEYS, key).is_some(),
            Popup::Kill(g) => lookup(g.keys(), key).is_some(),
            Popup::Capture(g) => lookup(g.keys(), key).is_some(),
            Popup::Run(r) => lookup(r.keys(), key).is_some(),
            _ => true,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match self {
            Popup::Start(f) => f.render(frame, area, theme),
            Popup::Choose(Choice::Severity, c) => {
                c.render(frame, area, theme, |i| theme.sev(Severity::ALL[i]))
            }
            Popup::Choose(Choice::Status, c) => c.render(frame, area, theme, |_| theme.text),
            Popup::Confirm(_, c) => c.render(frame, area, theme),
            Popup::View(v) => v.render(frame, area, theme),
            Popup::Kill(g) => g.render(frame, area, theme),
            Popup::Capture(g) => g.render(frame, area, theme),
            Popup::Evidence(b) => b.render(frame, area, theme),
            Popup::Run(r) => r.render(frame, area, theme),
            Popup::Record(c, _) => c.render(frame, area, theme, |_| theme.text),
            Popup::Contact(f) => f.render(frame, area, theme),
            Popup::Followup(f) => f.render(frame, area, theme),
            Popup::Resolve(f) => f.render(frame, area, theme),
        }
    }
}

fn sev_words(s: Severity) -> &'static str {
    match s.get() {
        1 => "critical: customers down",
        2 => "major: degraded for many",
        3 => "minor: some impact",
        _ => "low: no customer impact",
    }
}

/// The `?` help sections of every popup and the composer, from the tables that handle their keys.
pub fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    use super::keymap::help_rows;
    vec![
        ("Note composer", help_rows([composer::KEYS])),
        ("Status update composer", help_rows([composer::STATUS_KEYS])),
        ("Open an incident (start form)", help_rows(start::TABLES.iter().copied())),
        ("Lists (severity, status, role)", help_rows([chooser::KEYS])),
        ("Questions (yes / no)", help_rows([confirm::KEYS])),
        ("Details and help", help_rows([view::KEYS])),
        ("Kill guard", help_rows(kill::TABLES.iter().copied())),
        ("Capture / restart with evidence", help_rows(capture::TABLES.iter().copied())),
        (
            "Evidence browser (a file: the text view's keys, Esc back)",
            help_rows(evidence::TABLES.iter().copied()),
        ),
        ("Running command", help_rows(run::TABLES.iter().copied())),
        ("Contact attempt", help_rows([contact::KEYS])),
        ("Follow-up", help_rows([followup::KEYS])),
        ("Resolve", help_rows([resolve::KEYS])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Binding, Key};

    /// Within one table a key runs one command: the first match would silently win otherwise.
    fn no_key_bound_twice<C: Copy + PartialEq + std::fmt::Debug>(name: &str, table: &[Binding<C>]) {
        let keys: Vec<(Key, C)> =
            table.iter().flat_map(|b| b.keys.iter().map(move |k| (*k, b.cmd))).collect();
        for (i, (k, c)) in keys.iter().enumerate() {
            for (k2, c2) in &keys[i + 1..] {
                assert!(!(k == k2 && c != c2), "{name}: {} bound to {c:?} and {c2:?}", k.label());
            }
        }
    }

    #[test]
    fn every_popup_table_binds_each_key_once() {
        no_key_bound_twice("chooser", chooser::KEYS);
        no_key_bound_twice("confirm", confirm::KEYS);
        no_key_bound_twice("view", view::KEYS);
        no_key_bound_twice("contact", contact::KEYS);
        no_key_bound_twice("follow-up", followup::KEYS);
        no_key_bound_twice("resolve", resolve::KEYS);
        no_key_bound_twice("composer", composer::KEYS);
        no_key_bound_twice("status composer", composer::STATUS_KEYS);
        for t in start::TABLES {
            no_key_bound_twice("start", t);
        }
        for t in kill::TABLES.iter().chain([&kill::REFUSED_KEYS]) {
            no_key_bound_twice("kill", t);
        }
        for t in run::TABLES {
            no_key_bound_twice("run", t);
        }
        for t in capture::TABLES {
            no_key_bound_twice("capture", t);
        }
        for t in evidence::TABLES {
            no_key_bound_twice("evidence", t);
        }
    }

    #[test]
    fn help_has_a_section_for_every_popup_from_its_table() {
        let sections = help_sections();
        let find = |name: &str| {
            sections
                .iter()
                .find(|(n, _)| n.starts_with(name))
                .map(|(_, rows)| rows.clone())
                .unwrap_or_default()
        };
        assert!(find("Kill guard").contains(&("Enter/y".to_string(), "send SIGKILL")));
        assert!(find("Questions").contains(&("y/Enter/Y".to_string(), "yes")));
        assert!(
            find("Running command")
                .contains(&("Esc".to_string(), "cancel the command (kills its process group)"))
        );
        assert!(find("Contact attempt").iter().any(|(k, _)| k.starts_with("Tab/S-Tab")));
        assert!(sections.iter().all(|(_, rows)| !rows.is_empty()));
    }
}
