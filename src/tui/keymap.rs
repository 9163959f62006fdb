//! Keys as data: one table per scope maps keys to commands. The same tables drive key handling,
//! the footer hints and the `?` help, so what is shown can never disagree with what works.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers. For characters, Shift is ignored (`S` arrives with or without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn ch(c: char) -> Key {
        Key { code: KeyCode::Char(c), mods: KeyModifiers::NONE }
    }
    pub const fn ctrl(c: char) -> Key {
        Key { code: KeyCode::Char(c), mods: KeyModifiers::CONTROL }
    }
    pub const fn code(code: KeyCode) -> Key {
        Key { code, mods: KeyModifiers::NONE }
    }

    /// Whether a key event is this key.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let strip = |m: KeyModifiers| m.difference(KeyModifiers::SHIFT);
        self.code == ev.code && strip(self.mods) == strip(ev.modifiers)
    }

    /// How the key is written on screen.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("C-{base}")
        } else if self.mods.contains(KeyModifiers::ALT) {
            format!("M-{base}")
        } else {
            base
        }
    }
}

/// A row of a key table: keys, the command they run, a description, and whether the footer shows it.
#[derive(Debug, Clone, Copy)]
pub struct Binding<C: 'static> {
    pub keys: &'static [Key],
    pub cmd: C,
    pub desc: &'static str,
    /// Short label for the footer; None keeps it to the `?` help only.
    pub hint: Option<&'static str>,
}

impl<C: Copy> Binding<C> {
    /// `j/↓` style label of every key of the binding; a run of three or more consecutive
    /// characters is written as a range (`1-9`).
    pub fn keys_label(&self) -> String {
        let chars: Option<Vec<char>> = self
            .keys
            .iter()
            .map(|k| match k.code {
                KeyCode::Char(c) if k.mods.is_empty() => Some(c),
                _ => None,
            })
            .collect();
        if let Some(cs) = chars
            && cs.len() >= 3
            && cs.windows(2).all(|w| u32::from(w[1]) == u32::from(w[0]) + 1)
        {
            return format!("{}-{}", cs[0], cs[cs.len() - 1]);
        }
        self.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
    }
}

// The keys of the shared rows (named, so that they live for the whole program).
const DOWN: &[Key] = &[Key::ch('j'), Key::code(KeyCode::Down)];
const UP: &[Key] = &[Key::ch('k'), Key::code(KeyCode::Up)];
const TOP: &[Key] = &[Key::ch('g'), Key::code(KeyCode::Home)];
const BOTTOM: &[Key] = &[Key::ch('G'), Key::code(KeyCode::End)];
const PAGE_DOWN: &[Key] = &[Key::code(KeyCode::PageDown)];
const PAGE_UP: &[Key] = &[Key::code(KeyCode::PageUp)];
const TAB: &[Key] = &[Key::code(KeyCode::Tab)];
const BACK_TAB: &[Key] = &[Key::code(KeyCode::BackTab)];
const ESC: &[Key] = &[Key::code(KeyCode::Esc)];
const ESC_ENTER: &[Key] = &[Key::code(KeyCode::Esc), Key::code(KeyCode::Enter)];
const Q: &[Key] = &[Key::ch('q')];

/// Rows that mean the same in every table they are in, so their keys and words are written once:
/// a list moves with j/k, g/G and the arrows everywhere, a form's Tab and Esc do the same in
/// every form. `desc` names the items in `?` help; these rows are not in the footer unless
/// `shown`.
impl<C: Copy> Binding<C> {
    /// j/↓: down (the next item, a line down).
    pub const fn down(cmd: C, desc: &'static str) -> Binding<C> {
        Binding { keys: DOWN, cmd, desc, hint: None }
    }
    /// k/↑: up (the previous item).
    pub const fn up(cmd: C, desc: &'static str) -> Binding<C> {
        Binding { keys: UP, cmd, desc, hint: None }
    }
    /// g/Home: the top (the first item).
    pub const fn top(cmd: C, desc: &'static str) -> Binding<C> {
        Binding { keys: TOP, cmd, desc, hint: None }
    }
    /// G/End: the bottom (the last item).
    pub const fn bottom(cmd: C, desc: &'static str) -> Binding<C> {
        Binding { keys: BOTTOM, cmd, desc, hint: None }
    }
    /// PgDn: a page down.
    pub const fn page_down(cmd: C) -> Binding<C> {
        Binding { keys: PAGE_DOWN, cmd, desc: "page down", hint: None }
    }
    /// PgUp: a page up.
    pub const fn page_up(cmd: C) -> Binding<C> {
        Binding { keys: PAGE_UP, cmd, desc: "page up", hint: None }
    }
    /// Tab: a form's next field (in the footer).
    pub const fn next_field(cmd: C) -> Binding<C> {
        Binding { keys: TAB, cmd, desc: "next field", hint: Some("next field") }
    }
    /// S-Tab: a form's previous field.
    pub const fn prev_field(cmd: C) -> Binding<C> {
        Binding { keys: BACK_TAB, cmd, desc: "previous field", hint: None }
    }
    /// Esc: leave a form or list without a result (in the footer).
    pub const fn cancel(cmd: C) -> Binding<C> {
        Binding { keys: ESC, cmd, desc: "cancel", hint: Some("cancel") }
    }
    /// Esc: close a view or a result (in the footer).
    pub const fn close(cmd: C) -> Binding<C> {
        Binding { keys: ESC, cmd, desc: "close", hint: Some("close") }
    }
    /// The row with a footer hint.
    pub const fn shown(self, hint: &'static str) -> Binding<C> {
        Binding { hint: Some(hint), ..self }
    }
}

/// The keys of a dialog that shows a result: Esc/Enter close it (in the footer), and q.
pub const fn close_rows<C: Copy>(cmd: C) -> [Binding<C>; 2] {
    [
        Binding { keys: ESC_ENTER, cmd, desc: "close", hint: Some("close") },
        Binding { keys: Q, cmd, desc: "close", hint: None },
    ]
}

/// The command bound to a key event in a table, if any.
pub fn lookup<C: Copy>(table: &[Binding<C>], ev: &KeyEvent) -> Option<C> {
    table.iter().find(|b| b.keys.iter().any(|k| k.matches(ev))).map(|b| b.cmd)
}

/// The footer hints of a table, as (keys, hint), for the bindings that have one. Bindings that
/// share a hint are shown once, with the first key of each (`j/k scroll`).
pub fn hints<C: Copy + 'static>(table: &[Binding<C>]) -> Vec<(String, &'static str)> {
    let mut groups: Vec<(&'static str, Vec<&Binding<C>>)> = Vec::new();
    for b in table {
        let Some(hint) = b.hint else { continue };
        match groups.iter_mut().find(|(h, _)| *h == hint) {
            Some((_, bs)) => bs.push(b),
            None => groups.push((hint, vec![b])),
        }
    }
    groups
        .into_iter()
        .map(|(hint, bs)| match bs.as_slice() {
            [one] => (one.keys_label(), hint),
            many => {
                let firsts: Vec<String> =
                    many.iter().filter_map(|b| b.keys.first()).map(Key::label).collect();
                (firsts.join("/"), hint)
            }
        })
        .collect()
}

/// The `?` help rows of some tables, as (keys, description): bindings with the same description
/// are one row listing every key once (`Esc/q  cancel`).
pub fn help_rows<'a, C: Copy + 'static>(
    tables: impl IntoIterator<Item = &'a [Binding<C>]>,
) -> Vec<(String, &'static str)> {
    // Per description: the keys seen so far and the bindings that brought new ones.
    type Row<'b, C> = (Vec<Key>, Vec<&'b Binding<C>>, &'static str);
    let mut rows: Vec<Row<C>> = Vec::new();
    for b in tables.into_iter().flatten() {
        let i = match rows.iter().position(|(_, _, d)| *d == b.desc) {
            Some(i) => i,
            None => {
                rows.push((Vec::new(), Vec::new(), b.desc));
                rows.len() - 1
            }
        };
        let (keys, bs, _) = &mut rows[i];
        if b.keys.iter().any(|k| !keys.contains(k)) {
            for k in b.keys {
                if !keys.contains(k) {
                    keys.push(*k);
                }
            }
            bs.push(b);
        }
    }
    rows.into_iter()
        .map(|(_, bs, desc)| (bs.iter().map(|b| b.keys_label()).collect::<Vec<_>>().join("/"), desc))
        .collect()
}

/// A plain key press, for unit tests of key handling.
#[cfg(test)]
pub(crate) fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Commands every screen understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalCmd {
    Quit,
    Help,
    Compose,
    NextPane,
    PrevPane,
    Focus(usize),
    Zoom,
    Severity,
    Status,
    Ack,
    StatusUpdate,
    /// Drop the server connection and reconnect now.
    Reconnect,
    Export,
    Followup,
    /// Open the evidence browser.
    Evidence,
}

/// The global key table (asked after popups, the composer and the focused pane).
pub static GLOBAL: &[Binding<GlobalCmd>] = &[
    Binding {
        keys: &[Key::ch('n')],
        cmd: GlobalCmd::Compose,
        desc: "write a note (from anywhere)",
        hint: Some("note"),
    },
    Binding {
        keys: &[Key::ch('u')],
        cmd: GlobalCmd::StatusUpdate,
        desc: "post a status update (internal / stakeholders)",
        hint: Some("update"),
    },
    Binding { keys: &[Key::ch('S')], cmd: GlobalCmd::Severity, desc: "set severity", hint: None },
    Binding { keys: &[Key::ch('s')], cmd: GlobalCmd::Status, desc: "set status", hint: None },
    Binding {
        keys: &[Key::ch('a')],
        cmd: GlobalCmd::Ack,
        desc: "acknowledge the incident",
        hint: Some("ack"),
    },
    Binding {
        keys: &[Key::code(KeyCode::Tab)],
        cmd: GlobalCmd::NextPane,
        desc: "focus next pane",
        hint: None,
    },
    Binding {
        keys: &[Key::code(KeyCode::BackTab)],
        cmd: GlobalCmd::PrevPane,
        desc: "focus previous pane",
        hint: None,
    },
    Binding { keys: &[Key::ch('1')], cmd: GlobalCmd::Focus(0), desc: "focus pane 1", hint: None },
    Binding { keys: &[Key::ch('2')], cmd: GlobalCmd::Focus(1), desc: "focus pane 2", hint: None },
    Binding { keys: &[Key::ch('3')], cmd: GlobalCmd::Focus(2), desc: "focus pane 3", hint: None },
    Binding { keys: &[Key::ch('4')], cmd: GlobalCmd::Focus(3), desc: "focus pane 4", hint: None },
    Binding {
        keys: &[Key::ch('z')],
        cmd: GlobalCmd::Zoom,
        desc: "zoom the focused pane / show all",
        hint: None,
    },
    Binding {
        keys: &[Key::ctrl('r')],
        cmd: GlobalCmd::Reconnect,
        desc: "reconnect to the server now",
        hint: None,
    },
    Binding {
        keys: &[Key::ch('E')],
        cmd: GlobalCmd::Export,
        desc: "export the postmortem (Markdown) and the event log (JSON)",
        hint: None,
    },
    Binding {
        keys: &[Key::ch('V')],
        cmd: GlobalCmd::Evidence,
        desc: "evidence browser: captures, files, sha256 re-checked",
        hint: None,
    },
    Binding { keys: &[Key::ch('F')], cmd: GlobalCmd::Followup, desc: "add a follow-up", hint: None },
    Binding { keys: &[Key::ch('?')], cmd: GlobalCmd::Help, desc: "show every key", hint: Some("help") },
    Binding { keys: &[Key::ch('q'), Key::ctrl('c')], cmd: GlobalCmd::Quit, desc: "quit", hint: Some("quit") },
];

/// Commands a pane may bind. Panes share the movement ones; each adds its own variants here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneCmd {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Filter,
    CycleTag,
    ToggleTime,
    Amend,
    SortNext,
    SortPrev,
    Invert,
    Tree,
    Pause,
    Kill,
    /// Capture evidence without a signal, or capture then restart (process pane).
    Capture,
    /// Show / hide kernel threads (process pane).
    Kernel,
    /// Tick / untick (runbook step).
    Toggle,
    /// Attach (runbook).
    Attach,
    /// Run (a runbook step's command).
    Run,
    /// Back out of an opened item (runbook → list).
    Back,
    Copy,
    Page,
    Contact,
    AssignRole,
    /// Take the selected rotation's pager (contacts).
    TakePager,
}

impl PaneCmd {
    /// How far a move takes a list's selection when `height` rows are on screen (a page keeps one
    /// row of the last in view; top and bottom go as far as there are rows); None for the others.
    pub fn moves_by(self, height: usize) -> Option<isize> {
        let page = height.max(2) as isize - 1;
        Some(match self {
            PaneCmd::Down => 1,
            PaneCmd::Up => -1,
            PaneCmd::PageDown => page,
            PaneCmd::PageUp => -page,
            PaneCmd::Top => isize::MIN / 2,
            PaneCmd::Bottom => isize::MAX / 2,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_is_ignored_for_characters_but_ctrl_is_not() {
        let shifted = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(lookup(GLOBAL, &shifted), Some(GlobalCmd::Severity));
        let plain = KeyEvent::new(KeyCode::Char('S'), KeyModifiers::NONE);
        assert_eq!(lookup(GLOBAL, &plain), Some(GlobalCmd::Severity));
        let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
        assert_eq!(lookup(GLOBAL, &ctrl_n), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(GLOBAL, &ctrl_c), Some(GlobalCmd::Quit));
    }

    #[test]
    fn a_page_moves_one_row_less_than_the_height_and_at_least_one() {
        assert_eq!(PaneCmd::PageDown.moves_by(20), Some(19));
        assert_eq!(PaneCmd::PageUp.moves_by(20), Some(-19));
        // No room drawn yet (height 0 or 1): a page still moves.
        assert_eq!(PaneCmd::PageDown.moves_by(0), Some(1));
        assert_eq!(PaneCmd::Down.moves_by(0), Some(1));
        assert_eq!(PaneCmd::Open.moves_by(20), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_the_global_table() {
        let keys: Vec<Key> = GLOBAL.iter().flat_map(|b| b.keys.iter().copied()).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "{} bound twice", k.label());
        }
    }
}
