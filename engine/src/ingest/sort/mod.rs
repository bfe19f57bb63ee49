//! Time order across inputs with bounded memory: events are collected in sorted runs; a run that
//! reaches the memory budget is written to an anonymous temporary file; at the end the runs are
//! merged (k-way, by log time, then read order), so a directory larger than memory streams.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

use serde::{Deserialize, Serialize};

use super::correlate::{Key, Pending};
use crate::event::Event;

#[derive(Serialize, Deserialize)]
struct Spilled {
    time: i64,
    read: u32,
    seq: u64,
    sub: u32,
    input: u32,
    event: Event,
}

/// Collects events into sorted runs, spilling full runs to disk.
pub(super) struct Sorter {
    budget: usize,
    current: Vec<Pending>,
    runs: Vec<File>,
}

impl Sorter {
    pub(super) fn new(budget: usize) -> Self {
        Sorter {
            budget: budget.max(1),
            current: Vec::new(),
            runs: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, p: Pending) -> std::io::Result<()> {
        self.current.push(p);
        if self.current.len() >= self.budget {
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
        self.current.sort_unstable_by_key(|p| p.key);
        let mut file = tempfile::tempfile()?;
        {
            let mut w = BufWriter::new(&mut file);
            for p in self.current.drain(..) {
                let (time, read, seq, sub) = p.key;
                serde_json::to_writer(
                    &mut w,
                    &Spilled {
                        time,
                        read,
                        seq,
                        sub,
                        input: p.input,
                        event: p.event,
                    },
                )?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
        }
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    /// The merged, ordered stream of everything pushed.
    pub(super) fn into_merged(mut self) -> Merged {
        self.current.sort_unstable_by_key(|p| p.key);
        let mut sources: Vec<RunSource> = self
            .runs
            .into_iter()
            .map(|f| RunSource::Disk(BufReader::new(f)))
            .collect();
        // Reversed so that popping from the end yields the smallest first.
        self.current.reverse();
        sources.push(RunSource::Memory(self.current));
        let mut merged = Merged {
            sources,
            heads: Vec::new(),
            heap: BinaryHeap::new(),
            error: None,
        };
        merged.heads = (0..merged.sources.len()).map(|_| None).collect();
        for i in 0..merged.sources.len() {
            merged.advance(i);
        }
        merged
    }
}

enum RunSource {
    Memory(Vec<Pending>),
    Disk(BufReader<File>),
}

/// The k-way merge of sorted runs.
pub(super) struct Merged {
    sources: Vec<RunSource>,
    heads: Vec<Option<Pending>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
    /// A spill file that could not be read back (reported by the caller).
    pub error: Option<std::io::Error>,
}

impl Merged {
    fn advance(&mut self, i: usize) {
        let next = match self.sources.get_mut(i) {
            Some(RunSource::Memory(v)) => v.pop(),
            Some(RunSource::Disk(r)) => {
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(0) => None,
                    Ok(_) => match serde_json::from_str::<Spilled>(&line) {
                        Ok(s) => Some(Pending {
                            key: (s.time, s.read, s.seq, s.sub),
                            input: s.input,
                            event: s.event,
                        }),
                        Err(e) => {
                            self.error = Some(std::io::Error::other(e));
                            None
                        }
                    },
                    Err(e) => {
                        self.error = Some(e);
                        None
                    }
                }
            }
            None => None,
        };
        if let Some(p) = next {
            self.heap.push(Reverse((p.key, i)));
            if let Some(slot) = self.heads.get_mut(i) {
                *slot = Some(p);
            }
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

    fn pending(time: i64, seq: u64) -> Pending {
        Pending {
            key: (time, 0, seq, 0),
            input: 0,
            event: Event {
                facts: Default::default(),
                id: format!("e{seq}"),
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
            },
        }
    }

    #[test]
    fn spilled_runs_merge_in_time_then_read_order() {
        let mut s = Sorter::new(3);
        for (t, seq) in [(5, 1), (1, 2), (5, 3), (2, 4), (1, 5), (9, 6), (0, 7)] {
            s.push(pending(t, seq)).unwrap();
        }
        assert_eq!(s.spilled_runs(), 2);
        let order: Vec<String> = s.into_merged().map(|p| p.event.id).collect();
        assert_eq!(order, ["e7", "e2", "e5", "e4", "e1", "e3", "e6"]);
    }
}
