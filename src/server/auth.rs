//! Named bearer tokens: which token a request presents decides whose events it may append.

use sha2::{Digest, Sha256};

use crate::config::TokenConfig;

/// The accepted tokens, kept as SHA-256 digests so a plain config token is never compared directly.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    entries: Vec<(String, [u8; 32])>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn from_hex(h: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if h.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Hex SHA-256 of a token: what goes in `token_sha256` (also `warroom serve --hash-token`).
pub fn hash_token(token: &str) -> String {
    digest(token).iter().map(|b| format!("{b:02x}")).collect()
}

impl Tokens {
    /// Builds the table; entries the config validation would reject are skipped.
    pub fn from_config(tokens: &[TokenConfig]) -> Tokens {
        let entries = tokens
            .iter()
            .filter_map(|t| {
                let hash = match (&t.token, &t.token_sha256) {
                    (Some(plain), None) => digest(plain),
                    (None, Some(h)) => from_hex(h)?,
                    _ => return None,
                };
                Some((t.name.trim().to_string(), hash))
            })
            .collect();
        Tokens { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name of the token presented, if any matches. Compares against every entry in
    /// constant time so timing reveals neither which token nor how much of one matched.
    pub fn check(&self, presented: &str) -> Option<&str> {
        let d = digest(presented);
        let mut found = None;
        for (name, hash) in &self.entries {
            let diff = hash.iter().zip(d.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff == 0 && found.is_none() {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// The author rule: a token named `ana` may write events authored `ana` or `ana@anything`
/// (the CLI's default author is `$USER@hostname`).
pub fn author_allowed(token_name: &str, author: &str) -> bool {
    author == token_name || author.strip_prefix(token_name).is_some_and(|rest| rest.starts_with('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_tokens_match_by_name() {
        let t = Tokens::from_config(&[
            TokenConfig { name: "ana".into(), token: Some("secret-ana-0123456".into()), token_sha256: None },
            TokenConfig {
                name: "bo".into(),
                token: None,
                token_sha256: Some(hash_token("secret-bo-01234567")),
            },
        ]);
        assert_eq!(t.check("secret-ana-0123456"), Some("ana"));
        assert_eq!(t.check("secret-bo-01234567"), Some("bo"));
        assert_eq!(t.check("secret-bo-0123456"), None);
        assert_eq!(t.check(""), None);
    }

    #[test]
    fn author_rule() {
        assert!(author_allowed("ana", "ana"));
        assert!(author_allowed("ana", "ana@db1"));
        assert!(!author_allowed("ana", "anabel"));
        assert!(!author_allowed("ana", "bo@ana"));
    }
}
