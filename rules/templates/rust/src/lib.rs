//! {{rule_id}}: a DynamoDB `GetItem` of an item its reader deleted earlier in the stream.

use std::collections::BTreeMap;

use tracewarden_sdk::prelude::*;

const META: RuleMeta = RuleMeta {
    id: "{{rule_id}}",
    title: "Item read after delete",
    description: "A principal read a DynamoDB item it had deleted: the code reads state it removed \
                  itself, a stale reference or a replayed request.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    class: FindingClass::Incident,
    cwe: &["CWE-672"],
    remediation: "Drop references to an item when it is deleted; treat a read of a deleted item \
                  as an error.",
    kinds: &[EventKind::DbOperation],
    operations: &["DeleteItem", "GetItem"],
    ..RuleMeta::DEFAULT
};

/// The items each principal deleted, with the delete's evidence.
#[derive(Default)]
pub struct ReadAfterDelete {
    deleted: BTreeMap<(String, String), Evidence>,
}

impl Rule for ReadAfterDelete {
    fn rules() -> Vec<RuleMeta> {
        vec![META]
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(db) = event.db() else { return };
        let item = format!("{}/{}", db.table, key_text(&db));
        let who = (event.actor.principal.to_owned(), item);
        match db.operation {
            "DeleteItem" if event.outcome == Outcome::Success => {
                self.deleted.insert(who, Evidence::of(event, "delete"));
            }
            "GetItem" => {
                if let Some(delete) = self.deleted.get(&who) {
                    out.push(
                        Finding::new(META.id, format!("`{}` read `{}` after deleting it", who.0, who.1))
                            .principal(&who.0)
                            .resource(who.1.clone())
                            .with(delete.clone())
                            .evidence(event, "read"),
                    );
                }
            }
            _ => {}
        }
    }
}

/// `name=value` of each key attribute, comma-separated.
fn key_text(db: &DbOperation<'_>) -> String {
    db.key
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(",")
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
