//! The escalation engine's decision, pure: given the team, an incident's events and the time, which
//! ladder pages are due now and when the next one falls due. No IO, no clock.
//!
//! The ladder is laid out from the instant the current severity took effect (the `opened` event, or
//! the last `severity_set` that changed it): level `k` of cycle `c` falls due at
//! `start + (c - 1) * total + sum(after of levels before k)`, where `total` is the sum of every
//! level's wait. A page is identified by (level, cycle), whatever the severity, so a re-plan never
//! pages a level again that was already paged. An acknowledgement or a `resolved` status stops it.
//!
//! A due page becomes an `escalation_claimed` event whose id is derived from (incident, level,
//! cycle, attempt). A claim with no `paged` outcome [`STALE_CLAIM`] after it was made means its
//! sender died between claim and send: the page is due again as the next attempt (same dedup key,
//! so PagerDuty folds it into the alert if the first send did reach it), up to [`MAX_ATTEMPTS`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::incident::event::escalation_claim_id;
use crate::incident::{Event, EventKind, IncidentId, Status};
use crate::team::{Target, Team};

/// How long a claim may go without a recorded outcome before another executor re-sends it.
/// Longer than the slowest send (3 tries of at most 300 s would be more, but the default
/// 10 s x 3 tries with backoff stays far below).
pub const STALE_CLAIM: Duration = Duration::seconds(120);

/// Claims per (level, cycle) at most: the first and two re-sends.
pub const MAX_ATTEMPTS: u32 = 3;

/// One page the engine must send now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub claim_id: Uuid,
    /// 1-based level.
    pub level: u32,
    /// 1-based pass over the ladder.
    pub cycle: u32,
    pub attempt: u32,
    /// When the level fell due.
    pub due_at: DateTime<Utc>,
    pub target: Target,
    /// The person the target reaches at `due_at`; `None` if it reaches nobody.
    pub person: Option<String>,
    pub dedup_key: String,
}

/// Why the engine has nothing more to do for an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Not an incident (no `opened` event yet).
    NotOpened,
    Acknowledged,
    Resolved,
    /// The team file has no ladder for the incident's severity.
    NoLadder,
    /// Every level of every cycle was paged.
    Exhausted,
}

/// The decision at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Pages to claim and send now, oldest first.
    pub due: Vec<Due>,
    /// When to look again (the next level's due time, or a claim going stale); `None`: never.
    pub next_at: Option<DateTime<Utc>>,
    pub stopped: Option<Stopped>,
}

/// The dedup key of the page for (incident, level, cycle): the same for every executor and attempt.
pub fn dedup_key(incident: IncidentId, level: u32, cycle: u32) -> String {
    format!("warroom-{incident}-L{level}-C{cycle}")
}

#[derive(Default)]
struct Claimed {
    attempts: u32,
    last_at: Option<DateTime<Utc>>,
    recorded: bool,
}

/// What is due at `now` for the incident whose events are `events` (any order).
pub fn plan(team: &Team, events: &[Event], now: DateTime<Utc>) -> Plan {
    let mut sorted: Vec<&Event> = events.iter().filter(|e| e.at <= now).collect();
    sorted.sort_by_key(|e| e.order_key());
    let Some(opened) = sorted.iter().find(|e| matches!(e.kind, EventKind::Opened { .. })) else {
        return Plan { stopped: Some(Stopped::NotOpened), ..Plan::default() };
    };
    let incident = opened.incident;
    let EventKind::Opened { severity, .. } = &opened.kind else { unreachable!("matched above") };
    let (mut severity, mut start) = (*severity, opened.at);
    let (mut acked, mut status) = (false, Status::Investigating);
    let mut claims: BTreeMap<(u32, u32), Claimed> = BTreeMap::new();
    for ev in &sorted {
        match &ev.kind {
            EventKind::SeveritySet { severity: s } if *s != severity => {
                severity = *s;
                start = ev.at.max(opened.at);
            }
            EventKind::Acknowledged {} => acked = true,
            EventKind::StatusSet { status: s } => status = *s,
            EventKind::EscalationClaimed { level, cycle, attempt, .. } => {
                let c = claims.entry((*level, *cycle)).or_default();
                c.attempts = c.attempts.max(*attempt);
                c.last_at = c.last_at.max(Some(ev.at));
            }
            EventKind::Paged { level: Some(level), cycle: Some(cycle), .. } => {
                claims.entry((*level, *cycle)).or_default().recorded = true;
            }
            _ => {}
        }
    }
    if acked {
        return Plan { stopped: Some(Stopped::Acknowledged), ..Plan::default() };
    }
    if status == Status::Resolved {
        return Plan { stopped: Some(Stopped::Resolved), ..Plan::default() };
    }
    let Some(ladder) = team.escalation.get(&severity.get()) else {
        return Plan { stopped: Some(Stopped::NoLadder), ..Plan::default() };
    };
    let total: Duration = ladder.levels.iter().map(|l| l.after()).fold(Duration::zero(), |a, b| a + b);
    let mut plan = Plan::default();
    let later = |t: DateTime<Utc>, plan: &mut Plan| {
        plan.next_at = Some(plan.next_at.map_or(t, |n| n.min(t)));
    };
    let mut all_done = true;
    for cycle in 1..=ladder.repeat.saturating_add(1) {
        let mut due_at = start + total * (cycle as i32 - 1);
        for (i, l) in ladder.levels.iter().enumerate() {
            let level = i as u32 + 1;
            let this = due_at;
            due_at += l.after();
            let claimed = claims.get(&(level, cycle));
            let attempt = match claimed {
                None if this <= now => 1,
                None => {
                    all_done = false;
                    later(this, &mut plan);
                    continue;
                }
                Some(c) if c.recorded || c.attempts >= MAX_ATTEMPTS => continue,
                Some(c) => {
                    let stale_at = c.last_at.map_or(now, |t| t + STALE_CLAIM);
                    all_done = false;
                    if stale_at > now {
                        later(stale_at, &mut plan);
                        continue;
                    }
                    c.attempts + 1
                }
            };
            all_done = false;
            plan.due.push(Due {
                claim_id: escalation_claim_id(incident, level, cycle, attempt),
                level,
                cycle,
                attempt,
                due_at: this,
                target: l.target.clone(),
                person: team.resolve(&l.target, this).map(|p| p.id.clone()),
                dedup_key: dedup_key(incident, level, cycle),
            });
        }
    }
    if all_done {
        plan.stopped = Some(Stopped::Exhausted);
    }
    plan
}

/// The claim event for `due`, stamped `now` by `author`.
pub fn claim_event(incident: IncidentId, due: &Due, now: DateTime<Utc>, author: &str) -> Event {
    let target = match &due.target {
        Target::Person(id) | Target::Rotation(id) => id.clone(),
    };
    Event {
        id: due.claim_id,
        incident,
        at: now,
        author: author.to_string(),
        kind: EventKind::EscalationClaimed {
            level: due.level,
            cycle: due.cycle,
            attempt: due.attempt,
            target,
            person: due.person.clone(),
            dedup_key: due.dedup_key.clone(),
        },
    }
}

/// One ladder page as the timeline holds it, for the Contacts pane and `warroom escalate --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRecord {
    pub level: u32,
    pub cycle: u32,
    pub attempts: u32,
    /// When it was claimed (first attempt) and by which executor.
    pub at: DateTime<Utc>,
    pub by: String,
    pub person: Option<String>,
    /// Outcomes per channel: (method, delivered, one-line outcome).
    pub outcomes: Vec<(String, bool, String)>,
}

impl PageRecord {
    /// Delivered through at least one channel.
    pub fn delivered(&self) -> bool {
        self.outcomes.iter().any(|o| o.1)
    }
}

/// Every ladder page of the incident, by (cycle, level).
pub fn page_records(events: &[Event]) -> Vec<PageRecord> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.order_key());
    let mut out: BTreeMap<(u32, u32), PageRecord> = BTreeMap::new();
    // Claims first, outcomes second: an outcome stamped in the claim's millisecond may sort before
    // it (claim ids are hashes, not time-ordered).
    let (claims, rest): (Vec<&Event>, Vec<&Event>) =
        sorted.into_iter().partition(|e| matches!(e.kind, EventKind::EscalationClaimed { .. }));
    for ev in claims.into_iter().chain(rest) {
        match &ev.kind {
            EventKind::EscalationClaimed { level, cycle, attempt, person, .. } => {
                let r = out.entry((*cycle, *level)).or_insert_with(|| PageRecord {
                    level: *level,
                    cycle: *cycle,
                    attempts: 0,
                    at: ev.at,
                    by: ev.author.clone(),
                    person: person.clone(),
                    outcomes: Vec::new(),
                });
                r.attempts = r.attempts.max(*attempt);
            }
            EventKind::Paged { level: Some(level), cycle: Some(cycle), method, ok, outcome, .. } => {
                if let Some(r) = out.get_mut(&(*cycle, *level)) {
                    r.outcomes.push((method.clone(), *ok, outcome.clone()));
                }
            }
            _ => {}
        }
    }
    out.into_values().collect()
}
