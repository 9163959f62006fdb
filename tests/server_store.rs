//! The server store suite, run against both stores: a real SQLite file and a real Postgres.

mod sync_support;

use std::sync::Arc;

use chrono::Utc;
use sync_support::*;
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::EventStore;
use warroom::server::store::ServerStoreError;

on_both_stores! {
async fn sequences_are_per_incident_and_idempotent(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let s = open_store(&fresh_db(backend, tmp.path()).await).await;
    let a = Event::open(Utc::now(), "ana", "a".into(), Severity::new(1).unwrap(), None);
    let b = Event::open(Utc::now(), "ana", "b".into(), Severity::new(2).unwrap(), None);
    let n = Event::new(a.id, Utc::now(), "ana", EventKind::Note { text: "x".into(), tag: Tag::Note });
    let r = s.append(a.id, Arc::new(vec![a.clone(), n.clone(), n.clone()])).await.unwrap();
    assert_eq!(r.iter().map(|x| (x.seq, x.new)).collect::<Vec<_>>(), vec![(1, true), (2, true), (2, false)]);
    assert_eq!(s.append(b.id, Arc::new(vec![b.clone()])).await.unwrap()[0].seq, 1);
    let again = s.append(a.id, Arc::new(vec![n.clone()])).await.unwrap();
    assert_eq!((again[0].seq, again[0].new), (2, false));
    assert!(matches!(s.append(b.id, Arc::new(vec![n.clone()])).await, Err(ServerStoreError::WrongIncident { .. })));
    // The same id with another body is a conflict, alone or inside a batch, and stores nothing.
    let mut edited = n.clone();
    edited.kind = EventKind::Note { text: "y".into(), tag: Tag::Note };
    assert!(
        matches!(s.append(a.id, Arc::new(vec![edited.clone()])).await, Err(ServerStoreError::Conflict { id }) if id == n.id)
    );
    let fresh = Event::new(a.id, Utc::now(), "ana", EventKind::Note { text: "z".into(), tag: Tag::Note });
    assert!(matches!(
        s.append(a.id, Arc::new(vec![fresh.clone(), edited.clone()])).await,
        Err(ServerStoreError::Conflict { .. })
    ));
    assert!(matches!(
        s.append(a.id, Arc::new(vec![fresh.clone(), fresh.clone(), edited])).await,
        Err(ServerStoreError::Conflict { .. })
    ));
    let mut twice = fresh.clone();
    twice.author = "bo".into();
    assert!(matches!(s.append(a.id, Arc::new(vec![fresh, twice])).await, Err(ServerStoreError::Conflict { .. })));
    assert_eq!(s.count().await.unwrap(), 3, "a conflicting batch stored nothing");
    assert_eq!(s.after(a.id, 1, 10).await.unwrap().len(), 1);
    assert_eq!(s.count().await.unwrap(), 3);
    assert_eq!(s.last_seq(a.id).await.unwrap(), 2);
    let mut incidents = s.incidents().await.unwrap();
    incidents.sort();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(incidents, want);
    s.ping().await.unwrap();
}
}

on_both_stores! {
/// Concurrent appends to one incident get one gap-free sequence, each event once: the per-incident
/// serialisation (SQLite's writer lock, Postgres's advisory lock) holds under contention.
async fn concurrent_appends_get_one_gap_free_sequence(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, tmp.path()).await;
    let s = open_store(&db).await;
    // A second store on the same database stands in for a second replica.
    let s2 = open_store(&db).await;
    let opened = Event::open(Utc::now(), "ana", "race".into(), Severity::new(1).unwrap(), None);
    let inc = opened.id;
    s.append(inc, Arc::new(vec![opened])).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = if w % 2 == 0 { s.clone() } else { s2.clone() };
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for k in 0..10 {
                let batch: Vec<Event> = (0..5)
                    .map(|j| {
                        let kind = EventKind::Note { text: format!("{w}-{k}-{j}"), tag: Tag::Note };
                        Event::new(inc, Utc::now(), "ana", kind)
                    })
                    .collect();
                ids.extend(batch.iter().map(|e| e.id));
                // Every other batch is re-sent whole: a retry after a lost answer.
                let batch = Arc::new(batch);
                let first = store.append(inc, batch.clone()).await.unwrap();
                if k % 2 == 0 {
                    let again = store.append(inc, batch).await.unwrap();
                    assert_eq!(
                        first.iter().map(|a| a.seq).collect::<Vec<_>>(),
                        again.iter().map(|a| a.seq).collect::<Vec<_>>()
                    );
                    assert!(again.iter().all(|a| !a.new));
                }
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    let all = s.after(inc, 0, 10_000).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=401).collect::<Vec<i64>>());
    let mut stored: Vec<_> = all.iter().skip(1).map(|e| e.event.id).collect();
    stored.sort();
    ids.sort();
    assert_eq!(stored, ids, "every event exactly once");
}
}

on_both_stores! {
/// The store identity heartbeats carry: made with the database, the same on every reopen (and
/// for every replica of one Postgres database), another for another database.
async fn the_store_id_is_kept_by_the_database(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, tmp.path()).await;
    let id = open_store(&db).await.store_id().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(open_store(&db).await.store_id(), id, "reopened");
    let (a, b) = (open_store(&db).await, open_store(&db).await);
    assert_eq!((a.store_id(), b.store_id()), (id.as_str(), id.as_str()), "open together");
    let other = tempfile::tempdir().unwrap();
    let other = open_store(&fresh_db(backend, other.path()).await).await;
    assert_ne!(other.store_id(), id, "another database");
}
}

/// A server database made before the store identity existed (only the events table, holding
/// events) gets one on its first open, and keeps it.
#[test]
fn an_old_sqlite_database_gets_a_store_id_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("old.db");
    let old = warroom::server::store::SqliteStore::open(&path).unwrap();
    let opened = open("ana", "before ids");
    old.append_blocking(opened.id, std::slice::from_ref(&opened)).unwrap();
    drop(old);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE warroom_meta").unwrap();
    drop(conn);
    let s = warroom::server::store::SqliteStore::open(&path).unwrap();
    let id = s.store_id().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(s.count_blocking().unwrap(), 1, "the events are still there");
    drop(s);
    assert_eq!(warroom::server::store::SqliteStore::open(&path).unwrap().store_id(), id);
}
