//! What every reader of HTTP records shares: the outcome of a status, the object ids a path
//! names, and the credentials a URL may carry (redacted before anything is stored).

use super::credentials::key_id_of;
use crate::event::{MAX_RETURNED_IDS, NamedId, Outcome};
use crate::names::folded;

/// The outcome of an HTTP status: 2xx/3xx success, 401/403 denied, 404 not found, 409/412
/// conflict, 429 throttled, other 4xx/5xx error; 0 (no response) and anything else unknown.
pub(crate) fn http_outcome(status: u16) -> Outcome {
    match status {
        200..=399 => Outcome::Success,
        401 | 403 => Outcome::Denied,
        404 => Outcome::NotFound,
        409 | 412 => Outcome::Conflict,
        429 => Outcome::Throttled,
        400..=599 => Outcome::Error,
        _ => Outcome::Unknown,
    }
}

/// The object ids in a path, keyed by the segment before each: `/users/42/profile` gives
/// `users: 42`. An id is a number, a UUID, a ULID or 16+ hex digits; an id without a name
/// before it (`/42`, the second of `/a/1/2`) is not kept, and a repeated name keeps its first
/// id. Segments are taken as written (not percent-decoded), without `;` parameters.
pub(super) fn object_ids(path: &str) -> crate::event::Fields {
    let mut ids = crate::event::Fields::new();
    let mut name: Option<&str> = None;
    for segment in path.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        if segment.is_empty() {
            continue;
        }
        if is_object_id(segment) {
            if let Some(n) = name.take() {
                ids.entry(n.into()).or_insert_with(|| segment.into());
            }
        } else {
            name = Some(segment);
        }
    }
    ids
}

pub(crate) fn is_object_id(segment: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let numeric = segment.bytes().all(|b| b.is_ascii_digit());
    let long_hex = segment.len() >= 16 && hex(segment);
    let uuid = segment.len() == 36
        && segment.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && hex(&segment.replace('-', ""));
    numeric || long_hex || uuid || is_ulid(segment)
}

/// 26 Crockford base32 digits, starting with 0-7 (a 48-bit millisecond time).
fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.starts_with(|c: char| ('0'..='7').contains(&c))
        && s.bytes().all(|b| {
            let b = b.to_ascii_uppercase();
            b.is_ascii_digit()
                || (b.is_ascii_uppercase() && !matches!(b, b'I' | b'L' | b'O' | b'U'))
        })
}

/// A route template in one notation, `{name}` per parameter: Flask's `<id>` / `<int:id>` and
/// Express's `:id` are rewritten; `{id}` (OpenAPI, API Gateway, Spring, Django's converted
/// routes) is kept.
pub(super) fn normalize_route(route: &str) -> String {
    // Written into one string: routes are normalized once per request read.
    let mut out = String::with_capacity(route.len() + 2);
    for (i, segment) in route.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let name = if let Some(inner) = segment.strip_prefix('<').and_then(|s| s.strip_suffix('>'))
        {
            inner.rsplit(':').next().unwrap_or(inner)
        } else if let Some(name) = segment.strip_prefix(':').filter(|n| !n.is_empty()) {
            name.trim_end_matches('?')
        } else {
            out.push_str(segment);
            continue;
        };
        out.push('{');
        out.push_str(name);
        out.push('}');
    }
    out
}

/// The W3C form of an X-Ray trace id: `1-5759e988-bd862e3fe1be46a994272793` gives
/// `5759e988bd862e3fe1be46a994272793`; `None` if it is not one.
pub(super) fn xray_trace_id(root: &str) -> Option<String> {
    let mut parts = root.split('-');
    let (version, time, id) = (parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (version == "1" && hex(time, 8) && hex(id, 24) && parts.next().is_none()).then(|| {
        let mut w3c = String::with_capacity(time.len() + id.len());
        w3c.extend(
            time.chars()
                .chain(id.chars())
                .map(|c| c.to_ascii_lowercase()),
        );
        w3c
    })
}

/// A URL part with its credentials replaced by key ids.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Redacted {
    /// The text, each credential value replaced by its [`key_id_of`].
    pub(super) text: String,
    /// The key id of the first API key or access token found, for the actor when the headers
    /// gave none.
    pub(super) key_id: Option<String>,
}

/// Parameter names (lowercase, `-`/`_` removed) whose value is a credential.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "code",
    "sig",
    "pwd",
    "pass",
    "sid",
    "auth",
    "jsessionid",
    "phpsessid",
];

/// Name fragments that mark a credential parameter.
const SECRET_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "apikey",
    "session",
];

/// Parameters whose credential identifies the caller's key.
const KEY_PARAMS: &[&str] = &[
    "key",
    "apikey",
    "apitoken",
    "token",
    "accesstoken",
    "authtoken",
];

fn is_secret_param(normalized: &str) -> bool {
    SECRET_PARAMS.contains(&normalized) || SECRET_FRAGMENTS.iter().any(|f| normalized.contains(f))
}

/// Redacts `name=value` parameters separated by `separator` (`&` in a query, `;` in a path
/// segment).
fn redact_params(params: &str, separator: char, out: &mut Redacted) -> String {
    params
        .split(separator)
        .map(|param| match param.split_once('=') {
            Some((name, value)) if !value.is_empty() => {
                let name_key = folded(name);
                if !is_secret_param(&name_key) {
                    return param.to_owned();
                }
                let id = key_id_of(value);
                if out.key_id.is_none() && KEY_PARAMS.contains(&name_key.as_str()) {
                    out.key_id = Some(id.clone());
                }
                format!("{name}={id}")
            }
            _ => param.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

/// An `http(s)` URL's parts, user info and fragment dropped.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Url<'u> {
    /// `host[:port]`.
    pub(super) host: &'u str,
    pub(super) path: &'u str,
    /// Without the `?`.
    pub(super) query: &'u str,
}

/// Splits an `http`/`https` URL (or an origin-relative `/path`); `None` for other schemes.
pub(super) fn split_url(url: &str) -> Option<Url<'_>> {
    let url = url.trim();
    let (host, rest) = match url.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, rest) = rest.split_at(end);
            (authority.rsplit('@').next().unwrap_or_default(), rest)
        }
        None if url.starts_with('/') => ("", url),
        _ => return None,
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Some(Url {
        host,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// A raw query string (without `?`) with credential parameters (`api_key`, `access_token`,
/// `X-Amz-Signature`, `password`, `session`...) replaced by their key ids.
pub(super) fn redact_query(query: &str) -> Redacted {
    let mut out = Redacted::default();
    out.text = redact_params(query, '&', &mut out);
    out
}

/// A path with credential `;` parameters (`;jsessionid=...`) replaced by their key ids.
pub(super) fn redact_path(path: &str) -> Redacted {
    let mut out = Redacted::default();
    if !path.contains(';') {
        out.text = path.to_owned();
        return out;
    }
    out.text = path
        .split('/')
        .map(|segment| match segment.split_once(';') {
            Some((head, params)) => format!("{head};{}", redact_params(params, ';', &mut out)),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    out
}

/// Id fields that name a call, not an object.
/// (written without `_` and `-`, lowercase).
const NOT_OBJECT_IDS: &[&str] = &[
    "requestid",
    "traceid",
    "spanid",
    "parentid",
    "correlationid",
    "sessionid",
];

/// How deep a response body is searched for ids.
const MAX_ID_DEPTH: usize = 8;

/// The object ids a response returned: the path of its `Location` header (named `location`;
/// the enrichment stage reads the ids out of it), then every string or integer field of a JSON
/// body named `id`, `*_id`, `*-id` or `*Id` (fields by name, arrays in order; nested objects and arrays
/// included, down to [`MAX_ID_DEPTH`]), at most [`MAX_RETURNED_IDS`]. Fields naming a call
/// rather than an object (`request_id`, `trace_id`, `session_id`...) are not ids.
pub(super) fn returned_ids(location: Option<&str>, body: Option<&str>) -> Vec<NamedId> {
    let mut ids = Vec::new();
    if let Some(url) = location.and_then(split_url) {
        ids.push(NamedId {
            name: "location".into(),
            value: redact_path(url.path).text.into(),
        });
    }
    let body = body.map(str::trim_start).unwrap_or_default();
    if body.starts_with(['{', '['])
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(body)
    {
        collect_ids(&value, 0, &mut ids);
    }
    ids
}

fn collect_ids(value: &serde_json::Value, depth: usize, out: &mut Vec<NamedId>) {
    use serde_json::Value;
    if depth > MAX_ID_DEPTH {
        return;
    }
    match value {
        Value::Object(fields) => {
            for (name, v) in fields {
                if out.len() >= MAX_RETURNED_IDS {
                    return;
                }
                if is_grantees_field(name) {
                    // Who the object is shared with: principals, not object ids.
                    let grantees: Vec<&str> = match v {
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|i| {
                                i.as_str().or_else(|| {
                                    ["user_id", "id", "principal", "user"]
                                        .into_iter()
                                        .find_map(|k| i.get(k).and_then(Value::as_str))
                                })
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    push_named(out, crate::event::RETURNED_GRANTEE, grantees);
                    continue;
                }
                if is_scopes_field(name) {
                    // A key-management response's scopes: what the key may do from now on.
                    let scopes: Vec<&str> = match v {
                        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                        Value::String(s) => s.split([' ', ',']).collect(),
                        _ => Vec::new(),
                    };
                    push_named(out, crate::event::RETURNED_SCOPE, scopes);
                    continue;
                }
                let id = match v {
                    Value::String(s) if !s.is_empty() && s.len() <= 256 => Some(s.clone()),
                    Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
                    _ => None,
                };
                match id {
                    Some(id) if is_id_field(name) => out.push(NamedId {
                        name: name.clone().into(),
                        value: id.into(),
                    }),
                    _ => collect_ids(v, depth + 1, out),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                if out.len() >= MAX_RETURNED_IDS {
                    return;
                }
                collect_ids(v, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Adds each of `values` (non-empty, at most 256 bytes) as a `name` entry, up to
/// [`MAX_RETURNED_IDS`] in all.
fn push_named(out: &mut Vec<NamedId>, name: &str, values: Vec<&str>) {
    for value in values
        .into_iter()
        .filter(|v| !v.is_empty() && v.len() <= 256)
    {
        if out.len() >= MAX_RETURNED_IDS {
            return;
        }
        out.push(NamedId {
            name: name.into(),
            value: value.into(),
        });
    }
}

fn is_grantees_field(name: &str) -> bool {
    matches!(
        folded(name).as_str(),
        "sharedwith"
            | "sharedwithuserids"
            | "sharedwithusers"
            | "members"
            | "memberids"
            | "collaborators"
            | "readers"
            | "editors"
            | "viewers"
            | "grantees"
            | "allowedusers"
    )
}

fn is_scopes_field(name: &str) -> bool {
    matches!(
        folded(name).as_str(),
        "scopes" | "scope" | "permissions" | "grantedscopes"
    )
}

fn is_id_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if NOT_OBJECT_IDS.contains(&folded(name).as_str()) {
        return false;
    }
    lower == "id"
        || lower.ends_with("_id")
        || lower.ends_with("-id")
        || name.ends_with("Id")
        || name.ends_with("ID")
}

#[cfg(test)]
mod tests {

    #[test]
    fn responses_return_ids_from_location_and_json_id_fields() {
        let ids = returned_ids(
            Some("https://api.example/orders/1001?x=1"),
            Some(
                r#"{"order_id":"1001","request_id":"r-1","items":[{"id":7},{"sku":"a"}],"traceId":"t","ownerId":"alice"}"#,
            ),
        );
        let pairs: Vec<(&str, &str)> = ids
            .iter()
            .map(|n| (n.name.as_str(), n.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("location", "/orders/1001"),
                ("id", "7"),
                ("order_id", "1001"),
                ("ownerId", "alice")
            ]
        );
        assert!(returned_ids(None, Some("<html>")).is_empty());
    }

    use super::*;

    #[test]
    fn urls_are_split() {
        assert_eq!(
            split_url("HTTPS://u:p@Host:1/a/b?q=1&r#f"),
            Some(Url {
                host: "Host:1",
                path: "/a/b",
                query: "q=1&r"
            })
        );
        assert_eq!(
            split_url("/rel?x"),
            Some(Url {
                host: "",
                path: "/rel",
                query: "x"
            })
        );
        assert_eq!(split_url("about:blank"), None);
    }

    #[test]
    fn routes_are_written_one_way() {
        assert_eq!(
            normalize_route("/users/<int:user_id>/profile"),
            "/users/{user_id}/profile"
        );
        assert_eq!(normalize_route("/orders/<order_id>"), "/orders/{order_id}");
        assert_eq!(
            normalize_route("/users/:id/posts/:post?"),
            "/users/{id}/posts/{post}"
        );
        assert_eq!(normalize_route("/items/{id}"), "/items/{id}");
        // Segments that only look like parameters, and empty ones, are kept as they are.
        for kept in ["", "/", "//a/", "/a/:/b", "/a/<b", "/a/b>", "x:y/z"] {
            assert_eq!(normalize_route(kept), kept);
        }
        assert_eq!(normalize_route("<>/:a??/<x:y:z>"), "{}/{a}/{z}");
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let cases = [
            (0, Outcome::Unknown),
            (101, Outcome::Unknown),
            (200, Outcome::Success),
            (304, Outcome::Success),
            (400, Outcome::Error),
            (401, Outcome::Denied),
            (403, Outcome::Denied),
            (404, Outcome::NotFound),
            (409, Outcome::Conflict),
            (412, Outcome::Conflict),
            (429, Outcome::Throttled),
            (500, Outcome::Error),
            (503, Outcome::Error),
            (600, Outcome::Unknown),
        ];
        for (status, outcome) in cases {
            assert_eq!(http_outcome(status), outcome, "{status}");
        }
    }

    #[test]
    fn object_ids_are_keyed_by_the_segment_before_them() {
        let ids = |p| {
            object_ids(p)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<(String, String)>>()
        };
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("/users/42/profile"), pairs(&[("users", "42")]));
        assert_eq!(
            ids("/orgs/7/docs/3f2504e0-4f89-11d3-9a0c-0305e82c3301;v=2"),
            pairs(&[
                ("docs", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
                ("orgs", "7")
            ])
        );
        assert_eq!(
            ids("/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV/items/507f1f77bcf86cd799439011"),
            pairs(&[
                ("items", "507f1f77bcf86cd799439011"),
                ("orders", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
            ])
        );
        assert_eq!(ids("/42/a/1/2"), pairs(&[("a", "1")]));
        assert_eq!(ids("/a/1/a/2"), pairs(&[("a", "1")]));
        assert_eq!(ids("/v1/users/me/deadbeef"), pairs(&[]));
        assert_eq!(ids("/"), pairs(&[]));
    }

    #[test]
    fn credentials_in_queries_and_paths_become_key_ids() {
        let q = redact_query("page=2&api_key=k1&X-Amz-Signature=abc&access_token=t1&flag");
        assert_eq!(
            q.text,
            format!(
                "page=2&api_key={}&X-Amz-Signature={}&access_token={}&flag",
                key_id_of("k1"),
                key_id_of("abc"),
                key_id_of("t1")
            )
        );
        assert_eq!(q.key_id, Some(key_id_of("k1")));
        assert_eq!(redact_query("page=2&sort=asc").text, "page=2&sort=asc");
        assert_eq!(redact_query("page=2").key_id, None);
        let p = redact_path("/app/cart;jsessionid=ABC123/items;v=1");
        assert_eq!(
            p.text,
            format!("/app/cart;jsessionid={}/items;v=1", key_id_of("ABC123"))
        );
        assert_eq!(p.key_id, None);
    }
}
