//! The HTML report in a real browser: Debian's `chromium`, headless (`scripts/install-test-tools`
//! installs it), loads the bundled example's report with no console message and its timelines
//! in the DOM; log text written to attack the page (paths, headers, principals, file names)
//! stays text; the bytes do not depend on threads or runs.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fixture, root, tracewarden};

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Findings listed per class (`engine/src/report/html/mod.rs`).
const MAX_LISTED: usize = 50;
/// Events drawn per timeline (`engine/src/report/html/timeline.rs`).
const MAX_EVENTS: usize = 50;

/// What Chromium made of a page: the DOM after loading it, and every console message (the
/// report runs no script, so any message is an error: a CSP violation, a blocked load).
struct Loaded {
    dom: String,
    console: Vec<String>,
}

/// Loads `page` in headless Chromium.
fn load(page: &Path) -> Loaded {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/install-test-tools (the HTML report is checked in \
         Debian's chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (dom, log) = (dir.path().join("dom.html"), dir.path().join("stderr.log"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&dom).unwrap())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("chromium did not load {} within 120 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "chromium failed ({status}):\n{stderr}");
    Loaded {
        dom: std::fs::read_to_string(&dom).unwrap(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    }
}

/// The elements a serialized DOM opens: (tag name, the rest of the tag). Text is serialized with
/// `<` escaped, so every `<` followed by a letter opens an element.
fn elements(dom: &str) -> Vec<(String, String)> {
    dom.split('<')
        .skip(1)
        .filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(|t| {
            let tag = t.split('>').next().unwrap();
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            (name.to_ascii_lowercase(), tag.to_ascii_lowercase())
        })
        .collect()
}

/// Scans `inputs` into `out` as `report.json` and `report.html`; returns the JSON report.
fn scan_to(out: &Path, inputs: &[&str], extra: &[&str]) -> Value {
    let out_arg = out.display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "json,html",
        "-o",
        &out_arg,
        "--fail-on",
        "none",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    let run = tracewarden(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap()
}

/// The findings of `class` the HTML report lists: the most severe first, then in report order,
/// at most [`MAX_LISTED`].
fn listed<'r>(report: &'r Value, class: &str) -> Vec<&'r Value> {
    let rank = |f: &Value| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|s| f["severity"] == *s)
            .unwrap()
    };
    let mut findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == class)
        .collect();
    findings.sort_by_key(|f| rank(f));
    findings.truncate(MAX_LISTED);
    findings
}

/// The evidence lists the HTML report shows for `report`: each listed incident's, and each
/// occurrence shown of each listed weakness (its own evidence when it has no examples), as
/// (events with a time, events).
fn evidence_groups(report: &Value) -> Vec<(usize, usize)> {
    let group = |evidence: &Value| {
        let evidence = evidence.as_array().unwrap();
        let timed = evidence.iter().filter(|e| e["time_ns"].is_i64()).count();
        (timed, evidence.len())
    };
    let mut groups = Vec::new();
    for class in ["incident", "weakness"] {
        for f in listed(report, class) {
            match f["examples"].as_array() {
                Some(examples) if !examples.is_empty() => {
                    groups.extend(examples.iter().map(|e| group(&e["evidence"])));
                }
                _ => groups.push(group(&f["evidence"])),
            }
        }
    }
    groups
}

/// The DOM shows what the JSON report says: the counts, an article per finding, a timeline for
/// every evidence list with two or more times (a marker per event), and a note for every list of
/// several events without them.
fn assert_dom_matches(dom: &str, report: &Value) {
    let s = &report["summary"];
    for (id, n) in [
        ("incidents", &s["incidents"]),
        ("weaknesses", &s["weaknesses"]),
        ("occurrences", &s["occurrences"]),
        ("events", &s["events"]),
    ] {
        assert!(
            dom.contains(&format!("<dd id=\"count-{id}\">{n}</dd>")),
            "count of {id} is not {n}"
        );
    }
    for class in ["incident", "weakness"] {
        let expected = listed(report, class).len();
        let articles = format!("<article class=\"finding {class}");
        assert_eq!(dom.matches(&articles).count(), expected, "{class} articles");
    }
    let groups = evidence_groups(report);
    let timelines = groups.iter().filter(|(timed, _)| *timed >= 2).count();
    let markers: usize = groups
        .iter()
        .filter(|(timed, _)| *timed >= 2)
        .map(|(timed, _)| (*timed).min(MAX_EVENTS))
        .sum();
    let notes = groups
        .iter()
        .filter(|(timed, all)| *timed < 2 && *all >= 2)
        .count();
    let elements = elements(dom);
    let count = |name: &str, class: &str| {
        elements
            .iter()
            .filter(|(n, tag)| n == name && tag.contains(class))
            .count()
    };
    assert_eq!(count("svg", "class=\"timeline\""), timelines, "timelines");
    assert_eq!(count("circle", "class=\"ev "), markers, "timeline markers");
    assert_eq!(count("p", "class=\"note\""), notes, "no-timeline notes");
    let complete = report["complete"].as_bool().unwrap();
    assert_eq!(
        dom.contains("<p class=\"status complete\" id=\"scan-status\">Scan complete"),
        complete
    );
}

/// The console check sees what a broken page does: a CSP violation, a blocked load, an uncaught
/// error. Without this, a Chromium that stopped logging to stderr would pass every page.
#[test]
fn chromium_reports_a_broken_page_on_its_console() {
    let dir = tempfile::tempdir().unwrap();
    let csp = dir.path().join("csp.html");
    std::fs::write(
        &csp,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"></head><body>\
         <script>document.title = 'ran'</script><img src=\"file:///nonexistent.png\"></body></html>",
    )
    .unwrap();
    let loaded = load(&csp);
    assert_eq!(loaded.console.len(), 2, "{:#?}", loaded.console);
    assert!(loaded.console[0].contains("violates the following Content Security Policy"));
    assert!(loaded.console[1].contains("Loading the image 'file:///nonexistent.png' violates"));
    assert!(!loaded.dom.contains("<title>ran</title>"));
    let error = dir.path().join("error.html");
    std::fs::write(&error, "<!DOCTYPE html><script>missing()</script>").unwrap();
    let loaded = load(&error);
    assert_eq!(loaded.console.len(), 1, "{:#?}", loaded.console);
    assert!(loaded.console[0].contains("Uncaught ReferenceError: missing is not defined"));
}

/// The README's quick start (`scan examples/dynamodb-orders`) as an HTML report.
#[test]
fn the_bundled_example_loads_in_chromium_with_no_console_message_and_counts_right() {
    let out = tempfile::tempdir().unwrap();
    let report = scan_to(out.path(), &["examples/dynamodb-orders"], &[]);
    assert_eq!(report["summary"]["weaknesses"], 5);
    let loaded = load(&out.path().join("report.html"));
    assert_eq!(loaded.console, Vec::<String>::new());
    assert_dom_matches(&loaded.dom, &report);
}

/// The bundled example's timelines, in Chromium: the host gives each evidence record its time.
#[test]
fn the_bundled_example_draws_its_check_to_use_windows_in_chromium() {
    let out = tempfile::tempdir().unwrap();
    let json = scan_to(out.path(), &["examples/dynamodb-orders"], &[]);
    let loaded = load(&out.path().join("report.html"));
    assert_eq!(loaded.console, Vec::<String>::new());
    assert_dom_matches(&loaded.dom, &json);
    assert_eq!(loaded.dom.matches("<svg class=\"timeline\"").count(), 2);
    // TW-TOCTOU-001 at its two sites: the GetItem, then the unconditional write of the same item
    // (the example's CloudTrail file, records at lines 65 and 178, 299 and 410).
    let figures: Vec<&str> = loaded
        .dom
        .split("<figcaption>")
        .skip(1)
        .map(|c| c.split("</figcaption>").next().unwrap())
        .collect();
    assert_eq!(
        figures,
        [
            "Window check → use: 1 s, from <time datetime=\"2026-03-14T10:00:10Z\">\
             2026-03-14T10:00:10Z</time> to <time datetime=\"2026-03-14T10:00:11Z\">\
             2026-03-14T10:00:11Z</time>.",
            "Window check → use: 3 s, from <time datetime=\"2026-03-14T10:01:00Z\">\
             2026-03-14T10:01:00Z</time> to <time datetime=\"2026-03-14T10:01:03Z\">\
             2026-03-14T10:01:03Z</time>.",
        ]
    );
}

/// Paths, headers, principals and file names that carry markup reach the report through a rule
/// that fires on them, and stay text: nothing from the log becomes an element or an attribute.
#[test]
fn markup_in_logs_stays_text_in_the_browser() {
    let script = "<script>alert(1)</script>";
    let img = "<img src=x onerror=alert(1)>";
    let entry = |second: u32, path: &str, user: &str, status: u16| {
        serde_json::json!({
            "startedDateTime": format!("2026-03-14T10:00:{second:02}.000Z"),
            "time": 5,
            "request": {
                "method": "PUT",
                "url": format!("https://api.example.com{path}"),
                "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": "X-User-Id", "value": user},
                    {"name": "User-Agent", "value": img},
                    {"name": "X-Request-Id", "value": format!("{script}{second}")}
                ],
                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0
            },
            "response": {
                "status": status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [],
                "cookies": [], "content": {"size": 0, "mimeType": "application/json"},
                "redirectURL": "", "headersSize": -1, "bodySize": 0
            },
            "cache": {}, "timings": {"send": 0, "wait": 5, "receive": 0}
        })
    };
    let mut entries = vec![entry(1, &format!("/users/{script}/profile"), img, 200)];
    entries.extend((0..6).map(|k| entry(2 + k, &format!("/orders/{}", 1001 + k), img, 403)));
    let logs = tempfile::tempdir().unwrap();
    let har = logs.path().join(format!("{img}.har"));
    let document = serde_json::json!({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": entries}});
    std::fs::write(&har, document.to_string()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = scan_to(out.path(), &[&har.display().to_string()], &[]);
    // The rules fired on the hostile values: the principal from a header, the user from the path,
    // the source in the file name.
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["principal"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rules, [("TW-BOLA-003", img), ("TW-BOLA-002", img)]);
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains(script)
    );
    assert!(
        report["findings"][0]["evidence"][0]["source"]
            .as_str()
            .unwrap()
            .contains(img)
    );

    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "raw markup from the log"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<code>&lt;img src=x onerror=alert(1)&gt;</code>"));
    // The input's path in the inputs table, and the evidence's source.
    assert!(html.contains("/&lt;img src=x onerror=alert(1)&gt;.har</code></th>"));
    assert!(html.contains("/&lt;img src=x onerror=alert(1)&gt;.har:1</code>"));

    let loaded = load(&out.path().join("report.html"));
    assert_eq!(loaded.console, Vec::<String>::new());
    let elements = elements(&loaded.dom);
    assert!(elements.len() > 100, "{}", loaded.dom);
    for (name, tag) in &elements {
        assert!(
            name != "script" && name != "img",
            "element from the log: <{tag}>"
        );
        assert!(!tag.contains("onerror"), "attribute from the log: <{tag}>");
    }
    // Shown as text.
    assert!(loaded.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(loaded.dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert_dom_matches(&loaded.dom, &report);
}

/// The same scan gives the same bytes with one rule thread or two, run after run; and on the
/// recorded applications (incidents of every built-in pack), the page follows its JSON report.
#[test]
fn the_html_report_is_byte_identical_across_runs_and_threads() {
    for inputs in [
        vec![
            root()
                .join("examples/dynamodb-orders")
                .display()
                .to_string(),
        ],
        vec![fixture("recorded/toctou/")],
        vec![
            fixture("recorded/bola/app.har"),
            fixture("recorded/bola/app-otlp.json"),
        ],
        vec![fixture("cloudtrail/stale-keys.json")],
    ] {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let render = |threads: &str| {
            let out = tempfile::tempdir().unwrap();
            let report = scan_to(out.path(), &inputs, &["--threads", threads]);
            let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
            (report, html)
        };
        let (report, one) = render("1");
        assert_dom_matches(&one, &report);
        assert_eq!(one, render("2").1, "{inputs:?}: 1 thread vs 2");
        assert_eq!(one, render("2").1, "{inputs:?}: run vs run");
        assert_eq!(one, render("1").1, "{inputs:?}: run vs run");
    }
}
