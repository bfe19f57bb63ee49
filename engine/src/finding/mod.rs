//! Findings as the engine reports them: what a rule said, completed with the rule's mappings, the
//! evidence's sources and a stable fingerprint; a weakness rule's findings folded into one per
//! site ([`fold`]).

mod fold;
mod spill;
mod store;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::{Detail, Event};
use crate::rules::{Confidence, FindingClass, RuleMeta, Severity};

pub(crate) use fold::FindingSink;
pub use fold::{
    FINDING_BYTES_PER_EVENT, MAX_EXAMPLES, MAX_FINDING_BYTES, MAX_LISTED_PRINCIPALS,
    MAX_MESSAGE_BYTES,
};
#[cfg(test)]
pub(crate) use store::FindingsWriter;
pub use store::{FINDINGS_MEMORY_BYTES, Findings, Iter as FindingsIter};

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
    /// Stable across runs: rule, principal, resource and evidence event ids (for a weakness:
    /// rule and site).
    pub fingerprint: String,
    /// Incident (someone did something) or weakness (the code allows it).
    pub class: FindingClass,
    /// A weakness's site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site: Option<Site>,
    /// A weakness: how many times the rule saw it at this site.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub occurrences: Option<u64>,
    /// A weakness: the distinct principals of its occurrences, sorted (at most
    /// [`fold::MAX_LISTED_PRINCIPALS`]; `distinct_principals` counts them all).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub principals: Vec<String>,
    /// A weakness: how many distinct principals (an empty principal is not counted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distinct_principals: Option<u64>,
    /// A weakness: its first occurrence, RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub first_seen: Option<String>,
    /// A weakness: its last occurrence, RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_seen: Option<String>,
    /// A weakness: its first occurrences as the rule reported them (at most
    /// [`fold::MAX_EXAMPLES`]).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub examples: Vec<Example>,
}

/// Where a weakness lives: the HTTP request that issued the call (method and route template,
/// when known) and the table and operation. Empty parts are unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Site {
    /// The issuing request's method.
    pub method: String,
    /// The issuing request's route template (`/docs/{id}`).
    pub route: String,
    /// The table.
    pub table: String,
    /// The operation (`UpdateItem`).
    pub operation: String,
}

impl Site {
    /// The site of `event`: the request that issued it (the enrichment stage's facts) and, for a
    /// DB call, its table and operation.
    pub fn of(event: &Event) -> Site {
        let (table, operation) = match &event.detail {
            Detail::DbOperation(d) => (d.table.as_str(), d.operation.as_str()),
            _ => ("", ""),
        };
        Site {
            method: event.facts.request_method.to_string(),
            route: event.facts.request_route.to_string(),
            table: table.to_owned(),
            operation: operation.to_owned(),
        }
    }

    /// `PUT /docs/{id} → docs UpdateItem`, with the unknown parts left out (`site unknown` when
    /// nothing is known).
    pub fn label(&self) -> String {
        let request = [self.method.as_str(), self.route.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let call = [self.table.as_str(), self.operation.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        match (request.is_empty(), call.is_empty()) {
            (true, true) => "site unknown".to_owned(),
            (false, true) => request,
            (true, false) => call,
            (false, false) => format!("{request} → {call}"),
        }
    }
}

/// One occurrence of a weakness as the rule reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// RFC 3339 UTC.
    pub time: String,
    /// Unix ns.
    pub time_ns: i64,
    /// The rule's message for this occurrence.
    pub message: String,
    /// Its principal; empty when unknown.
    pub principal: String,
    /// Its resource.
    pub resource: String,
    /// Its evidence.
    pub evidence: Vec<Evidence>,
}

/// One event a finding rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The event's id.
    pub event_id: String,
    /// Its part (`check`, `use`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub role: String,
    /// `file:line` (or `file#record`) of the record, as the rule gave it.
    pub source: String,
    /// Where the record is in its input, resolved by the host from `source`; absent when the
    /// source names no record of an input of this scan.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<Location>,
    /// The record's time, RFC 3339 UTC, resolved with `location` (what a timeline is drawn from).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<String>,
    /// The record's time, Unix ns.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_ns: Option<i64>,
}

pub use crate::ingest::Location;

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
    pub site: Option<Site>,
}

impl RawFinding {
    /// The bytes its texts take, as [`Finding::size`] counts them.
    pub(crate) fn size(&self) -> usize {
        text_size(
            [&self.message, &self.principal, &self.resource],
            &self.evidence,
        )
    }

    /// Its severity: the rule's, unless the finding overrides it.
    pub(crate) fn severity(&self, meta: &RuleMeta) -> Severity {
        self.severity.unwrap_or(meta.severity)
    }

    /// Its confidence: the rule's, unless the finding overrides it.
    pub(crate) fn confidence(&self, meta: &RuleMeta) -> Confidence {
        self.confidence.unwrap_or(meta.confidence)
    }

    /// Completes the finding with the rule's metadata and a fingerprint (an incident's; the fold
    /// gives a weakness its own).
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
            severity: self.severity(meta),
            confidence: self.confidence(meta),
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
            class: meta.class,
            site: None,
            occurrences: None,
            principals: Vec::new(),
            distinct_principals: None,
            first_seen: None,
            last_seen: None,
            examples: Vec::new(),
        }
    }
}

/// The bytes a finding's own texts take: what the findings' memory budget counts.
/// `texts`: its message, principal and resource.
fn text_size(texts: [&str; 3], evidence: &[Evidence]) -> usize {
    texts.iter().map(|t| t.len()).sum::<usize>()
        + evidence
            .iter()
            .map(|e| e.event_id.len() + e.role.len() + e.source.len())
            .sum::<usize>()
}

/// SHA-256 over the finding's identity, hex, first 32 digits. Message wording and times are left out
/// so that a reworded rule or a re-export of the same logs keeps its baseline.
fn fingerprint(rule_id: &str, principal: &str, resource: &str, evidence: &[Evidence]) -> String {
    let mut ids: Vec<&str> = evidence.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    digest([rule_id, principal, resource].into_iter().chain(ids))
}

/// SHA-256 over `parts`, each ended by a NUL, hex, first 32 digits.
fn digest<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    crate::digest::hex(digest.get(..16).unwrap_or_default())
}

impl Evidence {
    /// Where the record is, for a person: `file:line:column` when its location is known, else
    /// the source as the rule gave it.
    pub fn place(&self) -> String {
        match &self.location {
            Some(l) => format!("{}:{}:{}", l.file, l.line, l.column),
            None => self.source.clone(),
        }
    }
}

impl Finding {
    /// Bytes the finding's text takes: what bounds a rule's output.
    pub(crate) fn size(&self) -> usize {
        text_size(
            [&self.message, &self.principal, &self.resource],
            &self.evidence,
        )
    }

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
            location: None,
            time: None,
            time_ns: None,
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
