//! The on-disk cache of compiled components, between the WASM host's loading of a component
//! (`wasm/mod.rs`) and cranelift: what the engine compiled is stored as wasmtime's serialized
//! code and read back at the next start instead of being compiled again.
//!
//! An artifact is only ever written here, after the engine compiled the component itself from the
//! bytes a pack supplied; a pack supplies component bytes, never compiled code. An artifact is read
//! back only from a directory the effective user owns and no one else can write (nor its parent),
//! under a key naming this engine's version, the target, wasmtime's compilation settings and the
//! component's digest, and only once its own digest checks out. Reading it back is the
//! workspace's one `unsafe` call, [`deserialize`]. A cache problem never fails a load: the
//! component is compiled, as without a cache.

use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use self::verified::Artifact;

/// Where compiled components are kept between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ComponentCache {
    /// No cache: every component is compiled at every load. The library's default: an embedder
    /// chooses where its program may write.
    #[default]
    Off,
    /// Keep compiled components in this directory. It is created (mode 0700) when missing, and
    /// used only when it and its parent are directories, not symlinks, owned by the effective
    /// user and not writable by group or others (Unix only; elsewhere the cache is not used).
    Dir(PathBuf),
}

/// What the component cache did when one component was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// No cache was asked for: compiled.
    Off,
    /// Read from the cache: not compiled.
    Hit,
    /// Compiled, and stored for the next load.
    Stored,
    /// The cached artifact was refused (why): compiled, and stored anew.
    Replaced(String),
    /// Compiled; the cache could not be used (why) and holds nothing new.
    Unusable(String),
}

/// Artifacts a cache directory keeps: past it, the oldest written are removed.
pub const MAX_CACHED_COMPONENTS: usize = 32;
/// Most bytes of an artifact read back (the built-in components' are under 1 MiB).
const MAX_ARTIFACT_BYTES: u64 = 256 << 20;
/// An artifact: this magic, its key, the sha256 of its code, the code (`Component::serialize`).
const MAGIC: &[u8; 8] = b"twcwasm1";
const EXTENSION: &str = "cwasm";

/// The component of `bytes`: from `cache` when it holds a sound artifact of them, else compiled
/// (and stored when there is a cache). Only compiling fails; what the cache did is the outcome.
pub(super) fn load(
    engine: &Engine,
    bytes: &[u8],
    cache: &ComponentCache,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let ComponentCache::Dir(dir) = cache else {
        return Ok((Component::new(engine, bytes)?, CacheOutcome::Off));
    };
    let dir = match CacheDir::open(dir) {
        Ok(dir) => dir,
        Err(why) => return Ok((Component::new(engine, bytes)?, CacheOutcome::Unusable(why))),
    };
    let key = key(engine, bytes);
    let refused = match dir.read(&key) {
        Ok(None) => None,
        Ok(Some(artifact)) => match deserialize(engine, &artifact) {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(e) => Some(format!("wasmtime refused it: {e}")),
        },
        Err(why) => Some(why),
    };
    let component = Component::new(engine, bytes)?;
    let outcome = match (dir.write(&key, &component), refused) {
        (Err(why), _) => CacheOutcome::Unusable(why),
        (Ok(()), None) => CacheOutcome::Stored,
        (Ok(()), Some(why)) => CacheOutcome::Replaced(why),
    };
    Ok((component, outcome))
}

/// Reads back an artifact this engine wrote.
#[expect(
    unsafe_code,
    reason = "wasmtime trusts serialized code; the one audited exception (docs/architecture.md)"
)]
fn deserialize(engine: &Engine, artifact: &Artifact) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` maps the artifact's machine code as executable without
    // checking it, so the bytes must be what `Component::serialize` produced for this engine's
    // settings. They are: an `Artifact` is made only by `Artifact::verify`, from a file of a
    // directory that `CacheDir::open` found owned by the effective user and writable by no one
    // else (nor is its parent), neither a symlink; the file's header names the key asked for
    // (this engine's version, the target, wasmtime's compilation settings and the digest of the
    // component's bytes) and its code matches the sha256 in the header. Such files are written
    // only by `CacheDir::write`, from a component this engine compiled itself; packs supply
    // component bytes, which `Component::new` compiles and never reads as code. wasmtime checks
    // its version and settings once more on deserializing.
    unsafe { Component::deserialize(engine, artifact.code()) }
}

/// Its own module, so that nothing else in this file can make an [`Artifact`].
mod verified {
    use sha2::{Digest, Sha256};

    use super::MAGIC;

    /// An artifact whose header names the key asked for and whose code matches the digest in
    /// its header. Only [`Artifact::verify`] makes one.
    pub(super) struct Artifact {
        bytes: Vec<u8>,
        code_at: usize,
    }

    impl Artifact {
        /// `bytes` as an artifact stored under `key`, or why they are not one.
        pub(super) fn verify(bytes: Vec<u8>, key: &[u8; 32]) -> Result<Artifact, String> {
            let truncated = || "it is truncated".to_owned();
            let (magic, rest) = bytes.split_first_chunk::<8>().ok_or_else(truncated)?;
            let (stored_key, rest) = rest.split_first_chunk::<32>().ok_or_else(truncated)?;
            let (digest, code) = rest.split_first_chunk::<32>().ok_or_else(truncated)?;
            if magic != MAGIC {
                return Err("it is not in this engine's artifact format".to_owned());
            }
            if stored_key != key {
                return Err("it was stored for other component bytes or another engine".to_owned());
            }
            if Sha256::digest(code).as_slice() != digest.as_slice() {
                return Err("its code does not match its digest".to_owned());
            }
            let code_at = bytes.len() - code.len();
            Ok(Artifact { bytes, code_at })
        }

        /// The serialized component.
        pub(super) fn code(&self) -> &[u8] {
            self.bytes.get(self.code_at..).unwrap_or_default()
        }
    }
}

/// The cache key of `component` compiled by `engine`: everything its code depends on.
fn key(engine: &Engine, component: &[u8]) -> [u8; 32] {
    let mut sha = Sha256::new();
    for part in [
        "tracewarden component cache",
        env!("CARGO_PKG_VERSION"),
        env!("TRACEWARDEN_TARGET"),
    ] {
        sha.update((part.len() as u64).to_le_bytes());
        sha.update(part);
    }
    // The target's ISA and flags, the tunables (fuel metering), the wasm features and
    // wasmtime's version.
    engine
        .precompile_compatibility_hash()
        .hash(&mut ShaHasher(&mut sha));
    sha.update(Sha256::digest(component));
    sha.finalize().into()
}

/// Feeds what a [`Hash`] writes into a sha256.
struct ShaHasher<'a>(&'a mut Sha256);

impl Hasher for ShaHasher<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        digest
            .first_chunk::<8>()
            .map_or(0, |b| u64::from_le_bytes(*b))
    }
}

/// A cache directory that no one but the effective user can change.
struct CacheDir(PathBuf);

impl CacheDir {
    /// `dir`, created (mode 0700) when missing, once it and its parent are found private.
    #[cfg(unix)]
    fn open(dir: &Path) -> Result<CacheDir, String> {
        use std::os::unix::fs::DirBuilderExt as _;
        let dir = std::path::absolute(dir).map_err(|e| {
            format!(
                "cannot resolve the cache directory `{}`: {e}",
                dir.display()
            )
        })?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create the cache directory `{}`: {e}", dir.display()))?;
        private(&dir)?;
        if let Some(parent) = dir.parent() {
            private(parent)?;
        }
        Ok(CacheDir(dir))
    }

    /// No cache off Unix: ownership and modes cannot be checked the same way.
    #[cfg(not(unix))]
    fn open(dir: &Path) -> Result<CacheDir, String> {
        Err(format!(
            "the cache directory `{}` is not used: the component cache needs Unix permissions",
            dir.display()
        ))
    }

    fn path(&self, key: &[u8; 32]) -> PathBuf {
        let name = crate::digest::hex(key);
        self.0.join(format!("{name}.{EXTENSION}"))
    }

    /// The artifact stored under `key`, verified; `None` when there is none. An error says why
    /// the artifact there is refused.
    fn read(&self, key: &[u8; 32]) -> Result<Option<Artifact>, String> {
        let file = match std::fs::File::open(self.path(key)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read it: {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read it: {e}"))?;
        if !meta.is_file() {
            return Err("it is not a regular file".to_owned());
        }
        if meta.len() > MAX_ARTIFACT_BYTES {
            return Err(format!(
                "it is {} bytes, over the {MAX_ARTIFACT_BYTES}-byte bound",
                meta.len()
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.take(MAX_ARTIFACT_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        Artifact::verify(bytes, key).map(Some)
    }

    /// Stores `component`'s code under `key`: written to a temporary file of the directory, then
    /// renamed over any earlier artifact, so a reader sees a whole artifact or none.
    fn write(&self, key: &[u8; 32], component: &Component) -> Result<(), String> {
        let code = component
            .serialize()
            .map_err(|e| format!("cannot serialize a compiled component: {e}"))?;
        let failed = |e: std::io::Error| {
            format!(
                "cannot write to the cache directory `{}`: {e}",
                self.0.display()
            )
        };
        let mut file = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".part")
            .tempfile_in(&self.0)
            .map_err(failed)?;
        for part in [
            MAGIC.as_slice(),
            key,
            Sha256::digest(&code).as_slice(),
            &code,
        ] {
            file.write_all(part).map_err(failed)?;
        }
        // No fsync: an artifact a crash leaves torn fails its digest and is replaced.
        file.persist(self.path(key)).map_err(|e| failed(e.error))?;
        self.prune();
        Ok(())
    }

    /// Removes the oldest-written artifacts past [`MAX_CACHED_COMPONENTS`], and temporary files
    /// a crashed writer left over an hour ago; best effort.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return;
        };
        let abandoned =
            std::time::SystemTime::now().checked_sub(std::time::Duration::from_secs(3600));
        let mut artifacts = Vec::new();
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            let Some(written) = std::fs::metadata(&path).and_then(|m| m.modified()).ok() else {
                continue;
            };
            match path.extension().and_then(|x| x.to_str()) {
                Some(EXTENSION) => artifacts.push((written, path)),
                Some("part") if abandoned.is_some_and(|t| written < t) => {
                    let _ = std::fs::remove_file(path);
                }
                _ => {}
            }
        }
        let excess = artifacts.len().saturating_sub(MAX_CACHED_COMPONENTS);
        artifacts.sort();
        for (_, path) in artifacts.into_iter().take(excess) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether `dir` is a directory (not a symlink) that the effective user owns and no one else
/// can write; if not, why.
#[cfg(unix)]
fn private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let shown = dir.display();
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect the cache directory `{shown}`: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!("the cache directory `{shown}` is a symlink"));
    }
    if !meta.is_dir() {
        return Err(format!("the cache directory `{shown}` is not a directory"));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "the cache directory `{shown}` is owned by another user (uid {}, not {me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "the cache directory `{shown}` is writable by its group or others (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests;
