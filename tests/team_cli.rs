//! `warroom team check` and `warroom oncall` through the real binary, good and bad files.

mod common;

use common::warroom_in as warroom;

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
    let (code, err) = check(
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
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("team.toml:3: people.ana.tz: unknown time zone"), "{err}");
    assert!(err.contains("team.toml:7: rotations.primary.people[1]: unknown person"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn syntax_error_and_missing_file() {
    let (code, err) = check("[people.ana\nname = 1\n");
    assert_eq!(code, 2);
    assert!(err.contains("team.toml:1"));
    let tmp = tempfile::tempdir().unwrap();
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

fn run(tmp: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let out = warroom(tmp).env("USER", "ana").env("TZ", "UTC").args(args).output().unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), s(&out.stdout), s(&out.stderr))
}

/// `warroom team check` on a `team.toml` holding `text`: the exit code and stderr.
fn check(text: &str) -> (i32, String) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("team.toml");
    std::fs::write(&file, text).unwrap();
    let (code, _, err) = run(&tmp, &["team", "check", file.to_str().unwrap()]);
    (code, err)
}

fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn team_init_writes_a_checked_starter_and_points_the_config_at_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&tmp, &["team", "init"]);
    assert_eq!(code, 0, "{err}");
    let cfg_dir = tmp.path().join("cfg/warroom");
    let (team, config) = (cfg_dir.join("team.toml"), cfg_dir.join("config.toml"));
    assert!(out.contains(&format!("wrote {}", team.display())), "{out}");
    assert_eq!((mode(&team), mode(&config), mode(&cfg_dir)), (0o600, 0o600, 0o700));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "[team]\nfile = \"team.toml\"\n");
    assert!(std::fs::read_to_string(&team).unwrap().contains("[people.ana]"));
    // `team check` with no argument finds it through the config, and accepts it.
    let (code, out, err) = run(&tmp, &["team", "check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (1 people, 1 rotations, 4 escalation ladders)"), "{out}");
    let (code, out, err) = run(&tmp, &["oncall"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ana"), "{out}");
}

#[test]
fn team_init_names_you_as_the_config_does_and_pages_sev1_twice_ten_minutes_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("my.toml");
    std::fs::write(&config, "[user]\nname = \"cy\"\n").unwrap();
    let c = config.to_str().unwrap();
    let team = tmp.path().join("team.toml");
    let (code, _, err) = run(&tmp, &["--config", c, "team", "init", team.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&team).unwrap();
    assert!(text.contains("[people.cy]") && !text.contains("[people.ana]"), "{text}");
    // Level 2 is paged after level 1's wait: a wait of 0 would page both at once.
    assert!(!text.contains("after_minutes = 0 "), "{text}");
    // `oncall` finds the user (cy) on call: the cockpit's `t` and `oncall take` look them up so.
    let (code, out, err) = run(&tmp, &["--config", c, "oncall"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cy"), "{out}");
}

#[test]
fn team_init_never_clobbers_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_dir = tmp.path().join("cfg/warroom");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let team = cfg_dir.join("team.toml");
    std::fs::write(&team, "# my real team\n").unwrap();
    let (code, _, err) = run(&tmp, &["team", "init"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("team.toml: a team file is already there") && err.contains("--force"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(&team).unwrap(), "# my real team\n");
    assert!(!cfg_dir.join("config.toml").exists(), "nothing written on refusal");
    let (code, _, err) = run(&tmp, &["team", "init", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&team).unwrap().contains("[rotations.primary]"));
}

#[test]
fn team_init_edits_an_existing_config_and_refuses_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("my.toml");
    std::fs::write(&config, "# mine\n[ui]\ntheme = \"light\"\n\n[team]\nfile = \"gone.toml\"\n").unwrap();
    let elsewhere = tmp.path().join("teams/ops.toml");
    let c = config.to_str().unwrap();
    let (code, _, err) = run(&tmp, &["--config", c, "team", "init", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        format!("# mine\n[ui]\ntheme = \"light\"\n\n[team]\nfile = \"{}\"\n", elsewhere.display())
    );
    assert_eq!(mode(&elsewhere), 0o600);
    let (code, _, err) = run(&tmp, &["--config", c, "team", "check"]);
    assert_eq!(code, 0, "{err}");

    // A config that does not parse is named and left alone; no team file appears.
    std::fs::write(&config, "[ui]\nthem = 1\n").unwrap();
    let target = tmp.path().join("new.toml");
    let (code, _, err) = run(&tmp, &["--config", c, "team", "init", target.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("my.toml:2: ui.them"), "{err}");
    assert!(!target.exists());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "[ui]\nthem = 1\n");
    // An unwritable place is a one-line error.
    let (code, _, err) = run(&tmp, &["team", "init", "/proc/warroom-team.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/proc/warroom-team.toml") && err.lines().count() == 1, "{err}");
}

#[test]
fn team_check_rejects_invisible_characters_in_phone_numbers() {
    let (code, err) = check("[people.ana]\nname = \"Ana\"\nphone = \"+49 30\u{200b} 5555\"\ntz = \"UTC\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("team.toml:3: people.ana.phone: contains an invisible character (U+200B)"), "{err}");
    assert!(!err.contains('\u{200b}'));
}

#[test]
fn team_errors_echoing_huge_input_stay_short() {
    let key = "x".repeat(2 << 20);
    let (code, err) = check(&format!("[people.ana]\nname = \"Ana\"\ntz = \"UTC\"\n{key} = 1\n"));
    assert_eq!(code, 2);
    assert!(err.len() < 2000 && err.contains("team.toml:4: "), "{} bytes", err.len());
}
