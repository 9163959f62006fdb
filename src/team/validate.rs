//! Parse and check a team file: every problem is collected, then a [`Team`] is built only if none.

use std::ops::Range;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use toml::Spanned;
use toml::value::{Datetime, Offset};

use super::error::{Problem, TeamError, escape_controls, line_of};
use super::file::{LadderFile, OverrideFile, RotationFile, TeamFile};
use super::model::{Ladder, Level, Override, Person, Roles, Rotation, Target, Team};
use super::rotation::first_instant_at_or_after;

/// Parses and validates a team file. `path` is only used to name the file in errors.
///
/// Returns every problem found (syntax errors stop at the first, since nothing after can be trusted).
pub fn load(text: &str, path: &str) -> Result<Team, Vec<TeamError>> {
    let file: TeamFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            let message = crate::config::clearer_toml_message(message, text, e.span());
            let field = error_keys(&e);
            return Err(vec![TeamError {
                path: path.into(),
                line,
                field: escape_controls(&field),
                problem: Problem::Syntax(message).escaped(),
            }]);
        }
    };
    let mut v = Validator { text, path, errors: Vec::new() };
    let team = v.team(file);
    // Tables are checked in id order; report in file order.
    v.errors.sort_by_key(|e| e.line);
    if v.errors.is_empty() { Ok(team) } else { Err(v.errors) }
}

struct Validator<'a> {
    text: &'a str,
    path: &'a str,
    errors: Vec<TeamError>,
}

impl Validator<'_> {
    fn push(&mut self, span: Range<usize>, field: String, problem: Problem) {
        let line = line_of(self.text, span.start);
        let (field, problem) = (escape_controls(&field), problem.escaped());
        self.errors.push(TeamError { path: self.path.into(), line, field, problem });
    }

    /// The text, or an error if it holds a control character that could drive the terminal.
    fn text(&mut self, value: &Spanned<String>, field: String) -> String {
        if let Some(c) = value.get_ref().chars().find(|c| c.is_control()) {
            self.push(value.span(), field, Problem::ControlCharacter(u32::from(c)));
        }
        value.get_ref().clone()
    }

    fn opt_text(&mut self, value: &Option<Spanned<String>>, field: String) -> Option<String> {
        value.as_ref().map(|v| self.text(v, field))
    }

    /// A contact method (phone, email, chat): `c` copies it and a responder dials it, so on top of
    /// controls it must hold no invisible or bidi character that would make the copy differ from
    /// what the Contacts pane shows.
    fn contact(&mut self, value: &Option<Spanned<String>>, field: String) -> Option<String> {
        let v = value.as_ref()?;
        let before = self.errors.len();
        let text = self.text(v, field.clone());
        if self.errors.len() == before
            && let Some(c) = text.chars().find(|&c| crate::incident::sanitize::is_hidden(c))
        {
            self.push(v.span(), field, Problem::InvisibleCharacter(u32::from(c)));
        }
        Some(text)
    }

    fn tz(&mut self, value: &Spanned<String>, field: String) -> Option<Tz> {
        match value.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.push(value.span(), field, Problem::BadTimeZone(value.get_ref().clone()));
                None
            }
        }
    }

    fn team(&mut self, file: TeamFile) -> Team {
        let mut team = Team::default();
        for (id, p) in &file.people {
            let tz = self.tz(&p.tz, format!("people.{}.tz", id.get_ref()));
            if file.rotations.contains_key(id.get_ref().as_str()) {
                self.push(
                    id.span(),
                    format!("people.{}", id.get_ref()),
                    Problem::AmbiguousId(id.get_ref().clone()),
                );
            }
            let f = |name: &str| format!("people.{}.{name}", id.get_ref());
            let person = Person {
                id: self.text(id, format!("people.{}", id.get_ref())),
                name: self.text(&p.name, f("name")),
                handle: self.opt_text(&p.handle, f("handle")),
                phone: self.contact(&p.phone, f("phone")),
                email: self.contact(&p.email, f("email")),
                chat: self.contact(&p.chat, f("chat")),
                tz: tz.unwrap_or(Tz::UTC),
                pagerduty_user: self.opt_text(&p.pagerduty_user, f("pagerduty_user")),
            };
            team.people.insert(id.get_ref().clone(), person);
        }
        for (id, r) in &file.rotations {
            if let Some(rotation) = self.rotation(id, r, &team) {
                team.rotations.insert(id.get_ref().clone(), rotation);
            }
        }
        let e = &file.escalation;
        for (sev, ladder) in [(1, &e.sev1), (2, &e.sev2), (3, &e.sev3), (4, &e.sev4)] {
            if let Some(ladder) = ladder {
                let levels = self.ladder(sev, ladder, &team, &file);
                team.escalation.insert(sev, levels);
            }
        }
        let roles = &file.roles;
        let mut role = |name: &str, holder: &Option<Spanned<String>>| -> Option<String> {
            let holder = holder.as_ref()?;
            if !team.people.contains_key(holder.get_ref()) {
                self.push(
                    holder.span(),
                    format!("roles.{name}"),
                    Problem::UnknownPerson(holder.get_ref().clone()),
                );
            }
            Some(holder.get_ref().clone())
        };
        let roles = Roles {
            commander: role("commander", &roles.commander),
            comms: role("comms", &roles.comms),
            scribe: role("scribe", &roles.scribe),
            ops: role("ops", &roles.ops),
        };
        team.roles = roles;
        team
    }

    fn rotation(&mut self, key: &Spanned<String>, r: &RotationFile, team: &Team) -> Option<Rotation> {
        let id = key.get_ref().as_str();
        let field = |f: &str| format!("rotations.{id}.{f}");
        let before = self.errors.len();
        let name = self.text(&r.name, field("name"));
        self.text(key, format!("rotations.{id}"));
        if r.people.get_ref().is_empty() {
            self.push(r.people.span(), field("people"), Problem::NoPeople);
        }
        for (i, p) in r.people.get_ref().iter().enumerate() {
            if !team.people.contains_key(p.get_ref()) {
                self.push(
                    p.span(),
                    field(&format!("people[{i}]")),
                    Problem::UnknownPerson(p.get_ref().clone()),
                );
            }
        }
        let handoff = parse_handoff(r.handoff.get_ref());
        if handoff.is_none() {
            self.push(r.handoff.span(), field("handoff"), Problem::BadHandoff(r.handoff.get_ref().clone()));
        }
        let length = match parse_length(r.length.get_ref()) {
            Some(0) => {
                self.push(r.length.span(), field("length"), Problem::ZeroLength);
                None
            }
            Some(days) => Some(days),
            None => {
                self.push(r.length.span(), field("length"), Problem::BadLength(r.length.get_ref().clone()));
                None
            }
        };
        let tz = self.tz(&r.tz, field("tz"));
        let start = match date_only(r.start.get_ref()) {
            Some(d) => Some(d),
            None => {
                let problem = Problem::BadDate(format!(
                    "expected a date like 2026-11-02 (no time), got {}",
                    r.start.get_ref()
                ));
                self.push(r.start.span(), field("start"), problem);
                None
            }
        };
        let handoff_for_dates = handoff.unwrap_or(NaiveTime::MIN);
        let zone = tz.unwrap_or(Tz::UTC);
        let mut overrides: Vec<(usize, Range<usize>, Override)> = Vec::new();
        for (i, o) in r.overrides.iter().enumerate() {
            let f = |name: &str| field(&format!("overrides[{i}].{name}"));
            if let Some(o2) = self.override_entry(o.get_ref(), zone, handoff_for_dates, &f, team) {
                overrides.push((i, o.span(), o2));
            }
        }
        for (a, (i, _, x)) in overrides.iter().enumerate() {
            for (j, span, y) in &overrides[a + 1..] {
                if x.start < y.end && y.start < x.end {
                    let problem = Problem::OverlappingOverride(*i);
                    self.push(span.clone(), field(&format!("overrides[{j}]")), problem);
                }
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let people = r.people.get_ref().iter().map(|p| p.get_ref().clone()).collect();
        let (handoff, length, tz, start) = (handoff?, length?, tz?, start?);
        let mut rotation = Rotation::new(id, name, people, handoff, length, tz, start).ok()?;
        for (_, _, o) in overrides {
            rotation = rotation.with_override(o).ok()?;
        }
        Some(rotation)
    }

    fn override_entry(
        &mut self,
        o: &OverrideFile,
        tz: Tz,
        handoff: NaiveTime,
        field: &dyn Fn(&str) -> String,
        team: &Team,
    ) -> Option<Override> {
        let mut ok = true;
        if !team.people.contains_key(o.person.get_ref()) {
            self.push(o.person.span(), field("person"), Problem::UnknownPerson(o.person.get_ref().clone()));
            ok = false;
        }
        let mut instant = |v: &Spanned<Datetime>, name: &str| match to_instant(v.get_ref(), tz, handoff) {
            Ok(t) => Some(t),
            Err(e) => {
                self.push(v.span(), field(name), Problem::BadDate(e));
                None
            }
        };
        let (start, end) = (instant(&o.start, "start"), instant(&o.end, "end"));
        let (start, end) = (start?, end?);
        if end <= start {
            self.push(o.end.span(), field("end"), Problem::OverrideEndsBeforeStart);
            ok = false;
        }
        let reason = self.opt_text(&o.reason, field("reason"));
        ok.then(|| Override { person: o.person.get_ref().clone(), start, end, reason })
    }

    fn ladder(&mut self, sev: u8, ladder: &LadderFile, team: &Team, file: &TeamFile) -> Ladder {
        let field = format!("escalation.sev{sev}.levels");
        if ladder.levels.get_ref().is_empty() {
            self.push(ladder.levels.span(), field.clone(), Problem::EmptyLadder);
        }
        let mut levels = Vec::new();
        for (i, l) in ladder.levels.get_ref().iter().enumerate() {
            let id = l.target.get_ref();
            let target = if team.people.contains_key(id) {
                Target::Person(id.clone())
            } else if file.rotations.contains_key(id.as_str()) {
                Target::Rotation(id.clone())
            } else {
                self.push(
                    l.target.span(),
                    format!("{field}[{i}].target"),
                    Problem::UnknownTarget(id.clone()),
                );
                continue;
            };
            let minutes = *l.after_minutes.get_ref();
            // A week is far beyond any sane wait; the cap keeps the arithmetic well inside range.
            if !minutes.is_finite() || !(0.0..=10_080.0).contains(&minutes) {
                self.push(
                    l.after_minutes.span(),
                    format!("{field}[{i}].after_minutes"),
                    Problem::BadWait(format!("{minutes} is not a number of minutes from 0 to 10080")),
                );
                continue;
            }
            levels.push(Level { target, after_ms: (minutes * 60_000.0).round() as u64 });
        }
        let mut repeat = 0;
        if let Some(r) = &ladder.repeat {
            let field = format!("escalation.sev{sev}.repeat");
            if *r.get_ref() > 9 {
                self.push(r.span(), field, Problem::BadRepeat(*r.get_ref()));
            } else if *r.get_ref() > 0 && levels.iter().all(|l| l.after_ms == 0) {
                let why = "repeating a ladder whose waits are all 0 would page every pass at once".into();
                self.push(r.span(), field, Problem::BadWait(why));
            } else {
                repeat = *r.get_ref();
            }
        }
        Ladder { levels, repeat }
    }
}

/// The dotted key path a deserialisation error happened in (empty for syntax errors). toml keeps
/// it private but prints it as a last line `in `a.b`` when the error carries no input text.
fn error_keys(e: &toml::de::Error) -> String {
    let mut bare = e.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let last = shown.lines().last().unwrap_or_default();
    last.strip_prefix("in `").and_then(|k| k.strip_suffix('`')).unwrap_or_default().to_string()
}

/// `"09:00"` → 09:00 local.
fn parse_handoff(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// `"3d"` → 3, `"1w"` → 7 (days).
fn parse_length(s: &str) -> Option<u32> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u32 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    match unit {
        'd' => Some(n),
        'w' => n.checked_mul(7),
        _ => None,
    }
}

fn date_of(d: &toml::value::Date) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

fn date_only(dt: &Datetime) -> Option<NaiveDate> {
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => date_of(&d),
        _ => None,
    }
}

/// An override bound: with an offset it is exact; a local date-time is read in the rotation's zone;
/// a bare date means that date at the rotation's handoff time.
fn to_instant(dt: &Datetime, tz: Tz, handoff: NaiveTime) -> Result<DateTime<Utc>, String> {
    let bad = || format!("bad date-time {dt}");
    let date = dt.date.as_ref().and_then(date_of).ok_or_else(|| format!("{dt} needs a date"))?;
    let time = match dt.time {
        Some(t) => NaiveTime::from_hms_nano_opt(
            u32::from(t.hour),
            u32::from(t.minute),
            u32::from(t.second),
            t.nanosecond,
        )
        .ok_or_else(bad)?,
        None => handoff,
    };
    let local = NaiveDateTime::new(date, time);
    match dt.offset {
        None => Ok(first_instant_at_or_after(tz, local)),
        Some(offset) => {
            let minutes = match offset {
                Offset::Z => 0,
                Offset::Custom { minutes } => i32::from(minutes),
            };
            let fixed = FixedOffset::east_opt(minutes * 60).ok_or_else(bad)?;
            local.and_local_timezone(fixed).single().map(|t| t.to_utc()).ok_or_else(bad)
        }
    }
}
