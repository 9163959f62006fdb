//! The runbooks shipped in `runbooks/`: every one parses cleanly, and every command in them is a
//! read-only diagnostic that the shell accepts.

use std::path::PathBuf;
use std::process::Command;

use warroom::runbook::{self, Runbook};

fn shipped() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    files.sort();
    files
}

fn parse_all() -> Vec<Runbook> {
    shipped()
        .iter()
        .map(|(path, text)| {
            runbook::parse(text, &path.display().to_string()).unwrap_or_else(|errs| {
                panic!("{}", errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
            })
        })
        .collect()
}

#[test]
fn every_shipped_runbook_parses_without_errors() {
    let books = parse_all();
    let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
    for wanted in ["disk-full", "host-cpu-saturation"] {
        assert!(ids.contains(&wanted), "{wanted} missing from {ids:?}");
    }
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    for b in &books {
        assert!(!b.title.is_empty() && b.owner.is_some() && !b.tags.is_empty(), "{}: front matter", b.path);
        assert!(b.sections.len() >= 3, "{}: sections", b.path);
        assert!(b.items.iter().filter(|i| i.command.is_some()).count() >= 5, "{}: commands", b.path);
        // Task text stays short: explanations belong in the item's detail, so that editing them
        // does not change the item's id.
        for i in &b.items {
            assert!(i.text.len() <= 110, "{}:{}: task text too long: {}", b.path, i.line, i.text);
        }
    }
}

/// Programs a shipped runbook command may start. All of them only read.
const READ_ONLY: &[&str] = &[
    "uptime",
    "nproc",
    "top",
    "cat",
    "ps",
    "sort",
    "uniq",
    "head",
    "tail",
    "grep",
    "journalctl",
    "df",
    "du",
    "find",
    "free",
    "vmstat",
    "systemctl",
    "echo",
    "timeout",
];

/// Replaces quoted strings with `Q` so separators and `>` inside quotes are not mistaken for shell.
fn unquote(script: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in script.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push('Q');
            }
            None => out.push(c),
        }
    }
    out
}

/// Why `script` is not an obviously read-only command, if it is not.
fn unsafe_reason(script: &str) -> Option<String> {
    let bare = unquote(script).replace("2>/dev/null", "");
    if bare.contains('>') || bare.contains('`') {
        return Some("redirects output or uses backticks".into());
    }
    for segment in bare.split(['|', ';', '&', '\n', '(', ')']) {
        let mut words = segment.split_whitespace().peekable();
        if words.peek() == Some(&"timeout") {
            words.next();
            words.next();
        }
        let Some(prog) = words.next() else { continue };
        let prog = prog.trim_start_matches('$');
        if !READ_ONLY.contains(&prog) {
            return Some(format!("runs `{prog}`, not in the read-only list"));
        }
        let args: Vec<&str> = words.collect();
        let bad = match prog {
            "find" => {
                args.iter().find(|a| ["-delete", "-exec", "-execdir", "-ok", "-fprint", "-fls"].contains(a))
            }
            "journalctl" => {
                args.iter().find(|a| a.starts_with("--vacuum") || ["--rotate", "--flush"].contains(a))
            }
            "systemctl" => args.first().filter(|a| !["list-units", "status"].contains(a)),
            _ => None,
        };
        if let Some(arg) = bad {
            return Some(format!("`{prog} {arg}` changes the host"));
        }
    }
    None
}

#[test]
fn the_safety_check_itself_catches_writes() {
    for bad in [
        "rm -rf /var/log",
        "df -h > /tmp/x",
        "find / -name core -delete",
        "journalctl --vacuum-size=1M",
        "ps aux | xargs kill",
        "systemctl restart nginx",
        "uptime; reboot",
        "echo `id`",
    ] {
        assert!(unsafe_reason(bad).is_some(), "{bad} passed");
    }
    for good in ["grep -E 'a|b>c' /proc/meminfo", "timeout 30 du -xsh /var 2>/dev/null | sort -rh"] {
        assert_eq!(unsafe_reason(good), None, "{good}");
    }
}

#[test]
fn every_shipped_command_is_read_only() {
    for b in parse_all() {
        for item in &b.items {
            if let Some(cmd) = &item.command {
                if let Some(why) = unsafe_reason(&cmd.script) {
                    panic!("{}:{}: {why}: {}", b.path, cmd.line, cmd.script);
                }
            }
        }
    }
}

#[test]
fn every_shipped_command_is_valid_shell() {
    for b in parse_all() {
        for item in &b.items {
            let Some(cmd) = &item.command else { continue };
            // `-n`: parse only, run nothing. `sh` blocks must be POSIX sh, not bash.
            let shell = if cmd.lang == "bash" { "bash" } else { "sh" };
            let out =
                Command::new(shell).args(["-n", "-c", &cmd.script]).output().expect("running the shell");
            assert!(
                out.status.success(),
                "{}:{}: {shell} -n rejects the command: {}",
                b.path,
                cmd.line,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
