//! A real Postgres for tests, from the system's own package (never downloaded): one cluster per
//! test binary in a temp dir, listening only on a Unix socket in that dir, run as `nobody` when
//! the tests run as root (initdb refuses root). Each test gets its own database.
//!
//! The cluster is stopped and its dir removed by a small shell that waits on a pipe from this
//! process: when the test binary exits (even killed), the pipe closes and the shell cleans up.
//!
//! Without Postgres installed the tests skip with one line saying how to run them; with
//! WARROOM_PG_TESTS=1 (set by .ci/run) a missing Postgres fails them instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Environment variable that makes the Postgres tests mandatory.
pub const MANDATORY: &str = "WARROOM_PG_TESTS";

/// A running cluster.
pub struct Cluster {
    pub dir: PathBuf,
    bin: PathBuf,
    opts: String,
    root: bool,
    // Dropping these never happens (statics); process exit closes the pipe, which stops it.
    _reaper: Mutex<(Child, ChildStdin)>,
}

fn bin_dir() -> Option<PathBuf> {
    // Debian installs versioned binaries here, newest wins; else whatever is on PATH.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(b) = versions.pop() {
        return Some(b);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(PathBuf::from)
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `cmd` as the cluster's owner: `runuser -u nobody --` when we are root.
fn as_owner(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn start() -> Result<Cluster, String> {
        // Tests exercise replicas and failures, not the disk: skip fsync to keep them fast.
        Cluster::start_with("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    }

    /// A cluster with Postgres's durable defaults (fsync, synchronous_commit and full page
    /// writes on), for benchmarks that compare it with SQLite's `synchronous=FULL`. Stopped and
    /// removed when this process exits, like the tests' cluster.
    pub fn start_durable() -> Result<Cluster, String> {
        Cluster::start_with("")
    }

    fn start_with(settings: &str) -> Result<Cluster, String> {
        let bin = bin_dir().ok_or("no initdb/pg_ctl found")?;
        let root = is_root();
        let dir = tempfile::Builder::new().prefix("warroom-pg-").tempdir().map_err(|e| e.to_string())?.keep();
        if root {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("nobody:").arg(&dir);
                    c
                },
                "chown nobody",
            );
        }
        let data = dir.join("data");
        let mut init = as_owner(root, &bin.join("initdb"));
        init.args(["-U", "warroom", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"]).arg(&data);
        run(init, "initdb");
        let opts = format!("-k {} -c listen_addresses= {settings} -c max_connections=400", dir.display());
        let cluster = |reaper| Cluster {
            dir: dir.clone(),
            bin: bin.clone(),
            opts: opts.clone(),
            root,
            _reaper: reaper,
        };
        // The reaper: waits for our end of the pipe to close, then stops the cluster and removes it.
        let owner = if root { "runuser -u nobody -- " } else { "" };
        let script = format!(
            "read _ ; {owner}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display(),
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdin = child.stdin.take().unwrap();
        let c = cluster(Mutex::new((child, stdin)));
        c.pg_start();
        Ok(c)
    }

    /// Starts the postmaster and waits until it accepts connections.
    pub fn pg_start(&self) {
        let mut c = as_owner(self.root, &self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.join("data")).args(["-o", &self.opts, "-l"]).arg(self.dir.join("log"));
        c.args(["-w", "-t", "30", "start"]);
        run(c, "pg_ctl start");
    }

    /// Stops the postmaster (fast: disconnects every client, as a restart would).
    pub fn pg_stop(&self) {
        let mut c = as_owner(self.root, &self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.join("data")).args(["-m", "fast", "-w", "stop"]);
        run(c, "pg_ctl stop");
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the postmaster and every backend: a database that
    /// hangs without closing a connection, as a stalled disk or a paused VM makes it.
    pub fn freeze(&self, frozen: bool) {
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).expect("postmaster.pid");
        let master: i32 =
            pid_file.lines().next().and_then(|l| l.trim().parse().ok()).expect("postmaster pid");
        let mut pids = vec![master];
        for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // The parent pid is the second field after the parenthesised name.
            let ppid =
                stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<i32>().ok());
            if ppid == Some(master) {
                pids.push(pid);
            }
        }
        let sig = if frozen { rustix::process::Signal::STOP } else { rustix::process::Signal::CONT };
        for pid in pids {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    }

    /// A `postgres://` URL for database `db` over the Unix socket.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql:///{db}?host={}&user=warroom", self.dir.display())
    }

    /// Creates a fresh database and returns its URL.
    pub async fn create_db(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to test postgres");
        let task = tokio::spawn(conn);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        drop(client);
        let _ = task.await;
        self.url(&name)
    }
}

/// True when the Postgres tests must run (CI).
pub fn mandatory() -> bool {
    std::env::var(MANDATORY).is_ok_and(|v| v == "1")
}

/// This binary's cluster, started on first use; None (after one line on stderr) when Postgres is
/// not installed and the tests are not mandatory.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    static SAID: std::sync::Once = std::sync::Once::new();
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(c) => Some(c),
        Err(e) if mandatory() => panic!("{MANDATORY}=1 but Postgres cannot start: {e}"),
        Err(e) => {
            SAID.call_once(|| {
                // Straight to stderr: the test harness captures eprintln! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping Postgres tests ({e}): apt-get install postgresql, then cargo test (or bash .ci/run; {MANDATORY}=1 makes them mandatory)"
                );
            });
            None
        }
    }
}

/// A fresh database URL, or None when Postgres tests are skipped.
pub async fn fresh_db() -> Option<String> {
    match cluster() {
        Some(c) => Some(c.create_db().await),
        None => None,
    }
}
