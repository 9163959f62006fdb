//! The incident domain: events, the fold, and exports. Pure: no IO, no clock reads, no terminal.

pub mod event;
pub mod export;
pub mod sanitize;
pub mod state;

pub use event::{Audience, Event, EventKind, IncidentId, Role, Severity, Status, Tag};
pub use state::{FoldCursor, FoldError, IncidentState, OutOfOrder, fold, fold_resumable};
