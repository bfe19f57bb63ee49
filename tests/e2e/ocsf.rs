//! `--format ocsf`: one OCSF Detection Finding (class 2004) per finding and line. Every record of
//! every rule fixture set is checked against the attributes OCSF requires, their types and enum
//! ranges: a reduced JSON Schema derived from the OCSF schema's own files
//! (`tests/fixtures/ocsf/`, with the generator and the commit it was made from). Exact values on
//! one fixture; byte-identical output across runs and `--threads`.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{Value, json};
use tracewarden::report::OCSF_VERSION;

use crate::common::{
    Fault, compile_schema, fixture, parse_report, root, rule_fixture_sets, schema_errors,
    tracewarden,
};

/// The reduced OCSF schema the records are checked against.
fn ocsf_schema() -> Value {
    let path = root().join(format!(
        "tests/fixtures/ocsf/detection_finding-{OCSF_VERSION}.schema.json"
    ));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ocsf_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| compile_schema(&ocsf_schema()))
}

/// Scans `inputs` once into `report.json` and `report.ocsf.jsonl`; returns the (validated) JSON
/// report and the OCSF text.
fn scan_json_and_ocsf(inputs: &[String], dir: &Path) -> (Value, String) {
    let out = dir.display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "json,ocsf",
        "-o",
        &out,
        "--fail-on",
        "none",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = parse_report(&std::fs::read_to_string(dir.join("report.json")).unwrap());
    let ocsf = std::fs::read_to_string(dir.join("report.ocsf.jsonl")).unwrap();
    (report, ocsf)
}

fn records(ocsf: &str) -> Vec<Value> {
    ocsf.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn ms(ns: &Value) -> i64 {
    ns.as_i64().unwrap().div_euclid(1_000_000)
}

fn rfc3339_ms(time: &Value) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(time.as_str().unwrap()).unwrap();
    t.timestamp_millis()
}

#[test]
fn the_reduced_schema_is_the_pinned_ocsf_release() {
    let schema = ocsf_schema();
    let comment = schema["$comment"].as_str().unwrap();
    assert!(
        comment.starts_with(&format!(
            "Derived by tests/fixtures/ocsf/make_schema.py from ocsf/ocsf-schema {OCSF_VERSION} (commit "
        )),
        "{comment}"
    );
    let class = &schema["$defs"]["detection_finding"];
    assert_eq!(
        class["required"],
        json!([
            "activity_id",
            "category_uid",
            "class_uid",
            "finding_info",
            "metadata",
            "severity_id",
            "time",
            "type_uid"
        ])
    );
    assert_eq!(class["properties"]["class_uid"], json!({"const": 2004}));
    assert_eq!(class["properties"]["category_uid"], json!({"const": 2}));
}

#[test]
fn every_record_of_every_fixture_set_is_a_valid_detection_finding_of_its_finding() {
    let mut classes = std::collections::BTreeSet::new();
    for set in rule_fixture_sets() {
        let dir = tempfile::tempdir().unwrap();
        let (report, ocsf) = scan_json_and_ocsf(&set, dir.path());
        let findings = report["findings"].as_array().unwrap();
        let records = records(&ocsf);
        assert_eq!(records.len(), findings.len(), "{set:?}");
        for (r, f) in records.iter().zip(findings) {
            let errors = schema_errors(ocsf_validator(), r);
            assert!(errors.is_empty(), "{set:?}: {}\n{r}", errors.join("\n"));
            // What a JSON Schema cannot say: `type_uid` is `class_uid * 100 + activity_id`.
            assert_eq!(
                r["type_uid"].as_i64().unwrap(),
                r["class_uid"].as_i64().unwrap() * 100 + r["activity_id"].as_i64().unwrap()
            );
            // Each record is its finding.
            assert_eq!(r["finding_info"]["uid"], f["fingerprint"]);
            assert_eq!(r["finding_info"]["title"], f["title"]);
            assert_eq!(r["finding_info"]["analytic"]["uid"], f["rule_id"]);
            assert_eq!(r["finding_info"]["analytic"]["category"], f["pack"]);
            assert_eq!(r["time"].as_i64().unwrap(), ms(&f["time_ns"]));
            assert_eq!(r["message"], f["message"]);
            let severity = ["info", "low", "medium", "high", "critical"]
                .iter()
                .position(|s| f["severity"] == *s)
                .unwrap();
            assert_eq!(r["severity_id"], severity + 1);
            let confidence = ["low", "medium", "high"]
                .iter()
                .position(|c| f["confidence"] == *c)
                .unwrap();
            assert_eq!(r["confidence_id"], confidence + 1);
            let cwe: Vec<&Value> = r["vulnerabilities"]
                .as_array()
                .map(|v| v.iter().map(|v| &v["cwe"]["uid"]).collect())
                .unwrap_or_default();
            assert_eq!(cwe, f["cwe"].as_array().unwrap().iter().collect::<Vec<_>>());
            let types: Vec<String> = f["owasp"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| format!("OWASP API 2023/{}", id.as_str().unwrap()))
                .chain(
                    f["soc2"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|id| format!("SOC 2/{}", id.as_str().unwrap())),
                )
                .collect();
            assert_eq!(r["finding_info"]["types"], json!(types));
            let evidence: Vec<&Value> = f["evidence"].as_array().unwrap().iter().collect();
            let data: Vec<&Value> = r["evidences"]
                .as_array()
                .map(|e| e.iter().map(|e| &e["data"]).collect())
                .unwrap_or_default();
            assert_eq!(data, evidence);
            if f["principal"] == "" {
                assert!(r.get("actor").is_none(), "{r}");
            } else {
                assert_eq!(r["actor"]["user"]["uid"], f["principal"]);
            }
            assert_eq!(r["unmapped"]["class"], f["class"]);
            classes.insert(f["class"].as_str().unwrap().to_owned());
            if f["class"] == "weakness" {
                assert_eq!(r["count"], f["occurrences"]);
                assert_eq!(
                    r["start_time"].as_i64().unwrap(),
                    rfc3339_ms(&f["first_seen"])
                );
                assert_eq!(r["end_time"].as_i64().unwrap(), rfc3339_ms(&f["last_seen"]));
                assert_eq!(r["unmapped"]["site"], f["site"]);
            } else {
                for k in ["count", "start_time", "end_time"] {
                    assert!(r.get(k).is_none(), "{k} in {r}");
                }
                assert_eq!(r["resources"], json!([{"uid": f["resource"]}]));
            }
        }
    }
    assert_eq!(
        classes.into_iter().collect::<Vec<_>>(),
        ["incident", "weakness"]
    );
}

#[test]
fn the_reduced_schema_rejects_what_ocsf_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ocsf) = scan_json_and_ocsf(&[fixture("cloudtrail/stale-keys.json")], dir.path());
    let good = records(&ocsf).swap_remove(0);
    assert!(schema_errors(ocsf_validator(), &good).is_empty());
    let faults: [(&str, Fault); 9] = [
        ("", |r| {
            r.as_object_mut().unwrap().remove("class_uid");
        }),
        ("/class_uid", |r| r["class_uid"] = json!(2003)),
        ("/severity_id", |r| r["severity_id"] = json!(7)),
        ("/type_uid", |r| r["type_uid"] = json!(200404)),
        ("/time", |r| r["time"] = json!("2026-03-10T09:00:00Z")),
        ("/finding_info", |r| {
            r["finding_info"].as_object_mut().unwrap().remove("uid");
        }),
        ("/metadata", |r| {
            r["metadata"].as_object_mut().unwrap().remove("version");
        }),
        ("/actor/user", |r| {
            r["actor"]["user"] = json!({"type": "User"})
        }),
        ("/vulnerabilities/0/cwe", |r| {
            r["vulnerabilities"][0]["cwe"] = json!({"caption": "no id"})
        }),
    ];
    for (path, fault) in faults {
        let mut bad = good.clone();
        fault(&mut bad);
        let errors = schema_errors(ocsf_validator(), &bad);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{path}: "))),
            "expected an error at `{path}`, got {errors:?}"
        );
    }
    // An attribute the class does not define (a typo) is refused too.
    let mut bad = good;
    bad["finding_info"]["titel"] = json!("x");
    assert_eq!(schema_errors(ocsf_validator(), &bad).len(), 1);
}

#[test]
fn a_weakness_and_an_incident_map_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let trail = fixture("cloudtrail/toctou-positive.json");
    let (report, ocsf) = scan_json_and_ocsf(std::slice::from_ref(&trail), dir.path());
    let weaknesses = records(&ocsf);
    assert_eq!(weaknesses.len(), 2);
    let alice = "arn:aws:sts::111122223333:assumed-role/orders-api/alice";
    let evidence =
        |id: &str, role: &str, (record, line, offset, length, time): (u64, u32, u64, u64, &str)| {
            json!({
                "uid": id,
                "name": role,
                "data": {
                    "event_id": id,
                    "role": role,
                    "source": format!("{trail}:{line}"),
                    "location": {
                        "file": trail, "record": record, "line": line, "column": 5,
                        "offset": offset, "length": length
                    },
                    "time": time,
                    "time_ns": tracewarden::parse_instant(time).unwrap()
                },
                "file": {
                    "name": "toctou-positive.json",
                    "path": trail,
                    "type": "Regular File",
                    "type_id": 1
                }
            })
        };
    assert_eq!(
        weaknesses[1],
        json!({
            "activity_id": 1,
            "activity_name": "Create",
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "type_uid": 200401,
            "type_name": "Detection Finding: Create",
            "severity_id": 3,
            "severity": "Medium",
            "confidence_id": 2,
            "confidence": "Medium",
            "status_id": 1,
            "status": "New",
            "is_alert": true,
            "time": 1_773_482_402_000_i64,
            "start_time": 1_773_482_402_000_i64,
            "end_time": 1_773_482_402_000_i64,
            "count": 1,
            "message": report["findings"][1]["message"],
            "metadata": {
                "version": "1.8.0",
                "product": {"name": "tracewarden", "vendor_name": "tracewarden", "version": env!("CARGO_PKG_VERSION")},
                "profiles": ["host"]
            },
            "finding_info": {
                "uid": "1af72d443d22e30a1e693607d8a52c3c",
                "title": "Item read then written without a condition on its state",
                "types": [
                    "OWASP API 2023/API1:2023",
                    "OWASP API 2023/API6:2023",
                    "SOC 2/CC6.1",
                    "SOC 2/CC8.1"
                ],
                "analytic": {
                    "uid": "TW-TOCTOU-001",
                    "name": "Item read then written without a condition on its state",
                    "type_id": 1,
                    "type": "Rule",
                    "category": "toctou",
                    "version": "0.2.0"
                }
            },
            "actor": {"user": {"uid": alice}},
            "resources": [
                {"uid": "orders", "type": "Database table", "data": {"operation": "UpdateItem"}}
            ],
            "evidences": [
                evidence(
                    "ct:854ca517-b1f4-5a16-a297-62b9269a2c6e",
                    "check",
                    (1, 3, 21, 1954, "2026-03-14T10:00:00Z")
                ),
                evidence(
                    "ct:94b740b4-c7d9-56cd-a77b-0320a06f6fc2",
                    "use",
                    (2, 59, 1981, 2075, "2026-03-14T10:00:02Z")
                )
            ],
            "vulnerabilities": [
                {"cwe": {
                    "uid": "CWE-367",
                    "caption": "Time-of-check Time-of-use (TOCTOU) Race Condition",
                    "src_url": "https://cwe.mitre.org/data/definitions/367.html"
                }},
                {"cwe": {
                    "uid": "CWE-362",
                    "caption": "Concurrent Execution using Shared Resource with Improper Synchronization ('Race Condition')",
                    "src_url": "https://cwe.mitre.org/data/definitions/362.html"
                }}
            ],
            "remediation": {"desc": report["findings"][1]["remediation"]},
            "unmapped": {
                "class": "weakness",
                "site": {"method": "", "route": "", "table": "orders", "operation": "UpdateItem"},
                "principals": [alice],
                "distinct_principals": 1
            }
        })
    );
    assert!(
        report["findings"][1]["remediation"]
            .as_str()
            .unwrap()
            .starts_with("Move the check into the write")
    );

    let keys = fixture("cloudtrail/stale-keys.json");
    let (_, ocsf) = scan_json_and_ocsf(std::slice::from_ref(&keys), dir.path());
    let incident = records(&ocsf).swap_remove(0);
    assert_eq!(
        incident,
        json!({
            "activity_id": 1,
            "activity_name": "Create",
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "type_uid": 200401,
            "type_name": "Detection Finding: Create",
            "severity_id": 3,
            "severity": "Medium",
            "confidence_id": 1,
            "confidence": "Low",
            "status_id": 1,
            "status": "New",
            "is_alert": true,
            "time": 1_773_133_200_000_i64,
            "message": "key `AKIAEXAMPLEETL000001` was used by `arn:aws:iam::111122223333:user/svc-etl` \
                        after 63 days without use (last used 2026-01-06T09:00:00Z)",
            "metadata": {
                "version": "1.8.0",
                "product": {"name": "tracewarden", "vendor_name": "tracewarden", "version": env!("CARGO_PKG_VERSION")},
                "profiles": ["host"]
            },
            "finding_info": {
                "uid": "731ae92bf48f0499d18d564af7307ba7",
                "title": "Dormant key used again",
                "types": ["OWASP API 2023/API2:2023", "SOC 2/CC6.1", "SOC 2/CC7.2"],
                "analytic": {
                    "uid": "TW-KEY-004",
                    "name": "Dormant key used again",
                    "type_id": 1,
                    "type": "Rule",
                    "category": "stale-keys",
                    "version": "0.1.0"
                }
            },
            "actor": {"user": {"uid": "arn:aws:iam::111122223333:user/svc-etl"}},
            "resources": [{"uid": "key/AKIAEXAMPLEETL000001"}],
            "evidences": [{
                "uid": "ct:76b64952-1721-5e6c-b0d9-ebbab9e35792",
                "name": "use",
                "data": {
                    "event_id": "ct:76b64952-1721-5e6c-b0d9-ebbab9e35792",
                    "role": "use",
                    "source": format!("{keys}:82"),
                    "location": {
                        "file": keys, "record": 3, "line": 82, "column": 5,
                        "offset": 2699, "length": 1533
                    },
                    "time": "2026-03-10T09:00:00Z",
                    "time_ns": 1_773_133_200_000_000_000_i64
                },
                "file": {
                    "name": "stale-keys.json",
                    "path": keys,
                    "type": "Regular File",
                    "type_id": 1
                }
            }],
            "vulnerabilities": [{"cwe": {
                "uid": "CWE-324",
                "caption": "Use of a Key Past its Expiration Date",
                "src_url": "https://cwe.mitre.org/data/definitions/324.html"
            }}],
            "remediation": {"desc": "Confirm with the key's owner that the use is expected; deactivate keys \
                unused for the dormancy period (IAM credential reports, API key inventories) so a leaked \
                copy is worthless, and alert on their reuse."},
            "unmapped": {"class": "incident"}
        })
    );
    // Attributes in a fixed order, the class's identity first, one record per line.
    assert!(ocsf.starts_with(
        "{\"activity_id\":1,\"activity_name\":\"Create\",\"category_uid\":2,\"category_name\":\
         \"Findings\",\"class_uid\":2004,"
    ));
}

/// Evidence with a location (a file record, with its time), a weakness with a route and a table,
/// every severity and confidence: valid too.
#[test]
fn a_report_with_every_optional_field_renders_valid_records() {
    let report = crate::schema::report_with_everything();
    let ocsf = report.render(tracewarden::ReportFormat::Ocsf);
    let records = records(&ocsf);
    assert_eq!(records.len(), report.findings.len());
    for r in &records {
        let errors = schema_errors(ocsf_validator(), r);
        assert!(errors.is_empty(), "{}\n{r}", errors.join("\n"));
    }
    let severities: Vec<&Value> = records.iter().map(|r| &r["severity_id"]).collect();
    assert_eq!(severities, [1, 2, 3, 4, 5, 2]);
    let weakness = records.last().unwrap();
    assert_eq!(
        weakness["resources"],
        json!([
            {"uid": "PUT /orders/{id}", "type": "API route"},
            {"uid": "orders", "type": "Database table", "data": {"operation": "UpdateItem"}}
        ])
    );
    assert_eq!(weakness["count"], 2);
    assert_eq!(weakness["start_time"], 1_773_482_402_000_i64);
    assert_eq!(weakness["end_time"], 1_773_482_403_500_i64);
    assert_eq!(
        weakness["evidences"],
        json!([{
            "uid": "e-2",
            "name": "use",
            "data": {
                "event_id": "e-2",
                "role": "use",
                "source": "trail.json:59",
                "location": {"file": "trail.json", "record": 2, "line": 59, "column": 5, "offset": 120, "length": 300},
                "time": "2026-03-14T10:00:02.5Z",
                "time_ns": 1_773_482_402_500_000_000_i64
            },
            "file": {"name": "trail.json", "path": "trail.json", "type_id": 1, "type": "Regular File"}
        }])
    );
    assert!(
        weakness.get("actor").is_none(),
        "two principals: no one actor"
    );
    assert_eq!(weakness["unmapped"]["principals"], json!(["alice", "bob"]));
}

#[test]
fn ocsf_is_byte_identical_across_runs_and_threads() {
    let inputs = [
        fixture("recorded/toctou/"),
        fixture("recorded/docs-express/"),
    ];
    let scan = |threads: &str| {
        let mut args = vec![
            "scan",
            "--format",
            "ocsf",
            "--fail-on",
            "none",
            "--threads",
            threads,
        ];
        args.extend(inputs.iter().map(String::as_str));
        let run = tracewarden(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    let one = scan("1");
    assert!(one.lines().count() > 50, "{one}");
    assert_eq!(one, scan("2"));
    assert_eq!(one, scan("2"));
}
