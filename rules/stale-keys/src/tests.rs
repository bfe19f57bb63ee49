//! The WASM rules over hand-built events carrying the key facts the engine's ledger would give.

use tracewarden_sdk::testing::{run, run_configured};
use tracewarden_sdk::{Config, OptionValue, prelude::*};

use crate::StaleKeys;
use crate::revoked::{date, duration};

const MIN: i64 = 60_000_000_000;
const DAY: i64 = 86_400_000_000_000;
const T0: i64 = 1_773_478_800_000_000_000; // 2026-03-14T09:00:00Z

fn revoked_at(t: i64) -> KeyFact<'static> {
    KeyFact {
        key_id: "K1",
        status: KeyStatus::Inactive,
        revoked_ns: t,
        revoked_event: "rev",
        revoked_event_source: "ct.json:9",
        ..KeyFact::UNKNOWN
    }
}

fn call(method: &'static str, status: u16, t: i64, key: KeyFact<'static>) -> Event<'static> {
    EventBuilder::http(method, "/orders/o-1", status)
        .principal("alice")
        .key_id(key.key_id)
        .at_ns(t)
        .key_fact(key)
        .build()
}

fn rules(findings: &[Finding]) -> Vec<(&str, Option<Severity>, &str)> {
    findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.severity, f.resource.as_str()))
        .collect()
}

#[test]
fn uses_after_revocation_make_one_finding_with_the_window() {
    let k = revoked_at(T0);
    let findings = run::<StaleKeys>(&[
        call("GET", 200, T0 - MIN, KeyFact { revoked_ns: 0, ..k }),
        call("GET", 200, T0 + MIN, k),
        call("GET", 200, T0 + 20 * MIN, k),
    ]);
    assert_eq!(
        rules(&findings),
        [("TW-KEY-001", Some(Severity::High), "key/K1")]
    );
    assert_eq!(
        findings[0].message,
        "key `K1` was revoked at 2026-03-14T09:00:00Z and kept working: 2 successful uses after \
         it, the last 20 min 0 s after the revocation (the revocation-to-last-use window)"
    );
    let roles: Vec<_> = findings[0]
        .evidence
        .iter()
        .map(|e| (e.event_id.as_str(), e.role.as_str()))
        .collect();
    assert_eq!(roles, [("rev", "revocation"), ("e", "use"), ("e", "use")]);
}

#[test]
fn severity_grows_with_the_window_and_with_writes() {
    let k = revoked_at(T0);
    let severity = |events: &[Event<'static>]| run::<StaleKeys>(events)[0].severity;
    assert_eq!(
        severity(&[call("GET", 200, T0 + 30_000_000_000, k)]),
        Some(Severity::Low)
    );
    assert_eq!(
        severity(&[call("GET", 200, T0 + 10 * MIN, k)]),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity(&[call("PUT", 200, T0 + 10 * MIN, k)]),
        Some(Severity::High)
    );
    assert_eq!(
        severity(&[call("PUT", 200, T0 + 60 * MIN, k)]),
        Some(Severity::Critical)
    );
}

#[test]
fn the_revocations_own_second_and_refusals_are_not_uses() {
    let k = revoked_at(T0);
    let same_second = EventBuilder::db("GetItem", "orders")
        .key_id("K1")
        .at_ns(T0 + 500_000_000)
        .precision_ns(1_000_000_000)
        .key_fact(k)
        .build();
    let findings = run::<StaleKeys>(&[same_second, call("GET", 403, T0 + MIN, k)]);
    assert_eq!(rules(&findings), [("TW-KEY-005", None, "key/K1")]);
    assert_eq!(
        findings[0].message,
        "revoked key `K1` (revoked at 2026-03-14T09:00:00Z) was still tried and refused once, 1 \
         min 0 s after the revocation: someone still holds it"
    );
}

#[test]
fn session_credentials_used_after_their_parent_was_revoked() {
    let session = KeyFact {
        key_id: "ASIA1",
        status: KeyStatus::Active,
        parent_key_id: "AKIA1",
        issued_ns: T0 - 10 * MIN,
        parent_revoked_ns: T0,
        parent_revoked_event: "rev",
        parent_revoked_event_source: "ct.json:9",
        ..KeyFact::UNKNOWN
    };
    let findings = run::<StaleKeys>(&[
        call("GET", 200, T0 - MIN, session),
        call("GET", 200, T0 + 40 * MIN, session),
        // Issued after the revocation (by some other means): not this rule's concern.
        call(
            "GET",
            200,
            T0 + 41 * MIN,
            KeyFact {
                key_id: "ASIA2",
                issued_ns: T0 + MIN,
                ..session
            },
        ),
    ]);
    assert_eq!(rules(&findings), [("TW-KEY-006", None, "key/ASIA1")]);
    assert!(findings[0].message.starts_with(
        "session credentials `ASIA1`, issued at 2026-03-14T08:50:00Z with key `AKIA1`, were used \
         after that key was revoked at 2026-03-14T09:00:00Z: 1 successful use, the last 40 min"
    ));
}

#[test]
fn an_old_key_is_reported_once_and_the_policy_is_an_option() {
    let k = KeyFact {
        key_id: "K2",
        status: KeyStatus::Active,
        created_ns: T0 - 100 * DAY,
        last_used_ns: T0 - DAY,
        ..KeyFact::UNKNOWN
    };
    let events = [call("GET", 200, T0, k), call("GET", 200, T0 + MIN, k)];
    let findings = run::<StaleKeys>(&events);
    assert_eq!(rules(&findings), [("TW-KEY-003", None, "key/K2")]);
    assert_eq!(
        findings[0].message,
        "key `K2` was 100 days old when `alice` used it (policy: 90 days); created \
         2025-12-04T09:00:00Z"
    );
    let lenient = Config::from_pairs([("rotation_max_age_days", OptionValue::Integer(365))]);
    assert_eq!(run_configured::<StaleKeys>(&lenient, &events).unwrap(), []);
    // Session credentials and revoked keys are not judged on age.
    let session = KeyFact {
        parent_key_id: "AKIA1",
        ..k
    };
    assert_eq!(run::<StaleKeys>(&[call("GET", 200, T0, session)]), []);
}

#[test]
fn bad_options_are_refused_by_name() {
    let refused = |name: &str, value: OptionValue| {
        run_configured::<StaleKeys>(&Config::from_pairs([(name.to_owned(), value)]), &[])
            .unwrap_err()
    };
    assert_eq!(
        refused("rotation_max_age_days", OptionValue::Integer(0)),
        "option `rotation_max_age_days` is 0: expected at least 1"
    );
    assert_eq!(
        refused(
            "scope_rules",
            OptionValue::Texts(vec!["PUT /orders orders:write".to_owned()])
        ),
        "option `scope_rules` entry `PUT /orders orders:write`: expected \"<method or \
         operation> <path prefix or table> = <scope>\", e.g. \"PUT /orders = orders:write\""
    );
}

#[test]
fn times_are_written_plainly() {
    assert_eq!(date(T0), "2026-03-14T09:00:00Z");
    assert_eq!(date(0), "1970-01-01T00:00:00Z");
    assert_eq!(duration(250_000_000), "0.250 s");
    assert_eq!(duration(3 * DAY + 4 * 60 * MIN), "3 d 4 h");
}

#[test]
fn a_use_after_a_long_gap_is_a_dormant_key_reactivated() {
    let used = |last: i64, created: i64, t: i64| {
        call(
            "GET",
            200,
            t,
            KeyFact {
                key_id: "K3",
                status: KeyStatus::Active,
                last_used_ns: last,
                created_ns: created,
                ..KeyFact::UNKNOWN
            },
        )
    };
    let findings = run::<StaleKeys>(&[
        used(T0 - 63 * DAY, 0, T0),
        used(T0, 0, T0 + DAY),
        used(0, T0 - 50 * DAY, T0),
        used(0, 0, T0),
    ]);
    assert_eq!(
        rules(&findings),
        [
            ("TW-KEY-004", None, "key/K3"),
            ("TW-KEY-004", None, "key/K3")
        ]
    );
    assert_eq!(
        findings[0].message,
        "key `K3` was used by `alice` after 63 days without use (last used 2026-01-10T09:00:00Z)"
    );
    assert_eq!(
        findings[1].message,
        "key `K3` was used by `alice` after 50 days without use (created, never used, \
         2026-01-23T09:00:00Z)"
    );
    let patient = Config::from_pairs([("dormant_days", OptionValue::Integer(90))]);
    assert_eq!(
        run_configured::<StaleKeys>(&patient, &[used(T0 - 63 * DAY, 0, T0)]).unwrap(),
        []
    );
}
