//! `warroom page`, `warroom contact` and `warroom update`: reaching people, and recording that we did.
//!
//! Config and usage problems (unknown person, no routing key) exit 2 and record nothing: nothing was
//! attempted. A page or status update that was attempted is always recorded, delivered or not; a
//! failed delivery prints one line on stderr and exits 1.

use std::process::ExitCode;

use chrono::{Duration, Utc};
use clap::ValueEnum;
use color_eyre::eyre::Result;

use super::escalation_cmds::require_team;
use super::team_cmds::team_path;
use super::{Ctx, IncidentArg, TeamArg, UsageError};
use crate::incident::sanitize::one_line;
use crate::incident::{Audience, Event, EventKind, IncidentState, Status, fold};
use crate::notify::{Channel, DeliveryError, Notifier, Page, StatusUpdate, paged_kind};
use crate::team::Team;

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

#[derive(Debug, clap::Args)]
pub struct PageCmd {
    /// Person id from the team file (optional with --level).
    #[arg(required_unless_present = "level", value_name = "PERSON_ID")]
    person: Option<String>,
    /// Escalation level this page stands for; alone, pages whoever that level reaches now.
    #[arg(long, value_name = "N")]
    level: Option<u32>,
    /// pagerduty or webhook. Default: PagerDuty when a routing key is configured, else the webhook.
    #[arg(long, value_parser = super::parse_channel, value_name = "CHANNEL")]
    via: Option<Channel>,
    /// The text the paged person reads. Default: severity, title and who is paged.
    #[arg(long, short)]
    message: Option<String>,
    /// Page without asking even if the person is not on call now.
    #[arg(long, short)]
    yes: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
    #[command(flatten)]
    pub(super) team: TeamArg,
}

impl PageCmd {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        page(ctx, self.person, self.level, self.via, self.message, self.yes)
    }
}

#[derive(Debug, clap::Args)]
pub struct ContactCmd {
    /// Person id from the team file.
    #[arg(value_name = "PERSON_ID")]
    person: String,
    #[arg(long, value_enum)]
    method: ContactMethod,
    #[arg(long, value_enum)]
    outcome: ContactOutcome,
    #[command(flatten)]
    pub(super) target: IncidentArg,
    #[command(flatten)]
    pub(super) team: TeamArg,
}

impl ContactCmd {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let team = require_team(&ctx.global, &ctx.config)?;
        let p = person_in(ctx, &team, &self.person)?;
        let kind = EventKind::ContactAttempted {
            person: p.id.clone(),
            method: value_name(self.method),
            outcome: value_name(self.outcome),
        };
        ctx.store.append(&Event::new(ctx.incident()?, Utc::now(), ctx.config.author(), kind))?;
        Ok(ExitCode::SUCCESS)
    }
}

#[derive(Debug, clap::Args)]
pub struct UpdateCmd {
    /// The update text (several words are joined).
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    text: Vec<String>,
    /// Who it is for: internal or stakeholders.
    #[arg(long, default_value = "internal", value_parser = super::parse_audience)]
    audience: Audience,
    /// Also set the incident status (investigating, identified, monitoring; resolving is
    /// `warroom resolve`).
    #[arg(long, value_parser = super::parse_open_status, value_name = "STATE")]
    status: Option<Status>,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl UpdateCmd {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        update(ctx, self.text.join(" "), self.audience, self.status)
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
    yes: bool,
) -> Result<ExitCode> {
    let notifier = Notifier::new(&ctx.config.paging, &ctx.config.status_updates).map_err(usage)?;
    let channel = match via {
        Some(c) => c,
        None => notifier.default_channel().map_err(usage)?,
    };
    notifier.check(channel).map_err(usage)?;
    let incident = ctx.incident()?;
    let st = fold(&ctx.store.events(incident)?)?;
    let team = super::escalation_cmds::team_now(ctx)?;
    let id = match (person, level) {
        (Some(p), _) => p,
        (None, Some(n)) => level_person(ctx, &team, &st, n)?,
        (None, None) => return Err(UsageError("name a person to page, or --level N".into()).into()),
    };
    let p = person_in(ctx, &team, &id)?;
    // Waking someone who is off shift is sometimes right, never by accident: say who is on call.
    let now = Utc::now();
    if level.is_none() && !yes && !team.is_on_call(&p.id, now) {
        let who = team.on_call_summary(now);
        let question = format!("{} ({}) is not on call now (on call: {who})", p.id, one_line(&p.name));
        if !confirm(&format!("{question}. Page anyway? [y/N] "))? {
            return Err(UsageError(format!("{question}: not paged; pass --yes to page anyway")).into());
        }
    }
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

/// Asks on the terminal; without one the answer is no.
fn confirm(question: &str) -> Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{}", one_line(question));
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
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
    let text = super::recorded_text(&text, "status update", "")?;
    let incident = ctx.incident()?;
    let st = fold(&ctx.store.events(incident)?)?;
    let author = ctx.config.author();
    let now = Utc::now();
    let mut at = now;
    let mut forwarded = true;
    if let Some(s) = status {
        let ev = Event::new(incident, now, &author, EventKind::StatusSet { status: s });
        ctx.store.append(&ev)?;
        forwarded = super::escalation_cmds::forward(ctx, &ev)?;
        // The update reads after the status it announces: events at one instant sort by random id.
        at = now + Duration::milliseconds(1);
    }
    let done = if forwarded { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    let kind = EventKind::StatusUpdatePosted { audience, text: text.clone() };
    let posted = Event::new(incident, at, &author, kind);
    ctx.store.append(&posted)?;
    let notifier = match Notifier::new(&ctx.config.paging, &ctx.config.status_updates) {
        Ok(n) => n,
        Err(e) => {
            let note = crate::notify::status::delivery_failed_kind(crate::notify::Provider::Webhook, &e);
            ctx.store.append(&Event::new(incident, Utc::now().max(at), &author, note))?;
            eprintln!("warroom: status update recorded, but delivery failed (noted on the timeline): {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if notifier.status_providers(audience).is_empty() {
        return Ok(done);
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
    let page_incident = st.external_ids.get(crate::notify::Provider::Statuspage.as_str()).cloned();
    let outcome = notifier.deliver_update_blocking(&update, posted.id, page_incident.as_deref());
    // Delivered or not, what came of each provider goes on the timeline after the update.
    let mut t = Utc::now().max(at);
    let events: Vec<Event> = outcome
        .events
        .into_iter()
        .map(|k| {
            t += Duration::milliseconds(1);
            Event::new(incident, t, &author, k)
        })
        .collect();
    ctx.store.append_all(&events, None)?;
    for line in &outcome.lines {
        if line.contains("NOT delivered") {
            eprintln!("warroom: {line} (recorded on the timeline)");
        } else {
            println!("{line}");
        }
    }
    Ok(if outcome.failed { ExitCode::FAILURE } else { done })
}
