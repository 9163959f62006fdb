//! Liveness of the live stream: an append whose client hung up still reaches open streams (the
//! root cause of the silent stall), heartbeats carry the head at the configured interval, a client
//! behind a heartbeat pulls the gap, a silent stream is dropped and reopened, a server that comes
//! back after refusing connections is found within seconds, and a reconnect can be forced.

mod sync_support;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use sync_support::*;
use warroom::config::Config;
use warroom::server::{self, ServeOptions};
use warroom::store::Store;
use warroom::sync::plan::is_synced;
use warroom::sync::{Client, StreamItem, SyncConfig, SyncHandle, wire};

async fn start_with_heartbeat(db: &std::path::Path, ms: u64) -> server::Running {
    let mut config = Config::default();
    config.server.tokens = tokens();
    config.server.heartbeat_ms = Some(ms);
    server::start(ServeOptions::from_config("127.0.0.1:0", db, false, &config)).await.expect("server starts")
}

fn client(base: &str) -> Client {
    Client::new(base, Some(ANA.into()), Duration::from_secs(5), "ana").unwrap()
}

/// The next event's seq within `within`, skipping presence and heartbeats; None on timeout.
async fn next_event(s: &mut warroom::sync::client::EventStream, within: Duration) -> Option<i64> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.next()).await {
            Err(_) => return None,
            Ok(item) => match item.expect("stream open").expect("valid item") {
                StreamItem::Event { seq, .. } => return Some(seq),
                _ => continue,
            },
        }
    }
}

/// The stall of issue 12: a push that waited out a frozen server is processed after its client
/// gave up. The server must still publish what it committed. Here the server's writer waits on a
/// lock held by the test while the client hangs up; the heartbeat is an hour away, so only the
/// publish itself can deliver the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_whose_client_hung_up_still_reaches_open_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("s.db");
    let srv = start_with_heartbeat(&db, 3_600_000).await;
    let c = client(&url(&srv));
    let opened = open("ana", "t");
    let inc = opened.id;
    c.push(inc, std::slice::from_ref(&opened)).await.unwrap();
    let mut stream = c.stream(inc, 0).await.unwrap();
    assert_eq!(next_event(&mut stream, Duration::from_secs(10)).await, Some(1));

    // Hold the server database's write lock (through SQLite, as any other writer would).
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let ev = note(inc, "ana", "pushed by a client that gave up");
    let body = serde_json::to_vec(&wire::AppendRequest { events: vec![ev] }).unwrap();
    let mut raw = std::net::TcpStream::connect(srv.addr).unwrap();
    write!(
        raw,
        "POST /v1/incidents/{inc}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ANA}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    raw.write_all(&body).unwrap();
    raw.flush().unwrap();
    // The request is in; the handler waits on the lock. The client hangs up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(raw);
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.execute_batch("ROLLBACK").unwrap();

    assert_eq!(
        next_event(&mut stream, Duration::from_secs(10)).await,
        Some(2),
        "the committed append reached the open stream without waiting for a heartbeat"
    );
    assert_eq!(c.pull(inc, 0, 10).await.unwrap().last_seq, 2);
    srv.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_carry_the_head_at_the_configured_interval() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start_with_heartbeat(&tmp.path().join("s.db"), 200).await;
    let c = client(&url(&srv));
    let opened = open("ana", "t");
    let inc = opened.id;
    c.push(inc, &[opened.clone(), note(inc, "ana", "one")]).await.unwrap();
    let mut stream = c.stream(inc, 2).await.unwrap();
    let mut beats = Vec::new();
    let start = Instant::now();
    while beats.len() < 6 {
        let item =
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
        if let StreamItem::Heartbeat { head, every, store } = item {
            assert_eq!(every, Duration::from_millis(200));
            assert!(store.is_some_and(|s| !s.is_empty()), "every heartbeat names the store");
            beats.push(head);
            if beats.len() == 3 {
                c.push(inc, &[note(inc, "ana", "two")]).await.unwrap();
            }
        }
    }
    assert_eq!(beats[0], 2, "the first heartbeat comes at once with the head");
    assert_eq!(*beats.last().unwrap(), 3, "later ones follow the head: {beats:?}");
    // Five intervals after the first: well over 0.8 s, and nowhere near the 15 s keep-alive.
    assert!(start.elapsed() >= Duration::from_millis(800), "{:?}", start.elapsed());
    srv.stop().await.unwrap();
}

/// A stand-in server: its stream sends a heartbeat naming `head` every 200 ms (or only once when
/// `silent`), never an event; its catch-up answers `events`. Counts stream requests.
struct Fake {
    base: String,
    streams: Arc<AtomicUsize>,
}

async fn fake(events: Vec<wire::Sequenced>, silent: bool) -> Fake {
    let head = events.last().map_or(0, |s| s.seq);
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = streams.clone();
    let pulls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/v1/incidents/{id}/events",
            get(move |q: axum::extract::Query<std::collections::HashMap<String, i64>>| {
                // The catch-up before the stream finds nothing: only the heartbeat reveals the gap.
                let first = pulls.fetch_add(1, Ordering::SeqCst) == 0;
                let after = q.get("after").copied().unwrap_or(0);
                let events: Vec<wire::Sequenced> = if first {
                    Vec::new()
                } else {
                    events.iter().filter(|s| s.seq > after).cloned().collect()
                };
                async move { axum::Json(wire::EventsPage { events, last_seq: head }) }
            }),
        )
        .route(
            "/v1/incidents/{id}/stream",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    let beat = format!("event: heartbeat\ndata: {{\"head\":{head},\"every_ms\":200}}\n\n");
                    let s = futures_util::stream::unfold(0u64, move |n| {
                        let beat = beat.clone();
                        async move {
                            if n > 0 {
                                let wait = if silent { 3600 } else { 0 };
                                tokio::time::sleep(Duration::from_millis(200) + Duration::from_secs(wait))
                                    .await;
                            }
                            Some((Ok::<_, std::io::Error>(beat), n + 1))
                        }
                    });
                    axum::response::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(Body::from_stream(s))
                        .unwrap()
                }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    Fake { base: format!("http://{addr}"), streams }
}

fn sync_config(dir: &std::path::Path, server: &str, incident: uuid::Uuid) -> SyncConfig {
    SyncConfig {
        data_dir: dir.to_path_buf(),
        server: server.into(),
        token: None,
        viewer: "ana".into(),
        incident,
    }
}

async fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    eventually(secs, &mut f).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_behind_a_heartbeat_pulls_the_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let opened = open("bo", "t");
    let inc = opened.id;
    let events: Vec<wire::Sequenced> = [opened.clone(), note(inc, "bo", "a"), note(inc, "bo", "b")]
        .into_iter()
        .enumerate()
        .map(|(i, event)| wire::Sequenced { seq: i as i64 + 1, event })
        .collect();
    // The catch-up before the stream sees nothing; the first heartbeat then names head 3.
    let srv = fake(events, false).await;
    let store = Store::open(tmp.path()).unwrap();
    let handle = SyncHandle::spawn(sync_config(tmp.path(), &srv.base, inc)).unwrap();
    let status = handle.status.clone();
    assert!(
        until(10, || store.events(inc).unwrap().len() == 3).await,
        "the gap named by the heartbeat was pulled"
    );
    assert_eq!(warroom::sync::engine::cursor(&store, inc).unwrap(), 3);
    assert!(until(10, || is_synced(&status.borrow(), chrono::Utc::now())).await, "{:?}", status.borrow());
    handle.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stream_is_dropped_and_reopened_and_ctrl_r_reconnects_now() {
    let tmp = tempfile::tempdir().unwrap();
    let inc = uuid::Uuid::now_v7();
    // One heartbeat (every 200 ms), then silence with the connection open.
    let srv = fake(Vec::new(), true).await;
    let handle = SyncHandle::spawn(sync_config(tmp.path(), &srv.base, inc)).unwrap();
    let status = handle.status.clone();
    assert!(until(10, || srv.streams.load(Ordering::SeqCst) >= 1).await);
    // 2.5 silent intervals (0.5 s) later the client gives up on it and opens another.
    assert!(until(10, || srv.streams.load(Ordering::SeqCst) >= 3).await, "reopened after silence");
    // Never `synced` for longer than two intervals after the last heartbeat.
    assert!(until(10, || !is_synced(&status.borrow(), chrono::Utc::now())).await);
    handle.stop();

    // A healthy stream: C-r (reconnect) opens a new one at once, not after any backoff.
    let srv = fake(Vec::new(), false).await;
    let handle = SyncHandle::spawn(sync_config(tmp.path(), &srv.base, inc)).unwrap();
    assert!(until(10, || srv.streams.load(Ordering::SeqCst) == 1).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(srv.streams.load(Ordering::SeqCst), 1, "a live stream is kept");
    handle.reconnect();
    assert!(until(3, || srv.streams.load(Ordering::SeqCst) == 2).await, "reconnected on request");
    handle.stop();
}

/// The server refuses connections long enough for the backoff to grow past 8 s; once it is back
/// the client finds it within a few seconds by probing, not at the end of the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_back_after_refusing_is_found_within_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let store = Store::open(&tmp.path().join("c")).unwrap();
    let opened = open("ana", "t");
    store.append(&opened).unwrap();
    let mut cfg = sync_config(&tmp.path().join("c"), &format!("http://{listen}"), opened.id);
    cfg.token = Some(ANA.into());
    let handle = SyncHandle::spawn(cfg).unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(store.pending_count().unwrap(), 1);
    let mut config = Config::default();
    config.server.tokens = tokens();
    config.server.heartbeat_ms = Some(250);
    let srv =
        server::start(ServeOptions::from_config(listen.clone(), tmp.path().join("s.db"), false, &config))
            .await
            .expect("server starts on the same port");
    let back = Instant::now();
    let status = handle.status.clone();
    assert!(until(20, || is_synced(&status.borrow(), chrono::Utc::now())).await);
    let took = back.elapsed();
    // Without probing, the fifth failure's backoff (8-16 s) would still be running.
    assert!(took < Duration::from_secs(5), "reconnected {took:?} after the server came back");
    assert_eq!(store.pending_count().unwrap(), 0);
    handle.stop();
    srv.stop().await.unwrap();
}
