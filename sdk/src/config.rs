//! A rule's options, as its pack declares them in `pack.toml` (`[config]`, with defaults) and a
//! user overrides them (`--rule-config`). The host checks names and types against the pack's
//! declaration; a rule checks ranges and says what it expects.

use crate::bindings::tracewarden::rule::config as wire;

/// One option's value.
#[derive(Debug, Clone, PartialEq)]
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

/// The options a rule receives in [`crate::Rule::configure`].
///
/// ```
/// use tracewarden_sdk::{Config, OptionValue};
/// let config = Config::from_pairs([("window_ms", OptionValue::Integer(250))]);
/// assert_eq!(config.duration_ms("window_ms", 1_000), Ok(250_000_000));
/// assert_eq!(config.duration_ms("other_ms", 1_000), Ok(1_000_000_000));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    options: Vec<(String, OptionValue)>,
}

impl Config {
    /// Options from name/value pairs (tests, native use).
    pub fn from_pairs<S: Into<String>>(pairs: impl IntoIterator<Item = (S, OptionValue)>) -> Self {
        Config {
            options: pairs.into_iter().map(|(n, v)| (n.into(), v)).collect(),
        }
    }

    pub(crate) fn from_wire(entries: Vec<wire::ConfigEntry>) -> Self {
        Config::from_pairs(entries.into_iter().map(|e| {
            let value = match e.value {
                wire::ConfigValue::Boolean(b) => OptionValue::Boolean(b),
                wire::ConfigValue::Integer(i) => OptionValue::Integer(i),
                wire::ConfigValue::Float(f) => OptionValue::Float(f),
                wire::ConfigValue::Text(t) => OptionValue::Text(t),
                wire::ConfigValue::Texts(t) => OptionValue::Texts(t),
            };
            (e.name, value)
        }))
    }

    /// The value of option `name`, if set.
    pub fn get(&self, name: &str) -> Option<&OptionValue> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// A non-negative integer option, or `default` when unset.
    pub fn count(&self, name: &str, default: u64) -> Result<u64, String> {
        match self.get(name) {
            None => Ok(default),
            Some(OptionValue::Integer(i)) => {
                u64::try_from(*i).map_err(|_| format!("option `{name}` is {i}: expected 0 or more"))
            }
            Some(other) => Err(format!(
                "option `{name}` is {other:?}: expected a whole number"
            )),
        }
    }

    /// A duration option in milliseconds (`default_ms` when unset), returned in nanoseconds.
    pub fn duration_ms(&self, name: &str, default_ms: u64) -> Result<i64, String> {
        let ms = self.count(name, default_ms)?;
        i64::try_from(ms)
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .ok_or_else(|| format!("option `{name}` is {ms} ms: too long"))
    }

    /// A boolean option, or `default` when unset.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(default),
            Some(OptionValue::Boolean(b)) => Ok(*b),
            Some(other) => Err(format!(
                "option `{name}` is {other:?}: expected true or false"
            )),
        }
    }

    /// A list-of-strings option, or `default` when unset.
    pub fn texts(&self, name: &str, default: &[&str]) -> Result<Vec<String>, String> {
        match self.get(name) {
            None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(OptionValue::Texts(t)) => Ok(t.clone()),
            Some(other) => Err(format!(
                "option `{name}` is {other:?}: expected a list of strings"
            )),
        }
    }
}
