//! The HTTP API against a real in-process server on each store (a real SQLite file, a real
//! Postgres): auth, limits, idempotence. Every rejected request is followed by a check that the
//! database did not change.

mod sync_support;

use serde_json::{Value, json};
use sync_support::*;
use warroom::config::Config;
use warroom::server::{self, Db, ServeOptions};

async fn count(db: &Db) -> i64 {
    stored_count(db).await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// GET `url` with a bearer token; the JSON answer.
async fn get_json(url: &str, token: &str) -> Value {
    client().get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

async fn post(url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut rb = client().post(url).header("content-type", "application/json").body(body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

on_both_stores! {
async fn auth_limits_and_idempotence(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, tmp.path()).await;
    let srv = start(db.clone()).await;
    let base = url(&srv);
    let opened = open("ana@db1", "db down");
    let inc = opened.id;
    let events_url = format!("{base}/v1/incidents/{inc}/events");
    let batch = |evs: Vec<warroom::incident::Event>| serde_json::to_vec(&json!({ "events": evs })).unwrap();

    // 401 without a token and with a wrong one, on every /v1 route; nothing stored.
    let (s, _) = post(&events_url, None, batch(vec![opened.clone()])).await;
    assert_eq!(s, 401);
    let (s, body) = post(&events_url, Some("nope-nope-nope-nope"), batch(vec![opened.clone()])).await;
    assert_eq!(s, 401, "{body}");
    for path in ["/v1/incidents", "/v1/team", "/v1/openapi.json", &format!("/v1/incidents/{inc}/stream")] {
        let r = client().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
    assert_eq!(count(&db).await, 0);

    // 403 when the author is not the token's name.
    let (s, body) = post(&events_url, Some(BO), batch(vec![opened.clone()])).await;
    assert_eq!((s, body["field"].as_str()), (403, Some("events[0].author")), "{body}");
    assert_eq!(count(&db).await, 0);

    // 413 for a body over 1 MB.
    let (s, _) = post(&events_url, Some(ANA), vec![b' '; 1024 * 1024 + 1]).await;
    assert_eq!(s, 413);
    // 422: malformed JSON, an oversized note (named), an unknown kind, too long a batch, and a
    // batch whose last event is bad (the good ones before it must not be stored either).
    let (s, body) = post(&events_url, Some(ANA), b"{\"events\": [".to_vec()).await;
    assert_eq!((s, body["field"].as_str()), (422, Some("body")), "{body}");
    let big = note(inc, "ana", &"x".repeat(64 * 1024 + 1));
    let (s, body) = post(&events_url, Some(ANA), batch(vec![opened.clone(), big])).await;
    assert_eq!(
        (s, body["field"].as_str(), body["index"].as_u64()),
        (422, Some("events[1].text"), Some(1)),
        "{body}"
    );
    let mut unknown = serde_json::to_value(note(inc, "ana", "x")).unwrap();
    unknown["type"] = json!("hologram");
    let body_bytes = serde_json::to_vec(&json!({ "events": [opened.clone(), unknown] })).unwrap();
    let (s, body) = post(&events_url, Some(ANA), body_bytes).await;
    assert_eq!((s, body["field"].as_str()), (422, Some("events[1].type")), "{body}");
    let many: Vec<_> = (0..1001).map(|i| note(inc, "ana", &i.to_string())).collect();
    let (s, body) = post(&events_url, Some(ANA), batch(many)).await;
    assert_eq!((s, body["field"].as_str()), (422, Some("events")), "{body}");
    let other = open("ana", "other");
    let (s, body) = post(&events_url, Some(ANA), batch(vec![opened.clone(), other])).await;
    assert_eq!((s, body["field"].as_str()), (422, Some("events[1].incident")), "{body}");
    assert_eq!(count(&db).await, 0, "rejected requests changed nothing");

    // The same batch twice: the same acks, stored once.
    let n1 = note(inc, "ana@db1", "first");
    let good = batch(vec![opened.clone(), n1.clone()]);
    let (s1, a1) = post(&events_url, Some(ANA), good.clone()).await;
    let (s2, a2) = post(&events_url, Some(ANA), good).await;
    assert_eq!((s1, s2), (200, 200));
    // The same sequence numbers; the second answer says nothing new was stored.
    assert_eq!(a1["acks"][0]["new"], true);
    assert_eq!(a2["acks"][0]["new"], false);
    for i in 0..2 {
        assert_eq!(
            (&a1["acks"][i]["id"], &a1["acks"][i]["seq"]),
            (&a2["acks"][i]["id"], &a2["acks"][i]["seq"])
        );
    }
    assert_eq!(a1["acks"][1]["seq"], 2);
    assert_eq!(count(&db).await, 2);
    // An event id reused in another incident is refused, naming it.
    let other = open("ana", "other");
    let mut stolen = n1.clone();
    stolen.incident = other.id;
    let (s, body) =
        post(&format!("{base}/v1/incidents/{}/events", other.id), Some(ANA), batch(vec![other, stolen]))
            .await;
    assert_eq!((s, body["field"].as_str()), (422, Some("events[1].id")), "{body}");
    assert_eq!(count(&db).await, 2);

    // Catch-up paging, the folded list, team 404, health, metrics and the OpenAPI document.
    let page: Value = get_json(&format!("{events_url}?after=1&limit=5"), BO).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["last_seq"], 2);
    let list: Value = get_json(&format!("{base}/v1/incidents"), ANA).await;
    assert_eq!(list[0]["title"], "db down");
    assert_eq!(list[0]["event_count"], 2);
    let r = client().get(format!("{base}/v1/team")).bearer_auth(ANA).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = client().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let health: Value = r.json().await.unwrap();
    let name = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    assert_eq!((health["status"].as_str(), health["database"].as_str()), (Some("ok"), Some("ok")), "{health}");
    assert_eq!(health["backend"], name, "{health}");
    let metrics = client().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("warroom_events_appended_total 2"), "{metrics}");
    assert!(metrics.contains("status=\"401\""), "{metrics}");
    assert!(metrics.contains(&format!("backend=\"{name}\"}} 1")), "{metrics}");
    if backend == Backend::Postgres {
        assert_eq!(health["listener"], "ok", "{health}");
        assert!(metrics.contains("warroom_listener_connected 1"), "{metrics}");
        // The listener hears this replica's own commits too (one NOTIFY per committed batch).
        assert!(metrics.contains("warroom_listener_notifications_total"), "{metrics}");
    }
    let spec: Value = get_json(&format!("{base}/v1/openapi.json"), ANA).await;
    assert_eq!(spec["openapi"], "3.0.3");
    srv.stop().await.unwrap();
}
}

#[tokio::test]
async fn team_file_is_served_when_configured() {
    let tmp = tempfile::tempdir().unwrap();
    let team = tmp.path().join("team.toml");
    std::fs::write(&team, "[[people]]\nname = \"ana\"\n").unwrap();
    let mut config = Config::default();
    config.server.tokens = tokens();
    config.team.file = Some(team);
    let srv =
        server::start(ServeOptions::from_config("127.0.0.1:0", tmp.path().join("s.db"), false, &config))
            .await
            .unwrap();
    let r = client().get(format!("{}/v1/team", url(&srv))).bearer_auth(ANA).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("name = \"ana\""));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn refuses_to_start_without_tokens_unless_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = |listen: &str, insecure| {
        ServeOptions::from_config(listen, tmp.path().join("s.db"), insecure, &Config::default())
    };
    assert!(matches!(server::start(opts("127.0.0.1:0", false)).await, Err(server::ServeError::NoTokens)));
    assert!(matches!(server::start(opts("0.0.0.0:0", true)).await, Err(server::ServeError::NotLoopback(_))));
    let srv = server::start(opts("127.0.0.1:0", true)).await.unwrap();
    // Without tokens, anyone on loopback may write under any name.
    let ev = open("whoever", "t");
    let (s, _) = post(
        &format!("{}/v1/incidents/{}/events", url(&srv), ev.id),
        None,
        serde_json::to_vec(&json!({ "events": [ev] })).unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    srv.stop().await.unwrap();
}
