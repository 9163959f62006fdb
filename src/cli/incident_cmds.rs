//! Commands that read or append to an incident's timeline.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr};

use super::{Command, Ctx, ExportFormat, UsageError};
use crate::incident::export::{RunbookTexts, human_duration, to_json, to_markdown_with};
use crate::incident::sanitize::one_line;
use crate::incident::{Event, EventKind, IncidentState, Status, fold};

use crate::incident::MAX_NOTE;

pub(super) fn run(ctx: &Ctx, cmd: Command) -> Result<ExitCode> {
    let now = Utc::now();
    let author = ctx.config.author();
    match cmd {
        Command::New { title, sev, summary } => {
            let title = title.trim().to_string();
            if title.is_empty() {
                return Err(UsageError("the incident title must not be empty".into()).into());
            }
            let ev = Event::open(now, author, title, sev, summary.filter(|s| !s.trim().is_empty()));
            ctx.store.append(&ev)?;
            ctx.store.set_current(ev.id)?;
            outln!("{}", ev.id);
        }
        Command::Note { text, tag } => {
            let text = if text.len() == 1 && text[0] == "-" {
                let mut buf = String::new();
                std::io::stdin().read_to_string(&mut buf).wrap_err("reading the note from stdin")?;
                buf
            } else {
                text.join(" ")
            };
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(UsageError("the note is empty: nothing was recorded".into()).into());
            }
            if text.len() > MAX_NOTE {
                return Err(UsageError(format!(
                    "the note is {} bytes, more than the {MAX_NOTE} allowed: attach long output as evidence",
                    text.len()
                ))
                .into());
            }
            append(ctx, now, &author, EventKind::Note { text, tag })?;
        }
        Command::Ack => append(ctx, now, &author, EventKind::Acknowledged {})?,
        Command::Sev { severity } => append(ctx, now, &author, EventKind::SeveritySet { severity })?,
        Command::State { status } => append(ctx, now, &author, EventKind::StatusSet { status })?,
        Command::Resolve => append(ctx, now, &author, EventKind::StatusSet { status: Status::Resolved })?,
        Command::Incidents { all, json } => {
            let list: Vec<IncidentState> =
                ctx.store.incidents()?.into_iter().filter(|i| all || i.is_open()).collect();
            if json {
                outln!(
                    "{}",
                    crate::incident::sanitize::escape_json(
                        serde_json::to_string_pretty(&list).wrap_err("encoding incidents")?
                    )
                );
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
        }
        Command::Status { json } => {
            let st = load(ctx)?.0;
            if json {
                outln!(
                    "{}",
                    crate::incident::sanitize::escape_json(
                        serde_json::to_string_pretty(&st).wrap_err("encoding status")?
                    )
                );
            } else {
                print_status(&st, now)?;
            }
        }
        Command::Export { format, output } => {
            let (st, events) = load(ctx)?;
            let text = match format {
                ExportFormat::Md => {
                    // Item texts live in the runbook files; a missing file only costs the names.
                    let (catalog, _) = crate::catalog::load(&ctx.config, ctx.global.data_dir.as_deref());
                    let books =
                        catalog.books.iter().filter(|b| st.runbooks.iter().any(|(id, _)| *id == b.id));
                    let texts = RunbookTexts { books: books.map(|b| b.export_text()).collect() };
                    to_markdown_with(&st, &events, ctx.config.timezone(), now, &texts)
                }
                ExportFormat::Json => to_json(&st, &events, now),
            };
            match output {
                None => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(super::stdout_error)?;
                }
                Some(path) => {
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(&path)
                        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
                    // An existing file keeps its mode on open: make it private before any byte lands.
                    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
                        .wrap_err_with(|| format!("chmod {}", path.display()))?;
                    f.write_all(text.as_bytes())
                        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
                    crate::store::restrict(&path).wrap_err_with(|| format!("chmod {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
            }
        }
        Command::Completions { .. }
        | Command::Man
        | Command::Team { .. }
        | Command::Runbook { .. }
        | Command::Oncall { .. }
        | Command::Serve { .. }
        | Command::Ps { .. }
        | Command::Join { .. }
        | Command::Page { .. }
        | Command::Contact { .. }
        | Command::Update { .. } => {
            unreachable!("dispatched before incident commands")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn append(ctx: &Ctx, now: chrono::DateTime<Utc>, author: &str, kind: EventKind) -> Result<()> {
    let incident = ctx.incident()?;
    ctx.store.append(&Event::new(incident, now, author, kind))?;
    Ok(())
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
