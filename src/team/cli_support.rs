//! Pure helpers for the `warroom oncall` and `warroom team check` commands: parsing `--at` and the
//! plain-text forms of reports, ladders and problems. The caller prints; nothing here does IO.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::error::TeamError;
use super::ladder::{LadderNow, LevelState};
use super::model::{Target, Team};
use super::report::{PersonNow, RotationNow};

/// Parses an `--at` value: RFC 3339 (`2026-11-23T03:00:00+01:00`, `…Z`), or `YYYY-MM-DD HH:MM[:SS]`
/// / `YYYY-MM-DDTHH:MM[:SS]` / `YYYY-MM-DD` read as UTC.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.to_utc());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "bad time \"{}\" (expected RFC 3339 like 2026-11-23T03:00:00Z, or \"2026-11-23 03:00\" in UTC)",
        s.escape_debug()
    ))
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
    errors.iter().map(|e| format!("{}\n", crate::incident::sanitize::error_line(&e.to_string()))).collect()
}

/// The plain-text form of a ladder: one line per level with when it fires, who, and its state.
pub fn format_ladder(team: &Team, ladder: &LadderNow) -> String {
    let mut s = format!(
        "SEV{} escalation, opened {}\n",
        ladder.severity,
        ladder.opened_at.format("%Y-%m-%d %H:%M UTC")
    );
    for l in &ladder.levels {
        let target = match &l.target {
            Target::Person(id) => id.clone(),
            Target::Rotation(id) => format!("{id} rotation"),
        };
        let who = l.person.as_deref().and_then(|id| team.person(id)).map_or("?", |p| p.name.as_str());
        let state = match l.state {
            LevelState::Fired => "paged".to_string(),
            LevelState::Cancelled => "cancelled (acknowledged)".to_string(),
            LevelState::Pending if Some(l.level - 1) == ladder.next => {
                format!(
                    "next, in {}",
                    compact_duration(Duration::seconds(ladder.countdown_secs.unwrap_or(0)))
                )
            }
            LevelState::Pending => "pending".to_string(),
        };
        s.push_str(&format!(
            "  {}. +{:>4}  {:<24} {:<20} {state}\n",
            l.level,
            compact_duration(l.fires_at - ladder.opened_at),
            who,
            target
        ));
    }
    if let Some(a) = ladder.acknowledged_at {
        s.push_str(&format!("  acknowledged after {}\n", compact_duration(a - ladder.opened_at)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::load;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn parse_instant_accepts_common_forms_and_explains_refusals() {
        let want = at("2026-11-23T03:00:00Z");
        for s in
            ["2026-11-23T03:00:00Z", "2026-11-23T04:00:00+01:00", "2026-11-23 03:00", "2026-11-23T03:00:00"]
        {
            assert_eq!(parse_instant(s), Ok(want), "{s}");
        }
        assert_eq!(parse_instant("2026-11-23"), Ok(at("2026-11-23T00:00:00Z")));
        let e = parse_instant("tomorrow\u{1b}").unwrap_err();
        assert!(e.starts_with(r#"bad time "tomorrow\u{1b}" (expected RFC 3339"#), "{e}");
    }

    #[test]
    fn compact_durations() {
        assert_eq!(compact_duration(Duration::seconds(59)), "0m");
        assert_eq!(compact_duration(Duration::minutes(12)), "12m");
        assert_eq!(compact_duration(Duration::minutes(4 * 60 + 8)), "4h08m");
        assert_eq!(compact_duration(Duration::hours(51)), "2d3h");
        assert_eq!(compact_duration(Duration::minutes(-5)), "0m");
    }

    #[test]
    fn ladder_text_shows_state_and_countdown() {
        let team = load(include_str!("../../team.example.toml"), "team.example.toml").unwrap();
        let opened = at("2026-11-23T12:00:00Z");
        let l = team.ladder(1, opened, None, at("2026-11-23T12:07:00Z")).unwrap();
        let text = format_ladder(&team, &l);
        let want = "SEV1 escalation, opened 2026-11-23 12:00 UTC
  1. +  0m  Chidi Okafor             primary rotation     paged
  2. +  5m  Dana Kowalski            secondary rotation   paged
  3. + 15m  Ana Lima                 ana                  next, in 8m
";
        assert_eq!(text, want);
        let l = team.ladder(1, opened, Some(at("2026-11-23T12:03:00Z")), at("2026-11-23T12:30:00Z")).unwrap();
        let text = format_ladder(&team, &l);
        assert!(
            text.contains("Dana Kowalski            secondary rotation   cancelled (acknowledged)"),
            "{text}"
        );
        assert!(text.ends_with("  acknowledged after 3m\n"), "{text}");
    }
}
