//! Findings as the engine reports them: what a rule said, completed with the rule's mappings, the
//! evidence's sources and a stable fingerprint.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::{Confidence, RuleMeta, Severity};

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The pack that holds the rule.
    pub pack: String,
    /// Severity (the rule's default unless the finding overrides it).
    pub severity: Severity,
    /// Confidence (the rule's default unless the finding overrides it).
    pub confidence: Confidence,
    /// What happened.
    pub message: String,
    /// The principal concerned; empty when unknown.
    pub principal: String,
    /// The resource concerned; empty when unknown.
    pub resource: String,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// When, Unix ns.
    pub time_ns: i64,
    /// OWASP API 2023 ids.
    pub owasp: Vec<String>,
    /// SOC 2 ids.
    pub soc2: Vec<String>,
    /// CWE ids.
    pub cwe: Vec<String>,
    /// The events the finding rests on.
    pub evidence: Vec<Evidence>,
    /// The fix.
    pub remediation: String,
    /// Stable across runs: rule, principal, resource and evidence event ids.
    pub fingerprint: String,
}

/// One event a finding rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The event's id.
    pub event_id: String,
    /// Its part (`check`, `use`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub role: String,
    /// `file:line` (or `file#record`) of the record.
    pub source: String,
}

/// A finding as a runtime returns it, before the host completes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawFinding {
    pub rule_id: String,
    pub severity: Option<Severity>,
    pub confidence: Option<Confidence>,
    pub message: String,
    pub principal: String,
    pub resource: String,
    pub time_ns: i64,
    pub evidence: Vec<Evidence>,
}

impl RawFinding {
    /// Completes the finding with the rule's metadata and a fingerprint.
    pub(crate) fn complete(self, meta: &RuleMeta, pack: &str) -> Finding {
        let fingerprint = fingerprint(
            &self.rule_id,
            &self.principal,
            &self.resource,
            &self.evidence,
        );
        Finding {
            title: meta.title.clone(),
            pack: pack.to_owned(),
            severity: self.severity.unwrap_or(meta.severity),
            confidence: self.confidence.unwrap_or(meta.confidence),
            time: crate::time::format_rfc3339(self.time_ns),
            owasp: meta.owasp.clone(),
            soc2: meta.soc2.clone(),
            cwe: meta.cwe.clone(),
            remediation: meta.remediation.clone(),
            rule_id: self.rule_id,
            message: self.message,
            principal: self.principal,
            resource: self.resource,
            time_ns: self.time_ns,
            evidence: self.evidence,
            fingerprint,
        }
    }
}

/// SHA-256 over the finding's identity, hex, first 32 digits. Message wording and times are left out
/// so that a reworded rule or a re-export of the same logs keeps its baseline.
fn fingerprint(rule_id: &str, principal: &str, resource: &str, evidence: &[Evidence]) -> String {
    let mut ids: Vec<&str> = evidence.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for part in [rule_id, principal, resource].into_iter().chain(ids) {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl Finding {
    /// The order of findings in every report: time, rule, resource, fingerprint.
    pub fn sort_key(&self) -> (i64, &str, &str, &str) {
        (
            self.time_ns,
            &self.rule_id,
            &self.resource,
            &self.fingerprint,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str) -> Evidence {
        Evidence {
            event_id: id.into(),
            role: String::new(),
            source: "f:1".into(),
        }
    }

    #[test]
    fn fingerprint_ignores_evidence_order_but_not_identity() {
        let a = fingerprint("R", "alice", "t/k", &[ev("1"), ev("2")]);
        assert_eq!(a, fingerprint("R", "alice", "t/k", &[ev("2"), ev("1")]));
        assert_ne!(a, fingerprint("R", "bob", "t/k", &[ev("1"), ev("2")]));
        assert_ne!(a, fingerprint("R", "alice", "t/k", &[ev("1")]));
        assert_eq!(a.len(), 32);
    }
}
