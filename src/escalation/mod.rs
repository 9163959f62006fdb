//! The escalation engine: pages each ladder level when it falls due until someone acknowledges.
//!
//! [`plan`] decides (pure: team, events, time → due pages); [`run`] is the IO edge that claims a
//! due page through an idempotent append, sends it through every configured channel and records
//! the outcome. Executors: `warroom serve` (every open incident on the server), a cockpit, and
//! `warroom escalate`; the claim's derived id makes exactly one of them the sender.

pub mod plan;
pub mod run;

pub use plan::{Due, PageRecord, Plan, Stopped, claim_event, dedup_key, page_records, plan};

#[cfg(test)]
mod plan_tests;
