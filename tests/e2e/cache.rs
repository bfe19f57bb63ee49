//! The component cache through the binary: a second start reads the built-in components back
//! instead of compiling them, and nothing it does changes a report.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Run, root, tracewarden};

const EXAMPLE: &str = "examples/dynamodb-orders";

/// `scan --verbose --format json -o OUT` over the example with `extra` flags; returns the run
/// and the report's bytes.
fn scan(out: &Path, extra: &[&str]) -> (Run, Vec<u8>) {
    let out_arg = out.display().to_string();
    let mut args = vec![
        "scan",
        "--verbose",
        "--fail-on",
        "none",
        "--format",
        "json",
        "-o",
        &out_arg,
    ];
    args.extend_from_slice(extra);
    args.push(EXAMPLE);
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = std::fs::read(out).unwrap();
    (run, report)
}

/// How many components the built-in packs hold: their manifests' `kind = "wasm"` entries
/// (`rules/<pack>/pack.toml`; the scaffolds under `rules/templates/` are not built in).
fn builtin_components() -> usize {
    let mut n = 0;
    for pack in std::fs::read_dir(root().join("rules")).unwrap() {
        let manifest = pack.unwrap().path().join("pack.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            n += text
                .lines()
                .filter(|l| l.trim() == r#"kind = "wasm""#)
                .count();
        }
    }
    assert!(n > 0, "no built-in component found under rules/");
    n
}

/// The artifacts in `dir`, sorted.
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    found
}

#[test]
fn two_scans_with_one_cache_write_the_same_report_and_the_second_reads_the_cache() {
    let n = builtin_components();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let components = cache.join("components");
    let cache_arg = cache.display().to_string();
    let (first, cold) = scan(&tmp.path().join("1.json"), &["--cache-dir", &cache_arg]);
    assert!(
        first.stderr.contains(&format!(
            "component cache `{}`: 0 component(s) read, {n} compiled\n",
            components.display()
        )),
        "{}",
        first.stderr
    );
    let stored = artifacts(&components);
    assert_eq!(stored.len(), n, "{stored:?}");
    let written: Vec<_> = stored
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();

    let (second, warm) = scan(&tmp.path().join("2.json"), &["--cache-dir", &cache_arg]);
    assert!(
        second.stderr.contains(&format!(
            "component cache `{}`: {n} component(s) read, 0 compiled\n",
            components.display()
        )),
        "{}",
        second.stderr
    );
    assert!(cold == warm, "the reports differ");
    // Read, not written again.
    assert_eq!(artifacts(&components), stored);
    let rewritten: Vec<_> = stored
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(rewritten, written);

    let (off, uncached) = scan(&tmp.path().join("3.json"), &["--no-cache"]);
    assert!(
        off.stderr
            .contains(&format!("component cache off: {n} component(s) compiled\n")),
        "{}",
        off.stderr
    );
    assert!(uncached == cold, "the report without a cache differs");
}

#[test]
fn a_corrupted_artifact_is_compiled_again_and_the_report_is_unchanged() {
    let n = builtin_components();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache_arg = cache.display().to_string();
    let (_, cold) = scan(&tmp.path().join("1.json"), &["--cache-dir", &cache_arg]);
    for path in artifacts(&cache.join("components")) {
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let (run, repaired) = scan(&tmp.path().join("2.json"), &["--cache-dir", &cache_arg]);
    assert!(
        run.stderr.contains(&format!(
            "0 component(s) read, {n} compiled ({n} replacing a refused artifact)\n"
        )),
        "{}",
        run.stderr
    );
    assert!(repaired == cold, "the reports differ");
    let (run, _) = scan(&tmp.path().join("3.json"), &["--cache-dir", &cache_arg]);
    assert!(
        run.stderr
            .contains(&format!("{n} component(s) read, 0 compiled\n")),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_cache_others_can_write_is_not_used_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let components = cache.join("components");
    std::fs::create_dir_all(&components).unwrap();
    std::fs::set_permissions(&components, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cache_arg = cache.display().to_string();
    let (run, report) = scan(&tmp.path().join("1.json"), &["--cache-dir", &cache_arg]);
    let warning = format!(
        "warning: compiled rule components are not cached: the cache directory `{}` is \
         writable by its group or others (mode 777)\n",
        components.display()
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    assert_eq!(run.stderr.matches("warning: compiled").count(), 1);
    assert!(artifacts(&components).is_empty());
    let (_, uncached) = scan(&tmp.path().join("2.json"), &["--no-cache"]);
    assert!(report == uncached, "the reports differ");
    // Quiet means quiet.
    let quiet = tracewarden(&[
        "scan",
        "--quiet",
        "--fail-on",
        "none",
        "--cache-dir",
        &cache_arg,
        EXAMPLE,
    ]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
}

/// `rules list` with only `env` set of the variables that choose the cache directory.
fn rules_list(env: &[(&str, &Path)], extra: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracewarden"));
    for var in ["TRACEWARDEN_CACHE_DIR", "XDG_CACHE_HOME", "HOME"] {
        command.env_remove(var);
    }
    let out = command
        .args(["rules", "list"])
        .args(extra)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_cache_directory_follows_the_environment() {
    let n = builtin_components();
    let tmp = tempfile::tempdir().unwrap();
    let (home, xdg, own) = (
        tmp.path().join("home"),
        tmp.path().join("xdg"),
        tmp.path().join("own"),
    );
    // `TRACEWARDEN_CACHE_DIR` before `XDG_CACHE_HOME` before `HOME`.
    rules_list(
        &[
            ("TRACEWARDEN_CACHE_DIR", &own),
            ("XDG_CACHE_HOME", &xdg),
            ("HOME", &home),
        ],
        &[],
    );
    assert_eq!(artifacts(&own.join("components")).len(), n);
    assert!(!xdg.exists() && !home.exists());
    rules_list(&[("XDG_CACHE_HOME", &xdg), ("HOME", &home)], &[]);
    assert_eq!(artifacts(&xdg.join("tracewarden/components")).len(), n);
    assert!(!home.exists());
    // A relative `XDG_CACHE_HOME` is ignored, as the XDG base directory spec says.
    rules_list(
        &[("XDG_CACHE_HOME", Path::new("relative")), ("HOME", &home)],
        &[],
    );
    assert_eq!(
        artifacts(&home.join(".cache/tracewarden/components")).len(),
        n
    );
    assert!(!root().join("relative").exists());
    // `--no-cache` writes nowhere.
    let fresh = tmp.path().join("fresh");
    rules_list(&[("TRACEWARDEN_CACHE_DIR", &fresh)], &["--no-cache"]);
    assert!(!fresh.exists());
}
