//! Accessors rules kept rewriting: who acted, what was touched (the item, the resource a finding
//! names, the objects), whether it wrote, which request it belongs to.

use super::{Detail, Event, KeyFact, ObjectFact};
use crate::LinkMethod;

impl<'a> Event<'a> {
    /// Who acted: the principal, else the owner of the event's key as its lifecycle records say
    /// (a gateway log names the key, not always its owner).
    pub fn principal(&self) -> &'a str {
        match (self.actor.principal, self.facts.key) {
            ("", Some(key)) => key.owner,
            (principal, _) => principal,
        }
    }

    /// The acting identity, to tell actors apart when no principal is logged: the principal,
    /// else the key id, the session, the client address; empty when none is known.
    pub fn actor_id(&self) -> &'a str {
        let a = &self.actor;
        [a.principal, a.key_id, a.session, a.ip]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    }

    /// The DynamoDB item a DB operation names: `table/name=value,...` (key parts sorted by
    /// name); `None` when the event is no DB operation or names no table or key.
    pub fn item(&self) -> Option<String> {
        let db = self.db()?;
        if db.table.is_empty() || db.key.is_empty() {
            return None;
        }
        let len = db
            .key
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum::<usize>();
        let mut item = String::with_capacity(db.table.len() + 1 + len);
        item.push_str(db.table);
        item.push('/');
        db.key.push_to(&mut item);
        Some(item)
    }

    /// The resource a finding on this event names: a DB operation's item (else its table), an
    /// HTTP request's path, the key a lifecycle change acted on, an auth decision's resource.
    pub fn resource(&self) -> String {
        match &self.detail {
            Detail::Db(db) => self.item().unwrap_or_else(|| db.table.to_owned()),
            Detail::Http(http) => http.path.to_owned(),
            Detail::Key(key) => key.key_id.to_owned(),
            Detail::Auth(auth) => auth.resource.to_owned(),
        }
    }

    /// Whether the event is a request that changes data: a DB write, an HTTP method other than
    /// GET, HEAD and OPTIONS. A key lifecycle record or an auth decision is not a request of
    /// the actor's: `false`.
    pub fn is_write(&self) -> bool {
        match &self.detail {
            Detail::Http(h) => !["GET", "HEAD", "OPTIONS"]
                .iter()
                .any(|m| h.method.eq_ignore_ascii_case(m)),
            Detail::Db(d) => d.is_write,
            Detail::Key(_) | Detail::Auth(_) => false,
        }
    }

    /// What the key lifecycle ledger knew of the actor's key just before the event.
    pub fn key_fact(&self) -> Option<&KeyFact<'a>> {
        self.facts.key.as_ref()
    }

    /// The objects the event touches, with their owners as known just before it.
    pub fn objects(&self) -> impl Iterator<Item = ObjectFact<'a>> + 'a {
        self.facts.objects.iter()
    }

    /// The request the event belongs to, when a source says: `trace <id>` (an HTTP server span
    /// and its DynamoDB client spans share it), else `request <id>` (the application request id),
    /// else `event <id>` for a strong link (trace, AWS request id or header) to the HTTP request.
    /// A principal-and-time link is too weak to say two calls were one request: `None`.
    pub fn request_key(&self) -> Option<String> {
        let c = &self.correlation;
        let key = |kind: &str, id: &str| {
            let mut key = String::with_capacity(kind.len() + id.len());
            key.push_str(kind);
            key.push_str(id);
            key
        };
        if !c.trace_id.is_empty() {
            Some(key("trace ", c.trace_id))
        } else if !c.app_request_id.is_empty() {
            Some(key("request ", c.app_request_id))
        } else if !c.linked_event.is_empty()
            && matches!(
                c.link,
                LinkMethod::TraceId | LinkMethod::AwsRequestId | LinkMethod::RequestHeader
            )
        {
            Some(key("event ", c.linked_event))
        } else {
            None
        }
    }
}

impl ObjectFact<'_> {
    /// The resource the object names: `collection/id`.
    pub fn resource(&self) -> String {
        format!("{}/{}", self.collection, self.id)
    }
}

#[cfg(test)]
mod tests {
    use crate::SourceRef;
    use crate::prelude::*;
    use crate::testing::EventBuilder;

    #[test]
    fn items_sources_and_request_keys_read_as_written() {
        let e = EventBuilder::db("GetItem", "orders")
            .key("pk", "USER#1")
            .key("sk", "ORDER#7")
            .trace("t-9")
            .build();
        assert_eq!(e.item().as_deref(), Some("orders/pk=USER#1,sk=ORDER#7"));
        assert_eq!(e.request_key().as_deref(), Some("trace t-9"));
        assert_eq!(EventBuilder::db("GetItem", "orders").build().item(), None);
        for (line, record, text) in [
            (0, 0, "a.json#0"),
            (0, 17, "a.json#17"),
            (3, 17, "a.json:3"),
            (0, u64::MAX, "a.json#18446744073709551615"),
        ] {
            let source = SourceRef {
                file: "a.json",
                line,
                record,
                ..SourceRef::default()
            };
            assert_eq!(source.text(), text);
            assert_eq!(source.to_string(), text);
        }
    }

    #[test]
    fn the_principal_falls_back_to_the_key_owner() {
        let key = KeyFact {
            key_id: "AKIA1",
            owner: "alice",
            ..KeyFact::UNKNOWN
        };
        let named = EventBuilder::http("GET", "/a", 200)
            .principal("bob")
            .key_fact(key)
            .build();
        assert_eq!(named.principal(), "bob");
        let anonymous = EventBuilder::http("GET", "/a", 200).key_fact(key).build();
        assert_eq!(anonymous.principal(), "alice");
        assert_eq!(EventBuilder::http("GET", "/a", 200).build().principal(), "");
    }

    #[test]
    fn the_actor_id_is_the_first_known_identity() {
        let e = EventBuilder::http("GET", "/a", 200).key_id("k-1").build();
        assert_eq!(e.actor_id(), "k-1");
        let e = EventBuilder::http("GET", "/a", 200)
            .key_id("k-1")
            .principal("p")
            .build();
        assert_eq!(e.actor_id(), "p");
        assert_eq!(EventBuilder::http("GET", "/a", 200).build().actor_id(), "");
    }

    #[test]
    fn items_and_resources_are_named_as_findings_name_them() {
        let get = EventBuilder::db("GetItem", "orders")
            .key("sk", "v1")
            .key("pk", "o-1")
            .build();
        assert_eq!(get.item().as_deref(), Some("orders/pk=o-1,sk=v1"));
        assert_eq!(get.resource(), "orders/pk=o-1,sk=v1");
        let scan = EventBuilder::db("Scan", "orders").build();
        assert_eq!(scan.item(), None);
        assert_eq!(scan.resource(), "orders");
        assert_eq!(
            EventBuilder::http("GET", "/orders/7", 200)
                .build()
                .resource(),
            "/orders/7"
        );
        let revoke = EventBuilder::lifecycle(KeyAction::Deleted, "AKIA9").build();
        assert_eq!(revoke.resource(), "AKIA9");
        assert_eq!(
            EventBuilder::auth(false, "read", "doc/1")
                .build()
                .resource(),
            "doc/1"
        );
        let object = ObjectFact {
            collection: "orders",
            id: "o-1",
            ..ObjectFact::UNKNOWN
        };
        assert_eq!(object.resource(), "orders/o-1");
    }

    #[test]
    fn writes_are_db_writes_and_changing_methods() {
        assert!(EventBuilder::db("PutItem", "t").build().is_write());
        assert!(!EventBuilder::db("GetItem", "t").build().is_write());
        assert!(EventBuilder::http("post", "/a", 201).build().is_write());
        assert!(!EventBuilder::http("HEAD", "/a", 200).build().is_write());
        assert!(
            !EventBuilder::lifecycle(KeyAction::Created, "k")
                .build()
                .is_write()
        );
        assert!(!EventBuilder::auth(true, "read", "doc").build().is_write());
    }

    #[test]
    fn the_request_key_prefers_the_trace_then_the_app_request_then_a_strong_link() {
        let base = || EventBuilder::db("GetItem", "t");
        let e = base().trace("t1").app_request("r1").build();
        assert_eq!(e.request_key().as_deref(), Some("trace t1"));
        let e = base().app_request("r1").build();
        assert_eq!(e.request_key().as_deref(), Some("request r1"));
        let e = base().linked("h1", LinkMethod::RequestHeader).build();
        assert_eq!(e.request_key().as_deref(), Some("event h1"));
        let e = base().linked("h1", LinkMethod::PrincipalWindow).build();
        assert_eq!(e.request_key(), None);
    }
}
