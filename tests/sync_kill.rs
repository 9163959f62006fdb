//! Faults with the real binary: SIGKILL during a stream of appends loses no acknowledged event
//! and duplicates none; SIGTERM shuts down gracefully, closing streams.

mod sync_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sync_support::*;
use warroom::incident::fold;
use warroom::store::Store;
use warroom::sync::{Client, engine};

fn client(base: &str) -> Client {
    Client::new(base, Some(ANA.into()), Duration::from_secs(3), "ana").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_appends_keeps_every_acknowledged_event_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_server_config(tmp.path());
    let db = tmp.path().join("s.db");
    let (mut child, base) = spawn_server(&cfg, &db, "127.0.0.1:0");
    let dir = tmp.path().join("client");
    let (store, inc) = store_with_incident(&dir, "ana@h", "kill me");

    // A writer appends locally and pushes in a tight loop until three pushes in a row have failed
    // (the server is gone): the batches it appends meanwhile must be resent after the restart.
    let writer = Writer::spawn(&dir, &base, inc, "ana@h", 25, Some(3));
    assert!(eventually(60, || acked(&store, inc).len() >= 300).await, "appends are acknowledged");
    child.kill().unwrap(); // SIGKILL, while the writer is mid-stream
    child.wait().unwrap();
    // The writer gives up after 3 failed pushes (each bounded by the client timeout).
    assert!(eventually(30, || writer.is_finished()).await, "writer stops");
    writer.stop().await;
    let before = acked(&store, inc);
    assert!(store.pending_count().unwrap() > 0, "the kill left unacknowledged events to resend");

    // Restart on the same database: every acknowledged event is there, exactly once, in order.
    let (mut child, base) = spawn_server(&cfg, &db, "127.0.0.1:0");
    let c = client(&base);
    assert_acked_on_server_once(&c, inc, &before).await;

    // The client catches up: its outbox drains (resending what the kill cut off) without duplicates.
    engine::sync_once(&store, &c, &[inc]).await.unwrap();
    assert_eq!(store.pending_count().unwrap(), 0);
    let local: HashSet<_> = store.events(inc).unwrap().into_iter().map(|e| e.id).collect();
    let page_count = {
        let other = Store::open(&tmp.path().join("other")).unwrap();
        engine::pull(&other, &c, inc).await.unwrap();
        assert_eq!(fold(&other.events(inc).unwrap()).unwrap(), fold(&store.events(inc).unwrap()).unwrap());
        other.events(inc).unwrap().len()
    };
    assert_eq!(page_count, local.len());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_streams_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_server_config(tmp.path());
    let (mut child, base) = spawn_server(&cfg, &tmp.path().join("s.db"), "127.0.0.1:0");
    let c = client(&base);
    let opened = open("ana", "t");
    c.push(opened.id, std::slice::from_ref(&opened)).await.unwrap();
    let mut stream = c.stream(opened.id, 0).await.unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    // The stream ends (rather than hanging) and the process exits 0, all within a deadline.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "stream closed on shutdown");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}
