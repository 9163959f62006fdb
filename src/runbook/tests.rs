//! Parser and progress tests: edge cases of real-world runbook Markdown.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn ok(text: &str) -> Runbook {
    match parse(text, "runbooks/test-book.md") {
        Ok(rb) => rb,
        Err(errs) => panic!("unexpected errors: {errs:#?}"),
    }
}

fn errs(text: &str) -> Vec<String> {
    match parse(text, "rb/bad.md") {
        Ok(rb) => panic!("expected errors, parsed {rb:#?}"),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

const FULL: &str = r#"+++
title = "Host CPU saturation"
tags = ["cpu", "host"]
severity = [1, 2]
owner = "sre"
+++

# CPU runbook

Some intro prose.

## Triage

- [ ] Check load average
  ```sh
  uptime
  ```
- [x] Find the top consumers
  Look at the *first* few lines.

  ```bash
  ps -eo pid,pcpu,comm --sort=-pcpu | head
  ```

## Mitigate

- [ ] Decide whether to restart the service
"#;

#[test]
fn parses_front_matter_sections_items_and_commands() {
    let rb = ok(FULL);
    assert_eq!(rb.id, "test-book");
    assert_eq!(rb.path, "runbooks/test-book.md");
    assert_eq!(rb.title, "Host CPU saturation");
    assert_eq!(rb.tags, ["cpu", "host"]);
    assert_eq!(rb.severities, [Severity::new(1).unwrap(), Severity::new(2).unwrap()]);
    assert_eq!(rb.owner.as_deref(), Some("sre"));
    let heads: Vec<_> =
        rb.sections.iter().map(|s| (s.heading.as_str(), s.level, s.line, s.items.clone())).collect();
    assert_eq!(heads, [("Triage", 2, 12, 0..2), ("Mitigate", 2, 25, 2..3)]);
    let items: Vec<_> =
        rb.items.iter().map(|i| (i.text.as_str(), i.line, i.section, i.checked_in_file)).collect();
    assert_eq!(
        items,
        [
            ("Check load average", 14, 0, false),
            ("Find the top consumers Look at the first few lines.", 18, 0, true),
            ("Decide whether to restart the service", 27, 1, false),
        ]
    );
    let cmd = rb.items[0].command.as_ref().unwrap();
    assert_eq!((cmd.lang.as_str(), cmd.script.as_str(), cmd.line), ("sh", "uptime\n", 15));
    let cmd = rb.items[1].command.as_ref().unwrap();
    assert_eq!(cmd.lang, "bash");
    assert_eq!(cmd.script, "ps -eo pid,pcpu,comm --sort=-pcpu | head\n");
    assert!(rb.items[2].command.is_none());
    assert!(rb.items[0].id.starts_with("triage--check-load-average-"), "{}", rb.items[0].id);
    assert!(rb.applies_to(Severity::new(2).unwrap()));
    assert!(!rb.applies_to(Severity::new(3).unwrap()));
    assert_eq!(rb.section_items(1).len(), 1);
    assert!(rb.section_items(7).is_empty());
}

#[test]
fn yaml_like_front_matter_forms() {
    let text = "---\n# a comment\ntitle: \"Disk full: root\"\ntags: [disk, 'storage, local']\nseverity: 2\nowner: ops-team # who\n---\n- [ ] Look\n";
    let rb = ok(text);
    assert_eq!(rb.title, "Disk full: root");
    assert_eq!(rb.tags, ["disk", "storage, local"]);
    assert_eq!(rb.severities, [Severity::new(2).unwrap()]);
    assert_eq!(rb.owner.as_deref(), Some("ops-team"));

    let text =
        "---\ntitle: Plain title: with colon\ntags:\n  - a\n  - b\nseverity: [SEV3, sev1]\n...\n- [ ] Look\n";
    let rb = ok(text);
    assert_eq!(rb.title, "Plain title: with colon");
    assert_eq!(rb.tags, ["a", "b"]);
    assert_eq!(rb.severities, [Severity::new(1).unwrap(), Severity::new(3).unwrap()]);
    assert_eq!(rb.items[0].line, 8);
}

#[test]
fn title_falls_back_to_first_h1_then_file_stem() {
    let rb = parse("## Not this\n- [ ] a\n# The Title\n# Second H1\n- [ ] b\n", "x/y.md").unwrap();
    assert_eq!(rb.title, "The Title");
    let rb = parse("- [ ] a\n", "some/dir/Disk Full.md").unwrap();
    assert_eq!((rb.title.as_str(), rb.id.as_str()), ("Disk Full", "disk-full"));
    let rb = parse("- [ ] a\n", "").unwrap();
    assert_eq!((rb.title.as_str(), rb.id.as_str()), ("", "runbook"));
    let rb = parse("- [ ] a\n", r"C:\books\mem.oom.md").unwrap();
    assert_eq!(rb.id, "mem-oom");
}

#[test]
fn items_above_the_first_heading_form_an_untitled_section() {
    let rb = ok("- [ ] first\n\n# Title\n\n- [ ] second\n");
    let heads: Vec<_> = rb.sections.iter().map(|s| (s.heading.as_str(), s.level)).collect();
    assert_eq!(heads, [("", 0), ("Title", 1)]);
    // The title heading is not part of ids: renaming the runbook keeps every tick.
    let renamed = ok("- [ ] first\n\n# Another title\n\n- [ ] second\n");
    assert_eq!(rb.items[1].id, renamed.items[1].id);
}

#[test]
fn headings_without_items_are_not_sections() {
    let rb = ok("# T\n## Background\nprose\n## Empty\n### Deeper empty\n## Steps\n- [ ] do\n## Trailing\n");
    assert_eq!(rb.sections.len(), 1);
    assert_eq!(rb.sections[0].heading, "Steps");
    assert_eq!(rb.items[0].section, 0);
}

#[test]
fn nested_lists() {
    let text = "\
## S
- [ ] parent
  - plain note under parent
  - [ ] child task
    - [x] grandchild
  - another note
- plain top bullet
  - [ ] task under a plain bullet
1. [ ] ordered task
";
    let rb = ok(text);
    let got: Vec<_> = rb.items.iter().map(|i| (i.text.as_str(), i.depth, i.line)).collect();
    assert_eq!(
        got,
        [
            ("parent", 0, 2),
            ("child task", 1, 4),
            ("grandchild", 2, 5),
            ("task under a plain bullet", 0, 8),
            ("ordered task", 0, 9),
        ]
    );
    assert_eq!(rb.items[0].detail, "- plain note under parent\n- another note");
    assert!(rb.items[2].checked_in_file);
    assert_eq!(rb.sections[0].items, 0..5);
}

#[test]
fn loose_items_keep_first_paragraph_as_text_and_the_rest_as_detail() {
    let text = "- [ ] Drain the node\n\n  Only if traffic\n  can move.\n\n  Check the LB first,\\\n  then drain.\n\n- [ ] Next\n";
    let rb = ok(text);
    assert_eq!(rb.items[0].text, "Drain the node");
    assert_eq!(rb.items[0].detail, "Only if traffic can move.\nCheck the LB first,\nthen drain.");
    assert_eq!(rb.items[1].text, "Next");
}

#[test]
fn code_blocks_nested_following_or_ignored() {
    let text = "\
## A
- [ ] nested
  ```shell
  df -h
  ```
- [ ] followed

```sh
du -xsh /var/log
```

- [ ] not followed

Some prose breaks the link.

```sh
echo orphan
```

- [ ] other language
  ```python
  print(1)
  ```
- [ ] indented code is not a command

      uptime
";
    let rb = ok(text);
    let cmds: Vec<_> = rb.items.iter().map(|i| i.command.as_ref().map(|c| c.script.as_str())).collect();
    assert_eq!(cmds, [Some("df -h\n"), Some("du -xsh /var/log\n"), None, None, None]);
    assert_eq!(rb.items[1].command.as_ref().unwrap().line, 8);
}

#[test]
fn inline_code_keeps_its_backticks() {
    let rb = ok("## Check `df`\n- [ ] Run `df -h` and *read* it\n\n  Then `du`.\n");
    assert_eq!(rb.sections[0].heading, "Check `df`");
    assert_eq!(rb.items[0].text, "Run `df -h` and read it");
    assert_eq!(rb.items[0].detail, "Then `du`.");
}

#[test]
fn a_following_block_attaches_to_the_last_item_above_it() {
    let rb = ok("- [ ] parent\n  - [ ] child\n\n```bash\nfree -m\n```\n");
    assert!(rb.items[0].command.is_none());
    assert_eq!(rb.items[1].command.as_ref().unwrap().script, "free -m\n");
}

#[test]
fn a_block_after_a_list_without_tasks_is_not_a_command() {
    let rb = ok("- [ ] task\n\nProse.\n\n- plain bullet\n\n```sh\nuptime\n```\n");
    assert!(rb.items[0].command.is_none());
    // Nor one after a quote that holds a task list.
    let rb = ok("> - [ ] quoted task\n\n```sh\nuptime\n```\n");
    assert!(rb.items[0].command.is_none());
}

#[test]
fn two_commands_for_one_item_is_an_error() {
    let e = errs("- [ ] a\n  ```sh\n  uptime\n  ```\n  ```sh\n  w\n  ```\n");
    assert_eq!(
        e,
        [
            "rb/bad.md:5: a second shell block for the item on line 1 (first on line 2): put the commands in one block"
        ]
    );
    let e = errs("- [ ] a\n\n```sh\nuptime\n```\n```sh\nw\n```\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("rb/bad.md:6: a second shell block"), "{e:?}");
}

#[test]
fn an_empty_item_is_an_error_naming_its_line() {
    let e = errs("- [ ] a\n- [ ]\n- [x]   \n");
    assert_eq!(
        e,
        [
            "rb/bad.md:2: an empty checklist item: say what the step is after `- [ ]`",
            "rb/bad.md:3: an empty checklist item: say what the step is after `- [ ]`"
        ]
    );
}

#[test]
fn crlf_parses_identically_to_lf() {
    let lf = ok(FULL);
    let crlf = ok(&FULL.replace('\n', "\r\n"));
    assert_eq!(lf, crlf);
    let yaml = "---\r\ntitle: T\r\n---\r\n## S\r\n- [ ] a\r\n  ```sh\r\n  uptime\r\n  ```\r\n";
    assert_eq!(ok(yaml), ok(&yaml.replace("\r\n", "\n")));
    // Errors too.
    assert_eq!(errs("+++\r\nnope = 1\r\n+++\r\n"), errs("+++\nnope = 1\n+++\n"));
}

#[test]
fn a_byte_order_mark_does_not_hide_front_matter() {
    assert_eq!(ok("\u{feff}+++\ntitle = \"T\"\n+++\n- [ ] a\n").title, "T");
}

#[test]
fn front_matter_errors_name_the_line() {
    // TOML syntax error on file line 3.
    let e = errs("+++\ntitle = \"ok\"\ntags = [\"a\",\n+++\n- [ ] a\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("rb/bad.md:3: malformed front matter: "), "{e:?}");
    assert!(!e[0].contains('\n'));

    let e = errs("+++\ntitle = \"T\"\n\nowners = \"x\"\nseverity = 7\n+++\n- [ ] a\n");
    assert_eq!(
        e,
        [
            "rb/bad.md:4: unknown front-matter key `owners` (expected one of: title, tags, severity, owner)",
            "rb/bad.md:5: bad severity 7: expected 1 to 4 (1 is worst), or a list of them like [1, 2]",
        ]
    );

    let e = errs(
        "---\ntitle: T\nthis line has no colon\n  nested: map\nseverity: [1, \"SEV9\"]\ntitle: again\n---\n- [ ] a\n",
    );
    assert_eq!(
        e,
        [
            "rb/bad.md:3: malformed front matter: expected `key: value`, got `this line has no colon`",
            "rb/bad.md:4: malformed front matter: indented line: nested values are not supported (use `key: value` or `key: [a, b]`)",
            "rb/bad.md:5: bad severity \"SEV9\": expected 1 to 4 (1 is worst), or a list of them like [1, 2]",
            "rb/bad.md:6: front-matter key `title` is given twice",
        ]
    );

    let e = errs("---\ntags: [a, b\nseverity: []\ntitle: 3.5x\nowner: \"\"\n---\n- [ ] a\n");
    assert_eq!(
        e,
        [
            "rb/bad.md:2: malformed front matter: a `[` list without its closing `]` on the same line",
            "rb/bad.md:3: bad severity [] (an empty list): expected 1 to 4 (1 is worst), or a list of them like [1, 2]",
            "rb/bad.md:5: front-matter key `owner` must be a non-empty string",
        ]
    );
    assert_eq!(errs("+++\ntitle = true\nseverity = 1.5\n+++\n- [ ] a\n").len(), 2);
    assert_eq!(
        errs("+++\nseverity = 0\n+++\n- [ ] a\n"),
        ["rb/bad.md:2: bad severity 0: expected 1 to 4 (1 is worst), or a list of them like [1, 2]"]
    );
}

#[test]
fn unterminated_front_matter_and_no_items() {
    assert_eq!(
        errs("+++\ntitle = \"x\"\n- [ ] a\n"),
        ["rb/bad.md:1: front matter opened with `+++` on line 1 is never closed (expected a `+++` line)"]
    );
    assert_eq!(errs("---\ntitle: x\n").len(), 1);
    assert_eq!(
        errs("# Just prose\n\n- a plain bullet\n- [] not a task\n"),
        ["rb/bad.md:1: no checklist items: a runbook needs at least one `- [ ] step`"]
    );
    assert_eq!(errs("").len(), 1);
    // Both a front-matter error and no items: both reported, in line order.
    let e = errs("+++\nfoo = 1\n+++\nprose\n");
    assert_eq!(e.len(), 2);
    assert!(e[0].starts_with("rb/bad.md:1: no checklist items"), "{e:?}");
    assert!(e[1].starts_with("rb/bad.md:2: unknown front-matter key `foo`"), "{e:?}");
}

#[test]
fn error_messages_stay_on_one_line_with_control_characters() {
    let e = errs("+++\n\"a\\nb\\u001b[2J\" = 1\n+++\n- [ ] x\n");
    assert_eq!(e.len(), 1);
    assert!(!e[0].contains('\n') && !e[0].contains('\u{1b}'), "{e:?}");
}

#[test]
fn control_characters_in_text_are_kept_raw() {
    let text = "# Ti\u{1b}]0;pwned\u{7}tle\n## Sec\u{1b}[31mred\n- [ ] run \u{1b}[2J now\n  ```sh\n  printf '\\033[1m'\u{1b}[0m\n  ```\n";
    let rb = ok(text);
    assert_eq!(rb.title, "Ti\u{1b}]0;pwned\u{7}tle");
    assert_eq!(rb.sections[0].heading, "Sec\u{1b}[31mred");
    assert_eq!(rb.items[0].text, "run \u{1b}[2J now");
    assert_eq!(rb.items[0].command.as_ref().unwrap().script, "printf '\\033[1m'\u{1b}[0m\n");
    // And the drawer's sanitizer makes it safe.
    assert_eq!(crate::incident::sanitize::strip_controls(&rb.items[0].text), "run  now");
}

#[test]
fn duplicate_items_get_numbered_ids() {
    let rb = ok("## Verify\n- [ ] Load is normal\n- [ ] Load is normal\n## Other\n- [ ] Load is normal\n");
    let ids: Vec<_> = rb.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids[1], format!("{}-2", ids[0]));
    assert_ne!(ids[2], ids[0]);
    assert!(ids[2].starts_with("other--load-is-normal-"));
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 3);
}

#[test]
fn same_heading_under_different_parents_gives_different_ids() {
    let rb = ok("## Mitigate CPU\n### Verify\n- [ ] ok\n## Mitigate memory\n### Verify\n- [ ] ok\n");
    assert_ne!(rb.items[0].id, rb.items[1].id);
    assert!(!rb.items[1].id.ends_with("-2"), "{}", rb.items[1].id);
}

#[test]
fn ids_survive_inserting_above_and_editing_another_item() {
    let before = "\
# Disk full
## Triage
- [ ] See which filesystem is full
  ```sh
  df -h
  ```
- [ ] Find the biggest directories
## Clean up
- [ ] Rotate logs
- [ ] Remove old core dumps
";
    let after = "\
+++
owner = \"storage\"
+++
# Disk full
Read this first.
## Triage
- [ ] Page the storage on-call if it is the data volume
- [ ] See which filesystem is full
  ```sh
  df -hT
  ```
- [ ] Find the biggest directories under /var
## Clean up
- [ ] Check inode usage too
- [x] Rotate logs
- [ ] Remove old core dumps
";
    let a = ok(before);
    let b = ok(after);
    let id = |rb: &Runbook, text: &str| rb.items.iter().find(|i| i.text == text).unwrap().id.clone();
    // Untouched items (even with a changed command, file tick or position) keep their ids.
    for text in ["See which filesystem is full", "Rotate logs", "Remove old core dumps"] {
        assert_eq!(id(&a, text), id(&b, text), "{text}");
    }
    // The edited item is a different step.
    let old = id(&a, "Find the biggest directories");
    assert!(b.item(&old).is_none());
    // Ticks carry over: the stale one is reported, progress counts the rest.
    let ticked: BTreeSet<String> = a.items.iter().map(|i| i.id.clone()).collect();
    assert_eq!(a.progress(&ticked), Progress { done: 4, total: 4 });
    assert_eq!(b.progress(&ticked), Progress { done: 3, total: 6 });
    assert_eq!(b.stale_checks(&ticked), [old.as_str()]);
}

#[test]
fn progress_per_runbook_and_section() {
    use crate::incident::state::ChecklistView;
    let rb = ok(FULL);
    let view = |runbook: &str, item: &str, checked| ChecklistView {
        runbook: runbook.into(),
        item: item.into(),
        checked,
        at: chrono::DateTime::UNIX_EPOCH,
        by: "ana".into(),
    };
    let checklist = vec![
        view("test-book", &rb.items[0].id, true),
        view("test-book", &rb.items[1].id, false),
        view("other-book", &rb.items[2].id, true),
    ];
    let checked = checked_ids(&rb.id, &checklist);
    assert_eq!(checked.len(), 1);
    assert_eq!(rb.progress(&checked), Progress { done: 1, total: 3 });
    assert_eq!(rb.progress(&checked).to_string(), "1/3");
    let per: Vec<_> =
        rb.section_progress(&checked).into_iter().map(|(s, p)| (s.heading.as_str(), p)).collect();
    assert_eq!(
        per,
        [("Triage", Progress { done: 1, total: 2 }), ("Mitigate", Progress { done: 0, total: 1 })]
    );
    let all: BTreeSet<&str> = rb.items.iter().map(|i| i.id.as_str()).collect();
    assert!(rb.progress(&all).is_complete());
    assert!(rb.stale_checks(&all).is_empty());
}

#[test]
fn every_error_is_one_line_naming_path_and_line() {
    let inputs = ["+++\nx\n+++\n", "---\n:\n---\n", "+++\n", "---\n- a\n---\n", "nothing"];
    for input in inputs {
        for e in errs(input) {
            assert!(e.starts_with("rb/bad.md:"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Inserting a new item anywhere and rewording another never changes the other items' ids.
    #[test]
    fn ids_survive_unrelated_edits(
        texts in proptest::collection::btree_set("[a-z]{1,6}( [a-z]{1,6}){0,3}", 2..12),
        insert_at in any::<prop::sample::Index>(),
        edit in any::<prop::sample::Index>(),
    ) {
        let texts: Vec<String> = texts.into_iter().collect();
        let render = |items: &[String]| {
            let half = items.len() / 2;
            let mut md = String::from("# T\n## First\n");
            for (i, t) in items.iter().enumerate() {
                if i == half {
                    md.push_str("\n## Second\n\nSome prose.\n\n");
                }
                md.push_str(&format!("- [ ] {t}\n"));
            }
            md
        };
        let before = parse(&render(&texts), "p.md").unwrap();
        let edited = edit.index(texts.len());
        let mut after_texts = texts.clone();
        after_texts[edited] = format!("{} (reworded)", texts[edited]);
        after_texts.insert(insert_at.index(texts.len() + 1), "NEW STEP".to_string());
        let after = parse(&render(&after_texts), "p.md").unwrap();
        for item in &before.items {
            let same = after.items.iter().find(|a| a.text == item.text);
            match same {
                // Moving across the section boundary is a heading change: a new id is right.
                Some(a) if a.section == item.section => prop_assert_eq!(&a.id, &item.id),
                Some(_) => {}
                None => prop_assert_eq!(&item.text, &texts[edited]),
            }
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse(&text, "p.md");
    }

    /// Markdown-ish input built from the syntax the parser cares about, to reach deep paths.
    #[test]
    fn parsing_structured_noise_never_panics_and_ids_are_unique(
        parts in proptest::collection::vec(prop_oneof![
            Just("+++\n"), Just("---\n"), Just("title = \"t\"\n"), Just("tags: [a, \"b\n"),
            Just("severity: [1, 9]\n"), Just("# H\n"), Just("## S\n"), Just("- [ ] a\n"),
            Just("  - [x] b\n"), Just("    - [ ] c\n"), Just("- plain\n"), Just("```sh\n"),
            Just("```\n"), Just("  ```bash\n"), Just("uptime\n"), Just("\n"), Just("\r\n"),
            Just("> quote\n"), Just("1. [ ] n\n"), Just("\u{1b}[2J"), Just("text"),
        ], 0..40)
    ) {
        let text: String = parts.concat();
        match parse(&text, "p.md") {
            Ok(rb) => {
                let ids: BTreeSet<_> = rb.items.iter().map(|i| &i.id).collect();
                prop_assert_eq!(ids.len(), rb.items.len());
                prop_assert!(!rb.items.is_empty());
                for (i, s) in rb.sections.iter().enumerate() {
                    prop_assert!(!s.items.is_empty());
                    prop_assert!(rb.items[s.items.clone()].iter().all(|it| it.section == i));
                }
            }
            Err(errs) => {
                prop_assert!(!errs.is_empty());
                for e in errs {
                    prop_assert!(!e.to_string().contains('\n'));
                }
            }
        }
        let lf = text.replace('\r', "");
        prop_assert_eq!(parse(&lf, "p.md"), parse(&lf.replace('\n', "\r\n"), "p.md"));
        prop_assert_eq!(parse(&lf, "p.md"), parse(&lf.replace('\n', "\r"), "p.md"));
    }
}

#[test]
fn runbooks_for_the_incident_severity_sort_first() {
    let book = |name: &str, sev: &str| parse(&format!("+++\n{sev}\n+++\n- [ ] a\n"), name).unwrap();
    let mut books = vec![
        book("zeta.md", "severity = [3]"),
        book("any.md", ""),
        book("beta.md", "severity = [1, 2]"),
        book("alpha.md", "severity = 2"),
    ];
    sort_for_severity(&mut books, Severity::new(2).unwrap());
    let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["alpha", "beta", "any", "zeta"]);
}

#[test]
fn a_catalog_keeps_good_files_reports_bad_ones_and_refuses_duplicate_ids() {
    let files = [
        ("local/disk-full.md", "- [ ] local step\n"),
        ("local/broken.md", "+++\nseverity = 9\n+++\n- [ ] a\n"),
        ("data/Disk Full.md", "- [ ] shared step\n"),
        ("data/cpu.md", "- [ ] b\n"),
    ];
    let cat = catalog(files);
    let ids: Vec<_> = cat.books.iter().map(|b| (b.id.as_str(), b.path.as_str())).collect();
    assert_eq!(ids, [("disk-full", "local/disk-full.md"), ("cpu", "data/cpu.md")]);
    let errs: Vec<_> = cat.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        [
            "local/broken.md:2: bad severity 9: expected 1 to 4 (1 is worst), or a list of them like [1, 2]",
            "data/Disk Full.md:1: runbook id `disk-full` is already taken by local/disk-full.md: rename one of the files",
        ]
    );
}

#[test]
fn deep_nesting_parses_with_the_right_depths() {
    // 100,000 nested bullets on one line: the parser keeps what each level needs on its frame, so
    // this is linear (it used to scan the whole stack per item). Speed: examples/bench_runbook_depth.
    let text = format!("# Deep\n\n{}[ ] bottom\n", "- ".repeat(100_000));
    let rb = parse(&text, "deep.md").unwrap();
    assert_eq!(rb.items.len(), 1);
    assert_eq!((rb.items[0].text.as_str(), rb.items[0].depth), ("bottom", 0));
    let text = "# T\n\n- [ ] a\n  - plain\n    - [ ] b\n      - note under b\n        - [ ] c\n";
    let rb = parse(text, "t.md").unwrap();
    let got: Vec<_> = rb.items.iter().map(|i| (i.text.as_str(), i.depth, i.detail.as_str())).collect();
    assert_eq!(got, [("a", 0, "- plain"), ("b", 1, "- note under b"), ("c", 2, "")]);
}
