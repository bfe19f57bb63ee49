//! The robustness suite: hostile inputs replayed through the real binary, each under a bound on
//! wall time (a hang guard, generous for a debug build, not a speed test) and on peak memory. Each
//! case asserts the report is written, every record is accounted for, and what was skipped,
//! merged or cut is named. Large reproducers are generated here, not committed.

use std::io::{BufRead, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{assert_accounted, command, findings, fixture, parse_report, root};

/// What a bounded run did.
struct Bounded {
    code: i32,
    report: Value,
    stderr: String,
    peak_rss_mib: u64,
}

/// Runs `tracewarden scan --format json ARGS`, killing it past `limit` (a hang) and failing past
/// `max_rss_mib` of peak resident memory (read from `/proc/PID/status` while it runs).
fn bounded(args: &[&str], limit: Duration, max_rss_mib: u64) -> Bounded {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("report.json");
    let mut child = command()
        .args(["scan", "--format", "json", "-o"])
        .arg(&out)
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let start = Instant::now();
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("`scan {}` did not finish within {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(err) = child.stderr.take() {
        for line in std::io::BufReader::new(err).lines() {
            stderr.push_str(&line.unwrap());
            stderr.push('\n');
        }
    }
    let peak_rss_mib = peak_kib / 1024;
    assert!(
        peak_rss_mib <= max_rss_mib,
        "`scan {}` peaked at {peak_rss_mib} MiB (bound {max_rss_mib} MiB)",
        args.join(" ")
    );
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("no report written ({e}); stderr:\n{stderr}"));
    let report = parse_report(&text);
    assert_accounted(&report);
    Bounded {
        code: status.code().unwrap_or(-1),
        report,
        stderr,
        peak_rss_mib,
    }
}

const HANG: Duration = Duration::from_secs(180);
const RSS_MIB: u64 = 1536;

/// A CloudTrail DynamoDB data event, from the committed fixture's first record.
fn cloudtrail_record() -> Value {
    let text = std::fs::read_to_string(fixture("cloudtrail/toctou-positive.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["Records"][0].clone()
}

fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path.display().to_string()
}

fn input<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no input {name} in {}", report["inputs"]))
}

fn notes(report: &Value) -> String {
    report["rules"].to_string()
}

#[test]
fn ten_thousand_calls_sharing_one_request_id_correlate_and_are_all_reported() {
    // Reproducer: correlation compared each call with every earlier one of its id (~26–30 s for
    // 10k records, quadratic). Each call is distinct (own event id, own item).
    let dir = tempfile::tempdir().unwrap();
    let base = cloudtrail_record();
    let records: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut r = base.clone();
            r["eventID"] = json!(format!("e-{i:05}"));
            r["requestID"] = json!("SHARED");
            r["eventTime"] = json!(format!("2026-03-14T10:00:{:02}Z", i * 60 / 10_000));
            r["requestParameters"]["key"]["orderId"] = json!(format!("o-{i}"));
            r
        })
        .collect();
    let file = write_json(dir.path(), "shared.json", &json!({ "Records": records }));
    let run = bounded(&[&file, "--fail-on", "none"], HANG, RSS_MIB);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let i = input(&run.report, "shared.json");
    assert_eq!(
        (i["records"].as_u64(), i["events"].as_u64()),
        (Some(10_000), Some(10_000))
    );
    assert!(
        notes(&run.report)
            .contains("correlation entries made way under ids shared by more than 128"),
        "the coverage names the crowded id: {}",
        notes(&run.report)
    );
}

#[test]
fn a_hundred_thousand_item_transaction_scans_and_no_rule_is_stopped() {
    // Reproducer: never finished (correlation), then the TOCTOU pack held every item of the
    // transaction and was stopped at its memory cap.
    let dir = tempfile::tempdir().unwrap();
    let mut tx = cloudtrail_record();
    tx["eventName"] = json!("TransactWriteItems");
    tx["readOnly"] = json!(false);
    let items: Vec<Value> = (0..100_000)
        .map(|i| json!({"operation": "Put", "tableName": "orders", "key": {"orderId": format!("o-{i}")}}))
        .collect();
    tx["requestParameters"] = json!({ "transactItems": items });
    let file = write_json(dir.path(), "tx.json", &json!({ "Records": [tx] }));
    let run = bounded(&[&file, "--fail-on", "none"], HANG, RSS_MIB);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report["complete"], true, "{}", run.report["incomplete"]);
    let i = input(&run.report, "tx.json");
    assert_eq!(i["events"].as_u64(), Some(100_000));
    eprintln!("100k-item transaction: peak {} MiB", run.peak_rss_mib);
}

#[test]
fn one_otlp_span_repeated_ten_thousand_times_is_one_event() {
    // Reproducer: OTLP spans repeated with one trace and span id were all compared with each
    // other and all kept. One span id names one span: the copies merge.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("recorded/toctou/app-otlp.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let scopes = doc["resourceSpans"][0]["scopeSpans"]
        .as_array_mut()
        .unwrap();
    let db_scope = scopes
        .iter_mut()
        .find(|s| s["scope"]["name"].as_str().unwrap().ends_with("dynamodb"))
        .unwrap();
    let span = db_scope["spans"][5].clone();
    assert_eq!(span["name"], "DynamoDB.GetItem");
    db_scope["spans"] = Value::Array(vec![span; 10_000]);
    scopes.retain(|s| s["scope"]["name"].as_str().unwrap().ends_with("dynamodb"));
    let file = write_json(dir.path(), "spans.json", &doc);
    let run = bounded(&[&file, "--fail-on", "none"], HANG, RSS_MIB);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let i = input(&run.report, "spans.json");
    assert_eq!(
        (
            i["records"].as_u64(),
            i["events"].as_u64(),
            i["merged"].as_u64()
        ),
        (Some(10_000), Some(1), Some(9_999))
    );
}

#[test]
fn a_request_log_writing_dash_for_every_id_correlates_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    let mut out = std::fs::File::create(&path).unwrap();
    for i in 0..10_000 {
        let line = json!({
            "time": format!("2026-11-23T09:55:{:02}.{:03}Z", i / 1000 % 60, i % 1000),
            "operation": "GetItem",
            "request": {"TableName": "orders", "Key": {"orderId": {"S": format!("o-{}", i % 50)}}},
            "status": 200,
            "request_id": "-",
            "trace_id": "-",
            "span_id": "-",
            "app_request_id": "-",
            "principal": "alice",
        });
        writeln!(out, "{line}").unwrap();
    }
    drop(out);
    let file = path.display().to_string();
    let run = bounded(&[&file, "--fail-on", "none"], HANG, RSS_MIB);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let i = input(&run.report, "app.jsonl");
    assert_eq!(
        (i["records"].as_u64(), i["events"].as_u64()),
        (Some(10_000), Some(10_000))
    );
}

#[test]
fn a_record_delivered_twenty_thousand_times_merges_and_names_a_bounded_few() {
    // Reproducer: `merged_from` grew with every duplicate (1M duplicates: a 30 MB string on one
    // event; 3M: every WASM pack over its memory cap).
    let dir = tempfile::tempdir().unwrap();
    let record = cloudtrail_record();
    let file = write_json(
        dir.path(),
        "dup.json",
        &json!({ "Records": vec![record; 20_000] }),
    );
    let out = dir.path().join("events.jsonl");
    let run = command()
        .args(["normalize", &file, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    let merged = events[0]["attributes"]["merged_from"].as_str().unwrap();
    assert!(merged.ends_with(" +19983 more"), "{merged}");
    assert_eq!(merged.matches(" (").count(), 16);
    let run = bounded(&[&file, "--fail-on", "none"], HANG, RSS_MIB);
    let i = input(&run.report, "dup.json");
    assert_eq!(
        (
            i["records"].as_u64(),
            i["events"].as_u64(),
            i["merged"].as_u64()
        ),
        (Some(20_000), Some(1), Some(19_999))
    );
}

#[test]
fn a_capture_given_twice_reports_what_it_reports_once() {
    // Reproducer: the same HAR (or request log) given twice made every request twice, and the
    // twins looked like races (14 false TW-TOCTOU-003).
    for name in ["app.har", "app-wire.jsonl"] {
        let dir = tempfile::tempdir().unwrap();
        let original = fixture(&format!("recorded/toctou/{name}"));
        let (a, b) = (
            dir.path().join(format!("a-{name}")),
            dir.path().join(format!("b-{name}")),
        );
        std::fs::copy(&original, &a).unwrap();
        std::fs::copy(&original, &b).unwrap();
        let once = bounded(&[&original, "--fail-on", "none"], HANG, RSS_MIB);
        let (a, b) = (a.display().to_string(), b.display().to_string());
        let twice = bounded(&[&a, &b, "--fail-on", "none"], HANG, RSS_MIB);
        let rows = |r: &Value| {
            findings(r)
                .into_iter()
                .map(|(rule, principal, resource, _)| (rule, principal, resource))
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(&twice.report), rows(&once.report), "{name}");
        let first = input(&once.report, name);
        let second = input(&twice.report, &format!("b-{name}"));
        assert_eq!(second["events"], 0, "{name}: {second}");
        assert_eq!(second["merged"], first["events"], "{name}: {second}");
    }
}

#[test]
fn the_same_cloudtrail_event_id_in_two_files_is_one_event() {
    // Reproducer: an IAM key event (no DynamoDB call id to merge on) in two files of a trail
    // gave two events with one id.
    let dir = tempfile::tempdir().unwrap();
    let (one, copy) = (
        dir.path().join("a-trail.json"),
        dir.path().join("b-copy.json"),
    );
    std::fs::copy(fixture("cloudtrail/key-lifecycle.json"), &one).unwrap();
    std::fs::copy(&one, &copy).unwrap();
    let (one, copy) = (one.display().to_string(), copy.display().to_string());
    // Given in either order, the inputs are read in path order: the copy merges into the first.
    let run = bounded(&[&copy, &one, "--fail-on", "none"], HANG, RSS_MIB);
    let (a, b) = (
        input(&run.report, "a-trail.json"),
        input(&run.report, "b-copy.json"),
    );
    assert_eq!(b["events"], 0, "{b}");
    assert_eq!(b["merged"].as_u64(), a["events"].as_u64(), "{b}");
    assert!(a["events"].as_u64() > Some(0), "{a}");
    let out = dir.path().join("events.jsonl");
    let normalized = command()
        .args(["normalize", &one, &copy, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(normalized.status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let mut ids: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "event ids are unique");
}

#[test]
fn a_rego_rule_building_a_billion_element_range_is_stopped_by_name_and_the_others_report() {
    // Reproducer: `numbers.range(1, 1e9)` grew past 9 GB; the 10 s timer never fired (one
    // builtin call runs to the end of its allocation).
    let dir = tempfile::tempdir().unwrap();
    let hungry = dir.path().join("hungry.rego");
    std::fs::write(
        &hungry,
        r#"package tracewarden.rules.hungry
metadata := {"id": "T-HUNGRY", "title": "hungry", "severity": "low", "confidence": "low", "class": "incident", "owasp": ["API4:2023"]}
findings contains f if {
	some e in input.events
	count(numbers.range(1, 1000000000)) > 0
	f := {"message": "m", "evidence": [e.id]}
}
"#,
    )
    .unwrap();
    let hungry = hungry.display().to_string();
    let input = fixture("cloudtrail/toctou-positive.json");
    let run = bounded(
        &["--rules", &hungry, &input, "--fail-on", "none"],
        HANG,
        RSS_MIB,
    );
    assert_eq!(run.code, 2, "an incomplete scan: {}", run.stderr);
    let incomplete = run.report["incomplete"].to_string();
    assert!(
        incomplete.contains("T-HUNGRY")
            && incomplete.contains("numbers.range: 1000000000 elements exceed the bound of 100000"),
        "{incomplete}"
    );
    assert!(
        findings(&run.report)
            .iter()
            .any(|f| f.0.starts_with("TW-TOCTOU")),
        "the built-in rules still report"
    );

    // A `sprintf` width that would build a 4 GB string is refused when the rule loads.
    let wide = dir.path().join("wide.rego");
    std::fs::write(
        &wide,
        r#"package tracewarden.rules.wide
metadata := {"id": "T-WIDE", "title": "wide", "severity": "low", "confidence": "low", "class": "incident", "owasp": ["API4:2023"]}
findings contains f if {
	some e in input.events
	f := {"message": sprintf("%04000000000d", [1]), "evidence": [e.id]}
}
"#,
    )
    .unwrap();
    let wide = wide.display().to_string();
    let run = crate::common::tracewarden(&["rules", "list", "--rules", &wide]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{wide}` refused:\n  - formats a `sprintf` field wider than 10000 characters\n"
        )
    );
}

#[test]
fn one_bad_first_line_loses_that_line_not_the_file() {
    // Reproducers: invalid UTF-8 in line 1, or a first line longer than the 1 MiB detection
    // peek, made the whole file "unrecognized".
    let dir = tempfile::tempdir().unwrap();
    let good = |s: u32| {
        format!(
            r#"{{"time":"2026-11-23T09:55:0{s}.000Z","operation":"GetItem","request":{{"TableName":"orders","Key":{{"orderId":{{"S":"o-{s}"}}}}}},"status":200,"principal":"alice"}}"#
        )
    };
    let mut bytes = good(1).replace("alice", "al\u{0}ce").into_bytes();
    let at = bytes.iter().position(|&b| b == 0).unwrap();
    bytes[at] = 0xff;
    bytes.push(b'\n');
    bytes.extend_from_slice(format!("{}\n", good(2)).as_bytes());
    let utf8 = dir.path().join("bad-utf8.jsonl");
    std::fs::write(&utf8, &bytes).unwrap();

    let long = dir.path().join("long-first-line.jsonl");
    let padded = good(3).replace(
        r#""status":200"#,
        &format!(r#""status":200,"pad":"{}""#, "x".repeat(1_200_000)),
    );
    std::fs::write(&long, format!("{padded}\n{}\n", good(4))).unwrap();

    let (utf8, long) = (utf8.display().to_string(), long.display().to_string());
    let run = bounded(&[&utf8, &long, "--fail-on", "none"], HANG, RSS_MIB);
    let bad = input(&run.report, "bad-utf8.jsonl");
    assert_eq!(bad["format"], "dynamodb_wire", "{bad}");
    assert_eq!(
        (bad["records"].as_u64(), bad["events"].as_u64()),
        (Some(2), Some(1)),
        "{bad}"
    );
    assert_eq!(bad["errors"][0]["line"], 1, "{bad}");
    let long = input(&run.report, "long-first-line.jsonl");
    assert_eq!(long["format"], "dynamodb_wire", "{long}");
    assert_eq!(
        (long["records"].as_u64(), long["events"].as_u64()),
        (Some(2), Some(2)),
        "{long}"
    );
}

#[test]
fn events_of_one_second_give_one_report_whatever_the_command_line_order() {
    // Found by the order property: events at one time kept the order the files were given in,
    // so two CloudTrail calls of one second (a read, then a write of that item) in two files
    // gave TW-TOCTOU-001 in one order and nothing in the other.
    let dir = tempfile::tempdir().unwrap();
    let read = cloudtrail_record();
    let mut write = read.clone();
    write["eventName"] = json!("PutItem");
    write["readOnly"] = json!(false);
    write["eventID"] = json!("e-write");
    write["requestID"] = json!("R-write");
    let a = write_json(dir.path(), "a.json", &json!({ "Records": [read] }));
    let b = write_json(dir.path(), "b.json", &json!({ "Records": [write] }));
    let report = |args: &[&str]| {
        let mut report = bounded(args, HANG, RSS_MIB).report;
        report["inputs"]
            .as_array_mut()
            .unwrap()
            .sort_by_key(|i| i["path"].as_str().unwrap().to_owned());
        report
    };
    assert_eq!(
        report(&[&a, &b, "--fail-on", "none"]),
        report(&[&b, &a, "--fail-on", "none"])
    );
}
