//! The pack's options (`pack.toml` `[config]`, overridable with `--rule-config`). The defaults
//! here are the ones `pack.toml` declares, so the component behaves the same loaded alone.

use tracewarden_sdk::Config;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// 001/002: how long after a read a write by the same identity, without a shared request,
    /// still counts as acting on it.
    pub check_window_ns: i64,
    /// 003: the span within which concurrent requests count as one burst.
    pub concurrent_window_ns: i64,
    /// 003: successful requests in a burst that make a finding.
    pub concurrent_min: usize,
    /// 004: the span within which failed conditional writes count as one burst.
    pub conflict_window_ns: i64,
    /// 004: failing requests in a burst that make a finding.
    pub conflict_min: usize,
    /// 005: tables whose reads are authorization checks for writes to any table.
    pub auth_tables: Vec<String>,
    /// Most evidence events listed in one finding (the message gives the full count).
    pub max_evidence: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            check_window_ns: 10_000_000_000,
            concurrent_window_ns: 100_000_000,
            concurrent_min: 2,
            conflict_window_ns: 2_000_000_000,
            conflict_min: 3,
            auth_tables: Vec::new(),
            max_evidence: 20,
        }
    }
}

impl Options {
    pub(crate) fn from_config(config: &Config) -> Result<Options, String> {
        let d = Options::default();
        let ms = |ns: i64| (ns / 1_000_000) as u64;
        let options = Options {
            check_window_ns: config.duration_ms("check_window_ms", ms(d.check_window_ns))?,
            concurrent_window_ns: config
                .duration_ms("concurrent_window_ms", ms(d.concurrent_window_ns))?,
            concurrent_min: config.count("concurrent_min_requests", d.concurrent_min as u64)?
                as usize,
            conflict_window_ns: config
                .duration_ms("conflict_window_ms", ms(d.conflict_window_ns))?,
            conflict_min: config.count("conflict_min_requests", d.conflict_min as u64)? as usize,
            auth_tables: config.texts("auth_tables", &[])?,
            max_evidence: config.count("max_evidence", d.max_evidence as u64)? as usize,
        };
        for (name, n) in [
            ("concurrent_min_requests", options.concurrent_min),
            ("conflict_min_requests", options.conflict_min),
        ] {
            if n < 2 {
                return Err(format!(
                    "option `{name}` is {n}: expected 2 or more (one request is no race)"
                ));
            }
        }
        if options.max_evidence < 2 {
            return Err(format!(
                "option `max_evidence` is {}: expected 2 or more",
                options.max_evidence
            ));
        }
        Ok(options)
    }
}
