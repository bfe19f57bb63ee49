//! Credentials seen in inputs. Key material (API keys, bearer tokens, cookies, passwords) is never
//! stored: it becomes a stable key id, `hk:` and the first 16 hex digits of its SHA-256, so uses
//! of one key can be linked across inputs without keeping the secret. Readers of HTTP records
//! get who a request came from out of its headers with [`identity_from_headers`].

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The prefix of key ids derived from key material.
pub(super) const HASHED_KEY_PREFIX: &str = "hk:";

/// The stable key id of `material`: `hk:` + the first 16 hex digits of its SHA-256.
pub(super) fn key_id_of(material: &str) -> String {
    let digest = Sha256::digest(material.as_bytes());
    let mut id = String::with_capacity(HASHED_KEY_PREFIX.len() + 16);
    id.push_str(HASHED_KEY_PREFIX);
    crate::digest::push_hex(&mut id, digest.get(..8).unwrap_or_default());
    id
}

/// The key id for a full SHA-256 hex digest of key material (as a key inventory may list it),
/// matching [`key_id_of`] of the material; `None` if `hex` is not 64 hex digits.
pub(super) fn key_id_of_digest(hex: &str) -> Option<String> {
    let hex = hex.trim();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
        format!(
            "{HASHED_KEY_PREFIX}{}",
            hex.get(..16).unwrap_or_default().to_ascii_lowercase()
        )
    })
}

/// Who an HTTP request says it comes from. Never key material: credentials are key ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Identity {
    /// The user: a JWT's `sub`, a Basic user name, else `X-User-Id`.
    pub(super) principal: String,
    /// The credential's key id: an AWS access key id as is, else [`key_id_of`] the material.
    pub(super) key_id: String,
    /// [`key_id_of`] the session cookie's value.
    pub(super) session: String,
    /// A JWT's `tenant`/`tid`/`org_id` claim, else `X-Tenant-Id`.
    pub(super) tenant: String,
}

/// Headers that carry an API key.
const API_KEY_HEADERS: &[&str] = &["x-api-key", "api-key", "x-api-token"];

/// Cookie names that hold a session id (besides any name containing `session`).
const SESSION_COOKIES: &[&str] = &["sid", "connect.sid", "jsessionid", "phpsessid"];

/// JWT segments are base64url; some writers keep the padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Basic credentials are standard base64; some clients drop the padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The identity a request's headers give (names matched case-insensitively; the first of a
/// repeated header counts, except `Cookie`, whose first session cookie counts):
///
/// - `Authorization: Bearer <jwt>`: principal = the payload's `sub`, tenant = its `tenant`,
///   `tid` or `org_id` claim, key id = [`key_id_of`] the token. The JWT is decoded, not
///   verified: this reads logs, it does not authenticate. `Bearer <opaque>`: the key id only.
/// - `Authorization: Basic <base64>`: principal = the user name, key id = [`key_id_of`] the
///   decoded `user:password`.
/// - `Authorization: AWS4-HMAC-SHA256 Credential=<access key id>/...` (and `AWS <id>:<sig>`):
///   key id = the access key id as is (an id, not a secret).
/// - Any other `Authorization`: key id = [`key_id_of`] the whole value.
/// - `X-API-Key`, `Api-Key`, `X-Api-Token`: key id = [`key_id_of`] the value, only when
///   `Authorization` gave none: the credential the server authenticates is the `Authorization`
///   one, an API key beside it is usually a usage-plan key.
/// - `Cookie`: session = [`key_id_of`] the first session cookie's value (`session`,
///   `sessionid`, `sid`, `connect.sid`, `JSESSIONID`, `PHPSESSID`, any name containing
///   `session`; `__Host-`/`__Secure-` prefixes ignored).
/// - `X-User-Id`, `X-Tenant-Id`: principal and tenant when nothing above gave them.
pub(super) fn identity_from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Identity {
    let mut authorization = None;
    let mut api_key = None;
    let mut session = None;
    let mut user_id = None;
    let mut tenant_id = None;
    for (name, value) in headers {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("authorization") {
            authorization.get_or_insert(value);
        } else if API_KEY_HEADERS.iter().any(|h| is(h)) {
            api_key.get_or_insert(value);
        } else if is("cookie") {
            if session.is_none() {
                session = session_cookie(value);
            }
        } else if is("x-user-id") {
            user_id.get_or_insert(value);
        } else if is("x-tenant-id") {
            tenant_id.get_or_insert(value);
        }
    }
    let mut id = authorization.map(from_authorization).unwrap_or_default();
    if id.key_id.is_empty()
        && let Some(key) = api_key
    {
        id.key_id = structured_key_id(key).unwrap_or_else(|| key_id_of(key));
    }
    if let Some(s) = session {
        id.session = key_id_of(s);
    }
    if id.principal.is_empty() {
        id.principal = user_id.unwrap_or_default().to_owned();
    }
    if id.tenant.is_empty() {
        id.tenant = tenant_id.unwrap_or_default().to_owned();
    }
    id
}

/// The identity an `Authorization` value gives.
fn from_authorization(value: &str) -> Identity {
    let (scheme, credentials) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .map_or((value, ""), |(s, c)| (s, c.trim()));
    let scheme_is = |s: &str| scheme.eq_ignore_ascii_case(s);
    if credentials.is_empty() {
        // A bare token, or a scheme without credentials.
        return Identity {
            key_id: if scheme_is("bearer") || scheme_is("basic") {
                String::new()
            } else {
                key_id_of(value)
            },
            ..Identity::default()
        };
    }
    if scheme_is("bearer") {
        let mut id = jwt_identity(credentials).unwrap_or_default();
        id.key_id = structured_key_id(credentials).unwrap_or_else(|| key_id_of(credentials));
        id
    } else if scheme_is("basic") {
        match basic_credentials(credentials) {
            Some(decoded) => Identity {
                principal: decoded
                    .split_once(':')
                    .map_or(decoded.as_str(), |(user, _)| user)
                    .to_owned(),
                key_id: key_id_of(&decoded),
                ..Identity::default()
            },
            None => Identity {
                key_id: key_id_of(credentials),
                ..Identity::default()
            },
        }
    } else if scheme
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("aws4-"))
    {
        let access_key = credentials
            .split(',')
            .find_map(|p| p.trim().strip_prefix("Credential="))
            .and_then(|c| c.split('/').next());
        Identity {
            key_id: access_key.map_or_else(|| key_id_of(value), aws_key_id),
            ..Identity::default()
        }
    } else if scheme_is("aws") {
        // Signature version 2: `AWS <access key id>:<signature>`.
        let access_key = credentials.split(':').next().unwrap_or_default();
        Identity {
            key_id: aws_key_id(access_key),
            ..Identity::default()
        }
    } else {
        Identity {
            key_id: structured_key_id(credentials).unwrap_or_else(|| key_id_of(value)),
            ..Identity::default()
        }
    }
}

/// The id a structured API key names: `<prefix>_<id>.<secret>` (`dk_k-7bcf9d355a29.poQp…`), as
/// many services build keys so that the key is looked up by its id and the secret is checked
/// against a stored hash. The id is what the service's key store and admin routes call the key,
/// and it is not secret; the secret is never kept. `None` for any other shape (a JWT has two
/// dots).
pub(super) fn structured_key_id(key: &str) -> Option<String> {
    let (head, secret) = key.split_once('.')?;
    let (prefix, id) = head.split_once('_')?;
    let word = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let ok = (1..=16).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        && (4..=64).contains(&id.len())
        && word(id)
        && secret.len() >= 8
        && word(secret);
    ok.then(|| id.to_owned())
}

/// An AWS access key id (`AKIA...`, `ASIA...`: an id, not a secret), an application's short key
/// id (`k-7bcf9d355a29`) or an `hk:` key id as is; anything else in its place is hashed, in case
/// it is a secret (a secret access key has lower case letters, `/` and `+`).
pub(super) fn aws_key_id(id: &str) -> String {
    let is_access_key_id = id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    // An application's own key id (`k-7bcf9d355a29`, `key_42`): short, a prefix and a separator;
    // secrets are longer.
    let is_app_key_id = (3..=24).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && id.bytes().any(|b| b == b'-' || b == b'_');
    if is_access_key_id || is_app_key_id || id.starts_with(HASHED_KEY_PREFIX) {
        id.to_owned()
    } else {
        key_id_of(id)
    }
}

/// Principal and tenant from a JWT's payload, decoded without verifying the signature; `None`
/// if the token is not a JWT (three segments, a JSON object in the middle).
fn jwt_identity(token: &str) -> Option<Identity> {
    let mut segments = token.split('.');
    let (_header, payload, _signature) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() {
        return None;
    }
    let claims: Map<String, Value> =
        serde_json::from_slice(&BASE64URL.decode(payload).ok()?).ok()?;
    let claim = |name: &str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Some(Identity {
        principal: claim("sub").unwrap_or_default(),
        tenant: ["tenant", "tid", "org_id"]
            .into_iter()
            .find_map(claim)
            .unwrap_or_default(),
        ..Identity::default()
    })
}

/// The decoded `user:password` of Basic credentials.
fn basic_credentials(b64: &str) -> Option<String> {
    String::from_utf8(BASE64.decode(b64).ok()?).ok()
}

/// The value of the first session cookie in a `Cookie` header.
fn session_cookie(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (is_session_cookie(name.trim()) && !value.is_empty()).then_some(value)
    })
}

fn is_session_cookie(name: &str) -> bool {
    let name = name
        .strip_prefix("__Host-")
        .or_else(|| name.strip_prefix("__Secure-"))
        .unwrap_or(name)
        .to_ascii_lowercase();
    name.contains("session") || SESSION_COOKIES.contains(&name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(headers: &[(&str, &str)]) -> Identity {
        identity_from_headers(headers.iter().copied())
    }

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            BASE64URL.encode(r#"{"alg":"RS256"}"#),
            BASE64URL.encode(payload)
        )
    }

    #[test]
    fn key_ids_hide_the_material_and_match_digests() {
        let id = key_id_of("sk_live_0123456789");
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("hk:") && !id.contains("sk_live"));
        let full: String = Sha256::digest(b"sk_live_0123456789")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(key_id_of_digest(&full), Some(id));
        assert_eq!(key_id_of_digest("abc"), None);
    }

    #[test]
    fn a_bearer_jwt_gives_subject_tenant_and_a_hashed_key_id() {
        let token = jwt(r#"{"sub":"user-7","tid":"acme","exp":1}"#);
        let id = identity(&[("authorization", &format!("Bearer {token}"))]);
        assert_eq!(
            id,
            Identity {
                principal: "user-7".into(),
                key_id: key_id_of(&token),
                session: String::new(),
                tenant: "acme".into(),
            }
        );
        let numeric = jwt(r#"{"sub":42,"org_id":9,"tenant":"t1"}"#);
        let id = identity(&[("AUTHORIZATION", &format!("bearer {numeric}"))]);
        assert_eq!((id.principal.as_str(), id.tenant.as_str()), ("42", "t1"));
    }

    #[test]
    fn a_structured_key_names_its_id_and_keeps_its_secret_out() {
        let key = "dk_k-7bcf9d355a29._8yO-NoL2Lmi9ndqrQP176wgqgyCwlbi";
        for headers in [
            [("Authorization", format!("ApiKey {key}"))],
            [("Authorization", format!("Bearer {key}"))],
            [("X-API-Key", key.to_owned())],
        ] {
            let id = identity_from_headers(headers.iter().map(|(n, v)| (*n, v.as_str())));
            assert_eq!(id.key_id, "k-7bcf9d355a29", "{headers:?}");
        }
        assert_eq!(structured_key_id("sk_live.abc"), None);
        assert_eq!(structured_key_id("a.b.c"), None);
        assert_eq!(aws_key_id("k-7bcf9d355a29"), "k-7bcf9d355a29");
        assert_eq!(aws_key_id("svc-reporting"), "svc-reporting");
        assert!(aws_key_id("poQp2EbXLEZl5eatXj3civ9BgcBnn3xyz").starts_with("hk:"));
    }

    #[test]
    fn an_opaque_bearer_token_gives_only_a_key_id() {
        let id = identity(&[("Authorization", "Bearer sk_live_abc.def")]);
        assert_eq!(
            id,
            Identity {
                key_id: key_id_of("sk_live_abc.def"),
                ..Identity::default()
            }
        );
        assert_eq!(
            identity(&[("Authorization", "Bearer ")]),
            Identity::default()
        );
    }

    #[test]
    fn basic_credentials_give_the_user_and_a_key_id_of_the_pair() {
        // "alice:s3cret", unpadded too.
        let id = identity(&[("Authorization", "Basic YWxpY2U6czNjcmV0")]);
        assert_eq!(id.principal, "alice");
        assert_eq!(id.key_id, key_id_of("alice:s3cret"));
        let unpadded = identity(&[("Authorization", "Basic Ym9iOnB3")]);
        assert_eq!(unpadded.principal, "bob");
        let garbage = identity(&[("Authorization", "Basic !!!")]);
        assert_eq!(
            (garbage.principal.as_str(), garbage.key_id),
            ("", key_id_of("!!!"))
        );
    }

    #[test]
    fn sigv4_gives_the_access_key_id_as_is() {
        let v4 = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
        assert_eq!(
            identity(&[("Authorization", v4)]),
            Identity {
                key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                ..Identity::default()
            }
        );
        assert_eq!(
            identity(&[("Authorization", "AWS ASIAIOSFODNN7EXAMPLE:c2ln")]).key_id,
            "ASIAIOSFODNN7EXAMPLE"
        );
        let odd = "AWS4-HMAC-SHA256 Credential=wJalrXUtnFEMI/K7MDENG/x, Signature=00";
        assert_eq!(
            identity(&[("Authorization", odd)]).key_id,
            key_id_of("wJalrXUtnFEMI")
        );
    }

    #[test]
    fn api_key_headers_give_a_key_id_unless_authorization_did() {
        for name in ["X-API-Key", "api-key", "X-Api-Token"] {
            assert_eq!(identity(&[(name, "k-123")]).key_id, key_id_of("k-123"));
        }
        let both = identity(&[("x-api-key", "k-123"), ("Authorization", "Bearer t-1")]);
        assert_eq!(both.key_id, key_id_of("t-1"));
        let other_scheme = identity(&[("Authorization", "Token abc")]);
        assert_eq!(other_scheme.key_id, key_id_of("Token abc"));
    }

    #[test]
    fn session_cookies_give_a_hashed_session() {
        for (cookie, value) in [
            ("theme=dark; sessionid=s-1", "s-1"),
            ("JSESSIONID=j-1", "j-1"),
            ("PHPSESSID=p-1; sid=other", "p-1"),
            ("connect.sid=\"c-1\"", "c-1"),
            ("__Host-session=h-1", "h-1"),
            ("_myapp_session=r-1", "r-1"),
            ("sid=x-1", "x-1"),
        ] {
            assert_eq!(
                identity(&[("Cookie", cookie)]).session,
                key_id_of(value),
                "{cookie}"
            );
        }
        assert_eq!(identity(&[("cookie", "theme=dark; lang=en")]).session, "");
        let two = identity(&[("cookie", "theme=dark"), ("cookie", "session=s-2")]);
        assert_eq!(two.session, key_id_of("s-2"));
    }

    #[test]
    fn user_and_tenant_headers_fill_only_what_is_missing() {
        let plain = identity(&[("X-User-Id", "u-1"), ("x-tenant-id", "t-1")]);
        assert_eq!(
            (plain.principal.as_str(), plain.tenant.as_str()),
            ("u-1", "t-1")
        );
        let token = jwt(r#"{"sub":"user-7"}"#);
        let id = identity(&[
            ("X-User-Id", "u-1"),
            ("x-tenant-id", "t-1"),
            ("Authorization", &format!("Bearer {token}")),
        ]);
        assert_eq!(
            (id.principal.as_str(), id.tenant.as_str()),
            ("user-7", "t-1")
        );
    }
}
