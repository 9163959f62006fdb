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

    // bo joins from another data dir and sees all three events.
    let bo_cfg = client_config(tmp.path(), "bo", &url, BO);
    let bo_data = tmp.path().join("bo-data");
    let out = warroom(&bo_cfg, &bo_data).args(["join", &url, &id]).output().unwrap();
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
    let cfg = client_config(tmp.path(), "eve", &url, "wrong-token-wrong-token");
    let out = warroom(&cfg, &tmp.path().join("e"))
        .args(["join", &url, "01a2086c-2966-7e8a-be3b-4fadded8380c"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{out:?}");
    child.kill().unwrap();
    child.wait().unwrap();
}
