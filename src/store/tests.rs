use std::os::unix::fs::PermissionsExt;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::incident::{EventKind, Severity, Status, Tag};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc()
}

fn open_incident(store: &Store, title: &str, at: DateTime<Utc>) -> Event {
    let ev = Event::open(at, "ana@db1", title.into(), Severity::new(2).unwrap(), None);
    store.append(&ev).unwrap();
    ev
}

#[test]
fn modes_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let store = Store::open(&dir).unwrap();
    open_incident(&store, "x", t0());
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for f in ["warroom.db", "warroom.db-wal", "warroom.db-shm"] {
        let p = dir.join(f);
        if p.exists() {
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        }
    }
}

#[test]
fn append_is_idempotent_and_ordered() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let open = open_incident(&store, "db down", t0());
    let late = Event::new(
        open.id,
        t0() + Duration::minutes(5),
        "bo",
        EventKind::Note { text: "b".into(), tag: Tag::Finding },
    );
    let early = Event::new(
        open.id,
        t0() + Duration::minutes(1),
        "bo",
        EventKind::Note { text: "a".into(), tag: Tag::Note },
    );
    assert!(store.append(&late).unwrap());
    assert!(store.append(&early).unwrap());
    assert!(!store.append(&late).unwrap(), "second append of the same id is a no-op");
    let evs = store.events(open.id).unwrap();
    assert_eq!(evs.iter().map(|e| e.id).collect::<Vec<_>>(), vec![open.id, early.id, late.id]);
    assert_eq!(store.event_count().unwrap(), 3);
}

#[test]
fn remote_events_and_their_cursor_land_together_and_the_cursor_never_goes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let open = Event::open(t0(), "bo", "t".into(), Severity::new(2).unwrap(), None);
    let note = Event::new(open.id, t0(), "bo", EventKind::Note { text: "a".into(), tag: Tag::Note });
    let key = "sync.cursor.test";
    assert_eq!(store.append_remote(&[open.clone(), note.clone()], &[1, 2], (key, 2)).unwrap(), 2);
    assert_eq!(store.meta(key).unwrap().as_deref(), Some("2"));
    // A page replayed from an older cursor (a reconnect) adds nothing and moves nothing back.
    assert_eq!(store.append_remote(&[open], &[1], (key, 1)).unwrap(), 0);
    assert_eq!(store.meta(key).unwrap().as_deref(), Some("2"));
    assert_eq!(store.pending_count().unwrap(), 0, "events from a server are not pending");
}

#[test]
fn current_incident_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert!(matches!(store.resolve_incident(None), Err(StoreError::NoOpenIncident)));
    let a = open_incident(&store, "a", t0());
    let b = open_incident(&store, "b", t0() + Duration::hours(1));
    assert_eq!(store.resolve_incident(None).unwrap(), b.id, "most recent open");
    store.set_current(a.id).unwrap();
    assert_eq!(store.resolve_incident(None).unwrap(), a.id, "explicit current wins while open");
    store
        .append(&Event::new(
            a.id,
            t0() + Duration::hours(2),
            "ana",
            EventKind::StatusSet { status: Status::Resolved },
        ))
        .unwrap();
    assert_eq!(store.resolve_incident(None).unwrap(), a.id, "a resolved current stays at hand");
    store.set_current(b.id).unwrap();
    assert_eq!(store.resolve_incident(None).unwrap(), b.id, "until another is picked");
    let prefix = &a.id.to_string()[..13];
    assert_eq!(store.resolve_incident(Some(prefix)).unwrap(), a.id);
    assert!(matches!(store.resolve_incident(Some("zzz")), Err(StoreError::UnknownIncident(_))));
    // Both ids are v7 from the same day: a short common prefix is ambiguous.
    let common: String =
        a.id.to_string()
            .chars()
            .zip(b.id.to_string().chars())
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x)
            .collect();
    assert!(matches!(store.resolve_incident(Some(&common)), Err(StoreError::AmbiguousIncident { .. })));
}

#[test]
fn outbox_tracks_server_acks() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let open = open_incident(&store, "a", t0());
    assert_eq!(store.pending_count().unwrap(), 1);
    store.mark_synced(&[(open.id, 1)]).unwrap();
    assert_eq!(store.pending_count().unwrap(), 0);
    let remote = Event::new(open.id, t0(), "bo", EventKind::Acknowledged {});
    store.append_all(std::slice::from_ref(&remote), Some(&[2])).unwrap();
    assert_eq!(store.pending_count().unwrap(), 0, "events from the server are not re-pushed");
}

#[test]
fn data_version_notices_other_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Store::open(tmp.path()).unwrap();
    let b = Store::open(tmp.path()).unwrap();
    let before = a.data_version().unwrap();
    open_incident(&b, "from b", t0());
    assert_ne!(a.data_version().unwrap(), before);
    assert_eq!(a.incidents().unwrap().len(), 1);
}

#[test]
fn corrupt_file_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = b"this is not sqlite at all, but somebody's notes\n".repeat(100);
    std::fs::write(tmp.path().join(DB_FILE), &garbage).unwrap();
    let err = Store::open(tmp.path()).err().expect("must refuse");
    assert!(err.to_string().contains("not a usable warroom database"), "{err}");
    assert_eq!(std::fs::read(tmp.path().join(DB_FILE)).unwrap(), garbage);
}

#[test]
fn unwritable_dir_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let err = Store::open(&file.join("sub")).err().expect("must fail");
    assert!(err.to_string().starts_with("cannot create data dir"), "{err}");
}
