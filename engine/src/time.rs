//! Log time: parsing the timestamps formats write and printing them back. "Now" is always the
//! log's time, never the clock.

use chrono::DateTime;

/// Parses an RFC 3339 timestamp to Unix ns.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

/// Parses a time a person types (`--since`): RFC 3339 (`2026-03-14T10:00:00Z`), or a date
/// (`2026-03-14`, midnight UTC), to Unix ns.
pub fn parse_instant(s: &str) -> Option<i64> {
    parse_rfc3339(s).or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_nanos_opt()
    })
}

/// Formats Unix ns as RFC 3339 UTC, with as many fraction digits as needed (findings' times).
#[cfg(feature = "rules")]
pub fn format_rfc3339(ns: i64) -> String {
    DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc_3339_or_dates() {
        assert_eq!(
            parse_instant("2020-09-03"),
            parse_rfc3339("2020-09-03T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2020-09-03T22:27:15+02:00"),
            Some(1_599_164_835_000_000_000)
        );
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn round_trip() {
        let ns = parse_rfc3339("2020-09-03T22:27:15Z").unwrap();
        assert_eq!(ns, 1_599_172_035_000_000_000);
        assert_eq!(format_rfc3339(ns), "2020-09-03T22:27:15Z");
        assert_eq!(
            format_rfc3339(ns + 1_500_000),
            "2020-09-03T22:27:15.001500Z"
        );
        assert_eq!(parse_rfc3339("not-a-time"), None);
    }
}
