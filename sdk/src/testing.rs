//! Native test helpers: build events and run a rule over them without WebAssembly.

use crate::event::{
    AuthDecision, DbOperation, Detail, Http, KeyFact, KeyLifecycle, ObjectFact, Objects, Pairs,
};
use crate::{
    Actor, Config, Correlation, Event, Finding, Findings, KeyAction, LinkMethod, Outcome, Rule,
    SourceRef, StateUsage,
};

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

/// Runs rule `R` over `events`, then `finish`, and returns every finding with what its state
/// reports to the host ([`Rule::state`]).
pub fn run_with_state<R: Rule>(events: &[Event<'_>]) -> (Vec<Finding>, Vec<StateUsage>) {
    let mut rule = R::default();
    let mut out = Findings::default();
    for event in events {
        rule.on_event(event, &mut out);
    }
    rule.finish(&mut out);
    (out.into_vec(), rule.state())
}

/// Runs rule `R`, configured with `config`, over `events`, then `finish`; the rule's refusal of
/// its options is the error.
pub fn run_configured<R: Rule>(
    config: &Config,
    events: &[Event<'_>],
) -> Result<Vec<Finding>, String> {
    let mut rule = R::default();
    rule.configure(config)?;
    let mut out = Findings::default();
    for event in events {
        rule.on_event(event, &mut out);
    }
    rule.finish(&mut out);
    Ok(out.into_vec())
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
    attributes: Vec<(&'static str, &'static str)>,
    objects: Vec<ObjectFact<'static>>,
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
                facts: Default::default(),
            },
            key: Vec::new(),
            attributes: Vec::new(),
            objects: Vec::new(),
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

    /// An HTTP exchange; the outcome follows the status (2xx/3xx success, 401/403 denied, 404 not
    /// found, 409/412 conflict, 429 throttled, other 4xx/5xx error).
    pub fn http(method: &'static str, path: &'static str, status: u16) -> Self {
        let outcome = match status {
            401 | 403 => Outcome::Denied,
            404 => Outcome::NotFound,
            409 | 412 => Outcome::Conflict,
            429 => Outcome::Throttled,
            400..=599 => Outcome::Error,
            _ => Outcome::Success,
        };
        Self::new(Detail::Http(Http {
            method,
            path,
            route: "",
            status,
            duration_ns: 0,
            query: "",
            params: Pairs::EMPTY,
            returned_ids: Pairs::EMPTY,
        }))
        .outcome(outcome)
    }

    /// A key lifecycle change of `key_id`.
    pub fn lifecycle(action: KeyAction, key_id: &'static str) -> Self {
        Self::new(Detail::Key(KeyLifecycle {
            action,
            key_id,
            owner: "",
            scopes: Pairs::EMPTY,
            parent_key_id: "",
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

    /// Adds a format-specific attribute (`key_unknown` on an OpenTelemetry span's DB call).
    pub fn attribute(mut self, name: &'static str, value: &'static str) -> Self {
        self.attributes.push((name, value));
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

    /// Sets the application request id.
    pub fn app_request(mut self, app_request_id: &'static str) -> Self {
        self.event.correlation.app_request_id = app_request_id;
        self
    }

    /// Sets the service's request id.
    pub fn request_id(mut self, request_id: &'static str) -> Self {
        self.event.correlation.request_id = request_id;
        self
    }

    /// Links the event to `event_id` (e.g. the HTTP request that caused a DB call).
    pub fn linked(mut self, event_id: &'static str, link: LinkMethod) -> Self {
        self.event.correlation.linked_event = event_id;
        self.event.correlation.link = link;
        self
    }

    /// Sets the time's precision in ns (1_000_000_000 for CloudTrail).
    pub fn precision_ns(mut self, precision_ns: u64) -> Self {
        self.event.precision_ns = precision_ns;
        self
    }

    /// Sets the key id.
    pub fn key_id(mut self, key_id: &'static str) -> Self {
        self.event.actor.key_id = key_id;
        self
    }

    /// Sets where the event came from (`file`, line, format).
    pub fn source(mut self, file: &'static str, line: u64, format: &'static str) -> Self {
        self.event.source = SourceRef {
            file,
            record: line,
            line,
            format,
        };
        self
    }

    /// Sets the update expression (DB events).
    pub fn update(mut self, update_expression: &'static str) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.update_expression = update_expression;
        }
        self
    }

    /// Sets `ConsistentRead` (DB events).
    pub fn consistent(mut self, consistent_read: bool) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.consistent_read = Some(consistent_read);
        }
        self
    }

    /// Sets the secondary index read (DB events).
    pub fn index(mut self, index_name: &'static str) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.index_name = index_name;
        }
        self
    }

    /// Sets the transaction or batch group (DB events).
    pub fn group(mut self, group_id: &'static str) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.group_id = group_id;
        }
        self
    }

    /// Sets the service's error code and the outcome it implies (DB events):
    /// `ConditionalCheckFailedException` and `TransactionCanceledException` are conflicts.
    pub fn error(mut self, error_code: &'static str) -> Self {
        if let Detail::Db(db) = &mut self.event.detail {
            db.error_code = error_code;
        }
        self.event.outcome = match error_code {
            "" => Outcome::Success,
            "ConditionalCheckFailedException" | "TransactionCanceledException" => Outcome::Conflict,
            _ => Outcome::Error,
        };
        self
    }

    /// Sets the duration in ns (HTTP events).
    pub fn duration_ns(mut self, duration_ns: u64) -> Self {
        if let Detail::Http(http) = &mut self.event.detail {
            http.duration_ns = duration_ns;
        }
        self
    }

    /// Sets the route template (HTTP events).
    pub fn route(mut self, route: &'static str) -> Self {
        if let Detail::Http(http) = &mut self.event.detail {
            http.route = route;
        }
        self
    }

    /// Sets the HTTP request that issued the event (method and route template), as the engine's
    /// enrichment stage would: what [`crate::Site::of`] reads.
    pub fn issued_by(mut self, method: &'static str, route: &'static str) -> Self {
        self.event.facts.request_method = method;
        self.event.facts.request_route = route;
        self
    }

    /// Adds an object fact, as the engine's enrichment stage would.
    pub fn object(mut self, object: ObjectFact<'static>) -> Self {
        self.objects.push(object);
        self
    }

    /// Sets the ledger's view of the actor's key, as the enrichment stage would.
    pub fn key_fact(mut self, key: KeyFact<'static>) -> Self {
        self.event.facts.key = Some(key);
        self
    }

    /// Marks the actor privileged, as the enrichment stage does for declared admins.
    pub fn privileged(mut self) -> Self {
        self.event.facts.privileged = true;
        self
    }

    /// Sets the tenant.
    pub fn tenant(mut self, tenant: &'static str) -> Self {
        self.event.actor.tenant = tenant;
        self
    }

    /// Sets the ids an HTTP response returned.
    pub fn returned_ids(mut self, ids: &'static [(&'static str, &'static str)]) -> Self {
        if let Detail::Http(http) = &mut self.event.detail {
            http.returned_ids = Pairs::from_slice(ids);
        }
        self
    }

    /// The event. Key parts and attributes are sorted by name, as the host sends them.
    pub fn build(self) -> Event<'static> {
        let mut event = self.event;
        if !self.attributes.is_empty() {
            let mut attributes = self.attributes;
            attributes.sort_unstable();
            event.attributes = Pairs::from_slice(Vec::leak(attributes));
        }
        if !self.objects.is_empty() {
            event.facts.objects = Objects::from_slice(Vec::leak(self.objects));
        }
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
