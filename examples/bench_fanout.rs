//! Latency from a note's append (just before its POST) to its arrival at each of N SSE
//! subscribers, measured with two kinds of subscriber in one run:
//!
//! - `client`: the real `sync::Client` stream (reqwest, the SSE parser, JSON decoding of every
//!   event), as cockpits read it. With 1,000 of them in this process, their reading competes with
//!   the server for the same cores, so this line includes the clients' own cost.
//! - `raw`: a bare reader per subscriber (a plain TCP socket, the request written by hand, bytes
//!   scanned for the frame's `id:` and `data:` lines, no decoding): what is left is the server's
//!   side of fan-out plus a read syscall per subscriber. Each raw arrival is measured twice: when
//!   the reader's `recvmsg` returned it (`raw read`), and when the bytes entered the subscriber's
//!   socket (`raw socket`: the kernel's receive timestamp, `SO_TIMESTAMPNS`; for a read holding
//!   several frames, the timestamp of its last segment, so never earlier than the truth). The
//!   second is "every subscriber has the bytes" without the reader's own wait for a core.
//!
//! Where the server runs (`--server=`):
//! - `inproc` (default): in the bench's own tokio runtime, so its tasks and the readers' share two
//!   worker threads and one run queue.
//! - `thread`: in its own multi-thread runtime (2 workers) in this process; the readers keep theirs.
//!   `FANOUT_EVENT_INTERVAL` and `FANOUT_GLOBAL_QUEUE_INTERVAL` set that runtime's knobs.
//! - `process`: the real `warroom serve` binary (`WARROOM_BIN`, default: `warroom` in the
//!   directory above this example's), as production runs it; only the readers are in this process.
//!
//! - `floor`: not warroom. A bare fan-out in this process, as a peer measured in the same run:
//!   a note is made durable as the server's commit is (a line appended to a file, then
//!   `fdatasync`, the WAL's fsync), and its frame, the same bytes warroom sends, is written to
//!   every subscriber's socket by a task per socket (a tokio broadcast, one `write` each): no
//!   HTTP beyond the response head (the body runs to the connection's end), no database, no
//!   request to decode. Both kinds of reader work with it. What warroom adds over this is its
//!   share; what is left is this machine's cost of fan-out.
//! - `floor-loop`: the same, but the publisher writes the frame to every socket itself, one
//!   `write` after another on its own task: no task per stream and no wake-ups, so the least
//!   user-space work per arrival there is (and one core for all the writes).
//!
//! `--readers=idle` (with `thread` or `process`) runs this process's worker threads, where the
//! readers live, at `SCHED_IDLE`: they get a core only when the server does not want it, as if
//! the subscribers were other machines. The writer stays on the main thread at normal priority.
//! The `raw socket` line is then the server's own fan-out time (the kernel stamps the bytes as
//! the server's write puts them in the subscriber's socket); `raw read` still waits for idle CPU.
//!
//! Every line also gives the POST's round trip (request, commit with fsync, publish, answer):
//! the fixed part of each arrival.
//!
//! Streams are opened one after another (a thousand connects at once overflow the listen backlog
//! and the dropped SYNs come back a second later, joining in the middle of the measurement).
//! Before measuring, the bench waits until every stream has had its first heartbeat (it is
//! live) and no presence message has arrived for 300 ms (the churn of N joins), and it counts any
//! that arrive while notes are measured. Every stream stays open until all have finished, so
//! no one leaving sends presence to the others during the last notes.
//!
//! Run: cargo build --release --example bench_fanout --bin warroom &&
//!      target/release/examples/bench_fanout [SUBSCRIBERS] [NOTES] [client|raw] [--server=inproc|thread|process|floor|floor-loop] [--readers=idle]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use warroom::config::Config;
use warroom::incident::{Event, EventKind, Severity, Tag};
use warroom::server::hub::sse_frame;
use warroom::server::{self, ServeOptions};
use warroom::sync::{Client, StreamItem};

/// What every subscriber shares: when each note was sent (ns since `epoch`, by sequence number),
/// and presence counters.
struct Shared {
    epoch: Instant,
    sent: Vec<AtomicU64>,
    /// The same moments on the wall clock (ns since the Unix epoch), which kernel receive
    /// timestamps are given in.
    sent_wall: Vec<AtomicU64>,
    measuring: std::sync::atomic::AtomicBool,
    /// Streams that had their first heartbeat (caught up, live).
    live: AtomicUsize,
    presence_total: AtomicUsize,
    presence_during: AtomicUsize,
    last_presence_ns: AtomicU64,
    /// Heartbeats that arrived while notes were measured (each costs the server a head read).
    heartbeats_during: AtomicUsize,
    /// Per note (by sequence number): its first and last arrival at any subscriber, ns after
    /// it was sent (raw: the kernel's receive time; client: when the client yielded it).
    first: Vec<AtomicU64>,
    last: Vec<AtomicU64>,
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
    /// Latency of the note `seq` when its bytes reached the socket at `wall_ns` (kernel time).
    fn latency_wall(&self, seq: i64, wall_ns: u64) -> Option<Duration> {
        let at = self.sent_wall.get(usize::try_from(seq).ok()?)?.load(Ordering::Acquire);
        (at != 0).then(|| Duration::from_nanos(wall_ns.saturating_sub(at)))
    }
    /// Notes the arrival of note `seq` after `d`, for its first and last arrival.
    fn arrived(&self, seq: i64, d: Duration) {
        let ns = d.as_nanos() as u64;
        if let Ok(i) = usize::try_from(seq)
            && let (Some(f), Some(l)) = (self.first.get(i), self.last.get(i))
        {
            f.fetch_min(ns, Ordering::Relaxed);
            l.fetch_max(ns, Ordering::Relaxed);
        }
    }
    fn heartbeat(&self, live: &mut bool) {
        if !std::mem::replace(live, true) {
            self.live.fetch_add(1, Ordering::Relaxed);
        }
        if self.measuring.load(Ordering::Relaxed) {
            self.heartbeats_during.fetch_add(1, Ordering::Relaxed);
        }
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

#[derive(Clone, Copy, PartialEq)]
enum Place {
    Inproc,
    Thread,
    Process,
    Floor,
    FloorLoop,
}

/// Something that keeps a stream open while it lives.
type Open = Box<dyn Send>;

/// What a subscriber measured: arrival latencies as read, and (raw only) as the kernel received
/// them, plus reads that came without a kernel timestamp.
struct Measured {
    read: Vec<Duration>,
    socket: Vec<Duration>,
    untimed: usize,
}

fn wall_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// One subscriber through the real client: opens the stream, then a task reads it and returns
/// the latencies of `notes` notes (and the stream, still open).
async fn client_subscriber(
    base: &str,
    inc: uuid::Uuid,
    s: usize,
    notes: usize,
    sh: Arc<Shared>,
) -> tokio::task::JoinHandle<(Measured, Open)> {
    let c = Client::new(base, None, Duration::from_secs(30), &format!("viewer{s}")).expect("client");
    let mut stream = c.stream(inc, 1).await.expect("stream");
    tokio::spawn(async move {
        let mut lat = Vec::with_capacity(notes);
        let mut live = false;
        while lat.len() < notes {
            match stream.next().await {
                Some(Ok(StreamItem::Event { seq, .. })) => {
                    if let Some(d) = sh.latency(seq) {
                        sh.arrived(seq, d);
                        lat.push(d);
                    }
                }
                Some(Ok(StreamItem::Presence(_))) => sh.presence(),
                Some(Ok(StreamItem::Heartbeat { .. })) => sh.heartbeat(&mut live),
                other => panic!("stream ended: {other:?}"),
            }
        }
        (Measured { read: lat, socket: Vec::new(), untimed: 0 }, Box::new((stream, c)) as Open)
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
) -> tokio::task::JoinHandle<(Measured, Open)> {
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    sock.set_nodelay(true).expect("nodelay");
    let req = format!(
        "GET /v1/incidents/{inc}/stream?viewer=viewer{s} HTTP/1.1\r\nHost: bench\r\nLast-Event-ID: 1\r\nAccept: text/event-stream\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.expect("request");
    let sock = sock.into_std().expect("std socket");
    timestamp_arrivals(&sock);
    // SAFETY: the std TcpStream owns its fd, which stays open (and the same) until the AsyncFd
    // drops it.
    let sock =
        unsafe { tokio::io::unix::AsyncFd::register_with_interest(sock, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)
            .expect("register");
    tokio::spawn(raw_read(sock, notes, sh))
}

/// Asks the kernel to stamp received data with the moment it arrived (`SO_TIMESTAMPNS`).
fn timestamp_arrivals(sock: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option of the size given.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt SO_TIMESTAMPNS: {}", std::io::Error::last_os_error());
}

/// One `recvmsg` into `buf`: the byte count and the kernel's receive time of the last segment
/// read (ns since the Unix epoch), when it gave one.
fn recv_stamped(sock: &std::net::TcpStream, buf: &mut [u8]) -> std::io::Result<(usize, Option<u64>)> {
    use std::os::fd::AsRawFd;
    #[repr(C, align(8))]
    struct Control([u8; 128]);
    let mut control = Control([0; 128]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: a valid fd and a msghdr whose buffers are alive and sized as declared.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

async fn raw_read(
    sock: tokio::io::unix::AsyncFd<std::net::TcpStream>,
    notes: usize,
    sh: Arc<Shared>,
) -> (Measured, Open) {
    let mut live = false;
    let mut m = Measured { read: Vec::with_capacity(notes), socket: Vec::with_capacity(notes), untimed: 0 };
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut id: Option<i64> = None;
    while m.read.len() < notes {
        let mut ready = sock.readable().await.expect("readable");
        let (n, stamp) = match ready.try_io(|s| recv_stamped(s.get_ref(), &mut buf[filled..])) {
            Ok(r) => r.expect("read"),
            Err(_would_block) => continue,
        };
        assert!(n > 0, "stream ended");
        // A short read emptied the socket: wait for the next edge (what tokio's own TcpStream
        // does), instead of a second recvmsg that would only say EAGAIN.
        if n < buf.len() - filled {
            ready.clear_ready();
        }
        filled += n;
        let mut start = 0;
        while let Some(nl) = buf[start..filled].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            if let Some(v) = line.strip_prefix(b"id: ") {
                id = std::str::from_utf8(v).ok().and_then(|v| v.trim().parse().ok());
            } else if line.starts_with(b"data: ") {
                if let Some(seq) = id.take()
                    && let Some(read) = sh.latency(seq)
                {
                    m.read.push(read);
                    let at = stamp.and_then(|w| sh.latency_wall(seq, w)).unwrap_or_else(|| {
                        m.untimed += 1;
                        read
                    });
                    sh.arrived(seq, at);
                    m.socket.push(at);
                }
            } else if line == b"event: presence" {
                sh.presence();
            } else if line == b"event: heartbeat" {
                sh.heartbeat(&mut live);
            }
            start += nl + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        assert!(filled < buf.len(), "line longer than the read buffer");
    }
    (m, Box::new(sock))
}

/// A server for one run, wherever `place` puts it.
enum Server {
    Inproc(server::Running),
    Thread(server::Running, tokio::runtime::Runtime),
    Process(std::process::Child),
    Floor(Floor),
}

/// The bare fan-out peer (`--server=floor`): its accept loop, its broadcast, and the file a note
/// is made durable in.
struct Floor {
    tx: broadcast::Sender<axum::body::Bytes>,
    /// `floor-loop`: the streams' sockets, written one after another by the publisher itself.
    sockets: Option<Sockets>,
    log: Arc<std::sync::Mutex<std::fs::File>>,
    accept: tokio::task::JoinHandle<()>,
}

type Sockets = Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>;

impl Floor {
    async fn start(log: std::path::PathBuf, one_loop: bool) -> (Floor, std::net::SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("floor listens");
        let addr = listener.local_addr().expect("floor address");
        let (tx, _) = broadcast::channel(1024);
        let sockets: Option<Sockets> = one_loop.then(Default::default);
        let (streams, to) = (tx.clone(), sockets.clone());
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                sock.set_nodelay(true).expect("nodelay");
                tokio::spawn(floor_stream(sock, streams.subscribe(), to.clone()));
            }
        });
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("floor log");
        (Floor { tx, sockets, log: Arc::new(std::sync::Mutex::new(log)), accept }, addr)
    }

    /// Appends the note and syncs it, then hands its frame to every stream.
    async fn publish(&self, seq: i64, ev: &Event) {
        let json = serde_json::to_string(ev).expect("event json");
        let frame = sse_frame("event", Some(seq), &json);
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut f = log.lock().expect("floor log lock");
            f.write_all(json.as_bytes()).and_then(|_| f.write_all(b"\n")).and_then(|_| f.sync_data())
        })
        .await
        .expect("floor commit task")
        .expect("floor commit");
        match &self.sockets {
            // One `write` per socket in a row, on this task: no wake-ups at all.
            Some(sockets) => {
                for sock in sockets.lock().expect("floor sockets").iter() {
                    let n = sock.try_write(&frame).expect("a floor socket takes the frame at once");
                    assert_eq!(n, frame.len(), "a floor socket took part of a frame");
                }
            }
            None => {
                self.tx.send(frame).expect("floor subscribers");
            }
        }
    }
}

/// One floor stream: reads the request head, answers with the response head and a heartbeat (the
/// raw reader's "live"), then writes every frame published (or, for `floor-loop`, hands its
/// socket to the publisher).
async fn floor_stream(
    mut sock: tokio::net::TcpStream,
    mut rx: broadcast::Receiver<axum::body::Bytes>,
    to: Option<Sockets>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let mut hello = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n".to_vec();
    // A heartbeat the real client reads too (head: the open event; every: never again).
    hello.extend_from_slice(&sse_frame("heartbeat", None, r#"{"head":1,"every_ms":3600000}"#));
    if sock.write_all(&hello).await.is_err() {
        return;
    }
    if let Some(to) = to {
        to.lock().expect("floor sockets").push(sock);
        return;
    }
    loop {
        match rx.recv().await {
            Ok(frame) => {
                if sock.write_all(&frame).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => panic!("a floor stream lagged {n} frames"),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Who writes the notes: the real client's POST, or the floor's commit and publish.
enum Writer {
    Api(Client),
    Floor,
}

impl Writer {
    /// Writes note `seq` and returns when it is acknowledged (stored, or for the floor synced and
    /// handed to the streams).
    async fn push(&self, srv: &Server, inc: uuid::Uuid, seq: i64, ev: &Event) {
        match (self, srv) {
            (Writer::Api(c), _) => {
                let acks = c.push(inc, std::slice::from_ref(ev)).await.expect("push");
                assert_eq!(acks[0].seq, seq, "one writer: this note is seq {seq}");
            }
            (Writer::Floor, Server::Floor(f)) => f.publish(seq, ev).await,
            (Writer::Floor, _) => unreachable!("the floor writer goes with the floor server"),
        }
    }
}

impl Server {
    async fn start(place: Place, db: std::path::PathBuf) -> (Server, std::net::SocketAddr) {
        let opts = || ServeOptions::from_config("127.0.0.1:0", db.clone(), true, &Config::default());
        match place {
            Place::Inproc => {
                let srv = server::start(opts()).await.expect("server starts");
                let addr = srv.addr;
                (Server::Inproc(srv), addr)
            }
            Place::Thread => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.enable_all().worker_threads(2).thread_name("server");
                if let Some(n) = env_knob("FANOUT_EVENT_INTERVAL") {
                    b.event_interval(n);
                }
                if let Some(n) = env_knob("FANOUT_GLOBAL_QUEUE_INTERVAL") {
                    b.global_queue_interval(n);
                }
                let rt = b.build().expect("server runtime");
                let srv = rt.spawn(server::start(opts())).await.expect("server task").expect("server starts");
                let addr = srv.addr;
                (Server::Thread(srv, rt), addr)
            }
            Place::Floor | Place::FloorLoop => {
                let (floor, addr) = Floor::start(db.with_extension("log"), place == Place::FloorLoop).await;
                (Server::Floor(floor), addr)
            }
            Place::Process => {
                let bin =
                    std::env::var_os("WARROOM_BIN").map(std::path::PathBuf::from).unwrap_or_else(|| {
                        let exe = std::env::current_exe().expect("current exe");
                        exe.parent().and_then(|d| d.parent()).expect("target dir").join("warroom")
                    });
                let dir = db.parent().expect("db in a temp dir").to_path_buf();
                // An empty config of its own: nothing from this machine's user config leaks in.
                std::fs::write(dir.join("config.toml"), "").expect("write config");
                let mut child = std::process::Command::new(&bin)
                    .args(["serve", "--listen", "127.0.0.1:0", "--insecure-loopback", "--db"])
                    .arg(&db)
                    .env("WARROOM_DATA_DIR", &dir)
                    .env("WARROOM_CONFIG", dir.join("config.toml"))
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| {
                        panic!("{}: {e} (build it: cargo build --release --bin warroom)", bin.display())
                    });
                let out = child.stdout.take().expect("stdout");
                let line = tokio::task::spawn_blocking(move || {
                    let mut line = String::new();
                    std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).map(|_| line)
                })
                .await
                .expect("reader")
                .expect("serve's first line");
                let addr = line
                    .strip_prefix("listening on http://")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("{}: unexpected first line {line:?}", bin.display()));
                (Server::Process(child), addr)
            }
        }
    }

    async fn stop(self) {
        match self {
            Server::Floor(f) => {
                f.accept.abort();
                drop(f.tx);
            }
            Server::Inproc(srv) => srv.stop().await.expect("stop"),
            Server::Thread(srv, rt) => {
                rt.spawn(srv.stop()).await.expect("stop task").expect("stop");
                rt.shutdown_background();
            }
            Server::Process(mut child) => {
                // The server's own CPU time, apart from the readers' (utime and stime in
                // /proc/PID/stat, in clock ticks of 10 ms).
                if let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                    && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
                {
                    let f: Vec<&str> = rest.split_whitespace().collect();
                    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                    // Fields 14 and 15 of stat; `rest` starts at field 3.
                    let (user, sys) = (ticks(11) / 100.0, ticks(12) / 100.0);
                    println!("            warroom serve CPU: user {user:.2} s, system {sys:.2} s");
                }
                // SIGTERM: the graceful path `warroom serve` takes in production.
                let _ = rustix::process::kill_process(
                    rustix::process::Pid::from_child(&child),
                    rustix::process::Signal::TERM,
                );
                let _ = tokio::task::spawn_blocking(move || child.wait()).await;
            }
        }
    }
}

fn env_knob(name: &str) -> Option<u32> {
    let v = std::env::var(name).ok()?;
    Some(v.parse().unwrap_or_else(|_| panic!("{name}={v}: expected a number")))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    ms(sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)])
}

/// This process's CPU time so far (user, system), in seconds.
fn own_cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (s(u.ru_utime), s(u.ru_stime))
}

async fn run(mode: Mode, place: Place, subscribers: usize, notes: usize, idle_readers: bool) {
    let cpu0 = own_cpu();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (srv, addr) = Server::start(place, tmp.path().join("bench.db")).await;
    let base = format!("http://{addr}");
    let open = Event::open(Utc::now(), "writer", "fan-out".into(), Severity::new(3).unwrap(), None);
    let inc = open.id;
    let writer = if matches!(place, Place::Floor | Place::FloorLoop) {
        Writer::Floor
    } else {
        let c = Client::new(&base, None, Duration::from_secs(10), "writer").expect("client");
        c.push(inc, std::slice::from_ref(&open)).await.expect("open");
        Writer::Api(c)
    };

    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        sent: (0..notes + 2).map(|_| AtomicU64::new(0)).collect(),
        sent_wall: (0..notes + 2).map(|_| AtomicU64::new(0)).collect(),
        measuring: Default::default(),
        live: AtomicUsize::new(0),
        presence_total: AtomicUsize::new(0),
        presence_during: AtomicUsize::new(0),
        last_presence_ns: AtomicU64::new(0),
        heartbeats_during: AtomicUsize::new(0),
        first: (0..notes + 2).map(|_| AtomicU64::new(u64::MAX)).collect(),
        last: (0..notes + 2).map(|_| AtomicU64::new(0)).collect(),
    });
    let setup = Instant::now();
    let mut readers = Vec::with_capacity(subscribers);
    for s in 0..subscribers {
        let sh = sh.clone();
        readers.push(match mode {
            Mode::Client => client_subscriber(&base, inc, s, notes, sh).await,
            Mode::Raw => raw_subscriber(addr, inc, s, notes, sh).await,
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
    let mut posts = Vec::with_capacity(notes);
    for i in 0..notes {
        let ev = Event::new(
            inc,
            Utc::now(),
            "writer",
            EventKind::Note { text: format!("note {i}"), tag: Tag::Note },
        );
        let seq = i + 2;
        sh.sent_wall[seq].store(wall_ns(), Ordering::Release);
        let at = sh.now_ns();
        sh.sent[seq].store(at, Ordering::Release);
        writer.push(&srv, inc, seq as i64, &ev).await;
        posts.push(Duration::from_nanos(sh.now_ns() - at));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut read = Vec::with_capacity(subscribers * notes);
    let mut socket = Vec::with_capacity(subscribers * notes);
    let mut untimed = 0;
    let mut open = Vec::with_capacity(subscribers);
    for r in readers {
        let (m, stream) = r.await.expect("subscriber finished");
        read.extend(m.read);
        socket.extend(m.socket);
        untimed += m.untimed;
        open.push(stream);
    }
    let presence_during = sh.presence_during.load(Ordering::Relaxed);
    let heartbeats_during = sh.heartbeats_during.load(Ordering::Relaxed);
    drop(open);
    read.sort();
    socket.sort();
    posts.sort();
    let per_note = |v: &[AtomicU64]| {
        let mut d: Vec<Duration> =
            v[2..].iter().map(|a| Duration::from_nanos(a.load(Ordering::Relaxed))).collect();
        d.sort();
        d
    };
    let (first, last) = (per_note(&sh.first), per_note(&sh.last));
    let place = match (place, idle_readers) {
        (Place::Inproc, _) => "inproc",
        (Place::Thread, false) => "thread",
        (Place::Process, false) => "process",
        (Place::Thread, true) => "thread/idle-readers",
        (Place::Process, true) => "process/idle-readers",
        (Place::Floor, _) => "floor",
        (Place::FloorLoop, _) => "floor-loop",
    };
    let line = |name: &str, all: &[Duration]| {
        println!(
            "{name:<11} {place:<7} {subscribers:>5} subscribers x {notes} notes = {} arrivals: p50 {:6.2} ms, p99 {:6.2} ms, max {:7.2} ms",
            all.len(),
            pct(all, 0.5),
            pct(all, 0.99),
            all.last().map_or(0.0, |d| ms(*d)),
        )
    };
    match mode {
        Mode::Client => line("client", &read),
        Mode::Raw => {
            line("raw read", &read);
            line("raw socket", &socket);
        }
    }
    println!(
        "            per note: first arrival p50 {:.2} ms, max {:.2} ms; every subscriber has it (last arrival) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(&first, 0.5),
        pct(&first, 1.0),
        pct(&last, 0.5),
        pct(&last, 0.99),
        pct(&last, 1.0),
    );
    println!(
        "            {} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; setup {:.1} s; while measuring: {presence_during} presence, {heartbeats_during} heartbeats{}",
        match place {
            "floor" => "commit (append + fdatasync) and publish",
            "floor-loop" => "commit (append + fdatasync) and every socket's write",
            _ => "POST round trip",
        },
        pct(&posts, 0.5),
        pct(&posts, 0.99),
        posts.last().map_or(0.0, |d| ms(*d)),
        setup.as_secs_f64(),
        if untimed > 0 {
            format!("; {untimed} raw reads without a kernel timestamp (counted as read)")
        } else {
            String::new()
        },
    );
    srv.stop().await;
    let cpu1 = own_cpu();
    println!(
        "            bench process CPU (setup and all): user {:.2} s, system {:.2} s",
        cpu1.0 - cpu0.0,
        cpu1.1 - cpu0.1
    );
}

/// Puts the calling thread in the `SCHED_IDLE` class: it runs only on a core nothing else wants.
fn idle_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; the param is a valid struct for SCHED_IDLE.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    assert_eq!(r, 0, "sched_setscheduler(SCHED_IDLE): {}", std::io::Error::last_os_error());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut nums = Vec::new();
    let mut modes = vec![Mode::Raw, Mode::Client];
    let mut place = Place::Inproc;
    let mut idle_readers = false;
    for a in &args {
        if let Ok(n) = a.parse::<usize>() {
            nums.push(n);
            continue;
        }
        match a.as_str() {
            "client" => modes = vec![Mode::Client],
            "raw" => modes = vec![Mode::Raw],
            "--server=inproc" => place = Place::Inproc,
            "--server=thread" => place = Place::Thread,
            "--server=process" => place = Place::Process,
            "--server=floor" => place = Place::Floor,
            "--server=floor-loop" => place = Place::FloorLoop,
            "--readers=idle" => idle_readers = true,
            other => {
                eprintln!(
                    "bench_fanout: unknown argument `{other}`: expected SUBSCRIBERS NOTES, client or raw, --server=inproc|thread|process|floor|floor-loop, --readers=idle"
                );
                std::process::exit(2);
            }
        }
    }
    if idle_readers && matches!(place, Place::Inproc | Place::Floor | Place::FloorLoop) {
        eprintln!(
            "bench_fanout: --readers=idle needs --server=thread or --server=process (in-process, the server would be idle too)"
        );
        std::process::exit(2);
    }
    let subscribers = nums.first().copied().unwrap_or(100);
    let notes = nums.get(1).copied().unwrap_or(200);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if idle_readers {
        // Only this runtime's workers (and blocking threads). A new thread or process inherits
        // its creator's policy: the server (its runtime or its process) is started from the
        // main thread, which `block_on` keeps at normal priority, as it does the writer.
        rt.on_thread_start(idle_priority);
    }
    let rt = rt.build().expect("runtime");
    rt.block_on(async {
        for mode in modes {
            run(mode, place, subscribers, notes, idle_readers).await;
        }
    });
}
