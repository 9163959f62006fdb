//! The capture popup (`c` in the process pane): capture a process's evidence without a signal,
//! or capture it and then restart the systemd service or docker/podman container it belongs to.
//! Capturing needs no reason; restarting goes through the kill guard's rules (reason required,
//! the name typed where the guard asks, refusals). The App runs the work off the UI thread
//! (`Command::Capture` / `Command::Restart`) and feeds the result back through `finished`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Outcome;
use super::guarded::{Act, Answer, Answers, Dialog, about_lines, outcome_line};
use crate::incident::sanitize::one_line;
use crate::procs::restart::RestartTarget;
use crate::procs::{GuardContext, ProcessIdentity, Profile, Verdict, guard};
use crate::tui::keymap::{Binding, ENTER, LEFT, RIGHT, close_rows, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{hint_line, label, step_field, types_char};

/// The profiles offered, in order (standard is the default, as for `warroom capture`).
pub const PROFILES: [Profile; 3] = [Profile::Quick, Profile::Standard, Profile::Full];

fn profile_words(p: Profile) -> &'static str {
    match p {
        Profile::Quick => "/proc only, never pauses it",
        Profile::Standard => "+ stacks, runtime dumps (pause it while they run)",
        Profile::Full => "+ core dump (refused if larger than free disk)",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Profile,
    Action,
    Reason,
    Name,
}

impl Field {
    fn answer(self) -> Option<Answer> {
        match self {
            Field::Reason => Some(Answer::Reason),
            Field::Name => Some(Answer::Name),
            Field::Profile | Field::Action => None,
        }
    }
}

impl From<Answer> for Field {
    fn from(a: Answer) -> Field {
        match a {
            Answer::Reason => Field::Reason,
            Answer::Name => Field::Name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Form,
    /// The work runs off the UI thread since `since`.
    Running {
        since: DateTime<Utc>,
        elapsed: u64,
    },
    Done {
        message: String,
        ok: bool,
    },
}

/// What the responder confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureAsk {
    pub profile: Profile,
    /// Restart this unit/container after the capture, with the reason and typed name.
    pub restart: Option<(RestartTarget, String, Option<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureCmd {
    Go,
    Close,
    Next,
    Prev,
    RowPrev,
    RowNext,
}

/// Filling in the form.
pub static FORM_KEYS: &[Binding<CaptureCmd>] = &[
    Binding::new(ENTER, CaptureCmd::Go, "capture (and restart, when chosen)").shown("go"),
    Binding::next_field(CaptureCmd::Next),
    Binding::prev_field(CaptureCmd::Prev),
    Binding::new(LEFT, CaptureCmd::RowPrev, "previous choice (profile or action row)").shown("choose"),
    Binding::new(RIGHT, CaptureCmd::RowNext, "next choice (profile or action row)").shown("choose"),
    Binding::cancel(CaptureCmd::Close),
];
/// While the capture runs: nothing to do but wait.
pub static RUNNING_KEYS: &[Binding<CaptureCmd>] = &[];
/// The result is shown.
pub static DONE_KEYS: &[Binding<CaptureCmd>] = &close_rows(CaptureCmd::Close);
/// Every table, for `?` help.
pub static TABLES: &[&[Binding<CaptureCmd>]] = &[FORM_KEYS, DONE_KEYS];

/// The popup's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureForm {
    pub target: ProcessIdentity,
    pub about: Vec<(&'static str, String)>,
    /// Index into `PROFILES`.
    pub profile: usize,
    /// The unit or container a restart would hit, or why none is offered.
    pub restart: Result<RestartTarget, String>,
    /// The restart was chosen (only possible when offered).
    pub restarting: bool,
    /// The guard's verdict on the process, for the restart.
    pub verdict: Verdict,
    pub ctx: Arc<GuardContext>,
    /// The reason and typed name a restart needs.
    pub answers: Answers,
    pub field: Field,
    pub error: Option<String>,
    pub stage: Stage,
}

impl CaptureForm {
    pub fn new(
        target: ProcessIdentity,
        about: Vec<(&'static str, String)>,
        restart: Result<RestartTarget, String>,
        ctx: Arc<GuardContext>,
    ) -> CaptureForm {
        let verdict = guard::check(&target.target(), &ctx);
        CaptureForm {
            target,
            about,
            profile: 1,
            restart,
            restarting: false,
            verdict,
            ctx,
            answers: Answers::default(),
            field: Field::Profile,
            error: None,
            stage: Stage::Form,
        }
    }

    fn needs_name(&self) -> bool {
        self.restarting && matches!(self.verdict, Verdict::RequireTypedName { .. })
    }

    fn fields(&self) -> Vec<Field> {
        let mut f = vec![Field::Profile];
        if self.restart.is_ok() {
            f.push(Field::Action);
        }
        if self.restarting {
            f.push(Field::Reason);
        }
        if self.needs_name() {
            f.push(Field::Name);
        }
        f
    }

    fn step(&mut self, by: isize) {
        self.field = step_field(&self.fields(), self.field, by);
    }

    pub fn profile(&self) -> Profile {
        PROFILES[self.profile.min(PROFILES.len() - 1)]
    }

    pub fn keys(&self) -> &'static [Binding<CaptureCmd>] {
        match self.stage {
            Stage::Form => FORM_KEYS,
            Stage::Running { .. } => RUNNING_KEYS,
            Stage::Done { .. } => DONE_KEYS,
        }
    }

    /// None while the form takes typing; Some(false) while running; Some(true) once done.
    pub fn settled(&self) -> Option<bool> {
        match self.stage {
            Stage::Form => None,
            Stage::Running { .. } => Some(false),
            Stage::Done { .. } => Some(true),
        }
    }

    fn submit(&mut self, now: DateTime<Utc>) -> Outcome<CaptureAsk> {
        let restart = if self.restarting {
            let Ok(via) = self.restart.clone() else { return Outcome::Consumed };
            match self.answers.confirm(Act::Restart, &self.verdict, &self.target, self.needs_name()) {
                Ok((reason, typed)) => Some((via, reason, typed)),
                Err((e, fix)) => {
                    self.error = Some(e);
                    self.field = fix.map_or(self.field, Field::from);
                    return Outcome::Consumed;
                }
            }
        } else {
            None
        };
        self.stage = Stage::Running { since: now, elapsed: 0 };
        Outcome::Done(CaptureAsk { profile: self.profile(), restart })
    }

    pub fn handle(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Outcome<CaptureAsk> {
        let cmd = lookup(self.keys(), &key);
        if self.stage != Stage::Form {
            return match cmd {
                Some(CaptureCmd::Close) => Outcome::Cancelled,
                _ => Outcome::Consumed,
            };
        }
        self.error = None;
        let last = PROFILES.len() - 1;
        match (cmd, self.field) {
            (Some(CaptureCmd::Close), _) => return Outcome::Cancelled,
            (Some(CaptureCmd::Go), _) => return self.submit(now),
            (Some(CaptureCmd::Next), _) => self.step(1),
            (Some(CaptureCmd::Prev), _) => self.step(-1),
            (Some(CaptureCmd::RowPrev), Field::Profile) => self.profile = self.profile.saturating_sub(1),
            (Some(CaptureCmd::RowNext), Field::Profile) => self.profile = (self.profile + 1).min(last),
            (Some(CaptureCmd::RowPrev | CaptureCmd::RowNext), Field::Action) => {
                self.restarting = !self.restarting && self.restart.is_ok();
            }
            (_, Field::Reason) => {
                self.answers.reason.handle(key);
            }
            (_, Field::Name) => {
                self.answers.typed.handle(key);
            }
            // Typing on a choice row goes to the form's first text field (the reason a restart
            // asks for, or the typed name); without one, the form says so rather than swallowing it.
            (None, Field::Profile | Field::Action) if types_char(&key) => {
                match self.fields().into_iter().find(|f| f.answer().is_some()) {
                    Some(f) => {
                        self.field = f;
                        let input = if f == Field::Reason {
                            &mut self.answers.reason
                        } else {
                            &mut self.answers.typed
                        };
                        input.handle(key);
                    }
                    None => self.error = Some("nothing to type here: ←/→ choose, Enter captures".into()),
                }
            }
            _ => {}
        }
        Outcome::Consumed
    }

    /// Once a second while running: the elapsed time moves. True when it changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        let Stage::Running { since, elapsed } = self.stage else { return false };
        let e = (now - since).num_seconds().max(0) as u64;
        self.stage = Stage::Running { since, elapsed: e };
        e != elapsed
    }

    /// The work finished: `Ok(message)` when it went as asked, `Err` otherwise (what happened).
    pub fn finished(&mut self, result: Result<String, String>) {
        self.stage = match result {
            Ok(message) => Stage::Done { message, ok: true },
            Err(message) => Stage::Done { message, ok: false },
        };
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let form_h: u16 = match self.stage {
            Stage::Form => 3 + u16::from(self.restarting) + u16::from(self.needs_name()) * 2,
            _ => 3,
        };
        let label = |f: Field, text: &'static str| label(text, self.field == f, theme);
        let mut body: Vec<Line> = Vec::new();
        match &self.stage {
            Stage::Form => {
                let p = self.profile();
                body.push(Line::from(vec![
                    label(Field::Profile, "profile   "),
                    Span::styled(format!("◀ {} ▶ ", p.name()), theme.text),
                    Span::styled(profile_words(p), theme.muted),
                ]));
                match &self.restart {
                    Ok(via) => body.push(Line::from(vec![
                        label(Field::Action, "then      "),
                        Span::styled(
                            if self.restarting {
                                format!("◀ restart {} ▶", via.describe())
                            } else {
                                "◀ nothing (no signal, no restart) ▶".to_string()
                            },
                            if self.restarting { theme.warn } else { theme.text },
                        ),
                    ])),
                    Err(why) => body.push(Line::from(vec![
                        Span::styled("then      ", theme.muted),
                        Span::styled(
                            format!("nothing (restart not offered: {})", one_line(why)),
                            theme.muted,
                        ),
                    ])),
                }
                if self.restarting {
                    if let Verdict::RequireTypedName { reason } | Verdict::Refuse { reason } = &self.verdict {
                        body.push(Line::styled(one_line(reason).into_owned(), theme.warn));
                    }
                    body.extend(self.answers.lines(self.needs_name(), self.field.answer(), theme));
                }
            }
            Stage::Running { elapsed, .. } => {
                let pause = match self.profile() {
                    Profile::Quick => "the process is not paused",
                    _ => "the process is paused while a dump tool runs",
                };
                let what = if self.restarting {
                    let via = self.restart.as_ref().map(RestartTarget::describe).unwrap_or_default();
                    format!("Capturing evidence ({}), then restarting {via}", self.profile().name())
                } else {
                    format!("Capturing evidence ({} profile)", self.profile().name())
                };
                body.push(Line::styled(format!("{what}… {elapsed} s ({pause})"), theme.warn));
            }
            Stage::Done { message, ok } => body.push(outcome_line(message, *ok, theme)),
        }
        Dialog {
            title: format!("Capture evidence of {} (pid {})", one_line(&self.target.name), self.target.pid),
            about: about_lines(&self.about, theme),
            form_h,
            form: body,
            error: self.error.as_deref(),
            hints: hint_line(&hints(self.keys()), theme),
        }
        .render(frame, area, theme);
    }
}
