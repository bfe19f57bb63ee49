//! The command line as users of Hayabusa, Trivy or Semgrep expect it: rule selection, a log time
//! window, include/exclude globs for directories, `rules show`, shell completions, help with
//! examples and exit codes, and README examples that run as written.

use std::process::Command;

use crate::common::{fixture, root, scan_json, tracewarden};

fn rule_ids(report: &serde_json::Value) -> Vec<String> {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rules_are_selected_by_id_glob_and_a_glob_that_matches_nothing_is_an_error() {
    let trail = fixture("cloudtrail/toctou-positive.json");
    let run = scan_json(
        &[&trail],
        &[
            "--rule",
            "TW-TOCTOU-*",
            "--exclude-rule",
            "TW-TOCTOU-00[26]",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(
        rule_ids(&report),
        [
            "TW-TOCTOU-001",
            "TW-TOCTOU-003",
            "TW-TOCTOU-004",
            "TW-TOCTOU-005"
        ]
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule_id"] == "TW-TOCTOU-001")
    );

    let typo = tracewarden(&["scan", "--rule", "TW-TOCTU-*", &trail]);
    assert_eq!(typo.code, 2);
    assert_eq!(
        typo.stderr,
        "error: `--rule TW-TOCTU-*` matches no loaded rule (`tracewarden rules list` shows them)\n"
    );
    let listed = tracewarden(&["rules", "list", "--rule", "TW-KEY-00[12]"]);
    let ids: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    // Both rules live in one component with the pack's other key rules: the component runs, the
    // others' findings are dropped, and only the selected rules are listed.
    assert_eq!(ids, ["TW-KEY-001", "TW-KEY-002"], "{}", listed.stdout);
}

#[test]
fn since_and_until_skip_and_count_events_outside_the_window() {
    let trail = fixture("cloudtrail/toctou-positive.json");
    let run = scan_json(
        &[&trail],
        &[
            "--since",
            "2026-03-14T10:00:02Z",
            "--until",
            "2026-03-15",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let input = &run.json()["inputs"][0];
    assert_eq!(
        (
            input["records"].as_u64(),
            input["events"].as_u64(),
            input["skipped"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        input["skipped_reasons"],
        serde_json::json!({"outside the --since/--until window": 1})
    );
    let bad = tracewarden(&["scan", "--since", "last tuesday", &trail]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.starts_with(
            "error: invalid value 'last tuesday' for '--since <TIME>': `last tuesday` is no time: \
         expected RFC 3339 (2026-03-14T10:00:00Z) or a date (2026-03-14)"
        ),
        "{}",
        bad.stderr
    );
    // Key lifecycle records are state: read whatever their time.
    let keys = scan_json(
        &[
            &fixture("inventory/keys.json"),
            &fixture("recorded/app.har"),
        ],
        &["--since", "2026-11-20", "--fail-on", "none"],
    )
    .json();
    assert_eq!(
        keys["inputs"][0]["skipped_reasons"].get("outside the --since/--until window"),
        None
    );
}

#[test]
fn globs_leave_files_in_directories_unread_but_never_a_named_file() {
    let dir = fixture("recorded/docs-express");
    let plain = scan_json(&[&dir], &["--fail-on", "none"]);
    assert!(
        plain
            .stderr
            .contains("found in directories are no log in a known format")
    );
    let globbed = scan_json(
        &[&dir],
        &[
            "--exclude",
            "*.md",
            "--exclude",
            "*.js",
            "--exclude",
            "*.py",
            "--exclude",
            "*.txt",
            "--exclude",
            "*.toml",
            "--exclude",
            "package*.json",
            "--exclude",
            "scenario.json",
            "--fail-on",
            "none",
        ],
    );
    assert!(!globbed.stderr.contains("warning"), "{}", globbed.stderr);
    let paths: Vec<String> = globbed.json()["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        paths,
        [
            "app-otlp.json",
            "app-requests.jsonl",
            "app.har",
            "cloudtrail.json",
            "dynamodb.har"
        ]
    );
    assert_eq!(plain.json()["findings"], globbed.json()["findings"]);
    // --include: only what matches; a file named on the command line is read regardless.
    let included = scan_json(
        &[&dir, &fixture("recorded/docs-express/app.har")],
        &["--include", "*.jsonl", "--fail-on", "none"],
    )
    .json();
    let paths: Vec<&str> = included["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(paths, ["app-requests.jsonl", "app.har"]);
}

#[test]
fn rules_show_describes_a_rule_and_names_the_loaded_ones_for_a_typo() {
    let run = tracewarden(&["rules", "show", "TW-TOCTOU-001"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("TW-TOCTOU-001  "), "{}", run.stdout);
    for expected in [
        "class:       weakness (one finding per site, occurrences counted)",
        "maps to:     CWE CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition",
        "option:      check_window_ms = ",
    ] {
        assert!(
            run.stdout.contains(expected),
            "no `{expected}` in:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("reads:"), "a WASM rule has no `reads`");
    let rego = tracewarden(&["rules", "show", "TW-BOLA-004"]);
    assert_eq!(rego.code, 0, "{}", rego.stderr);
    let reads = "reads:       id, outcome, actor.principal, correlation.linked_event, \
                 correlation.app_request_id, db_operation.operation, db_operation.condition, \
                 db_operation.is_write, facts.privileged, facts.objects.collection, \
                 facts.objects.id, facts.objects.scoped, facts.objects.owner_source, \
                 facts.objects.owner_condition\n";
    assert!(rego.stdout.contains(reads), "{}", rego.stdout);
    let typo = tracewarden(&["rules", "show", "TW-TOCTOU-999"]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .starts_with("error: no rule `TW-TOCTOU-999` is loaded (loaded: TW-BOLA-001, ")
    );
}

#[test]
fn an_error_names_its_os_cause_once() {
    let run = tracewarden(&["scan", "no-such-trail.json"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.matches("No such file or directory").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr,
        "error: cannot read `no-such-trail.json`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn completions_and_help_carry_what_users_look_for() {
    let bash = tracewarden(&["completions", "bash"]);
    assert_eq!(bash.code, 0);
    assert!(
        bash.stdout.contains("complete -F _tracewarden"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("--exclude-rule"));
    let help = tracewarden(&["scan", "--help"]);
    assert!(
        help.stdout
            .contains("Examples:\n  tracewarden scan examples/dynamodb-orders\n")
    );
    assert!(
        help.stdout
            .contains("Exit codes:\n  0  no finding at or above --fail-on")
    );
    // Every example in the help runs from a clone.
    for line in help
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  tracewarden "))
    {
        run_example(&format!("tracewarden {line}"));
    }
}

/// A scratch directory that sees the clone's `examples/` and `tests/`, where documented command
/// lines run (so that `-o out/` lands there).
fn scratch() -> tempfile::TempDir {
    let scratch = tempfile::tempdir().unwrap();
    for dir in ["examples", "tests"] {
        std::os::unix::fs::symlink(root().join(dir), scratch.path().join(dir)).unwrap();
    }
    scratch
}

/// Runs one documented command line with `tracewarden` on the PATH in its own scratch directory.
fn run_example(line: &str) {
    run_example_in(line, &scratch());
}

/// Runs one documented command line with `tracewarden` on the PATH in `scratch`, and checks it
/// did its job: exit 0 or 1 (findings), no error, something printed or written.
fn run_example_in(line: &str, scratch: &tempfile::TempDir) {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tracewarden"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", line])
        .current_dir(scratch.path())
        .env("PATH", path)
        .env("TRACEWARDEN_CACHE_DIR", crate::common::CACHE_DIR)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "`{line}` exited {code}:\n{stderr}");
    assert!(!stderr.contains("error"), "`{line}`:\n{stderr}");
    let wrote = std::fs::read_dir(scratch.path()).unwrap().count() > 2;
    assert!(
        !out.stdout.is_empty() || !out.stderr.is_empty() || wrote,
        "`{line}` printed and wrote nothing"
    );
}

#[test]
fn every_readme_example_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let examples = readme
        .split("Every example below runs as written")
        .nth(1)
        .expect("the README's examples section");
    let block = examples
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let lines: Vec<&str> = block
        .lines()
        .filter(|l| l.starts_with("tracewarden "))
        .collect();
    assert!(lines.len() >= 10, "{lines:?}");
    // In order, in one directory: a later example may read what an earlier one wrote.
    let dir = scratch();
    for line in lines {
        run_example_in(line, &dir);
    }
}
