//! Front matter: a `+++` TOML block or a `---` YAML-like block at the very top of a runbook.
//!
//! The YAML side is deliberately a small subset, parsed by hand so we need no YAML crate:
//! `key: value`, `key: "quoted"`, `key: [a, b]`, a key followed by `- item` lines, blank lines and
//! `#` comments. Quoted strings have no escapes. Anything else (nested maps, anchors, multi-line
//! strings) is reported as malformed with its line, rather than guessed at. Both syntaxes feed the
//! same validation of the four keys.

use super::ErrorKind;
use crate::incident::Severity;

/// The validated front-matter fields.
#[derive(Debug, Default)]
pub(super) struct FrontMatter {
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub severities: Vec<Severity>,
    pub owner: Option<String>,
}

/// The outcome of looking for front matter at the top of (LF-normalized) text.
pub(super) struct Split {
    pub front: FrontMatter,
    /// Byte offset where the Markdown body starts.
    pub body_offset: usize,
    /// (1-based file line, problem).
    pub errors: Vec<(usize, ErrorKind)>,
}

/// A front-matter value, whichever syntax it came from.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Int(i64),
    List(Vec<Val>),
    Null,
    /// A TOML type we never accept (float, bool, datetime, table), by name.
    Other(&'static str),
}

struct Entry {
    key: String,
    line: usize,
    val: Val,
}

/// Finds, parses and validates the front matter, if any.
pub(super) fn split(text: &str) -> Split {
    let mut lines = Vec::new(); // (byte offset of line start, line without '\n')
    let mut off = 0;
    for l in text.split_inclusive('\n') {
        lines.push((off, l.strip_suffix('\n').unwrap_or(l)));
        off += l.len();
    }
    let no_front = || Split { front: FrontMatter::default(), body_offset: 0, errors: Vec::new() };
    let Some(&(_, first)) = lines.first() else { return no_front() };
    let delim = match first.trim_end() {
        "+++" => "+++",
        "---" => "---",
        _ => return no_front(),
    };
    let close = lines.iter().enumerate().skip(1).find(|(_, (_, l))| {
        let t = l.trim_end();
        t == delim || (delim == "---" && t == "...")
    });
    let Some((close_idx, &(close_off, close_line))) = close else {
        // Without the closing line we cannot tell front matter from body: report and parse nothing.
        return Split {
            front: FrontMatter::default(),
            body_offset: text.len(),
            errors: vec![(1, ErrorKind::UnterminatedFrontMatter(delim))],
        };
    };
    let body_offset = (close_off + close_line.len() + 1).min(text.len());
    let (entries, mut errors) = if delim == "+++" {
        let content_start = lines[1].0;
        parse_toml(&text[content_start..close_off])
    } else {
        parse_yamlish(&lines[1..close_idx])
    };
    let (front, verrs) = validate(entries);
    errors.extend(verrs);
    Split { front, body_offset, errors }
}

/// TOML content starts on file line 2.
fn parse_toml(content: &str) -> (Vec<Entry>, Vec<(usize, ErrorKind)>) {
    let line_of =
        |pos: usize| 2 + content.as_bytes()[..pos.min(content.len())].iter().filter(|&&b| b == b'\n').count();
    match toml::de::DeTable::parse(content) {
        Err(e) => {
            let line = e.span().map_or(2, |s| line_of(s.start));
            let msg: String = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            let msg = msg.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
            (Vec::new(), vec![(line, ErrorKind::MalformedFrontMatter(msg))])
        }
        Ok(table) => {
            let mut entries: Vec<Entry> = table
                .get_ref()
                .iter()
                .map(|(k, v)| Entry {
                    key: k.get_ref().to_string(),
                    line: line_of(k.span().start),
                    val: toml_val(v.get_ref()),
                })
                .collect();
            entries.sort_by_key(|e| e.line);
            (entries, Vec::new())
        }
    }
}

fn toml_val(v: &toml::de::DeValue<'_>) -> Val {
    use toml::de::DeValue;
    match v {
        DeValue::String(s) => Val::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            i64::from_str_radix(&digits, i.radix()).map_or(Val::Other("integer out of range"), Val::Int)
        }
        DeValue::Array(a) => Val::List(a.iter().map(|v| toml_val(v.get_ref())).collect()),
        DeValue::Float(_) => Val::Other("float"),
        DeValue::Boolean(_) => Val::Other("boolean"),
        DeValue::Datetime(_) => Val::Other("datetime"),
        DeValue::Table(_) => Val::Other("table"),
    }
}

/// `lines` are the content lines; the first is file line 2.
fn parse_yamlish(lines: &[(usize, &str)]) -> (Vec<Entry>, Vec<(usize, ErrorKind)>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut errors = Vec::new();
    // Index into `entries` of a key written with no value, which `- item` lines may extend.
    let mut open_list: Option<usize> = None;
    for (i, &(_, raw)) in lines.iter().enumerate() {
        let line = i + 2;
        let bad = |msg: &str| (line, ErrorKind::MalformedFrontMatter(msg.to_string()));
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(rest) = t.strip_prefix("- ").or(if t == "-" { Some("") } else { None }) {
            let Some(idx) = open_list else {
                errors.push(bad("a `- item` line without a `key:` line above it"));
                continue;
            };
            match scalar(rest.trim()) {
                Ok(v) => match &mut entries[idx].val {
                    Val::List(items) => items.push(v),
                    other => *other = Val::List(vec![v]),
                },
                Err(msg) => errors.push(bad(&msg)),
            }
            continue;
        }
        open_list = None;
        if raw.starts_with([' ', '\t']) {
            errors.push(bad(
                "indented line: nested values are not supported (use `key: value` or `key: [a, b]`)",
            ));
            continue;
        }
        let Some((key, value)) = t.split_once(':') else {
            errors.push(bad(&format!("expected `key: value`, got `{}`", clip(t))));
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            errors.push(bad(&format!("`{}` is not a plain key", clip(key))));
            continue;
        }
        let value = value.trim();
        let val = if value.is_empty() || value.starts_with('#') {
            open_list = Some(entries.len());
            Ok(Val::Null)
        } else if let Some(inner) = value.strip_prefix('[') {
            flow_list(inner)
        } else {
            scalar(value)
        };
        match val {
            Ok(val) => entries.push(Entry { key: key.to_string(), line, val }),
            Err(msg) => {
                errors.push(bad(&msg));
                open_list = None;
            }
        }
    }
    (entries, errors)
}

/// `inner` is what follows `[`.
fn flow_list(inner: &str) -> Result<Val, String> {
    let Some(close) = inner.rfind(']') else {
        return Err("a `[` list without its closing `]` on the same line".to_string());
    };
    let after = inner[close + 1..].trim();
    if !(after.is_empty() || after.starts_with('#')) {
        return Err(format!("unexpected `{}` after the list", clip(after)));
    }
    let body = inner[..close].trim();
    if body.is_empty() {
        return Ok(Val::List(Vec::new()));
    }
    // Commas inside quotes do not split.
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in body.chars() {
        match (quote, c) {
            (None, ',') => items.push(std::mem::take(&mut cur)),
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    items.push(cur);
    items.iter().map(|s| scalar(s.trim())).collect::<Result<Vec<_>, _>>().map(Val::List)
}

/// A plain or quoted scalar; plain integers become `Int`.
fn scalar(s: &str) -> Result<Val, String> {
    if s.starts_with('[') || s.starts_with('{') {
        return Err(format!("nested list or map `{}` is not supported", clip(s)));
    }
    if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let rest = &s[1..];
        let Some(end) = rest.find(q) else {
            return Err(format!("unterminated {q}quoted{q} string"));
        };
        let after = rest[end + 1..].trim();
        if !(after.is_empty() || after.starts_with('#')) {
            return Err(format!("unexpected `{}` after the quoted string", clip(after)));
        }
        return Ok(Val::Str(rest[..end].to_string()));
    }
    // A plain scalar ends at ` #` (a comment).
    let s = s.find(" #").map_or(s, |i| &s[..i]).trim();
    if s.is_empty() {
        return Ok(Val::Null);
    }
    Ok(s.parse::<i64>().map_or_else(|_| Val::Str(s.to_string()), Val::Int))
}

fn clip(s: &str) -> String {
    // Error messages are one line and safe to print: control characters become `?`.
    let mut out: String = s.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn show(v: &Val) -> String {
    match v {
        Val::Str(s) => format!("\"{}\"", clip(s)),
        Val::Int(n) => n.to_string(),
        Val::List(items) => format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", ")),
        Val::Null => "(empty)".to_string(),
        Val::Other(what) => format!("(a {what})"),
    }
}

fn validate(entries: Vec<Entry>) -> (FrontMatter, Vec<(usize, ErrorKind)>) {
    let mut fm = FrontMatter::default();
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for e in &entries {
        if seen.contains(&e.key.as_str()) {
            errors.push((e.line, ErrorKind::DuplicateKey(e.key.clone())));
            continue;
        }
        seen.push(&e.key);
        let bad = |key: &'static str, expected: &'static str| (e.line, ErrorKind::BadValue { key, expected });
        match e.key.as_str() {
            "title" => match non_empty(&e.val) {
                Some(s) => fm.title = Some(s),
                None => errors.push(bad("title", "a non-empty string")),
            },
            "owner" => match non_empty(&e.val) {
                Some(s) => fm.owner = Some(s),
                None => errors.push(bad("owner", "a non-empty string")),
            },
            "tags" => {
                let items = match &e.val {
                    Val::List(items) => items.as_slice(),
                    single => std::slice::from_ref(single),
                };
                let tags: Option<Vec<String>> = items
                    .iter()
                    .map(|v| match v {
                        Val::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                        Val::Int(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect();
                match tags {
                    Some(t) => fm.tags = t,
                    None => errors.push(bad("tags", "a list of non-empty strings")),
                }
            }
            "severity" => {
                let items = match &e.val {
                    Val::List(items) if !items.is_empty() => items.as_slice(),
                    Val::List(_) => {
                        errors.push((e.line, ErrorKind::BadSeverity("[] (an empty list)".to_string())));
                        continue;
                    }
                    single => std::slice::from_ref(single),
                };
                for v in items {
                    let sev = match v {
                        Val::Int(n) => u8::try_from(*n).ok().and_then(|n| Severity::new(n).ok()),
                        Val::Str(s) => s.parse::<Severity>().ok(),
                        _ => None,
                    };
                    match sev {
                        Some(s) if !fm.severities.contains(&s) => fm.severities.push(s),
                        Some(_) => {}
                        None => errors.push((e.line, ErrorKind::BadSeverity(show(v)))),
                    }
                }
                fm.severities.sort();
            }
            other => errors.push((e.line, ErrorKind::UnknownKey(clip(other)))),
        }
    }
    (fm, errors)
}

fn non_empty(v: &Val) -> Option<String> {
    match v {
        Val::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}
