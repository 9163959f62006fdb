//! Fewer bytes per frame on the wire: a backend wrapper that bridges short runs of unchanged cells.
//!
//! ratatui sends only the cells that changed, but moves the cursor (`ESC [ row ; col H`, 6 to 10
//! bytes) before every cell that does not follow the previous one. An idle process table changes
//! a digit here and there (`0.7` → `1.3`, `0:01.50` → `0:01.52`), so most of what it wrote was
//! cursor moves. Where the gap to the next changed cell on the same row is shorter than the move,
//! this sends the gap's cells as they already are on screen instead: the screen ends up the same,
//! in fewer bytes. It bridges only plain one-column text in the style already set, so no colour
//! change or wide character is added. Like a terminal emulator, it keeps a copy of the screen: the
//! cells drawn since the last clear, the same picture ratatui's own diff assumes.

use std::io;

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Cell, CellDiffOption};
use ratatui::layout::{Position, Size};

/// A [`Backend`] that sends what `B` would, with short same-row gaps between changed cells
/// written out instead of jumped over.
pub struct Compact<B> {
    inner: B,
    /// What the terminal shows, row-major, `size.width` per row: `None` where unknown.
    screen: Vec<Option<Cell>>,
    size: Size,
}

impl<B: Backend<Error = io::Error>> Compact<B> {
    /// Starts from a blank screen, as ratatui's first diff does (a fresh alternate screen is).
    /// Bridging only ever writes what ratatui believes is on screen, so even were it not blank,
    /// the screen would be no further from ratatui's picture than without the wrapper.
    pub fn new(inner: B) -> io::Result<Self> {
        let mut compact = Compact { inner, screen: Vec::new(), size: Size::default() };
        compact.cleared()?;
        Ok(compact)
    }

    fn at(&self, x: u16, y: u16) -> Option<usize> {
        (x < self.size.width && y < self.size.height)
            .then(|| usize::from(y) * usize::from(self.size.width) + usize::from(x))
    }

    /// The screen after a full clear: blank cells in the default style, at the terminal's size.
    fn cleared(&mut self) -> io::Result<()> {
        self.size = self.inner.size()?;
        self.screen =
            vec![Some(Cell::default()); usize::from(self.size.width) * usize::from(self.size.height)];
        Ok(())
    }

    /// The cells between `from` and `to` (exclusive) on row `y`, when sending them costs fewer
    /// bytes than moving the cursor over them and changes nothing on screen.
    fn bridge(&self, y: u16, from: u16, to: u16, style_of: &Cell) -> Option<Vec<(u16, Cell)>> {
        // `ESC [ row ; col H`, 1-based.
        let jump = 4 + digits(y + 1) + digits(to + 1);
        if usize::from(to - from) >= jump {
            return None;
        }
        (from..to)
            .map(|x| {
                let cell = self.screen[self.at(x, y)?].as_ref()?;
                plain(cell, style_of).then(|| (x, cell.clone()))
            })
            .collect()
    }
}

fn digits(n: u16) -> usize {
    n.to_string().len()
}

/// One printable ASCII column in exactly `like`'s colours and modifiers: writing it emits one byte.
fn plain(cell: &Cell, like: &Cell) -> bool {
    let s = cell.symbol().as_bytes();
    cell.diff_option == CellDiffOption::None
        && s.len() == 1
        && (0x20..0x7f).contains(&s[0])
        && cell.style() == like.style()
}

impl<B: Backend<Error = io::Error>> Backend for Compact<B> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut out: Vec<(u16, u16, Cell)> = Vec::new();
        for (x, y, cell) in content {
            if let Some((px, py, prev)) = out.last()
                && *py == y
                && x > px + 1
                // The cursor is one column past the previous cell only if it was one column wide.
                && plain(prev, prev)
                && let Some(gap) = self.bridge(y, px + 1, x, prev)
            {
                out.extend(gap.into_iter().map(|(gx, c)| (gx, y, c)));
            }
            out.push((x, y, cell.clone()));
        }
        self.inner.draw(out.iter().map(|(x, y, c)| (*x, *y, c)))?;
        for (x, y, cell) in out {
            if let Some(i) = self.at(x, y) {
                self.screen[i] = Some(cell);
            }
        }
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.screen.fill(None);
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()?;
        self.cleared()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)?;
        match clear_type {
            ClearType::All => self.cleared(),
            // Partial clears depend on where the cursor is: forget the screen rather than guess.
            _ => {
                self.screen.fill(None);
                Ok(())
            }
        }
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ratatui::Terminal;
    use ratatui::backend::CrosstermBackend;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Modifier, Style};

    use super::*;

    const W: u16 = 40;
    const H: u16 = 6;

    /// A frame drawn from `spec`: per cell a symbol (ASCII, a wide CJK one, or an accented one)
    /// and a style, so that gaps, style changes and wide characters all occur.
    fn frame(spec: &[(u8, u8)]) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, W, H));
        for (i, &(sym, style)) in spec.iter().enumerate() {
            let (x, y) = (i as u16 % W, i as u16 / W);
            let style = match style % 4 {
                0 | 1 => Style::default(),
                2 => Style::default().fg(Color::Red),
                _ => Style::default().add_modifier(Modifier::BOLD),
            };
            let text = match sym % 16 {
                0 => "界".to_string(),
                1 => "é".to_string(),
                n => ((b'0' + n % 4) as char).to_string(),
            };
            if x + 1 < W || text.len() == 1 {
                buf.set_string(x, y, text, style);
            }
        }
        buf
    }

    /// Bytes written, readable after the backend took the writer.
    #[derive(Clone, Default)]
    struct Wire(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl io::Write for Wire {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Every cell as the terminal holds it: symbol (blank when never written), colours, attributes.
    fn picture(screen: &vt100::Screen) -> Vec<String> {
        let mut out = Vec::new();
        for y in 0..H {
            for x in 0..W {
                let c = screen.cell(y, x).unwrap();
                let sym = if c.contents().is_empty() { " " } else { c.contents() };
                let attrs = (c.fgcolor(), c.bgcolor(), c.bold(), c.italic(), c.underline(), c.inverse());
                out.push(format!("{y},{x} {sym:?} {attrs:?} wide={}", c.is_wide()));
            }
        }
        out
    }

    /// crossterm's backend as is, but W x H whether or not a terminal is attached (tests in CI
    /// have none to ask).
    struct Fixed(CrosstermBackend<Wire>);

    impl Backend for Fixed {
        type Error = io::Error;
        fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(&mut self, content: I) -> io::Result<()> {
            self.0.draw(content)
        }
        fn hide_cursor(&mut self) -> io::Result<()> {
            self.0.hide_cursor()
        }
        fn show_cursor(&mut self) -> io::Result<()> {
            self.0.show_cursor()
        }
        fn get_cursor_position(&mut self) -> io::Result<Position> {
            Ok(Position::ORIGIN)
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> io::Result<()> {
            self.0.set_cursor_position(p)
        }
        fn clear(&mut self) -> io::Result<()> {
            self.0.clear()
        }
        fn clear_region(&mut self, t: ClearType) -> io::Result<()> {
            self.0.clear_region(t)
        }
        fn size(&self) -> io::Result<Size> {
            Ok(Size::new(W, H))
        }
        fn window_size(&mut self) -> io::Result<WindowSize> {
            Ok(WindowSize { columns_rows: Size::new(W, H), pixels: Size::default() })
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    /// Draws the frames through a real crossterm backend into bytes, plain or compacted; returns
    /// how many bytes, and the screen a VT100 terminal shows after reading them (text, and text
    /// with its attributes).
    fn run(frames: &[Buffer], compact: bool) -> (usize, String, Vec<String>) {
        let wire = Wire::default();
        let backend = Fixed(CrosstermBackend::new(wire.clone()));
        let draw = |f: &mut ratatui::Frame, b: &Buffer| *f.buffer_mut() = b.clone();
        if compact {
            let mut term = Terminal::new(Compact::new(backend).unwrap()).unwrap();
            for b in frames {
                term.draw(|f| draw(f, b)).unwrap();
            }
        } else {
            let mut term = Terminal::new(backend).unwrap();
            for b in frames {
                term.draw(|f| draw(f, b)).unwrap();
            }
        }
        let bytes = wire.0.borrow();
        let mut parser = vt100::Parser::new(H, W, 0);
        parser.process(&bytes);
        let screen = parser.screen();
        (bytes.len(), screen.contents(), picture(screen))
    }

    proptest! {
        /// Whatever the frames, the terminal ends on the last frame, colours included, whenever
        /// ratatui alone makes it do so (overwriting half of a wide character can leave ratatui
        /// alone with a different screen), and never receives more bytes.
        #[test]
        fn same_screen_in_no_more_bytes(
            frames in prop::collection::vec(prop::collection::vec((any::<u8>(), any::<u8>()), 0..240), 1..6),
        ) {
            let frames: Vec<Buffer> = frames.iter().map(|f| frame(f)).collect();
            let (plain_bytes, _, plain_fmt) = run(&frames, false);
            let (compact_bytes, compact_text, compact_fmt) = run(&frames, true);
            let (_, want_text, want_fmt) = run(&frames[frames.len() - 1..], false);
            if plain_fmt == want_fmt {
                prop_assert_eq!(&compact_fmt, &want_fmt, "{}\n{}", compact_text, want_text);
            }
            prop_assert!(compact_bytes <= plain_bytes, "{compact_bytes} > {plain_bytes}");
        }

        /// Without wide characters ratatui alone is exact: then the screens are equal outright.
        #[test]
        fn narrow_text_gives_the_same_screen(
            frames in prop::collection::vec(prop::collection::vec((2u8..16, any::<u8>()), 0..240), 1..6),
        ) {
            let frames: Vec<Buffer> = frames.iter().map(|f| frame(f)).collect();
            let (plain_bytes, plain_text, plain_fmt) = run(&frames, false);
            let (compact_bytes, compact_text, compact_fmt) = run(&frames, true);
            let (_, _, want_fmt) = run(&frames[frames.len() - 1..], false);
            prop_assert_eq!(&plain_fmt, &want_fmt, "{}", plain_text);
            prop_assert_eq!(&compact_fmt, &want_fmt, "{}", compact_text);
            prop_assert!(compact_bytes <= plain_bytes, "{compact_bytes} > {plain_bytes}");
        }
    }

    /// The case it exists for: a table where a few scattered digits change per refresh.
    #[test]
    fn scattered_digit_changes_cost_less() {
        let row = |cpu: &str, time: &str| format!("2543 root S {cpu}  0.0 1.0M {time} sh");
        let frames: Vec<Buffer> = [("0.7", "0:00.42"), ("1.3", "0:00.44"), ("0.0", "0:00.44")]
            .iter()
            .map(|(cpu, time)| {
                let mut b = Buffer::empty(Rect::new(0, 0, W, H));
                b.set_string(0, 2, row(cpu, time), Style::default());
                b
            })
            .collect();
        let (plain, ..) = run(&frames, false);
        let (compact, text, _) = run(&frames, true);
        assert!(compact < plain, "compact {compact} bytes vs plain {plain}");
        assert!(text.contains(&row("0.0", "0:00.44")), "{text}");
    }
}
