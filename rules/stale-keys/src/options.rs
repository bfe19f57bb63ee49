//! The pack's options (`pack.toml` `[config]`, overridable with `--rule-config`). The defaults
//! here are the ones `pack.toml` declares, so the component behaves the same loaded alone.

use tracewarden_sdk::Config;

/// A day in nanoseconds.
pub(crate) const DAY_NS: i64 = 86_400_000_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// 003: the age past which a key is overdue for rotation.
    pub max_age_ns: i64,
    /// 004: the gap without use after which a use is a reactivation.
    pub dormant_ns: i64,
    /// Most evidence events listed in one finding.
    pub max_evidence: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_age_ns: 90 * DAY_NS,
            dormant_ns: 45 * DAY_NS,
            max_evidence: 20,
        }
    }
}

impl Options {
    pub(crate) fn from_config(config: &Config) -> Result<Options, String> {
        let days = config.count("rotation_max_age_days", 90)?;
        if days == 0 {
            return Err("option `rotation_max_age_days` is 0: expected at least 1".to_owned());
        }
        let dormant = config.count("dormant_days", 45)?;
        if dormant == 0 {
            return Err("option `dormant_days` is 0: expected at least 1".to_owned());
        }
        for rule in config.texts("scope_rules", &[])? {
            let well_formed = rule.split_once(" = ").is_some_and(|(lhs, scope)| {
                lhs.split_whitespace().count() == 2 && !scope.trim().is_empty()
            });
            if !well_formed {
                return Err(format!(
                    "option `scope_rules` entry `{rule}`: expected \"<method or operation> <path \
                     prefix or table> = <scope>\", e.g. \"PUT /orders = orders:write\""
                ));
            }
        }
        let max_evidence = config.count("max_evidence", 20)? as usize;
        if max_evidence == 0 {
            return Err("option `max_evidence` is 0: expected at least 1".to_owned());
        }
        let in_ns = |name: &str, days: u64| {
            i64::try_from(days)
                .ok()
                .and_then(|d| d.checked_mul(DAY_NS))
                .ok_or_else(|| format!("option `{name}` is {days}: too long"))
        };
        Ok(Options {
            max_age_ns: in_ns("rotation_max_age_days", days)?,
            dormant_ns: in_ns("dormant_days", dormant)?,
            max_evidence,
        })
    }
}
