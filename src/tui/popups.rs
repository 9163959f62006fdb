//! Modal popups. The top one gets keys first; each is built from the shared widgets.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::widgets::{Chooser, Confirm, Outcome, TextInput, TextView, centered, hint_line, popup_frame};
use crate::incident::sanitize::one_line;
use crate::incident::{IncidentId, IncidentState, Severity, Status};

/// What a chooser picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Severity,
    Status,
}

/// What a confirm box asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Ack,
    QuitWithDraft,
    /// Run this runbook command.
    RunCommand(Box<super::panes::runbook::RunRequest>),
    /// Send this page.
    Page(Box<crate::notify::Page>),
}

/// Every popup the App can stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Start(StartForm),
    Choose(Choice, Chooser),
    Confirm(Question, Confirm),
    View(TextView),
    Kill(Box<super::killguard::KillGuard>),
    /// A runbook command's live output.
    Run(super::panes::runbook::RunOutput),
    /// Pick one item; the event at its index is appended.
    Record(Chooser, Vec<crate::incident::EventKind>),
    /// How a person was contacted and what came of it.
    Contact(crate::tui::panes::contacts::form::ContactForm),
}

impl Popup {
    pub fn severity(current: Severity) -> Popup {
        let items = Severity::ALL.iter().map(|s| format!("{s}  {}", sev_words(*s))).collect();
        Popup::Choose(Choice::Severity, Chooser::new("Severity", items, usize::from(current.get() - 1)))
    }

    pub fn status(current: Status) -> Popup {
        let items = Status::ALL.iter().map(|s| s.to_string()).collect();
        let at = Status::ALL.iter().position(|s| *s == current).unwrap_or(0);
        Popup::Choose(Choice::Status, Chooser::new("Status", items, at))
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        match self {
            Popup::Start(f) => f.render(frame, area, theme),
            Popup::Choose(Choice::Severity, c) => {
                c.render(frame, area, theme, |i| theme.sev(Severity::ALL[i]))
            }
            Popup::Choose(Choice::Status, c) => c.render(frame, area, theme, |_| theme.text),
            Popup::Confirm(_, c) => c.render(frame, area, theme),
            Popup::View(v) => v.render(frame, area, theme),
            Popup::Kill(g) => g.render(frame, area, theme),
            Popup::Run(r) => r.render(frame, area, theme),
            Popup::Record(c, _) => c.render(frame, area, theme, |_| theme.text),
            Popup::Contact(f) => f.render(frame, area, theme),
        }
    }
}

fn sev_words(s: Severity) -> &'static str {
    match s.get() {
        1 => "critical: customers down",
        2 => "major: degraded for many",
        3 => "minor: some impact",
        _ => "low: no customer impact",
    }
}

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
        let f = self.fields();
        let i = f.iter().position(|x| *x == self.field).unwrap_or(0) as isize;
        self.field = f[(i + by).rem_euclid(f.len() as isize) as usize];
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

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<StartChoice> {
        self.error = None;
        match key.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Tab | KeyCode::Down if self.field != StartField::Recent || key.code == KeyCode::Tab => {
                self.step(1)
            }
            KeyCode::BackTab => self.step(-1),
            KeyCode::Up if self.field != StartField::Recent => self.step(-1),
            _ => match self.field {
                StartField::Title => {
                    if key.code == KeyCode::Enter {
                        return self.submit();
                    }
                    self.title.handle(key);
                }
                StartField::Severity => {
                    let i = usize::from(self.severity.get() - 1);
                    match key.code {
                        KeyCode::Left | KeyCode::Char('h') => {
                            self.severity = Severity::ALL[i.saturating_sub(1)]
                        }
                        KeyCode::Right | KeyCode::Char('l') => self.severity = Severity::ALL[(i + 1).min(3)],
                        KeyCode::Char(c @ '1'..='4') => {
                            self.severity = Severity::ALL[c as usize - '1' as usize];
                        }
                        KeyCode::Enter => return self.submit(),
                        _ => {}
                    }
                }
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
        let label = |f: StartField, text: &'static str| {
            Span::styled(text, if self.field == f { theme.key } else { theme.muted })
        };
        let mut t = vec![label(StartField::Title, "Title     ")];
        t.extend(self.title.spans(theme, self.field == StartField::Title));
        frame.render_widget(Paragraph::new(Line::from(t)), title);
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
        let hints =
            [("Enter".to_string(), "open"), ("Tab".to_string(), "next field"), ("Esc".to_string(), "quit")];
        frame.render_widget(Paragraph::new(hint_line(&hints, theme)), help);
    }
}
