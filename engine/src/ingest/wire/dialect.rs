//! What one request-log line says, whatever the logger called things: the operation, the
//! request body (wherever it is, a JSON string of one, or rebuilt from flattened `table_name` /
//! `key.*` / `items.N.*` fields), the time, status, error, ids and who called. Each field is
//! looked up at the mapping's path when a mapping names one, else by the built-in names below
//! (`docs/inputs.md` lists them).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::time::{parse_time, parse_time_text};
use crate::ingest::dynamodb;
use crate::ingest::fields::{Fields, Leaf, Scope, is_body, scalar_text, starts_with};
use crate::ingest::mapping::InputMapping;
use smol_str::SmolStr;

/// DynamoDB control-plane operations a request log may hold (data-plane ones are
/// [`dynamodb::is_data_plane`]).
const CONTROL_PLANE_OPS: &[&str] = &[
    "CreateTable",
    "DeleteTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "DescribeTimeToLive",
    "UpdateTimeToLive",
    "DescribeEndpoints",
    "DescribeLimits",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
    "CreateBackup",
    "DescribeContinuousBackups",
    "CreateGlobalTable",
    "DescribeGlobalTable",
];

/// Names of the operation, by priority.
const OPERATION: &[&str] = &[
    "operation",
    "operationname",
    "commandname",
    "command",
    "op",
    "target",
    "xamztarget",
    "action",
    "api",
    "apiname",
    "rpcmethod",
    "method",
];
/// Names of the request body, when it is not found by its content.
const REQUEST: &[&str] = &[
    "request",
    "params",
    "input",
    "parameters",
    "requestparameters",
    "requestbody",
    "body",
    "args",
    "payload",
];
const TIME: &[&str] = &[
    "time",
    "ts",
    "timestamp",
    "datetime",
    "asctime",
    "eventtime",
    "loggedat",
    "logtime",
    "date",
    "starttime",
];
const STATUS: &[&str] = &[
    "httpstatuscode",
    "statuscode",
    "httpstatus",
    "status",
    "responsestatuscode",
    "responsestatus",
];
/// Where a status or request id of the call (not of the app's own response) sits.
const CALL_PARENTS: &[&str] = &[
    "metadata",
    "responsemetadata",
    "httpresponse",
    "response",
    "output",
    "aws",
    "dynamodb",
    "err",
    "error",
];
const ERROR_CODE: &[&str] = &[
    "errortype",
    "errorcode",
    "errorname",
    "awserrorcode",
    "exceptiontype",
];
const ERROR_OBJECTS: &[&str] = &["error", "err", "exception", "awserror"];
const ERROR_MESSAGE: &[&str] = &["errormessage", "exceptionmessage"];
const AWS_REQUEST_ID: &[&str] = &[
    "awsrequestid",
    "amzrequestid",
    "amznrequestid",
    "xamznrequestid",
    "xamzrequestid",
];
const APP_REQUEST_ID: &[&str] = &[
    "apprequestid",
    "reqid",
    "xrequestid",
    "correlationid",
    "requestuuid",
];
const PRINCIPAL: &[&str] = &[
    "principal",
    "principalid",
    "userid",
    "username",
    "user",
    "enduserid",
    "actor",
    "caller",
    "userarn",
];
const PRINCIPAL_PARENTS: &[&str] = &["user", "enduser", "actor", "principal", "caller"];
const TENANT: &[&str] = &["tenant", "tenantid", "orgid", "organizationid", "org"];
const TENANT_PARENTS: &[&str] = &["tenant", "org", "organization"];
const KEY_ID: &[&str] = &[
    "keyid",
    "apikeyid",
    "accesskeyid",
    "awsaccesskeyid",
    "credentialid",
];
const KEY_PARENTS: &[&str] = &["apikey", "credential", "credentials"];
const TRACE_ID: &[&str] = &["traceid", "oteltraceid"];
const SPAN_ID: &[&str] = &["spanid", "otelspanid"];
const DURATION_MS: &[&str] = &[
    "durationms",
    "latencyms",
    "elapsedms",
    "tookms",
    "responsetimems",
];

/// A request body: found in the line, or rebuilt.
pub(super) type Body<'v> = Cow<'v, Map<String, Value>>;

/// One DynamoDB call as a line describes it.
#[derive(Debug)]
pub(super) struct Call<'v> {
    pub operation: String,
    pub body: Option<Body<'v>>,
    pub time: Option<(i64, u64)>,
    pub status: Option<u16>,
    pub error_code: String,
    pub error_message: String,
    /// The logger said the call failed without saying how (`event.outcome: failure`).
    pub failed: bool,
    pub aws_request_id: String,
    pub app_request_id: String,
    pub principal: String,
    pub tenant: String,
    pub key_id: String,
    pub trace_id: String,
    pub span_id: String,
    pub duration_ns: Option<u64>,
}

/// The operation named by `raw` (`GetItem`, `getItem`, `GetItemCommand`,
/// `DynamoDB_20120810.GetItem`, `dynamodb.GetItem`), if it is a DynamoDB operation.
pub(super) fn canonical_operation(raw: &str) -> Option<String> {
    let name = raw.trim().rsplit(['.', '/', '#', ':']).next()?;
    let name = name.strip_suffix("Command").unwrap_or(name);
    let mut chars = name.chars();
    let first = chars.next()?;
    let op = format!("{}{}", first.to_ascii_uppercase(), chars.as_str());
    (dynamodb::is_data_plane(&op) || CONTROL_PLANE_OPS.contains(&op.as_str())).then_some(op)
}

/// Whether `op` is a control-plane operation.
pub(super) fn is_control_plane(op: &str) -> bool {
    CONTROL_PLANE_OPS.contains(&op)
}

/// A line in the shape this project documents (`docs/inputs.md`: these members and no others;
/// `time` a string or a number, `status` a whole number, `duration_ms` a number, the rest
/// strings; any of them null or absent here, [`documented`] says which it needs), read typed
/// and borrowed, with no tree of values and no lookup by loose names.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Documented<'a> {
    #[serde(borrow)]
    time: Option<Time<'a>>,
    #[serde(borrow)]
    operation: Option<Cow<'a, str>>,
    request: Option<Map<String, Value>>,
    status: Option<u64>,
    #[serde(borrow)]
    error_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tenant: Option<Cow<'a, str>>,
    #[serde(borrow)]
    key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    trace_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    span_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    app_request_id: Option<Cow<'a, str>>,
    duration_ms: Option<f64>,
}

/// A time as a line writes it: text, or an epoch number.
enum Time<'a> {
    Text(Cow<'a, str>),
    Number(serde_json::Number),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Time<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Time<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a time: a string or a number")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Time<'de>, E> {
                dynamodb::TextVisitor
                    .visit_borrowed_str(v)
                    .map(|t| Time::Text(t.0))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Time<'de>, E> {
                dynamodb::TextVisitor.visit_str(v).map(|t| Time::Text(t.0))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Time<'de>, E> {
                Ok(Time::Number(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Time<'de>, E> {
                Ok(Time::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Time<'de>, E> {
                serde_json::Number::from_f64(v)
                    .map(Time::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The call of a line in the documented shape that names a DynamoDB operation, a request body
/// and a time: what [`read`] gives for it without a mapping, without a value tree of the line.
/// `None` for any other line (another dialect, a member of another type, no operation, body or
/// time), which [`read`] then reads loosely and, where it has to, says what is wrong with it.
pub(super) fn documented(line: &str) -> Option<Call<'static>> {
    let d: Documented<'_> = serde_json::from_str(line).ok()?;
    let operation = canonical_operation(d.operation.as_deref()?)?;
    let body = d.request.filter(is_body)?;
    let time = Some(match d.time? {
        Time::Text(text) => parse_time_text(&text)?,
        Time::Number(n) => parse_time(&Value::Number(n), None)?,
    });
    // What `scalar_text` gives: a string, unless it is empty.
    let text = |s: Option<Cow<'_, str>>| s.filter(|s| !s.is_empty()).map(Cow::into_owned);
    let status = d.status.and_then(http_status);
    let error_code = text(d.error_type).unwrap_or_default();
    Some(Call {
        operation,
        body: Some(Cow::Owned(body)),
        time,
        status,
        error_code: dynamodb::short_error_type(&error_code).to_owned(),
        error_message: text(d.error_message).unwrap_or_default(),
        failed: false,
        // A top-level `request_id` beside a `request` body is the AWS one.
        aws_request_id: text(d.request_id).unwrap_or_default(),
        app_request_id: text(d.app_request_id).unwrap_or_default(),
        principal: text(d.principal).unwrap_or_default(),
        tenant: text(d.tenant).unwrap_or_default(),
        key_id: text(d.key_id).unwrap_or_default(),
        trace_id: text(d.trace_id).unwrap_or_default(),
        span_id: text(d.span_id).unwrap_or_default(),
        duration_ns: d.duration_ms.and_then(super::ms_to_ns),
    })
}

/// Reads what `obj` says of its call, at `mapping`'s paths where it names them.
pub(super) fn read<'v>(fields: &Fields<'v>, mapping: Option<&InputMapping>) -> Call<'v> {
    let paths = mapping.map(|m| &m.fields);
    let mapped = |path: Option<&Option<Vec<String>>>| -> Option<Option<&'v Value>> {
        path.and_then(Option::as_ref).map(|p| fields.at(p))
    };
    let text_at = |path: Option<&Option<Vec<String>>>| -> Option<String> {
        mapped(path).map(|v| v.and_then(scalar_text).unwrap_or_default())
    };
    let operation = match mapped(paths.map(|p| &p.operation)) {
        Some(v) => v
            .and_then(Value::as_str)
            .and_then(canonical_operation)
            .unwrap_or_default(),
        None => fields
            .find(OPERATION, Scope::Any, |l| {
                l.value.as_str().and_then(canonical_operation)
            })
            .unwrap_or_default(),
    };
    let body = match mapped(paths.map(|p| &p.request)) {
        Some(v) => v.and_then(as_body),
        None => fields
            .body()
            .map(Cow::Borrowed)
            .or_else(|| fields.find(REQUEST, Scope::Any, |l| as_body(l.value))),
    }
    .or_else(|| flattened_body(fields, &operation, paths));
    let unit = mapping.and_then(|m| m.time_unit);
    let time = match mapped(paths.map(|p| &p.time)) {
        Some(v) => v.and_then(|v| parse_time(v, unit)),
        None => fields.find(TIME, Scope::Top, |l| parse_time(l.value, unit)),
    };
    let status = match mapped(paths.map(|p| &p.status)) {
        Some(v) => v.and_then(as_status),
        None => fields
            .find(STATUS, Scope::Under(CALL_PARENTS), |l| as_status(l.value))
            .or_else(|| fields.find(STATUS, Scope::Any, |l| as_status(l.value))),
    };
    let error_code = match text_at(paths.map(|p| &p.error)) {
        Some(code) => code,
        None => error_code(fields),
    };
    let error_code = dynamodb::short_error_type(&error_code).to_owned();
    let error_message = text_at(paths.map(|p| &p.error_message)).unwrap_or_else(|| {
        fields
            .find(ERROR_MESSAGE, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| {
                fields.find(&["message"], Scope::Under(ERROR_OBJECTS), |l| {
                    scalar_text(l.value)
                })
            })
            .unwrap_or_default()
    });
    let failed = fields
        .at(&["event".to_owned(), "outcome".to_owned()])
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("failure"));
    let (aws_request_id, app_request_id) = request_ids(fields, paths);
    let principal = text_at(paths.map(|p| &p.principal)).unwrap_or_else(|| {
        fields
            .find(PRINCIPAL, Scope::Any, identity)
            .or_else(|| fields.find(&["id", "name"], Scope::Under(PRINCIPAL_PARENTS), identity))
            .unwrap_or_default()
    });
    let tenant = text_at(paths.map(|p| &p.tenant)).unwrap_or_else(|| {
        fields
            .find(TENANT, Scope::Any, identity)
            .or_else(|| fields.find(&["id"], Scope::Under(TENANT_PARENTS), identity))
            .unwrap_or_default()
    });
    let key_id = text_at(paths.map(|p| &p.key_id)).unwrap_or_else(|| {
        fields
            .find(KEY_ID, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| fields.find(&["id"], Scope::Under(KEY_PARENTS), |l| scalar_text(l.value)))
            .unwrap_or_default()
    });
    let traceparent = fields
        .find(&["traceparent"], Scope::Any, |l| {
            l.value.as_str().map(str::to_owned)
        })
        .and_then(|t| {
            let mut parts = t.split('-');
            let (_, trace, span) = (parts.next()?, parts.next()?, parts.next()?);
            Some((trace.to_owned(), span.to_owned()))
        });
    let trace_id = text_at(paths.map(|p| &p.trace_id)).unwrap_or_else(|| {
        fields
            .find(TRACE_ID, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| fields.find(&["id"], Scope::Under(&["trace"]), |l| scalar_text(l.value)))
            .or_else(|| traceparent.as_ref().map(|(t, _)| t.clone()))
            .unwrap_or_default()
    });
    let span_id = text_at(paths.map(|p| &p.span_id)).unwrap_or_else(|| {
        fields
            .find(SPAN_ID, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| fields.find(&["id"], Scope::Under(&["span"]), |l| scalar_text(l.value)))
            .or_else(|| traceparent.as_ref().map(|(_, s)| s.clone()))
            .unwrap_or_default()
    });
    let duration_ns = fields
        .find(DURATION_MS, Scope::Any, |l| l.value.as_f64())
        .and_then(super::ms_to_ns);
    Call {
        operation,
        body,
        time,
        status,
        error_code,
        error_message,
        failed,
        aws_request_id,
        app_request_id,
        principal,
        tenant,
        key_id,
        trace_id,
        span_id,
        duration_ns,
    }
}

/// An object, or a JSON string of one, that can be a request body.
fn as_body(value: &Value) -> Option<Body<'_>> {
    match value {
        Value::Object(o) => Some(Cow::Borrowed(o)),
        Value::String(s) if s.trim_start().starts_with('{') => {
            serde_json::from_str::<Map<String, Value>>(s)
                .ok()
                .map(Cow::Owned)
        }
        _ => None,
    }
}

fn as_status(value: &Value) -> Option<u16> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    http_status(n)
}

/// `n` as an HTTP status: 100–599, else none.
fn http_status(n: u64) -> Option<u16> {
    (100..600)
        .contains(&n)
        .then(|| u16::try_from(n).ok())
        .flatten()
}

/// A principal, tenant or similar: a string or number, or an object's `id` / `name`.
fn identity(leaf: &Leaf<'_>) -> Option<String> {
    match leaf.value {
        Value::Object(o) => ["id", "name", "username"]
            .into_iter()
            .find_map(|k| o.get(k).and_then(scalar_text)),
        v => scalar_text(v),
    }
}

fn error_code(fields: &Fields<'_>) -> String {
    fields
        .find(ERROR_CODE, Scope::Any, |l| scalar_text(l.value))
        .or_else(|| {
            fields.find(ERROR_OBJECTS, Scope::Any, |l| match l.value {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        })
        .or_else(|| {
            fields.find(
                &["code", "name", "type"],
                Scope::Under(ERROR_OBJECTS),
                |l| scalar_text(l.value).filter(|s| s != "Error"),
            )
        })
        .unwrap_or_default()
}

/// The AWS request id and the application's request id. A top-level `request_id` is the AWS
/// one in the documented shape (beside a `request` body) or when it looks like one (a long run
/// of letters and digits, no dashes), else the application's.
fn request_ids(
    fields: &Fields<'_>,
    paths: Option<&crate::ingest::mapping::FieldPaths>,
) -> (String, String) {
    let mapped =
        |p: Option<&Vec<String>>| p.map(|p| fields.at(p).and_then(scalar_text).unwrap_or_default());
    let mut aws = mapped(paths.and_then(|p| p.aws_request_id.as_ref())).or_else(|| {
        fields
            .find(AWS_REQUEST_ID, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| {
                fields.find(&["requestid"], Scope::Under(CALL_PARENTS), |l| {
                    scalar_text(l.value)
                })
            })
    });
    let mut app = mapped(paths.and_then(|p| p.app_request_id.as_ref())).or_else(|| {
        fields
            .find(APP_REQUEST_ID, Scope::Any, |l| scalar_text(l.value))
            .or_else(|| {
                fields.find(&["id"], Scope::Under(&["req", "request"]), |l| {
                    scalar_text(l.value)
                })
            })
    });
    let top = fields.find(&["requestid"], Scope::Top, |l| {
        scalar_text(l.value).map(|v| (v, l.orig.first().copied() == Some("request_id")))
    });
    if let Some((id, snake)) = top {
        let documented = snake
            && fields
                .at(&["request".to_owned()])
                .is_some_and(Value::is_object);
        let aws_like = id.len() >= 20
            && id.bytes().all(|b| b.is_ascii_alphanumeric())
            && id.bytes().any(|b| b.is_ascii_uppercase());
        if aws.is_none() && (documented || aws_like || app.is_some()) {
            aws = Some(id);
        } else if app.is_none() {
            app = Some(id);
        }
    }
    (aws.unwrap_or_default(), app.unwrap_or_default())
}

/// A request body rebuilt from flattened fields (`aws.dynamodb.table_name`,
/// `aws.dynamodb.key.pk`, `aws.dynamodb.condition_expression`, `…items.0.*` for batches and
/// transactions), or from the mapping's `table` / `key` / `condition`.
fn flattened_body<'v>(
    fields: &Fields<'v>,
    operation: &str,
    paths: Option<&crate::ingest::mapping::FieldPaths>,
) -> Option<Body<'v>> {
    let mapped = |p: Option<&Vec<String>>| p.map(|p| fields.at(p));
    let table = match mapped(paths.and_then(|p| p.table.as_ref())) {
        Some(v) => v.and_then(scalar_text),
        None => fields.find(&["tablename", "table"], Scope::Any, |l| {
            l.value
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        }),
    };
    let items = flattened_items(fields);
    if !items.is_empty() {
        return Some(Cow::Owned(grouped_body(operation, items)));
    }
    let table = table?;
    let mut body = Map::new();
    body.insert("TableName".to_owned(), Value::from(table));
    let key = match mapped(paths.and_then(|p| p.key.as_ref())) {
        Some(v) => v.and_then(Value::as_object).cloned(),
        None => flattened_key(fields, &[]),
    };
    if let Some(key) = key {
        body.insert("Key".to_owned(), Value::Object(key));
    }
    let condition = match mapped(paths.and_then(|p| p.condition.as_ref())) {
        Some(v) => v.and_then(scalar_text),
        None => fields.find(&["conditionexpression", "condition"], Scope::Any, |l| {
            scalar_text(l.value)
        }),
    };
    for (name, value) in [
        ("ConditionExpression", condition),
        (
            "UpdateExpression",
            fields.find(&["updateexpression"], Scope::Any, |l| scalar_text(l.value)),
        ),
        (
            "KeyConditionExpression",
            fields.find(&["keyconditionexpression"], Scope::Any, |l| {
                scalar_text(l.value)
            }),
        ),
        (
            "IndexName",
            fields.find(&["indexname"], Scope::Any, |l| scalar_text(l.value)),
        ),
        (
            "ConsistentRead",
            fields.find(&["consistentread"], Scope::Any, |l| scalar_text(l.value)),
        ),
    ] {
        if let Some(v) = value {
            body.insert(name.to_owned(), Value::from(v));
        }
    }
    Some(Cow::Owned(body))
}

/// The key under `prefix` (normalized path before `key`): a `key` object, or `key.<name>`
/// members. Empty `prefix`: a key outside any `items.N`.
fn flattened_key(fields: &Fields<'_>, prefix: &[String]) -> Option<Map<String, Value>> {
    let mut key = Map::new();
    for leaf in &fields.leaves {
        let n = leaf.norm.len();
        if n < 2 || leaf.norm.get(n - 2).map(SmolStr::as_str) != Some("key") {
            continue;
        }
        let inside_items = leaf.norm.iter().any(|s| s == "items");
        let matches_prefix = if prefix.is_empty() {
            !inside_items
        } else {
            starts_with(&leaf.norm, prefix)
        };
        if !matches_prefix || leaf.value.is_object() {
            continue;
        }
        if let (Some(name), Some(value)) = (leaf.orig.last(), scalar_text(leaf.value)) {
            key.insert((*name).to_owned(), Value::from(value));
        }
    }
    (!key.is_empty()).then_some(key)
}

/// One item of a flattened batch or transaction.
struct FlatItem {
    action: String,
    body: Map<String, Value>,
}

/// `…items.N.{action,table_name,key.*,condition_expression,update_expression}`, by N.
fn flattened_items(fields: &Fields<'_>) -> Vec<FlatItem> {
    let mut items: BTreeMap<u32, (Vec<String>, FlatItem)> = BTreeMap::new();
    for leaf in &fields.leaves {
        let Some(at) = leaf.norm.iter().position(|s| s == "items") else {
            continue;
        };
        let Some(n) = leaf.norm.get(at + 1).and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let prefix: Vec<String> = leaf
            .norm
            .iter()
            .take(at + 2)
            .map(SmolStr::to_string)
            .collect();
        let entry = items.entry(n).or_insert_with(|| {
            (
                prefix,
                FlatItem {
                    action: String::new(),
                    body: Map::new(),
                },
            )
        });
        let field = leaf.norm.get(at + 2).map(SmolStr::as_str);
        let rest_len = leaf.norm.len() - at - 2;
        let Some(value) = scalar_text(leaf.value) else {
            continue;
        };
        match (field, rest_len) {
            (Some("action" | "type" | "operation"), 1) => entry.1.action = value,
            (Some("tablename" | "table"), 1) => {
                entry
                    .1
                    .body
                    .insert("TableName".to_owned(), Value::from(value));
            }
            (Some("conditionexpression"), 1) => {
                entry
                    .1
                    .body
                    .insert("ConditionExpression".to_owned(), Value::from(value));
            }
            (Some("updateexpression"), 1) => {
                entry
                    .1
                    .body
                    .insert("UpdateExpression".to_owned(), Value::from(value));
            }
            _ => {}
        }
    }
    items
        .into_values()
        .map(|(prefix, mut item)| {
            if let Some(key) = flattened_key(fields, &prefix) {
                item.body.insert("Key".to_owned(), Value::Object(key));
            }
            item
        })
        .filter(|i| i.body.contains_key("TableName"))
        .collect()
}

/// A `TransactItems` or `RequestItems` body from flattened items.
fn grouped_body(operation: &str, items: Vec<FlatItem>) -> Map<String, Value> {
    let mut body = Map::new();
    match operation {
        "BatchGetItem" | "BatchWriteItem" => {
            let mut tables: Map<String, Value> = Map::new();
            for item in items {
                let table = item
                    .body
                    .get("TableName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let key = item.body.get("Key").cloned().unwrap_or(Value::Null);
                let entry = tables.entry(table).or_insert_with(|| {
                    if operation == "BatchGetItem" {
                        serde_json::json!({"Keys": []})
                    } else {
                        Value::Array(Vec::new())
                    }
                });
                let request = if item.action.eq_ignore_ascii_case("delete") {
                    serde_json::json!({"DeleteRequest": {"Key": key}})
                } else {
                    serde_json::json!({"PutRequest": {"Item": key}})
                };
                match entry {
                    Value::Object(o) => {
                        if let Some(Value::Array(keys)) = o.get_mut("Keys") {
                            keys.push(key);
                        }
                    }
                    Value::Array(requests) => requests.push(request),
                    _ => {}
                }
            }
            body.insert("RequestItems".to_owned(), Value::Object(tables));
        }
        _ => {
            let reading = operation == "TransactGetItems";
            let list: Vec<Value> = items
                .into_iter()
                .map(|item| {
                    let action = match item.action.to_ascii_lowercase().as_str() {
                        "put" => "Put",
                        "delete" => "Delete",
                        "conditioncheck" => "ConditionCheck",
                        "get" => "Get",
                        _ if reading => "Get",
                        _ => "Update",
                    };
                    let mut wrapper = Map::new();
                    wrapper.insert(action.to_owned(), Value::Object(item.body));
                    Value::Object(wrapper)
                })
                .collect();
            body.insert("TransactItems".to_owned(), Value::Array(list));
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn operations_in_the_spellings_of_sdks_and_loggers() {
        for (raw, op) in [
            ("GetItem", Some("GetItem")),
            ("getItem", Some("GetItem")),
            ("PutItemCommand", Some("PutItem")),
            ("DynamoDB_20120810.UpdateItem", Some("UpdateItem")),
            ("DynamoDB.Query", Some("Query")),
            ("createTable", Some("CreateTable")),
            ("GET", None),
            ("listUsers", None),
            ("", None),
        ] {
            assert_eq!(canonical_operation(raw).as_deref(), op, "{raw}");
        }
    }

    /// The loose reading of `line`, without a mapping.
    fn loose(line: &str) -> String {
        let obj: Map<String, Value> = serde_json::from_str(line).unwrap();
        format!("{:?}", read(&Fields::of(&obj), None))
    }

    /// The typed reading of the documented shape gives the call the loose reading gives, on
    /// every line of the recorded apps' request logs and the dialects' (which it leaves to the
    /// loose reading), and on the edge cases of each member's type.
    #[test]
    fn the_documented_shape_read_typed_is_the_call_read_loosely() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut lines = Vec::new();
        // Per file: its lines, and how many of them the typed reading takes.
        let mut per_file = Vec::new();
        for file in [
            "recorded/app-wire.jsonl",
            "recorded/toctou/app-wire.jsonl",
            "recorded/bola/app-wire.jsonl",
            "recorded/bola/benign-wire.jsonl",
            "dialects/botocore-jsonlogger.jsonl",
            "dialects/sdkv2-winston.jsonl",
            "dialects/sdkv3-pino.jsonl",
            "dialects/structlog-ecs.jsonl",
        ] {
            let text = std::fs::read_to_string(fixtures.join(file)).unwrap();
            let typed = text.lines().filter(|l| documented(l).is_some()).count();
            per_file.push((file, text.lines().count(), typed));
            lines.extend(text.lines().map(str::to_owned));
        }
        // The recorded apps write the documented shape, every line; the dialects do not.
        for (file, count, typed) in per_file {
            let expected = if file.starts_with("recorded/") {
                count
            } else {
                0
            };
            assert_eq!(
                typed, expected,
                "{file}: {typed} of {count} lines read typed"
            );
        }
        let recorded = lines.len();
        let line = |members: &str| {
            format!(
                r#"{{"time":"2026-11-20T10:00:00.123456Z","operation":"UpdateItem","request":{{"TableName":"orders","Key":{{"orderId":{{"S":"o-1"}}}},"ConditionExpression":"owner_id = :uid"}}{members}}}"#
            )
        };
        for members in [
            "",
            r#","status":200,"error_type":"","request_id":"Q1N2","principal":"alice","tenant":"acme","key_id":"AKIAIOSFODNN7EXAMPLE","trace_id":"4bf9","span_id":"00f0","app_request_id":"req-42","duration_ms":3.2"#,
            r#","status":400,"error_type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","error_message":"The conditional request failed""#,
            r#","status":700,"duration_ms":-1"#,
            r#","status":null,"principal":null,"request_id":"","app_request_id":"a\u00e9\"b""#,
            // Not the documented types: read loosely.
            r#","status":"200","principal":{"id":"u-1"},"duration_ms":"3""#,
            r#","status":200.0,"request_id":12345678901234567890123"#,
            // Another member, a second `status`: read loosely.
            r#","user_id":"bob""#,
            r#","status":200,"status":500"#,
        ] {
            lines.push(line(members));
        }
        lines.push(line("").replace(r#""TableName":"orders","#, ""));
        lines.push(line("").replace("UpdateItem", "Frobnicate"));
        // An epoch in a string is a string: read typed.
        lines.push(line("").replace("2026-11-20T10:00:00.123456Z", "1796215507.25"));
        // Epoch numbers, as loggers write them.
        lines.push(line("").replace(r#""2026-11-20T10:00:00.123456Z""#, "1796215507.25"));
        lines.push(line("").replace(r#""2026-11-20T10:00:00.123456Z""#, "1796215507123"));
        lines.push(line("").replace(r#""2026-11-20T10:00:00.123456Z""#, "-1"));
        lines.push(line("").replace(r#""time":"2026-11-20T10:00:00.123456Z","#, ""));
        lines.push(line("").replace("UpdateItem", "CreateTable"));
        for line in &lines {
            if let Some(call) = documented(line) {
                assert_eq!(format!("{call:?}"), loose(line), "{line}");
            }
        }
        let typed_cases: Vec<bool> = lines[recorded..]
            .iter()
            .map(|l| documented(l).is_some())
            .collect();
        assert_eq!(
            typed_cases,
            [
                true, true, true, true, true, false, false, false, false, false, false, true, true,
                true, false, false, true
            ]
        );
    }
}
