//! Built-in BOLA / IDOR pack: broken object level authorization seen in API and DynamoDB logs.
//!
//! One component carries three rules, so an event crosses into WebAssembly once for all of them:
//!
//! - TW-BOLA-001: a principal succeeds on an object another principal owns (owner learnt from
//!   its creation or an ownership condition);
//! - TW-BOLA-002: one principal walks many ids of one collection, sequentially or mostly refused;
//! - TW-BOLA-003: the user or tenant id in a path or key is not the caller's, and the call
//!   succeeds.
//!
//! TW-BOLA-004 (an owner-scoped table reached by a key naming no owner) is stateless and lives in
//! `bola004.rego`. None of the rules learns who owns what: the engine's enrichment stage does that
//! once and hands every rule the facts (`Event::facts`).

mod access;
mod enumeration;
mod options;
#[cfg(test)]
mod tests;

use tracewarden_sdk::prelude::*;

use crate::access::Access;
use crate::enumeration::Enumeration;
use crate::options::Options;

const OWASP_BOLA: &[&str] = &["API1:2023"];

pub(crate) const CROSS_PRINCIPAL: RuleMeta = RuleMeta {
    id: "TW-BOLA-001",
    title: "Object owned by another principal accessed",
    description: "A principal's request succeeded (2xx, or a DynamoDB call without error) on an \
        object that another principal owns: the owner created it (a POST or PUT that returned \
        its id, a PutItem that succeeded) or proved ownership with a conditional write, and the \
        id was never returned to this principal (a list or search response that gave it to them \
        means the service shares it). Privileged principals (`[ownership] admins`) are not \
        flagged. A DynamoDB call is reported only when no HTTP request it served was reported \
        already, and not when that request was refused.",
    severity: Severity::High,
    confidence: Confidence::Medium,
    owasp: OWASP_BOLA,
    soc2: &["CC6.1", "CC6.3"],
    cwe: &["CWE-639", "CWE-863"],
    remediation: "Authorize at the object level on every access: look the object up by the \
        caller as well as its id (`WHERE id = :id AND owner_id = :caller`, a DynamoDB key that \
        embeds the owner such as `PK = USER#<id>`, or `ConditionExpression: owner_id = :uid` on \
        writes), and answer 404 for objects that are not the caller's. Ids that are hard to \
        guess limit the damage but are not authorization.",
    kinds: &[EventKind::Http, EventKind::DbOperation],
    operations: &[],
    requires: &[FactNeed::ObjectsOwned],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

pub(crate) const ENUMERATION: RuleMeta = RuleMeta {
    id: "TW-BOLA-002",
    title: "Object ids enumerated",
    description: "One principal touched many distinct ids of one collection (a path collection \
        or a table) in one walk (no pause longer than `enumeration_window_ms`): at least \
        `enumeration_min_ids` ids that are neither the principal's own nor were given to them, \
        forming a sequential run or mostly refused (401/403/404), or at least \
        `enumeration_max_ids` whatever they were. Refused attempts count: ownership that is \
        enforced still shows someone trying other people's ids. Privileged principals are not \
        flagged.",
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    owasp: &["API1:2023", "API4:2023"],
    soc2: &["CC6.1", "CC7.2"],
    cwe: &["CWE-639", "CWE-799"],
    remediation: "Use ids that cannot be guessed (UUIDv4, ULID with random bits), answer 404 \
        alike for objects that do not exist and objects that are not the caller's, rate-limit \
        object lookups per principal, and alert on walks; then check that every object-level \
        authorization holds (TW-BOLA-001/003).",
    kinds: &[EventKind::Http, EventKind::DbOperation],
    operations: &[],
    requires: &[FactNeed::Objects],
    partitioning: Partitioning::ByPrincipal,
    class: FindingClass::Incident,
};

pub(crate) const ID_MISMATCH: RuleMeta = RuleMeta {
    id: "TW-BOLA-003",
    title: "Path or key names another user or tenant",
    description: "A request's path (`/users/{id}/...`, `/tenants/{id}/...`, or a route the \
        `[ownership]` settings map) or a DynamoDB key (`USER#<id>`, `TENANT#<id>`, an owner \
        attribute such as `user_id`) names a user or tenant that is not the caller's own, and \
        the call succeeded: the service took the id from the request instead of the \
        authenticated identity. Cross-tenant access is reported the same way. Privileged \
        principals are not flagged.",
    severity: Severity::High,
    confidence: Confidence::High,
    owasp: OWASP_BOLA,
    soc2: &["CC6.1", "CC6.3"],
    cwe: &["CWE-639", "CWE-863"],
    remediation: "Take the user and tenant from the authenticated identity (the token's `sub` \
        and tenant claim), not from the path or body; when a route must name another user, \
        check an explicit grant first. In DynamoDB, build the key from the identity \
        (`PK = USER#<sub>`), and for callers with their own AWS credentials restrict keys with \
        IAM `dynamodb:LeadingKeys`.",
    kinds: &[EventKind::Http, EventKind::DbOperation],
    operations: &[],
    requires: &[FactNeed::ObjectsOwned],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

/// The pack's rules, sharing one pass over the events.
#[derive(Default)]
pub struct Bola {
    options: Options,
    access: Access,
    enumeration: Enumeration,
}

impl Rule for Bola {
    fn rules() -> Vec<RuleMeta> {
        vec![CROSS_PRINCIPAL, ENUMERATION, ID_MISMATCH]
    }

    fn configure(&mut self, config: &Config) -> Result<(), String> {
        self.options = Options::from_config(config)?;
        Ok(())
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        self.access.on_event(event, out);
        self.enumeration.on_event(event, &self.options, out);
    }

    fn finish(&mut self, out: &mut Findings) {
        self.enumeration.finish(&self.options, out);
    }
}

tracewarden_sdk::export_rule!(Bola);

/// What the event did, for messages: `` `PUT /users/bob/profile` ``, `` `GetItem` ``.
pub(crate) fn verb(event: &Event<'_>) -> String {
    match &event.detail {
        Detail::Http(h) => format!("`{} {}`", h.method, h.path),
        Detail::Db(d) => format!("`{}`", d.operation),
        _ => String::new(),
    }
}

/// Whether `principal` is an AWS role session: the identity an application's task, function
/// or instance runs as, which every end user's request shares when the application calls
/// DynamoDB. One such principal touching many owners' objects is what serving many users looks
/// like; only the application's own logs tell the users apart.
pub(crate) fn shared_identity(principal: &str) -> bool {
    principal.starts_with("arn:") && principal.contains(":assumed-role/")
}

/// What a finding on a shared identity says of itself.
pub(crate) const SHARED_IDENTITY_NOTE: &str = "; the principal is an AWS role session, which an \
    application shares among all its users: these may be many users' requests (low confidence); \
    add the application's request log or traces to tell its callers apart";
