//! `warroom followup add|list|done`: follow-ups as first-class events (owner, priority, ticket,
//! status), apart from `action` notes, which record work done during the incident.

use std::process::ExitCode;

use chrono::Utc;
use color_eyre::eyre::Result;

use super::{Ctx, UsageError};
use crate::incident::sanitize::one_line;
use crate::incident::{Event, EventKind, FollowupStatus, FollowupView, fold};

#[derive(Debug, clap::Args)]
pub struct Followup {
    #[command(subcommand)]
    command: FollowupCommand,
    /// Incident to act on: an id or a unique prefix of one. Default: the current open incident.
    #[arg(long, global = true, value_name = "ID")]
    pub(super) incident: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
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
        #[arg(long, short, default_value = "p2", value_parser = super::parse_priority)]
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

impl Followup {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        run(ctx, self.command)
    }
}

fn run(ctx: &Ctx, cmd: FollowupCommand) -> Result<ExitCode> {
    let incident = ctx.incident()?;
    let author = ctx.config.author();
    match cmd {
        FollowupCommand::Add { text, owner, priority, ticket } => {
            let text = super::recorded_text(&text.join(" "), "follow-up", "")?;
            let clean = |o: Option<String>, what: &str| -> Result<Option<String>> {
                match o.map(|v| v.trim().to_string()) {
                    Some(v) if v.is_empty() => Err(UsageError(format!("--{what} is empty")).into()),
                    Some(v) if v.len() > 2048 => Err(UsageError(format!("--{what} is too long")).into()),
                    v => Ok(v),
                }
            };
            let kind = EventKind::FollowupAdded {
                text,
                owner: clean(owner, "owner")?,
                priority,
                ticket: clean(ticket, "ticket")?,
            };
            let ev = Event::new(incident, Utc::now(), &author, kind);
            ctx.store.append(&ev)?;
            let n = fold(&ctx.store.events(incident)?)?.followups.iter().position(|f| f.id == ev.id);
            outln!("follow-up #{} added", n.map_or(0, |i| i + 1));
        }
        FollowupCommand::List { json } => {
            let st = fold(&ctx.store.events(incident)?)?;
            if json {
                super::print_json(&st.followups, "follow-ups")?;
            } else if st.followups.is_empty() {
                outln!("No follow-ups. Add one with `warroom followup add TEXT --owner NAME`.");
            } else {
                for (i, f) in st.followups.iter().enumerate() {
                    outln!("{}", line(i + 1, f));
                }
            }
        }
        FollowupCommand::Done { which, wont_do, reopen } => {
            let st = fold(&ctx.store.events(incident)?)?;
            let f = find(&st.followups, &which)?;
            let status = if reopen {
                FollowupStatus::Open
            } else if wont_do {
                FollowupStatus::WontDo
            } else {
                FollowupStatus::Done
            };
            let kind = EventKind::FollowupStatusSet { target: f.id, status };
            ctx.store.append(&Event::new(incident, Utc::now(), &author, kind))?;
            outln!("follow-up \"{}\" is {}", one_line(&f.text), status.label());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `#2  open      p1  ana  OPS-12  add canary auto-abort on 5xx`
fn line(n: usize, f: &FollowupView) -> String {
    format!(
        "#{n:<3} {:<9} {}  {:<10} {:<12} {}",
        f.status.label(),
        f.priority,
        one_line(f.owner.as_deref().unwrap_or("-")),
        one_line(f.ticket.as_deref().unwrap_or("-")),
        one_line(&f.text)
    )
}

/// A follow-up by its number in the list (`2`, `#2`) or a unique prefix of its id.
fn find<'a>(list: &'a [FollowupView], which: &str) -> Result<&'a FollowupView> {
    let w = which.trim().trim_start_matches('#');
    if let Ok(n) = w.parse::<usize>()
        && w.len() < 8
    {
        return list.get(n.wrapping_sub(1)).ok_or_else(|| {
            UsageError(format!("no follow-up #{n} (there are {}; see `warroom followup list`)", list.len()))
                .into()
        });
    }
    let matches: Vec<&FollowupView> = list
        .iter()
        .filter(|f| !w.is_empty() && f.id.to_string().starts_with(&w.to_ascii_lowercase()))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(UsageError(format!("no follow-up matches `{}`", one_line(which))).into()),
        _ => Err(UsageError(format!(
            "`{}` matches {} follow-ups: use its number",
            one_line(which),
            matches.len()
        ))
        .into()),
    }
}
