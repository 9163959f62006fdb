//! A yes/no question: acknowledge, quit with a draft, run a command, send a page.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use super::Outcome;
use crate::tui::keymap::{Binding, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame};

/// The confirm box's keys; every other key is ignored.
pub static KEYS: &[Binding<bool>] = &[
    Binding { keys: &[Key::ch('y'), Key::code(KeyCode::Enter)], cmd: true, desc: "yes", hint: Some("yes") },
    Binding { keys: &[Key::ch('Y')], cmd: true, desc: "yes", hint: None },
    Binding { keys: &[Key::ch('n'), Key::code(KeyCode::Esc)], cmd: false, desc: "no", hint: Some("no") },
    Binding { keys: &[Key::ch('N')], cmd: false, desc: "no", hint: None },
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub message: String,
}

impl Confirm {
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<()> {
        match lookup(KEYS, &key) {
            Some(true) => Outcome::Done(()),
            Some(false) => Outcome::Cancelled,
            None => Outcome::Consumed,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let w = self.message.chars().count().clamp(30, 70) as u16 + 4;
        // Tall enough for every line of the message (a command to run must be shown whole).
        let inner_w = usize::from(w.saturating_sub(2)).max(1);
        let rows: usize = self.message.lines().map(|l| l.chars().count().div_ceil(inner_w).max(1)).sum();
        let rect = centered(area, w, (rows as u16).saturating_add(3).max(6));
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [msg, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(self.message.as_str()).wrap(Wrap { trim: true }), msg);
        frame.render_widget(Paragraph::new(hint_line(&hints(KEYS), theme)), help);
    }
}
