//! Time order across inputs with bounded memory: events are held, boxed, in a run in memory; a run
//! that reaches its budget of bytes ([`footprint`]) is sorted, encoded ([`codec`]) and written to
//! an anonymous temporary file; at the end the runs are merged (k-way, by log time, then read
//! order), so a directory larger than memory streams.
//!
//! An input that fits in the budget is never encoded: its events go from the readers to the merge
//! as they were read. Once a sorter has spilled, the rest of what it is given will spill too, so
//! it encodes each event as it comes (while the reader has just touched it) and holds the run as
//! bytes, several times more events in the same budget. A spilled run is its names' table, then
//! its records in key order, each a length and its bytes. Merging decodes one record per spilled
//! run at a time and reads each through a buffer of [`READ_BUFFER_BYTES`].

mod codec;
mod footprint;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Cursor, Seek, Write};

use super::correlate::{Key, Pending};
use crate::bytes::{read_record, write_record};
use crate::event::{Detail, Event};

/// The read buffer of each spilled run while the runs are merged.
pub(super) const READ_BUFFER_BYTES: usize = 64 << 10;

/// How far ahead of the merge an in-memory run's events are first read (8 and 16 measured alike
/// in the key-inventory bench, 16 a little ahead).
const TOUCH_AHEAD: usize = 16;

/// What the runs hold, as their errors name it.
const EVENTS: &str = "events";

/// Most bytes an encoded run reserves at once: its buffer grows past it as it must.
const RESERVE_BYTES: usize = 64 << 20;

/// Collects events into sorted runs of at most `budget` bytes, spilling full runs to disk.
pub(super) struct Sorter {
    budget: usize,
    /// The run in memory while nothing spilled, boxed as the readers made them, in the order
    /// it was given.
    run: Vec<Pending>,
    /// Once a run spilled: the run in memory, each event encoded as it came.
    encoded: Option<Encoded>,
    /// Bytes the boxed run holds: its events ([`footprint`]) and its entries.
    held: usize,
    runs: Vec<File>,
    /// Whether it was given an HTTP request, a DB call, and a DB call whose source records no
    /// item key (an OTel span).
    http: bool,
    db: bool,
    keyless: bool,
}

/// A run encoded as its events came: the records back to back in that order, each one's key and
/// place, and the names they number. Written in key order when it spills.
#[derive(Default)]
struct Encoded {
    bytes: Vec<u8>,
    entries: Vec<(Key, usize, usize)>,
    names: codec::NamesOut,
    table: Vec<u8>,
}

impl Encoded {
    /// Encodes the event at `key`.
    fn push(&mut self, key: Key, input: u32, event: &Event) {
        let start = self.bytes.len();
        codec::encode(key, input, event, &mut self.names, &mut self.bytes);
        self.entries.push((key, start, self.bytes.len()));
    }

    /// Bytes the run holds: its records, their entries and its names.
    fn held(&self) -> usize {
        self.bytes.len()
            + self.entries.len() * std::mem::size_of::<(Key, usize, usize)>()
            + self.names.held()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the run: its names' table, then its records in key order.
    fn write(&mut self, w: &mut impl Write) -> std::io::Result<()> {
        // Keys are unique: the order is the same whatever the sort.
        self.entries.sort_unstable_by_key(|&(key, ..)| key);
        self.table.clear();
        self.names.table(&mut self.table);
        write_record(w, &self.table)?;
        for &(_, start, end) in &self.entries {
            write_record(w, self.bytes.get(start..end).unwrap_or_default())?;
        }
        Ok(())
    }

    /// Forgets the run written, keeping the memory for the next.
    fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
        self.names.clear();
    }
}

impl Sorter {
    /// A sorter whose run in memory holds at most `budget` bytes (one event may go past it).
    pub(super) fn new(budget: usize) -> Self {
        Sorter {
            budget: budget.max(1),
            run: Vec::new(),
            encoded: None,
            held: 0,
            runs: Vec::new(),
            http: false,
            db: false,
            keyless: false,
        }
    }

    /// Adds an event at `key`, read from input `input`; spills the run when it is full.
    pub(super) fn push(&mut self, key: Key, input: u32, event: Box<Event>) -> std::io::Result<()> {
        match event.detail {
            Detail::Http(_) => self.http = true,
            Detail::DbOperation(_) => {
                self.db = true;
                self.keyless |= event
                    .attributes
                    .contains_key(crate::ingest::correlate::KEY_UNKNOWN);
            }
            _ => {}
        }
        let held = match &mut self.encoded {
            Some(encoded) => {
                encoded.push(key, input, &event);
                // Freed while the reader has just touched it, not when the run spills.
                drop(event);
                encoded.held()
            }
            None => {
                self.held += footprint::of(&event) + std::mem::size_of::<Pending>();
                self.run.push(Pending { key, input, event });
                self.held
            }
        };
        if held >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk.
    #[cfg(test)]
    pub(super) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Whether a run is held in memory.
    fn holds(&self) -> bool {
        !self.run.is_empty() || self.encoded.as_ref().is_some_and(|e| !e.is_empty())
    }

    /// Writes the run in memory to a temporary file, in key order, and lets go of it; from the
    /// first spill on, the sorter encodes events as they come. On an error the run is kept: boxed
    /// when no file could be made, else encoded.
    fn spill(&mut self) -> std::io::Result<()> {
        let mut file = tempfile::tempfile()?;
        let budget = self.budget;
        let encoded = self.encoded.get_or_insert_with(|| Encoded {
            bytes: Vec::with_capacity(budget.min(RESERVE_BYTES)),
            ..Encoded::default()
        });
        for p in self.run.drain(..) {
            encoded.push(p.key, p.input, &p.event);
        }
        // The entries' memory goes too: a run's worth of boxes is what the budget allows.
        self.run = Vec::new();
        self.held = 0;
        {
            let mut w = BufWriter::with_capacity(READ_BUFFER_BYTES, &mut file);
            encoded.write(&mut w)?;
            w.flush()?;
        }
        encoded.clear();
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }
}

/// The merged, ordered stream of what several sorters were given (their keys unique).
///
/// When any run went to disk, the input was larger than the runs' memory: the runs still in
/// memory are written out too before merging, so that the merge, which lasts the rest of the scan,
/// holds a read buffer per run instead of up to the whole budget. A run that cannot be written
/// is merged from memory, as when nothing spilled.
pub(super) fn merge(sorters: Vec<Sorter>) -> Merged {
    let spilled = sorters.iter().any(|s| !s.runs.is_empty());
    let linkable = sorters.iter().any(|s| s.http) && sorters.iter().any(|s| s.db);
    let keyless = sorters.iter().any(|s| s.keyless);
    let mut sources = Vec::new();
    for mut s in sorters {
        if spilled && s.holds() {
            // On an error the run is left in memory (boxed or encoded, not in `runs`), and
            // merged from there below.
            s.spill().ok();
        }
        sources.extend(s.runs.drain(..).map(|f| RunSource::Spilled {
            reader: Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, f)),
            names: None,
        }));
        if let Some(encoded) = s.encoded.as_mut().filter(|e| !e.is_empty()) {
            let mut bytes = Vec::new();
            // Writing to a `Vec` cannot fail.
            encoded.write(&mut bytes).ok();
            sources.push(RunSource::Spilled {
                reader: Box::new(Cursor::new(bytes)),
                names: None,
            });
        }
        if !s.run.is_empty() {
            s.run.sort_unstable_by_key(|p| p.key);
            sources.push(RunSource::Memory(s.run.into_iter()));
        }
    }
    let mut merged = Merged {
        heads: (0..sources.len()).map(|_| None).collect(),
        sources,
        heap: BinaryHeap::new(),
        scratch: Vec::new(),
        error: None,
        linkable,
        keyless,
    };
    for i in 0..merged.sources.len() {
        merged.advance(i);
    }
    merged
}

enum RunSource {
    Memory(std::vec::IntoIter<Pending>),
    /// A spilled run (or one that could not be, written into memory), and its names once its
    /// table was read.
    Spilled {
        reader: Box<dyn BufRead + Send>,
        names: Option<codec::NamesIn>,
    },
}

/// A spilled run's first record: its names' table.
fn read_table(reader: &mut impl BufRead, scratch: &mut Vec<u8>) -> std::io::Result<codec::NamesIn> {
    match read_record(reader, scratch, EVENTS)? {
        Some(()) => codec::NamesIn::read(scratch).map_err(|d| d.of(EVENTS)),
        None => Err(crate::bytes::Damaged("a run without its names").of(EVENTS)),
    }
}

/// The k-way merge of sorted runs.
pub(super) struct Merged {
    sources: Vec<RunSource>,
    heads: Vec<Option<Pending>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
    scratch: Vec<u8>,
    /// A spill file that could not be read back (reported by the caller).
    pub error: Option<std::io::Error>,
    /// Whether the stream holds both HTTP requests and DB calls, so that one may link to another.
    pub linkable: bool,
    /// Whether it holds a DB call without item keys, which merges into the keyed calls it
    /// covers.
    pub keyless: bool,
}

impl Merged {
    #[cfg(test)]
    fn memory_runs(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| matches!(s, RunSource::Memory(_)))
            .count()
    }

    fn advance(&mut self, i: usize) {
        let next = match self.sources.get_mut(i) {
            Some(RunSource::Memory(run)) => {
                // A run in memory is read in key order, which is not the order its events were
                // made in (an inventory's keys are not in time order): the stream's first touch
                // of each event was a cache miss after the last one. Reading the event
                // `TOUCH_AHEAD` places ahead (where its id is: not the id's text, a second miss
                // that only waits on the first) starts its miss while the ones before it are
                // handled. Safe code has no prefetch instruction; this read is its stand-in.
                if let Some(ahead) = run.as_slice().get(TOUCH_AHEAD) {
                    std::hint::black_box(ahead.event.id.as_bytes().first());
                }
                run.next().map(Ok)
            }
            Some(RunSource::Spilled { reader, names }) => {
                let names = match names {
                    Some(names) => Ok(&*names),
                    None => read_table(reader, &mut self.scratch).map(|t| &*names.insert(t)),
                };
                match names {
                    Ok(names) => read_record(reader, &mut self.scratch, EVENTS)
                        .transpose()
                        .map(|read| {
                            read.and_then(|()| {
                                codec::decode(&self.scratch, names).map_err(|d| d.of(EVENTS))
                            })
                        }),
                    Err(e) => Some(Err(e)),
                }
            }
            None => None,
        };
        match next {
            Some(Ok(p)) => {
                self.heap.push(Reverse((p.key, i)));
                if let Some(slot) = self.heads.get_mut(i) {
                    *slot = Some(p);
                }
            }
            Some(Err(e)) => self.error = Some(e),
            None => {}
        }
    }
}

impl Iterator for Merged {
    type Item = Pending;

    fn next(&mut self) -> Option<Pending> {
        let Reverse((_, i)) = self.heap.pop()?;
        let p = self.heads.get_mut(i)?.take();
        self.advance(i);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Detail, Http, Outcome, SourceRef};

    fn event(time: i64, seq: u64) -> Event {
        Event {
            facts: Default::default(),
            id: format!("e{seq}").into(),
            time_ns: time,
            precision_ns: 1,
            source: SourceRef {
                file: "f".into(),
                record: seq,
                line: None,
                format: "events".into(),
            },
            actor: Default::default(),
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail: Detail::Http(Http::default()),
            attributes: Default::default(),
        }
    }

    /// The bytes one test event holds in a run.
    fn held() -> usize {
        footprint::of(&event(5, 1)) + std::mem::size_of::<Pending>()
    }

    #[test]
    fn spilled_runs_merge_in_time_then_read_order() {
        let mut s = Sorter::new(3 * held());
        for (t, seq) in [(5, 1), (1, 2), (5, 3), (2, 4), (1, 5), (9, 6), (0, 7)] {
            s.push((t, 0, seq, 0), 0, Box::new(event(t, seq))).unwrap();
        }
        // The first three boxed; the rest encoded as they came, far smaller, so one run.
        assert_eq!(s.spilled_runs(), 1);
        assert_eq!(s.encoded.as_ref().map(|e| e.entries.len()), Some(4));
        let merged = merge(vec![s]);
        // The run left in memory was written out too: the merge holds no run in memory.
        assert_eq!(merged.memory_runs(), 0);
        assert_eq!(merged.sources.len(), 2);
        let order: Vec<String> = merged.map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e7", "e2", "e5", "e4", "e1", "e3", "e6"]);
    }

    /// Events encoded as they come, in runs that each spill in key order, read back whole in
    /// time order whatever order they came in; names first met in a later record of a run
    /// than the one read first.
    #[test]
    fn runs_encoded_as_events_come_read_back_in_key_order() {
        let mut s = Sorter::new(held());
        let mut given = Vec::new();
        for seq in 0..200u64 {
            // Times out of order (an inventory's keys), principals that repeat.
            let t = ((seq * 37) % 101) as i64;
            let mut e = event(t, seq);
            e.actor.principal = format!("arn:aws:iam::111122223333:user/u{}", seq % 7).into();
            given.push(e.clone());
            s.push((t, 0, seq, 0), 0, Box::new(e)).unwrap();
        }
        assert!(s.spilled_runs() > 5, "{} runs", s.spilled_runs());
        let merged = merge(vec![s]);
        assert_eq!(merged.memory_runs(), 0);
        let read: Vec<Event> = merged.map(|p| *p.event).collect();
        given.sort_by_key(|e| (e.time_ns, e.source.record));
        assert_eq!(read, given);
    }

    /// A run that cannot be written out when the merge starts is merged from memory, encoded.
    #[test]
    fn an_encoded_run_is_merged_from_memory_when_it_cannot_be_written() {
        let mut s = Sorter::new(held());
        for seq in [3u64, 1, 2] {
            s.push((seq as i64, 0, seq, 0), 0, Box::new(event(seq as i64, seq)))
                .unwrap();
        }
        assert_eq!(s.spilled_runs(), 1);
        // As the merge does when its spill fails: the encoded run stays in memory.
        let runs = std::mem::take(&mut s.runs);
        let mut merged = merge(vec![s]);
        assert_eq!(merged.sources.len(), 1);
        let order: Vec<String> = merged.by_ref().map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e1", "e2"]);
        assert!(merged.error.is_none());
        drop(runs);
    }

    #[test]
    fn runs_that_fit_in_memory_are_merged_from_memory() {
        let mut a = Sorter::new(usize::MAX);
        let mut b = Sorter::new(usize::MAX);
        a.push((2, 0, 1, 0), 0, Box::new(event(2, 1))).unwrap();
        b.push((1, 1, 1, 0), 1, Box::new(event(1, 2))).unwrap();
        let merged = merge(vec![a, b]);
        assert_eq!(merged.memory_runs(), 2);
        let order: Vec<String> = merged.map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e2", "e1"]);
    }

    #[test]
    fn a_stream_can_link_when_its_sorters_saw_a_request_and_a_db_call() {
        let db = |t, seq| {
            let mut e = event(t, seq);
            e.detail = Detail::DbOperation(Default::default());
            Box::new(e)
        };
        let sorters = |http_too: bool| {
            let (mut a, mut b) = (Sorter::new(usize::MAX), Sorter::new(usize::MAX));
            a.push((1, 0, 1, 0), 0, db(1, 1)).unwrap();
            b.push((2, 1, 1, 0), 1, db(2, 2)).unwrap();
            if http_too {
                b.push((3, 1, 2, 0), 1, Box::new(event(3, 3))).unwrap();
            }
            vec![a, b]
        };
        assert!(!merge(sorters(false)).linkable, "DB calls alone");
        assert!(
            merge(sorters(true)).linkable,
            "a request in one input, calls in another"
        );
        let mut http = Sorter::new(usize::MAX);
        http.push((1, 0, 1, 0), 0, Box::new(event(1, 1))).unwrap();
        assert!(!merge(vec![http]).linkable, "requests alone");
        assert!(!merge(sorters(true)).keyless, "keyed DB calls only");
        let (mut a, b) = (Sorter::new(usize::MAX), Sorter::new(usize::MAX));
        let mut span = db(4, 4);
        span.attributes
            .insert(crate::ingest::correlate::KEY_UNKNOWN.into(), "true".into());
        a.push((4, 0, 4, 0), 0, span).unwrap();
        assert!(merge(vec![b, a]).keyless, "a span without item keys");
    }

    #[test]
    fn runs_of_several_sorters_merge_by_input_then_record() {
        // Two workers: input 0 and input 2 on one, input 1 on the other; equal times.
        let mut a = Sorter::new(2 * held());
        let mut b = Sorter::new(usize::MAX);
        for (input, seq) in [(0u32, 1u64), (0, 2), (2, 1), (0, 3)] {
            a.push((7, input, seq, 0), input, Box::new(event(7, seq)))
                .unwrap();
        }
        b.push((7, 1, 1, 0), 1, Box::new(event(7, 1))).unwrap();
        b.push((3, 1, 2, 0), 1, Box::new(event(3, 2))).unwrap();
        let order: Vec<(u32, u64)> = merge(vec![a, b]).map(|p| (p.key.1, p.key.2)).collect();
        assert_eq!(order, [(1, 2), (0, 1), (0, 2), (0, 3), (1, 1), (2, 1)]);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut s = Sorter::new(1);
        s.push((1, 0, 1, 0), 0, Box::new(event(1, 1))).unwrap();
        s.push((2, 0, 2, 0), 0, Box::new(event(2, 2))).unwrap();
        let run = s.runs.first_mut().unwrap();
        run.set_len(5).unwrap();
        let mut merged = merge(vec![s]);
        let order: Vec<String> = merged.by_ref().map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e2"]);
        assert!(merged.error.is_some());
    }
}
