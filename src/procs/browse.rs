//! Reading an incident's evidence back: the captures (directories with a manifest) and loose
//! files (runbook command output) under its evidence directory, each capture's files re-hashed
//! against its manifest (and the manifest against the sha256 the timeline recorded), and one file
//! prepared for display: capped, control characters stripped, binary files described, not dumped.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::evidence::MANIFEST;
use crate::incident::sanitize::strip_controls;

/// One thing in the incident's evidence directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Capture(CaptureSummary),
    /// A file on its own (a runbook command's output).
    File {
        path: PathBuf,
        bytes: u64,
    },
}

/// What a capture's manifest says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub dir: PathBuf,
    /// RFC 3339, as the manifest has it (None when the manifest is unreadable).
    pub captured_at: Option<String>,
    pub pid: Option<i32>,
    pub name: String,
    pub profile: String,
    /// Files listed in the manifest, plus the manifest itself.
    pub files: usize,
    /// Their sizes as listed, plus the manifest's.
    pub bytes: u64,
    /// Why the manifest could not be read, if it could not.
    pub problem: Option<String>,
}

#[derive(Deserialize)]
struct ManifestDoc {
    pid: Option<i32>,
    name: Option<String>,
    profile: Option<String>,
    captured_at: Option<String>,
    #[serde(default)]
    steps: Vec<ManifestStep>,
}

#[derive(Deserialize)]
struct ManifestStep {
    file: Option<String>,
    bytes: Option<u64>,
    sha256: Option<String>,
}

fn read_manifest(dir: &Path) -> Result<ManifestDoc, String> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Everything under `root`, captures newest first, then loose files by name. A missing
/// directory is an empty list (nothing captured yet).
pub fn list(root: &Path) -> Result<Vec<Entry>, String> {
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", root.display())),
    };
    let mut captures = Vec::new();
    let mut files = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            let manifest_bytes = std::fs::metadata(path.join(MANIFEST)).map(|m| m.len()).ok();
            let (doc, problem) = match read_manifest(&path) {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(e)),
            };
            let listed: Vec<&ManifestStep> = doc
                .as_ref()
                .map(|d| d.steps.iter().filter(|s| s.file.is_some()).collect())
                .unwrap_or_default();
            captures.push(CaptureSummary {
                captured_at: doc.as_ref().and_then(|d| d.captured_at.clone()),
                pid: doc.as_ref().and_then(|d| d.pid),
                name: doc.as_ref().and_then(|d| d.name.clone()).unwrap_or_else(|| "?".into()),
                profile: doc.as_ref().and_then(|d| d.profile.clone()).unwrap_or_else(|| "?".into()),
                files: listed.len() + usize::from(manifest_bytes.is_some()),
                bytes: listed.iter().filter_map(|s| s.bytes).sum::<u64>() + manifest_bytes.unwrap_or(0),
                problem,
                dir: path,
            });
        } else if meta.is_file() {
            files.push(Entry::File { bytes: meta.len(), path });
        }
    }
    captures.sort_by(|a, b| b.captured_at.cmp(&a.captured_at).then_with(|| b.dir.cmp(&a.dir)));
    files.sort_by(|a, b| match (a, b) {
        (Entry::File { path: x, .. }, Entry::File { path: y, .. }) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    Ok(captures.into_iter().map(Entry::Capture).chain(files).collect())
}

/// Whether a file still matches what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// Same sha256 as recorded.
    Ok,
    /// Different sha256 (or size) than recorded.
    Changed,
    /// Listed but no longer there.
    Missing,
    /// There, but not listed in the manifest.
    Unlisted,
    /// A manifest or loose file no `evidence_captured` event on this timeline records.
    NotOnTimeline,
    Unreadable(String),
}

impl Integrity {
    pub fn label(&self) -> String {
        match self {
            Integrity::Ok => "ok".into(),
            Integrity::Changed => "changed".into(),
            Integrity::Missing => "missing".into(),
            Integrity::Unlisted => "not in manifest".into(),
            Integrity::NotOnTimeline => "not recorded on this timeline".into(),
            Integrity::Unreadable(e) => format!("unreadable: {e}"),
        }
    }
}

/// One file of a capture as checked now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub name: String,
    pub path: PathBuf,
    /// Size on disk now (None when missing).
    pub bytes: Option<u64>,
    pub status: Integrity,
}

/// Re-hashes every file of the capture in `dir` against its manifest, and the manifest against
/// `recorded` (path → sha256 from the timeline's `evidence_captured` events). Files on disk that
/// nothing lists are reported too. Reads every byte: run it off the UI thread.
pub fn verify_capture(dir: &Path, recorded: &HashMap<String, String>) -> Vec<CheckedFile> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let check = |path: &Path, want: Option<&str>| check_file(path, want, Integrity::Unlisted);
    let manifest = dir.join(MANIFEST);
    seen.insert(MANIFEST.to_string());
    out.push(verify_file(&manifest, recorded));
    if let Ok(doc) = read_manifest(dir) {
        for s in doc.steps {
            let Some(name) = s.file else { continue };
            // A manifest names files inside its own directory only.
            if name.contains('/') || name == ".." || !seen.insert(name.clone()) {
                continue;
            }
            let path = dir.join(&name);
            let (bytes, status) = check(&path, s.sha256.as_deref());
            out.push(CheckedFile { name, path, bytes, status });
        }
    }
    let mut extra: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    extra.sort();
    for path in extra {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if seen.contains(&name) || !path.is_file() {
            continue;
        }
        let (bytes, status) = check(&path, None);
        out.push(CheckedFile { name, path, bytes, status });
    }
    out
}

/// A loose file checked against the timeline's sha256 for it.
pub fn verify_file(path: &Path, recorded: &HashMap<String, String>) -> CheckedFile {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let want = recorded.get(&path.display().to_string()).map(String::as_str);
    let (bytes, status) = check_file(path, want, Integrity::NotOnTimeline);
    CheckedFile { name, path: path.to_path_buf(), bytes, status }
}

/// Size and integrity of `path` against the sha256 `want`; `unrecorded` when there is none.
fn check_file(path: &Path, want: Option<&str>, unrecorded: Integrity) -> (Option<u64>, Integrity) {
    match hash_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, Integrity::Missing),
        Err(e) => (None, Integrity::Unreadable(e.to_string())),
        Ok((bytes, sha)) => match want {
            Some(w) if w.eq_ignore_ascii_case(&sha) => (Some(bytes), Integrity::Ok),
            Some(_) => (Some(bytes), Integrity::Changed),
            None => (Some(bytes), unrecorded),
        },
    }
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut f, &mut hasher)?;
    Ok((bytes, super::evidence::sha256_hex_of(hasher)))
}

/// The first bytes of a file shown in the browser.
pub const VIEW_CAP: usize = 256 * 1024;

/// A file ready to show: sanitised lines, or why it is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    pub lines: Vec<String>,
    /// The file is larger than the cap: only the first `VIEW_CAP` bytes are in `lines`.
    pub truncated_from: Option<u64>,
    /// Binary: `lines` holds the description only.
    pub binary: bool,
}

/// Reads up to `cap` bytes of `path` for display. Binary data (a NUL byte, or mostly not
/// UTF-8) is described by its size and first bytes, never written to the terminal.
pub fn read_text(path: &Path, cap: usize) -> Result<FileText, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::with_capacity(cap.min(total as usize));
    f.by_ref().take(cap as u64).read_to_end(&mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
    let truncated_from = (total > buf.len() as u64).then_some(total);
    let text = String::from_utf8_lossy(&buf);
    let bad = text.chars().filter(|c| *c == '\u{fffd}').count();
    if buf.contains(&0) || bad * 10 > text.chars().count().max(1) {
        let magic: Vec<String> = buf.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let kind = if buf.starts_with(b"\x7fELF") {
            "ELF file (a core dump or an executable)"
        } else {
            "binary data"
        };
        return Ok(FileText {
            lines: vec![
                format!("{kind}, {total} bytes: not shown."),
                format!("first bytes: {}", magic.join(" ")),
                format!("open it with the right tool: {}", path.display()),
            ],
            truncated_from: None,
            binary: true,
        });
    }
    let lines = text.lines().map(|l| strip_controls(&l.replace('\t', "    ")).into_owned()).collect();
    Ok(FileText { lines, truncated_from, binary: false })
}

/// path → sha256 of every `evidence_captured` event (what the timeline recorded).
pub fn recorded_hashes(events: &[crate::incident::Event]) -> HashMap<String, String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            crate::incident::EventKind::EvidenceCaptured { path, sha256, .. } => {
                Some((path.clone(), sha256.clone()))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::evidence::sha256_hex;

    fn manifest(dir: &Path, files: &[(&str, &[u8])]) {
        let steps: Vec<serde_json::Value> = files
            .iter()
            .map(
                |(n, b)| serde_json::json!({"name": n, "file": n, "bytes": b.len(), "sha256": sha256_hex(b)}),
            )
            .collect();
        for (n, b) in files {
            std::fs::write(dir.join(n), b).unwrap();
        }
        let doc = serde_json::json!({"pid": 42, "name": "spin", "profile": "quick",
            "captured_at": "2026-11-23T03:04:05+00:00", "steps": steps});
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec(&doc).unwrap()).unwrap();
    }

    #[test]
    fn lists_captures_and_loose_files_and_flags_changed_missing_and_unlisted() {
        let root = tempfile::tempdir().unwrap();
        let cap = root.path().join("42-100");
        std::fs::create_dir(&cap).unwrap();
        manifest(&cap, &[("status", b"Name: spin\n"), ("stat", b"42 (spin) R"), ("gone", b"x")]);
        std::fs::write(root.path().join("run-1.txt"), "output").unwrap();
        let entries = list(root.path()).unwrap();
        let Entry::Capture(c) = &entries[0] else { panic!("{entries:?}") };
        assert_eq!((c.pid, c.name.as_str(), c.profile.as_str(), c.files), (Some(42), "spin", "quick", 4));
        assert!(matches!(&entries[1], Entry::File { bytes: 6, .. }));

        std::fs::write(cap.join("stat"), "42 (spin) S").unwrap();
        std::fs::remove_file(cap.join("gone")).unwrap();
        std::fs::write(cap.join("planted"), "extra").unwrap();
        let checked = verify_capture(&cap, &HashMap::new());
        let status = |n: &str| checked.iter().find(|f| f.name == n).map(|f| f.status.clone());
        assert_eq!(status("status"), Some(Integrity::Ok));
        assert_eq!(status("stat"), Some(Integrity::Changed));
        assert_eq!(status("gone"), Some(Integrity::Missing));
        assert_eq!(status("planted"), Some(Integrity::Unlisted));
        // The manifest is checked against what the timeline recorded for it.
        assert_eq!(status(MANIFEST), Some(Integrity::NotOnTimeline));
        let m = cap.join(MANIFEST);
        let rec = HashMap::from([(m.display().to_string(), sha256_hex(&std::fs::read(&m).unwrap()))]);
        assert_eq!(verify_capture(&cap, &rec)[0].status, Integrity::Ok);
        let rec = HashMap::from([(m.display().to_string(), "00".repeat(32))]);
        assert_eq!(verify_capture(&cap, &rec)[0].status, Integrity::Changed);
    }

    #[test]
    fn missing_root_is_empty() {
        assert_eq!(list(Path::new("/nonexistent/warroom/evidence")).unwrap(), Vec::new());
    }

    #[test]
    fn text_is_sanitised_capped_and_binary_described() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        std::fs::write(&p, "ok line\n\x1b]52;c;aGk=\x07evil\x1b[2J\n").unwrap();
        let t = read_text(&p, 1024).unwrap();
        assert!(!t.binary && t.truncated_from.is_none());
        assert!(t.lines.iter().all(|l| !l.contains('\x1b') && !l.contains('\x07')), "{:?}", t.lines);
        std::fs::write(&p, "x\n".repeat(1000)).unwrap();
        let t = read_text(&p, 100).unwrap();
        assert_eq!((t.truncated_from, t.lines.len()), (Some(2000), 50));
        std::fs::write(&p, b"\x7fELF\x02\x01\x01\0\0\0binary").unwrap();
        let t = read_text(&p, 1024).unwrap();
        assert!(t.binary && t.lines[0].starts_with("ELF file"), "{:?}", t.lines);
    }
}
