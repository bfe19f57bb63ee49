//! Opening inputs: files or standard input, gzip detected by its magic bytes, a peek at the start
//! for format detection, then either a bounded whole-document read or a stream of bounded lines.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::Error;

/// Most bytes read from one whole-document input (a HAR, a CloudTrail `Records` file, a pretty
/// OTLP document) after decompression: larger documents, and gzip bombs, are refused with an
/// error rather than exhausting memory. JSON-lines inputs are streamed and have no total limit.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// How many bytes of an input are looked at to detect its format.
pub(super) const PEEK_BYTES: usize = 1 << 20;

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Origin {
    File(PathBuf),
    Stdin,
    /// A directory entry that is not read (unreadable, a symlink loop, a FIFO, a socket, a
    /// device), and why: reported, never opened, so a scan neither hangs nor aborts on it.
    Unread(PathBuf, String),
}

impl Origin {
    /// The name used in reports and source references: the path as given, or `-`.
    pub(super) fn name(&self) -> String {
        match self {
            Origin::File(p) | Origin::Unread(p, _) => p.display().to_string(),
            Origin::Stdin => "-".to_owned(),
        }
    }

    /// The name positional event ids give the input (`har:<name>#<n>`): see [`InputNames`].
    pub(super) fn id_name(&self, names: &mut InputNames) -> String {
        match self {
            Origin::File(p) | Origin::Unread(p, _) => names.name(p).display().to_string(),
            Origin::Stdin => "-".to_owned(),
        }
    }
}

/// How positional event ids name inputs. Such an id embeds its input (`har:<file>#<n>`) and an
/// incident's fingerprint hashes its evidence's ids, so a name that depended on how the path was
/// spelled (`./logs/a.har`, `logs//a.har`, `$PWD/logs/a.har`) or on where a checkout lives would
/// make a baseline miss findings it holds. Reports and source references keep the path as given.
pub(super) struct InputNames {
    /// The working directory, resolved; none when it is unknown or the filesystem root (a path
    /// relative to `/` says less than the absolute one).
    cwd: Option<PathBuf>,
    /// Directories resolved so far: a directory's files share one lookup.
    dirs: HashMap<PathBuf, Option<PathBuf>>,
}

impl InputNames {
    /// Names relative to the process's working directory, read once, here.
    pub(super) fn new() -> Self {
        InputNames::relative_to(std::env::current_dir().ok())
    }

    /// Names relative to `cwd`.
    fn relative_to(cwd: Option<PathBuf>) -> Self {
        InputNames {
            cwd: cwd
                .and_then(|c| std::fs::canonicalize(c).ok())
                .filter(|c| c.parent().is_some()),
            dirs: HashMap::new(),
        }
    }

    /// `path` relative to the working directory when its directory, resolved (symlinks and
    /// `..`), lies under it; otherwise `path` without `.` components and repeated separators.
    /// The file's own name is not resolved: a symlinked file keeps the name it was given.
    pub(super) fn name(&mut self, path: &Path) -> PathBuf {
        let cleaned: PathBuf = path
            .components()
            .filter(|c| *c != Component::CurDir)
            .collect();
        let (dir, file) = match cleaned.file_name() {
            Some(file) => (cleaned.parent().unwrap_or(Path::new("")), Some(file)),
            None => (cleaned.as_path(), None),
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let resolved = match &self.cwd {
            Some(cwd) => self
                .dirs
                .entry(dir.to_owned())
                .or_insert_with(|| std::fs::canonicalize(dir).ok())
                .as_deref()
                .and_then(|real| real.strip_prefix(cwd).ok())
                .map(|rel| file.map_or_else(|| rel.to_owned(), |f| rel.join(f))),
            None => None,
        };
        let named = resolved.unwrap_or(cleaned);
        if named.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            named
        }
    }
}

/// An open input: its first bytes (for detection) and a reader that yields all of it, prefix
/// included, decompressed.
pub(super) struct Opened {
    pub prefix: Vec<u8>,
    pub reader: Box<dyn BufRead + Send>,
    pub gzip: bool,
    /// The file's size on disk, when it is a plain file: a document is read into a buffer of
    /// that size, without the transient copies of a growing one.
    pub size: Option<u64>,
    /// Bytes dropped from the start (a UTF-8 byte-order mark): where the reader's byte 0 is in
    /// the (decompressed) file.
    pub dropped: u64,
}

/// Opens an input, decompressing gzip, and peeks at its start.
pub(super) fn open(
    origin: &Origin,
    progress: Option<&std::sync::Arc<crate::progress::Progress>>,
) -> Result<Opened, Error> {
    let raw: Box<dyn Read + Send> = match origin {
        Origin::File(path) => {
            let file = std::fs::File::open(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            match progress {
                Some(p) => Box::new(crate::progress::Counted {
                    inner: file,
                    progress: p.clone(),
                }),
                None => Box::new(file),
            }
        }
        Origin::Stdin => Box::new(std::io::stdin()),
        Origin::Unread(_, reason) => return Err(unreadable(origin, reason.clone())),
    };
    let size = match origin {
        Origin::File(path) => std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
        _ => None,
    };
    let mut raw = BufReader::new(raw);
    let gzip = raw
        .fill_buf()
        .map_err(|e| unreadable(origin, format!("read failed: {e}")))?
        .starts_with(&[0x1f, 0x8b]);
    let mut inner: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let mut prefix = Vec::with_capacity(64 * 1024);
    // A read error inside the peek (a gzip stream cut short) is not the input's end: what was
    // read before it is kept, and the error is met again, in order, by whoever reads past it.
    let peek_error = (&mut inner)
        .take(PEEK_BYTES as u64)
        .read_to_end(&mut prefix)
        .err();
    let rest: Box<dyn Read + Send> = match peek_error {
        Some(e) => Box::new(FailingRead(Some(e))),
        None => inner,
    };
    // A UTF-8 byte-order mark (browsers' HAR exports, Windows tools) is not part of the JSON.
    let dropped = if prefix.starts_with(b"\xEF\xBB\xBF") {
        prefix.drain(..3);
        3
    } else {
        0
    };
    let reader = BufReader::with_capacity(256 * 1024, Cursor::new(prefix.clone()).chain(rest));
    let reader: Box<dyn BufRead + Send> = Box::new(reader);
    Ok(Opened {
        prefix,
        reader,
        gzip,
        size: size.filter(|_| !gzip),
        dropped,
    })
}

/// A reader that fails once with a stored error, then reports the end.
struct FailingRead(Option<std::io::Error>);

impl Read for FailingRead {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

fn unreadable(origin: &Origin, message: String) -> Error {
    Error::UnreadableInput {
        path: origin.name(),
        message,
    }
}

/// The message for a read error, naming gzip damage as such.
pub(super) fn read_error(gzip: bool, e: &std::io::Error, after_line: Option<u64>) -> String {
    let place = after_line.map_or(String::new(), |l| format!(" after line {l}"));
    if gzip {
        format!("corrupt or truncated gzip{place}: {e}")
    } else {
        format!("read failed{place}: {e}")
    }
}

/// Reads a whole document, up to [`MAX_INPUT_BYTES`], as UTF-8 text. A read error (a gzip
/// stream cut short) keeps what was read before it: the text comes back with the error, so
/// that the records before the damage are still read.
pub(super) fn read_document(
    origin: &Origin,
    opened: Opened,
) -> Result<(String, Option<String>), Error> {
    let mut data = Vec::new();
    if let Some(size) = opened.size.filter(|&s| s <= MAX_INPUT_BYTES) {
        data.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_add(1));
    }
    let stopped = opened
        .reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut data)
        .err()
        .map(|e| read_error(opened.gzip, &e, None));
    if data.len() as u64 > MAX_INPUT_BYTES {
        return Err(unreadable(
            origin,
            format!(
                "larger than {} MiB once decompressed: a single JSON document this large is not read \
                 (JSON-lines inputs have no such limit)",
                MAX_INPUT_BYTES >> 20
            ),
        ));
    }
    match String::from_utf8(data) {
        Ok(text) => Ok((text, stopped)),
        // A stream cut short may end inside a character: keep the text before it.
        Err(e) if stopped.is_some() && e.as_bytes().len() - e.utf8_error().valid_up_to() < 4 => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            Ok((String::from_utf8(bytes).unwrap_or_default(), stopped))
        }
        Err(e) => Err(unreadable(
            origin,
            format!(
                "invalid UTF-8 at byte {}: expected JSON text",
                e.utf8_error().valid_up_to()
            ),
        )),
    }
}

/// One line read by [`LineReader`].
pub(super) enum Line<'a> {
    /// A line (without its newline), as text.
    Text(&'a str),
    /// A line that is not UTF-8: where the first bad byte is.
    NotUtf8 { valid_up_to: usize },
    /// A line longer than the limit: its length (it was skipped, not stored).
    TooLong { bytes: u64 },
}

/// Reads lines of at most `max_bytes`, reusing one buffer; longer lines are skipped to their end
/// without being stored.
pub(super) struct LineReader {
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    max_bytes: usize,
    line: u64,
    /// Bytes read before the next line.
    offset: u64,
}

impl LineReader {
    pub(super) fn new(reader: Box<dyn BufRead + Send>, max_bytes: usize) -> Self {
        LineReader {
            reader,
            buf: Vec::new(),
            max_bytes,
            line: 0,
            offset: 0,
        }
    }

    /// The byte offset (in the decompressed input) where the next line starts.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of the last line read (1-based).
    pub(super) fn line_no(&self) -> u64 {
        self.line
    }

    /// The next line and its number, `None` at the end.
    pub(super) fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                break;
            }
            // `memchr`: the reader of an input cuts all its lines on one thread, before they are
            // parsed on every thread; a byte-by-byte search was 4–5% of its samples.
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i + 1)),
                None => (chunk, None),
            };
            total += part.len() as u64;
            if !too_long {
                if self.buf.len() + part.len() > self.max_bytes {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = done.unwrap_or(chunk.len());
            self.reader.consume(used);
            if done.is_some() {
                total += 1;
                break;
            }
        }
        self.line += 1;
        self.offset += total;
        if too_long {
            return Ok(Some((self.line, Line::TooLong { bytes: total })));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let line = match std::str::from_utf8(&self.buf) {
            Ok(s) => Line::Text(s),
            Err(e) => Line::NotUtf8 {
                valid_up_to: e.valid_up_to(),
            },
        };
        Ok(Some((self.line, line)))
    }
}

/// Whether `path` names standard input.
pub(super) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_under_the_working_directory_is_named_relative_to_it_however_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("logs/day1")).unwrap();
        std::fs::write(root.join("logs/a.har"), "{}").unwrap();
        std::os::unix::fs::symlink(root.join("logs"), root.join("link")).unwrap();
        let mut names = InputNames::relative_to(Some(root.join("logs/..")));
        let real = std::fs::canonicalize(root).unwrap();
        let named = |names: &mut InputNames, p: PathBuf| names.name(&p).display().to_string();
        for spelled in [
            root.join("logs/a.har"),
            real.join("logs/./a.har"),
            real.join("logs/day1/../a.har"),
            real.join("link/a.har"),
        ] {
            assert_eq!(named(&mut names, spelled), "logs/a.har");
        }
        // Outside it: as given, cleaned; a directory that does not exist is not resolved.
        assert_eq!(
            named(&mut names, "/elsewhere/./x//y.har".into()),
            "/elsewhere/x/y.har"
        );
        let mut at_root = InputNames::relative_to(Some("/".into()));
        assert_eq!(
            named(&mut at_root, real.join("logs/a.har")),
            real.join("logs/a.har").display().to_string()
        );
        let mut unknown = InputNames::relative_to(None);
        assert_eq!(named(&mut unknown, "./logs//a.har".into()), "logs/a.har");
    }

    fn lines(text: &[u8], max: usize) -> Vec<String> {
        let mut r = LineReader::new(Box::new(Cursor::new(text.to_vec())), max);
        let mut out = Vec::new();
        while let Some((_, l)) = r.next_line().unwrap() {
            out.push(match l {
                Line::Text(t) => t.to_owned(),
                Line::NotUtf8 { valid_up_to } => format!("<bad utf8 at {valid_up_to}>"),
                Line::TooLong { bytes } => format!("<too long: {bytes}>"),
            });
        }
        out
    }

    #[test]
    fn long_lines_are_skipped_and_bad_utf8_is_named() {
        assert_eq!(
            lines(b"ab\r\n0123456789\nx\xffy\n\nlast", 5),
            ["ab", "<too long: 11>", "<bad utf8 at 1>", "", "last"]
        );
    }
}
