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

mod app_keys;
mod keys;
mod objects;
mod ownership;
mod requests;
mod settings;

pub use keys::MAX_KEYS;
pub use ownership::{MAX_KNOWN_PER_PRINCIPAL, MAX_OBJECTS};
pub use requests::MAX_REQUESTS;
pub use settings::{OwnerKind, RouteOwner, Settings as OwnershipSettings, TableOwner};

use crate::event::Event;

/// The enrichment stage's state for one scan.
#[derive(Debug)]
pub struct Enricher<'s> {
    ownership_settings: &'s OwnershipSettings,
    ownership: ownership::Ownership,
    keys: keys::Ledger,
    requests: requests::Requests,
}

impl<'s> Enricher<'s> {
    /// A fresh stage.
    pub fn new(ownership_settings: &'s OwnershipSettings) -> Self {
        Enricher {
            ownership_settings,
            ownership: ownership::Ownership::default(),
            keys: keys::Ledger::default(),
            requests: requests::Requests::default(),
        }
    }

    /// Writes the facts of `event` (the next event of the stream), then learns from it.
    pub fn enrich(&mut self, event: &mut Event) {
        let privileged = self.ownership_settings.is_admin(&event.actor.principal);
        event.facts.privileged = privileged;
        self.ownership
            .enrich(event, self.ownership_settings, privileged);
        self.keys.enrich(event);
        // The application's own key management (routes, key-store writes) changes keys too.
        for change in app_keys::changes(event) {
            self.keys.apply(&change, event);
        }
        self.requests.enrich(event, self.ownership_settings);
    }

    /// `events`, enriched.
    pub fn wrap<I: Iterator<Item = Event>>(self, events: I) -> Enriched<'s, I> {
        Enriched {
            events,
            enricher: self,
        }
    }
}

/// An enriched stream.
#[derive(Debug)]
pub struct Enriched<'s, I> {
    events: I,
    enricher: Enricher<'s>,
}

impl<I: Iterator<Item = Event>> Iterator for Enriched<'_, I> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let mut event = self.events.next()?;
        self.enricher.enrich(&mut event);
        Some(event)
    }
}
