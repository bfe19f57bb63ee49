//! Gateway access logs in JSON, one request per line: API Gateway (REST and HTTP APIs, whose JSON
//! access-log format is a template of `$context` variables the owner names freely) and
//! Application Load Balancer entries with the documented ALB field names.
//!
//! Field names are matched loosely, because every API Gateway template names them differently:
//! case, `_`, `-` and `.` are ignored, and a nested object's members are found by their own name
//! (`{"identity": {"sourceIp": ...}}` like `"sourceIp"`). The accepted names per field are in
//! `docs/inputs.md`.

use crate::ingest::At;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::Record;
use super::correlate::INTEGRATION_REQUEST_ID;
use super::credentials::key_id_of;
use super::http::{
    http_outcome, normalize_route, object_ids, redact_path, redact_query, xray_trace_id,
};
use super::wire::{fraction_precision_ns, ms_to_ns};
use crate::event::{Actor, Correlation, Detail, Event, Http, SourceRef};
use crate::time::parse_rfc3339;

const FORMAT: &str = "access_log";

/// The skip reason of an API Gateway WebSocket API's entries (`$connect`, `$disconnect`, a
/// message route): no HTTP request, so no event of this engine's kinds.
pub(super) const WEBSOCKET: &str = "API Gateway WebSocket event (no HTTP method)";

/// A log line's members by normalized name (lower case, letters and digits only); a nested
/// member is there under its full path and, unless taken, its own name.
struct Fields<'v>(HashMap<String, &'v Value, foldhash::fast::FixedState>);

/// `name` normalized, appended to `out`.
fn push_norm(out: &mut String, name: &str) {
    out.extend(
        name.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_lowercase())),
    );
}

fn norm(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_norm(&mut out, name);
    out
}

impl<'v> Fields<'v> {
    fn new(obj: &'v Map<String, Value>) -> Self {
        let mut fields = Fields(HashMap::with_capacity_and_hasher(
            obj.len() * 2,
            foldhash::fast::FixedState::default(),
        ));
        let mut leaves = Vec::new();
        fields.add("", obj, &mut leaves, 0);
        for (name, v) in leaves {
            fields.0.entry(name).or_insert(v);
        }
        fields
    }

    fn add(
        &mut self,
        prefix: &str,
        obj: &'v Map<String, Value>,
        leaves: &mut Vec<(String, &'v Value)>,
        depth: usize,
    ) {
        for (k, v) in obj {
            let mut path = String::with_capacity(prefix.len() + k.len());
            path.push_str(prefix);
            push_norm(&mut path, k);
            match v {
                Value::Object(inner) if depth < 4 => self.add(&path, inner, leaves, depth + 1),
                _ => {
                    if !prefix.is_empty() {
                        leaves.push((norm(k), v));
                    }
                    self.0.insert(path, v);
                }
            }
        }
    }

    /// The first of `names` present and not empty or `-` (API Gateway writes `-` for
    /// variables without a value), as text.
    fn text(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| match self.0.get(*n)? {
            Value::String(s) if !s.is_empty() && s != "-" => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    fn number(&self, names: &[&str]) -> Option<f64> {
        names.iter().find_map(|n| match self.0.get(*n)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Whether the first object of an input is a gateway access-log line: an API Gateway request id
/// with a method or route key and a status, or an ALB entry.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    let f = Fields::new(obj);
    let api_gateway = (f.has("requestid") || f.has("extendedrequestid"))
        && (f.has("httpmethod") || f.has("routekey"))
        && f.has("status");
    let alb = f.has("elb") && f.has("request") && f.has("elbstatuscode");
    api_gateway || alb
}

/// Reads one line: one request, one HTTP event.
pub(super) fn read_line(
    file: &str,
    index: &mut u64,
    line_no: u64,
    line: &str,
    sink: &mut impl FnMut(u64, At<'_>, Record),
) {
    *index += 1;
    let record = match convert(file, *index, line_no, line) {
        Ok(e) => Record::Event(Box::new(e)),
        Err(r) => r,
    };
    sink(*index, At::line(line_no, line), record);
}

fn convert(file: &str, index: u64, line_no: u64, line: &str) -> Result<Event, Record> {
    let malformed = |m: String| Record::Malformed(m);
    let obj = &super::object_line(line, "one request per line")?;
    let f = Fields::new(obj);
    let alb = f.has("elb") && f.has("request");
    let (time_ns, precision_ns) = time(&f)?;

    // Method, URL and route.
    let route_key = f.text(&["routekey"]);
    let (mut method, mut raw_path) = (
        f.text(&["httpmethod", "method"]),
        f.text(&["path", "requestpath", "uri"]),
    );
    let mut host = f.text(&["domainname", "host"]);
    if alb {
        // `"GET https://host:443/path?q HTTP/1.1"`.
        if let Some(request) = f.text(&["request"]) {
            let mut parts = request.split(' ');
            method = parts.next().map(str::to_owned);
            if let Some(url) = parts.next() {
                let rest = url.split_once("://").map_or(url, |(_, r)| r);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                host = Some(authority.to_owned());
                raw_path = Some(if path.is_empty() { "/" } else { path }.to_owned());
            }
        }
    }
    let route = route_key
        .as_deref()
        .and_then(|k| k.split_once(' ').map(|(_, r)| r))
        .map(str::to_owned)
        .or_else(|| f.text(&["resourcepath", "route"]))
        .filter(|r| r.contains(['{', ':', '<']) || r.starts_with('/'))
        .map(|r| normalize_route(&r))
        .unwrap_or_default();
    if method.is_none() {
        method = route_key
            .as_deref()
            .and_then(|k| k.split_once(' ').map(|(m, _)| m.to_owned()));
    }
    // A WebSocket API logs `$connect`, `$disconnect`, `$default` or a message route key, a
    // connection id and an event type, and no method: not malformed, not an HTTP request.
    let websocket = route_key.as_deref().is_some_and(|k| !k.contains(' '))
        && (f.has("connectionid") || f.has("eventtype"));
    if method.is_none() && websocket {
        return Err(Record::Skip(WEBSOCKET));
    }
    let method = method.ok_or_else(|| {
        malformed(
            "missing `httpMethod`: expected the request's method (`$context.httpMethod`, a \
             `routeKey` like `GET /items`, or an ALB `request`)"
                .to_owned(),
        )
    })?;
    let raw = raw_path.unwrap_or_default();
    let (path, query) = raw.split_once('?').unwrap_or((raw.as_str(), ""));
    // No path logged (an HTTP API's default format has only the route key): left empty.
    let path = redact_path(path);
    let query = redact_query(query);
    let status_names: &[&str] = if alb {
        &["elbstatuscode", "status"]
    } else {
        &["status", "statuscode"]
    };
    let status = f
        .number(status_names)
        .filter(|s| (0.0..1000.0).contains(s))
        .map(|s| s as u16)
        .ok_or_else(|| {
            malformed(
                "missing `status`: expected the response status (`$context.status`)".to_owned(),
            )
        })?;

    // Who.
    let key_id = match f.text(&["apikeyid", "identityapikeyid"]) {
        Some(id) => id,
        // `$context.identity.apiKey` is the key itself.
        None => f
            .text(&["apikey", "identityapikey"])
            .map(|k| key_id_of(&k))
            .or(query.key_id.clone())
            .unwrap_or_default(),
    };
    let principal = f
        .text(&[
            "authorizerprincipalid",
            "principalid",
            "authorizerclaimssub",
            "claimssub",
            "user",
            "userarn",
            "caller",
            "cognitoidentityid",
        ])
        .unwrap_or_default();
    let ip = f
        .text(&[
            "sourceip",
            "identitysourceip",
            "ip",
            "clientip",
            "client",
            "clientport",
        ])
        .map(|ip| strip_port(&ip))
        .unwrap_or_default();
    let actor = Actor {
        principal: principal.into(),
        key_id: key_id.into(),
        tenant: f
            .text(&["tenant", "tenantid", "authorizertenant"])
            .unwrap_or_default()
            .into(),
        ip: ip.into(),
        user_agent: f
            .text(&["useragent", "identityuseragent"])
            .unwrap_or_default()
            .into(),
        session: Default::default(),
    };

    // Correlation: the gateway's request id, X-Ray / ALB trace header.
    let trace_header = f.text(&["xraytraceid", "traceid", "xamzntraceid"]);
    let root = trace_header.as_deref().map(|t| {
        t.split(';')
            .find_map(|p| p.trim().strip_prefix("Root="))
            .unwrap_or(t)
            .to_owned()
    });
    let request_id = f.text(&["requestid", "extendedrequestid"]);
    let correlation = Correlation {
        trace_id: root
            .as_deref()
            .and_then(xray_trace_id)
            .unwrap_or_default()
            .into(),
        request_id: request_id.clone().unwrap_or_default().into(),
        app_request_id: root.clone().unwrap_or_default().into(),
        ..Correlation::default()
    };

    let mut attributes = crate::event::Fields::new();
    if let Some(id) = f.text(&["integrationrequestid"]) {
        attributes.insert(INTEGRATION_REQUEST_ID.into(), id.into());
    }
    for (name, keys) in [
        ("host", &["__host"][..]),
        ("stage", &["stage"][..]),
        ("api_id", &["apiid"][..]),
        ("integration_status", &["integrationstatus"][..]),
        ("target_status", &["targetstatuscode"][..]),
        ("elb", &["elb"][..]),
    ] {
        let value = if name == "host" {
            host.clone()
        } else {
            f.text(keys)
        };
        if let Some(v) = value {
            attributes.insert(name.into(), v.into());
        }
    }
    let duration_ns = if alb {
        // Seconds, -1 when the stage did not happen.
        let parts: Vec<f64> = [
            "requestprocessingtime",
            "targetprocessingtime",
            "responseprocessingtime",
        ]
        .iter()
        .filter_map(|n| f.number(&[n]))
        .collect();
        if parts.iter().all(|p| *p >= 0.0) {
            ms_to_ns(parts.iter().sum::<f64>() * 1000.0)
        } else {
            None
        }
    } else {
        f.number(&["responselatency", "latency", "integrationlatency"])
            .and_then(ms_to_ns)
    }
    .unwrap_or_default();

    let id = match (&request_id, alb) {
        (Some(r), false) => format!("gw:{r}"),
        _ => format!("gw:{file}#{index}"),
    };
    Ok(Event {
        facts: Default::default(),
        id: id.into(),
        time_ns,
        precision_ns,
        source: SourceRef {
            file: file.into(),
            record: index,
            line: Some(line_no),
            format: FORMAT.into(),
        },
        actor,
        correlation,
        outcome: http_outcome(status),
        detail: Detail::Http(Http {
            returned_ids: Vec::new(),
            method: method.to_ascii_uppercase().into(),
            params: object_ids(&path.text),
            path: path.text.into(),
            route: route.into(),
            status,
            duration_ns,
            query: query.text.into(),
        }),
        attributes,
    })
}

/// `203.0.113.9:52314` gives `203.0.113.9`; IPv6 in brackets loses them.
fn strip_port(addr: &str) -> String {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host.to_owned()
        }
        _ => addr.to_owned(),
    }
}

/// The request time and its precision: `requestTimeEpoch` (ms), an RFC 3339 `time` /
/// `requestTime` (ALB: µs), or API Gateway's `requestTime` in common log format
/// (`20/Nov/2026:10:00:00 +0000`, whole seconds).
fn time(f: &Fields<'_>) -> Result<(i64, u64), Record> {
    if let Some(ms) = f.text(&["requesttimeepoch", "timeepoch", "timestampms"]) {
        return ms
            .parse::<i64>()
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .filter(|ns| *ns > 0)
            .map(|ns| (ns, 1_000_000))
            .ok_or_else(|| {
                Record::Malformed(format!(
                    "invalid `requestTimeEpoch` `{ms}`: expected Unix milliseconds"
                ))
            });
    }
    let Some(text) = f.text(&["requesttime", "time", "timestamp"]) else {
        return Err(Record::Malformed(
            "missing `requestTime`: expected `$context.requestTimeEpoch`, `$context.requestTime` \
             or an RFC 3339 `time`"
                .to_owned(),
        ));
    };
    if let Some(ns) = parse_rfc3339(&text) {
        return Ok((ns, fraction_precision_ns(&text)));
    }
    chrono::DateTime::parse_from_str(&text, "%d/%b/%Y:%H:%M:%S %z")
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .map(|ns| (ns, 1_000_000_000))
        .ok_or_else(|| {
            Record::Malformed(format!(
                "invalid `requestTime` `{text}`: expected `20/Nov/2026:10:00:00 +0000` or RFC 3339"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Outcome;

    fn one(line: &str) -> Result<Event, String> {
        let mut out = None;
        let mut index = 0;
        read_line("gw.jsonl", &mut index, 1, line, &mut |_, _, r| {
            out = Some(r.into_result())
        });
        out.unwrap()
    }

    fn http(e: &Event) -> &Http {
        match &e.detail {
            Detail::Http(h) => h,
            _ => panic!("not http"),
        }
    }

    #[test]
    fn api_gateway_rest_lines_are_http_events() {
        let line = r#"{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"203.0.113.9","caller":"-","user":"-","requestTime":"20/Nov/2026:10:00:00 +0000","httpMethod":"PUT","resourcePath":"/users/{id}/profile","path":"/prod/users/42/profile","status":"200","protocol":"HTTP/1.1","responseLength":"42","identity":{"apiKeyId":"k7x2p9q4r1","userAgent":"curl/8"},"authorizer":{"principalId":"alice"},"integration":{"requestId":"RID-DDB-1"},"xrayTraceId":"1-5759e988-bd862e3fe1be46a994272793","responseLatency":12}"#;
        let e = one(line).unwrap();
        assert_eq!(e.id, "gw:c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
        assert_eq!(
            (e.time_ns, e.precision_ns),
            (1_795_168_800_000_000_000, 1_000_000_000)
        );
        assert_eq!(
            (
                e.actor.principal.as_str(),
                e.actor.key_id.as_str(),
                e.actor.ip.as_str(),
                e.actor.user_agent.as_str()
            ),
            ("alice", "k7x2p9q4r1", "203.0.113.9", "curl/8")
        );
        let h = http(&e);
        assert_eq!(
            (
                h.method.as_str(),
                h.path.as_str(),
                h.route.as_str(),
                h.status,
                h.duration_ns
            ),
            (
                "PUT",
                "/prod/users/42/profile",
                "/users/{id}/profile",
                200,
                12_000_000
            )
        );
        assert_eq!(e.correlation.trace_id, "5759e988bd862e3fe1be46a994272793");
        assert_eq!(
            e.correlation.request_id,
            "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        );
        assert_eq!(
            e.attributes.get(INTEGRATION_REQUEST_ID).unwrap(),
            "RID-DDB-1"
        );
    }

    #[test]
    fn http_api_lines_and_alb_entries_are_read() {
        let line = r#"{"requestId":"JvNqdhl4oAMEJ-A=","routeKey":"DELETE /orders/{orderId}","status":403,"requestTimeEpoch":1795168800123,"identity_api_key":"live-secret","path":"/orders/77"}"#;
        let e = one(line).unwrap();
        assert_eq!(
            (e.time_ns, e.precision_ns),
            (1_795_168_800_123_000_000, 1_000_000)
        );
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(e.actor.key_id, key_id_of("live-secret"));
        assert_eq!(
            (http(&e).method.as_str(), http(&e).route.as_str()),
            ("DELETE", "/orders/{orderId}")
        );
        let alb = r#"{"type":"https","time":"2026-11-20T10:00:00.123456Z","elb":"app/my-lb/50dc6c495c0c9188","client:port":"198.51.100.7:4431","request":"GET https://api.example.com:443/items/12?api_key=abc HTTP/1.1","elb_status_code":404,"target_status_code":404,"user_agent":"Mozilla/5.0","trace_id":"Root=1-58337262-36d228ad5d99923122bbe354","request_processing_time":0.001,"target_processing_time":0.002,"response_processing_time":0.0}"#;
        let e = one(alb).unwrap();
        assert_eq!(e.id, "gw:gw.jsonl#1");
        assert_eq!(e.precision_ns, 1_000);
        assert_eq!(e.actor.ip, "198.51.100.7");
        assert_eq!(e.outcome, Outcome::NotFound);
        let h = http(&e);
        assert_eq!(
            (h.method.as_str(), h.path.as_str(), h.duration_ns),
            ("GET", "/items/12", 3_000_000)
        );
        assert_eq!(h.query, format!("api_key={}", key_id_of("abc")));
        assert_eq!(e.actor.key_id, key_id_of("abc"));
        assert_eq!(e.correlation.trace_id, "5833726236d228ad5d99923122bbe354");
        assert_eq!(
            e.correlation.app_request_id,
            "1-58337262-36d228ad5d99923122bbe354"
        );
        assert_eq!(e.attributes.get("host").unwrap(), "api.example.com:443");
    }

    #[test]
    fn websocket_entries_are_skipped_with_a_reason_not_malformed() {
        let line = r#"{"requestId":"a1","ip":"203.0.113.9","requestTime":"02/Dec/2026:12:00:00 +0000","eventType":"CONNECT","routeKey":"$connect","status":"200","connectionId":"c-1"}"#;
        assert_eq!(one(line).unwrap_err(), format!("skip: {WEBSOCKET}"));
        let message = r#"{"requestId":"a2","requestTime":"02/Dec/2026:12:00:01 +0000","eventType":"MESSAGE","routeKey":"sendmessage","status":"200","connectionId":"c-1"}"#;
        assert_eq!(one(message).unwrap_err(), format!("skip: {WEBSOCKET}"));
    }

    #[test]
    fn bad_lines_say_what_was_expected() {
        assert_eq!(
            one(r#"{"requestId":"x","httpMethod":"GET","status":200}"#).unwrap_err(),
            "missing `requestTime`: expected `$context.requestTimeEpoch`, `$context.requestTime` or an RFC 3339 `time`"
        );
        assert_eq!(
            one(r#"{"requestId":"x","httpMethod":"GET","status":200,"requestTime":"yesterday"}"#)
                .unwrap_err(),
            "invalid `requestTime` `yesterday`: expected `20/Nov/2026:10:00:00 +0000` or RFC 3339"
        );
        assert_eq!(
            one(r#"{"requestId":"x","status":200,"requestTimeEpoch":1}"#).unwrap_err(),
            "missing `httpMethod`: expected the request's method (`$context.httpMethod`, a `routeKey` like `GET /items`, or an ALB `request`)"
        );
        assert_eq!(
            one("[]").unwrap_err(),
            "expected a JSON object (one request per line), found an array"
        );
        let obj = |s: &str| serde_json::from_str::<Map<String, Value>>(s).unwrap();
        assert!(looks_like(&obj(
            r#"{"requestId":"a","routeKey":"GET /","status":"200"}"#
        )));
        assert!(!looks_like(&obj(
            r#"{"eventVersion":"1","eventSource":"x","requestID":"a"}"#
        )));
        assert!(!looks_like(&obj(
            r#"{"time":"t","operation":"GetItem","request":{},"status":200,"request_id":"r"}"#
        )));
    }
}
