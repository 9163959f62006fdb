//! The process pane: meters and an htop-like table fed by the sampler's snapshots (one per
//! refresh, off the UI thread). The sorted/filtered view is computed when a snapshot or a key
//! changes it, never per frame; the selection follows its (pid, start time). F9/`x` opens the
//! kill guard popup.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::incident::sanitize::one_line;
use crate::procs::view::{human_age, human_bytes, matches_filter, usage_columns};
use crate::procs::{
    DetailsError, GuardContext, ProcessDetails, ProcessRow, Snapshot, SortKey, process_details,
    sorted_indices, tree_order,
};
use crate::tui::keymap::{Binding, ENTER, Key, PaneCmd, SPACE};
use crate::tui::pane::{Effect, IncidentData, Pane, PaneCtx, RenderCtx};
use crate::tui::popups::{KillGuard, Popup, TextView};
use crate::tui::theme::Theme;
use crate::tui::widgets::{Filter, scroll_top};

static KEYS: &[Binding<PaneCmd>] = &[
    Binding::down(PaneCmd::Down, "next process"),
    Binding::up(PaneCmd::Up, "previous process"),
    Binding::page_down(PaneCmd::PageDown),
    Binding::page_up(PaneCmd::PageUp),
    Binding::top(PaneCmd::Top, "first process"),
    Binding::bottom(PaneCmd::Bottom, "last process"),
    Binding::new(&[Key::f(9), Key::ch('x')], PaneCmd::Kill, "signal the process (kill guard)").shown("kill"),
    Binding::new(
        &[Key::ch('c')],
        PaneCmd::Capture,
        "capture evidence without a signal (or capture, then restart its unit/container)",
    )
    .shown("capture"),
    Binding::new(&[Key::ch('/')], PaneCmd::Filter, "filter by name or cmdline").shown("filter"),
    Binding::new(ENTER, PaneCmd::Open, "process details").shown("detail"),
    Binding::new(&[Key::f(6), Key::ch('>')], PaneCmd::SortNext, "sort by the next column").shown("sort"),
    Binding::new(&[Key::ch('<')], PaneCmd::SortPrev, "sort by the previous column"),
    Binding::new(&[Key::ch('I')], PaneCmd::Invert, "invert the sort order"),
    Binding::new(&[Key::f(5)], PaneCmd::Tree, "tree view on/off").shown("tree"),
    Binding::new(
        &[Key::ch('K')],
        PaneCmd::Kernel,
        "show / hide kernel threads (hidden by default, as in htop)",
    ),
    Binding::new(SPACE, PaneCmd::Pause, "pause / resume the live view").shown("pause"),
];

/// What the pane needs besides snapshots.
#[derive(Debug, Clone)]
pub struct ProcsSettings {
    /// The guard's facts about this warroom (pid, ancestors, uid, critical names).
    pub guard: Arc<GuardContext>,
    /// How long TERM gets before KILL is offered.
    pub grace: Duration,
}

/// The process pane's state.
#[derive(Debug)]
pub struct Processes {
    settings: ProcsSettings,
    snap: Option<Arc<Snapshot>>,
    /// The newest snapshot that arrived while paused.
    pending: Option<Arc<Snapshot>>,
    /// Why there are no snapshots (no /proc), if so.
    failed: Option<String>,
    /// (index into `snap.processes`, tree depth) in display order.
    view: Vec<(usize, usize)>,
    pub sort: SortKey,
    pub reverse: bool,
    pub tree: bool,
    pub paused: bool,
    /// Show kernel threads (they cannot be signalled, and their churn hides the userland).
    pub kernel: bool,
    filter: Filter,
    selected: usize,
    /// The selected process's (pid, start time): followed across re-sorts and refreshes once the
    /// responder moved the selection; until then the top row stays selected (like htop), so
    /// the first F9 is on the top hog, not on whatever was first before CPU% was known.
    chosen: Option<(i32, u64)>,
    moved: bool,
    top: Cell<usize>,
    height: Cell<usize>,
}

impl Processes {
    pub fn new(settings: ProcsSettings) -> Processes {
        Processes {
            settings,
            snap: None,
            pending: None,
            failed: None,
            view: Vec::new(),
            sort: SortKey::Cpu,
            reverse: false,
            tree: false,
            paused: false,
            kernel: false,
            filter: Filter::default(),
            selected: 0,
            chosen: None,
            moved: false,
            top: Cell::new(0),
            height: Cell::new(10),
        }
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&ProcessRow> {
        let (i, _) = self.view.get(self.selected)?;
        self.snap.as_ref()?.processes.get(*i)
    }

    /// Pids in display order (tests).
    pub fn shown_pids(&self) -> Vec<i32> {
        let Some(s) = &self.snap else { return Vec::new() };
        self.view.iter().map(|(i, _)| s.processes[*i].pid).collect()
    }

    pub fn filter_text(&self) -> &str {
        self.filter.value()
    }

    /// Recomputes the view (sort, filter, tree) and puts the selection back on its process.
    fn rebuild(&mut self) {
        let Some(snap) = &self.snap else {
            self.view.clear();
            return;
        };
        let rows = &snap.processes;
        let f = self.filter.value();
        let shown = |i: usize| self.kernel || !rows[i].kernel_thread;
        self.view = if self.tree {
            tree_order(rows).into_iter().filter(|(i, _)| shown(*i) && matches_filter(&rows[*i], f)).collect()
        } else {
            let idx = sorted_indices(rows, self.sort, self.reverse, f);
            idx.into_iter().filter(|i| shown(*i)).map(|i| (i, 0)).collect()
        };
        let found = if !self.moved {
            Some(0)
        } else {
            self.chosen.and_then(|(pid, start)| {
                self.view.iter().position(|(i, _)| rows[*i].pid == pid && rows[*i].start_time == start)
            })
        };
        self.selected = found.unwrap_or(self.selected).min(self.view.len().saturating_sub(1));
        self.remember();
    }

    fn remember(&mut self) {
        self.chosen = self.selected_row().map(|r| (r.pid, r.start_time));
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.moved = true;
        self.remember();
    }

    fn details(&self) -> Effect {
        let Some(row) = self.selected_row() else { return Effect::Ignored };
        match process_details(row.pid, row.start_time) {
            Ok(d) => Effect::Show(details_view(&d)),
            Err(e) => Effect::Notice(details_error(&e)),
        }
    }

    fn kill(&self) -> Effect {
        let (Some(row), Some(snap)) = (self.selected_row(), &self.snap) else {
            return Effect::Notice("no process selected".into());
        };
        let details = process_details(row.pid, row.start_time);
        Effect::Popup(Box::new(Popup::Kill(Box::new(KillGuard::new(
            row,
            snap.meters.uptime_secs,
            details,
            self.settings.guard.clone(),
            self.settings.grace,
        )))))
    }
}

impl Processes {
    /// The capture popup for the selected process: who it is, and the unit or container a
    /// restart would hit (or why none is offered).
    fn capture(&self) -> Effect {
        let Some(row) = self.selected_row() else {
            return Effect::Notice("no process selected".into());
        };
        let clean = |s: &str| one_line(s).into_owned();
        let target = crate::procs::ProcessIdentity::from(row);
        let cmd = if row.cmdline.is_empty() {
            format!("[{}]", clean(&row.name))
        } else {
            clean(&crate::procs::redact::redact_cmdline(&row.cmdline))
        };
        let mut about = vec![
            ("process", format!("{} (pid {})", clean(&row.name), row.pid)),
            ("user", format!("{} (uid {})", clean(&row.user), row.uid)),
            ("cmdline", cmd),
        ];
        let restart = match process_details(row.pid, row.start_time) {
            Ok(d) => {
                let cg = d.cgroup.as_ref();
                about.push(("unit", cg.and_then(|c| c.unit.as_deref()).map_or("-".into(), clean)));
                if let Some(c) = cg.and_then(|c| c.container.as_deref()) {
                    about.push(("container", clean(c)));
                }
                match cg {
                    Some(c) => crate::procs::restart::restart_target(c),
                    None => Err("its cgroup is unreadable".into()),
                }
            }
            Err(e) => return Effect::Notice(details_error(&e)),
        };
        Effect::Popup(Box::new(Popup::Capture(Box::new(crate::tui::popups::CaptureForm::new(
            target,
            about,
            restart,
            self.settings.guard.clone(),
        )))))
    }
}

/// The message for details that could not be read.
fn details_error(e: &DetailsError) -> String {
    match e {
        DetailsError::Gone { pid } => format!("pid {pid} has exited since the last refresh"),
        DetailsError::Recycled { pid, .. } => {
            format!("pid {pid} now belongs to another process: the one you selected has exited")
        }
        DetailsError::Unreadable { pid, message } => {
            format!("pid {pid}: cannot read its details ({}); try as root", one_line(message))
        }
    }
}

/// The Enter popup: everything /proc tells about one process.
pub fn details_view(d: &ProcessDetails) -> TextView {
    let clean = |s: &str| one_line(s).into_owned();
    let opt = |o: &Option<String>| o.as_deref().map_or("(unreadable)".to_string(), clean);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut kv = |k: &str, v: String| lines.push(Line::from(format!("{k:<12}{v}")));
    kv("pid", format!("{} (start {} ticks)", d.pid, d.start_time));
    kv("name", clean(&d.name));
    kv("state", d.state.to_string());
    kv("user", format!("{} (uid {})", opt(&d.user), d.uid.map_or("?".into(), |u| u.to_string())));
    kv("cwd", opt(&d.cwd));
    kv("exe", opt(&d.exe));
    kv("threads", d.threads.to_string());
    kv("rss", d.vm_rss.map_or("-".into(), human_bytes));
    kv("environ", d.environ_count.map_or("(unreadable)".into(), |n| format!("{n} variables")));
    kv("open fds", d.fd_count.map_or("(unreadable)".into(), |n| n.to_string()));
    let cg = d.cgroup.as_ref();
    kv("unit", cg.and_then(|c| c.unit.as_deref()).map_or("-".into(), clean));
    kv("container", cg.and_then(|c| c.container.as_deref()).map_or("-".into(), clean));
    kv("cgroup", cg.map_or("-".into(), |c| clean(&c.path)));
    let ports: Vec<String> =
        d.listening.iter().map(|s| format!("{} {}:{}", s.proto.as_str(), s.local, s.local_port)).collect();
    kv("listening", if ports.is_empty() { "-".into() } else { ports.join(", ") });
    let chain: Vec<String> =
        d.parent_chain.iter().map(|l| format!("{}({})", clean(&l.name), l.pid)).collect();
    kv("parents", if chain.is_empty() { "-".into() } else { chain.join(" ← ") });
    lines.push(Line::from(""));
    lines.push(Line::from("cmdline"));
    if d.argv.is_empty() {
        lines.push(Line::from("  (none: kernel thread or zombie)"));
    }
    for a in &d.argv {
        lines.push(Line::from(format!("  {}", clean(a))));
    }
    if !d.limits.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(format!("{:<26}{:>14}{:>14} units", "limit", "soft", "hard")));
        for l in &d.limits {
            lines.push(Line::from(format!(
                "{:<26}{:>14}{:>14} {}",
                clean(&l.name),
                clean(&l.soft),
                clean(&l.hard),
                clean(&l.units)
            )));
        }
    }
    TextView::new(format!("Process {} {}", d.pid, clean(&d.name)), lines)
}

impl Pane for Processes {
    fn name(&self) -> &'static str {
        "Processes"
    }

    fn title(&self) -> String {
        let dir = if self.reverse != self.sort.descending_by_default() { "↓" } else { "↑" };
        let mut t = if self.tree {
            "Processes · tree".to_string()
        } else {
            format!("Processes · {}{dir}", self.sort.as_str())
        };
        if !self.filter.value().is_empty() {
            let total = self.snap.as_ref().map_or(0, |s| s.processes.len());
            t.push_str(&format!(" · /{} · {}/{}", one_line(self.filter.value()), self.view.len(), total));
        }
        if self.paused {
            t.push_str(" · PAUSED");
        }
        t
    }

    fn keymap(&self) -> &'static [Binding<PaneCmd>] {
        KEYS
    }

    fn command(&mut self, cmd: PaneCmd, _ctx: &PaneCtx) -> Effect {
        if let Some(by) = cmd.moves_by(self.height.get()) {
            self.move_by(by);
            return Effect::Redraw;
        }
        match cmd {
            PaneCmd::Filter => self.filter.typing = true,
            PaneCmd::SortNext | PaneCmd::SortPrev => {
                self.sort = if cmd == PaneCmd::SortNext { self.sort.next() } else { self.sort.prev() };
                self.tree = false;
                self.rebuild();
            }
            PaneCmd::Invert => {
                self.reverse = !self.reverse;
                self.rebuild();
            }
            PaneCmd::Tree => {
                self.tree = !self.tree;
                self.rebuild();
            }
            PaneCmd::Kernel => {
                self.kernel = !self.kernel;
                self.rebuild();
            }
            PaneCmd::Pause => {
                self.paused = !self.paused;
                if !self.paused
                    && let Some(s) = self.pending.take()
                {
                    self.snap = Some(s);
                    self.rebuild();
                }
            }
            PaneCmd::Open => return self.details(),
            PaneCmd::Kill => return self.kill(),
            PaneCmd::Capture => return self.capture(),
            _ => return Effect::Ignored,
        }
        Effect::Redraw
    }

    fn capturing(&self) -> bool {
        self.filter.typing
    }

    fn input(&mut self, key: KeyEvent, _ctx: &PaneCtx) -> Effect {
        if self.filter.key(key) {
            self.rebuild();
        }
        Effect::Redraw
    }

    fn capture_hints(&self) -> &'static [(&'static str, &'static str)] {
        Filter::HINTS
    }

    fn sync(&mut self, _data: &IncidentData) {}

    fn snapshot(&mut self, snap: &Arc<Snapshot>) -> bool {
        self.failed = None;
        if self.paused {
            self.pending = Some(snap.clone());
            return false;
        }
        self.snap = Some(snap.clone());
        self.rebuild();
        true
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn snapshot_failed(&mut self, why: &str) -> bool {
        self.failed = Some(one_line(why).into_owned());
        true
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx) {
        let t = ctx.theme;
        let Some(snap) = &self.snap else {
            let msg = match &self.failed {
                Some(e) => format!("No process view: {e}"),
                None => "Sampling processes…".into(),
            };
            frame.render_widget(Paragraph::new(Span::styled(msg, t.muted)), area);
            return;
        };
        let meters = meter_lines(snap, area.width as usize, self.paused, t);
        let input_h = u16::from(self.filter.typing);
        let [m, head, list, input] = Layout::vertical([
            Constraint::Length(meters.len() as u16),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(input_h),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(meters), m);
        frame.render_widget(Paragraph::new(column_header(self.sort, self.tree, t)), head);
        let height = list.height as usize;
        self.height.set(height);
        let top = scroll_top(self.top.get(), self.selected, height, self.view.len(), false);
        self.top.set(top);
        let end = (top + height).min(self.view.len());
        let lines: Vec<Line> = self.view[top..end]
            .iter()
            .enumerate()
            .map(|(n, &(i, depth))| {
                let line = row_line(&snap.processes[i], depth, snap, list.width as usize, t);
                if top + n == self.selected && ctx.focused { line.patch_style(t.selection) } else { line }
            })
            .collect();
        if lines.is_empty() {
            frame
                .render_widget(Paragraph::new(Span::styled("No process matches the filter.", t.muted)), list);
        } else {
            frame.render_widget(Paragraph::new(lines), list);
        }
        if self.filter.typing {
            frame.render_widget(Paragraph::new(self.filter.line(t)), input);
        }
    }
}

/// `[|||||     23.4%]` in `width` columns.
fn bar(label: &str, frac: f64, text: &str, width: usize, fill: Style, t: &Theme) -> Vec<Span<'static>> {
    let inner = width.saturating_sub(label.chars().count() + 2).max(1);
    let text = if text.chars().count() > inner { "" } else { text };
    let fill_n = ((frac.clamp(0.0, 1.0) * inner as f64).round() as usize).min(inner);
    let pad = inner - text.chars().count();
    let mut cells: Vec<char> = (0..inner).map(|i| if i < fill_n && i < pad { '|' } else { ' ' }).collect();
    for (i, c) in text.chars().enumerate() {
        cells[pad + i] = c;
    }
    let bars: String = cells[..fill_n.min(pad)].iter().collect();
    let rest: String = cells[fill_n.min(pad)..].iter().collect();
    vec![
        Span::styled(label.to_string(), t.title),
        Span::styled("[", t.muted),
        Span::styled(bars, fill),
        Span::styled(rest, t.text),
        Span::styled("]", t.muted),
    ]
}

fn frac(used: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { used as f64 / total as f64 }
}

/// CPU, memory, swap, load, uptime; per-CPU bars where there is room.
fn meter_lines(snap: &Snapshot, width: usize, paused: bool, t: &Theme) -> Vec<Line<'static>> {
    let m = &snap.meters;
    let half = width / 2;
    let cpu_style = if m.cpu.busy >= 90.0 { t.danger } else { t.ok };
    let mut one =
        bar("CPU", f64::from(m.cpu.busy) / 100.0, &format!("{:.1}%", m.cpu.busy), half, cpu_style, t);
    one.push(Span::raw(" "));
    let mem = format!("{}/{}", human_bytes(m.mem_used), human_bytes(m.mem_total));
    one.extend(bar("Mem", frac(m.mem_used, m.mem_total), &mem, width - half - 1, t.warn, t));
    let swap = format!("{}/{}", human_bytes(m.swap_used), human_bytes(m.swap_total));
    let mut two = bar("Swp", frac(m.swap_used, m.swap_total), &swap, half, t.danger, t);
    let load =
        format!(" load {:.2} {:.2} {:.2} · up {}", m.load[0], m.load[1], m.load[2], human_age(m.uptime_secs));
    let tasks = format!(" · {} tasks, {} running", m.tasks, m.running);
    let room = width.saturating_sub(half + if paused { 7 } else { 0 });
    let info = if load.chars().count() + tasks.chars().count() <= room { load + &tasks } else { load };
    two.push(Span::styled(info, t.text));
    if paused {
        two.push(Span::styled(" PAUSED", t.warn.add_modifier(Modifier::BOLD)));
    }
    let mut lines = vec![Line::from(one), Line::from(two)];
    // Per-CPU bars in one row, only when every CPU fits at a readable width.
    const CELL: usize = 16;
    if width >= 120 && !m.per_cpu.is_empty() && m.per_cpu.len() * CELL <= width {
        let cell = (width / m.per_cpu.len()).min(30);
        let mut spans = Vec::new();
        for (n, c) in m.per_cpu.iter().enumerate() {
            let style = if c.busy >= 90.0 { t.danger } else { t.ok };
            spans.extend(bar(
                &format!("{n:>2}"),
                f64::from(c.busy) / 100.0,
                &format!("{:.0}%", c.busy),
                cell - 1,
                style,
                t,
            ));
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    lines
}

const HEAD: [(&str, usize, Option<SortKey>); 9] = [
    ("PID", 7, Some(SortKey::Pid)),
    ("USER", 9, None),
    ("NI", 3, None),
    ("S", 1, None),
    ("CPU%", 5, Some(SortKey::Cpu)),
    ("MEM%", 5, Some(SortKey::Mem)),
    ("RES", 6, None),
    ("TIME+", 9, Some(SortKey::Time)),
    ("AGE", 6, None),
];

fn column_header(sort: SortKey, tree: bool, t: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (name, w, key) in HEAD {
        let style = if !tree && key == Some(sort) { t.selection } else { t.title };
        let cell = if name == "USER" { format!("{name:<w$}") } else { format!("{name:>w$}") };
        spans.push(Span::styled(cell, style));
        spans.push(Span::styled(" ", t.title));
    }
    let style = if !tree && sort == SortKey::Name { t.selection } else { t.title };
    spans.push(Span::styled("COMMAND", style));
    Line::from(spans)
}

fn row_line(p: &ProcessRow, depth: usize, snap: &Snapshot, width: usize, t: &Theme) -> Line<'static> {
    let user: String = one_line(&p.user).chars().take(9).collect();
    let state_style = match p.state {
        'R' => t.ok,
        'D' | 'Z' => t.danger,
        'T' | 't' => t.warn,
        _ => t.text,
    };
    let cpu_style = if p.cpu_percent >= 50.0 { t.danger } else { t.text };
    let cmd = if p.cmdline.is_empty() {
        format!("[{}]", one_line(&p.name))
    } else {
        one_line(&p.cmdline).into_owned()
    };
    let indent = if depth > 0 { format!("{}└ ", "  ".repeat(depth - 1)) } else { String::new() };
    let fixed = format!("{:>7} {user:<9} {:>3} ", p.pid, p.nice);
    let nums = format!(" {} ", usage_columns(p, snap));
    let used = fixed.chars().count() + 1 + nums.chars().count() + indent.chars().count();
    let room = width.saturating_sub(used);
    let mut cmd_cut: String = cmd.chars().take(room).collect();
    if cmd.chars().count() > room && room > 0 {
        cmd_cut.pop();
        cmd_cut.push('…');
    }
    Line::from(vec![
        Span::styled(fixed, t.text),
        Span::styled(p.state.to_string(), state_style),
        Span::styled(nums, cpu_style),
        Span::styled(indent, t.muted),
        Span::styled(cmd_cut, if p.kernel_thread { t.muted } else { t.text }),
    ])
}
