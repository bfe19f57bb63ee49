//! How far a scan is: counters the engine updates as it reads, for a front end to poll (the CLI
//! draws a progress bar from them). The library never draws anything itself.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a running scan, shared with whoever displays them. Updated with relaxed atomics:
/// a reader sees each counter move forward, not a consistent snapshot of all of them.
#[derive(Debug, Default)]
pub struct Progress {
    files_total: AtomicU64,
    files_done: AtomicU64,
    bytes_total: AtomicU64,
    bytes_read: AtomicU64,
    events: AtomicU64,
    released: AtomicU64,
}

/// One reading of [`Progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Input files found (directories expanded).
    pub files_total: u64,
    /// Input files read to their end.
    pub files_done: u64,
    /// Their sizes on disk (compressed, for gzip; standard input counts 0).
    pub bytes_total: u64,
    /// Bytes read from disk so far.
    pub bytes_read: u64,
    /// Events read so far (all inputs are read, into sorted runs, before rules start).
    pub events: u64,
    /// Of those, events passed on in time order (to enrichment and rules).
    pub released: u64,
}

impl Progress {
    /// A reading of every counter.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            files_total: self.files_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_file(&self, bytes: u64) {
        self.files_total.fetch_add(1, Ordering::Relaxed);
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn file_done(&self) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn release(&self) {
        self.released.fetch_add(1, Ordering::Relaxed);
    }
}

/// A reader that counts the bytes it reads into a [`Progress`].
pub(crate) struct Counted<R> {
    pub(crate) inner: R,
    pub(crate) progress: std::sync::Arc<Progress>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.read(n as u64);
        Ok(n)
    }
}
