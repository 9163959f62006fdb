//! The command line: clap definitions and dispatch. Each area's commands live in their own file.

mod incident_cmds;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use color_eyre::eyre::{Result, WrapErr};

use crate::config::{self, Config, ConfigError};
use crate::incident::{Severity, Status, Tag};
use crate::store::{Store, StoreError};

/// warroom: a terminal incident cockpit. With no command, opens the TUI on the current incident.
#[derive(Debug, Parser)]
#[command(name = "warroom", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Incident to act on: an id or a unique prefix of one. Default: the current open incident.
    #[arg(long, global = true, value_name = "ID")]
    pub incident: Option<String>,
    /// Where the event store lives. Default: the XDG data dir (~/.local/share/warroom).
    #[arg(long, global = true, env = "WARROOM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file. Default: ~/.config/warroom/config.toml (absent is fine).
    #[arg(long, global = true, env = "WARROOM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// TUI colour theme: default, high-contrast, 16-colour, light, or one in ~/.config/warroom/themes.
    /// Default: `[ui] theme`. NO_COLOR=1 turns colour off whatever the theme.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open a new incident and make it current; prints its id.
    New {
        /// What is wrong, in a few words.
        title: String,
        /// Severity, 1 (worst) to 4.
        #[arg(long, value_parser = parse_severity)]
        sev: Severity,
        /// A longer description.
        #[arg(long)]
        summary: Option<String>,
    },
    /// Add a note to the timeline. `-` reads the text from stdin.
    Note {
        /// The note text (several words are joined), or `-` for stdin.
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
        /// Kind of note: note, finding, action, change, decision.
        #[arg(long, short, default_value = "note", value_parser = parse_tag)]
        tag: Tag,
    },
    /// Acknowledge the incident (stops the escalation ladder).
    Ack,
    /// Set the severity (1 worst .. 4).
    Sev {
        #[arg(value_parser = parse_severity)]
        severity: Severity,
    },
    /// Set the status.
    State {
        #[arg(value_parser = parse_status)]
        status: Status,
    },
    /// Mark the incident resolved.
    Resolve,
    /// List incidents (open ones unless --all).
    Incidents {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show the current incident's state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Export the incident: a Markdown postmortem draft or the full JSON event log.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write to FILE (mode 0600) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}
fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
}
fn parse_tag(s: &str) -> Result<Tag, String> {
    s.parse()
}

/// A mistake in what the user asked for: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What a command needs: config and an open store.
pub struct Ctx {
    pub global: Global,
    pub config: Config,
    pub store: Store,
}

impl Ctx {
    pub fn load(global: &Global) -> Result<Ctx> {
        let config = Config::load(global.config.as_deref())?;
        let store = open_store(global.data_dir.as_deref())?;
        Ok(Ctx { global: global.clone(), config, store })
    }

    /// The incident to act on (`--incident` or the current one).
    pub fn incident(&self) -> Result<uuid::Uuid> {
        Ok(self.store.resolve_incident(self.global.incident.as_deref())?)
    }
}

/// Opens the store in the configured data dir.
pub fn open_store(explicit: Option<&Path>) -> Result<Store> {
    let dir = config::data_dir(explicit)
        .ok_or_else(|| UsageError("cannot find a home directory for the data dir: pass --data-dir".into()))?;
    Ok(Store::open(&dir)?)
}

/// Runs the CLI; returns the process exit status. Errors print as one line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("warroom: {}", one_line_error(&err));
            ExitCode::from(exit_status(&err))
        }
    }
}

/// 2 for usage and config errors, 1 for everything else.
pub fn exit_status(err: &color_eyre::Report) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<ConfigError>() {
            return 2;
        }
        if let Some(s) = cause.downcast_ref::<StoreError>()
            && s.is_usage()
        {
            return 2;
        }
    }
    1
}

/// The error and its causes on one line, without repeating a cause its parent already quoted.
pub fn one_line_error(err: &color_eyre::Report) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let s = cause.to_string().replace('\n', " ");
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

/// Loads everything the TUI needs before touching the terminal, so a bad theme, config or store
/// is a plain one-line error, then runs it.
fn run_tui(g: &Global) -> Result<ExitCode> {
    use crate::tui::theme::{Theme, no_color_env, user_dir};
    let config = Config::load(g.config.as_deref())?;
    let name = g.theme.clone().unwrap_or_else(|| config.ui.theme.clone());
    let theme =
        Theme::load(&name, user_dir().as_deref(), no_color_env()).map_err(|e| UsageError(e.to_string()))?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(UsageError("the TUI needs a terminal; see `warroom --help` for commands".into()).into());
    }
    let store = open_store(g.data_dir.as_deref())?;
    let incident = match store.resolve_incident(g.incident.as_deref()) {
        Ok(id) => Some(id),
        Err(StoreError::NoOpenIncident) => None,
        Err(e) => return Err(e.into()),
    };
    let opts = crate::tui::AppOptions {
        me: config.author(),
        theme,
        local: config.timezone().unwrap_or(chrono_tz::UTC),
        local_time: config.ui.time == config::TimeDisplay::Local,
        incident,
        size: (80, 24),
    };
    crate::tui::run(store, opts, config.ui.mouse).wrap_err("warroom TUI")?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        None => run_tui(g),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "warroom", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .wrap_err("writing man page")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(cmd) => incident_cmds::run(&Ctx::load(g)?, cmd),
    }
}
