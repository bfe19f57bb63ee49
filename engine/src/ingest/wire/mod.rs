//! DynamoDB wire request logs: one JSON object per line, one API call per line, as an
//! application logs it around the SDK (a botocore event hook, an SDK middleware, a proxy). The
//! request body is decoded by the shared [`super::dynamodb`] decoder; transactions and batches
//! become one event per item. `docs/inputs.md` documents the accepted shape.
//!
//! Unlike CloudTrail, the wire log has the caller's own clock at sub-second precision and the
//! whole request; attribute values are still never copied into events, only key values.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Record;
use super::credentials::aws_key_id;
use super::dynamodb::{self, KeySchemas, Request};
use super::http::http_outcome;
use crate::event::{Actor, Correlation, Detail, Event, Outcome, SourceRef};
use crate::time::parse_rfc3339;

const FORMAT: &str = "dynamodb_wire";

/// The skip reason of DynamoDB calls that are not data-plane operations.
pub(super) const CONTROL_PLANE: &str = "DynamoDB control-plane call";

/// Whether the first object of a file is a wire log line: a `request` object, an `operation` or
/// `target` string, and a `time`.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    obj.get("request").is_some_and(Value::is_object)
        && (obj.get("operation").is_some_and(Value::is_string)
            || obj.get("target").is_some_and(Value::is_string))
        && obj.contains_key("time")
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
    sink: &mut impl FnMut(u64, Option<u64>, Record),
) {
    *index += 1;
    let records = match convert(file, *index, line_no, line, schemas) {
        Ok(events) => events
            .into_iter()
            .map(|e| Record::Event(Box::new(e)))
            .collect(),
        Err(record) => vec![record],
    };
    for record in records {
        sink(*index, Some(line_no), record);
    }
}

fn convert(
    file: &str,
    index: u64,
    line_no: u64,
    line: &str,
    schemas: &mut KeySchemas,
) -> Result<Vec<Event>, Record> {
    let malformed = |m: String| Record::Malformed(m);
    let obj = &super::object_line(line, "one DynamoDB call per line")?;
    let operation = match (text(obj, "operation"), text(obj, "target")) {
        (Some(op), _) => op,
        (None, Some(target)) => target_operation(target).ok_or_else(|| {
            malformed(format!(
                "invalid `target` `{target}`: expected `DynamoDB_20120810.<Operation>`"
            ))
        })?,
        (None, None) => {
            return Err(malformed(
                "missing `operation` and `target`: expected the DynamoDB operation (`GetItem`) \
                 or the `X-Amz-Target` header (`DynamoDB_20120810.GetItem`)"
                    .to_owned(),
            ));
        }
    };
    if !dynamodb::is_data_plane(operation) {
        if operation == "CreateTable"
            && let Some(Value::Object(params)) = obj.get("request")
        {
            schemas.learn_create_table(params);
        }
        return Err(Record::Skip(CONTROL_PLANE));
    }
    let (time_ns, precision_ns) = time(obj.get("time"))?;
    let params = match obj.get("request") {
        None | Some(Value::Null) => {
            return Err(malformed(
                "missing `request`: expected the DynamoDB request body (an object)".to_owned(),
            ));
        }
        Some(Value::Object(params)) => params,
        Some(other) => {
            return Err(malformed(format!(
                "`request` is {}: expected the DynamoDB request body (an object)",
                kind_of(other)
            )));
        }
    };
    let field = |name| text(obj, name).unwrap_or_default();
    let request_id = field("request_id");
    let id = if request_id.is_empty() {
        format!("ddb:{file}#{index}")
    } else {
        format!("ddb:{request_id}")
    };
    let ops = dynamodb::decode(
        &Request {
            operation,
            params,
            error_code: dynamodb::short_error_type(field("error_type")),
            error_message: field("error_message"),
            group_id: &id,
        },
        schemas,
    );
    let status = obj
        .get("status")
        .and_then(Value::as_u64)
        .map(|s| u16::try_from(s).unwrap_or_default());
    let actor = Actor {
        principal: field("principal").to_owned(),
        key_id: aws_key_id(field("key_id")),
        tenant: field("tenant").to_owned(),
        ..Actor::default()
    };
    let correlation = Correlation {
        trace_id: field("trace_id").to_owned(),
        span_id: field("span_id").to_owned(),
        request_id: request_id.to_owned(),
        app_request_id: field("app_request_id").to_owned(),
        ..Correlation::default()
    };
    let mut attributes = BTreeMap::new();
    if let Some(ns) = obj
        .get("duration_ms")
        .and_then(Value::as_f64)
        .and_then(ms_to_ns)
    {
        attributes.insert("duration_ns".to_owned(), ns.to_string());
    }
    let many = ops.len() > 1;
    Ok(ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| Event {
            facts: Default::default(),
            id: if many {
                format!("{id}/{}", i + 1)
            } else {
                id.clone()
            },
            time_ns,
            precision_ns,
            source: SourceRef {
                file: file.to_owned(),
                record: index,
                line: Some(line_no),
                format: FORMAT.to_owned(),
            },
            actor: actor.clone(),
            correlation: correlation.clone(),
            outcome: call_outcome(&op.error_code, status),
            detail: Detail::DbOperation(op),
            attributes: attributes.clone(),
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

/// `time` as Unix ns and its precision: RFC 3339 (precision from its fraction digits) or epoch
/// milliseconds (1 ms; 1 µs when the number has a fraction: a double holds no more).
fn time(value: Option<&Value>) -> Result<(i64, u64), Record> {
    let invalid = |raw: String| {
        Record::Malformed(format!(
            "invalid `time` `{raw}`: expected an RFC 3339 time like `2026-11-20T10:00:00.123Z` \
             or epoch milliseconds"
        ))
    };
    match value {
        None | Some(Value::Null) => Err(Record::Malformed(
            "missing `time`: expected an RFC 3339 time or epoch milliseconds".to_owned(),
        )),
        Some(Value::String(s)) => parse_rfc3339(s)
            .map(|ns| (ns, fraction_precision_ns(s)))
            .ok_or_else(|| invalid(s.clone())),
        Some(Value::Number(n)) => if let Some(ms) = n.as_i64() {
            ms.checked_mul(1_000_000).map(|ns| (ns, 1_000_000))
        } else {
            n.as_f64().and_then(float_ms_to_ns)
        }
        .ok_or_else(|| invalid(n.to_string())),
        Some(other) => Err(invalid(other.to_string())),
    }
}

/// Fractional epoch milliseconds to ns, to the microsecond: a double near 1.7e12 holds no
/// finer digits. Whole milliseconds keep 1 ms precision.
fn float_ms_to_ns(ms: f64) -> Option<(i64, u64)> {
    if !ms.is_finite() || ms.abs() >= (i64::MAX / 1_000_000) as f64 {
        return None;
    }
    let whole = ms.trunc() as i64;
    let micros = ((ms - ms.trunc()) * 1_000.0).round() as i64;
    let precision = if micros == 0 { 1_000_000 } else { 1_000 };
    Some((whole * 1_000_000 + micros * 1_000, precision))
}

/// A non-empty string member.
fn text<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v str> {
    obj.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// What a JSON value is, for messages.
pub(super) fn kind_of(value: &Value) -> &'static str {
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
                &mut |i, l, r| out.push((i, l, r.into_result())),
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
                key: [("orderId".to_owned(), "o-1".to_owned())].into(),
                update_expression: "SET status = :s".into(),
                is_write: true,
                ..DbOperation::default()
            }
        );
        assert_eq!(
            e.attributes,
            [("duration_ns".to_owned(), "3200000".to_owned())].into()
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
                    e.id.clone(),
                    db(e).group_id.clone(),
                    db(e).error_code.clone(),
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
        assert_eq!(db(e).key, [("orderId".to_owned(), "o-2".to_owned())].into());
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
                r#"{"time":"2026-11-20T10:00:00Z","request":{}}"#,
                "missing `operation` and `target`: expected the DynamoDB operation (`GetItem`) or the `X-Amz-Target` header (`DynamoDB_20120810.GetItem`)",
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","target":"GetItem","request":{}}"#,
                "invalid `target` `GetItem`: expected `DynamoDB_20120810.<Operation>`",
            ),
            (
                r#"{"operation":"GetItem","request":{}}"#,
                "missing `time`: expected an RFC 3339 time or epoch milliseconds",
            ),
            (
                r#"{"time":"yesterday","operation":"GetItem","request":{}}"#,
                "invalid `time` `yesterday`: expected an RFC 3339 time like `2026-11-20T10:00:00.123Z` or epoch milliseconds",
            ),
            (
                r#"{"time":true,"operation":"GetItem","request":{}}"#,
                "invalid `time` `true`: expected an RFC 3339 time like `2026-11-20T10:00:00.123Z` or epoch milliseconds",
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem"}"#,
                "missing `request`: expected the DynamoDB request body (an object)",
            ),
            (
                r#"{"time":"2026-11-20T10:00:00Z","operation":"GetItem","request":"{}"}"#,
                "`request` is a string: expected the DynamoDB request body (an object)",
            ),
        ];
        for (line, message) in cases {
            assert_eq!(error(line), message, "{line}");
        }
    }

    #[test]
    fn detection_needs_request_operation_and_time() {
        let obj = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        assert!(looks_like(&obj(SPEC_EXAMPLE)));
        assert!(looks_like(&obj(
            r#"{"time":1,"target":"DynamoDB_20120810.GetItem","request":{}}"#
        )));
        assert!(!looks_like(&obj(r#"{"time":1,"operation":"GetItem"}"#)));
        assert!(!looks_like(&obj(r#"{"operation":"GetItem","request":{}}"#)));
        assert!(!looks_like(&obj(
            r#"{"eventVersion":"1.08","eventSource":"dynamodb.amazonaws.com","eventTime":"x"}"#
        )));
        assert!(!looks_like(&obj(r#"{"id":"x","time_ns":1,"source":{}}"#)));
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
