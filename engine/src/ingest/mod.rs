//! Ingestion: open inputs (files, directories, gzip, standard input), detect each one's format by
//! content, turn records into events, put them in time order across inputs and correlate them.
//!
//! The pipeline, stage by stage:
//! 1. [`source`]: open, decompress, peek; [`detect`]: the format and whether the input is one JSON
//!    document (read whole, bounded) or lines (streamed, each line bounded);
//! 2. one reader module per format turns records into events; every record is accounted for
//!    (an event, or skipped with a reason; malformed records listed with file, record and line);
//!    [`pool`]: inputs are read on worker threads, one input each at a time; [`lines`]: JSON-lines
//!    inputs in chunks, parsed on idle workers when their lines are independent records;
//! 3. [`sort`]: sorted runs of encoded events within a budget of bytes, spilled to temporary files,
//!    merged k-way by log time then read order (input, then place within it), so the stream is
//!    the same whatever the number of threads;
//! 4. [`correlate`]: the same call from two sources merged into one event; DB calls linked to
//!    their HTTP requests.

mod access_log;
mod cloudtrail;
pub(crate) mod correlate;
mod credentials;
mod detect;
mod dynamodb;
mod events;
mod fields;
pub(crate) mod fuzzing;
mod har;
pub(crate) mod http;
mod inventory;
mod json_scan;
mod lines;
mod locate;
mod loose;
mod mapping;
mod otlp;
mod pool;
pub mod redact;
mod sort;
mod source;
mod wire;
#[cfg(feature = "rules")]
pub(crate) use wire::kind_of;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, InputError};
use crate::event::{Event, EventKind};
use correlate::Correlator;
use detect::Layout;
use locate::{At, Base, LineCounter};
use source::{LineReader, Origin};

pub use correlate::{CorrelationOptions, MAX_FAN_IN, MAX_MERGED_LISTED};
pub use locate::{Location, SpanIndex};
pub use mapping::{FieldPaths, INPUTS_TABLE, InputMapping, TimeUnit, parse_mappings};
pub use source::MAX_INPUT_BYTES;

/// The input formats the engine reads. Closed set: adding one is adding a module here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    /// AWS CloudTrail: `{"Records": [...]}` files, one record per line, EventBridge envelopes,
    /// CloudTrail Lake query results.
    #[serde(rename = "cloudtrail")]
    CloudTrail,
    /// HAR 1.2 HTTP archives (browser devtools, mitmproxy, Burp, ZAP).
    Har,
    /// OpenTelemetry OTLP/JSON traces: a file exporter's document or Collector JSON lines.
    Otlp,
    /// DynamoDB wire request logs: one low-level API call per line (`docs/inputs.md`).
    #[serde(rename = "dynamodb_wire")]
    DynamoDbWire,
    /// API Gateway / ALB access logs in JSON, one request per line.
    AccessLog,
    /// Key inventories (JSON, JSON lines or CSV): keys and their dated lifecycle changes.
    KeyInventory,
    /// tracewarden's own normalized events, one JSON object per line.
    Events,
}

impl InputFormat {
    /// Every format.
    pub const ALL: [InputFormat; 7] = [
        InputFormat::CloudTrail,
        InputFormat::Har,
        InputFormat::Otlp,
        InputFormat::DynamoDbWire,
        InputFormat::AccessLog,
        InputFormat::KeyInventory,
        InputFormat::Events,
    ];

    /// The format's name (`--input-format`, reports, `source.format`).
    pub fn as_str(&self) -> &'static str {
        match self {
            InputFormat::CloudTrail => "cloudtrail",
            InputFormat::Har => "har",
            InputFormat::Otlp => "otlp",
            InputFormat::DynamoDbWire => "dynamodb_wire",
            InputFormat::AccessLog => "access_log",
            InputFormat::KeyInventory => "key_inventory",
            InputFormat::Events => "events",
        }
    }
}

impl std::str::FromStr for InputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = InputFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown input format `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Most record errors listed per input; the rest are still counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// The accounting of one input: `records == events + merged + skipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputReport {
    /// The input as given (`-` for standard input).
    pub path: String,
    /// Its detected (or forced) format; absent when the input could not be read at all.
    pub format: Option<InputFormat>,
    /// Records read.
    pub records: u64,
    /// Events produced and passed to rules.
    pub events: u64,
    /// Events merged into an event of another input (the same call seen twice).
    pub merged: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Skipped records by reason.
    pub skipped_reasons: BTreeMap<String, u64>,
    /// The first malformed records, with file, record, line and what was wrong.
    pub errors: Vec<InputError>,
    /// Why reading stopped early (a truncated gzip, a read error) or never started (not a known
    /// format). Records read before it are counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Named on the command line (not found in a directory): if it cannot be read, the scan is
    /// incomplete. A file in a directory that is in no known format (a README, a script) is only
    /// a warning.
    pub named: bool,
    /// Where each record is (not serialized: evidence locations are resolved from it). Shared:
    /// a report's findings on disk resolve their evidence from it as they are read back.
    #[serde(skip)]
    pub spans: std::sync::Arc<SpanIndex>,
}

impl InputReport {
    /// Why this input makes the scan incomplete, if it does: it was named and not fully read, or
    /// records were read from it and reading stopped early. A file found in a directory that
    /// yielded no record is not a log the scan could read (a README, a script, a JSON document
    /// of another kind): a warning, not a gap.
    pub fn incomplete(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        if self.named && self.records == 0 {
            Some(format!("`{}` was not read: {error}", self.path))
        } else if self.named || self.records > 0 {
            Some(format!(
                "`{}` was read only in part ({} records): {error}",
                self.path, self.records
            ))
        } else {
            None
        }
    }
}

impl InputReport {
    fn new(path: String, format: Option<InputFormat>, named: bool) -> Self {
        InputReport {
            path,
            format,
            records: 0,
            events: 0,
            merged: 0,
            skipped: 0,
            skipped_reasons: BTreeMap::new(),
            errors: Vec::new(),
            error: None,
            named,
            spans: Default::default(),
        }
    }
}

/// The events a reader makes of one record, each boxed where it is made: an event is ~750
/// bytes, and the sorter and the stream hold it boxed.
type RecordEvents = Vec<Box<Event>>;

/// What one record became.
enum Record {
    Event(Box<Event>),
    /// Not something the engine models (a reason, counted).
    Skip(&'static str),
    /// Malformed: what was wrong and what was expected.
    Malformed(String),
}

#[cfg(test)]
impl Record {
    /// For tests: the event, or `skip: <reason>`, or the malformed message.
    fn into_result(self) -> Result<Event, String> {
        match self {
            Record::Event(e) => Ok(*e),
            Record::Skip(s) => Err(format!("skip: {s}")),
            Record::Malformed(m) => Err(m),
        }
    }
}

/// One JSON-lines record as an object; otherwise the record's error: `not JSON: …`, or
/// `expected a JSON object (<what>), found …`.
fn object_line(
    line: &str,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Record> {
    match serde_json::from_str(line) {
        Ok(serde_json::Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(Record::Malformed(format!(
            "expected a JSON object ({what}), found {}",
            wire::kind_of(&other)
        ))),
        Err(e) => Err(Record::Malformed(format!("not JSON: {e}"))),
    }
}

/// The skip reason counted for malformed records.
pub const MALFORMED: &str = "malformed record";

/// Options for reading inputs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Force a format instead of detecting it.
    pub format: Option<InputFormat>,
    /// Stop at the first malformed record or unreadable input.
    pub strict: bool,
    /// Longest line of a JSON-lines input; longer lines are skipped as malformed (default 16 MiB).
    pub max_line_bytes: usize,
    /// Bytes of events held in memory for sorting, shared between the reading threads: a run
    /// that reaches its share is sorted and spilled to a temporary file (default 128 MiB).
    /// Events are held encoded, about a third of their size as [`Event`]s, plus 40 bytes each
    /// for their place in the run.
    pub sort_budget_bytes: usize,
    /// Bytes of record places (32 a record: where each record is, for evidence locations) held
    /// in memory, all inputs together; past it, the places of inputs read to their end and the
    /// older places of a large input go to a temporary file, from which the report reads back
    /// the few it looks up (default 64 MiB).
    pub places_budget_bytes: usize,
    /// Threads reading inputs, one input each at a time, the idle ones parsing chunks of the
    /// JSON-lines inputs being read (default: all cores); 1 reads them one after another on the
    /// calling thread. The stream and the accounting do not depend on it.
    pub threads: usize,
    /// Correlation settings.
    pub correlation: CorrelationOptions,
    /// Declared field mappings for request logs ([`parse_mappings`]).
    pub mappings: Vec<InputMapping>,
    /// Counters to update while reading, for a progress display.
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
    /// Log time window (Unix ns): events before `since` or at or after `until` are skipped and
    /// counted (reason [`OUTSIDE_WINDOW`]). Key lifecycle events are kept whatever their time:
    /// a revocation before the window still judges a use within it.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// Globs a file found in a directory must match one of (all files when empty). Files named
    /// on the command line are always read.
    pub include: Vec<String>,
    /// Globs of files found in directories that are not read (`*.md`, `*/scripts/*`).
    pub exclude: Vec<String>,
}

/// The skip reason of events outside `--since` / `--until`.
pub const OUTSIDE_WINDOW: &str = "outside the --since/--until window";

impl IngestOptions {
    /// Whether `e` is within `since` / `until` (key lifecycle events always are).
    fn in_window(&self, e: &Event) -> bool {
        matches!(e.detail, crate::event::Detail::KeyLifecycle(_))
            || (self.since.is_none_or(|s| e.time_ns >= s)
                && self.until.is_none_or(|u| e.time_ns < u))
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            format: None,
            strict: false,
            max_line_bytes: 16 << 20,
            sort_budget_bytes: 128 << 20,
            places_budget_bytes: 64 << 20,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            correlation: CorrelationOptions::default(),
            mappings: Vec::new(),
            progress: None,
            since: None,
            until: None,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// Events read from inputs, in time order, and the accounting of each input.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    /// Every event, ordered by time, then read order.
    pub events: Vec<Event>,
    /// One report per input.
    pub inputs: Vec<InputReport>,
}

/// Which record of an input: by index (`FILE#RECORD`, as evidence names it) or by the place it
/// starts (`FILE:LINE` or `FILE:LINE:COLUMN`, as the text report prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef {
    /// The 1-based record index.
    Index(u64),
    /// The record that starts at this line (and column; else the first on the line).
    At {
        /// 1-based line.
        line: u64,
        /// 1-based column, in characters.
        column: Option<u64>,
    },
}

impl RecordRef {
    /// Splits `FILE#RECORD`, `FILE:LINE` or `FILE:LINE:COLUMN` into the file and the record.
    pub fn parse(spec: &str) -> Option<(&str, RecordRef)> {
        if let Some((file, n)) = spec.rsplit_once('#')
            && let Ok(n) = n.parse()
        {
            return Some((file, RecordRef::Index(n)));
        }
        let (rest, last) = spec.rsplit_once(':')?;
        let last: u64 = last.parse().ok()?;
        match rest.rsplit_once(':') {
            Some((file, line)) if line.parse::<u64>().is_ok() => Some((
                file,
                RecordRef::At {
                    line: line.parse().ok()?,
                    column: Some(last),
                },
            )),
            _ => Some((
                rest,
                RecordRef::At {
                    line: last,
                    column: None,
                },
            )),
        }
    }
}

/// One input record as it stands in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordText {
    /// Where it is.
    pub location: Location,
    /// The input's format.
    pub format: InputFormat,
    /// Its bytes, as text (invalid UTF-8 replaced).
    pub text: String,
}

/// Reads record `which` of the input `path`: the input is read as a scan reads it (same format
/// detection, same record numbering), then the record's bytes are read from the (decompressed)
/// file. Standard input cannot be read twice and is refused.
pub fn record_text(
    path: &Path,
    which: RecordRef,
    options: &IngestOptions,
) -> Result<RecordText, Error> {
    use std::io::Read;
    if source::is_stdin(path) {
        return Err(Error::Usage(
            "standard input cannot be read again: save it to a file and scan that".to_owned(),
        ));
    }
    let origin = Origin::File(path.to_path_buf());
    let name = origin.name();
    let places = locate::PlaceSpill::new(usize::MAX);
    let report = read_input(
        &origin,
        &name,
        true,
        options,
        &places,
        None,
        &mut |_| Ok(()),
    )?;
    let format = match (report.format, &report.error) {
        (Some(f), _) => f,
        (None, error) => {
            return Err(Error::UnreadableInput {
                path: name,
                message: error.clone().unwrap_or_else(|| "not read".to_owned()),
            });
        }
    };
    let missing = |what: String| Error::UnreadableInput {
        path: name.clone(),
        message: format!(
            "{what}: the file holds {} record(s) ({})",
            report.spans.len(),
            format.as_str()
        ),
    };
    let record = match which {
        RecordRef::Index(n) => n,
        RecordRef::At { line, column } => {
            report
                .spans
                .record_at(line, column)
                .ok_or_else(|| match column {
                    Some(c) => missing(format!("no record starts at line {line}, column {c}")),
                    None => missing(format!("no record starts on line {line}")),
                })?
        }
    };
    let location = report.spans.location(&name, record).ok_or_else(|| {
        missing(format!(
            "record {record} is not in it or has no known place"
        ))
    })?;
    let opened = source::open(&origin, None)?;
    let mut reader = opened.reader;
    let skip = location.offset.saturating_sub(opened.dropped);
    let mut bytes = Vec::new();
    std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
        .and_then(|_| reader.take(location.length).read_to_end(&mut bytes))
        .map_err(|e| Error::UnreadableInput {
            path: name.clone(),
            message: source::read_error(opened.gzip, &e, None),
        })?;
    Ok(RecordText {
        location,
        format,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Reads `paths` and collects the whole stream (for tests and small inputs; scans stream).
pub fn read_inputs(paths: &[PathBuf], options: &IngestOptions) -> Result<Ingested, Error> {
    let mut stream = open(paths, options)?;
    let events = stream.by_ref().collect();
    Ok(Ingested {
        events,
        inputs: stream.finish()?.0,
    })
}

/// The time-ordered, correlated events of a set of inputs. Iterate it, then call
/// [`EventStream::finish`] for the per-input accounting.
pub struct EventStream {
    merged: sort::Merged,
    correlator: Correlator,
    inputs: Vec<InputReport>,
    /// For each input as read (in path order), its place on the command line.
    order: Vec<usize>,
    flushing: bool,
    stats: StreamStats,
    ids: UniqueIds,
    progress: Option<std::sync::Arc<crate::progress::Progress>>,
}

/// Ids the stream released lately: an event whose id one of them already took is renamed
/// `<id>~2` (`~3`…), so evidence names one event. Records with one id within the correlation
/// window are merged; this catches the rest (one id on events of two kinds, or on records further
/// apart than the window) without remembering every id of a 10 GB input: two generations of at
/// most [`UniqueIds::GENERATION`] id hashes each.
#[derive(Default)]
struct UniqueIds {
    current: std::collections::HashSet<u64, foldhash::fast::FixedState>,
    previous: std::collections::HashSet<u64, foldhash::fast::FixedState>,
}

impl UniqueIds {
    /// Ids remembered per generation: ids are unique among at least the last this many events.
    const GENERATION: usize = 1 << 20;

    fn hash(id: &str) -> u64 {
        crate::digest::of([id])
    }

    fn seen(&self, h: u64) -> bool {
        self.current.contains(&h) || self.previous.contains(&h)
    }

    /// Makes `e`'s id one the stream has not released lately; true when it was renamed.
    fn claim(&mut self, e: &mut Event) -> bool {
        let mut h = Self::hash(&e.id);
        let renamed = self.seen(h);
        if renamed {
            let base = std::mem::take(&mut e.id);
            for n in 2u64.. {
                let candidate = format!("{base}~{n}");
                h = Self::hash(&candidate);
                if !self.seen(h) {
                    e.id = candidate.into();
                    break;
                }
            }
        }
        if self.current.len() >= Self::GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(h);
        renamed
    }
}

/// What the stream carried, for coverage statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Events by kind.
    pub by_kind: BTreeMap<EventKind, u64>,
    /// DB-operation events by source format.
    pub db_by_format: BTreeMap<String, u64>,
    /// DB-operation events timed finer than a second.
    pub db_subsecond: u64,
    /// DB-operation events linked to an HTTP request.
    pub db_linked: u64,
    /// DB-operation events whose source recorded no item key (OTel spans).
    pub db_keyless: u64,
    /// HTTP events that name no principal.
    pub http_anonymous: u64,
    /// Correlation index entries that made way under an id shared by more than
    /// [`correlate::MAX_FAN_IN`] buffered events: links and merges under such an id were looked
    /// for among its most recent events only.
    pub crowded: u64,
    /// Events renamed `<id>~N` because an event released before took their id.
    pub renamed: u64,
}

impl StreamStats {
    fn count(&mut self, e: &Event) {
        *self.by_kind.entry(e.kind()).or_default() += 1;
        if let crate::event::Detail::DbOperation(_) = e.detail {
            // Looked up by reference: the name is allocated once per format, not per event.
            match self.db_by_format.get_mut(e.source.format.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.db_by_format.insert(e.source.format.to_string(), 1);
                }
            }
            if e.precision_ns < 1_000_000_000 {
                self.db_subsecond += 1;
            }
            if e.correlation.link != crate::event::LinkMethod::None {
                self.db_linked += 1;
            }
            if e.attributes.contains_key(correlate::KEY_UNKNOWN) {
                self.db_keyless += 1;
            }
        }
        if let crate::event::Detail::Http(_) = e.detail
            && e.actor.principal.is_empty()
        {
            self.http_anonymous += 1;
        }
    }
}

impl Iterator for EventStream {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.next_boxed().map(|e| *e)
    }
}

/// [`EventStream::boxed`]: the stream's events in the boxes they were held in.
pub struct Boxed<'s>(&'s mut EventStream);

impl std::fmt::Debug for Boxed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Boxed").finish_non_exhaustive()
    }
}

impl Iterator for Boxed<'_> {
    type Item = Box<Event>;

    fn next(&mut self) -> Option<Box<Event>> {
        self.0.next_boxed()
    }
}

/// The events of a stream run on a thread of its own ([`EventStream::staged`]), in order.
#[expect(
    clippy::vec_box,
    reason = "the stream's boxes, handed over as they are; unboxing them would copy each event"
)]
pub struct Staged(std::iter::Flatten<std::sync::mpsc::IntoIter<Vec<Box<Event>>>>);

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged").finish_non_exhaustive()
    }
}

impl Iterator for Staged {
    type Item = Box<Event>;

    fn next(&mut self) -> Option<Box<Event>> {
        self.0.next()
    }
}

/// Events per chunk a staged stream hands over.
const STAGED_CHUNK: usize = 1024;
/// Chunks a staged stream has handed over and that are not yet taken before it waits.
const STAGED_CHUNKS: usize = 4;

impl EventStream {
    /// The events as the stream holds them, each in its box: what [`Iterator::next`] gives
    /// without copying the event out (~750 bytes) at every step of a pipeline that passes it on.
    pub fn boxed(&mut self) -> Boxed<'_> {
        Boxed(self)
    }

    /// `consume`'s result, given the stream's events ([`EventStream::boxed`], the same ones in
    /// the same order) while the stream runs on a thread of its own: merging the sorted runs,
    /// correlating and naming events on one core, and whatever `consume` does with them
    /// (enriching, rules, writing) on this one. The stream hands its events over 1,024 at a
    /// time, at most four such chunks ahead of `consume`. If `consume` returns before the end,
    /// the stream stops at the next chunk.
    pub fn staged<R>(&mut self, consume: impl FnOnce(Staged) -> R) -> R {
        self.staged_by(STAGED_CHUNK, consume)
    }

    /// [`EventStream::staged`], handing over `chunk` events at a time.
    fn staged_by<R>(&mut self, chunk: usize, consume: impl FnOnce(Staged) -> R) -> R {
        let (chunks, received) = std::sync::mpsc::sync_channel(STAGED_CHUNKS);
        let mut boxed = self.boxed();
        std::thread::scope(|s| {
            s.spawn(move || {
                loop {
                    let events: Vec<Box<Event>> = boxed.by_ref().take(chunk).collect();
                    // Empty: the stream ended. A send fails once `consume` has returned (or
                    // panicked): nothing more to hand over.
                    if events.is_empty() || chunks.send(events).is_err() {
                        break;
                    }
                }
            });
            consume(Staged(received.into_iter().flatten()))
        })
    }

    fn next_boxed(&mut self) -> Option<Box<Event>> {
        loop {
            if let Some(mut e) = self.correlator.pop(self.flushing) {
                if self.ids.claim(&mut e) {
                    self.stats.renamed += 1;
                }
                self.stats.count(&e);
                return Some(e);
            }
            if self.flushing {
                return None;
            }
            match self.merged.next() {
                Some(p) => {
                    if let Some(progress) = &self.progress {
                        progress.release();
                    }
                    self.correlator.push(p)
                }
                None => self.flushing = true,
            }
        }
    }

    /// The inputs' accounting and what the stream carried, once it is drained.
    pub fn finish(mut self) -> Result<(Vec<InputReport>, StreamStats), Error> {
        if let Some(source) = self.merged.error.take() {
            return Err(Error::Io {
                path: std::env::temp_dir(),
                source,
            });
        }
        for (report, merged) in self.inputs.iter_mut().zip(&self.correlator.merged) {
            report.merged = *merged;
            report.events -= (*merged).min(report.events);
        }
        self.stats.crowded = self.correlator.crowded;
        let mut given: Vec<(usize, InputReport)> =
            self.order.into_iter().zip(self.inputs).collect();
        given.sort_by_key(|(place, _)| *place);
        Ok((given.into_iter().map(|(_, r)| r).collect(), self.stats))
    }

    /// The inputs' accounting so far, in the order they are read (by path; complete except
    /// `merged` until the stream is drained).
    pub fn inputs(&self) -> &[InputReport] {
        &self.inputs
    }
}

/// Reads every input (files, directories recursively, `-` for standard input) into sorted runs
/// and returns the merged, correlated stream.
pub fn open(paths: &[PathBuf], options: &IngestOptions) -> Result<EventStream, Error> {
    let mut origins = Vec::new();
    for p in paths {
        if source::is_stdin(p) {
            origins.push((Origin::Stdin, true));
        } else {
            expand(p, &mut origins)?;
        }
    }
    let (include, exclude) = (
        FileGlobs::new("--include", &options.include)?,
        FileGlobs::new("--exclude", &options.exclude)?,
    );
    origins.retain(|(origin, named)| {
        let path = match origin {
            Origin::File(p) | Origin::Unread(p, _) => p.as_path(),
            Origin::Stdin => return true,
        };
        *named || ((options.include.is_empty() || include.matches(path)) && !exclude.matches(path))
    });
    let mut names = source::InputNames::new();
    let id_names: Vec<String> = origins.iter().map(|(o, _)| o.id_name(&mut names)).collect();
    // Read in path order, whatever order the paths were given in, or however they were spelled:
    // events at one time keep read order, so this makes the stream (and the report) independent
    // of the command line. The report lists inputs as given.
    let mut order: Vec<usize> = (0..origins.len()).collect();
    order.sort_by_cached_key(|&i| {
        (
            id_names.get(i).cloned(),
            origins.get(i).map(|(o, _)| o.name()),
        )
    });
    let origins: Vec<(Origin, bool, String)> = order
        .iter()
        .filter_map(|&i| {
            let (origin, named) = origins.get(i)?.clone();
            Some((origin, named, id_names.get(i)?.clone()))
        })
        .collect();
    if let Some(progress) = &options.progress {
        for (origin, _, _) in &origins {
            progress.add_file(match origin {
                Origin::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
                _ => 0,
            });
        }
    }
    let (inputs, sorters) = pool::read_all(&origins, options)?;
    let merged = sort::merge(sorters);
    let correlator = Correlator::new(
        options.correlation,
        inputs.len(),
        merged.linkable,
        merged.keyless,
    );
    Ok(EventStream {
        progress: options.progress.clone(),
        merged,
        correlator,
        inputs,
        order,
        flushing: false,
        stats: StreamStats::default(),
        ids: UniqueIds::default(),
    })
}

/// `--include` / `--exclude` globs, as `.gitignore` reads them: a glob without `/` is matched
/// against the file name (`*.md`, `package*.json`), one with `/` against the path as found
/// (`logs/2026-*/*.json.gz`).
struct FileGlobs {
    names: globset::GlobSet,
    paths: globset::GlobSet,
}

impl FileGlobs {
    fn new(flag: &str, patterns: &[String]) -> Result<FileGlobs, Error> {
        let mut names = globset::GlobSetBuilder::new();
        let mut paths = globset::GlobSetBuilder::new();
        for p in patterns {
            let glob = globset::Glob::new(p)
                .map_err(|e| Error::Usage(format!("`{flag} {p}`: {}", e.kind())))?;
            if p.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |set: globset::GlobSetBuilder| {
            set.build()
                .map_err(|e| Error::Usage(format!("`{flag}`: {}", e.kind())))
        };
        Ok(FileGlobs {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    fn matches(&self, path: &Path) -> bool {
        path.file_name().is_some_and(|n| self.names.is_match(n)) || self.paths.is_match(path)
    }
}

/// `path` if it is a file (named), else the files under it, sorted, hidden files skipped.
fn expand(path: &Path, files: &mut Vec<(Origin, bool)>) -> Result<(), Error> {
    expand_in(path, files, true)
}

/// What a path given by the user may not be, it is an error; what a directory holds that cannot
/// or must not be read (an unreadable entry, a symlink loop, a FIFO, a socket, a device) is an
/// input reported as not read, with the reason, so the scan neither aborts nor hangs on it.
fn expand_in(path: &Path, files: &mut Vec<(Origin, bool)>, named: bool) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let unread = |files: &mut Vec<(Origin, bool)>, reason: String| {
        files.push((Origin::Unread(path.to_owned(), reason), named));
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        // A path the user typed that does not exist is a usage error; one that exists and
        // cannot be read (permissions, a symlink loop) is an input not read, in the report.
        Err(e) if named && e.kind() == std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(e) => {
            unread(files, format!("cannot be read: {e}"));
            return Ok(());
        }
    };
    if !meta.is_dir() {
        if !named && !meta.is_file() {
            unread(
                files,
                "not a regular file (a FIFO, socket or device): not read".to_owned(),
            );
        } else {
            files.push((Origin::File(path.to_owned()), named));
        }
        return Ok(());
    }
    let listed = std::fs::read_dir(path).and_then(|d| {
        d.map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<PathBuf>, _>>()
    });
    let mut entries = match listed {
        Ok(entries) => entries,
        Err(e) => {
            unread(files, format!("directory cannot be read: {e}"));
            return Ok(());
        }
    };
    entries.sort();
    for e in entries {
        let hidden = e
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden {
            expand_in(&e, files, false)?;
        }
    }
    Ok(())
}

/// Reads one input, passing its events to `emit`; returns its accounting. An input that cannot
/// be read is reported (or, with `strict`, an error). `id_name` names it in positional event ids.
fn read_input<'a>(
    origin: &Origin,
    id_name: &'a str,
    named: bool,
    options: &'a IngestOptions,
    places: &std::sync::Arc<locate::PlaceSpill>,
    jobs: Option<&pool::Jobs<'a>>,
    emit: &mut dyn FnMut(Box<Event>) -> Result<(), Error>,
) -> Result<InputReport, Error> {
    let name = origin.name();
    let mut report = InputReport::new(name.clone(), None, named);
    let mut spans = SpanIndex::spilling(std::sync::Arc::clone(places));
    let fail = |report: &mut InputReport, e: Error| match e {
        Error::UnreadableInput { message, .. } if !options.strict => {
            report.error = Some(message);
            Ok(())
        }
        other => Err(other),
    };
    let opened = match source::open(origin, options.progress.as_ref()) {
        Ok(o) => o,
        Err(e) => {
            fail(&mut report, e)?;
            return Ok(report);
        }
    };
    let (format, layout) = match detect::detect(&opened.prefix, options.format, &options.mappings) {
        Ok(d) => d,
        Err(message) => {
            fail(
                &mut report,
                Error::UnreadableInput {
                    path: name,
                    message,
                },
            )?;
            return Ok(report);
        }
    };
    report.format = Some(format);
    let mut first_error: Option<InputError> = None;
    let malformed_seen = std::cell::Cell::new(false);
    let mut emit_error: Option<Error> = None;
    // What a record's slice is measured against: the document, or the current line.
    let base = std::cell::Cell::new(Base::default());
    // The last record that started a line: a later record starting on the same line (records of
    // a one-line CloudTrail file) is named `file#record`, not `file:line`, so that evidence
    // names it alone.
    let mut line_starter: Option<(u64, u64)> = None;
    let keep_sources = format == InputFormat::Events;
    // One shared copy of the input's name for every event's source reference.
    let shared_name = crate::event::SmolStr::from(name.as_str());
    let mut sink = |index: u64, at: At<'_>, record: Record| {
        report.records += 1;
        let record = match record {
            Record::Event(e) if !options.in_window(&e) => Record::Skip(OUTSIDE_WINDOW),
            other => other,
        };
        let line = at.line;
        let time_ns = match &record {
            Record::Event(e) => Some(e.time_ns),
            _ => None,
        };
        spans.note(index, &at, &base.get(), time_ns);
        let shares_line = match (line, line_starter) {
            (None, _) => false,
            (Some(_), Some((starter, _))) if starter == index => false,
            (Some(l), Some((_, starter_line))) if starter_line == l => true,
            (Some(l), _) => {
                line_starter = Some((index, l));
                false
            }
        };
        match record {
            Record::Event(mut e) => {
                if shares_line && !keep_sources {
                    e.source.line = None;
                }
                // Readers name the input as ids do; its source reference names it as given.
                if e.source.file == id_name {
                    e.source.file.clone_from(&shared_name);
                }
                report.events += 1;
                if emit_error.is_none()
                    && let Err(e) = emit(e)
                {
                    emit_error = Some(e);
                }
            }
            Record::Skip(reason) => {
                report.skipped += 1;
                *report.skipped_reasons.entry(reason.to_owned()).or_default() += 1;
            }
            Record::Malformed(message) => {
                report.skipped += 1;
                *report
                    .skipped_reasons
                    .entry(MALFORMED.to_owned())
                    .or_default() += 1;
                let err = InputError {
                    file: name.clone(),
                    record: index,
                    line,
                    message,
                };
                if first_error.is_none() {
                    first_error = Some(err.clone());
                    malformed_seen.set(true);
                }
                if report.errors.len() < MAX_LISTED_ERRORS {
                    report.errors.push(err);
                }
            }
        }
    };
    let gzip = opened.gzip;
    let dropped = opened.dropped;
    let stopped: Result<(), Error> = match layout {
        Layout::Document => {
            // Held while the document and its records are in memory.
            let _pass = jobs.map(|jobs| jobs.enter_document(origin, &opened));
            source::read_document(origin, opened).and_then(|(text, stopped)| {
                base.set(Base::of(&text, dropped));
                let parsed = match jobs {
                    // A large `{"Records"}` file (its records) or HAR (its entries) is parsed on
                    // every thread, once the other threads have no input of their own left to
                    // read (until then, cutting it would cost them more than it saves).
                    Some(jobs)
                        if matches!(format, InputFormat::CloudTrail | InputFormat::Har)
                            && text.len() >= cloudtrail::CHUNKED_MIN_BYTES
                            && jobs.all_claimed() =>
                    {
                        // The text moves, its bytes (which `base` and the records' places
                        // point into) do not.
                        let text = std::sync::Arc::new(text);
                        if format == InputFormat::Har {
                            har::read_chunked(id_name, &text, jobs, &mut sink)
                        } else {
                            cloudtrail::read_chunked(id_name, &text, jobs, &mut sink)
                        }
                    }
                    _ => read_document(format, id_name, &text, &options.mappings, &mut sink),
                };
                // A document cut short is reported by its read error, after the records that
                // could be read before it.
                match (stopped, parsed) {
                    (Some(message), _) | (None, Err(message)) => Err(Error::UnreadableInput {
                        path: name.clone(),
                        message,
                    }),
                    (None, Ok(())) => Ok(()),
                }
            })
        }
        Layout::Lines => lines::read(
            LineReader::new(opened.reader, options.max_line_bytes),
            &lines::Reading {
                format,
                id_name,
                mappings: &options.mappings,
                max_line_bytes: options.max_line_bytes,
                gzip,
                dropped,
            },
            jobs,
            &mut sink,
            &|text, offset| base.set(Base::of(text, offset)),
            &|| options.strict && malformed_seen.get(),
        )
        .map_err(|message| Error::UnreadableInput {
            path: name.clone(),
            message,
        }),
    };
    if let Some(e) = emit_error {
        return Err(e);
    }
    if let Err(e) = stopped {
        fail(&mut report, e)?;
    }
    if options.strict
        && let Some(err) = first_error
    {
        return Err(Error::Input(err));
    }
    spans.seal();
    report.spans = std::sync::Arc::new(spans);
    Ok(report)
}

/// Reads a whole-document input.
fn read_document(
    format: InputFormat,
    file: &str,
    text: &str,
    mappings: &[InputMapping],
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    match format {
        InputFormat::CloudTrail => cloudtrail::read(file, text, sink),
        InputFormat::Har => har::read_document(file, text, sink),
        InputFormat::Otlp => otlp::read_document(file, text, sink),
        InputFormat::KeyInventory => inventory::read_document(file, text, sink),
        InputFormat::DynamoDbWire | InputFormat::AccessLog | InputFormat::Events => {
            let mut state = LineState::new(format, mappings);
            let mut index = 0;
            for_each_line(text, |line_no, line| {
                state.read_line(file, &mut index, line_no, line, sink)
            });
            Ok(())
        }
    }
}

/// Per-input state of a JSON-lines reader.
struct LineState<'m> {
    format: InputFormat,
    mappings: &'m [InputMapping],
    /// Tables' key attributes learnt from earlier lines (a wire `PutItem` has only the item).
    schemas: dynamodb::KeySchemas,
}

impl<'m> LineState<'m> {
    fn new(format: InputFormat, mappings: &'m [InputMapping]) -> Self {
        LineState {
            format,
            mappings,
            schemas: dynamodb::KeySchemas::default(),
        }
    }

    /// The state of lines read apart from the lines before them (a chunk parsed on another
    /// thread), from this one's: a wire log's key schemas as known now, keeping a journal
    /// ([`dynamodb::KeySchemas::apart`]).
    fn apart(&self) -> Self {
        LineState {
            schemas: if self.format == InputFormat::DynamoDbWire {
                self.schemas.apart()
            } else {
                dynamodb::KeySchemas::default()
            },
            ..LineState::new(self.format, self.mappings)
        }
    }

    fn read_line(
        &mut self,
        file: &str,
        index: &mut u64,
        line_no: u64,
        line: &str,
        sink: &mut impl FnMut(u64, At<'_>, Record),
    ) {
        match self.format {
            InputFormat::CloudTrail => cloudtrail::read_line(file, index, line_no, line, sink),
            InputFormat::DynamoDbWire => wire::read_line(
                file,
                index,
                line_no,
                line,
                &mut self.schemas,
                self.mappings,
                sink,
            ),
            InputFormat::Events => events::read_line(index, line_no, line, sink),
            InputFormat::Otlp => otlp::read_line(file, index, line_no, line, sink),
            InputFormat::AccessLog => access_log::read_line(file, index, line_no, line, sink),
            InputFormat::KeyInventory => inventory::read_line(file, index, line_no, line, sink),
            // Detection always reads these as whole documents.
            InputFormat::Har => {
                *index += 1;
                sink(
                    *index,
                    At::line(line_no, line),
                    Record::Malformed("a HAR file is one JSON document, not JSON lines".to_owned()),
                );
            }
        }
    }
}

/// Calls `f` for each non-blank line with its 1-based line number.
fn for_each_line(text: &str, mut f: impl FnMut(u64, &str)) {
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            f(i as u64 + 1, line);
        }
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    /// How a test reads the stream.
    #[derive(Clone, Copy)]
    enum Read {
        Values,
        Boxed,
        Staged,
    }

    /// Every event and its accounting, read from `dir` by value, in boxes, or in boxes from a
    /// thread of its own.
    fn read(dir: &Path, how: Read) -> (Vec<Event>, Vec<InputReport>, StreamStats) {
        let mut stream = open(&[dir.to_path_buf()], &IngestOptions::default()).unwrap();
        let events = match how {
            Read::Values => stream.by_ref().collect(),
            Read::Boxed => stream.boxed().map(|e| *e).collect(),
            // Chunks of 16: many of them, more than the hand-over holds at once.
            Read::Staged => stream.staged_by(16, |events| events.map(|e| *e).collect()),
        };
        let (inputs, stats) = stream.finish().unwrap();
        (events, inputs, stats)
    }

    /// The boxed stream is the same stream: the recorded apps' traffic (merged calls, linked
    /// spans and requests) gives the same events, accounting and stats either way.
    #[test]
    fn the_boxed_stream_gives_the_events_the_stream_gives() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/recorded");
        let (events, inputs, stats) = read(&dir, Read::Values);
        assert!(events.len() > 100, "{}", events.len());
        assert!(
            inputs.iter().any(|i| i.merged > 0),
            "the fixtures merge calls"
        );
        assert!(stats.db_linked > 0, "the fixtures link DB calls");
        // Staged: the stream on a thread of its own hands over the same events.
        for how in [Read::Boxed, Read::Staged] {
            let (boxed, boxed_inputs, boxed_stats) = read(&dir, how);
            assert_eq!(boxed, events);
            assert_eq!(
                format!("{boxed_inputs:?} {boxed_stats:?}"),
                format!("{inputs:?} {stats:?}")
            );
        }
    }

    /// Runs spilled (the first of each reader boxed, the rest encoded as their events came) give
    /// the stream that one run in memory gives, on one thread and on two.
    #[test]
    fn spilled_runs_give_the_stream_runs_in_memory_give() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/recorded");
        let (events, inputs, stats) = read(&dir, Read::Values);
        for threads in [1, 2] {
            let options = IngestOptions {
                // A few events a run.
                sort_budget_bytes: 16 << 10,
                threads,
                ..IngestOptions::default()
            };
            let mut stream = open(&[dir.to_path_buf()], &options).unwrap();
            let spilled: Vec<Event> = stream.boxed().map(|e| *e).collect();
            let (spilled_inputs, spilled_stats) = stream.finish().unwrap();
            assert_eq!(spilled, events, "{threads} threads");
            assert_eq!(
                format!("{spilled_inputs:?} {spilled_stats:?}"),
                format!("{inputs:?} {stats:?}")
            );
        }
    }

    /// A consumer that stops early stops the staged stream: no thread is left waiting to hand
    /// over a chunk, and the stream can still be finished.
    #[test]
    fn a_staged_stream_stops_when_its_consumer_does() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/recorded");
        let mut stream = open(&[dir.to_path_buf()], &IngestOptions::default()).unwrap();
        let first: Vec<String> = stream.staged_by(16, |events| {
            events.take(3).map(|e| e.id.to_string()).collect()
        });
        assert_eq!(first.len(), 3);
        let (inputs, _) = stream.finish().unwrap();
        assert!(!inputs.is_empty());
    }
}
