//! Credentials seen in inputs. Key material (API keys, bearer tokens, cookies, passwords) is never
//! stored: it becomes a stable key id, `hk:` and the first 16 hex digits of its SHA-256, so uses
//! of one key can be linked across inputs without keeping the secret.

use sha2::{Digest, Sha256};

/// The prefix of key ids derived from key material.
pub(super) const HASHED_KEY_PREFIX: &str = "hk:";

/// The stable key id of `material`: `hk:` + the first 16 hex digits of its SHA-256.
pub(super) fn key_id_of(material: &str) -> String {
    let digest = Sha256::digest(material.as_bytes());
    let mut id = String::with_capacity(HASHED_KEY_PREFIX.len() + 16);
    id.push_str(HASHED_KEY_PREFIX);
    for b in digest.iter().take(8) {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The key id for a full SHA-256 hex digest of key material (as a key inventory may list it),
/// matching [`key_id_of`] of the material; `None` if `hex` is not 64 hex digits.
pub(super) fn key_id_of_digest(hex: &str) -> Option<String> {
    let hex = hex.trim();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
        format!(
            "{HASHED_KEY_PREFIX}{}",
            hex.get(..16).unwrap_or_default().to_ascii_lowercase()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_hide_the_material_and_match_digests() {
        let id = key_id_of("sk_live_0123456789");
        assert_eq!(id.len(), 19);
        assert!(id.starts_with("hk:") && !id.contains("sk_live"));
        let full: String = Sha256::digest(b"sk_live_0123456789")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(key_id_of_digest(&full), Some(id));
        assert_eq!(key_id_of_digest("abc"), None);
    }
}
