//! Who is on call now and next, per rotation: the serialisable snapshot `warroom oncall --json` prints
//! and the team pane draws.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use serde::Serialize;

use super::model::{Contact, Person, Team};
use super::rotation::clamp_instant;

/// A person as seen at an instant: contacts and their local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonNow {
    /// Who, and how to reach them (`now.phone` reads through to it).
    #[serde(flatten)]
    pub contact: Contact,
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
            contact: Contact::from(p),
            tz: p.tz.name().into(),
            local_time: local.with_timezone(&local.offset().fix()),
            zone: local.format("%Z").to_string(),
        }
    }
}

impl std::ops::Deref for PersonNow {
    type Target = Contact;
    fn deref(&self) -> &Contact {
        &self.contact
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
