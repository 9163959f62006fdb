//! Exports: the Markdown postmortem draft and the JSON document (events plus folded state).
//!
//! Pure: the caller passes the events, the display zone and "now".

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::event::{Event, EventKind, Tag};
use super::sanitize::one_line;
use super::state::IncidentState;

/// Version of the JSON export document; bumped only by incompatible changes.
pub const JSON_FORMAT: u32 = 1;

/// The JSON export: `format`, `incident` (folded state), `events` (canonical order).
#[derive(Serialize)]
pub struct JsonExport<'a> {
    pub format: u32,
    pub exported_at: DateTime<Utc>,
    pub incident: &'a IncidentState,
    pub events: &'a [Event],
}

/// The JSON export document, pretty-printed.
pub fn to_json(state: &IncidentState, events: &[Event], now: DateTime<Utc>) -> String {
    let doc = JsonExport { format: JSON_FORMAT, exported_at: now, incident: state, events };
    // Serializing plain data with string keys cannot fail.
    super::sanitize::escape_json(serde_json::to_string_pretty(&doc).expect("export document is plain data"))
}

/// Escapes text for a Markdown table cell or inline text: one line, no pipe, no HTML, no
/// link/emphasis syntax that could restructure the document.
pub fn md_escape(s: &str) -> String {
    let flat = one_line(s);
    let mut out = String::with_capacity(flat.len());
    for c in flat.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn fmt_zone(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// A human duration: `2h 05m`, `12m`, `45s`.
pub fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if days > 0 {
        format!("{days}d {h}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// One line describing an event for the timeline table (raw text: callers escape for their medium).
pub fn describe(ev: &Event) -> String {
    match &ev.kind {
        EventKind::Opened { title, severity, .. } => format!("Opened \"{title}\" at {severity}"),
        EventKind::Note { text, tag } => match tag {
            Tag::Note => text.clone(),
            t => format!("[{t}] {text}"),
        },
        EventKind::Amended { text, .. } => format!("Amended a note: {text}"),
        EventKind::SeveritySet { severity } => format!("Severity set to {severity}"),
        EventKind::StatusSet { status } => format!("Status set to {status}"),
        EventKind::Acknowledged {} => "Acknowledged".to_string(),
        EventKind::RoleAssigned { role, person } => format!("{person} is {role}"),
        EventKind::ProcessSignalled { pid, name, signal, reason, outcome, .. } => {
            format!("Sent SIG{signal} to {name} (pid {pid}): {outcome}. Reason: {reason}")
        }
        EventKind::EvidenceCaptured { what, path, bytes, sha256 } => {
            let short = sha256.get(..12).unwrap_or(sha256);
            format!("Evidence captured: {what} → {path} ({bytes} bytes, sha256 {short}…)")
        }
        EventKind::RunbookAttached { title, .. } => format!("Runbook attached: {title}"),
        EventKind::ChecklistItemSet { item, checked, runbook } => {
            format!("{} {runbook}/{item}", if *checked { "Ticked" } else { "Unticked" })
        }
        EventKind::CommandRun { command, exit_code, .. } => match exit_code {
            Some(code) => format!("Ran `{command}` → exit {code}"),
            None => format!("Ran `{command}` → killed (no exit code)"),
        },
        EventKind::Paged { person, method, ok, outcome, .. } => {
            format!("Paged {person} via {method}: {}{outcome}", if *ok { "" } else { "FAILED " })
        }
        EventKind::ContactAttempted { person, method, outcome } => {
            format!("Contacted {person} by {method}: {outcome}")
        }
        EventKind::StatusUpdatePosted { audience, text } => format!("Status update ({audience}): {text}"),
        EventKind::Unknown => "(event of a kind this version does not know)".to_string(),
    }
}

/// What the events do not carry about attached runbooks (their items' texts), filled in by the
/// caller from the runbook files. Empty is fine: the export then names items by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookTexts {
    pub books: Vec<BookText>,
}

/// One runbook's items, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookText {
    pub id: String,
    pub items: Vec<ItemText>,
}

/// One checklist item: its stable id, its section heading (may be empty) and its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemText {
    pub id: String,
    pub section: String,
    pub text: String,
}

/// The Markdown postmortem draft. `events` in canonical order; `tz` is the responder's zone.
pub fn to_markdown(state: &IncidentState, events: &[Event], tz: Option<Tz>, now: DateTime<Utc>) -> String {
    to_markdown_with(state, events, tz, now, &RunbookTexts::default())
}

/// [`to_markdown`] with the texts of the runbooks' items, so the checklist section can say what
/// each step was and which were skipped.
pub fn to_markdown_with(
    state: &IncidentState,
    events: &[Event],
    tz: Option<Tz>,
    now: DateTime<Utc>,
    texts: &RunbookTexts,
) -> String {
    // A zone that is UTC under another name would only repeat the UTC column.
    let tz = tz.filter(|z| !is_utc(*z));
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Postmortem: {}", md_escape(&state.title));
    let _ = writeln!(w);
    let _ = writeln!(w, "*Draft generated by warroom on {}. Edit freely.*", fmt_utc(now));
    let _ = writeln!(w);
    let _ = writeln!(w, "| | |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(w, "| Incident | `{}` |", state.id);
    let _ = writeln!(
        w,
        "| Severity | {} (highest: SEV{}) |",
        state.severity,
        state.severity_history.iter().map(|s| s.value.get()).min().unwrap_or(state.severity.get())
    );
    let _ = writeln!(w, "| Status | {} |", state.status);
    let _ = writeln!(w, "| Opened | {} by {} |", with_zone(state.opened_at, tz), md_escape(&state.opened_by));
    if let Some(ack) = &state.acknowledged {
        let _ = writeln!(
            w,
            "| Acknowledged | {} by {} (after {}) |",
            with_zone(ack.at, tz),
            md_escape(&ack.by),
            human_duration(ack.at - state.opened_at)
        );
    }
    match state.resolved_at {
        Some(at) => {
            let _ = writeln!(w, "| Resolved | {} |", with_zone(at, tz));
            let _ = writeln!(w, "| Duration | {} |", human_duration(state.duration(now)));
        }
        None => {
            let _ = writeln!(w, "| Duration | {} so far (still open) |", human_duration(state.duration(now)));
        }
    }
    let people: Vec<String> = state.people.iter().map(|p| md_escape(p)).collect();
    let _ = writeln!(w, "| People involved | {} |", people.join(", "));
    for (role, who) in &state.roles {
        let _ = writeln!(w, "| {} | {} |", capitalise(role.as_str()), md_escape(&who.value));
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Summary");
    let _ = writeln!(w);
    match &state.summary {
        Some(s) if !s.trim().is_empty() => {
            let _ = writeln!(w, "{}", md_escape(s));
        }
        _ => {
            let _ = writeln!(w, "_What happened, in two or three sentences._");
        }
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Severity and status history");
    let _ = writeln!(w);
    let mut changes: Vec<(DateTime<Utc>, String, &str)> = Vec::new();
    for s in &state.severity_history {
        changes.push((s.at, s.value.to_string(), &s.by));
    }
    for s in state.status_history.iter().skip(1) {
        changes.push((s.at, s.value.to_string(), &s.by));
    }
    changes.sort_by_key(|c| c.0);
    for (at, what, by) in changes {
        let _ = writeln!(w, "- {} — {} ({})", with_zone(at, tz), what, md_escape(by));
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## Timeline");
    let _ = writeln!(w);
    match tz {
        Some(tz) => {
            let _ = writeln!(w, "| Time (UTC) | Time ({}) | Who | What |", tz.name());
            let _ = writeln!(w, "|---|---|---|---|");
        }
        None => {
            let _ = writeln!(w, "| Time (UTC) | Who | What |");
            let _ = writeln!(w, "|---|---|---|");
        }
    }
    let notes: std::collections::HashMap<_, _> = state.notes.iter().map(|n| (n.id, n)).collect();
    for ev in events {
        let text = match &ev.kind {
            EventKind::Note { .. } => notes
                .get(&ev.id)
                .map(|n| {
                    let tagged =
                        if n.tag == Tag::Note { n.text.clone() } else { format!("[{}] {}", n.tag, n.text) };
                    if n.amended_at.is_some() { format!("{tagged} (amended)") } else { tagged }
                })
                .unwrap_or_else(|| describe(ev)),
            _ => describe(ev),
        };
        let time = ev.at.format("%Y-%m-%d %H:%M:%S").to_string();
        match tz {
            Some(tz) => {
                let local = ev.at.with_timezone(&tz).format("%H:%M:%S").to_string();
                let _ =
                    writeln!(w, "| {time} | {local} | {} | {} |", md_escape(&ev.author), md_escape(&text));
            }
            None => {
                let _ = writeln!(w, "| {time} | {} | {} |", md_escape(&ev.author), md_escape(&text));
            }
        }
    }
    let _ = writeln!(w);

    for (tag, heading) in [
        (Tag::Finding, "Findings"),
        (Tag::Action, "Actions taken"),
        (Tag::Change, "Changes"),
        (Tag::Decision, "Decisions"),
    ] {
        let _ = writeln!(w, "## {heading}");
        let _ = writeln!(w);
        let mut any = false;
        for n in state.notes.iter().filter(|n| n.tag == tag) {
            any = true;
            let _ = writeln!(
                w,
                "- {} — {} ({})",
                n.at.format("%H:%M UTC"),
                md_escape(&n.text),
                md_escape(&n.author)
            );
        }
        if tag == Tag::Action {
            for ev in events {
                if matches!(
                    ev.kind,
                    EventKind::ProcessSignalled { .. }
                        | EventKind::CommandRun { .. }
                        | EventKind::Paged { .. }
                ) {
                    any = true;
                    let _ = writeln!(
                        w,
                        "- {} — {} ({})",
                        ev.at.format("%H:%M UTC"),
                        md_escape(&describe(ev)),
                        md_escape(&ev.author)
                    );
                }
            }
        }
        if !any {
            let _ = writeln!(w, "_None recorded._");
        }
        let _ = writeln!(w);
    }

    let evidence: Vec<&Event> =
        events.iter().filter(|e| matches!(e.kind, EventKind::EvidenceCaptured { .. })).collect();
    if !evidence.is_empty() {
        let _ = writeln!(w, "## Evidence");
        let _ = writeln!(w);
        for ev in evidence {
            if let EventKind::EvidenceCaptured { path, sha256, bytes, what } = &ev.kind {
                let _ = writeln!(
                    w,
                    "- {} — `{}` ({} bytes, sha256 `{}`)",
                    md_escape(what),
                    md_escape(path),
                    bytes,
                    md_escape(sha256)
                );
            }
        }
        let _ = writeln!(w);
    }

    status_updates(w, events, tz);
    runbooks(w, state, events, texts, tz);

    for heading in ["Impact", "Root cause", "What went well", "What went badly", "Follow-ups"] {
        let _ = writeln!(w, "## {heading}");
        let _ = writeln!(w);
        let _ = writeln!(w, "_To be written._");
        let _ = writeln!(w);
    }
    md
}

/// Every status update posted, with its audience.
fn status_updates(w: &mut String, events: &[Event], tz: Option<Tz>) {
    let _ = writeln!(w, "## Status updates");
    let _ = writeln!(w);
    let mut any = false;
    for ev in events {
        if let EventKind::StatusUpdatePosted { audience, text } = &ev.kind {
            any = true;
            let _ = writeln!(
                w,
                "- {} — to {audience} by {}: {}",
                with_zone(ev.at, tz),
                md_escape(&ev.author),
                md_escape(text)
            );
        }
    }
    if !any {
        let _ = writeln!(w, "_None posted._");
    }
    let _ = writeln!(w);
}

/// Per attached runbook: each item done (when, by whom), unticked again, or skipped, and the
/// commands run for it.
fn runbooks(w: &mut String, state: &IncidentState, events: &[Event], texts: &RunbookTexts, tz: Option<Tz>) {
    if state.runbooks.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Runbooks");
    let _ = writeln!(w);
    for (id, title) in &state.runbooks {
        let _ = writeln!(w, "### {} ({})", md_escape(title), code_span(id));
        let _ = writeln!(w);
        let views: Vec<_> = state.checklist.iter().filter(|c| &c.runbook == id).collect();
        let runs = |item: &str| -> Vec<String> {
            events
                .iter()
                .filter_map(|ev| match &ev.kind {
                    EventKind::CommandRun { runbook, item: i, command, exit_code, .. }
                        if runbook == id && i == item =>
                    {
                        let how = exit_code.map_or("killed".to_string(), |c| format!("exit {c}"));
                        Some(format!(
                            "ran {} at {} by {} → {how}",
                            code_span(command),
                            ev.at.format("%H:%M UTC"),
                            md_escape(&ev.author)
                        ))
                    }
                    _ => None,
                })
                .collect()
        };
        let line = |w: &mut String, item: &str, label: String| {
            let state = match views.iter().find(|c| c.item == item) {
                Some(c) if c.checked => {
                    format!("[x] {label} — done {} by {}", with_zone(c.at, tz), md_escape(&c.by))
                }
                Some(c) => format!(
                    "[ ] {label} — unticked {} by {} (not done)",
                    with_zone(c.at, tz),
                    md_escape(&c.by)
                ),
                None => format!("[ ] {label} — skipped"),
            };
            let _ = writeln!(w, "- {state}");
            for r in runs(item) {
                let _ = writeln!(w, "  - {r}");
            }
        };
        match texts.books.iter().find(|b| &b.id == id) {
            Some(book) => {
                let done = book.items.iter().filter(|i| views.iter().any(|c| c.item == i.id && c.checked));
                let _ = writeln!(w, "{}/{} steps done.", done.count(), book.items.len());
                let _ = writeln!(w);
                let mut section = None;
                for it in &book.items {
                    if section != Some(&it.section) && !it.section.trim().is_empty() {
                        // A blank line first, or the heading would continue the previous item.
                        if section.is_some() {
                            let _ = writeln!(w);
                        }
                        let _ = writeln!(w, "**{}**", md_escape(&it.section));
                        let _ = writeln!(w);
                    }
                    section = Some(&it.section);
                    line(w, &it.id, md_escape(&it.text));
                }
                let stale: Vec<_> =
                    views.iter().filter(|c| !book.items.iter().any(|i| i.id == c.item)).collect();
                for c in stale {
                    line(w, &c.item, format!("{} (no longer in the runbook)", code_span(&c.item)));
                }
            }
            None => {
                let _ = writeln!(w, "_Runbook file not found: items are named by id._");
                let _ = writeln!(w);
                for c in &views {
                    line(w, &c.item, code_span(&c.item));
                }
            }
        }
        let _ = writeln!(w);
    }
}

/// Inline code that shows `s` literally (one line): fenced with more backticks than it holds.
fn code_span(s: &str) -> String {
    let flat = one_line(s);
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // Padding keeps a leading or trailing backtick from joining the fence.
    if longest > 0 { format!("{fence} {flat} {fence}") } else { format!("{fence}{flat}{fence}") }
}

fn is_utc(tz: Tz) -> bool {
    matches!(
        tz.name(),
        "UTC"
            | "Etc/UTC"
            | "Etc/UCT"
            | "UCT"
            | "Etc/Universal"
            | "Universal"
            | "Etc/Zulu"
            | "Zulu"
            | "GMT"
            | "Etc/GMT"
    )
}

fn with_zone(t: DateTime<Utc>, tz: Option<Tz>) -> String {
    match tz {
        Some(tz) => format!("{} ({})", fmt_utc(t), fmt_zone(t, tz)),
        _ => fmt_utc(t),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::incident::{Audience, fold};

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc() + Duration::minutes(m)
    }

    fn incident() -> Vec<Event> {
        let open = Event::open(t(0), "ana", "Disk full".into(), crate::incident::Severity::ALL[1], None);
        let id = open.incident;
        let ev = |m, who: &str, kind| Event::new(id, t(m), who, kind);
        let set = |item: &str, checked| EventKind::ChecklistItemSet {
            runbook: "disk-full".into(),
            item: item.into(),
            checked,
        };
        vec![
            open,
            ev(
                1,
                "ana",
                EventKind::RunbookAttached { runbook: "disk-full".into(), title: "Disk full".into() },
            ),
            ev(2, "ana", set("check--df-1", true)),
            ev(
                3,
                "bo",
                EventKind::CommandRun {
                    runbook: "disk-full".into(),
                    item: "check--df-1".into(),
                    command: "df -h | sort `echo *`".into(),
                    exit_code: Some(0),
                    output_excerpt: "ok".into(),
                    evidence: None,
                },
            ),
            ev(4, "bo", set("fix--rotate-2", true)),
            ev(5, "ana", set("fix--rotate-2", false)),
            ev(6, "ana", set("gone--old-3", true)),
            ev(
                7,
                "chen",
                EventKind::StatusUpdatePosted {
                    audience: Audience::Stakeholders,
                    text: "Disk | freed".into(),
                },
            ),
        ]
    }

    fn texts() -> RunbookTexts {
        let it = |id: &str, section: &str, text: &str| ItemText {
            id: id.into(),
            section: section.into(),
            text: text.into(),
        };
        RunbookTexts {
            books: vec![BookText {
                id: "disk-full".into(),
                items: vec![
                    it("check--df-1", "Check", "See which filesystem is full"),
                    it("fix--rotate-2", "Fix", "Rotate the logs"),
                    it("fix--restart-3", "Fix", "Restart the writer"),
                ],
            }],
        }
    }

    #[test]
    fn status_updates_and_checklist_state_with_texts() {
        let events = incident();
        let st = fold(&events).unwrap();
        let md = to_markdown_with(&st, &events, None, t(10), &texts());
        let section = |name: &str| {
            let start = md.find(&format!("## {name}\n")).unwrap_or_else(|| panic!("no {name}:\n{md}"));
            let rest = &md[start + 4..];
            rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
        };
        let updates = section("Status updates");
        assert!(
            updates.contains("- 2026-11-23 03:07:00 UTC — to stakeholders by chen: Disk \\| freed"),
            "{updates}"
        );
        let rb = section("Runbooks");
        assert!(rb.contains("### Disk full (`disk-full`)"), "{rb}");
        assert!(rb.contains("1/3 steps done."), "{rb}");
        assert!(rb.contains("**Check**") && rb.contains("**Fix**"), "{rb}");
        assert!(
            rb.contains("- [x] See which filesystem is full — done 2026-11-23 03:02:00 UTC by ana"),
            "{rb}"
        );
        assert!(rb.contains("  - ran `` df -h | sort `echo *` `` at 03:03 UTC by bo → exit 0"), "{rb}");
        // Each bold section heading starts a paragraph of its own.
        assert!(rb.contains("→ exit 0\n\n**Fix**\n\n- [ ] Rotate"), "{rb}");
        assert!(
            rb.contains("- [ ] Rotate the logs — unticked 2026-11-23 03:05:00 UTC by ana (not done)"),
            "{rb}"
        );
        assert!(rb.contains("- [ ] Restart the writer — skipped"), "{rb}");
        assert!(rb.contains("`gone--old-3` (no longer in the runbook)"), "{rb}");
        // The sections sit before the free-text ones.
        assert!(md.find("## Runbooks").unwrap() < md.find("## Impact").unwrap());
    }

    #[test]
    fn without_texts_items_are_named_by_id_and_no_updates_says_so() {
        let events = incident();
        let st = fold(&events).unwrap();
        let md = to_markdown(&st, &events, None, t(10));
        assert!(md.contains("_Runbook file not found: items are named by id._"), "{md}");
        assert!(md.contains("- [x] `check--df-1` — done"), "{md}");
        let quiet = fold(&events[..1]).unwrap();
        let md = to_markdown(&quiet, &events[..1], None, t(10));
        assert!(md.contains("## Status updates\n\n_None posted._"), "{md}");
        assert!(!md.contains("## Runbooks"), "{md}");
    }
}
