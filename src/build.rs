//! The optional build stage: run the project's build command, and for TestPyPI first stamp
//! a unique PEP 440 dev version so every push publishes a distinct, installable pre-release
//! instead of colliding with the previous upload of the same version.
//!
//! Stamping edits the version where the project keeps it (pyproject.toml, or the
//! `__version__` file a backend reads) and puts the original bytes back afterwards, whether
//! the build succeeded or not; for versions derived from git (setuptools-scm, hatch-vcs) it
//! sets `SETUPTOOLS_SCM_PRETEND_VERSION` instead and touches no file.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use pep440_rs::Version;

use crate::version::{self, project, Project, ProjectError, Source};

#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// Shell command, run in `project_dir`, e.g. `python -m build`.
    pub command: String,
    pub project_dir: PathBuf,
    /// Stamp `X.Y.Z.devN` before building.
    pub dev_version: bool,
    /// Extra files holding `__version__` to stamp too.
    pub version_files: Vec<PathBuf>,
    pub run_number: u64,
    pub run_attempt: u64,
    /// For git-derived versions: the tag glob, to find the last release with `git describe`.
    pub tag_pattern: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The dev version stamped for this build, if any.
    pub stamped: Option<Version>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("dev-version: {0}")]
    Project(#[from] ProjectError),
    #[error("dev-version: the version is managed by {tool}, which sdd-publish cannot stamp; set `dev-version: false` and let {tool} produce unique versions, or switch to a static version")]
    CannotStamp { tool: String },
    #[error("could not start the build command `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("the build command `{command}` failed ({status}); its output is above. Fix the build, or the `build` input")]
    Failed { command: String, status: String },
    #[error("dev-version: could not restore {path} after the build: {source}. Restore it with `git checkout -- {path}`", path = path.display())]
    Restore {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Run the stage. The build's own output streams straight through to the log.
pub async fn build(cfg: &BuildConfig, log: &dyn Fn(&str)) -> Result<Built, BuildError> {
    let mut env: Vec<(&str, String)> = Vec::new();
    let mut restore: Vec<project::Edit> = Vec::new();
    let mut stamped = None;
    if cfg.dev_version {
        let project = Project::open(&cfg.project_dir)?;
        match &project.source {
            Source::Managed { tool, .. } if is_scm(tool) => {
                let base = last_release(&cfg.project_dir, &cfg.tag_pattern).await;
                let dev = version::dev_version(&base, cfg.run_number, cfg.run_attempt);
                log(&format!(
                    "dev-version: {tool} derives the version from git; building as {dev} (SETUPTOOLS_SCM_PRETEND_VERSION, last release {base})"
                ));
                env.push(("SETUPTOOLS_SCM_PRETEND_VERSION", dev.to_string()));
                stamped = Some(dev);
            }
            Source::Managed { tool, .. } => {
                return Err(BuildError::CannotStamp {
                    tool: tool.to_string(),
                })
            }
            _ => {
                let current = project.current()?;
                let dev = version::dev_version(&current.version, cfg.run_number, cfg.run_attempt);
                let edits = project.set_version(&dev, &cfg.version_files)?;
                project::write(&edits)?;
                for e in &edits {
                    log(&format!(
                        "dev-version: {} {} -> {dev} (restored after the build)",
                        e.path.display(),
                        current.version
                    ));
                }
                restore = edits;
                stamped = Some(dev);
            }
        }
    }
    let result = run_command(cfg, &env).await;
    // Put the working tree back before reporting anything else, even when the build failed;
    // one file that cannot be restored must not leave the others stamped.
    let mut unrestored = None;
    for e in &restore {
        if let Err(source) = std::fs::write(&e.path, &e.before) {
            unrestored.get_or_insert(BuildError::Restore {
                path: e.path.clone(),
                source,
            });
        }
    }
    if let Some(e) = unrestored {
        return Err(e);
    }
    result?;
    Ok(Built { stamped })
}

fn is_scm(tool: &str) -> bool {
    matches!(tool, "setuptools-scm" | "hatch-vcs")
}

async fn run_command(cfg: &BuildConfig, env: &[(&str, String)]) -> Result<(), BuildError> {
    let shell = if cfg!(windows) { "bash" } else { "sh" };
    let status = tokio::process::Command::new(shell)
        .arg("-c")
        .arg(&cfg.command)
        .current_dir(&cfg.project_dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|source| BuildError::Spawn {
            command: cfg.command.clone(),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::Failed {
            command: cfg.command.clone(),
            status: status.to_string(),
        })
    }
}

/// The last release tag's version (`git describe --tags --abbrev=0 --match PATTERN`), or
/// 0.0.0 for a repository without one.
async fn last_release(dir: &Path, tag_pattern: &str) -> Version {
    let out = tokio::process::Command::new("git")
        .args(["describe", "--tags", "--abbrev=0", "--match", tag_pattern])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .await;
    out.ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let tag = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            version::tag_version(&tag, tag_pattern).ok()
        })
        .unwrap_or_else(|| Version::new([0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap()
    }

    fn project(dir: &Path, pyproject: &str) {
        std::fs::write(dir.join("pyproject.toml"), pyproject).unwrap();
    }

    fn cfg(dir: &Path, command: &str) -> BuildConfig {
        BuildConfig {
            command: command.into(),
            project_dir: dir.into(),
            dev_version: true,
            version_files: vec![],
            run_number: 42,
            run_attempt: 2,
            tag_pattern: "v*".into(),
        }
    }

    const PYPROJECT: &str = "# keep me\n[project]\nname = \"x\"\nversion = '1.2.3'  # here\n";

    #[tokio::test]
    async fn stamps_the_build_and_restores_the_file() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), PYPROJECT);
        // The "build" records the version it saw.
        let c = cfg(dir.path(), "grep '^version' pyproject.toml > seen.txt");
        let built = build(&c, &|_| {}).await.unwrap();
        assert_eq!(built.stamped.unwrap().to_string(), "1.2.4.dev4202");
        assert_eq!(
            read(dir.path(), "seen.txt"),
            "version = '1.2.4.dev4202'  # here\n"
        );
        assert_eq!(read(dir.path(), "pyproject.toml"), PYPROJECT);
    }

    #[tokio::test]
    async fn a_failed_build_still_restores_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), PYPROJECT);
        let err = build(&cfg(dir.path(), "exit 3"), &|_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`exit 3` failed"), "{err}");
        assert_eq!(read(dir.path(), "pyproject.toml"), PYPROJECT);
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_restored_is_named_and_the_others_are_restored() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), PYPROJECT);
        std::fs::create_dir(dir.path().join("x")).unwrap();
        let init = "__version__ = \"1.2.3\"\n";
        std::fs::write(dir.path().join("x/__init__.py"), init).unwrap();
        // The "build" puts a directory where pyproject.toml was: it cannot be written back.
        let mut c = cfg(dir.path(), "rm pyproject.toml && mkdir pyproject.toml");
        c.version_files = vec!["x/__init__.py".into()];
        let err = build(&c, &|_| {}).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("could not restore") && msg.contains("pyproject.toml"),
            "{msg}"
        );
        assert_eq!(read(dir.path(), "x/__init__.py"), init);
    }

    #[tokio::test]
    async fn scm_projects_get_a_pretend_version_and_no_edit() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[build-system]\nrequires = [\"setuptools-scm\"]\n[project]\nname = \"x\"\ndynamic = [\"version\"]\n[tool.setuptools_scm]\n";
        project(dir.path(), text);
        let c = cfg(
            dir.path(),
            "printf %s \"$SETUPTOOLS_SCM_PRETEND_VERSION\" > seen.txt",
        );
        let built = build(&c, &|_| {}).await.unwrap();
        // No git repository, so the last release is 0.0.0.
        assert_eq!(built.stamped.unwrap().to_string(), "0.0.1.dev4202");
        assert_eq!(read(dir.path(), "seen.txt"), "0.0.1.dev4202");
        assert_eq!(read(dir.path(), "pyproject.toml"), text);
    }

    #[tokio::test]
    async fn a_version_sdd_publish_cannot_stamp_stops_before_the_build() {
        let dir = tempfile::tempdir().unwrap();
        project(
            dir.path(),
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n[tool.pdm.version]\nsource = \"scm\"\n",
        );
        let err = build(&cfg(dir.path(), "touch built"), &|_| {})
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dev-version: the version is managed by pdm-backend, which sdd-publish cannot stamp; set `dev-version: false` and let pdm-backend produce unique versions, or switch to a static version"
        );
        assert!(!dir.path().join("built").exists());
    }

    #[tokio::test]
    async fn without_dev_version_only_the_command_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path(), "touch built");
        c.dev_version = false;
        assert_eq!(build(&c, &|_| {}).await.unwrap().stamped, None);
        assert!(dir.path().join("built").exists());
    }
}
