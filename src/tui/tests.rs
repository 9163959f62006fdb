//! Headless App tests (key sequences → state, against a real SQLite store in a tempdir) and
//! whole-screen snapshots on ratatui's TestBackend.

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::style::{Color, Modifier, Style};

use super::app::{Action, App, AppOptions};
use super::fixture;
use super::keymap::{Binding, Key, PaneCmd};
use super::pane::{Effect, IncidentData, Pane, PaneCtx, RenderCtx};
use super::popups::{Choice, Popup, Question};
use super::render::render;
use super::theme::Theme;
use crate::incident::{EventKind, Status, Tag};
use crate::store::Store;

pub(super) const ME: &str = "ana@db-01";

pub(super) fn now() -> DateTime<Utc> {
    fixture::opened_at() + Duration::minutes(47) + Duration::seconds(12)
}

pub(super) struct Harness {
    pub(super) app: App,
    pub(super) dir: tempfile::TempDir,
}

pub(super) fn options(theme: &str, incident: Option<uuid::Uuid>) -> AppOptions {
    AppOptions {
        me: ME.into(),
        theme: Theme::load(theme, None, false).unwrap(),
        local: chrono_tz::Europe::Berlin,
        local_time: false,
        incident,
        size: (80, 24),
        procs: Default::default(),
        team: None,
        team_default: None,
        notifier: None,
        runbooks: builtin_runbooks(),
    }
}

/// The runbooks shipped in the binary, plus one problem line, as the TUI would load them.
fn builtin_runbooks() -> super::panes::runbook::RunbookOptions {
    let catalog = crate::runbook::catalog(crate::catalog::BUILTIN.iter().copied());
    super::panes::runbook::RunbookOptions {
        books: catalog.books,
        problems: vec![
            "/etc/warroom/runbooks/broken.md:2: malformed front matter: expected `key: value`".into(),
        ],
        ..Default::default()
    }
}

/// An App on the sample SEV1 incident.
pub(super) fn sample(theme: &str) -> Harness {
    sample_with(theme, |_| {})
}

/// An App on the sample SEV1 incident in a fresh data dir, its options first changed by `o`.
pub(super) fn sample_with(theme: &str, o: impl FnOnce(&mut AppOptions)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let events = fixture::sev1_incident();
    store.append_all(&events, None).unwrap();
    let mut opts = options(theme, Some(events[0].incident));
    o(&mut opts);
    Harness { app: App::new(store, opts).unwrap(), dir }
}

/// An executor for the App's queued commands, as the event loop has one (copies go nowhere).
pub(super) fn effects(config: crate::config::Config) -> super::Effects {
    super::Effects::new(crate::sync::ServerSettings::from_config(&config), Box::new(std::io::sink()))
}

impl Harness {
    /// The OSC 52 sequence the App last queued for the terminal, if any.
    pub(super) fn copied(&self) -> Option<String> {
        self.app.queue.iter().rev().find_map(|c| match c {
            super::Command::Copy(seq) => Some(seq.clone()),
            _ => None,
        })
    }
    pub(super) fn key(&mut self, code: KeyCode) -> &mut Self {
        self.key_mod(code, KeyModifiers::NONE)
    }
    pub(super) fn key_mod(&mut self, code: KeyCode, mods: KeyModifiers) -> &mut Self {
        self.app.update(Action::Key(KeyEvent::new(code, mods)), now());
        self
    }
    pub(super) fn chars(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }
    pub(super) fn stored(&self) -> Vec<crate::incident::Event> {
        let id = self.app.incident().unwrap();
        Store::open(self.dir.path()).unwrap().events(id).unwrap()
    }
    pub(super) fn screen(&self, w: u16, h: u16) -> Buffer {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| render(&self.app, f, now())).unwrap();
        term.backend().buffer().clone()
    }
    pub(super) fn text(&self, w: u16, h: u16) -> String {
        buffer_text(&self.screen(w, h))
    }
    fn title(&self) -> String {
        self.app.panes[0].title()
    }
}

pub(super) fn buffer_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The screen's text, then every styled run per row: what the eye sees, colours included.
pub(super) fn buffer_with_styles(buf: &Buffer) -> String {
    let mut out = buffer_text(buf);
    out.push_str("\n--- styles (row: cols fg/bg/modifiers) ---\n");
    let fmt = |s: Style| {
        let c = |c: Option<Color>| c.map_or("-".to_string(), |c| format!("{c}"));
        let m = if s.add_modifier.is_empty() { String::new() } else { format!(" {:?}", s.add_modifier) };
        format!("{}/{}{m}", c(s.fg), c(s.bg))
    };
    for y in 0..buf.area.height {
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let st = Style::default().fg(cell.fg).bg(cell.bg).add_modifier(cell.modifier);
            let st = Style {
                fg: st.fg.filter(|c| *c != Color::Reset),
                bg: st.bg.filter(|c| *c != Color::Reset),
                ..st
            };
            if st.fg.is_none() && st.bg.is_none() && st.add_modifier == Modifier::empty() {
                continue;
            }
            let f = fmt(st);
            match runs.last_mut() {
                Some((_, end, g)) if *end + 1 == x && *g == f => *end = x,
                _ => runs.push((x, x, f)),
            }
        }
        if !runs.is_empty() {
            let r: Vec<String> = runs.iter().map(|(a, b, f)| format!("{a}-{b} {f}")).collect();
            out.push_str(&format!("{y:>2}: {}\n", r.join(", ")));
        }
    }
    out
}

#[test]
fn snapshot_main_screen_80x24_default() {
    let h = sample("default");
    insta::assert_snapshot!(buffer_with_styles(&h.screen(80, 24)));
}

#[test]
fn snapshot_main_screen_200x50_default() {
    let h = sample("default");
    insta::assert_snapshot!(buffer_with_styles(&h.screen(200, 50)));
}

#[test]
fn snapshot_main_screen_80x24_16_colour() {
    let h = sample("16-colour");
    insta::assert_snapshot!(buffer_with_styles(&h.screen(80, 24)));
}

#[test]
fn snapshot_main_screen_200x50_16_colour() {
    let h = sample("16-colour");
    insta::assert_snapshot!(buffer_with_styles(&h.screen(200, 50)));
}

#[test]
fn snapshot_composer_and_start_popup() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n')).chars("db-2 disk at 97%").key(KeyCode::Tab);
    insta::assert_snapshot!("composer", h.text(80, 24));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut old = fixture::sev1_incident();
    old.push(crate::incident::Event::new(
        old[0].incident,
        now(),
        ME,
        EventKind::StatusSet { status: Status::Resolved },
    ));
    store.append_all(&old, None).unwrap();
    let app = App::new(store, options("default", None)).unwrap();
    let s = Harness { app, dir };
    insta::assert_snapshot!("start_popup", s.text(80, 24));
}

#[test]
fn every_line_drawn_is_free_of_control_characters() {
    let mut h = sample("default");
    h.app
        .append(EventKind::Note { text: "a\x1b]0;pwned\x07b\x1b[2Jc\rd\x07".into(), tag: Tag::Note }, now())
        .unwrap();
    let text = h.text(200, 50);
    assert!(text.contains("abcd"), "{text}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn tiny_terminal_gets_a_message_not_a_crash() {
    let h = sample("default");
    let text = h.text(50, 12);
    assert!(text.contains("Terminal too small: 50x12"), "{text}");
    assert!(text.contains("60x16"));
    let text = h.text(20, 3);
    assert!(text.contains("Terminal too"), "{text}");
}

#[test]
fn header_shows_sev_status_elapsed_and_ack() {
    let h = sample("default");
    let text = h.text(120, 24);
    let header = text.lines().next().unwrap();
    assert!(header.contains("SEV2"), "{header}");
    assert!(header.contains("Checkout API returning 500s"), "{header}");
    assert!(header.contains("monitoring"), "{header}");
    assert!(header.contains("open 47m"), "{header}");
    assert!(header.contains("acked by ana@db-01"), "{header}");
}

#[test]
fn composer_saves_to_the_store_before_closing() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n'));
    assert!(h.app.composer.open);
    h.chars("db-2 disk at 97%").key(KeyCode::Tab);
    assert_eq!(h.app.composer.tag, Tag::Finding);
    h.key_mod(KeyCode::Enter, KeyModifiers::ALT).chars("second line");
    h.key(KeyCode::Enter);
    assert!(!h.app.composer.open);
    assert!(!h.app.composer.has_draft());
    let last = h.stored().into_iter().last().unwrap();
    assert_eq!(
        last.kind,
        EventKind::Note { text: "db-2 disk at 97%\nsecond line".into(), tag: Tag::Finding }
    );
    assert_eq!(last.author, ME);
    assert_eq!(last.at, now());
    // and it is on screen
    assert!(h.text(80, 24).contains("db-2 disk at 97% ⏎ second line"));
}

#[test]
fn esc_closes_the_composer_and_keeps_the_draft() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n')).chars("half a thought").key(KeyCode::Esc);
    assert!(!h.app.composer.open);
    assert_eq!(h.app.composer.text(), "half a thought");
    // keys go to the panes again, not into the draft
    h.key(KeyCode::Char('k'));
    assert_eq!(h.app.composer.text(), "half a thought");
    h.key(KeyCode::Char('n')).chars(", finished");
    assert!(h.app.composer.open);
    assert_eq!(h.app.composer.text(), "half a thought, finished");
    let before = h.stored().len();
    h.key(KeyCode::Enter);
    assert_eq!(h.stored().len(), before + 1);
}

#[test]
fn empty_note_is_refused_with_a_message() {
    let mut h = sample("default");
    let before = h.stored().len();
    h.key(KeyCode::Char('n')).chars("   ").key(KeyCode::Enter);
    assert!(h.app.composer.open);
    assert!(h.app.composer.error.as_deref().unwrap().contains("empty"));
    assert_eq!(h.stored().len(), before);
}

#[test]
fn store_error_keeps_the_composer_open_with_the_error() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n')).chars("this must not be lost");
    // Another connection breaks the store under us.
    let conn = rusqlite::Connection::open(h.dir.path().join(crate::store::DB_FILE)).unwrap();
    conn.execute_batch("DROP TABLE events").unwrap();
    h.key(KeyCode::Enter);
    assert!(h.app.composer.open);
    assert_eq!(h.app.composer.text(), "this must not be lost");
    let err = h.app.composer.error.clone().unwrap();
    assert!(err.starts_with("not saved:"), "{err}");
    assert!(h.text(80, 24).contains("not saved"));
}

#[test]
fn quit_asks_only_when_a_draft_is_unsaved() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n')).chars("draft").key(KeyCode::Esc).key(KeyCode::Char('q'));
    assert!(!h.app.quit);
    assert!(matches!(h.app.popups.last(), Some(Popup::Confirm(Question::QuitWithDraft, _))));
    h.key(KeyCode::Char('n'));
    assert!(h.app.popups.is_empty() && !h.app.quit);
    assert_eq!(h.app.composer.text(), "draft");
    h.key(KeyCode::Char('q')).key(KeyCode::Char('y'));
    assert!(h.app.quit);

    let mut clean = sample("default");
    clean.key(KeyCode::Char('q'));
    assert!(clean.app.quit);
    let mut ctrl_c = sample("default");
    ctrl_c.key_mod(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(ctrl_c.app.quit);
}

#[test]
fn a_draft_survives_a_hangup() {
    let mut h = sample("default");
    h.key(KeyCode::Char('n')).chars("typed before the ssh drop");
    h.app.update(Action::Terminate, now());
    assert!(h.app.quit);
    let store = Store::open(h.dir.path()).unwrap();
    let again = App::new(store, options("default", h.app.incident())).unwrap();
    assert_eq!(again.composer.text(), "typed before the ssh drop");
    assert!(!again.composer.open);
    // Typing continues it, after its last character; saved once, it is not offered again.
    let mut h2 = Harness { app: again, dir: h.dir };
    h2.key(KeyCode::Char('n')).chars(", and after");
    assert_eq!(h2.app.composer.text(), "typed before the ssh drop, and after");
    h2.key(KeyCode::Enter);
    assert!(!h2.app.composer.open);
    h2.key(KeyCode::Char('q'));
    assert!(h2.app.quit);
    let third = App::new(Store::open(h2.dir.path()).unwrap(), options("default", h2.app.incident())).unwrap();
    assert!(!third.composer.has_draft());
}

#[test]
fn text_and_tag_filters() {
    let mut h = sample("default");
    let total = h.stored().len();
    h.key(KeyCode::Char('/')).chars("report-worker");
    assert!(h.app.panes[0].capturing());
    // while typing, keys are the filter's: `q` does not quit
    h.chars("q").key(KeyCode::Backspace).key(KeyCode::Enter);
    assert!(!h.app.panes[0].capturing() && !h.app.quit);
    let title = h.title();
    assert!(title.contains("/report-worker"), "{title}");
    let shown: usize = title.rsplit(" · ").next().unwrap().split('/').next().unwrap().parse().unwrap();
    assert!((3..total).contains(&shown), "{title}");
    // Esc in the filter clears it
    h.key(KeyCode::Char('/')).key(KeyCode::Esc);
    assert!(!h.title().contains('/'), "{}", h.title());
    // tag filter cycles note → finding → … → off
    h.key(KeyCode::Char('t'));
    assert!(h.title().contains("tag:note"));
    h.key(KeyCode::Char('t'));
    assert!(h.title().contains("tag:finding · 4/"), "{}", h.title());
    let text = h.text(200, 50);
    assert!(text.contains("498 of 500 connections") && !text.contains("opened:"), "{text}");
    for _ in 0..4 {
        h.key(KeyCode::Char('t'));
    }
    assert!(!h.title().contains("tag:"), "{}", h.title());
}

#[test]
fn severity_status_and_ack_popups_write_events() {
    let mut h = sample("default");
    h.key(KeyCode::Char('S'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Choose(Choice::Severity, _))));
    h.key(KeyCode::Up).key(KeyCode::Enter);
    assert!(h.app.popups.is_empty());
    assert_eq!(h.app.data.as_ref().unwrap().state.severity.get(), 1);

    h.key(KeyCode::Char('s')).key(KeyCode::Char('4'));
    // Resolving asks for the one-line resolution first.
    assert!(matches!(h.app.popups.last(), Some(Popup::Resolve(_))));
    h.chars("restarted pay-svc").key(KeyCode::Enter);
    assert_eq!(h.app.data.as_ref().unwrap().state.status, Status::Resolved);
    assert!(h.text(120, 24).lines().next().unwrap().contains("resolved after 47m"));

    let before = h.stored().len();
    h.key(KeyCode::Char('a'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Confirm(Question::Ack, _))));
    h.key(KeyCode::Esc);
    assert_eq!(h.stored().len(), before);
    let acks = |h: &Harness| h.stored().iter().filter(|e| e.kind == EventKind::Acknowledged {}).count();
    let acked = acks(&h);
    h.key(KeyCode::Char('a')).key(KeyCode::Char('y'));
    assert_eq!(h.stored().len(), before + 1);
    assert_eq!(acks(&h), acked + 1);
}

#[test]
fn enter_shows_details_and_help_lists_every_key() {
    let mut h = sample("default");
    h.key(KeyCode::Char('g')).key(KeyCode::Enter);
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no detail popup") };
    let text: Vec<String> = v.lines.iter().map(|l| l.to_string()).collect();
    assert!(text.iter().any(|l| l.contains("Error rate on /checkout")), "{text:?}");
    h.key(KeyCode::Esc).key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no help") };
    let help: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    assert!(help.contains("focus pane 4"), "four panes, always: 4 is the process pane");
    let descs = super::keymap::GLOBAL
        .iter()
        .filter(|b| !matches!(b.cmd, super::keymap::GlobalCmd::Focus(i) if i > 2))
        .map(|b| b.desc)
        .chain(h.app.panes[0].keymap().iter().map(|b| b.desc))
        .chain(super::popups::composer::KEYS.iter().map(|b| b.desc));
    for d in descs {
        assert!(help.contains(d), "help lacks `{d}`");
    }
}

#[test]
fn movement_follow_and_scroll() {
    let mut h = sample("default");
    let _ = h.screen(80, 24);
    h.key(KeyCode::Char('g'));
    assert!(h.text(80, 24).contains("opened: Checkout"));
    h.key(KeyCode::PageDown).key(KeyCode::Char('j')).key(KeyCode::Down);
    // a write from elsewhere does not yank the view while scrolled up
    h.app.append(EventKind::Note { text: "newest".into(), tag: Tag::Note }, now()).unwrap();
    assert!(!h.text(80, 24).contains("newest"));
    h.key(KeyCode::Char('G'));
    assert!(h.text(80, 24).contains("newest"));
    h.app.append(EventKind::Note { text: "even newer".into(), tag: Tag::Note }, now()).unwrap();
    assert!(h.text(80, 24).contains("even newer"));
}

#[test]
fn amend_your_own_note_but_not_others() {
    let mut h = sample("default");
    h.key(KeyCode::Char('/')).chars("Keep report-worker off").key(KeyCode::Enter);
    h.key(KeyCode::Char('e'));
    assert!(h.app.composer.open);
    assert!(h.app.composer.amend.is_some());
    h.chars(" (ticket OPS-7)").key(KeyCode::Enter).key(KeyCode::Char('z'));
    let last = h.stored().into_iter().last().unwrap();
    let EventKind::Amended { text, .. } = last.kind else { panic!("{last:?}") };
    assert_eq!(text, "Keep report-worker off until the pool limit has a guard (ticket OPS-7)");
    assert!(h.text(200, 50).contains("(ticket OPS-7) (edited)"));

    h.key(KeyCode::Char('/')).key(KeyCode::Esc);
    h.key(KeyCode::Char('/')).chars("sorry, was driving").key(KeyCode::Enter).key(KeyCode::Char('e'));
    assert!(!h.app.composer.open);
    assert!(h.app.notice.as_ref().unwrap().0.contains("only amend your own"));
}

#[test]
fn start_popup_opens_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let app = App::new(store, options("default", None)).unwrap();
    let mut h = Harness { app, dir };
    assert!(matches!(h.app.popups.last(), Some(Popup::Start(_))));
    h.key(KeyCode::Enter);
    assert!(h.app.incident().is_none(), "an empty title is refused");
    h.chars("Queue backlog").key(KeyCode::Tab).key(KeyCode::Char('1')).key(KeyCode::Enter);
    assert!(h.app.popups.is_empty());
    let st = &h.app.data.as_ref().unwrap().state;
    assert_eq!((st.title.as_str(), st.severity.get()), ("Queue backlog", 1));
    let store = Store::open(h.dir.path()).unwrap();
    assert_eq!(store.resolve_incident(None).unwrap(), st.id);
}

#[test]
fn typing_on_the_severity_row_goes_to_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Store::open(dir.path()).unwrap(), options("default", None)).unwrap();
    let mut h = Harness { app, dir };
    // Tab first (a habit from other forms): the title is still typed, not swallowed.
    h.key(KeyCode::Tab).chars("db down").key(KeyCode::Enter);
    assert!(h.app.popups.is_empty(), "opened");
    assert_eq!(h.app.data.as_ref().unwrap().state.title, "db down");
}

#[test]
fn start_popup_esc_quits() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Store::open(dir.path()).unwrap(), options("default", None)).unwrap();
    let mut h = Harness { app, dir };
    h.key(KeyCode::Char('q'));
    assert!(!h.app.quit, "q is typed into the title");
    h.key(KeyCode::Esc);
    assert!(h.app.quit);
}

#[test]
fn other_processes_writes_appear_on_poll() {
    let mut h = sample("default");
    let other = Store::open(h.dir.path()).unwrap();
    let id = h.app.incident().unwrap();
    other
        .append(&crate::incident::Event::new(
            id,
            now(),
            "bo@home",
            EventKind::Note { text: "from another terminal".into(), tag: Tag::Note },
        ))
        .unwrap();
    assert!(!h.text(80, 24).contains("from another terminal"));
    h.app.update(Action::PollStore, now());
    assert!(h.app.dirty);
    assert!(h.text(80, 24).contains("from another terminal"));
}

#[test]
fn a_very_long_note_does_not_leave_the_timeline_blank_below_a_short_tail() {
    let mut h = sample("default");
    let other = Store::open(h.dir.path()).unwrap();
    let id = h.app.incident().unwrap();
    let note = |s: i64, text: String| {
        let at = now() + Duration::seconds(s);
        crate::incident::Event::new(id, at, "bo@home", EventKind::Note { text, tag: Tag::Note })
    };
    other.append(&note(1, format!("LONG{}END", "x".repeat(5000)))).unwrap();
    for i in 0..3 {
        other.append(&note(2 + i, format!("short note {i}"))).unwrap();
    }
    h.app.update(Action::PollStore, now());
    h.key(KeyCode::Char('G'));
    let text = h.text(80, 24);
    let rows: Vec<&str> = text.lines().collect();
    // The pane's inside: below its top border, above its bottom border and the footer.
    let inside = &rows[3..rows.len() - 2];
    let blank = inside.iter().filter(|l| l.trim_matches(|c| c == '│' || c == ' ').is_empty()).count();
    assert_eq!(blank, 0, "{text}");
    // The long note's end fills the top; the tail is under it, whole.
    assert!(inside[0].contains("xxxx") && text.contains("xxxxEND"), "{text}");
    assert!(text.contains("short note 2"), "{text}");
    let wide = h.text(200, 50);
    assert!(wide.contains("xxxxEND") && wide.contains("short note 2"), "{wide}");
}

#[test]
fn a_long_notice_grows_upward_instead_of_losing_its_end() {
    let mut h = sample("default");
    let msg = "cannot page: no paging channel configured: set [paging] webhook_url or pagerduty_routing_key in ~/.config/warroom/config.toml";
    h.app.notice = Some((msg.into(), true));
    let text = h.text(80, 24);
    let rows: Vec<&str> = text.lines().collect();
    // Two rows at the bottom hold it whole, in order.
    let shown = format!("{} {}", rows[22].trim(), rows[23].trim());
    assert_eq!(shown, msg, "{text}");
    // Far too long: 4 rows, and the last says it was cut.
    h.app.notice = Some((format!("{msg} {}", "word ".repeat(100)), true));
    let text = h.text(80, 24);
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[20].starts_with(" cannot page"), "{text}");
    assert!(rows[23].trim_end().ends_with('…'), "{text}");
    // A short one stays on the footer row.
    h.app.notice = Some(("saved".into(), false));
    let text = h.text(80, 24);
    assert_eq!(text.lines().nth(23).unwrap().trim(), "saved", "{text}");
    assert!(text.lines().nth(22).unwrap().starts_with('└'), "{text}");
}

#[test]
fn key_release_and_repeat_are_ignored() {
    let mut h = sample("default");
    let mut ev = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    ev.kind = KeyEventKind::Release;
    h.app.update(Action::Key(ev), now());
    assert!(!h.app.quit);
}

/// A second pane, to test focus and layout with several panes (the real ones come later).
struct Dummy(&'static str);
impl Pane for Dummy {
    fn name(&self) -> &'static str {
        self.0
    }
    fn title(&self) -> String {
        self.0.into()
    }
    fn keymap(&self) -> &'static [Binding<PaneCmd>] {
        static K: &[Binding<PaneCmd>] =
            &[Binding::new(&[Key::ch('j')], PaneCmd::Down, "dummy down").shown("down")];
        K
    }
    fn command(&mut self, _: PaneCmd, _: &PaneCtx) -> Effect {
        Effect::Redraw
    }
    fn sync(&mut self, _: &IncidentData) {}
    fn render(&self, f: &mut ratatui::Frame, area: ratatui::layout::Rect, ctx: &RenderCtx) {
        f.render_widget(
            ratatui::widgets::Paragraph::new(format!("{} focused={}", self.0, ctx.focused)),
            area,
        );
    }
}

#[test]
fn focus_zoom_and_layout_with_several_panes() {
    let mut h = sample("default");
    // Layout mechanics with stand-in panes: start from the timeline alone.
    h.app.panes.truncate(1);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.focus, 0, "one pane: nothing to move to");
    h.app.panes.push(Box::new(Dummy("Procs")));
    h.app.panes.push(Box::new(Dummy("Contacts")));
    h.key(KeyCode::Tab);
    assert_eq!(h.app.focus, 1);
    h.key(KeyCode::BackTab).key(KeyCode::BackTab);
    assert_eq!(h.app.focus, 2);
    h.key(KeyCode::Char('1'));
    assert_eq!(h.app.focus, 0);
    h.key(KeyCode::Char('4'));
    assert_eq!(h.app.focus, 0, "no fourth pane");

    // 200x50: grid of all three; 80x24: the focused one with a tab bar.
    let big = h.text(200, 50);
    assert!(big.contains("2 Procs") && big.contains("3 Contacts") && big.contains("1 Timeline"), "{big}");
    let small = h.text(80, 24);
    assert!(small.contains(" 1 Timeline") && small.contains(" 2 Procs "), "{small}");
    assert!(!small.contains("focused="), "{small}");
    h.key(KeyCode::Char('z'));
    assert!(h.app.zoomed);
    let zoomed = h.text(200, 50);
    assert!(!zoomed.contains("focused="), "zoomed shows only the timeline");
    h.key(KeyCode::Char('z'));

    // the footer follows focus: the dummy's hint appears when it is focused
    h.key(KeyCode::Char('2'));
    let footer = h.text(200, 50).lines().last().unwrap().to_string();
    assert!(footer.contains("j down") && !footer.contains("filter"), "{footer}");

    // click to focus at 200x50: the bottom-left cell is pane 3
    h.app.update(Action::Resize(200, 50), now());
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 40,
        modifiers: KeyModifiers::NONE,
    };
    h.app.update(Action::Mouse(click), now());
    assert_eq!(h.app.focus, 2);
}

#[test]
fn mouse_wheel_scrolls_the_timeline() {
    let mut h = sample("default");
    let _ = h.screen(80, 24);
    let wheel = |kind| MouseEvent { kind, column: 10, row: 10, modifiers: KeyModifiers::NONE };
    h.app.update(Action::Mouse(wheel(MouseEventKind::ScrollUp)), now());
    h.app.update(Action::Mouse(wheel(MouseEventKind::ScrollUp)), now());
    h.app.append(EventKind::Note { text: "tail note".into(), tag: Tag::Note }, now()).unwrap();
    let _ = h.screen(80, 24);
    let text = h.text(80, 24);
    assert!(!text.contains("tail note"), "scrolled up: the tail is off screen\n{text}");
}

#[test]
fn time_toggle_shows_local_zone() {
    let mut h = sample("default");
    assert!(h.text(80, 24).contains("03:25:00"));
    h.key(KeyCode::Char('T'));
    let text = h.text(80, 24);
    assert!(text.contains("Timeline · Europe/Berlin") && text.contains("04:25:00"), "{text}");
}

#[test]
fn no_color_still_marks_focus_and_sev() {
    let mut h = sample("default");
    h.app.theme = Theme::monochrome();
    let buf = h.screen(80, 24);
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert!(c.fg == Color::Reset && c.bg == Color::Reset, "colour at {x},{y}");
        }
    }
    assert!(buf[(1, 0)].modifier.contains(Modifier::REVERSED), "SEV badge reversed");
    assert!(buf[(0, 1)].modifier.contains(Modifier::BOLD), "focused border bold");
}

// ---- sync in the header -------------------------------------------------------------------

fn header_row(buf: &Buffer) -> Buffer {
    let w = buf.area.width;
    let mut row = Buffer::empty(ratatui::layout::Rect::new(0, 0, w, 1));
    for x in 0..w {
        row[(x, 0)] = buf[(x, 0)].clone();
    }
    row
}

/// The header in the three everyday sync states, with another responder viewing.
fn sync_headers(w: u16, h: u16) -> String {
    use crate::sync::{Link, SyncStatus};
    let mut harness = sample("default");
    let viewers = vec!["ana".to_string(), "bo@db-02".to_string()];
    let heard = Some(now() - Duration::seconds(2));
    let every = std::time::Duration::from_secs(5);
    let states = [
        (
            "synced",
            SyncStatus {
                link: Link::Online,
                viewers: viewers.clone(),
                confirmed_at: heard,
                every,
                ..Default::default()
            },
        ),
        (
            "pending",
            SyncStatus {
                link: Link::Online,
                pending: 3,
                viewers: viewers.clone(),
                confirmed_at: heard,
                every,
                ..Default::default()
            },
        ),
        (
            "stale",
            SyncStatus {
                link: Link::Online,
                viewers: viewers.clone(),
                confirmed_at: Some(now() - Duration::seconds(12)),
                every,
                ..Default::default()
            },
        ),
        (
            "offline",
            SyncStatus {
                link: Link::Offline { since: now() - Duration::minutes(4) },
                pending: 2,
                ..Default::default()
            },
        ),
    ];
    let mut out = String::new();
    for (name, st) in states {
        harness.app.update(Action::Sync(st), now());
        out.push_str(&format!("=== {name} ===\n"));
        out.push_str(&buffer_with_styles(&header_row(&harness.screen(w, h))));
    }
    out
}

#[test]
fn snapshot_sync_header_80x24() {
    let text = sync_headers(80, 24);
    assert!(text.contains("synced") && text.contains("3 pending") && text.contains("offline 4m, 2 pending"));
    assert!(text.contains("stale 12s"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_sync_header_200x50() {
    let text = sync_headers(200, 50);
    // Room for everything: the full title, the viewer (not me, though the server named me `ana`).
    assert!(text.contains("Checkout API returning 500s") && text.contains("with bo@db-02"), "{text}");
    assert!(!text.contains("with ana"), "{text}");
    insta::assert_snapshot!(text);
}

/// At 80 columns the header has no room for who else is here: the tab bar shows it instead.
#[test]
fn presence_is_visible_at_80_columns() {
    use crate::sync::{Link, SyncStatus};
    let mut h = sample("default");
    let st = SyncStatus {
        link: Link::Online,
        viewers: vec!["ana".into(), "bo@vm".into()],
        confirmed_at: Some(now()),
        every: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    h.app.update(Action::Sync(st), now());
    let text = h.text(80, 24);
    assert!(text.contains("with bo@vm"), "{text}");
    assert!(!text.contains("with ana"), "{text}");
    assert_eq!(text.matches("bo@vm").count(), 1, "shown once: {text}");
}

/// The reconnect key queues `Command::Reconnect` for the sync task, and says so; without a server
/// it says there is nothing to reconnect.
#[test]
fn ctrl_r_asks_for_a_reconnect() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut h = sample("default");
    let ctrl_r = Action::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    h.app.update(ctrl_r.clone(), now());
    let reconnects = |h: &Harness| {
        h.app.queue.iter().filter(|c| matches!(c, crate::tui::queue::Command::Reconnect)).count()
    };
    assert_eq!(reconnects(&h), 0);
    assert!(h.app.notice.as_ref().is_some_and(|(m, err)| m.contains("no server") && *err));
    h.app.update(Action::Sync(crate::sync::SyncStatus::default()), now());
    h.app.update(ctrl_r, now());
    assert_eq!(reconnects(&h), 1);
    assert!(h.text(120, 30).contains("reconnecting"));
    h.app.update(Action::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)), now());
    assert!(h.text(120, 40).contains("reconnect to the server now"), "listed in ? help");
}

#[test]
fn local_only_header_shows_no_sync_state() {
    let h = sample("default");
    assert!(h.app.sync.is_none());
    let top = h.text(200, 50).lines().next().unwrap().to_string();
    for word in ["synced", "local", "pending", "offline", "connecting"] {
        assert!(!top.contains(word), "{top}");
    }
}

#[test]
fn auth_failure_is_drawn_in_the_danger_colour() {
    let mut h = sample("default");
    let st = crate::sync::SyncStatus { link: crate::sync::Link::AuthFailed, ..Default::default() };
    h.app.update(Action::Sync(st), now());
    let buf = h.screen(120, 30);
    let top = buffer_text(&header_row(&buf));
    let x = top.find("auth failed").expect("auth failed in the header") as u16;
    assert_eq!(buf[(x, 0)].fg, h.app.theme.danger.fg.unwrap());
}

#[test]
fn others_leaves_out_me_and_duplicates() {
    use super::render::others;
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        others(&v(&["ana", "ana@db-01", "bo", "bo", " ", "cy\x1b[2J"]), "ana@db-01"),
        v(&["bo", "cy"])
    );
    assert!(others(&[], "ana").is_empty());
}

#[test]
fn every_write_is_counted_for_the_sync_nudge() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Store::open(dir.path()).unwrap(), options("default", None)).unwrap();
    let mut h = Harness { app, dir };
    assert_eq!(h.app.appended, 0);
    h.chars("Queue backlog").key(KeyCode::Tab).key(KeyCode::Char('2')).key(KeyCode::Enter);
    assert_eq!(h.app.appended, 1, "the opened event from the start popup");
    h.key(KeyCode::Char('n')).chars("consumer lag 4m").key(KeyCode::Enter);
    h.key(KeyCode::Char('a')).key(KeyCode::Enter);
    let stored = h.stored().len() as u64;
    assert_eq!(h.app.appended, stored, "every stored event was counted");
    assert!(stored >= 3, "note and ack were written: {stored}");
}

#[test]
fn arrived_reloads_what_another_connection_wrote() {
    let mut h = sample("default");
    let id = h.app.incident().unwrap();
    let other = Store::open(h.dir.path()).unwrap();
    let ev = crate::incident::Event::new(
        id,
        now(),
        "bo@db-02",
        EventKind::Note { text: "from the server".into(), tag: Tag::Note },
    );
    other.append_all(&[ev], None).unwrap();
    h.app.dirty = false;
    h.app.update(Action::Arrived, now());
    assert!(h.app.dirty);
    assert!(h.app.data.as_ref().unwrap().events.iter().any(|e| e.author == "bo@db-02"));
    // The poll sees the same data version: no second reload.
    h.app.dirty = false;
    h.app.update(Action::PollStore, now());
    assert!(!h.app.dirty);
}

// ---- the sync task follows the incident on screen -----------------------------------------

/// A loopback port with nothing listening (bound, then closed).
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

#[test]
fn sync_starts_with_the_incident_and_only_when_a_server_is_configured() {
    // Local only: no task, nothing in the header.
    let mut h = sample("default");
    let mut sync = effects(crate::config::Config::default());
    sync.run(&mut h.app);
    assert!(sync.handle.is_none() && h.app.sync.is_none());

    // A configured server, no incident yet: nothing to follow until the start popup opens one.
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(Store::open(dir.path()).unwrap(), options("default", None)).unwrap();
    let mut h = Harness { app, dir };
    let mut config = crate::config::Config::default();
    config.server.url = Some(dead_url());
    let mut sync = effects(config);
    sync.run(&mut h.app);
    assert!(sync.handle.is_none() && h.app.sync.is_none());
    h.chars("Queue backlog").key(KeyCode::Tab).key(KeyCode::Char('2')).key(KeyCode::Enter);
    sync.run(&mut h.app);
    assert_eq!(sync.following, h.app.incident());
    assert!(sync.handle.is_some());
    assert!(h.app.sync.is_some(), "the header shows the state from the start");
    assert_eq!(sync.nudged, h.app.appended);
    h.key(KeyCode::Char('n')).chars("lag").key(KeyCode::Enter);
    sync.run(&mut h.app);
    assert_eq!(sync.nudged, h.app.appended, "the write was passed on as a nudge");

    // The server is unreachable: the task reports offline with the events queued.
    let st = sync.handle.as_mut().unwrap().status.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = st.borrow().clone();
        if matches!(s.link, crate::sync::Link::Offline { .. }) && s.pending == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never offline with 2 pending: {s:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn sync_uses_the_server_join_remembered() {
    let mut h = sample("default");
    h.app.store.set_meta(crate::sync::engine::SERVER_KEY, &dead_url()).unwrap();
    let mut sync = effects(crate::config::Config::default());
    sync.run(&mut h.app);
    assert!(sync.handle.is_some() && h.app.sync.is_some());
}

/// Every pane, with and without a popup, draws at every awkward size without panicking: a
/// responder resizing a tmux split must never lose the TUI.
#[test]
fn every_pane_and_popup_draws_at_awkward_sizes() {
    let widths = [1u16, 2, 10, 30, 59, 60, 61, 79, 80, 81, 120, 159, 160, 161, 200];
    let heights = [1u16, 2, 5, 15, 16, 17, 23, 24, 39, 40, 41, 50];
    let panes = sample("default").app.panes.len();
    for pane in 0..panes {
        let keys = [None, Some('?'), Some('n'), Some('S'), Some('s')].map(|c| c.map(KeyCode::Char));
        for popup in keys.into_iter().chain([Some(KeyCode::Enter), Some(KeyCode::F(9))]) {
            let mut h = sample("default");
            h.key(KeyCode::Char(char::from(b'1' + pane as u8)));
            if let Some(code) = popup {
                h.key(code);
            }
            for &w in &widths {
                for &ht in &heights {
                    h.app.update(Action::Resize(w, ht), now());
                    let _ = h.screen(w, ht);
                }
            }
        }
    }
}

#[test]
fn global_keys_in_a_finished_dialog_act_and_typing_is_never_swallowed() {
    let mut h = sample("default");
    h.key(KeyCode::Char('g')).key(KeyCode::Enter);
    assert!(matches!(h.app.popups.last(), Some(Popup::View(_))), "event detail open");
    // A key the detail cannot use says so (the footer stays visible under the popup).
    h.key(KeyCode::Char('x'));
    assert!(matches!(h.app.popups.last(), Some(Popup::View(_))));
    let text = h.text(80, 24);
    assert!(text.contains("x does nothing in this dialog: Esc closes it"), "{text}");
    // `n` closes the detail and opens the note composer; `u` the status update composer.
    h.key(KeyCode::Char('n'));
    assert!(h.app.popups.is_empty() && h.app.composer.open);
    h.key(KeyCode::Esc).key(KeyCode::Enter).key(KeyCode::Char('u'));
    assert!(h.app.popups.is_empty() && h.app.composer.open, "u from the detail opens the update composer");
    assert!(h.text(80, 24).contains("update"), "status update composer shown");
    // Help is a finished dialog too: `a` asks to acknowledge.
    h.key(KeyCode::Esc);
    h.app.composer.reset();
    h.key(KeyCode::Char('?')).key(KeyCode::Char('S'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Choose(..))), "S from help opens the severity list");
}

#[test]
fn help_opens_on_the_focused_panes_keys() {
    let mut h = sample("default");
    h.key(KeyCode::Char('4')).key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no help") };
    let lines: Vec<String> = v.lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(lines[0], "Processes (this pane)");
    assert!(lines[1..8].iter().any(|l| l.contains("kill")), "{lines:?}");
    let text = h.text(80, 24);
    assert!(text.contains("Processes (this pane)"), "visible at 80x24 without scrolling: {text}");
    h.key(KeyCode::Esc).key(KeyCode::Char('1')).key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no help") };
    assert_eq!(v.lines[0].to_string(), "Timeline (this pane)");
    // Every pane is still listed once.
    let all: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    assert_eq!(all.matches("\nProcesses\n").count(), 1, "{all}");
}
