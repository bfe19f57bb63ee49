//! Each input format through the binary, on fixtures recorded from real tools
//! (`tests/fixtures/recorded/`, see its README): event counts, the fields that matter, format
//! detection by content, and correlation across formats.

use serde_json::Value;

use crate::common::{fixture, tracewarden};

/// `normalize`s `inputs`; returns the accounting lines (stderr) and the events.
fn normalize(inputs: &[&str]) -> (String, Vec<Value>) {
    let mut args = vec!["normalize"];
    args.extend_from_slice(inputs);
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (run.stderr, events)
}

fn s<'v>(v: &'v Value, path: &str) -> &'v str {
    v.pointer(path).and_then(Value::as_str).unwrap_or("")
}

/// (operation, key, conditional, outcome, error code) of a DB event.
fn db(e: &Value) -> (String, String, bool, String, String) {
    let op = &e["db_operation"];
    let key: Vec<String> = op["key"]
        .as_object()
        .map(|k| {
            k.iter()
                .map(|(n, v)| format!("{n}={}", v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    (
        s(e, "/db_operation/operation").to_owned(),
        format!("{}/{}", s(e, "/db_operation/table"), key.join(",")),
        op["has_condition"].as_bool().unwrap(),
        s(e, "/outcome").to_owned(),
        s(e, "/db_operation/error_code").to_owned(),
    )
}

/// The DynamoDB calls of the recorded scenario, in order, as every DB source must see them.
fn recorded_calls() -> Vec<(String, String, bool, String, String)> {
    let c = |op: &str, key: &str, cond: bool, outcome: &str, error: &str| {
        (
            op.to_owned(),
            format!("orders/order_id={key}"),
            cond,
            outcome.to_owned(),
            error.to_owned(),
        )
    };
    let ccf = "ConditionalCheckFailedException";
    vec![
        c("PutItem", "o-1", true, "success", ""),
        c("GetItem", "o-1", false, "success", ""),
        c("GetItem", "o-1", false, "success", ""),
        c("UpdateItem", "o-1", false, "success", ""),
        c("UpdateItem", "o-1", true, "success", ""),
        c("UpdateItem", "o-1", true, "conflict", ccf),
        c("GetItem", "o-1", false, "success", ""),
        c("PutItem", "o-2", true, "success", ""),
        c("PutItem", "o-3", true, "success", ""),
        c("PutItem", "o-3", true, "conflict", ccf),
        c(
            "PutItem",
            "o-4",
            true,
            "conflict",
            "TransactionCanceledException",
        ),
        c("DeleteItem", "o-2", true, "conflict", ccf),
        c("DeleteItem", "o-1", true, "success", ""),
        c("GetItem", "o-1", false, "success", ""),
    ]
}

fn assert_time_ordered(events: &[Value]) {
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["time_ns"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn har_entries_become_http_events_without_key_material() {
    let har = fixture("recorded/app.har");
    let (stderr, events) = normalize(&[&har]);
    assert_eq!(
        stderr,
        format!("{har}: 12 records, 12 events, 0 merged, 0 skipped\n")
    );
    assert_time_ordered(&events);
    let alice_jwt = "hk:1cc9a552d81ff62e";
    let alice_api_key = "hk:d8ee0d5ab0db6c68";
    let bob_api_key = "hk:e21b13ef6edfe3ad";
    let bob_jwt = "hk:b86ef6430507b22e";
    let seen: Vec<(&str, &str, u64, &str, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(s(e, "/source/format"), "har");
            (
                s(e, "/http/method"),
                s(e, "/http/path"),
                e["http"]["status"].as_u64().unwrap(),
                s(e, "/outcome"),
                s(e, "/actor/principal"),
                s(e, "/actor/key_id"),
                s(e, "/correlation/app_request_id"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "POST", "/orders", 201, "success", "alice", alice_jwt, "req-0001"
            ),
            (
                "GET",
                "/orders/o-1",
                200,
                "success",
                "alice",
                alice_jwt,
                "req-0002"
            ),
            (
                "PUT",
                "/orders/o-1",
                200,
                "success",
                "alice",
                alice_jwt,
                "req-0003"
            ),
            (
                "PUT",
                "/v2/orders/o-1",
                200,
                "success",
                "",
                alice_api_key,
                "req-0004"
            ),
            (
                "PUT",
                "/v2/orders/o-1",
                403,
                "denied",
                "",
                bob_api_key,
                "req-0005"
            ),
            (
                "GET",
                "/orders/o-1",
                200,
                "success",
                "",
                bob_api_key,
                "req-0006"
            ),
            (
                "GET",
                "/orders/o-1",
                401,
                "denied",
                "",
                "",
                "gen-8c3f846c-c6a9-42d3-83f8-4c485e5c4176"
            ),
            (
                "POST",
                "/orders/batch",
                201,
                "success",
                "alice",
                alice_jwt,
                "req-0007"
            ),
            (
                "POST",
                "/orders/batch",
                409,
                "conflict",
                "bob",
                bob_jwt,
                "req-0008"
            ),
            (
                "DELETE",
                "/orders/o-2",
                403,
                "denied",
                "bob",
                bob_jwt,
                "req-0009"
            ),
            (
                "DELETE",
                "/orders/o-1",
                204,
                "success",
                "",
                alice_api_key,
                "req-0010"
            ),
            (
                "GET",
                "/orders/o-1",
                404,
                "not_found",
                "alice",
                alice_jwt,
                "req-0011"
            ),
        ]
    );
    // The client's traceparent gives the trace and the caller's span.
    assert_eq!(
        s(&events[2], "/correlation/trace_id"),
        "fedcf6bc05060128554c479eb5686b61"
    );
    assert_eq!(
        s(&events[2], "/correlation/parent_span_id"),
        "12ea1b757fc8ae02"
    );
    assert!(events[2]["http"]["duration_ns"].as_u64().unwrap() > 0);
    // The HAR holds live credentials; none of them reaches the output.
    let out = tracewarden(&["normalize", &har]).stdout;
    for secret in [
        "twk_test_alice_4f1c9a7e2b",
        "twk_test_bob_8d3e5b0a6c",
        "eyJ",
    ] {
        assert!(!out.contains(secret), "{secret} leaked");
    }
}

#[test]
fn a_har_of_the_dynamodb_endpoint_becomes_db_operations() {
    let har = fixture("recorded/dynamodb.har");
    let run = tracewarden(&["scan", "--format", "json", &har]);
    let input = &run.json()["inputs"][0];
    assert_eq!(input["format"], "har");
    assert_eq!(
        (&input["records"], &input["events"], &input["skipped"]),
        (&15.into(), &14.into(), &1.into())
    );
    assert_eq!(
        input["skipped_reasons"],
        serde_json::json!({"DynamoDB control-plane call": 1})
    );
    let (_, events) = normalize(&[&har]);
    assert_eq!(events.iter().map(db).collect::<Vec<_>>(), recorded_calls());
    for e in &events {
        assert_eq!(s(e, "/source/format"), "har");
        assert_eq!(s(e, "/actor/key_id"), "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(e["precision_ns"], 1000, "mitmproxy writes microseconds");
    }
    // X-Amzn-Trace-Id: the X-Ray root is the W3C trace id, its parent the call's own span.
    let update = &events[3];
    assert_eq!(
        s(update, "/correlation/trace_id"),
        "fedcf6bc05060128554c479eb5686b61"
    );
    assert_eq!(s(update, "/correlation/span_id"), "953a5154281fa6f5");
    assert_eq!(
        s(update, "/correlation/request_id"),
        "82tOFiAoLKuPPyQ1rIHNOjGj9le0j9nXZ1KhFfEdRkPKDvBC8TfE"
    );
    // A transaction is one record per item, sharing the call's group.
    assert_eq!(
        s(&events[7], "/db_operation/group_id"),
        s(&events[8], "/db_operation/group_id")
    );
}

#[test]
fn a_wire_log_becomes_db_operations_with_the_application_context() {
    let wire = fixture("recorded/app-wire.jsonl");
    let (stderr, events) = normalize(&[&wire]);
    assert_eq!(
        stderr,
        format!("{wire}: 15 records, 14 events, 0 merged, 1 skipped\n")
    );
    assert_eq!(events.iter().map(db).collect::<Vec<_>>(), recorded_calls());
    let who: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(s(e, "/source/format"), "dynamodb_wire");
            assert_eq!(e["precision_ns"], 1000);
            (
                s(e, "/actor/principal"),
                s(e, "/correlation/app_request_id"),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("alice", "req-0001"),
            ("alice", "req-0002"),
            ("alice", "req-0003"),
            ("alice", "req-0003"),
            ("alice", "req-0004"),
            ("bob", "req-0005"),
            ("bob", "req-0006"),
            ("alice", "req-0007"),
            ("alice", "req-0007"),
            ("bob", "req-0008"),
            ("bob", "req-0008"),
            ("bob", "req-0009"),
            ("alice", "req-0010"),
            ("alice", "req-0011"),
        ]
    );
    // The PutItem sends only the item: its key comes from the CreateTable logged before it.
    assert_eq!(s(&events[0], "/db_operation/operation"), "PutItem");
    assert_eq!(s(&events[0], "/db_operation/key/order_id"), "o-1");
}

/// The HTTP event an event is linked to.
fn linked<'e>(events: &'e [Value], e: &Value) -> Option<&'e Value> {
    let id = s(e, "/correlation/linked_event");
    events.iter().find(|h| h["id"] == id)
}

#[test]
fn a_har_and_a_wire_log_are_linked_request_by_request() {
    let har = fixture("recorded/app.har");
    let wire = fixture("recorded/app-wire.jsonl");
    let (_, events) = normalize(&[&wire, &har]);
    assert_time_ordered(&events);
    let calls: Vec<&Value> = events
        .iter()
        .filter(|e| e["db_operation"].is_object())
        .collect();
    assert_eq!(calls.len(), 14);
    for call in calls {
        let request = linked(&events, call).unwrap_or_else(|| panic!("unlinked: {call}"));
        assert_eq!(s(request, "/source/format"), "har");
        // Both carry the trace of the client's traceparent: the strongest join.
        assert_eq!(s(call, "/correlation/link"), "trace_id");
        assert_eq!(
            s(request, "/correlation/app_request_id"),
            s(call, "/correlation/app_request_id")
        );
        assert!(request["time_ns"].as_i64() <= call["time_ns"].as_i64());
    }
    // An API-key request has no user name; the DB log behind it knows it.
    let v2 = events
        .iter()
        .find(|e| s(e, "/correlation/app_request_id") == "req-0004" && e["http"].is_object())
        .unwrap();
    assert_eq!(s(v2, "/actor/principal"), "alice");
}

#[test]
fn without_trace_ids_the_application_request_id_links_them() {
    let dir = tempfile::tempdir().unwrap();
    let wire = dir.path().join("wire.jsonl");
    let text = std::fs::read_to_string(fixture("recorded/app-wire.jsonl")).unwrap();
    let untraced: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("trace_id");
            o.remove("span_id");
            v.to_string()
        })
        .collect();
    std::fs::write(&wire, untraced.join("\n")).unwrap();
    let (_, events) = normalize(&[&wire.display().to_string(), &fixture("recorded/app.har")]);
    let links: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["db_operation"].is_object())
        .map(|call| {
            let request = linked(&events, call).unwrap();
            (
                s(call, "/correlation/link"),
                s(request, "/correlation/app_request_id"),
            )
        })
        .collect();
    assert_eq!(links.len(), 14);
    for (link, request) in &links {
        assert_eq!(*link, "request_header");
        assert!(request.starts_with("req-"));
    }
}

#[test]
fn one_call_logged_by_two_sources_is_one_event() {
    let wire = fixture("recorded/app-wire.jsonl");
    let har = fixture("recorded/dynamodb.har");
    let (stderr, events) = normalize(&[&wire, &har]);
    assert_eq!(
        stderr,
        format!(
            "{wire}: 15 records, 14 events, 0 merged, 1 skipped\n\
             {har}: 15 records, 0 events, 14 merged, 1 skipped\n"
        )
    );
    assert_eq!(events.iter().map(db).collect::<Vec<_>>(), recorded_calls());
    // The wire line (with the application's principal) keeps its id; the HAR entry is named.
    let first = &events[0];
    assert!(s(first, "/id").starts_with("ddb:"));
    assert_eq!(s(first, "/actor/principal"), "alice");
    // A positional id names its file relative to the working directory, however it was given.
    assert!(
        s(first, "/attributes/merged_from")
            .starts_with("har:tests/fixtures/recorded/dynamodb.har#2 "),
        "{first}"
    );
}

#[test]
fn eventbridge_envelopes_and_lake_query_results_are_cloudtrail() {
    let eb = fixture("cloudtrail/eventbridge.jsonl");
    let lake = fixture("cloudtrail/lake-results.json");
    let (stderr, events) = normalize(&[&eb, &lake]);
    assert_eq!(
        stderr,
        format!(
            "{eb}: 3 records, 2 events, 0 merged, 1 skipped\n\
             {lake}: 3 records, 3 events, 0 merged, 0 skipped\n"
        )
    );
    let seen: Vec<(&str, &str, u64, String)> = events
        .iter()
        .map(|e| {
            let (op, key, ..) = db(e);
            (
                s(e, "/actor/principal").rsplit('/').next().unwrap(),
                s(e, "/outcome"),
                e["source"]["line"].as_u64().unwrap(),
                format!("{op} {key}"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "erin",
                "success",
                1,
                "GetItem orders/orderId=o-5001".to_owned()
            ),
            (
                "erin",
                "success",
                3,
                "UpdateItem orders/orderId=o-5001".to_owned()
            ),
            (
                "frank",
                "success",
                9,
                "GetItem orders/orderId=o-6001".to_owned()
            ),
            (
                "frank",
                "success",
                35,
                "DeleteItem orders/orderId=o-6001".to_owned()
            ),
            (
                "mallory",
                "denied",
                61,
                "UpdateItem orders/orderId=o-6001".to_owned()
            ),
        ]
    );
    // Lake's `2026-03-14 14:00:00.000` is read as UTC.
    assert_eq!(events[2]["time_ns"], 1_773_496_800_000_000_000_i64);
    let run = tracewarden(&["scan", "--format", "json", &eb]);
    assert_eq!(
        run.json()["inputs"][0]["skipped_reasons"],
        serde_json::json!({"EventBridge event that does not carry a CloudTrail record": 1})
    );
}

/// Every fixture, detected by content alone: the name of each file says nothing the engine reads.
#[test]
fn every_fixture_is_detected_by_content() {
    let expected = [
        ("cloudtrail/conditional-writes.json", "cloudtrail"),
        ("cloudtrail/eventbridge.jsonl", "cloudtrail"),
        ("cloudtrail/key-lifecycle.json", "cloudtrail"),
        ("cloudtrail/lake-results.json", "cloudtrail"),
        ("cloudtrail/malformed.json", "cloudtrail"),
        ("cloudtrail/mixed-sources.jsonl", "cloudtrail"),
        ("cloudtrail/toctou-negative.json", "cloudtrail"),
        ("cloudtrail/toctou-positive.json", "cloudtrail"),
        ("events/hostile-trigger.jsonl", "events"),
        ("recorded/app-otlp.json", "otlp"),
        ("recorded/app-otlp.jsonl", "otlp"),
        ("recorded/app-wire.jsonl", "dynamodb_wire"),
        ("recorded/app.har", "har"),
        ("recorded/dynamodb.har", "har"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for (i, (path, _)) in expected.iter().enumerate() {
        let renamed = dir.path().join(format!("input-{i:02}"));
        std::fs::copy(fixture(path), &renamed).unwrap();
        inputs.push(renamed.display().to_string());
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let run = tracewarden(
        &[
            &["scan", "--format", "json", "--fail-on", "none"],
            &inputs[..],
        ]
        .concat(),
    );
    let report = run.json();
    let detected: Vec<(&str, &str)> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected)
        .map(|(input, (path, _))| (path, input["format"].as_str().unwrap_or("none")))
        .collect();
    assert_eq!(detected, expected);
}

/// (method or operation, path or table, principal, outcome, error code) of an OTLP event.
fn summary(e: &Value) -> (String, String, String, String, String) {
    if e["http"].is_object() {
        (
            s(e, "/http/method").to_owned(),
            format!("{} {}", s(e, "/http/path"), e["http"]["status"]),
            s(e, "/actor/principal").to_owned(),
            s(e, "/outcome").to_owned(),
            s(e, "/http/route").to_owned(),
        )
    } else {
        (
            s(e, "/db_operation/operation").to_owned(),
            s(e, "/db_operation/table").to_owned(),
            s(e, "/actor/principal").to_owned(),
            s(e, "/outcome").to_owned(),
            s(e, "/db_operation/error_code").to_owned(),
        )
    }
}

#[test]
fn otlp_spans_of_one_trace_are_a_request_and_its_dynamodb_calls() {
    let otlp = fixture("recorded/app-otlp.json");
    let run = tracewarden(&["scan", "--format", "json", "--fail-on", "none", &otlp]);
    let input = &run.json()["inputs"][0];
    assert_eq!(
        (
            &input["format"],
            &input["records"],
            &input["events"],
            &input["skipped"]
        ),
        (&"otlp".into(), &26.into(), &24.into(), &2.into())
    );
    assert_eq!(
        input["skipped_reasons"],
        serde_json::json!({
            "DynamoDB control-plane call": 1,
            "span is neither an HTTP server request nor a DynamoDB call": 1
        })
    );
    let (_, events) = normalize(&[&otlp]);
    assert_time_ordered(&events);
    let t = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        (
            a.to_owned(),
            b.to_owned(),
            c.to_owned(),
            d.to_owned(),
            e.to_owned(),
        )
    };
    let (order, ccf) = ("/orders/{order_id}", "ConditionalCheckFailedException");
    assert_eq!(
        events.iter().map(summary).collect::<Vec<_>>(),
        [
            t("POST", "/orders 201", "alice", "success", "/orders"),
            t("PutItem", "orders", "alice", "success", ""),
            t("GET", "/orders/o-1 200", "alice", "success", order),
            t("GetItem", "orders", "alice", "success", ""),
            t("PUT", "/orders/o-1 200", "alice", "success", order),
            t("GetItem", "orders", "alice", "success", ""),
            t("UpdateItem", "orders", "alice", "success", ""),
            t(
                "PUT",
                "/v2/orders/o-1 200",
                "alice",
                "success",
                "/v2/orders/{order_id}"
            ),
            t("UpdateItem", "orders", "alice", "success", ""),
            t(
                "PUT",
                "/v2/orders/o-1 403",
                "bob",
                "denied",
                "/v2/orders/{order_id}"
            ),
            t("UpdateItem", "orders", "bob", "conflict", ccf),
            t("GET", "/orders/o-1 200", "bob", "success", order),
            t("GetItem", "orders", "bob", "success", ""),
            t("GET", "/orders/o-1 401", "", "denied", order),
            t(
                "POST",
                "/orders/batch 201",
                "alice",
                "success",
                "/orders/batch"
            ),
            t("TransactWriteItems", "", "alice", "success", ""),
            t(
                "POST",
                "/orders/batch 409",
                "bob",
                "conflict",
                "/orders/batch"
            ),
            t(
                "TransactWriteItems",
                "",
                "bob",
                "conflict",
                "TransactionCanceledException"
            ),
            t("DELETE", "/orders/o-2 403", "bob", "denied", order),
            t("DeleteItem", "orders", "bob", "conflict", ccf),
            t("DELETE", "/orders/o-1 204", "alice", "success", order),
            t("DeleteItem", "orders", "alice", "success", ""),
            t("GET", "/orders/o-1 404", "alice", "not_found", order),
            t("GetItem", "orders", "alice", "success", ""),
        ]
    );
    // Every DynamoDB span is linked, by its trace, to the server span it ran under (its parent),
    // and inherits that request's user; OTel knows no item keys.
    for call in events.iter().filter(|e| e["db_operation"].is_object()) {
        let request = linked(&events, call).unwrap_or_else(|| panic!("unlinked: {call}"));
        assert_eq!(s(call, "/correlation/link"), "trace_id");
        assert_eq!(
            s(request, "/correlation/span_id"),
            s(call, "/correlation/parent_span_id")
        );
        assert_eq!(s(request, "/actor/principal"), s(call, "/actor/principal"));
        assert_eq!(call["db_operation"].get("key"), None);
        assert_eq!(s(call, "/attributes/key_unknown"), "otel");
        assert_eq!(call["precision_ns"], 1);
    }
    assert_eq!(
        s(&events[6], "/correlation/request_id"),
        "82tOFiAoLKuPPyQ1rIHNOjGj9le0j9nXZ1KhFfEdRkPKDvBC8TfE"
    );
    assert_eq!(s(&events[4], "/correlation/app_request_id"), "req-0003");
}

#[test]
fn collector_json_lines_read_the_same_as_the_document() {
    let doc = fixture("recorded/app-otlp.json");
    let lines = fixture("recorded/app-otlp.jsonl");
    let (_, from_doc) = normalize(&[&doc]);
    let (stderr, from_lines) = normalize(&[&lines]);
    assert_eq!(
        stderr,
        format!("{lines}: 26 records, 24 events, 0 merged, 2 skipped\n")
    );
    let strip = |events: &[Value]| -> Vec<Value> {
        events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("source");
                e
            })
            .collect()
    };
    assert_eq!(strip(&from_doc), strip(&from_lines));
    assert!(from_lines.iter().all(|e| s(e, "/source/format") == "otlp"));
}

#[test]
fn four_sources_of_one_scenario_give_one_event_per_call() {
    let otlp = fixture("recorded/app-otlp.json");
    let wire = fixture("recorded/app-wire.jsonl");
    let har = fixture("recorded/app.har");
    let ddb = fixture("recorded/dynamodb.har");
    let (stderr, events) = normalize(&[&otlp, &wire, &har, &ddb]);
    assert_eq!(
        stderr,
        format!(
            "{otlp}: 26 records, 12 events, 12 merged, 2 skipped\n\
             {wire}: 15 records, 14 events, 0 merged, 1 skipped\n\
             {har}: 12 records, 0 events, 12 merged, 0 skipped\n\
             {ddb}: 15 records, 0 events, 14 merged, 1 skipped\n"
        )
    );
    assert_time_ordered(&events);
    // The DB calls: keyed (from the wire log), each linked to the OTel server span.
    let calls: Vec<&Value> = events
        .iter()
        .filter(|e| e["db_operation"].is_object())
        .collect();
    assert_eq!(
        calls.iter().map(|e| db(e)).collect::<Vec<_>>(),
        recorded_calls()
    );
    for call in &calls {
        assert_eq!(s(call, "/source/format"), "dynamodb_wire");
        let request = linked(&events, call).unwrap();
        assert_eq!(s(request, "/source/format"), "otlp");
        assert!(
            s(call, "/attributes/merged_from").contains("har:"),
            "{call}"
        );
    }
    // The OTel span of a single-item call is folded into the wire event of the same request id.
    assert!(
        s(calls[3], "/attributes/merged_from")
            .contains("otel:fedcf6bc05060128554c479eb5686b61:953a5154281fa6f5")
    );
    // The HTTP requests: OTel server spans, each merged with its HAR entry.
    let requests: Vec<&Value> = events.iter().filter(|e| e["http"].is_object()).collect();
    assert_eq!(requests.len(), 12);
    for r in requests {
        assert_eq!(s(r, "/source/format"), "otlp");
        assert!(
            s(r, "/attributes/merged_from").starts_with("har:tests/fixtures/recorded/app.har#"),
            "{r}"
        );
    }
}

#[test]
fn api_gateway_access_logs_become_http_events() {
    let log = fixture("gateway/apigw-access.jsonl");
    let (stderr, events) = normalize(&[&log]);
    assert_eq!(
        stderr,
        format!("{log}: 6 records, 6 events, 0 merged, 0 skipped\n")
    );
    /// method, path, route, status, principal, key id, outcome, precision
    type Row<'a> = (
        &'a str,
        &'a str,
        &'a str,
        u64,
        &'a str,
        &'a str,
        &'a str,
        u64,
    );
    let seen: Vec<Row<'_>> = events
        .iter()
        .map(|e| {
            assert_eq!(s(e, "/source/format"), "access_log");
            (
                s(e, "/http/method"),
                s(e, "/http/path"),
                s(e, "/http/route"),
                e["http"]["status"].as_u64().unwrap(),
                s(e, "/actor/principal"),
                s(e, "/actor/key_id"),
                s(e, "/outcome"),
                e["precision_ns"].as_u64().unwrap(),
            )
        })
        .collect();
    let route = "/orders/{orderId}";
    let sec = 1_000_000_000;
    assert_eq!(
        seen,
        [
            (
                "GET",
                "/orders/o-1001",
                route,
                200,
                "alice",
                "k7x2p9q4r1",
                "success",
                sec
            ),
            (
                "PUT",
                "/orders/o-1001",
                route,
                200,
                "alice",
                "k7x2p9q4r1",
                "success",
                sec
            ),
            (
                "GET",
                "/orders/o-1001",
                route,
                403,
                "",
                "k7x2p9q4r1",
                "denied",
                sec
            ),
            (
                "GET",
                "/orders/o-2002",
                route,
                200,
                "bob",
                "q8w3e5r7t9",
                "success",
                sec
            ),
            (
                "DELETE",
                "/orders/o-2002",
                route,
                204,
                "bob",
                "q8w3e5r7t9",
                "success",
                sec
            ),
            (
                "GET",
                "/users/1042/profile",
                "/users/{userId}/profile",
                200,
                "",
                "",
                "success",
                1_000_000
            ),
        ]
    );
    assert_eq!(
        s(&events[0], "/id"),
        "gw:6f1a4c2e-0001-4c1d-9a77-3b2b1f6d0001"
    );
    assert_eq!(
        s(&events[0], "/correlation/trace_id"),
        "65f2c0d04b2f7f9c1a0e3d5b6c7d8e9f"
    );
    assert_eq!(s(&events[5], "/http/params/users"), "1042");
}

#[test]
fn the_gateway_integration_request_id_links_the_dynamodb_call() {
    let dir = tempfile::tempdir().unwrap();
    let wire = dir.path().join("wire.jsonl");
    std::fs::write(
        &wire,
        r#"{"time":"2026-03-14T09:12:00.015Z","operation":"GetItem","request":{"TableName":"orders","Key":{"orderId":{"S":"o-1001"}}},"status":200,"request_id":"Q1N2ORDERS0001DDBREQUESTIDAAAAAAAAAAAAAAAAAAAAAAAAA","principal":"arn:aws:sts::111122223333:assumed-role/orders-api/lambda"}
"#,
    )
    .unwrap();
    let log = fixture("gateway/apigw-access.jsonl");
    let (_, events) = normalize(&[&log, &wire.display().to_string()]);
    let call = events
        .iter()
        .find(|e| e["db_operation"].is_object())
        .unwrap();
    assert_eq!(s(call, "/correlation/link"), "aws_request_id");
    assert_eq!(
        s(call, "/correlation/linked_event"),
        "gw:6f1a4c2e-0001-4c1d-9a77-3b2b1f6d0001"
    );
    // The call inherits nothing it already has; the request learns the AWS principal beside
    // its own user.
    let request = linked(&events, call).unwrap();
    assert_eq!(s(request, "/actor/principal"), "alice");
}

#[test]
fn key_inventories_in_json_and_csv_become_key_lifecycle_events() {
    let json = fixture("inventory/keys.json");
    let wide = fixture("inventory/keys.csv");
    let long = fixture("inventory/changes.csv");
    // Exports of one inventory list the same key changes: read together (in path order:
    // `changes.csv`, `keys.csv`, `keys.json`), each change is one event, the later copies
    // counted as merged.
    let run = tracewarden(&["normalize", &json, &wide, &long]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "{json}: 8 records, 4 events, 3 merged, 1 skipped\n\
             {wide}: 5 records, 3 events, 1 merged, 1 skipped\n\
             \x20 error: `{wide}`: record 3 (line 4): invalid `created` `14/03/2026`: expected an RFC 3339 time or a `YYYY-MM-DD` date\n\
             {long}: 3 records, 3 events, 0 merged, 0 skipped\n"
        )
    );
    let all: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_time_ordered(&all);
    // Each read alone.
    let events: Vec<Value> = [&json, &wide, &long]
        .iter()
        .flat_map(|f| {
            let run = tracewarden(&["normalize", f]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            run.stdout
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let of = |file: &str| -> Vec<(String, String, String, String)> {
        events
            .iter()
            .filter(|e| s(e, "/source/file") == file)
            .map(|e| {
                let k = &e["key_lifecycle"];
                let scopes: Vec<&str> = k["scopes"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
                    .unwrap_or_default();
                (
                    s(e, "/key_lifecycle/action").to_owned(),
                    s(e, "/key_lifecycle/key_id").to_owned(),
                    s(e, "/key_lifecycle/owner").to_owned(),
                    scopes.join(" "),
                )
            })
            .collect()
    };
    let k = |a: &str, id: &str, o: &str, sc: &str| (a.into(), id.into(), o.into(), sc.into());
    // Listed by SHA-256: the same key ids the HAR reader gives these keys.
    let (alice, bob) = ("hk:d8ee0d5ab0db6c68", "hk:e21b13ef6edfe3ad");
    assert_eq!(
        of(&json),
        [
            k("created", "k7x2p9q4r1", "alice", "orders:read orders:write"),
            k("deactivated", "k7x2p9q4r1", "alice", ""),
            k("deleted", "k7x2p9q4r1", "alice", ""),
            k("created", alice, "alice", "orders:read orders:write"),
            k("created", bob, "bob", "orders:read"),
            k("scope_changed", alice, "alice", "orders:read"),
            k("deleted", bob, "bob", ""),
        ]
    );
    assert_eq!(
        of(&long),
        [
            k("created", "q8w3e5r7t9", "bob", "orders:read orders:write"),
            k("scope_changed", "q8w3e5r7t9", "bob", "orders:read"),
            k("deleted", "q8w3e5r7t9", "bob", ""),
        ]
    );
    assert_eq!(of(&wide).len(), 4);
    let report = tracewarden(&["scan", "--format", "json", "--fail-on", "none", &json]).json();
    assert_eq!(
        report["inputs"][0]["skipped_reasons"],
        serde_json::json!({"key record has no dated lifecycle change": 1})
    );
}

/// One directory holding every format, scanned in one command: all detected, every record
/// accounted for, events in time order across files.
#[test]
fn a_directory_mixing_all_formats_scans_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("nested/deeper");
    std::fs::create_dir_all(&nested).unwrap();
    let files = [
        ("cloudtrail/key-lifecycle.json", "cloudtrail"),
        ("cloudtrail/eventbridge.jsonl", "cloudtrail"),
        ("cloudtrail/lake-results.json", "cloudtrail"),
        ("recorded/app.har", "har"),
        ("recorded/dynamodb.har", "har"),
        ("recorded/app-otlp.json", "otlp"),
        ("recorded/app-otlp.jsonl", "otlp"),
        ("recorded/app-wire.jsonl", "dynamodb_wire"),
        ("gateway/apigw-access.jsonl", "access_log"),
        ("inventory/keys.json", "key_inventory"),
        ("inventory/changes.csv", "key_inventory"),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for (i, (path, format)) in files.iter().enumerate() {
        let target = if i % 2 == 0 { dir.path() } else { &nested };
        let name = format!("{i:02}-{}", path.replace('/', "-"));
        std::fs::copy(fixture(path), target.join(&name)).unwrap();
        expected.insert(name, *format);
    }
    // One of them gzip-compressed.
    let gz_path = dir.path().join("12-trail.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(
        &mut gz,
        &std::fs::read(fixture("cloudtrail/toctou-positive.json")).unwrap(),
    )
    .unwrap();
    gz.finish().unwrap();
    expected.insert("12-trail.json.gz".to_owned(), "cloudtrail");

    let root = dir.path().display().to_string();
    let report = tracewarden(&["scan", "--format", "json", "--fail-on", "none", &root]).json();
    crate::common::assert_accounted(&report);
    let detected: std::collections::BTreeMap<String, &str> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert!(i["error"].is_null(), "{i}");
            let name = i["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            (name, i["format"].as_str().unwrap())
        })
        .collect();
    assert_eq!(detected, expected);

    let (_, events) = normalize(&[&root]);
    assert_time_ordered(&events);
    let kinds: std::collections::BTreeSet<&str> = events
        .iter()
        .map(|e| {
            ["http", "db_operation", "key_lifecycle"]
                .into_iter()
                .find(|k| e[*k].is_object())
                .unwrap()
        })
        .collect();
    assert_eq!(kinds.len(), 3);
    assert_eq!(
        events.len() as u64,
        report["summary"]["events"].as_u64().unwrap()
    );
}

#[test]
fn a_forced_input_format_overrides_detection() {
    let wire = fixture("recorded/app-wire.jsonl");
    let run = tracewarden(&["normalize", "--input-format", "access_log", &wire]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(&format!(
            "{wire}: 13 records, 0 events, 0 merged, 13 skipped\n\
             \x20 error: `{wire}`: record 1 (line 1): missing `httpMethod`"
        )),
        "{}",
        run.stderr
    );
    let (_, events) = normalize(&["--input-format", "dynamodb_wire", &wire]);
    assert_eq!(events.len(), 14);
}
