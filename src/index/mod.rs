//! A package index, seen from the client: the legacy upload API and its form.
//!
//! This is the only module that speaks HTTP to an index.

pub mod form;
pub mod oidc;
pub mod upload;

pub use upload::{digest_file, Credentials, FileDigests, UploadError, Uploaded, Uploader};
