//! [`WindowMap`]: keyed state forgotten by event time, within an optional memory budget.

use std::borrow::Borrow;
use std::hash::Hash;

use super::{Footprint, StateUsage, Store};

/// A keyed map of recent entries: each entry remembers the event time it was last written at,
/// and [`WindowMap::expire`] removes those older than the window. It may also have a memory
/// budget, enforced like an [`LruMap`](super::LruMap)'s: the entries written longest ago are
/// evicted first.
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
