//! After the upload: prove the release installs. A fresh virtual environment, exactly
//! `name==version` from the target's index with no cache, then an optional smoke command.
//!
//! Uses `uv` when it is on PATH (fast, and its first-index strategy keeps a TestPyPI install
//! from silently taking a same-named package from the PyPI extra index), else `python -m venv`
//! and pip. Waiting until the index serves the files is a separate step (it needs the index
//! query), so this stage assumes the files are there.

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
    /// Run through the shell inside the environment, e.g. `improved-sdd --help`.
    pub command: Option<String>,
    /// A scratch directory; the environment is made inside it.
    pub workdir: PathBuf,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstallReport {
    pub installer: &'static str,
    /// The smoke command's output (stdout then stderr), trimmed.
    pub command_output: Option<String>,
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

/// The last lines of a tool's output: enough to see the cause, not a page of noise.
fn tail(out: &std::process::Output, lines: usize) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn run(
    mut cmd: Command,
    program: &str,
    step: &str,
    timeout: Duration,
) -> Result<std::process::Output, VerifyError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| VerifyError::Spawn {
        program: program.to_owned(),
        source,
    })?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(source)) => Err(VerifyError::Spawn {
            program: program.to_owned(),
            source,
        }),
        Err(_) => Err(VerifyError::Timeout {
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
        let name = k.to_string_lossy().to_ascii_uppercase();
        if name.ends_with("TOKEN") || name.ends_with("PASSWORD") {
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

/// Make the environment, install exactly `name==version`, run the smoke command.
/// A fresh directory under `base` for the install check's environment (removed on drop).
pub(crate) fn scratch_dir(base: &Path) -> Result<tempfile::TempDir, VerifyError> {
    tempfile::Builder::new()
        .prefix("sdd-publish-verify")
        .tempdir_in(base)
        .map_err(|source| VerifyError::Scratch {
            dir: base.to_path_buf(),
            source,
        })
}

pub async fn install_and_smoke(check: &InstallCheck) -> Result<InstallReport, VerifyError> {
    let venv = check.workdir.join("verify-venv");
    let requirement = format!("{}=={}", check.name, check.version);
    let label = check.installer.label();
    let python = venv_bin(&venv).join(if cfg!(windows) {
        "python.exe"
    } else {
        "python"
    });

    let (mut make, mut install) = match &check.installer {
        Installer::Uv(uv) => {
            let mut make = Command::new(uv);
            make.arg("venv").arg("--quiet").arg(&venv);
            let mut install = Command::new(uv);
            install
                .args(["pip", "install", "--no-cache", "--python"])
                .arg(&python);
            (make, install)
        }
        Installer::Pip { python: base } => {
            let mut make = Command::new(base);
            make.args(["-m", "venv"]).arg(&venv);
            let mut install = Command::new(&python);
            install.args([
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
            ]);
            (make, install)
        }
    };
    for c in [&mut make, &mut install] {
        isolate(c, std::env::vars_os());
    }
    let program = match &check.installer {
        Installer::Uv(p) | Installer::Pip { python: p } => p.display().to_string(),
    };
    let out = run(
        make,
        &program,
        "create the virtual environment",
        check.timeout,
    )
    .await?;
    if !out.status.success() {
        return Err(VerifyError::Venv {
            installer: label,
            output: tail(&out, 20),
        });
    }

    match (&check.installer, &check.extra_index_url) {
        // uv ranks `--index` above `--default-index` and stops at the first index that has
        // a package: the target wins for our project, PyPI serves the dependencies.
        (Installer::Uv(_), Some(extra)) => {
            install
                .arg("--index")
                .arg(&check.index_url)
                .arg("--default-index")
                .arg(extra);
        }
        (_, extra) => {
            install.arg("--index-url").arg(&check.index_url);
            if let Some(extra) = extra {
                install.arg("--extra-index-url").arg(extra);
            }
        }
    }
    install.arg(&requirement);
    let out = run(
        install,
        &program,
        &format!("install {requirement}"),
        check.timeout,
    )
    .await?;
    if !out.status.success() {
        return Err(VerifyError::Install {
            requirement,
            index: check.index_url.clone(),
            installer: label,
            output: tail(&out, 20),
        });
    }

    let command_output = match &check.command {
        None => None,
        Some(command) => {
            let bin = venv_bin(&venv);
            let path = std::env::join_paths(
                std::iter::once(bin.clone()).chain(
                    std::env::var_os("PATH")
                        .iter()
                        .flat_map(std::env::split_paths),
                ),
            )
            .unwrap_or_default();
            let mut c = Command::new(if cfg!(windows) { "bash" } else { "sh" });
            isolate(&mut c, std::env::vars_os());
            c.arg("-c")
                .arg(command)
                .env("PATH", path)
                .env("VIRTUAL_ENV", &venv)
                .current_dir(&check.workdir);
            let out = run(c, "sh", command, check.timeout).await?;
            if !out.status.success() {
                return Err(VerifyError::Command {
                    command: command.clone(),
                    requirement,
                    status: out.status.to_string(),
                    output: tail(&out, 20),
                });
            }
            Some(tail(&out, 40))
        }
    };
    Ok(InstallReport {
        installer: label,
        command_output,
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
        let err = run(c, "sh", "install x==1.0", Duration::from_millis(200))
            .await
            .unwrap_err();
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
            command: None,
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
