//! The contacts pane inside the App: snapshots at 80x24 (zoomed tab) and in the 200x50 grid, and the
//! c/p/m/R flows headless against a real SQLite store (and, for `p`, a real HTTP receiver).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as ChronoDuration;

use ratatui::crossterm::event::KeyCode;

use super::app::{Action, App};
use super::popups::{Popup, Question};
use super::tests::{Harness, buffer_text, buffer_with_styles, now, options, sample_with};
use crate::config::Config;
use crate::incident::{Event, EventKind, Role};
use crate::notify::Notifier;
use crate::store::Store;

fn example_team() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("team.example.toml")
}

/// The sample SEV1 incident with a team file and, optionally, paging.
fn with_team(team: &Path, notifier: Option<crate::notify::Notifier>) -> Harness {
    sample_with("default", |o| {
        o.team = Some(team.to_path_buf());
        o.notifier = notifier;
    })
}

#[test]
fn snapshot_contacts_80x24_zoomed() {
    let mut h = with_team(&example_team(), None);
    h.key(KeyCode::Char('2')).key(KeyCode::Char('j'));
    insta::assert_snapshot!(buffer_with_styles(&h.screen(80, 24)));
}

#[test]
fn snapshot_contacts_80x24_counting_down() {
    // A SEV1 opened 7m12s before `now`, nobody acknowledged: level 3 fires in 7:48.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let sev1 = crate::incident::Severity::new(1).unwrap();
    let open = Event::open(
        now() - ChronoDuration::seconds(432),
        "ana@db-01",
        "Payments queue stuck".into(),
        sev1,
        None,
    );
    store.append(&open).unwrap();
    let mut o = options("default", Some(open.incident));
    o.team = Some(example_team());
    let mut h = Harness { app: App::new(store, o).unwrap(), dir };
    h.app.update(Action::Tick, now());
    assert_eq!(h.app.panes[1].title(), "Contacts · L3 in 7:48");
    let timeline_tab = buffer_text(&h.screen(80, 24));
    assert!(timeline_tab.lines().nth(1).unwrap().contains("2 Contacts · L3 in 7:48"), "{timeline_tab}");
    h.key(KeyCode::Char('2'));
    insta::assert_snapshot!(buffer_text(&h.screen(80, 24)));
    // `a` from the contacts pane acknowledges: the countdown stops, level 3 is cancelled.
    h.key(KeyCode::Char('a')).key(KeyCode::Char('y'));
    assert_eq!(h.app.panes[1].title(), "Contacts · acked");
    let text = buffer_text(&h.screen(80, 24));
    assert!(text.contains("directly             → Ana Lima         cancelled"), "{text}");
    assert!(text.contains("acknowledged by ana@db-01 after 7m: escalation stopped"), "{text}");
    assert!(!text.contains("next in"), "{text}");
}

#[test]
fn snapshot_contacts_200x50_grid() {
    let mut h = with_team(&example_team(), None);
    h.key(KeyCode::Char('2'));
    insta::assert_snapshot!(buffer_with_styles(&h.screen(200, 50)));
}

#[test]
fn pane_numbers_never_move_and_no_team_file_says_how_to_get_one() {
    let h = with_team(&example_team(), None);
    let names = |h: &Harness| h.app.panes.iter().map(|p| p.name()).collect::<Vec<_>>();
    assert_eq!(names(&h), ["Timeline", "Contacts", "Runbooks", "Processes"]);
    // Without a team file: the same four, so `4` is the process pane either way.
    let cfg = tempfile::tempdir().unwrap();
    let starter = cfg.path().join("cfg/team.toml");
    let mut h = sample_with("default", |o| o.team_default = Some(starter.clone()));
    assert_eq!(names(&h), ["Timeline", "Contacts", "Runbooks", "Processes"]);
    h.key(KeyCode::Char('4'));
    assert_eq!(h.app.panes[h.app.focus].name(), "Processes");
    h.key(KeyCode::Char('2'));
    let text = h.text(80, 24);
    assert!(text.contains("Contacts · no team file"), "{text}");
    assert!(text.contains("Run `warroom team init` to write a starter one"), "{text}");
    // Keys that need a team say so instead of doing nothing.
    for k in ['c', 'p', 't'] {
        h.app.notice = None;
        h.key(KeyCode::Char(k));
        assert!(h.text(80, 24).contains("no team file: `warroom team init` writes one"), "{k}");
    }
    // `warroom team init` in another shell: the pane picks the file up on its next tick.
    std::fs::create_dir_all(starter.parent().unwrap()).unwrap();
    std::fs::copy(example_team(), &starter).unwrap();
    h.app.update(Action::Tick, now());
    let text = h.text(80, 24);
    assert!(text.contains("Bo Chen (bo)") && !text.contains("Contacts · no team file"), "{text}");
}

#[test]
fn a_broken_team_file_shows_its_problems_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.toml");
    std::fs::write(
        &path,
        "[people.ana]\nname = \"Ana\"\ntz = \"Mars/Olympus\"\n\n[rotations.p]\nname = \"P\"\npeople = [\"zed\"]\nhandoff = \"09:00\"\nlength = \"1w\"\ntz = \"UTC\"\nstart = 2026-01-05\n",
    )
    .unwrap();
    let mut h = with_team(&path, None);
    h.key(KeyCode::Char('2'));
    let text = buffer_text(&h.screen(80, 24));
    assert!(text.contains("Contacts · 2 team file problems"), "{text}");
    assert!(
        text.contains("  team.toml:3: people.ana.tz: unknown time zone \"Mars/Olympus\" (expected an"),
        "{text}"
    );
    assert!(text.contains("│    IANA name like"), "the rest of the line wraps: {text}");
    assert!(text.contains("people.zed") || text.contains("unknown person \"zed\""), "{text}");
    // Keys explain rather than act.
    h.key(KeyCode::Char('c'));
    assert!(h.copied().is_none());
    let notice = h.app.notice.clone().unwrap().0;
    assert!(notice.contains("team file has problems"), "{notice}");

    // A missing file is one line too, and fixing the file on disk shows the team on the next tick.
    std::fs::remove_file(&path).unwrap();
    let mut gone = with_team(&path, None);
    gone.key(KeyCode::Char('2'));
    assert!(buffer_text(&gone.screen(80, 24)).contains("cannot read team file"));
    std::fs::copy(example_team(), &path).unwrap();
    gone.app.update(super::app::Action::Tick, super::tests::now());
    assert!(buffer_text(&gone.screen(80, 24)).contains("Primary on-call"));
}

/// Focuses the contacts pane and moves to selectable row `n` (0: primary on call, 1: secondary,
/// 2-3: ladder levels, 4-7: commander, comms, scribe, ops).
fn select(h: &mut Harness, n: usize) {
    h.key(KeyCode::Char('2')).key(KeyCode::Char('g'));
    for _ in 0..8 {
        h.key(KeyCode::Char('k'));
    }
    for _ in 0..n {
        h.key(KeyCode::Char('j'));
    }
}

fn last_kind(h: &Harness) -> EventKind {
    h.stored().pop().unwrap().kind
}

#[test]
fn c_copies_the_number_with_osc52_and_says_so() {
    let mut h = with_team(&example_team(), None);
    select(&mut h, 0);
    h.key(KeyCode::Char('c'));
    assert_eq!(h.copied().as_deref(), Some("\x1b]52;c;KzEgMjEyIDU1NSAwMTAy\x07"), "+1 212 555 0102");
    assert_eq!(h.app.notice, Some(("copied +1 212 555 0102".into(), false)));
    assert!(buffer_text(&h.screen(80, 24)).lines().last().unwrap().contains("copied +1 212 555 0102"));
    // The selection moves: the secondary's number.
    h.app.queue.take();
    h.key(KeyCode::Char('j')).key(KeyCode::Char('c'));
    assert_eq!(h.copied(), Some(super::clipboard::osc52("+1 415 555 0104")));
    // Someone who is not in the team file: an explanation, nothing copied.
    h.app.queue.take();
    select(&mut h, 5);
    h.key(KeyCode::Char('c'));
    assert_eq!(h.copied(), None);
    assert_eq!(h.app.notice, Some(("chen is not in the team file".into(), true)));
}

#[test]
fn m_records_a_contact_attempt() {
    let mut h = with_team(&example_team(), None);
    select(&mut h, 1);
    h.key(KeyCode::Char('m'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Contact(_))));
    let popup = buffer_text(&h.screen(80, 24));
    assert!(popup.contains("Contact Dana Kowalski") && popup.contains("left voicemail"), "{popup}");
    let before = h.stored().len();
    h.key(KeyCode::Esc);
    assert_eq!(h.stored().len(), before, "Esc records nothing");
    h.key(KeyCode::Char('m')).key(KeyCode::Tab).key(KeyCode::Char('j')).key(KeyCode::Char('j'));
    h.key(KeyCode::Enter);
    assert!(h.app.popups.is_empty());
    assert_eq!(
        last_kind(&h),
        EventKind::ContactAttempted {
            person: "dana".into(),
            method: "phone".into(),
            outcome: "voicemail".into()
        }
    );
    h.key(KeyCode::Char('1'));
    assert!(buffer_text(&h.screen(80, 24)).contains("Contacted dana by phone: voicemail"));
}

#[test]
fn r_assigns_a_role_to_the_selected_person() {
    let mut h = with_team(&example_team(), None);
    select(&mut h, 0);
    h.key(KeyCode::Char('R'));
    let Some(Popup::Record(chooser, _)) = h.app.popups.last() else { panic!("no role chooser") };
    assert_eq!(chooser.title, "Role for Bo Chen");
    assert_eq!(chooser.items[0], "commander  (now ana)");
    h.key(KeyCode::Char('3'));
    assert_eq!(last_kind(&h), EventKind::RoleAssigned { role: Role::Scribe, person: "bo".into() });
    let text = buffer_text(&h.screen(80, 24));
    let scribe = text.lines().find(|l| l.contains("scribe")).unwrap();
    assert!(scribe.contains("Bo Chen (bo)") && scribe.contains("assigned by ana@db-01"), "{scribe}");
}

#[test]
fn p_without_paging_configured_says_what_to_set() {
    let notifier = Notifier::new(&Default::default(), &Default::default()).unwrap();
    let mut h = with_team(&example_team(), Some(notifier));
    select(&mut h, 2);
    h.key(KeyCode::Char('p'));
    assert!(h.app.popups.is_empty());
    let (msg, err) = h.app.notice.clone().unwrap();
    assert!(err && msg.starts_with("cannot page: no paging channel configured"), "{msg}");
    assert!(msg.contains("[paging] webhook_url"), "{msg}");
}

/// A webhook receiver on 127.0.0.1:0 that answers 202 after `delay` and keeps the bodies.
pub(super) async fn receiver(delay: Duration) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let s = s.clone();
            async move {
                tokio::time::sleep(delay).await;
                s.lock().unwrap().push(v);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

/// Pages go to the webhook at `url`, without retries.
pub(super) fn webhook(url: &str) -> Notifier {
    let mut c = Config::default();
    c.paging.webhook_url = Some(url.into());
    c.paging.retries = 0;
    Notifier::new(&c.paging, &c.status_updates).unwrap()
}

/// Presses `p` on row `row`, confirms, and waits for the background page to come back.
async fn page_and_wait(h: &mut Harness, row: usize) -> String {
    select(h, row);
    h.key(KeyCode::Char('p'));
    let Some(Popup::Confirm(Question::Page(_), c)) = h.app.popups.last() else { panic!("no confirm") };
    let question = c.message.clone();
    let before = h.stored().len();
    h.key(KeyCode::Char('y'));
    // The key returned at once: the page is in flight, nothing recorded yet.
    assert_eq!(h.app.pager.in_flight, 1);
    assert_eq!(h.stored().len(), before);
    assert!(h.app.notice.as_ref().unwrap().0.starts_with("paging "), "{:?}", h.app.notice);
    let mut fx = super::tests::effects(Config::default());
    fx.run(&mut h.app);
    let done = tokio::time::timeout(Duration::from_secs(15), fx.next()).await.unwrap();
    assert!(matches!(done, Action::PageDone(_)), "{done:?}");
    let appended = h.app.appended;
    h.app.update(done, now());
    assert_eq!(h.app.pager.in_flight, 0);
    assert_eq!(h.app.appended, appended + 1, "the sync task is nudged for the paged event");
    question
}

#[tokio::test]
async fn p_pages_the_level_in_the_background_and_records_it() {
    let (url, seen) = receiver(Duration::ZERO).await;
    let mut h = with_team(&example_team(), Some(webhook(&url)));
    let question = page_and_wait(&mut h, 2).await;
    assert_eq!(question, "Page Bo Chen (bo) as escalation level 1 via webhook for SEV2?");
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["person"]["id"], "bo", "{}", bodies[0]);
    let EventKind::Paged { person, method, level, ok, outcome, .. } = last_kind(&h) else { panic!() };
    assert_eq!((person.as_str(), method.as_str(), level, ok), ("bo", "webhook", Some(1), true));
    assert!(outcome.starts_with("delivered: HTTP 202"), "{outcome}");
    let (notice, err) = h.app.notice.clone().unwrap();
    assert!(!err && notice.starts_with("paged Bo Chen: delivered"), "{notice}");
    h.key(KeyCode::Char('1'));
    assert!(buffer_text(&h.screen(80, 24)).contains("Paged bo via webhook: delivered"));
}

#[tokio::test]
async fn p_to_a_dead_webhook_records_a_failed_page() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut h = with_team(&example_team(), Some(webhook(&format!("http://127.0.0.1:{port}/hook"))));
    page_and_wait(&mut h, 0).await;
    let EventKind::Paged { person, level, ok, outcome, .. } = last_kind(&h) else { panic!() };
    assert_eq!((person.as_str(), level, ok), ("bo", None, false));
    assert!(!outcome.is_empty() && !outcome.contains('\n'), "{outcome}");
    let (notice, err) = h.app.notice.clone().unwrap();
    assert!(err && notice.starts_with("page to Bo Chen FAILED (recorded): "), "{notice}");
    // The level row of a failed page says so on the pane.
    h.key(KeyCode::Char('1'));
    assert!(buffer_text(&h.screen(200, 50)).contains("Paged bo via webhook: FAILED"));
}

#[test]
fn help_and_footer_list_the_contacts_keys() {
    let mut h = with_team(&example_team(), None);
    h.key(KeyCode::Char('2'));
    // At 80 columns the global hints leave room for fewer; the wide footer has them all.
    let footer = buffer_text(&h.screen(200, 50)).lines().last().unwrap().to_string();
    assert!(footer.contains("c copy · p page · m mark contact · t take pager · R role"), "{footer}");
    h.key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no help") };
    let help: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    for d in h.app.panes[1].keymap().iter().map(|b| b.desc) {
        assert!(help.contains(d), "help lacks `{d}`");
    }
}

#[test]
fn outside_text_on_the_pane_is_drawn_inert() {
    let mut h = with_team(&example_team(), None);
    let evil = "mallory\x1b]0;pwned\x07\x1b[2J";
    h.app.append(EventKind::RoleAssigned { role: Role::Ops, person: evil.into() }, now()).unwrap();
    h.key(KeyCode::Char('2'));
    let text = buffer_text(&h.screen(200, 50));
    assert!(text.contains("ops        mallory (not in team file)") && !text.contains("pwned"), "{text}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn a_short_pane_scrolls_to_keep_the_selection_in_view() {
    let mut h = with_team(&example_team(), None);
    select(&mut h, 7);
    let text = buffer_text(&h.screen(60, 16));
    assert!(text.contains("ops        Bo Chen (bo)"), "{text}");
    assert!(!text.contains("On call now"), "scrolled past the top: {text}");
    select(&mut h, 0);
    let text = buffer_text(&h.screen(60, 16));
    assert!(text.contains("On call now") && text.contains("Primary on-call"), "{text}");
}

#[test]
fn t_takes_the_selected_rotations_pager_and_p_on_someone_off_shift_says_who_is_on_call() {
    let mut h = sample_with("default", |o| {
        o.team = Some(example_team());
        o.me = "emi".into();
        o.notifier = Some(webhook("http://127.0.0.1:9/hook"));
    });

    select(&mut h, 0);
    h.key(KeyCode::Char('t'));
    let taken = Store::open(h.dir.path()).unwrap().events(crate::incident::event::TEAM_STREAM).unwrap();
    assert_eq!(taken.len(), 1, "one override, in the team stream");
    let EventKind::OncallTaken { rotation, person, from, until, .. } = &taken[0].kind else { panic!() };
    assert_eq!((rotation.as_str(), person.as_str()), ("primary", "emi"));
    assert!(until > from);
    let (notice, err) = h.app.notice.clone().unwrap();
    assert!(!err && notice.starts_with("you have the primary pager until "), "{notice}");
    let screen = buffer_text(&h.screen(200, 50));
    assert!(screen.contains("Primary on-call          Emi Sato (emi)"), "{screen}");

    // Row 4 is the commander, ana: not on call now, so the question says so and who is.
    select(&mut h, 4);
    h.key(KeyCode::Char('p'));
    let Some(Popup::Confirm(Question::Page(_), c)) = h.app.popups.last() else {
        panic!("no confirm: {:?} {}", h.app.notice, buffer_text(&h.screen(200, 50)))
    };
    assert!(
        c.message.starts_with("Ana Lima is NOT on call now (on call: primary: Emi Sato (emi), secondary: "),
        "{}",
        c.message
    );

    // Someone who is not in the team file cannot take a pager.
    h.key(KeyCode::Esc);
    h.app.me = "stranger@host".into();
    select(&mut h, 1);
    h.key(KeyCode::Char('t'));
    let (notice, err) = h.app.notice.clone().unwrap();
    assert!(err && notice.contains("not a person in the team file"), "{notice}");
}
