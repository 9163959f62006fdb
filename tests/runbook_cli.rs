//! `warroom runbook list/check` through the real binary.

mod common;

use common::warroom_in as warroom;

#[test]
fn list_shows_builtins_and_configured_dir_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = warroom(&tmp).args(["runbook", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("host-cpu-saturation") && text.contains("disk-full"), "{text}");

    let dir = tmp.path().join("books");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("disk-full.md"), "# Our disk runbook\n\n- [ ] df -h\n").unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "[runbooks]\ndir = \"books\"\n").unwrap();
    let out = warroom(&tmp).args(["--config", cfg.to_str().unwrap(), "runbook", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Our disk runbook"), "local copy overrides the built-in: {text}");
    assert_eq!(text.matches("disk-full ").count(), 1, "{text}");
}

#[test]
fn missing_configured_dir_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "[runbooks]\ndir = \"nowhere\"\n").unwrap();
    let out = warroom(&tmp).args(["--config", cfg.to_str().unwrap(), "runbook", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere: runbooks dir ([runbooks] dir)"), "{err}");
}

#[test]
fn check_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks/disk-full.md");
    let out = warroom(&tmp).args(["runbook", "check", shipped]).output().unwrap();
    assert!(out.status.success());
    let bad = tmp.path().join("bad.md");
    std::fs::write(&bad, "---\ntitle: x\nseverity: 7\n---\n# T\n\nno items here\n").unwrap();
    let out = warroom(&tmp).args(["runbook", "check", bad.to_str().unwrap(), shipped]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.md:3:"), "{err}");
    assert!(err.contains("bad.md:1: no checklist items"), "{err}");
}
