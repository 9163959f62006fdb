//! The incident domain: events, the fold, and exports. Pure: no IO, no clock reads, no terminal.

pub mod change;
pub mod event;
pub mod export;
pub mod sanitize;
pub mod state;

pub use event::{
    Audience, ChangeCommand, Event, EventKind, FollowupStatus, IncidentId, Priority, Role, Severity, Status,
    Tag,
};
pub use state::{ChangeView, FoldError, FollowupView, IncidentState, fold};
