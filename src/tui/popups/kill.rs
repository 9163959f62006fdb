//! The kill guard popup: who the process is, which signal, why (required), evidence first, the
//! typed name when the guard asks for it; then the outcome, the countdown after TERM and the
//! offer to escalate to KILL. It decides nothing itself: `procs::guard` rules, and the App runs
//! `guarded_kill` off the UI thread and feeds the report back through `finished`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::Outcome;
use super::guarded::{Act, Answer, Answers, Dialog, about_lines, outcome_line};
use crate::incident::sanitize::one_line;
use crate::procs::killset::{KillSet, Scope, kill_set, outcome_event};
use crate::procs::view::{human_age, human_bytes};
use crate::procs::{
    DetailsError, GuardContext, KillReport, Liveness, ProcessDetails, ProcessIdentity, ProcessRow, Sig,
    SignalOutcome, Verdict, guard, liveness,
};
use crate::tui::keymap::{Binding, DOWN, ENTER, ESC, Key, SPACE, UP, close_rows, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{hint_line, label, step_field, types_char};

/// Which part of the form has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardField {
    Signal,
    /// The process alone, its tree or its process group.
    Scope,
    Reason,
    Name,
    Evidence,
}

impl GuardField {
    fn answer(self) -> Option<Answer> {
        match self {
            GuardField::Reason => Some(Answer::Reason),
            GuardField::Name => Some(Answer::Name),
            GuardField::Signal | GuardField::Scope | GuardField::Evidence => None,
        }
    }
}

impl From<Answer> for GuardField {
    fn from(a: Answer) -> GuardField {
        match a {
            Answer::Reason => GuardField::Reason,
            Answer::Name => GuardField::Name,
        }
    }
}

/// Where the popup is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Filling in the form (or reading a refusal).
    Form,
    /// `guarded_kill` is running off the UI thread.
    Running,
    /// TERM was delivered: watching for the exit until `deadline`.
    Watching { deadline: DateTime<Utc>, remaining: u64 },
    /// Still alive after the grace period: Enter sends KILL.
    Escalate,
    /// Finished; the message says how (ok: the process is gone or the signal was sent).
    Done { message: String, ok: bool },
}

/// A signal the responder confirmed: the App runs `guarded_kill` with these choices (it adds the
/// time and the evidence directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendSignal {
    pub signal: Sig,
    pub reason: String,
    pub typed_name: Option<String>,
    pub evidence: bool,
    /// A tree or group to signal member by member (None: the process alone).
    pub set: Option<KillSet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillCmd {
    Send,
    Close,
    Next,
    Prev,
    /// ↑/↓: the signal, from any field.
    SignalUp,
    SignalDown,
    /// ←/→ (k/j) on the signal row; elsewhere they edit the text.
    RowPrev,
    RowNext,
    /// Space (x) on the evidence row; elsewhere they are typed.
    Evidence,
}

/// Space's and x's description: one `?` help row for both.
const EVIDENCE: &str = "capture evidence first or not (on the evidence row)";
const SEND: Binding<KillCmd> = Binding::new(ENTER, KillCmd::Send, "send the signal").shown("send");
const NEXT: Binding<KillCmd> = Binding::next_field(KillCmd::Next);
const PREV: Binding<KillCmd> = Binding::prev_field(KillCmd::Prev);

/// Filling in the form.
pub static FORM_KEYS: &[Binding<KillCmd>] = &[
    SEND,
    NEXT,
    PREV,
    Binding::new(UP, KillCmd::SignalUp, "previous signal").shown("signal"),
    Binding::new(DOWN, KillCmd::SignalDown, "next signal").shown("signal"),
    Binding::new(SPACE, KillCmd::Evidence, EVIDENCE).shown("evidence"),
    Binding::new(&[Key::ch('x')], KillCmd::Evidence, EVIDENCE),
    Binding::new(&[Key::LEFT, Key::ch('k')], KillCmd::RowPrev, "previous signal / scope (on its row)"),
    Binding::new(&[Key::RIGHT, Key::ch('j')], KillCmd::RowNext, "next signal / scope (on its row)"),
    Binding::cancel(KillCmd::Close),
];
/// Reading a refusal: nothing can be sent.
pub static REFUSED_KEYS: &[Binding<KillCmd>] = &[
    Binding::close(KillCmd::Close),
    Binding::new(ENTER, KillCmd::Send, "send the signal"),
    NEXT_SILENT,
    PREV,
];
const NEXT_SILENT: Binding<KillCmd> = Binding { hint: None, ..NEXT };
/// While the kill runs off the UI thread: no key does anything.
pub static RUNNING_KEYS: &[Binding<KillCmd>] = &[];
/// Watching for the exit after TERM.
pub static WATCHING_KEYS: &[Binding<KillCmd>] = &[
    Binding::new(ESC, KillCmd::Close, "close (stop watching)").shown("close (stop watching)"),
    Binding::new(&[Key::ENTER, Key::ch('q')], KillCmd::Close, "close (stop watching)"),
];
/// Still alive after the grace period.
pub static ESCALATE_KEYS: &[Binding<KillCmd>] = &[
    Binding::new(&[Key::ENTER, Key::ch('y')], KillCmd::Send, "send SIGKILL").shown("send SIGKILL"),
    Binding::new(&[Key::ESC, Key::ch('n')], KillCmd::Close, "leave it running").shown("leave it running"),
    Binding::new(&[Key::ch('q')], KillCmd::Close, "leave it running"),
];
/// The outcome is shown.
pub static DONE_KEYS: &[Binding<KillCmd>] = &close_rows(KillCmd::Close);
/// Every table, for `?` help.
pub static TABLES: &[&[Binding<KillCmd>]] = &[FORM_KEYS, WATCHING_KEYS, ESCALATE_KEYS, DONE_KEYS];

/// The popup's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillGuard {
    pub target: ProcessIdentity,
    pub verdict: Verdict,
    pub ctx: Arc<GuardContext>,
    /// (label, value) lines describing the process, sanitized.
    pub about: Vec<(&'static str, String)>,
    /// Index into `Sig::ALL`.
    pub signal: usize,
    /// The reason (required) and the typed name (where the guard asks).
    pub answers: Answers,
    pub evidence: bool,
    pub field: GuardField,
    pub error: Option<String>,
    pub stage: Stage,
    pub grace: Duration,
    /// The signal of the request in flight (TERM starts the countdown).
    sent: Option<Sig>,
    /// A `process_outcome` for the App to record: set when the watch after TERM ends.
    pub outcome: Option<crate::incident::EventKind>,
    pub scope: Scope,
    /// The members of the tree or group, read from /proc when the scope was chosen (or why not).
    pub set: Option<Result<KillSet, String>>,
}

impl KillGuard {
    /// Builds the popup for `row` (from a snapshot taken at `uptime_secs`). `details` is what
    /// /proc said right now: shown, not required.
    pub fn new(
        row: &ProcessRow,
        uptime_secs: f64,
        details: Result<ProcessDetails, DetailsError>,
        ctx: Arc<GuardContext>,
        grace: Duration,
    ) -> KillGuard {
        let target = ProcessIdentity::from(row);
        let verdict = guard::check(&target.target(), &ctx);
        let clean = |s: &str| one_line(s).into_owned();
        let mut about = vec![
            ("process", format!("{} (pid {})", clean(&row.name), row.pid)),
            ("user", format!("{} (uid {})", clean(&row.user), row.uid)),
        ];
        match &details {
            Ok(d) => {
                let cmd = if d.argv.is_empty() { format!("[{}]", d.name) } else { d.argv.join(" ") };
                about.push(("cmdline", clean(&cmd)));
                let chain: Vec<String> =
                    d.parent_chain.iter().map(|l| format!("{}({})", clean(&l.name), l.pid)).collect();
                about.push(("parents", if chain.is_empty() { "-".into() } else { chain.join(" ← ") }));
                let cg = d.cgroup.as_ref();
                about.push(("unit", cg.and_then(|c| c.unit.clone()).map_or("-".into(), |u| clean(&u))));
                if let Some(c) = cg.and_then(|c| c.container.clone()) {
                    about.push(("container", clean(&c)));
                }
                let ports: Vec<String> = d
                    .listening
                    .iter()
                    .map(|s| format!("{} {}:{}", s.proto.as_str(), s.local, s.local_port))
                    .collect();
                about.push(("listening", if ports.is_empty() { "-".into() } else { ports.join(", ") }));
            }
            Err(e) => {
                about.push(("cmdline", clean(&row.cmdline)));
                about.push(("details", clean(&e.to_string())));
            }
        }
        about.push(("now", format!("CPU {:.1}%  RSS {}", row.cpu_percent, human_bytes(row.rss_bytes))));
        about.push(("age", human_age(row.age_secs(uptime_secs))));
        KillGuard {
            target,
            verdict,
            ctx,
            about,
            signal: 0,
            answers: Answers::default(),
            evidence: true,
            field: GuardField::Reason,
            error: None,
            stage: Stage::Form,
            grace,
            sent: None,
            outcome: None,
            scope: Scope::One,
            set: None,
        }
    }

    /// Cycles the scope (one → tree → group) and reads the members now.
    fn cycle_scope(&mut self, by: isize) {
        const ALL: [Scope; 3] = [Scope::One, Scope::Tree, Scope::Group];
        let i = ALL.iter().position(|s| *s == self.scope).unwrap_or(0) as isize;
        self.scope = ALL[(i + by).rem_euclid(3) as usize];
        self.set =
            (self.scope != Scope::One).then(|| kill_set(self.target.pid, self.target.start_time, self.scope));
        // The whole set goes through the guard: the first refusal refuses it.
        if let Some(Ok(set)) = &self.set
            && let Err(e) = set.check(&self.ctx)
        {
            self.set = Some(Err(format!("refused: {e}")));
        }
    }

    fn scope_words(&self) -> String {
        match (&self.scope, &self.set) {
            (Scope::One, _) => "this process only".into(),
            (s, Some(Ok(set))) => format!(
                "its {} ({} processes, listed above)",
                if *s == Scope::Tree { "whole tree" } else { "process group" },
                set.members.len()
            ),
            (s, _) => format!("its {}", if *s == Scope::Tree { "whole tree" } else { "process group" }),
        }
    }

    /// The member lines shown for a tree or group (at most `max`, then how many more).
    fn member_lines(&self, max: usize) -> Vec<String> {
        match &self.set {
            Some(Ok(set)) => {
                let all = set.preview();
                let mut v: Vec<String> = all.iter().take(max).cloned().collect();
                if all.len() > max {
                    v.push(format!("        … and {} more", all.len() - max));
                }
                v
            }
            Some(Err(e)) => vec![one_line(e).into_owned()],
            None => Vec::new(),
        }
    }

    fn needs_name(&self) -> bool {
        matches!(self.verdict, Verdict::RequireTypedName { .. })
    }

    fn fields(&self) -> Vec<GuardField> {
        let mut f = vec![GuardField::Signal];
        if !self.verdict.is_refused() {
            f.push(GuardField::Scope);
        }
        f.push(GuardField::Reason);
        if self.needs_name() {
            f.push(GuardField::Name);
        }
        f.push(GuardField::Evidence);
        f
    }

    fn step(&mut self, by: isize) {
        self.field = step_field(&self.fields(), self.field, by);
    }

    pub fn chosen(&self) -> Sig {
        Sig::ALL[self.signal.min(Sig::ALL.len() - 1)]
    }

    /// Checks the form; on success the popup waits for the report.
    fn submit(&mut self) -> Outcome<SendSignal> {
        let (reason, typed) =
            match self.answers.confirm(Act::Signal, &self.verdict, &self.target, self.needs_name()) {
                Ok(answers) => answers,
                Err((e, fix)) => {
                    self.error = Some(e);
                    self.field = fix.map_or(self.field, GuardField::from);
                    return Outcome::Consumed;
                }
            };
        let set = match &self.set {
            None => None,
            Some(Err(e)) => {
                self.error = Some(one_line(e).into_owned());
                self.field = GuardField::Scope;
                return Outcome::Consumed;
            }
            Some(Ok(set)) => {
                if let Ok(typed) = set.check(&self.ctx)
                    && let Some((pid, why)) = typed.iter().find(|(p, _)| *p != self.target.pid)
                {
                    self.error =
                        Some(format!("refused: pid {pid}: {} (signal it on its own)", one_line(why)));
                    return Outcome::Consumed;
                }
                Some(set.clone())
            }
        };
        let signal = self.chosen();
        self.sent = Some(signal);
        self.stage = Stage::Running;
        Outcome::Done(SendSignal { signal, reason, typed_name: typed, evidence: self.evidence, set })
    }

    /// The key table of the stage the popup is in.
    /// Past the form: Some(true) once the result shows, Some(false) while the signal is on its
    /// way or being watched; None while the form takes typing.
    pub fn settled(&self) -> Option<bool> {
        match self.stage {
            Stage::Form => None,
            Stage::Done { .. } => Some(true),
            _ => Some(false),
        }
    }

    pub fn keys(&self) -> &'static [Binding<KillCmd>] {
        match &self.stage {
            Stage::Form if self.verdict.is_refused() => REFUSED_KEYS,
            Stage::Form => FORM_KEYS,
            Stage::Running => RUNNING_KEYS,
            Stage::Watching { .. } => WATCHING_KEYS,
            Stage::Escalate => ESCALATE_KEYS,
            Stage::Done { .. } => DONE_KEYS,
        }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<SendSignal> {
        let cmd = lookup(self.keys(), &key);
        if self.stage != Stage::Form {
            return match cmd {
                Some(KillCmd::Close) => Outcome::Cancelled,
                Some(KillCmd::Send) if self.stage == Stage::Escalate => {
                    self.sent = Some(Sig::Kill);
                    self.stage = Stage::Running;
                    Outcome::Done(SendSignal {
                        signal: Sig::Kill,
                        reason: format!("{} (escalated to KILL)", self.answers.reason.value.trim()),
                        typed_name: self.needs_name().then(|| self.answers.typed.value.trim().to_string()),
                        // The evidence was captured before TERM.
                        evidence: false,
                        set: None,
                    })
                }
                _ => Outcome::Consumed,
            };
        }
        self.error = None;
        let last = Sig::ALL.len() - 1;
        match (cmd, self.field) {
            (Some(KillCmd::Close), _) => return Outcome::Cancelled,
            (Some(KillCmd::Send), _) => return self.submit(),
            (Some(KillCmd::Next), _) => self.step(1),
            (Some(KillCmd::Prev), _) => self.step(-1),
            // Nothing can be sent: typing is refused out loud, not swallowed.
            _ if self.verdict.is_refused() => {
                if types_char(&key) {
                    self.error = Some("refused: nothing can be sent to this process; Esc closes".into());
                }
            }
            (Some(KillCmd::SignalUp), _) => self.signal = self.signal.saturating_sub(1),
            (Some(KillCmd::SignalDown), _) => self.signal = (self.signal + 1).min(last),
            (Some(KillCmd::RowPrev), GuardField::Signal) => self.signal = self.signal.saturating_sub(1),
            (Some(KillCmd::RowNext), GuardField::Signal) => self.signal = (self.signal + 1).min(last),
            (Some(KillCmd::RowPrev), GuardField::Scope) => self.cycle_scope(-1),
            (Some(KillCmd::RowNext), GuardField::Scope) => self.cycle_scope(1),
            (Some(KillCmd::Evidence), GuardField::Evidence) => self.evidence = !self.evidence,
            // Every other key is typed into the text field that has the keys.
            (_, GuardField::Reason) => {
                self.answers.reason.handle(key);
            }
            (_, GuardField::Name) => {
                self.answers.typed.handle(key);
            }
            // Typing on a row that takes none goes to the reason, the field every guard asks
            // for first: a reason typed after a Tab too many is never swallowed. A row's own
            // keys matched above; the letters bound on other rows (x, j, k) are typing here.
            // A bare Space on a choice row is not the start of a reason.
            (_, GuardField::Signal | GuardField::Scope | GuardField::Evidence)
                if types_char(&key) && key.code != KeyCode::Char(' ') =>
            {
                self.field = GuardField::Reason;
                self.answers.reason.handle(key);
            }
            (_, GuardField::Signal | GuardField::Scope | GuardField::Evidence) => {}
        }
        Outcome::Consumed
    }

    /// A tree or group: the signal went out (`Ok`, still watching) or did not (`Err`), or the
    /// watch ended with this message.
    pub fn set_finished(&mut self, told: Result<String, String>) {
        self.sent = None;
        self.stage = match told {
            Ok(message) => Stage::Done { message, ok: true },
            Err(message) => Stage::Done { message, ok: false },
        };
    }

    /// A set's signal was sent and its watch is still running (the popup shows "watching").
    pub fn target_set_pending(&self) -> bool {
        self.scope != Scope::One
            && matches!(&self.stage, Stage::Done { message, .. } if message.ends_with("watching for the exits…"))
    }

    /// The report (or the error) of the request in flight arrived.
    pub fn finished(&mut self, result: &Result<KillReport, String>, now: DateTime<Utc>) {
        let who = format!("{} (pid {})", one_line(&self.target.name), self.target.pid);
        let sig = self.sent.take().unwrap_or(Sig::Term);
        self.stage = match result {
            // Nothing was attempted (refused, evidence failed): back to the form to fix it.
            Err(e) => {
                self.error = Some(one_line(e).into_owned());
                Stage::Form
            }
            Ok(r) => match &r.outcome {
                SignalOutcome::Sent { .. } if sig == Sig::Term => {
                    let deadline = now + chrono::Duration::from_std(self.grace).unwrap_or_default();
                    Stage::Watching { deadline, remaining: self.grace.as_secs() }
                }
                SignalOutcome::Sent { .. } => {
                    Stage::Done { message: format!("{} sent to {who}: {}", sig.name(), r.outcome), ok: true }
                }
                SignalOutcome::Gone => Stage::Done { message: format!("{who} had already exited"), ok: true },
                o => Stage::Done { message: format!("{who}: {o}"), ok: false },
            },
        };
    }

    /// Once a second: the countdown after TERM. Returns true when the popup changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> bool {
        let Stage::Watching { deadline, remaining } = self.stage else { return false };
        let who = format!("{} (pid {})", one_line(&self.target.name), self.target.pid);
        match liveness(self.target.pid, self.target.start_time) {
            Liveness::Running | Liveness::Unknown => {}
            Liveness::Zombie | Liveness::Gone | Liveness::Recycled { .. } => {
                let sent_at = deadline - chrono::Duration::from_std(self.grace).unwrap_or_default();
                let took = (now - sent_at).to_std().unwrap_or_default();
                self.outcome = Some(outcome_event(&self.target, Sig::Term, Some(took), self.grace));
                self.stage = Stage::Done { message: format!("{who} exited after SIGTERM"), ok: true };
                return true;
            }
        }
        let left = (deadline - now).num_seconds().max(0) as u64;
        if left == 0 {
            self.outcome = Some(outcome_event(&self.target, Sig::Term, None, self.grace));
            self.stage = Stage::Escalate;
            return true;
        }
        self.stage = Stage::Watching { deadline, remaining: left };
        left != remaining
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let members = if self.stage == Stage::Form { self.member_lines(6) } else { Vec::new() };
        let form_h: u16 = match self.stage {
            Stage::Form if self.verdict.is_refused() => 3,
            Stage::Form => 4 + u16::from(self.needs_name()) * 2,
            _ => 3,
        };
        let mut about = about_lines(&self.about, theme);
        let refused = matches!(self.set, Some(Err(_)));
        about.extend(
            members.into_iter().map(|m| Line::styled(m, if refused { theme.danger } else { theme.warn })),
        );
        let label = |f: GuardField, text: &'static str| label(text, self.field == f, theme);
        let mut body: Vec<Line> = Vec::new();
        match &self.stage {
            Stage::Form => match &self.verdict {
                Verdict::Refuse { reason } => {
                    body.push(Line::styled("Refused: warroom will not signal this process.", theme.danger));
                    body.push(Line::styled(one_line(reason).into_owned(), theme.danger));
                }
                v => {
                    if let Verdict::RequireTypedName { reason } = v {
                        body.push(Line::styled(one_line(reason).into_owned(), theme.warn));
                    }
                    let sig = self.chosen();
                    body.push(Line::from(vec![
                        label(GuardField::Signal, "signal    "),
                        Span::styled(format!("◀ {} ▶", sig.name()), theme.selection),
                        Span::styled(format!("  {}", sig.hint()), theme.muted),
                    ]));
                    body.push(Line::from(vec![
                        label(GuardField::Scope, "scope     "),
                        Span::styled(format!("◀ {} ▶", self.scope_words()), theme.text),
                    ]));
                    body.extend(self.answers.lines(self.needs_name(), self.field.answer(), theme));
                    body.push(Line::from(vec![
                        label(GuardField::Evidence, "evidence  "),
                        Span::styled(if self.evidence { "[x]" } else { "[ ]" }, theme.text),
                        Span::styled(" capture /proc state, stacks, runtime dumps first", theme.muted),
                    ]));
                }
            },
            Stage::Running => body.push(Line::styled(
                format!("Sending {}: capturing evidence and checking identity…", self.chosen().name()),
                theme.warn,
            )),
            Stage::Watching { remaining, .. } => {
                body.push(Line::styled(
                    format!("SIGTERM sent. Waiting for it to exit: {remaining}s left, then KILL is offered."),
                    theme.warn,
                ));
            }
            Stage::Escalate => {
                body.push(Line::styled(
                    format!(
                        "Still running {}s after SIGTERM. Send SIGKILL (cannot be caught)?",
                        self.grace.as_secs()
                    ),
                    theme.danger,
                ));
            }
            Stage::Done { message, ok } => body.push(outcome_line(message, *ok, theme)),
        }
        Dialog {
            title: format!("Signal {} (pid {})", one_line(&self.target.name), self.target.pid),
            about,
            form_h,
            form: body,
            error: self.error.as_deref(),
            hints: hint_line(&hints(self.keys()), theme),
        }
        .render(frame, area, theme);
    }
}
