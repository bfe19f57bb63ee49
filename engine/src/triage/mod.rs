//! Triage, between findings and the report: findings a justified suppression holds, then findings
//! an earlier report (a baseline) holds, leave `findings` and are listed and counted instead, so
//! a gate (`--fail-on`) judges new findings only and nothing disappears silently.

mod baseline;
mod suppressions;

use std::collections::BTreeSet;

use serde::Serialize;

pub use baseline::Baseline;
pub use suppressions::{Suppression, Suppressions};

use crate::Finding;
use crate::report::Report;
use crate::rules::{FindingClass, Severity};

/// A baseline or suppressions file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    /// The baseline is not a report this tool wrote.
    #[error("cannot read baseline `{file}`: {reason}")]
    Baseline {
        /// The file.
        file: String,
        /// What was wrong and what was expected.
        reason: String,
    },
    /// The suppressions file is refused; every problem is listed.
    #[error("suppressions `{file}` refused:{}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Suppressions {
        /// The file.
        file: String,
        /// Each problem, naming its entry and line.
        problems: Vec<String>,
    },
}

/// A finding triage left out of `findings`, enough to find it again and to carry it forward.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triaged {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// Incident or weakness.
    pub class: FindingClass,
    /// Its principal; empty when unknown.
    pub principal: String,
    /// Its resource (a weakness's: its site).
    pub resource: String,
    /// Its time, RFC 3339 UTC.
    pub time: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// For a suppressed finding: the 1-based number of the entry that holds it, in file order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<usize>,
    /// For a suppressed finding: the entry's justification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

impl Triaged {
    fn of(f: &Finding) -> Triaged {
        Triaged {
            rule_id: f.rule_id.clone(),
            title: f.title.clone(),
            severity: f.severity,
            class: f.class,
            principal: f.principal.clone(),
            resource: f.resource.clone(),
            time: f.time.clone(),
            fingerprint: f.fingerprint.clone(),
            suppression: None,
            justification: None,
        }
    }
}

/// The baseline a report was triaged with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineUse {
    /// The file, as given.
    pub file: String,
    /// Distinct fingerprints it holds.
    pub fingerprints: u64,
    /// Of those, how many no finding of this scan has (fixed, or outside these logs).
    pub unmatched: u64,
}

/// The suppressions file a report was triaged with, entry by entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionsUse {
    /// The file, as given.
    pub file: String,
    /// Every entry, in file order, with what it did.
    pub entries: Vec<EntryUse>,
}

/// One suppression entry and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryUse {
    /// 1-based number in file order.
    pub entry: usize,
    /// Line of its `[[suppression]]` header.
    pub line: u64,
    /// Its criteria.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Its criteria.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Its criteria.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Its criteria.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Why.
    pub justification: String,
    /// Its last day, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Findings it holds (those an earlier entry holds are not counted again).
    pub suppressed: u64,
    /// Findings it names whose log time is after its last day: not suppressed by it.
    pub expired: u64,
    /// `expired` (it names a finding later than its last day), `used` (it names findings of
    /// this scan; `suppressed` counts those it holds) or `unused` (it names none).
    pub status: &'static str,
}

impl Report {
    /// Takes out of `findings` those a suppression entry covers (the first in file order that
    /// names the finding and has not expired at its log time), then those `baseline` holds; lists
    /// them in `suppressed` and `baselined`, counts them in the summary, whose other finding
    /// counts then describe `findings` alone, and warns of expired and unused entries. Call it
    /// once per report. Errs only when findings held on disk cannot be read back or written
    /// again.
    pub fn triage(
        &mut self,
        baseline: Option<&Baseline>,
        suppressions: Option<&Suppressions>,
    ) -> Result<(), crate::Error> {
        // The baseline's fingerprints among the findings (suppressed ones included).
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let entries: &[Suppression] = suppressions.map_or(&[], |s| &s.entries);
        let mut held = vec![0u64; entries.len()];
        let mut expired = vec![0u64; entries.len()];
        let mut matched = vec![false; entries.len()];
        let (suppressed, baselined) = (&mut self.suppressed, &mut self.baselined);
        // With nothing to triage against, every finding stays: no pass over them (held on disk,
        // a pass reads and writes them all).
        if baseline.is_some() || !entries.is_empty() {
            let findings = std::mem::take(&mut self.findings);
            self.findings = findings
                .rewrite(|finding| {
                    if baseline.is_some_and(|b| b.contains(&finding.fingerprint)) {
                        seen.insert(finding.fingerprint.clone());
                    }
                    let mut holder = None;
                    for (i, entry) in entries.iter().enumerate() {
                        if !entry.matches(finding) {
                            continue;
                        }
                        if let Some(m) = matched.get_mut(i) {
                            *m = true;
                        }
                        if !entry.covers(finding) {
                            if let Some(n) = expired.get_mut(i) {
                                *n += 1;
                            }
                        } else if holder.is_none() {
                            holder = Some((i, entry));
                        }
                    }
                    if let Some((i, entry)) = holder {
                        if let Some(n) = held.get_mut(i) {
                            *n += 1;
                        }
                        suppressed.push(Triaged {
                            suppression: Some(i + 1),
                            justification: Some(entry.justification.clone()),
                            ..Triaged::of(finding)
                        });
                        false
                    } else if baseline.is_some_and(|b| b.contains(&finding.fingerprint)) {
                        baselined.push(Triaged::of(finding));
                        false
                    } else {
                        true
                    }
                })
                .map_err(crate::Error::Findings)?;
        }
        self.baseline = baseline.map(|b| BaselineUse {
            file: b.file.clone(),
            fingerprints: b.len() as u64,
            unmatched: b.fingerprints().filter(|f| !seen.contains(*f)).count() as u64,
        });
        if let Some(s) = suppressions {
            let ran: BTreeSet<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
            let mut uses = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                let suppressed = held.get(i).copied().unwrap_or(0);
                let late = expired.get(i).copied().unwrap_or(0);
                let named = format!(
                    "suppression {} of `{}` (line {}, {})",
                    i + 1,
                    s.file,
                    entry.line,
                    entry.describe()
                );
                let status = if late > 0 {
                    self.warnings.push(format!(
                        "{named} expired on {}: {late} finding(s) it names are later and not \
                         suppressed by it",
                        entry.expires.map(|d| d.to_string()).unwrap_or_default()
                    ));
                    "expired"
                } else if matched.get(i).copied().unwrap_or(false) {
                    "used"
                } else {
                    let why = match &entry.rule {
                        Some(rule) if !ran.contains(rule.as_str()) => {
                            format!(" (no rule `{rule}` ran)")
                        }
                        _ => String::new(),
                    };
                    self.warnings
                        .push(format!("{named} is unused: it names no finding{why}"));
                    "unused"
                };
                uses.push(EntryUse {
                    entry: i + 1,
                    line: entry.line,
                    rule: entry.rule.clone(),
                    fingerprint: entry.fingerprint.clone(),
                    principal: entry.principal.clone(),
                    resource: entry.resource.clone(),
                    justification: entry.justification.clone(),
                    expires: entry.expires.map(|d| d.to_string()),
                    suppressed,
                    expired: late,
                    status,
                });
            }
            self.suppressions = Some(SuppressionsUse {
                file: s.file.clone(),
                entries: uses,
            });
        }
        self.recount();
        Ok(())
    }

    /// One sentence on what triage left out (file names through `quote`), for the text and
    /// Markdown reports; none when no baseline or suppressions were given.
    pub(crate) fn triage_line(&self, quote: impl Fn(&str) -> String) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(b) = &self.baseline {
            parts.push(format!(
                "{} baselined ({})",
                self.summary.baselined,
                quote(&b.file)
            ));
        }
        if let Some(s) = &self.suppressions {
            let count = |status: &str| s.entries.iter().filter(|e| e.status == status).count();
            let mut part = format!(
                "{} suppressed ({})",
                self.summary.suppressed,
                quote(&s.file)
            );
            let (expired, unused) = (count("expired"), count("unused"));
            if expired + unused > 0 {
                part.push_str(&format!(
                    "; suppressions: {expired} expired, {unused} unused (see the warnings)"
                ));
            }
            parts.push(part);
        }
        (!parts.is_empty()).then(|| format!("not listed: {}", parts.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Summary, Tool};
    use crate::rules::Confidence;

    const T0: i64 = 1_798_761_600_000_000_000; // 2027-01-01T00:00:00Z

    fn finding(rule: &str, fingerprint: char, severity: Severity, time_ns: i64) -> Finding {
        Finding {
            rule_id: rule.into(),
            title: format!("{rule} title"),
            pack: "p".into(),
            severity,
            confidence: Confidence::High,
            message: String::new(),
            principal: "alice".into(),
            resource: "orders/pk=O#1".into(),
            time: crate::time::format_rfc3339(time_ns),
            time_ns,
            owasp: vec!["API1:2023".into()],
            soc2: vec![],
            cwe: vec![],
            evidence: vec![],
            remediation: String::new(),
            fingerprint: fingerprint.to_string().repeat(32),
            class: FindingClass::Incident,
            site: None,
            occurrences: None,
            principals: vec![],
            distinct_principals: None,
            first_seen: None,
            last_seen: None,
            examples: vec![],
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = Report {
            working_directory: None,
            schema_version: crate::report::SCHEMA_VERSION,
            tool: Tool {
                name: "tracewarden",
                version: "0",
                contract: String::new(),
            },
            inputs: vec![],
            rules: vec![],
            findings: findings.into(),
            summary: Summary::default(),
            baseline: None,
            baselined: vec![],
            suppressions: None,
            suppressed: vec![],
            warnings: vec![],
            rule_errors: vec![],
            complete: true,
            incomplete: vec![],
        };
        r.recount();
        r
    }

    fn suppressions(text: &str) -> Suppressions {
        Suppressions::parse("s.toml", text).unwrap()
    }

    #[test]
    fn suppressed_then_baselined_findings_leave_findings_listed_and_counted() {
        let mut r = report(vec![
            finding("TW-A", 'a', Severity::High, T0),
            finding("TW-B", 'b', Severity::High, T0),
            finding("TW-C", 'c', Severity::Medium, T0),
            finding("TW-D", 'd', Severity::Low, T0),
        ]);
        let baseline = Baseline::parse(
            "old.jsonl",
            &format!(
                "{{\"fingerprint\":\"{}\"}}\n{{\"fingerprint\":\"{}\"}}\n{{\"fingerprint\":\"{}\"}}\n",
                "b".repeat(32),
                "c".repeat(32),
                "e".repeat(32)
            ),
        )
        .unwrap();
        let s = suppressions(
            "[[suppression]]\nrule = \"TW-A\"\njustification = \"accepted (SEC-1)\"\n\n\
             [[suppression]]\nfingerprint = \"cccccccccccccccccccccccccccccccc\"\n\
             justification = \"load test\"\n\n\
             [[suppression]]\nrule = \"TW-A\"\nprincipal = \"al*\"\njustification = \"later\"\n",
        );
        r.triage(Some(&baseline), Some(&s)).unwrap();
        let ids = |list: &[Triaged]| -> Vec<(String, Option<usize>)> {
            list.iter()
                .map(|t| (t.rule_id.clone(), t.suppression))
                .collect()
        };
        assert_eq!(
            r.findings
                .load()
                .unwrap()
                .iter()
                .map(|f| f.rule_id.as_str())
                .collect::<Vec<_>>(),
            ["TW-D"]
        );
        assert_eq!(
            ids(&r.suppressed),
            [("TW-A".into(), Some(1)), ("TW-C".into(), Some(2))]
        );
        assert_eq!(
            r.suppressed[0].justification.as_deref(),
            Some("accepted (SEC-1)")
        );
        assert_eq!(ids(&r.baselined), [("TW-B".into(), None)]);
        assert_eq!(
            (
                r.summary.findings,
                r.summary.baselined,
                r.summary.suppressed
            ),
            (1, 1, 2)
        );
        assert_eq!(r.summary.by_severity.get(&Severity::High), Some(&0));
        assert_eq!(r.summary.by_severity.get(&Severity::Low), Some(&1));
        assert_eq!(r.summary.owasp.get("API1:2023"), Some(&1));
        assert_eq!(r.max_severity(), Some(Severity::Low));
        assert_eq!(
            r.baseline,
            Some(BaselineUse {
                file: "old.jsonl".into(),
                fingerprints: 3,
                unmatched: 1
            })
        );
        let entries = &r.suppressions.as_ref().unwrap().entries;
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.suppressed, e.expired, e.status))
                .collect::<Vec<_>>(),
            [(1, 0, "used"), (1, 0, "used"), (0, 0, "used")]
        );
        assert_eq!(r.warnings, Vec::<String>::new());
        assert_eq!(
            r.triage_line(|f| format!("`{f}`")).as_deref(),
            Some("not listed: 1 baselined (`old.jsonl`), 2 suppressed (`s.toml`)")
        );
    }

    #[test]
    fn expiry_is_judged_against_each_findings_log_time_and_expired_or_unused_entries_warn() {
        let day = 86_400 * 1_000_000_000;
        let mut weakness = finding("TW-W", 'f', Severity::Medium, T0 - day);
        weakness.class = FindingClass::Weakness;
        weakness.last_seen = Some(crate::time::format_rfc3339(T0 + day));
        let mut r = report(vec![
            // The last second of the expiry day: still covered.
            finding("TW-A", 'a', Severity::High, T0 - 1),
            finding("TW-A", 'b', Severity::High, T0),
            weakness,
        ]);
        let s = suppressions(
            "[[suppression]]\nrule = \"TW-A\"\njustification = \"until the fix\"\n\
             expires = 2026-12-31\n\n\
             [[suppression]]\nrule = \"TW-W\"\njustification = \"until the fix\"\n\
             expires = 2027-01-01\n\n\
             [[suppression]]\nrule = \"TW-NONE\"\nresource = \"catalog/*\"\n\
             justification = \"public\"\n",
        );
        r.triage(None, Some(&s)).unwrap();
        assert_eq!(
            r.findings
                .load()
                .unwrap()
                .iter()
                .map(|f| f.fingerprint.chars().next().unwrap())
                .collect::<Vec<_>>(),
            // In report order: the weakness's first occurrence is a day earlier.
            ['f', 'b']
        );
        assert_eq!(r.suppressed.len(), 1);
        assert_eq!(r.summary.suppressed, 1);
        assert_eq!(r.baseline, None);
        assert_eq!(
            r.warnings,
            [
                "suppression 1 of `s.toml` (line 1, rule `TW-A`) expired on 2026-12-31: 1 \
                 finding(s) it names are later and not suppressed by it",
                "suppression 2 of `s.toml` (line 6, rule `TW-W`) expired on 2027-01-01: 1 \
                 finding(s) it names are later and not suppressed by it",
                "suppression 3 of `s.toml` (line 11, rule `TW-NONE`, resource `catalog/*`) is \
                 unused: it names no finding (no rule `TW-NONE` ran)",
            ]
        );
        assert_eq!(
            r.suppressions.as_ref().unwrap().entries[0]
                .expires
                .as_deref(),
            Some("2026-12-31")
        );
        assert_eq!(
            r.triage_line(|f| f.to_owned()).as_deref(),
            Some(
                "not listed: 1 suppressed (s.toml); suppressions: 2 expired, 1 unused (see the \
                 warnings)"
            )
        );
    }
}
