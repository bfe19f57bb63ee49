//! `tracewarden rules test PACK...`: prints what the library's pack tests
//! (`tracewarden::rules::testing`) found, as a per-case report with a diff of the findings and
//! each rule's coverage, or as JSON.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tracewarden::rules::testing::{
    self, CaseOutcome, ExpectedFinding, PackTestOptions, PackTestReport,
};

/// `rules test`'s flags.
#[derive(Args)]
pub struct TestArgs {
    /// Pack directories; each case under `PACK/tests/*/` runs (built-in packs from their source
    /// directory, `rules/toctou`, with their compiled-in components).
    #[arg(required = true, value_name = "PACK")]
    packs: Vec<PathBuf>,
    /// Fail a rule with fewer than N cases; from 2 on it also needs a hit case and a miss case.
    #[arg(long, default_value_t = 0, value_name = "N")]
    minimum_tests: usize,
    /// Output: text (a report with diffs) or json (one object per pack, for CI tooling).
    #[arg(long, default_value = "text", value_name = "FORMAT")]
    format: TestFormat,
    /// Keep compiled rule components in DIR (as `scan --cache-dir`).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile rule components at every start (as `scan --no-cache`).
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// Threads for reading inputs and running rules (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// How `rules test` prints.
#[derive(Clone, Copy, ValueEnum)]
enum TestFormat {
    Text,
    Json,
}

/// Tests every pack; exit 0 when all pass, 1 when a case fails or a rule falls short of
/// `--minimum-tests`. A pack or case that cannot be run is an error (exit 2).
pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let cache = crate::cache_in(args.cache_dir.as_ref(), args.no_cache);
    let mut options = PackTestOptions {
        cache,
        minimum_tests: args.minimum_tests,
        ..PackTestOptions::default()
    };
    if let Some(n) = args.threads {
        options.threads = n.max(1);
    }
    let mut reports = Vec::with_capacity(args.packs.len());
    for pack in &args.packs {
        reports.push(testing::test_pack(pack, &options)?);
    }
    let out = match args.format {
        TestFormat::Text => text(&reports, args.minimum_tests),
        TestFormat::Json => {
            let mut out = serde_json::to_string_pretty(&reports)?;
            out.push('\n');
            out
        }
    };
    crate::write_output(&out)?;
    Ok(if reports.iter().all(PackTestReport::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The text report: each case, ok or FAIL with what differed; each rule's coverage; a summary.
fn text(reports: &[PackTestReport], minimum: usize) -> String {
    let mut out = String::new();
    let (mut passed, mut failed, mut short) = (0, 0, 0);
    for report in reports {
        let _ = writeln!(
            out,
            "pack `{}` ({}): {} case(s)",
            report.pack,
            report.dir,
            report.cases.len()
        );
        for case in &report.cases {
            match &case.outcome {
                CaseOutcome::Passed => {
                    passed += 1;
                    let _ = writeln!(out, "  ok    {}", case.name);
                }
                CaseOutcome::Failed {
                    missing,
                    unexpected,
                    problems,
                } => {
                    failed += 1;
                    let _ = writeln!(out, "  FAIL  {}", case.name);
                    if !missing.is_empty() {
                        let _ = writeln!(out, "        expected, not reported:");
                        for f in missing {
                            let _ = writeln!(out, "        - {}", expectation(f));
                        }
                    }
                    if !unexpected.is_empty() {
                        let _ = writeln!(out, "        reported, not expected:");
                        for f in unexpected {
                            let _ = writeln!(out, "        + {}", expectation(f));
                        }
                    }
                    for p in problems {
                        let _ = writeln!(out, "        {p}");
                    }
                }
            }
        }
        let _ = writeln!(out, "  coverage (hit cases, miss cases):");
        for rule in &report.coverage {
            let _ = write!(
                out,
                "    {:<14} {} hit, {} miss",
                rule.rule,
                rule.hits.len(),
                rule.misses.len()
            );
            if let Some(why) = &rule.short {
                short += 1;
                let _ = write!(out, "  FAIL: {why}");
            }
            out.push('\n');
        }
    }
    let _ = write!(
        out,
        "{} pack(s), {} case(s): {passed} passed, {failed} failed",
        reports.len(),
        passed + failed
    );
    if short > 0 {
        let _ = write!(out, "; {short} rule(s) short of --minimum-tests {minimum}");
    }
    out.push('\n');
    out
}

/// A finding as an `[[expect]]` entry would state it, on one line.
fn expectation(f: &ExpectedFinding) -> String {
    let roles: Vec<String> = f.evidence.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "{{ rule = {:?}, class = {:?}, principal = {:?}, resource = {:?}, evidence = [{}] }}",
        f.rule,
        f.class.as_str(),
        f.principal,
        f.resource,
        roles.join(", ")
    )
}
