//! Reading inputs on worker threads, between format detection and the merge of sorted runs: each
//! worker takes the next input in path order, reads it with [`read_input`] and sorts its events
//! into runs of its own [`Sorter`]; a worker with no input left parses chunks of the JSON-lines
//! inputs others are reading ([`lines`](super::lines)). Events are keyed by time, input and place
//! within the input, so the merged stream is the same whatever the number of workers and
//! whichever worker read what; the accounting of each input is its reader's alone.
//!
//! Memory: one input in flight per worker, a few chunks of each JSON-lines input, whole documents
//! of at most [`MAX_INPUT_BYTES`] in all being read at once (or one larger), and the sort budget
//! shared out between the readers' runs. With one thread everything happens on the calling
//! thread.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};

use super::lines::{CHUNK_BYTES, CHUNKS_IN_FLIGHT};
use super::locate::PlaceSpill;
use super::sort::Sorter;
use super::source::{MAX_INPUT_BYTES, Opened, Origin};
use super::{IngestOptions, InputReport, read_input};
use crate::error::Error;

/// An input to read: where it is, whether it was named on the command line, and the name its
/// positional event ids give it.
pub(super) type Input = (Origin, bool, String);

/// Reads `inputs` (in path order) on up to `options.threads` threads. Returns one report per
/// input, in that order, and the sorters holding the events; or the first error in read order,
/// as reading them one after another would.
pub(super) fn read_all(
    inputs: &[Input],
    options: &IngestOptions,
) -> Result<(Vec<InputReport>, Vec<Sorter>), Error> {
    // One input needs helpers only to parse chunks of its lines, which a small file has not.
    let helped = match inputs {
        [(Origin::File(path), ..)] => {
            std::fs::metadata(path).is_ok_and(|m| m.len() > 2 * CHUNK_BYTES as u64)
        }
        [(Origin::Unread(..), ..)] | [] => false,
        _ => true,
    };
    let workers = if helped { options.threads.max(1) } else { 1 };
    let places = PlaceSpill::new(options.places_budget_bytes);
    if workers == 1 {
        let mut sorter = Sorter::new(options.sort_budget_bytes);
        let mut reports = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            reports.push(read_one(i, input, options, &places, None, &mut sorter)?);
        }
        return Ok((reports, vec![sorter]));
    }
    let jobs = Jobs::new(inputs.len());
    // Only workers that read an input fill their sorter.
    let share = options.sort_budget_bytes / workers.min(inputs.len()).max(1);
    let work = || {
        let mut sorter = Sorter::new(share);
        let mut done = Vec::new();
        while let Some(work) = jobs.next() {
            match work {
                Work::Job(job) => job(),
                Work::Input(mut claimed) => {
                    let Some(input) = inputs.get(claimed.input) else {
                        continue;
                    };
                    let read = read_one(
                        claimed.input,
                        input,
                        options,
                        &places,
                        Some(&jobs),
                        &mut sorter,
                    );
                    claimed.failed = read.is_err();
                    done.push((claimed.input, read));
                }
            }
        }
        (sorter, done)
    };
    let finished = std::thread::scope(|scope| {
        // The calling thread is a worker too; a thread the system refuses is one worker less.
        let helpers: Vec<_> = (1..workers)
            .filter_map(|n| {
                std::thread::Builder::new()
                    .name(format!("tracewarden-read-{n}"))
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        let mut finished = vec![work()];
        for helper in helpers {
            match helper.join() {
                Ok(f) => finished.push(f),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        finished
    });
    let mut sorters = Vec::with_capacity(finished.len());
    let mut results: Vec<Option<Result<InputReport, Error>>> =
        (0..inputs.len()).map(|_| None).collect();
    for (sorter, done) in finished {
        sorters.push(sorter);
        for (i, read) in done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(read);
            }
        }
    }
    let mut reports = Vec::with_capacity(inputs.len());
    for result in results {
        match result {
            Some(read) => reports.push(read?),
            // Only inputs after a failed one are left unread, and that one returned first.
            None => break,
        }
    }
    Ok((reports, sorters))
}

/// Reads input `i` into `sorter`, keying each event by its time, `i` and its place in the input.
fn read_one<'a>(
    i: usize,
    (origin, named, id_name): &'a Input,
    options: &'a IngestOptions,
    places: &std::sync::Arc<PlaceSpill>,
    jobs: Option<&Jobs<'a>>,
    sorter: &mut Sorter,
) -> Result<InputReport, Error> {
    let input = u32::try_from(i).unwrap_or(u32::MAX);
    let mut seq = 0u64;
    let report = read_input(
        origin,
        id_name,
        *named,
        options,
        places,
        jobs,
        &mut |event| {
            seq += 1;
            if let Some(progress) = &options.progress {
                progress.event();
            }
            sorter
                .push((event.time_ns, input, seq, 0), input, event)
                .map_err(|source| Error::Io {
                    path: std::env::temp_dir(),
                    source,
                })
        },
    )?;
    if let Some(progress) = &options.progress {
        progress.file_done();
    }
    Ok(report)
}

type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// A reader's chunks, parsed on the pool's threads and taken back in the order they were
/// handed out: at most [`CHUNKS_IN_FLIGHT`] at once, so an input's text and records held
/// between reading and replaying stay bounded.
pub(super) struct InOrder<'j, 'a, T> {
    jobs: &'j Jobs<'a>,
    in_flight: VecDeque<mpsc::Receiver<T>>,
}

impl<'j, 'a, T: Send + 'a> InOrder<'j, 'a, T> {
    pub(super) fn new(jobs: &'j Jobs<'a>) -> Self {
        InOrder {
            jobs,
            in_flight: VecDeque::new(),
        }
    }

    /// Whether another chunk may be handed out.
    pub(super) fn has_room(&self) -> bool {
        self.in_flight.len() < CHUNKS_IN_FLIGHT
    }

    /// Hands out `job`, whose result [`InOrder::next`] gives back after those handed out before.
    pub(super) fn submit(&mut self, job: impl FnOnce() -> T + Send + 'a) {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs.submit(move || {
            // The reader stopped waiting when the send fails: nothing to do.
            let _ = tx.send(job());
        });
        self.in_flight.push_back(rx);
    }

    /// The result of the oldest job handed out, running queued jobs while it is not there; `None`
    /// when none is out, an error when its thread stopped without one.
    pub(super) fn next(&mut self) -> Option<Result<T, String>> {
        let rx = self.in_flight.pop_front()?;
        Some(
            self.jobs
                .wait(rx)
                .ok_or_else(|| "a reading thread stopped".to_owned()),
        )
    }
}

/// The work the readers share: inputs still to read, in path order, and jobs (parsing chunks of
/// the inputs being read), which come first; and the gate on whole documents read at once.
pub(super) struct Jobs<'a> {
    state: Mutex<State<'a>>,
    changed: Condvar,
    /// Bytes of whole documents being read.
    documents: Mutex<u64>,
    document_done: Condvar,
}

struct State<'a> {
    queue: VecDeque<Job<'a>>,
    next_input: usize,
    inputs: usize,
    /// The first input whose reading failed: later ones are not started (reading in order
    /// would never have reached them).
    failed: usize,
    /// Inputs being read: jobs may still come while one is.
    reading: usize,
}

enum Work<'j, 'a> {
    Job(Job<'a>),
    Input(Claimed<'j, 'a>),
}

/// An input a worker is reading; when dropped (read, or the worker unwinding), the others learn
/// it is done.
struct Claimed<'j, 'a> {
    jobs: &'j Jobs<'a>,
    input: usize,
    failed: bool,
}

impl Drop for Claimed<'_, '_> {
    fn drop(&mut self) {
        let mut s = self.jobs.lock();
        s.reading -= 1;
        if self.failed {
            s.failed = s.failed.min(self.input);
        }
        drop(s);
        self.jobs.changed.notify_all();
    }
}

impl<'a> Jobs<'a> {
    fn new(inputs: usize) -> Self {
        Jobs {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                next_input: 0,
                inputs,
                failed: usize::MAX,
                reading: 0,
            }),
            changed: Condvar::new(),
            documents: Mutex::new(0),
            document_done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<'a>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` for the first worker free.
    fn submit(&self, job: impl FnOnce() + Send + 'a) {
        self.lock().queue.push_back(Box::new(job));
        self.changed.notify_one();
    }

    /// What a submitted job sends on `rx`, running queued jobs while it is not there; `None`
    /// when the job's thread stopped without sending.
    fn wait<T>(&self, rx: mpsc::Receiver<T>) -> Option<T> {
        loop {
            match rx.try_recv() {
                Ok(v) => return Some(v),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let job = self.lock().queue.pop_front();
            match job {
                Some(job) => job(),
                // Another worker has it.
                None => return rx.recv().ok(),
            }
        }
    }

    /// A worker's next work: a queued job, else the next input; `None` once no input is left to
    /// read and none is being read.
    fn next(&self) -> Option<Work<'_, 'a>> {
        let mut s = self.lock();
        loop {
            if let Some(job) = s.queue.pop_front() {
                return Some(Work::Job(job));
            }
            if s.next_input < s.inputs && s.next_input <= s.failed {
                let input = s.next_input;
                s.next_input += 1;
                s.reading += 1;
                return Some(Work::Input(Claimed {
                    jobs: self,
                    input,
                    failed: true,
                }));
            }
            if s.reading == 0 {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Whether every input has been claimed (or will not be read): a worker that finishes its
    /// input finds nothing but jobs to run.
    pub(super) fn all_claimed(&self) -> bool {
        let s = self.lock();
        s.next_input >= s.inputs || s.next_input > s.failed
    }

    /// Waits until the document `opened` can be read whole with the others being read: their
    /// sizes (decompressed, as far as known) at most [`MAX_INPUT_BYTES`] in all, or it alone.
    /// Held until the pass is dropped.
    pub(super) fn enter_document(&self, origin: &Origin, opened: &Opened) -> DocumentPass<'_, 'a> {
        let bytes = document_bytes(origin, opened);
        let mut held = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *held > 0 && *held + bytes > MAX_INPUT_BYTES {
            held = self
                .document_done
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *held += bytes;
        DocumentPass { jobs: self, bytes }
    }
}

/// A document's share of the bytes read whole at once.
pub(super) struct DocumentPass<'j, 'a> {
    jobs: &'j Jobs<'a>,
    bytes: u64,
}

impl Drop for DocumentPass<'_, '_> {
    fn drop(&mut self) {
        let mut held = self
            .jobs
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *held -= self.bytes;
        drop(held);
        self.jobs.document_done.notify_all();
    }
}

/// How many bytes reading `opened` whole takes, as far as can be told before: a plain file's
/// size; a gzip file's size as its trailer states it (exact for one gzip member); otherwise the
/// most a document may have.
fn document_bytes(origin: &Origin, opened: &Opened) -> u64 {
    let trailer = || {
        let Origin::File(path) = origin else {
            return None;
        };
        let mut file = std::fs::File::open(path).ok()?;
        file.seek(SeekFrom::End(-4)).ok()?;
        let mut size = [0u8; 4];
        file.read_exact(&mut size).ok()?;
        Some(u64::from(u32::from_le_bytes(size)))
    };
    match (opened.size, opened.gzip) {
        (Some(size), _) => size,
        (None, true) => trailer().unwrap_or(MAX_INPUT_BYTES),
        (None, false) => MAX_INPUT_BYTES,
    }
    .clamp(1, MAX_INPUT_BYTES)
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::PathBuf;

    use super::super::{IngestOptions, read_inputs};

    /// A CloudTrail DynamoDB record at `time`; without `event_id` its id is positional.
    fn trail(time: &str, event_id: Option<&str>, key: &str) -> String {
        let id = event_id.map_or(String::new(), |id| format!(r#""eventID":"{id}","#));
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u{key}","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE{key}"}},"eventTime":"{time}","eventSource":"dynamodb.amazonaws.com","eventName":"GetItem","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","requestParameters":{{"tableName":"orders","key":{{"orderId":"o-{key}"}}}},"responseElements":null,"requestID":"REQ{key}",{id}"eventType":"AwsApiCall","recipientAccountId":"111122223333"}}"#
        )
    }

    /// Eight inputs whose records share their times across files: positional and source-given
    /// ids, the same call in two files (merged), a malformed line, a blank line, a document.
    fn inputs(dir: &std::path::Path) -> Vec<PathBuf> {
        let times = ["2026-03-14T12:00:00Z", "2026-03-14T12:00:01Z"];
        let mut paths = Vec::new();
        for f in 0..8 {
            let mut text = String::new();
            for r in 0..30 {
                let time = times[r % 2];
                let line = match (f, r % 5) {
                    (_, 0) => trail(time, None, &format!("{f}-{r}")),
                    // The same call in every file: merged into the first one read.
                    (_, 1) => trail(time, Some("shared-call"), "shared"),
                    (3, 2) => "{not json".to_owned(),
                    (5, 2) => String::new(),
                    _ => trail(time, Some(&format!("id-{f}-{r}")), &format!("{f}-{r}")),
                };
                writeln!(text, "{line}").unwrap();
            }
            let path = if f == 6 {
                let records: Vec<String> = (0..12)
                    .map(|r| trail(times[r % 2], None, &format!("doc-{r}")))
                    .collect();
                let path = dir.join("f6.json");
                std::fs::write(&path, format!(r#"{{"Records":[{}]}}"#, records.join(","))).unwrap();
                path
            } else {
                let path = dir.join(format!("f{f}.jsonl"));
                std::fs::write(&path, text).unwrap();
                path
            };
            paths.push(path);
        }
        paths
    }

    #[test]
    fn the_stream_and_the_accounting_do_not_depend_on_the_threads_or_the_spills() {
        let dir = tempfile::tempdir().unwrap();
        let paths = inputs(dir.path());
        let read = |threads, sort_budget_bytes| {
            read_inputs(
                &paths,
                &IngestOptions {
                    threads,
                    sort_budget_bytes,
                    ..IngestOptions::default()
                },
            )
            .unwrap()
        };
        let serial = read(1, usize::MAX);
        assert!(serial.events.len() > 150, "{}", serial.events.len());
        assert!(serial.inputs.iter().map(|i| i.merged).sum::<u64>() >= 7);
        assert_eq!(serial.inputs[3].errors.len(), 6);
        for (threads, budget) in [(1, 2_000), (4, usize::MAX), (4, 2_000), (3, 1)] {
            let again = read(threads, budget);
            assert!(
                again.events == serial.events,
                "{threads} threads, {budget} bytes"
            );
            assert_eq!(
                again.inputs, serial.inputs,
                "{threads} threads, {budget} bytes"
            );
        }
    }

    #[test]
    fn strict_stops_at_the_first_malformed_record_in_read_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = inputs(dir.path());
        for threads in [1, 4] {
            let options = IngestOptions {
                threads,
                strict: true,
                ..IngestOptions::default()
            };
            let err = read_inputs(&paths, &options).unwrap_err().to_string();
            assert!(err.contains("f3.jsonl") && err.contains("line 3"), "{err}");
        }
    }

    /// One large JSON-lines CloudTrail file (many chunks): blank, CRLF, malformed, invalid UTF-8
    /// and too long lines among positional and source-given records; the same cut short in
    /// gzip; a DynamoDB wire log (parsed by its reader, key schemas carried over).
    fn line_inputs(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut text = Vec::new();
        for r in 0..400 {
            let time = ["2026-03-14T12:00:00Z", "2026-03-14T12:00:01Z"][r % 2];
            match r % 37 {
                5 => text.extend_from_slice(b"   \n"),
                9 => text.extend_from_slice(b"{not json\n"),
                13 => text.extend_from_slice(b"{\"eventVersion\": \"\xff\"}\n"),
                17 => text.extend_from_slice(format!("{}\n", "x".repeat(3000)).as_bytes()),
                21 => {
                    text.extend_from_slice(format!("{}\r\n", trail(time, None, "crlf")).as_bytes())
                }
                n if n % 2 == 0 => text.extend_from_slice(
                    format!("{}\n", trail(time, None, &r.to_string())).as_bytes(),
                ),
                _ => text.extend_from_slice(
                    format!(
                        "{}\n",
                        trail(time, Some(&format!("id-{r}")), &r.to_string())
                    )
                    .as_bytes(),
                ),
            }
        }
        let big = dir.join("big.jsonl");
        std::fs::write(&big, &text).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &text).unwrap();
        let gz = gz.finish().unwrap();
        let cut = dir.join("cut.jsonl.gz");
        std::fs::write(&cut, &gz[..gz.len() * 2 / 3]).unwrap();
        let wire = dir.join("wire.jsonl");
        std::fs::copy(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/recorded/bola/app-wire.jsonl"
            ),
            &wire,
        )
        .unwrap();
        vec![big, cut, wire]
    }

    /// Large CloudTrail documents (many chunks): pretty-printed with a byte-order mark and the
    /// `Records` member after another, strings holding braces, quotes and escapes; a record of
    /// the wrong shape and an item that is not an object (the rest read in one pass); an item of
    /// invalid JSON between balanced braces (nothing read after it); a document cut short.
    fn document_inputs(dir: &std::path::Path) -> Vec<PathBuf> {
        let times = ["2026-03-14T12:00:00Z", "2026-03-14T12:00:01Z"];
        let record = |r: usize, tag: &str| {
            let id = r.is_multiple_of(3).then(|| format!("{tag}-{r}"));
            let text = trail(times[r % 2], id.as_deref(), &format!("{tag}{r}"));
            if r.is_multiple_of(7) {
                // A user agent of braces, quotes and escapes: only a parse knows where it ends.
                text.replacen(
                    r#""sourceIPAddress""#,
                    r#""userAgent":"a{b}\"}]\\\\\"{[c","sourceIPAddress""#,
                    1,
                )
            } else {
                text
            }
        };
        let items = |tag: &str, n: usize, odd: &[(usize, &str)]| -> Vec<String> {
            (0..n)
                .map(|r| {
                    odd.iter()
                        .find(|(at, _)| *at == r)
                        .map_or_else(|| record(r, tag), |(_, item)| (*item).to_owned())
                })
                .collect()
        };
        let pretty = items(
            "p",
            150,
            &[
                (40, r#"{"eventTime": 5, "eventName": []}"#),
                (110, r#""not a record""#),
            ],
        );
        let pretty = format!(
            "\u{feff}{{\n  \"Meta\": {{\"x\": [1, {{\"y\": \"}}\"}}]}},\n  \"Records\": [\n    {}\n  ]\n}}\n",
            pretty.join(",\n    ")
        );
        let array = items("a", 150, &[(60, r#"{"eventVersion": tru, "x": {}}"#)]);
        let array = format!("[{}]", array.join(", "));
        let cut = items("c", 150, &[]);
        let cut = format!(r#"{{"Records":[{}]}}"#, cut.join(","));
        let cut = &cut[..cut.len() * 3 / 4];
        let mut paths = Vec::new();
        for (name, text) in [
            ("pretty.json", pretty.as_str()),
            ("array.json", &array),
            ("cut.json", cut),
        ] {
            assert!(
                text.len() > 20 * super::super::lines::CHUNK_BYTES,
                "{name}: {}",
                text.len()
            );
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            paths.push(path);
        }
        paths
    }

    #[test]
    fn a_large_document_parsed_in_chunks_on_every_thread_reads_as_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let paths = document_inputs(dir.path());
        let read = |path: &PathBuf, threads| {
            read_inputs(
                std::slice::from_ref(path),
                &IngestOptions {
                    threads,
                    ..IngestOptions::default()
                },
            )
            .unwrap()
        };
        let serial: Vec<_> = paths.iter().map(|p| read(p, 1)).collect();
        let [pretty, array, cut] = [0, 1, 2].map(|i| &serial[i].inputs[0]);
        // Every item: the two that are not records are malformed, where they stand.
        assert_eq!(pretty.records, 150);
        assert_eq!((pretty.events, pretty.errors.len()), (148, 2));
        assert_eq!(
            pretty
                .errors
                .iter()
                .map(|e| (e.record, e.line))
                .collect::<Vec<_>>(),
            [(41, Some(44)), (111, Some(114))]
        );
        // Everything up to the invalid item, which ends the array.
        assert_eq!(array.records, 61);
        assert_eq!(array.errors.len(), 1);
        assert_eq!(array.errors[0].record, 61);
        assert!(
            array.errors[0].message.contains("cannot be read"),
            "{:?}",
            array.errors
        );
        // The records before the cut, and the one it cut.
        assert_eq!(
            (cut.records, cut.errors.len(), cut.errors[0].record),
            (113, 1, 113)
        );
        assert!(
            cut.errors[0].message.contains("EOF while parsing"),
            "{:?}",
            cut.errors
        );
        let chunked = super::super::cloudtrail::CHUNKED.load(std::sync::atomic::Ordering::Relaxed);
        for (path, serial) in paths.iter().zip(&serial) {
            for threads in [2, 4] {
                let again = read(path, threads);
                assert!(again.events == serial.events, "{path:?}, {threads} threads");
                assert_eq!(again.inputs, serial.inputs, "{path:?}, {threads} threads");
            }
        }
        // Each document was read in chunks (other tests may read more).
        let now = super::super::cloudtrail::CHUNKED.load(std::sync::atomic::Ordering::Relaxed);
        assert!(now >= chunked + 6, "{chunked} -> {now}");
    }

    #[test]
    fn a_json_lines_file_parsed_in_chunks_on_every_thread_reads_as_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let paths = line_inputs(dir.path());
        let read = |threads| {
            read_inputs(
                &paths,
                &IngestOptions {
                    threads,
                    max_line_bytes: 2048,
                    ..IngestOptions::default()
                },
            )
            .unwrap()
        };
        let serial = read(1);
        let big = &serial.inputs[0];
        assert_eq!(big.records, 400 - 11);
        assert_eq!(big.errors.len(), 33);
        assert!(
            big.errors
                .iter()
                .any(|e| e.line == Some(18) && e.message.contains("longer than"))
        );
        let cut = &serial.inputs[1];
        assert!(cut.records > 50 && cut.records < 389, "{}", cut.records);
        assert!(
            cut.error.as_deref().unwrap().contains("gzip"),
            "{:?}",
            cut.error
        );
        assert!(serial.inputs[2].events > 10);
        for threads in [2, 4] {
            let again = read(threads);
            assert!(again.events == serial.events, "{threads} threads");
            assert_eq!(again.inputs, serial.inputs, "{threads} threads");
        }
        for threads in [1, 4] {
            let options = IngestOptions {
                threads,
                strict: true,
                ..IngestOptions::default()
            };
            let err = read_inputs(&paths, &options).unwrap_err().to_string();
            assert!(
                err.contains("big.jsonl") && err.contains("line 10"),
                "{err}"
            );
        }
    }

    /// Export requests of 1 to 4 spans a line, each an HTTP server span, some without trace and
    /// span ids (their ids say where they were read: `otel:<file>#<record>`), some DynamoDB
    /// calls of two items (`…#<record>/<item>`), among a malformed line, an over-long line and
    /// a span that is not an object.
    fn otlp_lines(dir: &std::path::Path) -> PathBuf {
        let span = |n: usize, ids: bool| {
            let t = 1_773_489_600_000_000_000_u64 + n as u64 * 1_000_000;
            let ids = if ids {
                format!(r#""traceId":"{:032x}","spanId":"{:016x}","#, n + 1, n + 1)
            } else {
                String::new()
            };
            if n.is_multiple_of(5) {
                format!(
                    r#"{{{ids}"name":"DynamoDB.BatchGetItem","kind":3,"startTimeUnixNano":"{t}","endTimeUnixNano":"{}","attributes":[{{"key":"rpc.system","value":{{"stringValue":"aws-api"}}}},{{"key":"rpc.service","value":{{"stringValue":"DynamoDB"}}}},{{"key":"rpc.method","value":{{"stringValue":"BatchGetItem"}}}},{{"key":"aws.dynamodb.table_names","value":{{"arrayValue":{{"values":[{{"stringValue":"orders"}},{{"stringValue":"users"}}]}}}}}}]}}"#,
                    t + 500_000
                )
            } else {
                format!(
                    r#"{{{ids}"name":"GET /orders/{{id}}","kind":2,"startTimeUnixNano":"{t}","endTimeUnixNano":"{}","attributes":[{{"key":"http.request.method","value":{{"stringValue":"GET"}}}},{{"key":"url.path","value":{{"stringValue":"/orders/o-{n}"}}}},{{"key":"enduser.id","value":{{"stringValue":"user-{}"}}}}]}}"#,
                    t + 500_000,
                    n % 7
                )
            }
        };
        let mut text = String::new();
        let mut n = 0;
        for line in 0..120 {
            match line % 23 {
                7 => text.push_str("{not json\n"),
                11 => text.push_str(&format!("{}\n", "y".repeat(3000))),
                15 => text.push_str(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[7,"x"]}]}]}"#),
                _ => {
                    let spans: Vec<String> = (0..=line % 4)
                        .map(|_| {
                            n += 1;
                            span(n, n % 3 != 0)
                        })
                        .collect();
                    text.push_str(&format!(
                        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"orders"}}}}]}},"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
                        spans.join(",")
                    ));
                }
            }
            text.push('\n');
        }
        written(dir, "spans.jsonl", &text)
    }

    #[test]
    fn otlp_lines_parsed_in_chunks_on_every_thread_read_as_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let paths = [otlp_lines(dir.path())];
        let rebased = super::super::lines::REBASED.load(std::sync::atomic::Ordering::Relaxed);
        let serial = alike_on_every_thread(&paths, 2048);
        let input = &serial.inputs[0];
        assert_eq!(input.format, Some(super::super::InputFormat::Otlp));
        // 120 lines: 10 unreadable (malformed or too long), 5 with two non-span items, 105 of
        // 1 to 4 spans: 258 spans, 51 of them DynamoDB calls on two tables (an event each).
        assert_eq!(input.records, 10 + 10 + 258 + 51);
        assert_eq!(input.events, 258 + 51);
        assert_eq!(input.errors.len(), 20);
        // A positional id names its record, far past what one chunk holds.
        let late = serial
            .events
            .iter()
            .filter(|e| e.id.contains('#'))
            .max_by_key(|e| e.source.record)
            .unwrap();
        assert!(late.source.record > 250, "{}", late.source.record);
        assert!(
            late.id.ends_with(&format!("#{}", late.source.record))
                || late.id.contains(&format!("#{}/", late.source.record)),
            "{} at record {}",
            late.id,
            late.source.record
        );
        assert!(serial.events.iter().any(|e| e.id.ends_with("/2")));
        let now = super::super::lines::REBASED.load(std::sync::atomic::Ordering::Relaxed);
        assert!(now > rebased + 200, "{rebased} -> {now}");
    }

    /// A wire log over many chunks whose `PutItem`s take their keys from earlier lines: tables
    /// created, keys learnt from reads, a table re-created with another key halfway, puts of a
    /// table before any line of their chunk names its key, and malformed lines.
    fn wire_lines(dir: &std::path::Path) -> PathBuf {
        let mut text = String::new();
        let line = |t: usize, op: &str, body: String| {
            format!(
                r#"{{"time":"2026-11-20T10:{:02}:{:02}Z","operation":"{op}","request":{body},"principal":"user-{}"}}"#,
                t / 60 % 60,
                t % 60,
                t % 7
            )
        };
        text.push_str(&line(0, "CreateTable", r#"{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]}"#.to_owned()));
        text.push('\n');
        for t in 1..400 {
            let body = match t % 9 {
                // The users table's key, learnt from a read (first one wins)...
                0 => format!(r#"{{"TableName":"users","Key":{{"uid":{{"S":"u-{t}"}}}}}}"#),
                // ... and the puts that need it, often in a chunk that has not seen it.
                1 | 4 | 7 => format!(
                    r#"{{"TableName":"users","Item":{{"uid":{{"S":"u-{t}"}},"id":{{"S":"i-{t}"}},"name":{{"S":"n"}}}}}}"#
                ),
                2 | 5 => format!(
                    r#"{{"TableName":"orders","Item":{{"pk":{{"S":"o-{t}"}},"sk":{{"S":"v1"}},"total":{{"N":"3"}}}}}}"#
                ),
                3 => format!(r#"{{"TableName":"items","Key":{{"sku":{{"S":"s-{t}"}}}}}}"#),
                _ => format!(
                    r#"{{"TableName":"items","Item":{{"sku":{{"S":"s-{t}"}},"qty":{{"N":"1"}}}}}}"#
                ),
            };
            let op = match t % 9 {
                0 | 3 => "GetItem",
                _ => "PutItem",
            };
            if t == 200 {
                // Re-created with another key: later puts of users take `id`.
                text.push_str(&line(t, "CreateTable", r#"{"TableName":"users","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}]}"#.to_owned()));
                text.push('\n');
            }
            if t % 97 == 0 {
                text.push_str("{not json\n");
            }
            text.push_str(&line(t, op, body));
            text.push('\n');
        }
        written(dir, "calls.jsonl", &text)
    }

    #[test]
    fn wire_lines_parsed_in_chunks_on_every_thread_read_as_in_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let paths = [wire_lines(dir.path())];
        let chunks =
            std::fs::metadata(&paths[0]).unwrap().len() as usize / super::super::lines::CHUNK_BYTES;
        let reread = super::super::lines::REREAD.load(std::sync::atomic::Ordering::Relaxed);
        let serial = alike_on_every_thread(&paths, IngestOptions::default().max_line_bytes);
        let input = &serial.inputs[0];
        assert_eq!(input.format, Some(super::super::InputFormat::DynamoDbWire));
        // 402 lines: two control-plane calls skipped, 4 malformed, 399 calls.
        assert_eq!((input.records, input.events), (2 + 4 + 399, 399));
        let key_of = |t: usize| {
            serial
                .events
                .iter()
                .find_map(|e| match &e.detail {
                    crate::event::Detail::DbOperation(d)
                        if d.operation == "PutItem"
                            && e.time_ns % 3_600_000_000_000
                                == (t as i64 % 3600) * 1_000_000_000 =>
                    {
                        Some(d.key.keys().map(|k| k.to_string()).collect::<Vec<_>>())
                    }
                    _ => None,
                })
                .unwrap()
        };
        // Before the re-creation, users' puts are keyed by the first key read; after, by `id`;
        // orders' by the created key; items' by theirs, once read.
        assert_eq!(key_of(10), ["uid"]);
        assert_eq!(key_of(208), ["id"]);
        assert_eq!(key_of(11), ["pk", "sk"]);
        assert_eq!(key_of(15), ["sku"]);
        // Some chunks were parsed again, not all: the others' lookups agreed.
        let now = super::super::lines::REREAD.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            now > reread && now - reread < 2 * chunks,
            "{reread} -> {now} of {chunks}"
        );
    }

    fn written(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `paths` read on one thread; the same events and accounting on 2 and 4.
    fn alike_on_every_thread(paths: &[PathBuf], max_line_bytes: usize) -> super::super::Ingested {
        let read = |threads| {
            let options = IngestOptions {
                threads,
                max_line_bytes,
                ..IngestOptions::default()
            };
            read_inputs(paths, &options).unwrap()
        };
        let serial = read(1);
        for threads in [2, 4] {
            let again = read(threads);
            assert!(again.events == serial.events, "{threads} threads");
            assert_eq!(again.inputs, serial.inputs, "{threads} threads");
        }
        serial
    }

    /// A HAR of many chunks: the recorded app's requests and DynamoDB calls repeated, the table
    /// created once, created again with another key two thirds in, puts in chunks that never saw
    /// the key, a malformed entry and one that is no object, a byte-order mark.
    fn har_document(dir: &std::path::Path) -> PathBuf {
        let load = |name: &str| -> Vec<serde_json::Value> {
            let path = format!(
                "{}/../tests/fixtures/recorded/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            doc["log"]["entries"].as_array().unwrap().clone()
        };
        let (app, db) = (load("app.har"), load("dynamodb.har"));
        let create = db[0].clone();
        let mut recreate = create.clone();
        let text = recreate["request"]["postData"]["text"]
            .as_str()
            .unwrap()
            .replace("order_id", "id");
        recreate["request"]["postData"]["text"] = text.into();
        let mut entries = vec![create];
        for round in 0..12 {
            // Puts first: their key comes from before the chunk. Each round's calls are calls of
            // their own: no trace, request ids of the round (else they merge as one call seen
            // twice).
            for (n, entry) in app.iter().chain(db.iter().skip(1)).enumerate() {
                if round == 8 && n == app.len() {
                    // Just before a put: chunks handed out before it are read with the old key.
                    entries.push(recreate.clone());
                }
                let mut entry = entry.clone();
                for side in ["request", "response"] {
                    let headers = entry[side]["headers"].as_array_mut().unwrap();
                    headers.retain(|h| {
                        !h["name"]
                            .as_str()
                            .unwrap()
                            .eq_ignore_ascii_case("x-amzn-trace-id")
                    });
                    for h in headers {
                        let name = h["name"].as_str().unwrap().to_ascii_lowercase();
                        if name == "x-amzn-requestid" || name == "x-request-id" {
                            h["value"] = format!("{}-{round}", h["value"].as_str().unwrap()).into();
                        }
                    }
                }
                entries.push(entry);
            }
            if round == 5 {
                entries.push(serde_json::json!({"request": 7}));
                entries.push(serde_json::json!([1, 2]));
            }
        }
        let doc = serde_json::json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}});
        written(
            dir,
            "app.har",
            &format!("\u{feff}{}", serde_json::to_string_pretty(&doc).unwrap()),
        )
    }

    #[test]
    fn a_large_har_converted_on_every_thread_reads_as_in_one_pass() {
        use super::super::har::CHUNKED;
        let dir = tempfile::tempdir().unwrap();
        let paths = [har_document(dir.path())];
        let load = |i: usize| CHUNKED[i].load(std::sync::atomic::Ordering::Relaxed);
        let (chunked, again) = (load(0), load(1));
        let serial = alike_on_every_thread(&paths, IngestOptions::default().max_line_bytes);
        let input = &serial.inputs[0];
        assert_eq!(input.format, Some(super::super::InputFormat::Har));
        // 1 + 12 × (12 + 12) + 1 + 2 entries; the two creates are control plane; the two
        // transactions of each round are two events each.
        assert_eq!(input.records, 1 + 12 * 24 + 1 + 2 + 12 * 2);
        assert_eq!(input.errors.len(), 2);
        assert_eq!(input.skipped, 2 + 2);
        // Puts keyed by the created table's key until its re-creation (entry 208: the create,
        // 8 rounds of 24, the two bad entries, round 8's requests), by nothing after it (their
        // items have no `id`).
        let recreated = 1 + 8 * 24 + 2 + 12 + 1;
        let puts: Vec<(u64, String)> = serial
            .events
            .iter()
            .filter_map(|e| match &e.detail {
                crate::event::Detail::DbOperation(d) if d.operation == "PutItem" => {
                    let key: Vec<&str> = d.key.keys().map(|k| k.as_str()).collect();
                    Some((e.source.record, key.join(",")))
                }
                _ => None,
            })
            .collect();
        assert!(puts.iter().any(|(r, _)| *r > recreated));
        for (record, key) in &puts {
            let want = if *record < recreated { "order_id" } else { "" };
            assert_eq!(key, want, "record {record}");
        }
        assert!(load(0) >= chunked + 2, "read in chunks on 2 and 4 threads");
        assert!(load(1) > again, "a chunk converted again");
    }
}
