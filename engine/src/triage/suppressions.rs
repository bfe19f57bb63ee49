//! Suppressions: a TOML file of findings accepted on purpose, each entry naming what it accepts
//! (a rule, a fingerprint, narrowed by principal or resource), why (required), and until when
//! (optional, judged against the finding's log time).

use std::path::Path;

use chrono::NaiveDate;

use super::TriageError;
use crate::Finding;
use crate::rules::FindingClass;

/// The keys an entry may have.
const KEYS: [&str; 6] = [
    "rule",
    "fingerprint",
    "principal",
    "resource",
    "justification",
    "expires",
];

/// A suppressions file: its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressions {
    /// The file, as given.
    pub file: String,
    /// Its `[[suppression]]` entries, in file order.
    pub entries: Vec<Suppression>,
}

/// One `[[suppression]]` entry. A finding is matched when every criterion given matches; at least
/// `rule` or `fingerprint` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line of the entry's `[[suppression]]` header.
    pub line: u64,
    /// The rule id, exactly.
    pub rule: Option<String>,
    /// The finding's fingerprint (32 hex digits, lowercase).
    pub fingerprint: Option<String>,
    /// The finding's principal; `*` matches any run of characters.
    pub principal: Option<String>,
    /// The finding's resource (a weakness's: its site); `*` matches any run of characters.
    pub resource: Option<String>,
    /// Why the finding is accepted.
    pub justification: String,
    /// The last day (UTC) it covers: a finding whose log time is later is not suppressed.
    pub expires: Option<NaiveDate>,
}

impl Suppressions {
    /// Reads and checks the suppressions file at `path`.
    pub fn load(path: &Path) -> Result<Suppressions, TriageError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TriageError::Suppressions {
            file: file.clone(),
            problems: vec![format!("cannot be read: {e}")],
        })?;
        Suppressions::parse(&file, &text)
    }

    /// Parses suppressions from `text`, the content of `file`. Every problem is reported, each
    /// naming its entry and line.
    pub fn parse(file: &str, text: &str) -> Result<Suppressions, TriageError> {
        let refused = |problems: Vec<String>| TriageError::Suppressions {
            file: file.to_owned(),
            problems,
        };
        let top: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(String::new(), |s| {
                format!(" (line {})", line_of(text, s.start))
            });
            refused(vec![format!("not TOML: {}{line}", e.message().trim_end())])
        })?;
        let mut problems = Vec::new();
        for (key, value) in &top {
            let tables = value
                .as_array()
                .is_some_and(|items| items.iter().all(toml::Value::is_table));
            if key != "suppression" {
                problems.push(format!(
                    "unknown key `{key}` (expected `[[suppression]]` entries)"
                ));
            } else if !tables {
                problems.push("`suppression` must be entries written `[[suppression]]`".into());
            }
        }
        if !problems.is_empty() {
            return Err(refused(problems));
        }
        #[derive(serde::Deserialize)]
        struct Entries {
            #[serde(default)]
            suppression: Vec<toml::Spanned<toml::Table>>,
        }
        let entries: Entries =
            toml::from_str(text).map_err(|e| refused(vec![e.message().to_owned()]))?;
        let mut out = Vec::new();
        for (i, entry) in entries.suppression.iter().enumerate() {
            let line = line_of(text, entry.span().start);
            match Suppression::from_table(line, entry.get_ref()) {
                Ok(s) => out.push(s),
                Err(errors) => problems.extend(
                    errors
                        .into_iter()
                        .map(|e| format!("suppression {} (line {line}): {e}", i + 1)),
                ),
            }
        }
        if problems.is_empty() {
            Ok(Suppressions {
                file: file.to_owned(),
                entries: out,
            })
        } else {
            Err(refused(problems))
        }
    }
}

impl Suppression {
    fn from_table(line: u64, table: &toml::Table) -> Result<Suppression, Vec<String>> {
        let mut problems = Vec::new();
        for key in table.keys() {
            if !KEYS.contains(&key.as_str()) {
                problems.push(format!(
                    "unknown key `{key}` (expected {})",
                    KEYS.join(", ")
                ));
            }
        }
        let mut text = |key: &str| match table.get(key) {
            None => None,
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(toml::Value::String(_)) => {
                problems.push(format!("`{key}` is empty"));
                None
            }
            Some(_) => {
                problems.push(format!("`{key}` must be a string"));
                None
            }
        };
        let rule = text("rule");
        let fingerprint = text("fingerprint").map(|f| f.to_ascii_lowercase());
        let principal = text("principal");
        let resource = text("resource");
        let justification = text("justification");
        if let Some(f) = &fingerprint
            && !is_fingerprint(f)
        {
            problems.push(format!(
                "`fingerprint` must be 32 hex digits (a report's `findings[].fingerprint`), \
                 found `{f}`"
            ));
        }
        if rule.is_none() && fingerprint.is_none() && !table.contains_key("rule") {
            problems.push("needs `rule` or `fingerprint`: what it accepts".into());
        }
        if justification.is_none() && !table.contains_key("justification") {
            problems.push("`justification` is required: why the finding is accepted".into());
        }
        let expires = match table.get("expires") {
            None => None,
            Some(value) => {
                let date = match value {
                    toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => {
                        d.date.and_then(|d| {
                            NaiveDate::from_ymd_opt(
                                i32::from(d.year),
                                u32::from(d.month),
                                u32::from(d.day),
                            )
                        })
                    }
                    toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                    _ => None,
                };
                if date.is_none() {
                    problems.push(format!(
                        "`expires` must be a date like 2027-01-31, found `{value}`"
                    ));
                }
                date
            }
        };
        match (justification, problems.is_empty()) {
            (Some(justification), true) => Ok(Suppression {
                line,
                rule,
                fingerprint,
                principal,
                resource,
                justification,
                expires,
            }),
            _ => Err(problems),
        }
    }

    /// Whether `finding` is one this entry names (whatever its expiry).
    pub fn matches(&self, finding: &Finding) -> bool {
        self.rule.as_ref().is_none_or(|r| *r == finding.rule_id)
            && self
                .fingerprint
                .as_ref()
                .is_none_or(|f| *f == finding.fingerprint)
            && self
                .principal
                .as_ref()
                .is_none_or(|p| glob(p, &finding.principal))
            && self
                .resource
                .as_ref()
                .is_none_or(|r| glob(r, &finding.resource))
    }

    /// Whether the entry still covers `finding` at the finding's log time: its latest evidence
    /// (an incident) or its last occurrence (a weakness), on or before the expiry day, UTC.
    pub fn covers(&self, finding: &Finding) -> bool {
        let Some(expires) = self.expires else {
            return true;
        };
        let last_ns = match finding.class {
            FindingClass::Weakness => finding
                .last_seen
                .as_deref()
                .and_then(crate::time::parse_rfc3339),
            FindingClass::Incident => None,
        }
        .unwrap_or(finding.time_ns);
        chrono::DateTime::from_timestamp_nanos(last_ns).date_naive() <= expires
    }

    /// What the entry names, for a sentence: `rule `TW-BOLA-004`, resource `catalog/*``.
    pub fn describe(&self) -> String {
        [
            ("rule", &self.rule),
            ("fingerprint", &self.fingerprint),
            ("principal", &self.principal),
            ("resource", &self.resource),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key} `{v}`")))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// Whether `text` is a fingerprint as reports write them.
pub(super) fn is_fingerprint(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> u64 {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|b| *b == b'\n').count() as u64 + 1
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included) and
/// every other character itself.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it was tried at: on a mismatch, let it take one
    // more character.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Vec<String> {
        match Suppressions::parse("s.toml", text) {
            Err(TriageError::Suppressions { file, problems }) => {
                assert_eq!(file, "s.toml");
                problems
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn entries_are_read_with_their_lines_and_criteria() {
        let s = Suppressions::parse(
            "s.toml",
            "# accepted\n\n[[suppression]]\nrule = \"TW-BOLA-004\"\nresource = \"catalog*\"\n\
             justification = \"public catalog (SEC-12)\"\nexpires = 2027-01-31\n\n\
             [[suppression]]\nfingerprint = \"9730171388EB756EE0FBC6395E8B9CB5\"\n\
             justification = \"load test\"\nexpires = \"2026-12-31\"\n",
        )
        .unwrap();
        assert_eq!(
            s.entries,
            [
                Suppression {
                    line: 3,
                    rule: Some("TW-BOLA-004".into()),
                    fingerprint: None,
                    principal: None,
                    resource: Some("catalog*".into()),
                    justification: "public catalog (SEC-12)".into(),
                    expires: NaiveDate::from_ymd_opt(2027, 1, 31),
                },
                Suppression {
                    line: 9,
                    rule: None,
                    fingerprint: Some("9730171388eb756ee0fbc6395e8b9cb5".into()),
                    principal: None,
                    resource: None,
                    justification: "load test".into(),
                    expires: NaiveDate::from_ymd_opt(2026, 12, 31),
                },
            ]
        );
        assert_eq!(
            s.entries[0].describe(),
            "rule `TW-BOLA-004`, resource `catalog*`"
        );
        assert_eq!(Suppressions::parse("e.toml", "").unwrap().entries, []);
    }

    #[test]
    fn every_problem_is_named_with_its_entry_and_line() {
        assert_eq!(
            refused(
                "[[suppression]]\nrule = \"TW-X\"\n\n[[suppression]]\nrule = \"TW-Y\"\n\
                 justification = \" \"\nexpiry = 2027-01-01\n\n[[suppression]]\n\
                 principal = \"alice\"\njustification = \"j\"\nexpires = \"2027-02-30\"\n\n\
                 [[suppression]]\nfingerprint = \"abc\"\njustification = 3\n\
                 expires = 2027-01-01T10:00:00Z\n"
            ),
            [
                "suppression 1 (line 1): `justification` is required: why the finding is accepted",
                "suppression 2 (line 4): unknown key `expiry` (expected rule, fingerprint, \
                 principal, resource, justification, expires)",
                "suppression 2 (line 4): `justification` is empty",
                "suppression 3 (line 9): needs `rule` or `fingerprint`: what it accepts",
                "suppression 3 (line 9): `expires` must be a date like 2027-01-31, found \
                 `\"2027-02-30\"`",
                "suppression 4 (line 14): `justification` must be a string",
                "suppression 4 (line 14): `fingerprint` must be 32 hex digits (a report's \
                 `findings[].fingerprint`), found `abc`",
                "suppression 4 (line 14): `expires` must be a date like 2027-01-31, found \
                 `2027-01-01T10:00:00Z`",
            ]
        );
        assert_eq!(
            refused("[suppression]\nrule = \"x\"\n[other]\n"),
            [
                "unknown key `other` (expected `[[suppression]]` entries)",
                "`suppression` must be entries written `[[suppression]]`",
            ]
        );
        assert_eq!(
            refused("[[suppression]]\nrule = \"R\"\njustification = \"j\"\nexpires = 2027-02-30\n"),
            ["not TOML: invalid date, expected day between 01 and 28 (line 4)"]
        );
    }

    #[test]
    fn a_star_matches_any_run_of_characters() {
        for (pattern, text, matched) in [
            ("catalog/*", "catalog/pk=1", true),
            ("catalog/*", "catalog/", true),
            ("catalog/*", "catalogs/pk=1", false),
            ("*/pk=PUBLIC#*", "docs/pk=PUBLIC#7", true),
            ("*a*b", "xaybzb", true),
            ("*a*b", "xaybzbc", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("", "", true),
            ("*", "", true),
        ] {
            assert_eq!(glob(pattern, text), matched, "{pattern} vs {text}");
        }
    }
}
