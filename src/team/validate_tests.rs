//! Every validation problem, with the line and field it names.

use super::*;

/// A small valid file; tests replace one line to break it. Line numbers are noted on the right.
const GOOD: &str = r#"[people.ana]
name = "Ana"
tz = "Europe/Berlin"

[people.bo]
name = "Bo"
tz = "America/New_York"

[rotations.primary]
name = "Primary"
people = ["ana", "bo"]
handoff = "09:00"
length = "1w"
tz = "Europe/Berlin"
start = 2026-01-05

[[rotations.primary.overrides]]
person = "bo"
start = 2026-02-02
end = 2026-02-09

[escalation.sev1]
levels = [
  { target = "primary", after_minutes = 5 },
  { target = "bo", after_minutes = 10 },
]

[roles]
commander = "ana"
"#;

/// `GOOD` with line `n` (1-based) replaced by `with`.
fn edit(n: usize, with: &str) -> String {
    let mut lines: Vec<&str> = GOOD.lines().collect();
    lines[n - 1] = with;
    lines.join("\n") + "\n"
}

fn problems(text: &str) -> Vec<String> {
    match load(text, "team.toml") {
        Ok(_) => vec![],
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn one(text: &str) -> String {
    let p = problems(text);
    assert_eq!(p.len(), 1, "expected one problem, got {p:#?}");
    p[0].clone()
}

#[test]
fn good_file_loads() {
    let team = load(GOOD, "team.toml").unwrap();
    assert_eq!(team.rotation("primary").unwrap().people(), ["ana", "bo"]);
    assert_eq!(team.escalation[&1].levels[0].target, Target::Rotation("primary".into()));
    assert_eq!(team.escalation[&1].levels[1].target, Target::Person("bo".into()));
}

#[test]
fn syntax_error_names_its_line() {
    let e = one(&edit(12, "handoff = \"09:00"));
    assert!(e.starts_with("team.toml:12: "), "{e}");
    assert!(!e.contains('\n'));
}

#[test]
fn a_duplicate_key_is_named() {
    let e = one(&edit(6, "name = \"Bo\"\nname = \"Bob\""));
    assert_eq!(e, "team.toml:7: duplicate key `name`");
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let e = one(&edit(6, "nmae = \"Bo\""));
    assert!(e.starts_with("team.toml:6: people.bo: unknown field `nmae`, expected one of `name`"), "{e}");
}

#[test]
fn missing_key_is_refused() {
    // The table that lacks it is named, at its header line.
    assert_eq!(one(&edit(14, "")), "team.toml:9: rotations.primary: missing field `tz`");
    let e = one(&edit(24, "  { target = \"primary\", after_minutes = -5 },"));
    assert_eq!(
        e,
        "team.toml:24: escalation.sev1.levels[0].after_minutes: -5 is not a number of minutes from 0 to 10080"
    );
    let e = one(&edit(24, "  { target = \"primary\", after_minutes = \"soon\" },"));
    assert!(e.starts_with("team.toml:24: escalation.sev1.levels.after_minutes: invalid type"), "{e}");
}

#[test]
fn fractional_waits_and_repeat_are_read_and_a_bad_repeat_is_refused() {
    let t = load(&edit(24, "  { target = \"primary\", after_minutes = 0.05 },"), "team.toml").unwrap();
    assert_eq!(t.escalation[&1].levels[0].after_ms, 3_000);
    assert_eq!(t.escalation[&1].repeat, 0);
    let e = one(&edit(23, "repeat = 12\nlevels = ["));
    assert_eq!(e, "team.toml:23: escalation.sev1.repeat: repeat must be 0 to 9, got 12");
}

#[test]
fn unknown_person_in_rotation() {
    let text = edit(
        11,
        r#"people = ["ana", "bo",
  "zed"]"#,
    );
    assert_eq!(one(&text), r#"team.toml:12: rotations.primary.people[2]: unknown person "zed""#);
}

#[test]
fn unknown_person_in_override_ladder_and_role() {
    assert_eq!(
        one(&edit(18, r#"person = "zed""#)),
        r#"team.toml:18: rotations.primary.overrides[0].person: unknown person "zed""#
    );
    assert_eq!(
        one(&edit(25, r#"  { target = "zed", after_minutes = 10 },"#)),
        r#"team.toml:25: escalation.sev1.levels[1].target: unknown person or rotation "zed""#
    );
    assert_eq!(
        one(&edit(29, r#"commander = "zed""#)),
        r#"team.toml:29: roles.commander: unknown person "zed""#
    );
}

#[test]
fn unknown_rotation_in_ladder() {
    assert_eq!(
        one(&edit(24, r#"  { target = "secondary", after_minutes = 5 },"#)),
        r#"team.toml:24: escalation.sev1.levels[0].target: unknown person or rotation "secondary""#
    );
}

#[test]
fn bad_time_zones() {
    assert_eq!(
        one(&edit(3, r#"tz = "Europe/Berlín""#)),
        r#"team.toml:3: people.ana.tz: unknown time zone "Europe/Berlín" (expected an IANA name like "Europe/Berlin")"#
    );
    assert!(
        one(&edit(14, r#"tz = "CEST+2""#))
            .starts_with("team.toml:14: rotations.primary.tz: unknown time zone")
    );
}

#[test]
fn rotation_with_no_people() {
    let text = edit(11, "people = []").replace(
        "[[rotations.primary.overrides]]\nperson = \"bo\"\nstart = 2026-02-02\nend = 2026-02-09\n",
        "",
    );
    assert_eq!(one(&text), "team.toml:11: rotations.primary.people: rotation has no people");
}

#[test]
fn overlapping_overrides() {
    let text = GOOD.replace(
        "\n[escalation.sev1]",
        "\n[[rotations.primary.overrides]]\nperson = \"ana\"\nstart = 2026-02-08T12:00:00Z\nend = 2026-02-10\n\n[escalation.sev1]",
    );
    assert_eq!(one(&text), "team.toml:22: rotations.primary.overrides[1]: overlaps overrides[0]");
}

#[test]
fn adjacent_overrides_do_not_overlap() {
    let text = GOOD.replace(
        "\n[escalation.sev1]",
        "\n[[rotations.primary.overrides]]\nperson = \"ana\"\nstart = 2026-02-09\nend = 2026-02-10\n\n[escalation.sev1]",
    );
    assert_eq!(problems(&text), Vec::<String>::new());
}

#[test]
fn override_ending_before_it_starts() {
    assert_eq!(
        one(&edit(20, "end = 2026-02-01")),
        "team.toml:20: rotations.primary.overrides[0].end: override ends at or before its start"
    );
}

#[test]
fn empty_ladder() {
    let text = GOOD.replace(
        "levels = [\n  { target = \"primary\", after_minutes = 5 },\n  { target = \"bo\", after_minutes = 10 },\n]",
        "levels = []",
    );
    assert_eq!(one(&text), "team.toml:23: escalation.sev1.levels: ladder has no levels");
}

#[test]
fn bad_handoff_times() {
    for bad in ["9am", "25:00", "09:60", "0900", "09:0"] {
        let e = one(&edit(12, &format!("handoff = \"{bad}\"")));
        assert_eq!(
            e,
            format!(
                "team.toml:12: rotations.primary.handoff: bad handoff time \"{bad}\" (expected HH:MM like \"09:00\")"
            )
        );
    }
}

#[test]
fn zero_and_bad_lengths() {
    assert_eq!(
        one(&edit(13, r#"length = "0d""#)),
        "team.toml:13: rotations.primary.length: length must be at least one day"
    );
    assert_eq!(
        one(&edit(13, r#"length = "0w""#)),
        "team.toml:13: rotations.primary.length: length must be at least one day"
    );
    assert!(
        one(&edit(13, r#"length = "2 fortnights""#))
            .starts_with("team.toml:13: rotations.primary.length: bad length")
    );
    let team = load(&edit(13, r#"length = "3d""#), "t").unwrap();
    assert_eq!(team.rotation("primary").unwrap().length_days(), 3);
}

#[test]
fn start_must_be_a_date() {
    let e = one(&edit(15, "start = 2026-01-05T09:00:00"));
    assert!(e.starts_with("team.toml:15: rotations.primary.start: expected a date like 2026-11-02"), "{e}");
}

#[test]
fn id_used_by_a_person_and_a_rotation() {
    let text = GOOD.replace("[people.bo]", "[people.primary]\nname = \"P\"\ntz = \"UTC\"\n\n[people.bo]");
    assert_eq!(one(&text), r#"team.toml:5: people.primary: "primary" is both a person and a rotation"#);
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let text = edit(7, r#"tz = "Mars/Olympus""#)
        .replace(r#"name = "Ana""#, r#"name = "A\u0000na""#)
        .replace(r#"handoff = "09:00""#, r#"handoff = "nine""#)
        .replace(r#"length = "1w""#, r#"length = "0d""#)
        .replace(r#"commander = "ana""#, r#"commander = "zed""#);
    // "zz" sorts after "ana" and "bo" but comes first in the file.
    let text = format!("[people.zz]\nname = \"Z\"\ntz = \"Nowhere\"\n\n{text}");
    let lines: Vec<usize> = load(&text, "team.toml").unwrap_err().iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 6, 11, 16, 17, 33]);
}

#[test]
fn errors_serialise_for_json_output() {
    let errors = load(&edit(29, r#"commander = "zed""#), "team.toml").unwrap_err();
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(json[0]["line"], 29);
    assert_eq!(json[0]["problem"]["kind"], "unknown_person");
    assert_eq!(format_errors(&errors), "team.toml:29: roles.commander: unknown person \"zed\"\n");
}

#[test]
fn duplicate_person_is_a_syntax_error_at_the_second_table() {
    let text = GOOD.replace("[people.bo]", "[people.ana]");
    let e = one(&text);
    assert!(e.starts_with("team.toml:5: "), "{e}");
}

#[test]
fn control_characters_are_refused_where_they_would_reach_a_terminal() {
    assert_eq!(
        one(&edit(2, r#"name = "Ana\u001b]52;c;cm0gLXJmIH4=\u0007""#)),
        "team.toml:2: people.ana.name: contains a control character (U+001B); terminal escapes are not allowed here"
    );
    let text =
        GOOD.replace("[people.bo]", "[people.\"b\\u0007o\"]\nname = \"x\"\ntz = \"UTC\"\n\n[people.bo]");
    // The error line itself shows the character escaped.
    assert!(one(&text).starts_with(r"team.toml:5: people.b\u{7}o: contains a control character (U+0007)"));
    let e = one(&edit(11, r#"people = ["ana", "\u001b[2J"]"#));
    assert_eq!(e, r#"team.toml:11: rotations.primary.people[1]: unknown person "\u{1b}[2J""#);
    assert!(!e.chars().any(char::is_control));
    let e = one(&edit(10, r#"name = "Primary\r""#));
    assert!(
        e.starts_with("team.toml:10: rotations.primary.name: contains a control character (U+000D)"),
        "{e}"
    );
}

#[test]
fn invisible_characters_are_refused_in_contact_methods() {
    // U+200B between digits: the pane would show +4930… and `c` would copy something else.
    for (c, hex) in [
        ("\\u200B", "200B"),
        ("\\u200D", "200D"),
        ("\\uFEFF", "FEFF"),
        ("\\u202E", "202E"),
        ("\\u2066", "2066"),
        ("\\u061C", "061C"),
        ("\\u2060", "2060"),
    ] {
        let e = one(&edit(
            2,
            &format!(
                r#"name = "Ana"
phone = "+49 30{c} 5555""#
            ),
        ));
        assert_eq!(
            e,
            format!(
                "team.toml:3: people.ana.phone: contains an invisible character (U+{hex}): what is copied or dialled would differ from what is shown"
            )
        );
    }
    let e = one(&edit(2, "name = \"Ana\"\nemail = \"ana\u{200b}@example.com\""));
    assert!(e.starts_with("team.toml:3: people.ana.email: contains an invisible character (U+200B)"), "{e}");
    // A name may hold a ZWJ emoji sequence: it is stripped when drawn, never copied or dialled.
    assert!(problems(&edit(2, "name = \"Ana 👩\u{200d}💻\"")).is_empty());
}

#[test]
fn errors_quoting_huge_values_stay_short() {
    let key = "k".repeat(2 << 20);
    let e = one(&edit(2, &format!("{key} = 1")));
    assert!(e.len() < 1000, "{} bytes: {}", e.len(), &e[..200]);
    assert!(e.starts_with("team.toml:2: "), "{}", &e[..200]);
    let e = one(&edit(3, &format!("tz = \"{}\"", "Z".repeat(2 << 20))));
    assert!(
        e.len() < 1000 && e.starts_with("team.toml:3: people.ana.tz: unknown time zone"),
        "{}",
        &e[..200]
    );
    let e = one(&edit(11, &format!("people = [\"ana\", \"{}\"]", "\u{1b}".repeat(1 << 20))));
    assert!(e.len() < 1000 && !e.chars().any(char::is_control), "{}", &e[..200]);
}
