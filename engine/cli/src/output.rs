//! Writing a report, or `normalize`'s events, where `-o` says. What goes to a regular file (or a
//! new path) is written to a temporary file beside it and renamed over it once complete, so a
//! command that fails while writing (a full disk, findings on disk that cannot be read back)
//! leaves no truncated output that looks whole, and keeps an earlier file at that path as it
//! was. Anything else (`-o /dev/null`, a pipe, a terminal) is written in place: renaming over a
//! device would replace it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

/// Buffer of the writer a report is written through.
const BUFFER_BYTES: usize = 1 << 16;

/// Writes a report with `write` to `path`, or to standard output.
pub(crate) fn write_report(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let Some(p) = path else {
        return through(io::stdout().lock(), write)
            .map(drop)
            .context("cannot write to standard output");
    };
    let cannot = || format!("cannot write `{}`", p.display());
    let Some(temp) = replaceable(p).then(|| beside(p)).flatten() else {
        return File::create(p)
            .and_then(|file| through(file, write))
            .map(drop)
            .with_context(cannot);
    };
    // On an error the temporary file is removed, and what was at `p` stays.
    let temp = through(temp, write).with_context(cannot)?;
    temp.persist(p).map_err(|e| e.error).with_context(cannot)?;
    Ok(())
}

/// Runs `write` through a buffer into `inner`, flushes it and gives `inner` back.
fn through<W: Write>(
    inner: W,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<W> {
    let mut out = BufWriter::with_capacity(BUFFER_BYTES, inner);
    write(&mut out)?;
    out.into_inner().map_err(io::IntoInnerError::into_error)
}

/// Whether `p` is a regular file or nothing yet: what a rename may replace.
fn replaceable(p: &Path) -> bool {
    match std::fs::metadata(p) {
        Ok(m) => m.is_file(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// A new temporary file in `p`'s directory, created with the permissions a new report would get
/// (`0666` less the umask); `None` when the directory takes no new file, and the report is then
/// written in place.
fn beside(p: &Path) -> Option<tempfile::NamedTempFile> {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.", p.file_name()?.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_report_that_fails_midway_leaves_the_earlier_one_and_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        std::fs::write(&p, "earlier report\n").unwrap();
        let err = write_report(Some(&p), |out| {
            out.write_all(&[b'x'; 3 * BUFFER_BYTES])?;
            Err(io::Error::other("no space left on device"))
        })
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!("cannot write `{}`: no space left on device", p.display())
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "earlier report\n");
        assert_eq!(entries(dir.path()), ["report.json"]);
    }

    #[test]
    fn a_complete_report_replaces_the_file_with_a_new_reports_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        std::fs::write(&p, "earlier report, longer than the new one\n").unwrap();
        write_report(Some(&p), |out| out.write_all(b"{}\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{}\n");
        assert_eq!(entries(dir.path()), ["report.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let fresh = dir.path().join("fresh");
            File::create(&fresh).unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&p), mode(&fresh));
        }
    }

    #[test]
    fn a_device_is_written_in_place() {
        let null = Path::new("/dev/null");
        if !null.exists() {
            return;
        }
        assert!(!replaceable(null));
        write_report(Some(null), |out| out.write_all(b"{}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            assert!(
                std::fs::metadata(null)
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
        }
    }
}
