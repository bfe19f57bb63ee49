//! What one rule file reported over a scan: incidents kept one by one, a weakness rule's findings
//! folded into one per site (occurrences, principals, first and last seen, a few examples), and
//! the bound on a rule's output. Volume is not hostility: a million honest occurrences fold into
//! their sites, an honest rule's incidents grow with its input and so does its bound, and only
//! output no honest rule produces (more than [`MAX_FINDING_BYTES`], or
//! [`FINDING_BYTES_PER_EVENT`] per event it was sent, whichever is more, after folding) stops a
//! rule.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use super::store::{FINDINGS_MEMORY_BYTES, Findings, FindingsWriter};
use super::{Example, Finding, RawFinding, Site, digest};
use crate::rules::{FindingClass, RuleMeta};
use crate::time::format_rfc3339;

/// Most bytes of a finding's message; a longer one is cut at a character boundary and marked.
pub const MAX_MESSAGE_BYTES: usize = 8 << 10;
/// Most bytes of findings (messages, principals, resources, evidence) one rule file may hold
/// after folding. Only a rule that floods its output reaches it.
pub const MAX_FINDING_BYTES: usize = 512 << 20;
/// Bytes of findings (after folding) a rule file may hold per event it was sent, once that is
/// more than [`MAX_FINDING_BYTES`]: an honest rule's incidents grow with its input (TW-BOLA-001
/// holds ~100 bytes per event on the synthetic million, where one call in eight is flagged), so
/// a bound fixed in bytes would stop it on a large enough input.
pub const FINDING_BYTES_PER_EVENT: usize = 256;
/// Evidence records one finding keeps (GitHub code scanning takes at most 1,000 locations per
/// result); past it the rest are counted in the message.
pub const MAX_EVIDENCE: usize = 1_000;
/// Examples kept per weakness site.
pub const MAX_EXAMPLES: usize = 3;
/// Principals listed per weakness site (all are counted).
pub const MAX_LISTED_PRINCIPALS: usize = 50;
/// Distinct principals counted per site; past it the count is a lower bound.
const MAX_COUNTED_PRINCIPALS: usize = 100_000;

/// One rule file's findings as they arrive.
#[derive(Debug)]
pub(crate) struct FindingSink {
    /// Held in memory up to [`FINDINGS_MEMORY_BYTES`], then in sorted runs on disk.
    incidents: FindingsWriter,
    /// By rule, then by site: a finding finds its group without a key built for it. Hashed (with
    /// a per-process seed: sites come from the input), not ordered: a lookup compares no strings
    /// but the one it finds, where an ordered map compared the site's route, table and operation
    /// at every level for each of a rule's occurrences (412,858 on the synthetic million). The
    /// groups are put in order once, when they become findings.
    weaknesses: Weaknesses,
    bytes: usize,
    /// The fixed part of the bound.
    limit: usize,
    /// The bound: `limit`, or [`FINDING_BYTES_PER_EVENT`] per event sent if that is more.
    allowed: usize,
}

impl Default for FindingSink {
    fn default() -> Self {
        FindingSink::with_limit(MAX_FINDING_BYTES)
    }
}

type Seeded = foldhash::fast::RandomState;

/// A weakness at one site.
#[derive(Debug)]
struct Group {
    /// The first occurrence, completed: the folded finding's base.
    first: Finding,
    occurrences: u64,
    /// The distinct principals counted, sorted only when the group becomes a finding. Hashed
    /// with a per-process seed: principals come from the input.
    principals: HashSet<String, foldhash::fast::RandomState>,
    principals_capped: bool,
    first_ns: i64,
    last_ns: i64,
    examples: Vec<Example>,
}

impl FindingSink {
    /// A sink that holds at most `memory` bytes of incidents in memory, the rest on disk.
    pub(crate) fn with_memory(memory: usize) -> Self {
        FindingSink {
            incidents: FindingsWriter::new(memory),
            ..FindingSink::default()
        }
    }

    /// The sink of one of `count` instances of a partitioned rule file: its share of the
    /// file's memory and of the fixed part of its bound (the part per event sent is the same:
    /// each instance counts the events it was sent), so the instances together hold and allow
    /// what one instance would.
    pub(crate) fn partitioned(memory: usize, count: usize) -> Self {
        let count = count.max(1);
        FindingSink {
            incidents: FindingsWriter::new(memory / count),
            ..FindingSink::with_limit(MAX_FINDING_BYTES / count)
        }
    }

    /// A sink that refuses more than `limit` bytes of findings.
    pub(crate) fn with_limit(limit: usize) -> Self {
        FindingSink {
            incidents: FindingsWriter::new(FINDINGS_MEMORY_BYTES),
            weaknesses: HashMap::default(),
            bytes: 0,
            limit,
            allowed: limit,
        }
    }

    /// Raises the bound to [`FINDING_BYTES_PER_EVENT`] per event for `events` sent to the rule
    /// file (counting the batch whose findings come next); never lowers it.
    pub(crate) fn allow_for(&mut self, events: u64) {
        let per_events = usize::try_from(events)
            .unwrap_or(usize::MAX)
            .saturating_mul(FINDING_BYTES_PER_EVENT);
        self.allowed = self.allowed.max(self.limit.max(per_events));
    }

    /// Takes one finding of rule `meta` of `pack`. Errs when the rule's output passes its bound
    /// ([`MAX_FINDING_BYTES`], or [`FINDING_BYTES_PER_EVENT`] per event sent if more).
    pub(crate) fn add(
        &mut self,
        mut raw: RawFinding,
        meta: &RuleMeta,
        pack: &str,
    ) -> Result<(), String> {
        cut_message(&mut raw.message);
        if raw.evidence.len() > MAX_EVIDENCE {
            let omitted = raw.evidence.len() - MAX_EVIDENCE;
            raw.evidence.truncate(MAX_EVIDENCE);
            raw.message
                .push_str(&format!(" ({omitted} more evidence records omitted)"));
        }
        match meta.class {
            FindingClass::Incident => {
                let finding = raw.complete(meta, pack);
                self.bytes += finding.size();
                self.incidents.push(finding).map_err(|e| {
                    format!("its findings could not be held in a temporary file: {e}")
                })?;
            }
            FindingClass::Weakness => {
                let site = raw.site.take().unwrap_or_default();
                self.fold(site, raw, meta, pack);
            }
        }
        if self.bytes > self.allowed {
            return Err(format!(
                "reported more than {} MiB of findings (after folding weaknesses by site; the \
                 bound is {} MiB, or {FINDING_BYTES_PER_EVENT} bytes per event sent if more)",
                self.allowed >> 20,
                self.limit >> 20,
            ));
        }
        Ok(())
    }

    /// Counts a weakness in its site's group. Only the group's first finding is completed
    /// (metadata, time text, fingerprint); later ones add what the group keeps of them.
    fn fold(&mut self, site: Site, raw: RawFinding, meta: &RuleMeta, pack: &str) {
        let sites = match self.weaknesses.get_mut(raw.rule_id.as_str()) {
            Some(sites) => sites,
            None => self.weaknesses.entry(raw.rule_id.clone()).or_default(),
        };
        let group = match sites.get_mut(&site) {
            Some(group) => group,
            None => {
                let finding = raw.clone().complete(meta, pack);
                self.bytes += finding.size() + raw.rule_id.len() + site.label().len();
                sites.entry(site).or_insert(Group {
                    occurrences: 0,
                    principals: HashSet::default(),
                    principals_capped: false,
                    first_ns: finding.time_ns,
                    last_ns: finding.time_ns,
                    examples: Vec::new(),
                    first: finding,
                })
            }
        };
        group.occurrences += 1;
        group.first_ns = group.first_ns.min(raw.time_ns);
        group.last_ns = group.last_ns.max(raw.time_ns);
        group.first.severity = group.first.severity.max(raw.severity(meta));
        group.first.confidence = group.first.confidence.max(raw.confidence(meta));
        if !raw.principal.is_empty() && group.count_principal(&raw.principal) {
            self.bytes += raw.principal.len();
        }
        if group.examples.len() < MAX_EXAMPLES {
            self.bytes += raw.size();
            group.examples.push(Example {
                time: format_rfc3339(raw.time_ns),
                time_ns: raw.time_ns,
                message: raw.message,
                principal: raw.principal,
                resource: raw.resource,
                evidence: raw.evidence,
            });
        }
    }

    /// The incidents, and one finding per weakness site, in report order. Errs when the
    /// incidents could not be written to a temporary file.
    pub(crate) fn into_findings(self) -> std::io::Result<Findings> {
        let mut out = self.incidents;
        push_sites(self.weaknesses, &mut out)?;
        out.finish()
    }

    /// The findings of the instances of one partitioned rule file, `sinks` in partition order,
    /// as one: the incidents of all, and each weakness site's groups folded into one
    /// ([`Group::absorb`]). Errs as [`FindingSink::into_findings`].
    pub(crate) fn merge_into_findings(sinks: Vec<FindingSink>) -> std::io::Result<Findings> {
        let mut parts = Vec::with_capacity(sinks.len() + 1);
        let mut merged: Weaknesses = HashMap::default();
        for sink in sinks {
            parts.push(sink.incidents.finish()?);
            for (rule_id, sites) in sink.weaknesses {
                let into = merged.entry(rule_id).or_default();
                for (site, group) in sites {
                    match into.entry(site) {
                        Entry::Occupied(mut held) => held.get_mut().absorb(group),
                        Entry::Vacant(slot) => {
                            slot.insert(group);
                        }
                    }
                }
            }
        }
        let mut out = FindingsWriter::new(FINDINGS_MEMORY_BYTES);
        push_sites(merged, &mut out)?;
        parts.push(out.finish()?);
        Ok(Findings::merge(parts))
    }
}

/// A rule file's weakness groups: by rule, then by site.
type Weaknesses = HashMap<String, HashMap<Site, Group, Seeded>, Seeded>;

/// One finding per site of `weaknesses`, pushed to `out` in rule and site order.
fn push_sites(weaknesses: Weaknesses, out: &mut FindingsWriter) -> std::io::Result<()> {
    let mut rules: Vec<_> = weaknesses.into_iter().collect();
    rules.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (rule_id, sites) in rules {
        let mut sites: Vec<_> = sites.into_iter().collect();
        sites.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (site, group) in sites {
            out.push(group.into_finding(&rule_id, site))?;
        }
    }
    Ok(())
}

impl Group {
    /// Counts `principal` among the site's distinct principals: true when it is new and kept;
    /// past [`MAX_COUNTED_PRINCIPALS`] a new one is not kept and the count becomes a lower
    /// bound.
    fn count_principal(&mut self, principal: &str) -> bool {
        if self.principals.contains(principal) {
            return false;
        }
        if self.principals.len() < MAX_COUNTED_PRINCIPALS {
            self.principals.insert(principal.to_owned());
            true
        } else {
            self.principals_capped = true;
            false
        }
    }

    /// Folds in the same site's group of a later partition: occurrences and principals counted
    /// together, the span of both, the highest severity and confidence. The base (the message's
    /// `first:`) is the earlier first occurrence, and the examples the earliest of both groups'
    /// (this group's first where times tie): each partition kept its first examples in stream
    /// order, so for a rule that reports as it reads these are the site's earliest.
    fn absorb(&mut self, other: Group) {
        let severity = self.first.severity.max(other.first.severity);
        let confidence = self.first.confidence.max(other.first.confidence);
        if other.first.time_ns < self.first.time_ns {
            self.first = other.first;
        }
        self.first.severity = severity;
        self.first.confidence = confidence;
        self.occurrences += other.occurrences;
        self.first_ns = self.first_ns.min(other.first_ns);
        self.last_ns = self.last_ns.max(other.last_ns);
        self.principals_capped |= other.principals_capped;
        for principal in &other.principals {
            self.count_principal(principal);
        }
        self.examples.extend(other.examples);
        // Stable: where times tie, the earlier partition's examples first.
        self.examples.sort_by_key(|e| e.time_ns);
        self.examples.truncate(MAX_EXAMPLES);
    }

    fn into_finding(self, rule_id: &str, site: Site) -> Finding {
        let Group {
            first,
            occurrences,
            principals,
            principals_capped,
            first_ns,
            last_ns,
            examples,
        } = self;
        let label = site.label();
        let counted = principals.len();
        // The listed principals: the first in order of the counted (up to 100k), found without
        // sorting them all.
        let mut principals: Vec<String> = principals.into_iter().collect();
        if principals.len() > MAX_LISTED_PRINCIPALS {
            principals.select_nth_unstable(MAX_LISTED_PRINCIPALS);
            principals.truncate(MAX_LISTED_PRINCIPALS);
        }
        principals.sort_unstable();
        let who = match (counted, principals_capped) {
            (_, true) => format!("by more than {counted} principals"),
            (0, false) => "by an unknown principal".to_owned(),
            (1, false) => format!(
                "by `{}`",
                principals.first().map(String::as_str).unwrap_or_default()
            ),
            (n, false) => format!("by {n} principals"),
        };
        let span = if first_ns == last_ns {
            format!("at {}", format_rfc3339(first_ns))
        } else {
            format!(
                "from {} to {}",
                format_rfc3339(first_ns),
                format_rfc3339(last_ns)
            )
        };
        let mut message = format!(
            "{occurrences} occurrence{} at {label}, {who}, {span}; first: {}",
            if occurrences == 1 { "" } else { "s" },
            first.message
        );
        cut_message(&mut message);
        let principal = if counted == 1 && !principals_capped {
            principals.first().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let fingerprint = digest(
            [
                rule_id,
                site.method.as_str(),
                site.route.as_str(),
                site.table.as_str(),
                site.operation.as_str(),
            ]
            .into_iter(),
        );
        Finding {
            message,
            principal,
            resource: label,
            time: format_rfc3339(first_ns),
            time_ns: first_ns,
            evidence: examples
                .first()
                .map(|e| e.evidence.clone())
                .unwrap_or_default(),
            fingerprint,
            site: Some(site),
            occurrences: Some(occurrences),
            principals,
            distinct_principals: Some(counted as u64),
            first_seen: Some(format_rfc3339(first_ns)),
            last_seen: Some(format_rfc3339(last_ns)),
            examples,
            ..first
        }
    }
}

/// Cuts `message` to [`MAX_MESSAGE_BYTES`] at a character boundary, marking the cut.
fn cut_message(message: &mut String) {
    if message.len() <= MAX_MESSAGE_BYTES {
        return;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let dropped = message.len() - end;
    message.truncate(end);
    message.push_str(&format!(" … ({dropped} more bytes cut)"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;
    use crate::rules::{Confidence, Partitioning, Severity};

    fn meta(class: FindingClass) -> RuleMeta {
        RuleMeta {
            id: "R-1".into(),
            title: "t".into(),
            description: String::new(),
            severity: Severity::Low,
            confidence: Confidence::Medium,
            owasp: vec![],
            soc2: vec![],
            cwe: vec![],
            remediation: String::new(),
            kinds: vec![],
            operations: vec![],
            requires: vec![],
            partitioning: Partitioning::None,
            class,
        }
    }

    fn all(sink: FindingSink) -> Vec<Finding> {
        sink.into_findings().unwrap().load().unwrap().into_owned()
    }

    fn raw(n: i64, principal: &str, site: Option<Site>) -> RawFinding {
        RawFinding {
            rule_id: "R-1".into(),
            severity: None,
            confidence: None,
            message: format!("write {n}"),
            principal: principal.into(),
            resource: format!("orders/pk=O#{n}"),
            time_ns: n * 1_000_000_000,
            evidence: vec![Evidence {
                event_id: format!("e{n}"),
                role: "use".into(),
                source: format!("f.json:{n}"),
                location: None,
                time: None,
                time_ns: None,
            }],
            site,
        }
    }

    fn site(route: &str) -> Site {
        Site {
            method: "PUT".into(),
            route: route.into(),
            table: "orders".into(),
            operation: "UpdateItem".into(),
        }
    }

    #[test]
    fn partitions_of_a_site_fold_into_what_one_sink_holds_with_the_earliest_examples() {
        let m = meta(FindingClass::Weakness);
        let here = || Some(site("/orders/{id}"));
        // One sink sees the occurrences at 1, 2, 2, 5 s; as two partitions, 2, 5 and 1, 2.
        let mut one = FindingSink::default();
        let mut first = FindingSink::partitioned(FINDINGS_MEMORY_BYTES, 2);
        let mut second = FindingSink::partitioned(FINDINGS_MEMORY_BYTES, 2);
        for (n, who, sink) in [
            (2, "bob", 0),
            (5, "carol", 0),
            (1, "alice", 1),
            (2, "dan", 1),
        ] {
            let mut finding = raw(n, who, here());
            if n == 5 {
                finding.severity = Some(Severity::High);
            }
            let into = if sink == 0 { &mut first } else { &mut second };
            into.add(finding, &m, "p").unwrap();
        }
        for (n, who) in [(1, "alice"), (2, "bob"), (2, "dan"), (5, "carol")] {
            let mut finding = raw(n, who, here());
            if n == 5 {
                finding.severity = Some(Severity::High);
            }
            one.add(finding, &m, "p").unwrap();
        }
        // An incident beside them in each partition.
        let incident = meta(FindingClass::Incident);
        first.add(raw(9, "erin", None), &incident, "p").unwrap();
        let merged = FindingSink::merge_into_findings(vec![first, second])
            .unwrap()
            .load()
            .unwrap()
            .into_owned();
        let (weakness, incidents): (Vec<_>, Vec<_>) =
            merged.into_iter().partition(|f| f.occurrences.is_some());
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].message, "write 9");
        let expected = all(one);
        assert_eq!(weakness, expected);
        // The base is the earliest occurrence; where two tie at 2 s, the first partition's
        // (bob) comes before the second's (dan), as a single sink sent bob first.
        let w = &weakness[0];
        assert_eq!(w.occurrences, Some(4));
        assert_eq!(w.severity, Severity::High);
        assert_eq!(w.distinct_principals, Some(4));
        let examples: Vec<&str> = w.examples.iter().map(|e| e.principal.as_str()).collect();
        assert_eq!(examples, ["alice", "bob", "dan"]);
        assert!(w.message.ends_with("first: write 1"), "{}", w.message);
    }

    #[test]
    fn a_site_lists_its_first_principals_in_order_and_counts_them_all() {
        let mut sink = FindingSink::default();
        let m = meta(FindingClass::Weakness);
        // 120 principals, each twice, arriving out of order.
        for n in 0..240 {
            let who = format!("user{:03}", (n * 37) % 120);
            sink.add(raw(n, &who, Some(site("/orders/{id}"))), &m, "p")
                .unwrap();
        }
        let findings = all(sink);
        let expected: Vec<String> = (0..MAX_LISTED_PRINCIPALS)
            .map(|n| format!("user{n:03}"))
            .collect();
        assert_eq!(findings[0].principals, expected);
        assert_eq!(findings[0].distinct_principals, Some(120));
        assert_eq!(findings[0].occurrences, Some(240));
    }

    #[test]
    fn a_weakness_folds_into_one_finding_per_site_with_its_occurrences() {
        let mut sink = FindingSink::default();
        let m = meta(FindingClass::Weakness);
        for n in 1..=5 {
            let who = if n % 2 == 0 { "bob" } else { "alice" };
            sink.add(raw(n, who, Some(site("/orders/{id}"))), &m, "p")
                .unwrap();
        }
        sink.add(raw(9, "carol", Some(site("/carts/{id}"))), &m, "p")
            .unwrap();
        sink.add(raw(10, "", None), &m, "p").unwrap();
        let findings = all(sink);
        let summary: Vec<(String, u64, Vec<String>, usize)> = findings
            .iter()
            .map(|f| {
                (
                    f.resource.clone(),
                    f.occurrences.unwrap(),
                    f.principals.clone(),
                    f.examples.len(),
                )
            })
            .collect();
        // In report order: by the time of each site's first occurrence.
        assert_eq!(
            summary,
            [
                (
                    "PUT /orders/{id} → orders UpdateItem".to_owned(),
                    5,
                    vec!["alice".to_owned(), "bob".to_owned()],
                    MAX_EXAMPLES
                ),
                (
                    "PUT /carts/{id} → orders UpdateItem".to_owned(),
                    1,
                    vec!["carol".to_owned()],
                    1
                ),
                ("site unknown".to_owned(), 1, vec![], 1),
            ]
        );
        let orders = &findings[0];
        assert_eq!(orders.class, FindingClass::Weakness);
        assert_eq!(
            orders.message,
            "5 occurrences at PUT /orders/{id} → orders UpdateItem, by 2 principals, from \
             1970-01-01T00:00:01Z to 1970-01-01T00:00:05Z; first: write 1"
        );
        assert_eq!(orders.first_seen.as_deref(), Some("1970-01-01T00:00:01Z"));
        assert_eq!(orders.last_seen.as_deref(), Some("1970-01-01T00:00:05Z"));
        assert_eq!(orders.distinct_principals, Some(2));
        assert_eq!(orders.principal, "");
        assert_eq!(orders.evidence[0].event_id, "e1");
        assert_eq!(findings[1].principal, "carol");
        // The fingerprint names the site, not the occurrences: a baseline holds as they grow.
        let mut again = FindingSink::default();
        again
            .add(raw(7, "dave", Some(site("/orders/{id}"))), &m, "p")
            .unwrap();
        assert_eq!(all(again)[0].fingerprint, orders.fingerprint);
    }

    #[test]
    fn incidents_stay_one_by_one_and_only_a_flood_of_bytes_stops_a_rule() {
        let mut sink = FindingSink::with_limit(1 << 20);
        let m = meta(FindingClass::Incident);
        for n in 1..=1000 {
            sink.add(raw(n, "alice", None), &m, "p").unwrap();
        }
        let mut flood = raw(0, "alice", None);
        flood.evidence = (0..MAX_EVIDENCE)
            .map(|i| Evidence {
                event_id: format!("{i:01024}"),
                role: String::new(),
                source: String::new(),
                location: None,
                time: None,
                time_ns: None,
            })
            .collect();
        assert_eq!(
            sink.add(flood, &m, "p"),
            Err(
                "reported more than 1 MiB of findings (after folding weaknesses by site; the \
                 bound is 1 MiB, or 256 bytes per event sent if more)"
                    .into()
            )
        );
        assert_eq!(all(sink).len(), 1001);
    }

    /// An honest rule's incidents grow with its input: past the fixed bound, the rule may hold
    /// [`FINDING_BYTES_PER_EVENT`] per event it was sent, and only more than that stops it.
    #[test]
    fn the_bound_grows_with_the_events_a_rule_was_sent() {
        let m = meta(FindingClass::Incident);
        let mut sink = FindingSink::with_limit(1 << 20);
        // ~50 bytes per finding (`raw`'s message, principal, resource and evidence): 40,000 of
        // them are ~2 MiB, twice the fixed bound, at one finding per 8 events.
        let findings = 40_000;
        sink.allow_for(findings * 8);
        for n in 0..findings as i64 {
            sink.add(raw(n, "alice", None), &m, "p").unwrap();
        }
        // The same findings from a rule sent only 1,000 events: the bound stays the fixed one, and
        // the rule is stopped as before.
        let mut tight = FindingSink::with_limit(1 << 20);
        tight.allow_for(1_000);
        let err = (0..findings as i64)
            .map(|n| tight.add(raw(n, "alice", None), &m, "p"))
            .find_map(Result::err);
        assert_eq!(
            err.as_deref(),
            Some(
                "reported more than 1 MiB of findings (after folding weaknesses by site; the \
                 bound is 1 MiB, or 256 bytes per event sent if more)"
            )
        );
        // The bound never shrinks.
        sink.allow_for(1);
        assert!(sink.add(raw(0, "alice", None), &m, "p").is_ok());
    }

    #[test]
    fn evidence_past_its_bound_is_counted_not_kept() {
        let mut sink = FindingSink::default();
        let evidence = (0..MAX_EVIDENCE + 5)
            .map(|i| Evidence {
                event_id: format!("e{i}"),
                role: String::new(),
                source: String::new(),
                location: None,
                time: None,
                time_ns: None,
            })
            .collect();
        let raw = RawFinding {
            evidence,
            ..raw(1, "alice", None)
        };
        sink.add(raw, &meta(FindingClass::Incident), "p").unwrap();
        let f = all(sink);
        assert_eq!(f[0].evidence.len(), MAX_EVIDENCE);
        assert_eq!(f[0].message, "write 1 (5 more evidence records omitted)");
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let mut message = "é".repeat(MAX_MESSAGE_BYTES);
        cut_message(&mut message);
        assert!(message.starts_with(&"é".repeat(MAX_MESSAGE_BYTES / 2)));
        assert!(message.ends_with(&format!(" … ({} more bytes cut)", MAX_MESSAGE_BYTES)));
    }
}
