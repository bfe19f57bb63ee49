//! DynamoDB requests, decoded once for every input that carries them: the low-level request body
//! as the API receives it (wire logs, HAR bodies: `TableName`, `Key`, typed values) and the
//! request CloudTrail echoes (`tableName`, `key`, values untyped or typed, attribute values
//! removed). Member names are matched case-insensitively, since AWS's own samples mix
//! `tableName`/`TableName` and `key`/`Key`.
//!
//! A transaction or batch becomes one operation per item, sharing a `group_id`; a cancelled
//! transaction's per-item reasons (`[ConditionalCheckFailed, None]` in the error message) are
//! given to the items they belong to.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::event::{DbOperation, Outcome, SmolStr};

/// DynamoDB operations that write.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// DynamoDB data-plane operations (the rest of the API is control plane).
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

/// Whether `operation` writes.
pub(super) fn is_write(operation: &str) -> bool {
    WRITES.contains(&operation)
}

/// Whether `operation` is a DynamoDB data-plane operation.
pub(super) fn is_data_plane(operation: &str) -> bool {
    DATA_PLANE.contains(&operation)
}

/// The key attribute names of each table, learnt from the `Key` members seen so far, so that a
/// wire-level `PutItem` (which sends the whole `Item`, no `Key`) can be given its key without
/// keeping the item's other values.
#[derive(Debug, Default)]
pub(super) struct KeySchemas {
    tables: HashMap<String, Vec<SmolStr>>,
    /// For lines read apart from the lines before them (a chunk parsed on another thread): what
    /// they learnt and looked up, in order, for [`KeySchemas::adopt`] to check against what the
    /// lines before them taught.
    journal: Option<Vec<Step>>,
}

/// One use of the schemas, as [`KeySchemas::adopt`] replays it.
#[derive(Debug)]
pub(super) enum Step {
    /// A key seen in a request: the table's key unless one is known.
    Learn(String, Vec<SmolStr>),
    /// A `CreateTable`: the table's key from now on.
    Create(String, Vec<SmolStr>),
    /// A `PutItem`'s key looked up, and what was found.
    Lookup(String, Option<Vec<SmolStr>>),
}

impl KeySchemas {
    /// Schemas for lines read apart from the ones before them: they start from what `self`
    /// knows now (most lines after them find the same keys) and keep a journal, which
    /// [`KeySchemas::adopt`] checks against the schemas of the lines before them once those are
    /// all read.
    pub(super) fn apart(&self) -> Self {
        KeySchemas {
            tables: self.tables.clone(),
            journal: Some(Vec::new()),
        }
    }

    /// The journal of schemas made [`KeySchemas::apart`].
    pub(super) fn take_journal(&mut self) -> Option<Vec<Step>> {
        self.journal.take()
    }

    /// Takes in what lines read apart learnt (`journal`), as if they had been read after the
    /// lines that taught `self`; false, and `self` unchanged, when one of their lookups would
    /// have found another key here (then those lines must be read again, after the others).
    pub(super) fn adopt(&mut self, journal: Vec<Step>) -> bool {
        // The tables the journal touches, as the lines before left them, then as it changes them.
        let mut touched: HashMap<&str, Option<Vec<SmolStr>>> = HashMap::new();
        for step in &journal {
            let table = match step {
                Step::Learn(t, _) | Step::Create(t, _) | Step::Lookup(t, _) => t.as_str(),
            };
            let now = touched
                .entry(table)
                .or_insert_with(|| self.tables.get(table).cloned());
            match step {
                Step::Learn(_, names) => {
                    if now.is_none() {
                        *now = Some(names.clone());
                    }
                }
                Step::Create(_, names) => *now = Some(names.clone()),
                Step::Lookup(_, found) => {
                    if now != found {
                        return false;
                    }
                }
            }
        }
        for (table, names) in touched {
            if let Some(names) = names {
                self.tables.insert(table.to_owned(), names);
            }
        }
        true
    }

    /// Learns a table's key from a `CreateTable` request (`KeySchema: [{AttributeName, KeyType}]`):
    /// the call itself is control plane and becomes no event, but it names the key before any
    /// `PutItem` does.
    pub(super) fn learn_create_table(&mut self, params: &Map<String, Value>) {
        let table = member(params, "TableName").map(text_of).unwrap_or_default();
        let names: Vec<SmolStr> = member(params, "KeySchema")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_object().and_then(|k| member(k, "AttributeName")))
            .map(|n| SmolStr::from(text_of(n)))
            .filter(|n| !n.is_empty())
            .collect();
        if !table.is_empty() && !names.is_empty() {
            let mut names = names;
            names.sort();
            if let Some(journal) = &mut self.journal {
                journal.push(Step::Create(table.clone(), names.clone()));
            }
            self.tables.insert(table, names);
        }
    }

    fn learn(&mut self, table: &str, key: &crate::event::Fields) {
        if table.is_empty() || key.is_empty() || self.tables.contains_key(table) {
            return;
        }
        let names: Vec<SmolStr> = key.keys().cloned().collect();
        // Journalled only when it teaches something here: a table known here is known to the
        // lines before too (tables are never forgotten), where this is as much a no-op.
        if let Some(journal) = &mut self.journal {
            journal.push(Step::Learn(table.to_owned(), names.clone()));
        }
        self.tables.insert(table.to_owned(), names);
    }

    /// A table's key attributes, as known here.
    fn lookup(&mut self, table: &str) -> Option<&Vec<SmolStr>> {
        if let Some(journal) = &mut self.journal {
            journal.push(Step::Lookup(
                table.to_owned(),
                self.tables.get(table).cloned(),
            ));
        }
        self.tables.get(table)
    }
}

/// One request to decode.
pub(super) struct Request<'a> {
    /// The API operation (`UpdateItem`).
    pub operation: &'a str,
    /// The request body (wire) or `requestParameters` (CloudTrail).
    pub params: &'a Map<String, Value>,
    /// The service's error code (`ConditionalCheckFailedException`), empty on success.
    pub error_code: &'a str,
    /// The service's error message, for a cancelled transaction's per-item reasons.
    pub error_message: &'a str,
    /// The group id given to the items of a transaction or batch.
    pub group_id: &'a str,
}

/// Decodes a data-plane request into one operation per item it touches (one for single-item
/// operations, queries and scans).
pub(super) fn decode(req: &Request<'_>, schemas: &mut KeySchemas) -> Vec<DbOperation> {
    let op = req.operation;
    let p = req.params;
    let mut ops = match op {
        "TransactWriteItems" | "TransactGetItems" => transaction(req, schemas),
        "BatchWriteItem" | "BatchGetItem" => batch(req, schemas),
        _ => {
            let mut one = single(op, p, schemas);
            one.error_code = req.error_code.into();
            vec![one]
        }
    };
    for op in &mut ops {
        hash_key_material(op);
    }
    ops
}

/// The scopes a write gives an item (a key store's `scopes`, `scope` or `permissions`): the
/// value an update's `SET scopes = :s` assigns, or a put item's attribute, as strings. Scopes
/// are not secrets; no other attribute value is ever read.
pub(super) fn written_scopes(params: &Map<String, Value>) -> Option<Vec<String>> {
    const NAMES: &[&str] = &["scopes", "scope", "permissions"];
    let strings = |v: &Value| -> Vec<String> {
        let v = match v {
            Value::Object(typed) if typed.len() == 1 => typed.values().next().unwrap_or(v),
            other => other,
        };
        match v {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(t) => t.get("S").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect(),
            Value::String(s) => s
                .split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    if let Some(Value::Object(item)) = member(params, "Item") {
        return item
            .iter()
            .find(|(k, _)| NAMES.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(_, v)| strings(v));
    }
    let update = member(params, "UpdateExpression").map(text_of)?;
    let names = member(params, "ExpressionAttributeNames").and_then(Value::as_object);
    let update = resolve_names(&update, |placeholder| names?.get(placeholder)?.as_str());
    let values = member(params, "ExpressionAttributeValues").and_then(Value::as_object)?;
    let words: Vec<&str> = update
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(3).find_map(|w| match w {
        [name, "=", placeholder] if NAMES.contains(&name.to_ascii_lowercase().as_str()) => {
            values.get(*placeholder).map(strings)
        }
        _ => None,
    })
}

/// Key attributes that hold key material when a table is keyed by the key itself (an API-key
/// store looked up by the key the client sent), compared without `_`, `-` and case.
const MATERIAL_ATTRIBUTES: &[&str] = &["apikey", "secret", "accesstoken", "apitoken"];

/// Key attributes that hold key material only in a table named for keys (`api_keys`, `tokens`,
/// `credentials`): elsewhere a `key` is any item's key.
const STORE_MATERIAL_ATTRIBUTES: &[&str] = &["key", "token"];

/// A key store keyed by the key itself puts secrets into item keys: their values are hashed
/// exactly as a header's key is ([`super::credentials::key_id_of`]), so they are never printed
/// and the same hash links the store's item to the requests that presented the key. A short
/// application key id (`k-7bcf9d355a29`) is an id and stays.
fn hash_key_material(op: &mut DbOperation) {
    // Without a lower-cased copy: the words are ASCII, so a match is whole characters.
    let key_store = ["key", "token", "credential"].iter().any(|w| {
        op.table
            .as_bytes()
            .windows(w.len())
            .any(|part| part.eq_ignore_ascii_case(w.as_bytes()))
    });
    for (name, value) in &mut op.key {
        let folded = crate::names::folded(name);
        // A store keyed by the key's SHA-256 (`key_hash`): the same id a header's key gets.
        if matches!(
            folded.as_str(),
            "keyhash" | "tokenhash" | "apikeyhash" | "keysha256"
        ) && let Some(id) = super::credentials::key_id_of_digest(value)
        {
            *value = id.into();
        } else if MATERIAL_ATTRIBUTES.contains(&folded.as_str())
            || (key_store && STORE_MATERIAL_ATTRIBUTES.contains(&folded.as_str()))
        {
            let id = super::credentials::aws_key_id(value);
            let structured = super::credentials::structured_key_id(value);
            *value = structured.unwrap_or(id).into();
        }
    }
}

/// A single-item operation, query or scan.
fn single(operation: &str, p: &Map<String, Value>, schemas: &mut KeySchemas) -> DbOperation {
    let table = member(p, "TableName").map(text_of).unwrap_or_default();
    let names = member(p, "ExpressionAttributeNames").and_then(Value::as_object);
    let name_of = |placeholder: &str| names?.get(placeholder)?.as_str();
    let expression = |name: &str| {
        member(p, name)
            .map(|v| resolve_names(&text_of(v), name_of))
            .unwrap_or_default()
    };
    let mut key = member(p, "Key").map(item_key).unwrap_or_default();
    if key.is_empty() && operation == "PutItem" {
        key = put_key(&table, member(p, "Item"), schemas);
    } else if key.is_empty() && operation == "Query" {
        // A query's key is its equality conditions (the partition key, and the sort key when it
        // is pinned); not learnt as the table's key, since it may be an index's.
        key = query_key(&expression("KeyConditionExpression"), p);
    } else {
        schemas.learn(&table, &key);
    }
    let expected = member(p, "Expected").and_then(Value::as_object);
    let condition = match (member(p, "ConditionExpression"), expected) {
        (Some(_), _) => expression("ConditionExpression"),
        (None, Some(expected)) => expected_condition(
            expected,
            member(p, "ConditionalOperator").and_then(Value::as_str),
        ),
        (None, None) => String::new(),
    };
    Single {
        table,
        key,
        has_condition: member(p, "ConditionExpression").is_some() || expected.is_some(),
        condition,
        update_expression: expression("UpdateExpression"),
        consistent_read: member(p, "ConsistentRead").and_then(as_bool),
        index_name: member(p, "IndexName").map(text_of).unwrap_or_default(),
    }
    .operation(operation)
}

/// What a single-item operation, query or scan is made of, read from its request.
struct Single {
    table: String,
    key: crate::event::Fields,
    has_condition: bool,
    /// The condition with its attribute names resolved.
    condition: String,
    update_expression: String,
    consistent_read: Option<bool>,
    index_name: String,
}

impl Single {
    fn operation(self, operation: &str) -> DbOperation {
        DbOperation {
            service: "dynamodb".into(),
            operation: operation.into(),
            table: self.table.into(),
            key: self.key,
            has_condition: self.has_condition,
            condition: self.condition.into(),
            update_expression: self.update_expression.into(),
            consistent_read: self.consistent_read,
            index_name: self.index_name.into(),
            group_id: Default::default(),
            is_write: WRITES.contains(&operation),
            error_code: Default::default(),
        }
    }
}

/// [`decode`] of a single-item call (`GetItem`, `PutItem` with its key, `UpdateItem`,
/// `DeleteItem`) whose `params` (JSON text) are in the shape CloudTrail echoes them: the members
/// [`Echoed`] names, in camelCase, with strings for names and key values (plain, or typed as
/// `{"S": ..}`). Read typed and borrowed, with no tree of values; the same operation
/// [`decode`] makes of them. `None` for any other request, which the caller decodes from its
/// value tree.
pub(super) fn decode_echoed(
    operation: &str,
    params: &str,
    error_code: &str,
    schemas: &mut KeySchemas,
) -> Option<Vec<DbOperation>> {
    if !matches!(
        operation,
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem"
    ) {
        return None;
    }
    let p: Echoed<'_> = serde_json::from_str(params).ok()?;
    let key: crate::event::Fields = p
        .key
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            (
                SmolStr::from(name.0.as_ref()),
                SmolStr::from(value.0.0.as_ref()),
            )
        })
        .collect();
    if key.is_empty() && operation == "PutItem" {
        // Its key is in its item, which the value tree holds.
        return None;
    }
    let table = p.table_name.into_owned();
    schemas.learn(&table, &key);
    let names = p.expression_attribute_names.unwrap_or_default();
    let name_of = |placeholder: &str| names.get(placeholder).map(|t| t.0.as_ref());
    let resolved = |e: &Option<Cow<'_, str>>| {
        e.as_deref()
            .map(|e| resolve_names(e, name_of))
            .unwrap_or_default()
    };
    let mut one = Single {
        key,
        has_condition: p.condition_expression.is_some(),
        condition: resolved(&p.condition_expression),
        update_expression: resolved(&p.update_expression),
        consistent_read: p.consistent_read,
        index_name: p.index_name.map(Into::into).unwrap_or_default(),
        table,
    }
    .operation(operation);
    one.error_code = error_code.into();
    hash_key_material(&mut one);
    Some(vec![one])
}

/// `requestParameters` of a single-item call as CloudTrail echoes it ([`decode_echoed`]): these
/// members and no others; null counts as absent, as [`member`] has it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Echoed<'a> {
    #[serde(borrow)]
    table_name: Cow<'a, str>,
    #[serde(borrow)]
    key: Option<BTreeMap<Text<'a>, KeyScalar<'a>>>,
    consistent_read: Option<bool>,
    #[serde(borrow)]
    condition_expression: Option<Cow<'a, str>>,
    #[serde(borrow)]
    update_expression: Option<Cow<'a, str>>,
    #[serde(borrow)]
    expression_attribute_names: Option<BTreeMap<Text<'a>, Text<'a>>>,
    #[serde(borrow)]
    index_name: Option<Cow<'a, str>>,
    /// Not part of the operation ([`single`] does not read them either).
    #[serde(rename = "returnValues")]
    _return_values: Option<serde::de::IgnoredAny>,
    /// A put's item: read only for a put without `key`, which is not read here.
    #[serde(rename = "item")]
    _item: Option<serde::de::IgnoredAny>,
}

/// A string of the JSON text, borrowed from it unless it holds escapes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

/// Ordered as its text, so a map keyed by it is searched by `&str`.
impl std::borrow::Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

/// Reads a [`Text`]; other visitors that take a string as one hand it on.
pub(super) struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
}

/// A key attribute's value as [`scalar`] gives it: a string, or a string typed `S`, `N` or `B`
/// (`{"S": "ord-1"}`); any other value is not read here.
struct KeyScalar<'a>(Text<'a>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for KeyScalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyScalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"a string, or one typed as {"S": ..}, {"N": ..} or {"B": ..}"#)
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<KeyScalar<'de>, E> {
                TextVisitor.visit_borrowed_str(v).map(KeyScalar)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyScalar<'de>, E> {
                TextVisitor.visit_str(v).map(KeyScalar)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeyScalar<'de>, A::Error> {
                use serde::de::Error as _;
                let Some(Text(kind)) = map.next_key::<Text<'de>>()? else {
                    return Err(A::Error::custom("an empty typed value"));
                };
                if !matches!(kind.as_ref(), "S" | "N" | "B") {
                    return Err(A::Error::custom("not a scalar type"));
                }
                let value: Text<'de> = map.next_value()?;
                if map.next_key::<Text<'de>>()?.is_some() {
                    return Err(A::Error::custom("more than a type"));
                }
                Ok(KeyScalar(value))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `expression` with its `#name` placeholders replaced by the attribute names
/// `ExpressionAttributeNames` gives them (CloudTrail logs the names, not the values), so that a
/// rule can tell which attributes a condition or update touches. A placeholder without a name
/// stays as written.
fn resolve_names<'n>(expression: &str, name_of: impl Fn(&str) -> Option<&'n str>) -> String {
    if !expression.contains('#') {
        return expression.to_owned();
    }
    let mut out = String::with_capacity(expression.len());
    let mut rest = expression;
    while let Some(at) = rest.find('#') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let len = tail[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(tail.len(), |n| n + 1);
        let placeholder = &tail[..len];
        match name_of(placeholder) {
            Some(name) if len > 1 => out.push_str(name),
            _ => out.push_str(placeholder),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// The legacy `Expected` map (`{"owner_id": {"Value": {"S": "u1"}}, "pk": {"Exists": false}}`)
/// as the equivalent condition expression, values left as placeholders:
/// `attribute_not_exists(pk) AND owner_id = :expected`.
fn expected_condition(expected: &Map<String, Value>, operator: Option<&str>) -> String {
    let joiner = if operator.is_some_and(|o| o.eq_ignore_ascii_case("OR")) {
        " OR "
    } else {
        " AND "
    };
    let mut parts: Vec<String> = expected
        .iter()
        .map(|(name, spec)| {
            let spec = spec.as_object();
            let get = |m: &str| spec.and_then(|s| member(s, m));
            if let Some(op) = get("ComparisonOperator").and_then(Value::as_str) {
                return match op.to_ascii_uppercase().as_str() {
                    "EQ" => format!("{name} = :expected"),
                    "NE" => format!("{name} <> :expected"),
                    "LE" => format!("{name} <= :expected"),
                    "LT" => format!("{name} < :expected"),
                    "GE" => format!("{name} >= :expected"),
                    "GT" => format!("{name} > :expected"),
                    "NOT_NULL" => format!("attribute_exists({name})"),
                    "NULL" => format!("attribute_not_exists({name})"),
                    "CONTAINS" => format!("contains({name}, :expected)"),
                    "NOT_CONTAINS" => format!("NOT contains({name}, :expected)"),
                    "BEGINS_WITH" => format!("begins_with({name}, :expected)"),
                    "IN" => format!("{name} IN (:expected)"),
                    "BETWEEN" => format!("{name} BETWEEN :expected1 AND :expected2"),
                    other => format!("{name} {other} :expected"),
                };
            }
            match (get("Exists").and_then(as_bool), get("Value")) {
                (Some(false), _) => format!("attribute_not_exists({name})"),
                (_, Some(_)) => format!("{name} = :expected"),
                _ => format!("attribute_exists({name})"),
            }
        })
        .collect();
    parts.sort();
    parts.join(joiner)
}

/// A query's item key: the `name = :value` terms of its key condition with their values
/// (`ExpressionAttributeValues`), or the `EQ` entries of the legacy `KeyConditions`. Empty when
/// the values are not logged (CloudTrail).
fn query_key(key_condition: &str, p: &Map<String, Value>) -> crate::event::Fields {
    let mut key = crate::event::Fields::new();
    if let Some(values) = member(p, "ExpressionAttributeValues").and_then(Value::as_object) {
        let upper = key_condition.to_ascii_uppercase();
        let mut start = 0;
        let mut terms = Vec::new();
        for (at, _) in upper.match_indices(" AND ") {
            terms.push(&key_condition[start..at]);
            start = at + 5;
        }
        terms.push(&key_condition[start..]);
        for term in terms {
            let Some((left, right)) = term.split_once('=') else {
                continue;
            };
            let (left, right) = (left.trim(), right.trim());
            let (name, placeholder) = if right.starts_with(':') {
                (left, right)
            } else {
                (right, left)
            };
            if name.is_empty() || name.contains(['(', ' ', '<', '>']) {
                continue;
            }
            if let Some(value) = values.get(placeholder) {
                key.insert(name.into(), scalar(value));
            }
        }
    } else if let Some(conditions) = member(p, "KeyConditions").and_then(Value::as_object) {
        for (name, spec) in conditions {
            let Some(spec) = spec.as_object() else {
                continue;
            };
            let eq = member(spec, "ComparisonOperator")
                .and_then(Value::as_str)
                .is_some_and(|o| o.eq_ignore_ascii_case("EQ"));
            let value = member(spec, "AttributeValueList")
                .and_then(Value::as_array)
                .and_then(|l| l.first());
            if let (true, Some(value)) = (eq, value) {
                key.insert(name.into(), scalar(value));
            }
        }
    }
    key
}

/// A PutItem's key: the learnt key attributes of its item. The item's other values are not kept.
fn put_key(table: &str, item: Option<&Value>, schemas: &mut KeySchemas) -> crate::event::Fields {
    let Some(Value::Object(item)) = item else {
        return crate::event::Fields::new();
    };
    let Some(names) = schemas.lookup(table) else {
        return crate::event::Fields::new();
    };
    names
        .iter()
        .filter_map(|n| item.get(n.as_str()).map(|v| (n.clone(), scalar(v))))
        .collect()
}

/// `TransactWriteItems` / `TransactGetItems`: wire `TransactItems: [{"Update": {...}}]`, or
/// CloudTrail `requestItems: [{"operation": "Update", ...}]` (also `transactItems`).
fn transaction(req: &Request<'_>, schemas: &mut KeySchemas) -> Vec<DbOperation> {
    let items = member(req.params, "TransactItems")
        .or_else(|| member(req.params, "RequestItems"))
        .and_then(Value::as_array);
    let reasons = cancellation_reasons(req.error_message);
    let mut out = Vec::new();
    for (i, item) in items.into_iter().flatten().enumerate() {
        let Some(obj) = item.as_object() else {
            continue;
        };
        let (action, body) = match member(obj, "operation").and_then(Value::as_str) {
            Some(action) => (action.to_owned(), obj),
            None => match obj.iter().find_map(|(k, v)| v.as_object().map(|b| (k, b))) {
                Some((k, b)) => (k.clone(), b),
                None => continue,
            },
        };
        let mut one = single(&item_operation(&action), body, schemas);
        one.group_id = req.group_id.into();
        one.error_code = match reasons.as_ref().and_then(|r| r.get(i)) {
            Some(r) if r == "None" => req.error_code.into(),
            Some(r) if r.ends_with("Exception") => r.clone().into(),
            Some(r) => format!("{r}Exception").into(),
            None => req.error_code.into(),
        };
        out.push(one);
    }
    if out.is_empty() {
        let mut one = single(req.operation, req.params, schemas);
        one.error_code = req.error_code.into();
        out.push(one);
    }
    out
}

/// The single-item operation an item of a transaction or batch performs.
fn item_operation(action: &str) -> String {
    let lower = action.to_ascii_lowercase();
    match lower.trim_end_matches("request") {
        "put" => "PutItem".to_owned(),
        "update" => "UpdateItem".to_owned(),
        "delete" => "DeleteItem".to_owned(),
        "get" => "GetItem".to_owned(),
        "conditioncheck" => "ConditionCheck".to_owned(),
        _ => action.to_owned(),
    }
}

/// The positional reasons of a cancelled transaction, from its message:
/// `Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]`.
fn cancellation_reasons(message: &str) -> Option<Vec<String>> {
    let start = message.rfind('[')?;
    let end = message.get(start..)?.find(']')? + start;
    let inner = message.get(start + 1..end)?;
    Some(inner.split(',').map(|r| r.trim().to_owned()).collect())
}

/// `BatchWriteItem` / `BatchGetItem`: `RequestItems: {table: [{PutRequest: {Item}}, {DeleteRequest:
/// {Key}}]}` or `{table: {Keys: [...], ConsistentRead}}`.
fn batch(req: &Request<'_>, schemas: &mut KeySchemas) -> Vec<DbOperation> {
    let mut out = Vec::new();
    let tables = member(req.params, "RequestItems").and_then(Value::as_object);
    for (table, requests) in tables.into_iter().flatten() {
        let table_param = |body: &Map<String, Value>| {
            let mut b = body.clone();
            b.insert("TableName".to_owned(), Value::String(table.clone()));
            b
        };
        match requests {
            Value::Array(writes) => {
                for w in writes.iter().filter_map(Value::as_object) {
                    for (action, body) in w {
                        let Some(body) = body.as_object() else {
                            continue;
                        };
                        out.push(single(&item_operation(action), &table_param(body), schemas));
                    }
                }
            }
            Value::Object(reads) => {
                let consistent = member(reads, "ConsistentRead").and_then(as_bool);
                for key in member(reads, "Keys")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mut body = Map::new();
                    body.insert("Key".to_owned(), key.clone());
                    let mut one = single("GetItem", &table_param(&body), schemas);
                    one.consistent_read = consistent;
                    out.push(one);
                }
            }
            _ => {}
        }
    }
    for one in &mut out {
        one.group_id = req.group_id.into();
        one.error_code = req.error_code.into();
    }
    if out.is_empty() {
        let mut one = single(req.operation, req.params, schemas);
        one.error_code = req.error_code.into();
        out.push(one);
    }
    out
}

/// Member `name` of an object, matched case-insensitively; `null` counts as absent.
pub(super) fn member<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    let found = if obj.len() <= SCANNED_MEMBERS {
        // One pass: CloudTrail spells members in camelCase, so the exact lookup would miss and
        // the scan follow anyway.
        let mut found = None;
        for (k, v) in obj {
            if k.eq_ignore_ascii_case(name) {
                if k == name {
                    found = Some(v);
                    break;
                }
                found = found.or(Some(v));
            }
        }
        found
    } else {
        obj.get(name).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    };
    found.filter(|v| !v.is_null())
}

/// Objects up to this many members are searched by [`member`] in one pass.
const SCANNED_MEMBERS: usize = 12;

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An attribute value in canonical text: typed `{"S": ..}`, `{"N": ..}`, `{"B": ..}` unwrapped,
/// untyped values as logged, anything else as compact JSON.
fn scalar(v: &Value) -> SmolStr {
    match v {
        Value::Object(typed) if typed.len() == 1 => match typed.iter().next() {
            Some((t, Value::String(s))) if matches!(t.as_str(), "S" | "N" | "B") => s.into(),
            _ => v.to_string().into(),
        },
        Value::String(s) => s.into(),
        other => other.to_string().into(),
    }
}

/// The item key as canonical name/value pairs.
fn item_key(key: &Value) -> crate::event::Fields {
    let Some(obj) = key.as_object() else {
        return crate::event::Fields::new();
    };
    obj.iter()
        .map(|(name, v)| (SmolStr::from(name), scalar(v)))
        .collect()
}

/// The outcome of a DynamoDB call from its error code (the short name, `ConditionalCheckFailedException`).
pub(super) fn outcome(error_code: &str) -> Outcome {
    match error_code {
        "" => Outcome::Success,
        "ConditionalCheckFailedException"
        | "TransactionCanceledException"
        | "TransactionConflictException" => Outcome::Conflict,
        c if c.starts_with("AccessDenied") || c == "UnrecognizedClientException" => Outcome::Denied,
        "ResourceNotFoundException" => Outcome::NotFound,
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Outcome::Throttled,
        _ => Outcome::Error,
    }
}

/// The short error code of a DynamoDB `__type` (`com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`).
pub(super) fn short_error_type(error_type: &str) -> &str {
    error_type.rsplit('#').next().unwrap_or(error_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `(eventName, requestParameters, errorCode)` of every DynamoDB record in the
    /// repository's CloudTrail fixtures and example (documents and JSON lines).
    fn fixture_requests() -> Vec<(String, String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("tests/fixtures"), root.join("examples")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "json" || e == "jsonl")
                {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let records: Vec<Value> = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(mut doc)) => match doc.remove("Records") {
                    Some(Value::Array(records)) => records,
                    _ => Vec::new(),
                },
                _ => text
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect(),
            };
            for r in records {
                if r["eventSource"] == "dynamodb.amazonaws.com"
                    && let Some(params) = r.get("requestParameters")
                {
                    out.push((
                        r["eventName"].as_str().unwrap_or_default().to_owned(),
                        params.to_string(),
                        r["errorCode"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
        out
    }

    /// The typed reading of echoed parameters gives the operation the value tree gives, on
    /// every fixture record and on variants of their shape; what it does not take (another
    /// operation, another member, a value of another type) it leaves to the value tree.
    #[test]
    fn echoed_parameters_read_typed_are_the_operation_read_from_their_tree() {
        let mut requests = fixture_requests();
        let variants = [
            r##"{"tableName":"Orders","key":{"orderId":{"S":"ord-1"},"sk":{"N":"7"}},"consistentRead":true}"##,
            r##"{"tableName":"Orders","key":{"orderId":"ord-\u0031"},"conditionExpression":null,"updateExpression":"SET #s = :s, #t = :t, #u = :u","expressionAttributeNames":{"#s":"status","#t":"t\u00e9"}}"##,
            r##"{"tableName":"Orders","key":{"orderId":"o"},"conditionExpression":"attribute_exists(#o) AND #x = :x","expressionAttributeNames":{"#o":"owner_id"},"returnValues":"ALL_NEW","indexName":"byOwner"}"##,
            r##"{"tableName":"api_keys","key":{"api_key":"sk_live_00000000000000000000abcd"}}"##,
            r##"{"tableName":"Orders","key":{"b":"2","a":"1","b":"3"}}"##,
            r##"{"tableName":"Orders","key":{}}"##,
            r##"{"tableName":"Orders"}"##,
            r##"{"tableName":"Orders","key":{"orderId":"o"},"item":{"orderId":"o","x":{"M":{}}}}"##,
        ];
        for op in ["GetItem", "PutItem", "UpdateItem", "DeleteItem"] {
            for v in variants {
                for error in ["", "ConditionalCheckFailedException"] {
                    requests.push((op.to_owned(), v.to_owned(), error.to_owned()));
                }
            }
        }
        // Not taken here: read from the tree alone.
        let declined = [
            ("Query", r##"{"tableName":"Orders","key":{"orderId":"o"}}"##),
            (
                "GetItem",
                r##"{"TableName":"Orders","Key":{"orderId":"o"}}"##,
            ),
            ("GetItem", r##"{"tableName":"Orders","key":{"orderId":7}}"##),
            (
                "GetItem",
                r##"{"tableName":"Orders","key":{"orderId":{"S":{"S":"o"}}}}"##,
            ),
            (
                "GetItem",
                r##"{"tableName":"Orders","key":{"orderId":{"S":"o","N":"1"}}}"##,
            ),
            (
                "GetItem",
                r##"{"tableName":"Orders","key":{"orderId":{"M":"o"}}}"##,
            ),
            (
                "GetItem",
                r##"{"tableName":"Orders","consistentRead":"true","key":{"a":"b"}}"##,
            ),
            (
                "UpdateItem",
                r##"{"tableName":"Orders","key":{"a":"b"},"expected":{}}"##,
            ),
            (
                "UpdateItem",
                r##"{"tableName":"Orders","key":{"a":"b"},"expressionAttributeNames":{"#s":1}}"##,
            ),
            (
                "PutItem",
                r##"{"tableName":"Orders","item":{"orderId":"o"}}"##,
            ),
            ("GetItem", r##"{"tableName":null,"key":{"a":"b"}}"##),
            ("GetItem", r##"["not", "an", "object"]"##),
        ];
        for (op, params) in declined {
            requests.push((op.to_owned(), params.to_owned(), String::new()));
            assert_eq!(
                decode_echoed(op, params, "", &mut KeySchemas::default()),
                None,
                "{op} {params}"
            );
        }
        let mut typed = 0;
        for (op, params, error) in &requests {
            let Some(echoed) = decode_echoed(op, params, error, &mut KeySchemas::default()) else {
                continue;
            };
            typed += 1;
            let tree: Map<String, Value> = serde_json::from_str(params).unwrap();
            let request = Request {
                operation: op,
                params: &tree,
                error_code: error,
                error_message: "",
                group_id: "",
            };
            assert_eq!(
                echoed,
                decode(&request, &mut KeySchemas::default()),
                "{op} {params}"
            );
        }
        // Every fixture single-item call but the puts keyed by their item, and the variants.
        assert!(typed >= 250, "{typed} of {} read typed", requests.len());
    }

    #[test]
    fn a_member_is_found_in_any_case_the_exact_spelling_first_and_null_is_absent() {
        for extra in [0, SCANNED_MEMBERS] {
            let mut obj: Map<String, Value> = (0..extra)
                .map(|i| (format!("m{i}"), Value::from(i)))
                .collect();
            obj.insert("TABLENAME".into(), "upper".into());
            obj.insert("tableName".into(), "camel".into());
            obj.insert("Key".into(), Value::Null);
            assert_eq!(member(&obj, "tableName"), Some(&Value::from("camel")));
            // No exact spelling: the first in the map's order.
            assert_eq!(member(&obj, "TableName"), Some(&Value::from("upper")));
            assert_eq!(member(&obj, "key"), None);
            assert_eq!(member(&obj, "IndexName"), None);
        }
    }

    #[test]
    fn the_scopes_a_write_gives_are_read_and_nothing_else() {
        let params = |json: &str| serde_json::from_str::<Map<String, Value>>(json).unwrap();
        assert_eq!(
            written_scopes(&params(
                r##"{"TableName":"api_keys","Key":{"key_id":{"S":"k-1"}},"UpdateExpression":"SET #s = :scopes, updated_at = :now","ExpressionAttributeNames":{"#s":"scopes"},"ExpressionAttributeValues":{":scopes":{"L":[{"S":"docs:read"}]},":now":{"S":"x"}}}"##
            )),
            Some(vec!["docs:read".to_owned()])
        );
        assert_eq!(
            written_scopes(&params(
                r#"{"TableName":"api_keys","Item":{"key_id":{"S":"k-1"},"scopes":{"SS":["a","b"]}}}"#
            )),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            written_scopes(&params(
                r#"{"TableName":"docs","UpdateExpression":"SET title = :t","ExpressionAttributeValues":{":t":{"S":"x"}}}"#
            )),
            None
        );
    }

    #[test]
    fn a_store_keyed_by_the_key_itself_keeps_no_secret() {
        use sha2::Digest;
        let secret = "sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
        let body = format!(r#"{{"TableName":"api_keys","Key":{{"api_key":{{"S":"{secret}"}}}}}}"#);
        let op = decode_json("GetItem", &body, "", "").remove(0);
        let hashed = op.key.get("api_key").unwrap();
        assert_eq!(hashed, &super::super::credentials::key_id_of(secret));
        let structured = decode_json(
            "GetItem",
            r#"{"TableName":"keys","Key":{"key":{"S":"dk_k-7bcf9d355a29.poQp2EbXLEZl5ea"}}}"#,
            "",
            "",
        )
        .remove(0);
        assert_eq!(
            structured.key.get("key").map(crate::event::SmolStr::as_str),
            Some("k-7bcf9d355a29")
        );
        let id = decode_json(
            "GetItem",
            r#"{"TableName":"api_keys","Key":{"key_id":{"S":"k-7bcf9d355a29"}}}"#,
            "",
            "",
        )
        .remove(0);
        assert_eq!(
            id.key.get("key_id").map(crate::event::SmolStr::as_str),
            Some("k-7bcf9d355a29")
        );
        // A store is known by its table's name in any case; elsewhere a `token` is data.
        let token = |table: &str| {
            let body = format!(r#"{{"TableName":"{table}","Key":{{"Token":{{"S":"{secret}"}}}}}}"#);
            let op = decode_json("GetItem", &body, "", "").remove(0);
            op.key
                .get("Token")
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        assert_ne!(token("ApiTOKENS"), secret);
        assert_eq!(token("ApiTOKENS"), token("api_tokens"));
        assert_eq!(token("orders"), secret);
        // A store keyed by the key's SHA-256 names it as a header's key would be named.
        let digest = format!("{:x}", sha2::Sha256::digest(secret.as_bytes()));
        let by_hash = decode_json(
            "GetItem",
            &format!(r#"{{"TableName":"api_keys","Key":{{"key_hash":{{"S":"{digest}"}}}}}}"#),
            "",
            "",
        )
        .remove(0);
        assert_eq!(by_hash.key.get("key_hash"), Some(hashed));
        // Outside a key store, an item's `key` is its key.
        let kv = decode_json(
            "GetItem",
            r#"{"TableName":"settings","Key":{"key":{"S":"feature:flags/beta"}}}"#,
            "",
            "",
        )
        .remove(0);
        assert_eq!(
            kv.key.get("key").map(crate::event::SmolStr::as_str),
            Some("feature:flags/beta")
        );
    }

    fn decode_json(op: &str, body: &str, code: &str, message: &str) -> Vec<DbOperation> {
        let params: Map<String, Value> = serde_json::from_str(body).unwrap();
        decode(
            &Request {
                operation: op,
                params: &params,
                error_code: code,
                error_message: message,
                group_id: "g1",
            },
            &mut KeySchemas::default(),
        )
    }

    #[test]
    fn wire_and_cloudtrail_spellings_decode_alike() {
        let wire = decode_json(
            "UpdateItem",
            r#"{"TableName":"orders","Key":{"orderId":{"S":"o-1"},"n":{"N":"7"}},"UpdateExpression":"SET #s = :s","ConditionExpression":"owner_id = :uid","ExpressionAttributeValues":{":s":{"S":"paid"}}}"#,
            "",
            "",
        );
        let ct = decode_json(
            "UpdateItem",
            r#"{"tableName":"orders","key":{"orderId":"o-1","n":"7"},"updateExpression":"SET #s = :s","conditionExpression":"owner_id = :uid"}"#,
            "",
            "",
        );
        assert_eq!(wire, ct);
        assert_eq!(
            wire[0]
                .key
                .get("orderId")
                .map(crate::event::SmolStr::as_str),
            Some("o-1")
        );
        assert!(wire[0].has_condition && wire[0].is_write && wire[0].group_id.is_empty());
    }

    #[test]
    fn transactions_expand_per_item_with_their_cancellation_reasons() {
        let wire = decode_json(
            "TransactWriteItems",
            r#"{"TransactItems":[{"ConditionCheck":{"TableName":"users","Key":{"id":{"S":"u1"}},"ConditionExpression":"attribute_exists(id)"}},{"Update":{"TableName":"orders","Key":{"orderId":{"S":"o-1"}},"UpdateExpression":"SET a = :a"}}]}"#,
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]",
        );
        let ops: Vec<_> = wire
            .iter()
            .map(|o| {
                (
                    o.operation.as_str(),
                    o.table.as_str(),
                    o.is_write,
                    o.has_condition,
                    o.error_code.as_str(),
                    o.group_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ops,
            [
                (
                    "ConditionCheck",
                    "users",
                    false,
                    true,
                    "ConditionalCheckFailedException",
                    "g1"
                ),
                (
                    "UpdateItem",
                    "orders",
                    true,
                    false,
                    "TransactionCanceledException",
                    "g1"
                ),
            ]
        );
        let ct = decode_json(
            "TransactWriteItems",
            r#"{"requestItems":[{"operation":"Put","tableName":"orders","key":{"orderId":"o-2"},"items":["orderId","total"]},{"operation":"Delete","TableName":"orders","Key":{"orderId":"o-3"},"ConditionExpression":"attribute_exists(orderId)"}]}"#,
            "",
            "",
        );
        assert_eq!(ct.len(), 2);
        assert_eq!(
            (
                ct[0].operation.as_str(),
                ct[0].key.get("orderId").map(crate::event::SmolStr::as_str)
            ),
            ("PutItem", Some("o-2"))
        );
        assert_eq!(
            (ct[1].operation.as_str(), ct[1].has_condition),
            ("DeleteItem", true)
        );
    }

    #[test]
    fn batches_expand_per_item_and_puts_learn_their_key() {
        let mut schemas = KeySchemas::default();
        let get: Map<String, Value> =
            serde_json::from_str(r#"{"TableName":"orders","Key":{"orderId":{"S":"o-1"}}}"#)
                .unwrap();
        let req = |op, params| Request {
            operation: op,
            params,
            error_code: "",
            error_message: "",
            group_id: "b",
        };
        decode(&req("GetItem", &get), &mut schemas);
        let put: Map<String, Value> = serde_json::from_str(
            r#"{"RequestItems":{"orders":[{"PutRequest":{"Item":{"orderId":{"S":"o-9"},"secret":{"S":"x"}}}},{"DeleteRequest":{"Key":{"orderId":{"S":"o-8"}}}}]}}"#,
        )
        .unwrap();
        let ops = decode(&req("BatchWriteItem", &put), &mut schemas);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].operation, "PutItem");
        assert_eq!(
            ops[0].key,
            crate::event::Fields::from_iter([("orderId".into(), "o-9".into())])
        );
        assert_eq!(
            (ops[1].operation.as_str(), ops[1].group_id.as_str()),
            ("DeleteItem", "b")
        );
        let reads: Map<String, Value> = serde_json::from_str(
            r#"{"RequestItems":{"orders":{"Keys":[{"orderId":{"S":"o-1"}},{"orderId":{"S":"o-2"}}],"ConsistentRead":true}}}"#,
        )
        .unwrap();
        let ops = decode(&req("BatchGetItem", &reads), &mut schemas);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].consistent_read, Some(true));
    }

    #[test]
    fn create_table_names_the_key_before_any_put() {
        let mut schemas = KeySchemas::default();
        let create: Map<String, Value> = serde_json::from_str(
            r#"{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}"#,
        )
        .unwrap();
        schemas.learn_create_table(&create);
        let put: Map<String, Value> = serde_json::from_str(
            r#"{"TableName":"orders","Item":{"pk":{"S":"USER#1"},"sk":{"S":"ORDER#7"},"total":{"N":"3"}}}"#,
        )
        .unwrap();
        let ops = decode(
            &Request {
                operation: "PutItem",
                params: &put,
                error_code: "",
                error_message: "",
                group_id: "",
            },
            &mut schemas,
        );
        assert_eq!(
            ops[0].key,
            [
                ("pk".into(), "USER#1".into()),
                ("sk".into(), "ORDER#7".into())
            ]
            .into_iter()
            .collect::<crate::event::Fields>()
        );
    }

    #[test]
    fn error_types_are_shortened() {
        assert_eq!(
            short_error_type("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"),
            "ConditionalCheckFailedException"
        );
        assert_eq!(
            outcome("ConditionalCheckFailedException"),
            Outcome::Conflict
        );
    }

    #[test]
    fn names_are_resolved_and_legacy_conditions_written_out() {
        let ops = decode_json(
            "UpdateItem",
            r##"{"TableName":"t","Key":{"id":{"S":"1"}},"UpdateExpression":"SET #s = :s, #missing = :m","ConditionExpression":"attribute_exists(#id) AND #o = :uid","ExpressionAttributeNames":{"#s":"status","#o":"owner_id","#id":"id"}}"##,
            "",
            "",
        );
        assert_eq!(ops[0].condition, "attribute_exists(id) AND owner_id = :uid");
        assert_eq!(ops[0].update_expression, "SET status = :s, #missing = :m");
        let ops = decode_json(
            "PutItem",
            r#"{"TableName":"t","Item":{"id":{"S":"1"}},"Expected":{"version":{"ComparisonOperator":"EQ","AttributeValueList":[{"N":"3"}]},"id":{"Exists":false}},"ConditionalOperator":"OR"}"#,
            "",
            "",
        );
        assert!(ops[0].has_condition);
        assert_eq!(
            ops[0].condition,
            "attribute_not_exists(id) OR version = :expected"
        );
    }

    #[test]
    fn a_query_key_is_its_equality_conditions() {
        let ops = decode_json(
            "Query",
            r##"{"TableName":"teams","IndexName":"by_user","KeyConditionExpression":"#u = :u and begins_with(sk, :p)","ExpressionAttributeNames":{"#u":"user_id"},"ExpressionAttributeValues":{":u":{"S":"alice"},":p":{"S":"MEMBER#"}}}"##,
            "",
            "",
        );
        assert_eq!(
            ops[0].key,
            crate::event::Fields::from_iter([("user_id".into(), "alice".into())])
        );
        assert_eq!(ops[0].index_name, "by_user");
        let legacy = decode_json(
            "Query",
            r#"{"TableName":"t","KeyConditions":{"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"a"}]},"sk":{"ComparisonOperator":"GT","AttributeValueList":[{"S":"b"}]}}}"#,
            "",
            "",
        );
        assert_eq!(
            legacy[0].key,
            crate::event::Fields::from_iter([("pk".into(), "a".into())])
        );
        // CloudTrail logs no values: no key.
        let ct = decode_json(
            "Query",
            r#"{"tableName":"t","keyConditionExpression":"pk = :pk"}"#,
            "",
            "",
        );
        assert!(ct[0].key.is_empty());
    }
}
