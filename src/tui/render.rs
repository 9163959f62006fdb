//! Drawing: reads the App, changes nothing. `now` is a parameter so screens are reproducible.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::app::App;
use super::keymap::GLOBAL;
use super::layout::{MIN_SIZE, Screen, screen, too_small};
use super::pane::RenderCtx;
use super::widgets::{fit, hint_line, wrap_line};
use crate::incident::export::human_duration;
use crate::incident::sanitize::one_line;
use crate::incident::{IncidentState, Status};
use crate::runbook::{CadenceConfig, UpdateDue, update_due_for};
use crate::sync::plan::is_synced;
use crate::sync::{Link, status_line};

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame, now: DateTime<Utc>) {
    let area = frame.area();
    if too_small(area) {
        let msg = format!(
            "Terminal too small: {}x{}.\nwarroom needs at least {}x{}.\nEnlarge the window, or press q to quit.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).style(app.theme.text), area);
        return;
    }
    let s = screen(area, app.panes.len(), app.focus, app.zoomed);
    let presence_shown = header(app, frame, s.header, now);
    tabs(app, frame, &s, !presence_shown);
    panes(app, frame, &s, now);
    footer(app, frame, s.footer);
    if app.composer.open {
        app.composer.render(frame, area, &app.theme);
    }
    for p in &app.popups {
        p.render(frame, area, &app.theme);
    }
}

/// Incident, SEV, status, elapsed, ack, who else is here, you: only what exists. At 80 columns the
/// header gives way in a fixed order (see [`header_level`]) so that the ack state, a readable part
/// of the title, the elapsed time and who else is here stay whole. Returns whether who else is
/// here fitted (else the tab bar shows it).
fn header(app: &App, frame: &mut Frame, area: Rect, now: DateTime<Utc>) -> bool {
    let t = &app.theme;
    frame.render_widget(Block::new().style(t.header), area);
    let Some(d) = &app.data else {
        let name = Span::styled(" warroom", t.header.add_modifier(Modifier::BOLD));
        frame.render_widget(Paragraph::new(name), area);
        return false;
    };
    let width = area.width as usize;
    let title = one_line(&d.state.title);
    let title_w = Span::raw(title.as_ref()).width() + 1;
    let width_of = |spans: &[Span]| spans.iter().map(Span::width).sum::<usize>();
    let level = (0..=HEADER_LEVELS)
        .find(|&level| {
            let (left, right, min_title) = header_level(app, &d.state, now, level);
            width_of(&left) + width_of(&right) + title_w.min(min_title) <= width
        })
        .unwrap_or(HEADER_LEVELS);
    let (mut left, right, _) = header_level(app, &d.state, now, level);
    // The title takes whatever is left, cut with a visible `…`.
    let room = width.saturating_sub(width_of(&left) + width_of(&right));
    let shown = fit(Line::from(format!(" {title}")), room.max(2)).to_string();
    left.insert(1, Span::styled(shown, t.header.add_modifier(Modifier::BOLD)));
    let rw = (width_of(&right) as u16).min(area.width);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), l);
    frame.render_widget(Paragraph::new(Line::from(right)), r);
    // Names, not only a count: else the tab bar names who else is here where it has room.
    level < 2
}

/// How many ways the header can give way.
const HEADER_LEVELS: u8 = 8;

/// The header's parts at reduction `level` (0 = everything in full): the incident's fields
/// without the title, the right-hand side (sync state, who else is here, you), and the title's
/// minimum width. Each level adds one reduction, least needed first: you; the other viewers' names
/// become a count; the update countdown gets terse; "acked by NAME" becomes "acked"; separators
/// lose their spaces; the title may shrink below a readable 16 columns; the countdown goes; the
/// viewer count goes. The ack state, status, elapsed time and sync state never go.
fn header_level(
    app: &App,
    st: &IncidentState,
    now: DateTime<Utc>,
    level: u8,
) -> (Vec<Span<'static>>, Vec<Span<'static>>, usize) {
    let t = &app.theme;
    let sep = || Span::styled(if level >= 5 { "│" } else { " │ " }, t.header);
    let mut left = vec![Span::styled(format!(" {} ", st.severity), t.sev(st.severity)), sep()];
    left.push(Span::styled(st.status.to_string(), t.header));
    left.push(sep());
    let elapsed = match st.resolved_at {
        Some(r) => format!("resolved after {}", human_duration(r - st.opened_at)),
        None => format!("open {}", human_duration(now - st.opened_at)),
    };
    left.push(Span::styled(elapsed, t.header));
    if let Some((text, urgency)) = update_countdown(st, &app.cadence, now).filter(|_| level < 7) {
        let text = if level >= 3 {
            text.replacen("update due in", "upd in", 1).replacen("update overdue", "upd late", 1)
        } else {
            text
        };
        left.push(sep());
        // Padded like a badge when it asks for attention.
        left.push(match urgency {
            Urgency::Calm => Span::styled(text, t.header),
            Urgency::Soon => Span::styled(format!(" {text} "), t.header_warn),
            Urgency::Late => Span::styled(format!(" {text} "), t.header_danger),
        });
    }
    if st.status != Status::Resolved {
        left.push(sep());
        left.push(match &st.acknowledged {
            Some(a) if level < 4 => Span::styled(format!("acked by {}", one_line(&a.by)), t.header),
            Some(_) => Span::styled("acked", t.header),
            None => Span::styled(" NOT ACKED ", t.sev[0]),
        });
    }
    left.push(Span::styled(" ", t.header));
    let mut right = Vec::new();
    if let Some(s) = &app.sync {
        let role = match s.link {
            Link::Online | Link::Connecting if s.behind.is_some() => t.danger,
            Link::Online if is_synced(s, now) => t.ok,
            Link::Online | Link::Connecting | Link::Local => t.warn,
            Link::Offline { .. } | Link::AuthFailed => t.danger,
        };
        right.push(Span::styled(format!(" {} ", status_line(s, now)), t.header.patch(role)));
        let others = others(&s.viewers, &app.me);
        if !others.is_empty() && level < 8 {
            let v = if level < 2 {
                format!("│ with {} ", others.join(", "))
            } else {
                format!("│ +{} here ", others.len())
            };
            right.push(Span::styled(v, t.header));
        }
    }
    if level < 1 {
        let me = one_line(&app.me);
        right.push(Span::styled(
            if right.is_empty() { format!("{me} ") } else { format!("│ {me} ") },
            t.header,
        ));
    }
    (left, right, if level < 6 { MIN_TITLE } else { 8 })
}

/// The viewers other than me. The server names a viewer by its token (`ana`) or by the author
/// it was given (`ana@db-01`); either way it is me when it is my author or its user part.
pub(crate) fn others(viewers: &[String], me: &str) -> Vec<String> {
    let user = me.split('@').next().unwrap_or(me);
    let mut out: Vec<String> = Vec::new();
    for v in viewers {
        let v = one_line(v).trim().to_string();
        if v.is_empty() || v == me || v == user || out.contains(&v) {
            continue;
        }
        out.push(v);
    }
    out
}

/// The title keeps at least this many columns before the header's later reductions.
const MIN_TITLE: usize = 16;

/// How loudly the header speaks of the next status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Calm,
    /// The last 20% of the interval, or 5 minutes, whichever is longer.
    Soon,
    Late,
}

/// The header's status-update countdown: `update due in 12m`, `update overdue 3m`, or None when
/// no update is owed (SEV4 by default, resolved).
pub fn update_countdown(
    state: &IncidentState,
    cfg: &CadenceConfig,
    now: DateTime<Utc>,
) -> Option<(String, Urgency)> {
    match update_due_for(state, cfg, now) {
        UpdateDue::NotRequired => None,
        UpdateDue::Overdue { by } => Some((format!("update overdue {}", human_duration(by)), Urgency::Late)),
        UpdateDue::Due { remaining } => {
            let fifth = cfg.interval(state.severity).map_or(chrono::Duration::zero(), |i| i / 5);
            let soon = remaining <= fifth.max(chrono::Duration::minutes(5));
            let urgency = if soon { Urgency::Soon } else { Urgency::Calm };
            // Whole minutes round up: just after an update it reads "due in 30m", not 29m.
            let secs = remaining.num_seconds();
            let shown = if secs > 60 && secs % 60 != 0 {
                chrono::Duration::seconds(secs + 60 - secs % 60)
            } else {
                remaining
            };
            Some((format!("update due in {}", human_duration(shown)), urgency))
        }
    }
}

/// The tab bar; with `presence`, who else is viewing at its right end (the header had no room
/// for it on a narrow terminal, and who is here matters more than empty tab-bar space).
fn tabs(app: &App, frame: &mut Frame, s: &Screen, presence: bool) {
    let Some(area) = s.tabs else { return };
    let t = &app.theme;
    // Full titles where they fit; else other tabs show only their names, one at a time, the
    // escalation countdown of Contacts last, so every number stays on screen at 80 columns.
    let bar = |short: &[bool]| {
        let mut spans = Vec::new();
        for (i, p) in app.panes.iter().enumerate() {
            let style = if i == app.focus { t.tab_active } else { t.tab };
            let title = if short[i] { p.name().to_string() } else { p.title() };
            spans.push(Span::styled(format!(" {} {title} ", i + 1), style));
            spans.push(Span::raw(" "));
        }
        spans
    };
    // Who else is here, when the header could only count them: room is kept for the names.
    let names = match &app.sync {
        Some(s) if presence => others(&s.viewers, &app.me),
        _ => Vec::new(),
    };
    let with = (!names.is_empty()).then(|| format!("with {} ", names.join(", ")));
    let reserve = with.as_ref().map_or(0, |w| Span::raw(w.as_str()).width() + 1);
    let mut short = vec![false; app.panes.len()];
    let mut spans = bar(&short);
    let order = (0..app.panes.len())
        .filter(|&i| app.panes[i].name() != "Contacts")
        .chain((0..app.panes.len()).filter(|&i| app.panes[i].name() == "Contacts"));
    for i in order.filter(|&i| i != app.focus) {
        if Line::from(spans.clone()).width() + reserve <= area.width as usize {
            break;
        }
        short[i] = true;
        spans = bar(&short);
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let fits = with
        .into_iter()
        .chain((!names.is_empty()).then(|| format!("+{} viewing ", names.len())))
        .find(|v| used + 1 + Span::raw(v.as_str()).width() <= area.width as usize);
    if let Some(v) = fits {
        let w = Span::raw(v.as_str()).width() as u16;
        let r = Rect::new(area.right() - w, area.y, w, 1);
        frame.render_widget(Paragraph::new(Span::styled(v, t.muted)), r);
    }
}

fn panes(app: &App, frame: &mut Frame, s: &Screen, now: DateTime<Utc>) {
    let Some(data) = &app.data else { return };
    let t = &app.theme;
    for &(i, area) in &s.panes {
        let Some(pane) = app.panes.get(i) else { continue };
        let focused = i == app.focus && app.popups.is_empty() && !app.composer.open;
        let (border, title_style) = if i == app.focus {
            (t.focus_border, t.focus_border.add_modifier(Modifier::BOLD))
        } else {
            (t.border, t.muted)
        };
        let number = if app.panes.len() > 1 { format!("{} ", i + 1) } else { String::new() };
        let block = Block::bordered()
            .border_style(border)
            .title(Span::styled(format!(" {number}{} ", pane.title()), title_style));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let ctx = RenderCtx { data, theme: t, now, me: &app.me, local: app.local, focused };
        pane.render(frame, inner, &ctx);
    }
}

/// The most rows a long notice takes (from the footer up).
const NOTICE_ROWS: u16 = 4;

/// A notice, else the focused pane's key hints on the left and the global ones on the right, all
/// generated from the key tables that handle them.
fn footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    if let Some((msg, is_error)) = &app.notice {
        let style = if *is_error { t.danger } else { t.ok };
        // A notice longer than the footer (an error naming a config key, two export paths at 80
        // columns) grows upward over the panes' last rows, up to 4, rather than losing its end.
        let line = Line::from(Span::styled(format!(" {}", one_line(msg)), style));
        let mut lines = wrap_line(line, usize::from(area.width.max(1)), 1);
        let rows = (lines.len() as u16).clamp(1, NOTICE_ROWS.min(area.y + 1));
        if lines.len() > usize::from(rows) {
            lines.truncate(usize::from(rows));
            // The last row shows that more was cut: `fit` ends a cut row with `…`; a row that
            // fits whole gets one after it.
            let width = usize::from(area.width);
            if let Some(last) = lines.last_mut() {
                if last.width() < width {
                    last.push_span(Span::styled("…", style));
                } else {
                    *last = fit(last.clone(), width.saturating_sub(1));
                }
            }
        }
        let area = Rect { y: area.y + 1 - rows, height: rows, ..area };
        frame.render_widget(Clear, area);
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    if app.data.is_none() {
        return;
    }
    let mut left: Vec<(String, &str)> = Vec::new();
    let mut right: Vec<(String, &str)> = Vec::new();
    match app.panes.get(app.focus) {
        // While a pane takes raw keys (typing a filter), only its own hints are true.
        Some(p) if p.capturing() => left.extend(p.capture_hints().iter().map(|(k, w)| (k.to_string(), *w))),
        p => {
            if let Some(p) = p {
                left.extend(p.keymap().iter().filter_map(|b| Some((b.keys_label(), b.hint?))));
            }
            right.extend(GLOBAL.iter().filter_map(|b| Some((b.keys.first()?.label(), b.hint?))));
        }
    }
    // The focused pane's own keys matter more here than global ones that `?` lists anyway: on a
    // narrow screen `a ack`, `u update`, then `n note` give way so that, say, the process pane
    // keeps kill, filter, detail, sort and tree. `? help` and `q quit` always stay.
    let width = |h: &[(String, &str)]| hint_line(h, t).width();
    for gone in ["ack", "update", "note"] {
        if width(&left) + width(&right) + 4 <= area.width as usize {
            break;
        }
        right.retain(|(_, what)| *what != gone);
    }
    let right = hint_line(&right, t);
    let rw = (right.width() as u16 + 1).min(area.width);
    let [l, r] = Layout::horizontal([Constraint::Min(0), Constraint::Length(rw)]).areas(area);
    // Whole hints only: drop the ones that do not fit rather than cut one in half.
    while !left.is_empty() && hint_line(&left, t).width() + 2 > l.width as usize {
        left.pop();
    }
    let mut left = hint_line(&left, t);
    left.spans.insert(0, Span::raw(" "));
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}
