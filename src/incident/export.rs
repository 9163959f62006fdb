//! Exports: the Markdown postmortem draft and the JSON document (events plus folded state).
//!
//! Pure: the caller passes the events, the display zone and "now".

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::event::{Audience, Event, EventKind, Tag};
use super::sanitize::one_line;
use super::state::IncidentState;

/// An evidence path relative to the incident's evidence directory
/// (`…/evidence/INCIDENT/1234-5678/stack` → `1234-5678/stack`); other paths as they are.
pub fn evidence_relative(path: &str, incident: crate::incident::IncidentId) -> &str {
    let marker = format!("/evidence/{incident}/");
    match path.find(&marker) {
        Some(i) => &path[i + marker.len()..],
        None => path,
    }
}

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

/// A command's run time: `850 ms`, `12.4 s`, `3m 05s`.
pub fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// A container id as docker prints it (12 hex digits); other names whole.
fn short_id(id: &str) -> &str {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) { &id[..12] } else { id }
}

/// The file name of a capture's manifest (`procs::evidence::MANIFEST`; the incident model does
/// not depend on the process code).
const MANIFEST_NAME: &str = "manifest.json";

/// Which `evidence_captured` events a timeline folds into their capture's manifest: a capture
/// records one event per file (each file's path, size and sha256 travel with the incident, to
/// the server and into the postmortem's Evidence list), and the manifest, written last, lists
/// them all. On a timeline that is one line per capture, not twenty. Files of a capture whose
/// manifest is not recorded (and a runbook command's output) stay on the timeline.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvidenceFold {
    /// Directories of the recorded manifests.
    dirs: std::collections::HashSet<String>,
}

impl EvidenceFold {
    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> EvidenceFold {
        let mut fold = EvidenceFold::default();
        for ev in events {
            if let EventKind::EvidenceCaptured { path, .. } = &ev.kind {
                fold.add(path);
            }
        }
        fold
    }

    /// Takes note of a recorded evidence file (the incident's fold calls this for each).
    pub fn add(&mut self, path: &str) {
        if let Some(dir) = path.strip_suffix(MANIFEST_NAME).filter(|d| d.ends_with('/')) {
            self.dirs.insert(dir.to_owned());
        }
    }

    /// No manifest recorded: nothing to fold (and no event need be looked at).
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }

    /// True for a captured file (not the manifest) whose manifest is recorded.
    pub fn folds(&self, ev: &Event) -> bool {
        match &ev.kind {
            EventKind::EvidenceCaptured { path, .. } if !self.dirs.is_empty() => {
                match path.rsplit_once('/') {
                    Some((dir, name)) => name != MANIFEST_NAME && self.dirs.contains(&path[..=dir.len()]),
                    None => false,
                }
            }
            _ => false,
        }
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
        EventKind::ProcessOutcome { pid, name, signal, outcome, .. } => {
            format!("{name} (pid {pid}) after SIG{signal}: {outcome}")
        }
        EventKind::ServiceRestarted { pid, name, manager, target, ok, outcome, reason, .. } => {
            let what = if manager == "systemd" {
                format!("unit {target}")
            } else {
                format!("{manager} container {}", short_id(target))
            };
            let failed = if *ok { "" } else { "FAILED " };
            format!("Restarted {what} of {name} (pid {pid}): {failed}{outcome}. Reason: {reason}")
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
        EventKind::Paged { person, method, ok, outcome, dedup_key, .. } => {
            let key = dedup_key.as_ref().map(|k| format!(" [dedup {k}]")).unwrap_or_default();
            format!("Paged {person} via {method}: {}{outcome}{key}", if *ok { "" } else { "FAILED " })
        }
        EventKind::EscalationClaimed { level, cycle, attempt, target, person, .. } => {
            let who = person.as_deref().unwrap_or("nobody (target did not resolve)");
            let again = if *attempt > 1 { format!(", attempt {attempt}") } else { String::new() };
            format!("Escalation level {level} (cycle {cycle}{again}) due: paging {target} → {who}")
        }
        EventKind::AlertUpdated { action, dedup_key, ok, outcome } => {
            format!("PagerDuty {action} [dedup {dedup_key}]: {}{outcome}", if *ok { "" } else { "FAILED " })
        }
        EventKind::ChangeSent { ok, outcome, .. } => {
            format!("Change sent to PagerDuty: {}{outcome}", if *ok { "" } else { "FAILED " })
        }
        EventKind::OncallTaken { rotation, person, until, .. } => {
            format!("{person} takes the {rotation} pager until {}", until.format("%Y-%m-%d %H:%M UTC"))
        }
        EventKind::ContactAttempted { person, method, outcome } => {
            format!("Contacted {person} by {method}: {outcome}")
        }
        EventKind::StatusUpdatePosted { audience, text } => format!("Status update ({audience}): {text}"),
        EventKind::ResolutionRecorded { text } => format!("Resolution: {text}"),
        EventKind::FollowupAdded { text, owner, priority, ticket } => {
            let owner = owner.as_deref().map(|o| format!(", owner {o}")).unwrap_or_default();
            let ticket = ticket.as_deref().map(|t| format!(", {t}")).unwrap_or_default();
            format!("Follow-up ({priority}{owner}{ticket}): {text}")
        }
        EventKind::FollowupStatusSet { status, .. } => format!("Follow-up marked {}", status.label()),
        EventKind::ChangeRecorded { text, host, command, .. } => match command {
            Some(c) => format!("Change on {host}: {text} ({}, {})", c.outcome, fmt_ms(c.duration_ms)),
            None => format!("Change on {host}: {text}"),
        },
        EventKind::StatusUpdateDelivered { provider, outcome, external_id, .. } => match external_id {
            Some(x) => format!("Status update delivered to {provider} (incident {x}): {outcome}"),
            None => format!("Status update delivered to {provider}: {outcome}"),
        },
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
/// each step was and which were not done.
///
/// The structure is Google's SRE postmortem template: the figures a reader wants first, then
/// summary, impact, detection, trigger, resolution, root cause, action items, lessons learned,
/// timeline and supporting information. What the events know is filled in; what only people know
/// is an italic prompt.
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
    let _ = writeln!(
        w,
        "*Draft generated by warroom on {}. Edit freely: text in italics is a prompt.*",
        fmt_utc(now)
    );
    let _ = writeln!(w);
    figures(w, state, tz, now);
    summary(w, state);
    people(w, state, events);
    impact(w, state, events, tz, now);
    detection(w, state, events, tz);
    trigger(w, state, tz);
    resolution(w, state, events, tz);
    root_cause(w, state);
    action_items(w, state);
    lessons(w, state, events, texts);
    timeline(w, state, events, tz);

    let _ = writeln!(w, "## Supporting information");
    let _ = writeln!(w);
    evidence(w, events);
    status_updates(w, events, tz);
    runbooks(w, state, events, texts, tz);
    history(w, state, tz);
    md
}

fn heading(w: &mut String, level: usize, title: &str) {
    let _ = writeln!(w, "{} {title}", "#".repeat(level));
    let _ = writeln!(w);
}

fn prompt(w: &mut String, text: &str) {
    let _ = writeln!(w, "*{text}*");
    let _ = writeln!(w);
}

fn bullet(w: &mut String, text: &str) {
    let _ = writeln!(w, "- {text}");
}

/// `- HH:MM UTC — what (who)`: something done or said at a time, by someone.
fn timed_bullet(w: &mut String, at: DateTime<Utc>, what: &str, by: &str) {
    bullet(w, &format!("{} — {} ({})", at.format("%H:%M UTC"), md_escape(what), md_escape(by)));
}

/// The header table: identity, severity, and the durations a reader wants first.
fn figures(w: &mut String, state: &IncidentState, tz: Option<Tz>, now: DateTime<Utc>) {
    let start = state.impact_started_at;
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
    if start < state.opened_at {
        let _ = writeln!(w, "| Impact began | {} |", with_zone(start, tz));
    }
    let _ = writeln!(w, "| Opened | {} by {} |", with_zone(state.opened_at, tz), md_escape(&state.opened_by));
    if start < state.opened_at {
        let _ = writeln!(w, "| Time to detect | {} |", human_duration(state.opened_at - start));
    }
    let from = if start < state.opened_at { "from impact start" } else { "from opening" };
    // One row per milestone: how long after the start it came and when (and by whom), or why not.
    let mut time_to = |what: &str, at: Option<DateTime<Utc>>, by: Option<&str>, otherwise: String| {
        let _ = match at {
            Some(at) => {
                let by = by.map(|b| format!(" by {}", md_escape(b))).unwrap_or_default();
                let (took, when) = (human_duration(at - start), with_zone(at, tz));
                writeln!(w, "| Time to {what} | {took} ({from}; {when}{by}) |")
            }
            None => writeln!(w, "| Time to {what} | {otherwise} |"),
        };
    };
    let ack = state.acknowledged.as_ref();
    time_to("acknowledge", ack.map(|a| a.at), ack.map(|a| a.by.as_str()), "never acknowledged".into());
    time_to("mitigate", state.mitigated_at, None, "not mitigated yet".into());
    time_to("resolve", state.resolved_at, None, format!("still open after {}", human_duration(now - start)));
    for (role, who) in &state.roles {
        let _ = writeln!(w, "| {} | {} |", capitalise(role.as_str()), md_escape(&who.value));
    }
    let _ = writeln!(w);
}

fn summary(w: &mut String, state: &IncidentState) {
    heading(w, 2, "Summary");
    match &state.summary {
        Some(s) if !s.trim().is_empty() => {
            let _ = writeln!(w, "{}", md_escape(s));
            let _ = writeln!(w);
        }
        _ => prompt(w, "What happened, in two or three sentences."),
    }
    if let Some(r) = &state.resolution {
        let _ = writeln!(w, "**Resolution:** {}", md_escape(&r.value));
        let _ = writeln!(w);
    }
}

/// Who was involved and how: roles, responders, who was paged and who was contacted.
fn people(w: &mut String, state: &IncidentState, events: &[Event]) {
    heading(w, 2, "People and roles");
    for (role, who) in &state.roles {
        bullet(
            w,
            &format!(
                "{}: {} (since {})",
                capitalise(role.as_str()),
                md_escape(&who.value),
                who.at.format("%H:%M UTC")
            ),
        );
    }
    let people: Vec<String> = state.people.iter().map(|p| md_escape(p)).collect();
    bullet(w, &format!("Responders (wrote on the timeline): {}", people.join(", ")));
    let mut any_page = false;
    for ev in events {
        match &ev.kind {
            EventKind::Paged { person, method, level, ok, outcome, .. } => {
                any_page = true;
                let level = level.map(|l| format!(", level {l}")).unwrap_or_default();
                let how = if *ok { "delivered" } else { "NOT delivered" };
                bullet(
                    w,
                    &format!(
                        "Paged: {} via {}{level} at {} by {}: {how} ({})",
                        md_escape(person),
                        md_escape(method),
                        ev.at.format("%H:%M UTC"),
                        md_escape(&ev.author),
                        md_escape(outcome)
                    ),
                );
            }
            EventKind::ContactAttempted { person, method, outcome } => {
                any_page = true;
                bullet(
                    w,
                    &format!(
                        "Contacted: {} by {} at {} by {}: {}",
                        md_escape(person),
                        md_escape(method),
                        ev.at.format("%H:%M UTC"),
                        md_escape(&ev.author),
                        md_escape(outcome)
                    ),
                );
            }
            _ => {}
        }
    }
    if !any_page {
        bullet(w, "Nobody was paged or contacted through warroom.");
    }
    let _ = writeln!(w);
}

fn impact(w: &mut String, state: &IncidentState, events: &[Event], tz: Option<Tz>, now: DateTime<Utc>) {
    heading(w, 2, "Impact");
    let start = state.impact_started_at;
    if start < state.opened_at {
        bullet(
            w,
            &format!(
                "Began {}, {} before the incident was opened.",
                with_zone(start, tz),
                human_duration(state.opened_at - start)
            ),
        );
    } else {
        bullet(w, &format!("Began by {} (when the incident was opened).", with_zone(start, tz)));
    }
    let end = state.mitigated_at.or(state.resolved_at);
    match end {
        Some(end) => bullet(
            w,
            &format!("Lasted {} until mitigated ({}).", human_duration(end - start), with_zone(end, tz)),
        ),
        None => bullet(w, &format!("Ongoing after {}.", human_duration(now - start))),
    }
    let worst = state.severity_history.iter().map(|s| s.value).min().unwrap_or(state.severity);
    bullet(w, &format!("Highest severity: {worst}."));
    let updates = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::StatusUpdatePosted { audience: Audience::Stakeholders, .. }))
        .count();
    bullet(w, &format!("Stakeholder updates posted: {updates}."));
    let _ = writeln!(w);
    prompt(
        w,
        "Who was affected, how many, how badly (errors, latency, lost data), and what it cost (SLO budget, revenue, support tickets).",
    );
}

/// Whether a note is the one warroom writes when a status update was not delivered
/// (`notify::status_delivery_failed_kind`), not a responder's.
fn delivery_failure_note(text: &str) -> bool {
    text.starts_with("status update delivery failed")
}

fn detection(w: &mut String, state: &IncidentState, events: &[Event], tz: Option<Tz>) {
    heading(w, 2, "Detection");
    bullet(w, &format!("Opened {} by {}.", with_zone(state.opened_at, tz), md_escape(&state.opened_by)));
    if let Some(first) = state.notes.iter().find(|n| n.tag != Tag::Change && !delivery_failure_note(&n.text))
    {
        bullet(
            w,
            &format!(
                "First note, {} by {}: {}",
                with_zone(first.at, tz),
                md_escape(&first.author),
                md_escape(&first.text)
            ),
        );
    }
    // A page's `ok` is whether it was delivered: a failed one paged nobody, and says so here.
    let paged = |want: bool| {
        events.iter().filter(move |e| matches!(e.kind, EventKind::Paged { ok, .. } if ok == want))
    };
    let (delivered, failed) = (paged(true).count(), paged(false).count());
    match (paged(true).next(), failed) {
        (Some(first), 0) => {
            bullet(w, &format!("{delivered} page(s) delivered; the first at {}.", with_zone(first.at, tz)))
        }
        (Some(first), failed) => bullet(
            w,
            &format!(
                "{delivered} page(s) delivered, the first at {}; {failed} failed (nobody paged by those).",
                with_zone(first.at, tz)
            ),
        ),
        (None, 0) => {}
        (None, failed) => bullet(w, &format!("No page was delivered: {failed} attempt(s) failed.")),
    }
    match &state.acknowledged {
        Some(a) => bullet(w, &format!("Acknowledged {} by {}.", with_zone(a.at, tz), md_escape(&a.by))),
        None => bullet(w, "Never acknowledged."),
    }
    let _ = writeln!(w);
    prompt(w, "How did we find out: an alert, a customer, a colleague? How could we have found out sooner?");
}

fn trigger(w: &mut String, state: &IncidentState, tz: Option<Tz>) {
    heading(w, 2, "Trigger");
    let before: Vec<_> = state.changes.iter().filter(|c| c.at <= state.opened_at).collect();
    let during: Vec<_> = state.changes.iter().filter(|c| c.at > state.opened_at).collect();
    if before.is_empty() {
        prompt(
            w,
            "No change was recorded on this host before the incident (`warroom change -- CMD` and `warroom note --tag change` record them). What set it off?",
        );
    } else {
        let _ = writeln!(w, "Changes recorded before the incident was opened:");
        let _ = writeln!(w);
        for c in before {
            bullet(w, &change_line(c, tz));
        }
        let _ = writeln!(w);
        prompt(w, "Which of these set it off, if any?");
    }
    if !during.is_empty() {
        let _ = writeln!(w, "Changes made during the incident:");
        let _ = writeln!(w);
        for c in during {
            bullet(w, &change_line(c, tz));
        }
        let _ = writeln!(w);
    }
}

fn change_line(c: &super::state::ChangeView, tz: Option<Tz>) -> String {
    let host = c.host.as_deref().map(|h| format!(" on {}", md_escape(h))).unwrap_or_default();
    let how = match &c.command {
        Some(k) => {
            format!(" — ran {} → {}, {}", code_span(&k.command), md_escape(&k.outcome), fmt_ms(k.duration_ms))
        }
        None => String::new(),
    };
    format!("{}{host} by {}: {}{how}", with_zone(c.at, tz), md_escape(&c.by), md_escape(&c.text))
}

fn resolution(w: &mut String, state: &IncidentState, events: &[Event], tz: Option<Tz>) {
    heading(w, 2, "Resolution");
    match &state.resolution {
        Some(r) => {
            let _ = writeln!(w, "{} ({}, {})", md_escape(&r.value), md_escape(&r.by), with_zone(r.at, tz));
            let _ = writeln!(w);
        }
        None if state.is_open() => prompt(w, "Not resolved yet."),
        None => prompt(w, "Resolved without a recorded resolution: what ended the impact?"),
    }
    if let Some(at) = state.mitigated_at {
        let _ = writeln!(w, "Mitigated {} (status set to monitoring or resolved).", with_zone(at, tz));
        let _ = writeln!(w);
    }
    let mut done: Vec<(DateTime<Utc>, String, String)> = Vec::new();
    for n in state.notes.iter().filter(|n| n.tag == Tag::Action) {
        done.push((n.at, n.text.clone(), n.author.clone()));
    }
    for ev in events {
        if matches!(
            ev.kind,
            EventKind::ProcessSignalled { .. }
                | EventKind::ServiceRestarted { .. }
                | EventKind::CommandRun { .. }
                | EventKind::AlertUpdated { .. }
        ) {
            done.push((ev.at, describe(ev), ev.author.clone()));
        }
    }
    done.sort_by_key(|d| d.0);
    heading(w, 3, "Actions taken");
    if done.is_empty() {
        prompt(w, "None recorded.");
    } else {
        for (at, text, by) in done {
            timed_bullet(w, at, &text, &by);
        }
        let _ = writeln!(w);
    }
    let decisions: Vec<_> = state.notes.iter().filter(|n| n.tag == Tag::Decision).collect();
    if !decisions.is_empty() {
        heading(w, 3, "Decisions");
        for n in decisions {
            timed_bullet(w, n.at, &n.text, &n.author);
        }
        let _ = writeln!(w);
    }
}

fn root_cause(w: &mut String, state: &IncidentState) {
    heading(w, 2, "Root cause");
    let findings: Vec<_> = state.notes.iter().filter(|n| n.tag == Tag::Finding).collect();
    if !findings.is_empty() {
        let _ = writeln!(w, "Findings recorded during the incident:");
        let _ = writeln!(w);
        for n in findings {
            timed_bullet(w, n.at, &n.text, &n.author);
        }
        let _ = writeln!(w);
    }
    prompt(w, "Why did it happen? Ask why until the answer is something we can change.");
}

fn action_items(w: &mut String, state: &IncidentState) {
    heading(w, 2, "Action items");
    if state.followups.is_empty() {
        prompt(
            w,
            "No follow-ups recorded (`warroom followup add TEXT --owner NAME --priority p1 --ticket URL`).",
        );
        return;
    }
    let _ = writeln!(w, "| Item | Owner | Priority | Status | Ticket |");
    let _ = writeln!(w, "|---|---|---|---|---|");
    for f in &state.followups {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            md_escape(&f.text),
            f.owner.as_deref().map(md_escape).unwrap_or_else(|| "unassigned".into()),
            f.priority,
            f.status.label(),
            f.ticket.as_deref().map(ticket_cell).unwrap_or_else(|| "none".into())
        );
    }
    let _ = writeln!(w);
}

/// A ticket as a link when it is an http(s) URL without characters that break the link.
fn ticket_cell(t: &str) -> String {
    let t = t.trim();
    if (t.starts_with("https://") || t.starts_with("http://"))
        && !t.chars().any(|c| c.is_whitespace() || c.is_control() || "<>|\\`".contains(c))
    {
        format!("<{t}>")
    } else {
        md_escape(t)
    }
}

/// Lessons learned: the facts the events give for each heading, then the prompt.
fn lessons(w: &mut String, state: &IncidentState, events: &[Event], texts: &RunbookTexts) {
    heading(w, 2, "Lessons learned");
    let (mut well, mut wrong) = (Vec::new(), Vec::new());
    if let Some(a) = &state.acknowledged {
        let d = a.at - state.opened_at;
        let line = format!("Acknowledged {} after the incident was opened.", human_duration(d));
        if d <= chrono::Duration::minutes(5) { well.push(line) } else { wrong.push(line) }
    }
    if state.impact_started_at + chrono::Duration::minutes(5) < state.opened_at {
        wrong.push(format!(
            "Impact began {} before anyone opened the incident.",
            human_duration(state.opened_at - state.impact_started_at)
        ));
    }
    for (id, title) in &state.runbooks {
        let (done, total) = runbook_progress(state, id, texts);
        let line = format!("Runbook {}: {done} of {total} steps done.", md_escape(title));
        if done == total { well.push(line) } else { wrong.push(line) }
    }
    for ev in events {
        match &ev.kind {
            EventKind::Paged { person, ok: false, outcome, .. } => {
                wrong.push(format!("The page to {} failed: {}.", md_escape(person), md_escape(outcome)))
            }
            EventKind::Note { text, tag: Tag::Action } if delivery_failure_note(text) => {
                wrong.push(format!("{}.", md_escape(&capitalise(text))))
            }
            _ => {}
        }
    }
    let delivered =
        events.iter().filter(|e| matches!(e.kind, EventKind::StatusUpdateDelivered { .. })).count();
    if delivered > 0 {
        well.push(format!("{delivered} status update deliveries reached their audience."));
    }
    for (title, facts, ask) in [
        ("What went well", well, "What helped? Keep doing it."),
        ("What went wrong", wrong, "What slowed us down or made it worse?"),
        ("Where we got lucky", Vec::new(), "What went right by chance, and would not next time?"),
    ] {
        heading(w, 3, title);
        for f in &facts {
            bullet(w, f);
        }
        if !facts.is_empty() {
            let _ = writeln!(w);
        }
        prompt(w, ask);
    }
}

/// (done, total) steps of an attached runbook; total counts the file's items when known.
fn runbook_progress(state: &IncidentState, id: &str, texts: &RunbookTexts) -> (usize, usize) {
    let views: Vec<_> = state.checklist.iter().filter(|c| c.runbook == id).collect();
    match texts.books.iter().find(|b| b.id == id) {
        Some(book) => {
            let done =
                book.items.iter().filter(|i| views.iter().any(|c| c.item == i.id && c.checked)).count();
            (done, book.items.len())
        }
        None => (views.iter().filter(|c| c.checked).count(), views.len()),
    }
}

/// What to warn about before resolving: unticked runbook steps and pages nobody acknowledged.
pub fn resolve_warnings(state: &IncidentState, events: &[Event], texts: &RunbookTexts) -> Vec<String> {
    let mut out = Vec::new();
    for (id, title) in &state.runbooks {
        let (done, total) = runbook_progress(state, id, texts);
        if done < total {
            out.push(format!(
                "runbook \"{}\": {} of {total} steps not ticked (they go in the postmortem as not done)",
                one_line(title),
                total - done
            ));
        }
    }
    let last_ack = events.iter().filter(|e| matches!(e.kind, EventKind::Acknowledged {})).map(|e| e.at).max();
    let unacked: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Paged { person, ok: true, .. } if last_ack.is_none_or(|a| a < e.at) => {
                Some(person.as_str())
            }
            _ => None,
        })
        .collect();
    if !unacked.is_empty() {
        let mut names: Vec<&str> = unacked.clone();
        names.dedup();
        out.push(format!(
            "{} page(s) not acknowledged ({}): tell them it is over",
            unacked.len(),
            one_line(&names.join(", "))
        ));
    }
    out
}

fn timeline(w: &mut String, state: &IncidentState, events: &[Event], tz: Option<Tz>) {
    heading(w, 2, "Timeline");
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
    for ev in events.iter().filter(|ev| !state.evidence.folds(ev)) {
        let text = match &ev.kind {
            EventKind::Note { .. } => notes
                .get(&ev.id)
                .map(|n| {
                    let tagged = if n.tag == Tag::Note {
                        n.text.clone()
                    } else {
                        format!("{}: {}", capitalise(n.tag.as_str()), n.text)
                    };
                    if n.amended_at.is_some() { format!("{tagged} (amended)") } else { tagged }
                })
                .unwrap_or_else(|| describe(ev)),
            EventKind::FollowupStatusSet { target, status } => {
                match state.followups.iter().find(|f| f.id == *target) {
                    Some(f) => format!("Follow-up marked {}: {}", status.label(), f.text),
                    None => describe(ev),
                }
            }
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
}

/// The evidence files captured, with size and sha256.
fn evidence(w: &mut String, events: &[Event]) {
    heading(w, 3, "Evidence");
    let files: Vec<&Event> =
        events.iter().filter(|e| matches!(e.kind, EventKind::EvidenceCaptured { .. })).collect();
    let Some(first) = files.first() else {
        prompt(w, "No evidence captured.");
        return;
    };
    let _ = writeln!(
        w,
        "Paths are relative to the incident's evidence directory ({} in the data dir).",
        code_span(&format!("evidence/{}/", first.incident))
    );
    let _ = writeln!(w);
    for ev in files {
        if let EventKind::EvidenceCaptured { path, sha256, bytes, what } = &ev.kind {
            // Code spans show their text as it is: escaping inside one would show the backslashes.
            let _ = writeln!(
                w,
                "- {} — {} ({} bytes, sha256 {})",
                code_span(evidence_relative(path, ev.incident)),
                md_escape(what),
                bytes,
                code_span(sha256)
            );
        }
    }
    let _ = writeln!(w);
}

/// Severity and status changes, in time order.
fn history(w: &mut String, state: &IncidentState, tz: Option<Tz>) {
    heading(w, 3, "Severity and status history");
    let mut changes: Vec<(DateTime<Utc>, String, &str)> = Vec::new();
    for s in &state.severity_history {
        changes.push((s.at, s.value.to_string(), &s.by));
    }
    for s in state.status_history.iter().skip(1) {
        changes.push((s.at, s.value.to_string(), &s.by));
    }
    changes.sort_by_key(|c| c.0);
    for (at, what, by) in changes {
        bullet(w, &format!("{} — {} ({})", with_zone(at, tz), what, md_escape(by)));
    }
    let _ = writeln!(w);
}

/// Every status update posted, with its audience.
fn status_updates(w: &mut String, events: &[Event], tz: Option<Tz>) {
    heading(w, 3, "Status updates");
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
        let _ = writeln!(w, "*None posted.*");
    }
    let _ = writeln!(w);
}

/// Per attached runbook: each item done (when, by whom), unticked again, or skipped, and the
/// commands run for it.
fn runbooks(w: &mut String, state: &IncidentState, events: &[Event], texts: &RunbookTexts, tz: Option<Tz>) {
    if state.runbooks.is_empty() {
        return;
    }
    heading(w, 3, "Runbooks");
    for (id, title) in &state.runbooks {
        let _ = writeln!(w, "#### {} ({})", md_escape(title), code_span(id));
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
                None => format!("[ ] {label} — not done"),
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
        assert!(rb.contains("#### Disk full (`disk-full`)"), "{rb}");
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
        assert!(rb.contains("- [ ] Restart the writer — not done"), "{rb}");
        assert!(rb.contains("`gone--old-3` (no longer in the runbook)"), "{rb}");
        // Supporting information comes after the story.
        assert!(md.find("### Runbooks").unwrap() > md.find("## Timeline").unwrap());
    }

    #[test]
    fn figures_time_each_milestone_or_say_why_not() {
        let events = incident();
        let md = to_markdown(&fold(&events[..1]).unwrap(), &events[..1], None, t(10));
        assert!(md.contains("| Time to acknowledge | never acknowledged |\n"), "{md}");
        assert!(md.contains("| Time to mitigate | not mitigated yet |\n"), "{md}");
        assert!(md.contains("| Time to resolve | still open after 10m |\n"), "{md}");
        let id = events[0].incident;
        let mut events = events[..1].to_vec();
        events.push(Event::new(id, t(4), "bo|b", EventKind::Acknowledged {}));
        events.push(Event::new(
            id,
            t(6),
            "ana",
            EventKind::StatusSet { status: crate::incident::Status::Monitoring },
        ));
        events.push(Event::new(
            id,
            t(9),
            "ana",
            EventKind::StatusSet { status: crate::incident::Status::Resolved },
        ));
        let md = to_markdown(&fold(&events).unwrap(), &events, None, t(10));
        let rows = [
            "| Time to acknowledge | 4m (from opening; 2026-11-23 03:04:00 UTC by bo\\|b) |",
            "| Time to mitigate | 6m (from opening; 2026-11-23 03:06:00 UTC) |",
            "| Time to resolve | 9m (from opening; 2026-11-23 03:09:00 UTC) |",
        ];
        for row in rows {
            assert!(md.contains(&format!("{row}\n")), "{row}\n{md}");
        }
    }

    #[test]
    fn detection_counts_delivered_pages_apart_from_failed_ones_and_skips_the_tools_notes() {
        let events = incident();
        let id = events[0].incident;
        let page = |m, ok: bool| {
            Event::new(
                id,
                t(m),
                "ana",
                EventKind::Paged {
                    person: "bo".into(),
                    method: "webhook".into(),
                    level: None,
                    ok,
                    outcome: if ok { "delivered".into() } else { "not paged: no paging channel".into() },
                    dedup_key: None,
                    cycle: None,
                },
            )
        };
        let note = |m, text: &str| {
            Event::new(id, t(m), "ana", EventKind::Note { text: text.into(), tag: Tag::Action })
        };
        let md = |evs: &[Event]| to_markdown(&fold(evs).unwrap(), evs, None, t(20));
        let mut evs = events[..1].to_vec();
        evs.extend([note(1, "status update delivery failed: HTTP 500"), note(2, "db is at 100%")]);
        evs.extend([page(3, false), page(4, false)]);
        let out = md(&evs);
        assert!(out.contains("- No page was delivered: 2 attempt(s) failed.\n"), "{out}");
        assert!(!out.contains("page(s) sent"), "{out}");
        assert!(out.contains("First note, 2026-11-23 03:02:00 UTC by ana: db is at 100%"), "{out}");
        evs.push(page(5, true));
        let out = md(&evs);
        assert!(
            out.contains("- 1 page(s) delivered, the first at 2026-11-23 03:05:00 UTC; 2 failed (nobody paged by those).\n"),
            "{out}"
        );
        let out = md(&[events[0].clone(), page(5, true)]);
        assert!(out.contains("- 1 page(s) delivered; the first at 2026-11-23 03:05:00 UTC.\n"), "{out}");
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
        assert!(md.contains("## Status updates\n\n*None posted.*"), "{md}");
        assert!(!md.contains("## Runbooks"), "{md}");
    }

    #[test]
    fn a_capture_is_one_timeline_line_and_every_file_is_under_evidence() {
        let mut events = incident();
        let id = events[0].incident;
        let file = |m, path: &str| {
            Event::new(
                id,
                t(m),
                "ana",
                EventKind::EvidenceCaptured {
                    path: path.into(),
                    sha256: "ab".repeat(32),
                    bytes: 10,
                    what: format!("what {path}"),
                },
            )
        };
        let dir = "/d/evidence/x/17-99";
        events.push(file(8, &format!("{dir}/status")));
        events.push(file(8, &format!("{dir}/maps")));
        events.push(file(8, &format!("{dir}/manifest.json")));
        // A capture whose manifest was not recorded, and a runbook command's output: both stay.
        events.push(file(9, "/d/evidence/x/18-5/status"));
        events.push(file(9, "/d/evidence/x/runs/df.txt"));
        // A directory that merely ends like a recorded one is another capture.
        events.push(file(9, "/d/evidence/x/117-99/status"));

        let folding = EvidenceFold::of(&events);
        let shown: Vec<&str> = events
            .iter()
            .filter(|e| !folding.folds(e))
            .filter_map(|e| match &e.kind {
                EventKind::EvidenceCaptured { path, .. } => Some(path.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            shown,
            [
                "/d/evidence/x/17-99/manifest.json",
                "/d/evidence/x/18-5/status",
                "/d/evidence/x/runs/df.txt",
                "/d/evidence/x/117-99/status"
            ]
        );

        let md = to_markdown_with(&fold(&events).unwrap(), &events, None, t(10), &RunbookTexts::default());
        let timeline = &md[md.find("## Timeline").unwrap()..];
        let timeline = &timeline[..timeline[3..].find("\n## ").map_or(timeline.len(), |i| i + 3)];
        assert!(timeline.contains("what /d/evidence/x/17-99/manifest.json"), "{timeline}");
        assert!(!timeline.contains("what /d/evidence/x/17-99/status"), "{timeline}");
        let evidence = &md[md.find("### Evidence").unwrap()..];
        for name in ["17-99/status", "17-99/maps", "17-99/manifest.json", "18-5/status"] {
            assert!(evidence.contains(name), "{name} missing from {evidence}");
        }
    }
}
