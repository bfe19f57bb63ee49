//! TW-KEY-001 (used after revocation), TW-KEY-005 (revoked key tried) and TW-KEY-006 (session
//! credentials used after their parent key's revocation): uses are gathered per key and
//! revocation, and judged at the end, so each finding states the whole window.

use std::collections::BTreeMap;

use tracewarden_sdk::prelude::*;

use crate::options::Options;
use crate::{PROBING, SESSION_OUTLIVES_PARENT, USED_AFTER_REVOCATION};

/// The uses of one key after one revocation.
#[derive(Default)]
struct Window {
    revoked_ns: i64,
    revocation: Option<Evidence>,
    first_ns: i64,
    last_ns: i64,
    uses: u64,
    writes: u64,
    principal: String,
    /// For TW-KEY-006: the parent key, when the credentials were issued.
    parent: String,
    issued_ns: i64,
    evidence: Vec<Evidence>,
    /// The last use, kept whatever `max_evidence` is.
    last: Option<Evidence>,
}

impl Window {
    fn add(&mut self, event: &Event<'_>, role: &str, options: &Options) {
        if self.uses == 0 {
            self.first_ns = event.time_ns;
        }
        self.uses += 1;
        self.last_ns = event.time_ns;
        if event.is_write() {
            self.writes += 1;
        }
        if self.principal.is_empty() {
            event.principal().clone_into(&mut self.principal);
        }
        let e = Evidence::of(event, role);
        if self.evidence.len() < options.max_evidence.saturating_sub(1).max(1) {
            self.evidence.push(e);
        } else {
            self.last = Some(e);
        }
    }

    fn evidence(self) -> Vec<Evidence> {
        self.revocation
            .into_iter()
            .chain(self.evidence)
            .chain(self.last)
            .collect()
    }
}

/// Keyed by (rule, key id, revocation time): a key revoked, reactivated and revoked again has
/// two windows.
#[derive(Default)]
pub(crate) struct Revoked {
    windows: BTreeMap<(u8, String, i64), Window>,
}

const AFTER_REVOCATION: u8 = 1;
const PROBED: u8 = 5;
const SESSION: u8 = 6;

fn revocation(id: &str, source: &str, time_ns: i64, role: &str) -> Option<Evidence> {
    (!id.is_empty()).then(|| Evidence {
        event_id: id.to_owned(),
        role: role.to_owned(),
        source: source.to_owned(),
        time_ns,
    })
}

impl Revoked {
    pub(crate) fn on_event(&mut self, event: &Event<'_>, key: &KeyFact<'_>, options: &Options) {
        // A DynamoDB call made for an HTTP request is that request's use of the key, counted
        // once with the request (the auth middleware's key lookup of a refused request is no
        // successful use).
        if event.db().is_some() && !event.correlation.linked_event.is_empty() {
            return;
        }
        // After means after the revocation's second: CloudTrail times are whole seconds.
        let after =
            |t: i64| t != 0 && event.time_ns >= t.saturating_add(event.precision_ns.max(1) as i64);
        let success = event.outcome == Outcome::Success;
        if after(key.revoked_ns) {
            let rule = match event.outcome {
                Outcome::Success => Some(AFTER_REVOCATION),
                Outcome::Denied => Some(PROBED),
                _ => None,
            };
            if let Some(rule) = rule {
                let w = self
                    .windows
                    .entry((rule, key.key_id.to_owned(), key.revoked_ns))
                    .or_insert_with(|| Window {
                        revoked_ns: key.revoked_ns,
                        revocation: revocation(
                            key.revoked_event,
                            key.revoked_event_source,
                            key.revoked_ns,
                            "revocation",
                        ),
                        ..Window::default()
                    });
                w.add(
                    event,
                    if rule == PROBED { "attempt" } else { "use" },
                    options,
                );
            }
        }
        if success
            && key.issued_ns != 0
            && key.parent_revoked_ns > key.issued_ns
            && after(key.parent_revoked_ns)
        {
            let w = self
                .windows
                .entry((SESSION, key.key_id.to_owned(), key.parent_revoked_ns))
                .or_insert_with(|| Window {
                    revoked_ns: key.parent_revoked_ns,
                    revocation: revocation(
                        key.parent_revoked_event,
                        key.parent_revoked_event_source,
                        key.parent_revoked_ns,
                        "parent revocation",
                    ),
                    parent: key.parent_key_id.to_owned(),
                    issued_ns: key.issued_ns,
                    ..Window::default()
                });
            w.add(event, "use", options);
        }
    }

    pub(crate) fn finish(&mut self, out: &mut Findings) {
        for ((rule, key_id, _), w) in std::mem::take(&mut self.windows) {
            let finding = match rule {
                AFTER_REVOCATION => after_revocation(&key_id, &w),
                PROBED => probed(&key_id, &w),
                _ => session(&key_id, &w),
            };
            let mut finding = finding
                .principal(&w.principal.clone())
                .resource(format!("key/{key_id}"));
            for e in w.evidence() {
                finding = finding.with(e);
            }
            out.push(finding);
        }
    }
}

/// `2 successful uses (1 a write)`.
fn uses_text(w: &Window) -> String {
    let mut text = format!(
        "{} successful use{}",
        w.uses,
        if w.uses == 1 { "" } else { "s" }
    );
    if w.writes > 0 {
        text.push_str(&format!(
            " ({} a write{})",
            w.writes,
            if w.writes == 1 { "" } else { "s" }
        ));
    }
    text
}

fn after_revocation(key_id: &str, w: &Window) -> Finding {
    let window = w.last_ns.saturating_sub(w.revoked_ns);
    let severity = match window {
        w if w <= 60_000_000_000 => Severity::Low,
        w if w <= 900_000_000_000 => Severity::Medium,
        _ => Severity::High,
    };
    let severity = if w.writes > 0 {
        one_up(severity)
    } else {
        severity
    };
    Finding::new(
        USED_AFTER_REVOCATION.id,
        format!(
            "key `{key_id}` was revoked at {} and kept working: {} after it, the last {} after \
             the revocation (the revocation-to-last-use window)",
            date(w.revoked_ns),
            uses_text(w),
            duration(window),
        ),
    )
    .severity(severity)
}

fn probed(key_id: &str, w: &Window) -> Finding {
    let first = duration(w.first_ns.saturating_sub(w.revoked_ns));
    let when = if w.uses == 1 {
        format!("once, {first} after the revocation")
    } else {
        format!(
            "{} times, from {first} to {} after the revocation",
            w.uses,
            duration(w.last_ns.saturating_sub(w.revoked_ns))
        )
    };
    Finding::new(
        PROBING.id,
        format!(
            "revoked key `{key_id}` (revoked at {}) was still tried and refused {when}: someone \
             still holds it",
            date(w.revoked_ns),
        ),
    )
}

fn session(key_id: &str, w: &Window) -> Finding {
    Finding::new(
        SESSION_OUTLIVES_PARENT.id,
        format!(
            "session credentials `{key_id}`, issued at {} with key `{}`, were used after that \
             key was revoked at {}: {}, the last {} after the revocation",
            date(w.issued_ns),
            w.parent,
            date(w.revoked_ns),
            uses_text(w),
            duration(w.last_ns.saturating_sub(w.revoked_ns)),
        ),
    )
}

fn one_up(s: Severity) -> Severity {
    match s {
        Severity::Info => Severity::Low,
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// `3 d 4 h`, `12 min 5 s`, `40 s`, `0.250 s`.
pub(crate) fn duration(ns: i64) -> String {
    let s = ns / 1_000_000_000;
    match s {
        0 => format!("{:.3} s", ns as f64 / 1e9),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// RFC 3339 UTC, to the second: `2026-03-14T09:20:00Z`.
pub(crate) fn date(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
