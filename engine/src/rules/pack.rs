//! Rule packs: a directory with `pack.toml` (name, version, description, rules with file, kind and
//! sha256) and the files it names, or the same in a `.twpack` archive. Loading checks the pack's
//! lock and signature (`trust.rs`), verifies every digest, loads every rule and lists every
//! problem at once; a pack with any problem is refused whole.

use std::collections::BTreeMap;
use std::path::{Component as PathComponent, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::PackConfig;
use super::meta::RuleMeta;
use super::rego::RegoRule;
use super::trust::{MANIFEST_FILE, TrustPolicy};
use super::wasm::{ComponentCache, WasmComponent, WasmLimits};
use crate::error::PackRefusal;

/// The runtime of a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A WebAssembly component implementing `wit/rule.wit`.
    Wasm,
    /// A Rego module.
    Rego,
}

impl RuleKind {
    /// The kind's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleKind::Wasm => "wasm",
            RuleKind::Rego => "rego",
        }
    }
}

/// `pack.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    rules: Vec<ManifestRule>,
    /// The pack's options with their defaults.
    #[serde(default)]
    config: toml::Table,
}

/// One `[[rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestRule {
    file: String,
    kind: RuleKind,
    #[serde(default)]
    sha256: Option<String>,
    /// How the file is made from the pack's sources; loading still needs the file.
    #[serde(default)]
    build: Option<BuildTool>,
}

/// How a rule file is made from a pack's sources (`build` in `pack.toml`). A built-in pack's
/// files are made by the engine's build and embedded; a community pack's by `tracewarden rules
/// build`, which then writes their digests into `pack.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuildTool {
    /// `cargo build --target wasm32-wasip2 --release` of the pack's crate.
    #[serde(rename = "cargo")]
    Cargo,
    /// `componentize-py` over the pack's `app.py` and `wit/`.
    #[serde(rename = "componentize-py")]
    ComponentizePy,
}

impl BuildTool {
    /// The name `pack.toml` gives it.
    pub fn as_str(&self) -> &'static str {
        match self {
            BuildTool::Cargo => "cargo",
            BuildTool::ComponentizePy => "componentize-py",
        }
    }
}

/// A rule file a pack makes from its sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// The file, relative to the pack.
    pub file: String,
    /// How it is made.
    pub tool: BuildTool,
}

/// The rule files `manifest` (the text of a `pack.toml`) says are built, in manifest order.
pub fn build_steps(manifest: &str) -> Result<Vec<BuildStep>, String> {
    Ok(rule_files(manifest)?
        .into_iter()
        .filter_map(|(file, build)| build.map(|tool| BuildStep { file, tool }))
        .collect())
}

/// The pack name `manifest` (the text of a `pack.toml`) gives.
pub fn pack_name(manifest: &str) -> Result<String, String> {
    let m: Manifest =
        toml::from_str(manifest).map_err(|e| format!("invalid `pack.toml`: {}", e.message()))?;
    Ok(m.name)
}

/// Every rule file `manifest` names, with how it is built, in manifest order.
pub fn rule_files(manifest: &str) -> Result<Vec<(String, Option<BuildTool>)>, String> {
    let m: Manifest =
        toml::from_str(manifest).map_err(|e| format!("invalid `pack.toml`: {}", e.message()))?;
    Ok(m.rules.into_iter().map(|r| (r.file, r.build)).collect())
}

/// Whether `manifest` says `file` is built.
pub(super) fn is_built(manifest: &str, file: &str) -> bool {
    build_steps(manifest).is_ok_and(|steps| steps.iter().any(|s| s.file == file))
}

/// Where a pack's files come from.
#[derive(Debug, Clone)]
pub enum PackSource {
    /// A directory with `pack.toml`.
    Dir(PathBuf),
    /// A single `.wasm` or `.rego` file: a pack of one rule named after the file.
    File(PathBuf),
    /// A `.twpack` archive (`tracewarden pack build`), read in memory.
    Archive(PathBuf),
    /// Compiled into the binary.
    Embedded(&'static EmbeddedPack),
}

/// A built-in pack, as the build embeds it.
#[derive(Debug)]
pub struct EmbeddedPack {
    /// `pack.toml`, with digests filled in by the build.
    pub manifest: &'static str,
    /// `(file name, bytes)`.
    pub files: &'static [(&'static str, &'static [u8])],
}

/// A loaded pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    /// Pack name.
    pub name: String,
    /// Pack version.
    pub version: String,
    /// One line.
    pub description: String,
    /// `built-in` or the path it was loaded from.
    pub origin: String,
    /// Its rule files, loaded.
    pub files: Vec<RuleFile>,
    /// Its options: the `[config]` defaults with the user's overrides applied.
    pub config: PackConfig,
}

/// One rule file of a pack, loaded: a component (one or more rules) or a Rego module (one rule).
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// File name within the pack.
    pub file: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// The loaded runtime.
    pub runtime: Runtime,
}

/// A loaded rule file. Closed set: openness comes through WIT and Rego only.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// WASM component.
    Wasm(WasmComponent),
    /// Rego module.
    Rego(Box<RegoRule>),
}

impl RuleFile {
    /// The rule file's kind.
    pub fn kind(&self) -> RuleKind {
        match self.runtime {
            Runtime::Wasm(_) => RuleKind::Wasm,
            Runtime::Rego(_) => RuleKind::Rego,
        }
    }

    /// Metadata of the rules in this file.
    pub fn rules(&self) -> &[RuleMeta] {
        match &self.runtime {
            Runtime::Wasm(c) => c.rules(),
            Runtime::Rego(r) => std::slice::from_ref(r.meta()),
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut out = String::from("sha256:");
    crate::digest::push_hex(&mut out, &d);
    out
}

impl RulePack {
    /// Loads a pack with the user's option overrides (by pack name); every problem found refuses
    /// it. Its WASM components are compiled, or read from `cache` when it kept them. Its lock,
    /// when it has one, is checked; its signature is not (see [`RulePack::load_trusted`]).
    pub fn load(
        source: &PackSource,
        limits: WasmLimits,
        cache: &ComponentCache,
        overrides: &BTreeMap<String, toml::Table>,
    ) -> Result<RulePack, PackRefusal> {
        RulePack::load_trusted(source, limits, cache, overrides, &TrustPolicy::default())
    }

    /// [`RulePack::load`], checking the pack against `trust` first: its lock, and with
    /// `trust.require_signed` a signature by a trusted key (built-in packs are always trusted; a
    /// single rule file, which cannot be signed, is then refused).
    pub fn load_trusted(
        source: &PackSource,
        limits: WasmLimits,
        cache: &ComponentCache,
        overrides: &BTreeMap<String, toml::Table>,
        trust: &TrustPolicy,
    ) -> Result<RulePack, PackRefusal> {
        let load_files = |origin: String, files: PackFiles<'_>| {
            let refuse = |problems| PackRefusal {
                pack: origin.clone(),
                problems,
            };
            let checked = super::trust::check(&files, trust).map_err(refuse)?;
            // With a lock, the pack is loaded from the bytes that were checked.
            let files = match &checked.locked {
                Some(locked) => PackFiles::Locked(locked),
                None => files,
            };
            let manifest = files
                .read(MANIFEST_FILE)
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| "`pack.toml` is not UTF-8 text".to_owned())
                })
                .map_err(|e| refuse(vec![e]))?;
            load_manifest(
                &origin,
                &manifest,
                |name| files.read(name),
                limits,
                cache,
                overrides,
            )
        };
        match source {
            PackSource::Dir(dir) => load_files(dir.display().to_string(), PackFiles::Dir(dir)),
            PackSource::Archive(path) => {
                let origin = path.display().to_string();
                let entries = super::archive::read_archive(path).map_err(|e| PackRefusal {
                    pack: origin.clone(),
                    problems: vec![e],
                })?;
                load_files(origin, PackFiles::Archive(&entries))
            }
            PackSource::Embedded(pack) => load_manifest(
                "built-in",
                pack.manifest,
                |name| {
                    pack.files
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, b)| b.to_vec())
                        .ok_or_else(|| format!("`{name}` is missing from the built-in pack"))
                },
                limits,
                cache,
                overrides,
            ),
            PackSource::File(path) if trust.require_signed => Err(PackRefusal {
                pack: path.display().to_string(),
                problems: vec![
                    "a single rule file cannot be signed, and signatures are required: put it \
                     in a pack and sign it (`tracewarden pack sign PACK --key KEY`)"
                        .to_owned(),
                ],
            }),
            PackSource::File(path) => load_single(path, limits, cache, overrides),
        }
    }
}

/// The files of a pack: a directory, an archive's entries, or the files its lock check read.
pub(super) enum PackFiles<'a> {
    /// A pack directory.
    Dir(&'a Path),
    /// A `.twpack` archive's files by path.
    Archive(&'a BTreeMap<String, Vec<u8>>),
    /// The files of a pack's lock, by path, as they were checked against it.
    Locked(&'a BTreeMap<String, Vec<u8>>),
}

impl PackFiles<'_> {
    /// Reads `name`, a relative path that must stay inside the pack.
    pub(super) fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        match self {
            PackFiles::Dir(dir) => read_in_dir(dir, name),
            PackFiles::Archive(entries) => {
                relative_inside(name)?;
                entries
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("`{name}` is not in the archive"))
            }
            PackFiles::Locked(entries) => {
                relative_inside(name)?;
                entries
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("`{name}` is not in `pack.lock`"))
            }
        }
    }

    /// Whether the pack has an entry `name` (a broken link counts: reading it says why).
    pub(super) fn has(&self, name: &str) -> bool {
        match self {
            PackFiles::Dir(dir) => dir.join(name).symlink_metadata().is_ok(),
            PackFiles::Archive(entries) | PackFiles::Locked(entries) => entries.contains_key(name),
        }
    }
}

/// Refuses a path that is absolute or has `..` (or `.`) in it.
fn relative_inside(name: &str) -> Result<(), String> {
    let rel = Path::new(name);
    if name.is_empty()
        || !rel
            .components()
            .all(|c| matches!(c, PathComponent::Normal(_)))
    {
        return Err(format!(
            "file `{name}` must be a relative path inside the pack"
        ));
    }
    Ok(())
}

/// Most bytes of one pack file (a WASM component, a Rego module, `pack.toml`).
pub const MAX_PACK_FILE_BYTES: u64 = 64 << 20;

/// Reads `name` inside `dir`: a relative path that, with every symlink resolved, stays inside the
/// pack directory and is a regular file of at most [`MAX_PACK_FILE_BYTES`]. Refusals name the file
/// and the problem, never its content.
pub(super) fn read_in_dir(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    relative_inside(name)?;
    let rel = Path::new(name);
    let root = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve the pack directory: {e}"))?;
    let resolved = root
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if !resolved.starts_with(&root) {
        return Err(format!(
            "file `{name}` resolves outside the pack directory (a symlink to `{}`): refused",
            resolved.display()
        ));
    }
    let meta = std::fs::metadata(&resolved).map_err(|e| format!("cannot read `{name}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!("`{name}` is not a regular file"));
    }
    if meta.len() > MAX_PACK_FILE_BYTES {
        return Err(format!(
            "`{name}` is {} bytes, over the {MAX_PACK_FILE_BYTES}-byte bound of a pack file",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&resolved)
        .and_then(|f| f.take(MAX_PACK_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read `{name}`: {e}"))?;
    Ok(bytes)
}

pub(super) fn load_manifest(
    origin: &str,
    manifest: &str,
    read: impl Fn(&str) -> Result<Vec<u8>, String>,
    limits: WasmLimits,
    cache: &ComponentCache,
    overrides: &BTreeMap<String, toml::Table>,
) -> Result<RulePack, PackRefusal> {
    let refuse = |pack: &str, problems: Vec<String>| PackRefusal {
        pack: pack.to_owned(),
        problems,
    };
    let m: Manifest = toml::from_str(manifest).map_err(|e| {
        refuse(
            origin,
            vec![format!("invalid `pack.toml`: {}", e.message())],
        )
    })?;
    let label = if origin == "built-in" {
        m.name.clone()
    } else {
        format!("{} ({origin})", m.name)
    };
    let mut problems = Vec::new();
    let config = match PackConfig::declared(&m.config).and_then(|c| match overrides.get(&m.name) {
        Some(o) => c.with_overrides(o),
        None => Ok(c),
    }) {
        Ok(c) => c,
        Err(ps) => return Err(refuse(&label, ps)),
    };
    if m.rules.is_empty() {
        problems.push("`pack.toml` lists no rules".to_owned());
    }
    let mut files = Vec::new();
    for entry in &m.rules {
        let bytes = match read(&entry.file) {
            Ok(b) => b,
            Err(e) => {
                let hint = match (entry.build, origin) {
                    (Some(_), "built-in") => {
                        " (built from source by the tracewarden build; it ships inside the binary)"
                    }
                    (Some(_), _) => " (a built file: run `tracewarden rules build` on the pack)",
                    (None, _) => "",
                };
                problems.push(format!("{e}{hint}"));
                continue;
            }
        };
        let actual = digest(&bytes);
        match &entry.sha256 {
            None => {
                problems.push(format!(
                    "`{}` has no `sha256` in `pack.toml` (it is `{actual}`)",
                    entry.file
                ));
                continue;
            }
            Some(expected) if normalize_digest(expected) != actual => {
                problems.push(format!(
                    "`{}` does not match its digest: `pack.toml` says `{}`, the file is `{actual}`",
                    entry.file,
                    normalize_digest(expected)
                ));
                continue;
            }
            Some(_) => {}
        }
        match load_file(&entry.file, entry.kind, &bytes, limits, cache, &config) {
            Ok(runtime) => files.push(RuleFile {
                file: entry.file.clone(),
                digest: actual,
                runtime,
            }),
            Err(ps) => problems.extend(ps.into_iter().map(|p| format!("`{}`: {p}", entry.file))),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &files {
        for r in f.rules() {
            if !seen.insert(r.id.clone()) {
                problems.push(format!("rule id `{}` is declared twice", r.id));
            }
        }
    }
    if !problems.is_empty() {
        return Err(refuse(&label, problems));
    }
    Ok(RulePack {
        name: m.name,
        version: m.version,
        description: m.description,
        origin: origin.to_owned(),
        files,
        config,
    })
}

fn normalize_digest(d: &str) -> String {
    let hex = d.strip_prefix("sha256:").unwrap_or(d);
    format!("sha256:{}", hex.to_ascii_lowercase())
}

fn load_file(
    name: &str,
    kind: RuleKind,
    bytes: &[u8],
    limits: WasmLimits,
    cache: &ComponentCache,
    config: &PackConfig,
) -> Result<Runtime, Vec<String>> {
    match kind {
        RuleKind::Wasm => WasmComponent::load(bytes, limits, cache, config).map(Runtime::Wasm),
        RuleKind::Rego => {
            let source =
                std::str::from_utf8(bytes).map_err(|_| vec!["is not UTF-8 text".to_owned()])?;
            RegoRule::load(name, source, config).map(|r| Runtime::Rego(Box::new(r)))
        }
    }
}

fn load_single(
    path: &Path,
    limits: WasmLimits,
    cache: &ComponentCache,
    overrides: &BTreeMap<String, toml::Table>,
) -> Result<RulePack, PackRefusal> {
    let origin = path.display().to_string();
    let refuse = |problems| PackRefusal {
        pack: origin.clone(),
        problems,
    };
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => RuleKind::Wasm,
        Some("rego") => RuleKind::Rego,
        _ => {
            return Err(refuse(vec![
                "expected a pack directory (with `pack.toml`), a `.wasm` or a `.rego` file"
                    .to_owned(),
            ]));
        }
    };
    let bytes = std::fs::read(path).map_err(|e| refuse(vec![format!("cannot read: {e}")]))?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("rule")
        .to_owned();
    let file = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("rule")
        .to_owned();
    let config = match overrides.get(&name) {
        Some(o) => PackConfig::default().with_overrides(o).map_err(refuse)?,
        None => PackConfig::default(),
    };
    let runtime = load_file(&file, kind, &bytes, limits, cache, &config).map_err(refuse)?;
    Ok(RulePack {
        name,
        version: "0.0.0".to_owned(),
        description: String::new(),
        origin: origin.clone(),
        files: vec![RuleFile {
            file,
            digest: digest(&bytes),
            runtime,
        }],
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_prefixed_lowercase_hex() {
        assert_eq!(
            digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(normalize_digest("BA78"), "sha256:ba78");
    }

    #[test]
    fn pack_files_cannot_escape_the_pack() {
        let dir = Path::new(".");
        assert!(
            read_in_dir(dir, "../etc/passwd")
                .unwrap_err()
                .contains("inside the pack")
        );
        assert!(
            read_in_dir(dir, "/etc/passwd")
                .unwrap_err()
                .contains("inside the pack")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_pack_is_refused_without_its_content() {
        // Reproducer: a pack's `rule.rego` linked to `/etc/passwd` was read, and a line of it
        // appeared in the refusal.
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.rego");
        std::fs::write(&secret, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        let pack = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&secret, pack.path().join("rule.rego")).unwrap();
        std::fs::create_dir(pack.path().join("sub")).unwrap();
        std::fs::write(pack.path().join("sub/inner.rego"), "x").unwrap();
        std::os::unix::fs::symlink("sub/inner.rego", pack.path().join("inside.rego")).unwrap();
        let err = read_in_dir(pack.path(), "rule.rego").unwrap_err();
        assert!(err.contains("resolves outside the pack directory"), "{err}");
        assert!(!err.contains("root:x"), "{err}");
        // A symlink that stays inside the pack is followed.
        assert_eq!(read_in_dir(pack.path(), "inside.rego").unwrap(), b"x");
        assert_eq!(
            read_in_dir(pack.path(), "sub").unwrap_err(),
            "`sub` is not a regular file"
        );
    }

    #[test]
    fn a_digest_mismatch_and_a_missing_file_are_both_listed() {
        let manifest = r#"
            name = "p"
            version = "1.0.0"
            [[rules]]
            file = "a.rego"
            kind = "rego"
            sha256 = "0000"
            [[rules]]
            file = "b.rego"
            kind = "rego"
            sha256 = "0000"
        "#;
        let read = |name: &str| {
            if name == "a.rego" {
                Ok(b"package tracewarden.rules.a".to_vec())
            } else {
                Err(format!("cannot read `{name}`"))
            }
        };
        let err = load_manifest(
            "dir",
            manifest,
            read,
            WasmLimits::default(),
            &ComponentCache::Off,
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert_eq!(err.pack, "p (dir)");
        assert_eq!(err.problems.len(), 2);
        assert!(
            err.problems[0]
                .starts_with("`a.rego` does not match its digest: `pack.toml` says `sha256:0000`")
        );
        assert_eq!(err.problems[1], "cannot read `b.rego`");
    }
}
