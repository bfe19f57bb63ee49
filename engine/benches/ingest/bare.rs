//! The floor each reader is measured against: a bare typed serde parse of the same file, into
//! `#[derive(Deserialize)]` structs that borrow their strings and hold only the fields an event
//! is built from (everything else is skipped by the tokenizer, as the readers skip it). No time
//! parsing, no event, no sorting, correlation, accounting or record index: the difference is
//! what the reader does beyond tokenizing.

#![allow(
    dead_code,
    reason = "the fields are what the parse fills in; nothing reads them back"
)]

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// Records parsed from `bytes`.
pub type Parse = fn(&[u8]) -> serde_json::Result<usize>;

/// Each non-empty line parsed as a `T`.
fn lines<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<usize> {
    let mut n = 0;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        std::hint::black_box(serde_json::from_slice::<T>(line)?);
        n += 1;
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrailRecord<'a> {
    event_time: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip: &'a str,
    user_agent: &'a str,
    #[serde(borrow)]
    error_code: Option<&'a str>,
    #[serde(borrow)]
    user_identity: UserIdentity<'a>,
    #[serde(borrow)]
    request_parameters: Option<RequestParameters<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    arn: &'a str,
    account_id: &'a str,
    access_key_id: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestParameters<'a> {
    #[serde(borrow)]
    table_name: Option<&'a str>,
    #[serde(borrow)]
    key: Option<BTreeMap<&'a str, &'a str>>,
    #[serde(borrow)]
    condition_expression: Option<&'a str>,
    #[serde(borrow)]
    update_expression: Option<&'a str>,
    consistent_read: Option<bool>,
    #[serde(borrow)]
    access_key_id: Option<&'a str>,
    #[serde(borrow)]
    user_name: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trail<'a> {
    #[serde(borrow)]
    records: Vec<CloudTrailRecord<'a>>,
}

/// A `{"Records":[...]}` file.
pub fn cloudtrail_document(bytes: &[u8]) -> serde_json::Result<usize> {
    Ok(serde_json::from_slice::<Trail>(bytes)?.records.len())
}

/// One CloudTrail record per line.
pub fn cloudtrail_lines(bytes: &[u8]) -> serde_json::Result<usize> {
    lines::<CloudTrailRecord>(bytes)
}

#[derive(Deserialize)]
struct Har<'a> {
    #[serde(borrow)]
    log: HarLog<'a>,
}

#[derive(Deserialize)]
struct HarLog<'a> {
    #[serde(borrow)]
    entries: Vec<HarEntry<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarEntry<'a> {
    started_date_time: &'a str,
    time: f64,
    #[serde(borrow)]
    request: HarRequest<'a>,
    #[serde(borrow)]
    response: HarResponse<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest<'a> {
    method: &'a str,
    url: &'a str,
    #[serde(borrow)]
    headers: Vec<HarHeader<'a>>,
    #[serde(borrow)]
    post_data: Option<HarBody<'a>>,
}

#[derive(Deserialize)]
struct HarResponse<'a> {
    status: u16,
    #[serde(borrow)]
    headers: Vec<HarHeader<'a>>,
    #[serde(borrow)]
    content: HarBody<'a>,
}

#[derive(Deserialize)]
struct HarHeader<'a> {
    name: &'a str,
    value: &'a str,
}

/// A body: JSON text inside a JSON string, so escaped (owned once unescaped).
#[derive(Deserialize)]
struct HarBody<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

/// A HAR document; a DynamoDB call's request body is parsed too (the event's table and key are
/// in it), and a JSON response's members (the ids it returned).
pub fn har(bytes: &[u8]) -> serde_json::Result<usize> {
    let har: Har = serde_json::from_slice(bytes)?;
    for entry in &har.log.entries {
        if let Some(text) = entry
            .request
            .post_data
            .as_ref()
            .and_then(|b| b.text.as_ref())
        {
            std::hint::black_box(serde_json::from_str::<DynamoDbRequest>(text)?);
        } else if let Some(text) = &entry.response.content.text {
            std::hint::black_box(serde_json::from_str::<BTreeMap<&str, &str>>(text)?);
        }
    }
    Ok(har.log.entries.len())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtlpExport<'a> {
    #[serde(borrow)]
    resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    #[serde(borrow)]
    resource: OtlpResource<'a>,
    #[serde(borrow)]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct OtlpResource<'a> {
    #[serde(borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow)]
    spans: Vec<Span<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Span<'a> {
    trace_id: &'a str,
    span_id: &'a str,
    #[serde(borrow)]
    parent_span_id: Option<&'a str>,
    kind: u8,
    start_time_unix_nano: &'a str,
    end_time_unix_nano: &'a str,
    #[serde(borrow)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    key: &'a str,
    #[serde(borrow)]
    value: AnyValue<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyValue<'a> {
    #[serde(borrow)]
    string_value: Option<&'a str>,
    #[serde(borrow)]
    int_value: Option<&'a str>,
}

/// Collector `file` exporter lines; counts spans.
pub fn otlp_lines(bytes: &[u8]) -> serde_json::Result<usize> {
    let mut spans = 0;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let export: OtlpExport = serde_json::from_slice(line)?;
        for scope in export.resource_spans.iter().flat_map(|r| &r.scope_spans) {
            spans += std::hint::black_box(&scope.spans).len();
        }
    }
    Ok(spans)
}

#[derive(Deserialize)]
struct WireCall<'a> {
    time: &'a str,
    operation: &'a str,
    #[serde(borrow)]
    request: DynamoDbRequest<'a>,
    status: u16,
    error_type: &'a str,
    request_id: &'a str,
    principal: &'a str,
    tenant: &'a str,
    key_id: &'a str,
    trace_id: &'a str,
    span_id: &'a str,
    app_request_id: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DynamoDbRequest<'a> {
    table_name: &'a str,
    #[serde(borrow)]
    key: BTreeMap<&'a str, AttributeValue<'a>>,
    #[serde(borrow)]
    condition_expression: Option<&'a str>,
    #[serde(borrow)]
    update_expression: Option<&'a str>,
}

#[derive(Deserialize)]
struct AttributeValue<'a> {
    #[serde(rename = "S", borrow)]
    s: Option<&'a str>,
    #[serde(rename = "N", borrow)]
    n: Option<&'a str>,
}

/// DynamoDB request-log lines in the documented shape.
pub fn wire(bytes: &[u8]) -> serde_json::Result<usize> {
    lines::<WireCall>(bytes)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessLine<'a> {
    request_id: &'a str,
    ip: &'a str,
    request_time: &'a str,
    http_method: &'a str,
    resource_path: &'a str,
    path: &'a str,
    status: &'a str,
    api_key_id: &'a str,
    principal_id: &'a str,
    integration_request_id: &'a str,
    xray_trace_id: &'a str,
    response_latency: &'a str,
    user_agent: &'a str,
}

/// API Gateway access-log lines.
pub fn access_log(bytes: &[u8]) -> serde_json::Result<usize> {
    lines::<AccessLine>(bytes)
}

#[derive(Deserialize)]
struct KeyLine<'a> {
    key_id: &'a str,
    owner: &'a str,
    #[serde(borrow)]
    scopes: Vec<&'a str>,
    created: &'a str,
    #[serde(borrow)]
    revoked: Option<&'a str>,
}

/// Key inventory lines.
pub fn key_inventory(bytes: &[u8]) -> serde_json::Result<usize> {
    lines::<KeyLine>(bytes)
}
