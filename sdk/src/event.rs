//! Borrowed views of normalized events: what a rule reads. Decoded from a wire batch without
//! allocating, or built directly in native tests.

mod access;

use crate::bindings::tracewarden::rule::types as wire;
use crate::{EventKind, KeyAction, KeyStatus, LinkMethod, Outcome, OwnerSource, Relation};

/// A batch's string table, each string cut out of the blob once for all the views of the
/// batch: string `i` is `blob[offsets[i]..offsets[i + 1]]` ([`Strings::resolve`]).
#[derive(Clone, Copy)]
pub(crate) struct Strings<'a>(pub(crate) &'a [&'a str]);

impl<'a> Strings<'a> {
    /// The strings of `blob` cut at `offsets`; a string whose offsets are out of range or not
    /// at character boundaries is empty.
    pub(crate) fn resolve(blob: &'a str, offsets: &[u32]) -> Vec<&'a str> {
        offsets
            .iter()
            .zip(offsets.iter().skip(1))
            .map(|(&start, &end)| blob.get(start as usize..end as usize).unwrap_or(""))
            .collect()
    }

    /// The string at `index`; the empty string for index 0 or an index out of range.
    pub(crate) fn get(&self, index: u32) -> &'a str {
        self.0.get(index as usize).copied().unwrap_or("")
    }
}

/// Name/value pairs: an item key, attributes, path parameters, scopes.
#[derive(Clone, Copy)]
pub struct Pairs<'a>(PairsRepr<'a>);

#[derive(Clone, Copy)]
enum PairsRepr<'a> {
    Wire {
        pairs: &'a [wire::Pair],
        strings: Strings<'a>,
    },
    Slice(&'a [(&'a str, &'a str)]),
}

impl<'a> Pairs<'a> {
    /// No pairs.
    pub const EMPTY: Pairs<'static> = Pairs(PairsRepr::Slice(&[]));

    /// Pairs from a slice (native tests, builders).
    pub const fn from_slice(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Pairs(PairsRepr::Slice(pairs))
    }

    pub(crate) fn from_wire(
        range: wire::PairsRange,
        all: &'a [wire::Pair],
        strings: Strings<'a>,
    ) -> Self {
        let start = range.start as usize;
        let end = start.saturating_add(range.len as usize);
        Pairs(PairsRepr::Wire {
            pairs: all.get(start..end).unwrap_or(&[]),
            strings,
        })
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        match self.0 {
            PairsRepr::Wire { pairs, .. } => pairs.len(),
            PairsRepr::Slice(pairs) => pairs.len(),
        }
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.at(i))
    }

    /// The value of the first pair named `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn at(&self, i: usize) -> Option<(&'a str, &'a str)> {
        match self.0 {
            PairsRepr::Wire { pairs, strings } => pairs
                .get(i)
                .map(|p| (strings.get(p.name), strings.get(p.value))),
            PairsRepr::Slice(pairs) => pairs.get(i).copied(),
        }
    }
}

impl std::fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for Pairs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Pairs<'_> {
    /// Appends the canonical text of the pairs ([`Display`](std::fmt::Display)'s) to `out`,
    /// without the formatting machinery: item keys are written for every event of a DB rule.
    pub fn push_to(&self, out: &mut String) {
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
    }
}

impl std::fmt::Display for Pairs<'_> {
    /// `name=value` pairs joined by `,`: a canonical text form of an item key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SourceRef<'a> {
    /// The input file.
    pub file: &'a str,
    /// 1-based record index within the file.
    pub record: u64,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// The input format.
    pub format: &'a str,
}

impl SourceRef<'_> {
    /// Its [`Display`](std::fmt::Display) text, `file:line` or `file#record`, built with the
    /// formatting machinery for the number alone: evidence names its source for every event a
    /// rule keeps.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let (sep, n) = if self.line > 0 {
            (':', self.line)
        } else {
            ('#', self.record)
        };
        let mut out = String::with_capacity(self.file.len() + 21);
        out.push_str(self.file);
        out.push(sep);
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{n}");
        out
    }
}

impl std::fmt::Display for SourceRef<'_> {
    /// `file:line` when the line is known, else `file#record`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// Who acted. Empty strings mean "not known".
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Actor<'a> {
    /// The authenticated principal.
    pub principal: &'a str,
    /// A stable key id, never key material.
    pub key_id: &'a str,
    /// The tenant or account.
    pub tenant: &'a str,
    /// The client address.
    pub ip: &'a str,
    /// The client's user agent.
    pub user_agent: &'a str,
    /// The session.
    pub session: &'a str,
}

/// Links between events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correlation<'a> {
    /// Trace id.
    pub trace_id: &'a str,
    /// Span id.
    pub span_id: &'a str,
    /// Parent span id.
    pub parent_span_id: &'a str,
    /// The id the logging service gave this call (AWS request id, gateway request id).
    pub request_id: &'a str,
    /// The application request id propagated in headers (`X-Request-Id`).
    pub app_request_id: &'a str,
    /// The event this one was linked to.
    pub linked_event: &'a str,
    /// How it was linked.
    pub link: LinkMethod,
}

impl Default for Correlation<'_> {
    fn default() -> Self {
        Correlation {
            trace_id: "",
            span_id: "",
            parent_span_id: "",
            request_id: "",
            app_request_id: "",
            linked_event: "",
            link: LinkMethod::None,
        }
    }
}

/// An HTTP request and response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Http<'a> {
    /// Method.
    pub method: &'a str,
    /// Path, without the query.
    pub path: &'a str,
    /// Route template when known.
    pub route: &'a str,
    /// Status; 0 when no response was recorded.
    pub status: u16,
    /// How long the request took, in nanoseconds; 0 when not recorded.
    pub duration_ns: u64,
    /// Query string.
    pub query: &'a str,
    /// Path parameters / object ids.
    pub params: Pairs<'a>,
    /// Object ids the response returned (`location`, JSON id fields).
    pub returned_ids: Pairs<'a>,
}

/// A database operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbOperation<'a> {
    /// `dynamodb` for DynamoDB.
    pub service: &'a str,
    /// API operation (`GetItem`, `UpdateItem`, ...).
    pub operation: &'a str,
    /// Table.
    pub table: &'a str,
    /// Item key, sorted by name.
    pub key: Pairs<'a>,
    /// Whether a condition was present.
    pub has_condition: bool,
    /// The condition's text.
    pub condition: &'a str,
    /// The update expression.
    pub update_expression: &'a str,
    /// Consistent read, when the request said.
    pub consistent_read: Option<bool>,
    /// Secondary index read.
    pub index_name: &'a str,
    /// Transaction or batch group.
    pub group_id: &'a str,
    /// Whether the operation writes.
    pub is_write: bool,
    /// Error code, empty on success.
    pub error_code: &'a str,
}

/// A credential lifecycle change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyLifecycle<'a> {
    /// What happened.
    pub action: KeyAction,
    /// The key acted on.
    pub key_id: &'a str,
    /// Its owner.
    pub owner: &'a str,
    /// Scopes after the change (scope in the name).
    pub scopes: Pairs<'a>,
    /// For derived credentials (STS session credentials): the key they were obtained with.
    pub parent_key_id: &'a str,
}

/// An authentication or authorization decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuthDecision<'a> {
    /// Whether access was granted.
    pub allowed: bool,
    /// The action asked for.
    pub action: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// The deciding policy or mechanism.
    pub policy: &'a str,
}

/// The kind-specific part of an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Detail<'a> {
    /// HTTP.
    Http(Http<'a>),
    /// Database operation.
    Db(DbOperation<'a>),
    /// Key lifecycle.
    Key(KeyLifecycle<'a>),
    /// Auth decision.
    Auth(AuthDecision<'a>),
}

/// One normalized event, borrowed from its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event<'a> {
    /// Stable id.
    pub id: &'a str,
    /// Unix time, ns.
    pub time_ns: i64,
    /// Time precision, ns.
    pub precision_ns: u64,
    /// Origin.
    pub source: SourceRef<'a>,
    /// Who acted.
    pub actor: Actor<'a>,
    /// Links.
    pub correlation: Correlation<'a>,
    /// How it ended.
    pub outcome: Outcome,
    /// Kind-specific part.
    pub detail: Detail<'a>,
    /// Format-specific extras.
    pub attributes: Pairs<'a>,
    /// What the engine's enrichment stage knew at this event.
    pub facts: Facts<'a>,
}

/// Facts the engine's enrichment stage computed for an event, from the events before it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Facts<'a> {
    /// The objects the event touches, with their owners as known just before the event.
    pub objects: Objects<'a>,
    /// The actor is declared privileged (an administrator or a service).
    pub privileged: bool,
    /// The actor's key in the lifecycle ledger, when the event names one.
    pub key: Option<KeyFact<'a>>,
    /// The method of the HTTP request that issued the event (its own for an HTTP event, its
    /// request's for a linked DB call); empty when unknown.
    pub request_method: &'a str,
    /// That request's route template (`/docs/{id}`); empty when unknown.
    pub request_route: &'a str,
}

/// A key's state in the lifecycle ledger just before the event. Times are Unix ns; 0 means "not
/// known" or "never".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyFact<'a> {
    /// The key.
    pub key_id: &'a str,
    /// Its status.
    pub status: KeyStatus,
    /// Its owner, when a lifecycle record said.
    pub owner: &'a str,
    /// When it was created.
    pub created_ns: i64,
    /// When it was last revoked (deactivated or deleted) and not activated since.
    pub revoked_ns: i64,
    /// The revoking event.
    pub revoked_event: &'a str,
    /// Where it came from (`file:line`).
    pub revoked_event_source: &'a str,
    /// Its scopes (scope in the name), when `scopes_known`.
    pub scopes: Pairs<'a>,
    /// Whether the scopes are known.
    pub scopes_known: bool,
    /// The scopes the last scope change removed.
    pub removed_scopes: Pairs<'a>,
    /// When that change happened.
    pub scope_changed_ns: i64,
    /// The scope change event.
    pub scope_event: &'a str,
    /// Where it came from.
    pub scope_event_source: &'a str,
    /// The key's previous use.
    pub last_used_ns: i64,
    /// For derived credentials: the key they were obtained with.
    pub parent_key_id: &'a str,
    /// When they were obtained.
    pub issued_ns: i64,
    /// When the parent key was revoked.
    pub parent_revoked_ns: i64,
    /// The parent's revoking event.
    pub parent_revoked_event: &'a str,
    /// Where it came from.
    pub parent_revoked_event_source: &'a str,
}

impl KeyFact<'static> {
    /// A key nothing is known of.
    pub const UNKNOWN: KeyFact<'static> = KeyFact {
        key_id: "",
        status: KeyStatus::Unknown,
        owner: "",
        created_ns: 0,
        revoked_ns: 0,
        revoked_event: "",
        revoked_event_source: "",
        scopes: Pairs::EMPTY,
        scopes_known: false,
        removed_scopes: Pairs::EMPTY,
        scope_changed_ns: 0,
        scope_event: "",
        scope_event_source: "",
        last_used_ns: 0,
        parent_key_id: "",
        issued_ns: 0,
        parent_revoked_ns: 0,
        parent_revoked_event: "",
        parent_revoked_event_source: "",
    };
}

impl<'a> KeyFact<'a> {
    fn from_wire(k: &wire::KeyFact, pairs: &'a [wire::Pair], s: Strings<'a>) -> Self {
        KeyFact {
            key_id: s.get(k.key_id),
            status: k.status,
            owner: s.get(k.owner),
            created_ns: k.created_ns,
            revoked_ns: k.revoked_ns,
            revoked_event: s.get(k.revoked_event),
            revoked_event_source: s.get(k.revoked_event_source),
            scopes: Pairs::from_wire(k.scopes, pairs, s),
            scopes_known: k.scopes_known,
            removed_scopes: Pairs::from_wire(k.removed_scopes, pairs, s),
            scope_changed_ns: k.scope_changed_ns,
            scope_event: s.get(k.scope_event),
            scope_event_source: s.get(k.scope_event_source),
            last_used_ns: k.last_used_ns,
            parent_key_id: s.get(k.parent_key_id),
            issued_ns: k.issued_ns,
            parent_revoked_ns: k.parent_revoked_ns,
            parent_revoked_event: s.get(k.parent_revoked_event),
            parent_revoked_event_source: s.get(k.parent_revoked_event_source),
        }
    }
}

/// One object an event touches, with what the ownership model knew of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectFact<'a> {
    /// The path segment naming the object's kind (`orders`), or the table.
    pub collection: &'a str,
    /// The path id, or the item key as `name=value` pairs joined by `,`.
    pub id: &'a str,
    /// The owning principal, when known.
    pub owner: &'a str,
    /// The owning tenant, when known.
    pub owner_tenant: &'a str,
    /// How the owner was learnt.
    pub owner_source: OwnerSource,
    /// The event the owner was learnt from (`creator`, `condition`).
    pub owner_event: &'a str,
    /// Where that event came from (`file:line`).
    pub owner_event_source: &'a str,
    /// The actor against the owner.
    pub relation: Relation,
    /// The id was returned to the actor earlier, or they created it.
    pub known: bool,
    /// The collection is owner-scoped.
    pub scoped: bool,
    /// This write carries a condition on an owner attribute.
    pub owner_condition: bool,
}

impl ObjectFact<'static> {
    /// An object with nothing known of its owner.
    pub const UNKNOWN: ObjectFact<'static> = ObjectFact {
        collection: "",
        id: "",
        owner: "",
        owner_tenant: "",
        owner_source: OwnerSource::Unknown,
        owner_event: "",
        owner_event_source: "",
        relation: Relation::Unknown,
        known: false,
        scoped: false,
        owner_condition: false,
    };
}

/// The objects of an event's facts.
#[derive(Clone, Copy)]
pub struct Objects<'a>(ObjectsRepr<'a>);

#[derive(Clone, Copy)]
enum ObjectsRepr<'a> {
    Wire {
        objects: &'a [wire::ObjectFact],
        strings: Strings<'a>,
    },
    Slice(&'a [ObjectFact<'a>]),
}

impl Default for Objects<'_> {
    fn default() -> Self {
        Objects(ObjectsRepr::Slice(&[]))
    }
}

impl<'a> Objects<'a> {
    /// Objects from a slice (native tests, builders).
    pub const fn from_slice(objects: &'a [ObjectFact<'a>]) -> Self {
        Objects(ObjectsRepr::Slice(objects))
    }

    pub(crate) fn from_wire(
        range: wire::ObjectsRange,
        all: &'a [wire::ObjectFact],
        strings: Strings<'a>,
    ) -> Self {
        let start = range.start as usize;
        let end = start.saturating_add(range.len as usize);
        Objects(ObjectsRepr::Wire {
            objects: all.get(start..end).unwrap_or(&[]),
            strings,
        })
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        match self.0 {
            ObjectsRepr::Wire { objects, .. } => objects.len(),
            ObjectsRepr::Slice(s) => s.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects, in path order.
    pub fn iter(&self) -> impl Iterator<Item = ObjectFact<'a>> + 'a {
        let (wire, slice) = match self.0 {
            ObjectsRepr::Wire { objects, strings } => (Some((objects, strings)), &[][..]),
            ObjectsRepr::Slice(s) => (None, s),
        };
        let from_wire = wire.into_iter().flat_map(|(objects, s)| {
            objects.iter().map(move |o| ObjectFact {
                collection: s.get(o.collection),
                id: s.get(o.id),
                owner: s.get(o.owner),
                owner_tenant: s.get(o.owner_tenant),
                owner_source: o.owner_source,
                owner_event: s.get(o.owner_event),
                owner_event_source: s.get(o.owner_event_source),
                relation: o.relation,
                known: o.known,
                scoped: o.scoped,
                owner_condition: o.owner_condition,
            })
        });
        from_wire.chain(slice.iter().copied())
    }
}

impl std::fmt::Debug for Objects<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Objects<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a> Event<'a> {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self.detail {
            Detail::Http(_) => EventKind::Http,
            Detail::Db(_) => EventKind::DbOperation,
            Detail::Key(_) => EventKind::KeyLifecycle,
            Detail::Auth(_) => EventKind::AuthDecision,
        }
    }

    /// The DB operation, if this is one.
    pub fn db(&self) -> Option<&DbOperation<'a>> {
        match &self.detail {
            Detail::Db(db) => Some(db),
            _ => None,
        }
    }

    /// The HTTP exchange, if this is one.
    pub fn http(&self) -> Option<&Http<'a>> {
        match &self.detail {
            Detail::Http(http) => Some(http),
            _ => None,
        }
    }

    pub(crate) fn from_wire(
        e: &wire::Event,
        pairs: &'a [wire::Pair],
        objects: &'a [wire::ObjectFact],
        s: Strings<'a>,
    ) -> Self {
        let detail = match &e.detail {
            wire::Detail::Http(h) => Detail::Http(Http {
                method: s.get(h.method),
                path: s.get(h.path),
                route: s.get(h.route),
                status: h.status,
                duration_ns: h.duration_ns,
                query: s.get(h.query),
                params: Pairs::from_wire(h.params, pairs, s),
                returned_ids: Pairs::from_wire(h.returned_ids, pairs, s),
            }),
            wire::Detail::DbOperation(d) => Detail::Db(DbOperation {
                service: s.get(d.service),
                operation: s.get(d.operation),
                table: s.get(d.table),
                key: Pairs::from_wire(d.key, pairs, s),
                has_condition: d.has_condition,
                condition: s.get(d.condition),
                update_expression: s.get(d.update_expression),
                consistent_read: d.consistent_read,
                index_name: s.get(d.index_name),
                group_id: s.get(d.group_id),
                is_write: d.is_write,
                error_code: s.get(d.error_code),
            }),
            wire::Detail::KeyLifecycle(k) => Detail::Key(KeyLifecycle {
                action: k.action,
                key_id: s.get(k.key_id),
                owner: s.get(k.owner),
                scopes: Pairs::from_wire(k.scopes, pairs, s),
                parent_key_id: s.get(k.parent_key_id),
            }),
            wire::Detail::AuthDecision(a) => Detail::Auth(AuthDecision {
                allowed: a.allowed,
                action: s.get(a.action),
                resource: s.get(a.resource),
                policy: s.get(a.policy),
            }),
        };
        Event {
            id: s.get(e.id),
            time_ns: e.time_ns,
            precision_ns: e.precision_ns,
            source: SourceRef {
                file: s.get(e.source.file),
                record: e.source.record,
                line: e.source.line,
                format: s.get(e.source.format),
            },
            actor: Actor {
                principal: s.get(e.actor.principal),
                key_id: s.get(e.actor.key_id),
                tenant: s.get(e.actor.tenant),
                ip: s.get(e.actor.ip),
                user_agent: s.get(e.actor.user_agent),
                session: s.get(e.actor.session),
            },
            correlation: Correlation {
                trace_id: s.get(e.correlation.trace_id),
                span_id: s.get(e.correlation.span_id),
                parent_span_id: s.get(e.correlation.parent_span_id),
                request_id: s.get(e.correlation.request_id),
                app_request_id: s.get(e.correlation.app_request_id),
                linked_event: s.get(e.correlation.linked_event),
                link: e.correlation.link,
            },
            outcome: e.outcome,
            detail,
            attributes: Pairs::from_wire(e.attributes, pairs, s),
            facts: Facts {
                objects: Objects::from_wire(e.facts.objects, objects, s),
                privileged: e.facts.privileged,
                key: e
                    .facts
                    .key
                    .as_ref()
                    .map(|k| KeyFact::from_wire(k, pairs, s)),
                request_method: s.get(e.facts.request_method),
                request_route: s.get(e.facts.request_route),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Strings;

    /// Each string of a batch is cut out of its blob once; an index out of the table, offsets
    /// out of the blob or inside a character give the empty string, as a lookup did before.
    #[test]
    fn a_batch_s_strings_are_cut_once_and_read_by_index() {
        let blob = "GetItemOrdersé";
        // "", "GetItem", "Orders", "é" cut inside (13..14), offsets past the blob (15..99).
        let offsets = [0, 0, 7, 13, 14, 15, 99];
        let table = Strings::resolve(blob, &offsets);
        assert_eq!(table, ["", "GetItem", "Orders", "", "", ""]);
        let strings = Strings(&table);
        assert_eq!(strings.get(1), "GetItem");
        assert_eq!(strings.get(2), "Orders");
        assert_eq!(strings.get(0), "");
        assert_eq!(strings.get(6), "");
        assert_eq!(strings.get(u32::MAX), "");
        assert!(Strings::resolve(blob, &[]).is_empty());
    }
}
