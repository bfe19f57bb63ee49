//! The WASM batch round trip: events read from any input (detected) and enriched, encoded by the
//! host's encoder (`engine/src/rules/wasm/batch.rs`) into two consecutive batches of one encoder,
//! as the host sends them, and into one batch of its own (as the host encodes a slice several
//! components share; packed whole, and in part as a component that wants some of it is sent
//! it), and decoded by the SDK (`sdk/src/event.rs`) as a rule reads them, are
//! the engine's events field by field; the string table holds each string once. Each batch
//! packed as the host sends it to `on-packed-events` reads back (`sdk/src/packed.rs`) the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracewarden::Event;
use tracewarden::enrich::{Enricher, OwnershipSettings};
use tracewarden::fuzzing::BatchEncoder;

fuzz_target!(|data: &[u8]| {
    let read = tracewarden_fuzz::read_bytes(data, None);
    let settings = OwnershipSettings::default();
    let mut enricher = Enricher::new(&settings);
    let events: Vec<Event> = read
        .events
        .into_iter()
        .map(|mut e| {
            enricher.enrich(&mut e);
            e
        })
        .collect();
    let split = data.len() % (events.len() + 1);
    let (first, second) = events.split_at(split);
    let mut encoder = BatchEncoder::default();
    for batch in [first, second] {
        let encoded = encoder
            .encode(batch)
            .expect("a fuzz input's batch fits the wire");
        tracewarden_fuzz::assert_batch(encoded, batch);
        let unpacked = tracewarden_sdk::packed::unpack(&BatchEncoder::pack(encoded))
            .expect("the host's packed batch reads back");
        tracewarden_fuzz::assert_batch(&unpacked, batch);
    }
    let shared = BatchEncoder::encode_shared(&events).expect("a fuzz input's batch fits the wire");
    tracewarden_fuzz::assert_batch(&shared, &events);
    // Part of the shared batch, as a component that wants some of a slice is sent it: the events
    // at the places whose input byte is odd, with the whole batch's tables.
    let picks: Vec<usize> = (0..events.len())
        .filter(|&i| data.get(i).is_some_and(|b| b & 1 == 1))
        .collect();
    let picked: Vec<Event> = picks
        .iter()
        .filter_map(|&i| events.get(i).cloned())
        .collect();
    let part = tracewarden_sdk::packed::unpack(&BatchEncoder::pack_part(&shared, &picks))
        .expect("part of a shared batch reads back");
    tracewarden_fuzz::assert_batch(&part, &picked);
});
