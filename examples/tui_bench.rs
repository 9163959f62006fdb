//! TUI benchmark (not a test): first frame with 10,000 and 100,000 events in the store, one full
//! draw at 200x50 and 80x24, and the CPU a note from another process costs until it is drawn, on
//! ratatui's TestBackend. Run with `cargo run --release --example tui_bench`.
//! Goals: first frame ≤ 30 ms at 10k and ≤ 100 ms at 100k, draw ≤ 2 ms, another process's note
//! on screen for ≤ 5 ms of CPU at 100k.

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

/// CPU time of this thread: the cost of a step, whatever else the machine is doing.
fn cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time of every thread of the process: what a step costs when it spreads over cores.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for n in [10_000, 100_000] {
        bench(n)?;
    }
    Ok(())
}

fn bench(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let events = long_incident(n);
    let id = events[0].incident;
    Store::open(dir.path())?.append_all(&events, None)?;
    // After the newest event, so another process's note sorts last as a live one does.
    let now =
        Utc::now().max(events.iter().map(|e| e.at).max().unwrap_or_default() + chrono::Duration::seconds(1));
    println!("events in store: {}", events.len());

    // First frame: open the store, load and fold every event, build the App, draw once.
    let (mut first, mut first_cpu, mut read, mut folds) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut index_read, mut index_cpu, mut read_cpu, mut read_main) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..if n > 50_000 { 5 } else { 15 } {
        let (t, c) = (Instant::now(), cpu());
        let store = Store::open(dir.path())?;
        let app = App::new(store, options(id))?;
        let mut term = Terminal::new(TestBackend::new(200, 50))?;
        term.draw(|f| render(&app, f, now))?;
        first.push(t.elapsed());
        first_cpu.push(cpu() - c);
        // Its parts: the store read (SQLite and JSON) and the fold.
        let (t, c, p) = (Instant::now(), cpu(), process_cpu());
        let (evs, _) = Store::open(dir.path())?.events_with_mark(id)?;
        read.push(t.elapsed());
        read_main.push(cpu() - c);
        read_cpu.push(process_cpu() - p);
        let c = cpu();
        warroom::incident::fold_resumable(evs.iter())?;
        folds.push(cpu() - c);
        // The peer: the same events read in the index's (at, id) order, parsed on one thread.
        let (t, p) = (Instant::now(), process_cpu());
        Store::open(dir.path())?.events_index_order(id)?;
        index_read.push(t.elapsed());
        index_cpu.push(process_cpu() - p);
    }
    println!(
        "  first frame (open + load + fold + draw 200x50): median {:?} wall, {:?} CPU of the main thread (store read {:?} wall, fold {:?} CPU)",
        median(first),
        median(first_cpu),
        median(read.clone()),
        median(folds)
    );
    println!(
        "  store read: median {:?} wall, {:?} CPU of the main thread, {:?} CPU of all threads",
        median(read),
        median(read_main),
        median(read_cpu)
    );
    println!(
        "  peer, the read before (index order, one thread): median {:?} wall, {:?} CPU",
        median(index_read),
        median(index_cpu)
    );

    phases(dir.path(), id)?;

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
        println!("  full draw {w}x{h}: median {:?}", median(draws));
    }

    // Another process appends one note: the poll reads and folds what is new, then a draw.
    let other = Store::open(dir.path())?;
    let mut term = Terminal::new(TestBackend::new(200, 50))?;
    let mut costs = Vec::new();
    for i in 0..20 {
        let text = format!("from another process {i}");
        let at = now + chrono::Duration::milliseconds(i);
        other.append(&Event::new(id, at, "bo@home", EventKind::Note { text, tag: Tag::Note }))?;
        let t = cpu();
        app.update(Action::PollStore, now);
        term.draw(|f| render(&app, f, now))?;
        costs.push(cpu() - t);
        assert!(app.data.as_ref().is_some_and(|d| d.events.len() == events.len() + i as usize + 1));
    }
    println!("  another process's note, poll + fold + draw 200x50: median {:?} CPU", median(costs));
    Ok(())
}

/// Where a load's time goes, each phase alone on this thread (CPU time, median of 7): SQLite
/// stepping over the incident's rows, the extent query that plans the split, parsing the
/// bodies (and, as the peer, the derived `Deserialize` the store used before), the order
/// check, the fold, and the first draw.
fn phases(dir: &std::path::Path, id: uuid::Uuid) -> Result<(), Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(dir.join(warroom::store::DB_FILE))?;
    let key = id.to_string();
    let mut t: [Vec<Duration>; 7] = Default::default();
    for _ in 0..7 {
        let c = cpu();
        let mut lens = 0;
        let mut stmt = conn
            .prepare_cached("SELECT id, body FROM events NOT INDEXED WHERE incident = ?1 ORDER BY rowid")?;
        let mut rows = stmt.query([&key])?;
        while let Some(row) = rows.next()? {
            lens += row.get_ref(1)?.as_str()?.len();
        }
        t[0].push(cpu() - c);
        assert!(lens > 0);
        let c = cpu();
        conn.query_row(
            "SELECT MIN(rowid), MAX(rowid), COUNT(*) FROM events WHERE incident = ?1",
            [&key],
            |r| r.get::<_, i64>(2),
        )?;
        t[1].push(cpu() - c);
        let bodies: Vec<String> = conn
            .prepare_cached("SELECT body FROM events NOT INDEXED WHERE incident = ?1 ORDER BY rowid")?
            .query_map([&key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let c = cpu();
        let events = bodies.iter().map(|b| Event::from_json(b)).collect::<Result<Vec<_>, _>>()?;
        t[2].push(cpu() - c);
        let c = cpu();
        let derived = bodies.iter().map(|b| serde_json::from_str(b)).collect::<Result<Vec<Event>, _>>()?;
        t[3].push(cpu() - c);
        assert!(derived == events);
        drop(derived);
        let c = cpu();
        assert!(events.is_sorted_by_key(Event::order_key));
        t[4].push(cpu() - c);
        let c = cpu();
        warroom::incident::fold_resumable(events.iter())?;
        t[5].push(cpu() - c);
        let app = App::new(Store::open(dir)?, options(id))?;
        let mut term = Terminal::new(TestBackend::new(200, 50))?;
        let c = cpu();
        term.draw(|f| render(&app, f, Utc::now()))?;
        t[6].push(cpu() - c);
    }
    let [step, extent, parse, derived, order, fold, draw] = t.map(median);
    println!(
        "  phases, one thread, CPU: SQLite step {step:?}, extent query {extent:?}, parse {parse:?} \
         (peer, derived Deserialize: {derived:?}), order check {order:?}, fold {fold:?}, first draw {draw:?}; \
         an Event is {} bytes",
        std::mem::size_of::<Event>()
    );
    Ok(())
}
