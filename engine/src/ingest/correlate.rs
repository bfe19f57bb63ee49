//! Correlation: one pass over the time-ordered stream that (1) merges the same call seen by two
//! sources into one event and (2) links each DB operation to the HTTP request that caused it,
//! moving actor facts across the link.
//!
//! Events wait in a buffer for `window` of log time before they are released, so a partner that
//! comes later (CloudTrail's whole seconds can put a DB call before its request) is still found.
//! Every pair of events within the window is looked at once, when the later one arrives. Matches
//! are chosen by log time, then stream order, never by hash order, so the result is
//! deterministic.
//!
//! Join keys, strongest first:
//! - merges: the AWS request id (OTel `aws.request_id` = `x-amzn-RequestId` = CloudTrail
//!   `requestID`) or the same trace and span id, for DB calls; the same application request id,
//!   method and path for HTTP requests;
//! - links: the same trace id; the AWS request id of a gateway's integration call
//!   (`integration_request_id`); the same application request-id header; else the same
//!   principal within a short window of the request.

use std::collections::{BTreeMap, HashMap};

use crate::event::{Detail, Event, LinkMethod};

/// Position in the stream: log time, then read order, then item within a merged group.
pub(super) type Key = (i64, u64, u32);

/// An event with its place in the stream and the input it came from.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub key: Key,
    pub input: u32,
    pub event: Event,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Index {
    DbRequest,
    DbSpan,
    DbTrace,
    DbApp,
    DbPrincipal,
    DbIntegration,
    HttpTrace,
    HttpApp,
    HttpPrincipal,
    HttpIntegration,
}

/// The correlator. Push events in stream order; take released events with [`Correlator::pop`].
pub(super) struct Correlator {
    options: CorrelationOptions,
    buffer: BTreeMap<Key, (u32, Event)>,
    index: HashMap<(Index, String), Vec<Key>>,
    newest: i64,
    released: u64,
    /// Per input: how many of its events were merged into another.
    pub merged: Vec<u64>,
}

impl Correlator {
    pub(super) fn new(options: CorrelationOptions, inputs: usize) -> Self {
        Correlator {
            options,
            buffer: BTreeMap::new(),
            index: HashMap::new(),
            newest: i64::MIN,
            released: 0,
            merged: vec![0; inputs],
        }
    }

    /// Adds the next event of the stream.
    pub(super) fn push(&mut self, p: Pending) {
        self.newest = self.newest.max(p.key.0);
        let keys = match self.duplicates_of(&p.event) {
            Some(targets) => self.merge(p, targets),
            None => {
                let key = p.key;
                self.insert(key, p.input, p.event);
                vec![key]
            }
        };
        for key in keys {
            self.link(key);
        }
    }

    /// The next event ready to leave: older than the window, or any when `flush`.
    pub(super) fn pop(&mut self, flush: bool) -> Option<Event> {
        let (&key, _) = self.buffer.first_key_value()?;
        let ready = flush
            || key.0 < self.newest.saturating_sub(self.options.window_ns)
            || self.buffer.len() > self.options.max_buffered;
        if !ready {
            return None;
        }
        let (_, event) = self.buffer.remove(&key)?;
        for (idx, value) in index_keys(&event) {
            if let Some(list) = self.index.get_mut(&(idx, value.clone())) {
                list.retain(|k| *k != key);
                if list.is_empty() {
                    self.index.remove(&(idx, value));
                }
            }
        }
        self.released += 1;
        if self.released.is_multiple_of(65_536) {
            // Entries left behind by events whose fields changed after indexing.
            let buffer = &self.buffer;
            self.index.retain(|_, list| {
                list.retain(|k| buffer.contains_key(k));
                !list.is_empty()
            });
        }
        Some(event)
    }

    fn insert(&mut self, key: Key, input: u32, event: Event) {
        for entry in index_keys(&event) {
            self.index.entry(entry).or_default().push(key);
        }
        self.buffer.insert(key, (input, event));
    }

    fn remove(&mut self, key: Key) -> Option<(u32, Event)> {
        let (input, event) = self.buffer.remove(&key)?;
        for entry in index_keys(&event) {
            if let Some(list) = self.index.get_mut(&entry) {
                list.retain(|k| *k != key);
            }
        }
        Some((input, event))
    }

    /// Buffered events indexed under `(idx, value)`, in stream order.
    fn candidates(&self, idx: Index, value: &str) -> Vec<Key> {
        if value.is_empty() {
            return Vec::new();
        }
        let mut keys: Vec<Key> = self
            .index
            .get(&(idx, value.to_owned()))
            .map(|l| {
                l.iter()
                    .copied()
                    .filter(|k| self.buffer.contains_key(k))
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The buffered events that record the same call as `e`.
    fn duplicates_of(&self, e: &Event) -> Option<Vec<Key>> {
        let db = match &e.detail {
            Detail::DbOperation(db) => db,
            Detail::Http(h) => {
                // The same request seen by two sources (a HAR and a server span).
                let twin = self
                    .candidates(Index::HttpApp, &e.correlation.app_request_id)
                    .into_iter()
                    .find(|k| {
                        self.buffer.get(k).is_some_and(|(_, o)| {
                            o.source.format != e.source.format
                                && matches!(&o.detail, Detail::Http(oh) if oh.method == h.method && oh.path == h.path)
                        })
                    });
                return twin.map(|k| vec![k]);
            }
            _ => return None,
        };
        let c = &e.correlation;
        let mut found = self.candidates(Index::DbRequest, &c.request_id);
        if found.is_empty() && !c.trace_id.is_empty() && !c.span_id.is_empty() {
            found = self.candidates(Index::DbSpan, &format!("{}:{}", c.trace_id, c.span_id));
        }
        let keyless = is_keyless(e);
        let same: Vec<Key> = found
            .into_iter()
            .filter(|k| {
                let Some((_, other)) = self.buffer.get(k) else {
                    return false;
                };
                let Detail::DbOperation(o) = &other.detail else {
                    return false;
                };
                if keyless || is_keyless(other) {
                    // A span without item keys covers every item its call touched.
                    keyless != is_keyless(other)
                        && (o.table == db.table || o.table.is_empty() || db.table.is_empty())
                } else {
                    o.operation == db.operation && o.table == db.table && o.key == db.key
                }
            })
            .collect();
        (!same.is_empty()).then_some(same)
    }

    /// Merges `p` with the buffered events at `targets`; returns the keys of the results.
    fn merge(&mut self, p: Pending, targets: Vec<Key>) -> Vec<Key> {
        let mut out = Vec::new();
        let keyless_newcomer = is_keyless(&p.event);
        if keyless_newcomer {
            // The span is absorbed into every keyed item it covers.
            self.count_merge(p.input);
            for (i, key) in targets.into_iter().enumerate() {
                if let Some((input, keyed)) = self.remove(key) {
                    let (new_key, merged) = combine(
                        (key, keyed),
                        ((p.key.0, p.key.1, i as u32), p.event.clone()),
                    );
                    self.insert(new_key, input, merged);
                    out.push(new_key);
                }
            }
            return out;
        }
        // A keyed newcomer merges with one keyed twin, or absorbs a keyless span.
        let Some(&first) = targets.first() else {
            return out;
        };
        let Some((input, other)) = self.remove(first) else {
            return out;
        };
        let (new_key, merged, survivor_input) = if is_keyless(&other) {
            self.count_merge(input);
            let (k, e) = combine((p.key, p.event), (first, other));
            (k, e, p.input)
        } else {
            self.count_merge(p.input);
            let (k, e) = combine((first, other), (p.key, p.event));
            (k, e, input)
        };
        self.insert(new_key, survivor_input, merged);
        out.push(new_key);
        out
    }

    fn count_merge(&mut self, input: u32) {
        if let Some(n) = self.merged.get_mut(input as usize) {
            *n += 1;
        }
    }

    /// Links the event at `key` to its request (a DB call), or its DB calls to it (a request).
    fn link(&mut self, key: Key) {
        let Some((_, e)) = self.buffer.get(&key) else {
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
        let (_, db) = self.buffer.get(&key)?;
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
                    self.buffer.get(k).is_some_and(|(_, h)| {
                        !c.parent_span_id.is_empty() && h.correlation.span_id == c.parent_span_id
                    })
                })
                .collect();
            if parent.is_empty() { keys } else { parent }
        };
        pick(
            parent_first(self.candidates(Index::HttpTrace, &c.trace_id)),
            LinkMethod::TraceId,
        )
        .or_else(|| {
            pick(
                self.candidates(Index::HttpIntegration, &c.request_id),
                LinkMethod::AwsRequestId,
            )
        })
        .or_else(|| {
            pick(
                self.candidates(Index::HttpApp, &c.app_request_id),
                LinkMethod::RequestHeader,
            )
        })
        .or_else(|| {
            let keys = self
                .candidates(Index::HttpPrincipal, &db.actor.principal)
                .into_iter()
                .filter(|k| {
                    self.buffer
                        .get(k)
                        .is_some_and(|(_, h)| self.within_request(h, db))
                })
                .collect();
            pick(keys, LinkMethod::PrincipalWindow)
        })
    }

    /// The unlinked DB calls that belong to the request at `key`.
    fn calls_of(&self, key: Key) -> Vec<(Key, LinkMethod)> {
        let Some((_, h)) = self.buffer.get(&key) else {
            return Vec::new();
        };
        let mut out: Vec<(Key, LinkMethod)> = Vec::new();
        let add = |keys: Vec<Key>, method: LinkMethod, out: &mut Vec<(Key, LinkMethod)>| {
            for k in keys {
                let unlinked = self.buffer.get(&k).is_some_and(|(_, d)| {
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
            self.candidates(Index::DbTrace, &h.correlation.trace_id),
            LinkMethod::TraceId,
            &mut out,
        );
        if let Some(id) = h.attributes.get(INTEGRATION_REQUEST_ID) {
            add(
                self.candidates(Index::DbIntegration, id),
                LinkMethod::AwsRequestId,
                &mut out,
            );
        }
        add(
            self.candidates(Index::DbApp, &h.correlation.app_request_id),
            LinkMethod::RequestHeader,
            &mut out,
        );
        add(
            self.candidates(Index::DbPrincipal, &h.actor.principal),
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
        let Some((_, h)) = self.buffer.get(&http) else {
            return;
        };
        let (h_id, h_actor) = (h.id.clone(), h.actor.clone());
        let Some((input, mut d)) = self.remove(db) else {
            return;
        };
        d.correlation.linked_event = h_id;
        d.correlation.link = method;
        let d_principal = d.actor.principal.clone();
        if !h_actor.principal.is_empty() && d_principal != h_actor.principal {
            if !d_principal.is_empty() {
                d.attributes
                    .insert(AWS_PRINCIPAL.to_owned(), d_principal.clone());
            }
            d.actor.principal = h_actor.principal.clone();
        }
        fill(&mut d.actor.tenant, &h_actor.tenant);
        fill(&mut d.actor.ip, &h_actor.ip);
        fill(&mut d.actor.session, &h_actor.session);
        self.insert(db, input, d);
        // The reverse: a request without a principal learns the application user a DB log names.
        if h_actor.principal.is_empty()
            && !d_principal.is_empty()
            && !d_principal.starts_with("arn:")
            && let Some((input, mut h)) = self.remove(http)
        {
            h.actor.principal = d_principal;
            self.insert(http, input, h);
        }
    }
}

fn fill(target: &mut String, from: &str) {
    if target.is_empty() {
        target.push_str(from);
    }
}

/// Whether a DB event's source records no item key (an OTel span).
fn is_keyless(e: &Event) -> bool {
    e.attributes.contains_key(KEY_UNKNOWN)
}

/// The candidate nearest in time to `key` (ties: earlier in the stream) that passes `ok`.
fn closest(
    buffer: &BTreeMap<Key, (u32, Event)>,
    key: Key,
    keys: Vec<Key>,
    ok: impl Fn(&Event) -> bool,
) -> Option<Key> {
    keys.into_iter()
        .filter(|k| *k != key && buffer.get(k).is_some_and(|(_, e)| ok(e)))
        .min_by_key(|k| (k.0.abs_diff(key.0), *k))
}

/// Combines two records of one call. The event with the finer time keeps its place in the stream
/// (both are still buffered, so order is kept); the other's facts fill the gaps and its id is
/// listed in `merged_from`.
fn combine(a: (Key, Event), b: (Key, Event)) -> (Key, Event) {
    let (keep, give) = if b.1.precision_ns < a.1.precision_ns {
        (b, a)
    } else {
        (a, b)
    };
    let (key, mut e) = keep;
    let (_, other) = give;
    let keyless = is_keyless(&e);
    let other_keyless = is_keyless(&other);
    match (&mut e.detail, other.detail) {
        (Detail::DbOperation(d), Detail::DbOperation(o)) => {
            if keyless && !other_keyless {
                let error = std::mem::take(&mut d.error_code);
                *d = o;
                if d.error_code.is_empty() {
                    d.error_code = error;
                }
                e.attributes.remove(KEY_UNKNOWN);
            } else {
                if d.key.is_empty() {
                    d.key = o.key;
                }
                fill(&mut d.condition, &o.condition);
                d.has_condition |= o.has_condition;
                fill(&mut d.update_expression, &o.update_expression);
                fill(&mut d.index_name, &o.index_name);
                fill(&mut d.group_id, &o.group_id);
                fill(&mut d.error_code, &o.error_code);
                d.consistent_read = d.consistent_read.or(o.consistent_read);
            }
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
                h.params = o.params;
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
    for (k, v) in other.attributes {
        if k != MERGED_FROM && k != KEY_UNKNOWN {
            e.attributes.entry(k).or_insert(v);
        }
    }
    let merged = e.attributes.entry(MERGED_FROM.to_owned()).or_default();
    if !merged.is_empty() {
        merged.push(' ');
    }
    merged.push_str(&format!("{} ({})", other.id, other.source));
    (key, e)
}

/// The index entries of an event.
fn index_keys(e: &Event) -> Vec<(Index, String)> {
    let c = &e.correlation;
    let mut out = Vec::new();
    let mut add = |idx, v: &str| {
        if !v.is_empty() {
            out.push((idx, v.to_owned()));
        }
    };
    match &e.detail {
        Detail::DbOperation(_) => {
            add(Index::DbRequest, &c.request_id);
            if !c.trace_id.is_empty() && !c.span_id.is_empty() {
                add(Index::DbSpan, &format!("{}:{}", c.trace_id, c.span_id));
            }
            if c.link == LinkMethod::None {
                add(Index::DbTrace, &c.trace_id);
                add(Index::DbApp, &c.app_request_id);
                add(Index::DbPrincipal, &e.actor.principal);
                add(Index::DbIntegration, &c.request_id);
            }
        }
        Detail::Http(_) => {
            add(Index::HttpTrace, &c.trace_id);
            add(Index::HttpApp, &c.app_request_id);
            add(Index::HttpPrincipal, &e.actor.principal);
            if let Some(id) = e.attributes.get(INTEGRATION_REQUEST_ID) {
                add(Index::HttpIntegration, id);
            }
        }
        _ => {}
    }
    out
}
