//! The runbook command popups' payloads: the request a pane asks to run (confirmed first), and the
//! popup that shows the running command's output as it arrives; Esc cancels the run, then closes
//! once it has ended.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Outcome;
use crate::incident::sanitize::{one_line, strip_controls, visible};
use crate::runbook::Command;
use crate::tui::keymap::{Binding, ESC, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, fit, hint_line, popup_frame, wrap_line};

/// A command the responder asked to run; the App confirms it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub runbook: String,
    pub item: String,
    pub command: Command,
}

/// The popup that shows a running command's output as it arrives; Esc cancels the run, then
/// closes once it has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The command exactly as run (sanitized for display).
    pub command: String,
    /// Output lines, sanitized; the newest are shown.
    pub lines: Vec<String>,
    /// A partial line still being written.
    partial: String,
    /// How it ended, once it has.
    pub finished: Option<String>,
    pub cancelling: bool,
}

/// Output lines kept in the popup (the evidence file has everything).
const RUN_LINES: usize = 2000;

/// The run popup asks the App to cancel the command (its end still arrives, then Esc closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelRun;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCmd {
    Cancel,
    Close,
}

/// While the command runs.
pub static RUNNING_KEYS: &[Binding<RunCmd>] =
    &[Binding::new(ESC, RunCmd::Cancel, "cancel the command (kills its process group)")
        .shown("cancel (kills the command)")];
/// Once it has ended.
pub static FINISHED_KEYS: &[Binding<RunCmd>] =
    &[Binding::close(RunCmd::Close), Binding::new(&[Key::ENTER, Key::ch('q')], RunCmd::Close, "close")];
/// Every table, for `?` help.
pub static TABLES: &[&[Binding<RunCmd>]] = &[RUNNING_KEYS, FINISHED_KEYS];

impl RunOutput {
    pub fn new(command: &str) -> RunOutput {
        RunOutput {
            command: visible(command).trim_end().to_string(),
            lines: Vec::new(),
            partial: String::new(),
            finished: None,
            cancelling: false,
        }
    }

    /// Adds a chunk of raw output: split on newlines, stripped of control characters.
    pub fn push(&mut self, chunk: &str) {
        let text = format!("{}{chunk}", std::mem::take(&mut self.partial));
        let mut parts: Vec<&str> = text.split('\n').collect();
        let rest = parts.pop().unwrap_or("");
        for p in parts {
            self.lines.push(strip_controls(p.trim_end_matches('\r')).into_owned());
        }
        self.partial = rest.to_string();
        if self.lines.len() > RUN_LINES {
            self.lines.drain(..self.lines.len() - RUN_LINES);
        }
    }

    /// The run ended: `how` says how (exit status, timeout, where the evidence is).
    pub fn finish(&mut self, how: String) {
        if !self.partial.is_empty() {
            let p = std::mem::take(&mut self.partial);
            self.push(&format!("{p}\n"));
        }
        self.finished = Some(how);
    }

    /// The key table in force: cancel while running, close once finished.
    pub fn keys(&self) -> &'static [Binding<RunCmd>] {
        if self.finished.is_some() { FINISHED_KEYS } else { RUNNING_KEYS }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<CancelRun> {
        match lookup(self.keys(), &key) {
            Some(RunCmd::Cancel) => {
                self.cancelling = true;
                Outcome::Done(CancelRun)
            }
            Some(RunCmd::Close) => Outcome::Cancelled,
            None => Outcome::Consumed,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(110);
        let h = area.height.saturating_sub(4).clamp(8, 30);
        let rect = centered(area, w, h);
        let title = if self.finished.is_some() { "Command finished" } else { "Running" };
        let inner = popup_frame(frame, rect, title, theme);
        let cmd_lines = self.command.lines().count().clamp(1, 3) as u16;
        let (text, style) = match (&self.finished, self.cancelling) {
            (Some(how), _) => (one_line(how).into_owned(), theme.ok),
            (None, true) => ("cancelling…".to_string(), theme.warn),
            (None, false) => ("running…".to_string(), theme.muted),
        };
        // The outcome wraps (up to 3 rows) so the evidence file's path is read whole.
        let mut status_lines = wrap_line(Line::styled(text, style), usize::from(inner.width.max(1)), 2);
        status_lines.truncate(3);
        let [cmd, out, status, help] = Layout::vertical([
            Constraint::Length(cmd_lines),
            Constraint::Min(1),
            Constraint::Length(status_lines.len().max(1) as u16),
            Constraint::Length(1),
        ])
        .areas(inner);
        let cl: Vec<Line> = self
            .command
            .lines()
            .take(3)
            .map(|l| {
                fit(
                    Line::from(vec![Span::styled("$ ", theme.key), Span::raw(l.to_string())]),
                    cmd.width as usize,
                )
            })
            .collect();
        frame.render_widget(Paragraph::new(cl), cmd);
        let height = out.height as usize;
        let mut all: Vec<&str> = self.lines.iter().map(String::as_str).collect();
        if !self.partial.is_empty() {
            all.push(&self.partial);
        }
        let start = all.len().saturating_sub(height);
        let shown: Vec<Line> = all[start..]
            .iter()
            .map(|l| fit(Line::from(strip_controls(l).into_owned()), out.width as usize))
            .collect();
        frame.render_widget(Paragraph::new(shown), out);
        frame.render_widget(Paragraph::new(status_lines), status);
        frame.render_widget(Paragraph::new(hint_line(&hints(self.keys()), theme)), help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn run_output_splits_lines_strips_controls_and_cancels() {
        let mut o = RunOutput::new("echo hi\n");
        o.push("hel");
        o.push("lo\x1b[31m red\x1b[0m\r\nsecond\npart");
        assert_eq!(o.lines, ["hello red", "second"]);
        let esc = KeyEvent::from(KeyCode::Esc);
        assert_eq!(o.handle(esc), Outcome::Done(CancelRun));
        assert!(o.cancelling);
        o.finish("cancelled".into());
        assert_eq!(o.lines.last().map(String::as_str), Some("part"));
        assert_eq!(o.handle(esc), Outcome::Cancelled);
        for i in 0..3000 {
            o.push(&format!("{i}\n"));
        }
        assert_eq!(o.lines.len(), RUN_LINES);
        assert_eq!(o.lines.last().map(String::as_str), Some("2999"));
    }
}
