//! `warroom capture PID`: the kill guard's evidence capture without a signal, recorded on the
//! incident's timeline the same way (one `evidence_captured` per file, the manifest last).

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use color_eyre::eyre::Result;

use super::{Ctx, UsageError};
use crate::incident::Event;
use crate::procs::signal::current_start_time;
use crate::procs::{CaptureOptions, EvidenceError, Profile, StepStatus, capture_with};

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
