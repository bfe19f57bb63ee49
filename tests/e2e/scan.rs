//! Findings on the fixtures, finding by finding, and the bundled example.

use crate::common::{
    assert_accounted, findings, fixture, parse_findings, parse_report, scan_json, tracewarden,
};

const ALICE: &str = "arn:aws:sts::111122223333:assumed-role/orders-api/alice";
const CAROL: &str = "arn:aws:sts::111122223333:assumed-role/orders-api/carol";
const OPS: &str = "arn:aws:sts::111122223333:assumed-role/admin/ops";

fn f(
    rule: &str,
    principal: &str,
    resource: &str,
    evidence: &[&str],
) -> (String, String, String, Vec<String>) {
    (
        rule.to_owned(),
        principal.to_owned(),
        resource.to_owned(),
        evidence.iter().map(|e| format!("ct:{e}")).collect(),
    )
}

#[test]
fn read_then_unconditional_update_is_flagged_by_both_hosts() {
    let run = scan_json(&[&fixture("cloudtrail/toctou-positive.json")], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        findings(&report),
        [
            f(
                "TW-DDB-001",
                ALICE,
                "orders/orderId=o-1001",
                &["94b740b4-c7d9-56cd-a77b-0320a06f6fc2"]
            ),
            f(
                "TW-TOCTOU-001",
                ALICE,
                "orders/orderId=o-1001",
                &[
                    "854ca517-b1f4-5a16-a297-62b9269a2c6e",
                    "94b740b4-c7d9-56cd-a77b-0320a06f6fc2"
                ]
            ),
        ]
    );
    let toctou = &report["findings"][1];
    assert_eq!(toctou["severity"], "medium");
    assert_eq!(toctou["confidence"], "medium");
    assert_eq!(toctou["time"], "2026-03-14T10:00:02Z");
    assert_eq!(
        toctou["owasp"],
        serde_json::json!(["API1:2023", "API6:2023"])
    );
    assert_eq!(toctou["soc2"], serde_json::json!(["CC6.1", "CC8.1"]));
    assert_eq!(toctou["cwe"], serde_json::json!(["CWE-367", "CWE-362"]));
    let path = fixture("cloudtrail/toctou-positive.json");
    assert_eq!(toctou["evidence"][0]["source"], format!("{path}:3"));
    assert_eq!(toctou["evidence"][0]["role"], "check");
    assert_eq!(toctou["evidence"][1]["role"], "use");
    assert_eq!(toctou["fingerprint"].as_str().map(str::len), Some(32));
    assert_eq!(report["summary"]["findings"], 2);
    assert_eq!(report["summary"]["by_severity"]["medium"], 1);
    assert_eq!(report["summary"]["by_severity"]["low"], 1);
    assert_eq!(report["summary"]["owasp"]["API6:2023"], 2);
    assert_accounted(&report);
}

#[test]
fn conditional_other_principal_late_and_denied_writes_are_not_toctou() {
    let run = scan_json(&[&fixture("cloudtrail/toctou-negative.json")], &[]);
    let report = run.json();
    assert_eq!(
        findings(&report),
        [f(
            "TW-DDB-001",
            ALICE,
            "orders/orderId=o-2003",
            &["ab9b3292-b6b4-5d98-b85e-4d8feeaac939"]
        )]
    );
    assert_eq!(run.code, 1);
    assert_eq!(report["inputs"][0]["records"], 8);
    assert_eq!(report["inputs"][0]["events"], 8);
}

#[test]
fn fail_on_sets_the_exit_code() {
    let input = fixture("cloudtrail/toctou-negative.json");
    assert_eq!(
        tracewarden(&["scan", "--fail-on", "medium", &input]).code,
        0
    );
    assert_eq!(tracewarden(&["scan", "--fail-on", "low", &input]).code, 1);
    assert_eq!(
        tracewarden(&[
            "scan",
            "--fail-on",
            "none",
            &fixture("cloudtrail/toctou-positive.json")
        ])
        .code,
        0
    );
    let bad = tracewarden(&["scan", "--fail-on", "severe", &input]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown severity `severe`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_bundled_example_has_findings_from_both_hosts() {
    let run = scan_json(&["examples/dynamodb-orders"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        findings(&report),
        [
            f(
                "TW-DDB-001",
                ALICE,
                "orders/orderId=o-9001",
                &["9c0c4dfa-b038-5945-8e1b-6d2c89871dca"]
            ),
            f(
                "TW-TOCTOU-001",
                ALICE,
                "orders/orderId=o-9001",
                &[
                    "8c1805a0-1766-5d45-8ecf-2de8967e7013",
                    "9c0c4dfa-b038-5945-8e1b-6d2c89871dca"
                ]
            ),
            f(
                "TW-DDB-001",
                CAROL,
                "carts/cartId=c-77",
                &["7bdbd25b-7343-53ce-9a02-1448ba39d699"]
            ),
            f(
                "TW-TOCTOU-001",
                CAROL,
                "carts/cartId=c-77",
                &[
                    "ea49c309-92c9-5892-85de-beba80238611",
                    "7bdbd25b-7343-53ce-9a02-1448ba39d699"
                ]
            ),
            f(
                "TW-DDB-001",
                OPS,
                "orders/orderId=o-9004",
                &["7a18023a-7708-5daf-ae37-99a17fe17767"]
            ),
        ]
    );
    let rules: Vec<(&str, &str, &str)> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("TW-BOLA-001", "wasm", "ok"),
            ("TW-BOLA-002", "wasm", "ok"),
            ("TW-BOLA-003", "wasm", "ok"),
            ("TW-BOLA-004", "rego", "ok"),
            ("TW-DDB-001", "wasm", "ok"),
            ("TW-KEY-001", "wasm", "ok"),
            ("TW-KEY-002", "rego", "ok"),
            ("TW-KEY-003", "wasm", "ok"),
            ("TW-KEY-004", "wasm", "ok"),
            ("TW-KEY-005", "wasm", "ok"),
            ("TW-KEY-006", "wasm", "ok"),
            ("TW-TOCTOU-001", "wasm", "ok"),
            ("TW-TOCTOU-002", "wasm", "ok"),
            ("TW-TOCTOU-003", "wasm", "ok"),
            ("TW-TOCTOU-004", "wasm", "ok"),
            ("TW-TOCTOU-005", "wasm", "ok"),
            ("TW-TOCTOU-006", "wasm", "ok")
        ]
    );
    for r in report["rules"].as_array().unwrap() {
        assert!(r["digest"].as_str().unwrap().starts_with("sha256:"), "{r}");
    }
    assert_accounted(&report);
}

#[test]
fn json_output_is_byte_identical_whatever_the_thread_count() {
    let inputs = ["examples/dynamodb-orders", &fixture("cloudtrail")];
    let one = scan_json(&inputs, &["--threads", "1"]);
    let four = scan_json(&inputs, &["--threads", "4"]);
    assert_eq!(one.code, 1);
    assert_eq!(one.stdout, four.stdout);
}

#[test]
fn normalized_events_scan_like_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let events = events.display().to_string();
    let input = fixture("cloudtrail/toctou-positive.json");
    let norm = tracewarden(&["normalize", "-o", &events, &input]);
    assert_eq!(norm.code, 0, "{}", norm.stderr);
    let text = std::fs::read_to_string(&events).unwrap();
    assert_eq!(text.lines().count(), 2);
    let from_events = findings(&scan_json(&[&events], &[]).json());
    let from_source = findings(&scan_json(&[&input], &[]).json());
    assert_eq!(from_events, from_source);
}

/// Every built-in rule has at least one fixture where it fires and one where it sees events but
/// stays quiet: the CloudTrail fixtures one by one, and the recorded TOCTOU application (HAR,
/// wire log and OTLP together: the rules that need request ids or fine times).
/// The built-in packs' source directories, whose `tests/` cases `rules test` runs.
const BUILT_IN_PACKS: [&str; 4] = [
    "rules/bola",
    "rules/dynamodb",
    "rules/stale-keys",
    "rules/toctou",
];

#[test]
fn every_built_in_rule_has_a_hit_and_a_miss_case() {
    let mut args = vec!["rules", "test", "--minimum-tests", "2", "--format", "json"];
    args.extend(BUILT_IN_PACKS);
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let reports: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let packs: Vec<&str> = reports
        .iter()
        .map(|r| r["pack"].as_str().unwrap())
        .collect();
    assert_eq!(packs, ["bola", "dynamodb", "stale-keys", "toctou"]);
    for case in reports.iter().flat_map(|r| r["cases"].as_array().unwrap()) {
        assert_eq!(case["status"], "passed", "{case}");
    }
    let coverage: Vec<&serde_json::Value> = reports
        .iter()
        .flat_map(|r| r["coverage"].as_array().unwrap())
        .collect();
    let listed = tracewarden(&["rules", "list"]);
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids.len(), 17, "{}", listed.stdout);
    for id in ids {
        let rule = coverage
            .iter()
            .find(|c| c["rule"] == id)
            .unwrap_or_else(|| panic!("no pack test covers {id}"));
        // `rules test` also fails a miss case that sends the rule no event, so each miss case
        // fed the rule events it did not report on.
        assert!(
            !rule["hits"].as_array().unwrap().is_empty(),
            "no case makes {id} fire"
        );
        assert!(
            !rule["misses"].as_array().unwrap().is_empty(),
            "no case feeds {id} without a finding"
        );
    }
}

#[test]
fn built_in_pack_tests_print_each_case_and_the_coverage() {
    let run = tracewarden(&["rules", "test", "rules/dynamodb"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "pack `dynamodb` (rules/dynamodb): 2 case(s)\n  ok    conditional-writes\n  ok    \
         unconditional-update\n  coverage (hit cases, miss cases):\n    TW-DDB-001     1 hit, 1 \
         miss\n1 pack(s), 2 case(s): 2 passed, 0 failed\n"
    );
}

#[test]
fn conditional_writes_and_denied_writes_raise_nothing() {
    let run = scan_json(&[&fixture("cloudtrail/conditional-writes.json")], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(findings(&report), []);
    let seen: Vec<(&str, u64)> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["events"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            // Rules see only events with the facts they require: objects whose owner is known
            // (the creation's own item is not yet owned), scoped tables, revoked keys.
            ("TW-BOLA-001", 3),
            ("TW-BOLA-002", 5),
            ("TW-BOLA-003", 3),
            ("TW-BOLA-004", 2),
            ("TW-DDB-001", 4),
            ("TW-KEY-001", 0),
            ("TW-KEY-002", 0),
            ("TW-KEY-003", 0),
            ("TW-KEY-004", 5),
            ("TW-KEY-005", 0),
            ("TW-KEY-006", 0),
            ("TW-TOCTOU-001", 5),
            ("TW-TOCTOU-002", 5),
            ("TW-TOCTOU-003", 4),
            ("TW-TOCTOU-004", 4),
            ("TW-TOCTOU-005", 5),
            ("TW-TOCTOU-006", 5)
        ]
    );
}

#[test]
fn several_formats_are_written_into_one_directory_and_jsonl_is_one_finding_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    let input = fixture("cloudtrail/toctou-positive.json");
    let run = tracewarden(&[
        "scan",
        "--format",
        "json,jsonl,text,markdown",
        "-o",
        &out_arg,
        "--fail-on",
        "none",
        &input,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["report.json", "report.jsonl", "report.md", "report.txt"]
    );
    let report = parse_report(&std::fs::read_to_string(out.join("report.json")).unwrap());
    let lines = parse_findings(&std::fs::read_to_string(out.join("report.jsonl")).unwrap());
    assert!(!lines.is_empty());
    assert_eq!(&lines, report["findings"].as_array().unwrap());
    let text = std::fs::read_to_string(out.join("report.txt")).unwrap();
    assert_eq!(
        text,
        tracewarden(&["scan", "--fail-on", "none", &input]).stdout
    );

    // Several formats with nowhere to put them is a usage error, before any work.
    let run = tracewarden(&["scan", "--format", "json,text", &input]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: several report formats need a directory to write them to: add `-o DIR`\n"
    );
    let run = tracewarden(&["scan", "--format", "xml", &input]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "unknown report format `xml`: expected one of text, json, jsonl, markdown, html, ocsf, sarif"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn the_markdown_report_leads_with_incidents_and_keeps_its_tables_whole() {
    let input = fixture("recorded/toctou/");
    let run = tracewarden(&["scan", "--format", "markdown", "--fail-on", "none", &input]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout;
    assert!(
        md.starts_with(
            "# tracewarden report\n\n**7 incident(s), 23 weakness site(s) (27 occurrence(s))** \
             from 58 event(s); scan complete.\n\n## Incidents (7)\n"
        ),
        "{md}"
    );
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        [
            "## Incidents (7)",
            "## Weaknesses (23 sites)",
            "## Compliance",
            "## What this scan could not see",
            "## Inputs"
        ]
    );
    // Every table row has its header's number of cells: log text cannot break a table (pipes
    // inside values are escaped, line breaks removed).
    let mut columns = 0;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = 0;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        if columns == 0 {
            columns = cells;
        }
        assert_eq!(cells, columns, "{line}");
    }
}
