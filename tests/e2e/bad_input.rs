//! Bad input of every kind the issue names: each gets a clear error naming the file and record,
//! the rest of the input is read, and nothing panics or allocates without bound.

use std::io::Write;

use crate::common::{fixture, tracewarden};

/// The first line of a real-shaped CloudTrail JSON-lines fixture (a DynamoDB data event).
fn good_line() -> String {
    std::fs::read_to_string(fixture("cloudtrail/mixed-sources.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

/// The good line as another call: its own event and request ids (one call logged twice would be
/// merged into one event).
fn variant(good: &str, n: usize) -> String {
    good.replace("\"eventID\": \"", &format!("\"eventID\": \"{n}-"))
        .replace("\"requestID\": \"", &format!("\"requestID\": \"{n}-"))
}

/// `normalize`s `file` and returns (exit code, stderr, events printed).
fn normalize(file: &str, extra: &[&str]) -> (i32, String, usize) {
    let mut args = vec!["normalize"];
    args.extend_from_slice(extra);
    args.push(file);
    let run = tracewarden(&args);
    (run.code, run.stderr, run.stdout.lines().count())
}

#[test]
fn bad_lines_are_named_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.jsonl");
    let good = good_line();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let mut data = Vec::new();
    data.extend_from_slice(good.as_bytes());
    data.extend_from_slice(b"\n{\"eventVersion\": \"1.08\", \"eventName\": \"caf\xe9\"}\n");
    data.extend_from_slice(b"this is not json\n");
    data.extend_from_slice(deep.as_bytes());
    data.extend_from_slice(b"\n");
    data.extend_from_slice(variant(&good, 1).as_bytes());
    data.extend_from_slice(b"\n");
    std::fs::write(&path, &data).unwrap();
    let file = path.display().to_string();
    let (code, stderr, events) = normalize(&file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        events, 2,
        "the good lines before and after the bad ones are read"
    );
    assert_eq!(
        stderr,
        format!(
            "{file}: 5 records, 2 events, 0 merged, 3 skipped\n\
             \x20 error: `{file}`: record 2 (line 2): invalid UTF-8 at byte 42 of the line: expected JSON text\n\
             \x20 error: `{file}`: record 3 (line 3): not JSON (expected ident at line 1 column 2): expected a CloudTrail record object\n\
             \x20 error: `{file}`: record 4 (line 4): expected a CloudTrail record object, found an array\n"
        )
    );
    let (code, stderr, _) = normalize(&file, &["--strict"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "error: `{file}`: record 2 (line 2): invalid UTF-8 at byte 42 of the line: expected JSON text\n"
        )
    );
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.jsonl");
    let good = good_line();
    let deep = good.replace(
        "\"cartId\": \"c-1\"",
        &format!(
            "\"cartId\": {}1{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    assert_ne!(deep, good);
    std::fs::write(&path, format!("{deep}\n{}\n", variant(&good, 1))).unwrap();
    let file = path.display().to_string();
    let (code, stderr, events) = normalize(&file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events, 1);
    assert!(
        stderr.contains(&format!(
            "error: `{file}`: record 1 (line 1): invalid `requestParameters`: recursion limit exceeded: expected an object or null"
        )),
        "{stderr}"
    );
}

#[test]
fn a_multi_megabyte_line_is_skipped_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let good = good_line();
    let mut f = std::fs::File::create(&path).unwrap();
    let huge = format!("{{\"eventVersion\": \"{}\"}}", "x".repeat(17 << 20));
    writeln!(f, "{good}\n{huge}\n{}", variant(&good, 1)).unwrap();
    drop(f);
    let file = path.display().to_string();
    let (code, stderr, events) = normalize(&file, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(events, 2, "the line after is read");
    assert!(
        stderr.contains(&format!(
            "error: `{file}`: record 2 (line 2): line of {} bytes is longer than the 16 MiB limit: skipped unread",
            huge.len() + 1
        )),
        "{stderr}"
    );
}

#[test]
fn a_truncated_gzip_stream_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.jsonl.gz");
    let good = good_line();
    let mut plain = String::new();
    for i in 0..400 {
        plain.push_str(&variant(&good, i));
        plain.push('\n');
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(plain.as_bytes()).unwrap();
    let full = gz.finish().unwrap();
    std::fs::write(&path, &full[..full.len() * 3 / 4]).unwrap();
    let file = path.display().to_string();
    let run = tracewarden(&["scan", "--format", "json", &file]);
    // The records before the damage are scanned; the report says the input was cut (exit 2).
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.json()["complete"], false);
    let input = &run.json()["inputs"][0];
    let records = input["records"].as_u64().unwrap();
    assert!(records > 0 && records < 400, "{input}");
    assert_eq!(input["events"].as_u64().unwrap(), records);
    let error = input["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "corrupt or truncated gzip after line {}",
            records + 1
        )) || error.starts_with(&format!("corrupt or truncated gzip after line {records}")),
        "{error}"
    );
    let strict = tracewarden(&["scan", "--strict", &file]);
    assert_eq!(strict.code, 2);
    assert!(
        strict.stderr.starts_with(&format!(
            "error: `{file}`: corrupt or truncated gzip after line"
        )),
        "{}",
        strict.stderr
    );
}

#[test]
fn standard_input_is_read_with_dash() {
    let input = std::fs::read(fixture("cloudtrail/mixed-sources.jsonl")).unwrap();
    let mut child = crate::common::command()
        .args(["normalize", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "-: 3 records, 2 events, 0 merged, 1 skipped\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let event: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(event["source"]["file"], "-");
    assert_eq!(event["source"]["line"], 1);
}

#[test]
fn fifos_and_symlink_loops_in_a_directory_are_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        crate::common::fixture("cloudtrail/toctou-positive.json"),
        dir.path().join("trail.json"),
    )
    .unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    std::os::unix::fs::symlink(dir.path().join("loop-a"), dir.path().join("loop-b")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("loop-b"), dir.path().join("loop-a")).unwrap();
    let run = tracewarden(&[
        "scan",
        "--format",
        "json",
        &dir.path().display().to_string(),
    ]);
    // The FIFO is not opened (no hang), the loop does not abort the scan, the log is scanned.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], true);
    let errors: Vec<(String, String)> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["error"].is_null())
        .map(|i| {
            (
                i["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                i["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0].0, "loop-a");
    assert!(errors[0].1.starts_with("cannot be read: "), "{errors:?}");
    assert_eq!(errors[1].0, "loop-b");
    assert_eq!(
        errors[2],
        (
            "pipe".to_owned(),
            "not a regular file (a FIFO, socket or device): not read".to_owned()
        )
    );
    // Under --strict, what is not read is an error.
    let strict = tracewarden(&["scan", "--strict", &dir.path().display().to_string()]);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
}

#[test]
fn a_named_symlink_loop_is_an_input_not_read_and_a_named_fifo_is_read() {
    // Reproducer: a symlink loop named on the command line aborted the scan with no report.
    let dir = tempfile::tempdir().unwrap();
    let looping = dir.path().join("loop");
    std::os::unix::fs::symlink(&looping, &looping).unwrap();
    let looping = looping.display().to_string();
    let trail = crate::common::fixture("cloudtrail/toctou-positive.json");
    let run = tracewarden(&["scan", "--format", "json", &looping, &trail]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], false);
    let incomplete = report["incomplete"].to_string();
    assert!(
        incomplete.contains(&format!("`{looping}` was not read: cannot be read: ")),
        "{incomplete}"
    );
    assert!(report["summary"]["events"].as_u64().unwrap() > 0);
    // A path that does not exist stays a usage error (a typo), before any work.
    let missing = dir.path().join("missing.json").display().to_string();
    assert_eq!(tracewarden(&["scan", &missing]).code, 2);

    // A FIFO named on the command line is read like standard input.
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        let text = std::fs::read(&trail).unwrap();
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let run = tracewarden(&[
        "scan",
        "--format",
        "json",
        "--fail-on",
        "none",
        &fifo.display().to_string(),
    ]);
    writer.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["complete"], true);
    assert_eq!(report["inputs"][0]["format"], "cloudtrail");
}

/// Makes a named pipe at `path`.
fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}
