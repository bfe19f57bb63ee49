//! Built-in TOCTOU pack: time-of-check/time-of-use races on DynamoDB items and HTTP resources.
//!
//! One component carries the five rules, so an event crosses into WebAssembly once for all of
//! them:
//!
//! - TW-TOCTOU-001: an item read (the check) then written without a condition covering its state
//!   (the use), in the same request, or by the same identity within a window;
//! - TW-TOCTOU-002: the same, with another request's write of the item observed in between;
//! - TW-TOCTOU-003: several state-changing requests of one identity on one resource succeeding
//!   within a tiny window (limit overrun, single-packet attack), at HTTP and DynamoDB level;
//! - TW-TOCTOU-004: conditional writes on one item failing from several requests in a short
//!   window (racing attempts);
//! - TW-TOCTOU-005: a request's check read eventually consistent state (no `ConsistentRead`, or
//!   a secondary index) before the request wrote.
//!
//! Timing honesty: an order or a window is only claimed when the events' time precision supports
//! it; CloudTrail's one-second times lower the confidence, and every message says which sources
//! and precision it relied on. Options (windows, thresholds) come from `pack.toml`'s `[config]`.

mod bursts;
mod checks;
mod model;
mod options;

use tracewarden_sdk::prelude::*;

use crate::bursts::Bursts;
use crate::checks::Checks;
use crate::model::{DbOp, Names, Seen};
use crate::options::Options;

const OWASP_RACE: &[&str] = &["API1:2023", "API6:2023"];
const CWE_RACE: &[&str] = &["CWE-367", "CWE-362"];

/// Operations (and HTTP methods) the pack reads; the host sends nothing else.
const OPERATIONS: &[&str] = &[
    "GetItem",
    "Query",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "ConditionCheck",
];

pub(crate) const CHECK_THEN_WRITE: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-001",
    title: "Item read then written without a condition on its state",
    description: "A DynamoDB item is read (the check: GetItem, or a Query pinned to its key) and \
        then written with PutItem, UpdateItem or DeleteItem whose condition does not cover the \
        item's state (none, or only `attribute_exists` on the key), in the same request, or by the \
        same identity within `check_window_ms`. Between the two calls the item can change, so the \
        write acts on a stale decision. A write in a TransactWriteItems with a ConditionCheck on \
        the item is not flagged.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    owasp: OWASP_RACE,
    soc2: &["CC6.1", "CC8.1"],
    cwe: CWE_RACE,
    remediation: "Move the check into the write: a ConditionExpression on the attribute the read \
        checked (`owner_id = :uid`, `attribute_exists(pk) AND #status = :expected`, `version = \
        :v` for optimistic locking); when the check is on another item than the one written, a \
        TransactWriteItems with a ConditionCheck re-checking that item; otherwise re-validate at \
        use.",
    kinds: &[EventKind::DbOperation],
    operations: OPERATIONS,
    requires: &[],
    partitioning: Partitioning::ByResource,
    class: FindingClass::Weakness,
};

pub(crate) const OBSERVED_RACE: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-002",
    title: "Stale check used: the item changed between read and unconditional write",
    description: "Request A read an item, another request or identity wrote the item, then A \
        wrote it without a condition covering its state: A's write acted on the state it had \
        checked, which no longer held (a lost update, or an authorization decision that was no \
        longer true). Claimed as observed only when the events' times order the three calls; \
        with one-second CloudTrail times it is reported as possible, at low confidence.",
    severity: Severity::High,
    confidence: Confidence::High,
    owasp: OWASP_RACE,
    soc2: &["CC6.1", "CC7.2"],
    cwe: CWE_RACE,
    remediation: "Make the write conditional on the state the read checked (`owner_id = :uid`, \
        `version = :v`) so DynamoDB rejects it when the item changed; then review the item's \
        history for the lost update.",
    kinds: &[EventKind::DbOperation],
    operations: OPERATIONS,
    requires: &[],
    partitioning: Partitioning::ByResource,
    class: FindingClass::Incident,
};

pub(crate) const CONCURRENT: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-003",
    title: "Concurrent state-changing requests on one resource all succeeded",
    description: "One identity made `concurrent_min_requests` or more state-changing requests \
        to one resource within `concurrent_window_ms`, and they all succeeded: the limit-overrun \
        / single-packet pattern, where every request passes the check before any applies its \
        change. HTTP: POST, PUT, PATCH, DELETE on one path whose executions overlapped (or whose \
        durations are unknown). DynamoDB: writes without a state condition, each after its \
        request's read of the item, with every read before the first write.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    owasp: &["API6:2023", "API4:2023"],
    soc2: &["CC7.2", "CC8.1"],
    cwe: &["CWE-362", "CWE-837"],
    remediation: "Make the state change atomic with its check: a ConditionExpression on the \
        limit (`used = :false`, `balance >= :amount`) or an idempotency key checked with \
        `attribute_not_exists` in the same write; serialize single-use actions per resource.",
    kinds: &[EventKind::Http, EventKind::DbOperation],
    operations: &[
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheck",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ],
    requires: &[],
    partitioning: Partitioning::ByPrincipal,
    class: FindingClass::Incident,
};

pub(crate) const CONFLICT_BURST: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-004",
    title: "Burst of failed conditional writes on one item",
    description: "Conditional writes on one item failed with ConditionalCheckFailedException \
        from `conflict_min_requests` or more requests within `conflict_window_ms`: several \
        clients raced for the same item. The condition did its job; the burst shows the item \
        is contended (or targeted). With optimistic locking (a version attribute) a burst can \
        be ordinary contention.",
    severity: Severity::Low,
    confidence: Confidence::Medium,
    owasp: &["API6:2023"],
    soc2: &["CC7.2"],
    cwe: &["CWE-362"],
    remediation: "Confirm that every write path to the item is conditional (the losers were \
        rejected here; an unconditional path would not be); if the racers are one client, add \
        an idempotency key; if they are many, review what made the item contended.",
    kinds: &[EventKind::DbOperation],
    operations: &["PutItem", "UpdateItem", "DeleteItem", "ConditionCheck"],
    requires: &[],
    partitioning: Partitioning::ByResource,
    class: FindingClass::Incident,
};

pub(crate) const WEAK_CHECK: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-005",
    title: "Check read eventually consistent state before a write",
    description: "In one request, a read the later write depends on (of the table it writes, or \
        of a table listed in `auth_tables`) was eventually consistent (`ConsistentRead` false \
        or not set) or served from a secondary index (global secondary indexes are always \
        eventually consistent), and the write did not re-check that item in a condition: even \
        an immediate write may act on state that was already stale when it was read.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    owasp: &["API1:2023"],
    soc2: &["CC6.1", "CC8.1"],
    cwe: CWE_RACE,
    remediation: "Read the authorization state with `ConsistentRead: true` from the base table \
        (not from a GSI), or better, make the write check it atomically: a TransactWriteItems \
        whose ConditionCheck re-checks the item that was read, alongside the write.",
    kinds: &[EventKind::DbOperation],
    operations: OPERATIONS,
    requires: &[],
    partitioning: Partitioning::ByTrace,
    class: FindingClass::Weakness,
};

pub(crate) const RACE_ATTEMPTED: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-006",
    title: "Race attempted: the item changed between check and conditional write",
    description: "A request read an item (its check), another request wrote the item, then the \
        first request's conditional write failed its condition. The condition did its job; the \
        request raced a concurrent change (a transfer, a status change), which is worth knowing \
        when it repeats or comes from an untrusted caller.",
    severity: Severity::Low,
    confidence: Confidence::Medium,
    owasp: &["API6:2023"],
    soc2: &["CC7.2"],
    cwe: &["CWE-362"],
    remediation: "Nothing to fix in the write: its condition held. Look at who raced whom; a \
        caller that repeatedly races state changes may be probing for a window.",
    kinds: &[EventKind::DbOperation],
    operations: OPERATIONS,
    requires: &[],
    partitioning: Partitioning::ByResource,
    class: FindingClass::Incident,
};

/// Most items of one transaction or batch judged together. DynamoDB allows 100 (a
/// `TransactWriteItems`); a record claiming more is judged in slices of this size, so it cannot
/// make the rule hold it whole.
pub(crate) const MAX_GROUP: usize = 1_000;

/// The pack's state for one scan.
#[derive(Default)]
pub struct Toctou {
    options: Options,
    checks: Checks,
    bursts: Bursts,
    seq: u64,
    /// The items of the transaction or batch being read (its events arrive together).
    group: Vec<DbOp>,
    names: Names,
}

impl Rule for Toctou {
    fn rules() -> Vec<RuleMeta> {
        vec![
            CHECK_THEN_WRITE,
            OBSERVED_RACE,
            CONCURRENT,
            CONFLICT_BURST,
            WEAK_CHECK,
            RACE_ATTEMPTED,
        ]
    }

    fn configure(&mut self, config: &Config) -> Result<(), String> {
        self.options = Options::from_config(config)?;
        Ok(())
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        self.seq += 1;
        let now = event.time_ns;
        let op = match &event.detail {
            Detail::Db(db) => DbOp::of(event, db, self.seq, &mut self.names),
            _ => None,
        };
        // A transaction or batch ends where an event outside it arrives: its items are judged
        // then, at their own time, before checks and bursts age out against the newcomer's.
        let joins_group = op.as_ref().is_some_and(|op| {
            !op.group.is_empty()
                && self.group.first().is_some_and(|g| g.group == op.group)
                && self.group.len() < MAX_GROUP
        });
        if matches!(event.detail, Detail::Http(_)) || (op.is_some() && !joins_group) {
            self.flush_group(out);
        }
        self.checks.expire(now, &self.options);
        self.bursts.expire(now, &self.options, out);
        match &event.detail {
            Detail::Http(http) if event.outcome == Outcome::Success => {
                let seen = Seen::of(event, self.seq, &mut self.names);
                // Without the enrichment stage's facts (no route either), assume it does.
                let names_object =
                    !event.facts.objects.is_empty() || event.facts.request_route.is_empty();
                self.bursts
                    .http_request(seen, http, names_object, &self.options, out);
            }
            Detail::Db(_) => match op {
                Some(op) if op.group.is_empty() => self.db_operation(op, &[], out),
                Some(op) => self.group.push(op),
                None => {}
            },
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Findings) {
        self.flush_group(out);
        self.bursts.close_all(&self.options, out);
    }

    fn state(&self) -> Vec<StateUsage> {
        self.checks.usage()
    }
}

impl Toctou {
    /// Judges the items of a finished transaction or batch together: a ConditionCheck on an
    /// item covers the other items' writes of it.
    fn flush_group(&mut self, out: &mut Findings) {
        let group = std::mem::take(&mut self.group);
        let checked: Vec<std::rc::Rc<str>> = group
            .iter()
            .filter(|op| &*op.operation == "ConditionCheck")
            .map(|op| std::rc::Rc::clone(&op.item))
            .collect();
        for op in group {
            self.db_operation(op, &checked, out);
        }
    }

    fn db_operation(&mut self, op: DbOp, checked: &[std::rc::Rc<str>], out: &mut Findings) {
        if op.success {
            let op = std::rc::Rc::new(op);
            if let Some(check) = self.checks.operation(&op, checked, &self.options, out) {
                self.bursts.db_write(&op, check, &self.options, out);
            }
        } else if op.error_code == "ConditionalCheckFailedException" {
            self.checks.blocked(&op, out);
            self.bursts.conflict(&op, &self.options, out);
        }
    }
}

tracewarden_sdk::export_rule!(Toctou);

#[cfg(test)]
mod tests;
