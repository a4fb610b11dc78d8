//! What we read from (and write to) GitHub's REST API, as small serde models holding only the
//! fields used. Shapes follow GitHub's OpenAPI description (`@octokit/openapi`); every field
//! defaults when absent or `null`, so a field GitHub adds or drops never fails a poll, while a
//! body of the wrong shape altogether is an error naming the URL.

use serde::{Deserialize, Serialize};

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CheckRunsPage {
    pub check_runs: Vec<CheckRun>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CheckRun {
    pub id: u64,
    pub name: String,
    /// `queued`, `in_progress`, `completed`, …
    pub status: String,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub details_url: Option<String>,
    pub app: Option<Id>,
    pub check_suite: Option<Id>,
}

/// Anything GitHub names by a numeric id (an app, a check suite).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Id {
    pub id: u64,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status`: the combined status, latest per context.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CombinedStatus {
    pub statuses: Vec<CommitStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CommitStatus {
    pub context: String,
    /// `pending`, `success`, `failure`, `error`.
    pub state: String,
    pub target_url: Option<String>,
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WorkflowRun {
    pub check_suite_id: Option<u64>,
    pub check_suite_url: Option<String>,
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JobsPage {
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Job {
    /// A job's id is its check run's id.
    pub id: u64,
    pub runner_name: Option<String>,
    pub status: String,
}

/// A release, as `GET /repos/{owner}/{repo}/releases/tags/{tag}` and the writes return it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Release {
    pub id: Option<u64>,
    pub tag_name: String,
    pub html_url: Option<String>,
    /// A URI template, e.g. `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`.
    pub upload_url: Option<String>,
}

/// A release asset (`release-asset` in the spec).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Asset {
    pub id: Option<u64>,
    pub name: String,
    /// `uploaded` once complete (`starter` while an upload is unfinished).
    pub state: Option<String>,
    pub size: Option<u64>,
    /// `sha256:<hex>`; `null` for assets uploaded before GitHub computed digests.
    pub digest: Option<String>,
}

/// The body of `POST /repos/{owner}/{repo}/releases` and `PATCH …/releases/{id}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReleaseWrite<'a> {
    pub tag_name: &'a str,
    pub name: &'a str,
    pub body: &'a str,
    pub draft: bool,
    pub prerelease: bool,
    /// A string enum (`"true" | "false" | "legacy"`); left out for drafts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make_latest: Option<&'static str>,
}

/// GitHub's error body: `{"message": …, "errors": [{"resource", "code", "field"}]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApiError {
    pub message: Option<String>,
    pub errors: Option<serde_json::Value>,
}
