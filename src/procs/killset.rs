//! Killing the right set: a whole process tree or process group, previewed member by member,
//! refused whole if any member is one the guard refuses (PID 1, a kernel thread, warroom, an
//! ancestor of the responder's session), each member signalled through its own pidfd checked
//! against its start time, then watched until it exits; the outcome becomes an event.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use super::guard::{self, GuardContext, Verdict};
use super::kill::{ProcessIdentity, signalled_event};
use super::parse;
use super::procfs::ProcFs;
use super::redact::redact_cmdline;
use super::sampler::Sampler;
use super::signal::{Liveness, Sig, SignalOutcome, liveness, send_signal};
use crate::incident::EventKind;

/// Which processes besides the chosen one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The process alone.
    One,
    /// The process and every descendant.
    Tree,
    /// Every process in the chosen process's process group.
    Group,
}

/// The members to signal, the chosen one first, then the rest by pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillSet {
    pub scope: Scope,
    pub members: Vec<ProcessIdentity>,
}

/// Builds the set from a fresh snapshot. Err when the chosen process is gone or was replaced.
pub fn kill_set(pid: i32, start_time: u64, scope: Scope) -> Result<KillSet, String> {
    let mut sampler = Sampler::new().map_err(|e| format!("/proc: {e}"))?;
    let snap = sampler.sample();
    let root = snap.get(pid).ok_or_else(|| format!("pid {pid} has exited"))?;
    if root.start_time != start_time {
        return Err(format!("pid {pid} now belongs to another process (start time {})", root.start_time));
    }
    let mut members = vec![ProcessIdentity::from(root)];
    match scope {
        Scope::One => {}
        Scope::Tree => {
            let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
            for (i, r) in snap.processes.iter().enumerate() {
                children.entry(r.ppid).or_default().push(i);
            }
            let mut seen = HashSet::from([pid]);
            let mut queue = vec![pid];
            while let Some(p) = queue.pop() {
                for &i in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                    let r = &snap.processes[i];
                    if seen.insert(r.pid) {
                        members.push(ProcessIdentity::from(r));
                        queue.push(r.pid);
                    }
                }
            }
        }
        Scope::Group => {
            let fs = ProcFs::open(Path::new("/proc")).map_err(|e| format!("/proc: {e}"))?;
            let mut buf = Vec::new();
            let mut pgrp = |p: i32| {
                fs.read_pid(p, "stat", &mut buf)
                    .ok()
                    .and_then(|()| parse::parse_stat(&buf).ok())
                    .map(|s| s.pgrp)
            };
            let group = pgrp(pid).ok_or_else(|| format!("pid {pid}: cannot read its process group"))?;
            for r in &snap.processes {
                if r.pid != pid && pgrp(r.pid) == Some(group) {
                    members.push(ProcessIdentity::from(r));
                }
            }
        }
    }
    members[1..].sort_by_key(|m| m.pid);
    Ok(KillSet { scope, members })
}

impl KillSet {
    /// One line per member: pid, start time, user, name and the redacted command line.
    pub fn preview(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| {
                let cmd =
                    if m.cmdline.is_empty() { format!("[{}]", m.name) } else { redact_cmdline(&m.cmdline) };
                let cmd = crate::incident::sanitize::one_line(&cmd).into_owned();
                format!("{:>7}  start {:<10} {:<10} {:<16} {cmd}", m.pid, m.start_time, m.user, m.name)
            })
            .collect()
    }

    /// The guard over every member: the first refusal refuses the whole set; members that
    /// need their name typed are listed.
    pub fn check(&self, ctx: &GuardContext) -> Result<Vec<(i32, String)>, String> {
        let mut typed = Vec::new();
        for m in &self.members {
            match guard::check(&m.target(), ctx) {
                Verdict::Refuse { reason } => {
                    return Err(format!("the set contains {} (pid {}): {reason}", m.name, m.pid));
                }
                Verdict::RequireTypedName { reason } => typed.push((m.pid, reason)),
                Verdict::Allow => {}
            }
        }
        Ok(typed)
    }

    /// Signals every member through its own pidfd (checked against its start time).
    pub fn signal(&self, sig: Sig) -> Vec<(ProcessIdentity, SignalOutcome)> {
        self.members.iter().map(|m| (m.clone(), send_signal(m.pid, m.start_time, sig))).collect()
    }
}

/// Watches `members` until every one has exited or `grace` passes; one `process_outcome` event
/// per member, saying whether it exited after `sig` and when.
pub fn watch_outcomes(members: &[ProcessIdentity], sig: Sig, grace: Duration) -> Vec<EventKind> {
    let started = Instant::now();
    let mut exited_at: Vec<Option<Duration>> = vec![None; members.len()];
    loop {
        for (m, at) in members.iter().zip(exited_at.iter_mut()) {
            if at.is_none()
                && matches!(
                    liveness(m.pid, m.start_time),
                    Liveness::Gone | Liveness::Zombie | Liveness::Recycled { .. }
                )
            {
                *at = Some(started.elapsed());
            }
        }
        if exited_at.iter().all(Option::is_some) || started.elapsed() >= grace {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    members.iter().zip(exited_at).map(|(m, at)| outcome_event(m, sig, at, grace)).collect()
}

/// The `process_outcome` event: exited `at` after `sig`, or still running after `watched`.
pub fn outcome_event(m: &ProcessIdentity, sig: Sig, at: Option<Duration>, watched: Duration) -> EventKind {
    let (exited, waited, outcome) = match at {
        Some(d) => (true, d, format!("exited {:.1} s after {}", d.as_secs_f64(), sig.name())),
        None => {
            (false, watched, format!("still running {:.0} s after {}", watched.as_secs_f64(), sig.name()))
        }
    };
    EventKind::ProcessOutcome {
        pid: m.pid,
        start_time: m.start_time,
        name: m.name.clone(),
        signal: sig.short().to_string(),
        exited,
        waited_ms: waited.as_millis() as u64,
        outcome,
    }
}

/// What signalling a set did: the events to record now (the chosen process's evidence manifest,
/// then one `process_signalled` per member), the members the signal reached (to watch), and one
/// line for the responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSent {
    pub events: Vec<EventKind>,
    pub sent: Vec<ProcessIdentity>,
    pub summary: String,
}

/// Captures the chosen (first) member's evidence into `evidence_dir` (when given), then signals
/// every member through its own pidfd. Err when the guard refuses the set or the capture failed:
/// nothing was signalled.
pub fn signal_set(
    set: &KillSet,
    ctx: &GuardContext,
    sig: Sig,
    reason: &str,
    evidence_dir: Option<&Path>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<SetSent, String> {
    if reason.trim().is_empty() {
        return Err("a reason is required: say why (it goes on the timeline)".into());
    }
    let typed = set.check(ctx).map_err(|e| format!("refused: {e}"))?;
    if let Some((pid, why)) = typed.iter().find(|(p, _)| Some(*p) != set.members.first().map(|m| m.pid)) {
        return Err(format!("refused: pid {pid}: {why} (signal it on its own)"));
    }
    let chosen = set.members.first().ok_or("the set is empty")?;
    let mut events = Vec::new();
    let mut manifest = None;
    if let Some(dir) = evidence_dir {
        let ev = super::evidence::capture_evidence(dir, chosen.pid, chosen.start_time, at)
            .map_err(|e| format!("evidence capture failed, nothing was signalled: {e}"))?;
        manifest = ev.manifest().map(|m| m.path.display().to_string());
        events.extend(ev.events());
    }
    let mut sent = Vec::new();
    for (m, outcome) in set.signal(sig) {
        if outcome.was_sent() {
            sent.push(m.clone());
        }
        let evidence = if m.pid == chosen.pid { manifest.clone() } else { None };
        events.push(signalled_event(&m, sig, reason, &outcome, evidence));
    }
    let summary = format!("{} sent to {} of {} processes", sig.name(), sent.len(), set.members.len());
    Ok(SetSent { events, sent, summary })
}
