//! Glue called by [`crate::export_rule!`]; not for direct use.

use std::cell::RefCell;

use crate::bindings::tracewarden::rule::config::ConfigEntry;
use crate::bindings::tracewarden::rule::types as wire;
use crate::event::Strings;
use crate::finding::Occurrences;
use crate::{Config, Event, Findings, Rule, RuleMeta};

thread_local! {
    /// The component's weakness occurrences so far, counted across calls ([`Findings::push`]).
    /// `None` until the first call that reports.
    static OCCURRENCES: RefCell<Option<Occurrences>> = const { RefCell::new(None) };
}

/// Runs `report` with the component's findings of this call, counted against its weakness
/// occurrences so far; returns them on the wire.
fn reporting<R: Rule>(report: impl FnOnce(&mut Findings)) -> Vec<wire::Finding> {
    let occurrences = OCCURRENCES
        .take()
        .unwrap_or_else(|| Occurrences::of(&R::rules()));
    let mut out = Findings::counting(occurrences);
    report(&mut out);
    let (findings, occurrences) = out.into_parts();
    OCCURRENCES.set(Some(occurrences));
    findings.into_iter().map(|f| f.into_wire()).collect()
}

pub use wit_bindgen;

/// `rules` export: the metadata of `R`, on the wire.
pub fn rules<R: Rule>() -> Vec<wire::RuleInfo> {
    R::rules().iter().map(rule_info).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn rule_info(meta: &RuleMeta) -> wire::RuleInfo {
    wire::RuleInfo {
        id: meta.id.to_owned(),
        title: meta.title.to_owned(),
        description: meta.description.to_owned(),
        severity: meta.severity,
        confidence: meta.confidence,
        owasp: strings(meta.owasp),
        soc2: strings(meta.soc2),
        cwe: strings(meta.cwe),
        remediation: meta.remediation.to_owned(),
        kinds: meta.kinds.to_vec(),
        operations: strings(meta.operations),
        requires: meta.requires.to_vec(),
        partitioning: meta.partitioning,
        class: meta.class,
    }
}

/// `configure` export: a fresh rule, given its options.
pub fn configure<R: Rule>(
    state: &RefCell<Option<R>>,
    options: Vec<ConfigEntry>,
) -> Result<(), String> {
    let mut rule = R::default();
    rule.configure(&Config::from_wire(options))?;
    *state.borrow_mut() = Some(rule);
    // A fresh rule has reported nothing.
    OCCURRENCES.set(None);
    Ok(())
}

/// `on-events` export: decodes the batch into borrowed views and feeds them to the rule.
pub fn on_events<R: Rule>(state: &RefCell<Option<R>>, batch: &wire::Batch) -> Vec<wire::Finding> {
    let mut state = state.borrow_mut();
    let rule = state.get_or_insert_with(R::default);
    let strings = batch_strings(batch);
    reporting::<R>(|out| {
        for event in batch_events(batch, &strings) {
            rule.on_event(&event, out);
        }
    })
}

/// `on-packed-events` export (contract 1.2): the batch read back from its bytes, then as
/// `on-events`.
#[expect(
    clippy::panic,
    reason = "the host packed these bytes: a malformed batch is its bug, and the rule must stop \
              (the host names it) rather than go on without the batch's events"
)]
pub fn on_packed_events<R: Rule>(state: &RefCell<Option<R>>, bytes: &[u8]) -> Vec<wire::Finding> {
    match crate::packed::unpack(bytes) {
        Ok(batch) => on_events(state, &batch),
        Err(e) => panic!("{e}"),
    }
}

/// The strings of a batch, each cut out of its blob once for all the views of its events
/// ([`batch_events`]): an event names ~20 of them, most shared with the batch's other events.
pub fn batch_strings(batch: &wire::Batch) -> Vec<&str> {
    Strings::resolve(&batch.strings, &batch.offsets)
}

/// The events of a batch as the borrowed views a rule reads, in order, over its strings
/// ([`batch_strings`]): what `on_events` feeds a rule, and what the engine's fuzz targets
/// compare its encoder's output with.
pub fn batch_events<'a>(
    batch: &'a wire::Batch,
    strings: &'a [&'a str],
) -> impl Iterator<Item = Event<'a>> {
    let strings = Strings(strings);
    batch
        .events
        .iter()
        .map(move |e| Event::from_wire(e, &batch.pairs, &batch.objects, strings))
}

/// `finish` export.
pub fn finish<R: Rule>(state: &RefCell<Option<R>>) -> Vec<wire::Finding> {
    let mut state = state.borrow_mut();
    let rule = state.get_or_insert_with(R::default);
    reporting::<R>(|out| rule.finish(out))
}

/// `state-usage` export (contract 1.1): what the rule's bounded state held and evicted.
pub fn state_usage<R: Rule>(state: &RefCell<Option<R>>) -> Vec<wire::StateUsage> {
    let state = state.borrow();
    let Some(rule) = state.as_ref() else {
        return Vec::new();
    };
    rule.state()
        .into_iter()
        .map(|u| wire::StateUsage {
            rule_id: u.rule_id,
            name: u.name,
            entries: u.entries,
            peak_entries: u.peak_entries,
            peak_bytes: u.peak_bytes,
            budget_bytes: u.budget_bytes,
            evicted: u.evicted,
        })
        .collect()
}
