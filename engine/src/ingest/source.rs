//! Opening inputs: whole-file reads with a size cap, gzip detected by its magic bytes, and format
//! detection by content.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::InputFormat;
use crate::error::Error;

/// Most bytes read from one input (after decompression): larger inputs, and gzip bombs, are
/// refused with an error rather than exhausting memory.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads a file, decompressing gzip, up to [`MAX_INPUT_BYTES`].
pub(super) fn read_all(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = read_prefix(&mut file, &mut magic).map_err(io)?;
    let prefix = magic.get(..n).unwrap_or(&[]);
    let reader: Box<dyn Read> = if prefix == [0x1f, 0x8b] {
        Box::new(MultiGzDecoder::new(std::io::Cursor::new(magic).chain(file)))
    } else {
        Box::new(std::io::Cursor::new(prefix.to_vec()).chain(file))
    };
    let mut data = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::UnreadableInput {
            path: path.display().to_string(),
            message: if prefix == [0x1f, 0x8b] {
                format!("corrupt or truncated gzip: {e}")
            } else {
                format!("read failed: {e}")
            },
        })?;
    if data.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::UnreadableInput {
            path: path.display().to_string(),
            message: format!(
                "larger than {} MiB once decompressed",
                MAX_INPUT_BYTES >> 20
            ),
        });
    }
    Ok(data)
}

fn read_prefix(file: &mut std::fs::File, buf: &mut [u8; 2]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(buf.get_mut(n..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Detects the format from the text: a `Records` document or CloudTrail lines (records have
/// `eventVersion` and `eventSource`; EventBridge envelopes have `detail-type` and `detail`), or
/// tracewarden events (`time_ns` and `source`).
pub(super) fn detect(text: &str) -> Option<InputFormat> {
    if super::cloudtrail::is_records_document(text) {
        return Some(InputFormat::CloudTrail);
    }
    let first = text.trim_start().lines().next()?;
    let value: serde_json::Value = serde_json::from_str(first).ok()?;
    let obj = value.as_object()?;
    let cloudtrail = obj.contains_key("Records")
        || (obj.contains_key("eventVersion") && obj.contains_key("eventSource"))
        || (obj.contains_key("detail-type") && obj.contains_key("detail"));
    if cloudtrail {
        Some(InputFormat::CloudTrail)
    } else if obj.contains_key("time_ns") && obj.contains_key("source") {
        Some(InputFormat::Events)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(
            detect("  {\n \"Records\": []}"),
            Some(InputFormat::CloudTrail)
        );
        assert_eq!(
            detect("{\"eventVersion\":\"1.08\",\"eventSource\":\"dynamodb.amazonaws.com\"}\n"),
            Some(InputFormat::CloudTrail)
        );
        assert_eq!(
            detect("{\"id\":\"x\",\"time_ns\":1,\"source\":{}}"),
            Some(InputFormat::Events)
        );
        assert_eq!(
            detect("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{}}"),
            Some(InputFormat::CloudTrail)
        );
        assert_eq!(detect("hello"), None);
        assert_eq!(detect(""), None);
    }
}
