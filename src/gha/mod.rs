//! The GitHub Actions runtime: everything that knows GitHub's file formats and workflow
//! commands lives here, written to `@actions/core` semantics.
//!
//! - [`context`]: `GITHUB_*` / `RUNNER_*` and the event payload.
//! - [`raw_inputs`]: the action's inputs from `INPUT_*`, as raw strings.
//! - [`commands`]: annotations, masking, groups, outputs and the step summary.
//! - [`oidc`]: the job's OpenID Connect ID token (trusted publishing) and its claims.
//!
//! Outside Actions (no `GITHUB_ACTIONS=true`) the same calls print plain terminal text, so the
//! binary behaves the same on a laptop.

pub mod commands;
pub mod context;
pub mod oidc;
pub mod raw_inputs;

pub use commands::{Annotation, Level, Runtime};
pub use context::Context;

/// An environment lookup. Production code passes [`std::env::var`]; tests pass a map, so the
/// runtime never depends on the test process's own environment.
pub trait Env {
    fn get(&self, key: &str) -> Option<String>;
    /// Every variable, for `INPUT_*` scanning.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

impl Env for std::collections::BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        std::collections::BTreeMap::get(self, key).cloned()
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// An environment from pairs, for tests.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
