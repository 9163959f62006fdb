//! `warroom runbook list` and `warroom runbook check FILE…`.

use std::path::PathBuf;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use super::Global;
use crate::config::Config;
use crate::incident::sanitize::one_line;
use crate::runbook;

pub(super) fn list(global: &Global, config: &Config) -> Result<ExitCode> {
    let (catalog, problems) = crate::catalog::load(config, global.data_dir.as_deref());
    for b in &catalog.books {
        let sev = if b.severities.is_empty() {
            "any".to_string()
        } else {
            b.severities.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
        };
        println!("{:<26} {:>3} items  {:<14} {}  ({})", b.id, b.items.len(), sev, one_line(&b.title), b.path);
    }
    if catalog.books.is_empty() {
        println!("No runbooks.");
    }
    for p in &problems {
        eprintln!("warroom: {p}");
    }
    for e in &catalog.errors {
        eprintln!("warroom: {e}");
    }
    Ok(if problems.is_empty() && catalog.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub(super) fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for f in files {
        let shown = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{shown}: cannot read: {e}");
                bad += 1;
                continue;
            }
        };
        match runbook::parse(&text, &shown) {
            Ok(b) => println!("{shown}: ok ({} items in {} sections)", b.items.len(), b.sections.len()),
            Err(errs) => {
                bad += 1;
                for e in errs {
                    eprintln!("{e}");
                }
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
