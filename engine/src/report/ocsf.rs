//! The OCSF report: one OCSF Detection Finding (class 2004) per finding, one compact JSON record
//! per line (what security lakes and SIEM pipelines ingest), in report order. The attributes
//! follow the OCSF schema release [`OCSF_VERSION`]; where each of our fields goes is documented
//! in `docs/output.md` (OCSF).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::catalog::Catalog;
use crate::finding::{Evidence, Finding, Site};
use crate::rules::{Confidence, FindingClass, Severity};

/// The OCSF schema release the records follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.8.0";

/// Detection Finding: category Findings (2), class 4 in it.
const CATEGORY_UID: u32 = 2;
const CLASS_UID: u32 = 2004;
/// Activity Create: a finding reported for the first time (this tool keeps no state across runs).
const ACTIVITY_CREATE: u32 = 1;
/// Status New: not yet reviewed.
const STATUS_NEW: u32 = 1;
/// Analytic type Rule.
const ANALYTIC_RULE: u32 = 1;
/// File type Regular File.
const FILE_REGULAR: u32 = 1;

/// Writes `report`'s findings as OCSF Detection Finding records, one per line, straight to `out`.
pub(super) fn write(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let pack_versions: BTreeMap<&str, &str> = report
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.version.as_str()))
        .collect();
    for finding in report.findings.iter() {
        let finding = finding?;
        let finding = finding.as_ref();
        let version = pack_versions.get(finding.rule_id.as_str()).copied();
        let record = DetectionFinding::new(finding, report.tool.version, version);
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One Detection Finding record. Field order is declaration order, so the bytes are stable.
#[derive(Serialize)]
struct DetectionFinding<'a> {
    activity_id: u32,
    activity_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u32,
    severity: &'static str,
    confidence_id: u32,
    confidence: &'static str,
    status_id: u32,
    status: &'static str,
    is_alert: bool,
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    message: &'a str,
    metadata: Metadata,
    finding_info: FindingInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<Actor<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidences: Vec<EvidenceArtifact<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vulnerabilities: Vec<Vulnerability<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<Remediation<'a>>,
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct Metadata {
    version: &'static str,
    product: Product,
    /// `host`: the profile that brings `actor` into a finding class.
    profiles: [&'static str; 1],
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    types: Vec<String>,
    analytic: Analytic<'a>,
}

#[derive(Serialize)]
struct Analytic<'a> {
    uid: &'a str,
    name: &'a str,
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    /// The rule's pack.
    category: &'a str,
    /// The pack's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
}

#[derive(Serialize)]
struct Actor<'a> {
    user: User<'a>,
}

#[derive(Serialize)]
struct User<'a> {
    uid: &'a str,
}

#[derive(Serialize)]
struct Resource<'a> {
    uid: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<TableData<'a>>,
}

/// What the table resource of a weakness adds: the operation at the site.
#[derive(Serialize)]
struct TableData<'a> {
    operation: &'a str,
}

#[derive(Serialize)]
struct EvidenceArtifact<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    /// The evidence as the JSON report has it.
    data: &'a Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<File<'a>>,
}

#[derive(Serialize)]
struct File<'a> {
    name: &'a str,
    path: &'a str,
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Vulnerability<'a> {
    cwe: Cwe<'a>,
}

#[derive(Serialize)]
struct Cwe<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_url: Option<String>,
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: &'a str,
}

/// tracewarden's own fields, which OCSF has no attribute for.
#[derive(Serialize)]
struct Unmapped<'a> {
    class: FindingClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a Site>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    principals: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    distinct_principals: Option<u64>,
}

impl<'a> DetectionFinding<'a> {
    fn new(f: &'a Finding, tool_version: &'static str, pack_version: Option<&'a str>) -> Self {
        let (severity_id, severity) = severity(f.severity);
        let (confidence_id, confidence) = confidence(f.confidence);
        let weakness = f.class == FindingClass::Weakness;
        DetectionFinding {
            activity_id: ACTIVITY_CREATE,
            activity_name: "Create",
            category_uid: CATEGORY_UID,
            category_name: "Findings",
            class_uid: CLASS_UID,
            class_name: "Detection Finding",
            type_uid: CLASS_UID * 100 + ACTIVITY_CREATE,
            type_name: "Detection Finding: Create",
            severity_id,
            severity,
            confidence_id,
            confidence,
            status_id: STATUS_NEW,
            status: "New",
            is_alert: true,
            time: ms(f.time_ns),
            start_time: f.first_seen.as_deref().and_then(rfc3339_ms),
            end_time: f.last_seen.as_deref().and_then(rfc3339_ms),
            // OCSF's `count` is a 32-bit integer; the JSON report has the exact number.
            count: f.occurrences.map(|n| n.min(i32::MAX as u64) as u32),
            message: &f.message,
            metadata: Metadata {
                version: OCSF_VERSION,
                product: Product {
                    name: "tracewarden",
                    vendor_name: "tracewarden",
                    version: tool_version,
                },
                profiles: ["host"],
            },
            finding_info: FindingInfo {
                uid: &f.fingerprint,
                title: &f.title,
                types: types(f),
                analytic: Analytic {
                    uid: &f.rule_id,
                    name: &f.title,
                    type_id: ANALYTIC_RULE,
                    kind: "Rule",
                    category: &f.pack,
                    version: pack_version,
                },
            },
            actor: (!f.principal.is_empty()).then(|| Actor {
                user: User { uid: &f.principal },
            }),
            resources: match (&f.site, weakness) {
                (Some(site), true) => site_resources(site),
                _ if f.resource.is_empty() => Vec::new(),
                _ => vec![Resource {
                    uid: f.resource.clone(),
                    kind: None,
                    data: None,
                }],
            },
            evidences: f.evidence.iter().map(evidence).collect(),
            vulnerabilities: f
                .cwe
                .iter()
                .map(|id| Vulnerability {
                    cwe: Cwe {
                        uid: id,
                        caption: Catalog::Cwe.title(id),
                        src_url: id
                            .strip_prefix("CWE-")
                            .map(|n| format!("https://cwe.mitre.org/data/definitions/{n}.html")),
                    },
                })
                .collect(),
            remediation: (!f.remediation.is_empty()).then(|| Remediation {
                desc: &f.remediation,
            }),
            unmapped: Unmapped {
                class: f.class,
                site: f.site.as_ref(),
                principals: &f.principals,
                distinct_principals: f.distinct_principals,
            },
        }
    }
}

/// OCSF `severity_id` and its caption.
fn severity(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF `confidence_id` and its caption.
fn confidence(c: Confidence) -> (u32, &'static str) {
    match c {
        Confidence::Low => (1, "Low"),
        Confidence::Medium => (2, "Medium"),
        Confidence::High => (3, "High"),
    }
}

/// Unix ns to OCSF's timestamp: Unix ms, rounded down (towards the past before 1970 too).
fn ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000)
}

fn rfc3339_ms(s: &str) -> Option<i64> {
    crate::time::parse_rfc3339(s).map(ms)
}

/// `finding_info.types`: the OWASP API 2023 and SOC 2 mappings, each as `<catalog>/<id>`.
fn types(f: &Finding) -> Vec<String> {
    let owasp = f.owasp.iter().map(|id| (Catalog::Owasp, id));
    let soc2 = f.soc2.iter().map(|id| (Catalog::Soc2, id));
    owasp
        .chain(soc2)
        .map(|(catalog, id)| format!("{}/{id}", catalog.name()))
        .collect()
}

/// A weakness's site as resources: the API route (method and template) and the table, each when
/// known; the table carries the operation.
fn site_resources(site: &Site) -> Vec<Resource<'_>> {
    let mut out = Vec::new();
    if !site.route.is_empty() {
        let uid = if site.method.is_empty() {
            site.route.clone()
        } else {
            format!("{} {}", site.method, site.route)
        };
        out.push(Resource {
            uid,
            kind: Some("API route"),
            data: None,
        });
    }
    if !site.table.is_empty() {
        out.push(Resource {
            uid: site.table.clone(),
            kind: Some("Database table"),
            data: (!site.operation.is_empty()).then_some(TableData {
                operation: &site.operation,
            }),
        });
    }
    out
}

fn evidence(e: &Evidence) -> EvidenceArtifact<'_> {
    let file = e.location.as_ref().filter(|l| l.file != "-").map(|l| File {
        name: l.file.rsplit(['/', '\\']).next().unwrap_or(&l.file),
        path: &l.file,
        type_id: FILE_REGULAR,
        kind: "Regular File",
    });
    EvidenceArtifact {
        uid: &e.event_id,
        name: &e.role,
        data: e,
        file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_milliseconds_rounded_towards_the_past() {
        assert_eq!(ms(1_773_482_402_123_999_999), 1_773_482_402_123);
        assert_eq!(ms(-1), -1);
        assert_eq!(
            rfc3339_ms("2026-03-14T10:00:02.5Z"),
            Some(1_773_482_402_500)
        );
        assert_eq!(rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn a_site_is_a_route_and_a_table() {
        let site = Site {
            method: "PUT".into(),
            route: "/docs/{id}".into(),
            table: "docs".into(),
            operation: "UpdateItem".into(),
        };
        let json = serde_json::to_string(&site_resources(&site)).unwrap_or_default();
        assert_eq!(
            json,
            r#"[{"uid":"PUT /docs/{id}","type":"API route"},{"uid":"docs","type":"Database table","data":{"operation":"UpdateItem"}}]"#
        );
        assert!(site_resources(&Site::default()).is_empty());
    }

    #[test]
    fn evidence_names_its_file_when_it_has_one() {
        let mut e = Evidence {
            event_id: "e-1".into(),
            role: String::new(),
            source: "logs/a.har:3".into(),
            location: Some(crate::finding::Location {
                file: "logs/a.har".into(),
                record: 1,
                line: 3,
                column: 7,
                offset: 40,
                length: 200,
            }),
            time: None,
            time_ns: None,
        };
        let json = |e: &Evidence| serde_json::to_string(&evidence(e)).unwrap_or_default();
        assert_eq!(
            json(&e),
            r#"{"uid":"e-1","data":{"event_id":"e-1","source":"logs/a.har:3","location":{"file":"logs/a.har","record":1,"line":3,"column":7,"offset":40,"length":200}},"file":{"name":"a.har","path":"logs/a.har","type_id":1,"type":"Regular File"}}"#
        );
        // Standard input is no file; without a location there is nothing to name.
        if let Some(l) = e.location.as_mut() {
            l.file = "-".into();
        }
        assert!(!json(&e).contains("\"file\":{"));
        e.location = None;
        assert_eq!(
            json(&e),
            r#"{"uid":"e-1","data":{"event_id":"e-1","source":"logs/a.har:3"}}"#
        );
    }
}
