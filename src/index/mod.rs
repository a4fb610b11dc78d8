//! A package index, seen from the client: the legacy upload API and its form, the listing
//! of what the index already has, and the upload engine that combines them.
//!
//! This is the only module that speaks HTTP to an index.

pub mod form;
pub mod oidc;
pub mod publish;
pub mod query;
pub mod upload;

pub use publish::{
    publish, publish_with, Event, FileOutcome, PublishError, PublishOptions, Refresh,
    RefreshFuture, Status, Tuning,
};
pub use query::{IndexFile, IndexQuery, QueryError};
pub use upload::{
    digest_file, Credentials, FileDigests, Progress, Timeouts, UploadError, Uploaded, Uploader,
};

/// The release's page for people: PyPI's and TestPyPI's project pages for their own indexes,
/// else the project's page on the simple index (private indexes often have nothing better).
pub fn project_url(simple_index: &url::Url, name: &str, version: &str) -> String {
    let normalized = crate::dist::filename::normalize_name(name);
    match (simple_index.host_str(), simple_index.path()) {
        (Some("pypi.org"), "/simple/") => {
            format!("https://pypi.org/project/{normalized}/{version}/")
        }
        (Some("test.pypi.org"), "/simple/") => {
            format!("https://test.pypi.org/project/{normalized}/{version}/")
        }
        _ => simple_index
            .join(&format!("{normalized}/"))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| simple_index.to_string()),
    }
}

#[cfg(test)]
mod project_url_tests {
    use super::project_url;

    #[test]
    fn pages_for_pypi_testpypi_and_private_indexes() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            project_url(&u("https://pypi.org/simple/"), "Improved_SDD", "1.2.0"),
            "https://pypi.org/project/improved-sdd/1.2.0/"
        );
        assert_eq!(
            project_url(
                &u("https://test.pypi.org/simple/"),
                "improved-sdd",
                "1.2.0.dev1"
            ),
            "https://test.pypi.org/project/improved-sdd/1.2.0.dev1/"
        );
        assert_eq!(
            project_url(&u("http://127.0.0.1:8080/simple/"), "improved.sdd", "1.0"),
            "http://127.0.0.1:8080/simple/improved-sdd/"
        );
    }
}
