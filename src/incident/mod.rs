//! The incident domain: events, the fold, and exports. Pure: no IO, no clock reads, no terminal.

pub mod change;
pub mod event;
pub mod export;
mod read;
pub mod sanitize;
pub mod state;

/// Longest note or status update accepted (bytes), everywhere: the composer, `warroom note`,
/// `warroom update` and the server. A note is prose; long output is attached as evidence.
pub const MAX_NOTE: usize = 64 * 1024;

pub use event::{
    Audience, ChangeCommand, Event, EventKind, FollowupStatus, IncidentId, Priority, Role, Severity, Status,
    Tag,
};
pub(crate) use read::Key as JsonKey;
pub use state::{
    ChangeView, FoldCursor, FoldError, FollowupView, IncidentState, OutOfOrder, fold, fold_resumable,
};
