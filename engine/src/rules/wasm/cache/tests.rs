//! The component cache: what is stored, read back, refused and replaced, and which directories
//! are not used.

use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn engine() -> &'static Engine {
    super::super::engine().unwrap()
}

/// A small valid component, different for each `name`.
fn component(name: &str) -> Vec<u8> {
    wat::parse_str(format!(r#"(component (import "{name}" (instance)))"#)).unwrap()
}

fn imports(c: &Component) -> Vec<String> {
    c.component_type()
        .imports(engine())
        .map(|(name, _)| name.to_owned())
        .collect()
}

fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

/// A cache directory in a private parent (not in `/tmp` itself, which others can write).
fn cache_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("components");
    (tmp, dir)
}

fn load_in(dir: &Path, bytes: &[u8]) -> (Component, CacheOutcome) {
    load(engine(), bytes, &ComponentCache::Dir(dir.to_owned())).unwrap()
}

#[test]
fn a_miss_stores_the_artifact_and_the_next_load_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache/components");
    let bytes = component("a");
    let (_, outcome) = load_in(&dir, &bytes);
    assert_eq!(outcome, CacheOutcome::Stored);
    let stored = artifacts(&dir);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].extension().is_some_and(|x| x == EXTENSION));
    // Created private, the parent too.
    for d in [&dir, &tmp.path().join("cache")] {
        let mode = std::fs::metadata(d).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", d.display());
    }
    let (read, outcome) = load_in(&dir, &bytes);
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(imports(&read), ["a"]);
    assert_eq!(artifacts(&dir), stored);
}

#[test]
fn no_cache_touches_no_directory() {
    let (_, outcome) = load(engine(), &component("a"), &ComponentCache::Off).unwrap();
    assert_eq!(outcome, CacheOutcome::Off);
}

#[test]
fn a_corrupted_or_truncated_artifact_is_compiled_again_and_replaced() {
    let (_tmp, dir) = cache_dir();
    let bytes = component("a");
    load_in(&dir, &bytes);
    let path = artifacts(&dir).remove(0);
    let sound = std::fs::read(&path).unwrap();
    let mut flipped = sound.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let cases: [(&[u8], &str); 4] = [
        (&flipped, "its code does not match its digest"),
        (
            &sound[..sound.len() / 2],
            "its code does not match its digest",
        ),
        (&sound[..40], "it is truncated"),
        (b"", "it is truncated"),
    ];
    for (bytes_on_disk, why) in cases {
        std::fs::write(&path, bytes_on_disk).unwrap();
        let (c, outcome) = load_in(&dir, &bytes);
        assert_eq!(outcome, CacheOutcome::Replaced(why.to_owned()));
        assert_eq!(imports(&c), ["a"]);
        assert_eq!(std::fs::read(&path).unwrap(), sound);
        assert_eq!(load_in(&dir, &bytes).1, CacheOutcome::Hit);
    }
    let mut renamed = sound.clone();
    renamed[..8].copy_from_slice(b"twcwasm0");
    std::fs::write(&path, renamed).unwrap();
    assert_eq!(
        load_in(&dir, &bytes).1,
        CacheOutcome::Replaced("it is not in this engine's artifact format".to_owned())
    );
}

#[test]
fn an_artifact_for_other_component_bytes_is_never_used() {
    let (_tmp, dir) = cache_dir();
    let (a, b) = (component("a"), component("b"));
    assert_ne!(key(engine(), &a), key(engine(), &b));
    load_in(&dir, &a);
    let of_a = artifacts(&dir).remove(0);
    // A's artifact under B's name: its header names A's key.
    let b_path = CacheDir(dir.clone()).path(&key(engine(), &b));
    std::fs::copy(&of_a, &b_path).unwrap();
    let (c, outcome) = load_in(&dir, &b);
    assert_eq!(
        outcome,
        CacheOutcome::Replaced(
            "it was stored for other component bytes or another engine".to_owned()
        )
    );
    assert_eq!(imports(&c), ["b"]);
    let (c, outcome) = load_in(&dir, &b);
    assert_eq!(
        (imports(&c), outcome),
        (vec!["b".to_owned()], CacheOutcome::Hit)
    );
}

#[test]
fn an_artifact_wasmtime_refuses_is_replaced() {
    // Code compiled by an engine without fuel metering, stored under this engine's key with
    // a sound digest: wasmtime's own check refuses it.
    let (_tmp, dir) = cache_dir();
    let bytes = component("a");
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    let other = Engine::new(&config).unwrap();
    let code = Component::new(&other, &bytes).unwrap().serialize().unwrap();
    let key = key(engine(), &bytes);
    let mut artifact = MAGIC.to_vec();
    artifact.extend(key);
    artifact.extend(Sha256::digest(&code));
    artifact.extend(&code);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(CacheDir(dir.clone()).path(&key), artifact).unwrap();
    let (c, outcome) = load_in(&dir, &bytes);
    let CacheOutcome::Replaced(why) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(why.starts_with("wasmtime refused it: "), "{why}");
    assert_eq!(imports(&c), ["a"]);
    assert_eq!(load_in(&dir, &bytes).1, CacheOutcome::Hit);
}

#[test]
fn a_directory_others_could_change_is_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = component("a");
    let unusable = |dir: &Path| match load_in(dir, &bytes).1 {
        CacheOutcome::Unusable(why) => why,
        other => panic!("{other:?}"),
    };
    let open = tmp.path().join("open/components");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let why = unusable(&open);
    assert!(
        why.ends_with("is writable by its group or others (mode 777)"),
        "{why}"
    );
    assert!(artifacts(&open).is_empty());
    // A private directory in a parent others can write.
    let shared = tmp.path().join("shared");
    std::fs::create_dir_all(shared.join("components")).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o775)).unwrap();
    let why = unusable(&shared.join("components"));
    assert!(why.contains("/shared` is writable by its group"), "{why}");
    // A symlink to a private directory.
    let real = tmp.path().join("real/components");
    load_in(&real, &bytes);
    let link = tmp.path().join("real/link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(unusable(&link).ends_with("/real/link` is a symlink"));
    // A file where the directory should be.
    std::fs::write(tmp.path().join("file"), "").unwrap();
    assert!(unusable(&tmp.path().join("file")).starts_with("cannot create the cache"));
    // Someone else's directory (only root can make one to test with).
    if rustix::process::geteuid().is_root() {
        let theirs = tmp.path().join("theirs/components");
        std::fs::create_dir_all(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(12_345), None).unwrap();
        let why = unusable(&theirs);
        assert!(
            why.ends_with("is owned by another user (uid 12345, not 0)"),
            "{why}"
        );
    }
}

#[test]
fn past_the_bound_the_oldest_artifacts_are_removed() {
    let (_tmp, dir) = cache_dir();
    let names: Vec<String> = (0..=MAX_CACHED_COMPONENTS)
        .map(|i| format!("c{i}"))
        .collect();
    let epoch = std::time::SystemTime::UNIX_EPOCH;
    for (i, name) in names.iter().enumerate() {
        load_in(&dir, &component(name));
        // Written in this order, whatever the file system's clock resolution.
        let path = CacheDir(dir.clone()).path(&key(engine(), &component(name)));
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(epoch + std::time::Duration::from_secs(1000 + i as u64))
            .unwrap();
    }
    assert_eq!(artifacts(&dir).len(), MAX_CACHED_COMPONENTS);
    assert_eq!(load_in(&dir, &component("c0")).1, CacheOutcome::Stored);
    assert_eq!(load_in(&dir, &component("c2")).1, CacheOutcome::Hit);
    // A crashed writer's temporary file goes once it is an hour old, not before.
    let (fresh, old) = (dir.join(".tmp-fresh.part"), dir.join(".tmp-old.part"));
    for part in [&fresh, &old] {
        std::fs::write(part, "").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    load_in(&dir, &component("c1"));
    assert!(fresh.exists() && !old.exists());
}
