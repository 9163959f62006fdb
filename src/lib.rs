//! warroom: a terminal incident cockpit. The binary is a thin shell over this library.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod escalation;
pub mod incident;
pub mod notify;
pub mod procs;
pub mod report;
pub mod runbook;
pub mod runner;
pub mod server;
pub mod store;
pub mod sync;
pub mod team;
pub mod tui;
