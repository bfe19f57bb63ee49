//! Reports: one [`Report`] per scan, rendered by one module per output format.

mod coverage;
mod html;
mod json;
mod markdown;
mod ocsf;
mod sarif;
mod text;

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

use serde::Serialize;

use crate::finding::{Finding, Findings};
use crate::ingest::{InputReport, StreamStats};
use crate::triage::{BaselineUse, SuppressionsUse, Triaged};

use crate::rules::{
    Confidence, FindingClass, PackConfig, RuleFailure, RuleKind, RuleOutcome, RuleSet, Severity,
};
pub use coverage::{Coverage, CoverageStatus};
pub use ocsf::OCSF_VERSION;
pub use text::TextStyle;

/// The JSON report's schema version, which `docs/schema/report.schema.json` pins: the minor
/// number is bumped when fields are only added, the major when anything breaks
/// (`docs/output.md`, Schema).
pub const SCHEMA_VERSION: &str = "2.2";

/// Fills each evidence item's `location` and `time` from the places the inputs' readers noted:
/// its `source` names the record (`file#record`) or the line it starts (`file:line`, the first
/// record starting there). A source that names no input of this scan keeps no location. Findings
/// on disk are located as they are read back, not written again.
fn locate_evidence(findings: Findings, inputs: &[InputReport]) -> Findings {
    let by_file: std::collections::HashMap<String, std::sync::Arc<crate::ingest::SpanIndex>> =
        inputs
            .iter()
            .map(|i| (i.path.clone(), std::sync::Arc::clone(&i.spans)))
            .collect();
    findings.edit_evidence(move |e: &mut crate::finding::Evidence| {
        let named = |sep: char| {
            let (file, n) = e.source.rsplit_once(sep)?;
            let n: u64 = n.parse().ok()?;
            by_file.get(file).map(|spans| (file, &**spans, n))
        };
        let found = match named('#') {
            Some((file, spans, record)) => Some((file, spans, record)),
            None => named(':')
                .and_then(|(file, spans, line)| Some((file, spans, spans.record_on_line(line)?))),
        };
        if let Some((file, spans, record)) = found {
            let location = spans.location(file, record);
            let time_ns = spans.time_ns(record);
            e.location = location;
            e.time_ns = time_ns;
            e.time = time_ns.map(crate::time::format_rfc3339);
        }
    })
}

/// Output formats. Closed set: adding one is adding a module here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// A terminal summary.
    Text,
    /// One JSON document.
    Json,
    /// One finding per line (JSON Lines), in report order: streamable into a log pipeline.
    Jsonl,
    /// Markdown for a pull-request comment or a CI job summary.
    Markdown,
    /// One self-contained HTML page (inline CSS and SVG, no script, nothing fetched): summary,
    /// compliance tables and a timeline per incident.
    Html,
    /// OCSF Detection Finding records (class 2004), one per finding and line: what security
    /// lakes ingest.
    Ocsf,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

impl ReportFormat {
    /// Every format, as `--format` names them.
    pub const ALL: [ReportFormat; 7] = [
        ReportFormat::Text,
        ReportFormat::Json,
        ReportFormat::Jsonl,
        ReportFormat::Markdown,
        ReportFormat::Html,
        ReportFormat::Ocsf,
        ReportFormat::Sarif,
    ];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Jsonl => "jsonl",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Html => "html",
            ReportFormat::Ocsf => "ocsf",
            ReportFormat::Sarif => "sarif",
        }
    }

    /// The file name a report in this format gets in an output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Text => "report.txt",
            ReportFormat::Json => "report.json",
            ReportFormat::Jsonl => "report.jsonl",
            ReportFormat::Markdown => "report.md",
            ReportFormat::Html => "report.html",
            ReportFormat::Ocsf => "report.ocsf.jsonl",
            ReportFormat::Sarif => "report.sarif",
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown report format `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Everything a scan found and how it got there. Serialized field by field as [`Fields`] says.
#[derive(Debug, Clone)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: &'static str,
    /// The tool.
    pub tool: Tool,
    /// Per-input accounting.
    pub inputs: Vec<InputReport>,
    /// Every rule that ran.
    pub rules: Vec<RuleRun>,
    /// Findings, ordered by time, rule, resource, fingerprint; without those triage took out
    /// ([`Report::triage`]). Past [`crate::FINDINGS_MEMORY_BYTES`] per rule file they are held in
    /// sorted runs on disk and read back as the report is written ([`Findings`]).
    pub findings: Findings,
    /// Counts.
    pub summary: Summary,
    /// The baseline the findings were triaged with, when one was given.
    pub baseline: Option<BaselineUse>,
    /// Findings the baseline holds, in report order.
    pub baselined: Vec<Triaged>,
    /// The suppressions file the findings were triaged with, entry by entry, when one was given.
    pub suppressions: Option<SuppressionsUse>,
    /// Findings a suppression entry holds, in report order, each with the entry and its
    /// justification.
    pub suppressed: Vec<Triaged>,
    /// What a reader should act on that is not a finding: expired and unused suppressions.
    pub warnings: Vec<String>,
    /// Rule files stopped during the scan: their rules' findings are incomplete.
    pub rule_errors: Vec<RuleFailure>,
    /// Whether the scan saw everything it was given: every named input read, every input in a
    /// known format read to its end, every rule file run to the end.
    pub complete: bool,
    /// Why it is not complete, one line per cause.
    pub incomplete: Vec<String>,
    /// The directory the scan ran in, against which relative input paths were read. The SARIF
    /// report names it when it gives an input by absolute path (GitHub code scanning asks for it
    /// then); the JSON report leaves it out, so that it does not differ from machine to machine.
    pub working_directory: Option<String>,
}

/// The report's JSON form: its fields in order, by reference. `findings: None` writes an empty
/// array, where the JSON writer puts the findings it renders on several threads
/// ([`json::write`]). `working_directory` is left out, so that a report does not differ from
/// machine to machine.
#[derive(Serialize)]
struct Fields<'a> {
    schema_version: &'a str,
    tool: &'a Tool,
    inputs: &'a [InputReport],
    rules: &'a [RuleRun],
    #[serde(serialize_with = "findings_or_none")]
    findings: Option<&'a Findings>,
    summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a BaselineUse>,
    baselined: &'a [Triaged],
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<&'a SuppressionsUse>,
    suppressed: &'a [Triaged],
    warnings: &'a [String],
    rule_errors: &'a [RuleFailure],
    complete: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    incomplete: &'a [String],
}

fn findings_or_none<S: serde::Serializer>(
    findings: &Option<&Findings>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match findings {
        Some(findings) => findings.serialize(serializer),
        None => serde::ser::SerializeSeq::end(serializer.serialize_seq(Some(0))?),
    }
}

impl Report {
    /// Its JSON form, with its findings or (`with_findings` false) an empty array for them.
    fn fields(&self, with_findings: bool) -> Fields<'_> {
        Fields {
            schema_version: self.schema_version,
            tool: &self.tool,
            inputs: &self.inputs,
            rules: &self.rules,
            findings: with_findings.then_some(&self.findings),
            summary: &self.summary,
            baseline: self.baseline.as_ref(),
            baselined: &self.baselined,
            suppressions: self.suppressions.as_ref(),
            suppressed: &self.suppressed,
            warnings: &self.warnings,
            rule_errors: &self.rule_errors,
            complete: self.complete,
            incomplete: &self.incomplete,
        }
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields(true).serialize(serializer)
    }
}

/// The tool that wrote the report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `tracewarden`.
    pub name: &'static str,
    /// The engine's version.
    pub version: &'static str,
    /// The rule contract it implements.
    pub contract: String,
}

/// One rule in a scan.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRun {
    /// Rule id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Pack name.
    pub pack: String,
    /// Pack version.
    pub version: String,
    /// `wasm` or `rego`.
    pub kind: &'static str,
    /// What its findings say: `incident` or `weakness`.
    pub class: FindingClass,
    /// What it detects and why it matters.
    pub description: String,
    /// Its findings' severity unless a finding says otherwise.
    pub severity: Severity,
    /// Its findings' confidence unless a finding says otherwise.
    pub confidence: Confidence,
    /// OWASP API 2023 ids.
    pub owasp: Vec<String>,
    /// SOC 2 ids.
    pub soc2: Vec<String>,
    /// CWE ids.
    pub cwe: Vec<String>,
    /// The fix.
    pub remediation: String,
    /// The rule file within its pack.
    pub file: String,
    /// `sha256:` digest of the rule file.
    pub digest: String,
    /// `ok`, or `failed` when its file was stopped (see `rule_errors`).
    pub status: &'static str,
    /// Events it was sent.
    pub events: u64,
    /// Whether it had the data it needs.
    pub coverage: Coverage,
    /// Its pack's options as the rule ran with them (declared defaults with overrides applied);
    /// absent when the pack has none.
    #[serde(skip_serializing_if = "PackConfig::is_empty")]
    pub options: PackConfig,
    /// How its file was split (`scan --partitions`); absent when it ran as one instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
}

/// A rule file that ran as several instances, each sent its share of the partition keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partitions {
    /// What the events were split by.
    pub partitioning: crate::rules::Partitioning,
    /// The instances.
    pub instances: usize,
}

/// Counts of findings: those reported in `findings` (not the baselined or suppressed, which are
/// counted apart), and of events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Reported findings.
    pub findings: u64,
    /// Incident findings.
    pub incidents: u64,
    /// Weakness findings: one per site.
    pub weaknesses: u64,
    /// The weaknesses' occurrences, all sites together.
    pub occurrences: u64,
    /// By severity (every severity listed).
    pub by_severity: BTreeMap<Severity, u64>,
    /// By OWASP API 2023 id.
    pub owasp: BTreeMap<String, u64>,
    /// By SOC 2 id.
    pub soc2: BTreeMap<String, u64>,
    /// By CWE id.
    pub cwe: BTreeMap<String, u64>,
    /// Events read from all inputs.
    pub events: u64,
    /// Events merged into another input's event (the same call seen twice).
    pub merged: u64,
    /// Records skipped in all inputs.
    pub skipped: u64,
    /// Findings left out because the baseline holds them.
    pub baselined: u64,
    /// Findings left out because a suppression entry holds them.
    pub suppressed: u64,
}

impl Report {
    /// Assembles the report of a scan. Errs only when findings held on disk cannot be read
    /// back or written again.
    pub fn new(
        inputs: Vec<InputReport>,
        stats: &StreamStats,
        saturation: &crate::enrich::Saturation,
        rules: &RuleSet,
        outcome: RuleOutcome,
    ) -> Result<Report, crate::Error> {
        let unread: Vec<String> = inputs.iter().filter_map(InputReport::incomplete).collect();
        let mut runs = Vec::new();
        for pack in rules.packs() {
            for file in &pack.files {
                let failed = outcome
                    .failures
                    .iter()
                    .any(|f| f.pack == pack.name && f.file == file.file);
                let split = outcome
                    .partitioned
                    .iter()
                    .find(|r| r.pack == pack.name && r.file == file.file);
                for meta in file.rules().iter().filter(|m| rules.selected(&m.id)) {
                    let seen = outcome.events_seen.get(&meta.id).copied().unwrap_or(0);
                    runs.push(RuleRun {
                        id: meta.id.clone(),
                        title: meta.title.clone(),
                        pack: pack.name.clone(),
                        version: pack.version.clone(),
                        kind: file.kind().as_str(),
                        class: meta.class,
                        description: meta.description.clone(),
                        severity: meta.severity,
                        confidence: meta.confidence,
                        owasp: meta.owasp.clone(),
                        soc2: meta.soc2.clone(),
                        cwe: meta.cwe.clone(),
                        remediation: meta.remediation.clone(),
                        file: file.file.clone(),
                        digest: file.digest.clone(),
                        status: if failed { "failed" } else { "ok" },
                        events: seen,
                        coverage: coverage::assess(
                            meta,
                            file.kind() == RuleKind::Wasm,
                            seen,
                            stats,
                            &inputs,
                        )
                        .with_unread(&unread)
                        .with_saturation(meta, saturation)
                        .with_state_notes(
                            outcome.state_notes.get(&meta.id).map_or(&[], Vec::as_slice),
                        )
                        .with_partitions(split),
                        options: pack.config.clone(),
                        partitions: split.map(|r| Partitions {
                            partitioning: r.partitioning,
                            instances: r.instances,
                        }),
                    });
                }
            }
        }
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        let summary = Summary {
            events: inputs.iter().map(|i| i.events).sum(),
            merged: inputs.iter().map(|i| i.merged).sum(),
            skipped: inputs.iter().map(|i| i.skipped).sum(),
            ..Summary::default()
        };
        let mut incomplete = unread;
        incomplete.extend(outcome.failures.iter().map(|f| {
            format!(
                "rule file `{}` of pack `{}` was stopped ({}): {}",
                f.file,
                f.pack,
                f.rules.join(", "),
                f.reason
            )
        }));
        let findings = locate_evidence(outcome.findings, &inputs);
        let (major, minor, patch) = crate::rules::CONTRACT_VERSION;
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "tracewarden",
                version: env!("CARGO_PKG_VERSION"),
                contract: format!("tracewarden:rule@{major}.{minor}.{patch}"),
            },
            inputs,
            rules: runs,
            findings,
            summary,
            baseline: None,
            baselined: Vec::new(),
            suppressions: None,
            suppressed: Vec::new(),
            warnings: Vec::new(),
            rule_errors: outcome.failures,
            complete: incomplete.is_empty(),
            incomplete,
            working_directory: std::env::current_dir()
                .ok()
                .map(|d| d.display().to_string()),
        };
        report.recount();
        Ok(report)
    }

    /// Counts `findings` into the summary afresh (its event counts are left as they are).
    pub(crate) fn recount(&mut self) {
        let tally = self.findings.tally().clone();
        let s = &mut self.summary;
        s.findings = self.findings.len() as u64;
        (s.incidents, s.weaknesses, s.occurrences) =
            (tally.incidents, tally.weaknesses, tally.occurrences);
        s.by_severity = Severity::ALL.into_iter().map(|s| (s, 0)).collect();
        s.by_severity.extend(tally.by_severity);
        (s.owasp, s.soc2, s.cwe) = (tally.owasp, tally.soc2, tally.cwe);
        s.baselined = self.baselined.len() as u64;
        s.suppressed = self.suppressed.len() as u64;
    }

    /// Renders the report.
    pub fn render(&self, format: ReportFormat) -> String {
        let mut out = Vec::new();
        match self.write(format, &mut out) {
            // Serializing into memory cannot fail, and every renderer writes UTF-8.
            Ok(()) => String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(e) => format!("cannot render the report: {e}\n"),
        }
    }

    /// Writes the report to `out`. JSON, JSON Lines and OCSF are serialized straight into `out`,
    /// so the report is never held whole in memory beside its findings; the other formats are
    /// bounded by what a reader takes in (groups, top findings, SARIF's result limits) and are
    /// rendered first.
    pub fn write(&self, format: ReportFormat, out: &mut dyn Write) -> io::Result<()> {
        self.write_on(format, out, 1)
    }

    /// [`Report::write`], on up to `threads` threads where a format can use them: the JSON
    /// document renders its findings on several. The bytes do not depend on `threads`.
    pub fn write_on(
        &self,
        format: ReportFormat,
        out: &mut dyn Write,
        threads: usize,
    ) -> io::Result<()> {
        match format {
            ReportFormat::Text => self.write_text(&TextStyle::default(), out),
            ReportFormat::Json => serialized(out, |out| json::write(self, out, threads)),
            ReportFormat::Jsonl => serialized(out, |out| json::write_lines(self, out)),
            ReportFormat::Markdown => {
                out.write_all(markdown::render(self, &self.findings.load()?).as_bytes())
            }
            ReportFormat::Html => {
                out.write_all(html::render(self, &self.findings.load()?).as_bytes())
            }
            ReportFormat::Ocsf => serialized(out, |out| ocsf::write(self, out)),
            ReportFormat::Sarif => {
                out.write_all(sarif::render(self, &self.findings.load()?).as_bytes())
            }
        }
    }

    /// Renders the text report drawn as `style` says (colors, findings per group, verbosity).
    pub fn render_text(&self, style: &TextStyle) -> String {
        let mut out = Vec::new();
        match self.write_text(style, &mut out) {
            Ok(()) => String::from_utf8_lossy(&out).into_owned(),
            Err(e) => format!("cannot render the report: {e}\n"),
        }
    }

    /// Writes the text report drawn as `style` says to `out`.
    pub fn write_text(&self, style: &TextStyle, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(text::render(self, style)?.as_bytes())
    }

    /// The highest severity among the findings.
    pub fn max_severity(&self) -> Option<Severity> {
        (self.summary.by_severity.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| *s)
            .max()
    }
}

/// The findings of `class`, most severe first (then in report order): how the text, Markdown and
/// HTML reports list them.
pub(crate) fn by_severity(findings: &[Finding], class: FindingClass) -> Vec<&Finding> {
    let mut findings: Vec<&Finding> = findings.iter().filter(|f| f.class == class).collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    findings
}

/// The buffer a serialized report goes through on its way to the destination.
const SERIALIZED_BUFFER_BYTES: usize = 64 << 10;

/// Runs `write` into a buffer of a type the compiler sees, in front of `out`, then flushes it.
/// serde_json writes token by token: through `&mut dyn Write` each token is a call through the
/// vtable into a buffer the compiler cannot see (the destination's `write_all` was ~10% of a
/// 400 MB report's writing); into this buffer a token is a copy.
fn serialized(
    out: &mut dyn Write,
    write: impl FnOnce(&mut BufWriter<&mut dyn Write>) -> io::Result<()>,
) -> io::Result<()> {
    let mut buffer = BufWriter::with_capacity(SERIALIZED_BUFFER_BYTES, out);
    write(&mut buffer)?;
    buffer.flush()
}
