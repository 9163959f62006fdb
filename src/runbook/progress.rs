//! Checklist progress: how many of a runbook's items are ticked, overall and per section.
//!
//! Ticks live in the incident (`checklist_item_set` events, folded last-writer-wins), not in the
//! file; a tick whose item has since been edited away is "stale" and counts toward nothing.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use super::{Runbook, Section};
use crate::incident::state::ChecklistView;

/// `done` of `total` items ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

impl Progress {
    pub fn is_complete(self) -> bool {
        self.done == self.total
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.done, self.total)
    }
}

/// The ids of `runbook`'s items currently ticked in the folded incident checklist.
pub fn checked_ids<'a>(runbook: &str, checklist: &'a [ChecklistView]) -> BTreeSet<&'a str> {
    checklist.iter().filter(|c| c.runbook == runbook && c.checked).map(|c| c.item.as_str()).collect()
}

impl Runbook {
    /// Ticked items of the whole runbook.
    pub fn progress<S: Borrow<str> + Ord>(&self, checked: &BTreeSet<S>) -> Progress {
        count(self.items.iter().map(|i| i.id.as_str()), checked)
    }

    /// Each section with its own progress, in document order.
    pub fn section_progress<S: Borrow<str> + Ord>(&self, checked: &BTreeSet<S>) -> Vec<(&Section, Progress)> {
        self.sections
            .iter()
            .enumerate()
            .map(|(i, s)| (s, count(self.section_items(i).iter().map(|it| it.id.as_str()), checked)))
            .collect()
    }

    /// Ticked ids that match no item any more (the item's text or heading was edited).
    pub fn stale_checks<'a, S: Borrow<str> + Ord>(&self, checked: &'a BTreeSet<S>) -> Vec<&'a str> {
        checked.iter().map(Borrow::borrow).filter(|id| self.item(id).is_none()).collect()
    }
}

fn count<'a, S: Borrow<str> + Ord>(ids: impl Iterator<Item = &'a str>, checked: &BTreeSet<S>) -> Progress {
    let mut p = Progress::default();
    for id in ids {
        p.total += 1;
        if checked.contains(id) {
            p.done += 1;
        }
    }
    p
}
