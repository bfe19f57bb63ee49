//! Built-in DynamoDB hygiene pack: TW-DDB-001, a write that carries no condition.
//!
//! The hygiene check behind the TOCTOU rules: a write that depends on prior state must state
//! that state as a `ConditionExpression`, so DynamoDB checks it atomically with the write.
//!
//! A weakness rule: every unconditional write is an occurrence, and the host folds them by site.
//! On a trail that is a fifth of all events (206,429 of the shared million), which is why the
//! rule is WebAssembly and not Rego: regorus spent ~12 µs of CPU per occurrence building and
//! returning its finding, ~11% of a full scan (docs/architecture.md, 2026-12-05). The Rego
//! original is kept as a reference (`tests/fixtures/packs/dynamodb-rego`), and a test holds both
//! to the same findings on every recorded fixture.

#[cfg(test)]
mod tests;

use tracewarden_sdk::prelude::*;

/// A successful write whose source recorded no condition.
pub(crate) const UNCONDITIONAL_WRITE: RuleMeta = RuleMeta {
    id: "TW-DDB-001",
    title: "DynamoDB write without a ConditionExpression",
    description: "A PutItem, UpdateItem or DeleteItem succeeded without a ConditionExpression \
        (or legacy Expected). If the write depends on state read earlier (ownership, status, \
        balance, version), that state can change between the read and the write.",
    severity: Severity::Low,
    confidence: Confidence::Medium,
    owasp: &["API6:2023"],
    soc2: &["CC8.1"],
    cwe: &["CWE-362", "CWE-367"],
    remediation: "Put the precondition into the write: a ConditionExpression such as \
        `attribute_not_exists(pk)` for creates, `owner_id = :uid` for ownership, \
        `version = :v` for optimistic locking.",
    kinds: &[EventKind::DbOperation],
    operations: &["PutItem", "UpdateItem", "DeleteItem"],
    requires: &[],
    // Each write is judged alone: any split of the stream gives the same occurrences.
    partitioning: Partitioning::ByResource,
    class: FindingClass::Weakness,
};

/// The attribute the engine sets on a DB call whose source records neither the item key nor
/// the condition (an OpenTelemetry span): absence proves nothing there.
const KEY_UNKNOWN: &str = "key_unknown";

/// The pack's one rule; it keeps no state.
#[derive(Default)]
pub struct DynamoDb;

impl Rule for DynamoDb {
    fn rules() -> Vec<RuleMeta> {
        vec![UNCONDITIONAL_WRITE]
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(db) = event.db() else {
            return;
        };
        let write = UNCONDITIONAL_WRITE.operations.contains(&db.operation);
        if !write
            || db.has_condition
            || event.outcome != Outcome::Success
            || event
                .attributes
                .get(KEY_UNKNOWN)
                .is_some_and(|v| !v.is_empty())
        {
            return;
        }
        let site = Site::of(event);
        if !out.keeps_details(UNCONDITIONAL_WRITE.id, &site) {
            // Past a site's first occurrences the host reads only who and when.
            out.push(Finding::occurrence(
                UNCONDITIONAL_WRITE.id,
                site,
                event.actor.principal,
                event.time_ns,
            ));
            return;
        }
        // `table/name=value,…`, with the table alone followed by `/` when the key is unknown:
        // the resource names the item, so two writes to one item are one resource.
        let mut resource = String::with_capacity(db.table.len() + 32);
        resource.push_str(db.table);
        resource.push('/');
        db.key.push_to(&mut resource);
        let message = format!(
            "`{}` on `{resource}` without a ConditionExpression",
            db.operation
        );
        out.push(
            UNCONDITIONAL_WRITE
                .finding(message)
                .principal(event.actor.principal)
                .resource(resource)
                .evidence(event, "use")
                .site(site),
        );
    }
}

tracewarden_sdk::export_rule!(DynamoDb);
