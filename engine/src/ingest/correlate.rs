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
        if is_placeholder_id(value) {
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
                    // A source that could not name the key (a request log's `PutItem` of a table
                    // whose key it has not seen yet) still records the same call.
                    o.operation == db.operation
                        && o.table == db.table
                        && (o.key == db.key || o.key.is_empty() || db.key.is_empty())
                }
            })
            .collect();
        (!same.is_empty()).then_some(same)
    }

    /// Merges `p` with the buffered events at `targets`; returns the keys of the results. The
    /// event that carries the facts (the keyed one; else the finer-timed one) keeps its id and
    /// source, takes the finer time and its place in the stream, and lists the other in
    /// `merged_from`; the other's input counts one `merged`.
    fn merge(&mut self, p: Pending, targets: Vec<Key>) -> Vec<Key> {
        let mut out = Vec::new();
        if is_keyless(&p.event) {
            // A span without item keys is absorbed into every keyed item its call touched.
            self.count_merge(p.input);
            for (i, key) in targets.into_iter().enumerate() {
                if let Some((input, keyed)) = self.remove(key) {
                    let new_key = if p.event.precision_ns < keyed.precision_ns {
                        (p.key.0, p.key.1, i as u32)
                    } else {
                        key
                    };
                    self.insert(new_key, input, combine(keyed, &p.event));
                    out.push(new_key);
                }
            }
            return out;
        }
        let Some((first, (input, other))) = targets
            .first()
            .and_then(|&k| self.remove(k).map(|v| (k, v)))
        else {
            return out;
        };
        let newcomer_is_base = is_keyless(&other) || p.event.precision_ns < other.precision_ns;
        let ((base_key, base_input, base), (give_key, give_input, give)) = if newcomer_is_base {
            ((p.key, p.input, p.event), (first, input, other))
        } else {
            ((first, input, other), (p.key, p.input, p.event))
        };
        self.count_merge(give_input);
        let key = if give.precision_ns < base.precision_ns {
            give_key
        } else {
            base_key
        };
        self.insert(key, base_input, combine(base, &give));
        out.push(key);
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
        let d_key = d.actor.key_id.clone();
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
        // The reverse: a request without a principal learns the application user a DB log names,
        // and a request without a key the application's own key id (not the AWS key that signed
        // the DynamoDB call: that is the service's, not the caller's).
        let learn_principal = h_actor.principal.is_empty()
            && !d_principal.is_empty()
            && !d_principal.starts_with("arn:");
        let learn_key = h_actor.key_id.is_empty() && !d_key.is_empty() && !is_aws_key_id(&d_key);
        if (learn_principal || learn_key)
            && let Some((input, mut h)) = self.remove(http)
        {
            if learn_principal {
                h.actor.principal = d_principal;
            }
            if learn_key {
                h.actor.key_id = d_key;
            }
            self.insert(http, input, h);
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

/// Combines two records of one call: `base` keeps its id and source, takes the finer time, and
/// fills its gaps from `other`.
fn combine(mut e: Event, other: &Event) -> Event {
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
    let merged = e.attributes.entry(MERGED_FROM.to_owned()).or_default();
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

/// The index entries of an event.
fn index_keys(e: &Event) -> Vec<(Index, String)> {
    let c = &e.correlation;
    let mut out = Vec::new();
    let mut add = |idx, v: &str| {
        if !is_placeholder_id(v) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Correlation, DbOperation, Http, Outcome, SourceRef};

    const T0: i64 = 1_773_482_400_250_000_000;

    fn event(id: &str, time_ns: i64, precision_ns: u64, format: &str, detail: Detail) -> Event {
        Event {
            facts: Default::default(),
            id: id.to_owned(),
            time_ns,
            precision_ns,
            source: SourceRef {
                file: format!("{format}.log"),
                record: 1,
                line: None,
                format: format.to_owned(),
            },
            actor: Actor::default(),
            correlation: Correlation::default(),
            outcome: Outcome::Success,
            detail,
            attributes: BTreeMap::new(),
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
                BTreeMap::new()
            } else {
                [("orderId".to_owned(), key.to_owned())].into()
            },
            is_write: op != "GetItem",
            ..DbOperation::default()
        })
    }

    /// Runs events (given in stream order, one input each) through a correlator.
    fn run(events: Vec<Event>) -> (Vec<Event>, Vec<u64>) {
        let mut c = Correlator::new(CorrelationOptions::default(), events.len());
        let mut sorted: Vec<(Key, u32, Event)> = events
            .into_iter()
            .enumerate()
            .map(|(i, e)| ((e.time_ns, i as u64, 0), i as u32, e))
            .collect();
        sorted.sort_by_key(|(k, _, _)| *k);
        let mut out = Vec::new();
        for (key, input, event) in sorted {
            c.push(Pending { key, input, event });
            while let Some(e) = c.pop(false) {
                out.push(e);
            }
        }
        while let Some(e) = c.pop(true) {
            out.push(e);
        }
        (out, c.merged)
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
        let mut e = base.clone();
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
        assert_eq!(d.key.get("orderId").map(String::as_str), Some("o-1"));
        assert_eq!(d.update_expression, "SET #s = :s");
        assert_eq!(call.correlation.trace_id, "t");
        assert_eq!(call.correlation.linked_event, "otel:t:s1");
        assert_eq!(call.correlation.link, LinkMethod::TraceId);
        assert_eq!(call.actor.principal, "alice");
        assert_eq!(
            call.attributes.get(AWS_PRINCIPAL).map(String::as_str),
            Some("arn:aws:sts::1:assumed-role/app/i-1")
        );
        assert_eq!(
            call.attributes.get(MERGED_FROM).map(String::as_str),
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
