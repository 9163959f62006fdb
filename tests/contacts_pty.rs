//! The contacts pane through the real binary in a pseudo-terminal: `c` must put a well-formed OSC 52
//! sequence with the number on the wire. vt100 swallows OSC 52, so the raw pty bytes are kept too.

#[path = "common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pty::{Tui, env};

const DEADLINE: Duration = Duration::from_secs(15);

fn team_file() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("team.example.toml").display().to_string()
}

/// Every `ESC ] 52 ; c ; <payload> BEL` in `bytes`, payloads as text.
fn osc52_payloads(bytes: &[u8]) -> Vec<String> {
    let start = b"\x1b]52;c;";
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(start.len()).position(|w| w == start) {
        let from = i + at + start.len();
        let Some(len) = bytes[from..].iter().position(|b| *b == 0x07) else { break };
        out.push(String::from_utf8_lossy(&bytes[from..from + len]).into_owned());
        i = from + len;
    }
    out
}

/// Standard base64 decoding, written here so the test does not trust the encoder it checks.
fn decode_base64(s: &str) -> Vec<u8> {
    let abc = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    assert_eq!(s.len() % 4, 0, "padded base64: {s}");
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = abc.iter().position(|a| *a == c).unwrap_or_else(|| panic!("not base64: {s}"));
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn c_writes_a_well_formed_osc52_sequence_with_the_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_warroom"))
        .args(["new", "Checkout down", "--sev", "1"])
        .envs(env(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let team = team_file();
    let mut tui = Tui::spawn_with(dir.path(), 24, 80, &["--team", &team], &[]);
    tui.wait_within(DEADLINE, "the contacts tab", |s| s.contains("2 Contacts"));
    tui.send("2");
    let s = tui.wait_within(DEADLINE, "the contacts pane", |s| {
        s.contains("On call now") && s.contains("Escalation · SEV1")
    });
    assert!(s.contains("Incident roles"), "{s}");
    tui.send("c");
    let s = tui.wait_within(DEADLINE, "the copied notice", |s| s.contains("copied +"));
    let number = s.lines().find_map(|l| l.trim().strip_prefix("copied ")).unwrap().trim().to_string();
    let phones = std::fs::read_to_string(&team).unwrap();
    assert!(phones.contains(&format!("phone = \"{number}\"")), "{number} is a phone number of the team file");
    // The sequence may land just after the notice is drawn: poll the raw bytes too.
    let start = Instant::now();
    let payloads = loop {
        let p = osc52_payloads(&tui.raw.lock().unwrap());
        if !p.is_empty() || start.elapsed() > DEADLINE {
            break p;
        }
        std::thread::sleep(Duration::from_millis(30));
    };
    assert_eq!(payloads.len(), 1, "one OSC 52 sequence: {payloads:?}");
    assert_eq!(decode_base64(&payloads[0]), number.as_bytes(), "{payloads:?}");
    let raw = tui.raw.lock().unwrap().clone();
    assert!(!raw.windows(6).any(|w| w == b"\x1bPtmux"), "no tmux passthrough wrapping outside tmux");
    tui.send("q");
    let start = Instant::now();
    while tui.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < DEADLINE, "warroom did not quit");
        std::thread::sleep(Duration::from_millis(30));
    }
}
