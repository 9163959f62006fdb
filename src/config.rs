//! Configuration: TOML at the XDG config path, `--config`, or `WARROOM_CONFIG`; environment
//! overrides; XDG paths. Errors name the file, the line and the key. No file at all is fine.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

/// A config problem, displayed as one line: `FILE:LINE: KEY: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {key}: {message}", if *.line > 0 { format!(":{line}") } else { String::new() })]
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Base URL of a `warroom serve` backend; unset means offline only.
    pub url: Option<String>,
    /// Bearer token for the server.
    pub token: Option<String>,
}

impl Config {
    /// Parses config text; `path` is only for messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, key) = e.span().map(|s| locate(text, s.start)).unwrap_or((1, String::new()));
            let message = e.message().trim().replace('\n', " ");
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
        if let Some(name) = &self.user.name
            && name.trim().is_empty()
        {
            return Err(err("user", "name", "must not be empty".into()));
        }
        if self.ui.theme.trim().is_empty() {
            return Err(err("ui", "theme", "must not be empty".into()));
        }
        if let Some(t) = self.runbooks.command_timeout_secs
            && !(1..=MAX_COMMAND_TIMEOUT_SECS).contains(&t)
        {
            return Err(err(
                "runbooks",
                "command_timeout_secs",
                format!("must be 1 to {MAX_COMMAND_TIMEOUT_SECS} seconds, got {t}"),
            ));
        }
        if let Some(url) = &self.server.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(err("server", "url", format!("`{url}` must start with http:// or https://")));
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
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Config::default()),
            Err(e) => Err(ConfigError {
                path: path.display().to_string(),
                line: 0,
                key: "config".into(),
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// The author written on events: `[user] name`, else `$USER@hostname`.
    pub fn author(&self) -> String {
        if let Some(n) = &self.user.name {
            return n.trim().to_string();
        }
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("uid{}", rustix::process::getuid().as_raw()));
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        if host.is_empty() { user } else { format!("{user}@{host}") }
    }

    /// The responder's zone: `[user] timezone`, else the system zone when it can be named.
    pub fn timezone(&self) -> Option<Tz> {
        self.user.timezone.as_deref().and_then(|t| t.parse().ok()).or_else(system_timezone)
    }

    /// How long a runbook command may run: `[runbooks] command_timeout_secs`, default 60 s.
    pub fn command_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.runbooks.command_timeout_secs.unwrap_or(60))
    }

    /// Resolves a path from the config relative to the config file's directory.
    pub fn relative(&self, p: &Path) -> PathBuf {
        match (&self.source, p.is_absolute()) {
            (Some(src), false) => src.parent().unwrap_or(Path::new(".")).join(p),
            _ => p.to_path_buf(),
        }
    }
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

/// Line (1-based) of a byte offset and the dotted key written on that line, e.g. `ui.theme`.
fn locate(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let line = text[..offset].matches('\n').count() + 1;
    let mut section = String::new();
    let mut key = String::new();
    for (i, l) in text.lines().enumerate() {
        if i + 1 > line {
            break;
        }
        let t = l.trim();
        if t.starts_with('[') {
            section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            key.clear();
        }
        if i + 1 == line
            && let Some((k, _)) = t.split_once('=')
        {
            key = k.trim().trim_matches('"').to_string();
        }
    }
    (line, qualify(&section, &key))
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

/// The line where `key` is set inside `[section]` (1 if not found).
fn line_of_key(text: &str, section: &str, key: &str) -> usize {
    let mut current = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        } else if current == section
            && let Some((k, _)) = t.split_once('=')
            && k.trim().trim_matches('"') == key
        {
            return i + 1;
        }
    }
    1
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
    fn bad_timezone_and_url() {
        let e = Config::parse("[user]\n\ntimezone = \"Mars/Olympus\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "user.timezone"), "{e}");
        let e = Config::parse("[server]\nurl = \"ftp://x\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key, "server.url");
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
    fn syntax_error_has_a_line() {
        let e = Config::parse("[ui]\ntheme = \n", "c.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn missing_default_file_is_fine_but_explicit_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Config::load(Some(&tmp.path().join("nope.toml"))).unwrap_err();
        assert!(e.message.contains("cannot read"), "{e}");
    }
}
