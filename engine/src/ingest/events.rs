//! tracewarden's own normalized events as input: one JSON event per line, as `tracewarden
//! normalize` prints them. Each event keeps its original source reference.

use super::{At, Record};
use crate::event::Event;

/// Reads one line of events.
pub(super) fn read_line(
    index: &mut u64,
    line_no: u64,
    line: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    *index += 1;
    let record = match serde_json::from_str::<Event>(line) {
        Ok(e) => Record::Event(Box::new(e)),
        Err(e) => Record::Malformed(format!("not a tracewarden event: {e}")),
    };
    sink(*index, At::line(line_no, line), record);
}

/// Whether the first object of an input is a tracewarden event.
pub(super) fn looks_like(obj: &serde_json::Map<String, serde_json::Value>) -> bool {
    obj.contains_key("time_ns") && obj.contains_key("source")
}
