//! Write tracewarden detection rules in Rust.
//!
//! A rule is a type implementing [`Rule`]; [`export_rule!`] turns it into a WebAssembly component
//! implementing the `tracewarden:rule` world (see `wit/rule.wit`). The SDK hides the wire format:
//! events arrive as borrowed [`Event`] views (no allocation per event), findings leave through
//! [`Findings`]. The same rule compiles natively, so its logic is unit-tested with `cargo test` and
//! the [`testing`] helpers.
//!
//! Beyond the contract, the SDK carries what rules kept rewriting: bounded keyed state that
//! reports its evictions to the host ([`state`]), accessors on events ([`Event::principal`],
//! [`Event::item`], [`Event::resource`], [`Event::request_key`], ...), findings built from the
//! rule's metadata ([`RuleMeta::finding_on`]) and typed options ([`Config::value`]).
//! `docs/writing-rules.md` walks through a pack from `tracewarden rules new` to a signed archive.
//!
//! ```
//! use tracewarden_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Unconditional;
//!
//! const META: RuleMeta = RuleMeta {
//!     id: "EX-001",
//!     title: "Unconditional DynamoDB write",
//!     kinds: &[EventKind::DbOperation],
//!     operations: &["PutItem"],
//!     ..RuleMeta::DEFAULT
//! };
//!
//! impl Rule for Unconditional {
//!     fn rules() -> Vec<RuleMeta> {
//!         vec![META]
//!     }
//!     fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
//!         if let Some(db) = event.db() {
//!             if !db.has_condition {
//!                 out.push(Finding::new(META.id, "write without a condition").evidence(event, "use"));
//!             }
//!         }
//!     }
//! }
//!
//! let findings = tracewarden_sdk::testing::run::<Unconditional>(&[
//!     EventBuilder::db("PutItem", "orders").key("id", "1").build(),
//! ]);
//! assert_eq!(findings.len(), 1);
//! ```

extern crate self as tracewarden_sdk;

/// Contract 1.2's packed batches (`on-packed-events`), read back into wire tables. Not part of
/// the SDK's stable surface.
#[doc(hidden)]
pub mod collections;
mod config;
mod event;
mod finding;
mod meta;
pub mod packed;
pub mod state;
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use config::{Config, OptionType, OptionValue};
pub use event::{
    Actor, AuthDecision, Correlation, DbOperation, Detail, Event, Facts, Http, KeyFact,
    KeyLifecycle, ObjectFact, Objects, Pairs, SourceRef,
};
pub use finding::{Evidence, Finding, Findings, KEPT_OCCURRENCES, Site};
pub use meta::RuleMeta;
pub use state::{Footprint, LruMap, SeenSet, StateUsage, WindowMap};
pub use testing::EventBuilder;

/// The generated bindings of `wit/rule.wit`. Not part of the SDK's stable surface: use the types
/// re-exported at the crate root.
#[doc(hidden)]
#[allow(missing_docs, clippy::all, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "tracewarden:rule/rule-packed",
        pub_export_macro: true,
        export_macro_name: "__export_world",
        default_bindings_module: "::tracewarden_sdk::bindings",
        runtime_path: "::tracewarden_sdk::__private::wit_bindgen::rt",
        additional_derives: [Hash],
        additional_derives_ignore: ["config-value", "config-entry"],
    });
}

/// The contract this SDK builds components for: a host of the same major version whose minor is
/// not older loads them (`docs/architecture.md`, "Contract 1.0").
pub const CONTRACT: &str = "tracewarden:rule@1.2.0";

/// A finding's confidence.
pub use bindings::tracewarden::rule::types::Confidence;
/// What an event records.
pub use bindings::tracewarden::rule::types::EventKind;
/// A fact of the enrichment stage a rule needs (`RuleMeta::requires`).
pub use bindings::tracewarden::rule::types::FactNeed;
/// What a rule's findings say: incidents (one finding each) or weaknesses (folded by site).
pub use bindings::tracewarden::rule::types::FindingClass;
/// What happened to a credential.
pub use bindings::tracewarden::rule::types::KeyAction;
/// A key's status in the engine's lifecycle ledger.
pub use bindings::tracewarden::rule::types::KeyStatus;
/// How a correlated event was linked to its request.
pub use bindings::tracewarden::rule::types::LinkMethod;
/// How an operation ended.
pub use bindings::tracewarden::rule::types::Outcome;
/// How the engine learnt an object's owner.
pub use bindings::tracewarden::rule::types::OwnerSource;
/// How the host may split a rule's event stream.
pub use bindings::tracewarden::rule::types::Partitioning;
/// The actor of an event against an object's owner.
pub use bindings::tracewarden::rule::types::Relation;
/// A finding's severity.
pub use bindings::tracewarden::rule::types::Severity;

/// A detection rule (or several rules of one pack sharing one component).
///
/// One value of the type lives for a whole scan: it sees every event it subscribed to, in time order,
/// then `finish`. State kept in `self` is the rule's own.
pub trait Rule: Default {
    /// Metadata of the rules this type reports under. Findings must use one of these ids.
    fn rules() -> Vec<RuleMeta>;

    /// Takes the pack's options, once, before the first event (the options the pack declares in
    /// `pack.toml`'s `[config]`, with the user's overrides). An error names the option and what
    /// was expected; the host then refuses the pack. Options not given keep the rule's defaults.
    fn configure(&mut self, config: &Config) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Called once per event, in time order.
    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings);

    /// Called once after the last event: report what is still pending.
    fn finish(&mut self, out: &mut Findings) {
        let _ = out;
    }

    /// What the rule's bounded state held and evicted, asked once after [`Rule::finish`]: list
    /// the [`LruMap::usage`] / [`WindowMap::usage`] of each map that has a budget. The host
    /// lowers the coverage of a rule whose state evicted entries and says how many, so a
    /// detection lost to the budget is never silent.
    fn state(&self) -> Vec<StateUsage> {
        Vec::new()
    }
}

/// Common imports for rule authors.
pub mod prelude {
    pub use crate::{
        Confidence, Config, DbOperation, Detail, Event, EventBuilder, EventKind, Evidence,
        FactNeed, Finding, FindingClass, Findings, Footprint, KeyAction, KeyFact, KeyStatus,
        LinkMethod, LruMap, ObjectFact, Outcome, OwnerSource, Partitioning, Relation, Rule,
        RuleMeta, SeenSet, Severity, Site, StateUsage, WindowMap,
    };
}

/// Exports a [`Rule`] type as the component's implementation of the `tracewarden:rule` world.
///
/// Use it once per rule crate, whose `crate-type` includes `cdylib`; build with
/// `cargo build --target wasm32-wasip2 --release`. On other targets it expands to nothing, so the
/// crate still builds and tests natively.
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __TracewardenExport;

            ::std::thread_local! {
                static __STATE: ::std::cell::RefCell<::std::option::Option<$rule>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            impl $crate::bindings::Guest for __TracewardenExport {
                fn rules() -> ::std::vec::Vec<$crate::bindings::RuleInfo> {
                    $crate::__private::rules::<$rule>()
                }
                fn configure(
                    options: ::std::vec::Vec<$crate::bindings::ConfigEntry>,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    __STATE.with(|state| $crate::__private::configure::<$rule>(state, options))
                }
                fn on_events(
                    batch: $crate::bindings::Batch,
                ) -> ::std::vec::Vec<$crate::bindings::Finding> {
                    __STATE.with(|state| $crate::__private::on_events::<$rule>(state, &batch))
                }
                fn on_packed_events(
                    batch: ::std::vec::Vec<u8>,
                ) -> ::std::vec::Vec<$crate::bindings::Finding> {
                    __STATE
                        .with(|state| $crate::__private::on_packed_events::<$rule>(state, &batch))
                }
                fn finish() -> ::std::vec::Vec<$crate::bindings::Finding> {
                    __STATE.with(|state| $crate::__private::finish::<$rule>(state))
                }
                fn state_usage() -> ::std::vec::Vec<$crate::bindings::StateUsage> {
                    __STATE.with(|state| $crate::__private::state_usage::<$rule>(state))
                }
            }

    $crate::bindings::__export_world!(__TracewardenExport with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stated_contract_is_the_wit_package() {
        let wit = include_str!("../../wit/rule.wit");
        assert!(
            wit.contains(&format!("package {};", super::CONTRACT)),
            "wit/rule.wit's package is not {}",
            super::CONTRACT
        );
    }
}
