//! The whole document from hand-built reports: status first, counts, grouping and limits,
//! compliance order, and that no value can add markup.

use std::collections::BTreeMap;

use super::*;

/// The page of `report`, its findings read back as the report's writer does.
fn render(report: &Report) -> String {
    super::render(report, &report.findings.load().unwrap())
}
use crate::finding::{Evidence, Example, Finding, Site};
use crate::ingest::{InputFormat, InputReport};
use crate::report::{Coverage, CoverageStatus, RuleRun, Summary, Tool};
use crate::rules::{Confidence, PackConfig, Severity};

const T0: i64 = 1_773_482_400_000_000_000; // 2026-03-14T10:00:00Z

fn evidence(role: &str, offset_ms: i64) -> Evidence {
    Evidence {
        event_id: format!("ev-{role}-{offset_ms}"),
        role: role.to_owned(),
        source: format!("trail.json:{}", offset_ms + 1),
        location: None,
        time: Some(crate::time::format_rfc3339(T0 + offset_ms * 1_000_000)),
        time_ns: Some(T0 + offset_ms * 1_000_000),
    }
}

fn finding(
    rule: &str,
    class: FindingClass,
    severity: Severity,
    evidence: Vec<Evidence>,
) -> Finding {
    let time_ns = evidence
        .iter()
        .filter_map(|e| e.time_ns)
        .max()
        .unwrap_or(T0);
    Finding {
        rule_id: rule.to_owned(),
        title: format!("title of {rule}"),
        pack: "pack".to_owned(),
        severity,
        confidence: Confidence::High,
        message: format!("message of {rule}"),
        principal: "alice".to_owned(),
        resource: "orders/order_id=o-1".to_owned(),
        time: crate::time::format_rfc3339(time_ns),
        time_ns,
        owasp: vec!["API1:2023".to_owned()],
        soc2: vec!["CC6.1".to_owned()],
        cwe: vec!["CWE-367".to_owned()],
        evidence,
        remediation: "fix it".to_owned(),
        fingerprint: "0".repeat(32),
        class,
        site: None,
        occurrences: None,
        principals: Vec::new(),
        distinct_principals: None,
        first_seen: None,
        last_seen: None,
        examples: Vec::new(),
    }
}

fn weakness(rule: &str, examples: usize) -> Finding {
    let mut f = finding(
        rule,
        FindingClass::Weakness,
        Severity::Medium,
        vec![evidence("check", 0), evidence("use", 6_000)],
    );
    f.site = Some(Site {
        method: "PUT".to_owned(),
        route: "/orders/{id}".to_owned(),
        table: "orders".to_owned(),
        operation: "UpdateItem".to_owned(),
    });
    f.occurrences = Some(examples as u64 + 4);
    f.principals = vec!["alice".to_owned(), "bob".to_owned()];
    f.distinct_principals = Some(2);
    f.first_seen = Some(f.time.clone());
    f.last_seen = Some(f.time.clone());
    f.examples = (0..examples)
        .map(|k| Example {
            time: f.time.clone(),
            time_ns: f.time_ns,
            message: format!("occurrence {k}"),
            principal: "bob".to_owned(),
            resource: "orders/order_id=o-2".to_owned(),
            evidence: vec![evidence("check", 0), evidence("use", 6_000)],
        })
        .collect();
    f
}

fn rule(id: &str, status: CoverageStatus, notes: &[&str]) -> RuleRun {
    RuleRun {
        id: id.to_owned(),
        title: format!("title of {id}"),
        pack: "pack".to_owned(),
        version: "1.0.0".to_owned(),
        kind: "wasm",
        class: FindingClass::Incident,
        file: "rule.wasm".to_owned(),
        digest: "sha256:00".to_owned(),
        status: "ok",
        events: 14,
        coverage: Coverage {
            status,
            notes: notes.iter().map(|n| (*n).to_owned()).collect(),
        },
        options: PackConfig::default(),
        partitions: None,
        description: format!("description of {id}"),
        severity: Severity::High,
        confidence: crate::rules::Confidence::High,
        owasp: Vec::new(),
        soc2: Vec::new(),
        cwe: Vec::new(),
        remediation: String::new(),
    }
}

fn report(findings: Vec<Finding>) -> Report {
    let mut summary = Summary {
        events: 14,
        ..Summary::default()
    };
    for f in &findings {
        summary.findings += 1;
        match f.class {
            FindingClass::Incident => summary.incidents += 1,
            FindingClass::Weakness => {
                summary.weaknesses += 1;
                summary.occurrences += f.occurrences.unwrap_or(1);
            }
        }
        *summary.by_severity.entry(f.severity).or_default() += 1;
        for id in &f.owasp {
            *summary.owasp.entry(id.clone()).or_default() += 1;
        }
    }
    Report {
        baseline: None,
        baselined: Vec::new(),
        suppressions: None,
        suppressed: Vec::new(),
        warnings: Vec::new(),
        working_directory: None,
        schema_version: crate::report::SCHEMA_VERSION,
        tool: Tool {
            name: "tracewarden",
            version: "0.1.0",
            contract: "tracewarden:rule@1.1.0".to_owned(),
        },
        inputs: vec![InputReport {
            path: "logs/trail.json".to_owned(),
            format: Some(InputFormat::CloudTrail),
            records: 16,
            events: 14,
            merged: 0,
            skipped: 2,
            skipped_reasons: BTreeMap::from([("not a data event".to_owned(), 2)]),
            errors: Vec::new(),
            error: None,
            named: true,
            spans: Default::default(),
        }],
        rules: vec![
            rule("TW-A", CoverageStatus::Full, &[]),
            rule("TW-B", CoverageStatus::Partial, &["one-second times"]),
        ],
        findings: findings.into(),
        summary,
        rule_errors: Vec::new(),
        complete: true,
        incomplete: Vec::new(),
    }
}

/// The tag names of every element `html` opens, in order.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter(|t| !t.starts_with('/') && !t.starts_with('!'))
        .map(|t| {
            t.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect()
        })
        .collect()
}

#[test]
fn the_document_is_self_contained_and_says_first_whether_the_scan_was_complete() {
    let html = render(&report(vec![finding(
        "TW-R",
        FindingClass::Incident,
        Severity::High,
        vec![evidence("check", 0), evidence("use", 405)],
    )]));
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    );
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src \
         'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">"
    ));
    for external in ["<script", "<link", "src=", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
    let status = html.find("id=\"scan-status\"").unwrap();
    assert!(status < html.find("id=\"summary\"").unwrap());
    assert!(html.contains(
        "<p class=\"status complete\" id=\"scan-status\">Scan complete: every input was read to \
         its end and every rule ran to the end.</p>\n<p class=\"status partial\">1 of 2 rules \
         could not fully see"
    ));

    let mut incomplete = report(Vec::new());
    incomplete.complete = false;
    incomplete.incomplete =
        vec!["`logs/b.json.gz` was read only in part (295 records): corrupt gzip".to_owned()];
    let html = render(&incomplete);
    assert!(html.contains(
        "<div class=\"status incomplete\" id=\"scan-status\"><p><strong>Scan incomplete</strong>: \
         findings may be missing. Not seen:</p>\n<ul>\n<li>`logs/b.json.gz` was read only in part \
         (295 records): corrupt gzip</li>\n</ul></div>"
    ));
    assert!(!html.contains("Scan complete"));
}

#[test]
fn counts_severities_and_sections_follow_the_report() {
    let html = render(&report(vec![
        finding(
            "TW-R",
            FindingClass::Incident,
            Severity::High,
            vec![evidence("check", 0), evidence("use", 405)],
        ),
        finding(
            "TW-K",
            FindingClass::Incident,
            Severity::Critical,
            vec![evidence("revocation", 0), evidence("use", 60_000)],
        ),
        weakness("TW-W", 3),
    ]));
    for (id, n) in [
        ("incidents", 2),
        ("weaknesses", 1),
        ("occurrences", 7),
        ("events", 14),
        ("inputs", 1),
        ("rules", 2),
    ] {
        assert!(
            html.contains(&format!("<dd id=\"count-{id}\">{n}</dd>")),
            "{id}"
        );
    }
    assert!(html.contains(
        "<tr class=\"sev-critical\"><th scope=\"row\"><span class=\"sev\">critical</span></th><td>1</td><td>0</td><td>1</td></tr>"
    ));
    assert!(html.contains(
        "<tr class=\"sev-medium\"><th scope=\"row\"><span class=\"sev\">medium</span></th><td>0</td><td>1</td><td>1</td></tr>"
    ));
    let order: Vec<usize> = [
        "id=\"incident-1\"",
        "TW-K",
        "id=\"incident-2\"",
        "TW-R",
        "id=\"weakness-1\"",
    ]
    .iter()
    .map(|s| html.find(s).unwrap())
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "critical first: {order:?}"
    );
    // A timeline per incident, one per occurrence shown of the weakness.
    assert_eq!(html.matches("<svg class=\"timeline\"").count(), 2 + 3);
    assert!(html.contains("<div><dt>Window</dt><dd>revocation → use: 1 min 0 s</dd></div>"));
    assert!(html.contains(
        "<div><dt>Site</dt><dd><code>PUT /orders/{id} → orders UpdateItem</code></dd></div>"
    ));
    assert!(html.contains("<div><dt>Occurrences</dt><dd>7 by 2 principals</dd></div>"));
    assert!(html.contains("<h5>First occurrences (3 of 7)</h5>"));
    assert!(html.contains(
        "<li><code>TW-B</code> <span class=\"cov-partial\">partial</span>: one-second times</li>"
    ));
    assert!(html.contains(
        "<tr><th scope=\"row\"><code>logs/trail.json</code></th><td>cloudtrail</td><td>16</td><td>14</td><td>0</td><td>2</td><td>2 skipped: not a data event</td></tr>"
    ));
}

#[test]
fn at_most_max_listed_findings_per_class_are_shown_and_the_rest_counted() {
    let findings: Vec<Finding> = (0..120)
        .map(|k| {
            let severity = if k < 60 {
                Severity::High
            } else {
                Severity::Medium
            };
            finding(
                &format!("TW-{k:03}"),
                FindingClass::Incident,
                severity,
                vec![evidence("use", k)],
            )
        })
        .collect();
    let html = render(&report(findings));
    assert_eq!(
        html.matches("<article class=\"finding incident").count(),
        MAX_LISTED
    );
    assert!(
        html.contains("<h3 class=\"sev-high\"><span class=\"sev\">high</span> 60 incidents</h3>")
    );
    assert!(html.contains(
        "<p class=\"more\">…and 10 more high incidents (every finding is in the JSON report).</p>"
    ));
    assert!(html.contains("<p class=\"more\">…and 60 more medium incidents"));
    assert!(html.contains("<dd id=\"count-incidents\">120</dd>"));
}

#[test]
fn compliance_rows_follow_the_catalog_order_with_names_and_rules() {
    let mut a = finding("TW-A", FindingClass::Incident, Severity::High, Vec::new());
    a.owasp = vec![
        "API10:2023".to_owned(),
        "API1:2023".to_owned(),
        "X-CUSTOM".to_owned(),
    ];
    let mut b = weakness("TW-B", 1);
    b.owasp = vec!["API1:2023".to_owned()];
    let html = render(&report(vec![a, b]));
    let rows: Vec<&str> = html
        .lines()
        .skip_while(|l| !l.contains("id=\"compliance-owasp\""))
        .skip(1)
        .take_while(|l| l.starts_with("<tr>"))
        .collect();
    assert_eq!(
        rows,
        [
            "<tr><th scope=\"row\">API1:2023</th><td>Broken Object Level Authorization</td><td>2</td><td>1</td><td>1</td><td><code>TW-A</code> <code>TW-B</code></td></tr>",
            "<tr><th scope=\"row\">API10:2023</th><td>Unsafe Consumption of APIs</td><td>1</td><td>1</td><td>0</td><td><code>TW-A</code></td></tr>",
            "<tr><th scope=\"row\">X-CUSTOM</th><td></td><td>1</td><td>1</td><td>0</td><td><code>TW-A</code></td></tr>",
        ]
    );
    assert!(html.contains("<caption>SOC 2 Trust Services Criteria</caption>"));
    let none = render(&report(Vec::new()));
    assert!(none.contains("<p class=\"none\">No findings, so nothing to map."));
    assert!(!none.contains("<table class=\"compliance\""));
}

#[test]
fn no_value_from_a_log_or_a_pack_adds_markup() {
    let script = "<script>alert(1)</script>";
    let img = "<img src=x onerror=alert(1)>";
    let quote = "\"' onmouseover=alert(1) x='";
    let hostile = format!("{script}{img}{quote}");
    let mut e = evidence(&hostile, 0);
    e.source = format!("{img}.har:9");
    e.event_id = hostile.clone();
    let mut f = finding(
        &hostile,
        FindingClass::Incident,
        Severity::High,
        vec![e.clone(), evidence("use", 5)],
    );
    f.title = hostile.clone();
    f.message = hostile.clone();
    f.principal = hostile.clone();
    f.resource = hostile.clone();
    f.remediation = hostile.clone();
    f.owasp = vec![hostile.clone()];
    let mut w = weakness(&hostile, 1);
    w.site = Some(Site {
        method: hostile.clone(),
        route: hostile.clone(),
        table: hostile.clone(),
        operation: hostile.clone(),
    });
    w.principals = vec![hostile.clone()];
    w.examples[0].principal = hostile.clone();
    w.examples[0].evidence = vec![e];
    let mut r = report(vec![f, w]);
    r.inputs[0].path = format!("{img}.har");
    r.inputs[0].skipped_reasons = BTreeMap::from([(hostile.clone(), 2)]);
    r.rules[1].coverage.notes = vec![hostile.clone()];
    r.complete = false;
    r.incomplete = vec![hostile.clone()];
    let html = render(&r);
    let allowed = [
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "p",
        "code",
        "div",
        "ul",
        "li",
        "strong",
        "nav",
        "a",
        "main",
        "section",
        "dl",
        "dt",
        "dd",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "span",
        "article",
        "time",
        "figure",
        "svg",
        "line",
        "rect",
        "circle",
        "text",
        "figcaption",
    ];
    for tag in tags(&html) {
        assert!(
            allowed.contains(&tag.as_str()),
            "unexpected element `{tag}`"
        );
    }
    assert!(!html.contains("onerror=alert(1)>"));
    assert!(!html.contains("' onmouseover"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39; onmouseover=alert(1) x=&#39;"));
}
