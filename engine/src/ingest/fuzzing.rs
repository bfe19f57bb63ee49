//! Ingestion's private stages, reached directly by the fuzz targets of `fuzz/` (feature
//! `fuzzing`, re-exported by `crate::fuzzing`); not a stable API.

#![cfg(feature = "fuzzing")]

use serde_json::{Map, Value};

use super::InputFormat;
use super::detect::Layout;
use super::dynamodb::{KeySchemas, Request, decode};
use crate::event::DbOperation;

/// Decodes one DynamoDB request as every reader does (a wire-log body, a HAR body, CloudTrail's
/// `requestParameters`), with no key schema learnt before it: one operation per item.
pub fn decode_dynamodb(
    operation: &str,
    params: &Map<String, Value>,
    error_code: &str,
    error_message: &str,
    group_id: &str,
) -> Vec<DbOperation> {
    let request = Request {
        operation,
        params,
        error_code,
        error_message,
        group_id,
    };
    decode(&request, &mut KeySchemas::default())
}

/// Detects an input's format from its first bytes (`forced`: `--input-format`), and whether it
/// is read as one document (else as lines).
pub fn detect_format(
    prefix: &[u8],
    forced: Option<InputFormat>,
) -> Result<(InputFormat, bool), String> {
    super::detect::detect(prefix, forced, &[])
        .map(|(format, layout)| (format, layout == Layout::Document))
}
