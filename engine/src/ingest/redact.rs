//! Secrets taken out of a record before it is shown (`tracewarden show`): credentials in
//! headers, cookies, query parameters, OTLP attributes, CloudTrail session tokens and key
//! material in inventories. What is kept is what an auditor needs to read the record: who, what,
//! when, which key id.

use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Names (compared lower-case, `-` and `_` alike) whose value is a secret.
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "x_api_key",
    "api_key",
    "apikey",
    "x_amz_security_token",
    "x_auth_token",
    "x_access_token",
    "sessiontoken",
    "session_token",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "secretaccesskey",
    "secret_access_key",
    "private_key",
    "key",
    "key_material",
];

/// Whether a field, header, parameter or attribute named `name` holds a secret. An OTLP
/// attribute (`http.request.header.authorization`) is judged by its last part.
pub fn is_secret_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let norm: String = last
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    SECRET_NAMES.contains(&norm.as_str())
}

/// The record `text` with its secrets replaced: JSON pretty-printed (members sorted by name), other
/// text (a CSV row) with bearer tokens and JWTs replaced.
pub fn redact_record(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            redact_value(&mut value);
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| redact_text(text))
        }
        Err(_) => redact_text(text),
    }
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(obj) => {
            // A `{"name": "Authorization", "value": …}` pair (HAR headers, query strings,
            // cookies) or an OTLP attribute `{"key": "…authorization", "value": {…}}`.
            let pair_name = ["name", "key"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_str))
                .map(str::to_owned);
            if let Some(name) = pair_name
                && is_secret_name(&name)
                && let Some(v) = obj.get_mut("value")
            {
                *v = Value::String(REDACTED.to_owned());
            }
            let is_pair = obj.contains_key("value");
            for (name, v) in obj.iter_mut() {
                // The `key` of an OTLP attribute pair is the attribute's name, not key material.
                let pair_name = is_pair && (name == "key" || name == "name");
                let scalar = !(v.is_object() || v.is_array() || v.is_null());
                if is_secret_name(name) && scalar && !pair_name {
                    *v = Value::String(REDACTED.to_owned());
                } else if name.eq_ignore_ascii_case("cookies")
                    && let Value::Array(cookies) = v
                {
                    // Every cookie's value, whatever the cookie's name (a session id).
                    for c in cookies.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(value) = c.get_mut("value") {
                            *value = Value::String(REDACTED.to_owned());
                        }
                    }
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) => {
            let redacted = redact_text(s);
            if redacted != *s {
                *s = redacted;
            }
        }
        _ => {}
    }
}

/// Bearer and Basic credentials, JWTs and secret query parameters in free text.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_scheme = false;
    for word in text.split_inclusive([' ', ',', '"', '\'', ';']) {
        let trimmed = word.trim_end_matches([' ', ',', '"', '\'', ';']);
        let tail = &word[trimmed.len()..];
        let secret = after_scheme || looks_like_jwt(trimmed);
        after_scheme = matches!(
            trimmed.to_ascii_lowercase().as_str(),
            "bearer" | "basic" | "token"
        ) && tail == " ";
        if secret && !trimmed.is_empty() {
            out.push_str(REDACTED);
            out.push_str(tail);
        } else {
            out.push_str(&redact_query(trimmed));
            out.push_str(tail);
        }
    }
    out
}

/// A URL or query string with the values of secret parameters replaced.
fn redact_query(text: &str) -> String {
    let Some(q) = text.find('?') else {
        return text.to_owned();
    };
    let (head, query) = text.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

/// Three base64url parts, the first a JSON header (`eyJ`).
fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    let [header, payload, _] = parts.as_slice() else {
        return false;
    };
    header.starts_with("eyJ")
        && [header, payload].iter().all(|p| {
            p.len() >= 4
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_attributes_tokens_and_key_material_are_replaced() {
        let har = r#"{"request": {"url": "https://api.example/v1/orders?api_key=abc123&page=2",
            "headers": [{"name": "Authorization", "value": "Bearer s3cr3t"},
                        {"name": "Accept", "value": "application/json"}],
            "cookies": [{"name": "session", "value": "c00k1e"}]}}"#;
        let shown = redact_record(har);
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("api_key=[REDACTED]&page=2"), "{shown}");
        assert!(shown.contains("application/json"), "{shown}");
        // A cookie named `session` is no secret name, but cookies as a whole are.
        assert!(!shown.contains("c00k1e"), "{shown}");

        let otlp = r#"{"attributes": [{"key": "http.request.header.x-api-key",
            "value": {"stringValue": "live-key"}}, {"key": "http.route", "value": {"stringValue": "/a"}}]}"#;
        let shown = redact_record(otlp);
        assert!(
            !shown.contains("live-key") && shown.contains("/a"),
            "{shown}"
        );

        let ct = r#"{"userIdentity": {"accessKeyId": "ASIAEXAMPLE", "sessionContext": {}},
            "requestParameters": {"sessionToken": "FwoGZXIvYXdz"},
            "note": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig"}"#;
        let shown = redact_record(ct);
        assert!(shown.contains("ASIAEXAMPLE"), "the key id stays: {shown}");
        assert!(!shown.contains("FwoGZXIvYXdz"), "{shown}");
        assert!(!shown.contains("eyJzdWIiOiJhIn0"), "{shown}");

        assert_eq!(
            redact_record("k-1,alice,Bearer abc,2026-11-01"),
            "k-1,alice,Bearer [REDACTED],2026-11-01"
        );
        let inventory = redact_record(r#"{"key": "live-secret-value", "key_id": "k-9"}"#);
        assert!(!inventory.contains("live-secret-value") && inventory.contains("k-9"));
    }
}
