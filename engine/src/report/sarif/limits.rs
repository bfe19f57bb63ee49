//! GitHub code scanning's limits on a SARIF upload, and the measure of a rendered log against
//! them. What does not fit is left out, least severe first, and said so in the run.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Results GitHub code scanning takes per run.
pub const MAX_RESULTS: usize = 25_000;
/// Locations GitHub code scanning takes per result.
pub const MAX_LOCATIONS: usize = 1_000;
/// GitHub code scanning's limit on an upload, gzipped: 10 MB.
pub const MAX_GZIP_BYTES: usize = 10_000_000;
/// What the report allows itself of [`MAX_GZIP_BYTES`]: the uploader compresses with its own
/// deflate, whose output can differ a little from ours.
pub(super) const GZIP_BUDGET: usize = MAX_GZIP_BYTES / 100 * 95;

/// The gzipped size of `text` when it may be over `budget`; `None` when it fits. Text no longer
/// than the budget fits without measuring (gzip never grows it by more than a few bytes on
/// this kind of text, which is far from random).
pub(super) fn gzip_excess(text: &str, budget: usize) -> Option<usize> {
    if text.len() <= budget {
        return None;
    }
    let size = gzipped_len(text);
    (size > budget).then_some(size)
}

/// The size of `text` gzipped at the default level (what GitHub's uploader uses).
pub(super) fn gzipped_len(text: &str) -> usize {
    let mut counter = GzEncoder::new(ByteCounter(0), Compression::default());
    // Writing into a counter cannot fail; were it to, the length so far is a lower bound and
    // the caller still shrinks by it.
    let _ = counter.write_all(text.as_bytes());
    counter.finish().map_or(0, |c| c.0)
}

/// How many of `kept` results to try next when the log gzips to `size` against `budget`: in
/// proportion, with a tenth to spare, and always fewer.
pub(super) fn shrink(kept: usize, size: usize, budget: usize) -> usize {
    let ratio = budget as f64 / size.max(1) as f64 * 0.9;
    let next = (kept as f64 * ratio) as usize;
    next.min(kept.saturating_sub(1))
}

/// Counts bytes written, keeps none.
struct ByteCounter(usize);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_measured_only_past_the_budget() {
        let text = "a".repeat(1_000);
        assert_eq!(gzip_excess(&text, 1_000), None);
        // 1,000 repeated bytes gzip to a few dozen: over 999 raw, under it gzipped.
        assert_eq!(gzip_excess(&text, 999), None);
        let size = gzipped_len(&text);
        assert!(size > 20 && size < 60, "{size}");
        assert_eq!(gzip_excess(&text, 10), Some(size));
    }

    #[test]
    fn shrinking_always_drops_at_least_one() {
        assert_eq!(shrink(100, 200, 100), 45);
        assert_eq!(shrink(100, 101, 100), 89);
        assert_eq!(shrink(1, 101, 100), 0);
        assert_eq!(shrink(0, 101, 100), 0);
    }
}
