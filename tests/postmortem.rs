//! From the first note to the published postmortem, through the real binary: the README tour as
//! written, the change trail, follow-ups, resolve, status updates to a Statuspage-like and a
//! Slack-like receiver on 127.0.0.1:0, and the postmortem parsed by a CommonMark parser.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use common::{Env, Receiver};
use pulldown_cmark::{Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Every section of Google's SRE postmortem template, as the export names them.
const SECTIONS: &[&str] = &[
    "Summary",
    "People and roles",
    "Impact",
    "Detection",
    "Trigger",
    "Resolution",
    "Root cause",
    "Action items",
    "Lessons learned",
    "What went well",
    "What went wrong",
    "Where we got lucky",
    "Timeline",
    "Supporting information",
    "Evidence",
];

/// (level, heading text) of every heading, and every text node, as a CommonMark parser with the
/// GitHub extensions (tables, task lists) reads the document.
fn parse(md: &str) -> (Vec<(u8, String)>, Vec<String>, usize) {
    let mut headings = Vec::new();
    let mut texts = Vec::new();
    let mut tables = 0;
    let mut in_heading: Option<(u8, String)> = None;
    for ev in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS) {
        match ev {
            Md::Start(Tag::Heading { level, .. }) => {
                let n = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    _ => 4,
                };
                in_heading = Some((n, String::new()));
            }
            Md::End(TagEnd::Heading(_)) => headings.extend(in_heading.take()),
            Md::Start(Tag::Table(_)) => tables += 1,
            Md::Text(t) | Md::Code(t) => {
                if let Some((_, h)) = in_heading.as_mut() {
                    h.push_str(&t);
                }
                texts.push(t.to_string());
            }
            _ => {}
        }
    }
    (headings, texts, tables)
}

/// Asserts the postmortem renders cleanly: every section heading found, no escape left visible.
/// Returns the rendered text (text nodes joined: the parser splits a text at each escape).
fn assert_clean(md: &str) -> String {
    let (headings, texts, tables) = parse(md);
    let names: Vec<&str> = headings.iter().map(|(_, h)| h.as_str()).collect();
    for s in SECTIONS {
        assert!(names.contains(s), "no `{s}` heading in {names:?}\n{md}");
    }
    assert_eq!(headings.iter().filter(|(l, _)| *l == 1).count(), 1, "one title: {names:?}");
    assert!(tables >= 2, "the figures and timeline are tables: {tables}");
    let rendered = texts.concat();
    for esc in ["\\[", "\\]", "\\|", "\\*", "\\_", "\\`", "\\<"] {
        assert!(!rendered.contains(esc), "a literal {esc} shows in the rendered text: {rendered}");
    }
    rendered
}

fn readme_tour() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## A short tour").expect("README has a tour");
    let rest = &readme[start..];
    let open = rest.find("```sh\n").expect("the tour is a sh block") + 6;
    let close = rest[open..].find("```").unwrap();
    rest[open..open + close].lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

#[test]
fn readme_tour_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("warroom");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let tour = readme_tour();
    assert!(tour.len() >= 10, "{tour:?}");
    for line in &tour {
        let out = std::process::Command::new("sh")
            .args(["-c", line])
            .current_dir(tmp.path())
            .env_clear()
            .env("PATH", &path)
            .env("HOME", tmp.path())
            .env("XDG_CONFIG_HOME", tmp.path().join("config"))
            .env("USER", "ana")
            .env("TZ", "UTC")
            .env("WARROOM_DATA_DIR", tmp.path().join("data"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "README tour line failed ({}): {line}\n{err}", out.status);
        assert!(!err.contains("panicked"), "{line}: {err}");
    }
    let md =
        std::fs::read_to_string(tmp.path().join("postmortem.md")).expect("the tour writes postmortem.md");
    let texts = assert_clean(&md);
    // What the tour recorded is where a reader looks for it.
    for needle in
        ["EU payments failing", "rolled back pay-svc to v1.4.1", "add canary auto-abort on 5xx", "OPS-123"]
    {
        assert!(texts.contains(needle), "postmortem lacks {needle:?}:\n{md}");
    }
    let trigger = &md[md.find("## Trigger").unwrap()..md.find("## Resolution").unwrap()];
    assert!(
        trigger.contains("deploying pay-svc v1.4.2"),
        "the deploy before the incident is the trigger: {trigger}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("incident.json")).unwrap()).unwrap();
    assert_eq!(doc["incident"]["status"], "resolved");
    assert_eq!(doc["incident"]["followups"][0]["owner"], "bo");
    assert!(doc["incident"]["impact_started_at"].as_str() < doc["incident"]["opened_at"].as_str());
}

/// One request a fake provider saw.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: serde_json::Value,
}

#[derive(Default)]
struct Seen {
    reqs: Vec<Req>,
    fail: VecDeque<u16>,
}

/// Answers as Atlassian Statuspage does (developer.statuspage.io): `POST
/// /v1/pages/{page_id}/incidents` creates (201 with the incident and its `id`), `PATCH
/// /v1/pages/{page_id}/incidents/{incident_id}` updates (200); `Authorization: OAuth KEY` or 401;
/// an unknown page or incident is 404; a body without `incident` is 422. A Slack incoming webhook
/// lives at `/services/T0/B0/XYZ`: `{"text": ...}` gets `ok`, anything else 400 `no_text`.
async fn provider(
    State(s): State<Arc<Mutex<Seen>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let mut g = s.lock().unwrap();
    g.reqs.push(Req {
        method: method.clone(),
        path: uri.path().to_string(),
        headers: headers.clone(),
        body: json.clone(),
    });
    if let Some(code) = g.fail.pop_front() {
        return (StatusCode::from_u16(code).unwrap(), r#"{"error":"scripted"}"#.into());
    }
    let path = uri.path();
    if path == "/services/T0/B0/XYZ" {
        return match json.get("text").and_then(|t| t.as_str()) {
            Some(t) if !t.is_empty() && method == Method::POST => (StatusCode::OK, "ok".into()),
            _ => (StatusCode::BAD_REQUEST, "no_text".into()),
        };
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("OAuth SPKEY123") {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"Could not authenticate"}"#.into());
    }
    let Some(inc) = json.get("incident").filter(|i| i.is_object()) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"error":"incident is missing"}"#.into());
    };
    let status_ok = inc["status"]
        .as_str()
        .is_some_and(|s| ["investigating", "identified", "monitoring", "resolved"].contains(&s));
    if !status_ok || !inc["body"].is_string() {
        return (StatusCode::UNPROCESSABLE_ENTITY, r#"{"error":"bad status or body"}"#.into());
    }
    match (method, path) {
        (Method::POST, "/v1/pages/pg1/incidents") if inc["name"].is_string() => (
            StatusCode::CREATED,
            r#"{"id":"p31zjtct2jer","name":"x","status":"investigating","page_id":"pg1"}"#.into(),
        ),
        (Method::PATCH, "/v1/pages/pg1/incidents/p31zjtct2jer") => {
            (StatusCode::OK, r#"{"id":"p31zjtct2jer","page_id":"pg1"}"#.into())
        }
        _ => (StatusCode::NOT_FOUND, r#"{"error":"not found"}"#.into()),
    }
}

struct Provider {
    url: String,
    seen: Arc<Mutex<Seen>>,
    _rt: std::thread::JoinHandle<()>,
}

impl Provider {
    fn start(fail: &[u16]) -> Provider {
        let seen = Arc::new(Mutex::new(Seen { reqs: Vec::new(), fail: fail.iter().copied().collect() }));
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let state = seen.clone();
        let rt = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(l).unwrap();
                let app = axum::Router::new().fallback(provider).with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Provider { url, seen, _rt: rt }
    }
    fn reqs(&self) -> Vec<Req> {
        self.seen.lock().unwrap().reqs.clone()
    }
}

fn provider_config(url: &str, components: &str) -> String {
    format!(
        "[user]\nname = \"ana\"\n\n[paging]\ntimeout_secs = 3\nretries = 1\n\n[status_updates]\n\
         statuspage_url = \"{url}\"\nstatuspage_page_id = \"pg1\"\nstatuspage_api_key = \"SPKEY123\"\n\
         statuspage_components = [{components}]\nchat_webhook_url = \"{url}/services/T0/B0/XYZ\"\n"
    )
}

#[test]
fn updates_create_then_amend_one_statuspage_incident_and_reach_the_chat() {
    let p = Provider::start(&[]);
    let env = Env::new(&provider_config(&p.url, "\"cmp1\""));
    env.open("Checkout API returning 502", "1");
    let (code, out, err) = env.run(&["update", "--audience", "stakeholders", "Some EU card payments fail"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("posted to statuspage: delivered: HTTP 201") && out.contains("posted to chat"),
        "{out}"
    );
    let (code, _, err) =
        env.run(&["update", "--audience", "stakeholders", "--status", "monitoring", "Fix rolled out"]);
    assert_eq!(code, 0, "{err}");
    // Internal updates reach the channel, never the public page.
    let (code, _, err) = env.run(&["update", "pool size doubled on pay-svc"]);
    assert_eq!(code, 0, "{err}");

    let reqs = p.reqs();
    let sp: Vec<&Req> = reqs.iter().filter(|r| r.path.starts_with("/v1/")).collect();
    let chat: Vec<&Req> = reqs.iter().filter(|r| r.path.starts_with("/services/")).collect();
    assert_eq!(sp.len(), 2, "{reqs:?}");
    assert_eq!(chat.len(), 3, "{reqs:?}");
    assert_eq!((&sp[0].method, sp[0].path.as_str()), (&Method::POST, "/v1/pages/pg1/incidents"));
    assert_eq!(
        (&sp[1].method, sp[1].path.as_str()),
        (&Method::PATCH, "/v1/pages/pg1/incidents/p31zjtct2jer")
    );
    for r in &sp {
        assert_eq!(r.headers["authorization"], "OAuth SPKEY123");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.body["incident"]["component_ids"], serde_json::json!(["cmp1"]));
    }
    let (first, second) = (&sp[0].body["incident"], &sp[1].body["incident"]);
    assert_eq!(first["name"], "Checkout API returning 502");
    assert_eq!(
        (first["status"].as_str(), first["body"].as_str()),
        (Some("investigating"), Some("Some EU card payments fail"))
    );
    assert_eq!(first["components"]["cmp1"], "major_outage");
    assert!(second.get("name").is_none(), "an update does not rename the incident");
    assert_eq!(
        (second["status"].as_str(), second["body"].as_str()),
        (Some("monitoring"), Some("Fix rolled out"))
    );
    assert_eq!(second["components"]["cmp1"], "degraded_performance");
    let text = chat[2].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[SEV1] Checkout API returning 502 — monitoring (internal)\npool size doubled"),
        "{text}"
    );
    assert_eq!(chat[2].body.as_object().unwrap().len(), 1, "Slack's format: just text");

    let delivered = env.events_of("status_update_delivered");
    assert_eq!(delivered.len(), 5);
    assert_eq!(delivered[0]["provider"], "statuspage");
    assert_eq!(delivered[0]["external_id"], "p31zjtct2jer", "the page's incident id is recorded");
    let status: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["external_ids"]["statuspage"], "p31zjtct2jer");
}

#[test]
fn a_failed_statuspage_delivery_is_on_the_timeline_and_exits_1() {
    // 503 twice (one retry), then the chat webhook answers.
    let p = Provider::start(&[503, 503]);
    let env = Env::new(&provider_config(&p.url, ""));
    env.open("db down", "2");
    let (code, out, err) = env.run(&["update", "--audience", "stakeholders", "Investigating"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("NOT delivered to statuspage: HTTP 503") && err.contains("after 2 tries"), "{err}");
    assert!(out.contains("posted to chat"), "the other provider still gets it: {out}");
    let notes = env.events_of("note");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["tag"], "action");
    assert!(
        notes[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("status update delivery failed via statuspage: HTTP 503")
    );
    assert_eq!(env.events_of("status_update_posted").len(), 1, "the update itself is recorded");
    // No page incident was made, so the next update creates it.
    env.ok(&["update", "--audience", "stakeholders", "Still investigating"]);
    let sp: Vec<Req> = p.reqs().into_iter().filter(|r| r.path.starts_with("/v1/")).collect();
    assert_eq!(sp.last().unwrap().method, Method::POST);
    assert!(sp.last().unwrap().body["incident"].get("component_ids").is_none(), "components are optional");
    let md = env.ok(&["export"]);
    assert!(md.contains("Status update delivery failed via statuspage"), "{md}");
}

#[test]
fn statuspage_config_needs_both_id_and_key() {
    let env = Env::new("[status_updates]\nstatuspage_page_id = \"pg1\"\n");
    let (code, _, err) = env.run(&["status"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("config.toml:2: status_updates.statuspage_page_id")
            && err.contains("statuspage_api_key"),
        "{err}"
    );
}

#[test]
fn change_runs_the_command_and_records_status_and_duration() {
    let env = Env::new("");
    // No incident: the host change log.
    let (code, _, err) = env.run(&["change", "-m", "deploy v2", "--", "sh", "-c", "sleep 0.2; exit 3"]);
    assert_eq!(code, 3, "the command's status: {err}");
    assert!(err.contains("host change log") && err.contains("exit 3"), "{err}");
    env.ok(&["note", "--tag", "change", "flag eu-3ds on"]);
    let log: serde_json::Value = serde_json::from_str(&env.ok(&["changes", "--json"])).unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["command"]["exit_code"], 3);
    assert!(log[0]["command"]["duration_ms"].as_u64().unwrap() >= 200);
    // Quoted as it ran: the record can be pasted back into a shell.
    assert_eq!(log[0]["command"]["command"], "sh -c 'sleep 0.2; exit 3'");
    // A new incident shows them and carries them.
    let out = env.cmd().args(["new", "API down", "--sev", "2"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Changes on this host in the last 4h") && err.contains("deploy v2"), "{err}");
    assert_eq!(env.events_of("change_recorded").len(), 2);
    // During an incident: on the timeline too. A command that does not exist is a usage error.
    let (code, _, err) = env.run(&["change", "--", "/nonexistent/deploy"]);
    assert_eq!(code, 2, "{err}");
    let ch = env.events_of("change_recorded");
    assert_eq!(ch.len(), 3);
    assert!(ch[2]["command"]["outcome"].as_str().unwrap().starts_with("could not start"), "{ch:?}");
    // Secrets in the command line stay off the record.
    env.ok(&["change", "--", "sh", "-c", ":", "--token", "hunter2"]);
    let last = env.events_of("change_recorded").pop().unwrap();
    assert!(!last.to_string().contains("hunter2"), "{last}");
    let (code, _, err) = env.run(&["change"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn note_at_author_and_bad_times() {
    let env = Env::new("");
    env.open("db down", "2");
    env.ok(&["note", "--at", "2h", "--author", "bo", "--tag", "finding", "errors started"]);
    let notes = env.events_of("note");
    assert_eq!(notes[0]["author"], "bo");
    let st: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    assert!(st["impact_started_at"].as_str() < st["opened_at"].as_str(), "{st}");
    for (bad, says) in [
        ("tomorrow", "--at: bad time"),
        ("2099-01-01 00:00", "in the future"),
        ("99999h", "more than 30 days"),
    ] {
        let (code, _, err) = env.run(&["note", "--at", bad, "x"]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains(says) && err.trim_end().lines().count() == 1, "{bad}: {err}");
    }
    let (code, _, err) = env.run(&["note", "--author", " ", "x"]);
    assert_eq!((code, err.contains("--author is empty")), (2, true), "{err}");
}

#[test]
fn default_author_is_never_a_bare_uid() {
    let env = Env::new("");
    // No [user] name, no USER or LOGNAME: the account name from /etc/passwd.
    let out = env.cmd().env_remove("USER").args(["new", "x", "--sev", "3"]).output().unwrap();
    assert!(out.status.success());
    let opened = &env.events_of("opened")[0];
    let author = opened["author"].as_str().unwrap();
    assert!(!author.starts_with("uid"), "{author}");
    let out = env.cmd().env("WARROOM_AUTHOR", "Ana Lima").args(["note", "hello"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(env.events_of("note")[0]["author"], "Ana Lima");
}

#[test]
fn followups_add_list_done_and_bad_numbers() {
    let env = Env::new("");
    env.open("db down", "2");
    assert!(
        env.ok(&[
            "followup",
            "add",
            "add",
            "canary",
            "auto-abort",
            "--owner",
            "bo",
            "-p",
            "p1",
            "--ticket",
            "OPS-9"
        ])
        .contains("#1")
    );
    env.ok(&["followup", "add", "alert on pool saturation"]);
    env.ok(&["followup", "done", "1"]);
    env.ok(&["followup", "done", "#2", "--wont-do"]);
    let list = env.ok(&["followup", "list"]);
    assert!(list.contains("#1   done      p1  bo") && list.contains("OPS-9"), "{list}");
    assert!(list.contains("won't do") && list.contains("p2"), "{list}");
    env.ok(&["followup", "done", "2", "--reopen"]);
    let fs: serde_json::Value = serde_json::from_str(&env.ok(&["followup", "list", "--json"])).unwrap();
    assert_eq!(fs[1]["status"], "open");
    let (code, _, err) = env.run(&["followup", "done", "7"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no follow-up #7 (there are 2"), "{err}");
    let (code, _, err) = env.run(&["followup", "add", "x", "--priority", "urgent"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("p0, p1, p2, p3"), "{err}");
    let md = env.ok(&["export"]);
    assert!(md.contains("| add canary auto-abort | bo | p1 | done | OPS-9 |"), "{md}");
}

#[test]
fn resolve_warns_about_unticked_steps_and_unacknowledged_pages() {
    let rx = Receiver::start(&[]);
    // Pages go to the webhook only: no PagerDuty routing key (it would also take change notes).
    let config = common::paging_config("http://127.0.0.1:9", &rx.url(), "")
        .replace("pagerduty_routing_key = \"R0UTINGKEY\"\n", "");
    let env = Env::new(&config);
    env.open("CPU pegged on api-3", "2");
    env.ok(&["runbook", "attach", "host-cpu-saturation"]);
    env.ok(&["runbook", "tick", "host-cpu-saturation", "confirm-the-saturation--compare"]);
    env.ok(&["page", "bo", "--via", "webhook", "--yes"]);
    let (code, _, err) = env.run(&["resolve", "-m", "killed the runaway batch job"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: runbook \"Host CPU saturation\": 14 of 15 steps not ticked"), "{err}");
    assert!(err.contains("warning: 1 page(s) not acknowledged (bo)"), "{err}");
    let res = env.events_of("resolution_recorded");
    assert_eq!(res[0]["text"], "killed the runaway batch job");
    let md = env.ok(&["export"]);
    assert!(md.contains("— not done"), "unticked steps read as not done: {md}");
    assert!(!md.contains("skipped"), "{md}");
}

/// A whole incident as it happens: a deploy and a flag flip before it, impact noticed late, a
/// runbook followed part way, a real process killed through the guard (with evidence), a page and
/// a phone call, stakeholder updates, follow-ups, the resolution. The postmortem must read cleanly.
#[test]
fn a_realistic_incident_gives_a_postmortem_that_renders_cleanly() {
    use warroom::incident::{Event, fold};
    use warroom::procs::{
        CriticalList, KillRequest, ProcessIdentity, Sampler, Sig, current_context, guarded_kill,
    };

    let rx = Receiver::start(&[]);
    let env = Env::new(&format!(
        "{}\n[user]\nname = \"ana\"\n",
        // Pages go to the webhook only: no PagerDuty routing key (it would also take change notes).
        common::paging_config("http://127.0.0.1:9", &rx.url(), "")
            .replace("pagerduty_routing_key = \"R0UTINGKEY\"\n", "")
    ));
    env.ok(&["change", "-m", "deploy pay-svc v1.4.2 (pool_size=20)", "--", "sh", "-c", "echo rolled out"]);
    env.ok(&["note", "--tag", "change", "feature flag eu_3ds_v2 on for 100% [ops]"]);
    let id = env.open("Checkout API returning 502 for EU cards", "1");
    env.ok(&[
        "note",
        "--at",
        "25m",
        "--tag",
        "finding",
        "502 ratio on checkout rose from 0.1% to 14% (see *grafana* panel 7)",
    ]);
    env.ok(&["note", "--tag", "finding", "pay-svc pool exhausted: 20/20 connections busy | waiting 340"]);
    env.ok(&["ack"]);
    env.ok(&["runbook", "attach", "host-cpu-saturation"]);
    env.ok(&["runbook", "run", "host-cpu-saturation", "confirm-the-saturation--compare", "--yes"]);
    env.ok(&["runbook", "tick", "host-cpu-saturation", "confirm-the-saturation--compare"]);
    env.ok(&["runbook", "tick", "host-cpu-saturation", "find-who-is-using-it--list"]);
    env.ok(&["page", "bo", "--via", "webhook", "--yes"]);
    env.ok(&["contact", "bo", "--method", "phone", "--outcome", "reached"]);
    env.ok(&["note", "--tag", "decision", "roll back instead of raising the pool size"]);

    // The kill, through the real guard against a real process, recorded in the store.
    let mut victim = std::process::Command::new("sleep").arg("300").spawn().unwrap();
    let pid = victim.id() as i32;
    let mut sampler = Sampler::new().unwrap();
    let snap = sampler.sample();
    let target = ProcessIdentity::from(snap.get(pid).expect("sleep is sampled"));
    let data = env.tmp.path().join("data");
    let store = warroom::store::Store::open(&data).unwrap();
    let incident: uuid::Uuid = id.parse().unwrap();
    let req = KillRequest {
        target,
        signal: Sig::Term,
        reason: "stuck batch export holding pay-svc connections".into(),
        typed_name: None,
        evidence_dir: Some(store.evidence_dir(incident)),
        at: chrono::Utc::now(),
    };
    let report = guarded_kill(&req, &current_context(CriticalList::default())).unwrap();
    let _ = victim.wait();
    for k in report.events {
        store.append(&Event::new(incident, chrono::Utc::now(), "ana", k)).unwrap();
    }
    drop(store);

    env.ok(&["change", "-m", "roll back pay-svc to v1.4.1", "--", "true"]);
    env.ok(&[
        "update",
        "--audience",
        "stakeholders",
        "--status",
        "monitoring",
        "A fix is in; EU card payments recovering",
    ]);
    env.ok(&[
        "followup",
        "add",
        "add canary auto-abort on 5xx",
        "--owner",
        "bo",
        "-p",
        "p1",
        "--ticket",
        "https://jira.example.com/browse/OPS-123",
    ]);
    env.ok(&["followup", "add", "alert on pay-svc pool saturation > 80%", "--owner", "ana"]);
    env.ok(&["followup", "add", "document the eu_3ds_v2 flag rollback", "-p", "p3"]);
    env.ok(&["followup", "done", "3", "--wont-do"]);
    let (code, _, err) =
        env.run(&["resolve", "-m", "rolled back pay-svc to v1.4.1 and killed the stuck export"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("13 of 15 steps not ticked"), "{err}");

    let md = env.ok(&["export"]);
    if let Some(out) = std::env::var_os("WARROOM_POSTMORTEM_OUT") {
        std::fs::write(out, &md).unwrap();
    }
    let texts = assert_clean(&md);
    for needle in [
        "feature flag eu_3ds_v2 on for 100% [ops]",
        "502 ratio on checkout rose from 0.1% to 14% (see *grafana* panel 7)",
        "pay-svc pool exhausted: 20/20 connections busy | waiting 340",
        "stuck batch export holding pay-svc connections",
        "roll back instead of raising the pool size",
        "rolled back pay-svc to v1.4.1 and killed the stuck export",
        "A fix is in; EU card payments recovering",
        "Paged: bo via webhook",
        "Contacted: bo by phone",
    ] {
        assert!(texts.contains(needle), "the rendered postmortem lacks {needle:?}:\n{md}");
    }
    let section = |name: &str| {
        let start = md.find(&format!("## {name}\n")).unwrap_or_else(|| panic!("no {name}"));
        let rest = &md[start + 3..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    assert!(section("Trigger").contains("deploy pay-svc v1.4.2 (pool\\_size=20)"), "{}", section("Trigger"));
    assert!(section("Trigger").contains("Changes made during the incident"), "the rollback is a change too");
    assert!(section("Resolution").contains("Sent SIGTERM to sleep"), "{}", section("Resolution"));
    assert!(md.contains("Follow-up marked won't do: document the eu\\_3ds\\_v2 flag rollback"), "{md}");
    let items = section("Action items");
    assert!(
        items.contains(
            "| add canary auto-abort on 5xx | bo | p1 | open | <https://jira.example.com/browse/OPS-123> |"
        ),
        "{items}"
    );
    assert!(
        items.contains("| document the eu\\_3ds\\_v2 flag rollback | unassigned | p3 | won't do | none |"),
        "{items}"
    );
    let head = &md[..md.find("## Summary").unwrap()];
    // The finding was written 25 minutes back a moment after the opening: detection took 24-25m.
    assert!(head.contains("| Time to detect | 24m |") || head.contains("| Time to detect | 25m |"), "{head}");
    for figure in [
        "| Impact began |",
        "| Time to acknowledge | 2",
        "(from impact start",
        "| Time to mitigate |",
        "| Time to resolve |",
    ] {
        assert!(head.contains(figure), "lacks {figure}: {head}");
    }
    assert!(section("Lessons learned").contains("Runbook Host CPU saturation: 2 of 15 steps done."));
    let st = fold(&warroom::store::Store::open(&data).unwrap().events(incident).unwrap()).unwrap();
    assert_eq!(st.followups.len(), 3);
}
