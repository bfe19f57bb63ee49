//! The JSON report: one pretty-printed document, stable field order, deterministic.

use super::Report;

/// Renders `report` as JSON with a trailing newline.
pub(super) fn render(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the report: {e}\"}}"));
    out.push('\n');
    out
}
