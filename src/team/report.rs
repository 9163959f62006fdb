//! What `warroom oncall` and `warroom team check` print: serialisable snapshots and plain-text forms.

use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};
use serde::Serialize;

use super::error::TeamError;
use super::model::{Person, Team};
use super::rotation::clamp_instant;

/// A person as seen at an instant: contacts and their local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonNow {
    pub id: String,
    pub name: String,
    pub handle: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub chat: Option<String>,
    pub pagerduty_user: Option<String>,
    /// IANA zone name.
    pub tz: String,
    /// Their wall-clock time, with its UTC offset.
    pub local_time: DateTime<FixedOffset>,
    /// Zone abbreviation at that time (`CET`, `EDT`).
    pub zone: String,
}

impl PersonNow {
    pub fn of(p: &Person, t: DateTime<Utc>) -> Self {
        let local = clamp_instant(t).with_timezone(&p.tz);
        PersonNow {
            id: p.id.clone(),
            name: p.name.clone(),
            handle: p.handle.clone(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            chat: p.chat.clone(),
            pagerduty_user: p.pagerduty_user.clone(),
            tz: p.tz.name().into(),
            local_time: local.with_timezone(&local.offset().fix()),
            zone: local.format("%Z").to_string(),
        }
    }
}

/// The next handoff of a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextNow {
    pub at: DateTime<Utc>,
    /// The handoff instant on the rotation's wall clock.
    pub at_local: DateTime<FixedOffset>,
    pub person: PersonNow,
}

/// One rotation at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationNow {
    pub rotation: String,
    pub name: String,
    pub tz: String,
    pub at: DateTime<Utc>,
    pub on_call: PersonNow,
    /// Set when an override is in force: its reason, or empty.
    pub override_reason: Option<String>,
    pub next: Option<NextNow>,
}

/// Who is on call at `t` and who is next, for every rotation (sorted by rotation id).
pub fn oncall_report(team: &Team, t: DateTime<Utc>) -> Vec<RotationNow> {
    let t = clamp_instant(t);
    let mut out = Vec::new();
    for r in team.rotations.values() {
        // A validated team only names known people; skip rather than panic on a hand-built one.
        let Some(now) = team.person(r.on_call(t)) else { continue };
        let next = r.next_handoff(t).and_then(|h| {
            let person = team.person(&h.person)?;
            let at_local = h.at.with_timezone(&r.tz());
            Some(NextNow {
                at: h.at,
                at_local: at_local.with_timezone(&at_local.offset().fix()),
                person: PersonNow::of(person, t),
            })
        });
        out.push(RotationNow {
            rotation: r.id().into(),
            name: r.name().into(),
            tz: r.tz().name().into(),
            at: t,
            on_call: PersonNow::of(now, t),
            override_reason: r.override_at(t).map(|o| o.reason.clone().unwrap_or_default()),
            next,
        });
    }
    out
}

/// `4h48m`, `2d3h`, `12m`: a compact duration for countdowns (negative shows as `0m`).
pub fn compact_duration(d: Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{m}m"),
        (0, h) => format!("{h}h{m:02}m"),
        (d, h) => format!("{d}d{h}h"),
    }
}

fn contacts(p: &PersonNow) -> String {
    let mut parts = Vec::new();
    for (label, v) in [("phone", &p.phone), ("chat", &p.chat), ("email", &p.email), ("handle", &p.handle)] {
        if let Some(v) = v {
            parts.push(format!("{label} {v}"));
        }
    }
    parts.join(" · ")
}

/// The plain-text form of [`oncall_report`], one block per rotation.
pub fn format_oncall(report: &[RotationNow]) -> String {
    let mut s = String::new();
    for r in report {
        let p = &r.on_call;
        s.push_str(&format!("{} ({}, {})\n", r.rotation, r.name, r.tz));
        let over = match &r.override_reason {
            Some(reason) if !reason.is_empty() => format!(" [override: {reason}]"),
            Some(_) => " [override]".into(),
            None => String::new(),
        };
        s.push_str(&format!(
            "  now   {} ({}){over} · their time {} {}\n",
            p.name,
            p.id,
            p.local_time.format("%a %H:%M"),
            p.zone
        ));
        let c = contacts(p);
        if !c.is_empty() {
            s.push_str(&format!("        {c}\n"));
        }
        match &r.next {
            Some(n) => s.push_str(&format!(
                "  next  {} ({}) at {} (in {})\n",
                n.person.name,
                n.person.id,
                n.at_local.format("%a %Y-%m-%d %H:%M %:z"),
                compact_duration(n.at - r.at)
            )),
            None => s.push_str("  next  nobody else is scheduled\n"),
        }
    }
    s
}

/// One line per problem, as `warroom team check` prints them.
pub fn format_errors(errors: &[TeamError]) -> String {
    errors.iter().map(|e| format!("{e}\n")).collect()
}
