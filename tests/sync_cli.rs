//! The CLI with a server: offline it warns on stderr, queues and exits 0; back online the next
//! command drains the queue; `join` fetches someone else's incident and makes it current.

mod sync_support;

use std::path::Path;

use assert_cmd::Command;
use sync_support::*;

fn client_config(dir: &Path, name: &str, url: &str, token: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!("[user]\nname = \"{name}@cli\"\n\n[server]\nurl = \"{url}\"\ntoken = \"{token}\"\n"),
    )
    .unwrap();
    p
}

fn warroom(config: &Path, data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warroom"));
    c.env("WARROOM_CONFIG", config)
        .env("WARROOM_DATA_DIR", data)
        .env_remove("WARROOM_SERVER")
        .env_remove("WARROOM_TOKEN");
    c.timeout(std::time::Duration::from_secs(30));
    c
}

#[test]
fn offline_cli_warns_exits_zero_and_drains_later() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let cfg = client_config(tmp.path(), "ana", &url, ANA);
    let data = tmp.path().join("ana-data");

    let out = warroom(&cfg, &data).args(["new", "disk full", "--sev", "2"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("warning: server") && err.contains("1 event(s) queued"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let out = warroom(&cfg, &data).args(["note", "rotated logs"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 event(s) queued"));

    // The server comes up on that port; the next command pushes the queue, then its own event.
    let server_cfg = write_server_config(tmp.path());
    let (mut child, _) = spawn_server(&server_cfg, &tmp.path().join("s.db"), &format!("127.0.0.1:{port}"));
    let out = warroom(&cfg, &data).args(["ack"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    // bo joins from another data dir, by the id's start as `warroom incidents` prints it, and
    // sees all three events.
    let bo_cfg = client_config(tmp.path(), "bo", &url, BO);
    let bo_data = tmp.path().join("bo-data");
    let out = warroom(&bo_cfg, &bo_data).args(["join", &url, &id[..13]]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("disk full (3 events"), "{out:?}");
    let out = warroom(&bo_cfg, &bo_data).args(["note", "looking too"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    // And ana pulls bo's note on her next command.
    let out = warroom(&cfg, &data).args(["status", "--json"]).output().unwrap();
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["event_count"], 4, "{st}");
    assert!(st["acknowledged"].is_object());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn join_of_a_missing_incident_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let server_cfg = write_server_config(tmp.path());
    let (mut child, url) = spawn_server(&server_cfg, &tmp.path().join("s.db"), "127.0.0.1:0");
    let cfg = client_config(tmp.path(), "ana", &url, ANA);
    let out = warroom(&cfg, &tmp.path().join("d"))
        .args(["join", &url, "01a2086c-2966-7e8a-be3b-4fadded8380c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not found"), "{err}");
    // The start of an id that names nothing, or not an id at all: usage errors.
    for (arg, says) in
        [("01a2086c-29", "no incident on the server starts with"), ("disk", "not an incident id")]
    {
        let out = warroom(&cfg, &tmp.path().join("d")).args(["join", &url, arg]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{out:?}");
    }
    let cfg = client_config(tmp.path(), "eve", &url, "wrong-token-wrong-token");
    let out = warroom(&cfg, &tmp.path().join("e"))
        .args(["join", &url, "01a2086c-2966-7e8a-be3b-4fadded8380c"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{out:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A client pointed at the server by `WARROOM_SERVER` / `WARROOM_TOKEN`, as `name@cli`.
fn env_client(dir: &Path, name: &str, url: &str, token: &str) -> impl Fn() -> Command {
    let cfg = dir.join(format!("{name}-env.toml"));
    std::fs::write(&cfg, format!("[user]\nname = \"{name}@cli\"\n")).unwrap();
    let (data, url, token) = (dir.join(format!("{name}-data")), url.to_string(), token.to_string());
    move || {
        let mut c = warroom(&cfg, &data);
        c.env("WARROOM_SERVER", &url).env("WARROOM_TOKEN", &token);
        c
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every event the server holds for `incident`.
fn on_server(url: &str, token: &str, incident: uuid::Uuid) -> Vec<warroom::incident::Event> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = warroom::sync::Client::new(url, Some(token.into()), std::time::Duration::from_secs(5), "test")
        .unwrap();
    let page = rt.block_on(c.pull(incident, 0, 1000)).unwrap();
    page.events.into_iter().map(|s| s.event).collect()
}

/// The tester's reproduction: a note by an author ana's token may not write is refused (403
/// naming `events[0].author`) for what it is. It is set aside, kept locally, and reported once as
/// a refusal (not "unreachable", not "auth failed"); the note and the ACK after it still reach
/// the server, so its escalation stops.
#[test]
fn an_author_the_token_may_not_write_is_set_aside_and_the_rest_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let server_cfg = write_server_config(tmp.path());
    let (mut child, url) = spawn_server(&server_cfg, &tmp.path().join("s.db"), "127.0.0.1:0");
    let ana = env_client(tmp.path(), "ana", &url, ANA);

    let out = ana().args(["new", "token test", "--sev", "3"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    let id: uuid::Uuid = String::from_utf8(out.stdout.clone()).unwrap().trim().parse().unwrap();

    let out = ana().args(["note", "--author", "mallory", "impersonation"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("refused event") && err.contains("kept locally, not synced"), "{err}");
    assert!(err.contains("HTTP 403") && err.contains("events[0].author"), "{err}");
    assert!(err.contains("`mallory` may not be written with the token of `ana`"), "{err}");
    assert!(!err.contains("unreachable") && !err.contains("auth failed") && !err.contains("queued"), "{err}");

    for args in [&["note", "after"][..], &["ack"]] {
        let out = ana().args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr(&out));
    }

    // The server holds the opening, the later note and the ACK; never mallory's note.
    let events = on_server(&url, ANA, id);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["opened", "note", "acknowledged"], "{events:?}");
    assert!(events.iter().all(|e| e.author == "ana@cli"), "{events:?}");

    // Locally nothing is lost: mallory's note is in the store, set aside and not synced.
    let store = warroom::store::Store::open(&tmp.path().join("ana-data")).unwrap();
    let local = store.events(id).unwrap();
    assert_eq!(local.len(), 4);
    let mallory = local.iter().find(|e| e.author == "mallory").expect("mallory's note kept locally");
    let pending: Vec<_> = store.pending(100).unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(pending, [mallory.id], "only the refused note is unsynced");
    assert_eq!(warroom::sync::engine::rejected_count(&store).unwrap(), 1);
    drop(store);

    // Reported once: later commands are quiet and do not send it again.
    let out = ana().args(["status", "--json"]).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    assert_eq!(on_server(&url, ANA, id).len(), 3);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A wrong token is still an auth failure (401): it says so, queues, exits 0, and sets nothing
/// aside, not even an event whose author the right token could not write either.
#[test]
fn a_wrong_token_is_an_auth_failure_and_sets_nothing_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let server_cfg = write_server_config(tmp.path());
    let (mut child, url) = spawn_server(&server_cfg, &tmp.path().join("s.db"), "127.0.0.1:0");
    let ana = env_client(tmp.path(), "ana", &url, "wrong-token-wrong-token");

    let out = ana().args(["new", "token test", "--sev", "3"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("auth failed") && err.contains("HTTP 401") && err.contains("1 event(s) queued"),
        "{err}"
    );
    assert!(!err.contains("unreachable") && !err.contains("refused event"), "{err}");
    let id: uuid::Uuid = String::from_utf8(out.stdout.clone()).unwrap().trim().parse().unwrap();

    let out = ana().args(["note", "--author", "mallory", "impersonation"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("auth failed") && err.contains("2 event(s) queued"), "{err}");
    assert!(!err.contains("refused event") && !err.contains("kept locally"), "{err}");

    let store = warroom::store::Store::open(&tmp.path().join("ana-data")).unwrap();
    assert_eq!(store.pending_count().unwrap(), 2);
    assert_eq!(warroom::sync::engine::rejected_count(&store).unwrap(), 0, "nothing set aside");
    drop(store);
    assert!(on_server(&url, ANA, id).is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}
