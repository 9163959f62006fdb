//! Where things go on screen, as a pure function of the size and the panes that exist. Render and
//! mouse handling share it, so a click lands on what is drawn.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the UI is replaced by a message.
pub const MIN_SIZE: (u16, u16) = (60, 16);
/// From this size on, several panes are shown at once (2x2).
pub const GRID_SIZE: (u16, u16) = (160, 40);

/// The screen's regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    /// A tab bar when one pane is shown but several exist.
    pub tabs: Option<Rect>,
    /// (pane index, area) of every pane drawn.
    pub panes: Vec<(usize, Rect)>,
    pub footer: Rect,
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1
}

/// Lays out `n` panes: a grid when there are several and room for them, else the focused pane
/// alone with a tab bar (when there is more than one).
pub fn screen(area: Rect, n: usize, focus: usize, zoomed: bool) -> Screen {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let grid = n >= 2 && !zoomed && area.width >= GRID_SIZE.0 && area.height >= GRID_SIZE.1;
    if grid {
        let rows = n.div_ceil(2);
        let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(body);
        let mut panes = Vec::with_capacity(n);
        for (r, row) in row_areas.iter().enumerate() {
            let in_row = (n - r * 2).min(2);
            let cols = Layout::horizontal(vec![Constraint::Ratio(1, in_row as u32); in_row]).split(*row);
            for (c, col) in cols.iter().enumerate() {
                panes.push((r * 2 + c, *col));
            }
        }
        return Screen { header, tabs: None, panes, footer };
    }
    let (tabs, body) = if n > 1 {
        let [t, b] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
        (Some(t), b)
    } else {
        (None, body)
    };
    let panes = if n == 0 { Vec::new() } else { vec![(focus.min(n - 1), body)] };
    Screen { header, tabs, panes, footer }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pane_fills_the_body_without_tabs() {
        let s = screen(Rect::new(0, 0, 200, 50), 1, 0, false);
        assert_eq!(s.tabs, None);
        assert_eq!(s.panes, vec![(0, Rect::new(0, 1, 200, 48))]);
    }

    #[test]
    fn several_panes_grid_when_big_and_tabs_when_small_or_zoomed() {
        let big = Rect::new(0, 0, 200, 50);
        let s = screen(big, 4, 2, false);
        assert_eq!(s.panes.len(), 4);
        assert_eq!(s.panes[3].1, Rect::new(100, 25, 100, 24));
        let z = screen(big, 4, 2, true);
        assert_eq!(z.panes.len(), 1);
        assert_eq!(z.panes[0].0, 2);
        assert!(z.tabs.is_some());
        let small = screen(Rect::new(0, 0, 80, 24), 3, 1, false);
        assert_eq!(small.panes, vec![(1, Rect::new(0, 2, 80, 21))]);
        let three = screen(big, 3, 0, false);
        assert_eq!(three.panes[2].1.width, 200);
    }
}
