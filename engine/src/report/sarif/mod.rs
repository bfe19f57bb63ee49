//! The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers: every rule that ran
//! with its help, mappings and severity; one result per finding (a weakness: per site), located
//! at its evidence records; what the scan did not see as tool notifications; within GitHub's
//! limits, the least severe findings left out first and the run saying so. Message texts are
//! plain text: log values are never read as Markdown.

mod limits;
mod location;
mod model;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use self::model::{
    ArtifactLocation, DescriptorRef, Driver, Invocation, Log, Message, Notification, Omission,
    Rule, RuleRef, Run, RunProperties, SarifResult, Tool,
};
use super::{CoverageStatus, Report};
use crate::finding::Finding;
use crate::rules::Severity;

use limits::{MAX_GZIP_BYTES, MAX_LOCATIONS, MAX_RESULTS};

/// The schema the log names: SARIF 2.1.0's final schema at the address GitHub's documentation
/// uses.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of our fingerprint in `partialFingerprints`.
const FINGERPRINT_KEY: &str = "tracewardenFingerprint/v1";

/// Renders `report` as a pretty-printed SARIF log with a trailing newline.
pub(super) fn render(report: &Report, all: &[Finding]) -> String {
    render_within(report, all, limits::GZIP_BUDGET)
}

/// [`render`] against a gzipped-size budget of `budget` bytes.
fn render_within(report: &Report, all: &[Finding], budget: usize) -> String {
    let doc = Document::new(report, all);
    let mut kept = doc.results.len();
    loop {
        let text = doc.render(kept, budget);
        match limits::gzip_excess(&text, budget) {
            Some(size) if kept > 0 => kept = limits::shrink(kept, size, budget),
            _ => return text,
        }
    }
}

/// Everything the log says, before the limits choose how many results it keeps.
struct Document<'a> {
    report: &'a Report,
    rules: Vec<Rule>,
    /// The first [`MAX_RESULTS`] results, most severe first, then in report order.
    results: Vec<model::SarifResult>,
    /// Findings that have a location, all of them.
    located: usize,
    /// Findings with no evidence record in a file: GitHub refuses a result without a location.
    unlocated: usize,
    /// Notifications about the scan itself (inputs, rules, coverage).
    notifications: Vec<Notification>,
    incomplete: Vec<String>,
}

impl<'a> Document<'a> {
    fn new(report: &'a Report, all: &[Finding]) -> Document<'a> {
        let rules: Vec<Rule> = report.rules.iter().map(rules::descriptor).collect();
        let index: BTreeMap<&str, usize> = report
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut findings: Vec<&Finding> = all.iter().collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
        });
        let mut results = Vec::with_capacity(findings.len().min(MAX_RESULTS));
        let (mut located, mut unlocated) = (0, 0);
        for f in findings {
            // Past the limit a finding is only counted: no need to build what is left out.
            if results.len() < MAX_RESULTS {
                match result(f, index.get(f.rule_id.as_str()).copied()) {
                    Some(r) => {
                        results.push(r);
                        located += 1;
                    }
                    None => unlocated += 1,
                }
            } else if f.evidence.iter().any(location::locatable) {
                located += 1;
            } else {
                unlocated += 1;
            }
        }
        let mut incomplete = report.incomplete.clone();
        incomplete.sort();
        Document {
            report,
            rules,
            results,
            located,
            unlocated,
            notifications: scan_notifications(report, &index),
            incomplete,
        }
    }

    /// The log with the first `kept` results.
    fn render(&self, kept: usize, budget: usize) -> String {
        let results = self.results.get(..kept).unwrap_or(&self.results);
        let truncated = self.truncation(kept, budget);
        let unlocated = (self.unlocated > 0).then(|| Omission {
            results_omitted: self.unlocated,
            locations_omitted: 0,
            reason: "these findings name no record of an input, and GitHub code scanning \
                     refuses a SARIF file with a result that has no file location; the JSON \
                     report has them"
                .to_owned(),
        });
        let extra: Vec<Notification> = [
            ("results-truncated", &truncated),
            ("results-unlocated", &unlocated),
        ]
        .into_iter()
        .filter_map(|(id, omission)| {
            omission.as_ref().map(|o| Notification {
                descriptor: DescriptorRef { id },
                associated_rule: None,
                level: "warning",
                message: Message::text(match o.locations_omitted {
                    0 => format!(
                        "{} finding(s) left out of this SARIF log: {}",
                        o.results_omitted, o.reason
                    ),
                    n => format!(
                        "{} finding(s) and {n} evidence record(s) left out of this SARIF log: {}",
                        o.results_omitted, o.reason
                    ),
                }),
            })
        })
        .collect();
        let notifications: Vec<&Notification> = self.notifications.iter().chain(&extra).collect();
        let absolute = results.iter().any(|r| {
            r.locations.iter().any(|l| {
                l.physical_location
                    .artifact_location
                    .uri
                    .as_deref()
                    .is_some_and(|u| u.starts_with("file:"))
            })
        });
        let relative = results.iter().any(|r| {
            r.locations
                .iter()
                .any(|l| l.physical_location.artifact_location.uri_base_id.is_some())
        });
        let mut base_ids = BTreeMap::new();
        if relative {
            base_ids.insert(
                location::SRCROOT,
                ArtifactLocation {
                    uri: None,
                    uri_base_id: None,
                    description: Some(Message::text(
                        "the directory tracewarden ran in: input paths given relative to it are \
                         relative to it here (in CI, the repository's root)",
                    )),
                },
            );
        }
        let log = Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: [Run {
                tool: Tool {
                    driver: Driver {
                        name: "tracewarden",
                        full_name: "tracewarden offline audit engine for API and database logs",
                        version: self.report.tool.version,
                        semantic_version: self.report.tool.version,
                        rules: &self.rules,
                        properties: model::DriverProperties {
                            contract: &self.report.tool.contract,
                        },
                    },
                },
                invocations: [Invocation {
                    execution_successful: self.report.complete,
                    tool_execution_notifications: notifications,
                    working_directory: absolute.then(|| self.working_directory()).flatten(),
                }],
                original_uri_base_ids: base_ids,
                column_kind: "unicodeCodePoints",
                results,
                properties: RunProperties {
                    complete: self.report.complete,
                    incomplete: &self.incomplete,
                    truncated,
                    unlocated,
                },
            }],
        };
        let mut out = serde_json::to_string_pretty(&log)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the SARIF log: {e}\"}}"));
        out.push('\n');
        out
    }

    /// What the limits left out when `kept` results remain, if anything.
    fn truncation(&self, kept: usize, budget: usize) -> Option<Omission> {
        let results_omitted = self.located.saturating_sub(kept);
        let locations_omitted: usize = self
            .results
            .iter()
            .take(kept)
            .map(|r| r.properties.locations_omitted)
            .sum();
        let mut limits = Vec::new();
        let mut left_out = Vec::new();
        if self.located > MAX_RESULTS {
            limits.push(format!("at most {MAX_RESULTS} results per run"));
        }
        if kept < self.results.len() {
            limits.push(format!(
                "at most {MAX_GZIP_BYTES} bytes of SARIF gzipped (this log keeps under {budget})"
            ));
        }
        if results_omitted > 0 {
            left_out.push("the least severe findings".to_owned());
        }
        if locations_omitted > 0 {
            limits.push(format!("at most {MAX_LOCATIONS} locations per result"));
            left_out.push(format!(
                "the evidence records of a finding past its first {MAX_LOCATIONS}"
            ));
        }
        if left_out.is_empty() {
            return None;
        }
        Some(Omission {
            results_omitted,
            locations_omitted,
            reason: format!(
                "GitHub code scanning takes {}: {} were left out; the JSON report has them all",
                limits.join(", "),
                left_out.join(" and ")
            ),
        })
    }

    /// The working directory as a `file` URI ending in a slash.
    fn working_directory(&self) -> Option<ArtifactLocation> {
        let dir = self.report.working_directory.as_deref()?;
        let mut uri = location::file_uri(Path::new(dir));
        if !uri.ends_with('/') {
            uri.push('/');
        }
        Some(ArtifactLocation {
            uri: Some(uri),
            uri_base_id: None,
            description: None,
        })
    }
}

/// The result of finding `f` (of the rule at `rule_index` in the driver's rules); `None` when no
/// evidence record names a file.
fn result(f: &Finding, rule_index: Option<usize>) -> Option<SarifResult> {
    let mut locations: Vec<model::Location> = f.evidence.iter().filter_map(location::of).collect();
    if locations.is_empty() {
        return None;
    }
    let locations_omitted = locations.len().saturating_sub(MAX_LOCATIONS);
    locations.truncate(MAX_LOCATIONS);
    let message = if f.message.is_empty() {
        f.title.clone()
    } else {
        f.message.clone()
    };
    Some(SarifResult {
        rule_id: f.rule_id.clone(),
        rule_index,
        level: level(f.severity),
        message: Message::text(message),
        locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.clone())]),
        properties: model::ResultProperties {
            severity: f.severity,
            confidence: f.confidence,
            class: f.class,
            pack: f.pack.clone(),
            principal: f.principal.clone(),
            resource: f.resource.clone(),
            time: f.time.clone(),
            occurrences: f.occurrences,
            distinct_principals: f.distinct_principals,
            first_seen: f.first_seen.clone(),
            last_seen: f.last_seen.clone(),
            locations_omitted,
        },
    })
}

/// The SARIF level of a severity: `error` for critical and high, `warning` for medium, `note`
/// for low and info.
pub(super) fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// What the scan did not see, in an order that does not depend on the command line's: inputs not
/// (fully) read by path, stopped rule files by pack and file (one notification per rule), rules
/// whose coverage was not full by id.
fn scan_notifications(report: &Report, index: &BTreeMap<&str, usize>) -> Vec<Notification> {
    let rule_ref = |id: &str| {
        index.get(id).map(|i| RuleRef {
            id: id.to_owned(),
            index: *i,
        })
    };
    let mut out = Vec::new();
    let mut inputs: Vec<_> = report.inputs.iter().collect();
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    for why in inputs.iter().filter_map(|i| i.incomplete()) {
        out.push(Notification {
            descriptor: DescriptorRef {
                id: "input-not-read",
            },
            associated_rule: None,
            level: "error",
            message: Message::text(why),
        });
    }
    let mut failures: Vec<_> = report.rule_errors.iter().collect();
    failures.sort_by(|a, b| (&a.pack, &a.file).cmp(&(&b.pack, &b.file)));
    for f in failures {
        for rule in &f.rules {
            out.push(Notification {
                descriptor: DescriptorRef { id: "rule-stopped" },
                associated_rule: rule_ref(rule),
                level: "error",
                message: Message::text(format!(
                    "rule file `{}` of pack `{}` was stopped ({}): the findings of {rule} are \
                     incomplete",
                    f.file, f.pack, f.reason
                )),
            });
        }
    }
    for r in &report.rules {
        let (id, level, what) = match r.coverage.status {
            CoverageStatus::Full => continue,
            CoverageStatus::Partial => ("coverage-partial", "note", "saw part of what it needs"),
            CoverageStatus::None => (
                "coverage-none",
                "warning",
                "saw nothing it reads, so its silence means nothing",
            ),
        };
        out.push(Notification {
            descriptor: DescriptorRef { id },
            associated_rule: rule_ref(&r.id),
            level,
            message: Message::text(match r.coverage.notes.as_slice() {
                [] => format!("{} {what}", r.id),
                notes => format!("{} {what}: {}", r.id, notes.join("; ")),
            }),
        });
    }
    out
}
