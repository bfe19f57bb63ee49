//! Each rule that ran as a SARIF `reportingDescriptor`: its description, help (the rule's
//! description and fix, and its mappings with the catalogs' names), default level, GitHub's
//! `security-severity` and `precision`, and tags.

use std::fmt::Write;

use super::model::{Configuration, Message, Rule, RuleProperties};
use crate::catalog::Catalog;
use crate::report::RuleRun;
use crate::rules::{Confidence, Severity};

/// Tags GitHub code scanning takes per rule.
pub const MAX_TAGS: usize = 20;

/// The descriptor of `rule`.
pub(super) fn descriptor(rule: &RuleRun) -> Rule {
    let full = if rule.description.trim().is_empty() {
        rule.title.clone()
    } else {
        rule.description.clone()
    };
    Rule {
        id: rule.id.clone(),
        short_description: Message::text(rule.title.clone()),
        full_description: Message::text(full),
        help: help(rule),
        default_configuration: Configuration {
            level: super::level(rule.severity),
        },
        properties: RuleProperties {
            tags: tags(rule),
            security_severity: security_severity(rule.severity),
            precision: precision(rule.confidence),
            severity: rule.severity,
            confidence: rule.confidence,
            class: rule.class,
            pack: rule.pack.clone(),
            pack_version: rule.version.clone(),
            kind: rule.kind,
            owasp: rule.owasp.clone(),
            soc2: rule.soc2.clone(),
            cwe: rule.cwe.clone(),
            status: rule.status,
            coverage: rule.coverage.status,
        },
    }
}

/// GitHub's `security-severity` of a severity: critical 9.5, high 8.0, medium 5.5, low 3.0
/// (inside GitHub's bands: over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, up to 3.9 low). An
/// info rule has none: GitHub then lists its results as notes instead of calling them low.
pub(super) fn security_severity(severity: Severity) -> Option<&'static str> {
    match severity {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

/// GitHub's `precision` of a confidence.
fn precision(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// `security`, the rule's class, then its CWE ids (`external/cwe/cwe-639`, as CodeQL writes them
/// and GitHub recognizes), OWASP API 2023 ids (`external/owasp-api/API1:2023`) and SOC 2 ids
/// (`external/soc2/CC6.1`); at most [`MAX_TAGS`] (the rule's `owasp`, `soc2` and `cwe` properties
/// list them all).
pub(super) fn tags(rule: &RuleRun) -> Vec<String> {
    let cwe = rule.cwe.iter().map(|id| {
        let number = id.strip_prefix("CWE-").unwrap_or(id);
        format!("external/cwe/cwe-{number:0>3}")
    });
    let owasp = rule
        .owasp
        .iter()
        .map(|id| format!("external/owasp-api/{id}"));
    let soc2 = rule.soc2.iter().map(|id| format!("external/soc2/{id}"));
    ["security".to_owned(), rule.class.as_str().to_owned()]
        .into_iter()
        .chain(cwe)
        .chain(owasp)
        .chain(soc2)
        .take(MAX_TAGS)
        .collect()
}

/// The rule's help: its description and fix as the pack wrote them (Markdown in the `markdown`
/// form), its mappings with the catalogs' names, and its pack.
fn help(rule: &RuleRun) -> Message {
    let mappings: Vec<(Catalog, &String)> = [
        (Catalog::Owasp, &rule.owasp),
        (Catalog::Soc2, &rule.soc2),
        (Catalog::Cwe, &rule.cwe),
    ]
    .into_iter()
    .flat_map(|(catalog, ids)| ids.iter().map(move |id| (catalog, id)))
    .collect();
    let name = |catalog: Catalog, id: &str| catalog.title(id).unwrap_or("");

    let mut text = String::new();
    let mut md = String::new();
    for part in [rule.description.trim(), rule.title.trim()] {
        if !part.is_empty() {
            let _ = write!(text, "{part}\n\n");
            let _ = write!(md, "{part}\n\n");
            break;
        }
    }
    if !rule.remediation.trim().is_empty() {
        let _ = write!(text, "Fix: {}\n\n", rule.remediation.trim());
        let _ = write!(md, "## Fix\n\n{}\n\n", rule.remediation.trim());
    }
    if !mappings.is_empty() {
        let listed: Vec<String> = mappings
            .iter()
            .map(|(c, id)| format!("{} {id} ({})", c.name(), name(*c, id)))
            .collect();
        let _ = write!(text, "Mappings: {}.\n\n", listed.join("; "));
        md.push_str("## Mappings\n\n| Framework | Id | Name |\n|---|---|---|\n");
        for (c, id) in &mappings {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                c.name(),
                escape_markdown(id),
                name(*c, id)
            );
        }
        md.push('\n');
    }
    let pack = format!(
        "Rule {} of pack {} {} ({}, {}).",
        rule.id,
        rule.pack,
        rule.version,
        rule.kind,
        rule.class.as_str()
    );
    text.push_str(&pack);
    md.push_str(&escape_markdown(&pack));
    Message {
        text,
        markdown: Some(md),
    }
}

/// `text` with every ASCII punctuation character that Markdown could read backslash-escaped.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_punctuation() && c != '.' && c != ',' && c != '-' && c != ':' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_punctuation_is_escaped_but_plain_punctuation_kept() {
        assert_eq!(
            escape_markdown("pack [x](http://e) *b* <i> `c` 1.0, a-b: |"),
            "pack \\[x\\]\\(http:\\/\\/e\\) \\*b\\* \\<i\\> \\`c\\` 1.0, a-b: \\|"
        );
    }
}
