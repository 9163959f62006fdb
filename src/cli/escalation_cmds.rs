//! `warroom escalate` (the engine as a daemon on this host), `warroom oncall take` (take the pager),
//! and what an ack, a resolve or a `change` note also tells PagerDuty.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use color_eyre::eyre::Result;

use super::team_cmds::{load_team, team_path};
use super::{Ctx, Global, TeamArg, UsageError};
use crate::config::Config;
use crate::escalation::run::{LocalOptions, run_local, with_taken_pagers};
use crate::incident::event::TEAM_STREAM;
use crate::incident::sanitize::one_line;
use crate::incident::{Event, EventKind, Status, Tag, fold};
use crate::notify::{AlertAction, Notifier, change_for_note, change_sent_kind, update_all_alerts};
use crate::team::{self, Team};

/// The validated team file, or one line saying what is wrong with it.
pub fn require_team(global: &Global, config: &Config) -> Result<Team> {
    let path = team_path(global, config).ok_or_else(|| {
        UsageError(
            "no team file: pass --team FILE or set `[team] file` in the config (see team.example.toml)"
                .into(),
        )
    })?;
    match load_team(&path)? {
        Ok(t) => Ok(t),
        Err(problems) => {
            eprint!("{}", crate::incident::sanitize::strip_controls(&team::format_errors(&problems)));
            Err(UsageError(format!(
                "{}: {} problem(s); run `warroom team check`",
                path.display(),
                problems.len()
            ))
            .into())
        }
    }
}

/// The team with every pager taken (team stream events in the local store) applied.
pub fn team_now(ctx: &Ctx) -> Result<Team> {
    let team = require_team(&ctx.global, &ctx.config)?;
    Ok(with_taken_pagers(&team, &ctx.store.events(TEAM_STREAM)?))
}

#[derive(Debug, clap::Args)]
pub struct Escalate {
    #[command(flatten)]
    pub(super) team: TeamArg,
}

impl Escalate {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        escalate(ctx)
    }
}

/// `warroom escalate`: runs the engine for every open incident in the local store (and, with a
/// server configured, claims through it) until SIGINT or SIGTERM.
fn escalate(ctx: &Ctx) -> Result<ExitCode> {
    let team = require_team(&ctx.global, &ctx.config)?;
    let notifier = Notifier::new(&ctx.config.paging, &ctx.config.status_updates)
        .map_err(|e| UsageError(e.to_string()))?;
    if notifier.channels().is_empty() {
        eprintln!(
            "warroom escalate: warning: no paging channel configured ([paging] pagerduty_routing_key or webhook_url): due pages are recorded as not paged"
        );
    }
    let server = crate::sync::SyncConfig::from_config(&ctx.config, &ctx.store, uuid::Uuid::nil())?
        .map(|c| (c.server, c.token));
    let stop = Arc::new(AtomicBool::new(false));
    let opts = LocalOptions {
        data_dir: ctx.store.dir().to_path_buf(),
        team,
        notifier: Some(notifier),
        author: ctx.config.author(),
        server: server.clone(),
        stop: stop.clone(),
        only: None,
    };
    let rt = super::runtime()?;
    let via = server.map(|(u, _)| format!(", claiming through {u}")).unwrap_or_default();
    eprintln!("warroom escalate: running for open incidents in {}{via}", ctx.store.dir().display());
    rt.block_on(async {
        let engine = run_local(opts, |line| eprintln!("warroom escalate: {}", one_line(&line)));
        tokio::select! {
            _ = engine => {}
            _ = crate::server::shutdown_signal() => stop.store(true, Ordering::Relaxed),
        }
    });
    eprintln!("warroom escalate: stopped");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct Take {
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
}

impl Take {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        take(ctx, self.rotation, self.person, self.until, self.reason)
    }
}

/// `warroom oncall take ROTATION [--person ID] [--until TIME] [--reason TEXT]`.
fn take(
    ctx: &Ctx,
    rotation: String,
    person: Option<String>,
    until: Option<String>,
    reason: Option<String>,
) -> Result<ExitCode> {
    let now = Utc::now();
    let team = team_now(ctx)?;
    let Some(rot) = team.rotation(&rotation) else {
        let known: Vec<&str> = team.rotations.keys().map(String::as_str).collect();
        return Err(UsageError(format!(
            "unknown rotation `{}` (known: {})",
            one_line(&rotation),
            known.join(", ")
        ))
        .into());
    };
    let me = person.or_else(|| ctx.config.user.name.clone()).unwrap_or_default();
    let Some(p) = team.person(me.trim()) else {
        let known: Vec<&str> = team.people.keys().map(String::as_str).collect();
        let why = if me.is_empty() {
            "who takes the pager? pass --person ID or set `[user] name` to your team file id".to_string()
        } else {
            format!("`{}` is not a person in the team file", one_line(&me))
        };
        return Err(UsageError(format!("{why} (known: {})", known.join(", "))).into());
    };
    let until: DateTime<Utc> = match until {
        Some(s) => team::parse_instant(&s).map_err(|e| UsageError(format!("--until: {e}")))?,
        // Until the shift in force now ends: the next regular handoff.
        None => rot.shift_at(now).end,
    };
    if until <= now {
        return Err(UsageError(format!(
            "--until {} is not in the future",
            until.format("%Y-%m-%d %H:%M UTC")
        ))
        .into());
    }
    let kind = EventKind::OncallTaken {
        rotation: rot.id().to_string(),
        person: p.id.clone(),
        from: now,
        until,
        reason: reason.filter(|r| !r.trim().is_empty()),
    };
    ctx.store.append(&Event::new(TEAM_STREAM, now, ctx.config.author(), kind))?;
    outln!(
        "{} ({}) has the {} pager until {}",
        p.id,
        one_line(&p.name),
        one_line(rot.name()),
        until.format("%Y-%m-%d %H:%M UTC")
    );
    Ok(ExitCode::SUCCESS)
}

/// After an incident command appended `ev`: an ack acknowledges and a resolve resolves every
/// PagerDuty alert the incident triggered; a `change` note goes to the Change Events API. Each
/// answer is recorded; returns false when a send failed (the command then exits 1).
pub fn forward(ctx: &Ctx, ev: &Event) -> Result<bool> {
    let action = match &ev.kind {
        EventKind::Acknowledged {} => Some(AlertAction::Acknowledge),
        EventKind::StatusSet { status: Status::Resolved } => Some(AlertAction::Resolve),
        EventKind::Note { tag: Tag::Change, .. } | EventKind::ChangeRecorded { .. } => None,
        _ => return Ok(true),
    };
    let notifier = match Notifier::new(&ctx.config.paging, &ctx.config.status_updates) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warroom: nothing sent to PagerDuty: {e}");
            return Ok(false);
        }
    };
    let rt = super::runtime()?;
    let author = ctx.config.author();
    let mut ok = true;
    let kinds = match (action, &ev.kind) {
        (Some(action), _) => {
            rt.block_on(update_all_alerts(&notifier, action, &ctx.store.events(ev.incident)?))
        }
        (None, EventKind::Note { text, .. } | EventKind::ChangeRecorded { text, .. }) => {
            let title = fold(&ctx.store.events(ev.incident)?).ok().map(|s| s.title);
            let change = change_for_note(ev, text, title.as_deref());
            match rt.block_on(notifier.send_change(&change)) {
                Some(result) => vec![change_sent_kind(ev.id, &result)],
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    for kind in kinds {
        match &kind {
            EventKind::AlertUpdated { action, dedup_key, ok: sent, outcome } => {
                if *sent {
                    outln!("PagerDuty {action} {dedup_key}: {}", one_line(outcome));
                } else {
                    ok = false;
                    eprintln!(
                        "warroom: PagerDuty {action} {dedup_key} failed (recorded): {}",
                        one_line(outcome)
                    );
                }
            }
            EventKind::ChangeSent { ok: sent, outcome, .. } => {
                if *sent {
                    outln!("change sent to PagerDuty: {}", one_line(outcome));
                } else {
                    ok = false;
                    eprintln!("warroom: change not sent to PagerDuty (recorded): {}", one_line(outcome));
                }
            }
            _ => {}
        }
        // A change with no open incident is only in the host change log: nothing to record on.
        if !ev.incident.is_nil() {
            ctx.store.append(&Event::new(ev.incident, Utc::now().max(ev.at), &author, kind))?;
        }
    }
    Ok(ok)
}
