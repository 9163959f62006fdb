//! A realistic SEV1 incident with every kind of event, at fixed times: the data of the TUI's
//! snapshot tests and benchmark (public so `examples/` can use it).

use chrono::{DateTime, Duration, Utc};

use crate::incident::{Audience, Event, EventKind, Role, Severity, Status, Tag};

/// When the sample incident opens.
pub fn opened_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T03:02:00Z").map(|t| t.to_utc()).unwrap_or_default()
}

/// The sample incident's events, in time order; the first is `opened` (its id is the incident).
pub fn sev1_incident() -> Vec<Event> {
    let t0 = opened_at();
    let sev = |n| Severity::new(n).unwrap_or(Severity::ALL[0]);
    let open = Event::open(
        t0,
        "ana@db-01",
        "Checkout API returning 500s".into(),
        sev(2),
        Some("Error rate on /checkout above 30% since 02:58 UTC.".into()),
    );
    let id = open.incident;
    let mut events = vec![open];
    let mut at = |mins: i64, secs: i64, who: &str, kind: EventKind| {
        let ev = Event::new(id, t0 + Duration::minutes(mins) + Duration::seconds(secs), who, kind);
        let ev_id = ev.id;
        events.push(ev);
        ev_id
    };
    let note = |text: &str, tag: Tag| EventKind::Note { text: text.into(), tag };
    at(
        0,
        40,
        "pager",
        EventKind::Paged {
            person: "ana".into(),
            method: "sms".into(),
            level: Some(1),
            ok: true,
            outcome: "delivered".into(),
            dedup_key: None,
            cycle: None,
        },
    );
    at(1, 5, "ana@db-01", EventKind::Acknowledged {});
    at(1, 30, "ana@db-01", EventKind::RoleAssigned { role: Role::Commander, person: "ana".into() });
    at(2, 10, "ana@db-01", note("Grafana: p99 latency 8s on checkout-api, all 3 pods", Tag::Finding));
    at(3, 0, "ana@db-01", EventKind::SeveritySet { severity: sev(1) });
    at(3, 20, "ana@db-01", note("Customers cannot pay: raising to SEV1", Tag::Decision));
    at(
        4,
        0,
        "pager",
        EventKind::Paged {
            person: "bo".into(),
            method: "phone".into(),
            level: Some(2),
            ok: false,
            outcome: "no answer".into(),
            dedup_key: None,
            cycle: None,
        },
    );
    at(
        4,
        30,
        "ana@db-01",
        EventKind::ContactAttempted {
            person: "chen".into(),
            method: "slack".into(),
            outcome: "joining in 5 min".into(),
        },
    );
    at(
        5,
        0,
        "ana@db-01",
        EventKind::RunbookAttached {
            runbook: "postgres-connections".into(),
            title: "Postgres connection exhaustion".into(),
        },
    );
    at(
        6,
        15,
        "ana@db-01",
        EventKind::CommandRun {
            runbook: "postgres-connections".into(),
            item: "count-conns".into(),
            command: "psql -c 'select count(*) from pg_stat_activity'".into(),
            exit_code: Some(0),
            output_excerpt: " count\n-------\n   498\n(1 row)".into(),
            evidence: None,
        },
    );
    at(
        6,
        40,
        "ana@db-01",
        EventKind::ChecklistItemSet {
            runbook: "postgres-connections".into(),
            item: "count-conns".into(),
            checked: true,
        },
    );
    at(
        7,
        0,
        "ana@db-01",
        note("498 of 500 connections used; most idle in transaction from report-worker", Tag::Finding),
    );
    at(8, 10, "chen@laptop", EventKind::RoleAssigned { role: Role::Comms, person: "chen".into() });
    at(
        9,
        0,
        "chen@laptop",
        EventKind::StatusUpdatePosted {
            audience: Audience::Stakeholders,
            text: "Checkout is failing for most customers. We are on it; next update 03:40.".into(),
        },
    );
    at(10, 30, "ana@db-01", EventKind::StatusSet { status: Status::Identified });
    at(11, 0, "ana@db-01", note("report-worker deploy at 02:55 changed the pool size to 400", Tag::Finding));
    at(
        11,
        45,
        "ana@db-01",
        EventKind::EvidenceCaptured {
            path: "evidence/report-worker-4121.txt".into(),
            sha256: "9f2c1e7a55b0d3c8e4a1f6b2d9c0e8a7f1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9".into(),
            bytes: 48213,
            what: "report-worker (pid 4121) status, fds, sockets".into(),
        },
    );
    at(
        12,
        30,
        "ana@db-01",
        EventKind::ProcessSignalled {
            pid: 4121,
            start_time: 81234567,
            name: "report-worker".into(),
            user: "reports".into(),
            cmdline: "/usr/bin/report-worker --pool 400 --queue nightly".into(),
            signal: "TERM".into(),
            reason: "holding 400 idle connections".into(),
            outcome: "exited after 2s".into(),
            evidence: Some("evidence/report-worker-4121.txt".into()),
        },
    );
    let amend_target =
        at(13, 0, "ana@db-01", note("Stopped report-worker; connections dropping", Tag::Action));
    at(
        13,
        30,
        "ana@db-01",
        EventKind::Amended {
            target: amend_target,
            text: "Stopped report-worker (pid 4121); connections dropping fast".into(),
        },
    );
    at(14, 0, "chen@laptop", note("Error rate down to 4% and falling", Tag::Note));
    at(15, 0, "bo@home", note("sorry, was driving. Reading the timeline now", Tag::Note));
    at(16, 0, "ana@db-01", note("Roll back report-worker to v2.3.1 (pool 20)", Tag::Change));
    at(
        17,
        20,
        "ana@db-01",
        EventKind::CommandRun {
            runbook: "postgres-connections".into(),
            item: "verify".into(),
            command: "curl -sf https://checkout.internal/healthz".into(),
            exit_code: Some(22),
            output_excerpt: "curl: (22) The requested URL returned error: 503".into(),
            evidence: None,
        },
    );
    at(18, 0, "ana@db-01", note("healthz 503 is the old LB check; app itself healthy", Tag::Finding));
    at(19, 0, "ana@db-01", EventKind::StatusSet { status: Status::Monitoring });
    at(
        20,
        0,
        "chen@laptop",
        EventKind::StatusUpdatePosted {
            audience: Audience::Internal,
            text: "Checkout recovered at 03:20; monitoring for 30 min.".into(),
        },
    );
    at(21, 0, "ana@db-01", note("Keep report-worker off until the pool limit has a guard", Tag::Decision));
    at(22, 0, "bo@home", note("I'll own the follow-up: connection limit per service", Tag::Action));
    at(23, 0, "ana@db-01", EventKind::SeveritySet { severity: sev(2) });
    events
}

/// A long incident for the benchmark: the sample followed by `n` notes a few seconds apart.
pub fn long_incident(n: usize) -> Vec<Event> {
    let mut events = sev1_incident();
    let id = events[0].incident;
    let start = opened_at() + Duration::hours(1);
    let tags = Tag::ALL;
    for i in 0..n {
        let who = ["ana@db-01", "chen@laptop", "bo@home"][i % 3];
        let text = format!("observation {i}: queue depth {} on shard {}", (i * 37) % 1000, i % 16);
        events.push(Event::new(
            id,
            start + Duration::seconds(i as i64 * 3),
            who,
            EventKind::Note { text, tag: tags[i % tags.len()] },
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::fold;

    #[test]
    fn the_sample_has_every_kind_and_folds() {
        let events = sev1_incident();
        let kinds: std::collections::BTreeSet<&str> = events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds.len(), 15, "{kinds:?}");
        let st = fold(&events).unwrap();
        assert_eq!(st.severity.get(), 2);
        assert_eq!(st.status, Status::Monitoring);
        assert!(st.notes.iter().any(|n| n.amended_at.is_some()));
        assert!(events.len() >= 30, "{}", events.len());
    }
}
