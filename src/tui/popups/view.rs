//! A scrollable read-only text popup (event details, step details, help). Lines are already
//! sanitized.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::Outcome;
use crate::tui::keymap::{Binding, Key, PAGE_UP, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewCmd {
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Close,
}

/// The text view's keys.
pub static KEYS: &[Binding<ViewCmd>] = &[
    Binding::down(ViewCmd::Down, "scroll down").shown("scroll"),
    Binding::up(ViewCmd::Up, "scroll up").shown("scroll"),
    Binding::new(&[Key::PAGE_DOWN, Key::SPACE], ViewCmd::PageDown, "ten lines down"),
    Binding::new(PAGE_UP, ViewCmd::PageUp, "ten lines up"),
    Binding::top(ViewCmd::Top, "top"),
    Binding::bottom(ViewCmd::Bottom, "bottom"),
    Binding::close(ViewCmd::Close),
    Binding::new(&[Key::ENTER, Key::ch('q'), Key::ch('?')], ViewCmd::Close, "close"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextView {
    pub title: String,
    pub lines: Vec<Line<'static>>,
    pub scroll: u16,
}

impl TextView {
    pub fn new(title: impl Into<String>, lines: Vec<Line<'static>>) -> TextView {
        TextView { title: title.into(), lines, scroll: 0 }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<()> {
        let max = self.lines.len().saturating_sub(1) as u16;
        match lookup(KEYS, &key) {
            Some(ViewCmd::Down) => self.scroll = (self.scroll + 1).min(max),
            Some(ViewCmd::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(ViewCmd::PageDown) => self.scroll = (self.scroll + 10).min(max),
            Some(ViewCmd::PageUp) => self.scroll = self.scroll.saturating_sub(10),
            Some(ViewCmd::Top) => self.scroll = 0,
            Some(ViewCmd::Bottom) => self.scroll = max,
            Some(ViewCmd::Close) => return Outcome::Cancelled,
            None => {}
        }
        Outcome::Consumed
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(100);
        let h = (self.lines.len().min(u16::MAX as usize - 3) as u16 + 3).min(area.height.saturating_sub(2));
        let rect = centered(area, w, h);
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [body, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(
            Paragraph::new(self.lines.clone()).wrap(Wrap { trim: false }).scroll((self.scroll, 0)),
            body,
        );
        frame.render_widget(Paragraph::new(hint_line(&hints(KEYS), theme)), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_is_generated_as_before() {
        assert_eq!(hints(KEYS), [("j/k".to_string(), "scroll"), ("Esc".to_string(), "close")]);
    }
}
