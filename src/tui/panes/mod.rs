//! The panes of the cockpit. Each is one `impl Pane`; `App::new` registers the ones that exist.

pub mod contacts;
pub mod timeline;

pub use contacts::Contacts;
pub use timeline::Timeline;
