use super::*;
use crate::Evidence;

/// The bytes of one entry with a `u64` key and a `u64` value.
const U64_ENTRY: usize = 8 + 8 + ENTRY_OVERHEAD;

#[test]
fn footprints_count_inline_and_heap_bytes() {
    let text = String::with_capacity(10);
    assert_eq!(text.footprint(), size_of::<String>() + 10);
    let list: Vec<u32> = Vec::with_capacity(4);
    assert_eq!(list.footprint(), size_of::<Vec<u32>>() + 16);
    let pair = (7u64, String::new());
    assert_eq!(pair.footprint(), 8 + size_of::<String>());
    assert_eq!(Some(3u64).footprint(), size_of::<Option<u64>>());
    let evidence = Evidence {
        event_id: "ev".to_owned(),
        role: "use".to_owned(),
        source: "a.jsonl:1".to_owned(),
        time_ns: 0,
    };
    assert_eq!(
        evidence.footprint(),
        3 * size_of::<String>()
            + evidence.event_id.capacity()
            + evidence.role.capacity()
            + evidence.source.capacity()
            + 8
    );
}

#[test]
fn an_unbounded_lru_map_never_evicts() {
    let mut map: LruMap<u64, u64> = LruMap::new("all");
    for i in 0..1000 {
        assert!(map.insert(i, i).is_empty());
    }
    assert_eq!(map.len(), 1000);
    assert_eq!(map.bytes(), 1000 * U64_ENTRY);
    let usage = map.usage("TW-X-001");
    assert_eq!(
        usage,
        StateUsage {
            rule_id: "TW-X-001".to_owned(),
            name: "all".to_owned(),
            entries: 1000,
            peak_entries: 1000,
            peak_bytes: (1000 * U64_ENTRY) as u64,
            budget_bytes: 0,
            evicted: 0,
        }
    );
}

#[test]
fn a_budget_evicts_the_least_recently_used_and_counts_them() {
    let mut map: LruMap<u64, u64> = LruMap::new("seen").with_budget(3 * U64_ENTRY);
    for i in 1..=3 {
        assert!(map.insert(i, i * 10).is_empty());
    }
    // Reading 1 and updating 2 make 3 the least recently used.
    assert_eq!(map.get(&1), Some(&10));
    assert!(map.update(2, || 0, |v| *v += 1).is_empty());
    assert_eq!(map.insert(4, 40), [(3, 30)]);
    assert_eq!(map.insert(5, 50), [(1, 10)]);
    // Peeking does not renew: 2 goes next.
    assert_eq!(map.peek(&2), Some(&21));
    assert_eq!(map.insert(6, 60), [(2, 21)]);
    let keys: Vec<u64> = map.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [4, 5, 6]);
    let usage = map.usage("");
    assert_eq!((usage.entries, usage.peak_entries), (3, 3));
    assert_eq!(usage.evicted, 3);
    assert_eq!(usage.budget_bytes, (3 * U64_ENTRY) as u64);
    assert!(map.bytes() <= 3 * U64_ENTRY);
}

#[test]
fn removing_and_retaining_are_not_evictions() {
    let mut map: LruMap<u64, u64> = LruMap::new("seen").with_budget(10 * U64_ENTRY);
    for i in 0..10 {
        map.insert(i, i);
    }
    assert_eq!(map.remove(&3), Some(3));
    assert_eq!(map.remove(&3), None);
    map.retain(|k, _| k % 2 == 0);
    assert_eq!(map.len(), 5);
    assert_eq!(map.bytes(), 5 * U64_ENTRY);
    assert_eq!(map.usage("").evicted, 0);
    assert_eq!(map.usage("").peak_entries, 10);
    let drained: Vec<u64> = map.drain().into_iter().map(|(k, _)| k).collect();
    assert_eq!(drained, [0, 2, 4, 6, 8]);
    assert!(map.is_empty());
    assert_eq!(map.bytes(), 0);
}

#[test]
fn a_value_grown_in_place_is_measured_and_the_budget_enforced_at_the_next_write() {
    let entry = |len: usize| 8 + size_of::<Vec<u64>>() + len * 8 + ENTRY_OVERHEAD;
    let mut map: LruMap<u64, Vec<u64>> = LruMap::new("lists").with_budget(entry(12) + entry(0));
    map.insert(1, Vec::new());
    map.insert(2, Vec::new());
    let list = map.get_mut(&1).unwrap();
    list.reserve_exact(12);
    list.extend([1; 12]);
    // Measured again at the next change: 1 is now three entries' worth, and most recent.
    assert_eq!(map.insert(3, Vec::new()), [(2, Vec::new())]);
    assert_eq!(map.bytes(), entry(12) + entry(0));
    assert_eq!(map.usage("").evicted, 1);
}

#[test]
fn the_newest_entry_is_kept_even_alone_over_budget() {
    let mut map: LruMap<u64, String> = LruMap::new("big").with_budget(U64_ENTRY);
    map.insert(1, String::new());
    let evicted = map.insert(2, "x".repeat(1000));
    assert_eq!(evicted, [(1, String::new())]);
    assert_eq!(map.len(), 1);
    assert!(map.peek(&2).is_some());
}

#[test]
fn a_window_map_expires_by_event_time_oldest_first() {
    const S: i64 = 1_000_000_000;
    let mut map: WindowMap<u64, u64> = WindowMap::new("recent", 10 * S);
    map.insert(1, 0, 10);
    map.insert(2, 5 * S, 20);
    map.update(1, 8 * S, || 0, |v| *v += 1);
    assert_eq!(map.written_ns(&1), Some(8 * S));
    assert_eq!(map.get_fresh(&2, 15 * S), Some(&20));
    assert_eq!(map.get_fresh(&2, 15 * S + 1), None);
    assert_eq!(map.expire(15 * S), []);
    assert_eq!(map.expire(15 * S + 1), [(2, 20)]);
    assert_eq!(map.expire(18 * S + 1), [(1, 11)]);
    assert!(map.is_empty());
    assert_eq!(map.usage("").evicted, 0);
    assert_eq!(map.usage("").peak_entries, 2);
}

#[test]
fn a_window_map_with_a_budget_evicts_the_oldest_and_counts_it() {
    let mut map: WindowMap<u64, u64> =
        WindowMap::new("recent", i64::MAX).with_budget(2 * U64_ENTRY);
    map.insert(1, 1, 1);
    map.insert(2, 2, 2);
    assert_eq!(map.insert(3, 3, 3), [(1, 1)]);
    assert_eq!(map.update(4, 4, || 4, |_| ()), [(2, 2)]);
    let usage = map.usage("TW-X-002");
    assert_eq!((usage.rule_id.as_str(), usage.evicted), ("TW-X-002", 2));
    let drained: Vec<u64> = map.drain().into_iter().map(|(k, _)| k).collect();
    assert_eq!(drained, [3, 4]);
}

#[test]
fn replacing_an_entry_is_not_an_eviction() {
    let mut map: LruMap<u64, u64> = LruMap::new("seen").with_budget(U64_ENTRY);
    assert!(map.insert(1, 1).is_empty());
    assert!(map.insert(1, 2).is_empty());
    assert_eq!(map.peek(&1), Some(&2));
    assert_eq!(map.bytes(), U64_ENTRY);
    assert_eq!(map.usage("").evicted, 0);
}

#[test]
fn string_keys_are_looked_up_by_str_and_changed_in_place() {
    let mut map: WindowMap<String, Vec<u64>> = WindowMap::new("requests", 10);
    map.insert("req-1".to_owned(), 5, Vec::new());
    map.get_mut("req-1").unwrap().push(7);
    assert_eq!(map.get("req-1"), Some(&vec![7]));
    assert_eq!(
        map.written_ns("req-1"),
        Some(5),
        "changing in place does not renew"
    );
    let held = map.get("req-1").unwrap().capacity() * 8;
    map.insert("req-2".to_owned(), 6, Vec::new());
    // The grown list is measured again at the next change.
    assert_eq!(
        map.bytes(),
        2 * (size_of::<String>() + 5 + size_of::<Vec<u64>>() + ENTRY_OVERHEAD) + held
    );
    assert_eq!(map.remove("req-1"), Some(vec![7]));
    let mut lru: LruMap<String, u64> = LruMap::new("seen");
    lru.insert("a".to_owned(), 1);
    *lru.get_mut("a").unwrap() += 1;
    assert_eq!(lru.peek("a"), Some(&2));
}
