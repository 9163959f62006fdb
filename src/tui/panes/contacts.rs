//! The contacts pane: who is on call now and next, the escalation ladder of the incident's current
//! severity with its countdown, and who holds the incident roles. Keys copy a contact (OSC 52),
//! page (after a confirm), record a contact attempt and assign a role.
//!
//! The pane is always there, so pane numbers never move: without a team file it says how to get
//! one (`warroom team init`) and picks the file up once it appears beside the config; a file with
//! problems shows them here, one line each. Rows are a pure function of the team, the incident and
//! `now` (see [`rows`]).

pub mod rows;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use self::rows::{PageMark, RoleSource, Row, best_contact, countdown, rows};
use crate::incident::sanitize::one_line;
use crate::incident::{EventKind, Role};
use crate::notify::Page;
use crate::team::{LevelState, PersonNow, Team, compact_duration};
use crate::tui::keymap::{Binding, Key, PaneCmd};
use crate::tui::pane::{Effect, IncidentData, Pane, PaneCtx, RenderCtx};
use crate::tui::popups::{Chooser, ContactForm, Popup};
use crate::tui::theme::Theme;
use crate::tui::widgets::fit;

static KEYS: &[Binding<PaneCmd>] = &[
    Binding::down(PaneCmd::Down, "next person or level"),
    Binding::up(PaneCmd::Up, "previous person or level"),
    Binding::new(&[Key::ch('c')], PaneCmd::Copy, "copy the phone number (else chat, email) to the clipboard")
        .shown("copy"),
    Binding::new(&[Key::ch('p')], PaneCmd::Page, "page the selected person or level (asks first)")
        .shown("page"),
    Binding::new(&[Key::ch('m')], PaneCmd::Contact, "record a contact attempt and its outcome")
        .shown("mark contact"),
    Binding::new(
        &[Key::ch('t')],
        PaneCmd::TakePager,
        "take the selected rotation's pager until its shift ends (you: [user] name)",
    )
    .shown("take pager"),
    Binding::new(&[Key::ch('R')], PaneCmd::AssignRole, "give the selected person an incident role")
        .shown("role"),
];

/// The team file as last read: the team, or its problems one line each.
type Loaded = Result<Team, Vec<String>>;

/// The contacts pane's state; the incident itself stays in the App's `IncidentData`.
pub struct Contacts {
    path: PathBuf,
    /// False when no team file is configured and `path` is only where `team init` would write one.
    configured: bool,
    team: Loaded,
    modified: Option<SystemTime>,
    /// Index among the selectable rows.
    selected: usize,
    /// The instant of the last draw or tick: keys act on the rows as they were shown.
    shown_at: Cell<Option<DateTime<Utc>>>,
    /// The latest event time, for keys pressed before the first draw.
    last_event: Option<DateTime<Utc>>,
    /// (severity, opened, acknowledged) of the incident, for the countdown in the title.
    ladder_key: Option<(u8, DateTime<Utc>, Option<DateTime<Utc>>)>,
}

fn read(path: &Path) -> Loaded {
    match std::fs::read_to_string(path) {
        // Problems name the file only: the heading names its directory once, so lines stay short.
        Ok(text) => crate::team::load(&text, &file_name(path))
            .map_err(|errs| errs.iter().map(|e| one_line(&e.to_string()).into_owned()).collect()),
        Err(e) => Err(vec![format!("{}: cannot read team file: {e}", path.display())]),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Contacts {
    /// Reads the team file at `path`; problems are kept to show, never fatal.
    pub fn load(path: &Path) -> Contacts {
        Contacts {
            path: path.to_path_buf(),
            configured: true,
            team: read(path),
            modified: mtime(path),
            selected: 0,
            shown_at: Cell::new(None),
            last_event: None,
            ladder_key: None,
        }
    }

    /// No team file configured: the pane explains how to get one, and watches `default` (the
    /// team.toml beside the config, where `warroom team init` writes) to load it once it appears.
    pub fn missing(default: Option<&Path>) -> Contacts {
        let path = default.map(Path::to_path_buf).unwrap_or_default();
        let mut c = Contacts::load(&path);
        c.configured = false;
        c.modified = None;
        c.team = Err(Vec::new());
        c.on_tick(DateTime::<Utc>::default());
        c
    }

    /// Whether there is no team file at all (as opposed to one with problems).
    fn absent(&self) -> bool {
        matches!(&self.team, Err(p) if p.is_empty())
    }

    pub fn team(&self) -> Option<&Team> {
        self.team.as_ref().ok()
    }

    fn now(&self) -> DateTime<Utc> {
        self.shown_at.get().or(self.last_event).unwrap_or_default()
    }

    /// The rows at `now`; a broken team file gives its problems.
    pub fn rows(&self, data: &IncidentData, now: DateTime<Utc>) -> Vec<Row> {
        match &self.team {
            Ok(team) => rows(team, data, now),
            Err(_) if self.absent() => {
                let mut v = vec![Row::Heading("No team file".into())];
                let info = [
                    "Who is on call, the escalation ladder and paging come from a team file.",
                    "Run `warroom team init` to write a starter one (you, one rotation, a ladder)",
                    "and point the config at it; it shows here as soon as it is written.",
                    "Or pass --team FILE, or set [team] file in the config. Every key:",
                    "team.example.toml.",
                ];
                v.extend(info.into_iter().map(|t| Row::Info { text: t.into(), alarm: false }));
                v
            }
            Err(problems) => {
                let dir = self.path.parent().map(|d| d.display().to_string()).unwrap_or_default();
                let mut v = vec![Row::Heading(format!("Team file problems ({}) in {dir}", problems.len()))];
                v.extend(problems.iter().map(|p| Row::Problem(p.clone())));
                v
            }
        }
    }

    /// The selected row as shown at the last draw.
    pub fn selected_row(&self, data: &IncidentData) -> Option<Row> {
        self.rows(data, self.now()).into_iter().filter(Row::selectable).nth(self.selected)
    }

    /// The team, or what to tell a responder who pressed a key that needs one.
    fn team_or_why(&self) -> Result<&Team, &'static str> {
        self.team().ok_or(if self.absent() {
            "no team file: `warroom team init` writes one"
        } else {
            "the team file has problems: fix it first (warroom team check)"
        })
    }

    fn selected_person<'a>(&'a self, ctx: &PaneCtx) -> Result<(Row, &'a crate::team::Person), String> {
        let team = self.team_or_why()?;
        let row = self.selected_row(ctx.data).ok_or("nobody is selected")?;
        let id = row.person_id().ok_or("this level reaches nobody in the team file")?;
        let person = team.person(id).ok_or_else(|| format!("{} is not in the team file", one_line(id)))?;
        Ok((row, person))
    }

    fn copy(&self, ctx: &PaneCtx) -> Effect {
        let p = match self.selected_person(ctx) {
            Ok((_, p)) => PersonNow::of(p, self.now()),
            Err(e) => return Effect::Notice(e),
        };
        match best_contact(&p) {
            Some((_, text)) => Effect::Clipboard(text.to_string()),
            None => Effect::Notice(format!("{} has no phone, chat, email or handle", one_line(&p.name))),
        }
    }

    fn page(&self, ctx: &PaneCtx) -> Effect {
        match self.selected_person(ctx) {
            Ok((row, p)) => {
                // Paging someone off shift is allowed, never by accident: the question says so.
                let now = self.now();
                let warning = match &self.team {
                    Ok(team) if row.level().is_none() => {
                        let team = crate::escalation::run::with_taken_pagers(team, &ctx.data.team_events);
                        (!team.is_on_call(&p.id, now)).then(|| {
                            let who = team.on_call_summary(now);
                            format!("{} is NOT on call now (on call: {who}).", p.name)
                        })
                    }
                    _ => None,
                };
                Effect::Page(Box::new(Page::new(&ctx.data.state, p, row.level(), None, ctx.me)), warning)
            }
            Err(e) => Effect::Notice(e),
        }
    }

    /// `t` on an on-call row: you hold that rotation's pager until its current shift ends.
    fn take_pager(&self, ctx: &PaneCtx) -> Effect {
        let team = match self.team_or_why() {
            Ok(team) => team,
            Err(why) => return Effect::Notice(why.into()),
        };
        let now = self.now();
        let rows = self.rows(ctx.data, now);
        let Some(Row::OnCall { rotation_id, .. }) = rows.iter().filter(|r| r.selectable()).nth(self.selected)
        else {
            return Effect::Notice("select a rotation under \"On call now\" to take its pager".into());
        };
        let Some(me) = team.person(ctx.me.trim()) else {
            return Effect::Notice(format!(
                "you are `{}`, not a person in the team file: set [user] name to your team file id",
                one_line(ctx.me)
            ));
        };
        let Some(r) = team.rotation(rotation_id) else { return Effect::Ignored };
        Effect::AppendTeam(EventKind::OncallTaken {
            rotation: r.id().to_string(),
            person: me.id.clone(),
            from: now,
            until: r.shift_at(now).end,
            reason: Some("taken in the cockpit".into()),
        })
    }

    fn contact(&self, ctx: &PaneCtx) -> Effect {
        match self.selected_person(ctx) {
            Ok((_, p)) => Effect::Popup(Box::new(Popup::Contact(ContactForm::new(p)))),
            Err(e) => Effect::Notice(e),
        }
    }

    fn assign_role(&self, ctx: &PaneCtx) -> Effect {
        let p = match self.selected_person(ctx) {
            Ok((_, p)) => p,
            Err(e) => return Effect::Notice(e),
        };
        let holder = |r: Role| ctx.data.state.roles.get(&r).map(|s| s.value.clone());
        let items = Role::ALL
            .iter()
            .map(|r| match holder(*r) {
                Some(h) => format!("{:<10} (now {})", r.as_str(), one_line(&h)),
                None => r.to_string(),
            })
            .collect();
        let kinds = Role::ALL.iter().map(|r| EventKind::RoleAssigned { role: *r, person: p.id.clone() });
        let title = format!("Role for {}", one_line(&p.name));
        Effect::Popup(Box::new(Popup::Record(Chooser::new(title, items, 0), kinds.collect())))
    }

    /// Lines of every row, and the line range of the selected one.
    fn lines(&self, rows: &[Row], ctx: &RenderCtx, width: usize) -> (Vec<Line<'static>>, (usize, usize)) {
        let mut out = Vec::new();
        let mut sel = (0, 0);
        let mut n = 0;
        for row in rows {
            let start = out.len();
            out.extend(row_lines(row, ctx.theme, width).into_iter().map(|l| fit(l, width)));
            if row.selectable() {
                if n == self.selected {
                    sel = (start, out.len());
                }
                n += 1;
            }
        }
        if ctx.focused {
            for l in &mut out[sel.0..sel.1] {
                *l = std::mem::take(l).patch_style(ctx.theme.selection);
            }
        }
        (out, sel)
    }
}

impl Pane for Contacts {
    fn name(&self) -> &'static str {
        "Contacts"
    }

    /// The escalation state rides in the title, so it shows on the tab bar while another pane is
    /// zoomed: `Contacts · L2 in 4:12`, `· acked`, `· ladder exhausted`.
    fn title(&self) -> String {
        match &self.team {
            Ok(team) => {
                let Some((sev, opened, acked)) = self.ladder_key else { return "Contacts".into() };
                let now = self.now();
                match team.ladder(sev, opened, acked, now) {
                    Some(l) if l.acknowledged_at.is_some() => "Contacts · acked".into(),
                    Some(l) => match (l.next, l.countdown_secs) {
                        (Some(i), Some(s)) => format!("Contacts · L{} in {}", i + 1, countdown(s)),
                        _ if now < l.exhausted_at => "Contacts · all levels paged".into(),
                        _ => "Contacts · ladder exhausted".into(),
                    },
                    None => "Contacts".into(),
                }
            }
            Err(_) if self.absent() => "Contacts · no team file".into(),
            Err(p) => {
                format!("Contacts · {} team file problem{}", p.len(), if p.len() == 1 { "" } else { "s" })
            }
        }
    }

    fn keymap(&self) -> &'static [Binding<PaneCmd>] {
        KEYS
    }

    fn command(&mut self, cmd: PaneCmd, ctx: &PaneCtx) -> Effect {
        let count = self.rows(ctx.data, self.now()).iter().filter(|r| r.selectable()).count();
        match cmd {
            PaneCmd::Down => self.selected = (self.selected + 1).min(count.saturating_sub(1)),
            PaneCmd::Up => self.selected = self.selected.saturating_sub(1),
            PaneCmd::Copy => return self.copy(ctx),
            PaneCmd::Page => return self.page(ctx),
            PaneCmd::Contact => return self.contact(ctx),
            PaneCmd::AssignRole => return self.assign_role(ctx),
            PaneCmd::TakePager => return self.take_pager(ctx),
            _ => return Effect::Ignored,
        }
        Effect::Redraw
    }

    fn sync(&mut self, data: &IncidentData) {
        self.last_event = data.events.last().map(|e| e.at);
        let st = &data.state;
        self.ladder_key =
            st.is_open().then(|| (st.severity.get(), st.opened_at, st.acknowledged.as_ref().map(|a| a.at)));
    }

    /// Re-reads the team file when it changed on disk (a fixed phone number shows up at once);
    /// redraws every second anyway, as the countdowns move.
    fn on_tick(&mut self, now: DateTime<Utc>) -> bool {
        self.shown_at.set(Some(now));
        let m = mtime(&self.path);
        if m != self.modified {
            self.modified = m;
            self.team = match m {
                // Not configured and not (or no longer) there: still nothing to show.
                None if !self.configured => Err(Vec::new()),
                _ => read(&self.path),
            };
            return true;
        }
        // Countdowns move every second; the how-to text does not.
        !self.absent()
    }

    fn render(&self, frame: &mut Frame, area: Rect, ctx: &RenderCtx) {
        self.shown_at.set(Some(ctx.now));
        let rows = self.rows(ctx.data, ctx.now);
        let (lines, (sel_start, sel_end)) = self.lines(&rows, ctx, area.width as usize);
        // Scroll just enough to keep the whole selected row in view.
        let h = area.height as usize;
        let top = if sel_end > h { (sel_end - h).min(sel_start) } else { 0 };
        frame.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), area);
    }
}

/// Sanitized `s` in exactly `width` columns: padded, or cut with a visible `…`.
fn pad(s: &str, width: usize) -> String {
    let line = fit(Line::from(one_line(s).into_owned()), width).to_string();
    let w = Line::from(line.as_str()).width();
    format!("{line}{}", " ".repeat(width.saturating_sub(w)))
}

fn person_label(p: &PersonNow) -> String {
    format!("{} ({})", one_line(&p.name), one_line(&p.id))
}

fn local_time(p: &PersonNow) -> String {
    format!("{} {}", p.local_time.format("%a %H:%M"), one_line(&p.zone))
}

fn contacts_line(p: &PersonNow) -> String {
    let all = [&p.phone, &p.chat, &p.email, &p.handle];
    all.iter().filter_map(|v| v.as_deref()).map(|v| one_line(v).into_owned()).collect::<Vec<_>>().join(" · ")
}

/// One row as one or more lines.
fn row_lines(row: &Row, t: &Theme, width: usize) -> Vec<Line<'static>> {
    match row {
        Row::Heading(h) => vec![Line::styled(one_line(h).into_owned(), t.title.add_modifier(Modifier::BOLD))],
        Row::OnCall { .. } => on_call_lines(row, t),
        Row::Level { .. } => vec![level_line(row, t)],
        Row::Role { role, person_id, person, source } => {
            let who = person
                .as_ref()
                .map_or_else(|| format!("{} (not in team file)", one_line(person_id)), person_label);
            let why = match source {
                RoleSource::Assigned(by) => format!("assigned by {}", one_line(by)),
                RoleSource::Default => "team default".into(),
            };
            vec![Line::from(vec![
                Span::styled(format!("  {:<10} ", role.as_str()), t.key),
                Span::styled(format!("{} ", pad(&who, 28)), t.text),
                Span::styled(why, t.muted),
            ])]
        }
        Row::Info { text, alarm } => {
            vec![Line::styled(format!("  {}", one_line(text)), if *alarm { t.danger } else { t.muted })]
        }
        Row::Problem(p) => wrap(&one_line(p), width.saturating_sub(4).max(10))
            .into_iter()
            .enumerate()
            .map(|(i, part)| Line::styled(format!("{}{part}", if i == 0 { "  " } else { "    " }), t.danger))
            .collect(),
    }
}

/// `s` in pieces of at most `width` chars (a problem must be read whole, not cut).
fn wrap(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

fn on_call_lines(row: &Row, t: &Theme) -> Vec<Line<'static>> {
    let Row::OnCall { rotation, person, override_reason, next, .. } = row else { return Vec::new() };
    let mut first = vec![
        Span::styled(format!("  {} ", pad(rotation, 24)), t.text),
        Span::styled(format!("{} ", pad(&person_label(person), 22)), t.author.add_modifier(Modifier::BOLD)),
        Span::styled(local_time(person), t.time),
    ];
    if let Some(reason) = override_reason {
        let why = if reason.is_empty() { String::new() } else { format!(": {}", one_line(reason)) };
        first.push(Span::styled(format!("  override{why}"), t.warn));
    }
    let mut lines = vec![Line::from(first), Line::styled(format!("    {}", contacts_line(person)), t.text)];
    if let Some(n) = next {
        lines.push(Line::styled(
            format!(
                "    next {} at {} {} (in {})",
                person_label(&n.person),
                n.at_local.format("%a %d %b %H:%M"),
                one_line(&n.zone),
                compact_duration(n.wait)
            ),
            t.muted,
        ));
    }
    lines
}

fn level_line(row: &Row, t: &Theme) -> Line<'static> {
    let Row::Level { level, target, offset, person, state, countdown: cd, paged } = row else {
        return Line::default();
    };
    let who = person.as_ref().map_or_else(|| "nobody".to_string(), |p| one_line(&p.name).into_owned());
    let (mut state_text, mut style): (String, Style) = match (state, cd) {
        (LevelState::Fired, _) => ("fired".into(), t.warn),
        (LevelState::Pending, Some(s)) => {
            (format!("next in {}", countdown(*s)), t.warn.add_modifier(Modifier::BOLD))
        }
        (LevelState::Pending, None) => ("pending".into(), t.muted),
        (LevelState::Cancelled, _) => ("cancelled".into(), t.muted),
    };
    // Whether a page went out for the level, early or late: a fired level nobody paged stands out.
    match (paged, state) {
        (Some(PageMark::Delivered), _) => {
            state_text.push_str(" · paged");
            style = t.ok;
        }
        (Some(PageMark::Failed), _) => {
            state_text.push_str(" · page FAILED");
            style = t.danger;
        }
        (None, LevelState::Fired) => state_text.push_str(" · not paged"),
        (None, _) => {}
    }
    Line::from(vec![
        Span::styled(format!("  {level}. "), t.key),
        Span::styled(format!("+{:<5} ", compact_duration(*offset)), t.time),
        Span::styled(format!("{} ", pad(target, 20)), t.text),
        Span::styled(format!("→ {} ", pad(&who, 16)), t.author),
        Span::styled(state_text, style),
    ])
}
