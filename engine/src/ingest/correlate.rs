//! Correlation: one pass over the time-ordered stream that (1) merges the same call seen by two
//! sources into one event and (2) links each DB operation to the HTTP request that caused it,
//! moving actor facts across the link.
//!
//! Events wait in a buffer for `window` of log time before they are released, so a partner that
//! comes later (CloudTrail's whole seconds can put a DB call before its request) is still found;
//! an event no later one could find (filed under no index, in a stream that cannot link) leaves
//! at once when nothing waits before it. Every pair of events within the window is looked at
//! once, when the later one arrives. Matches are chosen by log time, then stream order, never by
//! hash order, so the result is deterministic.
//!
//! Join keys, strongest first:
//! - merges: the AWS request id (OTel `aws.request_id` = `x-amzn-RequestId` = CloudTrail
//!   `requestID`) or the same trace and span id, for DB calls; the same application request id,
//!   method and path for HTTP requests;
//! - links: the same trace id; the AWS request id of a gateway's integration call
//!   (`integration_request_id`); the same application request-id header; else the same
//!   principal within a short window of the request.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use foldhash::fast::FixedState;
use smallvec::SmallVec;
use std::hash::{BuildHasher, Hash, Hasher};

// The index holds 64-bit digests of its values, not the strings: no allocation and one short
// hash per entry. Two values sharing a digest (about n²/2⁶⁵ among the n entries buffered within
// the window, ~3·10⁻¹² for 10,000) would only be looked at as candidates, which must still be of
// the same kind (merges) or time (links).
use crate::digest::{Digest, of as digest};
use crate::event::{DbOperation, Detail, Event, LinkMethod, SmolStr};

/// Position in the stream: log time, then read order (the input's place in path order, then the
/// event's within its input), then item within a merged group.
pub(super) type Key = (i64, u32, u64, u32);

/// An event with its place in the stream and the input it came from.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub key: Key,
    pub input: u32,
    /// Boxed: an event is a kilobyte, and it moves from run to merge to window to stream.
    pub event: Box<Event>,
}

/// Correlation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationOptions {
    /// How much log time events wait for a partner (default 30 s).
    pub window_ns: i64,
    /// How long after a request's start (plus its duration) a DB call by the same principal is
    /// still linked to it (default 2 s).
    pub principal_window_ns: i64,
    /// Most events held at once; beyond it the oldest are released early (default 200,000).
    pub max_buffered: usize,
}

impl Default for CorrelationOptions {
    fn default() -> Self {
        CorrelationOptions {
            window_ns: 30_000_000_000,
            principal_window_ns: 2_000_000_000,
            max_buffered: 200_000,
        }
    }
}

/// The attribute naming the events merged into this one.
pub const MERGED_FROM: &str = "merged_from";
/// The attribute keeping a DB call's own AWS principal when it took the request's end user.
pub const AWS_PRINCIPAL: &str = "aws_principal";
/// The attribute an HTTP event from a gateway carries for its integration's AWS request id.
pub const INTEGRATION_REQUEST_ID: &str = "integration_request_id";
/// The attribute marking a DB event whose item key its source does not record (OTel spans).
pub const KEY_UNKNOWN: &str = "key_unknown";

/// What an index entry is keyed by. Each index maps an id to the buffered events that carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    /// Source-given record id (`ct:<eventID>`, `gw:<requestId>`…): the same record twice.
    Record,
    /// Content fingerprint (format and every field but id and source): the same record in two
    /// inputs whose ids are positional (a HAR or request log given twice).
    Content,
    /// DB call id + operation + table + item key.
    DbCall,
    /// DB call id + operation + table, for a record that could not name the key.
    DbCallAny,
    /// DB call id, keyed events (what a keyless span of the call covers).
    DbKeyed,
    /// DB call id, keyless events (spans).
    DbKeyless,
    DbTrace,
    DbApp,
    DbPrincipal,
    DbIntegration,
    HttpTrace,
    HttpApp,
    HttpPrincipal,
    HttpIntegration,
}

const INDEXES: usize = Index::HttpIntegration as usize + 1;

/// Most buffered events one id gathers in one index. Beyond it the oldest entry makes way and is
/// counted ([`Correlator::crowded`]): an id shared by thousands of events (a log that repeats one
/// request id, a hostile 100k-item transaction) costs constant time per event, not time in the
/// number of events sharing it. Above DynamoDB's largest honest fan-in (100 items in a
/// `TransactWriteItems`).
pub const MAX_FAN_IN: usize = 128;

/// The buffered events filed under one value, in the order they were filed: most values are
/// carried by one event, kept inline; a value many share (a principal, a shared request id) keeps
/// up to [`MAX_FAN_IN`] in a ring, so that the oldest makes way, or leaves the buffer first, in
/// constant time instead of moving the rest.
#[derive(Debug)]
enum Filed {
    One(Key),
    Many(VecDeque<Key>),
}

impl Filed {
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Filed::One(_) => 1,
            Filed::Many(keys) => keys.len(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Key> {
        let (one, many) = match self {
            Filed::One(key) => (Some(key), None),
            Filed::Many(keys) => (None, Some(keys.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Files `key` last; past [`MAX_FAN_IN`] the first filed makes way. Whether one did.
    fn push(&mut self, key: Key) -> bool {
        let keys = match self {
            Filed::One(first) => {
                *self = Filed::Many(VecDeque::from([*first, key]));
                return false;
            }
            Filed::Many(keys) => keys,
        };
        let crowded = keys.len() >= MAX_FAN_IN;
        if crowded {
            keys.pop_front();
        }
        keys.push_back(key);
        crowded
    }

    /// Takes `key` out wherever it was filed (an event leaves in stream order, so mostly the
    /// first). Whether none is left.
    fn remove(&mut self, key: Key) -> bool {
        match self {
            Filed::One(k) => *k == key,
            Filed::Many(keys) => {
                // One insert files a key's copies under one value together (nothing else is
                // filed between them), so they form one run: found at its start, mostly the
                // front, and taken out without looking at the rest.
                if let Some(at) = keys.iter().position(|k| *k == key) {
                    let run = keys.range(at..).take_while(|k| **k == key).count();
                    keys.drain(at..at + run);
                }
                keys.is_empty()
            }
        }
    }
}

/// A buffered event with what it was read as.
struct Slot {
    input: u32,
    event: Box<Event>,
    /// Content fingerprint, taken as read (before links or merges change the event); only for an
    /// event whose id is positional ([`positional_id`]: merges and links keep the id).
    content: Option<u64>,
    /// The index entries it was filed under, so it leaves exactly those.
    entries: Entries,
}

/// The buffered events by key, oldest first. Events arrive in key order, so a new one goes at
/// the back; only a merge files an event under a key between others (an older key, or the
/// newest record's key with another item index). A removed event leaves its key behind, empty,
/// until it reaches either end: a merge files the result again under a key it has just emptied
/// or one next to it, and the oldest events leave from the front. Where a `BTreeMap` searched
/// and rebalanced for every event, adding at the back and taking from the front is constant
/// time; lookups by key are a binary search either way.
#[derive(Default)]
struct Window {
    slots: VecDeque<(Key, Option<Box<Slot>>)>,
    /// Slots that hold an event.
    held: usize,
}

impl Window {
    fn len(&self) -> usize {
        self.held
    }

    fn find(&self, key: &Key) -> Result<usize, usize> {
        // The oldest event is the one most looked for: it is the one that leaves.
        if self.slots.front().is_some_and(|(k, _)| k == key) {
            return Ok(0);
        }
        self.slots.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The oldest event's key (the front always holds one: empty ends are dropped).
    fn first_key(&self) -> Option<Key> {
        self.slots.front().map(|(k, _)| *k)
    }

    fn get(&self, key: &Key) -> Option<&Slot> {
        let i = self.find(key).ok()?;
        self.slots.get(i).and_then(|(_, s)| s.as_deref())
    }

    fn insert(&mut self, key: Key, slot: Box<Slot>) {
        if self.slots.back().is_none_or(|(last, _)| *last < key) {
            self.slots.push_back((key, Some(slot)));
            self.held += 1;
            return;
        }
        match self.find(&key) {
            Ok(i) => {
                if let Some((_, held)) = self.slots.get_mut(i) {
                    if held.is_none() {
                        self.held += 1;
                    }
                    *held = Some(slot);
                }
            }
            Err(i) => {
                self.slots.insert(i, (key, Some(slot)));
                self.held += 1;
            }
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Box<Slot>> {
        let i = self.find(key).ok()?;
        let slot = self.slots.get_mut(i).and_then(|(_, s)| s.take())?;
        self.held -= 1;
        while self.slots.front().is_some_and(|(_, s)| s.is_none()) {
            self.slots.pop_front();
        }
        while self.slots.back().is_some_and(|(_, s)| s.is_none()) {
            self.slots.pop_back();
        }
        Some(slot)
    }
}

/// The correlator. Push events in stream order; take released events with [`Correlator::pop`].
pub(super) struct Correlator {
    options: CorrelationOptions,
    /// Boxed: the window moves slots as it grows and shrinks, and a slot's index entries are
    /// inline.
    buffer: Window,
    /// Events released as they came: filed under no index (nothing can merge into them), with
    /// nothing buffered before them, in a stream where nothing links. Older than anything
    /// buffered, so they leave first.
    through: VecDeque<Box<Event>>,
    /// Per index, the buffered events by the digest of the value they carry ([`digest`]).
    index: Vec<HashMap<u64, Filed, FixedState>>,
    newest: i64,
    /// Per input: how many of its events were merged into another.
    pub merged: Vec<u64>,
    /// Index entries that made way for newer ones under an id shared by more than
    /// [`MAX_FAN_IN`] buffered events.
    pub crowded: u64,
    /// Whether the stream holds both HTTP requests and DB calls. When it does not, nothing can
    /// link, and the indexes only links read are not kept.
    links: bool,
    /// Whether the stream holds a DB call without item keys (an OTel span). When it does not,
    /// nothing is merged into the keyed calls a span covers, and the index only spans read
    /// ([`Index::DbKeyed`]) is not kept.
    keyless: bool,
}

impl Correlator {
    /// `links`: whether the stream holds both HTTP requests and DB calls; `keyless`: whether it
    /// holds a DB call without item keys.
    pub(super) fn new(
        options: CorrelationOptions,
        inputs: usize,
        links: bool,
        keyless: bool,
    ) -> Self {
        Correlator {
            links,
            keyless,
            options,
            buffer: Window::default(),
            through: VecDeque::new(),
            index: (0..INDEXES).map(|_| HashMap::default()).collect(),
            newest: i64::MIN,
            merged: vec![0; inputs],
            crowded: 0,
        }
    }

    /// Adds the next event of the stream.
    pub(super) fn push(&mut self, p: Pending) {
        self.newest = self.newest.max(p.key.0);
        // Only an event whose id says where it was read needs its content to find its twin in
        // another input; a source-given id finds it by the id.
        // With one input there is no other input to hold the same record: no fingerprint.
        let across = self.across_inputs();
        let content =
            positional_id(&p.event).then(|| if across { fingerprint(&p.event) } else { 0 });
        let digests = Digests::of(&p.event, content, across, self.keyless);
        let (mut keys, merged) = match self.duplicates_of(&p.event, content, p.input, &digests) {
            Some(targets) => (self.merge(p, content, targets), true),
            None => {
                let key = p.key;
                let entries = index_keys(&p.event, &digests, self.links, self.keyless);
                // Nothing can find it and nothing before it waits: it leaves as it came (a key
                // inventory's lifecycle changes, in a stream of no HTTP requests).
                if entries.is_empty() && !self.links && self.buffer.len() == 0 {
                    self.through.push_back(p.event);
                    return;
                }
                self.insert_entries(key, p.input, p.event, content, entries);
                (vec![key], false)
            }
        };
        // A merge fills gaps (a trace id, a span id) that may match another buffered record of
        // the call: merge to a fixed point, so the result does not depend on arrival order and
        // reading `normalize`'s output again merges nothing more.
        while merged && let [key] = keys[..] {
            let Some((input, event, content)) = self.remove(key) else {
                break;
            };
            let digests = Digests::of(&event, content, self.across_inputs(), self.keyless);
            match self.duplicates_of(&event, content, input, &digests) {
                Some(targets) => keys = self.merge(Pending { key, input, event }, content, targets),
                None => {
                    self.insert_digested(key, input, event, content, &digests);
                    break;
                }
            }
        }
        if self.links {
            for key in keys {
                self.link(key);
            }
        }
    }

    /// The next event ready to leave: older than the window, or any when `flush`.
    pub(super) fn pop(&mut self, flush: bool) -> Option<Box<Event>> {
        if let Some(e) = self.through.pop_front() {
            return Some(e);
        }
        let key = self.buffer.first_key()?;
        let ready = flush
            || key.0 < self.newest.saturating_sub(self.options.window_ns)
            || self.buffer.len() > self.options.max_buffered;
        if !ready {
            return None;
        }
        self.remove(key).map(|(_, event, _)| event)
    }

    fn insert(&mut self, key: Key, input: u32, event: Box<Event>, content: Option<u64>) {
        let digests = Digests::of(&event, content, self.across_inputs(), self.keyless);
        self.insert_digested(key, input, event, content, &digests);
    }

    /// [`Correlator::insert`], given `event`'s [`Digests`].
    fn insert_digested(
        &mut self,
        key: Key,
        input: u32,
        event: Box<Event>,
        content: Option<u64>,
        digests: &Digests,
    ) {
        let entries = index_keys(&event, digests, self.links, self.keyless);
        self.insert_entries(key, input, event, content, entries);
    }

    /// [`Correlator::insert_digested`], given the index entries `event` is filed under.
    fn insert_entries(
        &mut self,
        key: Key,
        input: u32,
        event: Box<Event>,
        content: Option<u64>,
        entries: Entries,
    ) {
        for &(idx, value) in &entries {
            let Some(map) = self.index.get_mut(idx as usize) else {
                continue;
            };
            match map.entry(value) {
                Entry::Occupied(mut filed) => {
                    if filed.get_mut().push(key) {
                        self.crowded += 1;
                    }
                }
                Entry::Vacant(slot) => {
                    slot.insert(Filed::One(key));
                }
            }
        }
        self.buffer.insert(
            key,
            Box::new(Slot {
                input,
                event,
                content,
                entries,
            }),
        );
    }

    fn remove(&mut self, key: Key) -> Option<(u32, Box<Event>, Option<u64>)> {
        let slot = *self.buffer.remove(&key)?;
        for (idx, value) in slot.entries {
            let Some(map) = self.index.get_mut(idx as usize) else {
                continue;
            };
            if let Some(filed) = map.get_mut(&value)
                && filed.remove(key)
            {
                map.remove(&value);
            }
        }
        Some((slot.input, slot.event, slot.content))
    }

    fn event(&self, key: &Key) -> Option<&Event> {
        self.buffer.get(key).map(|s| &*s.event)
    }

    /// Buffered events indexed under `(idx, value)` within the window of the newest event, in
    /// stream order; at most [`MAX_FAN_IN`]. An event older than the window is only waiting to
    /// leave: matching it would make a merge depend on when the stream is next read. `None` (a
    /// placeholder id, [`id_digest`]) gathers nothing.
    fn candidates(&self, idx: Index, value: Option<u64>) -> Vec<Key> {
        let Some(value) = value else {
            return Vec::new();
        };
        let oldest = self.newest.saturating_sub(self.options.window_ns);
        let mut keys: Vec<Key> = self
            .index
            .get(idx as usize)
            .and_then(|map| map.get(&value))
            .map(|l| l.iter().copied().filter(|k| k.0 >= oldest).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The buffered events that record the same call as `e` (read from `input`).
    /// `content`: `e`'s fingerprint when its id is positional.
    fn duplicates_of(
        &self,
        e: &Event,
        content: Option<u64>,
        input: u32,
        digests: &Digests,
    ) -> Option<Vec<Key>> {
        // The same record read twice: by its source-given id anywhere, by its content in another
        // input (a HAR or request log given twice has positional ids).
        let twin = match content {
            None => self
                .candidates(Index::Record, digests.record.map(|(_, v)| v))
                .into_iter()
                .find(|k| self.event(k).is_some_and(|o| same_kind(o, e))),
            Some(_) if !self.across_inputs() => None,
            Some(content) => self
                .candidates(Index::Content, digests.record.map(|(_, v)| v))
                .into_iter()
                .find(|k| {
                    self.buffer.get(k).is_some_and(|o| {
                        o.input != input && o.content == Some(content) && same_kind(&o.event, e)
                    })
                }),
        };
        if let Some(k) = twin {
            return Some(vec![k]);
        }
        let db = match &e.detail {
            Detail::DbOperation(db) => db,
            Detail::Http(h) => {
                // The same request seen by two sources (a HAR and a server span).
                let twin = self
                    .candidates(Index::HttpApp, id_digest(&e.correlation.app_request_id))
                    .into_iter()
                    .find(|k| {
                        self.event(k).is_some_and(|o| {
                            o.source.format != e.source.format
                                && matches!(&o.detail, Detail::Http(oh) if oh.method == h.method && oh.path == h.path)
                        })
                    });
                return twin.map(|k| vec![k]);
            }
            _ => return None,
        };
        let keyless = is_keyless(e);
        for call in &digests.calls {
            let mut found = if keyless {
                self.candidates(Index::DbKeyed, call.id)
            } else {
                // Spans are filed under `DbKeyless`: a stream without any has none to find.
                let mut found = if self.keyless {
                    self.candidates(Index::DbKeyless, call.id)
                } else {
                    Vec::new()
                };
                if db.key.is_empty() {
                    found.extend(self.candidates(Index::DbCallAny, Some(call.any)));
                } else {
                    found.extend(self.candidates(Index::DbCall, Some(call.keyed)));
                    found.extend(self.candidates(Index::DbCall, Some(call.any)));
                }
                found
            };
            found.sort_unstable();
            found.dedup();
            // A span without item keys covers every item its call touched (any table it names).
            found.retain(|k| {
                self.event(k).is_some_and(|other| match &other.detail {
                    Detail::DbOperation(o) if keyless || is_keyless(other) => {
                        keyless != is_keyless(other)
                            && (o.table == db.table || o.table.is_empty() || db.table.is_empty())
                    }
                    Detail::DbOperation(_) => true,
                    _ => false,
                })
            });
            if !found.is_empty() {
                return Some(found);
            }
        }
        None
    }

    /// Merges `p` with the buffered events at `targets`; returns the keys of the results. The
    /// event that carries the facts (the keyed one; else the finer-timed one) keeps its id and
    /// source, takes the finer time and its place in the stream, and lists the other in
    /// `merged_from`; the other's input counts one `merged`.
    fn merge(&mut self, p: Pending, content: Option<u64>, targets: Vec<Key>) -> Vec<Key> {
        let mut out = Vec::new();
        if is_keyless(&p.event) {
            // A span without item keys is absorbed into every keyed item its call touched.
            self.count_merge(p.input);
            for (i, key) in targets.into_iter().enumerate() {
                if let Some((input, keyed, keyed_content)) = self.remove(key) {
                    let new_key = if p.event.precision_ns < keyed.precision_ns {
                        (
                            p.key.0,
                            p.key.1,
                            p.key.2,
                            u32::try_from(i).unwrap_or(u32::MAX),
                        )
                    } else {
                        key
                    };
                    self.insert(new_key, input, combine(keyed, &p.event), keyed_content);
                    out.push(new_key);
                }
            }
            return out;
        }
        let Some((first, (input, other, other_content))) = targets
            .first()
            .and_then(|&k| self.remove(k).map(|v| (k, v)))
        else {
            return out;
        };
        let newcomer_is_base = is_keyless(&other) || p.event.precision_ns < other.precision_ns;
        let ((base_key, base_input, base, base_content), (give_key, give_input, give)) =
            if newcomer_is_base {
                ((p.key, p.input, p.event, content), (first, input, other))
            } else {
                (
                    (first, input, other, other_content),
                    (p.key, p.input, p.event),
                )
            };
        self.count_merge(give_input);
        let key = if give.precision_ns < base.precision_ns {
            give_key
        } else {
            base_key
        };
        self.insert(key, base_input, combine(base, &give), base_content);
        out.push(key);
        out
    }

    /// Whether the stream has several inputs: content is only matched across inputs.
    fn across_inputs(&self) -> bool {
        self.merged.len() > 1
    }

    fn count_merge(&mut self, input: u32) {
        if let Some(n) = self.merged.get_mut(input as usize) {
            *n += 1;
        }
    }

    /// Links the event at `key` to its request (a DB call), or its DB calls to it (a request).
    fn link(&mut self, key: Key) {
        let Some(e) = self.event(&key) else {
            return;
        };
        match &e.detail {
            Detail::DbOperation(_) if e.correlation.link == LinkMethod::None => {
                if let Some((http, method)) = self.request_of(key) {
                    self.apply_link(key, http, method);
                }
            }
            Detail::Http(_) => {
                for (db, method) in self.calls_of(key) {
                    self.apply_link(db, key, method);
                }
            }
            _ => {}
        }
    }

    /// The best request for the DB call at `key`.
    fn request_of(&self, key: Key) -> Option<(Key, LinkMethod)> {
        let db = self.event(&key)?;
        let c = &db.correlation;
        let pick = |keys: Vec<Key>, method| {
            closest(&self.buffer, key, keys, |h| {
                matches!(h.detail, Detail::Http(_))
            })
            .map(|k| (k, method))
        };
        let parent_first = |keys: Vec<Key>| {
            let parent: Vec<Key> = keys
                .iter()
                .copied()
                .filter(|k| {
                    self.event(k).is_some_and(|h| {
                        !c.parent_span_id.is_empty() && h.correlation.span_id == c.parent_span_id
                    })
                })
                .collect();
            if parent.is_empty() { keys } else { parent }
        };
        pick(
            parent_first(self.candidates(Index::HttpTrace, id_digest(&c.trace_id))),
            LinkMethod::TraceId,
        )
        .or_else(|| {
            pick(
                self.candidates(Index::HttpIntegration, id_digest(&c.request_id)),
                LinkMethod::AwsRequestId,
            )
        })
        .or_else(|| {
            pick(
                self.candidates(Index::HttpApp, id_digest(&c.app_request_id)),
                LinkMethod::RequestHeader,
            )
        })
        .or_else(|| {
            let keys = self
                .candidates(Index::HttpPrincipal, id_digest(&db.actor.principal))
                .into_iter()
                .filter(|k| self.event(k).is_some_and(|h| self.within_request(h, db)))
                .collect();
            pick(keys, LinkMethod::PrincipalWindow)
        })
    }

    /// The unlinked DB calls that belong to the request at `key`.
    fn calls_of(&self, key: Key) -> Vec<(Key, LinkMethod)> {
        let Some(h) = self.event(&key) else {
            return Vec::new();
        };
        let mut out: Vec<(Key, LinkMethod)> = Vec::new();
        let add = |keys: Vec<Key>, method: LinkMethod, out: &mut Vec<(Key, LinkMethod)>| {
            for k in keys {
                let unlinked = self.event(&k).is_some_and(|d| {
                    matches!(d.detail, Detail::DbOperation(_))
                        && d.correlation.link == LinkMethod::None
                        && (method != LinkMethod::PrincipalWindow || self.within_request(h, d))
                });
                if unlinked && !out.iter().any(|(o, _)| *o == k) {
                    out.push((k, method));
                }
            }
        };
        add(
            self.candidates(Index::DbTrace, id_digest(&h.correlation.trace_id)),
            LinkMethod::TraceId,
            &mut out,
        );
        if let Some(id) = h.attributes.get(INTEGRATION_REQUEST_ID) {
            add(
                self.candidates(Index::DbIntegration, id_digest(id)),
                LinkMethod::AwsRequestId,
                &mut out,
            );
        }
        add(
            self.candidates(Index::DbApp, id_digest(&h.correlation.app_request_id)),
            LinkMethod::RequestHeader,
            &mut out,
        );
        add(
            self.candidates(Index::DbPrincipal, id_digest(&h.actor.principal)),
            LinkMethod::PrincipalWindow,
            &mut out,
        );
        // A DB call already nearer to another request by the same weak key keeps waiting for it.
        out.retain(|(db, method)| {
            *method != LinkMethod::PrincipalWindow
                || self.request_of(*db).is_none_or(|(best, _)| best == key)
        });
        out
    }

    /// Whether DB call `d` falls within request `h` (plus the principal window).
    fn within_request(&self, h: &Event, d: &Event) -> bool {
        let Detail::Http(http) = &h.detail else {
            return false;
        };
        let slack = i64::try_from(d.precision_ns.max(h.precision_ns)).unwrap_or(i64::MAX);
        let start = h.time_ns.saturating_sub(slack);
        let end = h
            .time_ns
            .saturating_add(i64::try_from(http.duration_ns).unwrap_or(i64::MAX))
            .saturating_add(self.options.principal_window_ns)
            .saturating_add(slack);
        (start..=end).contains(&d.time_ns)
    }

    /// Links DB call `db` to request `http`, moving actor facts across.
    fn apply_link(&mut self, db: Key, http: Key, method: LinkMethod) {
        let Some(h) = self.event(&http) else {
            return;
        };
        let (h_id, h_actor) = (h.id.clone(), h.actor.clone());
        let Some((input, mut d, d_content)) = self.remove(db) else {
            return;
        };
        d.correlation.linked_event = h_id;
        d.correlation.link = method;
        let d_principal = d.actor.principal.clone();
        let d_key = d.actor.key_id.clone();
        if !h_actor.principal.is_empty() && d_principal != h_actor.principal {
            if !d_principal.is_empty() {
                d.attributes
                    .insert(AWS_PRINCIPAL.into(), d_principal.clone());
            }
            d.actor.principal = h_actor.principal.clone();
        }
        fill(&mut d.actor.tenant, &h_actor.tenant);
        fill(&mut d.actor.ip, &h_actor.ip);
        fill(&mut d.actor.session, &h_actor.session);
        self.insert(db, input, d, d_content);
        // The reverse: a request without a principal learns the application user a DB log names,
        // and a request without a key the application's own key id (not the AWS key that signed
        // the DynamoDB call: that is the service's, not the caller's).
        let learn_principal = h_actor.principal.is_empty()
            && !d_principal.is_empty()
            && !d_principal.starts_with("arn:");
        let learn_key = h_actor.key_id.is_empty() && !d_key.is_empty() && !is_aws_key_id(&d_key);
        if (learn_principal || learn_key)
            && let Some((input, mut h, h_content)) = self.remove(http)
        {
            if learn_principal {
                h.actor.principal = d_principal;
            }
            if learn_key {
                h.actor.key_id = d_key;
            }
            self.insert(http, input, h, h_content);
        }
    }
}

/// An AWS access key id (`AKIA…`, `ASIA…`): what signed an AWS call, not an application's key.
fn is_aws_key_id(key: &str) -> bool {
    key.len() >= 16
        && ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .any(|p| key.starts_with(p))
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn fill(target: &mut SmolStr, from: &SmolStr) {
    if target.is_empty() {
        target.clone_from(from);
    }
}

/// Whether a DB event's source records no item key (an OTel span).
fn is_keyless(e: &Event) -> bool {
    e.attributes.contains_key(KEY_UNKNOWN)
}

/// The candidate nearest in time to `key` (ties: earlier in the stream) that passes `ok`.
fn closest(buffer: &Window, key: Key, keys: Vec<Key>, ok: impl Fn(&Event) -> bool) -> Option<Key> {
    keys.into_iter()
        .filter(|k| *k != key && buffer.get(k).is_some_and(|s| ok(&s.event)))
        .min_by_key(|k| (k.0.abs_diff(key.0), *k))
}

/// Combines two records of one call: `base` keeps its id and source, takes the finer time, and
/// fills its gaps from `other`.
fn combine(mut e: Box<Event>, other: &Event) -> Box<Event> {
    if other.precision_ns < e.precision_ns {
        e.time_ns = other.time_ns;
        e.precision_ns = other.precision_ns;
    }
    match (&mut e.detail, &other.detail) {
        (Detail::DbOperation(d), Detail::DbOperation(o)) => {
            if d.key.is_empty() {
                d.key = o.key.clone();
            }
            fill(&mut d.condition, &o.condition);
            d.has_condition |= o.has_condition;
            fill(&mut d.update_expression, &o.update_expression);
            fill(&mut d.index_name, &o.index_name);
            fill(&mut d.group_id, &o.group_id);
            fill(&mut d.error_code, &o.error_code);
            d.consistent_read = d.consistent_read.or(o.consistent_read);
        }
        (Detail::Http(h), Detail::Http(o)) => {
            fill(&mut h.route, &o.route);
            if h.status == 0 {
                h.status = o.status;
            }
            if h.duration_ns == 0 {
                h.duration_ns = o.duration_ns;
            }
            if h.params.is_empty() {
                h.params = o.params.clone();
            }
            if h.returned_ids.is_empty() {
                h.returned_ids = o.returned_ids.clone();
            }
        }
        _ => {}
    }
    let (a, b) = (&mut e.actor, &other.actor);
    fill(&mut a.principal, &b.principal);
    fill(&mut a.key_id, &b.key_id);
    fill(&mut a.tenant, &b.tenant);
    fill(&mut a.ip, &b.ip);
    fill(&mut a.user_agent, &b.user_agent);
    fill(&mut a.session, &b.session);
    let (c, o) = (&mut e.correlation, &other.correlation);
    fill(&mut c.trace_id, &o.trace_id);
    fill(&mut c.span_id, &o.span_id);
    fill(&mut c.parent_span_id, &o.parent_span_id);
    fill(&mut c.request_id, &o.request_id);
    fill(&mut c.app_request_id, &o.app_request_id);
    if e.outcome == crate::event::Outcome::Unknown {
        e.outcome = other.outcome;
    }
    for (k, v) in &other.attributes {
        if k != MERGED_FROM && k != KEY_UNKNOWN {
            e.attributes.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let slot = e
        .attributes
        .entry(SmolStr::new_static(MERGED_FROM))
        .or_default();
    let mut merged = slot.to_string();
    // Bounded: a record seen a million times must not grow one event by a million names. The
    // list keeps the first records and counts the rest.
    let listed = merged.matches(" (").count();
    if listed < MAX_MERGED_LISTED {
        if !merged.is_empty() {
            merged.push(' ');
        }
        merged.push_str(&format!("{} ({})", other.id, other.source));
    } else {
        let more = merged.rsplit_once(" +").and_then(|(head, n)| {
            n.strip_suffix(" more")
                .and_then(|n| n.parse::<u64>().ok())
                .map(|n| (head.len(), n))
        });
        match more {
            Some((at, n)) => {
                merged.truncate(at);
                merged.push_str(&format!(" +{} more", n + 1));
            }
            None => merged.push_str(" +1 more"),
        }
    }
    *slot = merged.into();
    e
}

/// Records named in one event's `merged_from`; more are counted (` +N more`).
pub const MAX_MERGED_LISTED: usize = 16;

/// Whether a correlation id is a placeholder a log writes for "none" (`-`, `null`, `0`…): not an
/// id, so events do not gather under it.
pub(crate) fn is_placeholder_id(id: &str) -> bool {
    let id = id.trim();
    id.is_empty()
        || id.bytes().all(|b| b == b'-' || b == b'0')
        || ["null", "none", "nil", "undefined", "n/a", "na", "unknown"]
            .iter()
            .any(|p| id.eq_ignore_ascii_case(p))
}

/// The index entries of one event: few enough to stay inline.
type Entries = SmallVec<[(Index, u64); 8]>;

/// What `e` is looked up and filed by, computed once per event: the correlator looks for its
/// twins under these values, then files it under the same ones.
struct Digests {
    /// Its source-given id ([`Index::Record`]), or, when its id is positional and the stream has
    /// several inputs, its content ([`Index::Content`]).
    record: Option<(Index, u64)>,
    /// Per id its DB call is known by ([`call_ids`]), in that order.
    calls: SmallVec<[CallDigests; 2]>,
}

/// The digests of one of a DB call's ids.
struct CallDigests {
    /// The id alone, where keyed calls and keyless spans meet: only when the event or the
    /// stream has a keyless call (otherwise nothing files or looks it up).
    id: Option<u64>,
    /// With the operation, table and item key ([`call_key`]).
    keyed: u64,
    /// With the operation and table ([`call_any`]).
    any: u64,
}

impl Digests {
    /// `content`: `e`'s fingerprint when its id is positional; `across`: whether the stream has
    /// several inputs (content is looked up only across inputs); `keyless`: whether it holds a
    /// DB call without item keys.
    fn of(e: &Event, content: Option<u64>, across: bool, keyless: bool) -> Digests {
        let record = match content {
            Some(content) => across.then(|| (Index::Content, content_digest(e, content))),
            None => id_digest(&e.id).map(|v| (Index::Record, v)),
        };
        let calls = match &e.detail {
            Detail::DbOperation(db) => call_ids(e)
                .into_iter()
                .map(|call| {
                    let any = call_any(call, db);
                    CallDigests {
                        id: (keyless || is_keyless(e)).then(|| digest(call)),
                        // Without an item key the two are one digest.
                        keyed: if db.key.is_empty() {
                            any
                        } else {
                            call_key(call, db, &db.key)
                        },
                        any,
                    }
                })
                .collect(),
            _ => SmallVec::new(),
        };
        Digests { record, calls }
    }
}

/// The index entries of `e`, whose [`Digests`] are `digests`; those only links read, only when
/// `links`; those only keyless calls read, only when `keyless`.
fn index_keys(e: &Event, digests: &Digests, links: bool, keyless: bool) -> Entries {
    let c = &e.correlation;
    let mut out = Entries::new();
    let mut add = |idx, v: Option<u64>| {
        if let Some(v) = v {
            out.push((idx, v));
        }
    };
    if let Some((idx, v)) = digests.record {
        add(idx, Some(v));
    }
    match &e.detail {
        Detail::DbOperation(_) => {
            for call in &digests.calls {
                if is_keyless(e) {
                    add(Index::DbKeyless, call.id);
                } else {
                    if keyless {
                        add(Index::DbKeyed, call.id);
                    }
                    add(Index::DbCall, Some(call.keyed));
                    add(Index::DbCallAny, Some(call.any));
                }
            }
            if links && c.link == LinkMethod::None {
                add(Index::DbTrace, id_digest(&c.trace_id));
                add(Index::DbApp, id_digest(&c.app_request_id));
                add(Index::DbPrincipal, id_digest(&e.actor.principal));
                add(Index::DbIntegration, id_digest(&c.request_id));
            }
        }
        Detail::Http(_) => {
            // Also where a request seen by two sources finds its twin.
            add(Index::HttpApp, id_digest(&c.app_request_id));
            if links {
                add(Index::HttpTrace, id_digest(&c.trace_id));
                add(Index::HttpPrincipal, id_digest(&e.actor.principal));
                if let Some(id) = e.attributes.get(INTEGRATION_REQUEST_ID) {
                    add(Index::HttpIntegration, id_digest(id));
                }
            }
        }
        _ => {}
    }
    out
}

/// The digest of one id; none for a placeholder (`-`, `null`, `0`…), which gathers nothing.
fn id_digest(id: &str) -> Option<u64> {
    (!is_placeholder_id(id)).then(|| digest([id]))
}

/// A DB call's id: its AWS request id (`r`), else its trace and span id (`s`).
type CallId<'e> = [&'e str; 3];

/// The ids a DB call is known by: its AWS request id, else its trace and span id.
fn call_ids(e: &Event) -> SmallVec<[CallId<'_>; 2]> {
    let c = &e.correlation;
    let mut out = SmallVec::new();
    if !is_placeholder_id(&c.request_id) {
        out.push(["r", c.request_id.as_str(), ""]);
    }
    if !is_placeholder_id(&c.trace_id) && !is_placeholder_id(&c.span_id) {
        out.push(["s", c.trace_id.as_str(), c.span_id.as_str()]);
    }
    out
}

/// A call id with the operation and table: [`call_key`] without an item key.
fn call_any(call: CallId<'_>, db: &DbOperation) -> u64 {
    call_key(call, db, &crate::event::Fields::new())
}

/// A call id with the operation, table and item key.
fn call_key(call: CallId<'_>, db: &DbOperation, key: &crate::event::Fields) -> u64 {
    let mut d = Digest::new();
    for part in call
        .into_iter()
        .chain([db.operation.as_str(), db.table.as_str()])
    {
        d.part(part);
    }
    for (name, value) in key {
        d.part(name).part(value);
    }
    d.finish()
}

/// Whether an event's id only says where it was read (`har:<file>#<n>`, `…#<n>/<k>` for one of
/// a record's events, `…~<k>` renamed), not which record of the source it is (`ct:<eventID>`).
/// Judged by its record number, not its file: ids name the input independently of how its path
/// was given (`ingest::source::InputNames`), source references as given.
fn positional_id(e: &Event) -> bool {
    // Byte by byte: ids are short, and this runs once per event.
    let id = e.id.as_bytes();
    let Some(colon) = id.iter().position(|&b| b == b':') else {
        return true;
    };
    let rest = id.get(colon + 1..).unwrap_or_default();
    let Some(hash) = rest.iter().rposition(|&b| b == b'#') else {
        return false;
    };
    let tail = rest.get(hash + 1..).unwrap_or_default();
    let end = tail
        .iter()
        .position(|&b| b == b'/' || b == b'~')
        .unwrap_or(tail.len());
    // The delimiters are ASCII: the record number is whole characters.
    std::str::from_utf8(tail.get(..end).unwrap_or_default())
        .ok()
        .and_then(|record| record.parse().ok())
        == Some(e.source.record)
}

/// The same kind of event from the same source format.
fn same_kind(a: &Event, b: &Event) -> bool {
    a.kind() == b.kind() && a.source.format == b.source.format
}

/// A fingerprint of what an event says, without where it was read: two inputs holding the same
/// record give the same one.
fn fingerprint(e: &Event) -> u64 {
    // Fixed seed: the same content gives the same fingerprint in every run.
    let mut h = FixedState::default().build_hasher();
    e.source.format.hash(&mut h);
    e.time_ns.hash(&mut h);
    e.precision_ns.hash(&mut h);
    e.actor.hash(&mut h);
    e.correlation.hash(&mut h);
    e.outcome.hash(&mut h);
    e.detail.hash(&mut h);
    e.attributes.hash(&mut h);
    h.finish()
}

/// The content index's value: the format and the content fingerprint.
fn content_digest(e: &Event, content: u64) -> u64 {
    Digest::new()
        .part(&e.source.format)
        .number(content)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Correlation, DbOperation, Http, Outcome, SourceRef};

    const T0: i64 = 1_773_482_400_250_000_000;

    proptest::proptest! {
        /// The window holds, finds and gives back what a sorted map would, in the same order,
        /// whatever mix of adds at the back, adds between, and removals anywhere.
        #[test]
        fn the_window_is_a_sorted_map(ops in proptest::collection::vec((0u8..4, 0u64..64), 0..200)) {
            let mut window = Window::default();
            let mut model = std::collections::BTreeMap::new();
            let mut newest = 0u64;
            let slot = |n: u64| {
                Box::new(Slot {
                    input: u32::try_from(n).unwrap_or(0),
                    event: Box::new(event("e", 0, 1, "wire", http("GET", "/", 0))),
                    content: Some(n),
                    entries: Entries::new(),
                })
            };
            for (op, n) in ops {
                let key = match op {
                    // The next event of the stream, after every key so far.
                    0 | 1 => {
                        newest += 1 + n;
                        (i64::try_from(newest).unwrap_or(0), 0, 0, 0)
                    }
                    // A merge's key: anywhere up to the newest.
                    2 => (i64::try_from(n.min(newest)).unwrap_or(0), 0, 0, 1),
                    // A removal.
                    _ => {
                        let key = (i64::try_from(n.min(newest)).unwrap_or(0), 0, 0, 0);
                        let taken = window.remove(&key).map(|s| s.content);
                        proptest::prop_assert_eq!(taken, model.remove(&key));
                        continue;
                    }
                };
                window.insert(key, slot(n));
                model.insert(key, Some(n));
                proptest::prop_assert_eq!(window.len(), model.len());
                proptest::prop_assert_eq!(window.first_key(), model.keys().next().copied());
            }
            for (key, content) in &model {
                proptest::prop_assert_eq!(window.get(key).map(|s| s.content), Some(*content));
            }
            // Drained from the front, in key order, as `pop` does.
            while let Some(key) = window.first_key() {
                proptest::prop_assert_eq!(Some(key), model.keys().next().copied());
                let taken = window.remove(&key).map(|s| s.content);
                proptest::prop_assert_eq!(taken, model.remove(&key));
            }
            proptest::prop_assert!(model.is_empty());
            proptest::prop_assert_eq!(window.len(), 0);
        }
    }

    fn event(id: &str, time_ns: i64, precision_ns: u64, format: &str, detail: Detail) -> Event {
        Event {
            facts: Default::default(),
            id: id.into(),
            time_ns,
            precision_ns,
            source: SourceRef {
                file: format!("{format}.log").into(),
                record: 1,
                line: None,
                format: format.into(),
            },
            actor: Actor::default(),
            correlation: Correlation::default(),
            outcome: Outcome::Success,
            detail,
            attributes: crate::event::Fields::new(),
        }
    }

    fn http(method: &str, path: &str, duration_ns: u64) -> Detail {
        Detail::Http(Http {
            method: method.into(),
            path: path.into(),
            status: 200,
            duration_ns,
            ..Http::default()
        })
    }

    fn db(op: &str, key: &str) -> Detail {
        Detail::DbOperation(DbOperation {
            service: "dynamodb".into(),
            operation: op.into(),
            table: "orders".into(),
            key: if key.is_empty() {
                crate::event::Fields::new()
            } else {
                crate::event::Fields::from_iter([("orderId".into(), key.into())])
            },
            is_write: op != "GetItem",
            ..DbOperation::default()
        })
    }

    /// An event no index files leaves as it comes while nothing waits before it, and waits its
    /// turn behind one that does: the order is the stream's either way.
    #[test]
    fn what_nothing_can_find_leaves_at_once_in_stream_order() {
        let key_change = |id: &str, t: i64| {
            let change = crate::event::KeyLifecycle {
                action: crate::event::KeyAction::Created,
                key_id: "k-1".into(),
                owner: Default::default(),
                scopes: Vec::new(),
                parent_key_id: Default::default(),
            };
            let mut e = event(id, t, 1, "inventory", Detail::KeyLifecycle(change));
            e.id = format!("inv:keys.jsonl#{id}").into();
            e
        };
        let mut c = Correlator::new(CorrelationOptions::default(), 1, false, false);
        let push = |c: &mut Correlator, n: u64, e: Event| {
            let key = (e.time_ns, 0, n, 0);
            c.push(Pending {
                key,
                input: 0,
                event: Box::new(e),
            });
        };
        let ids = |c: &mut Correlator, flush| {
            std::iter::from_fn(|| c.pop(flush))
                .map(|e| e.id.to_string())
                .collect::<Vec<_>>()
        };
        push(&mut c, 1, key_change("1", T0));
        assert_eq!(ids(&mut c, false), ["inv:keys.jsonl#1"]);
        let mut call = event("ddb:R1", T0 + 1, 1, "wire", db("UpdateItem", "o-1"));
        call.correlation.request_id = "R1".into();
        push(&mut c, 2, call);
        push(&mut c, 3, key_change("3", T0 + 2));
        // The call waits for the window; the change after it waits behind it.
        assert!(ids(&mut c, false).is_empty());
        assert_eq!(ids(&mut c, true), ["ddb:R1", "inv:keys.jsonl#3"]);
        // Where a stream can link, every event waits (a request may come for it).
        let mut linking = Correlator::new(CorrelationOptions::default(), 1, true, false);
        push(&mut linking, 1, key_change("1", T0));
        assert!(ids(&mut linking, false).is_empty());
    }

    /// Runs events (given in stream order, one input each) through a correlator.
    fn run(events: Vec<Event>) -> (Vec<Event>, Vec<u64>) {
        let mut c = Correlator::new(CorrelationOptions::default(), events.len(), true, true);
        let mut sorted: Vec<(Key, u32, Event)> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| ((e.time_ns, 0, i as u64, 0), i as u32, e))
            .collect();
        sorted.sort_by_key(|(k, _, _)| *k);
        let mut out = Vec::new();
        for (key, input, event) in sorted {
            let event = Box::new(event);
            c.push(Pending { key, input, event });
            while let Some(e) = c.pop(false) {
                out.push(*e);
            }
        }
        while let Some(e) = c.pop(true) {
            out.push(*e);
        }
        (out, c.merged)
    }

    /// Runs events (given in stream order, with the input each came from) through a
    /// correlator; returns what left it and the correlator.
    fn run_inputs(events: Vec<(u32, Event)>, inputs: usize) -> (Vec<Event>, Correlator) {
        run_keyless(events, inputs, true)
    }

    /// [`run_inputs`], the correlator told whether the stream holds keyless DB calls.
    fn run_keyless(
        events: Vec<(u32, Event)>,
        inputs: usize,
        keyless: bool,
    ) -> (Vec<Event>, Correlator) {
        let mut c = Correlator::new(CorrelationOptions::default(), inputs, true, keyless);
        let mut out = Vec::new();
        for (i, (input, event)) in events.into_iter().enumerate() {
            let key = (event.time_ns, 0, i as u64, 0);
            let event = Box::new(event);
            c.push(Pending { key, input, event });
            while let Some(e) = c.pop(false) {
                out.push(*e);
            }
        }
        while let Some(e) = c.pop(true) {
            out.push(*e);
        }
        (out, c)
    }

    /// Without keyless DB calls in the stream, the index only they read is not kept, and the
    /// stream comes out as it does with it: the same call in two inputs merged, the items of a
    /// transaction each their own event.
    #[test]
    fn a_stream_without_keyless_calls_keeps_no_index_for_them_and_merges_alike() {
        let call = |id: &str, t: i64, format: &str, op: &str, key: &str| {
            let mut e = event(id, t, 1_000_000, format, db(op, key));
            e.correlation.request_id = format!("req-{}", t / 1000).as_str().into();
            e
        };
        let mut events = Vec::new();
        for n in 0..40_i64 {
            let t = 1_000_000 + n * 1000;
            events.push((
                0,
                call(&format!("ct:{n}"), t, "cloudtrail", "PutItem", "o-1"),
            ));
            events.push((
                1,
                call(
                    &format!("ddb:{n}"),
                    t + 1,
                    "dynamodb_wire",
                    "PutItem",
                    "o-1",
                ),
            ));
            for item in ["o-2", "o-3"] {
                let id = format!("ct:tx{n}-{item}");
                events.push((
                    0,
                    call(&id, t + 2, "cloudtrail", "TransactWriteItems", item),
                ));
            }
        }
        events.sort_by_key(|(_, e)| e.time_ns);
        let show = |out: &[Event]| -> Vec<String> {
            out.iter()
                .map(|e| format!("{} {} {:?}", e.id, e.time_ns, e.attributes))
                .collect()
        };
        let (kept, with) = run_keyless(events.clone(), 2, true);
        let (spared, without) = run_keyless(events, 2, false);
        assert_eq!(show(&spared), show(&kept));
        assert_eq!(without.merged, with.merged);
        assert_eq!(
            with.merged.iter().sum::<u64>(),
            40,
            "each call seen twice merged once"
        );
        assert_eq!(spared.len(), 120);
        let keyed = Index::DbKeyed as usize;
        assert!(with.index.iter().all(|m| m.is_empty()), "all left");
        let (mut c_with, mut c_without) = (
            Correlator::new(CorrelationOptions::default(), 2, true, true),
            Correlator::new(CorrelationOptions::default(), 2, true, false),
        );
        for c in [&mut c_with, &mut c_without] {
            let e = call("ct:x", 5, "cloudtrail", "PutItem", "o-9");
            c.push(Pending {
                key: (5, 0, 1, 0),
                input: 0,
                event: Box::new(e),
            });
        }
        assert_eq!(c_with.index.get(keyed).map(HashMap::len), Some(1));
        assert_eq!(c_without.index.get(keyed).map(HashMap::len), Some(0));
    }

    fn longest_list(c: &Correlator) -> usize {
        c.index
            .iter()
            .flat_map(|m| m.values())
            .map(|l| l.len())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn an_id_shared_by_thousands_of_events_gathers_a_bounded_few() {
        // Reproducer: 10k calls of one CloudTrail file sharing a `requestID` were compared with
        // every earlier one (quadratic). Each is its own call on its own item: none merges,
        // every one leaves, and no index list grows past MAX_FAN_IN.
        let n = 3 * MAX_FAN_IN + 5;
        let events: Vec<(u32, Event)> = (0..n)
            .map(|i| {
                let mut e = event(
                    &format!("ct:{i}"),
                    T0,
                    1_000_000_000,
                    "cloudtrail",
                    db("PutItem", &format!("o-{i}")),
                );
                e.correlation.request_id = "SHARED".into();
                e.actor.principal = "alice".into();
                (0, e)
            })
            .collect();
        // Four lists (keyed calls of the call id, calls of its operation and table, the
        // principal's and the integration id's unlinked calls) made way for each event past the
        // bound; two in a stream without HTTP requests, which keeps no lists for links.
        for (links, lists) in [(true, 4), (false, 2)] {
            let mut c = Correlator::new(CorrelationOptions::default(), 1, links, true);
            let mut most = 0;
            for (i, (input, event)) in events.iter().cloned().enumerate() {
                c.push(Pending {
                    key: (T0, 0, i as u64, 0),
                    input,
                    event: Box::new(event),
                });
                most = most.max(longest_list(&c));
            }
            assert_eq!(most, MAX_FAN_IN);
            assert_eq!(c.crowded, lists * (n - MAX_FAN_IN) as u64, "links: {links}");
            let link_lists = [Index::DbPrincipal, Index::DbIntegration]
                .map(|i| c.index.get(i as usize).map_or(0, HashMap::len));
            assert_eq!(link_lists, if links { [1, 1] } else { [0, 0] });
            let mut out = 0;
            while c.pop(true).is_some() {
                out += 1;
            }
            assert_eq!(out, n);
            assert_eq!(c.merged, [0]);
            assert!(c.index.iter().all(HashMap::is_empty));
        }
    }

    #[test]
    fn an_id_is_positional_by_its_record_number_however_its_file_is_named() {
        let mut e = event(
            "har:logs/a.har#3",
            T0,
            1_000_000,
            "har",
            http("GET", "/", 0),
        );
        e.source.file = "./logs/a.har".into();
        e.source.record = 3;
        for id in [
            "har:logs/a.har#3",
            "har:logs/a.har#3/2",
            "har:a#b.har#3~2",
            "x",
        ] {
            e.id = id.into();
            assert!(positional_id(&e), "{id}");
        }
        for id in [
            "ct:0f7d-11",
            "ct:0f7d-11/2",
            "gw:req#4",
            "har:logs/a.har#3x",
        ] {
            e.id = id.into();
            assert!(!positional_id(&e), "{id}");
        }
    }

    #[test]
    fn the_same_record_in_two_inputs_is_one_event_and_one_merge() {
        // Reproducer: a HAR given twice (positional ids `har:<file>#n`) made every request twice,
        // and concurrent twins looked like races.
        let har = |file: &str, n: u64, path: &str| {
            let mut e = event(
                &format!("har:{file}#{n}"),
                T0 + n as i64,
                1_000_000,
                "har",
                http("POST", path, 5),
            );
            e.source.file = file.into();
            e.source.record = n;
            e
        };
        let (out, c) = run_inputs(
            vec![
                (0, har("a.har", 1, "/orders/1/pay")),
                (1, har("b.har", 1, "/orders/1/pay")),
                (0, har("a.har", 2, "/orders/2/pay")),
                (1, har("b.har", 2, "/orders/2/pay")),
            ],
            2,
        );
        assert_eq!(
            out.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["har:a.har#1", "har:a.har#2"]
        );
        assert_eq!(c.merged, [0, 2]);
        assert_eq!(
            out[0]
                .attributes
                .get(MERGED_FROM)
                .map(crate::event::SmolStr::as_str),
            Some("har:b.har#1 (b.har#1)")
        );
        // Within one input, two identical requests are two observations (a double submit).
        let (out, c) = run_inputs(
            vec![
                (0, har("a.har", 1, "/orders/1/pay")),
                (0, {
                    let mut e = har("a.har", 2, "/orders/1/pay");
                    e.time_ns = T0 + 1;
                    e
                }),
            ],
            1,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(c.merged, [0]);
    }

    #[test]
    fn a_source_given_id_seen_twice_is_one_event_even_within_one_input() {
        // Reproducer: the same CloudTrail eventID (an IAM key event: no DB call id to merge on)
        // in two files gave two events with one id; CloudTrail also delivers at least once, so
        // one file may repeat it.
        let key_event = |file: &str| {
            let mut e = event(
                "ct:0f7d-11",
                T0,
                1_000_000_000,
                "cloudtrail",
                Detail::KeyLifecycle(crate::event::KeyLifecycle {
                    action: crate::event::KeyAction::Created,
                    key_id: "AKIAEXAMPLE".into(),
                    owner: "bob".into(),
                    scopes: Vec::new(),
                    parent_key_id: String::new().into(),
                }),
            );
            e.source.file = file.into();
            e
        };
        let (out, c) = run_inputs(
            vec![
                (0, key_event("a.json")),
                (1, key_event("b.json")),
                (1, key_event("b.json")),
            ],
            2,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(c.merged, [0, 2]);
    }

    #[test]
    fn placeholder_ids_gather_nothing() {
        for id in ["-", "", "null", "NONE", "0", "---", "n/a"] {
            assert!(is_placeholder_id(id), "{id}");
        }
        assert!(!is_placeholder_id("Q1N2"));
        // Two calls on different items of two logs that both write `-` for the request id stay
        // two events (and an OTel-like keyless one is not absorbed into them).
        let call = |id: &str, format: &str, key: &str| {
            let mut e = event(id, T0, 1_000, format, db("GetItem", key));
            e.correlation.request_id = "-".into();
            e
        };
        let (out, merged) = run(vec![
            call("a", "dynamodb_wire", "o-1"),
            call("b", "cloudtrail", "o-1"),
            call("c", "dynamodb_wire", "o-2"),
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(merged, [0, 0, 0]);
    }

    #[test]
    fn merged_from_names_the_first_records_and_counts_the_rest() {
        let base = event("base", T0, 1, "dynamodb_wire", db("GetItem", "o-1"));
        let mut e = Box::new(base.clone());
        for i in 0..(MAX_MERGED_LISTED + 5) {
            let other = event(
                &format!("dup-{i}"),
                T0,
                1,
                "cloudtrail",
                db("GetItem", "o-1"),
            );
            e = combine(e, &other);
        }
        let merged = e.attributes.get(MERGED_FROM).unwrap();
        assert_eq!(merged.matches(" (").count(), MAX_MERGED_LISTED);
        assert!(merged.ends_with(" +5 more"), "{merged}");
        assert!(merged.starts_with("dup-0 (cloudtrail.log#1)"), "{merged}");
    }

    #[test]
    fn an_otel_span_and_a_cloudtrail_record_of_one_call_become_one_linked_event() {
        let mut server = event(
            "otel:t:s1",
            T0,
            1,
            "otlp",
            http("POST", "/orders/o-1/pay", 50_000_000),
        );
        server.correlation.trace_id = "t".into();
        server.correlation.span_id = "s1".into();
        server.actor.principal = "alice".into();
        let mut span = event(
            "otel:t:s2",
            T0 + 10_000_000,
            1,
            "otlp",
            db("UpdateItem", ""),
        );
        span.correlation = Correlation {
            trace_id: "t".into(),
            span_id: "s2".into(),
            parent_span_id: "s1".into(),
            request_id: "R1".into(),
            ..Correlation::default()
        };
        span.attributes.insert(KEY_UNKNOWN.into(), "otel".into());
        let mut ct = event(
            "ct:e1",
            T0 - 250_000_000,
            1_000_000_000,
            "cloudtrail",
            db("UpdateItem", "o-1"),
        );
        ct.correlation.request_id = "R1".into();
        ct.actor.principal = "arn:aws:sts::1:assumed-role/app/i-1".into();
        if let Detail::DbOperation(d) = &mut ct.detail {
            d.update_expression = "SET #s = :s".into();
        }
        let (out, merged) = run(vec![server, span, ct]);
        assert_eq!(merged, [0, 1, 0]);
        let ids: Vec<&str> = out.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["otel:t:s1", "ct:e1"]);
        let call = &out[1];
        assert_eq!(call.time_ns, T0 + 10_000_000, "the finer time is kept");
        assert_eq!(call.precision_ns, 1);
        let Detail::DbOperation(d) = &call.detail else {
            panic!()
        };
        assert_eq!(
            d.key.get("orderId").map(crate::event::SmolStr::as_str),
            Some("o-1")
        );
        assert_eq!(d.update_expression, "SET #s = :s");
        assert_eq!(call.correlation.trace_id, "t");
        assert_eq!(call.correlation.linked_event, "otel:t:s1");
        assert_eq!(call.correlation.link, LinkMethod::TraceId);
        assert_eq!(call.actor.principal, "alice");
        assert_eq!(
            call.attributes
                .get(AWS_PRINCIPAL)
                .map(crate::event::SmolStr::as_str),
            Some("arn:aws:sts::1:assumed-role/app/i-1")
        );
        assert_eq!(
            call.attributes
                .get(MERGED_FROM)
                .map(crate::event::SmolStr::as_str),
            Some("otel:t:s2 (otlp.log#1)")
        );
    }

    #[test]
    fn a_request_header_links_a_har_request_and_a_wire_log_both_ways() {
        let mut req = event(
            "har:1",
            T0,
            1_000_000,
            "har",
            http("GET", "/orders/o-1", 20_000_000),
        );
        req.correlation.app_request_id = "req-7".into();
        req.actor.key_id = "hk:0123456789abcdef".into();
        let mut call = event(
            "ddb:1",
            T0 + 5_000_000,
            1_000,
            "dynamodb_wire",
            db("GetItem", "o-1"),
        );
        call.correlation.app_request_id = "req-7".into();
        call.actor.principal = "alice".into();
        let (out, merged) = run(vec![req, call]);
        assert_eq!(merged, [0, 0]);
        assert_eq!(
            out[0].actor.principal, "alice",
            "the request learns the DB log's user"
        );
        assert_eq!(out[1].correlation.link, LinkMethod::RequestHeader);
        assert_eq!(out[1].correlation.linked_event, "har:1");
    }

    #[test]
    fn a_key_leaves_its_filing_wherever_it_stands_and_only_it() {
        let k = |n: i64| (n, 0, 0, 0);
        let mut filed = Filed::One(k(1));
        for n in [2, 3, 3, 4] {
            filed.push(k(n));
        }
        let keys = |f: &Filed| f.iter().map(|k| k.0).collect::<Vec<_>>();
        assert!(!filed.remove(k(1)), "the first leaves from the front");
        assert_eq!(keys(&filed), [2, 3, 3, 4]);
        assert!(!filed.remove(k(3)), "both copies one insert filed leave");
        assert_eq!(keys(&filed), [2, 4]);
        assert!(!filed.remove(k(9)), "a key never filed changes nothing");
        assert_eq!(keys(&filed), [2, 4]);
        assert!(!filed.remove(k(4)));
        assert!(filed.remove(k(2)), "the last to leave empties it");
        assert!(Filed::One(k(1)).remove(k(1)));
    }

    #[test]
    fn the_same_principal_links_only_within_the_window() {
        let mut req = event("h", T0, 1_000_000, "har", http("GET", "/a", 0));
        req.actor.principal = "bob".into();
        let mut near = event(
            "d1",
            T0 + 100_000_000,
            1_000,
            "dynamodb_wire",
            db("GetItem", "1"),
        );
        near.actor.principal = "bob".into();
        let mut far = event(
            "d2",
            T0 + 10_000_000_000,
            1_000,
            "dynamodb_wire",
            db("GetItem", "2"),
        );
        far.actor.principal = "bob".into();
        let (out, _) = run(vec![req, near, far]);
        assert_eq!(out[1].correlation.link, LinkMethod::PrincipalWindow);
        assert_eq!(out[2].correlation.link, LinkMethod::None);
    }

    #[test]
    fn one_request_seen_by_a_har_and_a_server_span_is_merged() {
        let mut har = event("har:1", T0, 1_000_000, "har", http("GET", "/orders/o-1", 0));
        har.correlation.app_request_id = "req-9".into();
        har.actor.key_id = "hk:1".into();
        let mut span = event(
            "otel:t:s",
            T0 + 1_000_000,
            1,
            "otlp",
            http("GET", "/orders/o-1", 9),
        );
        span.correlation.app_request_id = "req-9".into();
        span.actor.principal = "carol".into();
        let (out, merged) = run(vec![har, span]);
        assert_eq!(merged, [1, 0]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (
                out[0].id.as_str(),
                out[0].actor.principal.as_str(),
                out[0].actor.key_id.as_str()
            ),
            ("otel:t:s", "carol", "hk:1")
        );
    }
}
