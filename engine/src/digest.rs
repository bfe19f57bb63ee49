//! 64-bit digests of values made of strings, for the stages that remember millions of values by
//! what they are rather than by their text: the correlation index, the stream's released ids and
//! the ownership model. A digest costs no allocation and eight bytes to keep.
//!
//! Two distinct values share a digest with a probability of about n²/2⁶⁵ among n values held at
//! once (~3·10⁻⁸ for a million). Each user says what such a collision would do; none can hide
//! an input record.

use std::hash::{BuildHasher, Hasher};

/// One fixed seed: digests are the same from run to run and machine to machine.
const SEED: u64 = 0x7477_636f_7272_656c;

/// A digest built part by part.
pub(crate) struct Digest(foldhash::quality::FoldHasher<'static>);

impl Digest {
    /// A digest of nothing yet.
    pub(crate) fn new() -> Digest {
        Digest(foldhash::quality::FixedState::with_seed(SEED).build_hasher())
    }

    /// A digest continuing from `prefix` (a digest of the value's first parts).
    pub(crate) fn after(prefix: u64) -> Digest {
        let mut d = Digest::new();
        d.0.write_u64(prefix);
        d
    }

    /// Adds a part. Each part ends in 0xff, a byte UTF-8 never holds, so parts cannot run into
    /// each other (`ab`,`c` is not `a`,`bc`).
    pub(crate) fn part(&mut self, part: &str) -> &mut Digest {
        self.0.write(part.as_bytes());
        self.0.write_u8(0xff);
        self
    }

    /// Adds a number.
    pub(crate) fn number(&mut self, n: u64) -> &mut Digest {
        self.0.write_u64(n);
        self
    }

    /// The digest.
    pub(crate) fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The digest of a value made of `parts`.
pub(crate) fn of<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut d = Digest::new();
    for part in parts {
        d.part(part);
    }
    d.finish()
}

/// `bytes` in lower-case hex, appended to `out` (what `format!("{b:02x}")` per byte writes, without
/// a formatter call and a string per byte: finding fingerprints take one per finding).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    // A nibble is always a hex digit; `from_digit` writes `a`-`f` in lower case.
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
}

/// `bytes` in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_do_not_run_into_each_other() {
        assert_ne!(of(["ab", "c"]), of(["a", "bc"]));
        assert_ne!(of(["abc"]), of(["abc", ""]));
        assert_eq!(of(["a", "b"]), of(["a", "b"]));
    }

    #[test]
    fn a_prefix_digest_continues() {
        let prefix = of(["alice", "t1"]);
        let mut a = Digest::after(prefix);
        let mut b = Digest::after(prefix);
        assert_eq!(a.part("o-1").finish(), b.part("o-1").finish());
        assert_ne!(
            Digest::after(prefix).part("o-1").finish(),
            Digest::after(of(["alice", "t2"])).part("o-1").finish()
        );
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff, 0x7e]), "000fa0ff7e");
        assert_eq!(super::hex(&[]), "");
        let mut s = String::from("hk:");
        super::push_hex(&mut s, &[1, 0xab]);
        assert_eq!(s, "hk:01ab");
    }
}
