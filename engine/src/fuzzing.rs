//! Entry points for the fuzz targets of `fuzz/` (feature `fuzzing`); not a stable API.
//!
//! The readers are fuzzed the way a scan reads them, through [`crate::ingest::open`] on a file;
//! what a file cannot reach directly (format detection alone, the DynamoDB request decoder, the
//! WASM batch encoder) is reached here.
//!
//! The batch encoder (`rules/wasm/batch.rs`) is compiled here a second time, against the SDK's
//! bindings instead of wasmtime's: both are generated from `wit/rule.wit`, with the same names and
//! shapes, so a fuzz target encodes events as the host does and decodes them as a guest does
//! without building wasmtime. The host's path is the same source, unchanged.

// With the `rules` feature too (the workspace's lint run), the host compiles the same file as
// `rules::wasm::batch`: deliberate, as above.
#[allow(clippy::duplicate_mod)]
#[path = "rules/wasm/batch.rs"]
mod batch;

/// What `batch.rs` reads as `super::bindings`: the SDK's generated types of `wit/rule.wit`.
mod bindings {
    pub use tracewarden_sdk::bindings::tracewarden;
}

use crate::event::Event;

pub use crate::ingest::fuzzing::{decode_dynamodb, detect_format};
/// A batch of events as a guest receives it.
pub use tracewarden_sdk::bindings::tracewarden::rule::types::Batch;

/// The host's batch encoder; like the host's, one encoder is reused batch after batch.
#[derive(Default)]
pub struct BatchEncoder(batch::BatchEncoder);

impl BatchEncoder {
    /// Encodes `events` as the WASM host does before `on-events`; `None` when the batch's strings
    /// exceed the wire's u32 offsets.
    pub fn encode(&mut self, events: &[Event]) -> Option<&Batch> {
        self.0.encode(events).ok()
    }

    /// Encodes `events` into a batch of its own, as the host does for a slice of events that
    /// several components share; `None` as [`BatchEncoder::encode`].
    pub fn encode_shared(events: &[Event]) -> Option<Batch> {
        batch::BatchEncoder::encode_shared(events).ok()
    }

    /// `batch` packed as the host sends it to `on-packed-events` (contract 1.2).
    pub fn pack(batch: &Batch) -> Vec<u8> {
        batch::packed(batch)
    }

    /// The events of `batch` at `picks` packed with the batch's tables, as the host sends part of
    /// a shared batch to a component that wants only those events (contract 1.2).
    pub fn pack_part(batch: &Batch, picks: &[usize]) -> Vec<u8> {
        let mut bytes = Vec::new();
        batch::pack_part(batch, picks, &mut bytes);
        bytes
    }
}
