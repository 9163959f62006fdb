//! What the kill guard (`x`) and the capture popup (`c`) share, written once: the reason and the
//! typed name the guard asks for before a signal or a restart (checked the same way for both),
//! and the dialog both are drawn in: the process described, the form, the error, the key hints.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::incident::sanitize::one_line;
use crate::procs::{ProcessIdentity, Verdict, guard};
use crate::tui::theme::Theme;
use crate::tui::widgets::{TextInput, centered, field_line, popup_frame};

/// What the answers are for: the words of the refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Signal,
    Restart,
}

/// A text field of the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Reason,
    Name,
}

/// The answers typed into the form: why (required) and the process name (where the guard asks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub reason: TextInput,
    pub typed: TextInput,
}

impl Answers {
    /// The trimmed reason and, when `needs_name`, the typed name, once the guard's `verdict` on
    /// `target` accepts them; else the error to show and the field to fix (None for a refusal).
    pub fn confirm(
        &self,
        act: Act,
        verdict: &Verdict,
        target: &ProcessIdentity,
        needs_name: bool,
    ) -> Result<(String, Option<String>), (String, Option<Answer>)> {
        let (refused, to) = match act {
            Act::Signal => ("refused", ""),
            Act::Restart => ("restart refused", " to restart"),
        };
        if let Verdict::Refuse { reason } = verdict {
            return Err((format!("{refused}: {}", one_line(reason)), None));
        }
        let reason = self.reason.value.trim().to_string();
        if reason.is_empty() {
            let e = format!("a reason is required{to}: say why (it goes on the timeline)");
            return Err((e, Some(Answer::Reason)));
        }
        let typed = needs_name.then(|| self.typed.value.trim().to_string());
        if !guard::confirmed(verdict, &target.target(), typed.as_deref()) {
            let e = format!("type the process name `{}` exactly to confirm", target.name);
            return Err((e, Some(Answer::Name)));
        }
        Ok((reason, typed))
    }

    /// The form rows of the text fields: the reason, and the name when `needs_name`; `active` is
    /// the one with the keys.
    pub fn lines(&self, needs_name: bool, active: Option<Answer>, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines = vec![field_line("reason    ", &self.reason, active == Some(Answer::Reason), theme)];
        if needs_name {
            lines.push(field_line("type name ", &self.typed, active == Some(Answer::Name), theme));
        }
        lines
    }
}

/// `(label, value)` lines describing the process, labels in a column.
pub fn about_lines<'a>(about: &'a [(&'static str, String)], theme: &Theme) -> Vec<Line<'a>> {
    about
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<10}"), theme.muted),
                Span::styled(v.as_str(), theme.text),
            ])
        })
        .collect()
}

/// How the work ended, in the form's place.
pub fn outcome_line(message: &str, ok: bool, theme: &Theme) -> Line<'static> {
    Line::styled(one_line(message).into_owned(), if ok { theme.ok } else { theme.danger })
}

/// The dialog both popups are drawn in.
pub struct Dialog<'a> {
    pub title: String,
    /// The process described (and what else it concerns), above the form.
    pub about: Vec<Line<'a>>,
    /// Rows reserved for the form (its lines wrap within them).
    pub form_h: u16,
    pub form: Vec<Line<'a>>,
    pub error: Option<&'a str>,
    pub hints: Line<'a>,
}

impl Dialog<'_> {
    pub fn render(self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let about_h = self.about.len() as u16;
        let rect = centered(area, 86, about_h + self.form_h + 5);
        let inner = popup_frame(frame, rect, &self.title, theme);
        let [about, _, form, err, help] = Layout::vertical([
            Constraint::Length(about_h),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(self.about), about);
        frame.render_widget(Paragraph::new(self.form).wrap(Wrap { trim: true }), form);
        if let Some(e) = self.error {
            frame.render_widget(Paragraph::new(Span::styled(one_line(e).into_owned(), theme.danger)), err);
        }
        frame.render_widget(Paragraph::new(self.hints), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sshd() -> ProcessIdentity {
        ProcessIdentity {
            pid: 812,
            start_time: 1000,
            name: "sshd".into(),
            user: "root".into(),
            uid: 0,
            cmdline: "/usr/sbin/sshd -D".into(),
            kernel_thread: false,
        }
    }

    fn answers(reason: &str, typed: &str) -> Answers {
        let field = |v: &str| TextInput { value: v.into(), cursor: v.chars().count() };
        Answers { reason: field(reason), typed: field(typed) }
    }

    #[test]
    fn a_refusal_says_what_was_refused_and_points_at_no_field() {
        let no = Verdict::Refuse { reason: "PID 1\nis init".into() };
        let a = answers("why", "");
        let (e, fix) = a.confirm(Act::Signal, &no, &sshd(), false).unwrap_err();
        assert_eq!((e.as_str(), fix), ("refused: PID 1 ⏎ is init", None));
        let (e, _) = a.confirm(Act::Restart, &no, &sshd(), false).unwrap_err();
        assert_eq!(e, "restart refused: PID 1 ⏎ is init");
    }

    #[test]
    fn the_reason_comes_first_then_the_typed_name() {
        let ask = Verdict::RequireTypedName { reason: "sshd is critical".into() };
        let (e, fix) = answers("  ", "sshd").confirm(Act::Restart, &ask, &sshd(), true).unwrap_err();
        assert!(e.starts_with("a reason is required to restart:"), "{e}");
        assert_eq!(fix, Some(Answer::Reason));
        let (e, fix) = answers("stuck", "ssh").confirm(Act::Signal, &ask, &sshd(), true).unwrap_err();
        assert_eq!(
            (e.as_str(), fix),
            ("type the process name `sshd` exactly to confirm", Some(Answer::Name))
        );
        let ok = answers(" stuck ", " sshd ").confirm(Act::Signal, &ask, &sshd(), true);
        assert_eq!(ok, Ok(("stuck".to_string(), Some("sshd".to_string()))));
        // Where the guard does not ask for the name, none is passed on.
        let ok = answers("stuck", "whatever").confirm(Act::Signal, &Verdict::Allow, &sshd(), false);
        assert_eq!(ok, Ok(("stuck".to_string(), None)));
    }
}
