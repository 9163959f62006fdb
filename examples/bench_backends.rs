//! Ingest over HTTP on each server backend beside the bare floor of its engine, measured in the
//! same run, and note-to-arrival latency across two Postgres replicas.
//!
//! Run: cargo run --release --example bench_backends -- [POSTGRES_URL] [EVENTS] [SUBSCRIBERS]
//! Without a URL the bench starts its own throwaway Postgres cluster from the system's package
//! with the tests' support (tests/sync_support/pg.rs), but with Postgres's durable defaults
//! (fsync, synchronous_commit, full_page_writes on), like SQLite's synchronous=FULL here; without
//! Postgres installed only SQLite is measured. A URL given should name an empty, durable
//! database. See bench/README.md.

#[path = "../tests/sync_support/pg.rs"]
#[allow(dead_code)]
mod pg_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use warroom::config::{Config, TokenConfig};
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::{self, Db, Running, ServeOptions};
use warroom::sync::{Client, StreamItem};

const BATCH: usize = 500;
const CLIENTS: usize = 4;
const TOKEN: &str = "bench-token-0123456789";

fn config() -> Config {
    let mut config = Config::default();
    config.server.tokens =
        vec![TokenConfig { name: "bench".into(), token: Some(TOKEN.into()), token_sha256: None }];
    config
}

async fn serve(db: Db) -> Running {
    server::start(ServeOptions::from_config("127.0.0.1:0", db, false, &config()))
        .await
        .expect("server starts")
}

/// CLIENTS incidents, each with `per` events in batches of BATCH.
fn work(per: usize) -> Vec<(uuid::Uuid, Vec<Vec<Event>>)> {
    (0..CLIENTS)
        .map(|c| {
            let open =
                Event::open(Utc::now(), "bench", format!("incident {c}"), Severity::new(3).unwrap(), None);
            let inc = open.id;
            let mut events = vec![open];
            events.extend((1..per).map(|i| {
                let text = format!("note {i}: the quick brown fox checked the disk and found it 93% full");
                Event::new(inc, Utc::now(), "bench", EventKind::Note { text, tag: Tag::Note })
            }));
            (inc, events.chunks(BATCH).map(|c| c.to_vec()).collect())
        })
        .collect()
}

async fn http_ingest(base: &str, per: usize) -> f64 {
    let work = work(per);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (inc, batches) in work {
        let client = Client::new(base, Some(TOKEN.into()), Duration::from_secs(60), "bench").unwrap();
        tasks.push(tokio::spawn(async move {
            for b in batches {
                client.push(inc, &b).await.expect("push");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (per * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

/// rusqlite, same schema and pragmas as the server store, one transaction per batch.
fn sqlite_floor(path: &std::path::Path, per: usize) -> f64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).unwrap();
    c.execute_batch(
        "PRAGMA synchronous=FULL; CREATE TABLE events (incident TEXT NOT NULL, seq INTEGER NOT NULL,
         id TEXT NOT NULL UNIQUE, author TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
         PRIMARY KEY (incident, seq)) WITHOUT ROWID;",
    )
    .unwrap();
    let work = work(per);
    let started = Instant::now();
    let mut c = c;
    for (inc, batches) in &work {
        let inc = inc.to_string();
        let mut seq = 0i64;
        for b in batches {
            let tx = c.transaction().unwrap();
            {
                let mut ins =
                    tx.prepare_cached("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6)").unwrap();
                for ev in b {
                    seq += 1;
                    let body = serde_json::to_string(ev).unwrap();
                    ins.execute(rusqlite::params![
                        inc,
                        seq,
                        ev.id.to_string(),
                        ev.author,
                        ev.kind.name(),
                        body
                    ])
                    .unwrap();
                }
            }
            tx.commit().unwrap();
        }
    }
    (per * CLIENTS) as f64 / started.elapsed().as_secs_f64()
}

/// tokio-postgres, same schema, one multi-row INSERT (UNNEST) transaction per batch, one
/// connection per client as the server's pool would use.
async fn pg_floor(url: &str, per: usize) -> f64 {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.batch_execute(
        "DROP TABLE IF EXISTS floor_events; CREATE TABLE floor_events (incident uuid NOT NULL,
         seq bigint NOT NULL, id uuid NOT NULL UNIQUE, author text NOT NULL, kind text NOT NULL,
         body text NOT NULL, PRIMARY KEY (incident, seq))",
    )
    .await
    .unwrap();
    let work = work(per);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (inc, batches) in work {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let (mut c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let mut seq = 0i64;
            for b in batches {
                let tx = c.transaction().await.unwrap();
                let seqs: Vec<i64> = b.iter().map(|_| { seq += 1; seq }).collect();
                let ids: Vec<uuid::Uuid> = b.iter().map(|e| e.id).collect();
                let authors: Vec<&str> = b.iter().map(|e| e.author.as_str()).collect();
                let kinds: Vec<&str> = b.iter().map(|e| e.kind.name()).collect();
                let bodies: Vec<String> = b.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
                tx.execute(
                    "INSERT INTO floor_events SELECT $1, * FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[])",
                    &[&inc, &seqs, &ids, &authors, &kinds, &bodies],
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = (per * CLIENTS) as f64 / started.elapsed().as_secs_f64();
    c.batch_execute("DROP TABLE floor_events").await.unwrap();
    rate
}

/// Notes written on replica 1, received by `subs` streams on replica 2: p50/p99/max in ms.
async fn cross_replica_latency(url: &str, subs: usize, notes: usize) -> (f64, f64, f64) {
    let r1 = serve(Db::Postgres(url.into())).await;
    let r2 = serve(Db::Postgres(url.into())).await;
    let (b1, b2) = (format!("http://{}", r1.addr), format!("http://{}", r2.addr));
    let writer = Client::new(&b1, Some(TOKEN.into()), Duration::from_secs(10), "bench").unwrap();
    let open = Event::open(Utc::now(), "bench", "latency".into(), Severity::new(3).unwrap(), None);
    let inc = open.id;
    writer.push(inc, &[open]).await.unwrap();
    let sent: Arc<Mutex<HashMap<uuid::Uuid, Instant>>> = Default::default();
    let lat: Arc<Mutex<Vec<f64>>> = Default::default();
    let mut readers = Vec::new();
    for _ in 0..subs {
        let c = Client::new(&b2, Some(TOKEN.into()), Duration::from_secs(10), "bench").unwrap();
        let mut s = c.stream(inc, 1).await.unwrap();
        let (sent, lat) = (sent.clone(), lat.clone());
        readers.push(tokio::spawn(async move {
            let mut got = 0;
            while got < notes {
                match s.next().await {
                    Some(Ok(StreamItem::Event { event, .. })) => {
                        let at = sent.lock().unwrap().get(&event.id).copied();
                        if let Some(at) = at {
                            lat.lock().unwrap().push(at.elapsed().as_secs_f64() * 1000.0);
                        }
                        got += 1;
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..notes {
        let n =
            Event::new(inc, Utc::now(), "bench", EventKind::Note { text: format!("n{i}"), tag: Tag::Note });
        sent.lock().unwrap().insert(n.id, Instant::now());
        writer.push(inc, &[n]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(30), r).await;
    }
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| l.get(((l.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(f64::NAN);
    let out = (q(0.5), q(0.99), l.last().copied().unwrap_or(f64::NAN));
    assert_eq!(l.len(), subs * notes, "every subscriber got every note");
    r1.stop().await.unwrap();
    r2.stop().await.unwrap();
    out
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pg = args.iter().find(|a| server::pg::is_postgres_url(a)).cloned();
    // Lives until the end of main; the cluster is stopped and removed when the process exits.
    let _cluster = match &pg {
        Some(_) => None,
        None => match pg_support::Cluster::start_durable() {
            Ok(c) => {
                pg = Some(c.create_db().await);
                Some(c)
            }
            Err(e) => {
                println!("postgres : skipped ({e}): apt-get install postgresql, or pass a postgres:// URL");
                None
            }
        },
    };
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let total = nums.first().copied().unwrap_or(100_000);
    let subs = nums.get(1).copied().unwrap_or(100);
    let per = total / CLIENTS;
    let tmp = tempfile::tempdir().unwrap();

    println!("ingest: {} events, batches of {BATCH}, {CLIENTS} clients", per * CLIENTS);
    let floor = sqlite_floor(&tmp.path().join("floor.db"), per);
    let srv = serve(Db::Sqlite(tmp.path().join("server.db"))).await;
    let http = http_ingest(&format!("http://{}", srv.addr), per).await;
    srv.stop().await.unwrap();
    println!(
        "sqlite   : http {http:>9.0} events/s | bare rusqlite insert {floor:>9.0} rows/s | ratio {:.2}",
        http / floor
    );
    if let Some(url) = pg {
        let floor = pg_floor(&url, per).await;
        let srv = serve(Db::Postgres(url.clone())).await;
        let http = http_ingest(&format!("http://{}", srv.addr), per).await;
        srv.stop().await.unwrap();
        println!(
            "postgres : http {http:>9.0} events/s | bare UNNEST insert    {floor:>9.0} rows/s | ratio {:.2}",
            http / floor
        );
        let (p50, p99, max) = cross_replica_latency(&url, subs, 50).await;
        println!(
            "note written on replica 1 -> arrival on replica 2, {subs} subscribers x 50 notes: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
        );
    }
}
