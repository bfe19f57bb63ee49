//! Baselines and suppressions through the binary: `--fail-on high` fails on a high finding and
//! passes once it is baselined or suppressed, a new finding still fails, expired and unused
//! suppressions warn, bad files are refused before the scan; fingerprints do not depend on input
//! order, threads or how paths are spelled.

use std::path::Path;

use serde_json::Value;

use crate::common::{fixture, root, rule_fixture_sets, scan_json, tracewarden};

/// CloudTrail with IAM keys and STS sessions: two high findings (TW-KEY-001 at
/// 2026-04-01T08:26:00Z, TW-KEY-006), three medium, one low.
fn stale_keys() -> String {
    fixture("cloudtrail/stale-keys.json")
}

/// `(rule_id, severity)` of the report's findings, in report order.
fn rules_of(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The fingerprint of the report's finding of `rule`.
fn fingerprint_of(report: &Value, rule: &str) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_baselined_high_finding_no_longer_fails_the_gate_and_a_new_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let first = scan_json(&[&stale_keys()], &["--fail-on", "high"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let old = write(dir.path(), "old.json", &first.stdout);

    let run = scan_json(&[&stale_keys()], &["--fail-on", "high", "--baseline", &old]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(report["summary"]["findings"], 0);
    assert_eq!(report["summary"]["baselined"], 6);
    assert_eq!(report["summary"]["suppressed"], 0);
    assert_eq!(report["summary"]["by_severity"]["high"], 0);
    assert_eq!(
        report["baseline"],
        serde_json::json!({"file": old, "fingerprints": 6, "unmatched": 0})
    );
    assert_eq!(
        rules_of(&report["baselined"]),
        rules_of(&first.json()["findings"])
    );

    // A report made with the baseline carries it forward: it serves as the next baseline.
    let rolled = write(dir.path(), "rolled.json", &run.stdout);
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--baseline", &rolled],
    );
    assert_eq!(
        (run.code, run.json()["summary"]["baselined"].clone()),
        (0, 6.into())
    );

    // The JSON Lines report is a baseline too.
    let lines = tracewarden(&[
        "scan",
        "--format",
        "jsonl",
        "--fail-on",
        "none",
        &stale_keys(),
    ]);
    let jsonl = write(dir.path(), "old.jsonl", &lines.stdout);
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--baseline", &jsonl],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A finding the baseline does not hold is new: reported, counted, and the gate fails.
    let mut older = first.json();
    older["findings"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["rule_id"] != "TW-KEY-006");
    let older = write(dir.path(), "older.json", &older.to_string());
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--baseline", &older],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        rules_of(&report["findings"]),
        pairs(&[("TW-KEY-006", "high")])
    );
    assert_eq!(
        (
            report["summary"]["findings"].as_u64(),
            report["summary"]["baselined"].as_u64(),
            report["summary"]["by_severity"]["high"].as_u64()
        ),
        (Some(1), Some(5), Some(1))
    );
}

#[test]
fn a_suppressed_high_finding_by_rule_or_fingerprint_no_longer_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let report = scan_json(&[&stale_keys()], &["--fail-on", "none"]).json();
    let session = fingerprint_of(&report, "TW-KEY-006");
    let by_rule = "[[suppression]]\nrule = \"TW-KEY-001\"\n\
                   justification = \"svc-leaky's key is a honeypot (SEC-42)\"\n";
    let only_rule = write(dir.path(), "rule.toml", by_rule);
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--suppressions", &only_rule],
    );
    assert_eq!(run.code, 1, "TW-KEY-006 is still high: {}", run.stderr);

    let both = write(
        dir.path(),
        "both.toml",
        &format!(
            "{by_rule}\n[[suppression]]\nfingerprint = \"{session}\"\n\
             justification = \"its session, same honeypot\"\nexpires = 2026-04-01\n"
        ),
    );
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--suppressions", &both],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stderr_warnings(&run.stderr), "");
    assert!(
        run.stderr
            .ends_with(": 3 incident(s), 1 weakness site(s); 2 suppressed\n"),
        "{}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(
        rules_of(&report["findings"]),
        pairs(&[
            ("TW-KEY-004", "medium"),
            ("TW-KEY-004", "medium"),
            ("TW-DDB-001", "low"),
            ("TW-KEY-003", "medium"),
        ])
    );
    let suppressed: Vec<(String, u64, String)> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["rule_id"].as_str().unwrap().to_owned(),
                s["suppression"].as_u64().unwrap(),
                s["justification"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            (
                "TW-KEY-001".to_owned(),
                1,
                "svc-leaky's key is a honeypot (SEC-42)".to_owned()
            ),
            (
                "TW-KEY-006".to_owned(),
                2,
                "its session, same honeypot".to_owned()
            ),
        ]
    );
    assert_eq!(report["suppressed"][1]["fingerprint"], session.as_str());
    assert_eq!(
        (
            report["summary"]["findings"].as_u64(),
            report["summary"]["suppressed"].as_u64(),
            report["summary"]["baselined"].as_u64(),
            report["summary"]["by_severity"]["high"].as_u64()
        ),
        (Some(4), Some(2), Some(0), Some(0))
    );
    assert_eq!(report["suppressions"]["file"], both.as_str());
    assert_eq!(
        report["suppressions"]["entries"][1],
        serde_json::json!({
            "entry": 2, "line": 5, "fingerprint": session,
            "justification": "its session, same honeypot", "expires": "2026-04-01",
            "suppressed": 1, "expired": 0, "status": "used"
        })
    );
    assert_eq!(report["warnings"], serde_json::json!([]));
}

#[test]
fn the_documented_suppressions_file_holds_what_it_says() {
    // The example of docs/output.md and the README, run as written there.
    let file = "tests/fixtures/triage/stale-keys-suppressions.toml";
    let input = "tests/fixtures/cloudtrail/stale-keys.json";
    let warning = format!(
        "suppression 3 of `{file}` (line 17, rule `TW-KEY-003`, resource `key/AKIAEXAMPLEETL*`) \
         expired on 2026-03-31: 1 finding(s) it names are later and not suppressed by it"
    );
    let run = tracewarden(&["scan", "--suppressions", file, "--fail-on", "high", input]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        stderr_warnings(&run.stderr),
        format!("warning: {warning}\n")
    );
    assert!(
        run.stdout.contains(&format!(
            "\n3 incidents, 1 weakness site (1 occurrence): 3 medium, 1 low\n\
             not listed: 2 suppressed (`{file}`); suppressions: 1 expired, 0 unused (see the \
             warnings)\n  warning: {warning}\n"
        )),
        "{}",
        run.stdout
    );
    let report = scan_json(&[input], &["--fail-on", "none", "--suppressions", file]).json();
    assert_eq!(
        rules_of(&report["suppressed"]),
        pairs(&[("TW-KEY-001", "high"), ("TW-KEY-006", "high")])
    );
    let statuses: Vec<&str> = report["suppressions"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["used", "used", "expired"]);
    let markdown = tracewarden(&[
        "scan",
        "--format",
        "markdown",
        "--suppressions",
        file,
        "--fail-on",
        "none",
        input,
    ]);
    assert!(
        markdown.stdout.contains(&format!(
            "not listed: 2 suppressed (`{file}`); suppressions: 1 expired, 0 unused (see the \
             warnings)\n\n> Warning: `{}`\n",
            warning.replace('`', "'")
        )),
        "{}",
        markdown.stdout
    );
}

#[test]
fn an_expired_suppression_warns_and_does_not_suppress() {
    let dir = tempfile::tempdir().unwrap();
    // TW-KEY-001's finding is at 2026-04-01T08:26:00Z: a day later than the entry's last day.
    let file = write(
        dir.path(),
        "expired.toml",
        "[[suppression]]\nrule = \"TW-KEY-001\"\njustification = \"until the key is gone\"\n\
         expires = 2026-03-31\n",
    );
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--suppressions", &file],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let warning = format!(
        "suppression 1 of `{file}` (line 1, rule `TW-KEY-001`) expired on 2026-03-31: 1 \
         finding(s) it names are later and not suppressed by it"
    );
    assert_eq!(
        stderr_warnings(&run.stderr),
        format!("warning: {warning}\n")
    );
    let report = run.json();
    assert_eq!(report["warnings"], serde_json::json!([warning]));
    assert_eq!(report["suppressed"], serde_json::json!([]));
    assert_eq!(report["summary"]["by_severity"]["high"], 2);
    assert_eq!(report["suppressions"]["entries"][0]["status"], "expired");
    assert_eq!(report["suppressions"]["entries"][0]["expired"], 1);
}

#[test]
fn an_unused_suppression_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "unused.toml",
        "[[suppression]]\nrule = \"TW-BOLA-001\"\njustification = \"no BOLA here\"\n\n\
         [[suppression]]\nrule = \"TW-KEY-01\"\njustification = \"a typo\"\n",
    );
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "none", "--suppressions", &file],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings = [
        format!(
            "suppression 1 of `{file}` (line 1, rule `TW-BOLA-001`) is unused: it names no \
             finding"
        ),
        format!(
            "suppression 2 of `{file}` (line 5, rule `TW-KEY-01`) is unused: it names no \
             finding (no rule `TW-KEY-01` ran)"
        ),
    ];
    assert_eq!(run.json()["warnings"], serde_json::json!(warnings));
    assert_eq!(
        stderr_warnings(&run.stderr),
        format!("warning: {}\nwarning: {}\n", warnings[0], warnings[1])
    );
}

#[test]
fn a_suppression_without_justification_is_refused_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.toml",
        "[[suppression]]\nrule = \"TW-KEY-001\"\njustification = \"reviewed\"\n\n\
         [[suppression]]\nrule = \"TW-KEY-006\"\nexpiry = 2027-01-31\n",
    );
    let run = scan_json(
        &[&stale_keys()],
        &["--fail-on", "high", "--suppressions", &file],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        stderr_warnings(&run.stderr),
        format!(
            "error: suppressions `{file}` refused:\n  \
             - suppression 2 (line 5): unknown key `expiry` (expected rule, fingerprint, \
             principal, resource, justification, expires)\n  \
             - suppression 2 (line 5): `justification` is required: why the finding is \
             accepted\n"
        )
    );
}

#[test]
fn a_baseline_that_is_not_a_report_is_refused_before_the_scan() {
    let expected = "expected a tracewarden JSON report (an object with `findings`) or JSON \
                    Lines report (one finding object per line), found";
    for (baseline, found) in [
        // The log itself where the report was meant: swapped arguments.
        (stale_keys(), "an object without `findings`"),
        (
            fixture("inventory/changes.csv"),
            "line 1 that is not a finding with a fingerprint",
        ),
    ] {
        let run = scan_json(
            &[&stale_keys()],
            &["--fail-on", "high", "--baseline", &baseline],
        );
        assert_eq!(run.code, 2);
        assert_eq!(run.stdout, "");
        assert_eq!(
            stderr_warnings(&run.stderr),
            format!("error: cannot read baseline `{baseline}`: {expected} {found}\n")
        );
    }
}

/// The fingerprints of a scan of `inputs` with `extra` args, in report order.
fn fingerprints(inputs: &[String], extra: &[&str]) -> Vec<String> {
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let mut args = vec!["--fail-on", "none"];
    args.extend_from_slice(extra);
    let run = scan_json(&inputs, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fingerprints_do_not_depend_on_input_order_threads_or_how_paths_are_spelled() {
    let root = std::fs::canonicalize(root()).unwrap();
    for set in rule_fixture_sets() {
        let given = fingerprints(&set, &["--threads", "1"]);
        let mut unique = given.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            given.len(),
            "one fingerprint, one finding: {set:?}"
        );
        // In reverse order, on two threads, relative to the working directory (the tests run
        // from the workspace root) with `./`, where `set` is absolute and goes through `..`.
        let respelled: Vec<String> = set
            .iter()
            .rev()
            .map(|f| {
                let real = std::fs::canonicalize(f).unwrap();
                format!("./{}", real.strip_prefix(&root).unwrap().display())
            })
            .collect();
        assert_eq!(
            fingerprints(&respelled, &["--threads", "2"]),
            given,
            "{set:?} vs {respelled:?}"
        );
    }
}

#[test]
fn a_baseline_made_from_relative_paths_holds_for_absolute_ones() {
    // HAR events have positional ids (`har:<file>#<n>`): the file's name in them does not
    // depend on how it was given.
    let dir = tempfile::tempdir().unwrap();
    let relative = [
        "./tests/fixtures/inventory/keys.json",
        "tests/fixtures/recorded/app.har",
    ];
    let first = scan_json(&relative, &["--fail-on", "high"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(
        first.json()["findings"][0]["evidence"][0]["event_id"],
        "har:tests/fixtures/recorded/app.har#4"
    );
    let old = write(dir.path(), "old.json", &first.stdout);
    let absolute = [fixture("recorded/app.har"), fixture("inventory/keys.json")];
    let absolute: Vec<&str> = absolute.iter().map(String::as_str).collect();
    let run = scan_json(&absolute, &["--fail-on", "high", "--baseline", &old]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["baselined"], 4);
}

/// Standard error without the scan's summary line: the warnings and errors.
fn stderr_warnings(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("scanned "))
        .map(|l| format!("{l}\n"))
        .collect()
}
