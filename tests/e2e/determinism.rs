//! Every file format is byte-identical across runs and `--threads`, and the formats that hold
//! findings alone (JSON Lines, OCSF, SARIF) across the command line's order of inputs too (the
//! others list the inputs as given): the same logs give the same report, so reports can be
//! diffed, cached and baselined.

use crate::common::{fixture, rule_run, tracewarden};

/// Writes every file format of a scan of `inputs` into a fresh directory; returns each file's
/// name and bytes, sorted by name.
fn all_formats(inputs: &[String], threads: &str) -> Vec<(String, Vec<u8>)> {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "json,jsonl,markdown,html,ocsf,sarif,text",
        "-o",
        &dir,
        "--fail-on",
        "none",
        "--threads",
        threads,
    ];
    args.extend(inputs.iter().map(String::as_str));
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_format_is_byte_identical_across_runs_threads_and_input_order() {
    let inputs: Vec<String> = [
        "recorded/docs-express/app.har",
        "recorded/docs-express/app-requests.jsonl",
        "recorded/docs-express/app-otlp.json",
        "recorded/docs-express/dynamodb.har",
        "recorded/docs-express/cloudtrail.json",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let reversed: Vec<String> = inputs.iter().rev().cloned().collect();
    let first = all_formats(&inputs, "1");
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "report.html",
            "report.json",
            "report.jsonl",
            "report.md",
            "report.ocsf.jsonl",
            "report.sarif",
            "report.txt"
        ]
    );
    for (label, again) in [
        ("a second run", all_formats(&inputs, "1")),
        ("--threads 2", all_formats(&inputs, "2")),
    ] {
        for ((name, a), (_, b)) in first.iter().zip(&again) {
            assert!(a == b, "{name} differs with {label}");
        }
    }
    let reversed = all_formats(&reversed, "2");
    for ((name, a), (_, b)) in first.iter().zip(&reversed) {
        if ["report.jsonl", "report.ocsf.jsonl", "report.sarif"].contains(&name.as_str()) {
            assert!(a == b, "{name} differs with the inputs reversed");
        }
    }
}

/// A CloudTrail DynamoDB record at `time`, positional (no `eventID`) when `event_id` is empty.
fn trail_line(time: &str, event_id: &str, key: &str) -> String {
    let id = if event_id.is_empty() {
        String::new()
    } else {
        format!(r#""eventID":"{event_id}","#)
    };
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{key}","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE{key}"}},"eventTime":"{time}","eventSource":"dynamodb.amazonaws.com","eventName":"UpdateItem","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{{"tableName":"orders","key":{{"orderId":"o-{key}"}},"conditionExpression":"version = :v"}},"responseElements":null,"requestID":"REQ{key}",{id}"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
    )
}

#[test]
fn normalize_and_scan_are_byte_identical_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve CloudTrail files (3,600 records: several chunks for the rule workers to share out)
    // whose records share two timestamps across every file (ties are broken by read order), the
    // same call in several files (merged into the first read), a malformed line; the recorded
    // example twice over (its records merge with their copies).
    for f in 0..12 {
        let mut text = String::new();
        for r in 0..300 {
            let time = ["2026-03-14T09:12:00Z", "2026-03-14T09:12:01Z"][r % 2];
            let line = match r % 4 {
                0 => trail_line(time, "", &format!("{f}-{r}")),
                1 => trail_line(time, "same-call", "shared"),
                2 if f == 7 => "{\"eventVersion\": ".to_owned(),
                _ => trail_line(time, &format!("id-{f}-{r}"), &format!("{f}-{r}")),
            };
            text.push_str(&line);
            text.push('\n');
        }
        std::fs::write(dir.path().join(format!("trail-{f:02}.jsonl")), text).unwrap();
    }
    for copy in ["a", "b"] {
        for name in ["app.har", "app-requests.jsonl", "cloudtrail.json"] {
            std::fs::copy(
                fixture(&format!("recorded/docs-express/{name}")),
                dir.path().join(format!("{copy}-{name}")),
            )
            .unwrap();
        }
    }
    let input = dir.path().display().to_string();
    let run = |args: &[&str]| {
        let run = tracewarden(args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    };
    let normalize = |threads| run(&["normalize", "--threads", threads, &input]);
    let serial = normalize("1");
    assert!(serial.stdout.lines().count() > 400);
    assert!(serial.stderr.contains(" merged") && serial.stderr.contains("error: "));
    // The JSON report on `threads` threads, with `partitions` instances of a file that splits.
    let scan_in = |partitions, threads| {
        run(&[
            "scan",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--partitions",
            partitions,
            "--threads",
            threads,
            &input,
        ])
        .stdout
    };
    let scan = |threads| scan_in("1", threads);
    let serial_scan = scan("1");
    for threads in ["2", "3", "5"] {
        let parallel = normalize(threads);
        assert!(
            parallel.stdout == serial.stdout,
            "events differ with {threads} threads"
        );
        assert_eq!(parallel.stderr, serial.stderr, "{threads} threads");
        assert!(
            scan(threads) == serial_scan,
            "report differs with {threads} threads"
        );
    }
    // Partitioned (TW-DDB-001 splits by resource): the same report whatever the threads, and
    // the findings of one instance, but for which of a site's occurrences that share the
    // earliest second are its examples.
    let partitioned = |threads| scan_in("4", threads);
    let split = partitioned("1");
    for threads in ["2", "3"] {
        assert!(
            partitioned(threads) == split,
            "partitioned report differs with {threads} threads"
        );
    }
    let findings = |report: &str| -> Vec<serde_json::Value> {
        let report: serde_json::Value = serde_json::from_str(report).unwrap();
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if f["class"] == "weakness" {
                    let f = f.as_object_mut().unwrap();
                    for part in ["examples", "message", "evidence"] {
                        f.remove(part);
                    }
                }
                f
            })
            .collect()
    };
    let one = findings(&serial_scan);
    // The recorded app's unconditional writes: sites of 1, 6 and 9 occurrences.
    let mut sites: Vec<u64> = one
        .iter()
        .filter(|f| f["rule_id"] == "TW-DDB-001")
        .filter_map(|f| f["occurrences"].as_u64())
        .collect();
    sites.sort_unstable();
    assert_eq!(sites, [1, 6, 9]);
    assert_eq!(findings(&split), one);
    // The report says which rules ran split, and what that changes.
    let report: serde_json::Value = serde_json::from_str(&split).unwrap();
    let notes = |id: &str| -> String {
        let rule = rule_run(&report, id);
        assert_eq!(rule["coverage"]["status"], "full", "{rule}");
        rule["coverage"]["notes"].to_string()
    };
    assert!(
        notes("TW-DDB-001").contains(
            "ran as 4 instances split by resource (`--partitions 4`), each sent the events of \
             its share of the resources"
        ),
        "{}",
        notes("TW-DDB-001")
    );
    // The TOCTOU component mixes partitionings: it ran whole.
    assert!(!notes("TW-TOCTOU-001").contains("instances"));
    let partitions = |id: &str| rule_run(&report, id)["partitions"].clone();
    assert_eq!(
        partitions("TW-DDB-001"),
        serde_json::json!({"partitioning": "by_resource", "instances": 4})
    );
    assert_eq!(partitions("TW-TOCTOU-001"), serde_json::Value::Null);
    for n in ["0", "65"] {
        let refused = tracewarden(&["scan", "--partitions", n, &input]);
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        assert!(
            refused.stderr.contains("--partitions") && refused.stderr.contains("1..=64"),
            "{}",
            refused.stderr
        );
    }
}

/// A scan, through the library, of fixtures the built-in rules find incidents, weaknesses and
/// evidence locations in (HAR, application request log, CloudTrail document).
fn scan_fixtures(options: &tracewarden::ScanOptions) -> tracewarden::Report {
    use tracewarden::{RuleSet, RuleSetOptions};
    let inputs: Vec<std::path::PathBuf> = [
        "recorded/docs-express/app.har",
        "recorded/docs-express/app-requests.jsonl",
        "recorded/docs-express/cloudtrail.json",
        "cloudtrail/toctou-positive.json",
    ]
    .iter()
    .map(|f| fixture(f).into())
    .collect();
    let rules = RuleSet::load(&RuleSetOptions::default()).unwrap();
    tracewarden::scan(&inputs, &rules, options).unwrap()
}

/// Findings past a rule file's memory budget go to sorted runs on disk and are read back as the
/// report is written: every format is byte-identical to the report of findings held in memory.
#[test]
fn findings_held_on_disk_give_the_report_of_findings_in_memory() {
    use tracewarden::{ReportFormat, ScanOptions};
    let scan = |findings_memory_bytes: usize| {
        scan_fixtures(&ScanOptions {
            threads: 2,
            findings_memory_bytes,
            ..ScanOptions::default()
        })
    };
    let (held, spilled) = (scan(usize::MAX), scan(0));
    assert!(!held.findings.spilled());
    assert!(spilled.findings.spilled());
    assert!(held.findings.len() > 5, "{} findings", held.findings.len());
    assert_eq!(spilled.findings.len(), held.findings.len());
    for format in ReportFormat::ALL {
        assert_eq!(
            spilled.render(format),
            held.render(format),
            "{}",
            format.as_str()
        );
    }
}

/// Record places past the read's budget go to a temporary file and are read back for evidence
/// locations: the report is byte-identical to the one whose places stayed in memory.
#[test]
fn record_places_held_on_disk_give_the_same_evidence_locations() {
    use tracewarden::{IngestOptions, ReportFormat, ScanOptions};
    let scan = |places_budget_bytes: usize| {
        scan_fixtures(&ScanOptions {
            ingest: IngestOptions {
                places_budget_bytes,
                ..IngestOptions::default()
            },
            ..ScanOptions::default()
        })
    };
    let (held, spilled) = (scan(usize::MAX), scan(0));
    assert!(held.inputs.iter().all(|i| !i.spans.spilled()));
    assert!(spilled.inputs.iter().all(|i| i.spans.spilled()));
    let json = spilled.render(ReportFormat::Json);
    assert!(json.contains("\"location\""));
    assert_eq!(json, held.render(ReportFormat::Json));
    assert_eq!(
        spilled.render(ReportFormat::Sarif),
        held.render(ReportFormat::Sarif)
    );
}
