//! The terminal report: what matters first. Incidents by severity (who, what, when, the window),
//! weaknesses by site with their occurrences, compliance counts, what the scan could not see and
//! the records it skipped; then the inputs and rules in one line each (`verbose`: one line per
//! file and rule). At most `top` findings per group are drawn, the rest counted: the file formats
//! hold every finding.
//!
//! Every value from a log is attacker-controlled: control characters (an ANSI escape that would
//! repaint the terminal, a carriage return that would hide a line) are shown escaped.

use std::collections::BTreeMap;

use anstyle::{AnsiColor, Effects, Style};

use super::{CoverageStatus, Report};
use crate::catalog::Catalog;
use crate::finding::{Finding, Findings};
use crate::rules::{FindingClass, Severity};

/// How the text report is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// ANSI colors (a terminal that wants them; never when piped or `NO_COLOR` is set).
    pub color: bool,
    /// Findings drawn per group (incidents of one severity; weaknesses); 0 draws them all.
    pub top: usize,
    /// One line per input and per rule, not one line for each.
    pub verbose: bool,
    /// Findings below this severity are not drawn (counted in the header); the other formats
    /// and the exit code are not affected.
    pub min_severity: Severity,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            color: false,
            top: 10,
            verbose: false,
            min_severity: Severity::Info,
        }
    }
}

/// Renders `report` for a person at a terminal. Only the findings it draws are held: its
/// findings are read once, in report order, keeping the first `top` of each group.
pub(super) fn render(report: &Report, style: &TextStyle) -> std::io::Result<String> {
    let mut t = Text {
        drawn: Drawn::select(&report.findings, style)?,
        out: String::new(),
        style: *style,
        fixes: std::collections::BTreeSet::new(),
    };
    t.header(report);
    t.incidents();
    t.weaknesses(report);
    t.compliance(report);
    t.gaps(report);
    t.skipped(report);
    t.inputs(report);
    t.rules(report);
    Ok(t.out)
}

/// The findings the text report draws.
#[derive(Default)]
struct Drawn {
    /// Incidents at or above `--min-severity`, by severity: the first `top` in report order (all
    /// with `top` 0), and how many there are.
    incidents: BTreeMap<Severity, (Vec<Finding>, usize)>,
    /// Weakness sites at or above `--min-severity`, in report order (one per site: few).
    weaknesses: Vec<Finding>,
    /// Findings below `--min-severity`.
    hidden: usize,
}

impl Drawn {
    fn select(findings: &Findings, style: &TextStyle) -> std::io::Result<Drawn> {
        let mut drawn = Drawn::default();
        for f in findings.iter() {
            let f = f?;
            if f.severity < style.min_severity {
                drawn.hidden += 1;
                continue;
            }
            match f.class {
                FindingClass::Incident => {
                    let (kept, n) = drawn.incidents.entry(f.severity).or_default();
                    *n += 1;
                    if style.top == 0 || kept.len() < style.top {
                        kept.push(f.into_owned());
                    }
                }
                FindingClass::Weakness => drawn.weaknesses.push(f.into_owned()),
            }
        }
        // Most severe first, then in report order.
        drawn
            .weaknesses
            .sort_by_key(|f| std::cmp::Reverse(f.severity));
        Ok(drawn)
    }
}

struct Text {
    /// What it draws of the report's findings.
    drawn: Drawn,
    out: String,
    style: TextStyle,
    /// Rules whose fix was drawn: drawn once per rule, under its first finding.
    fixes: std::collections::BTreeSet<String>,
}

const HEADING: Style = Style::new().effects(Effects::BOLD);
const DIM: Style = Style::new().effects(Effects::DIMMED);
const LABEL: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
const WARN: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)))
    .effects(Effects::BOLD);

fn severity_style(s: Severity) -> Style {
    let color = |c: AnsiColor| Style::new().fg_color(Some(anstyle::Color::Ansi(c)));
    match s {
        Severity::Critical => color(AnsiColor::Red).effects(Effects::BOLD.insert(Effects::INVERT)),
        Severity::High => color(AnsiColor::Red).effects(Effects::BOLD),
        Severity::Medium => color(AnsiColor::Yellow),
        Severity::Low => color(AnsiColor::Blue),
        Severity::Info => DIM,
    }
}

/// `text` with control characters escaped (`\u{1b}`), so a log value cannot drive the terminal.
pub(super) fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Text {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.style.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn heading(&mut self, title: &str, rest: &str) {
        let title = self.paint(HEADING, title);
        self.line(&format!("\n{title}  {rest}"));
    }

    fn field(&mut self, label: &str, value: &str) {
        let label = self.paint(LABEL, &format!("{label:<9}"));
        self.line(&format!("    {label} {value}"));
    }

    fn header(&mut self, report: &Report) {
        let s = &report.summary;
        let state = if report.complete {
            "scan complete".to_owned()
        } else {
            self.paint(WARN, "scan INCOMPLETE")
        };
        let line = format!(
            "{} {} · {} · {} · {}",
            report.tool.name,
            report.tool.version,
            plural(report.inputs.len() as u64, "input", "inputs"),
            plural(s.events, "event", "events"),
            state
        );
        self.line(&line);
        let by_sev: Vec<String> = s
            .by_severity
            .iter()
            .rev()
            .filter(|(_, n)| **n > 0)
            .map(|(sev, n)| self.paint(severity_style(*sev), &format!("{n} {sev}")))
            .collect();
        let findings = format!(
            "{}, {} ({})",
            plural(s.incidents, "incident", "incidents"),
            plural(s.weaknesses, "weakness site", "weakness sites"),
            plural(s.occurrences, "occurrence", "occurrences"),
        );
        if by_sev.is_empty() {
            self.line(&format!("{findings}: nothing found"));
        } else {
            self.line(&format!("{findings}: {}", by_sev.join(", ")));
        }
        let hidden = self.drawn.hidden;
        if hidden > 0 {
            let note = self.paint(
                DIM,
                &format!(
                    "  {hidden} finding(s) below --min-severity {} not drawn (every file format \
                     holds them)",
                    self.style.min_severity
                ),
            );
            self.line(&note);
        }
        for why in &report.incomplete {
            let mark = self.paint(WARN, "not seen:");
            self.line(&format!("  {mark} {}", clean(why)));
        }
        if let Some(line) = report.triage_line(|f| format!("`{}`", clean(f))) {
            self.line(&line);
        }
        for w in &report.warnings {
            let mark = self.paint(WARN, "warning:");
            self.line(&format!("  {mark} {}", clean(w)));
        }
    }

    fn incidents(&mut self) {
        let incidents = std::mem::take(&mut self.drawn.incidents);
        let total: usize = incidents.values().map(|(_, n)| n).sum();
        if total == 0 {
            return;
        }
        self.heading("INCIDENTS", &total.to_string());
        for (severity, (group, n)) in incidents.iter().rev() {
            let shown = self.shown(*n);
            for f in group.iter().take(shown) {
                self.incident(f);
            }
            self.more(n - shown, &format!("{severity} incidents"));
        }
    }

    /// How many of `n` findings of a group are drawn.
    fn shown(&self, n: usize) -> usize {
        match self.style.top {
            0 => n,
            top => n.min(top),
        }
    }

    fn more(&mut self, hidden: usize, what: &str) {
        if hidden > 0 {
            let note = self.paint(
                DIM,
                &format!(
                    "  … {hidden} more {what}: every finding is in the json, sarif and html \
                     reports (--top 0 draws them all)"
                ),
            );
            self.line(&note);
        }
    }

    fn title_line(&mut self, f: &Finding) {
        let sev = self.paint(
            severity_style(f.severity),
            &format!("{:<8}", f.severity.as_str().to_uppercase()),
        );
        let id = self.paint(HEADING, &f.rule_id);
        self.line(&format!("  {sev} {id}  {}", clean(&f.title)));
    }

    fn incident(&mut self, f: &Finding) {
        self.title_line(f);
        if !f.principal.is_empty() {
            self.field("who", &clean(&f.principal));
        }
        if !f.resource.is_empty() {
            self.field("what", &clean(&f.resource));
        }
        self.field("when", &window(f));
        self.field("why", &clean(&f.message));
        for (i, e) in f.evidence.iter().enumerate() {
            self.evidence(if i == 0 { "evidence" } else { "" }, e);
        }
        self.mappings(f);
        self.fix(f);
        self.out.push('\n');
    }

    /// `file:line:column (role) event-id`.
    fn evidence(&mut self, label: &str, e: &crate::finding::Evidence) {
        let role = if e.role.is_empty() {
            String::new()
        } else {
            format!(" ({})", clean(&e.role))
        };
        self.field(
            label,
            &format!("{}{role} {}", clean(&e.place()), clean(&e.event_id)),
        );
    }

    fn fix(&mut self, f: &Finding) {
        if self.fixes.insert(f.rule_id.clone()) {
            self.field("fix", &clean(&f.remediation));
        }
    }

    fn mappings(&mut self, f: &Finding) {
        let maps: Vec<&str> = f
            .owasp
            .iter()
            .chain(&f.soc2)
            .chain(&f.cwe)
            .map(String::as_str)
            .collect();
        if !maps.is_empty() {
            self.field("maps to", &maps.join(" · "));
        }
    }

    fn weaknesses(&mut self, report: &Report) {
        let all = std::mem::take(&mut self.drawn.weaknesses);
        if all.is_empty() {
            return;
        }
        let s = &report.summary;
        self.heading(
            "WEAKNESSES",
            &format!(
                "{}, {}",
                plural(s.weaknesses, "site", "sites"),
                plural(s.occurrences, "occurrence", "occurrences")
            ),
        );
        let shown = self.shown(all.len());
        for f in all.iter().take(shown) {
            self.title_line(f);
            let site = f
                .site
                .as_ref()
                .map_or_else(|| clean(&f.resource), |site| clean(&site.label()));
            self.field("site", &site);
            if let (Some(n), Some(first), Some(last)) = (f.occurrences, &f.first_seen, &f.last_seen)
            {
                self.field(
                    "seen",
                    &format!(
                        "{} by {}, {first} → {last}",
                        plural(n, "time", "times"),
                        plural(
                            f.distinct_principals.unwrap_or(0),
                            "principal",
                            "principals"
                        ),
                    ),
                );
            }
            self.field("e.g.", &clean(&f.message));
            if let Some(e) = f.evidence.first() {
                self.evidence("evidence", e);
            }
            self.mappings(f);
            self.fix(f);
            self.out.push('\n');
        }
        self.more(all.len() - shown, "weakness sites");
    }

    fn compliance(&mut self, report: &Report) {
        let s = &report.summary;
        if s.findings == 0 {
            return;
        }
        self.heading("COMPLIANCE", "findings per mapping");
        let tables: [(Catalog, &BTreeMap<String, u64>); 3] = [
            (Catalog::Owasp, &s.owasp),
            (Catalog::Soc2, &s.soc2),
            (Catalog::Cwe, &s.cwe),
        ];
        for (catalog, counts) in tables {
            for (i, (id, n)) in counts.iter().enumerate() {
                let name = if i == 0 { catalog.name() } else { "" };
                let title = catalog.title(id).unwrap_or_default();
                self.line(&format!("  {name:<15} {n:>6}  {id}  {title}"));
            }
        }
    }

    fn gaps(&mut self, report: &Report) {
        let gaps: Vec<_> = report
            .rules
            .iter()
            .filter(|r| r.status != "ok" || r.coverage.status != CoverageStatus::Full)
            .collect();
        if gaps.is_empty() && report.rule_errors.is_empty() {
            return;
        }
        self.heading("WHAT THIS SCAN COULD NOT SEE", "");
        for r in gaps {
            let status = match (r.status, r.coverage.status) {
                (s, _) if s != "ok" => self.paint(WARN, "stopped"),
                (_, CoverageStatus::None) => self.paint(WARN, "no coverage"),
                _ => "partial".to_owned(),
            };
            self.line(&format!("  {:<14} {status}", r.id));
            for n in &r.coverage.notes {
                self.line(&format!("      {}", clean(n)));
            }
        }
        for e in &report.rule_errors {
            let line = format!(
                "  rule file `{}` of pack `{}` ({}) stopped after {} events: {}",
                clean(&e.file),
                clean(&e.pack),
                e.rules.join(", "),
                e.events_before_failure,
                clean(&e.reason)
            );
            self.line(&line);
        }
    }

    fn skipped(&mut self, report: &Report) {
        let s = &report.summary;
        if s.skipped == 0 {
            return;
        }
        let mut reasons: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for i in &report.inputs {
            for (reason, n) in &i.skipped_reasons {
                let entry = reasons.entry(reason.as_str()).or_default();
                entry.0 += n;
                entry.1 += 1;
            }
        }
        self.heading(
            "SKIPPED RECORDS",
            &format!("{} (no event; counted per input in the report)", s.skipped),
        );
        for (reason, (n, files)) in reasons {
            self.line(&format!(
                "  {n:>8}  {} ({})",
                clean(reason),
                plural(files, "input", "inputs")
            ));
        }
        let errors: Vec<_> = report.inputs.iter().flat_map(|i| &i.errors).collect();
        let shown = self.shown(errors.len());
        for e in errors.iter().take(shown) {
            self.line(&format!("      {}", clean(&e.to_string())));
        }
        self.more(errors.len() - shown, "malformed records");
    }

    fn inputs(&mut self, report: &Report) {
        let s = &report.summary;
        let records: u64 = report.inputs.iter().map(|i| i.records).sum();
        self.heading(
            "INPUTS",
            &format!(
                "{}: {} → {}, {} merged, {} skipped",
                plural(report.inputs.len() as u64, "file", "files"),
                plural(records, "record", "records"),
                plural(s.events, "event", "events"),
                s.merged,
                s.skipped
            ),
        );
        let unreadable: Vec<_> = report.inputs.iter().filter(|i| i.error.is_some()).collect();
        for i in &report.inputs {
            if !self.style.verbose && i.error.is_none() {
                continue;
            }
            let format = i.format.map_or("unreadable", |f| f.as_str());
            self.line(&format!(
                "  {} [{format}]: {} records, {} events, {} merged, {} skipped",
                clean(&i.path),
                i.records,
                i.events,
                i.merged,
                i.skipped
            ));
            if let Some(e) = &i.error {
                self.line(&format!("      {}", clean(e)));
            }
        }
        if !self.style.verbose && unreadable.len() < report.inputs.len() {
            let note = self.paint(DIM, "  (--verbose lists every input)");
            self.line(&note);
        }
    }

    fn rules(&mut self, report: &Report) {
        let failed = report.rules.iter().filter(|r| r.status != "ok").count();
        let mut rest = format!("{} ran", plural(report.rules.len() as u64, "rule", "rules"));
        if failed > 0 {
            rest.push_str(&format!(", {failed} stopped"));
        }
        self.heading("RULES", &rest);
        if !self.style.verbose {
            let note = self.paint(DIM, "  (--verbose lists every rule)");
            self.line(&note);
            return;
        }
        for r in &report.rules {
            let note = match (r.status, r.coverage.status) {
                (s, _) if s != "ok" => " STOPPED",
                (_, CoverageStatus::None) => " no coverage",
                (_, CoverageStatus::Partial) => " partial coverage",
                (_, CoverageStatus::Full) => "",
            };
            self.line(&format!(
                "  {:<14} {:<10} {:<4} {:>9} events{note}",
                r.id,
                clean(&r.pack),
                r.kind,
                r.events
            ));
        }
    }
}

/// When: the first and last evidence times and the window between them, or the finding's time.
fn window(f: &Finding) -> String {
    let times: Vec<(i64, &str)> = f
        .evidence
        .iter()
        .filter_map(|e| Some((e.time_ns?, e.time.as_deref()?)))
        .collect();
    let first = times.iter().min_by_key(|(t, _)| *t);
    let last = times.iter().max_by_key(|(t, _)| *t);
    match (first, last) {
        (Some((a, at)), Some((b, bt))) if a != b => {
            format!("{at} → {bt} (window {})", duration(b - a))
        }
        _ => f.time.clone(),
    }
}

/// `1.25 s`, `340 ms`, `2 min 5 s`, `3 h 2 min`, `4 d 3 h`.
fn duration(ns: i64) -> String {
    let ms = ns / 1_000_000;
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000)
    } else if ms < 86_400_000 {
        format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000)
    } else {
        format!("{} d {} h", ms / 86_400_000, ms % 86_400_000 / 3_600_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_logs_are_shown_escaped() {
        assert_eq!(clean("alice"), "alice");
        assert_eq!(clean("bob\u{1b}[2J\rroot"), "bob\\u{1b}[2J\\u{d}root");
    }

    #[test]
    fn durations_read_at_their_scale() {
        assert_eq!(duration(340_000_000), "340 ms");
        assert_eq!(duration(1_250_000_000), "1.25 s");
        assert_eq!(duration(125_000_000_000), "2 min 5 s");
        assert_eq!(
            duration(3 * 3_600_000_000_000 + 120_000_000_000),
            "3 h 2 min"
        );
        assert_eq!(
            duration(4 * 86_400_000_000_000 + 3 * 3_600_000_000_000),
            "4 d 3 h"
        );
    }
}
