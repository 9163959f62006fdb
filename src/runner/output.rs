//! Pure bookkeeping of a command's output: the capped capture kept for the evidence file, the
//! tail kept for the excerpt, and the split of raw bytes into lossy UTF-8 lines for live display.
//! No IO: the process side feeds bytes in and takes lines out.

use crate::incident::sanitize::strip_controls;

/// Lines kept in a `command_run` excerpt.
pub const EXCERPT_LINES: usize = 20;
/// Bytes kept at most in a `command_run` excerpt.
pub const EXCERPT_BYTES: usize = 2048;
/// Raw bytes of the end of the output kept for the excerpt, whatever the capture cap.
const TAIL_BYTES: usize = 16 * 1024;
/// A partial line longer than this is sent live without waiting for its newline.
pub const MAX_LIVE_LINE: usize = 4096;

/// Everything a run printed, as far as warroom keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capture {
    /// The output from its first byte, up to the cap.
    pub kept: Vec<u8>,
    /// Every byte the command wrote, kept or not.
    pub total: u64,
    /// The last bytes written (at most 16 KiB): the excerpt's source even when `kept` is truncated.
    tail: Vec<u8>,
    cap: usize,
}

impl Capture {
    /// An empty capture keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Capture {
        Capture { kept: Vec::new(), total: 0, tail: Vec::new(), cap }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.cap.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() >= TAIL_BYTES {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - TAIL_BYTES..]);
        } else {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * TAIL_BYTES {
                self.tail.drain(..self.tail.len() - TAIL_BYTES);
            }
        }
    }

    /// Whether bytes were dropped because of the cap.
    pub fn truncated(&self) -> bool {
        self.total > self.kept.len() as u64
    }

    /// The cap this capture was made with.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The last lines of the output, safe to draw: lossy UTF-8, control characters and escape
    /// sequences stripped, at most `EXCERPT_LINES` lines and `EXCERPT_BYTES` bytes.
    pub fn excerpt(&self) -> String {
        excerpt(&self.tail)
    }
}

/// The excerpt of raw output bytes (see `Capture::excerpt`).
pub fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let clean = strip_controls(&text);
    let trimmed = clean.trim_end_matches('\n');
    let lines: Vec<&str> = trimmed.split('\n').collect();
    let start = lines.len().saturating_sub(EXCERPT_LINES);
    let mut out = lines[start..].join("\n");
    if out.len() > EXCERPT_BYTES {
        // Keep the end: the last lines are what tells how the command finished.
        let mut cut = out.len() - EXCERPT_BYTES;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = match out[cut..].find('\n') {
            // Start at a whole line when that costs little; else keep the end of the long line.
            Some(nl) if nl < 200 => out[cut + nl + 1..].to_string(),
            _ => out[cut..].to_string(),
        };
    }
    out
}

/// Splits a byte stream into lines of lossy UTF-8 text for live display. A multi-byte character
/// split across reads is carried over, never replaced; invalid bytes become U+FFFD. Lines keep
/// their `\n`; the text is raw (strip controls before drawing).
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes; returns the complete lines they finish (and over-long partial lines).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
        if self.pending.len() >= MAX_LIVE_LINE
            && let Some(s) = self.take_partial()
        {
            out.push(s);
        }
        out
    }

    /// The partial line waiting for its newline, if any (a prompt, a progress bar, the end of
    /// output). Keeps back a trailing incomplete UTF-8 sequence for the next read.
    pub fn take_partial(&mut self) -> Option<String> {
        let keep = incomplete_utf8_suffix(&self.pending);
        let n = self.pending.len() - keep;
        if n == 0 {
            return None;
        }
        let part: Vec<u8> = self.pending.drain(..n).collect();
        Some(String::from_utf8_lossy(&part).into_owned())
    }

    /// Everything left at the end of the stream.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let rest = std::mem::take(&mut self.pending);
        Some(String::from_utf8_lossy(&rest).into_owned())
    }
}

/// Length of a trailing UTF-8 sequence that is valid so far but incomplete (0 to 3 bytes).
fn incomplete_utf8_suffix(bytes: &[u8]) -> usize {
    let start = bytes.len().saturating_sub(3);
    for i in (start..bytes.len()).rev() {
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead byte
        }
        let need = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return 0,
        };
        let have = bytes.len() - i;
        return if have < need && std::str::from_utf8(&bytes[i..]).is_err() { have } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn capture_caps_but_tail_sees_the_end() {
        let mut c = Capture::new(10);
        c.push(b"0123456789abcdef\n");
        c.push(b"last line\n");
        assert_eq!(c.kept, b"0123456789");
        assert_eq!(c.total, 27);
        assert!(c.truncated());
        assert_eq!(c.excerpt(), "0123456789abcdef\nlast line");
    }

    #[test]
    fn excerpt_is_bounded_in_lines_and_bytes() {
        let raw: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let e = excerpt(raw.as_bytes());
        assert_eq!(e.lines().count(), EXCERPT_LINES);
        assert!(e.starts_with("line 80\n") && e.ends_with("line 99"), "{e}");
        let long = format!("{}\nend\n", "x".repeat(10_000));
        let e = excerpt(long.as_bytes());
        assert!(e.len() <= EXCERPT_BYTES && e.ends_with("\nend"), "{}", e.len());
    }

    #[test]
    fn excerpt_strips_escapes_and_binary() {
        let raw = b"\x1b[31mred\x1b[0m\x1b]0;title\x07 ok\n\x00\x01\xff\xfebin\r\n";
        let e = excerpt(raw);
        assert!(!e.chars().any(|c| c.is_control() && c != '\n'), "{e:?}");
        assert!(e.starts_with("red ok\n"), "{e:?}");
        assert!(e.ends_with("bin"), "{e:?}");
    }

    #[test]
    fn splitter_carries_split_characters() {
        let mut s = LineSplitter::default();
        let text = "grüße\n";
        let bytes = text.as_bytes();
        let cut = 3; // inside ü
        assert!(s.push(&bytes[..cut]).is_empty());
        assert_eq!(s.take_partial().as_deref(), Some("gr"));
        assert_eq!(s.push(&bytes[cut..]), vec!["üße\n".to_string()]);
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn splitter_flushes_long_partial_lines() {
        let mut s = LineSplitter::default();
        let out = s.push(&vec![b'a'; MAX_LIVE_LINE + 5]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_LIVE_LINE + 5);
    }

    proptest! {
        #[test]
        fn splitter_loses_nothing(text in ".{0,200}", cuts in proptest::collection::vec(0usize..220, 0..6)) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort();
            let mut s = LineSplitter::default();
            let mut out = String::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                for l in s.push(&bytes[prev..c]) { out.push_str(&l); }
                if let Some(p) = s.take_partial() { out.push_str(&p); }
                prev = c;
            }
            if let Some(p) = s.finish() { out.push_str(&p); }
            prop_assert_eq!(out, text);
        }

        #[test]
        fn excerpt_always_bounded_and_clean(raw in proptest::collection::vec(any::<u8>(), 0..6000)) {
            let e = excerpt(&raw);
            prop_assert!(e.len() <= EXCERPT_BYTES);
            prop_assert!(e.lines().count() <= EXCERPT_LINES);
            prop_assert!(!e.chars().any(|c| c.is_control() && c != '\n'));
        }
    }
}
