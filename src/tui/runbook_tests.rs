//! Headless tests of the runbook pane, the status-update composer and the header countdown,
//! against a real store, real commands and a real HTTP receiver on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

use super::app::{Action, App};
use super::panes::runbook::RunbookOptions;
use super::popups::{Popup, Question};
use super::render::render;
use super::tests::{Harness, ME, buffer_text, buffer_with_styles, now, options, sample_with};
use crate::incident::{Audience, Event, EventKind, Severity, Status};
use crate::store::Store;

const BOOK: &str = "+++
title = \"Checkout errors\"
severity = [1, 2]
owner = \"payments\"
+++
# Checkout errors

## Look

- [ ] Say hello from the host
  ```sh
  echo hello; echo \"\x1b[31mred\x1b[0m\"
  ```
- [ ] Read the \x1b]0;PWNED\x07checkout dashboard

## Fix

- [ ] Roll back the last deploy
- [ ] Tell the payments team
";

const OTHER: &str = "+++\ntitle = \"Queue backlog\"\nseverity = 4\n+++\n- [ ] Look at the queue\n";

fn book_options() -> RunbookOptions {
    let c = crate::runbook::catalog([("/srv/runbooks/queue.md", OTHER), ("/srv/runbooks/checkout.md", BOOK)]);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    RunbookOptions {
        books: c.books,
        problems: vec!["/srv/runbooks/broken.md:2: malformed front matter: expected `key: value`".into()],
        ..Default::default()
    }
}

/// The sample SEV2 incident with the test runbooks, the runbook pane focused.
fn harness(opts: RunbookOptions) -> Harness {
    let mut h = sample_with("default", |o| o.runbooks = opts);
    // Runbooks are pane 3 with or without a team file.
    h.key(KeyCode::Char('3'));
    h
}

/// Presses a key a little later than the previous `later` press: events written by one key then
/// another must not share a timestamp (at one instant they sort by random id).
fn later(h: &mut Harness, code: KeyCode) {
    thread_local!(static STEP: std::cell::Cell<i64> = const { std::cell::Cell::new(0) });
    let step = STEP.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    let key = ratatui::crossterm::event::KeyEvent::from(code);
    h.app.update(Action::Key(key), now() + Duration::milliseconds(10 * step));
}

fn kinds_after(h: &Harness, before: usize) -> Vec<EventKind> {
    h.stored().into_iter().skip(before).map(|e| e.kind).collect()
}

#[test]
fn snapshot_runbook_list_80x24() {
    let h = harness(book_options());
    insta::assert_snapshot!(buffer_with_styles(&h.screen(80, 24)));
}

#[test]
fn snapshot_runbook_open_80x24_and_200x50() {
    let mut h = harness(book_options());
    h.key(KeyCode::Enter);
    later(&mut h, KeyCode::Char(' '));
    h.key(KeyCode::Char('j')).key(KeyCode::Char('j'));
    later(&mut h, KeyCode::Char(' '));
    let text = h.text(80, 24);
    assert!(!text.contains("PWNED") || !text.contains('\x1b'), "{text}");
    insta::assert_snapshot!("runbook_open_80x24", text);
    insta::assert_snapshot!("runbook_open_200x50", h.text(200, 50));
}

#[test]
fn attach_tick_untick_and_another_responders_tick() {
    let mut h = harness(book_options());
    let before = h.stored().len();
    later(&mut h, KeyCode::Char('A'));
    assert_eq!(
        kinds_after(&h, before),
        [EventKind::RunbookAttached { runbook: "checkout".into(), title: "Checkout errors".into() }]
    );
    assert!(h.text(80, 24).contains("● Checkout errors"), "{}", h.text(80, 24));
    h.key(KeyCode::Char('A'));
    assert!(h.app.notice.as_ref().unwrap().0.contains("already attached"));
    assert_eq!(h.stored().len(), before + 1);

    h.key(KeyCode::Enter);
    later(&mut h, KeyCode::Char(' '));
    let last = h.stored().pop().unwrap().kind;
    let EventKind::ChecklistItemSet { runbook, item, checked: true } = last else {
        panic!("no tick: {last:?}")
    };
    assert_eq!(runbook, "checkout");
    assert!(h.text(80, 24).contains("[x] Say hello from the host"), "{}", h.text(80, 24));
    assert!(h.text(80, 24).contains("Checkout errors  1/4  attached"), "{}", h.text(80, 24));
    later(&mut h, KeyCode::Char(' '));
    let last = h.stored().pop().unwrap();
    assert_eq!(last.kind, EventKind::ChecklistItemSet { runbook, item: item.clone(), checked: false });
    assert!(h.text(80, 24).contains("[ ] Say hello from the host"));

    // Bo ticks it from another terminal a minute later: last writer wins, shown with his name.
    let other = Store::open(h.dir.path()).unwrap();
    let id = h.app.incident().unwrap();
    let set = EventKind::ChecklistItemSet { runbook: "checkout".into(), item, checked: true };
    other.append(&Event::new(id, now() + Duration::minutes(1), "bo@home", set)).unwrap();
    h.app.update(Action::PollStore, now());
    let text = h.text(80, 24);
    assert!(text.contains("[x] Say hello from the host") && text.contains("bo@home 03:50"), "{text}");

    // Back to the list, which shows the progress.
    h.key(KeyCode::Esc);
    assert!(h.text(80, 24).contains("1/4"), "{}", h.text(80, 24));
}

#[test]
fn ticking_in_an_unattached_runbook_attaches_it_first() {
    let mut h = harness(book_options());
    let before = h.stored().len();
    h.key(KeyCode::Enter).key(KeyCode::Char('j')).key(KeyCode::Char(' '));
    let kinds = kinds_after(&h, before);
    assert!(matches!(kinds[0], EventKind::RunbookAttached { .. }), "{kinds:?}");
    assert!(matches!(kinds[1], EventKind::ChecklistItemSet { checked: true, .. }), "{kinds:?}");
    let st = &h.app.data.as_ref().unwrap().state;
    assert!(st.runbooks.iter().any(|(id, _)| id == "checkout"));
}

#[test]
fn step_detail_shows_text_and_command_without_escapes() {
    let mut h = harness(book_options());
    h.key(KeyCode::Enter).key(KeyCode::Enter);
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no step popup") };
    let text: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    assert!(text.contains("Say hello from the host"), "{text}");
    // The command is shown exactly, escapes written out, so it cannot hide part of itself.
    assert!(text.contains("  echo hello; echo \"\\u{1b}[31mred\\u{1b}[0m\""), "{text}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    h.key(KeyCode::Esc).key(KeyCode::Char('j')).key(KeyCode::Enter);
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no step popup") };
    let text: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    assert!(text.contains("Read the checkout dashboard") && !text.contains("PWNED"), "{text}");
}

#[test]
fn help_lists_the_keys_of_the_list_and_of_an_open_runbook() {
    let mut h = harness(book_options());
    h.key(KeyCode::Char('?'));
    let Some(Popup::View(v)) = h.app.popups.last() else { panic!("no help") };
    let help: String = v.lines.iter().map(|l| l.to_string() + "\n").collect();
    for d in
        ["open the runbook's checklist", "tick / untick the step (for everyone)", "run the step's command"]
    {
        assert!(help.contains(d), "help lacks `{d}`:\n{help}");
    }
    assert!(help.contains("post a status update") && help.contains("switch the audience"), "{help}");
    assert_eq!(help.matches("attach the runbook to the incident").count(), 1, "{help}");
}

#[test]
fn problems_show_as_one_line_errors_and_no_runbooks_says_where() {
    let h = harness(book_options());
    let text = h.text(80, 24);
    assert!(text.contains("⚠ /srv/runbooks/broken.md:2: malformed front matter"), "{text}");
    // The sample incident has a runbook attached whose file is not here: it is still listed.
    assert!(
        text.contains("● Postgres connection exhaustion · 1 ticked · attached, no runbook file"),
        "{text}"
    );
    let empty = harness(RunbookOptions {
        problems: vec!["/nope/runbooks: runbooks dir ([runbooks] dir): No such file or directory".into()],
        ..Default::default()
    });
    let text = empty.text(80, 24);
    assert!(text.contains("No runbooks found"), "{text}");
    assert!(text.contains("⚠ /nope/runbooks: runbooks dir"), "{text}");
}

#[test]
fn u_records_a_status_update_for_the_chosen_audience() {
    let mut h = harness(book_options());
    let before = h.stored().len();
    assert!(h.text(120, 24).lines().next().unwrap().contains("update overdue 12m"));
    h.key(KeyCode::Char('u'));
    assert!(h.app.composer.open && h.app.composer.audience == Some(Audience::Internal));
    assert!(h.text(80, 24).contains("Status update"));
    h.chars("Checkout recovered; monitoring").key(KeyCode::Tab);
    assert_eq!(h.app.composer.audience, Some(Audience::Stakeholders));
    h.key(KeyCode::Enter);
    assert!(!h.app.composer.open && !h.app.composer.has_draft());
    assert_eq!(
        kinds_after(&h, before),
        [EventKind::StatusUpdatePosted {
            audience: Audience::Stakeholders,
            text: "Checkout recovered; monitoring".into()
        }]
    );
    // The countdown restarts: SEV2 is every 30 minutes.
    let header = h.text(120, 24).lines().next().unwrap().to_string();
    assert!(header.contains("update due in 30m"), "{header}");

    // A note draft and a status draft never turn into each other.
    h.key(KeyCode::Char('n')).chars("half a note").key(KeyCode::Esc).key(KeyCode::Char('u'));
    assert!(!h.app.composer.open);
    assert!(h.app.notice.as_ref().unwrap().0.contains("note draft"));
    assert_eq!(h.app.composer.text(), "half a note");
}

/// Answers every request on a thread with `status`, counting them; the URL to post to.
fn receiver(status: u16) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook/secret", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            conn.set_read_timeout(Some(StdDuration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the headers, then the body by Content-Length.
            while let Ok(n) = conn.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (url, count)
}

fn webhook_options(url: &str) -> RunbookOptions {
    let config = crate::config::Config::parse(
        &format!("[paging]\ntimeout_secs = 3\nretries = 1\n[status_updates]\nwebhook_url = \"{url}\"\n"),
        "test.toml",
    )
    .unwrap();
    let policy = crate::notify::Policy {
        connect_timeout: StdDuration::from_secs(2),
        timeout: StdDuration::from_secs(3),
        tries: 2,
        backoff_initial: StdDuration::from_millis(20),
        backoff_max: StdDuration::from_millis(40),
    };
    let notifier =
        crate::notify::Notifier::new(&config.paging, &config.status_updates).unwrap().with_policy(policy);
    RunbookOptions { notifier: Some(notifier), ..book_options() }
}

/// Feeds the App what its spawned tasks report until `done` says so.
async fn pump(h: &mut Harness, fx: &mut super::Effects, done: impl Fn(&App) -> bool) {
    loop {
        fx.run(&mut h.app);
        if done(&h.app) {
            return;
        }
        let b = tokio::time::timeout(StdDuration::from_secs(15), fx.next())
            .await
            .expect("a report from the background task within 15 s");
        // Reports arrive after the key that started the work.
        h.app.update(b, now() + Duration::seconds(1));
    }
}

/// Posts the status update `text` to a webhook that answers `status`, until the footer says
/// `notice`: the harness, what was recorded meanwhile, and how many requests the webhook got.
async fn post_update(status: u16, text: &str, notice: &str) -> (Harness, Vec<EventKind>, usize) {
    let (url, count) = receiver(status);
    let mut h = harness(webhook_options(&url));
    let mut fx = super::tests::effects(crate::config::Config::default());
    let before = h.stored().len();
    h.key(KeyCode::Char('u')).chars(text).key(KeyCode::Enter);
    pump(&mut h, &mut fx, |app| app.notice.as_ref().is_some_and(|n| n.0.contains(notice))).await;
    let kinds = kinds_after(&h, before);
    (h, kinds, count.load(std::sync::atomic::Ordering::SeqCst))
}

#[tokio::test]
async fn a_failed_status_delivery_is_on_the_timeline() {
    let (h, kinds, requests) = post_update(500, "Degraded checkout", "NOT delivered").await;
    assert_eq!(requests, 2, "one retry");
    assert!(matches!(&kinds[0], EventKind::StatusUpdatePosted { text, .. } if text == "Degraded checkout"));
    let EventKind::Note { text, tag } = &kinds[1] else { panic!("{kinds:?}") };
    assert_eq!(*tag, crate::incident::Tag::Action);
    assert!(text.starts_with("status update delivery failed:") && text.contains("500"), "{text}");
    assert!(!text.contains("secret"), "the webhook path is not shown: {text}");
    assert!(h.text(200, 50).contains("status update delivery failed"));
}

#[tokio::test]
async fn a_delivered_status_update_says_so() {
    let (_h, kinds, requests) = post_update(202, "All good", "posted to webhook:").await;
    assert_eq!(requests, 1);
    assert_eq!(kinds.len(), 2, "the update and its delivery, no failure note: {kinds:?}");
    assert!(matches!(&kinds[1], EventKind::StatusUpdateDelivered { provider, .. } if provider == "webhook"));
}

#[tokio::test]
async fn r_confirms_runs_streams_and_records_the_command() {
    let mut h = harness(book_options());
    let mut fx = super::tests::effects(crate::config::Config::default());
    let before = h.stored().len();
    h.key(KeyCode::Enter).key(KeyCode::Char('r'));
    let Some(Popup::Confirm(Question::RunCommand(_), c)) = h.app.popups.last() else { panic!("no confirm") };
    assert!(c.message.contains("echo hello; echo \"\\u{1b}[31mred\\u{1b}[0m\""), "{}", c.message);
    assert!(c.message.contains("sh -c, timeout 60 s"), "{}", c.message);
    // Saying no runs nothing.
    h.key(KeyCode::Char('n'));
    assert!(h.app.popups.is_empty() && h.stored().len() == before);
    h.key(KeyCode::Char('r')).key(KeyCode::Char('y'));
    assert!(matches!(h.app.popups.last(), Some(Popup::Run(_))));
    let finished = |app: &App| matches!(app.popups.last(), Some(Popup::Run(o)) if o.finished.is_some());
    pump(&mut h, &mut fx, finished).await;
    let Some(Popup::Run(out)) = h.app.popups.last() else { unreachable!() };
    assert_eq!(out.lines, ["hello", "red"]);
    assert!(out.finished.as_ref().unwrap().starts_with("exited with status 0 · output kept in"), "{out:?}");
    let screen = h.text(80, 24);
    assert!(screen.contains("$ echo hello") && screen.contains("exited with status 0"), "{screen}");
    // The evidence file's name is on screen whole, wrapped rather than cut.
    let path = out.finished.as_ref().unwrap().rsplit("output kept in ").next().unwrap().to_string();
    let file = path.rsplit('/').next().unwrap();
    let joined: String = screen.lines().map(|l| l.trim_matches(|c| c == '│' || c == ' ')).collect();
    assert!(joined.contains(file), "{file}\n{screen}");
    let kinds = kinds_after(&h, before);
    let run = kinds.iter().find_map(|k| match k {
        EventKind::CommandRun { exit_code, output_excerpt, evidence, command, .. } => {
            Some((*exit_code, output_excerpt.clone(), evidence.clone(), command.clone()))
        }
        _ => None,
    });
    let (code, excerpt, evidence, command) = run.expect("command_run recorded");
    assert_eq!(code, Some(0));
    assert!(excerpt.contains("hello"), "{excerpt}");
    assert_eq!(command, "echo hello; echo \"\x1b[31mred\x1b[0m\"");
    let path = evidence.expect("evidence path");
    let mode = std::fs::metadata(&path).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
    assert!(kinds.iter().any(|k| matches!(k, EventKind::EvidenceCaptured { .. })));
    h.key(KeyCode::Esc);
    assert!(h.app.popups.is_empty());
}

#[tokio::test]
async fn esc_cancels_a_hanging_command_and_it_is_recorded() {
    let hang =
        "# Hang\n\n- [ ] Wait forever\n  ```sh\n  echo started\n  # a comment line\n  sleep 30\n  ```\n";
    let c = crate::runbook::catalog([("hang.md", hang)]);
    let mut h = harness(RunbookOptions { books: c.books, ..Default::default() });
    let mut fx = super::tests::effects(crate::config::Config::default());
    h.key(KeyCode::Enter).key(KeyCode::Char('r'));
    // The confirm box shows every line of the script.
    let screen = h.text(80, 24);
    for line in ["echo started", "# a comment line", "sleep 30", "y/Enter yes"] {
        assert!(screen.contains(line), "{line} missing:\n{screen}");
    }
    h.key(KeyCode::Char('y'));
    pump(&mut h, &mut fx, |app| matches!(app.popups.last(), Some(Popup::Run(o)) if !o.lines.is_empty()))
        .await;
    h.key(KeyCode::Esc);
    assert!(
        matches!(h.app.popups.last(), Some(Popup::Run(o)) if o.cancelling),
        "Esc cancels, the popup stays"
    );
    let finished = |app: &App| matches!(app.popups.last(), Some(Popup::Run(o)) if o.finished.is_some());
    pump(&mut h, &mut fx, finished).await;
    let last_run = h.stored().into_iter().rev().find_map(|e| match e.kind {
        EventKind::CommandRun { exit_code, output_excerpt, .. } => Some((exit_code, output_excerpt)),
        _ => None,
    });
    let (code, excerpt) = last_run.unwrap();
    assert_eq!(code, None);
    assert!(excerpt.contains("started") && excerpt.contains("cancelled"), "{excerpt}");
}

/// The header row with its styles, at 100 columns, for `events` evaluated at `at`.
fn header_at(events: Vec<Event>, at: DateTime<Utc>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.append_all(&events, None).unwrap();
    let app = App::new(store, options("default", Some(events[0].incident))).unwrap();
    let mut term = Terminal::new(TestBackend::new(100, 16)).unwrap();
    term.draw(|f| render(&app, f, at)).unwrap();
    let buf = term.backend().buffer().clone();
    let full = buffer_with_styles(&buf);
    let text = buffer_text(&buf);
    let styles: Vec<&str> = full.lines().filter(|l| l.starts_with(" 0: ")).collect();
    format!("{}\n{}", text.lines().next().unwrap_or(""), styles.join("\n"))
}

#[test]
fn header_countdown_states() {
    let t0 = super::fixture::opened_at();
    let sev = |n| Severity::new(n).unwrap();
    let open = |s| vec![Event::open(t0, ME, "Checkout API returning 500s".into(), sev(s), None)];
    // SEV2, every 30 min: calm at 10 min in, warning in the last 20% / 5 min, then overdue.
    insta::assert_snapshot!("header_due", header_at(open(2), t0 + Duration::minutes(10)));
    insta::assert_snapshot!("header_warn", header_at(open(2), t0 + Duration::minutes(26)));
    insta::assert_snapshot!("header_overdue", header_at(open(2), t0 + Duration::minutes(33)));
    insta::assert_snapshot!("header_none_sev4", header_at(open(4), t0 + Duration::minutes(300)));
    let mut resolved = open(1);
    let id = resolved[0].incident;
    resolved.push(Event::new(
        id,
        t0 + Duration::minutes(5),
        ME,
        EventKind::StatusSet { status: Status::Resolved },
    ));
    let h = header_at(resolved, t0 + Duration::minutes(60));
    assert!(!h.contains("update"), "{h}");

    use super::render::{Urgency, update_countdown};
    let st = |events: Vec<Event>| crate::incident::fold(&events).unwrap();
    let cfg = crate::runbook::CadenceConfig::default();
    let at = |m| t0 + Duration::minutes(m);
    assert_eq!(
        update_countdown(&st(open(2)), &cfg, at(23)),
        Some(("update due in 7m".into(), Urgency::Calm))
    );
    assert_eq!(update_countdown(&st(open(2)), &cfg, at(24)).unwrap().1, Urgency::Soon);
    // SEV3 is hourly: 20% is 12 minutes, longer than 5.
    assert_eq!(update_countdown(&st(open(3)), &cfg, at(47)).unwrap().1, Urgency::Calm);
    assert_eq!(update_countdown(&st(open(3)), &cfg, at(48)).unwrap().1, Urgency::Soon);
    assert_eq!(update_countdown(&st(open(1)), &cfg, at(15)).unwrap().0, "update due in 0s");
    let secs = |m, s| t0 + Duration::minutes(m) + Duration::seconds(s);
    assert_eq!(update_countdown(&st(open(2)), &cfg, secs(0, 1)).unwrap().0, "update due in 30m");
    assert_eq!(update_countdown(&st(open(2)), &cfg, secs(29, 30)).unwrap().0, "update due in 30s");
    assert_eq!(
        update_countdown(&st(open(1)), &cfg, at(18)),
        Some(("update overdue 3m".into(), Urgency::Late))
    );
}
