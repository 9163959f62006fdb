//! Schema migrations, applied in order inside one transaction and recorded in `schema_version`.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

/// Each entry migrates from version i to i+1. Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the event log, the outbox (server_seq IS NULL) and small key/value state.
    "CREATE TABLE events (
        id         TEXT PRIMARY KEY NOT NULL,
        incident   TEXT NOT NULL,
        at         TEXT NOT NULL,
        author     TEXT NOT NULL,
        kind       TEXT NOT NULL,
        body       TEXT NOT NULL,
        server_seq INTEGER
     );
     CREATE INDEX events_by_incident ON events (incident, at, id);
     CREATE INDEX events_outbox ON events (server_seq) WHERE server_seq IS NULL;
     CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
    // 2: the host change log (changes recorded while no incident was open).
    "CREATE TABLE host_changes (
        id   TEXT PRIMARY KEY NOT NULL,
        at   TEXT NOT NULL,
        body TEXT NOT NULL
     );
     CREATE INDEX host_changes_by_time ON host_changes (at);",
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// The schema version the database is at (0: none yet).
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
}

pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let sql = |source| StoreError::Sql { path: path.to_path_buf(), source };
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(sql)?;
    let found = version(conn).map_err(sql)?;
    if found > CURRENT {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known: CURRENT });
    }
    if found == CURRENT {
        return Ok(());
    }
    let tx =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
    // Re-check under the write lock: another process may have migrated meanwhile.
    let found = version(&tx).map_err(sql)?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step).map_err(sql)?;
        tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [i as i64 + 1]).map_err(sql)?;
    }
    tx.commit().map_err(sql)
}
