//! The sorter's record format: a keyed event as compact bytes ([`crate::bytes`]), in memory
//! while its run is collected and in the run's temporary file once spilled. Every field in
//! declaration order; strings are read as `&str` and built with `From<&str>`, whatever string
//! type the event keeps them in.
//!
//! Names, the strings that repeat from event to event (a file, a principal, a user agent, a
//! table, an attribute's name), are numbered within a run: a record writes a name's number, and
//! the run's names are written once, as a table ([`NamesOut::table`]) ahead of its records, so
//! that records encoded in the order they came can be written in key order ([`NamesIn::read`]).
//! A name read back is one shared string, not an allocation per event. Ids, key values and
//! expressions' values are written as text every time, and so is a name past the run's room.
//!
//! `serde` formats were measured against this one (`docs/architecture.md`, 2026-12-02): the
//! event's flattened `detail` and skipped empty fields need a self-describing format, which
//! names every field in every record and buffers the flattened part before reading it.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use super::super::correlate::{Key, Pending};
use crate::bytes::{Damaged, Reader, Writer, codes};
use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Fields, Http, KeyAction,
    KeyFact, KeyLifecycle, KeyStatus, LinkMethod, NamedId, ObjectFact, Outcome, OwnerSource,
    Relation, SmolStr, SourceRef,
};

/// Most names one run numbers, and most bytes of text they hold: what a run's reader keeps for
/// the rest of the merge, whatever the input (a merge reads hundreds of runs at once).
const MAX_NAMES: usize = 4096;
const MAX_NAME_BYTES: usize = 128 << 10;

/// How a name is written: the empty name, the text of a name past the run's room, or its number
/// in the run's table.
const EMPTY: u64 = 0;
const TEXT: u64 = 1;
const FIRST_NUMBER: u64 = 2;

/// The room left in a run's names.
#[derive(Default)]
struct Room {
    names: usize,
    bytes: usize,
}

impl Room {
    /// Whether a name of `len` bytes gets a number; takes its room if so.
    fn admit(&mut self, len: usize) -> bool {
        let fits = self.names < MAX_NAMES && self.bytes + len <= MAX_NAME_BYTES;
        if fits {
            self.names += 1;
            self.bytes += len;
        }
        fits
    }
}

/// The names a run's writer has numbered. Seeded per process: the names come from the input, and
/// a fixed hash would let crafted ones collide.
#[derive(Default)]
pub(super) struct NamesOut {
    numbers: HashMap<SmolStr, u64, foldhash::fast::RandomState>,
    /// The names by number (from [`FIRST_NUMBER`]): the run's table.
    texts: Vec<SmolStr>,
    room: Room,
    /// The last numbered name longer than a `SmolStr` holds inline, held (so its text stays at
    /// its address): an input's events share one file name, known again by its address without
    /// hashing it.
    last_shared: Option<(SmolStr, u64)>,
}

impl NamesOut {
    /// The run's names as one record, read back by [`NamesIn::read`].
    pub(super) fn table(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.uint(self.texts.len() as u64);
        for name in &self.texts {
            w.str(name);
        }
    }

    /// Forgets the names, for the next run (keeping the memory).
    pub(super) fn clear(&mut self) {
        self.numbers.clear();
        self.texts.clear();
        self.room = Room::default();
        self.last_shared = None;
    }

    /// Bytes the names hold, at most [`MAX_NAME_BYTES`] and their entries.
    pub(super) fn held(&self) -> usize {
        self.room.bytes + self.room.names * 3 * std::mem::size_of::<SmolStr>()
    }
}

/// The names of a run's table, by number.
#[derive(Default)]
pub(super) struct NamesIn {
    names: Vec<SmolStr>,
}

impl NamesIn {
    /// Reads what [`NamesOut::table`] wrote; no more names or bytes than a run's room holds.
    pub(super) fn read(bytes: &[u8]) -> Result<NamesIn, Damaged> {
        let mut r = Reader(bytes);
        let n = r.len()?;
        let mut room = Room::default();
        let mut names = Vec::with_capacity(n.min(MAX_NAMES));
        for _ in 0..n {
            let name = r.str()?;
            if !room.admit(name.len()) {
                return Err(Damaged("names past a run's room"));
            }
            names.push(SmolStr::from(name));
        }
        r.end()?;
        Ok(NamesIn { names })
    }
}

/// Appends the record of `event` at `key`, read from input `input`, to `out`; `names` are the
/// run's so far, and number the names it meets first.
pub(super) fn encode(key: Key, input: u32, event: &Event, names: &mut NamesOut, out: &mut Vec<u8>) {
    let (time, read, seq, sub) = key;
    let mut w = Enc {
        bytes: Writer(out),
        names,
    };
    w.int(time);
    w.uint(read.into());
    w.uint(seq);
    w.uint(sub.into());
    w.uint(input.into());
    w.event(event);
}

/// Reads back what [`encode`] wrote: all of `bytes`, whose names are numbered in `names` (the
/// run's table), in whatever order the run's records are read.
pub(super) fn decode(bytes: &[u8], names: &NamesIn) -> Result<Pending, Damaged> {
    let mut r = Dec {
        bytes: Reader(bytes),
        names,
    };
    let key = (r.int()?, r.u32()?, r.uint()?, r.u32()?);
    let input = r.u32()?;
    let event = Box::new(r.event()?);
    r.end()?;
    Ok(Pending { key, input, event })
}

/// A record's writer or reader (`B`) with its run's names (`N`).
struct Named<B, N> {
    bytes: B,
    names: N,
}

impl<B, N> Deref for Named<B, N> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.bytes
    }
}

impl<B, N> DerefMut for Named<B, N> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.bytes
    }
}

/// A record's writer with its run's names.
type Enc<'w, 'n> = Named<Writer<'w>, &'n mut NamesOut>;

/// A record's reader with its run's names.
type Dec<'r, 'n> = Named<Reader<'r>, &'n NamesIn>;

impl Enc<'_, '_> {
    /// A name: its number in the run's names (numbered now if it is new and there is room),
    /// else its text.
    fn name(&mut self, s: &SmolStr) {
        if s.is_empty() {
            self.uint(EMPTY);
            return;
        }
        if let Some((last, n)) = &self.names.last_shared
            && s.is_heap_allocated()
            && std::ptr::eq(last.as_str(), s.as_str())
        {
            let n = *n;
            self.uint(n);
            return;
        }
        let n = match self.names.numbers.get(s.as_str()) {
            Some(&n) => n,
            None if self.names.room.admit(s.len()) => {
                let n = FIRST_NUMBER + self.names.texts.len() as u64;
                self.names.numbers.insert(s.clone(), n);
                self.names.texts.push(s.clone());
                n
            }
            None => {
                self.uint(TEXT);
                self.str(s);
                return;
            }
        };
        if s.is_heap_allocated() {
            self.names.last_shared = Some((s.clone(), n));
        }
        self.uint(n);
    }

    /// A map's entries after their count: names as names, values as names or as text.
    fn fields(&mut self, fields: &Fields, named_values: bool) {
        self.uint(fields.len() as u64);
        for (k, v) in fields.iter() {
            self.name(k);
            if named_values {
                self.name(v);
            } else {
                self.str(v);
            }
        }
    }

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
        self.name(file);
        self.uint(*record);
        self.opt_uint(*line);
        self.name(format);
        let Actor {
            principal,
            key_id,
            tenant,
            ip,
            user_agent,
            session,
        } = actor;
        for s in [principal, key_id, tenant, ip, user_agent, session] {
            self.name(s);
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
        self.fields(attributes, true);
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
                self.name(method);
                self.str(path);
                self.name(route);
                self.uint((*status).into());
                self.uint(*duration_ns);
                self.str(query);
                self.fields(params, false);
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
                self.name(service);
                self.name(operation);
                self.name(table);
                self.fields(key, false);
                self.bool(*has_condition);
                self.name(condition);
                self.name(update_expression);
                self.byte(match consistent_read {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
                self.name(index_name);
                self.str(group_id);
                self.bool(*is_write);
                self.name(error_code);
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
                self.name(key_id);
                self.name(owner);
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
                self.name(action);
                self.str(resource);
                self.name(policy);
            }
        }
    }
}

impl Writer<'_> {
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

impl Dec<'_, '_> {
    /// What [`Enc::name`] wrote.
    fn name(&mut self) -> Result<SmolStr, Damaged> {
        match self.uint()? {
            EMPTY => Ok(SmolStr::default()),
            TEXT => self.string(),
            n => usize::try_from(n - FIRST_NUMBER)
                .ok()
                .and_then(|i| self.names.names.get(i))
                .cloned()
                .ok_or(Damaged("a name's number not in the run's names")),
        }
    }

    /// What [`Enc::fields`] wrote (a later entry under a name replaces an earlier).
    fn fields(&mut self, named_values: bool) -> Result<Fields, Damaged> {
        let n = self.len()?;
        // Written from a map, so in order: appended without sorting; an entry out of order
        // (damage) is inserted, the later one under a name replacing the earlier.
        let mut fields = Fields::with_capacity(n.min(32));
        for _ in 0..n {
            let k = self.name()?;
            let v = if named_values {
                self.name()?
            } else {
                self.string()?
            };
            if let Some((k, v)) = fields.try_append(k, v) {
                fields.insert(k, v);
            }
        }
        Ok(fields)
    }

    fn event(&mut self) -> Result<Event, Damaged> {
        Ok(Event {
            id: self.string()?,
            time_ns: self.int()?,
            precision_ns: self.uint()?,
            source: SourceRef {
                file: self.name()?,
                record: self.uint()?,
                line: self.opt_uint()?,
                format: self.name()?,
            },
            actor: Actor {
                principal: self.name()?,
                key_id: self.name()?,
                tenant: self.name()?,
                ip: self.name()?,
                user_agent: self.name()?,
                session: self.name()?,
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
            attributes: self.fields(true)?,
            facts: self.facts()?,
        })
    }

    fn detail(&mut self) -> Result<Detail, Damaged> {
        Ok(match self.byte()? {
            0 => Detail::Http(Http {
                method: self.name()?,
                path: self.string()?,
                route: self.name()?,
                status: u16::try_from(self.uint()?)
                    .map_err(|_| Damaged("an HTTP status out of range"))?,
                duration_ns: self.uint()?,
                query: self.string()?,
                params: self.fields(false)?,
                returned_ids: self.list(|r| {
                    Ok(NamedId {
                        name: r.string()?,
                        value: r.string()?,
                    })
                })?,
            }),
            1 => Detail::DbOperation(DbOperation {
                service: self.name()?,
                operation: self.name()?,
                table: self.name()?,
                key: self.fields(false)?,
                has_condition: self.bool()?,
                condition: self.name()?,
                update_expression: self.name()?,
                consistent_read: match self.byte()? {
                    0 => None,
                    1 => Some(false),
                    2 => Some(true),
                    _ => return Err(Damaged("an unknown consistent-read tag")),
                },
                index_name: self.name()?,
                group_id: self.string()?,
                is_write: self.bool()?,
                error_code: self.name()?,
            }),
            2 => Detail::KeyLifecycle(KeyLifecycle {
                action: key_action_of(self.byte()?)?,
                key_id: self.name()?,
                owner: self.name()?,
                scopes: self.strs()?,
                parent_key_id: self.string()?,
            }),
            3 => Detail::AuthDecision(AuthDecision {
                allowed: self.bool()?,
                action: self.name()?,
                resource: self.string()?,
                policy: self.name()?,
            }),
            _ => return Err(Damaged("an unknown event kind")),
        })
    }
}

impl Reader<'_> {
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
        fn random_runs_round_trip_exactly_in_any_order(run in prop::collection::vec(events(), 1..6), from in any::<prop::sample::Index>()) {
            // A run's records are encoded as they come and read back in key order, which is
            // another: read from any record on, wrapping around, against the run's table.
            let mut out = NamesOut::default();
            let records: Vec<Vec<u8>> = run
                .iter()
                .map(|(key, input, event)| {
                    let mut bytes = Vec::new();
                    encode(*key, *input, event, &mut out, &mut bytes);
                    bytes
                })
                .collect();
            let back = names_of(&out);
            let first = from.index(run.len());
            for i in (first..run.len()).chain(0..first) {
                let read = decode(&records[i], &back).unwrap();
                let (key, input, event) = &run[i];
                prop_assert_eq!(read.key, *key);
                prop_assert_eq!(read.input, *input);
                prop_assert_eq!(&*read.event, event);
            }
        }

        #[test]
        fn any_cut_or_changed_record_is_an_error_or_an_event((k0, i0, e0) in events(), (key, input, event) in events(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            // The second record of a run, which may use names the first one numbered.
            let mut out = NamesOut::default();
            let mut first = Vec::new();
            encode(k0, i0, &e0, &mut out, &mut first);
            let mut bytes = Vec::new();
            encode(key, input, &event, &mut out, &mut bytes);
            let back = names_of(&out);
            decode(&first, &back).unwrap();
            let i = at.index(bytes.len());
            prop_assert!(decode(&bytes[..i], &back).is_err());
            bytes[i] = byte;
            let _ = decode(&bytes, &back);
        }

        #[test]
        fn any_cut_or_changed_table_is_an_error_or_names((k0, i0, e0) in events(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let mut out = NamesOut::default();
            encode(k0, i0, &e0, &mut out, &mut Vec::new());
            let mut table = Vec::new();
            out.table(&mut table);
            let i = at.index(table.len());
            prop_assert!(NamesIn::read(&table[..i]).is_err());
            table[i] = byte;
            let _ = NamesIn::read(&table);
        }
    }

    /// The table `out` wrote, read back.
    fn names_of(out: &NamesOut) -> NamesIn {
        let mut table = Vec::new();
        out.table(&mut table);
        NamesIn::read(&table).unwrap()
    }

    /// A CloudTrail-like call by principal `n`.
    fn call(n: usize) -> Event {
        Event {
            id: "ct:2ba1d980-ecd3-f39e-b6f1-6610820c0f2d".into(),
            time_ns: 1,
            precision_ns: 1_000_000_000,
            source: SourceRef {
                file: "logs/111122223333_CloudTrail_us-east-1_20261001T000000Z.json".into(),
                record: 1,
                line: Some(1),
                format: "cloudtrail".into(),
            },
            actor: Actor {
                principal: format!("arn:aws:iam::111122223333:user/user{n:04}").into(),
                user_agent: "aws-sdk-java/2.25.6 Linux/5.10 OpenJDK_64-Bit_Server_VM/17".into(),
                ..Actor::default()
            },
            correlation: Correlation::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                operation: "GetItem".into(),
                table: "Orders".into(),
                key: [("orderId".into(), "ord-050015".into())]
                    .into_iter()
                    .collect(),
                ..DbOperation::default()
            }),
            attributes: [("aws_region".into(), "us-east-1".into())]
                .into_iter()
                .collect(),
            facts: Facts::default(),
        }
    }

    #[test]
    fn a_name_is_written_once_a_run_in_its_table_and_by_its_number_in_records() {
        let mut out = NamesOut::default();
        let mut records = Vec::new();
        for _ in 0..2 {
            let mut bytes = Vec::new();
            encode((1, 0, 0, 0), 0, &call(7), &mut out, &mut bytes);
            records.push(bytes);
        }
        let mut table = Vec::new();
        out.table(&mut table);
        let back = NamesIn::read(&table).unwrap();
        for bytes in &records {
            assert_eq!(*decode(bytes, &back).unwrap().event, call(7));
        }
        // The file, the format, the principal, the user agent, the operation, the table, the
        // key's and the attribute's names and the attribute's value are a byte each in either
        // record: what is left is the id, the key's value and the numbers. Their text is the
        // table's, once.
        assert_eq!(records.iter().map(Vec::len).collect::<Vec<_>>(), [103, 103]);
        assert_eq!(table.len(), 216);
        let principal = b"arn:aws:iam::111122223333:user/user0007";
        assert_eq!(
            table
                .windows(principal.len())
                .filter(|w| w == principal)
                .count(),
            1
        );
        // A reader without the run's table cannot read its records.
        assert_eq!(
            decode(&records[0], &NamesIn::default()).unwrap_err().0,
            "a name's number not in the run's names"
        );
    }

    /// A long name events share (one input's file name) is known again by its address; one
    /// that only equals it, and other long names between, read back as themselves.
    #[test]
    fn a_shared_long_name_is_known_by_its_address_and_reads_back_alike() {
        let mut out = NamesOut::default();
        let shared = SmolStr::new("/var/log/trails/111122223333_CloudTrail_us-east-1_a.json");
        let other = SmolStr::new("/var/log/trails/111122223333_CloudTrail_us-east-1_b.json");
        let mut records = Vec::new();
        for file in [
            &shared,
            &shared,
            &other,
            &shared,
            &SmolStr::new(shared.as_str()),
        ] {
            let mut event = call(7);
            event.source.file = file.clone();
            let mut bytes = Vec::new();
            encode((1, 0, 0, 0), 0, &event, &mut out, &mut bytes);
            records.push((bytes, event));
        }
        let back = names_of(&out);
        for (bytes, event) in &records {
            assert_eq!(*decode(bytes, &back).unwrap().event, *event);
        }
        // One number each, whether known by address or by hash.
        assert_eq!(out.texts.len(), back.names.len());
        assert_eq!(
            out.texts
                .iter()
                .filter(|t| t.contains("CloudTrail_us-east-1_"))
                .count(),
            2
        );
        assert!(records.iter().all(|(b, _)| b.len() == records[0].0.len()));
    }

    #[test]
    fn past_its_room_a_run_writes_names_as_text_and_reads_them_alike() {
        let mut out = NamesOut::default();
        let mut records = Vec::new();
        for n in 0..MAX_NAMES + 10 {
            let mut bytes = Vec::new();
            encode((1, 0, 0, 0), 0, &call(n), &mut out, &mut bytes);
            records.push(bytes);
        }
        assert!(out.texts.len() <= MAX_NAMES);
        let back = names_of(&out);
        assert_eq!(out.texts.len(), back.names.len());
        assert!(out.room.bytes <= MAX_NAME_BYTES);
        // A name past the room is still read back right, as text, every time.
        for (n, bytes) in records.iter().enumerate() {
            assert_eq!(*decode(bytes, &back).unwrap().event, call(n));
        }
        let last = records.last().unwrap();
        assert!(last.len() > records[0].len());
        // A table claiming more than a run's room is damage, not memory to hold.
        let mut table = Vec::new();
        let mut w = Writer(&mut table);
        w.uint(MAX_NAMES as u64 + 1);
        for n in 0..=MAX_NAMES {
            w.str(&format!("n{n}"));
        }
        assert_eq!(
            NamesIn::read(&table).err().unwrap().0,
            "names past a run's room"
        );
        // Forgotten for the next run.
        out.clear();
        assert_eq!(names_of(&out).names.len(), 0);
        let mut bytes = Vec::new();
        encode((1, 0, 0, 0), 0, &call(1), &mut out, &mut bytes);
        assert_eq!(*decode(&bytes, &names_of(&out)).unwrap().event, call(1));
    }

    /// Maps are written in order and read back without sorting; entries out of order or
    /// repeated (a damaged record) still read as a map, the later entry under a name winning.
    #[test]
    fn map_entries_out_of_order_or_repeated_read_back_as_a_map() {
        let mut bytes = Vec::new();
        let mut names = NamesOut::default();
        let mut w = Enc {
            bytes: Writer(&mut bytes),
            names: &mut names,
        };
        w.uint(4);
        for (k, v) in [("b", "1"), ("a", "2"), ("c", "3"), ("b", "4")] {
            w.name(&SmolStr::new(k));
            w.str(v);
        }
        let names = names_of(&names);
        let mut r = Dec {
            bytes: Reader(&bytes),
            names: &names,
        };
        let fields = r.fields(false).unwrap();
        let got: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, [("a", "2"), ("b", "4"), ("c", "3")]);
    }
}
