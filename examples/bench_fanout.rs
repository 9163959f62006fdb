//! Latency from a note's append (just before its POST) to its arrival at each of N SSE
//! subscribers, measured with two kinds of subscriber in one run:
//!
//! - `client`: the real `sync::Client` stream (reqwest, the SSE parser, JSON decoding of every
//!   event), as cockpits read it. With 1,000 of them in this process, their reading competes with
//!   the server for the same cores, so this line includes the clients' own cost.
//! - `raw`: a bare reader per subscriber (a plain TCP socket, the request written by hand, bytes
//!   scanned for the frame's `id:` and `data:` lines, no decoding): what is left is the server's
//!   side of fan-out plus a read syscall per subscriber.
//!
//! Streams are opened one after another (a thousand connects at once overflow the listen backlog
//! and the dropped SYNs come back a second later, joining in the middle of the measurement).
//! Before measuring, the bench waits until every stream has had its first heartbeat (it is
//! live) and no presence message has arrived for 300 ms (the churn of N joins), and it counts any
//! that arrive while notes are measured. Every stream stays open until all have finished, so
//! no one leaving sends presence to the others during the last notes.
//!
//! Run: cargo build --release --example bench_fanout &&
//!      target/release/examples/bench_fanout [SUBSCRIBERS] [NOTES] [client|raw]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warroom::config::Config;
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::{self, ServeOptions};
use warroom::sync::{Client, StreamItem};

/// What every subscriber shares: when each note was sent (ns since `epoch`, by sequence number),
/// and presence counters.
struct Shared {
    epoch: Instant,
    sent: Vec<AtomicU64>,
    measuring: std::sync::atomic::AtomicBool,
    /// Streams that had their first heartbeat (caught up, live).
    live: AtomicUsize,
    presence_total: AtomicUsize,
    presence_during: AtomicUsize,
    last_presence_ns: AtomicU64,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
    /// Latency of the note with sequence number `seq`, when it is one being measured.
    fn latency(&self, seq: i64) -> Option<Duration> {
        let at = self.sent.get(usize::try_from(seq).ok()?)?.load(Ordering::Acquire);
        (at != 0).then(|| Duration::from_nanos(self.now_ns().saturating_sub(at)))
    }
    fn presence(&self) {
        self.presence_total.fetch_add(1, Ordering::Relaxed);
        self.last_presence_ns.store(self.now_ns(), Ordering::Relaxed);
        if self.measuring.load(Ordering::Relaxed) {
            self.presence_during.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Client,
    Raw,
}

/// Something that keeps a stream open while it lives.
type Open = Box<dyn Send>;

/// One subscriber through the real client: opens the stream, then a task reads it and returns
/// the latencies of `notes` notes (and the stream, still open).
async fn client_subscriber(
    base: &str,
    inc: uuid::Uuid,
    s: usize,
    notes: usize,
    sh: Arc<Shared>,
) -> tokio::task::JoinHandle<(Vec<Duration>, Open)> {
    let c = Client::new(base, None, Duration::from_secs(30), &format!("viewer{s}")).expect("client");
    let mut stream = c.stream(inc, 1).await.expect("stream");
    tokio::spawn(async move {
        let mut lat = Vec::with_capacity(notes);
        let mut live = false;
        while lat.len() < notes {
            match stream.next().await {
                Some(Ok(StreamItem::Event { seq, .. })) => lat.extend(sh.latency(seq)),
                Some(Ok(StreamItem::Presence(_))) => sh.presence(),
                Some(Ok(StreamItem::Heartbeat { .. })) => {
                    if !std::mem::replace(&mut live, true) {
                        sh.live.fetch_add(1, Ordering::Relaxed);
                    }
                }
                other => panic!("stream ended: {other:?}"),
            }
        }
        (lat, Box::new((stream, c)) as Open)
    })
}

/// One subscriber on a bare socket: connects and sends the request, then a task scans the
/// (chunked) response for `event:`, `id:` and `data:` lines and takes a note as arrived when its
/// `data:` line is complete.
async fn raw_subscriber(
    addr: std::net::SocketAddr,
    inc: uuid::Uuid,
    s: usize,
    notes: usize,
    sh: Arc<Shared>,
) -> tokio::task::JoinHandle<(Vec<Duration>, Open)> {
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    sock.set_nodelay(true).expect("nodelay");
    let req = format!(
        "GET /v1/incidents/{inc}/stream?viewer=viewer{s} HTTP/1.1\r\nHost: bench\r\nLast-Event-ID: 1\r\nAccept: text/event-stream\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.expect("request");
    tokio::spawn(raw_read(sock, notes, sh))
}

async fn raw_read(mut sock: tokio::net::TcpStream, notes: usize, sh: Arc<Shared>) -> (Vec<Duration>, Open) {
    let mut live = false;
    let mut lat = Vec::with_capacity(notes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut id: Option<i64> = None;
    while lat.len() < notes {
        let n = sock.read(&mut buf[filled..]).await.expect("read");
        assert!(n > 0, "stream ended");
        filled += n;
        let mut start = 0;
        while let Some(nl) = buf[start..filled].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            if let Some(v) = line.strip_prefix(b"id: ") {
                id = std::str::from_utf8(v).ok().and_then(|v| v.trim().parse().ok());
            } else if line.starts_with(b"data: ") {
                if let Some(seq) = id.take() {
                    lat.extend(sh.latency(seq));
                }
            } else if line == b"event: presence" {
                sh.presence();
            } else if line == b"event: heartbeat" && !std::mem::replace(&mut live, true) {
                sh.live.fetch_add(1, Ordering::Relaxed);
            }
            start += nl + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        assert!(filled < buf.len(), "line longer than the read buffer");
    }
    (lat, Box::new(sock))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(mode: Mode, subscribers: usize, notes: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let srv = server::start(ServeOptions::from_config(
        "127.0.0.1:0",
        tmp.path().join("bench.db"),
        true,
        &Config::default(),
    ))
    .await
    .expect("server starts");
    let base = format!("http://{}", srv.addr);
    let writer = Client::new(&base, None, Duration::from_secs(10), "writer").expect("client");
    let open = Event::open(Utc::now(), "writer", "fan-out".into(), Severity::new(3).unwrap(), None);
    let inc = open.id;
    writer.push(inc, std::slice::from_ref(&open)).await.expect("open");

    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        sent: (0..notes + 2).map(|_| AtomicU64::new(0)).collect(),
        measuring: Default::default(),
        live: AtomicUsize::new(0),
        presence_total: AtomicUsize::new(0),
        presence_during: AtomicUsize::new(0),
        last_presence_ns: AtomicU64::new(0),
    });
    let setup = Instant::now();
    let mut readers = Vec::with_capacity(subscribers);
    for s in 0..subscribers {
        let sh = sh.clone();
        readers.push(match mode {
            Mode::Client => client_subscriber(&base, inc, s, notes, sh).await,
            Mode::Raw => raw_subscriber(srv.addr, inc, s, notes, sh).await,
        });
    }
    // Wait until every stream is live and the presence churn of the joins has ended (300 ms
    // without a presence message), at most 30 s.
    let settle = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let quiet = sh.now_ns().saturating_sub(sh.last_presence_ns.load(Ordering::Relaxed));
        if sh.live.load(Ordering::Relaxed) == subscribers && quiet > 300_000_000 {
            break;
        }
        assert!(settle.elapsed() < Duration::from_secs(30), "streams did not settle in 30 s");
    }
    let setup = setup.elapsed();
    sh.measuring.store(true, Ordering::Relaxed);
    for i in 0..notes {
        let ev = Event::new(
            inc,
            Utc::now(),
            "writer",
            EventKind::Note { text: format!("note {i}"), tag: Tag::Note },
        );
        let seq = i + 2;
        sh.sent[seq].store(sh.now_ns(), Ordering::Release);
        let acks = writer.push(inc, std::slice::from_ref(&ev)).await.expect("push");
        assert_eq!(acks[0].seq, seq as i64, "one writer: note {i} is seq {seq}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut all = Vec::with_capacity(subscribers * notes);
    let mut open = Vec::with_capacity(subscribers);
    for r in readers {
        let (lat, stream) = r.await.expect("subscriber finished");
        all.extend(lat);
        open.push(stream);
    }
    let presence_during = sh.presence_during.load(Ordering::Relaxed);
    drop(open);
    all.sort();
    let pct = |p: f64| ms(all[((all.len() as f64 * p) as usize).min(all.len() - 1)]);
    let name = match mode {
        Mode::Client => "client",
        Mode::Raw => "raw   ",
    };
    println!(
        "{name} {subscribers:>5} subscribers x {notes} notes = {} arrivals: p50 {:6.2} ms, p99 {:6.2} ms, max {:7.2} ms \
         (setup {:.1} s, presence messages while measuring: {})",
        all.len(),
        pct(0.5),
        pct(0.99),
        all.last().map_or(0.0, |d| ms(*d)),
        setup.as_secs_f64(),
        presence_during,
    );
    srv.stop().await.expect("stop");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let subscribers = nums.first().copied().unwrap_or(100);
    let notes = nums.get(1).copied().unwrap_or(200);
    let modes: Vec<Mode> = match args.iter().find(|a| a.parse::<usize>().is_err()).map(String::as_str) {
        Some("client") => vec![Mode::Client],
        Some("raw") => vec![Mode::Raw],
        Some(other) => {
            eprintln!("bench_fanout: unknown mode `{other}`: expected client or raw (default: both)");
            std::process::exit(2);
        }
        None => vec![Mode::Raw, Mode::Client],
    };
    for mode in modes {
        run(mode, subscribers, notes).await;
    }
}
