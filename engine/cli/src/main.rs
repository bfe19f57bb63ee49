//! The `tracewarden` command: a thin layer over the `tracewarden` library. Flags are defined here,
//! each documented where it is declared; the work is the library's.
//!
//! Exit codes: 0 no finding at or above `--fail-on`; 1 findings at or above it; 2 usage error, input
//! error (`--strict`), refused rule pack, or a rule stopped during the scan (the report is still
//! written, but it is incomplete).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tracewarden::rules::PackSource;
use tracewarden::triage::{Baseline, Suppressions};
use tracewarden::{InputFormat, ReportFormat, RuleSet, RuleSetOptions, ScanOptions, Severity};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Offline audit engine for API and database logs.
#[derive(Parser)]
#[command(name = "tracewarden", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan logs with the built-in and given rule packs and report findings.
    Scan(ScanArgs),
    /// Print inputs as normalized events, one JSON object per line (what Rego rules see).
    Normalize(NormalizeArgs),
    /// Inspect rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules that would run.
    List(RulesArgs),
}

#[derive(Args)]
struct RulesArgs {
    /// A rule pack directory (with `pack.toml`) or a single `.wasm`/`.rego` rule; repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Do not load the built-in packs.
    #[arg(long)]
    no_builtin: bool,
    /// A TOML file of rule options, one table per pack (`[toctou]` then `check_window_ms =
    /// 5000`); each must be an option the pack declares (`tracewarden rules list` shows them).
    #[arg(long, value_name = "FILE")]
    rule_config: Option<PathBuf>,
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
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    rules: RulesArgs,
    /// Report format: text, json or jsonl (one finding per line). Several, comma-separated,
    /// write `report.txt`, `report.json`, `report.jsonl` into the directory `-o` names.
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
    /// Threads for running rules (default: all cores). The report does not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// An earlier JSON or JSON Lines report: findings it holds are left out of `findings` (listed
    /// under `baselined` and counted), so `--fail-on` judges new findings only.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// A TOML file of accepted findings: `[[suppression]]` entries with `rule` and/or
    /// `fingerprint` (narrowed by `principal`, `resource`), a required `justification` and an
    /// optional `expires = 2027-01-31`, judged against each finding's log time (docs/output.md).
    #[arg(long, value_name = "FILE")]
    suppressions: Option<PathBuf>,
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
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Normalize(args) => normalize(args),
        Command::Rules {
            command: RulesCommand::List(args),
        } => list_rules(args),
    }
}

fn load_rules(args: &RulesArgs) -> anyhow::Result<RuleSet> {
    let extra = args
        .rules
        .iter()
        .map(|p| {
            if p.is_dir() {
                PackSource::Dir(p.clone())
            } else {
                PackSource::File(p.clone())
            }
        })
        .collect();
    let config = read_rule_config(args.rule_config.as_ref())?;
    Ok(RuleSet::load(&RuleSetOptions {
        builtin: !args.no_builtin,
        extra,
        config,
        ..RuleSetOptions::default()
    })?)
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
        ..tracewarden::IngestOptions::default()
    })
}

fn write_output(path: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write `{}`", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("cannot write to standard output")
        }
    }
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
    let rules = load_rules(&args.rules)?;
    let (baseline, suppressions) = load_triage(&args)?;
    let mut options = ScanOptions {
        ingest: ingest_options(&args.input, args.rules.rule_config.as_ref())?,
        ..ScanOptions::default()
    };
    if let Some(n) = args.threads {
        options.threads = n.max(1);
    }
    let mut report = tracewarden::scan(&args.input.inputs, &rules, &options)?;
    report.triage(baseline.as_ref(), suppressions.as_ref());
    if let (true, Some(dir)) = (args.format.len() > 1, &args.output) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
    }
    for (format, path) in &targets {
        write_output(path.as_ref(), &report.render(*format))?;
    }

    let mut not_logs = Vec::new();
    for input in &report.inputs {
        let malformed = input
            .skipped_reasons
            .get("malformed record")
            .copied()
            .unwrap_or(0);
        if malformed > 0 {
            eprintln!(
                "warning: `{}`: {malformed} malformed record(s) skipped (listed in the report)",
                input.path
            );
        }
        match (&input.error, input.incomplete()) {
            (_, Some(why)) => eprintln!("error: {why}"),
            (Some(_), None) => not_logs.push(input.path.as_str()),
            (None, None) => {}
        }
    }
    if !not_logs.is_empty() {
        eprintln!(
            "warning: {} file(s) found in directories are no log in a known format and were \
             skipped (the report says why): {}",
            not_logs.len(),
            not_logs.join(", ")
        );
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for failure in &report.rule_errors {
        eprintln!(
            "error: rule file `{}` of pack `{}` ({}) was stopped: {}",
            failure.file,
            failure.pack,
            failure.rules.join(", "),
            failure.reason
        );
    }
    if !report.complete {
        return Ok(ExitCode::from(2));
    }
    let failing = match args.fail_on {
        FailOn::Never => false,
        FailOn::AtLeast(threshold) => report.max_severity().is_some_and(|s| s >= threshold),
    };
    Ok(ExitCode::from(u8::from(failing)))
}

fn normalize(args: NormalizeArgs) -> anyhow::Result<ExitCode> {
    let options = ingest_options(&args.input, args.rule_config.as_ref())?;
    let mut stream = tracewarden::ingest::open(&args.input.inputs, &options)?;
    let (mut out, target): (Box<dyn Write>, String) = match &args.output {
        Some(p) => (
            Box::new(
                std::fs::File::create(p)
                    .with_context(|| format!("cannot write `{}`", p.display()))?,
            ),
            format!("`{}`", p.display()),
        ),
        None => (
            Box::new(std::io::stdout().lock()),
            "standard output".to_owned(),
        ),
    };
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
    let mut out = std::io::BufWriter::new(out.as_mut());
    for mut e in stream.by_ref() {
        if let Some(enricher) = enricher.as_mut() {
            enricher.enrich(&mut e);
        }
        let mut line = tracewarden::event::to_json(&e)?;
        line.push('\n');
        out.write_all(line.as_bytes())
            .with_context(|| format!("cannot write to {target}"))?;
    }
    out.flush()
        .with_context(|| format!("cannot write to {target}"))?;
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

fn list_rules(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args)?;
    let mut out = String::new();
    for pack in rules.packs() {
        for file in &pack.files {
            for r in file.rules() {
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
    write_output(None, &out)?;
    Ok(ExitCode::SUCCESS)
}
