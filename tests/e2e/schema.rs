//! The published JSON Schema of the report (`docs/schema/report.schema.json`): it rejects what
//! it should (so the validation every other test does through `common` cannot pass vacuously),
//! and it is in sync with the Rust types: a report with every optional field present is valid,
//! uses every property the schema declares, and the schema's enums are the types' variants.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};
use tracewarden::ingest::InputReport;
use tracewarden::report::{Coverage, CoverageStatus, SCHEMA_VERSION};
use tracewarden::rules::{
    Confidence, FindingClass, PackSource, Partitioning, RuleFailure, RuleSet, RuleSetOptions,
    Severity,
};
use tracewarden::{
    Evidence, Example, Finding, InputError, InputFormat, Location, ScanOptions, Site,
};

use crate::common::{
    Fault, compile_schema, finding_validator, fixture, report_schema, report_validator, scan_json,
    schema_errors,
};

#[test]
fn the_schema_pins_the_engines_schema_version_in_its_id() {
    let schema = report_schema();
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        SCHEMA_VERSION
    );
    assert_eq!(
        schema["$id"],
        format!(
            "https://example.invalid/tracewarden/schema/report/{SCHEMA_VERSION}/report.schema.json"
        )
    );
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn a_wrong_report_fails_validation_at_each_fault() {
    let run = scan_json(
        &[&fixture("cloudtrail/toctou-positive.json")],
        &["--fail-on", "none"],
    );
    let good = run.json();
    assert!(schema_errors(report_validator(), &good).is_empty());

    // (where the error is reported, a word of it, the fault)
    let faults: [(&str, &str, Fault); 9] = [
        ("", "'extra' was unexpected", |r| r["extra"] = json!(1)),
        ("/findings/0", "'extra' was unexpected", |r| {
            r["findings"][0]["extra"] = json!(1)
        }),
        ("/findings/0/severity", "\"severe\"", |r| {
            r["findings"][0]["severity"] = json!("severe")
        }),
        ("/findings/0/class", "\"bug\"", |r| {
            r["findings"][0]["class"] = json!("bug")
        }),
        ("/schema_version", "\"2.2\" was expected", |r| {
            r["schema_version"] = json!("2.0")
        }),
        ("/findings/0/time", "date-time", |r| {
            r["findings"][0]["time"] = json!("14 March 2026")
        }),
        (
            "/findings/0/evidence/0/location/record",
            "minimum of 1",
            |r| {
                r["findings"][0]["evidence"][0]["location"] = json!({"file": "f", "record": 0, "line": 1, "column": 1, "offset": 0, "length": 1})
            },
        ),
        // An incident carries no weakness fields; a weakness carries all of them.
        ("/findings/0", "is not allowed for", |r| {
            r["findings"][0]["class"] = json!("incident")
        }),
        ("/findings/0", "\"site\" is a required property", |r| {
            r["findings"][0].as_object_mut().unwrap().remove("site");
        }),
    ];
    for (path, needle, fault) in faults {
        let mut bad = good.clone();
        fault(&mut bad);
        let errors = schema_errors(report_validator(), &bad);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(needle)),
            "expected an error at `{path}` with `{needle}`, got {errors:?}"
        );
    }
    // A required field missing, and a count below zero.
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("summary");
    assert_eq!(
        schema_errors(report_validator(), &bad),
        [": \"summary\" is a required property"]
    );
    let mut bad = good.clone();
    bad["inputs"][0]["records"] = json!(-1);
    assert_eq!(
        schema_errors(report_validator(), &bad),
        ["/inputs/0/records: -1 is less than the minimum of 0"]
    );

    // A JSON Lines line is checked as the schema's finding.
    let finding = good["findings"][0].clone();
    assert!(schema_errors(finding_validator(), &finding).is_empty());
    let mut bad = finding;
    bad["confidence"] = json!("certain");
    assert_eq!(schema_errors(finding_validator(), &bad).len(), 1, "{bad}");
}

/// A rule pack of one Rego rule whose `[config]` has an option of every kind.
fn pack_with_every_option_kind(dir: &std::path::Path) -> PathBuf {
    let rule = r#"package tracewarden.rules.every
metadata := {"id": "T-EVERY", "title": "every", "severity": "low", "confidence": "low", "class": "incident"}
findings contains f if {
	some e in input.events
	f := {"message": "m", "evidence": [e.id]}
}
"#;
    std::fs::write(dir.join("every.rego"), rule).unwrap();
    let manifest = format!(
        "name = \"every\"\nversion = \"1.0.0\"\n\n[[rules]]\nfile = \"every.rego\"\nkind = \"rego\"\n\
         sha256 = \"{}\"\n\n[config]\nflag = true\ncount = 3\nratio = 0.5\nname = \"n\"\nnames = [\"a\", \"b\"]\n",
        tracewarden::rules::digest(rule.as_bytes())
    );
    std::fs::write(dir.join("pack.toml"), manifest).unwrap();
    dir.to_path_buf()
}

fn evidence(id: &str, line: u64) -> Evidence {
    Evidence {
        event_id: id.into(),
        role: "use".into(),
        source: format!("trail.json:{line}"),
        location: Some(Location {
            file: "trail.json".into(),
            record: 2,
            line,
            column: 5,
            offset: 120,
            length: 300,
        }),
        time: Some("2026-03-14T10:00:02.5Z".into()),
        time_ns: Some(1_773_482_402_500_000_000),
    }
}

/// A report from a real scan, with every optional field filled in by hand and every enum's
/// every value used somewhere.
pub fn report_with_everything() -> tracewarden::Report {
    let dir = tempfile::tempdir().unwrap();
    let rules = RuleSet::load(&RuleSetOptions {
        builtin: false,
        extra: vec![PackSource::Dir(pack_with_every_option_kind(dir.path()))],
        ..RuleSetOptions::default()
    })
    .unwrap();
    let mut report = tracewarden::scan(
        &[fixture("cloudtrail/toctou-positive.json").into()],
        &rules,
        &ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        },
    )
    .unwrap();
    let incident = report.findings.load().unwrap()[0].clone();
    let weakness = Finding {
        class: FindingClass::Weakness,
        principal: String::new(),
        resource: "PUT /orders/{id} → orders UpdateItem".into(),
        evidence: vec![evidence("e-2", 59)],
        site: Some(Site {
            method: "PUT".into(),
            route: "/orders/{id}".into(),
            table: "orders".into(),
            operation: "UpdateItem".into(),
        }),
        occurrences: Some(2),
        principals: vec!["alice".into(), "bob".into()],
        distinct_principals: Some(2),
        first_seen: Some("2026-03-14T10:00:02Z".into()),
        last_seen: Some("2026-03-14T10:00:03.5Z".into()),
        examples: vec![Example {
            time: "2026-03-14T10:00:02Z".into(),
            time_ns: 1_773_482_402_000_000_000,
            message: "m".into(),
            principal: "alice".into(),
            resource: "orders/id=1".into(),
            evidence: vec![evidence("e-2", 59)],
        }],
        ..incident.clone()
    };
    let confidences = [Confidence::Low, Confidence::Medium, Confidence::High];
    report.findings = Severity::ALL
        .into_iter()
        .enumerate()
        .map(|(i, severity)| Finding {
            severity,
            confidence: confidences[i % 3],
            owasp: vec!["API1:2023".into()],
            soc2: vec!["CC6.1".into()],
            cwe: vec!["CWE-367".into()],
            evidence: vec![evidence(&format!("e-{i}"), 3)],
            ..incident.clone()
        })
        .chain([weakness])
        .collect();
    let input = report.inputs[0].clone();
    report.inputs = InputFormat::ALL
        .into_iter()
        .map(Some)
        .chain([None])
        .map(|format| InputReport {
            format,
            error: Some("corrupt or truncated gzip after line 2".into()),
            errors: vec![InputError {
                file: "trail.json".into(),
                record: 4,
                line: Some(176),
                message: "not an object".into(),
            }],
            skipped_reasons: [("malformed record".to_owned(), 1)].into(),
            ..input.clone()
        })
        .collect();
    let run = report.rules[0].clone();
    report.rules = [
        (CoverageStatus::Full, "wasm", "ok"),
        (CoverageStatus::Partial, "rego", "failed"),
        (CoverageStatus::None, "rego", "ok"),
    ]
    .into_iter()
    .map(|(status, kind, run_status)| tracewarden::report::RuleRun {
        kind,
        status: run_status,
        coverage: Coverage {
            status,
            notes: vec!["a note".into()],
        },
        ..run.clone()
    })
    .chain([tracewarden::report::RuleRun {
        class: FindingClass::Weakness,
        partitions: Some(tracewarden::report::Partitions {
            partitioning: tracewarden::rules::Partitioning::ByResource,
            instances: 4,
        }),
        ..run.clone()
    }])
    .collect();
    report.rule_errors = vec![RuleFailure {
        pack: "every".into(),
        file: "every.rego".into(),
        rules: vec!["T-EVERY".into()],
        reason: "exceeded its CPU budget (ran out of fuel)".into(),
        events_before_failure: 256,
    }];
    report.summary.owasp = [("API1:2023".to_owned(), 5)].into();
    report.summary.soc2 = [("CC6.1".to_owned(), 5)].into();
    report.summary.cwe = [("CWE-367".to_owned(), 5)].into();
    report.complete = false;
    report.incomplete = vec!["`trail.json` was read only in part".into()];
    // Triage: the first finding baselined, the second suppressed by an entry naming every
    // criterion and a last day.
    let mut findings = report.findings.load().unwrap().into_owned();
    for (i, f) in findings.iter_mut().enumerate() {
        f.fingerprint = format!("{:032x}", i + 1);
    }
    // Two more findings, for triage to take out; the others stay as they are.
    let extra = |n: usize| Finding {
        fingerprint: format!("{:032x}", 100 + n),
        ..findings[0].clone()
    };
    let (first, second) = (extra(1), extra(2));
    findings.extend([first.clone(), second.clone()]);
    report.findings = findings.into();
    let baseline = tracewarden::triage::Baseline::parse(
        "old.json",
        &format!(
            "{{\"findings\": [{{\"fingerprint\": \"{}\"}}]}}",
            first.fingerprint
        ),
    )
    .unwrap();
    let suppressions = tracewarden::triage::Suppressions::parse(
        "s.toml",
        &format!(
            "[[suppression]]\nrule = \"{}\"\nfingerprint = \"{}\"\nprincipal = \"*\"\n\
             resource = \"*\"\njustification = \"accepted\"\nexpires = 2099-12-31\n",
            second.rule_id, second.fingerprint
        ),
    )
    .unwrap();
    report.triage(Some(&baseline), Some(&suppressions)).unwrap();
    assert_eq!((report.baselined.len(), report.suppressed.len()), (1, 1));
    report
}

/// The paths of every object key in `value`, array items as `*` (`findings/*/evidence/*/role`).
fn instance_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}/{k}");
                instance_paths(v, &path, out);
                out.insert(path);
            }
        }
        Value::Array(items) => {
            for v in items {
                instance_paths(v, &format!("{prefix}/*"), out);
            }
        }
        _ => {}
    }
}

/// The paths of every property the schema declares, following `$ref`s into `$defs`.
fn schema_paths(schema: &Value, node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(name) = node["$ref"].as_str() {
        let def = name.strip_prefix("#/$defs/").unwrap();
        return schema_paths(schema, &schema["$defs"][def], prefix, out);
    }
    if let Some(props) = node["properties"].as_object() {
        for (k, v) in props {
            let path = format!("{prefix}/{k}");
            schema_paths(schema, v, &path, out);
            out.insert(path);
        }
    }
    if node.get("items").is_some() {
        schema_paths(schema, &node["items"], &format!("{prefix}/*"), out);
    }
}

#[test]
fn a_report_with_every_optional_field_is_valid_and_uses_every_declared_property() {
    let report = report_with_everything();
    let value = serde_json::to_value(&report).unwrap();
    let errors = schema_errors(report_validator(), &value);
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    let schema = report_schema();
    let mut declared = BTreeSet::new();
    schema_paths(&schema, &schema, "", &mut declared);
    let mut used = BTreeSet::new();
    instance_paths(&value, "", &mut used);
    let unused: Vec<&String> = declared.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "declared but never serialized: {unused:?}"
    );

    // The JSON Lines rendering of the same findings: each line a valid finding.
    let lines = report.render(tracewarden::ReportFormat::Jsonl);
    assert_eq!(
        crate::common::parse_findings(&lines).len(),
        report.findings.len()
    );
}

#[test]
fn the_schemas_enums_are_the_engines_values() {
    let schema = report_schema();
    let defs = &schema["$defs"];
    let names = |values: Vec<Value>| -> Value { Value::Array(values) };
    assert_eq!(
        defs["severity"]["enum"],
        names(Severity::ALL.iter().map(|s| json!(s)).collect())
    );
    assert_eq!(
        defs["confidence"]["enum"],
        names(
            [Confidence::Low, Confidence::Medium, Confidence::High]
                .iter()
                .map(|c| json!(c))
                .collect()
        )
    );
    assert_eq!(
        defs["class"]["enum"],
        names(
            [FindingClass::Incident, FindingClass::Weakness]
                .iter()
                .map(|c| json!(c))
                .collect()
        )
    );
    assert_eq!(
        defs["input"]["properties"]["format"]["enum"],
        names(
            InputFormat::ALL
                .iter()
                .map(|f| json!(f))
                .chain([Value::Null])
                .collect()
        )
    );
    assert_eq!(
        defs["rule"]["properties"]["partitions"]["properties"]["partitioning"]["enum"],
        names(
            [
                Partitioning::ByPrincipal,
                Partitioning::ByResource,
                Partitioning::ByTrace
            ]
            .iter()
            .map(|p| json!(p))
            .collect()
        )
    );
    assert_eq!(
        defs["coverage"]["properties"]["status"]["enum"],
        names(
            [
                CoverageStatus::Full,
                CoverageStatus::Partial,
                CoverageStatus::None
            ]
            .iter()
            .map(|s| json!(s))
            .collect()
        )
    );
    // Every OWASP, SOC 2 and CWE id of the engine's catalogs matches the schema's id patterns;
    // a near miss does not.
    for (def, catalog, miss) in [
        (
            "owasp_id",
            tracewarden::catalog::OWASP_API_2023,
            "API11:2023",
        ),
        ("soc2_id", tracewarden::catalog::SOC2, "CC6"),
        ("cwe_id", tracewarden::catalog::CWE, "CWE367"),
    ] {
        let validator = compile_schema(&json!({
            "$ref": format!("#/$defs/{def}"),
            "$defs": defs,
        }));
        for (id, _) in catalog {
            assert!(validator.is_valid(&json!(id)), "{def}: {id}");
        }
        assert!(!validator.is_valid(&json!(miss)), "{def}: {miss}");
    }
}
