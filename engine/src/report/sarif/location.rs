//! Where a result is: each evidence record as a SARIF location, its input file as an artifact
//! URI and the record as a region. The record's resolved [`crate::finding::Location`] gives line,
//! column, byte offset and length; without it, the evidence's `file:line` or `file#record`
//! source gives what it can.

use std::path::{Component, Path};

use super::model::{
    ArtifactLocation, Location, LocationProperties, Message, PhysicalLocation, Region,
};
use crate::finding::Evidence;

/// The base of relative input paths: the directory the scan ran in (GitHub code scanning reads
/// such paths from the repository's root).
pub(super) const SRCROOT: &str = "%SRCROOT%";

/// The SARIF location of one evidence record; `None` when its source names no file.
pub(super) fn of(evidence: &Evidence) -> Option<Location> {
    let (file, region, record) = match &evidence.location {
        Some(at) => (
            at.file.as_str(),
            Region {
                start_line: at.line.max(1),
                start_column: Some(at.column.max(1)),
                byte_offset: Some(at.offset),
                byte_length: Some(at.length),
            },
            Some(at.record),
        ),
        None => match parse_source(&evidence.source)? {
            (file, Position::Line(line)) => (file, line_region(line), None),
            // Only the record is known: the region is the file's first line, and the message
            // says which record it is.
            (file, Position::Record(record)) => (file, line_region(1), Some(record)),
        },
    };
    let mut text = match evidence.role.as_str() {
        "" => format!("event {}", evidence.event_id),
        role => format!("{role}: event {}", evidence.event_id),
    };
    match (&evidence.location, record) {
        (Some(_), Some(record)) => text.push_str(&format!(", record {record}")),
        (None, Some(record)) => text.push_str(&format!(", record {record} (line not known)")),
        _ => {}
    }
    Some(Location {
        physical_location: PhysicalLocation {
            artifact_location: artifact(file),
            region,
        },
        message: Message::text(text),
        properties: LocationProperties {
            event_id: evidence.event_id.clone(),
            role: evidence.role.clone(),
            record,
        },
    })
}

/// Whether [`of`] gives `evidence` a location.
pub(super) fn locatable(evidence: &Evidence) -> bool {
    evidence.location.is_some() || parse_source(&evidence.source).is_some()
}

fn line_region(line: u64) -> Region {
    Region {
        start_line: line,
        start_column: None,
        byte_offset: None,
        byte_length: None,
    }
}

/// Where in its file a source puts the record.
#[derive(Debug, PartialEq, Eq)]
enum Position {
    Line(u64),
    Record(u64),
}

/// `file:line` or `file#record` (the forms the host writes); anything else names no record.
fn parse_source(source: &str) -> Option<(&str, Position)> {
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .filter(|n| *n > 0)
    };
    if let Some((file, n)) = source.rsplit_once(':')
        && let Some(line) = number(n)
        && !file.is_empty()
    {
        return Some((file, Position::Line(line)));
    }
    let (file, n) = source.rsplit_once('#')?;
    let record = number(n)?;
    (!file.is_empty()).then_some((file, Position::Record(record)))
}

/// The artifact location of an input as given: a relative path as a relative reference against
/// [`SRCROOT`], an absolute one as a `file` URI, standard input as `-`. `.` and `..` segments
/// are resolved lexically (SARIF forbids `..` in `file` URIs).
pub(super) fn artifact(file: &str) -> ArtifactLocation {
    if file == "-" {
        return ArtifactLocation {
            uri: Some("-".to_owned()),
            uri_base_id: None,
            description: Some(Message::text("standard input")),
        };
    }
    let path = Path::new(file);
    if path.is_absolute() {
        ArtifactLocation {
            uri: Some(file_uri(path)),
            uri_base_id: None,
            description: None,
        }
    } else {
        ArtifactLocation {
            uri: Some(segments(path, false).join("/")),
            uri_base_id: Some(SRCROOT),
            description: None,
        }
    }
}

/// `file:///` and the path's segments, percent-encoded.
pub(super) fn file_uri(path: &Path) -> String {
    format!("file:///{}", segments(path, true).join("/"))
}

/// The path's segments, percent-encoded, `.` dropped and `..` resolved where it can be (an
/// absolute path cannot rise above its root; a relative one keeps its leading `..`).
fn segments(path: &Path, absolute: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut climbs = 0;
    for component in path.components() {
        match component {
            // A Windows drive (`C:`) stays as it is: `file:///C:/logs/a.json`.
            Component::Prefix(p) => out.push(p.as_os_str().to_string_lossy().replace('\\', "/")),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                if out.len() > climbs {
                    out.pop();
                } else if !absolute {
                    out.push("..".to_owned());
                    climbs += 1;
                }
            }
            Component::Normal(name) => out.push(encode(&name.to_string_lossy())),
        }
    }
    out
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, so that no character of a
/// file name can act as a delimiter (`:` in a first segment, `#`, `?`, `%`).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location as Record;

    fn evidence(source: &str, location: Option<Record>) -> Evidence {
        Evidence {
            event_id: "ev-1".into(),
            role: "use".into(),
            source: source.into(),
            location,
            time: None,
            time_ns: None,
        }
    }

    #[test]
    fn sources_give_a_line_or_a_record_or_nothing() {
        assert_eq!(
            parse_source("logs/a.jsonl:12"),
            Some(("logs/a.jsonl", Position::Line(12)))
        );
        assert_eq!(
            parse_source("C:\\logs\\a.json#3"),
            Some(("C:\\logs\\a.json", Position::Record(3)))
        );
        assert_eq!(
            parse_source("a:b.json:7"),
            Some(("a:b.json", Position::Line(7)))
        );
        for nothing in [
            "", "a.json", "a.json:", "a.json:0", ":4", "#4", "a.json#x", "a:-1",
        ] {
            assert_eq!(parse_source(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn paths_become_uris_relative_to_srcroot_or_absolute_file_uris() {
        let rel = artifact("logs/./my logs/../trail #1:α.json");
        assert_eq!(rel.uri.as_deref(), Some("logs/trail%20%231%3A%CE%B1.json"));
        assert_eq!(rel.uri_base_id, Some(SRCROOT));
        assert_eq!(
            artifact("../up/a.json").uri.as_deref(),
            Some("../up/a.json")
        );
        assert_eq!(artifact("a/../../b").uri.as_deref(), Some("../b"));
        let abs = artifact("/work/x/engine/cli/../../tests/a%b.json");
        assert_eq!(abs.uri.as_deref(), Some("file:///work/x/tests/a%25b.json"));
        assert_eq!(abs.uri_base_id, None);
        assert_eq!(artifact("/../a").uri.as_deref(), Some("file:///a"));
        let stdin = artifact("-");
        assert_eq!(stdin.uri.as_deref(), Some("-"));
        assert_eq!(stdin.description, Some(Message::text("standard input")));
    }

    #[test]
    fn a_resolved_record_gives_line_column_and_bytes() {
        let at = Record {
            file: "trail/2024.json".into(),
            record: 4,
            line: 1,
            column: 2_417,
            offset: 2_416,
            length: 1_203,
        };
        let loc = of(&evidence("ignored:9", Some(at))).unwrap();
        assert_eq!(
            loc.physical_location,
            PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: Some("trail/2024.json".into()),
                    uri_base_id: Some(SRCROOT),
                    description: None,
                },
                region: Region {
                    start_line: 1,
                    start_column: Some(2_417),
                    byte_offset: Some(2_416),
                    byte_length: Some(1_203),
                },
            }
        );
        assert_eq!(loc.message.text, "use: event ev-1, record 4");
        assert_eq!(loc.properties.record, Some(4));
    }

    #[test]
    fn without_a_resolved_record_the_source_gives_the_line_or_the_record() {
        let loc = of(&evidence("app.jsonl:7", None)).unwrap();
        assert_eq!(loc.physical_location.region, line_region(7));
        assert_eq!(loc.message.text, "use: event ev-1");
        let loc = of(&evidence("trail.json#3", None)).unwrap();
        assert_eq!(loc.physical_location.region, line_region(1));
        assert_eq!(
            loc.message.text,
            "use: event ev-1, record 3 (line not known)"
        );
        assert_eq!(loc.properties.record, Some(3));
        assert_eq!(of(&evidence("somewhere", None)), None);
    }
}
