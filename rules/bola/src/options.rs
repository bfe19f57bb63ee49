//! The pack's options (`pack.toml` `[config]`, overridable with `--rule-config`). The defaults
//! here are the ones `pack.toml` declares, so the component behaves the same loaded alone.

use tracewarden_sdk::Config;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// 002: the longest pause within one walk.
    pub window_ns: i64,
    /// 002: distinct foreign ids that make a sequential or mostly refused walk an enumeration.
    pub min_ids: usize,
    /// 002: consecutive numbers that make a walk sequential.
    pub sequential_min: usize,
    /// 002: the share of refused accesses (percent) that makes a walk mostly refused.
    pub refused_percent: u64,
    /// 002: distinct foreign ids that make any walk an enumeration.
    pub max_ids: usize,
    /// Most evidence events listed in one finding.
    pub max_evidence: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            window_ns: 600_000_000_000,
            min_ids: 5,
            sequential_min: 5,
            refused_percent: 50,
            max_ids: 50,
            max_evidence: 20,
        }
    }
}

impl Options {
    pub(crate) fn from_config(config: &Config) -> Result<Options, String> {
        let d = Options::default();
        let options = Options {
            window_ns: config
                .duration_ms("enumeration_window_ms", (d.window_ns / 1_000_000) as u64)?,
            min_ids: config.count("enumeration_min_ids", d.min_ids as u64)? as usize,
            sequential_min: config.count("sequential_min_ids", d.sequential_min as u64)? as usize,
            refused_percent: config.count("refused_percent", d.refused_percent)?,
            max_ids: config.count("enumeration_max_ids", d.max_ids as u64)? as usize,
            max_evidence: config.count("max_evidence", d.max_evidence as u64)? as usize,
        };
        if options.min_ids < 2 {
            return Err(format!(
                "option `enumeration_min_ids` is {}: expected at least 2 (one id is not a walk)",
                options.min_ids
            ));
        }
        if options.sequential_min < 2 {
            return Err(format!(
                "option `sequential_min_ids` is {}: expected at least 2",
                options.sequential_min
            ));
        }
        if options.refused_percent > 100 {
            return Err(format!(
                "option `refused_percent` is {}: expected a percentage, 0 to 100",
                options.refused_percent
            ));
        }
        if options.max_ids < options.min_ids {
            return Err(format!(
                "option `enumeration_max_ids` is {}: expected at least `enumeration_min_ids` ({})",
                options.max_ids, options.min_ids
            ));
        }
        if options.max_evidence == 0 {
            return Err("option `max_evidence` is 0: expected at least 1".to_owned());
        }
        Ok(options)
    }
}
