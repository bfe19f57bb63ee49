//! The SARIF 2.1.0 objects the SARIF report writes: the subset of the schema it uses, in the
//! schema's camelCase, absent properties left out. Our own entries in property bags keep the JSON
//! report's snake_case names.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::CoverageStatus;
use crate::rules::{Confidence, FindingClass, Severity};

/// The log: one run.
#[derive(Debug, Serialize)]
pub(super) struct Log<'a> {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub version: &'static str,
    pub runs: [Run<'a>; 1],
}

/// The scan.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Run<'a> {
    pub tool: Tool<'a>,
    pub invocations: [Invocation<'a>; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    pub column_kind: &'static str,
    pub results: &'a [SarifResult],
    pub properties: RunProperties<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct Tool<'a> {
    pub driver: Driver<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Driver<'a> {
    pub name: &'static str,
    pub full_name: &'static str,
    pub version: &'static str,
    pub semantic_version: &'static str,
    pub rules: &'a [Rule],
    pub properties: DriverProperties<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct DriverProperties<'a> {
    /// The rule contract the engine implements.
    pub contract: &'a str,
}

/// A rule (`reportingDescriptor`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rule {
    pub id: String,
    pub short_description: Message,
    pub full_description: Message,
    pub help: Message,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Debug, Serialize)]
pub(super) struct Configuration {
    pub level: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct RuleProperties {
    /// GitHub shows and filters by them; at most 20.
    pub tags: Vec<String>,
    /// GitHub's 0.0–10.0 score; absent for `info` rules, which GitHub then lists as notes.
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    pub security_severity: Option<&'static str>,
    /// GitHub's name for confidence.
    pub precision: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    pub class: FindingClass,
    pub pack: String,
    pub pack_version: String,
    pub kind: &'static str,
    pub owasp: Vec<String>,
    pub soc2: Vec<String>,
    pub cwe: Vec<String>,
    pub status: &'static str,
    pub coverage: CoverageStatus,
}

/// A message, or a `multiformatMessageString` when it has Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Message {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

impl Message {
    /// Plain text only.
    pub fn text(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            markdown: None,
        }
    }
}

/// A finding.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SarifResult {
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    pub level: &'static str,
    pub message: Message,
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<&'static str, String>,
    pub properties: ResultProperties,
}

#[derive(Debug, Serialize)]
pub(super) struct ResultProperties {
    pub severity: Severity,
    pub confidence: Confidence,
    pub class: FindingClass,
    pub pack: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub principal: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_principals: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Evidence records past [`super::limits::MAX_LOCATIONS`], left out.
    #[serde(skip_serializing_if = "is_zero")]
    pub locations_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One evidence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Location {
    pub physical_location: PhysicalLocation,
    pub message: Message,
    pub properties: LocationProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ArtifactLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Message>,
}

/// Lines and columns are 1-based, columns in Unicode code points (`run.columnKind`); the byte
/// offset and length are of the decompressed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Region {
    pub start_line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct LocationProperties {
    pub event_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// The record's 1-based index in its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Invocation<'a> {
    pub execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<&'a Notification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<ArtifactLocation>,
}

/// Something about the scan rather than the logs: an input not read, a rule stopped, a rule
/// that saw little, results left out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Notification {
    pub descriptor: DescriptorRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associated_rule: Option<RuleRef>,
    pub level: &'static str,
    pub message: Message,
}

#[derive(Debug, Serialize)]
pub(super) struct DescriptorRef {
    pub id: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct RuleRef {
    pub id: String,
    pub index: usize,
}

#[derive(Debug, Serialize)]
pub(super) struct RunProperties<'a> {
    /// The JSON report's `complete`.
    pub complete: bool,
    /// The JSON report's `incomplete`, sorted.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub incomplete: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Omission>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unlocated: Option<Omission>,
}

/// Findings (or evidence records) the SARIF report leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Omission {
    pub results_omitted: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub locations_omitted: usize,
    pub reason: String,
}
