//! Running the binary and reading its JSON report. Every report and JSON Lines finding read
//! here is validated against the published JSON Schema (`docs/schema/report.schema.json`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture under `tests/fixtures`.
pub fn fixture(rel: &str) -> String {
    root()
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout as the JSON report, validated against the published schema.
    pub fn json(&self) -> Value {
        let report = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert_valid_report(&report);
        report
    }
}

/// A JSON report's text (a `report.json`), parsed and validated against the published schema.
pub fn parse_report(text: &str) -> Value {
    let report = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{text}"));
    assert_valid_report(&report);
    report
}

/// A JSON Lines report's text, each line parsed and validated as the schema's `finding`.
pub fn parse_findings(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            let finding = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a line is not JSON ({e}):\n{line}"));
            let errors = schema_errors(finding_validator(), &finding);
            assert!(errors.is_empty(), "{}\n{line}", errors.join("\n"));
            finding
        })
        .collect()
}

/// The published JSON Schema of the JSON report.
pub fn report_schema() -> Value {
    let path = root().join("docs/schema/report.schema.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A draft 2020-12 validator of `schema`, with `format` checked (`date-time`).
pub fn compile_schema(schema: &Value) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("invalid JSON Schema: {e}"))
}

/// The report schema's validator, compiled once.
pub fn report_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| compile_schema(&report_schema()))
}

/// A validator of one finding (a JSON Lines line): the report schema's `#/$defs/finding`.
pub fn finding_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let mut schema = report_schema();
        let defs = schema["$defs"].take();
        compile_schema(&serde_json::json!({
            "$schema": schema["$schema"],
            "$ref": "#/$defs/finding",
            "$defs": defs,
        }))
    })
}

/// Every error of `instance` against `validator`, as `<instance path>: <error>`.
pub fn schema_errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// A deliberate fault put into a valid document, to prove that a schema rejects it.
pub type Fault = fn(&mut Value);

/// Asserts that `report` is valid against the published schema.
pub fn assert_valid_report(report: &Value) {
    let errors = schema_errors(report_validator(), report);
    assert!(
        errors.is_empty(),
        "the report does not match docs/schema/report.schema.json:\n{}",
        errors.join("\n")
    );
}

/// The component cache every run of the tests shares (`TRACEWARDEN_CACHE_DIR`): in the target
/// directory, never the user's own. Most runs read the built-in components from it, as a user's
/// second run does; `cache.rs` tests the cache itself in directories of its own.
pub const CACHE_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/tracewarden-cache");

/// The `tracewarden` binary as a command, with the tests' component cache.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracewarden"));
    command.env("TRACEWARDEN_CACHE_DIR", CACHE_DIR);
    command
}

/// Runs `tracewarden` with `args` from the workspace root.
pub fn tracewarden(args: &[&str]) -> Run {
    let out = command()
        .args(args)
        .current_dir(root())
        .output()
        .expect("run tracewarden");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `scan --format json` over `inputs` with extra args; returns the run.
pub fn scan_json(inputs: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    tracewarden(&args)
}

/// `(rule_id, principal, resource, [evidence event ids])`.
pub type FindingRow = (String, String, String, Vec<String>);

/// The `rules[]` entry of rule `id` in a JSON report.
pub fn rule_run<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["rules"]
        .as_array()
        .expect("a report's `rules` array")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not among the report's rules"))
}

/// `(rule_id, principal, resource, [evidence event ids])` of every incident and of every
/// weakness occurrence the report lists as an example (all of them while a site has at most
/// three), ordered by time, rule and resource.
pub fn findings(report: &Value) -> Vec<FindingRow> {
    let ids = |evidence: &Value| -> Vec<String> {
        evidence
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut out: Vec<(i64, FindingRow)> = Vec::new();
    for f in report["findings"].as_array().expect("findings array") {
        let rule = f["rule_id"].as_str().unwrap().to_owned();
        if f["class"] == "weakness" {
            let examples = f["examples"].as_array().unwrap();
            assert!(
                examples.len() as u64 == f["occurrences"].as_u64().unwrap().min(3),
                "{f}"
            );
            for e in examples {
                out.push((
                    e["time_ns"].as_i64().unwrap(),
                    (
                        rule.clone(),
                        e["principal"].as_str().unwrap().to_owned(),
                        e["resource"].as_str().unwrap().to_owned(),
                        ids(&e["evidence"]),
                    ),
                ));
            }
        } else {
            out.push((
                f["time_ns"].as_i64().unwrap(),
                (
                    rule,
                    f["principal"].as_str().unwrap().to_owned(),
                    f["resource"].as_str().unwrap().to_owned(),
                    ids(&f["evidence"]),
                ),
            ));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1.0, &a.1.2).cmp(&(&b.0, &b.1.0, &b.1.2)));
    out.into_iter().map(|(_, f)| f).collect()
}

/// The findings with every weakness expanded into its examples (each an occurrence as the rule
/// reported it, with the site's rule, pack, severity and confidence), ordered by time, rule and
/// resource: the per-occurrence view the fixtures' tables are written in.
pub fn occurrences(report: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for f in report["findings"].as_array().expect("findings array") {
        if f["class"] == "weakness" {
            let examples = f["examples"].as_array().unwrap();
            assert_eq!(
                examples.len() as u64,
                f["occurrences"].as_u64().unwrap().min(3),
                "{f}"
            );
            for e in examples {
                let mut o = e.clone();
                for k in ["rule_id", "pack", "severity", "confidence", "class"] {
                    o[k] = f[k].clone();
                }
                out.push(o);
            }
        } else {
            out.push(f.clone());
        }
    }
    let key = |v: &Value| {
        (
            v["time_ns"].as_i64().unwrap_or_default(),
            v["rule_id"].as_str().unwrap_or_default().to_owned(),
            v["resource"].as_str().unwrap_or_default().to_owned(),
        )
    };
    out.sort_by_key(key);
    out
}

/// `(rule_id, site, occurrences, distinct principals)` of every weakness finding, in report
/// order.
pub fn weaknesses(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "weakness")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["resource"].as_str().unwrap().to_owned(),
                f["occurrences"].as_u64().unwrap(),
                f["distinct_principals"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Asserts that every input accounts for every record: `records == events + merged + skipped`.
pub fn assert_accounted(report: &Value) {
    for input in report["inputs"].as_array().unwrap() {
        let n = |k: &str| input[k].as_u64().unwrap();
        assert_eq!(
            n("records"),
            n("events") + n("merged") + n("skipped"),
            "accounting of {input}"
        );
        let by_reason: u64 = input["skipped_reasons"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by_reason, n("skipped"), "skipped reasons of {input}");
    }
}

/// `scan --format json --fail-on none` over fixtures (paths under `tests/fixtures`) with extra
/// args; asserts exit 0 and that every record is accounted for, and returns the report.
pub fn scan_fixtures(files: &[&str], extra: &[&str]) -> Value {
    let inputs: Vec<String> = files.iter().map(|f| fixture(f)).collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let mut args = vec!["--fail-on", "none"];
    args.extend_from_slice(extra);
    let run = scan_json(&inputs, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_accounted(&report);
    report
}

/// The messages of the findings of `pack` (a weakness's: of each occurrence listed), in time order.
pub fn pack_messages(report: &Value, pack: &str) -> Vec<String> {
    occurrences(report)
        .iter()
        .filter(|f| f["pack"] == pack)
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

/// `(role, file:line)` of a finding's evidence, the file without its directory.
pub fn evidence_at(finding: &Value) -> Vec<(String, String)> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let source = e["source"].as_str().unwrap();
            (
                e["role"].as_str().unwrap().to_owned(),
                source.rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The fixture sets that, between them, make every built-in rule fire and stay quiet (the report
/// format tests run them all): the CloudTrail fixtures one by one, key lifecycles with the uses
/// they judge, and the recorded applications.
pub fn rule_fixture_sets() -> Vec<Vec<String>> {
    let dir = root().join("tests/fixtures/cloudtrail");
    let mut fixtures: Vec<Vec<String>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "jsonl"))
        .map(|p| vec![p.display().to_string()])
        .collect();
    fixtures.sort();
    // Key lifecycles with the uses they judge: a key inventory with the recorded HAR, API Gateway
    // key events with gateway access logs.
    fixtures.push(vec![
        fixture("inventory/keys.json"),
        fixture("recorded/app.har"),
    ]);
    fixtures.push(vec![
        fixture("cloudtrail/key-lifecycle.json"),
        fixture("gateway/apigw-access.jsonl"),
        fixture("gateway/apigw-stale.jsonl"),
    ]);
    // A downscoped key used for reads only.
    fixtures.push(vec![
        fixture("inventory/changes.csv"),
        fixture("gateway/apigw-downscoped.jsonl"),
    ]);
    // The stage that refuses the disabled key: uses of a revoked key, none successful.
    fixtures.push(vec![
        fixture("cloudtrail/key-lifecycle.json"),
        fixture("gateway/apigw-access.jsonl"),
    ]);
    fixtures.push(
        ["app.har", "app-wire.jsonl", "app-otlp.json"]
            .iter()
            .map(|f| fixture(&format!("recorded/toctou/{f}")))
            .collect(),
    );
    // The second recorded app: its blocked race is TW-TOCTOU-006's hit.
    fixtures.push(
        [
            "app.har",
            "app-requests.jsonl",
            "app-otlp.json",
            "dynamodb.har",
        ]
        .iter()
        .map(|f| fixture(&format!("recorded/docs-express/{f}")))
        .collect(),
    );
    for (dir, files) in [
        ("bola", ["app.har", "app-wire.jsonl", "app-otlp.json"]),
        (
            "bola",
            ["benign.har", "benign-wire.jsonl", "benign-otlp.json"],
        ),
    ] {
        fixtures.push(
            files
                .iter()
                .map(|f| fixture(&format!("recorded/{dir}/{f}")))
                .collect(),
        );
    }
    fixtures
}
