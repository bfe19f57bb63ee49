//! Properties of reading and scanning, on generated inputs (proptest), through the library API:
//! every record is accounted for; the same events give the same report whatever the order of
//! the files and of the records in them; `normalize` output read back as events input gives the
//! same events.
//!
//! The generator writes the calls of a small orders API as the formats log them: a DynamoDB wire
//! log (transactions included), CloudTrail (JSON lines or a `Records` document) and an API
//! Gateway access log, the same call often in two of them, with junk records between.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tracewarden::enrich::{Enricher, OwnershipSettings};
use tracewarden::ingest::{self, IngestOptions, InputFormat};
use tracewarden::{Event, ReportFormat, RuleSet, RuleSetOptions, ScanOptions};

/// 2026-03-14T10:00:00Z.
const T0_S: u64 = 1_773_482_400;
const PRINCIPALS: [&str; 3] = ["alice", "bob", "mallory"];
const OPERATIONS: [&str; 5] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
];
const TRANSACTION: usize = 4;

/// One call of the application: its request (in the access log when `http`) and the DynamoDB
/// call it made (in the wire log, in CloudTrail, or both).
#[derive(Debug, Clone)]
struct Call {
    /// Whole seconds after the previous call: every call has a second of its own, so no two
    /// calls' events tie in time even at CloudTrail's precision.
    seconds_after: u64,
    /// The millisecond of its second the DB call was made; the request came 5 ms earlier.
    ms: u64,
    principal: usize,
    operation: usize,
    key: usize,
    conditional: bool,
    failed: bool,
    in_wire: bool,
    in_trail: bool,
    http: bool,
}

fn call(transactions: bool) -> impl Strategy<Value = Call> {
    let operations: usize = if transactions { 5 } else { 4 };
    (
        (1..=3u64, 100..900u64, 0..3usize, 0..operations, 0..4usize),
        (
            any::<bool>(),
            prop::bool::weighted(0.2),
            1..=3u8,
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (seconds_after, ms, principal, operation, key),
                (conditional, failed, sources, http),
            )| {
                // CloudTrail's transactions are another shape; the wire log has them.
                let wire_only = operation == TRANSACTION;
                Call {
                    seconds_after,
                    ms,
                    principal,
                    operation,
                    key,
                    conditional,
                    failed,
                    in_wire: sources & 1 == 1 || wire_only,
                    in_trail: sources & 2 == 2 && !wire_only,
                    http,
                }
            },
        )
}

/// Records no reader makes an event of, each skipped with a reason; the document ones can sit
/// in a `Records` array.
const JUNK_LINES: [&str; 3] = ["{not json", "[1, 2]", r#"{"unrelated": true}"#];
const JUNK_RECORDS: [&str; 2] = [
    "42",
    r#"{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2026-03-14T10:00:00Z","eventID":"kms-1","awsRegion":"us-east-1"}"#,
];

/// A junk record: which file (wire, trail, access log), where among its records, which junk.
type Junk = (usize, usize, usize);

fn junk() -> impl Strategy<Value = Vec<Junk>> {
    prop::collection::vec((0..3usize, 1..64usize, 0..5usize), 0..6)
}

/// A generated input file.
#[derive(Debug, Clone)]
struct File {
    name: &'static str,
    text: String,
    /// Records a reader must count: one per line or array element, one per item of a
    /// transaction.
    records: u64,
    /// Junk records in it (each skipped).
    junk: u64,
}

fn time(call_s: u64, ms: u64) -> String {
    let s = call_s - T0_S;
    format!(
        "2026-03-14T10:{:02}:{:02}.{:03}{:03}Z",
        s / 60,
        s % 60,
        ms,
        ms * 7 % 1000
    )
}

fn wire_line(i: usize, c: &Call, second: u64) -> String {
    let key = serde_json::json!({"order_id": {"S": format!("o-{}", c.key)}});
    let mut request = if c.operation == TRANSACTION {
        serde_json::json!({"TransactItems": [
            {"Update": {"TableName": "orders", "Key": key, "UpdateExpression": "SET qty = qty - :one"}},
            {"Put": {"TableName": "ledger", "Item": {"entry_id": {"S": format!("e-{i}")}}}},
        ]})
    } else if c.operation == 1 {
        serde_json::json!({"TableName": "orders", "Item": {"order_id": {"S": format!("o-{}", c.key)}, "qty": {"N": "1"}}})
    } else {
        serde_json::json!({"TableName": "orders", "Key": key})
    };
    if c.conditional && c.operation != TRANSACTION {
        request["ConditionExpression"] = "owner_id = :me".into();
    }
    serde_json::json!({
        "time": time(second, c.ms),
        "operation": OPERATIONS[c.operation],
        "request": request,
        "status": if c.failed { 400 } else { 200 },
        "error_type": if c.failed { "ConditionalCheckFailedException" } else { "" },
        "error_message": "",
        "request_id": format!("RID{i:04}"),
        "principal": PRINCIPALS[c.principal],
        "tenant": "acme",
        "app_request_id": if c.http { format!("req-{i}") } else { String::new() },
    })
    .to_string()
}

fn trail_record(i: usize, c: &Call, second: u64) -> String {
    let mut parameters =
        serde_json::json!({"tableName": "orders", "key": {"order_id": format!("o-{}", c.key)}});
    if c.conditional {
        parameters["conditionExpression"] = "owner_id = :me".into();
    }
    let mut record = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/orders-api/{}", PRINCIPALS[c.principal]),
            "accountId": "111122223333",
        },
        "eventTime": time(second, 0).replace(".000000", ""),
        "eventSource": "dynamodb.amazonaws.com",
        "eventName": OPERATIONS[c.operation],
        "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.0.7",
        "userAgent": "aws-sdk-python",
        "requestParameters": parameters,
        "responseElements": null,
        "requestID": format!("RID{i:04}"),
        "eventID": format!("00000000-0000-4000-8000-{i:012}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    });
    if c.failed {
        record["errorCode"] = "ConditionalCheckFailedException".into();
    }
    record.to_string()
}

fn access_line(i: usize, c: &Call, second: u64) -> String {
    let method = ["GET", "PUT", "PATCH", "DELETE", "POST"][c.operation];
    serde_json::json!({
        "requestId": format!("gw-{i:04}"),
        "ip": format!("198.51.100.{}", c.principal + 10),
        "requestTimeEpoch": second * 1000 + c.ms - 5,
        "httpMethod": method,
        "resourcePath": "/orders/{orderId}",
        "path": format!("/orders/o-{}", c.key),
        "status": if c.failed { "409" } else { "200" },
        "protocol": "HTTP/1.1",
        "principalId": PRINCIPALS[c.principal],
        "xrayTraceId": "-",
    })
    .to_string()
}

/// The wire log, CloudTrail (a `Records` document when `trail_document`) and access log of
/// `calls`, with `junk` records placed among them; files with no call are left out.
fn render(calls: &[Call], junk: &[Junk], trail_document: bool) -> Vec<File> {
    let mut records: [Vec<String>; 3] = Default::default();
    let mut counts = [0u64; 3];
    let mut second = T0_S;
    for (i, c) in calls.iter().enumerate() {
        second += c.seconds_after;
        if c.in_wire {
            records[0].push(wire_line(i, c, second));
            counts[0] += if c.operation == TRANSACTION { 2 } else { 1 };
        }
        if c.in_trail {
            records[1].push(trail_record(i, c, second));
            counts[1] += 1;
        }
        if c.http {
            records[2].push(access_line(i, c, second));
            counts[2] += 1;
        }
    }
    let mut junks = [0u64; 3];
    for &(file, at, which) in junk {
        // Junk never comes first: the format is detected from the first records.
        let Some(list) = records.get_mut(file).filter(|l| !l.is_empty()) else {
            continue;
        };
        let text = if trail_document && file == 1 {
            JUNK_RECORDS[which % JUNK_RECORDS.len()]
        } else {
            [JUNK_LINES.as_slice(), JUNK_RECORDS.as_slice()].concat()[which]
        };
        list.insert(at.min(list.len()).max(1), text.to_owned());
        junks[file] += 1;
    }
    let names = ["wire.jsonl", "trail.jsonl", "access.jsonl"];
    let mut files = Vec::new();
    for (k, list) in records.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        let (name, text) = if k == 1 && trail_document {
            (
                "trail.json",
                format!("{{\"Records\": [\n{}\n]}}\n", list.join(",\n")),
            )
        } else {
            (names[k], list.join("\n") + "\n")
        };
        files.push(File {
            name,
            text,
            records: counts[k] + junks[k],
            junk: junks[k],
        });
    }
    files
}

fn write(dir: &Path, files: &[File]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|f| {
            let path = dir.join(f.name);
            std::fs::write(&path, &f.text).unwrap();
            path
        })
        .collect()
}

/// A permutation of `0..n` from `seed` (Fisher-Yates over a xorshift sequence).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    order
}

fn normalized(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| tracewarden::event::to_json(e).unwrap() + "\n")
        .collect()
}

fn events_input() -> IngestOptions {
    IngestOptions {
        format: Some(InputFormat::Events),
        ..IngestOptions::default()
    }
}

proptest! {
    #![proptest_config(Config { cases: 128, ..Config::default() })]

    /// `records = events + merged + skipped` for every input, every record written is counted,
    /// junk is what is skipped, and the stream yields every event counted.
    #[test]
    fn every_record_is_accounted_for(
        calls in prop::collection::vec(call(true), 1..24),
        junk in junk(),
        trail_document in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let files = render(&calls, &junk, trail_document);
        let paths = write(dir.path(), &files);
        let read = ingest::read_inputs(&paths, &IngestOptions::default()).unwrap();
        prop_assert_eq!(read.inputs.len(), files.len());
        for (report, file) in read.inputs.iter().zip(&files) {
            prop_assert_eq!(report.error.as_deref(), None, "{}", file.text);
            prop_assert_eq!(report.records, file.records, "{:?}\n{}", report, file.text);
            prop_assert_eq!(report.records, report.events + report.merged + report.skipped);
            prop_assert_eq!(report.skipped, file.junk, "{:?}\n{}", report, file.text);
            prop_assert_eq!(report.skipped_reasons.values().sum::<u64>(), report.skipped);
        }
        let counted: u64 = read.inputs.iter().map(|r| r.events).sum();
        prop_assert_eq!(read.events.len() as u64, counted);
    }

    /// `normalize` output (with and without the enrichment's facts) read back as events input
    /// gives the same events, each line one event.
    #[test]
    fn normalize_output_reads_back_as_the_same_events(
        calls in prop::collection::vec(call(true), 1..24),
        junk in junk(),
        trail_document in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let paths = write(dir.path(), &render(&calls, &junk, trail_document));
        let events = ingest::read_inputs(&paths, &IngestOptions::default()).unwrap().events;
        let settings = OwnershipSettings::default();
        let mut enricher = Enricher::new(&settings);
        let mut with_facts = events.clone();
        for e in &mut with_facts {
            enricher.enrich(e);
        }
        for (name, events) in [("normalized.jsonl", events), ("facts.jsonl", with_facts)] {
            let path = dir.path().join(name);
            std::fs::write(&path, normalized(&events)).unwrap();
            let again = ingest::read_inputs(&[path], &events_input()).unwrap();
            let report = &again.inputs[0];
            prop_assert_eq!(
                (report.records, report.events, report.merged, report.skipped),
                (events.len() as u64, events.len() as u64, 0, 0)
            );
            prop_assert_eq!(again.events, events);
        }
    }
}

/// The JSON report of a scan of `paths` (one rule thread), inputs listed by path: a report's
/// input list follows the command line, which is not what the property is about.
fn report(rules: &RuleSet, paths: &[PathBuf]) -> String {
    let options = ScanOptions {
        ingest: IngestOptions::default(),
        threads: 1,
        ..ScanOptions::default()
    };
    let mut report = tracewarden::scan(paths, rules, &options).unwrap();
    report.inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let json = report.render(ReportFormat::Json);
    crate::common::parse_report(&json);
    json
}

/// The same events give a byte-identical report whatever the order of the files on the command
/// line and of the records in a file: real formats given in any order, and their normalized
/// events spread over files, shuffled within each and given in any order. Events of one time
/// keep their order within a file (docs/architecture.md), and this shuffles records within
/// files, so the calls have a second each; ties across files given in either order are
/// `hostile::events_of_one_second_give_one_report_whatever_the_command_line_order`.
#[test]
fn the_same_events_in_any_order_give_the_same_report() {
    let rules = RuleSet::load(&RuleSetOptions::default()).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 32,
        source_file: Some(file!()),
        ..Config::default()
    });
    let inputs = (
        prop::collection::vec(call(false), 1..16),
        any::<bool>(),
        1..=3usize,
        any::<u64>(),
    );
    runner
        .run(&inputs, |(calls, trail_document, spread, seed)| {
            let dir = tempfile::tempdir().unwrap();
            let files = render(&calls, &[], trail_document);
            let paths = write(dir.path(), &files);
            let shuffled: Vec<PathBuf> = permutation(paths.len(), seed | 1)
                .into_iter()
                .map(|i| paths[i].clone())
                .collect();
            prop_assert_eq!(report(&rules, &paths), report(&rules, &shuffled));

            let events = ingest::read_inputs(&paths, &IngestOptions::default())
                .unwrap()
                .events;
            let mut parts: Vec<Vec<&Event>> = vec![Vec::new(); spread];
            let placement = permutation(events.len(), seed ^ 0x9e37 | 1);
            for (e, place) in events.iter().zip(placement) {
                parts[place % spread].push(e);
            }
            // An empty file is an input that cannot be read: not what this property is about.
            parts.retain(|part| !part.is_empty());
            let spread = parts.len();
            let spread_paths: Vec<PathBuf> = (0..spread)
                .map(|k| dir.path().join(format!("events-{k}.jsonl")))
                .collect();
            let write_parts = |order: &dyn Fn(usize) -> Vec<usize>| {
                for (k, part) in parts.iter().enumerate() {
                    let text: String = order(part.len())
                        .into_iter()
                        .map(|i| tracewarden::event::to_json(part[i]).unwrap() + "\n")
                        .collect();
                    std::fs::write(&spread_paths[k], text).unwrap();
                }
            };
            write_parts(&|n| (0..n).collect());
            let in_order = report(&rules, &spread_paths);
            write_parts(&|n| permutation(n, seed.rotate_left(17) | 1));
            let files_shuffled: Vec<PathBuf> = permutation(spread, seed >> 3 | 1)
                .into_iter()
                .map(|i| spread_paths[i].clone())
                .collect();
            prop_assert_eq!(in_order, report(&rules, &files_shuffled));
            Ok(())
        })
        .unwrap();
}
