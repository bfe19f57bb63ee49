//! TW-BOLA-002: one principal walking the ids of one collection.
//!
//! A walk is a principal's accesses to one collection (a path collection, or a table) with no
//! pause longer than the window. Only ids that are neither the principal's own nor were given
//! to them count. A walk is judged when it ends (a longer pause, or the end of the input), with
//! every access it held, so the finding states the whole walk.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;

use std::rc::Rc;
use tracewarden_sdk::collections::{HashMap, HashSet, RandomState};

use tracewarden_sdk::prelude::*;

use crate::ENUMERATION;
use crate::options::Options;

/// Most distinct ids remembered per walk (counts go on).
pub(crate) const MAX_IDS: usize = 10_000;

/// Most distinct ids remembered across all open walks: past it, the walk idle the longest is
/// judged as it stands, so state stays bounded however many principals keep walking (a
/// million-record trail of 2,000 users each touching a table every few seconds).
pub(crate) const MAX_TOTAL_IDS: usize = 200_000;

/// A walk longer than this many windows is judged and a new one begins: a principal busy for
/// hours is judged hour by hour, not held until the end.
const MAX_WALK_WINDOWS: i64 = 60;

#[derive(Default)]
struct Walk {
    first_ns: i64,
    last_ns: i64,
    /// The distinct ids, as digests ([`Enumeration::digests`]): only counted and looked up, so
    /// an id costs no copy of its text, and one hash.
    ids: HashSet<u64>,
    numbers: BTreeSet<u64>,
    accesses: u64,
    refused: u64,
    /// Successful accesses to ids another principal owns.
    foreign_successes: u64,
    evidence: Vec<Evidence>,
}

/// A walk's principal, collection and whether the collection is a table, with their hash,
/// computed once per access: the walk map hashes that number at each lookup, not the
/// principal's ARN and the collection again. Equal, and ordered, by the three alone.
#[derive(Clone, Default, Debug)]
struct WalkKey {
    principal: String,
    collection: String,
    is_table: bool,
    hash: u64,
}

impl WalkKey {
    fn parts(&self) -> (&str, &str, bool) {
        (&self.principal, &self.collection, self.is_table)
    }
}

impl std::hash::Hash for WalkKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for WalkKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.parts() == other.parts()
    }
}

impl Eq for WalkKey {}

impl Ord for WalkKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for WalkKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
pub(crate) struct Enumeration {
    /// Looked up at every access, judged in key order ([`Enumeration::finish`], the idle
    /// index): a hash map, whatever its order. Principals are often long ARNs sharing a prefix,
    /// which an ordered map compares again at every level.
    walks: HashMap<Rc<WalkKey>, Walk>,
    /// The open walks by their last access: the idlest first. Closing the idlest or the ended
    /// walks looks only at those, not at every open walk. Log times are often whole seconds,
    /// shared by many walks: those of one time are a bucket, by the key's address, ordered by
    /// key only when one must be chosen, not compared at every access.
    idle: BTreeMap<i64, HashMap<usize, Rc<WalkKey>>>,
    /// The key being looked up, its buffers kept: an access allocates no key to find its walk.
    probe: WalkKey,
    /// Distinct ids held by the open walks.
    total_ids: usize,
    /// Digests of ids, seeded at random per instance: two ids share one with a probability of
    /// about n²/2⁶⁵ (for a walk's 10,000 ids, 3·10⁻¹²), and ids cannot be chosen to collide
    /// (to make a walk of many ids look like one) without the seed.
    digests: RandomState,
    next_sweep_ns: i64,
}

impl Enumeration {
    pub(crate) fn on_event(&mut self, event: &Event<'_>, options: &Options, out: &mut Findings) {
        if event.time_ns >= self.next_sweep_ns {
            self.sweep(event.time_ns, options, out);
            self.next_sweep_ns = event.time_ns.saturating_add(options.window_ns / 2);
        }
        let principal = event.actor.principal;
        if event.facts.privileged || principal.is_empty() {
            return;
        }
        // A DynamoDB call made for an HTTP request is counted with that request.
        let is_table = match &event.detail {
            Detail::Http(_) => false,
            Detail::Db(_) if event.correlation.linked_event.is_empty() => true,
            _ => return,
        };
        let refused = matches!(event.outcome, Outcome::Denied | Outcome::NotFound);
        for object in event.facts.objects.iter() {
            if matches!(object.relation, Relation::Own | Relation::Granted)
                || object.known
                || object.owner_source == OwnerSource::Public
            {
                continue;
            }
            self.probe.principal.clear();
            self.probe.principal.push_str(principal);
            self.probe.collection.clear();
            self.probe.collection.push_str(object.collection);
            self.probe.is_table = is_table;
            self.probe.hash = self.digests.hash_one(self.probe.parts());
            let max_span = options.window_ns.saturating_mul(MAX_WALK_WINDOWS);
            let mut open = self.open_walk();
            if let Some((key, first_ns, last_ns)) = &open
                && (event.time_ns.saturating_sub(*last_ns) > options.window_ns
                    || event.time_ns.saturating_sub(*first_ns) > max_span)
            {
                self.close(key, options, out);
                open = None;
            }
            if self.total_ids >= MAX_TOTAL_IDS {
                // The idlest may be this walk.
                self.close_idlest(options, out);
                open = self.open_walk();
            }
            let key = match open {
                Some((key, _, last_ns)) if last_ns == event.time_ns => key,
                Some((key, _, last_ns)) => {
                    self.unfile(last_ns, &key);
                    self.file(event.time_ns, Rc::clone(&key));
                    key
                }
                None => {
                    let key = Rc::new(self.probe.clone());
                    let walk = Walk {
                        first_ns: event.time_ns,
                        ..Walk::default()
                    };
                    self.walks.insert(Rc::clone(&key), walk);
                    self.file(event.time_ns, Rc::clone(&key));
                    key
                }
            };
            let Some(walk) = self.walks.get_mut(&key) else {
                continue;
            };
            walk.last_ns = event.time_ns;
            walk.accesses += 1;
            if refused {
                walk.refused += 1;
            }
            if event.outcome == Outcome::Success && object.relation == Relation::Other {
                walk.foreign_successes += 1;
            }
            if walk.ids.len() < MAX_IDS && walk.ids.insert(self.digests.hash_one(object.id)) {
                self.total_ids += 1;
                if let Some(n) = number(object.id) {
                    walk.numbers.insert(n);
                }
                if walk.evidence.len() < options.max_evidence {
                    walk.evidence.push(Evidence::of(event, "attempt"));
                }
            }
        }
    }

    pub(crate) fn finish(&mut self, options: &Options, out: &mut Findings) {
        self.total_ids = 0;
        self.idle.clear();
        let mut walks: Vec<_> = std::mem::take(&mut self.walks).into_iter().collect();
        walks.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (key, walk) in walks {
            judge(&key, walk, options, out);
        }
    }

    /// The open walk at the probe's key, if any: its shared key, first and last access.
    fn open_walk(&self) -> Option<(Rc<WalkKey>, i64, i64)> {
        let (key, walk) = self.walks.get_key_value(&self.probe)?;
        Some((Rc::clone(key), walk.first_ns, walk.last_ns))
    }

    /// Files the walk at `key` as last accessed at `last_ns`.
    fn file(&mut self, last_ns: i64, key: Rc<WalkKey>) {
        let address = Rc::as_ptr(&key).addr();
        self.idle.entry(last_ns).or_default().insert(address, key);
    }

    /// Takes the walk at `key` out of the idle index, where it was filed at `last_ns`.
    fn unfile(&mut self, last_ns: i64, key: &Rc<WalkKey>) {
        if let Some(bucket) = self.idle.get_mut(&last_ns) {
            bucket.remove(&Rc::as_ptr(key).addr());
            if bucket.is_empty() {
                self.idle.remove(&last_ns);
            }
        }
    }

    /// Judges the walk at `key` as it stands.
    fn close(&mut self, key: &WalkKey, options: &Options, out: &mut Findings) {
        if let Some((key, walk)) = self.walks.remove_entry(key) {
            self.total_ids = self.total_ids.saturating_sub(walk.ids.len());
            self.unfile(walk.last_ns, &key);
            judge(&key, walk, options, out);
        }
    }

    /// Judges the walk that has been idle the longest (ties: the first by key).
    fn close_idlest(&mut self, options: &Options, out: &mut Findings) {
        let idlest = self
            .idle
            .first_key_value()
            .and_then(|(_, bucket)| bucket.values().min().cloned());
        if let Some(key) = idlest {
            self.close(&key, options, out);
        }
    }

    /// Judges the walks that ended before `now_ns`, in key order.
    fn sweep(&mut self, now_ns: i64, options: &Options, out: &mut Findings) {
        let mut ended: Vec<Rc<WalkKey>> = self
            .idle
            .iter()
            .take_while(|(last_ns, _)| now_ns.saturating_sub(**last_ns) > options.window_ns)
            .flat_map(|(_, bucket)| bucket.values().cloned())
            .collect();
        ended.sort();
        for key in ended {
            self.close(&key, options, out);
        }
    }
}

/// The number an id carries: the digits ending it (`1001`, `o-17`, `INV#3`), or those ending
/// the first key value that has some (`order_id=1001`).
fn number(id: &str) -> Option<u64> {
    id.split(',').find_map(|part| {
        let value = part.split_once('=').map_or(part, |(_, v)| v);
        let digits = value.len() - value.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        value.get(value.len() - digits..)?.parse().ok()
    })
}

/// The longest run of consecutive numbers, with its first number.
fn longest_run(numbers: &BTreeSet<u64>) -> (usize, u64) {
    let mut best = (0, 0);
    let mut run = (0, 0);
    let mut previous: Option<u64> = None;
    for &n in numbers {
        run = match previous {
            Some(p) if p.checked_add(1) == Some(n) => (run.0 + 1, run.1),
            _ => (1, n),
        };
        if run.0 > best.0 {
            best = run;
        }
        previous = Some(n);
    }
    best
}

fn judge(key: &WalkKey, walk: Walk, options: &Options, out: &mut Findings) {
    let (principal, collection, is_table) = key.parts();
    let distinct = walk.ids.len();
    let (run, run_start) = longest_run(&walk.numbers);
    let sequential = run >= options.sequential_min;
    let mostly_refused =
        walk.accesses > 0 && walk.refused * 100 >= options.refused_percent * walk.accesses;
    let enumeration = distinct >= options.max_ids
        || (distinct >= options.min_ids && (sequential || mostly_refused));
    if !enumeration {
        return;
    }
    let what = if is_table { "table" } else { "collection" };
    let seconds = (walk.last_ns - walk.first_ns) as f64 / 1e9;
    let mut message = format!(
        "`{principal}` touched {distinct} distinct ids of {what} `{collection}` that are not \
         theirs in {seconds:.1} s ({} accesses)",
        walk.accesses
    );
    if sequential {
        message.push_str(&format!(
            "; a sequential run of {run}, {run_start}–{}",
            run_start + run as u64 - 1
        ));
    }
    message.push_str(&format!(
        "; {} of {} refused (401/403/404)",
        walk.refused, walk.accesses
    ));
    if walk.foreign_successes > 0 {
        message.push_str(&format!(
            "; {} succeeded on ids another principal owns",
            walk.foreign_successes
        ));
    }
    if distinct > walk.evidence.len() {
        message.push_str(&format!(
            "; evidence lists the first {}",
            walk.evidence.len()
        ));
    }
    let severity = if walk.foreign_successes > 0 {
        Severity::High
    } else {
        Severity::Medium
    };
    let shared = crate::shared_identity(principal);
    if shared {
        message.push_str(crate::SHARED_IDENTITY_NOTE);
    }
    let mut finding = Finding::new(ENUMERATION.id, message)
        .severity(severity)
        .principal(principal)
        .resource(collection);
    if shared {
        finding = finding.confidence(Confidence::Low);
    }
    for e in walk.evidence {
        finding = finding.with(e);
    }
    out.push(finding);
}
