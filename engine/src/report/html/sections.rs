//! The report's tables after the findings: compliance (findings per OWASP API 2023 category, SOC 2
//! criterion and CWE), coverage (the rules that ran, and what they could not see) and the inputs'
//! accounting.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use super::Report;
use super::escape::esc;
use crate::catalog::Catalog;
use crate::finding::Finding;
use crate::report::{CoverageStatus, RuleRun};
use crate::rules::FindingClass;

/// One table per catalog: each id with findings, in the catalog's order (ids the catalog does
/// not know after, in text order), with its name, its findings by class and the rules that
/// found them.
pub(super) fn compliance(out: &mut String, all: &[Finding]) -> fmt::Result {
    out.push_str("<section id=\"compliance\">\n<h2>Compliance</h2>\n");
    if all.is_empty() {
        out.push_str(
            "<p class=\"none\">No findings, so nothing to map. No finding is not evidence of \
             compliance: see <a href=\"#coverage\">coverage</a> for what the scan could see.</p>\n\
             </section>\n",
        );
        return Ok(());
    }
    out.push_str(
        "<p class=\"intro\">Each finding counts once under every id its rule maps to. Ids without \
         findings are not listed: no finding is not evidence of compliance (see <a \
         href=\"#coverage\">coverage</a>).</p>\n",
    );
    for catalog in [Catalog::Owasp, Catalog::Soc2, Catalog::Cwe] {
        let (id, caption) = match catalog {
            Catalog::Owasp => ("owasp", "OWASP API Security Top 10 (2023)"),
            Catalog::Soc2 => ("soc2", "SOC 2 Trust Services Criteria"),
            Catalog::Cwe => ("cwe", "CWE"),
        };
        // id -> (incidents, weakness sites, rules)
        let mut rows: BTreeMap<&str, (u64, u64, BTreeSet<&str>)> = BTreeMap::new();
        for f in all {
            let ids = match catalog {
                Catalog::Owasp => &f.owasp,
                Catalog::Soc2 => &f.soc2,
                Catalog::Cwe => &f.cwe,
            };
            for mapped in ids {
                let row = rows.entry(mapped.as_str()).or_default();
                match f.class {
                    FindingClass::Incident => row.0 += 1,
                    FindingClass::Weakness => row.1 += 1,
                }
                row.2.insert(&f.rule_id);
            }
        }
        if rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<table class=\"compliance\" id=\"compliance-{id}\"><caption>{caption}</caption>\
             <thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Name</th><th \
             scope=\"col\">Findings</th><th scope=\"col\">Incidents</th><th \
             scope=\"col\">Weakness sites</th><th scope=\"col\">Rules</th></tr></thead><tbody>"
        )?;
        let known = catalog.entries().iter().map(|(i, _)| *i);
        let unknown: Vec<&str> = rows
            .keys()
            .copied()
            .filter(|i| catalog.title(i).is_none())
            .collect();
        for mapped in known.chain(unknown) {
            let Some((incidents, weaknesses, rules)) = rows.get(mapped) else {
                continue;
            };
            let rules: Vec<String> = rules
                .iter()
                .map(|r| format!("<code>{}</code>", esc(r)))
                .collect();
            writeln!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{incidents}</td><td>{weaknesses}</td><td>{}</td></tr>",
                esc(mapped),
                esc(catalog.title(mapped).unwrap_or("")),
                incidents + weaknesses,
                rules.join(" ")
            )?;
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// The rules whose coverage was not full.
pub(super) fn coverage_gaps(report: &Report) -> Vec<&RuleRun> {
    report
        .rules
        .iter()
        .filter(|r| r.coverage.status != CoverageStatus::Full)
        .collect()
}

/// What the scan could not see (rules without full coverage, with the notes that say why, and
/// rule files stopped), then every rule that ran.
pub(super) fn coverage(out: &mut String, report: &Report) -> fmt::Result {
    out.push_str("<section id=\"coverage\">\n<h2>Coverage</h2>\n");
    let gaps = coverage_gaps(report);
    if gaps.is_empty() && report.rule_errors.is_empty() {
        out.push_str(
            "<p class=\"intro\">Every rule saw the kinds of events it looks for, from sources \
             precise enough.</p>\n",
        );
    } else {
        out.push_str("<h3>What this scan could not see</h3>\n<ul class=\"gaps\">\n");
        for r in &gaps {
            writeln!(
                out,
                "<li><code>{}</code> <span class=\"cov-{s}\">{s}</span>: {}</li>",
                esc(&r.id),
                esc(&r.coverage.notes.join("; ")),
                s = status(r.coverage.status)
            )?;
        }
        for e in &report.rule_errors {
            writeln!(
                out,
                "<li><code>{}</code> of pack <code>{}</code> <span class=\"cov-none\">stopped\
                 </span> after {} events ({}): {}</li>",
                esc(&e.file),
                esc(&e.pack),
                e.events_before_failure,
                esc(&e.rules.join(", ")),
                esc(&e.reason)
            )?;
        }
        out.push_str("</ul>\n");
    }
    out.push_str(
        "<table class=\"rules\"><caption>Rules run</caption><thead><tr><th \
         scope=\"col\">Rule</th><th scope=\"col\">Title</th><th scope=\"col\">Pack</th><th \
         scope=\"col\">Kind</th><th scope=\"col\">Class</th><th scope=\"col\">Events</th><th \
         scope=\"col\">Status</th><th scope=\"col\">Coverage</th></tr></thead><tbody>\n",
    );
    for r in &report.rules {
        writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"cov-{s}\">{s}</td></tr>",
            esc(&r.id),
            esc(&r.title),
            esc(&r.pack),
            esc(&r.version),
            esc(r.kind),
            r.class.as_str(),
            r.events,
            esc(r.status),
            s = status(r.coverage.status)
        )?;
    }
    out.push_str("</tbody></table>\n</section>\n");
    Ok(())
}

fn status(s: CoverageStatus) -> &'static str {
    match s {
        CoverageStatus::Full => "full",
        CoverageStatus::Partial => "partial",
        CoverageStatus::None => "none",
    }
}

/// Per input: format and the accounting of its records (`records = events + merged + skipped`),
/// why records were skipped, and why reading stopped, if it did.
pub(super) fn inputs(out: &mut String, report: &Report) -> fmt::Result {
    out.push_str(
        "<section id=\"inputs\">\n<h2>Inputs</h2>\n<table class=\"inputs\"><thead><tr><th \
         scope=\"col\">Input</th><th scope=\"col\">Format</th><th scope=\"col\">Records</th><th \
         scope=\"col\">Events</th><th scope=\"col\">Merged</th><th scope=\"col\">Skipped</th><th \
         scope=\"col\">Notes</th></tr></thead><tbody>\n",
    );
    for i in &report.inputs {
        let mut notes: Vec<String> = i
            .skipped_reasons
            .iter()
            .map(|(why, n)| format!("{n} skipped: {}", esc(why)))
            .collect();
        if !i.errors.is_empty() {
            let first = i.errors.first().map(|e| e.to_string()).unwrap_or_default();
            notes.push(format!(
                "{} malformed record(s) listed in the JSON report, the first {}",
                i.errors.len(),
                esc(&first)
            ));
        }
        if let Some(error) = &i.error {
            notes.push(format!("<strong>stopped</strong>: {}", esc(error)));
        }
        writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.path),
            i.format.map_or("unknown", |f| f.as_str()),
            i.records,
            i.events,
            i.merged,
            i.skipped,
            notes.join("; ")
        )?;
    }
    let s = &report.summary;
    let records: u64 = report.inputs.iter().map(|i| i.records).sum();
    writeln!(
        out,
        "</tbody><tfoot><tr><th scope=\"row\">All inputs</th><td></td><td \
         id=\"total-records\">{records}</td><td id=\"total-events\">{}</td><td \
         id=\"total-merged\">{}</td><td id=\"total-skipped\">{}</td><td></td></tr></tfoot>\
         </table>\n</section>",
        s.events, s.merged, s.skipped
    )
}
