//! `warroom ps`: the snapshot the process pane shows, for scripts and tests.

use std::process::ExitCode;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use super::UsageError;
use crate::procs::{Sampler, SortKey, view};

#[derive(Debug, clap::Args)]
pub struct Ps {
    #[arg(long)]
    json: bool,
    /// Sort by cpu, mem, pid, time or name.
    #[arg(long, default_value = "cpu", value_parser = super::parse_sort)]
    sort: SortKey,
    /// Only processes whose name or command line contains TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Milliseconds between the two samples CPU% is computed from.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    interval_ms: u64,
}

impl Ps {
    pub(super) fn run(self) -> Result<ExitCode> {
        ps(self.json, self.sort, self.filter, self.interval_ms)
    }
}

fn ps(json: bool, sort: SortKey, filter: Option<String>, interval_ms: u64) -> Result<ExitCode> {
    if !(10..=10_000).contains(&interval_ms) {
        return Err(UsageError(format!("--interval-ms must be 10..=10000, got {interval_ms}")).into());
    }
    let mut sampler = Sampler::new().wrap_err("cannot read /proc")?;
    // CPU% is a rate: two samples an interval apart, as the pane does every tick.
    sampler.sample();
    std::thread::sleep(Duration::from_millis(interval_ms));
    let mut snap = sampler.sample();
    let filter = filter.unwrap_or_default();
    if json {
        let order = view::sorted_indices(&snap.processes, sort, sort.descending_by_default(), &filter);
        let rows = std::mem::take(&mut snap.processes);
        let mut slots: Vec<Option<_>> = rows.into_iter().map(Some).collect();
        snap.processes = order.into_iter().filter_map(|i| slots.get_mut(i).and_then(Option::take)).collect();
        super::print_json(&snap, "the snapshot")?;
    } else {
        out!("{}", view::ps_text(&snap, sort, &filter));
    }
    Ok(ExitCode::SUCCESS)
}
