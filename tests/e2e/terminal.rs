//! The scan at a terminal: a progress bar on standard error only when it is a terminal, one
//! summary line per scan (not one line per file), `--quiet`, `--verbose`, colors only when asked
//! or on a terminal, the text report's order and its top-N, and log values that cannot drive the
//! terminal.

use std::process::Command;

use crate::common::{CACHE_DIR, fixture, root, tracewarden};

/// 200 one-line CloudTrail files: the TOCTOU fixture's check and use, each file its own
/// request ids so that nothing merges.
fn two_hundred_trails(dir: &std::path::Path) {
    let text = std::fs::read_to_string(fixture("cloudtrail/toctou-positive.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for i in 0..200 {
        let mut doc = doc.clone();
        for (j, r) in doc["Records"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .enumerate()
        {
            r["eventID"] = format!("00000000-0000-4000-8000-{:012}", i * 2 + j).into();
            r["requestID"] = format!("REQ{i:04}{j}").into();
        }
        std::fs::write(
            dir.join(format!("trail-{i:03}.json")),
            serde_json::to_string(&doc).unwrap(),
        )
        .unwrap();
    }
}

/// Runs `tracewarden args` with standard error (and output) on a pseudo-terminal, through
/// util-linux `script`; returns what the terminal received.
fn on_a_terminal(args: &[&str]) -> String {
    let command = std::iter::once(env!("CARGO_BIN_EXE_tracewarden"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root())
        .env("TRACEWARDEN_CACHE_DIR", CACHE_DIR)
        .env_remove("NO_COLOR")
        .output()
        .expect("util-linux `script` runs the scan on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_hundred_files_draw_a_progress_bar_on_a_terminal_and_print_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    two_hundred_trails(dir.path());
    let reports = tempfile::tempdir().unwrap();
    let out = reports.path().join("report.json");
    let logs = dir.path().display().to_string();
    let args = [
        "scan",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "--fail-on",
        "none",
        &logs,
    ];

    let terminal = on_a_terminal(&args);
    // The bar's first phase; the second (the rules' pass) is drawn only when the scan lasts
    // past a poll of the counters, which a scan of 200 small files may not.
    assert!(
        terminal.contains("reading  ["),
        "no progress bar: {terminal:?}"
    );
    let summaries = terminal.matches("scanned 200 file(s)").count();
    assert_eq!(summaries, 1, "{terminal:?}");

    // Piped: no bar, and exactly one line, the summary.
    let piped = tracewarden(&args);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    let lines: Vec<&str> = piped.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", piped.stderr);
    assert!(
        lines[0].starts_with("scanned 200 file(s), ")
            && lines[0].contains(" 400 event(s) (0 merged, 0 skipped) in ")
            && lines[0].ends_with(": 1 incident(s), 2 weakness site(s)"),
        "{}",
        lines[0]
    );

    // --quiet: nothing at all, on a terminal too.
    let quiet: Vec<&str> = args.iter().copied().chain(["--quiet"]).collect();
    assert_eq!(tracewarden(&quiet).stderr, "");
    assert!(!on_a_terminal(&quiet).contains("reading"));

    // --verbose: one line per input, one on the component cache, then the summary.
    let verbose: Vec<&str> = args.iter().copied().chain(["--verbose"]).collect();
    let run = tracewarden(&verbose);
    assert_eq!(run.stderr.lines().count(), 202, "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .nth(200)
            .unwrap()
            .starts_with(&format!("component cache `{CACHE_DIR}/components`: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .lines()
            .next()
            .unwrap()
            .ends_with("trail-000.json [cloudtrail]: 2 records, 2 events, 0 merged, 0 skipped")
    );
}

#[test]
fn the_text_report_leads_with_incidents_and_counts_what_it_does_not_draw() {
    let logs = fixture("recorded/docs-express");
    let json = crate::common::scan_json(&[&logs], &["--fail-on", "none"]).json();
    let high_incidents = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "incident" && f["severity"] == "high")
        .count();
    assert!(high_incidents > 2, "{high_incidents}");
    let run = tracewarden(&["scan", "--fail-on", "none", "--top", "2", &logs]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    let order: Vec<usize> = [
        "\nINCIDENTS  23\n",
        "\nWEAKNESSES  16 sites, 90 occurrences\n",
        "\nCOMPLIANCE  findings per mapping\n",
        "\nINPUTS  17 files: ",
        "\nRULES  ",
    ]
    .iter()
    .map(|h| {
        text.find(h)
            .unwrap_or_else(|| panic!("no `{h}` in:\n{text}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{text}");
    assert!(
        text.contains(&format!(
            "  … {} more high incidents: every finding is in the json, sarif and html reports \
             (--top 0 draws them all)",
            high_incidents - 2
        )),
        "{text}"
    );
    // Each rule's fix is drawn once, however many of its findings are drawn.
    let drawn_rules: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("  HIGH     ")
                .or(l.strip_prefix("  MEDIUM   "))
                .or(l.strip_prefix("  LOW      "))
        })
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        text.matches("    fix       ").count(),
        drawn_rules.len(),
        "{text}"
    );
    // Every finding with --top 0, and the window between the owner's write and the other
    // user's access.
    let all = tracewarden(&["scan", "--fail-on", "none", "--top", "0", &logs]).stdout;
    assert!(!all.contains(" more high incidents"), "{all}");
    assert!(
        all.contains(
            "    when      2026-12-02T12:51:12.136Z → 2026-12-02T12:51:13.495Z (window 1.36 s)"
        ),
        "{all}"
    );
    // --min-severity high: only high findings drawn, the rest counted; the exit code unchanged.
    let below = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "high" && f["severity"] != "critical")
        .count();
    let high = tracewarden(&["scan", "--min-severity", "high", "--top", "0", &logs]);
    assert_eq!(high.code, 1, "{}", high.stderr);
    assert!(
        high.stdout.contains(&format!(
            "  {below} finding(s) below --min-severity high not drawn (every file format holds them)"
        )),
        "{}",
        high.stdout
    );
    assert!(!high.stdout.contains("  MEDIUM   ") && !high.stdout.contains("  LOW      "));
    assert!(high.stdout.contains("  HIGH     "));
    // Piped: no colors; --color always: colors.
    assert!(!text.contains('\u{1b}'));
    let colored = tracewarden(&["scan", "--fail-on", "none", "--color", "always", &logs]);
    assert!(colored.stdout.contains("\u{1b}["));
    // On a terminal colors come by themselves, unless NO_COLOR.
    assert!(on_a_terminal(&["scan", "--fail-on", "none", "--quiet", &logs]).contains("\u{1b}[1m"));
    let no_color = Command::new("script")
        .args([
            "-qec",
            &format!(
                "NO_COLOR=1 '{}' scan --fail-on none --quiet '{logs}'",
                env!("CARGO_BIN_EXE_tracewarden")
            ),
            "/dev/null",
        ])
        .env("TRACEWARDEN_CACHE_DIR", CACHE_DIR)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&no_color.stdout).contains("\u{1b}[1m"));
}

#[test]
fn log_values_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("cloudtrail/toctou-positive.json")).unwrap();
    // A principal carrying an escape that would clear the screen and a carriage return.
    let evil = text.replace(
        "assumed-role/orders-api/alice",
        "assumed-role/orders-api/alice\\u001b[2J\\rroot",
    );
    assert_ne!(evil, text);
    let file = dir.path().join("evil.json");
    std::fs::write(&file, evil).unwrap();
    let run = tracewarden(&[
        "scan",
        "--fail-on",
        "none",
        "--color",
        "never",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(!run.stdout.contains('\r'), "{}", run.stdout);
    assert!(
        run.stdout.contains("alice\\u{1b}[2J\\u{d}root"),
        "{}",
        run.stdout
    );
}
