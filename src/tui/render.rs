//! Drawing: reads the App, changes nothing. `now` is a parameter so screens are reproducible.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::app::App;
use super::keymap::GLOBAL;
use super::layout::{MIN_SIZE, Screen, screen, too_small};
use super::pane::RenderCtx;
use super::widgets::hint_line;
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

/// Incident, SEV, status, elapsed, ack, you: only what exists. Returns whether who else is
/// viewing fitted (else the tab bar shows it).
fn header(app: &App, frame: &mut Frame, area: Rect, now: DateTime<Utc>) -> bool {
    let t = &app.theme;
    frame.render_widget(Block::new().style(t.header), area);
    let sep = || Span::styled(" │ ", t.header);
    let mut spans: Vec<Span> = Vec::new();
    match &app.data {
        Some(d) => {
            let st = &d.state;
            spans.push(Span::styled(format!(" {} ", st.severity), t.sev(st.severity)));
            spans.push(Span::styled(
                format!(" {}", one_line(&st.title)),
                t.header.add_modifier(Modifier::BOLD),
            ));
            spans.push(sep());
            spans.push(Span::styled(st.status.to_string(), t.header));
            spans.push(sep());
            let elapsed = match st.resolved_at {
                Some(r) => format!("resolved after {}", human_duration(r - st.opened_at)),
                None => format!("open {}", human_duration(now - st.opened_at)),
            };
            spans.push(Span::styled(elapsed, t.header));
            if let Some((text, urgency)) = update_countdown(st, &app.cadence, now) {
                spans.push(sep());
                // Padded like a badge when it asks for attention.
                let (text, style) = match urgency {
                    Urgency::Calm => (text, t.header),
                    Urgency::Soon => (format!(" {text} "), t.header_warn),
                    Urgency::Late => (format!(" {text} "), t.header_danger),
                };
                spans.push(Span::styled(text, style));
            }
            if st.status != Status::Resolved {
                spans.push(sep());
                match &st.acknowledged {
                    Some(a) => spans.push(Span::styled(format!("acked by {}", one_line(&a.by)), t.header)),
                    None => spans.push(Span::styled(" NOT ACKED ", t.sev[0])),
                }
            }
        }
        None => spans.push(Span::styled(" warroom", t.header.add_modifier(Modifier::BOLD))),
    }
    // The sync state, right-aligned: it must stay visible, so a long title gives way to it, and
    // the viewers show only where the incident's own fields still fit.
    let left_min = match spans.get(1) {
        Some(title) if app.data.is_some() => {
            spans.iter().map(|s| s.width()).sum::<usize>() - title.width() + title.width().min(MIN_TITLE)
        }
        _ => spans.iter().map(|s| s.width()).sum(),
    };
    let sync = Line::from(sync_spans(app, now, (area.width as usize).saturating_sub(left_min + 1)));
    let presence_shown = sync.spans.len() > 1;
    let sw = sync.width();
    if app.data.is_some() {
        // The title gives way first (it is on every screen already), then "acked by NAME" becomes
        // "acked": the countdowns and the sync state must stay whole.
        let budget = (area.width as usize).saturating_sub(if sw > 0 { sw + 1 } else { 0 });
        cut_title(&mut spans, budget);
        if spans.iter().map(|s| s.width()).sum::<usize>() > budget
            && let Some(ack) = spans.iter_mut().find(|s| s.content.starts_with("acked by "))
        {
            ack.content = "acked".into();
        }
        // Still too wide (80 columns with a long sync state): drop "acked", then the elapsed time.
        for gone in ["acked", "open "] {
            if spans.iter().map(|s| s.width()).sum::<usize>() <= budget {
                break;
            }
            if let Some(i) = spans.iter().position(|s| s.content.starts_with(gone))
                && i >= 1
            {
                spans.drain(i - 1..=i);
            }
        }
    }
    // Who you are, at the right end, only where it does not cover the incident's own fields.
    let me = if sw > 0 { format!("│ {} ", one_line(&app.me)) } else { format!("{} ", one_line(&app.me)) };
    let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + sw;
    let mut right = area.right();
    if used + me.chars().count() + 3 <= area.width as usize {
        let w = me.chars().count() as u16;
        right -= w;
        frame.render_widget(Paragraph::new(Span::styled(me, t.header)), Rect::new(right, area.y, w, 1));
    }
    if sw > 0 {
        let w = (sw as u16).min(right - area.x);
        frame.render_widget(Paragraph::new(sync), Rect::new(right - w, area.y, w, 1));
        right -= w;
    }
    let left = Line::from(spans);
    let lw = right - area.x;
    let clipped = left.width() > lw as usize;
    frame.render_widget(Paragraph::new(left), Rect { width: lw, ..area });
    if clipped && lw > 1 {
        // Say that something was cut rather than end on half a word.
        frame.render_widget(Paragraph::new(Span::styled("…", t.header)), Rect::new(right - 1, area.y, 1, 1));
    }
    presence_shown
}

/// The sync state (`synced`, `3 pending`, `offline 4m`, …) in ok/warn/danger, then who else has
/// the incident open. Empty when no server is configured: local-only shows nothing.
fn sync_spans(app: &App, now: DateTime<Utc>, budget: usize) -> Vec<Span<'static>> {
    let Some(s) = &app.sync else { return Vec::new() };
    let t = &app.theme;
    let role = match s.link {
        Link::Online if is_synced(s, now) => t.ok,
        Link::Online | Link::Connecting | Link::Local => t.warn,
        Link::Offline { .. } | Link::AuthFailed => t.danger,
    };
    let mut spans = vec![Span::styled(format!(" {} ", status_line(s, now)), t.header.patch(role))];
    let others = others(&s.viewers, &app.me);
    if !others.is_empty() {
        // Names where they fit, else how many, else nothing: the state itself always shows.
        let used = spans[0].width();
        let fits = [format!("│ with {} ", others.join(", ")), format!("│ +{} viewing ", others.len())]
            .into_iter()
            .find(|v| used + Span::raw(v.as_str()).width() <= budget);
        if let Some(v) = fits {
            spans.push(Span::styled(v, t.header));
        }
    }
    spans
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

/// The title keeps at least this many columns before the viewers give way to it.
const MIN_TITLE: usize = 16;

/// Shortens the title span (index 1 of the header) with an ellipsis until the line fits `width`,
/// keeping at least a few characters of it.
fn cut_title(spans: &mut [Span<'_>], width: usize) {
    let total: usize = spans.iter().map(|s| s.width()).sum();
    let Some(title) = spans.get_mut(1) else { return };
    if total <= width {
        return;
    }
    let mut text: String = title.content.to_string();
    let target = title.width().saturating_sub(total - width).max(8);
    while Span::raw(format!("{text}…")).width() > target && text.chars().count() > 2 {
        text.pop();
    }
    title.content = format!("{}…", text.trim_end()).into();
}

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
    let mut spans = Vec::new();
    for (i, p) in app.panes.iter().enumerate() {
        let style = if i == app.focus { t.tab_active } else { t.tab };
        spans.push(Span::styled(format!(" {} {} ", i + 1, p.title()), style));
        spans.push(Span::raw(" "));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let others = match &app.sync {
        Some(s) if presence => others(&s.viewers, &app.me),
        _ => return,
    };
    if others.is_empty() {
        return;
    }
    let fits = [format!("with {} ", others.join(", ")), format!("+{} viewing ", others.len())]
        .into_iter()
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

/// A notice, else the focused pane's key hints on the left and the global ones on the right, all
/// generated from the key tables that handle them.
fn footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    if let Some((msg, is_error)) = &app.notice {
        let style = if *is_error { t.danger } else { t.ok };
        frame.render_widget(Paragraph::new(Span::styled(format!(" {}", one_line(msg)), style)), area);
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
