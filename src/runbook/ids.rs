//! Stable item ids: a readable slug plus a short hash of the section path and the item text.
//!
//! Position never enters the id, so inserting, removing or editing other items leaves an item's id
//! alone; editing the item's own text or its headings gives it a new id (it is a different step).
//! Exact duplicates (same headings, same text) get `-2`, `-3`… in document order.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

const TEXT_SLUG_MAX: usize = 40;
const SECTION_SLUG_MAX: usize = 24;

/// Lowercase ASCII letters and digits, everything else collapsed to single `-`, cut at `max`
/// bytes on a `-` boundary when possible. Escape sequences go whole, as on screen: `ESC[31m`
/// leaves no `31m` behind.
pub(super) fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in crate::incident::sanitize::strip_controls(s).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.len() > max {
        // All ASCII, so any byte index is a char boundary.
        let cut = out[..=max].rfind('-').filter(|&i| i > max / 2).unwrap_or(max);
        out.truncate(cut);
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

/// Whitespace collapsed and trimmed: reflowing a line or CRLF never changes an id.
fn normalized(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The id before duplicate disambiguation. `headings` is the heading path above the item
/// (outermost first, the title heading excluded).
pub(super) fn base_id(headings: &[String], text: &str) -> String {
    let mut h = Sha256::new();
    for heading in headings {
        h.update(normalized(heading).as_bytes());
        h.update([0x1f]);
    }
    h.update([0x1e]);
    h.update(normalized(text).as_bytes());
    let digest = h.finalize();
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let text_slug = slug(text, TEXT_SLUG_MAX);
    let text_slug = if text_slug.is_empty() { "item".to_string() } else { text_slug };
    match headings.last().map(|s| slug(s, SECTION_SLUG_MAX)).filter(|s| !s.is_empty()) {
        Some(sec) => format!("{sec}--{text_slug}-{hash}"),
        None => format!("{text_slug}-{hash}"),
    }
}

/// Appends `-2`, `-3`… to repeats, in order.
pub(super) fn disambiguate(ids: &mut [String]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for id in ids.iter_mut() {
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            id.push_str(&format!("-{n}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_collapses_and_cuts_on_a_word() {
        assert_eq!(slug("  Check `df -h` (root FS)!  ", 40), "check-df-h-root-fs");
        assert_eq!(slug("Überprüfe die Platte", 40), "berpr-fe-die-platte");
        assert_eq!(slug("aaaa bbbb cccc dddd", 12), "aaaa-bbbb");
        assert_eq!(slug("", 10), "");
        assert!(slug(&"x".repeat(100), 40).len() <= 40);
        assert_eq!(slug("step \u{1b}[31mred\u{1b}[0m with rtl", 40), "step-red-with-rtl");
    }

    #[test]
    fn ids_depend_on_headings_and_text_only() {
        let a = base_id(&["Triage".into()], "Check load");
        assert_eq!(a, base_id(&["Triage".into()], "  Check\n load "));
        assert_ne!(a, base_id(&["Mitigate".into()], "Check load"));
        assert_ne!(a, base_id(&["Triage".into()], "Check load average"));
        assert!(a.starts_with("triage--check-load-"), "{a}");
        assert!(base_id(&[], "!!!").starts_with("item-"));
    }

    #[test]
    fn duplicates_are_numbered_in_order() {
        let mut ids = vec!["a".to_string(), "b".into(), "a".into(), "a".into()];
        disambiguate(&mut ids);
        assert_eq!(ids, ["a", "b", "a-2", "a-3"]);
    }
}
