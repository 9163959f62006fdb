//! The escalation ladder for an incident: when each level fires and whether it still will.
//!
//! Level 1 fires when the incident opens; level `i + 1` fires `after_minutes` of level `i` later,
//! unless the incident was acknowledged first. An acknowledgement stamped after `now` is not yet
//! known and is ignored.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{Ladder, Target, Team};

/// Where a level stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelState {
    /// Its time has come (it was or should have been paged).
    Fired,
    /// Will fire at `fires_at` unless acknowledged before then.
    Pending,
    /// The incident was acknowledged before it fired.
    Cancelled,
}

/// One level of a ladder, resolved at the instant it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelNow {
    /// 1-based level number.
    pub level: usize,
    pub target: Target,
    pub fires_at: DateTime<Utc>,
    /// Person id the target reaches at `fires_at` (a rotation's on-call person then).
    pub person: Option<String>,
    pub state: LevelState,
}

/// A ladder at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LadderNow {
    pub severity: u8,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub levels: Vec<LevelNow>,
    /// 0-based index into `levels` of the next level to fire; `None` once acknowledged or exhausted.
    pub next: Option<usize>,
    /// Seconds until `next` fires (the countdown stops, i.e. is `None`, once acknowledged).
    pub countdown_secs: Option<i64>,
    /// When the last level's wait runs out with nobody acknowledging.
    pub exhausted_at: DateTime<Utc>,
}

/// Lays out `ladder` for an incident opened at `opened_at`.
pub fn ladder_at(
    team: &Team,
    severity: u8,
    ladder: &Ladder,
    opened_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> LadderNow {
    let ack = acknowledged_at.filter(|a| *a <= now);
    let mut fires_at = opened_at;
    let mut levels = Vec::with_capacity(ladder.levels.len());
    for (i, l) in ladder.levels.iter().enumerate() {
        let state = match ack {
            Some(a) if a < fires_at => LevelState::Cancelled,
            _ if fires_at <= now => LevelState::Fired,
            _ => LevelState::Pending,
        };
        let person = team.resolve(&l.target, fires_at).map(|p| p.id.clone());
        levels.push(LevelNow { level: i + 1, target: l.target.clone(), fires_at, person, state });
        fires_at = fires_at.checked_add_signed(l.after()).unwrap_or(DateTime::<Utc>::MAX_UTC);
    }
    let next = levels.iter().position(|l| l.state == LevelState::Pending);
    let countdown_secs = next.map(|i| (levels[i].fires_at - now).num_seconds());
    LadderNow {
        severity,
        opened_at,
        acknowledged_at: ack,
        levels,
        next,
        countdown_secs,
        exhausted_at: fires_at,
    }
}

impl Team {
    /// The ladder for `severity` (1..=4) at `now`; `None` if the file has no ladder for it.
    pub fn ladder(
        &self,
        severity: u8,
        opened_at: DateTime<Utc>,
        acknowledged_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<LadderNow> {
        let ladder = self.escalation.get(&severity)?;
        Some(ladder_at(self, severity, ladder, opened_at, acknowledged_at, now))
    }
}
