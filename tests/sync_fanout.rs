//! The stream path after it stopped using a task and a channel per subscriber: a stream that
//! opens far behind reads the database page by page and then goes live; a stream whose reader
//! stops reading falls out of the broadcast buffer and reads what it missed from the database;
//! both through the real client, which refuses any gap or duplicate.

mod sync_support;

use std::time::Duration;

use sync_support::*;
use warroom::sync::{Client, StreamItem};

fn client(base: &str) -> Client {
    Client::new(base, Some(ANA.into()), Duration::from_secs(30), "x").unwrap()
}

async fn item(s: &mut warroom::sync::client::EventStream) -> StreamItem {
    tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("stream item in time")
        .expect("stream open")
        .expect("valid item (no gap, no duplicate)")
}

/// The server's `warroom_stream_catch_ups_total`.
async fn catch_ups(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("warroom_stream_catch_ups_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no catch-up counter in /metrics:\n{text}"))
}

on_both_stores! {
/// 2,500 events are stored before the stream opens (three catch-up pages of at most 1,000);
/// they arrive in order, then the first heartbeat names their head, then a new note arrives live.
async fn a_stream_far_behind_reads_every_page_then_goes_live(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(fresh_db(backend, tmp.path()).await).await;
    let c = client(&url(&srv));
    let opened = open("ana", "pages");
    let inc = opened.id;
    let mut events = vec![opened];
    events.extend((1..2500).map(|i| note(inc, "ana", &format!("n{i}"))));
    for batch in events.chunks(500) {
        c.push(inc, batch).await.unwrap();
    }
    let mut s = c.stream(inc, 0).await.unwrap();
    let mut seen = 0;
    loop {
        match item(&mut s).await {
            StreamItem::Event { seq, event } => {
                assert_eq!(seq, seen + 1);
                assert_eq!(event.id, events[seen as usize].id, "seq {seq} is the event stored as it");
                seen = seq;
            }
            StreamItem::Heartbeat { head, .. } => {
                assert_eq!((seen, head), (2500, 2500), "the first heartbeat comes after the whole catch-up");
                break;
            }
            StreamItem::Presence(_) => {}
        }
    }
    let live = note(inc, "ana", "live");
    c.push(inc, std::slice::from_ref(&live)).await.unwrap();
    loop {
        if let StreamItem::Event { seq, event } = item(&mut s).await {
            assert_eq!((seq, event.id), (2501, live.id));
            break;
        }
    }
    srv.stop().await.unwrap();
}
}

/// A stream opened and then not read while 1,300 single-note appends (4 KiB each, more than the
/// socket buffers and the 1,024-message broadcast buffer hold) are published: the server stops
/// polling it, it lags out of the broadcast, and on reading it gets every event once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_stops_reading_falls_back_to_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(tmp.path().join("s.db")).await;
    let base = url(&srv);
    let c = client(&base);
    let opened = open("ana", "lag");
    let inc = opened.id;
    c.push(inc, std::slice::from_ref(&opened)).await.unwrap();
    let mut s = c.stream(inc, 1).await.unwrap();
    let before = catch_ups(&base).await;
    const NOTES: usize = 1300;
    let text = "x".repeat(4096);
    let mut writers = Vec::new();
    for w in 0..4 {
        let (c, text) = (client(&base), text.clone());
        writers.push(tokio::spawn(async move {
            for i in (w..NOTES).step_by(4) {
                c.push(inc, &[note(inc, "ana", &format!("{i} {text}"))]).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let mut seen = 1;
    while seen < 1 + NOTES as i64 {
        if let StreamItem::Event { seq, .. } = item(&mut s).await {
            assert_eq!(seq, seen + 1, "in order, each once");
            seen = seq;
        }
    }
    assert!(
        catch_ups(&base).await > before,
        "the stream fell behind the broadcast and read from the database (else this test proves nothing)"
    );
    srv.stop().await.unwrap();
}
