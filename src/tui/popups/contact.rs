//! The `m` popup: how a person was contacted and what came of it, recorded as `contact_attempted`.
//! Two short lists side by side, built from the shared chooser.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{Chooser, Outcome};
use crate::incident::EventKind;
use crate::incident::sanitize::one_line;
use crate::team::Person;
use crate::tui::keymap::{Binding, ENTER, Key, TAB, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame};

/// Methods as stored (the same words as `warroom contact --method`).
pub const METHODS: [&str; 4] = ["phone", "sms", "chat", "email"];
/// Outcomes as stored (the same words as `warroom contact --outcome`) and as shown.
pub const OUTCOMES: [(&str, &str); 4] = [
    ("called", "called"),
    ("no-answer", "no answer"),
    ("voicemail", "left voicemail"),
    ("reached", "reached"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactCmd {
    Switch,
    Record,
    Cancel,
}

/// Tab's and the other keys' description: one `?` help row for both.
const SWITCH: &str = "switch between the method and outcome lists";

/// The form's own keys; the others move in the list that has the keys (see the lists' help).
pub static KEYS: &[Binding<ContactCmd>] = &[
    Binding::new(TAB, ContactCmd::Switch, SWITCH).shown("method/outcome"),
    Binding::new(
        &[Key::BACK_TAB, Key::LEFT, Key::RIGHT, Key::ch('h'), Key::ch('l')],
        ContactCmd::Switch,
        SWITCH,
    ),
    Binding::new(ENTER, ContactCmd::Record, "record the attempt").shown("record"),
    Binding::cancel(ContactCmd::Cancel),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactForm {
    pub person: String,
    pub name: String,
    pub method: Chooser,
    pub outcome: Chooser,
    /// The outcome list has the keys (else the method list).
    pub on_outcome: bool,
}

impl ContactForm {
    /// Starts on the person's most direct method: phone if they have one, else chat, else email.
    pub fn new(p: &Person) -> ContactForm {
        let first = if p.phone.is_some() {
            0
        } else if p.chat.is_some() {
            2
        } else if p.email.is_some() {
            3
        } else {
            0
        };
        ContactForm {
            person: p.id.clone(),
            name: one_line(&p.name).into_owned(),
            method: Chooser::new("Method", METHODS.iter().map(|m| m.to_string()).collect(), first),
            outcome: Chooser::new("Outcome", OUTCOMES.iter().map(|o| o.1.to_string()).collect(), 0),
            on_outcome: false,
        }
    }

    /// Tab/←/→ switch lists, j/k move, Enter records, Esc cancels.
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<EventKind> {
        match lookup(KEYS, &key) {
            Some(ContactCmd::Switch) => {
                self.on_outcome = !self.on_outcome;
                return Outcome::Consumed;
            }
            Some(ContactCmd::Cancel) => return Outcome::Cancelled,
            Some(ContactCmd::Record) => {
                return Outcome::Done(EventKind::ContactAttempted {
                    person: self.person.clone(),
                    method: METHODS[self.method.selected].to_string(),
                    outcome: OUTCOMES[self.outcome.selected].0.to_string(),
                });
            }
            _ => {}
        }
        let list = if self.on_outcome { &mut self.outcome } else { &mut self.method };
        match list.handle(key) {
            Outcome::Cancelled => Outcome::Cancelled,
            // A digit picks in the list with the keys; Enter records both.
            Outcome::Done(i) => {
                list.selected = i;
                Outcome::Consumed
            }
            Outcome::Consumed => Outcome::Consumed,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let rect = centered(area, 56, 10);
        let inner = popup_frame(frame, rect, &format!("Contact {}", self.name), theme);
        let [lists, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        let [left, right] = Layout::horizontal([Constraint::Length(14), Constraint::Min(1)]).areas(lists);
        for (col, list, active) in
            [(left, &self.method, !self.on_outcome), (right, &self.outcome, self.on_outcome)]
        {
            let mut lines =
                vec![Line::styled(list.title.clone(), if active { theme.key } else { theme.muted })];
            if active {
                lines.extend(list.lines(theme, |_| theme.text));
            } else {
                lines.extend(list.items.iter().enumerate().map(|(i, it)| {
                    let mark = if i == list.selected { "• " } else { "  " };
                    Line::styled(format!("{mark}{it}"), theme.muted)
                }));
            }
            frame.render_widget(Paragraph::new(lines), col);
        }
        frame.render_widget(Paragraph::new(hint_line(&hints(KEYS), theme)), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::key;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn picks_method_and_outcome() {
        let team = crate::team::load(include_str!("../../../team.example.toml"), "t.toml").unwrap();
        let mut f = ContactForm::new(team.person("ana").unwrap());
        assert_eq!(f.handle(key(KeyCode::Char('j'))), Outcome::Consumed);
        f.handle(key(KeyCode::Tab));
        f.handle(key(KeyCode::Char('j')));
        assert_eq!(
            f.handle(key(KeyCode::Enter)),
            Outcome::Done(EventKind::ContactAttempted {
                person: "ana".into(),
                method: "sms".into(),
                outcome: "no-answer".into()
            })
        );
        assert_eq!(f.handle(key(KeyCode::Esc)), Outcome::Cancelled);
    }
}
