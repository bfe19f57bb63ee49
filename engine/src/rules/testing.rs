//! Pack tests: each case under `PACK/tests/CASE/` (a `case.toml` and the inputs beside it) runs
//! through the scan pipeline (ingest, enrichment, the pack's rules with the case's options) and
//! the findings of the rules it names are compared with its `[[expect]]` entries. What `tracewarden
//! rules test` runs; the CLI only prints the [`PackTestReport`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pack::{self, RuleFile, RulePack, Runtime};
use super::wasm::{ComponentCache, WasmLimits};
use super::{FindingClass, RuleSet, builtin};
use crate::enrich::{Enricher, OwnershipSettings};
use crate::error::{Error, PackRefusal};
use crate::ingest::{self, IngestOptions};

/// The file that says what a case expects.
pub const CASE_FILE: &str = "case.toml";

/// The directory of a pack that holds its test cases.
pub const TESTS_DIR: &str = "tests";

/// How packs are tested.
#[derive(Debug, Clone)]
pub struct PackTestOptions {
    /// Sandbox limits of WASM rules.
    pub limits: WasmLimits,
    /// Where compiled components are kept between runs.
    pub cache: ComponentCache,
    /// Threads for reading inputs and running rules.
    pub threads: usize,
    /// A rule with fewer cases fails; from 2 on it also needs a hit and a miss case.
    pub minimum_tests: usize,
}

impl Default for PackTestOptions {
    fn default() -> Self {
        PackTestOptions {
            limits: WasmLimits::default(),
            cache: ComponentCache::Off,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            minimum_tests: 0,
        }
    }
}

/// A finding as a case states it: what is compared, never the message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    /// The rule id.
    pub rule: String,
    /// Incident or weakness.
    pub class: FindingClass,
    /// The principal, `""` when none.
    #[serde(default)]
    pub principal: String,
    /// The resource, `""` when none.
    #[serde(default)]
    pub resource: String,
    /// The evidence roles, in the finding's order.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    rules: Vec<String>,
    #[serde(default)]
    config: toml::Table,
    #[serde(default)]
    expect: Vec<ExpectedFinding>,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CaseOutcome {
    /// The findings were the expected ones.
    Passed,
    /// They were not: what was expected and not found, what was found and not expected.
    Failed {
        /// Expected findings the rules did not report (each as many times as it is missing).
        missing: Vec<ExpectedFinding>,
        /// Findings the rules reported and the case did not expect.
        unexpected: Vec<ExpectedFinding>,
        /// Other reasons: a miss case that fed a rule no event, a rule stopped during the run.
        problems: Vec<String>,
    },
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseReport {
    /// The case directory's name.
    pub name: String,
    /// The rules it is about.
    pub rules: Vec<String>,
    /// How it went.
    #[serde(flatten)]
    pub outcome: CaseOutcome,
}

/// How well a rule is tested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCoverage {
    /// The rule id.
    pub rule: String,
    /// Cases that expect a finding of it.
    pub hits: Vec<String>,
    /// Cases that name it and expect none.
    pub misses: Vec<String>,
    /// Why it falls short of `--minimum-tests`, if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
}

/// The result of testing one pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackTestReport {
    /// The pack's name.
    pub pack: String,
    /// The directory it was loaded from.
    pub dir: String,
    /// Each case, in name order.
    pub cases: Vec<CaseReport>,
    /// Each rule of the pack, in id order.
    pub coverage: Vec<RuleCoverage>,
}

impl PackTestReport {
    /// Every case passed and every rule has the tests asked for.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.outcome == CaseOutcome::Passed)
            && self.coverage.iter().all(|c| c.short.is_none())
    }
}

/// Runs every case of the pack in `dir`. A refused pack, or a case that cannot be run (a
/// malformed `case.toml`, a rule the pack lacks, options it refuses, an unreadable input), is an
/// error naming the file and the problem; findings that differ from the expected ones are a
/// failed case in the report.
pub fn test_pack(dir: &Path, options: &PackTestOptions) -> Result<PackTestReport, Error> {
    let base = load(dir, options, &BTreeMap::new())?;
    let ids: Vec<String> = base
        .files
        .iter()
        .flat_map(|f| f.rules())
        .map(|r| r.id.clone())
        .collect();
    let cases = read_cases(dir, &ids)?;
    let mut reports = Vec::with_capacity(cases.len());
    for case in &cases {
        let pack = if case.config.is_empty() {
            base.clone()
        } else {
            let overrides = BTreeMap::from([(base.name.clone(), case.config.clone())]);
            load(dir, options, &overrides)
                .map_err(|e| Error::Usage(format!("`{}`: [config]: {e}", case.file.display())))?
        };
        reports.push(CaseReport {
            name: case.name.clone(),
            rules: case.rules.clone(),
            outcome: run_case(case, pack, options)?,
        });
    }
    let coverage = coverage(&ids, &cases, options.minimum_tests);
    Ok(PackTestReport {
        pack: base.name,
        dir: dir.display().to_string(),
        cases: reports,
        coverage,
    })
}

/// A case, read.
struct Case {
    name: String,
    file: PathBuf,
    rules: Vec<String>,
    config: toml::Table,
    expect: Vec<ExpectedFinding>,
    inputs: Vec<PathBuf>,
}

/// Loads the pack in `dir`. A directory holding a built-in pack's source (its manifest is the
/// one compiled in) runs the compiled-in components of its `build = "cargo"` rules and reads its
/// other files from the directory, checked against the built-in digests.
fn load(
    dir: &Path,
    options: &PackTestOptions,
    overrides: &BTreeMap<String, toml::Table>,
) -> Result<RulePack, Error> {
    let refused = |problems| {
        Error::PacksRefused(vec![PackRefusal {
            pack: dir.display().to_string(),
            problems,
        }])
    };
    let text = pack::read_in_dir(dir, "pack.toml")
        .and_then(|b| String::from_utf8(b).map_err(|_| "`pack.toml` is not UTF-8 text".to_owned()))
        .map_err(|e| refused(vec![e]))?;
    let manifest: toml::Table = toml::from_str(&text)
        .map_err(|e| refused(vec![format!("invalid `pack.toml`: {}", e.message())]))?;
    let name = manifest
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_owned();
    let builtin = builtin::PACKS.iter().find(|p| {
        toml::from_str::<toml::Table>(p.manifest)
            .ok()
            .is_some_and(|m| m.get("name").and_then(|n| n.as_str()) == Some(name.as_str()))
    });
    let Some(builtin) = builtin else {
        let source = pack::PackSource::Dir(dir.to_owned());
        return RulePack::load(&source, options.limits, &options.cache, overrides)
            .map_err(|r| Error::PacksRefused(vec![r]));
    };
    let compiled: toml::Table = toml::from_str(builtin.manifest)
        .map_err(|e| refused(vec![format!("the built-in manifest: {}", e.message())]))?;
    if without_built_digests(compiled) != without_built_digests(manifest) {
        return Err(refused(vec![format!(
            "the pack name `{name}` is reserved by a built-in pack, and this `pack.toml` is not \
             the one built into this tracewarden: rebuild tracewarden, or give the pack another \
             name"
        )]));
    }
    let origin = dir.display().to_string();
    pack::load_manifest(
        &origin,
        builtin.manifest,
        |file| match builtin.files.iter().find(|(n, _)| *n == file) {
            Some((_, bytes)) if pack::is_built(builtin.manifest, file) => Ok(bytes.to_vec()),
            _ => pack::read_in_dir(dir, file),
        },
        options.limits,
        &options.cache,
        overrides,
    )
    .map_err(|r| Error::PacksRefused(vec![r]))
}

/// The manifest without the digests of its built rules (the engine's build fills them in).
fn without_built_digests(mut manifest: toml::Table) -> toml::Table {
    if let Some(rules) = manifest.get_mut("rules").and_then(|r| r.as_array_mut()) {
        for rule in rules.iter_mut().filter_map(|r| r.as_table_mut()) {
            if rule.contains_key("build") {
                rule.remove("sha256");
            }
        }
    }
    manifest
}

/// Reads every case under `dir/tests/`, in name order.
fn read_cases(dir: &Path, ids: &[String]) -> Result<Vec<Case>, Error> {
    let tests = dir.join(TESTS_DIR);
    if !tests.is_dir() {
        return Ok(Vec::new());
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&tests)
        .map_err(io(&tests))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(&tests))?;
    dirs.retain(|p| p.is_dir());
    dirs.sort();
    let mut cases = Vec::with_capacity(dirs.len());
    for case_dir in dirs {
        let name = case_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = case_dir.join(CASE_FILE);
        let bad = |message: String| Error::Usage(format!("`{}`: {message}", file.display()));
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(bad(format!(
                "the case name `{name}` is not made of a-z, 0-9, `-` and `_`"
            )));
        }
        let text = std::fs::read_to_string(&file).map_err(io(&file))?;
        let parsed: CaseFile =
            toml::from_str(&text).map_err(|e| bad(format!("invalid case: {}", e.message())))?;
        if parsed.rules.is_empty() {
            return Err(bad("`rules` names no rule".to_owned()));
        }
        for rule in parsed
            .rules
            .iter()
            .chain(parsed.expect.iter().map(|e| &e.rule))
        {
            if !ids.contains(rule) {
                return Err(bad(format!(
                    "rule `{rule}` is not in the pack (its rules: {})",
                    ids.join(", ")
                )));
            }
        }
        if let Some(e) = parsed
            .expect
            .iter()
            .find(|e| !parsed.rules.contains(&e.rule))
        {
            return Err(bad(format!(
                "an `[[expect]]` of rule `{}`, which `rules` does not name",
                e.rule
            )));
        }
        let mut inputs: Vec<PathBuf> = std::fs::read_dir(&case_dir)
            .map_err(io(&case_dir))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(&case_dir))?;
        // Notes on how a case's inputs were made are no inputs.
        inputs.retain(|p| {
            p.file_name().is_some_and(|n| n != CASE_FILE) && p.extension().is_none_or(|e| e != "md")
        });
        inputs.sort();
        if inputs.is_empty() {
            return Err(bad("the case directory holds no input file".to_owned()));
        }
        cases.push(Case {
            name,
            file,
            rules: parsed.rules,
            config: parsed.config,
            expect: parsed.expect,
            inputs,
        });
    }
    Ok(cases)
}

/// Runs one case through ingest, enrichment and `pack`, and compares. A pack whose Rego rules
/// declare `where` or `reads` runs the case again with neither: a finding that comes out only
/// then is one the declarations lose in a scan.
fn run_case(case: &Case, pack: RulePack, options: &PackTestOptions) -> Result<CaseOutcome, Error> {
    let undeclared = undeclared(&pack);
    let (actual, mut problems) = findings_of(case, pack, options)?;
    if let Some(pack) = undeclared {
        let (whole, _) = findings_of(case, pack, options)?;
        let (lost, added) = difference(&whole, &actual);
        let named =
            |f: &ExpectedFinding| format!("{} on `{}` by `{}`", f.rule, f.resource, f.principal);
        for f in &lost {
            problems.push(format!(
                "a Rego rule's `where` or `reads` loses a finding: {} comes out only when the \
                 rule is given whole events and evaluates every event; declare every test and \
                 field its `findings` makes of an event (docs/rules.md)",
                named(f)
            ));
        }
        for f in &added {
            problems.push(format!(
                "a Rego rule's `where` or `reads` adds a finding: {} does not come out when the \
                 rule is given whole events and evaluates every event (docs/rules.md)",
                named(f)
            ));
        }
    }
    let (missing, unexpected) = difference(&case.expect, &actual);
    Ok(
        if missing.is_empty() && unexpected.is_empty() && problems.is_empty() {
            CaseOutcome::Passed
        } else {
            CaseOutcome::Failed {
                missing,
                unexpected,
                problems,
            }
        },
    )
}

/// `pack` with its Rego rules declaring neither `where` nor `reads`, if any declares one.
fn undeclared(pack: &RulePack) -> Option<RulePack> {
    let declares =
        |f: &RuleFile| matches!(&f.runtime, Runtime::Rego(r) if r.declares_what_it_reads());
    if !pack.files.iter().any(declares) {
        return None;
    }
    let mut pack = pack.clone();
    for file in &mut pack.files {
        if let Runtime::Rego(r) = &mut file.runtime {
            **r = r.undeclared();
        }
    }
    Some(pack)
}

/// The case's findings of its rules with `pack`, and the problems of the run (a rule file
/// stopped, a miss case its rule was sent nothing of).
fn findings_of(
    case: &Case,
    pack: RulePack,
    options: &PackTestOptions,
) -> Result<(Vec<ExpectedFinding>, Vec<String>), Error> {
    let rules = RuleSet {
        packs: vec![pack],
        ownership: OwnershipSettings::default(),
        deselected: Default::default(),
    };
    let ingest_options = IngestOptions {
        strict: true,
        threads: options.threads.max(1),
        ..IngestOptions::default()
    };
    let mut stream = ingest::open(&case.inputs, &ingest_options)?;
    let mut enricher = Enricher::new(rules.ownership());
    let outcome = rules.run(enricher.wrap(stream.boxed()), options.threads.max(1));
    let (inputs, _) = stream.finish()?;
    if let Some(why) = inputs.iter().find_map(|i| i.incomplete()) {
        return Err(Error::Usage(format!("`{}`: {why}", case.file.display())));
    }
    let mut problems: Vec<String> = outcome
        .failures
        .iter()
        .map(|f| format!("rule file `{}` was stopped: {}", f.file, f.reason))
        .collect();
    for rule in &case.rules {
        let hit = case.expect.iter().any(|e| &e.rule == rule);
        if !hit && outcome.events_seen.get(rule).copied().unwrap_or(0) == 0 {
            problems.push(format!(
                "miss case for {rule}, which was sent no event of it: a miss case must feed the \
                 rule events it then does not report on"
            ));
        }
    }
    let findings = outcome.findings.load().map_err(|e| {
        Error::Usage(format!(
            "`{}`: cannot read back the findings of the case: {e}",
            case.file.display()
        ))
    })?;
    let actual = findings
        .iter()
        .filter(|f| case.rules.contains(&f.rule_id))
        .map(|f| ExpectedFinding {
            rule: f.rule_id.clone(),
            class: f.class,
            principal: f.principal.clone(),
            resource: f.resource.clone(),
            evidence: f.evidence.iter().map(|e| e.role.clone()).collect(),
        })
        .collect();
    Ok((actual, problems))
}

/// `(expected − actual, actual − expected)` as multisets, each sorted.
fn difference(
    expected: &[ExpectedFinding],
    actual: &[ExpectedFinding],
) -> (Vec<ExpectedFinding>, Vec<ExpectedFinding>) {
    let mut balance: BTreeMap<&ExpectedFinding, i64> = BTreeMap::new();
    for e in expected {
        *balance.entry(e).or_default() += 1;
    }
    for a in actual {
        *balance.entry(a).or_default() -= 1;
    }
    let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
    for (finding, n) in balance {
        let side = if n > 0 { &mut missing } else { &mut unexpected };
        side.extend(std::iter::repeat_n(
            finding.clone(),
            n.unsigned_abs() as usize,
        ));
    }
    (missing, unexpected)
}

/// Each rule's hit and miss cases, and whether they reach `minimum`.
fn coverage(ids: &[String], cases: &[Case], minimum: usize) -> Vec<RuleCoverage> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.into_iter()
        .map(|rule| {
            let (mut hits, mut misses) = (Vec::new(), Vec::new());
            for case in cases.iter().filter(|c| c.rules.contains(&rule)) {
                if case.expect.iter().any(|e| e.rule == rule) {
                    hits.push(case.name.clone());
                } else {
                    misses.push(case.name.clone());
                }
            }
            let total = hits.len() + misses.len();
            let short = if total < minimum {
                Some(format!(
                    "{total} test case(s), fewer than the {minimum} `--minimum-tests` asks for"
                ))
            } else if minimum >= 2 && hits.is_empty() {
                Some("no hit case (one expecting a finding of it)".to_owned())
            } else if minimum >= 2 && misses.is_empty() {
                Some("no miss case (one naming it and expecting no finding)".to_owned())
            } else {
                None
            };
            RuleCoverage {
                rule,
                hits,
                misses,
                short,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, principal: &str) -> ExpectedFinding {
        ExpectedFinding {
            rule: rule.to_owned(),
            class: FindingClass::Incident,
            principal: principal.to_owned(),
            resource: "orders/1".to_owned(),
            evidence: vec!["delete".to_owned(), "read".to_owned()],
        }
    }

    #[test]
    fn findings_are_compared_as_multisets() {
        let (a, b, c) = (finding("R", "a"), finding("R", "b"), finding("R", "c"));
        let expected = [a.clone(), a.clone(), b.clone()];
        let actual = [b.clone(), a.clone(), c.clone()];
        let (missing, unexpected) = difference(&expected, &actual);
        assert_eq!(missing, [a]);
        assert_eq!(unexpected, [c]);
        let one = [b];
        assert_eq!(difference(&one, &one), (vec![], vec![]));
    }

    #[test]
    fn coverage_counts_hits_and_misses_and_applies_the_minimum() {
        let case = |name: &str, expect: Vec<ExpectedFinding>| Case {
            name: name.to_owned(),
            file: PathBuf::new(),
            rules: vec!["R-1".to_owned(), "R-2".to_owned()],
            config: toml::Table::new(),
            expect,
            inputs: Vec::new(),
        };
        let cases = [case("hit", vec![finding("R-1", "a")]), case("miss", vec![])];
        let ids = ["R-2".to_owned(), "R-1".to_owned()];
        let got = coverage(&ids, &cases, 2);
        assert_eq!(got[0].rule, "R-1");
        assert_eq!(
            (got[0].hits.clone(), got[0].misses.clone()),
            (vec!["hit".to_owned()], vec!["miss".to_owned()])
        );
        assert_eq!(got[0].short, None);
        assert_eq!(
            got[1].short.as_deref(),
            Some("no hit case (one expecting a finding of it)")
        );
        assert_eq!(
            coverage(&ids, &cases, 3)[0].short.as_deref(),
            Some("2 test case(s), fewer than the 3 `--minimum-tests` asks for")
        );
        assert_eq!(coverage(&ids, &cases, 1)[1].short, None);
    }

    /// A copy of `rules/stale-keys` (a WASM rule built from its crate and a Rego rule) in a
    /// temporary directory.
    fn stale_keys_copy() -> tempfile::TempDir {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/stale-keys");
        let dir = tempfile::tempdir().unwrap();
        for file in ["pack.toml", "key002.rego"] {
            std::fs::copy(src.join(file), dir.path().join(file)).unwrap();
        }
        dir
    }

    #[test]
    fn a_built_in_pack_runs_from_its_source_and_a_changed_copy_is_refused() {
        let copy = stale_keys_copy();
        let pack = load(copy.path(), &PackTestOptions::default(), &BTreeMap::new()).unwrap();
        assert_eq!(pack.name, "stale-keys");
        let rego = copy.path().join("key002.rego");
        let text = std::fs::read_to_string(&rego).unwrap();
        std::fs::write(&rego, text + "\n# changed\n").unwrap();
        let err = load(copy.path(), &PackTestOptions::default(), &BTreeMap::new()).unwrap_err();
        assert!(
            err.to_string()
                .contains("`key002.rego` does not match its digest: `pack.toml` says `sha256:"),
            "{err}"
        );
        let manifest = copy.path().join("pack.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, text.replace("version = \"", "version = \"9")).unwrap();
        let err = load(copy.path(), &PackTestOptions::default(), &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "rule pack `{}` refused:\n  - the pack name `stale-keys` is reserved by a built-in \
                 pack, and this `pack.toml` is not the one built into this tracewarden: rebuild \
                 tracewarden, or give the pack another name",
                copy.path().display()
            )
        );
    }

    /// `rules test` runs a pack whose Rego rule declares `where` or `reads` again with neither,
    /// and names a finding the declarations lose.
    #[test]
    fn a_reads_that_misses_a_field_the_rule_reads_fails_its_cases() {
        // TW-DDB-001's Rego reference, with the built-in pack's case.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let src = root.join("tests/fixtures/packs/dynamodb-rego");
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("tests/unconditional-update");
        std::fs::create_dir_all(&case).unwrap();
        for file in ["case.toml", "toctou-positive.json"] {
            std::fs::copy(
                root.join("rules/dynamodb/tests/unconditional-update")
                    .join(file),
                case.join(file),
            )
            .unwrap();
        }
        std::fs::copy(src.join("pack.toml"), dir.path().join("pack.toml")).unwrap();
        let rule = std::fs::read_to_string(src.join("ddb001.rego")).unwrap();
        let rego = dir.path().join("ddb001.rego");
        let files = ["ddb001.rego".to_owned()];
        std::fs::write(&rego, &rule).unwrap();
        super::super::digests::write_digests(dir.path(), &files).unwrap();
        let report = test_pack(dir.path(), &PackTestOptions::default()).unwrap();
        assert!(report.passed(), "{report:?}");

        // The rule reads the operation, but `reads` no longer says so: the values lack it, and
        // the case's finding comes out only from whole events.
        let wrong = rule.replace("\"db_operation.operation\", ", "");
        assert_ne!(wrong, rule);
        std::fs::write(&rego, &wrong).unwrap();
        super::super::digests::write_digests(dir.path(), &files).unwrap();
        let report = test_pack(dir.path(), &PackTestOptions::default()).unwrap();
        let [case] = &report.cases[..] else {
            panic!("{report:?}")
        };
        let CaseOutcome::Failed {
            missing,
            unexpected,
            problems,
        } = &case.outcome
        else {
            panic!("{case:?}")
        };
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(unexpected.is_empty(), "{unexpected:?}");
        assert_eq!(
            problems,
            &[
                "a Rego rule's `where` or `reads` loses a finding: TW-DDB-001 on `orders UpdateItem` \
               by `arn:aws:sts::111122223333:assumed-role/orders-api/alice` comes out only when \
               the rule is given whole events and evaluates every event; declare every test and \
               field its `findings` makes of an event (docs/rules.md)"
            ]
        );
    }
}
