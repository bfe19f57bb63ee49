//! Packs load fail-closed: every problem is listed at once and the pack is refused.

use self::sha2_free::sha256_hex;

use crate::common::{fixture, scan_json, tracewarden};

/// Digests computed independently of the engine, with coreutils' `sha256sum`.
mod sha2_free {
    pub fn sha256_hex(bytes: &[u8]) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }
}

const GOOD: &str = r#"package tracewarden.rules.good
metadata := {"id": "T-GOOD", "title": "good", "severity": "low", "confidence": "low", "class": "incident", "owasp": ["API1:2023"]}
findings contains f if {
	some e in input.events
	f := {"message": "m", "evidence": [e.id]}
}
"#;

const BAD: &str = r#"package tracewarden.rules.bad
metadata := {"id": "T-BAD", "title": "bad", "severity": "low", "confidence": "low", "class": "incident", "owasp": ["API11:2023"], "cwe": ["CWE-367"]}
findings contains f if {
	some e in input.events
	net.lookup_ip_addr(e.id)
	f := {"message": "m", "evidence": [e.id]}
}
"#;

fn write_pack(dir: &std::path::Path, good_digest: &str) {
    std::fs::write(dir.join("good.rego"), GOOD).unwrap();
    std::fs::write(dir.join("bad.rego"), BAD).unwrap();
    let manifest = format!(
        "name = \"testpack\"\nversion = \"1.0.0\"\n\n[[rules]]\nfile = \"good.rego\"\nkind = \"rego\"\nsha256 = \"{good_digest}\"\n\n\
         [[rules]]\nfile = \"bad.rego\"\nkind = \"rego\"\nsha256 = \"sha256:{}\"\n",
        sha256_hex(BAD.as_bytes())
    );
    std::fs::write(dir.join("pack.toml"), manifest).unwrap();
}

#[test]
fn a_pack_lists_every_problem_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    write_pack(dir.path(), &wrong);
    let path = dir.path().display().to_string();
    let run = tracewarden(&[
        "scan",
        "--rules",
        &path,
        &fixture("events/hostile-trigger.jsonl"),
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "", "nothing runs when a pack is refused");
    let expected = format!(
        "error: rule pack `testpack ({path})` refused:\n  \
         - `good.rego` does not match its digest: `pack.toml` says `{wrong}`, the file is `sha256:{}`\n  \
         - `bad.rego`: calls `net.lookup_ip_addr`, which this engine (regorus) does not provide\n  \
         - `bad.rego`: rule `T-BAD` maps to unknown OWASP API 2023 id `API11:2023`\n",
        sha256_hex(GOOD.as_bytes())
    );
    assert_eq!(run.stderr, expected);
}

#[test]
fn a_pack_with_correct_digests_but_a_bad_rule_is_still_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(
        dir.path(),
        &format!("sha256:{}", sha256_hex(GOOD.as_bytes())),
    );
    let run = tracewarden(&[
        "rules",
        "list",
        "--rules",
        &dir.path().display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("good.rego"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unknown OWASP API 2023 id `API11:2023`"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn a_single_rego_file_with_an_unknown_owasp_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.rego");
    std::fs::write(&file, GOOD.replace("API1:2023", "API1:2019")).unwrap();
    let file = file.display().to_string();
    let run = tracewarden(&["rules", "list", "--rules", &file]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{file}` refused:\n  - rule `T-GOOD` maps to unknown OWASP API 2023 id `API1:2019`\n"
        )
    );
}

#[test]
fn a_valid_extra_rego_rule_runs_beside_the_built_ins() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.rego");
    std::fs::write(&file, GOOD).unwrap();
    let run = tracewarden(&["rules", "list", "--rules", &file.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        ids,
        [
            "TW-BOLA-001",
            "TW-BOLA-002",
            "TW-BOLA-003",
            "TW-BOLA-004",
            "TW-DDB-001",
            "TW-KEY-001",
            "TW-KEY-003",
            "TW-KEY-004",
            "TW-KEY-005",
            "TW-KEY-006",
            "TW-KEY-002",
            "TW-TOCTOU-001",
            "TW-TOCTOU-002",
            "TW-TOCTOU-003",
            "TW-TOCTOU-004",
            "TW-TOCTOU-005",
            "TW-TOCTOU-006",
            "T-GOOD"
        ]
    );
}

#[test]
fn built_in_packs_are_listed() {
    let run = tracewarden(&["rules", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "TW-BOLA-001    bola       wasm  high      Object owned by another principal accessed  [API1:2023, CC6.1, CC6.3, CWE-639, CWE-863]\n\
         TW-BOLA-002    bola       wasm  medium    Object ids enumerated  [API1:2023, API4:2023, CC6.1, CC7.2, CWE-639, CWE-799]\n\
         TW-BOLA-003    bola       wasm  high      Path or key names another user or tenant  [API1:2023, CC6.1, CC6.3, CWE-639, CWE-863]\n\
         TW-BOLA-004    bola       rego  medium    Owner-scoped table accessed by a key that names no owner  [API1:2023, CC6.1, CC6.3, CWE-639, CWE-566]\n\
         \x20 bola options: enumeration_max_ids = 50, enumeration_min_ids = 5, enumeration_window_ms = 600000, max_evidence = 20, refused_percent = 50, sequential_min_ids = 5\n\
         TW-DDB-001     dynamodb   wasm  low       DynamoDB write without a ConditionExpression  [API6:2023, CC8.1, CWE-362, CWE-367]\n\
         TW-KEY-001     stale-keys wasm  high      Key used after revocation  [API2:2023, CC6.2, CC6.3, CC6.1, CWE-613, CWE-672]\n\
         TW-KEY-003     stale-keys wasm  medium    Key older than the rotation policy in use  [API2:2023, CC6.1, CC6.2, CWE-324]\n\
         TW-KEY-004     stale-keys wasm  medium    Dormant key used again  [API2:2023, CC6.1, CC7.2, CWE-324]\n\
         TW-KEY-005     stale-keys wasm  low       Revoked key still being tried  [API2:2023, CC6.1, CC7.2, CWE-672]\n\
         TW-KEY-006     stale-keys wasm  high      Session credentials outlived the revoked key they came from  [API2:2023, CC6.2, CC6.3, CC6.1, CWE-613, CWE-672]\n\
         TW-KEY-002     stale-keys rego  high      Key used beyond its reduced scope  [API2:2023, API5:2023, CC6.3, CC6.1, CWE-613, CWE-863]\n\
         \x20 stale-keys options: dormant_days = 45, max_evidence = 20, rotation_max_age_days = 90, scope_rules = []\n\
         TW-TOCTOU-001  toctou     wasm  medium    Item read then written without a condition on its state  [API1:2023, API6:2023, CC6.1, CC8.1, CWE-367, CWE-362]\n\
         TW-TOCTOU-002  toctou     wasm  high      Stale check used: the item changed between read and unconditional write  [API1:2023, API6:2023, CC6.1, CC7.2, CWE-367, CWE-362]\n\
         TW-TOCTOU-003  toctou     wasm  medium    Concurrent state-changing requests on one resource all succeeded  [API6:2023, API4:2023, CC7.2, CC8.1, CWE-362, CWE-837]\n\
         TW-TOCTOU-004  toctou     wasm  low       Burst of failed conditional writes on one item  [API6:2023, CC7.2, CWE-362]\n\
         TW-TOCTOU-005  toctou     wasm  medium    Check read eventually consistent state before a write  [API1:2023, CC6.1, CC8.1, CWE-367, CWE-362]\n\
         TW-TOCTOU-006  toctou     wasm  low       Race attempted: the item changed between check and conditional write  [API6:2023, CC7.2, CWE-362]\n\
         \x20 toctou options: auth_tables = [], check_window_ms = 10000, concurrent_min_requests = 2, concurrent_window_ms = 100, conflict_min_requests = 3, conflict_window_ms = 2000, max_evidence = 20\n"
    );
}

#[test]
fn a_pack_may_not_take_the_ownership_settings_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.rego"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("pack.toml"),
        format!(
            "name = \"ownership\"\nversion = \"1.0.0\"\n\n[[rules]]\nfile = \"good.rego\"\nkind = \"rego\"\nsha256 = \"sha256:{}\"\n",
            sha256_hex(GOOD.as_bytes())
        ),
    )
    .unwrap();
    let path = dir.path().display().to_string();
    let run = tracewarden(&["rules", "list", "--rules", &path]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `ownership ({path})` refused:\n  - the pack name `ownership` is \
             reserved: the rule config's `[ownership]` table holds the engine's ownership \
             settings\n"
        )
    );
}

#[test]
fn a_pack_may_not_take_a_built_in_packs_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.rego"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("pack.toml"),
        format!(
            "name = \"dynamodb\"\nversion = \"9.0.0\"\n\n[[rules]]\nfile = \"good.rego\"\nkind = \"rego\"\nsha256 = \"sha256:{}\"\n",
            sha256_hex(GOOD.as_bytes())
        ),
    )
    .unwrap();
    let path = dir.path().display().to_string();
    // Refused beside the built-ins, and without them too: the name stays theirs.
    for extra in [&[][..], &["--no-builtin"][..]] {
        let mut args = vec!["rules", "list", "--rules", &path];
        args.extend_from_slice(extra);
        let run = tracewarden(&args);
        assert_eq!(run.code, 2, "{extra:?}");
        assert_eq!(
            run.stderr,
            format!(
                "error: rule pack `dynamodb ({path})` refused:\n  - the pack name `dynamodb` is \
                 reserved by a built-in pack: give the pack another name\n"
            )
        );
    }
}

/// The built-in TW-DDB-001 is WebAssembly; its Rego original is kept as a reference
/// (`tests/fixtures/packs/dynamodb-rego`). On every recorded input both report the same: the
/// same sites, occurrences, principals, first occurrence and examples, in the same order (a
/// Rego rule's findings of one batch come in the order of their events, not of the set).
#[test]
fn the_built_in_ddb001_finds_what_its_rego_reference_finds() {
    let reference = fixture("packs/dynamodb-rego");
    let mut occurrences = 0;
    for input in [
        "examples/dynamodb-orders",
        "tests/fixtures/recorded",
        "tests/fixtures/cloudtrail",
        "tests/fixtures/dialects",
        "tests/fixtures/events",
    ] {
        let scan = |rules: &[&str]| {
            let mut extra = vec!["--fail-on", "none"];
            extra.extend_from_slice(rules);
            extra.extend_from_slice(&[
                "--exclude",
                "*.md",
                "--exclude",
                "*.py",
                "--exclude",
                "*.txt",
            ]);
            let run = scan_json(&[input], &extra);
            assert_eq!(run.code, 0, "{input}: {}", run.stderr);
            let mut findings = crate::common::parse_report(&run.stdout)["findings"]
                .as_array()
                .unwrap()
                .clone();
            for f in &mut findings {
                f.as_object_mut().unwrap().remove("pack");
            }
            findings
        };
        let wasm = scan(&["--rule", "TW-DDB-001"]);
        let rego = scan(&["--no-builtin", "--rules", &reference]);
        assert_eq!(wasm, rego, "{input}");
        occurrences += wasm
            .iter()
            .map(|f| f["occurrences"].as_u64().unwrap())
            .sum::<u64>();
    }
    assert_eq!(occurrences, 49, "the inputs hold unconditional writes");
}
