//! The postmortem and JSON export as files: what `E` in the TUI writes, and the runbook texts
//! both the CLI export and the TUI give the Markdown. IO at the edge over the pure
//! `incident::export`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::incident::export::{RunbookTexts, to_json, to_markdown_with};
use crate::incident::{Event, IncidentState};

/// The texts of the incident's attached runbooks (item names for the checklist section). A
/// runbook file that is gone only costs the names.
pub fn runbook_texts(config: &Config, data_dir: Option<&Path>, st: &IncidentState) -> RunbookTexts {
    let (catalog, _) = crate::catalog::load(config, data_dir);
    let books = catalog.books.iter().filter(|b| st.runbooks.iter().any(|(id, _)| *id == b.id));
    RunbookTexts { books: books.map(|b| b.export_text()).collect() }
}

/// Writes `content` to `path` mode 0600 (an existing file is made private before any byte lands).
pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    crate::store::restrict(path)
}

/// Where `E` writes: `exports/` in the data dir.
pub fn export_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Writes the Markdown postmortem and the JSON export of an incident into `dir` (created 0700):
/// `postmortem-ID8.md` and `incident-ID8.json`. Returns both paths.
pub fn write_exports(
    dir: &Path,
    st: &IncidentState,
    events: &[Event],
    texts: &RunbookTexts,
    tz: Option<chrono_tz::Tz>,
    now: DateTime<Utc>,
) -> std::io::Result<(PathBuf, PathBuf)> {
    crate::store::secure_dir(dir)?;
    let short = &st.id.to_string()[..8];
    let md = dir.join(format!("postmortem-{short}.md"));
    let json = dir.join(format!("incident-{short}.json"));
    write_private(&md, &to_markdown_with(st, events, tz, now, texts))?;
    write_private(&json, &to_json(st, events, now))?;
    Ok((md, json))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::incident::{Severity, fold};

    #[test]
    fn exports_are_written_private_in_a_private_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let ev = Event::open(Utc::now(), "ana", "db down".into(), Severity::new(2).unwrap(), None);
        let st = fold(std::slice::from_ref(&ev)).unwrap();
        let dir = export_dir(tmp.path());
        let (md, json) = write_exports(&dir, &st, &[ev], &RunbookTexts::default(), None, Utc::now()).unwrap();
        assert!(std::fs::read_to_string(&md).unwrap().starts_with("# Postmortem: db down"));
        assert!(std::fs::read_to_string(&json).unwrap().contains("\"format\": 1"));
        for p in [&md, &json] {
            assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
