//! Where each record is in its input: the line, column, byte offset and length of every record,
//! kept per input so that evidence can point at its record — a CloudTrail file of 5,000 records
//! on one line included — and `tracewarden show FILE#RECORD` can print it.
//!
//! Readers say where a record is with an [`At`]: its line and column when they count them, and
//! its text as a slice of what they were given. The ingest driver turns the slice into a byte
//! offset (the slice's address within the document, or within the current line plus the line's
//! offset in the file) and keeps one [`Span`] per record in a [`SpanIndex`]: 32 bytes a record.

use serde::{Deserialize, Serialize};

/// Where a reader found a record.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct At<'a> {
    /// 1-based line of the record's start.
    pub(super) line: Option<u64>,
    /// 1-based column of the record's start, in characters.
    pub(super) column: Option<u64>,
    /// The record's text: a slice of the document or of the line the reader was given.
    pub(super) raw: Option<&'a str>,
}

impl<'a> At<'a> {
    /// Nowhere known (an item of a document that could not be delimited).
    pub(super) const UNKNOWN: At<'static> = At {
        line: None,
        column: None,
        raw: None,
    };

    /// A record that is the whole of line `line`.
    pub(super) fn line(line: u64, raw: &'a str) -> At<'a> {
        At {
            line: Some(line),
            column: Some(1),
            raw: Some(raw),
        }
    }

    /// A record known by its line alone.
    pub(super) fn line_only(line: Option<u64>) -> At<'static> {
        At {
            line,
            column: None,
            raw: None,
        }
    }
}

/// The text a record's slice is measured against: its address, length, and the file offset of
/// its first byte.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Base {
    addr: usize,
    len: usize,
    offset: u64,
}

impl Base {
    /// `text`, which starts at byte `offset` of the file.
    pub(super) fn of(text: &str, offset: u64) -> Base {
        Base {
            addr: text.as_ptr() as usize,
            len: text.len(),
            offset,
        }
    }

    /// The file offset and length of `raw`, when it is a slice of this text.
    fn place(&self, raw: &str) -> Option<(u64, u64)> {
        let rel = (raw.as_ptr() as usize).checked_sub(self.addr)?;
        (rel + raw.len() <= self.len).then(|| (self.offset + rel as u64, raw.len() as u64))
    }
}

/// One record's place. `offset == u64::MAX` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    offset: u64,
    /// The time of the first event the record became (`i64::MIN`: none).
    time_ns: i64,
    length: u32,
    /// 0 when unknown; otherwise the record's line (saturating).
    line: u32,
    /// 0 when unknown.
    column: u32,
}

const UNKNOWN: Span = Span {
    offset: u64::MAX,
    time_ns: i64::MIN,
    length: 0,
    line: 0,
    column: 0,
};

/// The place of every record of one input, by record index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanIndex {
    spans: Vec<Span>,
}

impl SpanIndex {
    /// Notes record `record` (1-based) at `at`, measured against `base`, with the time of the
    /// event it became. A record seen again (one record, several events) keeps its first place.
    pub(super) fn note(&mut self, record: u64, at: &At<'_>, base: &Base, time_ns: Option<i64>) {
        let Some(i) = record.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        if let Some(span) = self.spans.get_mut(i) {
            if span.time_ns == i64::MIN
                && let Some(t) = time_ns
            {
                span.time_ns = t;
            }
            return;
        }
        // Records come in order; a gap (never expected) is filled with unknown places.
        let previous_line = self.spans.last().map_or(0, |s| s.line);
        while self.spans.len() < i {
            self.spans.push(Span {
                line: previous_line,
                ..UNKNOWN
            });
        }
        let (offset, length) = at
            .raw
            .and_then(|raw| base.place(raw))
            .unwrap_or((u64::MAX, 0));
        let saturate = |n: Option<u64>| n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
        self.spans.push(Span {
            offset,
            time_ns: time_ns.unwrap_or(i64::MIN),
            length: u32::try_from(length).unwrap_or(u32::MAX),
            line: match at.line {
                Some(l) => saturate(Some(l)),
                None => previous_line,
            },
            column: saturate(at.column),
        });
    }

    /// Records noted.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no record was noted.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Where record `record` (1-based) of `file` is, when its place is known.
    pub fn location(&self, file: &str, record: u64) -> Option<Location> {
        let i = usize::try_from(record.checked_sub(1)?).ok()?;
        let span = self.spans.get(i)?;
        if span.offset == u64::MAX || span.line == 0 {
            return None;
        }
        Some(Location {
            file: file.to_owned(),
            record,
            line: u64::from(span.line),
            column: u64::from(span.column.max(1)),
            offset: span.offset,
            length: u64::from(span.length),
        })
    }

    /// The time of the first event record `record` became.
    pub fn time_ns(&self, record: u64) -> Option<i64> {
        let i = usize::try_from(record.checked_sub(1)?).ok()?;
        let t = self.spans.get(i)?.time_ns;
        (t != i64::MIN).then_some(t)
    }

    /// The record that starts at `line` and `column` (any column: the first on the line).
    pub fn record_at(&self, line: u64, column: Option<u64>) -> Option<u64> {
        let first = self.record_on_line(line)?;
        let Some(column) = column else {
            return Some(first);
        };
        let line = u32::try_from(line).ok()?;
        let start = usize::try_from(first - 1).ok()?;
        self.spans
            .get(start..)?
            .iter()
            .take_while(|s| s.line == line)
            .position(|s| u64::from(s.column) == column && s.offset != u64::MAX)
            .map(|i| first + i as u64)
    }

    /// The first record that starts on line `line`: what a `file:line` source names (a record
    /// that shares its line with an earlier one is named `file#record`).
    pub fn record_on_line(&self, line: u64) -> Option<u64> {
        let line = u32::try_from(line).ok()?;
        let i = self.spans.partition_point(|s| s.line < line);
        let span = self.spans.get(i)?;
        (span.line == line).then_some(i as u64 + 1)
    }
}

/// Maps a slice of a document back to its 1-based line and column, counting incrementally
/// (records come in document order).
pub(super) struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
    /// Characters between the start of the current line and `offset`.
    column: u64,
}

impl<'a> LineCounter<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
            column: 0,
        }
    }

    /// Where `slice`, a subslice of the text at or after the last one asked about, starts.
    pub(super) fn at(&mut self, slice: &'a str) -> At<'a> {
        let Some(start) = (slice.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize) else {
            return At::UNKNOWN;
        };
        let Some(between) = self.text.get(self.offset..start) else {
            return At {
                raw: Some(slice),
                ..At::UNKNOWN
            };
        };
        match between.rfind('\n') {
            Some(nl) => {
                self.line += between.bytes().filter(|&b| b == b'\n').count() as u64;
                self.column = between[nl + 1..].chars().count() as u64;
            }
            None => self.column += between.chars().count() as u64,
        }
        self.offset = start;
        At {
            line: Some(self.line),
            column: Some(self.column + 1),
            raw: Some(slice),
        }
    }

    /// The line where `slice` starts (see [`LineCounter::at`]).
    pub(super) fn line_of(&mut self, slice: &'a str) -> Option<u64> {
        self.at(slice).line
    }
}

/// Where one input record is: enough to open the file at it, whatever the file's layout (a
/// CloudTrail file of 5,000 records on one line included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The input file as given (`-` for standard input).
    pub file: String,
    /// 1-based record index within the file (a CloudTrail record, a HAR entry, an OTLP span, a
    /// line of a line-oriented log).
    pub record: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 1-based column where the record starts, in characters (Unicode scalar values).
    pub column: u64,
    /// Byte offset of the record's first byte in the file (decompressed, for gzip).
    pub offset: u64,
    /// The record's length in bytes.
    pub length: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_on_one_line_get_columns_in_characters_and_offsets_in_bytes() {
        let text = "{\"R\":[{\"a\":\"é\"},{\"b\":1}]}\n";
        let first = &text[6..16];
        let second = &text[17..24];
        assert_eq!((first, second), ("{\"a\":\"é\"}", "{\"b\":1}"));
        let mut lines = LineCounter::new(text);
        let base = Base::of(text, 0);
        let mut index = SpanIndex::default();
        let a = lines.at(first);
        index.note(1, &a, &base, Some(5));
        let b = lines.at(second);
        index.note(2, &b, &base, Some(6));
        let one = index.location("f.json", 1).unwrap();
        let two = index.location("f.json", 2).unwrap();
        assert_eq!(
            (one.line, one.column, one.offset, one.length),
            (1, 7, 6, 10)
        );
        // `é` is two bytes and one character: the column counts characters, the offset bytes.
        assert_eq!(
            (two.line, two.column, two.offset, two.length),
            (1, 17, 17, 7)
        );
        assert_eq!((index.time_ns(1), index.time_ns(2)), (Some(5), Some(6)));
        assert_eq!(index.record_on_line(1), Some(1));
        assert_eq!(index.record_on_line(2), None);
    }

    #[test]
    fn a_line_base_adds_the_line_offset_and_unknown_places_stay_unknown() {
        let line = "{\"x\":1}";
        let base = Base::of(line, 100);
        let mut index = SpanIndex::default();
        index.note(1, &At::line(3, line), &base, None);
        index.note(2, &At::line_only(Some(4)), &base, None);
        index.note(3, &At::line(5, "elsewhere"), &base, None);
        let one = index.location("f", 1).unwrap();
        assert_eq!(
            (one.line, one.column, one.offset, one.length),
            (3, 1, 100, 7)
        );
        assert_eq!(index.location("f", 2), None);
        assert_eq!(index.location("f", 3), None);
        assert_eq!(index.location("f", 4), None);
        assert_eq!(index.record_on_line(4), Some(2));
        assert_eq!(index.record_on_line(5), Some(3));
    }
}
