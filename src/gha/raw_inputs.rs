//! The action's inputs as the workflow wrote them, read from `INPUT_*` with `@actions/core`
//! semantics.
//!
//! The runner exports `with:` values as `INPUT_<NAME>` with the name upper-cased and dashes
//! kept (`INPUT_PACKAGES-DIR`); a composite action maps them by hand and usually writes
//! `INPUT_PACKAGES_DIR`, since dashes are not valid shell names. Both spellings are accepted.
//! An empty value means "not set" (Actions passes every declared input, empty when omitted),
//! and booleans take exactly the YAML 1.2 core spellings, as `getBooleanInput` does.
//!
//! This is the first of two layers: `envy` turns the variables into raw optional strings
//! here; `crate::config` validates each into a typed setting with an error that names the
//! input. Nothing here knows what an input means.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Env;
use crate::secret::Secret;

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
    pub preflight: Option<String>,
    pub test_command: Option<String>,
    pub test_requirements: Option<String>,
    pub pypi_username: Option<String>,
    pub testpypi_username: Option<String>,
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
    pub attestations: Option<String>,
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

/// A list input: one item per line or comma-separated, blanks dropped.
pub fn parse_list(value: &str) -> Vec<String> {
    value
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
