//! Which objects an event touches, and what its path or key says about their owners.
//!
//! HTTP: object ids come from the path. With a route template (`/orders/{order_id}`, from the
//! source or from a route mapping in the settings) every parameter is an id; without one, a
//! segment is an id when it looks like one (a number, UUID, ULID, long hex, or a token with a
//! digit such as `o-17`) or follows a user or tenant collection (`/users/alice`). An id's
//! collection is the literal segment before it. DB: the object is the item, its collection the
//! table and its id the key.

use crate::event::SmolStr;

use super::settings::{OwnerKind, Settings};
use crate::ingest::http::is_object_id;
use crate::names::folded;

/// Collections whose ids are user ids: `/users/{id}` names the user it belongs to.
const USER_COLLECTIONS: &[&str] = &[
    "users",
    "user",
    "members",
    "member",
    "customers",
    "customer",
    "accounts",
    "account",
    "profiles",
    "people",
    "employees",
];

/// Collections whose ids are tenant ids.
const TENANT_COLLECTIONS: &[&str] = &[
    "tenants",
    "tenant",
    "orgs",
    "org",
    "organizations",
    "organisations",
    "organization",
    "workspaces",
    "workspace",
    "companies",
];

/// Words after a user or tenant collection that are not ids (`/users/me`, `/users/search`).
const NOT_IDS: &[&str] = &[
    "me", "self", "current", "search", "new", "all", "count", "batch", "bulk", "list", "export",
];

/// Key prefixes naming a user (`USER#alice`) or a tenant (`TENANT#acme`), upper case.
const USER_PREFIXES: &[&str] = &["USER", "USR", "OWNER", "MEMBER", "CUSTOMER", "ACCOUNT"];
const TENANT_PREFIXES: &[&str] = &["TENANT", "ORG", "ORGANIZATION", "WORKSPACE", "COMPANY"];

/// Attribute names holding a user or tenant id, compared without `_`/`-` and case.
const USER_ATTRIBUTES: &[&str] = &[
    "userid",
    "ownerid",
    "owner",
    "user",
    "username",
    "sub",
    "customerid",
    "memberid",
    "createdby",
];
const TENANT_ATTRIBUTES: &[&str] = &[
    "tenantid",
    "tenant",
    "orgid",
    "organizationid",
    "organisationid",
    "workspaceid",
    "companyid",
];

/// Whose an id is, when the id itself says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Names {
    /// Nothing.
    None,
    /// A user's.
    User(SmolStr),
    /// A tenant's.
    Tenant(SmolStr),
}

/// How an object's id names its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NamedBy {
    /// A user or tenant collection in the path.
    Path,
    /// A key prefix (`USER#`).
    KeyPrefix,
    /// An owner attribute in the key.
    KeyAttribute,
    /// The settings' route or table mapping.
    Mapping,
}

/// One object an event touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Object {
    pub collection: SmolStr,
    pub id: SmolStr,
    /// The key's values that identify the object (not those naming its owner); for HTTP, the
    /// id. What "returned to the actor" is checked against.
    pub values: Vec<SmolStr>,
    pub names: Names,
    pub named_by: Option<NamedBy>,
    /// Declared public by the settings.
    pub public: bool,
}

impl Object {
    fn new(collection: &str, id: &str) -> Object {
        Object {
            collection: collection.into(),
            id: id.into(),
            values: vec![id.into()],
            names: Names::None,
            named_by: None,
            public: false,
        }
    }
}

fn path_segments(path: &str) -> Vec<&str> {
    path.split('/')
        .map(|s| s.split(';').next().unwrap_or_default())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The route parameter's name, if `segment` is one (`{id}`).
fn param(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// Whether `route` (a `{param}` template) matches `path`.
fn matches(route: &[&str], path: &[&str]) -> bool {
    route.len() == path.len()
        && route
            .iter()
            .zip(path)
            .all(|(r, p)| param(r).is_some() || r == p)
}

/// A segment that looks like an id without a route: what [`is_object_id`] accepts, or a token
/// of letters, digits, `-` and `_` holding a digit that is not a version (`v2`).
fn looks_like_id(segment: &str) -> bool {
    if is_object_id(segment) {
        return true;
    }
    let version = segment
        .strip_prefix(['v', 'V'])
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    !version
        && (2..=64).contains(&segment.len())
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'#' | b':'))
}

/// Whether `segment` of a path without a route is an object id: any segment after a user or
/// tenant collection (but `me`, `search`…), else one that [`looks_like_id`]. `previous`: the
/// collection segment before it, if any.
fn is_id_segment(previous: Option<&str>, segment: &str) -> bool {
    let after_owner_collection = previous.is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        USER_COLLECTIONS.contains(&n.as_str()) || TENANT_COLLECTIONS.contains(&n.as_str())
    });
    if after_owner_collection {
        !NOT_IDS.contains(&segment.to_ascii_lowercase().as_str())
    } else {
        looks_like_id(segment)
    }
}

fn collection_names(collection: &str, id: &str) -> Names {
    let lower = collection.to_ascii_lowercase();
    if USER_COLLECTIONS.contains(&lower.as_str()) {
        Names::User(id.into())
    } else if TENANT_COLLECTIONS.contains(&lower.as_str()) {
        Names::Tenant(id.into())
    } else {
        Names::None
    }
}

/// The objects a path names. `route` is the event's route template, if any.
pub(super) fn path_objects(path: &str, route: &str, settings: &Settings) -> Vec<Object> {
    let segments = path_segments(path);
    let routed = path_segments(route);
    if !routed.is_empty() && matches(&routed, &segments) {
        return routed_objects(&routed, &segments, route, settings);
    }
    for mapping in &settings.routes {
        let template = path_segments(&mapping.route);
        if matches(&template, &segments) {
            return routed_objects(&template, &segments, &mapping.route, settings);
        }
    }
    let mut objects = Vec::new();
    let mut name: Option<&str> = None;
    for segment in segments {
        match (is_id_segment(name, segment), name.take()) {
            (true, Some(collection)) => objects.push(object(collection, segment, settings)),
            (true, None) => {}
            (false, _) => name = Some(segment),
        }
    }
    objects
}

/// The route template of a request: `route` when a source recorded it, else the settings' route
/// that matches `path`, else `path` with each segment [`path_objects`] takes for an id as `{id}`
/// (and without its query), so requests on different objects share one template.
pub(super) fn route_template(path: &str, route: &str, settings: &Settings) -> SmolStr {
    if !route.is_empty() {
        return route.into();
    }
    route_template_of(path, settings).into()
}

fn route_template_of(path: &str, settings: &Settings) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments = path_segments(path);
    for mapping in &settings.routes {
        if matches(&path_segments(&mapping.route), &segments) {
            return mapping.route.to_string();
        }
    }
    let mut template = String::new();
    let mut previous: Option<&str> = None;
    for segment in segments {
        template.push('/');
        if is_id_segment(previous, segment) {
            template.push_str("{id}");
            previous = None;
        } else {
            template.push_str(segment);
            previous = Some(segment);
        }
    }
    if template.is_empty() {
        template.push('/');
    }
    template
}

fn object(collection: &str, id: &str, settings: &Settings) -> Object {
    let mut o = Object::new(collection, id);
    o.names = collection_names(collection, id);
    if o.names != Names::None {
        o.named_by = Some(NamedBy::Path);
    }
    o.public = settings.is_public(collection);
    o
}

fn routed_objects(
    template: &[&str],
    path: &[&str],
    route: &str,
    settings: &Settings,
) -> Vec<Object> {
    let mut objects = Vec::new();
    let mut name: Option<&str> = None;
    for (t, p) in template.iter().zip(path) {
        let Some(param) = param(t) else {
            name = Some(t);
            continue;
        };
        let collection = name.take().unwrap_or(param);
        let mut o = object(collection, p, settings);
        if let Some(mapping) = settings.route_mapping(route, param) {
            match mapping {
                OwnerKind::User => {
                    o.names = Names::User((*p).into());
                    o.named_by = Some(NamedBy::Mapping);
                }
                OwnerKind::Tenant => {
                    o.names = Names::Tenant((*p).into());
                    o.named_by = Some(NamedBy::Mapping);
                }
                OwnerKind::Creator => {
                    o.names = Names::None;
                    o.named_by = None;
                }
                OwnerKind::Public => o.public = true,
            }
        }
        objects.push(o);
    }
    objects
}

/// Whose `name = value` (a key attribute or an item attribute) says the item is.
fn attribute_names(table: &str, name: &str, value: &str, settings: &Settings) -> Names {
    if let Some(kind) = settings.table_attribute(table, name) {
        return match kind {
            OwnerKind::Tenant => Names::Tenant(value.into()),
            _ => Names::User(value.into()),
        };
    }
    let f = folded(name);
    if USER_ATTRIBUTES.contains(&f.as_str()) {
        Names::User(value.into())
    } else if TENANT_ATTRIBUTES.contains(&f.as_str()) {
        Names::Tenant(value.into())
    } else {
        Names::None
    }
}

/// `USER#alice` (and `USER#alice#ORDER#7`) names user `alice`; `TENANT#acme` tenant `acme`.
fn prefix_names(value: &str) -> Names {
    let mut parts = value.split('#');
    let (Some(prefix), Some(id)) = (parts.next(), parts.next()) else {
        return Names::None;
    };
    if id.is_empty() {
        return Names::None;
    }
    let is = |prefixes: &[&str]| prefixes.iter().any(|p| p.eq_ignore_ascii_case(prefix));
    if is(USER_PREFIXES) {
        Names::User(id.into())
    } else if is(TENANT_PREFIXES) {
        Names::Tenant(id.into())
    } else {
        Names::None
    }
}

/// The item a DB operation touches: the table and its key. A user beats a tenant when the key
/// names both.
pub(super) fn key_object(table: &str, key: &crate::event::Fields, settings: &Settings) -> Object {
    // `name=value,...`, built in place: this runs for every keyed DB call.
    let mut id = String::with_capacity(key.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (k, v)) in key.iter().enumerate() {
        if i > 0 {
            id.push(',');
        }
        id.push_str(k);
        id.push('=');
        id.push_str(v);
    }
    let mut o = Object {
        collection: table.into(),
        id: id.into(),
        values: Vec::new(),
        names: Names::None,
        named_by: None,
        public: settings.is_public(table),
    };
    let mut names = Names::None;
    let mut by = None;
    for (name, value) in key {
        let (n, b) = match attribute_names(table, name, value, settings) {
            Names::None => (prefix_names(value), NamedBy::KeyPrefix),
            n => {
                let mapped = settings.table_attribute(table, name).is_some();
                (
                    n,
                    if mapped {
                        NamedBy::Mapping
                    } else {
                        NamedBy::KeyAttribute
                    },
                )
            }
        };
        match (&n, &names) {
            (Names::None, _) => o.values.push(value.clone()),
            (Names::User(_), _) | (Names::Tenant(_), Names::None) => {
                names = n;
                by = Some(b);
            }
            _ => {}
        }
    }
    o.names = names;
    o.named_by = by;
    o
}

/// Whether `condition` compares an owner attribute with a value (`owner_id = :uid`,
/// `:t = tenant_id`): a write that only succeeds for the owner.
pub(super) fn is_owner_condition(table: &str, condition: &str, settings: &Settings) -> bool {
    let tokens = tokens(condition);
    tokens.windows(3).any(|w| match w {
        [a, "=", b] => {
            is_owner_attribute(table, a, settings) || is_owner_attribute(table, b, settings)
        }
        _ => false,
    })
}

/// Whether an update expression sets an owner attribute (`SET owner_id = :new`): an ownership
/// transfer.
pub(super) fn sets_owner(table: &str, update: &str, settings: &Settings) -> bool {
    let tokens = tokens(update);
    let Some(set) = tokens.iter().position(|t| t.eq_ignore_ascii_case("SET")) else {
        return false;
    };
    let clauses = ["REMOVE", "ADD", "DELETE"];
    tokens
        .get(set + 1..)
        .unwrap_or_default()
        .windows(2)
        .take_while(|w| {
            !w.first()
                .is_some_and(|t| clauses.iter().any(|c| t.eq_ignore_ascii_case(c)))
        })
        .any(|w| matches!(w, [a, "="] if is_owner_attribute(table, a, settings)))
}

/// The attribute names an update expression names, folded (`SET #s = list_append(shared_with,
/// :u)` gives `s`, `listappend`, `sharedwith`…): every word that is not a placeholder value.
pub(super) fn update_names(update: &str) -> impl Iterator<Item = SmolStr> + '_ {
    update
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':'))
        .filter(|w| !w.is_empty() && !w.starts_with(':'))
        .map(folded)
}

fn is_owner_attribute(table: &str, token: &str, settings: &Settings) -> bool {
    !token.starts_with(':') && attribute_names(table, token, "x", settings) != Names::None
}

/// A condition's words and operators: `a=:b AND (c <> :d)` gives `a`, `=`, `:b`, `AND`, `c`,
/// `<>`, `:d`.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or_default();
        let op_len = if matches!(b, b'=' | b'<' | b'>') {
            if matches!(bytes.get(i + 1), Some(b'=' | b'>')) {
                2
            } else {
                1
            }
        } else {
            0
        };
        if op_len > 0 || b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b',') {
            if let Some(s) = start.take() {
                out.extend(text.get(s..i));
            }
            if op_len > 0 {
                out.extend(text.get(i..i + op_len));
                i += op_len;
                continue;
            }
        } else if start.is_none() {
            start = Some(i);
        }
        i += 1;
    }
    if let Some(s) = start {
        out.extend(text.get(s..));
    }
    out
}

/// The ids a response's returned ids hold: a `location` path's objects' ids, the other values
/// as they are (grantees and scopes are not ids).
pub(super) fn returned_values<'a>(
    ids: &'a [crate::event::NamedId],
    settings: &'a Settings,
) -> impl Iterator<Item = SmolStr> + 'a {
    ids.iter().flat_map(move |n| {
        if n.name == crate::event::RETURNED_GRANTEE || n.name == crate::event::RETURNED_SCOPE {
            Vec::new()
        } else if n.name == "location" {
            path_objects(&n.value, "", settings)
                .into_iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        } else {
            vec![n.value.clone()]
        }
    })
}

/// The singular of a collection name (`orders` → `order`, `companies` → `company`), for
/// matching `order_id`.
pub(super) fn singular(collection: &str) -> SmolStr {
    match collection.strip_suffix("ies") {
        Some(stem) => format!("{stem}y").into(),
        None => collection.strip_suffix('s').unwrap_or(collection).into(),
    }
}

/// Whether a returned id field names an object of `collection`: `id`, `<singular>_id`,
/// `<singular>Id`.
pub(super) fn is_id_of(field: &str, collection: &str) -> bool {
    let f = folded(field);
    f == "id" || f == format!("{}id", folded(&singular(collection)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(objects: &[Object]) -> Vec<(&str, &str, &Names)> {
        objects
            .iter()
            .map(|o| (o.collection.as_str(), o.id.as_str(), &o.names))
            .collect()
    }

    fn user(id: &str) -> Names {
        Names::User(id.into())
    }

    #[test]
    fn path_ids_follow_their_collection() {
        let s = Settings::default();
        assert_eq!(
            ids(&path_objects("/v2/orders/o-17/items/42", "", &s)),
            [
                ("orders", "o-17", &Names::None),
                ("items", "42", &Names::None)
            ]
        );
        assert_eq!(
            ids(&path_objects("/users/alice/profile", "", &s)),
            [("users", "alice", &user("alice"))]
        );
        assert_eq!(
            ids(&path_objects("/tenants/globex/invoices", "", &s)),
            [("tenants", "globex", &Names::Tenant("globex".into()))]
        );
        // Words are not ids, and `me` is the caller.
        assert!(path_objects("/users/me/settings", "", &s).is_empty());
        assert!(path_objects("/api/v1/orders/batch", "", &s).is_empty());
    }

    #[test]
    fn a_route_template_names_every_parameter() {
        let s = Settings::default();
        assert_eq!(
            ids(&path_objects(
                "/shop/widgets/blue",
                "/shop/{shop}/{color}",
                &s
            )),
            [
                ("shop", "widgets", &Names::None),
                ("color", "blue", &Names::None)
            ]
        );
        // A route that does not fit the path is ignored.
        assert_eq!(
            ids(&path_objects("/orders/7", "/orders", &s)),
            [("orders", "7", &Names::None)]
        );
    }

    #[test]
    fn settings_map_routes_public_collections_and_table_attributes() {
        let s = Settings {
            public: vec!["catalog".into()],
            routes: vec![super::super::settings::RouteOwner {
                route: "/accounts/{acct}/statements/{sid}".into(),
                param: "acct".into(),
                owner: OwnerKind::User,
            }],
            tables: vec![super::super::settings::TableOwner {
                table: "docs".into(),
                attribute: "author".into(),
                owner: OwnerKind::User,
            }],
            ..Settings::default()
        };
        let o = path_objects("/accounts/A-9/statements/s1", "", &s);
        assert_eq!(
            ids(&o),
            [
                ("accounts", "A-9", &user("A-9")),
                ("statements", "s1", &Names::None)
            ]
        );
        assert_eq!(o.first().and_then(|o| o.named_by), Some(NamedBy::Mapping));
        assert!(
            path_objects("/catalog/sku-1", "", &s)
                .iter()
                .all(|o| o.public)
        );
        let key = crate::event::Fields::from_iter([
            ("author".into(), "bob".into()),
            ("doc".into(), "d1".into()),
        ]);
        let o = key_object("docs", &key, &s);
        assert_eq!(
            (o.id.as_str(), &o.names, o.named_by),
            ("author=bob,doc=d1", &user("bob"), Some(NamedBy::Mapping))
        );
        assert_eq!(o.values, ["d1"]);
        assert!(is_owner_condition("docs", "author = :me", &s));
    }

    #[test]
    fn keys_name_owners_by_prefix_or_attribute() {
        let s = Settings::default();
        let key = |pairs: &[(&str, &str)]| -> crate::event::Fields {
            pairs
                .iter()
                .map(|(k, v)| (SmolStr::from(*k), SmolStr::from(*v)))
                .collect()
        };
        let o = key_object("app", &key(&[("pk", "USER#alice"), ("sk", "ORDER#7")]), &s);
        assert_eq!(
            (&o.names, o.named_by),
            (&user("alice"), Some(NamedBy::KeyPrefix))
        );
        assert_eq!(o.values, ["ORDER#7"]);
        let o = key_object(
            "app",
            &key(&[("pk", "TENANT#acme"), ("sk", "USER#bob")]),
            &s,
        );
        assert_eq!(o.names, user("bob"));
        let o = key_object(
            "orders",
            &key(&[("order_id", "1"), ("owner_id", "carol")]),
            &s,
        );
        assert_eq!(
            (&o.names, o.named_by),
            (&user("carol"), Some(NamedBy::KeyAttribute))
        );
        let o = key_object("orders", &key(&[("order_id", "1")]), &s);
        assert_eq!((o.id.as_str(), &o.names), ("order_id=1", &Names::None));
    }

    #[test]
    fn ownership_conditions_compare_an_owner_attribute() {
        let s = Settings::default();
        assert!(is_owner_condition("t", "owner_id = :uid", &s));
        assert!(is_owner_condition(
            "t",
            "attribute_exists(pk) AND (:t=tenantId)",
            &s
        ));
        assert!(!is_owner_condition(
            "t",
            "attribute_not_exists(owner_id)",
            &s
        ));
        assert!(!is_owner_condition("t", "owner_id <> :uid", &s));
        assert!(!is_owner_condition("t", "#s = :open", &s));
        assert_eq!(
            tokens("a=:b AND (c <> :d)"),
            ["a", "=", ":b", "AND", "c", "<>", ":d"]
        );
    }

    #[test]
    fn a_route_template_replaces_the_ids_of_a_path() {
        let settings = Settings::default();
        let t = |path: &str, route: &str| route_template(path, route, &settings);
        assert_eq!(t("/v1/docs/d-2001", ""), "/v1/docs/{id}");
        assert_eq!(t("/users/alice/profile?x=1", ""), "/users/{id}/profile");
        assert_eq!(t("/orders/1001/items/7", ""), "/orders/{id}/items/{id}");
        assert_eq!(t("/coupons/LAUNCH50/redeem", ""), "/coupons/{id}/redeem");
        assert_eq!(t("/health", ""), "/health");
        assert_eq!(t("", ""), "/");
        assert_eq!(
            t("/orders/1001", "/orders/{order_id}"),
            "/orders/{order_id}"
        );
    }

    #[test]
    fn a_set_of_an_owner_attribute_is_a_transfer() {
        let settings = Settings::default();
        let t = |u: &str| sets_owner("docs", u, &settings);
        assert!(t("SET owner_id = :new, updated_at = :t"));
        assert!(t("SET #t = :t, owner_id = :o"));
        assert!(!t("SET title = :t, body = :b"));
        assert!(!t("SET title = owner_id"));
        assert!(!t("REMOVE owner_id"));
        assert!(!t(""));
    }

    #[test]
    fn collections_match_their_singular_id_fields() {
        assert!(is_id_of("order_id", "orders"));
        assert!(is_id_of("orderId", "orders"));
        assert!(is_id_of("id", "anything"));
        assert!(!is_id_of("owner_id", "orders"));
        assert_eq!(singular("companies"), "company");
    }
}
