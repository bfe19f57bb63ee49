//! Writing rule files' digests into a pack's `pack.toml`, keeping its comments and layout: what
//! `tracewarden rules new` and `rules build` do after they make a rule file.

use std::path::Path;

use super::pack::{self, digest};
use crate::error::{Error, PackRefusal};

/// Sets the `sha256` of each of `files` (names as `pack.toml` lists them) in `dir/pack.toml` to
/// the digest of the file as it is now, and returns the digests written.
pub fn write_digests(dir: &Path, files: &[String]) -> Result<Vec<(String, String)>, Error> {
    let refused = |problem: String| {
        Error::PacksRefused(vec![PackRefusal {
            pack: dir.display().to_string(),
            problems: vec![problem],
        }])
    };
    let manifest = pack::read_in_dir(dir, "pack.toml")
        .and_then(|b| String::from_utf8(b).map_err(|_| "`pack.toml` is not UTF-8 text".to_owned()))
        .map_err(refused)?;
    let mut digests = Vec::with_capacity(files.len());
    for file in files {
        let bytes = pack::read_in_dir(dir, file).map_err(refused)?;
        digests.push((file.clone(), digest(&bytes)));
    }
    let updated = with_digests(&manifest, &digests).map_err(refused)?;
    let path = dir.join("pack.toml");
    std::fs::write(&path, updated).map_err(|source| Error::Io { path, source })?;
    Ok(digests)
}

/// `manifest` with the `sha256` of each `(file, digest)`'s `[[rules]]` entry set.
fn with_digests(manifest: &str, digests: &[(String, String)]) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = manifest
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("invalid `pack.toml`: {}", e.message()))?;
    let rules = doc
        .get_mut("rules")
        .and_then(|r| r.as_array_of_tables_mut())
        .ok_or("`pack.toml` has no `[[rules]]`")?;
    for (file, d) in digests {
        let entry = rules
            .iter_mut()
            .find(|t| t.get("file").and_then(|f| f.as_str()) == Some(file.as_str()))
            .ok_or_else(|| format!("`pack.toml` lists no rule file `{file}`"))?;
        entry.insert("sha256", toml_edit::value(d.as_str()));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_set_and_comments_kept() {
        let manifest = "name = \"p\"\n\n# the rule\n[[rules]]\nfile = \"a.rego\"\nkind = \"rego\"\n\
                        sha256 = \"sha256:00\"\n\n[[rules]]\nfile = \"b.wasm\"\nkind = \"wasm\"\n\
                        build = \"cargo\"\n";
        let got = with_digests(
            manifest,
            &[
                ("a.rego".to_owned(), "sha256:aa".to_owned()),
                ("b.wasm".to_owned(), "sha256:bb".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            "name = \"p\"\n\n# the rule\n[[rules]]\nfile = \"a.rego\"\nkind = \"rego\"\n\
             sha256 = \"sha256:aa\"\n\n[[rules]]\nfile = \"b.wasm\"\nkind = \"wasm\"\n\
             build = \"cargo\"\nsha256 = \"sha256:bb\"\n"
        );
        assert_eq!(
            with_digests(manifest, &[("c.rego".to_owned(), "x".to_owned())]).unwrap_err(),
            "`pack.toml` lists no rule file `c.rego`"
        );
    }
}
