//! Pick one item of a short list: the severity, status and role popups, and the lists inside the
//! start and contact forms. Items are plain text we wrote.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::tui::keymap::{Binding, ENTER, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChooserCmd {
    Up,
    Down,
    Top,
    Bottom,
    Choose,
    Cancel,
    /// Pick the item with the digit typed.
    Pick,
}

/// The chooser's keys.
pub static KEYS: &[Binding<ChooserCmd>] = &[
    Binding::new(&[Key::UP, Key::ch('k')], ChooserCmd::Up, "previous"),
    Binding::new(&[Key::DOWN, Key::ch('j')], ChooserCmd::Down, "next"),
    Binding::new(&[Key::HOME, Key::ch('g')], ChooserCmd::Top, "first"),
    Binding::new(&[Key::END, Key::ch('G')], ChooserCmd::Bottom, "last"),
    Binding::new(ENTER, ChooserCmd::Choose, "choose the selected item").shown("choose"),
    Binding::cancel(ChooserCmd::Cancel),
    Binding::new(&[Key::ch('q')], ChooserCmd::Cancel, "cancel"),
    Binding::new(&Key::chars::<9>('1'), ChooserCmd::Pick, "choose the item with that number"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chooser {
    pub title: String,
    pub items: Vec<String>,
    pub selected: usize,
}

impl Chooser {
    pub fn new(title: impl Into<String>, items: Vec<String>, selected: usize) -> Chooser {
        let selected = selected.min(items.len().saturating_sub(1));
        Chooser { title: title.into(), items, selected }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<usize> {
        let last = self.items.len().saturating_sub(1);
        match lookup(KEYS, &key) {
            Some(ChooserCmd::Up) => self.selected = self.selected.saturating_sub(1),
            Some(ChooserCmd::Down) => self.selected = (self.selected + 1).min(last),
            Some(ChooserCmd::Top) => self.selected = 0,
            Some(ChooserCmd::Bottom) => self.selected = last,
            Some(ChooserCmd::Choose) if !self.items.is_empty() => return Outcome::Done(self.selected),
            Some(ChooserCmd::Cancel) => return Outcome::Cancelled,
            Some(ChooserCmd::Pick) => {
                let n = match key.code {
                    KeyCode::Char(c) => c.to_digit(10).unwrap_or(0) as usize,
                    _ => 0,
                };
                if (1..=self.items.len()).contains(&n) {
                    return Outcome::Done(n - 1);
                }
            }
            Some(ChooserCmd::Choose) | None => {}
        }
        Outcome::Consumed
    }

    /// The list lines, the selected one highlighted; used inside other popups too.
    pub fn lines<'a>(&'a self, theme: &Theme, item_style: impl Fn(usize) -> Style) -> Vec<Line<'a>> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let marker = if i == self.selected { "▶ " } else { "  " };
                let style = if i == self.selected { theme.selection } else { item_style(i) };
                Line::from(vec![Span::styled(marker, theme.key), Span::styled(it.as_str(), style)])
            })
            .collect()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, item_style: impl Fn(usize) -> Style) {
        // Wide enough for its own key hints too: `Enter choose · Esc cancel` is never cut.
        let hint = hint_line(&hints(KEYS), theme);
        let w = self
            .items
            .iter()
            .map(|s| Line::from(s.as_str()).width())
            .max()
            .unwrap_or(10)
            .max(self.title.len())
            + 8;
        let w = w.max(hint.width() + 4);
        let rect = centered(area, w as u16, self.items.len() as u16 + 4);
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [list, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(self.lines(theme, item_style)), list);
        frame.render_widget(Paragraph::new(hint), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::key;

    #[test]
    fn chooser_moves_and_picks_by_digit() {
        let mut c = Chooser::new("x", vec!["a".into(), "b".into(), "c".into()], 0);
        assert_eq!(c.handle(key(KeyCode::Down)), Outcome::Consumed);
        assert_eq!(c.handle(key(KeyCode::Enter)), Outcome::Done(1));
        assert_eq!(c.handle(key(KeyCode::Char('3'))), Outcome::Done(2));
        assert_eq!(c.handle(key(KeyCode::Char('9'))), Outcome::Consumed);
        assert_eq!(c.handle(key(KeyCode::Esc)), Outcome::Cancelled);
    }

    #[test]
    fn footer_and_help_come_from_the_table() {
        assert_eq!(hints(KEYS), [("Enter".to_string(), "choose"), ("Esc".to_string(), "cancel")]);
        let help = crate::tui::keymap::help_rows([KEYS]);
        assert!(help.contains(&("Esc/q".to_string(), "cancel")), "{help:?}");
        assert!(help.contains(&("1-9".to_string(), "choose the item with that number")), "{help:?}");
    }

    #[test]
    fn a_narrow_list_still_shows_its_hints_whole() {
        let c = Chooser::new("Sev", vec!["1".into(), "2".into()], 0);
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let theme = Theme::load("default", None, false).unwrap();
        term.draw(|f| c.render(f, f.area(), &theme, |_| Style::default())).unwrap();
        let buf = term.backend().buffer().clone();
        let text: String =
            (0..24).map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n").collect();
        let want = hint_line(&hints(KEYS), &theme).to_string();
        assert!(text.contains(&want), "{want:?} cut in:\n{text}");
    }
}
