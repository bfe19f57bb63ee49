//! Bursts: TW-TOCTOU-003 (concurrent state-changing requests on one resource, all successful,
//! in the shape of an attack: several principals, or many non-idempotent requests of one) and
//! TW-TOCTOU-004 (failed conditional writes on one item from several requests). A burst opens
//! with its first event and takes every event within the window of it; it is judged when the
//! window has passed (or at the end of the stream). One burst is one finding, at the outermost
//! layer: the DynamoDB writes of requests an HTTP burst reported are not reported again.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tracewarden_sdk::Http;
use tracewarden_sdk::prelude::*;

use crate::model::{DbOp, Seen, seconds, timing};
use crate::options::Options;
use crate::{CONCURRENT, CONFLICT_BURST};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// 003 at HTTP level.
    Http,
    /// 003 at DynamoDB level.
    Write,
    /// 004.
    Conflict,
}

#[derive(Debug)]
struct Member {
    seen: Seen,
    /// The read this write acted on (DynamoDB level).
    check: Option<Seen>,
    /// What it did: `POST`, `UpdateItem`.
    action: String,
    /// How long it ran (HTTP), 0 when unknown.
    duration_ns: u64,
    /// Repeating it does something again (`POST`, `PATCH`; a relative update such as
    /// `SET n = n - :one`), unlike an idempotent `PUT`.
    repeatable: bool,
}

#[derive(Debug)]
struct Burst {
    resource: String,
    who: String,
    first_ns: i64,
    /// One per distinct request.
    members: Vec<Member>,
    requests: Vec<String>,
}

/// Requests of reported HTTP bursts remembered, so their DynamoDB writes are not reported again.
const MAX_REPORTED_REQUESTS: usize = 10_000;

#[derive(Default)]
pub(crate) struct Bursts {
    /// Open bursts by (kind, identity, resource); the identity is empty where bursts gather
    /// several identities (all of them, now: a burst's principals are part of its shape).
    open: BTreeMap<(Kind, String, String), Burst>,
    last_expiry_ns: i64,
    /// The requests of HTTP bursts already reported, oldest first.
    reported: VecDeque<String>,
    reported_set: BTreeSet<String>,
}

impl Bursts {
    /// A successful HTTP request; `names_object`: its path names an object (creations posted
    /// to a collection each make a new object: they race on nothing).
    pub(crate) fn http_request(
        &mut self,
        seen: Seen,
        http: &Http<'_>,
        names_object: bool,
        options: &Options,
        out: &mut Findings,
    ) {
        if !matches!(http.method, "POST" | "PUT" | "PATCH" | "DELETE")
            || seen.who.is_empty()
            || !names_object
            || http.status == 201
        {
            return;
        }
        let request = seen.id().to_owned();
        let member = Member {
            seen,
            check: None,
            action: http.method.to_owned(),
            duration_ns: http.duration_ns,
            repeatable: matches!(http.method, "POST" | "PATCH"),
        };
        self.add(
            Kind::Http,
            http.path.to_owned(),
            request,
            member,
            options,
            out,
        );
    }

    /// A successful DynamoDB write without a state condition, and the read of the item it acted
    /// on.
    pub(crate) fn db_write(
        &mut self,
        op: &DbOp,
        check: Seen,
        options: &Options,
        out: &mut Findings,
    ) {
        if op.seen.who.is_empty() {
            return;
        }
        let request = request_id(op);
        if op
            .seen
            .request
            .as_ref()
            .is_some_and(|r| self.reported_set.contains(&**r))
        {
            return;
        }
        let member = Member {
            seen: op.seen.clone(),
            check: Some(check),
            action: op.operation.to_string(),
            duration_ns: 0,
            // Unless its request is known to be an idempotent `PUT`, a write may do its thing
            // again each time (a read-modify-write of a counter).
            repeatable: op.relative || &*op.method != "PUT",
        };
        self.add(
            Kind::Write,
            op.item.to_string(),
            request,
            member,
            options,
            out,
        );
    }

    /// A conditional write that failed its condition.
    pub(crate) fn conflict(&mut self, op: &DbOp, options: &Options, out: &mut Findings) {
        let request = request_id(op);
        let member = Member {
            seen: op.seen.clone(),
            check: None,
            action: op.operation.to_string(),
            duration_ns: 0,
            repeatable: false,
        };
        // Conflicts are grouped by item alone: the racers are usually different identities.
        self.add(
            Kind::Conflict,
            op.item.to_string(),
            request,
            member,
            options,
            out,
        );
    }

    fn add(
        &mut self,
        kind: Kind,
        resource: String,
        request: String,
        member: Member,
        options: &Options,
        out: &mut Findings,
    ) {
        let who = String::new();
        let window = window(kind, options);
        let key = (kind, who.clone(), resource.clone());
        let time = member.seen.time();
        if let Some(burst) = self.open.get_mut(&key) {
            if time.saturating_sub(burst.first_ns) <= window {
                if !burst.requests.contains(&request) {
                    burst.requests.push(request);
                    burst.members.push(member);
                }
                return;
            }
            if let Some(done) = self.open.remove(&key) {
                self.judge(kind, done, options, out);
            }
        }
        self.open.insert(
            key,
            Burst {
                resource,
                who,
                first_ns: time,
                members: vec![member],
                requests: vec![request],
            },
        );
    }

    /// Judges the bursts whose window has passed.
    pub(crate) fn expire(&mut self, now: i64, options: &Options, out: &mut Findings) {
        let every = options
            .concurrent_window_ns
            .min(options.conflict_window_ns)
            .max(1);
        if now.saturating_sub(self.last_expiry_ns) < every {
            return;
        }
        self.last_expiry_ns = now;
        let done: Vec<_> = self
            .open
            .iter()
            .filter(|((kind, _, _), b)| now.saturating_sub(b.first_ns) > window(*kind, options))
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            if let Some(burst) = self.open.remove(&key) {
                self.judge(key.0, burst, options, out);
            }
        }
    }

    /// Judges every open burst (end of stream): HTTP bursts first, so that their DynamoDB
    /// writes are not reported again.
    pub(crate) fn close_all(&mut self, options: &Options, out: &mut Findings) {
        for ((kind, _, _), burst) in std::mem::take(&mut self.open) {
            self.judge(kind, burst, options, out);
        }
    }

    fn judge(&mut self, kind: Kind, mut burst: Burst, options: &Options, out: &mut Findings) {
        if kind == Kind::Write {
            let reported = &self.reported_set;
            burst.members.retain(|m| {
                !m.seen
                    .request
                    .as_ref()
                    .is_some_and(|r| reported.contains(&**r))
            });
        }
        let requests: Vec<String> = burst
            .members
            .iter()
            .filter_map(|m| m.seen.request.as_deref().map(str::to_owned))
            .collect();
        if judge(kind, burst, options, out) && kind == Kind::Http {
            for r in requests {
                if self.reported_set.insert(r.clone()) {
                    self.reported.push_back(r);
                }
                if self.reported.len() > MAX_REPORTED_REQUESTS
                    && let Some(old) = self.reported.pop_front()
                {
                    self.reported_set.remove(&old);
                }
            }
        }
    }
}

fn window(kind: Kind, options: &Options) -> i64 {
    match kind {
        Kind::Http | Kind::Write => options.concurrent_window_ns,
        Kind::Conflict => options.conflict_window_ns,
    }
}

/// The request a DB operation belongs to, for counting distinct requests: the request when a
/// source says, else the transaction or batch, else the call itself.
fn request_id(op: &DbOp) -> String {
    op.seen
        .request
        .as_deref()
        .map(str::to_owned)
        .or_else(|| (!op.group.is_empty()).then(|| format!("group {}", op.group)))
        .unwrap_or_else(|| op.seen.id().to_owned())
}

/// Judges a closed burst; whether it made a finding.
fn judge(kind: Kind, mut burst: Burst, options: &Options, out: &mut Findings) -> bool {
    let min = match kind {
        Kind::Http | Kind::Write => options.concurrent_min,
        Kind::Conflict => options.conflict_min,
    };
    if kind == Kind::Write {
        // The race: every write's check came before the first write, so each passed the check
        // before any change applied.
        let first = burst
            .members
            .iter()
            .map(|m| m.seen.time())
            .min()
            .unwrap_or_default();
        burst
            .members
            .retain(|m| m.check.as_ref().is_some_and(|c| c.time() <= first));
    }
    let n = burst.members.len();
    if n < min {
        return false;
    }
    let mut principals: Vec<&str> = burst
        .members
        .iter()
        .map(|m| &*m.seen.who)
        .filter(|w| !w.is_empty())
        .collect();
    principals.sort_unstable();
    principals.dedup();
    // The shape of an attack: several principals at once, or one principal repeating an action
    // that does something again each time (not an owner's double submit of one edit).
    if kind != Kind::Conflict
        && principals.len() < 2
        && !(n >= min.max(3) && burst.members.iter().all(|m| m.repeatable))
    {
        return false;
    }
    // Sequential requests that are known not to have overlapped are no race.
    let timed = burst.members.iter().all(|m| m.duration_ns > 0);
    if kind == Kind::Http && timed && !overlapping(&burst.members) {
        return false;
    }
    burst.who = principals.join(",");
    let last = burst
        .members
        .iter()
        .map(|m| m.seen.time())
        .max()
        .unwrap_or(burst.first_ns);
    let spread = seconds(last.saturating_sub(burst.first_ns));
    let seen: Vec<&Seen> = burst.members.iter().map(|m| &m.seen).collect();
    let times = timing(&seen);
    let coarse = seen
        .iter()
        .map(|s| s.precision_ns as i64)
        .max()
        .unwrap_or(1);
    let mut actions: Vec<&str> = burst.members.iter().map(|m| m.action.as_str()).collect();
    actions.sort_unstable();
    actions.dedup();
    let listed = if n > options.max_evidence {
        format!(" (the first {} are listed)", options.max_evidence)
    } else {
        String::new()
    };
    let finding = match kind {
        Kind::Http | Kind::Write => {
            let overlap = kind == Kind::Http && overlapping(&burst.members);
            // One AWS role session is every user of the application that runs as it.
            let shared = matches!(principals.as_slice(), [one] if one.starts_with("arn:") && one.contains(":assumed-role/"));
            let confidence = if coarse > options.concurrent_window_ns || shared {
                Confidence::Low
            } else if overlap {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let level = if kind == Kind::Http {
                "requests"
            } else {
                "writes without a state condition, each after its own read of the item and all \
                 reads before the first write,"
            };
            let by = match principals.as_slice() {
                [one] => format!("`{one}`"),
                many => format!(
                    "{} principals ({})",
                    many.len(),
                    many.iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let mut message = format!(
                "{n} {level} ({}) by {by} on `{}` succeeded within {spread}: every one may have \
                 passed the check before any applied its change (limit overrun).",
                actions.join(", "),
                burst.resource,
            );
            if overlap {
                message.push_str(" Their executions overlapped.");
            }
            if shared {
                message.push_str(
                    " The one principal is an AWS role session, which an application shares among \
                     all its users: these may be several users' requests, or one user's.",
                );
            }
            if coarse > options.concurrent_window_ns {
                message.push_str(&format!(
                    " The {times} are coarser than the {} window: they fell in the same \
                     interval, not necessarily within it.",
                    seconds(options.concurrent_window_ns)
                ));
            } else {
                message.push_str(&format!(" {times}."));
            }
            let principal = if principals.len() == 1 {
                burst.who.clone()
            } else {
                String::new()
            };
            Finding::new(CONCURRENT.id, message)
                .principal(&principal)
                .confidence(confidence)
        }
        Kind::Conflict => {
            let mut who: Vec<&str> = burst
                .members
                .iter()
                .map(|m| &*m.seen.who)
                .filter(|w| !w.is_empty())
                .collect();
            who.sort_unstable();
            who.dedup();
            let confidence = if who.len() >= 2 {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            let by = if who.is_empty() {
                String::new()
            } else {
                format!(
                    " by {} identit{} ({})",
                    who.len(),
                    if who.len() == 1 { "y" } else { "ies" },
                    who.iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let message = format!(
                "{n} conditional writes ({}) on `{}` failed their condition \
                 (ConditionalCheckFailedException) within {spread}, from {n} requests{by}: \
                 racing attempts on one item. The condition rejected them; with optimistic \
                 locking this can be ordinary contention. {times}.",
                actions.join(", "),
                burst.resource,
            );
            Finding::new(CONFLICT_BURST.id, message)
                .principal(&who.join(","))
                .confidence(confidence)
        }
    };
    let role = if kind == Kind::Conflict {
        "conflict"
    } else {
        "concurrent"
    };
    let mut finding = finding.resource(burst.resource.clone());
    if !listed.is_empty() {
        finding.message.push_str(&listed);
    }
    for m in burst.members.iter().take(options.max_evidence) {
        if let Some(check) = &m.check {
            finding = finding.with(check.as_evidence("check"));
        }
        finding = finding.with(m.seen.as_evidence(role));
    }
    finding.time_ns = finding.time_ns.max(last);
    out.push(finding);
    true
}

/// Whether some request started before another had finished (durations known).
fn overlapping(members: &[Member]) -> bool {
    let mut spans: Vec<(i64, i64)> = members
        .iter()
        .filter(|m| m.duration_ns > 0)
        .map(|m| {
            let start = m.seen.time();
            (start, start.saturating_add(m.duration_ns as i64))
        })
        .collect();
    spans.sort_unstable();
    spans
        .iter()
        .zip(spans.iter().skip(1))
        .any(|(earlier, later)| later.0 < earlier.1)
}
