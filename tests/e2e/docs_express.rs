//! The second recorded application (`tests/fixtures/recorded/docs-express`, an Express + AWS SDK
//! v3 document-sharing API with its own API-key store, recorded by mitmproxy, its pino request
//! log, the OpenTelemetry JS SDK, with CloudTrail derived from its calls): designed by nobody who
//! wrote the rules. Scanned as one directory, as a user would, with the app's declared admin:
//! every incident of its README is found with the right rule family and evidence, and no benign
//! look-alike is blamed.

use serde_json::Value;

use crate::common::{assert_accounted, fixture, rule_run, scan_json, weaknesses};

/// `(rule, severity, principal, resource, [(role, file:line)])` of an incident.
type Incident = (String, String, String, String, Vec<(String, String)>);

fn incidents(report: &Value) -> Vec<Incident> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "incident")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (
                s("rule_id"),
                s("severity"),
                s("principal"),
                s("resource"),
                crate::common::evidence_at(f),
            )
        })
        .collect()
}

fn incident(
    rule: &str,
    severity: &str,
    principal: &str,
    resource: &str,
    evidence: &[(&str, &str)],
) -> Incident {
    (
        rule.into(),
        severity.into(),
        principal.into(),
        resource.into(),
        evidence
            .iter()
            .map(|(r, at)| ((*r).to_owned(), (*at).to_owned()))
            .collect(),
    )
}

fn scan() -> Value {
    let dir = fixture("recorded/docs-express");
    let config = fixture("recorded/docs-express/tracewarden.toml");
    let run = scan_json(&[&dir], &["--rule-config", &config]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], true);
    assert_accounted(&report);
    report
}

#[test]
fn every_incident_of_the_second_app_is_found_and_no_look_alike_is_blamed() {
    let report = scan();
    // Every record of every recording is read: the pino request log (its own dialect) and
    // CloudTrail merge into the DynamoDB HAR's events, the HAR into the server spans, and each
    // DynamoDB client span into its call once the merged record names the span's ids.
    let counts: Vec<(String, u64, u64, u64)> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        // The app's sources, README and scenario file are no logs: skipped with a warning.
        .filter(|i| i["records"].as_u64() > Some(0))
        .map(|i| {
            let n = |k: &str| i[k].as_u64().unwrap();
            (
                i["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                n("records"),
                n("events"),
                n("merged"),
            )
        })
        .collect();
    let c = |f: &str, r, e, m| (f.to_owned(), r, e, m);
    assert_eq!(
        counts,
        [
            c("app-otlp.json", 255, 77, 178),
            c("app-requests.jsonl", 178, 0, 178),
            c("app.har", 77, 0, 77),
            c("cloudtrail.json", 178, 0, 178),
            c("dynamodb.har", 178, 178, 0),
        ]
    );
    let coupon_race = |who: &str, check: u32, write: u32| {
        incident(
            "TW-TOCTOU-002",
            "high",
            who,
            "coupons/code=LAUNCH50",
            &[
                ("check", &format!("dynamodb.har:{check}")),
                ("interleaved-write", "dynamodb.har:134"),
                ("use", &format!("dynamodb.har:{write}")),
            ],
        )
    };
    assert_eq!(
        incidents(&report),
        [
            // 1: mallory reads alice's document through the unchecked v1 route.
            incident(
                "TW-BOLA-001",
                "high",
                "mallory",
                "docs/d-2001",
                &[
                    ("access", "app-otlp.json:28"),
                    ("ownership", "app-otlp.json:9")
                ]
            ),
            // 2: mallory writes bob's document.
            incident(
                "TW-BOLA-001",
                "high",
                "mallory",
                "docs/d-2004",
                &[
                    ("access", "app-otlp.json:29"),
                    ("ownership", "app-otlp.json:12")
                ]
            ),
            // 4: mallory reads alice's profile by its path.
            incident(
                "TW-BOLA-003",
                "high",
                "mallory",
                "users/alice",
                &[("access", "app-otlp.json:30")]
            ),
            // 3: mallory walks d-2001..d-2015: the 13 ids not hers (her own two are not counted).
            incident(
                "TW-BOLA-002",
                "high",
                "mallory",
                "docs",
                &[
                    ("attempt", "app-otlp.json:28"),
                    ("attempt", "app-otlp.json:29"),
                    ("attempt", "app-otlp.json:33"),
                    ("attempt", "app-otlp.json:34"),
                    ("attempt", "app-otlp.json:36"),
                    ("attempt", "app-otlp.json:37"),
                    ("attempt", "app-otlp.json:38"),
                    ("attempt", "app-otlp.json:39"),
                    ("attempt", "app-otlp.json:41"),
                    ("attempt", "app-otlp.json:42"),
                    ("attempt", "app-otlp.json:44"),
                    ("attempt", "app-otlp.json:45"),
                    ("attempt", "app-otlp.json:46"),
                ]
            ),
            // 5: bob's delayed PUT writes d-2003 after he transferred it to carol.
            incident(
                "TW-TOCTOU-002",
                "high",
                "bob",
                "docs/doc_id=d-2003",
                &[
                    ("check", "dynamodb.har:108"),
                    ("interleaved-write", "dynamodb.har:111"),
                    ("use", "dynamodb.har:112")
                ]
            ),
            // 7: dave's conditional write fails after his transfer of d-2006: a race blocked.
            incident(
                "TW-TOCTOU-006",
                "low",
                "dave",
                "docs/doc_id=d-2006",
                &[
                    ("check", "dynamodb.har:117"),
                    ("interleaved-write", "dynamodb.har:120"),
                    ("blocked-write", "dynamodb.har:121")
                ]
            ),
            // 6: six redemptions by five users at once: one burst at the HTTP layer...
            incident(
                "TW-TOCTOU-003",
                "medium",
                "",
                "/v1/coupons/LAUNCH50/redeem",
                &[
                    ("concurrent", "app-otlp.json:56"),
                    ("concurrent", "app-otlp.json:57"),
                    ("concurrent", "app-otlp.json:58"),
                    ("concurrent", "app-otlp.json:59"),
                    ("concurrent", "app-otlp.json:60"),
                    ("concurrent", "app-otlp.json:61")
                ]
            ),
            // ...and each stale decrement after mallory's.
            coupon_race("carol", 129, 136),
            coupon_race("mallory", 130, 135),
            coupon_race("bob", 131, 137),
            coupon_race("alice", 132, 138),
            coupon_race("dave", 133, 139),
            // 8: bob's old key works on v1 after the admin revoked it.
            incident(
                "TW-KEY-001",
                "medium",
                "bob",
                "key/k-7bcf9d355a29",
                &[
                    ("revocation", "app-otlp.json:66"),
                    ("use", "app-otlp.json:68"),
                    ("use", "app-otlp.json:69"),
                    ("use", "app-otlp.json:70")
                ]
            ),
            // 10: and is refused on v2, three times.
            incident(
                "TW-KEY-005",
                "low",
                "bob",
                "key/k-7bcf9d355a29",
                &[
                    ("revocation", "app-otlp.json:66"),
                    ("attempt", "app-otlp.json:71"),
                    ("attempt", "app-otlp.json:72"),
                    ("attempt", "app-otlp.json:73")
                ]
            ),
            // 9: carol's key, downscoped to docs:read, still writes.
            incident(
                "TW-KEY-002",
                "high",
                "carol",
                "key/k-f9c6c0ef22a1",
                &[("use", "app-otlp.json:76")]
            ),
        ]
    );
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "incident")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages[4].contains("transferred the item to another owner"),
        "{}",
        messages[4]
    );
    assert!(
        messages[5].starts_with("Race attempted, blocked: `dave` read"),
        "{}",
        messages[5]
    );
    assert!(
        messages[6].starts_with(
            "6 requests (POST) by 5 principals (`alice`, `bob`, `carol`, `dave`, `mallory`)"
        ),
        "{}",
        messages[6]
    );
    assert!(
        messages[12].contains("the revocation-to-last-use window"),
        "{}",
        messages[12]
    );
}

#[test]
fn the_look_alikes_are_weakness_occurrences_at_their_sites_not_incidents() {
    let report = scan();
    // The code's weaknesses, once per site: a double-submitted edit (carol), concurrent edits
    // (dave), the new owner's edit after a transfer, the shared reads, the admin's reads all
    // fold into their routes' occurrences.
    assert_eq!(
        weaknesses(&report),
        [
            w(
                "TW-TOCTOU-005",
                "POST /admin/api-keys → api_keys PutItem",
                6,
                1
            ),
            w("TW-BOLA-004", "GET /v2/docs/{doc_id} → docs GetItem", 19, 4),
            w("TW-BOLA-004", "GET /v1/docs/{doc_id} → docs GetItem", 4, 2),
            w("TW-BOLA-004", "PUT /v1/docs/{doc_id} → docs GetItem", 9, 4),
            w(
                "TW-BOLA-004",
                "PUT /v1/docs/{doc_id} → docs UpdateItem",
                9,
                4
            ),
            w(
                "TW-DDB-001",
                "PUT /v1/docs/{doc_id} → docs UpdateItem",
                9,
                4
            ),
            w(
                "TW-TOCTOU-001",
                "PUT /v1/docs/{doc_id} → docs UpdateItem",
                9,
                4
            ),
            w(
                "TW-BOLA-004",
                "POST /v1/docs/{doc_id}/transfer → docs GetItem",
                2,
                2
            ),
            w("TW-BOLA-004", "PUT /v2/docs/{doc_id} → docs GetItem", 2, 2),
            w(
                "TW-DDB-001",
                "POST /v1/coupons/{code}/redeem → coupons UpdateItem",
                6,
                5
            ),
            w(
                "TW-TOCTOU-001",
                "POST /v1/coupons/{code}/redeem → coupons UpdateItem",
                6,
                5
            ),
            w(
                "TW-TOCTOU-005",
                "POST /admin/api-keys/{key_id}/rotate → api_keys PutItem",
                2,
                1
            ),
            w(
                "TW-DDB-001",
                "POST /admin/api-keys/{key_id}/rotate → api_keys UpdateItem",
                1,
                1
            ),
            w(
                "TW-TOCTOU-001",
                "POST /admin/api-keys/{key_id}/rotate → api_keys UpdateItem",
                1,
                1
            ),
            w(
                "TW-TOCTOU-005",
                "DELETE /admin/api-keys/{key_id} → api_keys UpdateItem",
                1,
                1
            ),
            w(
                "TW-TOCTOU-005",
                "PATCH /admin/api-keys/{key_id} → api_keys UpdateItem",
                1,
                1
            ),
        ]
    );
    // No incident names a look-alike: bob's shared read of d-2001 (a), carol's double submit
    // of d-2005 (b), carol's edit of d-2003 once it is hers (c), the concurrent creations (d),
    // the admin (e), alice's rotated key (f), dave's concurrent edits (g), the auth
    // middleware's key lookups (h).
    for f in report["findings"].as_array().unwrap() {
        if f["class"] != "incident" {
            continue;
        }
        let who = f["principal"].as_str().unwrap();
        let what = f["resource"].as_str().unwrap();
        let blamed = (who == "bob" && what.contains("d-2001"))
            || what.contains("d-2005")
            || (who == "carol" && what.contains("d-2003"))
            || what.contains("d-2007")
            || what.contains("d-2008")
            || what.ends_with("/v1/docs")
            || who == "admin"
            || what.contains("k-a87b97f6b85d")
            || what.contains("k-8f7934bf14be")
            || what.starts_with("api_keys");
        assert!(!blamed, "a look-alike is blamed: {f}");
    }
}

fn w(rule: &str, site: &str, occurrences: u64, principals: u64) -> (String, String, u64, u64) {
    (rule.into(), site.into(), occurrences, principals)
}

#[test]
fn coverage_says_what_spans_alone_cannot_show() {
    let otlp = fixture("recorded/docs-express/app-otlp.json");
    let run = scan_json(&[&otlp], &["--fail-on", "none"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let toctou = rule_run(&report, "TW-TOCTOU-001");
    assert_eq!(toctou["coverage"]["status"], "partial");
    assert!(
        toctou["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n
                .as_str()
                .unwrap()
                .starts_with("178 of 178 DynamoDB operations carry no item key")),
        "{toctou}"
    );
}

#[test]
fn cloudtrail_alone_sees_one_role_session_for_every_user_and_says_so() {
    // Every call of the app carries its ECS task role: with CloudTrail alone, one "principal"
    // touches everyone's documents. The walk is reported at low confidence, saying why.
    let ct = fixture("recorded/docs-express/cloudtrail.json");
    let report = scan_json(&[&ct], &["--fail-on", "none"]).json();
    let bola: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pack"] == "bola" && f["class"] == "incident")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["confidence"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(bola.len(), 1, "{bola:?}");
    let (rule, confidence, message) = bola[0];
    assert_eq!((rule, confidence), ("TW-BOLA-002", "low"));
    assert!(
        message.ends_with(
            "the principal is an AWS role session, which an application shares among all its \
             users: these may be many users' requests (low confidence); add the application's \
             request log or traces to tell its callers apart"
        ),
        "{message}"
    );
    // The coupon's six redemptions, all by the role: a burst at low confidence, saying so.
    let burst = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "TW-TOCTOU-003")
        .unwrap();
    assert_eq!(burst["confidence"], "low");
    assert!(
        burst["message"]
            .as_str()
            .unwrap()
            .contains("The one principal is an AWS role session"),
        "{burst}"
    );
}

#[test]
fn the_apps_own_key_store_revocation_is_seen_from_spans_and_its_request_log() {
    // No HAR: the revocation and the downscope come from the key store's writes in the request
    // log, the key a request presented from its DynamoDB calls' key id; each request is one use.
    let inputs = [
        fixture("recorded/docs-express/app-otlp.json"),
        fixture("recorded/docs-express/app-requests.jsonl"),
    ];
    let config = fixture("recorded/docs-express/tracewarden.toml");
    let run = scan_json(&[&inputs[0], &inputs[1]], &["--rule-config", &config]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let keys: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pack"] == "stale-keys")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (s("rule_id"), s("resource"), s("message"))
        })
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(
        (keys[0].0.as_str(), keys[0].1.as_str()),
        ("TW-KEY-001", "key/k-7bcf9d355a29")
    );
    assert!(
        keys[0].2.contains("3 successful uses (1 a write)"),
        "{}",
        keys[0].2
    );
    assert_eq!(
        (keys[1].0.as_str(), keys[1].1.as_str()),
        ("TW-KEY-005", "key/k-7bcf9d355a29")
    );
    assert!(keys[1].2.contains("refused 3 times"), "{}", keys[1].2);
}
