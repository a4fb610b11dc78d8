//! sdd-publish: take a Python project from green CI to a verified release on PyPI.
//!
//! The library holds every stage as a plain function from typed input to typed output;
//! `pipeline` alone knows their order, `gha` alone knows GitHub Actions' file formats, and
//! `index` alone speaks HTTP to a package index. See `DESIGN.md` in the shared folder.

pub mod attest;
pub mod auth;
pub mod build;
pub mod check;
pub mod checks;
pub mod cli;
pub mod dist;
pub mod gha;
pub mod github;
pub mod index;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod release;
pub mod report;
pub mod secret;
pub mod verify;
pub mod version;

#[cfg(test)]
mod fuzzing;
