//! What a Rego rule reads of each event: its metadata's `reads`, the fields of the event's JSON
//! form it looks at. The host converts only those (and `id`, which evidence cites) into the
//! regorus value the rule evaluates; a rule that declares nothing is given whole events.
//!
//! Building a value costs an allocation per string and a sorted map per object: a CloudTrail
//! write with its ownership facts is ~60 of them. `TW-DDB-001` reads eight fields of it.

use regorus::Value;

/// A field of the event's JSON form ([`EVENT`]): a leaf (a string, number, flag or list of
/// strings), a map whose keys are data (`attributes`, `http.params`, `db_operation.key`: a path
/// may name one of its entries), or an object, or a list of objects, with its own fields.
pub(crate) struct Field {
    pub name: &'static str,
    pub fields: &'static [Field],
    pub map: bool,
}

const fn leaf(name: &'static str) -> Field {
    Field {
        name,
        fields: &[],
        map: false,
    }
}

const fn map(name: &'static str) -> Field {
    Field {
        name,
        fields: &[],
        map: true,
    }
}

const fn object(name: &'static str, fields: &'static [Field]) -> Field {
    Field {
        name,
        fields,
        map: false,
    }
}

/// The event's JSON form, as `rego_input` builds it (docs/events.md).
pub(crate) const EVENT: &[Field] = &[
    leaf("id"),
    leaf("time_ns"),
    leaf("precision_ns"),
    object(
        "source",
        &[leaf("file"), leaf("record"), leaf("line"), leaf("format")],
    ),
    object(
        "actor",
        &[
            leaf("principal"),
            leaf("key_id"),
            leaf("tenant"),
            leaf("ip"),
            leaf("user_agent"),
            leaf("session"),
        ],
    ),
    object(
        "correlation",
        &[
            leaf("trace_id"),
            leaf("span_id"),
            leaf("parent_span_id"),
            leaf("request_id"),
            leaf("app_request_id"),
            leaf("linked_event"),
            leaf("link"),
        ],
    ),
    leaf("outcome"),
    object(
        "http",
        &[
            leaf("method"),
            leaf("path"),
            leaf("route"),
            leaf("status"),
            leaf("duration_ns"),
            leaf("query"),
            map("params"),
            object("returned_ids", &[leaf("name"), leaf("value")]),
        ],
    ),
    object(
        "db_operation",
        &[
            leaf("service"),
            leaf("operation"),
            leaf("table"),
            map("key"),
            leaf("has_condition"),
            leaf("condition"),
            leaf("update_expression"),
            leaf("consistent_read"),
            leaf("index_name"),
            leaf("group_id"),
            leaf("is_write"),
            leaf("error_code"),
        ],
    ),
    object(
        "key_lifecycle",
        &[
            leaf("action"),
            leaf("key_id"),
            leaf("owner"),
            leaf("scopes"),
            leaf("parent_key_id"),
        ],
    ),
    object(
        "auth_decision",
        &[
            leaf("allowed"),
            leaf("action"),
            leaf("resource"),
            leaf("policy"),
        ],
    ),
    map("attributes"),
    object(
        "facts",
        &[
            object(
                "objects",
                &[
                    leaf("collection"),
                    leaf("id"),
                    leaf("owner"),
                    leaf("owner_tenant"),
                    leaf("owner_source"),
                    leaf("owner_event"),
                    leaf("owner_event_source"),
                    leaf("relation"),
                    leaf("known"),
                    leaf("scoped"),
                    leaf("owner_condition"),
                ],
            ),
            leaf("privileged"),
            object(
                "key",
                &[
                    leaf("key_id"),
                    leaf("status"),
                    leaf("owner"),
                    leaf("created_ns"),
                    leaf("revoked_ns"),
                    leaf("revoked_event"),
                    leaf("revoked_event_source"),
                    leaf("scopes"),
                    leaf("scopes_known"),
                    leaf("removed_scopes"),
                    leaf("scope_changed_ns"),
                    leaf("scope_event"),
                    leaf("scope_event_source"),
                    leaf("last_used_ns"),
                    leaf("parent_key_id"),
                    leaf("issued_ns"),
                    leaf("parent_revoked_ns"),
                    leaf("parent_revoked_event"),
                    leaf("parent_revoked_event_source"),
                ],
            ),
            leaf("request_method"),
            leaf("request_route"),
        ],
    ),
];

/// The fields of one level of the JSON form a rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Reads {
    /// All of them (a rule that declares no `reads`; a field named whole).
    #[default]
    All,
    /// These, each with what is read of it, in the order declared (a map's: its entries).
    Only(Vec<(Box<str>, Reads)>),
}

static ALL: Reads = Reads::All;

impl Reads {
    /// What is read of the field `name` of this level; `None` if nothing.
    pub(crate) fn field(&self, name: &str) -> Option<&Reads> {
        match self {
            Reads::All => Some(&ALL),
            Reads::Only(fields) => fields.iter().find(|(n, _)| &**n == name).map(|(_, r)| r),
        }
    }

    /// Where `path` (its remaining segments) stops naming a field under the level whose fields
    /// are `schema`, as a message; none when it names one (the whole of a field, or one entry of
    /// a map).
    fn unknown(path: &[&str], schema: &'static [Field]) -> Option<String> {
        let (first, rest) = path.split_first()?;
        let Some(field) = schema.iter().find(|f| f.name == *first) else {
            return Some(format!("`{first}`"));
        };
        if field.map || rest.is_empty() {
            return None;
        }
        if field.fields.is_empty() {
            return Some(format!("`{}` under `{first}`", rest.join(".")));
        }
        Self::unknown(rest, field.fields).map(|e| format!("{e} under `{first}`"))
    }

    /// Adds the path `path` (its remaining segments, a field of `schema` by [`Reads::unknown`])
    /// under the level whose fields are `schema`.
    fn add(&mut self, path: &[&str], schema: &'static [Field]) {
        let Reads::Only(fields) = self else {
            return;
        };
        let Some((first, rest)) = path.split_first() else {
            *self = Reads::All;
            return;
        };
        let Some(field) = schema.iter().find(|f| f.name == *first) else {
            return;
        };
        let Some(inner) = Self::level(fields, field.name) else {
            return;
        };
        if field.map && !rest.is_empty() {
            // One entry of a map, its key the rest of the path (keys may hold dots).
            if let Reads::Only(entries) = inner
                && let Some(entry) = Self::level(entries, &rest.join("."))
            {
                *entry = Reads::All;
            }
        } else {
            inner.add(rest, field.fields);
        }
    }

    /// What is read of `name` among `fields`, added as nothing yet if it was not there.
    fn level<'f>(fields: &'f mut Vec<(Box<str>, Reads)>, name: &str) -> Option<&'f mut Reads> {
        if !fields.iter().any(|(n, _)| &**n == name) {
            fields.push((name.into(), Reads::Only(Vec::new())));
        }
        fields
            .iter_mut()
            .find(|(n, _)| &**n == name)
            .map(|(_, r)| r)
    }

    /// The paths read, as declared (a field read whole is one path); none for all of them.
    pub(crate) fn paths(&self) -> Option<Vec<String>> {
        let Reads::Only(fields) = self else {
            return None;
        };
        let mut out = Vec::new();
        for (name, inner) in fields {
            match inner.paths() {
                None => out.push(name.to_string()),
                Some(below) if below.is_empty() => out.push(name.to_string()),
                Some(below) => out.extend(below.into_iter().map(|p| format!("{name}.{p}"))),
            }
        }
        Some(out)
    }

    /// Reads the metadata's `reads`: a list of field paths of the JSON form (`"db_operation"`
    /// whole, `"actor.principal"` alone, `"facts.objects.owner"` in each object). `id` is always
    /// read.
    pub(crate) fn parse(value: &Value) -> Result<Reads, Vec<String>> {
        let Ok(paths) = value.as_array() else {
            return Err(vec![
                "`reads` is not a list of field paths (`[\"db_operation\", \"actor.principal\"]`)"
                    .to_owned(),
            ]);
        };
        let mut reads = Reads::Only(Vec::new());
        let mut problems = Vec::new();
        for path in std::iter::once(&Value::from("id")).chain(paths.iter()) {
            let Ok(text) = path.as_string() else {
                problems.push(format!("`reads`: {path} is not a field path (a string)"));
                continue;
            };
            let segments: Vec<&str> = text.split('.').collect();
            match Self::unknown(&segments, EVENT) {
                Some(what) => problems.push(format!(
                    "`reads` names `{text}`: {what} is not a field of the event's JSON form (docs/events.md)"
                )),
                None => reads.add(&segments, EVENT),
            }
        }
        if problems.is_empty() {
            Ok(reads)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Detail;
    use crate::rules::rego_filter::tests::{each_built_in_rule, evaluate};
    use crate::rules::rego_input::SharedValue;
    use crate::rules::rego_input::tests::fixture_events;

    /// Every object key of `value` at the level whose fields are `schema`, as paths.
    fn keys_outside(value: &Value, schema: &'static [Field], at: &str, out: &mut Vec<String>) {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let Ok(fields) = item.as_object() else {
                continue;
            };
            for (k, v) in fields.iter() {
                let name = k.as_string().map(|s| s.to_string()).unwrap_or_default();
                match schema.iter().find(|f| f.name == name) {
                    Some(f) if !f.fields.is_empty() => {
                        keys_outside(v, f.fields, &format!("{at}{name}."), out)
                    }
                    Some(_) => {}
                    None => out.push(format!("{at}{name}")),
                }
            }
        }
    }

    /// [`EVENT`] is the whole JSON form the host builds: a `reads` path can name every field
    /// a rule sees, so a new field of the event cannot be out of reach of `reads`.
    #[test]
    fn the_schema_holds_every_field_of_the_values() {
        let events = fixture_events();
        let mut outside = Vec::new();
        for e in &events {
            let value = SharedValue::default().get(e, &Reads::All).clone();
            keys_outside(&value, EVENT, "", &mut outside);
        }
        outside.sort();
        outside.dedup();
        assert_eq!(outside, Vec::<String>::new());
    }

    /// A value holds the fields `reads` names and nothing else: a CloudTrail write as
    /// `TW-DDB-001` reads it.
    #[test]
    fn a_value_holds_what_is_read() {
        let events = fixture_events();
        let (e, db) = events
            .iter()
            .find_map(|e| match &e.detail {
                Detail::DbOperation(db) if e.id.starts_with("ct:") && e.attributes.len() > 1 => {
                    Some((e, db))
                }
                _ => None,
            })
            .unwrap();
        let reads = parse(
            r#"["outcome", "actor.principal", "attributes.key_unknown", "attributes.aws_region",
                "db_operation.operation", "db_operation.key"]"#,
        )
        .unwrap();
        let value = SharedValue::default().get(e, &reads).clone();
        let mut key = serde_json::Map::new();
        for (k, v) in &db.key {
            key.insert(k.to_string(), serde_json::json!(v.as_str()));
        }
        let expected = serde_json::json!({
            "id": e.id.as_str(),
            "outcome": "success",
            "actor": {"principal": e.actor.principal.as_str()},
            "attributes": {"aws_region": e.attributes.get("aws_region").unwrap().as_str()},
            "db_operation": {"operation": db.operation.as_str(), "key": key},
        });
        assert_eq!(value, Value::from_json_str(&expected.to_string()).unwrap());
    }

    /// The built-in Rego rules declare `reads`, and it holds every field they read: the same
    /// findings from values with only those fields as from whole events, over the fixtures and
    /// their variants (with `where` and without, so events it turns away are read too).
    #[test]
    fn the_built_in_rules_reads_lose_no_finding() {
        each_built_in_rule(|rule, id, found, sent| {
            assert_ne!(rule.reads(), &Reads::All, "{id} declares `reads`");
            assert_eq!(found, evaluate(&rule.reading_all(), sent), "{id}");
            let unfiltered = rule.without_filter();
            assert_eq!(
                evaluate(&unfiltered, sent),
                evaluate(&unfiltered.reading_all(), sent),
                "{id} without `where`"
            );
        });
    }

    fn parse(json: &str) -> Result<Reads, Vec<String>> {
        Reads::parse(&Value::from_json_str(json).unwrap())
    }

    #[test]
    fn paths_read_fields_whole_or_in_part() {
        let r = parse(r#"["db_operation", "actor.principal", "facts.objects.owner", "actor"]"#)
            .unwrap();
        assert_eq!(r.field("id"), Some(&Reads::All), "id is always read");
        assert_eq!(r.field("db_operation"), Some(&Reads::All));
        assert_eq!(
            r.field("actor"),
            Some(&Reads::All),
            "named whole after a part"
        );
        assert_eq!(r.field("outcome"), None);
        let objects = r.field("facts").and_then(|f| f.field("objects")).unwrap();
        assert_eq!(objects.field("owner"), Some(&Reads::All));
        assert_eq!(objects.field("id"), None);
        assert_eq!(
            parse("[]").unwrap(),
            Reads::Only(vec![("id".into(), Reads::All)])
        );
        assert_eq!(
            r.paths().unwrap(),
            ["id", "db_operation", "actor", "facts.objects.owner"],
            "declared order, a field named whole once"
        );
        assert_eq!(Reads::All.paths(), None);
        let r =
            parse(r#"["attributes.key_unknown", "db_operation.key", "http.params.a.b"]"#).unwrap();
        let attributes = r.field("attributes").unwrap();
        assert_eq!(attributes.field("key_unknown"), Some(&Reads::All));
        assert_eq!(attributes.field("aws_region"), None, "one entry of a map");
        let key = r
            .field("db_operation")
            .and_then(|d| d.field("key"))
            .unwrap();
        assert_eq!(key, &Reads::All, "a map named whole");
        let params = r.field("http").and_then(|h| h.field("params")).unwrap();
        assert_eq!(
            params.field("a.b"),
            Some(&Reads::All),
            "a key holding a dot"
        );
    }

    #[test]
    fn every_problem_is_named() {
        assert_eq!(
            parse(r#"["db_operaton", "actor.principal.name", "facts.objects.ownr", 3]"#)
                .unwrap_err(),
            [
                "`reads` names `db_operaton`: `db_operaton` is not a field of the event's JSON form (docs/events.md)",
                "`reads` names `actor.principal.name`: `name` under `principal` under `actor` is not a field of the event's JSON form (docs/events.md)",
                "`reads` names `facts.objects.ownr`: `ownr` under `objects` under `facts` is not a field of the event's JSON form (docs/events.md)",
                "`reads`: 3 is not a field path (a string)",
            ]
        );
        assert_eq!(
            parse(r#""db_operation""#).unwrap_err(),
            ["`reads` is not a list of field paths (`[\"db_operation\", \"actor.principal\"]`)"]
        );
        // A path under a field already read whole is checked all the same.
        assert_eq!(
            parse(r#"["actor", "actor.principl", "facts.key", "facts.key.scopes.x"]"#).unwrap_err(),
            [
                "`reads` names `actor.principl`: `principl` under `actor` is not a field of the event's JSON form (docs/events.md)",
                "`reads` names `facts.key.scopes.x`: `x` under `scopes` under `key` under `facts` is not a field of the event's JSON form (docs/events.md)",
            ]
        );
    }
}
