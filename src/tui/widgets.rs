//! Widgets shared by every pane and popup, written once: a one-line text input and a form's
//! labelled fields, hint lines, line fitting, and popup placement. The popups themselves live in
//! `popups/`.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
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

/// A styled line broken into lines of at most `width` columns, at the last space when there is
/// one, else mid-word; continuation lines start with `indent` spaces (the column where the text
/// began). Nothing is cut: a timeline entry, a command to confirm, must be read whole.
pub fn wrap_line(line: Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let indent = if indent * 2 > width { 0 } else { indent };
    if line.width() <= width || width == 0 {
        return vec![own(line)];
    }
    let cw = |c: char| Span::raw(c.to_string()).width();
    let mut out: Vec<Vec<(char, Style)>> = Vec::new();
    let mut cur: Vec<(char, Style)> = Vec::new();
    let mut w = 0;
    let chars = line.spans.iter().flat_map(|s| {
        let style = line.style.patch(s.style);
        s.content.chars().map(move |c| (c, style))
    });
    for (c, style) in chars {
        let cwid = cw(c);
        while w + cwid > width && cur.len() > if out.is_empty() { 0 } else { indent } {
            let start = if out.is_empty() { 0 } else { indent };
            // Break after the last space past the indent, carrying the partial word over.
            let carry = match cur[start..].iter().rposition(|(c, _)| *c == ' ') {
                Some(i) if start + i + 1 < cur.len() => cur.split_off(start + i + 1),
                _ => Vec::new(),
            };
            while cur.last().is_some_and(|(c, _)| *c == ' ') && cur.len() > start + 1 {
                cur.pop();
            }
            out.push(std::mem::take(&mut cur));
            cur.extend(std::iter::repeat_n((' ', Style::default()), indent));
            cur.extend(carry);
            w = cur.iter().map(|(c, _)| cw(*c)).sum();
        }
        // A space that would start a continuation line is the break itself.
        if c == ' ' && !out.is_empty() && cur.len() == indent {
            continue;
        }
        cur.push((c, style));
        w += cwid;
    }
    if cur.len() > indent || out.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|cells| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            for (c, style) in cells {
                match spans.last_mut() {
                    Some(last) if last.style == style => last.content.to_mut().push(c),
                    _ => spans.push(Span::styled(c.to_string(), style)),
                }
            }
            Line::from(spans)
        })
        .collect()
}

fn own(line: Line<'_>) -> Line<'static> {
    let spans =
        line.spans.into_iter().map(|s| Span::styled(s.content.into_owned(), s.style)).collect::<Vec<_>>();
    Line::from(spans).style(line.style)
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

/// The first visible row of a scrolled list: the tail when following, else the previous top moved
/// just enough to keep the selection on screen. With no room at all (height 0) the top stays where
/// it was, so the list does not jump when the pane grows back.
pub fn scroll_top(prev: usize, selected: usize, height: usize, rows: usize, follow: bool) -> usize {
    let max_top = rows.saturating_sub(height);
    if follow {
        return max_top;
    }
    let top = if height == 0 || (selected >= prev && selected < prev + height) {
        prev
    } else if selected < prev {
        selected
    } else {
        selected + 1 - height
    };
    top.min(max_top)
}

/// A form field's label, highlighted while the field has the keys.
pub fn label(text: &'static str, active: bool, theme: &Theme) -> Span<'static> {
    Span::styled(text, if active { theme.key } else { theme.muted })
}

/// A form's text field on one line: its label, then the text (with the cursor while active).
pub fn field_line(text: &'static str, input: &TextInput, active: bool, theme: &Theme) -> Line<'static> {
    let mut spans = vec![label(text, active, theme)];
    spans.extend(input.spans(theme, active));
    Line::from(spans)
}

/// A form's error line (empty while there is none), above its key hints.
pub fn error_line(error: Option<&str>, theme: &Theme) -> Line<'static> {
    match error {
        Some(e) => Line::styled(e.to_string(), theme.danger),
        None => Line::raw(""),
    }
}

/// The field `by` places from `at` in a form's `fields`, wrapping around (Tab / S-Tab).
pub fn step_field<F: Copy + PartialEq>(fields: &[F], at: F, by: isize) -> F {
    let i = fields.iter().position(|f| *f == at).unwrap_or(0) as isize;
    fields[(i + by).rem_euclid(fields.len() as isize) as usize]
}

/// Whether a key types a character (no Ctrl or Alt): what a text field takes. A form sends such a
/// key to its text field when the focus is on a row that takes no typing, so nothing typed is lost.
pub fn types_char(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(c) if !c.is_control())
        && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
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
            KeyCode::Char(c) if types_char(&key) => {
                let at = self.byte(self.cursor);
                self.value.insert(at, c);
                self.cursor += 1;
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

/// A list's `/` filter, typed on a line under the list: Enter keeps it, Esc clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub input: TextInput,
    /// The filter line is open and takes the keys.
    pub typing: bool,
}

impl Filter {
    /// The footer hints while typing.
    pub const HINTS: &'static [(&'static str, &'static str)] =
        &[("Enter", "keep filter"), ("Esc", "clear filter")];

    /// The filter text.
    pub fn value(&self) -> &str {
        &self.input.value
    }

    /// A key while typing; true when the list must be filtered again.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Enter => {
                self.typing = false;
                false
            }
            KeyCode::Esc => {
                *self = Filter::default();
                true
            }
            _ => self.input.handle(key),
        }
    }

    /// The line being typed: `/ text` with the cursor.
    pub fn line(&self, theme: &Theme) -> Line<'static> {
        let mut spans = vec![Span::styled("/ ", theme.key)];
        spans.extend(self.input.spans(theme, true));
        Line::from(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::key;

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
    fn a_filter_keeps_its_text_on_enter_and_clears_it_on_esc() {
        let mut f = Filter { typing: true, ..Filter::default() };
        assert!(f.key(key(KeyCode::Char('d'))), "an edit filters again");
        assert!(!f.key(key(KeyCode::Enter)), "Enter keeps the filter as it is");
        assert_eq!((f.value(), f.typing), ("d", false));
        f.typing = true;
        assert!(f.key(key(KeyCode::Esc)), "Esc clears it: filter again");
        assert_eq!(f, Filter::default());
    }

    #[test]
    fn tab_order_wraps_both_ways_and_starts_over_from_a_field_not_offered() {
        let fields = ['a', 'b', 'c'];
        assert_eq!(step_field(&fields, 'c', 1), 'a');
        assert_eq!(step_field(&fields, 'a', -1), 'c');
        assert_eq!(step_field(&fields, 'z', 1), 'b');
    }

    #[test]
    fn scroll_top_keeps_selection_visible() {
        // No room: the top stays (the timeline and the process pane used to disagree here).
        assert_eq!(scroll_top(7, 9, 0, 100, false), 7);
        assert_eq!(scroll_top(7, 9, 0, 5, false), 5);
        assert_eq!(scroll_top(0, 5, 10, 100, true), 90);
        assert_eq!(scroll_top(0, 5, 10, 100, false), 0);
        assert_eq!(scroll_top(0, 12, 10, 100, false), 3);
        assert_eq!(scroll_top(50, 40, 10, 100, false), 40);
        assert_eq!(scroll_top(95, 96, 10, 100, false), 90);
        assert_eq!(scroll_top(0, 0, 10, 3, false), 0);
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
    fn wrap_line_breaks_at_spaces_and_indents_continuations() {
        let text = |ls: &[Line]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let l = Line::from(vec![Span::raw("09:00 ana "), Span::raw("disk full on db-1 again today")]);
        assert_eq!(
            text(&wrap_line(l, 20, 10)),
            ["09:00 ana disk full", "          on db-1", "          again", "          today"]
        );
        let l = Line::from("x ".to_string() + &"y".repeat(25));
        assert_eq!(text(&wrap_line(l, 10, 2)), ["x", "  yyyyyyyy", "  yyyyyyyy", "  yyyyyyyy", "  y"]);
        assert_eq!(text(&wrap_line(Line::from("short"), 10, 2)), ["short"]);
        // Styles survive the break.
        let l = Line::from(vec![Span::styled("aaaa ", Style::new().bold()), Span::raw("bbbb")]);
        let w = wrap_line(l, 6, 0);
        assert_eq!(w[0].spans[0].style, Style::new().bold());
        assert_eq!(text(&w), ["aaaa", "bbbb"]);
        // Every character is kept (nothing cut), whatever the width.
        for width in 1..30 {
            let src = "rm -rf /tmp/x; touch /tmp/pwned && echo done";
            let joined: String = wrap_line(Line::from(src), width, 0)
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(
                joined.split_whitespace().collect::<String>(),
                src.split_whitespace().collect::<String>(),
                "width {width}"
            );
        }
    }
}
