//! The sorter's record format: a keyed event as compact bytes ([`crate::bytes`]), in memory
//! while its run is collected and in the run's temporary file once spilled. Every field in
//! declaration order; strings are read as `&str` and built with `From<&str>`, whatever string
//! type the event keeps them in.
//!
//! `serde` formats were measured against this one (`docs/architecture.md`, 2026-12-02): the
//! event's flattened `detail` and skipped empty fields need a self-describing format, which
//! names every field in every record and buffers the flattened part before reading it.

use super::super::correlate::{Key, Pending};
use crate::bytes::{Damaged, Reader, Writer, codes};
use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Http, KeyAction, KeyFact,
    KeyLifecycle, KeyStatus, LinkMethod, NamedId, ObjectFact, Outcome, OwnerSource, Relation,
    SourceRef,
};

/// Appends the record of `event` at `key`, read from input `input`, to `out`.
pub(super) fn encode(key: Key, input: u32, event: &Event, out: &mut Vec<u8>) {
    let (time, read, seq, sub) = key;
    let mut w = Writer(out);
    w.int(time);
    w.uint(read.into());
    w.uint(seq);
    w.uint(sub.into());
    w.uint(input.into());
    w.event(event);
}

/// Reads back what [`encode`] wrote: all of `bytes`.
pub(super) fn decode(bytes: &[u8]) -> Result<Pending, Damaged> {
    let mut r = Reader(bytes);
    let key = (r.int()?, r.u32()?, r.uint()?, r.u32()?);
    let input = r.u32()?;
    let event = Box::new(r.event()?);
    r.end()?;
    Ok(Pending { key, input, event })
}

impl Writer<'_> {
    fn event(&mut self, e: &Event) {
        let Event {
            id,
            time_ns,
            precision_ns,
            source,
            actor,
            correlation,
            outcome,
            detail,
            attributes,
            facts,
        } = e;
        self.str(id);
        self.int(*time_ns);
        self.uint(*precision_ns);
        let SourceRef {
            file,
            record,
            line,
            format,
        } = source;
        self.str(file);
        self.uint(*record);
        self.opt_uint(*line);
        self.str(format);
        let Actor {
            principal,
            key_id,
            tenant,
            ip,
            user_agent,
            session,
        } = actor;
        for s in [principal, key_id, tenant, ip, user_agent, session] {
            self.str(s);
        }
        let Correlation {
            trace_id,
            span_id,
            parent_span_id,
            request_id,
            app_request_id,
            linked_event,
            link,
        } = correlation;
        for s in [
            trace_id,
            span_id,
            parent_span_id,
            request_id,
            app_request_id,
            linked_event,
        ] {
            self.str(s);
        }
        self.byte(link_code(*link));
        self.byte(outcome_code(*outcome));
        self.detail(detail);
        self.map(attributes.iter());
        self.facts(facts);
    }

    fn detail(&mut self, detail: &Detail) {
        match detail {
            Detail::Http(h) => {
                self.byte(0);
                let Http {
                    method,
                    path,
                    route,
                    status,
                    duration_ns,
                    query,
                    params,
                    returned_ids,
                } = h;
                self.str(method);
                self.str(path);
                self.str(route);
                self.uint((*status).into());
                self.uint(*duration_ns);
                self.str(query);
                self.map(params.iter());
                self.list(returned_ids, |w, NamedId { name, value }| {
                    w.str(name);
                    w.str(value);
                });
            }
            Detail::DbOperation(d) => {
                self.byte(1);
                let DbOperation {
                    service,
                    operation,
                    table,
                    key,
                    has_condition,
                    condition,
                    update_expression,
                    consistent_read,
                    index_name,
                    group_id,
                    is_write,
                    error_code,
                } = d;
                self.str(service);
                self.str(operation);
                self.str(table);
                self.map(key.iter());
                self.bool(*has_condition);
                self.str(condition);
                self.str(update_expression);
                self.byte(match consistent_read {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
                self.str(index_name);
                self.str(group_id);
                self.bool(*is_write);
                self.str(error_code);
            }
            Detail::KeyLifecycle(k) => {
                self.byte(2);
                let KeyLifecycle {
                    action,
                    key_id,
                    owner,
                    scopes,
                    parent_key_id,
                } = k;
                self.byte(key_action_code(*action));
                self.str(key_id);
                self.str(owner);
                self.strs(scopes);
                self.str(parent_key_id);
            }
            Detail::AuthDecision(a) => {
                self.byte(3);
                let AuthDecision {
                    allowed,
                    action,
                    resource,
                    policy,
                } = a;
                self.bool(*allowed);
                self.str(action);
                self.str(resource);
                self.str(policy);
            }
        }
    }

    fn facts(&mut self, facts: &Facts) {
        let Facts {
            objects,
            privileged,
            key,
            request_method,
            request_route,
        } = facts;
        self.list(objects, Writer::object);
        self.bool(*privileged);
        self.opt(key.as_deref(), Writer::key_fact);
        self.str(request_method);
        self.str(request_route);
    }

    fn object(&mut self, o: &ObjectFact) {
        let ObjectFact {
            collection,
            id,
            owner,
            owner_tenant,
            owner_source,
            owner_event,
            owner_event_source,
            relation,
            known,
            scoped,
            owner_condition,
        } = o;
        self.str(collection);
        self.str(id);
        self.str(owner);
        self.str(owner_tenant);
        self.byte(owner_source_code(*owner_source));
        self.str(owner_event);
        self.str(owner_event_source);
        self.byte(relation_code(*relation));
        self.bool(*known);
        self.bool(*scoped);
        self.bool(*owner_condition);
    }

    fn key_fact(&mut self, k: &KeyFact) {
        let KeyFact {
            key_id,
            status,
            owner,
            created_ns,
            revoked_ns,
            revoked_event,
            revoked_event_source,
            scopes,
            scopes_known,
            removed_scopes,
            scope_changed_ns,
            scope_event,
            scope_event_source,
            last_used_ns,
            parent_key_id,
            issued_ns,
            parent_revoked_ns,
            parent_revoked_event,
            parent_revoked_event_source,
        } = k;
        self.str(key_id);
        self.byte(key_status_code(*status));
        self.str(owner);
        self.int(*created_ns);
        self.int(*revoked_ns);
        self.str(revoked_event);
        self.str(revoked_event_source);
        self.strs(scopes);
        self.bool(*scopes_known);
        self.strs(removed_scopes);
        self.int(*scope_changed_ns);
        self.str(scope_event);
        self.str(scope_event_source);
        self.int(*last_used_ns);
        self.str(parent_key_id);
        self.int(*issued_ns);
        self.int(*parent_revoked_ns);
        self.str(parent_revoked_event);
        self.str(parent_revoked_event_source);
    }
}

impl Reader<'_> {
    fn event(&mut self) -> Result<Event, Damaged> {
        Ok(Event {
            id: self.string()?,
            time_ns: self.int()?,
            precision_ns: self.uint()?,
            source: SourceRef {
                file: self.string()?,
                record: self.uint()?,
                line: self.opt_uint()?,
                format: self.string()?,
            },
            actor: Actor {
                principal: self.string()?,
                key_id: self.string()?,
                tenant: self.string()?,
                ip: self.string()?,
                user_agent: self.string()?,
                session: self.string()?,
            },
            correlation: Correlation {
                trace_id: self.string()?,
                span_id: self.string()?,
                parent_span_id: self.string()?,
                request_id: self.string()?,
                app_request_id: self.string()?,
                linked_event: self.string()?,
                link: link_of(self.byte()?)?,
            },
            outcome: outcome_of(self.byte()?)?,
            detail: self.detail()?,
            attributes: self.map()?,
            facts: self.facts()?,
        })
    }

    fn detail(&mut self) -> Result<Detail, Damaged> {
        Ok(match self.byte()? {
            0 => Detail::Http(Http {
                method: self.string()?,
                path: self.string()?,
                route: self.string()?,
                status: u16::try_from(self.uint()?)
                    .map_err(|_| Damaged("an HTTP status out of range"))?,
                duration_ns: self.uint()?,
                query: self.string()?,
                params: self.map()?,
                returned_ids: self.list(|r| {
                    Ok(NamedId {
                        name: r.string()?,
                        value: r.string()?,
                    })
                })?,
            }),
            1 => Detail::DbOperation(DbOperation {
                service: self.string()?,
                operation: self.string()?,
                table: self.string()?,
                key: self.map()?,
                has_condition: self.bool()?,
                condition: self.string()?,
                update_expression: self.string()?,
                consistent_read: match self.byte()? {
                    0 => None,
                    1 => Some(false),
                    2 => Some(true),
                    _ => return Err(Damaged("an unknown consistent-read tag")),
                },
                index_name: self.string()?,
                group_id: self.string()?,
                is_write: self.bool()?,
                error_code: self.string()?,
            }),
            2 => Detail::KeyLifecycle(KeyLifecycle {
                action: key_action_of(self.byte()?)?,
                key_id: self.string()?,
                owner: self.string()?,
                scopes: self.strs()?,
                parent_key_id: self.string()?,
            }),
            3 => Detail::AuthDecision(AuthDecision {
                allowed: self.bool()?,
                action: self.string()?,
                resource: self.string()?,
                policy: self.string()?,
            }),
            _ => return Err(Damaged("an unknown event kind")),
        })
    }

    fn facts(&mut self) -> Result<Facts, Damaged> {
        Ok(Facts {
            objects: self.list(Reader::object)?,
            privileged: self.bool()?,
            key: self.opt(|r| r.key_fact().map(Box::new))?,
            request_method: self.string()?,
            request_route: self.string()?,
        })
    }

    fn object(&mut self) -> Result<ObjectFact, Damaged> {
        Ok(ObjectFact {
            collection: self.string()?,
            id: self.string()?,
            owner: self.string()?,
            owner_tenant: self.string()?,
            owner_source: owner_source_of(self.byte()?)?,
            owner_event: self.string()?,
            owner_event_source: self.string()?,
            relation: relation_of(self.byte()?)?,
            known: self.bool()?,
            scoped: self.bool()?,
            owner_condition: self.bool()?,
        })
    }

    fn key_fact(&mut self) -> Result<KeyFact, Damaged> {
        Ok(KeyFact {
            key_id: self.string()?,
            status: key_status_of(self.byte()?)?,
            owner: self.string()?,
            created_ns: self.int()?,
            revoked_ns: self.int()?,
            revoked_event: self.string()?,
            revoked_event_source: self.string()?,
            scopes: self.strs()?,
            scopes_known: self.bool()?,
            removed_scopes: self.strs()?,
            scope_changed_ns: self.int()?,
            scope_event: self.string()?,
            scope_event_source: self.string()?,
            last_used_ns: self.int()?,
            parent_key_id: self.string()?,
            issued_ns: self.int()?,
            parent_revoked_ns: self.int()?,
            parent_revoked_event: self.string()?,
            parent_revoked_event_source: self.string()?,
        })
    }
}

codes!(
    LinkMethod,
    link_code,
    link_of,
    "link method",
    [
        None = 0,
        TraceId = 1,
        AwsRequestId = 2,
        RequestHeader = 3,
        PrincipalWindow = 4,
    ]
);
codes!(
    Outcome,
    outcome_code,
    outcome_of,
    "outcome",
    [
        Success = 0,
        Denied = 1,
        NotFound = 2,
        Conflict = 3,
        Throttled = 4,
        Error = 5,
        Unknown = 6,
    ]
);
codes!(
    KeyAction,
    key_action_code,
    key_action_of,
    "key action",
    [
        Created = 0,
        Activated = 1,
        Deactivated = 2,
        Deleted = 3,
        Rotated = 4,
        ScopeChanged = 5,
    ]
);
codes!(
    KeyStatus,
    key_status_code,
    key_status_of,
    "key status",
    [Unknown = 0, Active = 1, Inactive = 2, Deleted = 3,]
);
codes!(
    OwnerSource,
    owner_source_code,
    owner_source_of,
    "owner source",
    [
        Unknown = 0,
        Path = 1,
        KeyPrefix = 2,
        KeyAttribute = 3,
        Creator = 4,
        Condition = 5,
        Mapping = 6,
        Public = 7,
        Transfer = 8,
    ]
);
codes!(
    Relation,
    relation_code,
    relation_of,
    "relation",
    [Unknown = 0, Own = 1, Other = 2, Granted = 3,]
);

#[cfg(test)]
mod tests {

    use super::*;
    use proptest::prelude::*;
    use smol_str::SmolStr;

    /// Builds events from pools of values a strategy drew, so that one strategy reaches every
    /// field, and shrinking shrinks the pools.
    struct Pools {
        strs: Vec<String>,
        nums: Vec<u64>,
        next: usize,
    }

    impl Pools {
        fn tick(&mut self) -> usize {
            self.next += 1;
            self.next
        }

        fn s(&mut self) -> String {
            let i = self.tick();
            self.strs[i % self.strs.len()].clone()
        }

        fn n(&mut self) -> u64 {
            let i = self.tick();
            self.nums[i % self.nums.len()]
        }

        fn i(&mut self) -> i64 {
            self.n() as i64
        }

        fn pick(&mut self, choices: u64) -> u64 {
            self.n() % choices
        }

        fn flag(&mut self) -> bool {
            self.pick(2) == 1
        }

        fn list(&mut self) -> Vec<SmolStr> {
            (0..self.pick(4)).map(|_| self.s().into()).collect()
        }

        fn map(&mut self) -> crate::event::Fields {
            (0..self.pick(4))
                .map(|_| (self.s().into(), self.s().into()))
                .collect()
        }

        fn event(&mut self) -> Event {
            Event {
                id: self.s().into(),
                time_ns: self.i(),
                precision_ns: self.n(),
                source: SourceRef {
                    file: self.s().into(),
                    record: self.n(),
                    line: self.flag().then(|| self.n()),
                    format: self.s().into(),
                },
                actor: Actor {
                    principal: self.s().into(),
                    key_id: self.s().into(),
                    tenant: self.s().into(),
                    ip: self.s().into(),
                    user_agent: self.s().into(),
                    session: self.s().into(),
                },
                correlation: Correlation {
                    trace_id: self.s().into(),
                    span_id: self.s().into(),
                    parent_span_id: self.s().into(),
                    request_id: self.s().into(),
                    app_request_id: self.s().into(),
                    linked_event: self.s().into(),
                    link: link_of(self.pick(5) as u8).unwrap(),
                },
                outcome: outcome_of(self.pick(7) as u8).unwrap(),
                detail: self.detail(),
                attributes: self.map(),
                facts: Facts {
                    objects: (0..self.pick(3)).map(|_| self.object()).collect(),
                    privileged: self.flag(),
                    key: self.flag().then(|| Box::new(self.key_fact())),
                    request_method: self.s().into(),
                    request_route: self.s().into(),
                },
            }
        }

        fn detail(&mut self) -> Detail {
            match self.pick(4) {
                0 => Detail::Http(Http {
                    method: self.s().into(),
                    path: self.s().into(),
                    route: self.s().into(),
                    status: self.n() as u16,
                    duration_ns: self.n(),
                    query: self.s().into(),
                    params: self.map(),
                    returned_ids: (0..self.pick(3))
                        .map(|_| NamedId {
                            name: self.s().into(),
                            value: self.s().into(),
                        })
                        .collect(),
                }),
                1 => Detail::DbOperation(DbOperation {
                    service: self.s().into(),
                    operation: self.s().into(),
                    table: self.s().into(),
                    key: self.map(),
                    has_condition: self.flag(),
                    condition: self.s().into(),
                    update_expression: self.s().into(),
                    consistent_read: self.flag().then(|| self.flag()),
                    index_name: self.s().into(),
                    group_id: self.s().into(),
                    is_write: self.flag(),
                    error_code: self.s().into(),
                }),
                2 => Detail::KeyLifecycle(KeyLifecycle {
                    action: key_action_of(self.pick(6) as u8).unwrap(),
                    key_id: self.s().into(),
                    owner: self.s().into(),
                    scopes: self.list(),
                    parent_key_id: self.s().into(),
                }),
                _ => Detail::AuthDecision(AuthDecision {
                    allowed: self.flag(),
                    action: self.s().into(),
                    resource: self.s().into(),
                    policy: self.s().into(),
                }),
            }
        }

        fn object(&mut self) -> ObjectFact {
            ObjectFact {
                collection: self.s().into(),
                id: self.s().into(),
                owner: self.s().into(),
                owner_tenant: self.s().into(),
                owner_source: owner_source_of(self.pick(9) as u8).unwrap(),
                owner_event: self.s().into(),
                owner_event_source: self.s().into(),
                relation: relation_of(self.pick(4) as u8).unwrap(),
                known: self.flag(),
                scoped: self.flag(),
                owner_condition: self.flag(),
            }
        }

        fn key_fact(&mut self) -> KeyFact {
            KeyFact {
                key_id: self.s().into(),
                status: key_status_of(self.pick(4) as u8).unwrap(),
                owner: self.s().into(),
                created_ns: self.i(),
                revoked_ns: self.i(),
                revoked_event: self.s().into(),
                revoked_event_source: self.s().into(),
                scopes: self.list(),
                scopes_known: self.flag(),
                removed_scopes: self.list(),
                scope_changed_ns: self.i(),
                scope_event: self.s().into(),
                scope_event_source: self.s().into(),
                last_used_ns: self.i(),
                parent_key_id: self.s().into(),
                issued_ns: self.i(),
                parent_revoked_ns: self.i(),
                parent_revoked_event: self.s().into(),
                parent_revoked_event_source: self.s().into(),
            }
        }
    }

    fn events() -> impl Strategy<Value = (Key, u32, Event)> {
        (
            prop::collection::vec(any::<String>(), 1..24),
            prop::collection::vec(
                prop_oneof![any::<u64>(), 0..300u64, Just(u64::MAX), Just(1 << 63)],
                1..24,
            ),
            any::<(i64, u32, u64, u32)>(),
            any::<u32>(),
        )
            .prop_map(|(strs, nums, key, input)| {
                let mut pools = Pools {
                    strs,
                    nums,
                    next: 0,
                };
                (key, input, pools.event())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn random_events_round_trip_exactly((key, input, event) in events()) {
            let mut bytes = Vec::new();
            encode(key, input, &event, &mut bytes);
            let back = decode(&bytes).unwrap();
            prop_assert_eq!(back.key, key);
            prop_assert_eq!(back.input, input);
            prop_assert_eq!(*back.event, event);
        }

        #[test]
        fn any_cut_or_changed_record_is_an_error_or_an_event((key, input, event) in events(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut bytes = Vec::new();
            encode(key, input, &event, &mut bytes);
            let i = at.index(bytes.len());
            prop_assert!(decode(&bytes[..i]).is_err());
            bytes[i] = byte;
            let _ = decode(&bytes);
        }
    }
}
