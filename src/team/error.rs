//! Team file problems: each names the file, the line and the field.

use serde::Serialize;

/// What is wrong; callers (and tests) branch on the kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Problem {
    #[error("{0}")]
    Syntax(String),
    #[error("unknown person \"{0}\"")]
    UnknownPerson(String),
    #[error("unknown person or rotation \"{0}\"")]
    UnknownTarget(String),
    #[error("\"{0}\" is both a person and a rotation")]
    AmbiguousId(String),
    #[error("unknown time zone \"{0}\" (expected an IANA name like \"Europe/Berlin\")")]
    BadTimeZone(String),
    #[error("rotation has no people")]
    NoPeople,
    #[error("overlaps overrides[{0}]")]
    OverlappingOverride(usize),
    #[error("override ends at or before its start")]
    OverrideEndsBeforeStart,
    #[error("ladder has no levels")]
    EmptyLadder,
    #[error("bad handoff time \"{0}\" (expected HH:MM like \"09:00\")")]
    BadHandoff(String),
    #[error("length must be at least one day")]
    ZeroLength,
    #[error("bad length \"{0}\" (expected days or weeks like \"3d\" or \"1w\")")]
    BadLength(String),
    #[error("{0}")]
    BadDate(String),
}

/// One problem in a team file, printed as `file:line: field: problem`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{path}:{line}: {}{problem}", field_prefix(.field))]
pub struct TeamError {
    pub path: String,
    /// 1-based line of the offending value.
    pub line: usize,
    /// Dotted path of the field (`rotations.primary.people[2]`); empty for syntax errors.
    pub field: String,
    pub problem: Problem,
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() { String::new() } else { format!("{field}: ") }
}

/// The 1-based line holding byte `offset` of `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}
