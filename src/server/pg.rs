//! The Postgres event store, for several server replicas sharing one database.
//!
//! Appends take a transaction-scoped advisory lock on the incident, so sequence numbers are
//! assigned and committed in order per incident, and each committed batch sends one
//! `NOTIFY warroom_events, '<incident> <head seq>'`. Every replica runs a [`listener`] on a
//! dedicated connection that reads what it has not seen from the table and feeds its own hub.
//! Notifications are hints: after a reconnect the listener resyncs every incident from the table,
//! and a subscriber that sees a gap reads it from the database.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, watch};
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

use super::hub::Hub;
use super::metrics::Metrics;
use super::store::{Appended, EventStore, ServerStoreError, StoreFuture, same_event};
use crate::incident::{Event, IncidentId};
use crate::sync::wire::{self, Sequenced};

/// The channel every replica listens on.
pub const CHANNEL: &str = "warroom_events";

/// Schema migrations, applied in order under a session advisory lock so replicas starting
/// together do not race; `warroom_schema` records the applied version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE events (
        incident uuid   NOT NULL,
        seq      bigint NOT NULL,
        id       uuid   NOT NULL UNIQUE,
        author   text   NOT NULL,
        kind     text   NOT NULL,
        body     text   NOT NULL,
        PRIMARY KEY (incident, seq)
    )",
    // Presence across replicas (see `server::presence`): live state, so UNLOGGED (no WAL; emptied
    // after a Postgres crash, and every replica writes its rows again on its next beat).
    "CREATE UNLOGGED TABLE warroom_replicas (
        id      uuid        PRIMARY KEY,
        name    text        NOT NULL,
        expires timestamptz NOT NULL
    );
    CREATE UNLOGGED TABLE warroom_presence (
        replica  uuid NOT NULL REFERENCES warroom_replicas (id) ON DELETE CASCADE,
        incident uuid NOT NULL,
        name     text NOT NULL,
        PRIMARY KEY (replica, incident, name)
    )",
    // The store identity (`EventStore::store_id`), one row made by the first replica to start.
    "CREATE TABLE warroom_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )",
];

/// The advisory lock key for migrations (an arbitrary constant: "warroom" in ASCII).
const MIGRATION_LOCK: i64 = 0x0077_6172_726f_6f6d;

/// True when `db` names a Postgres database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL with any password (user info or `password=` parameter) replaced, for messages.
pub fn redact(url: &str) -> String {
    let url = &redact_param(url);
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn redact_param(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else { return url.to_string() };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k == "password" => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}?{}", parts.join("&"))
}

/// Postgres server store over a connection pool.
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    shown: String,
    store_id: String,
}

fn lock_key(incident: IncidentId) -> i64 {
    let v = incident.as_u128();
    ((v >> 64) as u64 ^ v as u64) as i64
}

impl PgStore {
    /// Connects, checks the server answers, and creates or migrates the schema.
    pub async fn connect(url: &str) -> Result<PgStore, ServerStoreError> {
        let shown = redact(url);
        let err = |what: &'static str, message: String| ServerStoreError::Postgres {
            db: shown.clone(),
            what,
            message,
        };
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| err("bad url", e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("warroom");
        }
        // A dead peer (machine gone, network cut) is noticed by TCP keepalives, not after hours.
        config.keepalives_idle(Duration::from_secs(10));
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| err("pool", e.to_string()))?;
        let mut store = PgStore { pool, config, shown, store_id: String::new() };
        store.migrate().await?;
        store.store_id = store.identity().await?;
        Ok(store)
    }

    pub(super) fn err(&self, what: &'static str) -> impl Fn(tokio_postgres::Error) -> ServerStoreError + '_ {
        move |e| {
            let (db, message) = (self.shown.clone(), pg_message(&e));
            if unavailable(&e) {
                ServerStoreError::Unavailable { db, what, message }
            } else {
                ServerStoreError::Postgres { db, what, message }
            }
        }
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, ServerStoreError> {
        self.pool.get().await.map_err(|e| ServerStoreError::Unavailable {
            db: self.shown.clone(),
            what: "connect",
            message: e.to_string(),
        })
    }

    async fn migrate(&self) -> Result<(), ServerStoreError> {
        let mut c = self.client().await?;
        let e = self.err("migrate");
        c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(&e)?;
        let result = async {
            c.batch_execute("CREATE TABLE IF NOT EXISTS warroom_schema (version integer NOT NULL)")
                .await
                .map_err(&e)?;
            let tx = c.transaction().await.map_err(&e)?;
            let version: i32 =
                match tx.query_opt("SELECT version FROM warroom_schema", &[]).await.map_err(&e)? {
                    Some(row) => row.get(0),
                    None => {
                        tx.execute("INSERT INTO warroom_schema (version) VALUES (0)", &[])
                            .await
                            .map_err(&e)?;
                        0
                    }
                };
            if version as usize > MIGRATIONS.len() {
                return Err(ServerStoreError::Postgres {
                    db: self.shown.clone(),
                    what: "migrate",
                    message: format!(
                        "schema version {version} is newer than this warroom knows ({}): upgrade warroom",
                        MIGRATIONS.len()
                    ),
                });
            }
            for m in &MIGRATIONS[version as usize..] {
                tx.batch_execute(m).await.map_err(&e)?;
            }
            tx.execute("UPDATE warroom_schema SET version = $1", &[&(MIGRATIONS.len() as i32)])
                .await
                .map_err(&e)?;
            tx.commit().await.map_err(&e)
        }
        .await;
        let unlock = c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(&e);
        result.and(unlock.map(|_| ()))
    }

    /// The database's identity, made by whichever replica asks first (the others find it).
    async fn identity(&self) -> Result<String, ServerStoreError> {
        let c = self.client().await?;
        let e = self.err("store id");
        let key = super::store::STORE_ID_KEY;
        c.execute(
            "INSERT INTO warroom_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &Uuid::now_v7().to_string()],
        )
        .await
        .map_err(&e)?;
        let row = c.query_one("SELECT value FROM warroom_meta WHERE key = $1", &[&key]).await.map_err(&e)?;
        Ok(row.get(0))
    }

    /// One attempt at an append. With `look_up` false it assumes every id is new (the common
    /// case) and skips reading the batch's ids back, which cost about as much as the insert
    /// (500 ids: 1.6–3.3 ms against 1.5–3.5 ms, psql on the bench's cluster); when the insert
    /// then finds an id already stored, it rolls back and answers None: try again looking up.
    async fn append_once(
        &self,
        incident: IncidentId,
        events: &[Event],
        json: &[String],
        look_up: bool,
    ) -> Result<Option<Vec<Appended>>, ServerStoreError> {
        let mut c = self.client().await?;
        let e = self.err("append");
        let tx = c.transaction().await.map_err(&e)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(incident)]).await.map_err(&e)?;
        let mut existing: HashMap<Uuid, (Uuid, i64, String)> = HashMap::new();
        if look_up {
            let ids: Vec<Uuid> = events.iter().map(|ev| ev.id).collect();
            let find = tx
                .prepare_cached("SELECT id, incident, seq, body FROM events WHERE id = ANY($1)")
                .await
                .map_err(&e)?;
            for row in tx.query(&find, &[&ids]).await.map_err(&e)? {
                existing.insert(row.get(0), (row.get(1), row.get(2), row.get(3)));
            }
        }
        let head = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE incident = $1")
            .await
            .map_err(&e)?;
        let mut next: i64 = tx.query_one(&head, &[&incident]).await.map_err(&e)?.get(0);
        let mut out: Vec<Appended> = Vec::with_capacity(events.len());
        let (mut seqs, mut new_ids, mut authors, mut kinds, mut bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::<&str>::new());
        for (ev, body) in events.iter().zip(json) {
            // Exactly as the SQLite store: a stored id with the same body is an idempotent retry,
            // with another body a conflict that fails the batch (the transaction rolls back).
            if let Some((inc, seq, body)) = existing.get(&ev.id) {
                if *inc != incident {
                    return Err(ServerStoreError::WrongIncident {
                        id: ev.id,
                        existing: inc.to_string(),
                        incident,
                    });
                }
                if !same_event(body, ev) {
                    return Err(ServerStoreError::Conflict { id: ev.id });
                }
                out.push(Appended { id: ev.id, seq: *seq, new: false });
                continue;
            }
            // The same id twice in one batch: the first occurrence is stored, and the second must
            // be the same event.
            if let Some(i) = new_ids.iter().position(|id| *id == ev.id) {
                if !same_event(bodies[i], ev) {
                    return Err(ServerStoreError::Conflict { id: ev.id });
                }
                out.push(Appended { id: ev.id, seq: seqs[i], new: false });
                continue;
            }
            next += 1;
            seqs.push(next);
            new_ids.push(ev.id);
            authors.push(ev.author.as_str());
            kinds.push(ev.kind.name());
            bodies.push(body.as_str());
            out.push(Appended { id: ev.id, seq: next, new: true });
        }
        if !seqs.is_empty() {
            // An id already stored inserts nothing (no error, so nothing in the server's log):
            // fewer rows than events means this attempt guessed wrong, or another incident's
            // batch stored the id since the look-up.
            let ins = tx
                .prepare_cached(
                    "INSERT INTO events (incident, seq, id, author, kind, body)
                     SELECT $1, * FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[])
                     ON CONFLICT (id) DO NOTHING",
                )
                .await
                .map_err(&e)?;
            let n = tx
                .execute(&ins, &[&incident, &seqs, &new_ids, &authors, &kinds, &bodies])
                .await
                .map_err(&e)?;
            if n != seqs.len() as u64 {
                tx.rollback().await.map_err(&e)?;
                return Ok(None);
            }
            // Delivered on commit, to every replica's listener (this one's too).
            let payload = format!("{incident} {next}");
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await.map_err(&e)?;
        }
        tx.commit().await.map_err(&e)?;
        Ok(Some(out))
    }

    /// Every incident's head sequence number.
    pub async fn heads(&self) -> Result<Vec<(IncidentId, i64)>, ServerStoreError> {
        let c = self.client().await?;
        let rows = c
            .query("SELECT incident, MAX(seq) FROM events GROUP BY incident", &[])
            .await
            .map_err(self.err("heads"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Rows after `after` as (seq, JSON body), ready for the hub.
    async fn after_raw(
        &self,
        incident: IncidentId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, ServerStoreError> {
        let c = self.client().await?;
        let e = self.err("read");
        let stmt = c
            .prepare_cached(
                "SELECT seq, body FROM events WHERE incident = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await
            .map_err(&e)?;
        let rows = c.query(&stmt, &[&incident, &after, &(limit as i64)]).await.map_err(&e)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Whether `e` means the database is out of reach rather than refusing this statement: no
/// answer at all (connection refused, lost or timed out), or SQLSTATE class 08 (connection
/// exception), 53 (insufficient resources) or 57 (operator intervention, e.g. shutting down).
fn unavailable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        Some(code) => ["08", "53", "57"].iter().any(|class| code.code().starts_with(class)),
        None => e.is_closed() || e.as_db_error().is_none(),
    }
}

/// The server's own words (with its SQLSTATE) rather than tokio-postgres's "db error".
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl EventStore for PgStore {
    fn append_encoded(
        &self,
        incident: IncidentId,
        events: Arc<Vec<Event>>,
        bodies: Arc<Vec<String>>,
    ) -> StoreFuture<'_, Vec<Appended>> {
        Box::pin(async move {
            // First as if every id were new; an id found stored means looking the batch up.
            // Two batches racing to insert the same new id into different incidents hold
            // different locks: one commits, the other's insert finds the id. Looking up again
            // then answers like SQLite would (idempotent, or WrongIncident).
            let mut look_up = false;
            let mut tries = 0;
            loop {
                match self.append_once(incident, &events, &bodies, look_up).await {
                    Ok(Some(out)) => return Ok(out),
                    Ok(None) if tries < 3 => {}
                    Err(ServerStoreError::Postgres { message, .. })
                        if tries < 3 && message.contains(SqlState::UNIQUE_VIOLATION.code()) => {}
                    Ok(None) => {
                        return Err(ServerStoreError::Postgres {
                            db: self.shown.clone(),
                            what: "append",
                            message: "the batch's ids kept changing under it; try again".into(),
                        });
                    }
                    Err(e) => return Err(e),
                }
                if look_up {
                    tries += 1;
                }
                look_up = true;
            }
        })
    }

    fn after(&self, incident: IncidentId, after: i64, limit: usize) -> StoreFuture<'_, Vec<Sequenced>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for (seq, body) in self.after_raw(incident, after, limit).await? {
                let event = serde_json::from_str(&body).map_err(|source| ServerStoreError::BadEvent {
                    path: self.shown.clone().into(),
                    id: format!("{incident}#{seq}"),
                    source,
                })?;
                out.push(Sequenced { seq, event });
            }
            Ok(out)
        })
    }

    fn last_seq(&self, incident: IncidentId) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let c = self.client().await?;
            let row = c
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM events WHERE incident = $1", &[&incident])
                .await
                .map_err(self.err("read"))?;
            Ok(row.get(0))
        })
    }

    fn incidents(&self) -> StoreFuture<'_, Vec<IncidentId>> {
        Box::pin(async move {
            let c = self.client().await?;
            let rows =
                c.query("SELECT DISTINCT incident FROM events", &[]).await.map_err(self.err("read"))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn count(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let c = self.client().await?;
            let row = c.query_one("SELECT COUNT(*) FROM events", &[]).await.map_err(self.err("read"))?;
            Ok(row.get(0))
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let c = self.client().await?;
            c.execute("SELECT 1", &[]).await.map_err(self.err("ping"))?;
            Ok(())
        })
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
    fn store_id(&self) -> &str {
        &self.store_id
    }
}

/// Runs until shutdown: LISTENs on a dedicated connection (reconnecting with a short backoff),
/// and on every notification, and after every (re)connect, reads the events this replica's hub
/// has not published yet and publishes them. `ready` flips to true after the first resync.
pub async fn listener(
    store: Arc<PgStore>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match listen_once(&store, &hub, &metrics, &mut shutdown, &ready).await {
            Ok(()) => return,
            Err(e) => {
                metrics.cluster.listener_connected.store(false, Ordering::Relaxed);
                metrics.cluster.set_listener_error(e.to_string());
                if *ready.borrow() {
                    eprintln!("warroom serve: listener: {e}; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn listen_once(
    store: &PgStore,
    hub: &Hub,
    metrics: &Metrics,
    shutdown: &mut watch::Receiver<bool>,
    ready: &watch::Sender<bool>,
) -> Result<(), ServerStoreError> {
    let e = store.err("listen");
    let (client, mut connection) = store.config.connect(NoTls).await.map_err(&e)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let presence = hub.remote_changed();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == super::presence::CHANNEL => {
                    presence.notify_one();
                }
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                // The connection is gone: dropping `tx` tells the loop below.
                Some(Err(_)) | None => return,
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {}", super::presence::CHANNEL))
            .await
            .map_err(&e)?;
        // Presence changes announced while we were not listening: read them again too.
        hub.remote_changed().notify_one();
        metrics.cluster.listener_connects.fetch_add(1, Ordering::Relaxed);
        // Anything committed while we were not listening: resync every incident from the table.
        // The very first time, there is nothing to publish to (the server is not serving yet):
        // just learn the heads.
        let first = !*ready.borrow();
        for (incident, head) in store.heads().await? {
            if first {
                hub.advance(incident, head);
            } else {
                feed(store, hub, metrics, incident, head).await?;
            }
        }
        metrics.cluster.listener_connected.store(true, Ordering::Relaxed);
        let _ = ready.send(true);
        loop {
            let first = tokio::select! {
                p = rx.recv() => p,
                _ = shutdown.wait_for(|s| *s) => return Ok(true),
            };
            let Some(first) = first else {
                return Err(ServerStoreError::Postgres {
                    db: store.shown.clone(),
                    what: "listen",
                    message: "connection lost".into(),
                });
            };
            // Coalesce a burst into one read per incident.
            let mut want: HashMap<IncidentId, i64> = HashMap::new();
            let mut note = |p: &str| {
                metrics.cluster.notifications.fetch_add(1, Ordering::Relaxed);
                if let Some((i, h)) = p.split_once(' ')
                    && let (Ok(i), Ok(h)) = (Uuid::parse_str(i), h.parse::<i64>())
                {
                    let w = want.entry(i).or_default();
                    *w = (*w).max(h);
                }
            };
            note(&first);
            while let Ok(p) = rx.try_recv() {
                note(&p);
            }
            for (incident, head) in want {
                feed(store, hub, metrics, incident, head).await?;
            }
        }
    }
    .await;
    driver.abort();
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Publishes everything between the hub's head for `incident` and `head`.
async fn feed(
    store: &PgStore,
    hub: &Hub,
    metrics: &Metrics,
    incident: IncidentId,
    head: i64,
) -> Result<(), ServerStoreError> {
    loop {
        let from = hub.head(incident);
        if from >= head {
            return Ok(());
        }
        let page = store.after_raw(incident, from, wire::MAX_PAGE).await?;
        if page.is_empty() {
            return Ok(());
        }
        metrics.cluster.listener_events.fetch_add(page.len() as u64, Ordering::Relaxed);
        hub.publish(incident, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_passwords_redacted() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql:///db?host=/tmp"));
        assert!(!is_postgres_url("/var/lib/warroom/server.db"));
        assert_eq!(redact("postgres://ana:s3cret@db:5432/w"), "postgres://ana:***@db:5432/w");
        assert_eq!(redact("postgres://ana@db/w"), "postgres://ana@db/w");
        assert_eq!(redact("postgresql:///w?host=/run/pg"), "postgresql:///w?host=/run/pg");
        assert_eq!(
            redact("postgresql:///w?user=a&password=s3cret&host=h"),
            "postgresql:///w?user=a&password=***&host=h"
        );
    }
}
