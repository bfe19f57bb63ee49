//! A rule built against a frozen copy of an older contract, straight on `wit-bindgen` (the SDK
//! follows the current contract): contract 1.0.0 by default, which lacks 1.1's `state-usage`
//! export and must load and run on a 1.1 host; 0.4.0 with the `contract-0-4` feature, which the
//! host must refuse naming both versions. Both contracts have the same types, so one
//! implementation serves both: `TEST-CONTRACT` reports every DB event with its table.

/// Bindings of the frozen contract.
#[allow(missing_docs, clippy::all, unsafe_code)]
mod bindings {
    #[cfg(not(feature = "contract-0-4"))]
    wit_bindgen::generate!({
        path: "wit/1.0.0",
        world: "tracewarden:rule/rule",
    });
    #[cfg(feature = "contract-0-4")]
    wit_bindgen::generate!({
        path: "wit/0.4.0",
        world: "tracewarden:rule/rule",
    });

    #[cfg(target_arch = "wasm32")]
    use super::ContractRule;
    #[cfg(target_arch = "wasm32")]
    export!(ContractRule with_types_in self);
}

use bindings::tracewarden::rule::config::ConfigEntry;
use bindings::tracewarden::rule::types::{
    Batch, Confidence, Detail, EventKind, Evidence, Finding, FindingClass, Partitioning, RuleInfo,
    Severity,
};

/// The rule's id.
pub const ID: &str = "TEST-CONTRACT";

/// The component's implementation of the frozen world.
pub struct ContractRule;

/// String `index` of the batch's string table; empty when out of range.
pub fn text(batch: &Batch, index: u32) -> &str {
    let i = index as usize;
    match (batch.offsets.get(i), batch.offsets.get(i + 1)) {
        (Some(&start), Some(&end)) => batch
            .strings
            .get(start as usize..end as usize)
            .unwrap_or(""),
        _ => "",
    }
}

impl bindings::Guest for ContractRule {
    fn rules() -> Vec<RuleInfo> {
        vec![RuleInfo {
            id: ID.to_owned(),
            title: "Rule built for an older contract".to_owned(),
            description: "Reports every DynamoDB operation (tests only).".to_owned(),
            severity: Severity::Info,
            confidence: Confidence::Low,
            owasp: Vec::new(),
            soc2: Vec::new(),
            cwe: Vec::new(),
            remediation: String::new(),
            kinds: vec![EventKind::DbOperation],
            operations: Vec::new(),
            requires: Vec::new(),
            partitioning: Partitioning::None,
            class: FindingClass::Incident,
        }]
    }

    fn configure(_options: Vec<ConfigEntry>) -> Result<(), String> {
        Ok(())
    }

    fn on_events(batch: Batch) -> Vec<Finding> {
        batch
            .events
            .iter()
            .filter_map(|e| {
                let Detail::DbOperation(db) = &e.detail else {
                    return None;
                };
                Some(Finding {
                    rule_id: ID.to_owned(),
                    severity: None,
                    confidence: None,
                    message: format!("saw `{}`", text(&batch, db.operation)),
                    principal: text(&batch, e.actor.principal).to_owned(),
                    resource: text(&batch, db.table).to_owned(),
                    time_ns: e.time_ns,
                    evidence: vec![Evidence {
                        event_id: text(&batch, e.id).to_owned(),
                        role: "seen".to_owned(),
                        source: String::new(),
                    }],
                    site: None,
                })
            })
            .collect()
    }

    fn finish() -> Vec<Finding> {
        Vec::new()
    }
}
