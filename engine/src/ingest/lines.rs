//! JSON-lines inputs, read in chunks: the input's reader cuts its lines into chunks of about
//! [`CHUNK_BYTES`], each chunk is parsed into records, and the records are handed to the input's
//! accounting in line order. A format whose lines read alone (nothing carried from one line to the
//! next) has its chunks parsed on the [`pool`](super::pool)'s workers, so a large file is parsed
//! on every thread with the record indices, lines, event ids and accounting of reading it in one
//! pass: where each line is one record (CloudTrail, access logs, key inventories, tracewarden
//! events), each chunk knows the record index it starts at; where a line holds any number of
//! records (an OTLP export request, one record per span), a chunk is parsed counting from 0 and
//! its records are moved past the ones before it as they are replayed ([`rebase`]). A DynamoDB
//! wire log learns tables' keys from earlier lines (a `PutItem` names only its item): its chunks
//! are parsed apart from the keys known when they were handed out, keeping a journal of what they
//! learnt and looked up, and a chunk one of whose lookups the lines before it would have
//! answered otherwise is parsed again by the reader, in order
//! ([`super::dynamodb::KeySchemas::adopt`]).
//!
//! Memory: at most [`CHUNKS_IN_FLIGHT`] chunks of an input (text and parsed records) are held at
//! once.

use std::ops::Range;

use super::locate::At;
use super::pool::{InOrder, Jobs};
use super::source::{self, Line, LineReader};
use super::{InputFormat, InputMapping, LineState, Record};

/// Bytes of line text a chunk gathers before it is parsed (a longer line is a chunk alone): ~1–2
/// ms of parsing, so that an input of a few MB is spread over the workers and none waits long
/// for the last chunk (at 1 MiB, a 4 MB input was four chunks: the ingest bench's readers spent
/// 8–30% longer). Small in unit tests, so that small inputs span many chunks.
pub(super) const CHUNK_BYTES: usize = if cfg!(test) { 2 << 10 } else { 256 << 10 };

/// Chunks of one input parsed or waiting to be parsed on other threads at once.
pub(super) const CHUNKS_IN_FLIGHT: usize = 8;

/// What a chunk's parse needs to know of its input.
pub(super) struct Reading<'a> {
    pub format: InputFormat,
    /// The name positional ids give the input.
    pub id_name: &'a str,
    pub mappings: &'a [InputMapping],
    pub max_line_bytes: usize,
    /// The input is gzip (for read error messages).
    pub gzip: bool,
    /// Bytes dropped before the reader's first byte (a byte-order mark).
    pub dropped: u64,
}

/// One line of a chunk: its number, where it starts in the (decompressed) file, and what was read.
struct ChunkLine {
    line_no: u64,
    offset: u64,
    kind: LineKind,
}

enum LineKind {
    /// The line's text, in the chunk's text.
    Text(Range<usize>),
    NotUtf8 {
        valid_up_to: usize,
    },
    TooLong {
        bytes: u64,
    },
}

/// Consecutive non-blank lines of an input.
struct Chunk {
    text: String,
    lines: Vec<ChunkLine>,
}

/// A record a chunk's line became, placed by offsets so it can cross threads.
struct Placed {
    /// The line, in the chunk.
    line: usize,
    index: u64,
    at_line: Option<u64>,
    column: Option<u64>,
    /// The record's text within its line.
    raw: Option<Range<usize>>,
    record: Record,
}

/// A chunk and its records, in order.
struct Parsed {
    chunk: Chunk,
    records: Vec<Placed>,
    /// The record index the chunk's parse started after.
    first: u64,
    /// What a chunk parsed apart learnt of the tables' keys, and looked up.
    journal: Option<Vec<super::dynamodb::Step>>,
}

/// Whether every non-blank line of `format` reads alone.
fn independent_lines(format: InputFormat) -> bool {
    one_record_per_line(format) || format == InputFormat::Otlp
}

/// Whether every non-blank line of `format` is one record.
fn one_record_per_line(format: InputFormat) -> bool {
    matches!(
        format,
        InputFormat::CloudTrail
            | InputFormat::AccessLog
            | InputFormat::KeyInventory
            | InputFormat::Events
            | InputFormat::DynamoDbWire
    )
}

/// A record of a chunk parsed counting from 0, moved past the `before` records of the chunks
/// before it: its index, and what an event says of it (its record number, a positional id).
fn rebase(format: InputFormat, id_name: &str, before: u64, index: &mut u64, record: &mut Record) {
    if let Record::Event(e) = record
        && format == InputFormat::Otlp
    {
        super::otlp::rebase(e, id_name, before);
        #[cfg(test)]
        REBASED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    *index += before;
}

/// Events moved past the records of earlier chunks, for tests to see that some were.
#[cfg(test)]
pub(super) static REBASED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Chunks of a wire log parsed again because a lookup of theirs depended on earlier lines.
#[cfg(test)]
pub(super) static REREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Reads the lines of an input: passes each record to `sink` in order (after `set_base` with its
/// line and the line's offset in the file), stopping before the next line once `stop` says so.
/// With `jobs`, the chunks of independent lines are parsed on the pool's workers. A read error
/// is returned after the records read before it.
pub(super) fn read<'a>(
    mut lines: LineReader,
    r: &Reading<'a>,
    jobs: Option<&Jobs<'a>>,
    sink: &mut dyn FnMut(u64, At<'_>, Record),
    set_base: &dyn Fn(&str, u64),
    stop: &dyn Fn() -> bool,
) -> Result<(), String> {
    let jobs = jobs.filter(|_| independent_lines(r.format));
    // Chunks parsed on the workers counting their records from 0: the records replayed before.
    let mut rebased = (!one_record_per_line(r.format)).then_some(0u64);
    // Parsing here: the format's state, carried from chunk to chunk.
    let mut state = LineState::new(r.format, r.mappings);
    // The record index the next chunk starts after.
    let mut index = 0u64;
    let mut in_flight = jobs.map(InOrder::new);
    let mut end: Option<Result<(), String>> = None;
    loop {
        while end.is_none() && in_flight.as_ref().is_none_or(InOrder::has_room) {
            let (chunk, read_end) = next_chunk(&mut lines, r);
            end = read_end;
            match &mut in_flight {
                Some(in_flight) => {
                    let first = if rebased.is_some() { 0 } else { index };
                    index += chunk.lines.len() as u64;
                    let (id_name, max) = (r.id_name, r.max_line_bytes);
                    let mut apart = state.apart();
                    in_flight.submit(move || {
                        let mut index = first;
                        parse(chunk, &mut apart, &mut index, id_name, max)
                    });
                }
                None => {
                    let parsed = parse(chunk, &mut state, &mut index, r.id_name, r.max_line_bytes);
                    if !replay(parsed, None, sink, set_base, stop) {
                        return Ok(());
                    }
                }
            }
        }
        let Some(next) = in_flight.as_mut().and_then(InOrder::next) else {
            break;
        };
        let mut parsed = next?;
        if let Some(journal) = parsed.journal.take()
            && !state.schemas.adopt(journal)
        {
            // A `PutItem` of the chunk would have had another key after the lines before it.
            let mut first = parsed.first;
            parsed = parse(
                parsed.chunk,
                &mut state,
                &mut first,
                r.id_name,
                r.max_line_bytes,
            );
            #[cfg(test)]
            REREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let before = rebased.as_mut().map(|before| (r, before));
        if !replay(parsed, before, sink, set_base, stop) {
            return Ok(());
        }
    }
    end.unwrap_or(Ok(()))
}

/// Reads the next chunk: lines until [`CHUNK_BYTES`] of text, the end, or a read error (then
/// the chunk holds the lines before it). The second value is the input's end, once reached.
fn next_chunk(lines: &mut LineReader, r: &Reading<'_>) -> (Chunk, Option<Result<(), String>>) {
    let mut chunk = Chunk {
        text: String::new(),
        lines: Vec::new(),
    };
    while chunk.text.len() < CHUNK_BYTES {
        let offset = r.dropped + lines.offset();
        let (line_no, line) = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return (chunk, Some(Ok(()))),
            Err(e) => {
                let message = source::read_error(r.gzip, &e, Some(lines.line_no()));
                return (chunk, Some(Err(message)));
            }
        };
        let kind = match line {
            Line::Text(t) if t.trim().is_empty() => continue,
            Line::Text(t) => {
                let start = chunk.text.len();
                chunk.text.push_str(t);
                LineKind::Text(start..chunk.text.len())
            }
            Line::NotUtf8 { valid_up_to } => LineKind::NotUtf8 { valid_up_to },
            Line::TooLong { bytes } => LineKind::TooLong { bytes },
        };
        chunk.lines.push(ChunkLine {
            line_no,
            offset,
            kind,
        });
    }
    (chunk, None)
}

/// Parses a chunk's lines into records, `index` being the record before its first line.
fn parse(
    chunk: Chunk,
    state: &mut LineState<'_>,
    index: &mut u64,
    id_name: &str,
    max_line_bytes: usize,
) -> Parsed {
    let first = *index;
    let mut records = Vec::with_capacity(chunk.lines.len());
    for (i, line) in chunk.lines.iter().enumerate() {
        let malformed = |message: String| Placed {
            line: i,
            index: 0,
            at_line: Some(line.line_no),
            column: None,
            raw: None,
            record: Record::Malformed(message),
        };
        match &line.kind {
            LineKind::Text(range) => {
                let text = chunk.text.get(range.clone()).unwrap_or_default();
                state.read_line(id_name, index, line.line_no, text, &mut |n, at, record| {
                    records.push(Placed {
                        line: i,
                        index: n,
                        at_line: at.line,
                        column: at.column,
                        raw: at.raw.and_then(|raw| within(text, raw)),
                        record,
                    })
                });
            }
            LineKind::NotUtf8 { valid_up_to } => {
                *index += 1;
                records.push(Placed {
                    index: *index,
                    ..malformed(format!(
                        "invalid UTF-8 at byte {valid_up_to} of the line: expected JSON text"
                    ))
                });
            }
            LineKind::TooLong { bytes } => {
                *index += 1;
                records.push(Placed {
                    index: *index,
                    ..malformed(format!(
                        "line of {bytes} bytes is longer than the {} MiB limit: skipped unread",
                        max_line_bytes >> 20
                    ))
                });
            }
        }
    }
    Parsed {
        chunk,
        records,
        first,
        journal: state.schemas.take_journal(),
    }
}

/// Where `raw` is within `text`, when it is a slice of it.
pub(super) fn within(text: &str, raw: &str) -> Option<Range<usize>> {
    let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(raw.len())?;
    (end <= text.len()).then_some(start..end)
}

/// Hands a parsed chunk's records to `sink` in order; false when `stop` ended it. `before`: for
/// a chunk parsed counting from 0, its input and the records replayed before it (then advanced).
fn replay(
    parsed: Parsed,
    before: Option<(&Reading<'_>, &mut u64)>,
    sink: &mut dyn FnMut(u64, At<'_>, Record),
    set_base: &dyn Fn(&str, u64),
    stop: &dyn Fn() -> bool,
) -> bool {
    let Parsed { chunk, records, .. } = parsed;
    let mut current = None;
    let mut last = None;
    for mut p in records {
        let Some(line) = chunk.lines.get(p.line) else {
            continue;
        };
        let text = match &line.kind {
            LineKind::Text(range) => chunk.text.get(range.clone()).unwrap_or_default(),
            _ => "",
        };
        if current != Some(p.line) {
            if stop() {
                return false;
            }
            current = Some(p.line);
            set_base(text, line.offset);
        }
        let at = At {
            line: p.at_line,
            column: p.column,
            raw: p.raw.and_then(|r| text.get(r)),
        };
        if let Some((r, before)) = &before {
            rebase(r.format, r.id_name, **before, &mut p.index, &mut p.record);
            last = Some(p.index);
        }
        sink(p.index, at, p.record);
    }
    if let Some((_, before)) = before
        && let Some(last) = last
    {
        *before = last;
    }
    !stop()
}
