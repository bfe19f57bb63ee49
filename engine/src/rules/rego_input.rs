//! Events as regorus values, the Rego host's input: built directly from the event's fields,
//! never printed and parsed back, in the shape of the event's JSON form (`event::to_json`, what
//! `tracewarden normalize` prints), with only the fields the rule reads (`rego_reads`). Field and
//! enum names are values made once per process; an event is converted at most once per scan and
//! value group (the Rego rules that read the same fields), by the first of them that evaluates
//! it, and the value is shared by the others ([`SharedValue`]).

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use regorus::Value;

use super::rego_reads::Reads;

use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Http, KeyAction, KeyFact,
    KeyLifecycle, KeyStatus, LinkMethod, ObjectFact, Outcome, OwnerSource, Relation, SourceRef,
};

/// `Names { id: Value::from("id"), ... }`: every field and enum name of the JSON form.
macro_rules! names {
    ($($name:ident),* $(,)?) => {
        struct Names {
            $($name: Value,)*
        }

        impl Names {
            fn new() -> Self {
                Names {
                    $($name: Value::from(stringify!($name)),)*
                }
            }
        }
    };
}

names! {
    // fields
    id, time_ns, precision_ns, source, file, record, line, format, actor, principal, key_id,
    tenant, ip, user_agent, session, correlation, trace_id, span_id, parent_span_id, request_id,
    app_request_id, linked_event, link, outcome, http, db_operation, key_lifecycle,
    auth_decision, attributes, facts, method, path, route, status, duration_ns, query, params,
    returned_ids, name, value, service, operation, table, key, has_condition, condition,
    update_expression, consistent_read, index_name, group_id, is_write, error_code, action,
    owner, scopes, parent_key_id, allowed, resource, policy, objects, privileged,
    request_method, request_route, collection, owner_tenant, owner_source, owner_event,
    owner_event_source, relation, known, scoped, owner_condition, created_ns, revoked_ns,
    revoked_event, revoked_event_source, scopes_known, removed_scopes, scope_changed_ns,
    scope_event, scope_event_source, last_used_ns, issued_ns, parent_revoked_ns,
    parent_revoked_event, parent_revoked_event_source, events,
    // enum values not named above
    success, denied, not_found, conflict, throttled, error, unknown, none, aws_request_id,
    request_header, principal_window, created, activated, deactivated, deleted, rotated,
    scope_changed, key_prefix, key_attribute, creator, mapping, public, transfer, own, other,
    granted, active, inactive,
}

/// Made on first use: a table of constant strings, read by every scan.
static NAMES: LazyLock<Names> = LazyLock::new(Names::new);

/// An event's value, made at most once and shared by the Rego rules of its value group (those
/// that read the same fields) that evaluate the event.
#[derive(Debug, Default)]
pub(crate) struct SharedValue(OnceLock<Value>);

impl SharedValue {
    /// The value of `event` (the event this slot belongs to), converting on first use what
    /// `reads` names. Every rule sharing the slot reads the same fields.
    pub(crate) fn get(&self, event: &Event, reads: &Reads) -> &Value {
        self.0.get_or_init(|| event_value(event, reads))
    }
}

/// `{"events": [...]}`.
pub(crate) fn input(events: Vec<Value>) -> Value {
    let mut o = BTreeMap::new();
    o.insert(NAMES.events.clone(), Value::from(events));
    Value::from(o)
}

/// The value of `e`, as its JSON form printed and parsed would be, with only the fields `reads`
/// names.
fn event_value(e: &Event, reads: &Reads) -> Value {
    let n = &*NAMES;
    let mut o = Obj::new(reads);
    o.text(&n.id, &e.id);
    o.set(&n.time_ns, |_| Value::from(e.time_ns));
    o.set(&n.precision_ns, |_| Value::from(e.precision_ns));
    o.set(&n.source, |r| source(n, &e.source, r));
    o.set(&n.actor, |r| actor(n, &e.actor, r));
    o.set(&n.correlation, |r| correlation(n, &e.correlation, r));
    o.set(&n.outcome, |_| outcome(n, e.outcome).clone());
    match &e.detail {
        Detail::Http(h) => o.set(&n.http, |r| http(n, h, r)),
        Detail::DbOperation(d) => o.set(&n.db_operation, |r| db(n, d, r)),
        Detail::KeyLifecycle(k) => o.set(&n.key_lifecycle, |r| key_lifecycle(n, k, r)),
        Detail::AuthDecision(a) => o.set(&n.auth_decision, |r| auth(n, a, r)),
    }
    if !e.attributes.is_empty() {
        o.set(&n.attributes, |r| map(&e.attributes, r));
    }
    if !e.facts.is_empty() {
        o.set(&n.facts, |r| facts(n, &e.facts, r));
    }
    o.done()
}

fn source(n: &Names, s: &SourceRef, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.text(&n.file, &s.file);
    o.set(&n.record, |_| Value::from(s.record));
    if let Some(line) = s.line {
        o.set(&n.line, |_| Value::from(line));
    }
    o.text(&n.format, &s.format);
    o.done()
}

fn actor(n: &Names, a: &Actor, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.opt(&n.principal, &a.principal);
    o.opt(&n.key_id, &a.key_id);
    o.opt(&n.tenant, &a.tenant);
    o.opt(&n.ip, &a.ip);
    o.opt(&n.user_agent, &a.user_agent);
    o.opt(&n.session, &a.session);
    o.done()
}

fn correlation(n: &Names, c: &Correlation, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.opt(&n.trace_id, &c.trace_id);
    o.opt(&n.span_id, &c.span_id);
    o.opt(&n.parent_span_id, &c.parent_span_id);
    o.opt(&n.request_id, &c.request_id);
    o.opt(&n.app_request_id, &c.app_request_id);
    o.opt(&n.linked_event, &c.linked_event);
    if c.link != LinkMethod::None {
        o.set(&n.link, |_| link(n, c.link).clone());
    }
    o.done()
}

fn http(n: &Names, h: &Http, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.text(&n.method, &h.method);
    o.text(&n.path, &h.path);
    o.opt(&n.route, &h.route);
    o.set(&n.status, |_| Value::from(u64::from(h.status)));
    if h.duration_ns != 0 {
        o.set(&n.duration_ns, |_| Value::from(h.duration_ns));
    }
    o.opt(&n.query, &h.query);
    if !h.params.is_empty() {
        o.set(&n.params, |r| map(&h.params, r));
    }
    if !h.returned_ids.is_empty() {
        o.set(&n.returned_ids, |r| {
            let ids = h
                .returned_ids
                .iter()
                .map(|id| {
                    let mut i = Obj::new(r);
                    i.text(&n.name, &id.name);
                    i.text(&n.value, &id.value);
                    i.done()
                })
                .collect::<Vec<_>>();
            Value::from(ids)
        });
    }
    o.done()
}

fn db(n: &Names, d: &DbOperation, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.text(&n.service, &d.service);
    o.text(&n.operation, &d.operation);
    o.text(&n.table, &d.table);
    if !d.key.is_empty() {
        o.set(&n.key, |r| map(&d.key, r));
    }
    o.set(&n.has_condition, |_| Value::from(d.has_condition));
    o.opt(&n.condition, &d.condition);
    o.opt(&n.update_expression, &d.update_expression);
    if let Some(c) = d.consistent_read {
        o.set(&n.consistent_read, |_| Value::from(c));
    }
    o.opt(&n.index_name, &d.index_name);
    o.opt(&n.group_id, &d.group_id);
    o.set(&n.is_write, |_| Value::from(d.is_write));
    o.opt(&n.error_code, &d.error_code);
    o.done()
}

fn key_lifecycle(n: &Names, k: &KeyLifecycle, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.set(&n.action, |_| key_action(n, k.action).clone());
    o.text(&n.key_id, &k.key_id);
    o.opt(&n.owner, &k.owner);
    o.list(&n.scopes, &k.scopes);
    o.opt(&n.parent_key_id, &k.parent_key_id);
    o.done()
}

fn auth(n: &Names, a: &AuthDecision, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.set(&n.allowed, |_| Value::from(a.allowed));
    o.text(&n.action, &a.action);
    o.text(&n.resource, &a.resource);
    o.opt(&n.policy, &a.policy);
    o.done()
}

fn facts(n: &Names, f: &Facts, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    if !f.objects.is_empty() {
        o.set(&n.objects, |r| {
            let objects = f
                .objects
                .iter()
                .map(|x| object(n, x, r))
                .collect::<Vec<_>>();
            Value::from(objects)
        });
    }
    o.flag(&n.privileged, f.privileged);
    if let Some(k) = &f.key {
        o.set(&n.key, |r| key_fact(n, k, r));
    }
    o.opt(&n.request_method, &f.request_method);
    o.opt(&n.request_route, &f.request_route);
    o.done()
}

fn object(n: &Names, x: &ObjectFact, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.text(&n.collection, &x.collection);
    o.text(&n.id, &x.id);
    o.opt(&n.owner, &x.owner);
    o.opt(&n.owner_tenant, &x.owner_tenant);
    o.set(&n.owner_source, |_| owner_source(n, x.owner_source).clone());
    o.opt(&n.owner_event, &x.owner_event);
    o.opt(&n.owner_event_source, &x.owner_event_source);
    o.set(&n.relation, |_| relation(n, x.relation).clone());
    o.flag(&n.known, x.known);
    o.flag(&n.scoped, x.scoped);
    o.flag(&n.owner_condition, x.owner_condition);
    o.done()
}

fn key_fact(n: &Names, k: &KeyFact, reads: &Reads) -> Value {
    let mut o = Obj::new(reads);
    o.text(&n.key_id, &k.key_id);
    o.set(&n.status, |_| key_status(n, k.status).clone());
    o.opt(&n.owner, &k.owner);
    o.nonzero(&n.created_ns, k.created_ns);
    o.nonzero(&n.revoked_ns, k.revoked_ns);
    o.opt(&n.revoked_event, &k.revoked_event);
    o.opt(&n.revoked_event_source, &k.revoked_event_source);
    o.list(&n.scopes, &k.scopes);
    o.flag(&n.scopes_known, k.scopes_known);
    o.list(&n.removed_scopes, &k.removed_scopes);
    o.nonzero(&n.scope_changed_ns, k.scope_changed_ns);
    o.opt(&n.scope_event, &k.scope_event);
    o.opt(&n.scope_event_source, &k.scope_event_source);
    o.nonzero(&n.last_used_ns, k.last_used_ns);
    o.opt(&n.parent_key_id, &k.parent_key_id);
    o.nonzero(&n.issued_ns, k.issued_ns);
    o.nonzero(&n.parent_revoked_ns, k.parent_revoked_ns);
    o.opt(&n.parent_revoked_event, &k.parent_revoked_event);
    o.opt(
        &n.parent_revoked_event_source,
        &k.parent_revoked_event_source,
    );
    o.done()
}

/// An object being built, with the rules of the JSON form: empty strings, `false`, zeros and
/// empty lists where the JSON form omits them are left out; and only the fields `reads` names.
struct Obj<'r> {
    fields: BTreeMap<Value, Value>,
    reads: &'r Reads,
}

impl<'r> Obj<'r> {
    fn new(reads: &'r Reads) -> Self {
        Obj {
            fields: BTreeMap::new(),
            reads,
        }
    }

    /// What is read of the field `name`, if anything.
    fn read(&self, name: &Value) -> Option<&'r Reads> {
        match name {
            Value::String(name) => self.reads.field(name),
            _ => None,
        }
    }

    /// Sets the field `name` to `value` (given what is read of it), if it is read.
    fn set(&mut self, name: &Value, value: impl FnOnce(&Reads) -> Value) {
        if let Some(r) = self.read(name) {
            self.fields.insert(name.clone(), value(r));
        }
    }

    fn text(&mut self, name: &Value, value: &str) {
        self.set(name, |_| Value::from(value));
    }

    fn opt(&mut self, name: &Value, value: &str) {
        if !value.is_empty() {
            self.text(name, value);
        }
    }

    fn nonzero(&mut self, name: &Value, value: i64) {
        if value != 0 {
            self.set(name, |_| Value::from(value));
        }
    }

    fn flag(&mut self, name: &Value, value: bool) {
        if value {
            self.set(name, |_| Value::from(true));
        }
    }

    fn list<S: AsRef<str>>(&mut self, name: &Value, values: &[S]) {
        if !values.is_empty() {
            self.set(name, |_| {
                let list = values
                    .iter()
                    .map(|v| Value::from(v.as_ref()))
                    .collect::<Vec<_>>();
                Value::from(list)
            });
        }
    }

    fn done(self) -> Value {
        Value::from(self.fields)
    }
}

/// A map whose keys are data, with the entries `reads` names.
fn map<'m, K, V>(m: impl IntoIterator<Item = (&'m K, &'m V)>, reads: &Reads) -> Value
where
    K: AsRef<str> + 'm,
    V: AsRef<str> + 'm,
{
    Value::from(
        m.into_iter()
            .filter(|(k, _)| reads.field(k.as_ref()).is_some())
            .map(|(k, v)| (Value::from(k.as_ref()), Value::from(v.as_ref())))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn outcome(n: &Names, o: Outcome) -> &Value {
    match o {
        Outcome::Success => &n.success,
        Outcome::Denied => &n.denied,
        Outcome::NotFound => &n.not_found,
        Outcome::Conflict => &n.conflict,
        Outcome::Throttled => &n.throttled,
        Outcome::Error => &n.error,
        Outcome::Unknown => &n.unknown,
    }
}

fn link(n: &Names, l: LinkMethod) -> &Value {
    match l {
        LinkMethod::None => &n.none,
        LinkMethod::TraceId => &n.trace_id,
        LinkMethod::AwsRequestId => &n.aws_request_id,
        LinkMethod::RequestHeader => &n.request_header,
        LinkMethod::PrincipalWindow => &n.principal_window,
    }
}

fn key_action(n: &Names, a: KeyAction) -> &Value {
    match a {
        KeyAction::Created => &n.created,
        KeyAction::Activated => &n.activated,
        KeyAction::Deactivated => &n.deactivated,
        KeyAction::Deleted => &n.deleted,
        KeyAction::Rotated => &n.rotated,
        KeyAction::ScopeChanged => &n.scope_changed,
    }
}

fn owner_source(n: &Names, s: OwnerSource) -> &Value {
    match s {
        OwnerSource::Unknown => &n.unknown,
        OwnerSource::Path => &n.path,
        OwnerSource::KeyPrefix => &n.key_prefix,
        OwnerSource::KeyAttribute => &n.key_attribute,
        OwnerSource::Creator => &n.creator,
        OwnerSource::Condition => &n.condition,
        OwnerSource::Mapping => &n.mapping,
        OwnerSource::Public => &n.public,
        OwnerSource::Transfer => &n.transfer,
    }
}

fn relation(n: &Names, r: Relation) -> &Value {
    match r {
        Relation::Unknown => &n.unknown,
        Relation::Own => &n.own,
        Relation::Other => &n.other,
        Relation::Granted => &n.granted,
    }
}

fn key_status(n: &Names, s: KeyStatus) -> &Value {
    match s {
        KeyStatus::Unknown => &n.unknown,
        KeyStatus::Active => &n.active,
        KeyStatus::Inactive => &n.inactive,
        KeyStatus::Deleted => &n.deleted,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::enrich::{Enricher, OwnershipSettings};
    use crate::event::Detail;

    /// Every fixture event that exercises the host, enriched: HTTP and DB events of every
    /// recorded source, key lifecycles and inventories, gateway logs, hostile triggers.
    pub(crate) fn fixture_events() -> Vec<Event> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let inputs: Vec<std::path::PathBuf> = [
            "recorded/bola/app.har",
            "recorded/bola/app-wire.jsonl",
            "recorded/bola/app-otlp.json",
            "recorded/toctou/cloudtrail.json",
            "recorded/docs-express/app.har",
            "recorded/docs-express/app-otlp.json",
            "recorded/docs-express/app-requests.jsonl",
            "recorded/docs-express/dynamodb.har",
            "recorded/docs-express/cloudtrail.json",
            "cloudtrail/stale-keys.json",
            "cloudtrail/key-lifecycle.json",
            "inventory/keys.json",
            "inventory/changes.csv",
            "recorded/app.har",
            "gateway/apigw-access.jsonl",
            "gateway/apigw-downscoped.jsonl",
            "events/hostile-trigger.jsonl",
        ]
        .iter()
        .map(|f| root.join(f))
        .collect();
        let mut stream =
            crate::ingest::open(&inputs, &crate::IngestOptions::default()).expect("fixtures open");
        let settings = OwnershipSettings {
            admins: vec!["admin".into()],
            ..OwnershipSettings::default()
        };
        Enricher::new(&settings).wrap(stream.by_ref()).collect()
    }

    /// Each fixture event, and copies of it that differ in what the built-in rules' `where`
    /// tests: outcome, privilege, condition, link to a request.
    pub(crate) fn variants(events: &[Event]) -> Vec<Event> {
        let mut out = Vec::new();
        for e in events {
            let mut copies = vec![e.clone()];
            let mut c = e.clone();
            c.outcome = if e.outcome == Outcome::Success {
                Outcome::Denied
            } else {
                Outcome::Success
            };
            copies.push(c);
            let mut c = e.clone();
            c.facts.privileged = !e.facts.privileged;
            copies.push(c);
            if let Detail::DbOperation(d) = &e.detail {
                let mut c = e.clone();
                let mut d = d.clone();
                d.has_condition = !d.has_condition;
                c.detail = Detail::DbOperation(d);
                copies.push(c);
            }
            let mut c = e.clone();
            c.correlation.linked_event = if e.correlation.linked_event.is_empty() {
                "http:1".into()
            } else {
                Default::default()
            };
            copies.push(c);
            let mut c = e.clone();
            c.correlation.app_request_id = if e.correlation.app_request_id.is_empty() {
                "req-1".into()
            } else {
                Default::default()
            };
            copies.push(c);
            for (i, mut c) in copies.into_iter().enumerate() {
                c.id = format!("{}~v{i}", c.id).as_str().into();
                out.push(c);
            }
        }
        out
    }

    /// Every fixture event, enriched, is the same value built directly as printed and parsed.
    #[test]
    fn values_have_the_json_forms_shape() {
        let events = fixture_events();
        assert!(events.len() > 300, "{}", events.len());
        assert!(events.iter().any(|e| e.facts.key.is_some()));
        assert!(events.iter().any(|e| !e.facts.objects.is_empty()));
        for chunk in events.chunks(64) {
            let refs: Vec<&Event> = chunk.iter().collect();
            let json = serde_json::to_string(&serde_json::json!({ "events": refs }))
                .expect("events print");
            let parsed = Value::from_json_str(&json).expect("events parse");
            let built = input(
                chunk
                    .iter()
                    .map(|e| SharedValue::default().get(e, &Reads::All).clone())
                    .collect(),
            );
            assert_eq!(built, parsed);
        }
    }

    /// A shared value is made once: later readers get the first conversion.
    #[test]
    fn a_shared_value_is_converted_once() {
        let events = fixture_events();
        let (Some(a), Some(b)) = (events.first(), events.get(1)) else {
            panic!("fixture events")
        };
        let slot = SharedValue::default();
        let first = slot.get(a, &Reads::All).clone();
        assert_eq!(slot.get(b, &Reads::All), &first);
    }
}
