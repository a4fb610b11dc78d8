//! The action's settings: every input validated into a typed value, with an error that
//! names the input, before any stage runs.
//!
//! `gha::raw_inputs` reads what the workflow wrote (`INPUT_*`, raw strings); this module says
//! what it means. Each package index the run can publish to is one [`IndexTarget`] (upload URL,
//! simple index, credentials, and the names messages use), chosen by [`Settings::target`]
//! instead of `pypi_*`/`testpypi_*` pairs matched in several places.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use crate::auth::{IndexNames, TrustedPublishing};
use crate::gha::raw_inputs::{parse_bool, parse_list, InputError, RawInputs};
use crate::gha::Env;
use crate::plan::{Mode, Target};
use crate::secret::Secret;

pub const DEFAULT_PYPI_URL: &str = "https://upload.pypi.org/legacy/";
pub const DEFAULT_TESTPYPI_URL: &str = "https://test.pypi.org/legacy/";
pub const DEFAULT_PYPI_INDEX_URL: &str = "https://pypi.org/simple/";
pub const DEFAULT_TESTPYPI_INDEX_URL: &str = "https://test.pypi.org/simple/";
/// More parallel uploads than this only queue at the index.
pub const MAX_PARALLEL_LIMIT: usize = 32;
/// The ceiling for the upload engine's own choice of how many files go at once.
pub const DEFAULT_MAX_PARALLEL: usize = 8;

/// How messages and the environment name one index and its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetNames {
    /// `PyPI`, `TestPyPI`.
    pub label: &'static str,
    /// The index's web site, for the link that pre-fills the publisher form.
    pub web: &'static str,
    pub url_input: &'static str,
    pub index_url_input: &'static str,
    pub token_input: &'static str,
    /// The user name input (`__token__` unless a private index wants a real user).
    pub username_input: &'static str,
    /// The repository secret the docs suggest for the token input.
    pub secret: &'static str,
    /// The variable that stands in for an empty `url_input`, as `TWINE_REPOSITORY_URL` and
    /// `UV_PUBLISH_URL` do for those tools: a runner-wide mirror, or a local index in tests,
    /// without editing the workflow. The run log names it whenever it is used.
    pub url_env: &'static str,
    pub default_url: &'static str,
    pub default_index_url: &'static str,
}

pub const PYPI: TargetNames = TargetNames {
    label: "PyPI",
    web: "pypi.org",
    url_input: "pypi-url",
    index_url_input: "pypi-index-url",
    token_input: "pypi-token",
    username_input: "pypi-username",
    secret: "PYPI_API_TOKEN",
    url_env: "SDD_PUBLISH_PYPI_URL",
    default_url: DEFAULT_PYPI_URL,
    default_index_url: DEFAULT_PYPI_INDEX_URL,
};

pub const TESTPYPI: TargetNames = TargetNames {
    label: "TestPyPI",
    web: "test.pypi.org",
    url_input: "testpypi-url",
    index_url_input: "testpypi-index-url",
    token_input: "testpypi-token",
    username_input: "testpypi-username",
    secret: "TEST_PYPI_API_TOKEN",
    url_env: "SDD_PUBLISH_TESTPYPI_URL",
    default_url: DEFAULT_TESTPYPI_URL,
    default_index_url: DEFAULT_TESTPYPI_INDEX_URL,
};

/// One package index the run can publish to: where, and as whom.
#[derive(Debug, Clone)]
pub struct IndexTarget {
    /// The legacy upload endpoint.
    pub upload_url: Url,
    /// The simple index, asked what it already has before uploading and polled by verify.
    pub index_url: Url,
    /// The API token input (a password when `username` is a real user); `None` means
    /// trusted publishing or nothing.
    pub token: Option<Secret>,
    /// Who the token belongs to: [`TOKEN_USERNAME`] for API tokens (PyPI, TestPyPI), a real
    /// user for private indexes (devpi, Artifactory, Nexus), as twine's `-u` takes.
    pub username: String,
    /// The [`TargetNames::url_env`] variable, when it supplied `upload_url`.
    pub url_from_env: Option<&'static str>,
    pub names: TargetNames,
}

/// The user name PyPI's API tokens go with.
pub const TOKEN_USERNAME: &str = "__token__";

impl IndexTarget {
    /// The token input with its user name, for the upload and the index query.
    pub fn credentials(&self) -> Option<crate::index::Credentials> {
        self.token
            .clone()
            .map(|password| crate::index::Credentials {
                username: self.username.clone(),
                password,
            })
    }

    /// A real user rather than `__token__`: the token input is that user's password.
    pub fn has_user(&self) -> bool {
        self.username != TOKEN_USERNAME
    }

    /// The names `auth` puts in its messages.
    pub fn auth_names(&self) -> IndexNames {
        IndexNames {
            label: self.names.label,
            input: self.names.token_input,
            web: self.names.web,
        }
    }
}

/// A setting that could not be read: an input, or a hidden tuning variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Tuning(#[from] crate::index::TuningError),
    /// A Sigstore variable (`SDD_PUBLISH_FULCIO_URL` & co.).
    #[error("{0}; fix it or unset it")]
    Sigstore(#[source] crate::attest::ConfigError),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub tag_pattern: String,
    /// Publish branches (globs); empty = the repository's default branch.
    pub branches: Vec<String>,
    pub packages_dir: PathBuf,
    pub pypi: IndexTarget,
    pub testpypi: IndexTarget,
    pub dry_run: bool,
    /// Decide and write the outputs, nothing else: for a gate job that runs before the build.
    pub plan_only: bool,
    /// An identical file already on the index is skipped (true) or an error (false).
    pub skip_existing: bool,
    pub max_parallel: usize,
    /// Retry/timeout settings: not inputs, hidden `SDD_PUBLISH_*` variables (for tests).
    pub tuning: crate::index::Tuning,
    /// `attestations` and which Sigstore signs them.
    pub attest: AttestSettings,
    /// Build command run before checking the distributions (empty: build nothing).
    pub build: Option<String>,
    /// Stamp `X.Y.Z.devN` before building for TestPyPI.
    pub dev_version: bool,
    /// Extra files whose `__version__` is stamped too.
    pub version_files: Vec<PathBuf>,
    /// `auto | always | never`: mint a token by OIDC when no token input is given.
    pub trusted_publishing: TrustedPublishing,
    /// The wait-for-checks gate; `None` when it is off.
    pub wait: Option<GateSettings>,
    /// For GitHub's API (the checks gate); `github-token`, default `${{ github.token }}`.
    pub github_token: Option<Secret>,
    /// After the upload: install `name==version` into a fresh environment.
    pub verify_install: bool,
    /// `verify-command`, one command per line, run in that environment after installing
    /// (e.g. `improved-sdd --help` and `improved-sdd --version`), and in the pre-flight.
    pub verify_commands: Vec<String>,
    /// Before any upload: the local files installed into a fresh environment, the commands
    /// run there; `None` when `preflight` is off.
    pub preflight: Option<PreflightSettings>,
    /// A verification failure fails the run (default: a warning; the files are public).
    pub verify_strict: bool,
    pub verify_timeout: Duration,
    /// The GitHub Release after the upload.
    pub release: ReleaseSettings,
}

/// The pre-flight's own settings (`verify-command` runs there too).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreflightSettings {
    /// `test-command`, one command per line, run in the workspace against the installed
    /// package.
    pub test_commands: Vec<String>,
    /// `test-requirements`: what else goes into the environment (test tools, extras).
    pub requirements: Vec<Requirement>,
}

/// One line of `test-requirements`.
#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    /// `.[test,docs]`: extras of the project itself, installed from the local file.
    Extras(Vec<String>),
    /// `-r FILE`: a requirements file, relative to the workspace.
    File(PathBuf),
    /// A requirement specifier, e.g. `pytest>=8`.
    Spec(String),
}

/// Command lines: one command per non-empty line, trimmed.
fn command_lines(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `test-requirements`: one per line; `#` starts a comment line. Installer options other
/// than `-r` are refused: the indexes come from the target, and an option such as
/// `--index-url` would install something else than what the run checks.
fn requirements(value: Option<&str>) -> Result<Vec<Requirement>, InputError> {
    let invalid = |line: &str, why: &str| {
        InputError::Invalid {
        input: "test-requirements".into(),
        value: line.into(),
        expected: format!("one requirement per line: a specifier such as `pytest>=8`, the project's extras as `.[test]`, or `-r requirements-test.txt` ({why})"),
    }
    };
    let mut out = Vec::new();
    for line in value.unwrap_or_default().lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(extras) = line.strip_prefix(".[").and_then(|r| r.strip_suffix(']')) {
            let names: Vec<String> = extras.split(',').map(|e| e.trim().to_owned()).collect();
            let valid = |e: &str| {
                !e.is_empty()
                    && e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if !names.iter().all(|e| valid(e)) {
                return Err(invalid(line, "an extra is a name such as `test`"));
            }
            out.push(Requirement::Extras(names));
        } else if let Some(file) = line
            .strip_prefix("-r ")
            .or_else(|| line.strip_prefix("--requirement "))
        {
            out.push(Requirement::File(PathBuf::from(file.trim())));
        } else if line.starts_with('-') {
            return Err(invalid(line, "installer options are not accepted"));
        } else if line.starts_with('.') {
            return Err(invalid(
                line,
                "a path is not accepted: the project comes from the checked files",
            ));
        } else {
            check_requirement(line).map_err(|why| invalid(line, &why))?;
            out.push(Requirement::Spec(line.to_owned()));
        }
    }
    Ok(out)
}

/// A PEP 508 requirement, as pep508_rs reads it. A name ending in `.`, `-` or `_` before
/// more text is refused first: pep508_rs 0.9 panics on those (see `dist::rules::metadata`).
fn check_requirement(line: &str) -> Result<(), String> {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(line.len());
    if line[..end].ends_with(['.', '-', '_']) {
        return Err("a name must end with a letter or digit".into());
    }
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(line)
        .map(|_| ())
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned())
}

/// `preflight` (on by default when there is something to run) and what it runs.
fn preflight_settings(
    raw: &RawInputs,
    verify_commands: &[String],
) -> Result<Option<PreflightSettings>, InputError> {
    let settings = PreflightSettings {
        test_commands: command_lines(raw.test_command.as_deref()),
        requirements: requirements(raw.test_requirements.as_deref())?,
    };
    let wanted = !verify_commands.is_empty() || !settings.test_commands.is_empty();
    if flag("preflight", raw.preflight.as_deref(), wanted)? {
        return Ok(Some(settings));
    }
    for (input, set) in [
        ("test-command", !settings.test_commands.is_empty()),
        ("test-requirements", !settings.requirements.is_empty()),
    ] {
        if set {
            return Err(InputError::Invalid {
                input: "preflight".into(),
                value: "false".into(),
                expected: format!("`true` when `{input}` is set: it is used only by the pre-flight (or remove `{input}`)"),
            });
        }
    }
    Ok(None)
}

/// A user name for basic auth: no colon (it would end the user part), no whitespace.
fn username(input: &str, value: Option<&str>) -> Result<String, InputError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(TOKEN_USERNAME.to_owned());
    };
    if v.contains(':') || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // `user:password` is the usual paste: what follows a `:` is never shown.
        // Nor what follows a space or a line break: `alice hunter22` is a paste too.
        let user = v
            .split(|c: char| c == ':' || c.is_whitespace() || c.is_control())
            .next()
            .unwrap_or_default();
        let shown = format!("{user}***");
        return Err(InputError::Invalid {
            input: input.into(),
            value: shown,
            expected: "a user name without `:` or spaces (the index's account name, or `__token__` for an API token; the password goes in the token input)".into(),
        });
    }
    Ok(v.to_owned())
}

/// `release: auto | true | false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseWhen {
    /// Only for the PyPI target on a tag.
    Auto,
    /// Whenever the run has a tag and a target (TestPyPI too).
    Always,
    Never,
}

/// The release stage's settings; templates are checked here, before any upload.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSettings {
    pub when: ReleaseWhen,
    pub name_template: String,
    pub body_template: String,
    /// `release-notes-file`; `None` = `CHANGELOG.md` in the workspace.
    pub notes_file: Option<PathBuf>,
    pub draft: bool,
    /// Attach the distributions as assets.
    pub assets: bool,
}

fn release_settings(raw: &RawInputs) -> Result<ReleaseSettings, InputError> {
    let when = match raw.release.as_deref().map(str::trim) {
        None | Some("auto") => ReleaseWhen::Auto,
        Some(v) => match parse_bool("release", v) {
            Ok(true) => ReleaseWhen::Always,
            Ok(false) => ReleaseWhen::Never,
            Err(_) => {
                return Err(InputError::Invalid {
                    input: "release".into(),
                    value: v.into(),
                    expected: "one of auto, true, false".into(),
                })
            }
        },
    };
    let name_template = raw
        .release_name
        .clone()
        .unwrap_or_else(|| crate::github_release::DEFAULT_NAME_TEMPLATE.into());
    let body_template = raw
        .release_body
        .clone()
        .unwrap_or_else(|| crate::github_release::DEFAULT_BODY_TEMPLATE.into());
    for (input, template) in [
        ("release-name", &name_template),
        ("release-body", &body_template),
    ] {
        crate::github_release::check_template(template).map_err(|e| InputError::Invalid {
            input: input.into(),
            value: template.clone(),
            expected: e.to_string(),
        })?;
    }
    Ok(ReleaseSettings {
        when,
        name_template,
        body_template,
        notes_file: raw
            .release_notes_file
            .as_deref()
            .map(|f| PathBuf::from(f.trim())),
        draft: flag("draft", raw.draft.as_deref(), false)?,
        assets: flag("release-assets", raw.release_assets.as_deref(), true)?,
    })
}

/// `attestations: auto | true | false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestWhen {
    /// When publishing by trusted publishing (PyPI takes attestations from a Trusted
    /// Publisher's upload only).
    Auto,
    /// Attest or fail.
    Always,
    Never,
}

impl AttestWhen {
    /// Each setting by the name the `attestations` input takes.
    pub const NAMES: [(&'static str, AttestWhen); 3] = [
        ("auto", AttestWhen::Auto),
        ("true", AttestWhen::Always),
        ("false", AttestWhen::Never),
    ];
}

/// The attest stage's settings: whether to attest, and which Sigstore signs (the public-good
/// instance unless `SDD_PUBLISH_FULCIO_URL` & co. name another).
#[derive(Debug, Clone)]
pub struct AttestSettings {
    pub when: AttestWhen,
    pub sigstore: crate::attest::Config,
}

/// The gate's settings. `wait` defaults to off, and to on when `wait-for` names checks.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// Names or globs; empty = every check on the commit outside this workflow run.
    pub checks: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
    pub appear_timeout: Duration,
    pub allowed_conclusions: Vec<String>,
}

/// A boolean input, `default` when not set.
fn flag(input: &str, value: Option<&str>, default: bool) -> Result<bool, InputError> {
    value.map_or(Ok(default), |v| parse_bool(input, v))
}

/// A glob input's value; `what` says what the input takes, for the error.
fn glob(input: &str, value: &str, what: &str) -> Result<(), InputError> {
    match crate::plan::Pattern::new(value) {
        Ok(_) => Ok(()),
        Err(e) => Err(InputError::Invalid {
            input: input.into(),
            value: value.into(),
            expected: format!("{what} ({e})"),
        }),
    }
}

fn parse_url(input: &str, value: &str) -> Result<Url, InputError> {
    let invalid = |why: &str| InputError::Invalid {
        input: input.into(),
        value: crate::secret::url_shown(value),
        expected: format!("an http(s) URL of the index (upload or simple endpoint) ({why})"),
    };
    let url = Url::parse(value.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(invalid("the scheme must be https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // A URL with credentials would print them in every log line that shows the URL.
        return Err(InputError::Invalid {
            input: input.into(),
            value: "<URL with credentials, not shown>".into(),
            expected: "a URL without user:password; pass the token in the token input".into(),
        });
    }
    Ok(url)
}

/// The simple index URL: as given; else, when the upload URL was overridden (a private index
/// or pypiserver, whose upload URL is `/` and simple index `/simple/`), `<its origin>/simple/`;
/// else the public default.
fn index_url(
    input: &str,
    given: Option<&str>,
    overridden_upload: Option<&Url>,
    default: &str,
) -> Result<Url, InputError> {
    if let Some(v) = given {
        let mut url = parse_url(input, v)?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        return Ok(url);
    }
    match overridden_upload {
        Some(up) => up.join("/simple/").map_err(|e| InputError::Invalid {
            input: input.into(),
            value: up.to_string(),
            expected: format!(
                "an upload URL the simple index can be derived from ({e}); set `{input}`"
            ),
        }),
        None => parse_url(input, default),
    }
}

/// A choice input: one of `names`, `default` when not set.
fn one_of<T: Copy>(
    input: &str,
    value: Option<&str>,
    names: &[(&str, T)],
    default: T,
) -> Result<T, InputError> {
    let Some(v) = value.map(str::trim) else {
        return Ok(default);
    };
    names
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| InputError::Invalid {
            input: input.into(),
            value: v.into(),
            expected: format!(
                "one of {}",
                names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })
}

fn secret(value: Option<String>) -> Option<Secret> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Settings, ConfigError> {
        let mut raw = RawInputs::from_env(env)?;
        let mut url_env = Vec::new();
        for names in [PYPI, TESTPYPI] {
            let (input, var) = (names.url_input, names.url_env);
            let slot = match input {
                "pypi-url" => &mut raw.pypi_url,
                _ => &mut raw.testpypi_url,
            };
            let value = env.get(var).map(|v| v.trim().to_owned());
            if let (None, Some(v)) = (&slot, value.filter(|v| !v.is_empty())) {
                parse_url(input, &v).map_err(|e| match e {
                    InputError::Invalid {
                        value, expected, ..
                    } => InputError::EnvVar {
                        var: var.into(),
                        input: input.into(),
                        value,
                        expected,
                    },
                    other => other,
                })?;
                *slot = Some(v);
                url_env.push(var);
            }
        }
        let mut settings = Settings::from_raw(raw)?;
        for t in [&mut settings.pypi, &mut settings.testpypi] {
            t.url_from_env = url_env.iter().copied().find(|v| *v == t.names.url_env);
        }
        settings.tuning = crate::index::Tuning::from_lookup(&|k| env.get(k))?;
        settings.attest.sigstore =
            crate::attest::Config::from_lookup(&|k| env.get(k)).map_err(ConfigError::Sigstore)?;
        Ok(settings)
    }

    pub fn from_raw(raw: RawInputs) -> Result<Settings, InputError> {
        let wait = gate_settings(&raw)?;
        let release = release_settings(&raw)?;
        let verify_commands = command_lines(raw.verify_command.as_deref());
        let preflight = preflight_settings(&raw, &verify_commands)?;
        let mode = one_of("mode", raw.mode.as_deref(), &Mode::NAMES, Mode::Auto)?;
        let tag_pattern = raw
            .tag_pattern
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| "v*".into());
        glob("tag-pattern", &tag_pattern, "a glob such as `v*`")?;
        let branches = raw.branches.as_deref().map(parse_list).unwrap_or_default();
        for b in &branches {
            glob("branches", b, "branch names or globs, one per line")?;
        }
        let dry_run = flag("dry-run", raw.dry_run.as_deref(), false)?;
        let plan_only = flag("plan-only", raw.plan_only.as_deref(), false)?;
        let verify_install = flag("verify-install", raw.verify_install.as_deref(), true)?;
        let verify_strict = flag("verify-strict", raw.verify_strict.as_deref(), false)?;
        let verify_timeout = duration(
            "verify-timeout",
            raw.verify_timeout.as_deref(),
            Duration::from_secs(600),
        )?;
        let dev_version = flag("dev-version", raw.dev_version.as_deref(), false)?;
        let build = raw
            .build
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if dev_version && build.is_none() {
            return Err(InputError::Invalid {
                input: "dev-version".into(),
                value: "true".into(),
                expected: "a `build` command too: the dev version is stamped before building (e.g. `build: python -m build`)".into(),
            });
        }
        let trusted_publishing = one_of(
            "trusted-publishing",
            raw.trusted_publishing.as_deref(),
            &TrustedPublishing::NAMES,
            TrustedPublishing::Auto,
        )?;
        let attest = AttestSettings {
            when: one_of(
                "attestations",
                raw.attestations.as_deref(),
                &AttestWhen::NAMES,
                AttestWhen::Auto,
            )?,
            sigstore: crate::attest::Config::public_good(),
        };
        let skip_existing = flag("skip-existing", raw.skip_existing.as_deref(), true)?;
        let max_parallel = match raw.max_parallel.as_deref().map(str::trim) {
            None => DEFAULT_MAX_PARALLEL,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PARALLEL_LIMIT).contains(n))
                .ok_or_else(|| InputError::Invalid {
                    input: "max-parallel".into(),
                    value: v.into(),
                    expected: format!("a whole number from 1 to {MAX_PARALLEL_LIMIT}"),
                })?,
        };
        let [pypi, testpypi] = [
            (
                PYPI,
                &raw.pypi_url,
                &raw.pypi_index_url,
                &raw.pypi_token,
                &raw.pypi_username,
            ),
            (
                TESTPYPI,
                &raw.testpypi_url,
                &raw.testpypi_index_url,
                &raw.testpypi_token,
                &raw.testpypi_username,
            ),
        ]
        .map(|(names, url, index, token, user)| index_target(names, url, index, token, user));
        let (pypi, testpypi) = (pypi?, testpypi?);
        Ok(Settings {
            wait,
            release,
            github_token: secret(raw.github_token),
            mode,
            tag_pattern,
            branches,
            packages_dir: PathBuf::from(
                raw.packages_dir
                    .map(|p| p.trim().to_owned())
                    .unwrap_or_else(|| "dist".into()),
            ),
            pypi,
            testpypi,
            dry_run,
            plan_only,
            build,
            dev_version,
            version_files: raw
                .version_files
                .as_deref()
                .map(parse_list)
                .unwrap_or_default()
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            trusted_publishing,
            verify_install,
            verify_commands,
            preflight,
            verify_strict,
            verify_timeout,
            skip_existing,
            max_parallel,
            tuning: crate::index::Tuning::default(),
            attest,
        })
    }

    /// The index `target` publishes to; `None` for no target.
    pub fn target(&self, target: Target) -> Option<&IndexTarget> {
        match target {
            Target::Pypi => Some(&self.pypi),
            Target::Testpypi => Some(&self.testpypi),
            Target::None => None,
        }
    }

    /// Where dependencies come from besides the target's own index: PyPI for a TestPyPI
    /// target (TestPyPI holds few real dependencies), else nothing.
    pub fn dependency_index(&self, target: &IndexTarget) -> Option<&Url> {
        (target.names == TESTPYPI && self.pypi.index_url != target.index_url)
            .then_some(&self.pypi.index_url)
    }

    /// The secrets among the inputs, for masking before anything prints.
    pub fn secrets(&self) -> Vec<&Secret> {
        self.pypi
            .token
            .iter()
            .chain(self.testpypi.token.iter())
            .chain(self.github_token.iter())
            .collect()
    }
}

/// One index's settings. Only a non-default upload URL moves the simple index:
/// upload.pypi.org serves no /simple/.
fn index_target(
    names: TargetNames,
    url: &Option<String>,
    index: &Option<String>,
    token: &Option<String>,
    user: &Option<String>,
) -> Result<IndexTarget, InputError> {
    let upload_url = parse_url(names.url_input, url.as_deref().unwrap_or(names.default_url))?;
    let index_url = index_url(
        names.index_url_input,
        index.as_deref(),
        (upload_url.as_str() != names.default_url).then_some(&upload_url),
        names.default_index_url,
    )?;
    Ok(IndexTarget {
        upload_url,
        index_url,
        token: secret(token.clone()),
        username: username(names.username_input, user.as_deref())?,
        url_from_env: None,
        names,
    })
}

fn duration(input: &str, value: Option<&str>, default: Duration) -> Result<Duration, InputError> {
    match value {
        None => Ok(default),
        Some(v) => crate::units::parse_duration(v).map_err(|e| InputError::Invalid {
            input: input.into(),
            value: v.into(),
            expected: format!("a duration such as `90s`, `30m`, `1h` or plain seconds ({e})"),
        }),
    }
}

fn gate_settings(raw: &RawInputs) -> Result<Option<GateSettings>, InputError> {
    let checks = raw.wait_for.as_deref().map(parse_list).unwrap_or_default();
    for c in &checks {
        glob(
            "wait-for",
            c,
            "check names or `*` globs, one per line or comma-separated",
        )?;
    }
    let on = flag("wait", raw.wait.as_deref(), !checks.is_empty())?;
    let settings = GateSettings {
        timeout: duration(
            "wait-timeout",
            raw.wait_timeout.as_deref(),
            Duration::from_secs(30 * 60),
        )?,
        interval: duration(
            "wait-interval",
            raw.wait_interval.as_deref(),
            Duration::from_secs(10),
        )?,
        appear_timeout: duration(
            "appear-timeout",
            raw.appear_timeout.as_deref(),
            Duration::from_secs(5 * 60),
        )?,
        allowed_conclusions: match raw.allowed_conclusions.as_deref() {
            None => crate::gate::DEFAULT_ALLOWED
                .iter()
                .map(|s| s.to_string())
                .collect(),
            Some(v) => parse_list(&v.to_ascii_lowercase()),
        },
        checks,
    };
    if settings.interval.is_zero() {
        return Err(InputError::Invalid {
            input: "wait-interval".into(),
            value: raw.wait_interval.clone().unwrap_or_default(),
            expected: "a positive duration such as `10s`".into(),
        });
    }
    Ok(on.then_some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::raw_inputs::raw_secrets;

    use crate::gha::test_env as env;

    #[test]
    fn defaults_when_nothing_or_empty_is_given() {
        let i =
            Settings::from_env(&env(&[("INPUT_MODE", ""), ("INPUT_PACKAGES-DIR", "")])).unwrap();
        assert_eq!(i.mode, Mode::Auto);
        assert_eq!(i.tag_pattern, "v*");
        assert_eq!(i.packages_dir, PathBuf::from("dist"));
        assert_eq!(i.pypi.upload_url.as_str(), DEFAULT_PYPI_URL);
        assert_eq!(i.testpypi.upload_url.as_str(), DEFAULT_TESTPYPI_URL);
        assert!(i.pypi.token.is_none() && !i.dry_run && i.branches.is_empty());
    }

    #[test]
    fn dashed_and_underscored_names_both_work() {
        let a = Settings::from_env(&env(&[("INPUT_PACKAGES-DIR", "out")])).unwrap();
        let b = Settings::from_env(&env(&[("INPUT_PACKAGES_DIR", "out")])).unwrap();
        let c = Settings::from_env(&env(&[
            ("INPUT_PACKAGES_DIR", "out"),
            ("INPUT_PACKAGES-DIR", "out"),
        ]))
        .unwrap();
        for i in [a, b, c] {
            assert_eq!(i.packages_dir, PathBuf::from("out"));
        }
        let err = Settings::from_env(&env(&[
            ("INPUT_PACKAGES_DIR", "a"),
            ("INPUT_PACKAGES-DIR", "b"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("packages-dir"), "{err}");
    }

    #[test]
    fn yaml_core_booleans_only() {
        for (v, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("false", false),
            ("False", false),
            ("FALSE", false),
        ] {
            let i = Settings::from_env(&env(&[("INPUT_DRY-RUN", v)])).unwrap();
            assert_eq!(i.dry_run, want, "{v}");
        }
        for v in ["yes", "1", "on", "tRUE"] {
            let err = Settings::from_env(&env(&[("INPUT_DRY_RUN", v)])).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("`dry-run`") && msg.contains("YAML 1.2"),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_mode_names_the_input_and_the_choices() {
        let err = Settings::from_env(&env(&[("INPUT_MODE", "production")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `mode`: got `production`, expected one of auto, testpypi, pypi. \
             Fix the `mode:` value under `with:` in your workflow"
        );
    }

    #[test]
    fn urls_are_validated_and_credentials_never_echoed() {
        let err = Settings::from_env(&env(&[("INPUT_PYPI-URL", "not a url")])).unwrap_err();
        assert!(err.to_string().contains("`pypi-url`"));
        let err =
            Settings::from_env(&env(&[("INPUT_TESTPYPI_URL", "ftp://x/legacy/")])).unwrap_err();
        assert!(err.to_string().contains("`testpypi-url`"));
        let err = Settings::from_env(&env(&[(
            "INPUT_PYPI_URL",
            "https://__token__:pypi-SECRET@upload.example/legacy/",
        )]))
        .unwrap_err();
        assert!(!err.to_string().contains("pypi-SECRET"), "{err}");
    }

    #[test]
    fn lists_and_tokens() {
        let i = Settings::from_env(&env(&[
            ("INPUT_BRANCHES", "main\nrelease/*, next\n\n"),
            ("INPUT_PYPI_TOKEN", "  pypi-abc \n"),
        ]))
        .unwrap();
        assert_eq!(i.branches, vec!["main", "release/*", "next"]);
        assert_eq!(i.pypi.token.as_ref().map(|s| s.expose()), Some("pypi-abc"));
        assert_eq!(i.secrets().len(), 1);
    }

    #[test]
    fn raw_secrets_are_found_in_either_spelling_even_when_reading_fails() {
        let e = env(&[
            ("INPUT_PYPI-TOKEN", " pypi-a "),
            ("INPUT_GITHUB_TOKEN", "ghs_b"),
            ("INPUT_TESTPYPI_TOKEN", "  "),
            ("INPUT_MODE", "production"),
        ]);
        assert!(Settings::from_env(&e).is_err());
        let mut found: Vec<_> = raw_secrets(&e)
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, ["ghs_b", "pypi-a"]);
    }

    #[test]
    fn attestation_modes_and_sigstore_settings() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(i.attest.when, AttestWhen::Auto);
        assert_eq!(
            i.attest.sigstore.rekor_url.as_str(),
            "https://rekor.sigstore.dev/"
        );
        for (v, want) in [
            ("auto", AttestWhen::Auto),
            ("true", AttestWhen::Always),
            ("false", AttestWhen::Never),
        ] {
            let i = Settings::from_env(&env(&[("INPUT_ATTESTATIONS", v)])).unwrap();
            assert_eq!(i.attest.when, want, "{v}");
        }
        let err = Settings::from_env(&env(&[("INPUT_ATTESTATIONS", "yes")])).unwrap_err();
        assert!(
            err.to_string().contains("`attestations`")
                && err.to_string().contains("one of auto, true, false"),
            "{err}"
        );
        let err = Settings::from_env(&env(&[("SDD_PUBLISH_FULCIO_URL", "::")])).unwrap_err();
        assert!(err.to_string().contains("SDD_PUBLISH_FULCIO_URL"), "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the cause is kept"
        );
    }

    #[test]
    fn trusted_publishing_modes() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(i.trusted_publishing, TrustedPublishing::Auto);
        for (v, want) in [
            ("auto", TrustedPublishing::Auto),
            ("always", TrustedPublishing::Always),
            (" never ", TrustedPublishing::Never),
        ] {
            let i = Settings::from_env(&env(&[("INPUT_TRUSTED-PUBLISHING", v)])).unwrap();
            assert_eq!(i.trusted_publishing, want, "{v}");
        }
        let err = Settings::from_env(&env(&[("INPUT_TRUSTED_PUBLISHING", "yes")])).unwrap_err();
        assert!(
            err.to_string().contains("`trusted-publishing`")
                && err.to_string().contains("auto, always, never"),
            "{err}"
        );
    }

    #[test]
    fn wait_is_off_by_default_and_on_when_checks_are_named() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(i.wait, None);
        let i = Settings::from_env(&env(&[("INPUT_WAIT", "true")])).unwrap();
        let w = i.wait.unwrap();
        assert!(w.checks.is_empty());
        assert_eq!(w.timeout, Duration::from_secs(1800));
        assert_eq!(w.interval, Duration::from_secs(10));
        assert_eq!(w.appear_timeout, Duration::from_secs(300));
        assert_eq!(w.allowed_conclusions, ["success", "neutral", "skipped"]);
        let i = Settings::from_env(&env(&[
            ("INPUT_WAIT_FOR", "Test Suite\nSecurity *, lint"),
            ("INPUT_WAIT_TIMEOUT", "90"),
            ("INPUT_WAIT-INTERVAL", "200ms"),
            ("INPUT_APPEAR_TIMEOUT", "1h"),
            ("INPUT_ALLOWED_CONCLUSIONS", "Success"),
            ("INPUT_GITHUB_TOKEN", "ghs_x"),
        ]))
        .unwrap();
        let w = i.wait.clone().unwrap();
        assert_eq!(w.checks, ["Test Suite", "Security *", "lint"]);
        assert_eq!(w.timeout, Duration::from_secs(90));
        assert_eq!(w.interval, Duration::from_millis(200));
        assert_eq!(w.appear_timeout, Duration::from_secs(3600));
        assert_eq!(w.allowed_conclusions, ["success"]);
        assert_eq!(i.secrets().len(), 1);
        let off =
            Settings::from_env(&env(&[("INPUT_WAIT_FOR", "x"), ("INPUT_WAIT", "false")])).unwrap();
        assert_eq!(off.wait, None);
    }

    #[test]
    fn bad_wait_settings_name_the_input() {
        for (k, v, name) in [
            ("INPUT_WAIT_TIMEOUT", "forever", "`wait-timeout`"),
            ("INPUT_WAIT_INTERVAL", "0", "`wait-interval`"),
            ("INPUT_WAIT", "yes", "`wait`"),
            ("INPUT_WAIT_FOR", "a[", "`wait-for`"),
        ] {
            let err = Settings::from_env(&env(&[(k, v)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn index_urls_default_or_follow_an_overridden_upload_url() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(i.pypi.index_url.as_str(), DEFAULT_PYPI_INDEX_URL);
        assert_eq!(i.testpypi.index_url.as_str(), DEFAULT_TESTPYPI_INDEX_URL);
        assert!(i.skip_existing);
        assert_eq!(i.max_parallel, 8);
        let i = Settings::from_env(&env(&[
            ("INPUT_PYPI_URL", "http://127.0.0.1:8080/"),
            ("INPUT_TESTPYPI_URL", "https://idx.example/repo/legacy/"),
            (
                "INPUT_TESTPYPI_INDEX_URL",
                "https://idx.example/repo/simple",
            ),
        ]))
        .unwrap();
        assert_eq!(i.pypi.index_url.as_str(), "http://127.0.0.1:8080/simple/");
        assert_eq!(
            i.testpypi.index_url.as_str(),
            "https://idx.example/repo/simple/"
        );
        let err = Settings::from_env(&env(&[("INPUT_PYPI_INDEX_URL", "nope")])).unwrap_err();
        assert!(err.to_string().contains("`pypi-index-url`"), "{err}");
        // The default upload URL, spelled out, keeps the default index (upload.pypi.org
        // serves no simple index).
        let i = Settings::from_env(&env(&[
            ("INPUT_PYPI_URL", DEFAULT_PYPI_URL),
            ("INPUT_TESTPYPI_URL", DEFAULT_TESTPYPI_URL),
        ]))
        .unwrap();
        assert_eq!(i.pypi.index_url.as_str(), DEFAULT_PYPI_INDEX_URL);
        assert_eq!(i.testpypi.index_url.as_str(), DEFAULT_TESTPYPI_INDEX_URL);
    }

    #[test]
    fn upload_urls_fall_back_to_the_environment_and_say_so() {
        let i = Settings::from_env(&env(&[
            ("SDD_PUBLISH_PYPI_URL", "http://127.0.0.1:8080/"),
            ("SDD_PUBLISH_TESTPYPI_URL", " "),
        ]))
        .unwrap();
        assert_eq!(i.pypi.upload_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(i.pypi.index_url.as_str(), "http://127.0.0.1:8080/simple/");
        assert_eq!(i.testpypi.upload_url.as_str(), DEFAULT_TESTPYPI_URL);
        assert_eq!(i.pypi.url_from_env, Some("SDD_PUBLISH_PYPI_URL"));
        assert_eq!(
            i.target(Target::Pypi)
                .map(|t| (t.names.url_input, t.url_from_env)),
            Some(("pypi-url", Some("SDD_PUBLISH_PYPI_URL")))
        );
        assert_eq!(i.testpypi.url_from_env, None);
        // The input wins over the variable.
        let i = Settings::from_env(&env(&[
            ("SDD_PUBLISH_PYPI_URL", "http://127.0.0.1:8080/"),
            ("INPUT_PYPI_URL", "https://idx.example/legacy/"),
        ]))
        .unwrap();
        assert_eq!(i.pypi.upload_url.as_str(), "https://idx.example/legacy/");
        assert!(i.pypi.url_from_env.is_none() && i.testpypi.url_from_env.is_none());
        // A bad variable is named as the variable, not as the input the user never set.
        let err =
            Settings::from_env(&env(&[("SDD_PUBLISH_TESTPYPI_URL", "ftp://x/")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("environment variable SDD_PUBLISH_TESTPYPI_URL: got `ftp://x/`")
                && msg.contains("unset it"),
            "{msg}"
        );
        let err = Settings::from_env(&env(&[("SDD_PUBLISH_PYPI_URL", "https://u:p@x/")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("u:p"), "{err}");
    }

    #[test]
    fn skip_existing_and_max_parallel_are_validated() {
        let i = Settings::from_env(&env(&[
            ("INPUT_SKIP_EXISTING", "false"),
            ("INPUT_MAX_PARALLEL", " 8 "),
        ]))
        .unwrap();
        assert!(!i.skip_existing);
        assert_eq!(i.max_parallel, 8);
        for bad in ["0", "-1", "many", "33"] {
            let err = Settings::from_env(&env(&[("INPUT_MAX-PARALLEL", bad)])).unwrap_err();
            assert!(
                err.to_string().contains("`max-parallel`") && err.to_string().contains("1 to 32"),
                "{err}"
            );
        }
        let err = Settings::from_env(&env(&[("INPUT_SKIP_EXISTING", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("`skip-existing`"), "{err}");
    }

    #[test]
    fn a_bad_glob_is_an_input_error() {
        let err = Settings::from_env(&env(&[("INPUT_TAG_PATTERN", "v[")])).unwrap_err();
        assert!(err.to_string().contains("`tag-pattern`"), "{err}");
    }

    #[test]
    fn release_inputs_default_and_validate() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(i.release.when, ReleaseWhen::Auto);
        assert_eq!(i.release.name_template, "v{version}");
        assert!(i.release.assets && !i.release.draft && i.release.notes_file.is_none());
        let i = Settings::from_env(&env(&[
            ("INPUT_RELEASE", "true"),
            ("INPUT_DRAFT", "true"),
            ("INPUT_RELEASE-ASSETS", "false"),
            ("INPUT_RELEASE-NOTES-FILE", "docs/changes.md"),
        ]))
        .unwrap();
        assert_eq!(i.release.when, ReleaseWhen::Always);
        assert!(i.release.draft && !i.release.assets);
        assert_eq!(i.release.notes_file, Some(PathBuf::from("docs/changes.md")));
        let off = Settings::from_env(&env(&[("INPUT_RELEASE", "false")])).unwrap();
        assert_eq!(off.release.when, ReleaseWhen::Never);
        let e = Settings::from_env(&env(&[("INPUT_RELEASE", "sometimes")])).unwrap_err();
        assert!(e.to_string().contains("auto, true, false"), "{e}");
        let e =
            Settings::from_env(&env(&[("INPUT_RELEASE-NAME", "{nmae} {version}")])).unwrap_err();
        assert!(e.to_string().contains("`{nmae}`"), "{e}");
    }

    #[test]
    fn preflight_is_on_when_there_is_something_to_run() {
        let none = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(none.preflight, None);
        assert!(none.verify_commands.is_empty());
        let smoke = Settings::from_env(&env(&[(
            "INPUT_VERIFY_COMMAND",
            "improved-sdd --help\n\n  improved-sdd --version  \n",
        )]))
        .unwrap();
        assert_eq!(
            smoke.verify_commands,
            ["improved-sdd --help", "improved-sdd --version"]
        );
        assert_eq!(smoke.preflight, Some(PreflightSettings::default()));
        let tests = Settings::from_env(&env(&[
            ("INPUT_TEST_COMMAND", "pytest tests/unit -q"),
            (
                "INPUT_TEST_REQUIREMENTS",
                "# the runner\npytest>=8\n.[test, docs]\n-r requirements-test.txt\npytest-cov ; python_version >= '3.9'",
            ),
        ]))
        .unwrap();
        let p = tests.preflight.unwrap();
        assert_eq!(p.test_commands, ["pytest tests/unit -q"]);
        assert_eq!(
            p.requirements,
            [
                Requirement::Spec("pytest>=8".into()),
                Requirement::Extras(vec!["test".into(), "docs".into()]),
                Requirement::File(PathBuf::from("requirements-test.txt")),
                Requirement::Spec("pytest-cov ; python_version >= '3.9'".into()),
            ]
        );
        // Asked for without commands: the install alone is checked.
        let bare = Settings::from_env(&env(&[("INPUT_PREFLIGHT", "true")])).unwrap();
        assert_eq!(bare.preflight, Some(PreflightSettings::default()));
        let off = Settings::from_env(&env(&[
            ("INPUT_VERIFY_COMMAND", "x --help"),
            ("INPUT_PREFLIGHT", "false"),
        ]))
        .unwrap();
        assert_eq!(off.preflight, None);
        assert_eq!(off.verify_commands, ["x --help"]);
    }

    #[test]
    fn bad_preflight_settings_name_the_input_and_the_fix() {
        for (vars, input, says) in [
            (
                &[
                    ("INPUT_TEST_COMMAND", "pytest"),
                    ("INPUT_PREFLIGHT", "false"),
                ][..],
                "`preflight`",
                "`true` when `test-command` is set",
            ),
            (
                &[
                    ("INPUT_TEST_REQUIREMENTS", "pytest"),
                    ("INPUT_PREFLIGHT", "false"),
                ][..],
                "`preflight`",
                "`test-requirements`",
            ),
            (
                &[(
                    "INPUT_TEST_REQUIREMENTS",
                    "--extra-index-url https://x/simple/",
                )][..],
                "`test-requirements`",
                "installer options are not accepted",
            ),
            (
                &[("INPUT_TEST_REQUIREMENTS", ".[te st]")][..],
                "`test-requirements`",
                "an extra is a name",
            ),
            (
                &[("INPUT_TEST_REQUIREMENTS", "./vendor/tool.whl")][..],
                "`test-requirements`",
                "a path is not accepted",
            ),
            (
                &[("INPUT_TEST_REQUIREMENTS", "pytest >= = 8")][..],
                "`test-requirements`",
                "one requirement per line",
            ),
            (
                &[("INPUT_TEST_REQUIREMENTS", "pytest- >=8")][..],
                "`test-requirements`",
                "must end with a letter or digit",
            ),
            (
                &[("INPUT_PREFLIGHT", "sure")][..],
                "`preflight`",
                "YAML 1.2 boolean",
            ),
        ] {
            let msg = Settings::from_env(&env(vars)).unwrap_err().to_string();
            assert!(msg.contains(input) && msg.contains(says), "{vars:?}: {msg}");
        }
    }

    #[test]
    fn usernames_default_to_token_and_refuse_what_basic_auth_cannot_carry() {
        let i = Settings::from_env(&env(&[("INPUT_PYPI_TOKEN", "pypi-abc")])).unwrap();
        assert_eq!(i.pypi.username, TOKEN_USERNAME);
        assert!(!i.pypi.has_user());
        let c = i.pypi.credentials().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.expose()),
            ("__token__", "pypi-abc")
        );
        let i = Settings::from_env(&env(&[
            ("INPUT_TESTPYPI_USERNAME", " alice "),
            ("INPUT_TESTPYPI_TOKEN", "s3cret"),
        ]))
        .unwrap();
        assert_eq!(i.testpypi.username, "alice");
        assert!(i.testpypi.has_user() && !i.pypi.has_user());
        assert_eq!(i.testpypi.credentials().unwrap().username, "alice");
        assert!(i.pypi.credentials().is_none());
        for (k, bad) in [
            ("INPUT_PYPI_USERNAME", "alice:hunter22"),
            ("INPUT_TESTPYPI_USERNAME", "alice hunter22"),
            ("INPUT_PYPI_USERNAME", "alice\nhunter22"),
        ] {
            let msg = Settings::from_env(&env(&[(k, bad)]))
                .unwrap_err()
                .to_string();
            // A pasted `user:password` (or `user password`) shows the user only.
            assert!(
                !msg.contains("hunter22") && msg.contains("alice***"),
                "{msg}"
            );
            let input = k
                .trim_start_matches("INPUT_")
                .to_lowercase()
                .replace('_', "-");
            assert!(
                msg.contains(&format!("`{input}`")) && msg.contains("without `:`"),
                "{msg}"
            );
        }
    }

    #[test]
    fn testpypi_takes_dependencies_from_pypi_too() {
        let i = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(
            i.dependency_index(&i.testpypi).map(Url::as_str),
            Some(DEFAULT_PYPI_INDEX_URL)
        );
        assert_eq!(i.dependency_index(&i.pypi), None);
    }
}
