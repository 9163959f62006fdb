//! The contacts pane inside the App: snapshots at 80x24 (zoomed tab) and in the 200x50 grid, and the
//! c/p/m/R flows headless against a real SQLite store (and, for `p`, a real HTTP receiver).

use std::path::{Path, PathBuf};

use ratatui::crossterm::event::KeyCode;

use super::app::App;
use super::fixture;
use super::tests::{Harness, buffer_text, buffer_with_styles, options};
use crate::store::Store;

fn example_team() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("team.example.toml")
}

/// The sample SEV1 incident with a team file and, optionally, paging.
fn with_team(team: &Path, notifier: Option<crate::notify::Notifier>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let events = fixture::sev1_incident();
    store.append_all(&events, None).unwrap();
    let mut o = options("default", Some(events[0].incident));
    o.team = Some(team.to_path_buf());
    o.notifier = notifier;
    Harness { app: App::new(store, o).unwrap(), dir }
}

#[test]
fn snapshot_contacts_80x24_zoomed() {
    let mut h = with_team(&example_team(), None);
    h.key(KeyCode::Char('2')).key(KeyCode::Char('j'));
    insta::assert_snapshot!(buffer_with_styles(&h.screen(80, 24)));
}

#[test]
fn snapshot_contacts_200x50_grid() {
    let mut h = with_team(&example_team(), None);
    h.key(KeyCode::Char('2'));
    insta::assert_snapshot!(buffer_with_styles(&h.screen(200, 50)));
}

#[test]
fn no_team_file_no_pane() {
    let h = with_team(&example_team(), None);
    assert_eq!(h.app.panes.iter().map(|p| p.name()).collect::<Vec<_>>(), ["Timeline", "Contacts"]);
    let plain = super::tests::sample("default");
    assert_eq!(plain.app.panes.len(), 1, "no team file: no contacts pane, no placeholder");
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
    assert!(text.contains("  team.toml:3: people.ana.tz: unknown time zone \"Mars/Olympus\" (expected an"), "{text}");
    assert!(text.contains("│    IANA name like"), "the rest of the line wraps: {text}");
    assert!(text.contains("people.zed") || text.contains("unknown person \"zed\""), "{text}");
    // Keys explain rather than act.
    h.key(KeyCode::Char('c'));
    assert!(h.app.clipboard.is_none());
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
