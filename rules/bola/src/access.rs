//! TW-BOLA-001 (an object another principal owns) and TW-BOLA-003 (a path or key naming another
//! user or tenant): both read the enrichment stage's object facts of one event. The state kept
//! here only ties a DynamoDB call to the HTTP request it served, so one access is reported once,
//! at the outermost layer the inputs show.

use tracewarden_sdk::prelude::*;

use crate::{CROSS_PRINCIPAL, ID_MISMATCH, verb};

/// How long (log time) an HTTP request is remembered for the DynamoDB calls it makes: longer than
/// the engine links a call to its request (its duration plus 2 s, within a 30 s window), short
/// enough that a busy API does not fill the sandbox.
const REQUEST_MEMORY_NS: i64 = 60_000_000_000;

/// (rule, principal, resource) findings remembered as reported: at least this many, at most
/// twice (~16 MiB of the sandbox's 64). Forgetting one hides nothing: the same access may only
/// be reported again, as a finding of its own with its own time and evidence, so the rule's
/// coverage does not depend on it and `state` does not list it. The shared generator's 11M
/// CloudTrail records (10 GB) make 3.0M distinct findings, 1.8M forgotten, none repeated.
const REPORTED_REMEMBERED: usize = 917_504;

/// An HTTP request, as its DynamoDB calls need it.
struct Request {
    succeeded: bool,
    /// The request named objects, and the actor owned or was granted each that has an owner:
    /// the outermost layer vouches for the calls that served it.
    vouched: bool,
    /// Whether TW-BOLA-001 and TW-BOLA-003 reported it (or would have, but for an earlier
    /// identical finding).
    reported: [bool; 2],
    source: String,
    time_ns: i64,
}

impl Footprint for Request {
    fn footprint(&self) -> usize {
        size_of::<Request>() - size_of::<String>() + self.source.footprint()
    }
}

pub(crate) struct Access {
    /// HTTP requests by event id, for `REQUEST_MEMORY_NS` of log time.
    requests: WindowMap<String, Request>,
    /// (rule, principal, resource) already reported, as 64-bit digests in a fixed memory: a
    /// million honest findings cost ~18 MB here, not their strings, and ten million no more.
    reported: SeenSet,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            requests: WindowMap::new("requests", REQUEST_MEMORY_NS),
            reported: SeenSet::new("reported", REPORTED_REMEMBERED),
        }
    }
}

impl Access {
    pub(crate) fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        self.requests.expire(event.time_ns);
        let is_http = event.http().is_some();
        if is_http {
            let owned: Vec<Relation> = event
                .facts
                .objects
                .iter()
                .filter(|o| !o.owner.is_empty() || !o.owner_tenant.is_empty())
                .map(|o| o.relation)
                .collect();
            let vouched = !owned.is_empty()
                && owned
                    .iter()
                    .all(|r| matches!(r, Relation::Own | Relation::Granted));
            self.requests.insert(
                event.id.to_owned(),
                event.time_ns,
                Request {
                    succeeded: event.outcome == Outcome::Success,
                    vouched,
                    reported: [false; 2],
                    source: event.source.to_string(),
                    time_ns: event.time_ns,
                },
            );
        }
        let principal = event.actor.principal;
        if event.facts.privileged || event.outcome != Outcome::Success || principal.is_empty() {
            return;
        }
        // A DynamoDB call: the request it served, if the inputs hold it.
        let link = event.correlation.linked_event;
        let request = if is_http || link.is_empty() {
            None
        } else {
            match self.requests.get(link) {
                // Refused, or on the actor's own or shared objects: nothing to judge below it.
                Some(r) if !r.succeeded || r.vouched => return,
                other => other.map(|r| (r.reported, r.source.clone(), r.time_ns)),
            }
        };
        let mut done = [false; 2];
        for object in event.facts.objects.iter() {
            if object.relation != Relation::Other {
                continue;
            }
            let rule = match object.owner_source {
                OwnerSource::Creator | OwnerSource::Condition if !object.known => 0,
                OwnerSource::Path
                | OwnerSource::KeyPrefix
                | OwnerSource::KeyAttribute
                | OwnerSource::Mapping => 1,
                _ => continue,
            };
            if done.get(rule).copied().unwrap_or(true)
                || request
                    .as_ref()
                    .is_some_and(|r| r.0.get(rule) == Some(&true))
            {
                continue;
            }
            if let Some(d) = done.get_mut(rule) {
                *d = true;
            }
            if is_http
                && let Some(flag) = self
                    .requests
                    .get_mut(event.id)
                    .and_then(|r| r.reported.get_mut(rule))
            {
                *flag = true;
            }
            let resource = object.resource();
            if !self.reported.insert(&(rule, principal, resource.as_str())) {
                continue;
            }
            let finding = if rule == 0 {
                cross_principal(event, &object, is_http, request.is_some())
            } else {
                id_mismatch(event, &object, is_http, request.is_some())
            };
            let mut finding = finding.principal(principal).resource(resource);
            if crate::shared_identity(principal) {
                finding.message.push_str(crate::SHARED_IDENTITY_NOTE);
                finding = finding.confidence(Confidence::Low);
            }
            if let Some((_, source, time_ns)) = &request {
                finding = finding.with(Evidence {
                    event_id: link.to_owned(),
                    role: "request".to_owned(),
                    source: source.clone(),
                    time_ns: *time_ns,
                });
            }
            if !object.owner_event.is_empty() {
                finding = finding.with(Evidence {
                    event_id: object.owner_event.to_owned(),
                    role: "ownership".to_owned(),
                    source: object.owner_event_source.to_owned(),
                    time_ns: 0,
                });
            }
            out.push(finding);
        }
    }
}

/// `alice` (tenant `acme`): who owns the object.
fn owner_text(object: &ObjectFact<'_>) -> String {
    match (object.owner.is_empty(), object.owner_tenant.is_empty()) {
        (false, false) => format!("`{}` (tenant `{}`)", object.owner, object.owner_tenant),
        (false, true) => format!("`{}`", object.owner),
        (true, _) => format!("tenant `{}`", object.owner_tenant),
    }
}

/// The caveat of a DynamoDB call whose HTTP request the inputs do not hold.
fn db_note(is_http: bool, request_seen: bool) -> &'static str {
    if is_http || request_seen {
        ""
    } else {
        "; the HTTP response is not in the inputs, so the API may still have refused the request"
    }
}

fn cross_principal(
    event: &Event<'_>,
    object: &ObjectFact<'_>,
    is_http: bool,
    request_seen: bool,
) -> Finding {
    let how = match object.owner_source {
        OwnerSource::Condition => "proved ownership with a conditional write",
        _ => "created it",
    };
    let message = format!(
        "`{}`'s {} succeeded on `{}`, which belongs to {}: the owner {how}, and the id was never \
         returned to `{}`{}",
        event.actor.principal,
        verb(event),
        object.resource(),
        owner_text(object),
        event.actor.principal,
        db_note(is_http, request_seen),
    );
    let confidence = if !is_http && !request_seen {
        Confidence::Low
    } else if object.owner_source == OwnerSource::Condition {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Finding::new(CROSS_PRINCIPAL.id, message)
        .confidence(confidence)
        .evidence(event, "access")
}

fn id_mismatch(
    event: &Event<'_>,
    object: &ObjectFact<'_>,
    is_http: bool,
    request_seen: bool,
) -> Finding {
    let place = match object.owner_source {
        OwnerSource::Path => "the path",
        OwnerSource::Mapping if is_http => "the path (mapped route)",
        _ => "the key",
    };
    let whose = if !object.owner.is_empty() {
        format!("user `{}`, not `{}`", object.owner, event.actor.principal)
    } else {
        format!(
            "tenant `{}`, not `{}`'s tenant `{}`",
            object.owner_tenant, event.actor.principal, event.actor.tenant
        )
    };
    let message = format!(
        "`{}`'s {} succeeded on `{}`: {place} names {whose}{}",
        event.actor.principal,
        verb(event),
        object.resource(),
        db_note(is_http, request_seen),
    );
    let confidence = if is_http || request_seen {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Finding::new(ID_MISMATCH.id, message)
        .confidence(confidence)
        .evidence(event, "access")
}
