//! The JSON reports: one pretty-printed document, or one finding per line (JSON Lines); stable
//! field order, deterministic.

use super::Report;

/// Renders `report` as JSON with a trailing newline.
pub(super) fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the report: {e}\"}}"));
    out.push('\n');
    out
}

/// Renders `report`'s findings as JSON Lines: one compact finding object per line, in report
/// order (the document's `findings` array, item by item).
pub(super) fn render_lines(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        match serde_json::to_string(finding) {
            Ok(line) => out.push_str(&line),
            Err(e) => out.push_str(&format!(
                "{{\"error\": \"cannot serialize finding {}: {e}\"}}",
                finding.fingerprint
            )),
        }
        out.push('\n');
    }
    out
}
