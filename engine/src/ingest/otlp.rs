//! OpenTelemetry traces in OTLP/JSON: an `ExportTraceServiceRequest` document
//! (`{"resourceSpans": [...]}`, as file exporters write it) or one such object per line (the
//! Collector's `file` exporter). One record per span:
//!
//! - HTTP server spans (semantic conventions `http.request.method`, `url.path`, `url.query`,
//!   `http.route`, `http.response.status_code`, `enduser.id`, `client.address`,
//!   `user_agent.original`, captured `http.request.header.*`; the older `http.method`,
//!   `http.target`, `http.status_code`, `net.peer.ip`, `http.user_agent` too) become HTTP events;
//! - AWS SDK DynamoDB client spans (`rpc.system = aws-api` and `rpc.service = DynamoDB`, or
//!   `db.system = dynamodb`) become DB-operation events, one per table. They carry the table and
//!   operation but neither item keys nor conditions: they are marked `key_unknown`, and the
//!   correlation stage folds them into the wire-log or CloudTrail event with the same
//!   `aws.request_id`, which has them;
//! - other spans are counted as skipped.
//!
//! Ids are lowercase hex as OTLP/JSON specifies; the base64 that protobuf's generic JSON mapping
//! writes is accepted too.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::correlate::KEY_UNKNOWN;
use super::credentials::identity_from_headers;
use super::http::{
    Url, http_outcome, normalize_route, object_ids, redact_path, redact_query, split_url,
};
use super::wire::{CONTROL_PLANE, call_outcome, kind_of};
use super::{At, LineCounter, Record, dynamodb};
use crate::event::{Actor, Correlation, DbOperation, Detail, Event, Http, Outcome, SourceRef};

const FORMAT: &str = "otlp";

/// The skip reason of spans the engine does not model.
const NOT_MODELLED: &str = "span is neither an HTTP server request nor a DynamoDB call";

#[derive(Deserialize)]
struct Request<'a> {
    /// Absent (not empty) when the object is not a trace export at all.
    #[serde(rename = "resourceSpans", borrow, default)]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
    /// The other OTLP signals, recognised only to name them in the skip reason.
    #[serde(rename = "resourceLogs", default)]
    resource_logs: Option<serde::de::IgnoredAny>,
    #[serde(rename = "resourceMetrics", default)]
    resource_metrics: Option<serde::de::IgnoredAny>,
    #[serde(rename = "resourceProfiles", default)]
    resource_profiles: Option<serde::de::IgnoredAny>,
}

/// The skip reason of export requests of the other OTLP signals.
const OTHER_SIGNAL: &str = "OTLP logs, metrics or profiles, not traces";

/// The error of an object that is no OTLP export request at all.
const NOT_A_REQUEST: &str =
    "missing `resourceSpans`: expected an OTLP/JSON trace export `{\"resourceSpans\": [...]}`";

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(rename = "scopeSpans", borrow, default)]
    scope_spans: Vec<ScopeSpans<'a>>,
    /// OTLP before 0.19.
    #[serde(rename = "instrumentationLibrarySpans", borrow, default)]
    library_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize, Default)]
struct Resource {
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Span {
    #[serde(rename = "traceId", default)]
    trace_id: String,
    #[serde(rename = "spanId", default)]
    span_id: String,
    #[serde(rename = "parentSpanId", default)]
    parent_span_id: String,
    #[serde(default)]
    kind: Value,
    #[serde(rename = "startTimeUnixNano", default)]
    start: Value,
    #[serde(rename = "endTimeUnixNano", default)]
    end: Value,
    #[serde(default)]
    attributes: Vec<KeyValue>,
    #[serde(default)]
    events: Vec<SpanEvent>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct SpanEvent {
    #[serde(default)]
    name: String,
    #[serde(default)]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Value,
}

/// Whether the first object of an input is an OTLP trace export.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    obj.get("resourceSpans").is_some_and(Value::is_array)
}

/// Reads an `ExportTraceServiceRequest` document; each span gets the line it starts on.
pub(super) fn read_document(
    file: &str,
    text: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) -> Result<(), String> {
    let mut lines = LineCounter::new(text);
    let mut index = 0;
    // Usually one request; several back to back (a Collector file whose first line is too long
    // to be seen as a line) are read in turn.
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Request<'_>>();
    let mut n = 0;
    loop {
        let rest = text.get(stream.byte_offset()..).unwrap_or_default();
        let starts = rest.trim_start();
        let Some(request) = stream.next() else { break };
        n += 1;
        match request {
            Ok(request) => {
                let start = lines.line_of(starts);
                read_request(file, &mut index, request, start, sink, |raw| lines.at(raw));
            }
            Err(e) if n == 1 => {
                return Err(format!(
                    "not OTLP/JSON traces: {e}: expected `{{\"resourceSpans\": [...]}}`"
                ));
            }
            Err(e) => {
                index += 1;
                sink(
                    index,
                    At::line_only(Some(e.line() as u64)),
                    Record::Malformed(format!(
                        "export request {n}: {e}: expected `{{\"resourceSpans\": [...]}}`; the rest of the file is not read"
                    )),
                );
                break;
            }
        }
    }
    Ok(())
}

/// Reads one line of the Collector's `file` exporter: a whole export request; its spans all get
/// that line.
pub(super) fn read_line(
    file: &str,
    index: &mut u64,
    line_no: u64,
    line: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    match serde_json::from_str::<Request<'_>>(line) {
        Ok(request) => read_request(file, index, request, Some(line_no), sink, |_| {
            At::line(line_no, line)
        }),
        Err(e) => {
            *index += 1;
            sink(
                *index,
                At::line(line_no, line),
                Record::Malformed(format!(
                    "not OTLP/JSON traces: {e}: expected `{{\"resourceSpans\": [...]}}` on each line"
                )),
            );
        }
    }
}

/// Reads the spans of one export request; a request of another signal, or an object that is no
/// export request, is one record, so that it is accounted for. `line` is where the request
/// starts.
fn read_request<'a>(
    file: &str,
    index: &mut u64,
    request: Request<'a>,
    line: Option<u64>,
    sink: &mut impl FnMut(u64, At<'_>, Record),
    mut at_of: impl FnMut(&'a str) -> At<'a>,
) {
    let Some(all_resource_spans) = request.resource_spans else {
        *index += 1;
        let other_signal = request.resource_logs.is_some()
            || request.resource_metrics.is_some()
            || request.resource_profiles.is_some();
        let record = if other_signal {
            Record::Skip(OTHER_SIGNAL)
        } else {
            Record::Malformed(NOT_A_REQUEST.to_owned())
        };
        sink(*index, At::line_only(line), record);
        return;
    };
    for resource_spans in all_resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        let service = resource
            .attributes
            .iter()
            .find(|kv| kv.key == "service.name")
            .map(|kv| any_value(&kv.value))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let scopes = resource_spans
            .scope_spans
            .into_iter()
            .chain(resource_spans.library_spans);
        for raw in scopes.flat_map(|s| s.spans) {
            *index += 1;
            let at = at_of(raw.get());
            let records = match convert(file, *index, at.line, raw.get(), &service) {
                Ok(events) => events
                    .into_iter()
                    .map(|e| Record::Event(Box::new(e)))
                    .collect(),
                Err(record) => vec![record],
            };
            for record in records {
                sink(*index, at, record);
            }
        }
    }
}

/// An OTLP `AnyValue` as plain JSON: `{"stringValue": "x"}` gives `"x"`, `{"intValue": "3"}`
/// gives `3`, arrays and key-value lists their plain forms.
fn any_value(value: &Value) -> Value {
    let Some(obj) = value.as_object() else {
        return value.clone();
    };
    let Some((kind, v)) = obj.iter().next() else {
        return Value::Null;
    };
    match kind.as_str() {
        "intValue" => match v {
            Value::String(s) => s.parse::<i64>().map_or(Value::Null, Value::from),
            other => other.clone(),
        },
        "arrayValue" => Value::Array(
            v.get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(any_value)
                .collect(),
        ),
        "kvlistValue" => Value::Object(
            v.get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|kv| {
                    Some((
                        kv.get("key")?.as_str()?.to_owned(),
                        any_value(kv.get("value")?),
                    ))
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// A span's attributes by name, as plain JSON values.
struct Attributes(HashMap<String, Value>);

impl Attributes {
    fn new(list: &[KeyValue]) -> Self {
        Attributes(
            list.iter()
                .map(|kv| (kv.key.clone(), any_value(&kv.value)))
                .collect(),
        )
    }

    /// The first of `names` present as a non-empty string (the first element of an array).
    fn text(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            let v = self.0.get(*n)?;
            let v = v.as_array().and_then(|a| a.first()).unwrap_or(v);
            v.as_str().filter(|s| !s.is_empty())
        })
    }

    /// The first of `names` present as an integer (or a string holding one).
    fn int(&self, names: &[&str]) -> Option<i64> {
        names.iter().find_map(|n| match self.0.get(*n)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    fn boolean(&self, name: &str) -> Option<bool> {
        match self.0.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Captured request headers (`http.request.header.<name>`: a list of values; instrumentations
    /// write the name with `-` or `_`), as (name, first value).
    fn request_headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("http.request.header.")?.replace('_', "-");
                let value = v.as_array().and_then(|a| a.first()).unwrap_or(v).as_str()?;
                Some((name, value.to_owned()))
            })
            .collect();
        headers.sort();
        headers
    }
}

/// A span id or trace id as lowercase hex: hex as OTLP/JSON writes it, or the base64 of
/// protobuf's JSON mapping. Empty stays empty.
fn hex_id(id: &str, bytes: usize, name: &str) -> Result<String, Record> {
    if id.is_empty() {
        return Ok(String::new());
    }
    if id.len() == bytes * 2 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(id.to_ascii_lowercase());
    }
    match STANDARD.decode(id) {
        Ok(raw) if raw.len() == bytes => Ok(crate::digest::hex(&raw)),
        _ => Err(Record::Malformed(format!(
            "invalid `{name}` `{id}`: expected {} hex digits",
            bytes * 2
        ))),
    }
}

/// Unix nanoseconds: OTLP/JSON writes the 64-bit integer as a decimal string; a number is
/// accepted too.
fn unix_nanos(value: &Value, name: &str) -> Result<Option<i64>, Record> {
    let parsed = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    match parsed {
        Some(ns) if ns > 0 => Ok(Some(ns)),
        _ => Err(Record::Malformed(format!(
            "invalid `{name}` {value}: expected Unix nanoseconds as a decimal string"
        ))),
    }
}

/// Whether a span kind (number or enum name) is `want` (2 server, 3 client).
fn kind_is(kind: &Value, want: i64) -> bool {
    match kind {
        Value::Number(n) => n.as_i64() == Some(want),
        Value::String(s) => {
            let name = if want == 2 { "SERVER" } else { "CLIENT" };
            s.trim_start_matches("SPAN_KIND_")
                .eq_ignore_ascii_case(name)
        }
        _ => false,
    }
}

/// The id of a span without trace or span id: where it was read.
fn positional_id(file: &str, index: u64) -> String {
    format!("otel:{file}#{index}")
}

/// Moves an event of a chunk of lines parsed counting its spans from 0 past the `before` spans
/// of the lines before it: its record number and, when it has one, its positional id (the
/// `/<n>` of one item of a call kept), which a call's items also carry as their group.
pub(super) fn rebase(e: &mut Event, file: &str, before: u64) {
    let local = e.source.record;
    e.source.record = local + before;
    let old = positional_id(file, local);
    let Some(rest) = e.id.strip_prefix(old.as_str()) else {
        return;
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return;
    }
    let new = positional_id(file, local + before);
    e.id = format!("{new}{rest}").into();
    if let Detail::DbOperation(db) = &mut e.detail
        && db.group_id == old
    {
        db.group_id = new.into();
    }
}

fn convert(
    file: &str,
    index: u64,
    line: Option<u64>,
    json: &str,
    service: &str,
) -> Result<Vec<Event>, Record> {
    let span: Span = match serde_json::from_str(json) {
        Ok(s) => s,
        Err(e) => {
            let found = serde_json::from_str::<Value>(json)
                .map(|v| kind_of(&v))
                .unwrap_or("invalid JSON");
            return Err(Record::Malformed(if found == "an object" {
                format!("invalid span: {e}")
            } else {
                format!("expected a span object, found {found}")
            }));
        }
    };
    let attrs = Attributes::new(&span.attributes);
    let is_dynamodb = (attrs.text(&["rpc.system"]) == Some("aws-api")
        && attrs.text(&["rpc.service"]) == Some("DynamoDB"))
        || attrs.text(&["db.system"]) == Some("dynamodb")
        || attrs.text(&["db.system.name"]) == Some("aws.dynamodb");
    // `_OTHER` stands for a method outside the known set; the original is kept beside it.
    let method = match attrs.text(&["http.request.method", "http.method"]) {
        Some("_OTHER") => attrs
            .text(&["http.request.method_original"])
            .or(Some("_OTHER")),
        method => method,
    };
    let is_server = method.is_some()
        && (kind_is(&span.kind, 2)
            || (matches!(span.kind, Value::Null | Value::Number(_) if !kind_is(&span.kind, 3))
                && !attrs.has("rpc.system")));
    if !is_dynamodb && !is_server {
        return Err(Record::Skip(NOT_MODELLED));
    }
    let trace_id = hex_id(&span.trace_id, 16, "traceId")?;
    let span_id = hex_id(&span.span_id, 8, "spanId")?;
    let parent_span_id = hex_id(&span.parent_span_id, 8, "parentSpanId")?;
    let start = unix_nanos(&span.start, "startTimeUnixNano")?.ok_or_else(|| {
        Record::Malformed(
            "missing `startTimeUnixNano`: expected Unix nanoseconds as a decimal string".to_owned(),
        )
    })?;
    let end = unix_nanos(&span.end, "endTimeUnixNano")?;
    let duration_ns = end
        .and_then(|end| u64::try_from(end - start).ok())
        .unwrap_or_default();
    let failed = span
        .status
        .as_ref()
        .is_some_and(|s| s.code == 2 || s.code == "STATUS_CODE_ERROR");
    let id = if trace_id.is_empty() || span_id.is_empty() {
        positional_id(file, index)
    } else {
        format!("otel:{trace_id}:{span_id}")
    };
    let mut attributes = crate::event::Fields::new();
    if !service.is_empty() {
        attributes.insert("service".into(), service.into());
    }
    let correlation = Correlation {
        trace_id: trace_id.into(),
        span_id: span_id.into(),
        parent_span_id: parent_span_id.into(),
        ..Correlation::default()
    };
    let event =
        |id: String, actor: Actor, correlation: Correlation, outcome, detail, attributes| Event {
            facts: Default::default(),
            id: id.into(),
            time_ns: start,
            precision_ns: 1,
            source: SourceRef::at(file, index, line, FORMAT),
            actor,
            correlation,
            outcome,
            detail,
            attributes,
        };
    let status = attrs
        .int(&["http.response.status_code", "http.status_code"])
        .and_then(|s| u16::try_from(s).ok());

    if is_dynamodb {
        let operation = attrs
            .text(&["rpc.method", "db.operation", "db.operation.name"])
            .ok_or_else(|| {
                Record::Malformed(
                    "DynamoDB span without `rpc.method` or `db.operation`: expected the operation"
                        .to_owned(),
                )
            })?;
        if !dynamodb::is_data_plane(operation) {
            return Err(Record::Skip(CONTROL_PLANE));
        }
        let error_code = error_code(&span.events, &attrs);
        let mut outcome = call_outcome(&error_code, status);
        if failed && outcome == Outcome::Success {
            outcome = Outcome::Error;
        }
        let tables: Vec<String> = match attrs.0.get("aws.dynamodb.table_names") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => attrs
                .text(&["aws.dynamodb.table_names", "db.collection.name", "db.name"])
                .map(|t| vec![t.to_owned()])
                .unwrap_or_default(),
        };
        let tables = if tables.is_empty() {
            vec![String::new()]
        } else {
            tables
        };
        let many = tables.len() > 1;
        let correlation = Correlation {
            request_id: attrs.text(&["aws.request_id"]).unwrap_or_default().into(),
            ..correlation
        };
        let actor = Actor {
            principal: attrs.text(&["enduser.id"]).unwrap_or_default().into(),
            ..Actor::default()
        };
        attributes.insert(KEY_UNKNOWN.into(), "otel".into());
        if duration_ns > 0 {
            attributes.insert("duration_ns".into(), duration_ns.to_string().into());
        }
        return Ok(tables
            .into_iter()
            .enumerate()
            .map(|(i, table)| {
                let op = DbOperation {
                    service: "dynamodb".into(),
                    operation: operation.into(),
                    table: table.into(),
                    key: crate::event::Fields::new(),
                    has_condition: false,
                    condition: Default::default(),
                    update_expression: Default::default(),
                    consistent_read: attrs.boolean("aws.dynamodb.consistent_read"),
                    index_name: attrs
                        .text(&["aws.dynamodb.index_name"])
                        .unwrap_or_default()
                        .into(),
                    group_id: if many {
                        id.clone().into()
                    } else {
                        Default::default()
                    },
                    is_write: dynamodb::is_write(operation),
                    error_code: error_code.clone().into(),
                };
                let id = if many {
                    format!("{id}/{}", i + 1)
                } else {
                    id.clone()
                };
                event(
                    id,
                    actor.clone(),
                    correlation.clone(),
                    outcome,
                    Detail::DbOperation(op),
                    attributes.clone(),
                )
            })
            .collect());
    }

    // Path and query: `url.path`/`url.query`, else the older `http.target`, else the full URL
    // (`url.full`, `http.url`), which also names the host.
    let full = attrs
        .text(&["url.full", "http.url"])
        .and_then(split_url)
        .unwrap_or(Url {
            host: "",
            path: "",
            query: "",
        });
    let (target_path, target_query) = attrs
        .text(&["http.target"])
        .map_or((full.path, full.query), |t| {
            t.split_once('?').unwrap_or((t, ""))
        });
    let path = attrs.text(&["url.path"]).unwrap_or(target_path);
    let path = redact_path(if path.is_empty() { "/" } else { path });
    let query = redact_query(attrs.text(&["url.query"]).unwrap_or(target_query));
    let host = match (
        attrs.text(&["server.address", "http.host", "net.host.name"]),
        attrs.int(&["server.port", "net.host.port"]),
    ) {
        (Some(h), Some(port)) if !h.contains(':') => format!("{h}:{port}"),
        (Some(h), _) => h.to_owned(),
        (None, _) => full.host.to_owned(),
    };
    if !host.is_empty() {
        attributes.insert("host".into(), host.into());
    }
    let headers = attrs.request_headers();
    let identity = identity_from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let app_request_id = header("x-request-id")
        .or_else(|| {
            attrs
                .0
                .iter()
                .find(|(k, _)| {
                    k.strip_prefix("http.response.header.")
                        .is_some_and(|n| n.replace('_', "-").eq_ignore_ascii_case("x-request-id"))
                })
                .and_then(|(_, v)| v.as_array().and_then(|a| a.first()).unwrap_or(v).as_str())
        })
        .or_else(|| {
            header("x-amzn-trace-id").and_then(|v| {
                v.split(';')
                    .find_map(|p| p.trim().strip_prefix("Root="))
                    .filter(|r| !r.is_empty())
            })
        })
        .unwrap_or_default()
        .to_owned();
    let principal = attrs
        .text(&["enduser.id"])
        .map(str::to_owned)
        .unwrap_or(identity.principal);
    let actor = Actor {
        principal: principal.into(),
        key_id: if identity.key_id.is_empty() {
            query.key_id.unwrap_or_default().into()
        } else {
            identity.key_id.into()
        },
        tenant: attrs
            .text(&["tenant.id"])
            .map(str::to_owned)
            .unwrap_or(identity.tenant)
            .into(),
        ip: attrs
            .text(&[
                "client.address",
                "http.client_ip",
                "net.peer.ip",
                "net.sock.peer.addr",
            ])
            .unwrap_or_default()
            .into(),
        user_agent: attrs
            .text(&["user_agent.original", "http.user_agent"])
            .unwrap_or_default()
            .into(),
        session: identity.session.into(),
    };
    let status = status.unwrap_or_default();
    let mut outcome = http_outcome(status);
    if failed && status == 0 {
        outcome = Outcome::Error;
    }
    let http = Http {
        returned_ids: Vec::new(),
        method: method.unwrap_or_default().to_ascii_uppercase().into(),
        params: object_ids(&path.text),
        path: path.text.into(),
        route: attrs
            .text(&["http.route"])
            .map(normalize_route)
            .unwrap_or_default()
            .into(),
        status,
        duration_ns,
        query: query.text.into(),
    };
    Ok(vec![event(
        id,
        actor,
        Correlation {
            app_request_id: app_request_id.into(),
            ..correlation
        },
        outcome,
        Detail::Http(http),
        attributes,
    )])
}

/// The last part of an error class name: `botocore.errorfactory.ConditionalCheckFailedException`
/// gives `ConditionalCheckFailedException`.
fn class_name(kind: &str) -> &str {
    kind.rsplit(['.', '#', ':']).next().unwrap_or(kind)
}

/// The service error code of a failed call, from its `exception` span event: the class name of
/// `exception.type`, or, for a generic `ClientError`, the code botocore puts in the message
/// (`An error occurred (Code) when ...`); without that event, the class name of the span's
/// `error.type` (newer instrumentations).
fn error_code(events: &[SpanEvent], span: &Attributes) -> String {
    let Some(exception) = events.iter().find(|e| e.name == "exception") else {
        return span
            .text(&["error.type"])
            .filter(|t| *t != "_OTHER")
            .map(|t| class_name(t).to_owned())
            .unwrap_or_default();
    };
    let attrs = Attributes::new(&exception.attributes);
    let kind = attrs.text(&["exception.type"]).unwrap_or_default();
    let short = class_name(kind);
    if short != "ClientError" {
        return short.to_owned();
    }
    attrs
        .text(&["exception.message"])
        .and_then(|m| m.split_once("An error occurred (")?.1.split_once(')'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| short.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(u64, Option<u64>, Result<Event, String>)> {
        let mut out = Vec::new();
        let mut sink = |i, at: At<'_>, r: Record| out.push((i, at.line, r.into_result()));
        read_document("t.json", text, &mut sink).unwrap();
        out
    }

    fn doc(spans: &[&str]) -> String {
        format!(
            "{{\"resourceSpans\": [{{\"resource\": {{\"attributes\": [{{\"key\": \"service.name\", \"value\": {{\"stringValue\": \"orders\"}}}}]}},\n\"scopeSpans\": [{{\"spans\": [\n{}]}}]}}]}}",
            spans.join(",\n")
        )
    }

    const SERVER: &str = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"1111111111111111","kind":2,"startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000000005000001","attributes":[{"key":"http.request.method","value":{"stringValue":"PUT"}},{"key":"url.path","value":{"stringValue":"/users/42/profile"}},{"key":"url.query","value":{"stringValue":"token=s3cret&x=1"}},{"key":"http.route","value":{"stringValue":"/users/<int:user_id>/profile"}},{"key":"http.response.status_code","value":{"intValue":"403"}},{"key":"enduser.id","value":{"stringValue":"bob"}},{"key":"client.address","value":{"stringValue":"203.0.113.9"}},{"key":"http.request.header.x_request_id","value":{"arrayValue":{"values":[{"stringValue":"req-9"}]}}},{"key":"http.request.header.x-api-key","value":{"arrayValue":{"values":[{"stringValue":"live-key"}]}}}]}"#;

    #[test]
    fn server_spans_are_http_events() {
        let out = read(&doc(&[SERVER]));
        let (i, line, e) = &out[0];
        assert_eq!((*i, *line), (1, Some(3)));
        let e = e.as_ref().unwrap();
        assert_eq!(
            e.id,
            "otel:4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7"
        );
        assert_eq!((e.time_ns, e.precision_ns), (1_700_000_000_000_000_001, 1));
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(e.actor.principal, "bob");
        assert_eq!(e.actor.ip, "203.0.113.9");
        assert_eq!(
            e.actor.key_id,
            crate::ingest::credentials::key_id_of("live-key")
        );
        assert_eq!(e.correlation.app_request_id, "req-9");
        assert_eq!(e.correlation.parent_span_id, "1111111111111111");
        assert_eq!(e.attributes.get("service").unwrap(), "orders");
        let Detail::Http(h) = &e.detail else { panic!() };
        assert_eq!(
            (
                h.method.as_str(),
                h.path.as_str(),
                h.route.as_str(),
                h.status
            ),
            ("PUT", "/users/42/profile", "/users/{user_id}/profile", 403)
        );
        assert_eq!(h.duration_ns, 5_000_000);
        assert!(h.query.starts_with("token=hk:"), "{}", h.query);
        assert_eq!(h.params.get("users").unwrap(), "42");
    }

    #[test]
    fn old_http_names_and_base64_ids_are_read() {
        let span = r#"{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"APBnqgupArc=","kind":"SPAN_KIND_SERVER","startTimeUnixNano":1700000000000000000,"attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.target","value":{"stringValue":"/orders/7?page=2"}},{"key":"http.status_code","value":{"intValue":200}},{"key":"net.peer.ip","value":{"stringValue":"10.0.0.1"}}]}"#;
        let out = read(&doc(&[span]));
        let e = out[0].2.as_ref().unwrap();
        assert_eq!(e.correlation.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(e.correlation.span_id, "00f067aa0ba902b7");
        let Detail::Http(h) = &e.detail else { panic!() };
        assert_eq!(
            (h.path.as_str(), h.query.as_str(), h.status),
            ("/orders/7", "page=2", 200)
        );
        assert_eq!(e.actor.ip, "10.0.0.1");
        assert_eq!(e.outcome, Outcome::Success);
    }

    #[test]
    fn dynamodb_client_spans_are_keyless_db_operations() {
        let get = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"2222222222222222","parentSpanId":"00f067aa0ba902b7","kind":3,"startTimeUnixNano":"1700000000001000000","endTimeUnixNano":"1700000000002000000","attributes":[{"key":"rpc.system","value":{"stringValue":"aws-api"}},{"key":"rpc.service","value":{"stringValue":"DynamoDB"}},{"key":"rpc.method","value":{"stringValue":"GetItem"}},{"key":"aws.dynamodb.table_names","value":{"arrayValue":{"values":[{"stringValue":"orders"}]}}},{"key":"aws.dynamodb.consistent_read","value":{"boolValue":true}},{"key":"aws.request_id","value":{"stringValue":"RID1"}},{"key":"http.status_code","value":{"intValue":"200"}}]}"#;
        let batch = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"3333333333333333","kind":3,"startTimeUnixNano":"1700000000003000000","attributes":[{"key":"db.system","value":{"stringValue":"dynamodb"}},{"key":"db.operation","value":{"stringValue":"BatchGetItem"}},{"key":"aws.dynamodb.table_names","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}}]}"#;
        let failed = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"4444444444444444","kind":3,"startTimeUnixNano":"1700000000004000000","attributes":[{"key":"rpc.system","value":{"stringValue":"aws-api"}},{"key":"rpc.service","value":{"stringValue":"DynamoDB"}},{"key":"rpc.method","value":{"stringValue":"UpdateItem"}},{"key":"http.status_code","value":{"intValue":"400"}}],"events":[{"name":"exception","attributes":[{"key":"exception.type","value":{"stringValue":"botocore.errorfactory.ConditionalCheckFailedException"}}]}],"status":{"code":2}}"#;
        let out = read(&doc(&[get, batch, failed]));
        assert_eq!(out.len(), 4);
        let e = out[0].2.as_ref().unwrap();
        let Detail::DbOperation(op) = &e.detail else {
            panic!()
        };
        assert_eq!(
            (op.operation.as_str(), op.table.as_str()),
            ("GetItem", "orders")
        );
        assert_eq!(op.consistent_read, Some(true));
        assert!(op.key.is_empty() && !op.is_write);
        assert_eq!(e.correlation.request_id, "RID1");
        assert_eq!(e.attributes.get(KEY_UNKNOWN).unwrap(), "otel");
        let ids: Vec<(u64, &str)> = out[1..3]
            .iter()
            .map(|(i, _, e)| (*i, e.as_ref().unwrap().id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    2,
                    "otel:4bf92f3577b34da6a3ce929d0e0e4736:3333333333333333/1"
                ),
                (
                    2,
                    "otel:4bf92f3577b34da6a3ce929d0e0e4736:3333333333333333/2"
                )
            ]
        );
        let e = out[3].2.as_ref().unwrap();
        let Detail::DbOperation(op) = &e.detail else {
            panic!()
        };
        assert_eq!(op.error_code, "ConditionalCheckFailedException");
        assert!(op.is_write);
        assert_eq!(e.outcome, Outcome::Conflict);
    }

    #[test]
    fn other_spans_are_skipped_and_bad_ones_named() {
        let internal = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"5555555555555555","kind":1,"startTimeUnixNano":"1","attributes":[]}"#;
        let control = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"6666666666666666","kind":3,"startTimeUnixNano":"1","attributes":[{"key":"db.system","value":{"stringValue":"dynamodb"}},{"key":"db.operation","value":{"stringValue":"CreateTable"}}]}"#;
        let no_time = SERVER.replace("\"startTimeUnixNano\":\"1700000000000000001\",", "");
        let bad_id = SERVER.replace("00f067aa0ba902b7", "zz");
        let out = read(&doc(&[internal, control, &no_time, &bad_id, "42", SERVER]));
        let results: Vec<Result<(), String>> =
            out.into_iter().map(|(_, _, r)| r.map(|_| ())).collect();
        assert_eq!(
            results,
            [
                Err(format!("skip: {NOT_MODELLED}")),
                Err(format!("skip: {CONTROL_PLANE}")),
                Err(
                    "missing `startTimeUnixNano`: expected Unix nanoseconds as a decimal string"
                        .to_owned()
                ),
                Err("invalid `spanId` `zz`: expected 16 hex digits".to_owned()),
                Err("expected a span object, found a number".to_owned()),
                Ok(()),
            ]
        );
    }

    #[test]
    fn collector_lines_hold_several_spans() {
        let line = doc(&[SERVER, SERVER]).replace('\n', "");
        let mut out = Vec::new();
        let mut index = 0;
        read_line("t.jsonl", &mut index, 7, &line, &mut |i, l: At<'_>, r| {
            out.push((i, l.line, matches!(r, Record::Event(_))))
        });
        read_line("t.jsonl", &mut index, 8, "[1]", &mut |i, l: At<'_>, r| {
            out.push((i, l.line, matches!(r, Record::Event(_))))
        });
        assert_eq!(
            out,
            [(1, Some(7), true), (2, Some(7), true), (3, Some(8), false)]
        );
    }

    #[test]
    fn other_signals_and_other_objects_are_accounted_for() {
        let mut out = Vec::new();
        let mut index = 0;
        let mut sink = |i, l: At<'_>, r: Record| out.push((i, l.line, r.into_result().map(|_| ())));
        for (n, line) in [
            r#"{"resourceLogs":[{"scopeLogs":[]}]}"#,
            r#"{"resourceMetrics":[]}"#,
            r#"{"Records":[]}"#,
            r#"{"resourceSpans":[]}"#,
        ]
        .into_iter()
        .enumerate()
        {
            read_line("t.jsonl", &mut index, n as u64 + 1, line, &mut sink);
        }
        assert_eq!(
            out,
            [
                (1, Some(1), Err(format!("skip: {OTHER_SIGNAL}"))),
                (2, Some(2), Err(format!("skip: {OTHER_SIGNAL}"))),
                (3, Some(3), Err(NOT_A_REQUEST.to_owned())),
            ]
        );
        // In a document, each request is placed on the line it starts on.
        let text = format!("{}\n\n{{\"resourceMetrics\": []}}", doc(&[SERVER]));
        let out: Vec<(u64, Option<u64>, bool)> = read(&text)
            .into_iter()
            .map(|(i, l, r)| (i, l, r.is_ok()))
            .collect();
        assert_eq!(out, [(1, Some(3), true), (2, Some(5), false)]);
    }

    #[test]
    fn newer_and_fallback_attributes_are_read() {
        let span = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"7777777777777777","kind":2,"startTimeUnixNano":"1700000000000000000","attributes":[{"key":"http.request.method","value":{"stringValue":"_OTHER"}},{"key":"http.request.method_original","value":{"stringValue":"purge"}},{"key":"url.full","value":{"stringValue":"https://api.example.com/cache/9?all=1"}},{"key":"server.address","value":{"stringValue":"api.example.com"}},{"key":"server.port","value":{"intValue":"8443"}},{"key":"http.response.status_code","value":{"intValue":"204"}}]}"#;
        let old = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"8888888888888888","kind":2,"startTimeUnixNano":"1700000000000000000","attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.url","value":{"stringValue":"http://h.internal:8080/orders/3"}}]}"#;
        let failed = r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"9999999999999999","kind":3,"startTimeUnixNano":"1700000000000000000","attributes":[{"key":"rpc.system","value":{"stringValue":"aws-api"}},{"key":"rpc.service","value":{"stringValue":"DynamoDB"}},{"key":"rpc.method","value":{"stringValue":"PutItem"}},{"key":"error.type","value":{"stringValue":"ConditionalCheckFailedException"}}],"status":{"code":"STATUS_CODE_ERROR"}}"#;
        let out = read(&doc(&[span, old, failed]));
        let e = out[0].2.as_ref().unwrap();
        let Detail::Http(h) = &e.detail else { panic!() };
        assert_eq!(
            (h.method.as_str(), h.path.as_str(), h.query.as_str()),
            ("PURGE", "/cache/9", "all=1")
        );
        assert_eq!(e.attributes.get("host").unwrap(), "api.example.com:8443");
        let e = out[1].2.as_ref().unwrap();
        let Detail::Http(h) = &e.detail else { panic!() };
        assert_eq!(h.path, "/orders/3");
        assert_eq!(e.attributes.get("host").unwrap(), "h.internal:8080");
        let e = out[2].2.as_ref().unwrap();
        let Detail::DbOperation(op) = &e.detail else {
            panic!()
        };
        assert_eq!(op.error_code, "ConditionalCheckFailedException");
        assert_eq!(e.outcome, Outcome::Conflict);
    }
}
