//! [`SeenSet`]: "already reported" within a fixed memory, for rules that report a thing once.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::StateUsage;

/// Bytes one remembered digest costs in a [`SeenSet`]: the digest and the hash table's control
/// byte, at the table's lowest load.
const BYTES_PER_DIGEST: usize = 2 * (size_of::<u64>() + 1);

/// What a rule has already reported (or otherwise seen), as 64-bit digests, in a memory fixed
/// when it is made: two generations of at most `capacity` digests each. When the newer one is
/// full the older one is forgotten, so the set always remembers at least the last `capacity`
/// things inserted and at most twice that, and its tables are allocated once, never regrown
/// past their size — the shape a sandbox's memory cap needs when a rule reports once per
/// (principal, object) over millions of findings. Forgotten digests are counted as evictions
/// ([`SeenSet::usage`]): a thing seen again after its digest was forgotten is new to the set.
/// For a "report once" set that costs a repeated finding, never a missing one, so a rule need
/// not list its usage in [`crate::Rule::state`] (which lowers the rule's coverage); one that
/// suppresses what must not be reported twice should.
///
/// Digests are SipHash with fixed keys, so a rule's output is the same on every run; two
/// different things share a digest with a probability of about n²/2⁶⁵ (for a million things,
/// one in 3.7·10⁷).
///
/// ```
/// use tracewarden_sdk::state::SeenSet;
/// let mut reported = SeenSet::new("reported", 2);
/// assert!(reported.insert(&("alice", "orders/1")));
/// assert!(!reported.insert(&("alice", "orders/1")));
/// assert!(reported.insert(&("alice", "orders/2")));
/// assert!(reported.insert(&("alice", "orders/3"))); // a new generation: 1 and 2 are kept
/// assert!(!reported.insert(&("alice", "orders/1")));
/// assert!(reported.insert(&("alice", "orders/4")));
/// assert!(reported.insert(&("alice", "orders/5"))); // 1 and 2 are forgotten
/// assert!(reported.insert(&("alice", "orders/1")));
/// assert_eq!(reported.usage("TW-X-001").evicted, 2);
/// ```
#[derive(Debug)]
pub struct SeenSet {
    name: &'static str,
    capacity: usize,
    recent: HashSet<u64, BuildHasherDefault<Digest>>,
    older: HashSet<u64, BuildHasherDefault<Digest>>,
    peak_entries: usize,
    evicted: u64,
}

impl SeenSet {
    /// A set named `name` (the name the host reports its usage under) that remembers at least
    /// the last `capacity` digests (at least 1). Memory: about 18 bytes per digest of capacity.
    pub fn new(name: &'static str, capacity: usize) -> Self {
        SeenSet {
            name,
            capacity: capacity.max(1),
            recent: HashSet::default(),
            older: HashSet::default(),
            peak_entries: 0,
            evicted: 0,
        }
    }

    /// A set whose capacity fits `bytes`.
    pub fn with_budget(name: &'static str, bytes: usize) -> Self {
        Self::new(name, bytes / BYTES_PER_DIGEST)
    }

    /// Remembers `value`; whether it was new (not among the digests remembered).
    pub fn insert<T: Hash + ?Sized>(&mut self, value: &T) -> bool {
        self.insert_digest(digest(value))
    }

    /// Remembers a digest the rule computed itself; whether it was new.
    pub fn insert_digest(&mut self, digest: u64) -> bool {
        if self.recent.contains(&digest) || self.older.contains(&digest) {
            return false;
        }
        if self.recent.len() >= self.capacity {
            self.evicted += self.older.len() as u64;
            std::mem::swap(&mut self.recent, &mut self.older);
            // Keeps the table it had: the generations trade their allocations, never grow them.
            self.recent.clear();
        }
        self.recent.insert(digest);
        self.peak_entries = self.peak_entries.max(self.len());
        true
    }

    /// Whether `value` is among the digests remembered.
    pub fn contains<T: Hash + ?Sized>(&self, value: &T) -> bool {
        let d = digest(value);
        self.recent.contains(&d) || self.older.contains(&d)
    }

    /// Digests remembered now.
    pub fn len(&self) -> usize {
        self.recent.len() + self.older.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the set held and forgot, reported under `rule_id` (empty: every rule of the
    /// component).
    pub fn usage(&self, rule_id: &str) -> StateUsage {
        StateUsage {
            rule_id: rule_id.to_owned(),
            name: self.name.to_owned(),
            entries: self.len() as u64,
            peak_entries: self.peak_entries as u64,
            peak_bytes: (self.peak_entries * BYTES_PER_DIGEST / 2) as u64,
            budget_bytes: (self.capacity * BYTES_PER_DIGEST) as u64,
            evicted: self.evicted,
        }
    }
}

/// std's SipHash with fixed keys: the same digest on every run of a built component.
fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// The table's hasher: the keys are digests already.
#[derive(Default)]
struct Digest(u64);

impl Hasher for Digest {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_at_least_capacity_and_counts_what_it_forgets() {
        let mut set = SeenSet::new("reported", 1000);
        for i in 0..1000u32 {
            assert!(set.insert(&i));
        }
        // Every one of the last 1000 is still known, however many came before.
        for i in 0..1000u32 {
            assert!(!set.insert(&i), "{i}");
        }
        for i in 1000..2500u32 {
            assert!(set.insert(&i));
        }
        for i in 1500..2500u32 {
            assert!(set.contains(&i), "{i}");
        }
        assert!(set.len() <= 2000);
        let usage = set.usage("TW-X-001");
        assert_eq!(usage.evicted, 1000);
        assert_eq!(usage.entries, 1500);
        assert_eq!(usage.peak_entries, 2000);
        assert_eq!(usage.budget_bytes, 18_000);
        assert!(set.insert(&0u32), "forgotten, so new again");
    }

    #[test]
    fn its_tables_are_not_regrown_past_one_generation() {
        let mut set = SeenSet::new("reported", 10_000);
        for i in 0..10_000u64 {
            set.insert(&i);
        }
        let size = set.recent.capacity();
        for i in 10_000..100_000u64 {
            set.insert(&i);
        }
        assert!(set.recent.capacity() <= size && set.older.capacity() <= size);
    }

    #[test]
    fn digests_are_fixed() {
        // A rule's output must not change between runs or hosts.
        assert_eq!(
            digest(&("alice", "orders/1")),
            digest(&("alice", "orders/1"))
        );
        assert_ne!(
            digest(&("alice", "orders/1")),
            digest(&("alice", "orders/2"))
        );
    }
}
