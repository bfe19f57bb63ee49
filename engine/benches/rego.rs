//! What each built-in Rego rule costs per event, alone and together, on CloudTrail DynamoDB
//! events read and enriched as a scan reads them; and TW-DDB-001 in Rego (its reference,
//! `tests/fixtures/packs/dynamodb-rego`) beside the built-in WebAssembly TW-DDB-001, the measure
//! behind moving it (docs/architecture.md, 2026-12-05).
//!
//! Two streams. `cloudtrail`: reads and writes as CloudTrail records them (six reads in ten, half
//! of the writes conditional), so each rule is sent what its metadata subscribes to and matches
//! what it matches. `sent`: the same calls made so that every rule is sent every one of them (each
//! call serves an application request and uses a key whose scopes were reduced), the worst case
//! per event. Each figure includes handing the events to the rule workers; `dispatch alone` is
//! that share, to subtract. Cost per event is the inverse of the throughput. The allocator is the
//! binary's (mimalloc): regorus allocates for every value it builds.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark without its inputs or rules has nothing to measure"
)]

#[path = "support/process.rs"]
mod process;

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracewarden::enrich::{Enricher, OwnershipSettings};
use tracewarden::event::{Event, KeyFact, KeyStatus};
use tracewarden::ingest::{IngestOptions, open};
use tracewarden::rules::{PackSource, RuleSet, RuleSetOptions};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORDS: usize = 20_000;
/// 2026-10-01T00:00:00Z.
const T0_S: u64 = 1_790_812_800;
const REGO_RULES: [&str; 2] = ["TW-BOLA-004", "TW-KEY-002"];

/// A CloudTrail document of `RECORDS` DynamoDB calls by 200 users on 5,000 orders: per ten,
/// six `GetItem`, two `UpdateItem` and two `DeleteItem`, one write in two with an ownership
/// condition.
fn cloudtrail() -> String {
    let mut doc = String::from(r#"{"Records":["#);
    for i in 0..RECORDS {
        let user = i % 200;
        let (op, write) = match i % 10 {
            6 | 7 => ("UpdateItem", true),
            8 | 9 => ("DeleteItem", true),
            _ => ("GetItem", false),
        };
        let params = match (write, i % 2 == 0) {
            (false, _) => format!(r#""consistentRead":{}"#, i % 3 == 0),
            (true, conditional) => format!(
                r#""updateExpression":"SET #s = :s"{}"#,
                if conditional {
                    r#","conditionExpression":"owner_id = :uid""#
                } else {
                    ""
                }
            ),
        };
        if i > 0 {
            doc.push(',');
        }
        write!(
            doc,
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA{user:016}","arn":"arn:aws:iam::111122223333:user/user{user}","accountId":"111122223333","accessKeyId":"AKIA{user:016}","userName":"user{user}"}},"eventTime":"{}","eventSource":"dynamodb.amazonaws.com","eventName":"{op}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.{}","userAgent":"aws-sdk-java/2.25.6 Linux/5.10 OpenJDK_64-Bit_Server_VM/17","requestParameters":{{"tableName":"Orders","key":{{"orderId":"ord-{:06}"}},{params}}},"responseElements":null,"requestID":"{i:032X}","eventID":"00000000-0000-0000-0000-{i:012}","readOnly":{},"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","resources":[{{"accountId":"111122223333","type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:us-east-1:111122223333:table/Orders"}}]}}"#,
            time(T0_S + (i / 4) as u64),
            user % 250,
            i % 5_000,
            !write,
        )
        .expect("write to a string");
    }
    doc.push_str("]}");
    doc
}

/// `2026-10-01T00:00:00Z` plus whole seconds.
fn time(unix_s: u64) -> String {
    let s = unix_s - T0_S;
    format!(
        "2026-10-{:02}T{:02}:{:02}:{:02}Z",
        1 + s / 86_400,
        s / 3_600 % 24,
        s / 60 % 60,
        s % 60
    )
}

/// The document's events as a scan reads and enriches them.
fn read(doc: &str) -> Vec<Event> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir
        .path()
        .join("111122223333_CloudTrail_us-east-1_bench.json");
    std::fs::write(&path, doc).expect("write the document");
    let mut stream = open(&[path], &IngestOptions::default()).expect("open the document");
    let settings = OwnershipSettings::default();
    let events: Vec<Event> = Enricher::new(&settings).wrap(stream.by_ref()).collect();
    stream.finish().expect("read to the end");
    assert_eq!(events.len(), RECORDS);
    events
}

/// The same calls, each serving an application request, by a key whose write scope was removed
/// before the first call.
fn sent_to_every_rule(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            e.correlation.app_request_id = format!("req-{i}").into();
            e.facts.key = Some(Box::new(KeyFact {
                key_id: e.actor.key_id.clone(),
                status: KeyStatus::Active,
                scopes: vec!["orders:read".into()],
                scopes_known: true,
                removed_scopes: vec!["orders:write".into()],
                scope_changed_ns: (T0_S as i64 - 60) * 1_000_000_000,
                scope_event_source: "keys.jsonl:1".into(),
                ..KeyFact::default()
            }));
            e
        })
        .collect()
}

fn rules(ids: &[&str]) -> RuleSet {
    let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    RuleSet::load(&RuleSetOptions::default())
        .expect("built-in packs load")
        .select(&ids, &[])
        .expect("the rules are built in")
}

/// TW-DDB-001's Rego reference, alone.
fn ddb001_in_rego() -> RuleSet {
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/packs/dynamodb-rego");
    RuleSet::load(&RuleSetOptions {
        builtin: false,
        extra: vec![PackSource::Dir(pack)],
        ..RuleSetOptions::default()
    })
    .expect("the Rego reference loads")
}

fn bench(c: &mut Criterion) {
    process::as_the_binary();
    let read = read(&cloudtrail());
    let sent = sent_to_every_rule(&read);
    for (name, events) in [("cloudtrail", &read), ("sent", &sent)] {
        let mut group = c.benchmark_group(format!("rego/{name}"));
        group.throughput(Throughput::Elements(events.len() as u64));
        group.sample_size(10);
        let none = RuleSet::load(&RuleSetOptions::default())
            .expect("built-in packs load")
            .retain_packs(|_| false);
        group.bench_function("dispatch alone", |b| {
            b.iter(|| none.run(events.iter().cloned(), 1))
        });
        for id in REGO_RULES {
            let rules = rules(&[id]);
            group.bench_function(id, |b| b.iter(|| rules.run(events.iter().cloned(), 1)));
        }
        let reference = ddb001_in_rego();
        group.bench_function("TW-DDB-001 in Rego (reference)", |b| {
            b.iter(|| reference.run(events.iter().cloned(), 1))
        });
        let wasm = rules(&["TW-DDB-001"]);
        group.bench_function("TW-DDB-001 in WASM (built-in)", |b| {
            b.iter(|| wasm.run(events.iter().cloned(), 1))
        });
        let all = rules(&REGO_RULES);
        for threads in [1, 2] {
            group.bench_function(format!("both, {threads} thread(s)"), |b| {
                b.iter(|| all.run(events.iter().cloned(), threads))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
