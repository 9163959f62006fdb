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

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
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
    pub global: Global,
    /// TUI colour theme: default, high-contrast, 16-colour, light, or one in ~/.config/warroom/themes.
    /// Default: `[ui] theme`. NO_COLOR=1 turns colour off whatever the theme. (The TUI only: no
    /// subcommand draws colours.)
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
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
    /// Team file (people, rotations, escalation). Default: `[team] file` in the config.
    #[arg(long, global = true, env = "WARROOM_TEAM", value_name = "FILE")]
    pub team: Option<PathBuf>,
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
        /// Kind of note: note, finding, action, change, decision. A change with no open incident
        /// goes to the host change log.
        #[arg(long, short, default_value = "note", value_parser = parse_tag)]
        tag: Tag,
        /// When it happened, if earlier: RFC 3339, `YYYY-MM-DD HH:MM` (UTC), `HH:MM` (UTC, the
        /// last one), or `20m`/`2h` ago. A note before the opening marks when impact began.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Who said or did it (default: `[user] name`, then WARROOM_AUTHOR, then $USER@host).
        #[arg(long, value_name = "NAME")]
        author: Option<String>,
    },
    /// Run a command as a recorded change (a deploy, a rollback): its start, exit status and
    /// duration go on the open incident, or in the host change log when none is open. Exits with
    /// the command's status.
    Change {
        /// What the change is, in words. Default: the command line.
        #[arg(long, short, value_name = "TEXT")]
        message: Option<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// The host change log: changes recorded on this host (with no incident open, or during one).
    Changes {
        /// How far back, in hours. Default: `[changes] window_hours` (4).
        #[arg(long, value_name = "HOURS")]
        hours: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Follow-ups: work that must happen after the incident (owner, priority, ticket, status).
    Followup {
        #[command(subcommand)]
        command: FollowupCommand,
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
    /// Mark the incident resolved, with a one-line resolution (asked for on a terminal). Warns
    /// about unticked runbook steps and unacknowledged pages.
    Resolve {
        /// What ended the impact, in one line.
        #[arg(long, short, value_name = "TEXT")]
        message: Option<String>,
        /// Resolve without asking, whatever the warnings.
        #[arg(long, short)]
        yes: bool,
    },
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
    /// Team file commands.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Runbook commands.
    Runbook {
        #[command(subcommand)]
        command: RunbookCommand,
    },
    /// Who is on call now (or --at TIME) and next, per rotation; pagers taken with
    /// `oncall take` count.
    Oncall {
        /// An instant: RFC 3339, or `YYYY-MM-DD HH:MM` in UTC.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<OncallCommand>,
    },
    /// Run the escalation engine on this host: page each ladder level of every open incident when
    /// it falls due, until acknowledged. With a server configured, claims go through it.
    Escalate,
    /// Page a person from the team file, or whoever level N of the incident's ladder reaches now.
    /// Delivered or not, the page is recorded on the timeline; a failed page exits 1.
    Page {
        /// Person id from the team file (optional with --level).
        #[arg(required_unless_present = "level", value_name = "PERSON_ID")]
        person: Option<String>,
        /// Escalation level this page stands for; alone, pages whoever that level reaches now.
        #[arg(long, value_name = "N")]
        level: Option<u32>,
        /// pagerduty or webhook. Default: PagerDuty when a routing key is configured, else the webhook.
        #[arg(long, value_parser = parse_channel, value_name = "CHANNEL")]
        via: Option<Channel>,
        /// The text the paged person reads. Default: severity, title and who is paged.
        #[arg(long, short)]
        message: Option<String>,
        /// Page without asking even if the person is not on call now.
        #[arg(long, short)]
        yes: bool,
    },
    /// Record a contact attempt made by hand (a call, an SMS, a chat message, an email).
    Contact {
        /// Person id from the team file.
        #[arg(value_name = "PERSON_ID")]
        person: String,
        #[arg(long, value_enum)]
        method: notify_cmds::ContactMethod,
        #[arg(long, value_enum)]
        outcome: notify_cmds::ContactOutcome,
    },
    /// Post a status update: recorded, and sent to `[status_updates] webhook_url` when configured.
    Update {
        /// The update text (several words are joined).
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
        /// Who it is for: internal or stakeholders.
        #[arg(long, default_value = "internal", value_parser = parse_audience)]
        audience: Audience,
        /// Also set the incident status (investigating, identified, monitoring, resolved).
        #[arg(long, value_parser = parse_status, value_name = "STATE")]
        status: Option<Status>,
    },
    /// Run the sync backend other warroom clients share incidents through.
    Serve {
        /// Address to listen on (IP:PORT; port 0 picks one). Default 127.0.0.1:7077.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The server database: a SQLite file (default: server.db in the data dir), or a
        /// postgres://user@host/db URL that several replicas share.
        #[arg(long, value_name = "FILE|URL")]
        db: Option<PathBuf>,
        /// Serve without tokens, bound to loopback only (for one host, e.g. a tmux pair).
        #[arg(long)]
        insecure_loopback: bool,
    },
    /// Fetch an incident someone else opened on a server and make it current.
    Join {
        /// The server, e.g. https://warroom.example.internal
        url: String,
        /// The incident's id.
        #[arg(value_name = "INCIDENT_ID")]
        incident_id: String,
    },
    /// Print the process snapshot the process pane shows (sorted, optionally filtered).
    Ps {
        #[arg(long)]
        json: bool,
        /// Sort by cpu, mem, pid, time or name.
        #[arg(long, default_value = "cpu", value_parser = parse_sort)]
        sort: crate::procs::SortKey,
        /// Only processes whose name or command line contains TEXT (case-insensitive).
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Milliseconds between the two samples CPU% is computed from.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        interval_ms: u64,
    },
    /// Capture evidence of a process without signalling it (as the kill guard does first):
    /// /proc state, threads, sockets, cgroup, journal, the process table and, with the
    /// standard profile, the runtime's own dumps. Recorded on the incident's timeline.
    Capture {
        /// The process id.
        pid: i32,
        /// quick (/proc only, never pauses the target), standard (adds native/Python/JVM/Node
        /// dumps when their tool is installed; pauses the target while they run), full (adds a
        /// gcore core dump, refused when larger than the free disk).
        #[arg(long, default_value = "standard", value_parser = parse_profile)]
        profile: crate::procs::Profile,
        /// Also send SIGQUIT to a Go program for its goroutine dump. This ENDS the program
        /// unless it handles SIGQUIT.
        #[arg(long)]
        go_sigquit: bool,
        /// Kill each dump tool after SECS seconds.
        #[arg(long, default_value_t = 20, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
        timeout: u64,
        /// Print the manifest (JSON) instead of the step list.
        #[arg(long)]
        json: bool,
    },
    /// Signal a process, its whole tree (--tree) or its process group (--group): every member is
    /// previewed, the set is refused whole if it holds PID 1, warroom or an ancestor of your
    /// session, evidence of the process is captured first, each member is signalled through its
    /// own pidfd, and whether each exited (and how long it took) goes on the timeline.
    Kill {
        pid: i32,
        /// The process and all its descendants.
        #[arg(long, conflicts_with = "group")]
        tree: bool,
        /// Every process in its process group.
        #[arg(long)]
        group: bool,
        /// TERM, INT, HUP, QUIT, USR1, USR2, KILL, STOP, CONT (or the number).
        #[arg(long, short, default_value = "TERM", value_parser = parse_signal)]
        signal: crate::procs::Sig,
        /// Why: required, recorded on the timeline.
        #[arg(long, short)]
        reason: String,
        /// Seconds to watch for the exits.
        #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=600))]
        grace: u64,
        /// Send without asking (required when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
        /// Skip the evidence capture.
        #[arg(long)]
        no_evidence: bool,
    },
    /// Capture evidence of a process, then restart the systemd service or docker/podman container
    /// it belongs to (through the kill guard's rules: reason required, never warroom's own unit or
    /// container). The restart and its outcome (state, new pid, how long) go on the timeline.
    Restart {
        pid: i32,
        /// Why: required, recorded on the timeline.
        #[arg(long, short)]
        reason: String,
        /// The evidence profile (see `capture`).
        #[arg(long, default_value = "standard", value_parser = parse_profile)]
        profile: crate::procs::Profile,
        /// Give the restart command this many seconds.
        #[arg(long, default_value_t = 90, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
        timeout: u64,
        /// Restart without asking (required when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
        /// Skip the evidence capture.
        #[arg(long)]
        no_evidence: bool,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum FollowupCommand {
    /// Add a follow-up to the incident.
    Add {
        /// What must be done (several words are joined).
        #[arg(required = true, num_args = 1.., value_name = "TEXT")]
        text: Vec<String>,
        /// Who owns it.
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// p0 (drop everything) to p3. Default p2.
        #[arg(long, short, default_value = "p2", value_parser = parse_priority)]
        priority: crate::incident::Priority,
        /// A ticket: URL or key (e.g. OPS-123).
        #[arg(long, value_name = "TICKET")]
        ticket: Option<String>,
    },
    /// List the incident's follow-ups (number, status, priority, owner, ticket).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Mark a follow-up done (or `--wont-do`, or `--reopen`). N is its number in `list` or an id prefix.
    Done {
        #[arg(value_name = "N")]
        which: String,
        /// Closed without doing it.
        #[arg(long, conflicts_with = "reopen")]
        wont_do: bool,
        /// Open it again.
        #[arg(long)]
        reopen: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Take a rotation's pager: you are on call for it until --until (default: the end of the
    /// current shift). Synced through the server; `oncall` and the escalation ladder honour it.
    Take {
        /// The rotation id from the team file.
        #[arg(value_name = "ROTATION")]
        rotation: String,
        /// Who takes it (a person id). Default: `[user] name`.
        #[arg(long, value_name = "PERSON_ID")]
        person: Option<String>,
        /// Until when: RFC 3339, or `YYYY-MM-DD HH:MM` in UTC.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Why (shown in `oncall`).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Validate a team file: one line per problem (file:line, field), exit 2 if any.
    Check {
        /// The file to check. Default: --team or `[team] file`.
        file: Option<PathBuf>,
    },
    /// Write a starter team file (you, one rotation, a ladder per severity) and point the
    /// config's `[team] file` at it (creating the config, 0600, if there is none).
    Init {
        /// Where to write it. Default: --team, `[team] file`, or team.toml beside the config.
        file: Option<PathBuf>,
        /// Replace an existing team file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// List the runbooks found (configured dir, data dir, built-ins).
    List,
    /// Validate runbook files: one line per problem (file:line), exit 2 if any.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Attach a runbook to the incident: its checklist shows in the TUI and the postmortem.
    Attach {
        #[arg(value_name = "RUNBOOK_ID")]
        runbook: String,
    },
    /// Show a runbook's items with their ids, commands and what the incident has ticked.
    Show {
        #[arg(value_name = "RUNBOOK_ID")]
        runbook: String,
    },
    /// Tick a checklist item (--undo unticks it). ITEM_ID may be a unique prefix.
    Tick {
        #[arg(value_name = "RUNBOOK_ID")]
        runbook: String,
        #[arg(value_name = "ITEM_ID")]
        item: String,
        #[arg(long)]
        undo: bool,
    },
    /// Run an item's command after confirmation, streaming its output; the output is kept as
    /// evidence and the run recorded on the timeline. Exits 0 when the command ran, whatever
    /// its exit status.
    Run {
        #[arg(value_name = "RUNBOOK_ID")]
        runbook: String,
        /// The item id or a unique prefix of it.
        #[arg(value_name = "ITEM_ID")]
        item: String,
        /// Run without asking (required when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
        /// Kill the command after SECS seconds. Default: `[runbooks] command_timeout_secs` (60).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Md,
    Json,
}

fn parse_sort(s: &str) -> Result<crate::procs::SortKey, String> {
    s.parse()
}
fn parse_signal(s: &str) -> Result<crate::procs::Sig, String> {
    s.parse()
}
fn parse_profile(s: &str) -> Result<crate::procs::Profile, String> {
    s.parse()
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
fn parse_priority(s: &str) -> Result<crate::incident::Priority, String> {
    s.parse()
}
fn parse_audience(s: &str) -> Result<Audience, String> {
    s.parse()
}
fn parse_channel(s: &str) -> Result<Channel, String> {
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap quotes the offending argument: a 2 MB argument must not become a 2 MB line.
            for line in e.to_string().lines() {
                eprintln!("{}", crate::incident::sanitize::error_line(line));
            }
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) if err.chain().any(|c| c.is::<StdoutClosed>()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("warroom: {}", one_line_error(&err));
            ExitCode::from(exit_status(&err))
        }
    }
}

/// Commands that act on an incident through the store (wrapped in sync by `sync_cmds::around`).
fn store_command(ctx: &Ctx, cmd: Command) -> Result<ExitCode> {
    match cmd {
        cmd @ (Command::Page { .. } | Command::Contact { .. } | Command::Update { .. }) => {
            notify_cmds::run(ctx, cmd)
        }
        Command::Runbook { command } => runbook_cmds::incident(ctx, command),
        cmd @ (Command::Change { .. } | Command::Changes { .. }) => change_cmds::run(ctx, cmd),
        Command::Followup { command } => followup_cmds::run(ctx, command),
        Command::Oncall {
            command: Some(OncallCommand::Take { rotation, person, until, reason }), ..
        } => escalation_cmds::take(ctx, rotation, person, until, reason),
        Command::Oncall { at, json, command: None } => team_cmds::oncall(ctx, at, json),
        Command::Escalate => escalation_cmds::escalate(ctx),
        Command::Kill { pid, tree, group, signal, reason, grace, yes, no_evidence } => {
            use crate::procs::killset::Scope;
            let scope = if tree {
                Scope::Tree
            } else if group {
                Scope::Group
            } else {
                Scope::One
            };
            let args = capture_cmds::KillArgs {
                pid,
                scope,
                signal,
                reason,
                grace_secs: grace,
                yes,
                evidence: !no_evidence,
            };
            capture_cmds::kill(ctx, args)
        }
        Command::Capture { pid, profile, go_sigquit, timeout, json } => capture_cmds::capture(
            ctx,
            capture_cmds::CaptureArgs { pid, profile, go_sigquit, timeout_secs: timeout, json },
        ),
        Command::Restart { pid, reason, profile, timeout, yes, no_evidence } => capture_cmds::restart(
            ctx,
            capture_cmds::RestartArgs {
                pid,
                reason,
                profile,
                timeout_secs: timeout,
                yes,
                evidence: !no_evidence,
            },
        ),
        cmd => incident_cmds::run(ctx, cmd),
    }
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
        notifier: crate::notify::Notifier::new(&config).ok(),
    };
    crate::tui::run(store, opts, config.ui.mouse, &config).wrap_err("warroom TUI")?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        None => run_tui(g, cli.theme),
        Some(Command::Completions { shell }) => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "warroom", &mut buf);
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf).wrap_err("rendering the man page")?;
            out!("{}", String::from_utf8_lossy(&buf));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Team { command: TeamCommand::Check { file } }) => {
            team_cmds::check(g, &Config::load(g.config.as_deref())?, file)
        }
        Some(Command::Team { command: TeamCommand::Init { file, force } }) => team_cmds::init(g, file, force),
        Some(Command::Runbook { command: RunbookCommand::List }) => {
            runbook_cmds::list(g, &Config::load(g.config.as_deref())?)
        }
        Some(Command::Runbook { command: RunbookCommand::Check { files } }) => runbook_cmds::check(&files),
        Some(Command::Ps { json, sort, filter, interval_ms }) => ps_cmds::ps(json, sort, filter, interval_ms),
        Some(Command::Serve { listen, db, insecure_loopback }) => {
            sync_cmds::serve(g, listen, db, insecure_loopback)
        }
        Some(Command::Join { url, incident_id }) => sync_cmds::join(&Ctx::load(g)?, &url, &incident_id),
        Some(cmd) => sync_cmds::around(&Ctx::load(g)?, cmd),
    }
}
