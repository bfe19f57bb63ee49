//! Format detection, alone and through a scan's read: a forced format is always taken, what a
//! read reports as the input's format is what detection said (or its refusal, naming the file),
//! every reader invariant holds for whatever format is detected, and neither gzip nor a UTF-8
//! byte-order mark changes what is read.

#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use tracewarden::InputFormat;
use tracewarden::fuzzing::detect_format;

const BOM: &[u8] = b"\xEF\xBB\xBF";
const GZIP: &[u8] = &[0x1f, 0x8b];

fuzz_target!(|data: &[u8]| {
    let detected = detect_format(data, None);
    for format in InputFormat::ALL {
        assert_eq!(
            detect_format(data, Some(format)).map(|(f, _)| f),
            Ok(format),
            "--input-format {} is taken as given",
            format.as_str()
        );
    }
    let plain = tracewarden_fuzz::check_reader(data, None);
    if data.starts_with(GZIP) || data.starts_with(BOM) {
        return;
    }
    // The read peeks at the whole of a fuzz input: it detects what detection alone does.
    match detected {
        Ok((format, _)) => assert_eq!(plain.report.format, Some(format)),
        Err(message) => {
            assert_eq!(plain.report.format, None);
            assert_eq!(plain.report.error, Some(message), "the refusal is reported");
        }
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(data).expect("gzip in memory");
    let gzip = gzip.finish().expect("gzip in memory");
    for (what, variant, shift) in [
        ("gzip", gzip, 0),
        ("a byte-order mark", [BOM, data].concat(), BOM.len() as u64),
    ] {
        let mut read = tracewarden_fuzz::read_bytes(&variant, None);
        // Record places count the file's bytes: a byte-order mark moves each record by its
        // length; gzip moves nothing (places are in the decompressed bytes).
        let path = read.report.path.clone();
        for record in 1..=read.report.spans.len() as u64 {
            let (moved, kept) = (
                read.report.spans.location(&path, record),
                plain.report.spans.location(&path, record),
            );
            assert_eq!(
                moved.map(|l| (l.offset - shift, l.length, l.line, l.column)),
                kept.map(|l| (l.offset, l.length, l.line, l.column)),
                "{what} moves record {record} by other than {shift} bytes"
            );
        }
        read.report.spans = plain.report.spans.clone();
        assert_eq!(read.report, plain.report, "{what} changes the accounting");
        assert_eq!(read.events, plain.events, "{what} changes the events");
    }
});
