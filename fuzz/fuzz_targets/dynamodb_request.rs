//! The DynamoDB request decoder every reader shares (`engine/src/ingest/dynamodb.rs`). The input
//! is one JSON object shaped like a wire-log line or a CloudTrail record: `operation` (or
//! `eventName`), the body in `request` (or `requestParameters`, else the object itself), and
//! optional `error_code`, `error_message`, `group_id`.
//!
//! Invariants: at least one operation and at most one per item of a transaction or batch, its
//! items sharing the group id; every operation of DynamoDB, a write exactly when its operation
//! writes; a single-item operation keeps the operation, error code and whether a condition was
//! given; decoding is deterministic and blind to the case of the body's member names (CloudTrail
//! writes `tableName`, the wire `TableName`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tracewarden::fuzzing::decode_dynamodb;

const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// Every member named `name` in any case, `null` left out.
fn members<'v>(obj: &'v Map<String, Value>, name: &'v str) -> impl Iterator<Item = &'v Value> {
    obj.iter()
        .filter(move |(k, v)| k.eq_ignore_ascii_case(name) && !v.is_null())
        .map(|(_, v)| v)
}

/// The most operations a transaction or batch can give: one per item of any member that may
/// hold its items.
fn most_items(operation: &str, params: &Map<String, Value>) -> usize {
    let count = match operation {
        "TransactWriteItems" | "TransactGetItems" => members(params, "TransactItems")
            .chain(members(params, "RequestItems"))
            .filter_map(Value::as_array)
            .map(Vec::len)
            .max()
            .unwrap_or(0),
        "BatchWriteItem" | "BatchGetItem" => members(params, "RequestItems")
            .filter_map(Value::as_object)
            .map(|tables| {
                tables
                    .values()
                    .map(|requests| match requests {
                        Value::Array(writes) => writes
                            .iter()
                            .filter_map(Value::as_object)
                            .map(Map::len)
                            .sum(),
                        Value::Object(reads) => members(reads, "Keys")
                            .filter_map(Value::as_array)
                            .map(Vec::len)
                            .max()
                            .unwrap_or(0),
                        _ => 0,
                    })
                    .sum::<usize>()
            })
            .max()
            .unwrap_or(0),
        _ => 1,
    };
    count.max(1)
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(line)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let text = |name: &str| line.get(name).and_then(Value::as_str).unwrap_or("");
    let operation = [text("operation"), text("eventName"), "GetItem"]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("GetItem");
    let params = ["request", "requestParameters"]
        .into_iter()
        .find_map(|m| line.get(m).and_then(Value::as_object))
        .unwrap_or(&line);
    let (error_code, error_message) = (text("error_code"), text("error_message"));
    let group_id = text("group_id");
    let decode = |params: &Map<String, Value>| {
        decode_dynamodb(operation, params, error_code, error_message, group_id)
    };
    let ops = decode(params);

    assert!(!ops.is_empty(), "a request is at least one operation");
    let most = most_items(operation, params);
    assert!(
        ops.len() <= most,
        "{} operations from at most {most} items",
        ops.len()
    );
    for op in &ops {
        assert_eq!(op.service, "dynamodb");
        assert_eq!(
            op.is_write,
            WRITES.contains(&op.operation.as_str()),
            "`{}` is a write exactly when it writes",
            op.operation
        );
        if ops.len() > 1 {
            assert_eq!(
                op.group_id, group_id,
                "the items of one request share its group"
            );
        }
    }
    if most_items(operation, params) == 1
        && !operation.starts_with("Transact")
        && !operation.starts_with("Batch")
    {
        let [op] = ops.as_slice() else {
            panic!("a single-item request became {} operations", ops.len())
        };
        assert_eq!(op.operation, operation);
        assert_eq!(op.error_code, error_code);
        let condition = members(params, "ConditionExpression").next().is_some()
            || members(params, "Expected")
                .next()
                .is_some_and(Value::is_object);
        assert_eq!(
            op.has_condition, condition,
            "a condition is seen when given"
        );
    }
    assert_eq!(decode(params), ops, "decoding is deterministic");
    let mut folded: Map<String, Value> = Map::new();
    for (name, value) in params {
        folded.insert(name.to_ascii_lowercase(), value.clone());
    }
    if folded.len() == params.len() {
        assert_eq!(decode(&folded), ops, "member names are matched in any case");
    }
});
