//! Stage: find and validate the distributions in `packages-dir`. Every rule runs on every
//! file, the release-level ones too (one project, one version, the tag's version for a
//! PyPI tag), so one report lists every problem, each as an annotation on its file.

use std::path::Path;

use super::{RunError, StageError};
use crate::dist::{self, DistError, Distribution, Problem};
use crate::gha::{Annotation, Level, Runtime};
use crate::plan::{Plan, Target};

/// The check stage's verdict over every file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Validation {
    pub files: usize,
    pub rules: usize,
    pub errors: usize,
    pub warnings: usize,
    /// twine's `--strict` rules were errors (the PyPI target).
    pub strict: bool,
}

/// What the stage found, whether or not it passed.
#[derive(Debug, Default)]
pub(crate) struct Validated {
    pub dists: Vec<Distribution>,
    pub ignored: Vec<String>,
    pub problems: Vec<Problem>,
    pub validation: Option<Validation>,
    /// The one release the files make (name, version as the metadata spells them).
    pub release: Option<(String, String)>,
}

pub(crate) fn run(
    dir: &Path,
    plan: &Plan,
    tag_pattern: &str,
    rt: &Runtime,
) -> (Validated, Result<(), RunError>) {
    let mut out = Validated::default();
    let found = match dist::discover(dir) {
        Ok(d) => d,
        Err(e @ (DistError::DirMissing(_) | DistError::NotADirectory(_))) => {
            return (out, Err(StageError::PackagesDir(e).into()))
        }
        Err(e) => return (out, Err(StageError::Dist(e).into())),
    };
    let mut problems = found.problems;
    // twine --strict semantics are on for PyPI: a missing description or content type fails.
    let strict = plan.target == Target::Pypi;
    // A tag without a version is reported after the files' problems, which come first.
    let tag = match (&plan.tag, plan.target) {
        (Some(tag), Target::Pypi) => {
            crate::version::tag_version(tag, tag_pattern).map(|v| Some((tag.as_str(), v)))
        }
        _ => Ok(None),
    };
    let known_tag = tag.as_ref().ok().and_then(|t| t.as_ref());
    crate::validate::apply_run_rules(
        &found.dists,
        &mut problems,
        strict,
        known_tag.map(|(t, v)| (*t, v)),
    );
    out.ignored = found
        .ignored
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if !out.ignored.is_empty() {
        rt.notice(&format!(
            "ignored {} file(s) that are not distributions: {}",
            out.ignored.len(),
            out.ignored.join(", ")
        ));
    }
    for d in &found.dists {
        rt.info(&format!(
            "{} ({} {}, {})",
            d.filename,
            d.metadata.name,
            d.metadata.version,
            crate::units::human_size(d.size)
        ));
    }
    for p in &problems {
        annotate(rt, p);
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    out.validation = Some(Validation {
        files: found.dists.len(),
        rules: dist::rules::ALL.len(),
        errors,
        warnings: problems.len() - errors,
        strict,
    });
    out.problems = problems;
    out.dists = found.dists;
    if errors > 0 {
        return (out, Err(StageError::Problems { count: errors }.into()));
    }
    let Some(first) = out.dists.first() else {
        return (
            out,
            Err(StageError::NoDistributions(dir.to_path_buf()).into()),
        );
    };
    // No error, so the release rules found one project and one version.
    out.release = Some((first.metadata.name.clone(), first.metadata.version.clone()));
    let tag = match tag {
        Ok(t) => t,
        Err(e) => return (out, Err(e.into())),
    };
    if let Some((tag, v)) = &tag {
        rt.info(&format!(
            "tag {tag} names version {v}, as the distributions do"
        ));
    }
    (out, Ok(()))
}

/// A problem as an annotation on its file: GitHub shows it in the run's UI and on the file.
pub(crate) fn annotate(rt: &Runtime, p: &Problem) {
    let level = if p.is_error() {
        Level::Error
    } else {
        Level::Warning
    };
    rt.annotate(
        level,
        &format!("{} Fix: {}", p.message, p.fix),
        &Annotation {
            title: Some(p.rule.to_string()),
            file: Some(p.path.display().to_string()),
            line: None,
        },
    );
}
