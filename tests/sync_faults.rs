//! A server that answers 500 or garbage, and one that sends escape sequences: the client fails the
//! round cleanly (no panic, nothing lost, cursor unmoved) or stores only stripped text.

mod sync_support;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get};
use serde_json::json;
use sync_support::*;
use warroom::incident::EventKind;
use warroom::store::Store;
use warroom::sync::{Client, SyncError, engine};

async fn fake(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn errors_and_garbage_fail_the_round_without_losing_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let opened = open("ana", "t");
    let inc = opened.id;
    store.append(&opened).unwrap();
    store.append(&note(inc, "ana", "queued")).unwrap();
    let cases: Vec<(&str, Router)> = vec![
        ("500", Router::new().fallback(any(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))),
        ("not json", Router::new().fallback(any(|| async { "<html>proxy login</html>" }))),
        (
            "wrong acks",
            Router::new().fallback(any(|| async {
                axum::Json(json!({"acks": [{"id": "01a2086c-2966-7e8a-be3b-4fadded8380c", "seq": 1}]}))
            })),
        ),
    ];
    for (what, app) in cases {
        let base = fake(app).await;
        let c = Client::new(&base, Some(ANA.into()), Duration::from_secs(3), "ana").unwrap();
        let err = engine::sync_once(&store, &c, &[inc]).await.expect_err(what);
        assert!(!matches!(err, SyncError::Store(_)), "{what}: {err}");
        assert!(!err.to_string().contains('\n'), "{what}: one line");
        assert_eq!(store.pending_count().unwrap(), 2, "{what}: outbox kept");
        assert_eq!(engine::cursor(&store, inc).unwrap(), 0, "{what}: cursor unmoved");
    }
    // Pull answers with sequence numbers going backwards are garbage too.
    let app = Router::new().route(
        "/v1/incidents/{id}/events",
        get(|| async { axum::Json(json!({"events": [], "last_seq": 0})) })
            .post(|| async { StatusCode::BAD_GATEWAY }),
    );
    let c = Client::new(&fake(app).await, None, Duration::from_secs(3), "ana").unwrap();
    assert!(c.pull(inc, 0, 10).await.unwrap().events.is_empty());
    assert!(matches!(engine::push_outbox(&store, &c).await, Err(SyncError::Status { code: 502, .. })));
}

#[tokio::test]
async fn text_from_the_server_is_stripped_before_it_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(&tmp.path().join("s.db")).await;
    let c = Client::new(&url(&srv), Some(ANA.into()), Duration::from_secs(3), "ana").unwrap();
    let opened = open("ana", "t");
    let inc = opened.id;
    let evil = note(inc, "ana", "ok\x1b]0;pwned\x07 \x1b[2Jdone");
    c.push(inc, &[opened, evil.clone()]).await.unwrap();
    let other = Store::open(&tmp.path().join("b")).unwrap();
    assert_eq!(engine::pull(&other, &c, inc).await.unwrap(), 2);
    let got = other.events(inc).unwrap().into_iter().find(|e| e.id == evil.id).unwrap();
    assert!(matches!(got.kind, EventKind::Note { ref text, .. } if text == "ok done"), "{got:?}");
    assert_eq!(engine::cursor(&other, inc).unwrap(), 2);
    srv.stop().await.unwrap();
}

/// An event the server would refuse (an oversized field) is set aside before sending, so the
/// rest of the outbox still drains; it is counted as rejected, not lost from the local store.
#[tokio::test]
async fn an_oversized_event_is_set_aside_and_does_not_block_the_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(&tmp.path().join("s.db")).await;
    let store = Store::open(&tmp.path().join("c")).unwrap();
    let opened = open("ana@h", "fine");
    store.append(&opened).unwrap();
    let mut big = note(opened.id, "ana@h", "x");
    big.kind = EventKind::StatusSet { status: warroom::incident::Status::Identified };
    big.author = "ana@".to_string() + &"h".repeat(300); // over the 256-byte author limit
    store.append(&big).unwrap();
    store.append(&note(opened.id, "ana@h", "after the bad one")).unwrap();
    let c = Client::new(&url(&server), Some(ANA.into()), Duration::from_secs(5), "ana").unwrap();
    let report = engine::push_outbox(&store, &c).await.unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(report.pushed, 2);
    assert_eq!(engine::rejected_count(&store).unwrap(), 1);
    assert_eq!(store.events(opened.id).unwrap().len(), 3, "kept locally");
    // Nothing left to push but the set-aside event: the next round has no work and no error.
    let again = engine::push_outbox(&store, &c).await.unwrap();
    assert_eq!((again.pushed, again.rejected), (0, 0));
}

/// The TUI's sync task with an event ana's token may not write (author `mallory`): the server's
/// 403 names that event, so it is set aside and the rest reaches the server. The header says
/// `1 rejected`, never `auth failed`: the token is fine.
#[test]
fn the_task_sets_aside_an_author_the_token_may_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(start(&tmp.path().join("s.db")));
    let dir = tmp.path().join("c");
    let (store, inc) = store_with_incident(&dir, "ana@h", "token test");
    let forged = note(inc, "mallory", "impersonation");
    store.append(&forged).unwrap();
    let after = note(inc, "ana@h", "after");
    store.append(&after).unwrap();
    let h = follow(&dir, &url(&server), ANA, "ana@h", inc);
    let status = h.status.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = status.borrow().clone();
        assert_ne!(s.link, warroom::sync::Link::AuthFailed, "{s:?}");
        if s.link == warroom::sync::Link::Online && s.rejected == 1 && s.pending == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never online with 1 rejected: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let line = warroom::sync::status_line(&status.borrow(), chrono::Utc::now());
    assert!(line.ends_with("1 rejected") && !line.contains("auth") && !line.contains("pending"), "{line}");
    let c = Client::new(&url(&server), Some(ANA.into()), Duration::from_secs(5), "t").unwrap();
    let ids = rt.block_on(server_ids(&c, inc));
    assert_eq!(ids, [inc, after.id], "the note after the refused one reached the server");
    assert_eq!(store.events(inc).unwrap().len(), 3, "the refused note is kept locally");
    drop(h);
}
