//! Status-update cadence: when the next status update is owed, from severity and the timeline.
//!
//! The rule, in full:
//! - The clock starts at the opening or at the last status update (any audience), whichever is
//!   later; the interval is the one of the severity in force at that moment.
//! - A severity change after that re-bases the deadline to one *new* interval after the change,
//!   but never later than the deadline already running: `deadline = min(deadline, change + new)`.
//!   So an escalation brings the next update forward (SEV3 → SEV1 ten minutes in: due 15 min
//!   after the change, not 50), while a de-escalation never forgives an update already owed
//!   (the slower interval applies from the next update on).
//! - A change to a severity with no interval (SEV4 by default) means no update is owed; raising
//!   it again later starts a fresh interval at that change.
//! - A resolved incident owes nothing.
//!
//! Pure: `now` is a parameter.

use chrono::{DateTime, Duration, Utc};

use crate::incident::{IncidentState, Severity};

/// Update interval per severity; `None` means no updates are required at that severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceConfig {
    pub sev1: Option<Duration>,
    pub sev2: Option<Duration>,
    pub sev3: Option<Duration>,
    pub sev4: Option<Duration>,
}

impl Default for CadenceConfig {
    /// SEV1 15 min, SEV2 30 min, SEV3 60 min, SEV4 none.
    fn default() -> Self {
        CadenceConfig::from_minutes([Some(15), Some(30), Some(60), None])
    }
}

impl CadenceConfig {
    /// From minutes for SEV1..SEV4 (`None` or `Some(0)` = no updates required), as a config file
    /// would give them.
    pub fn from_minutes(m: [Option<u32>; 4]) -> Self {
        let d = |m: Option<u32>| m.filter(|&m| m > 0).map(|m| Duration::minutes(i64::from(m)));
        CadenceConfig { sev1: d(m[0]), sev2: d(m[1]), sev3: d(m[2]), sev4: d(m[3]) }
    }

    /// The interval at `severity`.
    pub fn interval(&self, severity: Severity) -> Option<Duration> {
        match severity.get() {
            1 => self.sev1,
            2 => self.sev2,
            3 => self.sev3,
            _ => self.sev4,
        }
    }
}

/// Where the incident stands against its update cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDue {
    /// The next update is due in `remaining` (zero: due right now).
    Due { remaining: Duration },
    /// The update is late by `by`.
    Overdue { by: Duration },
    /// No update is required (severity without interval, or resolved).
    NotRequired,
}

/// When the next status update is due, or `None` when none is owed.
///
/// `severity_history` is every severity with the time it took effect, the opening one included
/// (as `IncidentState::severity_history` holds it); any order. Times after `now` are ignored, and
/// a last update stamped after `now` (a replica's clock ahead of ours) counts as made `now`.
pub fn next_update_deadline(
    cfg: &CadenceConfig,
    opened_at: DateTime<Utc>,
    severity_history: impl IntoIterator<Item = (DateTime<Utc>, Severity)>,
    last_update: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut history: Vec<(DateTime<Utc>, Severity)> =
        severity_history.into_iter().filter(|(at, _)| *at <= now).collect();
    history.sort_by_key(|(at, _)| *at);
    let base = last_update.map_or(opened_at, |u| u.max(opened_at)).min(now);
    let at_base = history.iter().rev().find(|(at, _)| *at <= base).or(history.first())?.1;
    let mut deadline = cfg.interval(at_base).map(|i| base + i);
    for &(at, severity) in history.iter().filter(|(at, _)| *at > base) {
        deadline = cfg.interval(severity).map(|i| deadline.map_or(at + i, |d| d.min(at + i)));
    }
    deadline
}

/// [`next_update_deadline`] measured against `now`.
pub fn update_due(
    cfg: &CadenceConfig,
    opened_at: DateTime<Utc>,
    severity_history: impl IntoIterator<Item = (DateTime<Utc>, Severity)>,
    last_update: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> UpdateDue {
    match next_update_deadline(cfg, opened_at, severity_history, last_update, now) {
        None => UpdateDue::NotRequired,
        Some(d) if now <= d => UpdateDue::Due { remaining: d - now },
        Some(d) => UpdateDue::Overdue { by: now - d },
    }
}

/// The cadence of a folded incident: what the header shows.
pub fn update_due_for(state: &IncidentState, cfg: &CadenceConfig, now: DateTime<Utc>) -> UpdateDue {
    if !state.is_open() {
        return UpdateDue::NotRequired;
    }
    update_due(
        cfg,
        state.opened_at,
        state.severity_history.iter().map(|s| (s.at, s.value)),
        state.last_status_update.as_ref().map(|s| s.at),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap() + Duration::minutes(min)
    }
    fn sev(n: u8) -> Severity {
        Severity::new(n).unwrap()
    }
    fn due(m: i64) -> UpdateDue {
        UpdateDue::Due { remaining: Duration::minutes(m) }
    }
    fn over(m: i64) -> UpdateDue {
        UpdateDue::Overdue { by: Duration::minutes(m) }
    }
    /// Opened at t(0) with `opening`, then `changes`, last update `last`, evaluated at `now`.
    fn at(opening: u8, changes: &[(i64, u8)], last: Option<i64>, now: i64) -> UpdateDue {
        let mut hist = vec![(t(0), sev(opening))];
        hist.extend(changes.iter().map(|&(m, s)| (t(m), sev(s))));
        update_due(&CadenceConfig::default(), t(0), hist, last.map(t), t(now))
    }

    #[test]
    fn due_then_overdue_at_each_severity() {
        assert_eq!(at(1, &[], None, 0), due(15));
        assert_eq!(at(1, &[], None, 10), due(5));
        assert_eq!(at(1, &[], None, 15), due(0));
        assert_eq!(at(1, &[], None, 18), over(3));
        assert_eq!(at(2, &[], None, 10), due(20));
        assert_eq!(at(2, &[], None, 45), over(15));
        assert_eq!(at(3, &[], None, 59), due(1));
        assert_eq!(at(3, &[], None, 61), over(1));
        assert_eq!(at(4, &[], None, 0), UpdateDue::NotRequired);
        assert_eq!(at(4, &[], None, 600), UpdateDue::NotRequired);
    }

    #[test]
    fn an_update_restarts_the_clock() {
        assert_eq!(at(1, &[], Some(20), 25), due(10));
        assert_eq!(at(1, &[], Some(20), 40), over(5));
        assert_eq!(at(2, &[], Some(50), 60), due(20));
        // An update stamped before the opening (skewed clock) does not move the clock back.
        assert_eq!(at(1, &[], Some(-30), 10), due(5));
        // One stamped in our future counts as made now.
        assert_eq!(at(1, &[], Some(90), 30), due(15));
    }

    #[test]
    fn escalation_brings_the_update_forward() {
        // SEV3 opened, escalated to SEV1 at 10: due 15 min after the change, not at 60.
        assert_eq!(at(3, &[(10, 1)], None, 12), due(13));
        assert_eq!(at(3, &[(10, 1)], None, 30), over(5));
        // Escalated late in the interval: never later than the deadline already running.
        assert_eq!(at(3, &[(50, 1)], None, 55), due(5));
        // Escalation after an update re-bases from the change.
        assert_eq!(at(3, &[(40, 1)], Some(35), 45), due(10));
    }

    #[test]
    fn de_escalation_keeps_the_owed_update() {
        // SEV1 → SEV3 at 10: the update owed at 15 is still owed.
        assert_eq!(at(1, &[(10, 3)], None, 12), due(3));
        assert_eq!(at(1, &[(10, 3)], None, 20), over(5));
        // After the next update the slower interval applies.
        assert_eq!(at(1, &[(10, 3)], Some(16), 30), due(46));
    }

    #[test]
    fn sev4_owes_nothing_until_raised_again() {
        assert_eq!(at(1, &[(5, 4)], None, 100), UpdateDue::NotRequired);
        assert_eq!(at(1, &[(5, 4), (50, 2)], None, 60), due(20));
        assert_eq!(at(4, &[(30, 1)], None, 40), due(5));
    }

    #[test]
    fn future_changes_and_history_order_do_not_matter() {
        let cfg = CadenceConfig::default();
        let hist = vec![(t(10), sev(1)), (t(0), sev(3)), (t(999), sev(4))];
        assert_eq!(update_due(&cfg, t(0), hist, None, t(12)), due(13));
        assert_eq!(update_due(&cfg, t(0), Vec::new(), None, t(12)), UpdateDue::NotRequired);
    }

    #[test]
    fn configurable_intervals() {
        let cfg = CadenceConfig::from_minutes([Some(5), Some(0), None, Some(120)]);
        assert_eq!(cfg.interval(sev(1)), Some(Duration::minutes(5)));
        assert_eq!(cfg.interval(sev(2)), None);
        assert_eq!(cfg.interval(sev(3)), None);
        let hist = [(t(0), sev(4))];
        assert_eq!(update_due(&cfg, t(0), hist, None, t(130)), over(10));
    }

    #[test]
    fn from_a_folded_incident() {
        use crate::incident::{Audience, Event, EventKind, Status, fold};
        let open = Event::open(t(0), "ana", "db down".into(), sev(2), None);
        let id = open.incident;
        let ev = |m, kind| Event::new(id, t(m), "ana", kind);
        let mut events = vec![open.clone()];
        let cfg = CadenceConfig::default();
        assert_eq!(update_due_for(&fold(&events).unwrap(), &cfg, t(40)), over(10));
        events.push(ev(35, EventKind::StatusUpdatePosted { audience: Audience::Internal, text: "x".into() }));
        assert_eq!(update_due_for(&fold(&events).unwrap(), &cfg, t(40)), due(25));
        events.push(ev(38, EventKind::SeveritySet { severity: sev(1) }));
        assert_eq!(update_due_for(&fold(&events).unwrap(), &cfg, t(40)), due(13));
        events.push(ev(39, EventKind::StatusSet { status: Status::Resolved }));
        assert_eq!(update_due_for(&fold(&events).unwrap(), &cfg, t(90)), UpdateDue::NotRequired);
    }
}
