//! Latency from a note's append (POST sent) to its arrival at each of N SSE subscribers.
//! Run: cargo run --release --example bench_fanout [-- SUBSCRIBERS NOTES]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::config::Config;
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::{self, ServeOptions};
use warroom::sync::{Client, StreamItem};

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let subscribers = args.first().copied().unwrap_or(100);
    let notes = args.get(1).copied().unwrap_or(200);
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = server::start(ServeOptions::from_config(
        "127.0.0.1:0",
        tmp.path().join("bench.db"),
        true,
        &Config::default(),
    ))
    .await
    .expect("server starts");
    let base = format!("http://{}", srv.addr);
    let writer = Client::new(&base, None, Duration::from_secs(10), "writer").expect("client");
    let open = Event::open(Utc::now(), "writer", "fan-out".into(), Severity::new(3).unwrap(), None);
    let inc = open.id;
    writer.push(inc, std::slice::from_ref(&open)).await.expect("open");

    let sent: Arc<Mutex<HashMap<uuid::Uuid, Instant>>> = Arc::default();
    // Presence messages that arrive while notes are measured compete with them for the same
    // sockets and cores: count them, so a slow run says whether that is why.
    let measuring = Arc::new(AtomicBool::new(false));
    let presence_during = Arc::new(AtomicUsize::new(0));
    let setup = Instant::now();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<Vec<Duration>>(subscribers);
    for s in 0..subscribers {
        let c = Client::new(&base, None, Duration::from_secs(10), &format!("viewer{s}")).expect("client");
        let mut stream = c.stream(inc, 1).await.expect("stream");
        let (sent, done_tx) = (sent.clone(), done_tx.clone());
        let (measuring, presence_during) = (measuring.clone(), presence_during.clone());
        tokio::spawn(async move {
            let mut lat = Vec::with_capacity(notes);
            while lat.len() < notes {
                match stream.next().await {
                    Some(Ok(StreamItem::Event { event, .. })) => {
                        let now = Instant::now();
                        if let Some(t) = sent.lock().expect("lock").get(&event.id) {
                            lat.push(now - *t);
                        }
                    }
                    Some(Ok(StreamItem::Presence(_))) => {
                        if measuring.load(Ordering::Relaxed) {
                            presence_during.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(Ok(StreamItem::Heartbeat { .. })) => {}
                    other => panic!("stream ended: {other:?}"),
                }
            }
            let _ = done_tx.send(lat).await;
        });
    }
    // Let every subscriber's presence churn settle before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let setup = setup.elapsed();
    measuring.store(true, Ordering::Relaxed);
    for i in 0..notes {
        let ev = Event::new(
            inc,
            Utc::now(),
            "writer",
            EventKind::Note { text: format!("note {i}"), tag: Tag::Note },
        );
        sent.lock().expect("lock").insert(ev.id, Instant::now());
        writer.push(inc, std::slice::from_ref(&ev)).await.expect("push");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut all = Vec::new();
    for _ in 0..subscribers {
        all.extend(done_rx.recv().await.expect("subscriber finished"));
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{subscribers} subscribers x {notes} notes = {} arrivals: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (setup {:.1} s, presence messages while measuring: {})",
        all.len(),
        pct(0.5),
        pct(0.99),
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        setup.as_secs_f64(),
        presence_during.load(Ordering::Relaxed),
    );
    srv.stop().await.expect("stop");
}
