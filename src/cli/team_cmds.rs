//! `warroom team check` and `warroom oncall`: the team file through the CLI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use super::{Global, UsageError};
use crate::config::Config;
use crate::incident::sanitize::strip_controls;
use crate::team::{self, Team, TeamError};

/// The team file: `--team`, else `[team] file` (relative to the config), else
/// `team.toml` beside the default config if it exists.
pub fn team_path(global: &Global, config: &Config) -> Option<PathBuf> {
    if let Some(p) = &global.team {
        return Some(p.clone());
    }
    if let Some(p) = &config.team.file {
        return Some(config.relative(p));
    }
    crate::config::default_config_path()
        .and_then(|c| c.parent().map(|d| d.join("team.toml")))
        .filter(|p| p.exists())
}

/// Reads and validates a team file; problems come back one per line.
pub fn load_team(path: &Path) -> Result<Result<Team, Vec<TeamError>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: cannot read team file: {e}", path.display())))?;
    Ok(team::load(&text, &path.display().to_string()))
}

fn require_path(global: &Global, config: &Config, explicit: Option<PathBuf>) -> Result<PathBuf> {
    explicit.or_else(|| team_path(global, config)).ok_or_else(|| {
        UsageError(
            "no team file: pass --team FILE or set `[team] file` in the config (see team.example.toml)"
                .into(),
        )
        .into()
    })
}

pub(super) fn check(global: &Global, config: &Config, file: Option<PathBuf>) -> Result<ExitCode> {
    let path = require_path(global, config, file)?;
    match load_team(&path)? {
        Ok(team) => {
            outln!(
                "{}: ok ({} people, {} rotations, {} escalation ladders)",
                path.display(),
                team.people.len(),
                team.rotations.len(),
                team.escalation.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprint!("{}", strip_controls(&team::format_errors(&problems)));
            eprintln!("{}: {} problem(s)", path.display(), problems.len());
            Ok(ExitCode::from(2))
        }
    }
}

pub(super) fn oncall(ctx: &super::Ctx, at: Option<String>, json: bool) -> Result<ExitCode> {
    let (global, config) = (&ctx.global, &ctx.config);
    let t = match at {
        Some(s) => team::parse_instant(&s).map_err(|e| UsageError(format!("--at: {e}")))?,
        None => Utc::now(),
    };
    let path = require_path(global, config, None)?;
    let team = match load_team(&path)? {
        Ok(team) => team,
        Err(problems) => {
            eprint!("{}", strip_controls(&team::format_errors(&problems)));
            return Err(UsageError(format!(
                "{}: {} problem(s); run `warroom team check`",
                path.display(),
                problems.len()
            ))
            .into());
        }
    };
    let taken = ctx.store.events(crate::incident::event::TEAM_STREAM)?;
    let team = crate::escalation::run::with_taken_pagers(&team, &taken);
    let report = team::oncall_report(&team, t);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report).wrap_err("encoding the on-call report")?);
    } else {
        out!("{}", strip_controls(&team::format_oncall(&report)));
    }
    Ok(ExitCode::SUCCESS)
}
