//! Times as loggers write them: RFC 3339, the `2026-12-02 12:45:01,788` of Python's `asctime`
//! (no zone: read as UTC), and epoch numbers in seconds, milliseconds, microseconds or
//! nanoseconds (told apart by magnitude unless a mapping says), with the precision their digits
//! carry.

use serde_json::Value;

use super::fraction_precision_ns;
use crate::ingest::mapping::TimeUnit;
use crate::time::parse_rfc3339;

/// A time value as Unix ns and its precision in ns; `None` when it is not a time.
pub(super) fn parse_time(value: &Value, unit: Option<TimeUnit>) -> Option<(i64, u64)> {
    match value {
        Value::String(s) => parse_text(s.trim(), unit),
        Value::Number(n) => parse_epoch(&n.to_string(), unit),
        _ => None,
    }
}

/// [`parse_time`] of a string value, without a mapping's unit.
pub(super) fn parse_time_text(s: &str) -> Option<(i64, u64)> {
    parse_text(s.trim(), None)
}

fn parse_text(s: &str, unit: Option<TimeUnit>) -> Option<(i64, u64)> {
    if let Some(ns) = parse_rfc3339(s) {
        return Some((ns, fraction_precision_ns(s)));
    }
    if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) && !s.contains('-') {
        return parse_epoch(s, unit);
    }
    // `2026-12-02 12:45:01,788` / `2026-12-02T12:45:01.788`, with or without a zone.
    let mut t = s.replacen(' ', "T", 1).replacen(',', ".", 1);
    let zoned = t.ends_with('Z')
        || t.get(10..)
            .is_some_and(|rest| rest.contains('+') || rest.contains('-'));
    if !zoned {
        t.push('Z');
    }
    parse_rfc3339(&t).map(|ns| (ns, fraction_precision_ns(&t)))
}

/// An epoch number as written (`1796215507.3876107`, `1733140000123`): the unit from `unit` or
/// from the magnitude of its whole part (below 1e11 seconds, 1e14 milliseconds, 1e17
/// microseconds, else nanoseconds: each covers the years 1973–5138 of its unit). A fraction is
/// kept to the microsecond: a double holds no finer digits.
fn parse_epoch(text: &str, unit: Option<TimeUnit>) -> Option<(i64, u64)> {
    if text.contains(['e', 'E', '-']) {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: i64 = whole.parse().ok()?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unit = unit.unwrap_or(match whole {
        w if w < 100_000_000_000 => TimeUnit::Seconds,
        w if w < 100_000_000_000_000 => TimeUnit::Millis,
        w if w < 100_000_000_000_000_000 => TimeUnit::Micros,
        _ => TimeUnit::Nanos,
    });
    let ns_per_unit: i64 = match unit {
        TimeUnit::Seconds => 1_000_000_000,
        TimeUnit::Millis => 1_000_000,
        TimeUnit::Micros => 1_000,
        TimeUnit::Nanos => 1,
    };
    // Digits finer than a microsecond are noise from the double the logger printed; and a
    // printed double is as precise as its clock, whatever its shortest form shows (`.5`).
    // The digits past the microsecond round it (not truncate): a double's shortest form and its
    // exact decimal expansion (`.387611` / `.3876107`) then give the same time, whichever way
    // the JSON parser read the number.
    let finest = 1_000.min(ns_per_unit);
    let mut scale = ns_per_unit;
    let mut fraction_ns = 0i64;
    for b in fraction.bytes() {
        if scale / 10 < finest {
            if b >= b'5' {
                fraction_ns += scale;
            }
            break;
        }
        scale /= 10;
        fraction_ns += i64::from(b - b'0') * scale;
    }
    let precision = if fraction.is_empty() {
        ns_per_unit
    } else {
        finest
    };
    let ns = whole.checked_mul(ns_per_unit)?.checked_add(fraction_ns)?;
    Some((ns, u64::try_from(precision).unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(json: &str) -> Option<(i64, u64)> {
        parse_time(&serde_json::from_str(json).unwrap(), None)
    }

    #[test]
    fn the_encodings_loggers_use() {
        let base = 1_796_215_501_000_000_000; // 2026-12-02T12:45:01Z
        assert_eq!(
            t(r#""2026-12-02T12:45:01.788Z""#),
            Some((base + 788_000_000, 1_000_000))
        );
        assert_eq!(
            t(r#""2026-12-02 12:45:01,788""#),
            Some((base + 788_000_000, 1_000_000))
        );
        assert_eq!(
            t(r#""2026-12-02T13:45:01+01:00""#),
            Some((base, 1_000_000_000))
        );
        assert_eq!(t("1796215501"), Some((base, 1_000_000_000)));
        // The double prints as `1796215501.387611`: its digits, to the microsecond.
        assert_eq!(t("1796215501.3876107"), Some((base + 387_611_000, 1_000)));
        assert_eq!(t("1796215501.5"), Some((base + 500_000_000, 1_000)));
        // Times structlog wrote (`tests/fixtures/dialects/structlog-ecs.jsonl`). serde_json's
        // fast float parse left these one ulp off (as `…3279183` and `…3407905`), a
        // microsecond each; `float_roundtrip`, asked for in the workspace manifest, parses them
        // correctly rounded, as the tests' build did through a dev-dependency all along.
        assert_eq!(
            t("1796215507.3279185"),
            Some((1_796_215_507_327_919_000, 1_000))
        );
        assert_eq!(
            t("1796215507.3407903"),
            Some((1_796_215_507_340_790_000, 1_000))
        );
        // The double's exact expansion and its shortest form: one time.
        for text in [
            "1796215501.3876107",
            "1796215501.387611",
            "1796215501.38761069",
        ] {
            assert_eq!(
                parse_epoch(text, None),
                Some((base + 387_611_000, 1_000)),
                "{text}"
            );
        }
        assert_eq!(t("1796215501788"), Some((base + 788_000_000, 1_000_000)));
        assert_eq!(t("1796215501788.5"), Some((base + 788_500_000, 1_000)));
        assert_eq!(t("1796215501788123"), Some((base + 788_123_000, 1_000)));
        assert_eq!(t("1796215501788123456"), Some((base + 788_123_456, 1)));
        assert_eq!(
            t(r#""1796215501788""#),
            Some((base + 788_000_000, 1_000_000))
        );
        assert_eq!(t(r#""yesterday""#), None);
        assert_eq!(t("-5"), None);
        assert_eq!(t("true"), None);
        assert_eq!(
            parse_time(&Value::from(1_796_215_501u64), Some(TimeUnit::Seconds)),
            Some((base, 1_000_000_000))
        );
        assert_eq!(
            parse_time(&Value::from(1_796_215_501u64), Some(TimeUnit::Millis)),
            Some((1_796_215_501_000_000, 1_000_000))
        );
    }
}
