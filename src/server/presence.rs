//! Presence across replicas on Postgres: who has a stream open on which incident, cluster-wide.
//!
//! Each replica keeps its own viewers in its hub, and this task mirrors them into two UNLOGGED
//! tables (presence is live state, not a record: losing it in a Postgres crash costs one beat):
//! `warroom_replicas` (one row per running replica, with an `expires` time the replica pushes
//! forward every beat) and `warroom_presence` (replica, incident, name). A change is written at
//! once (coalesced to one write per `MIN_GAP`) and announced with `NOTIFY warroom_presence`;
//! every replica's listener hears it and this task reads the other replicas' rows into its hub.
//!
//! Liveness uses the database's clock only (`now()`), so replicas' clocks never matter. A replica
//! that dies (SIGKILL, machine lost) stops pushing its `expires`; every other replica reads again
//! every beat and ignores expired rows, so its viewers disappear from everyone's list within
//! `ttl + beat` (plus the stream's `PRESENCE_EVERY` coalescing). A replica shut down cleanly
//! deletes its rows at once. A replica that cannot read the table for longer than `ttl` drops
//! the remote viewers it knew (it no longer knows they are there) and shows its own only: its
//! database steps share a deadline at the ttl's end, so a hanging database delays that drop by
//! at most the wait for the next beat.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use super::hub::{Hub, Remote};
use super::metrics::Metrics;
use super::pg::PgStore;
use super::store::ServerStoreError;

/// The channel presence changes are announced on (payload: the replica's id).
pub const CHANNEL: &str = "warroom_presence";

/// Shortest gap between two writes of this replica's viewers: a thousand streams opening
/// together make a few writes, not a thousand.
const MIN_GAP: Duration = Duration::from_millis(100);

/// How often a replica proves it is alive and re-reads the others, and how long its rows count
/// without that proof. Derived from the stream heartbeat (`[server] heartbeat_ms`): the beat is
/// the heartbeat clamped to 0.5–2 s, the ttl three beats. Defaults: beat 2 s, ttl 6 s, so a
/// dead replica's viewers are gone from every list within 8 s (+0.25 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub beat: Duration,
    pub ttl: Duration,
}

impl Timing {
    pub fn from_heartbeat(heartbeat: Duration) -> Timing {
        let beat = heartbeat.clamp(Duration::from_millis(500), Duration::from_secs(2));
        Timing { beat, ttl: beat * 3 }
    }

    /// How long after a replica dies its viewers may still be listed elsewhere.
    pub fn ghost_bound(&self) -> Duration {
        self.ttl + self.beat + super::hub::PRESENCE_EVERY
    }
}

/// Runs until shutdown, then deletes this replica's rows (so others see its viewers leave now).
pub async fn run(
    store: Arc<PgStore>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    name: String,
    timing: Timing,
    mut shutdown: watch::Receiver<bool>,
) {
    let failed = |ok: bool| {
        if !ok {
            metrics.cluster.presence_errors.fetch_add(1, Ordering::Relaxed);
        }
    };
    let remote_count = |n: u64| metrics.cluster.presence_remote.store(n, Ordering::Relaxed);
    let me = Uuid::now_v7();
    let local = hub.local_changed();
    let remote = hub.remote_changed();
    let mut dirty = true;
    let mut last_write = Instant::now() - MIN_GAP;
    let mut last_read: Option<Instant> = None;
    let mut tick = tokio::time::interval(timing.beat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (mut read, mut beat) = (false, false);
        tokio::select! {
            _ = stopping(&mut shutdown) => break,
            _ = local.notified() => {
                dirty = true;
                tokio::time::sleep_until(last_write + MIN_GAP).await;
            }
            _ = remote.notified() => read = true,
            _ = tick.tick() => (read, beat) = (true, true),
        }
        // This round's database steps share one deadline: when what was last read of the other
        // replicas turns stale (or a ttl from now when nothing fresh is held). A database that
        // hangs then costs at most that, not a ttl per step, before the stale remote viewers are
        // dropped below; and it cannot keep the server from shutting down for longer.
        let now = Instant::now();
        let until = match last_read {
            Some(t) if t + timing.ttl > now => t + timing.ttl,
            _ => now + timing.ttl,
        };
        let bounded = |f| tokio::time::timeout_at(until, f);
        if dirty {
            last_write = Instant::now();
            let r = bounded(publish(&store, &hub, me, &name, timing)).await;
            failed(matches!(r, Ok(Ok(()))));
            dirty = !matches!(r, Ok(Ok(())));
        } else if beat {
            // Our row is gone when we were frozen longer than the ttl and another replica swept
            // it, or when Postgres crashed (UNLOGGED tables come back empty): write it all again.
            let r = tokio::time::timeout_at(until, refresh(&store, me, timing)).await;
            failed(matches!(r, Ok(Ok(_))));
            if matches!(r, Ok(Ok(false))) {
                let r = bounded(publish(&store, &hub, me, &name, timing)).await;
                failed(matches!(r, Ok(Ok(()))));
                dirty = !matches!(r, Ok(Ok(())));
            }
        }
        if read {
            let r = match tokio::time::timeout_at(until, read_others(&store, me)).await {
                Ok(r) => r,
                Err(_) => {
                    Err(ServerStoreError::Task("presence read: no answer before the ttl ran out".into()))
                }
            };
            failed(r.is_ok());
            if let Ok(others) = r {
                remote_count(others.values().map(|v| v.len() as u64).sum());
                hub.set_remote(others);
                last_read = Some(Instant::now());
            }
        }
        if last_read.is_some_and(|t| t.elapsed() >= timing.ttl) {
            remote_count(0);
            hub.set_remote(Remote::new());
            last_read = None;
        }
    }
    // Best effort and bounded: a server stopping because its database is gone must not hang.
    let _ = tokio::time::timeout(Duration::from_secs(2), leave(&store, me)).await;
}

async fn stopping(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Writes this replica's row and all its viewers, and announces the change.
async fn publish(
    store: &PgStore,
    hub: &Hub,
    me: Uuid,
    name: &str,
    timing: Timing,
) -> Result<(), ServerStoreError> {
    let viewers = hub.local_viewers();
    let (incidents, names): (Vec<Uuid>, Vec<String>) = viewers.into_iter().unzip();
    let mut c = store.client().await?;
    let e = store.err("presence");
    let tx = c.transaction().await.map_err(&e)?;
    tx.execute(
        "INSERT INTO warroom_replicas (id, name, expires) VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (id) DO UPDATE SET expires = EXCLUDED.expires",
        &[&me, &name, &secs(timing.ttl)],
    )
    .await
    .map_err(&e)?;
    tx.execute("DELETE FROM warroom_presence WHERE replica = $1", &[&me]).await.map_err(&e)?;
    tx.execute(
        "INSERT INTO warroom_presence (replica, incident, name)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::text[])",
        &[&me, &incidents, &names],
    )
    .await
    .map_err(&e)?;
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &me.to_string()]).await.map_err(&e)?;
    tx.commit().await.map_err(&e)
}

/// Pushes this replica's `expires` forward and sweeps replicas long expired; false when our row
/// is gone.
async fn refresh(store: &PgStore, me: Uuid, timing: Timing) -> Result<bool, ServerStoreError> {
    let c = store.client().await?;
    let e = store.err("presence");
    let n = c
        .execute(
            "UPDATE warroom_replicas SET expires = now() + make_interval(secs => $2) WHERE id = $1",
            &[&me, &secs(timing.ttl)],
        )
        .await
        .map_err(&e)?;
    // Readers ignore expired rows already; this only keeps the tables small.
    c.execute("DELETE FROM warroom_replicas WHERE expires < now() - interval '1 minute'", &[])
        .await
        .map_err(&e)?;
    Ok(n == 1)
}

/// The other live replicas' viewers.
async fn read_others(store: &PgStore, me: Uuid) -> Result<Remote, ServerStoreError> {
    let c = store.client().await?;
    let rows = c
        .query(
            "SELECT p.incident, p.name FROM warroom_presence p JOIN warroom_replicas r ON r.id = p.replica
             WHERE r.expires > now() AND r.id <> $1",
            &[&me],
        )
        .await
        .map_err(store.err("presence"))?;
    let mut out: Remote = HashMap::new();
    for r in rows {
        out.entry(r.get(0)).or_default().insert(r.get(1));
    }
    Ok(out)
}

async fn leave(store: &PgStore, me: Uuid) -> Result<(), ServerStoreError> {
    let c = store.client().await?;
    let e = store.err("presence");
    c.execute("DELETE FROM warroom_replicas WHERE id = $1", &[&me]).await.map_err(&e)?;
    c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &me.to_string()]).await.map_err(&e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_follows_the_heartbeat_within_bounds() {
        let t = Timing::from_heartbeat(Duration::from_secs(5));
        assert_eq!((t.beat, t.ttl), (Duration::from_secs(2), Duration::from_secs(6)));
        assert_eq!(t.ghost_bound(), Duration::from_millis(8250));
        let t = Timing::from_heartbeat(Duration::from_millis(100));
        assert_eq!((t.beat, t.ttl), (Duration::from_millis(500), Duration::from_millis(1500)));
    }
}
