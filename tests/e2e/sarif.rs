//! The SARIF report through the binary: every rule fixture set's log validated by Microsoft's
//! SARIF multitool (`tools/`, installed by `scripts/install-test-tools`), with its plain rules
//! and with GitHub's ingestion rules; exact content on one fixture; byte-identical output
//! whatever the thread count and the order of the inputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{root, rule_fixture_sets, tracewarden};

/// The multitool's executable, as its npm package resolves it for this platform.
fn multitool() -> PathBuf {
    let missing = |why: String| -> ! {
        panic!(
            "the SARIF validator is not installed ({why}): run `scripts/install-test-tools` \
             (needs Node.js and npm)"
        )
    };
    let out = Command::new("node")
        .args(["-p", "require('@microsoft/sarif-multitool')"])
        .current_dir(root().join("tools"))
        .output()
        .unwrap_or_else(|e| missing(format!("cannot run node: {e}")));
    if !out.status.success() {
        missing(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_file() {
        missing(format!("`{}` is missing", path.display()));
    }
    path
}

/// One issue the validator reported.
#[derive(Debug)]
struct Issue {
    file: String,
    rule: String,
    level: String,
    message: String,
}

/// Validates `files` in one run of the multitool, with GitHub's ingestion rules (`--rule-kind
/// Gh`) or with its own; returns every result it reported, notes included. Fails when the tool
/// itself reports an error (a file it could not read, a file over its size limit).
fn validate(files: &[PathBuf], github: bool) -> Vec<Issue> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("validation.sarif");
    let mut cmd = Command::new(multitool());
    // The files come first: a list option (`--rule-kind`, `--level`) takes every value after it.
    cmd.arg("validate").args(files).arg("-o").arg(&log);
    cmd.args(["--level", "Error;Warning;Note"]);
    if github {
        cmd.args(["--rule-kind", "Gh"]);
    }
    let out = cmd.output().expect("run the SARIF multitool");
    let console = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the validator failed:\n{console}");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    let run = &log["runs"][0];
    let tool_errors: Vec<&Value> = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .map(|n| n.iter().filter(|n| n["level"] == "error").collect())
        .unwrap_or_default();
    assert!(
        tool_errors.is_empty(),
        "the validator did not run cleanly:\n{console}"
    );
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Issue {
            file: r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            rule: r["ruleId"].as_str().unwrap().to_owned(),
            // SARIF's default level.
            level: r["level"].as_str().unwrap_or("warning").to_owned(),
            message: format!(
                "{} {}",
                r["message"]["id"].as_str().unwrap_or(""),
                r["message"]["arguments"]
            ),
        })
        .collect()
}

/// `scan SET --format sarif -o FILE` with `extra` arguments; returns the log's text.
fn scan_sarif(inputs: &[&str], extra: &[&str], out: &Path) -> String {
    let out_arg = out.display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "sarif",
        "--fail-on",
        "none",
        "-o",
        &out_arg,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{inputs:?}: {}", run.stderr);
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn every_fixture_sets_sarif_log_passes_the_validator_and_githubs_ingestion_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut results = 0;
    for (i, set) in rule_fixture_sets().iter().enumerate() {
        let inputs: Vec<&str> = set.iter().map(String::as_str).collect();
        let out = dir.path().join(format!("set-{i}.sarif"));
        let log: Value = serde_json::from_str(&scan_sarif(&inputs, &[], &out)).unwrap();
        results += log["runs"][0]["results"].as_array().unwrap().len();
        files.push(out);
    }
    // Input paths relative to the working directory, as a CI job gives them (the sets above are
    // absolute paths).
    let out = dir.path().join("relative.sarif");
    scan_sarif(&["tests/fixtures/recorded/toctou"], &[], &out);
    files.push(out);
    assert!(
        results > 50,
        "the fixture sets should give results: {results}"
    );

    let report = |issues: &[&Issue]| {
        issues
            .iter()
            .map(|i| format!("{}: {} {}: {}", i.file, i.level, i.rule, i.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plain = validate(&files, false);
    // The validator reports a file it cannot deserialize with nothing at all, so every file must
    // have drawn at least one note (ours always do: no code snippets, no version control).
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            plain.iter().any(|i| i.file.ends_with(name)),
            "the validator said nothing about {name}: did it read it?"
        );
    }
    let errors: Vec<&Issue> = plain.iter().filter(|i| i.level == "error").collect();
    assert!(errors.is_empty(), "SARIF errors:\n{}", report(&errors));
    // The one warning left: the driver gives no `informationUri` (the project has no public
    // page yet).
    let warnings: Vec<&Issue> = plain
        .iter()
        .filter(|i| {
            i.level == "warning" && !i.message.starts_with("Warning_ProvideToolnformationUri")
        })
        .collect();
    assert!(
        warnings.is_empty(),
        "SARIF warnings:\n{}",
        report(&warnings)
    );

    let github = validate(&files, true);
    let problems: Vec<&Issue> = github.iter().filter(|i| i.level != "note").collect();
    assert!(
        problems.is_empty(),
        "GitHub ingestion errors and warnings:\n{}",
        report(&problems)
    );
}

#[test]
fn a_weakness_is_a_result_with_its_rule_level_and_evidence_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.sarif");
    let input = "tests/fixtures/cloudtrail/toctou-positive.json";
    let log: Value = serde_json::from_str(&scan_sarif(&[input], &[], &out)).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let summary: Vec<(&str, &str, Vec<u64>)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| {
                        l["physicalLocation"]["region"]["startLine"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect(),
            )
        })
        .collect();
    // Most severe first: the medium weakness, then the low DynamoDB hygiene finding.
    assert_eq!(
        summary,
        [
            ("TW-TOCTOU-001", "warning", vec![3, 59]),
            ("TW-DDB-001", "note", vec![59]),
        ]
    );
    let weakness = &results[0];
    let index = weakness["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "TW-TOCTOU-001");
    let artifact = &weakness["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uri"], input);
    assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
    assert_eq!(
        weakness["locations"][0]["message"]["text"]
            .as_str()
            .unwrap(),
        format!(
            "check: event {}, record 1",
            weakness["locations"][0]["properties"]["event_id"]
                .as_str()
                .unwrap()
        )
    );
    // The regions the host located: line, column, and the record's bytes.
    let regions: Vec<&serde_json::Value> = weakness["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["physicalLocation"]["region"])
        .collect();
    assert_eq!(
        regions,
        [
            &serde_json::json!({"startLine": 3, "startColumn": 5, "byteOffset": 21, "byteLength": 1954}),
            &serde_json::json!({"startLine": 59, "startColumn": 5, "byteOffset": 1981, "byteLength": 2075}),
        ]
    );
    assert_eq!(weakness["properties"]["class"], "weakness");
    assert_eq!(weakness["properties"]["occurrences"], 1);
    assert_eq!(
        weakness["partialFingerprints"]["tracewardenFingerprint/v1"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    let rule = &rules[index];
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    assert_eq!(rule["properties"]["security-severity"], "5.5");
    assert_eq!(rule["properties"]["precision"], "medium");
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(&tags[..2], ["security", "weakness"]);
    assert!(tags.contains(&"external/soc2/CC8.1"), "{tags:?}");
    assert!(
        rule["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## Fix\n\nMove the check into the write"),
        "{}",
        rule["help"]
    );
    // A complete scan; the rules that saw nothing they read say so.
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let blind: Vec<&str> = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["descriptor"]["id"] == "coverage-none")
        .map(|n| n["associatedRule"]["id"].as_str().unwrap())
        .collect();
    assert!(blind.contains(&"TW-KEY-001"), "{blind:?}");
    assert_eq!(run["properties"]["complete"], true);
}

#[test]
fn the_sarif_log_is_byte_identical_whatever_the_threads_and_the_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = ["examples/dynamodb-orders", "tests/fixtures/recorded/toctou"];
    let reversed = [inputs[1], inputs[0]];
    let one = scan_sarif(&inputs, &["--threads", "1"], &dir.path().join("one.sarif"));
    let two = scan_sarif(&inputs, &["--threads", "2"], &dir.path().join("two.sarif"));
    let back = scan_sarif(
        &reversed,
        &["--threads", "2"],
        &dir.path().join("back.sarif"),
    );
    assert!(one.contains("\"ruleId\""), "{one}");
    assert!(one == two, "--threads 1 and 2 differ");
    assert!(one == back, "the input order changes the log");
}
