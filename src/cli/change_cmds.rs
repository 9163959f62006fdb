//! The change trail: `warroom change -- CMD` runs a command as a recorded change, `note --tag
//! change` records one in words, `warroom changes` lists the host change log. Every change goes
//! through [`record_change`]: into the host change log, and onto the incident when one is open.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use color_eyre::eyre::Result;

use super::{Ctx, IncidentArg, UsageError};
use crate::incident::change::HostChange;
use crate::incident::export::fmt_ms;
use crate::incident::sanitize::one_line;
use crate::incident::{ChangeCommand, Event, EventKind, IncidentId, Tag};

#[derive(Debug, clap::Args)]
pub struct Change {
    /// What the change is, in words. Default: the command line.
    #[arg(long, short, value_name = "TEXT")]
    message: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Change {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        change(ctx, self.message, self.command)
    }
}

#[derive(Debug, clap::Args)]
pub struct Changes {
    /// How far back, in hours. Default: `[changes] window_hours` (4).
    #[arg(long, value_name = "HOURS")]
    hours: Option<u32>,
    #[arg(long)]
    json: bool,
}

impl Changes {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        list(ctx, self.hours, self.json)
    }
}

/// Where a change was recorded.
pub enum Recorded {
    /// On this incident (and in the host change log).
    Incident(IncidentId),
    /// Only in the host change log: no incident was open.
    HostLog,
}

/// Records a change: always in the host change log (the host's own history, which the next
/// incident opened here will show), and on the open incident if there is one — as a
/// `change_recorded` event, or as the `change` note `note_event` when it came from `note`.
pub fn record_change(
    ctx: &Ctx,
    at: DateTime<Utc>,
    author: &str,
    text: &str,
    command: Option<ChangeCommand>,
    note_event: Option<Event>,
) -> Result<(Recorded, bool)> {
    let change = HostChange::new(at, author, crate::config::hostname(), text, command.clone());
    ctx.store.record_host_change(&change)?;
    let open = ctx.open_incident()?;
    let ev = match note_event {
        Some(mut ev) => {
            ev.incident = open.unwrap_or_default();
            ev
        }
        None => Event::new(
            open.unwrap_or_default(),
            at,
            author,
            EventKind::ChangeRecorded {
                text: text.to_string(),
                host: change.host.clone(),
                command,
                host_log_id: Some(change.id),
            },
        ),
    };
    let recorded = match open {
        Some(incident) => {
            ctx.store.append(&ev)?;
            Recorded::Incident(incident)
        }
        None => Recorded::HostLog,
    };
    // The one place every change passes: it goes to PagerDuty's Change Events API when a routing
    // key is set (recorded on the incident, if one is open).
    let sent = super::escalation_cmds::forward(ctx, &ev)?;
    Ok((recorded, sent))
}

/// A `note --tag change`: on the open incident as a note, always in the host change log.
/// Returns whether forwarding to PagerDuty (when configured) went through.
pub(super) fn change_note(ctx: &Ctx, at: DateTime<Utc>, author: &str, text: String) -> Result<bool> {
    let note =
        Event::new(uuid::Uuid::nil(), at, author, EventKind::Note { text: text.clone(), tag: Tag::Change });
    let (recorded, sent) = record_change(ctx, at, author, &text, None, Some(note))?;
    if let Recorded::HostLog = recorded {
        eprintln!("warroom: no open incident: change recorded in the host change log");
    }
    Ok(sent)
}

fn change(ctx: &Ctx, message: Option<String>, argv: Vec<String>) -> Result<ExitCode> {
    let Some(program) = argv.first() else {
        return Err(UsageError("give the command after `--`: warroom change -- CMD ARGS".into()).into());
    };
    let shown = crate::procs::redact::shell_line(&argv);
    let text = match message.map(|m| m.trim().to_string()) {
        Some(m) if m.is_empty() => return Err(UsageError("--message is empty".into()).into()),
        Some(m) => m,
        None => shown.clone(),
    };
    let author = ctx.config.author();
    let at = Utc::now();
    let t0 = Instant::now();
    let status = std::process::Command::new(program).args(&argv[1..]).status();
    let duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (exit_code, outcome, code) = match &status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(c), _) => (Some(c), format!("exit {c}"), c.clamp(0, 255) as u8),
            (None, Some(sig)) => {
                (None, format!("killed by {}", signal_name(sig)), (128 + sig).clamp(0, 255) as u8)
            }
            (None, None) => (None, "ended without a status".to_string(), 1),
        },
        Err(e) => (None, format!("could not start: {}", one_line(&e.to_string())), 127),
    };
    let command = ChangeCommand { command: shown, exit_code, outcome: outcome.clone(), duration_ms };
    let (recorded, _sent) = record_change(ctx, at, &author, &text, Some(command), None)?;
    let place = match recorded {
        Recorded::Incident(id) => format!("incident {}", &id.to_string()[..8]),
        Recorded::HostLog => "the host change log (no open incident)".to_string(),
    };
    eprintln!("warroom: change recorded in {place}: {outcome} after {}", fmt_ms(duration_ms));
    if let Err(e) = status {
        return Err(UsageError(format!("cannot run `{}`: {e}", one_line(program))).into());
    }
    Ok(ExitCode::from(code))
}

fn signal_name(sig: i32) -> String {
    match sig {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        3 => "SIGQUIT".into(),
        6 => "SIGABRT".into(),
        9 => "SIGKILL".into(),
        13 => "SIGPIPE".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

fn list(ctx: &Ctx, hours: Option<u32>, json: bool) -> Result<ExitCode> {
    let hours = hours.unwrap_or(ctx.config.changes.window_hours);
    let since = Utc::now() - Duration::hours(i64::from(hours));
    let log = ctx.store.host_changes_since(since)?;
    if json {
        super::print_json(&log, "changes")?;
        return Ok(ExitCode::SUCCESS);
    }
    if log.is_empty() {
        outln!("No changes recorded on this host in the last {hours}h.");
    }
    for c in &log {
        outln!("{}", change_line(c));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line for a host change: time, who, what, and how its command ended.
pub fn change_line(c: &HostChange) -> String {
    let how = c
        .command
        .as_ref()
        .map(|k| format!("  ({}, {})", k.outcome, fmt_ms(k.duration_ms)))
        .unwrap_or_default();
    format!("{}  {}  {}{how}", c.at.format("%Y-%m-%d %H:%M:%S UTC"), one_line(&c.author), one_line(&c.text))
}
