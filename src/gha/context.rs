//! The run's context: who triggered it, on which ref and commit, in which repository.
//!
//! Read from the `GITHUB_*` variables the runner sets, plus the event payload file for what
//! only the payload knows (the repository's default branch, whether it is a fork).

use std::path::{Path, PathBuf};

use super::Env;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("GITHUB_EVENT_PATH `{}` could not be read: {source}. It is set by the runner: do not override it in the workflow's `env:` (outside Actions, point it at a JSON event file or unset it)", path.display())]
    EventUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("GITHUB_EVENT_PATH `{}` is not valid JSON ({source}); it must hold the webhook payload of the triggering event. It is set by the runner: do not override it in the workflow's `env:` (outside Actions, point it at a JSON event file or unset it)", path.display())]
    EventInvalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("GITHUB_EVENT_PATH `{}` is JSON but not a webhook payload: {problem}. It is set by the runner: do not override it in the workflow's `env:` (outside Actions, point it at a JSON object such as `{{\"repository\": {{\"default_branch\": \"main\", \"fork\": false}}}}`, or unset it)", path.display())]
    EventShape { path: PathBuf, problem: String },
    /// A variable the runner sets holds something it never would.
    #[error("{var} is `{value}`, expected {expected}. It is set by the runner: do not override it in the workflow's `env:` (outside Actions, fix or unset it)")]
    Malformed {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{var} `{}` is not a directory ({problem}). It is set by the runner: do not override it in the workflow's `env:` (outside Actions, point it at an existing directory or unset it)", path.display())]
    NotADirectory {
        var: &'static str,
        path: PathBuf,
        problem: String,
    },
    /// The value is not repeated: the harness may treat anything near a token as secret.
    #[error("{} is not an http(s) URL. It is set by the runner when the job has `permissions: id-token: write`: do not override it in the workflow's `env:`", super::oidc::REQUEST_URL_VAR)]
    IdTokenUrl,
    #[error("{set} is set but {missing} is not: the runner sets both when the job has `permissions: id-token: write`. Do not set or clear one of them in the workflow's `env:`")]
    IdTokenHalf {
        set: &'static str,
        missing: &'static str,
    },
}

/// A `u64` variable: absent or empty is `None`, anything but digits is an error.
fn number(env: &dyn Env, var: &'static str) -> Result<Option<u64>, ContextError> {
    match env.get(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ContextError::Malformed {
                var,
                value: v,
                expected: "a whole number such as 17",
            }),
    }
}

/// An http(s) URL variable, or the default when absent or empty.
fn http_url(env: &dyn Env, var: &'static str, default: &str) -> Result<String, ContextError> {
    let Some(v) = env.get(var).filter(|v| !v.is_empty()) else {
        return Ok(default.to_owned());
    };
    match url::Url::parse(v.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(v),
        _ => Err(ContextError::Malformed {
            var,
            value: crate::secret::url_shown(&v),
            expected: "an http(s) URL such as https://api.github.com",
        }),
    }
}

/// A directory variable: absent or empty is `None`; set, it must name an existing directory.
fn directory(env: &dyn Env, var: &'static str) -> Result<Option<PathBuf>, ContextError> {
    let Some(v) = env.get(var).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(v);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(Some(path)),
        Ok(_) => Err(ContextError::NotADirectory {
            var,
            path,
            problem: "it is a file".into(),
        }),
        Err(e) => Err(ContextError::NotADirectory {
            var,
            path,
            problem: e.to_string(),
        }),
    }
}

/// The payload's fields we read must have the types GitHub gives them.
fn check_shape(event: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let Value::Object(top) = event else {
        return Err(format!(
            "the top level is {}, expected an object",
            kind(event)
        ));
    };
    match top.get("repository") {
        None | Some(Value::Null) => {}
        Some(Value::Object(repo)) => {
            for (field, ok) in [("default_branch", "a string"), ("fork", "true or false")] {
                let good = match repo.get(field) {
                    None | Some(Value::Null) => true,
                    Some(v) if field == "fork" => v.is_boolean(),
                    Some(v) => v.is_string(),
                };
                if !good {
                    return Err(format!(
                        "`repository.{field}` is {}, expected {ok}",
                        kind(&repo[field])
                    ));
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "`repository` is {}, expected an object",
                kind(other)
            ))
        }
    }
    Ok(())
}

fn kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `GITHUB_EVENT_NAME`: push, pull_request, workflow_dispatch, release, ...
    pub event_name: String,
    /// `GITHUB_REF`: `refs/tags/v1.2.0`, `refs/heads/main`, `refs/pull/7/merge`.
    pub git_ref: String,
    pub sha: String,
    /// `owner/name`.
    pub repository: String,
    /// From the event payload's `repository.default_branch`, when the payload has one.
    pub default_branch: Option<String>,
    /// The payload's `repository.fork`.
    pub fork: bool,
    pub run_id: Option<u64>,
    pub run_number: Option<u64>,
    pub run_attempt: Option<u64>,
    pub workflow: String,
    pub server_url: String,
    pub api_url: String,
    pub workspace: Option<PathBuf>,
    pub runner_os: Option<String>,
    pub runner_arch: Option<String>,
    /// `RUNNER_NAME`: tells our own job apart among the run's jobs.
    pub runner_name: Option<String>,
    pub runner_temp: Option<PathBuf>,
    /// The whole payload, for the stages that need more of it.
    pub event: serde_json::Value,
    /// Set when the job may mint an OIDC ID token (`permissions: id-token: write`).
    pub id_token: Option<super::oidc::IdTokenRequest>,
}

impl Context {
    /// Read the context. Variables that are absent (or empty) stay empty or take GitHub's
    /// default: outside Actions a user runs subcommands without any of them, and the plan
    /// says "no ref" instead of failing. A variable that is set to something the runner
    /// never sets (a run number that is not a number, an API URL that is not a URL, a
    /// workspace or temp dir that does not exist, a payload that is not a payload) is an
    /// error naming it: guessing would publish from the wrong place or as the wrong version.
    pub fn from_env(env: &dyn Env) -> Result<Context, ContextError> {
        let event = match env.get("GITHUB_EVENT_PATH").filter(|v| !v.is_empty()) {
            Some(p) => {
                let path = PathBuf::from(p);
                let bytes =
                    std::fs::read(&path).map_err(|source| ContextError::EventUnreadable {
                        path: path.clone(),
                        source,
                    })?;
                Context::parse_event(&path, &bytes)?
            }
            None => serde_json::Value::Null,
        };
        Context::with_event(env, event)
    }

    /// The event payload file's bytes, parsed and shape-checked (`path` only names it in
    /// the error).
    pub fn parse_event(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, ContextError> {
        let event: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|source| ContextError::EventInvalid {
                path: path.to_path_buf(),
                source,
            })?;
        check_shape(&event).map_err(|problem| ContextError::EventShape {
            path: path.to_path_buf(),
            problem,
        })?;
        Ok(event)
    }

    /// The context from the variables and an already parsed payload.
    pub fn with_event(env: &dyn Env, event: serde_json::Value) -> Result<Context, ContextError> {
        let s = |k: &str| env.get(k).unwrap_or_default();
        let opt = |k: &str| env.get(k).filter(|v| !v.is_empty());

        let repo = event.get("repository");
        let default_branch = repo
            .and_then(|r| r.get("default_branch"))
            .and_then(|b| b.as_str())
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
        let fork = repo
            .and_then(|r| r.get("fork"))
            .and_then(|f| f.as_bool())
            .unwrap_or(false);

        let sha = s("GITHUB_SHA");
        let full_hash = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
        if !sha.is_empty() && !full_hash {
            return Err(ContextError::Malformed {
                var: "GITHUB_SHA",
                value: sha,
                expected: "a full commit hash (40 or 64 hex digits)",
            });
        }
        let repository = s("GITHUB_REPOSITORY");
        let well_formed = matches!(repository.split_once('/'), Some((o, n))
            if !o.is_empty() && !n.is_empty() && !n.contains('/')
                && !repository.chars().any(char::is_whitespace));
        if !repository.is_empty() && !well_formed {
            return Err(ContextError::Malformed {
                var: "GITHUB_REPOSITORY",
                value: repository,
                expected: "`owner/name`, e.g. octo-org/improved-sdd",
            });
        }
        let (url_var, token_var) = (super::oidc::REQUEST_URL_VAR, super::oidc::REQUEST_TOKEN_VAR);
        let has = |k: &str| env.get(k).is_some_and(|v| !v.trim().is_empty());
        match (has(url_var), has(token_var)) {
            (true, false) => {
                return Err(ContextError::IdTokenHalf {
                    set: url_var,
                    missing: token_var,
                })
            }
            (false, true) => {
                return Err(ContextError::IdTokenHalf {
                    set: token_var,
                    missing: url_var,
                })
            }
            (true, true) => {
                http_url(env, url_var, "").map_err(|_| ContextError::IdTokenUrl)?;
            }
            (false, false) => {}
        }

        Ok(Context {
            event_name: s("GITHUB_EVENT_NAME"),
            git_ref: s("GITHUB_REF"),
            sha,
            repository,
            default_branch,
            fork,
            run_id: number(env, "GITHUB_RUN_ID")?,
            run_number: number(env, "GITHUB_RUN_NUMBER")?,
            run_attempt: number(env, "GITHUB_RUN_ATTEMPT")?,
            workflow: s("GITHUB_WORKFLOW"),
            server_url: http_url(env, "GITHUB_SERVER_URL", "https://github.com")?,
            api_url: http_url(env, "GITHUB_API_URL", "https://api.github.com")?,
            workspace: directory(env, "GITHUB_WORKSPACE")?,
            runner_os: opt("RUNNER_OS"),
            runner_arch: opt("RUNNER_ARCH"),
            runner_name: opt("RUNNER_NAME"),
            runner_temp: directory(env, "RUNNER_TEMP")?,
            event,
            id_token: super::oidc::IdTokenRequest::from_env(env),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gha::test_env as env;

    #[test]
    fn reads_variables_and_the_payload() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"ref":"refs/tags/v1.0.0","repository":{"full_name":"o/r","default_branch":"master","fork":false}}"#,
        )
        .unwrap();
        let e = env(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/tags/v1.0.0"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_NUMBER", "41"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_API_URL", "http://127.0.0.1:9/api"),
        ]);
        let c = Context::from_env(&e).unwrap();
        assert_eq!(c.event_name, "push");
        assert_eq!(c.default_branch.as_deref(), Some("master"));
        assert_eq!((c.run_number, c.run_attempt), (Some(41), Some(2)));
        assert_eq!(c.api_url, "http://127.0.0.1:9/api");
        assert_eq!(c.server_url, "https://github.com");
        assert!(!c.fork);
    }

    #[test]
    fn no_payload_is_fine_a_broken_one_is_an_error() {
        let c = Context::from_env(&env(&[])).unwrap();
        assert_eq!(c.default_branch, None);

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = Context::from_env(&env(&[("GITHUB_EVENT_PATH", missing.to_str().unwrap())]))
            .unwrap_err();
        assert!(err.to_string().contains("nope.json"), "{err}");

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let err =
            Context::from_env(&env(&[("GITHUB_EVENT_PATH", bad.to_str().unwrap())])).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
