//! The sync decisions, as pure functions tested without a network: what to push and pull, how
//! long to wait after a failure, what a failure means, and the status line the header shows.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::incident::IncidentId;

/// One outbox entry as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub incident: IncidentId,
    pub id: Uuid,
    /// Approximate JSON size, to keep a batch under the server's body limit.
    pub bytes: usize,
}

/// One step of a sync round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Push { incident: IncidentId, ids: Vec<Uuid> },
    Pull { incident: IncidentId, after: i64 },
}

/// Batch limits the planner keeps to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_events: usize,
    pub max_bytes: usize,
}

/// Plans a round: first push the outbox (per incident, oldest first, in batches within the
/// limits, skipping events the server rejected for good), then pull each followed incident
/// from its cursor. Pushing first means a pull also returns our own events, acknowledged.
pub fn plan(
    pending: &[Pending],
    rejected: &HashSet<Uuid>,
    follow: &[(IncidentId, i64)],
    limits: Limits,
) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut order: Vec<IncidentId> = Vec::new();
    for p in pending {
        if !order.contains(&p.incident) {
            order.push(p.incident);
        }
    }
    for incident in order {
        let mut ids = Vec::new();
        let mut bytes = 0;
        for p in pending.iter().filter(|p| p.incident == incident && !rejected.contains(&p.id)) {
            if !ids.is_empty() && (ids.len() >= limits.max_events || bytes + p.bytes > limits.max_bytes) {
                ops.push(Op::Push { incident, ids: std::mem::take(&mut ids) });
                bytes = 0;
            }
            ids.push(p.id);
            bytes += p.bytes;
        }
        if !ids.is_empty() {
            ops.push(Op::Push { incident, ids });
        }
    }
    let mut seen = HashSet::new();
    for (incident, after) in follow {
        if seen.insert(*incident) {
            ops.push(Op::Pull { incident: *incident, after: *after });
        }
    }
    ops
}

/// How long to wait before retry number `failures` (1 = first failure): 1 s doubling to 30 s,
/// scaled by `jitter` in [0, 1) into [50%, 100%] of that, never under 1 s.
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(5);
    let base = (1u64 << exp).min(30) as f64;
    let secs = (base * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))).max(1.0);
    Duration::from_secs_f64(secs)
}

/// What went wrong talking to the server, reduced to what the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect, timed out, or the connection broke.
    Network,
    /// An HTTP error status; `index` is the batch index the server blamed, if any.
    Status { code: u16, index: Option<usize> },
    /// A 2xx answer that was not what the protocol promises.
    Garbage,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Wait (backoff) and try again: the server or network may come back.
    Later,
    /// The token is wrong (401, or a 403 that blames no event): retry only slowly, and say so.
    Auth,
    /// The server will never accept this one event: set it aside (kept locally) and go on.
    RejectEvent(usize),
}

pub fn classify(f: Failure) -> Retry {
    match f {
        // 422: the event breaks a rule; 409: its id is already stored with another body; 403
        // naming an event: the token may not write its author (`Failure::Status` keeps a 403's
        // index only then). Either way no retry can succeed: set that one event aside (kept
        // locally) and go on; the token itself is fine.
        Failure::Status { code: 403 | 409 | 422, index: Some(i) } => Retry::RejectEvent(i),
        Failure::Status { code: 401 | 403, .. } => Retry::Auth,
        _ => Retry::Later,
    }
}

/// The link to the server as the header shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Link {
    /// No server configured: local only.
    #[default]
    Local,
    Connecting,
    Online,
    Offline {
        since: DateTime<Utc>,
    },
    AuthFailed,
}

/// Everything the TUI header needs about sync.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncStatus {
    pub link: Link,
    /// Local events waiting to be pushed (not counting the rejected ones, which never will be).
    pub pending: usize,
    /// Events the server refused for good (kept locally, never pushed again).
    pub rejected: usize,
    /// Who else has the incident open (from the server's presence).
    pub viewers: Vec<String>,
    /// The last error, one line, for a detail view.
    pub last_error: Option<String>,
    /// When the server last told us its head and we held everything up to it (a heartbeat).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The server's heartbeat interval (zero until the first heartbeat).
    pub every: Duration,
    /// `(head, cursor)` while the server's head is below the last seq this client took from
    /// it, or its heartbeat named another store than the cursor counts in: the server lost
    /// events (restored, or an empty database) or is another store. Cleared
    /// when a heartbeat confirms the head again.
    pub behind: Option<(i64, i64)>,
    /// How many times this task found the server behind its cursor (a notice each time).
    pub lost: u32,
    /// What the last of those was, one line, for the notice.
    pub lost_note: Option<String>,
}

/// Heartbeat interval assumed before the server has announced one.
pub const ASSUMED_EVERY: Duration = Duration::from_secs(5);

/// How long a stream may stay silent before the client gives up on it and reconnects: 2.5 beats.
pub fn silence_limit(every: Duration) -> Duration {
    let every = if every.is_zero() { ASSUMED_EVERY } else { every };
    every.mul_f64(2.5)
}

/// How long a confirmation of the head counts: two beats (one missed heartbeat is not yet stale).
pub fn fresh_for(every: Duration) -> Duration {
    let every = if every.is_zero() { ASSUMED_EVERY } else { every };
    every * 2
}

/// Whether the header may say `synced`: online, nothing pending or refused, and the server
/// confirmed the head within `fresh_for`.
pub fn is_synced(s: &SyncStatus, now: DateTime<Utc>) -> bool {
    s.link == Link::Online
        && s.pending == 0
        && s.rejected == 0
        && s.behind.is_none()
        && confirmed_recently(s, now)
}

fn confirmed_recently(s: &SyncStatus, now: DateTime<Utc>) -> bool {
    s.confirmed_at.is_some_and(|t| (now - t).to_std().unwrap_or_default() <= fresh_for(s.every))
}

/// `synced`, `3 pending`, `stale 12s`, `offline 4m`, `offline 4m, 3 pending`, `auth failed`,
/// `local`. `synced` only when the server confirmed the head recently (see `is_synced`); online
/// without a recent confirmation is `stale` and counts from the last one.
pub fn status_line(s: &SyncStatus, now: DateTime<Utc>) -> String {
    let pending = |base: String| {
        let mut out = base;
        if s.pending > 0 {
            out = if out.is_empty() {
                format!("{} pending", s.pending)
            } else {
                format!("{out}, {} pending", s.pending)
            };
        }
        if s.rejected > 0 {
            out = if out.is_empty() {
                format!("{} rejected", s.rejected)
            } else {
                format!("{out}, {} rejected", s.rejected)
            };
        }
        out
    };
    match (&s.link, s.behind) {
        // Connected to a server that has less than we took from it: never `synced`.
        (Link::Online | Link::Connecting, Some((head, cursor))) if head < cursor => {
            pending(format!("server behind ({head} < {cursor})"))
        }
        // Another store (its id changed) whose head is already back at or past our cursor.
        (Link::Online | Link::Connecting, Some(_)) => pending("server replaced".into()),
        (Link::Local, _) => "local".into(),
        (Link::Connecting, _) => pending("connecting".into()),
        (Link::AuthFailed, _) => pending("auth failed".into()),
        (Link::Offline { since }, _) => pending(format!("offline {}", short_duration(now - *since))),
        (Link::Online, _) if is_synced(s, now) => "synced".into(),
        (Link::Online, _) if confirmed_recently(s, now) => pending(String::new()),
        (Link::Online, _) => match s.confirmed_at {
            Some(t) => pending(format!("stale {}", short_duration(now - t))),
            None => pending("connecting".into()),
        },
    }
}

fn short_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(incident: IncidentId, bytes: usize) -> Pending {
        Pending { incident, id: Uuid::now_v7(), bytes }
    }

    #[test]
    fn pushes_per_incident_in_batches_then_pulls() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let pending = vec![p(a, 10), p(b, 10), p(a, 10), p(a, 10)];
        let ops =
            plan(&pending, &HashSet::new(), &[(a, 7), (a, 7)], Limits { max_events: 2, max_bytes: 1000 });
        assert_eq!(
            ops,
            vec![
                Op::Push { incident: a, ids: vec![pending[0].id, pending[2].id] },
                Op::Push { incident: a, ids: vec![pending[3].id] },
                Op::Push { incident: b, ids: vec![pending[1].id] },
                Op::Pull { incident: a, after: 7 },
            ]
        );
    }

    #[test]
    fn batches_respect_bytes_and_skip_rejected() {
        let a = Uuid::now_v7();
        let pending = vec![p(a, 600), p(a, 600), p(a, 10)];
        let rejected: HashSet<Uuid> = [pending[1].id].into();
        let ops = plan(&pending, &rejected, &[], Limits { max_events: 100, max_bytes: 1000 });
        assert_eq!(ops, vec![Op::Push { incident: a, ids: vec![pending[0].id, pending[2].id] }]);
        let ops = plan(&pending, &HashSet::new(), &[], Limits { max_events: 100, max_bytes: 1000 });
        assert_eq!(ops.len(), 2, "{ops:?}");
        assert!(plan(&[], &HashSet::new(), &[], Limits { max_events: 1, max_bytes: 1 }).is_empty());
    }

    #[test]
    fn backoff_grows_to_thirty_seconds_with_jitter() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1, 0.99), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(2));
        assert!(backoff(3, 0.99) > Duration::from_secs_f64(3.9));
        assert_eq!(backoff(6, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(60, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(60, 0.0), Duration::from_secs(15));
        assert_eq!(backoff(0, 0.5), Duration::from_secs(1));
    }

    #[test]
    fn silence_and_freshness_follow_the_interval() {
        assert_eq!(silence_limit(Duration::from_millis(400)), Duration::from_millis(1000));
        assert_eq!(silence_limit(Duration::ZERO), Duration::from_millis(12_500));
        assert_eq!(fresh_for(Duration::from_secs(1)), Duration::from_secs(2));
    }

    #[test]
    fn classifies_failures() {
        assert_eq!(classify(Failure::Network), Retry::Later);
        assert_eq!(classify(Failure::Status { code: 500, index: None }), Retry::Later);
        assert_eq!(classify(Failure::Status { code: 401, index: None }), Retry::Auth);
        assert_eq!(classify(Failure::Status { code: 403, index: None }), Retry::Auth);
        // A 403 naming one event's author is about that event, not the token.
        assert_eq!(classify(Failure::Status { code: 403, index: Some(2) }), Retry::RejectEvent(2));
        assert_eq!(classify(Failure::Status { code: 401, index: Some(2) }), Retry::Auth);
        assert_eq!(classify(Failure::Status { code: 422, index: Some(2) }), Retry::RejectEvent(2));
        assert_eq!(classify(Failure::Status { code: 422, index: None }), Retry::Later);
        assert_eq!(classify(Failure::Garbage), Retry::Later);
    }

    #[test]
    fn status_lines() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T03:10:00Z").unwrap().to_utc();
        let mut s = SyncStatus { link: Link::Online, ..Default::default() };
        assert_eq!(status_line(&s, now), "connecting", "online but no heartbeat yet");
        s.confirmed_at = Some(now - chrono::Duration::seconds(3));
        s.every = Duration::from_secs(5);
        assert_eq!(status_line(&s, now), "synced");
        assert!(is_synced(&s, now));
        s.pending = 3;
        assert_eq!(status_line(&s, now), "3 pending");
        // A server whose head is below what we took from it is never `synced`.
        let behind = SyncStatus { behind: Some((1, 68)), pending: 0, ..s.clone() };
        assert!(!is_synced(&behind, now));
        assert_eq!(status_line(&behind, now), "server behind (1 < 68)");
        let replaced = SyncStatus { behind: Some((70, 68)), ..behind.clone() };
        assert!(!is_synced(&replaced, now));
        assert_eq!(status_line(&replaced, now), "server replaced");
        // No heartbeat for more than two intervals: the header says how old its knowledge is.
        let later = now + chrono::Duration::seconds(9);
        assert_eq!(status_line(&s, later), "stale 12s, 3 pending");
        s.pending = 0;
        assert_eq!(status_line(&s, later), "stale 12s");
        assert!(!is_synced(&s, later));
        s.pending = 3;
        s.link = Link::Offline { since: now - chrono::Duration::minutes(4) };
        assert_eq!(status_line(&s, now), "offline 4m, 3 pending");
        s.pending = 0;
        assert_eq!(status_line(&s, now), "offline 4m");
        // An event the server refused for what it is (say, an author the token may not write)
        // is counted as rejected, never as a failed token.
        s.link = Link::Online;
        s.rejected = 1;
        assert_eq!(status_line(&s, now), "1 rejected");
        s.pending = 2;
        assert_eq!(status_line(&s, now), "2 pending, 1 rejected");
        s.pending = 0;
        s.rejected = 0;
        s.link = Link::AuthFailed;
        assert_eq!(status_line(&s, now), "auth failed");
        assert_eq!(status_line(&SyncStatus::default(), now), "local");
    }
}
