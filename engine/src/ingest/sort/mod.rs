//! Time order across inputs with bounded memory: events are held, boxed, in a run in memory; a run
//! that reaches its budget of bytes ([`footprint`]) is sorted, encoded ([`codec`]) and written to
//! an anonymous temporary file; at the end the runs are merged (k-way, by log time, then read
//! order), so a directory larger than memory streams.
//!
//! An input that fits in the budget is never encoded: its events go from the readers to the merge
//! as they were read. Sorting moves index entries (a key and a box) only; a spill writes each
//! record once, in order, as a length and its bytes. Merging decodes one record per spilled run at
//! a time and reads each through a buffer of [`READ_BUFFER_BYTES`].

mod codec;
mod footprint;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};

use super::correlate::{Key, Pending};
use crate::bytes::read_record;
use crate::event::{Detail, Event};

/// The read buffer of each spilled run while the runs are merged.
pub(super) const READ_BUFFER_BYTES: usize = 64 << 10;

/// How far ahead of the merge an in-memory run's events are first read (8 and 16 measured alike
/// in the key-inventory bench, 16 a little ahead).
const TOUCH_AHEAD: usize = 16;

/// What the runs hold, as their errors name it.
const EVENTS: &str = "events";

/// Collects events into sorted runs of at most `budget` bytes, spilling full runs to disk.
pub(super) struct Sorter {
    budget: usize,
    /// The run in memory, in the order it was given.
    run: Vec<Pending>,
    /// Bytes of the run held: its events ([`footprint`]) and its entries.
    held: usize,
    scratch: Vec<u8>,
    runs: Vec<File>,
    /// Whether it was given an HTTP request, a DB call, and a DB call whose source records no
    /// item key (an OTel span).
    http: bool,
    db: bool,
    keyless: bool,
}

impl Sorter {
    /// A sorter whose run in memory holds at most `budget` bytes (one event may go past it).
    pub(super) fn new(budget: usize) -> Self {
        Sorter {
            budget: budget.max(1),
            run: Vec::new(),
            held: 0,
            scratch: Vec::new(),
            runs: Vec::new(),
            http: false,
            db: false,
            keyless: false,
        }
    }

    /// Adds an event at `key`, read from input `input`; spills the run when it is full.
    pub(super) fn push(&mut self, key: Key, input: u32, event: Box<Event>) -> std::io::Result<()> {
        self.held += footprint::of(&event) + std::mem::size_of::<Pending>();
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
        self.run.push(Pending { key, input, event });
        if self.held >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk.
    #[cfg(test)]
    pub(super) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Sorts the run in memory, writes it to a temporary file and lets go of its events. On an
    /// error the run is kept (sorted).
    fn spill(&mut self) -> std::io::Result<()> {
        self.run.sort_unstable_by_key(|p| p.key);
        let mut file = tempfile::tempfile()?;
        {
            let mut w = BufWriter::with_capacity(READ_BUFFER_BYTES, &mut file);
            let mut names = codec::NamesOut::default();
            for p in &self.run {
                self.scratch.clear();
                codec::encode(p.key, p.input, &p.event, &mut names, &mut self.scratch);
                crate::bytes::write_record(&mut w, &self.scratch)?;
            }
            w.flush()?;
        }
        file.rewind()?;
        self.runs.push(file);
        // The entries' memory goes too: a run's worth of boxes is what the budget allows.
        self.run = Vec::new();
        self.held = 0;
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
        if spilled && !s.run.is_empty() {
            // On an error the run is left as it was (sorted, not in `runs`), and merged from
            // memory below.
            s.spill().ok();
        }
        sources.extend(s.runs.drain(..).map(|f| {
            RunSource::Disk(
                BufReader::with_capacity(READ_BUFFER_BYTES, f),
                codec::NamesIn::default(),
            )
        }));
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
    /// A spilled run, and the names its records read so far.
    Disk(BufReader<File>, codec::NamesIn),
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
            Some(RunSource::Disk(r, names)) => read_record(r, &mut self.scratch, EVENTS)
                .transpose()
                .map(|read| {
                    read.and_then(|()| {
                        codec::decode(&self.scratch, names).map_err(|d| d.of(EVENTS))
                    })
                }),
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
        assert_eq!(s.spilled_runs(), 2);
        let merged = merge(vec![s]);
        // The run left in memory (e7) was written out too: the merge holds no run in memory.
        assert_eq!(merged.memory_runs(), 0);
        assert_eq!(merged.sources.len(), 3);
        let order: Vec<String> = merged.map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e7", "e2", "e5", "e4", "e1", "e3", "e6"]);
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
