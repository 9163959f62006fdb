//! The local event store: one SQLite file (WAL, synchronous=FULL, mode 0600) holding every event of
//! every incident, plus the outbox (events without a server sequence yet) for sync.
//!
//! Several warroom processes on one host share the file: writes wait on a busy timeout, and
//! `data_version` tells a reader that another connection wrote.

mod schema;

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::incident::change::HostChange;
use crate::incident::{Event, IncidentId, IncidentState, fold};

/// The database file name inside the data dir.
pub const DB_FILE: &str = "warroom.db";

/// Why the store could not do what was asked. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data dir {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open store {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("store {path} is not a usable warroom database: {source}")]
    Corrupt { path: PathBuf, source: rusqlite::Error },
    #[error("store {path} was written by a newer warroom (schema {found}, this build knows {known})")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("store {path}: {source}")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error("store {path}: event {id} is unreadable: {source}")]
    BadEvent { path: PathBuf, id: String, source: serde_json::Error },
    #[error("no incident matches `{0}` (see `warroom incidents --all`)")]
    UnknownIncident(String),
    #[error("incident prefix `{prefix}` is ambiguous: it matches {}", .matches.join(", "))]
    AmbiguousIncident { prefix: String, matches: Vec<String> },
    #[error(
        "no open incident: open one with `warroom new \"TITLE\" --sev N`, or pick one with --incident ID"
    )]
    NoOpenIncident,
}

impl StoreError {
    /// Whether the error is the user's input (exit status 2) rather than the environment's.
    pub fn is_usage(&self) -> bool {
        matches!(self, StoreError::UnknownIncident(_) | StoreError::AmbiguousIncident { .. })
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the local store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    dir: PathBuf,
}

/// Fixed-width UTC text that sorts like the instant it names.
pub(crate) fn sort_time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Fewest rows worth reading on a thread of its own: below it, one thread reads everything.
const SPLIT_ROWS: usize = 2048;

/// Rowid ranges per reading thread, taken in turn by whichever thread is free (see
/// [`Store::events`]).
const RANGES_PER_THREAD: i64 = 8;

/// Appends to `out` an incident's rows with rowids in `range` (inclusive), parsed, in storage
/// order.
fn read_range(
    conn: &Connection,
    path: &Path,
    incident: &str,
    (lo, hi): (i64, i64),
    out: &mut Vec<Event>,
) -> Result<()> {
    let sql = |source| StoreError::Sql { path: path.to_path_buf(), source };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, body FROM events NOT INDEXED WHERE rowid BETWEEN ?1 AND ?2 AND incident = ?3 ORDER BY rowid",
        )
        .map_err(sql)?;
    let mut rows = stmt.query(params![lo, hi, incident]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        // Parsed straight from SQLite's buffer: no copy of the body per row.
        let text = |i| row.get_ref(i).and_then(|v| Ok(v.as_str()?)).map_err(sql);
        let (id, body) = (text(0)?, text(1)?);
        let event = Event::from_json(body).map_err(|source| StoreError::BadEvent {
            path: path.to_path_buf(),
            id: id.to_string(),
            source,
        })?;
        out.push(event);
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store in `dir`: dir 0700, file 0600, schema migrated.
    pub fn open(dir: &Path) -> Result<Store> {
        secure_dir(dir).map_err(|source| StoreError::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join(DB_FILE);
        create_private(&path).map_err(|source| StoreError::Open { path: path.clone(), source })?;
        let conn =
            Connection::open(&path).map_err(|source| StoreError::Corrupt { path: path.clone(), source })?;
        let store = Store { conn, path, dir: dir.to_path_buf() };
        store.configure()?;
        Ok(store)
    }

    fn configure(&self) -> Result<()> {
        let corrupt = |source| StoreError::Corrupt { path: self.path.clone(), source };
        self.conn.busy_timeout(Duration::from_secs(10)).map_err(corrupt)?;
        // The first statement to touch the file: a non-database fails here, before any write.
        self.conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).map_err(corrupt)?;
        self.conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;").map_err(corrupt)?;
        schema::migrate(&self.conn, &self.path)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data dir holding the database (and evidence).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where an incident's evidence files go (created 0700 on demand by the writer).
    pub fn evidence_dir(&self, incident: IncidentId) -> PathBuf {
        self.dir.join("evidence").join(incident.to_string())
    }

    /// Writers take the lock up front (BEGIN IMMEDIATE) so a concurrent writer waits on the busy
    /// timeout instead of failing on a read-to-write upgrade.
    fn write_tx(&self) -> Result<rusqlite::Transaction<'_>> {
        rusqlite::Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(self.sql())
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql { path: self.path.clone(), source }
    }

    /// Appends one event durably. Idempotent: returns false if an event with this id exists.
    pub fn append(&self, ev: &Event) -> Result<bool> {
        Ok(self.append_all(std::slice::from_ref(ev), None)? == 1)
    }

    /// Appends events in one transaction; `server_seq` marks them as already acknowledged by a
    /// server (when they came from one). Returns how many were new.
    pub fn append_all(&self, events: &[Event], server_seqs: Option<&[i64]>) -> Result<usize> {
        self.append_and_advance(events, server_seqs, None)
    }

    /// Events a server sent, and the sync cursor `(meta key, seq)` they bring us to, in one
    /// transaction: a cursor never runs ahead of the events it covers, nor behind them once
    /// they are visible. The cursor only moves forward.
    pub fn append_remote(&self, events: &[Event], server_seqs: &[i64], cursor: (&str, i64)) -> Result<usize> {
        self.append_and_advance(events, Some(server_seqs), Some(cursor))
    }

    fn append_and_advance(
        &self,
        events: &[Event],
        server_seqs: Option<&[i64]>,
        cursor: Option<(&str, i64)>,
    ) -> Result<usize> {
        let tx = self.write_tx()?;
        let mut added = 0;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO events (id, incident, at, author, kind, body, server_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(id) DO UPDATE SET server_seq = COALESCE(events.server_seq, excluded.server_seq)",
                )
                .map_err(self.sql())?;
            let mut exists = tx.prepare_cached("SELECT 1 FROM events WHERE id = ?1").map_err(self.sql())?;
            for (i, ev) in events.iter().enumerate() {
                let id = ev.id.to_string();
                let known = exists.exists([&id]).map_err(self.sql())?;
                let body = serde_json::to_string(ev).map_err(|source| StoreError::BadEvent {
                    path: self.path.clone(),
                    id: id.clone(),
                    source,
                })?;
                let seq = server_seqs.and_then(|s| s.get(i).copied());
                ins.execute(params![
                    id,
                    ev.incident.to_string(),
                    sort_time(&ev.at),
                    ev.author,
                    ev.kind.name(),
                    body,
                    seq
                ])
                .map_err(self.sql())?;
                if !known {
                    added += 1;
                }
            }
        }
        if let Some((key, seq)) = cursor {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value
                 WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
                params![key, seq.to_string()],
            )
            .map_err(self.sql())?;
        }
        tx.commit().map_err(self.sql())?;
        Ok(added)
    }

    /// An incident's events in canonical (at, id) order.
    ///
    /// Read in the order they were stored, a walk over the table's pages from the incident's
    /// first row to its last, instead of in the index's (at, id) order, which descends the table
    /// once per row (at 100k events the index-ordered read was ~95 ms of a ~160 ms load). The
    /// cores read and parse rowid ranges in parallel (the parse is the larger half of the cost),
    /// and the events are put in [`Event::order_key`] order, the order the fold defines and the
    /// index holds; events are stored mostly in that order already, so usually that is one
    /// check, else a (stable, run-detecting) sort close to one pass. An incident whose rows are scattered
    /// among many others' (the team stream, an incident reopened much later) is read through
    /// the index instead, so a load never walks much more than its own rows.
    pub fn events(&self, incident: IncidentId) -> Result<Vec<Event>> {
        let key = incident.to_string();
        let (first, last, count): (Option<i64>, Option<i64>, i64) = self
            .conn
            .prepare_cached("SELECT MIN(rowid), MAX(rowid), COUNT(*) FROM events WHERE incident = ?1")
            .and_then(|mut s| s.query_row([&key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .map_err(self.sql())?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        if last - first + 1 > 2 * count + 1024 {
            return self.events_index_order(incident);
        }
        // Rowid ranges read by this thread and one helper per further core, each helper on a
        // connection of its own. Rows up to `last` never change body and new rows only get
        // larger rowids, so a helper's later snapshot holds exactly the rows this one does in
        // its ranges. There are several ranges per thread, each taken by whichever thread is
        // free next: a thread that gets no core for a while (a busy machine) leaves the ranges
        // to the others instead of holding up the end, and this thread, which walked the
        // index for the extent first, simply takes fewer.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        let threads = cores.min(count as usize / SPLIT_ROWS).max(1);
        let chunks = if threads == 1 { 1 } else { threads as i64 * RANGES_PER_THREAD };
        let rows = last - first + 1;
        let bound = |i: i64| first + rows * i / chunks;
        let ranges: Vec<(i64, i64)> = (0..chunks).map(|i| (bound(i), bound(i + 1) - 1)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let path = self.path.as_path();
        // Reads ranges until none is left: (range number, its events).
        let take = |conn: &Connection| {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&range) = ranges.get(i) else { return Ok::<_, StoreError>(done) };
                // Sized for the range (at most about twice the rows read, see above): a
                // growing vector of ~250-byte events copied itself over and over.
                let mut out = Vec::with_capacity((range.1 - range.0 + 1) as usize);
                read_range(conn, path, &key, range, &mut out)?;
                done.push((i, out));
            }
        };
        let mut parts = std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads)
                .map(|_| {
                    s.spawn(|| {
                        let sql = |source| StoreError::Sql { path: path.to_path_buf(), source };
                        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
                        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
                        take(&conn)
                    })
                })
                .collect();
            // On an error here the scope still waits for the helpers before returning it.
            let mut parts = take(&self.conn)?;
            for h in helpers {
                parts.extend(h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
            }
            Ok::<_, StoreError>(parts)
        })?;
        parts.sort_unstable_by_key(|(i, _)| *i);
        // Room for the events that arrive while the incident is on screen (the cockpit appends
        // them to this vector): without it the first one moves every event read (25 MB at 100k).
        // Pages of the spare room are not touched until used.
        let mut out = Vec::with_capacity(count as usize + count as usize / 16 + 64);
        for (_, mut part) in parts {
            out.append(&mut part);
        }
        // Usually stored in order already: then the sort (and its scratch space) is skipped.
        if !out.is_sorted_by_key(Event::order_key) {
            out.sort_by_key(Event::order_key);
        }
        Ok(out)
    }

    /// The events in `(at, id)` order as the index holds them, read through the index on one
    /// thread: [`Store::events`] for scattered rows, and the reference its in-memory sort must
    /// agree with (property-tested in tests/store_order.rs).
    pub fn events_index_order(&self, incident: IncidentId) -> Result<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM events INDEXED BY events_by_incident WHERE incident = ?1 ORDER BY at, id")
            .map_err(self.sql())?;
        let mut rows = stmt.query([incident.to_string()]).map_err(self.sql())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql())? {
            let text = |i| row.get_ref(i).and_then(|v| Ok(v.as_str()?)).map_err(self.sql());
            out.push(self.parse(text(0)?, text(1)?)?);
        }
        Ok(out)
    }

    /// The incident's events stored after `mark` (a row number from an earlier call; 0 for all),
    /// in the order they were stored, and the mark to pass next time. Rows only ever get larger
    /// numbers than every row committed before them (no row is deleted), so a reader that keeps
    /// the mark sees each event exactly once.
    pub fn events_after(&self, incident: IncidentId, mark: i64) -> Result<(Vec<Event>, i64)> {
        // The rowid range first: a cockpit asking for what is new scans only the new rows, not
        // the incident's whole index.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, id, body FROM events NOT INDEXED WHERE rowid > ?1 AND incident = ?2 ORDER BY rowid",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query(params![mark, incident.to_string()]).map_err(self.sql())?;
        let (mut out, mut next) = (Vec::new(), mark);
        while let Some(row) = rows.next().map_err(self.sql())? {
            next = row.get(0).map_err(self.sql())?;
            let text = |i| row.get_ref(i).and_then(|v| Ok(v.as_str()?)).map_err(self.sql());
            out.push(self.parse(text(1)?, text(2)?)?);
        }
        Ok((out, next))
    }

    /// An incident's events in canonical order and the mark for [`Store::events_after`] that
    /// follows them, read in one snapshot so that no write falls between the two.
    pub fn events_with_mark(&self, incident: IncidentId) -> Result<(Vec<Event>, i64)> {
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        let mark = tx
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM events", [], |r| r.get(0))
            .map_err(self.sql())?;
        let events = self.events(incident)?;
        tx.commit().map_err(self.sql())?;
        Ok((events, mark))
    }

    fn parse(&self, id: &str, body: &str) -> Result<Event> {
        Event::from_json(body).map_err(|source| StoreError::BadEvent {
            path: self.path.clone(),
            id: id.to_string(),
            source,
        })
    }

    /// Every incident, folded, most recently opened first.
    pub fn incidents(&self) -> Result<Vec<IncidentState>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, incident, body FROM events ORDER BY incident, at, id")
            .map_err(self.sql())?;
        let mut rows = stmt.query([]).map_err(self.sql())?;
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        let mut batch: Vec<Event> = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql())? {
            let id: String = row.get(0).map_err(self.sql())?;
            let incident: String = row.get(1).map_err(self.sql())?;
            let body: String = row.get(2).map_err(self.sql())?;
            if current.as_deref() != Some(incident.as_str()) {
                if let Ok(st) = fold(&batch) {
                    out.push(st);
                }
                batch.clear();
                current = Some(incident);
            }
            batch.push(self.parse(&id, &body)?);
        }
        if let Ok(st) = fold(&batch) {
            out.push(st);
        }
        out.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Resolves `--incident PREFIX`, or with none the current incident: the one marked current
    /// (by `new` or `join`) if still open, else the most recently opened open incident.
    pub fn resolve_incident(&self, prefix: Option<&str>) -> Result<IncidentId> {
        if let Some(prefix) = prefix {
            let p = prefix.trim().to_ascii_lowercase();
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT DISTINCT incident FROM events WHERE kind = 'opened' AND id = incident",
                )
                .map_err(self.sql())?;
            let ids: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(self.sql())?
                .collect::<rusqlite::Result<_>>()
                .map_err(self.sql())?;
            let matches: Vec<String> =
                ids.into_iter().filter(|id| !p.is_empty() && id.starts_with(&p)).collect();
            return match matches.as_slice() {
                [one] => {
                    Ok(Uuid::parse_str(one).map_err(|_| StoreError::UnknownIncident(prefix.to_string()))?)
                }
                [] => Err(StoreError::UnknownIncident(prefix.to_string())),
                _ => Err(StoreError::AmbiguousIncident { prefix: prefix.to_string(), matches }),
            };
        }
        let all = self.incidents()?;
        // The incident you were working on stays at hand after it is resolved (status, export,
        // the TUI) until another one is opened or picked.
        if let Some(cur) = self.meta("current_incident")?
            && let Some(st) = all.iter().find(|i| i.id.to_string() == cur)
        {
            return Ok(st.id);
        }
        let open: Vec<&IncidentState> = all.iter().filter(|i| i.is_open()).collect();
        open.first().map(|i| i.id).ok_or(StoreError::NoOpenIncident)
    }

    /// Marks an incident as the current one (what commands act on without --incident).
    pub fn set_current(&self, incident: IncidentId) -> Result<()> {
        self.set_meta("current_incident", &incident.to_string())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Changes whenever another connection commits a write: poll it to notice other processes.
    pub fn data_version(&self) -> Result<i64> {
        self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(self.sql())
    }

    /// The outbox: events not yet acknowledged by a server, oldest first.
    pub fn pending(&self, limit: usize) -> Result<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM events WHERE server_seq IS NULL ORDER BY rowid LIMIT ?1")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(self.sql())?;
            out.push(self.parse(&id, &body)?);
        }
        Ok(out)
    }

    /// How many events wait in the outbox.
    pub fn pending_count(&self) -> Result<usize> {
        self.count("SELECT COUNT(*) FROM events WHERE server_seq IS NULL")
    }

    /// Records server acknowledgements: (event id, server sequence).
    pub fn mark_synced(&self, acks: &[(Uuid, i64)]) -> Result<()> {
        let tx = self.write_tx()?;
        {
            let mut up = tx
                .prepare_cached("UPDATE events SET server_seq = ?2 WHERE id = ?1 AND server_seq IS NULL")
                .map_err(self.sql())?;
            for (id, seq) in acks {
                up.execute(params![id.to_string(), seq]).map_err(self.sql())?;
            }
        }
        tx.commit().map_err(self.sql())
    }

    /// Records a change in the host change log. Idempotent on the change's id.
    pub fn record_host_change(&self, change: &HostChange) -> Result<()> {
        let body = serde_json::to_string(change).map_err(|source| StoreError::BadEvent {
            path: self.path.clone(),
            id: change.id.to_string(),
            source,
        })?;
        self.conn
            .execute(
                "INSERT INTO host_changes (id, at, body) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                params![change.id.to_string(), sort_time(&change.at), body],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Host change log entries that started at or after `since`, oldest first.
    pub fn host_changes_since(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<HostChange>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM host_changes WHERE at >= ?1 ORDER BY at, id")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([sort_time(&since)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(self.sql())?;
            out.push(serde_json::from_str(&body).map_err(|source| StoreError::BadEvent {
                path: self.path.clone(),
                id,
                source,
            })?);
        }
        Ok(out)
    }

    /// Copies the host change log entries of the `window` before `opened` onto the incident's
    /// timeline (idempotent: each copy has an id derived from the incident and the change).
    /// Returns the changes copied.
    pub fn copy_recent_changes(
        &self,
        incident: IncidentId,
        opened: chrono::DateTime<chrono::Utc>,
        window: chrono::Duration,
    ) -> Result<Vec<HostChange>> {
        let log = self.host_changes_since(opened - window)?;
        let recent: Vec<HostChange> =
            crate::incident::change::recent(&log, opened, window).into_iter().cloned().collect();
        let events: Vec<Event> = recent.iter().map(|c| c.to_event(incident)).collect();
        if !events.is_empty() {
            self.append_all(&events, None)?;
        }
        Ok(recent)
    }

    /// Total number of events stored.
    pub fn event_count(&self) -> Result<usize> {
        self.count("SELECT COUNT(*) FROM events")
    }

    /// The number a `SELECT COUNT(*)` query answers.
    fn count(&self, sql: &str) -> Result<usize> {
        self.conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(self.sql())
    }
}

/// Creates the data dir 0700 if missing; an existing one of ours that others can read or enter is
/// tightened to 0700 (it holds the incident log and evidence). A shared sticky dir such as /tmp is
/// left alone. chmod works on the path: no descriptor is opened.
pub fn secure_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) => {
            let mode = meta.permissions().mode();
            let ours = meta.uid() == rustix::process::geteuid().as_raw();
            if mode & 0o077 != 0 && mode & 0o1000 == 0 && ours {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_dir_private(dir),
        Err(e) => Err(e),
    }
}

/// Creates `dir` (and missing parents) mode 0700; an existing dir is left as it is.
pub fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Makes sure a SQLite database file exists with mode 0600 before SQLite opens it, without ever
/// holding a descriptor of a file SQLite may already have open.
///
/// Closing *any* descriptor of a file drops every POSIX lock this process holds on it, SQLite's
/// included; another process then believes it is the last user and checkpoints and deletes the
/// live WAL (SQLite's "How To Corrupt An SQLite Database File", 2.2). So the file is only ever
/// created here with `O_CREAT|O_EXCL`: when that succeeds the inode is brand new and nobody holds
/// a lock on it; when the file exists it is left to SQLite, and its mode is set by path (chmod
/// opens nothing). SQLite gives the -wal and -shm files the database's mode.
pub fn create_private(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_new) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::metadata(path)?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Sets mode 0600 on a file we wrote (exports, evidence) regardless of umask.
pub fn restrict(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests;
