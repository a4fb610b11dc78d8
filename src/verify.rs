//! After the upload: prove the release installs. A fresh virtual environment, exactly
//! `name==version` from the target's index with no cache, then an optional smoke command.
//!
//! Uses `uv` when it is on PATH (fast, and its first-index strategy keeps a TestPyPI install
//! from silently taking a same-named package from the PyPI extra index), else `python -m venv`
//! and pip. Waiting until the index serves the files is a separate step (it needs the index
//! query), so this stage assumes the files are there.
//!
//! [`preflight`] does the same before the upload, from the local files; both go through
//! [`Venv`], the one place that makes an environment, installs into it and runs in it.

pub mod preflight;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// How to make the environment and install into it.
#[derive(Debug, Clone, PartialEq)]
pub enum Installer {
    Uv(PathBuf),
    Pip { python: PathBuf },
}

impl Installer {
    /// `uv` if on PATH, else `python3` (`python` on Windows). `None` when neither is there.
    pub fn detect(path_var: Option<&std::ffi::OsStr>) -> Option<Installer> {
        let find = |name: &str| -> Option<PathBuf> {
            let exe = if cfg!(windows) {
                format!("{name}.exe")
            } else {
                name.to_owned()
            };
            std::env::split_paths(path_var?)
                .map(|d| d.join(&exe))
                .find(|p| p.is_file())
        };
        if let Some(uv) = find("uv") {
            return Some(Installer::Uv(uv));
        }
        let python = if cfg!(windows) { "python" } else { "python3" };
        find(python).map(|python| Installer::Pip { python })
    }

    fn label(&self) -> &'static str {
        match self {
            Installer::Uv(_) => "uv",
            Installer::Pip { .. } => "pip",
        }
    }
}

#[derive(Debug, Clone)]
pub struct InstallCheck {
    pub installer: Installer,
    pub name: String,
    pub version: String,
    /// The target's simple index, e.g. `https://test.pypi.org/simple/`.
    pub index_url: String,
    /// Where dependencies come from when the target is TestPyPI (PyPI's simple index).
    pub extra_index_url: Option<String>,
    /// Each run through the shell inside the environment, in order, e.g. `improved-sdd --help`
    /// then `improved-sdd --version`; the first that fails stops the check.
    pub commands: Vec<String>,
    /// A scratch directory; the environment is made inside it.
    pub workdir: PathBuf,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstallReport {
    pub installer: &'static str,
    /// Each command's output (stdout and stderr as they came), trimmed, in order.
    pub command_outputs: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("could not run `{program}`: {source}. Install Python 3 (or uv) on the runner, e.g. with actions/setup-python, or set `verify-install: false`")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("could not create a scratch directory for the install check in `{}`: {source}. Point RUNNER_TEMP (TMPDIR outside Actions) at a writable directory, or set `verify-install: false`", .dir.display())]
    Scratch {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("creating a virtual environment with {installer} failed:\n{output}")]
    Venv {
        installer: &'static str,
        output: String,
    },
    #[error("`{requirement}` did not install from {index} with {installer}:\n{output}\nThe files are uploaded; check that the index serves them (a new release can take a moment to appear on a mirror) and that its dependencies resolve")]
    Install {
        requirement: String,
        index: String,
        installer: &'static str,
        output: String,
    },
    #[error("`{command}` exited with {status} after installing `{requirement}`:\n{output}")]
    Command {
        command: String,
        requirement: String,
        status: String,
        output: String,
    },
    #[error("the index did not serve {} within {secs} s (`verify-timeout`); the upload was accepted, so the index may be slow to publish — check {page}", missing.join(", "))]
    NotServed {
        missing: Vec<String>,
        secs: u64,
        page: String,
    },
    #[error("the index serves `{filename}` with sha256 {served}, but the uploaded file has {uploaded}: the index holds different bytes than this run built. Do not rely on this release; investigate (a concurrent publish of a rebuilt file?)")]
    HashMismatch {
        filename: String,
        uploaded: String,
        served: String,
    },
    #[error("`{step}` did not finish within {secs} s (`verify-timeout`); raise `verify-timeout` if the index or the installer is just slow, or set `verify-install: false` to check only that the index serves the files")]
    Timeout { step: String, secs: u64 },
}

/// What went wrong running a tool in a scratch environment, before its own verdict: the
/// callers (verification, the pre-flight) say which input fixes it.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{step}` did not finish within {secs} s")]
    Timeout { step: String, secs: u64 },
    #[error("could not create a scratch directory in `{}`: {source}", .dir.display())]
    Scratch {
        dir: PathBuf,
        source: std::io::Error,
    },
}

impl From<EnvError> for VerifyError {
    fn from(e: EnvError) -> VerifyError {
        match e {
            EnvError::Spawn { program, source } => VerifyError::Spawn { program, source },
            EnvError::Timeout { step, secs } => VerifyError::Timeout { step, secs },
            EnvError::Scratch { dir, source } => VerifyError::Scratch { dir, source },
        }
    }
}

/// The last lines of a tool's output: enough to see the cause, not a page of noise.
fn tail(out: &std::process::Output, lines: usize) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    last_lines(&text, lines)
}

fn last_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn run(
    mut cmd: Command,
    program: &str,
    step: &str,
    timeout: Duration,
) -> Result<std::process::Output, EnvError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| EnvError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(source)) => Err(EnvError::Spawn {
            program: program.to_owned(),
            source,
        }),
        Err(_) => Err(EnvError::Timeout {
            step: step.to_owned(),
            secs: timeout.as_secs(),
        }),
    }
}

/// Variables that would send the install to another index or a local wheelhouse, so that
/// it could pass without the index serving the release.
const INDEX_VARS: &[&str] = &[
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_OFFLINE",
    "UV_EXCLUDE_NEWER",
];

/// The environment of every child of this stage (`env` is this process's). Config files can
/// name indexes too: pip reads none when `PIP_CONFIG_FILE` is the null device, uv none with
/// `UV_NO_CONFIG` (nor the workspace's pyproject.toml). And what runs here is code from the
/// index (an sdist dependency's build, the smoke command), so it gets no token or password
/// of this job (`INPUT_*-TOKEN`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `GITHUB_TOKEN`, ...).
fn isolate(c: &mut Command, env: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>) {
    for k in INDEX_VARS {
        c.env_remove(k);
    }
    c.env(
        "PIP_CONFIG_FILE",
        if cfg!(windows) { "nul" } else { "/dev/null" },
    )
    .env("UV_NO_CONFIG", "1");
    for (k, _) in env {
        if crate::secret::is_credential_var(&k) {
            c.env_remove(&k);
        }
    }
}

fn venv_bin(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts")
    } else {
        venv.join("bin")
    }
}

/// Where an install takes the distributions from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sources<'a> {
    /// The target's simple index; for TestPyPI, PyPI too for the dependencies.
    Index {
        url: &'a str,
        extra: Option<&'a str>,
    },
    /// Only the files in this folder: no index, no dependencies, no builds.
    Files(&'a Path),
}

/// How a command ended.
#[derive(Debug, Clone)]
pub(crate) struct Ran {
    pub success: bool,
    /// `exit status 1`, `killed by signal 9`.
    pub status: String,
    /// The last lines of its output (stdout and stderr as they came).
    pub tail: String,
}

/// A fresh virtual environment in a scratch directory, made by uv when it is on PATH, else
/// by `python -m venv`; everything it runs is isolated (see [`isolate`]) and bounded by
/// `timeout`. Verification and the pre-flight both install and run through it.
#[derive(Debug)]
pub(crate) struct Venv {
    installer: Installer,
    dir: PathBuf,
    timeout: Duration,
}

impl Venv {
    /// Make the environment at `dir`. `Ok(Err(output))` when the tool ran and failed.
    pub(crate) async fn create(
        installer: &Installer,
        dir: PathBuf,
        timeout: Duration,
    ) -> Result<Result<Venv, String>, EnvError> {
        let mut make = match installer {
            Installer::Uv(uv) => {
                let mut c = Command::new(uv);
                c.arg("venv").arg("--quiet").arg(&dir);
                c
            }
            Installer::Pip { python } => {
                let mut c = Command::new(python);
                c.args(["-m", "venv"]).arg(&dir);
                c
            }
        };
        isolate(&mut make, std::env::vars_os());
        let venv = Venv {
            installer: installer.clone(),
            dir,
            timeout,
        };
        let out = run(
            make,
            &venv.program(),
            "create the virtual environment",
            timeout,
        )
        .await?;
        Ok(if out.status.success() {
            Ok(venv)
        } else {
            Err(tail(&out, 20))
        })
    }

    fn program(&self) -> String {
        match &self.installer {
            Installer::Uv(p) | Installer::Pip { python: p } => p.display().to_string(),
        }
    }

    /// The environment's own interpreter.
    pub(crate) fn python(&self) -> PathBuf {
        venv_bin(&self.dir).join(if cfg!(windows) {
            "python.exe"
        } else {
            "python"
        })
    }

    /// Install `args` (requirements, `-r FILE`) from `from`, with no cache. `Ok(Err(tail))`
    /// when the installer ran and failed.
    pub(crate) async fn install(
        &self,
        args: &[std::ffi::OsString],
        from: Sources<'_>,
        no_deps: bool,
        step: &str,
    ) -> Result<Result<(), String>, EnvError> {
        let mut install = match &self.installer {
            Installer::Uv(uv) => {
                let mut c = Command::new(uv);
                c.args(["pip", "install", "--no-cache", "--python"])
                    .arg(self.python());
                c
            }
            Installer::Pip { .. } => {
                let mut c = Command::new(self.python());
                c.args([
                    "-m",
                    "pip",
                    "install",
                    "--no-cache-dir",
                    "--disable-pip-version-check",
                ]);
                c
            }
        };
        isolate(&mut install, std::env::vars_os());
        match (&self.installer, from) {
            (_, Sources::Files(dir)) => {
                install.arg("--no-index").arg("--find-links").arg(dir);
                match self.installer {
                    Installer::Uv(_) => install.arg("--no-build"),
                    Installer::Pip { .. } => install.arg("--only-binary=:all:"),
                };
            }
            // uv ranks `--index` above `--default-index` and stops at the first index that has
            // a package: the target wins for our project, PyPI serves the dependencies.
            (
                Installer::Uv(_),
                Sources::Index {
                    url,
                    extra: Some(extra),
                },
            ) => {
                install
                    .arg("--index")
                    .arg(url)
                    .arg("--default-index")
                    .arg(extra);
            }
            (_, Sources::Index { url, extra }) => {
                install.arg("--index-url").arg(url);
                if let Some(extra) = extra {
                    install.arg("--extra-index-url").arg(extra);
                }
            }
        }
        if no_deps {
            install.arg("--no-deps");
        }
        install.args(args);
        let out = run(install, &self.program(), step, self.timeout).await?;
        Ok(if out.status.success() {
            Ok(())
        } else {
            Err(tail(&out, 20))
        })
    }

    /// A command line run through the shell with the environment first on PATH, as an
    /// activated environment would, in `cwd`, with `env` added.
    pub(crate) fn shell(
        &self,
        command: &str,
        cwd: &Path,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Command {
        let bin = venv_bin(&self.dir);
        let path = std::env::join_paths(
            std::iter::once(bin).chain(
                std::env::var_os("PATH")
                    .iter()
                    .flat_map(std::env::split_paths),
            ),
        )
        .unwrap_or_default();
        let mut c = Command::new(if cfg!(windows) { "bash" } else { "sh" });
        isolate(&mut c, std::env::vars_os());
        // stderr joins stdout, so the output reads in the order it was written.
        c.arg("-c")
            .arg(format!("exec 2>&1\n{command}"))
            .env("PATH", path)
            .env("VIRTUAL_ENV", &self.dir)
            .env_remove("PYTHONHOME")
            .current_dir(cwd);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Run a command (see [`Venv::shell`]), handing each line of its output to `line` as it
    /// comes, within the timeout.
    pub(crate) async fn run_command(
        &self,
        command: &str,
        cwd: &Path,
        env: &[(&str, &std::ffi::OsStr)],
        line: &dyn Fn(&str),
    ) -> Result<Ran, EnvError> {
        use tokio::io::AsyncBufReadExt;
        let mut c = self.shell(command, cwd, env);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let spawn = |source| EnvError::Spawn {
            program: if cfg!(windows) { "bash" } else { "sh" }.into(),
            source,
        };
        let mut child = c.spawn().map_err(spawn)?;
        let stdout = child.stdout.take();
        let mut kept: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        let work = async {
            if let Some(out) = stdout {
                let mut lines = tokio::io::BufReader::new(out).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    line(&l);
                    if kept.len() == 40 {
                        kept.pop_front();
                    }
                    kept.push_back(l);
                }
            }
            child.wait().await
        };
        let status = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(spawn(source)),
            Err(_) => {
                return Err(EnvError::Timeout {
                    step: command.to_owned(),
                    secs: self.timeout.as_secs(),
                })
            }
        };
        Ok(Ran {
            success: status.success(),
            status: exit_status(&status),
            tail: kept.into_iter().collect::<Vec<_>>().join("\n"),
        })
    }
}

/// `exit status 1`, or the signal that ended it.
fn exit_status(status: &std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    status.to_string()
}

/// What must be served: each file with the sha256 we uploaded (or found identical).
#[derive(Debug, Clone)]
pub struct ServeCheck {
    pub project: String,
    pub version: String,
    pub files: Vec<(String, String)>,
    pub timeout: Duration,
    /// First poll interval; doubles up to [`MAX_INTERVAL`].
    pub interval: Duration,
}

pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(15);

/// The index serves every file: after how long, and where (when it says).
#[derive(Debug, Clone)]
pub struct Served {
    pub after: Duration,
    /// File name -> URL.
    pub urls: std::collections::BTreeMap<String, String>,
}

/// Poll the index (caches bypassed) until every file is listed with its sha256: no fixed
/// sleep, so the stage ends as soon as the index has the release. A listed file whose hash
/// differs is an error at once; a file still missing at the deadline is `NotServed`.
pub async fn wait_until_served(
    query: &crate::index::IndexQuery,
    check: &ServeCheck,
    log: &dyn Fn(&str),
) -> Result<Served, VerifyError> {
    let started = std::time::Instant::now();
    let deadline = started + check.timeout;
    let mut interval = check.interval;
    let mut last_missing = usize::MAX;
    loop {
        // Every request ends by the deadline: an index that drips its page cannot stretch
        // `verify-timeout`.
        let listing = query
            .files_by(&check.project, &check.version, deadline)
            .await;
        let mut missing = Vec::new();
        match &listing {
            Ok(l) => {
                for (name, sha) in &check.files {
                    match l.files.get(name).and_then(|f| f.sha256.as_deref()) {
                        Some(served) if served.eq_ignore_ascii_case(sha) => {}
                        Some(served) => {
                            return Err(VerifyError::HashMismatch {
                                filename: name.clone(),
                                uploaded: sha.clone(),
                                served: served.to_owned(),
                            })
                        }
                        None => missing.push(name.clone()),
                    }
                }
            }
            Err(e) => {
                log(&format!("asking the index failed ({e}); asking again"));
                missing = check.files.iter().map(|(n, _)| n.clone()).collect();
            }
        }
        if missing.is_empty() {
            let took = started.elapsed();
            log(&format!(
                "the index serves all {} file(s) with the uploaded sha256 ({:.3} s)",
                check.files.len(),
                took.as_secs_f64()
            ));
            let urls = check
                .files
                .iter()
                .filter_map(|(name, _)| {
                    let f = listing.as_ref().ok()?.files.get(name)?;
                    Some((name.clone(), f.url.clone()?))
                })
                .collect();
            return Ok(Served { after: took, urls });
        }
        if missing.len() != last_missing {
            log(&format!(
                "waiting for the index to serve {}",
                missing.join(", ")
            ));
            last_missing = missing.len();
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return Err(VerifyError::NotServed {
                missing,
                secs: check.timeout.as_secs(),
                page: query.project_url(&check.project).to_string(),
            });
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 2).min(MAX_INTERVAL);
    }
}

/// A fresh directory under `base` for a scratch environment (removed on drop); `prefix`
/// names what it is for.
pub(crate) fn scratch_dir_for(base: &Path, prefix: &str) -> Result<tempfile::TempDir, EnvError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(base)
        .map_err(|source| EnvError::Scratch {
            dir: base.to_path_buf(),
            source,
        })
}

/// A fresh directory under `base` for the install check's environment (removed on drop).
pub(crate) fn scratch_dir(base: &Path) -> Result<tempfile::TempDir, VerifyError> {
    Ok(scratch_dir_for(base, "sdd-publish-verify")?)
}

/// Make the environment, install exactly `name==version` from the index, run the smoke
/// commands.
pub async fn install_and_smoke(check: &InstallCheck) -> Result<InstallReport, VerifyError> {
    let requirement = format!("{}=={}", check.name, check.version);
    let label = check.installer.label();
    let venv = match Venv::create(
        &check.installer,
        check.workdir.join("verify-venv"),
        check.timeout,
    )
    .await?
    {
        Ok(v) => v,
        Err(output) => {
            return Err(VerifyError::Venv {
                installer: label,
                output,
            })
        }
    };
    let from = Sources::Index {
        url: &check.index_url,
        extra: check.extra_index_url.as_deref(),
    };
    if let Err(output) = venv
        .install(
            &[requirement.clone().into()],
            from,
            false,
            &format!("install {requirement}"),
        )
        .await?
    {
        return Err(VerifyError::Install {
            requirement,
            index: check.index_url.clone(),
            installer: label,
            output,
        });
    }
    let mut command_outputs = Vec::new();
    for command in &check.commands {
        let ran = venv
            .run_command(command, &check.workdir, &[], &|_| {})
            .await?;
        if !ran.success {
            return Err(VerifyError::Command {
                command: command.clone(),
                requirement,
                status: ran.status,
                output: last_lines(&ran.tail, 20),
            });
        }
        command_outputs.push((command.clone(), ran.tail));
    }
    Ok(InstallReport {
        installer: label,
        command_outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_scratch_base_names_the_directory_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the directory should be fails even for root.
        let base = dir.path().join("not-a-dir");
        std::fs::write(&base, "").unwrap();
        let msg = scratch_dir(&base).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("in `{}`", base.display()))
                && msg.contains("RUNNER_TEMP")
                && msg.contains("verify-install: false")
                && !msg.contains("Install Python"),
            "{msg}"
        );
        assert!(scratch_dir(dir.path()).is_ok());
    }

    #[test]
    fn detect_prefers_uv_then_python() {
        let dir = tempfile::tempdir().unwrap();
        let none = Installer::detect(Some(dir.path().as_os_str()));
        assert_eq!(none, None);
        let py = dir.path().join("python3");
        std::fs::write(&py, "").unwrap();
        assert_eq!(
            Installer::detect(Some(dir.path().as_os_str())),
            Some(Installer::Pip { python: py })
        );
        let uv = dir.path().join("uv");
        std::fs::write(&uv, "").unwrap();
        assert_eq!(
            Installer::detect(Some(dir.path().as_os_str())),
            Some(Installer::Uv(uv))
        );
    }

    #[test]
    fn children_get_no_other_index_no_config_and_no_secret() {
        let mut c = Command::new("true");
        let env = [
            "INPUT_PYPI-TOKEN",
            "INPUT_PASSWORD",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "github_token",
            "HOME",
            "SSL_CERT_FILE",
        ]
        .map(|k| (k.into(), "v".into()));
        isolate(&mut c, env.into_iter());
        let set: std::collections::BTreeMap<String, Option<String>> = c
            .as_std()
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        for k in [
            "INPUT_PYPI-TOKEN",
            "INPUT_PASSWORD",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "github_token",
            "PIP_INDEX_URL",
            "PIP_FIND_LINKS",
            "UV_INDEX_STRATEGY",
        ] {
            assert_eq!(set.get(k), Some(&None), "{k} is not removed: {set:?}");
        }
        assert_eq!(set["UV_NO_CONFIG"].as_deref(), Some("1"));
        assert!(set["PIP_CONFIG_FILE"].is_some());
        // Everything else (a proxy's CA, HOME) passes through untouched.
        assert!(!set.contains_key("HOME") && !set.contains_key("SSL_CERT_FILE"));
    }

    #[tokio::test]
    async fn a_step_past_the_timeout_is_stopped_and_named() {
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 30"]);
        let err: VerifyError = run(c, "sh", "install x==1.0", Duration::from_millis(200))
            .await
            .unwrap_err()
            .into();
        assert_eq!(
            err.to_string(),
            "`install x==1.0` did not finish within 0 s (`verify-timeout`); raise `verify-timeout` if the index or the installer is just slow, or set `verify-install: false` to check only that the index serves the files"
        );
    }

    #[tokio::test]
    async fn a_missing_interpreter_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let check = InstallCheck {
            installer: Installer::Pip {
                python: dir.path().join("no-python"),
            },
            name: "x".into(),
            version: "1.0".into(),
            index_url: "http://127.0.0.1:9/simple/".into(),
            extra_index_url: None,
            commands: Vec::new(),
            workdir: dir.path().to_path_buf(),
            timeout: Duration::from_secs(5),
        };
        let err = install_and_smoke(&check).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no-python") && msg.contains("verify-install: false"),
            "{msg}"
        );
    }
}
