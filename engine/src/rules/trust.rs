//! Pack integrity and trust: `pack.lock` (the SHA-256 of every file of a pack) and `pack.sig`
//! (an ed25519 signature over the lock, by a key of `keys.rs`). Loading a pack checks its lock when it has one and,
//! when the caller requires it, a signature by a trusted key, before any rule is loaded.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use serde::Deserialize;

use super::keys::{PublicKey, SecretKey};
use super::pack::{PackFiles, digest};

/// The lock file of a pack: the SHA-256 of `pack.toml` and of every file it names.
pub const LOCK_FILE: &str = "pack.lock";
/// The signature file of a pack: an ed25519 signature over the bytes of [`LOCK_FILE`].
pub const SIGNATURE_FILE: &str = "pack.sig";
/// The manifest of a pack.
pub const MANIFEST_FILE: &str = "pack.toml";

const LOCK_HEADER: &str = "# tracewarden pack lock 1";
const SIGNATURE_HEADER: &str = "tracewarden pack signature 1";

/// What went wrong in a pack or key command (`pack lock`, `sign`, `verify`, `build`, `keygen`).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `keygen` never overwrites a key.
    #[error("`{0}` already exists: a key is never overwritten (remove it or choose another name)")]
    KeyExists(PathBuf),
    /// The operating system's random source failed, so no key could be made.
    #[error("cannot make a key: the operating system gave no random bytes: {0}")]
    NoRandom(String),
    /// A key file that is not the expected kind of key.
    #[error("`{path}`: {problem}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What was wrong and what was expected.
        problem: String,
    },
    /// The pack has problems: each is named with the file it is about.
    #[error("pack `{pack}`:{}", problems.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Pack {
        /// The pack's path.
        pack: String,
        /// Each problem, one line each.
        problems: Vec<String>,
    },
}

impl TrustError {
    fn pack(pack: &Path, problems: Vec<String>) -> TrustError {
        TrustError::Pack {
            pack: pack.display().to_string(),
            problems,
        }
    }
}

/// Which packs may load: with `require_signed`, a pack loaded from a directory or an archive
/// must carry a valid `pack.sig` by one of `trusted` (built-in packs are compiled in, and always
/// trusted). The lock of a pack that has one is checked either way.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    /// Refuse packs without a valid signature by a trusted key.
    pub require_signed: bool,
    /// The keys whose signatures are trusted.
    pub trusted: Vec<PublicKey>,
}

/// `pack.lock`: `(path, sha256:<hex>)`, sorted by path, one file once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackLock {
    entries: Vec<(String, String)>,
}

impl PackLock {
    /// The lock's canonical text: a header line, then `sha256:<hex>  <path>` per file, sorted.
    /// This is the text a signature covers.
    pub fn to_text(&self) -> String {
        let mut out = format!("{LOCK_HEADER}\n");
        for (path, digest) in &self.entries {
            out.push_str(&format!("{digest}  {path}\n"));
        }
        out
    }

    /// The locked files, sorted, with their digests.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Parses a lock; it must be in the canonical form [`PackLock::to_text`] writes, so that the
    /// bytes a signature covers have one meaning.
    pub fn parse(text: &str) -> Result<PackLock, String> {
        let mut lines = text.split_inclusive('\n');
        if lines.next() != Some(&format!("{LOCK_HEADER}\n")) {
            return Err(format!(
                "`{LOCK_FILE}` is not a pack lock: expected the first line `{LOCK_HEADER}`"
            ));
        }
        let mut entries: Vec<(String, String)> = Vec::new();
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let parsed = line
                .strip_suffix('\n')
                .and_then(|l| l.split_once("  "))
                .filter(|(d, p)| is_digest(d) && !p.is_empty());
            let Some((digest, path)) = parsed else {
                return Err(format!(
                    "`{LOCK_FILE}` line {n}: expected `sha256:<64 lowercase hex digits>  <file>`"
                ));
            };
            if let Some((last, _)) = entries.last()
                && last.as_str() >= path
            {
                return Err(format!(
                    "`{LOCK_FILE}` line {n}: `{path}` is out of order or repeated (files are \
                     sorted, each once: write it with `tracewarden pack lock`)"
                ));
            }
            entries.push((path.to_owned(), digest.to_owned()));
        }
        Ok(PackLock { entries })
    }
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The part of `pack.toml` the lock needs: the files it names.
#[derive(Deserialize)]
struct ManifestFiles {
    #[serde(default)]
    rules: Vec<ManifestFile>,
}

#[derive(Deserialize)]
struct ManifestFile {
    file: String,
}

/// `pack.toml` and the files it names, sorted, each once. An unreadable manifest names none
/// (loading the pack reports it).
pub(super) fn manifest_files(manifest: &[u8]) -> Vec<String> {
    let named = std::str::from_utf8(manifest)
        .ok()
        .and_then(|t| toml::from_str::<ManifestFiles>(t).ok())
        .map(|m| m.rules.into_iter().map(|r| r.file).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut files: Vec<String> = std::iter::once(MANIFEST_FILE.to_owned())
        .chain(named)
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Computes the lock of the pack in `files`: `pack.toml` and every file it names.
fn compute_lock(files: &PackFiles<'_>) -> Result<PackLock, Vec<String>> {
    let manifest = files.read(MANIFEST_FILE).map_err(|e| vec![e])?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for name in manifest_files(&manifest) {
        if name.chars().any(char::is_control) || name.contains("  ") {
            problems.push(format!(
                "file `{}` cannot be locked: its name holds a control character or two spaces",
                name.escape_debug()
            ));
            continue;
        }
        match files.read(&name) {
            Ok(bytes) => entries.push((name, digest(&bytes))),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(PackLock { entries })
    } else {
        Err(problems)
    }
}

/// What [`check`] found good.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// The signer's fingerprint, when the signature was checked.
    pub signer: Option<String>,
    /// With a lock, the bytes of every locked file as they were checked: loading reads these,
    /// never the files again, so a file swapped after the check is never loaded.
    pub locked: Option<BTreeMap<String, Vec<u8>>>,
}

/// Checks the pack in `files` against `policy`, before anything else of it is read: the lock,
/// when it has one, holds every file of the pack with its current digest; with
/// `policy.require_signed`, `pack.sig` is a valid signature of the lock by a trusted key.
/// Every problem is listed.
pub(super) fn check(files: &PackFiles<'_>, policy: &TrustPolicy) -> Result<Checked, Vec<String>> {
    let mut problems = Vec::new();
    let mut locked = None;
    let lock_bytes = if files.has(LOCK_FILE) {
        Some(files.read(LOCK_FILE).map_err(|e| vec![e])?)
    } else {
        None
    };
    if let Some(bytes) = &lock_bytes {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| vec![format!("`{LOCK_FILE}` is not UTF-8 text")])?;
        let lock = PackLock::parse(text).map_err(|e| vec![e])?;
        match check_lock(files, &lock) {
            Ok(bytes) => locked = Some(bytes),
            Err(ps) => problems.extend(ps),
        }
    }
    if !policy.require_signed {
        return if problems.is_empty() {
            Ok(Checked {
                signer: None,
                locked,
            })
        } else {
            Err(problems)
        };
    }
    let signer = match &lock_bytes {
        None => {
            problems.push(format!(
                "the pack is unsigned: it has no `{LOCK_FILE}` and no `{SIGNATURE_FILE}` (sign it \
                 with `tracewarden pack sign PACK --key KEY`)"
            ));
            None
        }
        Some(lock) => match check_signature(files, lock, &policy.trusted) {
            Ok(fp) => Some(fp),
            Err(e) => {
                problems.push(e);
                None
            }
        },
    };
    match signer {
        Some(fp) if problems.is_empty() => Ok(Checked {
            signer: Some(fp),
            locked,
        }),
        _ => Err(problems),
    }
}

/// Every locked file read once and compared; every file the locked manifest names locked.
/// Returns the bytes read, by file.
fn check_lock(
    files: &PackFiles<'_>,
    lock: &PackLock,
) -> Result<BTreeMap<String, Vec<u8>>, Vec<String>> {
    let mut problems = Vec::new();
    let mut read = BTreeMap::new();
    for (name, expected) in &lock.entries {
        match files.read(name) {
            Ok(bytes) => {
                let actual = digest(&bytes);
                if &actual == expected {
                    read.insert(name.clone(), bytes);
                } else {
                    problems.push(format!(
                        "`{name}` was changed after the pack was locked: `{LOCK_FILE}` says \
                         `{expected}`, the file is `{actual}`"
                    ));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    let manifest = match read.get(MANIFEST_FILE) {
        Some(m) => Some(m.clone()),
        None => files.read(MANIFEST_FILE).ok(),
    };
    for name in manifest.as_deref().map(manifest_files).unwrap_or_default() {
        if !lock.entries.iter().any(|(n, _)| *n == name) {
            problems.push(format!(
                "`{name}` is not in `{LOCK_FILE}` (lock the pack again with `tracewarden pack \
                 lock`)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(read)
    } else {
        Err(problems)
    }
}

/// `pack.sig`: `(fingerprint, signature)`.
fn parse_signature(text: &str) -> Option<(&str, Signature)> {
    let mut lines = text.lines();
    if lines.next()? != SIGNATURE_HEADER {
        return None;
    }
    let key = lines.next()?.strip_prefix("key ")?;
    let sig = lines.next()?.strip_prefix("signature ")?;
    if lines.any(|l| !l.trim().is_empty()) {
        return None;
    }
    let bytes = <[u8; 64]>::try_from(STANDARD.decode(sig).ok()?).ok()?;
    Some((key, Signature::from_bytes(&bytes)))
}

fn check_signature(
    files: &PackFiles<'_>,
    lock: &[u8],
    trusted: &[PublicKey],
) -> Result<String, String> {
    if !files.has(SIGNATURE_FILE) {
        return Err(format!(
            "the pack is unsigned: it has no `{SIGNATURE_FILE}` (sign it with `tracewarden pack \
             sign PACK --key KEY`)"
        ));
    }
    let bytes = files.read(SIGNATURE_FILE)?;
    let (signer, signature) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(parse_signature)
        .ok_or_else(|| {
            format!(
                "`{SIGNATURE_FILE}` is not a pack signature: expected `{SIGNATURE_HEADER}`, a \
                 `key SHA256:…` line and a `signature <base64 of 64 bytes>` line"
            )
        })?;
    let Some(key) = trusted.iter().find(|k| k.fingerprint() == signer) else {
        let known: Vec<String> = trusted.iter().map(PublicKey::fingerprint).collect();
        return Err(format!(
            "`{SIGNATURE_FILE}` is signed by key {signer}, which is not trusted (trusted: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    };
    if !key.verifies(lock, &signature) {
        return Err(format!(
            "`{SIGNATURE_FILE}` is a bad signature by key {signer}: `{LOCK_FILE}` is not what \
             the key signed"
        ));
    }
    Ok(signer.to_owned())
}

/// What `pack lock` wrote.
#[derive(Debug, Clone)]
pub struct Locked {
    /// The lock file.
    pub path: PathBuf,
    /// The files it holds, `pack.toml` included.
    pub files: usize,
}

/// Writes `pack.lock` into the pack directory `dir`: the digest of `pack.toml` and of every
/// file it names. A file missing or leaving the pack is an error naming it.
pub fn lock_pack(dir: &Path) -> Result<Locked, TrustError> {
    let lock = compute_lock(&PackFiles::Dir(dir)).map_err(|ps| TrustError::pack(dir, ps))?;
    let path = dir.join(LOCK_FILE);
    write_replacing(&path, lock.to_text().as_bytes())?;
    Ok(Locked {
        path,
        files: lock.entries.len(),
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so that a reader
/// never sees half a file and a symlink at `path` is replaced, not followed. The file is
/// readable by all (mode 0644 on Unix), as the pack's other files are meant to be shared.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), TrustError> {
    let err = |source| TrustError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    tmp.write_all(bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Signs the pack directory `dir` with `key`: locks it when it has no lock (a lock that no
/// longer matches its files is refused: lock again to accept the change), then writes
/// `pack.sig`. Returns the key's fingerprint.
pub fn sign_pack(dir: &Path, key: &SecretKey) -> Result<String, TrustError> {
    let files = PackFiles::Dir(dir);
    if !files.has(LOCK_FILE) {
        lock_pack(dir)?;
    }
    check(&files, &TrustPolicy::default()).map_err(|ps| TrustError::pack(dir, ps))?;
    let lock = files
        .read(LOCK_FILE)
        .map_err(|e| TrustError::pack(dir, vec![e]))?;
    let signature = key.sign(&lock);
    let fp = key.public().fingerprint();
    let text = format!(
        "{SIGNATURE_HEADER}\nkey {fp}\nsignature {}\n",
        STANDARD.encode(signature.to_bytes())
    );
    write_replacing(&dir.join(SIGNATURE_FILE), text.as_bytes())?;
    Ok(fp)
}

/// What `pack verify` found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signer's fingerprint.
    pub signer: String,
    /// The files the lock holds, each checked.
    pub files: usize,
}

/// Verifies the pack at `path` (a directory or a `.twpack` archive): its lock matches every
/// file, and `pack.sig` is a valid signature of the lock by one of `keys`.
pub fn verify_pack(path: &Path, keys: &[PublicKey]) -> Result<Verified, TrustError> {
    let policy = TrustPolicy {
        require_signed: true,
        trusted: keys.to_vec(),
    };
    let verify = |files: &PackFiles<'_>| -> Result<Verified, TrustError> {
        let checked = check(files, &policy).map_err(|ps| TrustError::pack(path, ps))?;
        let lock = files
            .read(LOCK_FILE)
            .map_err(|e| TrustError::pack(path, vec![e]))?;
        let files = std::str::from_utf8(&lock)
            .ok()
            .and_then(|t| PackLock::parse(t).ok())
            .map_or(0, |l| l.entries.len());
        Ok(Verified {
            signer: checked.signer.unwrap_or_default(),
            files,
        })
    };
    if super::archive::is_archive(path) {
        let entries =
            super::archive::read_archive(path).map_err(|e| TrustError::pack(path, vec![e]))?;
        verify(&PackFiles::Archive(&entries))
    } else {
        verify(&PackFiles::Dir(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::keys::keygen;

    fn pack() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pack.toml"),
            "name = \"p\"\nversion = \"1.0.0\"\n[[rules]]\nfile = \"r.rego\"\nkind = \"rego\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("r.rego"), "package x\n").unwrap();
        dir
    }

    fn problems(r: Result<Checked, Vec<String>>) -> Vec<String> {
        r.unwrap_err()
    }

    #[test]
    fn the_lock_is_canonical_sorted_text_of_every_file() {
        let dir = pack();
        let locked = lock_pack(dir.path()).unwrap();
        assert_eq!(locked.files, 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&locked.path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "a lock is shared with the pack");
        }
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let toml_digest = digest(&std::fs::read(dir.path().join("pack.toml")).unwrap());
        assert_eq!(
            text,
            format!(
                "# tracewarden pack lock 1\n{toml_digest}  pack.toml\n{}  r.rego\n",
                digest(b"package x\n")
            )
        );
        assert_eq!(PackLock::parse(&text).unwrap().to_text(), text);
        let swapped = format!(
            "# tracewarden pack lock 1\n{}  r.rego\n{toml_digest}  pack.toml\n",
            digest(b"package x\n")
        );
        assert_eq!(
            PackLock::parse(&swapped).unwrap_err(),
            "`pack.lock` line 3: `pack.toml` is out of order or repeated (files are sorted, each \
             once: write it with `tracewarden pack lock`)"
        );
        assert_eq!(
            PackLock::parse("# tracewarden pack lock 1\nsha256:AB  x\n").unwrap_err(),
            "`pack.lock` line 2: expected `sha256:<64 lowercase hex digits>  <file>`"
        );
    }

    #[test]
    fn a_file_changed_after_locking_is_named_with_both_digests() {
        let dir = pack();
        lock_pack(dir.path()).unwrap();
        std::fs::write(dir.path().join("r.rego"), "package y\n").unwrap();
        assert_eq!(
            problems(check(&PackFiles::Dir(dir.path()), &TrustPolicy::default())),
            vec![format!(
                "`r.rego` was changed after the pack was locked: `pack.lock` says `{}`, the file \
                 is `{}`",
                digest(b"package x\n"),
                digest(b"package y\n")
            )]
        );
    }

    #[test]
    fn a_file_the_lock_lacks_is_named() {
        let dir = pack();
        lock_pack(dir.path()).unwrap();
        std::fs::write(dir.path().join("s.rego"), "package s\n").unwrap();
        let manifest = "name = \"p\"\nversion = \"1.0.0\"\n[[rules]]\nfile = \"r.rego\"\nkind = \
                        \"rego\"\n[[rules]]\nfile = \"s.rego\"\nkind = \"rego\"\n";
        std::fs::write(dir.path().join("pack.toml"), manifest).unwrap();
        let ps = problems(check(&PackFiles::Dir(dir.path()), &TrustPolicy::default()));
        assert_eq!(ps.len(), 2, "{ps:?}");
        assert!(ps[0].starts_with("`pack.toml` was changed after the pack was locked"));
        assert_eq!(
            ps[1],
            "`s.rego` is not in `pack.lock` (lock the pack again with `tracewarden pack lock`)"
        );
    }

    #[test]
    fn signatures_verify_only_with_the_signing_key() {
        let dir = pack();
        let keys = tempfile::tempdir().unwrap();
        let k1 = keygen(&keys.path().join("k1")).unwrap();
        let k2 = keygen(&keys.path().join("k2")).unwrap();
        let s1 = SecretKey::read(&keys.path().join("k1")).unwrap();
        assert_eq!(s1.public(), k1);
        let fp = sign_pack(dir.path(), &s1).unwrap();
        assert_eq!(fp, k1.fingerprint());
        let v = verify_pack(dir.path(), std::slice::from_ref(&k1)).unwrap();
        assert_eq!((v.signer.as_str(), v.files), (fp.as_str(), 2));
        let err = verify_pack(dir.path(), std::slice::from_ref(&k2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "pack `{}`:\n  - `pack.sig` is signed by key {fp}, which is not trusted \
                 (trusted: {})",
                dir.path().display(),
                k2.fingerprint()
            )
        );
        // A lock edited to match a changed file: the digests agree, the signature does not.
        std::fs::write(dir.path().join("r.rego"), "package y\n").unwrap();
        std::fs::remove_file(dir.path().join(LOCK_FILE)).unwrap();
        lock_pack(dir.path()).unwrap();
        let err = verify_pack(dir.path(), &[k1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "pack `{}`:\n  - `pack.sig` is a bad signature by key {fp}: `pack.lock` is not \
                 what the key signed",
                dir.path().display()
            )
        );
    }

    #[test]
    fn signing_refuses_a_stale_lock_instead_of_blessing_it() {
        let dir = pack();
        let keys = tempfile::tempdir().unwrap();
        keygen(&keys.path().join("k")).unwrap();
        let key = SecretKey::read(&keys.path().join("k")).unwrap();
        lock_pack(dir.path()).unwrap();
        std::fs::write(dir.path().join("r.rego"), "package y\n").unwrap();
        assert_eq!(
            sign_pack(dir.path(), &key).unwrap_err().to_string(),
            format!(
                "pack `{}`:\n  - `r.rego` was changed after the pack was locked: `pack.lock` \
                 says `{}`, the file is `{}`",
                dir.path().display(),
                digest(b"package x\n"),
                digest(b"package y\n")
            )
        );
        assert!(!dir.path().join(SIGNATURE_FILE).exists());
    }

    #[test]
    fn an_unsigned_pack_is_refused_when_signatures_are_required() {
        let dir = pack();
        let policy = TrustPolicy {
            require_signed: true,
            trusted: Vec::new(),
        };
        assert_eq!(
            problems(check(&PackFiles::Dir(dir.path()), &policy)),
            vec![
                "the pack is unsigned: it has no `pack.lock` and no `pack.sig` (sign it with \
                 `tracewarden pack sign PACK --key KEY`)"
                    .to_owned()
            ]
        );
        lock_pack(dir.path()).unwrap();
        assert_eq!(
            problems(check(&PackFiles::Dir(dir.path()), &policy)),
            vec![
                "the pack is unsigned: it has no `pack.sig` (sign it with `tracewarden pack sign \
                 PACK --key KEY`)"
                    .to_owned()
            ]
        );
    }
}
