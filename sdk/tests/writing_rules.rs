//! The rule of `docs/writing-rules.md`, compiled and tested natively: the guide's code must stay
//! true. Keep the two in step (the guide quotes `READ_AFTER_DELETE`, `ReadAfterDelete` and its
//! `impl Rule` as they are here), and the Rust scaffold, `rules/templates/rust/src/lib.rs`, which
//! is the same rule with `{{rule_id}}` for its id.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a failed test"
)]

use tracewarden_sdk::OptionValue;
use tracewarden_sdk::prelude::*;
use tracewarden_sdk::testing::{run_configured, run_with_state};

const READ_AFTER_DELETE: RuleMeta = RuleMeta {
    id: "TW-MYPACK-001",
    title: "Item read after delete",
    description: "A DynamoDB GetItem on an item the same principal successfully deleted \
        earlier in the stream: the caller acts on an object it removed (a stale cache, a \
        replayed request, a delete that did not do what the caller thought).",
    severity: Severity::Low,
    confidence: Confidence::Medium,
    cwe: &["CWE-672"],
    remediation: "Find why the caller still holds the item's key after deleting it.",
    kinds: &[EventKind::DbOperation],
    operations: &["DeleteItem", "GetItem"],
    partitioning: Partitioning::ByPrincipal,
    class: FindingClass::Incident,
    ..RuleMeta::DEFAULT
};

/// Deletes by principal and item, forgotten after `window_ms`, within 8 MiB.
pub struct ReadAfterDelete {
    deletes: WindowMap<(String, String), Evidence>,
}

impl Default for ReadAfterDelete {
    fn default() -> Self {
        ReadAfterDelete {
            deletes: WindowMap::new("deletes", 3_600_000_000_000).with_budget(8 << 20),
        }
    }
}

impl Rule for ReadAfterDelete {
    fn rules() -> Vec<RuleMeta> {
        vec![READ_AFTER_DELETE]
    }

    fn configure(&mut self, config: &Config) -> Result<(), String> {
        let window = config.duration_ms("window_ms", 3_600_000)?;
        self.deletes.set_window_ns(window);
        Ok(())
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let (Some(db), Some(item)) = (event.db(), event.item()) else {
            return;
        };
        self.deletes.expire(event.time_ns);
        let key = (event.principal().to_owned(), item);
        match db.operation {
            "DeleteItem" if event.outcome == Outcome::Success => {
                self.deletes
                    .insert(key, event.time_ns, Evidence::of(event, "delete"));
            }
            "GetItem" => {
                if let Some(delete) = self.deletes.get(&key) {
                    let message = format!("`{}` read `{}` after deleting it", key.0, key.1);
                    out.push(
                        READ_AFTER_DELETE
                            .finding_on(event, "read", message)
                            .preceded_by(delete.clone()),
                    );
                }
            }
            _ => {}
        }
    }

    fn state(&self) -> Vec<StateUsage> {
        vec![self.deletes.usage(READ_AFTER_DELETE.id)]
    }
}

tracewarden_sdk::export_rule!(ReadAfterDelete);

fn delete(id: &'static str, who: &'static str, secs: i64) -> Event<'static> {
    EventBuilder::db("DeleteItem", "orders")
        .id(id)
        .key("id", "42")
        .principal(who)
        .at_secs(secs)
        .build()
}

fn read(id: &'static str, who: &'static str, secs: i64) -> Event<'static> {
    EventBuilder::db("GetItem", "orders")
        .id(id)
        .key("id", "42")
        .principal(who)
        .at_secs(secs)
        .build()
}

#[test]
fn a_read_after_the_readers_own_delete_is_an_incident() {
    let (findings, state) =
        run_with_state::<ReadAfterDelete>(&[delete("d", "alice", 1), read("r", "alice", 2)]);
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f.rule_id, "TW-MYPACK-001");
    assert_eq!(
        (f.principal.as_str(), f.resource.as_str()),
        ("alice", "orders/id=42")
    );
    let roles: Vec<&str> = f.evidence.iter().map(|e| e.role.as_str()).collect();
    assert_eq!(roles, ["delete", "read"]);
    assert_eq!(f.message, "`alice` read `orders/id=42` after deleting it");
    assert_eq!(f.time_ns, 2_000_000_000);
    assert_eq!(
        (state[0].name.as_str(), state[0].entries, state[0].evicted),
        ("deletes", 1, 0)
    );
}

#[test]
fn another_principals_read_a_failed_delete_and_an_expired_one_are_not() {
    let failed = EventBuilder::db("DeleteItem", "orders")
        .key("id", "42")
        .principal("alice")
        .outcome(Outcome::Conflict)
        .build();
    let findings =
        run_with_state::<ReadAfterDelete>(&[delete("d", "alice", 1), read("r", "bob", 2)]).0;
    assert_eq!(findings, []);
    assert_eq!(
        run_with_state::<ReadAfterDelete>(&[failed, read("r", "alice", 2)]).0,
        []
    );
    let config = Config::from_pairs([("window_ms", OptionValue::Integer(500))]);
    let late = run_configured::<ReadAfterDelete>(
        &config,
        &[delete("d", "alice", 1), read("r", "alice", 2)],
    );
    assert_eq!(late, Ok(Vec::new()));
}
