//! The rules over hand-built events carrying the facts the engine's enrichment stage would give.

use tracewarden_sdk::testing::{run, run_configured};
use tracewarden_sdk::{Config, OptionValue, prelude::*};

use crate::Bola;

fn object(
    collection: &'static str,
    id: &'static str,
    owner: &'static str,
    source: OwnerSource,
    relation: Relation,
) -> ObjectFact<'static> {
    ObjectFact {
        collection,
        id,
        owner,
        owner_source: source,
        relation,
        ..ObjectFact::UNKNOWN
    }
}

fn alices_order(relation: Relation) -> ObjectFact<'static> {
    ObjectFact {
        owner_event: "create-1",
        owner_event_source: "app.har:10",
        ..object("orders", "1001", "alice", OwnerSource::Creator, relation)
    }
}

fn ids(findings: &[Finding]) -> Vec<(&str, &str, &str)> {
    findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_str(),
                f.principal.as_str(),
                f.resource.as_str(),
            )
        })
        .collect()
}

#[test]
fn another_principals_object_is_reported_once_with_its_ownership_evidence() {
    let read = |id| {
        EventBuilder::http("GET", "/orders/1001", 200)
            .id(id)
            .principal("bob")
            .object(alices_order(Relation::Other))
            .build()
    };
    let findings = run::<Bola>(&[read("r1"), read("r2")]);
    assert_eq!(ids(&findings), [("TW-BOLA-001", "bob", "orders/1001")]);
    let f = &findings[0];
    assert_eq!(
        f.message,
        "`bob`'s `GET /orders/1001` succeeded on `orders/1001`, which belongs to `alice`: the \
         owner created it, and the id was never returned to `bob`"
    );
    assert_eq!(f.confidence, Some(Confidence::Medium));
    let evidence: Vec<_> = f
        .evidence
        .iter()
        .map(|e| (e.event_id.as_str(), e.role.as_str(), e.source.as_str()))
        .collect();
    assert_eq!(
        evidence,
        [
            ("r1", "access", "#0"),
            ("create-1", "ownership", "app.har:10")
        ]
    );
}

#[test]
fn own_given_refused_privileged_and_unknown_owners_are_not_reported() {
    let get = || EventBuilder::http("GET", "/orders/1001", 200).principal("bob");
    let findings = run::<Bola>(&[
        get().object(alices_order(Relation::Own)).build(),
        get()
            .object(ObjectFact {
                known: true,
                ..alices_order(Relation::Other)
            })
            .build(),
        EventBuilder::http("GET", "/orders/1001", 403)
            .principal("bob")
            .object(alices_order(Relation::Other))
            .build(),
        get()
            .privileged()
            .object(alices_order(Relation::Other))
            .build(),
        get()
            .object(object(
                "orders",
                "1001",
                "",
                OwnerSource::Unknown,
                Relation::Unknown,
            ))
            .build(),
        get()
            .object(object(
                "catalog",
                "sku-1",
                "",
                OwnerSource::Public,
                Relation::Unknown,
            ))
            .build(),
    ]);
    assert_eq!(ids(&findings), []);
}

#[test]
fn a_db_call_of_a_reported_or_refused_request_is_not_reported_again() {
    let http = |id, status| {
        EventBuilder::http("GET", "/orders/1001", status)
            .id(id)
            .principal("bob")
            .object(alices_order(Relation::Other))
            .build()
    };
    let db = |link| {
        EventBuilder::db("GetItem", "orders")
            .key("order_id", "1001")
            .principal("bob")
            .linked(link, LinkMethod::TraceId)
            .object(ObjectFact {
                owner_source: OwnerSource::Condition,
                ..object(
                    "orders",
                    "order_id=1001",
                    "alice",
                    OwnerSource::Condition,
                    Relation::Other,
                )
            })
            .build()
    };
    // Reported at HTTP level: the DB call adds nothing. Refused: the DB read is not an access.
    assert_eq!(
        ids(&run::<Bola>(&[
            http("h1", 200),
            db("h1"),
            http("h2", 404),
            db("h2")
        ])),
        [("TW-BOLA-001", "bob", "orders/1001")]
    );
    // The request is in the inputs but knew no owner (OTLP has no bodies): the DB call reports,
    // citing the request.
    let plain = EventBuilder::http("GET", "/orders/1001", 200)
        .id("h3")
        .principal("bob")
        .build();
    let findings = run::<Bola>(&[plain, db("h3")]);
    assert_eq!(
        ids(&findings),
        [("TW-BOLA-001", "bob", "orders/order_id=1001")]
    );
    assert_eq!(findings[0].confidence, Some(Confidence::High));
    assert_eq!(findings[0].evidence[1].role, "request");
    // No request in the inputs (a wire log alone): low confidence, and the message says why.
    let findings = run::<Bola>(&[db("")]);
    assert_eq!(findings[0].confidence, Some(Confidence::Low));
    assert!(findings[0].message.ends_with(
        "; the HTTP response is not in the inputs, so the API may still have refused the request"
    ));
}

#[test]
fn a_path_naming_another_user_or_tenant_is_an_id_mismatch() {
    let findings = run::<Bola>(&[
        EventBuilder::http("PUT", "/users/bob/profile", 200)
            .principal("alice")
            .object(object(
                "users",
                "bob",
                "bob",
                OwnerSource::Path,
                Relation::Other,
            ))
            .build(),
        EventBuilder::http("GET", "/tenants/globex/invoices", 200)
            .principal("alice")
            .tenant("acme")
            .object(ObjectFact {
                owner_tenant: "globex",
                ..object("tenants", "globex", "", OwnerSource::Path, Relation::Other)
            })
            .build(),
        // Own profile, and a refused attempt: nothing.
        EventBuilder::http("PUT", "/users/alice/profile", 200)
            .principal("alice")
            .object(object(
                "users",
                "alice",
                "alice",
                OwnerSource::Path,
                Relation::Own,
            ))
            .build(),
        EventBuilder::http("PUT", "/v2/users/bob/profile", 403)
            .principal("mallory")
            .object(object(
                "users",
                "bob",
                "bob",
                OwnerSource::Path,
                Relation::Other,
            ))
            .build(),
    ]);
    assert_eq!(
        ids(&findings),
        [
            ("TW-BOLA-003", "alice", "users/bob"),
            ("TW-BOLA-003", "alice", "tenants/globex"),
        ]
    );
    assert_eq!(
        findings[0].message,
        "`alice`'s `PUT /users/bob/profile` succeeded on `users/bob`: the path names user `bob`, \
         not `alice`"
    );
    assert_eq!(
        findings[1].message,
        "`alice`'s `GET /tenants/globex/invoices` succeeded on `tenants/globex`: the path names \
         tenant `globex`, not `alice`'s tenant `acme`"
    );
}

fn probe(path: &'static str, id: &'static str, status: u16, secs: i64) -> Event<'static> {
    EventBuilder::http("GET", path, status)
        .principal("mallory")
        .at_secs(secs)
        .object(object(
            "orders",
            id,
            "",
            OwnerSource::Unknown,
            Relation::Unknown,
        ))
        .build()
}

#[test]
fn a_sequential_or_refused_walk_is_an_enumeration() {
    const IDS: [&str; 6] = ["1001", "1002", "1003", "1004", "1005", "1006"];
    let walk: Vec<_> = IDS
        .iter()
        .enumerate()
        .map(|(i, id)| probe("/v2/orders/x", id, 404, i as i64))
        .collect();
    let findings = run::<Bola>(&walk);
    assert_eq!(ids(&findings), [("TW-BOLA-002", "mallory", "orders")]);
    assert_eq!(
        findings[0].message,
        "`mallory` touched 6 distinct ids of collection `orders` that are not theirs in 5.0 s (6 \
         accesses); a sequential run of 6, 1001–1006; 6 of 6 refused (401/403/404)"
    );
    assert_eq!(findings[0].severity, Some(Severity::Medium));
    assert_eq!(findings[0].evidence.len(), 6);

    // Four ids are too few; a pause longer than the window splits a walk.
    assert_eq!(ids(&run::<Bola>(&walk[..4])), []);
    let split: Vec<_> = IDS
        .iter()
        .enumerate()
        .map(|(i, id)| probe("/v2/orders/x", id, 404, if i < 3 { 0 } else { 700 }))
        .collect();
    assert_eq!(ids(&run::<Bola>(&split)), []);
}

/// Past the ids the open walks may hold (`MAX_TOTAL_IDS`), the walk idle the longest is judged
/// at once, as it stands (ties: the first by key); the principal's next access starts a walk of
/// its own.
#[test]
fn past_the_ids_held_the_idlest_walk_is_judged_as_it_stands() {
    use crate::enumeration::{MAX_IDS, MAX_TOTAL_IDS};
    const IDS: [&str; 6] = ["1001", "1002", "1003", "1004", "1005", "1006"];
    let mut events: Vec<_> = IDS
        .iter()
        .enumerate()
        .map(|(i, id)| probe("/v2/orders/x", id, 404, i as i64))
        .collect();
    // Eve then walks collections `c01`..`c19` at 10 s and `c00` at 11 s, MAX_IDS ids each:
    // MAX_TOTAL_IDS in all.
    let walks = MAX_TOTAL_IDS / MAX_IDS;
    for n in 0..MAX_TOTAL_IDS {
        let walk = (n / MAX_IDS + 1) % walks;
        let collection: &'static str = format!("c{walk:02}").leak();
        let id: &'static str = format!("{n}").leak();
        events.push(
            EventBuilder::http("GET", "/x", 200)
                .principal("eve")
                .at_secs(if walk == 0 { 11 } else { 10 })
                .object(object(
                    collection,
                    id,
                    "",
                    OwnerSource::Unknown,
                    Relation::Unknown,
                ))
                .build(),
        );
    }
    // Mallory goes on: a walk of two ids, no enumeration.
    events.push(probe("/v2/orders/x", "1007", 404, 20));
    events.push(probe("/v2/orders/x", "1008", 404, 21));
    let findings = run::<Bola>(&events);
    let got = ids(&findings);
    // Mallory's walk, judged with its 6 ids when Eve's passed the bound; then, when Mallory came
    // back, the idlest of Eve's walks (those of 10 s, the first by key); the rest at the end, by
    // key.
    assert_eq!(got.len(), 1 + walks);
    assert_eq!(
        got[..3],
        [
            ("TW-BOLA-002", "mallory", "orders"),
            ("TW-BOLA-002", "eve", "c01"),
            ("TW-BOLA-002", "eve", "c00"),
        ]
    );
    assert!(
        findings[0]
            .message
            .starts_with("`mallory` touched 6 distinct ids of collection `orders`"),
        "{}",
        findings[0].message
    );
}

#[test]
fn random_ids_that_succeed_are_no_enumeration_until_the_bulk_threshold() {
    const IDS: [&str; 6] = ["a9", "k3", "z7", "q1", "m5", "t8"];
    let walk: Vec<_> = IDS
        .iter()
        .map(|id| probe("/orders/x", id, 200, 1))
        .collect();
    assert_eq!(ids(&run::<Bola>(&walk)), []);
    let config = Config::from_pairs([("enumeration_max_ids", OptionValue::Integer(6))]);
    assert_eq!(
        ids(&run_configured::<Bola>(&config, &walk).unwrap()),
        [("TW-BOLA-002", "mallory", "orders")]
    );
}

#[test]
fn own_given_and_privileged_accesses_are_not_counted() {
    let mine = |id| {
        EventBuilder::http("GET", "/orders/x", 404)
            .principal("alice")
            .object(object(
                "orders",
                id,
                "alice",
                OwnerSource::Creator,
                Relation::Own,
            ))
            .build()
    };
    let admin = |id| {
        EventBuilder::http("GET", "/admin/orders/x", 404)
            .principal("admin")
            .privileged()
            .object(object(
                "orders",
                id,
                "",
                OwnerSource::Unknown,
                Relation::Unknown,
            ))
            .build()
    };
    let events: Vec<_> = ["1", "2", "3", "4", "5", "6"]
        .into_iter()
        .flat_map(|id| [mine(id), admin(id)])
        .collect();
    assert_eq!(ids(&run::<Bola>(&events)), []);
}

#[test]
fn bad_options_are_refused_by_name() {
    let refused = |name: &str, value: i64| {
        run_configured::<Bola>(
            &Config::from_pairs([(name.to_owned(), OptionValue::Integer(value))]),
            &[],
        )
        .unwrap_err()
    };
    assert_eq!(
        refused("enumeration_min_ids", 1),
        "option `enumeration_min_ids` is 1: expected at least 2 (one id is not a walk)"
    );
    assert_eq!(
        refused("refused_percent", 101),
        "option `refused_percent` is 101: expected a percentage, 0 to 100"
    );
    assert_eq!(
        refused("enumeration_max_ids", 3),
        "option `enumeration_max_ids` is 3: expected at least `enumeration_min_ids` (5)"
    );
}
