//! A TCP proxy between clients and a server, on 127.0.0.1:0, that a test can fault: pass bytes,
//! black-hole them (connections stay open, nothing moves either way, new ones are accepted and
//! hang), delay every chunk, refuse new connections (RST at once), or reset every open
//! connection (RST) mid-stream. The upstream is a TCP address or a Unix socket (a test Postgres).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Blackhole,
    Delay(Duration),
    /// New connections are reset at once (a dead port; `reset` ends the open ones).
    Refuse,
}

/// Where the proxy connects.
#[derive(Debug, Clone)]
enum Upstream {
    Tcp(SocketAddr),
    Unix(std::path::PathBuf),
}

/// Either kind of upstream stream, split into halves the pumps can own.
type Halves = (Box<dyn tokio::io::AsyncRead + Send + Unpin>, Box<dyn tokio::io::AsyncWrite + Send + Unpin>);

impl Upstream {
    async fn connect(&self) -> std::io::Result<Halves> {
        match self {
            Upstream::Tcp(a) => {
                let s = TcpStream::connect(a).await?;
                let _ = s.set_nodelay(true);
                // SO_LINGER 0 (a reset) never blocks on drop, which is what the deprecation warns about.
                #[allow(deprecated)]
                let _ = s.set_linger(Some(Duration::ZERO));
                let (r, w) = s.into_split();
                Ok((Box::new(r), Box::new(w)))
            }
            Upstream::Unix(p) => {
                let (r, w) = tokio::net::UnixStream::connect(p).await?.into_split();
                Ok((Box::new(r), Box::new(w)))
            }
        }
    }
}

/// A running proxy; dropping it stops it and closes every connection.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    resets: watch::Sender<u64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
}

impl Proxy {
    /// Forwards 127.0.0.1:PORT (chosen now) to `upstream`.
    pub fn start(upstream: &str) -> Proxy {
        Proxy::to(Upstream::Tcp(upstream.parse().expect("upstream IP:PORT")))
    }

    /// Forwards 127.0.0.1:PORT (chosen now) to the Unix socket at `path`.
    pub fn start_unix(path: &std::path::Path) -> Proxy {
        Proxy::to(Upstream::Unix(path.to_path_buf()))
    }

    fn to(upstream: Upstream) -> Proxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (mode, mode_rx) = watch::channel(Mode::Pass);
        let (resets, resets_rx) = watch::channel(0u64);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((conn, _)) = listener.accept().await else { continue };
                        count.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(connection(conn, upstream.clone(), mode_rx.clone(), resets_rx.clone()));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection task and socket.
        });
        Proxy { addr, mode, resets, stop: Some(stop), thread: Some(thread), accepted }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        let _ = self.mode.send(mode);
    }

    /// Resets every connection open now (RST: SO_LINGER 0, then close).
    pub fn reset(&self) {
        self.resets.send_modify(|n| *n += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits while the mode is Blackhole; returns the delay to apply.
async fn gate(mode: &mut watch::Receiver<Mode>) -> Duration {
    loop {
        let m = *mode.borrow_and_update();
        match m {
            Mode::Pass | Mode::Refuse => return Duration::ZERO,
            Mode::Delay(d) => return d,
            Mode::Blackhole => {
                if mode.changed().await.is_err() {
                    return Duration::ZERO;
                }
            }
        }
    }
}

/// Copies one direction chunk by chunk through the gate.
async fn pump(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = gate(&mut mode).await;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

// SO_LINGER 0 (a reset) never blocks on drop, which is what the deprecation warns about.
#[allow(deprecated)]
async fn connection(
    client: TcpStream,
    upstream: Upstream,
    mut mode: watch::Receiver<Mode>,
    mut resets: watch::Receiver<u64>,
) {
    resets.borrow_and_update();
    let _ = client.set_linger(Some(Duration::ZERO));
    // A black-holed proxy accepts (the kernel would) but does not even connect upstream.
    gate(&mut mode).await;
    if *mode.borrow() == Mode::Refuse {
        return;
    }
    let Ok((sr, sw)) = upstream.connect().await else { return };
    let _ = client.set_nodelay(true);
    let (cr, cw) = client.into_split();
    // Dropping both pumps on a reset drops all four halves; with SO_LINGER 0 that sends RST.
    tokio::select! {
        _ = resets.changed() => {}
        _ = async { tokio::join!(pump(cr, sw, mode.clone()), pump(sr, cw, mode)) } => {}
    }
}
