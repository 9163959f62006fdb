//! Shared by the paging and status-update tests: a real HTTP receiver on 127.0.0.1:0 that answers
//! scripted statuses and keeps every request, and a `warroom` runner in a private environment.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use tempfile::TempDir;

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<u16>,
    seen: Vec<Seen>,
}

/// An HTTP server on loopback: answers the scripted statuses in order, then 202.
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    _server: Stub,
}

/// An axum app served on 127.0.0.1:0 from a thread of its own, stopped (gracefully, joined) on
/// drop: the body of every stand-in for an outside HTTP API in the tests.
pub struct Stub {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    pub fn serve(app: axum::Router) -> Stub {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Stub { addr, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let mut g = inner.lock().unwrap();
    g.seen.push(Seen { path: uri.path().to_string(), headers, body });
    let code = g.script.pop_front().unwrap_or(202);
    let status = StatusCode::from_u16(code).unwrap();
    let text = if status.is_success() {
        r#"{"status":"success","message":"Event processed"}"#.to_string()
    } else {
        format!(r#"{{"status":"scripted {code}","message":"scripted failure"}}"#)
    };
    (status, text)
}

impl Receiver {
    pub fn start(script: &[u16]) -> Receiver {
        let inner =
            Arc::new(Mutex::new(Inner { script: script.iter().copied().collect(), seen: Vec::new() }));
        let server = Stub::serve(axum::Router::new().fallback(answer).with_state(inner.clone()));
        Receiver { addr: server.addr, inner, _server: server }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }
}

/// A loopback URL where nothing listens: a port bound, then released.
/// `warroom` with nothing of this machine's environment: home, config dir (`cfg`) and data dir
/// (`data`) all inside `tmp`.
pub fn warroom_in(tmp: &TempDir) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("warroom").unwrap();
    c.env_clear()
        .env("HOME", tmp.path())
        .env("XDG_CONFIG_HOME", tmp.path().join("cfg"))
        .env("WARROOM_DATA_DIR", tmp.path().join("data"));
    c
}

pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

pub const TEAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/team.example.toml");

/// `warroom` in a private home, data dir and config.
pub struct Env {
    pub tmp: TempDir,
    tz: &'static str,
    configured: bool,
}

impl Env {
    /// An environment in UTC whose config file holds `config`, with the example team file.
    pub fn new(config: &str) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("config.toml"), config).unwrap();
        Env { tmp, tz: "UTC", configured: true }
    }

    /// An environment in zone `tz` with no config file (warroom looks at the default path under
    /// XDG_CONFIG_HOME, where there is none) and no team file.
    pub fn bare(tz: &'static str) -> Env {
        Env { tmp: tempfile::tempdir().unwrap(), tz, configured: false }
    }

    pub fn config_path(&self) -> PathBuf {
        self.tmp.path().join("config.toml")
    }

    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("warroom").unwrap();
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("XDG_CONFIG_HOME", self.tmp.path().join("xdg-config"))
            .env("USER", "ana")
            .env("TZ", self.tz)
            .env("WARROOM_DATA_DIR", self.data());
        if self.configured {
            c.env("WARROOM_CONFIG", self.config_path()).env("WARROOM_TEAM", TEAM);
        }
        c
    }

    /// Runs; returns (status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!err.contains("panicked"), "warroom {args:?} panicked: {err}");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), err)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "warroom {args:?} failed: {err}");
        out
    }

    /// Runs expecting exit status `code` and one line on stderr holding `needle`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32, needle: &str) -> String {
        let (got, _, err) = self.run(args);
        assert_eq!(got, code, "warroom {args:?}: wrong exit status; stderr: {err}");
        assert!(err.contains(needle), "warroom {args:?}: stderr lacks {needle:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "error must be one line: {err}");
        err
    }

    /// Opens an incident; returns its id.
    pub fn open(&self, title: &str, sev: &str) -> String {
        self.ok(&["new", title, "--sev", sev]).trim().to_string()
    }

    /// The incident's events as exported JSON, in timeline order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["export", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["events"].as_array().unwrap_or_else(|| panic!("no events array in {v}")).clone()
    }

    /// Events of one type.
    pub fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["type"] == kind).collect()
    }
}

/// A config pointing PagerDuty and the paging webhook at `pd` and `hook`, with fast tries.
pub fn paging_config(pd: &str, hook: &str, extra: &str) -> String {
    format!(
        "[paging]\npagerduty_routing_key = \"R0UTINGKEY\"\npagerduty_url = \"{pd}\"\nwebhook_url = \"{hook}/hooks/secret-token\"\n\
         webhook_headers = {{ Authorization = \"Bearer t0ken\" }}\ntimeout_secs = 3\nretries = 2\n{extra}"
    )
}
