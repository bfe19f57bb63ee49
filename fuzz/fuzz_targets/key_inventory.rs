//! The `key_inventory` reader, forced (`--input-format key_inventory`): every record accounted for, errors naming the
//! file, strict mode stopping at the first malformed record, and the events surviving
//! `normalize` → events input unchanged ([`tracewarden_fuzz::check_reader`]).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracewarden::InputFormat;

fuzz_target!(|data: &[u8]| {
    tracewarden_fuzz::check_reader(data, Some(InputFormat::KeyInventory));
});
