//! `warroom capture PID`: the kill guard's evidence capture without a signal, recorded on the
//! incident's timeline the same way (one `evidence_captured` per file, the manifest last).

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::Result;

use super::{Ctx, IncidentArg, UsageError};
use crate::incident::{Event, IncidentId};
use crate::procs::signal::current_start_time;
use crate::procs::{CaptureOptions, EvidenceError, Profile, StepStatus, capture_with};

#[derive(Debug, clap::Args)]
pub struct Capture {
    /// The process id.
    pid: i32,
    /// quick (/proc only, never pauses the target), standard (adds native/Python/JVM/Node
    /// dumps when their tool is installed; pauses the target while they run), full (adds a
    /// gcore core dump, refused when larger than the free disk).
    #[arg(long, default_value = "standard", value_parser = super::parse_profile)]
    profile: Profile,
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
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Capture {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let Capture { pid, profile, go_sigquit, timeout, json, target: _ } = self;
        capture(ctx, CaptureArgs { pid, profile, go_sigquit, timeout_secs: timeout, json })
    }
}

#[derive(Debug, clap::Args)]
pub struct Kill {
    pid: i32,
    /// The process and all its descendants.
    #[arg(long, conflicts_with = "group")]
    tree: bool,
    /// Every process in its process group.
    #[arg(long)]
    group: bool,
    /// TERM, INT, HUP, QUIT, USR1, USR2, KILL, STOP, CONT (or the number).
    #[arg(long, short, default_value = "TERM", value_parser = super::parse_signal)]
    signal: crate::procs::Sig,
    /// Why: required, recorded on the timeline.
    #[arg(long, short)]
    reason: String,
    /// Seconds to watch for the exits.
    #[arg(long, default_value_t = crate::procs::DEFAULT_GRACE.as_secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=600))]
    grace: u64,
    /// Send without asking (required when stdin is not a terminal).
    #[arg(long, short)]
    yes: bool,
    /// Skip the evidence capture.
    #[arg(long)]
    no_evidence: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Kill {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        use crate::procs::killset::Scope;
        let Kill { pid, tree, group, signal, reason, grace, yes, no_evidence, target: _ } = self;
        let scope = if tree {
            Scope::Tree
        } else if group {
            Scope::Group
        } else {
            Scope::One
        };
        kill(ctx, KillArgs { pid, scope, signal, reason, grace_secs: grace, yes, evidence: !no_evidence })
    }
}

#[derive(Debug, clap::Args)]
pub struct Restart {
    pid: i32,
    /// Why: required, recorded on the timeline.
    #[arg(long, short)]
    reason: String,
    /// The evidence profile (see `capture`).
    #[arg(long, default_value = "standard", value_parser = super::parse_profile)]
    profile: Profile,
    /// Give the restart command this many seconds.
    #[arg(long, default_value_t = crate::procs::restart::DEFAULT_RESTART_TIMEOUT.as_secs(), value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// Restart without asking (required when stdin is not a terminal).
    #[arg(long, short)]
    yes: bool,
    /// Skip the evidence capture.
    #[arg(long)]
    no_evidence: bool,
    #[command(flatten)]
    pub(super) target: IncidentArg,
}

impl Restart {
    pub(super) fn run(self, ctx: &Ctx) -> Result<ExitCode> {
        let Restart { pid, reason, profile, timeout, yes, no_evidence, target: _ } = self;
        restart(ctx, RestartArgs { pid, reason, profile, timeout_secs: timeout, yes, evidence: !no_evidence })
    }
}

/// What `warroom capture` was asked for.
pub(super) struct CaptureArgs {
    pub pid: i32,
    pub profile: Profile,
    pub go_sigquit: bool,
    pub timeout_secs: u64,
    pub json: bool,
}

pub(super) fn capture(ctx: &Ctx, a: CaptureArgs) -> Result<ExitCode> {
    if a.pid <= 0 {
        return Err(UsageError(format!("PID must be a positive process id, got {}", a.pid)).into());
    }
    let incident = ctx.incident()?;
    let start =
        current_start_time(a.pid).map_err(|e| UsageError(format!("pid {}: no such process ({e})", a.pid)))?;
    let opts = CaptureOptions {
        profile: a.profile,
        go_sigquit: a.go_sigquit,
        tool_timeout: Duration::from_secs(a.timeout_secs),
        ..CaptureOptions::default()
    };
    let now = Utc::now();
    let ev = match capture_with(&ctx.store.evidence_dir(incident), a.pid, start, now, &opts) {
        Ok(ev) => ev,
        Err(e @ EvidenceError::Process(_)) => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    let author = ctx.config.author();
    let events: Vec<Event> =
        ev.events().into_iter().map(|k| Event::new(incident, now, author.clone(), k)).collect();
    ctx.store.append_all(&events, None)?;
    if a.json {
        let manifest = ev.manifest().map(|m| m.path.clone()).unwrap_or_default();
        outln!("{}", std::fs::read_to_string(&manifest).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    outln!("evidence of pid {} in {}", a.pid, ev.dir.display());
    for s in &ev.steps {
        let status = match s.status {
            StepStatus::Ok => "ok",
            StepStatus::Truncated => "truncated",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        };
        let size = s.bytes.map(|b| format!("{b} B")).unwrap_or_default();
        let reason = s.reason.as_deref().map(|r| format!("  ({r})")).unwrap_or_default();
        outln!("  {status:<9} {:<22} {size:>10}  {} ms{reason}", s.name, s.took_ms);
    }
    outln!("{} — recorded on the timeline", ev.summary());
    Ok(ExitCode::SUCCESS)
}

/// The checks `kill` and `restart` make before looking at the process: a positive pid and a
/// reason; then the current incident, and the pid's start time (its identity from here on).
fn incident_and_start(ctx: &Ctx, pid: i32, reason: &str) -> Result<(IncidentId, u64)> {
    if pid <= 0 {
        return Err(UsageError(format!("PID must be a positive process id, got {pid}")).into());
    }
    if reason.trim().is_empty() {
        return Err(UsageError("--reason is required: say why (it goes on the timeline)".into()).into());
    }
    let incident = ctx.incident()?;
    let start =
        current_start_time(pid).map_err(|e| UsageError(format!("pid {pid}: no such process ({e})")))?;
    Ok((incident, start))
}

/// The guard wants the process's name typed, which only the process pane asks for.
fn typed_name_refusal(pid: i32, reason: &str) -> color_eyre::Report {
    UsageError(format!(
        "refused from the command line: pid {pid}: {reason} (use the process pane, which asks for the name)"
    ))
    .into()
}

/// True with `--yes`; otherwise asks `question` (on stdout, below the preview it is about) and is
/// true when the answer is yes. Without a terminal to ask on: a usage error naming `--yes`.
fn confirmed(yes: bool, to: &str, question: String) -> Result<bool> {
    use std::io::{BufRead, IsTerminal};
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(format!("not a terminal: pass --yes to {to} without asking")).into());
    }
    out!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// What `warroom kill` was asked for.
pub(super) struct KillArgs {
    pub pid: i32,
    pub scope: crate::procs::killset::Scope,
    pub signal: crate::procs::Sig,
    pub reason: String,
    pub grace_secs: u64,
    pub yes: bool,
    pub evidence: bool,
}

/// `warroom kill PID [--tree|--group]`: preview every member, refuse the whole set if the guard
/// refuses any member, capture the chosen process's evidence, signal each member through its own
/// pidfd, watch for the exits and record everything on the timeline.
pub(super) fn kill(ctx: &Ctx, a: KillArgs) -> Result<ExitCode> {
    use crate::incident::EventKind;
    use crate::procs::kill::signalled_event;
    use crate::procs::killset::{kill_set, watch_outcomes};
    use crate::procs::{CriticalList, current_context};

    let (incident, start) = incident_and_start(ctx, a.pid, &a.reason)?;
    let set = kill_set(a.pid, start, a.scope).map_err(UsageError)?;
    outln!("{} to {} process(es):", a.signal.name(), set.members.len());
    for line in set.preview() {
        outln!("{line}");
    }
    let gctx = current_context(CriticalList::with_extra(ctx.config.procs.critical.iter()));
    let typed = set.check(&gctx).map_err(|e| UsageError(format!("refused: {e}")))?;
    if let Some((pid, reason)) = typed.first() {
        return Err(typed_name_refusal(*pid, reason));
    }
    if !confirmed(a.yes, "send", format!("send {} to these {}?", a.signal.name(), set.members.len()))? {
        outln!("nothing sent");
        return Ok(ExitCode::from(1));
    }
    let now = Utc::now();
    let author = ctx.config.author();
    let mut kinds = Vec::new();
    let mut manifest = None;
    if a.evidence {
        match capture_with(&ctx.store.evidence_dir(incident), a.pid, start, now, &CaptureOptions::default()) {
            Ok(ev) => {
                outln!("evidence: {} ({})", ev.dir.display(), ev.summary());
                manifest = ev.manifest().map(|m| m.path.display().to_string());
                kinds.extend(ev.events());
            }
            Err(e) => {
                return Err(color_eyre::eyre::eyre!(
                    "evidence capture failed, nothing was signalled: {e} (retry, or pass --no-evidence)"
                ));
            }
        }
    }
    let results = set.signal(a.signal);
    let mut sent = Vec::new();
    for (m, outcome) in &results {
        outln!("{:>7} {:<16} {}", m.pid, m.name, outcome.describe());
        if outcome.was_sent() {
            sent.push(m.clone());
        }
        let evidence = if m.pid == a.pid { manifest.clone() } else { None };
        kinds.push(signalled_event(m, a.signal, &a.reason, outcome, evidence));
    }
    // Record what was sent before watching: a Ctrl-C during the wait loses nothing.
    let events: Vec<Event> = kinds.drain(..).map(|k| Event::new(incident, now, author.clone(), k)).collect();
    ctx.store.append_all(&events, None)?;
    let outcomes = watch_outcomes(&sent, a.signal, Duration::from_secs(a.grace_secs));
    let mut still = 0;
    for k in &outcomes {
        if let EventKind::ProcessOutcome { pid, name, outcome, exited, .. } = k {
            outln!("{pid:>7} {name:<16} {outcome}");
            still += usize::from(!exited);
        }
    }
    let done = Utc::now();
    let events: Vec<Event> =
        outcomes.into_iter().map(|k| Event::new(incident, done, author.clone(), k)).collect();
    ctx.store.append_all(&events, None)?;
    if still > 0 {
        outln!("{still} still running after {} s: recorded; send KILL with --signal KILL", a.grace_secs);
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// What `warroom restart` was asked for.
pub(super) struct RestartArgs {
    pub pid: i32,
    pub reason: String,
    pub profile: Profile,
    pub timeout_secs: u64,
    pub yes: bool,
    pub evidence: bool,
}

/// `warroom restart PID`: find the process's systemd service or docker/podman container, show
/// it, check the guard, capture the evidence, restart, check the state, record it all.
pub(super) fn restart(ctx: &Ctx, a: RestartArgs) -> Result<ExitCode> {
    use crate::procs::kill::KillError;
    use crate::procs::restart::{RestartRequest, guarded_restart, target_of};
    use crate::procs::{CriticalList, ProcessIdentity, Sampler, current_context};

    let (incident, start) = incident_and_start(ctx, a.pid, &a.reason)?;
    let via = target_of(a.pid, start).map_err(|e| UsageError(format!("refused: {e}")))?;
    let snap = Sampler::new().map_err(|e| UsageError(format!("/proc: {e}")))?.sample();
    let row = snap.get(a.pid).filter(|r| r.start_time == start);
    let target =
        row.map(ProcessIdentity::from).ok_or_else(|| UsageError(format!("pid {} has exited", a.pid)))?;
    let gctx = current_context(CriticalList::with_extra(ctx.config.procs.critical.iter()));
    outln!(
        "restart {} of {} (pid {}, user {}): {}",
        via.describe(),
        target.name,
        target.pid,
        target.user,
        // Outside text: no control character reaches the terminal.
        crate::incident::sanitize::one_line(&crate::procs::redact::redact_cmdline(&target.cmdline))
    );
    if let crate::procs::Verdict::RequireTypedName { reason } =
        crate::procs::guard::check(&target.target(), &gctx)
    {
        return Err(typed_name_refusal(a.pid, &reason));
    }
    if !confirmed(a.yes, "restart", format!("capture evidence, then restart {}?", via.describe()))? {
        outln!("nothing restarted");
        return Ok(ExitCode::from(1));
    }
    let now = Utc::now();
    let req = RestartRequest {
        target,
        via,
        reason: a.reason.clone(),
        typed_name: None,
        evidence_dir: a.evidence.then(|| ctx.store.evidence_dir(incident)),
        capture: CaptureOptions { profile: a.profile, ..CaptureOptions::default() },
        timeout: Duration::from_secs(a.timeout_secs),
        at: now,
    };
    let report = match guarded_restart(&req, &gctx) {
        Ok(r) => r,
        Err(
            e @ (KillError::Refused { .. } | KillError::NeedsTypedName { .. } | KillError::MissingReason),
        ) => {
            return Err(UsageError(e.to_string()).into());
        }
        Err(e) => return Err(color_eyre::eyre::eyre!("{e}")),
    };
    if let Some(ev) = &report.evidence {
        outln!("evidence: {} ({})", ev.dir.display(), ev.summary());
    }
    let author = ctx.config.author();
    let events: Vec<Event> =
        report.events.iter().cloned().map(|k| Event::new(incident, Utc::now(), author.clone(), k)).collect();
    ctx.store.append_all(&events, None)?;
    outln!("{} — recorded on the timeline", report.outcome);
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
