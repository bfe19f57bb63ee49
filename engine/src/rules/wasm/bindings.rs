//! Host bindings generated from `wit/rule.wit`. Never part of the public API.

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tracewarden:rule/rule",
});
