//! Which rules of a scan want which events: every rule's subscription (kinds, operations,
//! facts required) judged once per event of a chunk, on the first worker that feeds the chunk,
//! while the event is in cache, instead of again by each file for its picks, by each for its
//! counts, and by every WASM file for whether a slice is encoded whole.

use std::ops::Range;

use super::meta::{RuleMeta, Subscribed};
use crate::event::Event;

/// The rules of a run's files in one numbering, file after file.
pub(super) struct Subscriptions<'a> {
    rules: Vec<&'a RuleMeta>,
    /// Per file: the numbers of its rules.
    files: Vec<Range<usize>>,
    /// The WASM files' numbers.
    wasm: Vec<usize>,
    /// 64-bit words per event.
    words: usize,
}

impl<'a> Subscriptions<'a> {
    /// `files`: each file's rules, and whether it is a WASM component.
    pub(super) fn new(files: impl IntoIterator<Item = (&'a [RuleMeta], bool)>) -> Self {
        let mut subs = Subscriptions {
            rules: Vec::new(),
            files: Vec::new(),
            wasm: Vec::new(),
            words: 0,
        };
        for (n, (rules, wasm)) in files.into_iter().enumerate() {
            let first = subs.rules.len();
            subs.rules.extend(rules);
            subs.files.push(first..subs.rules.len());
            if wasm {
                subs.wasm.push(n);
            }
        }
        subs.words = subs.rules.len().div_ceil(64).max(1);
        subs
    }

    /// Every rule's answer for each of `events`.
    pub(super) fn judge(&self, events: &[Box<Event>]) -> Wanted {
        let mut bits = vec![0u64; events.len() * self.words].into_boxed_slice();
        for (event, words) in events.iter().zip(bits.chunks_exact_mut(self.words)) {
            let subscribed = Subscribed::of(event);
            for (n, rule) in self.rules.iter().enumerate() {
                if rule.subscribes(&subscribed)
                    && let Some(word) = words.get_mut(n / 64)
                {
                    *word |= 1 << (n % 64);
                }
            }
        }
        Wanted {
            words: self.words,
            bits,
        }
    }

    /// Whether one of file `file`'s rules wants the event `wanted` answers for.
    pub(super) fn file_wants(&self, file: usize, wanted: &[u64]) -> bool {
        self.files
            .get(file)
            .is_some_and(|rules| rules.clone().any(|n| set(wanted, n)))
    }

    /// Which of file `file`'s rules want the event `wanted` answers for, in the file's order.
    pub(super) fn rules_wanting<'w>(
        &self,
        file: usize,
        wanted: &'w [u64],
    ) -> impl Iterator<Item = bool> + 'w {
        self.files
            .get(file)
            .cloned()
            .unwrap_or_default()
            .map(move |n| set(wanted, n))
    }

    /// Whether some WASM file wants every event of `events` (positions in `wanted`'s chunk).
    pub(super) fn some_wasm_file_wants_all(&self, wanted: &Wanted, events: Range<usize>) -> bool {
        self.wasm.iter().any(|&file| {
            events
                .clone()
                .all(|i| self.file_wants(file, wanted.event(i)))
        })
    }
}

/// Rule `n`'s bit in an event's answers.
fn set(wanted: &[u64], n: usize) -> bool {
    wanted.get(n / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
}

/// A chunk's answers: per event, a bit per rule of the run ([`Subscriptions`]' numbering).
pub(super) struct Wanted {
    words: usize,
    bits: Box<[u64]>,
}

impl Wanted {
    /// The answers for the chunk's event `i` (none for a position past its end).
    pub(super) fn event(&self, i: usize) -> &[u64] {
        self.bits
            .get(i * self.words..(i + 1) * self.words)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{
        Actor, DbOperation, Detail, EventKind, Facts, KeyAction, KeyLifecycle, ObjectFact, Outcome,
        SourceRef,
    };
    use crate::rules::{Confidence, FactNeed, FindingClass, Partitioning, Severity};

    fn rule(id: &str, kinds: &[EventKind], operations: &[&str], requires: &[FactNeed]) -> RuleMeta {
        RuleMeta {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            severity: Severity::Low,
            confidence: Confidence::High,
            owasp: Vec::new(),
            soc2: Vec::new(),
            cwe: Vec::new(),
            remediation: String::new(),
            kinds: kinds.to_vec(),
            operations: operations.iter().map(|o| (*o).to_owned()).collect(),
            requires: requires.to_vec(),
            partitioning: Partitioning::None,
            class: FindingClass::Incident,
        }
    }

    fn event(detail: Detail, owned: bool) -> Box<Event> {
        let mut facts = Facts::default();
        if owned {
            facts.objects.push(ObjectFact {
                owner: "alice".into(),
                ..ObjectFact::default()
            });
        }
        Box::new(Event {
            id: "e".into(),
            time_ns: 0,
            precision_ns: 1,
            source: SourceRef {
                file: "t.json".into(),
                record: 1,
                line: None,
                format: "cloudtrail".into(),
            },
            actor: Actor::default(),
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail,
            attributes: Default::default(),
            facts,
        })
    }

    fn db(operation: &str, owned: bool) -> Box<Event> {
        let detail = Detail::DbOperation(DbOperation {
            operation: operation.into(),
            ..DbOperation::default()
        });
        event(detail, owned)
    }

    /// The answers, and `RuleMeta::wants`, are each rule's subscription for every event, across a
    /// word boundary (70 rules), and a file wants an event when one of its rules does.
    #[test]
    fn the_answers_are_each_rules_subscription() {
        let varied = [
            rule("all", &[], &[], &[]),
            rule("db", &[EventKind::DbOperation], &[], &[]),
            rule("writes", &[], &["PutItem", "DeleteItem"], &[]),
            rule(
                "owned",
                &[EventKind::DbOperation],
                &[],
                &[FactNeed::ObjectsOwned],
            ),
            rule("keys", &[EventKind::KeyLifecycle], &[], &[FactNeed::Key]),
        ];
        let mut many: Vec<RuleMeta> = (0..65)
            .map(|n| rule(&format!("r{n}"), &[EventKind::Http], &[], &[]))
            .collect();
        many.push(rule("late-writes", &[], &["PutItem"], &[FactNeed::Objects]));
        let subs = Subscriptions::new([(&varied[..], true), (&many[..], false)]);
        let events = vec![
            db("GetItem", false),
            db("PutItem", false),
            db("PutItem", true),
            db("DeleteItem", true),
            event(
                Detail::KeyLifecycle(KeyLifecycle {
                    action: KeyAction::Created,
                    key_id: "AKIANEW".into(),
                    owner: "alice".into(),
                    scopes: Vec::new(),
                    parent_key_id: "".into(),
                }),
                false,
            ),
        ];
        let wanted = subs.judge(&events);
        let all: Vec<&RuleMeta> = varied.iter().chain(&many).collect();
        for (i, event) in events.iter().enumerate() {
            let answers: Vec<bool> = subs
                .rules_wanting(0, wanted.event(i))
                .chain(subs.rules_wanting(1, wanted.event(i)))
                .collect();
            // Each subscription as metadata states it, need by need.
            let expected: Vec<bool> = all
                .iter()
                .map(|r| {
                    (r.kinds.is_empty() || r.kinds.contains(&event.kind()))
                        && (r.operations.is_empty()
                            || r.operations.iter().any(|o| o == event.operation()))
                        && r.requires.iter().all(|need| need.met(event))
                })
                .collect();
            assert_eq!(
                all.iter().map(|r| r.wants(event)).collect::<Vec<_>>(),
                expected
            );
            assert_eq!(answers, expected, "event {i}");
            assert_eq!(
                subs.file_wants(1, wanted.event(i)),
                many.iter().any(|r| r.wants(event)),
                "event {i}"
            );
        }
        // `late-writes` (rule 70, the second word) wants only the owned PutItem.
        let late: Vec<bool> = (0..events.len())
            .map(|i| subs.rules_wanting(1, wanted.event(i)).last() == Some(true))
            .collect();
        assert_eq!(late, [false, false, true, false, false]);
        // The WASM file (`all`) wants every event; had it not been one, none would.
        assert!(subs.some_wasm_file_wants_all(&wanted, 0..events.len()));
        let rego_only = Subscriptions::new([(&varied[..], false), (&many[..], false)]);
        assert!(!rego_only.some_wasm_file_wants_all(&rego_only.judge(&events), 0..1));
        let db_only = Subscriptions::new([(&varied[1..], true)]);
        let judged = db_only.judge(&events);
        assert!(db_only.some_wasm_file_wants_all(&judged, 0..4));
        assert!(!db_only.some_wasm_file_wants_all(&judged, 0..5));
    }
}
