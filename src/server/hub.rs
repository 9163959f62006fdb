//! Live fan-out: newly appended events go to every open stream, and the presence table (who has a
//! stream open on which incident) lives here, never in the event log. With several replicas on
//! Postgres, the viewers the other replicas report (`set_remote`, from `server::presence`) are
//! merged into every list this replica sends.
//!
//! Presence is not broadcast per change: each incident has a `watch` of its latest viewer list,
//! serialised once, and each stream sends the latest value at most every `PRESENCE_EVERY`. A
//! broadcast per join made N subscribers joining cost O(N^2) messages of O(N) names each (about
//! 3.7 GB of SSE for 1,000 viewers), which kept streams busy for seconds after the last join and
//! was where the multi-second fan-out outliers came from.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use tokio::sync::{broadcast, watch};

use crate::incident::IncidentId;
use crate::sync::wire::Presence;

/// Shortest gap between two presence messages on one stream; changes in between are coalesced.
pub const PRESENCE_EVERY: Duration = Duration::from_millis(250);

/// One broadcast message. Events carry their sequence numbers and their SSE frames, framed once
/// per append and shared by every stream (a refcount, not a copy, per subscriber).
#[derive(Debug, Clone)]
pub enum Msg {
    Events { incident: IncidentId, items: Arc<Vec<(i64, Bytes)>> },
}

/// One SSE message exactly as axum's `Sse` writes it (`event: …`, `id: …`, each line of `data`
/// as `data: …`, a blank line), so the wire format does not depend on who framed it.
pub fn sse_frame(event: &str, id: Option<i64>, data: &str) -> Bytes {
    let mut b = Vec::with_capacity(event.len() + data.len() + 32);
    b.extend_from_slice(b"event: ");
    b.extend_from_slice(event.as_bytes());
    b.push(b'\n');
    if let Some(id) = id {
        b.extend_from_slice(b"id: ");
        b.extend_from_slice(id.to_string().as_bytes());
        b.push(b'\n');
    }
    if !data.is_empty() {
        b.extend_from_slice(b"data: ");
        // A line break inside the data continues it on a new `data:` line (axum does the same;
        // compact JSON never has one).
        for &c in data.as_bytes() {
            b.push(c);
            if c == b'\n' || c == b'\r' {
                b.extend_from_slice(b"data: ");
            }
        }
        b.push(b'\n');
    }
    b.push(b'\n');
    Bytes::from(b)
}

/// An incident's viewers on this replica: counts per name, and the latest list (with the viewers
/// other replicas reported) as ready-made JSON.
struct Viewing {
    names: BTreeMap<String, usize>,
    json: watch::Sender<Arc<str>>,
}

/// Who is viewing each incident on the other replicas (Postgres only; see `server::presence`).
pub type Remote = HashMap<IncidentId, BTreeSet<String>>;

/// The broadcast channel and the presence table.
pub struct Hub {
    tx: broadcast::Sender<Msg>,
    presence: Mutex<Presences>,
    /// The highest sequence number published per incident (the Postgres listener reads from here).
    heads: Mutex<HashMap<IncidentId, i64>>,
    /// Woken when this replica's own viewers change, so the presence task publishes them.
    local_changed: Arc<tokio::sync::Notify>,
    /// Woken when another replica announced a presence change (the listener hears it).
    remote_changed: Arc<tokio::sync::Notify>,
    /// Database reads of each incident's head, shared by heartbeats (`read_head`); an entry lives
    /// while the incident has a viewer on this replica (every stream is one).
    head_reads: Mutex<HashMap<IncidentId, Arc<HeadRead>>>,
}

/// The heartbeats' reads of one incident's head.
#[derive(Default)]
struct HeadRead {
    /// Reads started so far; a read's number is this count just after it started.
    started: AtomicU64,
    /// The last read that finished: its number and the head it found. Held while a read runs.
    last: tokio::sync::Mutex<(u64, i64)>,
}

#[derive(Default)]
struct Presences {
    local: HashMap<IncidentId, Viewing>,
    remote: Remote,
}

impl Presences {
    fn names(&self, incident: IncidentId) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.remote.get(&incident).cloned().unwrap_or_default();
        if let Some(v) = self.local.get(&incident) {
            all.extend(v.names.keys().cloned());
        }
        all
    }
}

impl Default for Hub {
    fn default() -> Self {
        // Subscribers that fall this far behind catch up from the database instead.
        let (tx, _) = broadcast::channel(1024);
        Hub {
            tx,
            presence: Mutex::new(Presences::default()),
            heads: Mutex::new(HashMap::new()),
            local_changed: Default::default(),
            remote_changed: Default::default(),
            head_reads: Default::default(),
        }
    }
}

fn presence_json(names: &BTreeSet<String>) -> Arc<str> {
    let p = Presence { viewers: names.iter().cloned().collect() };
    serde_json::to_string(&p).unwrap_or_else(|_| "{\"viewers\":[]}".into()).into()
}

impl Hub {
    pub fn subscribe(&self) -> broadcast::Receiver<Msg> {
        self.tx.subscribe()
    }

    /// Publishes newly stored events, given as (seq, JSON); each is framed here, once, for every
    /// stream (no receivers is fine).
    pub fn publish(&self, incident: IncidentId, items: Vec<(i64, String)>) {
        if let Some(max) = items.iter().map(|(seq, _)| *seq).max() {
            self.advance(incident, max);
            let framed =
                items.iter().map(|(seq, json)| (*seq, sse_frame("event", Some(*seq), json))).collect();
            let _ = self.tx.send(Msg::Events { incident, items: Arc::new(framed) });
        }
    }

    /// The highest sequence number published (or learned) for `incident`; 0 when none.
    pub fn head(&self, incident: IncidentId) -> i64 {
        self.heads.lock().unwrap_or_else(|p| p.into_inner()).get(&incident).copied().unwrap_or(0)
    }

    /// The incident's head as the database has it now, for a heartbeat; `read` reads it.
    ///
    /// A read that started after this call began sees everything committed before the call, as a
    /// read of its own would, so such a read is shared: streams whose heartbeats come due together
    /// (a thousand streams opened within a second beat within a second) wait for one read in
    /// flight, or the next one, instead of queueing a thousand on the blocking pool and the
    /// store's reader connection (where the next append's commit waited behind them). A failed
    /// read is not shared: each waiter then reads for itself.
    pub async fn read_head<E, Fut>(&self, incident: IncidentId, read: impl FnOnce() -> Fut) -> Result<i64, E>
    where
        Fut: Future<Output = Result<i64, E>>,
    {
        let slot =
            self.head_reads.lock().unwrap_or_else(|p| p.into_inner()).entry(incident).or_default().clone();
        let asked = slot.started.load(Ordering::SeqCst);
        let mut last = slot.last.lock().await;
        if last.0 > asked {
            // Read number `last.0` started after `asked` was taken: after this call began.
            return Ok(last.1);
        }
        let n = slot.started.fetch_add(1, Ordering::SeqCst) + 1;
        let head = read().await?;
        *last = (n, head);
        Ok(head)
    }

    /// Records that everything up to `seq` is published (or predates every subscriber).
    pub fn advance(&self, incident: IncidentId, seq: i64) {
        let mut h = self.heads.lock().unwrap_or_else(|p| p.into_inner());
        let e = h.entry(incident).or_default();
        *e = (*e).max(seq);
    }

    /// Who is viewing an incident now, on this replica or (as last reported) on another, sorted.
    pub fn viewers(&self, incident: IncidentId) -> Vec<String> {
        let p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        p.names(incident).into_iter().collect()
    }

    /// Who is viewing what on this replica: (incident, name) pairs, for the presence task.
    pub fn local_viewers(&self) -> Vec<(IncidentId, String)> {
        let p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        p.local.iter().flat_map(|(i, v)| v.names.keys().map(move |n| (*i, n.clone()))).collect()
    }

    /// Replaces what the other replicas reported; streams whose list changed are told.
    pub fn set_remote(&self, remote: Remote) {
        let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let old = std::mem::replace(&mut p.remote, remote);
        let touched: Vec<IncidentId> =
            p.local.keys().filter(|i| old.get(*i) != p.remote.get(*i)).copied().collect();
        for incident in touched {
            let json = presence_json(&p.names(incident));
            if let Some(v) = p.local.get(&incident) {
                v.json.send_replace(json);
            }
        }
    }

    /// Wakes when this replica's own viewers changed (a permit is kept if nobody waits).
    pub fn local_changed(&self) -> Arc<tokio::sync::Notify> {
        self.local_changed.clone()
    }

    /// Wakes when another replica announced a presence change.
    pub fn remote_changed(&self) -> Arc<tokio::sync::Notify> {
        self.remote_changed.clone()
    }

    fn change(&self, incident: IncidentId, name: &str, delta: isize) -> Option<watch::Receiver<Arc<str>>> {
        let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        let v = p
            .local
            .entry(incident)
            .or_insert_with(|| Viewing { names: BTreeMap::new(), json: watch::Sender::new("".into()) });
        let n = v.names.entry(name.to_string()).or_default();
        let before = *n;
        *n = n.saturating_add_signed(delta);
        let after = *n;
        if after == 0 {
            v.names.remove(name);
        }
        // Only a name arriving or leaving is news to the other replicas.
        if (before == 0) != (after == 0) {
            self.local_changed.notify_one();
        }
        if v.names.is_empty() {
            p.local.remove(&incident);
            // No stream of this incident is left to beat (a read still in flight keeps its own
            // reference); the next stream starts a fresh slot.
            self.head_reads.lock().unwrap_or_else(|p| p.into_inner()).remove(&incident);
            return None;
        }
        let json = presence_json(&p.names(incident));
        let v = p.local.get(&incident).expect("the entry was just used and is not empty");
        v.json.send_replace(json);
        Some(v.json.subscribe())
    }

    /// Marks `name` as viewing `incident` until the returned guard drops. The guard's `changes`
    /// holds the incident's latest presence JSON (marked seen: send it once, then on change).
    pub fn join(self: &Arc<Self>, incident: IncidentId, name: &str) -> PresenceGuard {
        let changes =
            self.change(incident, name, 1).expect("a viewer was just added, so the incident has one");
        PresenceGuard { hub: self.clone(), incident, name: name.to_string(), changes }
    }
}

/// Leaves the presence table when dropped (stream closed, client gone, server stopping).
pub struct PresenceGuard {
    hub: Arc<Hub>,
    incident: IncidentId,
    name: String,
    /// The incident's presence JSON; `changed()` wakes when the viewer list changes.
    pub changes: watch::Receiver<Arc<str>>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.hub.change(self.incident, &self.name, -1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_counts_streams_per_name() {
        let hub = Arc::new(Hub::default());
        let inc = uuid::Uuid::now_v7();
        let mut a1 = hub.join(inc, "ana");
        let a2 = hub.join(inc, "ana");
        let b = hub.join(inc, "bo");
        assert_eq!(hub.viewers(inc), vec!["ana", "bo"]);
        // Three changes since a1 joined coalesce into one: the latest list.
        assert!(a1.changes.has_changed().unwrap());
        assert_eq!(&**a1.changes.borrow_and_update(), r#"{"viewers":["ana","bo"]}"#);
        drop(a1);
        assert_eq!(hub.viewers(inc), vec!["ana", "bo"]);
        drop(a2);
        drop(b);
        assert!(hub.viewers(inc).is_empty());
    }

    /// Heartbeats asking while a head read runs share the next read (which starts after they
    /// asked), never one that started before them; a caller alone reads for itself each time.
    #[test]
    fn head_reads_are_shared_only_when_they_started_after_the_ask() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let hub = Hub::default();
            let inc = uuid::Uuid::now_v7();
            let reads = std::sync::atomic::AtomicI64::new(0);
            let read = || async {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<i64, ()>(n * 10)
            };
            // One caller at a time: every call reads.
            assert_eq!(hub.read_head(inc, read).await, Ok(10));
            assert_eq!(hub.read_head(inc, read).await, Ok(20));
            // The first of many starts a read; the rest asked after it started, so they cannot use
            // it: they share the one read that starts next.
            let all = futures_util::future::join_all((0..50).map(|_| hub.read_head(inc, read))).await;
            assert_eq!(all[0], Ok(30));
            assert!(all[1..].iter().all(|h| *h == Ok(40)), "{all:?}");
            assert_eq!(reads.load(Ordering::SeqCst), 4);
            // A failed read is not handed to anyone else.
            let failing = || async { Err::<i64, &str>("disk") };
            assert_eq!(hub.read_head(inc, failing).await, Err("disk"));
            assert_eq!(hub.read_head(inc, read).await, Ok(50));
        });
    }

    /// The head-read slot of an incident goes with its last viewer, so a long-running server
    /// keeps none for incidents nobody streams any more.
    #[test]
    fn an_incidents_head_read_slot_goes_with_its_last_viewer() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let hub = Arc::new(Hub::default());
            let inc = uuid::Uuid::now_v7();
            let slots = || hub.head_reads.lock().unwrap().len();
            let (a, b) = (hub.join(inc, "ana"), hub.join(inc, "bo"));
            assert_eq!(hub.read_head(inc, || async { Ok::<i64, ()>(7) }).await, Ok(7));
            assert_eq!(slots(), 1);
            drop(a);
            assert_eq!(slots(), 1, "bo still streams");
            drop(b);
            assert_eq!(slots(), 0);
            let _c = hub.join(inc, "cy");
            assert_eq!(hub.read_head(inc, || async { Ok::<i64, ()>(9) }).await, Ok(9));
        });
    }

    /// Byte for byte what axum's `Sse` wrote for the same message before streams framed their
    /// own (the client's parser and any EventSource read this).
    #[test]
    fn frames_match_axum_sse() {
        use axum::response::sse::Event as SseEvent;
        use axum::response::{IntoResponse, Sse};
        let cases: Vec<(&str, Option<i64>, &str)> = vec![
            ("event", Some(42), r#"{"id":"x","text":"a\nb"}"#),
            ("presence", None, r#"{"viewers":["ana","bo"]}"#),
            ("heartbeat", None, r#"{"head":7,"every_ms":5000}"#),
            ("event", Some(1), "two\nlines\rand\r\nmore"),
        ];
        for (event, id, data) in cases {
            let mut e = SseEvent::default().event(event);
            if let Some(id) = id {
                e = e.id(id.to_string());
            }
            let e = e.data(data);
            let body = Sse::new(futures_util::stream::iter([Ok::<_, std::convert::Infallible>(e)]))
                .into_response()
                .into_body();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let want = rt.block_on(axum::body::to_bytes(body, usize::MAX)).unwrap();
            assert_eq!(sse_frame(event, id, data), want, "{event} {id:?} {data:?}");
        }
    }
}
