//! Native test helpers: build events and run a rule over them without WebAssembly.

use crate::event::{AuthDecision, DbOperation, Detail, Http, KeyLifecycle, Pairs};
use crate::{Actor, Correlation, Event, Finding, Findings, KeyAction, Outcome, Rule, SourceRef};

/// Runs rule `R` over `events` (in the given order), then `finish`, and returns every finding.
pub fn run<R: Rule>(events: &[Event<'_>]) -> Vec<Finding> {
    let mut rule = R::default();
    let mut out = Findings::default();
    for event in events {
        rule.on_event(event, &mut out);
    }
    rule.finish(&mut out);
    out.into_vec()
}

/// Builds [`Event`]s for tests from `'static` strings.
///
/// ```
/// use tracewarden_sdk::EventBuilder;
/// let e = EventBuilder::db("GetItem", "orders").key("id", "7").principal("alice").at_secs(3).build();
/// assert_eq!(e.db().map(|d| d.table), Some("orders"));
/// ```
#[derive(Debug, Clone)]
pub struct EventBuilder {
    event: Event<'static>,
    key: Vec<(&'static str, &'static str)>,
}

impl EventBuilder {
    fn new(detail: Detail<'static>) -> Self {
        EventBuilder {
            event: Event {
                id: "e",
                time_ns: 0,
                precision_ns: 1,
                source: SourceRef::default(),
                actor: Actor::default(),
                correlation: Correlation::default(),
                outcome: Outcome::Success,
                detail,
                attributes: Pairs::EMPTY,
            },
            key: Vec::new(),
        }
    }

    /// A successful DynamoDB operation on `table`; writes are recognized by name.
    pub fn db(operation: &'static str, table: &'static str) -> Self {
        Self::new(Detail::Db(DbOperation {
            service: "dynamodb",
            operation,
            table,
            key: Pairs::EMPTY,
            has_condition: false,
            condition: "",
            update_expression: "",
            consistent_read: None,
            index_name: "",
            group_id: "",
            is_write: matches!(
                operation,
                "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
            ),
            error_code: "",
        }))
    }

    /// A successful HTTP exchange.
    pub fn http(method: &'static str, path: &'static str, status: u16) -> Self {
        Self::new(Detail::Http(Http {
            method,
            path,
            route: "",
            status,
            duration_ns: 0,
            query: "",
            params: Pairs::EMPTY,
        }))
    }

    /// A key lifecycle change of `key_id`.
    pub fn lifecycle(action: KeyAction, key_id: &'static str) -> Self {
        Self::new(Detail::Key(KeyLifecycle {
            action,
            key_id,
            owner: "",
            scopes: Pairs::EMPTY,
        }))
    }

    /// An auth decision.
    pub fn auth(allowed: bool, action: &'static str, resource: &'static str) -> Self {
        Self::new(Detail::Auth(AuthDecision {
            allowed,
            action,
            resource,
            policy: "",
        }))
    }

    /// Sets the id.
    pub fn id(mut self, id: &'static str) -> Self {
        self.event.id = id;
        self
    }

    /// Sets the time in whole seconds since the epoch.
    pub fn at_secs(mut self, secs: i64) -> Self {
        self.event.time_ns = secs.saturating_mul(1_000_000_000);
        self
    }

    /// Sets the time in ns.
    pub fn at_ns(mut self, ns: i64) -> Self {
        self.event.time_ns = ns;
        self
    }

    /// Sets the principal.
    pub fn principal(mut self, principal: &'static str) -> Self {
        self.event.actor.principal = principal;
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.event.outcome = outcome;
        self
    }

    /// Adds an item-key part (DB events).
    pub fn key(mut self, name: &'static str, value: &'static str) -> Self {
        self.key.push((name, value));
        self
    }

    /// Sets the condition expression (DB events).
    pub fn condition(mut self, condition: &'static str) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.condition = condition;
            db.has_condition = !condition.is_empty();
        }
        self
    }

    /// Sets the trace id.
    pub fn trace(mut self, trace_id: &'static str) -> Self {
        self.event.correlation.trace_id = trace_id;
        self
    }

    /// The event. Key parts are sorted by name, as the host sends them.
    pub fn build(self) -> Event<'static> {
        let mut event = self.event;
        if let Detail::Db(db) = &mut event.detail
            && !self.key.is_empty()
        {
            let mut key = self.key;
            key.sort_unstable();
            db.key = Pairs::from_slice(Vec::leak(key));
        }
        event
    }
}
