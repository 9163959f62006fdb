//! Redaction of secrets in environ, command lines and free text (journal lines, debugger output,
//! runtime reports) before they are written as evidence, put on the timeline or sent to a server.
//! Pure. Over-redacting (`MONKEY=1`, `-pthread`) is accepted; leaking a token is not.
//!
//! What is caught, wherever it appears:
//! - `KEY=value` and `Key: value` where the key names a secret (TOKEN, SECRET, PASS, PWD, KEY,
//!   DSN, AUTH, ...), including `password=` inside JDBC URLs and `Password=` in
//!   `Server=..;Password=..;` connection strings;
//! - URL userinfo (`https://user:***@h`, and a lone user such as a Sentry DSN's key:
//!   `https://***@o1.ingest.sentry.io/1`), webhook paths (`https://hooks.slack.com/services/***`)
//!   and long token-like path segments;
//! - PEM private key bodies; `Bearer`/`Basic` credentials;
//! - bare tokens by their well-known prefixes (ghp_, github_pat_, glpat-, xoxb-, AKIA…, sk_live_,
//!   sk-…, AIza…, npm_…, JWTs) — the prefix is kept so a reader knows what kind it was;
//! - in argv: `--token x`, `-p<password>`, `-u user:pass` / `--user user:pass`.

use std::borrow::Cow;

/// Key fragments that mark a variable or flag as secret (matched case-insensitively).
pub const SECRET_KEY_PARTS: [&str; 12] = [
    "TOKEN",
    "SECRET",
    "PASS",
    "PWD",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "DSN",
    "COOKIE",
    "PRIVATE",
    "SIGNATURE",
    "CERT_PEM",
];

/// Whole keys that are secret although short (query parameters such as Azure SAS `sig=`).
const SECRET_KEYS_EXACT: [&str; 3] = ["SIG", "PW", "APIKEY"];

/// Keys that contain a secret fragment but never hold one.
const NOT_SECRET: [&str; 2] = ["PWD", "OLDPWD"];

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// True when a variable, flag or header name looks like it holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let up = key.trim().trim_start_matches('-').to_ascii_uppercase();
    if up.is_empty() || NOT_SECRET.contains(&up.as_str()) {
        return false;
    }
    SECRET_KEYS_EXACT.contains(&up.as_str()) || SECRET_KEY_PARTS.iter().any(|p| up.contains(p))
}

/// Redacts every form listed in the module doc from free text (any number of lines).
pub fn redact_text(s: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(s);
    for pass in [redact_pem, redact_headers, redact_key_values, redact_urls, redact_bare_tokens] {
        if let Cow::Owned(o) = pass(&out) {
            out = Cow::Owned(o);
        }
    }
    out
}

/// PEM private key bodies: the BEGIN and END lines stay, the body becomes `***`. A block with no
/// END line is masked to the end of the text.
fn redact_pem(s: &str) -> Cow<'_, str> {
    const BEGIN: &str = "-----BEGIN ";
    if !s.contains(BEGIN) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find(BEGIN) {
        let after = &rest[i + BEGIN.len()..];
        let Some(close) = after.find("-----") else { break };
        let label = &after[..close];
        let head_end = i + BEGIN.len() + close + 5;
        out.push_str(&rest[..head_end]);
        rest = &rest[head_end..];
        if !label.contains("PRIVATE KEY") && !label.contains("ENCRYPTED") {
            continue;
        }
        changed = true;
        out.push_str(MASK);
        match rest.find("-----END ") {
            Some(end) => rest = &rest[end..],
            None => rest = "",
        }
        if !rest.is_empty() && !out.ends_with('\n') && s.contains('\n') {
            out.push('\n');
        }
    }
    out.push_str(rest);
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The key that ends right before byte `end` of `s` (a run of key characters).
fn key_before(s: &str, end: usize) -> &str {
    let head = &s[..end];
    let start =
        head.char_indices().rev().find(|&(_, c)| !is_key_char(c)).map_or(0, |(i, c)| i + c.len_utf8());
    &head[start..]
}

/// `Key: value` header lines whose key is secret (`Authorization: Bearer x`, `X-Api-Key: x`,
/// `Cookie: a=b`): the value to the end of the line is masked. Also `Bearer x` / `Basic x` on
/// their own.
fn redact_headers(s: &str) -> Cow<'_, str> {
    if !s.contains(": ") && !s.contains("earer ") && !s.contains("asic ") {
        return Cow::Borrowed(s);
    }
    let mut changed = false;
    let mut out = String::with_capacity(s.len());
    for (n, line) in s.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut line_out = String::new();
        let mut rest = line;
        let mut masked_line = false;
        while let Some(i) = rest.find(": ") {
            let key = key_before(rest, i);
            if !key.is_empty() && is_secret_key(key) {
                line_out.push_str(&rest[..i + 2]);
                line_out.push_str(MASK);
                rest = "";
                masked_line = true;
                break;
            }
            line_out.push_str(&rest[..i + 2]);
            rest = &rest[i + 2..];
        }
        line_out.push_str(rest);
        if masked_line {
            changed = true;
            out.push_str(&line_out);
            continue;
        }
        // `Bearer <token>` / `Basic <token>` anywhere on the line.
        let mut words = String::new();
        let mut mask_next = false;
        let mut any = false;
        for (k, w) in line.split(' ').enumerate() {
            if k > 0 {
                words.push(' ');
            }
            if mask_next && !w.is_empty() {
                words.push_str(MASK);
                mask_next = false;
                any = true;
                continue;
            }
            let lw = w.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
            mask_next = lw == "bearer" || lw == "basic";
            words.push_str(w);
        }
        if any {
            changed = true;
            out.push_str(&words);
        } else {
            out.push_str(line);
        }
    }
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}

/// `key=value` wherever the key is secret: the value (to `;`, `&`, `,`, a quote, a bracket or
/// whitespace; a quoted value to its closing quote) becomes `***`.
fn redact_key_values(s: &str) -> Cow<'_, str> {
    if !s.contains('=') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    let mut changed = false;
    let bytes = s.as_bytes();
    while let Some(rel) = s[pos..].find('=') {
        let eq = pos + rel;
        let key = key_before(s, eq);
        let vstart = eq + 1;
        if key.is_empty() || !is_secret_key(key) || s[vstart..].starts_with(MASK) {
            out.push_str(&s[pos..=eq]);
            pos = vstart;
            continue;
        }
        let vend = match bytes.get(vstart) {
            Some(&q @ (b'"' | b'\'')) => {
                s[vstart + 1..].find(q as char).map_or(s.len(), |i| vstart + 1 + i + 1)
            }
            _ => s[vstart..]
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, ';' | '&' | ',' | '"' | '\'' | ')' | ']' | '}')
                })
                .map_or(s.len(), |i| vstart + i),
        };
        out.push_str(&s[pos..=eq]);
        if vend > vstart {
            out.push_str(MASK);
            changed = true;
        }
        pos = vend;
    }
    out.push_str(&s[pos..]);
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}

/// URL credentials for every URL in `s`: `scheme://user:pass@host` → `scheme://user:***@host`,
/// `scheme://key@host` → `scheme://***@host`; webhook paths (host or path naming a hook) keep
/// their first segment only; other token-like path segments (20+ characters, letters and digits)
/// become `***`.
pub fn redact_urls(s: &str) -> Cow<'_, str> {
    if !s.contains("://") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let url_end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .unwrap_or(tail.len());
        let url = &tail[..url_end];
        // The authority runs to the first '/', '?' or '#'.
        let auth_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..auth_end];
        let host = match authority.rfind('@') {
            Some(at) => {
                if let Some(colon) = authority[..at].find(':') {
                    out.push_str(&authority[..=colon]);
                }
                out.push_str(MASK);
                out.push_str(&authority[at..]);
                changed = true;
                &authority[at + 1..]
            }
            None => {
                out.push_str(authority);
                authority
            }
        };
        let after = &url[auth_end..];
        let path_end = after.find(['?', '#']).unwrap_or(after.len());
        let (path, query) = after.split_at(path_end);
        let hook = host.to_ascii_lowercase().contains("hook") || path.to_ascii_lowercase().contains("hook");
        let segments: Vec<&str> = path.split('/').collect();
        let mut new_path = String::with_capacity(path.len());
        for (k, seg) in segments.iter().enumerate() {
            if k > 0 {
                new_path.push('/');
            }
            let secret = !seg.is_empty() && ((hook && k >= 2) || looks_like_token(seg));
            new_path.push_str(if secret { MASK } else { seg });
        }
        if hook && segments.len() > 2 {
            // One mask for the whole secret tail: `https://hooks.slack.com/services/***`.
            let keep: Vec<&str> = segments[..2].to_vec();
            new_path = format!("{}/{MASK}", keep.join("/"));
        }
        if new_path != path {
            changed = true;
        }
        out.push_str(&new_path);
        out.push_str(query);
        rest = &tail[url_end..];
    }
    out.push_str(rest);
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}

/// A URL path segment that is probably a credential: long, of token characters, with both
/// letters and digits.
fn looks_like_token(seg: &str) -> bool {
    seg.len() >= 20
        && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        && seg.chars().any(|c| c.is_ascii_digit())
        && seg.chars().any(|c| c.is_ascii_alphabetic())
}

/// Well-known token prefixes and the least number of characters after them.
const TOKEN_PREFIXES: &[(&str, usize)] = &[
    ("github_pat_", 20),
    ("ghp_", 20),
    ("gho_", 20),
    ("ghu_", 20),
    ("ghs_", 20),
    ("ghr_", 20),
    ("glpat-", 16),
    ("gldt-", 16),
    ("glrt-", 16),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxr-", 10),
    ("xoxs-", 10),
    ("xapp-", 10),
    ("sk_live_", 10),
    ("sk_test_", 10),
    ("rk_live_", 10),
    ("rk_test_", 10),
    ("whsec_", 10),
    ("sk-", 20),
    ("npm_", 30),
    ("AIza", 30),
    ("SG.", 20),
    ("eyJ", 30),
];

/// Bare tokens recognised by their prefix: `ghp_abc…` → `ghp_***`, `AKIA…` (16 more) → `AKIA***`.
fn redact_bare_tokens(s: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut last = 0;
    let is_tok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        if !is_tok(c) {
            i += c.len_utf8();
            continue;
        }
        let end = s[i..].find(|c: char| !is_tok(c)).map_or(s.len(), |n| i + n);
        let word = &s[i..end];
        if let Some(keep) = token_prefix(word) {
            out.push_str(&s[last..i]);
            out.push_str(&word[..keep]);
            out.push_str(MASK);
            changed = true;
            last = end;
        }
        i = end;
    }
    if !changed {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[last..]);
    Cow::Owned(out)
}

/// How much of `word` to keep when it is a token (its prefix), or None.
fn token_prefix(word: &str) -> Option<usize> {
    for p in ["AKIA", "ASIA"] {
        if let Some(rest) = word.strip_prefix(p)
            && rest.len() >= 16
            && rest.chars().take(16).all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Some(p.len());
        }
    }
    TOKEN_PREFIXES.iter().find_map(|&(p, min)| {
        let rest = word.strip_prefix(p)?;
        (rest.len() >= min && rest.chars().any(|c| c.is_ascii_alphanumeric())).then_some(p.len())
    })
}

/// `scheme://user:pass@host` → `scheme://user:***@host`, for every URL in `s` (kept for callers
/// that only want URLs; [`redact_text`] does this and more).
pub fn redact_url_credentials(s: &str) -> Cow<'_, str> {
    redact_urls(s)
}

/// One `KEY=VALUE` environ entry: the value is masked when the key is secret, otherwise every
/// secret form inside it is.
pub fn redact_env_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
        Some((key, value)) => format!("{key}={}", redact_text(value)),
        None => redact_text(entry).into_owned(),
    }
}

/// Redacts a whole environ (NUL-separated) into one entry per line. A value holding newlines (a
/// PEM key) stays whole: its lines follow, indented by nothing, masked.
pub fn redact_environ(buf: &[u8]) -> String {
    let mut out = String::new();
    for entry in super::parse::split_nul(buf) {
        out.push_str(&redact_env_entry(&entry));
        out.push('\n');
    }
    out
}

/// Redacts command-line arguments: `--password=x`, `PASSWORD=x` and every form of
/// [`redact_text`] lose their value; a secret flag followed by a separate value (`--token x`),
/// `Bearer x`, `-p<password>`, `-u user:pass` and `--user user:pass` too.
/// A command line as a shell would take it back: each argument redacted, then single-quoted
/// where it holds anything but plain word characters, so `sh -c 'a; b'` is recorded as it ran,
/// not as `sh -c a; b`.
pub fn shell_line<S: AsRef<str>>(args: &[S]) -> String {
    let quote = |a: &str| {
        let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
        if plain { a.to_string() } else { format!("'{}'", a.replace('\'', r"'\''")) }
    };
    redact_args(args).iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

pub fn redact_args<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    let mut userpass_next = false;
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if mask_next && !arg.starts_with('-') {
            let bare = arg.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
            if bare == "bearer" || bare == "basic" {
                // `Authorization: Bearer x`: the scheme stays, the credential after it goes.
                out.push(arg.to_string());
                continue;
            }
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        mask_next = false;
        if userpass_next {
            userpass_next = false;
            if let Some((user, _)) = arg.split_once(':') {
                out.push(format!("{user}:{MASK}"));
                continue;
            }
        }
        if i > 0 {
            if matches!(arg, "-u" | "--user" | "--proxy-user" | "-U") {
                userpass_next = true;
                out.push(arg.to_string());
                continue;
            }
            if let Some(v) = arg.strip_prefix("--user=").or_else(|| arg.strip_prefix("--proxy-user="))
                && let Some((user, _)) = v.split_once(':')
            {
                let flag = &arg[..arg.len() - v.len()];
                out.push(format!("{flag}{user}:{MASK}"));
                continue;
            }
            if let Some(v) = arg.strip_prefix("-u")
                && !arg.starts_with("--")
                && let Some((user, _)) = v.split_once(':')
            {
                out.push(format!("-u{user}:{MASK}"));
                continue;
            }
            // mysql's `-pSECRET` (a password glued to -p).
            if arg.len() > 2 && arg.starts_with("-p") && !arg.starts_with("--") {
                out.push(format!("-p{MASK}"));
                continue;
            }
            if arg.starts_with('-') && !arg.contains('=') && is_secret_key(arg.trim_start_matches('-')) {
                mask_next = true;
            }
            let bare = arg.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase();
            if bare == "bearer" || bare == "basic" {
                mask_next = true;
            }
            // `-H "Authorization:"` split from its value by a space-joined cmdline.
            if let Some(key) = arg.strip_suffix(':')
                && is_secret_key(key)
            {
                mask_next = true;
            }
        }
        out.push(redact_text(arg).into_owned());
    }
    out
}

/// A command line held as one space-joined string (the sampler's form): split on whitespace,
/// redacted as arguments, joined again. What goes on the timeline and to the server.
pub fn redact_cmdline(cmdline: &str) -> String {
    let args: Vec<&str> = cmdline.split(' ').collect();
    redact_args(&args).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_case_insensitive() {
        for k in [
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "DB_PASSWORD",
            "DB_PASS",
            "MYSQL_PWD",
            "passwd",
            "Api_Key",
            "GOOGLE_CREDENTIALS",
            "AUTH_HEADER",
            "x-auth",
            "SENTRY_DSN",
            "sig",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["PATH", "HOME", "LANG", "TERM", "USER", "PWD", "OLDPWD", "SIGNAL", ""] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn env_entries() {
        assert_eq!(redact_env_entry("GITHUB_TOKEN=ghp_abc123"), "GITHUB_TOKEN=***");
        assert_eq!(redact_env_entry("db_password=hunter2"), "db_password=***");
        assert_eq!(redact_env_entry("DB_PASS=hunter2"), "DB_PASS=***");
        assert_eq!(redact_env_entry("MYSQL_PWD=hunter2"), "MYSQL_PWD=***");
        assert_eq!(redact_env_entry("PWD=/srv/app"), "PWD=/srv/app");
        assert_eq!(redact_env_entry("Authorization=Bearer x=y"), "Authorization=***");
        assert_eq!(redact_env_entry("PATH=/usr/bin:/bin"), "PATH=/usr/bin:/bin");
        assert_eq!(
            redact_env_entry("DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app"),
            "DATABASE_URL=postgres://app:***@db.internal:5432/app"
        );
        assert_eq!(
            redact_env_entry("JAVA_OPTS=-Xmx1g -Ddb.password=s3cret -Dport=80"),
            "JAVA_OPTS=-Xmx1g -Ddb.password=*** -Dport=80"
        );
        assert_eq!(redact_env_entry("EMPTY="), "EMPTY=");
        assert_eq!(redact_env_entry("noequals"), "noequals");
    }

    #[test]
    fn urls() {
        assert_eq!(redact_urls("https://user:pass@host/x"), "https://user:***@host/x");
        assert_eq!(redact_urls("https://host/a@b:c"), "https://host/a@b:c");
        assert_eq!(redact_urls("https://:tok@host"), "https://:***@host");
        assert_eq!(
            redact_urls("a http://u:p@h1 b redis://:pw@h2:6379?x=1"),
            "a http://u:***@h1 b redis://:***@h2:6379?x=1"
        );
        assert_eq!(redact_urls("https://u:p:q@w@host"), "https://u:***@host");
        assert!(matches!(redact_urls("no urls here"), Cow::Borrowed(_)));
        assert!(matches!(redact_urls("https://example.com/a/b?c=d"), Cow::Borrowed(_)));
        assert_eq!(redact_urls("ends with ://"), "ends with ://");
        assert_eq!(redact_urls("ünï://ü:ß@h"), "ünï://ü:***@h");
        // A DSN's key is the user part, alone.
        assert_eq!(
            redact_urls("https://0123abcd4567ef@o4500.ingest.sentry.io/12"),
            "https://***@o4500.ingest.sentry.io/12"
        );
        // Webhooks carry their secret in the path.
        assert_eq!(
            redact_urls("https://hooks.slack.com/services/T0001/B0002/XXXXabcd1234"),
            "https://hooks.slack.com/services/***"
        );
        assert_eq!(
            redact_urls("https://discord.com/api/webhooks/1234/abcDEF-ghi"),
            "https://discord.com/api/***"
        );
        assert_eq!(
            redact_urls("https://api.example.com/v1/send/a1b2c3d4e5f6g7h8i9j0k1?x=1"),
            "https://api.example.com/v1/send/***?x=1"
        );
    }

    #[test]
    fn free_text_forms() {
        let cases = [
            ("jdbc:mysql://db:3306/app?user=app&password=s3cret&ssl=true", "s3cret"),
            ("Server=db;Database=app;User Id=sa;Password=Secr3t!;", "Secr3t!"),
            ("curl -H 'Authorization: Bearer abc.def' https://x", "abc.def"),
            ("X-Api-Key: k-123456", "k-123456"),
            ("token ghp_0123456789abcdefghijABCDEFGHIJ here", "0123456789abcdefghij"),
            ("glpat-abcdefghij0123456789", "abcdefghij0123456789"),
            ("xoxb-1234-5678-abcdefgh", "1234-5678-abcdefgh"),
            ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
            ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
            ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "eyJhbGciOiJIUzI1NiJ9"),
        ];
        for (input, secret) in cases {
            let out = redact_text(input);
            assert!(!out.contains(secret), "{input} -> {out}");
            assert!(out.contains(MASK), "{input} -> {out}");
        }
        assert_eq!(redact_text("ghp_0123456789abcdefghijXYZ"), "ghp_***");
        assert_eq!(redact_text("plain text, nothing=here"), "plain text, nothing=here");
        assert!(matches!(redact_text("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn pem_private_keys() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(redact_text(pem), "-----BEGIN RSA PRIVATE KEY-----***\n-----END RSA PRIVATE KEY-----\n");
        let cut = "x -----BEGIN PRIVATE KEY-----MIIEvQ";
        assert_eq!(redact_text(cut), "x -----BEGIN PRIVATE KEY-----***");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(redact_text(cert), cert);
    }

    #[test]
    fn environ_blob() {
        let out = redact_environ(b"HOME=/root\0API_KEY=abc\0PROXY=http://me:pw@proxy:3128\0");
        assert_eq!(out, "HOME=/root\nAPI_KEY=***\nPROXY=http://me:***@proxy:3128\n");
    }

    #[test]
    fn args() {
        let args = [
            "/usr/bin/app",
            "--password=hunter2",
            "--token",
            "abc",
            "--verbose",
            "--auth-file",
            "--port",
            "80",
            "https://u:p@h",
            "SECRET=1",
        ];
        assert_eq!(
            redact_args(&args),
            [
                "/usr/bin/app",
                "--password=***",
                "--token",
                "***",
                "--verbose",
                "--auth-file",
                "--port",
                "80",
                "https://u:***@h",
                "SECRET=***"
            ]
        );
        assert_eq!(
            redact_args(&["mysql", "-uroot", "-phunter2", "app"]),
            ["mysql", "-uroot", "-p***", "app"]
        );
        assert_eq!(redact_args(&["curl", "-u", "bob:hunter2", "x"]), ["curl", "-u", "bob:***", "x"]);
        assert_eq!(redact_args(&["curl", "-ubob:hunter2"]), ["curl", "-ubob:***"]);
        assert_eq!(shell_line(&["sh", "-c", "echo deploying; exit 3"]), "sh -c 'echo deploying; exit 3'");
        assert_eq!(shell_line(&["echo", "it's", "", "a=b/c.d"]), r"echo 'it'\''s' '' a=b/c.d");
        assert_eq!(shell_line(&["curl", "--token", "hunter2"]), "curl --token '***'");
        assert_eq!(redact_args(&["curl", "--user=bob:hunter2"]), ["curl", "--user=bob:***"]);
        assert_eq!(
            redact_args(&["curl", "-H", "Authorization: Bearer abc"]),
            ["curl", "-H", "Authorization: ***"]
        );
        assert_eq!(
            redact_cmdline("curl -H Authorization: Bearer abc https://x"),
            "curl -H Authorization: Bearer *** https://x"
        );
    }
}
