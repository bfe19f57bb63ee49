//! DynamoDB request logs written by four different SDK hooks and loggers
//! (`tests/fixtures/dialects`: botocore + python-json-logger, SDK v3 + pino, SDK v2 + winston,
//! structlog flattened into dotted keys), read without any configuration: the same scenario
//! must become the same events whatever the dialect. And what a scan says of an input it could
//! not read.

use serde_json::Value;

use crate::common::{assert_accounted, fixture, scan_json, tracewarden};

/// `(line, operation, table, key, conditional, error, outcome, principal)` of one event.
type Call = (u64, String, String, String, bool, String, String, String);

fn calls(file: &str) -> (Vec<Call>, Vec<Value>) {
    let run = tracewarden(&["normalize", &fixture(&format!("dialects/{file}"))]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls = events
        .iter()
        .map(|e| {
            let d = &e["db_operation"];
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let key = d["key"]
                .as_object()
                .map(|k| {
                    k.iter()
                        .map(|(n, v)| format!("{n}={}", v.as_str().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            (
                e["source"]["line"].as_u64().unwrap(),
                s(&d["operation"]),
                s(&d["table"]),
                key,
                d["has_condition"].as_bool().unwrap(),
                s(&d["error_code"]),
                s(&e["outcome"]),
                s(&e["actor"]["principal"]),
            )
        })
        .collect();
    (calls, events)
}

/// A call of the scenario; every error in it is a conflict (a failed condition, a cancelled
/// transaction).
fn call(
    line: u64,
    op: &str,
    table: &str,
    key: &str,
    conditional: bool,
    error: &str,
    who: &str,
) -> Call {
    let outcome = if error.is_empty() {
        "success"
    } else {
        "conflict"
    };
    (
        line,
        op.into(),
        table.into(),
        key.into(),
        conditional,
        error.into(),
        outcome.into(),
        who.into(),
    )
}

/// The scenario every app ran (README "The scenario"): lines 1–2 are `CreateTable` calls, which
/// are control plane and become no event.
fn scenario() -> Vec<Call> {
    const ORDER1: &str = "pk=CUST#alice,sk=ORDER#1";
    const ORDER2: &str = "pk=CUST#alice,sk=ORDER#2";
    const CUSTOMER: &str = "pk=CUST#alice";
    const CCF: &str = "ConditionalCheckFailedException";
    vec![
        call(3, "PutItem", "customers", CUSTOMER, true, "", "alice"),
        call(4, "PutItem", "orders", ORDER1, true, "", "alice"),
        call(5, "PutItem", "orders", ORDER1, true, CCF, "alice"),
        call(6, "GetItem", "orders", ORDER1, false, "", "alice"),
        call(7, "UpdateItem", "orders", ORDER1, false, "", "alice"),
        call(8, "UpdateItem", "orders", ORDER1, true, CCF, "mallory"),
        call(9, "GetItem", "orders", ORDER1, false, "", "bob"),
        call(10, "Query", "orders", CUSTOMER, false, "", "alice"),
        call(
            11,
            "GetItem",
            "customers",
            CUSTOMER,
            false,
            "",
            "svc-reporting",
        ),
        call(11, "GetItem", "orders", ORDER1, false, "", "svc-reporting"),
        call(12, "PutItem", "orders", ORDER2, true, "", "alice"),
        call(12, "UpdateItem", "customers", CUSTOMER, true, "", "alice"),
        call(13, "DeleteItem", "orders", ORDER2, true, CCF, "bob"),
        call(
            13,
            "UpdateItem",
            "customers",
            CUSTOMER,
            false,
            "TransactionCanceledException",
            "bob",
        ),
        call(14, "DeleteItem", "orders", ORDER1, false, "", "alice"),
    ]
}

#[test]
fn four_dialects_of_request_log_become_the_same_events() {
    for file in [
        "botocore-jsonlogger.jsonl",
        "sdkv3-pino.jsonl",
        "sdkv2-winston.jsonl",
        "structlog-ecs.jsonl",
    ] {
        let (got, events) = calls(file);
        let mut want = scenario();
        if file == "structlog-ecs.jsonl" {
            // Its hook logs a Query's key condition, not the values it names: no key.
            want[7].3 = String::new();
        }
        assert_eq!(got, want, "{file}");
        for e in &events {
            let c = &e["correlation"];
            assert!(
                c["request_id"].as_str().is_some_and(|s| s.len() == 52),
                "{file}: {e}"
            );
            assert!(
                c["app_request_id"].as_str().is_some_and(|s| !s.is_empty()),
                "{file}: {e}"
            );
            assert!(
                e["precision_ns"].as_u64().unwrap() <= 1_000_000,
                "{file}: {e}"
            );
        }
        let run = scan_json(
            &[&fixture(&format!("dialects/{file}"))],
            &["--fail-on", "none"],
        );
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        let report = run.json();
        assert_accounted(&report);
        let input = &report["inputs"][0];
        assert_eq!(input["format"], "dynamodb_wire", "{file}");
        assert_eq!(
            input["skipped_reasons"],
            serde_json::json!({"DynamoDB control-plane call": 2}),
            "{file}"
        );
    }
}

#[test]
fn forcing_the_request_log_format_reads_a_dialect_too() {
    let file = fixture("dialects/sdkv2-winston.jsonl");
    let run = tracewarden(&["normalize", "--input-format", "dynamodb_wire", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 15);
}

#[test]
fn an_input_named_on_the_command_line_that_cannot_be_read_makes_the_scan_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a log\n").unwrap();
    let notes = notes.display().to_string();
    let good = fixture("cloudtrail/toctou-negative.json");
    // Named: exit 2 even though the other input has findings; the report says why.
    let run = scan_json(&[&good, &notes], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    let incomplete = report["incomplete"][0].as_str().unwrap();
    assert!(
        incomplete.starts_with(&format!("`{notes}` was not read: unrecognized format")),
        "{incomplete}"
    );
    assert!(report["findings"].as_array().is_some_and(|f| !f.is_empty()));
    for rule in report["rules"].as_array().unwrap() {
        assert_ne!(rule["coverage"]["status"], "full", "{rule}");
    }
    // Found in a directory, a file that is no log is a warning: the scan is complete.
    std::fs::copy(&good, dir.path().join("trail.json")).unwrap();
    let run = scan_json(&[&dir.path().display().to_string()], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["complete"], true);
    assert!(
        run.stderr
            .contains("1 file(s) found in directories are no log in a known format"),
        "{}",
        run.stderr
    );
}
