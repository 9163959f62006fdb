//! The process core: a cheap /proc sampler, per-process details, the kill guard rules, evidence
//! capture and pidfd signalling. Linux only. `parse` and `guard` are pure; the rest does IO.
pub mod details;
pub mod evidence;
pub mod guard;
pub mod parse;
pub mod procfs;
pub mod redact;
pub mod sampler;
pub mod signal;
pub mod users;

pub use sampler::{CpuUsage, Meters, ProcessRow, Sampler, Snapshot, tree_order};
