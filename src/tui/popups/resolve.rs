//! Resolving from the TUI: a one-line resolution is asked for, with the warnings (unticked
//! runbook steps, pages nobody acknowledged) shown above it, as `warroom resolve` does.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::Outcome;
use crate::incident::sanitize::one_line;
use crate::tui::keymap::{Binding, ENTER, ESC, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{TextInput, centered, error_line, field_line, hint_line, popup_frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveCmd {
    Resolve,
    Cancel,
}

/// The popup's keys; every other key edits the resolution.
pub static KEYS: &[Binding<ResolveCmd>] = &[
    Binding::new(ENTER, ResolveCmd::Resolve, "record the resolution and resolve").shown("resolve"),
    Binding::new(ESC, ResolveCmd::Cancel, "cancel (stay open)").shown("cancel"),
];

/// The resolution being typed and what to warn about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolveForm {
    pub input: TextInput,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

impl ResolveForm {
    pub fn new(warnings: Vec<String>) -> ResolveForm {
        ResolveForm { warnings, ..Default::default() }
    }

    /// `Done(text)`: the App records the resolution, then the status.
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<String> {
        self.error = None;
        match lookup(KEYS, &key) {
            Some(ResolveCmd::Cancel) => Outcome::Cancelled,
            Some(ResolveCmd::Resolve) => {
                let text = one_line(self.input.value.trim()).into_owned();
                if text.is_empty() {
                    self.error = Some("type the resolution: what ended the impact, in one line".into());
                    return Outcome::Consumed;
                }
                Outcome::Done(text)
            }
            None => {
                self.input.handle(key);
                Outcome::Consumed
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rect = centered(area, 76, 7 + 2 * self.warnings.len() as u16);
        let inner = popup_frame(frame, rect, "Resolve the incident", theme);
        let mut lines: Vec<Line> =
            self.warnings.iter().map(|w| Line::styled(format!("! {}", one_line(w)), theme.warn)).collect();
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(field_line("Resolution ", &self.input, true, theme));
        lines.push(Line::styled(
            "What ended the impact, in one line (it goes in the postmortem).",
            theme.muted,
        ));
        lines.push(error_line(self.error.as_deref(), theme));
        lines.push(hint_line(&hints(KEYS), theme));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}
