//! warroom: a terminal incident cockpit. The binary is a thin shell over this library.

pub mod cli;
pub mod config;
pub mod incident;
pub mod store;
pub mod tui;
