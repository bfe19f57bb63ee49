//! A Rego rule's findings, read straight from the regorus values of its `findings` set (never
//! printed and parsed back) and completed against the batch the rule saw: evidence ids resolved
//! through a map of the batch's events, the finding's time its latest evidence's.

use std::collections::HashMap;

use regorus::Value;

use super::meta::{Confidence, Severity};
use crate::event::Event;
use crate::finding::{Evidence, RawFinding, Site};

/// What a malformed finding is told it should be.
const EXPECTED: &str = "expected {message, evidence, ...}";

/// The findings of `rule_id` in `findings` (the set its `findings` rule evaluated to over
/// `batch`), in stream order: by the batch position of the latest event each rests on (then in
/// the set's order), as a rule that judged the events one by one would report them. A set is
/// ordered by value, not by event: a weakness rule's first occurrence at a site (its folded
/// finding's "first" and its examples) would otherwise be whichever finding sorts first.
pub(super) fn read(
    findings: &Value,
    batch: &[&Event],
    rule_id: &str,
) -> Result<Vec<RawFinding>, String> {
    let items = match findings {
        Value::Set(set) => set,
        Value::Undefined => return Ok(Vec::new()),
        _ => return Err("`findings` is not a set".to_owned()),
    };
    let mut events = Batch::new(batch);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let f = written(item)
            .map_err(|e| format!("finding {} is malformed: {e}: {EXPECTED}", i + 1))?;
        out.push(complete(f, &mut events, rule_id)?);
    }
    // Stable: findings resting on the same event keep the set's order.
    out.sort_by_key(|(at, _)| *at);
    Ok(out.into_iter().map(|(_, f)| f).collect())
}

/// A finding as the rule wrote it.
struct Written<'v> {
    message: String,
    evidence: Vec<(&'v str, &'v str)>,
    principal: String,
    resource: String,
    severity: Option<Severity>,
    confidence: Option<Confidence>,
    /// A weakness's site; by default, the first evidence event's.
    site: Option<Site>,
}

/// Reads a finding object: `message` and `evidence` required, `principal`, `resource`,
/// `severity`, `confidence` and `site` optional (`null` for the last three is as absent),
/// nothing else.
fn written(item: &Value) -> Result<Written<'_>, String> {
    let Value::Object(fields) = item else {
        return Err(format!("a finding is {}, not an object", kind(item)));
    };
    let mut message = None;
    let mut evidence = None;
    let mut f = Written {
        message: String::new(),
        evidence: Vec::new(),
        principal: String::new(),
        resource: String::new(),
        severity: None,
        confidence: None,
        site: None,
    };
    for (name, value) in fields.iter() {
        let Value::String(name) = name else {
            return Err(format!("a field name is {}, not a string", kind(name)));
        };
        match name.as_ref() {
            "message" => message = Some(text("message", value)?.to_owned()),
            "evidence" => evidence = Some(evidence_refs(value)?),
            "principal" => f.principal = text("principal", value)?.to_owned(),
            "resource" => f.resource = text("resource", value)?.to_owned(),
            "severity" => {
                f.severity = optional(value, |v| {
                    text("severity", v)?.parse::<Severity>().map_err(|_| {
                        format!(
                            "unknown severity `{}`: expected info, low, medium, high or critical",
                            text("severity", v).unwrap_or_default()
                        )
                    })
                })?;
            }
            "confidence" => {
                f.confidence = optional(value, |v| match text("confidence", v)? {
                    "low" => Ok(Confidence::Low),
                    "medium" => Ok(Confidence::Medium),
                    "high" => Ok(Confidence::High),
                    other => Err(format!(
                        "unknown confidence `{other}`: expected low, medium or high"
                    )),
                })?;
            }
            "site" => f.site = optional(value, site)?,
            other => return Err(format!("unknown field `{other}`")),
        }
    }
    f.message = message.ok_or("missing field `message`")?;
    f.evidence = evidence.ok_or("missing field `evidence`")?;
    Ok(f)
}

/// Evidence: a list (or set) of event ids, or of `{"event_id", "role"}` objects.
fn evidence_refs(value: &Value) -> Result<Vec<(&str, &str)>, String> {
    let items: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(a) => Box::new(a.iter()),
        Value::Set(s) => Box::new(s.iter()),
        other => return Err(format!("`evidence` is {}, not a list", kind(other))),
    };
    items
        .map(|item| match item {
            Value::String(id) => Ok((id.as_ref(), "")),
            Value::Object(o) => {
                let field = |name: &str| o.get(&Value::from(name));
                let id = match field("event_id") {
                    Some(v) => text("event_id", v)?,
                    None => return Err("an evidence object has no `event_id`".to_owned()),
                };
                let role = field("role").map_or(Ok(""), |v| text("role", v))?;
                Ok((id, role))
            }
            other => Err(format!(
                "an evidence item is {}, not an event id or an object",
                kind(other)
            )),
        })
        .collect()
}

/// `{method, route, table, operation}`, each a string, absent ones empty (other fields are
/// ignored).
fn site(value: &Value) -> Result<Site, String> {
    let Value::Object(o) = value else {
        return Err(format!("`site` is {}, not an object", kind(value)));
    };
    let part = |name: &str| -> Result<String, String> {
        o.get(&Value::from(name))
            .map_or(Ok(""), |v| text(name, v))
            .map(str::to_owned)
    };
    Ok(Site {
        method: part("method")?,
        route: part("route")?,
        table: part("table")?,
        operation: part("operation")?,
    })
}

fn text<'v>(name: &str, value: &'v Value) -> Result<&'v str, String> {
    match value {
        Value::String(s) => Ok(s.as_ref()),
        other => Err(format!("`{name}` is {}, not a string", kind(other))),
    }
}

fn optional<T>(
    value: &Value,
    read: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match value {
        Value::Null => Ok(None),
        v => read(v).map(Some),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    }
}

/// The batch's events by id, with their positions, indexed on the first lookup (most batches
/// have no finding).
struct Batch<'e> {
    events: &'e [&'e Event],
    by_id: Option<HashMap<&'e str, (usize, &'e Event)>>,
}

impl<'e> Batch<'e> {
    fn new(events: &'e [&'e Event]) -> Self {
        Batch {
            events,
            by_id: None,
        }
    }

    /// The first event of the batch with this id, and its position.
    fn get(&mut self, id: &str) -> Option<(usize, &'e Event)> {
        let events = self.events;
        let by_id = self.by_id.get_or_insert_with(|| {
            let mut map = HashMap::with_capacity(events.len());
            for (at, e) in events.iter().enumerate() {
                map.entry(&*e.id).or_insert((at, *e));
            }
            map
        });
        by_id.get(id).copied()
    }
}

/// Resolves evidence ids against the batch: the finding's time is its latest evidence's. With
/// the finding, the batch position of the latest event it rests on.
fn complete(
    f: Written<'_>,
    batch: &mut Batch<'_>,
    rule_id: &str,
) -> Result<(usize, RawFinding), String> {
    if f.evidence.is_empty() {
        return Err("a finding has no evidence".to_owned());
    }
    let mut time_ns = i64::MIN;
    let mut latest = 0;
    let mut site = f.site;
    let mut evidence = Vec::with_capacity(f.evidence.len());
    for (event_id, role) in f.evidence {
        let (at, event) = batch
            .get(event_id)
            .ok_or_else(|| format!("evidence `{event_id}` is not an event of the batch"))?;
        time_ns = time_ns.max(event.time_ns);
        latest = latest.max(at);
        if site.is_none() {
            site = Some(Site::of(event));
        }
        evidence.push(Evidence {
            source: event.source.to_string(),
            location: None,
            time: None,
            time_ns: None,
            event_id: event_id.to_owned(),
            role: role.to_owned(),
        });
    }
    Ok((
        latest,
        RawFinding {
            rule_id: rule_id.to_owned(),
            severity: f.severity,
            confidence: f.confidence,
            message: f.message,
            principal: f.principal,
            resource: f.resource,
            time_ns,
            evidence,
            site,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DbOperation, Detail, Outcome, SourceRef};

    fn event(id: &str, time_ns: i64) -> Event {
        Event {
            facts: Default::default(),
            id: id.into(),
            time_ns,
            precision_ns: 1,
            source: SourceRef {
                file: "f".into(),
                record: 1,
                line: Some(time_ns as u64),
                format: "events".into(),
            },
            actor: Default::default(),
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                table: "orders".into(),
                operation: "PutItem".into(),
                ..DbOperation::default()
            }),
            attributes: Default::default(),
        }
    }

    fn findings(json: &str) -> Value {
        // A set, as the rule's `findings` evaluates to.
        let items = Value::from_json_str(json).unwrap();
        Value::from(
            items
                .as_array()
                .unwrap()
                .iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>(),
        )
    }

    fn read_json(json: &str, events: &[Event]) -> Result<Vec<RawFinding>, String> {
        let refs: Vec<&Event> = events.iter().collect();
        read(&findings(json), &refs, "T-1")
    }

    /// What the JSON round trip made of a finding, field by field.
    #[test]
    fn a_finding_reads_as_its_json_form_did() {
        let events = [event("a", 3), event("b", 5)];
        let found = read_json(
            r#"[{"message": "m", "evidence": ["a", {"event_id": "b", "role": "use", "x": 1}],
                 "principal": "p", "resource": "r", "severity": "high", "confidence": null,
                 "site": {"route": "/o/{id}", "extra": true}}]"#,
            &events,
        )
        .unwrap();
        assert_eq!(
            found,
            [RawFinding {
                rule_id: "T-1".into(),
                severity: Some(Severity::High),
                confidence: None,
                message: "m".into(),
                principal: "p".into(),
                resource: "r".into(),
                time_ns: 5,
                evidence: vec![
                    Evidence {
                        event_id: "a".into(),
                        role: String::new(),
                        source: "f:3".into(),
                        location: None,
                        time: None,
                        time_ns: None,
                    },
                    Evidence {
                        event_id: "b".into(),
                        role: "use".into(),
                        source: "f:5".into(),
                        location: None,
                        time: None,
                        time_ns: None,
                    },
                ],
                site: Some(Site {
                    route: "/o/{id}".into(),
                    ..Site::default()
                }),
            }]
        );
        // No site: the first evidence event's; evidence as a set is a list.
        let finding = Value::from(std::collections::BTreeMap::from([
            (Value::from("message"), Value::from("m")),
            (
                Value::from("evidence"),
                Value::from(std::collections::BTreeSet::from([Value::from("b")])),
            ),
        ]));
        let refs: Vec<&Event> = events.iter().collect();
        let set = Value::from(std::collections::BTreeSet::from([finding]));
        let found = read(&set, &refs, "T-1").unwrap();
        assert_eq!(found[0].evidence[0].event_id, "b");
        assert_eq!(
            found[0].site,
            Some(Site {
                table: "orders".into(),
                operation: "PutItem".into(),
                ..Site::default()
            })
        );
    }

    #[test]
    fn a_malformed_finding_is_named_with_what_is_wrong() {
        let events = [event("a", 3)];
        let err = |json: &str| read_json(json, &events).unwrap_err();
        assert_eq!(
            err(r#"[{"msg": "x", "evidence": ["a"]}]"#),
            "finding 1 is malformed: unknown field `msg`: expected {message, evidence, ...}"
        );
        assert!(err(r#"[{"evidence": ["a"]}]"#).contains("missing field `message`"));
        assert!(err(r#"[{"message": 3, "evidence": ["a"]}]"#).contains("`message` is a number"));
        assert!(err(r#"[{"message": "m", "evidence": "a"}]"#).contains("`evidence` is a string"));
        assert!(
            err(r#"[{"message": "m", "evidence": ["a"], "severity": "severe"}]"#)
                .contains("unknown severity `severe`")
        );
        assert!(
            err(r#"[{"message": "m", "evidence": ["a"], "principal": null}]"#)
                .contains("`principal` is null")
        );
        assert_eq!(
            err(r#"[{"message": "m", "evidence": []}]"#),
            "a finding has no evidence"
        );
        assert_eq!(
            err(r#"[{"message": "m", "evidence": ["zz"]}]"#),
            "evidence `zz` is not an event of the batch"
        );
        assert_eq!(
            err("[3]"),
            "finding 1 is malformed: a finding is a number, not an object: expected {message, evidence, ...}"
        );
    }

    #[test]
    fn findings_come_in_the_order_of_the_events_they_rest_on() {
        // The set orders by value: "a" < "b" < "c" < "d", the events' order is d, b, c, a.
        let events = [event("d", 1), event("b", 1), event("c", 2), event("a", 3)];
        let found = read_json(
            r#"[{"message": "on a", "evidence": ["a"]},
                {"message": "on b", "evidence": ["b"]},
                {"message": "on b then d", "evidence": ["b", "d"]},
                {"message": "on c and d", "evidence": ["d", "c"]},
                {"message": "on d", "evidence": ["d"]}]"#,
            &events,
        )
        .unwrap();
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        // By the latest event each rests on (b then d rests on b: position 1); ties keep the
        // set's order.
        assert_eq!(
            messages,
            ["on d", "on b", "on b then d", "on c and d", "on a"]
        );
    }

    #[test]
    fn evidence_resolves_to_the_first_event_of_that_id() {
        let mut second = event("a", 9);
        second.source.file = "g".into();
        let events = [event("a", 3), second];
        let found = read_json(r#"[{"message": "m", "evidence": ["a"]}]"#, &events).unwrap();
        assert_eq!(found[0].evidence[0].source, "f:3");
    }
}
