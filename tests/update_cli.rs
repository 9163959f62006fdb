//! `warroom update` and `warroom contact` through the real binary, with a real status webhook on
//! 127.0.0.1:0: the update is always recorded; a failed delivery is a visible `action` note.

mod common;

use common::{Env, Receiver, dead_url};

fn status_config(url: &str) -> String {
    format!(
        "[user]\nname = \"ana\"\n\n[paging]\ntimeout_secs = 3\nretries = 2\n\n[status_updates]\nwebhook_url = \"{url}/status/s3cret\"\n\
         webhook_headers = {{ X-Api-Key = \"k1\" }}\n"
    )
}

#[test]
fn update_without_a_webhook_is_recorded_with_its_status_first() {
    let env = Env::new("");
    env.open("Checkout API returning 502", "1");
    let (code, out, err) = env.run(&[
        "update",
        "Rolled",
        "back",
        "v1.4.2;",
        "errors",
        "falling",
        "--audience",
        "stakeholders",
        "--status",
        "monitoring",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty() && err.is_empty(), "{out}{err}");
    let events = env.events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "status_set", "status_update_posted"]);
    assert_eq!(events[1]["status"], "monitoring");
    assert_eq!(events[2]["audience"], "stakeholders");
    assert_eq!(events[2]["text"], "Rolled back v1.4.2; errors falling");
    let status = env.ok(&["status", "--json"]);
    let st: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(st["status"], "monitoring");
    assert_eq!(st["last_status_update"]["value"], "stakeholders");
}

#[test]
fn update_is_posted_to_the_status_webhook() {
    let rx = Receiver::start(&[]);
    let env = Env::new(&status_config(&rx.url()));
    let id = env.open("Checkout API returning 502", "2");
    let (code, out, err) = env.run(&["update", "Investigating elevated 502s"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!("status update posted to webhook: delivered: HTTP 202 from {}/…", rx.url())
    );
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/status/s3cret");
    assert_eq!(seen[0].headers["x-api-key"], "k1");
    let b = &seen[0].body;
    assert_eq!(b["kind"], "status_update");
    assert_eq!(b["incident"], id.as_str());
    assert_eq!(b["title"], "Checkout API returning 502");
    assert_eq!((b["severity"].as_u64(), b["status"].as_str()), (Some(2), Some("investigating")));
    assert_eq!(
        (b["audience"].as_str(), b["text"].as_str()),
        (Some("internal"), Some("Investigating elevated 502s"))
    );
    assert_eq!(b["by"], "ana");
    assert_eq!(env.events_of("status_update_posted").len(), 1);
    assert!(env.events_of("note").is_empty(), "nothing extra when it was delivered");
}

#[test]
fn failed_delivery_is_recorded_as_an_action_note_and_exits_1() {
    let rx = Receiver::start(&[500, 502, 503]);
    let env = Env::new(&status_config(&rx.url()));
    env.open("db down", "1");
    let (code, _, err) = env.run(&["update", "--status", "identified", "Primary", "disk", "full"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(rx.seen().len(), 3);
    assert_eq!(rx.seen()[2].body["status"], "identified", "the webhook hears the new status");
    let ups = env.events_of("status_update_posted");
    assert_eq!(ups.len(), 1, "the update is recorded whatever the webhook did");
    let notes = env.events_of("note");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["tag"], "action");
    let text = notes[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "status update delivery failed: HTTP 503 from {}/… after 3 tries",
            rx.url()
        )),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "the webhook path stays off the timeline: {text}");
    assert!(err.contains(text.trim_start_matches("status update delivery failed: ")), "{err}");
}

#[test]
fn unreachable_status_webhook_is_noted() {
    let dead = dead_url();
    let env = Env::new(&status_config(&dead));
    env.open("db down", "1");
    let (code, _, err) = env.run(&["update", "still", "looking"]);
    assert_eq!(code, 1, "{err}");
    let notes = env.events_of("note");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0]["text"],
        format!("status update delivery failed: connection refused to {dead}/… after 3 tries")
    );
}

#[test]
fn empty_update_and_bad_audience_are_usage_errors() {
    let env = Env::new("");
    env.open("db down", "1");
    let (code, _, err) = env.run(&["update", "  "]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the status update is empty"), "{err}");
    let (code, _, err) = env.run(&["update", "x", "--audience", "everyone"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("internal, stakeholders"), "{err}");
    assert!(env.events_of("status_update_posted").is_empty());
}

#[test]
fn contact_attempts_are_recorded_and_checked_against_the_team_file() {
    let env = Env::new("");
    env.open("db down", "1");
    env.ok(&["contact", "bo", "--method", "phone", "--outcome", "no-answer"]);
    env.ok(&["contact", "chidi", "--method", "sms", "--outcome", "reached"]);
    let c = env.events_of("contact_attempted");
    assert_eq!(c.len(), 2);
    assert_eq!((c[0]["person"].as_str(), c[0]["method"].as_str()), (Some("bo"), Some("phone")));
    assert_eq!(c[0]["outcome"], "no-answer");
    assert_eq!((c[1]["person"].as_str(), c[1]["outcome"].as_str()), (Some("chidi"), Some("reached")));

    let (code, _, err) = env.run(&["contact", "zed", "--method", "phone", "--outcome", "called"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown person `zed` in team file"), "{err}");
    let (code, _, err) = env.run(&["contact", "bo", "--method", "fax", "--outcome", "called"]);
    assert_eq!(code, 2, "{err}");
    let md = env.ok(&["export"]);
    assert!(md.contains("bo") && md.contains("no-answer"), "{md}");
    assert_eq!(env.events_of("contact_attempted").len(), 2);
}

#[test]
fn bad_status_webhook_config_names_file_line_and_key() {
    let env = Env::new("[status_updates]\nsev1 = 15\nwebhook_url = \"hooks.example\"\n");
    let (code, _, err) = env.run(&["update", "x"]);
    assert_eq!(code, 2, "{err}");
    let cfg = env.config_path().display().to_string();
    assert!(
        err.contains(&format!("{cfg}:3: status_updates.webhook_url: `hooks.example` must start with")),
        "{err}"
    );
}
