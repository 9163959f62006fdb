//! The `F` popup: a follow-up (work for after the incident) with owner, priority and ticket,
//! recorded as `followup_added` — the same event as `warroom followup add`.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::incident::{EventKind, Priority};
use crate::tui::keymap::{Binding, ENTER, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{TextInput, centered, error_line, field_line, hint_line, popup_frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowupCmd {
    Next,
    Prev,
    Save,
    Cancel,
    Priority,
}

/// The form's keys; every other key edits the field that has the keys.
pub static KEYS: &[Binding<FollowupCmd>] = &[
    Binding::new(ENTER, FollowupCmd::Save, "add the follow-up").shown("add"),
    Binding::new(&[Key::TAB, Key::DOWN], FollowupCmd::Next, "next field").shown("next field"),
    Binding::new(&[Key::BACK_TAB, Key::UP], FollowupCmd::Prev, "previous field"),
    Binding::new(&[Key::f(2)], FollowupCmd::Priority, "next priority (p0..p3)").shown("priority"),
    Binding::cancel(FollowupCmd::Cancel),
];

/// What must happen after the incident, who owns it, how urgent, where it is tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupForm {
    pub fields: [TextInput; 3],
    /// 0 text, 1 owner, 2 ticket.
    pub field: usize,
    pub priority: Priority,
    pub error: Option<String>,
}

impl Default for FollowupForm {
    fn default() -> Self {
        FollowupForm { fields: Default::default(), field: 0, priority: Priority::P2, error: None }
    }
}

const LABELS: [&str; 3] = ["What     ", "Owner    ", "Ticket   "];

impl FollowupForm {
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<EventKind> {
        self.error = None;
        match lookup(KEYS, &key) {
            Some(FollowupCmd::Cancel) => Outcome::Cancelled,
            Some(FollowupCmd::Next) => {
                self.field = (self.field + 1) % 3;
                Outcome::Consumed
            }
            Some(FollowupCmd::Prev) => {
                self.field = (self.field + 2) % 3;
                Outcome::Consumed
            }
            Some(FollowupCmd::Priority) => {
                let i = Priority::ALL.iter().position(|p| *p == self.priority).unwrap_or(2);
                self.priority = Priority::ALL[(i + 1) % Priority::ALL.len()];
                Outcome::Consumed
            }
            Some(FollowupCmd::Save) => {
                let text = self.fields[0].value.trim().to_string();
                if text.is_empty() {
                    self.error = Some("say what must be done first".into());
                    self.field = 0;
                    return Outcome::Consumed;
                }
                let opt = |i: usize| Some(self.fields[i].value.trim().to_string()).filter(|v| !v.is_empty());
                Outcome::Done(EventKind::FollowupAdded {
                    text,
                    owner: opt(1),
                    priority: self.priority,
                    ticket: opt(2),
                })
            }
            None => {
                self.fields[self.field].handle(key);
                Outcome::Consumed
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rect = centered(area, 72, 9);
        let inner = popup_frame(frame, rect, "Follow-up (work for after the incident)", theme);
        let mut lines = Vec::new();
        for (i, label) in LABELS.iter().enumerate() {
            lines.push(field_line(label, &self.fields[i], self.field == i, theme));
        }
        let mut p = vec![Span::styled("Priority ", theme.muted)];
        for pr in Priority::ALL {
            let style = if *pr == self.priority { theme.tab_active } else { theme.muted };
            p.push(Span::styled(format!(" {pr} "), style));
        }
        lines.push(Line::from(p));
        lines.push(error_line(self.error.as_deref(), theme));
        lines.push(hint_line(&hints(KEYS), theme));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
