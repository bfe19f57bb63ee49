//! Built-in TOCTOU pack: check-then-use races on DynamoDB items.
//!
//! TW-TOCTOU-001 flags an item that is read and then written without a condition by the same
//! principal (or in the same trace) shortly after: the authorization or state check and the write
//! are separate steps, so the state can change in between.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use tracewarden_sdk::prelude::*;

/// How long after a read a write still counts as acting on that read.
const WINDOW_NS: i64 = 10_000_000_000;

const CHECK_THEN_WRITE: RuleMeta = RuleMeta {
    id: "TW-TOCTOU-001",
    title: "Item read then written without a condition",
    description: "A DynamoDB item is read (the check) and then written with PutItem, UpdateItem or \
        DeleteItem without a ConditionExpression (the use) by the same principal or in the same \
        trace within a short window. Between the two calls the item can change, so the write acts on \
        a stale decision.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    owasp: &["API1:2023", "API6:2023"],
    soc2: &["CC6.1", "CC8.1"],
    cwe: &["CWE-367", "CWE-362"],
    remediation: "Move the check into the write: add a ConditionExpression on the attribute the read \
        checked (e.g. `owner_id = :uid`, `attribute_exists(pk) AND version = :v`), or use \
        TransactWriteItems with a ConditionCheck on the item; otherwise re-validate at use.",
    kinds: &[EventKind::DbOperation],
    operations: &["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
    partitioning: Partitioning::ByPrincipal,
};

/// The read that a later write may act on.
struct Check {
    evidence: Evidence,
    trace_id: String,
    operation: String,
}

/// TW-TOCTOU-001 state: the latest successful read of each (principal, table, key).
#[derive(Default)]
pub struct CheckThenWrite {
    checks: HashMap<u64, Check>,
    last_prune_ns: i64,
}

/// A fixed-key hash of the item identity, so the guest needs no random seed from the host.
fn item_id(principal: &str, db: &DbOperation<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    principal.hash(&mut h);
    db.table.hash(&mut h);
    for (name, value) in db.key.iter() {
        name.hash(&mut h);
        value.hash(&mut h);
    }
    h.finish()
}

impl CheckThenWrite {
    fn prune(&mut self, now_ns: i64) {
        if now_ns.saturating_sub(self.last_prune_ns) < WINDOW_NS {
            return;
        }
        self.checks
            .retain(|_, c| now_ns.saturating_sub(c.evidence.time_ns) <= WINDOW_NS);
        self.last_prune_ns = now_ns;
    }
}

impl Rule for CheckThenWrite {
    fn rules() -> Vec<RuleMeta> {
        vec![CHECK_THEN_WRITE]
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(db) = event.db() else { return };
        if event.outcome != Outcome::Success || db.key.is_empty() {
            return;
        }
        self.prune(event.time_ns);
        let principal = event.actor.principal;
        let id = item_id(principal, db);
        if !db.is_write {
            if db.operation == "GetItem" {
                self.checks.insert(
                    id,
                    Check {
                        evidence: Evidence::of(event, "check"),
                        trace_id: event.correlation.trace_id.to_owned(),
                        operation: db.operation.to_owned(),
                    },
                );
            }
            return;
        }
        let Some(check) = self.checks.remove(&id) else {
            return;
        };
        if db.has_condition {
            return;
        }
        let gap_ns = event.time_ns.saturating_sub(check.evidence.time_ns);
        let same_trace = !check.trace_id.is_empty() && check.trace_id == event.correlation.trace_id;
        if !same_trace && gap_ns > WINDOW_NS {
            return;
        }
        // Whole-second sources (CloudTrail) cannot order a read and a write of the same second.
        let confidence = if same_trace {
            Confidence::High
        } else if event.precision_ns >= 1_000_000_000 && gap_ns < 1_000_000_000 {
            Confidence::Low
        } else {
            Confidence::Medium
        };
        let resource = format!("{}/{}", db.table, db.key);
        let message = format!(
            "`{}` of `{resource}` then `{}` without a ConditionExpression {:.3} s later by `{principal}`{}: \
             the check and the write are separate steps",
            check.operation,
            db.operation,
            gap_ns as f64 / 1e9,
            if same_trace { " in the same trace" } else { "" },
        );
        let finding = Finding::new(CHECK_THEN_WRITE.id, message)
            .principal(principal)
            .resource(resource)
            .confidence(confidence)
            .with(check.evidence)
            .evidence(event, "use");
        out.push(finding);
    }
}

tracewarden_sdk::export_rule!(CheckThenWrite);

#[cfg(test)]
mod tests {
    use super::*;
    use tracewarden_sdk::testing::run;

    fn read(id: &'static str, secs: i64) -> EventBuilder {
        EventBuilder::db("GetItem", "orders")
            .key("id", "1")
            .principal("alice")
            .id(id)
            .at_secs(secs)
    }

    fn write(id: &'static str, secs: i64) -> EventBuilder {
        EventBuilder::db("UpdateItem", "orders")
            .key("id", "1")
            .principal("alice")
            .id(id)
            .at_secs(secs)
    }

    #[test]
    fn read_then_unconditional_write_is_flagged() {
        let f = run::<CheckThenWrite>(&[read("r", 100).build(), write("w", 102).build()]);
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(f.rule_id, "TW-TOCTOU-001");
        assert_eq!(f.principal, "alice");
        assert_eq!(f.resource, "orders/id=1");
        let evidence: Vec<_> = f
            .evidence
            .iter()
            .map(|e| (e.event_id.as_str(), e.role.as_str()))
            .collect();
        assert_eq!(evidence, [("r", "check"), ("w", "use")]);
        assert_eq!(f.time_ns, 102_000_000_000);
    }

    #[test]
    fn conditional_write_is_not_flagged() {
        let w = write("w", 101).condition("owner_id = :uid");
        assert!(run::<CheckThenWrite>(&[read("r", 100).build(), w.build()]).is_empty());
    }

    #[test]
    fn other_principal_other_item_or_late_write_is_not_flagged() {
        let other = EventBuilder::db("UpdateItem", "orders")
            .key("id", "1")
            .principal("bob")
            .at_secs(101);
        let item = EventBuilder::db("UpdateItem", "orders")
            .key("id", "2")
            .principal("alice")
            .at_secs(101);
        assert!(run::<CheckThenWrite>(&[read("r", 100).build(), other.build()]).is_empty());
        assert!(run::<CheckThenWrite>(&[read("r", 100).build(), item.build()]).is_empty());
        assert!(
            run::<CheckThenWrite>(&[read("r", 100).build(), write("w", 111).build()]).is_empty()
        );
    }

    #[test]
    fn failed_write_is_not_flagged_and_one_read_backs_one_finding() {
        let failed = write("w1", 101).outcome(Outcome::Conflict);
        assert!(run::<CheckThenWrite>(&[read("r", 100).build(), failed.build()]).is_empty());
        let f = run::<CheckThenWrite>(&[
            read("r", 100).build(),
            write("w1", 101).build(),
            write("w2", 102).build(),
        ]);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn same_second_cloudtrail_pair_has_low_confidence() {
        let mut r = read("r", 100).build();
        let mut w = write("w", 100).build();
        r.precision_ns = 1_000_000_000;
        w.precision_ns = 1_000_000_000;
        let f = run::<CheckThenWrite>(&[r, w]);
        assert_eq!(f.first().and_then(|f| f.confidence), Some(Confidence::Low));
    }
}
