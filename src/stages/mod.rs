//! The stages of `sdd-publish run`, one module each: a function from typed input to a typed
//! outcome, which `pipeline` folds into the report. A stage logs through the Actions runtime
//! and never touches the report; it knows the action's settings, so it is where an error gets
//! the fix that names an input.
//!
//! | stage            | input                         | outcome                             |
//! |------------------|-------------------------------|-------------------------------------|
//! | [`plan`]         | context, settings             | `plan::Plan`                        |
//! | [`gate`]         | commit, gate settings         | `report::ChecksReport`              |
//! | [`build`]        | command, dev-version settings | [`build::BuildOutcome`]             |
//! | [`validate`]     | packages-dir, plan            | [`validate::Validated`]             |
//! | [`preflight`]    | distributions, index target   | [`preflight::Preflighted`]          |
//! | [`attest`]       | files the index lacks, ID token | [`attest::Attestations`]          |
//! | [`publish`]      | distributions, index target   | `index::FileOutcome` per file       |
//! | [`verify`]       | release, index target         | [`verify::Verified`]                |
//! | [`github_release`] | tag, files, release settings | `github_release::ReleaseOutcome`  |

pub(crate) mod attest;
pub(crate) mod build;
pub(crate) mod gate;
pub(crate) mod github_release;
pub(crate) mod plan;
pub(crate) mod preflight;
pub(crate) mod publish;
pub(crate) mod validate;
pub(crate) mod verify;

use std::path::PathBuf;

use crate::dist::DistError;
use crate::gate::WaitError;
use crate::github::GitHubError;
use crate::github_release::notes::NotesFileError;
use crate::github_release::ReleaseError;

/// What went wrong in a stage. Each variant says *what*, keeping its cause as the source;
/// [`StageError::fix`] says how to fix it in the workflow.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("packages-dir {0}")]
    PackagesDir(#[source] DistError),
    #[error(transparent)]
    Dist(DistError),
    #[error("no distributions in packages-dir `{}`: expected *.whl or *.tar.gz files", .0.display())]
    NoDistributions(PathBuf),
    #[error("{count} problem(s) in the distributions; nothing was uploaded (each is listed above with its fix)")]
    Problems { count: usize },
    #[error(transparent)]
    TagVersion(#[from] crate::version::VersionError),
    #[error("publishing to {label} needs a token")]
    MissingToken {
        label: &'static str,
        input: &'static str,
        secret: &'static str,
    },
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    #[error("verification: {0}")]
    Verify(#[source] crate::verify::VerifyError),
    /// `test`: the failed command is a `test-command` line (else a `verify-command` one).
    #[error("pre-flight: {error}; nothing was uploaded")]
    Preflight {
        #[source]
        error: crate::verify::preflight::PreflightError,
        test: bool,
    },
    #[error("the index at {url} (the {label} target) refused the password of user `{username}` (HTTP {status}): {message}")]
    PasswordRefused {
        url: String,
        label: &'static str,
        username: String,
        status: u16,
        message: String,
        username_input: &'static str,
        token_input: &'static str,
    },
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error("waiting for checks: {0}")]
    Gate(#[source] WaitError),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("waiting for checks needs the commit and the repository (GITHUB_SHA, GITHUB_REPOSITORY); they are set by the runner")]
    NoCommit,
    #[error("upload of `{filename}` failed: {source}")]
    Upload {
        filename: String,
        source: crate::index::UploadError,
    },
    #[error(transparent)]
    Publish(Box<crate::index::PublishError>),
    #[error(transparent)]
    Query(#[from] crate::index::QueryError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error("release template: {0}")]
    Template(#[from] crate::github_release::TemplateError),
    #[error("release-notes-file {0}")]
    NotesFile(#[source] NotesFileError),
    #[error(
        "the GitHub Release needs the repository (GITHUB_REPOSITORY); it is set by the runner"
    )]
    NoRepository,
    #[error("attestation: {0}")]
    Attest(#[source] crate::attest::AttestError),
    #[error("`attestations: true` but this run publishes with an API token: {label} takes attestations only from a trusted-publishing upload")]
    AttestNeedsTrustedPublishing {
        label: &'static str,
        input: &'static str,
    },
}

/// What a GitHub answer says to do, by the request's purpose (`need` is the permission line).
fn github_fix(e: &GitHubError, need: &str) -> Option<String> {
    match e {
        GitHubError::Status { status: 401, .. } => Some(
            "The token was refused: pass a valid `github-token` (default `${{ github.token }}`)"
                .into(),
        ),
        GitHubError::Status {
            status: 403 | 404, ..
        } => Some(need.into()),
        GitHubError::RateLimited { .. } => Some(
            "Re-run the job after the limit resets, or pass a `github-token` with a limit of its own"
                .into(),
        ),
        GitHubError::BadUrl { .. } => Some(
            "Set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3".into(),
        ),
        GitHubError::Redirect { .. } => Some(
            "If that address is really the API, set GITHUB_API_URL to it; otherwise a proxy between the runner and GitHub is redirecting API calls".into(),
        ),
        GitHubError::ForeignUrl { .. } => Some(
            "The API sent a URL on another host: check GITHUB_API_URL and any proxy in between, and re-run".into(),
        ),
        GitHubError::Deadline { .. } => Some("Re-run the job when GitHub answers in time".into()),
        _ => None,
    }
}

const GATE_PERMISSIONS: &str = "The token may lack a permission: the job needs `permissions: checks: read, statuses: read, actions: read`";
const RELEASE_PERMISSIONS: &str = "Creating the GitHub Release needs `permissions: contents: write` for the job's token (`github-token`), or set `release: false`";

impl StageError {
    /// How to fix it, in the words of the workflow (inputs, permissions).
    pub fn fix(&self) -> Option<String> {
        match self {
            StageError::PackagesDir(DistError::NotADirectory(_)) => Some(
                "It must be a folder: set the `packages-dir` input to the folder that holds your wheels and sdists (e.g. `dist/`)".into(),
            ),
            StageError::PackagesDir(_) => Some(
                "Build your distributions first (e.g. `python -m build`) or set the `packages-dir` input to where they are".into(),
            ),
            StageError::NoDistributions(_) => Some(
                "Build them first (e.g. `python -m build`) or point `packages-dir` at them".into(),
            ),
            StageError::MissingToken {
                label,
                input,
                secret,
            } => Some(format!(
                "Set the `{input}` input (e.g. `{input}: ${{{{ secrets.{secret} }}}}`) from a repository secret holding an API token for {label}, or grant the job `permissions: id-token: write` for trusted publishing (OIDC)"
            )),
            StageError::Gate(e) => match e {
                WaitError::TimedOut { .. } => {
                    Some("Raise `wait-timeout` if the checks are just slow".into())
                }
                WaitError::NeverAppeared { .. } => Some(
                    "Check the names in `wait-for` against the check names on the commit (`appear-timeout` is how long a named check may take to appear)".into(),
                ),
                WaitError::BadPattern(..) => Some("Fix the `wait-for` entry".into()),
                WaitError::OwnRun(_) => Some(
                    "Give the job `permissions: actions: read`, or name the checks in `wait-for`"
                        .into(),
                ),
                WaitError::Api(e) => github_fix(e, GATE_PERMISSIONS),
                WaitError::Failed { .. } => None,
            },
            StageError::GitHub(e) => github_fix(e, GATE_PERMISSIONS),
            StageError::Release(e) => e.github().and_then(|e| github_fix(e, RELEASE_PERMISSIONS)),
            StageError::NotesFile(_) => Some(
                "Expected a UTF-8 text changelog; fix the `release-notes-file` input (it is relative to the workspace), or remove it to use CHANGELOG.md when there is one".into(),
            ),
            StageError::NoRepository => Some("Run it in a workflow, or set `release: false`".into()),
            StageError::Preflight { error, test } => preflight_fix(error, *test),
            StageError::PasswordRefused {
                username_input,
                token_input,
                ..
            } => Some(format!(
                "Check the user in `{username_input}` and that `{token_input}` holds that user's current password (for an API token, leave `{username_input}` at `__token__`)"
            )),
            StageError::Attest(_) => Some(
                "Nothing was uploaded; to publish without PEP 740 attestations, set `attestations: false`".into(),
            ),
            StageError::AttestNeedsTrustedPublishing { input, .. } => Some(format!(
                "Configure a Trusted Publisher for this workflow, grant the job `permissions: id-token: write` and drop the `{input}` input (or set `trusted-publishing: always`), or set `attestations: auto`"
            )),
            _ => None,
        }
    }
}

/// How to fix a failed pre-flight, in the workflow's words.
fn preflight_fix(e: &crate::verify::preflight::PreflightError, test: bool) -> Option<String> {
    use crate::verify::preflight::PreflightError as P;
    use crate::verify::EnvError;
    Some(match e {
        P::Env(EnvError::Spawn { .. }) => "Install Python 3 (or uv) on the runner, e.g. with actions/setup-python, or set `preflight: false`".into(),
        P::Env(EnvError::Timeout { .. }) => "Raise `verify-timeout` (it bounds each pre-flight step: the environment, each install, each command), or set `preflight: false`".into(),
        P::Env(EnvError::Scratch { .. }) => "Point RUNNER_TEMP (TMPDIR outside Actions) at a writable directory".into(),
        P::Venv { .. } => "The runner's Python cannot make a virtual environment: use actions/setup-python (or install python3-venv), or set `preflight: false`".into(),
        P::NoInstallable { .. } => "Build a wheel for the runner's Python (or a pure-Python `py3-none-any` wheel), or put the sdist in `packages-dir` too".into(),
        P::Install { .. } => "Every dependency, and each line of `test-requirements`, must install from the target's index (for TestPyPI, PyPI too); the installer's output above names what did not".into(),
        P::Inspect { .. } => "Set `preflight: false` to go on without it, and report this".into(),
        P::VersionMismatch { .. } => "The file's build makes another version than its metadata names (e.g. an sdist whose version comes from git or a file the sdist lacks): give the project one version source that the sdist carries, or ship a wheel".into(),
        P::Hook { .. } => "The pre-flight's environment must be writable: point RUNNER_TEMP (TMPDIR outside Actions) at a writable directory, or set `preflight: false`".into(),
        P::Command { .. } if test => "Its output is above, in the Pre-flight log group. The tests ran against the built files: fix the project (or the `test-command` input)".into(),
        P::Command { .. } => "Its output is above, in the Pre-flight log group. The built files must pass it: fix the project (or the `verify-command` input)".into(),
        P::SourceTree { .. } => "Make the tests import the project by its name (not from a path put on sys.path), or move it to a src layout".into(),
        P::Requirements { .. } => "`test-requirements` and the files it includes with `-r` list only what the tests need, by name; the project comes from the checked files and every package from the target's index".into(),
        P::NotImported { .. } => "Put the test runner into the pre-flight environment through `test-requirements` (e.g. `pytest`), so the command runs there and not on the runner's own Python".into(),
    })
}

/// Why a run stopped: what went wrong (its source chain kept) and, apart from it, how to fix
/// it. Shown as one line, the fix after the message.
#[derive(Debug, thiserror::Error)]
#[error("{error}{}", fix.as_ref().map(|f| format!(". {f}")).unwrap_or_default())]
pub struct RunError {
    /// Boxed: a run's error travels up every stage's `Result`.
    #[source]
    pub error: Box<StageError>,
    pub fix: Option<String>,
}

impl<E: Into<StageError>> From<E> for RunError {
    fn from(e: E) -> RunError {
        let error = e.into();
        RunError {
            fix: error.fix(),
            error: Box::new(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> GitHubError {
        GitHubError::Status {
            method: "GET",
            url: "https://api.github.com/repos/o/r/commits/abc/check-runs".into(),
            status,
            message: "Resource not accessible by integration".into(),
            gave_up: false,
        }
    }

    /// The GitHub client says what happened; the stage says which permission or input fixes
    /// it, by what the request was for.
    #[test]
    fn github_answers_get_the_fix_for_their_purpose() {
        let gate: RunError = StageError::Gate(WaitError::Api(status(403))).into();
        assert_eq!(
            gate.to_string(),
            "waiting for checks: GET https://api.github.com/repos/o/r/commits/abc/check-runs answered 403: Resource not accessible by integration. The token may lack a permission: the job needs `permissions: checks: read, statuses: read, actions: read`"
        );
        let release: RunError = StageError::Release(ReleaseError::GitHub {
            tag: "v1.2.0".into(),
            source: status(404),
        })
        .into();
        assert!(
            release.to_string().ends_with(
                "answered 404: Resource not accessible by integration. Creating the GitHub Release needs `permissions: contents: write` for the job's token (`github-token`), or set `release: false`"
            ),
            "{release}"
        );
        let refused: RunError = StageError::Gate(WaitError::Api(status(401))).into();
        assert!(
            refused.to_string().contains("pass a valid `github-token`"),
            "{refused}"
        );
        let limited: RunError = StageError::Gate(WaitError::Api(GitHubError::RateLimited {
            request: "GET https://api.github.com/x".into(),
            wait: std::time::Duration::from_secs(86_400),
            max: std::time::Duration::from_secs(3_660),
        }))
        .into();
        assert!(
            limited.to_string().ends_with(
                "on the runner). Re-run the job after the limit resets, or pass a `github-token` with a limit of its own"
            ),
            "{limited}"
        );
        let redirected: RunError = StageError::Gate(WaitError::Api(GitHubError::Redirect {
            method: "GET",
            url: "https://api.github.com/x".into(),
            status: 301,
            to: "https://elsewhere.example/x".into(),
            allowed: "https://api.github.com".into(),
        }))
        .into();
        assert!(
            redirected.to_string().contains("is not followed")
                && redirected.to_string().ends_with("set GITHUB_API_URL to it; otherwise a proxy between the runner and GitHub is redirecting API calls"),
            "{redirected}"
        );
        let foreign: RunError = StageError::Release(ReleaseError::GitHub {
            tag: "v1.2.0".into(),
            source: GitHubError::ForeignUrl {
                method: "POST",
                url: "https://uploads.evil.example/x".into(),
                origin: "https://uploads.evil.example".into(),
                allowed: "https://api.github.com".into(),
            },
        })
        .into();
        assert!(
            foreign
                .to_string()
                .ends_with("check GITHUB_API_URL and any proxy in between, and re-run"),
            "{foreign}"
        );
        // A failed check is not the workflow's to fix.
        let failed = StageError::Gate(WaitError::Failed {
            name: "Test Suite".into(),
            conclusion: "failure".into(),
            url: String::new(),
            allowed: "success".into(),
        });
        assert!(failed.fix().is_none());
        // The cause is kept as the source, not flattened into the message.
        use std::error::Error as _;
        assert!(gate.source().and_then(|s| s.source()).is_some());
    }

    #[test]
    fn a_missing_packages_dir_names_the_input_a_missing_token_the_secret() {
        let e: RunError =
            StageError::PackagesDir(DistError::DirMissing(PathBuf::from("dist"))).into();
        assert_eq!(
            e.to_string(),
            "packages-dir `dist` does not exist. Build your distributions first (e.g. `python -m build`) or set the `packages-dir` input to where they are"
        );
        let e: RunError = StageError::MissingToken {
            label: "PyPI",
            input: "pypi-token",
            secret: "PYPI_API_TOKEN",
        }
        .into();
        assert!(
            e.to_string().starts_with(
                "publishing to PyPI needs a token. Set the `pypi-token` input (e.g. `pypi-token: ${{ secrets.PYPI_API_TOKEN }}`)"
            ),
            "{e}"
        );
    }
}
