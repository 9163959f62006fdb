//! Everything about one process, read on demand (Enter in the pane, the kill popup): full
//! cmdline, cwd, exe, environ count, open fds, listening ports, cgroup unit and container,
//! parent chain, threads, limits. Fields the kernel will not show us are `None`, not errors.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use super::parse::{self, CgroupInfo, LimitRow, SocketEntry};
use super::procfs::{ProcFs, is_gone};
use super::users::UserNames;
use crate::incident::sanitize::{one_line, strip_controls};

/// Why details could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DetailsError {
    #[error("pid {pid} has exited")]
    Gone { pid: i32 },
    #[error("pid {pid} now belongs to another process (start time {found}, expected {expected})")]
    Recycled { pid: i32, expected: u64, found: u64 },
    #[error("/proc/{pid}/stat: {message}")]
    Unreadable { pid: i32, message: String },
}

/// One step of the parent chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    pub pid: i32,
    pub name: String,
}

/// One open file descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenFd {
    pub fd: i32,
    pub target: String,
}

/// The details view of one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessDetails {
    pub pid: i32,
    pub start_time: u64,
    pub name: String,
    pub state: char,
    pub ppid: i32,
    /// Every argument, control characters stripped.
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub exe: Option<String>,
    pub environ_count: Option<usize>,
    pub fd_count: Option<usize>,
    /// Listening TCP and bound UDP sockets owned by the process (in its network namespace).
    pub listening: Vec<SocketEntry>,
    pub cgroup: Option<CgroupInfo>,
    /// Parent, grandparent, ... ending at PID 1 (or where the chain becomes unreadable).
    pub parent_chain: Vec<ChainLink>,
    pub threads: i64,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub vm_rss: Option<u64>,
    pub limits: Vec<LimitRow>,
    pub kernel_thread: bool,
}

/// Reads the details of (pid, start time) from /proc, with user names from /etc/passwd.
pub fn process_details(pid: i32, start_time: u64) -> Result<ProcessDetails, DetailsError> {
    let fs = ProcFs::open(Path::new("/proc"))
        .map_err(|e| DetailsError::Unreadable { pid, message: format!("/proc: {e}") })?;
    let mut users = UserNames::new("/etc/passwd".into());
    details_in(&fs, &mut users, pid, start_time)
}

pub(crate) fn details_in(
    fs: &ProcFs,
    users: &mut UserNames,
    pid: i32,
    start_time: u64,
) -> Result<ProcessDetails, DetailsError> {
    let mut buf = Vec::with_capacity(4096);
    let st = read_stat_checked(fs, pid, start_time, &mut buf)?;
    let clean = |s: &str| one_line(&strip_controls(s)).into_owned();
    let name = clean(&String::from_utf8_lossy(st.comm));
    let (state, ppid, threads, kernel_thread) =
        (char::from(st.state), st.ppid, st.num_threads, st.is_kernel_thread());

    let argv = match fs.read_pid(pid, "cmdline", &mut buf) {
        Ok(()) => parse::split_nul(&buf).iter().map(|a| clean(a)).collect(),
        Err(_) => Vec::new(),
    };
    let link = |name: &str| fs.readlink_pid(pid, name).ok().map(|t| clean(&String::from_utf8_lossy(&t)));
    let (cwd, exe) = (link("cwd"), link("exe"));
    let environ_count = fs.read_pid(pid, "environ", &mut buf).ok().map(|()| parse::split_nul(&buf).len());
    let fds = open_fds(fs, pid);
    let fd_count = fds.as_ref().map(Vec::len);
    let listening = fds.as_ref().map(|f| sockets_of(fs, pid, f)).unwrap_or_default();
    let listening = listening.into_iter().filter(SocketEntry::is_listening).collect();
    let cgroup = fs.read_pid(pid, "cgroup", &mut buf).ok().map(|()| parse::parse_cgroup(&buf));
    let status = fs.read_pid(pid, "status", &mut buf).ok().and_then(|()| parse::parse_status(&buf).ok());
    let uid = status.as_ref().and_then(|s| s.uid).map(|u| u[1]);
    let user = uid.map(|u| users.name(u).to_string());
    let vm_rss = status.and_then(|s| s.vm_rss);
    let limits = fs.read_pid(pid, "limits", &mut buf).map(|()| parse::parse_limits(&buf)).unwrap_or_default();
    let parent_chain = parent_chain(fs, ppid, &mut buf);

    Ok(ProcessDetails {
        pid,
        start_time,
        name,
        state,
        ppid,
        argv,
        cwd,
        exe,
        environ_count,
        fd_count,
        listening,
        cgroup,
        parent_chain,
        threads,
        uid,
        user,
        vm_rss,
        limits,
        kernel_thread,
    })
}

/// Reads and parses /proc/PID/stat, checking it is still the process we mean.
pub(crate) fn read_stat_checked<'b>(
    fs: &ProcFs,
    pid: i32,
    start_time: u64,
    buf: &'b mut Vec<u8>,
) -> Result<parse::ProcStat<'b>, DetailsError> {
    match fs.read_pid(pid, "stat", buf) {
        Ok(()) => {}
        Err(e) if is_gone(&e) => return Err(DetailsError::Gone { pid }),
        Err(e) => return Err(DetailsError::Unreadable { pid, message: e.to_string() }),
    }
    let st = parse::parse_stat(buf).map_err(|e| DetailsError::Unreadable { pid, message: e.to_string() })?;
    if st.start_time != start_time {
        return Err(DetailsError::Recycled { pid, expected: start_time, found: st.start_time });
    }
    Ok(st)
}

/// Parent, grandparent, ... from `ppid` up to PID 1; stops at 64 links or an unreadable entry.
pub(crate) fn parent_chain(fs: &ProcFs, mut ppid: i32, buf: &mut Vec<u8>) -> Vec<ChainLink> {
    let mut chain = Vec::new();
    let mut seen = HashSet::new();
    while ppid > 0 && chain.len() < 64 && seen.insert(ppid) {
        if fs.read_pid(ppid, "stat", buf).is_err() {
            break;
        }
        let Ok(st) = parse::parse_stat(buf) else { break };
        chain.push(ChainLink {
            pid: ppid,
            name: one_line(&strip_controls(&String::from_utf8_lossy(st.comm))).into_owned(),
        });
        ppid = st.ppid;
    }
    chain
}

/// The ancestors of the calling process: parent, grandparent, ... up to PID 1.
pub fn own_ancestors() -> Vec<i32> {
    let Ok(fs) = ProcFs::open(Path::new("/proc")) else { return Vec::new() };
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    parent_chain(&fs, ppid, &mut Vec::with_capacity(512)).into_iter().map(|l| l.pid).collect()
}

/// The open fds of a process and where they point, sorted by fd. None when unreadable.
pub(crate) fn open_fds(fs: &ProcFs, pid: i32) -> Option<Vec<OpenFd>> {
    let mut nums = Vec::new();
    fs.list_numeric(format!("{pid}/fd").as_bytes(), &mut nums, &mut Vec::new()).ok()?;
    nums.sort_unstable();
    Some(
        nums.into_iter()
            .filter_map(|fd| {
                let target = fs.readlink_pid(pid, &format!("fd/{fd}")).ok()?;
                Some(OpenFd { fd, target: String::from_utf8_lossy(&target).into_owned() })
            })
            .collect(),
    )
}

/// The inet sockets (any state) behind `fds`, from the process's own network namespace.
pub(crate) fn sockets_of(fs: &ProcFs, pid: i32, fds: &[OpenFd]) -> Vec<SocketEntry> {
    let inodes: HashSet<u64> = fds.iter().filter_map(|f| parse::socket_inode(f.target.as_bytes())).collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (file, proto) in parse::SOCKET_TABLES {
        if fs.read_pid(pid, file, &mut buf).is_ok() {
            out.extend(
                parse::parse_net_sockets(&buf, proto).into_iter().filter(|s| inodes.contains(&s.inode)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::parse::Proto;
    use crate::procs::signal::current_start_time;
    use std::net::TcpListener;

    #[test]
    fn details_of_ourselves_show_listening_port_and_chain() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        let d = process_details(me, current_start_time(me).unwrap()).unwrap();
        assert!(
            d.listening.iter().any(|s| s.local_port == port && s.proto == Proto::Tcp),
            "{:?}",
            d.listening
        );
        assert_eq!(d.parent_chain.last().map(|l| l.pid), Some(1), "{:?}", d.parent_chain);
        assert_eq!(d.parent_chain.first().map(|l| l.pid), Some(d.ppid));
        assert_eq!(own_ancestors(), d.parent_chain.iter().map(|l| l.pid).collect::<Vec<_>>());
        assert!(d.fd_count.unwrap() >= 4);
        assert!(d.environ_count.unwrap() > 0);
        assert!(d.exe.is_some() && d.cwd.is_some());
        assert!(d.limits.iter().any(|l| l.name == "Max open files"));
        assert!(!d.argv.is_empty());
        assert!(!d.kernel_thread);
        assert!(d.threads >= 1);
    }

    #[test]
    fn gone_and_recycled() {
        let me = std::process::id() as i32;
        let start = current_start_time(me).unwrap();
        assert_eq!(
            process_details(me, start + 1).unwrap_err(),
            DetailsError::Recycled { pid: me, expected: start + 1, found: start }
        );
        assert_eq!(process_details(i32::MAX, 1).unwrap_err(), DetailsError::Gone { pid: i32::MAX });
    }

    #[test]
    fn kernel_thread_details() {
        let d = process_details(2, current_start_time(2).unwrap()).unwrap();
        assert!(d.kernel_thread);
        assert!(d.argv.is_empty());
        assert_eq!(d.name, "kthreadd");
    }
}
