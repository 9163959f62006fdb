//! The contacts pane as data: which rows it shows, computed from the team, the incident and `now`.
//! Pure (no IO, no clock): the pane draws these rows and its keys act on the selected one.

use chrono::{DateTime, Duration, FixedOffset, Utc};

use crate::incident::{EventKind, Role};
use crate::team::{LevelState, PersonNow, Target, Team, oncall_report};
use crate::tui::pane::IncidentData;

/// Who holds a role and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// A `role_assigned` event by this author.
    Assigned(String),
    /// The team file's `[roles]` default.
    Default,
}

/// What a level's page came to, from the `paged` events that name the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMark {
    Delivered,
    Failed,
}

/// The next handoff of a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRow {
    pub person: PersonNow,
    /// On the rotation's wall clock.
    pub at_local: DateTime<FixedOffset>,
    pub zone: String,
    pub wait: Duration,
}

/// One row of the pane.
// A pane has a dozen rows, rebuilt per draw: boxing the large ones would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Heading(String),
    OnCall {
        rotation: String,
        /// The rotation's id in the team file (what `t` takes).
        rotation_id: String,
        person: PersonNow,
        override_reason: Option<String>,
        next: Option<NextRow>,
    },
    Level {
        level: usize,
        /// The rotation's name, or `directly` for a person.
        target: String,
        /// When it fires, after the incident opened.
        offset: Duration,
        /// Who it reaches when it fires.
        person: Option<PersonNow>,
        state: LevelState,
        /// Seconds until it fires, on the next level only, and only while nobody acknowledged.
        countdown: Option<i64>,
        paged: Option<PageMark>,
    },
    Role {
        role: Role,
        person_id: String,
        person: Option<PersonNow>,
        source: RoleSource,
    },
    /// A line of information (acknowledged, exhausted, no ladder).
    Info {
        text: String,
        alarm: bool,
    },
    /// A team file problem, one line each.
    Problem(String),
}

impl Row {
    /// The person a key on this row acts on.
    pub fn person_id(&self) -> Option<&str> {
        match self {
            Row::OnCall { person, .. } => Some(&person.id),
            Row::Level { person, .. } => person.as_ref().map(|p| p.id.as_str()),
            Row::Role { person_id, .. } => Some(person_id),
            _ => None,
        }
    }

    /// The ladder level a page from this row stands for.
    pub fn level(&self) -> Option<u32> {
        match self {
            Row::Level { level, .. } => u32::try_from(*level).ok(),
            _ => None,
        }
    }

    /// Whether j/k stop on it.
    pub fn selectable(&self) -> bool {
        matches!(self, Row::OnCall { .. } | Row::Level { .. } | Row::Role { .. })
    }
}

/// The contact that `c` copies: the phone number, else the chat handle, else the email (then the
/// plain handle), with what it is.
pub fn best_contact(p: &PersonNow) -> Option<(&'static str, &str)> {
    [("phone", &p.phone), ("chat", &p.chat), ("email", &p.email), ("handle", &p.handle)]
        .into_iter()
        .find_map(|(what, v)| v.as_deref().filter(|s| !s.trim().is_empty()).map(|s| (what, s)))
}

/// Every row, in display order: on call now per rotation, the ladder of the incident's current
/// severity, then the incident roles.
pub fn rows(team: &Team, data: &IncidentData, now: DateTime<Utc>) -> Vec<Row> {
    let team = &crate::escalation::run::with_taken_pagers(team, &data.team_events);
    let mut out = vec![Row::Heading("On call now".into())];
    on_call(team, now, &mut out);
    ladder(team, data, now, &mut out);
    out.push(Row::Heading("Incident roles".into()));
    roles(team, data, now, &mut out);
    out
}

fn on_call(team: &Team, now: DateTime<Utc>, out: &mut Vec<Row>) {
    let report = oncall_report(team, now);
    if report.is_empty() {
        out.push(Row::Info { text: "no rotations in the team file".into(), alarm: false });
    }
    for r in report {
        let next = r.next.map(|n| NextRow {
            zone: n
                .at
                .with_timezone(&team.rotation(&r.rotation).map_or(chrono_tz::UTC, |x| x.tz()))
                .format("%Z")
                .to_string(),
            person: n.person,
            at_local: n.at_local,
            wait: n.at - now,
        });
        out.push(Row::OnCall {
            rotation_id: r.rotation,
            rotation: r.name,
            person: r.on_call,
            override_reason: r.override_reason,
            next,
        });
    }
}

fn ladder(team: &Team, data: &IncidentData, now: DateTime<Utc>, out: &mut Vec<Row>) {
    let st = &data.state;
    let sev = st.severity;
    out.push(Row::Heading(format!("Escalation · {sev} · opened {}", st.opened_at.format("%H:%M UTC"))));
    let acked = st.acknowledged.as_ref().map(|a| a.at);
    let Some(l) = team.ladder(sev.get(), st.opened_at, acked, now) else {
        out.push(Row::Info {
            text: format!("no escalation ladder for {sev} in the team file"),
            alarm: false,
        });
        return;
    };
    for lv in &l.levels {
        let target = match &lv.target {
            Target::Rotation(id) => team.rotation(id).map_or(id.as_str(), |r| r.name()).to_string(),
            // The person column names them already.
            Target::Person(_) => "directly".into(),
        };
        let person = lv.person.as_deref().and_then(|id| team.person(id)).map(|p| PersonNow::of(p, now));
        let next = l.next == Some(lv.level - 1);
        out.push(Row::Level {
            level: lv.level,
            target,
            offset: lv.fires_at - l.opened_at,
            person,
            state: lv.state,
            countdown: if next { l.countdown_secs } else { None },
            paged: page_mark(data, lv.level),
        });
    }
    pages(team, data, out);
    match (st.acknowledged.as_ref(), l.next) {
        (Some(a), _) if a.at <= now => out.push(Row::Info {
            text: format!(
                "acknowledged by {} after {}: escalation stopped",
                a.by,
                crate::team::compact_duration(a.at - st.opened_at)
            ),
            alarm: false,
        }),
        (_, None) if st.is_open() && now < l.exhausted_at => out.push(Row::Info {
            text: format!(
                "every level paged and nobody acknowledged: ladder runs out in {}",
                countdown((l.exhausted_at - now).num_seconds())
            ),
            alarm: true,
        }),
        (_, None) if st.is_open() => out.push(Row::Info {
            text: format!(
                "ladder exhausted {} ago and nobody acknowledged",
                crate::team::compact_duration(now - l.exhausted_at)
            ),
            alarm: true,
        }),
        _ => {}
    }
}

/// What the escalation engine paged: per level and cycle, when, whom, through which channel, and
/// whether it was delivered (one line each; a page not delivered is an alarm).
fn pages(team: &Team, data: &IncidentData, out: &mut Vec<Row>) {
    for r in crate::escalation::page_records(&data.events) {
        let who = r
            .person
            .as_deref()
            .map_or("nobody".to_string(), |id| team.person(id).map_or(id.to_string(), |p| p.name.clone()));
        let cycle = if r.cycle > 1 { format!(" (pass {})", r.cycle) } else { String::new() };
        let outcome = if r.outcomes.is_empty() {
            "sending…".to_string()
        } else {
            r.outcomes
                .iter()
                .map(|(method, ok, text)| match (method.as_str(), ok) {
                    ("none", _) => text.clone(),
                    (m, true) => format!("{m} delivered"),
                    (m, false) => format!("{m} FAILED: {text}"),
                })
                .collect::<Vec<_>>()
                .join(" · ")
        };
        out.push(Row::Info {
            text: format!(
                "L{}{cycle} paged {} {} → {who}: {outcome} (by {})",
                r.level,
                r.at.format("%H:%M:%S"),
                if r.attempts > 1 { format!("x{}", r.attempts) } else { String::new() },
                r.by
            )
            .replace("  ", " "),
            alarm: !r.outcomes.is_empty() && !r.delivered(),
        });
    }
}

/// Whether ladder level `level` was paged: delivered if the latest page through any channel was
/// (the engine pages through every channel; one that reached the person is enough), else failed.
fn page_mark(data: &IncidentData, level: usize) -> Option<PageMark> {
    let mut latest: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for e in &data.events {
        if let EventKind::Paged { level: Some(l), ok, method, .. } = &e.kind
            && *l as usize == level
        {
            latest.insert(method.as_str(), *ok);
        }
    }
    match latest.values().any(|ok| *ok) {
        _ if latest.is_empty() => None,
        true => Some(PageMark::Delivered),
        false => Some(PageMark::Failed),
    }
}

fn roles(team: &Team, data: &IncidentData, now: DateTime<Utc>, out: &mut Vec<Row>) {
    for &role in Role::ALL {
        let held = match data.state.roles.get(&role) {
            Some(s) => Some((s.value.clone(), RoleSource::Assigned(s.by.clone()))),
            None => team.roles.get(role.as_str()).map(|id| (id.to_string(), RoleSource::Default)),
        };
        match held {
            Some((person_id, source)) => {
                let person = team.person(&person_id).map(|p| PersonNow::of(p, now));
                out.push(Row::Role { role, person_id, person, source });
            }
            None => out.push(Row::Info { text: format!("{role}: nobody (R assigns)"), alarm: false }),
        }
    }
}

/// A countdown that moves every second: `7:48` under an hour, else `4h08m` / `2d3h`.
pub fn countdown(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 3600 {
        format!("{}:{:02}", secs / 60, secs % 60)
    } else {
        crate::team::compact_duration(Duration::seconds(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Event, Severity, fold};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn team() -> Team {
        crate::team::load(include_str!("../../../../team.example.toml"), "team.example.toml").unwrap()
    }

    /// A SEV`sev` incident opened at 12:00 UTC, with `more` events after it.
    fn incident(sev: u8, more: &[(i64, EventKind)]) -> IncidentData {
        let t0 = at("2026-11-23T12:00:00Z");
        let open = Event::open(t0, "ana@db-01", "db down".into(), Severity::new(sev).unwrap(), None);
        let id = open.incident;
        let mut events = vec![open];
        for (mins, kind) in more {
            events.push(Event::new(id, t0 + Duration::minutes(*mins), "ana@db-01", kind.clone()));
        }
        IncidentData { state: fold(&events).unwrap(), events, team_events: Vec::new() }
    }

    fn levels(rows: &[Row]) -> Vec<(usize, LevelState, Option<i64>, Option<&str>)> {
        rows.iter()
            .filter_map(|r| match r {
                Row::Level { level, state, countdown, person, .. } => {
                    Some((*level, *state, *countdown, person.as_ref().map(|p| p.id.as_str())))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn rows_are_on_call_then_ladder_then_roles() {
        let rows = rows(&team(), &incident(2, &[]), at("2026-11-23T12:07:00Z"));
        let shape: Vec<&str> = rows
            .iter()
            .map(|r| match r {
                Row::Heading(_) => "heading",
                Row::OnCall { .. } => "oncall",
                Row::Level { .. } => "level",
                Row::Role { .. } => "role",
                Row::Info { .. } => "info",
                Row::Problem(_) => "problem",
            })
            .collect();
        assert_eq!(
            shape,
            [
                "heading", "oncall", "oncall", "heading", "level", "level", "heading", "role", "role",
                "role", "role"
            ]
        );
        assert_eq!(rows[3], Row::Heading("Escalation · SEV2 · opened 12:00 UTC".into()));
        let Row::OnCall { rotation, person, next: Some(next), .. } = &rows[1] else {
            panic!("{:?}", rows[1])
        };
        assert_eq!((rotation.as_str(), person.id.as_str()), ("Primary on-call", "chidi"));
        assert_eq!(person.local_time.format("%H:%M %Z").to_string(), "12:07 +00:00", "London time");
        assert_eq!(person.zone, "GMT");
        assert_eq!(next.person.id, "dana");
        assert_eq!(
            next.wait,
            Duration::days(6) + Duration::hours(19) + Duration::minutes(53),
            "Monday 09:00 Berlin"
        );
        assert_eq!(rows.iter().filter(|r| r.selectable()).count(), 8);
    }

    #[test]
    fn engine_pages_show_when_whom_and_whether_delivered_and_a_taken_pager_wins() {
        let mut data = incident(1, &[]);
        let id = data.state.id;
        let t = at("2026-11-23T12:05:00Z");
        let claim = Event {
            id: crate::incident::event::escalation_claim_id(id, 2, 1, 1),
            incident: id,
            at: t,
            author: "bo (serve)".into(),
            kind: EventKind::EscalationClaimed {
                level: 2,
                cycle: 1,
                attempt: 1,
                target: "secondary".into(),
                person: Some("dana".into()),
                dedup_key: "k".into(),
            },
        };
        let paged = |method: &str, ok: bool, outcome: &str| {
            Event::new(
                id,
                t,
                "bo (serve)",
                EventKind::Paged {
                    person: "dana".into(),
                    method: method.into(),
                    level: Some(2),
                    ok,
                    outcome: outcome.into(),
                    dedup_key: Some("k".into()),
                    cycle: Some(1),
                },
            )
        };
        data.events.push(claim);
        data.events.push(paged("pagerduty", true, "delivered: HTTP 202"));
        let mut hook = paged("webhook", false, "connection refused to http://h/…");
        hook.at += Duration::milliseconds(1);
        data.events.push(hook);
        // bo takes the primary pager: the on-call row and level 1's person follow.
        data.team_events.push(Event::new(
            crate::incident::event::TEAM_STREAM,
            at("2026-11-23T11:00:00Z"),
            "bo",
            EventKind::OncallTaken {
                rotation: "primary".into(),
                person: "bo".into(),
                from: at("2026-11-23T11:00:00Z"),
                until: at("2026-11-24T11:00:00Z"),
                reason: None,
            },
        ));
        let rows = rows(&team(), &data, at("2026-11-23T12:07:00Z"));
        assert!(rows.contains(&Row::Info {
            text: "L2 paged 12:05:00 → Dana Kowalski: pagerduty delivered · webhook FAILED: connection refused to http://h/… (by bo (serve))".into(),
            alarm: false,
        }), "{rows:#?}");
        assert_eq!(levels(&rows)[0].3, Some("bo"));
    }

    #[test]
    fn countdown_runs_to_the_next_level_only() {
        let rows = rows(&team(), &incident(1, &[]), at("2026-11-23T12:07:00Z"));
        assert_eq!(
            levels(&rows),
            [
                (1, LevelState::Fired, None, Some("chidi")),
                (2, LevelState::Fired, None, Some("dana")),
                (3, LevelState::Pending, Some(8 * 60), Some("ana")),
            ]
        );
        assert_eq!(countdown(8 * 60), "8:00");
        assert_eq!(countdown(59), "0:59");
        assert_eq!(countdown(3 * 3600 + 125), "3h02m");
        assert_eq!(countdown(-3), "0:00");
    }

    #[test]
    fn acknowledging_cancels_later_levels_and_stops_the_countdown() {
        let data = incident(1, &[(3, EventKind::Acknowledged {})]);
        let rows = rows(&team(), &data, at("2026-11-23T12:07:00Z"));
        assert_eq!(
            levels(&rows),
            [
                (1, LevelState::Fired, None, Some("chidi")),
                (2, LevelState::Cancelled, None, Some("dana")),
                (3, LevelState::Cancelled, None, Some("ana")),
            ]
        );
        assert!(rows.contains(&Row::Info {
            text: "acknowledged by ana@db-01 after 3m: escalation stopped".into(),
            alarm: false
        }));
        // Before the ack is stamped, the countdown still runs.
        let early = super::rows(&team(), &data, at("2026-11-23T12:02:00Z"));
        assert_eq!(levels(&early)[1], (2, LevelState::Pending, Some(3 * 60), Some("dana")));
    }

    #[test]
    fn an_exhausted_ladder_is_an_alarm_and_pages_are_marked() {
        let paged = |ok| EventKind::Paged {
            person: "bo".into(),
            method: "webhook".into(),
            level: Some(1),
            ok,
            outcome: "x".into(),
            dedup_key: None,
            cycle: None,
        };
        let data = incident(2, &[(1, paged(true)), (2, paged(false))]);
        let rows = rows(&team(), &data, at("2026-11-23T13:00:00Z"));
        assert!(rows.contains(&Row::Info {
            text: "ladder exhausted 15m ago and nobody acknowledged".into(),
            alarm: true
        }));
        let marks: Vec<_> = rows
            .iter()
            .filter_map(|r| if let Row::Level { paged, .. } = r { Some(*paged) } else { None })
            .collect();
        assert_eq!(marks, [Some(PageMark::Failed), None], "the latest page of level 1 failed");
    }

    #[test]
    fn roles_come_from_events_else_the_team_defaults() {
        let assign = EventKind::RoleAssigned { role: Role::Scribe, person: "emi".into() };
        let rows = rows(&team(), &incident(3, &[(1, assign)]), at("2026-11-23T12:07:00Z"));
        let roles: Vec<(Role, &str, bool)> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Role { role, person_id, source, .. } => {
                    Some((*role, person_id.as_str(), *source == RoleSource::Default))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            roles,
            [
                (Role::Commander, "ana", true),
                (Role::Comms, "dana", true),
                (Role::Scribe, "emi", false),
                (Role::Ops, "bo", true)
            ]
        );
    }

    #[test]
    fn missing_ladder_and_roles_say_so() {
        let text = r#"
[people.ana]
name = "Ana"
tz = "UTC"
email = "ana@example.com"
"#;
        let team = crate::team::load(text, "t.toml").unwrap();
        let rows = rows(&team, &incident(4, &[]), at("2026-11-23T12:07:00Z"));
        assert!(rows.contains(&Row::Info { text: "no rotations in the team file".into(), alarm: false }));
        assert!(rows.contains(&Row::Info {
            text: "no escalation ladder for SEV4 in the team file".into(),
            alarm: false
        }));
        assert!(rows.contains(&Row::Info { text: "ops: nobody (R assigns)".into(), alarm: false }));
        let p = PersonNow::of(team.person("ana").unwrap(), at("2026-11-23T12:07:00Z"));
        assert_eq!(best_contact(&p), Some(("email", "ana@example.com")), "no phone or chat: the email");
    }
}
