//! The server answers like an API: a few hundred generated malformed requests (bad paths, methods,
//! query strings, bodies, headers, oversize bodies, wrong content types) against a real server on
//! 127.0.0.1:0, each of which must get an error status with a JSON body whose `error` message is
//! not empty. Run with `--nocapture` to see the per-category table.

mod sync_support;

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use sync_support::*;

/// One generated request.
struct Probe {
    category: &'static str,
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<reqwest::Body>,
}

fn probe(category: &'static str, method: Method, path: impl Into<String>) -> Probe {
    let auth = HeaderValue::from_str(&format!("Bearer {ANA}")).unwrap();
    Probe {
        category,
        method,
        path: path.into(),
        headers: vec![(HeaderName::from_static("authorization"), auth)],
        body: None,
    }
}

impl Probe {
    fn header(mut self, name: &'static str, value: HeaderValue) -> Self {
        let name = HeaderName::from_static(name);
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value));
        self
    }
    fn no_auth(mut self) -> Self {
        self.headers.retain(|(n, _)| n != "authorization");
        self
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type("application/json").body(body)
    }
    fn content_type(self, ct: &'static str) -> Self {
        self.header("content-type", HeaderValue::from_static(ct))
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(reqwest::Body::from(body.into()));
        self
    }
}

/// Bodies a POST of events must refuse.
fn bad_bodies(inc: &str) -> Vec<Vec<u8>> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let ev = |fields: &str| format!("{{\"events\":[{{{fields}}}]}}");
    let good_head = format!(
        "\"id\":\"{}\",\"incident\":\"{inc}\",\"at\":\"2026-01-01T00:00:00Z\",\"author\":\"ana\"",
        uuid::Uuid::now_v7()
    );
    let mut v: Vec<Vec<u8>> = [
        "",
        " ",
        "{",
        "}",
        "[]",
        "null",
        "true",
        "42",
        "\"events\"",
        "{}",
        "{\"events\":null}",
        "{\"events\":{}}",
        "{\"events\":[1]}",
        "{\"events\":[null]}",
        "{\"events\":[{}]}",
        "{\"events\":[[]]}",
        "{\"events\":\"x\"}",
        "{\"events\":[],}",
        "{'events':[]}",
        "{\"events\":[]}garbage",
        "{\"events\":[]} {\"events\":[]}",
        "\u{feff}{\"events\":[]}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(deep.into_bytes());
    v.push(b"{\"events\":[\"\xff\xfe\"]}".to_vec());
    v.push(b"{\"events\":[]}\0".to_vec());
    v.push(ev("\"id\":\"nope\"").into_bytes());
    v.push(ev(&format!("{good_head},\"type\":\"note\"")).into_bytes());
    v.push(ev(&format!("{good_head},\"type\":\"note\",\"text\":5,\"tag\":\"note\"")).into_bytes());
    v.push(ev(&format!("{good_head},\"type\":\"hologram\"")).into_bytes());
    v.push(
        ev(&format!("{good_head},\"type\":\"note\",\"text\":\"x\",\"tag\":\"note\",\"at\":\"yesterday\""))
            .into_bytes(),
    );
    v.push(
        ev(&format!(
            "\"id\":\"{}\",\"incident\":\"{}\",\"at\":\"2026-01-01T00:00:00Z\",\"author\":\"ana\",\"type\":\"note\",\"text\":\"x\",\"tag\":\"note\"",
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7()
        ))
        .into_bytes(),
    );
    v.push(
        ev(&format!("{good_head},\"type\":\"note\",\"text\":\"{}\",\"tag\":\"note\"", "x".repeat(70_000)))
            .into_bytes(),
    );
    v
}

fn probes(inc: &str) -> Vec<Probe> {
    use Method as M;
    let mut out = Vec::new();
    let odd = Method::from_bytes(b"FOO").unwrap();
    let methods = [M::GET, M::POST, M::PUT, M::DELETE, M::PATCH, M::OPTIONS, odd.clone()];

    // Routes that do not exist, with every method.
    let unknown = [
        "/".to_string(),
        "/nope".into(),
        "/v1".into(),
        "/v1/".into(),
        "/v2/incidents".into(),
        "/v1/incidents/".into(),
        "/v1/INCIDENTS".into(),
        format!("/v1/incidents/{inc}"),
        format!("/v1/incidents/{inc}/"),
        format!("/v1/incidents/{inc}/events/1"),
        format!("/v1/incidents/{inc}/nope"),
        "/healthz/x".into(),
        "/metrics/".into(),
        "/v1/team/ana".into(),
        "/v1/openapi.yaml".into(),
        "/.env".into(),
        "/v1/incidents/../../etc/passwd".into(),
        "/%00".into(),
    ];
    for p in &unknown {
        for m in &methods {
            out.push(probe("unknown route", m.clone(), p.clone()));
        }
    }
    // Known routes with a method they do not take.
    let known: [(String, &[Method]); 8] = [
        ("/healthz".into(), &[M::POST, M::PUT, M::DELETE, M::PATCH]),
        ("/metrics".into(), &[M::POST, M::PUT, M::DELETE]),
        ("/v1/incidents".into(), &[M::POST, M::PUT, M::DELETE, M::PATCH]),
        (format!("/v1/incidents/{inc}/events"), &[M::PUT, M::DELETE, M::PATCH, M::OPTIONS]),
        (format!("/v1/incidents/{inc}/stream"), &[M::POST, M::PUT, M::DELETE]),
        (format!("/v1/incidents/{inc}/presence"), &[M::POST, M::PUT, M::DELETE]),
        ("/v1/team".into(), &[M::POST, M::PUT, M::DELETE]),
        ("/v1/openapi.json".into(), &[M::POST, M::PUT, M::DELETE, odd.clone()]),
    ];
    for (p, ms) in &known {
        for m in *ms {
            out.push(probe("wrong method", m.clone(), p.clone()));
        }
    }
    // Incident ids that are not uuids, on every incident route.
    let bad_ids = [
        "x".to_string(),
        "123".into(),
        format!("{inc}0"),
        inc[..35].to_string(),
        "00000000-0000-0000-0000-00000000000g".into(),
        "%20".into(),
        "%FF".into(),
        "%C3%28".into(),
        "%zz".into(),
        "a".repeat(3000),
        "%7B%7D".into(),
        "null".into(),
    ];
    for id in &bad_ids {
        out.push(probe("bad path id", M::GET, format!("/v1/incidents/{id}/events")));
        out.push(probe("bad path id", M::GET, format!("/v1/incidents/{id}/presence")));
        out.push(probe("bad path id", M::GET, format!("/v1/incidents/{id}/stream")));
        out.push(probe("bad path id", M::POST, format!("/v1/incidents/{id}/events")).json("{\"events\":[]}"));
    }
    // Query strings that do not parse.
    let bad_queries = [
        "after=abc",
        "after=1.5",
        "after=1e3",
        "after=99999999999999999999",
        "after=",
        "limit=abc",
        "limit=-1",
        "limit=",
        "limit=99999999999999999999999",
        "after=1&after=2",
        "after=%FF",
        "after=%zz",
        "after[]=1",
        "after=0x10",
        "after=+",
    ];
    for q in bad_queries {
        out.push(probe("bad query", M::GET, format!("/v1/incidents/{inc}/events?{q}")));
    }
    for q in ["after=abc", "after=1.5", "after=", "after=1&after=2", "after=%FF", "viewer=a&viewer=b"] {
        out.push(probe("bad query", M::GET, format!("/v1/incidents/{inc}/stream?{q}")));
    }
    // Bad resume headers on the stream.
    for v in ["abc", "1.5", "-", "99999999999999999999", "1 2", "0x1"] {
        out.push(
            probe("bad header", M::GET, format!("/v1/incidents/{inc}/stream"))
                .header("last-event-id", HeaderValue::from_static(v)),
        );
    }
    out.push(
        probe("bad header", M::GET, format!("/v1/incidents/{inc}/stream"))
            .header("last-event-id", HeaderValue::from_bytes(b"\xff\xfe").unwrap()),
    );
    // Authorization that is not exactly `Bearer <token>`, on a few routes.
    let auths: Vec<Option<HeaderValue>> = vec![
        None,
        Some(HeaderValue::from_static("Bearer")),
        Some(HeaderValue::from_static("Bearer ")),
        Some(HeaderValue::from_str(&format!("Bearer  {ANA}")).unwrap()),
        Some(HeaderValue::from_str(&format!("Bearer {ANA} x")).unwrap()),
        Some(HeaderValue::from_str(&format!("Bearer {ANA}\tx")).unwrap()),
        Some(HeaderValue::from_str(&format!("Basic {ANA}")).unwrap()),
        Some(HeaderValue::from_str(&format!("Token {ANA}")).unwrap()),
        Some(HeaderValue::from_static(ANA)),
        Some(HeaderValue::from_str(&format!("Bearer {}", &ANA[1..])).unwrap()),
        Some(HeaderValue::from_str(&format!("Bearer {ANA}0")).unwrap()),
        Some(HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap()),
    ];
    for a in &auths {
        for (m, p) in [
            (M::GET, "/v1/incidents".to_string()),
            (M::POST, format!("/v1/incidents/{inc}/events")),
            (M::GET, format!("/v1/incidents/{inc}/stream")),
        ] {
            let mut pr = probe("bad auth", m, p).no_auth();
            if let Some(v) = a {
                pr = pr.header("authorization", v.clone());
            }
            out.push(pr);
        }
    }
    // Bodies that are not an append request, under several content types.
    let events = format!("/v1/incidents/{inc}/events");
    for body in bad_bodies(inc) {
        for ct in ["application/json", "application/json; charset=utf-8"] {
            out.push(probe("bad body", M::POST, events.clone()).content_type(ct).body(body.clone()));
        }
    }
    let good = "{\"events\":[]}".to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("application/jsonx"),
        Some("json"),
        Some("*/*"),
    ] {
        for body in [good.as_bytes().to_vec(), b"{".to_vec()] {
            let mut pr = probe("content type", M::POST, events.clone()).body(body);
            if let Some(ct) = ct {
                pr = pr.content_type(ct);
            }
            out.push(pr);
        }
    }
    out.push(
        probe("content type", M::POST, events.clone())
            .header("content-type", HeaderValue::from_bytes(b"application/json\xff").unwrap())
            .body(good.clone()),
    );
    // Bodies over the 1 MiB limit, with a length and chunked (no length). Not much over: the
    // server answers 413 before reading the rest and closes, and a client still writing many
    // MB past what loopback buffers hold gets a reset before it reads that answer (HTTP/1.1
    // without `Expect: 100-continue`), which would test the kernel, not the server.
    for size in [1024 * 1024 + 1, 1024 * 1024 + 100_000, 2 * 1024 * 1024] {
        out.push(probe("oversize", M::POST, events.clone()).json(vec![b' '; size]));
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..size / 65536 + 1).map(|_| Ok(vec![b' '; 65536])).collect();
        let mut pr = probe("oversize", M::POST, events.clone()).content_type("application/json");
        pr.body = Some(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)));
        out.push(pr);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_json_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(&tmp.path().join("s.db")).await;
    let base = url(&srv);
    let inc = uuid::Uuid::now_v7().to_string();
    let http = reqwest::Client::new();
    let probes = probes(&inc);
    assert!(probes.len() >= 300, "only {} probes", probes.len());
    // category -> (probes, not JSON)
    let mut table: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for p in probes {
        let what = format!("{} {} {}", p.method, p.path.chars().take(80).collect::<String>(), p.category);
        // A probe the server wrongly accepts may open an endless stream: bound every request.
        let mut rb =
            http.request(p.method.clone(), format!("{base}{}", p.path)).timeout(Duration::from_secs(5));
        for (n, v) in p.headers {
            rb = rb.header(n, v);
        }
        if let Some(b) = p.body {
            rb = rb.body(b);
        }
        let row = table.entry(p.category).or_default();
        row.0 += 1;
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                row.1 += 1;
                failures.push(format!("{what}: no answer: {e}"));
                continue;
            }
        };
        let status = resp.status();
        if status.is_success() {
            row.1 += 1;
            failures.push(format!("{what}: accepted with {status}"));
            continue;
        }
        let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap_or_default();
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let message = json.as_ref().and_then(|j| j["error"].as_str()).unwrap_or("").trim().to_string();
        let ok = (status.is_client_error() || status.is_server_error())
            && ct.starts_with("application/json")
            && !message.is_empty();
        if !ok {
            row.1 += 1;
            failures.push(format!("{what}: {status} [{ct}] {}", text.chars().take(120).collect::<String>()));
        }
    }
    let total: usize = table.values().map(|r| r.0).sum();
    let bad: usize = table.values().map(|r| r.1).sum();
    println!("{:<16} {:>7} {:>9}", "category", "probes", "not JSON");
    for (c, (n, b)) in &table {
        println!("{c:<16} {n:>7} {b:>9}");
    }
    println!("{:<16} {total:>7} {bad:>9}", "total");
    for f in failures.iter().take(400) {
        println!("  {f}");
    }
    srv.stop().await.unwrap();
    assert!(failures.is_empty(), "{bad} of {total} answers were not a JSON error with a message");
}

async fn answer(rb: reqwest::RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = rb.timeout(Duration::from_secs(5)).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// The JSON errors name what was wrong: the parameter, the method (with `Allow`), the body limit,
/// the content type, the route.
#[tokio::test]
async fn error_answers_name_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(&tmp.path().join("s.db")).await;
    let base = url(&srv);
    let inc = uuid::Uuid::now_v7();
    let events = format!("{base}/v1/incidents/{inc}/events");
    let http = reqwest::Client::new();

    let (s, b, _) = answer(http.get(format!("{events}?after=abc")).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (400, Some("after")), "{b}");
    assert!(b["error"].as_str().unwrap().starts_with("after: "), "{b}");
    let (s, b, _) = answer(http.get(format!("{events}?afterr=5")).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (400, Some("afterr")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("unknown field"), "{b}");
    let (s, b, _) =
        answer(http.get(format!("{base}/v1/incidents/{inc}/stream?after=x")).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (400, Some("after")), "{b}");

    let (s, b, h) = answer(http.delete(&events).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (405, Some("method")), "{b}");
    let allow = h.get("allow").unwrap().to_str().unwrap().to_string();
    assert!(allow.contains("POST") && allow.contains("GET"), "{allow}");
    assert!(b["error"].as_str().unwrap().contains("DELETE"), "{b}");

    let (s, b, _) = answer(http.get(format!("{base}/v1/nope")).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (404, Some("path")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("/v1/nope"), "{b}");
    let (s, b, _) = answer(http.get(format!("{base}/v1/incidents/%FF/events")).bearer_auth(ANA)).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("id"), "{b}");
    let (s, b, _) = answer(http.get(format!("{base}/v1/incidents/x/events")).bearer_auth(ANA)).await;
    assert_eq!((s, b["field"].as_str()), (422, Some("incident")), "{b}");

    let big = vec![b' '; 1024 * 1024 + 1];
    let rb = http.post(&events).bearer_auth(ANA).header("content-type", "application/json").body(big);
    let (s, b, _) = answer(rb).await;
    assert_eq!((s, b["field"].as_str()), (413, Some("body")), "{b}");
    let rb = http.post(&events).bearer_auth(ANA).header("content-type", "text/plain").body("{\"events\":[]}");
    let (s, b, _) = answer(rb).await;
    assert_eq!((s, b["field"].as_str()), (415, Some("content-type")), "{b}");
    assert!(b["error"].as_str().unwrap().contains("text/plain"), "{b}");
    // A JSON type with parameters is still JSON.
    let ok = http
        .post(&events)
        .bearer_auth(ANA)
        .header("content-type", "application/json; charset=utf-8")
        .body("{\"events\":[]}");
    assert_eq!(answer(ok).await.0, 200);
    srv.stop().await.unwrap();
}

/// `Bearer <token>` exactly: the right token with whitespace around or inside it is refused
/// (401 naming the reason), never trimmed into a match; the scheme is case-insensitive.
#[tokio::test]
async fn a_token_with_whitespace_is_not_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(&tmp.path().join("s.db")).await;
    let list = format!("{}/v1/incidents", url(&srv));
    let http = reqwest::Client::new();
    let get = |auth: String| {
        let h = HeaderValue::from_str(&auth).unwrap();
        answer(http.get(&list).header("authorization", h))
    };
    assert_eq!(get(format!("Bearer {ANA}")).await.0, 200);
    assert_eq!(get(format!("bearer {ANA}")).await.0, 200);
    for auth in [
        format!("Bearer  {ANA}"),
        format!("Bearer \t{ANA}"),
        format!("Bearer {ANA} {ANA}"),
        format!("Bearer\t{ANA}"),
        format!("Basic {ANA}"),
    ] {
        let (s, b, h) = get(auth.clone()).await;
        assert_eq!((s, b["field"].as_str()), (401, Some("authorization")), "{auth:?}: {b}");
        assert_eq!(h.get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"));
    }
    // HTTP itself drops whitespace at the edges of a header value (RFC 9110 5.5: `Authorization:
    // Bearer t ` arrives as `Bearer t`), so what can reach us is whitespace after the scheme or
    // inside; probe the wire with a raw request too.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let req = format!(
        "GET /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer  {ANA}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 401"), "{raw}");
    srv.stop().await.unwrap();
}

/// An event id re-sent with another body is a 409 naming the id; the same body stays an
/// idempotent 200. The sync client sets the conflicting event aside (kept locally, counted as
/// rejected, reason reported), drains the rest of the outbox, and does not retry it forever.
#[tokio::test]
async fn a_reused_event_id_with_another_body_is_a_conflict() {
    use warroom::incident::{EventKind, Tag};
    use warroom::store::Store;
    use warroom::sync::{Client, engine};

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("s.db");
    let srv = start(&db).await;
    let opened = open("ana@h", "conflicts");
    let inc = opened.id;
    let events = format!("{}/v1/incidents/{inc}/events", url(&srv));
    let http = reqwest::Client::new();
    let post = |evs: Vec<warroom::incident::Event>| {
        let body = serde_json::to_vec(&serde_json::json!({ "events": evs })).unwrap();
        answer(http.post(&events).bearer_auth(ANA).header("content-type", "application/json").body(body))
    };
    let n = note(inc, "ana@h", "disk full on db1");
    assert_eq!(post(vec![opened.clone(), n.clone()]).await.0, 200);
    // Same id, same body: idempotent, same seq. The same event with its JSON keys in another
    // order is the same event too.
    let (s, b, _) = post(vec![n.clone()]).await;
    assert_eq!((s, b["acks"][0]["seq"].as_i64()), (200, Some(2)), "{b}");
    let mut v = serde_json::to_value(&n).unwrap();
    let reordered: serde_json::Map<String, Value> =
        v.as_object_mut().unwrap().clone().into_iter().rev().collect();
    let body = serde_json::to_vec(&serde_json::json!({ "events": [reordered] })).unwrap();
    let rb = http.post(&events).bearer_auth(ANA).header("content-type", "application/json").body(body);
    assert_eq!(answer(rb).await.0, 200);
    // Same id, other text / author / time: 409 naming the id and the batch index; nothing stored.
    let mut edited = n.clone();
    edited.kind = EventKind::Note { text: "disk full on db2".into(), tag: Tag::Note };
    let mut later = n.clone();
    later.at += chrono::Duration::milliseconds(1);
    for other in [edited.clone(), later] {
        let fresh = note(inc, "ana@h", "fresh");
        let (s, b, _) = post(vec![fresh.clone(), other]).await;
        assert_eq!(
            (s, b["field"].as_str(), b["index"].as_u64()),
            (409, Some("events[1].id"), Some(1)),
            "{b}"
        );
        assert!(b["error"].as_str().unwrap().contains(&n.id.to_string()), "{b}");
    }
    let db2 = db.clone();
    let stored = tokio::task::spawn_blocking(move || {
        warroom::server::SqliteStore::open(&db2).unwrap().count_blocking().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stored, 2, "conflicting batches stored nothing");

    // The client: its outbox holds the edited event (same id as the server's) between two good ones.
    let store = Store::open(&tmp.path().join("client")).unwrap();
    store.append(&opened).unwrap();
    let before = note(inc, "ana@h", "before");
    store.append(&before).unwrap();
    store.append(&edited).unwrap();
    let after = note(inc, "ana@h", "after");
    store.append(&after).unwrap();
    let c = Client::new(&url(&srv), Some(ANA.into()), Duration::from_secs(5), "ana").unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), engine::sync_once(&store, &c, &[inc]))
        .await
        .expect("the round ends")
        .expect("a conflict does not fail the round");
    assert_eq!(report.rejected, 1, "{report:?}");
    assert_eq!(report.pushed, 3, "opened, before, after: {report:?}");
    assert!(
        report.refusals[0].contains(&edited.id.to_string()) && report.refusals[0].contains("409"),
        "{report:?}"
    );
    assert_eq!(engine::rejected_count(&store).unwrap(), 1);
    let local = store.events(inc).unwrap();
    let kept = local.iter().find(|e| e.id == edited.id).expect("the local version is kept");
    assert_eq!(kept.kind, edited.kind, "the local text is not overwritten by the server's");
    // The next round does not send it again and has nothing to fail on.
    let again = engine::sync_once(&store, &c, &[inc]).await.unwrap();
    assert_eq!((again.pushed, again.rejected), (0, 0), "{again:?}");
    // Everyone else sees the first body under that id, and the good events around it.
    let page = c.pull(inc, 0, 100).await.unwrap();
    let texts: Vec<String> = page
        .events
        .iter()
        .filter_map(|s| match &s.event.kind {
            EventKind::Note { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["disk full on db1", "before", "after"]);
    srv.stop().await.unwrap();
}

/// The token is checked before the body is read: a request without one that announces a body
/// it never sends is answered 401 (after a bounded drain), not left waiting for that body with a
/// buffer the size of the limit held for it.
#[tokio::test]
async fn a_request_without_a_token_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tmp = tempfile::tempdir().unwrap();
    let srv = start(&tmp.path().join("s.db")).await;
    let mut tcp = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let req = format!(
        "POST /v1/incidents/{}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n",
        uuid::Uuid::now_v7()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = vec![0u8; 4096];
    // Generous: the answer comes after the drain's 2 s; a server waiting for the body never answers.
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), tcp.read(&mut raw))
        .await
        .expect("no answer: the server waits for the body of a request it will refuse")
        .unwrap();
    let raw = String::from_utf8_lossy(&raw[..n]);
    assert!(raw.starts_with("HTTP/1.1 401"), "{raw}");
    assert!(raw.contains("\"field\":\"authorization\""), "{raw}");
    srv.stop().await.unwrap();
}
