//! `tracewarden rules new NAME --lang LANG`: writes a pack from the library's templates
//! (`tracewarden::rules::scaffold`) and says what to do next.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tracewarden::rules::scaffold::{self, SdkDependency};

/// `rules new`'s flags.
#[derive(Args)]
pub struct NewArgs {
    /// The pack's name: lowercase letters, digits and `-` (`acme-ddb`); its rule is
    /// `TW-<NAME>-001`.
    name: String,
    /// The rule's language: rust, rego, or another this tracewarden has a template for
    /// (python).
    #[arg(long, value_name = "LANG")]
    lang: String,
    /// The pack's directory, created (default: `./NAME`); refused when it exists and is not empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Depend on the SDK crate at this path (a checkout's `sdk/`) instead of the published
    /// `tracewarden-sdk`. Inside a tracewarden checkout the pack uses the checkout's `sdk/`
    /// without it.
    #[arg(long, value_name = "PATH")]
    sdk_path: Option<PathBuf>,
}

/// Writes the pack and lists its files.
pub fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    let languages = scaffold::languages();
    if !languages.contains(&args.lang.as_str()) {
        anyhow::bail!(
            "`--lang {}`: no template for it in this tracewarden (languages: {})",
            args.lang,
            languages.join(", ")
        );
    }
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let sdk = match &args.sdk_path {
        Some(path) => SdkDependency::Path(
            std::path::absolute(path)
                .with_context(|| format!("`--sdk-path {}`", path.display()))?,
        ),
        None => {
            scaffold::sdk_in_checkout(&dir).map_or(SdkDependency::Registry, SdkDependency::Path)
        }
    };
    let files = scaffold::scaffold(&args.name, &args.lang, &dir, &sdk)?;
    let mut out = format!(
        "created pack `{}` ({}) in `{}`:\n",
        args.name,
        args.lang,
        dir.display()
    );
    for file in &files {
        let _ = writeln!(
            out,
            "  {}",
            file.strip_prefix(&dir).unwrap_or(file).display()
        );
    }
    let d = dir.display();
    if args.lang != "rego" {
        let _ = writeln!(out, "next: tracewarden rules build {d}");
        let _ = writeln!(out, "      tracewarden rules test {d} --minimum-tests 2");
    } else {
        let _ = writeln!(out, "next: tracewarden rules test {d} --minimum-tests 2");
    }
    crate::write_output(&out)?;
    Ok(ExitCode::SUCCESS)
}
