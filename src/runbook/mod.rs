//! Runbooks: Markdown task lists turned into checklists with stable item ids, plus the
//! status-update cadence. Pure: no IO, no clock reads; the caller reads files and passes the time.
//!
//! A runbook is a Markdown file with optional front matter (`+++` TOML or a `---` YAML-like block),
//! headings as sections, GitHub task-list items (`- [ ] step`) as checklist items, and a fenced
//! ```` ```sh ```` / `bash` / `shell` block nested in an item (or directly after it) as the item's
//! runnable command. Item ids derive from the section headings and the item text, never from
//! position, so a tick survives the runbook being edited elsewhere mid-incident.

pub mod cadence;
mod front_matter;
mod ids;
mod parse;
pub mod progress;

use std::ops::Range;

use crate::incident::Severity;

pub use cadence::{CadenceConfig, UpdateDue, next_update_deadline, update_due, update_due_for};
pub use parse::parse;
pub use progress::{Progress, checked_ids};

/// A parsed runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    /// Slug of the file stem: `runbooks/Disk Full.md` → `disk-full`. What `runbook_attached` records.
    pub id: String,
    /// The display path it was parsed from (used in error messages).
    pub path: String,
    /// Front-matter `title`, else the first level-1 heading, else the file stem.
    pub title: String,
    pub tags: Vec<String>,
    /// Severities the runbook applies to; empty means any.
    pub severities: Vec<Severity>,
    pub owner: Option<String>,
    /// Sections that hold at least one item, in document order.
    pub sections: Vec<Section>,
    /// Every item in document order (nested items follow their parent).
    pub items: Vec<Item>,
}

/// A heading with the items under it (up to the next heading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading text as written (raw: strip controls before drawing); empty for items above
    /// the first heading.
    pub heading: String,
    /// Heading level 1–6; 0 for items above the first heading.
    pub level: u8,
    /// 1-based line of the heading (of the first item when there is no heading).
    pub line: usize,
    /// Indices into `Runbook::items`.
    pub items: Range<usize>,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable id: `{section-slug}--{text-slug}-{hash8}` (`-2`, `-3`… for exact duplicates).
    pub id: String,
    /// Index into `Runbook::sections`.
    pub section: usize,
    /// The task text (first paragraph after the checkbox): whitespace collapsed, inline code kept
    /// in backticks, emphasis marks dropped, control characters kept (strip before drawing).
    pub text: String,
    /// Further prose nested in the item: one line per paragraph or sub-bullet (`- ` prefixed),
    /// wrapped lines joined; raw like `text`. Empty when none.
    pub detail: String,
    /// 0 for a top-level task, 1 for a task nested in another task, and so on.
    pub depth: usize,
    /// 1-based line of the item.
    pub line: usize,
    /// Whether the file itself has `[x]`; progress ignores it (ticks live in the incident).
    pub checked_in_file: bool,
    pub command: Option<Command>,
}

/// A runnable fenced shell block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// `sh`, `bash` or `shell`, as written in the fence.
    pub lang: String,
    /// The block's text exactly (ends with a newline as fenced blocks do).
    pub script: String,
    /// 1-based line of the opening fence.
    pub line: usize,
}

impl Runbook {
    /// Whether the runbook applies to an incident of `severity` (no severities listed = any).
    pub fn applies_to(&self, severity: Severity) -> bool {
        self.severities.is_empty() || self.severities.contains(&severity)
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// What the postmortem export needs to name this runbook's items.
    pub fn export_text(&self) -> crate::incident::export::BookText {
        use crate::incident::export::{BookText, ItemText};
        let items = self
            .items
            .iter()
            .map(|i| ItemText {
                id: i.id.clone(),
                section: self.sections.get(i.section).map(|s| s.heading.clone()).unwrap_or_default(),
                text: i.text.clone(),
            })
            .collect();
        BookText { id: self.id.clone(), items }
    }

    /// The items of section `index`.
    pub fn section_items(&self, index: usize) -> &[Item] {
        self.sections.get(index).and_then(|s| self.items.get(s.items.clone())).unwrap_or(&[])
    }
}

/// Every runbook of a set of files, and every problem found in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub books: Vec<Runbook>,
    pub errors: Vec<RunbookError>,
}

/// Parses `(display path, text)` pairs, given in precedence order (e.g. the configured directory
/// before the XDG data dir): a later file whose id is already taken is reported, not loaded, so a
/// bad file never hides the good ones and two files never share an id.
pub fn catalog<P: AsRef<str>, T: AsRef<str>>(files: impl IntoIterator<Item = (P, T)>) -> Catalog {
    let mut out = Catalog::default();
    for (path, text) in files {
        let path = path.as_ref();
        match parse(text.as_ref(), path) {
            Err(errs) => out.errors.extend(errs),
            Ok(book) => match out.books.iter().find(|b| b.id == book.id) {
                Some(first) => out.errors.push(RunbookError {
                    path: path.to_string(),
                    line: 1,
                    kind: ErrorKind::DuplicateId { id: book.id, first: first.path.clone() },
                }),
                None => out.books.push(book),
            },
        }
    }
    out
}

/// Orders runbooks for an incident of `severity`: those that name it first, then those for any
/// severity, then the rest; by title, then id, within each group.
pub fn sort_for_severity(books: &mut [Runbook], severity: Severity) {
    books.sort_by_cached_key(|b| {
        let group = if b.severities.contains(&severity) {
            0
        } else if b.severities.is_empty() {
            1
        } else {
            2
        };
        (group, b.title.to_lowercase(), b.id.clone())
    });
}

/// One problem in a runbook file; displays as one line `path:line: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {kind}")]
pub struct RunbookError {
    pub path: String,
    /// 1-based line in the file.
    pub line: usize,
    pub kind: ErrorKind,
}

/// What is wrong; callers may branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("front matter opened with `{0}` on line 1 is never closed (expected a `{0}` line)")]
    UnterminatedFrontMatter(&'static str),
    #[error("malformed front matter: {0}")]
    MalformedFrontMatter(String),
    #[error("unknown front-matter key `{0}` (expected one of: title, tags, severity, owner)")]
    UnknownKey(String),
    #[error("front-matter key `{0}` is given twice")]
    DuplicateKey(String),
    #[error("bad severity {0}: expected 1 to 4 (1 is worst), or a list of them like [1, 2]")]
    BadSeverity(String),
    #[error("front-matter key `{key}` must be {expected}")]
    BadValue { key: &'static str, expected: &'static str },
    #[error("no checklist items: a runbook needs at least one `- [ ] step`")]
    NoItems,
    #[error("an empty checklist item: say what the step is after `- [ ]`")]
    EmptyItem,
    #[error("runbook id `{id}` is already taken by {first}: rename one of the files")]
    DuplicateId { id: String, first: String },
    #[error(
        "a second shell block for the item on line {item_line} (first on line {first_line}): put the commands in one block"
    )]
    DuplicateCommand { item_line: usize, first_line: usize },
}

#[cfg(test)]
mod tests;
