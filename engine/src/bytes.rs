//! The compact record format of what the engine spills to its own temporary files and reads
//! back: events in the sorter's runs (`ingest::sort::codec`) and findings past their memory
//! budget (`finding::spill`). Written and read by one process, never kept or exchanged, so it has
//! no version and no field names.
//!
//! Integers are LEB128 varints (signed ones zigzagged), strings a length then UTF-8 bytes,
//! options and enums one byte, lists and maps a count then their items. A run on disk is a
//! sequence of records, each a length then its bytes ([`write_record`], [`read_record`]). Each
//! codec takes its structs apart whole (no `..`), so a field added to one fails to compile there
//! instead of being lost in a spill.

use std::io::{self, Read, Write};

/// Why a record could not be read back: its temporary file was damaged. What was being read
/// (`events`, `findings`) is added by [`Damaged::of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Damaged(pub(crate) &'static str);

impl Damaged {
    /// The I/O error a reader of spilled `what` (`events`) reports.
    pub(crate) fn of(self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a spilled run of {what} is damaged: {}", self.0),
        )
    }
}

/// `n` as a LEB128 varint: its bytes (at most 10), without allocating.
fn varint(mut n: u64, out: &mut [u8; 10]) -> &[u8] {
    let mut used = 0;
    for slot in out.iter_mut() {
        used += 1;
        if n < 0x80 {
            *slot = n as u8;
            break;
        }
        *slot = (n as u8) | 0x80;
        n >>= 7;
    }
    out.get(..used).unwrap_or_default()
}

/// Writes one record of a run: its length, then `bytes`. Nothing is allocated: the sorter writes
/// one record per event it spills.
pub(crate) fn write_record(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(varint(bytes.len() as u64, &mut [0; 10]))?;
    w.write_all(bytes)
}

/// Reads the next record of a run into `buf`; `None` at the run's end. `what` names the run's
/// records in the error of a damaged length.
pub(crate) fn read_record(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    what: &str,
) -> io::Result<Option<()>> {
    let mut len = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return if shift == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let [b] = b;
        len |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            buf.clear();
            r.take(len).read_to_end(buf)?;
            if buf.len() as u64 != len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            return Ok(Some(()));
        }
    }
    Err(Damaged("a length too long").of(what))
}

/// Encodes into a record.
pub(crate) struct Writer<'a>(pub(crate) &'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn uint(&mut self, n: u64) {
        self.0.extend_from_slice(varint(n, &mut [0; 10]));
    }

    pub(crate) fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    pub(crate) fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn strs<S: AsRef<str>>(&mut self, list: &[S]) {
        self.list(list, |w, s| w.str(s.as_ref()));
    }

    pub(crate) fn opt_uint(&mut self, n: Option<u64>) {
        self.opt(n, Writer::uint);
    }

    /// An option: a tag, then the value written by `put` when there is one.
    pub(crate) fn opt<T>(&mut self, v: Option<T>, put: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.byte(0),
            Some(v) => {
                self.byte(1);
                put(self, v);
            }
        }
    }

    /// A list: its length, then each item written by `put`.
    pub(crate) fn list<T>(&mut self, list: &[T], mut put: impl FnMut(&mut Self, &T)) {
        self.uint(list.len() as u64);
        for item in list {
            put(self, item);
        }
    }
}

/// Decodes a record, front to back.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn byte(&mut self) -> Result<u8, Damaged> {
        let (&b, rest) = self.0.split_first().ok_or(Damaged("cut short"))?;
        self.0 = rest;
        Ok(b)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, Damaged> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(Damaged("an integer too long"))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Damaged> {
        u32::try_from(self.uint()?).map_err(|_| Damaged("an integer out of range"))
    }

    pub(crate) fn int(&mut self) -> Result<i64, Damaged> {
        let n = self.uint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, Damaged> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Damaged("a flag neither 0 nor 1")),
        }
    }

    pub(crate) fn len(&mut self) -> Result<usize, Damaged> {
        let n = usize::try_from(self.uint()?).map_err(|_| Damaged("a length out of range"))?;
        // Every item takes at least one byte: a count larger than what is left is damage, not
        // a reason to reserve memory.
        if n > self.0.len() {
            return Err(Damaged("a length past the record's end"));
        }
        Ok(n)
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, Damaged> {
        let n = self.len()?;
        let (bytes, rest) = self.0.split_at_checked(n).ok_or(Damaged("cut short"))?;
        self.0 = rest;
        std::str::from_utf8(bytes).map_err(|_| Damaged("a string not UTF-8"))
    }

    pub(crate) fn string<S: From<&'a str>>(&mut self) -> Result<S, Damaged> {
        self.str().map(S::from)
    }

    pub(crate) fn strs<S: From<&'a str>>(&mut self) -> Result<Vec<S>, Damaged> {
        self.list(Reader::string)
    }

    pub(crate) fn opt_uint(&mut self) -> Result<Option<u64>, Damaged> {
        self.opt(Reader::uint)
    }

    /// What [`Writer::opt`] wrote, the value read by `get`.
    pub(crate) fn opt<T>(
        &mut self,
        get: impl FnOnce(&mut Self) -> Result<T, Damaged>,
    ) -> Result<Option<T>, Damaged> {
        match self.byte()? {
            0 => Ok(None),
            1 => get(self).map(Some),
            _ => Err(Damaged("an option tag neither 0 nor 1")),
        }
    }

    /// What [`Writer::list`] wrote, each item read by `get`.
    pub(crate) fn list<T>(
        &mut self,
        mut get: impl FnMut(&mut Self) -> Result<T, Damaged>,
    ) -> Result<Vec<T>, Damaged> {
        let n = self.len()?;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            list.push(get(self)?);
        }
        Ok(list)
    }

    /// Checks that the whole record was read.
    pub(crate) fn end(&self) -> Result<(), Damaged> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Damaged("bytes after a record"))
        }
    }
}

/// Codes of a closed set, both ways: `$code` gives a variant's byte and `$of` reads one back.
/// Each table lists every variant once, so a variant added to the set fails to compile in the
/// `match` of its `$code` function.
macro_rules! codes {
    ($ty:ident, $code:ident, $of:ident, $what:literal, [$($variant:ident = $n:literal),+ $(,)?]) => {
        fn $code(v: $ty) -> u8 {
            match v {
                $($ty::$variant => $n,)+
            }
        }

        fn $of(n: u8) -> Result<$ty, $crate::bytes::Damaged> {
            match n {
                $($n => Ok($ty::$variant),)+
                _ => Err($crate::bytes::Damaged(concat!("an unknown ", $what))),
            }
        }
    };
}

pub(crate) use codes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_damaged_length_is_named() {
        let mut run = Vec::new();
        let mut record = Vec::new();
        let mut w = Writer(&mut record);
        w.int(-3);
        w.str("é");
        w.opt(Some(7u64), Writer::uint);
        w.list(&[1u64, 300], |w, n| w.uint(*n));
        write_record(&mut run, &record).unwrap();
        write_record(&mut run, b"").unwrap();
        let mut input = run.as_slice();
        let mut buf = Vec::new();
        assert_eq!(
            read_record(&mut input, &mut buf, "tests").unwrap(),
            Some(())
        );
        let mut r = Reader(&buf);
        assert_eq!(r.int(), Ok(-3));
        assert_eq!(r.str(), Ok("é"));
        assert_eq!(r.opt(Reader::uint), Ok(Some(7)));
        assert_eq!(r.list(Reader::uint), Ok(vec![1, 300]));
        assert_eq!(r.end(), Ok(()));
        assert_eq!(
            read_record(&mut input, &mut buf, "tests").unwrap(),
            Some(())
        );
        assert!(buf.is_empty());
        assert_eq!(read_record(&mut input, &mut buf, "tests").unwrap(), None);

        let long = [0xffu8; 11];
        let err = read_record(&mut &long[..], &mut buf, "tests").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a spilled run of tests is damaged: a length too long"
        );
        let cut = [5u8, b'a'];
        let err = read_record(&mut &cut[..], &mut buf, "tests").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            Reader(&[2, b'a']).str(),
            Err(Damaged("a length past the record's end"))
        );
        assert_eq!(
            Reader(&[2]).opt(Reader::uint),
            Err(Damaged("an option tag neither 0 nor 1"))
        );
    }
}
