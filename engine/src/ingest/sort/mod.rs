//! Time order across inputs with bounded memory: events are encoded ([`codec`]) into a run held in
//! memory; a run that reaches its budget of bytes is sorted and written to an anonymous temporary
//! file; at the end the runs are merged (k-way, by log time, then read order), so a directory
//! larger than memory streams.
//!
//! A run keeps events as their encoded bytes (about a third of an [`Event`]'s size in memory) in
//! blocks of [`BLOCK_BYTES`], and an index entry per event: its key and where its bytes are.
//! The budget counts both, so runs hold more small events than large ones. Sorting moves index
//! entries only; a spill writes each record once, in order, as a length and its bytes. Merging
//! decodes one record per run at a time and reads each spilled run through a buffer of
//! [`READ_BUFFER_BYTES`].

mod codec;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};

use super::correlate::{Key, Pending};
use crate::bytes::read_record;
use crate::event::Event;

/// Bytes of one block of a run in memory. A record larger than a block gets a block of its own.
pub(super) const BLOCK_BYTES: usize = 1 << 20;

/// The read buffer of each spilled run while the runs are merged.
pub(super) const READ_BUFFER_BYTES: usize = 64 << 10;

/// What the runs hold, as their errors name it.
const EVENTS: &str = "events";

/// Where a record of the run in memory is, and its key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Key,
    block: u32,
    start: u32,
    len: u32,
}

/// Collects events into sorted runs of at most `budget` bytes, spilling full runs to disk.
pub(super) struct Sorter {
    budget: usize,
    /// Encoded records, appended in blocks; emptied, not freed, by a spill.
    blocks: Vec<Vec<u8>>,
    /// Blocks in use: the rest are kept from an earlier run, empty.
    used: usize,
    index: Vec<Entry>,
    /// Bytes of the run held: its records and its index.
    held: usize,
    scratch: Vec<u8>,
    runs: Vec<File>,
}

impl Sorter {
    /// A sorter whose run in memory holds at most `budget` bytes (records and index; one record
    /// may go past it).
    pub(super) fn new(budget: usize) -> Self {
        Sorter {
            budget: budget.max(1),
            blocks: Vec::new(),
            used: 0,
            index: Vec::new(),
            held: 0,
            scratch: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Adds an event at `key`, read from input `input`; spills the run when it is full.
    pub(super) fn push(&mut self, key: Key, input: u32, event: &Event) -> std::io::Result<()> {
        self.scratch.clear();
        codec::encode(key, input, event, &mut self.scratch);
        let len = self.scratch.len();
        let fits = self
            .used
            .checked_sub(1)
            .and_then(|last| self.blocks.get(last))
            .is_some_and(|b| b.capacity() - b.len() >= len);
        if !fits {
            if self.blocks.len() <= self.used {
                self.blocks.push(Vec::with_capacity(BLOCK_BYTES.max(len)));
            }
            self.used += 1;
        }
        let block_no = self.used - 1;
        let block = self
            .blocks
            .get_mut(block_no)
            .ok_or_else(|| std::io::Error::other("sorter block out of range"))?;
        // A block kept from an earlier run may be too small for this record.
        block.reserve(len);
        let start = block.len();
        block.extend_from_slice(&self.scratch);
        let narrow = |n: usize| {
            u32::try_from(n).map_err(|_| std::io::Error::other("an event larger than 4 GiB"))
        };
        self.index.push(Entry {
            key,
            block: narrow(block_no)?,
            start: narrow(start)?,
            len: narrow(len)?,
        });
        self.held += len + std::mem::size_of::<Entry>();
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

    fn spill(&mut self) -> std::io::Result<()> {
        self.index.sort_unstable_by_key(|e| e.key);
        let mut file = tempfile::tempfile()?;
        {
            let mut w = BufWriter::with_capacity(READ_BUFFER_BYTES, &mut file);
            for e in &self.index {
                crate::bytes::write_record(&mut w, record(&self.blocks, e)?)?;
            }
            w.flush()?;
        }
        file.rewind()?;
        self.runs.push(file);
        self.index.clear();
        for b in &mut self.blocks {
            b.clear();
        }
        self.used = 0;
        self.held = 0;
        Ok(())
    }
}

/// The bytes of `e`'s record.
fn record<'a>(blocks: &'a [Vec<u8>], e: &Entry) -> std::io::Result<&'a [u8]> {
    let start = e.start as usize;
    blocks
        .get(e.block as usize)
        .and_then(|b| b.get(start..start + e.len as usize))
        .ok_or_else(|| std::io::Error::other("sorter entry out of range"))
}

/// The merged, ordered stream of what several sorters were given (their keys unique).
///
/// When any run went to disk, the input was larger than the runs' memory: the runs still in
/// memory are written out too before merging, so that the merge, which lasts the rest of the scan,
/// holds a read buffer per run instead of up to the whole budget. A run that cannot be written
/// is merged from memory, as when nothing spilled.
pub(super) fn merge(sorters: Vec<Sorter>) -> Merged {
    let spilled = sorters.iter().any(|s| !s.runs.is_empty());
    let mut sources = Vec::new();
    for mut s in sorters {
        if spilled && !s.index.is_empty() {
            // On an error the run is left as it was (sorted, not in `runs`), and merged from
            // memory below.
            s.spill().ok();
        }
        sources.extend(
            s.runs
                .drain(..)
                .map(|f| RunSource::Disk(BufReader::with_capacity(READ_BUFFER_BYTES, f))),
        );
        if !s.index.is_empty() {
            s.index.sort_unstable_by_key(|e| e.key);
            s.blocks.truncate(s.used);
            sources.push(RunSource::Memory {
                blocks: s.blocks,
                index: s.index.into_iter(),
            });
        }
    }
    let mut merged = Merged {
        heads: (0..sources.len()).map(|_| None).collect(),
        sources,
        heap: BinaryHeap::new(),
        scratch: Vec::new(),
        names: Vec::new(),
        error: None,
    };
    for i in 0..merged.sources.len() {
        merged.advance(i);
    }
    merged
}

enum RunSource {
    Memory {
        blocks: Vec<Vec<u8>>,
        index: std::vec::IntoIter<Entry>,
    },
    Disk(BufReader<File>),
}

/// The k-way merge of sorted runs.
pub(super) struct Merged {
    sources: Vec<RunSource>,
    heads: Vec<Option<Pending>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
    scratch: Vec<u8>,
    /// Per input, the name its events' `source.file` shares: a decoded event gets its own copy
    /// of every string, and one path per event would undo the sharing the readers did.
    names: Vec<Option<crate::event::SmolStr>>,
    /// A spill file that could not be read back (reported by the caller).
    pub error: Option<std::io::Error>,
}

impl Merged {
    #[cfg(test)]
    fn memory_runs(&self) -> usize {
        self.sources
            .iter()
            .filter(|s| matches!(s, RunSource::Memory { .. }))
            .count()
    }

    fn advance(&mut self, i: usize) {
        let next = match self.sources.get_mut(i) {
            Some(RunSource::Memory { blocks, index }) => index.next().map(|e| {
                record(blocks, &e).and_then(|bytes| codec::decode(bytes).map_err(|d| d.of(EVENTS)))
            }),
            Some(RunSource::Disk(r)) => {
                read_record(r, &mut self.scratch, EVENTS)
                    .transpose()
                    .map(|read| {
                        read.and_then(|()| codec::decode(&self.scratch).map_err(|d| d.of(EVENTS)))
                    })
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

impl Merged {
    /// Gives `p` its input's shared name, when it names its input as the input's other events.
    fn share_name(&mut self, p: &mut Pending) {
        let input = p.input as usize;
        if self.names.len() <= input {
            self.names.resize(input + 1, None);
        }
        let Some(slot) = self.names.get_mut(input) else {
            return;
        };
        match slot {
            Some(name) if *name == p.event.source.file => p.event.source.file = name.clone(),
            Some(_) => {}
            None => *slot = Some(p.event.source.file.clone()),
        }
    }
}

impl Iterator for Merged {
    type Item = Pending;

    fn next(&mut self) -> Option<Pending> {
        let Reverse((_, i)) = self.heap.pop()?;
        let mut p = self.heads.get_mut(i)?.take();
        self.advance(i);
        if let Some(p) = &mut p {
            self.share_name(p);
        }
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
        let mut bytes = Vec::new();
        codec::encode((5, 0, 1, 0), 0, &event(5, 1), &mut bytes);
        bytes.len() + std::mem::size_of::<Entry>()
    }

    #[test]
    fn spilled_runs_merge_in_time_then_read_order() {
        let mut s = Sorter::new(3 * held());
        for (t, seq) in [(5, 1), (1, 2), (5, 3), (2, 4), (1, 5), (9, 6), (0, 7)] {
            s.push((t, 0, seq, 0), 0, &event(t, seq)).unwrap();
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
        a.push((2, 0, 1, 0), 0, &event(2, 1)).unwrap();
        b.push((1, 1, 1, 0), 1, &event(1, 2)).unwrap();
        let merged = merge(vec![a, b]);
        assert_eq!(merged.memory_runs(), 2);
        let order: Vec<String> = merged.map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e2", "e1"]);
    }

    #[test]
    fn runs_of_several_sorters_merge_by_input_then_record() {
        // Two workers: input 0 and input 2 on one, input 1 on the other; equal times.
        let mut a = Sorter::new(2 * held());
        let mut b = Sorter::new(usize::MAX);
        for (input, seq) in [(0u32, 1u64), (0, 2), (2, 1), (0, 3)] {
            a.push((7, input, seq, 0), input, &event(7, seq)).unwrap();
        }
        b.push((7, 1, 1, 0), 1, &event(7, 1)).unwrap();
        b.push((3, 1, 2, 0), 1, &event(3, 2)).unwrap();
        let order: Vec<(u32, u64)> = merge(vec![a, b]).map(|p| (p.key.1, p.key.2)).collect();
        assert_eq!(order, [(1, 2), (0, 1), (0, 2), (0, 3), (1, 1), (2, 1)]);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut s = Sorter::new(1);
        s.push((1, 0, 1, 0), 0, &event(1, 1)).unwrap();
        s.push((2, 0, 2, 0), 0, &event(2, 2)).unwrap();
        let run = s.runs.first_mut().unwrap();
        run.set_len(5).unwrap();
        let mut merged = merge(vec![s]);
        let order: Vec<String> = merged.by_ref().map(|p| p.event.id.to_string()).collect();
        assert_eq!(order, ["e2"]);
        assert!(merged.error.is_some());
    }
}
