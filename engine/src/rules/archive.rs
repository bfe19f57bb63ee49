//! `.twpack` archives: one file holding a pack (manifest, rule files, lock and signature), a
//! gzip-compressed tar with deterministic bytes. `--rules X.twpack` loads one in memory with the
//! same checks as a directory; a hostile archive (paths leaving the pack, links, duplicate
//! entries, absurd sizes) is refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::pack::{MAX_PACK_FILE_BYTES, PackFiles};
use super::trust::{LOCK_FILE, MANIFEST_FILE, SIGNATURE_FILE, TrustError, TrustPolicy};

/// The file extension of a pack archive.
pub const ARCHIVE_EXTENSION: &str = "twpack";
/// Most bytes of an archive's files together, unpacked (and of the archive file itself).
pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
/// Most entries of an archive.
pub const MAX_ARCHIVE_ENTRIES: usize = 4096;

/// Whether `path` names a pack archive (by its `.twpack` extension).
pub fn is_archive(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == ARCHIVE_EXTENSION)
}

/// What `pack build` wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// The archive.
    pub path: PathBuf,
    /// The files it holds, sorted.
    pub files: Vec<String>,
    /// Whether `pack.sig` is among them.
    pub signed: bool,
}

/// The pack's name and version, from `pack.toml`.
#[derive(serde::Deserialize)]
struct NameVersion {
    name: String,
    version: String,
}

/// Builds the archive of the pack directory `dir`: `pack.toml`, the files it names, and
/// `pack.lock` and `pack.sig` when present, sorted, with zeroed times and owners, so the same
/// pack always gives the same bytes. The pack's lock, when it has one, must match its files.
/// Written to `out`, or to `NAME-VERSION.twpack` in the current directory.
pub fn build_archive(dir: &Path, out: Option<&Path>) -> Result<Built, TrustError> {
    let refuse = |problems| TrustError::Pack {
        pack: dir.display().to_string(),
        problems,
    };
    let files = PackFiles::Dir(dir);
    let checked = super::trust::check(&files, &TrustPolicy::default()).map_err(refuse)?;
    let manifest = files.read(MANIFEST_FILE).map_err(|e| refuse(vec![e]))?;
    let id: NameVersion = std::str::from_utf8(&manifest)
        .ok()
        .and_then(|t| toml::from_str(t).ok())
        .ok_or_else(|| {
            refuse(vec![format!(
                "`{MANIFEST_FILE}` is not a pack manifest: expected at least `name` and `version`"
            )])
        })?;
    let mut names = super::trust::manifest_files(&manifest);
    for extra in [LOCK_FILE, SIGNATURE_FILE] {
        if files.has(extra) {
            names.push(extra.to_owned());
        }
    }
    names.sort();
    names.dedup();
    let mut contents = Vec::new();
    let mut problems = Vec::new();
    for name in &names {
        // Locked files go in as they were checked.
        let locked = checked.locked.as_ref().and_then(|l| l.get(name)).cloned();
        match locked.map_or_else(|| files.read(name), Ok) {
            Ok(bytes) => contents.push((name.as_str(), bytes)),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(refuse(problems));
    }
    let bytes = archive_bytes(&contents).map_err(|e| refuse(vec![format!("cannot pack: {e}")]))?;
    let path = out.map_or_else(
        || PathBuf::from(format!("{}-{}.{ARCHIVE_EXTENSION}", id.name, id.version)),
        Path::to_owned,
    );
    std::fs::write(&path, bytes).map_err(|source| TrustError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Built {
        path,
        signed: names.iter().any(|n| n == SIGNATURE_FILE),
        files: names,
    })
}

/// The gzip-compressed tar of `files` (sorted by the caller), with deterministic headers.
fn archive_bytes(files: &[(&str, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, name, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()
}

/// Reads the archive at `path`: every entry a regular file at a relative path inside the pack,
/// each once, at most [`MAX_PACK_FILE_BYTES`] each and [`MAX_ARCHIVE_BYTES`] together.
pub(super) fn read_archive(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the archive: {e}"))?;
    let size = file
        .metadata()
        .map_err(|e| format!("cannot read the archive: {e}"))?
        .len();
    if size > MAX_ARCHIVE_BYTES {
        return Err(format!(
            "the archive is {size} bytes, over the {MAX_ARCHIVE_BYTES}-byte bound of a pack"
        ));
    }
    unpack(file)
}

/// A reader that fails once more than `left` bytes are read through it: bounds what a small
/// gzip stream can unpack to, whatever the tar reader reads (long names and extended headers
/// included, which it holds in memory).
struct Bounded<R> {
    inner: R,
    left: u64,
    /// The bound the error names.
    bound: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::other(format!(
                "it unpacks to more than the {}-byte bound of a pack",
                self.bound
            ))
        })?;
        Ok(n)
    }
}

fn unpack(compressed: impl Read) -> Result<BTreeMap<String, Vec<u8>>, String> {
    unpack_within(compressed, MAX_ARCHIVE_BYTES)
}

/// [`unpack`] with `max_total` bytes of files together.
fn unpack_within(
    compressed: impl Read,
    max_total: u64,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let bad =
        |e: std::io::Error| format!("the archive is not a readable `.{ARCHIVE_EXTENSION}`: {e}");
    // The tar stream holds the files plus a 512-byte header (and padding) per entry.
    let bound = max_total + 1024 * (MAX_ARCHIVE_ENTRIES as u64 + 2);
    let mut archive = tar::Archive::new(Bounded {
        inner: flate2::read::GzDecoder::new(compressed),
        left: bound,
        bound,
    });
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for (i, entry) in archive.entries().map_err(bad)?.enumerate() {
        if i >= MAX_ARCHIVE_ENTRIES {
            return Err(format!(
                "the archive has more than {MAX_ARCHIVE_ENTRIES} entries, the bound of a pack"
            ));
        }
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw)
            .map_err(|_| format!("archive entry {} has a name that is not UTF-8", i + 1))?;
        if !Path::new(&name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
            || name.is_empty()
        {
            return Err(format!(
                "archive entry `{name}` is not a relative path inside the pack: refused"
            ));
        }
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            return Err(format!(
                "archive entry `{name}` is {}: a pack archive holds regular files only",
                describe(kind)
            ));
        }
        let size = entry.size();
        if size > MAX_PACK_FILE_BYTES {
            return Err(format!(
                "archive entry `{name}` is {size} bytes, over the {MAX_PACK_FILE_BYTES}-byte \
                 bound of a pack file"
            ));
        }
        total += size;
        if total > max_total {
            return Err(format!(
                "the archive's files are over {max_total} bytes together, the bound of a pack"
            ));
        }
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(bad)?;
        if files.insert(name.clone(), bytes).is_some() {
            return Err(format!(
                "archive entry `{name}` appears twice: refused (which one would load?)"
            ));
        }
    }
    Ok(files)
}

fn describe(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Directory => "a directory",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a named pipe",
        _ => "not a regular file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(tar: Vec<u8>) -> Vec<u8> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    /// A tar with one entry whose header is written by hand, so that it can say anything.
    fn raw_entry(name: &[u8], kind: tar::EntryType, body: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_entry_type(kind);
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        if kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    #[test]
    fn the_same_files_give_the_same_bytes_and_read_back() {
        let files = vec![
            ("pack.toml", b"name = \"p\"".to_vec()),
            ("rules/r.rego", b"package r".to_vec()),
        ];
        let a = archive_bytes(&files).unwrap();
        assert_eq!(a, archive_bytes(&files).unwrap());
        let back = unpack(a.as_slice()).unwrap();
        assert_eq!(
            back.into_iter().collect::<Vec<_>>(),
            vec![
                ("pack.toml".to_owned(), b"name = \"p\"".to_vec()),
                ("rules/r.rego".to_owned(), b"package r".to_vec()),
            ]
        );
    }

    #[test]
    fn hostile_entries_are_refused() {
        let cases: [(&[u8], tar::EntryType, &str); 4] = [
            (
                b"../escape.rego",
                tar::EntryType::Regular,
                "archive entry `../escape.rego` is not a relative path inside the pack: refused",
            ),
            (
                b"/etc/cron.d/x",
                tar::EntryType::Regular,
                "archive entry `/etc/cron.d/x` is not a relative path inside the pack: refused",
            ),
            (
                b"r.rego",
                tar::EntryType::Symlink,
                "archive entry `r.rego` is a symbolic link: a pack archive holds regular files only",
            ),
            (
                b"r.rego",
                tar::EntryType::Link,
                "archive entry `r.rego` is a hard link: a pack archive holds regular files only",
            ),
        ];
        for (name, kind, expected) in cases {
            let archive = gz(raw_entry(name, kind, b""));
            assert_eq!(unpack(archive.as_slice()).unwrap_err(), expected);
        }
    }

    #[test]
    fn a_duplicate_entry_is_refused() {
        let mut tar = raw_entry(b"r.rego", tar::EntryType::Regular, b"a");
        tar.truncate(tar.len() - 1024);
        tar.extend(raw_entry(b"r.rego", tar::EntryType::Regular, b"b"));
        assert_eq!(
            unpack(gz(tar).as_slice()).unwrap_err(),
            "archive entry `r.rego` appears twice: refused (which one would load?)"
        );
    }

    #[test]
    fn an_entry_claiming_an_absurd_size_is_refused_before_it_is_read() {
        let mut header = tar::Header::new_gnu();
        header.set_path("big.wasm").unwrap();
        header.set_size(MAX_PACK_FILE_BYTES + 1);
        header.set_cksum();
        let archive = gz(header.as_bytes().to_vec());
        assert_eq!(
            unpack(archive.as_slice()).unwrap_err(),
            format!(
                "archive entry `big.wasm` is {} bytes, over the {MAX_PACK_FILE_BYTES}-byte \
                 bound of a pack file",
                MAX_PACK_FILE_BYTES + 1
            )
        );
    }

    #[test]
    fn more_entries_than_the_bound_are_refused() {
        let files: Vec<(String, Vec<u8>)> = (0..=MAX_ARCHIVE_ENTRIES)
            .map(|i| (format!("f{i}.rego"), Vec::new()))
            .collect();
        let refs: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let archive = archive_bytes(&refs).unwrap();
        assert_eq!(
            unpack(archive.as_slice()).unwrap_err(),
            format!("the archive has more than {MAX_ARCHIVE_ENTRIES} entries, the bound of a pack")
        );
        let fewer = archive_bytes(&refs[..MAX_ARCHIVE_ENTRIES]).unwrap();
        assert_eq!(unpack(fewer.as_slice()).unwrap().len(), MAX_ARCHIVE_ENTRIES);
    }

    #[test]
    fn files_over_the_total_bound_are_refused_before_they_are_read() {
        let files = vec![("a.rego", vec![0u8; 600]), ("b.rego", vec![0u8; 600])];
        let archive = archive_bytes(&files).unwrap();
        assert_eq!(
            unpack_within(archive.as_slice(), 1000).unwrap_err(),
            "the archive's files are over 1000 bytes together, the bound of a pack"
        );
        assert_eq!(unpack_within(archive.as_slice(), 1200).unwrap().len(), 2);
    }

    #[test]
    fn a_gzip_bomb_in_a_long_name_stops_at_the_bound() {
        // A GNU long-name entry, which the tar reader reads whole into memory, of 8 MiB of
        // zeros: a few kilobytes compressed.
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(8 << 20);
        header.set_cksum();
        let mut tar = header.as_bytes().to_vec();
        tar.resize(512 + (8 << 20) + 1024, 0);
        let archive = gz(tar);
        assert!(archive.len() < 64 << 10, "{}", archive.len());
        let bound = 1024 + 1024 * (MAX_ARCHIVE_ENTRIES as u64 + 2);
        assert_eq!(
            unpack_within(archive.as_slice(), 1024).unwrap_err(),
            format!(
                "the archive is not a readable `.twpack`: it unpacks to more than the \
                 {bound}-byte bound of a pack"
            )
        );
    }
}
