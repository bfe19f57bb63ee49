//! TW-DDB-001 over hand-built events.

use tracewarden_sdk::prelude::*;
use tracewarden_sdk::testing::run;

use crate::DynamoDb;

fn write(operation: &'static str) -> EventBuilder {
    EventBuilder::db(operation, "orders")
        .id("w-1")
        .key("order_id", "o-1")
        .key("tenant", "acme")
        .principal("alice")
        .at_secs(7)
}

#[test]
fn an_unconditional_write_is_an_occurrence_at_its_site() {
    let put = write("PutItem").issued_by("POST", "/orders").build();
    let findings = run::<DynamoDb>(&[put]);
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f.rule_id, "TW-DDB-001");
    assert_eq!(
        f.message,
        "`PutItem` on `orders/order_id=o-1,tenant=acme` without a ConditionExpression"
    );
    assert_eq!(
        (f.principal.as_str(), f.resource.as_str()),
        ("alice", "orders/order_id=o-1,tenant=acme")
    );
    assert_eq!(f.time_ns, 7_000_000_000);
    assert_eq!(f.evidence, [Evidence::of(&put, "use")]);
    assert_eq!(
        (f.severity, f.confidence),
        (None, None),
        "the rule's defaults"
    );
    assert_eq!(
        f.site,
        Some(Site {
            method: "POST".to_owned(),
            route: "/orders".to_owned(),
            table: "orders".to_owned(),
            operation: "PutItem".to_owned(),
        })
    );
}

#[test]
fn every_write_operation_counts_and_nothing_else_does() {
    let events = [
        write("PutItem").build(),
        write("UpdateItem").build(),
        write("DeleteItem").build(),
        write("GetItem").build(),
        write("Query").build(),
        write("TransactWriteItems").build(),
        EventBuilder::http("PUT", "/orders/o-1", 200)
            .principal("alice")
            .build(),
    ];
    let ops: Vec<_> = run::<DynamoDb>(&events)
        .into_iter()
        .filter_map(|f| f.site.map(|s| s.operation))
        .collect();
    assert_eq!(ops, ["PutItem", "UpdateItem", "DeleteItem"]);
}

#[test]
fn conditional_refused_and_keyless_writes_are_not_occurrences() {
    let events = [
        write("UpdateItem").condition("owner_id = :uid").build(),
        write("DeleteItem").outcome(Outcome::Denied).build(),
        write("PutItem")
            .error("ConditionalCheckFailedException")
            .build(),
        // An OpenTelemetry span records neither key nor condition.
        write("UpdateItem").attribute("key_unknown", "true").build(),
    ];
    assert_eq!(run::<DynamoDb>(&events), []);
    // An empty marker is no marker.
    let marked_empty = write("UpdateItem").attribute("key_unknown", "").build();
    assert_eq!(run::<DynamoDb>(&[marked_empty]).len(), 1);
}

#[test]
fn a_write_without_a_recorded_key_names_the_table() {
    let put = EventBuilder::db("PutItem", "orders").build();
    let findings = run::<DynamoDb>(&[put]);
    assert_eq!(
        (
            findings[0].resource.as_str(),
            findings[0].principal.as_str()
        ),
        ("orders/", "")
    );
    assert_eq!(
        findings[0].message,
        "`PutItem` on `orders/` without a ConditionExpression"
    );
}
