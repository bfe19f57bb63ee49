//! Which HTTP request issued each event: its method and route template, written into
//! [`Facts::request_method`](crate::event::Facts) and `request_route`. An HTTP event carries its
//! own; a DB call linked to its request (`correlation.linked_event`) carries that request's, so a
//! weakness can be reported once per route rather than once per call.

use std::collections::VecDeque;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use super::objects::route_template;
use super::settings::Settings;
use crate::event::{Detail, Event, SmolStr};

/// HTTP requests remembered for the DB calls that follow them. Calls arrive within a request's
/// lifetime, so the latest requests suffice; the oldest are forgotten first.
pub const MAX_REQUESTS: usize = 100_000;

/// The recent requests, by event id.
#[derive(Debug, Default)]
pub(super) struct Requests {
    /// Method, route and the key the request presented.
    by_event: HashMap<SmolStr, (SmolStr, SmolStr, SmolStr)>,
    order: VecDeque<SmolStr>,
}

impl Requests {
    /// The key the request `event_id` presented, if it is remembered and named one.
    pub(super) fn key_of(&self, event_id: &str) -> Option<&str> {
        self.by_event
            .get(event_id)
            .map(|(_, _, key)| key.as_str())
            .filter(|k| !k.is_empty())
    }

    /// Writes the event's issuing request, then remembers it if it is one.
    pub(super) fn enrich(&mut self, event: &mut Event, settings: &Settings) {
        match &event.detail {
            Detail::Http(h) => {
                let route = route_template(&h.path, &h.route, settings);
                let method: SmolStr = h.method.to_ascii_uppercase().into();
                event.facts.request_method.clone_from(&method);
                event.facts.request_route.clone_from(&route);
                if self.order.len() == MAX_REQUESTS
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.by_event.remove(&oldest);
                }
                if self
                    .by_event
                    .insert(
                        event.id.clone(),
                        (method, route, event.actor.key_id.clone()),
                    )
                    .is_none()
                {
                    self.order.push_back(event.id.clone());
                }
            }
            _ => {
                if let Some((method, route, _)) = self.by_event.get(&event.correlation.linked_event)
                {
                    event.facts.request_method.clone_from(method);
                    event.facts.request_route.clone_from(route);
                }
            }
        }
    }
}
