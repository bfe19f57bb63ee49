//! tracewarden's own normalized events as input: one JSON event per line, as `tracewarden
//! normalize` prints them. Each event keeps its original source reference.

use super::{Record, for_each_line};
use crate::event::Event;

/// Reads JSON lines of events.
pub(super) fn read(
    text: &str,
    sink: &mut impl FnMut(u64, Option<u64>, Record),
) -> Result<(), String> {
    let mut index = 0;
    for_each_line(text, |line_no, line| {
        index += 1;
        let record = match serde_json::from_str::<Event>(line) {
            Ok(e) => Record::Event(Box::new(e)),
            Err(e) => Record::Malformed(format!("not a tracewarden event: {e}")),
        };
        sink(index, Some(line_no), record);
    });
    Ok(())
}
