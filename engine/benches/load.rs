//! Start-up: loading the built-in packs, every component compiled (no cache) against every
//! component read back from a warm component cache. Both include the Rego modules' warm-up.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![expect(
    clippy::expect_used,
    reason = "a benchmark without its rules has nothing to measure"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use tracewarden::rules::{CacheOutcome, ComponentCache, RuleSet, RuleSetOptions, Runtime};

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cold = RuleSetOptions::default();
    let warm = RuleSetOptions {
        cache: ComponentCache::Dir(dir.path().join("components")),
        ..RuleSetOptions::default()
    };
    RuleSet::load(&warm).expect("built-in packs load");
    let read = RuleSet::load(&warm).expect("built-in packs load");
    let hits = read
        .packs()
        .iter()
        .flat_map(|p| &p.files)
        .all(|f| match &f.runtime {
            Runtime::Wasm(c) => c.cache_outcome() == &CacheOutcome::Hit,
            Runtime::Rego(_) => true,
        });
    assert!(hits, "the warm cache is not read");

    let mut group = c.benchmark_group("load built-in packs");
    group.sample_size(10);
    group.bench_function("compiled, no cache", |b| {
        b.iter(|| RuleSet::load(&cold).expect("built-in packs load"))
    });
    group.bench_function("from a warm cache", |b| {
        b.iter(|| RuleSet::load(&warm).expect("built-in packs load"))
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
