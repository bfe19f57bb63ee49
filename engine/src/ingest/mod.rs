//! Ingestion: open inputs (files, directories, gzip), detect each one's format by content, and
//! turn records into events. Every record is accounted for: it becomes an event, or it is counted
//! as skipped with a reason; malformed records are listed with file, record and line.

mod cloudtrail;
mod credentials;
mod dynamodb;
mod events;
mod har;
mod http;
mod source;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, InputError};
use crate::event::Event;

pub use source::MAX_INPUT_BYTES;

/// The input formats the engine reads. Closed set: adding one is adding a module here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    /// AWS CloudTrail: `{"Records": [...]}` files or one record per line.
    #[serde(rename = "cloudtrail")]
    CloudTrail,
    /// tracewarden's own normalized events, one JSON object per line.
    Events,
}

impl InputFormat {
    /// Every format.
    pub const ALL: [InputFormat; 2] = [InputFormat::CloudTrail, InputFormat::Events];

    /// The format's name (`--input-format`, reports).
    pub fn as_str(&self) -> &'static str {
        match self {
            InputFormat::CloudTrail => "cloudtrail",
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
            .ok_or_else(|| format!("unknown input format `{s}`: expected cloudtrail or events"))
    }
}

/// Most record errors listed per input; the rest are still counted.
pub const MAX_LISTED_ERRORS: usize = 100;

/// The accounting of one input file: `records == events + skipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputReport {
    /// The file.
    pub path: String,
    /// Its detected (or forced) format; absent when the file could not be read as a whole.
    pub format: Option<InputFormat>,
    /// Records read.
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Skipped records by reason.
    pub skipped_reasons: BTreeMap<String, u64>,
    /// The first malformed records, with file, record, line and what was wrong.
    pub errors: Vec<InputError>,
    /// Why the file could not be read at all (bad gzip, not JSON, unknown format); its records are
    /// not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one record became.
enum Record {
    Event(Box<Event>),
    /// Not something the engine models (a reason, counted).
    Skip(&'static str),
    /// Malformed: what was wrong and what was expected.
    Malformed(String),
}

/// Options for reading inputs.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Force a format instead of detecting it.
    pub format: Option<InputFormat>,
    /// Stop at the first malformed record.
    pub strict: bool,
}

/// Events read from inputs, in time order, and the accounting of each input.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    /// Every event, ordered by time, then input order, then record.
    pub events: Vec<Event>,
    /// One report per input file.
    pub inputs: Vec<InputReport>,
}

/// Reads `paths` (files or directories, recursively; `.gz` by content) into events ordered by
/// time. Ties keep input order, so the result is deterministic.
pub fn read_inputs(paths: &[PathBuf], options: &IngestOptions) -> Result<Ingested, Error> {
    let mut files = Vec::new();
    for p in paths {
        expand(p, &mut files)?;
    }
    let mut out = Ingested::default();
    for file in &files {
        match read_file(file, options, &mut out.events) {
            Ok(report) => out.inputs.push(report),
            Err(Error::UnreadableInput { path, message }) if !options.strict => {
                out.inputs.push(InputReport {
                    path,
                    format: None,
                    records: 0,
                    events: 0,
                    skipped: 0,
                    skipped_reasons: BTreeMap::new(),
                    errors: Vec::new(),
                    error: Some(message),
                })
            }
            Err(e) => return Err(e),
        }
    }
    // A stable sort keeps file and record order for equal times.
    out.events.sort_by_key(|e| e.time_ns);
    Ok(out)
}

/// Files under `path`, sorted, hidden files skipped.
fn expand(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for e in entries {
        let hidden = e
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden {
            expand(&e, files)?;
        }
    }
    Ok(())
}

fn read_file(
    path: &Path,
    options: &IngestOptions,
    events: &mut Vec<Event>,
) -> Result<InputReport, Error> {
    let name = path.display().to_string();
    let data = source::read_all(path)?;
    let text = std::str::from_utf8(&data).map_err(|e| Error::UnreadableInput {
        path: name.clone(),
        message: format!(
            "invalid UTF-8 at byte {}: expected JSON text",
            e.valid_up_to()
        ),
    })?;
    let format = match options.format {
        Some(f) => f,
        None => source::detect(text).ok_or_else(|| Error::UnreadableInput {
            path: name.clone(),
            message: "unrecognized format: expected CloudTrail JSON (`{\"Records\": [...]}` or one record per line) \
                      or tracewarden events (JSON lines); use --input-format to say which"
                .to_owned(),
        })?,
    };
    let mut report = InputReport {
        path: name.clone(),
        format: Some(format),
        records: 0,
        events: 0,
        skipped: 0,
        skipped_reasons: BTreeMap::new(),
        errors: Vec::new(),
        error: None,
    };
    let mut first_error = None;
    let mut sink = |index: u64, line: Option<u64>, record: Record| {
        report.records += 1;
        match record {
            Record::Event(e) => {
                report.events += 1;
                events.push(*e);
            }
            Record::Skip(reason) => {
                report.skipped += 1;
                *report.skipped_reasons.entry(reason.to_owned()).or_default() += 1;
            }
            Record::Malformed(message) => {
                report.skipped += 1;
                *report
                    .skipped_reasons
                    .entry("malformed record".to_owned())
                    .or_default() += 1;
                let err = InputError {
                    file: name.clone(),
                    record: index,
                    line,
                    message,
                };
                if first_error.is_none() {
                    first_error = Some(err.clone());
                }
                if report.errors.len() < MAX_LISTED_ERRORS {
                    report.errors.push(err);
                }
            }
        }
    };
    match format {
        InputFormat::CloudTrail => cloudtrail::read(&name, text, &mut sink),
        InputFormat::Events => events::read(text, &mut sink),
    }
    .map_err(|message| Error::UnreadableInput {
        path: name.clone(),
        message,
    })?;
    if options.strict
        && let Some(err) = first_error
    {
        return Err(Error::Input(err));
    }
    Ok(report)
}

/// Calls `f` for each non-blank line with its 1-based line number.
fn for_each_line(text: &str, mut f: impl FnMut(u64, &str)) {
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            f(i as u64 + 1, line);
        }
    }
}

/// Maps a slice of the document back to its 1-based line, counting newlines incrementally
/// (records come in document order).
pub(super) struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The line where `slice`, a subslice of the text at or after the last one asked about,
    /// starts.
    pub(super) fn line_of(&mut self, slice: &str) -> Option<u64> {
        let start = (slice.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let between = self.text.get(self.offset..start)?;
        self.line += between.bytes().filter(|&b| b == b'\n').count() as u64;
        self.offset = start;
        Some(self.line)
    }
}
