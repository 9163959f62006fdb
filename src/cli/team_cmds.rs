//! `warroom team check` and `warroom oncall`: the team file through the CLI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use clap::Subcommand;

use super::{Ctx, Global, TeamArg, UsageError};
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

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Validate a team file: one line per problem (file:line, field), exit 2 if any.
    Check(TeamCheck),
    /// Write a starter team file (you, one rotation, a ladder per severity) and point the
    /// config's `[team] file` at it (creating the config, 0600, if there is none).
    Init(TeamInit),
}

#[derive(Debug, clap::Args)]
pub struct TeamCheck {
    /// The file to check. Default: --team or `[team] file`.
    file: Option<PathBuf>,
    #[command(flatten)]
    pub(super) team: TeamArg,
}

#[derive(Debug, clap::Args)]
pub struct TeamInit {
    /// Where to write it. Default: --team, `[team] file`, or team.toml beside the config.
    file: Option<PathBuf>,
    /// Replace an existing team file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    pub(super) team: TeamArg,
}

impl TeamCommand {
    pub(super) fn run(self, g: &Global) -> Result<ExitCode> {
        match self {
            TeamCommand::Check(c) => check(g, &Config::load(g.config.as_deref())?, c.file),
            TeamCommand::Init(c) => init(g, c.file, c.force),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Oncall {
    /// An instant: RFC 3339, or `YYYY-MM-DD HH:MM` in UTC.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    #[arg(long)]
    json: bool,
    /// Team file (people, rotations, escalation). Default: WARROOM_TEAM, then `[team] file` in
    /// the config.
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) team: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<OncallCommand>,
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Take a rotation's pager: you are on call for it until --until (default: the end of the
    /// current shift). Synced through the server; `oncall` and the escalation ladder honour it.
    Take(super::escalation_cmds::Take),
}

impl Oncall {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        match self.command {
            Some(OncallCommand::Take(c)) => c.run(ctx),
            None => oncall(ctx, self.at, self.json),
        }
    }
}

fn oncall(ctx: &Ctx, at: Option<String>, json: bool) -> Result<ExitCode> {
    let t = match at {
        Some(s) => team::parse_instant(&s).map_err(|e| UsageError(format!("--at: {e}")))?,
        None => Utc::now(),
    };
    let team = super::escalation_cmds::team_now(ctx)?;
    let report = team::oncall_report(&team, t);
    if json {
        super::print_json(&report, "the on-call report")?;
    } else {
        out!("{}", strip_controls(&team::format_oncall(&report)));
    }
    Ok(ExitCode::SUCCESS)
}

/// `warroom team init`: writes a starter team file (one person, you, on a one-rotation ladder)
/// that `team check` accepts, and points the config's `[team] file` at it. An existing team file
/// is never replaced without `--force`; a config that does not parse is left untouched.
pub(super) fn init(global: &Global, file: Option<PathBuf>, force: bool) -> Result<ExitCode> {
    let config_path = match global.config.clone().or_else(crate::config::default_config_path) {
        Some(p) => p,
        None => {
            return Err(
                UsageError("cannot find a home directory for the config: pass --config".into()).into()
            );
        }
    };
    let config_text = match std::fs::read_to_string(&config_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(UsageError(format!("{}: cannot read config: {e}", config_path.display())).into());
        }
    };
    let config = match &config_text {
        Some(t) => Config::parse(t, &config_path.display().to_string())?,
        None => Config::default(),
    };
    let config_dir = config_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let target = file
        .or_else(|| global.team.clone())
        .or_else(|| config.team.file.as_ref().map(|p| config_dir.join(p)))
        .unwrap_or_else(|| config_dir.join("team.toml"));
    let target = if target.is_relative() {
        std::env::current_dir().wrap_err("reading the working directory")?.join(target)
    } else {
        target
    };
    if target.exists() && !force {
        return Err(UsageError(format!(
            "{}: a team file is already there; `warroom team check` validates it, --force replaces it",
            target.display()
        ))
        .into());
    }
    // The id the cockpit and `oncall take` look the user up by: `[user] name` when the config
    // sets one, else the login name.
    let me = starter_id(&config.author());
    let tz = crate::config::system_timezone().unwrap_or(chrono_tz::UTC);
    let text = starter_team(&me, tz, Utc::now().date_naive());
    // The starter must pass the same check the user will run next.
    if let Err(problems) = team::load(&text, &target.display().to_string()) {
        return Err(color_eyre::eyre::eyre!(
            "starter team file is invalid: {}",
            team::format_errors(&problems)
        ));
    }
    let shown = if target.parent() == Some(config_dir.as_path()) {
        PathBuf::from(target.file_name().unwrap_or_default())
    } else {
        target.clone()
    };
    let new_config = point_config_at(config_text.as_deref().unwrap_or(""), &shown.display().to_string());
    Config::parse(&new_config, &config_path.display().to_string())
        .wrap_err("the edited config would not parse; nothing written")?;

    if let Some(dir) = target.parent() {
        crate::store::create_dir_private(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    write_private(&target, &text)?;
    if let Some(dir) = config_path.parent() {
        crate::store::create_dir_private(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    }
    if config_text.as_deref() != Some(new_config.as_str()) {
        write_private(&config_path, &new_config)?;
    }
    outln!("wrote {} (you as the only person, a weekly rotation, a SEV1-4 ladder)", target.display());
    outln!("{}: [team] file = {:?}", config_path.display(), shown.display().to_string());
    outln!("next: add your team to it, then run `warroom team check`");
    Ok(ExitCode::SUCCESS)
}

/// A person id from `user@host`: lower-case letters, digits, `-` and `_`.
fn starter_id(author: &str) -> String {
    let user = author.split('@').next().unwrap_or_default();
    let id: String = user
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .take(32)
        .collect();
    if id.is_empty() { "me".into() } else { id }
}

/// The starter file: commented, so it teaches the format it starts.
fn starter_team(me: &str, tz: chrono_tz::Tz, today: chrono::NaiveDate) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let (id, tz) = (me, tz.name());
    // Rotations start on a Monday: the most recent one.
    let monday =
        today - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&today).num_days_from_monday()));
    format!(
        "# warroom team file, written by `warroom team init`. Every key: team.example.toml.\n\
         # Check it after each edit: warroom team check\n\n\
         [people.{id}]\n\
         name = {name}\n\
         # phone = \"+49 30 5555 0101\"   # what `c` in the Contacts pane copies first\n\
         # email = \"you@example.com\"\n\
         # chat = \"slack:U000000\"\n\
         tz = {tz_q}\n\n\
         # Add people above and list them here; handoffs are at `handoff` in `tz`.\n\
         [rotations.primary]\n\
         name = \"Primary on-call\"\n\
         people = [{id_q}]\n\
         handoff = \"09:00\"\n\
         length = \"1w\"\n\
         tz = {tz_q}\n\
         start = {monday}\n\n\
         # Who is paged, and when, after an incident of each severity opens unacknowledged: level 1\n\
         # at once, each next one when nobody acknowledged within the level before's after_minutes.\n\
         [escalation.sev1]\n\
         levels = [{{ target = \"primary\", after_minutes = 10 }}, {{ target = \"primary\", after_minutes = 10 }}]\n\n\
         [escalation.sev2]\n\
         levels = [{{ target = \"primary\", after_minutes = 15 }}]\n\n\
         [escalation.sev3]\n\
         levels = [{{ target = \"primary\", after_minutes = 60 }}]\n\n\
         [escalation.sev4]\n\
         levels = [{{ target = \"primary\", after_minutes = 240 }}]\n",
        name = q(id),
        tz_q = q(tz),
        id_q = q(id),
    )
}

/// The config text with `[team] file` set to `file`: the existing line replaced, or the key added
/// to an existing `[team]` table, or a `[team]` table appended. Everything else is kept as it was.
fn point_config_at(text: &str, file: &str) -> String {
    let line = format!("file = {}", toml::Value::String(file.to_string()));
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = |l: &str| l.trim_start().starts_with('[');
    if let Some(start) = lines.iter().position(|l| l.trim() == "[team]" || l.trim().starts_with("[team]")) {
        let end = lines[start + 1..].iter().position(|l| header(l)).map_or(lines.len(), |i| start + 1 + i);
        let key = lines[start + 1..end].iter().position(|l| {
            let t = l.trim_start();
            t.strip_prefix("file").is_some_and(|r| r.trim_start().starts_with('='))
        });
        match key {
            Some(i) => lines[start + 1 + i] = line,
            None => lines.insert(start + 1, line),
        }
    } else {
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            lines.push(String::new());
        }
        lines.push("[team]".into());
        lines.push(line);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Writes `text` to `path` with mode 0600 through a temporary file and a rename, so a crash never
/// leaves half a file and an existing file's other readers see the old or the new one whole.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        color_eyre::Report::new(e).wrap_err(format!("writing {}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_passes_team_check_in_any_zone() {
        for tz in [chrono_tz::UTC, chrono_tz::America::St_Johns, chrono_tz::Asia::Kathmandu] {
            let text = starter_team("ana", tz, chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
            let team = team::load(&text, "t.toml").unwrap_or_else(|e| panic!("{}", team::format_errors(&e)));
            assert_eq!(team.people.len(), 1);
            assert!(text.contains("start = 2026-11-23"), "{text}");
        }
    }

    #[test]
    fn starter_id_is_a_clean_id() {
        assert_eq!(starter_id("Ana.Lima@host"), "analima");
        assert_eq!(starter_id("uid1000@h"), "uid1000");
        assert_eq!(starter_id("ünï@h"), "n");
        assert_eq!(starter_id("ü@h"), "me");
        assert_eq!(starter_id("\u{1b}]0;x\u{7}@h"), "0x");
    }

    #[test]
    fn config_edit_keeps_everything_else() {
        assert_eq!(point_config_at("", "team.toml"), "[team]\nfile = \"team.toml\"\n");
        assert_eq!(
            point_config_at("[ui]\ntheme = \"light\"", "t.toml"),
            "[ui]\ntheme = \"light\"\n\n[team]\nfile = \"t.toml\"\n"
        );
        let text = "[team]\nfile = \"old.toml\"\n\n[ui]\ntheme = \"light\"\n";
        assert_eq!(
            point_config_at(text, "new.toml"),
            "[team]\nfile = \"new.toml\"\n\n[ui]\ntheme = \"light\"\n"
        );
        let text = "[ui]\nfile_x = 1\n[team]\n# comment\n[procs]\n";
        assert_eq!(
            point_config_at(text, "a\"b.toml"),
            "[ui]\nfile_x = 1\n[team]\nfile = 'a\"b.toml'\n# comment\n[procs]\n"
        );
    }
}
