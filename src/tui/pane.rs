//! The pane contract. The App knows panes only through this trait and lays out whichever exist, so
//! a new pane (processes, contacts, runbook) is one `impl Pane` plus one line in `App::new`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use uuid::Uuid;

use super::keymap::{Binding, PaneCmd};
use super::popups::{RunRequest, TextView};
use super::theme::Theme;
use crate::incident::{Event, EventKind, IncidentState};

/// The incident on screen: its events in canonical order and their fold.
#[derive(Debug, Clone)]
pub struct IncidentData {
    pub state: IncidentState,
    pub events: Vec<Event>,
}

/// What a pane may read while handling a command.
pub struct PaneCtx<'a> {
    pub data: &'a IncidentData,
    /// The author name of this user (for "your own note" rules).
    pub me: &'a str,
}

/// What a pane may read while drawing. `now` is passed in: render never reads the clock.
pub struct RenderCtx<'a> {
    pub data: &'a IncidentData,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    pub me: &'a str,
    /// The responder's zone for "local" times.
    pub local: Tz,
    pub focused: bool,
}

/// What handling a key asks the App to do next.
#[derive(Debug)]
pub enum Effect {
    /// Nothing happened (the key is not the pane's).
    Ignored,
    /// The pane changed: redraw.
    Redraw,
    /// Show a read-only popup (details).
    Show(TextView),
    /// Open the composer to amend one of your notes.
    Amend { target: Uuid, text: String },
    /// Append an event to the incident.
    Append(EventKind),
    /// Append several events, in this order (stamped a millisecond apart).
    AppendAll(Vec<EventKind>),
    /// Confirm, then run a runbook step's command.
    Run(RunRequest),
    /// A one-line message for the footer.
    Notice(String),
    /// Put this text on the clipboard (OSC 52).
    Clipboard(String),
    /// Ask to send this page, then send it without blocking.
    Page(Box<crate::notify::Page>),
    /// Open a popup (a chooser or a form that records an event).
    Popup(Box<super::popups::Popup>),
}

/// A pane of the cockpit.
pub trait Pane {
    /// Short fixed name, e.g. `Timeline` (help sections).
    fn name(&self) -> &'static str;
    /// Title shown on its border and tab: the name plus live state (filters, counts).
    fn title(&self) -> String;
    /// The pane's key table: handles its keys and generates its footer and help.
    fn keymap(&self) -> &'static [Binding<PaneCmd>];
    /// Every key table the pane may switch to (for `?` help); default: the current one.
    fn all_keymaps(&self) -> Vec<&'static [Binding<PaneCmd>]> {
        vec![self.keymap()]
    }
    /// Runs a command from the key table.
    fn command(&mut self, cmd: PaneCmd, ctx: &PaneCtx) -> Effect;
    /// True while the pane takes raw keys (e.g. typing a filter): they go to `input` first.
    fn capturing(&self) -> bool {
        false
    }
    /// A raw key while `capturing`.
    fn input(&mut self, _key: KeyEvent, _ctx: &PaneCtx) -> Effect {
        Effect::Ignored
    }
    /// Footer hints while capturing, as (keys, what).
    fn capture_hints(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The incident's events changed (new events, another incident).
    fn sync(&mut self, data: &IncidentData);
    /// Once a second: a pane fed from elsewhere (a sampler, sync) takes what arrived, e.g. from a
    /// channel, and returns true when it needs a redraw.
    fn on_tick(&mut self, _now: DateTime<Utc>) -> bool {
        false
    }
    /// A new process snapshot from the sampler; true when the pane needs a redraw.
    fn snapshot(&mut self, _snap: &std::sync::Arc<crate::procs::Snapshot>) -> bool {
        false
    }
    /// The sampler could not start (no /proc): say so; true when the pane needs a redraw.
    fn snapshot_failed(&mut self, _why: &str) -> bool {
        false
    }
    /// The concrete pane, for tests that inspect its state.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// Draws the inside of the pane (the App draws the border and title).
    fn render(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx);
}
