//! The timeline pane: every event of the incident, newest at the bottom, following the tail
//! unless the responder scrolled away. Text and tag filters, details, amending your own notes.

use std::cell::Cell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use uuid::Uuid;

use crate::incident::export::describe;
use crate::incident::sanitize::{one_line, strip_controls};
use crate::incident::{Event, EventKind, Status, Tag};
use crate::tui::keymap::{Binding, ENTER, Key, PaneCmd};
use crate::tui::pane::{Effect, IncidentData, Pane, PaneCtx, RenderCtx};
use crate::tui::popups::TextView;
use crate::tui::theme::Theme;
use crate::tui::widgets::{Filter, wrap_line};

const AUTHOR_WIDTH: usize = 12;

static KEYS: &[Binding<PaneCmd>] = &[
    Binding::down(PaneCmd::Down, "next event"),
    Binding::up(PaneCmd::Up, "previous event"),
    Binding::page_down(PaneCmd::PageDown),
    Binding::page_up(PaneCmd::PageUp),
    Binding::top(PaneCmd::Top, "first event"),
    Binding::bottom(PaneCmd::Bottom, "last event, follow new ones"),
    Binding::new(ENTER, PaneCmd::Open, "event details").shown("detail"),
    Binding::new(&[Key::ch('/')], PaneCmd::Filter, "filter by text").shown("filter"),
    Binding::new(&[Key::ch('t')], PaneCmd::CycleTag, "cycle the note tag filter").shown("tag"),
    Binding::new(&[Key::ch('e')], PaneCmd::Amend, "amend your own note").shown("amend"),
    Binding::new(&[Key::ch('T')], PaneCmd::ToggleTime, "times in UTC / local").shown("utc/local"),
];

/// The timeline's view state; the events themselves stay in the App's `IncidentData`.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Indices into `events` that pass the filters, in order.
    rows: Vec<usize>,
    /// Index into `rows`.
    selected: usize,
    /// Keep the newest event selected as events arrive.
    follow: bool,
    filter: Filter,
    tag: Option<Tag>,
    /// Show local times instead of UTC.
    pub local: bool,
    zone: Option<Tz>,
    /// Current text of amended notes.
    edited: HashMap<Uuid, String>,
    total: usize,
    /// The events span more than one day: rows show the date.
    multi_day: bool,
    /// Scroll position and height of the last draw (a cache; PgUp/PgDn need the height).
    top: Cell<usize>,
    height: Cell<usize>,
}

impl Timeline {
    /// `zone` is the responder's zone for local times; `local` starts with them shown.
    pub fn new(zone: Tz, local: bool) -> Timeline {
        Timeline { follow: true, local, zone: Some(zone), height: Cell::new(10), ..Timeline::default() }
    }

    fn zone(&self) -> Option<Tz> {
        if self.local { self.zone } else { None }
    }

    /// The event under the cursor, if any.
    pub fn selected_event<'a>(&self, data: &'a IncidentData) -> Option<&'a Event> {
        self.rows.get(self.selected).and_then(|&i| data.events.get(i))
    }

    pub fn is_following(&self) -> bool {
        self.follow
    }

    pub fn filter_text(&self) -> &str {
        self.filter.value()
    }

    pub fn tag_filter(&self) -> Option<Tag> {
        self.tag
    }

    pub fn visible_count(&self) -> usize {
        self.rows.len()
    }

    fn text_of<'a>(&'a self, ev: &'a Event) -> std::borrow::Cow<'a, str> {
        match &ev.kind {
            EventKind::Note { text, .. } => self.edited.get(&ev.id).unwrap_or(text).as_str().into(),
            _ => describe(ev).into(),
        }
    }

    fn refilter(&mut self, data: &IncidentData) {
        let keep = self.rows.get(self.selected).copied();
        let needle = self.filter.value().trim().to_lowercase();
        // Each filter that looks at an event reads it from memory (25 MB at 100k events): only
        // the ones that can drop something run.
        let fold = (!data.state.evidence.is_empty()).then_some(&data.state.evidence);
        self.rows = data
            .events
            .iter()
            .enumerate()
            .filter(|(_, ev)| fold.is_none_or(|f| !f.folds(ev)))
            .filter(|(_, ev)| match self.tag {
                Some(t) => matches!(ev.kind, EventKind::Note { tag, .. } if tag == t),
                None => true,
            })
            .filter(|(_, ev)| {
                needle.is_empty()
                    || self.text_of(ev).to_lowercase().contains(&needle)
                    || ev.author.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
        self.selected = match (self.follow, keep) {
            (false, Some(k)) => self.rows.partition_point(|&i| i < k),
            _ => usize::MAX,
        }
        .min(self.rows.len().saturating_sub(1));
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.follow = self.selected == last && delta > 0;
    }

    fn detail(&self, ev: &Event, ctx: &PaneCtx) -> TextView {
        let mut lines = vec![
            Line::from(format!("When  {}", ev.at.format("%Y-%m-%d %H:%M:%S UTC"))),
            Line::from(format!("Who   {}", one_line(&ev.author))),
            Line::from(format!("What  {}", ev.kind.name().replace('_', " "))),
            Line::from(format!("Id    {}", ev.id)),
            Line::from(""),
        ];
        let body = match &ev.kind {
            EventKind::Note { text, tag } => {
                lines.push(Line::from(format!("Tag   {tag}")));
                match ctx.data.state.notes.iter().find(|n| n.id == ev.id && n.amended_at.is_some()) {
                    Some(n) => format!("{}\n\n(original: {text})", n.text),
                    None => text.clone(),
                }
            }
            EventKind::ProcessSignalled { cmdline, user, .. } => {
                format!("{}\nuser: {user}\ncmdline: {cmdline}", describe(ev))
            }
            EventKind::CommandRun { output_excerpt, .. } => format!("{}\n\n{output_excerpt}", describe(ev)),
            EventKind::Opened { summary: Some(s), .. } => format!("{}\n\n{s}", describe(ev)),
            _ => describe(ev),
        };
        lines.extend(strip_controls(&body).lines().map(|l| Line::from(l.to_string())));
        TextView::new("Event", lines)
    }
}

impl Pane for Timeline {
    fn name(&self) -> &'static str {
        "Timeline"
    }

    fn title(&self) -> String {
        let mut t = format!("Timeline · {}", self.zone().map_or("UTC", |z| z.name()));
        if let Some(tag) = self.tag {
            t.push_str(&format!(" · tag:{tag}"));
        }
        if !self.filter.value().is_empty() {
            t.push_str(&format!(" · /{}", one_line(self.filter.value())));
        }
        if self.tag.is_some() || !self.filter.value().is_empty() {
            t.push_str(&format!(" · {}/{}", self.rows.len(), self.total));
        }
        t
    }

    fn keymap(&self) -> &'static [Binding<PaneCmd>] {
        KEYS
    }

    fn command(&mut self, cmd: PaneCmd, ctx: &PaneCtx) -> Effect {
        // Moving down onto the last event follows new ones again (G, or j on the last).
        if let Some(by) = cmd.moves_by(self.height.get()) {
            self.move_by(by);
            return Effect::Redraw;
        }
        match cmd {
            PaneCmd::Filter => self.filter.typing = true,
            PaneCmd::CycleTag => {
                self.tag = match self.tag {
                    None => Some(Tag::ALL[0]),
                    Some(t) => {
                        Tag::ALL.iter().position(|x| *x == t).and_then(|i| Tag::ALL.get(i + 1)).copied()
                    }
                };
                self.refilter(ctx.data);
            }
            PaneCmd::ToggleTime => self.local = !self.local,
            PaneCmd::Open => {
                return match self.selected_event(ctx.data) {
                    Some(ev) => Effect::Show(self.detail(ev, ctx)),
                    None => Effect::Ignored,
                };
            }
            PaneCmd::Amend => {
                return match self.selected_event(ctx.data) {
                    Some(ev @ Event { kind: EventKind::Note { .. }, .. }) if ev.author == ctx.me => {
                        Effect::Amend { target: ev.id, text: strip_controls(&self.text_of(ev)).into_owned() }
                    }
                    Some(Event { kind: EventKind::Note { .. }, author, .. }) => Effect::Notice(format!(
                        "you can only amend your own notes (this one is by {})",
                        one_line(author)
                    )),
                    _ => Effect::Notice("only notes can be amended: select one of yours".into()),
                };
            }
            // Commands of other panes.
            _ => return Effect::Ignored,
        }
        Effect::Redraw
    }

    fn capturing(&self) -> bool {
        self.filter.typing
    }

    fn input(&mut self, key: KeyEvent, ctx: &PaneCtx) -> Effect {
        if self.filter.key(key) {
            self.refilter(ctx.data);
        }
        Effect::Redraw
    }

    fn capture_hints(&self) -> &'static [(&'static str, &'static str)] {
        Filter::HINTS
    }

    fn sync(&mut self, data: &IncidentData) {
        self.total = data.events.len();
        self.multi_day = match (data.events.first(), data.events.last()) {
            (Some(a), Some(b)) => {
                b.at - a.at >= chrono::Duration::hours(20) || a.at.date_naive() != b.at.date_naive()
            }
            _ => false,
        };
        self.edited = if data.state.amendments == 0 {
            Default::default()
        } else {
            data.state
                .notes
                .iter()
                .filter(|n| n.amended_at.is_some())
                .map(|n| (n.id, n.text.clone()))
                .collect()
        };
        self.refilter(data);
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx) {
        let (list, input) = if self.filter.typing {
            let [l, i] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
            (l, Some(i))
        } else {
            (area, None)
        };
        let height = list.height as usize;
        self.height.set(height);
        let width = list.width as usize;
        let zone = self.zone();
        // Entries wrap under their text column instead of ending in `…`: a note is read whole.
        let indent = fmt_time(DateTime::<Utc>::default(), None, self.multi_day).len() + AUTHOR_WIDTH + 2;
        let lines_of = |r: usize| -> Vec<Line<'static>> {
            let Some(ev) = self.rows.get(r).and_then(|&i| ctx.data.events.get(i)) else { return Vec::new() };
            let mut lines = wrap_line(self.row(ev, zone, ctx), width, indent);
            if r == self.selected && ctx.focused {
                lines = lines.into_iter().map(|l| l.patch_style(ctx.theme.selection)).collect();
            }
            lines
        };
        let rows_h = |r: usize| lines_of(r).len().max(1);
        let top = wrapped_top(self.top.get(), self.selected, height, self.rows.len(), self.follow, rows_h);
        self.top.set(top);
        let mut lines: Vec<Line> = Vec::with_capacity(height);
        for r in top..self.rows.len() {
            if lines.len() >= height {
                break;
            }
            lines.extend(lines_of(r));
        }
        lines.truncate(height);
        // A row too tall for the space above the tail (a very long note) is not skipped whole:
        // its last lines fill the window's top, so the screen never shows blank rows under a
        // short tail while there is history above it.
        let mut above = top;
        while lines.len() < height && above > 0 {
            above -= 1;
            let row = lines_of(above);
            let room = height - lines.len();
            lines.splice(0..0, row.into_iter().rev().take(room).collect::<Vec<_>>().into_iter().rev());
        }
        if lines.is_empty() {
            let msg = if self.total == 0 { "No events yet." } else { "No event matches the filter." };
            frame.render_widget(Paragraph::new(Span::styled(msg, ctx.theme.muted)), list);
        } else {
            frame.render_widget(Paragraph::new(lines), list);
        }
        if let Some(i) = input {
            frame.render_widget(Paragraph::new(self.filter.line(ctx.theme)), i);
        }
    }
}

impl Timeline {
    /// One event as one row: time, author, then what happened.
    fn row<'a>(&'a self, ev: &'a Event, zone: Option<Tz>, ctx: &RenderCtx) -> Line<'a> {
        let t = ctx.theme;
        let mut author: String = one_line(&ev.author).chars().take(AUTHOR_WIDTH).collect();
        if ev.author.chars().count() > AUTHOR_WIDTH {
            author.pop();
            author.push('…');
        }
        let mut spans = vec![
            Span::styled(fmt_time(ev.at, zone, self.multi_day), t.time),
            Span::raw(" "),
            Span::styled(format!("{author:<AUTHOR_WIDTH$}"), t.author),
            Span::raw(" "),
        ];
        spans.extend(body_spans(self, ev, t));
        Line::from(spans)
    }
}

/// `HH:MM:SS`, or `MM-DD HH:MM` when the incident spans more than one day.
fn fmt_time(at: DateTime<Utc>, zone: Option<Tz>, multi_day: bool) -> String {
    let f = if multi_day { "%m-%d %H:%M" } else { "%H:%M:%S" };
    match zone {
        Some(z) => at.with_timezone(&z).format(f).to_string(),
        None => at.format(f).to_string(),
    }
}

fn badge(text: String, style: Style) -> Span<'static> {
    Span::styled(format!(" {text} "), style)
}

/// What happened, styled by kind.
fn body_spans<'a>(tl: &'a Timeline, ev: &'a Event, t: &Theme) -> Vec<Span<'a>> {
    let plain = |s: String| Span::styled(one_line(&s).into_owned(), t.text);
    match &ev.kind {
        EventKind::Opened { title, severity, .. } => vec![
            badge(severity.to_string(), t.sev(*severity)),
            Span::styled(" opened: ", t.title),
            plain(title.clone()),
        ],
        EventKind::Note { tag, .. } => {
            let mut v = Vec::new();
            if *tag != Tag::Note {
                v.push(badge(tag.to_string(), t.badge(*tag)));
                v.push(Span::raw(" "));
            }
            v.push(plain(tl.text_of(ev).into_owned()));
            if tl.edited.contains_key(&ev.id) {
                v.push(Span::styled(" (edited)", t.muted));
            }
            v
        }
        EventKind::Amended { text, .. } => {
            vec![Span::styled(format!("amended a note: {}", one_line(text)), t.muted)]
        }
        EventKind::SeveritySet { severity } => {
            vec![Span::styled("severity → ", t.title), badge(severity.to_string(), t.sev(*severity))]
        }
        EventKind::StatusSet { status } => {
            let style = match status {
                Status::Resolved | Status::Monitoring => t.ok,
                Status::Investigating | Status::Identified => t.warn,
            };
            vec![
                Span::styled("status → ", t.title),
                Span::styled(status.to_string(), style.add_modifier(Modifier::BOLD)),
            ]
        }
        EventKind::Acknowledged {} => vec![Span::styled("acknowledged", t.ok.add_modifier(Modifier::BOLD))],
        EventKind::ProcessSignalled { .. } | EventKind::ServiceRestarted { ok: false, .. } => {
            vec![Span::styled(one_line(&describe(ev)).into_owned(), t.danger)]
        }
        EventKind::ServiceRestarted { .. } => {
            vec![Span::styled(one_line(&describe(ev)).into_owned(), t.warn)]
        }
        EventKind::CommandRun { exit_code, .. } if *exit_code != Some(0) => {
            vec![Span::styled(one_line(&describe(ev)).into_owned(), t.warn)]
        }
        EventKind::Paged { ok: false, .. } => {
            vec![Span::styled(one_line(&describe(ev)).into_owned(), t.warn)]
        }
        EventKind::Unknown => vec![Span::styled(describe(ev), t.muted)],
        _ => vec![plain(describe(ev))],
    }
}

/// The first visible row when rows take `rows_h(r)` lines each: as many of the last rows as fit
/// when following, else the previous top moved just enough to keep the whole selected row on
/// screen. Only the rows near the window are measured, so a long incident costs no more.
pub(crate) fn wrapped_top(
    prev: usize,
    selected: usize,
    height: usize,
    rows: usize,
    follow: bool,
    rows_h: impl Fn(usize) -> usize,
) -> usize {
    if rows == 0 || height == 0 {
        return 0;
    }
    // The first row of the tail that fits ending at row `last`.
    let fit_ending_at = |last: usize| {
        let (mut top, mut used) = (last, rows_h(last));
        while top > 0 && used + rows_h(top - 1) <= height {
            top -= 1;
            used += rows_h(top);
        }
        top
    };
    if follow {
        return fit_ending_at(rows - 1);
    }
    let selected = selected.min(rows - 1);
    let top = prev.min(rows - 1).min(selected);
    // Move down until the selected row ends inside the window.
    let mut used: usize = (top..=selected).map(&rows_h).sum();
    let mut top = top;
    while used > height && top < selected {
        used -= rows_h(top);
        top += 1;
    }
    // No blank space below the last row when scrolled near the end.
    top.min(fit_ending_at(rows - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_the_date_on_long_incidents() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T23:59:07Z").unwrap().to_utc();
        assert_eq!(fmt_time(at, None, false), "23:59:07");
        assert_eq!(fmt_time(at, None, true), "11-23 23:59");
        assert_eq!(fmt_time(at, Some(chrono_tz::Europe::Berlin), true), "11-24 00:59");
    }

    #[test]
    fn wrapped_top_keeps_the_whole_selected_row_visible() {
        // Row 3 takes 4 lines, the others one each; a 5-line window.
        let h = |r: usize| if r == 3 { 4 } else { 1 };
        assert_eq!(wrapped_top(0, 0, 5, 10, true, h), 5, "following: the last rows that fit");
        assert_eq!(wrapped_top(0, 3, 5, 10, false, h), 2, "rows 2 and 3 fill the window");
        assert_eq!(wrapped_top(0, 4, 5, 10, false, h), 3);
        assert_eq!(wrapped_top(6, 2, 5, 10, false, h), 2, "selection above the window");
        assert_eq!(wrapped_top(9, 9, 5, 10, false, h), 5, "no blank space below the last row");
        assert_eq!(wrapped_top(0, 0, 0, 10, false, h), 0);
        assert_eq!(wrapped_top(0, 0, 5, 0, true, h), 0);
        // A row taller than the window still starts at the top.
        assert_eq!(wrapped_top(0, 3, 2, 10, false, h), 3);
    }
}
