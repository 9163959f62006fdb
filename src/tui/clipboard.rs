//! Copying to the clipboard with OSC 52 (`ESC ] 52 ; c ; <base64> BEL`), which works over SSH and,
//! with tmux's `set-clipboard on`, inside tmux: tmux takes the sequence into its paste buffer and
//! forwards it to the outer terminal. The sequence is written raw, never wrapped in tmux's DCS
//! passthrough (that needs `allow-passthrough` and bypasses tmux's own buffer).

/// The OSC 52 sequence that puts `text` on the system clipboard: the text as drawn (through the
/// same sanitiser), so what lands on the clipboard is what the responder saw on screen.
pub fn osc52(text: &str) -> String {
    let shown = crate::incident::sanitize::strip_controls(text);
    format!("\x1b]52;c;{}\x07", base64(shown.as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4); a few lines rather than a crate for one call site.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, want) in cases {
            assert_eq!(base64(plain.as_bytes()), want, "{plain}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn osc52_wraps_the_number() {
        assert_eq!(osc52("+49 30 5555 0101"), "\x1b]52;c;KzQ5IDMwIDU1NTUgMDEwMQ==\x07");
        // A zero-width space or bidi override would make the copy differ from what is shown.
        assert_eq!(osc52("+49 30\u{200b} 5555\u{202e} 0101"), osc52("+49 30 5555 0101"));
    }
}
