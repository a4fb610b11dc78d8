//! Distribution validation for the `check` command: every rule over every file under the
//! given folders (or single files), with an optional tag to compare against, and the verdict
//! as text grouped by file or as JSON. The run's validate stage applies the same rules
//! ([`apply_run_rules`]), so both word a fault the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dist::{self, rules, DistKind, Distribution, Problem};
use crate::version::Version;

/// The rules that depend on how the check was asked for: the tag's version (every file must
/// carry it) and twine's `--strict` (its rules become errors).
pub(crate) fn apply_run_rules(
    dists: &[Distribution],
    problems: &mut Vec<Problem>,
    strict: bool,
    tag: Option<(&str, &Version)>,
) {
    if let Some((tag, v)) = tag {
        problems.extend(rules::release::tag(dists, tag, v));
    }
    if strict {
        rules::apply_strict(problems);
    }
}

/// What to check and how strictly.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Folders (searched recursively) or distribution files.
    pub paths: Vec<PathBuf>,
    /// twine `--strict`: the strict rules are errors.
    pub strict: bool,
    /// A tag whose version the distributions must carry, e.g. `v1.2.0`.
    pub tag: Option<String>,
    pub tag_pattern: String,
}

/// One distribution file and its verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileVerdict {
    pub path: PathBuf,
    pub kind: Option<DistKind>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub errors: usize,
    pub warnings: usize,
    pub problems: Vec<Problem>,
}

/// The whole run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckOutcome {
    pub files: Vec<FileVerdict>,
    pub ignored: Vec<PathBuf>,
    /// Failures that are not about one file (a folder that does not exist, a bad tag).
    pub fatal: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
}

impl CheckOutcome {
    pub fn passed(&self) -> bool {
        self.errors == 0 && self.fatal.is_empty()
    }
}

/// Run every rule. A path that is a file is checked on its own (its folder's other files
/// are not looked at); a folder is searched recursively. Release-level rules apply per
/// folder argument.
pub fn run(opts: &CheckOptions) -> CheckOutcome {
    let mut out = CheckOutcome::default();
    let tag_version = match &opts.tag {
        Some(t) => match crate::version::tag_version(t, &opts.tag_pattern) {
            Ok(v) => Some((t.clone(), v)),
            Err(e) => {
                out.fatal.push(e.to_string());
                None
            }
        },
        None => None,
    };
    let mut by_path: BTreeMap<PathBuf, FileVerdict> = BTreeMap::new();
    // Folders are releases of their own; named files are checked together, each its own.
    let (files, dirs): (Vec<PathBuf>, Vec<PathBuf>) =
        opts.paths.iter().cloned().partition(|p| p.is_file());
    let mut found: Vec<Result<dist::Discovery, String>> = dirs
        .iter()
        .map(|d| match dist::discover(d) {
            // An empty folder passing would let a CI step that checks the wrong folder pass.
            Ok(found) if found.dists.is_empty() && found.problems.is_empty() => Err(format!(
                "no distributions in `{}`: expected *.whl or *.tar.gz files (searched recursively). Build them first (e.g. `python -m build`) or name the folder that holds them",
                d.display()
            )),
            // The fix names the command's argument; the action's names its input.
            other => other.map_err(|e| match e {
                dist::DistError::DirMissing(_) | dist::DistError::NotADirectory(_) => format!(
                    "{e}. Name the folder that holds your wheels and sdists (e.g. `dist/`), or build them first (e.g. `python -m build`)"
                ),
                e => e.to_string(),
            }),
        })
        .collect();
    if !files.is_empty() {
        found.push(dist::discover_files(&files).map_err(|e| e.to_string()));
    }
    for d in found {
        let mut d = match d {
            Ok(d) => d,
            Err(e) => {
                out.fatal.push(e);
                continue;
            }
        };
        apply_run_rules(
            &d.dists,
            &mut d.problems,
            opts.strict,
            tag_version.as_ref().map(|(t, v)| (t.as_str(), v)),
        );
        for x in &d.dists {
            let e = by_path
                .entry(x.path.clone())
                .or_insert_with(|| verdict(&x.path));
            e.kind = Some(x.kind);
            e.name = Some(x.metadata.name.clone());
            e.version = Some(x.metadata.version.clone());
        }
        for prob in d.problems {
            by_path
                .entry(prob.path.clone())
                .or_insert_with(|| verdict(&prob.path))
                .problems
                .push(prob);
        }
        out.ignored.extend(d.ignored);
    }
    dist::render::shutdown();
    for (_, mut v) in by_path {
        v.problems.sort_by_key(|p| p.severity);
        v.errors = v.problems.iter().filter(|p| p.is_error()).count();
        v.warnings = v.problems.len() - v.errors;
        out.errors += v.errors;
        out.warnings += v.warnings;
        out.files.push(v);
    }
    out
}

fn verdict(path: &Path) -> FileVerdict {
    FileVerdict {
        path: path.to_path_buf(),
        kind: None,
        name: None,
        version: None,
        errors: 0,
        warnings: 0,
        problems: Vec::new(),
    }
}

/// Human text, grouped by file.
pub fn text(o: &CheckOutcome) -> String {
    let mut s = String::new();
    for f in &o.files {
        let what = match (&f.name, &f.version) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            _ => "unreadable".to_string(),
        };
        let verdict = match (f.errors, f.warnings) {
            (0, 0) => "PASSED".to_string(),
            (0, w) => format!("PASSED with {w} warning(s)"),
            (e, w) => format!("FAILED: {e} error(s), {w} warning(s)"),
        };
        s.push_str(&format!("{} ({what}): {verdict}\n", f.path.display()));
        for p in &f.problems {
            s.push_str(&format!(
                "  {} [{}] {}\n      fix: {}\n",
                p.severity, p.rule, p.message, p.fix
            ));
        }
    }
    for e in &o.fatal {
        s.push_str(&format!("error: {e}\n"));
    }
    if !o.ignored.is_empty() {
        s.push_str(&format!(
            "ignored {} file(s) that are not distributions: {}\n",
            o.ignored.len(),
            o.ignored
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s.push_str(&format!(
        "{} file(s) checked: {} error(s), {} warning(s) — {}\n",
        o.files.len(),
        o.errors,
        o.warnings,
        if o.passed() { "PASSED" } else { "FAILED" }
    ));
    s
}

pub fn json(o: &CheckOutcome) -> String {
    serde_json::to_string_pretty(o).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_distributions_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "*").unwrap();
        let out = run(&CheckOptions {
            paths: vec![dir.path().to_path_buf()],
            ..CheckOptions::default()
        });
        assert!(!out.passed());
        assert_eq!(
            out.fatal,
            [format!(
                "no distributions in `{}`: expected *.whl or *.tar.gz files (searched recursively). Build them first (e.g. `python -m build`) or name the folder that holds them",
                dir.path().display()
            )]
        );
        assert!(text(&out).ends_with("0 file(s) checked: 0 error(s), 0 warning(s) — FAILED\n"));
    }
}
