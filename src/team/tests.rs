//! The harness team's `_tests` files share, with escalation::plan_tests: the roster the
//! escalation timing tests run on, three people in UTC and a daily `primary` rotation of ana then
//! bo, handing off at 03:10 UTC from 2026-11-22 (so ana until 2026-11-23 03:10, then bo). Each
//! test module adds its own `[escalation.*]` tables.

use super::{Team, load};

const ROSTER: &str = r#"
[people.ana]
name = "Ana"
tz = "UTC"
[people.bo]
name = "Bo"
tz = "UTC"
[people.cy]
name = "Cy"
tz = "UTC"

[rotations.primary]
name = "Primary"
people = ["ana", "bo"]
handoff = "03:10"
length = "1d"
tz = "UTC"
start = 2026-11-22
"#;

/// The roster with these `[escalation.*]` tables.
pub(crate) fn with_escalation(escalation: &str) -> Team {
    load(&format!("{ROSTER}\n{escalation}"), "t.toml")
        .unwrap_or_else(|e| panic!("{}", super::format_errors(&e)))
}
