//! Benchmark: fold and Markdown export of a 10,000-event incident, and store append throughput.
//!
//! Run: `cargo run --release --example bench_store`. Not a test: figures go in README.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use warroom::incident::export::{to_json, to_markdown};
use warroom::incident::{Event, EventKind, Severity, Status, Tag, fold};
use warroom::store::Store;

fn incident(n: usize) -> Vec<Event> {
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc();
    let open =
        Event::open(t0, "ana@db1", "Checkout API returning 502".into(), Severity::new(1).unwrap(), None);
    let mut evs = vec![open.clone()];
    for i in 1..n {
        let at = t0 + chrono::Duration::milliseconds(i as i64 * 350);
        let kind = match i % 10 {
            0 => EventKind::StatusSet { status: Status::ALL[i / 10 % 4] },
            1 => EventKind::ChecklistItemSet {
                runbook: "cpu".into(),
                item: format!("i{}", i % 40),
                checked: i % 3 == 0,
            },
            _ => EventKind::Note {
                text: format!("observation {i}: p99 latency {} ms on pay-svc | pool {}", i % 900, i % 7),
                tag: Tag::ALL[i % 5],
            },
        };
        evs.push(Event::new(open.id, at, ["ana@db1", "bo@laptop", "cy@db2"][i % 3], kind));
    }
    evs
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let evs = incident(10_000);
    let now = Utc::now();
    let state = fold(&evs).unwrap();
    let tz = Some(chrono_tz::Europe::Berlin);
    println!("10,000-event incident (best of 20):");
    println!("  fold             {:>8.2} ms", best_of(20, || fold(&evs).unwrap()).as_secs_f64() * 1e3);
    println!(
        "  markdown export  {:>8.2} ms",
        best_of(20, || to_markdown(&state, &evs, tz, now)).as_secs_f64() * 1e3
    );
    println!("  json export      {:>8.2} ms", best_of(20, || to_json(&state, &evs, now)).as_secs_f64() * 1e3);

    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let n = 500;
    let t = Instant::now();
    for ev in &evs[..n] {
        store.append(ev).unwrap();
    }
    let single = t.elapsed();
    println!(
        "store append, one durable transaction each (synchronous=FULL): {:>8.0} events/s ({:.2} ms each)",
        n as f64 / single.as_secs_f64(),
        single.as_secs_f64() * 1e3 / n as f64
    );
    let t = Instant::now();
    for chunk in evs[n..].chunks(500) {
        store.append_all(chunk, None).unwrap();
    }
    let batched = t.elapsed();
    println!(
        "store append, batches of 500:                                  {:>8.0} events/s",
        (evs.len() - n) as f64 / batched.as_secs_f64()
    );
    println!(
        "load 10,000 events from the store: {:>8.2} ms",
        best_of(10, || store.events(evs[0].incident).unwrap()).as_secs_f64() * 1e3
    );
}
