//! The per-tick process sampler: one immutable `Snapshot` per call, cheap enough to run every
//! tick on a 5,000-process box.
//!
//! Per tick it reads /proc/stat, meminfo, loadavg, uptime, the /proc listing and one file per
//! process (/proc/PID/stat). What does not change for a (pid, start time) — user, cmdline,
//! cgroup unit, container — is read once and cached, and re-read only when the comm changes
//! (an exec) or once on the tick after a young process is first seen (fork-then-exec can keep
//! the comm).

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::parse::{self, CpuTimes, LoadAvg, MemInfo, ProcStat, StatCpus};
use super::procfs::{ProcFs, USER_HZ, is_gone};
use super::users::UserNames;
use crate::incident::sanitize::{one_line, strip_controls};

/// One process as the pane shows it. Text fields are already stripped of control characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    pub pid: i32,
    pub ppid: i32,
    /// Clock ticks since boot (field 22 of stat): with `pid`, the identity used for signalling.
    pub start_time: u64,
    #[serde(serialize_with = "arc_str")]
    pub name: Arc<str>,
    /// Arguments joined by spaces; empty for kernel threads and zombies.
    #[serde(serialize_with = "arc_str")]
    pub cmdline: Arc<str>,
    #[serde(serialize_with = "arc_str")]
    pub user: Arc<str>,
    /// Effective uid.
    pub uid: u32,
    /// One letter: R S D Z T t X I.
    pub state: char,
    pub threads: i64,
    pub nice: i64,
    pub priority: i64,
    pub rss_bytes: u64,
    pub vsize_bytes: u64,
    /// Share of one CPU over the last interval (100.0 = one full core).
    pub cpu_percent: f32,
    /// utime + stime in clock ticks (the TIME+ column; divide by `Snapshot::clock_ticks`).
    pub cpu_time_ticks: u64,
    pub kernel_thread: bool,
    #[serde(serialize_with = "opt_arc_str")]
    pub unit: Option<Arc<str>>,
    #[serde(serialize_with = "opt_arc_str")]
    pub container: Option<Arc<str>>,
}

impl ProcessRow {
    /// Seconds since the process started, given the snapshot's uptime.
    pub fn age_secs(&self, uptime_secs: f64) -> f64 {
        (uptime_secs - self.start_time as f64 / USER_HZ as f64).max(0.0)
    }

    /// Share of physical memory, in percent.
    pub fn mem_percent(&self, mem_total: u64) -> f32 {
        if mem_total == 0 { 0.0 } else { (self.rss_bytes as f64 * 100.0 / mem_total as f64) as f32 }
    }
}

#[cfg(test)]
impl ProcessRow {
    /// A sleeping root process `x` with no cmdline, no CPU and no memory, for tests to adjust
    /// with struct update syntax.
    pub(crate) fn sample(pid: i32, ppid: i32) -> ProcessRow {
        ProcessRow {
            pid,
            ppid,
            start_time: 0,
            name: Arc::from("x"),
            cmdline: Arc::from(""),
            user: Arc::from("root"),
            uid: 0,
            state: 'S',
            threads: 1,
            nice: 0,
            priority: 20,
            rss_bytes: 0,
            vsize_bytes: 0,
            cpu_percent: 0.0,
            cpu_time_ticks: 0,
            kernel_thread: false,
            unit: None,
            container: None,
        }
    }
}

/// CPU usage over the last interval, in percent of that CPU (or of all CPUs for the total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CpuUsage {
    pub busy: f32,
    /// user + nice
    pub user: f32,
    /// system + irq + softirq
    pub system: f32,
    pub iowait: f32,
    pub steal: f32,
}

impl CpuUsage {
    fn between(prev: &CpuTimes, now: &CpuTimes) -> Self {
        let total = now.total().saturating_sub(prev.total());
        if total == 0 {
            return CpuUsage::default();
        }
        let pct = |n: u64, p: u64| (n.saturating_sub(p) as f64 * 100.0 / total as f64) as f32;
        CpuUsage {
            busy: pct(now.busy(), prev.busy()),
            user: pct(now.user + now.nice, prev.user + prev.nice),
            system: pct(now.system + now.irq + now.softirq, prev.system + prev.irq + prev.softirq),
            iowait: pct(now.iowait, prev.iowait),
            steal: pct(now.steal, prev.steal),
        }
    }
}

/// The header meters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meters {
    pub cpu: CpuUsage,
    pub per_cpu: Vec<CpuUsage>,
    /// Bytes.
    pub mem_total: u64,
    pub mem_used: u64,
    pub mem_available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub load: [f64; 3],
    pub uptime_secs: f64,
    /// Processes in the snapshot, threads summed over them, and those running (state R).
    pub tasks: usize,
    pub threads: i64,
    pub running: usize,
}

/// Everything one tick saw. Immutable once returned; cheap to clone (names are shared `Arc`s).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// 1 for the first sample, then +1 per call.
    pub seq: u64,
    /// Clock ticks per second of `start_time` and `cpu_time_ticks` (USER_HZ).
    pub clock_ticks: u64,
    pub meters: Meters,
    pub processes: Vec<ProcessRow>,
    /// /proc entries that exist but could not be read (hidepid, permissions): skipped.
    pub unreadable: usize,
}

impl Snapshot {
    pub fn get(&self, pid: i32) -> Option<&ProcessRow> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// Depth-first tree order of `rows`: (index into rows, depth). Siblings keep their order in
/// `rows` (so the current sort applies within each level); rows whose parent is absent are
/// roots. Every row appears exactly once, even with a ppid cycle.
pub fn tree_order(rows: &[ProcessRow]) -> Vec<(usize, usize)> {
    let index: HashMap<i32, usize> = rows.iter().enumerate().map(|(i, r)| (r.pid, i)).collect();
    let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if r.ppid != r.pid && index.contains_key(&r.ppid) {
            children.entry(r.ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut seen = vec![false; rows.len()];
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    let mut pending: Vec<usize> = (0..rows.len()).rev().collect();
    loop {
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            out.push((i, depth));
            if let Some(kids) = children.get(&rows[i].pid) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
        // Rows only reachable through a cycle: start a new root at the first unseen one.
        match pending.iter().rposition(|&i| !seen[i]) {
            Some(pos) => {
                let i = pending[pos];
                pending.truncate(pos);
                stack.push((i, 0));
            }
            None => break,
        }
    }
    out
}

/// A process first seen younger than this (1 s) gets its identity re-read on the next tick,
/// in case it exec'd without changing its comm.
const YOUNG_TICKS: u64 = USER_HZ;

/// What is read once per (pid, start time).
#[derive(Debug)]
struct Cached {
    start_time: u64,
    comm: Box<[u8]>,
    name: Arc<str>,
    cmdline: Arc<str>,
    user: Arc<str>,
    uid: u32,
    unit: Option<Arc<str>>,
    container: Option<Arc<str>>,
    prev_ticks: u64,
    seen: u64,
    refresh_next: bool,
}

/// The sampler. Keep one alive across ticks: it holds the previous counters and the caches.
#[derive(Debug)]
pub struct Sampler {
    fs: ProcFs,
    users: UserNames,
    cache: HashMap<i32, Cached>,
    buf: Vec<u8>,
    aux: Vec<u8>,
    dirbuf: Vec<u8>,
    pids: Vec<i32>,
    cpus: StatCpus,
    prev_cpus: StatCpus,
    have_prev_cpus: bool,
    prev_uptime: f64,
    page_size: u64,
    seq: u64,
    names: HashMap<Box<[u8]>, Arc<str>>,
}

impl Sampler {
    /// A sampler over the real /proc and /etc/passwd.
    pub fn new() -> io::Result<Self> {
        Self::with_paths(Path::new("/proc"), Path::new("/etc/passwd"))
    }

    /// A sampler over another /proc tree (a recorded fixture) and passwd file.
    pub fn with_paths(proc_root: &Path, passwd: &Path) -> io::Result<Self> {
        let fs = ProcFs::open(proc_root)?;
        let page_size =
            std::fs::read("/proc/self/auxv").ok().and_then(|b| parse::auxv_page_size(&b)).unwrap_or(4096);
        Ok(Sampler {
            fs,
            users: UserNames::new(passwd.to_path_buf()),
            cache: HashMap::new(),
            buf: Vec::with_capacity(1024),
            aux: Vec::with_capacity(4096),
            dirbuf: Vec::new(),
            pids: Vec::new(),
            cpus: StatCpus::default(),
            prev_cpus: StatCpus::default(),
            have_prev_cpus: false,
            prev_uptime: 0.0,
            page_size,
            seq: 0,
            names: HashMap::new(),
        })
    }

    /// Takes one snapshot. Never fails: unreadable pieces are skipped or left at zero.
    pub fn sample(&mut self) -> Snapshot {
        self.seq += 1;
        let seq = self.seq;
        let prev_uptime_ticks = (self.prev_uptime * USER_HZ as f64) as u64;
        let (mut meters, period) = self.sample_meters();
        let now_ticks = (meters.uptime_secs * USER_HZ as f64) as u64;

        if self.fs.list_pids(&mut self.pids, &mut self.dirbuf).is_err() {
            self.pids.clear();
        }

        let Sampler { fs, users, cache, buf, aux, pids, page_size, names, .. } = self;
        let mut processes = Vec::with_capacity(pids.len());
        let mut unreadable = 0;
        for &pid in pids.iter() {
            if let Err(e) = fs.read_pid_seq(pid, "stat", buf) {
                if !is_gone(&e) {
                    unreadable += 1;
                }
                continue;
            }
            let Ok(st) = parse::parse_stat(buf) else {
                unreadable += 1;
                continue;
            };
            let entry = match cache.get_mut(&pid) {
                Some(c) if c.start_time == st.start_time => {
                    if c.refresh_next || *c.comm != *st.comm {
                        let fresh = load_identity(fs, users, names, aux, &st, c.prev_ticks, seq);
                        *c = fresh;
                    }
                    c
                }
                _ => {
                    // New since the last tick: all its CPU time was spent inside the interval.
                    let born_in_interval = period.is_some() && st.start_time >= prev_uptime_ticks;
                    let prev = if born_in_interval { 0 } else { st.cpu_ticks() };
                    let mut fresh = load_identity(fs, users, names, aux, &st, prev, seq);
                    // Young enough to be between fork and exec: look again next tick.
                    fresh.refresh_next = now_ticks.saturating_sub(st.start_time) < YOUNG_TICKS;
                    cache.insert(pid, fresh);
                    cache.get_mut(&pid).expect("invariant: inserted on the line above")
                }
            };
            entry.seen = seq;
            let ticks = st.cpu_ticks();
            let cpu_percent = match period {
                Some(p) => (ticks.saturating_sub(entry.prev_ticks) as f64 * 100.0 / p) as f32,
                None => 0.0,
            };
            entry.prev_ticks = ticks;
            processes.push(ProcessRow {
                pid,
                ppid: st.ppid,
                start_time: st.start_time,
                name: entry.name.clone(),
                cmdline: entry.cmdline.clone(),
                user: entry.user.clone(),
                uid: entry.uid,
                state: char::from(st.state),
                threads: st.num_threads,
                nice: st.nice,
                priority: st.priority,
                rss_bytes: st.rss_pages * *page_size,
                vsize_bytes: st.vsize,
                cpu_percent,
                cpu_time_ticks: ticks,
                kernel_thread: st.is_kernel_thread(),
                unit: entry.unit.clone(),
                container: entry.container.clone(),
            });
        }
        cache.retain(|_, c| c.seen == seq);
        names.retain(|_, n| Arc::strong_count(n) > 1);

        meters.tasks = processes.len();
        meters.threads = processes.iter().map(|p| p.threads).sum();
        meters.running = processes.iter().filter(|p| p.state == 'R').count();
        Snapshot { seq, clock_ticks: USER_HZ, meters, processes, unreadable }
    }

    /// The header meters and the interval since the last sample in one CPU's clock ticks.
    fn sample_meters(&mut self) -> (Meters, Option<f64>) {
        let mut m = Meters::default();
        if self.fs.read_seq(b"uptime", &mut self.buf).is_ok() {
            m.uptime_secs = parse::parse_uptime(&self.buf).unwrap_or(0.0);
        }
        if self.fs.read_seq(b"loadavg", &mut self.buf).is_ok()
            && let Ok(LoadAvg { one, five, fifteen, .. }) = parse::parse_loadavg(&self.buf)
        {
            m.load = [one, five, fifteen];
        }
        if self.fs.read_seq(b"meminfo", &mut self.buf).is_ok()
            && let Ok(mem) = parse::parse_meminfo(&self.buf)
        {
            let MemInfo { total, available, swap_total, .. } = mem;
            (m.mem_total, m.mem_used, m.mem_available) = (total, mem.used(), available);
            (m.swap_total, m.swap_used) = (swap_total, mem.swap_used());
        }
        // The older reading's vector is reused for the new one.
        std::mem::swap(&mut self.cpus, &mut self.prev_cpus);
        let fresh = self.fs.read_seq(b"stat", &mut self.buf).is_ok()
            && parse::parse_proc_stat_into(&self.buf, &mut self.cpus).is_ok();
        if !fresh {
            self.cpus.clone_from(&self.prev_cpus);
        }
        let have_prev = self.have_prev_cpus;
        self.have_prev_cpus |= fresh;
        let zero = CpuTimes::default();
        // The first sample shows the average since boot.
        let base = |i: Option<usize>| match (have_prev, i) {
            (false, _) => zero,
            (true, None) => self.prev_cpus.total,
            (true, Some(i)) => self.prev_cpus.per_cpu.get(i).copied().unwrap_or_default(),
        };
        m.cpu = CpuUsage::between(&base(None), &self.cpus.total);
        m.per_cpu =
            self.cpus.per_cpu.iter().enumerate().map(|(i, c)| CpuUsage::between(&base(Some(i)), c)).collect();
        let ncpu = self.cpus.per_cpu.len().max(1) as f64;
        // The interval in one CPU's ticks, from the kernel's own accounting (no clock read).
        let period = Some(self.cpus.total.total().saturating_sub(self.prev_cpus.total.total()) as f64 / ncpu)
            .filter(|p| have_prev && *p > 0.0);
        self.prev_uptime = m.uptime_secs;
        (m, period)
    }
}

/// Reads what is stable for a (pid, start time): user, cmdline, cgroup.
fn load_identity(
    fs: &ProcFs,
    users: &mut UserNames,
    names: &mut HashMap<Box<[u8]>, Arc<str>>,
    aux: &mut Vec<u8>,
    st: &ProcStat<'_>,
    prev_ticks: u64,
    seq: u64,
) -> Cached {
    let pid = st.pid;
    let uid = match fs.read_pid_seq(pid, "status", aux) {
        Ok(()) => parse::parse_status(aux).ok().and_then(|s| s.uid).map(|u| u[1]),
        Err(_) => None,
    };
    let (uid, user) = match uid {
        Some(u) => (u, users.name(u)),
        None => (u32::MAX, Arc::from("?")),
    };
    let name = names
        .entry(Box::from(st.comm))
        .or_insert_with(|| Arc::from(one_line(&strip_controls(&String::from_utf8_lossy(st.comm))).as_ref()))
        .clone();
    let kernel = st.is_kernel_thread();
    let cmdline: Arc<str> = if kernel || fs.read_pid(pid, "cmdline", aux).is_err() {
        Arc::from("")
    } else {
        Arc::from(one_line(&strip_controls(&parse::cmdline_display(aux))).as_ref())
    };
    let (unit, container) = if kernel || fs.read_pid(pid, "cgroup", aux).is_err() {
        (None, None)
    } else {
        let cg = parse::parse_cgroup(aux);
        (cg.unit.map(Arc::from), cg.container.map(Arc::from))
    };
    Cached {
        start_time: st.start_time,
        comm: Box::from(st.comm),
        name,
        cmdline,
        user,
        uid,
        unit,
        container,
        prev_ticks,
        seen: seq,
        refresh_next: false,
    }
}

fn arc_str<S: Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn opt_arc_str<S: Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&**v),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// A recorded-style /proc tree in a temp dir that the test rewrites between samples.
    struct FakeProc {
        dir: tempfile::TempDir,
    }

    impl FakeProc {
        fn new() -> Self {
            let f = FakeProc { dir: tempfile::tempdir().unwrap() };
            f.write("uptime", "1000.00 1900.00\n");
            f.write("loadavg", "1.50 0.75 0.25 3/120 999\n");
            f.write(
                "meminfo",
                "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 400 kB\nSwapTotal: 200 kB\nSwapFree: 50 kB\n",
            );
            f.cpus(0);
            f.write("passwd", "root:x:0:0::/root:/bin/sh\nana:x:1000:1000::/home/ana:/bin/sh\n");
            f
        }
        fn path(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }
        fn write(&self, rel: &str, text: &str) {
            let p = self.dir.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        /// Two CPUs; `t` ticks of wall time have passed on each (half busy on cpu0).
        fn cpus(&self, t: u64) {
            let (b, i) = (t / 2, t - t / 2);
            self.write(
                "stat",
                &format!(
                    "cpu  {b} 0 0 {} 0 0 0 0 0 0\ncpu0 {b} 0 0 {i} 0 0 0 0 0 0\ncpu1 0 0 0 {t} 0 0 0 0 0 0\n",
                    i + t
                ),
            );
        }
        #[allow(clippy::too_many_arguments)]
        fn proc(
            &self,
            pid: i32,
            comm: &str,
            ppid: i32,
            flags: u32,
            ticks: u64,
            start: u64,
            uid: u32,
            cmd: &str,
        ) {
            self.write(
                &format!("{pid}/stat"),
                &format!("{pid} ({comm}) S {ppid} 1 1 0 -1 {flags} 0 0 0 0 {ticks} 0 0 0 20 0 2 0 {start} 4096 10 0\n"),
            );
            self.write(
                &format!("{pid}/status"),
                &format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
            );
            self.write(&format!("{pid}/cmdline"), &cmd.replace(' ', "\0"));
            self.write(&format!("{pid}/cgroup"), "0::/system.slice/web.service\n");
        }
        fn sampler(&self) -> Sampler {
            Sampler::with_paths(&self.path(), &self.path().join("passwd")).unwrap()
        }
    }

    #[test]
    fn cpu_percent_from_tick_deltas() {
        let f = FakeProc::new();
        f.proc(1, "init", 0, 0, 0, 1, 0, "/sbin/init");
        f.proc(100, "hog) (x", 1, 0, 500, 50, 1000, "hog --spin");
        f.proc(2, "kthreadd", 0, 0x0020_0040, 0, 1, 0, "");
        let mut s = f.sampler();
        let first = s.sample();
        assert_eq!(first.seq, 1);
        assert_eq!(first.processes.len(), 3);
        let hog = first.get(100).unwrap();
        assert_eq!(hog.cpu_percent, 0.0, "no interval yet");
        assert_eq!(&*hog.name, "hog) (x");
        assert_eq!(&*hog.user, "ana");
        assert_eq!(&*hog.cmdline, "hog --spin");
        assert_eq!(hog.unit.as_deref(), Some("web.service"));
        assert_eq!(hog.rss_bytes, 10 * s.page_size);
        assert!(first.get(2).unwrap().kernel_thread);
        assert_eq!(&*first.get(2).unwrap().cmdline, "");
        assert_eq!(first.meters.load, [1.5, 0.75, 0.25]);
        assert_eq!((first.meters.mem_total, first.meters.mem_used), (1000 * 1024, 600 * 1024));
        assert_eq!(first.meters.swap_used, 150 * 1024);

        // 150 ticks pass on each of 2 CPUs; the hog used 75 of them.
        f.cpus(150);
        f.proc(100, "hog) (x", 1, 0, 575, 50, 1000, "hog --spin");
        let second = s.sample();
        let hog = second.get(100).unwrap();
        assert!((hog.cpu_percent - 50.0).abs() < 0.01, "{}", hog.cpu_percent);
        assert_eq!(second.get(1).unwrap().cpu_percent, 0.0);
        assert!((second.meters.cpu.busy - 25.0).abs() < 0.01, "{:?}", second.meters.cpu);
        assert!((second.meters.per_cpu[0].busy - 50.0).abs() < 0.01);
        assert_eq!(second.meters.per_cpu[1].busy, 0.0);
    }

    #[test]
    fn exec_recycling_and_vanishing() {
        let f = FakeProc::new();
        f.proc(100, "sh", 1, 0, 0, 50, 0, "sh -c run");
        let mut s = f.sampler();
        s.sample();
        // Exec: same pid and start time, new comm → cmdline re-read.
        f.proc(100, "python3", 1, 0, 0, 50, 0, "python3 app.py");
        let snap = s.sample();
        assert_eq!(&*snap.get(100).unwrap().cmdline, "python3 app.py");
        // Recycled: new start time → a new identity, even with the same comm.
        f.proc(100, "python3", 1, 0, 0, 900, 1000, "python3 other.py");
        let snap = s.sample();
        let p = snap.get(100).unwrap();
        assert_eq!((&*p.cmdline, &*p.user, p.start_time), ("python3 other.py", "ana", 900));
        // Vanished mid-tick (dir without stat) and garbage: skipped, never a panic.
        fs::remove_file(f.path().join("100/stat")).unwrap();
        f.write("200/stat", "garbage");
        // An entry that exists but cannot be read (like hidepid=1's EACCES): counted, skipped.
        fs::create_dir_all(f.path().join("300/stat")).unwrap();
        let snap = s.sample();
        assert!(snap.get(100).is_none());
        assert!(snap.processes.is_empty());
        assert_eq!(snap.unreadable, 2);
        assert!(s.cache.is_empty());
    }

    #[test]
    fn fork_then_exec_with_same_comm_is_caught_next_tick() {
        let f = FakeProc::new(); // uptime 1000 s = 100000 ticks
        f.proc(100, "bash", 1, 0, 0, 99_990, 0, "bash");
        f.proc(200, "bash", 1, 0, 0, 50, 0, "bash");
        let mut s = f.sampler();
        s.sample();
        f.proc(100, "bash", 1, 0, 0, 99_990, 0, "bash deploy.sh");
        f.proc(200, "bash", 1, 0, 0, 50, 0, "bash old.sh");
        let snap = s.sample();
        assert_eq!(&*snap.get(100).unwrap().cmdline, "bash deploy.sh", "young: re-read");
        assert_eq!(&*snap.get(200).unwrap().cmdline, "bash", "old: cached, not re-read");
        // After that the identity is cached: no more re-reads.
        f.proc(100, "bash", 1, 0, 0, 99_990, 0, "bash changed");
        assert_eq!(&*s.sample().get(100).unwrap().cmdline, "bash deploy.sh");
    }

    #[test]
    fn control_characters_are_stripped() {
        let f = FakeProc::new();
        f.proc(100, "x\u{1b}[2Jy", 1, 0, 0, 50, 0, "evil \u{1b}]0;pwned\u{7} arg");
        let snap = f.sampler().sample();
        let p = snap.get(100).unwrap();
        assert_eq!(&*p.name, "xy");
        assert!(!p.cmdline.contains('\u{1b}'), "{:?}", p.cmdline);
    }

    #[test]
    fn real_proc_sees_a_busy_child() {
        let mut child = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap();
        let pid = child.id() as i32;
        let mut s = Sampler::new().unwrap();
        s.sample();
        // On a loaded machine the spinner may get a small share of a core: sample until it has
        // been seen using CPU (bounded), rather than expecting a fixed share.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let snap = loop {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let snap = s.sample();
            let busy = snap.get(pid).is_some_and(|p| p.cpu_percent > 1.0);
            if busy || std::time::Instant::now() > deadline {
                break snap;
            }
        };
        child.kill().unwrap();
        child.wait().unwrap();
        let p = snap.get(pid).expect("child in snapshot");
        assert_eq!(&*p.name, "sh");
        assert_eq!(&*p.cmdline, "sh -c while :; do :; done");
        assert!(p.cpu_percent > 1.0, "{}", p.cpu_percent);
        assert_eq!(p.ppid, std::process::id() as i32);
        assert!(snap.processes.iter().any(|p| p.pid == 1));
        assert!(snap.meters.mem_total > 0 && snap.meters.uptime_secs > 0.0);
        assert!(!snap.meters.per_cpu.is_empty());
        serde_json::to_string(&snap).unwrap();
    }

    fn row(pid: i32, ppid: i32) -> ProcessRow {
        ProcessRow::sample(pid, ppid)
    }

    #[test]
    fn sampler_and_snapshot_cross_threads() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<Sampler>();
        send_sync::<Snapshot>();
    }

    #[test]
    fn tree_order_nests_children_and_survives_cycles() {
        let rows = vec![row(10, 1), row(1, 0), row(11, 10), row(2, 0), row(12, 1), row(50, 51), row(51, 50)];
        let order: Vec<(i32, usize)> = tree_order(&rows).into_iter().map(|(i, d)| (rows[i].pid, d)).collect();
        assert_eq!(order[..5], [(1, 0), (10, 1), (11, 2), (12, 1), (2, 0)]);
        assert_eq!(order.len(), rows.len());
        assert!(order.contains(&(50, 0)) || order.contains(&(51, 0)));
    }
}
