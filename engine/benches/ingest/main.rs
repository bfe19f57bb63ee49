//! Ingestion: bytes per second through the reader of each input format (detection, parsing,
//! events, time order, correlation, accounting), each beside a bare typed serde parse of the same
//! file (`bare`), so the ratio shows what the reader costs beyond tokenizing; and records per
//! second through a wire log and OTel traces merged and linked (`merged`). The allocator is the
//! binary's (mimalloc), for both sides: what `normalize` and `scan` run with.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark without its inputs has nothing to measure"
)]

mod bare;
#[path = "../support/cloudtrail.rs"]
mod cloudtrail;
mod inputs;
mod merged;
#[path = "../support/process.rs"]
mod process;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracewarden::ingest::{IngestOptions, InputReport, open};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Size of each generated input.
const INPUT_BYTES: usize = 4 << 20;

/// Reads one file to the end: its event count and its accounting.
fn read(path: &Path, options: &IngestOptions) -> (u64, InputReport) {
    let mut stream = open(&[path.to_path_buf()], options).expect("open the input");
    // As `normalize` and `scan` take them: in the stream's boxes.
    let events = stream.boxed().count() as u64;
    let (mut inputs, _) = stream.finish().expect("read to the end");
    (events, inputs.pop().expect("one input"))
}

fn formats(c: &mut Criterion) {
    process::as_the_binary();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = IngestOptions::default();
    for input in inputs::all(INPUT_BYTES) {
        let path = dir.path().join(input.file);
        std::fs::write(&path, &input.text).expect("write the input");
        // What is measured must be what was meant: the format detected, every record an event.
        let (events, report) = read(&path, &options);
        assert_eq!(report.format, Some(input.format), "{}", input.name);
        assert_eq!(
            report.skipped, 0,
            "{}: {:?}",
            input.name, report.skipped_reasons
        );
        assert_eq!(events, input.events, "{}", input.name);
        assert!((input.bare)(input.text.as_bytes()).expect("bare parse") > 0);

        let mut group = c.benchmark_group(format!("ingest/{}", input.name));
        group.throughput(Throughput::Bytes(input.text.len() as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("tracewarden", |b| b.iter(|| read(&path, &options)));
        group.bench_function("serde", |b| {
            b.iter(|| {
                let bytes = std::fs::read(&path).expect("read the input");
                (input.bare)(&bytes).expect("bare parse")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, formats, merged::bench);
criterion_main!(benches);
