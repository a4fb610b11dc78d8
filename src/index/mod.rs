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
