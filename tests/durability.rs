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
