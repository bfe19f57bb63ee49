//! Built-in stale-keys pack: credentials that keep working after their lifecycle says they should
//! have stopped (the Fiber seed: a key validated once, by a middleware or a cache, and trusted
//! after it was revoked or downscoped).
//!
//! One component carries four rules that aggregate per key, so an event crosses into WebAssembly
//! once for all of them:
//!
//! - TW-KEY-001: a successful use after the key was deactivated or deleted, with the
//!   revocation-to-last-use window;
//! - TW-KEY-003: a key older than the rotation policy at the time of a use (once per key);
//! - TW-KEY-005: failed attempts with a revoked key (someone still holds it);
//! - TW-KEY-006: session credentials obtained with a key before it was revoked, used after.
//!
//! - TW-KEY-004: a key used after more than `dormant_days` without use (stateless over the
//!   ledger's facts, but it judges every use of every key: cheaper here than in Rego).
//!
//! TW-KEY-002 (use beyond a reduced scope) is stateless over the ledger's facts and lives in
//! `key002.rego`: only uses of downscoped keys reach it. None of the rules keeps a key's
//! lifecycle: the engine's ledger does, and hands every rule `facts.key`.

mod options;
mod revoked;
#[cfg(test)]
mod tests;

use tracewarden_sdk::collections::HashSet;

use tracewarden_sdk::prelude::*;

use crate::options::{DAY_NS, Options};
use crate::revoked::Revoked;

const OWASP_KEYS: &[&str] = &["API2:2023"];

/// The events that use a key.
const KEY_USES: &[EventKind] = &[
    EventKind::Http,
    EventKind::DbOperation,
    EventKind::AuthDecision,
];

pub(crate) const USED_AFTER_REVOCATION: RuleMeta = RuleMeta {
    id: "TW-KEY-001",
    title: "Key used after revocation",
    description: "A request or API call signed with a key succeeded after the key was \
        deactivated or deleted (IAM access keys, API Gateway API keys, key inventories). The \
        finding gives the revocation-to-last-use window: how long the revoked key kept working, \
        which measures the validation cache the service trusts (or shows the key is never \
        checked). Severity grows with the window (low within a minute, medium within 15 minutes, \
        high beyond) and one step when a use wrote.",
    severity: Severity::High,
    confidence: Confidence::High,
    owasp: OWASP_KEYS,
    soc2: &["CC6.2", "CC6.3", "CC6.1"],
    cwe: &["CWE-613", "CWE-672"],
    remediation: "Re-validate the key at use, or bound the validation cache's TTL by the \
        revocation SLA and invalidate it on revocation (every replica); prefer short-lived \
        scoped tokens to long-lived keys. Rotate whatever the key could reach during the window.",
    kinds: KEY_USES,
    operations: &[],
    requires: &[FactNeed::KeyRevoked],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

pub(crate) const OVERDUE_ROTATION: RuleMeta = RuleMeta {
    id: "TW-KEY-003",
    title: "Key older than the rotation policy in use",
    description: "A key was used when it was older than `rotation_max_age_days` (90 by \
        default), counted from its creation in the inputs (CloudTrail, a key inventory). One \
        finding per key, at its first overdue use. Session credentials are not judged (they \
        expire), nor revoked keys (TW-KEY-001 reports their use).",
    severity: Severity::Medium,
    confidence: Confidence::High,
    owasp: OWASP_KEYS,
    soc2: &["CC6.1", "CC6.2"],
    cwe: &["CWE-324"],
    remediation: "Rotate the key: create a new one, move its users over, deactivate the old one \
        and delete it once nothing uses it. Better, replace long-lived keys with short-lived \
        credentials (IAM roles, OIDC, STS) so rotation is automatic.",
    kinds: KEY_USES,
    operations: &[],
    requires: &[FactNeed::KeyCreated],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

pub(crate) const PROBING: RuleMeta = RuleMeta {
    id: "TW-KEY-005",
    title: "Revoked key still being tried",
    description: "Requests with a key were refused (401/403) after the key was deactivated or \
        deleted: revocation worked, but someone still holds the key and uses it, a client never \
        updated or an attacker with a leaked copy. One finding per key. AWS does not log failed \
        uses of a disabled IAM access key in CloudTrail, so this comes from application and \
        gateway logs.",
    severity: Severity::Low,
    confidence: Confidence::Medium,
    owasp: OWASP_KEYS,
    soc2: &["CC6.1", "CC7.2"],
    cwe: &["CWE-672"],
    remediation: "Find who still holds the key (addresses, user agents in the evidence): update \
        the client, or treat the key as leaked and review what it could reach before it was \
        revoked.",
    kinds: KEY_USES,
    operations: &[],
    requires: &[FactNeed::KeyRevoked],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

pub(crate) const SESSION_OUTLIVES_PARENT: RuleMeta = RuleMeta {
    id: "TW-KEY-006",
    title: "Session credentials outlived the revoked key they came from",
    description: "STS session credentials (`ASIA...`), obtained with a key before that key was \
        revoked, were used after the revocation. AWS cannot revoke issued session credentials: \
        deactivating or deleting the access key did not stop whoever had obtained them, until \
        they expire (up to 36 hours).",
    severity: Severity::High,
    confidence: Confidence::High,
    owasp: OWASP_KEYS,
    soc2: &["CC6.2", "CC6.3", "CC6.1"],
    cwe: &["CWE-613", "CWE-672"],
    remediation: "When revoking a leaked access key, also revoke the sessions it issued: attach \
        a deny policy conditioned on `aws:TokenIssueTime` earlier than the revocation (the IAM \
        console's \"Revoke active sessions\"), or deny the role's sessions by \
        `aws:SourceIdentity`; then review what the sessions did.",
    kinds: KEY_USES,
    operations: &[],
    requires: &[FactNeed::KeyParentRevoked],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

pub(crate) const DORMANT: RuleMeta = RuleMeta {
    id: "TW-KEY-004",
    title: "Dormant key used again",
    description: "A key that had not been used for longer than `dormant_days` (45 by default; \
        from its previous use in the inputs, or from its creation when it was never used) was \
        used successfully. Forgotten keys that wake up are a classic sign of a leak (the \
        Cloudflare 2023 service token). Keys never seen before the inputs began are not judged.",
    severity: Severity::Medium,
    confidence: Confidence::Low,
    owasp: OWASP_KEYS,
    soc2: &["CC6.1", "CC7.2"],
    cwe: &["CWE-324"],
    remediation: "Confirm with the key's owner that the use is expected; deactivate keys unused \
        for the dormancy period (IAM credential reports, API key inventories) so a leaked copy \
        is worthless, and alert on their reuse.",
    kinds: &[
        EventKind::Http,
        EventKind::DbOperation,
        EventKind::KeyLifecycle,
        EventKind::AuthDecision,
    ],
    operations: &[],
    requires: &[FactNeed::Key],
    partitioning: Partitioning::None,
    class: FindingClass::Incident,
};

/// The pack's WASM rules, sharing one pass over the events.
#[derive(Default)]
pub struct StaleKeys {
    options: Options,
    revoked: Revoked,
    /// Keys already reported overdue.
    overdue: HashSet<String>,
}

impl Rule for StaleKeys {
    fn rules() -> Vec<RuleMeta> {
        vec![
            USED_AFTER_REVOCATION,
            OVERDUE_ROTATION,
            DORMANT,
            PROBING,
            SESSION_OUTLIVES_PARENT,
        ]
    }

    fn configure(&mut self, config: &Config) -> Result<(), String> {
        self.options = Options::from_config(config)?;
        Ok(())
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(key) = event.facts.key else {
            return;
        };
        self.revoked.on_event(event, &key, &self.options);
        self.overdue(event, &key, out);
        self.dormant(event, &key, out);
    }

    fn finish(&mut self, out: &mut Findings) {
        self.revoked.finish(out);
    }
}

impl StaleKeys {
    /// TW-KEY-004: a gap longer than `dormant_days` before this use (each gap has one such use).
    fn dormant(&self, event: &Event<'_>, key: &KeyFact<'_>, out: &mut Findings) {
        let (since, what) = match (key.last_used_ns, key.created_ns) {
            (0, 0) => return,
            (0, created) => (created, "created, never used,"),
            (last, _) => (last, "last used"),
        };
        let gap = event.time_ns.saturating_sub(since);
        if event.outcome != Outcome::Success || gap <= self.options.dormant_ns {
            return;
        }
        let message = format!(
            "key `{}` was used by `{}` after {} days without use ({what} {})",
            key.key_id,
            event.principal(),
            gap / DAY_NS,
            revoked::date(since),
        );
        out.push(
            Finding::new(DORMANT.id, message)
                .principal(event.principal())
                .resource(format!("key/{}", key.key_id))
                .evidence(event, "use"),
        );
    }

    fn overdue(&mut self, event: &Event<'_>, key: &KeyFact<'_>, out: &mut Findings) {
        let age = event.time_ns.saturating_sub(key.created_ns);
        if event.outcome != Outcome::Success
            || key.created_ns == 0
            || !key.parent_key_id.is_empty()
            || key.revoked_ns != 0
            || age <= self.options.max_age_ns
            || !self.overdue.insert(key.key_id.to_owned())
        {
            return;
        }
        let message = format!(
            "key `{}` was {} days old when `{}` used it (policy: {} days); created {}",
            key.key_id,
            age / DAY_NS,
            event.principal(),
            self.options.max_age_ns / DAY_NS,
            revoked::date(key.created_ns),
        );
        out.push(
            Finding::new(OVERDUE_ROTATION.id, message)
                .principal(event.principal())
                .resource(format!("key/{}", key.key_id))
                .evidence(event, "use"),
        );
    }
}

tracewarden_sdk::export_rule!(StaleKeys);
