//! Append throughput of `warroom serve` (SQLite, WAL, synchronous=FULL) over loopback HTTP.
//! Run: cargo run --release --example bench_append [-- EVENTS BATCH CLIENTS]

use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::config::{Config, TokenConfig};
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::{self, ServeOptions};
use warroom::sync::Client;

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let total = args.first().copied().unwrap_or(100_000);
    let batch = args.get(1).copied().unwrap_or(500);
    let clients = args.get(2).copied().unwrap_or(4);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    let token = "bench-token-0123456789".to_string();
    config.server.tokens =
        vec![TokenConfig { name: "bench".into(), token: Some(token.clone()), token_sha256: None }];
    let srv =
        server::start(ServeOptions::from_config("127.0.0.1:0", tmp.path().join("bench.db"), false, &config))
            .await
            .expect("server starts");
    let base = format!("http://{}", srv.addr);
    let per_client = total / clients;
    // Prepare every batch first so the timing covers only the HTTP append path.
    let mut work = Vec::new();
    for c in 0..clients {
        let open = Event::open(Utc::now(), "bench", format!("incident {c}"), Severity::new(3).unwrap(), None);
        let inc = open.id;
        let mut events = vec![open];
        events.extend((1..per_client).map(|i| {
            let text = format!("note {i}: the quick brown fox checked the disk and found it 93% full");
            Event::new(inc, Utc::now(), "bench@host", EventKind::Note { text, tag: Tag::Note })
        }));
        let batches: Vec<Vec<Event>> = events.chunks(batch).map(|c| c.to_vec()).collect();
        work.push((inc, batches));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (inc, batches) in work {
        let client =
            Client::new(&base, Some(token.clone()), Duration::from_secs(60), "bench").expect("client");
        tasks.push(tokio::spawn(async move {
            for b in batches {
                client.push(inc, &b).await.expect("push");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let took = started.elapsed();
    let n = per_client * clients;
    println!(
        "appended {n} events in batches of {batch} from {clients} clients in {:.2} s: {:.0} events/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    srv.stop().await.expect("stop");
}
