//! The real binary in a pseudo-terminal, its screen read back through a VT100 emulator, shared by
//! the pty tests. Screens are polled with a deadline (never fixed sleeps), so a loaded CI machine
//! is slow, not flaky.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

pub const DEADLINE: Duration = Duration::from_secs(10);

/// Records what the program asked of the terminal besides drawing.
#[derive(Default)]
pub struct Recorder {
    pub titles: Vec<String>,
}

impl vt100::Callbacks for Recorder {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(String::from_utf8_lossy(title).into_owned());
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.titles.push(String::from_utf8_lossy(name).into_owned());
    }
}

pub struct Tui {
    pub parser: Arc<Mutex<vt100::Parser<Recorder>>>,
    /// Every byte the program wrote, for what vt100 swallows (OSC 52).
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
}

/// Environment shared by the TUI and the CLI commands of a test.
pub fn env(dir: &Path) -> Vec<(String, String)> {
    let config = dir.join("config.toml");
    // A test may write its own config first.
    if !config.exists() {
        std::fs::write(&config, "[user]\nname = \"tester\"\ntimezone = \"UTC\"\n").unwrap();
    }
    vec![
        ("WARROOM_DATA_DIR".into(), dir.join("data").display().to_string()),
        ("WARROOM_CONFIG".into(), config.display().to_string()),
        ("HOME".into(), dir.display().to_string()),
        ("XDG_CONFIG_HOME".into(), dir.join("xdg").display().to_string()),
        ("TERM".into(), "xterm-256color".into()),
    ]
}

pub fn cli(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warroom"));
    cmd.args(args).envs(env(dir)).env_remove("NO_COLOR");
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "warroom {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

impl Tui {
    pub fn spawn(dir: &Path, rows: u16, cols: u16) -> Tui {
        Tui::spawn_with(dir, rows, cols, &[], &[])
    }

    pub fn spawn_with(dir: &Path, rows: u16, cols: u16, args: &[&str], extra_env: &[(&str, &str)]) -> Tui {
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_warroom"));
        for (k, v) in env(dir) {
            cmd.env(k, v);
        }
        cmd.env_remove("NO_COLOR");
        // Outside tmux whatever runs the tests: no passthrough wrapping of OSC 52.
        cmd.env_remove("TMUX");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd.cwd(dir);
        Tui::spawn_command(cmd, rows, cols)
    }

    /// Runs `cmd` (the caller's program, arguments and environment) in a `rows`x`cols` terminal.
    pub fn spawn_command(cmd: CommandBuilder, rows: u16, cols: u16) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .expect("openpty");
        let child = pty.slave.spawn_command(cmd).expect("spawn warroom");
        drop(pty.slave);
        let parser =
            Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(rows, cols, 0, Recorder::default())));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // Keep the master alive as long as the test: dropping it hangs up the child.
        std::mem::forget(pty.master);
        Tui { parser, raw, writer, child }
    }

    /// The process id of the program in the terminal (for signals a test sends it).
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Polls until the screen satisfies `pred`, or fails the test showing the screen.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_within(DEADLINE, what, pred)
    }

    pub fn wait_within(&self, deadline: Duration, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Presses `q` and checks the program exits cleanly.
    pub fn quit(&mut self) {
        self.send("q");
        assert!(self.wait_exit().success(), "warroom exited with a failure after `q`");
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("warroom did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
