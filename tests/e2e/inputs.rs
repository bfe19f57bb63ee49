//! Input accounting: malformed records are named with file, record and line; the rest is
//! scanned; every record is an event or a counted skip.

use crate::common::{assert_accounted, findings, fixture, scan_json, tracewarden};

#[test]
fn malformed_records_are_reported_and_the_rest_is_scanned() {
    let path = fixture("cloudtrail/malformed.json");
    let run = scan_json(&[&path], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let input = &report["inputs"][0];
    assert_eq!(input["format"], "cloudtrail");
    assert_eq!(
        (input["records"].as_u64(), input["events"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(input["skipped"], 2);
    assert_eq!(
        input["skipped_reasons"],
        serde_json::json!({"malformed record": 2})
    );
    assert_eq!(
        input["errors"],
        serde_json::json!([
            {"file": path, "record": 2, "line": 59, "message": "invalid `eventTime` `not-a-time`: expected an RFC 3339 time like `2026-03-14T10:00:00Z`"},
            {"file": path, "record": 4, "line": 176, "message": "expected a CloudTrail record object, found a string"},
        ])
    );
    // The valid records were scanned: record 1 reads o-3001, record 3 overwrites it without a
    // condition 5 s later.
    let ids: Vec<String> = findings(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(ids, ["TW-DDB-001", "TW-TOCTOU-001"]);
    assert!(
        run.stderr.contains("2 malformed record(s) skipped"),
        "{}",
        run.stderr
    );
    assert_accounted(&report);
}

#[test]
fn strict_mode_stops_at_the_first_malformed_record() {
    let path = fixture("cloudtrail/malformed.json");
    let run = tracewarden(&["scan", "--strict", &path]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: `{path}`: record 2 (line 59): invalid `eventTime` `not-a-time`: expected an RFC 3339 time like `2026-03-14T10:00:00Z`\n"
        )
    );
}

#[test]
fn json_lines_other_sources_are_skipped_with_a_reason() {
    let run = scan_json(&[&fixture("cloudtrail/mixed-sources.jsonl")], &[]);
    let report = run.json();
    let input = &report["inputs"][0];
    assert_eq!(
        (input["records"].as_u64(), input["events"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        input["skipped_reasons"],
        serde_json::json!({"not a DynamoDB data event or a key lifecycle event": 1})
    );
    assert_eq!(input["errors"], serde_json::json!([]));
    assert_accounted(&report);
}

#[test]
fn gzip_inputs_are_read_and_corrupt_ones_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(crate::common::root().join(
        "examples/dynamodb-orders/CloudTrail/111122223333_CloudTrail_us-east-1_20260314T1005Z_example.json.gz",
    ))
    .unwrap();
    let truncated = dir.path().join("truncated.json.gz");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let truncated = truncated.display().to_string();
    let run = scan_json(&[&truncated], &[]);
    // Reported, not fatal: the report is written, and says it is incomplete (exit 2).
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    let input = &report["inputs"][0];
    // The document is cut inside its first record: that record is counted, as malformed.
    assert_eq!(
        (input["records"].as_u64(), input["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        report["incomplete"][0],
        format!(
            "`{truncated}` was read only in part (1 records): corrupt or truncated gzip: \
             incomplete deflate stream"
        )
    );
    assert!(
        input["error"]
            .as_str()
            .unwrap()
            .starts_with("corrupt or truncated gzip"),
        "{input}"
    );
    let strict = tracewarden(&["scan", "--strict", &truncated]);
    assert_eq!(strict.code, 2);
    assert!(
        strict
            .stderr
            .starts_with(&format!("error: `{truncated}`: corrupt or truncated gzip")),
        "{}",
        strict.stderr
    );
}

#[test]
fn unrecognized_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello\n").unwrap();
    let file = file.display().to_string();
    let run = tracewarden(&["scan", "--strict", &file]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with(&format!("error: `{file}`: unrecognized format")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_input_is_a_usage_error() {
    let run = tracewarden(&["scan", "does/not/exist.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot read `does/not/exist.json`"),
        "{}",
        run.stderr
    );
}

/// Real CloudTrail (Invictus IR's public AWS dataset, in `../shared/corpora` on development
/// machines; absent elsewhere, where this test has nothing to read).
#[test]
fn a_real_cloudtrail_corpus_is_fully_accounted_for() {
    let corpus = crate::common::root().join("../shared/corpora/invictus-aws-dataset/CloudTrail");
    if !corpus.is_dir() {
        eprintln!("skipped: {} not present", corpus.display());
        return;
    }
    let mut expected_records = 0;
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        expected_records += doc["Records"].as_array().unwrap().len() as u64;
    }
    let run = scan_json(&[&corpus.display().to_string()], &[]);
    let report = run.json();
    assert_accounted(&report);
    let inputs = report["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 55);
    let total: u64 = inputs.iter().map(|i| i["records"].as_u64().unwrap()).sum();
    assert_eq!(total, expected_records);
    let mut reasons = std::collections::BTreeMap::<String, u64>::new();
    for i in inputs {
        assert_eq!(i["errors"], serde_json::json!([]), "{i}");
        assert!(i["error"].is_null(), "{i}");
        for (reason, n) in i["skipped_reasons"].as_object().unwrap() {
            *reasons.entry(reason.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    // The exercise's trail has no DynamoDB data events: four access-key changes and 36 STS
    // credential issuances are events; 13 AssumeRole calls issued no credentials (refused); all
    // the rest is API calls the engine does not model, counted as such.
    assert_eq!(report["summary"]["events"], 40);
    assert_eq!(
        reasons,
        [
            (
                "STS call that issued no credentials CloudTrail logged".to_owned(),
                13
            ),
            (
                "not a DynamoDB data event or a key lifecycle event".to_owned(),
                expected_records - 40 - 13
            ),
        ]
        .into()
    );

    // The corpus's access-key lifecycle: two backdoor keys created, then deleted.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let run = tracewarden(&[
        "normalize",
        "-o",
        &out.display().to_string(),
        &corpus.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let keys: Vec<(String, String, String, String)> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            let k = &e["key_lifecycle"];
            (
                k["action"].as_str().unwrap().into(),
                k["key_id"].as_str().unwrap().into(),
                k["owner"].as_str().unwrap_or_default().into(),
                k["parent_key_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Session credentials: 26 issued to AWS services, 10 to the IAM user's access key.
    let (sessions, keys): (Vec<_>, Vec<_>) =
        keys.into_iter().partition(|k| k.1.starts_with("ASIA"));
    assert_eq!(sessions.len(), 36);
    assert!(sessions.iter().all(|s| s.0 == "created"));
    let from_user: Vec<_> = sessions
        .iter()
        .filter(|s| s.3 == "AKIATFQR7NSC8Q4X20BJ")
        .collect();
    assert_eq!(from_user.len(), 10);
    assert!(
        from_user.iter().all(|s| s
            .2
            .starts_with("arn:aws:sts::123837392027:assumed-role/stratus-red-team-")),
        "{from_user:?}"
    );
    let keys: Vec<(String, String, String)> = keys.into_iter().map(|k| (k.0, k.1, k.2)).collect();
    let k = |a: &str, id: &str, owner: &str| (a.to_owned(), id.to_owned(), owner.to_owned());
    assert_eq!(
        keys,
        [
            k(
                "created",
                "AKIATFQR7NSC3ZO6PKAZ",
                "stratus-red-team-backdoor-u-user"
            ),
            k("created", "AKIATFQR7NSCQLA2F4OD", "malicious-iam-user"),
            k("deleted", "AKIATFQR7NSCQLA2F4OD", "malicious-iam-user"),
            k(
                "deleted",
                "AKIATFQR7NSC3ZO6PKAZ",
                "stratus-red-team-backdoor-u-user"
            ),
        ]
    );
}

#[test]
fn key_lifecycle_management_events_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    let input = fixture("cloudtrail/key-lifecycle.json");
    let run = tracewarden(&["normalize", "-o", &out.display().to_string(), &input]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!("{input}: 11 records, 8 events, 0 merged, 3 skipped\n")
    );
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(&str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            let k = &e["key_lifecycle"];
            (
                e["outcome"].as_str().unwrap(),
                k["action"].as_str().unwrap(),
                k["key_id"].as_str().unwrap(),
                k.get("owner").and_then(|o| o.as_str()).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("success", "created", "AKIAEXAMPLEORDERS001", "svc-orders"),
            (
                "success",
                "deactivated",
                "AKIAEXAMPLEORDERS001",
                "svc-orders"
            ),
            ("success", "activated", "AKIAEXAMPLEORDERS001", "svc-orders"),
            ("success", "deleted", "AKIAEXAMPLEORDERS001", "svc-orders"),
            // No `userName`: the caller's own key.
            ("success", "created", "AKIAEXAMPLEADMIN0002", "admin-alice"),
            ("success", "created", "k7x2p9q4r1", ""),
            ("success", "deactivated", "k7x2p9q4r1", ""),
            ("success", "deleted", "k7x2p9q4r1", ""),
        ]
    );
    // The caller's key is the actor's, not the key acted on.
    assert_eq!(events[0]["actor"]["key_id"], "AKIAEXAMPLEADMIN0001");
    assert_eq!(events[0]["precision_ns"], 1_000_000_000);

    let report = scan_json(&[&input], &[]).json();
    assert_eq!(
        report["inputs"][0]["skipped_reasons"],
        serde_json::json!({
            "API key change that neither enables nor disables it": 1,
            "not a DynamoDB data event or a key lifecycle event": 1,
            "refused key change whose target CloudTrail did not log": 1,
        })
    );
    assert_accounted(&report);
}
