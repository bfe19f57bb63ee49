//! Findings as a rule builds them.

use crate::bindings::tracewarden::rule::types as wire;
use crate::collections::HashMap;
use crate::{Confidence, Event, FindingClass, RuleMeta, Severity};

/// Occurrences of one weakness site whose details the host keeps: it folds a weakness rule's
/// findings into one per site, and of a site's occurrences keeps the message, resource and
/// evidence of the first three (the folded finding's examples, the first heading its message);
/// of every later one it reads the principal, the time and the severity and confidence alone.
pub const KEPT_OCCURRENCES: u32 = 3;

/// One finding. The host adds the rule's mappings, the evidence's sources and the fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule id (one of the ids in [`crate::Rule::rules`]).
    pub rule_id: String,
    /// Overrides the rule's default severity.
    pub severity: Option<Severity>,
    /// Overrides the rule's default confidence.
    pub confidence: Option<Confidence>,
    /// One or two sentences a person can act on.
    pub message: String,
    /// The principal concerned.
    pub principal: String,
    /// The resource concerned (`table/key`, a path).
    pub resource: String,
    /// Time the finding refers to, ns.
    pub time_ns: i64,
    /// The events the finding rests on.
    pub evidence: Vec<Evidence>,
    /// A weakness's site; the host folds a weakness rule's findings by it.
    pub site: Option<Site>,
}

/// Where a weakness lives: the HTTP request that issued the call (method, route template) and
/// the table and operation. Empty parts are unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    /// The issuing request's method.
    pub method: String,
    /// The issuing request's route template (`/docs/{id}`).
    pub route: String,
    /// The table.
    pub table: String,
    /// The operation (`UpdateItem`; for an HTTP event, its method).
    pub operation: String,
}

impl Site {
    /// The site of `event`: the request that issued it (from the enrichment stage's facts) and,
    /// for a DB call, its table and operation.
    pub fn of(event: &Event<'_>) -> Site {
        let (table, operation) = match &event.detail {
            crate::Detail::Db(d) => (d.table, d.operation),
            _ => ("", ""),
        };
        Site {
            method: event.facts.request_method.to_owned(),
            route: event.facts.request_route.to_owned(),
            table: table.to_owned(),
            operation: operation.to_owned(),
        }
    }
}

/// One event a finding rests on. Keep one (not the whole event) when a later event may complete a
/// finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The event's id.
    pub event_id: String,
    /// Its part in the finding (`check`, `use`).
    pub role: String,
    /// `file:line` or `file#record`.
    pub source: String,
    /// The event's time, ns.
    pub time_ns: i64,
}

impl Evidence {
    /// Evidence of `event` playing `role`.
    pub fn of(event: &Event<'_>, role: &str) -> Self {
        Evidence {
            event_id: event.id.to_owned(),
            role: role.to_owned(),
            source: event.source.text(),
            time_ns: event.time_ns,
        }
    }
}

impl Finding {
    /// A finding of rule `rule_id` with a message.
    pub fn new(rule_id: &str, message: impl Into<String>) -> Self {
        Finding {
            rule_id: rule_id.to_owned(),
            severity: None,
            confidence: None,
            message: message.into(),
            principal: String::new(),
            resource: String::new(),
            time_ns: 0,
            evidence: Vec::new(),
            site: None,
        }
    }

    /// Sets the site of a weakness finding (usually [`Site::of`] the event that shows it).
    pub fn site(mut self, site: Site) -> Self {
        self.site = Some(site);
        self
    }

    /// Sets the principal.
    pub fn principal(mut self, principal: &str) -> Self {
        principal.clone_into(&mut self.principal);
        self
    }

    /// Sets the resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// Overrides the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Overrides the confidence.
    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Adds `event` as evidence with a role (`check`, `use`); the finding's time becomes the latest
    /// evidence time.
    pub fn evidence(self, event: &Event<'_>, role: &str) -> Self {
        self.with(Evidence::of(event, role))
    }

    /// Adds evidence kept from an earlier event; the finding's time becomes the latest evidence time.
    pub fn with(mut self, evidence: Evidence) -> Self {
        self.time_ns = self.time_ns.max(evidence.time_ns);
        self.evidence.push(evidence);
        self
    }

    /// An occurrence of weakness `rule_id` at `site` by `principal`, without a message, resource
    /// or evidence: what the host reads of an occurrence past a site's [`KEPT_OCCURRENCES`] (see
    /// [`Findings::keeps_details`]). `latest_ns` is the time of the latest event it rests on;
    /// its time is what evidence of that event would give it ([`Finding::with`]).
    pub fn occurrence(rule_id: &str, site: Site, principal: &str, latest_ns: i64) -> Self {
        let mut finding = Finding::new(rule_id, String::new())
            .site(site)
            .principal(principal);
        finding.time_ns = finding.time_ns.max(latest_ns);
        finding
    }

    /// Puts evidence kept from an earlier event before the evidence so far (a finding built on
    /// the event that completes it, with [`crate::RuleMeta::finding_on`], then cites what led
    /// to it first); the finding's time stays the latest evidence time.
    pub fn preceded_by(mut self, evidence: Evidence) -> Self {
        self.time_ns = self.time_ns.max(evidence.time_ns);
        self.evidence.insert(0, evidence);
        self
    }

    pub(crate) fn into_wire(self) -> wire::Finding {
        wire::Finding {
            rule_id: self.rule_id,
            severity: self.severity,
            confidence: self.confidence,
            message: self.message,
            principal: self.principal,
            resource: self.resource,
            time_ns: self.time_ns,
            evidence: self
                .evidence
                .into_iter()
                .map(|e| wire::Evidence {
                    event_id: e.event_id,
                    role: e.role,
                    source: e.source,
                })
                .collect(),
            site: self.site.map(|s| wire::Site {
                method: s.method,
                route: s.route,
                table: s.table,
                operation: s.operation,
            }),
        }
    }
}

/// Where a rule puts its findings.
///
/// In a component, it counts each weakness site's occurrences over the whole scan, and sends
/// an occurrence past a site's [`KEPT_OCCURRENCES`] without the message, resource and evidence
/// the host would not read. Natively ([`Findings::default`], the SDK's [`crate::testing`]), every
/// finding is kept whole.
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
    occurrences: Occurrences,
}

impl Findings {
    /// Findings counted against `occurrences` (the component's, across calls).
    pub(crate) fn counting(occurrences: Occurrences) -> Self {
        Findings {
            items: Vec::new(),
            occurrences,
        }
    }

    /// The findings, and the occurrence counts to carry to the next call.
    pub(crate) fn into_parts(self) -> (Vec<Finding>, Occurrences) {
        (self.items, self.occurrences)
    }

    /// Reports a finding. An occurrence of a weakness site past its [`KEPT_OCCURRENCES`] goes
    /// without its message, resource and evidence (in a component).
    pub fn push(&mut self, mut finding: Finding) {
        self.occurrences.count(&mut finding);
        self.items.push(finding);
    }

    /// Whether the host keeps the details (message, resource, evidence) of the next occurrence
    /// of weakness `rule_id` at `site`: always for an incident rule, and natively. A rule whose
    /// weakness occurrences cost something to describe (a message formatted from several
    /// events) can report the others as [`Finding::occurrence`]:
    ///
    /// ```
    /// use tracewarden_sdk::prelude::*;
    /// const UNCHECKED: RuleMeta = RuleMeta {
    ///     id: "EX-002",
    ///     class: FindingClass::Weakness,
    ///     ..RuleMeta::DEFAULT
    /// };
    /// fn report(event: &Event<'_>, out: &mut Findings) {
    ///     let site = Site::of(event);
    ///     if out.keeps_details(UNCHECKED.id, &site) {
    ///         out.push(UNCHECKED.finding_on(event, "use", format!("{} unchecked", event.resource())));
    ///     } else {
    ///         out.push(Finding::occurrence(UNCHECKED.id, site, event.principal(), event.time_ns));
    ///     }
    /// }
    /// ```
    pub fn keeps_details(&self, rule_id: &str, site: &Site) -> bool {
        self.occurrences.keeps_details(rule_id, site)
    }

    /// The findings so far.
    pub fn as_slice(&self) -> &[Finding] {
        &self.items
    }

    /// Takes the findings out.
    pub fn into_vec(self) -> Vec<Finding> {
        self.items
    }
}

/// A component's weakness rules, and how many occurrences of each of their sites it has
/// reported.
#[derive(Debug, Default)]
pub(crate) struct Occurrences {
    /// Per weakness rule: its id, and its sites' occurrences so far. Empty natively: no finding
    /// is counted or lightened.
    rules: Vec<(&'static str, HashMap<Site, u32>)>,
}

impl Occurrences {
    /// Counts for the weakness rules among `rules`.
    pub(crate) fn of(rules: &[RuleMeta]) -> Self {
        Occurrences {
            rules: rules
                .iter()
                .filter(|r| r.class == FindingClass::Weakness)
                .map(|r| (r.id, HashMap::default()))
                .collect(),
        }
    }

    fn sites(&self, rule_id: &str) -> Option<&HashMap<Site, u32>> {
        self.rules
            .iter()
            .find(|(id, _)| *id == rule_id)
            .map(|(_, sites)| sites)
    }

    fn keeps_details(&self, rule_id: &str, site: &Site) -> bool {
        self.sites(rule_id)
            .is_none_or(|sites| sites.get(site).is_none_or(|n| *n < KEPT_OCCURRENCES))
    }

    /// Counts `finding` if it is a weakness's occurrence (one without a site is the host's
    /// "site unknown", the default site), and takes away what the host would not read of it.
    fn count(&mut self, finding: &mut Finding) {
        let Some((_, sites)) = self.rules.iter_mut().find(|(id, _)| *id == finding.rule_id) else {
            return;
        };
        let unknown = Site::default();
        let site = finding.site.as_ref().unwrap_or(&unknown);
        let seen = match sites.get_mut(site) {
            Some(n) => n,
            None => sites.entry(site.clone()).or_default(),
        };
        *seen = seen.saturating_add(1);
        if *seen > KEPT_OCCURRENCES {
            finding.message = String::new();
            finding.resource = String::new();
            finding.evidence = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tests::{INCIDENT, WEAKNESS};

    fn site(table: &str) -> Site {
        Site {
            table: table.to_owned(),
            ..Site::default()
        }
    }

    fn finding(rule: &RuleMeta, site: Option<Site>, n: i64) -> Finding {
        let mut f = Finding::new(rule.id, format!("occurrence {n}"))
            .principal("alice")
            .resource(format!("orders/{n}"))
            .with(Evidence {
                event_id: format!("e{n}"),
                role: "use".to_owned(),
                source: format!("f:{n}"),
                time_ns: n,
            })
            .confidence(Confidence::High);
        f.site = site;
        f
    }

    #[test]
    fn a_site_keeps_the_details_of_its_first_occurrences_only() {
        let mut out = Findings::counting(Occurrences::of(&[WEAKNESS, INCIDENT]));
        let mut kept = Vec::new();
        for n in 1..=5 {
            kept.push(out.keeps_details("EX-002", &site("a")));
            out.push(finding(&WEAKNESS, Some(site("a")), n));
        }
        assert_eq!(kept, [true, true, true, false, false]);
        // Another site, a weakness without a site (the host's "site unknown") and incidents are
        // counted apart.
        assert!(out.keeps_details("EX-002", &site("b")));
        out.push(finding(&WEAKNESS, Some(site("b")), 6));
        for n in 7..=10 {
            out.push(finding(&WEAKNESS, None, n));
        }
        assert!(!out.keeps_details("EX-002", &Site::default()));
        for n in 11..=15 {
            out.push(finding(&INCIDENT, None, n));
        }
        assert!(out.keeps_details("EX-001", &Site::default()));
        assert!(out.keeps_details("EX-OTHER", &site("a")));

        let (found, occurrences) = out.into_parts();
        let whole: Vec<i64> = found
            .iter()
            .filter(|f| !f.message.is_empty())
            .map(|f| f.time_ns)
            .collect();
        assert_eq!(whole, [1, 2, 3, 6, 7, 8, 9, 11, 12, 13, 14, 15]);
        // What the host reads of a later occurrence stays.
        let lean = &found[3];
        assert_eq!(
            (
                lean.rule_id.as_str(),
                lean.principal.as_str(),
                lean.time_ns,
                lean.confidence,
                lean.site.as_ref()
            ),
            (
                "EX-002",
                "alice",
                4,
                Some(Confidence::High),
                Some(&site("a"))
            )
        );
        assert!(lean.resource.is_empty() && lean.evidence.is_empty());

        // The counts go on in the next call.
        let mut out = Findings::counting(occurrences);
        assert!(!out.keeps_details("EX-002", &site("a")));
        assert!(out.keeps_details("EX-002", &site("b")));
        out.push(finding(&WEAKNESS, Some(site("b")), 16));
        assert_eq!(out.into_parts().0[0].message, "occurrence 16");
    }

    #[test]
    fn natively_every_finding_is_kept_whole() {
        let mut out = Findings::default();
        for n in 1..=5 {
            assert!(out.keeps_details("EX-002", &site("a")));
            out.push(finding(&WEAKNESS, Some(site("a")), n));
        }
        assert!(out.as_slice().iter().all(|f| !f.evidence.is_empty()));
    }

    #[test]
    fn an_occurrence_is_what_the_host_reads_of_a_later_one() {
        let f = Finding::occurrence("EX-002", site("a"), "bob", 7);
        assert_eq!(
            (f.rule_id.as_str(), f.principal.as_str(), f.time_ns, f.site),
            ("EX-002", "bob", 7, Some(site("a")))
        );
        assert!(f.message.is_empty() && f.resource.is_empty() && f.evidence.is_empty());
        // Its time is what evidence of its latest event would give, whatever that time.
        for latest_ns in [7, 0, -5] {
            let evidence = Evidence {
                event_id: "e".to_owned(),
                role: "use".to_owned(),
                source: "f:1".to_owned(),
                time_ns: latest_ns,
            };
            assert_eq!(
                Finding::occurrence("EX-002", site("a"), "bob", latest_ns).time_ns,
                Finding::new("EX-002", "m").with(evidence).time_ns
            );
        }
    }
}
