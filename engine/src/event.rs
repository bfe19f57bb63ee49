//! The normalized event: what every input format becomes and every rule sees.
//!
//! Mirrors the `event` record of `wit/rule.wit`; its JSON form is what Rego rules see as
//! `input.events[_]` and what `tracewarden normalize` prints. `docs/events.md` documents each field.

use std::fmt;

use serde::{Deserialize, Serialize};
pub use smol_str::SmolStr;

/// Named string values of an event (an item key, path parameters, attributes), ordered by name.
///
/// A sorted vector, not a tree: an event's maps hold a handful of entries, and a `BTreeMap`
/// allocates a node of eleven (~560 bytes) for the first. One allocation of what the entries
/// take instead, searched by bisection; same order, same JSON, last insert wins.
pub type Fields = litemap::LiteMap<SmolStr, SmolStr>;

/// One normalized event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id, unique within a scan (CloudTrail: `ct:<eventID>`).
    pub id: SmolStr,
    /// Unix time in nanoseconds, as the log recorded it.
    pub time_ns: i64,
    /// The time's precision in nanoseconds (1e9 for CloudTrail's whole seconds).
    #[serde(default = "default_precision")]
    pub precision_ns: u64,
    /// Where the event came from.
    pub source: SourceRef,
    /// Who acted.
    #[serde(default)]
    pub actor: Actor,
    /// Links to other events.
    #[serde(default)]
    pub correlation: Correlation,
    /// How the operation ended.
    pub outcome: Outcome,
    /// The kind-specific part, serialized as one field named after the kind.
    #[serde(flatten)]
    pub detail: Detail,
    /// Format-specific extras.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub attributes: Fields,
    /// What the enrichment stage knew when this event happened (empty before enrichment, and in
    /// `tracewarden normalize` output unless asked for).
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

/// The event as one line of JSON, as `tracewarden normalize` prints it.
pub fn to_json(event: &Event) -> Result<String, serde_json::Error> {
    serde_json::to_string(event)
}

/// [`to_json`] written to `out`, e.g. appended to a buffer reused for every line.
pub fn write_json(event: &Event, out: impl std::io::Write) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, event)
}

/// `parts` joined, as one shared string: a string longer than [`SmolStr`] holds inline is
/// written once into a per-thread buffer and allocated once, where joining into a `String`
/// first allocated it twice (`ct:` and a CloudTrail event id, for every record read).
pub(crate) fn joined(parts: &[&str]) -> SmolStr {
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with_borrow_mut(|buffer| {
        buffer.clear();
        for part in parts {
            buffer.push_str(part);
        }
        let joined = SmolStr::new(buffer.as_str());
        // An id as long as a line may be is not kept for the thread's lifetime.
        if buffer.capacity() > 4096 {
            *buffer = String::new();
        }
        joined
    })
}

/// `text` as a shared string, the same one as the last call's on this thread when the text is
/// the same: an input's file name is in every event read from it, and a name longer than
/// [`SmolStr`] holds inline was allocated again for each.
pub(crate) fn shared(text: &str) -> SmolStr {
    thread_local! {
        static LAST: std::cell::RefCell<SmolStr> = const { std::cell::RefCell::new(SmolStr::new_static("")) };
    }
    LAST.with_borrow_mut(|last| {
        if last.as_str() != text {
            *last = SmolStr::new(text);
        }
        last.clone()
    })
}

fn default_precision() -> u64 {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self.detail {
            Detail::Http(_) => EventKind::Http,
            Detail::DbOperation(_) => EventKind::DbOperation,
            Detail::KeyLifecycle(_) => EventKind::KeyLifecycle,
            Detail::AuthDecision(_) => EventKind::AuthDecision,
        }
    }

    /// The operation name rules subscribe by: the DB operation, the HTTP method, the key action,
    /// or the auth action.
    pub fn operation(&self) -> &str {
        match &self.detail {
            Detail::Http(h) => &h.method,
            Detail::DbOperation(d) => &d.operation,
            Detail::KeyLifecycle(k) => k.action.as_str(),
            Detail::AuthDecision(a) => &a.action,
        }
    }
}

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// The input file as given (`-` for stdin).
    pub file: SmolStr,
    /// 1-based record index within the file.
    pub record: u64,
    /// 1-based line of the record's start, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The input format (`cloudtrail`, `events`).
    pub format: SmolStr,
}

impl SourceRef {
    /// Record `record` of `file` (a name shared with the events before it), starting at `line`
    /// when the reader knows it, read as `format`: what each reader gives its events.
    pub(crate) fn at(
        file: &str,
        record: u64,
        line: Option<u64>,
        format: &'static str,
    ) -> SourceRef {
        SourceRef {
            file: shared(file),
            record,
            line,
            format: SmolStr::new_static(format),
        }
    }
}

impl fmt::Display for SourceRef {
    /// `file:line` when the line is known, else `file#record`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => write!(f, "{}#{}", self.file, self.record),
        }
    }
}

/// Who acted. Absent fields are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct Actor {
    /// The authenticated principal (an ARN, a user id).
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub principal: SmolStr,
    /// A stable key id, never key material.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub key_id: SmolStr,
    /// Tenant or account.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub tenant: SmolStr,
    /// Client address.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub ip: SmolStr,
    /// Client user agent.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub user_agent: SmolStr,
    /// Session.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub session: SmolStr,
}

/// Links between events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct Correlation {
    /// Trace id.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub trace_id: SmolStr,
    /// Span id.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub span_id: SmolStr,
    /// Parent span id.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub parent_span_id: SmolStr,
    /// The id the logging service gave this call: AWS `requestID` / `x-amzn-RequestId` for AWS
    /// calls, the gateway's request id for HTTP requests.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub request_id: SmolStr,
    /// The application request id propagated in headers (`X-Request-Id`, or the root of
    /// `X-Amzn-Trace-Id`): on an HTTP event, the request's own; on a DB event, the one of the HTTP
    /// request being served when the call was made.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub app_request_id: SmolStr,
    /// The event this one was linked to.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub linked_event: SmolStr,
    /// How it was linked.
    #[serde(skip_serializing_if = "LinkMethod::is_none")]
    pub link: LinkMethod,
}

/// How a correlated event was linked to its request, strongest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Not linked.
    #[default]
    None,
    /// Same trace/span ids.
    TraceId,
    /// Same AWS request id.
    AwsRequestId,
    /// Same application request-id header.
    RequestHeader,
    /// Same principal within a time window.
    PrincipalWindow,
}

impl LinkMethod {
    fn is_none(&self) -> bool {
        *self == LinkMethod::None
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It worked.
    Success,
    /// Authentication or authorization refused.
    Denied,
    /// The target did not exist.
    NotFound,
    /// A condition check failed or a transaction was cancelled.
    Conflict,
    /// Rate limited.
    Throttled,
    /// Any other error.
    Error,
    /// The source does not say.
    Unknown,
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// HTTP request/response.
    Http,
    /// Database operation.
    DbOperation,
    /// Credential lifecycle change.
    KeyLifecycle,
    /// Authentication/authorization decision.
    AuthDecision,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 4] = [
        EventKind::Http,
        EventKind::DbOperation,
        EventKind::KeyLifecycle,
        EventKind::AuthDecision,
    ];

    /// The kind's name in JSON and in rule metadata.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Http => "http",
            EventKind::DbOperation => "db_operation",
            EventKind::KeyLifecycle => "key_lifecycle",
            EventKind::AuthDecision => "auth_decision",
        }
    }
}

/// The kind-specific part of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// HTTP request/response.
    Http(Http),
    /// Database operation.
    DbOperation(DbOperation),
    /// Credential lifecycle change.
    KeyLifecycle(KeyLifecycle),
    /// Authentication/authorization decision.
    AuthDecision(AuthDecision),
}

/// An HTTP request and response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// Method.
    pub method: SmolStr,
    /// Path without the query.
    pub path: SmolStr,
    /// Route template when known (`/users/{id}`).
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub route: SmolStr,
    /// Status; 0 when no response was recorded.
    pub status: u16,
    /// How long the request took, in nanoseconds; 0 when not recorded.
    #[serde(skip_serializing_if = "is_zero")]
    pub duration_ns: u64,
    /// Query string.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub query: SmolStr,
    /// Path parameters / object ids.
    #[serde(skip_serializing_if = "Fields::is_empty")]
    pub params: Fields,
    /// Object ids the response returned: the `Location` header's path ids and the id fields
    /// (`id`, `*_id`, `*Id`) of a JSON body (fields by name, arrays in order), at most
    /// [`MAX_RETURNED_IDS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub returned_ids: Vec<NamedId>,
}

/// Most ids kept from one response.
pub const MAX_RETURNED_IDS: usize = 256;

/// The attribute of a DB event that lists, space-separated, the scopes the write gave the item
/// (a key store's `scopes`), read from a request log's body.
pub const SCOPES_ATTRIBUTE: &str = "scopes";

/// The name of a [`NamedId`] that is a principal a response says the object is shared with (a
/// `shared_with`, `members` or `collaborators` list), not an object id.
pub const RETURNED_GRANTEE: &str = "grantee";

/// The name of a [`NamedId`] that is a scope a response granted (a key-management route's
/// `scopes`), not an object id.
pub const RETURNED_SCOPE: &str = "scope";

/// An id and the field (or header) it came in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(deny_unknown_fields)]
pub struct NamedId {
    /// The JSON field name (`order_id`), or `location`.
    pub name: SmolStr,
    /// The id.
    pub value: SmolStr,
}

/// Facts the enrichment stage computed for an event, from the events before it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Facts {
    /// The objects the event touches, with what the ownership model knew of each just before
    /// the event.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectFact>,
    /// The actor is declared privileged (an administrator or a service) in the ownership
    /// settings.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// What the key lifecycle ledger knew of the actor's key (`actor.key_id`) just before the
    /// event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Box<KeyFact>>,
    /// The method of the HTTP request that issued the event: its own for an HTTP event, its
    /// request's for a DB call linked to one; empty when unknown.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub request_method: SmolStr,
    /// That request's route template: the route a source recorded, else the path with its id
    /// segments as `{id}`. With a DB call's table and operation it names a weakness's site.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub request_route: SmolStr,
}

impl Facts {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && !self.privileged
            && self.key.is_none()
            && self.request_method.is_empty()
            && self.request_route.is_empty()
    }
}

/// A key's state in the lifecycle ledger. Times are Unix ns; 0 means "not known" or "never".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyFact {
    /// The key.
    pub key_id: SmolStr,
    /// Its status.
    pub status: KeyStatus,
    /// Its owner, when a lifecycle record said.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub owner: SmolStr,
    /// When it was created (0: before the logs, or never said).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub created_ns: i64,
    /// When it was last revoked (deactivated or deleted) and not activated since (0: not revoked).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub revoked_ns: i64,
    /// The revoking event and where it came from (`file:line`).
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub revoked_event: SmolStr,
    /// Where the revoking event came from.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub revoked_event_source: SmolStr,
    /// Its scopes, when a lifecycle record said (`scopes_known`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<SmolStr>,
    /// Whether the scopes are known (an empty list then means no scope at all).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub scopes_known: bool,
    /// The scopes the last scope change removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_scopes: Vec<SmolStr>,
    /// When that change happened (0: none).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub scope_changed_ns: i64,
    /// The scope change event.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub scope_event: SmolStr,
    /// Where it came from.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub scope_event_source: SmolStr,
    /// The key's previous use (0: none seen).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub last_used_ns: i64,
    /// For derived credentials (STS session credentials): the key they were obtained with.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub parent_key_id: SmolStr,
    /// When they were obtained.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub issued_ns: i64,
    /// When the parent key was revoked (0: not revoked).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub parent_revoked_ns: i64,
    /// The parent's revoking event.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub parent_revoked_event: SmolStr,
    /// Where it came from.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub parent_revoked_event_source: SmolStr,
}

/// A key's status in the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// No lifecycle record mentions the key.
    #[default]
    Unknown,
    /// Created or activated.
    Active,
    /// Deactivated (can be activated again).
    Inactive,
    /// Deleted.
    Deleted,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// One object an event touches and what the ownership model knew of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectFact {
    /// What kind of object: the path segment naming it (`orders` for `/orders/42`), or the
    /// table.
    pub collection: SmolStr,
    /// The object's id: the path segment, or the item key as `name=value` pairs joined by `,`.
    pub id: SmolStr,
    /// The owning principal, when known.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub owner: SmolStr,
    /// The owning tenant, when known.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub owner_tenant: SmolStr,
    /// How the owner was learnt.
    pub owner_source: OwnerSource,
    /// The event the owner was learnt from (`creator`, `condition`); empty when the id itself
    /// names the owner.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub owner_event: SmolStr,
    /// Where that event came from (`file:line`), for citing it as evidence.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub owner_event_source: SmolStr,
    /// The actor against the owner.
    pub relation: Relation,
    /// The id was returned to the actor (the same principal and tenant) in an earlier
    /// response, or the actor created the object.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
    /// The collection is owner-scoped: its keys name owners, its writes carry ownership
    /// conditions, or the ownership settings say so.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub scoped: bool,
    /// This write carries a condition on an owner attribute (`owner_id = :uid`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub owner_condition: bool,
}

/// How the owner of an object was learnt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerSource {
    /// No owner is known.
    #[default]
    Unknown,
    /// The id is a user or tenant id in a path (`/users/{id}`, `/tenants/{id}`).
    Path,
    /// A key value with an owner prefix (`USER#<id>`, `TENANT#<id>`).
    KeyPrefix,
    /// A key attribute that names an owner (`user_id`, `owner_id`, `tenant_id`, or mapped).
    KeyAttribute,
    /// The principal whose request created the object.
    Creator,
    /// The principal whose write succeeded under an ownership condition.
    Condition,
    /// The ownership settings map this route parameter to its owner.
    Mapping,
    /// The ownership settings declare the collection public: nobody owns its objects.
    Public,
    /// A write set the owner (an ownership transfer); at the DB layer the new owner is not
    /// logged, so it is then unknown.
    Transfer,
}

impl OwnerSource {
    /// Whether the object's id (or key) itself names the owner.
    pub fn names_owner(&self) -> bool {
        matches!(
            self,
            OwnerSource::Path | OwnerSource::KeyPrefix | OwnerSource::KeyAttribute
        )
    }
}

/// The actor of an event against an object's owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// No owner is known, or the actor cannot be compared with it.
    #[default]
    Unknown,
    /// The actor is the owner (or of the owning tenant).
    Own,
    /// The actor is another principal, or of another tenant.
    Other,
    /// The actor is another principal the owner shared the object with.
    Granted,
}

/// A database operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct DbOperation {
    /// `dynamodb` for DynamoDB.
    pub service: SmolStr,
    /// API operation (`GetItem`, `UpdateItem`, ...).
    pub operation: SmolStr,
    /// Table.
    pub table: SmolStr,
    /// Item key: attribute name to canonical value (strings as-is, numbers as written, binary as
    /// base64).
    #[serde(skip_serializing_if = "Fields::is_empty")]
    pub key: Fields,
    /// Whether a condition was present (ConditionExpression or legacy `Expected`).
    pub has_condition: bool,
    /// The condition's text.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub condition: SmolStr,
    /// The update expression.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub update_expression: SmolStr,
    /// Consistent read, when the request said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistent_read: Option<bool>,
    /// Secondary index read.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub index_name: SmolStr,
    /// Transaction or batch group.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub group_id: SmolStr,
    /// Whether the operation writes.
    pub is_write: bool,
    /// Service error code; empty on success.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub error_code: SmolStr,
}

/// What happened to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum KeyAction {
    /// Created.
    Created,
    /// Enabled again.
    Activated,
    /// Disabled.
    Deactivated,
    /// Deleted.
    Deleted,
    /// Replaced by a new key.
    Rotated,
    /// Scopes changed.
    ScopeChanged,
}

impl KeyAction {
    /// The action's name in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyAction::Created => "created",
            KeyAction::Activated => "activated",
            KeyAction::Deactivated => "deactivated",
            KeyAction::Deleted => "deleted",
            KeyAction::Rotated => "rotated",
            KeyAction::ScopeChanged => "scope_changed",
        }
    }
}

/// A credential lifecycle change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(deny_unknown_fields)]
pub struct KeyLifecycle {
    /// What happened.
    pub action: KeyAction,
    /// The key acted on (not the caller's key).
    pub key_id: SmolStr,
    /// The key's owner.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub owner: SmolStr,
    /// Scopes after the change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<SmolStr>,
    /// For credentials derived from another key (STS session credentials obtained with an access
    /// key): that key.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub parent_key_id: SmolStr,
}

/// An authentication or authorization decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(default, deny_unknown_fields)]
pub struct AuthDecision {
    /// Whether access was granted.
    pub allowed: bool,
    /// Action asked for.
    pub action: SmolStr,
    /// Resource asked for.
    pub resource: SmolStr,
    /// Deciding policy or mechanism.
    #[serde(skip_serializing_if = "SmolStr::is_empty")]
    pub policy: SmolStr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_strings_are_their_parts_back_to_back() {
        assert_eq!(joined(&[]), "");
        assert_eq!(joined(&["ct:", "1"]), "ct:1");
        let id = "17f7920e-e1cd-0359-aa4b-537b4a3a3c58";
        assert_eq!(joined(&["ct:", id]), format!("ct:{id}"));
        // The buffer is reused: a shorter string after a longer one is only itself.
        assert_eq!(joined(&["gw:", "r"]), "gw:r");
        let huge = "x".repeat(1 << 20);
        assert_eq!(joined(&["ct:", &huge]).len(), 3 + (1 << 20));
        assert_eq!(joined(&["ct:", "2"]), "ct:2");
    }

    #[test]
    fn shared_strings_are_their_text_whatever_came_before() {
        let long = "/var/log/trails/111122223333_CloudTrail_us-east-1_20261001T000000Z.json";
        let a = shared(long);
        assert_eq!(a, long);
        assert_eq!(shared(long), long);
        assert_eq!(shared("other.json"), "other.json");
        assert_eq!(shared(""), "");
        assert_eq!(
            shared(&long.replace("0000Z", "0001Z")),
            long.replace("0000Z", "0001Z")
        );
        assert_eq!(shared(long), long);
    }

    #[test]
    fn json_round_trip_names_the_detail_after_its_kind() {
        let e = Event {
            facts: Default::default(),
            id: "ct:1".into(),
            time_ns: 5,
            precision_ns: 1_000_000_000,
            source: SourceRef {
                file: "a.json".into(),
                record: 1,
                line: Some(3),
                format: "cloudtrail".into(),
            },
            actor: Actor {
                principal: "alice".into(),
                ..Actor::default()
            },
            correlation: Correlation::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation {
                service: "dynamodb".into(),
                operation: "GetItem".into(),
                table: "orders".into(),
                key: crate::event::Fields::from_iter([("id".into(), "1".into())]),
                ..DbOperation::default()
            }),
            attributes: crate::event::Fields::new(),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"id":"ct:1","time_ns":5,"precision_ns":1000000000,"source":{"file":"a.json","record":1,"line":3,"format":"cloudtrail"},"actor":{"principal":"alice"},"correlation":{},"outcome":"success","db_operation":{"service":"dynamodb","operation":"GetItem","table":"orders","key":{"id":"1"},"has_condition":false,"is_write":false}}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        assert_eq!(e.source.to_string(), "a.json:3");
    }
}
