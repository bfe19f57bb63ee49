//! tracewarden: an offline audit engine for API and database logs.
//!
//! The pipeline, one module per stage:
//! [`ingest`] (detect, parse, normalize to [`Event`]s, correlate, order by time) →
//! [`enrich`] (facts many rules need: object ownership) →
//! [`rules`] (WASM and Rego rule packs, sandboxed, fed in batches) →
//! [`Finding`]s (completed with the catalog mappings and a fingerprint) →
//! [`triage`] (baseline and suppressions, optional) →
//! [`report`] (text, JSON, JSON Lines, Markdown, HTML, OCSF, SARIF).
//!
//! The library never prints and never exits; errors are [`Error`] values.
//!
//! The rule hosts, findings, reports and [`scan`] need the default feature `rules` (wasmtime,
//! regorus, the built-in packs); without it the crate is [`ingest`] and [`enrich`] alone.
//!
//! ```no_run
//! use tracewarden::{RuleSet, RuleSetOptions, ScanOptions, ReportFormat};
//!
//! let rules = RuleSet::load(&RuleSetOptions::default())?;
//! let report = tracewarden::scan(&["logs/".into()], &rules, &ScanOptions::default())?;
//! print!("{}", report.render(ReportFormat::Json));
//! # Ok::<(), tracewarden::Error>(())
//! ```

mod bytes;
pub mod catalog;
mod digest;
pub mod enrich;
mod error;
pub mod event;
#[cfg(feature = "rules")]
mod finding;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
mod names;
pub mod progress;
#[cfg(feature = "rules")]
pub mod report;
#[cfg(feature = "rules")]
pub mod rules;
mod time;
#[cfg(feature = "rules")]
pub mod triage;

pub use error::{Error, InputError, PackRefusal};
pub use event::Event;
#[cfg(feature = "rules")]
pub use finding::{
    Evidence, Example, FINDING_BYTES_PER_EVENT, FINDINGS_MEMORY_BYTES, Finding, Findings,
    FindingsIter, Location, MAX_EXAMPLES, MAX_FINDING_BYTES, MAX_LISTED_PRINCIPALS,
    MAX_MESSAGE_BYTES, Site,
};
pub use ingest::{IngestOptions, InputFormat};
#[cfg(feature = "rules")]
pub use report::{Report, ReportFormat};
#[cfg(feature = "rules")]
pub use rules::{RuleSet, RuleSetOptions, Severity};
pub use time::parse_instant;

/// Options of a scan.
#[cfg(feature = "rules")]
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// How inputs are read.
    pub ingest: IngestOptions,
    /// Worker threads for rules; the report does not depend on it.
    pub threads: usize,
    /// Bytes of findings each rule file holds in memory; past it they go to sorted runs in
    /// temporary files, read back as the report is written. The report does not depend on it.
    pub findings_memory_bytes: usize,
    /// Instances of each rule file whose rules all declare one partitioning, each fed its share
    /// of the stream ([`rules::RunOptions::partitions`]); 1: one instance per file.
    pub partitions: usize,
}

#[cfg(feature = "rules")]
impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            ingest: IngestOptions::default(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            findings_memory_bytes: finding::FINDINGS_MEMORY_BYTES,
            partitions: 1,
        }
    }
}

/// From this many threads on, a scan's event stream runs on a thread of its own
/// ([`ingest::EventStream::staged`]): with two, the reading thread and the two rule workers
/// already share the two cores.
#[cfg(feature = "rules")]
const STREAM_STAGE_THREADS: usize = 3;

/// Reads `inputs`, runs `rules` over their events and reports.
#[cfg(feature = "rules")]
pub fn scan(
    inputs: &[std::path::PathBuf],
    rules: &RuleSet,
    options: &ScanOptions,
) -> Result<Report, Error> {
    let mut stream = ingest::open(inputs, &options.ingest)?;
    let mut enricher = enrich::Enricher::new(rules.ownership());
    let run = rules::RunOptions {
        threads: options.threads,
        findings_memory_bytes: options.findings_memory_bytes,
        partitions: options.partitions,
    };
    let outcome = if options.threads >= STREAM_STAGE_THREADS {
        // The stream on a thread of its own, this one enriching and handing chunks to the
        // rules: the serial part of the scan in two stages on two cores instead of one.
        stream.staged(|events| rules.run_with(enricher.wrap(events), run))
    } else {
        rules.run_with(enricher.wrap(stream.boxed()), run)
    };
    let (inputs, stats) = stream.finish()?;
    Report::new(inputs, &stats, &enricher.saturation(), rules, outcome)
}
