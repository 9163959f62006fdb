//! The team: people, on-call rotations, escalation ladders and incident roles. Pure: no IO, no
//! clock reads; the caller reads the team file and passes the time.

pub mod cli_support;
pub mod error;
mod file;
pub mod ladder;
pub mod model;
pub mod report;
pub mod rotation;
pub mod validate;

pub use cli_support::{compact_duration, format_errors, format_ladder, format_oncall, parse_instant};
pub use error::{Problem, TeamError};
pub use ladder::{LadderNow, LevelNow, LevelState, ladder_at};
pub use model::{Contact, Ladder, Level, Override, Person, Roles, Rotation, Target, Team};
pub use report::{NextNow, PersonNow, RotationNow, oncall_report};
pub use rotation::{Handoff, RotationError, Shift, first_instant_at_or_after};
pub use validate::load;

#[cfg(test)]
mod example_tests;
#[cfg(test)]
mod ladder_tests;
#[cfg(test)]
mod rotation_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod validate_tests;
