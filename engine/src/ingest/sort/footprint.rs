//! What an event held in a run costs in memory: its box, and every allocation its fields own
//! (strings too long to be inline, map entries, lists), each with an allocator's header. An
//! estimate from the shapes of the types, not a measurement; it errs high (a string shared with
//! other events counts as this event's), except for `source.file`, which the readers share
//! between every event of an input.
//!
//! Each struct is taken apart whole, as in [`super::codec`], so a field added to an event does not
//! compile until it is counted here.

use std::mem::size_of;

use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Fields, Http, KeyFact,
    KeyLifecycle, NamedId, ObjectFact, SmolStr, SourceRef,
};

/// An allocator's bookkeeping per allocation, rounded up.
const HEADER: usize = 16;

/// An entry of a map: a name and a value.
const MAP_ENTRY: usize = 2 * size_of::<SmolStr>();

/// The bytes `event` holds, boxed.
pub(super) fn of(event: &Event) -> usize {
    let Event {
        id,
        time_ns: _,
        precision_ns: _,
        source,
        actor,
        correlation,
        outcome: _,
        detail,
        attributes,
        facts,
    } = event;
    // `file` is shared by the input's events; `format` is a static name.
    let SourceRef {
        file: _,
        record: _,
        line: _,
        format,
    } = source;
    let Actor {
        principal,
        key_id,
        tenant,
        ip,
        user_agent,
        session,
    } = actor;
    let Correlation {
        trace_id,
        span_id,
        parent_span_id,
        request_id,
        app_request_id,
        linked_event,
        link: _,
    } = correlation;
    size_of::<Event>()
        + HEADER
        + strings([
            id,
            format,
            principal,
            key_id,
            tenant,
            ip,
            user_agent,
            session,
            trace_id,
            span_id,
            parent_span_id,
            request_id,
            app_request_id,
            linked_event,
        ])
        + self::detail(detail)
        + map(attributes)
        + self::facts(facts)
}

fn detail(detail: &Detail) -> usize {
    match detail {
        Detail::Http(Http {
            method,
            path,
            route,
            status: _,
            duration_ns: _,
            query,
            params,
            returned_ids,
        }) => {
            strings([method, path, route, query])
                + map(params)
                + list(returned_ids, |NamedId { name, value }| {
                    strings([name, value])
                })
        }
        Detail::DbOperation(DbOperation {
            service,
            operation,
            table,
            key,
            has_condition: _,
            condition,
            update_expression,
            consistent_read: _,
            index_name,
            group_id,
            is_write: _,
            error_code,
        }) => {
            strings([
                service,
                operation,
                table,
                condition,
                update_expression,
                index_name,
                group_id,
                error_code,
            ]) + map(key)
        }
        Detail::KeyLifecycle(KeyLifecycle {
            action: _,
            key_id,
            owner,
            scopes,
            parent_key_id,
        }) => strings([key_id, owner, parent_key_id]) + list(scopes, string),
        Detail::AuthDecision(AuthDecision {
            allowed: _,
            action,
            resource,
            policy,
        }) => strings([action, resource, policy]),
    }
}

fn facts(facts: &Facts) -> usize {
    let Facts {
        objects,
        privileged: _,
        key,
        request_method,
        request_route,
    } = facts;
    list(objects, object)
        + key.as_deref().map_or(0, key_fact)
        + strings([request_method, request_route])
}

fn object(o: &ObjectFact) -> usize {
    let ObjectFact {
        collection,
        id,
        owner,
        owner_tenant,
        owner_source: _,
        owner_event,
        owner_event_source,
        relation: _,
        known: _,
        scoped: _,
        owner_condition: _,
    } = o;
    strings([
        collection,
        id,
        owner,
        owner_tenant,
        owner_event,
        owner_event_source,
    ])
}

fn key_fact(k: &KeyFact) -> usize {
    let KeyFact {
        key_id,
        status: _,
        owner,
        created_ns: _,
        revoked_ns: _,
        revoked_event,
        revoked_event_source,
        scopes,
        scopes_known: _,
        removed_scopes,
        scope_changed_ns: _,
        scope_event,
        scope_event_source,
        last_used_ns: _,
        parent_key_id,
        issued_ns: _,
        parent_revoked_ns: _,
        parent_revoked_event,
        parent_revoked_event_source,
    } = k;
    size_of::<KeyFact>()
        + HEADER
        + strings([
            key_id,
            owner,
            revoked_event,
            revoked_event_source,
            scope_event,
            scope_event_source,
            parent_key_id,
            parent_revoked_event,
            parent_revoked_event_source,
        ])
        + list(scopes, string)
        + list(removed_scopes, string)
}

/// A string's own allocation: none when it is inline or static.
fn string(s: &SmolStr) -> usize {
    if s.is_heap_allocated() {
        // An `Arc<str>`: two counts, then the bytes.
        HEADER + 16 + s.len()
    } else {
        0
    }
}

fn strings<const N: usize>(s: [&SmolStr; N]) -> usize {
    s.into_iter().map(string).sum()
}

/// A map's vector, at the capacity pushing its entries one by one leaves (at least four, then
/// doubling), and its strings.
fn map(m: &Fields) -> usize {
    if m.is_empty() {
        return 0;
    }
    HEADER
        + m.len().next_power_of_two().max(4) * MAP_ENTRY
        + m.iter().map(|(k, v)| string(k) + string(v)).sum::<usize>()
}

fn list<T>(items: &[T], each: impl Fn(&T) -> usize) -> usize {
    if items.is_empty() {
        0
    } else {
        HEADER + std::mem::size_of_val(items) + items.iter().map(each).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_call_counts_its_box_its_long_strings_and_its_maps() {
        let long = "arn:aws:iam::123456789012:user/alice";
        let e = Event {
            id: "ct:0b6c2c54-8c8e-4b7a-9a55-8f1d0c1e2f3a".into(),
            time_ns: 0,
            precision_ns: 1,
            source: SourceRef {
                file: "a/long/path/to/a/cloudtrail/log/file.json".into(),
                record: 1,
                line: None,
                format: "cloudtrail".into(),
            },
            actor: Actor {
                principal: long.into(),
                ..Actor::default()
            },
            correlation: Correlation::default(),
            outcome: crate::event::Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                table: "orders".into(),
                key: Fields::from_iter([("pk".into(), "o-1".into())]),
                ..DbOperation::default()
            }),
            attributes: Fields::new(),
            facts: Facts::default(),
        };
        let arc = |s: &str| HEADER + 16 + s.len();
        assert_eq!(
            of(&e),
            size_of::<Event>() + HEADER + arc(&e.id) + arc(long) + HEADER + 4 * MAP_ENTRY
        );
        // Past four entries, a map counts the capacity doubling leaves.
        let big: Fields = (0..5)
            .map(|i| (format!("k{i}").into(), SmolStr::default()))
            .collect();
        assert_eq!(map(&big), HEADER + 8 * MAP_ENTRY);
    }
}
