//! The team file as written: serde structs that keep each value's byte span for error lines.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamFile {
    #[serde(default)]
    pub people: BTreeMap<Spanned<String>, PersonFile>,
    #[serde(default)]
    pub rotations: BTreeMap<Spanned<String>, RotationFile>,
    #[serde(default)]
    pub escalation: EscalationFile,
    #[serde(default)]
    pub roles: RolesFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PersonFile {
    pub name: Spanned<String>,
    pub handle: Option<Spanned<String>>,
    pub phone: Option<Spanned<String>>,
    pub email: Option<Spanned<String>>,
    pub chat: Option<Spanned<String>>,
    pub tz: Spanned<String>,
    pub pagerduty_user: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RotationFile {
    pub name: Spanned<String>,
    pub people: Spanned<Vec<Spanned<String>>>,
    pub handoff: Spanned<String>,
    pub length: Spanned<String>,
    pub tz: Spanned<String>,
    pub start: Spanned<Datetime>,
    #[serde(default)]
    pub overrides: Vec<Spanned<OverrideFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverrideFile {
    pub person: Spanned<String>,
    pub start: Spanned<Datetime>,
    pub end: Spanned<Datetime>,
    pub reason: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EscalationFile {
    pub sev1: Option<LadderFile>,
    pub sev2: Option<LadderFile>,
    pub sev3: Option<LadderFile>,
    pub sev4: Option<LadderFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LadderFile {
    pub levels: Spanned<Vec<LevelFile>>,
    /// Extra passes over the whole ladder after the last level's wait runs out (PagerDuty's
    /// "repeat this policy N times").
    #[serde(default)]
    pub repeat: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LevelFile {
    pub target: Spanned<String>,
    /// Minutes; fractions allowed (0.5 is 30 seconds).
    pub after_minutes: Spanned<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RolesFile {
    pub commander: Option<Spanned<String>>,
    pub comms: Option<Spanned<String>>,
    pub scribe: Option<Spanned<String>>,
    pub ops: Option<Spanned<String>>,
}
