//! The WASM batch round trip: what the host's encoder writes, decoded as the SDK decodes it for a
//! rule, must be the engine's event, field by field.

use std::collections::HashSet;
use std::fmt::Debug;

use tracewarden::event::{self, Detail, Event, SmolStr};
use tracewarden::fuzzing::Batch;
use tracewarden_sdk as sdk;

/// The batch's string table is well formed (index 0 is the empty string, offsets ascend to the end
/// of the blob on character boundaries, every string once) and its events, decoded as a rule
/// sees them, are `events`.
pub fn assert_batch(batch: &Batch, events: &[Event]) {
    let offsets = &batch.offsets;
    assert!(
        offsets.first() == Some(&0) && offsets.get(1) == Some(&0),
        "string 0 is the empty string: {:?}",
        offsets.get(..2)
    );
    assert_eq!(
        offsets.last().map(|&o| o as usize),
        Some(batch.strings.len()),
        "the offsets end at the blob's end"
    );
    let mut seen = HashSet::new();
    for pair in offsets.windows(2).skip(1) {
        if let [start, end] = pair {
            let s = batch
                .strings
                .get(*start as usize..*end as usize)
                .unwrap_or_else(|| panic!("string {start}..{end} is not text of the blob"));
            assert!(!s.is_empty(), "only string 0 is empty");
            assert!(seen.insert(s), "`{s}` is in the table twice");
        }
    }
    let strings = sdk::__private::batch_strings(batch);
    let decoded: Vec<sdk::Event<'_>> = sdk::__private::batch_events(batch, &strings).collect();
    assert_eq!(decoded.len(), events.len(), "one view per event");
    for (e, v) in events.iter().zip(&decoded) {
        assert_same_event(e, v);
    }
}

/// Whether an engine enum value and an SDK (wit-bindgen) one are the same case: their `Debug`
/// forms are `Case` and `Type::Case`.
fn same_case(engine: impl Debug, guest: impl Debug) -> bool {
    let guest = format!("{guest:?}");
    guest.rsplit("::").next() == Some(format!("{engine:?}").as_str())
}

fn pairs<'a>(map: impl IntoIterator<Item = (&'a SmolStr, &'a SmolStr)>) -> Vec<(&'a str, &'a str)> {
    map.into_iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn names(list: &[SmolStr]) -> Vec<(&str, &str)> {
    list.iter().map(|s| (s.as_str(), "")).collect()
}

/// Asserts that `v`, a view decoded from a batch, shows every field of `e`.
pub fn assert_same_event(e: &Event, v: &sdk::Event<'_>) {
    let id = &e.id;
    macro_rules! same {
        ($view:expr, $engine:expr) => {
            assert_eq!($view, $engine, "`{id}`: {}", stringify!($engine))
        };
    }
    macro_rules! same_case {
        ($view:expr, $engine:expr) => {
            assert!(
                same_case($engine, $view),
                "`{id}`: {} is {:?}, decoded {:?}",
                stringify!($engine),
                $engine,
                $view
            )
        };
    }
    same!(v.id, e.id);
    same!(v.time_ns, e.time_ns);
    same!(v.precision_ns, e.precision_ns);
    same!(v.source.file, e.source.file);
    same!(v.source.record, e.source.record);
    same!(v.source.line, e.source.line.unwrap_or(0));
    same!(v.source.format, e.source.format);
    same!(v.actor.principal, e.actor.principal);
    same!(v.actor.key_id, e.actor.key_id);
    same!(v.actor.tenant, e.actor.tenant);
    same!(v.actor.ip, e.actor.ip);
    same!(v.actor.user_agent, e.actor.user_agent);
    same!(v.actor.session, e.actor.session);
    same!(v.correlation.trace_id, e.correlation.trace_id);
    same!(v.correlation.span_id, e.correlation.span_id);
    same!(v.correlation.parent_span_id, e.correlation.parent_span_id);
    same!(v.correlation.request_id, e.correlation.request_id);
    same!(v.correlation.app_request_id, e.correlation.app_request_id);
    same!(v.correlation.linked_event, e.correlation.linked_event);
    same_case!(v.correlation.link, e.correlation.link);
    same_case!(v.outcome, e.outcome);
    same!(
        v.attributes.iter().collect::<Vec<_>>(),
        pairs(&e.attributes)
    );
    match (&e.detail, &v.detail) {
        (Detail::Http(h), sdk::Detail::Http(w)) => {
            same!(w.method, h.method);
            same!(w.path, h.path);
            same!(w.route, h.route);
            same!(w.status, h.status);
            same!(w.duration_ns, h.duration_ns);
            same!(w.query, h.query);
            same!(w.params.iter().collect::<Vec<_>>(), pairs(&h.params));
            let returned: Vec<(&str, &str)> = h
                .returned_ids
                .iter()
                .map(|n| (n.name.as_str(), n.value.as_str()))
                .collect();
            same!(w.returned_ids.iter().collect::<Vec<_>>(), returned);
        }
        (Detail::DbOperation(d), sdk::Detail::Db(w)) => {
            same!(w.service, d.service);
            same!(w.operation, d.operation);
            same!(w.table, d.table);
            same!(w.key.iter().collect::<Vec<_>>(), pairs(&d.key));
            same!(w.has_condition, d.has_condition);
            same!(w.condition, d.condition);
            same!(w.update_expression, d.update_expression);
            same!(w.consistent_read, d.consistent_read);
            same!(w.index_name, d.index_name);
            same!(w.group_id, d.group_id);
            same!(w.is_write, d.is_write);
            same!(w.error_code, d.error_code);
        }
        (Detail::KeyLifecycle(k), sdk::Detail::Key(w)) => {
            same_case!(w.action, k.action);
            same!(w.key_id, k.key_id);
            same!(w.owner, k.owner);
            same!(w.scopes.iter().collect::<Vec<_>>(), names(&k.scopes));
            same!(w.parent_key_id, k.parent_key_id);
        }
        (Detail::AuthDecision(a), sdk::Detail::Auth(w)) => {
            same!(w.allowed, a.allowed);
            same!(w.action, a.action);
            same!(w.resource, a.resource);
            same!(w.policy, a.policy);
        }
        (engine, view) => panic!("`{id}`: a {:?} event decoded as {view:?}", engine),
    }
    let facts = &v.facts;
    same!(facts.objects.len(), e.facts.objects.len());
    for (o, w) in e.facts.objects.iter().zip(facts.objects.iter()) {
        assert_same_object(id, o, &w);
    }
    same!(facts.privileged, e.facts.privileged);
    same!(facts.request_method, e.facts.request_method);
    same!(facts.request_route, e.facts.request_route);
    match (&e.facts.key, &facts.key) {
        (None, None) => {}
        (Some(k), Some(w)) => {
            same!(w.key_id, k.key_id);
            same_case!(w.status, k.status);
            same!(w.owner, k.owner);
            same!(w.created_ns, k.created_ns);
            same!(w.revoked_ns, k.revoked_ns);
            same!(w.revoked_event, k.revoked_event);
            same!(w.revoked_event_source, k.revoked_event_source);
            same!(w.scopes.iter().collect::<Vec<_>>(), names(&k.scopes));
            same!(w.scopes_known, k.scopes_known);
            same!(
                w.removed_scopes.iter().collect::<Vec<_>>(),
                names(&k.removed_scopes)
            );
            same!(w.scope_changed_ns, k.scope_changed_ns);
            same!(w.scope_event, k.scope_event);
            same!(w.scope_event_source, k.scope_event_source);
            same!(w.last_used_ns, k.last_used_ns);
            same!(w.parent_key_id, k.parent_key_id);
            same!(w.issued_ns, k.issued_ns);
            same!(w.parent_revoked_ns, k.parent_revoked_ns);
            same!(w.parent_revoked_event, k.parent_revoked_event);
            same!(w.parent_revoked_event_source, k.parent_revoked_event_source);
        }
        (engine, view) => panic!("`{id}`: key fact {engine:?} decoded as {view:?}"),
    }
}

fn assert_same_object(id: &str, o: &event::ObjectFact, w: &sdk::ObjectFact<'_>) {
    macro_rules! same {
        ($view:expr, $engine:expr) => {
            assert_eq!($view, $engine, "`{id}`: {}", stringify!($engine))
        };
    }
    same!(w.collection, o.collection);
    same!(w.id, o.id);
    same!(w.owner, o.owner);
    same!(w.owner_tenant, o.owner_tenant);
    assert!(
        same_case(o.owner_source, w.owner_source),
        "`{id}`: owner source"
    );
    same!(w.owner_event, o.owner_event);
    same!(w.owner_event_source, o.owner_event_source);
    assert!(same_case(o.relation, w.relation), "`{id}`: relation");
    same!(w.known, o.known);
    same!(w.scoped, o.scoped);
    same!(w.owner_condition, o.owner_condition);
}
