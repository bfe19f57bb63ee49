//! AWS CloudTrail: `{"Records": [...]}` log files (as S3 delivers them, gzip or not) and one record
//! per line. DynamoDB data events become DB-operation events ([`dynamodb`]); IAM access-key and
//! API Gateway API-key changes become key-lifecycle events ([`keys`]); other records are counted
//! as skipped with the reason. EventBridge envelopes (`detail-type` "AWS API Call via CloudTrail")
//! are unwrapped.
//!
//! CloudTrail's limits, which rules must respect: `eventTime` has one-second precision, records
//! are unordered, attribute values are never logged (only key values and expression text), and
//! data events are off unless a trail enables them.

mod dynamodb;
mod keys;
mod lake;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::dynamodb::member as param;
use super::pool::{InOrder, Jobs};
use super::{At, LineCounter, Record, json_scan};
use crate::event::{Actor, Correlation, DbOperation, Detail, Event, SourceRef};
use crate::time::parse_rfc3339;

const FORMAT: &str = "cloudtrail";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtRecord<'a> {
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
    #[serde(rename = "requestID", borrow)]
    request_id: Option<Cow<'a, str>>,
    management_event: Option<bool>,
    #[serde(default, borrow)]
    user_identity: Option<UserIdentity<'a>>,
    /// Parsed only for the records that become events.
    #[serde(default, borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(default, borrow)]
    response_elements: Option<&'a RawValue>,
    /// EventBridge's envelope: the CloudTrail record is its `detail`.
    #[serde(default, borrow)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "detail-type", default, borrow)]
    detail_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
}

/// Reads a CloudTrail document: a log file (`{"Records": [...]}`, the member wherever it stands
/// among others that exporters add), a JSON array of records, one (pretty-printed) record, or
/// CloudTrail Lake query results. Records before damage (a document cut short) are read; the
/// damage is one malformed record.
pub(super) fn read(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if lake::is_lake_document(text) {
        return lake::read(file, text, sink);
    }
    let array_at = match array_start(text) {
        Some(at) => at,
        None if text.trim_start().starts_with('{') => return read_single(file, text, sink),
        None => {
            return Err(
                "not CloudTrail JSON: expected `{\"Records\": [...]}`, an array of records or one \
                 record"
                    .to_owned(),
            );
        }
    };
    let mut lines = LineCounter::new(text);
    read_items(
        file,
        json_scan::ArrayItems::new(text, array_at),
        0,
        &mut lines,
        sink,
    );
    Ok(())
}

/// Where the array of records starts: the document itself, or its `Records` member.
fn array_start(text: &str) -> Option<usize> {
    let head = text.trim_start();
    if head.starts_with('[') {
        Some(text.len() - head.len())
    } else if head.starts_with('{') {
        json_scan::Members::new(text)
            .find(|(name, _)| *name == "Records")
            .map(|(_, at)| at)
    } else {
        None
    }
}

/// Reads the array's `items` from record `index` on, `lines` counting where each stands.
fn read_items<'t>(
    file: &str,
    items: json_scan::ArrayItems<'t, CtRecord<'t>>,
    mut index: u64,
    lines: &mut LineCounter<'t>,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    for item in items {
        index += 1;
        let (at, records) = item_records(file, index, item, lines);
        for record in records {
            sink(index, at, record);
        }
    }
}

/// What item `index` of the array of records becomes, and where it stands.
fn item_records<'t>(
    file: &str,
    index: u64,
    item: json_scan::Item<'t, CtRecord<'t>>,
    lines: &mut LineCounter<'t>,
) -> (At<'t>, Vec<Record>) {
    match item {
        json_scan::Item::Parsed(raw, rec) => {
            let at = lines.at(raw);
            (at, records(convert_parsed(file, index, at.line, rec)))
        }
        // Not a record: `convert` says what it is.
        json_scan::Item::Other(raw) => {
            let at = lines.at(raw.get());
            (at, convert(file, index, at.line, raw.get()))
        }
        json_scan::Item::Damaged(e) => (
            At::UNKNOWN,
            vec![Record::Malformed(format!(
                "record {index} of `Records` cannot be read ({e}): expected a JSON object"
            ))],
        ),
    }
}

/// Bytes of records a chunk of a large document gathers (as for JSON lines).
const CHUNK_BYTES: usize = super::lines::CHUNK_BYTES;

/// A document (CloudTrail, HAR) at least this long is parsed in chunks when other threads can
/// help.
pub(super) const CHUNKED_MIN_BYTES: usize = 2 * CHUNK_BYTES;

/// Documents read in chunks, for tests to see that they were.
#[cfg(test)]
pub(super) static CHUNKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An item of a chunk, parsed: where it stands, as offsets so that it can cross threads, and
/// what it became.
struct Placed {
    index: u64,
    line: Option<u64>,
    column: Option<u64>,
    raw: Option<Range<usize>>,
    records: Vec<Record>,
}

/// A chunk's items, parsed, and how the array goes on after them.
struct Parsed {
    items: Vec<Placed>,
    next: Next,
}

enum Next {
    /// With the next chunk.
    On,
    /// Nowhere: the last item was damaged.
    End,
    /// From the item at byte `at`, record `index` + 1, in one pass: its parse ended elsewhere
    /// than its bounds said (never for valid JSON).
    Resume { at: usize, index: u64 },
}

/// [`read`] of a large document on the pool's threads: the reader finds where the records
/// start and end ([`json_scan::ItemBounds`]) and hands them out in chunks of about
/// [`CHUNK_BYTES`], each parsed by [`json_scan::item_at`] as one pass parses it, knowing the
/// record index and the line and column it starts at; the records are handed to `sink` in
/// order. At most [`super::lines::CHUNKS_IN_FLIGHT`] chunks are parsed or held at once. Where
/// the bounds stop (an item that is not an object, damage) the rest is read in one pass, as
/// [`read`] reads it: the records, their places and errors are the same.
pub(super) fn read_chunked<'a>(
    file: &'a str,
    text: &Arc<String>,
    jobs: &Jobs<'a>,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let skip = text.len() - body.len();
    if lake::is_lake_document(body) {
        return read(file, text, sink);
    }
    let Some(mut bounds) = array_start(body).and_then(|at| json_scan::ItemBounds::new(body, at))
    else {
        return read(file, text, sink);
    };
    #[cfg(test)]
    CHUNKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Where each chunk starts, counted here as the bounds are found.
    let mut lines = LineCounter::new(body);
    let mut index = 0u64;
    let mut in_flight = InOrder::new(jobs);
    let resume = loop {
        while in_flight.has_room() {
            let mut items = Vec::new();
            let mut bytes = 0;
            while bytes < CHUNK_BYTES
                && let Some((start, end)) = bounds.next()
            {
                bytes += end - start;
                items.push((start, end));
            }
            let Some(&(first, _)) = items.first() else {
                break;
            };
            let at = lines.at(body.get(first..).unwrap_or_default());
            let (line, column) = (at.line.unwrap_or(1), at.column.unwrap_or(1));
            let (text, first_index) = (Arc::clone(text), index);
            index += items.len() as u64;
            in_flight.submit(move || {
                let body = text.get(skip..).unwrap_or_default();
                let start = LineCounter::resume(body, first, line, column);
                parse_chunk(file, body, &items, first_index, start)
            });
        }
        let Some(next) = in_flight.next() else {
            break bounds.stopped().map(|at| (at, index));
        };
        let parsed = next?;
        for p in parsed.items {
            let at = At {
                line: p.line,
                column: p.column,
                raw: p.raw.and_then(|r| body.get(r)),
            };
            for record in p.records {
                sink(p.index, at, record);
            }
        }
        match parsed.next {
            Next::On => {}
            Next::End => break None,
            // The chunks after it were cut by bounds that no longer hold.
            Next::Resume { at, index } => break Some((at, index)),
        }
    };
    if let Some((at, index)) = resume {
        let mut lines = LineCounter::new(body);
        read_items(
            file,
            json_scan::ArrayItems::resume(body, at),
            index,
            &mut lines,
            sink,
        );
    }
    Ok(())
}

/// Parses a chunk's `items` (their bounds in `body`), the first of them record `first_index` + 1
/// where `lines` stands.
fn parse_chunk<'t>(
    file: &str,
    body: &'t str,
    items: &[(usize, usize)],
    first_index: u64,
    mut lines: LineCounter<'t>,
) -> Parsed {
    let mut placed = Vec::with_capacity(items.len());
    for (index, &(start, end)) in (first_index + 1..).zip(items) {
        let (item, parsed_end) = json_scan::item_at::<CtRecord<'t>>(body, start);
        if parsed_end.is_some_and(|e| e != end) {
            return Parsed {
                items: placed,
                next: Next::Resume {
                    at: start,
                    index: index - 1,
                },
            };
        }
        let (at, records) = item_records(file, index, item, &mut lines);
        placed.push(Placed {
            index,
            line: at.line,
            column: at.column,
            raw: at.raw.and_then(|raw| super::lines::within(body, raw)),
            records,
        });
        if parsed_end.is_none() {
            return Parsed {
                items: placed,
                next: Next::End,
            };
        }
    }
    Parsed {
        items: placed,
        next: Next::On,
    }
}

/// A document holding one record, as records are shared (pretty-printed, from the console or
/// `aws cloudtrail lookup-events`).
fn read_single(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let obj: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        format!("not CloudTrail JSON: {e}: expected `{{\"Records\": [...]}}` or one record")
    })?;
    if !looks_like(&obj) {
        return Err(
            "not a CloudTrail log file: no `Records` member, and not one record (`eventVersion`, \
             `eventSource`, `eventName`): expected `{\"Records\": [...]}`"
                .to_owned(),
        );
    }
    let at = LineCounter::new(text).at(text.trim());
    for record in convert(file, 1, at.line, text.trim()) {
        sink(1, at, record);
    }
    Ok(())
}

/// Reads one line of CloudTrail JSON lines (a record, or an EventBridge envelope).
pub(super) fn read_line(
    file: &str,
    index: &mut u64,
    line_no: u64,
    line: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    *index += 1;
    for record in convert(file, *index, Some(line_no), line) {
        sink(*index, At::line(line_no, line), record);
    }
}

/// Whether the first object of a JSON-lines input is a CloudTrail record or an EventBridge
/// envelope.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    (obj.contains_key("eventVersion") && obj.contains_key("eventSource"))
        || (obj.contains_key("detail-type") && obj.contains_key("detail"))
}

/// What a record's source-specific part became.
enum Classified {
    Detail(Detail),
    /// One operation per item the request touched.
    Db(Vec<DbOperation>),
    Skip(&'static str),
    Malformed(String),
}

/// The skip reason of records from sources and operations the engine does not model.
const NOT_MODELLED: &str = "not a DynamoDB data event or a key lifecycle event";

/// Converts one record: to one event, or to one per item for transactions and batches.
fn convert(file: &str, index: u64, line: Option<u64>, json: &str) -> Vec<Record> {
    records(convert_record(file, index, line, json))
}

/// A record's events, or what it was instead.
fn records(converted: Result<Vec<Record>, Record>) -> Vec<Record> {
    match converted {
        Ok(events) => events,
        Err(record) => vec![record],
    }
}

fn convert_record(
    file: &str,
    index: u64,
    line: Option<u64>,
    json: &str,
) -> Result<Vec<Record>, Record> {
    let rec: CtRecord<'_> = match serde_json::from_str(json) {
        Ok(r) => r,
        Err(e) => {
            let found = match json.trim_start().as_bytes().first() {
                Some(b'{') => {
                    return Err(Record::Malformed(format!("invalid CloudTrail record: {e}")));
                }
                Some(b'"') => "a string",
                Some(b'[') => "an array",
                _ => {
                    return Err(Record::Malformed(format!(
                        "not JSON ({e}): expected a CloudTrail record object"
                    )));
                }
            };
            return Err(Record::Malformed(format!(
                "expected a CloudTrail record object, found {found}"
            )));
        }
    };
    convert_parsed(file, index, line, rec)
}

/// [`convert_record`] once the record is parsed.
fn convert_parsed(
    file: &str,
    index: u64,
    line: Option<u64>,
    rec: CtRecord<'_>,
) -> Result<Vec<Record>, Record> {
    if rec.event_source.is_none()
        && let (Some(detail), Some(kind)) = (rec.detail, rec.detail_type.as_deref())
    {
        return if kind.ends_with("via CloudTrail") {
            convert_record(file, index, line, detail.get())
        } else {
            Err(Record::Skip(
                "EventBridge event that does not carry a CloudTrail record",
            ))
        };
    }
    let Some(source) = rec.event_source.as_deref() else {
        return Err(Record::Malformed(
            "missing `eventSource`: expected e.g. `dynamodb.amazonaws.com`".to_owned(),
        ));
    };
    let Some(name) = rec.event_name.as_deref() else {
        return Err(Record::Malformed(
            "missing `eventName`: expected the API operation".to_owned(),
        ));
    };
    let id = match rec.event_id.as_deref() {
        Some(id) => crate::event::joined(&["ct:", id]),
        None => format!("ct:{file}#{index}").into(),
    };
    let details = match source {
        "dynamodb.amazonaws.com" => dynamodb::classify(name, &rec, &id),
        "iam.amazonaws.com" | "apigateway.amazonaws.com" => keys::classify(name, &rec),
        "sts.amazonaws.com" => keys::classify_sts(name, &rec),
        _ => Classified::Skip(NOT_MODELLED),
    };
    let details: Vec<Detail> = match details {
        Classified::Detail(d) => vec![d],
        Classified::Db(ops) => ops.into_iter().map(Detail::DbOperation).collect(),
        Classified::Skip(reason) => return Err(Record::Skip(reason)),
        Classified::Malformed(m) => return Err(Record::Malformed(m)),
    };
    let Some(time) = rec.event_time.as_deref() else {
        return Err(Record::Malformed(
            "missing `eventTime`: expected an RFC 3339 time".to_owned(),
        ));
    };
    let Some(time_ns) = parse_rfc3339(time) else {
        return Err(Record::Malformed(format!(
            "invalid `eventTime` `{time}`: expected an RFC 3339 time like `2026-03-14T10:00:00Z`"
        )));
    };
    let identity = rec.user_identity.unwrap_or_default();
    let principal = identity
        .arn
        .as_deref()
        .or(identity.principal_id.as_deref())
        .or(identity.invoked_by.as_deref())
        .unwrap_or_default();
    let mut attributes = crate::event::Fields::new();
    for (k, v) in [
        ("aws_region", rec.aws_region.as_deref()),
        ("event_type", rec.event_type.as_deref()),
        ("identity_type", identity.kind.as_deref()),
    ] {
        if let Some(v) = v {
            attributes.insert(k.into(), v.into());
        }
    }
    let actor = Actor {
        principal: principal.into(),
        key_id: identity.access_key_id.as_deref().unwrap_or_default().into(),
        tenant: identity.account_id.as_deref().unwrap_or_default().into(),
        ip: rec.source_ip_address.as_deref().unwrap_or_default().into(),
        user_agent: rec.user_agent.as_deref().unwrap_or_default().into(),
        session: Default::default(),
    };
    let correlation = Correlation {
        request_id: rec.request_id.as_deref().unwrap_or_default().into(),
        ..Correlation::default()
    };
    let record_error = rec.error_code.as_deref().unwrap_or_default();
    let many = details.len() > 1;
    let last = details.len().saturating_sub(1);
    // What the record's events share: cloned for all but the last, which takes it (a record is
    // one event but for batches and transactions).
    let mut common = Some((actor, correlation, attributes));
    Ok(details
        .into_iter()
        .enumerate()
        .map(|(i, detail)| {
            let error = match &detail {
                Detail::DbOperation(db) => db.error_code.as_str(),
                _ => record_error,
            };
            let outcome = outcome(error);
            let (actor, correlation, attributes) = if i == last {
                common.take().unwrap_or_default()
            } else {
                common.clone().unwrap_or_default()
            };
            Record::Event(Box::new(Event {
                facts: Default::default(),
                id: if many {
                    format!("{id}/{}", i + 1).into()
                } else {
                    id.clone()
                },
                time_ns,
                precision_ns: 1_000_000_000,
                source: SourceRef::at(file, index, line, FORMAT),
                actor,
                correlation,
                outcome,
                detail,
                attributes,
            }))
        })
        .collect())
}

/// A JSON object member of the record (`requestParameters`, `responseElements`), parsed on
/// demand; absent or `null` gives an empty map. Anything else that is not an object — including
/// an object too deeply nested to parse — is the record's error, not an empty map.
fn object(raw: Option<&RawValue>, name: &str) -> Result<Map<String, Value>, String> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    if raw.get() == "null" {
        return Ok(Map::new());
    }
    serde_json::from_str::<Map<String, Value>>(raw.get()).map_err(|e| {
        // serde's position is relative to the member, not the line: leave it out.
        let e = e.to_string();
        let what = e.split(" at line ").next().unwrap_or_default();
        format!("invalid `{name}`: {what}: expected an object or null")
    })
}

/// The outcome of a call from its error code.
fn outcome(error_code: &str) -> crate::event::Outcome {
    crate::ingest::dynamodb::outcome(error_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{KeyAction, Outcome};

    fn collect(text: &str) -> Vec<(u64, Option<u64>, Result<Event, String>)> {
        let mut out = Vec::new();
        let mut sink = |i, at: At<'_>, r: Record| out.push((i, at.line, r.into_result()));
        let first_line_is_object = text
            .lines()
            .next()
            .is_some_and(|l| serde_json::from_str::<Map<String, Value>>(l).is_ok());
        if first_line_is_object && !text.starts_with("{\"Records\"") {
            let mut index = 0;
            for (n, line) in text.lines().enumerate() {
                read_line("t.json", &mut index, n as u64 + 1, line, &mut sink);
            }
        } else {
            read("t.json", text, &mut sink).unwrap();
        }
        out
    }

    const UPDATE: &str = r#"{"eventVersion":"1.08","eventTime":"2020-09-03T22:27:15Z","eventSource":"dynamodb.amazonaws.com","eventName":"UpdateItem","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/bob","accountId":"1","accessKeyId":"ASIAX"},"requestParameters":{"tableName":"Music","Key":{"Artist":{"S":"No One"},"Year":{"N":"1999"}},"conditionExpression":"attribute_not_exists(#Y)"},"errorCode":"ConditionalCheckFailedException","requestID":"R1","eventID":"e1","managementEvent":false}"#;

    #[test]
    fn a_dynamodb_data_event_becomes_a_db_operation() {
        let out = collect(UPDATE);
        let (index, line, e) = &out[0];
        assert_eq!((*index, *line), (1, Some(1)));
        let e = e.as_ref().unwrap();
        assert_eq!(e.id, "ct:e1");
        assert_eq!(e.time_ns, 1_599_172_035_000_000_000);
        assert_eq!(e.actor.principal, "arn:aws:sts::1:assumed-role/r/bob");
        assert_eq!(e.actor.key_id, "ASIAX");
        assert_eq!(e.correlation.request_id, "R1");
        assert_eq!(e.outcome, Outcome::Conflict);
        let Detail::DbOperation(db) = &e.detail else {
            panic!("not a db event")
        };
        assert_eq!(db.table, "Music");
        assert_eq!(
            db.key.get("Artist").map(crate::event::SmolStr::as_str),
            Some("No One")
        );
        assert_eq!(
            db.key.get("Year").map(crate::event::SmolStr::as_str),
            Some("1999")
        );
        assert!(db.has_condition && db.is_write);
        assert_eq!(db.error_code, "ConditionalCheckFailedException");
    }

    #[test]
    fn records_documents_report_lines_and_bad_records() {
        let text = format!(
            "{{\"Records\": [\n{UPDATE},\n\"garbage\",\n{}\n]}}",
            UPDATE.replace("2020-09-03T22:27:15Z", "soon")
        );
        let out = collect(&text);
        assert_eq!(out.len(), 3);
        assert_eq!((out[0].0, out[0].1), (1, Some(2)));
        assert_eq!(
            out[1].2.as_ref().unwrap_err(),
            "expected a CloudTrail record object, found a string"
        );
        assert_eq!(out[1].1, Some(3));
        assert_eq!(
            out[2].2.as_ref().unwrap_err(),
            "invalid `eventTime` `soon`: expected an RFC 3339 time like `2026-03-14T10:00:00Z`"
        );
    }

    fn ids(out: &[(u64, Option<u64>, Result<Event, String>)]) -> Vec<(u64, Option<u64>, String)> {
        out.iter()
            .map(|(i, l, r)| {
                (
                    *i,
                    *l,
                    r.as_ref().map_or_else(Clone::clone, |e| e.id.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn records_after_other_members_a_bom_and_pretty_printing_are_read() {
        let second = UPDATE.replace("\"e1\"", "\"e2\"");
        let text = format!(
            "\u{feff}{{\n  \"exportedAt\": \"2026-11-30\",\n  \"meta\": {{\"Records\": 0}},\n  \
             \"Records\": [\n    {UPDATE},\n    {second}\n  ],\n  \"next\": null\n}}"
        );
        assert_eq!(
            ids(&collect(&text)),
            [(1, Some(5), "ct:e1".into()), (2, Some(6), "ct:e2".into())]
        );
    }

    #[test]
    fn one_pretty_printed_record_is_a_document() {
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(UPDATE).unwrap(),
        )
        .unwrap();
        assert_eq!(
            ids(&collect(&format!("\n{pretty}"))),
            [(1, Some(2), "ct:e1".into())]
        );
        let mut out = Vec::new();
        let err = read("t.json", "{\n\"hello\": 1}", &mut |i, l: At<'_>, r| {
            out.push((i, l.line, r))
        });
        assert_eq!(
            err,
            Err(
                "not a CloudTrail log file: no `Records` member, and not one record \
                 (`eventVersion`, `eventSource`, `eventName`): expected `{\"Records\": [...]}`"
                    .into()
            )
        );
    }

    #[test]
    fn a_document_cut_short_keeps_the_records_before_the_cut() {
        let text = format!("{{\"Records\": [{UPDATE},\n{}", &UPDATE[..40]);
        let out = collect(&text);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].2.as_ref().unwrap().id, "ct:e1");
        assert_eq!(
            out[1].2.as_ref().unwrap_err(),
            &format!(
                "record 2 of `Records` cannot be read (at byte {}: EOF while parsing a string at \
                 line 1 column 40): expected a JSON object",
                UPDATE.len() + 15
            )
        );
    }

    #[test]
    fn an_unknown_access_key_status_is_malformed() {
        let rec = r#"{"eventTime":"2020-09-03T22:27:15Z","eventSource":"iam.amazonaws.com","eventName":"UpdateAccessKey","requestParameters":{"accessKeyId":"AKIAX","status":"Paused"}}"#;
        assert_eq!(
            collect(rec)[0].2.as_ref().unwrap_err(),
            "UpdateAccessKey with status `Paused`: expected `Active` or `Inactive`"
        );
    }

    #[test]
    fn eventbridge_envelopes_are_unwrapped() {
        let wrapped = format!(
            r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.dynamodb","time":"2020-09-03T22:27:15Z","detail":{UPDATE}}}"#
        );
        let other = r#"{"version":"0","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}"#;
        let out = collect(&format!("{wrapped}\n{other}\n"));
        assert_eq!(out[0].2.as_ref().unwrap().id, "ct:e1");
        assert_eq!(out[0].1, Some(1));
        assert_eq!(
            out[1].2.as_ref().unwrap_err(),
            "skip: EventBridge event that does not carry a CloudTrail record"
        );
    }

    #[test]
    fn other_sources_are_skipped_with_a_reason() {
        let kms = r#"{"eventTime":"2020-09-03T22:27:15Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt"}"#;
        let out = collect(kms);
        assert_eq!(
            out[0].2.as_ref().unwrap_err(),
            "skip: not a DynamoDB data event or a key lifecycle event"
        );
    }

    #[test]
    fn sts_credential_issuance_is_a_derived_key() {
        let assume = r#"{"eventTime":"2023-07-10T12:06:37Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/bert","accessKeyId":"AKIAPARENT"},"requestParameters":{"roleArn":"arn:aws:iam::1:role/r","roleSessionName":"s"},"responseElements":{"credentials":{"accessKeyId":"ASIACHILD","sessionToken":"x","expiration":"Jul 10, 2023, 1:06:37 PM"},"assumedRoleUser":{"assumedRoleId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/r/s"}},"eventID":"a1"}"#;
        let refused = r#"{"eventTime":"2023-07-10T12:06:38Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","accessKeyId":"AKIAPARENT"},"errorCode":"AccessDenied","requestParameters":null,"responseElements":null}"#;
        let who = r#"{"eventTime":"2023-07-10T12:06:39Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","responseElements":null}"#;
        let out = collect(&format!("{assume}\n{refused}\n{who}\n"));
        let e = out[0].2.as_ref().unwrap();
        let Detail::KeyLifecycle(k) = &e.detail else {
            panic!("{e:?}")
        };
        assert_eq!(
            (
                k.action,
                k.key_id.as_str(),
                k.owner.as_str(),
                k.parent_key_id.as_str()
            ),
            (
                KeyAction::Created,
                "ASIACHILD",
                "arn:aws:sts::1:assumed-role/r/s",
                "AKIAPARENT"
            )
        );
        assert_eq!(e.actor.key_id, "AKIAPARENT");
        assert_eq!(
            out[1].2.as_ref().unwrap_err(),
            "skip: STS call that issued no credentials CloudTrail logged"
        );
        assert_eq!(
            out[2].2.as_ref().unwrap_err(),
            "skip: not a DynamoDB data event or a key lifecycle event"
        );
    }
}
