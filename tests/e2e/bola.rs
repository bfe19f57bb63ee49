//! The BOLA pack on traffic recorded from a real application (`tests/fixtures/recorded/bola`):
//! the Express `/users/:id/profile` seed, an order read by another user, a cross-tenant read,
//! ownership-enforced routes walked by an attacker, and a benign run of many users, an admin and a
//! public catalog; from the HAR, the OTLP spans, the DynamoDB wire log, and all three together.

use serde_json::Value;

use crate::common::{evidence_at, pack_messages, scan_fixtures, tracewarden};

fn recorded(file: &str) -> String {
    crate::common::fixture(&format!("recorded/bola/{file}"))
}

/// `(rule, severity, confidence, principal, resource, [(role, file:line)])` of the BOLA findings.
type Row = (
    String,
    String,
    String,
    String,
    String,
    Vec<(String, String)>,
);

fn bola(report: &Value) -> Vec<Row> {
    crate::common::occurrences(report)
        .iter()
        .filter(|f| f["pack"] == "bola")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            let evidence = evidence_at(f);
            (
                s("rule_id"),
                s("severity"),
                s("confidence"),
                s("principal"),
                s("resource"),
                evidence,
            )
        })
        .collect()
}

fn row(
    rule: &str,
    severity: &str,
    confidence: &str,
    principal: &str,
    resource: &str,
    evidence: &[(&str, &str)],
) -> Row {
    (
        rule.to_owned(),
        severity.to_owned(),
        confidence.to_owned(),
        principal.to_owned(),
        resource.to_owned(),
        evidence
            .iter()
            .map(|(role, at)| ((*role).to_owned(), (*at).to_owned()))
            .collect(),
    )
}

fn messages(report: &Value) -> Vec<String> {
    pack_messages(report, "bola")
}

fn scan(files: &[&str], extra: &[&str]) -> Value {
    let files: Vec<String> = files.iter().map(|f| format!("recorded/bola/{f}")).collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    scan_fixtures(&files, extra)
}

/// mallory's walk of `collection` as TW-BOLA-002 reports it: `n` attempts as evidence, the
/// first at `file:first_line`, the next ones `step` lines apart.
fn walk(collection: &str, file: &str, first_line: u32, step: u32, n: u32) -> Row {
    let mut walk = row(
        "TW-BOLA-002",
        "medium",
        "medium",
        "mallory",
        collection,
        &[],
    );
    walk.5 = (0..n)
        .map(|i| {
            (
                "attempt".to_owned(),
                format!("{file}:{}", first_line + i * step),
            )
        })
        .collect();
    walk
}

#[test]
fn the_express_seed_a_foreign_order_and_a_cross_tenant_read_are_flagged_from_the_har() {
    let report = scan(&["app.har"], &[]);
    let users = walk("users", "app.har", 1106, 102, 5);
    let orders = walk("orders", "app.har", 1883, 89, 12);
    assert_eq!(
        bola(&report),
        [
            row(
                "TW-BOLA-001",
                "high",
                "medium",
                "bob",
                "orders/1001",
                &[("access", "app.har:622"), ("ownership", "app.har:11")]
            ),
            row(
                "TW-BOLA-003",
                "high",
                "high",
                "alice",
                "users/bob",
                &[("access", "app.har:800")]
            ),
            users,
            row(
                "TW-BOLA-003",
                "high",
                "high",
                "alice",
                "tenants/globex",
                &[("access", "app.har:1616")]
            ),
            orders,
        ]
    );
    assert_eq!(
        messages(&report),
        [
            "`bob`'s `GET /orders/1001` succeeded on `orders/1001`, which belongs to `alice` \
             (tenant `acme`): the owner created it, and the id was never returned to `bob`",
            "`alice`'s `PUT /users/bob/profile` succeeded on `users/bob`: the path names user \
             `bob`, not `alice`",
            "`mallory` touched 5 distinct ids of collection `users` that are not theirs in 0.0 s \
             (5 accesses); 5 of 5 refused (401/403/404)",
            "`alice`'s `GET /tenants/globex/invoices` succeeded on `tenants/globex`: the path \
             names tenant `globex`, not `alice`'s tenant `acme`",
            "`mallory` touched 12 distinct ids of collection `orders` that are not theirs in 0.1 \
             s (12 accesses); a sequential run of 12, 1001–1012; 12 of 12 refused (401/403/404)",
        ]
    );
    // Not flagged: alice reading her own order (1002) and her own tenant's invoices, bob editing
    // his own profile, and bob refused on another tenant (v2) or on alice's order (DELETE, 403).
    for f in report["findings"].as_array().unwrap() {
        let resource = f["resource"].as_str().unwrap();
        assert!(
            !["orders/1002", "users/alice", "tenants/acme"].contains(&resource),
            "{f}"
        );
    }
}

#[test]
fn the_express_seed_is_flagged_from_otlp_spans_alone() {
    let report = scan(&["app-otlp.json"], &[]);
    let users = walk("users", "app-otlp.json", 118, 1, 5);
    let orders = walk("orders", "app-otlp.json", 126, 1, 12);
    // Spans carry routes but no bodies and no DynamoDB keys: the order bob read has no known
    // owner here, so TW-BOLA-001 needs the HAR or the wire log.
    assert_eq!(
        bola(&report),
        [
            row(
                "TW-BOLA-003",
                "high",
                "high",
                "alice",
                "users/bob",
                &[("access", "app-otlp.json:115")]
            ),
            users,
            row(
                "TW-BOLA-003",
                "high",
                "high",
                "alice",
                "tenants/globex",
                &[("access", "app-otlp.json:123")]
            ),
            orders,
        ]
    );
    // Spans record no condition: the hygiene rule does not claim writes are unconditional.
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] != "TW-DDB-001")
    );
}

#[test]
fn the_wire_log_alone_reports_at_the_data_layer_with_its_caveat() {
    let report = scan(&["app-wire.jsonl"], &[]);
    assert_eq!(
        bola(&report),
        [
            row(
                "TW-BOLA-001",
                "high",
                "low",
                "bob",
                "orders/order_id=1001",
                &[
                    ("access", "app-wire.jsonl:11"),
                    ("ownership", "app-wire.jsonl:5")
                ]
            ),
            row(
                "TW-BOLA-004",
                "medium",
                "low",
                "bob",
                "orders/order_id=1001",
                &[("access", "app-wire.jsonl:11")]
            ),
            row(
                "TW-BOLA-004",
                "medium",
                "low",
                "alice",
                "orders/order_id=1002",
                &[("access", "app-wire.jsonl:12")]
            ),
            row(
                "TW-BOLA-003",
                "high",
                "medium",
                "alice",
                "profiles/user_id=bob",
                &[("access", "app-wire.jsonl:13")]
            ),
            row(
                "TW-BOLA-003",
                "high",
                "medium",
                "alice",
                "invoices/pk=TENANT#globex",
                &[("access", "app-wire.jsonl:16")]
            ),
        ]
    );
    let messages = messages(&report);
    assert_eq!(
        messages[0],
        "`bob`'s `GetItem` succeeded on `orders/order_id=1001`, which belongs to `alice` (tenant \
         `acme`): the owner created it, and the id was never returned to `bob`; the HTTP response \
         is not in the inputs, so the API may still have refused the request"
    );
    assert_eq!(
        messages[1],
        "`GetItem` on `orders/order_id=1001` for `bob`'s request: the table is owner-scoped, but \
         this key names no owner"
    );
    // mallory's v2 walk queries the owner index with her own id: ownership in the key, no finding.
    assert!(!messages.iter().any(|m| m.contains("mallory")));
}

#[test]
fn all_three_sources_report_each_access_once() {
    let report = scan(&["app.har", "app-wire.jsonl", "app-otlp.json"], &[]);
    let rows = bola(&report);
    let ids: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.3.as_str(), r.4.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("TW-BOLA-001", "bob", "orders/1001"),
            ("TW-BOLA-004", "bob", "orders/order_id=1001"),
            ("TW-BOLA-004", "alice", "orders/order_id=1002"),
            ("TW-BOLA-003", "alice", "users/bob"),
            ("TW-BOLA-002", "mallory", "users"),
            ("TW-BOLA-003", "alice", "tenants/globex"),
            ("TW-BOLA-002", "mallory", "orders"),
        ]
    );
    // The HAR's response ids survive the merge with the span: ownership at HTTP level, cited.
    assert_eq!(rows[0].2, "medium");
    assert_eq!(
        rows[0].5,
        [
            ("access".to_owned(), "app-otlp.json:113".to_owned()),
            ("ownership".to_owned(), "app-otlp.json:107".to_owned())
        ]
    );
}

fn bola_count_by_principal(report: &Value) -> Vec<(String, String)> {
    bola(report).into_iter().map(|r| (r.0, r.3)).collect()
}

#[test]
fn benign_traffic_has_no_bola_finding_once_the_admin_is_declared() {
    let config = recorded("ownership.toml");
    for set in [
        &["benign.har"][..],
        &["benign-otlp.json"],
        &["benign-wire.jsonl"],
        &["benign.har", "benign-wire.jsonl", "benign-otlp.json"],
    ] {
        let report = scan(set, &["--rule-config", &config]);
        assert_eq!(bola(&report), [], "{set:?}");
    }
    // Undeclared, the admin's back-office reads are what they look like, and nobody else's.
    let report = scan(
        &["benign.har", "benign-wire.jsonl", "benign-otlp.json"],
        &[],
    );
    let found = bola_count_by_principal(&report);
    assert!(found.iter().all(|(_, who)| who == "admin"), "{found:?}");
    let occurrences: u64 = crate::common::weaknesses(&report)
        .iter()
        .filter(|w| w.0 == "TW-BOLA-004")
        .map(|w| w.2)
        .sum();
    let count = |rule: &str| match rule {
        // A weakness: its occurrences, folded into sites.
        "TW-BOLA-004" => occurrences as usize,
        _ => found.iter().filter(|(r, _)| r == rule).count(),
    };
    assert_eq!(
        [
            count("TW-BOLA-001"),
            count("TW-BOLA-002"),
            count("TW-BOLA-003"),
            count("TW-BOLA-004")
        ],
        [8, 1, 1, 8]
    );
}

#[test]
fn ownership_settings_and_bola_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let bad = write("bad.toml", "[ownership]\nadmin = [\"x\"]\n");
    let run = tracewarden(&["rules", "list", "--rule-config", &bad]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: `[ownership]`: unknown field `admin`, expected one of `admins`, `public`, \
         `routes`, `tables`\n"
    );
    let bad = write("range.toml", "[bola]\nrefused_percent = 120\n");
    let run = tracewarden(&["rules", "list", "--rule-config", &bad]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("option `refused_percent` is 120: expected a percentage, 0 to 100"),
        "{}",
        run.stderr
    );
    // A stricter walk: twelve refused orders still count, five refused profiles no longer do.
    let strict = write("strict.toml", "[bola]\nenumeration_min_ids = 6\n");
    let report = scan(&["app.har"], &["--rule-config", &strict]);
    let walks: Vec<String> = bola(&report)
        .into_iter()
        .filter(|r| r.0 == "TW-BOLA-002")
        .map(|r| r.4)
        .collect();
    assert_eq!(walks, ["orders"]);
}

#[test]
fn normalize_prints_the_facts_rules_see() {
    let run = tracewarden(&["normalize", "--facts", &recorded("app.har")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bobs_read: Value = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["actor"]["principal"] == "bob" && e["http"]["path"] == "/orders/1001")
        .unwrap();
    let facts = &bobs_read["facts"]["objects"][0];
    assert_eq!(facts["collection"], "orders");
    assert_eq!(facts["id"], "1001");
    assert_eq!(facts["owner"], "alice");
    assert_eq!(facts["owner_tenant"], "acme");
    assert_eq!(facts["owner_source"], "creator");
    assert_eq!(facts["relation"], "other");
    assert!(
        facts["owner_event_source"]
            .as_str()
            .unwrap()
            .ends_with("app.har:11")
    );
    // Without --facts, events are as the readers made them.
    let plain = tracewarden(&["normalize", &recorded("app.har")]);
    assert!(!plain.stdout.contains("\"facts\""));
}
