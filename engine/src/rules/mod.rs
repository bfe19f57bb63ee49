//! Rules: packs, the WASM and Rego hosts, and dispatching events to them. Each rule file runs in
//! its own session per scan; a failing one is stopped and reported while the others go on.

mod meta;
mod pack;
mod rego;
mod wasm;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

pub use meta::{Confidence, Partitioning, RuleMeta, Severity};
pub use pack::{EmbeddedPack, PackSource, RuleFile, RuleKind, RulePack, Runtime, digest};
pub use rego::RegoRule;
pub use wasm::{CONTRACT_VERSION, WasmComponent, WasmLimits};

use crate::error::{Error, PackRefusal};
use crate::event::Event;
use crate::finding::{Finding, RawFinding};

mod builtin {
    use super::EmbeddedPack;
    include!(concat!(env!("OUT_DIR"), "/builtin_packs.rs"));
}

/// Options for loading rules.
#[derive(Debug, Clone)]
pub struct RuleSetOptions {
    /// Load the built-in packs.
    pub builtin: bool,
    /// Extra packs: directories with `pack.toml`, or single `.wasm`/`.rego` files.
    pub extra: Vec<PackSource>,
    /// Sandbox limits of WASM rules.
    pub limits: WasmLimits,
}

impl Default for RuleSetOptions {
    fn default() -> Self {
        RuleSetOptions {
            builtin: true,
            extra: Vec::new(),
            limits: WasmLimits::default(),
        }
    }
}

/// The loaded rules of a scan. Load once; scan many times (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct RuleSet {
    packs: Vec<RulePack>,
}

/// The number of events per call into a rule: measured as the sweet spot for WASM.
pub const BATCH_SIZE: usize = 256;

/// Most findings one rule file may return in a scan; more is treated as a runaway rule.
pub const MAX_FINDINGS_PER_FILE: usize = 100_000;

/// A rule file that failed during a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleFailure {
    /// The pack.
    pub pack: String,
    /// The file within the pack.
    pub file: String,
    /// The rules it carried; none of them reported after the failure.
    pub rules: Vec<String>,
    /// Why it was stopped.
    pub reason: String,
    /// Events it had been sent before it failed.
    pub events_before_failure: u64,
}

/// What running the rules produced.
#[derive(Debug, Clone, Default)]
pub struct RuleOutcome {
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// Rule files that were stopped.
    pub failures: Vec<RuleFailure>,
    /// Events each rule id was sent, by rule id.
    pub events_seen: std::collections::BTreeMap<String, u64>,
}

impl RuleSet {
    /// Loads the built-in packs and `options.extra`. Every refused pack is reported, with every
    /// problem; nothing runs unless all packs load.
    pub fn load(options: &RuleSetOptions) -> Result<RuleSet, Error> {
        let mut sources: Vec<PackSource> = Vec::new();
        if options.builtin {
            sources.extend(builtin::PACKS.iter().map(PackSource::Embedded));
        }
        sources.extend(options.extra.iter().cloned());
        let mut packs = Vec::new();
        let mut refusals = Vec::new();
        for source in &sources {
            match RulePack::load(source, options.limits) {
                Ok(p) => packs.push(p),
                Err(r) => refusals.push(r),
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        for p in &packs {
            for f in &p.files {
                for r in f.rules() {
                    if let Some(other) = seen.insert(r.id.clone(), p.name.clone()) {
                        refusals.push(PackRefusal {
                            pack: p.name.clone(),
                            problems: vec![format!(
                                "rule id `{}` is already declared by pack `{other}`",
                                r.id
                            )],
                        });
                    }
                }
            }
        }
        if refusals.is_empty() {
            Ok(RuleSet { packs })
        } else {
            Err(Error::PacksRefused(refusals))
        }
    }

    /// The same rules, keeping only the packs for which `keep` is true.
    pub fn retain_packs(mut self, keep: impl Fn(&RulePack) -> bool) -> RuleSet {
        self.packs.retain(keep);
        self
    }

    /// The loaded packs.
    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    /// Runs every rule file over `events` (in time order) on up to `threads` threads. The result
    /// does not depend on the thread count.
    pub fn run(&self, events: &[Event], threads: usize) -> RuleOutcome {
        let jobs: Vec<(&RulePack, &RuleFile)> = self
            .packs
            .iter()
            .flat_map(|p| p.files.iter().map(move |f| (p, f)))
            .collect();
        let results: Mutex<Vec<Option<FileResult>>> =
            Mutex::new(jobs.iter().map(|_| None).collect());
        let next = AtomicUsize::new(0);
        let workers = threads.clamp(1, jobs.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((pack, file)) = jobs.get(i) else {
                            break;
                        };
                        let result = run_file(pack, file, events);
                        if let Ok(mut r) = results.lock()
                            && let Some(slot) = r.get_mut(i)
                        {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        let mut outcome = RuleOutcome::default();
        for result in results
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .flatten()
        {
            outcome.findings.extend(result.findings);
            outcome.failures.extend(result.failure);
            outcome.events_seen.extend(result.events_seen);
        }
        outcome
            .findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        outcome
    }
}

struct FileResult {
    findings: Vec<Finding>,
    failure: Option<RuleFailure>,
    events_seen: Vec<(String, u64)>,
}

/// A rule file's session for one scan.
enum Session {
    Wasm(Box<wasm::WasmSession>),
    Rego(Box<rego::RegoSession>),
}

impl Session {
    fn on_events(&mut self, events: &[&Event]) -> Result<Vec<RawFinding>, String> {
        match self {
            Session::Wasm(s) => s.on_events(events),
            Session::Rego(s) => s.on_events(events),
        }
    }

    fn finish(&mut self) -> Result<Vec<RawFinding>, String> {
        match self {
            Session::Wasm(s) => s.finish(),
            Session::Rego(_) => Ok(Vec::new()),
        }
    }
}

/// Feeds one rule file the events its rules subscribe to, in batches; stops it at its first
/// failure (its instance is discarded, never fed again).
fn run_file(pack: &RulePack, file: &RuleFile, events: &[Event]) -> FileResult {
    let rules = file.rules();
    let mut result = FileResult {
        findings: Vec::new(),
        failure: None,
        events_seen: rules.iter().map(|r| (r.id.clone(), 0)).collect(),
    };
    let fail = |reason: String, sent: u64| RuleFailure {
        pack: pack.name.clone(),
        file: file.file.clone(),
        rules: rules.iter().map(|r| r.id.clone()).collect(),
        reason,
        events_before_failure: sent,
    };
    let mut session = match &file.runtime {
        Runtime::Wasm(c) => match c.instantiate() {
            Ok(s) => Session::Wasm(Box::new(s)),
            Err(reason) => {
                result.failure = Some(fail(reason, 0));
                return result;
            }
        },
        Runtime::Rego(r) => Session::Rego(Box::new(r.session())),
    };
    let mut sent = 0u64;
    let mut batch: Vec<&Event> = Vec::with_capacity(BATCH_SIZE);
    let mut wanted = events
        .iter()
        .filter(|e| rules.iter().any(|r| r.wants(e)))
        .peekable();
    let collect = |raw: Vec<RawFinding>, result: &mut FileResult| -> Result<(), String> {
        for f in raw {
            let meta = rules
                .iter()
                .find(|r| r.id == f.rule_id)
                .ok_or_else(|| format!("returned a finding for undeclared rule `{}`", f.rule_id))?;
            result.findings.push(f.complete(meta, &pack.name));
        }
        if result.findings.len() > MAX_FINDINGS_PER_FILE {
            return Err(format!(
                "returned more than {MAX_FINDINGS_PER_FILE} findings"
            ));
        }
        Ok(())
    };
    loop {
        batch.clear();
        batch.extend(wanted.by_ref().take(BATCH_SIZE));
        let last = wanted.peek().is_none();
        let outcome = if batch.is_empty() {
            Ok(Vec::new())
        } else {
            session.on_events(&batch)
        };
        let outcome = outcome.and_then(|raw| collect(raw, &mut result));
        if let Err(reason) = outcome {
            result.failure = Some(fail(reason, sent));
            return result;
        }
        for e in &batch {
            for (rule, (_, n)) in rules.iter().zip(result.events_seen.iter_mut()) {
                if rule.wants(e) {
                    *n += 1;
                }
            }
        }
        sent += batch.len() as u64;
        if last {
            break;
        }
    }
    if let Err(reason) = session.finish().and_then(|raw| collect(raw, &mut result)) {
        result.failure = Some(fail(reason, sent));
    }
    result
}
