//! sdd-publish: take a Python project from green CI to a verified release on PyPI.
//!
//! Every stage is a plain function from typed input to a typed outcome (`stages`);
//! `pipeline` alone knows their order and folds the outcomes into a `report::Report`; `gha`
//! alone knows GitHub Actions' file formats; `index` alone speaks HTTP to a package index and
//! `github` to GitHub's API. `docs/architecture.md` is the map, and `tests/it/architecture.rs`
//! holds the layer table that keeps imports pointing down.
//!
//! Modules are `pub(crate)` unless the integration tests in `tests/it` reach into them.

// Foundations: no domain knowledge.
pub(crate) mod http;
pub mod retry;
pub mod secret;
pub mod units;

// The outside world, each behind one module.
pub(crate) mod gha;
pub mod github;
pub mod index;

// The domain.
pub mod dist;
pub(crate) mod plan;
pub(crate) mod version;

// What a run does, each one job.
pub(crate) mod attest;
pub(crate) mod auth;
pub(crate) mod build;
pub mod gate;
pub mod github_release;
pub(crate) mod progress;
pub(crate) mod validate;
pub mod verify;

// Putting it together.
pub mod cli;
pub(crate) mod config;
pub(crate) mod pipeline;
pub mod report;
pub(crate) mod stages;

#[cfg(test)]
mod fuzzing;
