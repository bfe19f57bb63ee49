//! Bounded keyed state: what a rule keeps between events (reads awaiting a write, walks, open
//! bursts), held in maps that forget on their own — by age ([`WindowMap`]) or by recency within a
//! memory budget ([`LruMap`]) — and that count what they had to drop, so the host can say "rule
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

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::mem::size_of;

use crate::{Evidence, Site};

/// Bytes each map entry adds for the map's bookkeeping (hash slot, recency index, counters).
pub const ENTRY_OVERHEAD: usize = 64;

/// The approximate memory a value holds: its inline size plus what it owns on the heap.
///
/// Implemented for the usual building blocks; implement it for your own types by summing their
/// fields:
///
/// ```
/// use tracewarden_sdk::state::Footprint;
/// struct Read { table: String, time_ns: i64 }
/// impl Footprint for Read {
///     fn footprint(&self) -> usize {
///         self.table.footprint() + self.time_ns.footprint()
///     }
/// }
/// let read = Read { table: String::from("orders"), time_ns: 0 };
/// assert_eq!(read.footprint(), size_of::<String>() + read.table.capacity() + 8);
/// ```
pub trait Footprint {
    /// Bytes held: inline size plus owned heap memory.
    fn footprint(&self) -> usize;
}

macro_rules! inline_footprint {
    ($($t:ty),*) => {$(
        impl Footprint for $t {
            fn footprint(&self) -> usize {
                size_of::<$t>()
            }
        }
    )*};
}

inline_footprint!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64
);

impl Footprint for String {
    fn footprint(&self) -> usize {
        size_of::<String>() + self.capacity()
    }
}

impl<T: Footprint> Footprint for Option<T> {
    fn footprint(&self) -> usize {
        match self {
            Some(v) => size_of::<Option<T>>() - size_of::<T>() + v.footprint(),
            None => size_of::<Option<T>>(),
        }
    }
}

impl<T: Footprint> Footprint for Box<T> {
    fn footprint(&self) -> usize {
        size_of::<Box<T>>() + (**self).footprint()
    }
}

impl<T: Footprint> Footprint for Vec<T> {
    fn footprint(&self) -> usize {
        let spare = self.capacity().saturating_sub(self.len()) * size_of::<T>();
        size_of::<Vec<T>>() + spare + self.iter().map(Footprint::footprint).sum::<usize>()
    }
}

impl<T: Footprint> Footprint for VecDeque<T> {
    fn footprint(&self) -> usize {
        let spare = self.capacity().saturating_sub(self.len()) * size_of::<T>();
        size_of::<VecDeque<T>>() + spare + self.iter().map(Footprint::footprint).sum::<usize>()
    }
}

impl<T: Footprint> Footprint for BTreeSet<T> {
    /// Elements plus a B-tree's node share per element (about a pointer's worth).
    fn footprint(&self) -> usize {
        size_of::<BTreeSet<T>>()
            + self
                .iter()
                .map(|v| v.footprint() + size_of::<usize>())
                .sum::<usize>()
    }
}

impl<K: Footprint, V: Footprint> Footprint for BTreeMap<K, V> {
    /// Entries plus a B-tree's node share per entry (about a pointer's worth).
    fn footprint(&self) -> usize {
        size_of::<BTreeMap<K, V>>()
            + self
                .iter()
                .map(|(k, v)| k.footprint() + v.footprint() + size_of::<usize>())
                .sum::<usize>()
    }
}

impl<A: Footprint, B: Footprint> Footprint for (A, B) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint()
    }
}

impl<A: Footprint, B: Footprint, C: Footprint> Footprint for (A, B, C) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint() + self.2.footprint()
    }
}

impl<A: Footprint, B: Footprint, C: Footprint, D: Footprint> Footprint for (A, B, C, D) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint() + self.2.footprint() + self.3.footprint()
    }
}

impl Footprint for Evidence {
    fn footprint(&self) -> usize {
        self.event_id.footprint()
            + self.role.footprint()
            + self.source.footprint()
            + self.time_ns.footprint()
    }
}

impl Footprint for Site {
    fn footprint(&self) -> usize {
        self.method.footprint()
            + self.route.footprint()
            + self.table.footprint()
            + self.operation.footprint()
    }
}

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
            slots: HashMap::new(),
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

/// A keyed map within a memory budget: when an insert takes it over budget, the least recently
/// used entries are evicted (and counted, and handed back).
///
/// ```
/// use tracewarden_sdk::state::{LruMap, ENTRY_OVERHEAD};
/// // Room for about two entries of a u64 key and a u64 value.
/// let mut seen: LruMap<u64, u64> = LruMap::new("seen").with_budget(2 * (16 + ENTRY_OVERHEAD));
/// assert!(seen.insert(1, 10).is_empty());
/// assert!(seen.insert(2, 20).is_empty());
/// assert_eq!(seen.get(&1), Some(&10)); // 1 is now the most recently used
/// assert_eq!(seen.insert(3, 30), [(2, 20)]); // so 2 goes
/// assert_eq!(seen.usage("TW-X-001").evicted, 1);
/// ```
#[derive(Debug)]
pub struct LruMap<K, V> {
    store: Store<K, V>,
}

impl<K: Eq + Hash + Clone + Footprint, V: Footprint> LruMap<K, V> {
    /// An unbounded map named `name` (the name the host reports its usage under).
    pub fn new(name: &'static str) -> Self {
        LruMap {
            store: Store::new(name),
        }
    }

    /// Bounds the map to about `bytes` (estimated by [`Footprint`]); 0: unbounded.
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.store.budget = bytes;
        self
    }

    /// Inserts or replaces `key`'s value; it becomes the most recently used. Returns the entries
    /// evicted to stay within the budget, least recently used first (the new entry is always
    /// kept).
    pub fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
        self.store.put(key, 0, value)
    }

    /// Changes `key`'s value with `f`, inserting `default()` first when absent; it becomes the
    /// most recently used. Returns the entries evicted to stay within the budget.
    pub fn update(
        &mut self,
        key: K,
        default: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> Vec<(K, V)> {
        self.store.upsert(key, 0, default, f)
    }

    /// `key`'s value, which becomes the most recently used.
    pub fn get<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.store.settle();
        self.store.touch(key, None);
        self.store.slots.get(key).map(|s| &s.value)
    }

    /// `key`'s value to change in place; it becomes the most recently used. Its size is measured
    /// again at the map's next change, and the budget enforced at the next insert or update.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.store.settle();
        self.store.touch(key, None);
        self.store.get_mut(key)
    }

    /// `key`'s value, leaving the recency order as it is.
    pub fn peek<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.store.slots.get(key).map(|s| &s.value)
    }

    /// Removes `key` (not an eviction).
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.store.settle();
        self.store.remove(key)
    }

    /// Keeps the entries for which `f` is true (the others are removed, not evicted).
    pub fn retain(&mut self, f: impl FnMut(&K, &mut V) -> bool) {
        self.store.retain(f);
    }

    /// Removes and returns every entry, least recently used first (at `finish`).
    pub fn drain(&mut self) -> Vec<(K, V)> {
        self.store.drain()
    }

    /// The entries, least recently used first.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.store.iter()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.store.slots.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.store.slots.is_empty()
    }

    /// Estimated bytes held now.
    pub fn bytes(&self) -> usize {
        self.store.bytes
    }

    /// What the map held and evicted, reported under `rule_id` (empty: every rule of the
    /// component).
    pub fn usage(&self, rule_id: &str) -> StateUsage {
        self.store.usage(rule_id)
    }
}

/// A keyed map of recent entries: each entry remembers the event time it was last written at,
/// and [`WindowMap::expire`] removes those older than the window. It may also have a memory
/// budget, enforced like an [`LruMap`]'s: the entries written longest ago are evicted first.
///
/// Written in event-time order (the host sends events in time order), entries written longest
/// ago are also the oldest, so expiry stops at the first entry still in the window.
///
/// ```
/// use tracewarden_sdk::state::WindowMap;
/// const SEC: i64 = 1_000_000_000;
/// let mut deletes: WindowMap<String, String> = WindowMap::new("deletes", 60 * SEC);
/// deletes.insert("orders/id=1".into(), 0, "ev-1".into());
/// deletes.insert("orders/id=2".into(), 30 * SEC, "ev-2".into());
/// let expired = deletes.expire(61 * SEC);
/// assert_eq!(expired, [("orders/id=1".to_owned(), "ev-1".to_owned())]);
/// assert_eq!(deletes.get(&"orders/id=2".to_owned()), Some(&"ev-2".to_owned()));
/// assert_eq!(deletes.usage("").evicted, 0, "expiry is not eviction");
/// ```
#[derive(Debug)]
pub struct WindowMap<K, V> {
    store: Store<K, V>,
    window_ns: i64,
}

impl<K: Eq + Hash + Clone + Footprint, V: Footprint> WindowMap<K, V> {
    /// An unbounded map named `name` keeping entries for `window_ns` after their last write.
    pub fn new(name: &'static str, window_ns: i64) -> Self {
        WindowMap {
            store: Store::new(name),
            window_ns,
        }
    }

    /// Bounds the map to about `bytes` (estimated by [`Footprint`]); 0: unbounded.
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.store.budget = bytes;
        self
    }

    /// The window, ns.
    pub fn window_ns(&self) -> i64 {
        self.window_ns
    }

    /// Changes the window (when options are read after construction).
    pub fn set_window_ns(&mut self, window_ns: i64) {
        self.window_ns = window_ns;
    }

    /// Inserts or replaces `key`'s value, written at `time_ns`. Returns the entries evicted to
    /// stay within the budget, oldest first (the new entry is always kept).
    pub fn insert(&mut self, key: K, time_ns: i64, value: V) -> Vec<(K, V)> {
        self.store.put(key, time_ns, value)
    }

    /// Changes `key`'s value with `f` at `time_ns`, inserting `default()` first when absent.
    /// Returns the entries evicted to stay within the budget.
    pub fn update(
        &mut self,
        key: K,
        time_ns: i64,
        default: impl FnOnce() -> V,
        f: impl FnOnce(&mut V),
    ) -> Vec<(K, V)> {
        self.store.upsert(key, time_ns, default, f)
    }

    /// `key`'s value (reading does not renew it).
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.store.slots.get(key).map(|s| &s.value)
    }

    /// `key`'s value to change in place, leaving its time and place as they are (it is not
    /// renewed). Its size is measured again at the map's next change, and the budget enforced
    /// at the next insert or update.
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.store.get_mut(key)
    }

    /// The event time `key` was last written at.
    pub fn written_ns<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<i64>
    where
        K: Borrow<Q>,
    {
        self.store.slots.get(key).map(|s| s.time_ns)
    }

    /// `key`'s value, if written within the window before `now_ns`.
    pub fn get_fresh<Q: Hash + Eq + ?Sized>(&self, key: &Q, now_ns: i64) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let slot = self.store.slots.get(key)?;
        (now_ns.saturating_sub(slot.time_ns) <= self.window_ns).then_some(&slot.value)
    }

    /// Removes `key` (not an eviction).
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.store.settle();
        self.store.remove(key)
    }

    /// Removes and returns the entries last written more than the window before `now_ns`,
    /// oldest first (expiry, not eviction).
    pub fn expire(&mut self, now_ns: i64) -> Vec<(K, V)> {
        self.store.settle();
        let window = self.window_ns;
        let mut out = Vec::new();
        while let Some(entry) = self
            .store
            .pop_oldest_if(|slot| now_ns.saturating_sub(slot.time_ns) > window)
        {
            out.push(entry);
        }
        out
    }

    /// Keeps the entries for which `f` is true (the others are removed, not evicted).
    pub fn retain(&mut self, f: impl FnMut(&K, &mut V) -> bool) {
        self.store.retain(f);
    }

    /// Removes and returns every entry, oldest first (at `finish`).
    pub fn drain(&mut self) -> Vec<(K, V)> {
        self.store.drain()
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.store.iter()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.store.slots.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.store.slots.is_empty()
    }

    /// Estimated bytes held now.
    pub fn bytes(&self) -> usize {
        self.store.bytes
    }

    /// What the map held and evicted, reported under `rule_id` (empty: every rule of the
    /// component).
    pub fn usage(&self, rule_id: &str) -> StateUsage {
        self.store.usage(rule_id)
    }
}

#[cfg(test)]
mod tests;
