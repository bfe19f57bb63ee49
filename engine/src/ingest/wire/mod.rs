//! DynamoDB request logs: one JSON object per line, one API call per line, as an application
//! logs it around the SDK (a botocore event hook, an SDK middleware, a proxy). Every application
//! names its fields its own way, so the line is read loosely ([`dialect`]): the operation, the
//! request body wherever it is (or rebuilt from flattened fields), the time in the usual names
//! and encodings ([`time`]), status, error, ids and caller under their usual names, or at the
//! paths a declared mapping gives. The body is decoded by the shared [`super::dynamodb`]
//! decoder; transactions and batches become one event per item. `docs/inputs.md` documents the
//! documented shape, the names read, and mappings.
//!
//! Unlike CloudTrail, the log has the caller's own clock at sub-second precision and the whole
//! request; attribute values are still never copied into events, only key values.

mod dialect;
mod time;

use crate::ingest::At;

use serde_json::{Map, Value};

use super::Record;
use super::credentials::aws_key_id;
use super::dynamodb::{self, KeySchemas, Request};
use super::fields::Fields;
use super::http::http_outcome;
use super::mapping::InputMapping;
use crate::event::{Actor, Correlation, Detail, Event, Outcome, SourceRef};

const FORMAT: &str = "dynamodb_wire";

/// The skip reason of DynamoDB calls that are not data-plane operations.
pub(super) const CONTROL_PLANE: &str = "DynamoDB control-plane call";

/// The skip reason of lines of a request log that are no DynamoDB call (the application's other
/// log lines).
pub(super) const NOT_A_CALL: &str = "log line that names no DynamoDB operation";

/// Whether the first object of a file is a DynamoDB request-log line: it names a DynamoDB
/// operation, a request body (or a table) and a time — in any of the names the reader knows —
/// or a declared mapping selects it.
pub(super) fn looks_like(obj: &Map<String, Value>, mappings: &[InputMapping]) -> bool {
    let fields = Fields::of(obj);
    let mapping = mappings.iter().find(|m| m.applies(&fields));
    if mapping.is_some_and(|m| !m.when.is_empty()) {
        return true;
    }
    let call = dialect::read(&fields, mapping);
    !call.operation.is_empty() && call.body.is_some() && call.time.is_some()
}

/// Reads one line: one record, one event per item the call touched (same index and line).
/// `schemas` carries the tables' key attributes across the lines of one file, so that a
/// `PutItem` gets its key from the item.
pub(super) fn read_line(
    file: &str,
    index: &mut u64,
    line_no: u64,
    line: &str,
    schemas: &mut KeySchemas,
    mappings: &[InputMapping],
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    *index += 1;
    match convert(file, *index, line_no, line, schemas, mappings) {
        Ok(events) => {
            for e in events {
                sink(*index, At::line(line_no, line), Record::Event(e));
            }
        }
        Err(record) => sink(*index, At::line(line_no, line), record),
    }
}

const EXPECTED_OPERATION: &str = "expected the DynamoDB operation (`GetItem`) in `operation`, \
    `commandName`, `operation_name`, `target` (`DynamoDB_20120810.GetItem`) or a mapped field";
const EXPECTED_BODY: &str = "expected the DynamoDB request body (an object with `TableName`, \
    `RequestItems` or `TransactItems`, under any name, or a JSON string of one) or flattened \
    `table_name` / `key.*` fields";
const EXPECTED_TIME: &str = "expected the call's time in `time`, `ts`, `timestamp`, \
    `@timestamp` or `asctime`: RFC 3339, `YYYY-MM-DD HH:MM:SS,mmm` (UTC) or epoch s / ms / µs / ns";

fn convert(
    file: &str,
    index: u64,
    line_no: u64,
    line: &str,
    schemas: &mut KeySchemas,
    mappings: &[InputMapping],
) -> Result<super::RecordEvents, Record> {
    let malformed = |m: String| Record::Malformed(m);
    // A line in the documented shape is read typed (no mapping can select it then); any other
    // loosely, and only such a line can be wrong (`obj` names what it holds).
    let typed = if mappings.is_empty() {
        dialect::documented(line)
    } else {
        None
    };
    let parsed: Map<String, Value>;
    let (call, mapping, obj) = match typed {
        Some(call) => (call, None, None),
        None => {
            parsed = super::object_line(line, "one DynamoDB call per line")?;
            let fields = Fields::of(&parsed);
            // A line no mapping selects is read with the built-in names.
            let mapping = mappings.iter().find(|m| m.applies(&fields));
            (dialect::read(&fields, mapping), mapping, Some(&parsed))
        }
    };
    if call.operation.is_empty() {
        let named = ["operation", "target", "commandName", "operation_name"]
            .into_iter()
            .find_map(|n| obj.and_then(|o| o.get(n)).and_then(Value::as_str));
        return Err(match (named, &call.body) {
            (Some(raw), _) => malformed(format!(
                "unknown DynamoDB operation `{raw}`: {EXPECTED_OPERATION}"
            )),
            (None, Some(_)) => malformed(format!("no operation: {EXPECTED_OPERATION}")),
            (None, None) => Record::Skip(NOT_A_CALL),
        });
    }
    let operation = call.operation.as_str();
    if dialect::is_control_plane(operation) {
        if operation == "CreateTable"
            && let Some(body) = &call.body
        {
            schemas.learn_create_table(body);
        }
        return Err(Record::Skip(CONTROL_PLANE));
    }
    let Some((time_ns, precision_ns)) = call.time else {
        return Err(malformed(format!("no time: {EXPECTED_TIME}")));
    };
    let Some(params) = &call.body else {
        let raw = obj.and_then(|o| o.get("request")).map(kind_of);
        return Err(malformed(match raw {
            Some(kind) => format!("`request` is {kind}: {EXPECTED_BODY}"),
            None => format!("no request body: {EXPECTED_BODY}"),
        }));
    };
    let id = if super::correlate::is_placeholder_id(&call.aws_request_id) {
        format!("ddb:{file}#{index}")
    } else {
        format!("ddb:{}", call.aws_request_id)
    };
    let ops = dynamodb::decode(
        &Request {
            operation,
            params,
            error_code: &call.error_code,
            error_message: &call.error_message,
            group_id: &id,
        },
        schemas,
    );
    let actor = Actor {
        principal: call.principal.clone().into(),
        key_id: if call.key_id.is_empty() {
            Default::default()
        } else {
            aws_key_id(&call.key_id).into()
        },
        tenant: call.tenant.clone().into(),
        ..Actor::default()
    };
    let correlation = Correlation {
        trace_id: call.trace_id.clone().into(),
        span_id: call.span_id.clone().into(),
        request_id: call.aws_request_id.clone().into(),
        app_request_id: call.app_request_id.clone().into(),
        ..Correlation::default()
    };
    let mut attributes = crate::event::Fields::new();
    if let Some(ns) = call.duration_ns {
        attributes.insert("duration_ns".into(), ns.to_string().into());
    }
    if let Some(m) = mapping {
        attributes.insert("mapping".into(), m.name.clone().into());
    }
    // A key store's new scopes: what a key may do from now on (the ledger reads them).
    if let Some(scopes) = dynamodb::written_scopes(params) {
        attributes.insert(
            crate::event::SCOPES_ATTRIBUTE.into(),
            scopes.join(" ").into(),
        );
    }
    let status = call.status;
    let failed = call.failed;
    let many = ops.len() > 1;
    Ok(ops
        .into_iter()
        .enumerate()
        // Boxed where they are made: an event is ~750 bytes, and the stream holds it boxed.
        .map(|(i, op)| {
            Box::new(Event {
                facts: Default::default(),
                id: if many {
                    format!("{id}/{}", i + 1).into()
                } else {
                    id.clone().into()
                },
                time_ns,
                precision_ns,
                source: SourceRef::at(file, index, Some(line_no), FORMAT),
                actor: actor.clone(),
                correlation: correlation.clone(),
                outcome: match call_outcome(&op.error_code, status) {
                    Outcome::Success if failed => Outcome::Error,
                    outcome => outcome,
                },
                detail: Detail::DbOperation(op),
                attributes: attributes.clone(),
            })
        })
        .collect())
}

/// The operation of an `X-Amz-Target` value: `DynamoDB_20120810.GetItem` gives `GetItem`.
pub(super) fn target_operation(target: &str) -> Option<&str> {
    let (service, operation) = target.split_once('.')?;
    (service.starts_with("DynamoDB_")
        && !operation.is_empty()
        && operation.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(operation)
}

/// The outcome of a DynamoDB call: from its error code when it has one, else from the HTTP
/// status (0: no response, unknown); a call with neither logged no error: success.
pub(super) fn call_outcome(error_code: &str, status: Option<u16>) -> Outcome {
    match status {
        _ if !error_code.is_empty() => dynamodb::outcome(error_code),
        Some(status) => http_outcome(status),
        None => Outcome::Success,
    }
}

/// The precision of an RFC 3339 time from its fraction digits: none 1 s, 3 1 ms, 6 1 µs, 9 1 ns.
pub(super) fn fraction_precision_ns(rfc3339: &str) -> u64 {
    let digits = rfc3339.split_once('.').map_or(0, |(_, fraction)| {
        fraction.bytes().take_while(u8::is_ascii_digit).count()
    });
    10u64.pow(9 - digits.min(9) as u32)
}

/// Milliseconds (a float, as logs write durations) to whole nanoseconds; `None` if negative or
/// not finite.
pub(super) fn ms_to_ns(ms: f64) -> Option<u64> {
    let ns = (ms * 1e6).round();
    (ns.is_finite() && ns >= 0.0 && ns < u64::MAX as f64).then_some(ns as u64)
}

/// What a JSON value is, for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DbOperation;
    use crate::ingest::credentials::key_id_of;

    fn read(lines: &[&str]) -> Vec<(u64, Option<u64>, Result<Event, String>)> {
        read_mapped(lines, &[])
    }

    fn read_mapped(
        lines: &[&str],
        mappings: &[InputMapping],
    ) -> Vec<(u64, Option<u64>, Result<Event, String>)> {
        let mut out = Vec::new();
        let mut index = 0;
        let mut schemas = KeySchemas::default();
        for (i, line) in lines.iter().enumerate() {
            read_line(
                "w.jsonl",
                &mut index,
                i as u64 + 1,
                line,
                &mut schemas,
                mappings,
                &mut |i, l: At<'_>, r: Record| out.push((i, l.line, r.into_result())),
            );
        }
        out
    }

    fn error(line: &str) -> String {
        read(&[line]).remove(0).2.unwrap_err()
    }

    fn db(e: &Event) -> &DbOperation {
        match &e.detail {
            Detail::DbOperation(d) => d,
            other => panic!("not a db event: {other:?}"),
        }
    }

    const SPEC_EXAMPLE: &str = r##"{"time":"2026-11-20T10:00:00.123456Z","operation":"UpdateItem","request":{"TableName":"orders","Key":{"orderId":{"S":"o-1"}},"UpdateExpression":"SET #s = :s","ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":s":{"S":"paid"}}},"status":200,"error_type":"","request_id":"Q1N2","principal":"arn:aws:sts::111122223333:assumed-role/app/x","key_id":"AKIAEXAMPLE","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","app_request_id":"req-42","duration_ms":3.2}"##;

    #[test]
    fn the_spec_example_maps_field_by_field() {
        let out = read(&[SPEC_EXAMPLE]);
        assert_eq!(out.len(), 1);
        let (index, line, e) = &out[0];
        assert_eq!((*index, *line), (1, Some(1)));
        let e = e.as_ref().unwrap();
        assert_eq!(e.id, "ddb:Q1N2");
        assert_eq!(e.time_ns, 1_795_168_800_123_456_000);
        assert_eq!(e.precision_ns, 1_000);
        assert_eq!(
            e.source,
            SourceRef {
                file: "w.jsonl".into(),
                record: 1,
                line: Some(1),
                format: "dynamodb_wire".into()
            }
        );
        assert_eq!(
            e.actor,
            Actor {
                principal: "arn:aws:sts::111122223333:assumed-role/app/x".into(),
                key_id: "AKIAEXAMPLE".into(),
                ..Actor::default()
            }
        );
        assert_eq!(
            e.correlation,
            Correlation {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                span_id: "00f067aa0ba902b7".into(),
                request_id: "Q1N2".into(),
                app_request_id: "req-42".into(),
                ..Correlation::default()
            }
        );
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(
            *db(e),
            DbOperation {
                service: "dynamodb".into(),
                operation: "UpdateItem".into(),
                table: "orders".into(),
                key: crate::event::Fields::from_iter([("orderId".into(), "o-1".into())]),
                update_expression: "SET status = :s".into(),
                is_write: true,
                ..DbOperation::default()
            }
        );
        assert_eq!(
            e.attributes,
            crate::event::Fields::from_iter([("duration_ns".into(), "3200000".into())])
        );
        let json = crate::event::to_json(e).unwrap();
        assert!(!json.contains("paid"), "{json}");
    }

    #[test]
    fn targets_epoch_millis_and_errors() {
        let line = r#"{"time":1700000000123,"target":"DynamoDB_20120810.PutItem","request":{"TableName":"t","Item":{"id":{"S":"a"}},"ConditionExpression":"attribute_not_exists(id)"},"status":400,"error_type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","tenant":"acme"}"#;
        let e = read(&[line]).remove(0).2.unwrap();
        assert_eq!(e.id, "ddb:w.jsonl#1");
        assert_eq!(
            (e.time_ns, e.precision_ns),
            (1_700_000_000_123_000_000, 1_000_000)
        );
        assert_eq!(e.outcome, Outcome::Conflict);
        assert_eq!(e.actor.tenant, "acme");
        let d = db(&e);
        assert_eq!(
            (d.operation.as_str(), d.error_code.as_str(), d.has_condition),
            ("PutItem", "ConditionalCheckFailedException", true)
        );
        let seconds = r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem","request":{"TableName":"t","Key":{"id":"a"}},"status":500}"#;
        let e = read(&[seconds]).remove(0).2.unwrap();
        assert_eq!((e.precision_ns, e.outcome), (1_000_000_000, Outcome::Error));
        let fraction = r#"{"time":1700000000123.5,"operation":"GetItem","request":{}}"#;
        let e = read(&[fraction]).remove(0).2.unwrap();
        assert_eq!(
            (e.time_ns, e.precision_ns, e.outcome),
            (1_700_000_000_123_500_000, 1_000, Outcome::Success)
        );
    }

    #[test]
    fn a_transaction_is_one_record_with_one_event_per_item() {
        let line = r#"{"time":"2026-11-20T10:00:00.5Z","operation":"TransactWriteItems","request":{"TransactItems":[{"ConditionCheck":{"TableName":"users","Key":{"id":{"S":"u1"}},"ConditionExpression":"attribute_exists(id)"}},{"Update":{"TableName":"orders","Key":{"orderId":{"S":"o-1"}},"UpdateExpression":"SET a = :a"}}]},"status":400,"error_type":"TransactionCanceledException","error_message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]","request_id":"R9"}"#;
        let out = read(&[line]);
        assert_eq!(out.len(), 2);
        let summary: Vec<_> = out
            .iter()
            .map(|(i, l, e)| {
                let e = e.as_ref().unwrap();
                (
                    *i,
                    *l,
                    e.id.to_string(),
                    db(e).group_id.to_string(),
                    db(e).error_code.to_string(),
                    e.outcome,
                    e.precision_ns,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    1,
                    Some(1),
                    "ddb:R9/1".to_owned(),
                    "ddb:R9".to_owned(),
                    "ConditionalCheckFailedException".to_owned(),
                    Outcome::Conflict,
                    100_000_000
                ),
                (
                    1,
                    Some(1),
                    "ddb:R9/2".to_owned(),
                    "ddb:R9".to_owned(),
                    "TransactionCanceledException".to_owned(),
                    Outcome::Conflict,
                    100_000_000
                ),
            ]
        );
    }

    #[test]
    fn key_schemas_carry_across_lines() {
        let get = r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem","request":{"TableName":"orders","Key":{"orderId":{"S":"o-1"}}}}"#;
        let put = r#"{"time":"2026-11-20T10:00:01Z","operation":"PutItem","request":{"TableName":"orders","Item":{"orderId":{"S":"o-2"},"card":{"S":"4111"}}}}"#;
        let out = read(&[get, put]);
        let e = out[1].2.as_ref().unwrap();
        assert_eq!((out[1].0, out[1].1), (2, Some(2)));
        assert_eq!(
            db(e).key,
            crate::event::Fields::from_iter([("orderId".into(), "o-2".into())])
        );
        assert!(!crate::event::to_json(e).unwrap().contains("4111"));
    }

    #[test]
    fn key_ids_that_are_not_access_key_ids_are_hashed() {
        let line = |k: &str| {
            format!(
                r#"{{"time":"2026-11-20T10:00:00Z","operation":"GetItem","request":{{}},"key_id":"{k}"}}"#
            )
        };
        let key = |k: &str| read(&[&line(k)]).remove(0).2.unwrap().actor.key_id;
        assert_eq!(key("ASIAQ3EGRQ7EXAMPLE"), "ASIAQ3EGRQ7EXAMPLE");
        assert_eq!(key("hk:0123456789abcdef"), "hk:0123456789abcdef");
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(key(secret), key_id_of(secret));
    }

    #[test]
    fn control_plane_calls_are_skipped() {
        assert_eq!(
            error(
                r#"{"time":"2026-11-20T10:00:00Z","operation":"DescribeTable","request":{"TableName":"t"}}"#
            ),
            "skip: DynamoDB control-plane call"
        );
        assert_eq!(
            error(r#"{"target":"DynamoDB_20120810.CreateTable"}"#),
            "skip: DynamoDB control-plane call"
        );
    }

    #[test]
    fn malformed_lines_say_what_was_expected() {
        let cases = [
            ("garbage", "not JSON: expected value at line 1 column 1"),
            (
                "[1]",
                "expected a JSON object (one DynamoDB call per line), found an array",
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","request":{"TableName":"t"}}"#,
                &format!("no operation: {EXPECTED_OPERATION}"),
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","operation":"GetThing","request":{}}"#,
                &format!("unknown DynamoDB operation `GetThing`: {EXPECTED_OPERATION}"),
            ),
            (
                r#"{"operation":"GetItem","request":{}}"#,
                &format!("no time: {EXPECTED_TIME}"),
            ),
            (
                r#"{"time":"yesterday","operation":"GetItem","request":{}}"#,
                &format!("no time: {EXPECTED_TIME}"),
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem"}"#,
                &format!("no request body: {EXPECTED_BODY}"),
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem","request":"oops"}"#,
                &format!("`request` is a string: {EXPECTED_BODY}"),
            ),
        ];
        for (line, message) in cases {
            assert_eq!(error(line), message, "{line}");
        }
        // The application's other log lines are not DynamoDB calls: skipped with a reason.
        assert_eq!(
            error(r#"{"level":30,"time":1796215503519,"msg":"listening on :8080"}"#),
            format!("skip: {NOT_A_CALL}")
        );
    }

    #[test]
    fn detection_needs_an_operation_a_body_and_a_time_in_any_dialect() {
        let obj = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        let yes = |s: &str| looks_like(&obj(s), &[]);
        assert!(yes(SPEC_EXAMPLE));
        assert!(yes(
            r#"{"time":1,"target":"DynamoDB_20120810.GetItem","request":{}}"#
        ));
        assert!(yes(
            r#"{"ts":1796215503.5,"commandName":"GetItemCommand","input":{"TableName":"t","Key":{"id":{"S":"1"}}}}"#
        ));
        assert!(yes(
            r#"{"@timestamp":"2026-12-02T12:45:01Z","aws.dynamodb.operation":"GetItem","aws.dynamodb.table_name":"t"}"#
        ));
        assert!(!yes(r#"{"time":1,"operation":"GetItem"}"#));
        assert!(!yes(r#"{"operation":"GetItem","request":{}}"#));
        assert!(!yes(
            r#"{"eventVersion":"1.08","eventSource":"dynamodb.amazonaws.com","eventTime":"x"}"#
        ));
        assert!(!yes(r#"{"id":"x","time_ns":1,"source":{}}"#));
        assert!(!yes(r#"{"time":1,"method":"GET","path":"/orders"}"#));
    }

    /// What a line became, in the fields every dialect must agree on.
    fn summary(
        e: &Event,
    ) -> (
        String,
        String,
        String,
        bool,
        String,
        Outcome,
        String,
        String,
        String,
    ) {
        let d = db(e);
        (
            d.operation.to_string(),
            d.table.to_string(),
            d.key
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            d.has_condition,
            d.error_code.to_string(),
            e.outcome,
            e.actor.principal.to_string(),
            e.correlation.request_id.to_string(),
            e.correlation.app_request_id.to_string(),
        )
    }

    #[test]
    fn request_logs_of_other_hooks_and_loggers_read_alike() {
        let lines = [
            // botocore event hook + python-json-logger: `asctime` without a zone, `params`.
            r#"{"asctime": "2026-12-02 12:45:01,788", "levelname": "WARNING", "message": "dynamodb call failed", "operation_name": "UpdateItem", "params": {"TableName": "orders", "Key": {"pk": {"S": "CUST#alice"}}, "ConditionExpression": "owner_id = :uid"}, "http_status": 400, "aws_request_id": "KBH9ZV", "request_id": "1f326289-aaaa-bbbb-cccc-123456789012", "user": "mallory", "error_code": "ConditionalCheckFailedException"}"#,
            // SDK v3 middleware + pino: epoch ms, `commandName`, the error under `err`.
            r#"{"level":40,"time":1796215501788,"reqId":6,"user":"mallory","commandName":"UpdateItemCommand","input":{"TableName":"orders","Key":{"pk":{"S":"CUST#alice"}},"ConditionExpression":"owner_id = :uid"},"err":{"name":"ConditionalCheckFailedException","$metadata":{"httpStatusCode":400,"requestId":"KBH9ZV"}},"msg":"dynamodb command failed"}"#,
            // SDK v2 + winston: lowerCamel operation, `httpResponse.statusCode`, `error.code`.
            r#"{"correlationId":"8711bc87","error":{"code":"ConditionalCheckFailedException","statusCode":400},"httpResponse":{"statusCode":400},"level":"warn","operation":"updateItem","params":{"ConditionExpression":"owner_id = :uid","Key":{"pk":{"S":"CUST#alice"}},"TableName":"orders"},"requestId":"KBH9ZVKBH9ZVKBH9ZVKBH9ZV","timestamp":"2026-12-02T12:45:01.788Z","userId":"mallory"}"#,
            // structlog, flattened into dotted ECS-style keys: epoch seconds.
            r#"{"event.outcome": "failure", "aws.dynamodb.operation": "UpdateItem", "aws.dynamodb.table_name": "orders", "aws.dynamodb.key.pk": "CUST#alice", "aws.dynamodb.condition_expression": "owner_id = :uid", "aws.request_id": "KBH9ZV", "http.response.status_code": 400, "error.type": "ConditionalCheckFailedException", "http.request.id": "91a0", "user.id": "mallory", "@timestamp": 1796215501.788}"#,
            // The request body as a JSON string, the caller as an object.
            r#"{"ts":"2026-12-02T12:45:01.788Z","op":"UpdateItem","body":"{\"TableName\":\"orders\",\"Key\":{\"pk\":\"CUST#alice\"},\"ConditionExpression\":\"owner_id = :uid\"}","error":"ConditionalCheckFailedException","aws":{"requestId":"KBH9ZV"},"req":{"id":"r-7"},"user":{"id":"mallory","email":"m@example.com"}}"#,
        ];
        let out = read(&lines);
        assert_eq!(out.len(), lines.len());
        let app_ids = [
            "1f326289-aaaa-bbbb-cccc-123456789012",
            "6",
            "8711bc87",
            "91a0",
            "r-7",
        ];
        for ((i, line, e), app_id) in out.iter().zip(app_ids) {
            let e = e.as_ref().unwrap_or_else(|m| panic!("line {i}: {m}"));
            let aws_id = if *i == 3 {
                "KBH9ZVKBH9ZVKBH9ZVKBH9ZV"
            } else {
                "KBH9ZV"
            };
            assert_eq!(
                summary(e),
                (
                    "UpdateItem".into(),
                    "orders".into(),
                    "pk=CUST#alice".into(),
                    true,
                    "ConditionalCheckFailedException".into(),
                    Outcome::Conflict,
                    "mallory".into(),
                    aws_id.into(),
                    app_id.into(),
                ),
                "line {i}"
            );
            assert_eq!(e.time_ns, 1_796_215_501_788_000_000, "line {line:?}");
        }
    }

    #[test]
    fn flattened_transactions_and_batches_become_one_event_per_item() {
        let line = r#"{"@timestamp": 1796215507.417427, "aws.dynamodb.operation": "TransactWriteItems", "aws.dynamodb.items.0.action": "Put", "aws.dynamodb.items.0.table_name": "orders", "aws.dynamodb.items.0.key.pk": "CUST#alice", "aws.dynamodb.items.0.key.sk": "ORDER#2", "aws.dynamodb.items.0.condition_expression": "attribute_not_exists(pk)", "aws.dynamodb.items.1.action": "Update", "aws.dynamodb.items.1.table_name": "customers", "aws.dynamodb.items.1.key.pk": "CUST#alice", "aws.dynamodb.items.1.update_expression": "ADD n :one", "aws.request_id": "UPC", "user.id": "alice"}"#;
        let out = read(&[line]);
        let items: Vec<(String, String, String, bool)> = out
            .iter()
            .map(|(_, _, e)| {
                let e = e.as_ref().unwrap();
                let s = summary(e);
                (s.0, s.1, s.2, s.3)
            })
            .collect();
        assert_eq!(
            items,
            [
                (
                    "PutItem".into(),
                    "orders".into(),
                    "pk=CUST#alice,sk=ORDER#2".into(),
                    true
                ),
                (
                    "UpdateItem".into(),
                    "customers".into(),
                    "pk=CUST#alice".into(),
                    false
                ),
            ]
        );
    }

    #[test]
    fn a_mapping_names_what_no_built_in_name_fits() {
        let mapping = crate::ingest::parse_mappings(
            r#"
            [inputs.legacy]
            when = { kind = "ddb" }
            time = "at"
            time_unit = "s"
            operation = "what.call"
            request = "what.data"
            principal = "ctx.who"
            app_request_id = "ctx.rid"
            aws_request_id = "what.rid"
            error = "what.failure"
            "#,
        )
        .unwrap();
        let line = r#"{"kind":"ddb","at":1796215501,"what":{"call":"UpdateItem","data":{"TableName":"orders","Key":{"pk":"O#1"}},"rid":"X1","failure":"ValidationException"},"ctx":{"who":"alice","rid":"r-9"}}"#;
        assert_eq!(error(line), format!("no operation: {EXPECTED_OPERATION}"));
        let e = read_mapped(&[line], &mapping).remove(0).2.unwrap();
        assert_eq!(
            summary(&e),
            (
                "UpdateItem".into(),
                "orders".into(),
                "pk=O#1".into(),
                false,
                "ValidationException".into(),
                Outcome::Error,
                "alice".into(),
                "X1".into(),
                "r-9".into(),
            )
        );
        assert_eq!(e.time_ns, 1_796_215_501_000_000_000);
        assert_eq!(
            e.attributes
                .get("mapping")
                .map(crate::event::SmolStr::as_str),
            Some("legacy")
        );
        let obj = serde_json::from_str::<Map<String, Value>>(line).unwrap();
        assert!(looks_like(&obj, &mapping));
        assert!(!looks_like(&obj, &[]));
        // A line the mapping does not select is read with the built-in names.
        let other = r#"{"kind":"http","time":"2026-12-02T12:45:01Z","operation":"GetItem","request":{"TableName":"t","Key":{"id":"1"}}}"#;
        assert_eq!(
            summary(&read_mapped(&[other], &mapping).remove(0).2.unwrap()).0,
            "GetItem"
        );
    }

    #[test]
    fn precision_follows_fraction_digits() {
        for (t, p) in [
            ("2026-11-20T10:00:00Z", 1_000_000_000),
            ("2026-11-20T10:00:00.1Z", 100_000_000),
            ("2026-11-20T10:00:00.123+01:00", 1_000_000),
            ("2026-11-20T10:00:00.123456Z", 1_000),
            ("2026-11-20T10:00:00.123456789Z", 1),
            ("2026-11-20T10:00:00.1234567891Z", 1),
        ] {
            assert_eq!(fraction_precision_ns(t), p, "{t}");
        }
        assert_eq!(ms_to_ns(3.2), Some(3_200_000));
        assert_eq!(ms_to_ns(-1.0), None);
        assert_eq!(ms_to_ns(f64::NAN), None);
    }
}
