//! The SARIF report on hand-built reports: exact results and rules, the limits, and what an
//! incomplete scan says.

use serde_json::{Value, json};

use sha2::Digest as _;

use super::limits::gzipped_len;
use super::*;
use crate::finding::{Evidence, Location, Site};
use crate::ingest::InputReport;
use crate::report::{Coverage, RuleRun, Summary, Tool};
use crate::rules::{Confidence, FindingClass, PackConfig, RuleFailure};

fn rule(id: &str, severity: Severity) -> RuleRun {
    RuleRun {
        id: id.into(),
        title: format!("{id} title"),
        pack: "toctou".into(),
        version: "0.3.0".into(),
        kind: "wasm",
        class: FindingClass::Incident,
        description: "A read, then a write that does not check it.".into(),
        severity,
        confidence: Confidence::High,
        owasp: vec!["API6:2023".into()],
        soc2: vec!["CC8.1".into()],
        cwe: vec!["CWE-367".into()],
        remediation: "Use a `ConditionExpression`.".into(),
        file: "toctou.wasm".into(),
        digest: "sha256:00".into(),
        status: "ok",
        events: 3,
        coverage: Coverage {
            status: CoverageStatus::Full,
            notes: Vec::new(),
        },
        options: PackConfig::default(),
        partitions: None,
    }
}

fn evidence(id: &str, source: &str, location: Option<Location>) -> Evidence {
    Evidence {
        event_id: id.into(),
        role: "use".into(),
        source: source.into(),
        location,
        time: None,
        time_ns: None,
    }
}

fn finding(rule_id: &str, severity: Severity, time_ns: i64, evidence: Vec<Evidence>) -> Finding {
    Finding {
        rule_id: rule_id.into(),
        title: format!("{rule_id} title"),
        pack: "toctou".into(),
        severity,
        confidence: Confidence::High,
        message: format!("finding at {time_ns}"),
        principal: "alice".into(),
        resource: "orders/order_id=o-1".into(),
        time: crate::time::format_rfc3339(time_ns),
        time_ns,
        owasp: vec!["API6:2023".into()],
        soc2: vec!["CC8.1".into()],
        cwe: vec!["CWE-367".into()],
        evidence,
        remediation: "Use a `ConditionExpression`.".into(),
        fingerprint: format!("{time_ns:032x}"),
        class: FindingClass::Incident,
        site: None,
        occurrences: None,
        principals: Vec::new(),
        distinct_principals: None,
        first_seen: None,
        last_seen: None,
        examples: Vec::new(),
    }
}

fn report(rules: Vec<RuleRun>, findings: Vec<Finding>) -> Report {
    Report {
        baseline: None,
        baselined: Vec::new(),
        suppressions: None,
        suppressed: Vec::new(),
        warnings: Vec::new(),
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool {
            name: "tracewarden",
            version: "0.1.0",
            contract: "tracewarden:rule@1.1.0".into(),
        },
        inputs: Vec::new(),
        rules,
        findings: findings.into(),
        summary: Summary::default(),
        rule_errors: Vec::new(),
        complete: true,
        incomplete: Vec::new(),
        working_directory: Some("/work/scan".into()),
    }
}

fn sarif(report: &Report) -> Value {
    serde_json::from_str(&render(report, &report.findings.load().unwrap())).unwrap()
}

fn at(file: &str, record: u64, line: u64, column: u64, offset: u64, length: u64) -> Location {
    Location {
        file: file.into(),
        record,
        line,
        column,
        offset,
        length,
    }
}

#[test]
fn a_finding_is_a_result_at_the_regions_of_its_evidence_records() {
    let mut f = finding(
        "TW-TOCTOU-001",
        Severity::High,
        1_700_000_000_000_000_000,
        vec![
            evidence(
                "ev-1",
                "trail.json#2",
                Some(at("trail.json", 2, 1, 812, 811, 790)),
            ),
            evidence(
                "ev-2",
                "app.jsonl:3",
                Some(at("app.jsonl", 3, 3, 1, 402, 233)),
            ),
        ],
    );
    f.evidence[0].role = "check".into();
    let log = sarif(&report(
        vec![
            rule("TW-TOCTOU-000", Severity::Low),
            rule("TW-TOCTOU-001", Severity::High),
        ],
        vec![f],
    ));
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(
        run["results"],
        json!([{
            "ruleId": "TW-TOCTOU-001",
            "ruleIndex": 1,
            "level": "error",
            "message": {"text": "finding at 1700000000000000000"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "trail.json", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 1, "startColumn": 812, "byteOffset": 811, "byteLength": 790}
                    },
                    "message": {"text": "check: event ev-1, record 2"},
                    "properties": {"event_id": "ev-1", "role": "check", "record": 2}
                },
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "app.jsonl", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 3, "startColumn": 1, "byteOffset": 402, "byteLength": 233}
                    },
                    "message": {"text": "use: event ev-2, record 3"},
                    "properties": {"event_id": "ev-2", "role": "use", "record": 3}
                }
            ],
            "partialFingerprints": {"tracewardenFingerprint/v1": "000000000000000017979cfe362a0000"},
            "properties": {
                "severity": "high",
                "confidence": "high",
                "class": "incident",
                "pack": "toctou",
                "principal": "alice",
                "resource": "orders/order_id=o-1",
                "time": "2023-11-14T22:13:20Z"
            }
        }])
    );
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["description"]["text"].is_string());
    assert_eq!(run["originalUriBaseIds"]["%SRCROOT%"].get("uri"), None);
    // Relative paths only: nothing ties the log to this machine.
    assert_eq!(run["invocations"], json!([{"executionSuccessful": true}]));
    assert_eq!(run["properties"], json!({"complete": true}));
}

#[test]
fn a_weakness_result_carries_its_occurrences() {
    let mut f = finding(
        "TW-TOCTOU-001",
        Severity::Medium,
        5,
        vec![evidence("e", "a.jsonl:1", None)],
    );
    f.class = FindingClass::Weakness;
    f.site = Some(Site::default());
    f.occurrences = Some(12);
    f.distinct_principals = Some(2);
    f.first_seen = Some("2023-11-14T22:13:20Z".into());
    f.last_seen = Some("2023-11-15T22:13:20Z".into());
    let log = sarif(&report(
        vec![rule("TW-TOCTOU-001", Severity::Medium)],
        vec![f],
    ));
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["level"], "warning");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"],
        json!({"startLine": 1})
    );
    let props = &result["properties"];
    assert_eq!(props["class"], "weakness");
    assert_eq!(props["occurrences"], 12);
    assert_eq!(props["distinct_principals"], 2);
    assert_eq!(props["first_seen"], "2023-11-14T22:13:20Z");
    assert_eq!(props["last_seen"], "2023-11-15T22:13:20Z");
}

#[test]
fn a_rule_carries_help_tags_severity_and_precision() {
    let mut r = rule("TW-TOCTOU-001", Severity::High);
    r.owasp = vec!["API1:2023".into()];
    r.cwe = vec!["CWE-639".into(), "CWE-20".into()];
    let log = sarif(&report(vec![r], Vec::new()));
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "tracewarden");
    assert_eq!(driver["version"], "0.1.0");
    assert_eq!(driver["semanticVersion"], "0.1.0");
    assert_eq!(
        driver["rules"][0],
        json!({
            "id": "TW-TOCTOU-001",
            "shortDescription": {"text": "TW-TOCTOU-001 title"},
            "fullDescription": {"text": "A read, then a write that does not check it."},
            "help": {
                "text": "A read, then a write that does not check it.\n\nFix: Use a `ConditionExpression`.\n\n\
                         Mappings: OWASP API 2023 API1:2023 (Broken Object Level Authorization); \
                         SOC 2 CC8.1 (Change management); CWE CWE-639 (Authorization Bypass Through \
                         User-Controlled Key); CWE CWE-20 (Improper Input Validation).\n\n\
                         Rule TW-TOCTOU-001 of pack toctou 0.3.0 (wasm, incident).",
                "markdown": "A read, then a write that does not check it.\n\n## Fix\n\nUse a `ConditionExpression`.\n\n\
                             ## Mappings\n\n| Framework | Id | Name |\n|---|---|---|\n\
                             | OWASP API 2023 | API1:2023 | Broken Object Level Authorization |\n\
                             | SOC 2 | CC8.1 | Change management |\n\
                             | CWE | CWE-639 | Authorization Bypass Through User-Controlled Key |\n\
                             | CWE | CWE-20 | Improper Input Validation |\n\n\
                             Rule TW-TOCTOU-001 of pack toctou 0.3.0 \\(wasm, incident\\)."
            },
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "tags": ["security", "incident", "external/cwe/cwe-639", "external/cwe/cwe-020",
                         "external/owasp-api/API1:2023", "external/soc2/CC8.1"],
                "security-severity": "8.0",
                "precision": "high",
                "severity": "high",
                "confidence": "high",
                "class": "incident",
                "pack": "toctou",
                "pack_version": "0.3.0",
                "kind": "wasm",
                "owasp": ["API1:2023"],
                "soc2": ["CC8.1"],
                "cwe": ["CWE-639", "CWE-20"],
                "status": "ok",
                "coverage": "full"
            }
        })
    );
}

#[test]
fn severities_map_to_levels_and_scores_and_tags_stop_at_twenty() {
    let table: Vec<(&str, Option<&str>)> = Severity::ALL
        .into_iter()
        .map(|s| (level(s), rules::security_severity(s)))
        .collect();
    assert_eq!(
        table,
        [
            ("note", None),
            ("note", Some("3.0")),
            ("warning", Some("5.5")),
            ("error", Some("8.0")),
            ("error", Some("9.5")),
        ]
    );
    let mut r = rule("R", Severity::Info);
    r.cwe = (1..=30).map(|n| format!("CWE-{n}")).collect();
    let tags = rules::tags(&r);
    assert_eq!(tags.len(), 20);
    assert_eq!(tags[19], "external/cwe/cwe-018");
    let log = sarif(&report(vec![r], Vec::new()));
    let props = &log["runs"][0]["tool"]["driver"]["rules"][0]["properties"];
    assert_eq!(props.get("security-severity"), None);
    assert_eq!(props["cwe"].as_array().unwrap().len(), 30);
}

#[test]
fn past_25000_results_the_most_severe_are_kept_and_the_run_says_so() {
    let mut findings: Vec<Finding> = (0..25_005)
        .map(|i| {
            finding(
                "R-LOW",
                Severity::Low,
                i,
                vec![evidence("e", "a.jsonl:1", None)],
            )
        })
        .collect();
    // The critical ones come last in report order: severity, not order, decides what stays.
    findings.extend((0..5).map(|i| {
        finding(
            "R-CRIT",
            Severity::Critical,
            100_000 + i,
            vec![evidence("e", "b.jsonl:2", None)],
        )
    }));
    // Past the limit, findings without a location are still told apart from those cut.
    findings.extend((0..2).map(|i| finding("R-LOW", Severity::Low, 200_000 + i, Vec::new())));
    let log = sarif(&report(
        vec![
            rule("R-CRIT", Severity::Critical),
            rule("R-LOW", Severity::Low),
        ],
        findings,
    ));
    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_RESULTS);
    let ids: Vec<&str> = results
        .iter()
        .take(6)
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["R-CRIT", "R-CRIT", "R-CRIT", "R-CRIT", "R-CRIT", "R-LOW"]
    );
    // Within a severity, report order: the last ten low findings are the ones left out.
    assert_eq!(
        results[MAX_RESULTS - 1]["message"]["text"],
        "finding at 24994"
    );
    let truncated = &run["properties"]["truncated"];
    assert_eq!(truncated["results_omitted"], 10);
    assert_eq!(
        truncated["reason"],
        "GitHub code scanning takes at most 25000 results per run: the least severe findings \
         were left out; the JSON report has them all"
    );
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(
        notes
            .iter()
            .map(|n| (
                n["descriptor"]["id"].as_str().unwrap(),
                n["level"].as_str().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("results-truncated", "warning"),
            ("results-unlocated", "warning")
        ]
    );
    assert_eq!(run["properties"]["unlocated"]["results_omitted"], 2);
    // Truncation is not a failed scan.
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn past_1000_evidence_records_a_result_keeps_the_first_1000_locations() {
    let evidence: Vec<Evidence> = (1..=1_003)
        .map(|n| evidence(&format!("e{n}"), &format!("a.jsonl:{n}"), None))
        .collect();
    let log = sarif(&report(
        vec![rule("R", Severity::Medium)],
        vec![finding("R", Severity::Medium, 1, evidence)],
    ));
    let result = &log["runs"][0]["results"][0];
    let locations = result["locations"].as_array().unwrap();
    assert_eq!(locations.len(), MAX_LOCATIONS);
    assert_eq!(
        locations[999]["physicalLocation"]["region"]["startLine"],
        1_000
    );
    assert_eq!(result["properties"]["locations_omitted"], 3);
    let truncated = &log["runs"][0]["properties"]["truncated"];
    assert_eq!(truncated["results_omitted"], 0);
    assert_eq!(truncated["locations_omitted"], 3);
    assert_eq!(
        log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
        "0 finding(s) and 3 evidence record(s) left out of this SARIF log: GitHub code scanning \
         takes at most 1000 locations per result: the evidence records of a finding past its \
         first 1000 were left out; the JSON report has them all"
    );
}

#[test]
fn past_the_gzip_budget_the_least_severe_results_go() {
    // Distinct, poorly compressible messages: each result costs real gzipped bytes.
    let findings: Vec<Finding> = (0..400)
        .map(|i| {
            let mut f = finding(
                "R",
                if i % 4 == 0 {
                    Severity::High
                } else {
                    Severity::Low
                },
                i,
                vec![evidence(
                    &format!("e{i}"),
                    &format!("a.jsonl:{}", i + 1),
                    None,
                )],
            );
            f.message = format!("{:x}", sha2::Sha256::digest(i.to_le_bytes()));
            f
        })
        .collect();
    let r = report(vec![rule("R", Severity::Low)], findings);
    let budget = 15_000;
    let full = render_within(&r, &r.findings.load().unwrap(), usize::MAX);
    assert!(
        gzipped_len(&full) > budget,
        "the test needs a log over the budget: {}",
        gzipped_len(&full)
    );
    let text = render_within(&r, &r.findings.load().unwrap(), budget);
    assert!(gzipped_len(&text) <= budget);
    let log: Value = serde_json::from_str(&text).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.len() > 100 && results.len() < 400,
        "{}",
        results.len()
    );
    // The 100 high findings come first and all stay.
    assert!(results.iter().take(100).all(|r| r["level"] == "error"));
    let truncated = &log["runs"][0]["properties"]["truncated"];
    assert_eq!(truncated["results_omitted"], 400 - results.len());
    assert!(
        truncated["reason"]
            .as_str()
            .unwrap()
            .contains("at most 10000000 bytes of SARIF gzipped"),
        "{truncated}"
    );
}

#[test]
fn findings_without_a_file_location_are_left_out_and_counted() {
    let log = sarif(&report(
        vec![rule("R", Severity::High)],
        vec![
            finding(
                "R",
                Severity::High,
                1,
                vec![evidence("e", "not a source", None)],
            ),
            finding("R", Severity::High, 2, Vec::new()),
            finding(
                "R",
                Severity::High,
                3,
                vec![evidence("e", "a.jsonl:4", None)],
            ),
        ],
    ));
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 1);
    assert_eq!(run["properties"]["unlocated"]["results_omitted"], 2);
    assert_eq!(run["properties"].get("truncated"), None);
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes[0]["descriptor"]["id"], "results-unlocated");
}

#[test]
fn an_incomplete_scan_is_not_a_successful_execution() {
    let mut stopped = rule("TW-B", Severity::High);
    stopped.status = "failed";
    let mut blind = rule("TW-C", Severity::High);
    blind.coverage = Coverage {
        status: CoverageStatus::None,
        notes: vec!["no DynamoDB data events".into()],
    };
    let mut partial = rule("TW-D", Severity::High);
    partial.coverage = Coverage {
        status: CoverageStatus::Partial,
        notes: vec!["one-second times".into()],
    };
    let mut r = report(
        vec![rule("TW-A", Severity::High), stopped, blind, partial],
        Vec::new(),
    );
    r.complete = false;
    r.incomplete = vec!["z".into(), "a".into()];
    r.inputs = vec![InputReport {
        path: "gone.json".into(),
        format: None,
        records: 0,
        events: 0,
        merged: 0,
        skipped: 0,
        skipped_reasons: Default::default(),
        errors: Vec::new(),
        error: Some("no such file".into()),
        named: true,
        spans: Default::default(),
    }];
    r.rule_errors = vec![RuleFailure {
        pack: "p".into(),
        file: "b.wasm".into(),
        rules: vec!["TW-B".into()],
        reason: "exceeded its CPU budget (ran out of fuel)".into(),
        events_before_failure: 7,
    }];
    let log = sarif(&r);
    let run = &log["runs"][0];
    assert_eq!(
        run["invocations"],
        json!([{
            "executionSuccessful": false,
            "toolExecutionNotifications": [
                {
                    "descriptor": {"id": "input-not-read"},
                    "level": "error",
                    "message": {"text": "`gone.json` was not read: no such file"}
                },
                {
                    "descriptor": {"id": "rule-stopped"},
                    "associatedRule": {"id": "TW-B", "index": 1},
                    "level": "error",
                    "message": {"text": "rule file `b.wasm` of pack `p` was stopped (exceeded its CPU budget (ran out of fuel)): the findings of TW-B are incomplete"}
                },
                {
                    "descriptor": {"id": "coverage-none"},
                    "associatedRule": {"id": "TW-C", "index": 2},
                    "level": "warning",
                    "message": {"text": "TW-C saw nothing it reads, so its silence means nothing: no DynamoDB data events"}
                },
                {
                    "descriptor": {"id": "coverage-partial"},
                    "associatedRule": {"id": "TW-D", "index": 3},
                    "level": "note",
                    "message": {"text": "TW-D saw part of what it needs: one-second times"}
                }
            ]
        }])
    );
    assert_eq!(
        run["properties"],
        json!({"complete": false, "incomplete": ["a", "z"]})
    );
    assert_eq!(
        run["tool"]["driver"]["rules"][1]["properties"]["status"],
        "failed"
    );
}

#[test]
fn absolute_paths_are_file_uris_and_name_the_working_directory() {
    let f = finding(
        "R",
        Severity::High,
        1,
        vec![evidence("e", "/logs/x/../trail.json#1", None)],
    );
    let log = sarif(&report(vec![rule("R", Severity::High)], vec![f]));
    let run = &log["runs"][0];
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"],
        json!({"uri": "file:///logs/trail.json"})
    );
    assert_eq!(
        run["invocations"][0]["workingDirectory"],
        json!({"uri": "file:///work/scan/"})
    );
    assert_eq!(run.get("originalUriBaseIds"), None);
}
