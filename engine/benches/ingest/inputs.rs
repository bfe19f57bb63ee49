//! Synthetic inputs, one per format, a few MB each, in the shapes `tests/fixtures/` holds:
//! an orders API whose users read and update their orders, seen from each source.

use std::fmt::Write as _;

use tracewarden::ingest::InputFormat;

use crate::{bare, cloudtrail};

/// 2026-11-20T10:00:00Z in ns.
const T0_NS: i64 = 1_795_168_800_000_000_000;

/// One input to read: its text, its format and how many events it yields.
pub struct Input {
    /// The bench's name for it.
    pub name: &'static str,
    pub format: InputFormat,
    /// The file name (its extension says nothing to the reader: formats are detected).
    pub file: &'static str,
    pub text: String,
    pub events: u64,
    /// The bare serde parse of the same bytes.
    pub bare: bare::Parse,
}

/// Every input, each about `bytes` long.
pub fn all(bytes: usize) -> Vec<Input> {
    let records = cloudtrail::records(bytes / 950, 7);
    let ct_events = records.len() as u64;
    vec![
        Input {
            name: "cloudtrail document",
            format: InputFormat::CloudTrail,
            file: "trail.json",
            text: cloudtrail::document(&records),
            events: ct_events,
            bare: bare::cloudtrail_document,
        },
        Input {
            name: "cloudtrail lines",
            format: InputFormat::CloudTrail,
            file: "trail.jsonl",
            text: records.join("\n") + "\n",
            events: ct_events,
            bare: bare::cloudtrail_lines,
        },
        sized(bytes, "har", InputFormat::Har, "app.har", har, bare::har),
        sized(
            bytes,
            "otlp lines",
            InputFormat::Otlp,
            "traces.jsonl",
            otlp,
            bare::otlp_lines,
        ),
        sized(
            bytes,
            "dynamodb wire",
            InputFormat::DynamoDbWire,
            "wire.jsonl",
            wire,
            bare::wire,
        ),
        sized(
            bytes,
            "access log",
            InputFormat::AccessLog,
            "access.jsonl",
            access_log,
            bare::access_log,
        ),
        sized(
            bytes,
            "key inventory",
            InputFormat::KeyInventory,
            "keys.jsonl",
            key_inventory,
            bare::key_inventory,
        ),
    ]
}

/// `make(n)` returns the text of `n` calls and its event count; `n` is sized from a sample.
fn sized(
    bytes: usize,
    name: &'static str,
    format: InputFormat,
    file: &'static str,
    make: fn(usize) -> (String, u64),
    bare: bare::Parse,
) -> Input {
    let sample = make(100).0.len().max(1);
    let (text, events) = make((bytes * 100 / sample).max(1));
    Input {
        name,
        format,
        file,
        text,
        events,
        bare,
    }
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A HAR of the API's requests (API key, user and request id headers, a JSON response) and,
/// recorded by a proxy beside them, the DynamoDB calls they made (signed, with their bodies).
fn har(n: usize) -> (String, u64) {
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let t = rfc3339(T0_NS + i as i64 * 2_000_000);
        let (user, order) = (i % 50, i % 500);
        let entry = if i % 2 == 0 {
            let method = if i % 4 == 0 { "GET" } else { "PUT" };
            format!(
                r#"{{"startedDateTime":"{t}","time":12.5,"request":{{"method":"{method}","url":"https://api.example.com/orders/o-{order}","httpVersion":"HTTP/1.1","cookies":[],"headers":[{{"name":"Host","value":"api.example.com"}},{{"name":"User-Agent","value":"python-requests/2.32.3"}},{{"name":"Accept","value":"application/json"}},{{"name":"X-API-Key","value":"sk_live_{user:024}"}},{{"name":"X-User-Id","value":"user-{user}"}},{{"name":"X-Request-Id","value":"req-{i}"}}],"queryString":[],"headersSize":-1,"bodySize":0}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[{{"name":"Content-Type","value":"application/json"}},{{"name":"X-Request-Id","value":"req-{i}"}}],"content":{{"size":60,"mimeType":"application/json","text":"{{\"order_id\":\"o-{order}\",\"owner_id\":\"user-{user}\",\"status\":\"new\"}}"}},"redirectURL":"","headersSize":-1,"bodySize":60}},"cache":{{}},"timings":{{"send":0.1,"wait":12.0,"receive":0.4}}}}"#
            )
        } else {
            let (op, body) = if i % 4 == 1 {
                (
                    "GetItem",
                    format!(
                        r#"{{\"TableName\":\"orders\",\"Key\":{{\"order_id\":{{\"S\":\"o-{order}\"}}}}}}"#
                    ),
                )
            } else {
                (
                    "UpdateItem",
                    format!(
                        r##"{{\"TableName\":\"orders\",\"Key\":{{\"order_id\":{{\"S\":\"o-{order}\"}}}},\"UpdateExpression\":\"SET #s = :s\",\"ConditionExpression\":\"owner_id = :uid\",\"ExpressionAttributeNames\":{{\"#s\":\"status\"}},\"ExpressionAttributeValues\":{{\":s\":{{\"S\":\"paid\"}},\":uid\":{{\"S\":\"user-{user}\"}}}}}}"##
                    ),
                )
            };
            format!(
                r#"{{"startedDateTime":"{t}","time":4.2,"request":{{"method":"POST","url":"https://dynamodb.us-east-1.amazonaws.com/","httpVersion":"HTTP/1.1","cookies":[],"headers":[{{"name":"Host","value":"dynamodb.us-east-1.amazonaws.com"}},{{"name":"X-Amz-Target","value":"DynamoDB_20120810.{op}"}},{{"name":"Content-Type","value":"application/x-amz-json-1.0"}},{{"name":"Authorization","value":"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261120/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=97a2e2bd9027f78d9f97f74db297c4e4bbc0d8d06c09320c4203b87451831ecf"}},{{"name":"X-Amzn-Trace-Id","value":"Root=1-6560f0a0-{i:024x};Parent={i:016x};Sampled=1"}}],"queryString":[],"headersSize":-1,"bodySize":-1,"postData":{{"mimeType":"application/x-amz-json-1.0","text":"{body}"}}}},"response":{{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[{{"name":"x-amzn-RequestId","value":"RID{i:049}"}}],"content":{{"size":2,"mimeType":"application/x-amz-json-1.0","text":"{{}}"}},"redirectURL":"","headersSize":-1,"bodySize":2}},"cache":{{}},"timings":{{"send":0.1,"wait":4.0,"receive":0.1}}}}"#
            )
        };
        entries.push(entry);
    }
    let text = format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"mitmproxy","version":"11.0"}},"pages":[],"entries":[{}]}}}}"#,
        entries.join(",")
    );
    (text, n as u64)
}

fn otlp_attr(k: &str, v: &str) -> String {
    format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#)
}

/// Collector `file` exporter lines: per call, the HTTP server span and the DynamoDB client span.
fn otlp(n: usize) -> (String, u64) {
    let mut out = String::new();
    for i in 0..n {
        let t = T0_NS + i as i64 * 1_000_000;
        let (user, order) = (i % 50, i % 500);
        let (method, op) = if i % 3 == 2 {
            ("PUT", "UpdateItem")
        } else {
            ("GET", "GetItem")
        };
        let (trace, server, client) = (
            format!("{:032x}", i + 1),
            format!("{:016x}", 2 * i + 1),
            format!("{:016x}", 2 * i + 2),
        );
        let _ = writeln!(
            out,
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{}]}},"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{server}","name":"{method} /orders/{{id}}","kind":2,"startTimeUnixNano":"{t}","endTimeUnixNano":"{}","attributes":[{},{},{},{},{},{{"key":"http.response.status_code","value":{{"intValue":"200"}}}}]}},{{"traceId":"{trace}","spanId":"{client}","parentSpanId":"{server}","name":"DynamoDB.{op}","kind":3,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{},{},{},{},{},{{"key":"http.status_code","value":{{"intValue":"200"}}}}]}}]}}]}}]}}"#,
            otlp_attr("service.name", "orders"),
            t + 900_000,
            otlp_attr("http.request.method", method),
            otlp_attr("url.path", &format!("/orders/o-{order}")),
            otlp_attr("http.route", "/orders/{id}"),
            otlp_attr("enduser.id", &format!("user-{user}")),
            otlp_attr("client.address", "198.51.100.7"),
            t + 100_000,
            t + 800_000,
            otlp_attr("rpc.system", "aws-api"),
            otlp_attr("rpc.service", "DynamoDB"),
            otlp_attr("rpc.method", op),
            otlp_attr("aws.dynamodb.table_names", "orders"),
            otlp_attr("aws.request_id", &format!("RID{i:049}")),
        );
    }
    (out, 2 * n as u64)
}

/// The documented request-log shape (`docs/inputs.md`), one call per line.
fn wire(n: usize) -> (String, u64) {
    let mut out = String::new();
    for i in 0..n {
        let t = rfc3339(T0_NS + i as i64 * 1_000_000);
        let (user, order) = (i % 50, i % 500);
        let (op, extra) = if i % 3 == 2 {
            (
                "UpdateItem",
                r##","UpdateExpression":"SET #s = :s","ConditionExpression":"owner_id = :uid","ExpressionAttributeNames":{"#s":"status"}"##,
            )
        } else {
            ("GetItem", "")
        };
        let _ = writeln!(
            out,
            r#"{{"time":"{t}","operation":"{op}","request":{{"TableName":"orders","Key":{{"order_id":{{"S":"o-{order}"}}}}{extra}}},"status":200,"error_type":"","error_message":"","request_id":"RID{i:049}","principal":"user-{user}","tenant":"acme","key_id":"AKIAIOSFODNN7EXAMPLE","trace_id":"{:032x}","span_id":"{:016x}","app_request_id":"req-{i}","duration_ms":3.2}}"#,
            i + 1,
            2 * i + 2,
        );
    }
    (out, n as u64)
}

/// API Gateway REST access-log lines in the usual JSON template.
fn access_log(n: usize) -> (String, u64) {
    let mut out = String::new();
    for i in 0..n {
        let t = chrono::DateTime::from_timestamp_nanos(T0_NS + i as i64 * 1_000_000_000)
            .format("%d/%b/%Y:%H:%M:%S +0000");
        let (user, order) = (i % 50, i % 500);
        let method = if i % 3 == 2 { "PUT" } else { "GET" };
        let _ = writeln!(
            out,
            r#"{{"requestId":"6f1a4c2e-{i:04x}-4c1d-9a77-3b2b1f6d{:04x}","ip":"198.51.100.{}","caller":"-","user":"-","requestTime":"{t}","httpMethod":"{method}","resourcePath":"/orders/{{orderId}}","path":"/orders/o-{order}","status":"200","protocol":"HTTP/1.1","responseLength":"87","apiKeyId":"k{user:09}","principalId":"user-{user}","integrationRequestId":"RID{i:049}","xrayTraceId":"Root=1-65f2c0d0-{i:024x};Sampled=1","responseLatency":"12","userAgent":"python-requests/2.32.3"}}"#,
            i % 0x10000,
            user % 250,
        );
    }
    (out, n as u64)
}

/// A key inventory as JSON lines: per key its creation, and for one key in three a revocation.
fn key_inventory(n: usize) -> (String, u64) {
    let mut out = String::new();
    let mut events = 0;
    for i in 0..n {
        let revoked = if i % 3 == 0 {
            events += 1;
            r#","revoked":"2026-11-20T08:00:00Z""#
        } else {
            ""
        };
        events += 1;
        let _ = writeln!(
            out,
            r#"{{"key_id":"k{i:09}","owner":"user-{}","scopes":["orders:read","orders:write"],"created":"2026-03-{:02}T09:10:00Z"{revoked}}}"#,
            i % 50,
            i % 28 + 1,
        );
    }
    (out, events)
}
