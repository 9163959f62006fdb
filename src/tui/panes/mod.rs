//! The panes of the cockpit. Each is one `impl Pane`; `App::new` registers the ones that exist.

pub mod procs;
pub mod timeline;

pub use procs::{Processes, ProcsSettings};
pub use timeline::Timeline;
