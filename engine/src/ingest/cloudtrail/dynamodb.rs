//! DynamoDB data events: the request echoed in `requestParameters`, minus attribute values.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Classified, CtRecord, object, param, text_of};
use crate::event::{DbOperation, Detail};

/// DynamoDB operations that write.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// DynamoDB data-plane operations (the rest of `dynamodb.amazonaws.com` is control plane).
const DATA_PLANE: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "ExecuteStatement",
    "BatchExecuteStatement",
    "ExecuteTransaction",
    "GetRecords",
];

pub(super) fn classify(name: &str, rec: &CtRecord<'_>) -> Classified {
    if rec.management_event == Some(true) || !DATA_PLANE.contains(&name) {
        return Classified::Skip("DynamoDB control-plane event");
    }
    let params = object(rec.request_parameters);
    let condition = param(&params, "conditionExpression");
    Classified::Detail(Detail::DbOperation(DbOperation {
        service: "dynamodb".to_owned(),
        operation: name.to_owned(),
        table: param(&params, "tableName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        key: param(&params, "key").map(item_key).unwrap_or_default(),
        has_condition: condition.is_some() || param(&params, "expected").is_some(),
        condition: condition.map(text_of).unwrap_or_default(),
        update_expression: param(&params, "updateExpression")
            .map(text_of)
            .unwrap_or_default(),
        consistent_read: param(&params, "consistentRead").and_then(Value::as_bool),
        index_name: param(&params, "indexName").map(text_of).unwrap_or_default(),
        group_id: String::new(),
        is_write: WRITES.contains(&name),
        error_code: rec.error_code.as_deref().unwrap_or_default().to_owned(),
    }))
}

/// The item key as canonical name/value pairs: untyped values as logged, typed `{"S": ..}`,
/// `{"N": ..}`, `{"B": ..}` unwrapped.
fn item_key(key: &Value) -> BTreeMap<String, String> {
    let Some(obj) = key.as_object() else {
        return BTreeMap::new();
    };
    obj.iter()
        .map(|(name, v)| {
            let value = match v {
                Value::Object(typed) if typed.len() == 1 => match typed.iter().next() {
                    Some((t, Value::String(s))) if matches!(t.as_str(), "S" | "N" | "B") => {
                        s.clone()
                    }
                    _ => v.to_string(),
                },
                other => text_of(other),
            };
            (name.clone(), value)
        })
        .collect()
}
