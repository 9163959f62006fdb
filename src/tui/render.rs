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
    header(app, frame, s.header, now);
    tabs(app, frame, &s);
    panes(app, frame, &s, now);
    footer(app, frame, s.footer);
    if app.composer.open {
        app.composer.render(frame, area, &app.theme);
    }
    for p in &app.popups {
        p.render(frame, area, &app.theme);
    }
}

/// Incident, SEV, status, elapsed, ack, you: only what exists.
fn header(app: &App, frame: &mut Frame, area: Rect, now: DateTime<Utc>) {
    let t = &app.theme;
    frame.render_widget(Block::new().style(t.header), area);
    let sep = || Span::styled(" │ ", t.header);
    let mut spans = Vec::new();
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
    // Who you are, at the right end, only where it does not cover the incident's own fields.
    let me = format!("{} ", one_line(&app.me));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    if used + me.chars().count() + 3 <= area.width as usize {
        let w = me.chars().count() as u16;
        frame.render_widget(
            Paragraph::new(Span::styled(me, t.header)),
            Rect::new(area.right() - w, area.y, w, 1),
        );
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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

fn tabs(app: &App, frame: &mut Frame, s: &Screen) {
    let Some(area) = s.tabs else { return };
    let t = &app.theme;
    let mut spans = Vec::new();
    for (i, p) in app.panes.iter().enumerate() {
        let style = if i == app.focus { t.tab_active } else { t.tab };
        spans.push(Span::styled(format!(" {} {} ", i + 1, p.title()), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
