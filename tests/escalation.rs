//! The escalation engine end to end: the real binary (`warroom escalate`, `warroom serve`) against
//! a real HTTP receiver on 127.0.0.1:0 that stands in for PagerDuty's Events API v2
//! (`/v2/enqueue`) and Change Events API (`/v2/change/enqueue`) and checks every request against
//! the documented rules, answering 202, 400 (naming the field) or a scripted 429.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};

mod common;
#[path = "common/procs.rs"]
mod procs_support;

use procs_support::Reaped;

// ---- a PagerDuty stand-in that enforces the documented payload rules ----

#[derive(Debug, Clone)]
struct Request {
    path: String,
    body: Value,
    at: Instant,
    /// What the receiver answered.
    status: u16,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<u16>,
    seen: Vec<Request>,
}

struct PagerDuty {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    _server: common::Stub,
}

/// The problems PagerDuty would report for an Events API v2 body, as its `errors` list.
fn enqueue_errors(b: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let s = |v: &Value| v.as_str().map(str::to_string);
    if s(&b["routing_key"]).is_none_or(|k| k.trim().is_empty()) {
        errors.push("'routing_key' is missing or blank".to_string());
    }
    let action = s(&b["event_action"]).unwrap_or_default();
    if !["trigger", "acknowledge", "resolve"].contains(&action.as_str()) {
        errors.push(format!("'event_action' is invalid: {action:?}"));
    }
    match s(&b["dedup_key"]) {
        Some(k) if !k.is_empty() && k.len() <= 255 => {}
        _ => errors.push("'dedup_key' is missing, empty or longer than 255".to_string()),
    }
    if action == "trigger" {
        let p = &b["payload"];
        match s(&p["summary"]) {
            Some(t) if !t.is_empty() && t.chars().count() <= 1024 => {}
            _ => errors.push("'payload.summary' is missing or longer than 1024 characters".to_string()),
        }
        if s(&p["source"]).is_none_or(|x| x.is_empty()) {
            errors.push("'payload.source' is missing".to_string());
        }
        let sev = s(&p["severity"]).unwrap_or_default();
        if !["critical", "error", "warning", "info"].contains(&sev.as_str()) {
            errors.push(format!("'payload.severity' is invalid: {sev:?}"));
        }
    }
    errors
}

fn change_errors(b: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    if b["routing_key"].as_str().is_none_or(|k| k.is_empty()) {
        errors.push("'routing_key' is missing or blank".to_string());
    }
    match b["payload"]["summary"].as_str() {
        Some(t) if !t.is_empty() && t.chars().count() <= 1024 => {}
        _ => errors.push("'payload.summary' is missing or longer than 1024 characters".to_string()),
    }
    if let Some(t) = b["payload"]["timestamp"].as_str()
        && chrono::DateTime::parse_from_rfc3339(t).is_err()
    {
        errors.push("'payload.timestamp' is not ISO 8601".to_string());
    }
    if !b["links"].is_array() && !b["links"].is_null() {
        errors.push("'links' must be an array".to_string());
    }
    errors
}

async fn answer(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, body: Bytes) -> (StatusCode, String) {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    let errors = match path.as_str() {
        "/v2/enqueue" => enqueue_errors(&body),
        "/v2/change/enqueue" => change_errors(&body),
        other => vec![format!("no such endpoint {other}")],
    };
    let mut g = inner.lock().unwrap();
    let (status, text) = if !errors.is_empty() {
        (400, json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}))
    } else if let Some(code) = g.script.pop_front() {
        if code == 400 {
            // What PagerDuty answers for a key of the wrong length.
            let errors = ["Length of 'routing_key' is incorrect (should be 32 characters)"];
            (code, json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}))
        } else {
            (code, json!({"status": "throttled", "message": "scripted"}))
        }
    } else if path == "/v2/enqueue" {
        (202, json!({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}))
    } else {
        (202, json!({"status": "success", "message": "Change event processed"}))
    };
    g.seen.push(Request { path, body, at: Instant::now(), status });
    (StatusCode::from_u16(status).unwrap(), text.to_string())
}

impl PagerDuty {
    fn start(script: &[u16]) -> PagerDuty {
        let inner =
            Arc::new(Mutex::new(Inner { script: script.iter().copied().collect(), seen: Vec::new() }));
        let server = common::Stub::serve(axum::Router::new().fallback(answer).with_state(inner.clone()));
        PagerDuty { addr: server.addr, inner, _server: server }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Request> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// Accepted requests with this event_action, in arrival order.
    fn accepted(&self, action: &str) -> Vec<Request> {
        self.seen().into_iter().filter(|r| r.status == 202 && r.body["event_action"] == action).collect()
    }

    fn wait_for(&self, what: &str, secs: u64, f: impl Fn(&PagerDuty) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}; saw {:#?}", self.seen());
    }
}

// ---- warroom processes in private homes ----

/// Three levels three seconds apart (0.05 minutes), the last a long wait; people with nobody
/// else's shifts in the way (a one-person rotation).
const TEAM: &str = r#"
[people.ana]
name = "Ana Lima"
tz = "UTC"
pagerduty_user = "PANA001"
[people.bo]
name = "Bo Chen"
tz = "UTC"
[people.cy]
name = "Cy Park"
tz = "UTC"

[rotations.primary]
name = "Primary"
people = ["ana"]
handoff = "09:00"
length = "1w"
tz = "UTC"
start = 2026-01-05

[escalation.sev1]
levels = [
  { target = "primary", after_minutes = 0.05 },
  { target = "bo", after_minutes = 0.05 },
  { target = "cy", after_minutes = 60 },
]
"#;

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(pd: &str, extra: &str) -> Home {
        Home::new_as("ana", pd, extra)
    }

    fn new_as(user: &str, pd: &str, extra: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("team.toml"), TEAM).unwrap();
        let config = format!(
            "[user]\nname = \"{user}\"\n[team]\nfile = \"team.toml\"\n[paging]\npagerduty_routing_key = \"R0UTINGKEY\"\n\
             pagerduty_url = \"{pd}\"\ntimeout_secs = 3\nretries = 2\n{extra}"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_warroom"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg"))
            .env("TZ", "UTC")
            .env("WARROOM_DATA_DIR", self.path().join("data"))
            .env("WARROOM_CONFIG", self.path().join("config.toml"));
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), err)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "warroom {args:?}: {err}");
        out
    }

    fn spawn(&self, args: &[&str]) -> Reaped {
        let log = std::fs::File::create(self.path().join(format!("{}.log", args[0]))).unwrap();
        Reaped(self.cmd().args(args).stdout(Stdio::null()).stderr(log).spawn().unwrap())
    }

    fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events_in(None, kind)
    }

    /// Events of one type of `incident` (default: the current one; a resolved one is not current).
    fn events_in(&self, incident: Option<&str>, kind: &str) -> Vec<Value> {
        let mut args = vec!["export", "--format", "json"];
        if let Some(i) = incident {
            args.extend(["--incident", i]);
        }
        let v: Value = serde_json::from_str(&self.ok(&args)).unwrap();
        v["events"].as_array().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
    }
}

fn triggers_by_key(pd: &PagerDuty) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in pd.accepted("trigger") {
        *m.entry(r.body["dedup_key"].as_str().unwrap().to_string()).or_default() += 1;
    }
    m
}

#[test]
fn a_sev1_nobody_acks_escalates_by_itself_stops_at_ack_and_resolve_resolves_every_alert() {
    // The first trigger meets a 429: retried with backoff, same dedup key.
    let pd = PagerDuty::start(&[429]);
    let home = Home::new(&pd.url(), "");
    let id = home.ok(&["new", "Checkout API returning 502", "--sev", "1"]).trim().to_string();
    let _engine = home.spawn(&["escalate"]);

    pd.wait_for("level 1", 20, |pd| pd.accepted("trigger").len() == 1);
    let l1 = pd.accepted("trigger")[0].clone();
    assert_eq!(l1.body["dedup_key"], format!("warroom-{id}-L1-C1"));
    assert_eq!(l1.body["payload"]["severity"], "critical");
    assert_eq!(l1.body["payload"]["custom_details"]["person"], "ana");
    assert_eq!(l1.body["payload"]["custom_details"]["pagerduty_user"], "PANA001");
    let throttled: Vec<_> = pd.seen().into_iter().filter(|r| r.status == 429).collect();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].body["dedup_key"], l1.body["dedup_key"], "the retry keeps the dedup key");

    pd.wait_for("level 2", 20, |pd| pd.accepted("trigger").len() == 2);
    let l2 = pd.accepted("trigger")[1].clone();
    assert_eq!(l2.body["dedup_key"], format!("warroom-{id}-L2-C1"));
    assert_eq!(l2.body["payload"]["custom_details"]["person"], "bo");
    assert!(l2.at - l1.at >= Duration::from_millis(2500), "level 2 waits for level 1's 0.05 minutes");

    let out = home.ok(&["ack"]);
    assert_eq!(out.lines().count(), 2, "one acknowledge per alert: {out}");
    let acks = pd.accepted("acknowledge");
    let keys: Vec<_> = acks.iter().map(|r| r.body["dedup_key"].clone()).collect();
    assert_eq!(keys, vec![l1.body["dedup_key"].clone(), l2.body["dedup_key"].clone()]);

    // Level 3 would have fallen due 3 s after level 2: nothing comes once acknowledged.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(pd.accepted("trigger").len(), 2, "the ack stopped the ladder");

    home.ok(&["resolve", "-m", "rolled back the deploy"]);
    let resolves: Vec<_> = pd.accepted("resolve").iter().map(|r| r.body["dedup_key"].clone()).collect();
    assert_eq!(resolves, keys, "resolve resolves every alert the incident triggered");

    // The timeline: each claim, each page with its dedup key and PagerDuty's answer, each update.
    let claims = home.events_in(Some(&id), "escalation_claimed");
    assert_eq!(claims.iter().map(|c| c["level"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2]);
    let paged = home.events_in(Some(&id), "paged");
    assert_eq!(paged.len(), 2, "{paged:#?}");
    assert_eq!(paged[0]["dedup_key"], l1.body["dedup_key"]);
    assert_eq!(paged[0]["ok"], true);
    let outcome = paged[0]["outcome"].as_str().unwrap();
    assert!(outcome.contains("after 2 tries") && outcome.contains("Event processed"), "{outcome}");
    let updates = home.events_in(Some(&id), "alert_updated");
    let actions: Vec<_> = updates.iter().map(|u| u["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["acknowledge", "acknowledge", "resolve", "resolve"]);
    assert!(updates.iter().all(|u| u["ok"] == true));
}

#[test]
fn two_executors_and_a_server_page_each_level_exactly_once() {
    let pd = PagerDuty::start(&[]);
    let server_home = Home::new_as("server", &pd.url(), "");
    let db = server_home.path().join("server.db");
    let mut serve = server_home
        .cmd()
        .args(["serve", "--insecure-loopback", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
        line.strip_prefix("listening on ").unwrap().split_whitespace().next().unwrap().to_string()
    };
    let _serve = Reaped(serve);

    // Two hosts, each with its own store and its own engine, both following the server.
    let a = Home::new(&pd.url(), &format!("[server]\nurl = \"{url}\"\n"));
    let b = Home::new_as("bo", &pd.url(), &format!("[server]\nurl = \"{url}\"\n"));
    let id = a.ok(&["new", "db primary down", "--sev", "1"]).trim().to_string();
    b.ok(&["join", &url, &id]);
    let _ea = a.spawn(&["escalate"]);
    let _eb = b.spawn(&["escalate"]);

    pd.wait_for("all three levels", 30, |pd| pd.accepted("trigger").len() >= 3);
    // Give every executor time to race for anything left: many polls' worth.
    std::thread::sleep(Duration::from_secs(3));
    let counts = triggers_by_key(&pd);
    let want: BTreeMap<String, usize> =
        [1, 2, 3].iter().map(|l| (format!("warroom-{id}-L{l}-C1"), 1)).collect();
    assert_eq!(counts, want, "each level paged exactly once across three executors");
    assert_eq!(pd.seen().len(), 3, "no request beyond the three pages");

    // Every replica shows the same single claim per level, whoever won it.
    b.ok(&["status"]);
    let claims = b.events_of("escalation_claimed");
    assert_eq!(claims.len(), 3, "{claims:#?}");
    let paged = a.events_of("paged");
    assert_eq!(paged.len(), 3, "{paged:#?}");
    let senders: Vec<_> = claims.iter().map(|c| c["author"].as_str().unwrap().to_string()).collect();
    eprintln!("senders (claim authors by level): {senders:?}");
    assert!(senders.iter().all(|s| ["ana", "bo", "server (serve)"].contains(&s.as_str())), "{senders:?}");
}

#[test]
fn bad_input_is_one_clear_line_and_a_missing_channel_is_recorded_not_silent() {
    let pd = PagerDuty::start(&[]);
    // No routing key and no webhook: the due page is recorded as not paged, saying why.
    let home = Home::new(&pd.url(), "");
    let cfg = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        cfg.replace("pagerduty_routing_key = \"R0UTINGKEY\"\n", ""),
    )
    .unwrap();
    home.ok(&["new", "disk full", "--sev", "1"]);
    let _engine = home.spawn(&["escalate"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let paged = loop {
        let p = home.events_of("paged");
        if !p.is_empty() || Instant::now() > deadline {
            break p;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(paged[0]["ok"], false);
    assert_eq!(
        paged[0]["outcome"],
        "not paged: no paging channel configured: set [paging] pagerduty_routing_key or [paging] webhook_url"
    );
    assert!(pd.seen().is_empty());

    // A ladder naming an unknown rotation: one line naming file, line and field; exit 2.
    let bad = TEAM.replace("target = \"bo\"", "target = \"nightshift\"");
    std::fs::write(home.path().join("team.toml"), bad).unwrap();
    let (code, _, err) = home.run(&["escalate"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("team.toml:")
            && err.contains("escalation.sev1.levels[1].target: unknown person or rotation \"nightshift\""),
        "{err}"
    );
}

#[test]
fn change_notes_go_to_the_change_events_api_and_a_400_names_the_field() {
    let pd = PagerDuty::start(&[]);
    let home = Home::new(&pd.url(), "");
    home.ok(&["new", "deploy went bad", "--sev", "2"]);
    let out = home.ok(&["note", "--tag", "change", "deployed checkout v1.4.2"]);
    assert!(out.starts_with("change sent to PagerDuty: delivered: HTTP 202"), "{out}");
    let seen = pd.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2/change/enqueue");
    assert_eq!(seen[0].body["payload"]["summary"], "deployed checkout v1.4.2");
    let sent = home.events_of("change_sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["ok"], true);

    // A plain note is not a change.
    home.ok(&["note", "looking at the graphs"]);
    assert_eq!(pd.seen().len(), 1);

    // PagerDuty refuses a page (400): one line naming the field, not retried, and recorded.
    pd.inner.lock().unwrap().script.push_back(400);
    let (code, _, err) = home.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("HTTP 400 from")
            && err.contains("(not retried): invalid event: Length of 'routing_key' is incorrect"),
        "{err}"
    );
    let paged = home.events_of("paged");
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0]["ok"], false);
    assert!(paged[0]["outcome"].as_str().unwrap().contains("'routing_key'"));
    assert_eq!(pd.seen().len(), 2);
}

#[test]
fn taking_the_pager_changes_who_oncall_and_the_ladder_reach() {
    let pd = PagerDuty::start(&[]);
    let home = Home::new(&pd.url(), "");
    let out = home.ok(&["oncall", "take", "primary", "--person", "cy", "--until", "2099-01-01 00:00"]);
    assert_eq!(out.trim(), "cy (Cy Park) has the Primary pager until 2099-01-01 00:00 UTC");
    let out = home.ok(&["oncall"]);
    assert!(out.contains("Cy Park"), "{out}");
    let (code, _, err) = home.run(&["oncall", "take", "nightshift"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown rotation `nightshift` (known: primary)"), "{err}");

    // Paging someone who is not on call asks first; without a terminal that is a no, saying who is.
    home.ok(&["new", "queue backlog", "--sev", "1"]);
    let (code, _, err) = home.run(&["page", "ana"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "ana (Ana Lima) is not on call now (on call: primary: Cy Park (cy)): not paged; pass --yes"
        ),
        "{err}"
    );
    assert!(pd.seen().is_empty());

    // The engine pages the taker for the rotation's level.
    let _engine = home.spawn(&["escalate"]);
    pd.wait_for("level 1", 20, |pd| !pd.accepted("trigger").is_empty());
    assert_eq!(pd.accepted("trigger")[0].body["payload"]["custom_details"]["person"], "cy");
}
