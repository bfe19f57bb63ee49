//! Hostile rules are stopped, named and reported while the other rules' findings still come out.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{findings, root, scan_json};

/// Builds `tests/guests/hostile` once per feature into its own target directory and returns the
/// three components: looping, hungry, trapping.
fn hostile_rules() -> &'static [PathBuf; 3] {
    static BUILT: OnceLock<[PathBuf; 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = root().join("target/test-guests");
        let out = target.join("components");
        std::fs::create_dir_all(&out).unwrap();
        ["looping", "hungry", "trapping"].map(|feature| {
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
    let [looping, hungry, trapping] = hostile_rules().clone().map(|p| p.display().to_string());
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
