//! Fault injection with the real binary: one `warroom serve`, two cockpits in pseudo-terminals and
//! a CLI writer looping `warroom note`, all talking to the server through a TCP proxy the test
//! controls. Each round injects one fault in random order and timing (seeded; the seed is printed,
//! `CHAOS_SEED=N` replays it): SIGSTOP/SIGCONT of the server, SIGKILL and restart, a proxy
//! black hole, a proxy reset of every connection mid-stream, slow links, or SIGKILL of a client.
//! After each round, within `CONVERGE_BOUND`: every note any client reported stored is on the
//! server and in every client's store exactly once, both cockpits show the round's last note,
//! and both headers say `synced` again. While the server is frozen or black-holed, no header
//! may say `synced`.
//!
//! The same rounds run against two replicas on one real Postgres (`Setup::Replicas`): each
//! replica has its own proxy, every client knows both URLs (cockpit A and the CLI writer replica 1
//! first, cockpit B replica 2 first), a fault hits one replica or one proxy, and a Postgres restart
//! joins the faults. A client cut off from one replica moves to the other, so there the headers
//! are not required to leave `synced`; what must hold is the same: every reported note
//! everywhere exactly once (the server side read from the Postgres table).
//!
//! Faults are dealt from a seeded shuffled deck, so every kind comes up once per cycle.
//! CI runs `chaos_rounds` (20 rounds, faults of 1–3.5 s, heartbeat 250 ms) and
//! `chaos_replicas` (one cycle of 7). The soaks,
//! `cargo test --release --test sync_chaos -- --ignored --nocapture chaos_soak` (`CHAOS_ROUNDS`,
//! default 200; `chaos_replicas_soak` the same on replicas), use 5–20 s black holes and print the
//! table bench/README.md quotes.

#[path = "common/pty.rs"]
mod pty;
mod sync_support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pty::Tui;
use rustix::process::{Pid, Signal, kill_process};
use sync_support::pg;
use sync_support::proxy::{Mode, Proxy};
use sync_support::server_proc::{LISTEN, ServerProc};

/// How long a round may take to converge after the fault is healed before the test fails.
const CONVERGE_BOUND: Duration = Duration::from_secs(20);

/// A small seeded generator (xorshift64*): the rounds are reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A duration uniformly in [lo, hi].
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_millis() as u64;
        lo + Duration::from_millis(self.below(span + 1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    ServerStop,
    ServerKill,
    Blackhole,
    Reset,
    Slow,
    KillClient,
    /// Postgres stopped (fast: every connection dropped) and started again (replicas only).
    PgRestart,
}

const FAULTS: [Fault; 6] =
    [Fault::ServerStop, Fault::ServerKill, Fault::Blackhole, Fault::Reset, Fault::Slow, Fault::KillClient];

/// What the clients talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// One `warroom serve` on a SQLite file.
    Single,
    /// Two `warroom serve` replicas on one Postgres database.
    Replicas,
}

impl Setup {
    fn faults(self) -> Vec<Fault> {
        let mut f = FAULTS.to_vec();
        if self == Setup::Replicas {
            f.push(Fault::PgRestart);
        }
        f
    }
}

/// Where the server side keeps the notes.
enum ServerDb {
    Sqlite(PathBuf),
    Postgres { url: String, rt: tokio::runtime::Runtime },
}

impl ServerDb {
    fn note_counts(&self) -> HashMap<String, usize> {
        match self {
            ServerDb::Sqlite(p) => note_counts(p),
            ServerDb::Postgres { url, rt } => rt.block_on(pg_note_counts(url)).unwrap_or_default(),
        }
    }
}

/// Note texts and how often each is stored in the Postgres event table (None while it is down).
async fn pg_note_counts(url: &str) -> Option<HashMap<String, usize>> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.ok()?;
    let task = tokio::spawn(conn);
    let rows = client.query("SELECT body::json->>'text' FROM events WHERE kind = 'note'", &[]).await.ok()?;
    drop(client);
    let _ = task.await;
    let mut out = HashMap::new();
    for r in rows {
        if let Some(text) = r.get::<_, Option<String>>(0) {
            *out.entry(text).or_default() += 1;
        }
    }
    Some(out)
}

/// How long faults last.
#[derive(Clone, Copy)]
struct Timing {
    heartbeat_ms: u64,
    stop: (Duration, Duration),
    down: (Duration, Duration),
    blackhole: (Duration, Duration),
}

const CI: Timing = Timing {
    heartbeat_ms: 250,
    stop: (Duration::from_millis(1000), Duration::from_millis(3000)),
    down: (Duration::from_millis(300), Duration::from_millis(1500)),
    blackhole: (Duration::from_millis(1000), Duration::from_millis(3500)),
};

const SOAK: Timing = Timing {
    heartbeat_ms: 1000,
    stop: (Duration::from_secs(2), Duration::from_secs(12)),
    down: (Duration::from_millis(500), Duration::from_secs(5)),
    blackhole: (Duration::from_secs(5), Duration::from_secs(20)),
};

/// The CLI writer: loops `warroom note c-N` in its own data dir; a note whose command exited 0
/// is reported stored. `kill` SIGKILLs the command in flight (not reported, may or may not exist,
/// never twice).
struct Writer {
    stop: Arc<AtomicBool>,
    kill: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(dir: PathBuf, reported: Arc<Mutex<Vec<String>>>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let kill = Arc::new(AtomicBool::new(false));
        let (s, k) = (stop.clone(), kill.clone());
        let thread = std::thread::spawn(move || {
            let mut n = 0u64;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let text = format!("c-{n}");
                let mut child = Command::new(env!("CARGO_BIN_EXE_warroom"))
                    .args(["note", &text])
                    .envs(pty::env(&dir))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn warroom note");
                let status = loop {
                    if k.swap(false, Ordering::Relaxed) {
                        let _ = child.kill();
                        let _ = child.wait();
                        break None;
                    }
                    if let Some(st) = child.try_wait().unwrap() {
                        break Some(st);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                if status.is_some_and(|s| s.success()) {
                    reported.lock().unwrap().push(text);
                }
                std::thread::sleep(Duration::from_millis(150));
            }
        });
        Writer { stop, kill, thread: Some(thread) }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the rounds found, for the table.
#[derive(Default)]
struct Stats {
    rounds: usize,
    faults: BTreeMap<String, usize>,
    events: usize,
    lost: usize,
    duplicated: usize,
    worst: Duration,
    total: Duration,
}

impl Stats {
    fn table(&self) -> String {
        let faults: Vec<String> = self.faults.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!(
            "| rounds | faults by kind | events | lost | duplicated | worst converge | mean converge |\n\
             |---|---|---|---|---|---|---|\n\
             | {} | {} | {} | {} | {} | {:.1} s | {:.1} s |",
            self.rounds,
            faults.join(", "),
            self.events,
            self.lost,
            self.duplicated,
            self.worst.as_secs_f64(),
            self.total.as_secs_f64() / self.rounds.max(1) as f64,
        )
    }
}

struct Rig {
    _tmp: tempfile::TempDir,
    setup: Setup,
    servers: Vec<ServerProc>,
    proxies: Vec<Proxy>,
    dirs: [PathBuf; 3],
    a: Tui,
    b: Tui,
    writer: Writer,
    reported: Arc<Mutex<Vec<String>>>,
    server_db: ServerDb,
    timing: Timing,
    rng: Rng,
    deck: Vec<Fault>,
    stats: Stats,
}

fn client_config(dir: &Path, name: &str, url: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!("[user]\nname = \"{name}\"\ntimezone = \"UTC\"\n\n[server]\nurl = \"{url}\"\n"),
    )
    .unwrap();
}

fn header(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Note texts and how often each is stored, read through SQLite (read-only) from a store.
fn note_counts(db: &Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return out;
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    // The server's and the client's tables both keep the event JSON in `body` and its kind.
    let sql = "SELECT json_extract(body, '$.text') FROM events WHERE kind = 'note'";
    let Ok(mut stmt) = conn.prepare(sql) else { return out };
    let Ok(rows) = stmt.query_map([], |r| r.get::<_, Option<String>>(0)) else { return out };
    for text in rows.flatten().flatten() {
        *out.entry(text).or_default() += 1;
    }
    out
}

impl Rig {
    /// The rig, or None when `setup` needs Postgres and it is not installed (skipped, one line).
    fn new(setup: Setup, timing: Timing, seed: u64) -> Option<Rig> {
        let tmp = tempfile::tempdir().unwrap();
        let server_cfg = tmp.path().join("server.toml");
        std::fs::write(&server_cfg, format!("[server]\nheartbeat_ms = {}\n", timing.heartbeat_ms)).unwrap();
        let (servers, server_db) = match setup {
            Setup::Single => {
                let db = tmp.path().join("server").join("server.db");
                (vec![ServerProc::warroom(&db, &server_cfg)], ServerDb::Sqlite(db))
            }
            Setup::Replicas => {
                let cluster = pg::cluster()?;
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let url = rt.block_on(cluster.create_db());
                let cfg = server_cfg.display().to_string();
                let replica = || {
                    ServerProc::start(
                        env!("CARGO_BIN_EXE_warroom"),
                        &["serve", "--insecure-loopback", "--listen", LISTEN, "--db", &url],
                        &[("WARROOM_CONFIG", &cfg)],
                    )
                };
                (vec![replica(), replica()], ServerDb::Postgres { url, rt })
            }
        };
        let proxies: Vec<Proxy> = servers.iter().map(|s| Proxy::start(&s.addr)).collect();
        let urls: Vec<String> = proxies.iter().map(|p| p.url()).collect();
        // ana and the CLI writer try replica 1 first, bo replica 2: the load is spread.
        let mut reversed = urls.clone();
        reversed.reverse();
        let lists = [urls.join(","), reversed.join(","), urls.join(",")];
        let dirs = ["ana", "bo", "cy"].map(|n| tmp.path().join(n));
        for ((d, n), list) in dirs.iter().zip(["ana", "bo", "cy"]).zip(&lists) {
            client_config(d, n, list);
        }
        let id = pty::cli(&dirs[0], &["new", "Chaos drill", "--sev", "2"], None).trim().to_string();
        for d in &dirs[1..] {
            pty::cli(d, &["join", &urls[0], &id], None);
        }
        let a = Tui::spawn(&dirs[0], 40, 110);
        let b = Tui::spawn(&dirs[1], 40, 110);
        for t in [&a, &b] {
            t.wait_within(CONVERGE_BOUND, "the cockpit to say synced", |s| header(s).contains("synced"));
        }
        if setup == Setup::Replicas {
            // ana streams from replica 1 and bo from replica 2: each sees the other (cluster presence).
            for (t, other) in [(&a, "bo"), (&b, "ana")] {
                t.wait_within(CONVERGE_BOUND, "the other responder in the header", |s| {
                    header(s).contains(&format!("with {other}")) || header(s).contains("+1 here")
                });
            }
        }
        let reported = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer::start(dirs[2].clone(), reported.clone());
        Some(Rig {
            _tmp: tmp,
            setup,
            servers,
            proxies,
            dirs,
            a,
            b,
            writer,
            reported,
            server_db,
            timing,
            rng: Rng(seed),
            deck: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The next fault: a seeded shuffle of every kind, dealt one by one, then shuffled again.
    fn deal(&mut self) -> Fault {
        if self.deck.is_empty() {
            let mut deck = self.setup.faults();
            for i in (1..deck.len()).rev() {
                deck.swap(i, self.rng.below(i as u64 + 1) as usize);
            }
            self.deck = deck;
        }
        self.deck.pop().expect("the deck was just filled")
    }

    /// One of the servers (replicas) at random.
    fn pick(&mut self) -> usize {
        self.rng.below(self.servers.len() as u64) as usize
    }

    /// Types a note into a cockpit; once it shows with the composer closed it is on disk
    /// (the composer closes only after the write), so it counts as reported.
    fn write(&mut self, which: char, text: &str) {
        let t = if which == 'a' { &mut self.a } else { &mut self.b };
        t.send("n");
        t.wait_for("the composer", |s| s.contains("New note"));
        t.send(text);
        t.send("\r");
        t.wait_for("the note saved", |s| s.contains(text) && !s.contains("New note"));
        self.reported.lock().unwrap().push(text.to_string());
    }

    /// Headers must not claim `synced` while the server cannot confirm anything.
    fn assert_not_synced(&self, what: &str) {
        for (name, t) in [("ana", &self.a), ("bo", &self.b)] {
            let s = t.screen();
            assert!(!header(&s).contains("synced"), "{name}'s header says synced during {what}:\n{s}");
        }
    }

    /// While the clients are cut off for `d`: bo writes, and once three heartbeats have been
    /// missed (plus the cockpit's one-second redraw tick) no header may say `synced`. With
    /// replicas only one is cut off and the clients move to the other, so `synced` is right there.
    fn cut_off(&mut self, r: usize, d: Duration, what: &str) {
        let t0 = Instant::now();
        self.write('b', &format!("r{r}-b-during"));
        let honest_after = Duration::from_millis(self.timing.heartbeat_ms) * 3 + Duration::from_secs(1);
        if self.servers.len() == 1 && d > honest_after + Duration::from_millis(500) {
            std::thread::sleep(honest_after.saturating_sub(t0.elapsed()));
            self.assert_not_synced(what);
        }
        std::thread::sleep(d.saturating_sub(t0.elapsed()));
    }

    fn round(&mut self, r: usize) {
        let fault = self.deal();
        *self.stats.faults.entry(format!("{fault:?}")).or_default() += 1;
        // Writes before the fault, at a random moment.
        std::thread::sleep(Duration::from_millis(self.rng.below(400)));
        self.write('a', &format!("r{r}-a-before"));
        match fault {
            Fault::ServerStop => {
                let (i, d) = (self.pick(), self.rng.between(self.timing.stop.0, self.timing.stop.1));
                self.servers[i].stop();
                self.cut_off(r, d, "a frozen server");
                self.servers[i].cont();
            }
            Fault::ServerKill => {
                let (i, d) = (self.pick(), self.rng.between(self.timing.down.0, self.timing.down.1));
                self.servers[i].kill();
                self.write('b', &format!("r{r}-b-during"));
                std::thread::sleep(d);
                self.servers[i].start_again();
            }
            Fault::Blackhole => {
                let i = self.pick();
                let d = self.rng.between(self.timing.blackhole.0, self.timing.blackhole.1);
                self.proxies[i].set(Mode::Blackhole);
                self.cut_off(r, d, "a black hole");
                self.proxies[i].set(Mode::Pass);
            }
            Fault::Reset => {
                let i = self.pick();
                self.write('b', &format!("r{r}-b-during"));
                std::thread::sleep(Duration::from_millis(self.rng.below(300)));
                self.proxies[i].reset();
            }
            Fault::Slow => {
                let i = self.pick();
                let chunk = Duration::from_millis(50 + self.rng.below(400));
                self.proxies[i].set(Mode::Delay(chunk));
                self.write('b', &format!("r{r}-b-during"));
                std::thread::sleep(self.rng.between(Duration::from_millis(500), Duration::from_millis(2000)));
                self.proxies[i].set(Mode::Pass);
            }
            Fault::PgRestart => {
                let cluster = pg::cluster().expect("replicas run only with a cluster");
                let d = self.rng.between(self.timing.down.0, self.timing.down.1);
                cluster.pg_stop();
                self.write('b', &format!("r{r}-b-during"));
                std::thread::sleep(d);
                cluster.pg_start();
            }
            Fault::KillClient => {
                // Either cockpit B right after a note it showed (it must survive), or the CLI
                // writer mid-command (what it never reported may or may not exist, never twice).
                if self.rng.below(2) == 0 {
                    self.write('b', &format!("r{r}-b-during"));
                    let pid = self.b.pid().expect("bo's pid");
                    let _ = kill_process(Pid::from_raw(pid as i32).unwrap(), Signal::KILL);
                    let _ = self.b.child.wait();
                    self.b = Tui::spawn(&self.dirs[1], 40, 110);
                } else {
                    self.writer.kill.store(true, Ordering::Relaxed);
                    self.write('b', &format!("r{r}-b-during"));
                }
            }
        }
        // Healed. The round's last note, then convergence.
        let healed = Instant::now();
        let last = format!("r{r}-a-last");
        self.write('a', &last);
        let took = self.converge(&last, healed);
        self.stats.rounds += 1;
        self.stats.worst = self.stats.worst.max(took);
        self.stats.total += took;
        eprintln!("round {r:>3}: {fault:?} converged in {:.1} s", took.as_secs_f64());
    }

    /// Polls until everything reported is everywhere exactly once and both cockpits show `last`
    /// with a `synced` header; fails (after printing the table) past `CONVERGE_BOUND`.
    fn converge(&mut self, last: &str, healed: Instant) -> Duration {
        let mut problems = String::new();
        while healed.elapsed() < CONVERGE_BOUND {
            // The CLI writer's store only hears from the server when it runs a command.
            let reported = self.reported.lock().unwrap().clone();
            problems = self.check(&reported, last);
            if problems.is_empty() {
                return healed.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let reported = self.reported.lock().unwrap().clone();
        let (lost, dup) = self.count_faults(&reported);
        self.stats.lost += lost;
        self.stats.duplicated += dup;
        eprintln!("{}", self.stats.table());
        panic!(
            "not converged within {CONVERGE_BOUND:?} after healing: {problems}\nana:\n{}\nbo:\n{}",
            self.a.screen(),
            self.b.screen()
        );
    }

    fn replicas(&self) -> Vec<(String, HashMap<String, usize>)> {
        let mut out = vec![("server".to_string(), self.server_db.note_counts())];
        for (d, n) in self.dirs.iter().zip(["ana", "bo", "cy"]) {
            out.push((n.to_string(), note_counts(&d.join("data").join("warroom.db"))));
        }
        out
    }

    /// What is still wrong (empty when converged).
    fn check(&self, reported: &[String], last: &str) -> String {
        let mut problems = Vec::new();
        for (name, counts) in self.replicas() {
            for text in reported {
                match counts.get(text).copied().unwrap_or(0) {
                    1 => {}
                    0 if name == "cy" => {} // checked below, after cy pulls
                    n => problems.push(format!("{name} has {text} {n} times")),
                }
            }
            if problems.len() > 5 {
                break;
            }
        }
        for (name, t) in [("ana", &self.a), ("bo", &self.b)] {
            let s = t.screen();
            if !s.contains(last) {
                problems.push(format!("{name} does not show {last}"));
            }
            if !header(&s).contains("synced") {
                problems.push(format!("{name}'s header: {}", header(&s).trim()));
            }
        }
        if problems.is_empty() {
            // The CLI client: it pulls (and pushes what it queued) when it runs a command.
            let dir = &self.dirs[2];
            let _ = Command::new(env!("CARGO_BIN_EXE_warroom"))
                .arg("status")
                .envs(pty::env(dir))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let cy = note_counts(&dir.join("data").join("warroom.db"));
            for text in reported {
                if cy.get(text).copied().unwrap_or(0) != 1 {
                    problems.push(format!("cy has {text} {} times", cy.get(text).copied().unwrap_or(0)));
                }
            }
        }
        problems.join("; ")
    }

    fn count_faults(&self, reported: &[String]) -> (usize, usize) {
        let (mut lost, mut dup) = (0, 0);
        for (_, counts) in self.replicas() {
            for text in reported {
                match counts.get(text).copied().unwrap_or(0) {
                    0 => lost += 1,
                    1 => {}
                    _ => dup += 1,
                }
            }
            // Duplicates of notes nobody reported (a killed CLI command) count too.
            dup += counts.values().filter(|&&n| n > 1).count();
        }
        (lost, dup)
    }

    fn finish(mut self) -> Stats {
        self.writer.stop.store(true, Ordering::Relaxed);
        let reported = self.reported.lock().unwrap().clone();
        let (lost, dup) = self.count_faults(&reported);
        self.stats.lost += lost;
        self.stats.duplicated += dup;
        self.stats.events = self.replicas()[0].1.values().sum();
        std::mem::take(&mut self.stats)
    }
}

fn seed() -> u64 {
    std::env::var("CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    })
}

fn run(setup: Setup, rounds: usize, timing: Timing) {
    let seed = seed();
    let Some(mut rig) = Rig::new(setup, timing, seed) else { return };
    eprintln!("chaos: {setup:?}, seed {seed} (replay with CHAOS_SEED={seed}), {rounds} rounds");
    for r in 1..=rounds {
        rig.round(r);
    }
    let stats = rig.finish();
    println!("{}", stats.table());
    assert_eq!((stats.lost, stats.duplicated), (0, 0), "{}", stats.table());
}

fn soak_rounds() -> usize {
    std::env::var("CHAOS_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200)
}

#[test]
fn chaos_rounds() {
    run(Setup::Single, 20, CI);
}

/// One round of each fault kind against two replicas on Postgres (skipped, one line, without
/// Postgres installed; mandatory under WARROOM_PG_TESTS=1).
#[test]
fn chaos_replicas() {
    run(Setup::Replicas, Setup::Replicas.faults().len(), CI);
}

#[test]
#[ignore = "soak: hundreds of rounds with 5-20 s black holes; run with --ignored --nocapture"]
fn chaos_soak() {
    run(Setup::Single, soak_rounds(), SOAK);
}

#[test]
#[ignore = "soak on two replicas: hundreds of rounds; run with --ignored --nocapture"]
fn chaos_replicas_soak() {
    run(Setup::Replicas, soak_rounds(), SOAK);
}
