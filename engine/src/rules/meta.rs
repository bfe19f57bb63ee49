//! Rule metadata as the host keeps it, whatever the runtime, and its validation against the
//! catalogs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::event::{Event, EventKind};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Hygiene.
    Low,
    /// Should be fixed.
    Medium,
    /// Likely exploitable.
    High,
    /// Exploited or trivially exploitable.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity `{s}`: expected info, low, medium, high or critical")
            })
    }
}

/// How sure the rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Plausible.
    Low,
    /// Likely.
    Medium,
    /// Near certain.
    High,
}

impl Confidence {
    /// The lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// How the host may split a rule's stream across workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// One stream.
    #[default]
    None,
    /// By principal.
    ByPrincipal,
    /// By resource.
    ByResource,
    /// By trace.
    ByTrace,
}

/// What a rule's findings say, and so how they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingClass {
    /// Someone did something (an observed race, a cross-principal access, a key used after
    /// revocation): one finding per incident.
    Incident,
    /// The code allows it (a read then an unconditional write, a write without condition): the
    /// host folds the rule's findings into one per site with the number of occurrences.
    Weakness,
}

impl FindingClass {
    /// The lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingClass::Incident => "incident",
            FindingClass::Weakness => "weakness",
        }
    }
}

/// Metadata of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    /// Stable id, e.g. `TW-TOCTOU-001`.
    pub id: String,
    /// One line.
    pub title: String,
    /// What it detects and why it matters.
    #[serde(default)]
    pub description: String,
    /// Default severity.
    pub severity: Severity,
    /// Default confidence.
    pub confidence: Confidence,
    /// OWASP API 2023 ids.
    #[serde(default)]
    pub owasp: Vec<String>,
    /// SOC 2 ids.
    #[serde(default)]
    pub soc2: Vec<String>,
    /// CWE ids.
    #[serde(default)]
    pub cwe: Vec<String>,
    /// The fix.
    #[serde(default)]
    pub remediation: String,
    /// Event kinds wanted; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<EventKind>,
    /// If not empty, only events whose operation is one of these.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Only events that have all these enrichment facts.
    #[serde(default)]
    pub requires: Vec<FactNeed>,
    /// How the host may split the stream.
    #[serde(default)]
    pub partitioning: Partitioning,
    /// Incident or weakness; every rule declares it.
    pub class: FindingClass,
}

/// A fact of the enrichment stage a rule needs on an event (`requires` in its metadata): the host
/// sends it only events that have every fact it lists, which spares a rule (a Rego rule above
/// all) the events it could never report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactNeed {
    /// The event names a key (`facts.key`).
    Key,
    /// The key's creation is known.
    KeyCreated,
    /// The key is revoked.
    KeyRevoked,
    /// The key's last scope change removed scopes.
    KeyDownscoped,
    /// The key was derived from a key that is revoked.
    KeyParentRevoked,
    /// The event touches objects.
    Objects,
    /// One of its objects has a known owner.
    ObjectsOwned,
    /// One of its objects is in an owner-scoped table.
    ObjectsScoped,
}

impl FactNeed {
    /// Every need.
    const ALL: [FactNeed; 8] = [
        FactNeed::Key,
        FactNeed::KeyCreated,
        FactNeed::KeyRevoked,
        FactNeed::KeyDownscoped,
        FactNeed::KeyParentRevoked,
        FactNeed::Objects,
        FactNeed::ObjectsOwned,
        FactNeed::ObjectsScoped,
    ];

    /// The need's bit in [`Subscribed`].
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The need's name in metadata.
    pub fn as_str(&self) -> &'static str {
        match self {
            FactNeed::Key => "key",
            FactNeed::KeyCreated => "key_created",
            FactNeed::KeyRevoked => "key_revoked",
            FactNeed::KeyDownscoped => "key_downscoped",
            FactNeed::KeyParentRevoked => "key_parent_revoked",
            FactNeed::Objects => "objects",
            FactNeed::ObjectsOwned => "objects_owned",
            FactNeed::ObjectsScoped => "objects_scoped",
        }
    }

    /// Whether the ownership model provides the fact; the others come from the key lifecycle
    /// ledger.
    pub fn from_ownership(&self) -> bool {
        matches!(
            self,
            FactNeed::Objects | FactNeed::ObjectsOwned | FactNeed::ObjectsScoped
        )
    }

    /// Whether `event` has the fact.
    pub fn met(&self, event: &Event) -> bool {
        let key = event.facts.key.as_ref();
        let objects = &event.facts.objects;
        match self {
            FactNeed::Key => key.is_some(),
            FactNeed::KeyCreated => key.is_some_and(|k| k.created_ns != 0),
            FactNeed::KeyRevoked => key.is_some_and(|k| k.revoked_ns != 0),
            FactNeed::KeyDownscoped => key.is_some_and(|k| !k.removed_scopes.is_empty()),
            FactNeed::KeyParentRevoked => key.is_some_and(|k| k.parent_revoked_ns != 0),
            FactNeed::Objects => !objects.is_empty(),
            FactNeed::ObjectsOwned => objects
                .iter()
                .any(|o| !o.owner.is_empty() || !o.owner_tenant.is_empty()),
            FactNeed::ObjectsScoped => objects.iter().any(|o| o.scoped),
        }
    }
}

/// What a subscription judges of an event, read from it once: its kind, operation and facts.
#[derive(Clone, Copy)]
pub(crate) struct Subscribed<'e> {
    kind: EventKind,
    operation: &'e str,
    /// Bit `need as u8` per [`FactNeed`] the event has.
    facts: u8,
}

impl<'e> Subscribed<'e> {
    pub(crate) fn of(event: &'e Event) -> Self {
        let facts = FactNeed::ALL
            .iter()
            .filter(|need| need.met(event))
            .fold(0, |bits, need| bits | need.bit());
        Subscribed {
            kind: event.kind(),
            operation: event.operation(),
            facts,
        }
    }
}

impl RuleMeta {
    /// Whether the rule subscribes to `event`.
    pub fn wants(&self, event: &Event) -> bool {
        self.subscribes(&Subscribed::of(event))
    }

    /// Whether the rule subscribes to the event `subscribed` was read from.
    pub(crate) fn subscribes(&self, subscribed: &Subscribed<'_>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&subscribed.kind))
            && (self.operations.is_empty()
                || self.operations.iter().any(|o| o == subscribed.operation))
            && self
                .requires
                .iter()
                .all(|need| subscribed.facts & need.bit() != 0)
    }

    /// Every problem with this metadata: missing id or title, ids unknown to the catalogs.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let valid_id = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !valid_id {
            problems.push(format!(
                "rule id `{}` is invalid: expected letters, digits, `-`, `_` or `.`",
                self.id
            ));
        }
        if self.title.trim().is_empty() {
            problems.push(format!("rule `{}` has no title", self.id));
        }
        for (catalog, ids) in [
            (Catalog::Owasp, &self.owasp),
            (Catalog::Soc2, &self.soc2),
            (Catalog::Cwe, &self.cwe),
        ] {
            for id in ids {
                if catalog.title(id).is_none() {
                    problems.push(format!(
                        "rule `{}` maps to unknown {} id `{id}`",
                        self.id,
                        catalog.name()
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> RuleMeta {
        RuleMeta {
            id: "X-1".into(),
            title: "t".into(),
            description: String::new(),
            severity: Severity::Low,
            confidence: Confidence::High,
            owasp: vec!["API1:2023".into()],
            soc2: vec!["CC6.1".into()],
            cwe: vec!["CWE-367".into()],
            remediation: String::new(),
            kinds: vec![],
            operations: vec![],
            requires: vec![],
            partitioning: Partitioning::None,
            class: FindingClass::Incident,
        }
    }

    #[test]
    fn valid_metadata_has_no_problems() {
        assert!(meta().problems().is_empty());
    }

    #[test]
    fn every_unknown_mapping_is_listed() {
        let m = RuleMeta {
            owasp: vec!["API11:2023".into()],
            soc2: vec!["CC6.9".into()],
            cwe: vec!["CWE-1".into()],
            ..meta()
        };
        assert_eq!(
            m.problems(),
            vec![
                "rule `X-1` maps to unknown OWASP API 2023 id `API11:2023`",
                "rule `X-1` maps to unknown SOC 2 id `CC6.9`",
                "rule `X-1` maps to unknown CWE id `CWE-1`",
            ]
        );
    }

    #[test]
    fn severity_parses_its_names_only() {
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Low < Severity::Critical);
    }
}
