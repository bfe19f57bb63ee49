//! The HTML report: one self-contained file to open in a browser or attach to an audit. The
//! scan's status at the top (an incomplete scan says so before anything else), the counts,
//! incidents by severity with a timeline each, weaknesses by site with their occurrences,
//! compliance tables (OWASP API 2023, SOC 2, CWE), what the scan could not see, and the inputs.
//!
//! Self-contained: the CSS is inline, the timelines are inline SVG, there is no script, and a
//! Content-Security-Policy forbids loading anything. Every value from a log or a rule pack is
//! escaped ([`escape`]); the same report gives the same bytes (no clock, no random ids).

mod escape;
mod findings;
mod sections;
mod timeline;

use std::fmt::{self, Write};

use super::Report;
use crate::finding::Finding;
use crate::rules::FindingClass;
use escape::esc;

/// Findings listed per class, most severe first; the rest are counted (the JSON report has them
/// all). Keeps a report of 10,000 findings a page a browser opens at once.
pub const MAX_LISTED: usize = 50;

/// The page's Content-Security-Policy: nothing may be fetched, framed, submitted or run; only the
/// inline stylesheet applies (and `data:` images, which the report does not use today). Defence
/// in depth behind the escaping.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// The stylesheet, inline in every report.
const STYLE: &str = include_str!("report.css");

/// Renders `report` as one HTML document.
pub(super) fn render(report: &Report, all: &[Finding]) -> String {
    let mut out = String::with_capacity(64 << 10);
    // Writing into a String cannot fail.
    let _ = document(&mut out, report, all);
    out
}

fn document(out: &mut String, report: &Report, all: &[Finding]) -> fmt::Result {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta \
         http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n<meta \
         name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta \
         name=\"generator\" content=\"{} {}\">\n<title>tracewarden report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>",
        esc(report.tool.name),
        esc(report.tool.version)
    )?;
    header(out, report)?;
    out.push_str(
        "<nav aria-label=\"Sections\"><a href=\"#summary\">Summary</a> <a \
         href=\"#incidents\">Incidents</a> <a href=\"#weaknesses\">Weaknesses</a> <a \
         href=\"#compliance\">Compliance</a> <a href=\"#coverage\">Coverage</a> <a \
         href=\"#inputs\">Inputs</a></nav>\n<main>\n",
    );
    summary(out, report, all)?;
    findings::section(out, all, FindingClass::Incident)?;
    findings::section(out, all, FindingClass::Weakness)?;
    sections::compliance(out, all)?;
    sections::coverage(out, report)?;
    sections::inputs(out, report)?;
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(())
}

/// The tool and whether the scan saw everything: an incomplete scan, and rules that could not
/// see what they look for, are said here, before any count.
fn header(out: &mut String, report: &Report) -> fmt::Result {
    writeln!(
        out,
        "<header>\n<h1>tracewarden report</h1>\n<p class=\"tool\">{} {} · rule contract \
         <code>{}</code> · JSON schema {}</p>",
        esc(report.tool.name),
        esc(report.tool.version),
        esc(&report.tool.contract),
        esc(report.schema_version)
    )?;
    if report.complete {
        out.push_str(
            "<p class=\"status complete\" id=\"scan-status\">Scan complete: every input was read \
             to its end and every rule ran to the end.</p>\n",
        );
    } else {
        out.push_str(
            "<div class=\"status incomplete\" id=\"scan-status\"><p><strong>Scan \
             incomplete</strong>: findings may be missing. Not seen:</p>\n<ul>\n",
        );
        for why in &report.incomplete {
            writeln!(out, "<li>{}</li>", esc(why))?;
        }
        out.push_str("</ul></div>\n");
    }
    let gaps = sections::coverage_gaps(report).len();
    if gaps > 0 {
        writeln!(
            out,
            "<p class=\"status partial\">{gaps} of {} rules could not fully see what they look \
             for: a clean result from them means less (see <a href=\"#coverage\">coverage</a>).</p>",
            report.rules.len()
        )?;
    }
    out.push_str("</header>\n");
    Ok(())
}

/// The counts, and findings by severity and class.
fn summary(out: &mut String, report: &Report, all: &[Finding]) -> fmt::Result {
    let totals = &report.summary;
    out.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<dl class=\"counts\">\n");
    for (id, name, n) in [
        ("incidents", "Incidents", totals.incidents),
        ("weaknesses", "Weakness sites", totals.weaknesses),
        ("occurrences", "Weakness occurrences", totals.occurrences),
        ("events", "Events", totals.events),
        ("inputs", "Inputs", report.inputs.len() as u64),
        ("rules", "Rules", report.rules.len() as u64),
    ] {
        writeln!(
            out,
            "<div><dt>{name}</dt><dd id=\"count-{id}\">{n}</dd></div>"
        )?;
    }
    out.push_str(
        "</dl>\n<table class=\"severity\"><caption>Findings by severity</caption><thead><tr><th \
         scope=\"col\">Severity</th><th scope=\"col\">Incidents</th><th scope=\"col\">Weakness \
         sites</th><th scope=\"col\">All</th></tr></thead><tbody>\n",
    );
    for severity in crate::rules::Severity::ALL.into_iter().rev() {
        let count = |class: FindingClass| {
            all.iter()
                .filter(|f| f.severity == severity && f.class == class)
                .count()
        };
        writeln!(
            out,
            "<tr class=\"sev-{s}\"><th scope=\"row\"><span class=\"sev\">{s}</span></th><td>{}</td><td>{}</td><td>{}</td></tr>",
            count(FindingClass::Incident),
            count(FindingClass::Weakness),
            totals.by_severity.get(&severity).copied().unwrap_or(0),
            s = severity.as_str()
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

/// `1 incident`, `2 incidents`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests;
