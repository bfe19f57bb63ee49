//! The incidents and weaknesses sections: findings grouped by severity, most severe first, at
//! most [`MAX_LISTED`] per class (the rest counted per severity). An incident says who, on what,
//! when, over which window, and shows its evidence on a timeline; a weakness says where, how
//! often and by whom, and shows its first occurrences the same way.

use std::fmt::{self, Write};

use super::escape::esc;
use super::timeline::Timeline;
use super::{MAX_LISTED, count};
use crate::finding::{Example, Finding};
use crate::rules::{Confidence, FindingClass, Severity};

/// Principals named per weakness site (all are counted).
const MAX_PRINCIPALS_SHOWN: usize = 10;

/// Writes the section of `class`.
pub(super) fn section(out: &mut String, all: &[Finding], class: FindingClass) -> fmt::Result {
    let list = super::super::by_severity(all, class);
    match class {
        FindingClass::Incident => writeln!(
            out,
            "<section id=\"incidents\">\n<h2>Incidents ({})</h2>\n<p class=\"intro\">Each \
             incident is something that happened, with the events it rests on: who, on what, \
             when, and the window between its events.</p>",
            list.len()
        )?,
        FindingClass::Weakness => writeln!(
            out,
            "<section id=\"weaknesses\">\n<h2>Weaknesses ({})</h2>\n<p \
             class=\"intro\">Each weakness is a place in the code that allows a fault, reported \
             once per site with its occurrences counted and the first ones shown.</p>",
            count(list.len() as u64, "site", "sites")
        )?,
    }
    if list.is_empty() {
        out.push_str("<p class=\"none\">None found.</p>\n</section>\n");
        return Ok(());
    }
    let (one, many) = match class {
        FindingClass::Incident => ("incident", "incidents"),
        FindingClass::Weakness => ("weakness site", "weakness sites"),
    };
    let mut listed = 0;
    for severity in Severity::ALL.into_iter().rev() {
        let group: Vec<&Finding> = list
            .iter()
            .filter(|f| f.severity == severity)
            .copied()
            .collect();
        if group.is_empty() {
            continue;
        }
        let shown = group.len().min(MAX_LISTED - listed);
        writeln!(
            out,
            "<h3 class=\"sev-{s}\"><span class=\"sev\">{s}</span> {}</h3>",
            count(group.len() as u64, one, many),
            s = severity.as_str()
        )?;
        for f in group.iter().take(shown) {
            listed += 1;
            match class {
                FindingClass::Incident => incident(out, f, listed)?,
                FindingClass::Weakness => weakness(out, f, listed)?,
            }
        }
        if shown < group.len() {
            writeln!(
                out,
                "<p class=\"more\">…and {} more {} (every finding is in the JSON report).</p>",
                group.len() - shown,
                if group.len() - shown == 1 {
                    format!("{} {one}", severity.as_str())
                } else {
                    format!("{} {many}", severity.as_str())
                }
            )?;
        }
    }
    out.push_str("</section>\n");
    Ok(())
}

fn incident(out: &mut String, f: &Finding, n: usize) -> fmt::Result {
    let timeline = Timeline::of(&f.evidence);
    writeln!(
        out,
        "<article class=\"finding incident sev-{}\" id=\"incident-{n}\">",
        f.severity.as_str()
    )?;
    heading(out, f)?;
    out.push_str("<dl class=\"facts\">\n");
    fact(out, "Who", &value(&f.principal))?;
    fact(out, "On what", &value(&f.resource))?;
    fact(out, "When", &time(&f.time))?;
    if let Some(window) = timeline.window() {
        fact(out, "Window", &esc(&window.label()).to_string())?;
    }
    common_facts(out, f)?;
    writeln!(out, "</dl>\n<p class=\"message\">{}</p>", esc(&f.message))?;
    timeline.write(out)?;
    fix(out, f)?;
    out.push_str("</article>\n");
    Ok(())
}

fn weakness(out: &mut String, f: &Finding, n: usize) -> fmt::Result {
    writeln!(
        out,
        "<article class=\"finding weakness sev-{}\" id=\"weakness-{n}\">",
        f.severity.as_str()
    )?;
    heading(out, f)?;
    out.push_str("<dl class=\"facts\">\n");
    let site = f.site.clone().unwrap_or_default().label();
    fact(out, "Site", &value(&site))?;
    let occurrences = f.occurrences.unwrap_or(1);
    let principals = f.distinct_principals.unwrap_or(0);
    fact(
        out,
        "Occurrences",
        &format!(
            "{occurrences} by {}",
            count(principals, "principal", "principals")
        ),
    )?;
    if !f.principals.is_empty() {
        let mut named: Vec<String> = f
            .principals
            .iter()
            .take(MAX_PRINCIPALS_SHOWN)
            .map(|p| value(p))
            .collect();
        let unnamed = principals.saturating_sub(named.len() as u64);
        if unnamed > 0 {
            named.push(format!("and {unnamed} more"));
        }
        fact(out, "Principals", &named.join(", "))?;
    }
    fact(
        out,
        "First seen",
        &time(f.first_seen.as_deref().unwrap_or(&f.time)),
    )?;
    fact(
        out,
        "Last seen",
        &time(f.last_seen.as_deref().unwrap_or(&f.time)),
    )?;
    common_facts(out, f)?;
    writeln!(out, "</dl>\n<p class=\"message\">{}</p>", esc(&f.message))?;
    if f.examples.is_empty() {
        Timeline::of(&f.evidence).write(out)?;
    } else {
        writeln!(
            out,
            "<h5>First occurrences ({} of {occurrences})</h5>",
            f.examples.len()
        )?;
        for example in &f.examples {
            occurrence(out, example)?;
        }
    }
    fix(out, f)?;
    out.push_str("</article>\n");
    Ok(())
}

/// One occurrence of a weakness: when, who, on what, its window, and its evidence.
fn occurrence(out: &mut String, e: &Example) -> fmt::Result {
    let timeline = Timeline::of(&e.evidence);
    write!(
        out,
        "<div class=\"occurrence\">\n<p class=\"when\">{} · {} · {}",
        time(&e.time),
        value(&e.principal),
        value(&e.resource)
    )?;
    if let Some(window) = timeline.window() {
        write!(out, " · window {}", esc(&window.label()))?;
    }
    writeln!(out, "</p>\n<p class=\"message\">{}</p>", esc(&e.message))?;
    timeline.write(out)?;
    out.push_str("</div>\n");
    Ok(())
}

fn heading(out: &mut String, f: &Finding) -> fmt::Result {
    writeln!(
        out,
        "<h4><span class=\"sev\">{}</span> <code>{}</code> {}</h4>",
        f.severity.as_str(),
        esc(&f.rule_id),
        esc(&f.title)
    )
}

/// Confidence and mappings: the facts every finding has.
fn common_facts(out: &mut String, f: &Finding) -> fmt::Result {
    let confidence = match f.confidence {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
    };
    fact(out, "Confidence", confidence)?;
    let maps: Vec<String> = f
        .owasp
        .iter()
        .chain(&f.soc2)
        .chain(&f.cwe)
        .map(|id| esc(id).to_string())
        .collect();
    if !maps.is_empty() {
        fact(out, "Maps to", &maps.join(", "))?;
    }
    Ok(())
}

fn fix(out: &mut String, f: &Finding) -> fmt::Result {
    if f.remediation.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<p class=\"fix\"><strong>Fix:</strong> {}</p>",
        esc(&f.remediation)
    )
}

/// One `<dt>`/`<dd>` pair; `html` is already escaped markup.
fn fact(out: &mut String, name: &str, html: &str) -> fmt::Result {
    writeln!(out, "<div><dt>{name}</dt><dd>{html}</dd></div>")
}

/// A value from a log, as code (rendered literally), or `unknown` when empty.
fn value(text: &str) -> String {
    if text.is_empty() {
        "<span class=\"unknown\">unknown</span>".to_owned()
    } else {
        format!("<code>{}</code>", esc(text))
    }
}

/// An RFC 3339 time as a `<time>` element.
fn time(text: &str) -> String {
    format!("<time datetime=\"{t}\">{t}</time>", t = esc(text))
}
