//! The server's event store: every incident's events with a per-incident monotonic sequence.
//! SQLite (WAL, synchronous=FULL) is the embedded default; other backends implement `EventStore`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::incident::{Event, IncidentId};
use crate::sync::wire::Sequenced;

/// A server store failure; messages name the database file or the Postgres server.
#[derive(Debug, thiserror::Error)]
pub enum ServerStoreError {
    #[error("server db {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("server db {path}: {source}")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error("server db {path}: event {id} is unreadable: {source}")]
    BadEvent { path: PathBuf, id: String, source: serde_json::Error },
    #[error("event {id} already exists in incident {existing}, not {incident}")]
    WrongIncident { id: Uuid, existing: String, incident: IncidentId },
    /// A Postgres failure; `db` names the server without the password.
    #[error("postgres {db}: {what}: {message}")]
    Postgres { db: String, what: &'static str, message: String },
    /// The database cannot be reached or is not taking work (connection refused or lost, timed
    /// out, shutting down): another replica may do better, so the API answers 503.
    #[error("postgres {db}: {what}: {message}")]
    Unavailable { db: String, what: &'static str, message: String },
    #[error("server db task failed: {0}")]
    Task(String),
    #[error("event {id} is already stored with a different body")]
    Conflict { id: Uuid },
}

/// Whether a re-sent event is the one already stored under its id: equal canonical JSON, i.e.
/// both read as an `Event` and compared as JSON values (key order and whitespace do not matter;
/// every field the protocol knows does). `stored` is the JSON body the store holds.
pub fn same_event(stored: &str, ev: &Event) -> bool {
    let canonical = |e: &Event| serde_json::to_value(e).ok();
    match serde_json::from_str::<Event>(stored) {
        Ok(old) => canonical(&old).is_some() && canonical(&old) == canonical(ev),
        Err(_) => false,
    }
}

/// Each event's JSON, the body a store writes (`db` names the database in an error).
fn encode(events: &[Event], db: &Path) -> Result<Vec<String>, ServerStoreError> {
    events
        .iter()
        .map(|ev| {
            serde_json::to_string(ev).map_err(|source| ServerStoreError::BadEvent {
                path: db.to_path_buf(),
                id: ev.id.to_string(),
                source,
            })
        })
        .collect()
}

/// What an append did to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub id: Uuid,
    pub seq: i64,
    /// False when the event was already stored (an idempotent retry).
    pub new: bool,
}

/// What a store operation returns: a boxed future, so `dyn EventStore` works for every backend.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ServerStoreError>> + Send + 'a>>;

/// The storage a server needs. Implementations serialise appends per incident so sequence
/// numbers become visible in order (a reader never sees seq N+1 before N).
pub trait EventStore: Send + Sync + 'static {
    /// Appends a validated batch atomically; events already stored keep their sequence number.
    /// An id already stored (or repeated in the batch) with a different body fails the whole
    /// batch with `Conflict` (see `same_event`); with the same body it is an idempotent retry.
    fn append(&self, incident: IncidentId, events: Arc<Vec<Event>>) -> StoreFuture<'_, Vec<Appended>> {
        match encode(&events, Path::new("")) {
            Ok(bodies) => self.append_encoded(incident, events, Arc::new(bodies)),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
    /// `append` with each event's JSON already made (`bodies[i]` is `serde_json::to_string` of
    /// `events[i]`; the HTTP route made it to check field limits): stored as it is, so a batch
    /// is serialised once on its way in.
    fn append_encoded(
        &self,
        incident: IncidentId,
        events: Arc<Vec<Event>>,
        bodies: Arc<Vec<String>>,
    ) -> StoreFuture<'_, Vec<Appended>>;
    /// Events with seq > `after`, oldest first, at most `limit`.
    fn after(&self, incident: IncidentId, after: i64, limit: usize) -> StoreFuture<'_, Vec<Sequenced>>;
    /// The incident's newest sequence number (0 when it has no events).
    fn last_seq(&self, incident: IncidentId) -> StoreFuture<'_, i64>;
    /// Every incident id that has events.
    fn incidents(&self) -> StoreFuture<'_, Vec<IncidentId>>;
    /// Total events stored.
    fn count(&self) -> StoreFuture<'_, i64>;
    /// Answers when the database does (a trivial read), for /healthz.
    fn ping(&self) -> StoreFuture<'_, ()>;
    /// "sqlite" or "postgres", for /healthz and /metrics.
    fn backend(&self) -> &'static str;
    /// This database's identity: a random id made once, when the database was created (or
    /// first opened by a warroom that knew of it), and kept in the database. Heartbeats carry
    /// it, so a client notices when the server at its URL is backed by another store (restored,
    /// emptied, replaced) even when the new head has climbed back past its cursor. Replicas
    /// sharing one Postgres database share it.
    fn store_id(&self) -> &str;
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (
    incident TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    id       TEXT NOT NULL UNIQUE,
    author   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (incident, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS warroom_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;";

/// The `warroom_meta` key of the store identity (see `EventStore::store_id`).
pub const STORE_ID_KEY: &str = "store_id";

/// SQLite server store: one writer connection and one reader connection. The inherent methods
/// block; the `EventStore` impl runs them on the blocking pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<SqliteInner>,
}

struct SqliteInner {
    path: PathBuf,
    store_id: String,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens or creates the database file (mode 0600).
    pub fn open(path: &Path) -> Result<SqliteStore, ServerStoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::store::create_dir_private(dir)
                .map_err(|source| ServerStoreError::Open { path: path.to_path_buf(), source })?;
        }
        crate::store::create_private(path)
            .map_err(|source| ServerStoreError::Open { path: path.to_path_buf(), source })?;
        let sql = |source| ServerStoreError::Sql { path: path.to_path_buf(), source };
        let open = || -> Result<Connection, ServerStoreError> {
            let c = Connection::open(path).map_err(sql)?;
            c.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
            c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).map_err(sql)?;
            c.execute_batch("PRAGMA synchronous=FULL;").map_err(sql)?;
            Ok(c)
        };
        let writer = open()?;
        writer.execute_batch(SCHEMA).map_err(sql)?;
        // Made once: a database created before the identity existed gets one on this open.
        writer
            .execute(
                "INSERT INTO warroom_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![STORE_ID_KEY, Uuid::now_v7().to_string()],
            )
            .map_err(sql)?;
        let store_id: String = writer
            .query_row("SELECT value FROM warroom_meta WHERE key = ?1", [STORE_ID_KEY], |r| r.get(0))
            .map_err(sql)?;
        let reader = open()?;
        let inner = SqliteInner {
            path: path.to_path_buf(),
            store_id,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }
}

impl SqliteInner {
    fn sql(&self) -> impl Fn(rusqlite::Error) -> ServerStoreError + '_ {
        |source| ServerStoreError::Sql { path: self.path.clone(), source }
    }

    fn lock<'a>(&self, m: &'a Mutex<Connection>) -> std::sync::MutexGuard<'a, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back), so a poisoned lock is still safe to use.
        m.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SqliteStore {
    /// Appends a batch (blocking); see `EventStore::append`.
    pub fn append_blocking(
        &self,
        incident: IncidentId,
        events: &[Event],
    ) -> Result<Vec<Appended>, ServerStoreError> {
        let bodies = encode(events, &self.inner.path)?;
        self.inner.append(incident, events, &bodies)
    }

    /// Total events stored (blocking).
    pub fn count_blocking(&self) -> Result<i64, ServerStoreError> {
        self.inner.count()
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SqliteInner) -> Result<T, ServerStoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&inner))
                .await
                .map_err(|e| ServerStoreError::Task(e.to_string()))?
        })
    }
}

impl EventStore for SqliteStore {
    fn append_encoded(
        &self,
        incident: IncidentId,
        events: Arc<Vec<Event>>,
        bodies: Arc<Vec<String>>,
    ) -> StoreFuture<'_, Vec<Appended>> {
        self.run(move |s| s.append(incident, &events, &bodies))
    }
    fn after(&self, incident: IncidentId, after: i64, limit: usize) -> StoreFuture<'_, Vec<Sequenced>> {
        self.run(move |s| s.after(incident, after, limit))
    }
    fn last_seq(&self, incident: IncidentId) -> StoreFuture<'_, i64> {
        self.run(move |s| s.last_seq(incident))
    }
    fn incidents(&self) -> StoreFuture<'_, Vec<IncidentId>> {
        self.run(|s| s.incidents())
    }
    fn count(&self) -> StoreFuture<'_, i64> {
        self.run(|s| s.count())
    }
    fn ping(&self) -> StoreFuture<'_, ()> {
        self.run(|s| {
            let conn = s.lock(&s.reader);
            conn.query_row("SELECT 1", [], |_| Ok(())).map_err(s.sql())
        })
    }
    fn backend(&self) -> &'static str {
        "sqlite"
    }
    fn store_id(&self) -> &str {
        &self.inner.store_id
    }
}

impl SqliteInner {
    fn append(
        &self,
        incident: IncidentId,
        events: &[Event],
        bodies: &[String],
    ) -> Result<Vec<Appended>, ServerStoreError> {
        debug_assert_eq!(events.len(), bodies.len());
        let mut conn = self.lock(&self.writer);
        let tx =
            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(self.sql())?;
        let inc = incident.to_string();
        let mut out = Vec::with_capacity(events.len());
        {
            let mut next: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM events WHERE incident = ?1", [&inc], |r| {
                    r.get(0)
                })
                .map_err(self.sql())?;
            let mut find = tx
                .prepare_cached("SELECT incident, seq, body FROM events WHERE id = ?1")
                .map_err(self.sql())?;
            // The insert itself finds an id already stored (the unique index): it then inserts
            // nothing, and only that rare event is looked up. A lookup before every insert cost
            // a second index search per event.
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO events (incident, seq, id, author, kind, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO NOTHING",
                )
                .map_err(self.sql())?;
            for (ev, body) in events.iter().zip(bodies) {
                let id = ev.id.to_string();
                if ins
                    .execute(params![inc, next + 1, id, ev.author, ev.kind.name(), body])
                    .map_err(self.sql())?
                    == 1
                {
                    next += 1;
                    out.push(Appended { id: ev.id, seq: next, new: true });
                    continue;
                }
                let existing: Option<(String, i64, String)> = find
                    .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
                    .map_err(self.sql())?;
                // An id repeated within the batch finds its first occurrence here too: the
                // transaction sees its own inserts.
                if let Some((existing, seq, body)) = existing {
                    if existing != inc {
                        return Err(ServerStoreError::WrongIncident { id: ev.id, existing, incident });
                    }
                    if !same_event(&body, ev) {
                        return Err(ServerStoreError::Conflict { id: ev.id });
                    }
                    out.push(Appended { id: ev.id, seq, new: false });
                    continue;
                }
                // Not inserted, yet not there: only a (incident, seq) clash could do that, and
                // appends are serialised by the writer lock and the immediate transaction.
                return Err(ServerStoreError::Sql {
                    path: self.path.clone(),
                    source: rusqlite::Error::StatementChangedRows(0),
                });
            }
        }
        tx.commit().map_err(self.sql())?;
        Ok(out)
    }

    fn after(
        &self,
        incident: IncidentId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Sequenced>, ServerStoreError> {
        let conn = self.lock(&self.reader);
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, body FROM events WHERE incident = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(params![incident.to_string(), after, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, body) = row.map_err(self.sql())?;
            let event = serde_json::from_str(&body).map_err(|source| ServerStoreError::BadEvent {
                path: self.path.clone(),
                id,
                source,
            })?;
            out.push(Sequenced { seq, event });
        }
        Ok(out)
    }

    fn last_seq(&self, incident: IncidentId) -> Result<i64, ServerStoreError> {
        let conn = self.lock(&self.reader);
        conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE incident = ?1",
            [incident.to_string()],
            |r| r.get(0),
        )
        .map_err(self.sql())
    }

    fn incidents(&self) -> Result<Vec<IncidentId>, ServerStoreError> {
        let conn = self.lock(&self.reader);
        let mut stmt = conn.prepare_cached("SELECT DISTINCT incident FROM events").map_err(self.sql())?;
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.sql())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.sql())?;
        Ok(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect())
    }

    fn count(&self) -> Result<i64, ServerStoreError> {
        let conn = self.lock(&self.reader);
        conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).map_err(self.sql())
    }
}
