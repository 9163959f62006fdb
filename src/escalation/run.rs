//! The escalation engine's IO edge: read an incident's events, ask [`super::plan`] what is due,
//! claim each due page through an idempotent append, send it through every configured channel and
//! record one `paged` event per channel.
//!
//! Order: claim, then send, then record. An executor that dies after its claim and before its
//! outcome leaves a claim with no `paged` event; [`super::plan::STALE_CLAIM`] later another
//! executor claims the next attempt and sends again with the same dedup key (PagerDuty folds it
//! into the alert if the first send got through). So a page is sent at least once, and more than
//! once only after a crash inside that window, and then under one dedup key.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};

use super::plan::{Due, Plan, claim_event, plan};
use crate::incident::event::TEAM_STREAM;
use crate::incident::{Event, EventKind, IncidentId, IncidentState, fold};
use crate::notify::{Notifier, Page, paged_kind};
use crate::server::EventStore;
use crate::server::hub::Hub;
use crate::store::Store;
use crate::sync::client::Client;
use crate::team::{Target, Team};

/// Where an executor reads events and claims pages. Executors run on a current-thread runtime of
/// their own, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Ledger {
    /// The stream's events as this executor knows them.
    async fn events(&self, incident: IncidentId) -> Result<Vec<Event>, String>;
    /// Appends a claim. `Ok(true)`: this append stored it, so this executor sends the page;
    /// `Ok(false)`: another executor's claim with the same id was there first.
    async fn claim(&self, ev: &Event, due: &Due, now: DateTime<Utc>) -> Result<bool, String>;
    /// Appends an outcome.
    async fn record(&self, ev: &Event) -> Result<(), String>;
}

/// What one pass over an incident did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub plan: Plan,
    /// Pages this executor claimed and sent, as (level, cycle).
    pub sent: Vec<(u32, u32)>,
}

/// One pass over `incident`: claims and sends what is due at `now`.
pub async fn tick<L: Ledger>(
    ledger: &L,
    team: &Team,
    notifier: Option<&Notifier>,
    author: &str,
    incident: IncidentId,
    now: DateTime<Utc>,
) -> Result<Tick, String> {
    let events = ledger.events(incident).await?;
    let team = with_taken_pagers(team, &ledger.events(TEAM_STREAM).await.unwrap_or_default());
    let p = plan(&team, &events, now);
    let mut out = Tick { plan: p.clone(), sent: Vec::new() };
    if p.due.is_empty() {
        return Ok(out);
    }
    let Ok(state) = fold(&events) else { return Ok(out) };
    for due in &p.due {
        let claim = claim_event(incident, due, now, author);
        if !ledger.claim(&claim, due, now).await? {
            continue;
        }
        for kind in send(notifier, &team, &state, due, author).await {
            ledger.record(&Event::new(incident, Utc::now(), author, kind)).await?;
        }
        out.sent.push((due.level, due.cycle));
    }
    Ok(out)
}

/// The team with every pager taken in the team stream applied (see [`Team::with_taken`]).
pub fn with_taken_pagers(team: &Team, team_events: &[Event]) -> Team {
    let mut t = team.clone();
    let mut sorted: Vec<&Event> = team_events.iter().collect();
    sorted.sort_by_key(|e| e.order_key());
    for ev in sorted {
        if let EventKind::OncallTaken { rotation, person, from, until, reason } = &ev.kind {
            t.take_pager(rotation, person, *from, *until, reason.clone());
        }
    }
    t
}

/// Sends `due` through every channel; one `paged` event per channel, or one saying why nothing
/// was sent (never a silent "not paged").
async fn send(
    notifier: Option<&Notifier>,
    team: &Team,
    state: &IncidentState,
    due: &Due,
    author: &str,
) -> Vec<EventKind> {
    let target = match &due.target {
        Target::Person(id) | Target::Rotation(id) => id.clone(),
    };
    let not_paged = |person: &str, why: String| EventKind::Paged {
        person: person.to_string(),
        method: "none".into(),
        level: Some(due.level),
        ok: false,
        outcome: format!("not paged: {why}"),
        dedup_key: Some(due.dedup_key.clone()),
        cycle: Some(due.cycle),
    };
    let Some(person) = due.person.as_deref().and_then(|p| team.person(p)) else {
        let why = format!("level {} target `{target}` reaches nobody in the team file", due.level);
        return vec![not_paged(&target, why)];
    };
    let Some(notifier) = notifier else {
        return vec![not_paged(&person.id, "the HTTP client did not start".into())];
    };
    let channels = notifier.channels();
    if channels.is_empty() {
        let why = "no paging channel configured: set [paging] pagerduty_routing_key or [paging] webhook_url";
        return vec![not_paged(&person.id, why.into())];
    }
    let mut page = Page::new(state, person, Some(due.level), None, author);
    page.dedup_key = due.dedup_key.clone();
    page.cycle = Some(due.cycle);
    let mut out = Vec::new();
    for channel in channels {
        let result = notifier.page(channel, &page).await;
        out.push(paged_kind(&page, channel, &result));
    }
    out
}

// ---- the server's executor: appends straight into the server store ----

/// The server's own store: a claim is new when the store says so; appends reach SSE followers.
pub struct ServerLedger {
    pub store: Arc<dyn EventStore>,
    pub hub: Arc<Hub>,
}

impl ServerLedger {
    async fn append(&self, ev: &Event) -> Result<bool, String> {
        let a =
            self.store.append(ev.incident, Arc::new(vec![ev.clone()])).await.map_err(|e| e.to_string())?;
        let new = a.first().is_some_and(|a| a.new);
        if new {
            let body = serde_json::to_string(ev).map_err(|e| e.to_string())?;
            self.hub.publish(ev.incident, vec![(a[0].seq, body)]);
        }
        Ok(new)
    }
}

impl Ledger for ServerLedger {
    async fn events(&self, incident: IncidentId) -> Result<Vec<Event>, String> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .after(incident, after, crate::sync::wire::MAX_PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            out.extend(page.into_iter().map(|s| s.event));
        }
        Ok(out)
    }
    async fn claim(&self, ev: &Event, _: &Due, _: DateTime<Utc>) -> Result<bool, String> {
        self.append(ev).await
    }
    async fn record(&self, ev: &Event) -> Result<(), String> {
        self.append(ev).await.map(|_| ())
    }
}

/// Runs the engine inside `warroom serve` for every open incident, on a thread of its own, until
/// `stop` flips.
pub fn spawn_server_engine(
    store: Arc<dyn EventStore>,
    hub: Arc<Hub>,
    team: Team,
    notifier: Option<Notifier>,
    author: String,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("warroom-escalation".into()).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            eprintln!("warroom serve: escalation engine off: cannot start its async runtime");
            return;
        };
        let ledger = ServerLedger { store, hub };
        rt.block_on(async {
            while !stop.load(Ordering::Relaxed) {
                let incidents = ledger.store.incidents().await.unwrap_or_default();
                for incident in incidents.into_iter().filter(|i| *i != TEAM_STREAM) {
                    if let Err(e) =
                        tick(&ledger, &team, notifier.as_ref(), &author, incident, Utc::now()).await
                    {
                        eprintln!("warroom serve: escalation of {incident}: {e}");
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        });
    })
}

/// How often an executor looks at its incidents. Ladder waits are minutes; a fraction of a second
/// late is nothing, and a due page is sent on the next pass.
pub const POLL: StdDuration = StdDuration::from_millis(250);

/// How long past its due time a page may wait for an unreachable server before a cockpit or
/// `warroom escalate` claims it locally (PagerDuty's dedup key folds a page the server also sent).
pub const OFFLINE_FALLBACK: chrono::Duration = chrono::Duration::seconds(60);

// ---- a cockpit's or `warroom escalate`'s executor: the local store, and the server if any ----

/// The local store, with the server deciding claims when one is configured.
pub struct LocalLedger {
    pub store: Store,
    pub client: Option<Client>,
}

impl Ledger for LocalLedger {
    async fn events(&self, incident: IncidentId) -> Result<Vec<Event>, String> {
        // Others' claims must be seen before deciding; a failed pull is not fatal (the claim
        // through the server decides anyway). The team stream is pulled once per pass instead.
        if let Some(c) = &self.client
            && incident != TEAM_STREAM
        {
            let _ = crate::sync::engine::pull(&self.store, c, incident).await;
        }
        self.store.events(incident).map_err(|e| e.to_string())
    }

    async fn claim(&self, ev: &Event, due: &Due, now: DateTime<Utc>) -> Result<bool, String> {
        let Some(client) = &self.client else {
            return self.store.append(ev).map_err(|e| e.to_string());
        };
        match client.push(ev.incident, std::slice::from_ref(ev)).await {
            Ok(acks) => {
                let new = acks.first().and_then(|a| a.new) == Some(true);
                if new {
                    let seq = acks[0].seq;
                    self.store
                        .append_all(std::slice::from_ref(ev), Some(&[seq]))
                        .map_err(|e| e.to_string())?;
                }
                Ok(new)
            }
            // The server is the arbiter; while it cannot be reached, give it (or whoever reaches
            // it) time, then page from here rather than not at all.
            Err(_) if due.due_at + OFFLINE_FALLBACK <= now => {
                self.store.append(ev).map_err(|e| e.to_string())
            }
            Err(_) => Ok(false),
        }
    }

    async fn record(&self, ev: &Event) -> Result<(), String> {
        self.store.append(ev).map_err(|e| e.to_string())?;
        if let Some(c) = &self.client {
            // Best effort: the outbox keeps it until a sync pushes it.
            let _ = crate::sync::engine::push_outbox(&self.store, c).await;
        }
        Ok(())
    }
}

/// What a local executor needs.
pub struct LocalOptions {
    pub data_dir: PathBuf,
    pub team: Team,
    pub notifier: Option<Notifier>,
    pub author: String,
    /// The server and token, when one is configured.
    pub server: Option<(String, Option<String>)>,
    pub stop: Arc<AtomicBool>,
    /// Only this incident (a cockpit's); `None`: every open incident in the store.
    pub only: Option<IncidentId>,
}

/// Runs a local executor until `stop` flips; errors go to `report` (a cockpit shows them).
pub async fn run_local(opts: LocalOptions, report: impl Fn(String)) {
    let store = match Store::open(&opts.data_dir) {
        Ok(s) => s,
        Err(e) => return report(format!("escalation engine off: {e}")),
    };
    let client = match &opts.server {
        Some((url, token)) => {
            match Client::new(url, token.clone(), StdDuration::from_secs(5), &opts.author) {
                Ok(c) => Some(c),
                Err(e) => return report(format!("escalation engine off: {e}")),
            }
        }
        None => None,
    };
    let ledger = LocalLedger { store, client };
    while !opts.stop.load(Ordering::Relaxed) {
        if let Some(c) = &ledger.client {
            let _ = crate::sync::engine::pull(&ledger.store, c, TEAM_STREAM).await;
        }
        let incidents: Vec<IncidentId> = match opts.only {
            Some(i) => vec![i],
            None => match ledger.store.incidents() {
                Ok(list) => list.into_iter().filter(|s| s.is_open()).map(|s| s.id).collect(),
                Err(e) => {
                    report(format!("escalation: {e}"));
                    Vec::new()
                }
            },
        };
        for incident in incidents {
            let r =
                tick(&ledger, &opts.team, opts.notifier.as_ref(), &opts.author, incident, Utc::now()).await;
            if let Err(e) = r {
                report(format!("escalation of {incident}: {e}"));
            }
        }
        tokio::time::sleep(POLL).await;
    }
}
