//! Rules: packs, the WASM and Rego hosts, and dispatching events to them. Each rule file runs in
//! its own session per scan; a failing one is stopped and reported while the others go on.

mod archive;
mod config;
pub mod digests;
mod keys;
mod meta;
mod pack;
mod partition;
mod rego;
mod rego_bounds;
mod rego_eval;
mod rego_filter;
mod rego_findings;
mod rego_input;
mod rego_reads;
pub mod scaffold;
pub mod testing;
mod trust;
mod wanted;
mod wasm;

use std::sync::Arc;

use serde::Serialize;

pub use archive::{
    ARCHIVE_EXTENSION, Built, MAX_ARCHIVE_BYTES, MAX_ARCHIVE_ENTRIES, build_archive, is_archive,
};
pub use config::{OptionValue, PackConfig, RuleConfig, parse_rule_config};
pub use keys::{PublicKey, SecretKey, keygen, public_key_path};
pub use meta::{Confidence, FactNeed, FindingClass, Partitioning, RuleMeta, Severity};
pub use pack::{
    BuildStep, BuildTool, EmbeddedPack, PackSource, RuleFile, RuleKind, RulePack, Runtime,
    build_steps, digest, pack_name, rule_files,
};
pub use partition::MAX_PARTITIONS;
pub use rego::RegoRule;
pub use trust::{
    LOCK_FILE, Locked, PackLock, SIGNATURE_FILE, TrustError, TrustPolicy, Verified, lock_pack,
    sign_pack, verify_pack,
};
pub use wasm::{
    CONTRACT_VERSION, CacheOutcome, ComponentCache, MAX_CACHED_COMPONENTS, WasmComponent,
    WasmLimits, accepted_contracts,
};

use crate::enrich::OwnershipSettings;
use crate::error::{Error, PackRefusal};
use crate::event::Event;
use crate::finding::{FindingSink, Findings, RawFinding};
use partition::Shard;
use rego_input::SharedValue;
use rego_reads::Reads;
use wanted::{Subscriptions, Wanted};

mod builtin {
    use super::EmbeddedPack;
    include!(concat!(env!("OUT_DIR"), "/builtin_packs.rs"));
}

/// Options for loading rules.
#[derive(Debug, Clone)]
pub struct RuleSetOptions {
    /// Load the built-in packs.
    pub builtin: bool,
    /// Extra packs: directories with `pack.toml`, `.twpack` archives, or single `.wasm`/`.rego`
    /// files.
    pub extra: Vec<PackSource>,
    /// Which extra packs may load: their locks are always checked; signatures when required.
    pub trust: TrustPolicy,
    /// Sandbox limits of WASM rules.
    pub limits: WasmLimits,
    /// Option overrides by pack name (a rule-config file, see [`parse_rule_config`]).
    pub config: RuleConfig,
    /// Where compiled WASM components are kept between runs. Off by default: every component
    /// is compiled at every load until the embedding program names a directory it may write
    /// (the CLI does, under the user's cache directory).
    pub cache: ComponentCache,
}

impl Default for RuleSetOptions {
    fn default() -> Self {
        RuleSetOptions {
            builtin: true,
            extra: Vec::new(),
            trust: TrustPolicy::default(),
            limits: WasmLimits::default(),
            config: std::collections::BTreeMap::new(),
            cache: ComponentCache::Off,
        }
    }
}

/// The loaded rules of a scan. Load once; scan many times (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct RuleSet {
    packs: Vec<RulePack>,
    ownership: OwnershipSettings,
    /// Rules left out by [`RuleSet::select`]: their findings are dropped and they are not
    /// reported as run (a file whose every rule is left out is not run at all).
    deselected: std::collections::BTreeSet<String>,
}

/// The rule-config table that holds the enrichment stage's ownership settings, not a pack's
/// options.
pub const OWNERSHIP_TABLE: &str = "ownership";

/// The number of events per call into a rule: measured as the sweet spot for WASM.
pub const BATCH_SIZE: usize = 256;

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

impl RuleFailure {
    /// `file` of `pack` stopped for `reason`, before it was sent any event.
    fn of(pack: &RulePack, file: &RuleFile, reason: String) -> RuleFailure {
        RuleFailure {
            pack: pack.name.clone(),
            file: file.file.clone(),
            rules: file.rules().iter().map(|r| r.id.clone()).collect(),
            reason,
            events_before_failure: 0,
        }
    }
}

/// How [`RuleSet::run_with`] runs the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads; the findings do not depend on it.
    pub threads: usize,
    /// Bytes of findings each rule file holds in memory, the rest in sorted runs on disk; the
    /// findings do not depend on it.
    pub findings_memory_bytes: usize,
    /// Instances of each rule file whose rules all declare one partitioning (by principal,
    /// resource or trace), each fed its share of the partition keys (1: one instance per file;
    /// at most [`MAX_PARTITIONS`]). Not derived from `threads`: the state a rule bounds is
    /// bounded per instance, and which of a weakness site's occurrences are its examples where
    /// their times tie, so findings may depend on it; they never depend on the threads.
    pub partitions: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: 1,
            findings_memory_bytes: crate::finding::FINDINGS_MEMORY_BYTES,
            partitions: 1,
        }
    }
}

/// What running the rules produced.
#[derive(Debug, Clone, Default)]
pub struct RuleOutcome {
    /// Findings, in report order (some may be held on disk).
    pub findings: Findings,
    /// Rule files that were stopped.
    pub failures: Vec<RuleFailure>,
    /// Events each rule id was sent, by rule id.
    pub events_seen: std::collections::BTreeMap<String, u64>,
    /// What rules said of their state's evictions (contract 1.1 `state-usage`), by rule id:
    /// findings that needed the evicted entries may be missing.
    pub state_notes: std::collections::BTreeMap<String, Vec<String>>,
    /// The rule files that ran as several instances ([`RunOptions::partitions`]).
    pub partitioned: Vec<PartitionedRun>,
}

/// A rule file that ran as several instances, each sent its share of the partition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionedRun {
    /// The pack.
    pub pack: String,
    /// The file within the pack.
    pub file: String,
    /// What the events were split by.
    pub partitioning: Partitioning,
    /// The instances.
    pub instances: usize,
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
        let mut config = options.config.clone();
        let ownership = match config.remove(OWNERSHIP_TABLE) {
            Some(table) => OwnershipSettings::from_toml(&table).map_err(Error::Usage)?,
            None => OwnershipSettings::default(),
        };
        let mut packs = Vec::new();
        let mut refusals = Vec::new();
        // Built-in pack names are reserved, whether the built-ins are loaded or not: a pack of
        // the same name would run beside them, or stand in for them unnoticed.
        let reserved = builtin_names();
        for source in &sources {
            match RulePack::load_trusted(
                source,
                options.limits,
                &options.cache,
                &config,
                &options.trust,
            ) {
                Ok(p)
                    if !matches!(source, PackSource::Embedded(_)) && reserved.contains(&p.name) =>
                {
                    refusals.push(PackRefusal {
                        pack: format!("{} ({})", p.name, p.origin),
                        problems: vec![format!(
                            "the pack name `{}` is reserved by a built-in pack: give the pack \
                             another name",
                            p.name
                        )],
                    });
                }
                Ok(p) => packs.push(p),
                Err(r) => refusals.push(r),
            }
        }
        for p in packs.iter().filter(|p| p.name == OWNERSHIP_TABLE) {
            refusals.push(PackRefusal {
                pack: format!("{} ({})", p.name, p.origin),
                problems: vec![format!(
                    "the pack name `{OWNERSHIP_TABLE}` is reserved: the rule config's \
                     `[{OWNERSHIP_TABLE}]` table holds the engine's ownership settings"
                )],
            });
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
            let unknown: Vec<&str> = config
                .keys()
                .filter(|name| !packs.iter().any(|p| &p.name == *name))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let loaded: Vec<&str> = packs.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "the rule config sets options of {}, which {} not loaded (loaded packs: {}; \
                     `[{OWNERSHIP_TABLE}]` holds the ownership settings)",
                    unknown
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unknown.len() == 1 { "is" } else { "are" },
                    loaded.join(", ")
                )));
            }
            Ok(RuleSet {
                packs,
                ownership,
                deselected: Default::default(),
            })
        } else {
            Err(Error::PacksRefused(refusals))
        }
    }

    /// The same rules, keeping only the packs for which `keep` is true.
    pub fn retain_packs(mut self, keep: impl Fn(&RulePack) -> bool) -> RuleSet {
        self.packs.retain(keep);
        self
    }

    /// Keeps the rules whose id matches one of `include` (every rule when it is empty) and none
    /// of `exclude`; patterns are globs (`TW-TOCTOU-*`). A pattern that matches no loaded rule is
    /// an error naming it, so a typo never silently runs everything or nothing.
    pub fn select(mut self, include: &[String], exclude: &[String]) -> Result<RuleSet, Error> {
        let compile =
            |flag: &str, patterns: &[String]| -> Result<Vec<globset::GlobMatcher>, Error> {
                patterns
                    .iter()
                    .map(|p| {
                        globset::Glob::new(p)
                            .map(|g| g.compile_matcher())
                            .map_err(|e| Error::Usage(format!("`{flag} {p}`: {}", e.kind())))
                    })
                    .collect()
            };
        let include_m = compile("--rule", include)?;
        let exclude_m = compile("--exclude-rule", exclude)?;
        let ids: Vec<String> = self
            .packs
            .iter()
            .flat_map(|p| &p.files)
            .flat_map(|f| f.rules())
            .map(|r| r.id.clone())
            .collect();
        for (flag, patterns, matchers) in [
            ("--rule", include, &include_m),
            ("--exclude-rule", exclude, &exclude_m),
        ] {
            for (p, m) in patterns.iter().zip(matchers) {
                if !ids.iter().any(|id| m.is_match(id)) {
                    return Err(Error::Usage(format!(
                        "`{flag} {p}` matches no loaded rule (`tracewarden rules list` shows them)"
                    )));
                }
            }
        }
        for id in ids {
            let kept = (include_m.is_empty() || include_m.iter().any(|m| m.is_match(&id)))
                && !exclude_m.iter().any(|m| m.is_match(&id));
            if !kept {
                self.deselected.insert(id);
            }
        }
        let deselected = &self.deselected;
        for pack in &mut self.packs {
            pack.files
                .retain(|f| f.rules().iter().any(|r| !deselected.contains(&r.id)));
        }
        self.packs.retain(|p| !p.files.is_empty());
        Ok(self)
    }

    /// Whether rule `id` runs (it was not left out by [`RuleSet::select`]).
    pub fn selected(&self, id: &str) -> bool {
        !self.deselected.contains(id)
    }

    /// The loaded packs.
    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    /// The enrichment stage's ownership settings (the rule config's `[ownership]` table).
    pub fn ownership(&self) -> &OwnershipSettings {
        &self.ownership
    }

    /// Runs every rule over `events` (in stream order) and collects findings, sorted. Events are
    /// handed to the rule files in shared chunks, at most a few chunks ahead of the slowest
    /// file, so memory stays bounded whatever the stream's length; with several `threads`, free
    /// workers take whichever file is furthest behind (see `Board`). Each rule file sees the same
    /// events in the same batches whatever `threads` is, so the result does not depend on it.
    /// Events may come in boxes ([`crate::ingest::EventStream::boxed`]): they are passed on in
    /// them, where an event given by value is boxed here.
    pub fn run(
        &self,
        events: impl Iterator<Item = impl Into<Box<Event>>>,
        threads: usize,
    ) -> RuleOutcome {
        self.run_with(
            events,
            RunOptions {
                threads,
                ..RunOptions::default()
            },
        )
    }

    /// [`RuleSet::run`] with `options`: the threads, the findings each rule file holds in
    /// memory, and the partitions of the rule files that declare a partitioning.
    pub fn run_with<'a>(
        &'a self,
        events: impl Iterator<Item = impl Into<Box<Event>>>,
        options: RunOptions,
    ) -> RuleOutcome {
        let RunOptions {
            threads,
            findings_memory_bytes,
            partitions,
        } = options;
        let partitions = partitions.clamp(1, MAX_PARTITIONS);
        let jobs: Vec<(&'a RulePack, &'a RuleFile)> = self
            .packs
            .iter()
            .flat_map(|p| p.files.iter().map(move |f| (p, f)))
            .collect();
        // Each file's instances: one, or `partitions` when the rules it runs share a
        // partitioning.
        let shards: Vec<Option<Partitioning>> = jobs
            .iter()
            .map(|(_, f)| {
                (partitions > 1)
                    .then(|| partition::of_file(f.rules(), &self.deselected))
                    .flatten()
            })
            .collect();
        // Each file's number of instances.
        let counts: Vec<usize> = shards
            .iter()
            .map(|s| if s.is_some() { partitions } else { 1 })
            .collect();
        let instances: usize = counts.iter().sum();
        let workers = threads.clamp(1, instances.max(1));
        let rego = jobs
            .iter()
            .any(|(_, f)| matches!(f.runtime, Runtime::Rego(_)));
        let wasm = jobs
            .iter()
            .any(|(_, f)| matches!(f.runtime, Runtime::Wasm(_)));
        // Each Rego file's events' values hold what it reads; files that read the same fields
        // share them (one value group per distinct `reads`).
        let mut groups: Vec<&Reads> = Vec::new();
        let group_of: Vec<usize> = jobs
            .iter()
            .map(|(_, f)| match &f.runtime {
                Runtime::Rego(r) => match groups.iter().position(|g| *g == r.reads()) {
                    Some(g) => g,
                    None => {
                        groups.push(r.reads());
                        groups.len() - 1
                    }
                },
                Runtime::Wasm(_) => 0,
            })
            .collect();
        let kinds = Kinds {
            rego: if rego { groups.len() } else { 0 },
            wasm,
        };
        let subscriptions =
            Arc::new(Subscriptions::new(jobs.iter().map(|(_, f)| {
                (f.rules(), matches!(f.runtime, Runtime::Wasm(_)))
            })));
        // The runs in file order, a partitioned file's instances in partition order.
        let mut runs: Vec<FileRun<'a>> = Vec::with_capacity(instances);
        for (n, ((((p, f), &group), how), &count)) in jobs
            .iter()
            .zip(&group_of)
            .zip(&shards)
            .zip(&counts)
            .enumerate()
        {
            for index in 0..count {
                let shard = how.map(|how| Shard { index, count, how });
                let sink = match shard {
                    Some(_) => FindingSink::partitioned(findings_memory_bytes, count),
                    None => FindingSink::with_memory(findings_memory_bytes),
                };
                runs.push(FileRun::start(
                    p,
                    f,
                    &self.deselected,
                    (sink, shard),
                    group,
                    (Arc::clone(&subscriptions), n),
                ));
            }
        }
        let mut results: Vec<Option<FileResult>> = runs.iter().map(|_| None).collect();
        if threads <= 1 {
            // One thread: the rules run on the calling thread, between reads, so `--threads 1`
            // uses one core (a worker beside the reader would make it 1.2). With more threads,
            // even one rule file gets a worker: it runs beside the reading thread, not after it.
            let mut runs = runs;
            for_each_chunk(events, kinds, |chunk| {
                for run in &mut runs {
                    run.feed(&chunk);
                }
            });
            for (slot, run) in results.iter_mut().zip(runs) {
                *slot = Some(run.finish());
            }
        } else {
            let board = Board::new(runs);
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| board.work())).collect();
                let mut published = Published::default();
                for_each_chunk(events, kinds, |chunk| {
                    published.keep(&chunk);
                    board.publish(chunk);
                });
                board.close();
                for h in handles {
                    // A worker only fails by panicking; the files it held are reported below.
                    let _ = h.join();
                }
                // No worker holds a chunk any more: the last ones are dropped here too.
                drop(published);
            });
            for (slot, done) in results.iter_mut().zip(board.into_results()) {
                *slot = done;
            }
        }
        let mut outcome = RuleOutcome::default();
        let mut parts = Vec::with_capacity(jobs.len());
        // The runs' results in the order the runs were made: each file's instances in turn.
        let mut results = results.into_iter();
        for (((pack, file), how), &count) in jobs.iter().zip(&shards).zip(&counts) {
            let mut instances: Vec<Option<FileResult>> = results.by_ref().take(count).collect();
            let result = if let Some(how) = *how {
                outcome.partitioned.push(PartitionedRun {
                    pack: pack.name.clone(),
                    file: file.file.clone(),
                    partitioning: how,
                    instances: instances.len(),
                });
                FileResult::merge(instances, pack, file)
            } else {
                instances
                    .pop()
                    .flatten()
                    .unwrap_or_else(|| FileResult::lost(pack, file))
            };
            parts.push(result.findings);
            outcome.failures.extend(result.failure);
            outcome.events_seen.extend(result.events_seen);
            for (rule, note) in result.state_notes {
                outcome.state_notes.entry(rule).or_default().push(note);
            }
        }
        outcome.findings = Findings::merge(parts);
        outcome
    }
}

/// The names of the built-in packs, from their manifests.
fn builtin_names() -> Vec<String> {
    builtin::PACKS
        .iter()
        .filter_map(|p| {
            toml::from_str::<toml::Table>(p.manifest)
                .ok()?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The rule files of a scan on several threads, shared by its workers: the reader publishes
/// chunks; a worker takes any file no other worker holds that is behind, feeds it every chunk
/// published since, and puts it back. A file is on one thread at a time and sees every chunk in
/// order, so its findings do not depend on which worker ran it; files are not bound to workers,
/// so one costly file does not leave a worker idle while another has a queue.
struct Board<'a> {
    state: std::sync::Mutex<BoardState<'a>>,
    /// A chunk was published, a file put back, or the stream closed.
    work: std::sync::Condvar,
    /// The slowest file moved on: there may be room for another chunk.
    room: std::sync::Condvar,
}

struct BoardState<'a> {
    /// Published chunks not yet fed to every file; `chunks[0]` is chunk number `base`.
    chunks: std::collections::VecDeque<Arc<Chunk>>,
    base: usize,
    closed: bool,
    files: Vec<Slot<'a>>,
}

/// A rule file on the board. A worker holds it while `run` is `None` and it is not `over`.
struct Slot<'a> {
    /// The next chunk number to feed it.
    cursor: usize,
    /// The run, when no worker holds it.
    run: Option<FileRun<'a>>,
    /// Finished, or lost to a panic: nothing more to do.
    over: bool,
    /// Its result once finished.
    done: Option<FileResult>,
}

/// What a worker takes from the board.
enum Task<'a> {
    Feed(usize, FileRun<'a>, Vec<Arc<Chunk>>),
    Finish(usize, FileRun<'a>),
}

/// What a worker gives back.
#[expect(
    clippy::large_enum_variant,
    reason = "one value per task, moved from a worker to the board and taken apart at once"
)]
enum Returned<'a> {
    Run(FileRun<'a>),
    Finished(FileResult),
}

impl<'a> Board<'a> {
    fn new(runs: Vec<FileRun<'a>>) -> Self {
        Board {
            state: std::sync::Mutex::new(BoardState {
                chunks: std::collections::VecDeque::new(),
                base: 0,
                closed: false,
                files: runs
                    .into_iter()
                    .map(|run| Slot {
                        cursor: 0,
                        run: Some(run),
                        over: false,
                        done: None,
                    })
                    .collect(),
            }),
            work: std::sync::Condvar::new(),
            room: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoardState<'a>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a chunk once the slowest file is fewer than [`QUEUED_CHUNKS`] behind. With no file
    /// left to feed (all lost to panics) the chunk is dropped at once.
    fn publish(&self, chunk: Arc<Chunk>) {
        let mut state = self.lock();
        while state.chunks.len() >= QUEUED_CHUNKS {
            state = self
                .room
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.chunks.push_back(chunk);
        state.trim();
        drop(state);
        self.work.notify_all();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }

    /// A worker: takes the file furthest behind that is free, until every file is finished.
    fn work(&self) {
        loop {
            let task = {
                let mut state = self.lock();
                loop {
                    if let Some(task) = state.take() {
                        break task;
                    }
                    if state.files.iter().all(|f| f.over) {
                        return;
                    }
                    state = self
                        .work
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let i = match &task {
                Task::Feed(i, ..) | Task::Finish(i, _) => *i,
            };
            // A panic is a host bug; the file is then reported as failed, and the others go on.
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match task {
                Task::Feed(_, mut run, chunks) => {
                    for chunk in &chunks {
                        run.feed(chunk);
                    }
                    Returned::Run(run)
                }
                Task::Finish(_, run) => Returned::Finished(run.finish()),
            }));
            let mut state = self.lock();
            if let Some(slot) = state.files.get_mut(i) {
                match caught {
                    Ok(Returned::Run(run)) => slot.run = Some(run),
                    Ok(Returned::Finished(result)) => {
                        slot.done = Some(result);
                        slot.over = true;
                    }
                    // No result: reported as the worker's failure.
                    Err(_) => slot.over = true,
                }
            }
            state.trim();
            drop(state);
            self.work.notify_all();
            self.room.notify_one();
        }
    }

    /// Each file's result, in file order (none for a file whose worker panicked).
    fn into_results(self) -> Vec<Option<FileResult>> {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.files.into_iter().map(|f| f.done).collect()
    }
}

impl<'a> BoardState<'a> {
    /// The next task: the free file furthest behind with chunks to feed, else a free file that
    /// has had every chunk of a closed stream, to finish.
    fn take(&mut self) -> Option<Task<'a>> {
        let end = self.base + self.chunks.len();
        let behind = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.run.is_some() && f.cursor < end)
            .min_by_key(|(_, f)| f.cursor)
            .map(|(i, _)| i);
        if let Some(i) = behind {
            let slot = self.files.get_mut(i)?;
            let from = slot.cursor - self.base;
            let chunks: Vec<Arc<Chunk>> = self.chunks.range(from..).cloned().collect();
            slot.cursor = end;
            return Some(Task::Feed(i, slot.run.take()?, chunks));
        }
        if !self.closed {
            return None;
        }
        let (i, slot) = self
            .files
            .iter_mut()
            .enumerate()
            .find(|(_, f)| f.run.is_some())?;
        Some(Task::Finish(i, slot.run.take()?))
    }

    /// Drops the chunks every file has been fed (or handed to a worker).
    fn trim(&mut self) {
        let fed = self
            .files
            .iter()
            .filter(|f| !f.over)
            .map(|f| f.cursor)
            .min()
            .unwrap_or(self.base + self.chunks.len());
        while self.base < fed && self.chunks.pop_front().is_some() {
            self.base += 1;
        }
    }
}

/// The chunks the reading thread published, each held until no worker has it any more, then
/// dropped on that thread. Their events were decoded there (unless the stream is staged on a
/// thread of its own): their boxes go back to that thread's own heap, and the names they share
/// (one string, counted by every event that names it) are counted down on the core that counted
/// them up, instead of a worker's core taking each count's cache line from the reading core for
/// every event it drops. Bounded by the chunks the board and the workers' tasks hold.
#[derive(Default)]
struct Published(std::collections::VecDeque<Arc<Chunk>>);

impl Published {
    /// Holds `chunk` too; drops the oldest ones only this holds, in publishing order.
    fn keep(&mut self, chunk: &Arc<Chunk>) {
        while self.0.front().is_some_and(|c| Arc::strong_count(c) == 1) {
            self.0.pop_front();
        }
        self.0.push_back(Arc::clone(chunk));
    }
}

/// Which kinds of rule file a scan runs: what its chunks make room for.
#[derive(Clone, Copy)]
struct Kinds {
    /// Value groups of the Rego files (none: no Rego file runs).
    rego: usize,
    wasm: bool,
}

/// Cuts `events` into chunks of [`CHUNK`] and hands each to `take`, in stream order.
fn for_each_chunk(
    events: impl Iterator<Item = impl Into<Box<Event>>>,
    kinds: Kinds,
    mut take: impl FnMut(Arc<Chunk>),
) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for e in events {
        chunk.push(e.into());
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            take(Arc::new(Chunk::new(full, kinds)));
        }
    }
    if !chunk.is_empty() {
        take(Arc::new(Chunk::new(chunk, kinds)));
    }
}

/// Events per chunk handed to the rule workers.
const CHUNK: usize = 1024;
/// Chunks published and not yet fed to every file before the reader waits.
const QUEUED_CHUNKS: usize = 8;

/// Events handed to the rule workers together. When a Rego rule runs, each event also has a slot
/// for its regorus value per value group (the Rego files that read the same fields): made by the
/// first Rego rule of the group that evaluates the event, on that rule's worker, and shared by
/// the others, so an event is converted once per group whatever the number of Rego rules,
/// without adding to the reader's thread; a value holds only what its group reads. When a WASM
/// rule runs, each slice of [`BATCH_SIZE`] events has a slot for its wire batch, the same way:
/// encoded by the first component that wants every event of the slice, and sent as it is to
/// every other that does, and its part to a component that wants some of a slice another wants
/// whole.
struct Chunk {
    /// The stream's boxes, passed on without copying their events (~750 bytes each).
    #[expect(
        clippy::vec_box,
        reason = "the events come boxed from the stream; moving each out into the chunk copied it"
    )]
    events: Vec<Box<Event>>,
    /// Group `g`'s value of event `i` at `g * events.len() + i`.
    values: Box<[SharedValue]>,
    batches: Box<[std::sync::OnceLock<wasm::SharedBatch>]>,
    /// Per slice: whether some WASM file of the run wants every event of it, so that its shared
    /// batch is encoded whatever the others want. Asked by the first file that wants part of the
    /// slice.
    whole: Box<[std::sync::OnceLock<bool>]>,
    /// Which rules want each event: judged by the first file fed the chunk.
    wanted: std::sync::OnceLock<Wanted>,
    /// The partition of each event, by principal, resource and trace
    /// ([`partition::slot`]): worked out by the first partitioned instance fed the chunk.
    partitions: [std::sync::OnceLock<Box<[u8]>>; 3],
}

impl Chunk {
    #[expect(
        clippy::vec_box,
        reason = "the chunk's events, as `Chunk::events` holds them"
    )]
    fn new(events: Vec<Box<Event>>, kinds: Kinds) -> Self {
        let values = (0..kinds.rego * events.len())
            .map(|_| SharedValue::default())
            .collect();
        let slices = if kinds.wasm {
            events.len().div_ceil(BATCH_SIZE)
        } else {
            0
        };
        Chunk {
            events,
            values,
            batches: (0..slices).map(|_| std::sync::OnceLock::new()).collect(),
            whole: (0..slices).map(|_| std::sync::OnceLock::new()).collect(),
            wanted: std::sync::OnceLock::new(),
            partitions: Default::default(),
        }
    }

    /// The partition of each event among `count` (the scan's, the same for every instance) by
    /// `how`.
    fn partitions(&self, how: Partitioning, count: usize) -> &[u8] {
        let Some(slot) = partition::slot(how).and_then(|i| self.partitions.get(i)) else {
            return &[];
        };
        slot.get_or_init(|| {
            self.events
                .iter()
                .map(|e| u8::try_from(partition::of_event(e, how, count)).unwrap_or(0))
                .collect()
        })
    }

    /// Which rules of the run want each event.
    fn wanted(&self, subscriptions: &Subscriptions<'_>) -> &Wanted {
        self.wanted
            .get_or_init(|| subscriptions.judge(&self.events))
    }
}

struct FileResult {
    findings: Findings,
    failure: Option<RuleFailure>,
    events_seen: Vec<(String, u64)>,
    /// Eviction notes by rule id.
    state_notes: Vec<(String, String)>,
    /// An instance of a partitioned file: its findings as they were gathered, to be merged with
    /// the other instances' ([`FileResult::merge`]) instead of `findings`.
    sink: Option<FindingSink>,
}

impl FileResult {
    /// The result of `file` before it was sent anything: no findings, no failure, no event
    /// counted for any of its rules.
    fn of(file: &RuleFile) -> FileResult {
        FileResult {
            findings: Findings::default(),
            failure: None,
            events_seen: file.rules().iter().map(|r| (r.id.clone(), 0)).collect(),
            state_notes: Vec::new(),
            sink: None,
        }
    }

    /// The result of a file whose worker thread failed (a host bug): no findings, the file
    /// reported as stopped.
    fn lost(pack: &RulePack, file: &RuleFile) -> FileResult {
        FileResult {
            findings: Findings::default(),
            failure: Some(RuleFailure::of(
                pack,
                file,
                "the host's worker thread for this rule file failed".to_owned(),
            )),
            events_seen: Vec::new(),
            state_notes: Vec::new(),
            sink: None,
        }
    }

    /// The instances of a partitioned file (`instances` in partition order) as one result: the
    /// events each rule was sent counted over all, the first failure in partition order, the
    /// notes of each (once), and the findings merged.
    fn merge(instances: Vec<Option<FileResult>>, pack: &RulePack, file: &RuleFile) -> FileResult {
        let mut merged = FileResult::of(file);
        let mut sinks = Vec::with_capacity(instances.len());
        for instance in instances {
            let Some(instance) = instance else {
                merged.failure.get_or_insert(RuleFailure::of(
                    pack,
                    file,
                    "the host's worker thread for one of its partitions failed".to_owned(),
                ));
                continue;
            };
            for ((_, total), (_, n)) in merged.events_seen.iter_mut().zip(&instance.events_seen) {
                *total += n;
            }
            if merged.failure.is_none() {
                merged.failure = instance.failure;
            }
            for note in instance.state_notes {
                if !merged.state_notes.contains(&note) {
                    merged.state_notes.push(note);
                }
            }
            sinks.extend(instance.sink);
        }
        match FindingSink::merge_into_findings(sinks) {
            Ok(findings) => merged.findings = findings,
            Err(e) => {
                merged.failure.get_or_insert(RuleFailure::of(
                    pack,
                    file,
                    format!("its findings could not be held in a temporary file: {e}"),
                ));
            }
        }
        merged
    }
}

/// A rule file's session for one scan.
enum Session {
    Wasm(Box<wasm::WasmSession>),
    Rego(Box<rego::RegoSession>),
}

impl Session {
    /// `values`: the slots of `events`' regorus values, one per event.
    fn on_events(
        &mut self,
        events: &[&Event],
        values: &[&SharedValue],
    ) -> Result<Vec<RawFinding>, String> {
        match self {
            Session::Wasm(s) => s.on_events(events),
            Session::Rego(s) => s.on_events(events, values),
        }
    }

    /// `sent`: the events the session was sent over the scan, what its final flush may have to
    /// work through.
    fn finish(&mut self, sent: u64) -> Result<Vec<RawFinding>, String> {
        match self {
            Session::Wasm(s) => s.finish(sent),
            Session::Rego(_) => Ok(Vec::new()),
        }
    }

    /// What the rule's state evicted, after `finish`.
    fn state_usage(&mut self) -> Result<Vec<wasm::StateUsage>, String> {
        match self {
            Session::Wasm(s) => s.state_usage(),
            Session::Rego(_) => Ok(Vec::new()),
        }
    }
}

/// Feeds one rule file the events its rules subscribe to, in batches; stops it at its first
/// failure (its instance is discarded, never fed again).
/// One rule file's session over the stream.
struct FileRun<'a> {
    pack: &'a RulePack,
    file: &'a RuleFile,
    /// Rules left out of the scan: their findings are dropped as they come.
    deselected: &'a std::collections::BTreeSet<String>,
    session: Option<Session>,
    result: FileResult,
    sink: FindingSink,
    /// Wanted events waiting for a full batch, by chunk and position.
    pending: Vec<(Arc<Chunk>, usize)>,
    /// The places of the events a WASM file wants in the slice at hand (kept for its buffer).
    picks: Vec<usize>,
    /// The run's subscriptions, and this file's number in them.
    subscriptions: (Arc<Subscriptions<'a>>, usize),
    /// Parts of shared batches sent (for tests).
    #[cfg(test)]
    parts_sent: u64,
    sent: u64,
    /// A Rego file's value group: where its events' values are in a chunk.
    group: usize,
    /// The partition this instance runs, when its file is partitioned: it is sent only the
    /// events of its share of the partition keys.
    shard: Option<Shard>,
}

impl<'a> FileRun<'a> {
    fn start(
        pack: &'a RulePack,
        file: &'a RuleFile,
        deselected: &'a std::collections::BTreeSet<String>,
        (sink, shard): (FindingSink, Option<Shard>),
        group: usize,
        subscriptions: (Arc<Subscriptions<'a>>, usize),
    ) -> Self {
        let mut run = FileRun {
            pack,
            file,
            deselected,
            session: None,
            result: FileResult::of(file),
            sink,
            pending: Vec::with_capacity(BATCH_SIZE),
            picks: Vec::with_capacity(BATCH_SIZE),
            subscriptions,
            #[cfg(test)]
            parts_sent: 0,
            sent: 0,
            group,
            shard,
        };
        match &file.runtime {
            Runtime::Wasm(c) => match c.instantiate() {
                Ok(s) => run.session = Some(Session::Wasm(Box::new(s))),
                Err(reason) => run.fail(reason),
            },
            Runtime::Rego(r) => run.session = Some(Session::Rego(Box::new(r.session()))),
        }
        run
    }

    fn fail(&mut self, reason: String) {
        self.session = None;
        self.pending.clear();
        let reason = match self.shard {
            Some(s) => format!("{reason} (in partition {} of {})", s.index + 1, s.count),
            None => reason,
        };
        self.result.failure = Some(RuleFailure {
            events_before_failure: self.sent,
            ..RuleFailure::of(self.pack, self.file, reason)
        });
    }

    /// Batches the events of `chunk` this file wants. A Rego file's batches are every
    /// [`BATCH_SIZE`] events it wants. A WASM file's batch is what it wants of each slice of
    /// [`BATCH_SIZE`] events of the chunk: the slice's shared batch (encoded once for every file)
    /// when it wants all of it; when it wants part of a slice that another WASM file wants whole,
    /// so that the shared batch is encoded anyway, that batch's strings, pairs and objects with
    /// the events it wants; else those events encoded for it alone. No slice is encoded for
    /// more events than before (unless the file that wants it whole has stopped on a failure),
    /// and the batches depend only on the stream and the files' subscriptions, never on the
    /// threads or on which file encoded a shared batch first.
    fn feed(&mut self, chunk: &Arc<Chunk>) {
        let wasm = matches!(self.session, Some(Session::Wasm(_)));
        let (subscriptions, me) = (Arc::clone(&self.subscriptions.0), self.subscriptions.1);
        let wanted = chunk.wanted(&subscriptions);
        // A partition's instance: the partition of each event of the chunk.
        let shard = self
            .shard
            .map(|s| (s.index, chunk.partitions(s.how, s.count)));
        let mut picks = std::mem::take(&mut self.picks);
        for (n, (events, shared)) in chunk
            .events
            .chunks(BATCH_SIZE)
            .zip(
                chunk
                    .batches
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .enumerate()
        {
            if self.session.is_none() {
                break;
            }
            let first = n * BATCH_SIZE;
            let slice = first..first + events.len();
            picks.clear();
            picks.extend((0..events.len()).filter(|i| {
                subscriptions.file_wants(me, wanted.event(first + i))
                    && shard.is_none_or(|(index, of)| {
                        of.get(first + i).is_some_and(|&p| usize::from(p) == index)
                    })
            }));
            // Pending is empty at a slice's start for a WASM file (flushed below); the check
            // keeps the events in order whatever changes here.
            if let Some(shared) = shared
                && wasm
                && self.pending.is_empty()
                && !picks.is_empty()
            {
                let part = picks.len() < events.len();
                let encoded_anyway = || {
                    chunk.whole.get(n).is_some_and(|w| {
                        *w.get_or_init(|| {
                            subscriptions.some_wasm_file_wants_all(wanted, slice.clone())
                        })
                    })
                };
                if !part || encoded_anyway() {
                    let shared = shared.get_or_init(|| wasm::SharedBatch::encode(events));
                    self.send_shared(shared, wanted, slice, part.then_some(picks.as_slice()));
                    continue;
                }
            }
            for &i in &picks {
                self.pending.push((Arc::clone(chunk), n * BATCH_SIZE + i));
                if self.pending.len() == BATCH_SIZE {
                    self.flush();
                }
            }
            if wasm {
                self.flush();
            }
        }
        self.picks = picks;
    }

    /// Sends a shared batch of `events`: whole when all are wanted (`picks` none), else the
    /// events at `picks`, the ones wanted.
    fn send_shared(
        &mut self,
        shared: &wasm::SharedBatch,
        wanted: &Wanted,
        slice: std::ops::Range<usize>,
        picks: Option<&[usize]>,
    ) {
        let outcome = match self.session.as_mut() {
            Some(Session::Wasm(s)) => s.on_shared(shared, picks),
            _ => return,
        };
        let Some(picks) = picks else {
            self.account(outcome, slice.map(|i| wanted.event(i)));
            return;
        };
        self.account(outcome, picks.iter().map(|i| wanted.event(slice.start + i)));
        #[cfg(test)]
        {
            self.parts_sent += 1;
        }
    }

    /// Sends the pending batch.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let batch: Vec<&Event> = pending
            .iter()
            .filter_map(|(chunk, i)| chunk.events.get(*i).map(|e| &**e))
            .collect();
        let values: Vec<&SharedValue> = pending
            .iter()
            .filter_map(|(chunk, i)| chunk.values.get(self.group * chunk.events.len() + i))
            .collect();
        let outcome = match self.session.as_mut() {
            Some(session) => session.on_events(&batch, &values),
            None => return,
        };
        drop((batch, values));
        let subscriptions = Arc::clone(&self.subscriptions.0);
        self.account(
            outcome,
            pending
                .iter()
                .map(|(chunk, i)| chunk.wanted(&subscriptions).event(*i)),
        );
        self.pending = pending;
        self.pending.clear();
    }

    /// After a batch was sent: its findings kept, or the file stopped at its failure; each
    /// event counted against the rules that wanted it (`batch`: the events' answers).
    fn account<'w>(
        &mut self,
        outcome: Result<Vec<RawFinding>, String>,
        batch: impl ExactSizeIterator<Item = &'w [u64]>,
    ) {
        let sent = batch.len() as u64;
        self.sink.allow_for(self.sent + sent);
        if let Err(reason) = outcome.and_then(|raw| self.collect(raw)) {
            self.fail(reason);
            return;
        }
        let (subscriptions, me) = (&self.subscriptions.0, self.subscriptions.1);
        for wanted in batch {
            for (wants, (_, n)) in subscriptions
                .rules_wanting(me, wanted)
                .zip(self.result.events_seen.iter_mut())
            {
                if wants {
                    *n += 1;
                }
            }
        }
        self.sent += sent;
    }

    fn collect(&mut self, raw: Vec<RawFinding>) -> Result<(), String> {
        let rules = self.file.rules();
        for f in raw {
            let meta = rules
                .iter()
                .find(|r| r.id == f.rule_id)
                .ok_or_else(|| format!("returned a finding for undeclared rule `{}`", f.rule_id))?;
            if self.deselected.contains(&f.rule_id) {
                continue;
            }
            self.sink.add(f, meta, &self.pack.name)?;
        }
        Ok(())
    }

    /// Notes each eviction against the rule it names, or every rule of the file.
    fn note_evictions(&mut self, usage: &[wasm::StateUsage]) {
        for u in usage {
            let Some(note) = u.eviction_note() else {
                continue;
            };
            for rule in self.file.rules() {
                if u.rule_id.is_empty() || u.rule_id == rule.id {
                    self.result
                        .state_notes
                        .push((rule.id.clone(), note.clone()));
                }
            }
        }
    }

    fn finish(mut self) -> FileResult {
        self.flush();
        let sent = self.sent;
        if let Some(session) = self.session.as_mut() {
            let done = session.finish(sent);
            if let Err(reason) = done.and_then(|raw| self.collect(raw)) {
                self.fail(reason);
            }
        }
        if let Some(session) = self.session.as_mut() {
            match session.state_usage() {
                Ok(usage) => self.note_evictions(&usage),
                Err(reason) => self.fail(reason),
            }
        }
        let sink = std::mem::take(&mut self.sink);
        if self.shard.is_some() {
            // Merged with the other partitions' once all have finished.
            self.result.sink = Some(sink);
            return self.result;
        }
        match sink.into_findings() {
            Ok(findings) => self.result.findings = findings,
            Err(e) => self.fail(format!(
                "its findings could not be held in a temporary file: {e}"
            )),
        }
        self.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DbOperation, Detail, KeyAction, KeyLifecycle, SourceRef};

    /// The reading thread lets go of the oldest chunks no worker holds, in publishing order,
    /// and keeps a chunk a worker still holds and every chunk after it.
    #[test]
    fn published_chunks_are_dropped_in_order_once_no_worker_holds_them() {
        let kinds = Kinds {
            rego: 0,
            wasm: true,
        };
        let chunk = || Arc::new(Chunk::new(Vec::new(), kinds));
        let mut published = Published::default();
        let (a, b, c) = (chunk(), chunk(), chunk());
        published.keep(&a);
        published.keep(&b);
        drop(b);
        // `a` is still a worker's: `b`, free, waits behind it.
        published.keep(&c);
        assert_eq!(published.0.len(), 3);
        drop(a);
        let d = chunk();
        published.keep(&d);
        // `a` and `b` went; `c` is still held.
        assert_eq!(published.0.len(), 2);
        assert!(Arc::ptr_eq(&published.0[0], &c));
        let weak = Arc::downgrade(&d);
        drop((c, d));
        drop(published);
        assert!(weak.upgrade().is_none(), "dropped with the last holder");
    }

    /// The built-in Rego rules and TW-DDB-001's Rego reference read different fields, so each
    /// gets values of its own (three groups): their findings in a scan are those they make from
    /// whole events, whatever the threads, and a rule reading whole events beside them changes
    /// nothing.
    #[test]
    fn rego_rules_reading_different_fields_each_find_what_whole_events_give() {
        let (_reference, set) = rego_filter::tests::with_rego_reference(Default::default());
        let whole = |set: &RuleSet| {
            let mut copy = set.clone();
            for file in copy.packs.iter_mut().flat_map(|p| p.files.iter_mut()) {
                if let Runtime::Rego(r) = &mut file.runtime {
                    **r = r.undeclared();
                }
            }
            copy
        };
        let reads: Vec<&Reads> = set
            .packs
            .iter()
            .flat_map(|p| &p.files)
            .filter_map(|f| match &f.runtime {
                Runtime::Rego(r) => Some(r.reads()),
                Runtime::Wasm(_) => None,
            })
            .collect();
        assert_eq!(reads.len(), 3);
        assert!(reads.iter().all(|r| **r != Reads::All));
        assert!(reads[0] != reads[1] && reads[1] != reads[2] && reads[0] != reads[2]);
        let events = rego_input::tests::fixture_events();
        let findings = |set: &RuleSet, threads| {
            let outcome = set.run(events.iter().cloned(), threads);
            assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
            let found = outcome.findings.load().unwrap();
            let rego: Vec<String> = found
                .iter()
                .filter(|f| {
                    ["TW-BOLA-004", "TW-DDB-001", "TW-KEY-002"].contains(&f.rule_id.as_str())
                })
                .map(|f| serde_json::to_string(f).unwrap())
                .collect();
            rego
        };
        let expected = findings(&whole(&set), 1);
        assert!(expected.len() >= 3, "{expected:?}");
        for threads in [1, 2, 4] {
            assert_eq!(findings(&set, threads), expected, "{threads} threads");
        }
        // One rule given whole events beside two reading their fields: nothing changes.
        let mut mixed = set.clone();
        if let Some(Runtime::Rego(r)) = mixed
            .packs
            .iter_mut()
            .flat_map(|p| p.files.iter_mut())
            .map(|f| &mut f.runtime)
            .find(|r| matches!(r, Runtime::Rego(_)))
        {
            **r = r.undeclared();
        }
        assert_eq!(findings(&mixed, 2), expected);
    }

    /// A read, then an unconditional update of the same item by the same principal a second
    /// later, on item after item; in the first chunk's last three slices, every 100th event a
    /// key's creation, which no component wants (the engine's key ledger reads it). Enriched, so
    /// that the BOLA and stale-key components want the DB calls too (they need object and key
    /// facts).
    fn stream(len: usize) -> Vec<Event> {
        stream_with(len, 2)
    }

    /// [`stream`] with one DB call in `write_every` an `UpdateItem` (the others `GetItem`).
    fn stream_with(len: usize, write_every: usize) -> Vec<Event> {
        let settings = crate::enrich::OwnershipSettings::default();
        let mut enricher = crate::enrich::Enricher::new(&settings);
        (0..len)
            .map(|i| {
                let item = i / 2;
                let detail = if (BATCH_SIZE..CHUNK).contains(&i) && i % 100 == 0 {
                    Detail::KeyLifecycle(KeyLifecycle {
                        action: KeyAction::Created,
                        key_id: format!("AKIANEW{i}").into(),
                        owner: String::new().into(),
                        scopes: Vec::new(),
                        parent_key_id: String::new().into(),
                    })
                } else {
                    let write = i % write_every == 1;
                    Detail::DbOperation(DbOperation {
                        service: "dynamodb".into(),
                        operation: if write { "UpdateItem" } else { "GetItem" }.into(),
                        table: "Orders".into(),
                        key: crate::event::Fields::from_iter([(
                            "orderId".into(),
                            format!("ord-{item}").into(),
                        )]),
                        update_expression: if write { "SET st = :s" } else { "" }.into(),
                        is_write: write,
                        ..DbOperation::default()
                    })
                };
                Event {
                    facts: Default::default(),
                    id: format!("e{i}").into(),
                    time_ns: i64::try_from(i).unwrap() * 1_000_000_000,
                    precision_ns: 1_000_000_000,
                    source: SourceRef {
                        file: "t.json".into(),
                        record: i as u64 + 1,
                        line: None,
                        format: "cloudtrail".into(),
                    },
                    actor: crate::event::Actor {
                        principal: format!("arn:aws:iam::1:user/u{}", item % 7).into(),
                        // The key creations name no acting key: no rule wants them.
                        key_id: if matches!(detail, Detail::DbOperation(_)) {
                            format!("AKIAEXAMPLE{}", item % 7).into()
                        } else {
                            String::new().into()
                        },
                        ..Default::default()
                    },
                    correlation: Default::default(),
                    outcome: crate::event::Outcome::Success,
                    detail,
                    attributes: Default::default(),
                }
            })
            .map(|mut e| {
                enricher.enrich(&mut e);
                e
            })
            .collect()
    }

    /// Per WASM file: its name, the events it was sent, whether it finished, its findings.
    type Fed = Vec<(String, u64, bool, Vec<crate::finding::Finding>)>;

    /// [`Fed`], and per file the parts of shared batches it was sent.
    type FedParts = (Fed, Vec<u64>, Vec<Arc<Chunk>>);

    /// Each WASM file of the built-in packs fed `events` in chunks, with or without shared
    /// batches, packed (contract 1.2) or through `on-events`; and the chunks.
    fn feed(set: &RuleSet, events: &[Event], share: bool, packed: bool) -> (Fed, Vec<Arc<Chunk>>) {
        let (fed, _, chunks) = feed_files(set, events, share, packed, None);
        (fed, chunks)
    }

    /// [`feed`] to the WASM files named in `only`, or to each.
    fn feed_files(
        set: &RuleSet,
        events: &[Event],
        share: bool,
        packed: bool,
        only: Option<&[&str]>,
    ) -> FedParts {
        let files: Vec<_> = set
            .packs
            .iter()
            .flat_map(|p| p.files.iter().map(move |f| (p, f)))
            .filter(|(_, f)| matches!(f.runtime, Runtime::Wasm(_)))
            .filter(|(_, f)| only.is_none_or(|names| names.contains(&f.file.as_str())))
            .collect();
        let subscriptions = Arc::new(Subscriptions::new(
            files.iter().map(|(_, f)| (f.rules(), true)),
        ));
        let mut runs: Vec<FileRun<'_>> = files
            .iter()
            .enumerate()
            .map(|(n, (p, f))| {
                let sink = FindingSink::with_memory(1 << 20);
                FileRun::start(
                    p,
                    f,
                    &set.deselected,
                    (sink, None),
                    0,
                    (Arc::clone(&subscriptions), n),
                )
            })
            .collect();
        for run in &mut runs {
            let Some(Session::Wasm(session)) = &mut run.session else {
                panic!("{} did not start", run.file.file);
            };
            assert!(session.takes_packed(), "{}", run.file.file);
            if !packed {
                session.unpacked();
            }
        }
        let kinds = Kinds {
            rego: 0,
            wasm: share,
        };
        let mut chunks = Vec::new();
        for_each_chunk(events.iter().cloned(), kinds, |chunk| {
            for run in &mut runs {
                run.feed(&chunk);
            }
            chunks.push(chunk);
        });
        let parts = runs.iter().map(|r| r.parts_sent).collect();
        let results = runs
            .into_iter()
            .map(|mut run| {
                run.flush();
                let (file, sent) = (run.file.file.clone(), run.sent);
                let result = run.finish();
                let findings = result.findings.load().unwrap().into_owned();
                (file, sent, result.failure.is_none(), findings)
            })
            .collect();
        (results, parts, chunks)
    }

    #[test]
    fn a_shared_batch_goes_to_files_that_want_any_of_it_and_changes_nothing() {
        let set = RuleSet::load(&RuleSetOptions::default()).unwrap();
        let events = stream(CHUNK + 3 * BATCH_SIZE + 10);
        let (shared, chunks) = feed(&set, &events, true, true);
        let (own, _) = feed(&set, &events, false, true);
        assert_eq!(shared, own);
        assert!(shared.len() >= 3, "{shared:?}");
        assert!(shared.iter().all(|(_, _, ok, _)| *ok), "{shared:?}");
        let sent: Vec<(&str, u64)> = shared.iter().map(|(f, n, ..)| (f.as_str(), *n)).collect();
        let db_calls = events
            .iter()
            .filter(|e| matches!(e.detail, Detail::DbOperation(_)))
            .count() as u64;
        let writes = events
            .iter()
            .filter(|e| {
                matches!(&e.detail, Detail::DbOperation(db)
                    if ["PutItem", "UpdateItem", "DeleteItem"].contains(&db.operation.as_str()))
            })
            .count() as u64;
        assert!(0 < writes && writes < db_calls);
        // Each file is sent exactly what it wants: the DB calls, or (TW-DDB-001) the writes.
        assert_eq!(
            sent,
            [
                ("bola.wasm", db_calls),
                ("dynamodb.wasm", writes),
                ("stale-keys.wasm", db_calls),
                ("toctou.wasm", db_calls)
            ]
        );
        let toctou = shared.iter().find(|(f, ..)| f == "toctou.wasm").unwrap();
        assert!(!toctou.3.is_empty(), "the stream has TOCTOU findings");
        // The slices of DB calls only were encoded once and shared (TW-DDB-001 was sent its
        // writes in part of each); the three with a key's creation, which no file wants whole,
        // were not. Those held 760 DB calls, not a multiple of 256: the second chunk is shared
        // because a batch never spans slices (the last slice is the stream's last ten events).
        let encoded: Vec<bool> = chunks
            .iter()
            .flat_map(|c| c.batches.iter().map(|b| b.get().is_some()))
            .collect();
        assert_eq!(encoded, [true, false, false, false, true, true, true, true]);
    }

    #[test]
    fn a_file_wanting_part_of_a_slice_another_wants_whole_is_sent_part_of_its_batch() {
        let set = RuleSet::load(&RuleSetOptions::default()).unwrap();
        // TW-DDB-001 (`dynamodb.wasm`) wants the writes, a quarter of the calls; TOCTOU every
        // call. The first chunk's last three slices hold a key's creation, which neither wants.
        let events = stream_with(CHUNK + 3 * BATCH_SIZE + 10, 4);
        let writes = events
            .iter()
            .filter(|e| matches!(&e.detail, Detail::DbOperation(db) if db.is_write))
            .count() as u64;
        for (only, parts, encoded) in [
            // Alone, it wants no slice whole: its writes are encoded for it, nothing is shared.
            (&["dynamodb.wasm"][..], vec![0], [false; 8]),
            // Beside TOCTOU, it is sent part of each slice TOCTOU wants whole (all but three),
            // and its writes of the other three are encoded for it alone.
            (
                &["dynamodb.wasm", "toctou.wasm"][..],
                vec![5, 0],
                [true, false, false, false, true, true, true, true],
            ),
        ] {
            let (shared, sent_parts, chunks) = feed_files(&set, &events, true, true, Some(only));
            let (own, no_parts, _) = feed_files(&set, &events, false, true, Some(only));
            let (unpacked, _, _) = feed_files(&set, &events, true, false, Some(only));
            assert_eq!(shared, own, "{only:?}");
            assert_eq!(unpacked, own, "{only:?}");
            assert_eq!(sent_parts, parts, "{only:?}");
            assert!(no_parts.iter().all(|n| *n == 0));
            let (file, sent, ok, findings) = &shared[0];
            assert_eq!((file.as_str(), *sent, *ok), ("dynamodb.wasm", writes, true));
            assert!(!findings.is_empty(), "the writes have no condition");
            let slices: Vec<bool> = chunks
                .iter()
                .flat_map(|c| c.batches.iter().map(|b| b.get().is_some()))
                .collect();
            assert_eq!(slices, encoded, "{only:?}");
        }
    }

    #[test]
    fn a_partitioned_file_finds_what_one_instance_finds_whatever_the_threads() {
        // TW-DDB-001 and the TOCTOU rules kept by resource: both files split; the stale-key
        // component (no partitioning) runs once beside them.
        let set = RuleSet::load(&RuleSetOptions::default())
            .unwrap()
            .select(
                &[
                    "TW-DDB-001",
                    "TW-TOCTOU-001",
                    "TW-TOCTOU-002",
                    "TW-TOCTOU-004",
                    "TW-TOCTOU-006",
                    "TW-KEY-*",
                ]
                .map(str::to_owned),
                &[],
            )
            .unwrap();
        // A write in three calls: occurrences of both weakness rules on every item, each event
        // at its own second, so "the earliest examples" is one answer.
        let events = stream_with(3 * CHUNK + 100, 3);
        let run = |partitions, threads| {
            let outcome = run_split(&set, &events, partitions, threads);
            assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
            let findings: Vec<String> = outcome
                .findings
                .load()
                .unwrap()
                .iter()
                .map(|f| serde_json::to_string(f).unwrap())
                .collect();
            (findings, outcome.events_seen, outcome.partitioned)
        };
        let (one, seen, split) = run(1, 1);
        assert!(split.is_empty());
        let folded = |findings: &[String], rule: &str| -> u64 {
            findings
                .iter()
                .map(|f| serde_json::from_str::<crate::finding::Finding>(f).unwrap())
                .filter(|f| f.rule_id == rule)
                .map(|f| f.occurrences.unwrap_or(1))
                .sum()
        };
        assert!(folded(&one, "TW-DDB-001") > 1_000, "{one:?}");
        assert!(folded(&one, "TW-TOCTOU-001") > 500, "{one:?}");
        for (partitions, threads) in [(4, 1), (4, 2), (3, 2), (64, 3)] {
            let (found, counted, split) = run(partitions, threads);
            let split: Vec<(&str, &str, Partitioning, usize)> = split
                .iter()
                .map(|r| {
                    (
                        r.pack.as_str(),
                        r.file.as_str(),
                        r.partitioning,
                        r.instances,
                    )
                })
                .collect();
            assert_eq!(
                split,
                [
                    (
                        "dynamodb",
                        "dynamodb.wasm",
                        Partitioning::ByResource,
                        partitions
                    ),
                    (
                        "toctou",
                        "toctou.wasm",
                        Partitioning::ByResource,
                        partitions
                    ),
                ],
                "{partitions} partitions"
            );
            assert_eq!(found, one, "{partitions} partitions, {threads} threads");
            assert_eq!(counted, seen, "{partitions} partitions, {threads} threads");
        }
    }

    /// `events` through `set` with `partitions` instances of each file that splits.
    fn run_split(
        set: &RuleSet,
        events: &[Event],
        partitions: usize,
        threads: usize,
    ) -> RuleOutcome {
        set.run_with(
            events.iter().cloned(),
            RunOptions {
                threads,
                partitions,
                ..RunOptions::default()
            },
        )
    }

    /// A partitioned file that fails in one partition: the failure is the file's, named with its
    /// partition; the other partitions' findings stay, the same whatever the threads.
    #[test]
    fn a_partition_that_fails_stops_its_file_and_the_others_findings_stay() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pack.toml"),
            "name = \"split\"\nversion = \"0.1.0\"\ndescription = \"d\"\n\n\
             [[rules]]\nfile = \"part.rego\"\nkind = \"rego\"\n",
        )
        .unwrap();
        // One incident per DB call; a call by u3 makes the rule exceed a builtin's bound.
        std::fs::write(
            dir.path().join("part.rego"),
            r#"package tracewarden.rules.part001

metadata := {
	"id": "TW-PART-001",
	"title": "t",
	"description": "d",
	"severity": "low",
	"confidence": "low",
	"class": "incident",
	"kinds": ["db_operation"],
	"partitioning": "by_principal",
}

findings contains f if {
	some e in input.events
	f := {"message": e.id, "principal": e.actor.principal, "resource": "r", "evidence": [{"event_id": e.id, "role": "use"}]}
}

findings contains f if {
	some e in input.events
	e.actor.principal == "arn:aws:iam::1:user/u3"
	n := count(numbers.range(1, 200000))
	f := {"message": sprintf("%d", [n]), "principal": "", "resource": "r", "evidence": []}
}
"#,
        )
        .unwrap();
        crate::rules::digests::write_digests(dir.path(), &["part.rego".to_owned()]).unwrap();
        let set = RuleSet::load(&RuleSetOptions {
            extra: vec![PackSource::Dir(dir.path().to_owned())],
            ..RuleSetOptions::default()
        })
        .unwrap()
        .select(&["TW-PART-*".to_owned()], &[])
        .unwrap();
        let events = stream(2 * CHUNK);
        let run = |partitions, threads| {
            let outcome = run_split(&set, &events, partitions, threads);
            let principals: std::collections::BTreeSet<String> = outcome
                .findings
                .load()
                .unwrap()
                .iter()
                .map(|f| f.principal.clone())
                .collect();
            (outcome.failures, principals)
        };
        let (failures, whole) = run(1, 1);
        assert_eq!(failures.len(), 1);
        assert!(!failures[0].reason.contains("partition"), "{failures:?}");
        let (failures, split) = run(4, 1);
        assert_eq!(failures.len(), 1, "{failures:?}");
        let failure = &failures[0];
        assert_eq!(
            (failure.pack.as_str(), failure.file.as_str()),
            ("split", "part.rego")
        );
        assert!(failure.reason.ends_with(" of 4)"), "{}", failure.reason);
        assert!(
            failure.reason.contains("(in partition "),
            "{}",
            failure.reason
        );
        // u3's partition stopped; the principals of the others were all reported.
        assert!(!split.contains("arn:aws:iam::1:user/u3"));
        assert!(split.len() > whole.len(), "{split:?} against {whole:?}");
        assert_eq!(run(4, 2), (failures, split));
    }

    #[test]
    fn packed_batches_find_what_on_events_finds() {
        let set = RuleSet::load(&RuleSetOptions::default()).unwrap();
        let events = stream(CHUNK + 3 * BATCH_SIZE + 10);
        let (packed, _) = feed(&set, &events, true, true);
        let (unpacked, _) = feed(&set, &events, true, false);
        assert_eq!(packed, unpacked);
        assert!(packed.iter().any(|(.., findings)| !findings.is_empty()));
        let (own, _) = feed(&set, &events, false, false);
        assert_eq!(own, packed);
    }
}
