//! `rules new`, `rules build` and `rules test`: scaffolded packs build and pass their own tests,
//! and a changed expectation fails with a diff.

use std::path::Path;

use crate::common::{command, root, tracewarden};

/// `tracewarden` with `args` and extra environment, from the workspace root.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> crate::common::Run {
    let mut cmd = command();
    cmd.args(args).current_dir(root());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    crate::common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Replaces `from` with `to` in `file`, which must hold it.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{}: {text}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The text report of a pack whose two template cases pass.
fn green(name: &str, dir: &str, id: &str) -> String {
    format!(
        "pack `{name}` ({dir}): 2 case(s)\n  ok    hit\n  ok    miss\n  coverage (hit cases, miss \
         cases):\n    {id:<14} 1 hit, 1 miss\n1 pack(s), 2 case(s): 2 passed, 0 failed\n"
    )
}

/// The text report after the hit case's principal was changed from `alice` to `bob`.
fn red(name: &str, dir: &str, id: &str) -> String {
    format!(
        "pack `{name}` ({dir}): 2 case(s)\n  FAIL  hit\n        expected, not reported:\n        \
         - {{ rule = \"{id}\", class = \"incident\", principal = \"bob\", resource = \
         \"orders/orderId=o-1\", evidence = [\"delete\", \"read\"] }}\n        reported, not \
         expected:\n        + {{ rule = \"{id}\", class = \"incident\", principal = \"alice\", \
         resource = \"orders/orderId=o-1\", evidence = [\"delete\", \"read\"] }}\n  ok    miss\n  \
         coverage (hit cases, miss cases):\n    {id:<14} 1 hit, 1 miss\n1 pack(s), 2 case(s): 1 \
         passed, 1 failed\n"
    )
}

#[test]
fn a_scaffolded_rego_pack_passes_its_tests_and_a_changed_expectation_fails_with_a_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("acme");
    let dir = pack.display().to_string();
    let made = tracewarden(&["rules", "new", "acme-ddb", "--lang", "rego", "--dir", &dir]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert_eq!(
        made.stdout,
        format!(
            "created pack `acme-ddb` (rego) in `{dir}`:\n  README.md\n  acme_ddb.rego\n  \
             pack.toml\n  tests/hit/case.toml\n  tests/hit/events.jsonl\n  tests/miss/case.toml\n  \
             tests/miss/events.jsonl\nnext: tracewarden rules test {dir} --minimum-tests 2\n"
        )
    );
    let test = ["rules", "test", &dir, "--minimum-tests", "2"];
    let run = tracewarden(&test);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, green("acme-ddb", &dir, "TW-ACME-DDB-001"));
    // The scaffolded pack loads in a scan, and finds what its hit case expects.
    let events = pack.join("tests/hit/events.jsonl").display().to_string();
    let scan = tracewarden(&[
        "scan",
        "--no-builtin",
        "--rules",
        &dir,
        "--format",
        "json",
        &events,
    ]);
    assert_eq!(scan.code, 1, "{}", scan.stderr);
    assert_eq!(scan.json()["findings"][0]["rule_id"], "TW-ACME-DDB-001");

    edit(&pack.join("tests/hit/case.toml"), "\"alice\"", "\"bob\"");
    let run = tracewarden(&test);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, red("acme-ddb", &dir, "TW-ACME-DDB-001"));

    // An edited rule is refused until `rules build` pins it again.
    let rule = pack.join("acme_ddb.rego");
    edit(&rule, "\"severity\": \"medium\"", "\"severity\": \"high\"");
    let run = tracewarden(&test);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("`acme_ddb.rego` does not match its digest: `pack.toml` says `sha256:"),
        "{}",
        run.stderr
    );
    let built = tracewarden(&["rules", "build", &dir]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(
        built
            .stdout
            .starts_with(&format!("pinned `{}` (sha256:", rule.display())),
        "{}",
        built.stdout
    );
    assert_eq!(tracewarden(&test).code, 1);
}

#[test]
fn cases_that_prove_nothing_or_cannot_run_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("p");
    let dir = pack.display().to_string();
    let made = tracewarden(&["rules", "new", "acme", "--lang", "rego", "--dir", &dir]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    // A miss case whose inputs hold no event the rule subscribes to.
    let quiet = pack.join("tests/quiet");
    std::fs::create_dir(&quiet).unwrap();
    std::fs::write(quiet.join("case.toml"), "rules = [\"TW-ACME-001\"]\n").unwrap();
    let hit = std::fs::read_to_string(pack.join("tests/hit/events.jsonl")).unwrap();
    std::fs::write(
        quiet.join("events.jsonl"),
        hit.replace("\"DeleteItem\"", "\"PutItem\"")
            .replace("\"GetItem\"", "\"Query\""),
    )
    .unwrap();
    let run = tracewarden(&["rules", "test", &dir, "--minimum-tests", "3"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "pack `acme` ({dir}): 3 case(s)\n  ok    hit\n  ok    miss\n  FAIL  quiet\n        \
             miss case for TW-ACME-001, which was sent no event of it: a miss case must feed the \
             rule events it then does not report on\n  coverage (hit cases, miss cases):\n    \
             TW-ACME-001    1 hit, 2 miss\n1 pack(s), 3 case(s): 2 passed, 1 failed\n"
        )
    );
    // Without a miss case, --minimum-tests 2 fails the rule, even with two cases.
    std::fs::remove_dir_all(&quiet).unwrap();
    std::fs::rename(pack.join("tests/miss"), pack.join("tests/hit-again")).unwrap();
    std::fs::copy(
        pack.join("tests/hit/case.toml"),
        pack.join("tests/hit-again/case.toml"),
    )
    .unwrap();
    std::fs::copy(
        pack.join("tests/hit/events.jsonl"),
        pack.join("tests/hit-again/events.jsonl"),
    )
    .unwrap();
    let run = tracewarden(&["rules", "test", &dir, "--minimum-tests", "2"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.ends_with(
            "    TW-ACME-001    2 hit, 0 miss  FAIL: no miss case (one naming it and expecting \
             no finding)\n1 pack(s), 2 case(s): 2 passed, 0 failed; 1 rule(s) short of \
             --minimum-tests 2\n"
        ),
        "{}",
        run.stdout
    );
    let run = tracewarden(&["rules", "test", &dir, "--minimum-tests", "3"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "    TW-ACME-001    2 hit, 0 miss  FAIL: 2 test case(s), fewer than the 3 \
             `--minimum-tests` asks for\n"
        ),
        "{}",
        run.stdout
    );
    // A case naming a rule the pack does not have cannot run.
    let case = pack.join("tests/hit/case.toml");
    edit(
        &case,
        "rules = [\"TW-ACME-001\"]",
        "rules = [\"TW-ACME-001\", \"TW-OTHER-9\"]",
    );
    let run = tracewarden(&["rules", "test", &dir]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: `{}`: rule `TW-OTHER-9` is not in the pack (its rules: TW-ACME-001)\n",
            case.display()
        )
    );
    std::fs::write(
        &case,
        "rules = [\"TW-ACME-001\"]\n[[expect]]\nrule = \"TW-ACME-001\"\n",
    )
    .unwrap();
    let run = tracewarden(&["rules", "test", &dir]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: `{}`: invalid case: missing field `class`\n",
            case.display()
        )
    );
}

#[test]
fn rules_new_refuses_what_it_cannot_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    std::fs::write(tmp.path().join("x"), "").unwrap();
    let run = tracewarden(&["rules", "new", "acme", "--lang", "rego", "--dir", &dir]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!("error: `{dir}` exists and is not empty: name a new directory\n")
    );
    let run = tracewarden(&["rules", "new", "acme", "--lang", "cobol", "--dir", &dir]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(
            "error: `--lang cobol`: no template for it in this tracewarden (languages: "
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rego, rust"), "{}", run.stderr);
    let run = tracewarden(&["rules", "new", "toctou", "--lang", "rego", "--dir", &dir]);
    assert_eq!(
        run.stderr,
        "error: the pack name `toctou` is reserved: give the pack another name\n"
    );
}

#[test]
fn a_scaffolded_rust_pack_builds_and_passes_its_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("acme-rs");
    let dir = pack.display().to_string();
    let sdk = root().join("sdk").display().to_string();
    let made = tracewarden(&[
        "rules",
        "new",
        "acme-rs",
        "--lang",
        "rust",
        "--dir",
        &dir,
        "--sdk-path",
        &sdk,
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let cargo_toml = std::fs::read_to_string(pack.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains(&format!("\ntracewarden-sdk = {{ path = \"{sdk}\" }}\n")),
        "{cargo_toml}"
    );
    // Unbuilt, the pack is refused with a hint.
    let run = tracewarden(&["rules", "test", &dir]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("(a built file: run `tracewarden rules build` on the pack)"),
        "{}",
        run.stderr
    );
    // The workspace's lock file pins the SDK's dependencies to the versions already fetched, and
    // a target directory under ours keeps them compiled between runs.
    std::fs::copy(root().join("Cargo.lock"), pack.join("Cargo.lock")).unwrap();
    let target = root().join("target/e2e-scaffold").display().to_string();
    let built = run_with(&["rules", "build", &dir], &[("CARGO_TARGET_DIR", &target)]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    // The digest written is the component's: the test run below loads the pack, checking it.
    let manifest = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
    let digest = manifest
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no digest written: {manifest}"));
    assert_eq!(
        built.stdout,
        format!(
            "built `{}` ({digest})\n",
            pack.join("acme_rs.wasm").display()
        )
    );

    let test = ["rules", "test", &dir, "--minimum-tests", "2"];
    let run = tracewarden(&test);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, green("acme-rs", &dir, "TW-ACME-RS-001"));
    edit(&pack.join("tests/hit/case.toml"), "\"alice\"", "\"bob\"");
    let run = tracewarden(&test);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, red("acme-rs", &dir, "TW-ACME-RS-001"));
}

#[test]
fn a_case_runs_with_its_options() {
    // A copy of the built-in toctou pack's manifest (so its compiled-in component runs) with one
    // of its cases.
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("tests/check-then-act");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::copy(
        root().join("rules/toctou/pack.toml"),
        tmp.path().join("pack.toml"),
    )
    .unwrap();
    for file in ["case.toml", "toctou-positive.json"] {
        std::fs::copy(
            root().join("rules/toctou/tests/check-then-act").join(file),
            case.join(file),
        )
        .unwrap();
    }
    let dir = tmp.path().display().to_string();
    let run = tracewarden(&["rules", "test", &dir, "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The update came 2 s after the read: a 1 ms window no longer pairs them.
    let mut text = std::fs::read_to_string(case.join("case.toml")).unwrap();
    text.push_str("\n[config]\ncheck_window_ms = 1\n");
    std::fs::write(case.join("case.toml"), text).unwrap();
    let run = tracewarden(&["rules", "test", &dir, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report[0]["cases"][0],
        serde_json::json!({
            "name": "check-then-act",
            "rules": ["TW-TOCTOU-001", "TW-TOCTOU-002", "TW-TOCTOU-003", "TW-TOCTOU-004",
                      "TW-TOCTOU-005", "TW-TOCTOU-006"],
            "status": "failed",
            "missing": [{
                "rule": "TW-TOCTOU-001",
                "class": "weakness",
                "principal": "arn:aws:sts::111122223333:assumed-role/orders-api/alice",
                "resource": "orders UpdateItem",
                "evidence": ["check", "use"]
            }],
            "unexpected": [],
            "problems": []
        })
    );
}

#[test]
fn rules_build_names_what_it_cannot_build() {
    let run = tracewarden(&["rules", "build", "rules/toctou"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: `rules/toctou` is the built-in pack `toctou`: tracewarden's own build makes its \
         files\n"
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("pack.toml"),
        "name = \"py\"\nversion = \"0.1.0\"\n[[rules]]\nfile = \"rule.wasm\"\nkind = \"wasm\"\n\
         build = \"componentize-py\"\n",
    )
    .unwrap();
    let dir = tmp.path().display().to_string();
    let missing = tmp.path().join("no-such-tool").display().to_string();
    let run = run_with(&["rules", "build", &dir], &[("COMPONENTIZE_PY", &missing)]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot run `{missing}` (install it with `pip install componentize-py`, or set \
             COMPONENTIZE_PY): No such file or directory (os error 2)\n"
        )
    );
    std::fs::write(
        tmp.path().join("pack.toml"),
        "name = \"py\"\nversion = \"0.1.0\"\n[[rules]]\nfile = \"rule.wasm\"\nkind = \"wasm\"\n\
         build = \"make\"\n",
    )
    .unwrap();
    let run = tracewarden(&["rules", "build", &dir]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!(
            "error: `{}`: invalid `pack.toml`: unknown variant `make`, expected `cargo` or \
             `componentize-py`",
            tmp.path().join("pack.toml").display()
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_scaffolded_python_pack_builds_and_passes_its_tests() {
    let Some(tool) = crate::python::componentize_py() else {
        return;
    };
    let tool = tool.display().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("acme-py");
    let dir = pack.display().to_string();
    let made = tracewarden(&["rules", "new", "acme-py", "--lang", "python", "--dir", &dir]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    // The contract, which componentize-py builds against, and the vendored Python SDK.
    assert_eq!(
        std::fs::read(pack.join("wit/rule.wit")).unwrap(),
        std::fs::read(root().join("wit/rule.wit")).unwrap()
    );
    assert!(pack.join("tracewarden_sdk/__init__.py").is_file());
    let built = run_with(&["rules", "build", &dir], &[("COMPONENTIZE_PY", &tool)]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(
        built.stdout.starts_with(&format!(
            "built `{}` (sha256:",
            pack.join("rule.wasm").display()
        )),
        "{}",
        built.stdout
    );
    let test = ["rules", "test", &dir, "--minimum-tests", "2"];
    let run = tracewarden(&test);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, green("acme-py", &dir, "TW-ACME-PY-001"));
    edit(
        &pack.join("tests/hit/case.toml"),
        "principal = \"arn:aws:iam::111122223333:user/alice\"",
        "principal = \"bob\"",
    );
    let run = tracewarden(&test);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        red("acme-py", &dir, "TW-ACME-PY-001").replace(
            "principal = \"alice\"",
            "principal = \"arn:aws:iam::111122223333:user/alice\""
        )
    );
}
