//! Evidence capture before a process is signalled: what it was, what it held open, how it was
//! started — written 0600 into a fresh 0700 directory, with a sha256 manifest, so the restart
//! that follows cannot destroy the facts.

use std::fmt::Write as _;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::details::{DetailsError, open_fds, read_stat_checked, sockets_of};
use super::parse;
use super::procfs::ProcFs;
use super::redact;
use crate::incident::EventKind;

/// Why evidence could not be captured.
#[derive(Debug, Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Process(#[from] DetailsError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("pid {pid} was replaced by another process during capture: evidence discarded")]
    ReplacedDuringCapture { pid: i32, expected: u64, found: u64 },
}

/// One written evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFile {
    /// File name inside the evidence directory.
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub what: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A piece that could not be captured, and why (e.g. the kernel stack without root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub name: String,
    pub why: String,
}

/// The result of one capture. `files` ends with the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub dir: PathBuf,
    pub files: Vec<EvidenceFile>,
    pub skipped: Vec<Skipped>,
}

impl Evidence {
    /// The manifest (sha256 of every other file).
    pub fn manifest(&self) -> Option<&EvidenceFile> {
        self.files.last().filter(|f| f.name == MANIFEST)
    }

    /// One `evidence_captured` event per file, manifest last, for the caller to append.
    pub fn events(&self) -> Vec<EventKind> {
        self.files
            .iter()
            .map(|f| EventKind::EvidenceCaptured {
                path: f.path.display().to_string(),
                sha256: f.sha256.clone(),
                bytes: f.bytes,
                what: f.what.clone(),
            })
            .collect()
    }
}

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

#[derive(Serialize)]
struct Manifest<'a> {
    pid: i32,
    start_time: u64,
    name: &'a str,
    captured_at: String,
    files: &'a [EvidenceFile],
    skipped: &'a [Skipped],
}

/// Captures evidence of (pid, start time) from /proc into a new directory under
/// `evidence_root` (created 0700 if missing), named `<pid>-<start time>` (`-2`, `-3`, ... for
/// later captures of the same process). `at` goes into the manifest.
pub fn capture_evidence(
    evidence_root: &Path,
    pid: i32,
    start_time: u64,
    at: DateTime<Utc>,
) -> Result<Evidence, EvidenceError> {
    let fs = ProcFs::open(Path::new("/proc"))
        .map_err(|source| EvidenceError::Io { path: PathBuf::from("/proc"), source })?;
    capture_in(&fs, evidence_root, pid, start_time, at)
}

fn capture_in(
    fs: &ProcFs,
    evidence_root: &Path,
    pid: i32,
    start_time: u64,
    at: DateTime<Utc>,
) -> Result<Evidence, EvidenceError> {
    let mut buf = Vec::with_capacity(8192);
    let name = {
        let st = read_stat_checked(fs, pid, start_time, &mut buf)?;
        String::from_utf8_lossy(st.comm).into_owned()
    };
    let dir = make_dir(evidence_root, &format!("{pid}-{start_time}"))?;
    let mut ev = Evidence { dir: dir.clone(), files: Vec::new(), skipped: Vec::new() };

    let raw = |file: &str, buf: &mut Vec<u8>| fs.read_pid(pid, file, buf).map(|()| buf.clone());
    let add = |ev: &mut Evidence, name: &str, what: String, data: io::Result<Vec<u8>>| match data {
        Ok(bytes) => write_file(&dir, name, what, &bytes).map(|f| ev.files.push(f)),
        Err(e) => {
            ev.skipped.push(Skipped { name: name.to_string(), why: e.to_string() });
            Ok(())
        }
    };
    add(&mut ev, "status", format!("/proc/{pid}/status of {name}"), raw("status", &mut buf))?;
    add(&mut ev, "stat", format!("/proc/{pid}/stat of {name}"), raw("stat", &mut buf))?;
    let cmdline = raw("cmdline", &mut buf).map(|b| {
        let args = redact::redact_args(&parse::split_nul(&b));
        args.iter().flat_map(|a| [a.as_str(), "\n"]).collect::<String>().into_bytes()
    });
    add(
        &mut ev,
        "cmdline.txt",
        format!("command line of {name}, one argument per line, secrets redacted"),
        cmdline,
    )?;
    let environ = raw("environ", &mut buf).map(|b| redact::redact_environ(&b).into_bytes());
    add(&mut ev, "environ.txt", format!("environment of {name}, secrets redacted"), environ)?;
    add(&mut ev, "limits", format!("resource limits of {name}"), raw("limits", &mut buf))?;
    add(&mut ev, "cgroup", format!("cgroups of {name}"), raw("cgroup", &mut buf))?;
    let fds = open_fds(fs, pid);
    let fd_text = fds.as_ref().map(|fds| {
        let mut s = String::new();
        for f in fds {
            let _ = writeln!(s, "{}\t{}", f.fd, f.target);
        }
        s.into_bytes()
    });
    let unreadable =
        || io::Error::new(io::ErrorKind::PermissionDenied, format!("/proc/{pid}/fd is not readable"));
    add(&mut ev, "fds.txt", format!("open file descriptors of {name}"), fd_text.ok_or_else(unreadable))?;
    let sockets = fds.as_ref().map(|fds| {
        let mut s = String::from("proto\tlocal\tremote\tstate\tinode\n");
        for e in sockets_of(fs, pid, fds) {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t{}",
                e.proto.as_str(),
                std::net::SocketAddr::new(e.local, e.local_port),
                std::net::SocketAddr::new(e.remote, e.remote_port),
                if e.is_listening() { "LISTEN".to_string() } else { format!("{:02X}", e.state) },
                e.inode
            );
        }
        s.into_bytes()
    });
    add(&mut ev, "sockets.txt", format!("inet sockets of {name}"), sockets.ok_or_else(unreadable))?;
    add(&mut ev, "stack", format!("kernel stack of {name}"), raw("stack", &mut buf))?;

    // The pid must still be the same process, or what we wrote may describe another one.
    match read_stat_checked(fs, pid, start_time, &mut buf) {
        Ok(_) | Err(DetailsError::Gone { .. }) => {}
        Err(DetailsError::Recycled { expected, found, .. }) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(EvidenceError::ReplacedDuringCapture { pid, expected, found });
        }
        Err(e) => return Err(e.into()),
    }

    let manifest = Manifest {
        pid,
        start_time,
        name: &name,
        captured_at: at.to_rfc3339(),
        files: &ev.files,
        skipped: &ev.skipped,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| EvidenceError::Io { path: dir.join(MANIFEST), source: io::Error::other(e) })?;
    let m = write_file(
        &dir,
        MANIFEST,
        format!("evidence manifest of {name} (pid {pid}) with sha256 of each file"),
        &json,
    )?;
    ev.files.push(m);
    Ok(ev)
}

/// Creates `root` (0700, with parents) and a fresh `root/name` (0700), adding `-2`, `-3`, ... if
/// it exists, so a capture never mixes with an earlier one.
fn make_dir(root: &Path, name: &str) -> Result<PathBuf, EvidenceError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvidenceError::Io { path, source }
    };
    DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(io_err(root))?;
    for n in 1..1000 {
        let dir = if n == 1 { root.join(name) } else { root.join(format!("{name}-{n}")) };
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        }
    }
    Err(io_err(&root.join(name))(io::Error::new(io::ErrorKind::AlreadyExists, "999 captures with this name")))
}

fn write_file(dir: &Path, name: &str, what: String, bytes: &[u8]) -> Result<EvidenceFile, EvidenceError> {
    let path = dir.join(name);
    let err = |source| EvidenceError::Io { path: path.clone(), source };
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    Ok(EvidenceFile {
        name: name.to_string(),
        path: path.clone(),
        what,
        bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    })
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::signal::current_start_time;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T03:04:05Z").unwrap().to_utc()
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn captures_redacted_files_with_modes_and_manifest() {
        // `; :` keeps sh from exec'ing sleep, so the argv under test stays sh's.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 60; :", "x", "--password=hunter2"])
            .env("API_TOKEN", "tok-123")
            .env("DATABASE_URL", "postgres://app:s3cret@db/app")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = current_start_time(pid).unwrap();
        let root = tempfile::tempdir().unwrap();
        let evroot = root.path().join("evidence/inc-1");
        let ev = capture_evidence(&evroot, pid, start, at()).unwrap();
        let again = capture_evidence(&evroot, pid, start, at()).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(ev.dir, evroot.join(format!("{pid}-{start}")));
        assert_eq!(again.dir, evroot.join(format!("{pid}-{start}-2")));
        assert_eq!(std::fs::metadata(&evroot).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&ev.dir).unwrap().permissions().mode() & 0o777, 0o700);
        let names: Vec<&str> = ev.files.iter().map(|f| f.name.as_str()).collect();
        for n in
            ["status", "stat", "cmdline.txt", "environ.txt", "limits", "fds.txt", "sockets.txt", MANIFEST]
        {
            assert!(names.contains(&n), "{n} missing from {names:?}, skipped {:?}", ev.skipped);
        }
        for f in &ev.files {
            let bytes = std::fs::read(&f.path).unwrap();
            assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.name);
            assert_eq!(bytes.len() as u64, f.bytes);
            assert_eq!(std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.name);
        }
        let env = std::fs::read_to_string(ev.dir.join("environ.txt")).unwrap();
        assert!(env.contains("API_TOKEN=***\n"), "{env}");
        assert!(env.contains("DATABASE_URL=postgres://app:***@db/app\n"), "{env}");
        assert!(!env.contains("tok-123") && !env.contains("s3cret"));
        let cmd = std::fs::read_to_string(ev.dir.join("cmdline.txt")).unwrap();
        assert_eq!(cmd, "sh\n-c\nsleep 60; :\nx\n--password=***\n");

        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ev.dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest["pid"], pid);
        assert_eq!(manifest["start_time"], start);
        assert_eq!(manifest["captured_at"], "2026-11-23T03:04:05+00:00");
        let listed = manifest["files"].as_array().unwrap();
        assert_eq!(listed.len(), ev.files.len() - 1);
        for entry in listed {
            let name = entry["name"].as_str().unwrap();
            let bytes = std::fs::read(ev.dir.join(name)).unwrap();
            assert_eq!(entry["sha256"].as_str().unwrap(), sha256_hex(&bytes), "{name}");
        }
        let events = ev.events();
        assert_eq!(events.len(), ev.files.len());
        assert!(
            matches!(&events[events.len() - 1], EventKind::EvidenceCaptured { what, .. } if what.contains("manifest"))
        );
    }

    #[test]
    fn refuses_gone_and_recycled_targets() {
        let root = tempfile::tempdir().unwrap();
        let me = std::process::id() as i32;
        let start = current_start_time(me).unwrap();
        let e = capture_evidence(root.path(), me, start + 1, at()).unwrap_err();
        assert!(matches!(e, EvidenceError::Process(DetailsError::Recycled { .. })), "{e}");
        let e = capture_evidence(root.path(), i32::MAX, 1, at()).unwrap_err();
        assert!(matches!(e, EvidenceError::Process(DetailsError::Gone { .. })), "{e}");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn unwritable_root_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let me = std::process::id() as i32;
        let e = capture_evidence(&file.join("sub"), me, current_start_time(me).unwrap(), at()).unwrap_err();
        assert!(e.to_string().contains("not-a-dir"), "{e}");
    }
}
