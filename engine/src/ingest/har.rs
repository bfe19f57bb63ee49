//! HAR 1.2, the HTTP archive browser devtools, mitmproxy, Burp and ZAP export: one record per
//! `log.entries[i]`, each an HTTP event, except DynamoDB API calls (an `X-Amz-Target:
//! DynamoDB_20120810.<Op>` request header), whose JSON bodies are decoded by the shared
//! [`super::dynamodb`] decoder into DB-operation events, one per item.
//!
//! Key material in headers, cookies and URLs never reaches an event: credentials become key ids
//! ([`super::credentials`]), credential query and path parameters are replaced by theirs, URL
//! user info and fragments are dropped, and bodies are read only for DynamoDB keys.

use crate::ingest::At;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::credentials::identity_from_headers;
use super::dynamodb::{self, KeySchemas, Request};
use super::http::{
    http_outcome, object_ids, redact_path, redact_query, returned_ids, split_url, xray_trace_id,
};
use super::loose::{List, Num, Obj, Text};
use super::pool::{InOrder, Jobs};
use super::wire::{
    CONTROL_PLANE, call_outcome, fraction_precision_ns, kind_of, ms_to_ns, target_operation,
};
use super::{LineCounter, Record};
use crate::event::{Actor, Correlation, DbOperation, Detail, Event, Http, SourceRef};
use crate::time::parse_rfc3339;

const FORMAT: &str = "har";

/// The skip reason of entries for `data:`, `ws:`, `chrome-extension:`... URLs.
const NOT_HTTP: &str = "not an HTTP request";

/// HAR requires millisecond times; finer only when the writer gave more digits.
const HAR_PRECISION_NS: u64 = 1_000_000;

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    log: Log<'a>,
}

#[derive(Deserialize)]
struct Log<'a> {
    #[serde(borrow, default)]
    entries: Vec<&'a RawValue>,
}

/// What an entry is read for (`convert`); every other member is skipped by the tokenizer.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Entry<'a> {
    #[serde(rename = "startedDateTime", borrow)]
    started: Text<'a>,
    time: Num,
    #[serde(borrow)]
    request: Obj<Message<'a>>,
    #[serde(borrow)]
    response: Obj<Message<'a>>,
}

/// What is read of a request or a response.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Message<'a> {
    #[serde(borrow)]
    method: Text<'a>,
    #[serde(borrow)]
    url: Text<'a>,
    #[serde(borrow)]
    http_version: Text<'a>,
    status: Num,
    #[serde(borrow)]
    headers: List<Pair<'a>>,
    #[serde(borrow)]
    cookies: List<Pair<'a>>,
    #[serde(borrow)]
    post_data: Obj<Body<'a>>,
    #[serde(borrow)]
    content: Obj<Body<'a>>,
}

/// A header or a cookie.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Pair<'a> {
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    value: Text<'a>,
}

/// A request's `postData` or a response's `content`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Body<'a> {
    #[serde(borrow)]
    text: Text<'a>,
    #[serde(borrow)]
    encoding: Text<'a>,
}

impl Body<'_> {
    /// The body as text: base64-decoded when its `encoding` says so.
    fn decoded(&self) -> Option<Cow<'_, str>> {
        decoded(text(&self.text)?, text(&self.encoding))
    }
}

/// Whether a document is a HAR: a `log` object with `entries`, or with `version` and `creator`.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    obj.get("log")
        .and_then(Value::as_object)
        .is_some_and(|log| {
            log.contains_key("entries")
                || (log.contains_key("version") && log.contains_key("creator"))
        })
}

/// A HAR document without its UTF-8 byte-order mark, and its entries as they stand in it.
fn entries(text: &str) -> Result<(&str, Vec<&RawValue>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.trim_start().starts_with('{') {
        return Err(
            "not a HAR file: expected a JSON object `{\"log\": {\"entries\": [...]}}`".to_owned(),
        );
    }
    let doc: Document<'_> = serde_json::from_str(text).map_err(|e| {
        format!("not a HAR file: {e}: expected `{{\"log\": {{\"entries\": [...]}}}}`")
    })?;
    Ok((text, doc.log.entries))
}

/// An entry's records.
fn records(
    file: &str,
    index: u64,
    line: Option<u64>,
    json: &str,
    schemas: &mut KeySchemas,
) -> Vec<Record> {
    match convert(file, index, line, json, schemas) {
        Ok(events) => events
            .into_iter()
            .map(|e| Record::Event(Box::new(e)))
            .collect(),
        Err(record) => vec![record],
    }
}

/// Reads a HAR document (a UTF-8 byte-order mark is ignored). One `KeySchemas` serves the whole
/// file, so a DynamoDB `PutItem` gets its key from the item once the table's key was seen.
pub(super) fn read_document(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let (text, entries) = entries(text)?;
    let mut lines = LineCounter::new(text);
    let mut schemas = KeySchemas::default();
    for (i, raw) in entries.into_iter().enumerate() {
        let index = i as u64 + 1;
        let at = lines.at(raw.get());
        for record in records(file, index, at.line, raw.get(), &mut schemas) {
            sink(index, at, record);
        }
    }
    Ok(())
}

/// Documents read in chunks, and chunks converted again, for tests to see that some were.
#[cfg(test)]
pub(super) static CHUNKED: [std::sync::atomic::AtomicUsize; 2] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; 2];

/// Entries of a chunk: index, line, column and where each stands in the document.
type Placed = Vec<(u64, Option<u64>, Option<u64>, Range<usize>)>;

/// The records of a chunk's entries (`body` the document without its byte-order mark).
fn chunk_records(
    file: &str,
    body: &str,
    placed: &Placed,
    schemas: &mut KeySchemas,
) -> Vec<Vec<Record>> {
    placed
        .iter()
        .map(|(index, line, _, range)| {
            let json = body.get(range.clone()).unwrap_or_default();
            records(file, *index, *line, json, schemas)
        })
        .collect()
}

/// [`read_document`] with the entries converted on `jobs`' threads, about 1 MiB of them a chunk,
/// each chunk from the key schemas known when it is handed out and with a journal of what it
/// learnt and looked up; in order, a chunk whose journal the entries before it contradict is
/// converted again here ([`KeySchemas::adopt`]). The records, places and errors are
/// [`read_document`]'s.
pub(super) fn read_chunked<'a>(
    file: &'a str,
    text: &Arc<String>,
    jobs: &Jobs<'a>,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let (body, entries) = entries(text)?;
    #[cfg(test)]
    CHUNKED[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let skip = text.len() - body.len();
    let mut lines = LineCounter::new(body);
    let mut schemas = KeySchemas::default();
    let mut pending = entries.iter().enumerate().peekable();
    let mut in_flight = InOrder::new(jobs);
    loop {
        while in_flight.has_room() && pending.peek().is_some() {
            let mut placed = Placed::new();
            let mut bytes = 0;
            while bytes < super::lines::CHUNK_BYTES
                && let Some((i, raw)) = pending.next()
            {
                let at = lines.at(raw.get());
                let range = super::lines::within(body, raw.get()).unwrap_or_default();
                bytes += range.len();
                placed.push((i as u64 + 1, at.line, at.column, range));
            }
            let (text, mut apart) = (Arc::clone(text), schemas.apart());
            in_flight.submit(move || {
                let body = text.get(skip..).unwrap_or_default();
                let records = chunk_records(file, body, &placed, &mut apart);
                ChunkOut {
                    placed,
                    records,
                    journal: apart.take_journal().unwrap_or_default(),
                }
            });
        }
        let Some(next) = in_flight.next() else {
            break;
        };
        let ChunkOut {
            placed,
            records,
            journal,
        } = next?;
        let converted = if schemas.adopt(journal) {
            records
        } else {
            // An entry's `PutItem` would have had another key after the entries before it.
            #[cfg(test)]
            CHUNKED[1].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            chunk_records(file, body, &placed, &mut schemas)
        };
        for ((index, line, column, range), records) in placed.iter().zip(converted) {
            let at = At {
                line: *line,
                column: *column,
                raw: body.get(range.clone()),
            };
            for record in records {
                sink(*index, at, record);
            }
        }
    }
    Ok(())
}

/// What a chunk's job sends back: its entries, each one's records, and the chunk's key-schema
/// journal.
struct ChunkOut {
    placed: Placed,
    records: Vec<Vec<Record>>,
    journal: Vec<dynamodb::Step>,
}

/// Converts one entry: to one HTTP event, or to one DB-operation event per item of a DynamoDB
/// call.
fn convert(
    file: &str,
    index: u64,
    line: Option<u64>,
    json: &str,
    schemas: &mut KeySchemas,
) -> Result<Vec<Event>, Record> {
    let malformed = |m: &str| Record::Malformed(m.to_owned());
    // Read from the text; an entry the text does not give as one (not an object, a member
    // given twice) is read as a `Value` would read it, with its errors.
    let parsed: Value;
    let entry = match json
        .starts_with('{')
        .then(|| serde_json::from_str::<Entry<'_>>(json).ok())
        .flatten()
    {
        Some(entry) => entry,
        None => {
            parsed = serde_json::from_str(json)
                .map_err(|e| Record::Malformed(format!("invalid HAR entry: {e}")))?;
            if !parsed.is_object() {
                return Err(Record::Malformed(format!(
                    "expected a HAR entry object, found {}",
                    kind_of(&parsed)
                )));
            }
            Entry::deserialize(&parsed)
                .map_err(|e| Record::Malformed(format!("invalid HAR entry: {e}")))?
        }
    };
    let request = entry
        .request
        .0
        .as_ref()
        .ok_or_else(|| malformed("missing `request`: expected the entry's request object"))?;
    let method = text(&request.method)
        .ok_or_else(|| malformed("missing `request.method`: expected the HTTP method"))?;
    let url = text(&request.url)
        .ok_or_else(|| malformed("missing `request.url`: expected the request URL"))?;
    let url = split_url(url).ok_or(Record::Skip(NOT_HTTP))?;
    let request_headers = headers(request);
    let response = entry.response.0.as_ref();
    let response_headers = response.map(headers).unwrap_or_default();
    let operation = header(&request_headers, "x-amz-target").and_then(target_operation);
    if let Some(op) = operation.filter(|op| !dynamodb::is_data_plane(op)) {
        if op == "CreateTable"
            && let Some(params) = request_body(request)
        {
            schemas.learn_create_table(&params);
        }
        return Err(Record::Skip(CONTROL_PLANE));
    }
    let started = text(&entry.started)
        .ok_or_else(|| malformed("missing `startedDateTime`: expected an RFC 3339 time"))?;
    let time_ns = parse_rfc3339(started).ok_or_else(|| {
        Record::Malformed(format!(
            "invalid `startedDateTime` `{started}`: expected an RFC 3339 time like \
             `2026-03-14T10:00:00.123Z`"
        ))
    })?;
    let status = response
        .and_then(|r| r.status.as_u64())
        .map_or(0, |s| u16::try_from(s).unwrap_or_default());
    let duration_ns = entry.time.as_f64().and_then(ms_to_ns).unwrap_or_default();
    let path = redact_path(url.path);
    let query = redact_query(url.query);

    let actor = actor(request, &request_headers, query.key_id);
    let mut attributes = crate::event::Fields::new();
    for (name, value) in [
        ("host", url.host),
        (
            "http_version",
            text(&request.http_version).unwrap_or_default(),
        ),
    ] {
        if !value.is_empty() {
            attributes.insert(name.into(), value.into());
        }
    }
    let id = format!("har:{file}#{index}");
    let event = |id: String, outcome, detail, attributes| Event {
        facts: Default::default(),
        id: id.into(),
        time_ns,
        precision_ns: fraction_precision_ns(started).min(HAR_PRECISION_NS),
        source: SourceRef::at(file, index, line, FORMAT),
        actor: actor.clone(),
        correlation: correlation(&request_headers, &response_headers, operation.is_some()),
        outcome,
        detail,
        attributes,
    };

    let Some(operation) = operation else {
        let body = response
            .and_then(|r| r.content.0.as_ref())
            .and_then(Body::decoded);
        let http = Http {
            returned_ids: returned_ids(header(&response_headers, "location"), body.as_deref()),
            method: method.into(),
            params: object_ids(&path.text),
            path: path.text.into(),
            route: Default::default(),
            status,
            duration_ns,
            query: query.text.into(),
        };
        return Ok(vec![event(
            id,
            http_outcome(status),
            Detail::Http(http),
            attributes,
        )]);
    };

    let ops = dynamodb_operations(request, response, operation, &id, schemas)?;
    if duration_ns > 0 {
        attributes.insert("duration_ns".into(), duration_ns.to_string().into());
    }
    let many = ops.len() > 1;
    Ok(ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| {
            let id = if many {
                format!("{id}/{}", i + 1)
            } else {
                id.clone()
            };
            let outcome = call_outcome(&op.error_code, Some(status));
            event(id, outcome, Detail::DbOperation(op), attributes.clone())
        })
        .collect())
}

/// Who sent the request: the identity its headers and `cookies` give (an API key or token in
/// the query when the headers gave no key), the client address from `X-Forwarded-For` (the
/// entry's `serverIPAddress` is the server's) and the `User-Agent`.
fn actor(
    request: &Message<'_>,
    request_headers: &[(&str, &str)],
    query_key_id: Option<String>,
) -> Actor {
    let cookies: Vec<String> = request
        .cookies
        .0
        .iter()
        .filter_map(|c| Some(format!("{}={}", c.name.get()?, c.value.get()?)))
        .collect();
    let identity = identity_from_headers(
        request_headers
            .iter()
            .copied()
            .chain(cookies.iter().map(|c| ("cookie", c.as_str()))),
    );
    Actor {
        principal: identity.principal.into(),
        key_id: match query_key_id {
            Some(k) if identity.key_id.is_empty() => k.into(),
            _ => identity.key_id.into(),
        },
        tenant: identity.tenant.into(),
        ip: header(request_headers, "x-forwarded-for")
            .and_then(|xff| xff.split(',').next())
            .unwrap_or_default()
            .trim()
            .into(),
        user_agent: header(request_headers, "user-agent")
            .unwrap_or_default()
            .into(),
        session: identity.session.into(),
    }
}

/// The operations of a DynamoDB call: its request body (`request.postData.text`, base64 when
/// `encoding` says so) decoded with the error code and message of the response body.
fn dynamodb_operations(
    request: &Message<'_>,
    response: Option<&Message<'_>>,
    operation: &str,
    group_id: &str,
    schemas: &mut KeySchemas,
) -> Result<Vec<DbOperation>, Record> {
    let malformed = |m: &str| Record::Malformed(m.to_owned());
    let post = request.post_data.0.as_ref();
    let body = post.and_then(|p| text(&p.text)).ok_or_else(|| {
        malformed("missing `request.postData.text`: expected the DynamoDB request body")
    })?;
    let body = decoded(body, post.and_then(|p| text(&p.encoding))).ok_or_else(|| {
        malformed("invalid base64 in `request.postData.text`: expected the DynamoDB request body")
    })?;
    let params: Map<String, Value> = serde_json::from_str(&body).map_err(|e| {
        Record::Malformed(format!(
            "invalid `request.postData.text`: {e}: expected the DynamoDB request body as a JSON object"
        ))
    })?;
    let error = response_error(response);
    let member = |n: &str| error.get(n).and_then(Value::as_str);
    let message = member("message").or_else(|| member("Message"));
    Ok(dynamodb::decode(
        &Request {
            operation,
            params: &params,
            error_code: dynamodb::short_error_type(member("__type").unwrap_or_default()),
            error_message: message.unwrap_or_default(),
            group_id,
        },
        schemas,
    ))
}

/// A request's JSON body, when it has one that parses.
fn request_body(request: &Message<'_>) -> Option<Map<String, Value>> {
    let body = request.post_data.0.as_ref()?.decoded()?;
    serde_json::from_str(&body).ok()
}

/// The JSON object of a DynamoDB response body (`{"__type": ..., "message": ...}` on errors);
/// empty when there is none or it is not JSON.
fn response_error(response: Option<&Message<'_>>) -> Map<String, Value> {
    response
        .and_then(|r| r.content.0.as_ref())
        .and_then(Body::decoded)
        .and_then(|body| serde_json::from_str(&body).ok())
        .unwrap_or_default()
}

/// A body as text: base64-decoded when its `encoding` says so.
fn decoded<'t>(text: &'t str, encoding: Option<&str>) -> Option<Cow<'t, str>> {
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        String::from_utf8(bytes).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(text))
    }
}

/// Correlation from headers. The trace: a W3C `traceparent` (request), else the `Root` and
/// `Parent` of `X-Amzn-Trace-Id` (X-Ray ids, `1-<8 hex>-<24 hex>`, are W3C trace ids written
/// differently: OpenTelemetry's X-Ray propagator maps them this way). The header's parent id is
/// the span of the *sender*: for a DynamoDB call (`is_call`) that is the call's own client span
/// (`span_id`, so the entry merges with the OTel span of the same call); for a request to an
/// application it is the caller's span (`parent_span_id`). The application request id is
/// `X-Request-Id` (request, else response), else the `Root` of `X-Amzn-Trace-Id`; the request id
/// is the response's `x-amzn-RequestId` or `apigw-requestid`.
fn correlation(request: &[(&str, &str)], response: &[(&str, &str)], is_call: bool) -> Correlation {
    let either = |name| header(request, name).or_else(|| header(response, name));
    let amzn_trace = either("x-amzn-trace-id");
    let amzn_part = |part: &str| {
        amzn_trace.and_then(|v| {
            v.split(';')
                .find_map(|p| p.trim().strip_prefix(part))
                .filter(|r| !r.is_empty())
        })
    };
    let (trace_id, sender_span) = header(request, "traceparent")
        .and_then(traceparent)
        .or_else(|| {
            let trace = xray_trace_id(amzn_part("Root=")?)?;
            let parent = amzn_part("Parent=")
                .filter(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            Some((trace, parent))
        })
        .unwrap_or_default();
    let (span_id, parent_span_id) = if is_call {
        (sender_span, String::new())
    } else {
        (String::new(), sender_span)
    };
    let app_request_id = either("x-request-id")
        .or_else(|| amzn_part("Root="))
        .unwrap_or_default();
    let request_id = header(response, "x-amzn-requestid")
        .or_else(|| header(response, "apigw-requestid"))
        .unwrap_or_default();
    Correlation {
        trace_id: trace_id.into(),
        span_id: span_id.into(),
        parent_span_id: parent_span_id.into(),
        request_id: request_id.into(),
        app_request_id: app_request_id.into(),
        ..Correlation::default()
    }
}

/// The trace id and parent span id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`),
/// lower-cased; `None` if invalid (all-zero ids, version `ff`, extra parts in version `00`).
fn traceparent(value: &str) -> Option<(String, String)> {
    let mut parts = value.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    let valid = hex(version, 2)
        && !version.eq_ignore_ascii_case("ff")
        && hex(trace, 32)
        && !zero(trace)
        && hex(span, 16)
        && !zero(span)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then(|| (trace.to_ascii_lowercase(), span.to_ascii_lowercase()))
}

/// The `{name, value}` pairs of a request's or response's `headers`.
fn headers<'m>(message: &'m Message<'_>) -> Vec<(&'m str, &'m str)> {
    message
        .headers
        .0
        .iter()
        .filter_map(|h| Some((h.name.get()?, h.value.get()?)))
        .collect()
}

/// The first non-blank value of a header, trimmed; names match case-insensitively.
fn header<'h>(headers: &[(&'h str, &'h str)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

/// A non-empty string member.
fn text<'v>(member: &'v Text<'_>) -> Option<&'v str> {
    member.get().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::event::Outcome;
    use crate::ingest::credentials::key_id_of;

    type Out = Vec<(u64, Option<u64>, Result<Event, String>)>;

    fn read(text: &str) -> Out {
        let mut out = Vec::new();
        read_document("a.har", text, &mut |i, l: At<'_>, r| {
            out.push((i, l.line, r.into_result()))
        })
        .unwrap();
        out
    }

    fn har(entries: &[&str]) -> String {
        format!(
            "{{\"log\": {{\"version\": \"1.2\", \"creator\": {{\"name\": \"test\"}}, \"entries\": [\n{}\n]}}}}",
            entries.join(",\n")
        )
    }

    fn one(entry: &str) -> Result<Event, String> {
        read(&har(&[entry])).remove(0).2
    }

    fn db(e: &Event) -> &DbOperation {
        match &e.detail {
            Detail::DbOperation(d) => d,
            other => panic!("not a db event: {other:?}"),
        }
    }

    fn http(e: &Event) -> &Http {
        match &e.detail {
            Detail::Http(h) => h,
            other => panic!("not an http event: {other:?}"),
        }
    }

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    const T0: i64 = 1_773_482_400_000_000_000;

    #[test]
    fn an_entry_becomes_an_http_event_field_by_field() {
        let token = jwt(r#"{"sub":"alice","org_id":"acme"}"#);
        let entry = format!(
            r#"{{"startedDateTime":"2026-03-14T10:00:00.123Z","time":12.5,
              "request":{{"method":"GET","url":"https://api.example.com:8443/users/42/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301?page=2#top","httpVersion":"HTTP/2",
                "headers":[{{"name":"Authorization","value":"Bearer {token}"}},{{"name":"User-Agent","value":"curl/8.5"}},
                  {{"name":"X-Forwarded-For","value":"203.0.113.9, 10.0.0.1"}},
                  {{"name":"traceparent","value":"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}},
                  {{"name":"X-Request-Id","value":"req-1"}}]}},
              "response":{{"status":200,"headers":[{{"name":"x-amzn-RequestId","value":"gw-1"}},{{"name":"X-Request-Id","value":"resp-1"}}]}}}}"#
        );
        let out = read(&har(&[&entry]));
        assert_eq!((out[0].0, out[0].1), (1, Some(2)));
        let e = out[0].2.as_ref().unwrap();
        let expected = Event {
            facts: Default::default(),
            id: "har:a.har#1".into(),
            time_ns: T0 + 123_000_000,
            precision_ns: 1_000_000,
            source: SourceRef {
                file: "a.har".into(),
                record: 1,
                line: Some(2),
                format: "har".into(),
            },
            actor: Actor {
                principal: "alice".into(),
                key_id: key_id_of(&token).into(),
                tenant: "acme".into(),
                ip: "203.0.113.9".into(),
                user_agent: "curl/8.5".into(),
                session: String::new().into(),
            },
            correlation: Correlation {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                parent_span_id: "00f067aa0ba902b7".into(),
                request_id: "gw-1".into(),
                app_request_id: "req-1".into(),
                ..Correlation::default()
            },
            outcome: Outcome::Success,
            detail: Detail::Http(Http {
                returned_ids: Vec::new(),
                method: "GET".into(),
                path: "/users/42/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
                route: String::new().into(),
                status: 200,
                duration_ns: 12_500_000,
                query: "page=2".into(),
                params: [
                    (
                        "orders".into(),
                        "3f2504e0-4f89-11d3-9a0c-0305e82c3301".into(),
                    ),
                    ("users".into(), "42".into()),
                ]
                .into_iter()
                .collect::<crate::event::Fields>(),
            }),
            attributes: [
                ("host".into(), "api.example.com:8443".into()),
                ("http_version".into(), "HTTP/2".into()),
            ]
            .into_iter()
            .collect::<crate::event::Fields>(),
        };
        assert_eq!(*e, expected);
    }

    #[test]
    fn statuses_times_and_request_ids_fall_back_as_documented() {
        let e = one(
            r#"{"startedDateTime":"2026-03-14T10:00:00Z","time":-1,"request":{"method":"POST","url":"http://h/x","headers":[{"name":"X-Amzn-Trace-Id","value":"Self=1-a;Root=1-5759e988-bd862e3fe1be46a994272793"}]},"response":{"status":0}}"#,
        )
        .unwrap();
        assert_eq!(
            (e.time_ns, e.precision_ns, e.outcome),
            (T0, 1_000_000, Outcome::Unknown)
        );
        assert_eq!(
            e.correlation.app_request_id,
            "1-5759e988-bd862e3fe1be46a994272793"
        );
        assert_eq!(e.correlation.trace_id, "5759e988bd862e3fe1be46a994272793");
        assert_eq!(xray_trace_id("1-5759e988-bd862e3fe1be46a99427279"), None);
        assert_eq!((http(&e).status, http(&e).duration_ns), (0, 0));
        let e = one(
            r#"{"startedDateTime":"2026-03-14T11:00:00.123456+01:00","request":{"method":"DELETE","url":"https://h","headers":[]},"response":{"status":409,"headers":[{"name":"x-request-id","value":"resp-1"},{"name":"apigw-requestid","value":"A1"}]}}"#,
        )
        .unwrap();
        assert_eq!((e.time_ns, e.precision_ns), (T0 + 123_456_000, 1_000));
        assert_eq!(e.outcome, Outcome::Conflict);
        assert_eq!(
            (
                e.correlation.app_request_id.as_str(),
                e.correlation.request_id.as_str()
            ),
            ("resp-1", "A1")
        );
        assert_eq!(http(&e).path, "/");
        let missing = one(
            r#"{"startedDateTime":"2026-03-14T10:00:00Z","request":{"method":"GET","url":"https://h/a"}}"#,
        )
        .unwrap();
        assert_eq!(
            (http(&missing).status, missing.outcome),
            (0, Outcome::Unknown)
        );
    }

    #[test]
    fn non_http_entries_are_skipped_and_bad_ones_say_what_was_expected() {
        let at = |url: &str| {
            format!(
                r#"{{"startedDateTime":"2026-03-14T10:00:00Z","request":{{"method":"GET","url":"{url}"}}}}"#
            )
        };
        let entries = [
            at("data:image/png;base64,iVBOR"),
            at("wss://h/socket"),
            at("chrome-extension://abc/x.js"),
            at("blob:https://h/1"),
            "[1]".to_owned(),
            r#"{"startedDateTime":"2026-03-14T10:00:00Z"}"#.to_owned(),
            r#"{"startedDateTime":"2026-03-14T10:00:00Z","request":{"url":"https://h"}}"#.to_owned(),
            r#"{"startedDateTime":"2026-03-14T10:00:00Z","request":{"method":"GET"}}"#.to_owned(),
            r#"{"request":{"method":"GET","url":"https://h"}}"#.to_owned(),
            r#"{"startedDateTime":"Sat, 14 Mar 2026","request":{"method":"GET","url":"https://h"}}"#
                .to_owned(),
        ];
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let out = read(&har(&refs));
        let got: Vec<_> = out
            .iter()
            .map(|(i, l, r)| (*i, *l, r.clone().unwrap_err()))
            .collect();
        let expected = [
            "skip: not an HTTP request",
            "skip: not an HTTP request",
            "skip: not an HTTP request",
            "skip: not an HTTP request",
            "expected a HAR entry object, found an array",
            "missing `request`: expected the entry's request object",
            "missing `request.method`: expected the HTTP method",
            "missing `request.url`: expected the request URL",
            "missing `startedDateTime`: expected an RFC 3339 time",
            "invalid `startedDateTime` `Sat, 14 Mar 2026`: expected an RFC 3339 time like `2026-03-14T10:00:00.123Z`",
        ];
        assert_eq!(got.len(), expected.len());
        for (i, ((index, line, message), want)) in got.iter().zip(expected).enumerate() {
            assert_eq!(
                (*index, *line, message.as_str()),
                (i as u64 + 1, Some(i as u64 + 2), want)
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_ignored_and_non_har_is_refused() {
        let text = format!(
            "\u{feff}{}",
            har(&[
                r#"{"startedDateTime":"2026-03-14T10:00:00Z","request":{"method":"GET","url":"https://h/"}}"#
            ])
        );
        let out = read(&text);
        assert_eq!(out[0].1, Some(2));
        assert!(out[0].2.is_ok());
        let mut sink = |_, _: At<'_>, _| {};
        assert_eq!(
            read_document("a.har", "[]", &mut sink).unwrap_err(),
            "not a HAR file: expected a JSON object `{\"log\": {\"entries\": [...]}}`"
        );
        assert_eq!(
            read_document("a.har", r#"{"log": 1}"#, &mut sink).unwrap_err(),
            "not a HAR file: invalid type: integer `1`, expected struct Log at line 1 column 9: expected `{\"log\": {\"entries\": [...]}}`"
        );
        assert!(read(r#"{"log":{"version":"1.2","creator":{}}}"#).is_empty());
    }

    const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260314/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=9f3c";

    fn dynamo(op: &str, body: &str, status: u16, response: &str) -> String {
        format!(
            r#"{{"startedDateTime":"2026-03-14T10:00:00.250Z","time":4.0,
              "request":{{"method":"POST","url":"https://dynamodb.us-east-1.amazonaws.com/","httpVersion":"HTTP/1.1",
                "headers":[{{"name":"X-Amz-Target","value":"DynamoDB_20120810.{op}"}},{{"name":"Authorization","value":"{SIGV4}"}}],
                "postData":{{"mimeType":"application/x-amz-json-1.0",{body}}}}},
              "response":{{"status":{status},"headers":[{{"name":"x-amzn-RequestId","value":"RID-{op}"}}],
                "content":{{"mimeType":"application/x-amz-json-1.0",{response}}}}}}}"#
        )
    }

    #[test]
    fn dynamodb_calls_become_db_operations() {
        let update = dynamo(
            "UpdateItem",
            r##""text":"{\"TableName\":\"orders\",\"Key\":{\"orderId\":{\"S\":\"o-1\"}},\"UpdateExpression\":\"SET #s = :s\",\"ConditionExpression\":\"#s = :old\",\"ExpressionAttributeValues\":{\":s\":{\"S\":\"paid\"},\":old\":{\"S\":\"new\"}}}""##,
            400,
            r#""text":"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\",\"message\":\"The conditional request failed\"}""#,
        );
        let e = one(&update).unwrap();
        assert_eq!(e.id, "har:a.har#1");
        assert_eq!((e.time_ns, e.precision_ns), (T0 + 250_000_000, 1_000_000));
        assert_eq!(e.actor.key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(e.correlation.request_id, "RID-UpdateItem");
        assert_eq!(e.outcome, Outcome::Conflict);
        assert_eq!(
            *db(&e),
            DbOperation {
                service: "dynamodb".into(),
                operation: "UpdateItem".into(),
                table: "orders".into(),
                key: crate::event::Fields::from_iter([("orderId".into(), "o-1".into())]),
                has_condition: true,
                condition: "#s = :old".into(),
                update_expression: "SET #s = :s".into(),
                is_write: true,
                error_code: "ConditionalCheckFailedException".into(),
                ..DbOperation::default()
            }
        );
        assert_eq!(
            e.attributes,
            [
                ("duration_ns".into(), "4000000".into()),
                ("host".into(), "dynamodb.us-east-1.amazonaws.com".into()),
                ("http_version".into(), "HTTP/1.1".into()),
            ]
            .into_iter()
            .collect::<crate::event::Fields>()
        );
        assert!(!crate::event::to_json(&e).unwrap().contains("paid"));
    }

    #[test]
    fn dynamodb_bodies_may_be_base64_and_key_schemas_last_the_file() {
        let get = dynamo(
            "GetItem",
            r#""text":"{\"TableName\":\"orders\",\"Key\":{\"orderId\":{\"S\":\"o-1\"}}}""#,
            200,
            r#""text":"{}""#,
        );
        let put_body = STANDARD
            .encode(r#"{"TableName":"orders","Item":{"orderId":{"S":"o-2"},"card":{"S":"4111"}}}"#);
        let put = dynamo(
            "PutItem",
            &format!(r#""text":"{put_body}","encoding":"base64""#),
            400,
            &format!(
                r#""text":"{}","encoding":"base64""#,
                STANDARD.encode(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}"#)
            ),
        );
        let out = read(&har(&[&get, &put]));
        let put = out[1].2.as_ref().unwrap();
        assert_eq!((out[1].0, put.id.as_str()), (2, "har:a.har#2"));
        assert_eq!(
            db(put).key,
            crate::event::Fields::from_iter([("orderId".into(), "o-2".into())])
        );
        assert_eq!(put.outcome, Outcome::Throttled);
        assert!(!crate::event::to_json(put).unwrap().contains("4111"));
        let get = out[0].2.as_ref().unwrap();
        assert_eq!(
            (get.outcome, db(get).error_code.as_str()),
            (Outcome::Success, "")
        );
    }

    #[test]
    fn a_dynamodb_transaction_is_one_record_with_an_event_per_item() {
        let tx = dynamo(
            "TransactWriteItems",
            r#""text":"{\"TransactItems\":[{\"Put\":{\"TableName\":\"a\",\"Item\":{\"id\":{\"S\":\"1\"}}}},{\"Delete\":{\"TableName\":\"b\",\"Key\":{\"id\":{\"S\":\"2\"}}}}]}""#,
            200,
            r#""text":"{}""#,
        );
        let out = read(&har(&[&tx]));
        let got: Vec<_> = out
            .iter()
            .map(|(i, _, e)| {
                let e = e.as_ref().unwrap();
                (
                    *i,
                    e.id.to_string(),
                    db(e).operation.to_string(),
                    db(e).group_id.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    "har:a.har#1/1".to_owned(),
                    "PutItem".to_owned(),
                    "har:a.har#1".to_owned()
                ),
                (
                    1,
                    "har:a.har#1/2".to_owned(),
                    "DeleteItem".to_owned(),
                    "har:a.har#1".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn dynamodb_control_plane_and_bodiless_calls() {
        let describe = dynamo("DescribeTable", r#""text":"{}""#, 200, r#""text":"{}""#);
        assert_eq!(
            one(&describe).unwrap_err(),
            "skip: DynamoDB control-plane call"
        );
        let cases = [
            (
                r#""size":0"#,
                "missing `request.postData.text`: expected the DynamoDB request body",
            ),
            (
                r#""text":"@@","encoding":"base64""#,
                "invalid base64 in `request.postData.text`: expected the DynamoDB request body",
            ),
            (
                r#""text":"[]""#,
                "invalid `request.postData.text`: invalid type: sequence, expected a map at line 1 column 0: expected the DynamoDB request body as a JSON object",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(
                one(&dynamo("GetItem", body, 200, r#""size":0"#)).unwrap_err(),
                message
            );
        }
    }

    #[test]
    fn no_key_material_reaches_events() {
        let bearer = jwt(r#"{"sub":"alice"}"#);
        let secrets = [
            bearer.as_str(),
            "sk_live_HEADERKEY",
            "COOKIESESSION",
            "czNjcmV0", // base64 of the Basic password
            "s3cret",
            "YWxpY2U6czNjcmV0",
            "QUERYKEY",
            "URLPASSWORD",
            "JSESSIONVALUE",
            "FRAGMENTTOKEN",
            "BODYPASSWORD",
            "SETCOOKIEVALUE",
            "ARRAYCOOKIE",
        ];
        let entries = [
            format!(
                r#"{{"startedDateTime":"2026-03-14T10:00:00Z","request":{{"method":"POST","url":"https://bob:URLPASSWORD@h/login;jsessionid=JSESSIONVALUE?api_key=QUERYKEY&x=1#access_token=FRAGMENTTOKEN",
                  "headers":[{{"name":"Authorization","value":"Bearer {bearer}"}},{{"name":"X-API-Key","value":"sk_live_HEADERKEY"}},{{"name":"Cookie","value":"session=COOKIESESSION"}}],
                  "cookies":[{{"name":"sid","value":"ARRAYCOOKIE"}}],
                  "postData":{{"text":"password=BODYPASSWORD"}}}},
                  "response":{{"status":200,"headers":[{{"name":"Set-Cookie","value":"session=SETCOOKIEVALUE"}}],"cookies":[{{"name":"session","value":"SETCOOKIEVALUE"}}]}}}}"#
            ),
            r#"{"startedDateTime":"2026-03-14T10:00:00Z","request":{"method":"GET","url":"https://h/me","headers":[{"name":"authorization","value":"Basic YWxpY2U6czNjcmV0"}],"cookies":[{"name":"sid","value":"ARRAYCOOKIE"}]},"response":{"status":200}}"#.to_owned(),
        ];
        let refs: Vec<&str> = entries.iter().map(String::as_str).collect();
        let out = read(&har(&refs));
        assert_eq!(out.len(), 2);
        for (_, _, e) in &out {
            let json = crate::event::to_json(e.as_ref().unwrap()).unwrap();
            for secret in secrets {
                assert!(!json.contains(secret), "`{secret}` in {json}");
            }
        }
        let first = out[0].2.as_ref().unwrap();
        assert_eq!(first.actor.key_id, key_id_of(&bearer));
        assert_eq!(first.actor.session, key_id_of("COOKIESESSION"));
        assert_eq!(
            first
                .attributes
                .get("host")
                .map(crate::event::SmolStr::as_str),
            Some("h")
        );
        let basic = out[1].2.as_ref().unwrap();
        assert_eq!(basic.actor.principal, "alice");
        assert_eq!(basic.actor.session, key_id_of("ARRAYCOOKIE"));
    }

    #[test]
    fn detection_and_helpers() {
        let obj = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        assert!(looks_like(&obj(r#"{"log":{"entries":[]}}"#)));
        assert!(looks_like(&obj(
            r#"{"log":{"version":"1.2","creator":{}}}"#
        )));
        assert!(!looks_like(&obj(r#"{"log":{"version":"1.2"}}"#)));
        assert!(!looks_like(&obj(r#"{"log":"x","entries":[]}"#)));
        assert!(!looks_like(&obj(r#"{"Records":[]}"#)));
        let tp = |v| traceparent(v).is_some();
        assert!(tp(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(tp(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        ));
        assert!(!tp(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"
        ));
        assert!(!tp(
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        ));
        assert!(!tp(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"
        ));
        assert!(!tp(
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert!(!tp("00-4bf92f35-00f067aa0ba902b7-01"));
    }
}
