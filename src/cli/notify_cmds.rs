//! `warroom page`, `warroom contact` and `warroom update`: reaching people, and recording that we did.
//!
//! Config and usage problems (unknown person, no routing key) exit 2 and record nothing: nothing was
//! attempted. A page or status update that was attempted is always recorded, delivered or not; a
//! failed delivery prints one line on stderr and exits 1.

use std::process::ExitCode;

use chrono::{Duration, Utc};
use clap::ValueEnum;
use color_eyre::eyre::Result;

use super::team_cmds::{load_team, team_path};
use super::{Command, Ctx, UsageError};
use crate::incident::MAX_NOTE;
use crate::incident::sanitize::one_line;
use crate::incident::{Audience, Event, EventKind, IncidentState, Status, fold};
use crate::notify::{
    Channel, DeliveryError, Notifier, Page, StatusUpdate, paged_kind, status_delivery_failed_kind,
};
use crate::team::{self, Team};

/// How someone was contacted by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContactMethod {
    Phone,
    Sms,
    Chat,
    Email,
}

/// What came of a contact attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContactOutcome {
    Called,
    NoAnswer,
    Voicemail,
    Reached,
}

fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value().map(|p| p.get_name().to_string()).unwrap_or_default()
}

pub(super) fn run(ctx: &Ctx, cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Page { person, level, via, message } => page(ctx, person, level, via, message),
        Command::Contact { person, method, outcome } => {
            let (_, team) = team(ctx)?;
            let p = person_in(ctx, &team, &person)?;
            let kind = EventKind::ContactAttempted {
                person: p.id.clone(),
                method: value_name(method),
                outcome: value_name(outcome),
            };
            ctx.store.append(&Event::new(ctx.incident()?, Utc::now(), ctx.config.author(), kind))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Update { text, audience, status } => update(ctx, text.join(" "), audience, status),
        _ => unreachable!("notify_cmds::run is only called with page, contact and update"),
    }
}

fn usage(e: DeliveryError) -> color_eyre::Report {
    UsageError(e.to_string()).into()
}

fn page(
    ctx: &Ctx,
    person: Option<String>,
    level: Option<u32>,
    via: Option<Channel>,
    message: Option<String>,
) -> Result<ExitCode> {
    let notifier = Notifier::new(&ctx.config).map_err(usage)?;
    let channel = match via {
        Some(c) => c,
        None => notifier.default_channel().map_err(usage)?,
    };
    notifier.check(channel).map_err(usage)?;
    let incident = ctx.incident()?;
    let st = fold(&ctx.store.events(incident)?)?;
    let (_, team) = team(ctx)?;
    let id = match (person, level) {
        (Some(p), _) => p,
        (None, Some(n)) => level_person(ctx, &team, &st, n)?,
        (None, None) => return Err(UsageError("name a person to page, or --level N".into()).into()),
    };
    let p = person_in(ctx, &team, &id)?;
    let author = ctx.config.author();
    let page = Page::new(&st, p, level, message, &author);
    let result = notifier.page_blocking(channel, &page);
    let kind = paged_kind(&page, channel, &result);
    ctx.store.append(&Event::new(incident, Utc::now(), &author, kind))?;
    let who = format!("{} ({})", p.id, one_line(&p.name));
    match result {
        Ok(d) => {
            println!("paged {who} via {channel}: {d}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("warroom: page to {who} via {channel} failed (recorded): {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Whoever level `n` of the ladder for the incident's severity reaches now.
fn level_person(ctx: &Ctx, team: &Team, st: &IncidentState, n: u32) -> Result<String> {
    let now = Utc::now();
    let path = team_file(ctx);
    let sev = st.severity;
    let ladder = team
        .ladder(sev.get(), st.opened_at, st.acknowledged.as_ref().map(|a| a.at), now)
        .ok_or_else(|| UsageError(format!("team file {path} has no escalation ladder for {sev}")))?;
    let count = ladder.levels.len();
    let lvl = (n as usize).checked_sub(1).and_then(|i| ladder.levels.get(i)).ok_or_else(|| {
        UsageError(format!("--level {n}: the {sev} ladder in {path} has levels 1 to {count}"))
    })?;
    let person = team.resolve(&lvl.target, now).ok_or_else(|| {
        UsageError(format!("--level {n}: its target reaches nobody now (team file {path})"))
    })?;
    Ok(person.id.clone())
}

fn team_file(ctx: &Ctx) -> String {
    team_path(&ctx.global, &ctx.config).map(|p| p.display().to_string()).unwrap_or_default()
}

fn team(ctx: &Ctx) -> Result<(String, Team)> {
    let path = team_path(&ctx.global, &ctx.config).ok_or_else(|| {
        UsageError(
            "no team file: pass --team FILE or set `[team] file` in the config (see team.example.toml)"
                .into(),
        )
    })?;
    match load_team(&path)? {
        Ok(t) => Ok((path.display().to_string(), t)),
        Err(problems) => {
            eprint!("{}", team::format_errors(&problems));
            Err(UsageError(format!(
                "{}: {} problem(s); run `warroom team check`",
                path.display(),
                problems.len()
            ))
            .into())
        }
    }
}

fn person_in<'t>(ctx: &Ctx, team: &'t Team, id: &str) -> Result<&'t crate::team::Person> {
    team.person(id).ok_or_else(|| {
        let known: Vec<&str> = team.people.keys().map(String::as_str).collect();
        UsageError(format!(
            "unknown person `{}` in team file {} (known: {})",
            one_line(id),
            team_file(ctx),
            known.join(", ")
        ))
        .into()
    })
}

fn update(ctx: &Ctx, text: String, audience: Audience, status: Option<Status>) -> Result<ExitCode> {
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(UsageError("the status update is empty: nothing was recorded".into()).into());
    }
    if text.len() > MAX_NOTE {
        return Err(UsageError(format!(
            "the status update is {} bytes, more than the {MAX_NOTE} allowed",
            text.len()
        ))
        .into());
    }
    let incident = ctx.incident()?;
    let st = fold(&ctx.store.events(incident)?)?;
    let author = ctx.config.author();
    let now = Utc::now();
    let mut at = now;
    if let Some(s) = status {
        ctx.store.append(&Event::new(incident, now, &author, EventKind::StatusSet { status: s }))?;
        // The update reads after the status it announces: events at one instant sort by random id.
        at = now + Duration::milliseconds(1);
    }
    let kind = EventKind::StatusUpdatePosted { audience, text: text.clone() };
    ctx.store.append(&Event::new(incident, at, &author, kind))?;
    if ctx.config.status_updates.webhook_url.is_none() {
        return Ok(ExitCode::SUCCESS);
    }
    let update = StatusUpdate {
        incident,
        title: st.title.clone(),
        severity: st.severity,
        status: status.unwrap_or(st.status),
        audience,
        text,
        by: author.clone(),
    };
    let result = match Notifier::new(&ctx.config) {
        Ok(n) => n.post_status_update_blocking(&update),
        Err(e) => Some(Err(e)),
    };
    match result {
        None => Ok(ExitCode::SUCCESS),
        Some(Ok(d)) => {
            println!("status update posted: {d}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Err(e)) => {
            let note = status_delivery_failed_kind(&e);
            ctx.store.append(&Event::new(incident, Utc::now().max(at), &author, note))?;
            eprintln!("warroom: status update recorded, but delivery failed (noted on the timeline): {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
