//! Redaction of secrets in environ and command lines before they are written as evidence or put
//! on the timeline. Pure. Over-redacting (`MONKEY=1`) is accepted; leaking a token is not.

use std::borrow::Cow;

/// Key fragments that mark a variable or flag as secret (matched case-insensitively).
pub const SECRET_KEY_PARTS: [&str; 7] =
    ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"];

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// True when a variable or flag name looks like it holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let up = key.to_ascii_uppercase();
    SECRET_KEY_PARTS.iter().any(|p| up.contains(p))
}

/// `scheme://user:pass@host` → `scheme://user:***@host`, for every URL in `s`.
pub fn redact_url_credentials(s: &str) -> Cow<'_, str> {
    if !s.contains("://") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority runs to the first '/', '?', '#' or whitespace.
        let end =
            tail.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) if authority[..at].contains(':') => {
                let colon = authority[..at].find(':').unwrap_or(at);
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    if changed { Cow::Owned(out) } else { Cow::Borrowed(s) }
}

/// One `KEY=VALUE` environ entry: the value is masked when the key is secret, otherwise only
/// URL credentials inside it are.
pub fn redact_env_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
        Some((key, value)) => format!("{key}={}", redact_url_credentials(value)),
        None => redact_url_credentials(entry).into_owned(),
    }
}

/// Redacts a whole environ (NUL-separated) into one entry per line.
pub fn redact_environ(buf: &[u8]) -> String {
    let mut out = String::new();
    for entry in super::parse::split_nul(buf) {
        out.push_str(&redact_env_entry(&entry));
        out.push('\n');
    }
    out
}

/// Redacts command-line arguments: `--password=x` and `PASSWORD=x` lose their value,
/// `--token x` (a secret flag followed by a separate value) loses the next argument, and URL
/// credentials are masked everywhere.
pub fn redact_args<S: AsRef<str>>(args: &[S]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for (i, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if mask_next && !arg.starts_with('-') {
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        mask_next = false;
        if let Some((key, _)) = arg.split_once('=')
            && i > 0
            && is_secret_key(key)
            && !key.contains("://")
        {
            out.push(format!("{key}={MASK}"));
            continue;
        }
        if i > 0 && arg.starts_with('-') && !arg.contains('=') && is_secret_key(arg.trim_start_matches('-')) {
            mask_next = true;
        }
        out.push(redact_url_credentials(arg).into_owned());
    }
    out
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
            "passwd",
            "Api_Key",
            "GOOGLE_CREDENTIALS",
            "AUTH_HEADER",
            "x-auth",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["PATH", "HOME", "LANG", "TERM", "USER"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn env_entries() {
        assert_eq!(redact_env_entry("GITHUB_TOKEN=ghp_abc123"), "GITHUB_TOKEN=***");
        assert_eq!(redact_env_entry("db_password=hunter2"), "db_password=***");
        assert_eq!(redact_env_entry("Authorization=Bearer x=y"), "Authorization=***");
        assert_eq!(redact_env_entry("PATH=/usr/bin:/bin"), "PATH=/usr/bin:/bin");
        assert_eq!(
            redact_env_entry("DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app"),
            "DATABASE_URL=postgres://app:***@db.internal:5432/app"
        );
        assert_eq!(redact_env_entry("EMPTY="), "EMPTY=");
        assert_eq!(redact_env_entry("noequals"), "noequals");
    }

    #[test]
    fn urls() {
        assert_eq!(redact_url_credentials("https://user:pass@host/x"), "https://user:***@host/x");
        assert_eq!(redact_url_credentials("https://host/a@b:c"), "https://host/a@b:c");
        assert_eq!(redact_url_credentials("https://user@host"), "https://user@host");
        assert_eq!(redact_url_credentials("https://:tok@host"), "https://:***@host");
        assert_eq!(
            redact_url_credentials("a http://u:p@h1 b redis://:pw@h2:6379?x=1"),
            "a http://u:***@h1 b redis://:***@h2:6379?x=1"
        );
        assert_eq!(redact_url_credentials("https://u:p:q@w@host"), "https://u:***@host");
        assert!(matches!(redact_url_credentials("no urls here"), Cow::Borrowed(_)));
        assert_eq!(redact_url_credentials("ends with ://"), "ends with ://");
        assert_eq!(redact_url_credentials("ünï://ü:ß@h"), "ünï://ü:***@h");
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
        // argv[0] is never masked (it names the program).
        assert_eq!(redact_args(&["KEY=x"]), ["KEY=x"]);
    }
}
