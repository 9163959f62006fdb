//! Who is on call at an instant, and when the next handoff happens.
//!
//! Shift `k` starts on the local date `start + k * length_days` at the handoff wall-clock time in the
//! rotation's zone and is held by `people[k mod n]`; shifts before `start` continue the cycle backwards.
//! Across DST, handoffs stay at the local wall-clock time, so a shift can be an hour shorter or longer.
//!
//! A handoff time that does not exist on its date (inside a spring-forward gap) happens at the first
//! instant the wall clock reads that time or later, i.e. the moment the clocks jump; one that occurs
//! twice (autumn fall-back) happens the first time the clock reads it. Overrides win over the cycle.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::model::{Override, Rotation};

/// Why a rotation could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    #[error("rotation has no people")]
    NoPeople,
    #[error("length must be at least one day")]
    ZeroLength,
    #[error("override ends before it starts")]
    EmptyOverride,
    #[error("override overlaps overrides[{0}]")]
    Overlap(usize),
}

/// One turn of the regular cycle (overrides not applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    /// Shift number: 0 is the one starting at the rotation's start date; negative before it.
    pub index: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub person: String,
}

/// The next change of who is on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handoff {
    pub at: DateTime<Utc>,
    pub person: String,
}

/// Instants are clamped to years -200000..=200000 so that local times near the ends of chrono's range
/// (which would panic when converted) never arise, whatever instant a caller passes.
pub fn clamp_instant(t: DateTime<Utc>) -> DateTime<Utc> {
    let lo = NaiveDate::from_ymd_opt(-200_000, 1, 1).map(|d| d.and_time(NaiveTime::MIN).and_utc());
    let hi = NaiveDate::from_ymd_opt(200_000, 12, 31).map(|d| d.and_time(NaiveTime::MIN).and_utc());
    match (lo, hi) {
        (Some(lo), Some(hi)) => t.clamp(lo, hi),
        _ => t,
    }
}

/// The first instant at which the wall clock in `tz` reads `local` or later (see the module docs).
pub fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if local.year().abs() > 200_000 {
        return if local.year() < 0 { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC };
    }
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(a, b) => a.to_utc().min(b.to_utc()),
        LocalResult::None => gap_end(tz, local),
    }
}

/// Binary search for the instant a gap containing `local` ends. UTC offsets stay within ±26 h, so the
/// wall clock reads before `local` at `local - 26h` (as UTC) and after it at `local + 26h`.
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let reads_at_or_after = |secs: i64| {
        DateTime::from_timestamp(secs, 0).is_some_and(|u| u.with_timezone(&tz).naive_local() >= local)
    };
    let base = local.and_utc().timestamp();
    let (mut lo, mut hi) = (base - 26 * 3600, base + 26 * 3600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads_at_or_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Rotation {
    /// The instant shift `k` starts (saturating at the ends of chrono's range).
    pub fn boundary(&self, k: i64) -> DateTime<Utc> {
        let days = k.saturating_mul(i64::from(self.length_days));
        match Duration::try_days(days).and_then(|d| self.start.checked_add_signed(d)) {
            Some(date) => first_instant_at_or_after(self.tz, date.and_time(self.handoff)),
            None if k < 0 => DateTime::<Utc>::MIN_UTC,
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// The regular shift containing `t`: `start <= t < end`.
    pub fn shift_at(&self, t: DateTime<Utc>) -> Shift {
        let t = clamp_instant(t);
        let local = t.with_timezone(&self.tz).naive_local();
        let days = (local.date() - self.start).num_days();
        // A guess within one shift of the answer; the loops settle it exactly.
        let mut k = days.div_euclid(i64::from(self.length_days));
        while k > i64::MIN / 2 && self.boundary(k) > t {
            k -= 1;
        }
        while k < i64::MAX / 2 && self.boundary(k + 1) <= t {
            k += 1;
        }
        Shift {
            index: k,
            start: self.boundary(k),
            end: self.boundary(k + 1),
            person: self.person_for(k).into(),
        }
    }

    fn person_for(&self, k: i64) -> &str {
        let n = self.people.len() as i64;
        // `people` is never empty (checked by `Rotation::new`), so the index is in range.
        &self.people[k.rem_euclid(n) as usize]
    }

    /// The override in force at `t`, if any.
    pub fn override_at(&self, t: DateTime<Utc>) -> Option<&Override> {
        self.overrides.iter().find(|o| o.start <= t && t < o.end)
    }

    /// The person id on call at `t`: the override's person if one is in force, else the shift's.
    pub fn on_call(&self, t: DateTime<Utc>) -> &str {
        match self.override_at(clamp_instant(t)) {
            Some(o) => &o.person,
            None => {
                let k = self.shift_at(t).index;
                self.person_for(k)
            }
        }
    }

    /// The next instant after `t` at which an override starts or ends or, outside overrides, a shift
    /// ends. Who is on call can only change at these instants.
    fn next_transition(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if let Some(o) = self.override_at(t) {
            return o.end;
        }
        let shift_end = self.shift_at(t).end;
        let next_override = self.overrides.iter().map(|o| o.start).find(|s| *s > t);
        next_override.map_or(shift_end, |s| s.min(shift_end))
    }

    /// When someone other than the person on call at `t` next takes over, and who.
    ///
    /// `None` when nobody else ever does (a one-person rotation with no future overrides).
    pub fn next_handoff(&self, t: DateTime<Utc>) -> Option<Handoff> {
        let t = clamp_instant(t);
        let current = self.on_call(t);
        // Each step ends an override, starts one, or crosses a shift boundary outside overrides; a
        // rotation with two different people changes hands within this many steps.
        let steps = 2 * self.people.len() + 2 * self.overrides.len() + 2;
        let mut u = t;
        for _ in 0..steps {
            let next = self.next_transition(u);
            if next <= u || next != clamp_instant(next) {
                return None; // beyond the range we resolve in
            }
            u = next;
            let person = self.on_call(u);
            if person != current {
                return Some(Handoff { at: u, person: person.into() });
            }
        }
        None
    }
}
