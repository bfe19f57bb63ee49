//! Findings on the fixtures, finding by finding.
