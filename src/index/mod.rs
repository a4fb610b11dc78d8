//! A package index, seen from the client: the legacy upload API and its form, the listing
//! of what the index already has, and the upload engine that combines them.
//!
//! This is the only module that speaks HTTP to an index.

pub mod concurrency;
pub mod form;
pub(crate) mod html;
pub mod oidc;
pub mod publish;
pub mod query;
#[cfg(test)]
mod testserver;
pub mod upload;

pub use publish::{
    publish, publish_with, Event, FileOutcome, PublishError, PublishOptions, Refresh,
    RefreshFuture, Status, Tuning, TuningError,
};
pub use query::{IndexFile, IndexQuery, QueryError};
pub use upload::{
    digest_file, Credentials, FileDigests, Progress, Timeouts, UploadError, Uploaded, Uploader,
};

/// The version's page for people: `pypi.org/project/<name>/<version>/` on PyPI and TestPyPI
/// (their simple indexes are recognised by URL), else the project's page under the simple
/// index (`<index>/<normalized name>/`), which is all a private index is known to serve.
pub fn project_url(simple_index: &url::Url, name: &str, version: &str) -> String {
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
