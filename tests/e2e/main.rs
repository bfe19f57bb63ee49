//! End-to-end tests: the real `tracewarden` binary against the fixtures in `tests/fixtures` and
//! the bundled example.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a failed test"
)]

mod bad_input;
mod baseline;
mod bola;
mod cache;
mod cli;
mod common;
mod contract;
mod determinism;
mod dialects;
mod docs_express;
mod formats;
mod hostile;
mod html;
mod inputs;
mod keys;
mod locations;
mod ocsf;
mod pack_trust;
mod packs;
mod properties;
mod python;
mod regressions;
mod sandbox;
mod sarif;
mod scaffold;
mod scan;
mod schema;
mod terminal;
mod toctou;
