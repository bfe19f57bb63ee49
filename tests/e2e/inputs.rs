//! Input accounting and malformed records.
