//! Bounded keyed state: what a rule keeps between events (reads awaiting a write, walks, open
//! bursts), held in maps that forget on their own — by age ([`WindowMap`]) or by recency within a
//! memory budget ([`LruMap`]), or what was already reported in a fixed memory ([`SeenSet`]) —
//! and that count what they had to drop, so the host can say "rule
//! X evicted N entries of its state" instead of losing detections silently (contract 1.1's
//! `state-usage`; a rule lists its maps' [`StateUsage`] in [`crate::Rule::state`]).
//!
//! Sizes are estimates: [`Footprint`] counts a value's heap bytes plus its inline size, and each
//! entry adds [`ENTRY_OVERHEAD`] for the map's own bookkeeping. They are meant to keep a rule well
//! inside the host's memory cap, not to account for every byte.
//!
//! Hand-written over `std` maps rather than an LRU crate because a rule needs three things
//! together that the crates offer apart: byte weights per entry, expiry by event time, and the
//! evicted entries handed back (a rule may still judge them).

mod footprint;
mod lru;
mod seen;
mod window;

use std::borrow::Borrow;
use std::collections::BTreeMap;

use crate::collections::HashMap;
use std::hash::Hash;

pub use self::footprint::Footprint;
pub use self::lru::LruMap;
pub use self::seen::SeenSet;
pub use self::window::WindowMap;

/// Bytes each map entry adds for the map's bookkeeping (hash slot, recency index, counters).
pub const ENTRY_OVERHEAD: usize = 64;

/// What one piece of a rule's state held over a scan and what it evicted: the host lowers the
/// rule's coverage and says so when `evicted` is not 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateUsage {
    /// The rule the state serves (one of the ids in [`crate::Rule::rules`]); empty: every rule
    /// of the component.
    pub rule_id: String,
    /// The state's name, for people (`reads`).
    pub name: String,
    /// Entries held now.
    pub entries: u64,
    /// The most entries held at once.
    pub peak_entries: u64,
    /// The most bytes held at once (estimated, [`Footprint`]).
    pub peak_bytes: u64,
    /// The budget in bytes; 0: none in bytes (the state may still be bounded, by a count).
    pub budget_bytes: u64,
    /// Entries dropped to stay within the budget (not those that aged out of a window).
    pub evicted: u64,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    /// Position in the recency order (`Store::order`).
    tick: u64,
    /// Estimated bytes of key, value and overhead.
    bytes: usize,
    /// The event time the entry was last written at ([`WindowMap`]); 0 in an [`LruMap`].
    time_ns: i64,
}

/// The map both state types are made of: entries in recency order, their estimated bytes, and
/// the counters of [`StateUsage`].
#[derive(Debug)]
struct Store<K, V> {
    name: &'static str,
    budget: usize,
    slots: HashMap<K, Slot<V>>,
    /// Recency: tick → key, least recently written first.
    order: BTreeMap<u64, K>,
    next_tick: u64,
    bytes: usize,
    /// An entry handed out by `get_mut`, measured again before the next change.
    dirty: Option<K>,
    peak_entries: usize,
    peak_bytes: usize,
    evicted: u64,
}

impl<K: Eq + Hash + Clone + Footprint, V: Footprint> Store<K, V> {
    fn new(name: &'static str) -> Self {
        Store {
            name,
            budget: 0,
            slots: HashMap::default(),
            order: BTreeMap::new(),
            next_tick: 0,
            bytes: 0,
            dirty: None,
            peak_entries: 0,
            peak_bytes: 0,
            evicted: 0,
        }
    }

    fn measure(key: &K, value: &V) -> usize {
        key.footprint() + value.footprint() + ENTRY_OVERHEAD
    }

    /// Measures the entry `get_mut` handed out again.
    fn settle(&mut self) {
        let Some(key) = self.dirty.take() else {
            return;
        };
        if let Some(slot) = self.slots.get_mut(&key) {
            let bytes = Self::measure(&key, &slot.value);
            self.bytes = self.bytes - slot.bytes + bytes;
            slot.bytes = bytes;
        }
    }

    /// The stored key equal to `key`.
    fn owned_key<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<K>
    where
        K: Borrow<Q>,
    {
        self.slots.get_key_value(key).map(|(k, _)| k.clone())
    }

    /// Makes `key` the most recently written entry.
    fn touch<Q: Hash + Eq + ?Sized>(&mut self, key: &Q, time_ns: Option<i64>)
    where
        K: Borrow<Q>,
    {
        let Some(owned) = self.owned_key(key) else {
            return;
        };
        let tick = self.next_tick;
        if let Some(slot) = self.slots.get_mut(key) {
            self.order.remove(&slot.tick);
            slot.tick = tick;
            if let Some(t) = time_ns {
                slot.time_ns = t;
            }
            self.order.insert(tick, owned);
            self.next_tick += 1;
        }
    }

    /// `key`'s value to change in place; measured again at the next change.
    fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.settle();
        self.dirty = Some(self.owned_key(key)?);
        self.slots.get_mut(key).map(|s| &mut s.value)
    }

    /// Writes `key` through `f` (inserting `default()` first when absent), measures it, and
    /// evicts the least recently written others while over budget. Returns the evicted entries.
    fn upsert(
        &mut self,
        key: K,
        time_ns: i64,
        default: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> Vec<(K, V)> {
        self.settle();
        if self.slots.contains_key(&key) {
            self.touch(&key, Some(time_ns));
        } else {
            let tick = self.next_tick;
            self.next_tick += 1;
            self.order.insert(tick, key.clone());
            let slot = Slot {
                value: default(),
                tick,
                bytes: 0,
                time_ns,
            };
            self.slots.insert(key.clone(), slot);
        }
        if let Some(slot) = self.slots.get_mut(&key) {
            f(&mut slot.value);
            let bytes = Self::measure(&key, &slot.value);
            self.bytes = self.bytes - slot.bytes + bytes;
            slot.bytes = bytes;
        }
        let evicted = self.evict_over_budget(&key);
        self.peak_entries = self.peak_entries.max(self.slots.len());
        self.peak_bytes = self.peak_bytes.max(self.bytes);
        evicted
    }

    /// Inserts or replaces `key`'s value: a replaced entry is removed first (not an eviction).
    fn put(&mut self, key: K, time_ns: i64, value: V) -> Vec<(K, V)> {
        self.settle();
        self.remove(&key);
        self.upsert(key, time_ns, move || value, |_| ())
    }

    /// Evicts least recently written entries other than `keep` until within budget.
    fn evict_over_budget(&mut self, keep: &K) -> Vec<(K, V)> {
        let mut evicted = Vec::new();
        if self.budget == 0 {
            return evicted;
        }
        while self.bytes > self.budget {
            let Some(oldest) = self.order.values().next().cloned() else {
                break;
            };
            if &oldest == keep {
                // The newest entry is always kept, even alone over budget.
                break;
            }
            if let Some(value) = self.remove(&oldest) {
                self.evicted += 1;
                evicted.push((oldest, value));
            }
        }
        evicted
    }

    fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        if self.dirty.as_ref().is_some_and(|d| d.borrow() == key) {
            self.dirty = None;
        }
        let slot = self.slots.remove(key)?;
        self.order.remove(&slot.tick);
        self.bytes -= slot.bytes;
        Some(slot.value)
    }

    fn pop_oldest_if(&mut self, mut f: impl FnMut(&Slot<V>) -> bool) -> Option<(K, V)> {
        let key = self.order.values().next()?.clone();
        if !f(self.slots.get(&key)?) {
            return None;
        }
        let value = self.remove(&key)?;
        Some((key, value))
    }

    fn drain(&mut self) -> Vec<(K, V)> {
        self.settle();
        let mut out = Vec::with_capacity(self.slots.len());
        while let Some(entry) = self.pop_oldest_if(|_| true) {
            out.push(entry);
        }
        out
    }

    fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.settle();
        let gone: Vec<K> = self
            .slots
            .iter_mut()
            .filter_map(|(k, slot)| (!f(k, &mut slot.value)).then(|| k.clone()))
            .collect();
        for key in gone {
            self.remove(&key);
        }
        let measured: Vec<(K, usize)> = self
            .slots
            .iter()
            .map(|(k, slot)| (k.clone(), Self::measure(k, &slot.value)))
            .collect();
        for (key, bytes) in measured {
            if let Some(slot) = self.slots.get_mut(&key) {
                self.bytes = self.bytes - slot.bytes + bytes;
                slot.bytes = bytes;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.order
            .values()
            .filter_map(|k| self.slots.get_key_value(k).map(|(k, s)| (k, &s.value)))
    }

    fn usage(&self, rule_id: &str) -> StateUsage {
        StateUsage {
            rule_id: rule_id.to_owned(),
            name: self.name.to_owned(),
            entries: self.slots.len() as u64,
            peak_entries: self.peak_entries as u64,
            peak_bytes: self.peak_bytes as u64,
            budget_bytes: self.budget as u64,
            evicted: self.evicted,
        }
    }
}

#[cfg(test)]
mod tests;
