//! Builds the built-in rule packs of `rules/` and embeds them: each pack's `pack.toml`, with the
//! digests of WASM components compiled here filled in, and every file it names.
//!
//! WASM rule crates are compiled for `wasm32-wasip2` by a nested cargo with its own target
//! directory (sharing ours would deadlock on its lock) and without the outer build's host flags
//! and wrappers. That directory is `wasm-guests` beside the outer build's profile directories,
//! shared by every build of this crate: `cargo clippy` and `cargo test` run this script apart
//! (they build the crate with other features), and the second finds the packs built.
//!
//! Without the `rules` feature there is no rule host to embed packs in, and nothing is built.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

fn main() -> Result<(), String> {
    // The component cache keys its artifacts by the target they were compiled for.
    println!("cargo:rustc-env=TRACEWARDEN_TARGET={}", env("TARGET")?);
    if std::env::var_os("CARGO_FEATURE_RULES").is_none() {
        println!("cargo:rerun-if-changed=build.rs");
        return Ok(());
    }
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .ok_or("engine/ has no parent")?
        .to_owned();
    let out = PathBuf::from(env("OUT_DIR")?);
    for watched in ["rules", "sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let mut packs: Vec<PathBuf> = std::fs::read_dir(root.join("rules"))
        .map_err(|e| format!("cannot list rules/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("pack.toml").is_file())
        .collect();
    packs.sort();

    let mut code =
        String::from("/// The built-in packs.\npub static PACKS: &[EmbeddedPack] = &[\n");
    for pack in &packs {
        let name = pack
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("bad pack dir")?;
        let manifest_text = std::fs::read_to_string(pack.join("pack.toml"))
            .map_err(|e| format!("cannot read {}/pack.toml: {e}", pack.display()))?;
        let mut manifest: toml::Table = toml::from_str(&manifest_text)
            .map_err(|e| format!("{}/pack.toml: {e}", pack.display()))?;
        let pack_out = out.join("packs").join(name);
        std::fs::create_dir_all(&pack_out).map_err(|e| e.to_string())?;
        let mut files = Vec::new();
        let rules = manifest
            .get_mut("rules")
            .and_then(|r| r.as_array_mut())
            .ok_or_else(|| format!("{}/pack.toml has no [[rules]]", pack.display()))?;
        for rule in rules.iter_mut() {
            let table = rule
                .as_table_mut()
                .ok_or("[[rules]] entry is not a table")?;
            let file = table
                .get("file")
                .and_then(|f| f.as_str())
                .ok_or("[[rules]] entry has no file")?
                .to_owned();
            let bytes = if table.get("build").and_then(|b| b.as_str()) == Some("cargo") {
                let bytes = build_wasm(&root, pack, &out)?;
                table.insert("sha256".into(), toml::Value::String(digest(&bytes)));
                bytes
            } else {
                std::fs::read(pack.join(&file))
                    .map_err(|e| format!("{}/{file}: {e}", pack.display()))?
            };
            let dest = pack_out.join(&file);
            std::fs::write(&dest, &bytes).map_err(|e| e.to_string())?;
            files.push((file, dest));
        }
        let manifest_out = pack_out.join("pack.toml");
        std::fs::write(
            &manifest_out,
            toml::to_string(&manifest).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let _ = writeln!(
            code,
            "    EmbeddedPack {{\n        manifest: include_str!({:?}),\n        files: &[",
            manifest_out.display().to_string()
        );
        for (file, dest) in files {
            let _ = writeln!(
                code,
                "            ({file:?}, include_bytes!({:?})),",
                dest.display().to_string()
            );
        }
        code.push_str("        ],\n    },\n");
    }
    code.push_str("];\n");
    std::fs::write(out.join("builtin_packs.rs"), code).map_err(|e| e.to_string())?;
    embed_templates(&root, &out)
}

/// Embeds every file of `rules/templates/<lang>/` (the `rules new` scaffolds, one directory per
/// language) and of `wit/` (copied into scaffolds whose language builds against it).
fn embed_templates(root: &Path, out: &Path) -> Result<(), String> {
    let mut code = String::from(
        "/// `(language, [(path, bytes)])` of each scaffold template.\n\
         pub static TEMPLATES: &[(&str, Files)] = &[\n",
    );
    let templates = root.join("rules/templates");
    let mut langs: Vec<PathBuf> = match std::fs::read_dir(&templates) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    };
    langs.sort();
    for lang in &langs {
        let name = lang
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("bad template dir")?;
        let _ = writeln!(code, "    ({name:?}, &[");
        embed_files(lang, &mut code)?;
        code.push_str("    ]),\n");
    }
    code.push_str(
        "];\n\n/// `(path, bytes)` of every file of `wit/`.\npub static WIT: Files = &[\n",
    );
    embed_files(&root.join("wit"), &mut code)?;
    code.push_str("];\n");
    std::fs::write(out.join("templates.rs"), code).map_err(|e| e.to_string())
}

/// Appends `(relative path, include_bytes!(file)),` for every file under `dir`, sorted.
fn embed_files(dir: &Path, code: &mut String) -> Result<(), String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            // What building or running a template in place leaves (`target/`, `__pycache__/`) is
            // no template. A symlinked directory (the Python SDK a template vendors) is followed.
            if path.is_dir() && !path.ends_with("target") && !path.ends_with("__pycache__") {
                stack.push(path);
            } else if path.is_dir() {
                continue;
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in files {
        let rel = file
            .strip_prefix(dir)
            .map_err(|e| e.to_string())?
            .to_str()
            .ok_or("a template path is not UTF-8")?
            .replace('\\', "/");
        let _ = writeln!(
            code,
            "        ({rel:?}, include_bytes!({:?})),",
            file.display().to_string()
        );
    }
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The nested cargo's target directory: `<target>/wasm-guests` when `OUT_DIR` is where cargo puts
/// it (`<target>[/<triple>]/<profile>/build/<package>-<hash>/out`), else inside `OUT_DIR`.
fn guest_target_dir(out: &Path) -> PathBuf {
    let build = out.parent().and_then(Path::parent);
    match build.and_then(|b| Some((b, b.parent()?.parent()?))) {
        Some((build, target)) if build.file_name().is_some_and(|n| n == "build") => {
            target.join("wasm-guests")
        }
        _ => out.join("wasm-target"),
    }
}

/// Compiles the rule crate in `pack` to a `wasm32-wasip2` component and returns its bytes.
fn build_wasm(root: &Path, pack: &Path, out: &Path) -> Result<Vec<u8>, String> {
    let cargo_toml = std::fs::read_to_string(pack.join("Cargo.toml")).map_err(|e| {
        format!(
            "{}: a `build = \"cargo\"` rule needs a crate: {e}",
            pack.display()
        )
    })?;
    let package: toml::Table = toml::from_str(&cargo_toml).map_err(|e| e.to_string())?;
    let crate_name = package
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or("rule crate has no package name")?
        .to_owned();
    let target_dir = guest_target_dir(out);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            &crate_name,
            "--target-dir",
        ])
        .arg(&target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    // Small, abort-on-panic guests: a panic becomes a trap the host reports.
    cmd.env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the `{crate_name}` rule component failed; is the target installed? \
             run `rustup target add wasm32-wasip2`"
        ));
    }
    let artifact = target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    std::fs::read(&artifact).map_err(|e| format!("{}: {e}", artifact.display()))
}
