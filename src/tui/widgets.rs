//! Widgets shared by every pane and popup, written once: a chooser list, a confirm box, a
//! one-line text input, a scrollable text view, and popup placement.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme::Theme;

/// A rectangle of at most `w`x`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))]).flex(Flex::Center).areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))]).flex(Flex::Center).areas(r);
    r
}

/// Clears `area` and draws a popup frame titled `title`; returns the inner area.
pub fn popup_frame(frame: &mut Frame, area: Rect, title: &str, theme: &Theme) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme.popup_border)
        .title(Span::styled(format!(" {title} "), theme.title))
        .style(theme.text);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// A line of `key what · key what` hints.
pub fn hint_line<'a>(hints: &[(String, &'a str)], theme: &Theme) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, (k, what)) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted));
        }
        spans.push(Span::styled(k.clone(), theme.key));
        spans.push(Span::styled(format!(" {what}"), theme.muted));
    }
    Line::from(spans)
}

/// Cuts a line that is wider than `width` and ends it with `…`, so a cut is visible.
pub fn fit(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width || width == 0 {
        return line;
    }
    let mut left = width - 1;
    let mut spans = Vec::with_capacity(line.spans.len());
    for span in line.spans {
        let w = span.width();
        if w <= left {
            left -= w;
            spans.push(span);
            continue;
        }
        let mut cut = String::new();
        for c in span.content.chars() {
            let cw = Span::raw(c.to_string()).width();
            if cw > left {
                break;
            }
            left -= cw;
            cut.push(c);
        }
        spans.push(Span::styled(cut, span.style));
        spans.push(Span::styled("…", span.style));
        break;
    }
    Line::from(spans)
}

/// What a popup did with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Key used, popup stays.
    Consumed,
    /// Popup closes without a result.
    Cancelled,
    /// Popup closes with a result.
    Done(T),
}

/// Pick one item of a short list (↑/↓ or j/k, Enter, Esc). Items are plain text we wrote.
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
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(self.items.len().saturating_sub(1))
            }
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = self.items.len().saturating_sub(1),
            KeyCode::Enter if !self.items.is_empty() => return Outcome::Done(self.selected),
            KeyCode::Esc | KeyCode::Char('q') => return Outcome::Cancelled,
            KeyCode::Char(c) if c.is_ascii_digit() => {
                let n = c.to_digit(10).unwrap_or(0) as usize;
                if (1..=self.items.len()).contains(&n) {
                    return Outcome::Done(n - 1);
                }
            }
            _ => {}
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
        let w = self.items.iter().map(|s| s.chars().count()).max().unwrap_or(10).max(self.title.len()) + 8;
        let rect = centered(area, w as u16, self.items.len() as u16 + 4);
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [list, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(self.lines(theme, item_style)), list);
        let hints = [("Enter".to_string(), "choose"), ("Esc".to_string(), "cancel")];
        frame.render_widget(Paragraph::new(hint_line(&hints, theme)), help);
    }
}

/// A yes/no question. `y`/Enter confirm, `n`/Esc cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub message: String,
}

impl Confirm {
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<()> {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Outcome::Done(()),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Outcome::Cancelled,
            _ => Outcome::Consumed,
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
        let hints = [("y/Enter".to_string(), "yes"), ("n/Esc".to_string(), "no")];
        frame.render_widget(Paragraph::new(hint_line(&hints, theme)), help);
    }
}

/// A one-line text input with a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
    /// Cursor position in chars.
    pub cursor: usize,
}

impl TextInput {
    /// Edits on a key; returns true when the key was an edit or a cursor move.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        let len = self.value.chars().count();
        match key.code {
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                if !c.is_control() {
                    let at = self.byte(self.cursor);
                    self.value.insert(at, c);
                    self.cursor += 1;
                }
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte(self.cursor - 1);
                self.value.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte(self.cursor);
                self.value.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            _ => return false,
        }
        true
    }

    fn byte(&self, chars: usize) -> usize {
        self.value.char_indices().nth(chars).map(|(i, _)| i).unwrap_or(self.value.len())
    }

    /// The value with a block cursor, as spans (no terminal cursor needed).
    pub fn spans(&self, theme: &Theme, active: bool) -> Vec<Span<'static>> {
        if !active {
            return vec![Span::styled(self.value.clone(), theme.text)];
        }
        let at = self.byte(self.cursor);
        let (before, rest) = self.value.split_at(at);
        let mut chars = rest.chars();
        let under = chars.next().map(String::from).unwrap_or_else(|| " ".into());
        vec![
            Span::styled(before.to_string(), theme.text),
            Span::styled(under, theme.selection),
            Span::styled(chars.as_str().to_string(), theme.text),
        ]
    }
}

/// A scrollable read-only text popup (event details, help). Lines are already sanitized.
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
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll = (self.scroll + 1).min(max),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = (self.scroll + 10).min(max),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            KeyCode::Char('G') | KeyCode::End => self.scroll = max,
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?') => {
                return Outcome::Cancelled;
            }
            _ => {}
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
        let hints = [("j/k".to_string(), "scroll"), ("Esc".to_string(), "close")];
        frame.render_widget(Paragraph::new(hint_line(&hints, theme)), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn text_input_edits_unicode() {
        let mut t = TextInput::default();
        for c in "dïsk".chars() {
            t.handle(key(KeyCode::Char(c)));
        }
        t.handle(key(KeyCode::Left));
        t.handle(key(KeyCode::Backspace));
        assert_eq!(t.value, "dïk");
        t.handle(key(KeyCode::Home));
        t.handle(key(KeyCode::Delete));
        assert_eq!((t.value.as_str(), t.cursor), ("ïk", 0));
    }

    #[test]
    fn long_lines_end_with_an_ellipsis() {
        let line = Line::from(vec![Span::raw("12:00 "), Span::raw("a long note text")]);
        assert_eq!(fit(line.clone(), 12).to_string(), "12:00 a lon…");
        assert_eq!(fit(line.clone(), 12).width(), 12);
        assert_eq!(fit(line.clone(), 40).to_string(), "12:00 a long note text");
        let wide = Line::from("日本語のメモ");
        assert_eq!(fit(wide, 6).to_string(), "日本…");
    }

    #[test]
    fn chooser_moves_and_picks_by_digit() {
        let mut c = Chooser::new("x", vec!["a".into(), "b".into(), "c".into()], 0);
        assert_eq!(c.handle(key(KeyCode::Down)), Outcome::Consumed);
        assert_eq!(c.handle(key(KeyCode::Enter)), Outcome::Done(1));
        assert_eq!(c.handle(key(KeyCode::Char('3'))), Outcome::Done(2));
        assert_eq!(c.handle(key(KeyCode::Char('9'))), Outcome::Consumed);
        assert_eq!(c.handle(key(KeyCode::Esc)), Outcome::Cancelled);
    }
}
