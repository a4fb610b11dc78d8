//! `dist/install`, the first step of `action.yml`, run as a real bash subprocess.
//!
//! Each test builds a release archive around the freshly built `sdd-publish` binary, writes a
//! sha256sums file for it and points the installer's test hooks (`SDD_PUBLISH_DIST_URL`,
//! `SDD_PUBLISH_SHA256SUMS`) at them, so the real download + verify + unpack + cache path
//! runs. The environment is cleared: only what a runner would set is passed in.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support;

const LINUX_X64: &str = "sdd-publish-x86_64-unknown-linux-musl.tar.gz";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn file_sha256(path: &Path) -> String {
    sha256_hex(&fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
}

/// A `.tar.gz` holding `member` (with `contents`, mode 755) at its root.
fn tar_gz(member: &str, contents: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, member, contents).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

/// A `.zip` holding `member` at its root (the Windows archive layout).
fn zip_archive(member: &str, contents: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file(member, options).unwrap();
    zip.write_all(contents).unwrap();
    zip.finish().unwrap().into_inner()
}

/// A fake release: a directory of archives plus a sha256sums file listing them.
struct Release {
    _tmp: TempDir,
    dir: PathBuf,
    sums: PathBuf,
    binary_sha256: String,
}

impl Release {
    /// The Linux x86_64 archive around the real, freshly built binary.
    fn linux() -> Release {
        let binary = fs::read(support::sdd_publish_bin()).expect("read the built sdd-publish");
        Release::with(&[(LINUX_X64, "sdd-publish", &binary)])
    }

    fn with(archives: &[(&str, &str, &[u8])]) -> Release {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("release");
        fs::create_dir(&dir).unwrap();
        let mut sums = String::new();
        let mut binary_sha256 = String::new();
        for (name, member, contents) in archives {
            let bytes = if name.ends_with(".zip") {
                zip_archive(member, contents)
            } else {
                tar_gz(member, contents)
            };
            fs::write(dir.join(name), &bytes).unwrap();
            sums.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
            binary_sha256 = sha256_hex(contents);
        }
        let sums_path = tmp.path().join("sha256sums");
        fs::write(&sums_path, sums).unwrap();
        Release {
            _tmp: tmp,
            dir,
            sums: sums_path,
            binary_sha256,
        }
    }

    fn archive_sha256(&self, name: &str) -> String {
        file_sha256(&self.dir.join(name))
    }
}

/// One runner's view: a tool cache, a GITHUB_OUTPUT file and the environment to run with.
struct Runner {
    tmp: TempDir,
    env: HashMap<String, String>,
}

impl Runner {
    fn new() -> Runner {
        let tmp = TempDir::new().unwrap();
        fs::create_dir(tmp.path().join("toolcache")).unwrap();
        let mut env = HashMap::new();
        for key in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "TMPDIR",
        ] {
            if let Some(value) = std::env::var_os(key) {
                env.insert(key.to_string(), value.to_string_lossy().into_owned());
            }
        }
        let mut runner = Runner { tmp, env };
        let cache = runner.tool_cache();
        let output = runner.tmp.path().join("github_output");
        runner
            .set("RUNNER_OS", "Linux")
            .set("RUNNER_ARCH", "X64")
            .set("RUNNER_TOOL_CACHE", cache.to_str().unwrap())
            .set("GITHUB_OUTPUT", output.to_str().unwrap())
            .set("GITHUB_ACTION_PATH", support::repo_root().to_str().unwrap());
        runner
    }

    fn set(&mut self, key: &str, value: &str) -> &mut Runner {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    fn unset(&mut self, key: &str) -> &mut Runner {
        self.env.remove(key);
        self
    }

    fn release(&mut self, release: &Release) -> &mut Runner {
        self.set("SDD_PUBLISH_DIST_URL", release.dir.to_str().unwrap())
            .set("SDD_PUBLISH_SHA256SUMS", release.sums.to_str().unwrap())
    }

    fn tool_cache(&self) -> PathBuf {
        self.tmp.path().join("toolcache")
    }

    fn cache_dir(&self, triple: &str) -> PathBuf {
        self.tool_cache()
            .join("sdd-publish")
            .join(pinned_version())
            .join(triple)
    }

    fn github_output(&self) -> String {
        fs::read_to_string(self.tmp.path().join("github_output")).unwrap_or_default()
    }

    /// Put a directory first on PATH (for fake tools).
    fn prepend_path(&mut self, dir: &Path) -> &mut Runner {
        let path = format!(
            "{}:{}",
            dir.display(),
            self.env.get("PATH").map_or("", |p| p)
        );
        self.set("PATH", &path)
    }

    /// PATH without any directory that holds a `cargo`.
    fn without_cargo(&mut self) -> &mut Runner {
        let path = self.env.get("PATH").cloned().unwrap_or_default();
        let kept: Vec<&str> = path
            .split(':')
            .filter(|d| !Path::new(d).join("cargo").exists())
            .collect();
        self.set("PATH", &kept.join(":"))
    }

    fn install(&self) -> Run {
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(support::repo_root().join("dist/install"))
            .env_clear()
            .envs(&self.env)
            .current_dir(self.tmp.path())
            .output()
            .expect("run bash dist/install");
        Run::new(output, started.elapsed().as_secs_f64())
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn new(output: Output, secs: f64) -> Run {
        let run = Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        eprintln!(
            "dist/install exited {:?} after {secs:.1}s\n{}",
            run.code,
            run.transcript()
        );
        run
    }

    fn transcript(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}---", self.stdout, self.stderr)
    }

    fn ok(&self) -> PathBuf {
        assert_eq!(
            self.code,
            Some(0),
            "dist/install failed\n{}",
            self.transcript()
        );
        let last = self
            .stdout
            .lines()
            .last()
            .expect("dist/install printed no binary path");
        PathBuf::from(last)
    }

    fn failed(&self) -> &str {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "dist/install should have failed\n{}",
            self.transcript()
        );
        assert!(
            self.stdout.trim().is_empty(),
            "a failed install printed a path\n{}",
            self.transcript()
        );
        &self.stderr
    }
}

fn pinned_version() -> String {
    fs::read_to_string(support::repo_root().join("dist/version"))
        .unwrap()
        .trim()
        .to_string()
}

fn run_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .expect("run the installed binary");
    assert!(
        out.status.success(),
        "{} --version failed: {out:?}",
        bin.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn installs_from_a_local_directory_and_reuses_the_cache() {
    let release = Release::linux();
    let mut runner = Runner::new();
    runner.release(&release);

    let bin = runner.install().ok();
    let expected = runner
        .cache_dir("x86_64-unknown-linux-musl")
        .join("bin/sdd-publish");
    assert_eq!(bin, expected);
    assert_eq!(file_sha256(&bin), release.binary_sha256);
    assert!(run_version(&bin).contains("sdd-publish"));
    assert_eq!(runner.github_output(), format!("bin={}\n", bin.display()));

    // Second run: the source is gone, the cached (and re-verified) binary is used.
    fs::remove_dir_all(&release.dir).unwrap();
    let run = runner.install();
    assert_eq!(run.ok(), expected);
    assert!(run.stderr.contains("using cached"), "{}", run.transcript());
    assert!(run_version(&expected).contains("sdd-publish"));
}

#[test]
fn accepts_a_file_url() {
    let release = Release::linux();
    let mut runner = Runner::new();
    runner.release(&release);
    runner.set(
        "SDD_PUBLISH_DIST_URL",
        &format!("file://{}", release.dir.display()),
    );
    let bin = runner.install().ok();
    assert_eq!(file_sha256(&bin), release.binary_sha256);
}

/// A loopback HTTP server for a directory. The first `fail_first` requests get a 503, so the
/// installer's retries are exercised too. Counts every request.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(dir: PathBuf, fail_first: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/releases/v1",
        listener.local_addr().unwrap().port()
    );
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let _ = answer(stream, &dir, n < fail_first);
        }
    });
    Server { url, requests }
}

fn answer(mut stream: TcpStream, dir: &Path, fail: bool) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let name = path.strip_prefix("/releases/v1/").unwrap_or("");
    let file = dir.join(name);
    let (status, body) = if fail {
        ("503 Service Unavailable", b"busy".to_vec())
    } else if !name.is_empty() && !name.contains('/') && file.is_file() {
        let mut body = Vec::new();
        fs::File::open(&file)?.read_to_end(&mut body)?;
        ("200 OK", body)
    } else {
        ("404 Not Found", b"not found".to_vec())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

#[test]
fn downloads_over_loopback_http_and_retries_a_transient_error() {
    let release = Release::linux();
    let server = serve(release.dir.clone(), 1);
    let mut runner = Runner::new();
    runner
        .release(&release)
        .set("SDD_PUBLISH_DIST_URL", &server.url);

    let bin = runner.install().ok();
    assert_eq!(file_sha256(&bin), release.binary_sha256);
    assert!(run_version(&bin).contains("sdd-publish"));
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        2,
        "one 503, then the archive"
    );
}

#[test]
fn refuses_an_archive_whose_sha256_does_not_match() {
    let release = Release::linux();
    let actual = release.archive_sha256(LINUX_X64);
    let wrong = sha256_hex(b"something else");
    fs::write(&release.sums, format!("{wrong}  {LINUX_X64}\n")).unwrap();
    let mut runner = Runner::new();
    runner.release(&release).set("GITHUB_ACTIONS", "true");

    let run = runner.install();
    let stderr = run.failed();
    assert!(stderr.contains("::error::"), "{}", run.transcript());
    assert!(
        stderr.contains(&wrong),
        "expected hash not named\n{}",
        run.transcript()
    );
    assert!(
        stderr.contains(&actual),
        "actual hash not named\n{}",
        run.transcript()
    );
    assert!(
        stderr.contains(LINUX_X64),
        "archive not named\n{}",
        run.transcript()
    );
    assert_eq!(
        files_under(&runner.tool_cache()),
        Vec::<PathBuf>::new(),
        "something was installed"
    );
    assert!(runner.github_output().is_empty());
}

#[test]
fn refuses_to_download_without_a_sha256_entry() {
    let release = Release::linux();
    let server = serve(release.dir.clone(), 0);
    // An entry for another archive only.
    let other = release.archive_sha256(LINUX_X64);
    fs::write(
        &release.sums,
        format!("{other}  sdd-publish-aarch64-apple-darwin.tar.gz\n"),
    )
    .unwrap();
    let mut runner = Runner::new();
    runner
        .release(&release)
        .set("SDD_PUBLISH_DIST_URL", &server.url);

    let run = runner.install();
    let stderr = run.failed();
    assert!(
        stderr.starts_with("error: ") || stderr.contains("\nerror: "),
        "{}",
        run.transcript()
    );
    assert!(
        stderr.contains("no sha256 entry") && stderr.contains(LINUX_X64),
        "{}",
        run.transcript()
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "downloaded an unverifiable archive"
    );
    assert_eq!(files_under(&runner.tool_cache()), Vec::<PathBuf>::new());
}

#[test]
fn refuses_plain_http_to_other_hosts() {
    let release = Release::linux();
    let mut runner = Runner::new();
    runner
        .release(&release)
        .set("SDD_PUBLISH_DIST_URL", "http://example.com/releases");
    let run = runner.install();
    assert!(
        run.failed().contains("only https://"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_tampered_cache_is_refused_and_replaced() {
    let release = Release::linux();
    let mut runner = Runner::new();
    runner.release(&release);
    let bin = runner.install().ok();

    fs::write(&bin, "#!/bin/sh\necho evil\n").unwrap();
    let run = runner.install();
    assert_eq!(run.ok(), bin);
    assert!(run.stderr.contains("tampered"), "{}", run.transcript());
    assert_eq!(
        file_sha256(&bin),
        release.binary_sha256,
        "the tampered binary was kept"
    );

    // The binary replaced, with nothing to reinstall from: the cached archive is checked
    // against the committed sha256 and the binary unpacked from it again.
    fs::write(&bin, "#!/bin/sh\necho evil\n").unwrap();
    fs::remove_dir_all(&release.dir).unwrap();
    let run = runner.install();
    assert_eq!(run.ok(), bin);
    assert_eq!(file_sha256(&bin), release.binary_sha256);
    assert!(run.stderr.contains("tampered"), "{}", run.transcript());
}

#[test]
fn a_cache_replaced_whole_is_refused_against_the_committed_sha256() {
    // What an attacker with write access to the tool cache can do: replace the binary, the
    // archive kept beside it, and any record written there, all consistently. Only
    // dist/sha256sums (committed, read from the action's checkout) decides.
    let release = Release::linux();
    let mut runner = Runner::new();
    runner.release(&release);
    let bin = runner.install().ok();
    let dir = runner.cache_dir("x86_64-unknown-linux-musl");
    let evil = b"#!/bin/sh\necho evil\n";
    let evil_archive = tar_gz("sdd-publish", evil);
    fs::write(&bin, evil).unwrap();
    fs::write(
        dir.join("sdd-publish-x86_64-unknown-linux-musl.tar.gz"),
        &evil_archive,
    )
    .unwrap();
    fs::write(
        dir.join("installed.sha256"),
        format!("{} {}\n", sha256_hex(evil), sha256_hex(&evil_archive)),
    )
    .unwrap();

    // With the release reachable: refused, downloaded again, the pinned binary installed.
    let run = runner.install();
    assert_eq!(run.ok(), bin);
    assert!(run.stderr.contains("tampered"), "{}", run.transcript());
    assert_eq!(file_sha256(&bin), release.binary_sha256);

    // Poisoned again with nothing to download: refused, and nothing of it is left to run.
    fs::write(&bin, evil).unwrap();
    fs::write(
        dir.join("sdd-publish-x86_64-unknown-linux-musl.tar.gz"),
        &evil_archive,
    )
    .unwrap();
    fs::remove_dir_all(&release.dir).unwrap();
    let run = runner.install();
    run.failed();
    assert!(run.stderr.contains("tampered"), "{}", run.transcript());
    assert!(!bin.exists(), "the poisoned binary is still in the cache");
}

#[test]
fn maps_runner_platforms_to_release_archives() {
    // With an empty sums file and an explicit download source, the installer refuses and
    // names the archive it looked for: enough to check the mapping without any download.
    let cases: &[(Option<&str>, Option<&str>, &str)] = &[
        (
            Some("Linux"),
            Some("X64"),
            "sdd-publish-x86_64-unknown-linux-musl.tar.gz",
        ),
        (
            Some("Linux"),
            Some("ARM64"),
            "sdd-publish-aarch64-unknown-linux-musl.tar.gz",
        ),
        (
            Some("macOS"),
            Some("X64"),
            "sdd-publish-x86_64-apple-darwin.tar.gz",
        ),
        (
            Some("macOS"),
            Some("ARM64"),
            "sdd-publish-aarch64-apple-darwin.tar.gz",
        ),
        (
            Some("Windows"),
            Some("X64"),
            "sdd-publish-x86_64-pc-windows-msvc.zip",
        ),
        // No aarch64 Windows build: the x64 one runs under emulation.
        (
            Some("Windows"),
            Some("ARM64"),
            "sdd-publish-x86_64-pc-windows-msvc.zip",
        ),
    ];
    let tmp = TempDir::new().unwrap();
    let empty = tmp.path().join("sha256sums");
    fs::write(&empty, "").unwrap();
    for (os, arch, archive) in cases {
        let mut runner = Runner::new();
        runner
            .set("SDD_PUBLISH_DIST_URL", tmp.path().to_str().unwrap())
            .set("SDD_PUBLISH_SHA256SUMS", empty.to_str().unwrap());
        match os {
            Some(os) => runner.set("RUNNER_OS", os),
            None => runner.unset("RUNNER_OS"),
        };
        match arch {
            Some(arch) => runner.set("RUNNER_ARCH", arch),
            None => runner.unset("RUNNER_ARCH"),
        };
        let run = runner.install();
        assert!(
            run.failed().contains(archive),
            "{os:?}/{arch:?} should want {archive}\n{}",
            run.transcript()
        );
    }

    // Outside Actions (no RUNNER_OS/RUNNER_ARCH) the host is detected with uname.
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        let mut runner = Runner::new();
        runner
            .unset("RUNNER_OS")
            .unset("RUNNER_ARCH")
            .set("SDD_PUBLISH_DIST_URL", tmp.path().to_str().unwrap())
            .set("SDD_PUBLISH_SHA256SUMS", empty.to_str().unwrap());
        let run = runner.install();
        assert!(run.failed().contains(LINUX_X64), "{}", run.transcript());
    }
}

#[test]
fn installs_the_windows_zip() {
    // The Windows layout (zip, `.exe`) unpacked on this host: the "exe" is the host binary.
    let binary = fs::read(support::sdd_publish_bin()).unwrap();
    let zip = "sdd-publish-x86_64-pc-windows-msvc.zip";
    let release = Release::with(&[(zip, "sdd-publish.exe", &binary)]);
    let mut runner = Runner::new();
    runner
        .release(&release)
        .set("RUNNER_OS", "Windows")
        .set("RUNNER_ARCH", "ARM64");
    let bin = runner.install().ok();
    assert_eq!(
        bin,
        runner
            .cache_dir("x86_64-pc-windows-msvc")
            .join("bin/sdd-publish.exe")
    );
    assert_eq!(file_sha256(&bin), release.binary_sha256);
    assert!(run_version(&bin).contains("sdd-publish"));
}

#[test]
fn an_archive_without_the_binary_at_its_root_is_refused() {
    let release = Release::with(&[(LINUX_X64, "bin/sdd-publish", b"#!/bin/sh\n")]);
    let mut runner = Runner::new();
    runner.release(&release);
    let run = runner.install();
    assert!(
        run.failed().contains("no sdd-publish at its root"),
        "{}",
        run.transcript()
    );
    assert_eq!(files_under(&runner.tool_cache()), Vec::<PathBuf>::new());
}

#[test]
fn the_developer_hook_uses_a_given_binary() {
    let bin = support::sdd_publish_bin();
    let mut runner = Runner::new();
    runner.set("SDD_PUBLISH_BINARY", bin.to_str().unwrap());
    assert_eq!(runner.install().ok(), bin);
    assert_eq!(runner.github_output(), format!("bin={}\n", bin.display()));
}

#[test]
fn unknown_platform_without_cargo_says_what_is_missing() {
    let mut runner = Runner::new();
    runner
        .set("RUNNER_OS", "Plan9")
        .set("GITHUB_ACTIONS", "true")
        .without_cargo();
    let run = runner.install();
    let stderr = run.failed();
    assert!(stderr.contains("::error::"), "{}", run.transcript());
    for needle in ["Plan9/X64", "cargo is not on PATH", "rustup"] {
        assert!(
            stderr.contains(needle),
            "message lacks {needle:?}\n{}",
            run.transcript()
        );
    }
}

/// A `cargo` stand-in that records its arguments and installs a tiny script as the binary.
fn fake_cargo(dir: &Path) -> PathBuf {
    let log = dir.join("cargo-args");
    let script = format!(
        r#"#!/usr/bin/env bash
set -eu
printf '%s\n' "$@" > '{log}'
root=''
while [ $# -gt 0 ]; do
  if [ "$1" = --root ]; then root=$2; fi
  shift
done
mkdir -p "$root/bin"
printf '#!/bin/sh\necho "sdd-publish 0.0.0 (fake cargo build)"\n' > "$root/bin/sdd-publish"
chmod +x "$root/bin/sdd-publish"
"#,
        log = log.display()
    );
    let cargo = dir.join("cargo");
    fs::write(&cargo, script).unwrap();
    let mut perms = fs::metadata(&cargo).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&cargo, perms).unwrap();
    log
}

#[test]
fn without_a_pinned_release_it_builds_from_source_with_cargo_install() {
    // The state before the first release: dist/sha256sums has no entry for this platform,
    // and the default (GitHub release) source is used. A recording `cargo` stands in, and the
    // "action checkout" is a scratch crate, so a change to its sources can be made.
    let tools = TempDir::new().unwrap();
    let log = fake_cargo(tools.path());
    let empty = tools.path().join("sha256sums");
    fs::write(&empty, "").unwrap();
    let checkout = tools.path().join("action");
    fs::create_dir_all(checkout.join("src")).unwrap();
    fs::write(
        checkout.join("Cargo.toml"),
        "[package]\nname = \"sdd-publish\"\n",
    )
    .unwrap();
    fs::write(checkout.join("src/main.rs"), "fn main() {}\n").unwrap();
    let mut runner = Runner::new();
    runner
        .set("SDD_PUBLISH_SHA256SUMS", empty.to_str().unwrap())
        .set("GITHUB_ACTION_PATH", checkout.to_str().unwrap())
        .prepend_path(tools.path());

    let run = runner.install();
    let bin = run.ok();
    assert_eq!(
        bin,
        runner
            .cache_dir("x86_64-unknown-linux-musl-source")
            .join("bin/sdd-publish")
    );
    assert!(
        run.stderr
            .contains("no entry for sdd-publish-x86_64-unknown-linux-musl.tar.gz"),
        "{}",
        run.transcript()
    );
    let args: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        &args[..4],
        ["install", "--locked", "--path", checkout.to_str().unwrap()]
    );
    assert!(args.iter().any(|a| a == "--root"), "{args:?}");
    assert!(run_version(&bin).contains("fake cargo build"));

    // Never reused: nothing committed could verify a cached build, so a second run builds
    // again, whatever the cache holds (here: a binary an attacker put there).
    fs::remove_file(&log).unwrap();
    fs::write(&bin, "#!/bin/sh\necho evil\n").unwrap();
    assert_eq!(runner.install().ok(), bin);
    assert!(log.exists(), "a cached source build was reused");
    assert!(run_version(&bin).contains("fake cargo build"));
}

/// The real fallback: `cargo install --locked --path <repo>` for an unknown platform. Slow on
/// a cold target dir (a release build); `target/installer-fallback` keeps reruns incremental.
#[test]
fn unknown_platform_with_cargo_builds_from_source() {
    let mut runner = Runner::new();
    let target = support::repo_root().join("target/installer-fallback");
    runner
        .set("RUNNER_OS", "Plan9")
        .set("RUNNER_ARCH", "MIPS")
        .set("CARGO_TARGET_DIR", target.to_str().unwrap());
    let started = Instant::now();
    let run = runner.install();
    eprintln!(
        "cargo install fallback took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let bin = run.ok();
    assert_eq!(
        bin,
        runner
            .cache_dir("Plan9-MIPS-source")
            .join("bin/sdd-publish")
    );
    assert!(
        run.stderr
            .contains("no release build for platform Plan9/MIPS"),
        "{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains("cargo install --locked --path"),
        "{}",
        run.transcript()
    );
    assert!(run_version(&bin).contains("sdd-publish"));
}
