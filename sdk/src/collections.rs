//! Hash maps and sets for a rule's state, with a faster hasher than the standard library's
//! SipHash: foldhash, seeded once per rule instance from the host's random source (WASI
//! `random`), so keys a log writer chooses cannot be made to collide without knowing the seed.
//! Iteration order is arbitrary, as with `std`'s maps: a rule whose findings depend on it must
//! sort first.
//!
//! ```
//! use tracewarden_sdk::collections::HashMap;
//!
//! let mut seen: HashMap<String, u32> = HashMap::default();
//! *seen.entry("orders/o-1".to_owned()).or_default() += 1;
//! assert_eq!(seen["orders/o-1"], 1);
//! ```

use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::fast::SeedableRandomState;

/// `std::collections::HashMap` with [`RandomState`] (create with `HashMap::default()`).
pub type HashMap<K, V> = std::collections::HashMap<K, V, RandomState>;

/// `std::collections::HashSet` with [`RandomState`] (create with `HashSet::default()`).
pub type HashSet<T> = std::collections::HashSet<T, RandomState>;

/// Builds foldhash hashers from one random seed per instance and one per map.
#[derive(Clone, Debug)]
pub struct RandomState(SeedableRandomState);

impl Default for RandomState {
    fn default() -> Self {
        static SHARED: OnceLock<SharedSeed> = OnceLock::new();
        let shared = SHARED.get_or_init(|| SharedSeed::from_u64(random()));
        RandomState(SeedableRandomState::with_seed(random(), shared))
    }
}

impl BuildHasher for RandomState {
    type Hasher = foldhash::fast::FoldHasher<'static>;

    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// 64 random bits: `std`'s `RandomState` keys come from the platform's random source (WASI
/// `random` in a component) and differ from one `new` to the next.
fn random() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_hash_alike_within_one_and_differently_across() {
        let (a, b) = (RandomState::default(), RandomState::default());
        assert_eq!(a.hash_one("orders/o-1"), a.hash_one("orders/o-1"));
        assert_ne!(a.hash_one("orders/o-1"), b.hash_one("orders/o-1"));
        let mut set: HashSet<&str> = HashSet::default();
        assert!(set.insert("k"));
        assert!(!set.insert("k"));
    }
}
