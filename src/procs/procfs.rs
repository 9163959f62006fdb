//! Thin, allocation-free access to a /proc tree: files are opened relative to one directory fd
//! and read into caller-owned buffers, so the sampler's hot path makes no per-process allocations.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, RawDir, openat};
use rustix::io::Errno;

/// Files larger than this are truncated: a hostile process cannot make us buffer gigabytes.
pub const MAX_FILE: usize = 4 << 20;

/// Clock ticks per second of every tick count in /proc (USER_HZ). The kernel fixes it at 100 on
/// every architecture Linux exposes to userspace, whatever CONFIG_HZ is.
pub const USER_HZ: u64 = 100;

/// An open /proc root (the real `/proc`, or a recorded tree in tests).
#[derive(Debug)]
pub struct ProcFs {
    root: OwnedFd,
    path: PathBuf,
}

impl ProcFs {
    pub fn open(path: &Path) -> io::Result<Self> {
        let root = openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(ProcFs { root, path: path.to_path_buf() })
    }

    /// The root this was opened at, for messages and for std::fs calls outside the hot path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `<root>/<rel>` into `buf` (cleared first), up to `MAX_FILE` bytes.
    pub fn read(&self, rel: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
        self.read_impl(rel, buf, false)
    }

    /// Like `read`, for files the kernel generates in one piece (seq_file: stat, status,
    /// meminfo, ...): a short read is the end, which saves the final empty read(2) per file.
    /// Not for cmdline or environ, which the kernel hands out a page at a time.
    pub fn read_seq(&self, rel: &[u8], buf: &mut Vec<u8>) -> io::Result<()> {
        self.read_impl(rel, buf, true)
    }

    fn read_impl(&self, rel: &[u8], buf: &mut Vec<u8>, short_read_is_eof: bool) -> io::Result<()> {
        let fd = openat(&self.root, rel, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY, Mode::empty())?;
        buf.clear();
        loop {
            if buf.capacity() - buf.len() < 512 {
                if buf.len() >= MAX_FILE {
                    return Ok(());
                }
                buf.reserve(buf.capacity().max(4096));
            }
            let room = buf.capacity() - buf.len();
            match rustix::io::read(&fd, rustix::buffer::spare_capacity(buf)) {
                Ok(0) => return Ok(()),
                Ok(n) if short_read_is_eof && n < room => return Ok(()),
                Ok(_) => {}
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads `<root>/<pid>/<name>` into `buf`.
    pub fn read_pid(&self, pid: i32, name: &str, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut path = PidPath::new(pid);
        path.push(name.as_bytes());
        self.read(path.as_bytes(), buf)
    }

    /// Reads the seq_file `<root>/<pid>/<name>` (stat, status, ...) into `buf`.
    pub fn read_pid_seq(&self, pid: i32, name: &str, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut path = PidPath::new(pid);
        path.push(name.as_bytes());
        self.read_seq(path.as_bytes(), buf)
    }

    /// The target of the symlink `<root>/<pid>/<name>` (cwd, exe, fd/N).
    pub fn readlink_pid(&self, pid: i32, name: &str) -> io::Result<Vec<u8>> {
        let mut path = PidPath::new(pid);
        path.push(name.as_bytes());
        let target = rustix::fs::readlinkat(&self.root, path.as_bytes(), Vec::new())?;
        Ok(target.into_bytes())
    }

    /// Fills `pids` with the numeric entries of the root, reusing `dirbuf` for getdents.
    pub fn list_pids(&self, pids: &mut Vec<i32>, dirbuf: &mut Vec<u8>) -> io::Result<()> {
        self.list_numeric(b".", pids, dirbuf)
    }

    /// The numeric entries of a directory under the root (`<pid>/fd`, `<pid>/task`).
    pub fn list_numeric(&self, rel: &[u8], out: &mut Vec<i32>, dirbuf: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let dir =
            openat(&self.root, rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        if dirbuf.capacity() < 32 * 1024 {
            dirbuf.reserve(32 * 1024);
        }
        let spare: &mut [MaybeUninit<u8>] = dirbuf.spare_capacity_mut();
        let mut iter = RawDir::new(&dir, spare);
        while let Some(entry) = iter.next() {
            let entry = entry?;
            if let Some(n) = parse_pid(entry.file_name().to_bytes()) {
                out.push(n);
            }
        }
        Ok(())
    }
}

fn parse_pid(name: &[u8]) -> Option<i32> {
    if name.is_empty() || name.len() > 10 || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in name {
        v = v * 10 + i64::from(c - b'0');
    }
    i32::try_from(v).ok()
}

/// `<pid>/<name>` built on the stack.
struct PidPath {
    buf: [u8; 96],
    len: usize,
}

impl PidPath {
    fn new(pid: i32) -> Self {
        let mut p = PidPath { buf: [0; 96], len: 0 };
        let mut digits = [0u8; 12];
        let mut n = i64::from(pid).unsigned_abs();
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if pid < 0 {
            i -= 1;
            digits[i] = b'-';
        }
        p.push(&digits[i..]);
        p.push(b"/");
        p
    }

    /// Appends bytes; names longer than the buffer are cut (only our own fixed names go here).
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// True when the error means the process (or its /proc entry) is gone.
pub fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c == Errno::NOENT.raw_os_error() || c == Errno::SRCH.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_paths() {
        let mut p = PidPath::new(4_194_304);
        p.push(b"stat");
        assert_eq!(p.as_bytes(), b"4194304/stat");
        assert_eq!(PidPath::new(0).as_bytes(), b"0/");
        assert_eq!(PidPath::new(-5).as_bytes(), b"-5/");
    }

    #[test]
    fn reads_self_and_lists_pids() {
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        let mut buf = Vec::new();
        fs.read(b"self/stat", &mut buf).unwrap();
        let me = super::super::parse::parse_stat(&buf).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        let mut pids = Vec::new();
        fs.list_pids(&mut pids, &mut Vec::new()).unwrap();
        assert!(pids.contains(&me.pid));
        assert!(pids.contains(&1));
        let err = fs.read_pid(i32::MAX, "stat", &mut buf).unwrap_err();
        assert!(is_gone(&err), "{err}");
    }

    #[test]
    fn large_files_grow_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 100_000]).unwrap();
        let fs = ProcFs::open(dir.path()).unwrap();
        let mut buf = Vec::new();
        fs.read(b"big", &mut buf).unwrap();
        assert_eq!(buf.len(), 100_000);
        fs.read_seq(b"big", &mut buf).unwrap();
        assert_eq!(buf.len(), 100_000, "a regular file fills every read until the end");
    }
}
