//! The one library entry point for killing: guard check → evidence (optional) → signal, returning
//! the events for the caller to append. Nothing here writes to a store.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use super::details::{DetailsError, own_ancestors};
use super::evidence::{Evidence, EvidenceError, capture_evidence};
use super::guard::{self, CriticalList, GuardContext, Target, Verdict};
use super::redact::redact_cmdline;
use super::sampler::ProcessRow;
use super::signal::{Sig, SignalOutcome, send_signal};
use crate::incident::EventKind;

/// Who is to be signalled, as the responder saw it in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessIdentity {
    pub pid: i32,
    pub start_time: u64,
    pub name: String,
    pub user: String,
    pub uid: u32,
    /// Arguments joined by spaces.
    pub cmdline: String,
    pub kernel_thread: bool,
}

impl From<&ProcessRow> for ProcessIdentity {
    fn from(r: &ProcessRow) -> Self {
        ProcessIdentity {
            pid: r.pid,
            start_time: r.start_time,
            name: r.name.to_string(),
            user: r.user.to_string(),
            uid: r.uid,
            cmdline: r.cmdline.to_string(),
            kernel_thread: r.kernel_thread,
        }
    }
}

impl ProcessIdentity {
    /// The guard's view of this identity.
    pub fn target(&self) -> Target<'_> {
        Target {
            pid: self.pid,
            name: &self.name,
            argv0: self.cmdline.split(' ').next().unwrap_or(""),
            uid: self.uid,
            kernel_thread: self.kernel_thread,
        }
    }
}

/// The facts about the calling process the guard needs: our pid, ancestors and uid.
pub fn current_context(critical: CriticalList) -> GuardContext {
    GuardContext {
        self_pid: rustix::process::getpid().as_raw_nonzero().get(),
        ancestors: own_ancestors(),
        our_uid: rustix::process::getuid().as_raw(),
        critical,
    }
}

/// What the responder confirmed in the kill popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillRequest {
    pub target: ProcessIdentity,
    pub signal: Sig,
    /// Why, in the responder's words: required, goes on the timeline.
    pub reason: String,
    /// The name as typed, when the guard asks for it.
    pub typed_name: Option<String>,
    /// The incident's evidence directory; `None` skips capture.
    pub evidence_dir: Option<PathBuf>,
    /// When (names the evidence directory; the library reads no clock).
    pub at: DateTime<Utc>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillReport {
    pub outcome: SignalOutcome,
    pub evidence: Option<Evidence>,
    /// `evidence_captured` events (one per file, manifest last), then one `process_signalled`:
    /// append them in this order.
    pub events: Vec<EventKind>,
}

/// Why nothing was attempted (nothing to record on the timeline).
#[derive(Debug, Error)]
pub enum KillError {
    #[error("refused: {reason}")]
    Refused { reason: String },
    #[error("{reason}")]
    NeedsTypedName { reason: String },
    #[error("a reason is required: say why this process is being signalled")]
    MissingReason,
    #[error("evidence capture failed, nothing was signalled: {0} (retry, or turn evidence capture off)")]
    Evidence(EvidenceError),
}

/// The guard's verdict on acting on `target`, the typed name where the guard asks for one, and a
/// reason: what every guarded action (kill, restart) needs before it touches the process.
pub(crate) fn admit(
    target: &ProcessIdentity,
    typed_name: Option<&str>,
    reason: &str,
    ctx: &GuardContext,
) -> Result<(), KillError> {
    let target = target.target();
    let verdict = guard::check(&target, ctx);
    match &verdict {
        Verdict::Refuse { reason } => return Err(KillError::Refused { reason: reason.clone() }),
        Verdict::RequireTypedName { reason } if !guard::confirmed(&verdict, &target, typed_name) => {
            return Err(KillError::NeedsTypedName { reason: reason.clone() });
        }
        _ => {}
    }
    if reason.trim().is_empty() {
        return Err(KillError::MissingReason);
    }
    Ok(())
}

/// Guard → evidence → signal. An attempt on a process that exited or whose pid was reused
/// before the signal is still reported (and recorded) with that outcome; refusals and missing
/// confirmations are errors, with nothing signalled and nothing to record.
pub fn guarded_kill(req: &KillRequest, ctx: &GuardContext) -> Result<KillReport, KillError> {
    admit(&req.target, req.typed_name.as_deref(), &req.reason, ctx)?;
    let (pid, start) = (req.target.pid, req.target.start_time);

    let mut evidence = None;
    let mut early = None;
    if let Some(dir) = &req.evidence_dir {
        match capture_evidence(dir, pid, start, req.at) {
            Ok(ev) => evidence = Some(ev),
            Err(EvidenceError::Process(DetailsError::Gone { .. })) => early = Some(SignalOutcome::Gone),
            Err(
                EvidenceError::Process(DetailsError::Recycled { expected, found, .. })
                | EvidenceError::ReplacedDuringCapture { expected, found, .. },
            ) => early = Some(SignalOutcome::Recycled { expected, found }),
            Err(e) => return Err(KillError::Evidence(e)),
        }
    }
    let outcome = match early {
        Some(o) => o,
        None => send_signal(pid, start, req.signal),
    };

    let mut events = evidence.as_ref().map(Evidence::events).unwrap_or_default();
    let manifest = evidence.as_ref().and_then(|e| e.manifest()).map(|m| m.path.display().to_string());
    events.push(signalled_event(&req.target, req.signal, &req.reason, &outcome, manifest));
    Ok(KillReport { outcome, evidence, events })
}

/// The `process_signalled` event of one process: its identity, its cmdline redacted, cmdline and
/// reason clipped to what the sync protocol carries (8 KiB / 1 KiB; the evidence keeps them whole), what sending did, and the evidence manifest when it was captured for it.
pub fn signalled_event(
    m: &ProcessIdentity,
    sig: Sig,
    reason: &str,
    outcome: &SignalOutcome,
    evidence: Option<String>,
) -> EventKind {
    use crate::incident::sanitize::clip;
    EventKind::ProcessSignalled {
        pid: m.pid,
        start_time: m.start_time,
        name: m.name.clone(),
        user: m.user.clone(),
        cmdline: clip(&redact_cmdline(&m.cmdline), 8 * 1024),
        signal: sig.short().to_string(),
        reason: clip(reason.trim(), 1024),
        outcome: outcome.describe(),
        evidence,
    }
}
