//! `where`: what a Rego rule declares of every event it can report on, so the host evaluates the
//! rule only on those. The rule is still sent (and counted as seeing) every event its `kinds`,
//! `operations` and `requires` subscribe to; the ones `where` turns away are neither converted
//! nor evaluated. Tested on the event in Rust, against the scalar fields of its JSON form.
//!
//! ```text
//! "where": {
//!     "outcome": "success",                            a field and the value it must have,
//!     "http.status": [401, 403],                       or one of these values,
//!     "correlation.linked_event": {"not": ""},         or none of these,
//!     "any": [{"actor.tenant": "a"}, {...}],           and one of these objects holding
//! }
//! ```
//! Every entry must hold. A field the event lacks (another kind's, or one the JSON form leaves
//! out) reads as its zero: `""`, `false`, `0`, and `none` for `correlation.link`.

use regorus::Value;

use crate::event::{
    AuthDecision, DbOperation, Detail, Event, Http, KeyLifecycle, LinkMethod, Outcome,
};

/// How a field is read from an event, and so what it holds.
#[derive(Debug, Clone, Copy)]
enum Read {
    Text(for<'e> fn(&'e Event) -> &'e str),
    /// An enum, and the names it can take.
    Name(&'static [&'static str], fn(&Event) -> &'static str),
    Flag(fn(&Event) -> bool),
    Number(fn(&Event) -> i64),
}

impl Read {
    fn value<'e>(&self, event: &'e Event) -> Scalar<'e> {
        match self {
            Read::Text(read) => Scalar::Text(read(event)),
            Read::Name(_, read) => Scalar::Text(read(event)),
            Read::Flag(read) => Scalar::Flag(read(event)),
            Read::Number(read) => Scalar::Number(read(event)),
        }
    }
}

/// A field's value on one event.
#[derive(Debug, PartialEq)]
enum Scalar<'e> {
    Text(&'e str),
    Flag(bool),
    Number(i64),
}

/// A value a rule declared.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Flag(bool),
    Number(i64),
}

impl Literal {
    fn matches(&self, value: &Scalar<'_>) -> bool {
        match (self, value) {
            (Literal::Text(a), Scalar::Text(b)) => a == b,
            (Literal::Flag(a), Scalar::Flag(b)) => a == b,
            (Literal::Number(a), Scalar::Number(b)) => a == b,
            _ => false,
        }
    }
}

const OUTCOMES: &[&str] = &[
    "success",
    "denied",
    "not_found",
    "conflict",
    "throttled",
    "error",
    "unknown",
];
const LINKS: &[&str] = &[
    "none",
    "trace_id",
    "aws_request_id",
    "request_header",
    "principal_window",
];
const KEY_ACTIONS: &[&str] = &[
    "created",
    "activated",
    "deactivated",
    "deleted",
    "rotated",
    "scope_changed",
];

/// The fields `where` can test: the scalars of the JSON form but ids, times and counters.
#[rustfmt::skip]
const FIELDS: &[(&str, Read)] = &[
    ("outcome", Read::Name(OUTCOMES, |e| outcome(e.outcome))),
    ("source.file", Read::Text(|e| &e.source.file)),
    ("source.format", Read::Text(|e| &e.source.format)),
    ("actor.principal", Read::Text(|e| &e.actor.principal)),
    ("actor.key_id", Read::Text(|e| &e.actor.key_id)),
    ("actor.tenant", Read::Text(|e| &e.actor.tenant)),
    ("actor.ip", Read::Text(|e| &e.actor.ip)),
    ("actor.user_agent", Read::Text(|e| &e.actor.user_agent)),
    ("actor.session", Read::Text(|e| &e.actor.session)),
    ("correlation.trace_id", Read::Text(|e| &e.correlation.trace_id)),
    ("correlation.span_id", Read::Text(|e| &e.correlation.span_id)),
    ("correlation.parent_span_id", Read::Text(|e| &e.correlation.parent_span_id)),
    ("correlation.request_id", Read::Text(|e| &e.correlation.request_id)),
    ("correlation.app_request_id", Read::Text(|e| &e.correlation.app_request_id)),
    ("correlation.linked_event", Read::Text(|e| &e.correlation.linked_event)),
    ("correlation.link", Read::Name(LINKS, |e| link(e.correlation.link))),
    ("http.method", Read::Text(|e| http(e).map_or("", |h| &h.method))),
    ("http.path", Read::Text(|e| http(e).map_or("", |h| &h.path))),
    ("http.route", Read::Text(|e| http(e).map_or("", |h| &h.route))),
    ("http.query", Read::Text(|e| http(e).map_or("", |h| &h.query))),
    ("http.status", Read::Number(|e| http(e).map_or(0, |h| i64::from(h.status)))),
    ("db_operation.service", Read::Text(|e| db(e).map_or("", |d| &d.service))),
    ("db_operation.operation", Read::Text(|e| db(e).map_or("", |d| &d.operation))),
    ("db_operation.table", Read::Text(|e| db(e).map_or("", |d| &d.table))),
    ("db_operation.has_condition", Read::Flag(|e| db(e).is_some_and(|d| d.has_condition))),
    ("db_operation.condition", Read::Text(|e| db(e).map_or("", |d| &d.condition))),
    ("db_operation.update_expression", Read::Text(|e| db(e).map_or("", |d| &d.update_expression))),
    ("db_operation.index_name", Read::Text(|e| db(e).map_or("", |d| &d.index_name))),
    ("db_operation.group_id", Read::Text(|e| db(e).map_or("", |d| &d.group_id))),
    ("db_operation.is_write", Read::Flag(|e| db(e).is_some_and(|d| d.is_write))),
    ("db_operation.error_code", Read::Text(|e| db(e).map_or("", |d| &d.error_code))),
    ("key_lifecycle.action", Read::Name(KEY_ACTIONS, |e| key(e).map_or("", |k| k.action.as_str()))),
    ("key_lifecycle.key_id", Read::Text(|e| key(e).map_or("", |k| &k.key_id))),
    ("key_lifecycle.owner", Read::Text(|e| key(e).map_or("", |k| &k.owner))),
    ("key_lifecycle.parent_key_id", Read::Text(|e| key(e).map_or("", |k| &k.parent_key_id))),
    ("auth_decision.allowed", Read::Flag(|e| auth(e).is_some_and(|a| a.allowed))),
    ("auth_decision.action", Read::Text(|e| auth(e).map_or("", |a| &a.action))),
    ("auth_decision.resource", Read::Text(|e| auth(e).map_or("", |a| &a.resource))),
    ("auth_decision.policy", Read::Text(|e| auth(e).map_or("", |a| &a.policy))),
    ("facts.privileged", Read::Flag(|e| e.facts.privileged)),
    ("facts.request_method", Read::Text(|e| &e.facts.request_method)),
    ("facts.request_route", Read::Text(|e| &e.facts.request_route)),
];

fn http(e: &Event) -> Option<&Http> {
    match &e.detail {
        Detail::Http(h) => Some(h),
        _ => None,
    }
}

fn db(e: &Event) -> Option<&DbOperation> {
    match &e.detail {
        Detail::DbOperation(d) => Some(d),
        _ => None,
    }
}

fn key(e: &Event) -> Option<&KeyLifecycle> {
    match &e.detail {
        Detail::KeyLifecycle(k) => Some(k),
        _ => None,
    }
}

fn auth(e: &Event) -> Option<&AuthDecision> {
    match &e.detail {
        Detail::AuthDecision(a) => Some(a),
        _ => None,
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Denied => "denied",
        Outcome::NotFound => "not_found",
        Outcome::Conflict => "conflict",
        Outcome::Throttled => "throttled",
        Outcome::Error => "error",
        Outcome::Unknown => "unknown",
    }
}

fn link(l: LinkMethod) -> &'static str {
    match l {
        LinkMethod::None => "none",
        LinkMethod::TraceId => "trace_id",
        LinkMethod::AwsRequestId => "aws_request_id",
        LinkMethod::RequestHeader => "request_header",
        LinkMethod::PrincipalWindow => "principal_window",
    }
}

/// One entry of a `where` object.
#[derive(Debug, Clone)]
enum Test {
    /// The field's value is one of `values` (none of them when `negated`).
    Field {
        read: Read,
        values: Vec<Literal>,
        negated: bool,
    },
    /// One of these lists of tests holds entirely.
    Any(Vec<Vec<Test>>),
}

impl Test {
    fn holds(&self, event: &Event) -> bool {
        match self {
            Test::Field {
                read,
                values,
                negated,
            } => {
                let value = read.value(event);
                values.iter().any(|v| v.matches(&value)) != *negated
            }
            Test::Any(alternatives) => alternatives
                .iter()
                .any(|tests| tests.iter().all(|t| t.holds(event))),
        }
    }
}

/// A Rego rule's `where`: every test must hold for the rule to evaluate an event.
#[derive(Debug, Clone, Default)]
pub(super) struct Where {
    tests: Vec<Test>,
}

impl Where {
    /// Reads a `where` object from a rule's metadata; every problem is listed.
    pub(super) fn parse(value: &Value) -> Result<Where, Vec<String>> {
        let mut problems = Vec::new();
        let tests = tests(value, "where", &mut problems);
        if problems.is_empty() {
            Ok(Where { tests })
        } else {
            Err(problems)
        }
    }

    /// Whether the rule can report on `event`.
    pub(super) fn admits(&self, event: &Event) -> bool {
        self.tests.iter().all(|t| t.holds(event))
    }

    /// Whether it admits every event (no `where`).
    pub(super) fn admits_all(&self) -> bool {
        self.tests.is_empty()
    }
}

/// The tests of the object `value`, found at `at` in the metadata.
fn tests(value: &Value, at: &str, problems: &mut Vec<String>) -> Vec<Test> {
    let Value::Object(entries) = value else {
        problems.push(format!("`{at}` is not an object"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries.iter() {
        let Value::String(key) = key else {
            problems.push(format!("`{at}` has a key that is not a string"));
            continue;
        };
        let key: &str = key;
        if key == "any" {
            let Value::Array(alternatives) = value else {
                problems.push(format!("`{at}.any` is not a list of objects"));
                continue;
            };
            if alternatives.is_empty() {
                problems.push(format!("`{at}.any` is empty: no event could be evaluated"));
                continue;
            }
            let alternatives = alternatives
                .iter()
                .map(|alt| tests(alt, &format!("{at}.any"), problems))
                .collect();
            out.push(Test::Any(alternatives));
            continue;
        }
        let Some((_, read)) = FIELDS.iter().find(|(name, _)| *name == key) else {
            problems.push(format!(
                "`{at}` tests `{key}`, which is not a field `where` can test (docs/rules.md lists them)"
            ));
            continue;
        };
        let (values, negated) = match value {
            Value::Object(o) => match (o.len(), o.get(&Value::from("not"))) {
                (1, Some(v)) => (v, true),
                _ => {
                    problems.push(format!(
                        "`{at}.{key}` is an object other than `{{\"not\": ...}}`"
                    ));
                    continue;
                }
            },
            v => (v, false),
        };
        let values: Vec<&Value> = match values {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        let mut literals = Vec::new();
        for v in values {
            match literal(v, read) {
                Ok(l) => literals.push(l),
                Err(e) => problems.push(format!("`{at}.{key}`: {e}")),
            }
        }
        out.push(Test::Field {
            read: *read,
            values: literals,
            negated,
        });
    }
    out
}

/// A declared value, checked against what the field holds.
fn literal(value: &Value, read: &Read) -> Result<Literal, String> {
    match (read, value) {
        (Read::Text(_), Value::String(s)) => Ok(Literal::Text(s.to_string())),
        (Read::Name(names, _), Value::String(s)) => {
            let s: &str = s;
            if names.contains(&s) {
                Ok(Literal::Text(s.to_owned()))
            } else {
                Err(format!(
                    "`{s}` is not one of {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        (Read::Flag(_), Value::Bool(b)) => Ok(Literal::Flag(*b)),
        (Read::Number(_), Value::Number(n)) => n
            .as_i64()
            .map(Literal::Number)
            .ok_or_else(|| format!("{value} is not an integer")),
        (Read::Text(_) | Read::Name(..), _) => Err(format!("{value} is not a string")),
        (Read::Flag(_), _) => Err(format!("{value} is not a boolean")),
        (Read::Number(_), _) => Err(format!("{value} is not a number")),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::rules::rego::RegoRule;
    use crate::rules::rego_input::SharedValue;
    use crate::rules::rego_input::tests::{fixture_events, variants};
    use crate::rules::{RuleSet, RuleSetOptions, Runtime};

    fn parse(json: &str) -> Result<Where, Vec<String>> {
        Where::parse(&Value::from_json_str(json).unwrap())
    }

    /// Each field reads what the event's JSON form holds at its path, or the field's zero when
    /// the JSON form leaves it out: the meaning `docs/rules.md` gives.
    #[test]
    fn fields_read_the_json_form_or_its_zero() {
        let events = fixture_events();
        let mut seen = std::collections::BTreeSet::new();
        for e in &events {
            let json = serde_json::to_value(e).unwrap();
            for (name, read) in FIELDS {
                let pointer = format!("/{}", name.replace('.', "/"));
                let expected = match (json.pointer(&pointer), read) {
                    (Some(serde_json::Value::String(s)), _) => Scalar::Text(s),
                    (Some(serde_json::Value::Bool(b)), _) => Scalar::Flag(*b),
                    (Some(serde_json::Value::Number(n)), _) => Scalar::Number(n.as_i64().unwrap()),
                    (None, Read::Text(_)) => Scalar::Text(""),
                    (None, Read::Name(..)) if *name == "correlation.link" => Scalar::Text("none"),
                    (None, Read::Name(..)) => Scalar::Text(""),
                    (None, Read::Flag(_)) => Scalar::Flag(false),
                    (None, Read::Number(_)) => Scalar::Number(0),
                    (Some(other), _) => panic!("{name} is {other}"),
                };
                if json.pointer(&pointer).is_some() {
                    seen.insert(*name);
                }
                assert_eq!(read.value(e), expected, "{name} of {}", e.id);
            }
        }
        // The fixtures hold every field but a few rare ones somewhere.
        let unseen: Vec<&str> = FIELDS
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !seen.contains(n))
            .collect();
        assert!(unseen.len() <= 8, "{unseen:?}");
    }

    #[test]
    fn entries_all_hold_and_any_needs_one_alternative() {
        let events = fixture_events();
        let w = parse(
            r#"{"outcome": ["success", "denied"], "http.status": {"not": [200]},
                "any": [{"actor.principal": {"not": ""}}, {"correlation.linked_event": {"not": ""}}]}"#,
        )
        .unwrap();
        let mut admitted = 0;
        for e in &events {
            let expected = matches!(e.outcome, Outcome::Success | Outcome::Denied)
                && http(e).is_none_or(|h| h.status != 200)
                && (!e.actor.principal.is_empty() || !e.correlation.linked_event.is_empty());
            assert_eq!(w.admits(e), expected, "{}", e.id);
            admitted += usize::from(expected);
        }
        assert!(admitted > 0 && admitted < events.len());
        assert!(events.iter().all(|e| Where::default().admits(e)));
    }

    /// `rule`'s findings over `events`, in batches, as text, sorted.
    pub(crate) fn evaluate(rule: &RegoRule, events: &[&Event]) -> Vec<String> {
        let mut session = rule.session();
        let mut found = Vec::new();
        for batch in events.chunks(crate::rules::BATCH_SIZE) {
            let slots: Vec<SharedValue> = batch.iter().map(|_| SharedValue::default()).collect();
            let values: Vec<&SharedValue> = slots.iter().collect();
            let raw = session.on_events(batch, &values).unwrap();
            found.extend(raw.iter().map(|f| format!("{f:?}")));
        }
        found.sort();
        found
    }

    /// The built-in packs and, beside them, TW-DDB-001's Rego reference
    /// (`tests/fixtures/packs/dynamodb-rego`: the built-in TW-DDB-001 is WASM), renamed
    /// `TW-REF-001` so that both load, with `config`. The directory holds the renamed copy.
    pub(crate) fn with_rego_reference(
        config: crate::rules::RuleConfig,
    ) -> (tempfile::TempDir, RuleSet) {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/packs/dynamodb-rego");
        let dir = tempfile::tempdir().unwrap();
        let rule = std::fs::read_to_string(src.join("ddb001.rego")).unwrap();
        std::fs::write(
            dir.path().join("ddb001.rego"),
            rule.replace("TW-DDB-001", "TW-REF-001"),
        )
        .unwrap();
        std::fs::copy(src.join("pack.toml"), dir.path().join("pack.toml")).unwrap();
        crate::rules::digests::write_digests(dir.path(), &["ddb001.rego".to_owned()]).unwrap();
        let options = RuleSetOptions {
            extra: vec![crate::rules::PackSource::Dir(dir.path().to_owned())],
            config,
            ..RuleSetOptions::default()
        };
        let set = RuleSet::load(&options).unwrap();
        (dir, set)
    }

    /// Calls `check` with each built-in Rego rule (and TW-DDB-001's Rego reference), its id, its
    /// findings over the fixture events and their variants it is sent, and those events; then
    /// checks that every such rule was seen and reported on them.
    pub(crate) fn each_built_in_rule(mut check: impl FnMut(&RegoRule, &str, &[String], &[&Event])) {
        let (_reference, rules) = with_rego_reference(Default::default());
        let events = variants(&fixture_events());
        let mut checked = Vec::new();
        for file in rules.packs().iter().flat_map(|p| &p.files) {
            let Runtime::Rego(rule) = &file.runtime else {
                continue;
            };
            let id = &rule.meta().id;
            let sent: Vec<&Event> = events.iter().filter(|e| rule.meta().wants(e)).collect();
            let found = evaluate(rule, &sent);
            assert!(!found.is_empty(), "{id} reports on the fixtures");
            check(rule, id, &found, &sent);
            checked.push(id.clone());
        }
        checked.sort();
        assert_eq!(checked, ["TW-BOLA-004", "TW-KEY-002", "TW-REF-001"]);
    }

    /// The built-in Rego rules declare `where`, and it turns away no event they report on: the
    /// same findings with and without it, over the fixtures and their variants; and no event it
    /// turns away makes a finding on its own.
    #[test]
    fn the_built_in_rules_where_loses_no_finding() {
        each_built_in_rule(|rule, id, found, sent| {
            assert!(!rule.filter().tests.is_empty(), "{id} declares `where`");
            let (admitted, turned_away): (Vec<&Event>, Vec<&Event>) =
                sent.iter().partition(|e| rule.filter().admits(e));
            assert!(!turned_away.is_empty(), "{id}'s `where` turns events away");
            let unfiltered = rule.without_filter();
            assert_eq!(found, evaluate(&unfiltered, sent), "{id}");
            assert_eq!(found, evaluate(&unfiltered, &admitted), "{id}");
            for e in turned_away {
                assert_eq!(
                    evaluate(&unfiltered, &[e]),
                    Vec::<String>::new(),
                    "{id}: {e:?}"
                );
            }
        });
    }

    #[test]
    fn every_problem_is_named() {
        let problems = parse(
            r#"{"outcome": "succes", "http.status": "200", "db_operation.has_condition": 0,
                "db_operation.key": "x", "facts.privileged": {"no": true}, "any": []}"#,
        )
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "`where.any` is empty: no event could be evaluated",
                "`where.db_operation.has_condition`: 0 is not a boolean",
                "`where` tests `db_operation.key`, which is not a field `where` can test (docs/rules.md lists them)",
                "`where.facts.privileged` is an object other than `{\"not\": ...}`",
                "`where.http.status`: \"200\" is not a number",
                "`where.outcome`: `succes` is not one of `success`, `denied`, `not_found`, `conflict`, `throttled`, `error`, `unknown`",
            ]
        );
        assert_eq!(parse("[]").unwrap_err(), ["`where` is not an object"]);
    }
}
