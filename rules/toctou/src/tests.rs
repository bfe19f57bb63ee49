//! The pack's rules on hand-built event sequences, finding by finding.

use tracewarden_sdk::testing::{run, run_configured};
use tracewarden_sdk::{Config, OptionValue};

use super::*;

/// Rule id, resource, principal and the evidence as (event id, role).
type Summary = (String, String, String, Vec<(String, String)>);

fn summary(findings: &[Finding]) -> Vec<Summary> {
    findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                f.resource.clone(),
                f.principal.clone(),
                f.evidence
                    .iter()
                    .map(|e| (e.event_id.clone(), e.role.clone()))
                    .collect(),
            )
        })
        .collect()
}

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn get(id: &'static str, ms: i64, trace: &'static str) -> EventBuilder {
    EventBuilder::db("GetItem", "documents")
        .key("doc_id", "d-1")
        .principal("alice")
        .id(id)
        .at_ns(ms * 1_000_000)
        .trace(trace)
}

fn update(id: &'static str, ms: i64, trace: &'static str) -> EventBuilder {
    EventBuilder::db("UpdateItem", "documents")
        .key("doc_id", "d-1")
        .principal("alice")
        .id(id)
        .at_ns(ms * 1_000_000)
        .trace(trace)
        .update("SET title = :t")
}

/// TW-TOCTOU-001 on `documents/doc_id=d-1` by alice: read `r` checked, write `w` used.
fn alice_checks_then_writes_d1() -> Summary {
    (
        "TW-TOCTOU-001".to_owned(),
        "documents/doc_id=d-1".to_owned(),
        "alice".to_owned(),
        ev(&[("r", "check"), ("w", "use")]),
    )
}

#[test]
fn a_read_then_an_unguarded_write_of_one_request_is_flagged() {
    let f = run::<Toctou>(&[get("r", 0, "t1").build(), update("w", 12, "t1").build()]);
    assert_eq!(summary(&f), [alice_checks_then_writes_d1()]);
    assert_eq!(f[0].confidence, Some(Confidence::High));
    assert!(
        f[0].message.starts_with(
            "`GetItem` of `documents/doc_id=d-1` then `UpdateItem` without a condition 0.012 s \
             later in the same request (trace t1)"
        ),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message.ends_with("times from  (1 ns)."),
        "{}",
        f[0].message
    );
}

#[test]
fn a_condition_on_state_protects_a_condition_on_the_key_does_not() {
    for condition in [
        "owner_id = :uid",
        "attribute_exists(doc_id) AND userId = :uid",
    ] {
        let w = update("w", 5, "t1").condition(condition);
        assert!(run::<Toctou>(&[get("r", 0, "t1").build(), w.build()]).is_empty());
    }
    let w = update("w", 5, "t1").condition("attribute_exists(doc_id)");
    let f = run::<Toctou>(&[get("r", 0, "t1").build(), w.build()]);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains(
        "with a condition on its key only (`attribute_exists(doc_id)`), not on its state"
    ));
}

#[test]
fn requests_are_paired_by_request_else_by_identity_within_the_window() {
    // Two requests of one user: viewing then editing is not a check-then-use.
    assert!(run::<Toctou>(&[get("r", 0, "t1").build(), update("w", 5, "t2").build()]).is_empty());
    // No request ids (CloudTrail): the same identity within the window.
    let r = get("r", 0, "").precision_ns(1_000_000_000);
    let w = update("w", 3_000, "").precision_ns(1_000_000_000);
    let f = run::<Toctou>(&[r.build(), w.build()]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].confidence, Some(Confidence::Medium));
    assert!(
        f[0].message
            .contains("by `alice` (no shared request id; within the 10.000 s window)")
    );
    assert!(f[0].message.ends_with("times from  (1 s)."));
    // The same second: the order itself is unknown.
    let r = get("r", 0, "").precision_ns(1_000_000_000);
    let w = update("w", 0, "").precision_ns(1_000_000_000);
    assert_eq!(
        run::<Toctou>(&[r.build(), w.build()])[0].confidence,
        Some(Confidence::Low)
    );
    // Beyond the window, or another identity: nothing.
    let late = update("w", 10_001, "");
    assert!(run::<Toctou>(&[get("r", 0, "").build(), late.clone().build()]).is_empty());
    let bob = update("w", 5, "").principal("bob");
    assert!(run::<Toctou>(&[get("r", 0, "").build(), bob.build()]).is_empty());
    // The window is an option.
    let config = Config::from_pairs([("check_window_ms", OptionValue::Integer(20_000))]);
    let f = run_configured::<Toctou>(&config, &[get("r", 0, "").build(), late.build()]).unwrap();
    assert_eq!(f.len(), 1);
}

#[test]
fn one_check_backs_one_finding_and_failed_writes_are_no_use() {
    let failed = update("w0", 1, "t1").error("ValidationException");
    let f = run::<Toctou>(&[
        get("r", 0, "t1").build(),
        failed.build(),
        update("w1", 2, "t1").build(),
        update("w2", 3, "t1").build(),
    ]);
    assert_eq!(summary(&f)[0].3, ev(&[("r", "check"), ("w1", "use")]));
    assert_eq!(f.len(), 1);
}

#[test]
fn relative_updates_lower_the_confidence_and_a_query_is_a_check() {
    let w = update("w", 2, "t1").update("ADD views :one");
    let f = run::<Toctou>(&[get("r", 0, "t1").build(), w.build()]);
    assert_eq!(f[0].confidence, Some(Confidence::Low));
    assert!(f[0].message.contains("The update is relative"));
    // A query pinned to the partition key checks every item of the partition.
    let q = EventBuilder::db("Query", "teams")
        .key("team_id", "t-1")
        .principal("alice")
        .id("q")
        .trace("t1")
        .consistent(true);
    let w = EventBuilder::db("DeleteItem", "teams")
        .key("team_id", "t-1")
        .key("sk", "MEMBER#bob")
        .principal("alice")
        .id("w")
        .at_ns(1)
        .trace("t1");
    assert_eq!(
        summary(&run::<Toctou>(&[q.build(), w.build()])),
        [(
            "TW-TOCTOU-001".to_owned(),
            "teams/sk=MEMBER#bob,team_id=t-1".to_owned(),
            "alice".to_owned(),
            ev(&[("q", "check"), ("w", "use")])
        )]
    );
}

#[test]
fn a_write_by_another_request_in_between_is_an_observed_race() {
    let admin = EventBuilder::db("UpdateItem", "documents")
        .key("doc_id", "d-1")
        .principal("admin")
        .id("x")
        .at_ns(150_000_000)
        .trace("t2")
        .update("SET owner_id = :new");
    let events = [
        get("r", 0, "t1").build(),
        admin.build(),
        update("w", 400, "t1").build(),
    ];
    let f = run::<Toctou>(&events);
    let s = summary(&f);
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        s[1],
        (
            "TW-TOCTOU-002".to_owned(),
            "documents/doc_id=d-1".to_owned(),
            "alice".to_owned(),
            ev(&[("r", "check"), ("x", "interleaved-write"), ("w", "use")])
        )
    );
    assert_eq!(f[1].confidence, Some(Confidence::High));
    assert!(f[1].message.starts_with(
        "Observed race: `alice` read `documents/doc_id=d-1` (GetItem), `admin` wrote it \
         (UpdateItem) 0.150 s later, then `alice` wrote it (UpdateItem) without a condition \
         0.250 s after that, 0.400 s after its check."
    ));
    // One-second times cannot order the three calls: a possible race, at low confidence.
    let coarse: Vec<Event<'static>> = [
        get("r", 0, "").build(),
        EventBuilder::db("UpdateItem", "documents")
            .key("doc_id", "d-1")
            .principal("admin")
            .id("x")
            .build(),
        update("w", 0, "").build(),
    ]
    .into_iter()
    .map(|mut e| {
        e.precision_ns = 1_000_000_000;
        e
    })
    .collect();
    let f = run::<Toctou>(&coarse);
    let race = f.iter().find(|f| f.rule_id == "TW-TOCTOU-002").unwrap();
    assert_eq!(race.confidence, Some(Confidence::Low));
    assert!(race.message.starts_with("Possible race:"));
    assert!(
        race.message
            .contains("times from  (1 s) cannot establish the order")
    );
}

#[test]
fn concurrent_successes_on_one_resource_are_a_burst() {
    let post = |id: &'static str, ms: i64| {
        EventBuilder::http("POST", "/coupons/SAVE10/redeem", 200)
            .principal("alice")
            .id(id)
            .at_ns(ms * 1_000_000)
            .duration_ns(60_000_000)
    };
    let f = run::<Toctou>(&[
        post("a", 0).build(),
        post("b", 2).build(),
        post("c", 3).build(),
    ]);
    assert_eq!(
        summary(&f),
        [(
            "TW-TOCTOU-003".to_owned(),
            "/coupons/SAVE10/redeem".to_owned(),
            "alice".to_owned(),
            ev(&[
                ("a", "concurrent"),
                ("b", "concurrent"),
                ("c", "concurrent")
            ])
        )]
    );
    assert_eq!(f[0].confidence, Some(Confidence::High));
    assert!(f[0].message.starts_with(
        "3 requests (POST) by `alice` on `/coupons/SAVE10/redeem` succeeded within 0.003 s"
    ));
    // Spaced out, failed, or two of one user (no attack's shape): no burst.
    assert!(run::<Toctou>(&[post("a", 0).build(), post("b", 150).build()]).is_empty());
    assert!(run::<Toctou>(&[post("a", 0).build(), post("b", 2).build()]).is_empty());
    let failed = EventBuilder::http("POST", "/coupons/SAVE10/redeem", 409)
        .principal("alice")
        .at_ns(1);
    assert!(run::<Toctou>(&[post("a", 0).build(), failed.build()]).is_empty());
    // Two users at once: the shape of a race, one finding for both.
    let bob = post("b", 1).principal("bob");
    let both = run::<Toctou>(&[post("a", 0).build(), bob.build()]);
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].principal, "");
    assert!(both[0].message.starts_with(
        "2 requests (POST) by 2 principals (`alice`, `bob`) on `/coupons/SAVE10/redeem`"
    ));
    // At DynamoDB level, conditional writes are serialized by DynamoDB: not counted.
    let write = |id: &'static str, ms: i64, trace: &'static str| {
        EventBuilder::db("UpdateItem", "coupons")
            .key("code", "SAVE10")
            .principal("alice")
            .id(id)
            .at_ns(ms * 1_000_000)
            .trace(trace)
    };
    let read = |id: &'static str, ms: i64, trace: &'static str| {
        EventBuilder::db("GetItem", "coupons")
            .key("code", "SAVE10")
            .principal("alice")
            .id(id)
            .at_ns(ms * 1_000_000)
            .trace(trace)
    };
    // Both requests (alice's and bob's) read before either wrote: each passed the check.
    let f = run::<Toctou>(&[
        read("r1", 0, "t1").build(),
        read("r2", 1, "t2").principal("bob").build(),
        write("w1", 50, "t1").build(),
        write("w2", 52, "t2").principal("bob").build(),
    ]);
    let burst: Vec<_> = summary(&f)
        .into_iter()
        .filter(|s| s.0 == "TW-TOCTOU-003")
        .collect();
    assert_eq!(
        burst,
        [(
            "TW-TOCTOU-003".to_owned(),
            "coupons/code=SAVE10".to_owned(),
            String::new(),
            ev(&[
                ("r1", "check"),
                ("w1", "concurrent"),
                ("r2", "check"),
                ("w2", "concurrent")
            ])
        )]
    );
    // One after the other (the second read saw the first write): no race.
    let f = run::<Toctou>(&[
        read("r1", 0, "t1").build(),
        write("w1", 10, "t1").build(),
        read("r2", 20, "t2").principal("bob").build(),
        write("w2", 30, "t2").principal("bob").build(),
    ]);
    assert!(f.iter().all(|f| f.rule_id != "TW-TOCTOU-003"), "{f:?}");
    // Conditional writes are serialized by DynamoDB: not counted.
    let guarded = [
        read("r1", 0, "t1").build(),
        read("r2", 1, "t2").principal("bob").build(),
        write("w1", 50, "t1").condition("used = :f").build(),
        write("w2", 52, "t2")
            .principal("bob")
            .condition("used = :f")
            .build(),
    ];
    assert!(run::<Toctou>(&guarded).is_empty());
    // HTTP requests known not to overlap are sequential, not concurrent.
    let quick = |id: &'static str, ms: i64| post(id, ms).duration_ns(1_000_000);
    assert!(run::<Toctou>(&[quick("a", 0).build(), quick("b", 5).build()]).is_empty());
}

#[test]
fn failed_conditions_from_several_requests_are_a_conflict_burst() {
    let claim = |id: &'static str, who: &'static str, ms: i64| {
        EventBuilder::db("UpdateItem", "tickets")
            .key("ticket_id", "T-1")
            .principal(who)
            .id(id)
            .at_ns(ms * 1_000_000)
            .condition("attribute_not_exists(claimed_by)")
            .error("ConditionalCheckFailedException")
    };
    let f = run::<Toctou>(&[
        claim("b", "bob", 0).build(),
        claim("c", "carol", 4).build(),
        claim("d", "dave", 9).build(),
    ]);
    assert_eq!(
        summary(&f),
        [(
            "TW-TOCTOU-004".to_owned(),
            "tickets/ticket_id=T-1".to_owned(),
            "bob,carol,dave".to_owned(),
            ev(&[("b", "conflict"), ("c", "conflict"), ("d", "conflict")])
        )]
    );
    assert_eq!(f[0].confidence, Some(Confidence::Medium));
    assert!(
        run::<Toctou>(&[claim("b", "bob", 0).build(), claim("c", "carol", 4).build()]).is_empty()
    );
}

#[test]
fn an_eventually_consistent_check_before_a_write_is_weak() {
    let member = |consistent: Option<bool>| {
        let b = EventBuilder::db("GetItem", "teams")
            .key("team_id", "team-1")
            .key("sk", "MEMBER#alice")
            .principal("alice")
            .id("r")
            .trace("t1");
        match consistent {
            Some(c) => b.consistent(c),
            None => b,
        }
    };
    let settings = EventBuilder::db("UpdateItem", "teams")
        .key("team_id", "team-1")
        .key("sk", "SETTINGS")
        .principal("alice")
        .id("w")
        .at_ns(3_000_000)
        .trace("t1")
        .condition("attribute_exists(team_id)");
    let f = run::<Toctou>(&[member(None).build(), settings.clone().build()]);
    assert_eq!(
        summary(&f),
        [(
            "TW-TOCTOU-005".to_owned(),
            "teams/sk=SETTINGS,team_id=team-1".to_owned(),
            "alice".to_owned(),
            ev(&[("r", "weak-check"), ("w", "use")])
        )]
    );
    assert!(
        f[0].message
            .contains("was eventually consistent (no `ConsistentRead: true`)")
    );
    assert!(run::<Toctou>(&[member(Some(true)).build(), settings.clone().build()]).is_empty());
    let index = EventBuilder::db("Query", "teams")
        .key("user_id", "alice")
        .index("by_user")
        .principal("alice")
        .id("q")
        .trace("t1");
    let f = run::<Toctou>(&[index.build(), settings.clone().build()]);
    assert!(f[0].message.contains("served from index `by_user`"));
    // Another table is a check only when declared one.
    let doc = EventBuilder::db("GetItem", "documents")
        .key("doc_id", "d-5")
        .principal("alice")
        .id("r")
        .trace("t1");
    let profile = EventBuilder::db("UpdateItem", "profiles")
        .key("user_id", "bob")
        .principal("alice")
        .id("w")
        .at_ns(1)
        .trace("t1");
    assert!(run::<Toctou>(&[doc.clone().build(), profile.clone().build()]).is_empty());
    let config = Config::from_pairs([(
        "auth_tables",
        OptionValue::Texts(vec!["documents".to_owned()]),
    )]);
    let f =
        run_configured::<Toctou>(&config, &[doc.clone().build(), profile.clone().build()]).unwrap();
    assert_eq!(summary(&f)[0].0, "TW-TOCTOU-005");
    // ...and a transaction re-checking the read item covers it.
    let recheck = EventBuilder::db("ConditionCheck", "documents")
        .key("doc_id", "d-5")
        .principal("alice")
        .id("cc")
        .at_ns(1)
        .trace("t1")
        .group("g")
        .condition("owner_id = :uid");
    let f = run_configured::<Toctou>(
        &config,
        &[doc.build(), recheck.build(), profile.group("g").build()],
    )
    .unwrap();
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn options_are_checked() {
    let bad = Config::from_pairs([("concurrent_min_requests", OptionValue::Integer(1))]);
    assert_eq!(
        run_configured::<Toctou>(&bad, &[]).unwrap_err(),
        "option `concurrent_min_requests` is 1: expected 2 or more (one request is no race)"
    );
    let bad = Config::from_pairs([("check_window_ms", OptionValue::Integer(-5))]);
    assert_eq!(
        run_configured::<Toctou>(&bad, &[]).unwrap_err(),
        "option `check_window_ms` is -5: expected 0 or more"
    );
}

/// An UpdateItem of `documents/d-1` by `who` in trace `trace`, issued by `method`.
fn edit(
    id: &'static str,
    ms: i64,
    who: &'static str,
    trace: &'static str,
    method: &'static str,
) -> EventBuilder {
    EventBuilder::db("UpdateItem", "documents")
        .key("doc_id", "d-1")
        .principal(who)
        .id(id)
        .at_ns(ms * 1_000_000)
        .trace(trace)
        .update("SET title = :t")
        .issued_by(method, "/documents/{id}")
}

#[test]
fn an_owners_double_submitted_put_is_a_lost_update_not_a_race() {
    let events = [
        get("r1", 0, "t1").build(),
        get("r2", 2, "t2").build(),
        edit("w2", 5, "alice", "t2", "PUT").build(),
        edit("w1", 12, "alice", "t1", "PUT").build(),
    ];
    let rules: Vec<String> = run::<Toctou>(&events)
        .iter()
        .map(|f| f.rule_id.clone())
        .collect();
    // Two occurrences of the weakness; no TW-TOCTOU-002, no burst (one user, idempotent).
    assert_eq!(rules, ["TW-TOCTOU-001", "TW-TOCTOU-001"]);
    // The same edits as POSTs (each does something again) are a race.
    let posts = [
        get("r1", 0, "t1").build(),
        get("r2", 2, "t2").build(),
        edit("w2", 5, "alice", "t2", "POST").build(),
        edit("w1", 12, "alice", "t1", "POST").build(),
    ];
    assert!(
        run::<Toctou>(&posts)
            .iter()
            .any(|f| f.rule_id == "TW-TOCTOU-002")
    );
}

#[test]
fn a_transfer_in_between_makes_the_stale_write_an_incident_that_says_so() {
    let transfer = EventBuilder::db("UpdateItem", "documents")
        .key("doc_id", "d-1")
        .principal("alice")
        .id("x")
        .at_ns(5_000_000)
        .trace("t2")
        .update("SET owner_id = :new")
        .issued_by("POST", "/documents/{id}/transfer");
    // What the enrichment stage says of the item after the transfer.
    let after = ObjectFact {
        collection: "documents",
        id: "doc_id=d-1",
        owner_source: OwnerSource::Transfer,
        owner_event: "x",
        ..ObjectFact::UNKNOWN
    };
    let events = [
        get("r", 0, "t1").build(),
        transfer.build(),
        edit("w", 12, "alice", "t1", "PUT").object(after).build(),
    ];
    let f = run::<Toctou>(&events);
    let race = f
        .iter()
        .find(|f| f.rule_id == "TW-TOCTOU-002")
        .expect("a race");
    assert!(
        race.message
            .contains("The interleaved write transferred the item to another owner"),
        "{}",
        race.message
    );
}

#[test]
fn a_conditional_write_that_lost_the_race_is_a_race_attempted() {
    let transfer = EventBuilder::db("UpdateItem", "documents")
        .key("doc_id", "d-1")
        .principal("dave")
        .id("x")
        .at_ns(5_000_000)
        .trace("t2")
        .update("SET owner_id = :new");
    // Dave's conditional write that his condition rejected.
    let blocked = || {
        EventBuilder::db("UpdateItem", "documents")
            .key("doc_id", "d-1")
            .principal("dave")
            .id("w")
            .at_ns(12_000_000)
            .trace("t1")
            .condition("owner_id = :me")
            .error("ConditionalCheckFailedException")
            .outcome(Outcome::Conflict)
    };
    let f = run::<Toctou>(&[
        get("r", 0, "t1").principal("dave").build(),
        transfer.build(),
        blocked().build(),
    ]);
    assert_eq!(
        summary(&f)
            .into_iter()
            .filter(|s| s.0 == "TW-TOCTOU-006")
            .collect::<Vec<_>>(),
        [(
            "TW-TOCTOU-006".to_owned(),
            "documents/doc_id=d-1".to_owned(),
            "dave".to_owned(),
            ev(&[
                ("r", "check"),
                ("x", "interleaved-write"),
                ("w", "blocked-write")
            ])
        )]
    );
    // Without a write in between, a failed condition is no race.
    assert!(
        run::<Toctou>(&[
            get("r", 0, "t1").principal("dave").build(),
            blocked().build()
        ])
        .is_empty()
    );
}

#[test]
fn a_dense_stream_keeps_at_most_max_held_reads_and_forgets_the_oldest() {
    let read = |n: usize| {
        EventBuilder::db("GetItem", "orders")
            .key("order_id", Box::leak(format!("o-{n}").into_boxed_str()))
            .principal("app")
            .at_ns(n as i64 * 1_000)
            .build()
    };
    let write = |n: usize| {
        EventBuilder::db("UpdateItem", "orders")
            .key("order_id", Box::leak(format!("o-{n}").into_boxed_str()))
            .principal("app")
            .at_ns((checks::MAX_HELD as i64 + 10) * 1_000)
            .build()
    };
    let mut events: Vec<Event<'static>> = (0..=checks::MAX_HELD).map(read).collect();
    events.push(write(0));
    events.push(write(checks::MAX_HELD));
    let f = run::<Toctou>(&events);
    let resources: Vec<&str> = f
        .iter()
        .filter(|f| f.rule_id == "TW-TOCTOU-001")
        .map(|f| f.resource.as_str())
        .collect();
    // The first read was forgotten to hold the last 25,000: only the newest pairs.
    let newest = format!("orders/order_id=o-{}", checks::MAX_HELD);
    assert_eq!(resources, [newest.as_str()]);
}

#[test]
fn a_transaction_claiming_more_items_than_dynamodb_allows_is_judged_in_bounded_slices() {
    // A hostile record of 100k items once held every item in the rule until the group ended,
    // past the rule's memory cap. Items beyond MAX_GROUP are judged in slices.
    let mut rule = Toctou::default();
    let mut out = Findings::default();
    let mut most = 0;
    for i in 0..(MAX_GROUP * 3 + 7) {
        let id: &'static str = Box::leak(format!("tx/{i}").into_boxed_str());
        let item: &'static str = Box::leak(format!("d-{i}").into_boxed_str());
        let event = EventBuilder::db("PutItem", "documents")
            .key("doc_id", item)
            .principal("alice")
            .id(id)
            .group("tx")
            .at_ns(1_000)
            .build();
        rule.on_event(&event, &mut out);
        most = most.max(rule.group.len());
    }
    assert_eq!(most, MAX_GROUP);
    rule.finish(&mut out);
    assert!(rule.group.is_empty());
}

#[test]
fn reads_forgotten_past_the_bound_are_reported_to_the_host() {
    let over = 10;
    let events: Vec<Event<'static>> = (0..checks::MAX_HELD + over)
        .map(|i| {
            let id: &'static str = Box::leak(format!("o-{i}").into_boxed_str());
            EventBuilder::db("GetItem", "orders")
                .key("id", id)
                .principal("alice")
                .at_ns(i as i64 * 1_000)
                .build()
        })
        .collect();
    let (findings, state) = tracewarden_sdk::testing::run_with_state::<Toctou>(&events);
    assert_eq!(findings, []);
    let reads = |rule: &str| {
        state
            .iter()
            .find(|u| u.rule_id == rule && u.name == "reads")
            .map(|u| (u.entries, u.peak_entries, u.evicted))
    };
    let held = checks::MAX_HELD as u64;
    assert_eq!(reads("TW-TOCTOU-001"), Some((held, held, over as u64)));
    assert_eq!(reads("TW-TOCTOU-002"), Some((held, held, over as u64)));
    let writes = state.iter().find(|u| u.name == "writes").unwrap();
    assert_eq!(
        (writes.rule_id.as_str(), writes.evicted),
        ("TW-TOCTOU-002", 0)
    );
}

#[test]
fn a_transaction_is_judged_at_its_own_time_however_late_the_next_event_comes() {
    // Reproducer: a transaction's items were judged when the next event arrived, after checks
    // older than the window (from that event's time) had been dropped: a transaction followed
    // by a quiet minute lost its check.
    let write = update("w", 12, "t1").group("tx");
    let later = EventBuilder::db("GetItem", "documents")
        .key("doc_id", "d-2")
        .principal("bob")
        .id("later")
        .at_ns(60_000 * 1_000_000)
        .trace("t2");
    let f = run::<Toctou>(&[get("r", 0, "t1").build(), write.build(), later.build()]);
    assert_eq!(summary(&f), [alice_checks_then_writes_d1()]);
}
