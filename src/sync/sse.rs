//! A small Server-Sent Events parser: bytes in, messages out. Pure, so it is tested directly.

/// One dispatched SSE message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// A line longer than this means the peer is not speaking SSE.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    cur: Message,
    has_data: bool,
}

impl Parser {
    /// Feeds bytes; returns the messages completed by them, or an error for an oversized line.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Message>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            self.line(&line, &mut out);
        }
        if self.buf.len() > MAX_LINE {
            return Err(format!("stream line longer than {MAX_LINE} bytes"));
        }
        Ok(out)
    }

    fn line(&mut self, line: &str, out: &mut Vec<Message>) {
        if line.is_empty() {
            if self.has_data {
                let mut m = std::mem::take(&mut self.cur);
                if m.event.is_empty() {
                    m.event = "message".into();
                }
                out.push(m);
            } else {
                self.cur = Message::default();
            }
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.cur.event = value.to_string(),
            "id" => self.cur.id = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.cur.data.push('\n');
                }
                self.cur.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_split_messages_and_comments() {
        let mut p = Parser::default();
        assert!(p.feed(b": keep-alive\n\nevent: event\nid: 4").unwrap().is_empty());
        let got = p.feed(b"2\r\ndata: {\"a\":1}\ndata: x\n\ndata: y\n\n").unwrap();
        assert_eq!(
            got,
            vec![
                Message { event: "event".into(), id: Some("42".into()), data: "{\"a\":1}\nx".into() },
                Message { event: "message".into(), id: None, data: "y".into() },
            ]
        );
    }

    #[test]
    fn refuses_endless_lines() {
        let mut p = Parser::default();
        assert!(p.feed(&vec![b'a'; MAX_LINE + 1]).is_err());
    }
}
