//! CloudTrail Lake query results, as `aws cloudtrail get-query-results` prints them:
//! `{"QueryStatus": ..., "QueryResultRows": [[{"eventTime": "..."}, {"eventSource": "..."}], ...]}`.
//! Each row is a list of one-column objects; its columns are put back together into a CloudTrail
//! record and read like any other. Lake's own conventions are undone on the way: dotted column
//! names (`userIdentity.arn`) become nested members, values that hold JSON text (`requestParameters`)
//! are parsed, and Lake's `2026-03-14 10:00:00.000` timestamps become RFC 3339.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{LineCounter, Record, convert};
use crate::ingest::At;

#[derive(Deserialize)]
struct LakeResults<'a> {
    #[serde(rename = "QueryResultRows", borrow)]
    rows: Vec<&'a RawValue>,
}

/// Whether `text` is a Lake query result document.
pub(super) fn is_lake_document(text: &str) -> bool {
    let head = text.get(..text.len().min(4096)).unwrap_or(text);
    head.trim_start().starts_with('{')
        && (head.contains("\"QueryResultRows\"") || head.contains("\"QueryStatus\""))
}

pub(super) fn read(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let doc: LakeResults<'_> = serde_json::from_str(text).map_err(|e| {
        format!("not CloudTrail Lake query results: {e}: expected `{{\"QueryResultRows\": [[...], ...]}}`")
    })?;
    let mut lines = LineCounter::new(text);
    for (i, raw) in doc.rows.into_iter().enumerate() {
        let index = i as u64 + 1;
        let at = lines.at(raw.get());
        match row_to_record(raw.get()) {
            Ok(json) => {
                for record in convert(file, index, at.line, &json) {
                    sink(index, at, record);
                }
            }
            Err(message) => sink(index, at, Record::Malformed(message)),
        }
    }
    Ok(())
}

/// A Lake row (a list of one-column objects) as CloudTrail record JSON.
fn row_to_record(row: &str) -> Result<String, String> {
    let columns: Vec<Map<String, Value>> = serde_json::from_str(row).map_err(|e| {
        format!("invalid Lake result row: {e}: expected a list of `{{\"column\": value}}` objects")
    })?;
    let mut record = Map::new();
    for column in columns {
        for (name, value) in column {
            let value = match value {
                Value::String(s) if name.eq_ignore_ascii_case("eventTime") => {
                    Value::String(lake_time(&s))
                }
                Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
                    serde_json::from_str(&s).unwrap_or(Value::String(s))
                }
                other => other,
            };
            insert_path(&mut record, &name, value);
        }
    }
    serde_json::to_string(&Value::Object(record))
        .map_err(|e| format!("invalid Lake result row: {e}"))
}

/// Inserts `value` at a dotted column name (`userIdentity.arn`).
fn insert_path(record: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        None => {
            record.insert(name.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = record
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

/// Lake prints `2026-03-14 10:00:00.000` (UTC); CloudTrail records say `2026-03-14T10:00:00Z`.
fn lake_time(s: &str) -> String {
    if s.len() >= 19 && s.as_bytes().get(10) == Some(&b' ') && !s.contains('Z') && !s.contains('+')
    {
        format!(
            "{}T{}Z",
            s.get(..10).unwrap_or_default(),
            s.get(11..).unwrap_or_default()
        )
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Detail;

    #[test]
    fn lake_rows_become_cloudtrail_records() {
        let text = r#"{"QueryStatus":"FINISHED","QueryResultRows":[
[{"eventID":"l1"},{"eventTime":"2026-03-14 10:00:01.000"},{"eventSource":"dynamodb.amazonaws.com"},{"eventName":"GetItem"},{"userIdentity.arn":"arn:aws:iam::1:user/alice"},{"requestParameters":"{\"tableName\":\"orders\",\"key\":{\"orderId\":\"o-1\"}}"}],
[{"eventTime":"yesterday"},{"eventSource":"dynamodb.amazonaws.com"},{"eventName":"GetItem"}]
]}"#;
        assert!(is_lake_document(text));
        let mut out = Vec::new();
        read("lake.json", text, &mut |i, at: At<'_>, r| {
            out.push((i, at.line, r))
        })
        .unwrap();
        let (i, line, Record::Event(e)) = &out[0] else {
            panic!("not an event")
        };
        assert_eq!((*i, *line), (1, Some(2)));
        assert_eq!(e.id, "ct:l1");
        assert_eq!(e.time_ns, 1_773_482_401_000_000_000);
        assert_eq!(e.actor.principal, "arn:aws:iam::1:user/alice");
        let Detail::DbOperation(db) = &e.detail else {
            panic!("not a db event")
        };
        assert_eq!(
            (
                db.table.as_str(),
                db.key.get("orderId").map(crate::event::SmolStr::as_str)
            ),
            ("orders", Some("o-1"))
        );
        let (_, line, Record::Malformed(m)) = &out[1] else {
            panic!("not malformed")
        };
        assert_eq!(*line, Some(3));
        assert_eq!(
            m,
            "invalid `eventTime` `yesterday`: expected an RFC 3339 time like `2026-03-14T10:00:00Z`"
        );
    }
}
