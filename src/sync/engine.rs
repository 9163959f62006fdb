//! One sync round against the local store: push the outbox, pull followed incidents, and take in
//! what the server sent only after validating it and stripping control characters.

use std::collections::HashSet;

use uuid::Uuid;

use super::client::{Client, SyncError};
use super::plan::{self, Limits, Op, Pending, Retry};
use super::wire::{self, Sequenced};
use crate::incident::sanitize::strip_controls;
use crate::incident::{Event, IncidentId};
use crate::store::Store;

/// Meta key of an incident's pull cursor (the highest server seq taken in).
pub fn cursor_key(incident: IncidentId) -> String {
    format!("sync.cursor.{incident}")
}

/// Meta key of the identity of the server store an incident's cursor counts in (the heartbeat's
/// `store`). Per incident, beside the cursor it qualifies: whichever URL the events came from,
/// a cursor is only meaningful in the store that numbered them.
pub fn store_key(incident: IncidentId) -> String {
    format!("sync.store.{incident}")
}

/// The server store this client last synced `incident` with (None before the first heartbeat
/// that named one).
pub fn kept_store(store: &Store, incident: IncidentId) -> Result<Option<String>, SyncError> {
    Ok(store.meta(&store_key(incident))?)
}

/// Remembers `id` as the server store `incident`'s cursor counts in.
pub fn keep_store(store: &Store, incident: IncidentId, id: &str) -> Result<(), SyncError> {
    Ok(store.set_meta(&store_key(incident), id)?)
}

/// Meta key of the events the server refused for good (JSON list of ids).
pub const REJECTED_KEY: &str = "sync.rejected";
/// Meta key of the server remembered by `warroom join` when no server is configured.
pub const SERVER_KEY: &str = "sync.server";

const LIMITS: Limits = Limits { max_events: 500, max_bytes: wire::MAX_BODY * 3 / 4 };

/// What a round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub pushed: usize,
    /// Events new to the local store.
    pub pulled: usize,
    /// Events set aside because the server refused them.
    pub rejected: usize,
    /// Why, one line per event set aside in this round (`event ID: HTTP 409: ...`).
    pub refusals: Vec<String>,
}

pub fn cursor(store: &Store, incident: IncidentId) -> Result<i64, SyncError> {
    Ok(store.meta(&cursor_key(incident))?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn rejected(store: &Store) -> Result<HashSet<Uuid>, SyncError> {
    Ok(store.meta(REJECTED_KEY)?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
}

/// How many events the server refused for good.
pub fn rejected_count(store: &Store) -> Result<usize, SyncError> {
    Ok(rejected(store)?.len())
}

/// (waiting, rejected): the unsynced events still to push, and those set aside. A set-aside
/// event stays unsynced in the store but waits for nothing, so it is counted apart.
pub fn outbox_counts(store: &Store) -> Result<(usize, usize), SyncError> {
    let rejected = rejected_count(store)?;
    Ok((store.pending_count()?.saturating_sub(rejected), rejected))
}

fn reject(store: &Store, id: Uuid) -> Result<(), SyncError> {
    let mut set = rejected(store)?;
    set.insert(id);
    let json = serde_json::to_string(&set).unwrap_or_else(|_| "[]".into());
    Ok(store.set_meta(REJECTED_KEY, &json)?)
}

/// Validates events from a server and strips control characters from every text; events that
/// fail validation (a kind this build does not know, oversized fields) are dropped.
pub fn clean(incident: IncidentId, page: Vec<Sequenced>) -> (Vec<Event>, Vec<i64>) {
    let mut events = Vec::with_capacity(page.len());
    let mut seqs = Vec::with_capacity(page.len());
    for Sequenced { seq, mut event } in page {
        if wire::check_event(&event, incident).is_err() {
            continue;
        }
        event.author = strip_controls(&event.author).into_owned();
        for t in event.kind.texts_mut() {
            if let std::borrow::Cow::Owned(clean) = strip_controls(t) {
                *t = clean;
            }
        }
        events.push(event);
        seqs.push(seq);
    }
    (events, seqs)
}

/// Takes in events the server sent (already in seq order) and advances the cursor.
pub fn take_in(store: &Store, incident: IncidentId, page: Vec<Sequenced>) -> Result<usize, SyncError> {
    let Some(last) = page.last().map(|s| s.seq) else { return Ok(0) };
    let (events, seqs) = clean(incident, page);
    // One transaction: whoever sees these events also sees the cursor past them.
    Ok(store.append_remote(&events, &seqs, (&cursor_key(incident), last))?)
}

/// Pushes the whole outbox (skipping refused events). Events the server refuses for good are
/// set aside and the round goes on; any other failure ends the round.
pub async fn push_outbox(store: &Store, client: &Client) -> Result<Report, SyncError> {
    let mut report = Report::default();
    // Each pass pushes what is pending now; a refusal changes the plan, so plan again.
    for _ in 0..64 {
        let mut skip = rejected(store)?;
        let pending = store.pending(10_000 + skip.len())?;
        // What the server would refuse (an oversized field) is set aside here rather than sent:
        // one bad event must never hold the whole outbox (a 413 names no event to set aside).
        for e in &pending {
            if !skip.contains(&e.id)
                && let Err(bad) = wire::check_event(e, e.incident)
            {
                reject(store, e.id)?;
                skip.insert(e.id);
                report.rejected += 1;
                report.refusals.push(format!("event {}: {}: {}", e.id, bad.field, bad.message));
            }
        }
        let entries: Vec<Pending> = pending
            .iter()
            .map(|e| Pending {
                incident: e.incident,
                id: e.id,
                bytes: serde_json::to_vec(e).map(|v| v.len()).unwrap_or(1024),
            })
            .collect();
        let ops = plan::plan(&entries, &skip, &[], LIMITS);
        if ops.is_empty() {
            return Ok(report);
        }
        let mut replan = false;
        for op in ops {
            let Op::Push { incident, ids } = op else { continue };
            let batch: Vec<Event> =
                ids.iter().filter_map(|id| pending.iter().find(|e| e.id == *id).cloned()).collect();
            match client.push(incident, &batch).await {
                Ok(acks) => {
                    let acks: Vec<(Uuid, i64)> = acks.iter().map(|a| (a.id, a.seq)).collect();
                    store.mark_synced(&acks)?;
                    report.pushed += acks.len();
                }
                Err(e) => match plan::classify(e.failure()) {
                    Retry::RejectEvent(i) if i < batch.len() => {
                        reject(store, batch[i].id)?;
                        report.rejected += 1;
                        report.refusals.push(format!("event {}: {e}", batch[i].id));
                        replan = true;
                        break;
                    }
                    _ => return Err(e),
                },
            }
        }
        if !replan {
            return Ok(report);
        }
    }
    Ok(report)
}

/// Pulls an incident from its cursor to the end.
pub async fn pull(store: &Store, client: &Client, incident: IncidentId) -> Result<usize, SyncError> {
    let mut added = 0;
    // Bounded: a server that never stops paging is garbage, not progress.
    for _ in 0..100_000 {
        let after = cursor(store, incident)?;
        let page = client.pull(incident, after, wire::MAX_PAGE).await?;
        let full = page.events.len() >= wire::MAX_PAGE;
        if page.events.is_empty() {
            break;
        }
        added += take_in(store, incident, page.events)?;
        if !full {
            break;
        }
    }
    Ok(added)
}

/// The user part of an author (`ana` of `ana@db-01`): the server's author rule lets a token
/// append only its own user's events.
fn user(author: &str) -> &str {
    author.split('@').next().unwrap_or(author)
}

/// The server's head is below the cursor: it lost events (restored from an old copy, or started
/// on an empty database) or is another store. Pushes every local event of `incident` again
/// (idempotent by id: what the server still has is a 200) and then moves the cursor back to 0,
/// so the next pull takes in whatever the server now holds, under its new sequence numbers.
/// A server with per-user tokens refuses other users' events (403 naming one): that user's
/// events are then left out, and their own clients send them when they notice. Events the server refuses for good
/// (409, 422) are left out. On any other failure the cursor is left as it was, so the next
/// heartbeat notices again and the re-send is retried. Returns how many events were acknowledged.
pub async fn resend(store: &Store, client: &Client, incident: IncidentId) -> Result<usize, SyncError> {
    let skip = rejected(store)?;
    let events: Vec<Event> = store
        .events(incident)?
        .into_iter()
        .filter(|e| !skip.contains(&e.id) && wire::check_event(e, incident).is_ok())
        .collect();
    let index: std::collections::HashMap<Uuid, usize> =
        events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let entries: Vec<Pending> = events
        .iter()
        .map(|e| Pending {
            incident,
            id: e.id,
            bytes: serde_json::to_vec(e).map(|v| v.len()).unwrap_or(1024),
        })
        .collect();
    let mut sent = 0;
    let mut not_ours: HashSet<String> = HashSet::new();
    for op in plan::plan(&entries, &HashSet::new(), &[], LIMITS) {
        let Op::Push { ids, .. } = op else { continue };
        let mut batch: Vec<Event> =
            ids.iter().filter_map(|id| index.get(id).map(|&i| events[i].clone())).collect();
        batch.retain(|e| !not_ours.contains(user(&e.author)));
        // Bounded: each failure shrinks the batch.
        while !batch.is_empty() {
            match client.push(incident, &batch).await {
                Ok(acks) => {
                    let acks: Vec<(Uuid, i64)> = acks.iter().map(|a| (a.id, a.seq)).collect();
                    store.mark_synced(&acks)?;
                    sent += acks.len();
                    break;
                }
                Err(e) => match (plan::classify(e.failure()), e.failure()) {
                    (Retry::RejectEvent(i), _) if i < batch.len() => {
                        batch.remove(i);
                    }
                    // Another user's event, refused under our token: leave that user's out.
                    (Retry::Auth, plan::Failure::Status { code: 403, index: Some(i) }) if i < batch.len() => {
                        let theirs = user(&batch[i].author).to_string();
                        batch.retain(|e| user(&e.author) != theirs);
                        not_ours.insert(theirs);
                    }
                    _ => return Err(e),
                },
            }
        }
    }
    // Only now: a cursor moved back before the re-send succeeded would stop the next heartbeat
    // from noticing that the server still lacks our events.
    store.set_meta(&cursor_key(incident), "0")?;
    Ok(sent)
}

/// A whole round: push the outbox, then pull each followed incident.
pub async fn sync_once(store: &Store, client: &Client, follow: &[IncidentId]) -> Result<Report, SyncError> {
    let mut report = push_outbox(store, client).await?;
    for incident in follow {
        report.pulled += pull(store, client, *incident).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{EventKind, Severity, Tag};
    use chrono::Utc;

    #[test]
    fn clean_strips_and_drops() {
        let open =
            Event::open(Utc::now(), "ana\x1b[31m", "t\x1b]0;x\x07".into(), Severity::new(1).unwrap(), None);
        let inc = open.id;
        let bad = Event::new(
            uuid::Uuid::now_v7(),
            Utc::now(),
            "bo",
            EventKind::Note { text: "x".into(), tag: Tag::Note },
        );
        let unknown = Event::new(inc, Utc::now(), "bo", EventKind::Unknown);
        let (evs, seqs) = clean(
            inc,
            vec![
                Sequenced { seq: 1, event: open },
                Sequenced { seq: 2, event: bad },
                Sequenced { seq: 3, event: unknown },
            ],
        );
        assert_eq!(seqs, vec![1]);
        assert_eq!(evs[0].author, "ana");
        assert!(matches!(&evs[0].kind, EventKind::Opened { title, .. } if title == "t"));
    }
}
