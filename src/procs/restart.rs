//! Restart with evidence: when a process belongs to a systemd service or a docker/podman
//! container, capture its evidence, then restart the service or container, through the same guard
//! as a kill (reason required, refusals for PID 1, warroom itself and its ancestors), and check
//! what came of it (the unit's state and main pid, the container's state and init pid, how long).
//! The caller appends the returned events; nothing here writes to a store.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::evidence::{CaptureOptions, Evidence, EvidenceError, capture_with};
use super::guard::GuardContext;
use super::kill::{KillError, ProcessIdentity};
use super::parse::{self, CgroupInfo};
use super::tools::{run_tool, which};
use crate::incident::EventKind;
use crate::incident::sanitize::{clip, one_line, strip_controls};

/// Who restarts what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Systemd,
    Docker,
    Podman,
}

impl Manager {
    pub fn name(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Docker => "docker",
            Manager::Podman => "podman",
        }
    }

    /// The command-line tool that restarts and inspects.
    pub fn tool(self) -> &'static str {
        match self {
            Manager::Systemd => "systemctl",
            Manager::Docker => "docker",
            Manager::Podman => "podman",
        }
    }
}

/// The unit or container a process belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartTarget {
    pub manager: Manager,
    /// The unit name (`nginx.service`) or the 64-hex container id.
    pub name: String,
}

impl RestartTarget {
    /// "unit nginx.service" or "docker container 0123456789ab".
    pub fn describe(&self) -> String {
        match self.manager {
            Manager::Systemd => format!("unit {}", self.name),
            m => format!("{} container {}", m.name(), self.name.get(..12).unwrap_or(&self.name)),
        }
    }

    /// The restart command, as it is run.
    pub fn command(&self) -> (&'static str, Vec<String>) {
        (self.manager.tool(), vec!["restart".into(), self.name.clone()])
    }
}

/// The unit or container to restart for a process with this cgroup, or why there is none.
pub fn restart_target(cgroup: &CgroupInfo) -> Result<RestartTarget, String> {
    if let Some(id) = &cgroup.container {
        let path = &cgroup.path;
        let manager = if path.contains("libpod") {
            Manager::Podman
        } else if path.contains("docker") {
            Manager::Docker
        } else {
            return Err(format!(
                "container {} is not run by docker or podman (cgroup {}): restart it with its orchestrator",
                id.get(..12).unwrap_or(id),
                one_line(path)
            ));
        };
        return Ok(RestartTarget { manager, name: id.clone() });
    }
    match &cgroup.unit {
        Some(u) if u.ends_with(".service") => {
            Ok(RestartTarget { manager: Manager::Systemd, name: u.clone() })
        }
        Some(u) => Err(format!(
            "{} is not a service (a login session, a scope or a mount cannot be restarted)",
            one_line(u)
        )),
        None => Err("it belongs to no systemd service and no docker or podman container".into()),
    }
}

/// The restart target of (pid, start time), read from /proc now.
pub fn target_of(pid: i32, start_time: u64) -> Result<RestartTarget, String> {
    let d = super::details::process_details(pid, start_time).map_err(|e| e.to_string())?;
    let cg = d.cgroup.ok_or_else(|| format!("pid {pid}: its cgroup is unreadable"))?;
    restart_target(&cg).map_err(|e| format!("pid {pid} ({}): nothing to restart: {e}", one_line(&d.name)))
}

/// How long `systemctl`/`docker`/`podman restart` may take, unless `warroom restart --timeout`
/// says otherwise (the TUI always uses this).
pub const DEFAULT_RESTART_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// What the responder confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    pub target: ProcessIdentity,
    /// The unit or container, as shown to the responder when they confirmed.
    pub via: RestartTarget,
    pub reason: String,
    pub typed_name: Option<String>,
    /// The incident's evidence directory; `None` skips the capture.
    pub evidence_dir: Option<PathBuf>,
    pub capture: CaptureOptions,
    /// How long the restart command may take.
    pub timeout: Duration,
    pub at: DateTime<Utc>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartReport {
    pub evidence: Option<Evidence>,
    /// The restart command succeeded and the unit/container is running again.
    pub ok: bool,
    pub outcome: String,
    pub new_pid: Option<i32>,
    pub took: Duration,
    /// `evidence_captured` events (manifest last), then one `service_restarted`.
    pub events: Vec<EventKind>,
}

/// Guard → reason → the process still in that unit/container → evidence → restart → check.
/// Errors mean nothing was restarted and there is nothing to record; a restart command that ran
/// and failed is a report with `ok: false` (it is recorded).
pub fn guarded_restart(req: &RestartRequest, ctx: &GuardContext) -> Result<RestartReport, KillError> {
    super::kill::admit(&req.target, req.typed_name.as_deref(), &req.reason, ctx)?;
    let (pid, start) = (req.target.pid, req.target.start_time);
    // The unit/container must still be the one the responder saw, and must not hold warroom.
    let now = target_of(pid, start).map_err(|reason| KillError::Refused { reason })?;
    if now != req.via {
        return Err(KillError::Refused {
            reason: format!("pid {pid} now belongs to {}, not {}", now.describe(), req.via.describe()),
        });
    }
    if let Some(mine) = own_target()
        && mine == req.via
    {
        return Err(KillError::Refused {
            reason: format!("warroom itself runs in {}: restarting it ends this session", mine.describe()),
        });
    }
    let evidence = match &req.evidence_dir {
        Some(dir) => Some(capture_with(dir, pid, start, req.at, &req.capture).map_err(|e| match e {
            EvidenceError::Process(_) | EvidenceError::ReplacedDuringCapture { .. } => {
                KillError::Refused { reason: format!("{e}: nothing restarted") }
            }
            e => KillError::Evidence(e),
        })?),
        None => None,
    };
    let run = restart(&req.via, req.timeout);
    let mut events = evidence.as_ref().map(Evidence::events).unwrap_or_default();
    events.push(EventKind::ServiceRestarted {
        pid,
        start_time: start,
        name: req.target.name.clone(),
        manager: req.via.manager.name().into(),
        target: req.via.name.clone(),
        reason: clip(req.reason.trim(), 1024),
        ok: run.ok,
        took_ms: run.took.as_millis() as u64,
        new_pid: run.new_pid,
        outcome: clip(&run.outcome, 1024),
        evidence: evidence.as_ref().and_then(|e| e.manifest()).map(|m| m.path.display().to_string()),
    });
    Ok(RestartReport {
        evidence,
        ok: run.ok,
        outcome: run.outcome,
        new_pid: run.new_pid,
        took: run.took,
        events,
    })
}

/// The unit or container warroom itself runs in, if any.
fn own_target() -> Option<RestartTarget> {
    let cg = std::fs::read("/proc/self/cgroup").ok()?;
    restart_target(&parse::parse_cgroup(&cg)).ok()
}

/// How a restart command went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRun {
    pub ok: bool,
    pub outcome: String,
    pub new_pid: Option<i32>,
    pub took: Duration,
}

/// Runs the restart command (bounded by `timeout`), then asks the manager for the state and main
/// pid. `ok` only when the command exited 0 and the state afterwards is running/active.
pub fn restart(via: &RestartTarget, timeout: Duration) -> RestartRun {
    let tool = via.manager.tool();
    match which(tool) {
        Some(path) => restart_with(&path, via, timeout),
        None => RestartRun {
            ok: false,
            outcome: format!("`{tool}` is not installed: {} not restarted", via.describe()),
            new_pid: None,
            took: Duration::ZERO,
        },
    }
}

/// `restart` with the manager's program at `path`.
fn restart_with(path: &Path, via: &RestartTarget, timeout: Duration) -> RestartRun {
    let started = Instant::now();
    let fail = |outcome: String| RestartRun { ok: false, outcome, new_pid: None, took: started.elapsed() };
    let tool = via.manager.tool();
    let (_, args) = via.command();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = match run_tool(path, &args, timeout, 64 * 1024) {
        Ok(r) => r,
        Err(e) => return fail(format!("`{tool} restart` could not start: {e}")),
    };
    if run.timed_out {
        return fail(format!("`{tool} restart {}` did not finish in {} s", via.name, timeout.as_secs()));
    }
    if run.exit_code != Some(0) {
        let said = first_line(&run.output);
        return fail(format!(
            "`{tool} restart` failed (exit {}): {said}",
            run.exit_code.map_or("by signal".into(), |c| c.to_string())
        ));
    }
    let took = started.elapsed();
    let (state, new_pid) = state_of(path, via);
    let ok = matches!(state.as_str(), "active" | "running");
    let outcome = format!(
        "restarted in {:.1} s: {state}{}",
        took.as_secs_f64(),
        new_pid.map(|p| format!(", new pid {p}")).unwrap_or_default()
    );
    RestartRun { ok, outcome, new_pid, took }
}

/// The state and main pid after the restart, as the manager reports them.
fn state_of(tool: &Path, via: &RestartTarget) -> (String, Option<i32>) {
    let args: Vec<String> = match via.manager {
        // Not `--value`: systemctl prints properties in its own (D-Bus) order, MainPID before
        // ActiveState, whatever order they were asked in; `Key=value` lines say which is which.
        Manager::Systemd => {
            ["show", "-p", "ActiveState", "-p", "MainPID", &via.name].map(String::from).to_vec()
        }
        _ => ["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", &via.name].map(String::from).to_vec(),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Ok(r) = run_tool(tool, &args, Duration::from_secs(10), 16 * 1024) else {
        return ("state unknown".into(), None);
    };
    let unknown = || (format!("state unknown ({})", first_line(&r.output)), None);
    if r.exit_code != Some(0) {
        return unknown();
    }
    let text = String::from_utf8_lossy(&r.output);
    let pid = |p: &str| p.trim().parse().ok().filter(|p: &i32| *p > 0);
    match via.manager {
        Manager::Systemd => {
            let value = |key: &str| {
                text.lines().find_map(|l| l.trim().strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            };
            match value("ActiveState") {
                Some(state) if !state.trim().is_empty() => {
                    (strip_controls(state.trim()).into_owned(), value("MainPID").and_then(pid))
                }
                _ => unknown(),
            }
        }
        // The template prints "status pid".
        _ => match text.split_whitespace().collect::<Vec<_>>().as_slice() {
            [state, p, ..] => (strip_controls(state).into_owned(), pid(p)),
            _ => unknown(),
        },
    }
}

fn first_line(out: &[u8]) -> String {
    let text = strip_controls(&String::from_utf8_lossy(out)).into_owned();
    let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("---")).unwrap_or("");
    clip(line, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cg(text: &str) -> CgroupInfo {
        parse::parse_cgroup(text.as_bytes())
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn targets_from_cgroups() {
        let svc = cg("0::/system.slice/nginx.service\n");
        assert_eq!(
            restart_target(&svc),
            Ok(RestartTarget { manager: Manager::Systemd, name: "nginx.service".into() })
        );
        let docker = cg(&format!("0::/system.slice/docker-{ID}.scope\n"));
        assert_eq!(restart_target(&docker).unwrap().manager, Manager::Docker);
        let docker_v1 = cg(&format!("12:memory:/docker/{ID}\n"));
        assert_eq!(
            restart_target(&docker_v1).unwrap(),
            RestartTarget { manager: Manager::Docker, name: ID.into() }
        );
        let podman = cg(&format!("0::/machine.slice/libpod-{ID}.scope/container\n"));
        assert_eq!(restart_target(&podman).unwrap().manager, Manager::Podman);
        let k8s = cg(&format!("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope\n"));
        assert!(restart_target(&k8s).unwrap_err().contains("orchestrator"));
        let session = cg("0::/user.slice/user-1000.slice/session-3.scope\n");
        assert!(restart_target(&session).unwrap_err().contains("not a service"));
        let none = cg("0::/\n");
        assert!(restart_target(&none).unwrap_err().contains("no systemd service"));
    }

    #[test]
    fn describe_shortens_container_ids() {
        let t = RestartTarget { manager: Manager::Docker, name: ID.into() };
        assert_eq!(t.describe(), "docker container 0123456789ab");
        assert_eq!(t.command(), ("docker", vec!["restart".to_string(), ID.to_string()]));
    }

    /// A stand-in for the manager's program: `restart` exits with `code`, `show`/`inspect`
    /// prints `state` (as the real tools print it).
    fn fake_tool(dir: &Path, code: i32, state: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("tool");
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n restart) echo 'Job failed' >&2; exit {code};;\n show|inspect) printf '{state}'; exit 0;;\nesac\nexit 1\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A child forked by another test thread while the file was open for writing keeps it
        // "busy" (ETXTBSY) until that child execs: wait until it runs.
        for _ in 0..100 {
            match std::process::Command::new(&path).arg("noop").output() {
                Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
                _ => break,
            }
        }
        path
    }

    #[test]
    fn the_state_after_a_restart_is_read_by_key_not_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let unit = RestartTarget { manager: Manager::Systemd, name: "nginx.service".into() };
        let t = Duration::from_secs(10);
        // systemctl prints MainPID before ActiveState whatever order they were asked in.
        let run = restart_with(&fake_tool(dir.path(), 0, "MainPID=4242\\nActiveState=active\\n"), &unit, t);
        assert!(run.ok, "{run:?}");
        assert_eq!(run.new_pid, Some(4242));
        assert!(run.outcome.contains("active, new pid 4242"), "{run:?}");

        let run = restart_with(&fake_tool(dir.path(), 0, "MainPID=0\\nActiveState=failed\\n"), &unit, t);
        assert!(!run.ok && run.new_pid.is_none() && run.outcome.contains("failed"), "{run:?}");

        let run = restart_with(&fake_tool(dir.path(), 1, ""), &unit, t);
        assert!(!run.ok && run.outcome.contains("failed (exit 1): Job failed"), "{run:?}");

        let run = restart_with(&fake_tool(dir.path(), 0, "garbage\\n"), &unit, t);
        assert!(!run.ok && run.outcome.contains("state unknown"), "{run:?}");

        let ctr = RestartTarget { manager: Manager::Docker, name: ID.into() };
        let run = restart_with(&fake_tool(dir.path(), 0, "running 777\\n"), &ctr, t);
        assert!(run.ok && run.new_pid == Some(777), "{run:?}");
    }
}
