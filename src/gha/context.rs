//! The run's context: who triggered it, on which ref and commit, in which repository.
//!
//! Read from the `GITHUB_*` variables the runner sets, plus the event payload file for what
//! only the payload knows (the repository's default branch, whether it is a fork).

use std::path::{Path, PathBuf};

use super::Env;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("GITHUB_EVENT_PATH `{}` could not be read: {source}. It is set by the runner; outside Actions unset it or point it at a JSON event file", path.display())]
    EventUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("GITHUB_EVENT_PATH `{}` is not valid JSON ({source}); it must hold the webhook payload of the triggering event", path.display())]
    EventInvalid {
        path: PathBuf,
        source: serde_json::Error,
    },
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
    /// Read the context. Variables that are absent stay empty: outside Actions a user runs
    /// subcommands without any of them, and the plan says "no ref" instead of failing.
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
        Ok(Context::with_event(env, event))
    }

    /// The event payload file's bytes (`path` only names it in the error).
    pub fn parse_event(path: &Path, bytes: &[u8]) -> Result<serde_json::Value, ContextError> {
        serde_json::from_slice(bytes).map_err(|source| ContextError::EventInvalid {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The context from the variables and an already parsed payload.
    pub fn with_event(env: &dyn Env, event: serde_json::Value) -> Context {
        let s = |k: &str| env.get(k).unwrap_or_default();
        let n = |k: &str| env.get(k).and_then(|v| v.trim().parse::<u64>().ok());
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

        Context {
            event_name: s("GITHUB_EVENT_NAME"),
            git_ref: s("GITHUB_REF"),
            sha: s("GITHUB_SHA"),
            repository: s("GITHUB_REPOSITORY"),
            default_branch,
            fork,
            run_id: n("GITHUB_RUN_ID"),
            run_number: n("GITHUB_RUN_NUMBER"),
            run_attempt: n("GITHUB_RUN_ATTEMPT"),
            workflow: s("GITHUB_WORKFLOW"),
            server_url: opt("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            api_url: opt("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            workspace: opt("GITHUB_WORKSPACE").map(PathBuf::from),
            runner_os: opt("RUNNER_OS"),
            runner_arch: opt("RUNNER_ARCH"),
            runner_name: opt("RUNNER_NAME"),
            runner_temp: opt("RUNNER_TEMP").map(PathBuf::from),
            event,
            id_token: super::oidc::IdTokenRequest::from_env(env),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

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
            ("GITHUB_SHA", "abc"),
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
