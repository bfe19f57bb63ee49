//! Encodes events into the wire batch of `wit/rule.wit`: every distinct string once, in one blob,
//! so a batch costs a handful of guest allocations however many strings its events hold.

use std::hash::BuildHasher as _;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use super::bindings::tracewarden::rule::types as wire;
use crate::event::{self, Detail, Event};

/// Reusable buffers for encoding batches.
#[derive(Default)]
pub(crate) struct BatchEncoder {
    batch: Option<wire::Batch>,
    /// The strings of the batch being built, by their hash (a string whose hash is taken by
    /// another goes to the next free key): each one's index. Kept between batches (cleared, not
    /// freed), so a batch does not grow a table.
    intern: HashMap<u64, u32>,
}

/// A string blob larger than the wire's u32 offsets can address.
#[derive(Debug)]
pub(crate) struct BatchTooLarge;

struct Builder<'b> {
    strings: String,
    offsets: Vec<u32>,
    pairs: Vec<wire::Pair>,
    objects: Vec<wire::ObjectFact>,
    intern: &'b mut HashMap<u64, u32>,
    /// Long strings met lately, by where they are ([`Builder::str`]).
    recent: Box<[Recent; RECENT]>,
    too_large: bool,
}

/// Slots of [`Builder::recent`].
const RECENT: usize = 256;

/// A string of the batch by its address and length, and its index.
#[derive(Clone, Copy, Default)]
struct Recent {
    at: usize,
    len: usize,
    index: u32,
}

/// Strings this long or shorter are held inline by their events (`SmolStr`), at an address of
/// their own: only longer ones can be one shared copy.
const INLINE: usize = 23;

impl<'e> Builder<'_> {
    /// The index of `s` in the batch, added once however often it occurs.
    fn str(&mut self, s: &'e str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if s.len() <= INLINE {
            return self.interned(s);
        }
        // Long strings events share (a file name, a principal read back from a sorted run) are
        // one copy at one address: met there before, they are known without hashing them. Every
        // `&'e str` outlives the build, so an address cannot be reused by another string.
        let at = s.as_ptr() as usize;
        let slot = (at >> 4 ^ at >> 12) % RECENT;
        if let Some(r) = self.recent.get(slot)
            && r.at == at
            && r.len == s.len()
        {
            return r.index;
        }
        let index = self.interned(s);
        if let Some(r) = self.recent.get_mut(slot) {
            *r = Recent {
                at,
                len: s.len(),
                index,
            };
        }
        index
    }

    /// [`Builder::str`] by hash.
    fn interned(&mut self, s: &'e str) -> u32 {
        // Keyed by hash; a slot taken by another string with the same hash sends it to the next
        // key, so each distinct string is still added once.
        let mut key = foldhash::fast::FixedState::default().hash_one(s);
        while let Some(&i) = self.intern.get(&key) {
            if self.string(i) == Some(s) {
                return i;
            }
            key = key.wrapping_add(1);
        }
        let index = self.push(s);
        if index != 0 {
            self.intern.insert(key, index);
        }
        index
    }

    /// Adds `s` to the blob: its index, or 0 (and the batch too large) past u32 offsets.
    fn push(&mut self, s: &str) -> u32 {
        self.strings.push_str(s);
        let (Ok(index), Ok(end)) = (
            u32::try_from(self.offsets.len() - 1),
            u32::try_from(self.strings.len()),
        ) else {
            self.too_large = true;
            return 0;
        };
        self.offsets.push(end);
        index
    }

    /// String `i` of the blob.
    fn string(&self, i: u32) -> Option<&str> {
        let i = i as usize;
        let (start, end) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        self.strings.get(start as usize..end as usize)
    }

    fn range<I>(&mut self, items: I) -> wire::PairsRange
    where
        I: IntoIterator<Item = (&'e str, &'e str)>,
    {
        let start = self.pairs.len();
        for (name, value) in items {
            let pair = wire::Pair {
                name: self.str(name),
                value: self.str(value),
            };
            self.pairs.push(pair);
        }
        let (start, len) = self.span(start, self.pairs.len());
        wire::PairsRange { start, len }
    }

    /// `start..end` of a batch table as the wire's `(start, len)`; `(0, 0)`, and the batch too
    /// large, when it does not fit in u32.
    fn span(&mut self, start: usize, end: usize) -> (u32, u32) {
        match (u32::try_from(start), u32::try_from(end - start)) {
            (Ok(start), Ok(len)) => (start, len),
            _ => {
                self.too_large = true;
                (0, 0)
            }
        }
    }

    fn map(&mut self, m: &'e crate::event::Fields) -> wire::PairsRange {
        self.range(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn facts(&mut self, f: &'e event::Facts) -> wire::Facts {
        let start = self.objects.len();
        for o in &f.objects {
            let fact = wire::ObjectFact {
                collection: self.str(&o.collection),
                id: self.str(&o.id),
                owner: self.str(&o.owner),
                owner_tenant: self.str(&o.owner_tenant),
                owner_source: owner_source(o.owner_source),
                owner_event: self.str(&o.owner_event),
                owner_event_source: self.str(&o.owner_event_source),
                relation: relation(o.relation),
                known: o.known,
                scoped: o.scoped,
                owner_condition: o.owner_condition,
            };
            self.objects.push(fact);
        }
        let (start, len) = self.span(start, self.objects.len());
        wire::Facts {
            objects: wire::ObjectsRange { start, len },
            privileged: f.privileged,
            key: f.key.as_ref().map(|k| self.key_fact(k)),
            request_method: self.str(&f.request_method),
            request_route: self.str(&f.request_route),
        }
    }

    fn key_fact(&mut self, k: &'e event::KeyFact) -> wire::KeyFact {
        wire::KeyFact {
            key_id: self.str(&k.key_id),
            status: key_status(k.status),
            owner: self.str(&k.owner),
            created_ns: k.created_ns,
            revoked_ns: k.revoked_ns,
            revoked_event: self.str(&k.revoked_event),
            revoked_event_source: self.str(&k.revoked_event_source),
            scopes: self.range(k.scopes.iter().map(|s| (s.as_str(), ""))),
            scopes_known: k.scopes_known,
            removed_scopes: self.range(k.removed_scopes.iter().map(|s| (s.as_str(), ""))),
            scope_changed_ns: k.scope_changed_ns,
            scope_event: self.str(&k.scope_event),
            scope_event_source: self.str(&k.scope_event_source),
            last_used_ns: k.last_used_ns,
            parent_key_id: self.str(&k.parent_key_id),
            issued_ns: k.issued_ns,
            parent_revoked_ns: k.parent_revoked_ns,
            parent_revoked_event: self.str(&k.parent_revoked_event),
            parent_revoked_event_source: self.str(&k.parent_revoked_event_source),
        }
    }

    fn event(&mut self, e: &'e Event) -> wire::Event {
        let detail = match &e.detail {
            Detail::Http(h) => wire::Detail::Http(wire::Http {
                method: self.str(&h.method),
                path: self.str(&h.path),
                route: self.str(&h.route),
                status: h.status,
                duration_ns: h.duration_ns,
                query: self.str(&h.query),
                params: self.map(&h.params),
                returned_ids: self.range(
                    h.returned_ids
                        .iter()
                        .map(|n| (n.name.as_str(), n.value.as_str())),
                ),
            }),
            Detail::DbOperation(d) => wire::Detail::DbOperation(wire::DbOperation {
                service: self.str(&d.service),
                operation: self.str(&d.operation),
                table: self.str(&d.table),
                key: self.map(&d.key),
                has_condition: d.has_condition,
                condition: self.str(&d.condition),
                update_expression: self.str(&d.update_expression),
                consistent_read: d.consistent_read,
                index_name: self.str(&d.index_name),
                group_id: self.str(&d.group_id),
                is_write: d.is_write,
                error_code: self.str(&d.error_code),
            }),
            Detail::KeyLifecycle(k) => wire::Detail::KeyLifecycle(wire::KeyLifecycle {
                action: key_action(k.action),
                key_id: self.str(&k.key_id),
                owner: self.str(&k.owner),
                scopes: self.range(k.scopes.iter().map(|s| (s.as_str(), ""))),
                parent_key_id: self.str(&k.parent_key_id),
            }),
            Detail::AuthDecision(a) => wire::Detail::AuthDecision(wire::AuthDecision {
                allowed: a.allowed,
                action: self.str(&a.action),
                resource: self.str(&a.resource),
                policy: self.str(&a.policy),
            }),
        };
        wire::Event {
            id: self.str(&e.id),
            time_ns: e.time_ns,
            precision_ns: e.precision_ns,
            source: wire::SourceRef {
                file: self.str(&e.source.file),
                record: e.source.record,
                line: e.source.line.unwrap_or(0),
                format: self.str(&e.source.format),
            },
            actor: wire::Actor {
                principal: self.str(&e.actor.principal),
                key_id: self.str(&e.actor.key_id),
                tenant: self.str(&e.actor.tenant),
                ip: self.str(&e.actor.ip),
                user_agent: self.str(&e.actor.user_agent),
                session: self.str(&e.actor.session),
            },
            correlation: wire::Correlation {
                trace_id: self.str(&e.correlation.trace_id),
                span_id: self.str(&e.correlation.span_id),
                parent_span_id: self.str(&e.correlation.parent_span_id),
                request_id: self.str(&e.correlation.request_id),
                app_request_id: self.str(&e.correlation.app_request_id),
                linked_event: self.str(&e.correlation.linked_event),
                link: link_method(e.correlation.link),
            },
            outcome: outcome(e.outcome),
            detail,
            attributes: self.map(&e.attributes),
            facts: self.facts(&e.facts),
        }
    }
}

impl BatchEncoder {
    /// Encodes `events` into a batch; the returned batch's buffers are reused by the next call.
    pub(crate) fn encode<'e, I>(&mut self, events: I) -> Result<&wire::Batch, BatchTooLarge>
    where
        I: IntoIterator<Item = &'e Event>,
    {
        let batch = self.build(events)?;
        Ok(self.batch.insert(batch))
    }

    /// Encodes `events` into a batch of its own, which several rule files can be sent in turn
    /// (the host encodes a slice of a chunk once for every component that wants all of it).
    pub(crate) fn encode_shared<'e, I>(events: I) -> Result<wire::Batch, BatchTooLarge>
    where
        I: IntoIterator<Item = &'e Event>,
    {
        BatchEncoder::default().build(events)
    }

    /// Encodes `events` into the buffers of the last batch (cleared), taken out of `self`.
    fn build<'e, I>(&mut self, events: I) -> Result<wire::Batch, BatchTooLarge>
    where
        I: IntoIterator<Item = &'e Event>,
    {
        let old = self.batch.take();
        let (mut strings, mut offsets, mut pairs, mut objects, mut out) = match old {
            Some(b) => (b.strings, b.offsets, b.pairs, b.objects, b.events),
            None => Default::default(),
        };
        strings.clear();
        offsets.clear();
        pairs.clear();
        objects.clear();
        out.clear();
        offsets.extend([0, 0]);
        self.intern.clear();
        let mut b = Builder {
            strings,
            offsets,
            pairs,
            objects,
            intern: &mut self.intern,
            recent: Box::new([Recent::default(); RECENT]),
            too_large: false,
        };
        for e in events {
            let encoded = b.event(e);
            out.push(encoded);
        }
        if b.too_large {
            return Err(BatchTooLarge);
        }
        Ok(wire::Batch {
            strings: b.strings,
            offsets: b.offsets,
            pairs: b.pairs,
            objects: b.objects,
            events: out,
        })
    }
}

fn outcome(o: event::Outcome) -> wire::Outcome {
    match o {
        event::Outcome::Success => wire::Outcome::Success,
        event::Outcome::Denied => wire::Outcome::Denied,
        event::Outcome::NotFound => wire::Outcome::NotFound,
        event::Outcome::Conflict => wire::Outcome::Conflict,
        event::Outcome::Throttled => wire::Outcome::Throttled,
        event::Outcome::Error => wire::Outcome::Error,
        event::Outcome::Unknown => wire::Outcome::Unknown,
    }
}

fn link_method(l: event::LinkMethod) -> wire::LinkMethod {
    match l {
        event::LinkMethod::None => wire::LinkMethod::None,
        event::LinkMethod::TraceId => wire::LinkMethod::TraceId,
        event::LinkMethod::AwsRequestId => wire::LinkMethod::AwsRequestId,
        event::LinkMethod::RequestHeader => wire::LinkMethod::RequestHeader,
        event::LinkMethod::PrincipalWindow => wire::LinkMethod::PrincipalWindow,
    }
}

fn key_action(a: event::KeyAction) -> wire::KeyAction {
    match a {
        event::KeyAction::Created => wire::KeyAction::Created,
        event::KeyAction::Activated => wire::KeyAction::Activated,
        event::KeyAction::Deactivated => wire::KeyAction::Deactivated,
        event::KeyAction::Deleted => wire::KeyAction::Deleted,
        event::KeyAction::Rotated => wire::KeyAction::Rotated,
        event::KeyAction::ScopeChanged => wire::KeyAction::ScopeChanged,
    }
}

fn owner_source(s: event::OwnerSource) -> wire::OwnerSource {
    match s {
        event::OwnerSource::Unknown => wire::OwnerSource::Unknown,
        event::OwnerSource::Path => wire::OwnerSource::Path,
        event::OwnerSource::KeyPrefix => wire::OwnerSource::KeyPrefix,
        event::OwnerSource::KeyAttribute => wire::OwnerSource::KeyAttribute,
        event::OwnerSource::Creator => wire::OwnerSource::Creator,
        event::OwnerSource::Condition => wire::OwnerSource::Condition,
        event::OwnerSource::Mapping => wire::OwnerSource::Mapping,
        event::OwnerSource::Public => wire::OwnerSource::Public,
        event::OwnerSource::Transfer => wire::OwnerSource::Transfer,
    }
}

fn relation(r: event::Relation) -> wire::Relation {
    match r {
        event::Relation::Unknown => wire::Relation::Unknown,
        event::Relation::Own => wire::Relation::Own,
        event::Relation::Other => wire::Relation::Other,
        event::Relation::Granted => wire::Relation::Granted,
    }
}

fn key_status(s: event::KeyStatus) -> wire::KeyStatus {
    match s {
        event::KeyStatus::Unknown => wire::KeyStatus::Unknown,
        event::KeyStatus::Active => wire::KeyStatus::Active,
        event::KeyStatus::Inactive => wire::KeyStatus::Inactive,
        event::KeyStatus::Deleted => wire::KeyStatus::Deleted,
    }
}

/// Writes `batch` packed as contract 1.2's `on-packed-events` takes it (`docs/rules.md`, "Packed
/// batches"): a header of five counts, the offsets, the string blob, the pairs, the objects and
/// the events, every field little-endian at its place, in the order `wit/rule.wit` declares it.
/// The SDK's reader (`sdk/src/packed.rs`) is its mirror.
pub(crate) fn pack(batch: &wire::Batch, out: &mut Vec<u8>) {
    pack_events(batch, batch.events.iter(), out);
}

/// Writes the events of `batch` at `picks` packed with the batch's strings, pairs and objects,
/// which they index: part of a batch shared by several components, for one that wants only those
/// events. Positions past the batch's events are left out.
pub(crate) fn pack_part(batch: &wire::Batch, picks: &[usize], out: &mut Vec<u8>) {
    let events: Vec<&wire::Event> = picks.iter().filter_map(|&i| batch.events.get(i)).collect();
    pack_events(batch, events.into_iter(), out);
}

/// [`pack`] with `events` (records of `batch`) in place of the batch's own.
fn pack_events<'b>(
    batch: &wire::Batch,
    events: impl ExactSizeIterator<Item = &'b wire::Event>,
    out: &mut Vec<u8>,
) {
    out.clear();
    let mut w = Packer(out);
    for n in [
        batch.offsets.len(),
        batch.strings.len(),
        batch.pairs.len(),
        batch.objects.len(),
        events.len(),
    ] {
        // Each fits: the encoder refuses a batch past u32 offsets.
        w.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    for &o in &batch.offsets {
        w.u32(o);
    }
    w.0.extend_from_slice(batch.strings.as_bytes());
    for p in &batch.pairs {
        w.u32(p.name);
        w.u32(p.value);
    }
    for o in &batch.objects {
        w.u32(o.collection);
        w.u32(o.id);
        w.u32(o.owner);
        w.u32(o.owner_tenant);
        w.u8(o.owner_source as u8);
        w.u32(o.owner_event);
        w.u32(o.owner_event_source);
        w.u8(o.relation as u8);
        w.bool(o.known);
        w.bool(o.scoped);
        w.bool(o.owner_condition);
    }
    for e in events {
        w.event(e);
    }
}

/// `batch` packed ([`pack`]) into a buffer of its own.
pub(crate) fn packed(batch: &wire::Batch) -> Vec<u8> {
    let mut bytes = Vec::new();
    pack(batch, &mut bytes);
    bytes
}

/// Little-endian fields appended to a buffer.
struct Packer<'a>(&'a mut Vec<u8>);

impl Packer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }

    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn pairs(&mut self, r: wire::PairsRange) {
        self.u32(r.start);
        self.u32(r.len);
    }

    fn event(&mut self, e: &wire::Event) {
        self.u32(e.id);
        self.i64(e.time_ns);
        self.u64(e.precision_ns);
        self.u32(e.source.file);
        self.u64(e.source.record);
        self.u64(e.source.line);
        self.u32(e.source.format);
        let a = &e.actor;
        for s in [
            a.principal,
            a.key_id,
            a.tenant,
            a.ip,
            a.user_agent,
            a.session,
        ] {
            self.u32(s);
        }
        let c = &e.correlation;
        for s in [
            c.trace_id,
            c.span_id,
            c.parent_span_id,
            c.request_id,
            c.app_request_id,
            c.linked_event,
        ] {
            self.u32(s);
        }
        self.u8(c.link as u8);
        self.u8(e.outcome as u8);
        match &e.detail {
            wire::Detail::Http(h) => {
                self.u8(0);
                self.u32(h.method);
                self.u32(h.path);
                self.u32(h.route);
                self.u16(h.status);
                self.u64(h.duration_ns);
                self.u32(h.query);
                self.pairs(h.params);
                self.pairs(h.returned_ids);
            }
            wire::Detail::DbOperation(d) => {
                self.u8(1);
                self.u32(d.service);
                self.u32(d.operation);
                self.u32(d.table);
                self.pairs(d.key);
                self.bool(d.has_condition);
                self.u32(d.condition);
                self.u32(d.update_expression);
                self.u8(match d.consistent_read {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
                self.u32(d.index_name);
                self.u32(d.group_id);
                self.bool(d.is_write);
                self.u32(d.error_code);
            }
            wire::Detail::KeyLifecycle(k) => {
                self.u8(2);
                self.u8(k.action as u8);
                self.u32(k.key_id);
                self.u32(k.owner);
                self.pairs(k.scopes);
                self.u32(k.parent_key_id);
            }
            wire::Detail::AuthDecision(a) => {
                self.u8(3);
                self.bool(a.allowed);
                self.u32(a.action);
                self.u32(a.resource);
                self.u32(a.policy);
            }
        }
        self.pairs(e.attributes);
        let f = &e.facts;
        self.u32(f.objects.start);
        self.u32(f.objects.len);
        self.bool(f.privileged);
        self.u32(f.request_method);
        self.u32(f.request_route);
        match &f.key {
            None => self.u8(0),
            Some(k) => {
                self.u8(1);
                self.u32(k.key_id);
                self.u8(k.status as u8);
                self.u32(k.owner);
                self.i64(k.created_ns);
                self.i64(k.revoked_ns);
                self.u32(k.revoked_event);
                self.u32(k.revoked_event_source);
                self.pairs(k.scopes);
                self.bool(k.scopes_known);
                self.pairs(k.removed_scopes);
                self.i64(k.scope_changed_ns);
                self.u32(k.scope_event);
                self.u32(k.scope_event_source);
                self.i64(k.last_used_ns);
                self.u32(k.parent_key_id);
                self.i64(k.issued_ns);
                self.i64(k.parent_revoked_ns);
                self.u32(k.parent_revoked_event);
                self.u32(k.parent_revoked_event_source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Correlation, DbOperation, Outcome, SmolStr, SourceRef};

    fn event(principal: SmolStr, table: &str, n: u64) -> Event {
        Event {
            id: format!("ct:{n:040}").into(),
            time_ns: 1_773_482_400_000_000_000,
            precision_ns: 1,
            source: SourceRef {
                file: "trail.json".into(),
                record: n,
                line: None,
                format: "cloudtrail".into(),
            },
            actor: Actor {
                principal,
                ..Actor::default()
            },
            correlation: Correlation::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                operation: "GetItem".into(),
                table: table.into(),
                ..DbOperation::default()
            }),
            attributes: event::Fields::new(),
            facts: event::Facts::default(),
        }
    }

    fn text(batch: &wire::Batch, i: u32) -> &str {
        let at = |i: u32| batch.offsets.get(i as usize).copied().unwrap_or(0) as usize;
        batch
            .strings
            .get(at(i)..at(i + 1))
            .unwrap_or("<out of the blob>")
    }

    /// Long strings are known by their address once met: one shared copy, equal copies at other
    /// addresses, and the slot of an address taken over by another string must all still give
    /// each distinct string once, and each field its own text.
    #[test]
    fn each_string_is_in_the_blob_once_however_its_copies_are_held() {
        let shared = SmolStr::from("arn:aws:sts::123456789012:assumed-role/orders-api/session");
        let mut events = Vec::new();
        for n in 0..600_u64 {
            let principal = match n % 4 {
                // The same heap copy, cloned: one address.
                0 | 1 => shared.clone(),
                // An equal string at an address of its own.
                2 => SmolStr::from(shared.as_str()),
                // Distinct long strings: they take (and give back) the address slots.
                _ => SmolStr::from(format!("{shared}-{n}")),
            };
            events.push(event(
                principal,
                if n % 2 == 0 { "orders" } else { "users" },
                n,
            ));
        }
        let batch = BatchEncoder::encode_shared(&events).unwrap();
        let blob: Vec<&str> = (1..batch.offsets.len() as u32 - 1)
            .map(|i| text(&batch, i))
            .collect();
        let mut distinct = blob.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), blob.len(), "a string added twice");
        // ids, the principals with a suffix, the shared principal, two tables and the constants.
        assert_eq!(blob.len(), 600 + 150 + 1 + 2 + 3);
        for (e, w) in events.iter().zip(&batch.events) {
            assert_eq!(text(&batch, w.actor.principal), e.actor.principal);
            assert_eq!(text(&batch, w.id), e.id);
            let wire::Detail::DbOperation(db) = &w.detail else {
                panic!("not a DB operation");
            };
            let Detail::DbOperation(d) = &e.detail else {
                unreachable!()
            };
            assert_eq!(text(&batch, db.table), d.table);
        }
    }
}
