//! `warroom runbook list|check|attach|show|tick|run`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::{Result, WrapErr, eyre};
use uuid::Uuid;

use super::{Ctx, Global, IncidentArg, UsageError};
use crate::config::Config;
use crate::incident::sanitize::{self, one_line, visible};
use crate::incident::{Event, EventKind, IncidentState, fold};
use crate::runbook::{self, Item, Runbook, checked_ids};
use crate::runner::{self, RunSpec, RunUpdate};
use crate::store::StoreError;

fn list(global: &Global, config: &Config) -> Result<ExitCode> {
    let (catalog, problems) = crate::catalog::load(config, global.data_dir.as_deref());
    for b in &catalog.books {
        let sev = if b.severities.is_empty() {
            "any".to_string()
        } else {
            b.severities.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
        };
        outln!(
            "{:<26} {:>3} items  {:<14} {}  ({})",
            b.id,
            b.items.len(),
            sev,
            one_line(&b.title),
            one_line(&b.path)
        );
    }
    if catalog.books.is_empty() {
        outln!("No runbooks.");
    }
    for p in &problems {
        eprintln!("warroom: {}", sanitize::error_line(p));
    }
    for e in &catalog.errors {
        eprintln!("warroom: {}", sanitize::error_line(&e.to_string()));
    }
    Ok(if problems.is_empty() && catalog.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for f in files {
        let shown = sanitize::error_line(&f.display().to_string());
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{shown}: cannot read: {e}");
                bad += 1;
                continue;
            }
        };
        match runbook::parse(&text, &shown) {
            Ok(b) => outln!("{shown}: ok ({} items in {} sections)", b.items.len(), b.sections.len()),
            Err(errs) => {
                bad += 1;
                for e in errs {
                    eprintln!("{}", sanitize::error_line(&e.to_string()));
                }
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

#[derive(Debug, clap::Subcommand)]
pub enum RunbookCommand {
    /// List the runbooks found (configured dir, data dir, built-ins).
    List,
    /// Validate runbook files: one line per problem (file:line), exit 2 if any.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Attach a runbook to the incident: its checklist shows in the TUI and the postmortem.
    Attach(Attach),
    /// Show a runbook's items with their ids, commands and what the incident has ticked.
    Show(Show),
    /// Tick a checklist item (--undo unticks it). ITEM_ID may be a unique prefix.
    Tick(Tick),
    /// Run an item's command after confirmation, streaming its output; the output is kept as
    /// evidence and the run recorded on the timeline. Exits 0 when the command ran, whatever
    /// its exit status.
    Run(RunItem),
}

#[derive(Debug, clap::Args)]
pub struct Attach {
    #[arg(value_name = "RUNBOOK_ID")]
    runbook: String,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

#[derive(Debug, clap::Args)]
pub struct Show {
    #[arg(value_name = "RUNBOOK_ID")]
    runbook: String,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

#[derive(Debug, clap::Args)]
pub struct Tick {
    #[arg(value_name = "RUNBOOK_ID")]
    runbook: String,
    #[arg(value_name = "ITEM_ID")]
    item: String,
    #[arg(long)]
    undo: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

#[derive(Debug, clap::Args)]
pub struct RunItem {
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
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl RunbookCommand {
    /// `list` and `check` read files only; the others act on an incident, synced.
    pub(super) fn run(self, g: &Global) -> Result<ExitCode> {
        match self {
            RunbookCommand::List => list(g, &Config::load(g.config.as_deref())?),
            RunbookCommand::Check { files } => check(&files),
            RunbookCommand::Attach(c) => super::synced(g, |ctx| attach(ctx, &c.runbook)),
            RunbookCommand::Show(c) => super::synced(g, |ctx| show(ctx, &c.runbook)),
            RunbookCommand::Tick(c) => super::synced(g, |ctx| tick(ctx, &c.runbook, &c.item, !c.undo)),
            RunbookCommand::Run(c) => super::synced(g, |ctx| run(ctx, &c.runbook, &c.item, c.yes, c.timeout)),
        }
    }
}

/// The runbook with this id from the catalog (configured dir, data dir, built-ins).
fn find_book(ctx: &Ctx, id: &str) -> Result<Runbook> {
    let (catalog, _problems) = crate::catalog::load(&ctx.config, ctx.global.data_dir.as_deref());
    if let Some(b) = catalog.books.iter().find(|b| b.id == id) {
        return Ok(b.clone());
    }
    let known: Vec<&str> = catalog.books.iter().map(|b| b.id.as_str()).collect();
    Err(UsageError(format!(
        "unknown runbook `{}` (known: {}; see `warroom runbook list`)",
        one_line(id),
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    ))
    .into())
}

/// The item whose id is `arg` or starts with it (when only one does).
fn find_item<'a>(book: &'a Runbook, arg: &str) -> Result<&'a Item> {
    if let Some(item) = book.item(arg) {
        return Ok(item);
    }
    let matches: Vec<&Item> =
        book.items.iter().filter(|i| !arg.is_empty() && i.id.starts_with(arg)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(UsageError(format!(
            "runbook `{}` has no item `{}` (see `warroom runbook show {}`)",
            book.id,
            one_line(arg),
            book.id
        ))
        .into()),
        many => {
            let mut ids: Vec<&str> = many.iter().take(4).map(|i| i.id.as_str()).collect();
            if many.len() > 4 {
                ids.push("…");
            }
            Err(UsageError(format!(
                "item prefix `{}` is ambiguous in runbook `{}`: it matches {}",
                one_line(arg),
                book.id,
                ids.join(", ")
            ))
            .into())
        }
    }
}

fn incident_state(ctx: &Ctx, incident: Uuid) -> Result<IncidentState> {
    Ok(fold(&ctx.store.events(incident)?)?)
}

/// Attaches `book` unless it is already; says so on stderr when it does it implicitly.
fn ensure_attached(
    ctx: &Ctx,
    incident: Uuid,
    st: &IncidentState,
    book: &Runbook,
    quiet: bool,
) -> Result<bool> {
    if st.runbooks.iter().any(|(id, _)| *id == book.id) {
        return Ok(false);
    }
    let kind = EventKind::RunbookAttached { runbook: book.id.clone(), title: book.title.clone() };
    ctx.store.append(&Event::new(incident, Utc::now(), ctx.config.author(), kind))?;
    if !quiet {
        eprintln!("attached runbook {} ({}) to the incident", book.id, one_line(&book.title));
    }
    Ok(true)
}

fn attach(ctx: &Ctx, id: &str) -> Result<ExitCode> {
    let book = find_book(ctx, id)?;
    let incident = ctx.incident()?;
    let st = incident_state(ctx, incident)?;
    if ensure_attached(ctx, incident, &st, &book, true)? {
        outln!("attached {}: {}", book.id, one_line(&book.title));
    } else {
        outln!("{} is already attached", book.id);
    }
    Ok(ExitCode::SUCCESS)
}

fn tick(ctx: &Ctx, id: &str, item_arg: &str, checked: bool) -> Result<ExitCode> {
    let book = find_book(ctx, id)?;
    let item = find_item(&book, item_arg)?;
    let incident = ctx.incident()?;
    let st = incident_state(ctx, incident)?;
    ensure_attached(ctx, incident, &st, &book, false)?;
    let now_checked = st.checklist.iter().any(|c| c.runbook == book.id && c.item == item.id && c.checked);
    let verb = if checked { "ticked" } else { "unticked" };
    if now_checked == checked {
        outln!("already {verb}: {}", one_line(&item.text));
        return Ok(ExitCode::SUCCESS);
    }
    let kind = EventKind::ChecklistItemSet { runbook: book.id.clone(), item: item.id.clone(), checked };
    ctx.store.append(&Event::new(incident, Utc::now(), ctx.config.author(), kind))?;
    let progress = {
        let st = incident_state(ctx, incident)?;
        book.progress(&checked_ids(&book.id, &st.checklist))
    };
    outln!("{verb}: {}  ({progress} done)", one_line(&item.text));
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, id: &str) -> Result<ExitCode> {
    let book = find_book(ctx, id)?;
    // Without an open incident the runbook is still worth reading: show it without ticks.
    let st = match ctx.incident() {
        Ok(incident) => Some(incident_state(ctx, incident)?),
        Err(e) if e.downcast_ref::<StoreError>().is_some_and(|s| matches!(s, StoreError::NoOpenIncident)) => {
            None
        }
        Err(e) => return Err(e),
    };
    let checklist = st.as_ref().map(|s| s.checklist.as_slice()).unwrap_or(&[]);
    let checked = checked_ids(&book.id, checklist);
    let mut out = String::new();
    // Into a String first: a closed stdout (`| head`) ends the listing, it does not panic.
    macro_rules! outln {
        ($o:ident, $($arg:tt)*) => {{
            $o.push_str(&format!($($arg)*));
            $o.push('\n');
        }};
    }
    outln!(out, "{}: {}", book.id, one_line(&book.title));
    outln!(out, "source    {}", one_line(&book.path));
    match &st {
        Some(st) => {
            let attached = st.runbooks.iter().any(|(r, _)| *r == book.id);
            outln!(
                out,
                "incident  {} ({}), runbook {}, {} done",
                one_line(&st.title),
                &st.id.to_string()[..13],
                if attached { "attached" } else { "not attached" },
                book.progress(&checked)
            );
        }
        None => outln!(out, "incident  none open: ticks not shown"),
    }
    for (index, (section, progress)) in book.section_progress(&checked).into_iter().enumerate() {
        out.push('\n');
        if section.heading.is_empty() {
            outln!(out, "({progress})");
        } else {
            outln!(
                out,
                "{} {}  ({progress})",
                "#".repeat(section.level.max(1).into()),
                one_line(&section.heading)
            );
        }
        for item in book.section_items(index) {
            let pad = "  ".repeat(item.depth + 1);
            let mark = if checked.contains(item.id.as_str()) { "[x]" } else { "[ ]" };
            outln!(out, "{pad}{mark} {}", item.id);
            let who = checklist
                .iter()
                .find(|c| c.runbook == book.id && c.item == item.id)
                .map(|c| {
                    format!(
                        "  ({} {} by {})",
                        if c.checked { "ticked" } else { "unticked" },
                        c.at.format("%Y-%m-%d %H:%M UTC"),
                        one_line(&c.by)
                    )
                })
                .unwrap_or_default();
            outln!(out, "{pad}    {}{who}", one_line(&item.text));
            if let Some(cmd) = &item.command {
                for (i, line) in cmd.script.trim_end_matches('\n').lines().enumerate() {
                    outln!(out, "{pad}    {} {}", if i == 0 { "$" } else { " " }, visible(line));
                }
            }
        }
    }
    write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a reader that went away (broken pipe) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|_| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).wrap_err("writing to stdout"),
        _ => Ok(()),
    }
}

fn run(ctx: &Ctx, id: &str, item_arg: &str, yes: bool, timeout: Option<u64>) -> Result<ExitCode> {
    let book = find_book(ctx, id)?;
    let item = find_item(&book, item_arg)?;
    let Some(command) = &item.command else {
        return Err(UsageError(format!(
            "item `{}` of runbook `{}` has no command to run (it is done by hand: tick it with `warroom runbook tick`)",
            item.id, book.id
        ))
        .into());
    };
    let incident = ctx.incident()?;
    if !yes && !std::io::stdin().is_terminal() {
        return Err(UsageError(format!(
            "refusing to run `{}` without confirmation: stdin is not a terminal (pass --yes)",
            one_line(command.script.trim_end())
        ))
        .into());
    }
    let timeout = timeout.map(Duration::from_secs).unwrap_or_else(|| ctx.config.command_timeout());
    let spec = RunSpec::new(&book.id, &item.id, command, timeout);
    eprintln!("runbook {}, item {}: {}", book.id, item.id, one_line(&item.text));
    eprintln!("command ({} -c, timeout {} s):", spec.shell(), timeout.as_secs());
    for line in spec.command_text().lines() {
        eprintln!("    {}", visible(line));
    }
    if !yes {
        eprint!("Run it? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).wrap_err("reading the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("not run");
            return Ok(ExitCode::from(1));
        }
    }
    let st = incident_state(ctx, incident)?;
    ensure_attached(ctx, incident, &st, &book, false)?;

    let rt = super::runtime()?;
    let (result, signal) = rt.block_on(stream(spec.clone()))?;
    let recorded = runner::record(&ctx.store, incident, &ctx.config.author(), &spec, &result)?;

    let secs = result.duration.as_secs_f64();
    eprintln!("{} ({secs:.2} s, {} bytes of output)", result.outcome, result.bytes());
    if let Some(ev) = &recorded.evidence {
        eprintln!("evidence  {} (sha256 {})", ev.path.display(), ev.sha256);
    }
    if let Some(err) = &recorded.evidence_error {
        eprintln!("warroom: {}", sanitize::error_line(err));
    }
    if result.live_skipped > 0 {
        eprintln!("some output was not shown live; the evidence file has all of it");
    }
    Ok(match signal {
        Some(_) => ExitCode::from(130),
        None => ExitCode::SUCCESS,
    })
}

/// Runs the command, copying its output (controls stripped) to stdout. SIGINT, SIGTERM and
/// SIGHUP cancel it (the command is in its own process group, so they do not reach it) and
/// are returned; the run is still recorded.
async fn stream(spec: RunSpec) -> Result<(runner::RunResult, Option<&'static str>)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).wrap_err("installing the SIGHUP handler")?;
    let mut run = runner::start(spec)?;
    let mut got: Option<&'static str> = None;
    let mut out = Some(std::io::stdout());
    loop {
        tokio::select! {
            update = run.next() => match update {
                Some(RunUpdate::Output(chunk)) => {
                    // A closed stdout (`| head`) must not stop the run or its record.
                    if let Some(o) = out.as_mut() {
                        let clean = sanitize::strip_controls(&chunk);
                        if o.write_all(clean.as_bytes()).and_then(|_| o.flush()).is_err() {
                            out = None;
                        }
                    }
                }
                Some(RunUpdate::Finished(result)) => return Ok((result?, got)),
                None => return Err(eyre!("the run ended without a result")),
            },
            _ = sigint.recv(), if got.is_none() => { got = Some("SIGINT"); run.cancel(); }
            _ = sigterm.recv(), if got.is_none() => { got = Some("SIGTERM"); run.cancel(); }
            _ = sighup.recv(), if got.is_none() => { got = Some("SIGHUP"); run.cancel(); }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::incident::sanitize::visible;

    #[test]
    fn visible_shows_what_would_hide_itself() {
        assert_eq!(visible("df -h"), "df -h");
        assert_eq!(visible("echo ok\x1b[2K\rrm -rf /tmp/x"), "echo ok\\u{1b}[2K\\rrm -rf /tmp/x");
        assert_eq!(visible("a\u{202e}b\tc"), "a\\u{202e}b\tc");
    }
}
