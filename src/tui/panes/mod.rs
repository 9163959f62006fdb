//! The panes of the cockpit. Each is one `impl Pane`; `App::new` registers the ones that exist.

pub mod contacts;
pub mod procs;
pub mod runbook;
pub mod timeline;

pub use contacts::Contacts;
pub use procs::{Processes, ProcsSettings};
pub use runbook::Runbooks;
pub use timeline::Timeline;
