//! The Markdown side of the parser: one pass over pulldown-cmark events with byte offsets.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::front_matter;
use super::ids;
use super::{Command, ErrorKind, Item, Runbook, RunbookError, Section};

/// Fence languages whose block is an item's runnable command.
const SHELL_LANGS: [&str; 3] = ["sh", "bash", "shell"];

/// Parses runbook Markdown. `path` is only for the id (its file stem) and error messages.
///
/// CRLF, CR and LF line endings parse identically. Text is kept raw (control characters included): strip
/// before drawing. All problems found are returned, each naming `path:line`.
pub fn parse(text: &str, path: &str) -> Result<Runbook, Vec<RunbookError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // CommonMark treats CRLF and a lone CR as line endings: make them all LF so lines count alike.
    let text =
        if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n") } else { text.to_string() };
    let lines = LineIndex::new(&text);

    let split = front_matter::split(&text);
    let mut errors: Vec<(usize, ErrorKind)> = split.errors;
    let unterminated = errors.iter().any(|(_, k)| matches!(k, ErrorKind::UnterminatedFrontMatter(_)));
    let body = &text[split.body_offset..];
    let walk = walk(body, split.body_offset, &lines);
    errors.extend(walk.errors);
    if walk.items.is_empty() && !unterminated {
        errors.push((1, ErrorKind::NoItems));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(line, _)| *line);
        return Err(errors
            .into_iter()
            .map(|(line, kind)| RunbookError { path: path.to_string(), line, kind })
            .collect());
    }

    let stem = stem(path);
    let id = Some(ids::slug(stem, 64)).filter(|s| !s.is_empty()).unwrap_or_else(|| "runbook".to_string());
    let title = split.front.title.or(walk.h1).unwrap_or_else(|| stem.to_string());
    Ok(Runbook {
        id,
        path: path.to_string(),
        title,
        tags: split.front.tags,
        severities: split.front.severities,
        owner: split.front.owner,
        sections: walk.sections,
        items: walk.items,
    })
}

/// The file name without directories and extension; pure string work, no filesystem.
fn stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Byte offset → 1-based line.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex(starts)
    }
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset)
    }
}

struct Walk {
    h1: Option<String>,
    sections: Vec<Section>,
    items: Vec<Item>,
    errors: Vec<(usize, ErrorKind)>,
}

/// An open list item. Each frame carries what its ancestors know, so finding the innermost task
/// and the nesting depth is O(1): scanning the stack made 100,000 nested bullets take seconds.
struct Frame {
    /// Index into `items` once its task marker is seen; None for a plain bullet.
    item: Option<usize>,
    /// Still reading the text after the checkbox.
    capturing: bool,
    /// The innermost task item among the enclosing frames.
    outer: Option<usize>,
    /// How many enclosing frames are task items.
    outer_tasks: usize,
}

impl Frame {
    fn inside(parent: Option<&Frame>) -> Frame {
        let (outer, outer_tasks) =
            parent.map_or((None, 0), |p| (p.item.or(p.outer), p.outer_tasks + usize::from(p.item.is_some())));
        Frame { item: None, capturing: false, outer, outer_tasks }
    }
}

struct Heading {
    level: HeadingLevel,
    text: String,
    line: usize,
    /// The heading that gave the runbook its title: not part of item ids.
    is_title: bool,
}

fn walk(body: &str, base: usize, lines: &LineIndex) -> Walk {
    let mut out = Walk { h1: None, sections: Vec::new(), items: Vec::new(), errors: Vec::new() };
    let mut headings: Vec<Heading> = Vec::new();
    // Heading path of every item (parallel to `out.items`), for the ids.
    let mut paths: Vec<Vec<String>> = Vec::new();
    // Set when a heading was seen since the last item: the next item opens a new section.
    let mut section_dirty = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut heading_buf: Option<(HeadingLevel, String, usize)> = None;
    let mut code: Option<(String, String, usize)> = None; // (lang, text, line)
    // The item a shell block right after a top-level list attaches to.
    let mut after_list: Option<usize> = None;
    // Item count when the current top-level list started: only a list with tasks links a block.
    let mut list_start_items = 0;

    let opts = Options::ENABLE_TASKLISTS;
    for (ev, range) in Parser::new_ext(body, opts).into_offset_iter() {
        let line = lines.line(base + range.start);
        // Anything but a code block between a list's end and a shell block breaks the link.
        let keeps_after =
            matches!(ev, Event::Start(Tag::CodeBlock(_)) | Event::End(TagEnd::CodeBlock) | Event::Text(_))
                || code.is_some();
        if stack.is_empty() && !keeps_after && !matches!(ev, Event::End(TagEnd::List(_))) {
            after_list = None;
        }
        match ev {
            Event::Start(Tag::Heading { level, .. }) => heading_buf = Some((level, String::new(), line)),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text, hline)) = heading_buf.take() {
                    let text = collapse(&text);
                    while headings.last().is_some_and(|h| h.level >= level) {
                        headings.pop();
                    }
                    let is_title = level == HeadingLevel::H1 && out.h1.is_none();
                    if is_title {
                        out.h1 = Some(text.clone());
                    }
                    headings.push(Heading { level, text, line: hline, is_title });
                    section_dirty = true;
                }
            }
            Event::Start(Tag::Item) => {
                if let Some(i) = detail_target(&stack) {
                    push_break(&mut out.items[i].detail);
                }
                let frame = Frame::inside(stack.last());
                stack.push(frame);
            }
            Event::TaskListMarker(checked) => {
                let depth = stack.last().map_or(0, |f| f.outer_tasks);
                if section_dirty {
                    let (heading, level, hline) = headings
                        .last()
                        .map_or((String::new(), 0, line), |h| (h.text.clone(), h.level as u8, h.line));
                    let start = out.items.len();
                    out.sections.push(Section { heading, level, line: hline, items: start..start });
                    section_dirty = false;
                }
                let section = out.sections.len() - 1;
                if let Some(frame) = stack.last_mut() {
                    frame.item = Some(out.items.len());
                    frame.capturing = true;
                }
                paths.push(headings.iter().filter(|h| !h.is_title).map(|h| h.text.clone()).collect());
                out.items.push(Item {
                    id: String::new(),
                    section,
                    text: String::new(),
                    detail: String::new(),
                    depth,
                    line,
                    checked_in_file: checked,
                    command: None,
                });
                if let Some(s) = out.sections.last_mut() {
                    s.items.end = out.items.len();
                }
            }
            Event::End(TagEnd::Item) => {
                if let Some(Frame { item: Some(i), .. }) = stack.pop() {
                    out.items[i].text = collapse(&out.items[i].text);
                    out.items[i].detail = tidy(&out.items[i].detail);
                    // A box with nothing to do: ticking it would record nothing anyone can read.
                    if out.items[i].text.is_empty() {
                        out.errors.push((out.items[i].line, ErrorKind::EmptyItem));
                    }
                }
            }
            Event::End(TagEnd::List(_)) => {
                if stack.is_empty() && out.items.len() > list_start_items {
                    after_list = Some(out.items.len() - 1);
                }
                end_capture(&mut stack);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                end_capture(&mut stack);
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_lowercase()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new(), line));
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((lang, script, cline)) = code.take() else { continue };
                if !SHELL_LANGS.contains(&lang.as_str()) {
                    if stack.is_empty() {
                        after_list = None;
                    }
                    continue;
                }
                let target = match detail_target(&stack) {
                    Some(i) => Some(i),
                    None if stack.is_empty() => after_list,
                    None => None,
                };
                if let Some(i) = target {
                    let item = &mut out.items[i];
                    match &item.command {
                        Some(first) => out.errors.push((
                            cline,
                            ErrorKind::DuplicateCommand { item_line: item.line, first_line: first.line },
                        )),
                        None => item.command = Some(Command { lang, script, line: cline }),
                    }
                }
            }
            Event::Start(Tag::List(_)) => {
                if stack.is_empty() {
                    list_start_items = out.items.len();
                }
                end_capture(&mut stack);
            }
            Event::Start(Tag::BlockQuote(_) | Tag::Table(_)) => end_capture(&mut stack),
            Event::Start(Tag::Paragraph) => {
                // A later paragraph inside a task item is detail: separate it from what came before.
                if let Some(i) = detail_target(&stack) {
                    push_break(&mut out.items[i].detail);
                }
            }
            Event::End(TagEnd::Paragraph) => end_capture(&mut stack),
            Event::Code(t) => {
                // Keep the backticks: the drawer shows that this part is literal.
                let t = format!("`{t}`");
                match heading_buf.as_mut() {
                    Some((_, buf, _)) => buf.push_str(&t),
                    None => push_text(&mut out.items, &stack, &t),
                }
            }
            Event::Text(t) | Event::InlineHtml(t) | Event::Html(t) => {
                if let Some((_, buf, _)) = code.as_mut() {
                    buf.push_str(&t);
                } else if let Some((_, buf, _)) = heading_buf.as_mut() {
                    buf.push_str(&t);
                } else {
                    push_text(&mut out.items, &stack, &t);
                }
            }
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                push_text(&mut out.items, &stack, &t)
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, buf, _)) = heading_buf.as_mut() {
                    buf.push(' ');
                } else if let Some(i) = capture_target(&stack) {
                    out.items[i].text.push(' ');
                } else if let Some(i) = detail_target(&stack) {
                    // Wrapped prose reflows in the drawer; only a hard break (two spaces, `\`) stays.
                    let hard = matches!(ev, Event::HardBreak);
                    out.items[i].detail.push(if hard { '\n' } else { ' ' });
                }
            }
            _ => {}
        }
    }

    let mut item_ids: Vec<String> =
        out.items.iter().zip(&paths).map(|(item, path)| ids::base_id(path, &item.text)).collect();
    ids::disambiguate(&mut item_ids);
    for (item, id) in out.items.iter_mut().zip(item_ids) {
        item.id = id;
    }
    out
}

/// The innermost open item, if it is a task still reading its own text.
fn capture_target(stack: &[Frame]) -> Option<usize> {
    stack.last().filter(|f| f.capturing).and_then(|f| f.item)
}

/// The innermost task item, for prose that is not its own text.
fn detail_target(stack: &[Frame]) -> Option<usize> {
    stack.last().and_then(|f| f.item.or(f.outer))
}

fn end_capture(stack: &mut [Frame]) {
    if let Some(f) = stack.last_mut() {
        f.capturing = false;
    }
}

fn push_text(items: &mut [Item], stack: &[Frame], t: &str) {
    if let Some(i) = capture_target(stack) {
        items[i].text.push_str(t);
    } else if let Some(i) = detail_target(stack) {
        // A plain bullet inside a task starts a new line of detail.
        let d = &mut items[i].detail;
        if stack.last().is_some_and(|f| f.item.is_none()) && (d.is_empty() || d.ends_with('\n')) {
            d.push_str("- ");
        }
        d.push_str(t);
    }
}

fn push_break(s: &mut String) {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims each line and drops empty ones.
fn tidy(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}
