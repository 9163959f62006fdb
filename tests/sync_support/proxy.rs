//! A TCP proxy between clients and a server, on 127.0.0.1:0, that a test can fault: pass bytes,
//! black-hole them (connections stay open, nothing moves either way, new ones are accepted and
//! hang), delay every chunk, or reset every open connection (RST) mid-stream.

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
        let upstream: SocketAddr = upstream.parse().expect("upstream IP:PORT");
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
                        tokio::spawn(connection(conn, upstream, mode_rx.clone(), resets_rx.clone()));
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
            Mode::Pass => return Duration::ZERO,
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
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
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
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    mut resets: watch::Receiver<u64>,
) {
    resets.borrow_and_update();
    // A black-holed proxy accepts (the kernel would) but does not even connect upstream.
    gate(&mut mode).await;
    let Ok(server) = TcpStream::connect(upstream).await else {
        let _ = client.set_linger(Some(Duration::ZERO));
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = client.set_linger(Some(Duration::ZERO));
    let _ = server.set_linger(Some(Duration::ZERO));
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    // Dropping both pumps on a reset drops all four halves; with SO_LINGER 0 that sends RST.
    tokio::select! {
        _ = resets.changed() => {}
        _ = async { tokio::join!(pump(cr, sw, mode.clone()), pump(sr, cw, mode)) } => {}
    }
}
