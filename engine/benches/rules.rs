//! Events per second through the enrichment stage alone, each built-in pack alone (the WASM TOCTOU
//! and BOLA components, the stale-keys pack, the Rego DynamoDB pack; packs read the enrichment's
//! facts, so events are enriched beforehand), and every built-in pack with the enrichment as a
//! scan runs them, on two fixed event sets read beforehand: `app`, an application's DynamoDB
//! calls (session keys, writes under ownership conditions), and `cloudtrail`, the shared
//! side-by-side generator's CloudTrail shape (what `scripts/bench-vs-duckdb` scans) read through
//! ingestion.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark without its rules has nothing to measure"
)]

#[path = "support/cloudtrail.rs"]
mod cloudtrail;
#[path = "support/process.rs"]
mod process;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracewarden::enrich::{Enricher, OwnershipSettings};
use tracewarden::event::{Actor, Correlation, DbOperation, Detail, Event, Outcome, SourceRef};
use tracewarden::ingest::{IngestOptions, open};
use tracewarden::rules::{RuleSet, RuleSetOptions};

const EVENTS: usize = 20_000;

/// Reads and writes over 500 items by 50 principals, a tenth of writes unconditional.
fn app_events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            let write = i % 3 == 2;
            Event {
                id: format!("ev-{i}").into(),
                time_ns: 1_773_482_400_000_000_000 + i as i64 * 1_000_000,
                precision_ns: 1_000,
                source: SourceRef {
                    file: "bench.jsonl".into(),
                    record: i as u64 + 1,
                    line: Some(i as u64 + 1),
                    format: "events".into(),
                },
                actor: Actor {
                    principal: format!(
                        "arn:aws:sts::111122223333:assumed-role/api/user-{}",
                        i % 50
                    )
                    .into(),
                    key_id: format!("ASIA{:016}", i % 50).into(),
                    ip: "192.0.2.10".into(),
                    user_agent:
                        "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.11.7".into(),
                    ..Actor::default()
                },
                correlation: Correlation {
                    request_id: format!("REQ{i:049}").into(),
                    ..Correlation::default()
                },
                outcome: Outcome::Success,
                detail: Detail::DbOperation(DbOperation {
                    service: "dynamodb".into(),
                    operation: if write { "UpdateItem" } else { "GetItem" }.into(),
                    table: "orders".into(),
                    key: tracewarden::event::Fields::from_iter([(
                        "orderId".into(),
                        format!("o-{}", i % 500).into(),
                    )]),
                    has_condition: write && i % 10 != 2,
                    condition: if write && i % 10 != 2 {
                        "owner_id = :uid".into()
                    } else {
                        String::new().into()
                    },
                    update_expression: if write {
                        "SET #s = :s".into()
                    } else {
                        String::new().into()
                    },
                    is_write: write,
                    ..DbOperation::default()
                }),
                attributes: tracewarden::event::Fields::from_iter([(
                    "aws_region".into(),
                    "us-east-1".into(),
                )]),
                facts: Default::default(),
            }
        })
        .collect()
}

/// `EVENTS` CloudTrail records of the shared generator's shape, read as a scan reads them.
fn cloudtrail_events() -> Vec<Event> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("trail.json");
    let document = cloudtrail::document(&cloudtrail::records(EVENTS, 7));
    std::fs::write(&path, document).expect("write the trail");
    let mut stream = open(&[path], &IngestOptions::default()).expect("open the trail");
    let events: Vec<Event> = stream.by_ref().collect();
    stream.finish().expect("read to the end");
    assert_eq!(events.len(), EVENTS);
    events
}

/// The built-in packs, keeping only the one named `pack`.
fn only(pack: &str) -> RuleSet {
    let all = RuleSet::load(&RuleSetOptions::default()).expect("built-in packs load");
    all.retain_packs(|p| p.name == pack)
}

fn bench_set(c: &mut Criterion, name: &str, events: &[Event]) {
    let mut group = c.benchmark_group(format!("rules/{name}"));
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let settings = OwnershipSettings::default();
    group.bench_function("enrich", |b| {
        b.iter(|| {
            Enricher::new(&settings)
                .wrap(events.iter().cloned())
                .count()
        })
    });
    let enriched: Vec<Event> = Enricher::new(&settings)
        .wrap(events.iter().cloned())
        .collect();
    for pack in ["toctou", "bola", "stale-keys", "dynamodb"] {
        let rules = only(pack);
        assert_eq!(rules.packs().len(), 1, "the built-in pack `{pack}`");
        group.bench_function(pack, |b| b.iter(|| rules.run(enriched.iter().cloned(), 1)));
    }
    let all = RuleSet::load(&RuleSetOptions::default()).expect("built-in packs load");
    group.bench_function("enrich + all packs, 1 thread", |b| {
        b.iter(|| all.run(Enricher::new(&settings).wrap(events.iter().cloned()), 1))
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    process::as_the_binary();
    bench_set(c, "app", &app_events());
    bench_set(c, "cloudtrail", &cloudtrail_events());
}

criterion_group!(benches, bench);
criterion_main!(benches);
