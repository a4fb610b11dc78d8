//! A package index, seen from the client: the legacy upload API and its form, the listing
//! of what the index already has, and the upload engine that combines them.
//!
//! This is the only module that speaks HTTP to an index.

// `pub`: the engine's public `Event` carries the controller's decisions.
pub mod concurrency;
pub(crate) mod form;
pub(crate) mod html;
pub(crate) mod oidc;
// `pub` rather than `pub(crate)`: the upload engine keeps a public API of its own (a plain
// `publish`, `Uploader::new`) that the run does not call; trimming it is the engine's call.
pub mod publish;
pub(crate) mod query;
#[cfg(test)]
mod testserver;
pub mod upload;

pub(crate) use publish::{
    publish_with, Event, FileOutcome, PublishError, PublishOptions, Refresh, RefreshFuture, Status,
    Tuning, TuningError,
};
pub(crate) use query::IndexFile;
pub use query::{IndexQuery, QueryError};
pub(crate) use upload::{digest_file, Credentials, Progress, UploadError, Uploader};

/// The version's page for people: `pypi.org/project/<name>/<version>/` on PyPI and TestPyPI
/// (their simple indexes are recognised by URL), else the project's page under the simple
/// index (`<index>/<normalized name>/`), which is all a private index is known to serve.
pub(crate) fn project_url(simple_index: &url::Url, name: &str, version: &str) -> String {
    let normalized = crate::dist::filename::normalize_name(name);
    match simple_index.as_str().trim_end_matches('/') {
        "https://pypi.org/simple" => format!("https://pypi.org/project/{normalized}/{version}/"),
        "https://test.pypi.org/simple" => {
            format!("https://test.pypi.org/project/{normalized}/{version}/")
        }
        other => format!("{other}/{normalized}/"),
    }
}

#[cfg(test)]
mod project_url_tests {
    use super::project_url;

    #[test]
    fn pypi_testpypi_and_private_indexes() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            project_url(&u("https://pypi.org/simple/"), "Improved_SDD", "1.2.0"),
            "https://pypi.org/project/improved-sdd/1.2.0/"
        );
        assert_eq!(
            project_url(
                &u("https://test.pypi.org/simple"),
                "improved-sdd",
                "1.2.0.dev3"
            ),
            "https://test.pypi.org/project/improved-sdd/1.2.0.dev3/"
        );
        assert_eq!(
            project_url(&u("http://127.0.0.1:8080/simple/"), "Improved.SDD", "1.2.0"),
            "http://127.0.0.1:8080/simple/improved-sdd/"
        );
    }
}
