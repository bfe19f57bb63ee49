//! `tracewarden rules build PACK...`: makes each rule file a pack builds (`build = "cargo"` or
//! `"componentize-py"` in `pack.toml`) with its tool, then writes every rule file's digest into
//! `pack.toml` (`tracewarden::rules::digests`). The tools' own output goes to standard error.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use clap::Args;
use tracewarden::rules::{
    BuildStep, BuildTool, LOCK_FILE, build_steps, digests, pack_name, rule_files, scaffold,
};

/// `rules build`'s flags.
#[derive(Args)]
pub struct BuildArgs {
    /// Pack directories.
    #[arg(required = true, value_name = "PACK")]
    packs: Vec<PathBuf>,
}

/// Builds every pack.
pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    for pack in &args.packs {
        let manifest_path = pack.join("pack.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read `{}`", manifest_path.display()))?;
        let steps = build_steps(&manifest)
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", manifest_path.display()))?;
        let name = pack_name(&manifest)
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", manifest_path.display()))?;
        if scaffold::reserved_name(&name) {
            bail!(
                "`{}` is the built-in pack `{name}`: tracewarden's own build makes its files",
                pack.display()
            );
        }
        let mut cargo_artifact: Option<PathBuf> = None;
        for step in &steps {
            let dest = pack.join(&step.file);
            match step.tool {
                BuildTool::Cargo => {
                    let artifact = match &cargo_artifact {
                        Some(a) => a.clone(),
                        None => cargo_build(pack)?,
                    };
                    std::fs::copy(&artifact, &dest).with_context(|| {
                        format!(
                            "cannot copy `{}` to `{}`",
                            artifact.display(),
                            dest.display()
                        )
                    })?;
                    cargo_artifact = Some(artifact);
                }
                BuildTool::ComponentizePy => componentize(pack, step)?,
            }
        }
        // Every rule file's digest, so a Rego rule edited by hand is pinned again too.
        let files: Vec<String> = rule_files(&manifest)
            .map_err(|e| anyhow::anyhow!("`{}`: {e}", manifest_path.display()))?
            .into_iter()
            .map(|(file, _)| file)
            .collect();
        for (file, digest) in digests::write_digests(pack, &files)? {
            let what = if steps.iter().any(|s| s.file == file) {
                "built"
            } else {
                "pinned"
            };
            out.push_str(&format!(
                "{what} `{}` ({digest})\n",
                pack.join(file).display()
            ));
        }
        if pack.join(LOCK_FILE).exists() {
            eprintln!(
                "note: `{}` has a `{LOCK_FILE}`, which no longer matches: run `tracewarden pack \
                 lock` (and `pack sign`) on it again",
                pack.display()
            );
        }
    }
    crate::write_output(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo build --target wasm32-wasip2 --release` of the pack's crate; the component's path.
fn cargo_build(pack: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = pack.join("Cargo.toml");
    let metadata = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("cannot run `cargo`")?;
    if !metadata.status.success() {
        bail!(
            "`cargo metadata` of `{}` failed: {}",
            manifest.display(),
            String::from_utf8_lossy(&metadata.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&metadata.stdout).context("`cargo metadata` printed no JSON")?;
    let target_dir = metadata
        .get("target_directory")
        .and_then(|d| d.as_str())
        .context("`cargo metadata` names no target directory")?;
    let root = std::fs::canonicalize(&manifest)
        .with_context(|| format!("cannot read `{}`", manifest.display()))?;
    let crate_name = metadata
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("manifest_path")
                .and_then(|m| m.as_str())
                .and_then(|m| std::fs::canonicalize(m).ok())
                .is_some_and(|m| m == root)
        })
        .and_then(|p| p.get("name").and_then(|n| n.as_str()))
        .with_context(|| format!("`{}` has no package", manifest.display()))?
        .to_owned();
    let status = Command::new(&cargo)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--release",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdout(std::io::stderr())
        .status()
        .context("cannot run `cargo`")?;
    if !status.success() {
        bail!(
            "`cargo build --target wasm32-wasip2 --release` of `{}` failed (is the target \
             installed? `rustup target add wasm32-wasip2`)",
            manifest.display()
        );
    }
    let artifact = Path::new(target_dir)
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")));
    if !artifact.is_file() {
        bail!(
            "`cargo build` of `{}` made no `{}`: is the crate's `crate-type` `cdylib`?",
            manifest.display(),
            artifact.display()
        );
    }
    Ok(artifact)
}

/// `componentize-py -d wit -w rule componentize app -p . -o FILE` in the pack's directory, the tool
/// from `$COMPONENTIZE_PY` or the `PATH`.
fn componentize(pack: &Path, step: &BuildStep) -> anyhow::Result<()> {
    let tool = std::env::var_os("COMPONENTIZE_PY").unwrap_or_else(|| "componentize-py".into());
    let status = Command::new(&tool)
        .current_dir(pack)
        .args([
            "-d",
            "wit",
            "-w",
            "rule",
            "componentize",
            "app",
            "-p",
            ".",
            "-o",
        ])
        .arg(&step.file)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| {
            format!(
                "cannot run `{}` (install it with `pip install componentize-py`, or set \
                 COMPONENTIZE_PY)",
                tool.to_string_lossy()
            )
        })?;
    if !status.success() {
        bail!(
            "`componentize-py` failed to build `{}` in `{}`",
            step.file,
            pack.display()
        );
    }
    Ok(())
}
