//! The sync client: pushes the local outbox to a `warroom serve` backend, pulls what others
//! wrote, follows the live stream, and reports a status line. Decisions live in `plan` (pure).

pub mod client;
pub mod engine;
pub mod plan;
pub mod sse;
pub mod task;
pub mod wire;

pub use client::{Client, StreamItem, SyncError};
pub use engine::{Report, sync_once};
pub use plan::{Link, SyncStatus, status_line};
pub use task::{ServerSettings, SyncConfig, SyncHandle};
