//! Events as regorus values, built directly instead of printing JSON and parsing it back: the
//! same shape as the event's JSON form (`event::to_json`, what `tracewarden normalize` prints),
//! with field names allocated once per session and shared by every event.

use std::collections::BTreeMap;

use regorus::Value;

use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Http, KeyFact,
    KeyLifecycle, KeyStatus, LinkMethod, ObjectFact, Outcome, OwnerSource, Relation, SourceRef,
};

/// Field names and enum names as values, made once.
pub(crate) struct Names {
    names: BTreeMap<&'static str, Value>,
}

const FIELDS: &[&str] = &[
    "id",
    "time_ns",
    "precision_ns",
    "source",
    "file",
    "record",
    "line",
    "format",
    "actor",
    "principal",
    "key_id",
    "tenant",
    "ip",
    "user_agent",
    "session",
    "correlation",
    "trace_id",
    "span_id",
    "parent_span_id",
    "request_id",
    "app_request_id",
    "linked_event",
    "link",
    "outcome",
    "http",
    "db_operation",
    "key_lifecycle",
    "auth_decision",
    "attributes",
    "facts",
    "method",
    "path",
    "route",
    "status",
    "duration_ns",
    "query",
    "params",
    "returned_ids",
    "name",
    "value",
    "service",
    "operation",
    "table",
    "key",
    "has_condition",
    "condition",
    "update_expression",
    "consistent_read",
    "index_name",
    "group_id",
    "is_write",
    "error_code",
    "action",
    "owner",
    "scopes",
    "parent_key_id",
    "allowed",
    "resource",
    "policy",
    "objects",
    "privileged",
    "request_method",
    "request_route",
    "collection",
    "owner_tenant",
    "owner_source",
    "owner_event",
    "owner_event_source",
    "relation",
    "known",
    "scoped",
    "owner_condition",
    "created_ns",
    "revoked_ns",
    "revoked_event",
    "revoked_event_source",
    "scopes_known",
    "removed_scopes",
    "scope_changed_ns",
    "scope_event",
    "scope_event_source",
    "last_used_ns",
    "issued_ns",
    "parent_revoked_ns",
    "parent_revoked_event",
    "parent_revoked_event_source",
    "events",
    // enum names
    "success",
    "denied",
    "not_found",
    "conflict",
    "throttled",
    "error",
    "unknown",
    "none",
    "trace_id",
    "aws_request_id",
    "request_header",
    "principal_window",
    "created",
    "activated",
    "deactivated",
    "deleted",
    "rotated",
    "scope_changed",
    "key_prefix",
    "key_attribute",
    "creator",
    "mapping",
    "public",
    "own",
    "other",
    "active",
    "inactive",
];

impl Names {
    pub(crate) fn new() -> Self {
        Names {
            names: FIELDS.iter().map(|n| (*n, Value::from(*n))).collect(),
        }
    }

    fn get(&self, name: &'static str) -> Value {
        self.names
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::from(name))
    }

    /// `{"events": [...]}`.
    pub(crate) fn input(&self, events: &[&Event]) -> Value {
        let list: Vec<Value> = events.iter().map(|e| self.event(e)).collect();
        let mut o = BTreeMap::new();
        o.insert(self.get("events"), Value::from(list));
        Value::from(o)
    }

    fn event(&self, e: &Event) -> Value {
        let mut o = Obj::new(self);
        o.text("id", &e.id);
        o.int("time_ns", e.time_ns);
        o.uint("precision_ns", e.precision_ns);
        o.set("source", self.source(&e.source));
        o.set("actor", self.actor(&e.actor));
        o.set("correlation", self.correlation(&e.correlation));
        o.name("outcome", outcome(e.outcome));
        match &e.detail {
            Detail::Http(h) => o.set("http", self.http(h)),
            Detail::DbOperation(d) => o.set("db_operation", self.db(d)),
            Detail::KeyLifecycle(k) => o.set("key_lifecycle", self.key_lifecycle(k)),
            Detail::AuthDecision(a) => o.set("auth_decision", self.auth(a)),
        }
        if !e.attributes.is_empty() {
            o.set("attributes", map(&e.attributes));
        }
        if !e.facts.is_empty() {
            o.set("facts", self.facts(&e.facts));
        }
        o.done()
    }

    fn source(&self, s: &SourceRef) -> Value {
        let mut o = Obj::new(self);
        o.text("file", &s.file);
        o.uint("record", s.record);
        if let Some(line) = s.line {
            o.uint("line", line);
        }
        o.text("format", &s.format);
        o.done()
    }

    fn actor(&self, a: &Actor) -> Value {
        let mut o = Obj::new(self);
        o.opt("principal", &a.principal);
        o.opt("key_id", &a.key_id);
        o.opt("tenant", &a.tenant);
        o.opt("ip", &a.ip);
        o.opt("user_agent", &a.user_agent);
        o.opt("session", &a.session);
        o.done()
    }

    fn correlation(&self, c: &Correlation) -> Value {
        let mut o = Obj::new(self);
        o.opt("trace_id", &c.trace_id);
        o.opt("span_id", &c.span_id);
        o.opt("parent_span_id", &c.parent_span_id);
        o.opt("request_id", &c.request_id);
        o.opt("app_request_id", &c.app_request_id);
        o.opt("linked_event", &c.linked_event);
        if c.link != LinkMethod::None {
            o.name("link", link(c.link));
        }
        o.done()
    }

    fn http(&self, h: &Http) -> Value {
        let mut o = Obj::new(self);
        o.text("method", &h.method);
        o.text("path", &h.path);
        o.opt("route", &h.route);
        o.uint("status", u64::from(h.status));
        if h.duration_ns != 0 {
            o.uint("duration_ns", h.duration_ns);
        }
        o.opt("query", &h.query);
        if !h.params.is_empty() {
            o.set("params", map(&h.params));
        }
        if !h.returned_ids.is_empty() {
            let ids = h
                .returned_ids
                .iter()
                .map(|n| {
                    let mut i = Obj::new(self);
                    i.text("name", &n.name);
                    i.text("value", &n.value);
                    i.done()
                })
                .collect::<Vec<_>>();
            o.set("returned_ids", Value::from(ids));
        }
        o.done()
    }

    fn db(&self, d: &DbOperation) -> Value {
        let mut o = Obj::new(self);
        o.text("service", &d.service);
        o.text("operation", &d.operation);
        o.text("table", &d.table);
        if !d.key.is_empty() {
            o.set("key", map(&d.key));
        }
        o.set("has_condition", Value::from(d.has_condition));
        o.opt("condition", &d.condition);
        o.opt("update_expression", &d.update_expression);
        if let Some(c) = d.consistent_read {
            o.set("consistent_read", Value::from(c));
        }
        o.opt("index_name", &d.index_name);
        o.opt("group_id", &d.group_id);
        o.set("is_write", Value::from(d.is_write));
        o.opt("error_code", &d.error_code);
        o.done()
    }

    fn key_lifecycle(&self, k: &KeyLifecycle) -> Value {
        let mut o = Obj::new(self);
        o.name("action", k.action.as_str());
        o.text("key_id", &k.key_id);
        o.opt("owner", &k.owner);
        o.list("scopes", &k.scopes);
        o.opt("parent_key_id", &k.parent_key_id);
        o.done()
    }

    fn auth(&self, a: &AuthDecision) -> Value {
        let mut o = Obj::new(self);
        o.set("allowed", Value::from(a.allowed));
        o.text("action", &a.action);
        o.text("resource", &a.resource);
        o.opt("policy", &a.policy);
        o.done()
    }

    fn facts(&self, f: &Facts) -> Value {
        let mut o = Obj::new(self);
        if !f.objects.is_empty() {
            let objects = f.objects.iter().map(|x| self.object(x)).collect::<Vec<_>>();
            o.set("objects", Value::from(objects));
        }
        o.flag("privileged", f.privileged);
        if let Some(k) = &f.key {
            o.set("key", self.key_fact(k));
        }
        o.opt("request_method", &f.request_method);
        o.opt("request_route", &f.request_route);
        o.done()
    }

    fn object(&self, x: &ObjectFact) -> Value {
        let mut o = Obj::new(self);
        o.text("collection", &x.collection);
        o.text("id", &x.id);
        o.opt("owner", &x.owner);
        o.opt("owner_tenant", &x.owner_tenant);
        o.name("owner_source", owner_source(x.owner_source));
        o.opt("owner_event", &x.owner_event);
        o.opt("owner_event_source", &x.owner_event_source);
        o.name("relation", relation(x.relation));
        o.flag("known", x.known);
        o.flag("scoped", x.scoped);
        o.flag("owner_condition", x.owner_condition);
        o.done()
    }

    fn key_fact(&self, k: &KeyFact) -> Value {
        let mut o = Obj::new(self);
        o.text("key_id", &k.key_id);
        o.name("status", key_status(k.status));
        o.opt("owner", &k.owner);
        o.nonzero("created_ns", k.created_ns);
        o.nonzero("revoked_ns", k.revoked_ns);
        o.opt("revoked_event", &k.revoked_event);
        o.opt("revoked_event_source", &k.revoked_event_source);
        o.list("scopes", &k.scopes);
        o.flag("scopes_known", k.scopes_known);
        o.list("removed_scopes", &k.removed_scopes);
        o.nonzero("scope_changed_ns", k.scope_changed_ns);
        o.opt("scope_event", &k.scope_event);
        o.opt("scope_event_source", &k.scope_event_source);
        o.nonzero("last_used_ns", k.last_used_ns);
        o.opt("parent_key_id", &k.parent_key_id);
        o.nonzero("issued_ns", k.issued_ns);
        o.nonzero("parent_revoked_ns", k.parent_revoked_ns);
        o.opt("parent_revoked_event", &k.parent_revoked_event);
        o.opt(
            "parent_revoked_event_source",
            &k.parent_revoked_event_source,
        );
        o.done()
    }
}

/// An object being built, with the rules of the JSON form: empty strings, `false`, zeros and
/// empty lists where the JSON form omits them are left out.
struct Obj<'n> {
    names: &'n Names,
    map: BTreeMap<Value, Value>,
}

impl<'n> Obj<'n> {
    fn new(names: &'n Names) -> Self {
        Obj {
            names,
            map: BTreeMap::new(),
        }
    }

    fn set(&mut self, name: &'static str, value: Value) {
        self.map.insert(self.names.get(name), value);
    }

    fn text(&mut self, name: &'static str, value: &str) {
        self.set(name, Value::from(value));
    }

    fn opt(&mut self, name: &'static str, value: &str) {
        if !value.is_empty() {
            self.text(name, value);
        }
    }

    fn name(&mut self, name: &'static str, value: &'static str) {
        let v = self.names.get(value);
        self.set(name, v);
    }

    fn int(&mut self, name: &'static str, value: i64) {
        self.set(name, Value::from(value));
    }

    fn uint(&mut self, name: &'static str, value: u64) {
        self.set(name, Value::from(value));
    }

    fn nonzero(&mut self, name: &'static str, value: i64) {
        if value != 0 {
            self.int(name, value);
        }
    }

    fn flag(&mut self, name: &'static str, value: bool) {
        if value {
            self.set(name, Value::from(true));
        }
    }

    fn list(&mut self, name: &'static str, values: &[crate::event::SmolStr]) {
        if !values.is_empty() {
            let list = values
                .iter()
                .map(|v| Value::from(v.as_str()))
                .collect::<Vec<_>>();
            self.set(name, Value::from(list));
        }
    }

    fn done(self) -> Value {
        Value::from(self.map)
    }
}

fn map(m: &crate::event::Fields) -> Value {
    Value::from(
        m.iter()
            .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
            .collect::<BTreeMap<_, _>>(),
    )
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

fn owner_source(s: OwnerSource) -> &'static str {
    match s {
        OwnerSource::Unknown => "unknown",
        OwnerSource::Path => "path",
        OwnerSource::KeyPrefix => "key_prefix",
        OwnerSource::KeyAttribute => "key_attribute",
        OwnerSource::Creator => "creator",
        OwnerSource::Condition => "condition",
        OwnerSource::Mapping => "mapping",
        OwnerSource::Public => "public",
        OwnerSource::Transfer => "transfer",
    }
}

fn relation(r: Relation) -> &'static str {
    match r {
        Relation::Unknown => "unknown",
        Relation::Own => "own",
        Relation::Other => "other",
        Relation::Granted => "granted",
    }
}

fn key_status(s: KeyStatus) -> &'static str {
    match s {
        KeyStatus::Unknown => "unknown",
        KeyStatus::Active => "active",
        KeyStatus::Inactive => "inactive",
        KeyStatus::Deleted => "deleted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{Enricher, OwnershipSettings};

    /// Every fixture event, enriched, is the same value built directly as printed and parsed.
    #[test]
    fn values_have_the_json_forms_shape() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let inputs: Vec<std::path::PathBuf> = [
            "recorded/bola/app.har",
            "recorded/bola/app-wire.jsonl",
            "recorded/bola/app-otlp.json",
            "recorded/toctou/cloudtrail.json",
            "cloudtrail/stale-keys.json",
            "cloudtrail/key-lifecycle.json",
            "inventory/keys.json",
            "gateway/apigw-access.jsonl",
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
        let events: Vec<Event> = Enricher::new(&settings).wrap(stream.by_ref()).collect();
        assert!(events.len() > 300, "{}", events.len());
        assert!(events.iter().any(|e| e.facts.key.is_some()));
        assert!(events.iter().any(|e| !e.facts.objects.is_empty()));
        let names = Names::new();
        for chunk in events.chunks(64) {
            let refs: Vec<&Event> = chunk.iter().collect();
            let json = serde_json::to_string(&serde_json::json!({ "events": refs }))
                .expect("events print");
            let parsed = Value::from_json_str(&json).expect("events parse");
            assert_eq!(names.input(&refs), parsed);
        }
    }
}
