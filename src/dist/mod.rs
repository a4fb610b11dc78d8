//! Python distributions on disk: finding them, naming them, and reading their metadata.
//!
//! Everything that can be wrong with a single file is a [`Problem`] (collected, never fatal on
//! its own) so that one run can report every mistake at once; only failures that make the
//! whole directory unreadable are a [`DistError`].

pub mod discover;
pub mod filename;
pub mod metadata;
pub mod render;
pub mod rules;
pub mod same;

#[cfg(test)]
mod proptests;

use std::path::PathBuf;

pub use discover::{discover, discover_files};
pub use metadata::CoreMetadata;

/// The two upload formats PyPI still accepts (PEP 527 retired the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    Wheel,
    Sdist,
}

impl DistKind {
    /// The legacy upload API's `filetype` value for this kind.
    pub fn filetype(self) -> &'static str {
        match self {
            DistKind::Wheel => "bdist_wheel",
            DistKind::Sdist => "sdist",
        }
    }
}

impl std::fmt::Display for DistKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DistKind::Wheel => "wheel",
            DistKind::Sdist => "sdist",
        })
    }
}

/// A distribution whose filename parsed and whose metadata could be read.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// Path as found under the packages dir (the dir joined with the relative path).
    pub path: PathBuf,
    /// Final path component: the name the index will publish it under.
    pub filename: String,
    pub kind: DistKind,
    pub size: u64,
    pub metadata: CoreMetadata,
    /// The legacy upload API's `pyversion` field: the wheel's python tag (e.g. "py3",
    /// "cp311") or "source" for an sdist.
    pub pyversion: String,
}

/// How bad a [`Problem`] is: errors stop an upload (PyPI would refuse the file, or an
/// installer would fail on it); warnings are reported and do not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem with one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub path: PathBuf,
    /// Stable id from [`rules`], e.g. "archive-corrupt", "classifier-unknown".
    pub rule: &'static str,
    pub severity: Severity,
    /// What was found.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    pub fn error(
        path: impl Into<PathBuf>,
        rule: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.into(),
            rule,
            severity: Severity::Error,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn warning(
        path: impl Into<PathBuf>,
        rule: &'static str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(path, rule, message, fix)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} [{}] {} (fix: {})",
            self.path.display(),
            self.severity,
            self.rule,
            self.message,
            self.fix
        )
    }
}

/// What [`discover`] found in a packages dir.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Wheels first (sorted by filename), then sdists (sorted) — upload order; PyPI takes
    /// release metadata from the first upload. A file whose metadata was readable is listed
    /// here even if it also has problems (e.g. a name mismatch), so reports can show its
    /// name and version; callers must not upload while `problems` is non-empty.
    pub dists: Vec<Distribution>,
    /// Files that are not distributions and not problems (".gitignore", "*.attestation",
    /// "*.sigstore.json", "*.asc", ...), for a notice.
    pub ignored: Vec<PathBuf>,
    /// Every problem in every file — never stop at the first.
    pub problems: Vec<Problem>,
}

impl Discovery {
    /// True when there is nothing to stop an upload (there may still be nothing to upload);
    /// warnings do not stop one.
    pub fn is_clean(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    /// The problems recorded for one file.
    pub fn problems_for<'a>(
        &'a self,
        path: &'a std::path::Path,
    ) -> impl Iterator<Item = &'a Problem> + 'a {
        self.problems.iter().filter(move |p| p.path == path)
    }
}

/// Directory-level failures only; per-file issues are [`Problem`]s.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("`{}` does not exist", .0.display())]
    DirMissing(PathBuf),
    #[error("`{}` is a file, not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// No reference renderer for the reStructuredText descriptions (one error for the run).
    #[error(transparent)]
    Renderer(#[from] render::RenderError),
    #[error("cannot read `{}`: {source}; check that the path exists and that the runner's user may read it", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
