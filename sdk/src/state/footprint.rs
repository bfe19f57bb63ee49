//! How much memory a value of a rule's state holds, estimated: what a budget of
//! [`super::LruMap`] and [`super::WindowMap`] is measured in.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::mem::size_of;

use crate::{Evidence, Site};

/// The approximate memory a value holds: its inline size plus what it owns on the heap.
///
/// Implemented for the usual building blocks; implement it for your own types by summing their
/// fields:
///
/// ```
/// use tracewarden_sdk::state::Footprint;
/// struct Read { table: String, time_ns: i64 }
/// impl Footprint for Read {
///     fn footprint(&self) -> usize {
///         self.table.footprint() + self.time_ns.footprint()
///     }
/// }
/// let read = Read { table: String::from("orders"), time_ns: 0 };
/// assert_eq!(read.footprint(), size_of::<String>() + read.table.capacity() + 8);
/// ```
pub trait Footprint {
    /// Bytes held: inline size plus owned heap memory.
    fn footprint(&self) -> usize;
}

macro_rules! inline_footprint {
    ($($t:ty),*) => {$(
        impl Footprint for $t {
            fn footprint(&self) -> usize {
                size_of::<$t>()
            }
        }
    )*};
}

inline_footprint!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64
);

impl Footprint for String {
    fn footprint(&self) -> usize {
        size_of::<String>() + self.capacity()
    }
}

impl<T: Footprint> Footprint for Option<T> {
    fn footprint(&self) -> usize {
        match self {
            Some(v) => size_of::<Option<T>>() - size_of::<T>() + v.footprint(),
            None => size_of::<Option<T>>(),
        }
    }
}

impl<T: Footprint> Footprint for Box<T> {
    fn footprint(&self) -> usize {
        size_of::<Box<T>>() + (**self).footprint()
    }
}

impl<T: Footprint> Footprint for Vec<T> {
    fn footprint(&self) -> usize {
        let spare = self.capacity().saturating_sub(self.len()) * size_of::<T>();
        size_of::<Vec<T>>() + spare + self.iter().map(Footprint::footprint).sum::<usize>()
    }
}

impl<T: Footprint> Footprint for VecDeque<T> {
    fn footprint(&self) -> usize {
        let spare = self.capacity().saturating_sub(self.len()) * size_of::<T>();
        size_of::<VecDeque<T>>() + spare + self.iter().map(Footprint::footprint).sum::<usize>()
    }
}

impl<T: Footprint> Footprint for BTreeSet<T> {
    /// Elements plus a B-tree's node share per element (about a pointer's worth).
    fn footprint(&self) -> usize {
        size_of::<BTreeSet<T>>()
            + self
                .iter()
                .map(|v| v.footprint() + size_of::<usize>())
                .sum::<usize>()
    }
}

impl<K: Footprint, V: Footprint> Footprint for BTreeMap<K, V> {
    /// Entries plus a B-tree's node share per entry (about a pointer's worth).
    fn footprint(&self) -> usize {
        size_of::<BTreeMap<K, V>>()
            + self
                .iter()
                .map(|(k, v)| k.footprint() + v.footprint() + size_of::<usize>())
                .sum::<usize>()
    }
}

impl<A: Footprint, B: Footprint> Footprint for (A, B) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint()
    }
}

impl<A: Footprint, B: Footprint, C: Footprint> Footprint for (A, B, C) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint() + self.2.footprint()
    }
}

impl<A: Footprint, B: Footprint, C: Footprint, D: Footprint> Footprint for (A, B, C, D) {
    fn footprint(&self) -> usize {
        self.0.footprint() + self.1.footprint() + self.2.footprint() + self.3.footprint()
    }
}

impl Footprint for Evidence {
    fn footprint(&self) -> usize {
        self.event_id.footprint()
            + self.role.footprint()
            + self.source.footprint()
            + self.time_ns.footprint()
    }
}

impl Footprint for Site {
    fn footprint(&self) -> usize {
        self.method.footprint()
            + self.route.footprint()
            + self.table.footprint()
            + self.operation.footprint()
    }
}
