//! The end of an incident in the TUI, headless: `F` adds a follow-up, choosing `resolved` asks for
//! the resolution (with the warnings), `E` writes both exports and says where, and the status
//! composer sets the status with the update and offers the configured templates.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::tests::{Harness, sample};
use crate::incident::{Audience, EventKind, FollowupStatus, Priority, Status, fold};

fn kinds_after(h: &Harness, before: usize) -> Vec<EventKind> {
    h.stored().into_iter().skip(before).map(|e| e.kind).collect()
}

#[test]
fn f_adds_a_follow_up_with_owner_priority_and_ticket() {
    let mut h = sample("default");
    let before = h.stored().len();
    h.key(KeyCode::Char('F'));
    assert!(h.text(80, 24).contains("Follow-up (work for after the incident)"), "{}", h.text(80, 24));
    // Enter with no text says what is missing and records nothing.
    h.key(KeyCode::Enter);
    assert!(h.text(80, 24).contains("say what must be done first"));
    h.chars("add canary auto-abort on 5xx").key(KeyCode::Tab).chars("bo").key(KeyCode::Tab).chars("OPS-123");
    h.key(KeyCode::F(2)).key(KeyCode::F(2)).key(KeyCode::F(2)); // p2 → p3 → p0 → p1
    h.key(KeyCode::Enter);
    let kinds = kinds_after(&h, before);
    assert_eq!(
        kinds,
        [EventKind::FollowupAdded {
            text: "add canary auto-abort on 5xx".into(),
            owner: Some("bo".into()),
            priority: Priority::P1,
            ticket: Some("OPS-123".into()),
        }]
    );
    assert!(h.app.popups.is_empty());
    let st = fold(&h.stored()).unwrap();
    assert_eq!(st.followups[0].status, FollowupStatus::Open);
}

#[test]
fn choosing_resolved_asks_for_the_resolution_and_records_it() {
    let mut h = sample("default");
    let before = h.stored().len();
    h.key(KeyCode::Char('s'));
    // The status list: investigating, identified, monitoring, resolved.
    h.key(KeyCode::Char('G')).key(KeyCode::End).key(KeyCode::Enter);
    let screen = h.text(100, 30);
    assert!(screen.contains("Resolve the incident"), "{screen}");
    assert!(kinds_after(&h, before).is_empty(), "nothing recorded before the resolution is typed");
    h.key(KeyCode::Enter);
    assert!(h.text(100, 30).contains("type the resolution"));
    h.chars("rolled back pay-svc to v1.4.1").key(KeyCode::Enter);
    let kinds = kinds_after(&h, before);
    assert_eq!(
        kinds,
        [
            EventKind::ResolutionRecorded { text: "rolled back pay-svc to v1.4.1".into() },
            EventKind::StatusSet { status: Status::Resolved }
        ]
    );
    assert!(h.app.notice.as_ref().is_some_and(|n| n.0.contains("E exports")), "{:?}", h.app.notice);
    // Esc on the dialog leaves the incident open.
    let mut h = sample("default");
    let before = h.stored().len();
    h.key(KeyCode::Char('s')).key(KeyCode::End).key(KeyCode::Enter).chars("x").key(KeyCode::Esc);
    assert!(kinds_after(&h, before).is_empty());
}

#[test]
fn e_writes_the_postmortem_and_the_json_and_shows_where() {
    let mut h = sample("default");
    h.key(KeyCode::Char('E'));
    let (msg, is_error) = h.app.notice.clone().expect("a notice");
    assert!(!is_error, "{msg}");
    let dir = h.dir.path().join("exports");
    let short = &h.app.incident().unwrap().to_string()[..8];
    let md = dir.join(format!("postmortem-{short}.md"));
    let json = dir.join(format!("incident-{short}.json"));
    assert_eq!(msg, format!("exported {} and {}", md.display(), json.display()));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# Postmortem: ") && text.contains("## Action items"), "{text}");
    assert!(std::fs::read_to_string(&json).unwrap().contains("\"events\""));
    // An export dir that cannot be made is a visible error, not a claim.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, "a file where the dir should be").unwrap();
    h.key(KeyCode::Char('E'));
    let (msg, is_error) = h.app.notice.clone().unwrap();
    assert!(is_error && msg.starts_with("export failed in"), "{msg}");
}

#[test]
fn the_status_composer_sets_the_status_and_offers_templates() {
    let mut h = sample("default");
    h.app.composer.templates =
        (Some("{severity} {title}: {status}.".into()), Some("We are looking into {title}.".into()));
    let before = h.stored().len();
    h.key(KeyCode::Char('u'));
    h.key(KeyCode::Tab); // stakeholders
    h.key_mod(KeyCode::Char('t'), KeyModifiers::CONTROL);
    h.key(KeyCode::F(2)).key(KeyCode::F(2)); // unchanged → investigating → identified
    assert!(h.text(100, 30).contains(" identified "), "{}", h.text(100, 30));
    h.key(KeyCode::Enter);
    let kinds = kinds_after(&h, before);
    let title = fold(&h.stored()).unwrap().title;
    assert_eq!(
        kinds,
        [
            EventKind::StatusSet { status: Status::Identified },
            EventKind::StatusUpdatePosted {
                audience: Audience::Stakeholders,
                text: format!("We are looking into {title}."),
            }
        ]
    );
    // The templates outlive the reset after a save; no template for an audience says so.
    h.app.composer.templates.0 = None;
    h.key(KeyCode::Char('u')).key_mod(KeyCode::Char('t'), KeyModifiers::CONTROL);
    assert!(h.app.composer.error.as_deref().is_some_and(|e| e.contains("no template")));
    assert!(h.app.composer.templates.1.is_some());
}
