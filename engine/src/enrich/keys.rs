//! The key lifecycle ledger: per key id, its status, creation, revocation, scopes and last use,
//! from key lifecycle events (CloudTrail IAM access keys, STS credentials and API Gateway API
//! keys; key inventories; the engine's own events), in log order. Each event naming a key
//! (`actor.key_id`) gets the key's state just before it as `facts.key`.

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

use crate::event::{Detail, Event, KeyAction, KeyFact, KeyLifecycle, KeyStatus, Outcome, SmolStr};
use smol_str::ToSmolStr;

/// Most keys remembered; past it, new keys are not learnt.
pub const MAX_KEYS: usize = 1_000_000;

/// How far up a chain of derived credentials (session credentials obtained with session
/// credentials) a parent's revocation is looked for.
const MAX_PARENT_DEPTH: usize = 8;

/// An event that changed a key, cited as evidence.
#[derive(Debug, Clone, Default)]
struct Marker {
    time_ns: i64,
    event: SmolStr,
    source: SmolStr,
    /// The request the change was made in (trace or application request id), when known: the
    /// rest of that request still runs on the key it revoked.
    request: SmolStr,
}

/// The request an event belongs to, as far as a key change cares: its trace, else its
/// application request id, else its linked HTTP event.
fn request_of(event: &Event) -> &str {
    let c = &event.correlation;
    [&c.trace_id, &c.app_request_id, &c.linked_event]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("", SmolStr::as_str)
}

#[derive(Debug, Clone, Default)]
struct KeyState {
    status: KeyStatus,
    owner: SmolStr,
    created_ns: i64,
    revoked: Option<Marker>,
    scopes: Option<Vec<SmolStr>>,
    removed_scopes: Vec<SmolStr>,
    scope_change: Option<Marker>,
    last_used_ns: i64,
    parent: SmolStr,
    issued_ns: i64,
}

/// The ledger's state.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    keys: HashMap<SmolStr, KeyState>,
    /// A presented key's hashed id → the id the application's key store calls it, learnt from
    /// the auth middleware's lookup in a request that presented it.
    aliases: HashMap<SmolStr, SmolStr>,
    /// Keys not added because [`MAX_KEYS`] were held ([`super::Saturation::keys`]).
    unlearnt: u64,
}

impl Ledger {
    /// Times a key could not be added because the ledger was full.
    pub(super) fn unlearnt(&self) -> u64 {
        self.unlearnt
    }

    /// Sets `event.facts.key` for the actor's key, then learns from the event: a successful use
    /// updates the key's last use, a successful lifecycle change updates the key it names.
    /// Learns that the key hashed as `presented` is the store's `store_id`.
    pub(super) fn alias(&mut self, presented: &str, store_id: &str) {
        if presented != store_id && self.aliases.len() < MAX_KEYS {
            self.aliases.insert(presented.into(), store_id.into());
        }
    }

    pub(super) fn enrich(&mut self, event: &mut Event) {
        let actor_key = event.actor.key_id.as_str();
        let key_id = self
            .aliases
            .get(actor_key)
            .map_or(actor_key, SmolStr::as_str);
        if !key_id.is_empty() {
            let fact = self.fact(key_id, request_of(event));
            event.facts.key = Some(Box::new(fact));
            if event.outcome == Outcome::Success {
                let room = self.keys.len() < MAX_KEYS;
                match self.keys.get_mut(key_id) {
                    Some(state) => state.last_used_ns = state.last_used_ns.max(event.time_ns),
                    None if room => {
                        let state = KeyState {
                            last_used_ns: event.time_ns,
                            ..KeyState::default()
                        };
                        self.keys.insert(key_id.into(), state);
                    }
                    None => self.unlearnt += 1,
                }
            }
        }
        if let Detail::KeyLifecycle(k) = &event.detail
            && event.outcome == Outcome::Success
            && !k.key_id.is_empty()
        {
            self.apply(k, event);
        }
    }

    /// The key's state for an event of `request`: a revocation made earlier in the same request
    /// (a rotation, a self-revocation) is not yet in force for it.
    fn fact(&self, key_id: &str, request: &str) -> KeyFact {
        let mut fact = KeyFact {
            key_id: key_id.into(),
            ..KeyFact::default()
        };
        let Some(state) = self.keys.get(key_id) else {
            return fact;
        };
        fact.status = state.status;
        fact.owner.clone_from(&state.owner);
        fact.created_ns = state.created_ns;
        if let Some(r) = state
            .revoked
            .as_ref()
            .filter(|r| r.request.is_empty() || r.request != request)
        {
            fact.revoked_ns = r.time_ns;
            fact.revoked_event.clone_from(&r.event);
            fact.revoked_event_source.clone_from(&r.source);
        }
        if let Some(scopes) = &state.scopes {
            fact.scopes.clone_from(scopes);
            fact.scopes_known = true;
        }
        if let Some(c) = &state.scope_change {
            fact.removed_scopes.clone_from(&state.removed_scopes);
            fact.scope_changed_ns = c.time_ns;
            fact.scope_event.clone_from(&c.event);
            fact.scope_event_source.clone_from(&c.source);
        }
        fact.last_used_ns = state.last_used_ns;
        if !state.parent.is_empty() {
            fact.parent_key_id.clone_from(&state.parent);
            fact.issued_ns = state.issued_ns;
            if let Some(r) = self.parent_revocation(&state.parent) {
                fact.parent_revoked_ns = r.time_ns;
                fact.parent_revoked_event.clone_from(&r.event);
                fact.parent_revoked_event_source.clone_from(&r.source);
            }
        }
        fact
    }

    /// The earliest revocation up the chain of keys that `parent` was derived from.
    fn parent_revocation(&self, parent: &str) -> Option<&Marker> {
        let mut found: Option<&Marker> = None;
        let mut key = parent;
        for _ in 0..MAX_PARENT_DEPTH {
            let Some(state) = self.keys.get(key) else {
                break;
            };
            if let Some(r) = &state.revoked
                && found.is_none_or(|f| r.time_ns < f.time_ns)
            {
                found = Some(r);
            }
            if state.parent.is_empty() {
                break;
            }
            key = &state.parent;
        }
        found
    }

    /// Applies a lifecycle change `k` that `event` records.
    pub(super) fn apply(&mut self, k: &KeyLifecycle, event: &Event) {
        if !self.keys.contains_key(&k.key_id) && self.keys.len() >= MAX_KEYS {
            self.unlearnt += 1;
            return;
        }
        let marker = || Marker {
            time_ns: event.time_ns,
            event: event.id.clone(),
            source: event.source.to_smolstr(),
            request: request_of(event).into(),
        };
        let state = self.keys.entry(k.key_id.clone()).or_default();
        if !k.owner.is_empty() {
            state.owner.clone_from(&k.owner);
        }
        match k.action {
            KeyAction::Created => {
                state.status = KeyStatus::Active;
                state.created_ns = event.time_ns;
                state.revoked = None;
                if !k.scopes.is_empty() {
                    state.scopes = Some(k.scopes.clone());
                }
                if !k.parent_key_id.is_empty() {
                    state.parent.clone_from(&k.parent_key_id);
                    state.issued_ns = event.time_ns;
                }
            }
            KeyAction::Activated => {
                state.status = KeyStatus::Active;
                state.revoked = None;
            }
            KeyAction::Deactivated | KeyAction::Rotated => {
                if state.status != KeyStatus::Deleted {
                    state.status = KeyStatus::Inactive;
                }
                if state.revoked.is_none() {
                    state.revoked = Some(marker());
                }
            }
            KeyAction::Deleted => {
                state.status = KeyStatus::Deleted;
                if state.revoked.is_none() {
                    state.revoked = Some(marker());
                }
            }
            // The same change seen twice (the admin route, then the key store's write) is one.
            KeyAction::ScopeChanged if state.scopes.as_ref() == Some(&k.scopes) => {}
            KeyAction::ScopeChanged => {
                if let Some(old) = &state.scopes {
                    state.removed_scopes = old
                        .iter()
                        .filter(|s| !k.scopes.contains(s))
                        .cloned()
                        .collect();
                }
                state.scopes = Some(k.scopes.clone());
                state.scope_change = Some(marker());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Http, SourceRef};

    fn event(id: &str, t: i64, key: &str, outcome: Outcome, detail: Detail) -> Event {
        Event {
            id: id.into(),
            time_ns: t,
            precision_ns: 1,
            source: SourceRef {
                file: "ct.json".into(),
                record: 1,
                line: Some(t as u64),
                format: "cloudtrail".into(),
            },
            actor: Actor {
                key_id: key.into(),
                ..Actor::default()
            },
            correlation: Default::default(),
            outcome,
            detail,
            attributes: Default::default(),
            facts: Default::default(),
        }
    }

    fn change(
        id: &str,
        t: i64,
        action: KeyAction,
        key: &str,
        scopes: &[&str],
        parent: &str,
    ) -> Event {
        event(
            id,
            t,
            "AKIAADMIN",
            Outcome::Success,
            Detail::KeyLifecycle(KeyLifecycle {
                action,
                key_id: key.into(),
                owner: SmolStr::default(),
                scopes: scopes.iter().map(|s| SmolStr::from(*s)).collect(),
                parent_key_id: parent.into(),
            }),
        )
    }

    fn use_of(t: i64, key: &str, outcome: Outcome) -> Event {
        event("u", t, key, outcome, Detail::Http(Http::default()))
    }

    fn run(events: Vec<Event>) -> Vec<Option<KeyFact>> {
        let mut ledger = Ledger::default();
        events
            .into_iter()
            .map(|mut e| {
                ledger.enrich(&mut e);
                e.facts.key.map(|k| *k)
            })
            .collect()
    }

    #[test]
    fn revocation_scopes_and_uses_are_known_at_each_use() {
        let facts = run(vec![
            change("c", 10, KeyAction::Created, "K", &["read", "write"], ""),
            use_of(20, "K", Outcome::Success),
            change("s", 30, KeyAction::ScopeChanged, "K", &["read"], ""),
            change("d", 40, KeyAction::Deactivated, "K", &[], ""),
            change("x", 45, KeyAction::Deleted, "K", &[], ""),
            use_of(50, "K", Outcome::Denied),
            use_of(60, "K", Outcome::Success),
        ]);
        let at_first_use = facts[1].clone().unwrap();
        assert_eq!(
            (
                at_first_use.status,
                at_first_use.created_ns,
                at_first_use.last_used_ns
            ),
            (KeyStatus::Active, 10, 0)
        );
        let late = facts[6].clone().unwrap();
        assert_eq!(late.status, KeyStatus::Deleted);
        // The first revocation counts, and a refused attempt is not a use.
        assert_eq!((late.revoked_ns, late.revoked_event.as_str()), (40, "d"));
        assert_eq!(late.revoked_event_source, "ct.json:40");
        assert_eq!(late.last_used_ns, 20);
        assert_eq!(
            (late.scopes, late.removed_scopes),
            (vec![SmolStr::from("read")], vec![SmolStr::from("write")])
        );
        assert!(late.scopes_known);
        assert_eq!(late.scope_changed_ns, 30);
        // The admin's own key is a key too.
        assert_eq!(
            facts[0].as_ref().map(|k| k.status),
            Some(KeyStatus::Unknown)
        );
    }

    #[test]
    fn reactivation_clears_the_revocation() {
        let facts = run(vec![
            change("d", 10, KeyAction::Deactivated, "K", &[], ""),
            change("a", 20, KeyAction::Activated, "K", &[], ""),
            use_of(30, "K", Outcome::Success),
        ]);
        let k = facts[2].clone().unwrap();
        assert_eq!((k.status, k.revoked_ns), (KeyStatus::Active, 0));
    }

    #[test]
    fn session_credentials_know_when_their_parent_chain_was_revoked() {
        let facts = run(vec![
            change("p", 10, KeyAction::Created, "ASIA1", &[], "AKIA1"),
            change("q", 11, KeyAction::Created, "ASIA2", &[], "ASIA1"),
            change("d", 20, KeyAction::Deleted, "AKIA1", &[], ""),
            use_of(30, "ASIA2", Outcome::Success),
        ]);
        let k = facts[3].clone().unwrap();
        assert_eq!(
            (
                k.parent_key_id.as_str(),
                k.issued_ns,
                k.parent_revoked_ns,
                k.parent_revoked_event.as_str()
            ),
            ("ASIA1", 11, 20, "d")
        );
        assert_eq!(k.revoked_ns, 0);
    }
}
