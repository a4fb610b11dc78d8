//! The action's inputs, read from `INPUT_*` with `@actions/core` semantics.
//!
//! The runner exports `with:` values as `INPUT_<NAME>` with the name upper-cased and dashes
//! kept (`INPUT_PACKAGES-DIR`); a composite action maps them by hand and usually writes
//! `INPUT_PACKAGES_DIR`, since dashes are not valid shell names. Both spellings are accepted.
//! An empty value means "not set" (Actions passes every declared input, empty when omitted),
//! and booleans take exactly the YAML 1.2 core spellings, as `getBooleanInput` does.
//!
//! Reading is two layers: `envy` turns the variables into raw optional strings, then
//! [`Inputs::from_raw`] validates each into a typed value with an error that names the input.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::Env;
use crate::auth::TrustedPublishing;
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
/// Upload URLs from the environment when the inputs are empty, as `TWINE_REPOSITORY_URL` and
/// `UV_PUBLISH_URL` do for those tools: a runner-wide mirror, or a local index in tests,
/// without editing the workflow. The run log names the variable whenever one is used.
pub const URL_ENV: [(&str, &str); 2] = [
    ("pypi-url", "SDD_PUBLISH_PYPI_URL"),
    ("testpypi-url", "SDD_PUBLISH_TESTPYPI_URL"),
];

/// Every input as the workflow wrote it; `None` when absent or empty. No `Debug`: the token
/// fields are plain strings here, and a `{:?}` would print them.
#[derive(Default, Deserialize)]
pub struct RawInputs {
    pub mode: Option<String>,
    pub tag_pattern: Option<String>,
    pub branches: Option<String>,
    pub packages_dir: Option<String>,
    pub pypi_token: Option<String>,
    pub testpypi_token: Option<String>,
    pub pypi_url: Option<String>,
    pub testpypi_url: Option<String>,
    pub dry_run: Option<String>,
    pub plan_only: Option<String>,
    pub build: Option<String>,
    pub dev_version: Option<String>,
    pub version_files: Option<String>,
    pub trusted_publishing: Option<String>,
    pub wait: Option<String>,
    pub wait_for: Option<String>,
    pub wait_timeout: Option<String>,
    pub wait_interval: Option<String>,
    pub appear_timeout: Option<String>,
    pub allowed_conclusions: Option<String>,
    pub github_token: Option<String>,
    pub verify_install: Option<String>,
    pub verify_command: Option<String>,
    pub verify_strict: Option<String>,
    pub verify_timeout: Option<String>,
    pub pypi_index_url: Option<String>,
    pub testpypi_index_url: Option<String>,
    pub skip_existing: Option<String>,
    pub max_parallel: Option<String>,
    pub release: Option<String>,
    pub release_name: Option<String>,
    pub release_body: Option<String>,
    pub release_notes_file: Option<String>,
    pub draft: Option<String>,
    pub release_assets: Option<String>,
}

/// Input names whose values are secrets: masked first, never echoed in an error.
pub const SECRET_INPUTS: &[&str] = &["pypi-token", "testpypi-token", "github-token"];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InputError {
    #[error("input `{input}`: got `{value}`, expected {expected}. Fix the `{input}:` value under `with:` in your workflow")]
    Invalid {
        input: String,
        value: String,
        expected: String,
    },
    #[error("input `{input}` is given twice, as INPUT_{dashed} and INPUT_{underscored}, with different values; set it once")]
    Conflict {
        input: String,
        dashed: String,
        underscored: String,
    },
    #[error("reading the INPUT_* variables failed: {0}")]
    Env(String),
    #[error("environment variable {var}: got `{value}`, expected {expected}. It stands in for the empty `{input}` input: fix it or unset it")]
    EnvVar {
        var: String,
        input: String,
        value: String,
        expected: String,
    },
    #[error(transparent)]
    Tuning(#[from] crate::index::TuningError),
}

#[derive(Debug, Clone)]
pub struct Inputs {
    pub mode: Mode,
    pub tag_pattern: String,
    /// Publish branches (globs); empty = the repository's default branch.
    pub branches: Vec<String>,
    pub packages_dir: PathBuf,
    pub pypi_token: Option<Secret>,
    pub testpypi_token: Option<Secret>,
    pub pypi_url: Url,
    pub testpypi_url: Url,
    pub dry_run: bool,
    /// Decide and write the outputs, nothing else: for a gate job that runs before the build.
    pub plan_only: bool,
    /// Simple index of each target, asked what it already has before uploading.
    pub pypi_index_url: Url,
    pub testpypi_index_url: Url,
    /// An identical file already on the index is skipped (true) or an error (false).
    pub skip_existing: bool,
    pub max_parallel: usize,
    /// Retry/timeout settings: not inputs, hidden `SDD_PUBLISH_*` variables (for tests).
    pub tuning: crate::index::Tuning,
    /// The [`URL_ENV`] variables that supplied an upload URL, for the log.
    pub url_env: Vec<&'static str>,
    /// Build command run before checking the distributions (empty: build nothing).
    pub build: Option<String>,
    /// Stamp `X.Y.Z.devN` before building for TestPyPI.
    pub dev_version: bool,
    /// Extra files whose `__version__` is stamped too.
    pub version_files: Vec<PathBuf>,
    /// `auto | always | never`: mint a token by OIDC when no token input is given.
    pub trusted_publishing: TrustedPublishing,
    /// The wait-for-checks gate; `None` when it is off.
    pub wait: Option<WaitInputs>,
    /// For GitHub's API (the checks gate); `github-token`, default `${{ github.token }}`.
    pub github_token: Option<Secret>,
    /// After the upload: install `name==version` into a fresh environment.
    pub verify_install: bool,
    /// Run in that environment after installing, e.g. `improved-sdd --help`.
    pub verify_command: Option<String>,
    /// A verification failure fails the run (default: a warning; the files are public).
    pub verify_strict: bool,
    pub verify_timeout: Duration,
    /// The GitHub Release after the upload.
    pub release: ReleaseInputs,
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
pub struct ReleaseInputs {
    pub when: ReleaseWhen,
    pub name_template: String,
    pub body_template: String,
    /// `release-notes-file`; `None` = `CHANGELOG.md` in the workspace.
    pub notes_file: Option<PathBuf>,
    pub draft: bool,
    /// Attach the distributions as assets.
    pub assets: bool,
}

fn release_inputs(raw: &RawInputs) -> Result<ReleaseInputs, InputError> {
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
        .unwrap_or_else(|| crate::release::DEFAULT_NAME_TEMPLATE.into());
    let body_template = raw
        .release_body
        .clone()
        .unwrap_or_else(|| crate::release::DEFAULT_BODY_TEMPLATE.into());
    for (input, template) in [
        ("release-name", &name_template),
        ("release-body", &body_template),
    ] {
        crate::release::check_template(template, input).map_err(|e| InputError::Invalid {
            input: input.into(),
            value: template.clone(),
            expected: e.to_string(),
        })?;
    }
    Ok(ReleaseInputs {
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

/// The gate's settings. `wait` defaults to off, and to on when `wait-for` names checks.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitInputs {
    /// Names or globs; empty = every check on the commit outside this workflow run.
    pub checks: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
    pub appear_timeout: Duration,
    pub allowed_conclusions: Vec<String>,
}

impl RawInputs {
    /// Collect `INPUT_*`: normalise `-` to `_` (so both spellings land on one field), drop
    /// empty values, and refuse two spellings of one input with different values.
    pub fn from_env(env: &dyn Env) -> Result<RawInputs, InputError> {
        let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (key, value) in env.vars() {
            let Some(name) = key.strip_prefix("INPUT_") else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let norm = name.replace('-', "_");
            if let Some((other_key, other_value)) = seen.get(&norm) {
                if *other_value != value {
                    let (dashed, underscored) = if other_key.contains('-') {
                        (other_key.clone(), name.to_string())
                    } else {
                        (name.to_string(), other_key.clone())
                    };
                    return Err(InputError::Conflict {
                        input: norm.to_lowercase().replace('_', "-"),
                        dashed,
                        underscored,
                    });
                }
                continue;
            }
            seen.insert(norm, (name.to_string(), value));
        }
        envy::prefixed("INPUT_")
            .from_iter(
                seen.into_iter()
                    .map(|(norm, (_, value))| (format!("INPUT_{norm}"), value)),
            )
            .map_err(|e| InputError::Env(e.to_string()))
    }
}

/// The secret inputs' values straight from `INPUT_*` (either spelling), for masking when the
/// inputs as a whole could not be read.
pub fn raw_secrets(env: &dyn Env) -> Vec<Secret> {
    env.vars()
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("INPUT_")?.to_lowercase().replace('_', "-");
            (SECRET_INPUTS.contains(&name.as_str()) && !v.trim().is_empty())
                .then(|| Secret::new(v.trim()))
        })
        .collect()
}

/// `getBooleanInput`'s accepted spellings.
pub fn parse_bool(input: &str, value: &str) -> Result<bool, InputError> {
    match value.trim() {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        other => Err(InputError::Invalid {
            input: input.into(),
            value: other.into(),
            expected: "a YAML 1.2 boolean: true | True | TRUE | false | False | FALSE".into(),
        }),
    }
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

/// A list input: one item per line or comma-separated, blanks dropped.
pub fn parse_list(value: &str) -> Vec<String> {
    value
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_url(input: &str, value: &str) -> Result<Url, InputError> {
    let invalid = |why: &str| InputError::Invalid {
        input: input.into(),
        value: value.into(),
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

fn secret(value: Option<String>) -> Option<Secret> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

impl Inputs {
    pub fn from_env(env: &dyn Env) -> Result<Inputs, InputError> {
        let mut raw = RawInputs::from_env(env)?;
        let mut url_env = Vec::new();
        for (input, var) in URL_ENV {
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
        let mut inputs = Inputs::from_raw(raw)?;
        inputs.url_env = url_env;
        inputs.tuning = crate::index::Tuning::from_lookup(&|k| env.get(k))?;
        Ok(inputs)
    }

    pub fn from_raw(raw: RawInputs) -> Result<Inputs, InputError> {
        let wait = wait_inputs(&raw)?;
        let release = release_inputs(&raw)?;
        let mode = match raw.mode.as_deref().map(str::trim) {
            None => Mode::Auto,
            Some(m) => m.parse::<Mode>().map_err(|_| InputError::Invalid {
                input: "mode".into(),
                value: m.into(),
                expected: "one of auto, testpypi, pypi".into(),
            })?,
        };
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
        let verify_command = raw
            .verify_command
            .clone()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
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
        let trusted_publishing = match raw.trusted_publishing.as_deref().map(str::trim) {
            None => TrustedPublishing::Auto,
            Some(v) => v.parse().map_err(|_| InputError::Invalid {
                input: "trusted-publishing".into(),
                value: v.into(),
                expected: "one of auto, always, never".into(),
            })?,
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
        let pypi_url = parse_url(
            "pypi-url",
            raw.pypi_url.as_deref().unwrap_or(DEFAULT_PYPI_URL),
        )?;
        let testpypi_url = parse_url(
            "testpypi-url",
            raw.testpypi_url.as_deref().unwrap_or(DEFAULT_TESTPYPI_URL),
        )?;
        // Only a non-default upload URL moves the index: upload.pypi.org serves no /simple/.
        let pypi_index_url = index_url(
            "pypi-index-url",
            raw.pypi_index_url.as_deref(),
            (pypi_url.as_str() != DEFAULT_PYPI_URL).then_some(&pypi_url),
            DEFAULT_PYPI_INDEX_URL,
        )?;
        let testpypi_index_url = index_url(
            "testpypi-index-url",
            raw.testpypi_index_url.as_deref(),
            (testpypi_url.as_str() != DEFAULT_TESTPYPI_URL).then_some(&testpypi_url),
            DEFAULT_TESTPYPI_INDEX_URL,
        )?;
        Ok(Inputs {
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
            pypi_token: secret(raw.pypi_token),
            testpypi_token: secret(raw.testpypi_token),
            pypi_url,
            testpypi_url,
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
            verify_command,
            verify_strict,
            verify_timeout,
            pypi_index_url,
            testpypi_index_url,
            skip_existing,
            max_parallel,
            tuning: crate::index::Tuning::default(),
            url_env: Vec::new(),
        })
    }

    /// For `target`'s upload URL: its input and the [`URL_ENV`] variable that stood in for
    /// it, when the input was empty and the variable was used.
    pub fn upload_url_env(&self, target: Target) -> Option<(&'static str, &'static str)> {
        let input = match target {
            Target::Pypi => "pypi-url",
            Target::Testpypi => "testpypi-url",
            Target::None => return None,
        };
        URL_ENV
            .into_iter()
            .find(|(i, var)| *i == input && self.url_env.contains(var))
    }

    /// The secrets among the inputs, for masking before anything prints.
    pub fn secrets(&self) -> Vec<&Secret> {
        self.pypi_token
            .iter()
            .chain(self.testpypi_token.iter())
            .chain(self.github_token.iter())
            .collect()
    }
}

fn duration(input: &str, value: Option<&str>, default: Duration) -> Result<Duration, InputError> {
    match value {
        None => Ok(default),
        Some(v) => crate::checks::parse_duration(v).map_err(|e| InputError::Invalid {
            input: input.into(),
            value: v.into(),
            expected: format!("a duration such as `90s`, `30m`, `1h` or plain seconds ({e})"),
        }),
    }
}

fn wait_inputs(raw: &RawInputs) -> Result<Option<WaitInputs>, InputError> {
    let checks = raw.wait_for.as_deref().map(parse_list).unwrap_or_default();
    for c in &checks {
        glob(
            "wait-for",
            c,
            "check names or `*` globs, one per line or comma-separated",
        )?;
    }
    let on = flag("wait", raw.wait.as_deref(), !checks.is_empty())?;
    let settings = WaitInputs {
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
            None => crate::checks::DEFAULT_ALLOWED
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

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_when_nothing_or_empty_is_given() {
        let i = Inputs::from_env(&env(&[("INPUT_MODE", ""), ("INPUT_PACKAGES-DIR", "")])).unwrap();
        assert_eq!(i.mode, Mode::Auto);
        assert_eq!(i.tag_pattern, "v*");
        assert_eq!(i.packages_dir, PathBuf::from("dist"));
        assert_eq!(i.pypi_url.as_str(), DEFAULT_PYPI_URL);
        assert_eq!(i.testpypi_url.as_str(), DEFAULT_TESTPYPI_URL);
        assert!(i.pypi_token.is_none() && !i.dry_run && i.branches.is_empty());
    }

    #[test]
    fn dashed_and_underscored_names_both_work() {
        let a = Inputs::from_env(&env(&[("INPUT_PACKAGES-DIR", "out")])).unwrap();
        let b = Inputs::from_env(&env(&[("INPUT_PACKAGES_DIR", "out")])).unwrap();
        let c = Inputs::from_env(&env(&[
            ("INPUT_PACKAGES_DIR", "out"),
            ("INPUT_PACKAGES-DIR", "out"),
        ]))
        .unwrap();
        for i in [a, b, c] {
            assert_eq!(i.packages_dir, PathBuf::from("out"));
        }
        let err = Inputs::from_env(&env(&[
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
            let i = Inputs::from_env(&env(&[("INPUT_DRY-RUN", v)])).unwrap();
            assert_eq!(i.dry_run, want, "{v}");
        }
        for v in ["yes", "1", "on", "tRUE"] {
            let err = Inputs::from_env(&env(&[("INPUT_DRY_RUN", v)])).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("`dry-run`") && msg.contains("YAML 1.2"),
                "{msg}"
            );
        }
    }

    #[test]
    fn unknown_mode_names_the_input_and_the_choices() {
        let err = Inputs::from_env(&env(&[("INPUT_MODE", "production")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `mode`: got `production`, expected one of auto, testpypi, pypi. \
             Fix the `mode:` value under `with:` in your workflow"
        );
    }

    #[test]
    fn urls_are_validated_and_credentials_never_echoed() {
        let err = Inputs::from_env(&env(&[("INPUT_PYPI-URL", "not a url")])).unwrap_err();
        assert!(err.to_string().contains("`pypi-url`"));
        let err = Inputs::from_env(&env(&[("INPUT_TESTPYPI_URL", "ftp://x/legacy/")])).unwrap_err();
        assert!(err.to_string().contains("`testpypi-url`"));
        let err = Inputs::from_env(&env(&[(
            "INPUT_PYPI_URL",
            "https://__token__:pypi-SECRET@upload.example/legacy/",
        )]))
        .unwrap_err();
        assert!(!err.to_string().contains("pypi-SECRET"), "{err}");
    }

    #[test]
    fn lists_and_tokens() {
        let i = Inputs::from_env(&env(&[
            ("INPUT_BRANCHES", "main\nrelease/*, next\n\n"),
            ("INPUT_PYPI_TOKEN", "  pypi-abc \n"),
        ]))
        .unwrap();
        assert_eq!(i.branches, vec!["main", "release/*", "next"]);
        assert_eq!(i.pypi_token.as_ref().map(|s| s.expose()), Some("pypi-abc"));
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
        assert!(Inputs::from_env(&e).is_err());
        let mut found: Vec<_> = raw_secrets(&e)
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        found.sort();
        assert_eq!(found, ["ghs_b", "pypi-a"]);
    }

    #[test]
    fn trusted_publishing_modes() {
        let i = Inputs::from_env(&env(&[])).unwrap();
        assert_eq!(i.trusted_publishing, TrustedPublishing::Auto);
        for (v, want) in [
            ("auto", TrustedPublishing::Auto),
            ("always", TrustedPublishing::Always),
            (" never ", TrustedPublishing::Never),
        ] {
            let i = Inputs::from_env(&env(&[("INPUT_TRUSTED-PUBLISHING", v)])).unwrap();
            assert_eq!(i.trusted_publishing, want, "{v}");
        }
        let err = Inputs::from_env(&env(&[("INPUT_TRUSTED_PUBLISHING", "yes")])).unwrap_err();
        assert!(
            err.to_string().contains("`trusted-publishing`")
                && err.to_string().contains("auto, always, never"),
            "{err}"
        );
    }

    #[test]
    fn wait_is_off_by_default_and_on_when_checks_are_named() {
        let i = Inputs::from_env(&env(&[])).unwrap();
        assert_eq!(i.wait, None);
        let i = Inputs::from_env(&env(&[("INPUT_WAIT", "true")])).unwrap();
        let w = i.wait.unwrap();
        assert!(w.checks.is_empty());
        assert_eq!(w.timeout, Duration::from_secs(1800));
        assert_eq!(w.interval, Duration::from_secs(10));
        assert_eq!(w.appear_timeout, Duration::from_secs(300));
        assert_eq!(w.allowed_conclusions, ["success", "neutral", "skipped"]);
        let i = Inputs::from_env(&env(&[
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
            Inputs::from_env(&env(&[("INPUT_WAIT_FOR", "x"), ("INPUT_WAIT", "false")])).unwrap();
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
            let err = Inputs::from_env(&env(&[(k, v)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn index_urls_default_or_follow_an_overridden_upload_url() {
        let i = Inputs::from_env(&env(&[])).unwrap();
        assert_eq!(i.pypi_index_url.as_str(), DEFAULT_PYPI_INDEX_URL);
        assert_eq!(i.testpypi_index_url.as_str(), DEFAULT_TESTPYPI_INDEX_URL);
        assert!(i.skip_existing);
        assert_eq!(i.max_parallel, 8);
        let i = Inputs::from_env(&env(&[
            ("INPUT_PYPI_URL", "http://127.0.0.1:8080/"),
            ("INPUT_TESTPYPI_URL", "https://idx.example/repo/legacy/"),
            (
                "INPUT_TESTPYPI_INDEX_URL",
                "https://idx.example/repo/simple",
            ),
        ]))
        .unwrap();
        assert_eq!(i.pypi_index_url.as_str(), "http://127.0.0.1:8080/simple/");
        assert_eq!(
            i.testpypi_index_url.as_str(),
            "https://idx.example/repo/simple/"
        );
        let err = Inputs::from_env(&env(&[("INPUT_PYPI_INDEX_URL", "nope")])).unwrap_err();
        assert!(err.to_string().contains("`pypi-index-url`"), "{err}");
        // The default upload URL, spelled out, keeps the default index (upload.pypi.org
        // serves no simple index).
        let i = Inputs::from_env(&env(&[
            ("INPUT_PYPI_URL", DEFAULT_PYPI_URL),
            ("INPUT_TESTPYPI_URL", DEFAULT_TESTPYPI_URL),
        ]))
        .unwrap();
        assert_eq!(i.pypi_index_url.as_str(), DEFAULT_PYPI_INDEX_URL);
        assert_eq!(i.testpypi_index_url.as_str(), DEFAULT_TESTPYPI_INDEX_URL);
    }

    #[test]
    fn upload_urls_fall_back_to_the_environment_and_say_so() {
        let i = Inputs::from_env(&env(&[
            ("SDD_PUBLISH_PYPI_URL", "http://127.0.0.1:8080/"),
            ("SDD_PUBLISH_TESTPYPI_URL", " "),
        ]))
        .unwrap();
        assert_eq!(i.pypi_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(i.pypi_index_url.as_str(), "http://127.0.0.1:8080/simple/");
        assert_eq!(i.testpypi_url.as_str(), DEFAULT_TESTPYPI_URL);
        assert_eq!(i.url_env, vec!["SDD_PUBLISH_PYPI_URL"]);
        assert_eq!(
            i.upload_url_env(Target::Pypi),
            Some(("pypi-url", "SDD_PUBLISH_PYPI_URL"))
        );
        assert_eq!(i.upload_url_env(Target::Testpypi), None);
        // The input wins over the variable.
        let i = Inputs::from_env(&env(&[
            ("SDD_PUBLISH_PYPI_URL", "http://127.0.0.1:8080/"),
            ("INPUT_PYPI_URL", "https://idx.example/legacy/"),
        ]))
        .unwrap();
        assert_eq!(i.pypi_url.as_str(), "https://idx.example/legacy/");
        assert!(i.url_env.is_empty() && i.upload_url_env(Target::Pypi).is_none());
        // A bad variable is named as the variable, not as the input the user never set.
        let err = Inputs::from_env(&env(&[("SDD_PUBLISH_TESTPYPI_URL", "ftp://x/")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("environment variable SDD_PUBLISH_TESTPYPI_URL: got `ftp://x/`")
                && msg.contains("unset it"),
            "{msg}"
        );
        let err = Inputs::from_env(&env(&[("SDD_PUBLISH_PYPI_URL", "https://u:p@x/")]))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("u:p"), "{err}");
    }

    #[test]
    fn skip_existing_and_max_parallel_are_validated() {
        let i = Inputs::from_env(&env(&[
            ("INPUT_SKIP_EXISTING", "false"),
            ("INPUT_MAX_PARALLEL", " 8 "),
        ]))
        .unwrap();
        assert!(!i.skip_existing);
        assert_eq!(i.max_parallel, 8);
        for bad in ["0", "-1", "many", "33"] {
            let err = Inputs::from_env(&env(&[("INPUT_MAX-PARALLEL", bad)])).unwrap_err();
            assert!(
                err.to_string().contains("`max-parallel`") && err.to_string().contains("1 to 32"),
                "{err}"
            );
        }
        let err = Inputs::from_env(&env(&[("INPUT_SKIP_EXISTING", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("`skip-existing`"), "{err}");
    }

    #[test]
    fn a_bad_glob_is_an_input_error() {
        let err = Inputs::from_env(&env(&[("INPUT_TAG_PATTERN", "v[")])).unwrap_err();
        assert!(err.to_string().contains("`tag-pattern`"), "{err}");
    }

    #[test]
    fn release_inputs_default_and_validate() {
        let i = Inputs::from_env(&env(&[])).unwrap();
        assert_eq!(i.release.when, ReleaseWhen::Auto);
        assert_eq!(i.release.name_template, "v{version}");
        assert!(i.release.assets && !i.release.draft && i.release.notes_file.is_none());
        let i = Inputs::from_env(&env(&[
            ("INPUT_RELEASE", "true"),
            ("INPUT_DRAFT", "true"),
            ("INPUT_RELEASE-ASSETS", "false"),
            ("INPUT_RELEASE-NOTES-FILE", "docs/changes.md"),
        ]))
        .unwrap();
        assert_eq!(i.release.when, ReleaseWhen::Always);
        assert!(i.release.draft && !i.release.assets);
        assert_eq!(i.release.notes_file, Some(PathBuf::from("docs/changes.md")));
        let off = Inputs::from_env(&env(&[("INPUT_RELEASE", "false")])).unwrap();
        assert_eq!(off.release.when, ReleaseWhen::Never);
        let e = Inputs::from_env(&env(&[("INPUT_RELEASE", "sometimes")])).unwrap_err();
        assert!(e.to_string().contains("auto, true, false"), "{e}");
        let e = Inputs::from_env(&env(&[("INPUT_RELEASE-NAME", "{nmae} {version}")])).unwrap_err();
        assert!(e.to_string().contains("`{nmae}`"), "{e}");
    }
}
