//! Finding runbooks: the configured directory, the XDG data dir, then the built-in runbooks
//! shipped inside the binary (so a fresh install has useful ones). Earlier sources win on id.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::runbook::{self, Catalog};

/// Runbooks compiled into the binary: `runbooks/*.md` from the repository.
pub const BUILTIN: &[(&str, &str)] = &[
    ("builtin/host-cpu-saturation.md", include_str!("../runbooks/host-cpu-saturation.md")),
    ("builtin/disk-full.md", include_str!("../runbooks/disk-full.md")),
    ("builtin/memory-pressure-oom.md", include_str!("../runbooks/memory-pressure-oom.md")),
];

/// The directories searched, in precedence order, and whether each was explicitly configured.
pub fn dirs(config: &Config, data_dir: Option<&Path>) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    match &config.runbooks.dir {
        Some(d) => out.push((config.relative(d), true)),
        None => {
            if let Some(cfg) = config.source.clone().or_else(crate::config::default_config_path)
                && let Some(parent) = cfg.parent()
            {
                out.push((parent.join("runbooks"), false));
            }
        }
    }
    if let Some(d) = crate::config::data_dir(data_dir) {
        out.push((d.join("runbooks"), false));
    }
    out
}

/// Loads every runbook. A configured directory that is missing is reported as an error line;
/// default directories that do not exist are skipped silently.
pub fn load(config: &Config, data_dir: Option<&Path>) -> (Catalog, Vec<String>) {
    let mut files: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for (dir, configured) in dirs(config, data_dir) {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                if configured {
                    problems.push(format!("{}: runbooks dir ([runbooks] dir): {e}", dir.display()));
                }
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        paths.sort();
        for p in paths {
            match std::fs::read_to_string(&p) {
                Ok(text) => files.push((p.display().to_string(), text)),
                Err(e) => problems.push(format!("{}: cannot read: {e}", p.display())),
            }
        }
    }
    let mut catalog = runbook::catalog(files);
    // Built-ins fill in only ids nobody provided: a local copy overrides them quietly.
    let builtins = runbook::catalog(BUILTIN.iter().copied());
    for book in builtins.books {
        if !catalog.books.iter().any(|b| b.id == book.id) {
            catalog.books.push(book);
        }
    }
    catalog.errors.extend(builtins.errors);
    (catalog, problems)
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtins_parse_cleanly() {
        let c = crate::runbook::catalog(super::BUILTIN.iter().copied());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.books.len(), super::BUILTIN.len());
    }
}
