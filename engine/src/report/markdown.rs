//! The Markdown report: short enough for a pull-request comment or a CI job summary. Incidents by
//! severity, weaknesses by site with their occurrences, compliance counts, what the scan could not
//! see, and the inputs. Every value from a log is attacker-controlled text: it is written as a
//! code span, so it renders literally (no links, images, HTML or `@` mentions).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{CoverageStatus, Report};
use crate::finding::Finding;
use crate::rules::FindingClass;

/// Findings listed per class; the rest are counted (the JSON report has them all).
pub const MAX_LISTED: usize = 50;

/// Renders `report` as GitHub-flavoured Markdown.
pub(super) fn render(report: &Report, all: &[Finding]) -> String {
    let mut out = String::from("# tracewarden report\n\n");
    let s = &report.summary;
    let _ = writeln!(
        out,
        "**{} incident(s), {} weakness site(s) ({} occurrence(s))** from {} event(s); scan {}.\n",
        s.incidents,
        s.weaknesses,
        s.occurrences,
        s.events,
        if report.complete {
            "complete"
        } else {
            "**incomplete**"
        }
    );
    if let Some(line) = report.triage_line(code) {
        let _ = writeln!(out, "{line}\n");
    }
    for w in &report.warnings {
        let _ = writeln!(out, "> Warning: {}\n", code(w));
    }
    for why in &report.incomplete {
        let _ = writeln!(out, "> Not seen: {}", code(why));
    }
    if !report.incomplete.is_empty() {
        out.push('\n');
    }
    findings(&mut out, all, FindingClass::Incident);
    findings(&mut out, all, FindingClass::Weakness);
    compliance(&mut out, report);
    coverage(&mut out, report);
    inputs(&mut out, report);
    out
}

fn findings(out: &mut String, all: &[Finding], class: FindingClass) {
    let list = super::by_severity(all, class);
    if list.is_empty() {
        return;
    }
    match class {
        FindingClass::Incident => {
            let _ = writeln!(out, "## Incidents ({})\n", list.len());
            out.push_str("| Severity | Rule | Principal | Resource | When | What |\n");
            out.push_str("|---|---|---|---|---|---|\n");
            for f in list.iter().take(MAX_LISTED) {
                let _ = writeln!(
                    out,
                    "| {} | {} {} | {} | {} | {} | {} |",
                    f.severity.as_str(),
                    code(&f.rule_id),
                    cell(&f.title),
                    code(&f.principal),
                    code(&f.resource),
                    code(&f.time),
                    code(&f.message)
                );
            }
        }
        FindingClass::Weakness => {
            let _ = writeln!(out, "## Weaknesses ({} sites)\n", list.len());
            out.push_str(
                "| Severity | Rule | Site | Occurrences | Principals | First seen | Last seen |\n",
            );
            out.push_str("|---|---|---|---|---|---|---|\n");
            for f in list.iter().take(MAX_LISTED) {
                let site = f.site.as_ref().map_or_else(String::new, |s| {
                    [
                        s.method.as_str(),
                        s.route.as_str(),
                        s.table.as_str(),
                        s.operation.as_str(),
                    ]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
                });
                let _ = writeln!(
                    out,
                    "| {} | {} {} | {} | {} | {} | {} | {} |",
                    f.severity.as_str(),
                    code(&f.rule_id),
                    cell(&f.title),
                    code(&site),
                    f.occurrences.unwrap_or(1),
                    f.distinct_principals.unwrap_or(0),
                    code(f.first_seen.as_deref().unwrap_or(&f.time)),
                    code(f.last_seen.as_deref().unwrap_or(&f.time))
                );
            }
        }
    }
    if list.len() > MAX_LISTED {
        let _ = writeln!(
            out,
            "\n…and {} more (every finding is in the JSON report).",
            list.len() - MAX_LISTED
        );
    }
    out.push('\n');
}

fn compliance(out: &mut String, report: &Report) {
    let s = &report.summary;
    if s.findings == 0 {
        return;
    }
    out.push_str("## Compliance\n\n| Framework | Id | Findings |\n|---|---|---|\n");
    let tables: [(&str, &BTreeMap<String, u64>); 3] = [
        ("OWASP API 2023", &s.owasp),
        ("SOC 2", &s.soc2),
        ("CWE", &s.cwe),
    ];
    for (framework, counts) in tables {
        for (id, n) in counts {
            let _ = writeln!(out, "| {framework} | {} | {n} |", code(id));
        }
    }
    out.push('\n');
}

fn coverage(out: &mut String, report: &Report) {
    let gaps: Vec<_> = report
        .rules
        .iter()
        .filter(|r| r.coverage.status != CoverageStatus::Full)
        .collect();
    if gaps.is_empty() {
        return;
    }
    out.push_str("## What this scan could not see\n\n");
    for r in gaps {
        let status = match r.coverage.status {
            CoverageStatus::None => "none",
            _ => "partial",
        };
        let _ = writeln!(
            out,
            "- {} ({status}): {}",
            code(&r.id),
            cell(&r.coverage.notes.join("; "))
        );
    }
    out.push('\n');
}

fn inputs(out: &mut String, report: &Report) {
    out.push_str("## Inputs\n\n| Input | Format | Records | Events | Merged | Skipped |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for i in &report.inputs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            code(&i.path),
            i.format.map_or("-", |f| f.as_str()),
            i.records,
            i.events,
            i.merged,
            i.skipped
        );
    }
}

/// `text` as a code span in a table cell: rendered literally; backticks, pipes and line breaks
/// cannot end it.
fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let clean: String = text
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    format!("`{}`", clean.replace('|', "\\|"))
}

/// Plain text of our own (titles, coverage notes) in a table cell or list item.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_escape_its_code_span() {
        assert_eq!(
            code("<img src=x onerror=alert(1)> | [x](http://e) @admin `tick`\nline"),
            "`<img src=x onerror=alert(1)> \\| [x](http://e) @admin 'tick' line`"
        );
        assert_eq!(code(""), "");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
