//! [`LruMap`]: keyed state within a memory budget, least recently used evicted first.

use std::borrow::Borrow;
use std::hash::Hash;

use super::{Footprint, StateUsage, Store};

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
