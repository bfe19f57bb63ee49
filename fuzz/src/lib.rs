//! What the fuzz targets share: reading bytes as a scan reads a file, and the invariants every
//! reader keeps whatever it is given. A broken invariant panics, which libFuzzer reports as a
//! crash and saves with the input that caused it.
//!
//! Inputs go through a file and [`tracewarden::ingest::open`], the path a scan takes (gzip, the
//! detection peek, line or document reading, sorting, correlation), rather than a side door.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tracewarden::event::{self, Event};
use tracewarden::ingest::{
    self, CorrelationOptions, IngestOptions, InputReport, MALFORMED, MAX_LISTED_ERRORS, StreamStats,
};
use tracewarden::{Error, InputFormat};

mod wire;

pub use wire::{assert_batch, assert_same_event};

/// A file in this process's scratch directory. One directory per process, so targets fuzzed side
/// by side never share a file; `scripts/fuzz` points `TMPDIR` at a directory it removes.
pub fn scratch(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tracewarden-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir
    })
    .join(name)
}

/// What reading one input gave.
#[derive(Debug)]
pub struct Read {
    /// The input's name, as reports and events name it.
    pub path: String,
    /// The stream's events, in stream order.
    pub events: Vec<Event>,
    /// The input's accounting.
    pub report: InputReport,
    /// What the stream carried.
    pub stats: StreamStats,
}

/// Reads the file at `path` as a scan does (`--input-format` = `format`, `--strict` = `strict`)
/// and drains the stream.
pub fn read(path: &Path, format: Option<InputFormat>, strict: bool) -> Result<Read, Error> {
    let options = IngestOptions {
        format,
        strict,
        ..IngestOptions::default()
    };
    let mut stream = ingest::open(&[path.to_owned()], &options)?;
    let events: Vec<Event> = stream.by_ref().collect();
    let (mut inputs, stats) = stream.finish()?;
    assert_eq!(inputs.len(), 1, "one file became {} inputs", inputs.len());
    let report = inputs.pop().expect("one input");
    Ok(Read {
        path: path.display().to_string(),
        events,
        report,
        stats,
    })
}

/// Writes `data` to the scratch input file and reads it without `--strict`, which must not fail.
pub fn read_bytes(data: &[u8], format: Option<InputFormat>) -> Read {
    let path = scratch("input");
    std::fs::write(&path, data).expect("write the scratch input");
    read(&path, format, false).unwrap_or_else(|e| panic!("reading without --strict failed: {e}"))
}

/// Reads `data` (as `format`, or detected) and checks every invariant of a reader: see
/// [`assert_accounted`], [`assert_strict_agrees`] and [`assert_normalize_round_trip`].
pub fn check_reader(data: &[u8], format: Option<InputFormat>) -> Read {
    let read = read_bytes(data, format);
    assert_accounted(&read, format);
    assert_strict_agrees(&read, format);
    assert_normalize_round_trip(&read.events);
    read
}

/// Every record is accounted for (`records = events + merged + skipped`, skipped by reason), every
/// listed error names the file and a record that was read, the stream yields the events counted,
/// and every event leaves in time order; except for events input, which keeps its sources, each
/// names the file, its format and a record of it, under an id of its own.
pub fn assert_accounted(read: &Read, forced: Option<InputFormat>) {
    let r = &read.report;
    let name = &read.path;
    assert_eq!(&r.path, name, "the report names the input");
    if forced.is_some() {
        assert_eq!(r.format, forced, "a forced format is the input's format");
    }
    assert_eq!(
        r.records,
        r.events + r.merged + r.skipped,
        "records = events + merged + skipped: {r:?}"
    );
    assert_eq!(
        r.skipped_reasons.values().sum::<u64>(),
        r.skipped,
        "skipped records are counted by reason: {r:?}"
    );
    let malformed = r.skipped_reasons.get(MALFORMED).copied().unwrap_or(0);
    assert_eq!(
        r.errors.len() as u64,
        malformed.min(MAX_LISTED_ERRORS as u64),
        "the first malformed records are listed: {r:?}"
    );
    let mut last_record = 0;
    for e in &r.errors {
        assert_eq!(&e.file, name, "an error names the file: {e}");
        assert!(
            (1..=r.records).contains(&e.record) && e.record > last_record,
            "an error names a record read, in order: {e} ({} records)",
            r.records
        );
        last_record = e.record;
        assert_ne!(e.line, Some(0), "lines are 1-based: {e}");
        assert!(!e.message.is_empty(), "an error says what was wrong: {e}");
    }
    if r.format.is_none() {
        assert_eq!(r.records, 0, "an unrecognized input has no records: {r:?}");
        assert!(r.error.is_some(), "an unrecognized input says why: {r:?}");
    }
    if r.error.is_some() {
        assert!(
            r.incomplete().is_some(),
            "a named input not fully read makes the scan incomplete: {r:?}"
        );
    }
    assert_eq!(
        read.events.len() as u64,
        r.events,
        "the stream yields the events counted"
    );
    assert_eq!(
        read.stats.by_kind.values().sum::<u64>(),
        r.events,
        "the stream's statistics count every event"
    );
    for pair in read.events.windows(2) {
        if let [a, b] = pair {
            assert!(
                a.time_ns <= b.time_ns,
                "events leave in time order: `{}` at {} before `{}` at {}",
                a.id,
                a.time_ns,
                b.id,
                b.time_ns
            );
        }
    }
    if r.format == Some(InputFormat::Events) {
        return;
    }
    let format = r.format.map(|f| f.as_str()).unwrap_or_default();
    let mut ids = HashSet::new();
    for e in &read.events {
        assert_eq!(&e.source.file, name, "`{}` names its file", e.id);
        assert_eq!(e.source.format, format, "`{}` names its format", e.id);
        assert!(
            (1..=r.records).contains(&e.source.record),
            "`{}` names a record read: {} of {}",
            e.id,
            e.source.record,
            r.records
        );
        assert_ne!(e.source.line, Some(0), "lines are 1-based: `{}`", e.id);
        assert!(!e.id.is_empty(), "an event has an id: {e:?}");
        assert!(ids.insert(&e.id), "two events of one input are `{}`", e.id);
    }
}

/// `--strict` stops at the first malformed record, or at an input that cannot be read, with an
/// error naming the file; on an input with neither it reads exactly what a lenient read does.
pub fn assert_strict_agrees(lenient: &Read, format: Option<InputFormat>) {
    let path = PathBuf::from(&lenient.path);
    match read(&path, format, true) {
        Ok(strict) => {
            assert_eq!(
                lenient.report.error, None,
                "--strict read an input it could not read"
            );
            assert_eq!(
                lenient.report.skipped_reasons.get(MALFORMED),
                None,
                "--strict passed a malformed record"
            );
            assert_eq!(strict.report, lenient.report, "--strict accounts the same");
            assert_eq!(
                strict.events, lenient.events,
                "--strict reads the same events"
            );
        }
        Err(Error::Input(e)) => {
            assert_eq!(e.file, lenient.path, "a --strict error names the file: {e}");
            assert_eq!(
                Some(&e),
                lenient.report.errors.first(),
                "--strict stops at the first malformed record"
            );
        }
        Err(Error::UnreadableInput { path, message }) => {
            assert_eq!(path, lenient.path, "a --strict error names the file");
            assert_eq!(
                Some(&message),
                lenient.report.error.as_ref(),
                "--strict stops where a lenient read stopped"
            );
        }
        Err(other) => panic!("--strict failed with an error of no input: {other}"),
    }
}

/// `tracewarden normalize`'s output, read back as events input, gives the same events, all of
/// them accounted as events: with correlation off (what the events reader and the sort keep), and
/// as a scan reads it, correlation on.
pub fn assert_normalize_round_trip(events: &[Event]) {
    let mut text = String::new();
    for e in events {
        text.push_str(&event::to_json(e).expect("an event prints as JSON"));
        text.push('\n');
    }
    let path = scratch("normalized.jsonl");
    std::fs::write(&path, &text).expect("write the normalized events");
    let uncorrelated = CorrelationOptions {
        max_buffered: 0,
        ..CorrelationOptions::default()
    };
    assert_reads_back(&path, events, uncorrelated, "correlation off");
    assert_reads_back(
        &path,
        events,
        CorrelationOptions::default(),
        "correlation on",
    );
}

fn assert_reads_back(path: &Path, events: &[Event], correlation: CorrelationOptions, how: &str) {
    let options = IngestOptions {
        format: Some(InputFormat::Events),
        correlation,
        ..IngestOptions::default()
    };
    let mut stream = ingest::open(&[path.to_owned()], &options)
        .unwrap_or_else(|e| panic!("normalized events could not be read: {e}"));
    let again: Vec<Event> = stream.by_ref().collect();
    let (inputs, _) = stream
        .finish()
        .unwrap_or_else(|e| panic!("normalized events could not be read: {e}"));
    let r = inputs.first().expect("one input");
    assert_eq!(
        (r.records, r.events, r.merged, r.skipped),
        (events.len() as u64, events.len() as u64, 0, 0),
        "normalized events read back one event per line ({how}): {r:?}"
    );
    for (i, (before, after)) in events.iter().zip(&again).enumerate() {
        assert_eq!(
            before, after,
            "event {i} changed through normalize and back ({how})"
        );
    }
}
