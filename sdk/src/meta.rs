//! Rule metadata as a rule author writes it: `const`-friendly, converted to the wire once.

use crate::{Confidence, EventKind, FactNeed, FindingClass, Partitioning, Severity};

/// Metadata of one rule. Mapping ids are checked against the engine's catalogs when the pack
/// loads; an unknown id refuses the pack.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable id, e.g. `TW-TOCTOU-001`.
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// What the rule detects and why it matters.
    pub description: &'static str,
    /// Default severity of its findings.
    pub severity: Severity,
    /// Default confidence of its findings.
    pub confidence: Confidence,
    /// OWASP API Security Top 10 (2023) ids, e.g. `API1:2023`.
    pub owasp: &'static [&'static str],
    /// SOC 2 Trust Services Criteria ids, e.g. `CC6.1`.
    pub soc2: &'static [&'static str],
    /// CWE ids, e.g. `CWE-367`.
    pub cwe: &'static [&'static str],
    /// The concrete fix.
    pub remediation: &'static str,
    /// Event kinds the rule wants; the host sends nothing else.
    pub kinds: &'static [EventKind],
    /// If not empty, only events whose DB operation or HTTP method is one of these.
    pub operations: &'static [&'static str],
    /// Only events that have all these facts of the engine's enrichment stage.
    pub requires: &'static [FactNeed],
    /// How the host may split the stream.
    pub partitioning: Partitioning,
    /// [`FindingClass::Incident`]: one finding per incident; [`FindingClass::Weakness`]: the
    /// host folds the findings into one per [`crate::Site`] with the number of occurrences, so
    /// report every occurrence with its site.
    pub class: FindingClass,
}

impl RuleMeta {
    /// Defaults for struct-update syntax: medium severity and confidence, no mappings, every event
    /// kind, no partitioning, an incident rule.
    pub const DEFAULT: RuleMeta = RuleMeta {
        id: "",
        title: "",
        description: "",
        severity: Severity::Medium,
        confidence: Confidence::Medium,
        owasp: &[],
        soc2: &[],
        cwe: &[],
        remediation: "",
        kinds: &[],
        operations: &[],
        requires: &[],
        partitioning: Partitioning::None,
        class: FindingClass::Incident,
    };

    /// Whether this rule subscribes to `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

impl Default for RuleMeta {
    fn default() -> Self {
        Self::DEFAULT
    }
}
