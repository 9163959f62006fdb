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
    pub const ENTER: Key = Key::code(KeyCode::Enter);
    pub const ESC: Key = Key::code(KeyCode::Esc);
    pub const TAB: Key = Key::code(KeyCode::Tab);
    pub const BACK_TAB: Key = Key::code(KeyCode::BackTab);
    pub const BACKSPACE: Key = Key::code(KeyCode::Backspace);
    pub const SPACE: Key = Key::ch(' ');
    pub const UP: Key = Key::code(KeyCode::Up);
    pub const DOWN: Key = Key::code(KeyCode::Down);
    pub const LEFT: Key = Key::code(KeyCode::Left);
    pub const RIGHT: Key = Key::code(KeyCode::Right);
    pub const HOME: Key = Key::code(KeyCode::Home);
    pub const END: Key = Key::code(KeyCode::End);
    pub const PAGE_UP: Key = Key::code(KeyCode::PageUp);
    pub const PAGE_DOWN: Key = Key::code(KeyCode::PageDown);

    pub const fn ch(c: char) -> Key {
        Key { code: KeyCode::Char(c), mods: KeyModifiers::NONE }
    }
    pub const fn ctrl(c: char) -> Key {
        Key { code: KeyCode::Char(c), mods: KeyModifiers::CONTROL }
    }
    pub const fn code(code: KeyCode) -> Key {
        Key { code, mods: KeyModifiers::NONE }
    }
    /// The function key F`n`.
    pub const fn f(n: u8) -> Key {
        Key::code(KeyCode::F(n))
    }
    /// `N` character keys in a row from `first`: `Key::chars::<9>('1')` is the digits 1 to 9.
    pub const fn chars<const N: usize>(first: char) -> [Key; N] {
        let mut keys = [Key::ch(first); N];
        let mut i = 0;
        while i < N {
            keys[i] = Key::ch(char::from_u32(first as u32 + i as u32).expect("a character"));
            i += 1;
        }
        keys
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

/// The keys of a row with one key, named so that a table row fits on a line:
/// `Binding::new(ENTER, Cmd::Open, "details")`. A row of several keys lists them,
/// `&[Key::ESC, Key::ch('q')]`.
pub const ENTER: &[Key] = &[Key::ENTER];
pub const ESC: &[Key] = &[Key::ESC];
pub const TAB: &[Key] = &[Key::TAB];
pub const BACK_TAB: &[Key] = &[Key::BACK_TAB];
pub const SPACE: &[Key] = &[Key::SPACE];
pub const UP: &[Key] = &[Key::UP];
pub const DOWN: &[Key] = &[Key::DOWN];
pub const LEFT: &[Key] = &[Key::LEFT];
pub const RIGHT: &[Key] = &[Key::RIGHT];
pub const PAGE_UP: &[Key] = &[Key::PAGE_UP];
pub const PAGE_DOWN: &[Key] = &[Key::PAGE_DOWN];

// The keys of the shared rows below: vi's keys and the arrows alike.
const VI_DOWN: &[Key] = &[Key::ch('j'), Key::DOWN];
const VI_UP: &[Key] = &[Key::ch('k'), Key::UP];
const VI_TOP: &[Key] = &[Key::ch('g'), Key::HOME];
const VI_BOTTOM: &[Key] = &[Key::ch('G'), Key::END];
const ESC_ENTER: &[Key] = &[Key::ESC, Key::ENTER];
const Q: &[Key] = &[Key::ch('q')];

impl<C: Copy> Binding<C> {
    /// A row in `?` help only; `.shown(hint)` puts it in the footer too.
    pub const fn new(keys: &'static [Key], cmd: C, desc: &'static str) -> Binding<C> {
        Binding { keys, cmd, desc, hint: None }
    }
    /// The row with a footer hint.
    pub const fn shown(self, hint: &'static str) -> Binding<C> {
        Binding { hint: Some(hint), ..self }
    }
}

/// Rows that mean the same in every table they are in, so their keys and words are written once:
/// a list moves with j/k, g/G and the arrows everywhere, a form's Tab and Esc do the same in
/// every form. `desc` names the items in `?` help; these rows are not in the footer unless
/// `shown`.
impl<C: Copy> Binding<C> {
    /// j/↓: down (the next item, a line down).
    pub const fn down(cmd: C, desc: &'static str) -> Binding<C> {
        Binding::new(VI_DOWN, cmd, desc)
    }
    /// k/↑: up (the previous item).
    pub const fn up(cmd: C, desc: &'static str) -> Binding<C> {
        Binding::new(VI_UP, cmd, desc)
    }
    /// g/Home: the top (the first item).
    pub const fn top(cmd: C, desc: &'static str) -> Binding<C> {
        Binding::new(VI_TOP, cmd, desc)
    }
    /// G/End: the bottom (the last item).
    pub const fn bottom(cmd: C, desc: &'static str) -> Binding<C> {
        Binding::new(VI_BOTTOM, cmd, desc)
    }
    /// PgDn: a page down.
    pub const fn page_down(cmd: C) -> Binding<C> {
        Binding::new(PAGE_DOWN, cmd, "page down")
    }
    /// PgUp: a page up.
    pub const fn page_up(cmd: C) -> Binding<C> {
        Binding::new(PAGE_UP, cmd, "page up")
    }
    /// Tab: a form's next field (in the footer).
    pub const fn next_field(cmd: C) -> Binding<C> {
        Binding::new(TAB, cmd, "next field").shown("next field")
    }
    /// S-Tab: a form's previous field.
    pub const fn prev_field(cmd: C) -> Binding<C> {
        Binding::new(BACK_TAB, cmd, "previous field")
    }
    /// Esc: leave a form or list without a result (in the footer).
    pub const fn cancel(cmd: C) -> Binding<C> {
        Binding::new(ESC, cmd, "cancel").shown("cancel")
    }
    /// Esc: close a view or a result (in the footer).
    pub const fn close(cmd: C) -> Binding<C> {
        Binding::new(ESC, cmd, "close").shown("close")
    }
}

/// The keys of a dialog that shows a result: Esc/Enter close it (in the footer), and q.
pub const fn close_rows<C: Copy>(cmd: C) -> [Binding<C>; 2] {
    [Binding::new(ESC_ENTER, cmd, "close").shown("close"), Binding::new(Q, cmd, "close")]
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
    Binding::new(&[Key::ch('n')], GlobalCmd::Compose, "write a note (from anywhere)").shown("note"),
    Binding::new(&[Key::ch('u')], GlobalCmd::StatusUpdate, "post a status update (internal / stakeholders)")
        .shown("update"),
    Binding::new(&[Key::ch('S')], GlobalCmd::Severity, "set severity"),
    Binding::new(&[Key::ch('s')], GlobalCmd::Status, "set status"),
    Binding::new(&[Key::ch('a')], GlobalCmd::Ack, "acknowledge the incident").shown("ack"),
    Binding::new(TAB, GlobalCmd::NextPane, "focus next pane"),
    Binding::new(BACK_TAB, GlobalCmd::PrevPane, "focus previous pane"),
    Binding::new(&[Key::ch('1')], GlobalCmd::Focus(0), "focus pane 1"),
    Binding::new(&[Key::ch('2')], GlobalCmd::Focus(1), "focus pane 2"),
    Binding::new(&[Key::ch('3')], GlobalCmd::Focus(2), "focus pane 3"),
    Binding::new(&[Key::ch('4')], GlobalCmd::Focus(3), "focus pane 4"),
    Binding::new(&[Key::ch('z')], GlobalCmd::Zoom, "zoom the focused pane / show all"),
    Binding::new(&[Key::ctrl('r')], GlobalCmd::Reconnect, "reconnect to the server now"),
    Binding::new(
        &[Key::ch('E')],
        GlobalCmd::Export,
        "export the postmortem (Markdown) and the event log (JSON)",
    ),
    Binding::new(
        &[Key::ch('V')],
        GlobalCmd::Evidence,
        "evidence browser: captures, files, sha256 re-checked",
    ),
    Binding::new(&[Key::ch('F')], GlobalCmd::Followup, "add a follow-up"),
    Binding::new(&[Key::ch('?')], GlobalCmd::Help, "show every key").shown("help"),
    Binding::new(&[Key::ch('q'), Key::ctrl('c')], GlobalCmd::Quit, "quit").shown("quit"),
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
