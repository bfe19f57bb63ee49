//! A DynamoDB wire log and the OpenTelemetry traces of the same calls, read together: every
//! span merged into its wire event by AWS request id, every call linked to its request.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use tracewarden::ingest::{IngestOptions, open};

const CALLS: usize = 20_000;
const T0_NS: u64 = 1_795_168_800_000_000_000;

/// A wire log of `CALLS` reads and writes, and an OTLP JSON-lines file with, per call, the HTTP
/// server span and the DynamoDB client span.
fn inputs(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut wire = String::new();
    let mut otlp = String::new();
    for i in 0..CALLS {
        let t = T0_NS + i as u64 * 1_000_000;
        let (op, write) = if i % 3 == 2 {
            ("UpdateItem", true)
        } else {
            ("GetItem", false)
        };
        let condition = if write && i % 2 == 0 {
            r#","ConditionExpression":"owner_id = :uid""#
        } else {
            ""
        };
        let user = i % 50;
        let trace = format!("{:032x}", i + 1);
        let server = format!("{:016x}", 2 * i + 1);
        let client = format!("{:016x}", 2 * i + 2);
        writeln!(
            wire,
            r#"{{"time":{},"operation":"{op}","request":{{"TableName":"orders","Key":{{"orderId":{{"S":"o-{}"}}}}{condition}}},"status":200,"request_id":"RID{i}","principal":"user-{user}","trace_id":"{trace}","span_id":"{client}","app_request_id":"req-{i}"}}"#,
            t / 1_000_000 + 1,
            i % 500
        )
        .expect("write to a string");
        let attr = |k: &str, v: &str| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#);
        writeln!(
            otlp,
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{}]}},"scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{server}","kind":2,"startTimeUnixNano":"{t}","endTimeUnixNano":"{}","attributes":[{},{},{},{}]}},{{"traceId":"{trace}","spanId":"{client}","parentSpanId":"{server}","kind":3,"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[{},{},{},{},{}]}}]}}]}}]}}"#,
            attr("service.name", "orders"),
            t + 900_000,
            attr("http.request.method", if write { "PUT" } else { "GET" }),
            attr("url.path", &format!("/orders/o-{}", i % 500)),
            attr("enduser.id", &format!("user-{user}")),
            attr("http.route", "/orders/{id}"),
            t + 100_000,
            t + 800_000,
            attr("rpc.system", "aws-api"),
            attr("rpc.service", "DynamoDB"),
            attr("rpc.method", op),
            attr("aws.request_id", &format!("RID{i}")),
            attr("http.status_code", "200"),
        )
        .expect("write to a string");
    }
    let (wire_path, otlp_path) = (dir.join("wire.jsonl"), dir.join("traces.jsonl"));
    std::fs::write(&wire_path, wire).expect("write the wire log");
    std::fs::write(&otlp_path, otlp).expect("write the traces");
    vec![wire_path, otlp_path]
}

/// Records per second through detection, parsing, sorting across inputs and correlation.
pub fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let paths = inputs(dir.path());
    let options = IngestOptions::default();
    let mut group = c.benchmark_group("ingest/wire+otlp");
    // Records: one wire line and two spans per call.
    group.throughput(Throughput::Elements(3 * CALLS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("merged and linked", |b| {
        b.iter(|| {
            let mut stream = open(&paths, &options).expect("open the inputs");
            let events = stream.boxed().count();
            let (inputs, _) = stream.finish().expect("read to the end");
            assert_eq!(events, 2 * CALLS);
            assert_eq!(inputs.get(1).map(|i| i.merged), Some(CALLS as u64));
        });
    });
    group.finish();
}
