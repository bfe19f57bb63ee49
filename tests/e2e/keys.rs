//! The stale-keys pack over key lifecycles and the uses they judge: IAM access keys, STS session
//! credentials and a rotation in CloudTrail; a key inventory with the recorded HAR; API Gateway
//! key events with gateway access logs.

use serde_json::Value;

use crate::common::{evidence_at, fixture, pack_messages, rule_run, scan_fixtures, tracewarden};

/// `(rule, severity, principal, resource, [(role, file:line)])` of the stale-keys findings.
type Row = (String, String, String, String, Vec<(String, String)>);

fn keys(report: &Value) -> Vec<Row> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pack"] == "stale-keys")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            let evidence = evidence_at(f);
            (
                s("rule_id"),
                s("severity"),
                s("principal"),
                s("resource"),
                evidence,
            )
        })
        .collect()
}

fn row(rule: &str, severity: &str, principal: &str, resource: &str, ev: &[(&str, &str)]) -> Row {
    (
        rule.to_owned(),
        severity.to_owned(),
        principal.to_owned(),
        resource.to_owned(),
        ev.iter()
            .map(|(r, at)| ((*r).to_owned(), (*at).to_owned()))
            .collect(),
    )
}

fn messages(report: &Value) -> Vec<String> {
    pack_messages(report, "stale-keys")
}

fn scan(files: &[&str], extra: &[&str]) -> Value {
    scan_fixtures(files, extra)
}

const USER: &str = "arn:aws:iam::111122223333:user/";

#[test]
fn cloudtrail_shows_revoked_keys_and_their_sessions_still_working() {
    let report = scan(&["cloudtrail/stale-keys.json"], &[]);
    let user = |u: &str| format!("{USER}{u}");
    assert_eq!(
        keys(&report),
        [
            row(
                "TW-KEY-004",
                "medium",
                &user("svc-etl"),
                "key/AKIAEXAMPLEETL000001",
                &[("use", "stale-keys.json:82")]
            ),
            // The administrator's own key was dormant too: 86 days between creating svc-etl's
            // key and svc-leaky's.
            row(
                "TW-KEY-004",
                "medium",
                &user("admin-alice"),
                "key/AKIAEXAMPLEADMIN0001",
                &[("use", "stale-keys.json:170")]
            ),
            row(
                "TW-KEY-001",
                "high",
                &user("svc-leaky"),
                "key/AKIAEXAMPLELEAKY0001",
                &[
                    ("revocation", "stale-keys.json:283"),
                    ("use", "stale-keys.json:313"),
                    ("use", "stale-keys.json:357")
                ]
            ),
            row(
                "TW-KEY-006",
                "high",
                &user("svc-leaky"),
                "key/ASIAEXAMPLELEAKYS001",
                &[
                    ("parent revocation", "stale-keys.json:283"),
                    ("use", "stale-keys.json:430")
                ]
            ),
            row(
                "TW-KEY-003",
                "medium",
                &user("svc-etl"),
                "key/AKIAEXAMPLEETL000001",
                &[("use", "stale-keys.json:126")]
            ),
        ]
    );
    let messages = messages(&report);
    assert_eq!(
        messages[2],
        "key `AKIAEXAMPLELEAKY0001` was revoked at 2026-04-01T08:20:00Z and kept working: 2 \
         successful uses (1 a write) after it, the last 6 min 0 s after the revocation (the \
         revocation-to-last-use window)"
    );
    assert_eq!(
        messages[3],
        "session credentials `ASIAEXAMPLELEAKYS001`, issued at 2026-04-01T08:10:00Z with key \
         `AKIAEXAMPLELEAKY0001`, were used after that key was revoked at 2026-04-01T08:20:00Z: 1 \
         successful use, the last 40 min 0 s after the revocation"
    );
    assert_eq!(
        messages[4],
        "key `AKIAEXAMPLEETL000001` was 95 days old when \
         `arn:aws:iam::111122223333:user/svc-etl` used it (policy: 90 days); created \
         2026-01-05T08:00:00Z"
    );
}

#[test]
fn a_rotation_done_right_raises_nothing() {
    // svc-billing: a new key, an overlap when both work, the old key deactivated then deleted,
    // its session's late call refused; svc-flip: deactivated by mistake, activated before use.
    let report = scan(&["cloudtrail/rotation.json"], &[]);
    assert_eq!(keys(&report), []);
    let seen = |id: &str| rule_run(&report, id)["events"].as_u64().unwrap();
    // The rules did look: every keyed use for dormancy, the refused session call for 006.
    assert_eq!((seen("TW-KEY-004"), seen("TW-KEY-006")), (16, 1));
    // No revoked key was used: with the lifecycle in the inputs, that silence is a result.
    let coverage = |report: &Value, id: &str| rule_run(report, id)["coverage"].clone();
    assert_eq!(
        coverage(&report, "TW-KEY-001"),
        serde_json::json!({"status": "full", "notes": [
            "8 event(s) of the kinds it reads, none with the facts it needs (key_revoked)"
        ]})
    );
    // Uses without any lifecycle source: the rules cannot know of revocations.
    let report = scan(&["recorded/app.har"], &[]);
    assert_eq!(
        coverage(&report, "TW-KEY-001"),
        serde_json::json!({"status": "none", "notes": [
            "no key lifecycle source among the inputs (CloudTrail IAM, API Gateway or STS key \
             events, or a key inventory): revocations, scopes and key ages are unknown"
        ]})
    );
}

#[test]
fn a_key_inventory_judges_the_keys_a_har_was_recorded_with() {
    let report = scan(&["inventory/keys.json", "recorded/app.har"], &[]);
    let (alice, bob) = ("key/hk:d8ee0d5ab0db6c68", "key/hk:e21b13ef6edfe3ad");
    assert_eq!(
        keys(&report),
        [
            row(
                "TW-KEY-002",
                "high",
                "alice",
                alice,
                &[("use", "app.har:328")]
            ),
            row(
                "TW-KEY-005",
                "low",
                "bob",
                bob,
                &[("revocation", "keys.json:31"), ("attempt", "app.har:438")]
            ),
            row(
                "TW-KEY-001",
                "high",
                "bob",
                bob,
                &[("revocation", "keys.json:31"), ("use", "app.har:548")]
            ),
            row(
                "TW-KEY-002",
                "high",
                "alice",
                alice,
                &[("use", "app.har:1051")]
            ),
        ]
    );
    assert_eq!(
        messages(&report)[0],
        "key `hk:d8ee0d5ab0db6c68` was downscoped at 2026-11-10T12:00:00Z (removed: \
         orders:write; tests/fixtures/inventory/keys.json:14) but `PUT /v2/orders/o-1` succeeded \
         after it, which needs `orders:write`"
            .replace("tests/fixtures", &fixture(""))
            .replace("//", "/")
    );

    // With a scope rule, DELETE needs a scope the key never had: only the PUT is beyond scope.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keys.toml");
    std::fs::write(
        &config,
        "[stale-keys]\nscope_rules = [\"DELETE /orders = orders:admin\"]\n",
    )
    .unwrap();
    let report = scan(
        &["inventory/keys.json", "recorded/app.har"],
        &["--rule-config", &config.display().to_string()],
    );
    let downscoped: Vec<String> = keys(&report)
        .into_iter()
        .filter(|r| r.0 == "TW-KEY-002")
        .map(|r| r.4[0].1.clone())
        .collect();
    assert_eq!(downscoped, ["app.har:328"]);
}

#[test]
fn api_gateway_key_events_judge_gateway_access_logs() {
    let lifecycle = "cloudtrail/key-lifecycle.json";
    // The production stage refuses the disabled key: only a probe.
    let report = scan(&[lifecycle, "gateway/apigw-access.jsonl"], &[]);
    assert_eq!(
        keys(&report),
        [row(
            "TW-KEY-005",
            "low",
            "",
            "key/k7x2p9q4r1",
            &[
                ("revocation", "key-lifecycle.json:248"),
                ("attempt", "apigw-access.jsonl:3")
            ]
        )]
    );
    // A stage with a key cache keeps serving it for five minutes, a write among the requests.
    let report = scan(
        &[
            lifecycle,
            "gateway/apigw-access.jsonl",
            "gateway/apigw-stale.jsonl",
        ],
        &[],
    );
    assert_eq!(
        keys(&report),
        [
            row(
                "TW-KEY-001",
                "high",
                "alice",
                "key/k7x2p9q4r1",
                &[
                    ("revocation", "key-lifecycle.json:248"),
                    ("use", "apigw-stale.jsonl:1"),
                    ("use", "apigw-stale.jsonl:2"),
                    ("use", "apigw-stale.jsonl:3")
                ]
            ),
            row(
                "TW-KEY-005",
                "low",
                "",
                "key/k7x2p9q4r1",
                &[
                    ("revocation", "key-lifecycle.json:248"),
                    ("attempt", "apigw-access.jsonl:3"),
                    ("attempt", "apigw-stale.jsonl:4")
                ]
            ),
        ]
    );
    assert_eq!(
        messages(&report)[0],
        "key `k7x2p9q4r1` was revoked at 2026-03-14T09:20:00Z and kept working: 3 successful \
         uses (1 a write) after it, the last 5 min 5 s after the revocation (the \
         revocation-to-last-use window)"
    );
    // A scope change from an inventory of changes: bob's delete after his key lost write.
    let report = scan(
        &[
            lifecycle,
            "gateway/apigw-access.jsonl",
            "inventory/changes.csv",
        ],
        &[],
    );
    let rows = keys(&report);
    assert_eq!(
        rows.last().unwrap(),
        &row(
            "TW-KEY-002",
            "high",
            "bob",
            "key/q8w3e5r7t9",
            &[("use", "apigw-access.jsonl:5")]
        )
    );
}

#[test]
fn stale_keys_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[stale-keys]\nrotation_max_age_days = 0\n").unwrap();
    let run = tracewarden(&[
        "rules",
        "list",
        "--rule-config",
        &config.display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("option `rotation_max_age_days` is 0: expected at least 1"),
        "{}",
        run.stderr
    );
    // A longer dormancy: neither key slept that long (63 and 86 days).
    std::fs::write(&config, "[stale-keys]\ndormant_days = 90\n").unwrap();
    let report = scan(
        &["cloudtrail/stale-keys.json"],
        &["--rule-config", &config.display().to_string()],
    );
    assert!(keys(&report).iter().all(|r| r.0 != "TW-KEY-004"));
}

#[test]
fn normalize_facts_show_the_ledger() {
    let run = tracewarden(&[
        "normalize",
        "--facts",
        &fixture("cloudtrail/stale-keys.json"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let session_use: Value = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["actor"]["key_id"] == "ASIAEXAMPLELEAKYS001")
        .unwrap();
    let key = &session_use["facts"]["key"];
    assert_eq!(key["status"], "active");
    assert_eq!(key["parent_key_id"], "AKIAEXAMPLELEAKY0001");
    assert_eq!(key["issued_ns"], 1_775_031_000_000_000_000_i64);
    assert_eq!(key["parent_revoked_ns"], 1_775_031_600_000_000_000_i64);
}
