//! Hostile rules are stopped, named and reported while the other rules' findings still come out.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{findings, root, scan_json};

/// Builds `tests/guests/hostile` once per feature into its own target directory and returns the
/// components: looping, hungry, trapping, and the honest flushing one.
fn hostile_rules() -> &'static [PathBuf; 4] {
    static BUILT: OnceLock<[PathBuf; 4]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = root().join("target/test-guests");
        let out = target.join("components");
        std::fs::create_dir_all(&out).unwrap();
        ["looping", "hungry", "trapping", "flushing"].map(|feature| {
            let status = Command::new(env!("CARGO"))
                .current_dir(root())
                .args([
                    "build",
                    "--release",
                    "--target",
                    "wasm32-wasip2",
                    "-p",
                    "tracewarden-test-hostile",
                ])
                .args(["--features", feature, "--target-dir"])
                .arg(&target)
                .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .status()
                .expect("run cargo");
            assert!(status.success(), "building the {feature} guest failed");
            let dest = out.join(format!("{feature}.wasm"));
            std::fs::copy(
                target.join("wasm32-wasip2/release/tracewarden_test_hostile.wasm"),
                &dest,
            )
            .unwrap();
            dest
        })
    })
}

#[test]
fn looping_hungry_and_trapping_rules_are_stopped_and_named() {
    let [looping, hungry, trapping, _] = hostile_rules().clone().map(|p| p.display().to_string());
    let fixture = crate::common::fixture("events/hostile-trigger.jsonl");
    let run = scan_json(
        &[&fixture],
        &[
            "--rules", &looping, "--rules", &hungry, "--rules", &trapping,
        ],
    );
    assert_eq!(
        run.code, 2,
        "a stopped rule makes the scan incomplete: {}",
        run.stderr
    );
    let report = run.json();

    let errors: Vec<(String, String, u64)> = report["rule_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["rules"][0].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
                e["events_before_failure"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    let reason = |id: &str| {
        errors
            .iter()
            .find(|e| e.0 == id)
            .unwrap_or_else(|| panic!("{id} not reported"))
            .clone()
    };
    // Each hostile rule reports the first 256-event batch, then misbehaves in the second.
    assert_eq!(
        reason("TEST-LOOP").1,
        "exceeded its CPU budget (ran out of fuel)"
    );
    assert_eq!(reason("TEST-HUNGRY").1, "exceeded its memory cap of 64 MiB");
    let trap = reason("TEST-TRAP").1;
    assert!(
        trap.starts_with("trapped (wasm `unreachable` instruction executed): ")
            && trap.contains("deliberate failure after 0 hoarded buffers"),
        "{trap}"
    );
    for id in ["TEST-LOOP", "TEST-HUNGRY", "TEST-TRAP"] {
        assert_eq!(reason(id).2, 256, "{id} failed in its second batch");
    }
    for rule in report["rules"].as_array().unwrap() {
        let failed = rule["id"].as_str().unwrap().starts_with("TEST-");
        assert_eq!(
            rule["status"],
            if failed { "failed" } else { "ok" },
            "{rule}"
        );
    }

    // Findings of the first batch survive; nothing after the failure is fed or reported.
    let all = findings(&report);
    for id in ["TEST-LOOP", "TEST-HUNGRY", "TEST-TRAP"] {
        assert_eq!(all.iter().filter(|f| f.0 == id).count(), 256, "{id}");
    }
    // The built-in rules still report on the same events.
    assert_eq!(all.iter().filter(|f| f.0 == "TW-TOCTOU-001").count(), 1);
    assert_eq!(all.iter().filter(|f| f.0 == "TW-DDB-001").count(), 1);

    assert!(run.stderr.contains("error: rule file `looping.wasm` of pack `looping` (TEST-LOOP) was stopped: exceeded its CPU budget"), "{}", run.stderr);
}

#[test]
fn an_honest_rule_that_held_every_event_finishes_its_flush() {
    let [_, _, _, flushing] = hostile_rules().clone().map(|p| p.display().to_string());
    // 40,000 events: the rule's flush needs more CPU than one call's fixed budget (50 M fuel),
    // and gets its share per event it was sent.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.jsonl");
    let mut text = String::new();
    for i in 1..=40_000u64 {
        text.push_str(&format!(
            r#"{{"id":"ev-{i}","time_ns":{},"precision_ns":1000,"source":{{"file":"many.jsonl","record":{i},"line":{i},"format":"events"}},"actor":{{"principal":"alice"}},"outcome":"success","db_operation":{{"service":"dynamodb","operation":"GetItem","table":"orders","key":{{"orderId":"o-{i}"}},"has_condition":false,"is_write":false}}}}"#,
            1_773_482_400_000_000_000u64 + i * 1_000_000
        ));
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let run = scan_json(
        &[&path.display().to_string()],
        &["--no-builtin", "--rules", &flushing],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["rule_errors"], serde_json::json!([]));
    assert_eq!(report["complete"], true);
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("flushed 40000 events"), "{message}");
}
