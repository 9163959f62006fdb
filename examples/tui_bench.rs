//! TUI benchmark (not a test): first frame with 10,000 events in the store, and one full draw at
//! 200x50, on ratatui's TestBackend. Run with `cargo run --release --example tui_bench`.
//! Goals: first frame ≤ 30 ms, draw ≤ 2 ms.

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use warroom::incident::{Event, EventKind, Tag};
use warroom::store::Store;
use warroom::tui::fixture::long_incident;
use warroom::tui::render::render;
use warroom::tui::theme::Theme;
use warroom::tui::{Action, App, AppOptions};

const EVENTS: usize = 10_000;

fn options(incident: uuid::Uuid) -> AppOptions {
    AppOptions {
        me: "ana@db-01".into(),
        theme: Theme::load("default", None, false).expect("built-in theme"),
        local: chrono_tz::UTC,
        local_time: false,
        incident: Some(incident),
        size: (200, 50),
        procs: Default::default(),
        runbooks: Default::default(),
        team: None,
        team_default: None,
        notifier: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let events = long_incident(EVENTS);
    let id = events[0].incident;
    Store::open(dir.path())?.append_all(&events, None)?;
    let now = Utc::now();
    println!("events in store: {}", events.len());

    // First frame: open the store, load and fold every event, build the App, draw once.
    let mut first = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let store = Store::open(dir.path())?;
        let app = App::new(store, options(id))?;
        let mut term = Terminal::new(TestBackend::new(200, 50))?;
        term.draw(|f| render(&app, f, now))?;
        first.push(t.elapsed());
    }
    println!("first frame (open + load + fold + draw 200x50): median {:?}", median(first));

    let store = Store::open(dir.path())?;
    let mut app = App::new(store, options(id))?;
    for (w, h) in [(200u16, 50u16), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h))?;
        let mut draws = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            term.draw(|f| render(&app, f, now))?;
            draws.push(t.elapsed());
        }
        println!("full draw {w}x{h}: median {:?}", median(draws));
    }

    // Another process appends one note: poll, reload and fold 10,001 events.
    let other = Store::open(dir.path())?;
    let mut reloads = Vec::new();
    for i in 0..10 {
        let text = format!("from another process {i}");
        other.append(&Event::new(id, now, "bo@home", EventKind::Note { text, tag: Tag::Note }))?;
        let t = Instant::now();
        app.update(Action::PollStore, now);
        reloads.push(t.elapsed());
    }
    println!("reload after another process's write: median {:?}", median(reloads));
    Ok(())
}
