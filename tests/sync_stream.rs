//! Live sync against a real in-process server: SSE resume without gaps, presence, two clients
//! converging, and an offline client draining its outbox exactly once.

mod sync_support;

use std::time::Duration;

use sync_support::*;
use warroom::incident::fold;
use warroom::store::Store;
use warroom::sync::{Client, Link, StreamItem, engine};

fn client(base: &str, token: &str) -> Client {
    Client::new(base, Some(token.into()), Duration::from_secs(5), "x").unwrap()
}

async fn next_event(s: &mut warroom::sync::client::EventStream) -> i64 {
    loop {
        let item =
            tokio::time::timeout(Duration::from_secs(10), s.next()).await.expect("stream item in time");
        match item.expect("stream open").expect("valid item") {
            StreamItem::Event { seq, .. } => return seq,
            StreamItem::Presence(_) | StreamItem::Heartbeat { .. } => continue,
        }
    }
}

on_both_stores! {
async fn sse_resumes_from_last_event_id_without_gaps(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(fresh_db(backend, tmp.path()).await).await;
    let ana = client(&url(&srv), ANA);
    let opened = open("ana", "t");
    let inc = opened.id;
    let mut batch = vec![opened];
    batch.extend((0..9).map(|i| note(inc, "ana", &format!("n{i}"))));
    ana.push(inc, &batch).await.unwrap();

    let bo = client(&url(&srv), BO);
    let mut stream = bo.stream(inc, 0).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next_event(&mut stream).await);
    }
    // Presence is live state: bo is listed while the stream is open.
    let p = ana.presence(inc).await.unwrap();
    assert_eq!(p.viewers, vec!["bo"]);
    drop(stream);
    let mut left = false;
    for _ in 0..500 {
        if ana.presence(inc).await.unwrap().viewers.is_empty() {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(left, "presence cleared when the stream closed");

    // More events while disconnected, then resume from the last id seen.
    let more: Vec<_> = (0..5).map(|i| note(inc, "ana", &format!("m{i}"))).collect();
    ana.push(inc, &more).await.unwrap();
    let mut stream = bo.stream(inc, *seen.last().unwrap()).await.unwrap();
    for _ in 0..11 {
        seen.push(next_event(&mut stream).await);
    }
    // And live ones after the catch-up.
    ana.push(inc, &[note(inc, "ana", "live")]).await.unwrap();
    seen.push(next_event(&mut stream).await);
    assert_eq!(seen, (1..=16).collect::<Vec<i64>>());
    srv.stop().await.unwrap();
}
}

on_both_stores! {
async fn two_clients_writing_concurrently_converge(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(fresh_db(backend, tmp.path()).await).await;
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (store_a, inc) = store_with_incident(&dir_a, "ana@a", "shared");
    let store_b = Store::open(&dir_b).unwrap();
    engine::push_outbox(&store_a, &client(&url(&srv), ANA)).await.unwrap();

    let ha = follow(&dir_a, &url(&srv), ANA, "ana", inc);
    let hb = follow(&dir_b, &url(&srv), BO, "bo", inc);
    // Both write at once, nudging their task after each local write; b's clock runs 2 h ahead
    // (skew must not matter: the fold orders by (at, id), the server by arrival).
    let skew = chrono::Duration::hours(2);
    for i in 0..40 {
        store_a.append(&note(inc, "ana@a", &format!("a{i}"))).unwrap();
        ha.nudge();
        let mut b = note(inc, "bo@b", &format!("b{i}"));
        b.at += skew;
        store_b.append(&b).unwrap();
        hb.nudge();
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let converged = eventually(30, || {
        let (ea, eb) = (store_a.events(inc).unwrap(), store_b.events(inc).unwrap());
        ea.len() == 81
            && eb.len() == 81
            && store_a.pending_count().unwrap() == 0
            && store_b.pending_count().unwrap() == 0
    })
    .await;
    assert!(converged, "a={} b={}", store_a.events(inc).unwrap().len(), store_b.events(inc).unwrap().len());
    assert_eq!(fold(&store_a.events(inc).unwrap()).unwrap(), fold(&store_b.events(inc).unwrap()).unwrap());
    // Each sees the other in presence, and the status line says synced.
    assert!(
        eventually(10, || ha.status.borrow().viewers == vec!["ana", "bo"]).await,
        "{:?}",
        ha.status.borrow()
    );
    assert!(
        eventually(10, || hb.status.borrow().link == Link::Online && hb.status.borrow().pending == 0).await
    );
    assert!(*hb.arrivals.borrow() > 0);
    ha.stop();
    hb.stop();
    srv.stop().await.unwrap();
}
}

on_both_stores! {
async fn offline_client_drains_its_outbox_exactly_once(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    // Reserve a port for the server that is not running yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tmp.path().join("c");
    let (store, inc) = store_with_incident(&dir, "ana", "cut off");
    let h = follow(&dir, &base, ANA, "ana", inc);
    for i in 0..25 {
        store.append(&note(inc, "ana", &format!("offline {i}"))).unwrap();
    }
    h.nudge();
    assert!(eventually(10, || matches!(h.status.borrow().link, Link::Offline { .. })).await);
    // A one-shot CLI-style round fails too, and changes nothing locally.
    let c = client(&base, ANA);
    assert!(engine::sync_once(&store, &c, &[inc]).await.is_err());
    assert_eq!(store.pending_count().unwrap(), 26);

    // The server comes back on the same port: the outbox drains, and each event lands once.
    let db = fresh_db(backend, tmp.path()).await;
    let srv = start_on(db.clone(), &format!("127.0.0.1:{port}")).await;
    h.nudge();
    assert!(eventually(40, || store.pending_count().unwrap() == 0).await, "{:?}", h.status.borrow());
    // A second client racing the task with the same outbox cannot duplicate anything.
    engine::sync_once(&store, &c, &[inc]).await.unwrap();
    assert!(eventually(10, || h.status.borrow().link == Link::Online).await);
    let stored = stored_count(&db).await;
    assert_eq!(stored, 26);
    let page = c.pull(inc, 0, 1000).await.unwrap();
    let mut ids: Vec<_> = page.events.iter().map(|s| s.event.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 26);
    h.stop();
    srv.stop().await.unwrap();
}
}

/// Presence changes are coalesced per stream (at most one message per 250 ms), never dropped:
/// after a burst of viewers joining on an insecure-loopback server, a stream's latest presence
/// message lists all of them, and after they leave, only who is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_presence_ends_on_the_latest_list() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = warroom::server::start(warroom::server::ServeOptions::from_config(
        "127.0.0.1:0",
        tmp.path().join("s.db"),
        true,
        &warroom::config::Config::default(),
    ))
    .await
    .unwrap();
    let base = url(&srv);
    let opened = open("ana", "presence");
    let inc = opened.id;
    let viewer = |name: &str| Client::new(&base, None, Duration::from_secs(5), name).unwrap();
    viewer("ana").push(inc, std::slice::from_ref(&opened)).await.unwrap();
    let mut watcher = viewer("watcher").stream(inc, 0).await.unwrap();
    // Reads presence messages until one equals `want` (bounded).
    async fn until(s: &mut warroom::sync::client::EventStream, want: &[String]) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while let Ok(Some(Ok(item))) = tokio::time::timeout_at(deadline, s.next()).await {
            if let StreamItem::Presence(v) = item
                && v == want
            {
                return true;
            }
        }
        false
    }
    let mut others = Vec::new();
    for i in 0..30 {
        others.push(viewer(&format!("v{i:02}")).stream(inc, 0).await.unwrap());
    }
    let mut everyone: Vec<String> = (0..30).map(|i| format!("v{i:02}")).collect();
    everyone.push("watcher".into());
    everyone.sort();
    assert!(until(&mut watcher, &everyone).await, "the watcher saw the full list after the burst");
    drop(others);
    assert!(until(&mut watcher, &["watcher".to_string()]).await, "and only itself once they left");
    srv.stop().await.unwrap();
}
