//! Release-level rules: the files of one run form one release — one project, one version,
//! at most one sdist (PyPI: "Only one sdist may be uploaded per release") — and for a tag
//! push the tag names that version.

use std::collections::BTreeMap;

use pep440_rs::Version;

use super::*;
use crate::dist::filename::normalize_name;
use crate::dist::{DistKind, Distribution, Problem};

/// (normalized name, version) — versions compared under PEP 440 (`1.2` == `1.2.0`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ver {
    Pep440(Version),
    Raw(String),
}

impl std::fmt::Display for Ver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ver::Pep440(v) => v.fmt(f),
            Ver::Raw(s) => f.write_str(s),
        }
    }
}

fn release_key(d: &Distribution) -> (String, Ver) {
    let raw = d.metadata.version.trim();
    let v = raw
        .parse::<Version>()
        .map(Ver::Pep440)
        .unwrap_or_else(|_| Ver::Raw(raw.to_string()));
    (normalize_name(&d.metadata.name), v)
}

/// Mixed releases and duplicate sdists, one problem per offending file.
pub fn check(dists: &[Distribution]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<(String, Ver), Vec<&Distribution>> = BTreeMap::new();
    for d in dists {
        groups.entry(release_key(d)).or_default().push(d);
    }
    if groups.len() > 1 {
        let all: Vec<String> = groups
            .iter()
            .map(|((n, v), files)| format!("{n} {v} ({} file(s))", files.len()))
            .collect();
        for d in dists {
            let (n, v) = release_key(d);
            out.push(Problem::error(
                &d.path,
                RELEASE_MIXED,
                format!(
                    "is {n} {v}, but the packages dir holds more than one release: {}",
                    all.join(", ")
                ),
                "publish one release per run: clear the packages dir before building (`rm -rf dist/`) and make sure every artifact comes from the same commit",
            ));
        }
    }
    for ((n, v), files) in &groups {
        let sdists: Vec<&&Distribution> =
            files.iter().filter(|d| d.kind == DistKind::Sdist).collect();
        if sdists.len() > 1 {
            let names: Vec<String> = sdists.iter().map(|d| format!("`{}`", d.filename)).collect();
            for d in &sdists {
                out.push(Problem::error(
                    &d.path,
                    RELEASE_MULTIPLE_SDISTS,
                    format!(
                        "{n} {v} has {} sdists ({}); PyPI accepts only one sdist per release",
                        sdists.len(),
                        names.join(", ")
                    ),
                    "keep one sdist (the one `python -m build` writes with the PEP 625 name) and remove the others",
                ));
            }
        }
    }
    out
}

/// The tag's version must equal every distribution's version under PEP 440 comparison
/// (`v1.0.0-rc.1` and `1.0.0rc1` are the same version).
pub fn tag(dists: &[Distribution], tag: &str, tag_version: &Version) -> Vec<Problem> {
    dists
        .iter()
        .filter(|d| {
            d.metadata
                .version
                .trim()
                .parse::<Version>()
                .is_ok_and(|v| &v != tag_version)
        })
        .map(|d| {
            Problem::error(
                &d.path,
                RELEASE_TAG_MISMATCH,
                format!(
                    "is version {} but the tag `{tag}` says {tag_version}",
                    d.metadata.version
                ),
                format!(
                    "bump the version in pyproject.toml to {tag_version} and rebuild, or tag the commit as v{}",
                    d.metadata.version
                ),
            )
        })
        .collect()
}
