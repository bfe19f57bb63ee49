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

/// A Rust type an option's value converts to, for [`Config::value`] and [`Config::at_least`].
pub trait OptionType: Sized {
    /// What the option must be, for the error message (`a whole number`).
    const EXPECTED: &'static str;
    /// The value as this type; `None` when it is of another type or out of its range.
    fn from_option(value: &OptionValue) -> Option<Self>;
}

impl OptionType for bool {
    const EXPECTED: &'static str = "true or false";
    fn from_option(value: &OptionValue) -> Option<Self> {
        match value {
            OptionValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

impl OptionType for i64 {
    const EXPECTED: &'static str = "a whole number";
    fn from_option(value: &OptionValue) -> Option<Self> {
        match value {
            OptionValue::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

macro_rules! unsigned_option {
    ($($t:ty),*) => {$(
        impl OptionType for $t {
            const EXPECTED: &'static str = "a whole number, 0 or more";
            fn from_option(value: &OptionValue) -> Option<Self> {
                match value {
                    OptionValue::Integer(i) => <$t>::try_from(*i).ok(),
                    _ => None,
                }
            }
        }
    )*};
}

unsigned_option!(u32, u64, usize);

impl OptionType for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_option(value: &OptionValue) -> Option<Self> {
        match value {
            OptionValue::Float(f) => Some(*f),
            OptionValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl OptionType for String {
    const EXPECTED: &'static str = "a string";
    fn from_option(value: &OptionValue) -> Option<Self> {
        match value {
            OptionValue::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl OptionType for Vec<String> {
    const EXPECTED: &'static str = "a list of strings";
    fn from_option(value: &OptionValue) -> Option<Self> {
        match value {
            OptionValue::Texts(t) => Some(t.clone()),
            _ => None,
        }
    }
}

/// The options a rule receives in [`crate::Rule::configure`].
///
/// ```
/// use tracewarden_sdk::{Config, OptionValue};
/// let config = Config::from_pairs([
///     ("window_ms", OptionValue::Integer(250)),
///     ("min_requests", OptionValue::Integer(1)),
/// ]);
/// assert_eq!(config.duration_ms("window_ms", 1_000), Ok(250_000_000));
/// assert_eq!(config.duration_ms("other_ms", 1_000), Ok(1_000_000_000));
/// assert_eq!(config.value::<usize>("max_evidence", 20), Ok(20));
/// assert_eq!(
///     config.at_least::<usize>("min_requests", 3, 2),
///     Err("option `min_requests` is 1: expected 2 or more".to_owned())
/// );
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

    /// Option `name` as a `T`, or `default` when unset; an error names the option, its value and
    /// what was expected.
    pub fn value<T: OptionType>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => T::from_option(value)
                .ok_or_else(|| format!("option `{name}` is {value}: expected {}", T::EXPECTED)),
        }
    }

    /// Option `name` as a `T` of at least `min`, or `default` when unset.
    pub fn at_least<T: OptionType + PartialOrd + std::fmt::Display>(
        &self,
        name: &str,
        default: T,
        min: T,
    ) -> Result<T, String> {
        let value = self.value(name, default)?;
        if value < min {
            return Err(format!(
                "option `{name}` is {value}: expected {min} or more"
            ));
        }
        Ok(value)
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

impl std::fmt::Display for OptionValue {
    /// The value as `pack.toml` writes it: `true`, `3`, `0.5`, `"text"`, `["a", "b"]`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_pairs([
            ("flag", OptionValue::Boolean(true)),
            ("n", OptionValue::Integer(-3)),
            ("ratio", OptionValue::Float(0.5)),
            ("name", OptionValue::Text("orders".to_owned())),
            (
                "tables",
                OptionValue::Texts(vec!["a".to_owned(), "b".to_owned()]),
            ),
        ])
    }

    #[test]
    fn typed_values_come_with_defaults() {
        let c = config();
        assert_eq!(c.value("flag", false), Ok(true));
        assert_eq!(c.value("n", 0i64), Ok(-3));
        assert_eq!(c.value("ratio", 1.0), Ok(0.5));
        assert_eq!(c.value("name", String::new()), Ok("orders".to_owned()));
        assert_eq!(
            c.value("tables", Vec::new()),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(c.value("absent", 7u32), Ok(7));
        assert_eq!(c.value::<f64>("absent", 2.5), Ok(2.5));
    }

    #[test]
    fn a_wrong_type_or_range_names_the_option_its_value_and_what_was_expected() {
        let c = config();
        assert_eq!(
            c.value::<u64>("n", 1),
            Err("option `n` is -3: expected a whole number, 0 or more".to_owned())
        );
        assert_eq!(
            c.value::<bool>("name", false),
            Err("option `name` is \"orders\": expected true or false".to_owned())
        );
        assert_eq!(
            c.value::<String>("tables", String::new()),
            Err("option `tables` is [\"a\", \"b\"]: expected a string".to_owned())
        );
        assert_eq!(
            c.value::<Vec<String>>("ratio", Vec::new()),
            Err("option `ratio` is 0.5: expected a list of strings".to_owned())
        );
        assert_eq!(
            c.at_least::<i64>("n", 5, 0),
            Err("option `n` is -3: expected 0 or more".to_owned())
        );
        assert_eq!(c.at_least::<i64>("absent", 5, 2), Ok(5));
    }
}
