//! Durability: writers SIGKILLed at random moments never lose a note they reported as written,
//! and the store always opens afterwards.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

fn warroom(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warroom"));
    c.env("WARROOM_DATA_DIR", data).env("USER", "ana").stdout(Stdio::null()).stderr(Stdio::null());
    c
}

#[test]
fn sigkill_never_loses_an_acknowledged_note() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    assert!(warroom(&data).args(["new", "durability", "--sev", "3"]).status().unwrap().success());

    let mut rng = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("seed {rng}");
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };

    let mut confirmed = Vec::new();
    let mut killed = 0;
    for round in 0..30 {
        let mut batch: Vec<(String, Child)> = (0..4)
            .map(|i| {
                let text = format!("round {round} writer {i}");
                let child = warroom(&data).args(["note", &text]).spawn().unwrap();
                (text, child)
            })
            .collect();
        // Kill some writers at a random point in their life (0-4 ms covers start-up to commit).
        std::thread::sleep(Duration::from_micros(next() % 4_000));
        for (_, child) in batch.iter_mut() {
            if next() % 2 == 0 {
                let _ = child.kill();
            }
        }
        for (text, mut child) in batch {
            let status = child.wait().unwrap();
            if status.success() {
                confirmed.push(text);
            } else {
                killed += 1;
            }
        }
    }
    eprintln!("{} notes confirmed, {killed} writers killed", confirmed.len());
    assert!(killed > 0, "the test must actually kill writers");

    let out = warroom(&data).args(["export", "--format", "json"]).stdout(Stdio::piped()).output().unwrap();
    assert!(out.status.success(), "store must still open: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored: HashSet<&str> =
        doc["events"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    for text in &confirmed {
        assert!(stored.contains(text.as_str()), "note {text:?} was confirmed (exit 0) but is missing");
    }
    // No note appears twice.
    let texts: Vec<&str> =
        doc["events"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(texts.len(), stored.len());
}

/// Names of this process's open files that are SQLite WALs already unlinked from the directory.
fn deleted_wals() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.contains("-wal") && p.ends_with("(deleted)"))
        .collect()
}

/// The regression of the lost-note bug: one process holds a connection and opens a second one
/// (as the cockpit's sync task does), another process runs a CLI command beside it, and the first
/// connection goes on writing. Before the fix, the second open closed a plain descriptor of the
/// database, which dropped the process's SQLite locks; the CLI's close then believed it was the
/// last user and checkpointed and unlinked the live WAL, so every later write went to a deleted
/// file that no other process could see.
#[test]
fn a_second_connection_and_a_cli_beside_it_never_unlink_the_live_wal() {
    use warroom::incident::{Event, EventKind, Severity, Tag};
    use warroom::store::Store;

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = Store::open(&data).unwrap();
    let opened = Event::open(chrono::Utc::now(), "ana", "wal".into(), Severity::new(2).unwrap(), None);
    let incident = opened.incident;
    assert!(first.append(&opened).unwrap());

    for round in 0..3 {
        // A second connection in the same process, opened and dropped.
        drop(Store::open(&data).unwrap());
        // Another process opens and closes the store.
        let out = warroom(&data).args(["status"]).stdout(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "status failed in round {round}");
        assert_eq!(deleted_wals(), Vec::<String>::new(), "round {round}: our WAL was unlinked under us");

        let text = format!("written after the CLI, round {round}");
        let note = Event::new(
            incident,
            chrono::Utc::now(),
            "ana",
            EventKind::Note { text: text.clone(), tag: Tag::Note },
        );
        assert!(first.append(&note).unwrap());
        // Another process must see it.
        let out =
            warroom(&data).args(["export", "--format", "json"]).stdout(Stdio::piped()).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let seen =
            doc["events"].as_array().unwrap().iter().any(|e| e["text"].as_str() == Some(text.as_str()));
        assert!(
            seen,
            "round {round}: a note written by the first connection is invisible to another process"
        );
    }
}
