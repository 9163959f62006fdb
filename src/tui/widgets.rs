//! Widgets shared by every pane and popup, written once: a one-line text input, hint lines, line
//! fitting, and popup placement. The popups themselves live in `popups/`.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};

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
}
