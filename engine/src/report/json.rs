//! The JSON reports: one pretty-printed document, or one finding per line (JSON Lines); stable
//! field order, deterministic. Both are written straight to their destination, never held whole
//! in memory: a report of a million findings costs no more than the findings.

use std::io::{self, Write};

use super::Report;

/// Writes `report` as JSON with a trailing newline.
pub(super) fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// Writes `report`'s findings as JSON Lines: one compact finding object per line, in report
/// order (the document's `findings` array, item by item).
pub(super) fn write_lines(report: &Report, out: &mut impl Write) -> io::Result<()> {
    for finding in report.findings.iter() {
        serde_json::to_writer(&mut *out, finding?.as_ref())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
