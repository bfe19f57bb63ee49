//! Baselines: the fingerprints of an earlier report's findings, read from its JSON document
//! (`findings[]` and the `baselined[]` it carried forward) or its JSON Lines (one finding per
//! line). Anything else is refused: a baseline that silently held nothing would hide nothing, and
//! one read from the wrong file could hide anything.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::ingest::kind_of;

use super::TriageError;
use super::suppressions::is_fingerprint;

/// What a baseline must be, for error messages.
const EXPECTED: &str = "expected a tracewarden JSON report (an object with `findings`) or JSON \
                        Lines report (one finding object per line)";

/// The fingerprints of the findings an earlier report held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The file, as given.
    pub file: String,
    fingerprints: BTreeSet<String>,
}

impl Baseline {
    /// Reads the report at `path` as a baseline.
    pub fn load(path: &Path) -> Result<Baseline, TriageError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TriageError::Baseline {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Baseline::parse(&file, &text)
    }

    /// Reads `text`, the content of `file`, as a baseline: a JSON report's `findings[]` and
    /// `baselined[]` fingerprints, or each line's `fingerprint` in a JSON Lines report (an
    /// empty file is the JSON Lines report of a clean scan).
    pub fn parse(file: &str, text: &str) -> Result<Baseline, TriageError> {
        let refused = |found: String| TriageError::Baseline {
            file: file.to_owned(),
            reason: format!("{EXPECTED}, found {found}"),
        };
        let mut fingerprints = BTreeSet::new();
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(doc)) if doc.contains_key("findings") => {
                for list in ["findings", "baselined"] {
                    let items = match doc.get(list) {
                        None => continue,
                        Some(Value::Array(items)) => items,
                        Some(_) => return Err(refused(format!("`{list}` that is not an array"))),
                    };
                    for (i, item) in items.iter().enumerate() {
                        let fingerprint = fingerprint_of(item).ok_or_else(|| {
                            refused(format!("`{list}` item {} without a fingerprint", i + 1))
                        })?;
                        fingerprints.insert(fingerprint.to_owned());
                    }
                }
            }
            Ok(Value::Object(line)) if line.contains_key("fingerprint") => {
                let item = Value::Object(line);
                let fingerprint = fingerprint_of(&item)
                    .ok_or_else(|| refused("line 1 without a fingerprint".into()))?;
                fingerprints.insert(fingerprint.to_owned());
            }
            Ok(Value::Object(_)) => return Err(refused("an object without `findings`".into())),
            Ok(other) => return Err(refused(kind_of(&other).into())),
            Err(_) => {
                for (n, line) in text.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let fingerprint = serde_json::from_str::<Value>(line)
                        .ok()
                        .and_then(|v| fingerprint_of(&v).map(str::to_owned))
                        .ok_or_else(|| {
                            refused(format!(
                                "line {} that is not a finding with a fingerprint",
                                n + 1
                            ))
                        })?;
                    fingerprints.insert(fingerprint);
                }
            }
        }
        Ok(Baseline {
            file: file.to_owned(),
            fingerprints,
        })
    }

    /// Whether the baseline holds `fingerprint`.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// How many distinct fingerprints it holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether it holds none (the report of a clean scan).
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// Its fingerprints, sorted.
    pub fn fingerprints(&self) -> impl Iterator<Item = &str> {
        self.fingerprints.iter().map(String::as_str)
    }
}

/// A finding's fingerprint, when `item` is an object with a well-formed one.
fn fingerprint_of(item: &Value) -> Option<&str> {
    item.get("fingerprint")
        .and_then(Value::as_str)
        .filter(|f| is_fingerprint(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";
    const C: &str = "00000000000000000000000000000000";
    /// A suppressed finding's: not a baseline's (its suppression may expire).
    const D: &str = "11111111111111111111111111111111";

    fn held(text: &str) -> Vec<String> {
        Baseline::parse("old.json", text)
            .unwrap()
            .fingerprints()
            .map(str::to_owned)
            .collect()
    }

    fn refusal(text: &str) -> String {
        Baseline::parse("old.json", text).unwrap_err().to_string()
    }

    #[test]
    fn a_json_report_gives_its_findings_and_what_it_carried_forward() {
        let report = format!(
            r#"{{"schema_version":"2.1","findings":[{{"rule_id":"R","fingerprint":"{B}"}},
            {{"rule_id":"R","fingerprint":"{A}"}}],"baselined":[{{"fingerprint":"{C}"}}],
            "suppressed":[{{"fingerprint":"{D}"}}]}}"#
        );
        assert_eq!(held(&report), [C, A, B]);
        assert_eq!(held(r#"{"findings": []}"#), Vec::<String>::new());
    }

    #[test]
    fn a_json_lines_report_gives_each_lines_fingerprint() {
        assert_eq!(
            held(&format!(
                "{{\"fingerprint\":\"{A}\"}}\n\n{{\"fingerprint\":\"{B}\"}}\n"
            )),
            [A, B]
        );
        assert_eq!(held(&format!("{{\"fingerprint\":\"{A}\"}}\n")), [A]);
        assert_eq!(held(""), Vec::<String>::new());
    }

    #[test]
    fn anything_else_is_refused_naming_the_file_and_what_was_found() {
        let expected = "cannot read baseline `old.json`: expected a tracewarden JSON report (an \
                        object with `findings`) or JSON Lines report (one finding object per \
                        line), found";
        for (text, found) in [
            (
                r#"{"version": "2.1.0", "runs": []}"#,
                "an object without `findings`",
            ),
            ("[1, 2]", "an array"),
            (r#"{"findings": {}}"#, "`findings` that is not an array"),
            (
                r#"{"findings": [{"fingerprint": "xyz"}]}"#,
                "`findings` item 1 without a fingerprint",
            ),
            (
                "rule,fingerprint\nR,abc\n",
                "line 1 that is not a finding with a fingerprint",
            ),
            (
                &format!("{{\"fingerprint\":\"{A}\"}}\n{{\"rule_id\":\"R\"}}\n"),
                "line 2 that is not a finding with a fingerprint",
            ),
        ] {
            assert_eq!(refusal(text), format!("{expected} {found}"), "{text}");
        }
    }
}
