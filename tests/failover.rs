//! Clients with several server URLs move on when a replica answers 5xx (its database is gone),
//! and stay when it answers 4xx (the request is at fault and would fail the same everywhere).
//! The stand-in is a real loopback HTTP server; the Postgres case cuts a real replica off its
//! real database through a proxy, beside a healthy replica on the same database.

mod sync_support;

#[path = "common/mod.rs"]
mod common;
#[path = "common/pty.rs"]
mod pty;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use sync_support::proxy::{Mode, Proxy};
use sync_support::*;
use warroom::server::Db;
use warroom::sync::{Client, SyncError};

/// A replica stand-in that answers every request (health checks too) with `status`.
fn failing_replica(status: Arc<AtomicU16>) -> common::Stub {
    let app = axum::Router::new().fallback(move || {
        let code = StatusCode::from_u16(status.load(Ordering::Relaxed)).unwrap();
        async move { (code, axum::Json(serde_json::json!({ "error": "stand-in says no" }))) }
    });
    common::Stub::serve(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_moves_the_client_to_the_next_replica_and_a_4xx_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Arc::new(AtomicU16::new(422));
    let stub = failing_replica(status.clone());
    let real = start(tmp.path().join("s.db")).await;
    let (bad, good) = (format!("http://{}", stub.addr), url(&real));
    let client =
        Client::new(&format!("{bad},{good}"), Some(ANA.into()), Duration::from_secs(5), "ana").unwrap();
    let opened = open("ana@h", "failover");
    let inc = opened.id;
    let batch = vec![opened, note(inc, "ana@h", "one")];
    for code in [400, 401, 404, 409, 413, 422] {
        status.store(code, Ordering::Relaxed);
        let e = client.push(inc, &batch).await.unwrap_err();
        assert!(matches!(e, SyncError::Status { code: c, .. } if c == code), "{e}");
        assert!(!e.fails_over());
        assert_eq!(client.base(), bad, "a {code} keeps the client where it is");
    }
    status.store(503, Ordering::Relaxed);
    let e = client.push(inc, &batch).await.unwrap_err();
    assert!(e.fails_over(), "{e}");
    assert_eq!(client.base(), good, "a 503 moves the client on");
    let acks = client.push(inc, &batch).await.unwrap();
    assert_eq!(acks.len(), 2);
    // Answers from the good one keep the client there.
    assert_eq!(server_ids(&client, inc).await, batch.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(client.base(), good);

    // The sync task, starting on the failing replica, ends up on the good one with every event
    // there exactly once.
    let dir = tmp.path().join("client");
    let (store, inc) = store_with_incident(&dir, "ana@h", "failover task");
    for i in 0..20 {
        store.append(&note(inc, "ana@h", &format!("n{i}"))).unwrap();
    }
    for code in [500, 502, 503, 504] {
        status.store(code, Ordering::Relaxed);
        let h = follow(&dir, &format!("{bad},{good}"), ANA, "ana", inc);
        store.append(&note(inc, "ana@h", &format!("after {code}"))).unwrap();
        h.nudge();
        assert!(
            eventually(20, || store.pending_count().unwrap() == 0
                && h.status.borrow().link == warroom::sync::Link::Online)
            .await,
            "{code}: the task moved on and pushed: {:?}",
            h.status.borrow()
        );
        h.stop();
    }
    let ids = server_ids(&client, inc).await;
    assert_eq!(ids.len(), 25, "each event once");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>(),
        store.events(inc).unwrap().iter().map(|e| &e.id).collect()
    );
    real.stop().await.unwrap();
}

/// Replica 1 reaches Postgres through a proxy; cutting the proxy leaves replica 1 running with no
/// database, so it answers 503. A cockpit's sync task and a CLI command, each with both URLs
/// (replica 1 first), carry on through replica 2: nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_without_its_database_answers_503_and_clients_move_on() {
    let Some(cluster) = pg::cluster() else { return };
    let direct = cluster.create_db().await;
    let name = direct.trim_start_matches("postgresql:///").split('?').next().unwrap().to_string();
    let proxy = Proxy::start_unix(&cluster.dir.join(".s.PGSQL.5432"));
    let via_proxy = format!("postgresql://warroom@{}/{name}", proxy.addr);
    let tmp = tempfile::tempdir().unwrap();
    let r1 = start(Db::Postgres(via_proxy)).await;
    let r2 = start(Db::Postgres(direct)).await;
    let (base1, base2) = (url(&r1), url(&r2));
    let both = format!("{base1},{base2}");

    let dir = tmp.path().join("a");
    let (store, inc) = store_with_incident(&dir, "ana@a", "db gone under a replica");
    let h = follow(&dir, &both, ANA, "ana", inc);
    let write = |n: usize, from: usize| {
        for i in from..from + n {
            store.append(&note(inc, "ana@a", &format!("n{i}"))).unwrap();
            h.nudge();
        }
    };
    write(20, 0);
    assert!(eventually(20, || acked(&store, inc).len() == 21).await, "writes flow through replica 1");

    proxy.set(Mode::Refuse);
    proxy.reset();
    let health = reqwest::get(format!("{base1}/healthz")).await.unwrap();
    assert_eq!(health.status(), 503, "replica 1 says its database is gone");
    write(20, 20);
    assert!(
        eventually(30, || acked(&store, inc).len() == 41).await,
        "writes go on through replica 2: {} acked, {:?}",
        acked(&store, inc).len(),
        h.status.borrow()
    );
    h.stop();

    // A CLI command with both URLs: replica 1 answers 503, the note lands on replica 2 at once.
    let cli = tmp.path().join("cli");
    std::fs::create_dir_all(&cli).unwrap();
    std::fs::write(
        cli.join("config.toml"),
        format!(
            "[user]\nname = \"ana\"\ntimezone = \"UTC\"\n\n[server]\nurl = \"{both}\"\ntoken = \"{ANA}\"\n"
        ),
    )
    .unwrap();
    pty::cli(&cli, &["join", &base2, &inc.to_string()], None);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["note", "from the cli"])
        .envs(pty::env(&cli))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("queued"), "the note was pushed, not queued: {stderr}");

    let m = metrics(&base1).await;
    assert!(
        m.lines().any(|l| l.starts_with("warroom_http_requests_total") && l.contains("status=\"503\"")),
        "replica 1 answered 503:\n{m}"
    );
    let c = Client::new(&base2, Some(ANA.into()), Duration::from_secs(5), "ana").unwrap();
    let ids = server_ids(&c, inc).await;
    let set: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "no duplicates");
    assert_eq!(ids.len(), 42, "the 41 events and the CLI's note");
    assert!(acked(&store, inc).is_subset(&set), "every acknowledged event is stored");
    r1.stop().await.unwrap();
    r2.stop().await.unwrap();
}
