//! Findings held for the report: in memory up to a budget, then in sorted runs on disk, read back
//! merged in report order. An honest rule's incidents grow with its input (a million honest
//! findings on a 10 GB input); held in memory they would make the scan's memory grow with the
//! input too. The report is then written from the runs, one finding at a time.
//!
//! A run is a temporary file of findings, each a compact record ([`super::spill`]), sorted by
//! [`Finding::sort_key`]; it is deleted when the last [`Findings`] holding it is dropped.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::sync::Arc;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{Evidence, Finding, spill};
use crate::bytes::{read_record, write_record};
use crate::rules::{FindingClass, Severity};

/// What the runs hold, as their errors name it.
const FINDINGS: &str = "findings";

/// Bytes of findings one rule file holds in memory before it writes them to a sorted run on
/// disk (the findings' text, as [`Finding::size`] counts it, and a fixed part per finding).
pub const FINDINGS_MEMORY_BYTES: usize = 32 << 20;

/// What a finding costs in memory beyond its text (the struct, its vectors, the allocator).
const FINDING_OVERHEAD: usize = 512;

/// Findings in report order: time, rule, resource, fingerprint ([`Finding::sort_key`]). Some
/// may be in runs on disk; [`Findings::iter`] reads them back merged, and serializing writes
/// them one by one.
#[derive(Debug, Clone)]
pub struct Findings {
    runs: Vec<Run>,
    len: usize,
    /// Bytes of findings held in memory when they are rewritten: the budget they were
    /// written with.
    budget: usize,
    /// What the summary counts of them, kept as they are collected.
    tally: Tally,
}

impl Default for Findings {
    /// None.
    fn default() -> Self {
        Findings {
            runs: Vec::new(),
            len: 0,
            budget: usize::MAX,
            tally: Tally::default(),
        }
    }
}

/// What a report's summary counts of its findings, kept as they are collected: a report counts
/// a million findings held on disk without reading them back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Incident findings.
    pub incidents: u64,
    /// Weakness findings (one per site).
    pub weaknesses: u64,
    /// The weaknesses' occurrences.
    pub occurrences: u64,
    /// By severity (only the severities some finding has).
    pub by_severity: BTreeMap<Severity, u64>,
    /// By OWASP API 2023 id.
    pub owasp: BTreeMap<String, u64>,
    /// By SOC 2 id.
    pub soc2: BTreeMap<String, u64>,
    /// By CWE id.
    pub cwe: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, f: &Finding) {
        match f.class {
            FindingClass::Incident => self.incidents += 1,
            FindingClass::Weakness => {
                self.weaknesses += 1;
                self.occurrences += f.occurrences.unwrap_or(1);
            }
        }
        *self.by_severity.entry(f.severity).or_default() += 1;
        for (map, ids) in [
            (&mut self.owasp, &f.owasp),
            (&mut self.soc2, &f.soc2),
            (&mut self.cwe, &f.cwe),
        ] {
            for id in ids {
                match map.get_mut(id.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        map.insert(id.clone(), 1);
                    }
                }
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.incidents += other.incidents;
        self.weaknesses += other.weaknesses;
        self.occurrences += other.occurrences;
        for (severity, n) in other.by_severity {
            *self.by_severity.entry(severity).or_default() += n;
        }
        for (map, theirs) in [
            (&mut self.owasp, other.owasp),
            (&mut self.soc2, other.soc2),
            (&mut self.cwe, other.cwe),
        ] {
            for (id, n) in theirs {
                *map.entry(id).or_default() += n;
            }
        }
    }
}

/// A sorted run.
#[derive(Debug, Clone)]
enum Run {
    Memory(Arc<Vec<Finding>>),
    /// On disk; its findings' evidence is edited as they are read back.
    Disk(Arc<DiskRun>, Option<EvidenceEdit>),
}

/// An edit of each evidence record ([`Findings::edit_evidence`]), made as a run on disk is read.
#[derive(Clone)]
struct EvidenceEdit(Arc<dyn Fn(&mut Evidence) + Send + Sync>);

impl std::fmt::Debug for EvidenceEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvidenceEdit")
    }
}

impl EvidenceEdit {
    fn apply(&self, finding: &mut Finding) {
        apply_to_evidence(finding, &*self.0);
    }
}

/// Runs `edit` over every evidence record of `finding`, its examples' too.
fn apply_to_evidence(finding: &mut Finding, edit: &dyn Fn(&mut Evidence)) {
    finding.evidence.iter_mut().for_each(edit);
    for example in &mut finding.examples {
        example.evidence.iter_mut().for_each(edit);
    }
}

/// A run on disk.
#[derive(Debug)]
struct DiskRun {
    file: tempfile::NamedTempFile,
    len: usize,
}

impl Run {
    fn len(&self) -> usize {
        match self {
            Run::Memory(v) => v.len(),
            Run::Disk(d, _) => d.len,
        }
    }
}

impl From<Vec<Finding>> for Findings {
    /// The findings, sorted into report order.
    fn from(mut findings: Vec<Finding>) -> Self {
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Findings::in_order(findings)
    }
}

impl Findings {
    /// `findings`, already in report order.
    fn in_order(findings: Vec<Finding>) -> Self {
        let mut tally = Tally::default();
        findings.iter().for_each(|f| tally.add(f));
        Findings {
            len: findings.len(),
            budget: usize::MAX,
            tally,
            runs: if findings.is_empty() {
                Vec::new()
            } else {
                vec![Run::Memory(Arc::new(findings))]
            },
        }
    }
}

impl FromIterator<Finding> for Findings {
    /// The findings, sorted into report order.
    fn from_iter<I: IntoIterator<Item = Finding>>(findings: I) -> Self {
        Findings::from(findings.into_iter().collect::<Vec<_>>())
    }
}

impl Findings {
    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether some are held on disk.
    pub fn spilled(&self) -> bool {
        self.runs.iter().any(|r| matches!(r, Run::Disk(..)))
    }

    /// What the summary counts of them.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The findings in report order. Those on disk are read back as they are reached; an error
    /// reading one (the disk, not the data: the engine wrote it) ends the iteration with it.
    pub fn iter(&self) -> Iter<'_> {
        let mut sources = Vec::with_capacity(self.runs.len());
        let mut heads = BinaryHeap::with_capacity(self.runs.len());
        let mut error = None;
        for run in &self.runs {
            let mut source = match run {
                Run::Memory(v) => Source::Memory(v.iter()),
                Run::Disk(d, edit) => match d.file.reopen() {
                    Ok(file) => Source::Disk(
                        BufReader::with_capacity(1 << 16, file),
                        Vec::new(),
                        edit.clone(),
                    ),
                    Err(e) => {
                        error.get_or_insert(e);
                        continue;
                    }
                },
            };
            match source.next() {
                Some(Ok(first)) => {
                    heads.push(Reverse(Head {
                        finding: first,
                        source: sources.len(),
                    }));
                    sources.push(source);
                }
                Some(Err(e)) => {
                    error.get_or_insert(e);
                }
                None => {}
            }
        }
        Iter {
            sources,
            heads,
            error,
        }
    }

    /// Every finding in memory, in report order: borrowed when none is on disk, else read back.
    /// What the formats drawn for a person (text, Markdown, HTML, SARIF) take.
    pub fn load(&self) -> io::Result<Cow<'_, [Finding]>> {
        if let [Run::Memory(v)] = &self.runs[..] {
            return Ok(Cow::Borrowed(v.as_slice()));
        }
        let mut all = Vec::with_capacity(self.len);
        for f in self.iter() {
            all.push(f?.into_owned());
        }
        Ok(Cow::Owned(all))
    }

    /// The findings of several collections in one, still in report order.
    pub(crate) fn merge(parts: impl IntoIterator<Item = Findings>) -> Findings {
        let mut out = Findings::default();
        for part in parts.into_iter().filter(|p| !p.runs.is_empty()) {
            out.len += part.len;
            out.budget = out.budget.min(part.budget);
            out.runs.extend(part.runs);
            out.tally.merge(part.tally);
        }
        out
    }

    /// Edits every evidence record (of every finding and of its examples) with `edit`: those in
    /// memory now, those on disk as they are read back, so that a million findings on disk are
    /// not written again for it. Evidence is neither in a finding's place in the report order
    /// nor in what the summary counts, so neither changes.
    pub(crate) fn edit_evidence(
        mut self,
        edit: impl Fn(&mut Evidence) + Send + Sync + 'static,
    ) -> Findings {
        let edit: Arc<dyn Fn(&mut Evidence) + Send + Sync> = Arc::new(edit);
        for run in &mut self.runs {
            match run {
                Run::Memory(v) => Arc::make_mut(v)
                    .iter_mut()
                    .for_each(|f| apply_to_evidence(f, &*edit)),
                Run::Disk(_, pending) => {
                    *pending = Some(match pending.take() {
                        None => EvidenceEdit(Arc::clone(&edit)),
                        Some(before) => {
                            let after = Arc::clone(&edit);
                            EvidenceEdit(Arc::new(move |e: &mut Evidence| {
                                (before.0)(e);
                                after(e);
                            }))
                        }
                    })
                }
            }
        }
        self
    }

    /// Rewrites every finding with `edit` (and keeps those it returns `true` for), in report
    /// order, holding in memory no more than the budget they were written with. `edit` must not
    /// change a finding's place in the report order.
    pub(crate) fn rewrite(
        self,
        mut edit: impl FnMut(&mut Finding) -> bool,
    ) -> io::Result<Findings> {
        if !self.spilled() {
            let mut all: Vec<Finding> = Vec::with_capacity(self.len);
            for run in self.runs {
                if let Run::Memory(v) = run {
                    all.extend(Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()));
                }
            }
            // In report order, as a merge of the runs gives it (a stable sort keeps equal keys
            // in run order): `edit` may be a triage that lists what it takes out.
            all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
            all.retain_mut(|f| edit(f));
            return Ok(Findings::in_order(all));
        }
        let mut out = FindingsWriter::new(self.budget);
        for f in self.iter() {
            let mut f = f?.into_owned();
            if edit(&mut f) {
                out.push(f)?;
            }
        }
        out.finish()
    }
}

/// One source of a merge: a run in memory or a run on disk (with its record buffer).
enum Source<'a> {
    Memory(std::slice::Iter<'a, Finding>),
    Disk(BufReader<File>, Vec<u8>, Option<EvidenceEdit>),
}

impl<'a> Source<'a> {
    fn next(&mut self) -> Option<io::Result<Cow<'a, Finding>>> {
        match self {
            Source::Memory(it) => it.next().map(|f| Ok(Cow::Borrowed(f))),
            Source::Disk(reader, record, edit) => match read_record(reader, record, FINDINGS) {
                Ok(None) => None,
                Ok(Some(())) => Some(
                    spill::decode(record)
                        .map(|mut f| {
                            if let Some(edit) = edit {
                                edit.apply(&mut f);
                            }
                            Cow::Owned(f)
                        })
                        .map_err(|d| d.of(FINDINGS)),
                ),
                Err(e) => Some(Err(e)),
            },
        }
    }
}

/// The next finding of one source, ordered by the report order (then by source, so that equal
/// keys come out in a fixed order).
struct Head<'a> {
    finding: Cow<'a, Finding>,
    source: usize,
}

impl Head<'_> {
    fn key(&self) -> ((i64, &str, &str, &str), usize) {
        (self.finding.sort_key(), self.source)
    }
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Head<'_> {}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// [`Findings::iter`].
pub struct Iter<'a> {
    sources: Vec<Source<'a>>,
    heads: BinaryHeap<Reverse<Head<'a>>>,
    error: Option<io::Error>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = io::Result<Cow<'a, Finding>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.heads.clear();
            return Some(Err(e));
        }
        let Reverse(head) = self.heads.pop()?;
        if let Some(source) = self.sources.get_mut(head.source) {
            match source.next() {
                Some(Ok(next)) => self.heads.push(Reverse(Head {
                    finding: next,
                    source: head.source,
                })),
                Some(Err(e)) => self.error = Some(e),
                None => {}
            }
        }
        Some(Ok(head.finding))
    }
}

impl Serialize for Findings {
    /// A sequence, in report order, written as it is read back.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for f in self.iter() {
            let f = f.map_err(|e| {
                S::Error::custom(format!("cannot read back findings held on disk: {e}"))
            })?;
            seq.serialize_element(f.as_ref())?;
        }
        seq.end()
    }
}

impl PartialEq for Findings {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.iter().zip(other.iter()).all(|pair| match pair {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            })
    }
}

/// Collects findings as they come, in any order, holding at most a budget of them in memory and
/// writing the rest to sorted runs on disk.
#[derive(Debug)]
pub(crate) struct FindingsWriter {
    held: Vec<Finding>,
    bytes: usize,
    budget: usize,
    spilled: Vec<Run>,
    len: usize,
    /// Boxed: a writer is moved with its rule file from worker to worker.
    tally: Box<Tally>,
}

impl FindingsWriter {
    /// A writer that holds at most `budget` bytes of findings in memory.
    pub(crate) fn new(budget: usize) -> Self {
        FindingsWriter {
            held: Vec::new(),
            bytes: 0,
            budget,
            spilled: Vec::new(),
            len: 0,
            tally: Box::default(),
        }
    }

    /// Adds one finding; errs only when a run cannot be written to disk.
    pub(crate) fn push(&mut self, finding: Finding) -> io::Result<()> {
        self.bytes += finding.size() + FINDING_OVERHEAD;
        self.tally.add(&finding);
        self.held.push(finding);
        self.len += 1;
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut held = std::mem::take(&mut self.held);
        self.bytes = 0;
        held.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let file = tempfile::NamedTempFile::new()?;
        let mut out = BufWriter::with_capacity(1 << 16, file.as_file());
        let mut record = Vec::new();
        for f in &held {
            record.clear();
            spill::encode(f, &mut record);
            write_record(&mut out, &record)?;
        }
        out.flush()?;
        drop(out);
        self.spilled.push(Run::Disk(
            Arc::new(DiskRun {
                file,
                len: held.len(),
            }),
            None,
        ));
        Ok(())
    }

    /// The findings, in report order.
    pub(crate) fn finish(self) -> io::Result<Findings> {
        let mut runs = self.spilled;
        let mut held = Findings::from(self.held);
        runs.append(&mut held.runs);
        debug_assert_eq!(runs.iter().map(Run::len).sum::<usize>(), self.len);
        Ok(Findings {
            runs,
            len: self.len,
            budget: self.budget,
            tally: *self.tally,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Evidence;
    use crate::rules::{Confidence, FindingClass, Severity};

    fn finding(time_ns: i64, rule: &str, resource: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            title: "t".into(),
            pack: "p".into(),
            severity: Severity::High,
            confidence: Confidence::Low,
            message: format!("{rule} on {resource} at {time_ns}"),
            principal: "alice".into(),
            resource: resource.into(),
            time: crate::time::format_rfc3339(time_ns),
            time_ns,
            owasp: vec!["API1:2023".into()],
            soc2: Vec::new(),
            cwe: Vec::new(),
            evidence: vec![Evidence {
                event_id: format!("e{time_ns}"),
                role: "access".into(),
                source: format!("f.json#{time_ns}"),
                location: None,
                time: None,
                time_ns: None,
            }],
            remediation: "r".into(),
            fingerprint: format!("{time_ns:032x}"),
            class: FindingClass::Incident,
            site: None,
            occurrences: None,
            principals: Vec::new(),
            distinct_principals: None,
            first_seen: None,
            last_seen: None,
            examples: Vec::new(),
        }
    }

    /// A scrambled order of 0..n.
    fn scrambled(n: i64) -> impl Iterator<Item = i64> {
        (0..n).map(move |i| (i * 7919) % n)
    }

    fn collect(f: &Findings) -> Vec<Finding> {
        f.iter().map(|f| f.unwrap().into_owned()).collect()
    }

    #[test]
    fn findings_past_the_budget_go_to_sorted_runs_and_come_back_in_report_order() {
        let mut writer = FindingsWriter::new(8 << 10);
        for t in scrambled(1_000) {
            writer
                .push(finding(t / 2, if t % 2 == 0 { "R-2" } else { "R-1" }, "x"))
                .unwrap();
        }
        let spilled = writer.finish().unwrap();
        assert!(spilled.spilled());
        assert!(spilled.runs.len() > 10, "{} runs", spilled.runs.len());
        assert_eq!(spilled.len(), 1_000);
        let all: Vec<Finding> = scrambled(1_000)
            .map(|t| finding(t / 2, if t % 2 == 0 { "R-2" } else { "R-1" }, "x"))
            .collect();
        let in_memory = Findings::from(all);
        assert!(!in_memory.spilled());
        // The same findings, in the same order, whether they went to disk or not.
        assert_eq!(collect(&spilled), collect(&in_memory));
        assert_eq!(spilled, in_memory);
        let order: Vec<(i64, String)> = collect(&spilled)
            .iter()
            .map(|f| (f.time_ns, f.rule_id.clone()))
            .take(4)
            .collect();
        assert_eq!(
            order,
            [(0, "R-1"), (0, "R-2"), (1, "R-1"), (1, "R-2")].map(|(t, r)| (t, r.to_owned()))
        );
        // Serialized as one array, in that order, byte for byte as the in-memory findings.
        assert_eq!(
            serde_json::to_string(&spilled).unwrap(),
            serde_json::to_string(&in_memory.load().unwrap()).unwrap()
        );
        assert_eq!(spilled.load().unwrap().len(), 1_000);
    }

    #[test]
    fn a_rewrite_edits_and_filters_in_order_and_keeps_the_memory_bound() {
        let mut writer = FindingsWriter::new(4 << 10);
        for t in scrambled(300) {
            writer.push(finding(t, "R-1", "x")).unwrap();
        }
        let rewritten = writer
            .finish()
            .unwrap()
            .rewrite(|f| {
                f.resource = format!("r{}", f.time_ns % 3);
                f.time_ns % 2 == 0
            })
            .unwrap();
        assert!(rewritten.spilled());
        assert_eq!(rewritten.len(), 150);
        let got = collect(&rewritten);
        assert!(got.windows(2).all(|w| w[0].time_ns < w[1].time_ns));
        assert_eq!(got[1].resource, "r2");
        // In memory, the same.
        let small = Findings::from((0..300).map(|t| finding(t, "R-1", "x")).collect::<Vec<_>>())
            .rewrite(|f| {
                f.resource = format!("r{}", f.time_ns % 3);
                f.time_ns % 2 == 0
            })
            .unwrap();
        assert!(!small.spilled());
        assert_eq!(collect(&small), got);
    }

    #[test]
    fn merged_collections_interleave_in_report_order() {
        let a = Findings::from(vec![finding(1, "R-1", "x"), finding(5, "R-1", "x")]);
        let mut w = FindingsWriter::new(0);
        w.push(finding(3, "R-1", "x")).unwrap();
        w.push(finding(1, "R-0", "x")).unwrap();
        let b = w.finish().unwrap();
        let merged = Findings::merge([a, b, Findings::default()]);
        assert_eq!(merged.len(), 4);
        let got: Vec<(i64, String)> = collect(&merged)
            .into_iter()
            .map(|f| (f.time_ns, f.rule_id))
            .collect();
        assert_eq!(
            got,
            [(1, "R-0"), (1, "R-1"), (3, "R-1"), (5, "R-1")].map(|(t, r)| (t, r.to_owned()))
        );
    }

    /// The tally a collection's findings make, counted afresh from them.
    fn counted(f: &Findings) -> Tally {
        let mut tally = Tally::default();
        collect(f).iter().for_each(|f| tally.add(f));
        tally
    }

    #[test]
    fn an_evidence_edit_reaches_findings_in_memory_now_and_on_disk_as_they_are_read() {
        let mut writer = FindingsWriter::new(4 << 10);
        for t in scrambled(300) {
            writer.push(finding(t, "R-1", "x")).unwrap();
        }
        let mut w = FindingsWriter::new(usize::MAX);
        w.push(finding(1_000, "R-2", "y")).unwrap();
        let findings = Findings::merge([writer.finish().unwrap(), w.finish().unwrap()]);
        assert!(findings.spilled());
        let edited = findings
            .edit_evidence(|e| e.role = format!("seen:{}", e.source))
            .edit_evidence(|e| e.time_ns = Some(e.source.len() as i64));
        let got = collect(&edited);
        assert_eq!(got.len(), 301);
        // Every finding, wherever it was held, got both edits in the order they were given.
        for f in &got {
            let e = &f.evidence[0];
            assert_eq!(e.role, format!("seen:f.json#{}", f.time_ns));
            assert_eq!(e.time_ns, Some(e.source.len() as i64));
        }
        // Each read gets the edits again, from the same runs.
        assert_eq!(collect(&edited), got);
        // What was edited is rewritten as it was read, without the edit left pending.
        let rewritten = edited.rewrite(|_| true).unwrap();
        assert_eq!(collect(&rewritten), got);
        assert!(
            rewritten
                .runs
                .iter()
                .all(|r| matches!(r, Run::Memory(_) | Run::Disk(_, None)))
        );
    }

    #[test]
    fn the_tally_is_what_the_findings_count_however_they_were_gathered() {
        let mut writer = FindingsWriter::new(4 << 10);
        for t in scrambled(200) {
            let mut f = finding(t, if t % 3 == 0 { "R-1" } else { "R-2" }, "x");
            f.severity = if t % 4 == 0 {
                Severity::Low
            } else {
                Severity::High
            };
            f.cwe = vec![format!("CWE-{}", t % 5)];
            if t % 7 == 0 {
                f.class = FindingClass::Weakness;
                f.occurrences = Some(t as u64 + 1);
            }
            writer.push(f).unwrap();
        }
        let spilled = writer.finish().unwrap();
        assert!(spilled.spilled());
        let tally = spilled.tally().clone();
        assert_eq!(tally, counted(&spilled));
        assert_eq!((tally.incidents, tally.weaknesses), (171, 29));
        // Weaknesses at t = 0, 7, ..., 196 count t + 1 occurrences each.
        assert_eq!(tally.occurrences, (0..29).map(|k| 7 * k + 1).sum::<u64>());
        assert_eq!(tally.by_severity[&Severity::Low], 50);
        assert_eq!(tally.cwe["CWE-0"], 40);
        assert_eq!(tally.owasp["API1:2023"], 200);
        // Merged and filtered, the tally follows.
        let merged = Findings::merge([spilled, Findings::from(vec![finding(500, "R-3", "z")])]);
        assert_eq!(merged.tally().incidents, 172);
        assert_eq!(merged.tally(), &counted(&merged));
        let kept = merged.rewrite(|f| f.severity == Severity::Low).unwrap();
        assert_eq!(kept.tally(), &counted(&kept));
        assert_eq!(kept.tally().by_severity.get(&Severity::High), None);
    }

    #[test]
    fn a_rewrite_sees_findings_of_several_runs_in_memory_in_report_order() {
        let a = Findings::from(vec![finding(1, "R-1", "x"), finding(5, "R-1", "x")]);
        let b = Findings::from(vec![finding(3, "R-1", "x"), finding(1, "R-0", "x")]);
        let merged = Findings::merge([a, b]);
        assert!(!merged.spilled());
        let mut seen = Vec::new();
        let kept = merged
            .rewrite(|f| {
                seen.push((f.time_ns, f.rule_id.clone()));
                f.time_ns != 3
            })
            .unwrap();
        assert_eq!(
            seen,
            [(1, "R-0"), (1, "R-1"), (3, "R-1"), (5, "R-1")].map(|(t, r)| (t, r.to_owned()))
        );
        assert_eq!(kept.len(), 3);
    }
}
