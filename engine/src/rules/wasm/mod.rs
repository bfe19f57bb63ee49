//! The WASM rule host: compiles a rule component once, checks its contract version (any 1.x up
//! to the host's minor; an export added since 1.0 that a component lacks is treated as absent)
//! and imports, and runs it sandboxed: no WASI capabilities (no files, environment, network;
//! fixed clocks and random), a linear-memory cap and a fuel budget re-armed before every call. A
//! component that traps, runs out of fuel or memory is stopped and its instance discarded.
//! Compiled code may be kept between runs in a component cache (`cache.rs`).

mod batch;
mod bindings;
mod cache;

use std::sync::OnceLock;

use rand::SeedableRng;
use wasmtime::component::{Component, Linker, ResourceTable, TypedFunc, types::ComponentItem};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use self::batch::{BatchEncoder, BatchTooLarge};
use self::bindings::tracewarden::rule::types as wire;
pub use self::cache::{CacheOutcome, ComponentCache, MAX_CACHED_COMPONENTS};
use super::config::{OptionValue, PackConfig};
use super::meta::{Confidence, FactNeed, FindingClass, Partitioning, RuleMeta, Severity};
use crate::event::{Event, EventKind};
use crate::finding::{Evidence, RawFinding, Site};

/// The contract version this host implements (`wit/rule.wit`). It loads components built for
/// any version of the same major whose minor is not newer (see [`accepted_contracts`]).
pub const CONTRACT_VERSION: (u64, u64, u64) = (1, 2, 0);
const CONTRACT_PACKAGE: &str = "tracewarden:rule/";
/// The export added in contract 1.1: what the rule's state held and evicted.
const STATE_USAGE_EXPORT: &str = "state-usage";
/// The export added in contract 1.2: `on-events` with the batch packed into bytes.
const PACKED_EVENTS_EXPORT: &str = "on-packed-events";

/// The type of [`PACKED_EVENTS_EXPORT`].
type PackedEvents<'a> = TypedFunc<(&'a [u8],), (Vec<wire::Finding>,)>;

/// The contract versions this host loads, in words: `tracewarden:rule@1.0.0` to `1.2.x`.
pub fn accepted_contracts() -> String {
    let (major, minor, _) = CONTRACT_VERSION;
    if minor == 0 {
        format!("`tracewarden:rule@{major}.0.x`")
    } else {
        format!("`tracewarden:rule@{major}.0.0` to `{major}.{minor}.x`")
    }
}

/// What one piece of a rule's state held over a scan and what it evicted (contract 1.1's
/// `state-usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUsage {
    /// The rule it serves; empty: every rule of the component.
    pub rule_id: String,
    /// The state's name (`reads`).
    pub name: String,
    /// Entries held at the end of the scan.
    pub entries: u64,
    /// The most entries held at once.
    pub peak_entries: u64,
    /// The most bytes held at once, as the rule estimates them.
    pub peak_bytes: u64,
    /// The budget in bytes; 0: none in bytes (the state may still be bounded, by a count).
    pub budget_bytes: u64,
    /// Entries dropped to stay within the budget or bounds.
    pub evicted: u64,
}

impl StateUsage {
    /// What a report says of evictions (`None` when there were none): the findings that needed
    /// the evicted entries may be missing.
    pub fn eviction_note(&self) -> Option<String> {
        if self.evicted == 0 {
            return None;
        }
        let within = match self.budget_bytes {
            0 => "its bounds".to_owned(),
            bytes => format!("its budget of {} KiB", bytes.div_ceil(1024)),
        };
        Some(format!(
            "evicted {} entries of its state `{}` to stay within {within} (peak {} entries): \
             findings that needed them may be missing",
            self.evicted, self.name, self.peak_entries
        ))
    }
}

/// Sandbox limits of WASM rules. One place sets them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasmLimits {
    /// Linear memory cap per instance, bytes.
    pub memory_bytes: usize,
    /// Fuel for a call, before the per-event share.
    pub fuel_per_call: u64,
    /// Fuel added per event in the batch.
    pub fuel_per_event: u64,
    /// Fuel added to the final `finish` call per event the rule was sent over the scan: a rule
    /// that handled millions of events may have that much state to flush.
    pub fuel_per_event_flushed: u64,
}

impl Default for WasmLimits {
    /// 64 MiB, and fuel for ~1000x the measured cost of a simple rule (~8k fuel per event); the
    /// flush gets ~2.5x that cost per event sent, above the per-call share (measured: the TOCTOU
    /// pack flushes ~1k fuel per event held).
    fn default() -> Self {
        WasmLimits {
            memory_bytes: 64 << 20,
            fuel_per_call: 50_000_000,
            fuel_per_event: 10_000_000,
            fuel_per_event_flushed: 20_000,
        }
    }
}

/// The process-wide wasmtime engine: fuel metering on, default (on-demand) allocation.
fn engine() -> Result<&'static Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config.wasm_component_model(true).consume_fuel(true);
            #[cfg(feature = "perfmap")]
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
            Engine::new(&config).map_err(|e| format!("cannot start the WASM engine: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Store data: an empty WASI context (no preopens, env, args, network) and the limits.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    stderr: MemoryOutputPipe,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A clock frozen at the Unix epoch: rules get time from events, never from the host.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A compiled rule component, ready to instantiate for each scan.
#[derive(Clone)]
pub struct WasmComponent {
    pre: bindings::RuleBasePre<HostState>,
    rules: Vec<RuleMeta>,
    limits: WasmLimits,
    /// The pack's options, given to every instance before its first event.
    options: Vec<ConfigEntry>,
    cache: CacheOutcome,
}

impl std::fmt::Debug for WasmComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponent")
            .field("rules", &self.rules)
            .field("cache", &self.cache)
            .finish()
    }
}

impl WasmComponent {
    /// Compiles `bytes` (a component, never precompiled code), or reads the code `cache` kept
    /// from an earlier compilation of the same bytes; checks the contract version and imports,
    /// reads its rules' metadata and checks that it accepts `config`. Returns every problem
    /// found; a cache that cannot be used is no problem (see [`WasmComponent::cache_outcome`]).
    pub fn load(
        bytes: &[u8],
        limits: WasmLimits,
        cache: &ComponentCache,
        config: &PackConfig,
    ) -> Result<WasmComponent, Vec<String>> {
        let engine = engine().map_err(|e| vec![e])?;
        let (component, cache) = cache::load(engine, bytes, cache)
            .map_err(|e| vec![format!("not a valid component: {e:#}")])?;
        let mut problems = check_imports(engine, &component);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut linker = Linker::<HostState>::new(engine);
        if let Err(e) = wasmtime_wasi::p2::add_to_linker_sync(&mut linker) {
            return Err(vec![format!("cannot link WASI: {e}")]);
        }
        let pre = linker
            .instantiate_pre(&component)
            .and_then(bindings::RuleBasePre::new)
            .map_err(|e| {
                vec![format!(
                    "component does not fit the `tracewarden:rule` world: {e:#}"
                )]
            })?;
        let mut component = WasmComponent {
            pre,
            rules: Vec::new(),
            limits,
            options: config.iter().map(config_entry).collect(),
            cache,
        };
        // `instantiate` also hands the component its options: a refusal is reported here, at load.
        let mut session = component.instantiate().map_err(|e| vec![e])?;
        let infos = session
            .call(|rule, store| rule.call_rules(store))
            .map_err(|e| vec![e])?;
        component.rules = infos.into_iter().map(rule_meta).collect();
        if component.rules.is_empty() {
            problems.push("component declares no rules".to_owned());
        }
        for meta in &component.rules {
            problems.extend(meta.problems());
        }
        if problems.is_empty() {
            Ok(component)
        } else {
            Err(problems)
        }
    }

    /// The rules this component carries.
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    /// Whether the component was read from the cache or compiled, and why the cache was not
    /// used if it was not.
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }

    /// A fresh instance for one scan.
    pub(crate) fn instantiate(&self) -> Result<WasmSession, String> {
        let stderr = MemoryOutputPipe::new(4096);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .insecure_random_seed(0)
            .insecure_random(rand::rngs::StdRng::seed_from_u64(0))
            .secure_random(rand::rngs::StdRng::seed_from_u64(0))
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .instances(16)
            .tables(16)
            .memories(4)
            .trap_on_grow_failure(true)
            .build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limits,
            stderr,
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(self.limits.fuel_per_call)
            .map_err(|e| format!("cannot set fuel: {e}"))?;
        let instance = self
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(|e| describe_failure(&e, &store, self.limits))?;
        let rule = bindings::RuleBase::new(&mut store, &instance)
            .map_err(|e| describe_failure(&e, &store, self.limits))?;
        let export = |name| {
            self.pre
                .instance_pre()
                .component()
                .get_export_index(None, name)
        };
        // Contract 1.1's export, absent from a component built for 1.0; a function of the right
        // type when present (checked here, so at load too).
        let state_usage = match export(STATE_USAGE_EXPORT) {
            Some(index) => Some(instance.get_typed_func(&mut store, index).map_err(|e| {
                format!(
                    "exports `{STATE_USAGE_EXPORT}` with another type than contract 1.1's: {e:#}"
                )
            })?),
            None => None,
        };
        // Contract 1.2's export, absent from a component built for the `rule` world or an older
        // contract: then batches go through `on-events`.
        let packed = match export(PACKED_EVENTS_EXPORT) {
            Some(index) => {
                let func = instance
                    .get_func(&mut store, index)
                    .ok_or_else(|| format!("exports `{PACKED_EVENTS_EXPORT}` as no function"))?;
                let _: PackedEvents<'_> = func.typed(&store).map_err(|e| {
                    format!(
                        "exports `{PACKED_EVENTS_EXPORT}` with another type than contract \
                             1.2's: {e:#}"
                    )
                })?;
                Some(func)
            }
            None => None,
        };
        let mut session = WasmSession {
            store,
            rule,
            state_usage,
            packed,
            packed_bytes: Vec::new(),
            limits: self.limits,
            encoder: BatchEncoder::default(),
        };
        session
            .call(|rule, store| rule.call_configure(store, &self.options))?
            .map_err(|e| format!("rejects its options: {e}"))?;
        Ok(session)
    }
}

/// Lists imports the host will not satisfy, and a contract version it does not implement.
fn check_imports(engine: &Engine, component: &Component) -> Vec<String> {
    let mut problems = Vec::new();
    // The versions of the contract's interfaces it imports (`types`, `config`): each said once.
    let mut contract: Vec<&str> = Vec::new();
    let ty = component.component_type();
    for (name, item) in ty.imports(engine) {
        if let Some(rest) = name.strip_prefix(CONTRACT_PACKAGE) {
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
            if contract.contains(&version) {
                continue;
            }
            contract.push(version);
            if !compatible(version) {
                problems.push(format!(
                    "built for contract `tracewarden:rule@{version}`, this host accepts {}",
                    accepted_contracts()
                ));
            }
        } else if !name.starts_with("wasi:")
            || !matches!(item.ty, ComponentItem::ComponentInstance(_))
        {
            problems.push(format!("imports `{name}`, which the host does not provide"));
        }
    }
    if contract.is_empty() {
        problems.push("does not implement the `tracewarden:rule` contract (no `tracewarden:rule/types` import)".to_owned());
    }
    problems
}

/// Semver compatibility with [`CONTRACT_VERSION`]: the same major, and a minor not newer than
/// the host's (a newer minor may need exports or types this host does not know).
fn compatible(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
        return false;
    };
    major == CONTRACT_VERSION.0 && minor <= CONTRACT_VERSION.1
}

/// One instance of a component, for the length of one scan.
pub(crate) struct WasmSession {
    store: Store<HostState>,
    rule: bindings::RuleBase,
    state_usage: Option<TypedFunc<(), (Vec<wire::StateUsage>,)>>,
    /// `on-packed-events` (contract 1.2), checked to be a [`PackedEvents`].
    packed: Option<wasmtime::component::Func>,
    /// The buffer batches are packed into, kept between batches.
    packed_bytes: Vec<u8>,
    limits: WasmLimits,
    encoder: BatchEncoder,
}

impl WasmSession {
    /// Calls `f` with the per-call budget.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&bindings::RuleBase, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, String> {
        call_metered(
            &mut self.store,
            &self.rule,
            self.limits,
            self.limits.fuel_per_call,
            f,
        )
    }

    /// Sends a batch; returns the findings it produced.
    pub(crate) fn on_events(&mut self, events: &[&Event]) -> Result<Vec<RawFinding>, String> {
        let fuel = budget(self.limits.fuel_per_event, events.len() as u64, self.limits);
        let Ok(batch) = self.encoder.encode(events.iter().copied()) else {
            return Err(TOO_LARGE.to_owned());
        };
        let packed = self.packed.map(|func| {
            batch::pack(batch, &mut self.packed_bytes);
            (func, self.packed_bytes.as_slice())
        });
        send(
            &mut self.store,
            &self.rule,
            self.limits,
            fuel,
            batch,
            packed,
        )
    }

    /// Sends a batch encoded once for several components ([`SharedBatch`]): whole to one that
    /// wants all of its events (`picks` none), else its events at `picks` (ascending) with the
    /// batch's strings, pairs and objects as they are, which those events index. Packed, the
    /// whole batch is packed once for every component and a part only with its events; through
    /// `on-events` (a component without the packed export) a part's tables are copied into a
    /// batch of its events.
    pub(crate) fn on_shared(
        &mut self,
        shared: &SharedBatch,
        picks: Option<&[usize]>,
    ) -> Result<Vec<RawFinding>, String> {
        let Ok(whole) = &shared.batch else {
            return Err(TOO_LARGE.to_owned());
        };
        let events = picks.map_or(whole.events.len(), <[usize]>::len);
        let fuel = budget(self.limits.fuel_per_event, events as u64, self.limits);
        let part;
        let (batch, packed) = match (picks, self.packed) {
            (None, func) => (
                whole,
                func.map(|f| {
                    (
                        f,
                        shared
                            .packed
                            .get_or_init(|| batch::packed(whole))
                            .as_slice(),
                    )
                }),
            ),
            (Some(picks), Some(func)) => {
                batch::pack_part(whole, picks, &mut self.packed_bytes);
                (whole, Some((func, self.packed_bytes.as_slice())))
            }
            (Some(picks), None) => {
                part = wire::Batch {
                    strings: whole.strings.clone(),
                    offsets: whole.offsets.clone(),
                    pairs: whole.pairs.clone(),
                    objects: whole.objects.clone(),
                    events: picks
                        .iter()
                        .filter_map(|&i| whole.events.get(i).cloned())
                        .collect(),
                };
                (&part, None)
            }
        };
        send(
            &mut self.store,
            &self.rule,
            self.limits,
            fuel,
            batch,
            packed,
        )
    }

    /// Whether the component takes packed batches (contract 1.2).
    #[cfg(test)]
    pub(crate) fn takes_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// Sends every batch through `on-events`, as to a component without `on-packed-events`.
    #[cfg(test)]
    pub(crate) fn unpacked(&mut self) {
        self.packed = None;
    }

    /// Flushes the rule, which was sent `sent` events over the scan: its budget grows with them,
    /// so an honest rule can flush what a large input left it.
    pub(crate) fn finish(&mut self, sent: u64) -> Result<Vec<RawFinding>, String> {
        let fuel = budget(self.limits.fuel_per_event_flushed, sent, self.limits);
        let findings = call_metered(
            &mut self.store,
            &self.rule,
            self.limits,
            fuel,
            |rule, store| rule.call_finish(store),
        )?;
        Ok(findings.into_iter().map(raw_finding).collect())
    }

    /// What the rule's state held and evicted (after `finish`); nothing from a component built
    /// for contract 1.0, which lacks the export.
    pub(crate) fn state_usage(&mut self) -> Result<Vec<StateUsage>, String> {
        let Some(func) = self.state_usage else {
            return Ok(Vec::new());
        };
        let (usage,) = self.call(|_, store| func.call(store, ()))?;
        Ok(usage
            .into_iter()
            .map(|u| StateUsage {
                rule_id: u.rule_id,
                name: u.name,
                entries: u.entries,
                peak_entries: u.peak_entries,
                peak_bytes: u.peak_bytes,
                budget_bytes: u.budget_bytes,
                evicted: u.evicted,
            })
            .collect())
    }
}

/// Events encoded once into a wire batch, sent as they are to each component that wants every
/// one of them: a slice of a chunk, shared by the rule files' workers. Packed (contract 1.2) the
/// first time a component that takes packed batches is sent it.
pub(crate) struct SharedBatch {
    batch: Result<wire::Batch, BatchTooLarge>,
    packed: std::sync::OnceLock<Vec<u8>>,
}

impl SharedBatch {
    /// `events` encoded (or found too large for the wire, which the call then reports).
    pub(crate) fn encode(events: &[Box<Event>]) -> Self {
        SharedBatch {
            batch: BatchEncoder::encode_shared(events.iter().map(|e| &**e)),
            packed: std::sync::OnceLock::new(),
        }
    }
}

/// Why a batch was not sent.
const TOO_LARGE: &str = "a batch's strings exceed 4 GiB";

/// Sends an encoded batch under `fuel`: packed through `on-packed-events` when the component
/// has it (the function and the packed bytes), else through `on-events`; the rule's findings.
fn send(
    store: &mut Store<HostState>,
    rule: &bindings::RuleBase,
    limits: WasmLimits,
    fuel: u64,
    batch: &wire::Batch,
    packed: Option<(wasmtime::component::Func, &[u8])>,
) -> Result<Vec<RawFinding>, String> {
    let findings = match packed {
        Some((func, bytes)) => call_metered(store, rule, limits, fuel, |_, store| {
            // Checked when the session started; checking again costs a walk of two types.
            let typed: PackedEvents<'_> = func.typed(&*store)?;
            typed
                .call(&mut *store, (bytes,))
                .map(|(findings,)| findings)
        })?,
        None => call_metered(store, rule, limits, fuel, |rule, store| {
            rule.call_on_events(store, batch)
        })?,
    };
    Ok(findings.into_iter().map(raw_finding).collect())
}

/// A call's fuel: the per-call share and `per_event` for each of `events`.
fn budget(per_event: u64, events: u64, limits: WasmLimits) -> u64 {
    per_event
        .saturating_mul(events)
        .saturating_add(limits.fuel_per_call)
}

/// Calls `f` with the fuel budget re-armed to `fuel`; turns traps and limit hits into a reason.
fn call_metered<T>(
    store: &mut Store<HostState>,
    rule: &bindings::RuleBase,
    limits: WasmLimits,
    fuel: u64,
    f: impl FnOnce(&bindings::RuleBase, &mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<T, String> {
    store
        .set_fuel(fuel)
        .map_err(|e| format!("cannot set fuel: {e}"))?;
    f(rule, store).map_err(|e| describe_failure(&e, store, limits))
}

/// Why a call failed, in words: fuel, memory, a trap (with the guest's panic message if any).
fn describe_failure(e: &wasmtime::Error, store: &Store<HostState>, limits: WasmLimits) -> String {
    // A Rust guest's panic message, on one line, without the backtrace hint.
    let stderr = String::from_utf8_lossy(&store.data().stderr.contents())
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect::<Vec<_>>()
        .join(" ");
    let detail = if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    };
    let text = format!("{e:#}");
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => "exceeded its CPU budget (ran out of fuel)".to_owned(),
        _ if text.contains("forcing trap when growing memory") => {
            format!(
                "exceeded its memory cap of {} MiB",
                limits.memory_bytes >> 20
            )
        }
        Some(trap) => {
            let trap = trap.to_string();
            format!(
                "trapped ({}){detail}",
                trap.trim_start_matches("wasm trap: ")
            )
        }
        None => format!("failed: {text}{detail}"),
    }
}

use self::bindings::tracewarden::rule::config::{ConfigEntry, ConfigValue};

fn config_entry((name, value): (&str, &OptionValue)) -> ConfigEntry {
    ConfigEntry {
        name: name.to_owned(),
        value: match value {
            OptionValue::Boolean(b) => ConfigValue::Boolean(*b),
            OptionValue::Integer(i) => ConfigValue::Integer(*i),
            OptionValue::Float(f) => ConfigValue::Float(*f),
            OptionValue::Text(t) => ConfigValue::Text(t.clone()),
            OptionValue::Texts(t) => ConfigValue::Texts(t.clone()),
        },
    }
}

fn severity(s: wire::Severity) -> Severity {
    match s {
        wire::Severity::Info => Severity::Info,
        wire::Severity::Low => Severity::Low,
        wire::Severity::Medium => Severity::Medium,
        wire::Severity::High => Severity::High,
        wire::Severity::Critical => Severity::Critical,
    }
}

fn confidence(c: wire::Confidence) -> Confidence {
    match c {
        wire::Confidence::Low => Confidence::Low,
        wire::Confidence::Medium => Confidence::Medium,
        wire::Confidence::High => Confidence::High,
    }
}

fn rule_meta(info: wire::RuleInfo) -> RuleMeta {
    RuleMeta {
        id: info.id,
        title: info.title,
        description: info.description,
        severity: severity(info.severity),
        confidence: confidence(info.confidence),
        owasp: info.owasp,
        soc2: info.soc2,
        cwe: info.cwe,
        remediation: info.remediation,
        kinds: info
            .kinds
            .into_iter()
            .map(|k| match k {
                wire::EventKind::Http => EventKind::Http,
                wire::EventKind::DbOperation => EventKind::DbOperation,
                wire::EventKind::KeyLifecycle => EventKind::KeyLifecycle,
                wire::EventKind::AuthDecision => EventKind::AuthDecision,
            })
            .collect(),
        operations: info.operations,
        requires: info
            .requires
            .into_iter()
            .map(|n| match n {
                wire::FactNeed::Key => FactNeed::Key,
                wire::FactNeed::KeyCreated => FactNeed::KeyCreated,
                wire::FactNeed::KeyRevoked => FactNeed::KeyRevoked,
                wire::FactNeed::KeyDownscoped => FactNeed::KeyDownscoped,
                wire::FactNeed::KeyParentRevoked => FactNeed::KeyParentRevoked,
                wire::FactNeed::Objects => FactNeed::Objects,
                wire::FactNeed::ObjectsOwned => FactNeed::ObjectsOwned,
                wire::FactNeed::ObjectsScoped => FactNeed::ObjectsScoped,
            })
            .collect(),
        partitioning: match info.partitioning {
            wire::Partitioning::None => Partitioning::None,
            wire::Partitioning::ByPrincipal => Partitioning::ByPrincipal,
            wire::Partitioning::ByResource => Partitioning::ByResource,
            wire::Partitioning::ByTrace => Partitioning::ByTrace,
        },
        class: match info.class {
            wire::FindingClass::Incident => FindingClass::Incident,
            wire::FindingClass::Weakness => FindingClass::Weakness,
        },
    }
}

fn raw_finding(f: wire::Finding) -> RawFinding {
    RawFinding {
        rule_id: f.rule_id,
        severity: f.severity.map(severity),
        confidence: f.confidence.map(confidence),
        message: f.message,
        principal: f.principal,
        resource: f.resource,
        time_ns: f.time_ns,
        evidence: f
            .evidence
            .into_iter()
            .map(|e| Evidence {
                event_id: e.event_id,
                role: e.role,
                source: e.source,
                location: None,
                time: None,
                time_ns: None,
            })
            .collect(),
        site: f.site.map(|s| Site {
            method: s.method,
            route: s.route,
            table: s.table,
            operation: s.operation,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_wat(wat: &str) -> Vec<String> {
        load_wat_bytes(&wat::parse_str(wat).unwrap())
    }

    #[test]
    fn an_incompatible_contract_and_a_foreign_import_are_both_listed() {
        let problems = load_wat(
            r#"(component
                (import "tracewarden:rule/types@0.5.0" (instance))
                (import "tracewarden:rule/config@0.5.0" (instance))
                (import "acme:net/sockets@1.0.0" (instance))
            )"#,
        );
        assert_eq!(
            problems,
            [
                "built for contract `tracewarden:rule@0.5.0`, this host accepts `tracewarden:rule@1.0.0` to `1.2.x`",
                "imports `acme:net/sockets@1.0.0`, which the host does not provide",
            ]
        );
    }

    #[test]
    fn a_component_without_the_contract_is_refused() {
        assert_eq!(
            load_wat("(component)"),
            [
                "does not implement the `tracewarden:rule` contract (no `tracewarden:rule/types` import)"
            ]
        );
        assert!(load_wat_bytes(b"\0asm garbage")[0].starts_with("not a valid component"));
    }

    fn load_wat_bytes(bytes: &[u8]) -> Vec<String> {
        WasmComponent::load(
            bytes,
            WasmLimits::default(),
            &ComponentCache::Off,
            &PackConfig::default(),
        )
        .unwrap_err()
    }

    /// The bytes of a built-in component.
    fn builtin_component() -> &'static [u8] {
        crate::rules::builtin::PACKS
            .iter()
            .flat_map(|p| p.files)
            .find(|(name, _)| name.ends_with(".wasm"))
            .map(|(_, bytes)| *bytes)
            .unwrap()
    }

    #[test]
    fn a_cached_component_loads_the_same_rules_and_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ComponentCache::Dir(tmp.path().join("components"));
        let load = || {
            WasmComponent::load(
                builtin_component(),
                WasmLimits::default(),
                &cache,
                &PackConfig::default(),
            )
            .unwrap()
        };
        let compiled = load();
        assert_eq!(compiled.cache_outcome(), &CacheOutcome::Stored);
        let read = load();
        assert_eq!(read.cache_outcome(), &CacheOutcome::Hit);
        assert!(!read.rules().is_empty());
        assert_eq!(read.rules(), compiled.rules());
        let mut session = read.instantiate().unwrap();
        assert_eq!(session.on_events(&[]).unwrap().len(), 0);
        assert_eq!(session.finish(0).unwrap().len(), 0);
    }

    #[test]
    fn a_pack_cannot_hand_in_compiled_code() {
        // What the cache stores, handed in as a pack's `.wasm`: refused, never deserialized.
        let engine = engine().unwrap();
        let code = Component::new(engine, builtin_component())
            .unwrap()
            .serialize()
            .unwrap();
        let problems = load_wat_bytes(&code);
        assert!(
            problems[0].starts_with("not a valid component"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_host_states_the_wit_package_version() {
        let (major, minor, patch) = CONTRACT_VERSION;
        let wit = include_str!("../../../../wit/rule.wit");
        assert!(wit.contains(&format!(
            "package tracewarden:rule@{major}.{minor}.{patch};"
        )));
    }

    #[test]
    fn contract_versions_follow_semver() {
        assert!(compatible("1.0.0"));
        assert!(compatible("1.0.3"));
        assert!(compatible("1.1.0"));
        assert!(compatible("1.1.9"));
        assert!(compatible("1.2.0"));
        assert!(
            !compatible("1.3.0"),
            "a newer minor may need what this host lacks"
        );
        assert!(!compatible("0.4.0"));
        assert!(!compatible("2.0.0"));
        assert!(!compatible("garbage"));
        assert_eq!(accepted_contracts(), "`tracewarden:rule@1.0.0` to `1.2.x`");
    }

    #[test]
    fn evictions_make_a_note_and_none_make_none() {
        let mut usage = StateUsage {
            rule_id: "TW-X-001".to_owned(),
            name: "reads".to_owned(),
            entries: 10,
            peak_entries: 12,
            peak_bytes: 2000,
            budget_bytes: 2048,
            evicted: 0,
        };
        assert_eq!(usage.eviction_note(), None);
        usage.evicted = 3;
        assert_eq!(
            usage.eviction_note().unwrap(),
            "evicted 3 entries of its state `reads` to stay within its budget of 2 KiB \
             (peak 12 entries): findings that needed them may be missing"
        );
        usage.budget_bytes = 0;
        assert_eq!(
            usage.eviction_note().unwrap(),
            "evicted 3 entries of its state `reads` to stay within its bounds (peak 12 \
             entries): findings that needed them may be missing"
        );
    }
}
