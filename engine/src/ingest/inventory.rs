//! Key inventories: what a team knows about its API keys when no CloudTrail records the changes
//! (an export of an API-key table, a secrets manager's listing, a spreadsheet). One record per
//! key (or per change), each dated change one key-lifecycle event.
//!
//! Shapes:
//! - JSON: an array of key objects, `{"keys": [...]}`, or one key object per line;
//! - CSV with a header: one row per key (`key_id,owner,scopes,created,deactivated,revoked`...)
//!   or one row per change (`key_id,action,time,owner,scopes`).
//!
//! A key object: `key_id` (or `id`, `access_key_id`, `api_key_id`); `owner`; `scopes` (a list, or
//! text split on `;`, `,` or spaces: the scopes the key was created with); dates `created`,
//! `activated`, `deactivated` (or `disabled`), `revoked` (or `deleted`), `rotated` (with
//! `replaced_by`); `scope_changes: [{"time": ..., "scopes": [...]}]` (the scopes after each
//! change). Dates are RFC 3339 or `YYYY-MM-DD` (midnight UTC, one-day precision). An inventory
//! that lists key material instead of ids (`key`, `secret`, `token`) or its SHA-256
//! (`key_sha256`) gets the same hashed key id HTTP readers give that key; the material is never
//! kept.

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::credentials::{key_id_of, key_id_of_digest};
use super::wire::kind_of;
use super::{At, Record};
use crate::event::{
    Actor, Correlation, Detail, Event, KeyAction, KeyLifecycle, Outcome, SmolStr, SourceRef,
};
use crate::time::parse_rfc3339;

const FORMAT: &str = "key_inventory";

/// The skip reason of keys listed without any dated change.
const UNDATED: &str = "key record has no dated lifecycle change";

/// Names of the key id, strongest first.
const ID_FIELDS: &[&str] = &[
    "key_id",
    "id",
    "access_key_id",
    "api_key_id",
    "keyid",
    "accesskeyid",
];

/// Date columns and the action each records.
const DATE_FIELDS: &[(&str, KeyAction)] = &[
    ("created", KeyAction::Created),
    ("created_at", KeyAction::Created),
    ("activated", KeyAction::Activated),
    ("activated_at", KeyAction::Activated),
    ("deactivated", KeyAction::Deactivated),
    ("deactivated_at", KeyAction::Deactivated),
    ("disabled", KeyAction::Deactivated),
    ("disabled_at", KeyAction::Deactivated),
    ("revoked", KeyAction::Deleted),
    ("revoked_at", KeyAction::Deleted),
    ("deleted", KeyAction::Deleted),
    ("deleted_at", KeyAction::Deleted),
    ("rotated", KeyAction::Rotated),
    ("rotated_at", KeyAction::Rotated),
];

/// Members that hold key material, of which the key id is a digest (the material is not kept).
const MATERIAL: &[&str] = &["key", "secret", "token", "api_key"];

/// The members [`key_members`] reads besides [`ID_FIELDS`], [`MATERIAL`] and [`DATE_FIELDS`].
const OTHER_MEMBERS: &[&str] = &[
    "key_sha256",
    "owner",
    "user",
    "scopes",
    "action",
    "time",
    "date",
    "scope_changes",
    "replaced_by",
    "changed_by",
];

/// The members of one JSON object that [`key_members`] reads ([`member_name`]), parsed; its
/// other members skipped without building them (a key inventory line read as a whole `Value`
/// spent more on its tree than on its key). Deserializing anything but an object fails. A member
/// given twice is its last value, as in a `serde_json::Map`.
struct Members {
    /// Each member found, named as [`member_name`] gives it, in the order first met.
    found: SmallVec<[(&'static str, Value); 8]>,
}

impl Members {
    /// Member `name` (one [`member_name`] knows).
    fn get(&self, name: &str) -> Option<&Value> {
        debug_assert!(
            member_name(name).is_some(),
            "the reader does not read `{name}`"
        );
        self.found.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// `name` as one of the members [`key_members`] reads, or none.
fn member_name(name: &str) -> Option<&'static str> {
    ID_FIELDS
        .iter()
        .chain(MATERIAL)
        .chain(DATE_FIELDS.iter().map(|(field, _)| field))
        .chain(OTHER_MEMBERS)
        .find(|member| **member == name)
        .copied()
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
        use std::fmt;

        /// A member name as [`member_name`] gives it (none for the others), without allocating.
        struct Name;
        impl<'de> DeserializeSeed<'de> for Name {
            type Value = Option<&'static str>;
            fn deserialize<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                d.deserialize_str(self)
            }
        }
        impl Visitor<'_> for Name {
            type Value = Option<&'static str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(member_name(name))
            }
        }
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Members {
                    found: SmallVec::new(),
                };
                while let Some(name) = map.next_key_seed(Name)? {
                    let Some(name) = name else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let value: Value = map.next_value()?;
                    match members.found.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, held)) => *held = value,
                        None => members.found.push((name, value)),
                    }
                }
                Ok(members)
            }
        }
        d.deserialize_map(Object)
    }
}

/// Whether the first JSON object of an input is a key inventory: `{"keys": [...]}`, or a key
/// object with a key id and a date or an action.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    if obj.get("keys").is_some_and(Value::is_array) {
        return true;
    }
    ID_FIELDS.iter().any(|f| obj.contains_key(*f))
        && (obj.contains_key("action")
            || obj.contains_key("scope_changes")
            || DATE_FIELDS.iter().any(|(f, _)| obj.contains_key(*f)))
        && !obj.contains_key("time_ns")
}

/// Whether the first line of an input is a key-inventory CSV header.
pub(super) fn looks_like_csv(first_line: &str) -> bool {
    let columns: Vec<String> = first_line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let has = |name: &str| columns.iter().any(|c| c == name);
    ID_FIELDS.iter().any(|f| has(f)) && (has("action") || DATE_FIELDS.iter().any(|(f, _)| has(f)))
}

/// Reads a whole inventory: JSON (an array, `{"keys": [...]}`) or CSV.
pub(super) fn read_document(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('[') || trimmed.starts_with('{')) {
        return read_csv(file, text, sink);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a key inventory: {e}: expected `[{{\"key_id\": ...}}]` or `{{\"keys\": [...]}}`"
        )
    })?;
    let keys = match &value {
        Value::Array(keys) => Some(keys),
        Value::Object(o) => o.get("keys").and_then(Value::as_array),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "not a key inventory: found {}, expected `[{{\"key_id\": ...}}]` or `{{\"keys\": [...]}}`",
            if value.is_object() {
                "an object without a `keys` array"
            } else {
                kind_of(&value)
            }
        )
    })?;
    // The items again, as slices of the text, for their places; the tree above judged the shape.
    #[derive(serde::Deserialize)]
    struct Keys<'a> {
        #[serde(borrow)]
        keys: Vec<&'a serde_json::value::RawValue>,
    }
    let raws: Vec<&serde_json::value::RawValue> = match &value {
        Value::Array(_) => serde_json::from_str(text).unwrap_or_default(),
        _ => serde_json::from_str::<Keys<'_>>(text)
            .map(|k| k.keys)
            .unwrap_or_default(),
    };
    let mut lines = super::LineCounter::new(text);
    for (i, key) in keys.iter().enumerate() {
        let at = match raws.get(i) {
            Some(raw) if raws.len() == keys.len() => lines.at(raw.get()),
            _ => At::UNKNOWN,
        };
        emit(i as u64 + 1, at, key_record(file, i as u64 + 1, key), sink);
    }
    Ok(())
}

/// Reads one JSON line: one key (or one change).
pub(super) fn read_line(
    file: &str,
    index: &mut u64,
    line_no: u64,
    line: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    *index += 1;
    // A key object is read by the members it names; the others are skipped, not built. What is
    // not a JSON object is read again as a whole value, which names what it is.
    let records = match serde_json::from_str::<Members>(line) {
        Ok(members) => key_members(file, *index, &|name| members.get(name)),
        Err(_) => match serde_json::from_str::<Value>(line) {
            Ok(v) => key_record(file, *index, &v),
            Err(e) => Err(Record::Malformed(format!("not JSON: {e}"))),
        },
    };
    emit(*index, At::line(line_no, line), records, sink);
}

fn emit(
    index: u64,
    at: At<'_>,
    records: Result<super::RecordEvents, Record>,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    match records {
        Ok(events) => {
            for mut e in events {
                e.source.line = at.line;
                sink(index, at, Record::Event(e));
            }
        }
        Err(r) => sink(index, at, r),
    }
}

/// Reads a CSV inventory (header first); each row is a record, its line the row's line.
fn read_csv(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("not a key inventory CSV: {e}"))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    if !looks_like_csv(&header.join(",")) {
        return Err(
            "not a key inventory CSV: expected a header with `key_id` and dates (`created`, \
             `revoked`...) or `action,time`"
                .to_owned(),
        );
    }
    for (i, row) in reader.records().enumerate() {
        let index = i as u64 + 1;
        let (at, result) = match row {
            Ok(row) => {
                let at = row_at(text, row.position());
                let obj: Map<String, Value> = header
                    .iter()
                    .zip(row.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), Value::String(v.to_owned())))
                    .collect();
                (at, key_record(file, index, &Value::Object(obj)))
            }
            Err(e) => (
                row_at(text, e.position()),
                Err(Record::Malformed(format!("invalid CSV row: {e}"))),
            ),
        };
        emit(index, at, result, sink);
    }
    Ok(())
}

/// Where a CSV row is: its line, and its text to the end of that line.
fn row_at<'a>(text: &'a str, position: Option<&csv::Position>) -> At<'a> {
    let Some(p) = position else {
        return At::UNKNOWN;
    };
    let start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
    match text.get(start..) {
        Some(rest) => {
            let row = rest.split(['\n', '\r']).next().unwrap_or_default();
            At::line(p.line(), row)
        }
        None => At::line_only(Some(p.line())),
    }
}

/// A date: RFC 3339 (precision from its digits), or `YYYY-MM-DD` (midnight UTC, one day).
fn date(text: &str) -> Option<(i64, u64)> {
    if let Some(ns) = parse_rfc3339(text) {
        return Some((ns, super::wire::fraction_precision_ns(text)));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let ns = day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()?;
    Some((ns, 86_400_000_000_000))
}

fn scopes_of(value: Option<&Value>) -> Vec<SmolStr> {
    let mut scopes: Vec<SmolStr> = match value {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(SmolStr::from)
            .collect(),
        Some(Value::String(s)) => s
            .split([';', ',', ' '])
            .filter(|s| !s.is_empty())
            .map(SmolStr::from)
            .collect(),
        _ => Vec::new(),
    };
    scopes.sort();
    scopes.dedup();
    scopes
}

fn action_of(name: &str) -> Option<KeyAction> {
    Some(match name.to_ascii_lowercase().as_str() {
        "created" | "create" | "issued" => KeyAction::Created,
        "activated" | "activate" | "enabled" | "enable" => KeyAction::Activated,
        "deactivated" | "deactivate" | "disabled" | "disable" | "suspended" => {
            KeyAction::Deactivated
        }
        "deleted" | "delete" | "revoked" | "revoke" => KeyAction::Deleted,
        "rotated" | "rotate" => KeyAction::Rotated,
        "scope_changed" | "scopes_changed" | "downscoped" | "upscoped" => KeyAction::ScopeChanged,
        _ => return None,
    })
}

/// One key object (or one change row) to its lifecycle events, in time order.
fn key_record(file: &str, index: u64, value: &Value) -> Result<super::RecordEvents, Record> {
    let Some(obj) = value.as_object() else {
        return Err(Record::Malformed(format!(
            "expected a key object, found {}",
            kind_of(value)
        )));
    };
    key_members(file, index, &|name| obj.get(name))
}

/// [`key_record`] of a key object whose member `name` is `get(name)` (one [`member_name`]
/// knows).
fn key_members<'v>(
    file: &str,
    index: u64,
    get: &dyn Fn(&str) -> Option<&'v Value>,
) -> Result<super::RecordEvents, Record> {
    let malformed = |m: String| Record::Malformed(m);
    let text = |name: &str| {
        get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    // An inventory's key id is an identifier (an API Gateway key id, an access key id): kept
    // as written so that it matches the id gateway logs and CloudTrail give.
    let key_id = if let Some(id) = ID_FIELDS.iter().find_map(|f| text(f)) {
        id.to_owned()
    } else if let Some(digest) = text("key_sha256") {
        key_id_of_digest(digest).ok_or_else(|| {
            malformed(format!(
                "invalid `key_sha256` `{digest}`: expected 64 hex digits"
            ))
        })?
    } else if let Some(material) = MATERIAL.iter().find_map(|f| text(f)) {
        key_id_of(material)
    } else {
        return Err(malformed(
            "missing `key_id`: expected the key's id (or `key_sha256`)".to_owned(),
        ));
    };
    let owner = text("owner").or_else(|| text("user")).unwrap_or_default();
    let scopes = scopes_of(get("scopes"));
    let mut changes: Vec<(i64, u64, KeyAction, Vec<SmolStr>)> = Vec::new();
    let when = |field: &str, raw: &str| {
        date(raw).ok_or_else(|| {
            malformed(format!(
                "invalid `{field}` `{raw}`: expected an RFC 3339 time or a `YYYY-MM-DD` date"
            ))
        })
    };
    if let Some(action) = text("action") {
        let action = action_of(action).ok_or_else(|| {
            malformed(format!(
                "unknown `action` `{action}`: expected created, activated, deactivated, deleted, \
                 rotated or scope_changed"
            ))
        })?;
        let raw = text("time").or_else(|| text("date")).ok_or_else(|| {
            malformed("missing `time`: expected when the change happened".to_owned())
        })?;
        let (t, p) = when("time", raw)?;
        changes.push((t, p, action, scopes.clone()));
    } else {
        for (field, action) in DATE_FIELDS {
            if let Some(raw) = text(field) {
                let (t, p) = when(field, raw)?;
                // Scopes are those the key was created with; other changes do not set them.
                let scopes = if *action == KeyAction::Created {
                    scopes.clone()
                } else {
                    Vec::new()
                };
                changes.push((t, p, *action, scopes));
            }
        }
        for change in get("scope_changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let raw = change.get("time").and_then(Value::as_str).ok_or_else(|| {
                malformed(
                    "`scope_changes` entry without `time`: expected when the scopes changed"
                        .to_owned(),
                )
            })?;
            let (t, p) = when("scope_changes.time", raw)?;
            changes.push((
                t,
                p,
                KeyAction::ScopeChanged,
                scopes_of(change.get("scopes")),
            ));
        }
    }
    if changes.is_empty() {
        return Err(Record::Skip(UNDATED));
    }
    changes.sort_by_key(|(t, _, a, _)| (*t, a.as_str()));
    let many = changes.len() > 1;
    let record = index.to_string();
    let mut attributes = crate::event::Fields::new();
    if let Some(next) = text("replaced_by") {
        attributes.insert("replaced_by".into(), next.into());
    }
    let changed_by: SmolStr = text("changed_by").unwrap_or_default().into();
    Ok(changes
        .into_iter()
        .enumerate()
        // Boxed where they are made: an event is ~750 bytes, and the stream holds it boxed.
        .map(|(n, (time_ns, precision_ns, action, scopes))| {
            Box::new(Event {
                facts: Default::default(),
                id: if many {
                    crate::event::joined(&["inv:", file, "#", &record, "/", &(n + 1).to_string()])
                } else {
                    crate::event::joined(&["inv:", file, "#", &record])
                },
                time_ns,
                precision_ns,
                source: SourceRef::at(file, index, None, FORMAT),
                actor: Actor {
                    principal: changed_by.clone(),
                    ..Actor::default()
                },
                correlation: Correlation::default(),
                outcome: Outcome::Success,
                detail: Detail::KeyLifecycle(KeyLifecycle {
                    action,
                    key_id: key_id.clone().into(),
                    owner: owner.into(),
                    scopes,
                    parent_key_id: Default::default(),
                }),
                attributes: attributes.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Out = Vec<(
        u64,
        Option<u64>,
        Result<(String, KeyAction, String, Vec<String>, i64), String>,
    )>;

    fn collect(f: impl FnOnce(&mut dyn FnMut(u64, At<'_>, Record))) -> Out {
        let mut out = Vec::new();
        f(&mut |i, at: At<'_>, r| {
            out.push((
                i,
                at.line,
                r.into_result().and_then(|e| match &e.detail {
                    Detail::KeyLifecycle(k) => Ok((
                        e.id.to_string(),
                        k.action,
                        k.key_id.to_string(),
                        k.scopes.iter().map(SmolStr::to_string).collect(),
                        e.time_ns,
                    )),
                    _ => Err("not a key event".to_owned()),
                }),
            ))
        });
        out
    }

    const DAY: i64 = 86_400_000_000_000;
    const NOV_1: i64 = 1_793_491_200_000_000_000;

    #[test]
    fn json_keys_give_one_event_per_dated_change() {
        let text = r#"{"keys": [
          {"key_id": "k-1", "owner": "alice", "scopes": ["orders:read", "orders:write"], "created": "2026-11-01",
           "scope_changes": [{"time": "2026-11-03T00:00:00Z", "scopes": ["orders:read"]}], "revoked": "2026-11-05"},
          {"key_id": "k-2", "owner": "bob"},
          {"owner": "carol", "created": "2026-11-01"},
          {"key": "live-secret-value", "created": "2026-11-02"}
        ]}"#;
        let out =
            collect(|sink| read_document("inv.json", text, &mut |i, l, r| sink(i, l, r)).unwrap());
        let write = vec!["orders:read".to_owned(), "orders:write".to_owned()];
        assert_eq!(
            out,
            [
                (
                    1,
                    Some(2),
                    Ok((
                        "inv:inv.json#1/1".into(),
                        KeyAction::Created,
                        "k-1".into(),
                        write,
                        NOV_1
                    ))
                ),
                (
                    1,
                    Some(2),
                    Ok((
                        "inv:inv.json#1/2".into(),
                        KeyAction::ScopeChanged,
                        "k-1".into(),
                        vec!["orders:read".into()],
                        NOV_1 + 2 * DAY
                    ))
                ),
                (
                    1,
                    Some(2),
                    Ok((
                        "inv:inv.json#1/3".into(),
                        KeyAction::Deleted,
                        "k-1".into(),
                        vec![],
                        NOV_1 + 4 * DAY
                    ))
                ),
                (2, Some(4), Err(format!("skip: {UNDATED}"))),
                (
                    3,
                    Some(5),
                    Err("missing `key_id`: expected the key's id (or `key_sha256`)".into())
                ),
                (
                    4,
                    Some(6),
                    Ok((
                        "inv:inv.json#4".into(),
                        KeyAction::Created,
                        key_id_of("live-secret-value"),
                        vec![],
                        NOV_1 + DAY
                    ))
                ),
            ]
        );
    }

    #[test]
    fn csv_rows_wide_or_one_change_per_row() {
        let wide = "key_id,owner,scopes,created,deactivated\nAKIAEXAMPLEWIDE00001,svc,read;write,2026-11-01,2026-11-02T10:00:00Z\nk-3,dave,,not-a-date,\n";
        let out =
            collect(|sink| read_document("inv.csv", wide, &mut |i, l, r| sink(i, l, r)).unwrap());
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].1, Some(2));
        assert_eq!(out[1].2.as_ref().unwrap().1, KeyAction::Deactivated);
        assert_eq!(
            out[2],
            (2, Some(3), Err("invalid `created` `not-a-date`: expected an RFC 3339 time or a `YYYY-MM-DD` date".to_owned()))
        );
        let long = "key_id,action,time,scopes\nk-9,created,2026-11-01,admin\nk-9,downscoped,2026-11-04T00:00:00Z,read\nk-9,vanished,2026-11-05,\n";
        let out =
            collect(|sink| read_document("log.csv", long, &mut |i, l, r| sink(i, l, r)).unwrap());
        assert_eq!(out[1].2.as_ref().unwrap().1, KeyAction::ScopeChanged);
        assert_eq!(out[1].2.as_ref().unwrap().3, vec!["read".to_owned()]);
        assert!(
            out[2]
                .2
                .as_ref()
                .unwrap_err()
                .starts_with("unknown `action` `vanished`")
        );
        assert!(looks_like_csv("key_id,action,time"));
        assert!(!looks_like_csv("id,name,email"));
    }

    #[test]
    fn json_lines_and_detection() {
        let obj = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        assert!(looks_like(&obj(r#"{"key_id":"k","created":"2026-11-01"}"#)));
        assert!(looks_like(&obj(r#"{"keys":[]}"#)));
        assert!(!looks_like(&obj(
            r#"{"id":"x","time_ns":1,"source":{},"created":"x"}"#
        )));
        let out = collect(|sink| {
            let mut index = 0;
            read_line(
                "k.jsonl",
                &mut index,
                4,
                r#"{"key_id":"k","action":"revoked","time":"2026-11-01"}"#,
                &mut |i, l, r| sink(i, l, r),
            );
            read_line("k.jsonl", &mut index, 5, "nope", &mut |i, l: At<'_>, r| {
                sink(i, l, r)
            });
        });
        assert_eq!(out[0].1, Some(4));
        assert_eq!(out[0].2.as_ref().unwrap().1, KeyAction::Deleted);
        assert!(out[1].2.as_ref().unwrap_err().starts_with("not JSON"));
    }

    /// A JSON line read by its members gives what the whole object gives, record errors included.
    #[test]
    fn a_line_read_by_its_members_reads_as_the_whole_object() {
        let lines = [
            r#"{"key_id":"k-1","owner":"alice","scopes":["b","a","a"],"created":"2026-11-01","revoked":"2026-11-05T10:00:00.5Z","note":{"deep":[1,{"key_id":"x"}]}}"#,
            r#"{"id":"k-2","key_id":"k-3","user":"bob","scopes":"x; y,z","created_at":"2026-11-02","rotated":"2026-11-04","replaced_by":"k-4","changed_by":"ops"}"#,
            r#"{"key_id":"k-5","key_id":"k-6","action":"scope_changed","date":"2026-11-03","scopes":["r"]}"#,
            r#"{"key_id":7,"api_key_id":"k-\u0037","action":"Disable","time":"2026-11-03T00:00:00Z"}"#,
            r#"{"secret":"live-value","created":"2026-11-02","scope_changes":[{"time":"2026-11-04","scopes":["r"]}]}"#,
            r#"{"key_sha256":"zz","created":"2026-11-02"}"#,
            r#"{"key_id":"k-8","owner":"carol"}"#,
            r#"{"key_id":"k-9","action":"frobbed","time":"2026-11-03"}"#,
            r#"{"key_id":"k-10","created":"yesterday"}"#,
            r#"{"key_id":"k-11","scope_changes":[{"scopes":["r"]}]}"#,
            r#"{"owner":"dave","created":"2026-11-01"}"#,
            // Scopes of other shapes: mixed items, escaped text, null; scope changes that are
            // texts, not objects; numbers and booleans where text is expected.
            r#"{"key_id":"k-12","scopes":["w",1,"v",null,{"x":"y"}],"created":"2026-11-01"}"#,
            r#"{"key_id":"k-13","scopes":["a\u0062","a b"],"created":"2026-11-01","owner":null}"#,
            r#"{"key_id":"k-14","scopes":null,"created":"2026-11-01","changed_by":true}"#,
            r#"{"key_id":"k-15","scope_changes":["2026-11-04"],"created":"2026-11-01"}"#,
            r#"{"key_id":"k-16","scope_changes":[],"scopes":[],"created":"2026-11-01"}"#,
            r#"{"key_id":"k-17","created":20261101,"owner":1.5}"#,
            r#"{"key_id":"k-18","scopes":"a","scopes":["c","b"],"created":"2026-11-01"}"#,
        ];
        // Every field of every event (owner, `changed_by`, `replaced_by` too), or the error.
        type Sink<'s> = &'s mut dyn FnMut(u64, At<'_>, Record);
        let events =
            |f: &mut dyn FnMut(Sink<'_>)| {
                let mut out = Vec::new();
                f(&mut |_, _, r| {
                    out.push(r.into_result().map(|e| crate::event::to_json(&e).unwrap()))
                });
                out
            };
        let read = |line: &str| {
            collect(|sink| {
                read_line("k.jsonl", &mut 0, 1, line, &mut |i, l, r| sink(i, l, r));
            })
        };
        let read_all = |line: &str| {
            events(&mut |sink| read_line("k.jsonl", &mut 0, 1, line, &mut |i, l, r| sink(i, l, r)))
        };
        let whole = |line: &str| {
            events(&mut |sink| {
                let value: Value = serde_json::from_str(line).unwrap();
                emit(
                    1,
                    At::line(1, line),
                    key_record("k.jsonl", 1, &value),
                    &mut |i, l, r| sink(i, l, r),
                );
            })
        };
        for line in lines {
            assert!(serde_json::from_str::<Members>(line).is_ok(), "{line}");
            let (members, whole) = (read_all(line), whole(line));
            assert!(!members.is_empty());
            assert_eq!(members, whole, "{line}");
        }
        // The second `key_id` wins, as in a map; the item key's `key_id` inside `note` is data.
        assert_eq!(read(lines[2])[0].2.as_ref().unwrap().2, "k-6");
        assert_eq!(read(lines[0])[0].2.as_ref().unwrap().2, "k-1");
        // What is not an object is named as before.
        for (line, error) in [
            ("[1]", "expected a key object, found an array"),
            ("\"k\"", "expected a key object, found a string"),
            (
                "{\"key_id\":",
                "not JSON: EOF while parsing a value at line 1 column 10",
            ),
        ] {
            assert!(serde_json::from_str::<Members>(line).is_err());
            assert_eq!(read(line)[0].2, Err(error.to_owned()), "{line}");
        }
    }
}
