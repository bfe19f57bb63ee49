//! `tracewarden pack …`: lock, sign, verify and build rule packs, and make signing keys; and the
//! trust flags of the commands that load packs (`--require-signed`, `--trusted-key`). The work
//! is the library's (`tracewarden::rules`); this parses and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use tracewarden::rules::{self, PackSource, PublicKey, TrustPolicy};

/// `tracewarden pack …`.
#[derive(Subcommand)]
pub enum PackCommand {
    /// Write PACK/pack.lock: the SHA-256 of `pack.toml` and of every file it names. A pack with
    /// a lock is refused when a file no longer matches it.
    Lock {
        /// The pack directory.
        pack: PathBuf,
    },
    /// Make an ed25519 signing key: KEY (the secret key, mode 0600) and KEY.pub (the public
    /// key, to share). Existing files are never overwritten.
    Keygen {
        /// Where to write the secret key; the public key goes beside it as KEY.pub.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
    },
    /// Sign a pack directory: lock it if it has no lock, then write PACK/pack.sig, a signature
    /// of the lock.
    Sign {
        /// The pack directory.
        pack: PathBuf,
        /// The secret key (`pack keygen --out KEY`).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
    /// Check that a pack (directory or `.twpack`) is signed by one of the given keys and that
    /// every file matches its lock; exit 0 with one line naming the signer, else 2 with the
    /// problems.
    Verify {
        /// The pack directory or `.twpack` archive.
        pack: PathBuf,
        /// A trusted public key (KEY.pub); repeatable.
        #[arg(long = "key", value_name = "KEY.pub", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Build PACK into one `.twpack` archive (manifest, rule files, lock and signature when
    /// present; the same pack gives the same bytes) that `--rules` loads directly.
    Build {
        /// The pack directory.
        pack: PathBuf,
        /// The archive to write (default: `NAME-VERSION.twpack` in the current directory).
        #[arg(short, long, value_name = "OUT.twpack")]
        output: Option<PathBuf>,
    },
}

/// Runs a `pack` subcommand.
pub fn run(command: PackCommand) -> anyhow::Result<ExitCode> {
    let line = match command {
        PackCommand::Lock { pack } => {
            let locked = rules::lock_pack(&pack)?;
            format!(
                "locked `{}`: {} file(s) in `{}`",
                pack.display(),
                locked.files,
                locked.path.display()
            )
        }
        PackCommand::Keygen { out } => {
            let public = rules::keygen(&out)?;
            format!(
                "wrote `{}` (secret: keep it private) and `{}` (public: share it), key {}",
                out.display(),
                rules::public_key_path(&out).display(),
                public.fingerprint()
            )
        }
        PackCommand::Sign { pack, key } => {
            let key = rules::SecretKey::read(&key)?;
            let signer = rules::sign_pack(&pack, &key)?;
            format!(
                "signed `{}` with key {signer}: `{}`",
                pack.display(),
                pack.join(rules::SIGNATURE_FILE).display()
            )
        }
        PackCommand::Verify { pack, keys } => {
            let keys = keys
                .iter()
                .map(|k| PublicKey::read(k))
                .collect::<Result<Vec<_>, _>>()?;
            let verified = rules::verify_pack(&pack, &keys)?;
            format!(
                "OK: `{}` is signed by key {} ({} file(s) match its lock)",
                pack.display(),
                verified.signer,
                verified.files
            )
        }
        PackCommand::Build { pack, output } => {
            let built = rules::build_archive(&pack, output.as_deref())?;
            format!(
                "built `{}` from `{}`: {} ({})",
                built.path.display(),
                pack.display(),
                built.files.join(", "),
                if built.signed { "signed" } else { "unsigned" }
            )
        }
    };
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// Which packs may load, for the commands that take `--rules`.
#[derive(Args)]
pub struct TrustArgs {
    /// Refuse every pack given with `--rules` that is not signed by a trusted key, or whose
    /// files do not match its signed lock (built-in packs are compiled in and always trusted).
    #[arg(long)]
    require_signed: bool,
    /// A trusted public key (KEY.pub) for `--require-signed`; repeatable. The `.pub` files in
    /// `$XDG_CONFIG_HOME/tracewarden/trusted-keys/` (else `~/.config/tracewarden/trusted-keys/`)
    /// are trusted too.
    #[arg(
        long = "trusted-key",
        value_name = "KEY.pub",
        requires = "require_signed"
    )]
    trusted_key: Vec<PathBuf>,
}

impl TrustArgs {
    /// The policy: no signature required, or the trusted keys of the flags and of the default
    /// directory.
    pub fn policy(&self) -> anyhow::Result<TrustPolicy> {
        if !self.require_signed {
            return Ok(TrustPolicy::default());
        }
        let mut files = self.trusted_key.clone();
        if let Some(dir) = trusted_keys_dir() {
            files.extend(pub_files(&dir)?);
        }
        let trusted = files
            .iter()
            .map(|f| PublicKey::read(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustPolicy {
            require_signed: true,
            trusted,
        })
    }
}

/// `$XDG_CONFIG_HOME/tracewarden/trusted-keys`, else `$HOME/.config/tracewarden/trusted-keys`
/// (relative values ignored, as the XDG base directory spec says).
fn trusted_keys_dir() -> Option<PathBuf> {
    let absolute = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CONFIG_HOME")
        .or_else(|| absolute("HOME").map(|h| h.join(".config")))
        .map(|c| c.join("tracewarden").join("trusted-keys"))
}

/// The `.pub` files in `dir`, sorted; none when it does not exist.
fn pub_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read `{}`", dir.display()));
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read `{}`", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "pub") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What `--rules PATH` names: a pack directory, a `.twpack` archive or a single rule file.
pub fn source(path: &Path) -> PackSource {
    if path.is_dir() {
        PackSource::Dir(path.to_owned())
    } else if rules::is_archive(path) {
        PackSource::Archive(path.to_owned())
    } else {
        PackSource::File(path.to_owned())
    }
}
