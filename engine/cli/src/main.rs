//! The `tracewarden` command: a thin layer over the `tracewarden` library. Flags are defined here,
//! each documented where it is declared; the work is the library's.
//!
//! Exit codes: 0 no finding at or above `--fail-on`; 1 findings at or above it; 2 usage error, input
//! error (`--strict`), refused rule pack, or a rule stopped during the scan (the report is still
//! written, but it is incomplete).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand};
use tracewarden::progress::Progress;
use tracewarden::report::TextStyle;
use tracewarden::rules::{CacheOutcome, ComponentCache, Runtime};
use tracewarden::triage::{Baseline, Suppressions};
use tracewarden::{InputFormat, ReportFormat, RuleSet, RuleSetOptions, ScanOptions, Severity};

mod output;
mod pack;
mod rules_build;
mod rules_new;
mod rules_test;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Offline audit engine for API and database logs.
#[derive(Parser)]
#[command(name = "tracewarden", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on (default: no finding at all)
  1  findings at or above --fail-on
  2  usage error, refused rule pack, or an incomplete scan (an input not read, a rule stopped;
     the report is still written and says why)";

const SCAN_EXAMPLES: &str = "\
Examples:
  tracewarden scan examples/dynamodb-orders
  tracewarden scan --format json,sarif,html -o out/ --fail-on high examples/dynamodb-orders
  tracewarden scan --rule 'TW-TOCTOU-*' --since 2026-03-14 --until 2026-03-15 examples/dynamodb-orders
  tracewarden scan --exclude '*.md' --exclude '*.js' --include '*.j*' tests/fixtures/recorded/docs-express
  tracewarden show examples/dynamodb-orders/CloudTrail/111122223333_CloudTrail_us-east-1_20260314T1000Z_example.json#3

Exit codes:
  0  no finding at or above --fail-on (default: no finding at all)
  1  findings at or above --fail-on
  2  usage error, refused rule pack, or an incomplete scan (an input not read, a rule stopped;
     the report is still written and says why)";

#[derive(Subcommand)]
enum Command {
    /// Scan logs with the built-in and given rule packs and report findings.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Print inputs as normalized events, one JSON object per line (what Rego rules see).
    Normalize(NormalizeArgs),
    /// Print the input record an evidence item points at (`FILE#RECORD`, or `FILE:LINE[:COLUMN]`
    /// as the text report prints it), secrets redacted.
    Show(ShowArgs),
    /// Inspect, test, scaffold and build rule packs.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Lock, sign, verify and build rule packs; make signing keys.
    Pack {
        #[command(subcommand)]
        command: pack::PackCommand,
    },
    /// Print a shell completion script: `tracewarden completions bash > /etc/bash_completion.d/tracewarden`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules that would run.
    List(RulesArgs),
    /// Describe one rule: what it detects, its mappings, its pack's options and what it needs
    /// to see.
    Show {
        /// The rule id (`TW-TOCTOU-001`).
        id: String,
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// Run each pack's test cases (`PACK/tests/*/case.toml`) and compare the findings.
    #[command(after_help = RULES_TEST_EXIT_CODES)]
    Test(rules_test::TestArgs),
    /// Write a new pack from a template: a working rule, a hit and a miss case, a README.
    New(rules_new::NewArgs),
    /// Build a pack's rule files (`build = "cargo"` or `"componentize-py"` in `pack.toml`) and
    /// write their digests into `pack.toml`.
    Build(rules_build::BuildArgs),
}

const RULES_TEST_EXIT_CODES: &str = "\
Exit codes:
  0  every case passed (and every rule has --minimum-tests cases)
  1  a case failed, or a rule has fewer cases than --minimum-tests
  2  usage error, refused pack, or a case that cannot be run (its case.toml, its inputs)";

#[derive(Args)]
struct RulesArgs {
    /// A rule pack directory (with `pack.toml`), a `.twpack` archive (`tracewarden pack build`)
    /// or a single `.wasm`/`.rego` rule; repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    #[command(flatten)]
    trust: pack::TrustArgs,
    /// Do not load the built-in packs.
    #[arg(long)]
    no_builtin: bool,
    /// A TOML file of rule options, one table per pack (`[toctou]` then `check_window_ms =
    /// 5000`); each must be an option the pack declares (`tracewarden rules list` shows them).
    #[arg(long, value_name = "FILE")]
    rule_config: Option<PathBuf>,
    /// Run only the rules whose id matches this glob (`TW-TOCTOU-*`); repeatable.
    #[arg(long = "rule", value_name = "ID")]
    rule: Vec<String>,
    /// Leave out the rules whose id matches this glob; repeatable.
    #[arg(long = "exclude-rule", value_name = "ID")]
    exclude_rule: Vec<String>,
    /// Keep compiled rule components in DIR/components and read them back at the next start
    /// (default: `$TRACEWARDEN_CACHE_DIR`, else `$XDG_CACHE_HOME/tracewarden`, else
    /// `~/.cache/tracewarden`). Used only if no one but you can write to it.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile rule components at every start, reading and writing no cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

#[derive(Args)]
struct InputArgs {
    /// Log files or directories (searched recursively; gzip is detected by content); `-` reads
    /// standard input.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it by content: cloudtrail, har,
    /// otlp, dynamodb_wire, access_log, key_inventory or events.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<InputFormat>,
    /// Stop at the first malformed record (exit 2) instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// A TOML file of `[inputs.NAME]` field mappings, for request logs whose field names the
    /// reader does not know (docs/inputs.md); repeatable. A rule-config file's `[inputs]`
    /// tables are read too.
    #[arg(long = "map", value_name = "FILE")]
    map: Vec<PathBuf>,
    /// Only events at or after this log time (RFC 3339, or a date: midnight UTC); the others are
    /// skipped and counted. Key lifecycle records are always read.
    #[arg(long, value_name = "TIME", value_parser = instant)]
    since: Option<i64>,
    /// Only events before this log time (as `--since`).
    #[arg(long, value_name = "TIME", value_parser = instant)]
    until: Option<i64>,
    /// Read only the files found in directories that match this glob (`*.json*`); repeatable.
    /// Files named on the command line are always read.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Do not read the files found in directories that match this glob (`*.md`); repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
}

fn instant(s: &str) -> Result<i64, String> {
    tracewarden::parse_instant(s).ok_or_else(|| {
        format!("`{s}` is no time: expected RFC 3339 (2026-03-14T10:00:00Z) or a date (2026-03-14)")
    })
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rules: RulesArgs,
    /// Report format: text, json, jsonl (one finding per line), markdown, html (one
    /// self-contained page), ocsf (one OCSF Detection Finding per line) or sarif (SARIF 2.1.0,
    /// for GitHub code scanning). Several, comma-separated, write `report.txt`, `report.json`,
    /// `report.jsonl`, `report.md`, `report.html`, `report.ocsf.jsonl`, `report.sarif` into the
    /// directory `-o` names.
    #[arg(
        long,
        default_value = "text",
        value_name = "FORMAT[,FORMAT...]",
        value_delimiter = ','
    )]
    format: Vec<ReportFormat>,
    /// Write the report to FILE instead of standard output (a directory with several formats).
    #[arg(short, long, value_name = "FILE|DIR")]
    output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity (info, low, medium, high, critical), or
    /// `none` to exit 0 whatever the findings.
    #[arg(long, default_value = "info", value_name = "SEVERITY")]
    fail_on: FailOn,
    /// Threads for reading inputs and running rules (default: all cores). The report does not
    /// depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Run each rule file whose rules all declare a partitioning (by principal, resource or
    /// trace) as N instances, each sent its share of the partition keys, so one rule file uses
    /// up to N cores (1 to 64; default 1). Unlike --threads it can change the report: a rule's
    /// state is bounded per instance, and a weakness site's examples are the earliest of each
    /// instance's (docs/rules.md, "Partitions").
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=tracewarden::rules::MAX_PARTITIONS as i64))]
    partitions: u16,
    /// An earlier JSON or JSON Lines report: findings it holds are left out of `findings` (listed
    /// under `baselined` and counted), so `--fail-on` judges new findings only.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// A TOML file of accepted findings: `[[suppression]]` entries with `rule` and/or
    /// `fingerprint` (narrowed by `principal`, `resource`), a required `justification` and an
    /// optional `expires = 2027-01-31`, judged against each finding's log time (docs/output.md).
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
    #[command(flatten)]
    display: DisplayArgs,
}

/// How the scan talks to a person: the progress bar and summary line on standard error, and the
/// text report.
#[derive(Args)]
struct DisplayArgs {
    /// Print nothing on standard error but errors: no progress bar, no summary line, no warnings.
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
    /// List every input and rule: one line per input file on standard error, and every input and
    /// rule in the text report.
    #[arg(short, long)]
    verbose: bool,
    /// Colors in the text report: auto (on a terminal, unless `NO_COLOR` is set), always, never.
    #[arg(long, default_value = "auto", value_name = "WHEN")]
    color: clap::ColorChoice,
    /// Findings the text report draws per group (incidents of one severity; weaknesses); 0 draws
    /// all. The json, sarif and html reports always hold every finding.
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    /// Draw only findings at or above this severity in the text report (the others are counted;
    /// the file formats and `--fail-on` are not affected).
    #[arg(long, default_value = "info", value_name = "SEVERITY")]
    min_severity: Severity,
}

#[derive(Args)]
struct NormalizeArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Write the events to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Run the enrichment stage and print each event's `facts` (what rules see in a scan).
    #[arg(long)]
    facts: bool,
    /// With `--facts`: the rule-config file whose `[ownership]` table sets the ownership
    /// settings (other tables are ignored here).
    #[arg(long, value_name = "FILE", requires = "facts")]
    rule_config: Option<PathBuf>,
    /// Threads for reading inputs (default: all cores). The output does not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Args)]
struct ShowArgs {
    /// The record: `FILE#RECORD` (1-based, as evidence `source` names it), or `FILE:LINE` /
    /// `FILE:LINE:COLUMN` where it starts.
    #[arg(value_name = "FILE#RECORD")]
    record: String,
    /// Read the file as this format instead of detecting it (as `scan --input-format`).
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<InputFormat>,
    /// Field mappings, as `scan --map` (record numbering of request logs does not depend on
    /// them, but format detection can).
    #[arg(long = "map", value_name = "FILE")]
    map: Vec<PathBuf>,
    /// Print the record's bytes as they are in the file, secrets included.
    #[arg(long)]
    raw: bool,
}

#[derive(Clone, Copy)]
enum FailOn {
    Never,
    AtLeast(Severity),
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "none" {
            Ok(FailOn::Never)
        } else {
            s.parse()
                .map(FailOn::AtLeast)
                .map_err(|e| format!("{e} (or none)"))
        }
    }
}

fn main() -> ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}

/// Turns transparent huge pages off for this process. The allocator hands freed memory back to
/// the kernel and takes fresh memory again as a scan's events come and go; backed by huge
/// pages, each fault zeroes 2 MiB, and on the 1M-record benchmark that was 4.8 s of kernel
/// time against 2.1 s without (docs/architecture.md, 2026-12-04). Best effort: a kernel without
/// the setting runs as before.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

/// The error and its causes, each once: a cause the message already quotes (an OS error the
/// library's message names) is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !out.contains(&cause) {
            out.push_str(": ");
            out.push_str(&cause);
        }
    }
    out
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(*args),
        Command::Normalize(args) => normalize(args),
        Command::Show(args) => show(args),
        Command::Rules {
            command: RulesCommand::List(args),
        } => list_rules(args),
        Command::Rules {
            command: RulesCommand::Show { id, rules },
        } => show_rule(&id, &rules),
        Command::Rules {
            command: RulesCommand::Test(args),
        } => rules_test::run(args),
        Command::Rules {
            command: RulesCommand::New(args),
        } => rules_new::run(args),
        Command::Rules {
            command: RulesCommand::Build(args),
        } => rules_build::run(args),
        Command::Pack { command } => pack::run(command),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tracewarden", &mut out);
            std::io::stdout()
                .write_all(&out)
                .context("cannot write to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The rules the flags ask for, and what the component cache did loading them.
fn load_rules(args: &RulesArgs) -> anyhow::Result<(RuleSet, CacheNotes)> {
    let extra = args.rules.iter().map(|p| pack::source(p)).collect();
    let config = read_rule_config(args.rule_config.as_ref())?;
    let cache = component_cache(args);
    let rules = RuleSet::load(&RuleSetOptions {
        builtin: !args.no_builtin,
        extra,
        trust: args.trust.policy()?,
        config,
        cache: cache.clone(),
        ..RuleSetOptions::default()
    })?;
    let notes = CacheNotes::of(&rules, &cache);
    Ok((rules.select(&args.rule, &args.exclude_rule)?, notes))
}

/// The component cache: none with `--no-cache`; else `--cache-dir`, `$TRACEWARDEN_CACHE_DIR`,
/// `$XDG_CACHE_HOME/tracewarden` or `$HOME/.cache/tracewarden`, the first that is set, with the
/// components in its `components` subdirectory; none when none is set.
fn component_cache(args: &RulesArgs) -> ComponentCache {
    cache_in(args.cache_dir.as_ref(), args.no_cache)
}

/// [`component_cache`] of the flags `--cache-dir` and `--no-cache`.
fn cache_in(cache_dir: Option<&PathBuf>, no_cache: bool) -> ComponentCache {
    if no_cache {
        return ComponentCache::Off;
    }
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    // The XDG base directory spec ignores relative paths.
    let absolute = |name| var(name).filter(|p| p.is_absolute());
    cache_dir
        .cloned()
        .or_else(|| var("TRACEWARDEN_CACHE_DIR"))
        .or_else(|| absolute("XDG_CACHE_HOME").map(|p| p.join("tracewarden")))
        .or_else(|| absolute("HOME").map(|p| p.join(".cache").join("tracewarden")))
        .map_or(ComponentCache::Off, |dir| {
            ComponentCache::Dir(dir.join("components"))
        })
}

/// What the component cache did when the rules were loaded, for standard error.
struct CacheNotes {
    /// Why the cache could not be used, each once.
    warnings: Vec<String>,
    /// One line for `--verbose`.
    summary: String,
}

impl CacheNotes {
    fn of(rules: &RuleSet, cache: &ComponentCache) -> CacheNotes {
        let (mut read, mut compiled, mut replaced) = (0, 0, 0);
        let mut warnings: Vec<String> = Vec::new();
        let components = rules.packs().iter().flat_map(|p| &p.files);
        for outcome in components.filter_map(|f| match &f.runtime {
            Runtime::Wasm(c) => Some(c.cache_outcome()),
            Runtime::Rego(_) => None,
        }) {
            match outcome {
                CacheOutcome::Hit => read += 1,
                CacheOutcome::Replaced(_) => (compiled, replaced) = (compiled + 1, replaced + 1),
                CacheOutcome::Unusable(why) => {
                    compiled += 1;
                    if !warnings.contains(why) {
                        warnings.push(why.clone());
                    }
                }
                CacheOutcome::Off | CacheOutcome::Stored => compiled += 1,
            }
        }
        let summary = match cache {
            ComponentCache::Off => format!("component cache off: {compiled} component(s) compiled"),
            ComponentCache::Dir(dir) => format!(
                "component cache `{}`: {read} component(s) read, {compiled} compiled{}",
                dir.display(),
                if replaced > 0 {
                    format!(" ({replaced} replacing a refused artifact)")
                } else {
                    String::new()
                }
            ),
        };
        CacheNotes { warnings, summary }
    }

    /// Writes the warnings to `err`.
    fn warn(&self, err: &mut impl Write) {
        for why in &self.warnings {
            let _ = writeln!(
                err,
                "warning: compiled rule components are not cached: {why}"
            );
        }
    }
}

fn read_rule_config(path: Option<&PathBuf>) -> anyhow::Result<tracewarden::rules::RuleConfig> {
    let Some(path) = path else {
        return Ok(Default::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    tracewarden::rules::parse_rule_config(&text)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))
}

/// How inputs are read: the flags, and the mappings of every `--map` file and of the
/// rule-config file.
fn ingest_options(
    args: &InputArgs,
    rule_config: Option<&PathBuf>,
) -> anyhow::Result<tracewarden::IngestOptions> {
    let mut mappings = Vec::new();
    for path in args.map.iter().chain(rule_config) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        mappings.extend(
            tracewarden::ingest::parse_mappings(&text)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?,
        );
    }
    Ok(tracewarden::IngestOptions {
        format: args.input_format,
        strict: args.strict,
        mappings,
        since: args.since,
        until: args.until,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        ..tracewarden::IngestOptions::default()
    })
}

/// Prints a text command's output on standard output.
fn write_output(text: &str) -> anyhow::Result<()> {
    output::write_report(None, |out| out.write_all(text.as_bytes()))
}

/// Where each report goes: one format to `output` (or standard output); several, each as
/// `report.<ext>` in the directory `output`. Checked before the scan starts.
fn report_targets(
    formats: &[ReportFormat],
    output: Option<&PathBuf>,
) -> anyhow::Result<Vec<(ReportFormat, Option<PathBuf>)>> {
    let (Some(dir), [_, _, ..]) = (output, formats) else {
        return match formats {
            [one] => Ok(vec![(*one, output.cloned())]),
            _ => anyhow::bail!(
                "several report formats need a directory to write them to: add `-o DIR`"
            ),
        };
    };
    let mut targets: Vec<(ReportFormat, Option<PathBuf>)> = Vec::new();
    for f in formats {
        if !targets.iter().any(|(t, _)| t == f) {
            targets.push((*f, Some(dir.join(f.file_name()))));
        }
    }
    Ok(targets)
}

/// The baseline and suppressions files, read before the scan: a bad one costs no scan.
fn load_triage(args: &ScanArgs) -> anyhow::Result<(Option<Baseline>, Option<Suppressions>)> {
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    let suppressions = (args.suppressions.as_deref())
        .map(Suppressions::load)
        .transpose()?;
    Ok((baseline, suppressions))
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let targets = report_targets(&args.format, args.output.as_ref())?;
    let (rules, cache) = load_rules(&args.rules)?;
    let (baseline, suppressions) = load_triage(&args)?;
    let mut options = ScanOptions {
        ingest: ingest_options(&args.input, args.rules.rule_config.as_ref())?,
        ..ScanOptions::default()
    };
    if let Some(n) = args.threads {
        options.threads = n.max(1);
        options.ingest.threads = options.threads;
    }
    options.partitions = usize::from(args.partitions);
    let display = &args.display;
    let progress = Arc::new(Progress::default());
    options.ingest.progress = Some(progress.clone());
    let started = Instant::now();
    let bar = (!display.quiet && std::io::stderr().is_terminal())
        .then(|| ProgressDisplay::start(progress.clone()));
    let scanned = tracewarden::scan(&args.input.inputs, &rules, &options);
    if let Some(bar) = bar {
        bar.finish();
    }
    let mut report = scanned?;
    report.triage(baseline.as_ref(), suppressions.as_ref())?;
    if let (true, Some(dir)) = (args.format.len() > 1, &args.output) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
    }
    for (format, path) in &targets {
        output::write_report(path.as_deref(), |out| match format {
            ReportFormat::Text => report.write_text(
                &TextStyle {
                    color: colored(display.color, path.is_none()),
                    top: display.top,
                    verbose: display.verbose,
                    min_severity: display.min_severity,
                },
                out,
            ),
            other => report.write_on(*other, out, options.threads),
        })?;
    }
    tell(
        &report,
        &cache,
        display,
        &progress.snapshot(),
        started.elapsed(),
    );
    if !report.complete {
        return Ok(ExitCode::from(2));
    }
    let failing = match args.fail_on {
        FailOn::Never => false,
        FailOn::AtLeast(threshold) => report.max_severity().is_some_and(|s| s >= threshold),
    };
    Ok(ExitCode::from(u8::from(failing)))
}

/// Whether the text report gets colors: `always`, `never`, or (`auto`) when it goes to a
/// terminal and `NO_COLOR` is unset or empty (no-color.org).
fn colored(choice: clap::ColorChoice, to_stdout: bool) -> bool {
    match choice {
        clap::ColorChoice::Always => true,
        clap::ColorChoice::Never => false,
        clap::ColorChoice::Auto => {
            to_stdout
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// What the scan says on standard error once it is done: errors always (an input not read, a
/// rule stopped); unless `--quiet`, warnings folded to one line each and one summary line;
/// with `--verbose`, one line per input and one on the component cache first.
fn tell(
    report: &tracewarden::Report,
    cache: &CacheNotes,
    display: &DisplayArgs,
    progress: &tracewarden::progress::ProgressSnapshot,
    took: std::time::Duration,
) {
    let mut err = std::io::stderr().lock();
    if display.verbose {
        for i in &report.inputs {
            let format = i.format.map_or("unreadable", |f| f.as_str());
            let _ = writeln!(
                err,
                "{} [{format}]: {} records, {} events, {} merged, {} skipped",
                i.path, i.records, i.events, i.merged, i.skipped
            );
        }
        let _ = writeln!(err, "{}", cache.summary);
    }
    let mut not_logs = Vec::new();
    let (mut malformed, mut malformed_files) = (0u64, 0u64);
    for input in &report.inputs {
        let bad = input
            .skipped_reasons
            .get(tracewarden::ingest::MALFORMED)
            .copied()
            .unwrap_or(0);
        if bad > 0 {
            malformed += bad;
            malformed_files += 1;
            if display.verbose {
                let _ = writeln!(
                    err,
                    "warning: `{}`: {bad} malformed record(s) skipped (listed in the report)",
                    input.path
                );
            }
        }
        match (&input.error, input.incomplete()) {
            (_, Some(why)) => {
                let _ = writeln!(err, "error: {why}");
            }
            (Some(_), None) => not_logs.push(input.path.as_str()),
            (None, None) => {}
        }
    }
    for failure in &report.rule_errors {
        let _ = writeln!(
            err,
            "error: rule file `{}` of pack `{}` ({}) was stopped: {}",
            failure.file,
            failure.pack,
            failure.rules.join(", "),
            failure.reason
        );
    }
    if display.quiet {
        return;
    }
    cache.warn(&mut err);
    for warning in &report.warnings {
        let _ = writeln!(err, "warning: {warning}");
    }
    if malformed > 0 && !display.verbose {
        let _ = writeln!(
            err,
            "warning: {malformed} malformed record(s) skipped in {malformed_files} file(s) \
             (listed in the report; --verbose names the files)"
        );
    }
    if !not_logs.is_empty() {
        const LISTED: usize = 5;
        let mut listed = not_logs
            .iter()
            .take(if display.verbose { usize::MAX } else { LISTED })
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if not_logs.len() > LISTED && !display.verbose {
            listed.push_str(&format!(
                " and {} more (--verbose lists them)",
                not_logs.len() - LISTED
            ));
        }
        let _ = writeln!(
            err,
            "warning: {} file(s) found in directories are no log in a known format and were \
             skipped (the report says why): {listed}",
            not_logs.len()
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        err,
        "scanned {} file(s), {}, {} event(s) ({} merged, {} skipped) in {:.1} s: {} incident(s), \
         {} weakness site(s){}{}",
        report.inputs.len(),
        human_bytes(progress.bytes_total),
        s.events,
        s.merged,
        s.skipped,
        took.as_secs_f64(),
        s.incidents,
        s.weaknesses,
        [("baselined", s.baselined), ("suppressed", s.suppressed)]
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("; {n} {what}"))
            .collect::<String>(),
        if report.complete {
            ""
        } else {
            "; the scan is INCOMPLETE (see above)"
        }
    );
}

/// `909.2 MB`, `4.1 kB`, `12 B` (SI units, as indicatif's `{bytes}`).
fn human_bytes(n: u64) -> String {
    indicatif::DecimalBytes(n).to_string()
}

/// The progress bar on standard error: a thread polling the engine's counters. Reading: the
/// bytes of the input files (ETA from them), files done and events/s; then the rules' pass over
/// the sorted events (ETA from events).
struct ProgressDisplay {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl ProgressDisplay {
    fn start(progress: Arc<Progress>) -> ProgressDisplay {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr_with_hz(8),
            );
            let reading = indicatif::ProgressStyle::with_template(
                "{spinner} reading  [{bar:30}] {bytes}/{total_bytes}  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            let judging = indicatif::ProgressStyle::with_template(
                "{spinner} rules    [{bar:30}] {human_pos}/{human_len} events  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(reading);
            bar.tick();
            let mut in_rules = false;
            let (mut last_count, mut last_at) = (0u64, Instant::now());
            while !stopping.load(Ordering::Relaxed) {
                let p = progress.snapshot();
                if !in_rules && p.released > 0 {
                    in_rules = true;
                    bar.set_style(judging.clone());
                    bar.reset_eta();
                    (last_count, last_at) = (0, Instant::now());
                }
                let count = if in_rules { p.released } else { p.events };
                let now = Instant::now();
                let secs = now.duration_since(last_at).as_secs_f64();
                if secs >= 0.5 {
                    let rate = count.saturating_sub(last_count) as f64 / secs;
                    bar.set_message(if in_rules {
                        format!("{rate:.0} events/s")
                    } else {
                        format!(
                            "{}/{} files  {} events  {rate:.0} events/s",
                            p.files_done, p.files_total, p.events
                        )
                    });
                    (last_count, last_at) = (count, now);
                }
                if in_rules {
                    bar.set_length(p.events);
                    bar.set_position(p.released);
                } else {
                    bar.set_length(p.bytes_total.max(1));
                    bar.set_position(p.bytes_read);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        ProgressDisplay { stop, thread }
    }

    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn normalize(args: NormalizeArgs) -> anyhow::Result<ExitCode> {
    let mut options = ingest_options(&args.input, args.rule_config.as_ref())?;
    if let Some(n) = args.threads {
        options.threads = n.max(1);
    }
    let mut stream = tracewarden::ingest::open(&args.input.inputs, &options)?;
    let ownership = match read_rule_config(args.rule_config.as_ref())?
        .get(tracewarden::rules::OWNERSHIP_TABLE)
    {
        Some(table) => tracewarden::enrich::OwnershipSettings::from_toml(table).map_err(|e| {
            anyhow::anyhow!(
                "`{}`: {e}",
                args.rule_config
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string())
            )
        })?,
        None => Default::default(),
    };
    let mut enricher = args
        .facts
        .then(|| tracewarden::enrich::Enricher::new(&ownership));
    output::write_report(args.output.as_deref(), |out| {
        // One buffer for every line, each written whole: the events stay in the stream's boxes.
        let mut write = |events: &mut dyn Iterator<Item = Box<tracewarden::event::Event>>| {
            let mut line = Vec::new();
            for mut e in events {
                if let Some(enricher) = enricher.as_mut() {
                    enricher.enrich(&mut e);
                }
                line.clear();
                tracewarden::event::write_json(&e, &mut line).map_err(std::io::Error::other)?;
                line.push(b'\n');
                out.write_all(&line)?;
            }
            Ok(())
        };
        if options.threads >= 2 {
            // The stream (merging, correlating) on one core, writing on this one.
            stream.staged(|mut events| write(&mut events))
        } else {
            write(&mut stream.boxed())
        }
    })?;
    for input in &stream.finish()?.0 {
        eprintln!(
            "{}: {} records, {} events, {} merged, {} skipped",
            input.path, input.records, input.events, input.merged, input.skipped
        );
        for e in &input.errors {
            eprintln!("  error: {e}");
        }
        if let Some(e) = &input.error {
            eprintln!("  stopped: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let Some((file, which)) = tracewarden::ingest::RecordRef::parse(&args.record) else {
        anyhow::bail!(
            "`{}` names no record: expected FILE#RECORD (e.g. logs/trail.json#4000) or \
             FILE:LINE[:COLUMN]",
            args.record
        );
    };
    let input = InputArgs {
        inputs: vec![PathBuf::from(file)],
        input_format: args.input_format,
        strict: false,
        map: args.map,
        since: None,
        until: None,
        include: Vec::new(),
        exclude: Vec::new(),
    };
    let options = ingest_options(&input, None)?;
    let record = tracewarden::ingest::record_text(std::path::Path::new(file), which, &options)?;
    let l = &record.location;
    let body = if args.raw {
        record.text.clone()
    } else {
        tracewarden::ingest::redact::redact_record(&record.text)
    };
    let mut out = format!(
        "# {}#{} ({}), line {}, column {}, bytes {}..{}{}\n{body}",
        l.file,
        l.record,
        record.format.as_str(),
        l.line,
        l.column,
        l.offset,
        l.offset + l.length,
        if args.raw { "" } else { ", secrets redacted" },
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
    write_output(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn show_rule(id: &str, args: &RulesArgs) -> anyhow::Result<ExitCode> {
    let (rules, cache) = load_rules(args)?;
    cache.warn(&mut std::io::stderr().lock());
    let found = rules.packs().iter().find_map(|pack| {
        pack.files.iter().find_map(|file| {
            file.rules()
                .iter()
                .find(|r| r.id == id)
                .map(|r| (pack, file, r))
        })
    });
    let Some((pack, file, r)) = found else {
        let ids: Vec<&str> = rules
            .packs()
            .iter()
            .flat_map(|p| &p.files)
            .flat_map(|f| f.rules())
            .map(|r| r.id.as_str())
            .collect();
        anyhow::bail!("no rule `{id}` is loaded (loaded: {})", ids.join(", "));
    };
    use tracewarden::catalog::Catalog;
    let mut out = format!("{}  {}\n\n{}\n\n", r.id, r.title, r.description);
    out.push_str(&format!(
        "class:       {} ({})\nseverity:    {} (confidence {})\npack:        {} {} ({}), file `{}` ({}, {})\n",
        r.class.as_str(),
        match r.class {
            tracewarden::rules::FindingClass::Incident => "one finding per incident",
            tracewarden::rules::FindingClass::Weakness => "one finding per site, occurrences counted",
        },
        r.severity.as_str(),
        r.confidence.as_str(),
        pack.name,
        pack.version,
        pack.origin,
        file.file,
        file.kind().as_str(),
        file.digest
    ));
    for (catalog, ids) in [
        (Catalog::Owasp, &r.owasp),
        (Catalog::Soc2, &r.soc2),
        (Catalog::Cwe, &r.cwe),
    ] {
        for id in ids {
            out.push_str(&format!(
                "maps to:     {} {id}: {}\n",
                catalog.name(),
                catalog.title(id).unwrap_or("")
            ));
        }
    }
    let kinds: Vec<&str> = r.kinds.iter().map(|k| k.as_str()).collect();
    out.push_str(&format!(
        "sees:        {}{}\n",
        if kinds.is_empty() {
            "every event".to_owned()
        } else {
            format!("{} events", kinds.join(", "))
        },
        if r.operations.is_empty() {
            String::new()
        } else {
            format!(" of {}", r.operations.join(", "))
        }
    ));
    if let tracewarden::rules::Runtime::Rego(rule) = &file.runtime {
        out.push_str(&format!(
            "reads:       {}\n",
            rule.reads_paths()
                .map_or_else(|| "whole events".to_owned(), |paths| paths.join(", "))
        ));
    }
    if !r.requires.is_empty() {
        // The names `requires` takes in rule metadata (`key_revoked`).
        let needs: Vec<String> = r
            .requires
            .iter()
            .map(|n| {
                format!("{n:?}")
                    .chars()
                    .enumerate()
                    .flat_map(|(i, c)| {
                        let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                        sep.into_iter()
                            .chain(std::iter::once(c.to_ascii_lowercase()))
                    })
                    .collect()
            })
            .collect();
        out.push_str(&format!("needs facts: {}\n", needs.join(", ")));
    }
    for (name, value) in pack.config.iter() {
        out.push_str(&format!("option:      {name} = {value}\n"));
    }
    out.push_str(&format!("\nfix: {}\n", r.remediation));
    write_output(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn list_rules(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let (rules, cache) = load_rules(&args)?;
    cache.warn(&mut std::io::stderr().lock());
    let mut out = String::new();
    for pack in rules.packs() {
        for file in &pack.files {
            for r in file.rules().iter().filter(|r| rules.selected(&r.id)) {
                let maps: Vec<&str> = r
                    .owasp
                    .iter()
                    .chain(&r.soc2)
                    .chain(&r.cwe)
                    .map(String::as_str)
                    .collect();
                out.push_str(&format!(
                    "{:<14} {:<10} {:<5} {:<9} {}  [{}]\n",
                    r.id,
                    pack.name,
                    file.kind().as_str(),
                    r.severity.as_str(),
                    r.title,
                    maps.join(", ")
                ));
            }
        }
        if !pack.config.is_empty() {
            let options: Vec<String> = pack
                .config
                .iter()
                .map(|(name, value)| format!("{name} = {value}"))
                .collect();
            out.push_str(&format!(
                "  {} options: {}\n",
                pack.name,
                options.join(", ")
            ));
        }
    }
    write_output(&out)?;
    Ok(ExitCode::SUCCESS)
}
