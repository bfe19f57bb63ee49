//! The sorter's record format: a keyed event as compact bytes, in memory while its run is
//! collected and in the run's temporary file once spilled. Written and read by one process, never
//! kept or exchanged, so it has no version and no field names.
//!
//! Every field in declaration order: integers as LEB128 varints (signed ones zigzagged), strings
//! as a length then UTF-8 bytes, options and enums as one byte, lists and maps as a count then
//! their items. Structs are taken apart whole (no `..`), so a field added to [`Event`] fails to
//! compile here instead of being lost in a spill. Strings are read as `&str` and built with
//! `From<&str>`, whatever string type the event keeps them in.
//!
//! `serde` formats were measured against this one (`docs/architecture.md`, 2026-12-02): the
//! event's flattened `detail` and skipped empty fields need a self-describing format, which
//! names every field in every record and buffers the flattened part before reading it.

use std::collections::BTreeMap;

use super::super::correlate::{Key, Pending};
use crate::event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Http, KeyAction, KeyFact,
    KeyLifecycle, KeyStatus, LinkMethod, NamedId, ObjectFact, Outcome, OwnerSource, Relation,
    SourceRef,
};

/// Why a record could not be read back: the temporary file was damaged.
#[derive(Debug)]
pub(super) struct Damaged(&'static str);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a spilled run of events is damaged: {}", self.0)
    }
}

impl std::error::Error for Damaged {}

impl From<Damaged> for std::io::Error {
    fn from(d: Damaged) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, d)
    }
}

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
    let event = r.event()?;
    if !r.0.is_empty() {
        return Err(Damaged("bytes after a record"));
    }
    Ok(Pending { key, input, event })
}

/// Appends `n` as a LEB128 varint.
pub(super) fn put_uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn uint(&mut self, n: u64) {
        put_uint(self.0, n);
    }

    fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn bool(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn strs<S: AsRef<str>>(&mut self, list: &[S]) {
        self.uint(list.len() as u64);
        for s in list {
            self.str(s.as_ref());
        }
    }

    fn map<K: AsRef<str>, V: AsRef<str>>(&mut self, map: &BTreeMap<K, V>) {
        self.uint(map.len() as u64);
        for (k, v) in map {
            self.str(k.as_ref());
            self.str(v.as_ref());
        }
    }

    fn opt_uint(&mut self, n: Option<u64>) {
        match n {
            None => self.byte(0),
            Some(n) => {
                self.byte(1);
                self.uint(n);
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
        self.map(attributes);
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
                self.map(params);
                self.uint(returned_ids.len() as u64);
                for NamedId { name, value } in returned_ids {
                    self.str(name);
                    self.str(value);
                }
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
                self.map(key);
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
        self.uint(objects.len() as u64);
        for o in objects {
            self.object(o);
        }
        self.bool(*privileged);
        match key {
            None => self.byte(0),
            Some(k) => {
                self.byte(1);
                self.key_fact(k);
            }
        }
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

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Damaged> {
        let (&b, rest) = self.0.split_first().ok_or(Damaged("cut short"))?;
        self.0 = rest;
        Ok(b)
    }

    fn uint(&mut self) -> Result<u64, Damaged> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(Damaged("an integer too long"))
    }

    fn u32(&mut self) -> Result<u32, Damaged> {
        u32::try_from(self.uint()?).map_err(|_| Damaged("an integer out of range"))
    }

    fn int(&mut self) -> Result<i64, Damaged> {
        let n = self.uint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    fn bool(&mut self) -> Result<bool, Damaged> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Damaged("a flag neither 0 nor 1")),
        }
    }

    fn len(&mut self) -> Result<usize, Damaged> {
        let n = usize::try_from(self.uint()?).map_err(|_| Damaged("a length out of range"))?;
        // Every item takes at least one byte: a count larger than what is left is damage, not
        // a reason to reserve memory.
        if n > self.0.len() {
            return Err(Damaged("a length past the record's end"));
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<&'a str, Damaged> {
        let n = self.len()?;
        let (bytes, rest) = self.0.split_at_checked(n).ok_or(Damaged("cut short"))?;
        self.0 = rest;
        std::str::from_utf8(bytes).map_err(|_| Damaged("a string not UTF-8"))
    }

    fn string<S: From<&'a str>>(&mut self) -> Result<S, Damaged> {
        self.str().map(S::from)
    }

    fn strs<S: From<&'a str>>(&mut self) -> Result<Vec<S>, Damaged> {
        let n = self.len()?;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            list.push(self.string()?);
        }
        Ok(list)
    }

    fn map<K: From<&'a str> + Ord, V: From<&'a str>>(&mut self) -> Result<BTreeMap<K, V>, Damaged> {
        let n = self.len()?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string()?;
            map.insert(k, self.string()?);
        }
        Ok(map)
    }

    fn opt_uint(&mut self) -> Result<Option<u64>, Damaged> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.uint().map(Some),
            _ => Err(Damaged("an option tag neither 0 nor 1")),
        }
    }

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
                returned_ids: {
                    let n = self.len()?;
                    let mut ids = Vec::with_capacity(n);
                    for _ in 0..n {
                        ids.push(NamedId {
                            name: self.string()?,
                            value: self.string()?,
                        });
                    }
                    ids
                },
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
        let n = self.len()?;
        let mut objects = Vec::with_capacity(n);
        for _ in 0..n {
            objects.push(self.object()?);
        }
        Ok(Facts {
            objects,
            privileged: self.bool()?,
            key: match self.byte()? {
                0 => None,
                1 => Some(Box::new(self.key_fact()?)),
                _ => return Err(Damaged("an option tag neither 0 nor 1")),
            },
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

/// Codes of the closed sets, both ways: each table lists every variant once, so a variant added
/// to the event model fails to compile in the `match` of its `*_code` function.
macro_rules! codes {
    ($ty:ident, $code:ident, $of:ident, $what:literal, [$($variant:ident = $n:literal),+ $(,)?]) => {
        fn $code(v: $ty) -> u8 {
            match v {
                $($ty::$variant => $n,)+
            }
        }

        fn $of(n: u8) -> Result<$ty, Damaged> {
            match n {
                $($n => Ok($ty::$variant),)+
                _ => Err(Damaged(concat!("an unknown ", $what))),
            }
        }
    };
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

        fn map(&mut self) -> BTreeMap<SmolStr, SmolStr> {
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
            prop_assert_eq!(back.event, event);
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
