//! Timelines drawn from hand-built evidence: exact elements and positions.

use super::*;
use crate::finding::Location;

const T0: i64 = 1_773_482_400_000_000_000; // 2026-03-14T10:00:00Z
const MS: i64 = 1_000_000;

/// Evidence `n` playing `role` at `T0 + offset_ns`, or at no known time.
fn ev(n: usize, role: &str, offset_ns: Option<i64>) -> Evidence {
    Evidence {
        event_id: format!("e{n}"),
        role: role.to_owned(),
        source: format!("trail.json:{}", 10 * n),
        location: None,
        time: offset_ns.map(|o| crate::time::format_rfc3339(T0 + o)),
        time_ns: offset_ns.map(|o| T0 + o),
    }
}

fn render(evidence: &[Evidence]) -> String {
    let mut out = String::new();
    Timeline::of(evidence).write(&mut out).unwrap();
    out
}

/// The lines of `html` that start with `prefix`.
fn lines<'h>(html: &'h str, prefix: &str) -> Vec<&'h str> {
    html.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_race_shows_its_check_to_use_window_with_the_interleaved_write_inside() {
    let html = render(&[
        ev(1, "check", Some(0)),
        ev(2, "interleaved-write", Some(153 * MS)),
        ev(3, "use", Some(405 * MS)),
    ]);
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains(
        "viewBox=\"0 0 720 92\" role=\"img\"><title>Timeline, check → use: 405 ms</title>"
    ));
    assert_eq!(
        lines(&html, "<rect"),
        ["<rect class=\"window\" x=\"12\" y=\"48\" width=\"696\" height=\"20\"/>"]
    );
    // 153/405 of the 696-unit axis from x = 12: 12 + 262.93 = 274.9 (tenths, rounded down).
    assert_eq!(
        lines(&html, "<circle"),
        [
            "<circle class=\"ev open\" cx=\"12\" cy=\"58\" r=\"4\"><title>check at \
             2026-03-14T10:00:00Z, trail.json:10</title></circle>",
            "<circle class=\"ev inside\" cx=\"274.9\" cy=\"58\" r=\"4\"><title>interleaved-write \
             at 2026-03-14T10:00:00.153Z, trail.json:20</title></circle>",
            "<circle class=\"ev close\" cx=\"708\" cy=\"58\" r=\"4\"><title>use at \
             2026-03-14T10:00:00.405Z, trail.json:30</title></circle>",
        ]
    );
    assert_eq!(
        lines(&html, "<line class=\"leader\""),
        [
            "<line class=\"leader\" x1=\"12\" y1=\"43\" x2=\"12\" y2=\"48\"/><text class=\"label\" \
             x=\"12\" y=\"40\">check</text>",
            "<line class=\"leader\" x1=\"274.9\" y1=\"43\" x2=\"274.9\" y2=\"48\"/><text \
             class=\"label\" x=\"219.7\" y=\"40\">interleaved-write</text>",
            "<line class=\"leader\" x1=\"708\" y1=\"43\" x2=\"708\" y2=\"48\"/><text class=\"label\" \
             x=\"688.5\" y=\"40\">use</text>",
        ]
    );
    assert_eq!(
        lines(&html, "<text class=\"time\""),
        [
            "<text class=\"time\" x=\"12\" y=\"84\">2026-03-14T10:00:00Z</text><text class=\"time\" \
             x=\"708\" y=\"84\" text-anchor=\"end\">2026-03-14T10:00:00.405Z</text>"
        ]
    );
    assert!(html.contains(
        "<figcaption>Window check → use: 405 ms, from <time datetime=\"2026-03-14T10:00:00Z\">\
         2026-03-14T10:00:00Z</time> to <time datetime=\"2026-03-14T10:00:00.405Z\">\
         2026-03-14T10:00:00.405Z</time>.</figcaption>"
    ));
    // The same events as text, in time order.
    assert_eq!(html.matches("<tr><td><time").count(), 3);
    assert!(html.contains(
        "<tr><td><time datetime=\"2026-03-14T10:00:00.153Z\">2026-03-14T10:00:00.153Z</time></td>\
         <td>interleaved-write</td><td><code>trail.json:20</code></td><td><code>e2</code></td></tr>"
    ));
    assert!(!html.contains("class=\"note\""));
}

#[test]
fn a_stale_key_shows_the_revocation_to_last_use_window_with_each_use() {
    let min = 60_000 * MS;
    let evidence = [
        ev(1, "revocation", Some(0)),
        ev(2, "use", Some(5 * min)),
        ev(3, "use", Some(6 * min)),
    ];
    let timeline = Timeline::of(&evidence);
    assert_eq!(
        timeline.window().unwrap().label(),
        "revocation → use: 6 min 0 s"
    );
    let html = render(&evidence);
    let cx: Vec<&str> = lines(&html, "<circle")
        .iter()
        .map(|l| l.split("cx=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(cx, ["12", "592", "708"]);
    // The two uses are 116 units apart: a label each.
    assert_eq!(lines(&html, "<line class=\"leader\"").len(), 3);
}

#[test]
fn an_enumeration_labels_a_close_run_of_attempts_once() {
    let mut evidence: Vec<Evidence> = (0..5)
        .map(|k| ev(k, "attempt", Some(k as i64 * MS)))
        .collect();
    evidence.push(ev(5, "attempt", Some(100 * MS)));
    let timeline = Timeline::of(&evidence);
    assert_eq!(
        timeline.window().unwrap().label(),
        "first attempt → last attempt: 100 ms"
    );
    let html = render(&evidence);
    let cx: Vec<&str> = lines(&html, "<circle")
        .iter()
        .map(|l| l.split("cx=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(cx, ["12", "18.9", "25.9", "32.8", "39.8", "708"]);
    assert_eq!(
        lines(&html, "<line class=\"leader\""),
        [
            "<line class=\"leader\" x1=\"25.9\" y1=\"43\" x2=\"25.9\" y2=\"48\"/><text \
             class=\"label\" x=\"12\" y=\"40\">attempt ×5</text>",
            "<line class=\"leader\" x1=\"708\" y1=\"43\" x2=\"708\" y2=\"48\"/><text class=\"label\" \
             x=\"662.5\" y=\"40\">attempt</text>",
        ]
    );
}

#[test]
fn one_instant_draws_in_the_middle_and_stacks_labels_in_three_lanes() {
    let evidence: Vec<Evidence> = ["a", "b", "c", "d", "e"]
        .iter()
        .enumerate()
        .map(|(n, role)| ev(n, role, Some(0)))
        .collect();
    let html = render(&evidence);
    assert_eq!(lines(&html, "<circle").len(), 5);
    assert!(
        lines(&html, "<circle")
            .iter()
            .all(|l| l.contains("cx=\"360\""))
    );
    assert_eq!(
        lines(&html, "<rect"),
        ["<rect class=\"window\" x=\"359\" y=\"48\" width=\"2\" height=\"20\"/>"]
    );
    let ys: Vec<&str> = lines(&html, "<line class=\"leader\"")
        .iter()
        .map(|l| l.split(" y=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(ys, ["40", "27", "14"], "two labels fit in no lane");
    assert_eq!(
        lines(&html, "<text class=\"time\""),
        [
            "<text class=\"time\" x=\"360\" y=\"84\" text-anchor=\"middle\">2026-03-14T10:00:00Z</text>"
        ]
    );
    assert!(html.contains("<figcaption>Window a → e: 0 ns, from "));
}

#[test]
fn without_times_the_events_are_listed_and_nothing_is_drawn() {
    let evidence = [ev(1, "check", None), ev(2, "use", None)];
    assert!(Timeline::of(&evidence).window().is_none());
    let html = render(&evidence);
    assert!(!html.contains("<svg"));
    assert!(html.contains(
        "<p class=\"note\">No timeline: 0 of these 2 events have a known time, and a window \
         needs two. They are listed in evidence order.</p>"
    ));
    assert_eq!(
        html.matches("<tr><td><span class=\"unknown\">unknown</span></td>")
            .count(),
        2
    );
    // One known time is no window either.
    let html = render(&[ev(1, "check", Some(0)), ev(2, "use", None)]);
    assert!(!html.contains("<svg"));
    assert!(html.contains("No timeline: 1 of these 2 events"));
    // A single event has nothing to relate: its row, no note.
    let html = render(&[ev(1, "use", None)]);
    assert!(!html.contains("<svg") && !html.contains("class=\"note\""));
    assert_eq!(html.matches("<tr>").count(), 2);
}

#[test]
fn untimed_events_are_listed_after_the_timed_and_not_drawn() {
    let html = render(&[
        ev(1, "request", None),
        ev(2, "use", Some(2 * MS)),
        ev(3, "check", Some(0)),
    ]);
    assert_eq!(lines(&html, "<circle").len(), 2);
    assert!(html.contains("; not drawn: 1 of 3 events (1 without a known time).</figcaption>"));
    let roles: Vec<&str> = html
        .split("</td><td>")
        .filter(|c| ["check", "use", "request"].contains(c))
        .collect();
    assert_eq!(roles, ["check", "use", "request"]);
}

#[test]
fn past_the_limit_the_earliest_events_and_the_last_are_shown() {
    let evidence: Vec<Evidence> = (0..60)
        .map(|k| ev(k, "attempt", Some((59 - k as i64) * 10 * MS)))
        .collect();
    let html = render(&evidence);
    assert_eq!(lines(&html, "<circle").len(), MAX_EVENTS);
    assert_eq!(html.matches("<tr><td><time").count(), MAX_EVENTS);
    assert!(html.contains("<p class=\"more\">…and 10 more events"));
    assert!(html.contains("; not drawn: 10 of 60 events (0 without a known time)"));
    let last_row = html.lines().rfind(|l| l.starts_with("<tr><td>"));
    assert!(
        last_row.unwrap().contains("<code>e0</code>"),
        "{last_row:?}"
    );
    // The window still spans every event.
    assert!(html.contains("Window first attempt → last attempt: 590 ms"));
}

#[test]
fn log_text_in_a_timeline_is_escaped() {
    let mut hostile = ev(1, "<script>alert(1)</script>", Some(0));
    hostile.source = "<img src=x onerror=alert(1)>.har:3".to_owned();
    hostile.event_id = "\"><svg onload=alert(1)>".to_owned();
    hostile.location = Some(Location {
        file: "<img>".to_owned(),
        record: 1,
        line: 3,
        column: 1,
        offset: 12,
        length: 40,
    });
    let html = render(&[hostile, ev(2, "use", Some(MS))]);
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<svg onload"));
    assert!(html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; at"));
    assert!(html.contains(
        "<code title=\"record 1, line 3, column 1, byte 12 (40 bytes)\">&lt;img src=x \
         onerror=alert(1)&gt;.har:3</code>"
    ));
    assert!(html.contains("<code>&quot;&gt;&lt;svg onload=alert(1)&gt;</code>"));
}

#[test]
fn durations_read_at_their_scale() {
    for (ns, text) in [
        (0, "0 ns"),
        (850, "850 ns"),
        (12_500, "12.5 µs"),
        (405 * i128::from(MS), "405 ms"),
        (1_250_000_000, "1.25 s"),
        (59_999_000_000, "59.999 s"),
        (360_000_000_000, "6 min 0 s"),
        (7_380_000_000_000, "2 h 3 min"),
        (63 * 86_400_000_000_000 + 7_200_000_000_000, "63 d 2 h"),
    ] {
        assert_eq!(duration(ns), text, "{ns}");
    }
}
