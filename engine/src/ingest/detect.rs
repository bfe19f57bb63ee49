//! Format detection by content, from the first bytes of an input: whole JSON documents by their
//! first member (`Records`, `log`, `resourceSpans`, `QueryResultRows`) or a top-level array; JSON
//! lines by asking each format whether it recognizes the first line's object; CSV by its header.
//! A forced format (`--input-format`) still has its layout detected.

use serde_json::{Map, Value};

use super::InputFormat;

/// How an input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// One JSON (or CSV) document, read whole (bounded).
    Document,
    /// One record per line, streamed.
    Lines,
}

/// What was expected when nothing matched.
const EXPECTED: &str = "unrecognized format: expected CloudTrail JSON (`{\"Records\": [...]}`, an array or \
     one record per line, Lake query results), a HAR (`{\"log\": ...}`), OTLP/JSON traces \
     (`{\"resourceSpans\": [...]}`), API Gateway / ALB JSON access logs, a key inventory (JSON or CSV with a \
     `key_id` column), a DynamoDB wire log \
     (JSON lines with `time`, `operation`, `request`) or tracewarden events (JSON lines); use \
     --input-format to say which";

/// How many lines are tried, looking for the first JSON object of a JSON-lines input.
const DETECT_LINES: usize = 64;

/// Detects the format and layout of an input from its first bytes.
pub(super) fn detect(
    prefix: &[u8],
    forced: Option<InputFormat>,
    mappings: &[super::mapping::InputMapping],
) -> Result<(InputFormat, Layout), String> {
    // An invalid UTF-8 byte is its line's error, reported when that line is read: detection reads
    // past it (as U+FFFD), so one bad byte in line 1 does not make the whole file unrecognized.
    let (bad_at, lossy) = match std::str::from_utf8(prefix) {
        Ok(text) => (None, std::borrow::Cow::Borrowed(text)),
        Err(e) => (Some(e.valid_up_to()), String::from_utf8_lossy(prefix)),
    };
    let text = lossy.trim_start();
    // Each fact below is worked out when a check first needs it, and only as far as it needs:
    // a log file whose first member is `Records` is told from its first bytes, without parsing
    // the megabyte of records behind them.
    // The document's top-level members, wherever they stand (exporters put metadata first).
    let outline = std::cell::RefCell::new(Outline::new(text));
    let has = |name: &str| outline.borrow_mut().has(name);
    // The first line holding a JSON object: a JSON-lines input may open with a damaged record.
    // A first line longer than the peek is judged by the members that fit in it.
    let first_line = std::cell::OnceCell::new();
    let first_line = || {
        first_line.get_or_init(|| {
            text.lines()
                .take(DETECT_LINES)
                .find_map(object_line)
                .or_else(|| {
                    (prefix.len() >= super::source::PEEK_BYTES && !text.contains('\n'))
                        .then(|| partial_object(text))
                        .flatten()
                })
        })
    };
    // Whether the very first line is a whole JSON object (JSON lines, not a pretty document).
    let first_line_is_object = std::cell::OnceCell::new();
    let first_line_is_object = || {
        *first_line_is_object.get_or_init(|| text.lines().next().and_then(object_line).is_some())
    };
    let cloudtrail_log = [
        "Records",
        "QueryResultRows",
        "QueryStatus",
        "QueryStatistics",
    ]
    .into_iter()
    .any(&has);
    // One pretty-printed record, as records are shared (`{` alone on the first line).
    let pretty = text.lines().next().is_some_and(|l| l.trim() == "{");
    let cloudtrail_record =
        pretty && has("eventVersion") && (has("eventSource") || has("eventName"));
    let cloudtrail_document = text.starts_with('[') || cloudtrail_log || cloudtrail_record;
    if let Some(format) = forced {
        let layout = match format {
            InputFormat::Har => Layout::Document,
            InputFormat::Otlp if !first_line_is_object() => Layout::Document,
            InputFormat::KeyInventory if !first_line_is_object() => Layout::Document,
            InputFormat::CloudTrail if cloudtrail_document => Layout::Document,
            _ => Layout::Lines,
        };
        return Ok((format, layout));
    }
    if cloudtrail_log || cloudtrail_record {
        return Ok((InputFormat::CloudTrail, Layout::Document));
    }
    // OTLP: compact export requests one per line (the Collector's file exporter), or one
    // pretty-printed document.
    if has("resourceSpans") {
        let layout = if first_line_is_object() {
            Layout::Lines
        } else {
            Layout::Document
        };
        return Ok((InputFormat::Otlp, layout));
    }
    // A key inventory document: `{"keys": [...]}`.
    if has("keys") && !first_line_is_object() {
        return Ok((InputFormat::KeyInventory, Layout::Document));
    }
    // A HAR is one document, usually pretty-printed: its first member is `log`.
    if has("log") {
        return Ok((InputFormat::Har, Layout::Document));
    }
    if let Some(obj) = first_line() {
        if super::cloudtrail::looks_like(obj) {
            return Ok((InputFormat::CloudTrail, Layout::Lines));
        }
        if super::events::looks_like(obj) {
            return Ok((InputFormat::Events, Layout::Lines));
        }
        if super::wire::looks_like(obj, mappings) {
            return Ok((InputFormat::DynamoDbWire, Layout::Lines));
        }
        if super::access_log::looks_like(obj) {
            return Ok((InputFormat::AccessLog, Layout::Lines));
        }
        if super::inventory::looks_like(obj) {
            return Ok((InputFormat::KeyInventory, Layout::Lines));
        }
        if super::otlp::looks_like(obj) {
            return Ok((InputFormat::Otlp, Layout::Lines));
        }
        if super::har::looks_like(obj) {
            return Ok((InputFormat::Har, Layout::Document));
        }
    }
    if text.starts_with('[') {
        let first: Option<Map<String, Value>> = first_array_object(text);
        if first.as_ref().is_some_and(super::cloudtrail::looks_like) {
            return Ok((InputFormat::CloudTrail, Layout::Document));
        }
        if first.as_ref().is_some_and(super::inventory::looks_like) {
            return Ok((InputFormat::KeyInventory, Layout::Document));
        }
    }
    if text
        .lines()
        .next()
        .is_some_and(super::inventory::looks_like_csv)
    {
        return Ok((InputFormat::KeyInventory, Layout::Document));
    }
    match bad_at {
        // The peek may cut a character in two at its end; anything earlier is a real error.
        Some(at) if prefix.len() - at >= 4 || text.is_empty() => {
            Err(format!("invalid UTF-8 at byte {at}: expected JSON text"))
        }
        _ => Err(EXPECTED.to_owned()),
    }
}

/// A line that is one whole JSON object. Only a line ending in `}` can be: others (a record cut
/// short by the peek) are not parsed.
fn object_line(line: &str) -> Option<Map<String, Value>> {
    if !line.trim_end().ends_with('}') {
        return None;
    }
    serde_json::from_str(line).ok()
}

/// The top-level members of a document's first object, read as far as asked: each member is
/// named before its value is skipped, so a check for a member that comes first stops there.
struct Outline<'a> {
    members: super::json_scan::Members<'a>,
    seen: Vec<&'a str>,
}

impl<'a> Outline<'a> {
    fn new(text: &'a str) -> Self {
        Outline {
            members: super::json_scan::Members::new(text),
            seen: Vec::new(),
        }
    }

    /// Whether the object has a member `name` (that fits in the text).
    fn has(&mut self, name: &str) -> bool {
        if self.seen.contains(&name) {
            return true;
        }
        for (member, _) in self.members.by_ref() {
            self.seen.push(member);
            if member == name {
                return true;
            }
        }
        false
    }
}

/// The top-level members of an object cut short by the end of the peek: those whose value fits
/// are parsed, the one cut short is `null`.
fn partial_object(text: &str) -> Option<Map<String, Value>> {
    let members = super::json_scan::members(text);
    if members.is_empty() {
        return None;
    }
    let mut out = Map::new();
    for (name, at) in members {
        let value = text
            .get(at..)
            .and_then(|rest| {
                serde_json::Deserializer::from_str(rest)
                    .into_iter::<Value>()
                    .next()?
                    .ok()
            })
            .unwrap_or(Value::Null);
        out.insert(name.to_owned(), value);
    }
    Some(out)
}

/// The first element of a JSON array, if it is an object that fits in the peeked text.
fn first_array_object(text: &str) -> Option<Map<String, Value>> {
    let rest = text.strip_prefix('[')?.trim_start();
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Map<String, Value>>();
    stream.next()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Result<(InputFormat, Layout), String> {
        detect(text.as_bytes(), None, &[])
    }

    #[test]
    fn detects_by_content() {
        assert_eq!(
            d("  {\n \"Records\": []}"),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(
            d("{\"eventVersion\":\"1.08\",\"eventSource\":\"dynamodb.amazonaws.com\"}\n"),
            Ok((InputFormat::CloudTrail, Layout::Lines))
        );
        assert_eq!(
            d("[{\"eventVersion\":\"1.08\",\"eventSource\":\"iam.amazonaws.com\"}]"),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(
            d("{\"QueryStatus\":\"FINISHED\",\"QueryResultRows\":[]}"),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(
            d("{\"id\":\"x\",\"time_ns\":1,\"source\":{}}"),
            Ok((InputFormat::Events, Layout::Lines))
        );
        assert_eq!(
            d("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{}}"),
            Ok((InputFormat::CloudTrail, Layout::Lines))
        );
        assert_eq!(
            d("{\"resourceSpans\":[]}\n{\"resourceSpans\":[]}\n"),
            Ok((InputFormat::Otlp, Layout::Lines))
        );
        assert_eq!(
            d("{\n \"resourceSpans\": [\n{\"stringValue\": \"x\"}\n]}"),
            Ok((InputFormat::Otlp, Layout::Document))
        );
        assert_eq!(
            d("{\n  \"log\": {\"version\": \"1.2\"}}"),
            Ok((InputFormat::Har, Layout::Document))
        );
        assert_eq!(
            d("{\"time\":\"2026-01-01T00:00:00Z\",\"operation\":\"GetItem\",\"request\":{}}"),
            Ok((InputFormat::DynamoDbWire, Layout::Lines))
        );
        assert_eq!(
            d("{\n  \"exported\": {\"by\": \"tool\"},\n  \"Records\": [\n"),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(
            d("{\n  \"eventVersion\": \"1.08\",\n  \"eventSource\": \"dynamodb.amazonaws.com\"\n}"),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(
            detect(
                b"{\n  \"meta\": 1,\n  \"Records\": []\n}",
                Some(InputFormat::CloudTrail),
                &[]
            ),
            Ok((InputFormat::CloudTrail, Layout::Document))
        );
        assert_eq!(d("hello"), Err(EXPECTED.to_owned()));
        assert_eq!(d(""), Err(EXPECTED.to_owned()));
        assert_eq!(
            detect(b"{\"a\":1}\n\xff\xfe rest of a binary file", None, &[]),
            Err("invalid UTF-8 at byte 8: expected JSON text".to_owned())
        );
    }

    #[test]
    fn a_bad_byte_in_line_one_is_that_lines_error_not_the_files() {
        // Reproducer: invalid UTF-8 in line 1 made the whole file "unrecognized".
        let mut text = b"{\"time\":\"2026-01-01T00:00:00Z\",\"operation\":\"GetItem\",\"note\":\"\xff\",\"request\":{}}\n".to_vec();
        text.extend_from_slice(
            b"{\"time\":\"2026-01-01T00:00:01Z\",\"operation\":\"GetItem\",\"request\":{}}\n",
        );
        assert_eq!(
            detect(&text, None, &[]),
            Ok((InputFormat::DynamoDbWire, Layout::Lines))
        );
    }

    #[test]
    fn a_first_line_longer_than_the_peek_is_judged_by_what_fits() {
        // Reproducer: a first line over the 1 MiB detection peek made the whole file
        // "unrecognized".
        let mut line = String::from(
            r#"{"eventVersion":"1.08","eventSource":"dynamodb.amazonaws.com","requestParameters":{"pad":""#,
        );
        line.push_str(&"x".repeat(super::super::source::PEEK_BYTES));
        let peek = line
            .as_bytes()
            .get(..super::super::source::PEEK_BYTES)
            .unwrap_or_default();
        assert_eq!(
            detect(peek, None, &[]),
            Ok((InputFormat::CloudTrail, Layout::Lines))
        );
    }
}
