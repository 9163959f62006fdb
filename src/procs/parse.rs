//! Pure parsers for the /proc text formats the sampler and the kill guard read.
//!
//! Everything here takes bytes and returns values: no IO, no clock. The hot-path parser
//! (`parse_stat`) borrows from its input and allocates nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// `PF_KTHREAD` in field 9 (flags) of /proc/PID/stat: the task is a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// Why a /proc file could not be parsed: the file and the field that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("{file}: missing field `{field}`")]
    Missing { file: &'static str, field: &'static str },
    #[error("{file}: field `{field}` is not a number")]
    NotANumber { file: &'static str, field: &'static str },
    #[error("{file}: no `(comm)` with a closing parenthesis")]
    NoComm { file: &'static str },
}

/// The fields of /proc/PID/stat warroom uses. `comm` borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat<'a> {
    pub pid: i32,
    /// The kernel's task name (at most 15 bytes, may hold spaces, parentheses, any byte but NUL).
    pub comm: &'a [u8],
    /// One letter: R S D Z T t X I ...
    pub state: u8,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty_nr: i32,
    pub flags: u32,
    /// User-mode CPU time in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time in clock ticks.
    pub stime: u64,
    pub priority: i64,
    pub nice: i64,
    pub num_threads: i64,
    /// Start time in clock ticks since boot: with the pid, the identity of a process.
    pub start_time: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

impl ProcStat<'_> {
    /// True when the kernel flags the task as a kernel thread (or it is kthreadd or its child).
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0 || self.pid == 2 || self.ppid == 2
    }

    /// utime + stime in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        self.utime.saturating_add(self.stime)
    }
}

/// Parses /proc/PID/stat. The comm is everything between the first `(` and the LAST `)`, so a
/// name like `a) R (b` cannot shift the fields that follow.
pub fn parse_stat(buf: &[u8]) -> Result<ProcStat<'_>, ParseError> {
    const F: &str = "stat";
    let open = buf.iter().position(|&b| b == b'(').ok_or(ParseError::NoComm { file: F })?;
    let close = buf.iter().rposition(|&b| b == b')').ok_or(ParseError::NoComm { file: F })?;
    if close < open {
        return Err(ParseError::NoComm { file: F });
    }
    let pid = num_i64(trim(&buf[..open]), F, "pid")? as i32;
    let comm = &buf[open + 1..close];
    // Fields from 3 (state) onwards, indexed so that `rest[n - 3]` is field n of proc(5).
    let mut rest = [&b""[..]; 22];
    let toks = buf[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
    for (slot, tok) in rest.iter_mut().zip(toks) {
        *slot = tok;
    }
    let field = |num: usize, name: &'static str| -> Result<&[u8], ParseError> {
        match rest.get(num - 3) {
            Some(t) if !t.is_empty() => Ok(*t),
            _ => Err(ParseError::Missing { file: F, field: name }),
        }
    };
    let u = |num: usize, name: &'static str| num_u64(field(num, name)?, F, name);
    let i = |num: usize, name: &'static str| num_i64(field(num, name)?, F, name);
    Ok(ProcStat {
        pid,
        comm,
        state: field(3, "state")?[0],
        ppid: i(4, "ppid")? as i32,
        pgrp: i(5, "pgrp")? as i32,
        session: i(6, "session")? as i32,
        tty_nr: i(7, "tty_nr")? as i32,
        flags: u(9, "flags")? as u32,
        utime: u(14, "utime")?,
        stime: u(15, "stime")?,
        priority: i(18, "priority")?,
        nice: i(19, "nice")?,
        num_threads: i(20, "num_threads")?,
        start_time: u(22, "starttime")?,
        vsize: u(23, "vsize")?,
        rss_pages: i(24, "rss")?.max(0) as u64,
    })
}

/// The fields of /proc/PID/status warroom uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStatus {
    pub name: String,
    pub state: Option<u8>,
    pub ppid: Option<i32>,
    /// Real, effective, saved and filesystem uid.
    pub uid: Option<[u32; 4]>,
    pub threads: Option<i64>,
    /// Resident set size in bytes (None for kernel threads, which have no VmRSS line).
    pub vm_rss: Option<u64>,
}

/// Parses /proc/PID/status. Unknown or malformed lines are skipped; only `Uid:` is required.
pub fn parse_status(buf: &[u8]) -> Result<ProcStatus, ParseError> {
    let mut st = ProcStatus::default();
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (key, val) = (&line[..colon], trim(&line[colon + 1..]));
        match key {
            b"Name" => st.name = String::from_utf8_lossy(val).into_owned(),
            b"State" => st.state = val.first().copied(),
            b"PPid" => st.ppid = num_i64(val, "status", "PPid").ok().map(|v| v as i32),
            b"Threads" => st.threads = num_i64(val, "status", "Threads").ok(),
            b"VmRSS" => st.vm_rss = kb_value(val).map(|kb| kb * 1024),
            b"Uid" => {
                let mut ids = [0u32; 4];
                let mut toks = val.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
                for slot in ids.iter_mut() {
                    let t = toks.next().ok_or(ParseError::Missing { file: "status", field: "Uid" })?;
                    *slot = num_u64(t, "status", "Uid")? as u32;
                }
                st.uid = Some(ids);
            }
            _ => {}
        }
    }
    if st.uid.is_none() {
        return Err(ParseError::Missing { file: "status", field: "Uid" });
    }
    Ok(st)
}

/// Cumulative CPU time of one `cpu` line of /proc/stat, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    /// All time (guest time is already inside user and nice, so it is not added again).
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq + self.steal
    }

    /// Time not spent idle or waiting for IO.
    pub fn busy(&self) -> u64 {
        self.total() - self.idle - self.iowait
    }
}

/// The CPU lines of /proc/stat: the aggregate `cpu` line and each `cpuN` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatCpus {
    pub total: CpuTimes,
    pub per_cpu: Vec<CpuTimes>,
}

/// Parses the `cpu` lines of /proc/stat into `out`, reusing its per-CPU vector.
pub fn parse_proc_stat_into(buf: &[u8], out: &mut StatCpus) -> Result<(), ParseError> {
    out.per_cpu.clear();
    let mut seen_total = false;
    for line in buf.split(|&b| b == b'\n') {
        if !line.starts_with(b"cpu") {
            continue;
        }
        let mut toks = line.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty());
        let Some(label) = toks.next() else { continue };
        let mut v = [0u64; 8];
        for slot in v.iter_mut() {
            // Old kernels have fewer columns: missing ones are zero.
            match toks.next() {
                Some(t) => *slot = num_u64(t, "/proc/stat", "cpu")?,
                None => break,
            }
        }
        let t = CpuTimes {
            user: v[0],
            nice: v[1],
            system: v[2],
            idle: v[3],
            iowait: v[4],
            irq: v[5],
            softirq: v[6],
            steal: v[7],
        };
        if label == b"cpu" {
            out.total = t;
            seen_total = true;
        } else {
            out.per_cpu.push(t);
        }
    }
    if !seen_total {
        return Err(ParseError::Missing { file: "/proc/stat", field: "cpu" });
    }
    Ok(())
}

/// The lines of /proc/meminfo the header shows, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl MemInfo {
    /// Memory in use: total minus available (what `free` calls used plus shared).
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }

    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }
}

/// Parses /proc/meminfo. Without `MemAvailable` (kernels before 3.14) it is estimated as
/// free + buffers + cached.
pub fn parse_meminfo(buf: &[u8]) -> Result<MemInfo, ParseError> {
    let mut m = MemInfo::default();
    let mut have_total = false;
    let mut have_available = false;
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let Some(v) = kb_value(trim(&line[colon + 1..])).map(|kb| kb * 1024) else { continue };
        match &line[..colon] {
            b"MemTotal" => {
                m.total = v;
                have_total = true;
            }
            b"MemFree" => m.free = v,
            b"MemAvailable" => {
                m.available = v;
                have_available = true;
            }
            b"Buffers" => m.buffers = v,
            b"Cached" => m.cached = v,
            b"SwapTotal" => m.swap_total = v,
            b"SwapFree" => m.swap_free = v,
            _ => {}
        }
    }
    if !have_total {
        return Err(ParseError::Missing { file: "/proc/meminfo", field: "MemTotal" });
    }
    if !have_available {
        m.available = m.free + m.buffers + m.cached;
    }
    Ok(m)
}

/// /proc/loadavg: the three load averages and the running/total task counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
    pub running: u32,
    pub tasks: u32,
}

pub fn parse_loadavg(buf: &[u8]) -> Result<LoadAvg, ParseError> {
    const F: &str = "/proc/loadavg";
    let text = std::str::from_utf8(buf).map_err(|_| ParseError::NotANumber { file: F, field: "load" })?;
    let mut toks = text.split_ascii_whitespace();
    let mut load = |field: &'static str| -> Result<f64, ParseError> {
        toks.next()
            .ok_or(ParseError::Missing { file: F, field })?
            .parse::<f64>()
            .map_err(|_| ParseError::NotANumber { file: F, field })
    };
    let (one, five, fifteen) = (load("1min")?, load("5min")?, load("15min")?);
    let tasks_tok = toks.next().ok_or(ParseError::Missing { file: F, field: "running/total" })?;
    let (running, tasks) =
        tasks_tok.split_once('/').ok_or(ParseError::Missing { file: F, field: "running/total" })?;
    let n =
        |s: &str| s.parse::<u32>().map_err(|_| ParseError::NotANumber { file: F, field: "running/total" });
    Ok(LoadAvg { one, five, fifteen, running: n(running)?, tasks: n(tasks)? })
}

/// /proc/uptime: seconds since boot.
pub fn parse_uptime(buf: &[u8]) -> Result<f64, ParseError> {
    const F: &str = "/proc/uptime";
    let text = std::str::from_utf8(buf).map_err(|_| ParseError::NotANumber { file: F, field: "uptime" })?;
    text.split_ascii_whitespace()
        .next()
        .ok_or(ParseError::Missing { file: F, field: "uptime" })?
        .parse::<f64>()
        .map_err(|_| ParseError::NotANumber { file: F, field: "uptime" })
}

/// Splits a NUL-separated list (/proc/PID/cmdline, environ) into its non-empty-tail items.
/// A trailing NUL does not produce an empty last item.
pub fn split_nul(buf: &[u8]) -> Vec<String> {
    let buf = buf.strip_suffix(b"\0").unwrap_or(buf);
    if buf.is_empty() {
        return Vec::new();
    }
    buf.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// The cmdline as one display line: arguments joined by single spaces.
pub fn cmdline_display(buf: &[u8]) -> String {
    split_nul(buf).join(" ")
}

/// Parses /etc/passwd into (uid, name) pairs, skipping malformed lines and comments.
pub fn parse_passwd(buf: &[u8]) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for line in buf.split(|&b| b == b'\n') {
        if line.starts_with(b"#") {
            continue;
        }
        let mut cols = line.split(|&b| b == b':');
        let (Some(name), Some(_pw), Some(uid)) = (cols.next(), cols.next(), cols.next()) else { continue };
        if name.is_empty() {
            continue;
        }
        if let Ok(uid) = num_u64(uid, "passwd", "uid") {
            out.push((uid as u32, String::from_utf8_lossy(name).into_owned()));
        }
    }
    out
}

/// What /proc/PID/cgroup says about where a process runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CgroupInfo {
    /// The innermost systemd unit (`nginx.service`, `session-3.scope`), if any.
    pub unit: Option<String>,
    /// A container id (64 hex digits) from docker, containerd, cri-o, podman or kubepods paths.
    pub container: Option<String>,
    /// The unified (v2) path, or the first v1 path when there is no v2 line.
    pub path: String,
}

const UNIT_SUFFIXES: [&str; 6] = [".service", ".scope", ".socket", ".mount", ".swap", ".timer"];

/// Parses /proc/PID/cgroup (v1 or v2) into systemd unit and container id.
pub fn parse_cgroup(buf: &[u8]) -> CgroupInfo {
    let text = String::from_utf8_lossy(buf);
    let mut info = CgroupInfo::default();
    let mut paths: Vec<&str> = Vec::new();
    for line in text.lines() {
        // hierarchy-ID:controller-list:path; the path may itself contain ':'.
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
        if id == "0" && ctrl.is_empty() {
            paths.insert(0, path);
        } else {
            paths.push(path);
        }
    }
    info.path = paths.first().map(|p| p.to_string()).unwrap_or_default();
    for path in &paths {
        if info.unit.is_none() {
            info.unit = path
                .rsplit('/')
                .find(|c| UNIT_SUFFIXES.iter().any(|s| c.ends_with(s) && c.len() > s.len()))
                .map(str::to_string);
        }
        if info.container.is_none() {
            info.container = path.split('/').find_map(container_id);
        }
    }
    info
}

/// A 64-hex-digit container id inside one cgroup path component (`docker-<id>.scope`,
/// `cri-containerd-<id>.scope`, `<id>`, ...).
fn container_id(component: &str) -> Option<String> {
    let bytes = component.as_bytes();
    let mut run_start = 0;
    for i in 0..=bytes.len() {
        let hex = i < bytes.len() && bytes[i].is_ascii_hexdigit() && !bytes[i].is_ascii_uppercase();
        if !hex {
            if i - run_start == 64 {
                return Some(component[run_start..i].to_string());
            }
            run_start = i + 1;
        }
    }
    None
}

/// The /proc/PID files that list a network namespace's inet sockets, and what each holds.
pub const SOCKET_TABLES: [(&str, Proto); 4] =
    [("net/tcp", Proto::Tcp), ("net/tcp6", Proto::Tcp6), ("net/udp", Proto::Udp), ("net/udp6", Proto::Udp6)];

/// Transport of a socket table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Tcp6,
    Udp,
    Udp6,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Tcp6 => "tcp6",
            Proto::Udp => "udp",
            Proto::Udp6 => "udp6",
        }
    }
    fn is_v6(self) -> bool {
        matches!(self, Proto::Tcp6 | Proto::Udp6)
    }
    pub fn is_tcp(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Tcp6)
    }
}

/// One line of /proc/net/{tcp,tcp6,udp,udp6}.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SocketEntry {
    pub proto: Proto,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// Kernel state code (0x0A = LISTEN for TCP, 0x07 = unconnected for UDP).
    pub state: u8,
    pub inode: u64,
}

impl SocketEntry {
    /// TCP in LISTEN, or UDP bound with no peer.
    pub fn is_listening(&self) -> bool {
        if self.proto.is_tcp() { self.state == 0x0A } else { self.state == 0x07 && self.remote_port == 0 }
    }
}

/// Parses a /proc/net socket table, skipping the header and malformed lines.
pub fn parse_net_sockets(buf: &[u8], proto: Proto) -> Vec<SocketEntry> {
    let text = String::from_utf8_lossy(buf);
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_ascii_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        let (Some((local, local_port)), Some((remote, remote_port))) =
            (hex_endpoint(cols[1], proto.is_v6()), hex_endpoint(cols[2], proto.is_v6()))
        else {
            continue;
        };
        let (Ok(state), Ok(inode)) = (u8::from_str_radix(cols[3], 16), cols[9].parse::<u64>()) else {
            continue;
        };
        out.push(SocketEntry { proto, local, local_port, remote, remote_port, state, inode });
    }
    out
}

/// `0100007F:1F90` → 127.0.0.1:8080. The address is the kernel's in-memory words printed as
/// hex: each 32-bit word is in host (little-endian on every Linux warroom targets) order.
fn hex_endpoint(s: &str, v6: bool) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // Each word's bytes in memory order, i.e. network order for the address.
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::to_le_bytes);
    let ip = if v6 {
        if addr.len() != 32 {
            return None;
        }
        let mut octets = [0u8; 16];
        for i in 0..4 {
            let w = word(addr.get(i * 8..i * 8 + 8)?)?;
            octets[i * 4..i * 4 + 4].copy_from_slice(&w);
        }
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        if addr.len() != 8 {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from(word(addr)?))
    };
    Some((ip, port))
}

/// The inode of a `socket:[12345]` fd link target.
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let inner = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    num_u64(inner, "fd", "socket inode").ok()
}

/// One row of /proc/PID/limits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LimitRow {
    pub name: String,
    pub soft: String,
    pub hard: String,
    pub units: String,
}

/// Parses /proc/PID/limits, whose columns are aligned under the header line.
pub fn parse_limits(buf: &[u8]) -> Vec<LimitRow> {
    let text = String::from_utf8_lossy(buf);
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let (Some(soft_at), Some(hard_at), Some(units_at)) =
        (header.find("Soft Limit"), header.find("Hard Limit"), header.find("Units"))
    else {
        return Vec::new();
    };
    let col = |l: &str, a: usize, b: usize| l.get(a..b.min(l.len())).unwrap_or("").trim().to_string();
    lines
        .filter(|l| l.len() > soft_at)
        .map(|l| LimitRow {
            name: col(l, 0, soft_at),
            soft: col(l, soft_at, hard_at),
            hard: col(l, hard_at, units_at),
            units: col(l, units_at, l.len()),
        })
        .collect()
}

/// The page size from /proc/self/auxv (AT_PAGESZ), for converting rss pages to bytes.
pub fn auxv_page_size(buf: &[u8]) -> Option<u64> {
    const AT_PAGESZ: u64 = 6;
    const W: usize = std::mem::size_of::<usize>();
    for pair in buf.chunks_exact(2 * W) {
        let mut k = [0u8; W];
        let mut v = [0u8; W];
        k.copy_from_slice(&pair[..W]);
        v.copy_from_slice(&pair[W..]);
        let (k, v) = (usize::from_ne_bytes(k) as u64, usize::from_ne_bytes(v) as u64);
        if k == AT_PAGESZ && v.is_power_of_two() {
            return Some(v);
        }
    }
    None
}

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// `1234 kB` → 1234.
fn kb_value(val: &[u8]) -> Option<u64> {
    let digits = val.split(|b| b.is_ascii_whitespace()).next()?;
    num_u64(digits, "", "").ok()
}

fn num_u64(b: &[u8], file: &'static str, field: &'static str) -> Result<u64, ParseError> {
    if b.is_empty() || b.len() > 20 {
        return Err(ParseError::NotANumber { file, field });
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(ParseError::NotANumber { file, field });
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(ParseError::NotANumber { file, field })?;
    }
    Ok(v)
}

fn num_i64(b: &[u8], file: &'static str, field: &'static str) -> Result<i64, ParseError> {
    match b.strip_prefix(b"-") {
        Some(digits) => {
            let v = num_u64(digits, file, field)?;
            i64::try_from(v).map(|v| -v).map_err(|_| ParseError::NotANumber { file, field })
        }
        None => {
            let v = num_u64(b, file, field)?;
            i64::try_from(v).map_err(|_| ParseError::NotANumber { file, field })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/proc/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let buf = fixture("stat-parens");
        let s = parse_stat(&buf).unwrap();
        assert_eq!(s.pid, 13101);
        assert_eq!(s.comm, b"evil) R (1 2 3");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 13100);
        assert_eq!(s.session, 9120);
        assert_eq!((s.utime, s.stime, s.nice, s.priority), (0, 0, 0, 20));
        assert_eq!(s.num_threads, 1);
        assert_eq!(s.start_time, 120641);
        assert_eq!(s.vsize, 2990080);
        assert_eq!(s.rss_pages, 427);
        assert!(!s.is_kernel_thread());
    }

    #[test]
    fn stat_of_kernel_thread() {
        let buf = fixture("stat-kthread");
        let s = parse_stat(&buf).unwrap();
        assert_eq!(s.comm, b"kworker/0:0H-events_highpri");
        assert_eq!(s.nice, -20);
        assert_eq!(s.ppid, 2);
        assert_ne!(s.flags & PF_KTHREAD, 0);
        assert!(s.is_kernel_thread());
        assert_eq!(s.rss_pages, 0);
    }

    #[test]
    fn stat_of_zombie() {
        let buf = fixture("stat-zombie");
        let s = parse_stat(&buf).unwrap();
        assert_eq!(s.state, b'Z');
        assert_eq!(s.comm, b"defunct child");
        assert_eq!(s.rss_pages, 0);
        assert!(!s.is_kernel_thread());
    }

    #[test]
    fn stat_errors_name_the_field() {
        assert_eq!(parse_stat(b"12 no parens").unwrap_err(), ParseError::NoComm { file: "stat" });
        let e = parse_stat(b"12 (x) S 1 2").unwrap_err();
        assert_eq!(e.to_string(), "stat: missing field `session`");
        let e = parse_stat(b"12 (x) S one 2 3 4").unwrap_err();
        assert_eq!(e.to_string(), "stat: field `ppid` is not a number");
    }

    #[test]
    fn status_fields() {
        let st = parse_status(&fixture("status")).unwrap();
        assert_eq!(st.name, "evil) R (1 2 3");
        assert_eq!(st.uid, Some([0, 0, 0, 0]));
        assert_eq!(st.threads, Some(1));
        assert_eq!(st.vm_rss, Some(1816 * 1024));
        assert_eq!(st.ppid, Some(13100));
        assert_eq!(st.state, Some(b'S'));
        assert!(parse_status(b"Name:\tx\n").is_err());
    }

    #[test]
    fn proc_stat_cpu_lines() {
        let mut out = StatCpus::default();
        parse_proc_stat_into(&fixture("proc-stat"), &mut out).unwrap();
        assert_eq!(out.per_cpu.len(), 2);
        assert_eq!(out.total.user, 56980);
        assert_eq!(out.total.total(), 56980 + 9541 + 172989 + 976 + 44 + 87);
        assert_eq!(out.total.busy(), 56980 + 9541 + 44 + 87);
        assert_eq!(out.per_cpu[1].idle, 85388);
        assert!(parse_proc_stat_into(b"intr 1 2\n", &mut out).is_err());
    }

    #[test]
    fn meminfo_and_fallback() {
        let m = parse_meminfo(&fixture("meminfo")).unwrap();
        assert_eq!(m.total, 24_684_096 * 1024);
        assert_eq!(m.available, 24_005_668 * 1024);
        assert_eq!(m.used(), (24_684_096 - 24_005_668) * 1024);
        assert_eq!(m.swap_used(), 0);
        let old = parse_meminfo(b"MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n").unwrap();
        assert_eq!(old.available, 35 * 1024);
        assert!(parse_meminfo(b"MemFree: 1 kB\n").is_err());
    }

    #[test]
    fn loadavg_and_uptime() {
        let l = parse_loadavg(b"0.52 0.58 1.59 2/345 12345\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen, l.running, l.tasks), (0.52, 0.58, 1.59, 2, 345));
        assert!(parse_loadavg(b"0.5 x").is_err());
        assert_eq!(parse_uptime(b"1120.87 1651.30\n").unwrap(), 1120.87);
        assert!(parse_uptime(b"").is_err());
    }

    #[test]
    fn nul_lists() {
        assert_eq!(split_nul(b"sh\0-c\0while :; do :; done\0"), vec!["sh", "-c", "while :; do :; done"]);
        assert!(split_nul(b"").is_empty());
        assert_eq!(cmdline_display(b"a\0\0b\0"), "a  b");
    }

    #[test]
    fn passwd_lines() {
        let p =
            parse_passwd(b"root:x:0:0:root:/root:/bin/bash\n# c\nbad\nana:x:1000:1000::/home/ana:/bin/sh\n");
        assert_eq!(p, vec![(0, "root".to_string()), (1000, "ana".to_string())]);
    }

    #[test]
    fn cgroup_units_and_containers() {
        let c = parse_cgroup(b"0::/system.slice/nginx.service\n");
        assert_eq!(c.unit.as_deref(), Some("nginx.service"));
        assert_eq!(c.container, None);
        let id = "a".repeat(20) + &"0123456789".repeat(4) + "abcd";
        assert_eq!(id.len(), 64);
        let c = parse_cgroup(format!("0::/system.slice/docker-{id}.scope\n").as_bytes());
        assert_eq!(c.container.as_deref(), Some(id.as_str()));
        assert_eq!(c.unit, Some(format!("docker-{id}.scope")));
        let c = parse_cgroup(format!("12:pids:/kubepods/besteffort/pod1/{id}\n0::/\n").as_bytes());
        assert_eq!(c.container.as_deref(), Some(id.as_str()));
        assert_eq!(c.path, "/");
        let c = parse_cgroup(b"0::/user.slice/user-1000.slice/session-3.scope\n");
        assert_eq!(c.unit.as_deref(), Some("session-3.scope"));
        assert_eq!(parse_cgroup(b"0::/\n").unit, None);
    }

    #[test]
    fn net_tables() {
        let tcp = parse_net_sockets(&fixture("net-tcp"), Proto::Tcp);
        assert_eq!(tcp.len(), 4);
        assert_eq!(tcp[0].local, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(tcp[0].local_port, 8080);
        assert!(tcp[0].is_listening());
        assert_eq!(tcp[0].inode, 18665);
        assert_eq!((tcp[2].remote_port, tcp[2].state), (8080, 1));
        assert!(!tcp[2].is_listening());
        let tcp6 = parse_net_sockets(&fixture("net-tcp6"), Proto::Tcp6);
        assert_eq!(tcp6.len(), 2);
        assert_eq!(tcp6[0].local, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(tcp6[0].local_port, 8443);
        assert_eq!(tcp6[1].local, "::".parse::<IpAddr>().unwrap());
        assert_eq!(tcp6[1].local_port, 2222);
        assert!(tcp6.iter().all(SocketEntry::is_listening));
        let udp = parse_net_sockets(&fixture("net-udp"), Proto::Udp);
        assert!(udp[0].is_listening());
        assert_eq!((udp[0].local_port, udp[0].inode), (5353, 18667));
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    #[test]
    fn limits_table() {
        let rows = parse_limits(&fixture("limits"));
        assert_eq!(rows[0].name, "Max cpu time");
        assert_eq!(rows[0].soft, "unlimited");
        let nofile = rows.iter().find(|r| r.name == "Max open files").unwrap();
        assert_eq!(
            (nofile.soft.as_str(), nofile.hard.as_str(), nofile.units.as_str()),
            ("20000", "20000", "files")
        );
    }

    #[test]
    fn auxv_pagesize() {
        let mut buf = Vec::new();
        for (k, v) in [(33usize, 7usize), (6, 4096), (0, 0)] {
            buf.extend_from_slice(&k.to_ne_bytes());
            buf.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(auxv_page_size(&buf), Some(4096));
        assert_eq!(auxv_page_size(&buf[..16]), None);
    }

    proptest! {
        #[test]
        fn stat_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_stat(&bytes);
            let _ = parse_status(&bytes);
            let _ = parse_meminfo(&bytes);
            let _ = parse_loadavg(&bytes);
            let mut cpus = StatCpus::default();
            let _ = parse_proc_stat_into(&bytes, &mut cpus);
            let _ = parse_cgroup(&bytes);
            let _ = parse_limits(&bytes);
            let _ = parse_net_sockets(&bytes, Proto::Tcp6);
        }

        #[test]
        fn stat_round_trips_any_comm(
            comm in proptest::collection::vec(1u8..=255, 0..16),
            pid in 1i32..4_194_304,
            utime in any::<u32>(),
            start in any::<u64>(),
        ) {
            let mut line = format!("{pid} (").into_bytes();
            line.extend_from_slice(&comm);
            line.extend_from_slice(
                format!(") R 1 {pid} {pid} 0 -1 4194304 0 0 0 0 {utime} 7 0 0 20 -3 1 0 {start} 1000 42 18446744073709551615 1 1\n").as_bytes(),
            );
            let s = parse_stat(&line).unwrap();
            prop_assert_eq!(s.pid, pid);
            prop_assert_eq!(s.comm, &comm[..]);
            prop_assert_eq!(s.utime, u64::from(utime));
            prop_assert_eq!(s.nice, -3);
            prop_assert_eq!(s.start_time, start);
            prop_assert_eq!(s.rss_pages, 42);
        }
    }
}
