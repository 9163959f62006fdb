//! Pure helpers shared by the process pane and `warroom ps`: sorting, filtering, and the plain
//! text table. No IO; the snapshot is a parameter.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::sampler::{ProcessRow, Snapshot};

/// Sortable columns (F6 / `<` `>` in the pane, `--sort` for `ps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    #[default]
    Cpu,
    Mem,
    Pid,
    Time,
    Name,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [SortKey::Cpu, SortKey::Mem, SortKey::Pid, SortKey::Time, SortKey::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Cpu => "cpu",
            SortKey::Mem => "mem",
            SortKey::Pid => "pid",
            SortKey::Time => "time",
            SortKey::Name => "name",
        }
    }

    /// The next column (`>`), wrapping.
    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }

    /// The previous column (`<`), wrapping.
    pub fn prev(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + SortKey::ALL.len() - 1) % SortKey::ALL.len()]
    }

    /// The natural direction: biggest first for cpu, mem and time; ascending for pid and name.
    pub fn descending_by_default(self) -> bool {
        matches!(self, SortKey::Cpu | SortKey::Mem | SortKey::Time)
    }
}

impl FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.trim().to_ascii_lowercase();
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == l)
            .ok_or_else(|| format!("unknown sort key `{s}` (expected one of: cpu, mem, pid, time, name)"))
    }
}

/// Compares two rows by `key` in its natural direction; ties break on pid so the order is total
/// and stable from tick to tick.
pub fn compare(a: &ProcessRow, b: &ProcessRow, key: SortKey) -> Ordering {
    let primary = match key {
        SortKey::Cpu => b.cpu_percent.total_cmp(&a.cpu_percent),
        SortKey::Mem => b.rss_bytes.cmp(&a.rss_bytes),
        SortKey::Time => b.cpu_time_ticks.cmp(&a.cpu_time_ticks),
        SortKey::Pid => a.pid.cmp(&b.pid),
        SortKey::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
    };
    primary.then(a.pid.cmp(&b.pid))
}

/// True when `filter` (case-insensitive, trimmed) is empty or found in the name or cmdline.
pub fn matches_filter(row: &ProcessRow, filter: &str) -> bool {
    let f = filter.trim();
    if f.is_empty() {
        return true;
    }
    let f = f.to_lowercase();
    row.name.to_lowercase().contains(&f) || row.cmdline.to_lowercase().contains(&f)
}

/// Indices of the rows that match `filter`, sorted by `key` (reversed when `reverse`).
pub fn sorted_indices(rows: &[ProcessRow], key: SortKey, reverse: bool, filter: &str) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).filter(|&i| matches_filter(&rows[i], filter)).collect();
    idx.sort_by(|&a, &b| {
        let o = compare(&rows[a], &rows[b], key);
        if reverse { o.reverse() } else { o }
    });
    idx
}

/// `1.5G`, `512M`, `12K`, `900B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, size) in UNITS {
        if b >= size {
            let v = b as f64 / size as f64;
            return if v < 10.0 { format!("{v:.1}{unit}") } else { format!("{:.0}{unit}", v) };
        }
    }
    format!("{b}B")
}

/// CPU time as `M:SS.cc` below an hour, `H:MM:SS` above (like htop's TIME+).
pub fn cpu_time(ticks: u64, clock_ticks: u64) -> String {
    let hz = clock_ticks.max(1);
    let cs = ticks * 100 / hz;
    let secs = cs / 100;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}.{:02}", secs / 60, secs % 60, cs % 100)
    }
}

/// Seconds as `45s`, `12m`, `3h05m`, `2d04h`.
pub fn human_age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86400, s / 3600 % 24),
    }
}

/// The plain-text table `warroom ps` prints: a meter line, then one line per process.
pub fn ps_text(snap: &Snapshot, key: SortKey, filter: &str) -> String {
    let m = &snap.meters;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cpu {:.1}%  mem {}/{}  swap {}/{}  load {:.2} {:.2} {:.2}  up {}  tasks {} ({} running)",
        m.cpu.busy,
        human_bytes(m.mem_used),
        human_bytes(m.mem_total),
        human_bytes(m.swap_used),
        human_bytes(m.swap_total),
        m.load[0],
        m.load[1],
        m.load[2],
        human_age(m.uptime_secs),
        m.tasks,
        m.running,
    );
    let _ = writeln!(
        out,
        "{:>7} {:<10} {:>3} {:>1} {:>5} {:>5} {:>6} {:>9} {:>6}  COMMAND",
        "PID", "USER", "NI", "S", "CPU%", "MEM%", "RES", "TIME+", "AGE"
    );
    for i in sorted_indices(&snap.processes, key, false, filter) {
        let p = &snap.processes[i];
        let user: String = p.user.chars().take(10).collect();
        let command = if p.cmdline.is_empty() { format!("[{}]", p.name) } else { p.cmdline.to_string() };
        let _ = writeln!(
            out,
            "{:>7} {:<10} {:>3} {:>1} {}  {}",
            p.pid,
            user,
            p.nice,
            p.state,
            usage_columns(p, snap),
            command
        );
    }
    out
}

/// A process's CPU%, MEM%, RES, TIME+ and AGE columns, as `warroom ps` and the pane show them.
pub fn usage_columns(p: &ProcessRow, snap: &Snapshot) -> String {
    let m = &snap.meters;
    format!(
        "{:>5.1} {:>5.1} {:>6} {:>9} {:>6}",
        p.cpu_percent,
        p.mem_percent(m.mem_total),
        human_bytes(p.rss_bytes),
        cpu_time(p.cpu_time_ticks, snap.clock_ticks),
        human_age(p.age_secs(m.uptime_secs)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn row(pid: i32, name: &str, cpu: f32, rss: u64, ticks: u64) -> ProcessRow {
        ProcessRow {
            start_time: 100,
            name: Arc::from(name),
            cmdline: Arc::from(format!("/usr/bin/{name} --flag").as_str()),
            rss_bytes: rss,
            cpu_percent: cpu,
            cpu_time_ticks: ticks,
            ..ProcessRow::sample(pid, 1)
        }
    }

    fn rows() -> Vec<ProcessRow> {
        vec![row(30, "nginx", 5.0, 300, 10), row(10, "Java", 92.0, 100, 5000), row(20, "bash", 5.0, 200, 1)]
    }

    fn pids(rows: &[ProcessRow], idx: &[usize]) -> Vec<i32> {
        idx.iter().map(|&i| rows[i].pid).collect()
    }

    #[test]
    fn sorting_each_key() {
        let r = rows();
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Cpu, false, "")), [10, 20, 30], "ties break on pid");
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Mem, false, "")), [30, 20, 10]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Pid, false, "")), [10, 20, 30]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Time, false, "")), [10, 30, 20]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Name, false, "")), [20, 10, 30]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Pid, true, "")), [30, 20, 10]);
    }

    #[test]
    fn filter_on_name_and_cmdline() {
        let r = rows();
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Pid, false, "JAVA")), [10]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Pid, false, "usr/bin/ng")), [30]);
        assert_eq!(pids(&r, &sorted_indices(&r, SortKey::Pid, false, "  ")).len(), 3);
        assert!(sorted_indices(&r, SortKey::Pid, false, "nomatch").is_empty());
    }

    #[test]
    fn sort_key_cycle_and_parse() {
        assert_eq!(SortKey::Name.next(), SortKey::Cpu);
        assert_eq!(SortKey::Cpu.prev(), SortKey::Name);
        assert_eq!("MEM".parse::<SortKey>().unwrap(), SortKey::Mem);
        assert!("rss".parse::<SortKey>().unwrap_err().contains("expected one of"));
    }

    #[test]
    fn formatting() {
        assert_eq!(human_bytes(900), "900B");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes(300 << 20), "300M");
        assert_eq!(cpu_time(12345, 100), "2:03.45");
        assert_eq!(cpu_time(100 * 3725, 100), "1:02:05");
        assert_eq!(human_age(59.9), "59s");
        assert_eq!(human_age(3.0 * 3600.0 + 300.0), "3h05m");
        assert_eq!(human_age(-1.0), "0s");
        assert_eq!(human_age(2.0 * 86400.0 + 4.0 * 3600.0), "2d04h");
    }

    #[test]
    fn ps_table() {
        let mut snap = Snapshot { processes: rows(), clock_ticks: 100, ..Default::default() };
        snap.meters.mem_total = 1000;
        snap.processes[2].cmdline = Arc::from("");
        let text = ps_text(&snap, SortKey::Cpu, "");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("cpu 0.0%"));
        assert!(lines[1].contains("PID") && lines[1].ends_with("COMMAND"));
        assert!(lines[2].contains("92.0") && lines[2].ends_with("/usr/bin/Java --flag"), "{}", lines[2]);
        assert!(lines[3].ends_with("[bash]"), "{}", lines[3]);
        assert_eq!(lines.len(), 5);
    }
}
