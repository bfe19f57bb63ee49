//! The library's error types. Input errors name the file, the record and what was expected.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Everything that stops a scan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A malformed input record, in strict mode (otherwise it is counted as skipped).
    #[error("{0}")]
    Input(InputError),
    /// An input whose format could not be recognized or read as a whole.
    #[error("`{path}`: {message}")]
    UnreadableInput {
        /// The input.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// One or more rule packs failed to load; every problem of every refused pack is listed.
    #[error("{}", render_refusals(.0))]
    PacksRefused(Vec<PackRefusal>),
    /// An invalid option.
    #[error("{0}")]
    Usage(String),
    /// Findings held in temporary files could not be written or read back.
    #[error("cannot hold the findings in temporary files: {0}")]
    Findings(#[source] std::io::Error),
}

/// A pack that failed to load, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRefusal {
    /// The pack's name or path.
    pub pack: String,
    /// Each problem, one line each.
    pub problems: Vec<String>,
}

fn render_refusals(refusals: &[PackRefusal]) -> String {
    let mut out = String::new();
    for (i, r) in refusals.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("rule pack `{}` refused:", r.pack));
        for p in &r.problems {
            out.push_str("\n  - ");
            out.push_str(p);
        }
    }
    out
}

/// A malformed input record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The input file.
    pub file: String,
    /// 1-based record index.
    pub record: u64,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: record {}", self.file, self.record)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        write!(f, ": {}", self.message)
    }
}
