//! Themes: TOML files mapping semantic roles (header, focus border, sev1..sev4, ok/warn/danger…) to
//! styles. The repo's `themes/*.toml` are compiled in so an installed binary has them; a user dir
//! (`~/.config/warroom/themes/NAME.toml`) adds or overrides. `NO_COLOR` gives a monochrome theme
//! that still marks focus and severity with bold and reverse.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::incident::{Severity, Tag};

/// The themes shipped with warroom: (name, TOML).
pub const BUILTIN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("16-colour", include_str!("../../themes/16-colour.toml")),
    ("light", include_str!("../../themes/light.toml")),
];

/// Why a theme could not be used. One line, naming the theme or its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{name}` (available: {})", .available.join(", "))]
    Unknown { name: String, available: Vec<String> },
    #[error("theme {file}: {message}")]
    Invalid { file: String, message: String },
}

/// Every role a theme must define, as written in the TOML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[allow(dead_code)]
    name: Option<String>,
    text: String,
    header: String,
    border: String,
    focus_border: String,
    title: String,
    muted: String,
    selection: String,
    time: String,
    author: String,
    sev1: String,
    sev2: String,
    sev3: String,
    sev4: String,
    ok: String,
    warn: String,
    danger: String,
    badge_note: String,
    badge_finding: String,
    badge_action: String,
    badge_change: String,
    badge_decision: String,
    tab: String,
    tab_active: String,
    key: String,
    popup_border: String,
    header_warn: String,
    header_danger: String,
}

/// Resolved styles for every semantic role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub header: Style,
    pub border: Style,
    pub focus_border: Style,
    pub title: Style,
    pub muted: Style,
    pub selection: Style,
    pub time: Style,
    pub author: Style,
    pub sev: [Style; 4],
    pub ok: Style,
    pub warn: Style,
    pub danger: Style,
    /// Indexed like `Tag::ALL`.
    pub badge: [Style; 5],
    pub tab: Style,
    pub tab_active: Style,
    pub key: Style,
    pub popup_border: Style,
    /// Header item that needs attention soon (status update almost due).
    pub header_warn: Style,
    /// Header item that is late (status update overdue).
    pub header_danger: Style,
}

impl Theme {
    /// The style of a severity badge.
    pub fn sev(&self, s: Severity) -> Style {
        self.sev[usize::from(s.get().clamp(1, 4)) - 1]
    }

    /// The style of a note tag badge.
    pub fn badge(&self, t: Tag) -> Style {
        let i = Tag::ALL.iter().position(|x| *x == t).unwrap_or(0);
        self.badge[i]
    }

    /// Parses a theme file's text; `file` names it in errors.
    pub fn parse(name: &str, text: &str, file: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid { file: file.to_string(), message };
        let f: ThemeFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim().replace('\n', " ");
            invalid(match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            })
        })?;
        let st = |role: &str, v: &str| parse_style(v).map_err(|m| invalid(format!("{role}: {m}")));
        Ok(Theme {
            name: name.to_string(),
            text: st("text", &f.text)?,
            header: st("header", &f.header)?,
            border: st("border", &f.border)?,
            focus_border: st("focus_border", &f.focus_border)?,
            title: st("title", &f.title)?,
            muted: st("muted", &f.muted)?,
            selection: st("selection", &f.selection)?,
            time: st("time", &f.time)?,
            author: st("author", &f.author)?,
            sev: [st("sev1", &f.sev1)?, st("sev2", &f.sev2)?, st("sev3", &f.sev3)?, st("sev4", &f.sev4)?],
            ok: st("ok", &f.ok)?,
            warn: st("warn", &f.warn)?,
            danger: st("danger", &f.danger)?,
            badge: [
                st("badge_note", &f.badge_note)?,
                st("badge_finding", &f.badge_finding)?,
                st("badge_action", &f.badge_action)?,
                st("badge_change", &f.badge_change)?,
                st("badge_decision", &f.badge_decision)?,
            ],
            tab: st("tab", &f.tab)?,
            tab_active: st("tab_active", &f.tab_active)?,
            key: st("key", &f.key)?,
            popup_border: st("popup_border", &f.popup_border)?,
            header_warn: st("header_warn", &f.header_warn)?,
            header_danger: st("header_danger", &f.header_danger)?,
        })
    }

    /// No colour at all (`NO_COLOR`): focus, selection and severity still stand out by attribute.
    pub fn monochrome() -> Theme {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        let rev = plain.add_modifier(Modifier::REVERSED);
        let strong = bold.add_modifier(Modifier::REVERSED);
        Theme {
            name: "monochrome".into(),
            text: plain,
            header: strong,
            border: plain,
            focus_border: bold,
            title: bold,
            muted: plain.add_modifier(Modifier::DIM),
            selection: rev,
            time: plain,
            author: plain,
            sev: [strong, strong, bold, plain],
            ok: plain,
            warn: bold,
            danger: bold,
            badge: [rev, rev, rev, rev, rev],
            tab: plain,
            tab_active: strong,
            key: bold,
            popup_border: bold,
            header_warn: bold,
            header_danger: strong,
        }
    }

    /// Loads the theme `name`: a user file in `user_dir` wins over a built-in of the same name.
    /// `no_color` still checks that the name exists, then returns the monochrome theme.
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ThemeError> {
        let user_file = user_dir.map(|d| d.join(format!("{name}.toml"))).filter(|p| p.is_file());
        let theme = if let Some(path) = user_file {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Invalid {
                file: file.clone(),
                message: format!("cannot read: {e}"),
            })?;
            Theme::parse(name, &text, &file)?
        } else if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            Theme::parse(name, text, &format!("themes/{name}.toml"))?
        } else {
            return Err(ThemeError::Unknown { name: name.to_string(), available: available(user_dir) });
        };
        Ok(if no_color { Theme::monochrome() } else { theme })
    }
}

/// Built-in theme names plus the user dir's `*.toml` names, sorted, without duplicates.
pub fn available(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml")
                && let Some(stem) = p.file_stem()
            {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `~/.config/warroom/themes`, where users add their own themes.
pub fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("themes"))
}

/// Whether `NO_COLOR` asks for no colour (set and not empty, per no-color.org).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Parses `FG [on BG] [modifiers…]`, e.g. `white on 160 bold`.
fn parse_style(spec: &str) -> Result<Style, String> {
    let mut style = Style::default();
    let mut words = spec.split_whitespace().peekable();
    let mut fg_done = false;
    while let Some(w) = words.next() {
        let lw = w.to_ascii_lowercase();
        let modifier = match lw.as_str() {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underlined" | "underline" => Some(Modifier::UNDERLINED),
            "reversed" | "reverse" => Some(Modifier::REVERSED),
            _ => None,
        };
        if let Some(m) = modifier {
            style = style.add_modifier(m);
        } else if lw == "on" {
            let bg = words.next().ok_or_else(|| format!("`{spec}`: `on` needs a colour after it"))?;
            style = style.bg(color(bg, spec)?);
        } else if !fg_done {
            style = style.fg(color(w, spec)?);
            fg_done = true;
        } else {
            return Err(format!(
                "`{spec}`: unexpected `{w}` (write FG [on BG] [bold|dim|italic|underlined|reversed])"
            ));
        }
    }
    Ok(style)
}

fn color(word: &str, spec: &str) -> Result<Color, String> {
    Color::from_str(word).map_err(|_| format!("`{spec}`: unknown colour `{word}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses() {
        for (name, text) in BUILTIN {
            let t = Theme::parse(name, text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.name, name);
        }
    }

    #[test]
    fn sixteen_colour_theme_uses_only_ansi_colours() {
        let t = Theme::load("16-colour", None, false).unwrap();
        let styles = [t.header, t.selection, t.sev[0], t.sev[3], t.badge[1], t.focus_border, t.muted];
        for s in styles {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Indexed(_) | Color::Rgb(..)), "{c:?} in {s:?}");
            }
        }
    }

    #[test]
    fn style_spec_parses() {
        let s = parse_style("white on 160 bold").unwrap();
        assert_eq!(s, Style::default().fg(Color::White).bg(Color::Indexed(160)).add_modifier(Modifier::BOLD));
        assert!(parse_style("white on").unwrap_err().contains("needs a colour"));
        assert!(parse_style("chartreuse-ish").unwrap_err().contains("unknown colour"));
    }

    #[test]
    fn unknown_theme_names_it_and_lists_choices() {
        let e = Theme::load("neon", None, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown theme `neon` (available: 16-colour, default, high-contrast, light)"
        );
        // NO_COLOR does not hide a typo.
        assert!(Theme::load("neon", None, true).is_err());
    }

    #[test]
    fn user_theme_overrides_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = BUILTIN[0].1.replace("lightcyan bold", "red bold");
        std::fs::write(dir.path().join("default.toml"), &text).unwrap();
        let t = Theme::load("default", Some(dir.path()), false).unwrap();
        assert_eq!(t.focus_border.fg, Some(Color::Red));
        text = text.replace("muted = \"245\"", "muted = \"mauve\"");
        std::fs::write(dir.path().join("mine.toml"), &text).unwrap();
        let e = Theme::load("mine", Some(dir.path()), false).unwrap_err().to_string();
        assert!(e.contains("mine.toml") && e.contains("muted") && e.contains("mauve"), "{e}");
        std::fs::write(dir.path().join("short.toml"), "text = \"red\"\n").unwrap();
        let e = Theme::load("short", Some(dir.path()), false).unwrap_err().to_string();
        assert!(e.contains("short.toml") && e.contains("missing field"), "{e}");
    }

    #[test]
    fn monochrome_has_no_colours_but_marks_sev1() {
        let t = Theme::load("default", None, true).unwrap();
        assert_eq!(t.name, "monochrome");
        assert!(t.sev[0].add_modifier.contains(Modifier::REVERSED));
        assert!(t.header.fg.is_none() && t.selection.bg.is_none());
    }
}
