//! Paging against a real HTTP receiver on 127.0.0.1:0: through the `warroom page` binary for CLI
//! behaviour (exit codes, timeline events, request bodies), and through the async library API the
//! TUI uses for what the CLI cannot reach (timeouts, 429, spawning).

mod common;

use std::time::Duration;

use common::{Env, Receiver, dead_url, paging_config};
use warroom::config::Config;
use warroom::incident::{EventKind, Severity};
use warroom::notify::{Channel, DeliveryError, Notifier, Page, Paged, Policy, paged_kind};

fn one_paged(env: &Env) -> serde_json::Value {
    let paged = env.events_of("paged");
    assert_eq!(paged.len(), 1, "exactly one paged event: {paged:?}");
    paged[0].clone()
}

#[test]
fn page_via_pagerduty_is_delivered_and_recorded() {
    let rx = Receiver::start(&[]);
    let env = Env::new(&paging_config(&rx.url(), &rx.url(), ""));
    let id = env.open("Checkout API returning 502", "1");
    let (code, out, err) = env.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let enqueue = format!("{}/v2/enqueue", rx.url());
    assert_eq!(out.trim(), format!("paged bo (Bo Chen) via pagerduty: delivered: HTTP 202 from {enqueue}"));

    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2/enqueue");
    assert!(seen[0].headers.get("authorization").is_none(), "webhook headers are not sent to PagerDuty");
    let b = &seen[0].body;
    assert_eq!(b["routing_key"], "R0UTINGKEY");
    assert_eq!(b["event_action"], "trigger");
    assert_eq!(b["dedup_key"], id.as_str());
    assert_eq!(b["payload"]["severity"], "critical");
    assert_eq!(b["payload"]["summary"], "[SEV1] Checkout API returning 502 - paging Bo Chen");
    assert_eq!(b["payload"]["custom_details"]["pagerduty_user"], "PBO0002");

    let ev = one_paged(&env);
    assert_eq!(ev["person"], "bo");
    assert_eq!(ev["method"], "pagerduty");
    assert_eq!(ev["ok"], true);
    // PagerDuty's answer is kept on the timeline, with the dedup key.
    assert_eq!(
        ev["outcome"],
        format!(
            "delivered: HTTP 202 from {enqueue}: {{\"status\":\"success\",\"message\":\"Event processed\"}}"
        )
    );
    assert_eq!(ev["dedup_key"], id.as_str());
    assert!(ev.get("level").is_none());
}

#[test]
fn a_500_is_retried_and_then_delivered() {
    let rx = Receiver::start(&[500]);
    let env = Env::new(&paging_config(&rx.url(), &rx.url(), ""));
    let id = env.open("db down", "2");
    let (code, _, err) = env.run(&["page", "chidi", "--yes", "--message", "primary is not answering"]);
    assert_eq!(code, 0, "{err}");
    let seen = rx.seen();
    assert_eq!(seen.len(), 2, "one failure, one retry");
    for s in &seen {
        assert_eq!(s.body["dedup_key"], id.as_str(), "retries keep the dedup key");
        assert_eq!(s.body["payload"]["summary"], "[SEV2] primary is not answering");
        assert_eq!(s.body["payload"]["severity"], "error");
    }
    let ev = one_paged(&env);
    assert_eq!(ev["ok"], true);
    assert!(
        ev["outcome"]
            .as_str()
            .unwrap()
            .starts_with(&format!("delivered: HTTP 202 from {}/v2/enqueue after 2 tries: ", rx.url())),
        "{ev}"
    );
}

#[test]
fn a_500_every_time_fails_after_three_tries_and_is_recorded() {
    let rx = Receiver::start(&[500, 500, 500, 500]);
    let env = Env::new(&paging_config(&rx.url(), &rx.url(), ""));
    env.open("db down", "1");
    let (code, out, err) = env.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    let outcome = format!(
        "HTTP 500 from {}/v2/enqueue after 3 tries: {{\"status\":\"scripted 500\",\"message\":\"scripted failure\"}}",
        rx.url()
    );
    assert!(err.contains(&outcome), "{err}");
    assert_eq!(rx.seen().len(), 3, "retries = 2 means three tries");
    let ev = one_paged(&env);
    assert_eq!(ev["ok"], false);
    assert_eq!(ev["outcome"], outcome);
    let md = env.ok(&["export"]);
    assert!(md.contains("Paged bo via pagerduty: FAILED HTTP 500"), "{md}");
}

#[test]
fn not_listening_is_a_failed_page_on_the_timeline() {
    let dead = dead_url();
    let env = Env::new(&paging_config(&dead, &dead, ""));
    env.open("network partition", "1");
    let (code, _, err) = env.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 1, "{err}");
    let outcome = format!("connection refused to {dead}/v2/enqueue after 3 tries");
    assert!(err.contains(&outcome), "{err}");
    let ev = one_paged(&env);
    assert_eq!((ev["ok"].clone(), ev["outcome"].clone()), (false.into(), outcome.into()));
}

#[test]
fn a_400_is_not_retried() {
    let rx = Receiver::start(&[400, 202]);
    let env = Env::new(&paging_config(&rx.url(), &rx.url(), ""));
    env.open("bad key", "3");
    let (code, _, err) = env.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(rx.seen().len(), 1, "a 400 will not get better by asking again");
    let ev = one_paged(&env);
    assert_eq!(ev["ok"], false);
    let outcome = ev["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with(&format!("HTTP 400 from {}/v2/enqueue (not retried): ", rx.url())),
        "{outcome}"
    );
}

#[test]
fn missing_routing_key_and_unknown_person_are_usage_errors_and_record_nothing() {
    let rx = Receiver::start(&[]);
    let env = Env::new(&format!("[paging]\nwebhook_url = \"{}/h\"\n", rx.url()));
    env.open("db down", "1");
    let (code, _, err) = env.run(&["page", "bo", "--yes", "--via", "pagerduty"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim_end(),
        "warroom: no PagerDuty routing key configured ([paging] pagerduty_routing_key)"
    );
    let (code, _, err) = env.run(&["page", "zed"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown person `zed` in team file"), "{err}");
    assert!(err.contains("team.example.toml (known: ana, bo, chidi, dana, emi)"), "{err}");
    let (code, _, err) = env.run(&["page", "bo", "--via", "carrier-pigeon"]);
    assert_eq!(code, 2, "{err}");
    assert!(rx.seen().is_empty());
    assert!(env.events_of("paged").is_empty());

    let bare = Env::new("");
    bare.open("db down", "1");
    let (code, _, err) = bare.run(&["page", "bo", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no paging channel configured"), "{err}");
}

#[test]
fn webhook_page_by_ladder_level_sends_headers_and_hides_the_secret_path() {
    let rx = Receiver::start(&[]);
    let env = Env::new(&paging_config(&rx.url(), &rx.url(), ""));
    let id = env.open("Checkout API returning 502", "1");
    // Level 3 of the example's SEV1 ladder is a person (ana), so who it reaches does not depend on today.
    let (code, out, err) = env.run(&["page", "--level", "3", "--via", "webhook"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("paged ana (Ana Lima) via webhook"), "{out}");
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/hooks/secret-token");
    assert_eq!(seen[0].headers["authorization"], "Bearer t0ken");
    let b = &seen[0].body;
    assert_eq!((b["kind"].as_str(), b["incident"].as_str()), (Some("page"), Some(id.as_str())));
    assert_eq!((b["person"]["id"].as_str(), b["level"].as_u64()), (Some("ana"), Some(3)));
    assert_eq!(b["person"]["phone"], "+49 30 5555 0101");
    assert_eq!(b["severity"], 1);
    let ev = one_paged(&env);
    assert_eq!((ev["method"].as_str(), ev["level"].as_u64()), (Some("webhook"), Some(3)));
    assert_eq!(ev["outcome"], format!("delivered: HTTP 202 from {}/…", rx.url()));

    let (code, _, err) = env.run(&["page", "--level", "9"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--level 9: the SEV1 ladder in") && err.contains("has levels 1 to 3"), "{err}");
}

// ---- the async API the TUI spawns ----

fn page() -> Page {
    Page {
        incident: uuid::Uuid::now_v7(),
        title: "db down".into(),
        severity: Severity::new(1).unwrap(),
        person: Paged {
            id: "bo".into(),
            name: "Bo Chen".into(),
            handle: None,
            phone: None,
            email: None,
            chat: None,
            pagerduty_user: None,
        },
        level: Some(1),
        message: None,
        by: "ana".into(),
        dedup_key: "warroom-test-dedup".into(),
        cycle: None,
    }
}

fn notifier(pd: &str, tries: u32, timeout: Duration) -> Notifier {
    let cfg = Config::parse(&paging_config(pd, pd, ""), "test.toml").unwrap();
    Notifier::new(&cfg.paging, &cfg.status_updates).unwrap().with_policy(Policy {
        connect_timeout: timeout,
        timeout,
        tries,
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
    })
}

#[tokio::test]
async fn spawned_page_yields_the_event_to_append() {
    let rx = Receiver::start(&[503, 429]);
    let n = notifier(&rx.url(), 3, Duration::from_secs(5));
    let p = page();
    let task = tokio::spawn(async move {
        let result = n.page(Channel::PagerDuty, &p).await;
        paged_kind(&p, Channel::PagerDuty, &result)
    });
    let kind = task.await.unwrap();
    let EventKind::Paged { person, method, level, ok, outcome, .. } = kind else { panic!("{kind:?}") };
    assert_eq!((person.as_str(), method.as_str(), level, ok), ("bo", "pagerduty", Some(1), true));
    assert!(outcome.contains("after 3 tries: "), "503 and 429 are both retried: {outcome}");
    assert_eq!(rx.seen().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    // Accepts connections and reads nothing back: only the per-try timeout ends the wait.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let n = notifier(&url, 2, Duration::from_millis(300));
    let err = n.page(Channel::PagerDuty, &page()).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Timeout { tries: 2, .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("no answer from {url}/v2/enqueue within 300 ms after 2 tries"));
    hold.abort();
}

#[tokio::test]
async fn missing_routing_key_is_an_error_the_tui_can_record() {
    let cfg = Config::parse("[paging]\nwebhook_url = \"http://127.0.0.1:9/x\"\n", "t.toml").unwrap();
    let n = Notifier::new(&cfg.paging, &cfg.status_updates).unwrap();
    let p = page();
    let result = n.page(Channel::PagerDuty, &p).await;
    let EventKind::Paged { ok, outcome, .. } = paged_kind(&p, Channel::PagerDuty, &result) else { panic!() };
    assert!(!ok);
    assert_eq!(outcome, "no PagerDuty routing key configured ([paging] pagerduty_routing_key)");
    assert_eq!(n.default_channel().unwrap(), Channel::Webhook);
}
