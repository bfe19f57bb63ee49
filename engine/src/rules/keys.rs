//! Signing keys of rule packs: ed25519 key pairs in small labelled text files (`pack keygen`),
//! read back with an error that says what a wrong file is. `trust.rs` signs and verifies with
//! them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use super::trust::TrustError;

const SECRET_HEADER: &str = "tracewarden ed25519 secret key 1";
const PUBLIC_HEADER: &str = "tracewarden ed25519 public key 1";

/// An ed25519 public key: verifies pack signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// An ed25519 secret key: signs packs.
pub struct SecretKey(SigningKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public().fingerprint())
    }
}

impl PublicKey {
    /// The key's fingerprint, `SHA256:` and the unpadded base64 of the SHA-256 of its 32 bytes
    /// (as OpenSSH prints fingerprints).
    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.as_bytes())
    }

    /// Reads a public key file (`KEY.pub` as `pack keygen` writes it).
    pub fn read(path: &Path) -> Result<PublicKey, TrustError> {
        let bytes = read_key_file(path)?;
        let key = decode_key(path, &bytes, PUBLIC_HEADER, "public")?;
        VerifyingKey::from_bytes(&key)
            .map(PublicKey)
            .map_err(|_| TrustError::BadKey {
                path: path.to_owned(),
                problem: "is not a valid ed25519 public key (the point is not on the curve)"
                    .to_owned(),
            })
    }

    /// The key file's text.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_HEADER}\n{}\n", STANDARD.encode(self.0.as_bytes()))
    }

    /// Whether `signature` is this key's signature of `message` (strict: no malleable or
    /// small-order forms).
    pub(super) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, signature).is_ok()
    }
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, TrustError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| TrustError::NoRandom(e.to_string()))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// Reads a secret key file (`KEY` as `pack keygen` writes it).
    pub fn read(path: &Path) -> Result<SecretKey, TrustError> {
        let bytes = read_key_file(path)?;
        let seed = decode_key(path, &bytes, SECRET_HEADER, "secret")?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// This key's signature of `message`.
    pub(super) fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }

    fn to_text(&self) -> String {
        format!("{SECRET_HEADER}\n{}\n", STANDARD.encode(self.0.to_bytes()))
    }
}

fn fingerprint(key: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(key)))
}

/// Key files are a few dozen bytes; anything much larger is not one.
const MAX_KEY_FILE_BYTES: u64 = 4096;

fn read_key_file(path: &Path) -> Result<Vec<u8>, TrustError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|source| TrustError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(bytes)
}

/// The 32 key bytes of a key file: a header line naming the kind, then the base64 of the bytes.
fn decode_key(path: &Path, bytes: &[u8], header: &str, kind: &str) -> Result<[u8; 32], TrustError> {
    let bad = |problem: String| TrustError::BadKey {
        path: path.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| bad(format!("is not a tracewarden {kind} key: expected text")))?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    if first != header {
        let other = if kind == "public" {
            (first == SECRET_HEADER).then_some(
                "is a secret key: give the public key (`KEY.pub`, written beside it by `pack keygen`)",
            )
        } else {
            (first == PUBLIC_HEADER)
                .then_some("is a public key: signing needs the secret key (`KEY`, without `.pub`)")
        };
        return Err(bad(other.map_or_else(
            || format!("is not a tracewarden {kind} key: expected the first line `{header}`"),
            str::to_owned,
        )));
    }
    let body = lines.next().unwrap_or_default().trim();
    let rest_empty = lines.all(|l| l.trim().is_empty());
    STANDARD
        .decode(body)
        .ok()
        .filter(|_| rest_empty)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            bad(format!(
                "is damaged: expected one line of base64 holding 32 bytes after `{header}`"
            ))
        })
}

/// Writes a new key pair: the secret key to `out` (mode 0600 on Unix) and the public key to
/// `out.pub`. Neither file may exist already.
pub fn keygen(out: &Path) -> Result<PublicKey, TrustError> {
    let public_path = public_key_path(out);
    for p in [out, public_path.as_path()] {
        if p.symlink_metadata().is_ok() {
            return Err(TrustError::KeyExists(p.to_owned()));
        }
    }
    let secret = SecretKey::generate()?;
    write_new(out, secret.to_text().as_bytes(), 0o600)?;
    let public = secret.public();
    write_new(&public_path, public.to_text().as_bytes(), 0o644)?;
    Ok(public)
}

/// `KEY.pub` beside `KEY`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TrustError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| TrustError::Write {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_say_what_they_are() {
        let keys = tempfile::tempdir().unwrap();
        let secret = keys.path().join("k");
        keygen(&secret).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let public = public_key_path(&secret);
        assert_eq!(
            PublicKey::read(&secret).unwrap_err().to_string(),
            format!(
                "`{}`: is a secret key: give the public key (`KEY.pub`, written beside it by \
                 `pack keygen`)",
                secret.display()
            )
        );
        assert_eq!(
            SecretKey::read(&public).unwrap_err().to_string(),
            format!(
                "`{}`: is a public key: signing needs the secret key (`KEY`, without `.pub`)",
                public.display()
            )
        );
        let other = keys.path().join("pack.toml");
        std::fs::write(&other, "name = \"x\"\n").unwrap();
        assert_eq!(
            PublicKey::read(&other).unwrap_err().to_string(),
            format!(
                "`{}`: is not a tracewarden public key: expected the first line `tracewarden \
                 ed25519 public key 1`",
                other.display()
            )
        );
        std::fs::write(&other, format!("{PUBLIC_HEADER}\nAAAA\n")).unwrap();
        assert_eq!(
            PublicKey::read(&other).unwrap_err().to_string(),
            format!(
                "`{}`: is damaged: expected one line of base64 holding 32 bytes after \
                 `tracewarden ed25519 public key 1`",
                other.display()
            )
        );
        assert_eq!(
            keygen(&secret).unwrap_err().to_string(),
            format!(
                "`{}` already exists: a key is never overwritten (remove it or choose another \
                 name)",
                secret.display()
            )
        );
    }
}
