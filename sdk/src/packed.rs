//! Contract 1.2's packed batch (`on-packed-events`): the batch of `on-events` as bytes, read back
//! into the same wire tables, so a rule sees the same events either way. The layout is
//! `docs/rules.md`'s "Packed batches"; the host writes it in `engine/src/rules/wasm/batch.rs`
//! (`pack`), the mirror of this reader.

use crate::bindings::tracewarden::rule::types as wire;
use crate::{KeyAction, KeyStatus, LinkMethod, Outcome, OwnerSource, Relation};

/// Why bytes are not a packed batch: what was being read and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What was being read (`event 3`, `offsets`).
    pub what: String,
    /// The byte offset where it went wrong.
    pub at: usize,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "malformed packed batch: {} at byte {}",
            self.what, self.at
        )
    }
}

/// Reads a packed batch into the wire tables `on-events` would have been given.
pub fn unpack(bytes: &[u8]) -> Result<wire::Batch, Malformed> {
    let mut r = Reader { bytes, at: 0 };
    let counts = r.counts()?;
    let [n_offsets, n_strings, n_pairs, n_objects, n_events] = counts;
    let raw = r.take(n_offsets.saturating_mul(4), "offsets")?;
    let offsets: Vec<u32> = raw.chunks_exact(4).map(le_u32).collect();
    let strings = r.take(n_strings, "strings")?;
    let strings = std::str::from_utf8(strings)
        .map_err(|e| {
            r.error(&format!(
                "strings (not UTF-8 past byte {})",
                e.valid_up_to()
            ))
        })?
        .to_owned();
    let raw = r.take(n_pairs.saturating_mul(8), "pairs")?;
    let pairs: Vec<wire::Pair> = raw
        .chunks_exact(8)
        .map(|p| wire::Pair {
            name: le_u32(p.get(..4).unwrap_or_default()),
            value: le_u32(p.get(4..).unwrap_or_default()),
        })
        .collect();
    let mut objects = Vec::with_capacity(n_objects.min(bytes.len() / 28));
    for _ in 0..n_objects {
        objects.push(r.object()?);
    }
    let mut events = Vec::with_capacity(n_events.min(bytes.len() / 100));
    for _ in 0..n_events {
        events.push(r.event()?);
    }
    if r.at != bytes.len() {
        return Err(r.error("the end (bytes follow the last event)"));
    }
    Ok(wire::Batch {
        strings,
        offsets,
        pairs,
        objects,
        events,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> Malformed {
        Malformed {
            what: what.to_owned(),
            at: self.at,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.at..end)) {
            Some(b) => {
                self.at += n;
                Ok(b)
            }
            None => Err(self.error(what)),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.array_ref::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(*self.array_ref(what)?))
    }

    fn counts(&mut self) -> Result<[usize; 5], Malformed> {
        let mut counts = [0; 5];
        for c in &mut counts {
            *c = self.u32("the header")? as usize;
        }
        Ok(counts)
    }

    /// The next `N` bytes as one block, read field by field without further checks.
    fn block<const N: usize>(&mut self, what: &str) -> Result<Block<'a, N>, Malformed> {
        let bytes = self.array_ref::<N>(what)?;
        Ok(Block { bytes, at: 0 })
    }

    fn array_ref<const N: usize>(&mut self, what: &str) -> Result<&'a [u8; N], Malformed> {
        let b = self.take(N, what)?;
        <&[u8; N]>::try_from(b).map_err(|_| self.error(what))
    }

    fn object(&mut self) -> Result<wire::ObjectFact, Malformed> {
        const W: &str = "objects";
        let mut b = self.block::<{ 4 * 6 + 1 + 1 + 3 }>(W)?;
        Ok(wire::ObjectFact {
            collection: b.u32(),
            id: b.u32(),
            owner: b.u32(),
            owner_tenant: b.u32(),
            owner_source: choice(OWNER_SOURCES, b.u8()).ok_or_else(|| self.error(W))?,
            owner_event: b.u32(),
            owner_event_source: b.u32(),
            relation: choice(RELATIONS, b.u8()).ok_or_else(|| self.error(W))?,
            known: b.bool(),
            scoped: b.bool(),
            owner_condition: b.bool(),
        })
    }

    fn event(&mut self) -> Result<wire::Event, Malformed> {
        const W: &str = "events";
        // id, times, source, actor, correlation, outcome: 94 bytes.
        let mut b = self.block::<{ 4 + 8 + 8 + (4 + 8 + 8 + 4) + 6 * 4 + 6 * 4 + 1 + 1 }>(W)?;
        let id = b.u32();
        let time_ns = b.i64();
        let precision_ns = b.u64();
        let source = wire::SourceRef {
            file: b.u32(),
            record: b.u64(),
            line: b.u64(),
            format: b.u32(),
        };
        let actor = wire::Actor {
            principal: b.u32(),
            key_id: b.u32(),
            tenant: b.u32(),
            ip: b.u32(),
            user_agent: b.u32(),
            session: b.u32(),
        };
        let mut correlation = wire::Correlation {
            trace_id: b.u32(),
            span_id: b.u32(),
            parent_span_id: b.u32(),
            request_id: b.u32(),
            app_request_id: b.u32(),
            linked_event: b.u32(),
            link: LinkMethod::None,
        };
        correlation.link = choice(LINKS, b.u8()).ok_or_else(|| self.error(W))?;
        let outcome = choice(OUTCOMES, b.u8()).ok_or_else(|| self.error(W))?;
        let detail = match self.u8(W)? {
            0 => {
                let mut b = self.block::<{ 4 * 3 + 2 + 8 + 4 + 8 + 8 }>(W)?;
                wire::Detail::Http(wire::Http {
                    method: b.u32(),
                    path: b.u32(),
                    route: b.u32(),
                    status: b.u16(),
                    duration_ns: b.u64(),
                    query: b.u32(),
                    params: b.pairs(),
                    returned_ids: b.pairs(),
                })
            }
            1 => {
                let mut b = self.block::<{ 4 * 3 + 8 + 1 + 4 + 4 + 1 + 4 + 4 + 1 + 4 }>(W)?;
                let (service, operation, table, key) = (b.u32(), b.u32(), b.u32(), b.pairs());
                let (has_condition, condition, update_expression) = (b.bool(), b.u32(), b.u32());
                let consistent_read = choice(&[None, Some(false), Some(true)], b.u8())
                    .ok_or_else(|| self.error(W))?;
                wire::Detail::DbOperation(wire::DbOperation {
                    service,
                    operation,
                    table,
                    key,
                    has_condition,
                    condition,
                    update_expression,
                    consistent_read,
                    index_name: b.u32(),
                    group_id: b.u32(),
                    is_write: b.bool(),
                    error_code: b.u32(),
                })
            }
            2 => {
                let mut b = self.block::<{ 1 + 4 + 4 + 8 + 4 }>(W)?;
                wire::Detail::KeyLifecycle(wire::KeyLifecycle {
                    action: choice(KEY_ACTIONS, b.u8()).ok_or_else(|| self.error(W))?,
                    key_id: b.u32(),
                    owner: b.u32(),
                    scopes: b.pairs(),
                    parent_key_id: b.u32(),
                })
            }
            3 => {
                let mut b = self.block::<{ 1 + 4 * 3 }>(W)?;
                wire::Detail::AuthDecision(wire::AuthDecision {
                    allowed: b.bool(),
                    action: b.u32(),
                    resource: b.u32(),
                    policy: b.u32(),
                })
            }
            _ => return Err(self.error("an event's detail")),
        };
        // attributes, objects, privileged, request method and route, key present: 26 bytes.
        let mut b = self.block::<{ 8 + 8 + 1 + 4 + 4 + 1 }>(W)?;
        let attributes = b.pairs();
        let objects = wire::ObjectsRange {
            start: b.u32(),
            len: b.u32(),
        };
        let privileged = b.bool();
        let request_method = b.u32();
        let request_route = b.u32();
        let key = match b.u8() {
            0 => None,
            1 => Some(self.key_fact()?),
            _ => return Err(self.error(W)),
        };
        Ok(wire::Event {
            id,
            time_ns,
            precision_ns,
            source,
            actor,
            correlation,
            outcome,
            detail,
            attributes,
            facts: wire::Facts {
                objects,
                privileged,
                key,
                request_method,
                request_route,
            },
        })
    }

    fn key_fact(&mut self) -> Result<wire::KeyFact, Malformed> {
        const W: &str = "key facts";
        let mut b = self.block::<{
            4 + 1 + 4 + 8 + 8 + 4 + 4 + 8 + 1 + 8 + 8 + 4 + 4 + 8 + 4 + 8 + 8 + 4 + 4
        }>(W)?;
        let key_id = b.u32();
        let status = choice(KEY_STATUSES, b.u8()).ok_or_else(|| self.error(W))?;
        Ok(wire::KeyFact {
            key_id,
            status,
            owner: b.u32(),
            created_ns: b.i64(),
            revoked_ns: b.i64(),
            revoked_event: b.u32(),
            revoked_event_source: b.u32(),
            scopes: b.pairs(),
            scopes_known: b.bool(),
            removed_scopes: b.pairs(),
            scope_changed_ns: b.i64(),
            scope_event: b.u32(),
            scope_event_source: b.u32(),
            last_used_ns: b.i64(),
            parent_key_id: b.u32(),
            issued_ns: b.i64(),
            parent_revoked_ns: b.i64(),
            parent_revoked_event: b.u32(),
            parent_revoked_event_source: b.u32(),
        })
    }
}

/// A run of fixed fields, read in order from bytes already checked to be there: each read is a
/// copy at a place the compiler knows, with no error to carry.
struct Block<'a, const N: usize> {
    bytes: &'a [u8; N],
    at: usize,
}

impl<const N: usize> Block<'_, N> {
    #[inline(always)]
    fn le<const W: usize>(&mut self) -> [u8; W] {
        let mut out = [0; W];
        if let Some(b) = self.bytes.get(self.at..self.at + W) {
            out.copy_from_slice(b);
        }
        self.at += W;
        out
    }

    #[inline(always)]
    fn u8(&mut self) -> u8 {
        self.le::<1>()[0]
    }

    /// Any byte but 0 is true (the host writes 1).
    #[inline(always)]
    fn bool(&mut self) -> bool {
        self.u8() != 0
    }

    #[inline(always)]
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.le())
    }

    #[inline(always)]
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.le())
    }

    #[inline(always)]
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.le())
    }

    #[inline(always)]
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.le())
    }

    #[inline(always)]
    fn pairs(&mut self) -> wire::PairsRange {
        wire::PairsRange {
            start: self.u32(),
            len: self.u32(),
        }
    }
}

/// Four bytes (as `chunks_exact(4)` gives them) as a little-endian u32.
#[inline(always)]
fn le_u32(b: &[u8]) -> u32 {
    <[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes)
}

/// A one-byte enum's value, by its position in `wit/rule.wit`.
#[inline(always)]
fn choice<T: Copy>(values: &[T], i: u8) -> Option<T> {
    values.get(usize::from(i)).copied()
}

// Each enum's cases in `wit/rule.wit`'s order: a case's byte is its position.
const OUTCOMES: &[Outcome] = &[
    Outcome::Success,
    Outcome::Denied,
    Outcome::NotFound,
    Outcome::Conflict,
    Outcome::Throttled,
    Outcome::Error,
    Outcome::Unknown,
];
const LINKS: &[LinkMethod] = &[
    LinkMethod::None,
    LinkMethod::TraceId,
    LinkMethod::AwsRequestId,
    LinkMethod::RequestHeader,
    LinkMethod::PrincipalWindow,
];
const KEY_ACTIONS: &[KeyAction] = &[
    KeyAction::Created,
    KeyAction::Activated,
    KeyAction::Deactivated,
    KeyAction::Deleted,
    KeyAction::Rotated,
    KeyAction::ScopeChanged,
];
const OWNER_SOURCES: &[OwnerSource] = &[
    OwnerSource::Unknown,
    OwnerSource::Path,
    OwnerSource::KeyPrefix,
    OwnerSource::KeyAttribute,
    OwnerSource::Creator,
    OwnerSource::Condition,
    OwnerSource::Mapping,
    OwnerSource::Public,
    OwnerSource::Transfer,
];
const RELATIONS: &[Relation] = &[
    Relation::Unknown,
    Relation::Own,
    Relation::Other,
    Relation::Granted,
];
const KEY_STATUSES: &[KeyStatus] = &[
    KeyStatus::Unknown,
    KeyStatus::Active,
    KeyStatus::Inactive,
    KeyStatus::Deleted,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_enum_table_is_in_declaration_order() {
        // A case's byte is its discriminant, as the host writes `case as u8`.
        for (i, v) in OUTCOMES.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in LINKS.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in KEY_ACTIONS.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in OWNER_SOURCES.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in RELATIONS.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in KEY_STATUSES.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
    }

    #[test]
    fn cut_or_padded_bytes_are_named_errors() {
        let empty = [0u8; 20];
        let batch = unpack(&empty).unwrap();
        assert!(batch.events.is_empty() && batch.strings.is_empty());
        assert_eq!(
            unpack(&empty[..19]).unwrap_err(),
            Malformed {
                what: "the header".to_owned(),
                at: 16
            }
        );
        let mut padded = empty.to_vec();
        padded.push(0);
        assert_eq!(
            unpack(&padded).unwrap_err().to_string(),
            "malformed packed batch: the end (bytes follow the last event) at byte 20"
        );
        // One event announced, none there.
        let mut one = empty.to_vec();
        one[16] = 1;
        assert_eq!(
            unpack(&one).unwrap_err().to_string(),
            "malformed packed batch: events at byte 20"
        );
    }
}
