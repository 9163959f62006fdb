//! The evidence browser (`V`): the incident's captures (time, pid, process, profile, file count,
//! total size) and loose files (runbook command output); Enter opens a capture, whose files are
//! re-hashed off the UI thread against its manifest (`changed` when a file no longer matches), and
//! Enter on a file shows it in a scrollable view: sanitised, capped, binary files described.

use std::path::PathBuf;

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Outcome, TextView};
use crate::incident::sanitize::one_line;
use crate::procs::browse::{self, CaptureSummary, CheckedFile, Entry, Integrity, VIEW_CAP};
use crate::procs::view::human_bytes;
use crate::tui::keymap::{Binding, ENTER, Key, hints, lookup};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centered, hint_line, popup_frame, scroll_top};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowseCmd {
    Down,
    Up,
    Top,
    Bottom,
    Open,
    Back,
    Close,
}

const MOVES: [Binding<BrowseCmd>; 4] = [
    Binding::down(BrowseCmd::Down, "next").shown("move"),
    Binding::up(BrowseCmd::Up, "previous").shown("move"),
    Binding::top(BrowseCmd::Top, "first"),
    Binding::bottom(BrowseCmd::Bottom, "last"),
];

/// The list of captures and files.
pub static LIST_KEYS: &[Binding<BrowseCmd>] = &[
    MOVES[0],
    MOVES[1],
    MOVES[2],
    MOVES[3],
    Binding::new(ENTER, BrowseCmd::Open, "open the capture (re-verifies every sha256) or the file")
        .shown("open"),
    Binding::new(&[Key::ESC, Key::ch('q')], BrowseCmd::Close, "close the evidence browser").shown("close"),
];
/// One capture's files.
pub static CAPTURE_KEYS: &[Binding<BrowseCmd>] = &[
    MOVES[0],
    MOVES[1],
    MOVES[2],
    MOVES[3],
    Binding::new(ENTER, BrowseCmd::Open, "show the file").shown("show"),
    Binding::new(&[Key::ESC, Key::BACKSPACE], BrowseCmd::Back, "back to the list").shown("back"),
    Binding::new(&[Key::ch('q')], BrowseCmd::Close, "close the evidence browser"),
];
/// Every table, for `?` help (a file is shown with the text view's keys; Esc goes back).
pub static TABLES: &[&[Binding<BrowseCmd>]] = &[LIST_KEYS, CAPTURE_KEYS];

/// Where the browser is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    List,
    /// A capture's files; None while they are being verified.
    Capture {
        summary: CaptureSummary,
        files: Option<Vec<CheckedFile>>,
        selected: usize,
    },
    /// A file shown; `back` is the level to return to.
    File {
        view: TextView,
        back: Box<Level>,
    },
}

/// What the browser asks the App for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowseAsk {
    /// Re-hash the capture in this directory (off the UI thread) → `checked`.
    Verify(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceBrowser {
    pub root: PathBuf,
    pub entries: Vec<Entry>,
    /// Why the list could not be read, if so.
    pub problem: Option<String>,
    pub selected: usize,
    pub level: Level,
    /// path → sha256 the timeline recorded (loose files and manifests are checked against it).
    recorded: std::collections::HashMap<String, String>,
    top: std::cell::Cell<usize>,
}

impl EvidenceBrowser {
    /// Lists `root` now (manifests are small; the re-hashing happens on open, off the UI thread).
    pub fn open(root: PathBuf, events: &[crate::incident::Event]) -> EvidenceBrowser {
        let (entries, problem) = match browse::list(&root) {
            Ok(e) => (e, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        EvidenceBrowser {
            root,
            entries,
            problem,
            selected: 0,
            level: Level::List,
            recorded: browse::recorded_hashes(events),
            top: std::cell::Cell::new(0),
        }
    }

    /// The recorded hashes, for the verification job.
    pub fn recorded(&self) -> std::collections::HashMap<String, String> {
        self.recorded.clone()
    }

    pub fn keys(&self) -> &'static [Binding<BrowseCmd>] {
        match self.level {
            Level::List => LIST_KEYS,
            _ => CAPTURE_KEYS,
        }
    }

    /// The verification of `dir` finished.
    pub fn checked(&mut self, dir: &std::path::Path, result: Vec<CheckedFile>) {
        if let Level::Capture { summary, files, .. } = &mut self.level
            && summary.dir == dir
        {
            *files = Some(result);
        }
    }

    fn show(&self, path: &std::path::Path, status: Option<&Integrity>, back: Level) -> Level {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut lines: Vec<Line<'static>> = Vec::new();
        if let Some(s) = status {
            lines.push(Line::from(format!("sha256: {}", s.label())));
        }
        match browse::read_text(path, VIEW_CAP) {
            Ok(t) => {
                if let Some(total) = t.truncated_from {
                    lines.push(Line::from(format!(
                        "── file is {} ({total} bytes): showing the first {} only ──",
                        human_bytes(total),
                        human_bytes(VIEW_CAP as u64)
                    )));
                }
                if status.is_some() || t.truncated_from.is_some() {
                    lines.push(Line::from(""));
                }
                lines.extend(t.lines.into_iter().map(Line::from));
                if let Some(total) = t.truncated_from {
                    lines.push(Line::from(format!(
                        "── cut here: {} more bytes not shown; the whole file is {} ──",
                        total - VIEW_CAP as u64,
                        path.display()
                    )));
                }
            }
            Err(e) => lines.push(Line::from(one_line(&e).into_owned())),
        }
        Level::File { view: TextView::new(one_line(&name).into_owned(), lines), back: Box::new(back) }
    }

    pub fn handle(&mut self, key: KeyEvent) -> Outcome<BrowseAsk> {
        if let Level::File { view, back } = &mut self.level {
            if view.handle(key) == Outcome::Cancelled {
                self.level = (**back).clone();
            }
            return Outcome::Consumed;
        }
        let Some(cmd) = lookup(self.keys(), &key) else { return Outcome::Consumed };
        let len = match &self.level {
            Level::List => self.entries.len(),
            Level::Capture { files, .. } => files.as_ref().map_or(0, Vec::len),
            Level::File { .. } => 0,
        };
        let sel = match &mut self.level {
            Level::Capture { selected, .. } => selected,
            _ => &mut self.selected,
        };
        let last = len.saturating_sub(1);
        match cmd {
            BrowseCmd::Down => *sel = (*sel + 1).min(last),
            BrowseCmd::Up => *sel = sel.saturating_sub(1),
            BrowseCmd::Top => *sel = 0,
            BrowseCmd::Bottom => *sel = last,
            BrowseCmd::Close => return Outcome::Cancelled,
            BrowseCmd::Back => {
                self.level = Level::List;
                self.top.set(0);
            }
            BrowseCmd::Open => match &self.level {
                Level::List => match self.entries.get(self.selected).cloned() {
                    Some(Entry::Capture(c)) => {
                        let dir = c.dir.clone();
                        self.level = Level::Capture { summary: c, files: None, selected: 0 };
                        return Outcome::Done(BrowseAsk::Verify(dir));
                    }
                    Some(Entry::File { path, .. }) => {
                        let status = browse::verify_file(&path, &self.recorded).status;
                        self.level = self.show(&path, Some(&status), Level::List);
                    }
                    None => {}
                },
                Level::Capture { files: Some(files), selected, .. } => {
                    if let Some(f) = files.get(*selected) {
                        let (path, status) = (f.path.clone(), f.status.clone());
                        let back = self.level.clone();
                        self.level = self.show(&path, Some(&status), back);
                    }
                }
                _ => {}
            },
        }
        Outcome::Consumed
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if let Level::File { view, .. } = &self.level {
            view.render(frame, area, theme);
            return;
        }
        let w = area.width.saturating_sub(4).min(110);
        let h = area.height.saturating_sub(2);
        let rect = centered(area, w, h);
        let title = match &self.level {
            Level::Capture { summary, .. } => format!("Evidence · {}", one_line(&dir_name(&summary.dir))),
            _ => "Evidence of this incident".into(),
        };
        let inner = popup_frame(frame, rect, &title, theme);
        let [head, list, help] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        let width = inner.width as usize;
        let (header, rows, selected): (Vec<Line>, Vec<Line>, usize) = match &self.level {
            Level::Capture { summary, files, selected } => {
                let info = format!(
                    "pid {} {} · {} · captured {} · {} files, {}",
                    summary.pid.map_or("?".into(), |p| p.to_string()),
                    one_line(&summary.name),
                    one_line(&summary.profile),
                    when(summary.captured_at.as_deref()),
                    summary.files,
                    human_bytes(summary.bytes)
                );
                let (status_line, rows) = match files {
                    None => (
                        Line::styled("verifying every file's sha256 against the manifest…", theme.warn),
                        Vec::new(),
                    ),
                    Some(files) => {
                        let count = |f: fn(&Integrity) -> bool| files.iter().filter(|x| f(&x.status)).count();
                        let ok = count(|s| *s == Integrity::Ok);
                        let bad = count(|s| {
                            matches!(s, Integrity::Changed | Integrity::Missing | Integrity::Unreadable(_))
                        });
                        let line = if ok == files.len() {
                            Line::styled(format!("all {ok} files match their recorded sha256"), theme.ok)
                        } else {
                            let text = format!(
                                "{ok} of {} match their recorded sha256; {bad} changed or missing; {} recorded nowhere",
                                files.len(),
                                files.len() - ok - bad
                            );
                            Line::styled(fit(&text, width), if bad > 0 { theme.danger } else { theme.warn })
                        };
                        (line, files.iter().map(|f| file_row(f, width, theme)).collect())
                    }
                };
                (vec![Line::styled(fit(&info, width), theme.text), status_line], rows, *selected)
            }
            _ => {
                let count = self.entries.len();
                let top = match &self.problem {
                    Some(p) => Line::styled(fit(&format!("cannot read: {p}"), width), theme.danger),
                    None if count == 0 => Line::styled(
                        "Nothing captured yet: `c` on a process (process pane) captures without a signal.",
                        theme.muted,
                    ),
                    None => Line::styled(
                        fit(
                            &format!("{count} item(s); files are 0600 under the data dir's evidence/"),
                            width,
                        ),
                        theme.muted,
                    ),
                };
                let head = Line::styled(
                    fit(
                        &format!(
                            "{:<19} {:>7} {:<15} {:<8} {:>5} {:>9}",
                            "CAPTURED (UTC)", "PID", "PROCESS", "PROFILE", "FILES", "SIZE"
                        ),
                        width,
                    ),
                    theme.title,
                );
                let rows = self.entries.iter().map(|e| entry_row(e, width, theme)).collect();
                (vec![top, head], rows, self.selected)
            }
        };
        frame.render_widget(Paragraph::new(header), head);
        let height = list.height as usize;
        let top = scroll_top(self.top.get(), selected, height, rows.len(), false);
        self.top.set(top);
        let shown: Vec<Line> = rows
            .into_iter()
            .enumerate()
            .skip(top)
            .take(height)
            .map(|(i, l)| if i == selected { l.patch_style(theme.selection) } else { l })
            .collect();
        frame.render_widget(Paragraph::new(shown), list);
        frame.render_widget(Paragraph::new(hint_line(&hints(self.keys()), theme)), help);
    }
}

fn dir_name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `2026-11-23 03:04:05` from the manifest's RFC 3339 time.
fn when(at: Option<&str>) -> String {
    at.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.to_utc().format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "?".into())
}

fn fit(s: &str, width: usize) -> String {
    let s = one_line(s);
    if s.chars().count() <= width {
        return s.into_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn entry_row(e: &Entry, width: usize, theme: &Theme) -> Line<'static> {
    match e {
        Entry::Capture(c) => {
            let name: String = one_line(&c.name).chars().take(15).collect();
            let text = format!(
                "{:<19} {:>7} {:<15} {:<8} {:>5} {:>9}",
                when(c.captured_at.as_deref()),
                c.pid.map_or("?".into(), |p| p.to_string()),
                name,
                one_line(&c.profile),
                c.files,
                human_bytes(c.bytes)
            );
            let style = if c.problem.is_some() { theme.danger } else { theme.text };
            let mut line = Line::from(Span::styled(fit(&text, width), style));
            if let Some(p) = &c.problem {
                line.push_span(Span::styled(format!("  {}", fit(p, 60)), theme.danger));
            }
            line
        }
        Entry::File { path, bytes } => {
            let text = format!(
                "{:<19} {:>7} {:<15} {:<8} {:>5} {:>9}",
                "command output",
                "",
                fit(&dir_name(path), 15),
                "file",
                1,
                human_bytes(*bytes)
            );
            Line::styled(fit(&text, width), theme.muted)
        }
    }
}

fn file_row(f: &CheckedFile, width: usize, theme: &Theme) -> Line<'static> {
    let size = f.bytes.map_or("-".into(), human_bytes);
    let style = match f.status {
        Integrity::Ok => theme.ok,
        Integrity::Unlisted | Integrity::NotOnTimeline => theme.warn,
        _ => theme.danger,
    };
    let name = fit(&f.name, 28);
    Line::from(vec![
        Span::styled(format!("{name:<28} {size:>9}  "), theme.text),
        Span::styled(fit(&f.status.label(), width.saturating_sub(40)), style),
    ])
}
