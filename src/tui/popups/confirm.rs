//! A yes/no question: acknowledge, quit with a draft, run a command, send a page.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::tui::keymap::{Binding, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame, wrap_line};

/// What a key does in a confirm box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmCmd {
    Yes,
    No,
    Down,
    Up,
}

/// The confirm box's keys; every other key is ignored.
pub static KEYS: &[Binding<ConfirmCmd>] = &[
    Binding::new(&[Key::ch('y'), Key::ENTER], ConfirmCmd::Yes, "yes").shown("yes"),
    Binding::new(&[Key::ch('Y')], ConfirmCmd::Yes, "yes"),
    Binding::new(&[Key::ch('n'), Key::ESC], ConfirmCmd::No, "no").shown("no"),
    Binding::new(&[Key::ch('N')], ConfirmCmd::No, "no"),
    Binding::down(ConfirmCmd::Down, "scroll a long question (a command to run is always shown whole)"),
    Binding::up(ConfirmCmd::Up, "scroll up"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub message: String,
    /// First message line shown, when the message is taller than the screen.
    pub scroll: Cell<u16>,
}

impl Confirm {
    pub fn new(title: impl Into<String>, message: String) -> Confirm {
        Confirm { title: title.into(), message, scroll: Cell::new(0) }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<()> {
        match lookup(KEYS, &key) {
            Some(ConfirmCmd::Yes) => Outcome::Done(()),
            Some(ConfirmCmd::No) => Outcome::Cancelled,
            Some(ConfirmCmd::Down) => {
                self.scroll.set(self.scroll.get().saturating_add(1));
                Outcome::Consumed
            }
            Some(ConfirmCmd::Up) => {
                self.scroll.set(self.scroll.get().saturating_sub(1));
                Outcome::Consumed
            }
            None => Outcome::Consumed,
        }
    }

    /// The message broken into lines `width` wide: every character kept (a `; touch …` at the end
    /// of a 2,000-character command line must be seen before saying yes).
    fn lines(&self, width: usize) -> Vec<Line<'static>> {
        self.message.split('\n').flat_map(|l| wrap_line(Line::from(l.to_string()), width, 0)).collect()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let longest = self.message.lines().map(|l| Line::from(l).width()).max().unwrap_or(0);
        let w = (longest.clamp(30, 100) as u16 + 4).min(area.width);
        let inner_w = usize::from(w.saturating_sub(2)).max(1);
        let lines = self.lines(inner_w);
        let rect = centered(area, w, (lines.len() as u16).saturating_add(3).max(6));
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [msg, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        let max = lines.len().saturating_sub(usize::from(msg.height)) as u16;
        self.scroll.set(self.scroll.get().min(max));
        frame.render_widget(Paragraph::new(lines).scroll((self.scroll.get(), 0)), msg);
        let mut hint = hint_line(&hints(KEYS), theme);
        if max > 0 {
            // Taller than the screen: say where the rest is.
            let more = if self.scroll.get() < max { "j/↓ more below" } else { "k/↑ more above" };
            hint.spans.push(Span::styled(format!(" · {more}"), theme.warn));
        }
        frame.render_widget(Paragraph::new(hint), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    fn screen(c: &Confirm, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let theme = Theme::load("default", None, false).unwrap();
        term.draw(|f| c.render(f, f.area(), &theme)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect()
    }

    #[test]
    fn a_long_single_line_command_is_shown_whole_by_wrapping_then_scrolling() {
        let cmd = format!("echo {}; touch /tmp/pwned", "a".repeat(300));
        let mut c = Confirm::new("Run command", format!("Run this command on this host (sh -c)?\n\n{cmd}"));
        let text = screen(&c, 80, 24);
        // Every character is there, in order (wrapping only adds line breaks).
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace() && *c != '│').collect::<String>();
        assert!(squeeze(&text).contains(&squeeze(&cmd)), "{text}");
        // 3,000 characters cannot fit at 80x24: scrolling reaches the tail, and the box says so.
        let cmd = format!("echo {}; touch /tmp/pwned", "a".repeat(3000));
        c = Confirm::new("Run command", cmd);
        let text = screen(&c, 80, 24);
        assert!(text.contains("more below") && !text.contains("touch"), "{text}");
        for _ in 0..60 {
            c.handle(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE));
        }
        let text = screen(&c, 80, 24);
        assert!(squeeze(&text).contains("touch/tmp/pwned") && text.contains("more above"), "{text}");
        assert!(text.contains("y/Enter yes · n/Esc no"), "hints whole: {text}");
    }
}
