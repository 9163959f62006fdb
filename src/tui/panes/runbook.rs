//! The runbook pane: the catalog's runbooks (those for the incident's severity first, attached
//! ones marked), and one opened as a checklist the whole room shares. Ticks are
//! `checklist_item_set` events folded last-writer-wins, so two responders see the same boxes.
//! `r` hands an item's command to the App, which confirms, runs and records it.

use std::cell::Cell;
use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::incident::sanitize::{one_line, strip_controls, visible};
use crate::incident::state::ChecklistView;
use crate::incident::{EventKind, IncidentState, Severity};
use crate::notify::Notifier;
use crate::runbook::{CadenceConfig, Runbook, checked_ids, sort_for_severity};
use crate::tui::keymap::{Binding, ENTER, Key, PaneCmd, SPACE};
use crate::tui::pane::{Effect, IncidentData, Pane, PaneCtx, RenderCtx};
use crate::tui::popups::{RunRequest, TextView};
use crate::tui::widgets::{fit, scroll_top};

/// What the TUI needs for runbooks and status updates, loaded by the caller (IO at the edge).
#[derive(Debug, Clone)]
pub struct RunbookOptions {
    /// Every runbook that parsed (`catalog::load`).
    pub books: Vec<Runbook>,
    /// One line each: bad runbook files, a missing configured directory.
    pub problems: Vec<String>,
    /// Status-update interval per severity (`[status_updates]`).
    pub cadence: CadenceConfig,
    /// Set when `[status_updates] webhook_url` is: updates are posted there too.
    pub notifier: Option<Notifier>,
    /// How long a runbook command may run (`[runbooks] command_timeout_secs`).
    pub command_timeout: Duration,
    /// How far back a new incident copies the host change log (`[changes] window_hours`).
    pub change_window: chrono::Duration,
    /// What the status composer offers: (responder, stakeholder) templates of `[status_updates]`.
    pub templates: (Option<String>, Option<String>),
}

impl Default for RunbookOptions {
    fn default() -> Self {
        RunbookOptions {
            books: Vec::new(),
            problems: Vec::new(),
            cadence: CadenceConfig::default(),
            notifier: None,
            command_timeout: crate::runner::DEFAULT_TIMEOUT,
            change_window: chrono::Duration::hours(i64::from(crate::config::DEFAULT_CHANGE_WINDOW_HOURS)),
            templates: (None, None),
        }
    }
}

impl RunbookOptions {
    /// From the config: the catalog (configured dir, XDG data dir, built-ins), the cadence, the
    /// status webhook.
    pub fn load(config: &crate::config::Config, data_dir: Option<&std::path::Path>) -> RunbookOptions {
        let (catalog, mut problems) = crate::catalog::load(config, data_dir);
        problems.extend(catalog.errors.iter().map(|e| e.to_string()));
        let s = &config.status_updates;
        let notifier = match Notifier::new(&config.paging, &config.status_updates) {
            Ok(n) if n.status_webhook_configured() => Some(n),
            Ok(_) => None,
            Err(e) => {
                problems.push(format!("status updates will not be posted: {e}"));
                None
            }
        };
        RunbookOptions {
            books: catalog.books,
            problems,
            cadence: CadenceConfig::from_minutes([Some(s.sev1), Some(s.sev2), Some(s.sev3), Some(s.sev4)]),
            notifier,
            command_timeout: config.command_timeout(),
            change_window: chrono::Duration::hours(i64::from(config.changes.window_hours)),
            templates: (s.responder_template.clone(), s.stakeholder_template.clone()),
        }
    }
}

static MOVES: [Binding<PaneCmd>; 4] = [
    Binding::down(PaneCmd::Down, "next"),
    Binding::up(PaneCmd::Up, "previous"),
    Binding::top(PaneCmd::Top, "first"),
    Binding::bottom(PaneCmd::Bottom, "last"),
];

/// In the list and in an open runbook alike.
const ATTACH: Binding<PaneCmd> =
    Binding::new(&[Key::ch('A')], PaneCmd::Attach, "attach the runbook to the incident").shown("attach");

static LIST_KEYS: &[Binding<PaneCmd>] = &[
    MOVES[0],
    MOVES[1],
    MOVES[2],
    MOVES[3],
    Binding::new(ENTER, PaneCmd::Open, "open the runbook's checklist").shown("open"),
    ATTACH,
];

static BOOK_KEYS: &[Binding<PaneCmd>] = &[
    MOVES[0],
    MOVES[1],
    MOVES[2],
    MOVES[3],
    Binding::new(SPACE, PaneCmd::Toggle, "tick / untick the step (for everyone)").shown("tick"),
    Binding::new(ENTER, PaneCmd::Open, "the step's text and command").shown("detail"),
    Binding::new(&[Key::ch('r')], PaneCmd::Run, "run the step's command (asks first)").shown("run"),
    ATTACH,
    Binding::new(&[Key::ESC, Key::BACKSPACE], PaneCmd::Back, "back to the list of runbooks").shown("back"),
];

/// The runbook pane's view state; ticks and attachments live in the incident's events.
#[derive(Debug, Default)]
pub struct Runbooks {
    books: Vec<Runbook>,
    problems: Vec<String>,
    /// The severity the list is sorted for.
    severity: Option<Severity>,
    /// Selected row of the list.
    selected: usize,
    /// The open runbook (index into `books`).
    open: Option<usize>,
    /// Selected item of the open runbook.
    item: usize,
    top: Cell<usize>,
    height: Cell<usize>,
}

/// One row of the runbook list, as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub attached: bool,
    /// The runbook names the incident's severity (or any severity).
    pub applies: bool,
    pub done: usize,
    pub total: usize,
}

impl Runbooks {
    pub fn new(books: Vec<Runbook>, problems: Vec<String>) -> Runbooks {
        Runbooks { books, problems, height: Cell::new(10), ..Runbooks::default() }
    }

    /// The runbook list in display order, with progress from the incident's checklist.
    pub fn rows(&self, state: &IncidentState) -> Vec<ListRow> {
        self.books
            .iter()
            .map(|b| {
                let p = b.progress(&checked_ids(&b.id, &state.checklist));
                ListRow {
                    id: b.id.clone(),
                    title: b.title.clone(),
                    attached: state.runbooks.iter().any(|(id, _)| *id == b.id),
                    applies: b.applies_to(state.severity),
                    done: p.done,
                    total: p.total,
                }
            })
            .collect()
    }

    /// Attached runbooks with no file here (another responder's runbook): (title, ticked count).
    pub fn missing(&self, state: &IncidentState) -> Vec<(String, usize)> {
        state
            .runbooks
            .iter()
            .filter(|(id, _)| !self.books.iter().any(|b| b.id == *id))
            .map(|(id, title)| (title.clone(), checked_ids(id, &state.checklist).len()))
            .collect()
    }

    /// The open runbook, if any.
    pub fn opened(&self) -> Option<&Runbook> {
        self.open.and_then(|i| self.books.get(i))
    }

    /// The selected item of the open runbook.
    pub fn selected_item(&self) -> Option<&crate::runbook::Item> {
        self.opened().and_then(|b| b.items.get(self.item))
    }

    fn selected_book(&self) -> Option<&Runbook> {
        self.opened().or_else(|| self.books.get(self.selected))
    }

    fn move_by(&mut self, delta: isize) {
        let (cur, len) = match self.opened() {
            Some(b) => (self.item, b.items.len()),
            None => (self.selected, self.books.len()),
        };
        let next = cur.saturating_add_signed(delta).min(len.saturating_sub(1));
        match self.open {
            Some(_) => self.item = next,
            None => self.selected = next,
        }
    }

    fn attach(book: &Runbook) -> EventKind {
        EventKind::RunbookAttached { runbook: book.id.clone(), title: book.title.clone() }
    }

    /// Space: flips the selected item as the fold has it now; attaches the runbook first when a
    /// step is ticked in one that is not attached yet (a tick means it is being followed).
    fn toggle(&self, state: &IncidentState) -> Effect {
        let (Some(book), Some(item)) = (self.opened(), self.selected_item()) else {
            return Effect::Notice("open a runbook first (Enter)".into());
        };
        let checked = checked_ids(&book.id, &state.checklist).contains(item.id.as_str());
        let set = EventKind::ChecklistItemSet {
            runbook: book.id.clone(),
            item: item.id.clone(),
            checked: !checked,
        };
        if state.runbooks.iter().any(|(id, _)| *id == book.id) {
            Effect::Append(set)
        } else {
            Effect::AppendAll(vec![Self::attach(book), set])
        }
    }

    fn detail(&self, state: &IncidentState) -> Effect {
        let (Some(book), Some(item)) = (self.opened(), self.selected_item()) else { return Effect::Ignored };
        let mut lines = vec![
            Line::from(format!("Runbook  {}", one_line(&book.title))),
            Line::from(format!(
                "Section  {}",
                one_line(book.sections.get(item.section).map_or("", |s| s.heading.as_str()))
            )),
            Line::from(format!("Source   {}:{}", one_line(&book.path), item.line)),
        ];
        if let Some(c) = view_of(&state.checklist, &book.id, &item.id) {
            let what = if c.checked { "ticked" } else { "unticked" };
            lines.push(Line::from(format!(
                "State    {what} by {} at {}",
                one_line(&c.by),
                c.at.format("%H:%M UTC")
            )));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(one_line(&item.text).into_owned()));
        lines.extend(strip_controls(&item.detail).lines().map(|l| Line::from(l.to_string())));
        if let Some(cmd) = &item.command {
            lines.push(Line::from(""));
            lines.push(Line::from(format!("Command ({}), r runs it:", one_line(&cmd.lang))));
            lines.extend(visible(&cmd.script).lines().map(|l| Line::from(format!("  {l}"))));
        }
        Effect::Show(TextView::new("Step", lines))
    }

    fn run(&self) -> Effect {
        let (Some(book), Some(item)) = (self.opened(), self.selected_item()) else {
            return Effect::Notice("open a runbook first (Enter)".into());
        };
        match &item.command {
            Some(command) => Effect::Run(RunRequest {
                runbook: book.id.clone(),
                item: item.id.clone(),
                command: command.clone(),
            }),
            None => Effect::Notice("this step has no command to run".into()),
        }
    }
}

fn view_of<'a>(checklist: &'a [ChecklistView], book: &str, item: &str) -> Option<&'a ChecklistView> {
    checklist.iter().find(|c| c.runbook == book && c.item == item)
}

impl Pane for Runbooks {
    fn name(&self) -> &'static str {
        "Runbooks"
    }

    fn title(&self) -> String {
        match self.opened() {
            Some(b) => format!("Runbook · {}", one_line(&b.title)),
            None => format!("Runbooks · {}", self.books.len()),
        }
    }

    fn keymap(&self) -> &'static [Binding<PaneCmd>] {
        if self.open.is_some() { BOOK_KEYS } else { LIST_KEYS }
    }

    fn all_keymaps(&self) -> Vec<&'static [Binding<PaneCmd>]> {
        vec![LIST_KEYS, BOOK_KEYS]
    }

    fn command(&mut self, cmd: PaneCmd, ctx: &PaneCtx) -> Effect {
        let state = &ctx.data.state;
        if let Some(by) = cmd.moves_by(self.height.get()) {
            self.move_by(by);
            return Effect::Redraw;
        }
        match cmd {
            PaneCmd::Open => match self.open {
                Some(_) => return self.detail(state),
                None if self.selected < self.books.len() => {
                    self.open = Some(self.selected);
                    self.item = 0;
                    self.top.set(0);
                }
                None => return Effect::Ignored,
            },
            PaneCmd::Back => {
                if self.open.take().is_none() {
                    return Effect::Ignored;
                }
                self.top.set(0);
            }
            PaneCmd::Toggle => return self.toggle(state),
            PaneCmd::Run => return self.run(),
            PaneCmd::Attach => {
                let Some(book) = self.selected_book() else { return Effect::Ignored };
                if state.runbooks.iter().any(|(id, _)| *id == book.id) {
                    return Effect::Notice(format!("{} is already attached", one_line(&book.title)));
                }
                return Effect::Append(Self::attach(book));
            }
            _ => return Effect::Ignored,
        }
        Effect::Redraw
    }

    fn sync(&mut self, data: &IncidentData) {
        let sev = data.state.severity;
        if self.severity == Some(sev) {
            return;
        }
        // Re-sort for the new severity, keeping the selection and the open runbook.
        let keep = |i: Option<usize>, books: &[Runbook]| i.and_then(|i| books.get(i)).map(|b| b.id.clone());
        let (sel, open) = (keep(Some(self.selected), &self.books), keep(self.open, &self.books));
        sort_for_severity(&mut self.books, sev);
        let find = |id: Option<String>| id.and_then(|id| self.books.iter().position(|b| b.id == id));
        // The first sort starts at the top: that is where the severity's runbooks are.
        self.selected = if self.severity.is_none() { 0 } else { find(sel).unwrap_or(0) };
        self.open = find(open);
        self.severity = Some(sev);
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx) {
        let shown = self.problems.len().min(3) as u16;
        let [body, problems] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(shown + u16::from(self.problems.len() > 3)),
        ])
        .areas(area);
        match self.opened() {
            Some(book) => self.render_book(frame, body, book, ctx),
            None => self.render_list(frame, body, ctx),
        }
        let t = ctx.theme;
        let mut lines: Vec<Line> = self.problems[..shown as usize]
            .iter()
            .map(|p| {
                fit(Line::from(Span::styled(format!("⚠ {}", one_line(p)), t.danger)), area.width as usize)
            })
            .collect();
        if self.problems.len() > 3 {
            lines.push(Line::styled(
                format!("  and {} more problems (warroom runbook check)", self.problems.len() - 3),
                t.danger,
            ));
        }
        frame.render_widget(Paragraph::new(lines), problems);
    }
}

impl Runbooks {
    fn render_list(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx) {
        let t = ctx.theme;
        let missing = self.missing(&ctx.data.state);
        let [area, rest] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(missing.len().min(3) as u16)])
                .areas(area);
        let lines: Vec<Line> = missing
            .iter()
            .map(|(title, done)| {
                let text = format!("● {} · {done} ticked · attached, no runbook file here", one_line(title));
                fit(Line::styled(text, t.muted), area.width as usize)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), rest);
        if self.books.is_empty() {
            let msg = "No runbooks found. Put Markdown runbooks in the [runbooks] dir (see README).";
            frame.render_widget(Paragraph::new(Span::styled(msg, t.muted)), area);
            return;
        }
        let rows = self.rows(&ctx.data.state);
        let width = area.width as usize;
        let title_w = width.saturating_sub(22).max(10);
        let height = area.height as usize;
        self.height.set(height);
        let top = scroll_top(self.top.get(), self.selected, height, rows.len(), false);
        self.top.set(top);
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .skip(top)
            .take(height)
            .map(|(i, r)| {
                let mark = if r.attached { Span::styled("● ", t.ok) } else { Span::raw("  ") };
                let title: String = one_line(&r.title).chars().take(title_w).collect();
                let progress = format!("{:>3}/{:<3}", r.done, r.total);
                let pstyle = if r.total > 0 && r.done == r.total { t.ok } else { t.text };
                let info = if r.attached {
                    Span::styled(" attached", t.ok)
                } else if r.applies {
                    Span::styled(format!(" for {}", ctx.data.state.severity), t.muted)
                } else {
                    Span::raw("")
                };
                let mut line = Line::from(vec![
                    mark,
                    Span::styled(format!("{title:<title_w$}"), t.text),
                    Span::styled(progress, pstyle),
                    info,
                ]);
                if i == self.selected && ctx.focused {
                    line = line.patch_style(t.selection);
                }
                fit(line, width)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), area);
    }

    fn render_book(&self, frame: &mut Frame, area: Rect, book: &Runbook, ctx: &RenderCtx) {
        let t = ctx.theme;
        let state = &ctx.data.state;
        let checked = checked_ids(&book.id, &state.checklist);
        let attached = state.runbooks.iter().any(|(id, _)| *id == book.id);
        let width = area.width as usize;
        let [head, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let mut title = vec![
            Span::styled(one_line(&book.title).into_owned(), t.title),
            Span::styled(format!("  {}", book.progress(&checked)), t.text),
        ];
        title.push(if attached {
            Span::styled("  attached", t.ok)
        } else {
            Span::styled("  not attached (A)", t.muted)
        });
        frame.render_widget(Paragraph::new(fit(Line::from(title), width)), head);

        // Section headings interleaved with their items; remember which line each item is on.
        let mut lines: Vec<Line> = Vec::new();
        let mut selected_line = 0;
        for (si, (section, progress)) in book.section_progress(&checked).into_iter().enumerate() {
            if !section.heading.is_empty() || si > 0 {
                let heading =
                    if section.heading.is_empty() { "(untitled)".into() } else { one_line(&section.heading) };
                lines.push(Line::from(vec![
                    Span::styled(heading.into_owned(), t.key),
                    Span::styled(format!("  {progress}"), t.muted),
                ]));
            }
            for (ii, item) in book.section_items(si).iter().enumerate() {
                let index = section.items.start + ii;
                let is_checked = checked.contains(item.id.as_str());
                let mut spans = vec![
                    Span::raw("  ".repeat(item.depth + 1)),
                    Span::styled(
                        if is_checked { "[x] " } else { "[ ] " },
                        if is_checked { t.ok } else { t.text },
                    ),
                    Span::styled(
                        one_line(&item.text).into_owned(),
                        if is_checked { t.muted } else { t.text },
                    ),
                ];
                if item.command.is_some() {
                    spans.push(Span::styled("  $", t.key));
                }
                if let Some(c) = view_of(&state.checklist, &book.id, &item.id) {
                    let what = if c.checked { "" } else { "unticked " };
                    spans.push(Span::styled(
                        format!("  {what}{} {}", one_line(&c.by), c.at.format("%H:%M")),
                        t.author,
                    ));
                }
                let mut line = Line::from(spans);
                if index == self.item {
                    selected_line = lines.len();
                    if ctx.focused {
                        line = line.patch_style(t.selection);
                    }
                }
                lines.push(fit(line, width));
            }
        }
        let height = list.height as usize;
        self.height.set(height);
        let top = scroll_top(self.top.get(), selected_line, height, lines.len(), false);
        self.top.set(top);
        let visible: Vec<Line> = lines.into_iter().skip(top).take(height).collect();
        frame.render_widget(Paragraph::new(visible), list);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::incident::{Event, fold};

    const BOOK: &str = "+++\ntitle = \"Disk full\"\nseverity = [1, 2]\n+++\n# Disk full\n\n## Check\n\n- [ ] See which filesystem is full\n\n  ```sh\n  df -h\n  ```\n\n## Fix\n\n- [ ] Rotate the logs\n- [ ] Restart the writer\n";
    const OTHER: &str = "# Any severity\n\n- [ ] Look around\n";
    const LOW: &str = "+++\ntitle = \"Low only\"\nseverity = 4\n+++\n- [ ] Shrug\n";

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc() + Duration::minutes(m)
    }

    fn pane() -> Runbooks {
        let c = crate::runbook::catalog([("low.md", LOW), ("any.md", OTHER), ("disk-full.md", BOOK)]);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        Runbooks::new(c.books, vec!["bad.md:3: malformed front matter: x".into()])
    }

    fn data(events: Vec<Event>) -> IncidentData {
        IncidentData { state: fold(&events).unwrap(), events, team_events: Vec::new() }
    }

    fn opened() -> Vec<Event> {
        vec![Event::open(t(0), "ana", "db".into(), Severity::ALL[1], None)]
    }

    fn apply(events: &mut Vec<Event>, effect: Effect, who: &str, m: i64) {
        let id = events[0].incident;
        let kinds = match effect {
            Effect::Append(k) => vec![k],
            Effect::AppendAll(ks) => ks,
            other => panic!("expected an append, got {other:?}"),
        };
        for (i, k) in kinds.into_iter().enumerate() {
            events.push(Event::new(id, t(m) + Duration::milliseconds(i as i64), who, k));
        }
    }

    #[test]
    fn list_puts_the_severitys_runbooks_first_and_marks_attached() {
        let mut p = pane();
        let mut events = opened();
        p.sync(&data(events.clone()));
        let ids: Vec<String> = p.rows(&data(events.clone()).state).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["disk-full", "any", "low"]);
        let d = data(events.clone());
        let effect = p.command(PaneCmd::Attach, &PaneCtx { data: &d, me: "ana" });
        apply(&mut events, effect, "ana", 1);
        let rows = p.rows(&data(events.clone()).state);
        assert!(rows[0].attached && !rows[1].attached);
        assert_eq!((rows[0].done, rows[0].total), (0, 3));
        assert!(rows[0].applies && rows[1].applies && !rows[2].applies);
        // Attaching twice says so instead of writing another event.
        let d = data(events.clone());
        assert!(matches!(p.command(PaneCmd::Attach, &PaneCtx { data: &d, me: "ana" }), Effect::Notice(_)));
    }

    #[test]
    fn severity_change_resorts_and_keeps_the_selection() {
        let mut p = pane();
        let mut events = opened();
        p.sync(&data(events.clone()));
        let d = data(events.clone());
        p.command(PaneCmd::Down, &PaneCtx { data: &d, me: "ana" });
        assert_eq!(p.books[p.selected].id, "any");
        let id = events[0].incident;
        events.push(Event::new(id, t(1), "ana", EventKind::SeveritySet { severity: Severity::ALL[3] }));
        p.sync(&data(events));
        assert_eq!(p.books[0].id, "low");
        assert_eq!(p.books[p.selected].id, "any");
    }

    #[test]
    fn tick_attaches_then_toggles_last_writer_wins() {
        let mut p = pane();
        let mut events = opened();
        p.sync(&data(events.clone()));
        let ctx_of = |events: &Vec<Event>| data(events.clone());
        let d = ctx_of(&events);
        assert!(matches!(p.command(PaneCmd::Toggle, &PaneCtx { data: &d, me: "ana" }), Effect::Notice(_)));
        p.command(PaneCmd::Open, &PaneCtx { data: &d, me: "ana" });
        assert_eq!(p.opened().unwrap().id, "disk-full");
        // First tick in an unattached runbook attaches it too.
        let e = p.command(PaneCmd::Toggle, &PaneCtx { data: &d, me: "ana" });
        assert!(matches!(&e, Effect::AppendAll(k) if k.len() == 2));
        apply(&mut events, e, "ana", 2);
        let st = ctx_of(&events).state;
        assert_eq!(st.runbooks, vec![("disk-full".to_string(), "Disk full".to_string())]);
        assert_eq!(p.rows(&st)[0].done, 1);
        // Bo unticks it later; Ana's screen folds to the same answer.
        let d = ctx_of(&events);
        let e = p.command(PaneCmd::Toggle, &PaneCtx { data: &d, me: "bo" });
        assert!(matches!(&e, Effect::Append(EventKind::ChecklistItemSet { checked: false, .. })));
        apply(&mut events, e, "bo", 3);
        let st = ctx_of(&events).state;
        assert_eq!(p.rows(&st)[0].done, 0);
        assert_eq!(st.checklist[0].by, "bo");
        // Moving down and ticking another item.
        p.command(PaneCmd::Down, &PaneCtx { data: &d, me: "ana" });
        let d = ctx_of(&events);
        let e = p.command(PaneCmd::Toggle, &PaneCtx { data: &d, me: "ana" });
        apply(&mut events, e, "ana", 4);
        let st = ctx_of(&events).state;
        let book = p.opened().unwrap();
        assert!(checked_ids("disk-full", &st.checklist).contains(book.items[1].id.as_str()));
    }

    #[test]
    fn run_detail_and_back() {
        let mut p = pane();
        let events = opened();
        let d = data(events);
        p.sync(&d);
        let ctx = PaneCtx { data: &d, me: "ana" };
        assert!(matches!(p.command(PaneCmd::Run, &ctx), Effect::Notice(_)));
        p.command(PaneCmd::Open, &ctx);
        match p.command(PaneCmd::Run, &ctx) {
            Effect::Run(r) => {
                assert_eq!(r.runbook, "disk-full");
                assert_eq!(r.command.script, "df -h\n");
            }
            other => panic!("{other:?}"),
        }
        let Effect::Show(v) = p.command(PaneCmd::Open, &ctx) else { panic!("no detail") };
        let text: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
        assert!(text.contains("See which filesystem is full") && text.contains("  df -h"), "{text}");
        p.command(PaneCmd::Bottom, &ctx);
        assert!(matches!(p.command(PaneCmd::Run, &ctx), Effect::Notice(m) if m.contains("no command")));
        assert_eq!(p.keymap().len(), BOOK_KEYS.len());
        p.command(PaneCmd::Back, &ctx);
        assert!(p.opened().is_none());
        assert!(matches!(p.command(PaneCmd::Back, &ctx), Effect::Ignored));
        assert_eq!(p.keymap().len(), LIST_KEYS.len());
    }
}
