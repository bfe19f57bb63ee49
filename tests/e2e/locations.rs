//! Evidence that points at its record: file, record, line, column, byte offset and length, in a
//! CloudTrail file of 5,000 records on one line as AWS writes them; `tracewarden show` prints
//! the record, secrets redacted.

use serde_json::Value;

use crate::common::{fixture, scan_json, tracewarden};

/// A CloudTrail log file on one line: 3,998 S3 records (read and skipped), then the check and
/// the use of the TOCTOU fixture as records 3,999 and 4,000. Returns the path, the file's text
/// and the byte offset and length of each of the last two records.
fn one_line_trail(dir: &std::path::Path) -> (String, String, [(usize, usize); 2]) {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("cloudtrail/toctou-positive.json")).unwrap(),
    )
    .unwrap();
    let pair = fixture["Records"].as_array().unwrap();
    let mut records: Vec<String> = (0..3998)
        .map(|i| {
            let mut r = pair[0].clone();
            r["eventSource"] = "s3.amazonaws.com".into();
            r["eventName"] = "GetObject".into();
            r["eventID"] = format!("00000000-0000-4000-8000-{i:012}").into();
            serde_json::to_string(&r).unwrap()
        })
        .collect();
    records.extend(pair.iter().map(|r| serde_json::to_string(r).unwrap()));
    let head = "{\"Records\":[";
    let text = format!("{head}{}]}}", records.join(","));
    let mut offset = head.len();
    let mut places = Vec::new();
    for r in &records {
        places.push((offset, r.len()));
        offset += r.len() + 1;
    }
    let path = dir.join("trail.json");
    std::fs::write(&path, &text).unwrap();
    (
        path.display().to_string(),
        text,
        [places[3998], places[3999]],
    )
}

#[test]
fn evidence_in_a_one_line_cloudtrail_file_points_at_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text, [check, used]) = one_line_trail(dir.path());
    assert_eq!(text.lines().count(), 1);
    let report = scan_json(&[&path], &["--fail-on", "none"]).json();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "TW-TOCTOU-001")
        .expect("the race is found");
    let evidence: Vec<(&str, &Value)> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role"].as_str().unwrap(), e))
        .collect();
    let at = |role: &str| {
        evidence
            .iter()
            .find(|(r, _)| *r == role)
            .unwrap_or_else(|| panic!("no {role} evidence in {evidence:?}"))
            .1
    };
    for (role, record, (offset, length)) in [("check", 3999, check), ("use", 4000, used)] {
        let e = at(role);
        assert_eq!(e["source"], format!("{path}#{record}"), "{e}");
        assert_eq!(
            e["location"],
            serde_json::json!({
                "file": path,
                "record": record,
                "line": 1,
                "column": offset + 1,
                "offset": offset,
                "length": length,
            })
        );
        // The span is exactly the record.
        let bytes = &text[offset..offset + length];
        let record_json: Value = serde_json::from_str(bytes).unwrap();
        assert_eq!(
            format!("ct:{}", record_json["eventID"].as_str().unwrap()),
            e["event_id"].as_str().unwrap()
        );
        assert_eq!(e["time"], record_json["eventTime"]);
    }

    // The text report prints file:line:column (a weakness: its first evidence, the check).
    let text_report = tracewarden(&["scan", "--fail-on", "none", &path]);
    assert!(
        text_report
            .stdout
            .contains(&format!("{path}:1:{} (check)", check.0 + 1)),
        "{}",
        text_report.stdout
    );

    // `show` prints record 4,000 by index and by line and column.
    for spec in [format!("{path}#4000"), format!("{path}:1:{}", used.0 + 1)] {
        let shown = tracewarden(&["show", &spec]);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        let (head, body) = shown.stdout.split_once('\n').unwrap();
        assert_eq!(
            head,
            format!(
                "# {path}#4000 (cloudtrail), line 1, column {}, bytes {}..{}, secrets redacted",
                used.0 + 1,
                used.0,
                used.0 + used.1
            )
        );
        let shown: Value = serde_json::from_str(body).unwrap();
        let original: Value = serde_json::from_str(&text[used.0..used.0 + used.1]).unwrap();
        assert_eq!(shown["eventID"], original["eventID"]);
    }
}

#[test]
fn the_same_file_gzipped_gives_the_same_places() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (path, text, [_, used]) = one_line_trail(dir.path());
    let gz = dir.path().join("trail.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    std::fs::remove_file(&path).unwrap();
    let gz = gz.display().to_string();
    let shown = tracewarden(&["show", &format!("{gz}#4000"), "--raw"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let body = shown.stdout.split_once('\n').unwrap().1;
    assert_eq!(body.trim_end(), &text[used.0..used.0 + used.1]);
}

#[test]
fn show_redacts_credentials_and_names_what_is_missing() {
    let har = fixture("recorded/app.har");
    let raw = tracewarden(&["show", &format!("{har}#3"), "--raw"]);
    assert_eq!(raw.code, 0, "{}", raw.stderr);
    assert!(
        raw.stdout.contains("Bearer "),
        "the fixture's record 3 carries a bearer token: {}",
        raw.stdout
    );
    let shown = tracewarden(&["show", &format!("{har}#3")]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(!shown.stdout.contains("Bearer "), "{}", shown.stdout);
    assert!(shown.stdout.contains("[REDACTED]"), "{}", shown.stdout);

    let missing = tracewarden(&["show", &format!("{har}#99")]);
    assert_eq!(missing.code, 2);
    assert_eq!(
        missing.stderr,
        format!(
            "error: `{har}`: record 99 is not in it or has no known place: the file holds 12 record(s) (har)\n"
        )
    );
    let bad = tracewarden(&["show", "logs/trail.json"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr,
        "error: `logs/trail.json` names no record: expected FILE#RECORD (e.g. \
         logs/trail.json#4000) or FILE:LINE[:COLUMN]\n"
    );
}

#[test]
fn a_byte_order_mark_counts_in_the_places() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.csv");
    let rows = "key_id,action,time,owner\nk-1,created,2026-03-01,bob\nk-1,revoked,2026-03-15,bob\n";
    std::fs::write(
        &file,
        [b"\xEF\xBB\xBF".as_slice(), rows.as_bytes()].concat(),
    )
    .unwrap();
    let spec = format!("{}#2", file.display());
    let shown = tracewarden(&["show", &spec, "--raw"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let offset = 3 + rows.find("k-1,revoked").unwrap();
    assert_eq!(
        shown.stdout,
        format!(
            "# {spec} (key_inventory), line 3, column 1, bytes {offset}..{}\nk-1,revoked,2026-03-15,bob\n",
            offset + "k-1,revoked,2026-03-15,bob".len()
        )
    );
}
