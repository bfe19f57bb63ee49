//! Host bindings generated from `wit/rule.wit`. Never part of the public API.
//!
//! Generated for the `rule-base` world (the exports of contract 1.0) so that a component built
//! for any 1.x instantiates; exports added since are looked up one by one (`mod.rs`).

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tracewarden:rule/rule-base",
});
