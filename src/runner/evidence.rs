//! Keeping a run: its output written as an evidence file (dir 0700, file 0600, sha256) and the
//! `evidence_captured` + `command_run` events that put it on the timeline.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{RunResult, RunSpec};
use crate::incident::{Event, EventKind, IncidentId};
use crate::procs::evidence::sha256_hex;
use crate::store::{Store, StoreError};

/// An evidence file as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub path: PathBuf,
    /// Lowercase hex sha256 of the whole file.
    pub sha256: String,
    /// Size of the whole file.
    pub bytes: u64,
}

/// What `record` appended.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The evidence file, unless writing it failed (the reason is in `evidence_error`).
    pub evidence: Option<Evidence>,
    pub evidence_error: Option<String>,
    /// `evidence_captured` (when the file was written) then `command_run`.
    pub events: Vec<Event>,
}

/// Why a run could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot record the command run: {0}")]
    Store(#[from] StoreError),
}

/// Writes the run's output with a header (command, times, outcome) into `dir`, created 0700.
/// The name is `cmd-<runbook>-<item>-<UTC time>.txt`; an existing file is never overwritten.
pub fn write_evidence(dir: &Path, spec: &RunSpec, result: &RunResult) -> std::io::Result<Evidence> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let stamp = result.started_at.format("%Y%m%dT%H%M%S%.3fZ");
    let base = format!("cmd-{}-{}-{stamp}", file_part(&spec.runbook, 40), file_part(&spec.item, 60));
    let mut body = header(spec, result).into_bytes();
    body.extend_from_slice(&result.capture.kept);
    if !result.capture.kept.is_empty() && !result.capture.kept.ends_with(b"\n") {
        body.push(b'\n');
    }
    if result.capture.truncated() {
        body.extend_from_slice(
            format!(
                "[warroom: output truncated at {} bytes; {} more bytes were not kept]\n",
                result.capture.cap(),
                result.capture.total - result.capture.kept.len() as u64
            )
            .as_bytes(),
        );
    }
    if result.pipe_left_open {
        body.extend_from_slice(
            b"[warroom: a process outside the command's group kept the output open; stopped reading]\n",
        );
    }
    let (path, mut file) = create_new(dir, &base)?;
    file.write_all(&body)?;
    file.sync_all()?;
    crate::store::restrict(&path)?;
    Ok(Evidence { path, sha256: sha256_hex(&body), bytes: body.len() as u64 })
}

fn create_new(dir: &Path, base: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut n = 1;
    loop {
        let name = if n == 1 { format!("{base}.txt") } else { format!("{base}-{n}.txt") };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

fn header(spec: &RunSpec, result: &RunResult) -> String {
    let mut h = String::from("# warroom command output\n");
    h.push_str(&format!("# runbook:  {}\n# item:     {}\n", spec.runbook, spec.item));
    h.push_str(&format!("# command ({} -c):\n", spec.shell()));
    for line in spec.command_text().lines() {
        h.push_str(&format!("#   {line}\n"));
    }
    h.push_str(&format!("# started:  {}\n", result.started_at.to_rfc3339()));
    h.push_str(&format!(
        "# finished: {} ({:.3} s)\n",
        result.finished_at.to_rfc3339(),
        result.duration.as_secs_f64()
    ));
    h.push_str(&format!("# outcome:  {}\n", result.outcome));
    h.push_str(&format!(
        "# output:   {} bytes (stdout and stderr merged, as received)\n",
        result.capture.total
    ));
    h.push_str("# ----\n");
    h
}

/// A file-name-safe slug of at most `max` characters.
fn file_part(s: &str, max: usize) -> String {
    let slug: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .take(max)
        .collect();
    if slug.is_empty() { "x".into() } else { slug }
}

/// The events of a finished run: `evidence_captured` (when there is a file) and `command_run`,
/// both at the run's finish time, `command_run` sorting first. `note` (e.g. why evidence is missing) ends the excerpt.
pub fn events(
    incident: IncidentId,
    author: &str,
    spec: &RunSpec,
    result: &RunResult,
    evidence: Option<&Evidence>,
    note: Option<&str>,
) -> Vec<Event> {
    let at = result.finished_at;
    let mut out = Vec::new();
    let path = evidence.map(|e| e.path.display().to_string());
    if let (Some(ev), Some(path)) = (evidence, &path) {
        out.push(Event::new(
            incident,
            at,
            author,
            EventKind::EvidenceCaptured {
                path: path.clone(),
                sha256: ev.sha256.clone(),
                bytes: ev.bytes,
                what: format!("output of runbook {} item {}", spec.runbook, spec.item),
            },
        ));
    }
    let mut excerpt = result.capture.excerpt();
    let mut marks = Vec::new();
    if result.outcome.exit_code().is_none() {
        marks.push(format!("[warroom: {}; process group killed]", result.outcome));
    }
    if result.capture.truncated() {
        marks.push(format!("[warroom: output truncated at {} bytes in the evidence]", result.capture.cap()));
    }
    if let Some(n) = note {
        marks.push(format!("[warroom: {}]", crate::incident::sanitize::one_line(n)));
    }
    if !marks.is_empty() {
        // The markers must survive the excerpt's size bound: trim the output, not them.
        let marks = marks.join("\n");
        let room = super::output::EXCERPT_BYTES.saturating_sub(marks.len() + 1);
        if excerpt.len() > room {
            let mut cut = excerpt.len() - room;
            while !excerpt.is_char_boundary(cut) {
                cut += 1;
            }
            excerpt = excerpt[cut..].to_string();
        }
        if !excerpt.is_empty() {
            excerpt.push('\n');
        }
        excerpt.push_str(&marks);
    }
    out.push(Event::new(
        incident,
        at,
        author,
        EventKind::CommandRun {
            runbook: spec.runbook.clone(),
            item: spec.item.clone(),
            command: spec.command_text().to_string(),
            exit_code: result.outcome.exit_code(),
            output_excerpt: excerpt,
            evidence: path,
        },
    ));
    // Same instant: order by id so the timeline reads "ran …" then "evidence captured".
    if let [evidence, run] = out.as_mut_slice()
        && evidence.id < run.id
    {
        std::mem::swap(&mut evidence.id, &mut run.id);
    }
    out
}

/// Writes the evidence into the store's evidence dir for `incident` and appends both events in
/// one transaction. A failure to write the file (a full disk, of all things) does not lose the
/// run: `command_run` is recorded without evidence and says why.
pub fn record(
    store: &Store,
    incident: IncidentId,
    author: &str,
    spec: &RunSpec,
    result: &RunResult,
) -> Result<Recorded, RecordError> {
    let dir = store.evidence_dir(incident);
    let (evidence, evidence_error) = match write_evidence(&dir, spec, result) {
        Ok(e) => (Some(e), None),
        Err(e) => (None, Some(format!("evidence not saved in {}: {e}", dir.display()))),
    };
    let events = events(incident, author, spec, result, evidence.as_ref(), evidence_error.as_deref());
    store.append_all(&events, None)?;
    Ok(Recorded { evidence, evidence_error, events })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runner::{Capture, Outcome};

    fn result(outcome: Outcome, out: &[u8], cap: usize) -> RunResult {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T03:00:00Z").unwrap().to_utc();
        let mut capture = Capture::new(cap);
        capture.push(out);
        RunResult {
            outcome,
            started_at: at,
            finished_at: at + chrono::Duration::seconds(2),
            duration: Duration::from_secs(2),
            capture,
            live_skipped: 0,
            pipe_left_open: false,
        }
    }

    fn spec() -> RunSpec {
        let cmd = crate::runbook::Command { lang: "sh".into(), script: "echo hi\n".into(), line: 3 };
        RunSpec::new("disk-full", "confirm--df-1234abcd", &cmd, Duration::from_secs(60))
    }

    #[test]
    fn timed_out_excerpt_says_so_within_bounds() {
        let big: Vec<u8> = b"y".repeat(10_000);
        let r = result(Outcome::TimedOut(Duration::from_secs(60)), &big, 100);
        let evs = events(uuid::Uuid::nil(), "ana", &spec(), &r, None, Some("evidence not saved: disk full"));
        assert_eq!(evs.len(), 1);
        let EventKind::CommandRun { exit_code, output_excerpt, evidence, command, .. } = &evs[0].kind else {
            panic!("{:?}", evs[0].kind)
        };
        assert_eq!((*exit_code, evidence.as_deref(), command.as_str()), (None, None, "echo hi"));
        assert!(output_excerpt.len() <= crate::runner::output::EXCERPT_BYTES, "{}", output_excerpt.len());
        assert!(output_excerpt.contains("timed out after 60 s; process group killed"), "{output_excerpt}");
        assert!(output_excerpt.contains("truncated at 100 bytes"), "{output_excerpt}");
        assert!(output_excerpt.ends_with("[warroom: evidence not saved: disk full]"), "{output_excerpt}");
    }

    #[test]
    fn command_run_sorts_before_its_evidence() {
        let r = result(Outcome::Exited(0), b"hi\n", 1000);
        let ev = Evidence { path: "/e/x.txt".into(), sha256: "ab".repeat(32), bytes: 3 };
        for _ in 0..50 {
            let mut evs = events(uuid::Uuid::nil(), "ana", &spec(), &r, Some(&ev), None);
            assert_eq!(evs.len(), 2);
            crate::incident::state::canonical(&mut evs);
            assert_eq!(evs[0].kind.name(), "command_run");
            assert_eq!(evs[1].kind.name(), "evidence_captured");
        }
    }

    #[test]
    fn file_names_are_safe_and_never_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = spec();
        s.item = "../../etc/passwd".into();
        let r = result(Outcome::Exited(0), b"hi\n", 1000);
        let a = write_evidence(tmp.path(), &s, &r).unwrap();
        let b = write_evidence(tmp.path(), &s, &r).unwrap();
        assert_ne!(a.path, b.path);
        assert_eq!(a.path.parent(), Some(tmp.path()));
        assert!(b.path.to_string_lossy().ends_with("-2.txt"), "{}", b.path.display());
        let text = std::fs::read_to_string(&a.path).unwrap();
        assert!(
            text.contains("# outcome:  exited with status 0\n") && text.ends_with("# ----\nhi\n"),
            "{text}"
        );
    }
}
