//! Configuration: TOML at the XDG config path, `--config`, or `WARROOM_CONFIG`; environment
//! overrides; XDG paths. Errors name the file, the line and the key. No file at all is fine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::incident::Severity;

/// A config problem, displayed as one line: `FILE:LINE: KEY: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path}{}: {}{message}",
    if *.line > 0 { format!(":{line}") } else { String::new() },
    if .key.is_empty() { String::new() } else { format!("{}: ", .key) }
)]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// The whole configuration. Every key is documented in `config.example.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub user: UserConfig,
    pub ui: UiConfig,
    pub team: TeamConfig,
    pub runbooks: RunbooksConfig,
    pub server: ServerConfig,
    pub paging: PagingConfig,
    pub status_updates: StatusUpdatesConfig,
    pub procs: ProcsConfig,
    pub changes: ChangesConfig,
    /// The file this was read from (None: defaults).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UserConfig {
    /// Author name on events; default `$USER@hostname`.
    pub name: Option<String>,
    /// IANA zone for local times (exports, TUI); default the system's zone.
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    pub theme: String,
    /// `utc` or `local`: how the timeline shows times at start.
    pub time: TimeDisplay,
    /// Mouse support (wheel scroll, click to focus).
    pub mouse: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { theme: "default".into(), time: TimeDisplay::Utc, mouse: true }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimeDisplay {
    #[default]
    Utc,
    Local,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TeamConfig {
    /// The team file (people, rotations, escalation); relative to the config file.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunbooksConfig {
    /// Directory of Markdown runbooks; relative to the config file. Default `runbooks/` beside it.
    pub dir: Option<PathBuf>,
    /// Seconds a runbook command may run before its process group is killed. Default 60.
    pub command_timeout_secs: Option<u64>,
}

/// Longest command timeout accepted: a day. Longer is a typo, not a diagnostic.
pub const MAX_COMMAND_TIMEOUT_SECS: u64 = 86_400;
/// `[server] heartbeat_ms` bounds: a tighter beat only burns the server; an hour is the most
/// that still says the stream lives.
pub const MIN_HEARTBEAT_MS: u64 = 100;
pub const MAX_HEARTBEAT_MS: u64 = 3_600_000;
/// The longest author name (`[user] name`, `--author`), in bytes: under the server's limit
/// (`sync::wire::MAX_AUTHOR`), with room for `@host`.
pub const MAX_AUTHOR_BYTES: usize = 200;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Base URL of a `warroom serve` backend; unset means offline only. Several replicas (sharing
    /// a Postgres store): URLs separated by commas; clients fail over between them.
    pub url: Option<String>,
    /// Bearer token for the server.
    pub token: Option<String>,
    /// `warroom serve`: address to listen on (default 127.0.0.1:7077); `--listen` overrides.
    pub listen: Option<String>,
    /// `warroom serve`: the server database (default `server.db` in the data dir), or a
    /// `postgres://` URL for several replicas sharing one database; `--db` overrides.
    pub db: Option<PathBuf>,
    /// `warroom serve`: this replica's name in /healthz and /metrics (default `hostname:port`).
    pub replica: Option<String>,
    /// `warroom serve`: who may connect. Each token has a name; events must be authored by it.
    pub tokens: Vec<TokenConfig>,
    /// `warroom serve`: milliseconds between heartbeats on every stream (default 5000).
    pub heartbeat_ms: Option<u64>,
}

/// One named bearer token the server accepts. Give `token_sha256` (hex SHA-256 of the token,
/// preferred: the config then holds no secret) or `token` (plain); both are compared in constant time.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_sha256: Option<String>,
}

/// Why a bearer token cannot be used as written, if it cannot. The server compares tokens
/// exactly and never trims them, so whitespace around or inside a token is refused where it is
/// configured rather than silently never matching (or, worse, trimmed into a match).
pub fn token_problem(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        Some("must not be empty")
    } else if token.chars().any(char::is_whitespace) {
        Some("has whitespace around or inside it (tokens are compared exactly, never trimmed)")
    } else if token.chars().any(|c| c.is_control() || !c.is_ascii()) {
        Some("must be printable ASCII (it is sent in an HTTP header)")
    } else {
        None
    }
}

/// Outbound paging: PagerDuty Events API v2 and a generic webhook. `timeout_secs` and `retries`
/// also govern status-update webhooks.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PagingConfig {
    /// Integration (routing) key of a PagerDuty service's Events API v2 integration.
    pub pagerduty_routing_key: Option<String>,
    /// Routing key for PagerDuty's Change Events API; unset: `pagerduty_routing_key` is used.
    pub pagerduty_change_routing_key: Option<String>,
    /// Base URL of the Events API; `/v2/enqueue` (and `/v2/change/enqueue`) is appended.
    pub pagerduty_url: String,
    /// Generic webhook that receives a JSON body per page.
    pub webhook_url: Option<String>,
    /// Extra headers sent with each webhook request (e.g. Authorization).
    pub webhook_headers: BTreeMap<String, String>,
    /// Per-try limit for one request, connect included (the connect alone gets at most 5 s).
    pub timeout_secs: u64,
    /// Extra tries after the first on connect errors, timeouts, 429 and 5xx.
    pub retries: u32,
}

/// Default PagerDuty Events API base URL.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com";

impl Default for PagingConfig {
    fn default() -> Self {
        PagingConfig {
            pagerduty_routing_key: None,
            pagerduty_change_routing_key: None,
            pagerduty_url: PAGERDUTY_URL.into(),
            webhook_url: None,
            webhook_headers: BTreeMap::new(),
            timeout_secs: 10,
            retries: 2,
        }
    }
}

/// Status updates: where they are posted and how often one is due per severity.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StatusUpdatesConfig {
    /// Webhook that receives each status update as JSON; unset: updates are only recorded.
    pub webhook_url: Option<String>,
    /// Extra headers sent with each status-update request.
    pub webhook_headers: BTreeMap<String, String>,
    /// Slack-compatible incoming webhook (Slack, Mattermost) for the incident channel: every
    /// update is posted there as `{"text": ...}`.
    pub chat_webhook_url: Option<String>,
    /// Atlassian Statuspage: the API key (sent as `Authorization: OAuth KEY`).
    pub statuspage_api_key: Option<String>,
    /// Atlassian Statuspage: the page id. Stakeholder updates create the page's incident on the
    /// first update and amend the same one after.
    pub statuspage_page_id: Option<String>,
    /// Statuspage API base URL.
    pub statuspage_url: String,
    /// Statuspage component ids the incident affects (optional).
    pub statuspage_components: Vec<String>,
    /// Text the composer offers for a responder (internal) update; `{title}`, `{severity}`,
    /// `{status}` are filled in.
    pub responder_template: Option<String>,
    /// Text the composer offers for a stakeholder update.
    pub stakeholder_template: Option<String>,
    /// Minutes between status updates at SEV1..SEV4; 0 means no cadence.
    pub sev1: u32,
    pub sev2: u32,
    pub sev3: u32,
    pub sev4: u32,
}

impl Default for StatusUpdatesConfig {
    fn default() -> Self {
        StatusUpdatesConfig {
            webhook_url: None,
            webhook_headers: BTreeMap::new(),
            chat_webhook_url: None,
            statuspage_api_key: None,
            statuspage_page_id: None,
            statuspage_url: STATUSPAGE_URL.into(),
            statuspage_components: Vec::new(),
            responder_template: None,
            stakeholder_template: None,
            sev1: 15,
            sev2: 30,
            sev3: 60,
            sev4: 0,
        }
    }
}

/// Default Statuspage API base URL.
pub const STATUSPAGE_URL: &str = "https://api.statuspage.io";

impl StatusUpdatesConfig {
    /// How often a status update is due at `severity`; `None` when that severity has no cadence.
    pub fn cadence(&self, severity: Severity) -> Option<chrono::Duration> {
        let minutes = match severity.get() {
            1 => self.sev1,
            2 => self.sev2,
            3 => self.sev3,
            _ => self.sev4,
        };
        (minutes > 0).then(|| chrono::Duration::minutes(i64::from(minutes)))
    }
}

/// The host change log.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChangesConfig {
    /// A new incident copies the host changes of this many hours before it onto its timeline;
    /// 0 turns that off.
    pub window_hours: u32,
}

/// `[changes] window_hours` when unset.
pub const DEFAULT_CHANGE_WINDOW_HOURS: u32 = 4;

impl Default for ChangesConfig {
    fn default() -> Self {
        ChangesConfig { window_hours: DEFAULT_CHANGE_WINDOW_HOURS }
    }
}

/// Longest change window accepted (hours): a week.
pub const MAX_CHANGE_WINDOW_HOURS: u32 = 7 * 24;

/// The process pane: how often it samples, which names are critical, how long TERM gets.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProcsConfig {
    /// Milliseconds between samples. Default 1500.
    pub refresh_ms: Option<u64>,
    /// Process names (a trailing `*` is a prefix) that need their name typed before a kill,
    /// on top of the built-in list (sshd, systemd*, dbus*, the container runtimes, ...).
    pub critical: Vec<String>,
    /// Seconds to watch for an exit after TERM before offering KILL. Default 10.
    pub grace_secs: Option<u64>,
}

/// Sampling faster than this costs more than it shows; slower than `MAX_REFRESH_MS` is not live.
pub const MIN_REFRESH_MS: u64 = 200;
pub const MAX_REFRESH_MS: u64 = 60_000;
/// Longest TERM grace accepted (seconds).
pub const MAX_GRACE_SECS: u64 = 600;

/// Longest cadence accepted, in minutes (a day): beyond that a cadence is not a cadence.
pub const MAX_CADENCE_MINUTES: u32 = 24 * 60;

/// The TOML parser's messages where they say less than they could: "duplicate key" names no key
/// (its span is the key, so say which), and a number too large for any integer type reads as
/// "invalid type: integer `N` as i128, expected u64".
pub(crate) fn clearer_toml_message(
    message: String,
    text: &str,
    span: Option<std::ops::Range<usize>>,
) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: integer `")
        && let Some((number, expected)) = rest.split_once("` as i128, expected ")
    {
        let number = crate::incident::sanitize::cap(number, 40);
        return format!("{number} is out of range (expected {expected})");
    }
    match span.and_then(|s| text.get(s)) {
        Some(key) if message == "duplicate key" && !key.trim().is_empty() => {
            format!("duplicate key `{}`", crate::incident::sanitize::cap(key.trim(), 80))
        }
        _ => message,
    }
}

impl Config {
    /// Parses config text; `path` is only for messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, key) = e.span().map(|s| locate(text, s.start)).unwrap_or((1, String::new()));
            let message = clearer_toml_message(e.message().trim().replace('\n', " "), text, e.span());
            // An unknown section header has no `=` on its line: name the field from the message.
            let key = match unknown_field(&message) {
                Some(f) if !key.ends_with(&f) => qualify(&key, &f),
                _ => key,
            };
            ConfigError { path: path.into(), line, key, message }
        })?;
        cfg.validate(text, path)?;
        cfg.source = Some(PathBuf::from(path));
        Ok(cfg)
    }

    fn validate(&self, text: &str, path: &str) -> Result<(), ConfigError> {
        let err = |section: &str, key: &str, message: String| ConfigError {
            path: path.into(),
            line: line_of_key(text, section, key),
            key: format!("{section}.{key}"),
            message,
        };
        if let Some(tz) = &self.user.timezone
            && tz.parse::<Tz>().is_err()
        {
            return Err(err(
                "user",
                "timezone",
                format!("unknown time zone `{tz}` (use an IANA name like Europe/Berlin)"),
            ));
        }
        if let Some(name) = &self.user.name {
            if name.trim().is_empty() {
                return Err(err("user", "name", "must not be empty".into()));
            }
            // Every event carries it; a server refuses an author over its limit, so a longer
            // name would keep every event this user writes off the server.
            if name.trim().len() > MAX_AUTHOR_BYTES {
                let n = name.trim().len();
                return Err(err("user", "name", format!("is {n} bytes, more than {MAX_AUTHOR_BYTES}")));
            }
        }
        if self.ui.theme.trim().is_empty() {
            return Err(err("ui", "theme", "must not be empty".into()));
        }
        // A number the config gives a range to: out of it is an error naming the key.
        let in_range = |section: &str, key: &str, v: Option<u64>, lo: u64, hi: u64, unit: &str| match v {
            Some(v) if !(lo..=hi).contains(&v) => {
                Err(err(section, key, format!("must be {lo} to {hi} {unit}, got {v}")))
            }
            _ => Ok(()),
        };
        let timeout = self.runbooks.command_timeout_secs;
        in_range("runbooks", "command_timeout_secs", timeout, 1, MAX_COMMAND_TIMEOUT_SECS, "seconds")?;
        in_range(
            "procs",
            "refresh_ms",
            self.procs.refresh_ms,
            MIN_REFRESH_MS,
            MAX_REFRESH_MS,
            "milliseconds",
        )?;
        in_range("procs", "grace_secs", self.procs.grace_secs, 1, MAX_GRACE_SECS, "seconds")?;
        if let Some(c) = self.procs.critical.iter().find(|c| c.trim().is_empty() || c.trim() == "*") {
            return Err(err(
                "procs",
                "critical",
                format!("`{c}` would match every process: give a name or a prefix followed by *"),
            ));
        }
        let beat = self.server.heartbeat_ms;
        in_range("server", "heartbeat_ms", beat, MIN_HEARTBEAT_MS, MAX_HEARTBEAT_MS, "milliseconds")?;
        if let Some(url) = &self.server.url
            && let Some(why) = server_url_problem(url)
        {
            return Err(err("server", "url", why));
        }
        if let Some(token) = &self.server.token
            && let Some(why) = token_problem(token)
        {
            return Err(err("server", "token", why.into()));
        }
        self.validate_outbound(text, path)
    }

    fn validate_outbound(&self, text: &str, path: &str) -> Result<(), ConfigError> {
        let err = |section: &str, key: &str, message: String| ConfigError {
            path: path.into(),
            line: line_of_key(text, section, key),
            key: format!("{section}.{key}"),
            message,
        };
        let p = &self.paging;
        for (key, value) in [
            ("pagerduty_routing_key", &p.pagerduty_routing_key),
            ("pagerduty_change_routing_key", &p.pagerduty_change_routing_key),
        ] {
            if let Some(k) = value
                && (k.trim().is_empty() || k.chars().any(char::is_control))
            {
                return Err(err(
                    "paging",
                    key,
                    "must be a non-empty key on one line (remove the key to disable it)".into(),
                ));
            }
        }
        check_url(&p.pagerduty_url).map_err(|m| err("paging", "pagerduty_url", m))?;
        for (section, url, headers) in [
            ("paging", &p.webhook_url, &p.webhook_headers),
            ("status_updates", &self.status_updates.webhook_url, &self.status_updates.webhook_headers),
        ] {
            if let Some(u) = url {
                check_url(u).map_err(|m| err(section, "webhook_url", m))?;
            }
            for (name, value) in headers {
                if let Err(m) = check_header(name, value) {
                    let table = format!("{section}.webhook_headers");
                    let line = match line_of_key(text, &table, name) {
                        1 => line_of_key(text, section, "webhook_headers"),
                        l => l,
                    };
                    return Err(ConfigError {
                        path: path.into(),
                        line,
                        key: format!("{table}.{name}"),
                        message: m,
                    });
                }
            }
        }
        if !(1..=300).contains(&p.timeout_secs) {
            return Err(err("paging", "timeout_secs", format!("{} is out of range 1..=300", p.timeout_secs)));
        }
        if p.retries > 10 {
            return Err(err("paging", "retries", format!("{} is more than 10", p.retries)));
        }
        let s = &self.status_updates;
        if let Some(u) = &s.chat_webhook_url {
            check_url(u).map_err(|m| err("status_updates", "chat_webhook_url", m))?;
        }
        check_url(&s.statuspage_url).map_err(|m| err("status_updates", "statuspage_url", m))?;
        for (key, v) in
            [("statuspage_api_key", &s.statuspage_api_key), ("statuspage_page_id", &s.statuspage_page_id)]
        {
            if let Some(v) = v
                && (v.trim().is_empty() || v.chars().any(|c| c.is_control() || c.is_whitespace()))
            {
                return Err(err("status_updates", key, "must be non-empty with no spaces".into()));
            }
        }
        if s.statuspage_api_key.is_some() != s.statuspage_page_id.is_some() {
            let missing =
                if s.statuspage_api_key.is_some() { "statuspage_page_id" } else { "statuspage_api_key" };
            let given =
                if s.statuspage_api_key.is_some() { "statuspage_api_key" } else { "statuspage_page_id" };
            return Err(err("status_updates", given, format!("Statuspage also needs `{missing}`")));
        }
        if let Some(c) =
            s.statuspage_components.iter().find(|c| c.trim().is_empty() || c.contains(char::is_whitespace))
        {
            return Err(err(
                "status_updates",
                "statuspage_components",
                format!("`{c}` is not a component id"),
            ));
        }
        if self.changes.window_hours > MAX_CHANGE_WINDOW_HOURS {
            return Err(err(
                "changes",
                "window_hours",
                format!(
                    "{} hours is more than a week ({MAX_CHANGE_WINDOW_HOURS})",
                    self.changes.window_hours
                ),
            ));
        }
        for (key, minutes) in [("sev1", s.sev1), ("sev2", s.sev2), ("sev3", s.sev3), ("sev4", s.sev4)] {
            if minutes > MAX_CADENCE_MINUTES {
                return Err(err(
                    "status_updates",
                    key,
                    format!(
                        "{minutes} minutes is more than a day ({MAX_CADENCE_MINUTES}); 0 means no cadence"
                    ),
                ));
            }
        }
        for (i, t) in self.server.tokens.iter().enumerate() {
            let at = |message: String| ConfigError {
                path: path.into(),
                line: line_of_path(text, &["server", "tokens", &i.to_string(), "name"]),
                key: format!("server.tokens[{i}]"),
                message,
            };
            if t.name.trim().is_empty() || t.name.contains('@') {
                return Err(at("name must be non-empty and contain no `@`".into()));
            }
            match (&t.token, &t.token_sha256) {
                (Some(p), None) if let Some(why) = token_problem(p) => {
                    return Err(at(format!("token {why}")));
                }
                (Some(p), None) if p.len() >= 16 => {}
                (Some(_), None) => return Err(at("token must be at least 16 characters".into())),
                (None, Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                (None, Some(_)) => return Err(at("token_sha256 must be 64 hex digits".into())),
                _ => return Err(at("give exactly one of token or token_sha256".into())),
            }
        }
        Ok(())
    }

    /// Loads the config: an explicit path must exist; the default path may be absent.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, required) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match default_config_path() {
                Some(p) => (p, false),
                None => return Ok(Config::default()),
            },
        };
        let cfg = match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Config::default(),
            Err(e) => {
                return Err(ConfigError {
                    path: path.display().to_string(),
                    line: 0,
                    key: "config".into(),
                    message: format!("cannot read: {e}"),
                });
            }
        };
        cfg.with_env(|k| std::env::var(k).ok())
    }

    /// Applies `WARROOM_SERVER` and `WARROOM_TOKEN` (an empty value unsets the key).
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        if let Some(url) = get("WARROOM_SERVER") {
            let url = url.trim().to_string();
            if let Some(message) = server_url_problem(&url) {
                return Err(ConfigError {
                    path: "WARROOM_SERVER".into(),
                    line: 0,
                    key: "server.url".into(),
                    message,
                });
            }
            self.server.url = Some(url).filter(|u| !u.is_empty());
        }
        if let Some(token) = get("WARROOM_TOKEN") {
            if !token.is_empty()
                && let Some(why) = token_problem(&token)
            {
                return Err(ConfigError {
                    path: "WARROOM_TOKEN".into(),
                    line: 0,
                    key: "server.token".into(),
                    message: why.into(),
                });
            }
            self.server.token = Some(token).filter(|t| !t.is_empty());
        }
        Ok(self)
    }

    /// The author written on events: `[user] name`, else `$USER@hostname`.
    pub fn author(&self) -> String {
        self.author_from(|k| std::env::var(k).ok(), rustix::process::getuid().as_raw(), &hostname())
    }

    /// The author name: `[user] name`, else `WARROOM_AUTHOR`, else the person behind sudo
    /// (`SUDO_USER`), `USER` or `LOGNAME`, else the account name for `uid` in /etc/passwd;
    /// with `@host` when it was not given explicitly. Never a bare `uid0`.
    pub fn author_from(&self, env: impl Fn(&str) -> Option<String>, uid: u32, host: &str) -> String {
        if let Some(n) = &self.user.name {
            return n.trim().to_string();
        }
        let get = |k: &str| env(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if let Some(n) = get("WARROOM_AUTHOR") {
            return crate::incident::sanitize::one_line(&n).into_owned();
        }
        let user = get("SUDO_USER")
            .filter(|u| u != "root")
            .or_else(|| get("USER"))
            .or_else(|| get("LOGNAME"))
            .or_else(|| passwd_name(uid))
            .unwrap_or_else(|| format!("uid{uid}"));
        if host.is_empty() { user } else { format!("{user}@{host}") }
    }

    /// The responder's zone: `[user] timezone`, else the system zone when it can be named.
    pub fn timezone(&self) -> Option<Tz> {
        self.user.timezone.as_deref().and_then(|t| t.parse().ok()).or_else(system_timezone)
    }

    /// How long a runbook command may run: `[runbooks] command_timeout_secs`, default 60 s.
    pub fn command_timeout(&self) -> std::time::Duration {
        self.runbooks
            .command_timeout_secs
            .map_or(crate::runner::DEFAULT_TIMEOUT, std::time::Duration::from_secs)
    }

    /// How often the process pane samples: `[procs] refresh_ms`, default 1.5 s.
    pub fn procs_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.procs.refresh_ms.unwrap_or(1500))
    }

    /// How long TERM gets before KILL is offered: `[procs] grace_secs`, default 10 s.
    pub fn procs_grace(&self) -> std::time::Duration {
        self.procs.grace_secs.map_or(crate::procs::DEFAULT_GRACE, std::time::Duration::from_secs)
    }

    /// Resolves a path from the config relative to the config file's directory.
    pub fn relative(&self, p: &Path) -> PathBuf {
        match (&self.source, p.is_absolute()) {
            (Some(src), false) => src.parent().unwrap_or(Path::new(".")).join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// This host's name (empty when it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The account name of `uid` from /etc/passwd.
fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// `$XDG_CONFIG_HOME/warroom/config.toml` (or the platform equivalent).
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("config.toml"))
}

/// The data dir: `--data-dir`/`WARROOM_DATA_DIR` (resolved by clap), else XDG data dir.
pub fn data_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| directories::ProjectDirs::from("", "", "warroom").map(|d| d.data_dir().to_path_buf()))
}

/// The system zone from `TZ`, `/etc/timezone` or the `/etc/localtime` link.
pub fn system_timezone() -> Option<Tz> {
    if let Ok(tz) = std::env::var("TZ")
        && let Ok(z) = tz.trim_start_matches(':').parse()
    {
        return Some(z);
    }
    if let Ok(s) = std::fs::read_to_string("/etc/timezone")
        && let Ok(z) = s.trim().parse()
    {
        return Some(z);
    }
    let link = std::fs::read_link("/etc/localtime").ok()?;
    let s = link.to_string_lossy();
    s.split_once("zoneinfo/").and_then(|(_, name)| name.parse().ok())
}

/// An outbound URL: http(s) with a host, parsed the way the HTTP client will parse it.
fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("`{url}` must start with http:// or https://"));
    }
    match reqwest::Url::parse(url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("`{url}` has no host")),
        Err(e) => Err(format!("`{url}` is not a valid URL: {e}")),
    }
}

/// What is wrong with a `[server] url` (one URL, or several separated by commas for replicas),
/// if anything: each must be an http(s) URL with a host, as the client parses it, and without a
/// query or fragment, which the API paths are appended after. A path is fine (a server mounted
/// under a prefix behind a proxy).
fn server_url_problem(urls: &str) -> Option<String> {
    crate::sync::client::split_urls(urls).into_iter().find_map(|u| match check_url(&u) {
        Err(why) => Some(why),
        Ok(()) if u.contains('?') || u.contains('#') => {
            Some(format!("`{u}` has a query or fragment: give the server's base URL"))
        }
        Ok(()) => None,
    })
}

/// A header the HTTP client will accept as is.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
    reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| "the value is not a valid HTTP header value (control characters?)".to_string())?;
    Ok(())
}

/// Every key of the config text with its place, from the TOML parser's own spans (as
/// team/file.rs reads its spans): the path (`["server", "tokens", "0", "name"]`), the key's span and
/// its value's span. A document with a syntax error still yields what was parsed before it.
fn key_spans(text: &str) -> Vec<(Vec<String>, std::ops::Range<usize>, std::ops::Range<usize>)> {
    use toml::de::{DeTable, DeValue};
    type Out = Vec<(Vec<String>, std::ops::Range<usize>, std::ops::Range<usize>)>;
    fn value(v: &toml::Spanned<DeValue<'_>>, path: &mut Vec<String>, out: &mut Out) {
        match v.get_ref() {
            DeValue::Table(t) => table(t, path, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    out.push((path.clone(), item.span(), item.span()));
                    value(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    fn table(t: &DeTable<'_>, path: &mut Vec<String>, out: &mut Out) {
        for (k, v) in t.iter() {
            path.push(k.get_ref().to_string());
            out.push((path.clone(), k.span(), v.span()));
            value(v, path, out);
            path.pop();
        }
    }
    let (doc, _errors) = DeTable::parse_recoverable(text);
    let mut out = Vec::new();
    table(doc.get_ref(), &mut Vec::new(), &mut out);
    out
}

/// `server.tokens[0].name` for a key path.
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// The 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Line (1-based) of a byte offset and the dotted key it falls in, e.g. `ui.theme`: the deepest
/// key whose name or value holds the offset, else the last key set before it.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let spans = key_spans(text);
    let inside = spans
        .iter()
        .filter(|(_, k, v)| k.contains(&offset) || v.contains(&offset) || k.start == offset)
        .max_by_key(|(p, _, _)| p.len());
    let before = || spans.iter().filter(|(_, k, _)| k.start <= offset).max_by_key(|(_, k, _)| k.start);
    let key = inside.or_else(before).map(|(p, _, _)| dotted(p)).unwrap_or_default();
    (line_at(text, offset), key)
}

fn qualify(section: &str, key: &str) -> String {
    match (section.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => section.to_string(),
        (false, false) if key.starts_with(section) => key.to_string(),
        (false, false) => format!("{section}.{key}"),
    }
}

/// The field name of serde's "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_string)
}

/// The line where the key at `path` is written (1 if it is not in the file).
fn line_of_path(text: &str, path: &[&str]) -> usize {
    key_spans(text)
        .into_iter()
        .find(|(p, _, _)| p.iter().map(String::as_str).eq(path.iter().copied()))
        .map_or(1, |(_, k, _)| line_at(text, k.start))
}

/// The line where `key` is set inside `[section]` (a dotted section names nested tables).
fn line_of_key(text: &str, section: &str, key: &str) -> usize {
    let path: Vec<&str> = section.split('.').chain([key]).collect();
    line_of_path(text, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_sets_every_section() {
        let text = include_str!("../config.example.toml");
        let cfg = Config::parse(text, "config.example.toml").unwrap();
        assert_eq!(cfg.user.name.as_deref(), Some("ana"));
        assert_eq!(cfg.user.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(cfg.ui.theme, "default");
        assert!(cfg.server.url.is_some());
        assert_eq!(cfg.runbooks.command_timeout_secs, Some(60));
    }

    #[test]
    fn procs_section_defaults_and_validates() {
        let cfg = Config::parse("", "c.toml").unwrap();
        assert_eq!(cfg.procs_refresh(), std::time::Duration::from_millis(1500));
        assert_eq!(cfg.procs_grace(), std::time::Duration::from_secs(10));
        let cfg = Config::parse(
            "[procs]\nrefresh_ms = 500\ncritical = [\"postgres*\"]\ngrace_secs = 3\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(cfg.procs_refresh(), std::time::Duration::from_millis(500));
        assert_eq!(cfg.procs.critical, vec!["postgres*".to_string()]);
        assert_eq!(cfg.procs_grace(), std::time::Duration::from_secs(3));
        let e = Config::parse("[user]\nname = \"a\"\n[procs]\nrefresh_ms = 10\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (4, "procs.refresh_ms"), "{e}");
        let e = Config::parse("[procs]\ngrace_secs = 0\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "procs.grace_secs"), "{e}");
        let e = Config::parse("[procs]\ncritical = [\"*\"]\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "procs.critical"), "{e}");
    }

    #[test]
    fn empty_config_is_defaults() {
        let cfg = Config::parse("", "c.toml").unwrap();
        assert_eq!(cfg.ui, UiConfig::default());
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = Config::parse("[user]\nname = \"a\"\n\n[ui]\ncolour = \"red\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (5, "ui.colour"), "{e}");
        assert!(e.to_string().starts_with("c.toml:5: ui.colour: unknown field"), "{e}");
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let e = Config::parse("[ui]\ntheme = \"x\"\ntime = \"martian\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "ui.time"), "{e}");
        let e = Config::parse("[ui]\nmouse = 3\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "ui.mouse"), "{e}");
    }

    #[test]
    fn heartbeat_out_of_range_is_an_error_not_a_silent_change() {
        for ms in [1, 99, 3_600_001] {
            let e = Config::parse(&format!("[server]\nheartbeat_ms = {ms}\n"), "c.toml").unwrap_err();
            assert_eq!((e.line, e.key.as_str()), (2, "server.heartbeat_ms"), "{e}");
            assert!(e.message.contains("100 to 3600000"), "{e}");
        }
        assert!(Config::parse("[server]\nheartbeat_ms = 100\n", "c.toml").is_ok());
    }

    #[test]
    fn a_user_name_longer_than_a_server_takes_is_refused_here() {
        let long = "a".repeat(MAX_AUTHOR_BYTES + 1);
        let e = Config::parse(&format!("[ui]\n[user]\nname = \"{long}\"\n"), "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "user.name"), "{e}");
        assert!(e.message.contains("201 bytes, more than 200"), "{e}");
        let fits = "a".repeat(MAX_AUTHOR_BYTES);
        assert!(Config::parse(&format!("[user]\nname = \"{fits}\"\n"), "c.toml").is_ok());
    }

    #[test]
    fn bad_timezone_and_url() {
        let e = Config::parse("[user]\n\ntimezone = \"Mars/Olympus\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "user.timezone"), "{e}");
        let e = Config::parse("[server]\nurl = \"ftp://x\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "server.url");
        // Not a URL the client could use: refused here, not "unreachable" on every command.
        for (url, why) in [
            ("http://[::1", "is not a valid URL"),
            ("http://a:1/x?y=1", "has a query or fragment"),
            ("http://a:1, http://b:1#f", "has a query or fragment"),
        ] {
            let e = Config::parse(&format!("[server]\nurl = \"{url}\"\n"), "c.toml").unwrap_err();
            assert!((e.line, e.key.as_str()) == (2, "server.url") && e.message.contains(why), "{url}: {e}");
            let e =
                Config::default().with_env(|k| (k == "WARROOM_SERVER").then(|| url.to_string())).unwrap_err();
            assert!(e.message.contains(why), "{url}: {e}");
        }
        assert!(Config::parse("[server]\nurl = \"https://ops.example.com/warroom\"\n", "c.toml").is_ok());
    }

    #[test]
    fn command_timeout_defaults_and_validates() {
        assert_eq!(Config::parse("", "c.toml").unwrap().command_timeout().as_secs(), 60);
        let cfg = Config::parse("[runbooks]\ncommand_timeout_secs = 5\n", "c.toml").unwrap();
        assert_eq!(cfg.command_timeout().as_secs(), 5);
        let e = Config::parse("[runbooks]\ndir = \"x\"\ncommand_timeout_secs = 0\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "runbooks.command_timeout_secs"), "{e}");
        assert!(e.message.contains("1 to 86400"), "{e}");
        let e = Config::parse("[runbooks]\ncommand_timeout_secs = -3\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "runbooks.command_timeout_secs"), "{e}");
        let e = Config::parse("[runbooks]\ncommand_timeout_secs = \"60s\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "runbooks.command_timeout_secs"), "{e}");
    }

    #[test]
    fn example_sets_paging_and_status_updates() {
        let cfg = Config::parse(include_str!("../config.example.toml"), "config.example.toml").unwrap();
        assert!(cfg.paging.pagerduty_routing_key.is_some());
        assert_eq!(cfg.paging.pagerduty_url, PAGERDUTY_URL);
        assert_eq!(
            cfg.paging.webhook_headers.get("Authorization").map(String::as_str),
            Some("Bearer change-me")
        );
        assert_eq!((cfg.paging.timeout_secs, cfg.paging.retries), (10, 2));
        assert!(cfg.status_updates.webhook_url.is_some());
        assert_eq!(
            cfg.status_updates,
            StatusUpdatesConfig {
                webhook_url: cfg.status_updates.webhook_url.clone(),
                webhook_headers: cfg.status_updates.webhook_headers.clone(),
                chat_webhook_url: cfg.status_updates.chat_webhook_url.clone(),
                statuspage_page_id: Some("kctbh9vrtdwd".into()),
                statuspage_api_key: Some("change-me".into()),
                statuspage_components: vec!["8kbf7d35c070".into()],
                responder_template: cfg.status_updates.responder_template.clone(),
                stakeholder_template: cfg.status_updates.stakeholder_template.clone(),
                ..Default::default()
            }
        );
        assert!(
            cfg.status_updates.chat_webhook_url.is_some()
                && cfg.status_updates.stakeholder_template.is_some()
        );
        assert_eq!(cfg.changes.window_hours, 4);
    }

    #[test]
    fn bad_status_provider_and_change_settings_name_the_key() {
        for (text, key) in [
            ("[status_updates]\nchat_webhook_url = \"ftp://x\"\n", "2: status_updates.chat_webhook_url"),
            ("[status_updates]\nstatuspage_api_key = \"k\"\n", "2: status_updates.statuspage_api_key"),
            (
                "[status_updates]\nstatuspage_page_id = \"a b\"\nstatuspage_api_key = \"k\"\n",
                "2: status_updates.statuspage_page_id",
            ),
            ("[changes]\nwindow_hours = 200\n", "2: changes.window_hours"),
        ] {
            let e = Config::parse(text, "c.toml").unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn author_falls_back_to_env_then_passwd_never_a_bare_uid() {
        let cfg = Config::default();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            cfg.author_from(env(&[("WARROOM_AUTHOR", "Ana Lima"), ("USER", "root")]), 0, "vm"),
            "Ana Lima"
        );
        assert_eq!(cfg.author_from(env(&[("SUDO_USER", "ana"), ("USER", "root")]), 0, "vm"), "ana@vm");
        assert_eq!(cfg.author_from(env(&[]), 0, "vm"), "root@vm", "uid 0 is root in /etc/passwd");
        let named = Config::parse("[user]\nname = \"Ana\"\n", "c.toml").unwrap();
        assert_eq!(named.author_from(env(&[("WARROOM_AUTHOR", "x")]), 0, "vm"), "Ana");
    }

    #[test]
    fn cadence_per_severity_and_zero_is_none() {
        let cfg = Config::parse("[status_updates]\nsev2 = 20\nsev4 = 0\n", "c.toml").unwrap();
        let sev = |n| Severity::new(n).unwrap();
        assert_eq!(cfg.status_updates.cadence(sev(1)), Some(chrono::Duration::minutes(15)));
        assert_eq!(cfg.status_updates.cadence(sev(2)), Some(chrono::Duration::minutes(20)));
        assert_eq!(cfg.status_updates.cadence(sev(3)), Some(chrono::Duration::minutes(60)));
        assert_eq!(cfg.status_updates.cadence(sev(4)), None);
    }

    #[test]
    fn bad_paging_values_name_line_and_key() {
        let cases: &[(&str, usize, &str)] = &[
            ("[paging]\n\npagerduty_routing_key = \"\"\n", 3, "paging.pagerduty_routing_key"),
            ("[paging]\npagerduty_url = \"events.pagerduty.com\"\n", 2, "paging.pagerduty_url"),
            ("[paging]\nwebhook_url = \"http://\"\n", 2, "paging.webhook_url"),
            ("[paging]\ntimeout_secs = 0\n", 2, "paging.timeout_secs"),
            ("[paging]\nretries = 11\n", 2, "paging.retries"),
            ("[paging]\nretries = -1\n", 2, "paging.retries"),
            ("[paging]\nwebhook_headers = { \"Bad Name\" = \"x\" }\n", 2, "paging.webhook_headers.Bad Name"),
            (
                "[status_updates]\nx = 1\n[status_updates.webhook_headers]\nAuth = \"a\\nb\"\n",
                2,
                "status_updates.x",
            ),
            (
                "[status_updates.webhook_headers]\nok = \"1\"\nAuth = \"a\\nb\"\n",
                3,
                "status_updates.webhook_headers.Auth",
            ),
            ("[status_updates]\nsev1 = 2000\n", 2, "status_updates.sev1"),
            ("[status_updates]\nsev9 = 5\n", 2, "status_updates.sev9"),
            ("[paging]\npager = 1\n", 2, "paging.pager"),
        ];
        for (text, line, key) in cases {
            let e = Config::parse(text, "c.toml").unwrap_err();
            assert_eq!((e.line, e.key.as_str()), (*line, *key), "{text:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }

    #[test]
    fn lines_come_from_the_parser_whatever_the_toml_spelling() {
        // Inline tables, dotted keys and arrays of inline tables: a line scanner looking for
        // `[section]` then `key =` found none of these (it said line 1).
        let cases: &[(&str, usize, &str)] = &[
            ("# paging\n\npaging = { retries = 11 }\n", 3, "paging.retries"),
            ("# paging\npaging.timeout_secs = 0\n[user]\nname = \"a\"\n", 2, "paging.timeout_secs"),
            (
                "[server]\ntokens = [\n  { name = \"ana\", token = \"0123456789abcdef\" },\n  { name = \"a@b\", token = \"0123456789abcdef\" },\n]\n",
                4,
                "server.tokens[1]",
            ),
            ("[procs]\n\"grace_secs\" = 0\n", 2, "procs.grace_secs"),
        ];
        for (text, line, key) in cases {
            let e = Config::parse(text, "c.toml").unwrap_err();
            assert_eq!((e.line, e.key.as_str()), (*line, *key), "{text:?}: {e}");
        }
    }

    #[test]
    fn server_tokens_are_checked() {
        let ok = "[server]\n[[server.tokens]]\nname = \"ana\"\ntoken = \"0123456789abcdef\"\n";
        assert_eq!(Config::parse(ok, "c.toml").unwrap().server.tokens[0].name, "ana");
        let bad = "[[server.tokens]]\nname = \"ana\"\ntoken_sha256 = \"zz\"\n";
        let e = Config::parse(bad, "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "server.tokens[0]"), "{e}");
        // Whitespace around (or inside) a token is an error naming the entry, not trimmed away.
        for token in [" 0123456789abcdef", "0123456789abcdef ", "0123456789abcdef\\t", "01234567 89abcdef"] {
            let text = format!(
                "[[server.tokens]]\nname = \"ana\"\ntoken = \"ana-0123456789abcdef\"\n[[server.tokens]]\nname = \"bo\"\ntoken = \"{token}\"\n"
            );
            let e = Config::parse(&text, "c.toml").unwrap_err();
            assert_eq!((e.line, e.key.as_str()), (5, "server.tokens[1]"), "{token:?}: {e}");
            assert!(e.message.contains("whitespace"), "{e}");
        }
    }

    #[test]
    fn client_token_with_whitespace_is_refused() {
        let e = Config::parse("[server]\nurl = \"http://x\"\ntoken = \" 0123456789abcdef\"\n", "c.toml")
            .unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "server.token"), "{e}");
        let env = |v: &'static str| move |k: &str| (k == "WARROOM_TOKEN").then(|| v.to_string());
        let e = Config::default().with_env(env("0123456789abcdef\n")).unwrap_err();
        assert_eq!((e.path.as_str(), e.key.as_str()), ("WARROOM_TOKEN", "server.token"), "{e}");
        assert!(Config::default().with_env(env(" tok")).is_err());
        let ok = Config::default().with_env(env("0123456789abcdef")).unwrap();
        assert_eq!(ok.server.token.as_deref(), Some("0123456789abcdef"));
        assert_eq!(Config::default().with_env(env("")).unwrap().server.token, None);
    }

    #[test]
    fn env_overrides_server() {
        let cfg = Config::default()
            .with_env(|k| (k == "WARROOM_SERVER").then(|| "http://127.0.0.1:9".to_string()))
            .unwrap();
        assert_eq!(cfg.server.url.as_deref(), Some("http://127.0.0.1:9"));
        assert!(Config::default().with_env(|_| Some("ftp://x".into())).is_err());
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = Config::parse("[ui]\ntheme = \n", "c.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(!e.to_string().contains('\n'));
        // No key to name: no empty `: :` in the line.
        let e = Config::parse("garbage\n", "c.toml").unwrap_err();
        assert!(e.to_string().starts_with("c.toml:1: key with no value"), "{e}");
        let e = Config::parse("[ui]\ntheme = \"a\"\ntheme = \"b\"\n", "c.toml").unwrap_err();
        assert!(e.to_string().contains("duplicate key `theme`"), "{e}");
        let e = Config::parse("[procs]\nrefresh_ms = 99999999999999999999999\n", "c.toml").unwrap_err();
        assert_eq!(e.message, "99999999999999999999999 is out of range (expected u64)", "{e}");
    }

    #[test]
    fn missing_default_file_is_fine_but_explicit_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Config::load(Some(&tmp.path().join("nope.toml"))).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
    }
}
