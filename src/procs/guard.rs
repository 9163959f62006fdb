//! The kill guard's rules, pure: who may be signalled, who needs the name typed, who never.
//!
//! The caller gathers the facts (the target as sampled, our pid, our ancestor chain, our uid) and
//! this module decides. No IO, so every rule has a unit test.

/// Who the responder selected, as sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub pid: i32,
    /// The kernel's comm (what the table shows).
    pub name: &'a str,
    /// `argv[0]` as given, when known (`/usr/sbin/sshd`, `sshd: ana [priv]`); empty for none.
    pub argv0: &'a str,
    pub uid: u32,
    pub kernel_thread: bool,
}

/// Who we are: facts about the warroom process itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardContext {
    pub self_pid: i32,
    /// Our parent, its parent, ... up to PID 1 (shell, tmux, sshd, ...).
    pub ancestors: Vec<i32>,
    pub our_uid: u32,
    pub critical: CriticalList,
}

/// Process names that keep the box reachable or running: typing the name is required.
/// A trailing `*` matches any suffix (`systemd-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalList {
    patterns: Vec<String>,
}

/// The default critical list.
pub const DEFAULT_CRITICAL: &[&str] = &[
    "init",
    "systemd",
    "systemd-*",
    "(sd-pam)",
    "sshd",
    "sshd-session",
    "sshd-auth",
    "dbus-daemon",
    "dbus-broker",
    "dbus-broker-lau*",
    "journald",
    "rsyslogd",
    "udevd",
    "containerd",
    "containerd-shim*",
    "dockerd",
    "docker-proxy",
    "runc",
    "crio",
    "conmon",
    "kubelet",
    "kube-proxy",
    "etcd",
    "agetty",
    "login",
    "polkitd",
    "NetworkManager",
    "wpa_supplicant",
    "chronyd",
    "multipathd",
    "iscsid",
];

impl Default for CriticalList {
    fn default() -> Self {
        CriticalList::new(DEFAULT_CRITICAL.iter().copied())
    }
}

impl CriticalList {
    /// A list from config; empty entries are ignored.
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        CriticalList {
            patterns: patterns
                .into_iter()
                .map(|p| p.as_ref().trim().to_string())
                .filter(|p| !p.is_empty() && p != "*")
                .collect(),
        }
    }

    /// The defaults plus `extra` (a config's additions).
    pub fn with_extra<S: AsRef<str>>(extra: impl IntoIterator<Item = S>) -> Self {
        let mut l = CriticalList::default();
        l.patterns.extend(CriticalList::new(extra).patterns);
        l
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The pattern `name` matches, if any.
    pub fn matching(&self, name: &str) -> Option<&str> {
        if name.is_empty() {
            return None;
        }
        self.patterns
            .iter()
            .find(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == p.as_str(),
            })
            .map(String::as_str)
    }
}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Allowed once the responder types the process name exactly.
    RequireTypedName {
        reason: String,
    },
    /// Never signalled from warroom.
    Refuse {
        reason: String,
    },
}

impl Verdict {
    pub fn is_refused(&self) -> bool {
        matches!(self, Verdict::Refuse { .. })
    }
}

/// The guard: refusals first, then typed-name rules, then allow.
pub fn check(target: &Target<'_>, ctx: &GuardContext) -> Verdict {
    let refuse = |reason: String| Verdict::Refuse { reason };
    if target.pid <= 0 {
        return refuse(format!("pid {} is not a single process (kill would hit a whole group)", target.pid));
    }
    if target.pid == 1 {
        return refuse(
            "PID 1 is the init process: killing it brings the whole system (or container) down".into(),
        );
    }
    if target.kernel_thread {
        return refuse(format!(
            "{} (pid {}) is a kernel thread: signals do not stop it",
            target.name, target.pid
        ));
    }
    if target.pid == ctx.self_pid {
        return refuse("this is warroom itself".into());
    }
    if ctx.ancestors.contains(&target.pid) {
        return refuse(format!(
            "{} (pid {}) is an ancestor of warroom (your shell, tmux or ssh session): killing it ends this session",
            target.name, target.pid
        ));
    }
    let argv0_base = target.argv0.split_whitespace().next().unwrap_or("").rsplit('/').next().unwrap_or("");
    let argv0_base = argv0_base.trim_end_matches(':');
    if let Some(p) = ctx.critical.matching(target.name).or_else(|| ctx.critical.matching(argv0_base)) {
        return Verdict::RequireTypedName {
            reason: format!(
                "{} is a critical process (matches `{p}`): type its name to confirm",
                target.name
            ),
        };
    }
    if target.uid != ctx.our_uid {
        return Verdict::RequireTypedName {
            reason: format!(
                "{} belongs to another user (uid {}, you are uid {}): type its name to confirm",
                target.name, target.uid, ctx.our_uid
            ),
        };
    }
    Verdict::Allow
}

/// Whether what the responder typed confirms `verdict` for `target` (exact name, trimmed).
pub fn confirmed(verdict: &Verdict, target: &Target<'_>, typed: Option<&str>) -> bool {
    match verdict {
        Verdict::Allow => true,
        Verdict::RequireTypedName { .. } => typed.is_some_and(|t| t.trim() == target.name),
        Verdict::Refuse { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GuardContext {
        GuardContext {
            self_pid: 500,
            ancestors: vec![400, 300, 200, 1],
            our_uid: 1000,
            critical: CriticalList::default(),
        }
    }

    fn t(pid: i32, name: &str) -> Target<'_> {
        Target { pid, name, argv0: "", uid: 1000, kernel_thread: false }
    }

    fn refused(v: &Verdict, needle: &str) {
        match v {
            Verdict::Refuse { reason } => assert!(reason.contains(needle), "{reason}"),
            other => panic!("expected refusal containing {needle:?}, got {other:?}"),
        }
    }

    fn typed(v: &Verdict, needle: &str) {
        match v {
            Verdict::RequireTypedName { reason } => assert!(reason.contains(needle), "{reason}"),
            other => panic!("expected typed-name requirement containing {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn pid_one_is_refused_even_when_not_an_ancestor() {
        let c = GuardContext { ancestors: vec![], ..ctx() };
        refused(&check(&t(1, "bash"), &c), "PID 1");
    }

    #[test]
    fn non_positive_pids_are_refused() {
        refused(&check(&t(0, "x"), &ctx()), "group");
        refused(&check(&t(-1, "x"), &ctx()), "group");
    }

    #[test]
    fn kernel_threads_are_refused() {
        let k = Target { kernel_thread: true, ..t(77, "kworker/0:1") };
        refused(&check(&k, &ctx()), "kernel thread");
    }

    #[test]
    fn warroom_itself_is_refused() {
        refused(&check(&t(500, "warroom"), &ctx()), "warroom itself");
    }

    #[test]
    fn every_ancestor_is_refused() {
        for (pid, name) in [(400, "bash"), (300, "tmux: server"), (200, "sshd")] {
            refused(&check(&t(pid, name), &ctx()), "ancestor");
        }
    }

    #[test]
    fn critical_names_need_typing() {
        typed(&check(&t(900, "sshd"), &ctx()), "matches `sshd`");
        typed(&check(&t(901, "systemd-journal"), &ctx()), "matches `systemd-*`");
        typed(&check(&t(902, "dockerd"), &ctx()), "critical");
        typed(&check(&t(903, "systemd"), &ctx()), "matches `systemd`");
        // argv0 catches a critical daemon whose comm was truncated or renamed.
        let renamed = Target { argv0: "/usr/bin/containerd-shim-runc-v2 -namespace moby", ..t(904, "shim") };
        typed(&check(&renamed, &ctx()), "containerd-shim*");
        // sshd's per-session process title.
        let session = Target { argv0: "sshd: ana@pts/0", ..t(905, "sshd-x") };
        typed(&check(&session, &ctx()), "sshd");
    }

    #[test]
    fn similar_names_are_not_critical() {
        assert_eq!(check(&t(910, "sshd2"), &ctx()), Verdict::Allow);
        assert_eq!(check(&t(911, "mysystemd"), &ctx()), Verdict::Allow);
    }

    #[test]
    fn configurable_list() {
        let c = GuardContext { critical: CriticalList::with_extra(["postgres", "java*", " "]), ..ctx() };
        typed(&check(&t(920, "postgres"), &c), "postgres");
        typed(&check(&t(921, "java-agent"), &c), "java*");
        typed(&check(&t(922, "sshd"), &c), "sshd");
        let only = GuardContext { critical: CriticalList::new(["nginx", "*"]), ..ctx() };
        assert_eq!(only.critical.patterns(), ["nginx"]);
        assert_eq!(check(&t(923, "sshd"), &only), Verdict::Allow);
    }

    #[test]
    fn other_users_processes_need_typing() {
        let root_owned = Target { uid: 0, ..t(930, "cron") };
        typed(&check(&root_owned, &ctx()), "another user (uid 0, you are uid 1000)");
    }

    #[test]
    fn own_ordinary_process_is_allowed() {
        assert_eq!(check(&t(940, "python3"), &ctx()), Verdict::Allow);
    }

    #[test]
    fn refusal_wins_over_critical() {
        refused(&check(&t(200, "sshd"), &ctx()), "ancestor");
    }

    #[test]
    fn typed_name_confirmation() {
        let target = t(900, "sshd");
        let v = check(&target, &ctx());
        assert!(!confirmed(&v, &target, None));
        assert!(!confirmed(&v, &target, Some("ssh")));
        assert!(!confirmed(&v, &target, Some("SSHD")));
        assert!(confirmed(&v, &target, Some(" sshd ")));
        assert!(confirmed(&Verdict::Allow, &target, None));
        assert!(!confirmed(&Verdict::Refuse { reason: String::new() }, &target, Some("sshd")));
    }
}
