//! Reading inputs on worker threads, between format detection and the merge of sorted runs: each
//! worker takes the next input in path order, reads it whole with [`read_input`] and sorts its
//! events into runs of its own [`Sorter`]. Events are keyed by time, input and place within the
//! input, so the merged stream is the same whatever the number of workers and whichever worker
//! read what; the accounting of each input is its reader's alone.
//!
//! Memory: one input in flight per worker, and the sort budget shared out between the workers'
//! runs. With one worker (or one input) everything happens on the calling thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::sort::Sorter;
use super::source::Origin;
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
    let workers = options.threads.clamp(1, inputs.len().max(1));
    if workers == 1 {
        let mut sorter = Sorter::new(options.sort_budget_bytes);
        let mut reports = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            reports.push(read_one(i, input, options, &mut sorter)?);
        }
        return Ok((reports, vec![sorter]));
    }
    let next = AtomicUsize::new(0);
    // The first input that failed: later ones are not started (their reading would be thrown
    // away, as reading in order would never have reached them).
    let failed = AtomicUsize::new(usize::MAX);
    let share = options.sort_budget_bytes / workers;
    let work = || {
        let mut sorter = Sorter::new(share);
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(i) else { break };
            if i > failed.load(Ordering::Relaxed) {
                break;
            }
            let read = read_one(i, input, options, &mut sorter);
            if read.is_err() {
                failed.fetch_min(i, Ordering::Relaxed);
            }
            done.push((i, read));
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
fn read_one(
    i: usize,
    (origin, named, id_name): &Input,
    options: &IngestOptions,
    sorter: &mut Sorter,
) -> Result<InputReport, Error> {
    let input = u32::try_from(i).unwrap_or(u32::MAX);
    let mut seq = 0u64;
    let report = read_input(origin, id_name, *named, options, &mut |event| {
        seq += 1;
        if let Some(progress) = &options.progress {
            progress.event();
        }
        sorter
            .push((event.time_ns, input, seq, 0), input, &event)
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })
    })?;
    if let Some(progress) = &options.progress {
        progress.file_done();
    }
    Ok(report)
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
}
