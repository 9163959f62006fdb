//! The incident CLI through the real binary: the whole offline flow and every bad input.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::Env;

impl Env {
    /// No config file, in Berlin (so local times differ from UTC).
    fn berlin() -> Env {
        Env::bare("Europe/Berlin")
    }
}

#[test]
fn the_whole_offline_flow() {
    let env = Env::berlin();
    let id = env.ok(&["new", "Checkout API returning 502", "--sev", "1", "--summary", "EU payments failing"]);
    let id = id.trim();
    assert_eq!(id.len(), 36, "prints the new id: {id}");
    env.ok(&["note", "nginx", "upstream", "timeouts"]);
    env.ok(&["note", "--tag", "change", "deployed v1.4.2"]);
    env.cmd()
        .args(["note", "-", "--tag", "finding"])
        .write_stdin("pay-svc pool exhausted | see graph\n")
        .assert()
        .success();
    env.ok(&["ack"]);
    env.ok(&["sev", "2"]);
    env.ok(&["state", "identified"]);

    let status = env.ok(&["status"]);
    assert!(status.contains("SEV2 Checkout API returning 502  [identified]"), "{status}");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["severity"], 2);
    assert_eq!(json["status"], "identified");
    assert_eq!(json["notes"].as_array().unwrap().len(), 3);

    let list = env.ok(&["incidents"]);
    assert!(list.contains(&id[..13]) && list.contains("SEV2"), "{list}");

    let md = env.ok(&["export"]);
    for needle in [
        "# Postmortem: Checkout API returning 502",
        "EU payments failing",
        "| Time (UTC) | Time (Europe/Berlin) | Who | What |",
        "nginx upstream timeouts",
        "pay-svc pool exhausted \\| see graph",
        "## Root cause",
        "## Trigger",
        "deployed v1.4.2",
        "## Impact",
        "## Action items",
        "ana@",
    ] {
        assert!(md.contains(needle), "markdown lacks {needle:?}:\n{md}");
    }
    // Each timeline row has exactly the four columns: an escaped pipe does not add one.
    for row in md.lines().filter(|l| l.starts_with("| 2026") || l.starts_with("| 20")) {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 5, "broken table row: {row}");
    }

    let exported = env.tmp.path().join("pm.json");
    env.ok(&["export", "--format", "json", "-o", exported.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&exported).unwrap().permissions().mode() & 0o777, 0o600);
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(doc["format"], 1);
    assert_eq!(doc["events"].as_array().unwrap().len(), 7);
    assert_eq!(doc["incident"]["id"], id);

    // Over an existing world-readable file, the export is private before it is written.
    std::fs::write(&exported, "old").unwrap();
    std::fs::set_permissions(&exported, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.ok(&["export", "-o", exported.to_str().unwrap()]);
    assert_eq!(std::fs::metadata(&exported).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&exported).unwrap().starts_with("# Postmortem"));
    // `-o -` is stdout, not a file named `-`.
    assert!(env.ok(&["export", "-o", "-"]).starts_with("# Postmortem"));

    env.fails(&["resolve"], 2, "resolving needs a one-line resolution");
    env.ok(&["resolve", "-m", "rolled back pay-svc"]);
    // The resolved incident stays at hand: status and export still act on it.
    assert!(env.ok(&["status"]).contains("[resolved]"));
    assert!(env.ok(&["export"]).contains("**Resolution:** rolled back pay-svc"));
    env.fails(&["resolve", "-m", "again"], 1, "already resolved");
    assert!(env.ok(&["incidents"]).contains("No open incidents"));
    assert!(env.ok(&["incidents", "--all"]).contains("resolved"));
    // A resolved incident is still reachable by prefix.
    assert!(env.ok(&["--incident", &id[..8], "status"]).contains("[resolved]"));
}

#[test]
fn data_dir_and_files_are_private() {
    let env = Env::berlin();
    env.ok(&["new", "x", "--sev", "3"]);
    let data = env.data();
    assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600, "{}", p.display());
    }
}

#[test]
fn bad_input_is_one_clear_line() {
    let env = Env::berlin();
    env.fails(&["note", "hello"], 1, "no open incident");
    env.fails(&["status"], 1, "no open incident");
    env.ok(&["new", "first", "--sev", "2"]);
    env.ok(&["new", "second", "--sev", "2"]);
    env.fails(&["--incident", "ffffffff", "status"], 2, "no incident matches `ffffffff`");
    // Both ids start with the same v7 timestamp digits.
    env.fails(&["--incident", "0", "status"], 2, "is ambiguous");
    env.fails(&["note", "   "], 2, "the note is empty");
    env.cmd().args(["note", "-"]).write_stdin("").assert().code(2);
    let out = env.cmd().args(["note", "-"]).write_stdin(&b"caf\xe9 latin-1"[..]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8 (byte 3)"), "{out:?}");
    let (code, _, err) = env.run(&["sev", "9"]);
    assert_eq!(code, 2);
    assert!(err.contains("severity must be 1 to 4"), "{err}");
    let (code, _, err) = env.run(&["state", "sleeping"]);
    assert_eq!(code, 2);
    assert!(err.contains("investigating, identified, monitoring, resolved"), "{err}");
    // Resolving has one way in, which records the resolution and warns about what is left open.
    for args in [&["state", "resolved"][..], &["update", "fixed", "--status", "resolved"]] {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("use `warroom resolve -m TEXT`"), "{err}");
    }
    let (code, _, _) = env.run(&["new", "no severity"]);
    assert_eq!(code, 2);
    env.fails(&["new", "  ", "--sev", "1"], 2, "title must not be empty");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let env = Env::berlin();
    let cfg = env.tmp.path().join("config.toml");
    std::fs::write(&cfg, "[user]\nname = \"ana\"\n\n[ui]\nthem = \"dark\"\n").unwrap();
    let err =
        env.fails(&["--config", cfg.to_str().unwrap(), "status"], 2, "config.toml:5: ui.them: unknown field");
    assert!(err.contains(cfg.to_str().unwrap()), "{err}");
    std::fs::write(&cfg, "[user]\ntimezone = \"Mars/Base\"\n").unwrap();
    env.fails(&["--config", cfg.to_str().unwrap(), "status"], 2, ":2: user.timezone: unknown time zone");
    std::fs::write(&cfg, "[user\nname = 1\n").unwrap();
    env.fails(&["--config", cfg.to_str().unwrap(), "status"], 2, "config.toml:1");
    env.fails(
        &["--config", "/nonexistent/warroom.toml", "status"],
        2,
        "/nonexistent/warroom.toml: config: cannot read",
    );
    // WARROOM_CONFIG is honoured the same way.
    let (code, _, err) = env.run_with_env("WARROOM_CONFIG", cfg.to_str().unwrap(), &["status"]);
    assert_eq!(code, 2, "{err}");
    // The default XDG path, absent, is fine.
    env.ok(&["new", "x", "--sev", "4"]);
}

impl Env {
    fn run_with_env(&self, key: &str, val: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().env(key, val).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn configured_author_is_used() {
    let env = Env::berlin();
    let cfg = env.tmp.path().join("c.toml");
    std::fs::write(&cfg, "[user]\nname = \"Ana Lima\"\n").unwrap();
    env.ok(&["--config", cfg.to_str().unwrap(), "new", "x", "--sev", "3"]);
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["opened_by"], "Ana Lima");
}

#[test]
fn corrupt_store_is_refused_and_untouched() {
    let env = Env::berlin();
    std::fs::create_dir_all(env.data()).unwrap();
    let db = env.data().join("warroom.db");
    std::fs::write(&db, b"definitely not a database\n".repeat(200)).unwrap();
    let before = std::fs::read(&db).unwrap();
    env.fails(&["status"], 1, "is not a usable warroom database");
    env.fails(&["new", "x", "--sev", "1"], 1, "is not a usable warroom database");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn unwritable_data_dir_is_a_clear_error() {
    let env = Env::berlin();
    let file = env.tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("data");
    let (code, _, err) =
        env.run_with_env("WARROOM_DATA_DIR", bad.to_str().unwrap(), &["new", "x", "--sev", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot create data dir") && err.contains(bad.to_str().unwrap()), "{err}");
    assert!(!Path::new(&bad).exists());
}

#[test]
fn completions_and_man() {
    let env = Env::berlin();
    assert!(env.ok(&["completions", "bash"]).contains("warroom"));
    assert!(env.ok(&["completions", "zsh"]).contains("#compdef warroom"));
    assert!(env.ok(&["man"]).contains(".TH warroom"));
}

#[test]
fn two_processes_write_to_one_store() {
    let env = Env::berlin();
    env.ok(&["new", "shared", "--sev", "2"]);
    let children: Vec<_> = (0..4)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_warroom"))
                .env("WARROOM_DATA_DIR", env.data())
                .env("USER", "ana")
                .args(["note", &format!("writer {i}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["notes"].as_array().unwrap().len(), 4);
}

#[test]
fn errors_echoing_huge_input_stay_short() {
    let env = Env::berlin();
    let key = "k".repeat(2 << 20);
    let config = env.tmp.path().join("c.toml");
    std::fs::write(&config, format!("[ui]\n{key} = 1\n")).unwrap();
    let err = env.fails(&["--config", config.to_str().unwrap(), "status"], 2, "c.toml:2: ");
    assert!(err.len() < 1000, "config error is {} bytes", err.len());
    assert!(
        err.contains(" bytes): unknown field"),
        "says how much was left out: {}",
        &err[..300.min(err.len())]
    );
    // A huge argument (the kernel allows 128 KiB) echoed by clap, and by our own usage errors.
    let key = "k".repeat(100_000);
    let (code, _, err) = env.run(&["sev", &key]);
    assert_eq!(code, 2);
    assert!(err.len() < 2000 && err.contains("invalid value"), "{} bytes", err.len());
    let err = env.fails(&["--incident", &key, "status"], 2, "");
    assert!(err.len() < 1000, "{} bytes", err.len());
    // A runbook that quotes a huge front-matter key.
    let rb = env.tmp.path().join("rb.md");
    std::fs::write(&rb, format!("---\n{key}: 1\n---\n- [ ] x\n")).unwrap();
    let (code, _, err) = env.run(&["runbook", "check", rb.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.len() < 1000 && err.contains("rb.md:2"),
        "{} bytes: {}",
        err.len(),
        &err[..200.min(err.len())]
    );
}

#[test]
fn invisible_and_bidi_characters_never_reach_cli_output() {
    let env = Env::berlin();
    let hidden = "\u{200b}\u{200d}\u{feff}\u{2060}\u{61c}\u{202a}\u{202e}\u{2066}\u{2069}";
    env.ok(&["new", &format!("db{hidden} down\u{85}!"), "--sev", "2"]);
    env.ok(&["note", &format!("look{hidden} here")]);
    let out = env.ok(&["status"]);
    assert!(out.contains("db down!") && out.contains("look here"), "{out}");
    assert!(!out.chars().any(|c| hidden.contains(c) || c == '\u{85}'), "{out:?}");
    let out = env.ok(&["incidents"]);
    assert!(out.contains("db down!"), "{out}");
    // JSON keeps the data exact but writes C1 and invisible characters as escapes.
    for args in [&["status", "--json"][..], &["incidents", "--json"], &["export", "--format", "json"]] {
        let out = env.ok(args);
        assert!(
            !out.chars().any(|c| hidden.contains(c) || ('\u{80}'..='\u{9f}').contains(&c)),
            "{args:?}: {out:?}"
        );
        assert!(
            out.contains(r"db\u200b\u200d\ufeff\u2060\u061c\u202a\u202e\u2066\u2069 down\u0085!"),
            "{args:?}: {out}"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.to_string().contains('\u{202e}'), "round-trips");
    }
}

#[test]
fn flags_go_only_to_commands_that_use_them() {
    let env = Env::berlin();
    let id = env.ok(&["new", "first", "--sev", "2"]).trim().to_string();
    env.ok(&["new", "second", "--sev", "3"]);
    // Before the command or after it, --incident picks the incident; the command's own wins.
    assert!(env.ok(&["--incident", &id[..13], "status"]).contains("first"));
    assert!(env.ok(&["status", "--incident", &id[..13]]).contains("first"));
    env.ok(&["followup", "--incident", &id[..13], "add", "write", "it", "up"]);
    assert!(env.ok(&["--incident", &id[..13], "followup", "list"]).contains("write it up"));
    assert!(env.ok(&["--incident", "ffffffff", "status", "--incident", &id[..13]]).contains("first"));
    // A command that would ignore a flag refuses it, naming the flag and the command.
    env.fails(&["--incident", &id[..13], "serve"], 2, "--incident does not apply to `warroom serve`");
    env.fails(&["--incident", &id[..13], "runbook", "list"], 2, "does not apply to `warroom runbook list`");
    env.fails(&["--team", "t.toml", "new", "x", "--sev", "2"], 2, "--team does not apply to `warroom new`");
    env.fails(&["--theme", "light", "status"], 2, "--theme is for the TUI");
    // After a command that does not take it, clap refuses the flag as it does any unknown one.
    let (code, _, err) = env.run(&["serve", "--incident", &id[..13]]);
    assert_eq!((code, err.lines().next()), (2, Some("error: unexpected argument '--incident' found")));
    let (code, _, err) = env.run(&["ps", "--team", "t.toml"]);
    assert_eq!((code, err.lines().next()), (2, Some("error: unexpected argument '--team' found")));
    // WARROOM_TEAM in the environment is for the commands that read a team file: others run.
    let out = env.cmd().env("WARROOM_TEAM", "/nonexistent/team.toml").args(["status"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = env.cmd().env("WARROOM_TEAM", "/nonexistent/team.toml").args(["oncall"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/team.toml: cannot read team file"));
}

#[test]
fn every_json_output_escapes_c1_and_invisible_characters() {
    let env = Env::berlin();
    env.ok(&["new", "db down", "--sev", "2"]);
    env.ok(&["followup", "add", "fix\u{202e}it\u{85}now"]);
    env.ok(&["note", "--tag", "change", "deploy\u{202e}v2\u{85}done"]);
    for (args, escaped) in [
        (&["followup", "list", "--json"][..], r"fix\u202eit\u0085now"),
        (&["changes", "--json"], r"deploy\u202ev2\u0085done"),
    ] {
        let out = env.ok(args);
        assert!(!out.contains('\u{202e}') && !out.contains('\u{85}'), "{args:?}: {out:?}");
        assert!(out.contains(escaped), "{args:?}: {out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.to_string().contains('\u{202e}'), "{args:?} round-trips");
    }
}
