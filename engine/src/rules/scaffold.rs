//! Pack scaffolds: what `tracewarden rules new` writes. One template per language, the files of
//! `rules/templates/<lang>/` embedded by the build, with placeholders filled in: `{{name}}`,
//! `{{crate_name}}`, `{{rule_id}}`, `{{sdk_version}}` and `{{sdk_dep}}`.

use std::path::{Path, PathBuf};

use super::digests::write_digests;
use super::pack::{BuildTool, rule_files};
use crate::error::Error;

mod embedded {
    /// `(path, bytes)` of files.
    type Files = &'static [(&'static str, &'static [u8])];
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// The version of `tracewarden-sdk` this engine's contract matches (the workspace's version).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a scaffolded Rust pack depends on `tracewarden-sdk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkDependency {
    /// The published crate, by [`SDK_VERSION`].
    Registry,
    /// A local copy of the crate: a checkout's `sdk/` directory, as Cargo should write it (a path
    /// relative to the pack, or absolute).
    Path(PathBuf),
}

impl SdkDependency {
    /// The dependency line of the pack's `Cargo.toml`.
    pub fn cargo_line(&self) -> String {
        match self {
            SdkDependency::Registry => format!("tracewarden-sdk = \"{SDK_VERSION}\""),
            SdkDependency::Path(p) => format!(
                "tracewarden-sdk = {{ path = {} }}",
                toml::Value::String(p.display().to_string())
            ),
        }
    }
}

/// The languages there is a template for, sorted.
pub fn languages() -> Vec<&'static str> {
    embedded::TEMPLATES.iter().map(|(lang, _)| *lang).collect()
}

/// Writes a pack named `name` from the `lang` template into `dir` (created; refused when it
/// exists and is not empty), then writes the digests of its rule files that need no build into
/// its `pack.toml`. Returns the files written, sorted.
pub fn scaffold(
    name: &str,
    lang: &str,
    dir: &Path,
    sdk: &SdkDependency,
) -> Result<Vec<PathBuf>, Error> {
    check_name(name)?;
    let Some((_, files)) = embedded::TEMPLATES.iter().find(|(l, _)| *l == lang) else {
        return Err(Error::Usage(format!(
            "no `{lang}` template in this tracewarden (templates: {})",
            languages().join(", ")
        )));
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "`{}` exists and is not empty: name a new directory",
                dir.display()
            )));
        }
    }
    let crate_name = name.replace('-', "_");
    let rule_id = format!("TW-{}-001", name.to_ascii_uppercase());
    let sdk_dep = sdk.cargo_line();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{rule_id}}", &rule_id)
            .replace("{{sdk_version}}", SDK_VERSION)
            .replace("{{sdk_dep}}", &sdk_dep)
    };
    let mut written = Vec::new();
    let mut write = |rel: &str, bytes: &[u8]| -> Result<(), Error> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))?;
        written.push(path);
        Ok(())
    };
    for (rel, bytes) in files.iter() {
        match std::str::from_utf8(bytes) {
            Ok(text) => write(&fill(rel), fill(text).as_bytes())?,
            Err(_) => write(&fill(rel), bytes)?,
        }
    }
    let manifest_path = dir.join("pack.toml");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let rules =
        rule_files(&manifest).map_err(|e| Error::Usage(format!("the `{lang}` template's {e}")))?;
    // A component built by componentize-py is generated from the contract itself.
    if rules
        .iter()
        .any(|(_, b)| *b == Some(BuildTool::ComponentizePy))
    {
        for (rel, bytes) in embedded::WIT {
            write(&format!("wit/{rel}"), bytes)?;
        }
    }
    let unbuilt: Vec<String> = rules
        .into_iter()
        .filter(|(_, build)| build.is_none())
        .map(|(file, _)| file)
        .collect();
    if !unbuilt.is_empty() {
        write_digests(dir, &unbuilt)?;
    }
    written.sort();
    Ok(written)
}

/// A pack name: lowercase letters, digits and single `-` between them, starting with a letter,
/// neither a built-in pack's name nor `ownership`.
fn check_name(name: &str) -> Result<(), Error> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(Error::Usage(format!(
            "`{name}` is no pack name: expected lowercase letters, digits and single `-`, \
             starting with a letter (`my-pack`)"
        )));
    }
    if reserved_name(name) {
        return Err(Error::Usage(format!(
            "the pack name `{name}` is reserved: give the pack another name"
        )));
    }
    Ok(())
}

/// Whether `name` is a built-in pack's or `ownership` (the rule config's engine table), which no
/// other pack may take.
pub fn reserved_name(name: &str) -> bool {
    name == super::OWNERSHIP_TABLE || super::builtin_names().iter().any(|b| b == name)
}

/// The `sdk/` directory of the tracewarden checkout `dir` is in, if it is in one: the nearest
/// ancestor holding `sdk/Cargo.toml` of `tracewarden-sdk` and `wit/rule.wit`, as a path relative
/// to `dir`. `dir` need not exist yet.
pub fn sdk_in_checkout(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    // The part of `dir` that exists, resolved; the rest is created by `scaffold`.
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    while !existing.exists() {
        missing.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
    let mut resolved = existing.canonicalize().ok()?;
    for part in missing.iter().rev() {
        resolved.push(part);
    }
    for (depth, ancestor) in resolved.ancestors().enumerate() {
        let sdk = ancestor.join("sdk");
        let is_sdk = std::fs::read_to_string(sdk.join("Cargo.toml"))
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .and_then(|t| {
                t.get("package")?
                    .get("name")?
                    .as_str()
                    .map(|n| n == "tracewarden-sdk")
            })
            .unwrap_or(false);
        if is_sdk && ancestor.join("wit/rule.wit").is_file() {
            let mut rel = PathBuf::new();
            for _ in 0..depth {
                rel.push("..");
            }
            rel.push("sdk");
            return Some(rel);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in ["My", "1a", "a--b", "a-", "a_b", "toctou", "ownership", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_name("a_b").unwrap_err().to_string(),
            "`a_b` is no pack name: expected lowercase letters, digits and single `-`, starting \
             with a letter (`my-pack`)"
        );
        check_name("acme-ddb2").unwrap();
    }

    #[test]
    fn a_pack_inside_this_checkout_uses_the_sdk_by_path() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert_eq!(
            sdk_in_checkout(&root.join("target/packs/new-pack")),
            Some(PathBuf::from("../../../sdk"))
        );
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(sdk_in_checkout(&outside.path().join("p")), None);
        assert_eq!(
            SdkDependency::Path("../sdk".into()).cargo_line(),
            "tracewarden-sdk = { path = \"../sdk\" }"
        );
    }

    #[test]
    fn a_template_is_written_with_its_placeholders_filled_and_its_digests() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("acme");
        let files = scaffold("acme-ddb", "rego", &pack, &SdkDependency::Registry).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.strip_prefix(&pack).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "README.md",
                "acme_ddb.rego",
                "pack.toml",
                "tests/hit/case.toml",
                "tests/hit/events.jsonl",
                "tests/miss/case.toml",
                "tests/miss/events.jsonl"
            ]
        );
        let rule = std::fs::read(pack.join("acme_ddb.rego")).unwrap();
        let manifest = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
        assert!(manifest.starts_with("name = \"acme-ddb\"\n"), "{manifest}");
        assert!(
            manifest.contains(&format!("sha256 = \"{}\"", super::super::digest(&rule))),
            "{manifest}"
        );
        assert!(!String::from_utf8(rule).unwrap().contains("{{"));
        let again = scaffold("acme-ddb", "rego", &pack, &SdkDependency::Registry).unwrap_err();
        assert_eq!(
            again.to_string(),
            format!(
                "`{}` exists and is not empty: name a new directory",
                pack.display()
            )
        );
        assert!(
            scaffold(
                "acme",
                "cobol",
                &dir.path().join("c"),
                &SdkDependency::Registry
            )
            .unwrap_err()
            .to_string()
            .starts_with("no `cobol` template in this tracewarden (templates: ")
        );
    }
}
