//! Inputs the fuzz targets of `fuzz/` found, reduced to fixtures under `tests/fixtures/fuzz/`
//! (docs/fuzzing.md): each test fails on the engine the input broke.

use std::path::PathBuf;

use tracewarden::ingest::{self, IngestOptions, Ingested, InputFormat};

use crate::common::fixture;

fn read(name: &str) -> Ingested {
    let path = PathBuf::from(fixture(&format!("fuzz/{name}")));
    ingest::read_inputs(&[path], &IngestOptions::default()).unwrap()
}

fn assert_ids_unique(read: &Ingested) {
    let mut ids: Vec<&str> = read.events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        read.events.len(),
        "ids repeat: {:?}",
        read.events
    );
}

/// Found by the `dynamodb_wire` and `detect` targets (normalize output did not read back as the
/// same events): two records of one call an hour apart merge when nothing is read between them,
/// and stay two events with one id when another call is. Correlation finds a duplicate among
/// the buffered events, and an event older than the window leaves the buffer only when the
/// stream is next read.
#[test]
fn merging_does_not_depend_on_the_records_between() {
    let alone = read("same-call-an-hour-apart.jsonl");
    let between = read("same-call-an-hour-apart-call-between.jsonl");
    let call = |read: &Ingested| {
        read.events
            .iter()
            .filter(|e| e.correlation.request_id == "RID-X")
            .count()
    };
    assert_eq!(
        call(&alone),
        call(&between),
        "{:?}\n{:?}",
        alone.events,
        between.events
    );
    assert_ids_unique(&alone);
    assert_ids_unique(&between);
}

/// Found by the `dynamodb_wire` target (normalize output did not read back as the same events):
/// the first record shares a request id with the third and a trace id with the second, the
/// second a span id with the third. Merged greedily in time order, the third joins the first
/// and the second stays apart; read again, the merged event takes in the second.
#[test]
fn normalize_output_reads_back_as_the_same_events() {
    let events = read("merges-depend-on-order.jsonl").events;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("normalized.jsonl");
    let text: String = events
        .iter()
        .map(|e| tracewarden::event::to_json(e).unwrap() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    let options = IngestOptions {
        format: Some(InputFormat::Events),
        ..IngestOptions::default()
    };
    let again = ingest::read_inputs(&[path], &options).unwrap();
    assert_eq!(again.events, events);
}

/// Found by the `otlp` target: an HTTP server span and a DynamoDB client span with the same
/// trace and span ids (a broken or hostile exporter) become two events with one id.
#[test]
fn a_span_id_names_one_event() {
    assert_ids_unique(&read("one-span-id-two-kinds.jsonl"));
}
