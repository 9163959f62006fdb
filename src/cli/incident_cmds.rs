//! Commands that read or append to an incident's timeline.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use super::{Ctx, ExportFormat, IncidentArg, UsageError};
use crate::incident::export::{human_duration, resolve_warnings, to_json, to_markdown_with};
use crate::incident::sanitize::one_line;
use crate::incident::{Event, EventKind, IncidentState, Severity, Status, Tag, fold};

#[derive(Debug, clap::Args)]
pub struct New {
    /// What is wrong, in a few words.
    title: String,
    /// Severity, 1 (worst) to 4.
    #[arg(long, value_parser = super::parse_severity)]
    sev: Severity,
    /// A longer description.
    #[arg(long)]
    summary: Option<String>,
}

impl New {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let now = Utc::now();
        let New { title, sev, summary } = self;
        let author = ctx.config.author();
        let title = title.trim().to_string();
        if title.is_empty() {
            return Err(UsageError("the incident title must not be empty".into()).into());
        }
        let ev = Event::open(now, author, title, sev, summary.filter(|s| !s.trim().is_empty()));
        ctx.store.append(&ev)?;
        ctx.store.set_current(ev.id)?;
        outln!("{}", ev.id);
        let hours = ctx.config.changes.window_hours;
        let copied = ctx.store.copy_recent_changes(ev.id, now, chrono::Duration::hours(i64::from(hours)))?;
        if !copied.is_empty() {
            eprintln!("Changes on this host in the last {hours}h (now on the timeline):");
            for c in &copied {
                eprintln!("  {}", super::change_cmds::change_line(c));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct Note {
    /// The note text (several words are joined), or `-` for stdin.
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    text: Vec<String>,
    /// Kind of note: note, finding, action, change, decision. A change with no open incident
    /// goes to the host change log.
    #[arg(long, short, default_value = "note", value_parser = super::parse_tag)]
    tag: Tag,
    /// When it happened, if earlier: RFC 3339, `YYYY-MM-DD HH:MM` (UTC), `HH:MM` (UTC, the
    /// last one), or `20m`/`2h` ago. A note before the opening marks when impact began.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Who said or did it (default: `[user] name`, then WARROOM_AUTHOR, then $USER@host).
    #[arg(long, value_name = "NAME")]
    author: Option<String>,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Note {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let now = Utc::now();
        let Note { text, tag, at, author: who, target: _ } = self;
        let author = ctx.config.author();
        let text = if text.len() == 1 && text[0] == "-" {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).wrap_err("reading the note from stdin")?;
            // Bad input, like an empty note: a usage error (exit 2), not a failure of ours.
            String::from_utf8(buf).map_err(|e| {
                UsageError(format!("the note on stdin is not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
            })?
        } else {
            text.join(" ")
        };
        let text = super::recorded_text(&text, "note", ": attach long output as evidence")?;
        let at = match at {
            Some(t) => parse_at(&t, now).map_err(|e| UsageError(format!("--at: {e}")))?,
            None => now,
        };
        let author = match who.map(|w| one_line(w.trim()).into_owned()) {
            Some(w) if w.is_empty() => return Err(UsageError("--author is empty".into()).into()),
            Some(w) if w.len() > crate::config::MAX_AUTHOR_BYTES => {
                let max = crate::config::MAX_AUTHOR_BYTES;
                return Err(UsageError(format!("--author is longer than {max} bytes")).into());
            }
            Some(w) => w,
            None => author,
        };
        if tag == Tag::Change {
            let sent = super::change_cmds::change_note(ctx, at, &author, text)?;
            return Ok(if sent { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        append(ctx, at, &author, EventKind::Note { text, tag })?;
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct Ack {
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Ack {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let ev = append(ctx, Utc::now(), &ctx.config.author(), EventKind::Acknowledged {})?;
        forwarded(ctx, &ev)
    }
}

#[derive(Debug, clap::Args)]
pub struct Sev {
    #[arg(value_parser = super::parse_severity)]
    severity: Severity,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Sev {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        append(ctx, Utc::now(), &ctx.config.author(), EventKind::SeveritySet { severity: self.severity })?;
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct State {
    /// investigating, identified or monitoring (resolving: `warroom resolve`).
    #[arg(value_parser = super::parse_open_status)]
    status: Status,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl State {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let ev = append(ctx, Utc::now(), &ctx.config.author(), EventKind::StatusSet { status: self.status })?;
        forwarded(ctx, &ev)
    }
}

#[derive(Debug, clap::Args)]
pub struct Resolve {
    /// What ended the impact, in one line.
    #[arg(long, short, value_name = "TEXT")]
    message: Option<String>,
    /// Resolve without asking, whatever the warnings.
    #[arg(long, short)]
    yes: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Resolve {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        resolve(ctx, Utc::now(), &ctx.config.author(), self.message, self.yes)
    }
}

#[derive(Debug, clap::Args)]
pub struct Incidents {
    #[arg(long)]
    all: bool,
    #[arg(long)]
    json: bool,
}

impl Incidents {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let Incidents { all, json } = self;
        let list: Vec<IncidentState> =
            ctx.store.incidents()?.into_iter().filter(|i| all || i.is_open()).collect();
        if json {
            super::print_json(&list, "incidents")?;
        } else if list.is_empty() {
            outln!("{}", if all { "No incidents." } else { "No open incidents (see --all)." });
        } else {
            for i in &list {
                outln!(
                    "{}  {}  {:<13}  {}  {}",
                    &i.id.to_string()[..13],
                    i.severity,
                    i.status,
                    i.opened_at.format("%Y-%m-%d %H:%M UTC"),
                    one_line(&i.title)
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct StatusCmd {
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl StatusCmd {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let now = Utc::now();
        let StatusCmd { json, target: _ } = self;
        let st = load(ctx)?.0;
        if json {
            super::print_json(&st, "status")?;
        } else {
            print_status(&st, now)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct Export {
    #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
    format: ExportFormat,
    /// Write to FILE (mode 0600) instead of stdout (`-` is stdout).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Export {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let now = Utc::now();
        let Export { format, output, target: _ } = self;
        let (st, events) = load(ctx)?;
        let text = match format {
            ExportFormat::Md => {
                let texts = crate::report::runbook_texts(&ctx.config, ctx.global.data_dir.as_deref(), &st);
                to_markdown_with(&st, &events, ctx.config.timezone(), now, &texts)
            }
            ExportFormat::Json => to_json(&st, &events, now),
        };
        // `-o -` is stdout, as in most tools, not a file named `-`.
        match output.filter(|p| p.as_os_str() != "-") {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(super::stdout_error)?;
            }
            Some(path) => {
                crate::report::write_private(&path, &text)
                    .wrap_err_with(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn append(ctx: &Ctx, now: chrono::DateTime<Utc>, author: &str, kind: EventKind) -> Result<Event> {
    let incident = ctx.incident()?;
    let ev = Event::new(incident, now, author, kind);
    ctx.store.append(&ev)?;
    Ok(ev)
}

/// Tells PagerDuty what `ev` means for it (ack, resolve, change); exit 1 if that failed.
fn forwarded(ctx: &Ctx, ev: &Event) -> Result<ExitCode> {
    Ok(if super::escalation_cmds::forward(ctx, ev)? { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn load(ctx: &Ctx) -> Result<(IncidentState, Vec<Event>)> {
    let incident = ctx.incident()?;
    let events = ctx.store.events(incident)?;
    let st = fold(&events)?;
    Ok((st, events))
}

fn print_status(st: &IncidentState, now: chrono::DateTime<Utc>) -> Result<()> {
    outln!("{} {}  [{}]", st.severity, one_line(&st.title), st.status);
    outln!("id        {}", st.id);
    outln!(
        "opened    {} by {} ({} ago)",
        st.opened_at.format("%Y-%m-%d %H:%M:%S UTC"),
        one_line(&st.opened_by),
        human_duration(now - st.opened_at)
    );
    match &st.acknowledged {
        Some(a) => outln!("acked     {} by {}", a.at.format("%H:%M:%S UTC"), one_line(&a.by)),
        None => outln!("acked     no"),
    }
    if let Some(r) = st.resolved_at {
        outln!(
            "resolved  {} (lasted {})",
            r.format("%Y-%m-%d %H:%M:%S UTC"),
            human_duration(r - st.opened_at)
        );
    }
    for (role, who) in &st.roles {
        outln!("{:<9} {}", role.as_str(), one_line(&who.value));
    }
    outln!("events    {}  notes {}  people {}", st.event_count, st.notes.len(), st.people.len());
    if let Some(n) = st.notes.last() {
        outln!("last note {} {}: {}", n.at.format("%H:%M UTC"), one_line(&n.author), one_line(&n.text));
    }
    Ok(())
}

/// `--at`: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (UTC), `HH:MM` (UTC, the latest such time not after
/// now), or a relative `20m`, `2h`, `90s` (ago, a leading `-` and a trailing `ago` allowed). Never
/// in the future (a minute of clock skew allowed).
pub fn parse_at(s: &str, now: chrono::DateTime<Utc>) -> Result<chrono::DateTime<Utc>, String> {
    let t = s.trim();
    let rel = t.trim_start_matches('-').trim_end_matches("ago").trim();
    let at = if let Some((num, unit)) = rel
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| rel.split_at(i))
        .filter(|(n, u)| !n.is_empty() && ["s", "m", "min", "h"].contains(&u.trim()))
    {
        let n: i64 = num.parse().map_err(|_| format!("bad number in `{t}`"))?;
        let secs = match unit.trim() {
            "s" => n,
            "m" | "min" => n.saturating_mul(60),
            _ => n.saturating_mul(3600),
        };
        if secs > 30 * 86_400 {
            return Err(format!("`{t}` is more than 30 days ago"));
        }
        now - chrono::Duration::seconds(secs)
    } else if let Ok(hm) = chrono::NaiveTime::parse_from_str(t, "%H:%M") {
        let today = now.date_naive().and_time(hm).and_utc();
        if today > now + chrono::Duration::minutes(1) { today - chrono::Duration::days(1) } else { today }
    } else {
        crate::team::parse_instant(t).map_err(|e| format!("{e}, HH:MM (UTC) or 20m/2h ago"))?
    };
    if at > now + chrono::Duration::minutes(1) {
        return Err(format!("`{t}` is in the future ({})", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    Ok(at)
}

/// `warroom resolve`: warns about unticked runbook steps and unacknowledged pages, asks for the
/// one-line resolution (on a terminal; `-m` otherwise), then records it and the status.
fn resolve(
    ctx: &Ctx,
    now: chrono::DateTime<Utc>,
    author: &str,
    message: Option<String>,
    yes: bool,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    let (st, events) = load(ctx)?;
    if !st.is_open() {
        let when = st.resolved_at.map(|t| t.format(" at %Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
        return Err(color_eyre::eyre::eyre!(
            "incident {} is already resolved{when}",
            &st.id.to_string()[..8]
        ));
    }
    let texts = crate::report::runbook_texts(&ctx.config, ctx.global.data_dir.as_deref(), &st);
    let warnings = resolve_warnings(&st, &events, &texts);
    for w in &warnings {
        eprintln!("warroom: warning: {w}");
    }
    let tty = std::io::stdin().is_terminal();
    let text = match message {
        Some(m) => m,
        None if tty => prompt("Resolution, in one line (what ended the impact): ")?,
        None => {
            return Err(UsageError(
                "resolving needs a one-line resolution: warroom resolve -m \"rolled back to v1.4.1\"".into(),
            )
            .into());
        }
    };
    let text = super::recorded_text(&one_line(text.trim()), "resolution", "")?;
    if !warnings.is_empty() && tty && !yes {
        let answer = prompt("Resolve anyway? [y/N] ")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("warroom: not resolved");
            return Ok(ExitCode::FAILURE);
        }
    }
    let incident = st.id;
    ctx.store.append(&Event::new(incident, now, author, EventKind::ResolutionRecorded { text }))?;
    // The status reads after the resolution it closes with.
    let at = now + chrono::Duration::milliseconds(1);
    let resolved = Event::new(incident, at, author, EventKind::StatusSet { status: Status::Resolved });
    ctx.store.append(&resolved)?;
    eprintln!(
        "resolved after {}; `warroom export` writes the postmortem",
        human_duration(at - st.impact_started_at)
    );
    // PagerDuty `resolve` for every alert the incident triggered.
    forwarded(ctx, &resolved)
}

/// Asks on stderr and reads one line from stdin.
fn prompt(question: &str) -> Result<String> {
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).wrap_err("reading the answer")?;
    Ok(line.trim().to_string())
}
