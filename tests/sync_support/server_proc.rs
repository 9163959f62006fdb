//! A `warroom serve` process a test can fault: start, SIGKILL, SIGSTOP/SIGCONT, SIGTERM and
//! restart on the same address. It takes the server's command line, so the same piece runs the
//! SQLite server or one replica of several (give each its own command line).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};

/// Where the command line wants the listen address (first start: 127.0.0.1:0; restarts: the
/// address the first start bound, so clients find the server where they left it).
pub const LISTEN: &str = "{listen}";

/// One server process.
pub struct ServerProc {
    program: std::path::PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    child: Option<Child>,
    /// `127.0.0.1:PORT` once started.
    pub addr: String,
    stopped: bool,
}

impl ServerProc {
    /// Starts `program args…` (an arg equal to `{listen}` becomes the listen address) and waits,
    /// bounded, for its `listening on URL` line.
    pub fn start(program: impl Into<std::path::PathBuf>, args: &[&str], envs: &[(&str, &str)]) -> ServerProc {
        let mut s = ServerProc {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            envs: envs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            child: None,
            addr: "127.0.0.1:0".into(),
            stopped: false,
        };
        s.spawn();
        s
    }

    /// `warroom serve --insecure-loopback --listen {listen} --db DB` with the config file given.
    pub fn warroom(db: &std::path::Path, config: &std::path::Path) -> ServerProc {
        let db = db.display().to_string();
        let config = config.display().to_string();
        ServerProc::start(
            env!("CARGO_BIN_EXE_warroom"),
            &["serve", "--insecure-loopback", "--listen", LISTEN, "--db", &db],
            &[("WARROOM_CONFIG", &config)],
        )
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn spawn(&mut self) {
        let args: Vec<String> =
            self.args.iter().map(|a| if a == LISTEN { self.addr.clone() } else { a.clone() }).collect();
        // A restart may race the old socket's release: try the same address a few times.
        for attempt in 0.. {
            let mut child = Command::new(&self.program)
                .args(&args)
                .envs(self.envs.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the server");
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
            let addr = line
                .strip_prefix("listening on http://")
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string);
            match addr {
                Some(addr) => {
                    self.addr = addr;
                    self.child = Some(child);
                    self.stopped = false;
                    return;
                }
                None if attempt < 20 => {
                    let _ = child.kill();
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(250));
                }
                None => panic!("the server did not start: first line {line:?}"),
            }
        }
    }

    fn signal(&self, sig: Signal) {
        if let Some(c) = &self.child {
            let pid = Pid::from_child(c);
            let _ = kill_process(pid, sig);
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.stopped {
                self.signal(Signal::CONT);
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.stopped = false;
    }

    /// SIGSTOP: the process freezes; its sockets stay open and the kernel still accepts.
    pub fn stop(&mut self) {
        self.signal(Signal::STOP);
        self.stopped = true;
    }

    /// SIGCONT after `stop`.
    pub fn cont(&mut self) {
        self.signal(Signal::CONT);
        self.stopped = false;
    }

    /// SIGTERM (graceful shutdown) and wait for it to exit.
    pub fn term(&mut self) {
        if self.stopped {
            self.cont();
        }
        self.signal(Signal::TERM);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    /// SIGKILL, then start again on the same address with the same command line.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts it again after `kill` or `term` (no-op while running).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.kill();
    }
}
