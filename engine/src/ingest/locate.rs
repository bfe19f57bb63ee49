//! Where each record is in its input: the line, column, byte offset and length of every record,
//! kept per input so that evidence can point at its record — a CloudTrail file of 5,000 records
//! on one line included — and `tracewarden show FILE#RECORD` can print it.
//!
//! Readers say where a record is with an [`At`]: its line and column when they count them, and
//! its text as a slice of what they were given. The ingest driver turns the slice into a byte
//! offset (the slice's address within the document, or within the current line plus the line's
//! offset in the file) and keeps one [`Span`] per record in a [`SpanIndex`]: 32 bytes a record.
//!
//! Places are the one cost of reading that grows with the input (10 GB of CloudTrail: 11M
//! records, ~350 MB), so they are held in memory only up to a budget shared by every input of a
//! read ([`PlaceSpill`]): past it, the places of inputs read to their end, and all but the latest
//! of a large input, go to a temporary file, from which the few the report looks up are read
//! back.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Bytes of one place, in memory and on disk.
const SPAN_BYTES: usize = 32;

/// Places a large input moves to disk at a time; as many are always kept in memory, so a record
/// seen again (one record, several events) is still in memory when its time is noted.
const BLOCK: usize = 1 << 16;

impl Span {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.time_ns.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.line.to_le_bytes());
        out.extend_from_slice(&self.column.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
    }

    fn decode(b: &[u8; SPAN_BYTES]) -> Option<Span> {
        let (offset, rest) = b.split_first_chunk::<8>()?;
        let (time_ns, rest) = rest.split_first_chunk::<8>()?;
        let (length, rest) = rest.split_first_chunk::<4>()?;
        let (line, rest) = rest.split_first_chunk::<4>()?;
        let (column, _) = rest.split_first_chunk::<4>()?;
        Some(Span {
            offset: u64::from_le_bytes(*offset),
            time_ns: i64::from_le_bytes(*time_ns),
            length: u32::from_le_bytes(*length),
            line: u32::from_le_bytes(*line),
            column: u32::from_le_bytes(*column),
        })
    }
}

/// The places of one read's inputs held in memory, against a budget; past it, places go to one
/// temporary file shared by the inputs.
#[derive(Debug)]
pub(crate) struct PlaceSpill {
    budget: usize,
    /// Bytes of places in memory, all inputs.
    held: AtomicUsize,
    /// The file and its length; `None` until the first spill, or when it could not be made
    /// (places then stay in memory).
    file: Mutex<Option<(std::fs::File, u64)>>,
}

impl PlaceSpill {
    /// A spill that holds up to `budget` bytes of places in memory.
    pub(crate) fn new(budget: usize) -> Arc<PlaceSpill> {
        Arc::new(PlaceSpill {
            budget,
            held: AtomicUsize::new(0),
            file: Mutex::new(None),
        })
    }

    fn over(&self) -> bool {
        self.held.load(Ordering::Relaxed) > self.budget
    }

    /// Appends `spans`; returns where they start, or `None` when they could not be written.
    fn write(&self, spans: &[Span]) -> Option<u64> {
        let mut bytes = Vec::with_capacity(spans.len() * SPAN_BYTES);
        for s in spans {
            s.encode(&mut bytes);
        }
        let mut file = self.file.lock().ok()?;
        if file.is_none() {
            *file = Some((tempfile::tempfile().ok()?, 0));
        }
        let (f, len) = file.as_mut()?;
        let at = *len;
        f.seek(SeekFrom::Start(at)).ok()?;
        f.write_all(&bytes).ok()?;
        *len += bytes.len() as u64;
        Some(at)
    }

    fn read(&self, at: u64) -> Option<Span> {
        let mut file = self.file.lock().ok()?;
        let (f, _) = file.as_mut()?;
        let mut b = [0u8; SPAN_BYTES];
        f.seek(SeekFrom::Start(at)).ok()?;
        f.read_exact(&mut b).ok()?;
        Span::decode(&b)
    }
}

/// Places moved to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    /// Byte offset in the spill file.
    at: u64,
    /// Records before it in the input.
    first: usize,
    len: usize,
}

/// The place of every record of one input, by record index. Past the read's budget, older
/// places are on disk ([`PlaceSpill`]) and read back one by one when looked up.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    /// Places on disk, oldest first.
    blocks: Vec<Block>,
    /// Records whose places are on disk.
    on_disk: usize,
    /// The latest places.
    spans: Vec<Span>,
    spill: Option<Arc<PlaceSpill>>,
}

impl PartialEq for SpanIndex {
    /// The same places, wherever they are held.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && (0..self.len()).all(|i| self.get(i) == other.get(i))
    }
}

impl Eq for SpanIndex {}

impl SpanIndex {
    /// An index whose places count against `spill`'s budget.
    pub(crate) fn spilling(spill: Arc<PlaceSpill>) -> SpanIndex {
        SpanIndex {
            spill: Some(spill),
            ..SpanIndex::default()
        }
    }

    /// Notes record `record` (1-based) at `at`, measured against `base`, with the time of the
    /// event it became. A record seen again (one record, several events) keeps its first place.
    pub(super) fn note(&mut self, record: u64, at: &At<'_>, base: &Base, time_ns: Option<i64>) {
        let Some(i) = record.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        let Some(i) = i.checked_sub(self.on_disk) else {
            // Seen again long after it was read: its place is kept as first noted.
            return;
        };
        let before = self.spans.len();
        self.note_at(i, at, base, time_ns);
        if let Some(spill) = &self.spill {
            let added = self.spans.len() - before;
            spill.held.fetch_add(added * SPAN_BYTES, Ordering::Relaxed);
            if self.spans.len() >= 2 * BLOCK && spill.over() {
                self.move_to_disk(BLOCK);
            }
        }
    }

    /// The input is read to its end: past the budget, its places go to disk; the memory left
    /// holds only what stays (a vector keeps its capacity: 2,200 inputs of 5,000 records kept
    /// ~350 MB of emptied vectors before this).
    pub(crate) fn seal(&mut self) {
        if self.spill.as_ref().is_some_and(|s| s.over()) {
            self.move_to_disk(self.spans.len());
        }
        self.spans.shrink_to_fit();
    }

    /// Moves the oldest `n` places in memory to disk; keeps them when they cannot be written.
    fn move_to_disk(&mut self, n: usize) {
        let Some(spill) = &self.spill else {
            return;
        };
        let n = n.min(self.spans.len());
        if n == 0 {
            return;
        }
        let Some(at) = self.spans.get(..n).and_then(|oldest| spill.write(oldest)) else {
            return;
        };
        self.blocks.push(Block {
            at,
            first: self.on_disk,
            len: n,
        });
        self.spans.drain(..n);
        self.on_disk += n;
        spill.held.fetch_sub(n * SPAN_BYTES, Ordering::Relaxed);
    }

    /// The place of the record at index `i` (0-based), in memory or on disk.
    fn get(&self, i: usize) -> Option<Span> {
        if let Some(j) = i.checked_sub(self.on_disk) {
            return self.spans.get(j).copied();
        }
        let b = self.blocks.partition_point(|b| b.first + b.len <= i);
        let block = self.blocks.get(b)?;
        let at = block.at + ((i - block.first) * SPAN_BYTES) as u64;
        self.spill.as_ref()?.read(at)
    }

    fn note_at(&mut self, i: usize, at: &At<'_>, base: &Base, time_ns: Option<i64>) {
        if let Some(span) = self.spans.get_mut(i) {
            if span.time_ns == i64::MIN
                && let Some(t) = time_ns
            {
                span.time_ns = t;
            }
            return;
        }
        // Records come in order; a gap (never expected) is filled with unknown places.
        let previous_line = match self.spans.last() {
            Some(s) => s.line,
            None => (self.on_disk.checked_sub(1))
                .and_then(|i| self.get(i))
                .map_or(0, |s| s.line),
        };
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
        self.on_disk + self.spans.len()
    }

    /// Whether no record was noted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some places are held on disk.
    pub fn spilled(&self) -> bool {
        self.on_disk > 0
    }

    /// Where record `record` (1-based) of `file` is, when its place is known.
    pub fn location(&self, file: &str, record: u64) -> Option<Location> {
        let i = usize::try_from(record.checked_sub(1)?).ok()?;
        let span = self.get(i)?;
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
        let t = self.get(i)?.time_ns;
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
        (start..self.len())
            .map_while(|i| self.get(i))
            .take_while(|s| s.line == line)
            .position(|s| u64::from(s.column) == column && s.offset != u64::MAX)
            .map(|i| first + i as u64)
    }

    /// The first record that starts on line `line`: what a `file:line` source names (a record
    /// that shares its line with an earlier one is named `file#record`).
    pub fn record_on_line(&self, line: u64) -> Option<u64> {
        let line = u32::try_from(line).ok()?;
        // Lines do not decrease from record to record: a binary search, on disk as in memory.
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid)?.line < line {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let span = self.get(lo)?;
        (span.line == line).then_some(lo as u64 + 1)
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

    /// A counter that has reached byte `offset` of `text`, found at 1-based `line` and `column`
    /// (what [`LineCounter::at`] said of a slice starting there): another thread counts on from
    /// where this one got to.
    pub(super) fn resume(text: &'a str, offset: usize, line: u64, column: u64) -> Self {
        LineCounter {
            text,
            offset,
            line,
            column: column.saturating_sub(1),
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
        // `memchr`'s vectorised searches: a CloudTrail file is one line of megabytes.
        match memchr::memrchr(b'\n', between.as_bytes()) {
            Some(nl) => {
                self.line += memchr::memchr_iter(b'\n', between.as_bytes()).count() as u64;
                self.column = between.get(nl + 1..).unwrap_or_default().chars().count() as u64;
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

    /// Past the budget, places go to disk a block at a time while an input is read, and whole
    /// when it ends; every lookup gives what it gives in memory.
    #[test]
    fn places_past_the_budget_are_read_back_from_disk_as_they_were() {
        let line = "{\"x\":1}";
        let fill = |index: &mut SpanIndex, n: u64| {
            for r in 1..=n {
                let base = Base::of(line, r * 10);
                // Two records per line, the second one without its text.
                let at = if r % 2 == 1 {
                    At::line(r.div_ceil(2), line)
                } else {
                    At::line_only(Some(r.div_ceil(2)))
                };
                index.note(r, &at, &base, Some(r as i64 * 7));
                // A record seen again keeps its first place.
                index.note(r, &At::line(999, line), &base, Some(0));
            }
        };
        let n = (2 * BLOCK + 10) as u64;
        let mut held = SpanIndex::default();
        fill(&mut held, n);
        let spill = PlaceSpill::new(0);
        let mut spilled = SpanIndex::spilling(spill.clone());
        fill(&mut spilled, n);
        assert!(spilled.spilled());
        assert_eq!(spilled.blocks.len(), 1);
        spilled.seal();
        assert_eq!(spilled.blocks.len(), 2);
        assert_eq!(spilled.spans.len(), 0);
        assert_eq!(spill.held.load(Ordering::Relaxed), 0);
        assert_eq!(spilled.len(), held.len());
        for r in [1, 2, 3, BLOCK as u64, BLOCK as u64 + 1, n - 1, n, n + 1] {
            assert_eq!(
                spilled.location("f", r),
                held.location("f", r),
                "record {r}"
            );
            assert_eq!(spilled.time_ns(r), held.time_ns(r), "record {r}");
        }
        assert_eq!(
            held.location("f", n - 1).map(|l| l.offset),
            Some((n - 1) * 10)
        );
        for l in [1, 2, BLOCK as u64 / 2 + 1, n / 2 + 1, n] {
            assert_eq!(
                spilled.record_on_line(l),
                held.record_on_line(l),
                "line {l}"
            );
            assert_eq!(
                spilled.record_at(l, Some(1)),
                held.record_at(l, Some(1)),
                "line {l}"
            );
        }
        assert_eq!(spilled.record_on_line(3), Some(5));
        assert!(spilled == held);
        // Under the budget, nothing moves.
        let mut kept = SpanIndex::spilling(PlaceSpill::new(usize::MAX));
        fill(&mut kept, n);
        kept.seal();
        assert!(!kept.spilled());
        assert!(kept == held);
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
