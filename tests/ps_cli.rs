//! `warroom ps` through the real binary: the pane's snapshot, sorted and filtered.

use std::process::{Command, Stdio};

#[test]
fn ps_json_finds_a_spawned_process_with_its_identity() {
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    let pid = child.id() as i64;
    // Until it has exec'd, the child is still a copy of this test binary (a loaded machine can
    // take a while): wait for its cmdline, bounded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != b"sleep\x00300\x00"
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["ps", "--json", "--filter", "sleep", "--sort", "pid", "--interval-ms", "50"])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let snap: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = snap["processes"].as_array().unwrap();
    // The filter is case-insensitive, on the name or the cmdline.
    let strays: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            let has = |k: &str| r[k].as_str().unwrap().to_lowercase().contains("sleep");
            !has("name") && !has("cmdline")
        })
        .collect();
    assert!(strays.is_empty(), "rows the filter should not keep: {strays:?}");
    let pids: Vec<i64> = rows.iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert!(pids.windows(2).all(|w| w[0] <= w[1]), "sorted by pid: {pids:?}");
    let me = rows.iter().find(|r| r["pid"].as_i64() == Some(pid)).expect("the spawned sleeper is listed");
    assert_eq!(me["cmdline"], "sleep 300");
    assert!(me["start_time"].as_u64().unwrap() > 0);
    assert!(snap["meters"]["mem_total"].as_u64().unwrap() > 0);
}

#[test]
fn ps_text_and_bad_arguments() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_warroom")).args(["ps", "--interval-ms", "50"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().nth(1).unwrap().contains("PID"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_warroom")).args(["ps", "--sort", "colour"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown sort key"));
    let out =
        Command::new(env!("CARGO_BIN_EXE_warroom")).args(["ps", "--interval-ms", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
