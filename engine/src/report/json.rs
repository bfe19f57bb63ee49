//! The JSON reports: one pretty-printed document, or one finding per line (JSON Lines); stable
//! field order, deterministic. Both are written straight to their destination, never held whole
//! in memory: a report of a million findings costs no more than the findings.

use std::io::{self, BufWriter, Write};

use super::Report;

/// The buffer a report is serialized into before it reaches its destination.
const BUFFER_BYTES: usize = 64 << 10;

/// Runs `write` into a buffer of a concrete type in front of `out`, then flushes it. serde_json
/// writes token by token: through `&mut dyn Write` each token is a call through the vtable, into
/// a buffer the compiler cannot see (the writer's `write_all` was ~10% of a 400 MB report's
/// writing); into a `BufWriter` it can see, a token is a copy.
pub(super) fn buffered(
    out: &mut dyn Write,
    write: impl FnOnce(&mut BufWriter<&mut dyn Write>) -> io::Result<()>,
) -> io::Result<()> {
    let mut buffer = BufWriter::with_capacity(BUFFER_BYTES, out);
    write(&mut buffer)?;
    buffer.flush()
}

/// Writes `report` as JSON with a trailing newline.
pub(super) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    buffered(out, |out| {
        serde_json::to_writer_pretty(&mut *out, report)?;
        out.write_all(b"\n")
    })
}

/// Writes `report`'s findings as JSON Lines: one compact finding object per line, in report
/// order (the document's `findings` array, item by item).
pub(super) fn write_lines(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    buffered(out, |out| {
        for finding in report.findings.iter() {
            serde_json::to_writer(&mut *out, finding?.as_ref())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}
