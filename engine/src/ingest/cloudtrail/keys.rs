//! Key lifecycle from CloudTrail management events: IAM access keys (`CreateAccessKey`,
//! `UpdateAccessKey` to `Inactive`/`Active`, `DeleteAccessKey`), API Gateway API keys
//! (`CreateApiKey`, `UpdateApiKey` patching `/enabled`, `DeleteApiKey`), and STS session
//! credentials (`GetSessionToken`, `AssumeRole`, `GetFederationToken`, ...: the issued
//! `responseElements.credentials.accessKeyId`, created, derived from the caller's key).
//!
//! The key acted on is `requestParameters.accessKeyId` / `apiKey` (update, delete) or the created
//! key in `responseElements`; `userIdentity.accessKeyId` is the caller's key. A refused call keeps
//! its outcome (`denied`, `error`): it is an attempt, not a change.

use serde_json::{Map, Value};

use super::{Classified, CtRecord, NOT_MODELLED, object, param};
use crate::event::{Detail, KeyAction, KeyLifecycle};

pub(super) fn classify(name: &str, rec: &CtRecord<'_>) -> Classified {
    let (params, response) = match (
        object(rec.request_parameters, "requestParameters"),
        object(rec.response_elements, "responseElements"),
    ) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) => return Classified::Malformed(e),
    };
    let caller = rec
        .user_identity
        .as_ref()
        .and_then(|u| u.user_name.as_deref())
        .unwrap_or_default();
    let text = |map: &Map<String, Value>, key: &str| {
        param(map, key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (action, key_id, owner) = match name {
        "CreateAccessKey" => {
            let created = param(&response, "accessKey").and_then(Value::as_object);
            let owner = created
                .map(|k| text(k, "userName"))
                .filter(|o| !o.is_empty())
                .unwrap_or_else(|| text(&params, "userName"));
            let key_id = created.map(|k| text(k, "accessKeyId")).unwrap_or_default();
            (KeyAction::Created, key_id, owner)
        }
        "CreateApiKey" => (KeyAction::Created, text(&response, "id"), String::new()),
        "UpdateAccessKey" | "DeleteAccessKey" | "UpdateApiKey" | "DeleteApiKey" => {
            if params.is_empty() {
                return Classified::Skip("refused key change whose target CloudTrail did not log");
            }
            let iam = name.ends_with("AccessKey");
            let action = if name.starts_with("Delete") {
                KeyAction::Deleted
            } else if iam {
                match text(&params, "status").as_str() {
                    "Inactive" | "Expired" => KeyAction::Deactivated,
                    "Active" => KeyAction::Activated,
                    other => {
                        return Classified::Malformed(format!(
                            "UpdateAccessKey with status `{other}`: expected `Active` or `Inactive`"
                        ));
                    }
                }
            } else {
                match enabled_patch(&params) {
                    Some(false) => KeyAction::Deactivated,
                    Some(true) => KeyAction::Activated,
                    None => {
                        return Classified::Skip(
                            "API key change that neither enables nor disables it",
                        );
                    }
                }
            };
            if iam {
                (
                    action,
                    text(&params, "accessKeyId"),
                    text(&params, "userName"),
                )
            } else {
                (action, text(&params, "apiKey"), String::new())
            }
        }
        _ => return Classified::Skip(NOT_MODELLED),
    };
    // IAM keys without a `userName` belong to the caller.
    let owner = if owner.is_empty() && name.ends_with("AccessKey") {
        caller.to_owned()
    } else {
        owner
    };
    Classified::Detail(Detail::KeyLifecycle(KeyLifecycle {
        action,
        key_id: key_id.into(),
        owner: owner.into(),
        scopes: Vec::new(),
        parent_key_id: Default::default(),
    }))
}

/// STS calls that issue session credentials.
const ISSUING: &[&str] = &[
    "GetSessionToken",
    "AssumeRole",
    "GetFederationToken",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
];

/// An STS call that issued session credentials: the issued key is created, derived from the
/// caller's key (`userIdentity.accessKeyId`; none for web identity and SAML federation). Its
/// owner is the assumed role session (`assumedRoleUser.arn`, `federatedUser.arn`), else the
/// caller.
pub(super) fn classify_sts(name: &str, rec: &CtRecord<'_>) -> Classified {
    if !ISSUING.contains(&name) {
        return Classified::Skip(NOT_MODELLED);
    }
    let response = match object(rec.response_elements, "responseElements") {
        Ok(r) => r,
        Err(e) => return Classified::Malformed(e),
    };
    let issued = param(&response, "credentials")
        .and_then(Value::as_object)
        .and_then(|c| param(c, "accessKeyId"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issued.is_empty() {
        return Classified::Skip("STS call that issued no credentials CloudTrail logged");
    }
    let identity = rec.user_identity.as_ref();
    let session = ["assumedRoleUser", "federatedUser"]
        .iter()
        .find_map(|k| param(&response, k)?.as_object()?.get("arn")?.as_str());
    let owner = session
        .or_else(|| identity.and_then(|u| u.arn.as_deref()))
        .unwrap_or_default();
    Classified::Detail(Detail::KeyLifecycle(KeyLifecycle {
        action: KeyAction::Created,
        key_id: issued.into(),
        owner: owner.into(),
        scopes: Vec::new(),
        parent_key_id: identity
            .and_then(|u| u.access_key_id.clone())
            .unwrap_or_default()
            .into(),
    }))
}

/// The value an `UpdateApiKey` sets `/enabled` to, from `patchOperations`.
fn enabled_patch(params: &Map<String, Value>) -> Option<bool> {
    param(params, "patchOperations")?
        .as_array()?
        .iter()
        .filter(|op| op.get("path").and_then(Value::as_str) == Some("/enabled"))
        .filter_map(|op| match op.get("value")? {
            Value::String(s) => s.parse::<bool>().ok(),
            Value::Bool(b) => Some(*b),
            _ => None,
        })
        .next_back()
}
