//! The terminal summary: incidents by severity, then weaknesses by site with their occurrences,
//! then inputs, rules and errors.

use std::fmt::Write;

use super::{CoverageStatus, Report};
use crate::rules::FindingClass;

/// Renders `report` for a person at a terminal.
pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    for (class, heading) in [
        (FindingClass::Incident, "incidents"),
        (FindingClass::Weakness, "weaknesses (one finding per site)"),
    ] {
        let findings = report.by_severity(class);
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "== {} {heading} ==\n", findings.len());
        for f in findings {
            finding(&mut out, f);
        }
    }
    summary(&mut out, report);
    out
}

fn finding(out: &mut String, f: &crate::Finding) {
    {
        let _ = writeln!(
            out,
            "[{}] {} {}",
            f.severity.as_str().to_uppercase(),
            f.rule_id,
            f.title
        );
        let _ = writeln!(out, "  {}", f.message);
        if let (Some(n), Some(first), Some(last)) = (f.occurrences, &f.first_seen, &f.last_seen) {
            let _ = writeln!(
                out,
                "  occurrences: {n} by {} principal(s), {first} to {last}",
                f.distinct_principals.unwrap_or(0)
            );
        }
        if !f.principal.is_empty() {
            let _ = writeln!(out, "  principal: {}", f.principal);
        }
        if !f.resource.is_empty() {
            let _ = writeln!(out, "  resource:  {}", f.resource);
        }
        let _ = writeln!(out, "  time:      {}", f.time);
        for e in &f.evidence {
            let role = if e.role.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.role)
            };
            let _ = writeln!(out, "  evidence:  {}{role} {}", e.source, e.event_id);
        }
        let mut maps: Vec<&str> = Vec::new();
        maps.extend(f.owasp.iter().map(String::as_str));
        maps.extend(f.soc2.iter().map(String::as_str));
        maps.extend(f.cwe.iter().map(String::as_str));
        let _ = writeln!(out, "  maps to:   {}", maps.join(", "));
        let _ = writeln!(out, "  fix:       {}", f.remediation);
        out.push('\n');
    }
}

fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let by_sev: Vec<String> = s
        .by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    let _ = writeln!(
        out,
        "{} finding{}{}: {} incident{}, {} weakness site{} ({} occurrence{})",
        s.findings,
        if s.findings == 1 { "" } else { "s" },
        if by_sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_sev.join(", "))
        },
        s.incidents,
        if s.incidents == 1 { "" } else { "s" },
        s.weaknesses,
        if s.weaknesses == 1 { "" } else { "s" },
        s.occurrences,
        if s.occurrences == 1 { "" } else { "s" },
    );
    if let Some(line) = report.triage_line(|f| format!("`{f}`")) {
        let _ = writeln!(out, "{line}");
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(out, "\ninputs:");
    for i in &report.inputs {
        let format = i.format.map(|f| f.as_str()).unwrap_or("unreadable");
        let _ = writeln!(
            out,
            "  {} [{format}]: {} records, {} events, {} merged, {} skipped",
            i.path, i.records, i.events, i.merged, i.skipped
        );
        for (reason, n) in &i.skipped_reasons {
            let _ = writeln!(out, "    skipped {n}: {reason}");
        }
        for e in &i.errors {
            let _ = writeln!(out, "    error: {e}");
        }
        if let Some(e) = &i.error {
            let _ = writeln!(out, "    error: {e}");
        }
    }
    let _ = writeln!(out, "\nrules:");
    for r in &report.rules {
        let note = match (r.status, r.coverage.status) {
            (s, _) if s != "ok" => " FAILED",
            (_, CoverageStatus::None) => " NO COVERAGE",
            (_, CoverageStatus::Partial) => " partial coverage",
            (_, CoverageStatus::Full) => "",
        };
        let _ = writeln!(
            out,
            "  {} [{} {}] {} events{note}",
            r.id, r.pack, r.kind, r.events
        );
        for n in &r.coverage.notes {
            let _ = writeln!(out, "    {n}");
        }
    }
    for e in &report.rule_errors {
        let _ = writeln!(
            out,
            "\nrule error: `{}` in pack `{}` ({}) stopped after {} events: {}",
            e.file,
            e.pack,
            e.rules.join(", "),
            e.events_before_failure,
            e.reason
        );
    }
}
