//! The process core: a cheap /proc sampler, per-process details, the kill guard rules, evidence
//! capture and pidfd signalling. Linux only. `parse`, `guard` and `redact` are pure; the rest
//! reads /proc.
//!
//! - Live view: keep one [`Sampler`] and call [`Sampler::sample`] each tick from a blocking task;
//!   each call returns an immutable [`Snapshot`] (meters + rows). [`view`] sorts, filters and
//!   prints it; [`tree_order`] gives the tree view.
//! - Details on demand: [`process_details`] (pid, start time).
//! - Killing goes through [`guarded_kill`] only: guard → evidence → signal by (pid, start time),
//!   returning the `evidence_captured` and `process_signalled` events for the caller to append.
//!   [`guard::check`] alone drives the popup (refuse / type the name / allow) before confirming;
//!   [`liveness`] / [`wait_for_exit`] drive the countdown after TERM.

pub mod browse;
pub mod details;
pub mod evidence;
pub mod guard;
pub mod kill;
pub mod killset;
pub mod parse;
pub mod procfs;
pub mod redact;
pub mod restart;
pub mod runtime;
pub mod sampler;
pub mod signal;
pub mod tools;
pub mod users;
pub mod view;

pub use details::{DetailsError, ProcessDetails, own_ancestors, process_details};
pub use evidence::{
    CaptureOptions, Evidence, EvidenceError, EvidenceFile, Profile, Step, StepStatus, capture_evidence,
    capture_with,
};
pub use guard::{CriticalList, GuardContext, Target, Verdict};
pub use kill::{KillError, KillReport, KillRequest, ProcessIdentity, current_context, guarded_kill};
pub use sampler::{CpuUsage, Meters, ProcessRow, Sampler, Snapshot, tree_order};
pub use signal::{
    DEFAULT_GRACE, Delivery, Liveness, Sig, SignalOutcome, liveness, send_signal, wait_for_exit,
};
pub use view::{SortKey, ps_text, sorted_indices};
