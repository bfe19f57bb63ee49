//! {{rule_id}}: a DynamoDB `GetItem` of an item its reader deleted earlier in the stream.

use tracewarden_sdk::prelude::*;

const READ_AFTER_DELETE: RuleMeta = RuleMeta {
    id: "{{rule_id}}",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_of_an_item_the_reader_deleted_is_reported() {
        let findings = tracewarden_sdk::testing::run::<ReadAfterDelete>(&[
            EventBuilder::db("DeleteItem", "orders").key("orderId", "o-1").principal("alice").build(),
            EventBuilder::db("GetItem", "orders").key("orderId", "o-1").principal("bob").build(),
            EventBuilder::db("GetItem", "orders").key("orderId", "o-1").principal("alice").build(),
        ]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].principal, "alice");
        assert_eq!(findings[0].resource, "orders/orderId=o-1");
    }
}
