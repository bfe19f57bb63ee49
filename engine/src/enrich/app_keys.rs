//! API keys an application manages itself: its key-management routes (`POST /admin/api-keys`,
//! `DELETE /api-keys/{id}`, `POST /keys/{id}/rotate`, `PATCH /tokens/{id}` with new scopes) and
//! its key store (a table whose items are keys, written on creation and revocation), read as key
//! lifecycle changes for the ledger; and the key store's lookups by the auth middleware, which
//! are the application authenticating a request, not a user touching an object.

use crate::event::{Detail, Event, Http, KeyAction, KeyLifecycle, Outcome, SmolStr};
use crate::names::folded;

/// Path segments naming a collection of keys.
const KEY_COLLECTIONS: &[&str] = &[
    "api-keys",
    "apikeys",
    "api_keys",
    "keys",
    "tokens",
    "api-tokens",
    "api_tokens",
    "access-tokens",
    "access_tokens",
    "credentials",
];

/// Table names of key stores, compared without `_`, `-` and case.
const KEY_STORE_TABLES: &[&str] = &[
    "apikeys",
    "keys",
    "tokens",
    "apitokens",
    "accesstokens",
    "credentials",
    "clientkeys",
    "apicredentials",
];

/// Key attributes that name a key (the store's key).
const KEY_STORE_ATTRIBUTES: &[&str] = &[
    "keyid",
    "apikeyid",
    "apikey",
    "tokenid",
    "token",
    "keyhash",
    "tokenhash",
    "credentialid",
];

/// Update-expression attributes whose setting revokes a key.
const REVOKING_ATTRIBUTES: &[&str] = &[
    "revokedat",
    "revoked",
    "disabledat",
    "disabled",
    "deletedat",
    "deactivatedat",
];

/// Whether `table` (with item key names `key_names`) is a key store: its name says so
/// (`api_keys`, `tokens`, …, or any name ending in `keys`/`tokens`) and, or, its key is a key id.
pub(super) fn is_key_store<'a>(table: &str, mut key_names: impl Iterator<Item = &'a str>) -> bool {
    let t = folded(table);
    KEY_STORE_TABLES.contains(&t.as_str())
        || t.ends_with("apikeys")
        || t.ends_with("tokens")
        || key_names.any(|k| KEY_STORE_ATTRIBUTES.contains(&folded(k).as_str()))
}

/// Whether a DB call's table is a key store ([`is_key_store`]), remembering the last table and
/// key names judged: a stream names a few tables, each with the same key names, on most of its
/// events, and each judgement folds every name.
#[derive(Debug, Default)]
pub(super) struct KeyStores {
    last: Option<(SmolStr, Vec<SmolStr>, bool)>,
}

impl KeyStores {
    /// Whether `d`'s table is a key store; false for an event that is no DB call.
    pub(super) fn judge(&mut self, event: &Event) -> bool {
        let Detail::DbOperation(d) = &event.detail else {
            return false;
        };
        if let Some((table, names, store)) = &self.last
            && *table == d.table
            && names.iter().eq(d.key.keys())
        {
            return *store;
        }
        let store = is_key_store(&d.table, d.key.keys().map(SmolStr::as_str));
        self.last = Some((d.table.clone(), d.key.keys().cloned().collect(), store));
        store
    }
}

/// The key lifecycle changes an event of the application's own traffic records: a successful
/// request to a key-management route, or a write to a key store (`key_store`: whether the
/// event is a call to one, [`KeyStores::judge`]).
pub(super) fn changes(event: &Event, key_store: bool) -> Vec<KeyLifecycle> {
    if event.outcome != Outcome::Success {
        return Vec::new();
    }
    match &event.detail {
        Detail::Http(h) => route_changes(h),
        Detail::DbOperation(d) if d.is_write && key_store => {
            let Some(id) = d
                .key
                .iter()
                .find(|(k, _)| KEY_STORE_ATTRIBUTES.contains(&folded(k).as_str()))
                .or_else(|| d.key.iter().next())
                .map(|(_, v)| v.clone())
            else {
                return Vec::new();
            };
            let scopes: Vec<SmolStr> = event
                .attributes
                .get(crate::event::SCOPES_ATTRIBUTE)
                .map(|s| {
                    s.split(' ')
                        .filter(|x| !x.is_empty())
                        .map(SmolStr::from)
                        .collect()
                })
                .unwrap_or_default();
            let action = match d.operation.as_str() {
                "DeleteItem" => Some(KeyAction::Deleted),
                "PutItem" if d.condition.contains("attribute_not_exists") => {
                    Some(KeyAction::Created)
                }
                "UpdateItem" if !scopes.is_empty() => Some(KeyAction::ScopeChanged),
                "UpdateItem" => {
                    // Attribute names and placeholder names alike (`:revoked_at`).
                    let expression = folded(&d.update_expression);
                    let revokes = REVOKING_ATTRIBUTES.iter().any(|a| {
                        expression
                            .split(|c: char| !c.is_ascii_alphanumeric() && c != '#' && c != ':')
                            .any(|token| token.trim_start_matches(['#', ':']) == *a)
                    }) || expression.contains(":revoked")
                        || expression.contains(":disabled");
                    revokes.then_some(KeyAction::Deactivated)
                }
                _ => None,
            };
            action
                .map(|action| lifecycle(action, id, SmolStr::default(), scopes))
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The key id a successful key-store read looked up (the auth middleware's lookup), if the event
/// is one: a `GetItem` of a key store, by a key id attribute (not by key material, which the
/// reader has hashed already and which then needs no alias).
pub(super) fn looked_up(event: &Event, key_store: bool) -> Option<SmolStr> {
    let Detail::DbOperation(d) = &event.detail else {
        return None;
    };
    if event.outcome != Outcome::Success || d.operation != "GetItem" || !key_store {
        return None;
    }
    d.key
        .iter()
        .find(|(k, _)| {
            matches!(
                folded(k).as_str(),
                "keyid" | "apikeyid" | "tokenid" | "credentialid"
            )
        })
        .map(|(_, v)| v.clone())
}

fn lifecycle(
    action: KeyAction,
    key_id: SmolStr,
    owner: SmolStr,
    scopes: Vec<SmolStr>,
) -> KeyLifecycle {
    KeyLifecycle {
        action,
        key_id,
        owner,
        scopes,
        parent_key_id: SmolStr::default(),
    }
}

/// What a key-management route did, from its method, path and response.
fn route_changes(h: &Http) -> Vec<KeyLifecycle> {
    let path = h.path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(at) = segments
        .iter()
        .rposition(|s| KEY_COLLECTIONS.contains(&s.to_ascii_lowercase().as_str()))
    else {
        return Vec::new();
    };
    let rest = segments.get(at + 1..).unwrap_or_default();
    let returned = |names: &[&str]| {
        h.returned_ids
            .iter()
            .find(|id| names.iter().any(|n| folded(&id.name) == *n))
            .map(|id| id.value.clone())
    };
    let new_key = returned(&["keyid", "apikeyid", "tokenid", "id", "credentialid"]);
    let owner = returned(&["ownerid", "userid", "owner", "principalid"]).unwrap_or_default();
    let scopes: Vec<SmolStr> = h
        .returned_ids
        .iter()
        .filter(|id| id.name == crate::event::RETURNED_SCOPE)
        .map(|id| id.value.clone())
        .collect();
    let method = h.method.to_ascii_uppercase();
    match (method.as_str(), rest) {
        ("POST", []) => new_key
            .map(|k| lifecycle(KeyAction::Created, k, owner.clone(), scopes))
            .into_iter()
            .collect(),
        ("DELETE", [id]) => vec![lifecycle(
            KeyAction::Deleted,
            (*id).into(),
            owner.clone(),
            Vec::new(),
        )],
        ("POST" | "PUT" | "PATCH", [id, action]) => {
            let id = (*id).to_owned();
            match action.to_ascii_lowercase().as_str() {
                "revoke" | "disable" | "deactivate" | "suspend" => {
                    vec![lifecycle(
                        KeyAction::Deactivated,
                        id.into(),
                        owner.clone(),
                        Vec::new(),
                    )]
                }
                "enable" | "activate" | "reactivate" => {
                    vec![lifecycle(
                        KeyAction::Activated,
                        id.into(),
                        owner.clone(),
                        Vec::new(),
                    )]
                }
                "rotate" | "roll" | "regenerate" => {
                    let mut out = vec![lifecycle(
                        KeyAction::Rotated,
                        id.clone().into(),
                        owner.clone(),
                        Vec::new(),
                    )];
                    if let Some(new) = new_key.filter(|k| *k != id) {
                        out.push(lifecycle(KeyAction::Created, new, owner.clone(), scopes));
                    }
                    out
                }
                "scopes" | "permissions" if !scopes.is_empty() => {
                    vec![lifecycle(
                        KeyAction::ScopeChanged,
                        id.into(),
                        owner.clone(),
                        scopes,
                    )]
                }
                _ => Vec::new(),
            }
        }
        ("PUT" | "PATCH", [id]) if !scopes.is_empty() => {
            vec![lifecycle(
                KeyAction::ScopeChanged,
                (*id).into(),
                owner.clone(),
                scopes,
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DbOperation;

    /// An anonymous `200` exchange whose response names `returned` ids.
    fn http(method: &str, path: &str, returned: &[(&str, &str)]) -> Event {
        Event {
            actor: Default::default(),
            ..super::super::tests::event(
                "h",
                1,
                "",
                super::super::tests::http(method, path, returned),
            )
        }
    }

    fn summary(e: &Event) -> Vec<(KeyAction, String, String, Vec<String>)> {
        changes(e, KeyStores::default().judge(e))
            .into_iter()
            .map(|k| {
                (
                    k.action,
                    k.key_id.to_string(),
                    k.owner.to_string(),
                    k.scopes.iter().map(SmolStr::to_string).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn key_management_routes_are_lifecycle_changes() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            summary(&http(
                "POST",
                "/admin/api-keys",
                &[
                    ("key_id", "k-1"),
                    ("owner_id", "alice"),
                    ("scope", "docs:read"),
                    ("scope", "docs:write")
                ]
            )),
            [(
                KeyAction::Created,
                "k-1".into(),
                "alice".into(),
                s(&["docs:read", "docs:write"])
            )]
        );
        assert_eq!(
            summary(&http("DELETE", "/admin/api-keys/k-1", &[("key_id", "k-1")])),
            [(KeyAction::Deleted, "k-1".into(), String::new(), vec![])]
        );
        assert_eq!(
            summary(&http(
                "POST",
                "/v1/keys/k-1/rotate",
                &[("key_id", "k-2"), ("owner_id", "alice")]
            )),
            [
                (KeyAction::Rotated, "k-1".into(), "alice".into(), vec![]),
                (KeyAction::Created, "k-2".into(), "alice".into(), vec![])
            ]
        );
        assert_eq!(
            summary(&http(
                "PATCH",
                "/admin/api-keys/k-3",
                &[("key_id", "k-3"), ("scope", "docs:read")]
            )),
            [(
                KeyAction::ScopeChanged,
                "k-3".into(),
                String::new(),
                s(&["docs:read"])
            )]
        );
        assert_eq!(
            summary(&http("POST", "/tokens/t-9/revoke", &[])),
            [(KeyAction::Deactivated, "t-9".into(), String::new(), vec![])]
        );
        assert!(summary(&http("GET", "/admin/api-keys/k-1", &[("key_id", "k-1")])).is_empty());
        assert!(summary(&http("POST", "/v1/docs", &[("doc_id", "d-1")])).is_empty());
    }

    #[test]
    fn key_stores_are_judged_again_when_the_table_or_its_key_names_change() {
        let call = |table: &str, key: &str| {
            let mut e = http("GET", "/", &[]);
            e.detail = Detail::DbOperation(DbOperation {
                operation: "GetItem".into(),
                table: table.into(),
                key: crate::event::Fields::from_iter([(key.into(), "v".into())]),
                ..DbOperation::default()
            });
            e
        };
        let mut stores = KeyStores::default();
        let judged: Vec<bool> = [
            call("api_keys", "id"),
            call("api_keys", "id"),
            call("orders", "order_id"),
            call("orders", "order_id"),
            call("orders", "key_hash"),
            call("orders", "order_id"),
            http("GET", "/api-keys", &[]),
            call("api_keys", "id"),
        ]
        .iter()
        .map(|e| stores.judge(e))
        .collect();
        assert_eq!(judged, [true, true, false, false, true, false, false, true]);
    }

    #[test]
    fn key_store_writes_are_lifecycle_changes() {
        let db = |op: &str, update: &str, condition: &str| {
            let mut e = http("GET", "/", &[]);
            e.detail = Detail::DbOperation(DbOperation {
                service: "dynamodb".into(),
                operation: op.into(),
                table: "api_keys".into(),
                key: crate::event::Fields::from_iter([("key_id".into(), "k-1".into())]),
                has_condition: !condition.is_empty(),
                condition: condition.into(),
                update_expression: update.into(),
                is_write: op != "GetItem",
                ..DbOperation::default()
            });
            summary(&e).into_iter().map(|c| c.0).collect::<Vec<_>>()
        };
        assert_eq!(
            db("UpdateItem", "SET #s = :revoked, revoked_at = :t", ""),
            [KeyAction::Deactivated]
        );
        assert_eq!(db("UpdateItem", "SET last_used_at = :t", ""), []);
        assert_eq!(db("DeleteItem", "", ""), [KeyAction::Deleted]);
        assert_eq!(
            db("PutItem", "", "attribute_not_exists(key_id)"),
            [KeyAction::Created]
        );
        assert_eq!(db("GetItem", "", ""), []);
        assert!(is_key_store("api_keys", std::iter::empty()));
        assert!(is_key_store("Tenants", ["key_hash"].into_iter()));
        assert!(!is_key_store("docs", ["doc_id"].into_iter()));
    }
}
