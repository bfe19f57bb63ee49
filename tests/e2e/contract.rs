//! The contract's version policy through the real binary: a rule built against the frozen
//! contract 1.0.0 (without 1.1's `state-usage` export) loads and reports on the 1.1 host; one
//! built against 0.4.0 is refused naming both versions; a 1.1 rule's state evictions reach the
//! report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{findings, root, scan_json, tracewarden};

/// Builds `package` with `features` for `wasm32-wasip2` in a target directory of these tests
/// (not the sandbox tests': they copy their artifact out after each build) and copies the
/// component to `name`.
fn build_guest(package: &str, features: &[&str], name: &str) -> PathBuf {
    let target = root().join("target/test-guests-contract");
    let out = target.join("components");
    std::fs::create_dir_all(&out).unwrap();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            package,
        ])
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let status = cmd.status().expect("run cargo");
    assert!(status.success(), "building {package} {features:?} failed");
    let artifact =
        Path::new("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")));
    let dest = out.join(name);
    std::fs::copy(target.join(artifact), &dest).unwrap();
    dest
}

/// The guests, built once, one after the other (they share a target directory): contract
/// 1.0.0, contract 0.4.0, and the evicting 1.1 rule.
fn guests() -> &'static [PathBuf; 3] {
    static BUILT: OnceLock<[PathBuf; 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        [
            build_guest("tracewarden-test-contract", &[], "contract-1.0.0.wasm"),
            build_guest(
                "tracewarden-test-contract",
                &["contract-0-4"],
                "contract-0.4.0.wasm",
            ),
            build_guest("tracewarden-test-hostile", &["evicting"], "evicting.wasm"),
        ]
    })
}

/// 20 DynamoDB reads by alice of distinct orders, 1 ms apart, in `dir`.
fn reads(dir: &Path) -> String {
    let path = dir.join("reads.jsonl");
    let text: String = (1..=20u64)
        .map(|i| {
            format!(
                r#"{{"id":"ev-{i}","time_ns":{},"precision_ns":1000,"source":{{"file":"reads.jsonl","record":{i},"line":{i},"format":"events"}},"actor":{{"principal":"alice"}},"outcome":"success","db_operation":{{"service":"dynamodb","operation":"GetItem","table":"orders","key":{{"orderId":"o-{i}"}},"has_condition":false,"is_write":false}}}}"#,
                1_773_482_400_000_000_000u64 + i * 1_000_000
            ) + "\n"
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_rule_built_for_contract_1_0_loads_and_reports_on_the_1_1_host() {
    let rule = guests()[0].display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = scan_json(&[&reads(dir.path())], &["--no-builtin", "--rules", &rule]);
    assert_eq!(run.code, 1, "findings, and nothing refused: {}", run.stderr);
    let report = run.json();
    assert_eq!(report["rule_errors"], serde_json::json!([]));
    let rules = report["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(
        (&rules[0]["id"], &rules[0]["status"], &rules[0]["events"]),
        (&"TEST-CONTRACT".into(), &"ok".into(), &20.into())
    );
    assert_eq!(rules[0]["coverage"]["status"], "full", "{}", rules[0]);
    let all = findings(&report);
    assert_eq!(all.len(), 20, "one finding per DB event");
    assert_eq!(
        all[0],
        (
            "TEST-CONTRACT".to_owned(),
            "alice".to_owned(),
            "orders".to_owned(),
            vec!["ev-1".to_owned()]
        )
    );
    assert_eq!(report["findings"][0]["message"], "saw `GetItem`");
}

#[test]
fn a_rule_built_for_contract_0_4_is_refused_naming_both_versions() {
    let rule = guests()[1].display().to_string();
    let run = tracewarden(&["rules", "list", "--no-builtin", "--rules", &rule]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{rule}` refused:\n  \
             - built for contract `tracewarden:rule@0.4.0`, this host accepts \
             `tracewarden:rule@1.0.0` to `1.2.x`\n"
        )
    );
}

#[test]
fn a_rule_whose_state_evicted_says_so_in_its_coverage() {
    let rule = guests()[2].display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = scan_json(&[&reads(dir.path())], &["--no-builtin", "--rules", &rule]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let rule = &report["rules"][0];
    assert_eq!(
        (&rule["id"], &rule["events"]),
        (&"TEST-EVICT".into(), &20.into())
    );
    assert_eq!(rule["coverage"]["status"], "partial", "{rule}");
    assert_eq!(
        rule["coverage"]["notes"],
        serde_json::json!([
            "evicted 16 entries of its state `recent` to stay within its budget of 1 KiB \
             (peak 4 entries): findings that needed them may be missing"
        ])
    );
}
