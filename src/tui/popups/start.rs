//! Shown when no incident is open: open a new one (title, severity), or look at a recent one.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Chooser, Outcome};
use crate::incident::sanitize::one_line;
use crate::incident::{IncidentId, IncidentState, Severity};
use crate::tui::keymap::{Binding, DOWN, ENTER, ESC, Key, UP, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    TextInput, centered, field_line, hint_line, label, popup_frame, step_field, types_char,
};

/// Which field of the start form has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartField {
    Title,
    Severity,
    Recent,
}

/// What the start form decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartChoice {
    New { title: String, severity: Severity },
    Pick(IncidentId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartCmd {
    Open,
    Next,
    Prev,
    Quit,
    SevDown,
    SevUp,
    SevPick,
}

const OPEN: Binding<StartCmd> =
    Binding::new(ENTER, StartCmd::Open, "open the incident (new, or the recent one selected)").shown("open");
const NEXT: Binding<StartCmd> = Binding::next_field(StartCmd::Next);
const NEXT_DOWN: Binding<StartCmd> = Binding::new(DOWN, StartCmd::Next, "next field");
const PREV: Binding<StartCmd> = Binding::prev_field(StartCmd::Prev);
const PREV_UP: Binding<StartCmd> = Binding::new(UP, StartCmd::Prev, "previous field");
const QUIT: Binding<StartCmd> = Binding::new(ESC, StartCmd::Quit, "quit warroom").shown("quit");

/// Typing the title: every other key edits it.
pub static TITLE_KEYS: &[Binding<StartCmd>] = &[OPEN, NEXT, NEXT_DOWN, PREV, PREV_UP, QUIT];
/// On the severity row.
pub static SEVERITY_KEYS: &[Binding<StartCmd>] = &[
    OPEN,
    NEXT,
    NEXT_DOWN,
    PREV,
    PREV_UP,
    QUIT,
    Binding::new(&[Key::LEFT, Key::ch('h')], StartCmd::SevDown, "more severe"),
    Binding::new(&[Key::RIGHT, Key::ch('l')], StartCmd::SevUp, "less severe"),
    Binding::new(&Key::chars::<4>('1'), StartCmd::SevPick, "severity 1 to 4"),
];
/// In the recent incidents list: the list's own keys move (see the lists' help).
pub static RECENT_KEYS: &[Binding<StartCmd>] = &[OPEN, NEXT, PREV, QUIT];
/// Every table, for `?` help.
pub static TABLES: &[&[Binding<StartCmd>]] = &[TITLE_KEYS, SEVERITY_KEYS, RECENT_KEYS];

/// Shown when no incident is open: open a new one, or look at a recent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartForm {
    pub title: TextInput,
    pub severity: Severity,
    pub field: StartField,
    pub recent: Chooser,
    pub recent_ids: Vec<IncidentId>,
    pub error: Option<String>,
}

impl StartForm {
    /// `incidents` most recent first; at most 8 are offered.
    pub fn new(incidents: &[IncidentState]) -> StartForm {
        let shown = &incidents[..incidents.len().min(8)];
        let items = shown
            .iter()
            .map(|i| {
                format!(
                    "{} {:<13} {}  {}",
                    i.severity,
                    i.status.to_string(),
                    i.opened_at.format("%Y-%m-%d"),
                    one_line(&i.title)
                )
            })
            .collect();
        StartForm {
            title: TextInput::default(),
            severity: Severity::ALL[1],
            field: StartField::Title,
            recent: Chooser::new("Recent", items, 0),
            recent_ids: shown.iter().map(|i| i.id).collect(),
            error: None,
        }
    }

    fn fields(&self) -> Vec<StartField> {
        let mut f = vec![StartField::Title, StartField::Severity];
        if !self.recent_ids.is_empty() {
            f.push(StartField::Recent);
        }
        f
    }

    fn step(&mut self, by: isize) {
        self.field = step_field(&self.fields(), self.field, by);
    }

    fn submit(&mut self) -> Outcome<StartChoice> {
        let title = self.title.value.trim().to_string();
        if title.is_empty() {
            self.error = Some("type a title first: what is wrong, in a few words".into());
            self.field = StartField::Title;
            return Outcome::Consumed;
        }
        Outcome::Done(StartChoice::New { title, severity: self.severity })
    }

    /// The key table of the field that has the keys.
    pub fn keys(&self) -> &'static [Binding<StartCmd>] {
        match self.field {
            StartField::Title => TITLE_KEYS,
            StartField::Severity => SEVERITY_KEYS,
            StartField::Recent => RECENT_KEYS,
        }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<StartChoice> {
        self.error = None;
        let i = usize::from(self.severity.get() - 1);
        match lookup(self.keys(), &key) {
            Some(StartCmd::Quit) => return Outcome::Cancelled,
            Some(StartCmd::Next) => self.step(1),
            Some(StartCmd::Prev) => self.step(-1),
            Some(StartCmd::Open) if self.field == StartField::Recent => {
                return Outcome::Done(StartChoice::Pick(self.recent_ids[self.recent.selected]));
            }
            Some(StartCmd::Open) => return self.submit(),
            Some(StartCmd::SevDown) => self.severity = Severity::ALL[i.saturating_sub(1)],
            Some(StartCmd::SevUp) => self.severity = Severity::ALL[(i + 1).min(3)],
            Some(StartCmd::SevPick) => {
                if let KeyCode::Char(c @ '1'..='4') = key.code {
                    self.severity = Severity::ALL[c as usize - '1' as usize];
                }
            }
            None => match self.field {
                StartField::Title => {
                    self.title.handle(key);
                }
                // Typing on the severity row goes to the title: never swallowed.
                StartField::Severity if types_char(&key) => {
                    self.field = StartField::Title;
                    self.title.handle(key);
                }
                StartField::Severity => {}
                StartField::Recent => match self.recent.handle(key) {
                    Outcome::Done(i) => return Outcome::Done(StartChoice::Pick(self.recent_ids[i])),
                    Outcome::Cancelled => return Outcome::Cancelled,
                    Outcome::Consumed => {}
                },
            },
        }
        Outcome::Consumed
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let recent_h = if self.recent_ids.is_empty() { 0 } else { self.recent_ids.len() as u16 + 1 };
        let rect = centered(area, 72, 8 + recent_h);
        let inner = popup_frame(frame, rect, "No open incident: open one", theme);
        let [title, sev, err, recent, help] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Length(recent_h),
            Constraint::Min(1),
        ])
        .areas(inner);
        let label = |f: StartField, text: &'static str| label(text, self.field == f, theme);
        let t = field_line("Title     ", &self.title, self.field == StartField::Title, theme);
        frame.render_widget(Paragraph::new(t), title);
        let mut s = vec![label(StartField::Severity, "Severity  ")];
        for sv in Severity::ALL {
            let style = if sv == self.severity { theme.sev(sv) } else { theme.muted };
            s.push(Span::styled(format!(" {sv} "), style));
            s.push(Span::raw(" "));
        }
        if self.field == StartField::Severity {
            s.push(Span::styled(" ←/→ or 1-4", theme.muted));
        }
        frame.render_widget(Paragraph::new(Line::from(s)), sev);
        if let Some(e) = &self.error {
            frame.render_widget(Paragraph::new(Span::styled(e.as_str(), theme.danger)), err);
        }
        if recent_h > 0 {
            let mut lines = vec![Line::from(label(StartField::Recent, "Or look at a recent incident:"))];
            if self.field == StartField::Recent {
                lines.extend(self.recent.lines(theme, |_| theme.text));
            } else {
                lines.extend(self.recent.items.iter().map(|i| Line::styled(format!("  {i}"), theme.muted)));
            }
            frame.render_widget(Paragraph::new(lines), recent);
        }
        frame.render_widget(Paragraph::new(hint_line(&hints(self.keys()), theme)), help);
    }
}
