//! The ownership model: who owns each object, learnt in log order from the events before the
//! one being enriched, and which ids each principal has been given.

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;

use super::objects::{
    NamedBy, Names, Object, is_id_of, is_owner_condition, key_object, path_objects,
    returned_values, sets_owner, update_names,
};
use super::settings::Settings;
use crate::event::{Actor, Detail, Event, ObjectFact, Outcome, OwnerSource, Relation, SmolStr};
use crate::names::folded;
use smol_str::ToSmolStr;

/// Most objects remembered (owner, grants, whether a request on them succeeded); past it, new
/// objects are not learnt and [`super::Saturation::objects`] counts them. 2²¹·⁷⁄₈: the most a table of
/// 2²¹ buckets holds before it doubles (~70 MB of 33-byte buckets).
pub const MAX_OBJECTS: usize = (1 << 21) / 8 * 7;
/// Most ids remembered as given to one principal (in one tenant).
pub const MAX_KNOWN_PER_PRINCIPAL: usize = 100_000;
/// Most ids remembered as given, over all principals: 2²³·⁷⁄₈ digests (~75 MB of 9-byte buckets);
/// past it, [`super::Saturation::known`] counts the ids not learnt.
pub const MAX_KNOWN: usize = (1 << 23) / 8 * 7;

/// Whether an object was named by an HTTP path or a DB key: the two are learnt apart, since a
/// path collection and a table may share a name without holding the same objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Layer {
    Http,
    Db,
}

impl Layer {
    fn tag(self) -> &'static str {
        match self {
            Layer::Http => "http",
            Layer::Db => "db",
        }
    }
}

/// An object as the model knows it: the digest ([`crate::digest`]) of its layer, collection and
/// id, eight bytes instead of two strings per entry of a table of up to [`MAX_OBJECTS`]. Two
/// objects sharing a digest (~n²/2⁶⁵ for n objects, ~10⁻⁷ at the cap) would share an owner.
type ObjectKey = u64;

fn object_key(layer: Layer, collection: &str, id: &str) -> ObjectKey {
    crate::digest::of([layer.tag(), collection, id])
}

#[derive(Debug, Clone)]
struct Owner {
    principal: SmolStr,
    tenant: SmolStr,
    source: OwnerSource,
    event: SmolStr,
    event_source: SmolStr,
}

/// Kept small (24 bytes): the model holds up to [`MAX_OBJECTS`] of them, most touched but
/// unowned and unshared (boxed, the owner would make every entry of the table five strings wide).
#[derive(Debug, Clone, Default)]
struct ObjectState {
    owner: Option<Box<Owner>>,
    /// Principals the owner shared it with (a response's share or member list).
    #[expect(
        clippy::box_collection,
        reason = "8 bytes instead of a Vec's 24 in each entry of a table of up to MAX_OBJECTS; \
                  few objects are shared"
    )]
    grantees: Option<Box<Vec<SmolStr>>>,
    /// Some request on the object succeeded (so a later PUT does not create it).
    succeeded: bool,
    /// It was shared with principals the logs do not name (a write to its share list, a share
    /// request whose response is not in the inputs): another principal may be one of them.
    shared_unknown: bool,
}

/// Item attributes and path segments that hold or change who an object is shared with.
const GRANT_NAMES: &[&str] = &[
    "sharedwith",
    "share",
    "shares",
    "members",
    "collaborators",
    "readers",
    "editors",
    "viewers",
    "grantees",
    "grants",
    "grant",
    "acl",
    "permissions",
    "invite",
    "invites",
];

/// Most grantees remembered per object.
const MAX_GRANTEES: usize = 256;

/// Response fields that name an object's (new) owner.
const OWNER_FIELDS: &[&str] = &["ownerid", "owner", "newownerid", "owneruserid"];

/// The model's bounds: [`MAX_OBJECTS`], [`MAX_KNOWN_PER_PRINCIPAL`] and [`MAX_KNOWN`] (smaller in
/// tests).
#[derive(Debug, Clone, Copy)]
struct Caps {
    objects: usize,
    known_per_principal: usize,
    known: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            objects: MAX_OBJECTS,
            known_per_principal: MAX_KNOWN_PER_PRINCIPAL,
            known: MAX_KNOWN,
        }
    }
}

/// The model's state.
#[derive(Debug, Default)]
pub(super) struct Ownership {
    caps: Caps,
    objects: HashMap<ObjectKey, ObjectState>,
    /// Tables whose keys or conditions name owners.
    scoped: HashSet<SmolStr>,
    /// Ids returned to (or created by) each principal: digests of (principal, tenant, id), one
    /// table for every principal. A digest shared by two values (~n²/2⁶⁵) would make one id
    /// known to a principal it was not given to.
    known: HashSet<u64>,
    /// How many ids of `known` each (principal, tenant) digest has.
    known_per_principal: HashMap<u64, u32>,
    /// Times an object could not be added, and ids could not be learnt as given, because the
    /// model was full ([`super::Saturation`]).
    unlearnt_objects: u64,
    unlearnt_known: u64,
}

/// The digest of (principal, tenant) that an id's digest in [`Ownership::known`] continues.
fn principal_digest(actor: &Actor) -> u64 {
    crate::digest::of([actor.principal.as_str(), actor.tenant.as_str()])
}

fn known_digest(principal: u64, id: &str) -> u64 {
    crate::digest::Digest::after(principal).part(id).finish()
}

impl Ownership {
    /// What the model could not learn because it was full: (objects, ids given).
    pub(super) fn unlearnt(&self) -> (u64, u64) {
        (self.unlearnt_objects, self.unlearnt_known)
    }

    /// Sets `event.facts.objects`, then learns from the event. `key_store`: whether the event is
    /// a call to a key store ([`super::app_keys::KeyStores::judge`]).
    pub(super) fn enrich(
        &mut self,
        event: &mut Event,
        settings: &Settings,
        privileged: bool,
        key_store: bool,
    ) {
        let (layer, objects, owner_condition) = match &event.detail {
            Detail::Http(h) => (
                Layer::Http,
                path_objects(&h.path, &h.route, settings),
                false,
            ),
            Detail::DbOperation(d) => {
                let key_unknown = event
                    .attributes
                    .contains_key(crate::ingest::correlate::KEY_UNKNOWN);
                let keyless_read = d.key.is_empty() && d.operation != "Scan";
                // The auth middleware's lookup of a key (`key_store`): the application
                // authenticating the request, not the caller touching an object.
                if d.table.is_empty() || key_unknown || keyless_read || key_store {
                    (Layer::Db, Vec::new(), false)
                } else {
                    let condition =
                        d.is_write && is_owner_condition(&d.table, &d.condition, settings);
                    (
                        Layer::Db,
                        vec![key_object(&d.table, &d.key, settings)],
                        condition,
                    )
                }
            }
            _ => return,
        };
        let known = (!self.known.is_empty() && !event.actor.principal.is_empty())
            .then(|| principal_digest(&event.actor));
        let facts: Vec<ObjectFact> = objects
            .iter()
            .map(|o| {
                let mut f = self.fact(layer, o, &event.actor, known);
                f.owner_condition = owner_condition;
                f
            })
            .collect();
        event.facts.objects = facts;
        if event.outcome == Outcome::Success {
            self.learn(event, &objects, owner_condition, settings, privileged);
        }
    }

    fn fact(&self, layer: Layer, o: &Object, actor: &Actor, known: Option<u64>) -> ObjectFact {
        let mut f = ObjectFact {
            collection: o.collection.clone(),
            id: o.id.clone(),
            known: known.is_some_and(|p| {
                o.values
                    .iter()
                    .any(|v| self.known.contains(&known_digest(p, v)))
            }),
            scoped: layer == Layer::Db && self.scoped.contains(&o.collection),
            ..ObjectFact::default()
        };
        if o.public {
            f.owner_source = OwnerSource::Public;
            return f;
        }
        let state = self.objects.get(&object_key(layer, &o.collection, &o.id));
        match (&o.names, o.named_by) {
            (Names::User(u), Some(by)) => {
                f.owner = u.clone();
                f.owner_source = source_of(by);
            }
            (Names::Tenant(t), Some(by)) => {
                f.owner_tenant = t.clone();
                f.owner_source = source_of(by);
            }
            _ => {
                if let Some(owner) = state.and_then(|s| s.owner.as_ref()) {
                    f.owner = owner.principal.clone();
                    f.owner_tenant = owner.tenant.clone();
                    f.owner_source = owner.source;
                    f.owner_event = owner.event.clone();
                    f.owner_event_source = owner.event_source.clone();
                }
            }
        }
        f.relation = relation(actor, &f.owner, &f.owner_tenant);
        if f.relation == Relation::Other
            && let Some(state) = state
        {
            if state.grantees.iter().flat_map(|g| g.iter()).any(|g| {
                g.eq_ignore_ascii_case(&actor.principal)
                    || g.eq_ignore_ascii_case(short_name(&actor.principal))
            }) {
                f.relation = Relation::Granted;
            } else if state.shared_unknown {
                // Shared with someone the logs do not name: the actor may be them.
                f.relation = Relation::Unknown;
            }
        }
        f
    }

    fn learn(
        &mut self,
        event: &Event,
        objects: &[Object],
        owner_condition: bool,
        settings: &Settings,
        privileged: bool,
    ) {
        let actor = &event.actor;
        let can_own = !privileged && !actor.principal.is_empty();
        let creator = |source| Owner {
            principal: actor.principal.clone(),
            tenant: actor.tenant.clone(),
            source,
            event: event.id.clone(),
            event_source: event.source.to_smolstr(),
        };
        let mut given: Vec<SmolStr> = Vec::new();
        match &event.detail {
            Detail::Http(h) => {
                let method = h.method.to_ascii_uppercase();
                // A creation: the ids of the collection the request posted to.
                if method == "POST" || method == "PUT" {
                    let collection = h
                        .path
                        .split('/')
                        .rfind(|s| !s.is_empty())
                        .unwrap_or_default()
                        .to_owned();
                    for id in &h.returned_ids {
                        let created: Option<(SmolStr, SmolStr)> = if id.name == "location" {
                            path_objects(&id.value, "", settings)
                                .into_iter()
                                .last()
                                .map(|o| (o.collection, o.id))
                        } else if method == "POST" && is_id_of(&id.name, &collection) {
                            Some((collection.as_str().into(), id.value.clone()))
                        } else {
                            None
                        };
                        if let Some((created_in, created)) = created {
                            if can_own && !settings.is_public(&created_in) {
                                let key = object_key(Layer::Http, &created_in, &created);
                                self.claim(key, || creator(OwnerSource::Creator), false);
                            }
                            given.push(created);
                        }
                    }
                    // A PUT creates when it says so (201 Created); a 200 updated an object that
                    // existed, whoever owns it (a trace may not show its creation).
                    if method == "PUT"
                        && h.status == 201
                        && let Some(o) = objects.last()
                        && o.named_by.is_none()
                        && !o.public
                        && can_own
                    {
                        self.claim(
                            object_key(Layer::Http, &o.collection, &o.id),
                            || creator(OwnerSource::Creator),
                            false,
                        );
                    }
                }
                if let Some(target) = objects.last() {
                    let key = object_key(Layer::Http, &target.collection, &target.id);
                    let share_route = h
                        .path
                        .split(['?', '#'])
                        .next()
                        .unwrap_or_default()
                        .rsplit('/')
                        .find(|s| !s.is_empty())
                        .is_some_and(|last| GRANT_NAMES.contains(&folded(last).as_str()));
                    self.transfer_or_share(key, event, &h.returned_ids, &method, share_route);
                }
                given.extend(returned_values(&h.returned_ids, settings));
                // A DELETE removes the object its path ends with (`/users/7/notes/3`: the note).
                let deleted = if method == "DELETE" { objects.len() } else { 0 };
                for (n, o) in objects.iter().enumerate() {
                    let key = object_key(Layer::Http, &o.collection, &o.id);
                    if n + 1 == deleted {
                        self.objects.remove(&key);
                    } else {
                        self.touch(key);
                    }
                }
            }
            Detail::DbOperation(d) => {
                for o in objects {
                    if o.named_by.is_some() || owner_condition || settings.scopes_table(&d.table) {
                        self.scoped.insert(o.collection.clone());
                    }
                    let key = object_key(Layer::Db, &o.collection, &o.id);
                    if d.operation == "DeleteItem" {
                        self.objects.remove(&key);
                        continue;
                    }
                    if o.named_by.is_none() && !o.public && can_own {
                        if owner_condition {
                            self.claim(key, || creator(OwnerSource::Condition), true);
                        } else if d.operation == "PutItem" {
                            let creates = d.condition.contains("attribute_not_exists");
                            self.claim(key, || creator(OwnerSource::Creator), creates);
                        }
                    }
                    if o.named_by.is_none() {
                        given.extend(o.values.iter().cloned());
                    }
                    self.touch(key);
                    // A write to the item's share list: grantees the logs do not name.
                    if d.is_write
                        && update_names(&d.update_expression)
                            .any(|n| GRANT_NAMES.contains(&n.as_str()))
                        && let Some(state) = self.objects.get_mut(&key)
                    {
                        state.shared_unknown = true;
                    }
                    // A write that sets the owner attribute transfers the item: who to is not
                    // logged at this layer (values never are), so its owner is unknown from here
                    // until a creation or an ownership condition names one again.
                    if d.is_write
                        && sets_owner(&d.table, &d.update_expression, settings)
                        && let Some(state) = self.objects.get_mut(&key)
                    {
                        state.owner = Some(Box::new(Owner {
                            principal: SmolStr::default(),
                            tenant: SmolStr::default(),
                            source: OwnerSource::Transfer,
                            event: event.id.clone(),
                            event_source: event.source.to_smolstr(),
                        }));
                    }
                }
            }
            _ => {}
        }
        if !actor.principal.is_empty() && !given.is_empty() {
            // A created id is often returned too: count each id once.
            given.sort_unstable();
            given.dedup();
            let principal = principal_digest(actor);
            let count = self.known_per_principal.entry(principal).or_default();
            for id in given {
                let digest = known_digest(principal, &id);
                if self.known.contains(&digest) {
                    continue;
                }
                if *count as usize >= self.caps.known_per_principal
                    || self.known.len() >= self.caps.known
                {
                    self.unlearnt_known += 1;
                    continue;
                }
                self.known.insert(digest);
                *count += 1;
            }
        }
    }

    /// Learns from a successful response on an existing object: an owner field naming another
    /// principal than its owner (a transfer, by a write), and share or member lists (grants).
    fn transfer_or_share(
        &mut self,
        key: ObjectKey,
        event: &Event,
        returned: &[crate::event::NamedId],
        method: &str,
        share_route: bool,
    ) {
        let Some(state) = self.objects.get_mut(&key) else {
            return;
        };
        let writes = matches!(method, "POST" | "PUT" | "PATCH");
        let grantees_named = returned
            .iter()
            .any(|id| id.name == crate::event::RETURNED_GRANTEE);
        if writes && share_route && !grantees_named {
            state.shared_unknown = true;
        }
        let new_owner = returned
            .iter()
            .find(|id| OWNER_FIELDS.contains(&folded(&id.name).as_str()))
            .map(|id| id.value.as_str());
        if writes
            && let (Some(new), Some(old)) = (new_owner, state.owner.as_ref())
            && !new.is_empty()
            && !new.eq_ignore_ascii_case(&old.principal)
        {
            state.owner = Some(Box::new(Owner {
                principal: new.into(),
                tenant: SmolStr::default(),
                source: OwnerSource::Transfer,
                event: event.id.clone(),
                event_source: event.source.to_smolstr(),
            }));
        }
        for id in returned
            .iter()
            .filter(|id| id.name == crate::event::RETURNED_GRANTEE)
        {
            let grantees = state.grantees.get_or_insert_default();
            if grantees.len() < MAX_GRANTEES && !grantees.contains(&id.value) {
                grantees.push(id.value.clone());
            }
        }
    }

    /// Makes `owner` the owner of `key` if it has none and no request on it succeeded before
    /// (or always, with `prove`: a creation that required absence, or an ownership condition).
    /// `owner`: the owner it becomes, made only if it does (its source text is formatted).
    fn claim(&mut self, key: ObjectKey, owner: impl FnOnce() -> Owner, prove: bool) {
        if !self.objects.contains_key(&key) && self.objects.len() >= self.caps.objects {
            self.unlearnt_objects += 1;
            return;
        }
        let state = self.objects.entry(key).or_default();
        if prove || (state.owner.is_none() && !state.succeeded) {
            state.owner = Some(Box::new(owner()));
        }
        state.succeeded = true;
    }

    fn touch(&mut self, key: ObjectKey) {
        if let Some(state) = self.objects.get_mut(&key) {
            state.succeeded = true;
        } else if self.objects.len() < self.caps.objects {
            self.objects.insert(
                key,
                ObjectState {
                    succeeded: true,
                    ..ObjectState::default()
                },
            );
        } else {
            self.unlearnt_objects += 1;
        }
    }
}

fn source_of(by: NamedBy) -> OwnerSource {
    match by {
        NamedBy::Path => OwnerSource::Path,
        NamedBy::KeyPrefix => OwnerSource::KeyPrefix,
        NamedBy::KeyAttribute => OwnerSource::KeyAttribute,
        NamedBy::Mapping => OwnerSource::Mapping,
    }
}

/// The last segment of an ARN or path-like principal (`arn:...:assumed-role/app/alice` gives
/// `alice`).
fn short_name(principal: &str) -> &str {
    principal.rsplit(['/', ':']).next().unwrap_or(principal)
}

fn is_arn(principal: &str) -> bool {
    principal.starts_with("arn:")
}

/// The actor against an owner (a user) and an owning tenant. An ARN actor and a plain user id
/// owner (or the reverse) are different kinds of names: they are the same only when the ARN's
/// last segment is the id, and never "other".
pub(super) fn relation(actor: &Actor, owner: &str, owner_tenant: &str) -> Relation {
    let other_tenant = !owner_tenant.is_empty()
        && !actor.tenant.is_empty()
        && !owner_tenant.eq_ignore_ascii_case(&actor.tenant);
    if !owner.is_empty() {
        if actor.principal.is_empty() {
            return Relation::Unknown;
        }
        let same = actor.principal.eq_ignore_ascii_case(owner)
            || short_name(&actor.principal).eq_ignore_ascii_case(owner)
            || short_name(owner).eq_ignore_ascii_case(&actor.principal);
        return if same && !other_tenant {
            Relation::Own
        } else if same || is_arn(&actor.principal) == is_arn(owner) {
            Relation::Other
        } else {
            Relation::Unknown
        };
    }
    if owner_tenant.is_empty() || actor.tenant.is_empty() {
        Relation::Unknown
    } else if other_tenant {
        Relation::Other
    } else {
        Relation::Own
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DbOperation, Http, NamedId, SourceRef};

    /// `model.enrich(e, …)` as the enrichment stage calls it: with whether `e` is a call to a
    /// key store judged first.
    fn enrich(model: &mut Ownership, e: &mut Event, settings: &Settings, privileged: bool) {
        let store = super::super::app_keys::KeyStores::default().judge(e);
        model.enrich(e, settings, privileged, store);
    }

    fn http(id: &str, who: (&str, &str), method: &str, path: &str, status: u16) -> Event {
        Event {
            id: id.into(),
            time_ns: 0,
            precision_ns: 1,
            source: SourceRef {
                file: "app.har".into(),
                record: 1,
                line: Some(7),
                format: "har".into(),
            },
            actor: Actor {
                principal: who.0.into(),
                tenant: who.1.into(),
                ..Actor::default()
            },
            correlation: Default::default(),
            outcome: crate::ingest::http::http_outcome(status),
            detail: Detail::Http(Http {
                method: method.into(),
                path: path.into(),
                status,
                ..Http::default()
            }),
            attributes: Default::default(),
            facts: Default::default(),
        }
    }

    fn returning(mut e: Event, ids: &[(&str, &str)]) -> Event {
        if let Detail::Http(h) = &mut e.detail {
            h.returned_ids = ids
                .iter()
                .map(|(n, v)| NamedId {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect();
        }
        e
    }

    fn db(who: &str, operation: &str, key: &[(&str, &str)], condition: &str) -> Event {
        let mut e = http("d", (who, ""), "", "", 200);
        e.detail = Detail::DbOperation(DbOperation {
            service: "dynamodb".into(),
            operation: operation.into(),
            table: "orders".into(),
            key: key
                .iter()
                .map(|(k, v)| (SmolStr::from(*k), SmolStr::from(*v)))
                .collect(),
            has_condition: !condition.is_empty(),
            condition: condition.into(),
            is_write: operation != "GetItem",
            ..DbOperation::default()
        });
        e
    }

    /// Enriches `events` in order and returns, per event, (owner, source, relation, known).
    fn run(
        settings: &Settings,
        events: Vec<Event>,
    ) -> Vec<Vec<(SmolStr, OwnerSource, Relation, bool)>> {
        let mut model = Ownership::default();
        events
            .into_iter()
            .map(|mut e| {
                let privileged = settings.is_admin(&e.actor.principal);
                enrich(&mut model, &mut e, settings, privileged);
                e.facts
                    .objects
                    .iter()
                    .map(|o| (o.owner.clone(), o.owner_source, o.relation, o.known))
                    .collect()
            })
            .collect()
    }

    fn fact(
        owner: &str,
        source: OwnerSource,
        relation: Relation,
        known: bool,
    ) -> Vec<(SmolStr, OwnerSource, Relation, bool)> {
        vec![(owner.into(), source, relation, known)]
    }

    #[test]
    fn the_creator_owns_what_a_post_returned_and_ids_are_known_per_principal() {
        let s = Settings::default();
        let facts = run(
            &s,
            vec![
                returning(
                    http("c", ("alice", "acme"), "POST", "/orders", 201),
                    &[("order_id", "1001"), ("owner_id", "alice")],
                ),
                http("a", ("alice", "acme"), "GET", "/orders/1001", 200),
                http("b", ("bob", "globex"), "GET", "/orders/1001", 200),
                // Shown to carol by a list response: known to carol, still not to bob.
                returning(
                    http("l", ("carol", "acme"), "GET", "/orders", 200),
                    &[("order_id", "1001")],
                ),
                http("c2", ("carol", "acme"), "GET", "/orders/1001", 200),
                http("b2", ("bob", "globex"), "GET", "/orders/1001", 200),
            ],
        );
        use OwnerSource::Creator;
        assert_eq!(facts[1], fact("alice", Creator, Relation::Own, true));
        assert_eq!(facts[2], fact("alice", Creator, Relation::Other, false));
        assert_eq!(facts[4], fact("alice", Creator, Relation::Other, true));
        // bob's own successful read made it known to him afterwards, not before.
        assert_eq!(facts[5], fact("alice", Creator, Relation::Other, false));
    }

    #[test]
    fn a_full_model_keeps_what_it_has_and_counts_what_it_turned_away() {
        let s = Settings::default();
        let mut model = Ownership {
            caps: Caps {
                objects: 1,
                known_per_principal: 1,
                known: 2,
            },
            ..Ownership::default()
        };
        let post = |id: &str, who: &str, order: &str| {
            returning(
                http(id, (who, ""), "POST", "/orders", 201),
                &[("order_id", order)],
            )
        };
        let events = vec![
            post("c1", "alice", "1"),
            // The model holds one object: order 2's owner is not learnt, nor is it known to
            // alice (one id per principal).
            post("c2", "alice", "2"),
            http("b1", ("bob", ""), "GET", "/orders/1", 200),
            http("b2", ("bob", ""), "GET", "/orders/2", 200),
            // Two ids in all: carol's is learnt, dave's is not.
            post("c3", "carol", "3"),
            post("c4", "dave", "4"),
            http("a2", ("alice", ""), "GET", "/orders/2", 200),
        ];
        let mut facts = Vec::new();
        for mut e in events {
            enrich(&mut model, &mut e, &s, false);
            facts.push(
                e.facts
                    .objects
                    .iter()
                    .map(|o| (o.owner.clone(), o.relation, o.known))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(facts[2], [("alice".into(), Relation::Other, false)]);
        assert_eq!(facts[3], [(SmolStr::default(), Relation::Unknown, false)]);
        assert_eq!(facts[6], [(SmolStr::default(), Relation::Unknown, false)]);
        assert_eq!(model.known.len(), 2);
        // Objects 2 (claimed, then touched by bob and alice), 3 and 4 turned away; ids 2 and 4.
        assert_eq!(model.unlearnt(), (5, 2));
    }

    #[test]
    fn a_location_header_names_the_created_object() {
        let facts = run(
            &Settings::default(),
            vec![
                returning(
                    http("c", ("alice", ""), "POST", "/docs", 201),
                    &[("location", "/docs/d-9")],
                ),
                http("r", ("bob", ""), "GET", "/docs/d-9", 200),
            ],
        );
        assert_eq!(
            facts[1],
            fact("alice", OwnerSource::Creator, Relation::Other, false)
        );
    }

    #[test]
    fn admins_own_nothing_and_a_deleted_object_forgets_its_owner() {
        let s = Settings {
            admins: vec!["admin".into()],
            ..Settings::default()
        };
        let facts = run(
            &s,
            vec![
                http("p", ("admin", ""), "PUT", "/catalog/sku-1", 201),
                http("g", ("bob", ""), "GET", "/catalog/sku-1", 200),
                http("p2", ("alice", ""), "PUT", "/notes/n-1", 201),
                http("d", ("alice", ""), "DELETE", "/notes/n-1", 204),
                http("p3", ("bob", ""), "PUT", "/notes/n-1", 201),
                http("g2", ("bob", ""), "GET", "/notes/n-1", 200),
            ],
        );
        assert_eq!(
            facts[1],
            fact("", OwnerSource::Unknown, Relation::Unknown, false)
        );
        assert_eq!(
            facts[3],
            fact("alice", OwnerSource::Creator, Relation::Own, false)
        );
        assert_eq!(
            facts[5],
            fact("bob", OwnerSource::Creator, Relation::Own, false)
        );
    }

    #[test]
    fn db_creations_and_ownership_conditions_set_owners_and_scope_the_table() {
        let facts = run(
            &Settings::default(),
            vec![
                db(
                    "alice",
                    "PutItem",
                    &[("order_id", "1")],
                    "attribute_not_exists(order_id)",
                ),
                db("bob", "GetItem", &[("order_id", "1")], ""),
                db("bob", "UpdateItem", &[("order_id", "2")], "owner_id = :uid"),
                db("alice", "GetItem", &[("order_id", "2")], ""),
            ],
        );
        assert_eq!(
            facts[1],
            fact("alice", OwnerSource::Creator, Relation::Other, false)
        );
        assert_eq!(
            facts[3],
            fact("bob", OwnerSource::Condition, Relation::Other, false)
        );
        let mut model = Ownership::default();
        let mut e = db("bob", "UpdateItem", &[("order_id", "2")], "owner_id = :uid");
        enrich(&mut model, &mut e, &Settings::default(), false);
        assert!(
            e.facts
                .objects
                .iter()
                .all(|o| o.owner_condition && !o.scoped)
        );
        let mut e = db("carol", "GetItem", &[("order_id", "3")], "");
        enrich(&mut model, &mut e, &Settings::default(), false);
        assert!(e.facts.objects.iter().all(|o| o.scoped));
    }

    #[test]
    fn relations_compare_users_tenants_and_arns() {
        let actor = |p: &str, t: &str| Actor {
            principal: p.into(),
            tenant: t.into(),
            ..Actor::default()
        };
        assert_eq!(
            relation(&actor("alice", "acme"), "alice", ""),
            Relation::Own
        );
        assert_eq!(
            relation(&actor("Alice", ""), "alice", "acme"),
            Relation::Own
        );
        assert_eq!(
            relation(&actor("alice", "acme"), "alice", "globex"),
            Relation::Other
        );
        assert_eq!(relation(&actor("bob", ""), "alice", ""), Relation::Other);
        assert_eq!(relation(&actor("bob", "acme"), "", "acme"), Relation::Own);
        assert_eq!(relation(&actor("bob", ""), "", "acme"), Relation::Unknown);
        let role = "arn:aws:sts::1:assumed-role/app/alice";
        assert_eq!(relation(&actor(role, ""), "alice", ""), Relation::Own);
        assert_eq!(relation(&actor(role, ""), "bob", ""), Relation::Unknown);
        assert_eq!(relation(&actor("", ""), "bob", ""), Relation::Unknown);
    }

    #[test]
    fn grants_transfers_and_unlogged_shares_change_who_may_touch_an_object() {
        let settings = Settings::default();
        fn s(who: &str) -> (&str, &str) {
            (who, "t1")
        }
        let create = returning(
            http("c", s("alice"), "POST", "/docs", 201),
            &[("doc_id", "d-1")],
        );
        let share = returning(
            http("s", s("alice"), "POST", "/docs/d-1/share", 200),
            &[("doc_id", "d-1"), ("grantee", "bob")],
        );
        let bob_reads = http("r", s("bob"), "GET", "/docs/d-1", 200);
        let carol_reads = http("r2", s("carol"), "GET", "/docs/d-1", 200);
        let transfer = returning(
            http("t", s("alice"), "POST", "/docs/d-1/transfer", 200),
            &[("doc_id", "d-1"), ("owner_id", "carol")],
        );
        let carol_writes = http("w", s("carol"), "PUT", "/docs/d-1", 200);
        let alice_reads = http("r3", s("alice"), "GET", "/docs/d-1", 200);
        let out = run(
            &settings,
            vec![
                create,
                share,
                bob_reads,
                carol_reads,
                transfer,
                carol_writes,
                alice_reads,
            ],
        );
        let relations: Vec<Relation> = out.iter().skip(2).map(|o| o[0].2).collect();
        assert_eq!(
            relations,
            [
                Relation::Granted, // bob, on the share list
                Relation::Other,   // carol, not on it
                Relation::Own,     // alice, still its owner, transfers it
                Relation::Own,     // carol, its owner now
                Relation::Other,   // alice, its former owner
            ]
        );
        assert_eq!(out[5][0].1, OwnerSource::Transfer);
        // A share whose response names nobody: another principal may be a grantee.
        let out = run(
            &settings,
            vec![
                returning(
                    http("c", s("alice"), "POST", "/docs", 201),
                    &[("doc_id", "d-2")],
                ),
                http("s", s("alice"), "POST", "/docs/d-2/share", 200),
                http("r", s("mallory"), "GET", "/docs/d-2", 200),
            ],
        );
        assert_eq!(out[2][0].2, Relation::Unknown);
    }

    #[test]
    fn a_put_creates_only_when_it_answers_created() {
        let settings = Settings::default();
        let out = run(
            &settings,
            vec![
                http("p", ("mallory", ""), "PUT", "/docs/d-9", 200),
                http("r", ("bob", ""), "GET", "/docs/d-9", 200),
                http("p2", ("alice", ""), "PUT", "/notes/n-1", 201),
                http("r2", ("bob", ""), "GET", "/notes/n-1", 200),
            ],
        );
        assert_eq!(out[1][0].2, Relation::Unknown);
        assert_eq!(
            (out[3][0].0.as_str(), out[3][0].2),
            ("alice", Relation::Other)
        );
    }

    #[test]
    fn a_db_write_setting_the_owner_attribute_makes_the_owner_unknown() {
        let settings = Settings::default();
        let mut transfer = db(
            "alice",
            "UpdateItem",
            &[("order_id", "o-1")],
            "owner_id = :me",
        );
        if let Detail::DbOperation(d) = &mut transfer.detail {
            d.update_expression = "SET owner_id = :new".into();
        }
        let out = run(
            &settings,
            vec![
                db(
                    "alice",
                    "PutItem",
                    &[("order_id", "o-1")],
                    "attribute_not_exists(order_id)",
                ),
                transfer,
                db("carol", "UpdateItem", &[("order_id", "o-1")], ""),
            ],
        );
        assert_eq!(
            (out[2][0].0.as_str(), out[2][0].1, out[2][0].2),
            ("", OwnerSource::Transfer, Relation::Unknown)
        );
    }
}
