//! The note composer: a multi-line editor that never loses a draft. Esc hides it and keeps the
//! text; the App closes it only after the note is durably in the store.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui_textarea::{TextArea, WrapMode};
use uuid::Uuid;

use super::Outcome;
use crate::incident::{Audience, EventKind, MAX_NOTE, Status, Tag};
use crate::tui::keymap::{Binding, ENTER, ESC, Key, TAB, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{hint_line, popup_frame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposerCmd {
    Save,
    Newline,
    CycleTag,
    Close,
    /// Status updates: set the incident's status with the update (none, investigating,
    /// identified, monitoring).
    CycleStatus,
    /// Status updates: insert the configured template for the audience.
    Template,
}

/// Alt+Enter (shown `M-Enter`).
const ALT_ENTER: Key = Key { code: KeyCode::Enter, mods: KeyModifiers::ALT };

/// The composer's own keys; every other key edits the text.
pub static KEYS: &[Binding<ComposerCmd>] = &[
    Binding::new(ENTER, ComposerCmd::Save, "save the note").shown("save"),
    Binding::new(&[ALT_ENTER, Key::ctrl('j')], ComposerCmd::Newline, "new line").shown("newline"),
    Binding::new(TAB, ComposerCmd::CycleTag, "cycle the tag").shown("tag"),
    Binding::new(ESC, ComposerCmd::Close, "close, keeping the draft").shown("close (draft kept)"),
];

/// The same keys when writing a status update: Tab picks the audience instead of a tag.
pub static STATUS_KEYS: &[Binding<ComposerCmd>] = &[
    KEYS[0],
    KEYS[1],
    Binding::new(TAB, ComposerCmd::CycleTag, "switch the audience: internal / stakeholders")
        .shown("audience"),
    Binding::new(
        &[Key::f(2)],
        ComposerCmd::CycleStatus,
        "set the status with the update (unchanged, investigating, identified, monitoring)",
    )
    .shown("status"),
    Binding::new(
        &[Key::ctrl('t')],
        ComposerCmd::Template,
        "insert the audience's template ([status_updates] responder/stakeholder_template)",
    )
    .shown("template"),
    KEYS[3],
];

pub struct Composer {
    pub textarea: TextArea<'static>,
    pub tag: Tag,
    /// Set when amending one of your notes.
    pub amend: Option<Uuid>,
    pub open: bool,
    /// The last save error, shown until the next try.
    pub error: Option<String>,
    /// Set when writing a status update (to this audience) instead of a note.
    pub audience: Option<Audience>,
    /// The status to set with the update (None: unchanged).
    pub status: Option<Status>,
    /// (responder, stakeholder) templates from the config; kept across resets.
    pub templates: (Option<String>, Option<String>),
    /// What the templates' `{title}`, `{severity}`, `{status}` become (set when opened).
    pub vars: Vec<(&'static str, String)>,
}

impl Default for Composer {
    fn default() -> Self {
        Composer {
            textarea: new_textarea(Vec::new()),
            tag: Tag::Note,
            amend: None,
            open: false,
            error: None,
            audience: None,
            status: None,
            templates: (None, None),
            vars: Vec::new(),
        }
    }
}

fn new_textarea(lines: Vec<String>) -> TextArea<'static> {
    let mut ta = TextArea::new(lines);
    ta.set_cursor_line_style(Style::default());
    ta.set_wrap_mode(WrapMode::WordOrGlyph);
    ta.set_placeholder_text("What did you see, do or decide?");
    ta
}

/// An editor holding `text` with the cursor at its end, where typing continues it (a restored
/// draft, a note being amended).
fn textarea_to_continue(text: &str) -> TextArea<'static> {
    let mut ta = new_textarea(text.lines().map(str::to_string).collect());
    ta.move_cursor(ratatui_textarea::CursorMove::Bottom);
    ta.move_cursor(ratatui_textarea::CursorMove::End);
    ta
}

impl Composer {
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    /// Whether there is unsaved text.
    pub fn has_draft(&self) -> bool {
        !self.text().trim().is_empty()
    }

    /// Opens for a new note, keeping any draft. Refuses (returns false) while a status update
    /// is drafted, so one draft never silently becomes the other.
    pub fn open_new(&mut self) -> bool {
        if (self.amend.is_some() || self.audience.is_some()) && !self.has_draft() {
            self.reset();
        }
        if self.audience.is_some() {
            return false;
        }
        self.open = true;
        true
    }

    /// Opens for a status update, keeping a status draft. Refuses (returns false) while a note
    /// is drafted.
    pub fn open_status(&mut self) -> bool {
        if self.audience.is_none() {
            if self.has_draft() {
                return false;
            }
            self.reset();
            self.audience = Some(Audience::Internal);
            self.textarea
                .set_placeholder_text("What is the impact, what are we doing, when is the next update?");
        }
        self.error = None;
        self.open = true;
        true
    }

    /// The key table in force (notes or status updates).
    pub fn keys(&self) -> &'static [Binding<ComposerCmd>] {
        if self.audience.is_some() { STATUS_KEYS } else { KEYS }
    }

    /// Opens to amend a note. Refuses (returns false) if another draft would be overwritten.
    pub fn open_amend(&mut self, target: Uuid, text: &str) -> bool {
        if self.has_draft() && self.amend != Some(target) {
            return false;
        }
        if self.amend != Some(target) {
            self.textarea = textarea_to_continue(text);
            self.amend = Some(target);
        }
        self.error = None;
        self.open = true;
        true
    }

    /// Forgets the draft and closes (after a successful save).
    pub fn reset(&mut self) {
        let templates = std::mem::take(&mut self.templates);
        *self = Composer { templates, ..Composer::default() };
    }

    /// The template for the current audience with its placeholders filled, if one is configured.
    pub fn template(&self) -> Option<String> {
        let t = match self.audience? {
            Audience::Internal => self.templates.0.as_ref(),
            Audience::Stakeholders => self.templates.1.as_ref(),
        }?;
        Some(self.vars.iter().fold(t.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v)))
    }

    /// Replaces the draft text (restoring a draft kept across a crash or hang-up).
    pub fn set_draft(&mut self, text: &str) {
        self.textarea = textarea_to_continue(text);
    }

    /// `Done(event)`: the App appends it, then resets the composer (or shows the error).
    pub fn handle(&mut self, key: KeyEvent) -> Outcome<EventKind> {
        match lookup(self.keys(), &key) {
            Some(ComposerCmd::Close) => {
                self.open = false;
                Outcome::Cancelled
            }
            Some(ComposerCmd::Newline) => {
                self.textarea.insert_newline();
                Outcome::Consumed
            }
            Some(ComposerCmd::CycleTag) => {
                if let Some(a) = self.audience {
                    self.audience = Some(match a {
                        Audience::Internal => Audience::Stakeholders,
                        Audience::Stakeholders => Audience::Internal,
                    });
                } else if self.amend.is_none() {
                    let i = Tag::ALL.iter().position(|t| *t == self.tag).unwrap_or(0);
                    self.tag = Tag::ALL[(i + 1) % Tag::ALL.len()];
                }
                Outcome::Consumed
            }
            Some(ComposerCmd::CycleStatus) => {
                const CYCLE: [Option<Status>; 4] =
                    [None, Some(Status::Investigating), Some(Status::Identified), Some(Status::Monitoring)];
                let i = CYCLE.iter().position(|s| *s == self.status).unwrap_or(0);
                self.status = CYCLE[(i + 1) % CYCLE.len()];
                Outcome::Consumed
            }
            Some(ComposerCmd::Template) => {
                match self.template() {
                    Some(t) => {
                        self.textarea.insert_str(t);
                    }
                    None => self.error = Some("no template for this audience in [status_updates]".into()),
                }
                Outcome::Consumed
            }
            Some(ComposerCmd::Save) => match self.event() {
                Ok(kind) => Outcome::Done(kind),
                Err(e) => {
                    self.error = Some(e);
                    Outcome::Consumed
                }
            },
            None => {
                self.textarea.input(key);
                Outcome::Consumed
            }
        }
    }

    /// The event the draft would write, or why it cannot.
    fn event(&self) -> Result<EventKind, String> {
        let text = self.text().trim().to_string();
        if text.is_empty() {
            return Err("the note is empty: type something, or Esc to close".into());
        }
        if text.len() > MAX_NOTE {
            return Err(format!("the note is {} bytes, more than the {MAX_NOTE} allowed", text.len()));
        }
        Ok(match (self.audience, self.amend) {
            (Some(audience), _) => EventKind::StatusUpdatePosted { audience, text },
            (None, Some(target)) => EventKind::Amended { target, text },
            (None, None) => EventKind::Note { text, tag: self.tag },
        })
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let lines = self.textarea.lines().len() as u16;
        let h = (lines + 5).clamp(7, 14).min(area.height.saturating_sub(2));
        let w = area.width.saturating_sub(4).min(100);
        let x = area.x + (area.width - w) / 2;
        // Just above the pane's bottom border and the footer.
        let y = area.y + area.height.saturating_sub(h + 2);
        let rect = Rect::new(x, y, w, h);
        let title = match (self.audience, self.amend) {
            (Some(_), _) => "Status update",
            (None, Some(_)) => "Amend your note",
            (None, None) => "New note",
        };
        let inner = popup_frame(frame, rect, title, theme);
        let [tag, text, err, help] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        if let Some(audience) = self.audience {
            let mut spans = vec![Span::styled("to ", theme.muted)];
            for a in [Audience::Internal, Audience::Stakeholders] {
                let style = if a == audience { theme.tab_active } else { theme.muted };
                spans.push(Span::styled(format!(" {a} "), style));
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(" status ", theme.muted));
            match self.status {
                Some(s) => spans.push(Span::styled(format!(" {s} "), theme.tab_active)),
                None => spans.push(Span::styled(" unchanged ", theme.muted)),
            }
            frame.render_widget(Paragraph::new(Line::from(spans)), tag);
        } else if self.amend.is_none() {
            let line = Line::from(vec![
                Span::styled("tag ", theme.muted),
                Span::styled(format!(" {} ", self.tag), theme.badge(self.tag)),
            ]);
            frame.render_widget(Paragraph::new(line), tag);
        }
        frame.render_widget(&self.textarea, text);
        if let Some(e) = &self.error {
            frame.render_widget(Paragraph::new(Span::styled(e.as_str(), theme.danger)), err);
        }
        // An amendment keeps the note's tag: Tab does nothing there, so it is not offered.
        let keys: Vec<Binding<ComposerCmd>> = self
            .keys()
            .iter()
            .filter(|b| self.amend.is_none() || b.cmd != ComposerCmd::CycleTag)
            .copied()
            .collect();
        frame.render_widget(Paragraph::new(hint_line(&hints(&keys), theme)), help);
    }
}
