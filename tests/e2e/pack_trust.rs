//! Pack integrity and trust through the binary: `pack lock`, `keygen`, `sign`, `verify`,
//! `build`, `--require-signed`, and packs that try to leave their directory.

use std::path::{Path, PathBuf};

use crate::common::{self, Run, findings, fixture, root};

/// A community copy of TW-DDB-001's Rego reference (a DynamoDB write without a condition), so its
/// findings on a fixture are known: `cloudtrail/toctou-positive.json` has one.
fn rule() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/packs/dynamodb-rego/ddb001.rego"))
        .unwrap()
        .replace("TW-DDB-001", "TW-COPY-001")
        .replace("tracewarden.rules.ddb001", "tracewarden.rules.copy001")
}

/// `sha256:<hex>` computed by coreutils, not by the engine.
fn sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", hex.split_whitespace().next().unwrap())
}

/// A Rego pack of one rule in `dir/copy`, shaped like `rules/dynamodb`.
fn write_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("copy");
    std::fs::create_dir(&pack).unwrap();
    let rule = rule();
    std::fs::write(pack.join("copy.rego"), &rule).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        format!(
            "name = \"ddb-copy\"\nversion = \"1.0.0\"\ndescription = \"a copy of TW-DDB-001\"\n\n\
             [[rules]]\nfile = \"copy.rego\"\nkind = \"rego\"\nsha256 = \"{}\"\n",
            sha256(rule.as_bytes())
        ),
    )
    .unwrap();
    pack
}

/// Runs the binary from the workspace root with `XDG_CONFIG_HOME` set to `config`, so the
/// user's own trusted keys never take part.
fn run_in(config: &Path, args: &[&str]) -> Run {
    let out = common::command()
        .args(args)
        .current_dir(root())
        .env("XDG_CONFIG_HOME", config)
        .output()
        .expect("run tracewarden");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary directory with a pack and a key pair (`key`, `key.pub`).
struct Setup {
    tmp: tempfile::TempDir,
    pack: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let pack = write_pack(tmp.path());
        let s = Setup { tmp, pack };
        let keygen = s.run(&["pack", "keygen", "--out", &s.path("key")]);
        assert_eq!(keygen.code, 0, "{}", keygen.stderr);
        s
    }

    fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).display().to_string()
    }

    fn pack(&self) -> String {
        self.pack.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Run {
        run_in(&self.tmp.path().join("config"), args)
    }

    /// The fingerprint of `key.pub`, as `pack sign` prints it.
    fn sign(&self, key: &str) -> String {
        let run = self.run(&["pack", "sign", &self.pack(), "--key", &self.path(key)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let prefix = format!("signed `{}` with key ", self.pack());
        let rest = run.stdout.strip_prefix(&prefix).expect(&run.stdout);
        let (fp, file) = rest.split_once(": ").unwrap();
        assert_eq!(
            file,
            format!("`{}`\n", self.pack.join("pack.sig").display())
        );
        fp.to_owned()
    }

    /// `scan --format json --no-builtin --fail-on none` of the TOCTOU fixture with `extra`.
    fn scan(&self, extra: &[&str]) -> Run {
        let input = fixture("cloudtrail/toctou-positive.json");
        let mut args = vec![
            "scan",
            "--format",
            "json",
            "--no-builtin",
            "--fail-on",
            "none",
        ];
        args.extend_from_slice(extra);
        args.push(&input);
        self.run(&args)
    }
}

#[test]
fn keygen_writes_a_private_secret_key_and_a_public_key() {
    let s = Setup::new();
    let secret = std::fs::read_to_string(s.path("key")).unwrap();
    let public = std::fs::read_to_string(s.path("key.pub")).unwrap();
    assert!(
        secret.starts_with("tracewarden ed25519 secret key 1\n"),
        "{secret}"
    );
    assert!(
        public.starts_with("tracewarden ed25519 public key 1\n"),
        "{public}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(s.path("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = s.run(&["pack", "keygen", "--out", &s.path("key")]);
    assert_eq!(again.code, 2);
    assert_eq!(
        again.stderr,
        format!(
            "error: `{}` already exists: a key is never overwritten (remove it or choose another \
             name)\n",
            s.path("key")
        )
    );
    let wrong = s.run(&["pack", "sign", &s.pack(), "--key", &s.path("key.pub")]);
    assert_eq!(wrong.code, 2);
    assert_eq!(
        wrong.stderr,
        format!(
            "error: `{}`: is a public key: signing needs the secret key (`KEY`, without `.pub`)\n",
            s.path("key.pub")
        )
    );
}

#[test]
fn a_signed_pack_verifies_and_its_archive_scans_like_the_directory() {
    let s = Setup::new();
    let fp = s.sign("key");
    let lock = std::fs::read_to_string(s.pack.join("pack.lock")).unwrap();
    assert_eq!(
        lock,
        format!(
            "# tracewarden pack lock 1\n{}  copy.rego\n{}  pack.toml\n",
            sha256(rule().as_bytes()),
            sha256(&std::fs::read(s.pack.join("pack.toml")).unwrap())
        )
    );
    let verify = s.run(&["pack", "verify", &s.pack(), "--key", &s.path("key.pub")]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert_eq!(
        verify.stdout,
        format!(
            "OK: `{}` is signed by key {fp} (2 file(s) match its lock)\n",
            s.pack()
        )
    );

    let archive = s.path("copy.twpack");
    let build = s.run(&["pack", "build", &s.pack(), "-o", &archive]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert_eq!(
        build.stdout,
        format!(
            "built `{archive}` from `{}`: copy.rego, pack.lock, pack.sig, pack.toml (signed)\n",
            s.pack()
        )
    );
    let again = s.path("again.twpack");
    assert_eq!(s.run(&["pack", "build", &s.pack(), "-o", &again]).code, 0);
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&again).unwrap(),
        "the same pack gives the same bytes"
    );
    let verify = s.run(&["pack", "verify", &archive, "--key", &s.path("key.pub")]);
    assert_eq!(
        verify.stdout,
        format!("OK: `{archive}` is signed by key {fp} (2 file(s) match its lock)\n")
    );

    let trusted = ["--require-signed", "--trusted-key", &s.path("key.pub")];
    let from_dir = s.scan(&[&["--rules", &s.pack()], &trusted[..]].concat());
    assert_eq!(from_dir.code, 0, "{}", from_dir.stderr);
    let from_archive = s.scan(&[&["--rules", &archive], &trusted[..]].concat());
    assert_eq!(from_archive.code, 0, "{}", from_archive.stderr);
    let (dir_report, archive_report) = (from_dir.json(), from_archive.json());
    assert_eq!(
        findings(&dir_report),
        vec![(
            "TW-COPY-001".to_owned(),
            "arn:aws:sts::111122223333:assumed-role/orders-api/alice".to_owned(),
            "orders/orderId=o-1001".to_owned(),
            vec!["ct:94b740b4-c7d9-56cd-a77b-0320a06f6fc2".to_owned()],
        )]
    );
    assert_eq!(dir_report["findings"], archive_report["findings"]);

    let list = s.run(&["rules", "list", "--no-builtin", "--rules", &archive]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout
            .starts_with("TW-COPY-001    ddb-copy   rego  low       DynamoDB write"),
        "{}",
        list.stdout
    );
}

#[test]
fn a_tampered_pack_is_refused_naming_the_file_and_both_digests() {
    let s = Setup::new();
    s.sign("key");
    let pack_toml = std::fs::read_to_string(s.pack.join("pack.toml")).unwrap();
    let tampered = rule().replace("\"low\"", "\"info\"");
    std::fs::write(s.pack.join("copy.rego"), &tampered).unwrap();
    // Digest in `pack.toml` updated too: only the lock can tell.
    std::fs::write(
        s.pack.join("pack.toml"),
        pack_toml.replace(&sha256(rule().as_bytes()), &sha256(tampered.as_bytes())),
    )
    .unwrap();
    let problems = format!(
        "  - `copy.rego` was changed after the pack was locked: `pack.lock` says `{}`, the file \
         is `{}`\n  - `pack.toml` was changed after the pack was locked: `pack.lock` says `{}`, \
         the file is `{}`\n",
        sha256(rule().as_bytes()),
        sha256(tampered.as_bytes()),
        sha256(pack_toml.as_bytes()),
        sha256(&std::fs::read(s.pack.join("pack.toml")).unwrap()),
    );
    // Refused whether signatures are required or not: a lock is always checked.
    let scan = s.scan(&["--rules", &s.pack()]);
    assert_eq!(scan.code, 2);
    assert_eq!(scan.stdout, "");
    assert_eq!(
        scan.stderr,
        format!("error: rule pack `{}` refused:\n{problems}", s.pack())
    );
    let verify = s.run(&["pack", "verify", &s.pack(), "--key", &s.path("key.pub")]);
    assert_eq!(verify.code, 2);
    assert_eq!(
        verify.stderr,
        format!("error: pack `{}`:\n{problems}", s.pack())
    );
    let build = s.run(&["pack", "build", &s.pack(), "-o", &s.path("x.twpack")]);
    assert_eq!(build.code, 2);
    assert_eq!(
        build.stderr,
        format!("error: pack `{}`:\n{problems}", s.pack())
    );
}

#[test]
fn require_signed_refuses_unsigned_and_wrongly_signed_packs() {
    let s = Setup::new();
    let key = s.path("key.pub");
    let unsigned = s.scan(&[
        "--rules",
        &s.pack(),
        "--require-signed",
        "--trusted-key",
        &key,
    ]);
    assert_eq!(unsigned.code, 2);
    assert_eq!(
        unsigned.stderr,
        format!(
            "error: rule pack `{}` refused:\n  - the pack is unsigned: it has no `pack.lock` and \
             no `pack.sig` (sign it with `tracewarden pack sign PACK --key KEY`)\n",
            s.pack()
        )
    );
    // Without `--require-signed` it loads.
    assert_eq!(s.scan(&["--rules", &s.pack()]).code, 0);

    // Signed by a key that is not trusted.
    assert_eq!(
        s.run(&["pack", "keygen", "--out", &s.path("other")]).code,
        0
    );
    let fp = s.sign("other");
    let trusted_fp = s
        .run(&["pack", "keygen", "--out", &s.path("third")])
        .stdout
        .rsplit_once("key ")
        .unwrap()
        .1
        .trim()
        .to_owned();
    let wrong = s.scan(&[
        "--rules",
        &s.pack(),
        "--require-signed",
        "--trusted-key",
        &s.path("third.pub"),
    ]);
    assert_eq!(wrong.code, 2);
    assert_eq!(
        wrong.stderr,
        format!(
            "error: rule pack `{}` refused:\n  - `pack.sig` is signed by key {fp}, which is not \
             trusted (trusted: {trusted_fp})\n",
            s.pack()
        )
    );
    let verify = s.run(&["pack", "verify", &s.pack(), "--key", &key]);
    assert_eq!(verify.code, 2);

    // Keys in `$XDG_CONFIG_HOME/tracewarden/trusted-keys` are trusted without a flag.
    let keys = s.tmp.path().join("config/tracewarden/trusted-keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(s.path("other.pub"), keys.join("other.pub")).unwrap();
    let by_default = s.scan(&["--rules", &s.pack(), "--require-signed"]);
    assert_eq!(by_default.code, 0, "{}", by_default.stderr);

    // A single rule file cannot be signed.
    let single = s.pack.join("copy.rego").display().to_string();
    let run = s.scan(&["--rules", &single, "--require-signed"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{single}` refused:\n  - a single rule file cannot be signed, and \
             signatures are required: put it in a pack and sign it (`tracewarden pack sign PACK \
             --key KEY`)\n"
        )
    );
}

#[test]
fn a_signature_over_an_edited_lock_is_bad() {
    let s = Setup::new();
    let fp = s.sign("key");
    // Change the rule and write a lock that matches it by hand: the digests agree, the
    // signature does not.
    let tampered = rule().replace("\"low\"", "\"info\"");
    std::fs::write(s.pack.join("copy.rego"), &tampered).unwrap();
    let pack_toml = std::fs::read_to_string(s.pack.join("pack.toml"))
        .unwrap()
        .replace(&sha256(rule().as_bytes()), &sha256(tampered.as_bytes()));
    std::fs::write(s.pack.join("pack.toml"), &pack_toml).unwrap();
    std::fs::write(
        s.pack.join("pack.lock"),
        format!(
            "# tracewarden pack lock 1\n{}  copy.rego\n{}  pack.toml\n",
            sha256(tampered.as_bytes()),
            sha256(pack_toml.as_bytes())
        ),
    )
    .unwrap();
    let run = s.scan(&[
        "--rules",
        &s.pack(),
        "--require-signed",
        "--trusted-key",
        &s.path("key.pub"),
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{}` refused:\n  - `pack.sig` is a bad signature by key {fp}: \
             `pack.lock` is not what the key signed\n",
            s.pack()
        )
    );
}

#[test]
fn a_path_escape_and_a_symlink_escape_are_refused() {
    let s = Setup::new();
    let outside = s.tmp.path().join("outside.rego");
    std::fs::write(&outside, rule()).unwrap();
    let manifest = |file: &str| {
        format!(
            "name = \"ddb-copy\"\nversion = \"1.0.0\"\n[[rules]]\nfile = \"{file}\"\nkind = \
             \"rego\"\nsha256 = \"{}\"\n",
            sha256(rule().as_bytes())
        )
    };
    std::fs::write(s.pack.join("pack.toml"), manifest("../outside.rego")).unwrap();
    let escape = "file `../outside.rego` must be a relative path inside the pack";
    let scan = s.scan(&["--rules", &s.pack()]);
    assert_eq!(scan.code, 2);
    assert_eq!(
        scan.stderr,
        format!(
            "error: rule pack `ddb-copy ({})` refused:\n  - {escape}\n",
            s.pack()
        )
    );
    let lock = s.run(&["pack", "lock", &s.pack()]);
    assert_eq!(lock.code, 2);
    assert_eq!(
        lock.stderr,
        format!("error: pack `{}`:\n  - {escape}\n", s.pack())
    );

    #[cfg(unix)]
    {
        std::fs::remove_file(s.pack.join("copy.rego")).unwrap();
        std::os::unix::fs::symlink(&outside, s.pack.join("copy.rego")).unwrap();
        std::fs::write(s.pack.join("pack.toml"), manifest("copy.rego")).unwrap();
        let resolved = outside.canonicalize().unwrap();
        let escape = format!(
            "file `copy.rego` resolves outside the pack directory (a symlink to `{}`): refused",
            resolved.display()
        );
        let scan = s.scan(&["--rules", &s.pack()]);
        assert_eq!(scan.code, 2);
        assert_eq!(
            scan.stderr,
            format!(
                "error: rule pack `ddb-copy ({})` refused:\n  - {escape}\n",
                s.pack()
            )
        );
        let archive = s.path("x.twpack");
        for command in [
            vec!["pack", "lock", &s.pack()],
            vec!["pack", "build", &s.pack(), "-o", &archive],
        ] {
            let run = s.run(&command);
            assert_eq!(run.code, 2, "{command:?}");
            assert_eq!(
                run.stderr,
                format!("error: pack `{}`:\n  - {escape}\n", s.pack()),
                "{command:?}"
            );
        }
        // A symlinked `pack.lock` leaving the pack is refused too.
        std::fs::remove_file(s.pack.join("copy.rego")).unwrap();
        std::fs::write(s.pack.join("copy.rego"), rule()).unwrap();
        let lock_outside = s.tmp.path().join("elsewhere.lock");
        std::fs::write(&lock_outside, "# tracewarden pack lock 1\n").unwrap();
        std::os::unix::fs::symlink(&lock_outside, s.pack.join("pack.lock")).unwrap();
        let scan = s.scan(&["--rules", &s.pack()]);
        assert_eq!(scan.code, 2);
        assert_eq!(
            scan.stderr,
            format!(
                "error: rule pack `{}` refused:\n  - file `pack.lock` resolves outside the pack \
                 directory (a symlink to `{}`): refused\n",
                s.pack(),
                lock_outside.canonicalize().unwrap().display()
            )
        );
    }
}

#[cfg(unix)]
/// Runs `tar` (the system's, not the engine's) with `args`.
fn system_tar(args: &[&str]) {
    let status = std::process::Command::new("tar")
        .args(args)
        .status()
        .expect("tar");
    assert!(status.success(), "tar {args:?}");
}

#[cfg(unix)]
#[test]
fn a_tampered_or_hostile_archive_is_refused() {
    let s = Setup::new();
    s.sign("key");
    let archive = s.path("copy.twpack");
    assert_eq!(s.run(&["pack", "build", &s.pack(), "-o", &archive]).code, 0);
    // Unpacked with the system's tar, one file changed, packed again: the lock inside names it.
    let unpacked = s.tmp.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let dir = unpacked.display().to_string();
    system_tar(&["-xzf", &archive, "-C", &dir]);
    let tampered = rule().replace("\"low\"", "\"info\"");
    std::fs::write(unpacked.join("copy.rego"), &tampered).unwrap();
    let repacked = s.path("tampered.twpack");
    let files = ["copy.rego", "pack.lock", "pack.sig", "pack.toml"];
    system_tar(&[&["-czf", &repacked, "-C", &dir][..], &files[..]].concat());
    let run = s.scan(&["--rules", &repacked]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{repacked}` refused:\n  - `copy.rego` was changed after the pack \
             was locked: `pack.lock` says `{}`, the file is `{}`\n",
            sha256(rule().as_bytes()),
            sha256(tampered.as_bytes())
        )
    );
    // A symbolic link inside an archive is refused before anything is read through it.
    std::os::unix::fs::symlink("/etc/passwd", unpacked.join("evil.rego")).unwrap();
    let evil = s.path("evil.twpack");
    system_tar(&["-czf", &evil, "-C", &dir, "pack.toml", "evil.rego"]);
    let run = s.scan(&["--rules", &evil]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: rule pack `{evil}` refused:\n  - archive entry `evil.rego` is a symbolic \
             link: a pack archive holds regular files only\n"
        )
    );
}
