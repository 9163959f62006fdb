//! The validated team: people, rotations, escalation ladders and incident roles, free of file spans.
//!
//! Built by [`crate::team::load`]; everything here already passed validation, so lookups by id that the
//! file declared cannot miss.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::rotation::RotationError;

/// A person who can be reached during an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Short id used everywhere else in the file (`ana`).
    pub id: String,
    pub name: String,
    pub handle: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub chat: Option<String>,
    /// IANA zone the person lives in, for "what time is it where they are".
    #[serde(serialize_with = "serialize_tz")]
    pub tz: Tz,
    pub pagerduty_user: Option<String>,
}

/// How to reach a person, as the team file says: what a page carries and what the on-call report
/// shows (one struct for both, copied from `Person`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub handle: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub chat: Option<String>,
    pub pagerduty_user: Option<String>,
}

impl From<&Person> for Contact {
    fn from(p: &Person) -> Self {
        let Person { id, name, handle, phone, email, chat, tz: _, pagerduty_user } = p.clone();
        Contact { id, name, handle, phone, email, chat, pagerduty_user }
    }
}

/// A dated override: `person` holds the rotation from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A rotation: people take turns, each for `length_days`, handing off at a local wall-clock time.
///
/// Fields are private so a `Rotation` always has at least one person, a length of at least one day
/// and non-overlapping overrides: resolution relies on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) people: Vec<String>,
    pub(super) handoff: NaiveTime,
    pub(super) length_days: u32,
    pub(super) tz: Tz,
    pub(super) start: NaiveDate,
    pub(super) overrides: Vec<Override>,
}

impl Rotation {
    /// A rotation whose first shift (taken by `people[0]`) starts on `start` at `handoff` in `tz`.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        people: Vec<String>,
        handoff: NaiveTime,
        length_days: u32,
        tz: Tz,
        start: NaiveDate,
    ) -> Result<Self, RotationError> {
        if people.is_empty() {
            return Err(RotationError::NoPeople);
        }
        if length_days == 0 {
            return Err(RotationError::ZeroLength);
        }
        Ok(Rotation {
            id: id.into(),
            name: name.into(),
            people,
            handoff,
            length_days,
            tz,
            start,
            overrides: Vec::new(),
        })
    }

    /// Adds an override; refuses one that ends before it starts or overlaps another.
    pub fn with_override(mut self, o: Override) -> Result<Self, RotationError> {
        if o.end <= o.start {
            return Err(RotationError::EmptyOverride);
        }
        if let Some(i) = self.overrides.iter().position(|x| x.start < o.end && o.start < x.end) {
            return Err(RotationError::Overlap(i));
        }
        self.overrides.push(o);
        self.overrides.sort_by_key(|x| x.start);
        Ok(self)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Person ids in turn order (never empty).
    pub fn people(&self) -> &[String] {
        &self.people
    }
    pub fn handoff(&self) -> NaiveTime {
        self.handoff
    }
    pub fn length_days(&self) -> u32 {
        self.length_days
    }
    pub fn tz(&self) -> Tz {
        self.tz
    }
    pub fn start(&self) -> NaiveDate {
        self.start
    }
    /// Overrides sorted by start, never overlapping.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }
}

/// Who a ladder level pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Target {
    Person(String),
    Rotation(String),
}

/// One step of an escalation ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Level {
    pub target: Target,
    /// Minutes without an acknowledgement, after this level fires, before the next level fires.
    pub after_minutes: u32,
}

/// The escalation ladder for one severity (never empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ladder {
    pub levels: Vec<Level>,
}

/// Who holds the incident roles by default (person ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    pub commander: Option<String>,
    pub comms: Option<String>,
    pub scribe: Option<String>,
    pub ops: Option<String>,
}

impl Roles {
    /// Every role with its holder, in display order.
    pub fn entries(&self) -> [(&'static str, Option<&str>); 4] {
        [
            ("commander", self.commander.as_deref()),
            ("comms", self.comms.as_deref()),
            ("scribe", self.scribe.as_deref()),
            ("ops", self.ops.as_deref()),
        ]
    }

    /// The holder of a role by its name (`commander`, `comms`, `scribe`, `ops`).
    pub fn get(&self, role: &str) -> Option<&str> {
        match role {
            "commander" => self.commander.as_deref(),
            "comms" => self.comms.as_deref(),
            "scribe" => self.scribe.as_deref(),
            "ops" => self.ops.as_deref(),
            _ => None,
        }
    }
}

/// The whole validated team file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Team {
    pub people: BTreeMap<String, Person>,
    pub rotations: BTreeMap<String, Rotation>,
    /// Ladders by severity number (1 = SEV1, most severe).
    pub escalation: BTreeMap<u8, Ladder>,
    pub roles: Roles,
}

impl Team {
    pub fn person(&self, id: &str) -> Option<&Person> {
        self.people.get(id)
    }

    pub fn rotation(&self, id: &str) -> Option<&Rotation> {
        self.rotations.get(id)
    }

    /// Who is on call for rotation `rotation` at `t`; `None` if there is no such rotation.
    pub fn on_call(&self, rotation: &str, t: DateTime<Utc>) -> Option<&Person> {
        let id = self.rotations.get(rotation)?.on_call(t);
        self.people.get(id)
    }

    /// The person a ladder target reaches at `t`.
    pub fn resolve(&self, target: &Target, t: DateTime<Utc>) -> Option<&Person> {
        match target {
            Target::Person(id) => self.people.get(id),
            Target::Rotation(id) => self.on_call(id, t),
        }
    }
}

pub(super) fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}
