//! Gateway access logs in JSON, one request per line: API Gateway (REST and HTTP APIs, whose JSON
//! access-log format is a template of `$context` variables the owner names freely) and
//! Application Load Balancer entries with the documented ALB field names.
//!
//! Field names are matched loosely, because every API Gateway template names them differently:
//! case, `_`, `-` and `.` are ignored, and a nested object's members are found by their own name
//! (`{"identity": {"sourceIp": ...}}` like `"sourceIp"`). The accepted names per field are in
//! `docs/inputs.md`.

use crate::ingest::At;
use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Record;
use super::correlate::INTEGRATION_REQUEST_ID;
use super::credentials::key_id_of;
use super::http::{
    http_outcome, normalize_route, object_ids, redact_path, redact_query, xray_trace_id,
};
use super::wire::{fraction_precision_ns, ms_to_ns};
use crate::event::{Actor, Correlation, Detail, Event, Http, SmolStr, SourceRef};
use crate::time::parse_rfc3339;

const FORMAT: &str = "access_log";

/// The skip reason of an API Gateway WebSocket API's entries (`$connect`, `$disconnect`, a
/// message route): no HTTP request, so no event of this engine's kinds.
pub(super) const WEBSOCKET: &str = "API Gateway WebSocket event (no HTTP method)";

/// A member's value as the reader takes it: text (borrowed from the line unless it was escaped),
/// a number, or anything else (an array, `true`, `null`, an object nested too deep), by kind.
#[derive(Clone)]
enum Member<'v> {
    Text(Cow<'v, str>),
    Number(serde_json::Number),
    Other(&'static str),
}

/// A log line's members by normalized name (lower case, letters and digits only); a nested
/// member is there under its full path and, unless that name is taken, its own name. Read in one
/// pass over the line's text: no JSON tree is built, and a name is a key of fixed size (see
/// [`Name`]), so the table costs no allocation per member.
///
/// Where names collide, a member named by its full path wins over a nested member found by its
/// own name; between nested members with the same own name, the first in the line; a name
/// repeated, the last (as JSON parsers read a repeated member).
struct Fields<'v>(HashMap<Key, Member<'v>, foldhash::fast::FixedState>);

/// Longest normalized name held as [`Key::Short`]: longer than every name the reader looks up.
const SHORT: usize = 24;

/// A normalized name as a table key: up to [`SHORT`] bytes in place, zero-padded (names hold
/// letters and digits only, so padding cannot make two names equal), a longer one as text.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Short([u8; SHORT]),
    Long(Box<str>),
}

impl Key {
    fn new(name: &str) -> Key {
        let mut short = [0; SHORT];
        match short.get_mut(..name.len()) {
            Some(head) => {
                head.copy_from_slice(name.as_bytes());
                Key::Short(short)
            }
            None => Key::Long(name.into()),
        }
    }
}

/// `name` normalized, appended to `out`.
fn push_norm(out: &mut String, name: &str) {
    out.extend(
        name.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_lowercase())),
    );
}

/// Objects nested deeper than this are a member's value, not walked.
const MAX_DEPTH: usize = 4;

impl<'v> Fields<'v> {
    /// The members of one log line. `Err` is the record's: not JSON, or JSON that is not an
    /// object (`what` it should have been).
    fn of_line(line: &'v str, what: &str) -> Result<Self, Record> {
        let mut de = serde_json::Deserializer::from_str(line);
        let mut fields = Fields::default();
        let walked = fields
            .walk(&mut de)
            .and_then(|walked| de.end().map(|()| walked));
        match walked {
            Ok(None) => Ok(fields),
            Ok(Some(member)) => Err(Record::Malformed(format!(
                "expected a JSON object ({what}), found {}",
                member.kind()
            ))),
            Err(e) => Err(Record::Malformed(format!("not JSON: {e}"))),
        }
    }

    /// The members of an object already parsed (a detector's first line).
    fn of_value(obj: &'v Value) -> Self {
        let mut fields = Fields::default();
        // A JSON tree read back is never malformed.
        let _ = fields.walk(obj);
        fields
    }

    /// Fills the table from a top-level value: `None` when it was an object, else what it was.
    fn walk<'de: 'v, D: serde::Deserializer<'de>>(
        &mut self,
        value: D,
    ) -> Result<Option<Member<'v>>, D::Error> {
        let mut path = String::new();
        let mut leaves = Vec::new();
        let walked = Walk {
            fields: self,
            path: &mut path,
            leaves: &mut leaves,
            depth: None,
        }
        .deserialize(value)?;
        for (name, member) in leaves {
            self.0.entry(name).or_insert(member);
        }
        Ok(walked)
    }

    /// The first of `names` present and not empty or `-` (API Gateway writes `-` for
    /// variables without a value), as text: borrowed from the line, a number written out.
    fn text(&self, names: &[&str]) -> Option<Cow<'_, str>> {
        names.iter().find_map(|n| match self.0.get(&Key::new(n))? {
            Member::Text(s) if !s.is_empty() && s != "-" => Some(Cow::Borrowed(s.as_ref())),
            Member::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        })
    }

    fn number(&self, names: &[&str]) -> Option<f64> {
        names.iter().find_map(|n| match self.0.get(&Key::new(n))? {
            Member::Number(n) => n.as_f64(),
            Member::Text(s) => s.parse().ok(),
            Member::Other(_) => None,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(&Key::new(name))
    }
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields(HashMap::with_capacity_and_hasher(
            32,
            foldhash::fast::FixedState::default(),
        ))
    }
}

impl Member<'_> {
    /// What the value is, as errors name it.
    fn kind(&self) -> &'static str {
        match self {
            Member::Text(_) => "a string",
            Member::Number(_) => "a number",
            Member::Other(kind) => kind,
        }
    }
}

/// Reads one value into the table: an object's members under `path` (its normalized path), and
/// `None`; anything else is given back, for its parent to file as a member. `depth` is that of
/// the object the value is a member of (`None` for the line itself).
struct Walk<'a, 'v> {
    fields: &'a mut Fields<'v>,
    path: &'a mut String,
    leaves: &'a mut Vec<(Key, Member<'v>)>,
    depth: Option<usize>,
}

impl<'de: 'v, 'v> DeserializeSeed<'de> for Walk<'_, 'v> {
    type Value = Option<Member<'v>>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'v, 'v> Visitor<'de> for Walk<'_, 'v> {
    type Value = Option<Member<'v>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let depth = match self.depth {
            None => 0,
            Some(d) if d < MAX_DEPTH => d + 1,
            Some(_) => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(Some(Member::Other("an object")));
            }
        };
        let prefix = self.path.len();
        while map.next_key_seed(Name(self.path))?.is_some() {
            let member = map.next_value_seed(Walk {
                fields: self.fields,
                path: self.path,
                leaves: self.leaves,
                depth: Some(depth),
            })?;
            if let Some(member) = member {
                if prefix > 0 {
                    let own = self.path.get(prefix..).unwrap_or_default();
                    self.leaves.push((Key::new(own), member.clone()));
                }
                self.fields.0.insert(Key::new(self.path.as_str()), member);
            }
            self.path.truncate(prefix);
        }
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(Member::Other("an array")))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Member::Text(Cow::Borrowed(s))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(Member::Text(Cow::Owned(s.to_owned()))))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Some(Member::Text(Cow::Owned(s))))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(Member::Number(n.into())))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(Member::Number(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // As a JSON tree holds it: a number that is not finite is `null`.
        Ok(Some(
            serde_json::Number::from_f64(n).map_or(Member::Other("null"), Member::Number),
        ))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(Member::Other("a boolean")))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Member::Other("null")))
    }
}

/// A member's name, normalized onto the path.
struct Name<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        push_norm(self.0, s);
        Ok(())
    }
}

/// Whether the first object of an input is a gateway access-log line: an API Gateway request id
/// with a method or route key and a status, or an ALB entry.
pub(super) fn looks_like(obj: &Map<String, Value>) -> bool {
    let obj = Value::Object(obj.clone());
    let f = Fields::of_value(&obj);
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
    let f = Fields::of_line(line, "one request per line")?;
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
            method = parts.next().map(|m| Cow::Owned(m.to_owned()));
            if let Some(url) = parts.next() {
                let rest = url.split_once("://").map_or(url, |(_, r)| r);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                host = Some(Cow::Owned(authority.to_owned()));
                raw_path = Some(Cow::Owned(
                    if path.is_empty() { "/" } else { path }.to_owned(),
                ));
            }
        }
    }
    let route = route_key
        .as_deref()
        .and_then(|k| k.split_once(' ').map(|(_, r)| Cow::Borrowed(r)))
        .or_else(|| f.text(&["resourcepath", "route"]))
        .filter(|r| r.contains(['{', ':', '<']) || r.starts_with('/'))
        .map(|r| normalize_route(&r))
        .unwrap_or_default();
    if method.is_none() {
        method = route_key
            .as_deref()
            .and_then(|k| k.split_once(' ').map(|(m, _)| Cow::Owned(m.to_owned())));
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
    let (path, query) = raw.split_once('?').unwrap_or((&raw, ""));
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
            .map(|k| Cow::Owned(key_id_of(&k)))
            .or_else(|| query.key_id.clone().map(Cow::Owned))
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
        .map(|ip| SmolStr::new(strip_port(&ip)))
        .unwrap_or_default();
    let actor = Actor {
        principal: principal.into(),
        key_id: key_id.into(),
        tenant: f
            .text(&["tenant", "tenantid", "authorizertenant"])
            .unwrap_or_default()
            .into(),
        ip,
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
    });
    let request_id = f.text(&["requestid", "extendedrequestid"]);
    let correlation = Correlation {
        trace_id: root.and_then(xray_trace_id).unwrap_or_default().into(),
        request_id: request_id.as_deref().map(SmolStr::new).unwrap_or_default(),
        app_request_id: root.map(SmolStr::new).unwrap_or_default(),
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
        (Some(r), false) => crate::event::joined(&["gw:", r]),
        _ => format!("gw:{file}#{index}").into(),
    };
    Ok(Event {
        facts: Default::default(),
        id,
        time_ns,
        precision_ns,
        source: SourceRef::at(file, index, Some(line_no), FORMAT),
        actor,
        correlation,
        outcome: http_outcome(status),
        detail: Detail::Http(Http {
            returned_ids: Vec::new(),
            method: if method.bytes().any(|b| b.is_ascii_lowercase()) {
                method.to_ascii_uppercase().into()
            } else {
                SmolStr::new(&*method)
            },
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
fn strip_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
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
    clf_time(&text)
        .or_else(|| {
            chrono::DateTime::parse_from_str(&text, "%d/%b/%Y:%H:%M:%S %z")
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
        })
        .map(|ns| (ns, 1_000_000_000))
        .ok_or_else(|| {
            Record::Malformed(format!(
                "invalid `requestTime` `{text}`: expected `20/Nov/2026:10:00:00 +0000` or RFC 3339"
            ))
        })
}

/// Months as common log format writes them.
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// API Gateway's `requestTime`, `20/Nov/2026:10:00:00 +0000`, in Unix nanoseconds, read by hand:
/// chrono's `parse_from_str` reads its format string again for every line. `None` for anything
/// not exactly in that shape (chrono then reads it, with the leniency of its parser).
fn clf_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shaped = b.len() == 26
        && at(2, b'/')
        && at(6, b'/')
        && at(11, b':')
        && at(14, b':')
        && at(17, b':')
        && at(20, b' ');
    if !shaped {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let month = MONTHS.iter().position(|m| b.get(3..6) == Some(&m[..]))?;
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(7, 11)?).ok()?,
        u32::try_from(month + 1).ok()?,
        number(0, 2)?,
    )?;
    let local = date.and_hms_opt(number(12, 14)?, number(15, 17)?, number(18, 20)?)?;
    let (hours, minutes) = (number(22, 24)?, number(24, 26)?);
    if hours >= 24 || minutes >= 60 {
        return None;
    }
    let offset = i64::from(hours * 3600 + minutes * 60);
    let offset = match b.get(21) {
        Some(b'+') => offset,
        Some(b'-') => -offset,
        _ => return None,
    };
    local
        .and_utc()
        .timestamp_nanos_opt()?
        .checked_sub(offset.checked_mul(1_000_000_000)?)
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
    fn common_log_times_read_by_hand_as_chrono_reads_them() {
        let chrono_ns = |t: &str| {
            chrono::DateTime::parse_from_str(t, "%d/%b/%Y:%H:%M:%S %z")
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
        };
        for t in [
            "20/Nov/2026:10:00:00 +0000",
            "01/Jan/1970:00:00:00 +0000",
            "31/Dec/2026:23:59:59 -0930",
            "29/Feb/2024:12:30:45 +0545",
            "15/Jul/2026:08:07:06 +2359",
        ] {
            assert_eq!(clf_time(t), chrono_ns(t), "{t}");
            assert!(clf_time(t).is_some(), "{t}");
        }
        // Not in the exact shape, or not a time: left to chrono, which decides.
        for t in [
            "29/Feb/2026:12:30:45 +0000",
            "20/nov/2026:10:00:00 +0000",
            "1/Nov/2026:10:00:00 +0000",
            "20/Nov/2026:10:00:60 +0000",
            "20/Nov/2026:24:00:00 +0000",
            "20/Nov/2026:10:00:00 +2400",
            "20/Nov/2026:10:00:00 *0000",
            "20/Foo/2026:10:00:00 +0000",
            "20/Nov/2026:10:00:00 +00:00",
            "2x/Nov/2026:10:00:00 +0000",
        ] {
            assert_eq!(clf_time(t), None, "{t}");
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
    fn colliding_names_resolve_by_place_in_the_line() {
        let base = r#""requestTimeEpoch":1790812800000,"httpMethod":"GET","status":200"#;
        let ip = |members: &str| one(&format!("{{{base},{members}}}")).unwrap().actor.ip;
        // A nested member found by its own name: the first in the line.
        assert_eq!(
            ip(r#""identity":{"sourceIp":"192.0.2.1"},"client":{"sourceIp":"192.0.2.2"}"#),
            "192.0.2.1"
        );
        assert_eq!(
            ip(r#""client":{"sourceIp":"192.0.2.2"},"identity":{"sourceIp":"192.0.2.1"}"#),
            "192.0.2.2"
        );
        // A member named in full wins over one found by its own name, wherever it is.
        assert_eq!(
            ip(r#""identity":{"sourceIp":"192.0.2.1"},"sourceIp":"192.0.2.3""#),
            "192.0.2.3"
        );
        // One name written twice (or two spellings of it): the last, as a JSON parser reads a
        // repeated member.
        let request_id = |members: &str| {
            one(&format!("{{{base},{members}}}"))
                .unwrap()
                .correlation
                .request_id
        };
        assert_eq!(request_id(r#""request_id":"a","requestId":"b""#), "b");
        assert_eq!(request_id(r#""requestId":"b","request_id":"a""#), "a");
    }

    #[test]
    fn members_are_read_from_the_text_escaped_numbered_or_nested_deep() {
        let e = one(
            r#"{"requestId":"r\u002d1","requestTimeEpoch":1790812800000,"http\u004dethod":"GET","path":"\/orders\/o-1","status":404.0,"responseLatency":12,"tags":[[1,{"a":[2]}],true,null],"a":{"b":{"c":{"d":{"e":{"sourceIp":"192.0.2.9"}}}}}}"#,
        )
        .unwrap();
        assert_eq!(e.id, "gw:r-1");
        assert_eq!(http(&e).method, "GET");
        assert_eq!(http(&e).path, "/orders/o-1");
        assert_eq!(http(&e).status, 404);
        assert_eq!(http(&e).duration_ns, 12_000_000);
        // Objects five levels down are a value, not walked: their members are not found.
        assert_eq!(e.actor.ip, "");
        // A member nested past any parser's limit, that the reader does not use, is skipped.
        let deep = format!(
            r#"{{"requestId":"r","requestTimeEpoch":1790812800000,"httpMethod":"GET","status":200,"x":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(one(&deep).unwrap().id, "gw:r");
        assert_eq!(
            one(r#"{"requestId":"r","status":200"#).unwrap_err(),
            "not JSON: EOF while parsing an object at line 1 column 29"
        );
        assert_eq!(
            one(r#"{"requestId":"r"} x"#).unwrap_err(),
            "not JSON: trailing characters at line 1 column 19"
        );
        assert_eq!(
            one("\"text\"").unwrap_err(),
            "expected a JSON object (one request per line), found a string"
        );
    }

    #[test]
    fn names_longer_than_a_short_key_are_kept_whole() {
        let line = r#"{"authorizer":{"claims":{"cognito:username":"u","customTenantIdentifierLong":"t"}},"a":{"bcdefghijklmnopqrstuvwxyz":1}}"#;
        let f = Fields::of_line(line, "").unwrap_or_else(|_| panic!("an object"));
        assert!(f.has("authorizerclaimscognitousername"));
        assert!(f.has("cognitousername"));
        assert!(f.has("authorizerclaimscustomtenantidentifierlong"));
        assert!(f.has("abcdefghijklmnopqrstuvwxyz"));
        assert!(!f.has("abcdefghijklmnopqrstuvwxy"));
        assert!(!f.has("abcdefghijklmnopqrstuvwxyza"));
        assert_eq!(
            f.text(&["customtenantidentifierlong"]).as_deref(),
            Some("t")
        );
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
