//! Findings as a rule builds them.

use crate::bindings::tracewarden::rule::types as wire;
use crate::{Confidence, Event, Severity};

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
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Debug, Default)]
pub struct Findings {
    items: Vec<Finding>,
}

impl Findings {
    /// Reports a finding.
    pub fn push(&mut self, finding: Finding) {
        self.items.push(finding);
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
