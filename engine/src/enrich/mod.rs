//! The enrichment stage: one pass over the time-ordered, correlated stream that keeps the
//! models many rules need and writes what they know at each event into [`Event::facts`], so a
//! rule reads a fact instead of re-deriving it (and a stateless Rego rule can still express a
//! stateful detection).
//!
//! Facts about an event come only from the events before it: "now" is the log's time.
//!
//! Models:
//! - ownership ([`ownership`]): which objects each event touches, who owns them (learnt from
//!   creations, owner attributes and key prefixes, user and tenant path segments, ownership
//!   conditions, and the settings), and which ids each principal and tenant has been given;
//! - the key lifecycle ledger ([`keys`]): each key's status, creation, revocation, scopes, last
//!   use and the key it was derived from, so "used after revocation" is a fact on the use; it
//!   learns from lifecycle events and from the application's own key management
//!   ([`app_keys`]: key-management routes, key-store writes);
//! - the issuing request ([`requests`]): the method and route template of the HTTP request an
//!   event belongs to, a weakness's site.

use std::borrow::BorrowMut;

mod app_keys;
mod keys;
mod objects;
mod ownership;
mod requests;
mod settings;

pub use keys::MAX_KEYS;
pub use ownership::{MAX_KNOWN, MAX_KNOWN_PER_PRINCIPAL, MAX_OBJECTS};
pub use requests::MAX_REQUESTS;
pub use settings::{OwnerKind, RouteOwner, Settings as OwnershipSettings, TableOwner};

use crate::event::Event;

/// What the models could not learn because they were full. Each model is bounded (memory is
/// bounded by the models, not the input); past its bound it keeps what it has and counts what
/// it turned away here, which the report's coverage states for the rules that read those facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saturation {
    /// Times an object could not be added once [`MAX_OBJECTS`] were held: its owner, grants and
    /// whether it existed stay unknown.
    pub objects: u64,
    /// Ids given to a principal not learnt once it had [`MAX_KNOWN_PER_PRINCIPAL`] or the model
    /// held [`MAX_KNOWN`]: later access to them is not known to be legitimate.
    pub known: u64,
    /// Times a key could not be added once [`MAX_KEYS`] were held: its lifecycle stays unknown.
    pub keys: u64,
}

/// The enrichment stage's state for one scan.
#[derive(Debug)]
pub struct Enricher<'s> {
    ownership_settings: &'s OwnershipSettings,
    ownership: ownership::Ownership,
    keys: keys::Ledger,
    requests: requests::Requests,
    key_stores: app_keys::KeyStores,
}

impl<'s> Enricher<'s> {
    /// A fresh stage.
    pub fn new(ownership_settings: &'s OwnershipSettings) -> Self {
        Enricher {
            ownership_settings,
            ownership: ownership::Ownership::default(),
            keys: keys::Ledger::default(),
            requests: requests::Requests::default(),
            key_stores: app_keys::KeyStores::default(),
        }
    }

    /// Writes the facts of `event` (the next event of the stream), then learns from it.
    pub fn enrich(&mut self, event: &mut Event) {
        let privileged = self.ownership_settings.is_admin(&event.actor.principal);
        event.facts.privileged = privileged;
        // Judged once for the three models that ask.
        let key_store = self.key_stores.judge(event);
        self.ownership
            .enrich(event, self.ownership_settings, privileged, key_store);
        // The auth middleware's lookup of a key in the store, for a request that presented a key
        // the engine only knows by its hash: the store's id is that key's name from now on.
        if let Some(store_id) = app_keys::looked_up(event, key_store)
            && let Some(presented) = self.requests.key_of(&event.correlation.linked_event)
            && presented.starts_with("hk:")
        {
            self.keys.alias(presented, &store_id);
        }
        self.keys.enrich(event);
        // The application's own key management (routes, key-store writes) changes keys too.
        for change in app_keys::changes(event, key_store) {
            self.keys.apply(&change, event);
        }
        self.requests.enrich(event, self.ownership_settings);
    }

    /// What the models could not learn because they were full, so far.
    pub fn saturation(&self) -> Saturation {
        let (objects, known) = self.ownership.unlearnt();
        Saturation {
            objects,
            known,
            keys: self.keys.unlearnt(),
        }
    }

    /// `events`, enriched by this stage (which keeps what it learns, and [`Self::saturation`]):
    /// events, or events in boxes ([`crate::ingest::EventStream::boxed`]), passed on as they come.
    pub fn wrap<I>(&mut self, events: I) -> Enriched<'_, 's, I>
    where
        I: Iterator,
        I::Item: BorrowMut<Event>,
    {
        Enriched {
            events,
            enricher: self,
        }
    }
}

/// An enriched stream.
#[derive(Debug)]
pub struct Enriched<'a, 's, I> {
    events: I,
    enricher: &'a mut Enricher<'s>,
}

impl<I> Iterator for Enriched<'_, '_, I>
where
    I: Iterator,
    I::Item: BorrowMut<Event>,
{
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let mut event = self.events.next()?;
        self.enricher.enrich(event.borrow_mut());
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, DbOperation, Detail, Http, NamedId, Outcome, SourceRef};

    /// An event of `alice` with key `key` (test helper of the enrichment stage's modules).
    pub(super) fn event(id: &str, t: i64, key: &str, detail: Detail) -> Event {
        Event {
            id: id.into(),
            time_ns: t,
            precision_ns: 1,
            source: SourceRef {
                file: "a.har".into(),
                record: 1,
                line: None,
                format: "har".into(),
            },
            actor: Actor {
                principal: "alice".into(),
                key_id: key.into(),
                ..Actor::default()
            },
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail,
            attributes: Default::default(),
            facts: Default::default(),
        }
    }

    /// A `200` HTTP exchange whose response names `returned` ids.
    pub(super) fn http(method: &str, path: &str, returned: &[(&str, &str)]) -> Detail {
        Detail::Http(Http {
            method: method.into(),
            path: path.into(),
            status: 200,
            returned_ids: returned
                .iter()
                .map(|(n, v)| NamedId {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..Http::default()
        })
    }

    #[test]
    fn an_opaque_key_is_named_by_the_store_id_its_auth_lookup_read() {
        let settings = OwnershipSettings::default();
        let mut enricher = Enricher::new(&settings);
        let mut lookup = event(
            "d2",
            3,
            "hk:0011223344556677",
            Detail::DbOperation(DbOperation {
                service: "dynamodb".into(),
                operation: "GetItem".into(),
                table: "api_keys".into(),
                key: crate::event::Fields::from_iter([("key_id".into(), "k-1".into())]),
                ..DbOperation::default()
            }),
        );
        lookup.correlation.linked_event = "h2".into();
        let mut events = vec![
            event(
                "h1",
                1,
                "hk:admin",
                http(
                    "POST",
                    "/admin/api-keys",
                    &[("key_id", "k-1"), ("owner_id", "alice")],
                ),
            ),
            event(
                "h2",
                2,
                "hk:0011223344556677",
                http("GET", "/docs/d-1", &[]),
            ),
            lookup,
            event(
                "h3",
                4,
                "hk:admin",
                http("DELETE", "/admin/api-keys/k-1", &[]),
            ),
            event(
                "h4",
                5,
                "hk:0011223344556677",
                http("GET", "/docs/d-1", &[]),
            ),
        ];
        for e in &mut events {
            enricher.enrich(e);
        }
        let key = |e: &Event| {
            let k = e.facts.key.as_ref().unwrap();
            (k.key_id.clone(), k.revoked_ns)
        };
        // Before the lookup the key is known by its hash only; after it, by the store's id,
        // whose revocation then applies.
        assert_eq!(key(&events[1]), ("hk:0011223344556677".into(), 0));
        assert_eq!(key(&events[4]), ("k-1".into(), 4));
    }
}
