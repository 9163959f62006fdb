//! Live fan-out: newly appended events and presence changes go to every open stream, and the
//! presence table (who has a stream open on which incident) lives here, never in the event log.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::incident::IncidentId;

/// One broadcast message. Events carry their sequence numbers and ready-made JSON.
#[derive(Debug, Clone)]
pub enum Msg {
    Events { incident: IncidentId, items: Arc<Vec<(i64, String)>> },
    Presence { incident: IncidentId, viewers: Arc<Vec<String>> },
}

/// The broadcast channel and the presence table.
pub struct Hub {
    tx: broadcast::Sender<Msg>,
    presence: Mutex<HashMap<IncidentId, BTreeMap<String, usize>>>,
    /// The highest sequence number published per incident (the Postgres listener reads from here).
    heads: Mutex<HashMap<IncidentId, i64>>,
}

impl Default for Hub {
    fn default() -> Self {
        // Subscribers that fall this far behind catch up from the database instead.
        let (tx, _) = broadcast::channel(1024);
        Hub { tx, presence: Mutex::new(HashMap::new()), heads: Mutex::new(HashMap::new()) }
    }
}

impl Hub {
    pub fn subscribe(&self) -> broadcast::Receiver<Msg> {
        self.tx.subscribe()
    }

    /// Publishes newly stored events (no receivers is fine).
    pub fn publish(&self, incident: IncidentId, items: Vec<(i64, String)>) {
        if let Some(max) = items.iter().map(|(seq, _)| *seq).max() {
            self.advance(incident, max);
            let _ = self.tx.send(Msg::Events { incident, items: Arc::new(items) });
        }
    }

    /// The highest sequence number published (or learned) for `incident`; 0 when none.
    pub fn head(&self, incident: IncidentId) -> i64 {
        self.heads.lock().unwrap_or_else(|p| p.into_inner()).get(&incident).copied().unwrap_or(0)
    }

    /// Records that everything up to `seq` is published (or predates every subscriber).
    pub fn advance(&self, incident: IncidentId, seq: i64) {
        let mut h = self.heads.lock().unwrap_or_else(|p| p.into_inner());
        let e = h.entry(incident).or_default();
        *e = (*e).max(seq);
    }

    /// Who is viewing an incident now, sorted.
    pub fn viewers(&self, incident: IncidentId) -> Vec<String> {
        let p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        p.get(&incident).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    fn change(&self, incident: IncidentId, name: &str, delta: isize) {
        let viewers = {
            let mut p = self.presence.lock().unwrap_or_else(|p| p.into_inner());
            let m = p.entry(incident).or_default();
            let n = m.entry(name.to_string()).or_default();
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                m.remove(name);
            }
            let v: Vec<String> = m.keys().cloned().collect();
            if m.is_empty() {
                p.remove(&incident);
            }
            v
        };
        let _ = self.tx.send(Msg::Presence { incident, viewers: Arc::new(viewers) });
    }

    /// Marks `name` as viewing `incident` until the returned guard drops.
    pub fn join(self: &Arc<Self>, incident: IncidentId, name: &str) -> PresenceGuard {
        self.change(incident, name, 1);
        PresenceGuard { hub: self.clone(), incident, name: name.to_string() }
    }
}

/// Leaves the presence table when dropped (stream closed, client gone, server stopping).
pub struct PresenceGuard {
    hub: Arc<Hub>,
    incident: IncidentId,
    name: String,
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
        let a1 = hub.join(inc, "ana");
        let a2 = hub.join(inc, "ana");
        let b = hub.join(inc, "bo");
        assert_eq!(hub.viewers(inc), vec!["ana", "bo"]);
        drop(a1);
        assert_eq!(hub.viewers(inc), vec!["ana", "bo"]);
        drop(a2);
        drop(b);
        assert!(hub.viewers(inc).is_empty());
    }
}
