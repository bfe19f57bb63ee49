//! Python rules: the `rules/templates/python` pack and a sandbox probe
//! (`tests/guests/python-probe`), built with componentize-py and scanned by the real binary.
//!
//! componentize-py comes from `$COMPONENTIZE_PY` or the project's virtual environment
//! (`tools/.venv`, which `scripts/install-test-tools` installs). Without either, the tests say
//! what is missing and return; with either, a failure is a failure. Built components are kept in
//! `target/test-guests/python/`, keyed by the digest of everything that goes into them, so a rerun
//! with the same sources does not build again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{Run, command, root};

/// componentize-py, or `None` after saying on stderr why the test is skipped. A
/// `$COMPONENTIZE_PY` that names no file is a mistake, not a reason to skip.
pub(crate) fn componentize_py() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("COMPONENTIZE_PY") {
        let tool = PathBuf::from(path);
        assert!(
            tool.exists(),
            "COMPONENTIZE_PY is `{}`, which does not exist",
            tool.display()
        );
        return Some(tool);
    }
    let tool = root().join("tools/.venv/bin/componentize-py");
    if tool.exists() {
        return Some(tool);
    }
    eprintln!(
        "skipped: componentize-py is not installed at `{}` (run scripts/install-test-tools, or \
         set COMPONENTIZE_PY to a componentize-py executable)",
        tool.display()
    );
    None
}

/// Every file under `dir` as `(path relative to dir, bytes)`, sorted; Python caches left out.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `text` with the scaffold placeholders of a pack named `name` filled in (what `rules new`
/// does).
fn substitute(text: &str, name: &str) -> String {
    text.replace("{{name}}", name)
        .replace("{{crate_name}}", &name.replace('-', "_"))
        .replace("{{rule_id}}", &format!("TW-{}-001", name.to_uppercase()))
}

/// Lays out the pack `source` as `rules new --lang python` scaffolds one: placeholders filled in
/// for `name`, its `tracewarden_sdk` link to the Python SDK followed (the SDK is vendored), the
/// contract in `wit/`. Builds `rule.wasm` with componentize-py unless a build of the same inputs
/// is kept, and writes its digest into `pack.toml`. Returns the pack directory.
fn build_pack(tool: &Path, source: &Path, name: &str) -> PathBuf {
    let version = Command::new(tool).arg("--version").output().unwrap();
    assert!(
        version.status.success(),
        "{} --version failed",
        tool.display()
    );
    let mut inputs = files(source)
        .into_iter()
        .map(|(rel, bytes)| {
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|_| panic!("`{rel}` in {} is not UTF-8 text", source.display()));
            (rel, substitute(&text, name).into_bytes())
        })
        .collect::<Vec<_>>();
    inputs.push((
        "wit/rule.wit".to_owned(),
        std::fs::read(root().join("wit/rule.wit")).unwrap(),
    ));
    let mut key_input = version.stdout.clone();
    for (rel, bytes) in &inputs {
        key_input.extend_from_slice(format!("\n{rel} {}\n", bytes.len()).as_bytes());
        key_input.extend_from_slice(bytes);
    }
    let key = tracewarden::rules::digest(&key_input);
    let key = key.trim_start_matches("sha256:").get(..16).unwrap();
    let pack = root().join(format!("target/test-guests/python/{name}-{key}"));
    let wasm = pack.join("rule.wasm");
    if !wasm.exists() {
        // Built in a directory of this process's own and renamed into place: test runners that
        // run each test in a process of its own (nextest) build the same pack at once.
        let staging = pack.with_file_name(format!("{name}-{key}.building-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        for (rel, bytes) in &inputs {
            let path = staging.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let out = Command::new(tool)
            .current_dir(&staging)
            .args(["-d", "wit", "-w", "rule", "componentize", "app", "-p", "."])
            .args(["-o", "rule.wasm"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "componentize-py failed on {}:\n{}{}",
            staging.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Renamed last, whole: a build that was cut short is never taken for a kept one. When
        // another process got there first, its build (of the same inputs) is kept; a directory
        // without `rule.wasm` (left by a build cut short before builds were staged) gives way.
        if std::fs::rename(&staging, &pack).is_err() {
            if !wasm.exists() {
                let _ = std::fs::remove_dir_all(&pack);
                let _ = std::fs::rename(&staging, &pack);
            }
            assert!(
                wasm.exists(),
                "cannot move {} into place",
                staging.display()
            );
            let _ = std::fs::remove_dir_all(&staging);
        }
        // Builds of earlier sources (~18 MiB each) are no longer needed.
        for entry in std::fs::read_dir(pack.parent().unwrap()).unwrap() {
            let old = entry.unwrap().path();
            let file_name = old.file_name().unwrap().to_string_lossy().into_owned();
            if old != pack && file_name.strip_prefix(name).is_some_and(|k| k.len() == 17) {
                let _ = std::fs::remove_dir_all(old);
            }
        }
    }
    let digest = tracewarden::rules::digest(&std::fs::read(&wasm).unwrap());
    let manifest = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
    let build_line = "build = \"componentize-py\"\n";
    assert!(manifest.contains(build_line), "{manifest}");
    let manifest = manifest
        .lines()
        .filter(|l| !l.starts_with("sha256 = "))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replace(build_line, &format!("{build_line}sha256 = \"{digest}\"\n"));
    // Written aside and renamed: another process may be reading it (the same bytes).
    let aside = pack.with_file_name(format!("{name}-{key}.pack.toml.{}", std::process::id()));
    std::fs::write(&aside, manifest).unwrap();
    std::fs::rename(aside, pack.join("pack.toml")).unwrap();
    pack
}

/// The template pack, scaffolded as `readback` and built once per test run.
fn template_pack(tool: &Path) -> &'static Path {
    static PACK: OnceLock<PathBuf> = OnceLock::new();
    PACK.get_or_init(|| build_pack(tool, &root().join("rules/templates/python"), "readback"))
}

/// The sandbox probe, built once per test run.
fn probe_pack(tool: &Path) -> &'static Path {
    static PACK: OnceLock<PathBuf> = OnceLock::new();
    PACK.get_or_init(|| {
        build_pack(
            tool,
            &root().join("tests/guests/python-probe"),
            "python-probe",
        )
    })
}

/// `scan --no-builtin --rules PACK --format json` with `args`, run in the pack's directory (so
/// evidence sources read `tests/hit/...`).
fn scan(pack: &Path, args: &[&str]) -> Run {
    let out = command()
        .current_dir(pack)
        .args(["scan", "--no-builtin", "--rules", ".", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `(rule, class, principal, resource, [(evidence role, source)])` of every finding.
type Row = (String, String, String, String, Vec<(String, String)>);

fn rows(report: &Value) -> Vec<Row> {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                text(&f["rule_id"]),
                text(&f["class"]),
                text(&f["principal"]),
                text(&f["resource"]),
                f["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| (text(&e["role"]), text(&e["source"])))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_python_template_rule_finds_its_hit_and_not_its_miss() {
    let Some(tool) = componentize_py() else {
        return;
    };
    let pack = template_pack(&tool);

    let hit = scan(pack, &["tests/hit/cloudtrail.json"]);
    assert_eq!(hit.code, 1, "{}", hit.stderr);
    let report = hit.json();
    assert_eq!(report["rule_errors"], serde_json::json!([]));
    assert_eq!(report["rules"][0]["id"], "TW-READBACK-001");
    assert_eq!(report["rules"][0]["title"], "Item read after delete");
    assert_eq!(report["rules"][0]["kind"], "wasm");
    let alice = "arn:aws:iam::111122223333:user/alice";
    assert_eq!(
        rows(&report),
        [(
            "TW-READBACK-001".to_owned(),
            "incident".to_owned(),
            alice.to_owned(),
            "orders/orderId=o-1".to_owned(),
            vec![
                (
                    "delete".to_owned(),
                    "tests/hit/cloudtrail.json:34".to_owned()
                ),
                ("read".to_owned(), "tests/hit/cloudtrail.json:65".to_owned()),
            ],
        )]
    );
    assert_eq!(
        report["findings"][0]["message"],
        format!("`{alice}` read `orders/orderId=o-1` after deleting it")
    );

    let miss = scan(pack, &["tests/miss/cloudtrail.json"]);
    assert_eq!(miss.code, 0, "{}", miss.stderr);
    let report = miss.json();
    assert_eq!(report["rules"][0]["status"], "ok");
    assert_eq!(report["rules"][0]["events"], 5, "every DB event was sent");
    assert_eq!(rows(&report), []);
}

#[test]
fn a_python_rule_sees_no_files_environment_clock_or_network() {
    let Some(tool) = componentize_py() else {
        return;
    };
    let run = scan(
        probe_pack(&tool),
        &[&root()
            .join("rules/templates/python/tests/hit/cloudtrail.json")
            .display()
            .to_string()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["rule_errors"], serde_json::json!([]));
    assert_eq!(
        report["findings"][0]["message"],
        "open=FileNotFoundError listdir=FileNotFoundError cwd='/' environ={} time=0.0 \
         monotonic=0.0 connect=ModuleNotFoundError(socket)"
    );
}

/// Scans the hostile trigger fixture with the probe doing `probe`; returns the run.
fn probe(tool: &Path, probe: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probe.toml");
    std::fs::write(&config, format!("[python-probe]\nprobe = \"{probe}\"\n")).unwrap();
    scan(
        probe_pack(tool),
        &[
            "--rule-config",
            &config.display().to_string(),
            &crate::common::fixture("events/hostile-trigger.jsonl"),
        ],
    )
}

/// The reason the probe's one rule error gives.
fn stopped_because(run: &Run) -> String {
    assert_eq!(run.code, 2, "a stopped rule makes the scan incomplete");
    let report = run.json();
    let errors = report["rule_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["rules"], serde_json::json!(["TEST-PY-PROBE"]));
    errors[0]["reason"].as_str().unwrap().to_owned()
}

#[test]
fn a_python_rule_is_held_to_the_memory_cap_and_cpu_budget() {
    let Some(tool) = componentize_py() else {
        return;
    };
    // 1 MiB kept per event: the first 256-event batch passes the 64 MiB cap (the runtime itself
    // takes ~12 MiB of it).
    assert_eq!(
        stopped_because(&probe(&tool, "hungry")),
        "exceeded its memory cap of 64 MiB"
    );
    assert_eq!(
        stopped_because(&probe(&tool, "looping")),
        "exceeded its CPU budget (ran out of fuel)"
    );
}

#[test]
fn a_python_exception_and_a_refused_option_are_reported_in_the_rules_words() {
    let Some(tool) = componentize_py() else {
        return;
    };
    let reason = stopped_because(&probe(&tool, "raising"));
    assert!(
        reason.starts_with("trapped (wasm `unreachable` instruction executed): Traceback")
            && reason.contains("ValueError: deliberate failure at `ev-0001`"),
        "{reason}"
    );

    let refused = probe(&tool, "nope");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.contains(
            "rule pack `python-probe (.)` refused:\n  - `rule.wasm`: rejects its options: option \
             `probe` is `nope`: expected sandbox, hungry, looping, raising or echo\n"
        ),
        "{}",
        refused.stderr
    );
}

/// Runs `python3 -m unittest` in `dir` (discovering `test_*.py`), with the bindings
/// componentize-py generates and `path` importable; returns the number of tests run.
fn unittest(tool: &Path, dir: &Path, path: &Path) -> usize {
    // The SDK imports the bindings componentize-py generates; CPython runs them natively.
    let bindings = tempfile::tempdir().unwrap();
    let status = Command::new(tool)
        .args(["-d", &root().join("wit").display().to_string()])
        .args(["-w", "rule", "bindings"])
        .arg(bindings.path())
        .status()
        .unwrap();
    assert!(status.success(), "componentize-py bindings failed");
    let venv_python = tool.with_file_name("python3");
    let python = if venv_python.exists() {
        venv_python
    } else {
        PathBuf::from("python3")
    };
    let out = Command::new(&python)
        .current_dir(dir)
        .args(["-m", "unittest", "discover", "-s", "."])
        .env(
            "PYTHONPATH",
            format!("{}:{}", bindings.path().display(), path.display()),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", dir.display());
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split_once(" test")?.0.parse().ok())
        .unwrap_or_else(|| panic!("no test count: {stderr}"))
}

#[test]
fn the_python_sdk_and_template_unit_tests_pass_in_cpython() {
    let Some(tool) = componentize_py() else {
        return;
    };
    let sdk = root().join("sdk/python");
    assert_eq!(unittest(&tool, &sdk.join("tests"), &sdk), 10);
    // The scaffolded pack's own tests (`test_app.py`, on `tracewarden_sdk.testing`).
    let pack = template_pack(&tool);
    assert_eq!(unittest(&tool, pack, pack), 3);
}

/// What the probe's `echo` view of an event should read, from the normalized event
/// (`tracewarden normalize`): the same names, empty for absent.
fn expected_view(event: &Value) -> Value {
    let text = |v: &Value| Value::String(v.as_str().unwrap_or("").to_owned());
    let source = &event["source"];
    let file = source["file"].as_str().unwrap();
    let line = source["line"].as_u64().unwrap_or(0);
    let kind = ["http", "db_operation", "key_lifecycle", "auth_decision"]
        .into_iter()
        .find(|k| event.get(*k).is_some())
        .unwrap();
    let mut view = serde_json::json!({
        "id": event["id"],
        "time_ns": event["time_ns"],
        "source": if line > 0 {
            format!("{file}:{line}")
        } else {
            format!("{file}#{}", source["record"])
        },
        "kind": kind,
        "principal": text(&event["actor"]["principal"]),
        "key_id": text(&event["actor"]["key_id"]),
        "tenant": text(&event["actor"]["tenant"]),
        "request_id": text(&event["correlation"]["request_id"]),
        "trace_id": text(&event["correlation"]["trace_id"]),
        "outcome": event["outcome"],
        "attributes": event.get("attributes").cloned().unwrap_or(serde_json::json!({})),
    });
    if let Some(db) = event.get("db_operation") {
        view["operation"] = db["operation"].clone();
        view["table"] = db["table"].clone();
        view["key"] = db.get("key").cloned().unwrap_or(serde_json::json!({}));
        view["is_write"] = db["is_write"].clone();
    }
    if let Some(http) = event.get("http") {
        view["method"] = http["method"].clone();
        view["path"] = http["path"].clone();
        view["status"] = http.get("status").cloned().unwrap_or(serde_json::json!(0));
    }
    view
}

#[test]
fn a_python_rule_reads_what_the_normalized_events_say() {
    let Some(tool) = componentize_py() else {
        return;
    };
    // Every kind of event and input the SDK's views decode, and strings outside ASCII (the
    // batch's offsets count UTF-8 bytes).
    let dir = tempfile::tempdir().unwrap();
    let unicode = dir.path().join("unicode.jsonl");
    std::fs::write(
        &unicode,
        concat!(
            r#"{"id":"ev-ü1","time_ns":1773482400001000000,"precision_ns":1000,"source":{"file":"unicode.jsonl","record":1,"line":1,"format":"events"},"actor":{"principal":"ålice ☃"},"outcome":"success","db_operation":{"service":"dynamodb","operation":"DeleteItem","table":"ördres","key":{"id":"ø-1"},"has_condition":false,"is_write":true}}"#,
            "\n",
            r#"{"id":"ev-2","time_ns":1773482400002000000,"precision_ns":1000,"source":{"file":"unicode.jsonl","record":2,"line":2,"format":"events"},"actor":{"principal":"bob"},"outcome":"denied","db_operation":{"service":"dynamodb","operation":"GetItem","table":"orders","key":{"id":"o-1","sk":"日本"},"has_condition":false,"is_write":false}}"#,
            "\n",
        ),
    )
    .unwrap();
    let inputs = [
        root().join("rules/templates/python/tests/hit/cloudtrail.json"),
        root().join("tests/fixtures/cloudtrail/key-lifecycle.json"),
        root().join("tests/fixtures/recorded/app.har"),
        root().join("tests/fixtures/gateway/apigw-access.jsonl"),
        unicode,
    ]
    .map(|p| p.display().to_string());
    let normalized = command().arg("normalize").args(&inputs).output().unwrap();
    assert!(normalized.status.success());
    let mut expected: Vec<Value> = String::from_utf8(normalized.stdout)
        .unwrap()
        .lines()
        .map(|l| expected_view(&serde_json::from_str(l).unwrap()))
        .collect();

    let config = dir.path().join("echo.toml");
    std::fs::write(&config, "[python-probe]\nprobe = \"echo\"\n").unwrap();
    let mut args = vec!["--rule-config".to_owned(), config.display().to_string()];
    args.extend(inputs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = scan(probe_pack(&tool), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let mut seen: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        // The probe also reports what it saw of the sandbox, at `finish`.
        .filter(|m| !m.starts_with("open="))
        .map(|m| serde_json::from_str(m).unwrap())
        .collect();
    let by_id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    expected.sort_by_key(by_id);
    seen.sort_by_key(by_id);
    assert_eq!(expected.len(), 31);
    assert_eq!(seen, expected);
}
