//! Every file format is byte-identical across runs and `--threads`, and the formats that hold
//! findings alone (JSON Lines, OCSF, SARIF) across the command line's order of inputs too (the
//! others list the inputs as given): the same logs give the same report, so reports can be
//! diffed, cached and baselined.

use crate::common::{fixture, tracewarden};

/// Writes every file format of a scan of `inputs` into a fresh directory; returns each file's
/// name and bytes, sorted by name.
fn all_formats(inputs: &[String], threads: &str) -> Vec<(String, Vec<u8>)> {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "json,jsonl,markdown,html,ocsf,sarif,text",
        "-o",
        &dir,
        "--fail-on",
        "none",
        "--threads",
        threads,
    ];
    args.extend(inputs.iter().map(String::as_str));
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_format_is_byte_identical_across_runs_threads_and_input_order() {
    let inputs: Vec<String> = [
        "recorded/docs-express/app.har",
        "recorded/docs-express/app-requests.jsonl",
        "recorded/docs-express/app-otlp.json",
        "recorded/docs-express/dynamodb.har",
        "recorded/docs-express/cloudtrail.json",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let reversed: Vec<String> = inputs.iter().rev().cloned().collect();
    let first = all_formats(&inputs, "1");
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "report.html",
            "report.json",
            "report.jsonl",
            "report.md",
            "report.ocsf.jsonl",
            "report.sarif",
            "report.txt"
        ]
    );
    for (label, again) in [
        ("a second run", all_formats(&inputs, "1")),
        ("--threads 2", all_formats(&inputs, "2")),
    ] {
        for ((name, a), (_, b)) in first.iter().zip(&again) {
            assert!(a == b, "{name} differs with {label}");
        }
    }
    let reversed = all_formats(&reversed, "2");
    for ((name, a), (_, b)) in first.iter().zip(&reversed) {
        if ["report.jsonl", "report.ocsf.jsonl", "report.sarif"].contains(&name.as_str()) {
            assert!(a == b, "{name} differs with the inputs reversed");
        }
    }
}
