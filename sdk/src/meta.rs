//! Rule metadata as a rule author writes it: `const`-friendly, converted to the wire once.

use crate::{
    Confidence, Event, EventKind, FactNeed, Finding, FindingClass, Partitioning, Severity, Site,
};

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

    /// A finding of this rule. Its severity and confidence are this metadata's defaults, and the
    /// host adds this metadata's OWASP, SOC 2 and CWE mappings, unless the finding overrides them
    /// ([`Finding::severity`], [`Finding::confidence`]).
    pub fn finding(&self, message: impl Into<String>) -> Finding {
        Finding::new(self.id, message)
    }

    /// A finding of this rule about `event`, which plays `role` in it: its principal is the
    /// event's ([`Event::principal`]), its resource the event's ([`Event::resource`]), its time
    /// the event's, and a weakness rule's finding gets the event's [`Site`]. Add more evidence,
    /// or override any part, with [`Finding`]'s builders.
    ///
    /// ```
    /// use tracewarden_sdk::prelude::*;
    /// const META: RuleMeta = RuleMeta {
    ///     id: "EX-002",
    ///     class: FindingClass::Weakness,
    ///     ..RuleMeta::DEFAULT
    /// };
    /// let put = EventBuilder::db("PutItem", "orders").key("id", "1").principal("alice")
    ///     .issued_by("POST", "/orders").build();
    /// let f = META.finding_on(&put, "use", "write without a condition");
    /// assert_eq!((f.principal.as_str(), f.resource.as_str()), ("alice", "orders/id=1"));
    /// assert_eq!(f.site.unwrap().route, "/orders");
    /// ```
    pub fn finding_on(&self, event: &Event<'_>, role: &str, message: impl Into<String>) -> Finding {
        let finding = self
            .finding(message)
            .principal(event.principal())
            .resource(event.resource())
            .evidence(event, role);
        match self.class {
            FindingClass::Weakness => finding.site(Site::of(event)),
            FindingClass::Incident => finding,
        }
    }
}

impl Default for RuleMeta {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::prelude::*;

    /// An incident rule and a weakness rule, for the SDK's tests.
    pub(crate) const INCIDENT: RuleMeta = RuleMeta {
        id: "EX-001",
        severity: Severity::High,
        ..RuleMeta::DEFAULT
    };
    pub(crate) const WEAKNESS: RuleMeta = RuleMeta {
        id: "EX-002",
        class: FindingClass::Weakness,
        ..RuleMeta::DEFAULT
    };

    #[test]
    fn a_finding_on_an_event_takes_its_principal_resource_time_and_evidence() {
        let get = EventBuilder::db("GetItem", "orders")
            .id("ev-7")
            .key("id", "7")
            .principal("bob")
            .at_secs(5)
            .issued_by("GET", "/orders/{id}")
            .build();
        let f = INCIDENT.finding_on(&get, "read", "read after delete");
        assert_eq!(f.rule_id, "EX-001");
        assert_eq!(f.message, "read after delete");
        assert_eq!(
            (f.principal.as_str(), f.resource.as_str()),
            ("bob", "orders/id=7")
        );
        assert_eq!(f.time_ns, 5_000_000_000);
        assert_eq!(f.evidence, [Evidence::of(&get, "read")]);
        assert_eq!(f.severity, None, "the rule's default applies");
        assert_eq!(f.site, None, "an incident has no site");

        let f = WEAKNESS.finding_on(&get, "read", "unchecked");
        assert_eq!(
            f.site,
            Some(Site {
                method: "GET".to_owned(),
                route: "/orders/{id}".to_owned(),
                table: "orders".to_owned(),
                operation: "GetItem".to_owned(),
            })
        );
        let f = WEAKNESS.finding("bare").severity(Severity::Low);
        assert_eq!(
            (f.rule_id.as_str(), f.severity),
            ("EX-002", Some(Severity::Low))
        );
        assert!(f.evidence.is_empty() && f.principal.is_empty());
    }
}
