//! Shared by the process-control tests (evidence capture, kill, restart): a child that is killed
//! and reaped on drop, so a failing assertion leaves nothing running, and `warroom` on a private
//! data dir with no server and no terminal.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// Kills and reaps the child on drop.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `warroom` with its data in `data`, no server (WARROOM_SERVER removed) and stdin closed.
pub fn warroom_at(data: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("warroom")
        .unwrap()
        .args(args)
        .env("WARROOM_DATA_DIR", data)
        .env_remove("WARROOM_SERVER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}
