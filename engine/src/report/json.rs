//! The JSON reports: one pretty-printed document, or one finding per line (JSON Lines); stable
//! field order, deterministic. Both are written straight to their destination, never held whole
//! in memory: a report of a million findings costs no more than the findings.
//!
//! The document's findings are most of its bytes (430 MB for the synthetic million records), so
//! with several threads they are rendered on all of them, a batch at a time, and written in
//! order: the same bytes as one pretty-printed document, whatever the thread count.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};

use super::Report;
use crate::finding::{Finding, FindingsIter};

/// Findings below which the document is written on one thread.
const PARALLEL_MIN_FINDINGS: usize = 4_096;
/// Findings a thread renders at a time.
const BATCH: usize = 256;
/// Batches rendered ahead of the one being written, at most: what the writer may hold.
const AHEAD: usize = 16;
/// The findings array's place in the document rendered without them. Its two-space indent puts
/// it at the top level: a string holds no raw newline, so the text cannot occur anywhere else.
const EMPTY_FINDINGS: &[u8] = b"\n  \"findings\": []";
/// What every line of a finding is indented by in the document: it stands two levels deep.
const FINDING_INDENT: &[u8] = b"    ";

/// Writes `report` as JSON with a trailing newline, its findings rendered on up to `threads`.
pub(super) fn write(report: &Report, out: &mut impl Write, threads: usize) -> io::Result<()> {
    write_with(report, out, threads, PARALLEL_MIN_FINDINGS)
}

fn write_with(
    report: &Report,
    out: &mut impl Write,
    threads: usize,
    parallel_min: usize,
) -> io::Result<()> {
    if threads < 2 || report.findings.len() < parallel_min {
        serde_json::to_writer_pretty(&mut *out, report)?;
        return out.write_all(b"\n");
    }
    let head = serde_json::to_vec_pretty(&report.fields(false))?;
    let Some(at) = head
        .windows(EMPTY_FINDINGS.len())
        .position(|w| w == EMPTY_FINDINGS)
    else {
        return Err(io::Error::other(
            "the report without its findings has no findings array",
        ));
    };
    // Up to and with `[`, then the findings, then `\n  ]` where `]` was.
    let (before, after) = head.split_at(at + EMPTY_FINDINGS.len() - 1);
    out.write_all(before)?;
    render_findings(report.findings.iter(), out, threads)?;
    out.write_all(b"\n  ")?;
    out.write_all(after)?;
    out.write_all(b"\n")
}

/// What the renderers share: the findings still to render, and how far the writer is.
struct Shared<'a> {
    findings: FindingsIter<'a>,
    /// The next batch's number.
    next: usize,
    /// Batches written.
    written: usize,
    /// Set when the writer gives up (an error): the renderers stop.
    stop: bool,
}

/// Renders the findings as the items of the document's array (each after `\n` or `,\n` and its
/// indent) on `threads` threads, and writes them to `out` in order.
fn render_findings(
    findings: FindingsIter<'_>,
    out: &mut impl Write,
    threads: usize,
) -> io::Result<()> {
    let shared = Mutex::new(Shared {
        findings,
        next: 0,
        written: 0,
        stop: false,
    });
    let room = Condvar::new();
    let (done, rendered) = mpsc::channel::<(usize, io::Result<Vec<u8>>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done = done.clone();
            let (shared, room) = (&shared, &room);
            scope.spawn(move || render(shared, room, &done));
        }
        drop(done);
        let written = write_in_order(&rendered, out, &shared, &room);
        if written.is_err() {
            shared.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
            room.notify_all();
        }
        written
    })
}

/// One renderer: takes the next batch (waiting while [`AHEAD`] batches wait to be written),
/// renders it, and hands it to the writer, until the findings or the writer are done.
fn render(
    shared: &Mutex<Shared<'_>>,
    room: &Condvar,
    done: &mpsc::Sender<(usize, io::Result<Vec<u8>>)>,
) {
    let mut batch: Vec<std::borrow::Cow<'_, Finding>> = Vec::with_capacity(BATCH);
    let mut text = Vec::new();
    loop {
        let number = {
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            while !s.stop && s.next - s.written >= AHEAD {
                s = room.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
            if s.stop {
                return;
            }
            batch.clear();
            let mut error = None;
            for f in s.findings.by_ref().take(BATCH) {
                match f {
                    Ok(f) => batch.push(f),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if batch.is_empty() && error.is_none() {
                return;
            }
            let number = s.next;
            s.next += 1;
            if let Some(e) = error {
                // The batch before the error is not written: the document stops here.
                s.stop = true;
                let _ = done.send((number, Err(e)));
                return;
            }
            number
        };
        let mut bytes = Vec::with_capacity(batch.len() * 2048);
        let rendered = batch.iter().enumerate().try_for_each(|(i, f)| {
            bytes.extend_from_slice(if number == 0 && i == 0 { b"\n" } else { b",\n" });
            bytes.extend_from_slice(FINDING_INDENT);
            text.clear();
            serde_json::to_writer_pretty(&mut text, f.as_ref())?;
            for (j, line) in text.split(|&b| b == b'\n').enumerate() {
                if j > 0 {
                    bytes.push(b'\n');
                    bytes.extend_from_slice(FINDING_INDENT);
                }
                bytes.extend_from_slice(line);
            }
            Ok::<_, io::Error>(())
        });
        if done.send((number, rendered.map(|()| bytes))).is_err() {
            return;
        }
    }
}

/// Writes the rendered batches in their order as they come, telling the renderers how far it is.
fn write_in_order(
    rendered: &mpsc::Receiver<(usize, io::Result<Vec<u8>>)>,
    out: &mut impl Write,
    shared: &Mutex<Shared<'_>>,
    room: &Condvar,
) -> io::Result<()> {
    let mut waiting: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    let mut next = 0;
    for (number, bytes) in rendered {
        waiting.insert(number, bytes?);
        let before = next;
        while let Some(bytes) = waiting.remove(&next) {
            out.write_all(&bytes)?;
            next += 1;
        }
        if next > before {
            shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .written = next;
            room.notify_all();
        }
    }
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(io::Error::other("a batch of findings was not rendered"))
    }
}

/// Writes `report`'s findings as JSON Lines: one compact finding object per line, in report
/// order (the document's `findings` array, item by item).
pub(super) fn write_lines(report: &Report, out: &mut impl Write) -> io::Result<()> {
    for finding in report.findings.iter() {
        serde_json::to_writer(&mut *out, finding?.as_ref())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Evidence, Example, FindingsWriter, Site};
    use crate::report::{Summary, Tool};
    use crate::rules::{Confidence, FindingClass, Severity};

    /// Finding `n`: strings that JSON escapes, a nested weakness every seventh.
    fn finding(n: i64) -> Finding {
        let evidence = |k: i64| Evidence {
            event_id: format!("ev-{k}"),
            role: "use".into(),
            source: format!("logs/a b.json#{k}"),
            location: None,
            time: Some(crate::time::format_rfc3339(k)),
            time_ns: Some(k),
        };
        let weakness = n % 7 == 0;
        Finding {
            rule_id: format!("TW-{}", n % 3),
            title: "line one\nline \"two\"\t\u{e9}\u{1F600}".into(),
            pack: "p".into(),
            severity: Severity::ALL[(n % 5) as usize],
            confidence: Confidence::High,
            message: format!("finding {n}: \\ {{\"findings\": []}} \u{7}"),
            principal: if n % 2 == 0 {
                String::new()
            } else {
                format!("user{n}")
            },
            resource: "Orders/id=1".into(),
            time: crate::time::format_rfc3339(n),
            time_ns: n,
            owasp: vec!["API1:2023".into()],
            soc2: Vec::new(),
            cwe: vec!["CWE-639".into(), "CWE-863".into()],
            evidence: (0..n % 4).map(evidence).collect(),
            remediation: "r".into(),
            fingerprint: format!("{n:032x}"),
            class: if weakness {
                FindingClass::Weakness
            } else {
                FindingClass::Incident
            },
            site: weakness.then(|| Site {
                method: "GET".into(),
                route: "/orders/{id}".into(),
                table: "Orders".into(),
                operation: "GetItem".into(),
            }),
            occurrences: weakness.then_some(3),
            principals: if weakness {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
            distinct_principals: weakness.then_some(2),
            first_seen: weakness.then(|| crate::time::format_rfc3339(n)),
            last_seen: weakness.then(|| crate::time::format_rfc3339(n + 1)),
            examples: if weakness {
                vec![Example {
                    time: crate::time::format_rfc3339(n),
                    time_ns: n,
                    message: "first\nexample".into(),
                    principal: "a".into(),
                    resource: "Orders/id=1".into(),
                    evidence: vec![evidence(n), evidence(n + 1)],
                }]
            } else {
                Vec::new()
            },
        }
    }

    /// A report of `n` findings, held on disk past a few KiB.
    fn report(n: i64) -> Report {
        let mut writer = FindingsWriter::new(16 << 10);
        for k in (0..n).rev() {
            writer.push(finding(k)).unwrap();
        }
        let mut report = Report {
            schema_version: crate::report::SCHEMA_VERSION,
            tool: Tool {
                name: "tracewarden",
                version: "0.1.0",
                contract: "tracewarden:rule@1.2.0".into(),
            },
            inputs: Vec::new(),
            rules: Vec::new(),
            findings: writer.finish().unwrap(),
            summary: Summary::default(),
            baseline: None,
            baselined: Vec::new(),
            suppressions: None,
            suppressed: Vec::new(),
            // The findings array's text inside a string: escaped, so not where it is spliced.
            warnings: vec!["\n  \"findings\": []".into()],
            rule_errors: Vec::new(),
            complete: false,
            incomplete: vec!["a rule was stopped".into()],
            working_directory: None,
        };
        report.recount();
        report
    }

    fn written(report: &Report, threads: usize, parallel_min: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write_with(report, &mut out, threads, parallel_min).unwrap();
        out
    }

    #[test]
    fn findings_rendered_on_several_threads_make_the_same_bytes_as_one_document() {
        for n in [0, 1, 2, 255, 256, 257, 3_000] {
            let report = report(n);
            assert_eq!(report.findings.len(), n as usize);
            let mut one = serde_json::to_vec_pretty(&report).unwrap();
            one.push(b'\n');
            assert_eq!(written(&report, 1, 1), one, "{n} findings on one thread");
            for threads in [2, 3, 8] {
                assert!(
                    written(&report, threads, 1) == one,
                    "{n} findings on {threads} threads differ"
                );
            }
            // Below the bound, one thread.
            assert_eq!(written(&report, 2, n as usize + 1), one);
            let back: serde_json::Value = serde_json::from_slice(&one).unwrap();
            assert_eq!(back["findings"].as_array().unwrap().len(), n as usize);
        }
        assert!(report(3_000).findings.spilled());
    }

    #[test]
    fn a_writer_that_fails_stops_the_renderers_and_names_its_error() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let report = report(3_000);
        let err = write_with(&report, &mut Full(100_000), 2, 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(err.to_string(), "disk full");
    }
}
