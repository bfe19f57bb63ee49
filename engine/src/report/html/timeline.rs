//! Timelines: the evidence of one incident (or one occurrence of a weakness) on a time axis, as
//! inline SVG, with the window the events span shaded — the check→use window of a race with the
//! interleaved write inside it, the revocation→last-use window of a stale key with each use, the
//! first→last id of an enumeration — and the same events as a table under it (the times as
//! text, for screen readers, print and copying).
//!
//! Positions come only from the evidence's own times. An event without a known time is listed,
//! never placed; with fewer than two timed events nothing is drawn and a note says why.

use std::borrow::Cow;
use std::fmt::{self, Write};

use super::escape::esc;
use crate::finding::Evidence;

/// Events drawn and listed per timeline: the earliest ones and the last, so that the window's
/// two ends are always shown (the rest are counted; the JSON report has them all).
pub(super) const MAX_EVENTS: usize = 50;

// The drawing, in SVG user units (tenths of a unit where a name ends in 10). The SVG scales to
// the page width; these fix its proportions.
const WIDTH: i64 = 720;
const HEIGHT: i64 = 92;
/// The axis runs from X0 to X1.
const X0: i64 = 12;
const X1: i64 = 708;
const AXIS_Y: i64 = 58;
/// The shaded window's band: AXIS_Y ± 10.
const BAND_TOP: i64 = AXIS_Y - 10;
const BAND_HEIGHT: i64 = 20;
/// Baselines of the label lanes, nearest the axis first; a label that fits in no lane is left
/// out (its event keeps its marker, tooltip and table row).
const LANE_Y: [i64; 3] = [40, 27, 14];
const TIME_Y: i64 = 84;
/// A label's estimated advance per character (11 px sans-serif), in tenths; generous, so that
/// labels estimated apart do not touch.
const CHAR_W10: i64 = 65;
/// Space kept between two labels in one lane, in tenths.
const LABEL_GAP10: i64 = 40;
/// The narrowest window drawn, in tenths (events in one instant still show a band).
const MIN_BAND10: i64 = 20;

/// One evidence record with its time, when known.
struct Item<'a> {
    evidence: &'a Evidence,
    time: Option<(i64, Cow<'a, str>)>,
}

/// The evidence of one finding or occurrence, ready to draw: timed events in time order (ties in
/// evidence order), then the untimed in evidence order.
pub(super) struct Timeline<'a> {
    items: Vec<Item<'a>>,
    timed: usize,
}

/// The span of the timed events.
pub(super) struct Window<'a> {
    /// What opens it: the first event's role.
    pub from_role: &'a str,
    /// What closes it: the last event's role.
    pub to_role: &'a str,
    /// The first event's time, RFC 3339.
    pub from: &'a str,
    /// The last event's time, RFC 3339.
    pub to: &'a str,
    /// The first event's time, Unix ns.
    start_ns: i64,
    /// The last event's time, Unix ns.
    end_ns: i64,
}

impl Window<'_> {
    /// `check → use: 405 ms`, `first attempt → last attempt: 41 s`.
    pub(super) fn label(&self) -> String {
        let from = role_name(self.from_role);
        let to = role_name(self.to_role);
        let ends = if from == to {
            format!("first {from} → last {to}")
        } else {
            format!("{from} → {to}")
        };
        format!(
            "{ends}: {}",
            duration(i128::from(self.end_ns) - i128::from(self.start_ns))
        )
    }
}

impl<'a> Timeline<'a> {
    /// The timeline of `evidence`.
    pub(super) fn of(evidence: &'a [Evidence]) -> Timeline<'a> {
        let mut items: Vec<Item<'a>> = evidence
            .iter()
            .map(|e| Item {
                evidence: e,
                time: e.time_ns.map(|ns| {
                    let text = e.time.as_deref().map_or_else(
                        || Cow::Owned(crate::time::format_rfc3339(ns)),
                        Cow::Borrowed,
                    );
                    (ns, text)
                }),
            })
            .collect();
        // Stable: ties keep evidence order; untimed last.
        items.sort_by_key(|i| i.time.as_ref().map_or((1, 0), |(ns, _)| (0, *ns)));
        let timed = items.iter().filter(|i| i.time.is_some()).count();
        Timeline { items, timed }
    }

    /// Whether there is a window to draw: at least two events with known times.
    pub(super) fn drawable(&self) -> bool {
        self.timed >= 2
    }

    /// The window the timed events span (at least two).
    pub(super) fn window(&self) -> Option<Window<'_>> {
        if !self.drawable() {
            return None;
        }
        let first = self.items.first()?;
        let last = self.items.get(self.timed - 1)?;
        let ((t0, from), (t1, to)) = (first.time.as_ref()?, last.time.as_ref()?);
        Some(Window {
            from_role: &first.evidence.role,
            to_role: &last.evidence.role,
            from,
            to,
            start_ns: *t0,
            end_ns: *t1,
        })
    }

    /// The events listed (and, when timed, drawn): all of them up to [`MAX_EVENTS`]; past it the
    /// earliest and the last timed one, then untimed ones while room is left.
    fn listed(&self) -> Vec<&Item<'a>> {
        if self.items.len() <= MAX_EVENTS {
            return self.items.iter().collect();
        }
        if self.timed >= MAX_EVENTS {
            let mut listed: Vec<&Item<'a>> = self.items.iter().take(MAX_EVENTS - 1).collect();
            listed.extend(self.items.get(self.timed - 1));
            return listed;
        }
        self.items.iter().take(MAX_EVENTS).collect()
    }

    /// Writes the figure (SVG and caption) when there is a window, else a note when there were
    /// events to relate, then the events' table.
    pub(super) fn write(&self, out: &mut String) -> fmt::Result {
        let listed = self.listed();
        if self.drawable() {
            self.figure(out, &listed)?;
        } else if self.items.len() >= 2 {
            writeln!(
                out,
                "<p class=\"note\">No timeline: {} of these {} events have a known time, and a \
                 window needs two. They are listed in evidence order.</p>",
                self.timed,
                self.items.len()
            )?;
        }
        table(out, &listed)?;
        let omitted = self.items.len() - listed.len();
        if omitted > 0 {
            writeln!(
                out,
                "<p class=\"more\">…and {omitted} more {} (every event is in the JSON \
                 report).</p>",
                if omitted == 1 { "event" } else { "events" }
            )?;
        }
        Ok(())
    }

    fn figure(&self, out: &mut String, listed: &[&Item<'a>]) -> fmt::Result {
        let Some(window) = self.window() else {
            return Ok(());
        };
        let (t0, t1) = (window.start_ns, window.end_ns);
        let label = window.label();
        out.push_str("<figure class=\"timeline\">\n");
        writeln!(
            out,
            "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} \
             {HEIGHT}\" role=\"img\"><title>Timeline, {}</title>",
            esc(&label)
        )?;
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{X0}\" y1=\"{AXIS_Y}\" x2=\"{X1}\" y2=\"{AXIS_Y}\"/>"
        )?;
        let (start, end) = (x10(t0, t0, t1), x10(t1, t0, t1));
        let width = (end - start).max(MIN_BAND10);
        let left = (start + end - width) / 2;
        writeln!(
            out,
            "<rect class=\"window\" x=\"{}\" y=\"{BAND_TOP}\" width=\"{}\" height=\"{BAND_HEIGHT}\"/>",
            Px(left),
            Px(width)
        )?;
        let timed: Vec<(&Item<'a>, i64)> = listed
            .iter()
            .filter_map(|i| i.time.as_ref().map(|(ns, _)| (*i, x10(*ns, t0, t1))))
            .collect();
        for (item, x) in &timed {
            let e = item.evidence;
            let time = item.time.as_ref().map_or("", |(_, t)| t.as_ref());
            writeln!(
                out,
                "<circle class=\"ev {}\" cx=\"{}\" cy=\"{AXIS_Y}\" r=\"4\"><title>{} at {}, {}</title></circle>",
                category(&e.role),
                Px(*x),
                esc(role_name(&e.role)),
                esc(time),
                esc(&e.source)
            )?;
        }
        for label in labels(&timed) {
            writeln!(
                out,
                "<line class=\"leader\" x1=\"{c}\" y1=\"{}\" x2=\"{c}\" y2=\"{BAND_TOP}\"/><text \
                 class=\"label\" x=\"{}\" y=\"{}\">{}</text>",
                label.y + 3,
                Px(label.left),
                label.y,
                esc(&label.text),
                c = Px(label.center),
            )?;
        }
        if t0 == t1 {
            writeln!(
                out,
                "<text class=\"time\" x=\"{}\" y=\"{TIME_Y}\" text-anchor=\"middle\">{}</text>",
                Px((X0 + X1) * 5),
                esc(window.from)
            )?;
        } else {
            writeln!(
                out,
                "<text class=\"time\" x=\"{X0}\" y=\"{TIME_Y}\">{}</text><text class=\"time\" \
                 x=\"{X1}\" y=\"{TIME_Y}\" text-anchor=\"end\">{}</text>",
                esc(window.from),
                esc(window.to)
            )?;
        }
        out.push_str("</svg>\n");
        write!(
            out,
            "<figcaption>Window {}, from <time datetime=\"{from}\">{from}</time> to <time \
             datetime=\"{to}\">{to}</time>",
            esc(&label),
            from = esc(window.from),
            to = esc(window.to)
        )?;
        let undrawn = self.items.len() - timed.len();
        if undrawn > 0 {
            write!(
                out,
                "; not drawn: {undrawn} of {} events ({} without a known time)",
                self.items.len(),
                self.items.len() - self.timed
            )?;
        }
        out.push_str(".</figcaption>\n</figure>\n");
        Ok(())
    }
}

/// The events' table: time, role, source (`file:line`, with the record's place as a tooltip
/// when the host resolved it) and event id.
fn table(out: &mut String, listed: &[&Item<'_>]) -> fmt::Result {
    out.push_str(
        "<table class=\"events\"><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Role\
         </th><th scope=\"col\">Source</th><th scope=\"col\">Event</th></tr></thead><tbody>\n",
    );
    for item in listed {
        let e = item.evidence;
        out.push_str("<tr><td>");
        match &item.time {
            Some((_, t)) => write!(out, "<time datetime=\"{t}\">{t}</time>", t = esc(t))?,
            None => out.push_str("<span class=\"unknown\">unknown</span>"),
        }
        write!(out, "</td><td>{}</td><td><code", esc(role_name(&e.role)))?;
        if let Some(l) = &e.location {
            write!(
                out,
                " title=\"record {}, line {}, column {}, byte {} ({} bytes)\"",
                l.record, l.line, l.column, l.offset, l.length
            )?;
        }
        writeln!(
            out,
            ">{}</code></td><td><code>{}</code></td></tr>",
            esc(&e.source),
            esc(&e.event_id)
        )?;
    }
    out.push_str("</tbody></table>\n");
    Ok(())
}

/// A label over one marker or a run of markers of one role.
struct Label {
    text: String,
    /// Where its leader line meets the band: the middle of its markers.
    center: i64,
    left: i64,
    y: i64,
}

/// Labels for the markers at `timed` (in time order): a run of close markers of one role shares
/// one (`attempt ×12`), each is put in the lowest lane where it does not touch the previous
/// label, and one that fits nowhere is left out.
fn labels(timed: &[(&Item<'_>, i64)]) -> Vec<Label> {
    let mut runs: Vec<(&str, i64, i64, usize)> = Vec::new();
    for (item, x) in timed {
        let role = item.evidence.role.as_str();
        // A marker closer to the previous one of its role than a label's width (with room for
        // ` ×N`) joins its run: separate labels there could not sit side by side.
        let reach = CHAR_W10 * (role_name(role).chars().count() as i64 + 4) + LABEL_GAP10;
        match runs.last_mut() {
            Some((r, _, last, n)) if *r == role && *x - *last <= reach => {
                *last = *x;
                *n += 1;
            }
            _ => runs.push((role, *x, *x, 1)),
        }
    }
    let mut lane_end = [i64::MIN; LANE_Y.len()];
    let mut out = Vec::new();
    for (role, first, last, n) in runs {
        let text = if n > 1 {
            format!("{} ×{n}", role_name(role))
        } else {
            role_name(role).to_owned()
        };
        let center = (first + last) / 2;
        let width = CHAR_W10 * text.chars().count() as i64;
        let left = (center - width / 2).min(X1 * 10 - width).max(X0 * 10);
        let lane = lane_end
            .iter()
            .position(|end| end.saturating_add(LABEL_GAP10) <= left);
        let (Some(lane), Some(y)) = (lane, lane.and_then(|l| LANE_Y.get(l))) else {
            continue;
        };
        if let Some(end) = lane_end.get_mut(lane) {
            *end = left + width;
        }
        out.push(Label {
            text,
            center,
            left,
            y: *y,
        });
    }
    out
}

/// `t`'s position on the axis from `t0` to `t1`, in tenths of a unit (the middle when they are
/// one instant).
fn x10(t: i64, t0: i64, t1: i64) -> i64 {
    let span = i128::from(t1) - i128::from(t0);
    if span <= 0 {
        return (X0 + X1) * 5;
    }
    let offset = (i128::from(t) - i128::from(t0)) * i128::from((X1 - X0) * 10) / span;
    X0 * 10 + i64::try_from(offset).unwrap_or((X1 - X0) * 10)
}

/// A length in tenths of a unit, written as SVG wants it (`348.5`, `12`).
struct Px(i64);

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, tenth) = (self.0.div_euclid(10), self.0.rem_euclid(10));
        if tenth == 0 {
            write!(f, "{whole}")
        } else {
            write!(f, "{whole}.{tenth}")
        }
    }
}

/// How a role reads: the rule's word, or `event` when it gave none.
fn role_name(role: &str) -> &str {
    if role.is_empty() { "event" } else { role }
}

/// The marker's colour class by what the role is in the window: what opens it (the check, the
/// revocation), what happens inside it (another party's write, context), what closes it (the
/// use, the attempt). Roles of other rules are drawn as plain events.
fn category(role: &str) -> &'static str {
    match role {
        "check" | "weak-check" | "revocation" | "parent revocation" => "open",
        "interleaved-write" | "request" | "ownership" => "inside",
        "use" | "blocked-write" | "attempt" | "access" | "conflict" | "concurrent" => "close",
        _ => "other",
    }
}

/// `ns` for a person: `850 ns`, `12.5 µs`, `405 ms`, `1.25 s`, `6 min 0 s`, `2 h 3 min`,
/// `63 d 2 h`.
pub(super) fn duration(ns: i128) -> String {
    const US: i128 = 1_000;
    const MS: i128 = 1_000_000;
    const S: i128 = 1_000_000_000;
    const MIN: i128 = 60 * S;
    const H: i128 = 60 * MIN;
    const D: i128 = 24 * H;
    let decimal = |whole: i128, part: i128, digits: usize, unit: &str| {
        let part = format!("{part:0digits$}");
        let part = part.trim_end_matches('0');
        if part.is_empty() {
            format!("{whole} {unit}")
        } else {
            format!("{whole}.{part} {unit}")
        }
    };
    match ns {
        n if n < US => format!("{n} ns"),
        n if n < MS => decimal(n / US, (n % US) / 10, 2, "µs"),
        n if n < S => decimal(n / MS, (n % MS) / 1_000, 3, "ms"),
        n if n < MIN => decimal(n / S, (n % S) / MS, 3, "s"),
        n if n < H => format!("{} min {} s", n / MIN, (n % MIN) / S),
        n if n < D => format!("{} h {} min", n / H, (n % H) / MIN),
        n => format!("{} d {} h", n / D, (n % D) / H),
    }
}

#[cfg(test)]
mod tests;
