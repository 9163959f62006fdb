//! `warroom team check` and `warroom oncall` through the real binary, good and bad files.

use assert_cmd::Command;

fn warroom(tmp: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("warroom").unwrap();
    c.env_clear()
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join("cfg"))
        .env("WARROOM_DATA_DIR", tmp.path().join("data"));
    c
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/team.example.toml");

#[test]
fn example_team_file_checks_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let out = warroom(&tmp).args(["team", "check", EXAMPLE]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (5 people"));
}

#[test]
fn bad_team_file_lists_every_problem_with_file_line_field() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("team.toml");
    std::fs::write(
        &file,
        r#"[people.ana]
name = "Ana"
tz = "Mars/Olympus"

[rotations.primary]
name = "Primary"
people = ["ana", "zed"]
handoff = "09:00"
length = "1w"
tz = "Europe/Berlin"
start = 2026-01-05
"#,
    )
    .unwrap();
    let out = warroom(&tmp).args(["team", "check", file.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("team.toml:3: people.ana.tz: unknown time zone"), "{err}");
    assert!(err.contains("team.toml:7: rotations.primary.people[1]: unknown person"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn syntax_error_and_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("team.toml");
    std::fs::write(&file, "[people.ana\nname = 1\n").unwrap();
    let out = warroom(&tmp).args(["team", "check", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("team.toml:1"));
    let out = warroom(&tmp).args(["team", "check", "/nonexistent/team.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/team.toml: cannot read team file"), "{err}");
    let out = warroom(&tmp).args(["oncall"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no team file"));
}

#[test]
fn oncall_at_a_fixed_instant() {
    let tmp = tempfile::tempdir().unwrap();
    let out = warroom(&tmp)
        .args(["--team", EXAMPLE, "oncall", "--at", "2026-11-23T03:00:00Z", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rotations = report.as_array().unwrap();
    assert_eq!(rotations.len(), 2);
    for r in rotations {
        assert!(r["on_call"]["name"].is_string(), "{r}");
    }
    let out = warroom(&tmp).args(["--team", EXAMPLE, "oncall", "--at", "yesterday"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at: bad time"));
}
