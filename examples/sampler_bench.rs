//! The process sampler alone, for measuring its cost per refresh against htop.
//!
//! usage:
//!   sampler_bench [--interval SECS]   sample every SECS (default 1.5) forever, printing one status
//!                                     line per tick (run it in tmux next to htop; see
//!                                     bench/proc-cost.sh)
//!   sampler_bench --measure N         sample N times back to back and print the CPU time per
//!                                     sample (user+sys of this process, from /proc/self/stat)

use std::io::Write;
use std::time::Duration;

use warroom::procs::Sampler;
use warroom::procs::parse::parse_stat;

fn own_cpu_ticks() -> u64 {
    std::fs::read("/proc/self/stat")
        .ok()
        .and_then(|b| parse_stat(&b).ok().map(|s| s.cpu_ticks()))
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let mut sampler = match Sampler::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sampler_bench: cannot open /proc: {e}");
            std::process::exit(1);
        }
    };

    if let Some(n) = value("--measure") {
        let n: u64 = n.parse().unwrap_or(100).max(1);
        // The first sample fills the identity caches; steady state is what a refresh costs.
        let t0 = own_cpu_ticks();
        sampler.sample();
        println!("first sample (cold caches): {} ms CPU", (own_cpu_ticks() - t0) * 10);
        let before = own_cpu_ticks();
        let mut procs = 0;
        for _ in 0..n {
            procs = sampler.sample().processes.len();
        }
        let ticks = own_cpu_ticks() - before;
        println!(
            "{n} samples of {procs} processes: {:.2} ms CPU per sample",
            ticks as f64 * 10.0 / n as f64 // USER_HZ = 100: one tick is 10 ms
        );
        return;
    }

    let interval: f64 = value("--interval").and_then(|v| v.parse().ok()).unwrap_or(1.5);
    let mut out = std::io::stdout().lock();
    loop {
        let snap = sampler.sample();
        let top = snap.processes.iter().max_by(|a, b| a.cpu_percent.total_cmp(&b.cpu_percent));
        let _ = write!(
            out,
            "\rseq {} procs {} cpu {:5.1}% load {:.2} top {} {:.1}%   ",
            snap.seq,
            snap.processes.len(),
            snap.meters.cpu.busy,
            snap.meters.load[0],
            top.map_or("-", |p| &p.name),
            top.map_or(0.0, |p| p.cpu_percent)
        );
        let _ = out.flush();
        std::thread::sleep(Duration::from_secs_f64(interval));
    }
}
