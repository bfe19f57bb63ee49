//! A rule that reports every DB event it sees until it meets an event on the table `boom`, then
//! misbehaves as its feature says: `looping` spins forever, `hungry` allocates without bound,
//! `trapping` panics. The end-to-end tests prove the host stops each one, names it, and keeps the
//! other rules' findings. `flushing` is the honest counterpart: it holds every event and works
//! through them in `finish`, which the host must let complete however many events it was sent.
//! `evicting` is honest too: it keeps one entry per event in a state map whose budget holds
//! [`EVICTING_KEEPS`] of them, and reports what it evicted (contract 1.1 `state-usage`).

use tracewarden_sdk::prelude::*;

#[cfg(feature = "looping")]
const ID: &str = "TEST-LOOP";
#[cfg(feature = "hungry")]
const ID: &str = "TEST-HUNGRY";
#[cfg(feature = "trapping")]
const ID: &str = "TEST-TRAP";
#[cfg(feature = "flushing")]
const ID: &str = "TEST-FLUSH";
#[cfg(feature = "evicting")]
const ID: &str = "TEST-EVICT";
#[cfg(not(any(
    feature = "looping",
    feature = "hungry",
    feature = "trapping",
    feature = "flushing",
    feature = "evicting"
)))]
const ID: &str = "TEST-TAME";

/// Work per held event in `finish` (loop iterations): ~2–5 k fuel per event, so that 40,000
/// events need more than a fixed per-call budget of 50 M.
#[cfg(feature = "flushing")]
const FLUSH_WORK: u64 = 500;

/// Entries the `evicting` rule's state map has room for.
pub const EVICTING_KEEPS: usize = 4;

/// The misbehaving rule.
pub struct Hostile {
    hoard: Vec<Vec<u8>>,
    held: Vec<String>,
    last: Option<Evidence>,
    /// Event time by event number, within a budget of [`EVICTING_KEEPS`] entries.
    recent: LruMap<u64, i64>,
    events: u64,
}

impl Default for Hostile {
    fn default() -> Self {
        let entry = size_of::<u64>() + size_of::<i64>() + tracewarden_sdk::state::ENTRY_OVERHEAD;
        Hostile {
            hoard: Vec::new(),
            held: Vec::new(),
            last: None,
            recent: LruMap::new("recent").with_budget(EVICTING_KEEPS * entry),
            events: 0,
        }
    }
}

impl Hostile {
    fn misbehave(&mut self) {
        std::hint::black_box(&self.hoard);
        #[cfg(feature = "looping")]
        loop {
            std::hint::black_box(&mut self.hoard);
        }
        #[cfg(feature = "hungry")]
        loop {
            // Untouched 16 MiB capacity: the memory cap must stop it, not the CPU budget.
            self.hoard
                .push(std::hint::black_box(Vec::with_capacity(16 << 20)));
        }
        #[cfg(feature = "trapping")]
        {
            let depth = std::hint::black_box(self.hoard.len());
            #[expect(clippy::panic, reason = "the point of this test rule")]
            {
                panic!("deliberate failure after {depth} hoarded buffers");
            }
        }
    }
}

impl Rule for Hostile {
    fn rules() -> Vec<RuleMeta> {
        vec![RuleMeta {
            id: ID,
            title: "Misbehaving test rule",
            severity: Severity::Info,
            kinds: &[EventKind::DbOperation],
            ..RuleMeta::DEFAULT
        }]
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(db) = event.db() else { return };
        if cfg!(feature = "evicting") {
            self.events += 1;
            self.recent.insert(self.events, event.time_ns);
            return;
        }
        if cfg!(feature = "flushing") {
            self.held.push(event.id.to_owned());
            self.last = Some(Evidence::of(event, "last"));
            return;
        }
        if db.table == "boom" {
            self.misbehave();
        }
        out.push(Finding::new(ID, "seen").evidence(event, "seen"));
    }

    fn finish(&mut self, out: &mut Findings) {
        #[cfg(feature = "flushing")]
        {
            let mut acc = 0u64;
            for id in &self.held {
                for i in 0..FLUSH_WORK {
                    acc = std::hint::black_box(
                        acc.wrapping_mul(31).wrapping_add(id.len() as u64 + i),
                    );
                }
            }
            let mut finding = Finding::new(
                ID,
                format!("flushed {} events ({})", self.held.len(), acc % 2),
            );
            if let Some(last) = self.last.take() {
                finding = finding.with(last);
            }
            out.push(finding);
        }
        let _ = out;
    }

    fn state(&self) -> Vec<StateUsage> {
        vec![self.recent.usage(ID)]
    }
}

tracewarden_sdk::export_rule!(Hostile);
