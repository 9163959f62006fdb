//! The command line: clap definitions and dispatch. Each area's commands live in their own file.

/// `println!` for command output: a closed stdout (`warroom ps | head`) ends the command quietly
/// instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*).map_err($crate::cli::stdout_error)?
    }};
}

/// `print!` for command output; see `outln!`.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($t)*).map_err($crate::cli::stdout_error)?
    }};
}

mod capture_cmds;
mod change_cmds;
pub mod escalation_cmds;
mod followup_cmds;
mod incident_cmds;
pub mod notify_cmds;
mod ps_cmds;
mod runbook_cmds;
mod sync_cmds;
pub mod team_cmds;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use color_eyre::eyre::{Result, WrapErr};

use crate::config::{self, Config, ConfigError};
use crate::incident::{Audience, Severity, Status, Tag};
use crate::notify::Channel;
use crate::store::{Store, StoreError};

/// warroom: a terminal incident cockpit. With no command, opens the TUI on the current incident.
#[derive(Debug, Parser)]
#[command(name = "warroom", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub paths: Paths,
    /// TUI colour theme: default, high-contrast, 16-colour, light, or one in ~/.config/warroom/themes.
    /// Default: `[ui] theme`. NO_COLOR=1 turns colour off whatever the theme. (The TUI only: no
    /// subcommand draws colours.)
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Incident to act on: an id or a unique prefix of one. Default: the current open incident.
    /// Given before a command, it must be one that acts on an incident.
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
    /// Team file (people, rotations, escalation). Default: `[team] file` in the config. Given
    /// before a command, it must be one that reads the team file.
    #[arg(long, env = "WARROOM_TEAM", value_name = "FILE")]
    pub team: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the store and the config are: every command but `ps`, `completions`, `man` and
/// `runbook check` reads one or both, so these two alone are global.
#[derive(Debug, Clone, Args)]
pub struct Paths {
    /// Where the event store lives. Default: the XDG data dir (~/.local/share/warroom).
    #[arg(long, global = true, env = "WARROOM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file. Default: ~/.config/warroom/config.toml (absent is fine).
    #[arg(long, global = true, env = "WARROOM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `--incident` on a command that acts on one incident.
#[derive(Debug, Clone, Default, Args)]
pub struct IncidentArg {
    /// Incident to act on: an id or a unique prefix of one. Default: the current open incident.
    #[arg(long, value_name = "ID")]
    pub incident: Option<String>,
}

/// `--team` on a command that reads the team file (WARROOM_TEAM is read by the top-level flag).
#[derive(Debug, Clone, Default, Args)]
pub struct TeamArg {
    /// Team file (people, rotations, escalation). Default: WARROOM_TEAM, then `[team] file` in
    /// the config.
    #[arg(long, value_name = "FILE")]
    pub team: Option<PathBuf>,
}

/// What the commands read of the global options, once the command's own `--incident` and
/// `--team` are merged with those given before it.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub incident: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub team: Option<PathBuf>,
}

/// Each variant holds its command's arguments, and each of those types runs itself: `Store`
/// commands through [`synced`], the others with what they need.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open a new incident and make it current; prints its id.
    New(incident_cmds::New),
    /// Add a note to the timeline. `-` reads the text from stdin.
    Note(incident_cmds::Note),
    /// Run a command as a recorded change (a deploy, a rollback): its start, exit status and
    /// duration go on the open incident, or in the host change log when none is open. Exits with
    /// the command's status.
    Change(change_cmds::Change),
    /// The host change log: changes recorded on this host (with no incident open, or during one).
    Changes(change_cmds::Changes),
    /// Follow-ups: work that must happen after the incident (owner, priority, ticket, status).
    Followup(followup_cmds::Followup),
    /// Acknowledge the incident (stops the escalation ladder).
    Ack(incident_cmds::Ack),
    /// Set the severity (1 worst .. 4).
    Sev(incident_cmds::Sev),
    /// Set the status.
    State(incident_cmds::State),
    /// Mark the incident resolved, with a one-line resolution (asked for on a terminal). Warns
    /// about unticked runbook steps and unacknowledged pages.
    Resolve(incident_cmds::Resolve),
    /// List incidents (open ones unless --all).
    Incidents(incident_cmds::Incidents),
    /// Show the current incident's state.
    Status(incident_cmds::StatusCmd),
    /// Export the incident: a Markdown postmortem draft or the full JSON event log.
    Export(incident_cmds::Export),
    /// Team file commands.
    Team {
        #[command(subcommand)]
        command: team_cmds::TeamCommand,
    },
    /// Runbook commands.
    Runbook {
        #[command(subcommand)]
        command: runbook_cmds::RunbookCommand,
    },
    /// Who is on call now (or --at TIME) and next, per rotation; pagers taken with
    /// `oncall take` count.
    Oncall(team_cmds::Oncall),
    /// Run the escalation engine on this host: page each ladder level of every open incident when
    /// it falls due, until acknowledged. With a server configured, claims go through it.
    Escalate(escalation_cmds::Escalate),
    /// Page a person from the team file, or whoever level N of the incident's ladder reaches now.
    /// Delivered or not, the page is recorded on the timeline; a failed page exits 1.
    Page(notify_cmds::PageCmd),
    /// Record a contact attempt made by hand (a call, an SMS, a chat message, an email).
    Contact(notify_cmds::ContactCmd),
    /// Post a status update: recorded, and sent to `[status_updates] webhook_url` when configured.
    Update(notify_cmds::UpdateCmd),
    /// Run the sync backend other warroom clients share incidents through.
    Serve(sync_cmds::Serve),
    /// Fetch an incident someone else opened on a server and make it current.
    Join(sync_cmds::Join),
    /// Print the process snapshot the process pane shows (sorted, optionally filtered).
    Ps(ps_cmds::Ps),
    /// Capture evidence of a process without signalling it (as the kill guard does first):
    /// /proc state, threads, sockets, cgroup, journal, the process table and, with the
    /// standard profile, the runtime's own dumps. Recorded on the incident's timeline.
    Capture(capture_cmds::Capture),
    /// Signal a process, its whole tree (--tree) or its process group (--group): every member is
    /// previewed, the set is refused whole if it holds PID 1, warroom or an ancestor of your
    /// session, evidence of the process is captured first, each member is signalled through its
    /// own pidfd, and whether each exited (and how long it took) goes on the timeline.
    Kill(capture_cmds::Kill),
    /// Capture evidence of a process, then restart the systemd service or docker/podman container
    /// it belongs to (through the kill guard's rules: reason required, never warroom's own unit or
    /// container). The restart and its outcome (state, new pid, how long) go on the timeline.
    Restart(capture_cmds::Restart),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

impl Command {
    /// The command's own `--incident` and `--team`, for those that take them: where the values
    /// given before the command go.
    fn targets(&mut self) -> (Option<&mut Option<String>>, Option<&mut Option<PathBuf>>) {
        use runbook_cmds::RunbookCommand as R;
        use team_cmds::TeamCommand as T;
        match self {
            Command::Note(c) => (Some(&mut c.target.incident), None),
            Command::Change(c) => (Some(&mut c.target.incident), None),
            Command::Followup(c) => (Some(&mut c.incident), None),
            Command::Ack(c) => (Some(&mut c.target.incident), None),
            Command::Sev(c) => (Some(&mut c.target.incident), None),
            Command::State(c) => (Some(&mut c.target.incident), None),
            Command::Resolve(c) => (Some(&mut c.target.incident), None),
            Command::Status(c) => (Some(&mut c.target.incident), None),
            Command::Export(c) => (Some(&mut c.target.incident), None),
            Command::Runbook { command: R::Attach(c) } => (Some(&mut c.target.incident), None),
            Command::Runbook { command: R::Show(c) } => (Some(&mut c.target.incident), None),
            Command::Runbook { command: R::Tick(c) } => (Some(&mut c.target.incident), None),
            Command::Runbook { command: R::Run(c) } => (Some(&mut c.target.incident), None),
            Command::Page(c) => (Some(&mut c.target.incident), Some(&mut c.team.team)),
            Command::Contact(c) => (Some(&mut c.target.incident), Some(&mut c.team.team)),
            Command::Update(c) => (Some(&mut c.target.incident), None),
            Command::Capture(c) => (Some(&mut c.target.incident), None),
            Command::Kill(c) => (Some(&mut c.target.incident), None),
            Command::Restart(c) => (Some(&mut c.target.incident), None),
            Command::Team { command: T::Check(c) } => (None, Some(&mut c.team.team)),
            Command::Team { command: T::Init(c) } => (None, Some(&mut c.team.team)),
            Command::Oncall(c) => (None, Some(&mut c.team)),
            Command::Escalate(c) => (None, Some(&mut c.team.team)),
            Command::New(_)
            | Command::Changes(_)
            | Command::Incidents(_)
            | Command::Runbook { command: R::List | R::Check { .. } }
            | Command::Serve(_)
            | Command::Join(_)
            | Command::Ps(_)
            | Command::Completions { .. }
            | Command::Man => (None, None),
        }
    }

    /// Runs the command: one match, each arm handing the command what it needs.
    fn run(self, g: &Global) -> Result<ExitCode> {
        match self {
            Command::New(c) => synced(g, |ctx| c.run(ctx)),
            Command::Note(c) => synced(g, |ctx| c.run(ctx)),
            Command::Change(c) => synced(g, |ctx| c.run(ctx)),
            Command::Changes(c) => synced(g, |ctx| c.run(ctx)),
            Command::Followup(c) => synced(g, |ctx| c.run(ctx)),
            Command::Ack(c) => synced(g, |ctx| c.run(ctx)),
            Command::Sev(c) => synced(g, |ctx| c.run(ctx)),
            Command::State(c) => synced(g, |ctx| c.run(ctx)),
            Command::Resolve(c) => synced(g, |ctx| c.run(ctx)),
            Command::Incidents(c) => synced(g, |ctx| c.run(ctx)),
            Command::Status(c) => synced(g, |ctx| c.run(ctx)),
            Command::Export(c) => synced(g, |ctx| c.run(ctx)),
            Command::Team { command } => command.run(g),
            Command::Runbook { command } => command.run(g),
            Command::Oncall(c) => synced(g, |ctx| c.run(ctx)),
            Command::Escalate(c) => synced(g, |ctx| c.run(ctx)),
            Command::Page(c) => synced(g, |ctx| c.run(ctx)),
            Command::Contact(c) => synced(g, |ctx| c.run(ctx)),
            Command::Update(c) => synced(g, |ctx| c.run(ctx)),
            Command::Serve(c) => c.run(g),
            Command::Join(c) => c.run(&Ctx::load(g)?),
            Command::Ps(c) => c.run(),
            Command::Capture(c) => synced(g, |ctx| c.run(ctx)),
            Command::Kill(c) => synced(g, |ctx| c.run(ctx)),
            Command::Restart(c) => synced(g, |ctx| c.run(ctx)),
            Command::Completions { shell } => {
                let mut buf = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "warroom", &mut buf);
                out!("{}", String::from_utf8_lossy(&buf));
                Ok(ExitCode::SUCCESS)
            }
            Command::Man => {
                let mut buf = Vec::new();
                clap_mangen::Man::new(Cli::command()).render(&mut buf).wrap_err("rendering the man page")?;
                out!("{}", String::from_utf8_lossy(&buf));
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Runs a command that acts through the store, with sync around it when a server is configured.
fn synced(g: &Global, f: impl FnOnce(&Ctx) -> Result<ExitCode>) -> Result<ExitCode> {
    sync_cmds::around(&Ctx::load(g)?, f)
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
}

pub(super) fn parse_sort(s: &str) -> Result<crate::procs::SortKey, String> {
    s.parse()
}
pub(super) fn parse_signal(s: &str) -> Result<crate::procs::Sig, String> {
    s.parse()
}
pub(super) fn parse_profile(s: &str) -> Result<crate::procs::Profile, String> {
    s.parse()
}
pub(super) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}
pub(super) fn parse_status(s: &str) -> Result<Status, String> {
    s.parse()
}
/// A status short of resolved: resolving records a one-line resolution and warns about what is
/// left open, so it has one way in (`warroom resolve`, as the cockpit asks for it).
pub(super) fn parse_open_status(s: &str) -> Result<Status, String> {
    match parse_status(s)? {
        Status::Resolved => Err("resolving records a resolution: use `warroom resolve -m TEXT`".into()),
        open => Ok(open),
    }
}
pub(super) fn parse_tag(s: &str) -> Result<Tag, String> {
    s.parse()
}
pub(super) fn parse_priority(s: &str) -> Result<crate::incident::Priority, String> {
    s.parse()
}
pub(super) fn parse_audience(s: &str) -> Result<Audience, String> {
    s.parse()
}
pub(super) fn parse_channel(s: &str) -> Result<Channel, String> {
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

    /// The incident a change belongs to: `--incident`, else the current one while it is open;
    /// None means the change goes only to the host change log.
    pub fn open_incident(&self) -> Result<Option<uuid::Uuid>> {
        match self.store.resolve_incident(self.global.incident.as_deref()) {
            Ok(id) if self.global.incident.is_some() => Ok(Some(id)),
            // The current incident may be a resolved one kept at hand: a change belongs to
            // whichever incident is open now, if any.
            Ok(id) => {
                let open: Vec<_> = self.store.incidents()?.into_iter().filter(|i| i.is_open()).collect();
                Ok(open.iter().find(|i| i.id == id).or(open.first()).map(|i| i.id))
            }
            Err(StoreError::NoOpenIncident) => Ok(None),
            Err(e) => Err(e.into()),
        }
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
    let parsed = Cli::command().try_get_matches().and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let (cli, matches) = match parsed {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap quotes the offending argument: a 2 MB argument must not become a 2 MB line.
            for line in e.to_string().lines() {
                eprintln!("{}", crate::incident::sanitize::error_line(line));
            }
            return ExitCode::from(2);
        }
    };
    let team_on_command_line = matches.value_source("team") == Some(ValueSource::CommandLine);
    match run(cli, &command_name(&matches), team_on_command_line) {
        Ok(code) => code,
        Err(err) if err.chain().any(|c| c.is::<StdoutClosed>()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("warroom: {}", one_line_error(&err));
            ExitCode::from(exit_status(&err))
        }
    }
}

/// `warroom runbook attach`: the command's full name, for errors about its flags.
fn command_name(matches: &clap::ArgMatches) -> String {
    let mut name = String::from("warroom");
    let mut m = matches;
    while let Some((sub, sm)) = m.subcommand() {
        name.push(' ');
        name.push_str(sub);
        m = sm;
    }
    name
}

/// The single-threaded runtime a command's async work runs on.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().wrap_err("starting the async runtime")
}

/// Prints `value` as pretty JSON, C1 controls escaped (`--json` of every command).
pub(crate) fn print_json(value: &impl serde::Serialize, what: &str) -> Result<()> {
    let text = serde_json::to_string_pretty(value).wrap_err_with(|| format!("encoding {what}"))?;
    outln!("{}", crate::incident::sanitize::escape_json(text));
    Ok(())
}

/// Text a command records (a note, an update, a follow-up, a resolution), trimmed: refused when
/// empty or longer than `MAX_NOTE`, with `hint` after the size.
pub(crate) fn recorded_text(text: &str, what: &str, hint: &str) -> Result<String> {
    use crate::incident::MAX_NOTE;
    let text = text.trim();
    if text.is_empty() {
        return Err(UsageError(format!("the {what} is empty: nothing was recorded")).into());
    }
    if text.len() > MAX_NOTE {
        let n = text.len();
        return Err(
            UsageError(format!("the {what} is {n} bytes, more than the {MAX_NOTE} allowed{hint}")).into()
        );
    }
    Ok(text.to_string())
}

/// Stdout was closed by its reader: not an error worth a message.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed")]
pub struct StdoutClosed;

/// Maps a stdout write error: a broken pipe becomes `StdoutClosed`.
pub fn stdout_error(e: std::io::Error) -> color_eyre::Report {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        color_eyre::Report::new(e).wrap_err("writing to stdout")
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
        // Causes can quote what a server or a file said: no escape sequences reach the terminal.
        // A cause may echo a 2 MB key from a file: error_line caps what it quotes.
        let s = crate::incident::sanitize::error_line(&cause.to_string());
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
fn run_tui(g: &Global, theme: Option<String>) -> Result<ExitCode> {
    use crate::tui::theme::{Theme, no_color_env, user_dir};
    let config = Config::load(g.config.as_deref())?;
    let name = theme.unwrap_or_else(|| config.ui.theme.clone());
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
        procs: crate::tui::ProcsOptions {
            critical: config.procs.critical.clone(),
            grace: config.procs_grace(),
        },
        runbooks: crate::tui::panes::runbook::RunbookOptions::load(&config, g.data_dir.as_deref()),
        team: team_cmds::team_path(g, &config),
        team_default: g
            .config
            .clone()
            .or_else(config::default_config_path)
            .and_then(|c| c.parent().map(|d| d.join("team.toml"))),
        notifier: crate::notify::Notifier::new(&config.paging, &config.status_updates).ok(),
    };
    let run = crate::tui::RunOptions {
        mouse: config.ui.mouse,
        refresh: config.procs_refresh(),
        server: crate::sync::ServerSettings::from_config(&config),
    };
    crate::tui::run(store, opts, run).wrap_err("warroom TUI")?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli, name: &str, team_on_command_line: bool) -> Result<ExitCode> {
    let Some(mut command) = cli.command else {
        let g = Global {
            incident: cli.incident,
            data_dir: cli.paths.data_dir,
            config: cli.paths.config,
            team: cli.team,
        };
        return run_tui(&g, cli.theme);
    };
    if cli.theme.is_some() {
        return Err(UsageError(format!(
            "--theme is for the TUI (warroom with no command); `{name}` draws no colours"
        ))
        .into());
    }
    // A flag given before the command goes to the command's own, which wins when both are given;
    // a command that would ignore it refuses it instead.
    let (incident, team) = command.targets();
    let incident = match (incident, cli.incident) {
        (Some(own), before) => own.take().or(before),
        (None, Some(_)) => {
            return Err(UsageError(format!("--incident does not apply to `{name}`")).into());
        }
        (None, None) => None,
    };
    let team = match (team, cli.team) {
        (Some(own), before) => own.take().or(before),
        (None, Some(_)) if team_on_command_line => {
            return Err(UsageError(format!("--team does not apply to `{name}`")).into());
        }
        // WARROOM_TEAM in the environment: only the commands that read a team file use it.
        (None, _) => None,
    };
    command.run(&Global { incident, data_dir: cli.paths.data_dir, config: cli.paths.config, team })
}
