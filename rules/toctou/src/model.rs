//! What the TOCTOU rules keep of an event: who acted, in which request, when and how precisely,
//! and for DynamoDB operations the item, the write's guard and the read's consistency.

use std::rc::Rc;
use tracewarden_sdk::collections::HashMap;

use tracewarden_sdk::SourceRef;
use tracewarden_sdk::prelude::*;

/// Most distinct names [`Names`] shares; past it a name is allocated for the operation that
/// needs it, so a stream of ever new tables or files cannot grow the table.
const MAX_NAMES: usize = 4_096;

/// The names that repeat from event to event (input file, format, table, operation, the
/// request's method and route), each allocated once and shared by the operations kept: every
/// database call is kept as a [`DbOp`], most only for a moment, and allocating each name again
/// was most of what a call cost the rule. Each kind of name remembers its last one, which the
/// next event most often repeats (one file holds thousands of events); the others are looked up.
#[derive(Default)]
pub(crate) struct Names {
    last: [Option<Rc<str>>; NAME_KINDS],
    all: HashMap<Box<str>, Rc<str>>,
}

/// The kinds of names [`Names`] keeps a last one of.
#[derive(Clone, Copy)]
pub(crate) enum Name {
    File,
    Format,
    Operation,
    Table,
    Method,
    Route,
}

/// One last name per [`Name`]: `Route` is its last kind.
const NAME_KINDS: usize = Name::Route as usize + 1;

impl Names {
    pub(crate) fn get(&mut self, kind: Name, name: &str) -> Rc<str> {
        let Some(last) = self.last.get_mut(kind as usize) else {
            return Rc::from(name);
        };
        if let Some(shared) = last.as_ref().filter(|l| ***l == *name) {
            return Rc::clone(shared);
        }
        let shared = match self.all.get(name) {
            Some(shared) => Rc::clone(shared),
            None => {
                let shared: Rc<str> = Rc::from(name);
                if self.all.len() < MAX_NAMES {
                    self.all.insert(name.into(), Rc::clone(&shared));
                }
                shared
            }
        };
        *last = Some(Rc::clone(&shared));
        shared
    }
}

/// The common part of a kept event.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Position in the stream: orders events of equal time as the host ordered them.
    pub seq: u64,
    /// Shared, like the request and the identity: a kept write is cloned into the bursts.
    event_id: Rc<str>,
    time_ns: i64,
    /// Where it was read: its evidence's `source`, written out only when a finding cites it.
    file: Rc<str>,
    record: u64,
    line: u64,
    pub precision_ns: u64,
    pub format: Rc<str>,
    /// The request this event belongs to, when a source says ([`Event::request_key`]): `trace
    /// <id>`, `request <id>` (application request id) or `event <id>` (a strong link to the HTTP
    /// request).
    pub request: Option<Rc<str>>,
    /// The acting identity: the principal, else the key id, session or client address
    /// ([`Event::actor_id`]).
    pub who: Rc<str>,
}

impl Seen {
    pub(crate) fn of(event: &Event<'_>, seq: u64, names: &mut Names) -> Seen {
        Seen {
            seq,
            event_id: event.id.into(),
            time_ns: event.time_ns,
            file: names.get(Name::File, event.source.file),
            record: event.source.record,
            line: event.source.line,
            precision_ns: event.precision_ns.max(1),
            format: names.get(Name::Format, event.source.format),
            request: event.request_key().map(Rc::from),
            who: event.actor_id().into(),
        }
    }

    pub(crate) fn time(&self) -> i64 {
        self.time_ns
    }

    pub(crate) fn id(&self) -> &str {
        &self.event_id
    }

    /// This event as evidence playing `role` (what [`Evidence::of`] makes of it).
    pub(crate) fn as_evidence(&self, role: &str) -> Evidence {
        let source = SourceRef {
            file: &self.file,
            record: self.record,
            line: self.line,
            format: &self.format,
        };
        Evidence {
            event_id: self.event_id.to_string(),
            role: role.to_owned(),
            source: source.text(),
            time_ns: self.time_ns,
        }
    }

    /// Whether `self` certainly happened before `other`: its time plus its precision is not after
    /// the other's time (a one-second CloudTrail time cannot order two events of one second).
    pub(crate) fn surely_before(&self, other: &Seen) -> bool {
        self.time().saturating_add(self.precision_ns as i64) <= other.time()
    }

    /// Whether the two events were made by different requests or identities: `None` when the
    /// sources cannot tell.
    pub(crate) fn other_actor(&self, other: &Seen) -> Option<bool> {
        match (&self.request, &other.request) {
            (Some(a), Some(b)) => Some(a != b),
            _ if !self.who.is_empty() && !other.who.is_empty() => Some(self.who != other.who),
            _ => None,
        }
    }
}

/// What a write's condition protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// No condition.
    None,
    /// A condition on key attributes only (`attribute_exists(pk)`): the item exists, but its
    /// state (owner, status, balance) is not checked.
    ExistenceOnly,
    /// A condition on the item's state.
    State,
}

/// Why a read may return stale state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Staleness {
    /// `ConsistentRead` false or not set on the base table.
    EventuallyConsistent,
    /// Read from a secondary index without `ConsistentRead` (global secondary indexes are always
    /// eventually consistent).
    Index(String),
}

/// A DynamoDB operation on one item.
#[derive(Debug, Clone)]
pub(crate) struct DbOp {
    pub seen: Seen,
    pub operation: Rc<str>,
    pub table: Rc<str>,
    /// `table/name=value,...`: the finding's resource and the item's identity (shared with the
    /// maps and orders that hold the operation by its item).
    pub item: Rc<str>,
    /// Each key part as `table/name=value` (for a query pinned to its partition key only).
    pub parts: Vec<String>,
    pub guard: Guard,
    /// The condition's text (names resolved).
    pub condition: String,
    /// The update only adds to or derives from the item's current values (`ADD c :one`,
    /// `SET n = n - :x`): no update is lost, though a checked limit can still be overrun.
    pub relative: bool,
    pub staleness: Option<Staleness>,
    pub group: String,
    pub is_write: bool,
    pub success: bool,
    pub error_code: String,
    /// The request that issued the call ([`Site::of`]): method and route.
    pub method: Rc<str>,
    pub route: Rc<str>,
    /// The update expression as logged (names resolved).
    pub update: String,
    /// The event that last transferred the item (set its owner), as the enrichment stage saw it
    /// just before this operation; empty when none did.
    pub transfer_event: String,
}

impl DbOp {
    /// The operation of `event`, if it is a DynamoDB operation on a known item.
    pub(crate) fn of(
        event: &Event<'_>,
        db: &DbOperation<'_>,
        seq: u64,
        names: &mut Names,
    ) -> Option<DbOp> {
        let item = event.item()?;
        // Only a condition is judged against the key's names.
        let key_names: Vec<&str> = if db.has_condition {
            db.key.iter().map(|(n, _)| n).collect()
        } else {
            Vec::new()
        };
        let staleness = if db.is_write || db.consistent_read == Some(true) {
            None
        } else if !db.index_name.is_empty() {
            Some(Staleness::Index(db.index_name.to_owned()))
        } else {
            Some(Staleness::EventuallyConsistent)
        };
        Some(DbOp {
            seen: Seen::of(event, seq, names),
            operation: names.get(Name::Operation, db.operation),
            table: names.get(Name::Table, db.table),
            item: item.into(),
            // Looked up apart only for a key of several parts (a query pinned to its partition
            // key); a one-part key's part is the item.
            parts: if db.key.len() > 1 {
                db.key
                    .iter()
                    .map(|(n, v)| format!("{}/{n}={v}", db.table))
                    .collect()
            } else {
                Vec::new()
            },
            guard: guard(db.has_condition, db.condition, &key_names),
            condition: db.condition.to_owned(),
            relative: db.operation == "UpdateItem" && is_relative(db.update_expression),
            staleness,
            group: db.group_id.to_owned(),
            is_write: db.is_write,
            success: event.outcome == Outcome::Success,
            error_code: db.error_code.to_owned(),
            method: names.get(Name::Method, event.facts.request_method),
            route: names.get(Name::Route, event.facts.request_route),
            update: db.update_expression.to_owned(),
            transfer_event: event
                .facts
                .objects
                .iter()
                .find(|o| o.owner_source == OwnerSource::Transfer)
                .map(|o| o.owner_event.to_owned())
                .unwrap_or_default(),
        })
    }

    /// Whether this is a plain read that can serve as a check (not a transaction's
    /// ConditionCheck).
    pub(crate) fn is_read(&self) -> bool {
        !self.is_write && &*self.operation != "ConditionCheck"
    }

    /// Where the call was issued, as [`Site::of`] its event: a weakness's site.
    pub(crate) fn site(&self) -> Site {
        Site {
            method: self.method.to_string(),
            route: self.route.to_string(),
            table: self.table.to_string(),
            operation: self.operation.to_string(),
        }
    }

    /// Whether this read is of the base table (its key names the item, not an index entry).
    pub(crate) fn reads_base_table(&self) -> bool {
        !matches!(self.staleness, Some(Staleness::Index(_)))
    }
}

/// What a condition protects: state when it names a non-key attribute; an unparsable or
/// unlogged condition text gets the benefit of the doubt.
pub(crate) fn guard(has_condition: bool, condition: &str, key_names: &[&str]) -> Guard {
    if !has_condition {
        return Guard::None;
    }
    let names = attributes(condition);
    if names.is_empty() {
        return if condition.trim().is_empty() {
            Guard::State
        } else {
            Guard::ExistenceOnly
        };
    }
    // Key attributes compared with a value (`user_id = :uid`) check whose item it is; only
    // existence tests on the key leave the item's state unchecked.
    let lower = condition.to_ascii_lowercase();
    let compares = condition.contains(['=', '<', '>'])
        || ["begins_with", "contains", "between", " in "]
            .iter()
            .any(|w| lower.contains(w));
    if !compares && names.iter().all(|n| key_names.contains(n)) {
        Guard::ExistenceOnly
    } else {
        Guard::State
    }
}

/// The top-level attribute names an expression refers to (`owner_id` of `owner_id = :uid`,
/// `a` of `a.b[0]`, an unresolved `#name` as written), without functions, keywords and values.
pub(crate) fn attributes(expression: &str) -> Vec<&str> {
    const KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = expression;
    while let Some(c) = rest.chars().next() {
        let after = rest.get(c.len_utf8()..).unwrap_or_default();
        let end = after.find(|c: char| !ident(c)).unwrap_or(after.len());
        if c == ':' || c == '.' {
            // A value placeholder, or a nested path segment: skip its name.
            rest = after.get(end..).unwrap_or_default();
        } else if c == '#' || c.is_ascii_alphabetic() || c == '_' {
            let word = rest.get(..end + 1).unwrap_or_default();
            rest = after.get(end..).unwrap_or_default();
            let function = rest.trim_start_matches(' ').starts_with('(');
            let keyword = KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word));
            if !function && !keyword && !out.contains(&word) {
                out.push(word);
            }
        } else {
            rest = after;
        }
    }
    out
}

/// Whether an update expression only adds to or derives from current values: `ADD`/`DELETE`
/// clauses, and `SET a = a + :n`-style assignments whose right side reads the attribute set.
pub(crate) fn is_relative(update: &str) -> bool {
    let mut any = false;
    for (clause, body) in clauses(update) {
        match clause.as_str() {
            "ADD" | "DELETE" => any = true,
            "SET" => {
                for assignment in split_top_level(body) {
                    let Some((left, right)) = assignment.split_once('=') else {
                        return false;
                    };
                    let target = attributes(left).first().copied().unwrap_or_default();
                    if target.is_empty() || !attributes(right).contains(&target) {
                        return false;
                    }
                    any = true;
                }
            }
            _ => return false,
        }
    }
    any
}

/// The clauses of an update expression: (`SET`/`ADD`/`REMOVE`/`DELETE`, its body).
fn clauses(update: &str) -> Vec<(String, &str)> {
    const CLAUSES: &[&str] = &["SET", "ADD", "REMOVE", "DELETE"];
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut starts: Vec<(usize, usize, &str)> = Vec::new();
    let mut depth = 0i32;
    let mut previous = ' ';
    for (i, c) in update.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 && !ident(previous) {
            let tail = update.get(i..).unwrap_or_default();
            for clause in CLAUSES {
                let word = tail.get(..clause.len());
                let next = tail.get(clause.len()..).and_then(|t| t.chars().next());
                if word.is_some_and(|w| w.eq_ignore_ascii_case(clause))
                    && next.is_none_or(|n| !ident(n))
                {
                    starts.push((i, i + clause.len(), clause));
                }
            }
        }
        previous = c;
    }
    starts
        .iter()
        .enumerate()
        .map(|(n, (_, end, clause))| {
            let stop = starts.get(n + 1).map_or(update.len(), |s| s.0);
            (
                (*clause).to_owned(),
                update.get(*end..stop).unwrap_or_default(),
            )
        })
        .collect()
}

/// Splits on commas outside parentheses.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

/// The sources and precision of some events' times, for a finding's message:
/// `dynamodb_wire (1 µs)`, `cloudtrail (1 s)`.
pub(crate) fn timing(events: &[&Seen]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("times from ");
    // Each source and precision once, in order of first mention: checked against the few named
    // so far, not against every earlier event (a burst can hold thousands).
    let mut named: Vec<(&str, (u64, &str))> = Vec::new();
    for e in events {
        let part = (&*e.format, precision(e.precision_ns));
        if named.contains(&part) {
            continue;
        }
        if !named.is_empty() {
            out.push_str(", ");
        }
        let (format, (n, unit)) = part;
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{format} ({n} {unit})");
        named.push(part);
    }
    out
}

/// A time precision as a number and its unit, rounded down to the unit.
fn precision(ns: u64) -> (u64, &'static str) {
    match ns {
        0 | 1 => (1, "ns"),
        n if n < 1_000 => (n, "ns"),
        n if n < 1_000_000 => (n / 1_000, "µs"),
        n if n < 1_000_000_000 => (n / 1_000_000, "ms"),
        n => (n / 1_000_000_000, "s"),
    }
}

/// A duration for a message: `0.012 s`.
pub(crate) fn seconds(ns: i64) -> String {
    // Whole milliseconds (every gap of one-second or millisecond times, and the windows) are
    // written from integers: the float's three decimals are exactly these, and formatting a
    // float to a precision was a tenth of what a finding cost to build.
    if ns % 1_000_000 == 0 && ns.unsigned_abs() < 1 << 52 {
        let ms = ns.unsigned_abs() / 1_000_000;
        let sign = if ns < 0 { "-" } else { "" };
        return format!("{sign}{}.{:03} s", ms / 1000, ms % 1000);
    }
    format!("{:.3} s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_written_as_the_float_would_be() {
        let float = |ns: i64| format!("{:.3} s", ns as f64 / 1e9);
        let mut cases = vec![
            0,
            1,
            -1,
            999_999,
            1_000_000,
            -1_000_000,
            1_500_000,
            1 << 52,
            -(1 << 52),
        ];
        for k in [
            0i64,
            1,
            7,
            999,
            1000,
            1001,
            59_999,
            86_400_000,
            4_503_599_627,
        ] {
            for ns in [
                k * 1_000_000,
                -k * 1_000_000,
                k * 1_000_000 + 500_000,
                k * 1_000_000 + 1,
            ] {
                cases.push(ns);
            }
        }
        for ns in cases {
            assert_eq!(seconds(ns), float(ns), "{ns}");
        }
        assert_eq!(seconds(10_000_000_000), "10.000 s");
        assert_eq!(seconds(-500_000_000), "-0.500 s");
    }

    #[test]
    fn conditions_are_judged_by_the_attributes_they_name() {
        let key = ["doc_id"];
        assert_eq!(guard(false, "", &key), Guard::None);
        assert_eq!(
            guard(true, "attribute_exists(doc_id)", &key),
            Guard::ExistenceOnly
        );
        assert_eq!(guard(true, "owner_id = :uid", &key), Guard::State);
        assert_eq!(
            guard(true, "attribute_exists(doc_id) AND userId = :uid", &key),
            Guard::State
        );
        assert_eq!(guard(true, "#o = :uid", &key), Guard::State);
        assert_eq!(
            guard(true, "attribute_exists(doc_id) AND doc_id = :mine", &key),
            Guard::State
        );
        assert_eq!(guard(true, "", &key), Guard::State);
        assert_eq!(
            attributes("size(tags.list[0]) > :n AND NOT begins_with(#s, :p) or x IN (:a, :b)"),
            ["tags", "#s", "x"]
        );
    }

    fn seen(format: &str, precision_ns: u64) -> Seen {
        Seen {
            seq: 0,
            event_id: Rc::from("e"),
            time_ns: 0,
            file: Rc::from("f"),
            record: 1,
            line: 0,
            precision_ns,
            format: Rc::from(format),
            request: None,
            who: Rc::from(""),
        }
    }

    #[test]
    fn timing_names_each_source_and_precision_once_in_order() {
        let ct = seen("cloudtrail", 1_000_000_000);
        let wire = seen("dynamodb_wire", 1_000);
        let wire_finer = seen("dynamodb_wire", 1_999);
        assert_eq!(timing(&[&ct, &ct]), "times from cloudtrail (1 s)");
        assert_eq!(
            timing(&[&wire, &ct, &wire_finer, &ct]),
            "times from dynamodb_wire (1 µs), cloudtrail (1 s)"
        );
        assert_eq!(
            timing(&[&seen("otlp", 1), &seen("otlp", 0), &seen("har", 2_500_000)]),
            "times from otlp (1 ns), har (2 ms)"
        );
    }

    #[test]
    fn relative_updates_are_recognized() {
        assert!(is_relative("ADD #c :one"));
        assert!(is_relative(
            "SET balance = balance - :amt, n = if_not_exists(n, :z) + :one"
        ));
        assert!(is_relative("set l = list_append(l, :x) add c :one"));
        assert!(!is_relative("SET used = :t, redeemed_by = :u"));
        assert!(!is_relative("SET a = a + :n REMOVE b"));
        assert!(!is_relative(""));
    }
}
