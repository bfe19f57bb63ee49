//! Coverage: for each rule, whether the inputs held the data it needs, so that a clean report is
//! never mistaken for a clean system. The statement is derived from the kinds of events a rule
//! reads, what the stream carried, and what the inputs skipped.

use serde::Serialize;

use crate::enrich::Saturation;
use crate::event::EventKind;
use crate::ingest::{InputFormat, InputReport, StreamStats};
use crate::rules::{FactNeed, PartitionedRun, Partitioning, RuleMeta};

/// How well a rule's needs were met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    /// It saw the data it reads, from sources precise enough.
    Full,
    /// It saw data, with a stated limit (e.g. one-second CloudTrail times only).
    Partial,
    /// It saw nothing it reads: its silence means nothing.
    None,
}

/// A rule's coverage statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The verdict.
    pub status: CoverageStatus,
    /// Why, in plain words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Coverage {
    /// This coverage, lowered to partial at best when inputs were not (fully) read (`unread`:
    /// one line per input): the events they hold are missing from what the rule saw.
    pub(super) fn with_unread(mut self, unread: &[String]) -> Coverage {
        if unread.is_empty() {
            return self;
        }
        if self.status == CoverageStatus::Full {
            self.status = CoverageStatus::Partial;
        }
        self.notes.push(format!(
            "{} input(s) not fully read, so their events were not seen: {}",
            unread.len(),
            unread.join("; ")
        ));
        self
    }
}

impl Coverage {
    /// This coverage, lowered to partial at best when an enrichment model the rule reads from
    /// (`rule.requires`) was full and turned facts away ([`Saturation`]).
    pub(super) fn with_saturation(self, rule: &RuleMeta, full: &Saturation) -> Coverage {
        let mut notes = Vec::new();
        let objects = rule.requires.iter().any(FactNeed::from_ownership);
        let keys = rule.requires.iter().any(|n| !n.from_ownership());
        if objects && full.objects > 0 {
            notes.push(format!(
                "the ownership model was full ({} objects): {} time(s) an object could not be \
                 added, so its owner stayed unknown",
                crate::enrich::MAX_OBJECTS,
                full.objects
            ));
        }
        if objects && full.known > 0 {
            notes.push(format!(
                "{} id(s) given to principals were not remembered (at most {} per principal, {} \
                 in all): later access to them was not known to be legitimate",
                full.known,
                crate::enrich::MAX_KNOWN_PER_PRINCIPAL,
                crate::enrich::MAX_KNOWN
            ));
        }
        if keys && full.keys > 0 {
            notes.push(format!(
                "the key ledger was full ({} keys): {} time(s) a key could not be added, so its \
                 lifecycle stayed unknown",
                crate::enrich::MAX_KEYS,
                full.keys
            ));
        }
        self.with_state_notes(&notes)
    }

    /// This coverage, lowered to partial at best when the rule evicted state to stay within its
    /// memory budget (`notes`: what it evicted, contract 1.1 `state-usage`).
    pub(super) fn with_state_notes(mut self, notes: &[String]) -> Coverage {
        if notes.is_empty() {
            return self;
        }
        if self.status == CoverageStatus::Full {
            self.status = CoverageStatus::Partial;
        }
        self.notes.extend(notes.iter().cloned());
        self
    }
}

impl Coverage {
    /// This coverage, with a note when the rule's file ran as several instances (`split`):
    /// not lowered (the rule declared that a split changes none of its findings), but what
    /// differs from one instance is said.
    pub(super) fn with_partitions(mut self, split: Option<&PartitionedRun>) -> Coverage {
        if let Some(run) = split {
            let by = match run.partitioning {
                Partitioning::ByPrincipal => "principal",
                Partitioning::ByResource => "resource",
                Partitioning::ByTrace => "trace",
                Partitioning::None => "nothing",
            };
            self.notes.push(format!(
                "ran as {n} instances split by {by} (`--partitions {n}`), each sent the events \
                 of its share of the {by}s: the state the rule bounds is bounded per instance, \
                 and a weakness site's examples are the earliest of each instance's",
                n = run.instances
            ));
        }
        self
    }
}

/// The coverage of `rule`, which was sent `seen` events. Only a stateful rule (WASM: it relates
/// events over time) is limited by coarse times; a Rego rule judges each event on its own.
pub(super) fn assess(
    rule: &RuleMeta,
    stateful: bool,
    seen: u64,
    stats: &StreamStats,
    inputs: &[InputReport],
) -> Coverage {
    let mut notes = Vec::new();
    let kinds: Vec<EventKind> = if rule.kinds.is_empty() {
        EventKind::ALL.to_vec()
    } else {
        rule.kinds.clone()
    };
    // Revocations, scopes and creations come from the key lifecycle ledger: without a lifecycle
    // source, a rule that needs them cannot fire, whatever uses the inputs hold.
    let needs_ledger = rule.requires.iter().any(|n| {
        matches!(
            n,
            FactNeed::KeyCreated
                | FactNeed::KeyRevoked
                | FactNeed::KeyDownscoped
                | FactNeed::KeyParentRevoked
        )
    });
    if needs_ledger
        && stats
            .by_kind
            .get(&EventKind::KeyLifecycle)
            .copied()
            .unwrap_or(0)
            == 0
    {
        return Coverage {
            status: CoverageStatus::None,
            notes: vec![missing(EventKind::KeyLifecycle, inputs)],
        };
    }
    let present: u64 = kinds
        .iter()
        .map(|k| stats.by_kind.get(k).copied().unwrap_or(0))
        .sum();
    if seen == 0 && !rule.requires.is_empty() && present > 0 {
        // The rule was given nothing because no event had the facts it needs (no revoked key
        // was used, no object of a known owner was touched): that silence is a result.
        let needs: Vec<&str> = rule.requires.iter().map(FactNeed::as_str).collect();
        return Coverage {
            status: CoverageStatus::Full,
            notes: vec![format!(
                "{present} event(s) of the kinds it reads, none with the facts it needs ({})",
                needs.join(", ")
            )],
        };
    }
    if seen == 0 {
        for kind in &kinds {
            let present = stats.by_kind.get(kind).copied().unwrap_or(0);
            if present > 0 {
                notes.push(format!(
                    "{present} {} event(s) in the inputs, none of the operations it reads ({})",
                    kind.as_str(),
                    rule.operations.join(", ")
                ));
            } else {
                notes.push(missing(*kind, inputs));
            }
        }
        return Coverage {
            status: CoverageStatus::None,
            notes,
        };
    }
    let mut status = CoverageStatus::Full;
    if kinds.contains(&EventKind::DbOperation) {
        let db: u64 = stats.db_by_format.values().sum();
        if stateful && db > 0 && stats.db_subsecond == 0 {
            status = CoverageStatus::Partial;
            notes.push(
                "DynamoDB operations only with one-second times (CloudTrail): order within a second \
                 is unknown, so races can be inferred but not observed"
                    .to_owned(),
            );
        }
        // Sources that record no item key (OTel spans) cannot tell one item from another.
        if db > 0 && stats.db_keyless * 2 > db {
            status = CoverageStatus::Partial;
            notes.push(format!(
                "{} of {db} DynamoDB operations carry no item key (OpenTelemetry spans record \
                 none): operations on different items cannot be told apart; add a request log, \
                 a HAR of the DynamoDB endpoint or CloudTrail data events",
                stats.db_keyless
            ));
        }
        if db > 0
            && stats.by_kind.get(&EventKind::Http).copied().unwrap_or(0) > 0
            && stats.db_linked == 0
        {
            notes.push(
                "no DynamoDB operation could be linked to an HTTP request (no shared trace id, \
                 request id or principal)"
                    .to_owned(),
            );
        }
    }
    if stats.crowded > 0
        && (kinds.contains(&EventKind::DbOperation) || kinds.contains(&EventKind::Http))
    {
        status = CoverageStatus::Partial;
        notes.push(format!(
            "{} correlation entries made way under ids shared by more than {} events at once \
             (a repeated request, trace or span id): duplicates and links under those ids were \
             looked for among their {} most recent events only",
            stats.crowded,
            crate::ingest::MAX_FAN_IN,
            crate::ingest::MAX_FAN_IN
        ));
    }
    let http = stats.by_kind.get(&EventKind::Http).copied().unwrap_or(0);
    if kinds.contains(&EventKind::Http) && http > 0 && stats.http_anonymous * 2 > http {
        status = CoverageStatus::Partial;
        notes.push(format!(
            "{} of {http} HTTP requests name no principal (no `Authorization` the engine can \
             read, no `enduser.id`): who made them is unknown",
            stats.http_anonymous
        ));
    }
    for kind in &kinds {
        if stats.by_kind.get(kind).copied().unwrap_or(0) == 0 && kinds.len() > 1 {
            status = CoverageStatus::Partial;
            notes.push(missing(*kind, inputs));
        }
    }
    Coverage { status, notes }
}

/// Why the inputs held no events of `kind`.
fn missing(kind: EventKind, inputs: &[InputReport]) -> String {
    let cloudtrail = inputs
        .iter()
        .filter(|i| i.format == Some(InputFormat::CloudTrail))
        .count();
    match kind {
        EventKind::DbOperation if cloudtrail > 0 => {
            "no DynamoDB operations: the CloudTrail inputs hold management events but no DynamoDB \
             data events (data events are off unless a trail logs AWS::DynamoDB::Table); add wire \
             logs, OTLP traces or a HAR of the DynamoDB endpoint"
                .to_owned()
        }
        EventKind::DbOperation => {
            "no DynamoDB operations among the inputs (CloudTrail data events, DynamoDB wire logs, \
             OTLP DynamoDB spans, a HAR of the DynamoDB endpoint)"
                .to_owned()
        }
        EventKind::Http => {
            "no HTTP requests among the inputs (HAR, OTLP server spans, gateway access logs)"
                .to_owned()
        }
        EventKind::KeyLifecycle => {
            "no key lifecycle source among the inputs (CloudTrail IAM, API Gateway or STS key \
             events, or a key inventory): revocations, scopes and key ages are unknown"
                .to_owned()
        }
        EventKind::AuthDecision => "no authorization decisions among the inputs".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(requires: &[&str]) -> RuleMeta {
        serde_json::from_value(serde_json::json!({
            "id": "TW-T-001", "title": "t", "severity": "high", "confidence": "high",
            "class": "incident", "requires": requires,
        }))
        .expect("rule metadata")
    }

    fn full() -> Coverage {
        Coverage {
            status: CoverageStatus::Full,
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_full_model_lowers_the_coverage_of_the_rules_that_read_it_only() {
        let saturation = Saturation {
            objects: 3,
            known: 0,
            keys: 0,
        };
        let owned = full().with_saturation(&rule(&["objects_owned"]), &saturation);
        assert_eq!(owned.status, CoverageStatus::Partial);
        assert_eq!(
            owned.notes,
            [format!(
                "the ownership model was full ({} objects): 3 time(s) an object could not be \
                 added, so its owner stayed unknown",
                crate::enrich::MAX_OBJECTS
            )]
        );
        assert_eq!(
            full().with_saturation(&rule(&["key_revoked"]), &saturation),
            full()
        );
        assert_eq!(full().with_saturation(&rule(&[]), &saturation), full());
        let keys = Saturation {
            keys: 1,
            ..Saturation::default()
        };
        let revoked = full().with_saturation(&rule(&["key_revoked"]), &keys);
        assert_eq!(revoked.status, CoverageStatus::Partial);
        assert_eq!(revoked.notes.len(), 1);
        assert_eq!(
            full().with_saturation(&rule(&["objects"]), &Saturation::default()),
            full()
        );
    }
}
