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
    #[error("{0}")]
    BadWait(String),
    #[error("repeat must be 0 to 9, got {0}")]
    BadRepeat(u32),
    #[error("contains a control character (U+{0:04X}); terminal escapes are not allowed here")]
    ControlCharacter(u32),
    #[error(
        "contains an invisible character (U+{0:04X}): what is copied or dialled would differ from what is shown"
    )]
    InvisibleCharacter(u32),
}

impl Problem {
    /// The same problem with control characters in quoted file text shown as escapes (`\u{1b}`), so
    /// printing an error can never drive the terminal.
    pub(super) fn escaped(self) -> Self {
        use Problem::*;
        match self {
            // A parser message quotes a key or value in the middle of prose: cap each word.
            Syntax(s) => Syntax(crate::incident::sanitize::error_line(&s)),
            UnknownPerson(s) => UnknownPerson(escape_controls(&s)),
            UnknownTarget(s) => UnknownTarget(escape_controls(&s)),
            AmbiguousId(s) => AmbiguousId(escape_controls(&s)),
            BadTimeZone(s) => BadTimeZone(escape_controls(&s)),
            BadHandoff(s) => BadHandoff(escape_controls(&s)),
            BadLength(s) => BadLength(escape_controls(&s)),
            BadDate(s) => BadDate(escape_controls(&s)),
            BadWait(s) => BadWait(escape_controls(&s)),
            other => other,
        }
    }
}

/// Control and invisible characters as escapes (`\u{1b}`), and a long value cut to its first 80
/// characters, so an error quoting the file can neither drive the terminal nor run to megabytes.
pub(super) fn escape_controls(s: &str) -> String {
    let shown = crate::incident::sanitize::visible(&crate::incident::sanitize::cap(s, 80));
    shown.replace('\n', "\\n").replace('\t', "\\t")
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
