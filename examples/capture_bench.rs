//! How long `warroom capture` (profile standard and quick) takes on a native process with 1 and
//! 100 threads, and how long the target was actually stopped, measured from inside the target:
//! each of its threads sleeps 1 ms in a loop and records the longest gap between wake-ups; the
//! capture's window is compared with an idle window of the same length.
//!
//! `cargo run --release --example capture_bench` (needs cc, and eu-stack or gdb for `standard`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warroom::procs::signal::current_start_time;
use warroom::procs::{CaptureOptions, Profile, capture_with};

const SRC: &str = r#"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static volatile long maxgap[1024];
static volatile int reset_flag, report_flag;
static long now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000L + t.tv_nsec / 1000; }
static void *worker(void *arg) {
    long i = (long)arg, last = now_us();
    struct timespec ms = {0, 1000000};
    for (;;) { nanosleep(&ms, NULL); long t = now_us(); if (t - last > maxgap[i]) maxgap[i] = t - last; last = t; }
    return NULL;
}
static void on_usr2(int s) { (void)s; reset_flag = 1; }
static void on_usr1(int s) { (void)s; report_flag = 1; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    signal(SIGUSR2, on_usr2); signal(SIGUSR1, on_usr1);
    for (long i = 1; i < n; i++) { pthread_t t; pthread_create(&t, NULL, worker, (void *)i); }
    long last = now_us();
    struct timespec ms = {0, 1000000};
    printf("ready\n"); fflush(stdout);
    for (;;) {
        nanosleep(&ms, NULL); long t = now_us(); if (t - last > maxgap[0]) maxgap[0] = t - last; last = t;
        if (reset_flag) { reset_flag = 0; for (int i = 0; i < n; i++) maxgap[i] = 0; last = now_us(); printf("reset\n"); fflush(stdout); }
        if (report_flag) { report_flag = 0; long m = 0; for (int i = 0; i < n; i++) if (maxgap[i] > m) m = maxgap[i]; printf("%ld\n", m); fflush(stdout); }
    }
}
"#;

struct Target {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Target {
    fn line(&mut self) -> String {
        let mut s = String::new();
        self.out.read_line(&mut s).unwrap();
        s.trim().to_string()
    }
    fn signal(&self, sig: &str) {
        Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap();
    }
    /// The longest gap (ms) any thread saw since the last reset.
    fn max_gap_ms(&mut self) -> f64 {
        self.signal("-USR1");
        self.line().parse::<f64>().unwrap() / 1000.0
    }
    fn reset(&mut self) {
        self.signal("-USR2");
        assert_eq!(self.line(), "reset");
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.c");
    std::fs::write(&src, SRC).unwrap();
    let bin = dir.path().join("wr-bench");
    assert!(
        Command::new("cc")
            .args(["-O1", "-g", "-pthread", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .unwrap()
            .success()
    );
    println!(
        "| threads | profile | capture wall time | tool time that stops the target (manifest) | longest gap seen by the target during capture | same, idle window |"
    );
    println!("|---|---|---|---|---|---|");
    for threads in [1usize, 100] {
        for profile in [Profile::Quick, Profile::Standard] {
            let mut results = Vec::new();
            for _ in 0..3 {
                let mut child =
                    Command::new(&bin).arg(threads.to_string()).stdout(Stdio::piped()).spawn().unwrap();
                let out = BufReader::new(child.stdout.take().unwrap());
                let mut t = Target { child, out };
                assert_eq!(t.line(), "ready");
                std::thread::sleep(Duration::from_millis(300));
                let pid = t.child.id() as i32;
                let start = current_start_time(pid).unwrap();
                let root = tempfile::tempdir().unwrap();
                // Idle baseline over the same length as the capture that follows.
                t.reset();
                let began = Instant::now();
                let opts = CaptureOptions { profile, ..CaptureOptions::default() };
                let ev = capture_with(root.path(), pid, start, chrono::Utc::now(), &opts).unwrap();
                let took = began.elapsed();
                let during = t.max_gap_ms();
                t.reset();
                std::thread::sleep(took);
                let idle = t.max_gap_ms();
                results.push((took, ev.paused, during, idle));
                let _ = t.child.kill();
                let _ = t.child.wait();
            }
            results.sort_by_key(|r| r.0);
            let (took, paused, during, idle) = results[1];
            println!(
                "| {threads} | {} | {} ms | {} ms | {during:.1} ms | {idle:.1} ms |",
                profile.name(),
                took.as_millis(),
                paused.as_millis()
            );
        }
    }
}
