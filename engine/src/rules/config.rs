//! Rule options. A pack declares every option it reads, with its default, in the `[config]` table
//! of `pack.toml`; a user overrides them per pack in a rule-config file (`--rule-config`):
//!
//! ```toml
//! [toctou]
//! check_window_ms = 5000
//! ```
//!
//! An override must name a declared option and keep its type, so a typo is an error rather than a
//! silently ignored setting. WASM rules receive the merged options through `configure`; Rego rules
//! read them as `data.config`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One option's value. Integers are accepted where a float is declared.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// `true` / `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string.
    Text(String),
    /// A list of strings.
    Texts(Vec<String>),
}

impl OptionValue {
    fn type_name(&self) -> &'static str {
        match self {
            OptionValue::Boolean(_) => "a boolean",
            OptionValue::Integer(_) => "an integer",
            OptionValue::Float(_) => "a number",
            OptionValue::Text(_) => "a string",
            OptionValue::Texts(_) => "a list of strings",
        }
    }

    /// A TOML value as an option value; `None` for tables, dates and mixed lists.
    fn from_toml(value: &toml::Value) -> Option<OptionValue> {
        Some(match value {
            toml::Value::Boolean(b) => OptionValue::Boolean(*b),
            toml::Value::Integer(i) => OptionValue::Integer(*i),
            toml::Value::Float(f) => OptionValue::Float(*f),
            toml::Value::String(s) => OptionValue::Text(s.clone()),
            toml::Value::Array(items) => OptionValue::Texts(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?,
            ),
            _ => return None,
        })
    }

    /// `self` as an override of `default`: the same type, or an integer for a number.
    fn conform(self, default: &OptionValue) -> Option<OptionValue> {
        match (self, default) {
            (OptionValue::Integer(i), OptionValue::Float(_)) => Some(OptionValue::Float(i as f64)),
            (v, d) if std::mem::discriminant(&v) == std::mem::discriminant(d) => Some(v),
            _ => None,
        }
    }
}

impl std::fmt::Display for OptionValue {
    /// As TOML writes it: `true`, `5`, `0.5`, `"text"`, `["a", "b"]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionValue::Boolean(b) => write!(f, "{b}"),
            OptionValue::Integer(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x:?}"),
            OptionValue::Text(t) => write!(f, "{t:?}"),
            OptionValue::Texts(t) => write!(f, "{t:?}"),
        }
    }
}

/// A pack's options, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PackConfig(BTreeMap<String, OptionValue>);

impl PackConfig {
    /// The pack's declared options (its `[config]` table); every problem is listed.
    pub(crate) fn declared(table: &toml::Table) -> Result<PackConfig, Vec<String>> {
        let mut options = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, value) in table {
            match OptionValue::from_toml(value) {
                Some(v) => {
                    options.insert(name.clone(), v);
                }
                None => problems.push(format!(
                    "`[config]` option `{name}`: expected a boolean, a number, a string or a list of strings"
                )),
            }
        }
        if problems.is_empty() {
            Ok(PackConfig(options))
        } else {
            Err(problems)
        }
    }

    /// These options with `overrides` applied; an unknown option or a change of type is a problem.
    pub(crate) fn with_overrides(
        &self,
        overrides: &toml::Table,
    ) -> Result<PackConfig, Vec<String>> {
        let mut merged = self.0.clone();
        let mut problems = Vec::new();
        for (name, value) in overrides {
            let Some(default) = self.0.get(name) else {
                let known: Vec<&str> = self.0.keys().map(String::as_str).collect();
                problems.push(if known.is_empty() {
                    format!("rule config sets `{name}`, but the pack has no options")
                } else {
                    format!(
                        "rule config sets `{name}`, which is not an option of the pack (options: {})",
                        known.join(", ")
                    )
                });
                continue;
            };
            match OptionValue::from_toml(value).and_then(|v| v.conform(default)) {
                Some(v) => {
                    merged.insert(name.clone(), v);
                }
                None => problems.push(format!(
                    "rule config sets `{name}` to `{value}`: expected {}",
                    default.type_name()
                )),
            }
        }
        if problems.is_empty() {
            Ok(PackConfig(merged))
        } else {
            Err(problems)
        }
    }

    /// Whether the pack has no options.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The options, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OptionValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The options as a JSON object (what Rego rules see as `data.config`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A parsed rule-config file: a table per pack name (and `[ownership]`, the enrichment stage's).
pub type RuleConfig = BTreeMap<String, toml::Table>;

/// Parses a rule-config file: one table per pack name, each setting that pack's options. The
/// `[inputs]` table holds input mappings ([`crate::ingest::parse_mappings`] reads it) and is left
/// out here.
pub fn parse_rule_config(text: &str) -> Result<RuleConfig, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut packs = BTreeMap::new();
    for (pack, options) in table {
        if pack == crate::ingest::INPUTS_TABLE {
            continue;
        }
        match options {
            toml::Value::Table(options) => {
                packs.insert(pack, options);
            }
            other => {
                return Err(format!(
                    "`{pack} = {other}`: expected a table of options per pack, like `[{pack}]`"
                ));
            }
        }
    }
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn overrides_keep_the_declared_type() {
        let declared = PackConfig::declared(&table(
            "window_ms = 100\nratio = 0.5\ntables = []\nstrict = false",
        ))
        .unwrap();
        let merged = declared
            .with_overrides(&table("window_ms = 5\nratio = 1\ntables = [\"a\"]"))
            .unwrap();
        assert_eq!(
            merged.to_json(),
            serde_json::json!({"window_ms": 5, "ratio": 1.0, "tables": ["a"], "strict": false})
        );
        assert_eq!(
            declared
                .with_overrides(&table("window_ms = \"5\"\nwindow = 3"))
                .unwrap_err(),
            [
                "rule config sets `window`, which is not an option of the pack (options: ratio, strict, tables, window_ms)",
                "rule config sets `window_ms` to `\"5\"`: expected an integer",
            ]
        );
    }

    #[test]
    fn declared_options_are_plain_values() {
        assert_eq!(
            PackConfig::declared(&table("a = { b = 1 }\nc = [1, 2]")).unwrap_err(),
            [
                "`[config]` option `a`: expected a boolean, a number, a string or a list of strings",
                "`[config]` option `c`: expected a boolean, a number, a string or a list of strings",
            ]
        );
    }

    #[test]
    fn a_rule_config_file_has_a_table_per_pack() {
        let packs = parse_rule_config("[toctou]\ncheck_window_ms = 1").unwrap();
        assert_eq!(packs["toctou"]["check_window_ms"].as_integer(), Some(1));
        assert_eq!(
            parse_rule_config("check_window_ms = 1").unwrap_err(),
            "`check_window_ms = 1`: expected a table of options per pack, like `[check_window_ms]`"
        );
    }
}
