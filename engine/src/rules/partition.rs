//! Partitioned rule runs: a rule file whose rules all declare one partitioning runs as several
//! instances, each fed the events of its share of the partition keys, so one costly rule file
//! uses several cores. The key of an event is the one a distributed run would shuffle by, and
//! which share a key falls in depends only on the key and the partition count, never on the
//! threads.

use super::meta::{Partitioning, RuleMeta};
use crate::event::{Detail, Event};

/// Most partitions a scan may ask for.
pub const MAX_PARTITIONS: usize = 64;

/// The partitioning a rule file's instances may be split by in a scan: the one every rule of
/// the file that the scan runs declares, when that is not [`Partitioning::None`]. Rules left
/// out of the scan do not count (their findings are dropped as they come).
pub(crate) fn of_file<'r>(
    rules: impl IntoIterator<Item = &'r RuleMeta>,
    deselected: &std::collections::BTreeSet<String>,
) -> Option<Partitioning> {
    let mut shared = None;
    for rule in rules {
        if deselected.contains(&rule.id) {
            continue;
        }
        match (rule.partitioning, shared) {
            (Partitioning::None, _) => return None,
            (p, None) => shared = Some(p),
            (p, Some(q)) if p != q => return None,
            _ => {}
        }
    }
    shared
}

/// The digest of `event`'s partition key under `how`, or `None` when the event has none (it
/// goes to the first partition, with every other keyless event, in stream order):
/// - by principal: the actor's principal;
/// - by resource: a DB call's table and item key (the table alone for a call without a key), an
///   HTTP request's path, a key lifecycle change's key, an authorization decision's resource;
/// - by trace: the trace id.
pub(crate) fn key(event: &Event, how: Partitioning) -> Option<u64> {
    let nonempty = |s: &str| (!s.is_empty()).then(|| crate::digest::of([s]));
    match how {
        Partitioning::None => None,
        Partitioning::ByPrincipal => nonempty(&event.actor.principal),
        Partitioning::ByTrace => nonempty(&event.correlation.trace_id),
        Partitioning::ByResource => match &event.detail {
            Detail::DbOperation(d) if !d.table.is_empty() => {
                let mut digest = crate::digest::Digest::new();
                digest.part("db").part(&d.table);
                for (name, value) in d.key.iter() {
                    digest.part(name).part(value);
                }
                Some(digest.finish())
            }
            Detail::DbOperation(_) => None,
            Detail::Http(h) => nonempty(&h.path),
            Detail::KeyLifecycle(k) => nonempty(&k.key_id),
            Detail::AuthDecision(a) => nonempty(&a.resource),
        },
    }
}

/// The partition of `event` among `count` (at least 1).
pub(crate) fn of_event(event: &Event, how: Partitioning, count: usize) -> usize {
    let count = count.max(1) as u64;
    // `count` is at most MAX_PARTITIONS, so the remainder fits.
    key(event, how).map_or(0, |k| (k % count) as usize)
}

/// Where a partitioning's partition numbers are in a chunk's cache: one slot each for by
/// principal, by resource and by trace.
pub(crate) fn slot(how: Partitioning) -> Option<usize> {
    match how {
        Partitioning::None => None,
        Partitioning::ByPrincipal => Some(0),
        Partitioning::ByResource => Some(1),
        Partitioning::ByTrace => Some(2),
    }
}

/// One instance of a partitioned rule file: partition `index` of `count`, by `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) count: usize,
    pub(crate) how: Partitioning,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, DbOperation, Http, Outcome, SourceRef};
    use crate::rules::{Confidence, FindingClass, Severity};

    fn rule(id: &str, partitioning: Partitioning) -> RuleMeta {
        RuleMeta {
            id: id.to_owned(),
            title: String::new(),
            description: String::new(),
            severity: Severity::Low,
            confidence: Confidence::Low,
            owasp: Vec::new(),
            soc2: Vec::new(),
            cwe: Vec::new(),
            remediation: String::new(),
            kinds: Vec::new(),
            operations: Vec::new(),
            requires: Vec::new(),
            partitioning,
            class: FindingClass::Incident,
        }
    }

    fn db(principal: &str, table: &str, key: &[(&str, &str)]) -> Event {
        Event {
            id: "e".into(),
            time_ns: 1,
            precision_ns: 1,
            source: SourceRef {
                file: "f".into(),
                record: 1,
                line: None,
                format: "cloudtrail".into(),
            },
            actor: Actor {
                principal: principal.into(),
                ..Actor::default()
            },
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                table: table.into(),
                key: key
                    .iter()
                    .map(|(n, v)| ((*n).into(), (*v).into()))
                    .collect(),
                ..DbOperation::default()
            }),
            attributes: Default::default(),
            facts: Default::default(),
        }
    }

    #[test]
    fn a_file_splits_only_when_every_rule_it_runs_declares_the_same_partitioning() {
        let none = std::collections::BTreeSet::new();
        let r = |p| rule("A", p);
        let s = |p| rule("B", p);
        assert_eq!(
            of_file(
                &[r(Partitioning::ByResource), s(Partitioning::ByResource)],
                &none
            ),
            Some(Partitioning::ByResource)
        );
        assert_eq!(
            of_file(
                &[r(Partitioning::ByResource), s(Partitioning::ByPrincipal)],
                &none
            ),
            None
        );
        assert_eq!(
            of_file(&[r(Partitioning::ByTrace), s(Partitioning::None)], &none),
            None
        );
        assert_eq!(of_file(&[] as &[RuleMeta], &none), None);
        // A rule left out of the scan does not hold the others back.
        let left_out = std::collections::BTreeSet::from(["B".to_owned()]);
        assert_eq!(
            of_file(
                &[r(Partitioning::ByTrace), s(Partitioning::None)],
                &left_out
            ),
            Some(Partitioning::ByTrace)
        );
    }

    #[test]
    fn an_item_is_one_partition_whoever_touches_it_and_keyless_events_go_to_the_first() {
        let a = db("alice", "orders", &[("id", "1")]);
        let b = db("bob", "orders", &[("id", "1")]);
        assert_eq!(
            key(&a, Partitioning::ByResource),
            key(&b, Partitioning::ByResource)
        );
        assert_ne!(
            key(&a, Partitioning::ByPrincipal),
            key(&b, Partitioning::ByPrincipal)
        );
        // The table and the key are parts: `orders`,`id=1` is not `order`,`sid=1`.
        assert_ne!(
            key(&a, Partitioning::ByResource),
            key(
                &db("alice", "order", &[("sid", "1")]),
                Partitioning::ByResource
            )
        );
        assert_eq!(key(&a, Partitioning::ByTrace), None);
        assert_eq!(of_event(&a, Partitioning::ByTrace, 8), 0);
        assert_eq!(key(&db("", "orders", &[]), Partitioning::ByPrincipal), None);
        let mut http = a.clone();
        http.detail = Detail::Http(Http {
            method: "GET".into(),
            path: "/orders/1".into(),
            ..Http::default()
        });
        assert_eq!(
            key(&http, Partitioning::ByResource),
            Some(crate::digest::of(["/orders/1"]))
        );
        // Fixed digests: the same partition from run to run, and every partition used.
        let spread: std::collections::BTreeSet<usize> = (0..200)
            .map(|i| {
                of_event(
                    &db("alice", "orders", &[("id", &i.to_string())]),
                    Partitioning::ByResource,
                    4,
                )
            })
            .collect();
        assert_eq!(spread, (0..4).collect());
        assert_eq!(of_event(&a, Partitioning::ByResource, 1), 0);
    }
}
