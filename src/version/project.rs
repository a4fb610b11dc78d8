//! Where a Python project keeps its version, and format-preserving edits of it.
//!
//! The first `version = "…"` in pyproject.toml is often not the project's (a `[tool.*]`
//! table or a dependency table can come first), so the version is found by its TOML path —
//! `[project].version`, else `[tool.poetry].version` — or, for `dynamic = ["version"]`, by
//! asking which build tool owns it. Edits replace the bytes of the version literal and
//! nothing else: `toml_edit` gives the literal's exact span in the original text and the new
//! literal keeps its quoting, so comments, spacing, ordering and quotes survive byte for byte
//! (re-serialising a `DocumentMut` would re-quote the edited string). The result is parsed
//! again to prove it still says what we meant.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;
use toml_edit::{Document, Item};

pub const PYPROJECT: &str = "pyproject.toml";

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(
        "no pyproject.toml in {dir}: run in the project's root folder or pass `--project DIR`"
    )]
    NoPyproject { dir: PathBuf },
    #[error("could not {action} {path}: {source}; check that the file exists (a `version-files` entry is relative to the project root) and that the runner's user may read and write it")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}; fix the syntax (e.g. `python -c \"import tomllib; tomllib.load(open('pyproject.toml', 'rb'))\"` points at it)")]
    Toml { path: PathBuf, message: String },
    #[error("{path} has no [project].version and no [tool.poetry].version: expected `version = \"1.2.3\"` in the [project] table; add one, or list \"version\" in [project].dynamic with a build backend that provides it")]
    NoVersion { path: PathBuf },
    #[error("{path}: {field} must be a string like \"1.2.3\", found {found}; quote it")]
    NotAString {
        path: PathBuf,
        field: String,
        found: &'static str,
    },
    #[error("{path}: {field} = \"{value}\" is not a PEP 440 version ({reason}); write it like 1.2.3, 1.2.3rc1 or 1.2.3.post1")]
    Invalid {
        path: PathBuf,
        field: String,
        value: String,
        reason: String,
    },
    #[error("{path}: [project] sets `version` and also lists \"version\" in `dynamic`, which PEP 621 forbids; remove one of them")]
    StaticAndDynamic { path: PathBuf },
    #[error("{path}: the version is managed by {tool} ({detail}): {fix}")]
    Managed {
        path: PathBuf,
        tool: &'static str,
        detail: String,
        fix: String,
    },
    #[error("{path}: [project].dynamic lists \"version\" but no tool sdd-publish knows provides it (looked for [tool.setuptools.dynamic], [tool.hatch.version], [tool.pdm.version], flit, setuptools-scm); set a static [project].version, or point `--version-file` at the file holding `__version__`")]
    DynamicUnknown { path: PathBuf },
    #[error("{path}: {field} names module `{module}`, but none of {tried} exists; fix the module name or create the file")]
    ModuleNotFound {
        path: PathBuf,
        field: String,
        module: String,
        tried: String,
    },
    #[error("version file {path} does not exist; check the path: relative paths (the `version-files` input, `--version-file`) are under the project folder, like paths in pyproject.toml")]
    VersionFileMissing { path: PathBuf },
    #[error("{path} has no `{names} = \"…\"` assignment at the start of a line; add one like `__version__ = \"1.2.3\"`")]
    NoAssignment { path: PathBuf, names: String },
    #[error("{path}: `{name}` is {value}, which is not a PEP 440 version ({reason}); write it like \"1.2.3\"")]
    InvalidInFile {
        path: PathBuf,
        name: String,
        value: String,
        reason: String,
    },
    #[error("{path}: the version edit did not read back as {expected} ({found}); the file was left alone — please report this")]
    EditCheck {
        path: PathBuf,
        expected: String,
        found: String,
    },
}

/// Where the project's version lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A string in pyproject.toml at this table (`["project"]` or `["tool", "poetry"]`).
    Pyproject { table: Vec<&'static str> },
    /// A `NAME = "…"` assignment in a Python file; `owner` says why this file.
    PythonFile {
        path: PathBuf,
        names: Vec<String>,
        owner: String,
    },
    /// A text file that holds just the version (setuptools `version = {file = "VERSION"}`).
    TextFile { path: PathBuf, owner: String },
    /// A tool derives the version from somewhere sdd-publish does not edit (git tags, …).
    Managed {
        tool: &'static str,
        detail: String,
        fix: String,
    },
}

impl Source {
    /// Where to look, for messages: "[project].version in pyproject.toml".
    pub fn describe(&self, root: &Path) -> String {
        match self {
            Source::Pyproject { table } => format!("[{}].version in {PYPROJECT}", table.join(".")),
            Source::PythonFile { path, names, owner } => format!(
                "`{}` in {} ({owner})",
                names.join("` or `"),
                rel(root, path).display()
            ),
            Source::TextFile { path, owner } => {
                format!("{} ({owner})", rel(root, path).display())
            }
            Source::Managed { tool, detail, .. } => format!("{tool} ({detail})"),
        }
    }
}

fn rel<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// The current version and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub version: Version,
    /// As written, before normalisation (`1.0.0-RC1`).
    pub raw: String,
    pub location: String,
}

/// One file's planned change. Nothing is written until [`write`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: PathBuf,
    /// What changed in it: "[project].version", "`__version__`".
    pub field: String,
    /// The old value as written.
    pub old: String,
    pub before: String,
    pub after: String,
}

/// A Python project folder with a pyproject.toml.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub pyproject: PathBuf,
    text: String,
    pub source: Source,
}

fn read(path: &Path) -> Result<String, ProjectError> {
    std::fs::read_to_string(path).map_err(|source| ProjectError::Io {
        action: "read",
        path: path.into(),
        source,
    })
}

fn get<'a>(item: &'a Item, path: &[&str]) -> Option<&'a Item> {
    path.iter().try_fold(item, |it, k| it.get(k))
}

fn get_str<'a>(item: &'a Item, path: &[&str]) -> Option<&'a str> {
    get(item, path).and_then(Item::as_str)
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) | Item::ArrayOfTables(_) => "a table",
        Item::Value(v) => v.type_name(),
    }
}

impl Project {
    /// Read `dir/pyproject.toml` and work out where the version lives.
    pub fn open(dir: &Path) -> Result<Project, ProjectError> {
        let pyproject = dir.join(PYPROJECT);
        // Only a name that is not there at all is "no pyproject.toml"; one that is there but
        // cannot be read (a broken link, no permission) says why, from `read` below.
        if std::fs::symlink_metadata(&pyproject).is_err() {
            return Err(ProjectError::NoPyproject { dir: dir.into() });
        }
        let text = read(&pyproject)?;
        let doc = parse(&pyproject, &text)?;
        let source = find_source(dir, &pyproject, doc.as_item())?;
        Ok(Project {
            dir: dir.into(),
            pyproject,
            text,
            source,
        })
    }

    /// The version as the project states it now.
    pub fn current(&self) -> Result<Current, ProjectError> {
        let location = self.source.describe(&self.dir);
        match &self.source {
            Source::Pyproject { table } => {
                let (raw, _) = pyproject_version(&self.pyproject, &self.text, table)?;
                let field = format!("[{}].version", table.join("."));
                Ok(Current {
                    version: parse_version(&raw).map_err(|reason| ProjectError::Invalid {
                        path: self.pyproject.clone(),
                        field,
                        value: raw.clone(),
                        reason,
                    })?,
                    raw,
                    location,
                })
            }
            Source::PythonFile { path, names, .. } => {
                let (text, name, span) = read_assignment(path, names)?;
                let raw = text[span].to_string();
                Ok(Current {
                    version: parse_version(&raw).map_err(|reason| ProjectError::InvalidInFile {
                        path: path.clone(),
                        name: name.into(),
                        value: raw.clone(),
                        reason,
                    })?,
                    raw,
                    location,
                })
            }
            Source::TextFile { path, .. } => {
                let text = read(path)?;
                let raw = text.trim().to_string();
                Ok(Current {
                    version: parse_version(&raw).map_err(|reason| ProjectError::InvalidInFile {
                        path: path.clone(),
                        name: "the version".into(),
                        value: raw.clone(),
                        reason,
                    })?,
                    raw,
                    location,
                })
            }
            Source::Managed { tool, detail, fix } => Err(ProjectError::Managed {
                path: self.pyproject.clone(),
                tool,
                detail: detail.clone(),
                fix: fix.clone(),
            }),
        }
    }

    /// The edits that make the project say `new`: its version source, plus the
    /// `__version__` of every `extra` Python file (relative paths are under the project
    /// folder, as in pyproject.toml; a file that is already the source is edited once).
    pub fn set_version(&self, new: &Version, extra: &[PathBuf]) -> Result<Vec<Edit>, ProjectError> {
        let new_s = new.to_string();
        let mut edits = Vec::new();
        let mut source_path = None;
        match &self.source {
            Source::Pyproject { table } => {
                let (old, span) = pyproject_version(&self.pyproject, &self.text, table)?;
                let after = splice_toml_string(&self.text, span, &new_s);
                let check = parse(&self.pyproject, &after).ok().and_then(|d| {
                    get_str(d.as_item(), &[table.as_slice(), &["version"]].concat())
                        .map(String::from)
                });
                if check.as_deref() != Some(new_s.as_str()) {
                    return Err(ProjectError::EditCheck {
                        path: self.pyproject.clone(),
                        expected: new_s,
                        found: check.unwrap_or_else(|| "no version".into()),
                    });
                }
                edits.push(Edit {
                    path: self.pyproject.clone(),
                    field: format!("[{}].version", table.join(".")),
                    old,
                    before: self.text.clone(),
                    after,
                });
            }
            Source::PythonFile { path, names, .. } => {
                edits.push(python_edit(path, names, &new_s)?);
                source_path = Some(path.clone());
            }
            Source::TextFile { path, .. } => {
                let before = read(path)?;
                let trimmed = before.trim();
                let start = before.len() - before.trim_start().len();
                let after = format!(
                    "{}{new_s}{}",
                    &before[..start],
                    &before[start + trimmed.len()..]
                );
                edits.push(Edit {
                    path: path.clone(),
                    field: "the version".into(),
                    old: trimmed.into(),
                    before,
                    after,
                });
                source_path = Some(path.clone());
            }
            Source::Managed { tool, detail, fix } => {
                return Err(ProjectError::Managed {
                    path: self.pyproject.clone(),
                    tool,
                    detail: detail.clone(),
                    fix: fix.clone(),
                })
            }
        }
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
        };
        for file in extra {
            let path = self.dir.join(file);
            if source_path.as_deref().is_some_and(|s| same(s, &path))
                || edits.iter().any(|e| same(&e.path, &path))
            {
                continue;
            }
            if !path.is_file() {
                return Err(ProjectError::VersionFileMissing { path });
            }
            edits.push(python_edit(&path, &["__version__".to_string()], &new_s)?);
        }
        Ok(edits)
    }
}

/// Write every edit. All edits are computed (and checked) before this runs, so a bad
/// `--version-file` never leaves pyproject.toml half-bumped.
pub fn write(edits: &[Edit]) -> Result<(), ProjectError> {
    for e in edits {
        std::fs::write(&e.path, &e.after).map_err(|source| ProjectError::Io {
            action: "write",
            path: e.path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn parse_version(raw: &str) -> Result<Version, String> {
    Version::from_str(raw.trim()).map_err(|e| e.to_string())
}

fn parse<'a>(path: &Path, text: &'a str) -> Result<Document<&'a str>, ProjectError> {
    Document::parse(text).map_err(|e| ProjectError::Toml {
        path: path.into(),
        message: e.to_string().trim().to_string(),
    })
}

/// The version string at `table`.version and the byte span of its literal (with quotes).
pub(crate) fn pyproject_version(
    path: &Path,
    text: &str,
    table: &[&str],
) -> Result<(String, Range<usize>), ProjectError> {
    let doc = parse(path, text)?;
    let field = format!("[{}].version", table.join("."));
    let item = get(doc.as_item(), &[table, &["version"]].concat())
        .ok_or_else(|| ProjectError::NoVersion { path: path.into() })?;
    let Some(value) = item.as_value().filter(|v| v.is_str()) else {
        return Err(ProjectError::NotAString {
            path: path.into(),
            field,
            found: type_name(item),
        });
    };
    let span = value.span().ok_or_else(|| ProjectError::EditCheck {
        path: path.into(),
        expected: "a located string".into(),
        found: "no position".into(),
    })?;
    Ok((value.as_str().unwrap_or_default().to_string(), span))
}

/// Replace the TOML string literal at `span` with `new`, in the same quoting style.
/// PEP 440 versions need no escaping in any of TOML's four string forms.
pub(crate) fn splice_toml_string(text: &str, span: Range<usize>, new: &str) -> String {
    let lit = &text[span.clone()];
    let quote = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|q| lit.starts_with(q))
        .unwrap_or("\"");
    format!(
        "{}{quote}{new}{quote}{}",
        &text[..span.start],
        &text[span.end..]
    )
}

/// The first top-level `NAME = "…"` (or `NAME: str = '…'`) for one of `names`: the name
/// matched and the span of the value between the quotes. Only assignments at column 0
/// count, so a `__version__` inside a function or `if` block is never touched.
pub(crate) fn find_assignment<'n>(
    text: &str,
    names: &'n [String],
) -> Option<(&'n str, Range<usize>)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        for name in names {
            let Some(rest) = line.strip_prefix(name.as_str()) else {
                continue;
            };
            let mut rest_start = start + name.len();
            // Skip an annotation (`: str`, `: Final[str]`) up to the `=`.
            let Some(eq) = rest.find('=') else { continue };
            let between = rest[..eq].trim();
            if !(between.is_empty() || between.starts_with(':')) || rest[eq + 1..].starts_with('=')
            {
                continue;
            }
            rest_start += eq + 1;
            let after_eq = &text[rest_start..offset];
            let value = after_eq.trim_start_matches([' ', '\t']);
            rest_start += after_eq.len() - value.len();
            let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let body = &value[1..];
            let Some(end) = body.find(q) else { continue };
            let from = rest_start + 1;
            return Some((name.as_str(), from..from + end));
        }
    }
    None
}

/// `path`'s text and its first version assignment (which of `names`, and where the value is).
fn read_assignment<'n>(
    path: &Path,
    names: &'n [String],
) -> Result<(String, &'n str, Range<usize>), ProjectError> {
    let text = read(path)?;
    let (name, span) = find_assignment(&text, names).ok_or_else(|| ProjectError::NoAssignment {
        path: path.into(),
        names: names.join("` or `"),
    })?;
    Ok((text, name, span))
}

fn python_edit(path: &Path, names: &[String], new: &str) -> Result<Edit, ProjectError> {
    let (before, name, span) = read_assignment(path, names)?;
    let old = before[span.clone()].to_string();
    let after = format!("{}{new}{}", &before[..span.start], &before[span.end..]);
    Ok(Edit {
        path: path.into(),
        field: format!("`{name}`"),
        old,
        before,
        after,
    })
}

fn managed(tool: &'static str, detail: impl fmt::Display, fix: &str) -> Source {
    Source::Managed {
        tool,
        detail: detail.to_string(),
        fix: fix.into(),
    }
}

const SCM_FIX: &str =
    "tag the commit instead of bumping (e.g. `git tag v1.2.3 && git push --tags`)";

fn requires(root: &Item, needle: &str) -> bool {
    get(root, &["build-system", "requires"])
        .and_then(Item::as_array)
        .is_some_and(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .any(|r| r.to_ascii_lowercase().replace('_', "-").starts_with(needle))
        })
}

/// Decide where the version lives; see the module docs.
fn find_source(dir: &Path, pyproject: &Path, root: &Item) -> Result<Source, ProjectError> {
    let project_table = vec!["project"];
    let dynamic = get(root, &["project", "dynamic"])
        .and_then(Item::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("version")));
    let has_static = get(root, &["project", "version"]).is_some();
    if has_static && dynamic {
        return Err(ProjectError::StaticAndDynamic {
            path: pyproject.into(),
        });
    }
    if has_static {
        return Ok(Source::Pyproject {
            table: project_table,
        });
    }
    let poetry_version = get(root, &["tool", "poetry", "version"]).is_some();
    let has_project = get(root, &["project"]).is_some();
    if !dynamic {
        // Poetry 1 keeps everything in [tool.poetry]; a [project] table without a version
        // and without `dynamic` is simply missing it.
        if poetry_version && !has_project {
            return Ok(Source::Pyproject {
                table: vec!["tool", "poetry"],
            });
        }
        return Err(ProjectError::NoVersion {
            path: pyproject.into(),
        });
    }

    if get(root, &["tool", "poetry-dynamic-versioning"]).is_some() {
        return Ok(managed(
            "poetry-dynamic-versioning",
            "[tool.poetry-dynamic-versioning], from git tags",
            SCM_FIX,
        ));
    }
    if poetry_version {
        // Poetry 2: `dynamic = ["version"]` with the version in [tool.poetry].
        return Ok(Source::Pyproject {
            table: vec!["tool", "poetry"],
        });
    }

    if let Some(v) = get(root, &["tool", "setuptools", "dynamic", "version"]) {
        let field = "[tool.setuptools.dynamic].version";
        if let Some(attr) = get_str(v, &["attr"]) {
            let (module, name) = attr.rsplit_once('.').unwrap_or(("", attr));
            let base = get_str(root, &["tool", "setuptools", "package-dir", ""]);
            let path = find_module(dir, pyproject, field, module, base)?;
            return Ok(Source::PythonFile {
                path,
                names: vec![name.to_string()],
                owner: format!("setuptools {field} attr = \"{attr}\""),
            });
        }
        let file = get_str(v, &["file"]).map(String::from).or_else(|| {
            get(v, &["file"])
                .and_then(Item::as_array)
                .and_then(|a| a.get(0))
                .and_then(|f| f.as_str())
                .map(String::from)
        });
        if let Some(file) = file {
            return Ok(Source::TextFile {
                path: dir.join(&file),
                owner: format!("setuptools {field} file = \"{file}\""),
            });
        }
    }

    if let Some(hatch) = get(root, &["tool", "hatch", "version"]) {
        let source = get_str(hatch, &["source"]).unwrap_or("regex");
        if source == "vcs" {
            return Ok(managed(
                "hatch-vcs",
                "[tool.hatch.version] source = \"vcs\", from git tags",
                SCM_FIX,
            ));
        }
        if let (Some(path), "regex" | "code") = (get_str(hatch, &["path"]), source) {
            return Ok(Source::PythonFile {
                path: dir.join(path),
                names: vec!["__version__".into(), "VERSION".into()],
                owner: format!("hatchling [tool.hatch.version] path = \"{path}\""),
            });
        }
        return Ok(managed(
            "hatch",
            format!("[tool.hatch.version] source = \"{source}\""),
            "change the version where that source plugin reads it, or set `path = \"src/pkg/__about__.py\"`",
        ));
    }

    if let Some(pdm) = get(root, &["tool", "pdm", "version"]) {
        let source = get_str(pdm, &["source"]).unwrap_or("");
        if let ("file", Some(path)) = (source, get_str(pdm, &["path"])) {
            return Ok(Source::PythonFile {
                path: dir.join(path),
                names: vec!["__version__".into()],
                owner: format!("pdm [tool.pdm.version] path = \"{path}\""),
            });
        }
        if source == "scm" {
            return Ok(managed(
                "pdm-backend",
                "[tool.pdm.version] source = \"scm\", from git tags",
                SCM_FIX,
            ));
        }
        return Ok(managed(
            "pdm-backend",
            format!("[tool.pdm.version] source = \"{source}\""),
            "change the version where [tool.pdm.version] reads it",
        ));
    }

    let backend = get_str(root, &["build-system", "build-backend"]).unwrap_or("");
    if backend.starts_with("flit_core") {
        let module = get_str(root, &["tool", "flit", "module", "name"])
            .map(String::from)
            .or_else(|| get_str(root, &["project", "name"]).map(|n| n.replace(['-', '.'], "_")))
            .unwrap_or_default();
        let path = find_module(
            dir,
            pyproject,
            "flit's module ([tool.flit.module].name, else [project].name)",
            &module,
            None,
        )?;
        return Ok(Source::PythonFile {
            path,
            names: vec!["__version__".into()],
            owner: format!("flit module `{module}`"),
        });
    }

    if get(root, &["tool", "setuptools_scm"]).is_some() || requires(root, "setuptools-scm") {
        return Ok(managed(
            "setuptools-scm",
            "[tool.setuptools_scm], from git tags",
            SCM_FIX,
        ));
    }
    if requires(root, "hatch-vcs") {
        return Ok(managed("hatch-vcs", "from git tags", SCM_FIX));
    }
    if backend == "maturin" {
        return Ok(managed(
            "maturin",
            "from Cargo.toml's [package].version",
            "change the version in Cargo.toml",
        ));
    }
    Err(ProjectError::DynamicUnknown {
        path: pyproject.into(),
    })
}

/// The file defining dotted `module`: a package's `__init__.py` or a single-file module,
/// under setuptools' `package-dir` root if set, else `src/` or the project folder.
fn find_module(
    dir: &Path,
    pyproject: &Path,
    field: &str,
    module: &str,
    base: Option<&str>,
) -> Result<PathBuf, ProjectError> {
    let rel = module.replace('.', "/");
    let mut tried = Vec::new();
    if !module.is_empty() {
        let bases: Vec<&str> = match base {
            Some(b) => vec![b],
            None => vec!["src", ""],
        };
        for b in bases {
            for cand in [format!("{rel}/__init__.py"), format!("{rel}.py")] {
                let p = if b.is_empty() {
                    PathBuf::from(&cand)
                } else {
                    Path::new(b).join(&cand)
                };
                if dir.join(&p).is_file() {
                    return Ok(dir.join(p));
                }
                tried.push(p.display().to_string());
            }
        }
    }
    Err(ProjectError::ModuleNotFound {
        path: pyproject.into(),
        field: field.into(),
        module: module.into(),
        tried: if tried.is_empty() {
            "(no module name given)".into()
        } else {
            tried.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyproject")
    }

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    /// The lines that differ; the edit must change exactly one line, in place.
    fn changed_lines<'a>(before: &'a str, after: &'a str) -> Vec<(&'a str, &'a str)> {
        let (b, a): (Vec<_>, Vec<_>) = (before.lines().collect(), after.lines().collect());
        assert_eq!(b.len(), a.len(), "line count changed");
        b.into_iter().zip(a).filter(|(x, y)| x != y).collect()
    }

    /// Golden files: copy `case/` (or a flat `case.toml`) to a temp folder, bump, and compare
    /// the edited file with `case.after.*` byte for byte.
    fn golden(
        case: &str,
        part: crate::version::Part,
        pre: Option<crate::version::PreKind>,
        edited: &str,
        old: &str,
        new: &str,
    ) {
        let src = fixtures();
        let dir = tempfile::tempdir().unwrap();
        let flat = src.join(format!("{case}.toml"));
        if flat.is_file() {
            std::fs::copy(&flat, dir.path().join(PYPROJECT)).unwrap();
        } else {
            copy_dir(&src.join(case), dir.path());
        }
        let p = Project::open(dir.path()).unwrap();
        let cur = p.current().unwrap();
        assert_eq!(cur.version.to_string(), old, "{case}: current");
        let next = crate::version::bump(&cur.version, part, pre).unwrap();
        assert_eq!(next.to_string(), new, "{case}: bumped");
        let edits = p.set_version(&next, &[]).unwrap();
        assert_eq!(edits.len(), 1, "{case}");
        write(&edits).unwrap();
        let ext = Path::new(edited).extension().unwrap().to_str().unwrap();
        let stem = Path::new(edited).file_stem().unwrap().to_str().unwrap();
        let want_name = if flat.is_file() {
            format!("{case}.after.toml")
        } else {
            format!("{case}/{stem}.after.{ext}")
        };
        let want = std::fs::read_to_string(src.join(&want_name)).unwrap();
        let got = std::fs::read_to_string(dir.path().join(edited)).unwrap();
        assert_eq!(got, want, "{case}: differs from {want_name}");
        let diff = changed_lines(&edits[0].before, &got);
        assert_eq!(diff.len(), 1, "{case}: {diff:?}");
        let (b, a) = diff[0];
        assert!(b.contains(old) || b.contains(&edits[0].old), "{case}: {b}");
        assert_eq!(
            b.replace(&edits[0].old, new),
            a,
            "{case}: only the value changes"
        );
        // The rest of the project is untouched, and reads back as the new version.
        assert_eq!(
            Project::open(dir.path())
                .unwrap()
                .current()
                .unwrap()
                .version,
            next
        );
    }

    fn copy_dir(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name.to_string_lossy().contains(".after.") {
                continue;
            }
            let dest = to.join(&name);
            if entry.file_type().unwrap().is_dir() {
                std::fs::create_dir_all(&dest).unwrap();
                copy_dir(&entry.path(), &dest);
            } else {
                std::fs::copy(entry.path(), dest).unwrap();
            }
        }
    }

    use crate::version::{Part, PreKind};

    #[test]
    fn golden_setuptools() {
        golden("setuptools", Part::Minor, None, PYPROJECT, "1.2.3", "1.3.0");
    }

    #[test]
    fn golden_hatch() {
        golden(
            "hatch",
            Part::Pre,
            Some(PreKind::Rc),
            PYPROJECT,
            "1.4.0b2",
            "1.4.0rc1",
        );
    }

    #[test]
    fn golden_poetry() {
        golden("poetry", Part::Patch, None, PYPROJECT, "0.9", "0.9.1");
    }

    #[test]
    fn golden_pdm() {
        golden(
            "pdm",
            Part::Release,
            None,
            PYPROJECT,
            "2!3.0.0rc2",
            "2!3.0.0",
        );
    }

    #[test]
    fn golden_flit_module() {
        golden(
            "flit",
            Part::Post,
            None,
            "flit_demo/__init__.py",
            "0.4.1",
            "0.4.1.post1",
        );
    }

    #[test]
    fn golden_hatch_path() {
        golden(
            "hatch-path",
            Part::Dev,
            None,
            "src/hatch_demo/__about__.py",
            "1.0.dev1",
            "1.0.dev2",
        );
    }

    #[test]
    fn golden_setuptools_attr() {
        golden(
            "setuptools-attr",
            Part::Major,
            Some(PreKind::Alpha),
            "src/attr_demo/__init__.py",
            "0.3.0",
            "1.0.0a1",
        );
    }

    #[test]
    fn scm_projects_say_who_owns_the_version() {
        let p = Project::open(&fixtures().join("setuptools-scm")).unwrap();
        let e = p.current().unwrap_err().to_string();
        assert!(e.contains("managed by setuptools-scm"), "{e}");
        assert!(e.contains("tag the commit instead of bumping"), "{e}");
        assert!(p.set_version(&Version::new([1, 0]), &[]).is_err());
        for (toml, tool) in [
            ("[tool.hatch.version]\nsource = \"vcs\"\n", "hatch-vcs"),
            ("[tool.pdm.version]\nsource = \"scm\"\n", "pdm-backend"),
            (
                "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\n",
                "hatch-vcs",
            ),
            (
                "[tool.poetry-dynamic-versioning]\nenable = true\n",
                "poetry-dynamic-versioning",
            ),
        ] {
            let d = project(&[(
                PYPROJECT,
                &format!("[project]\nname = \"x\"\ndynamic = [\"version\"]\n{toml}"),
            )]);
            let e = Project::open(d.path())
                .unwrap()
                .current()
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("managed by {tool}")), "{e}");
        }
    }

    #[test]
    fn errors_name_the_file_table_and_fix() {
        let d = project(&[(
            PYPROJECT,
            "[project]\nname = \"x\"\n\n[tool.something]\nversion = \"9.9\"\n",
        )]);
        let e = Project::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("pyproject.toml has no [project].version"), "{e}");

        let d = project(&[(PYPROJECT, "[project]\nname = \"x\"\nversion = 1\n")]);
        let e = Project::open(d.path())
            .unwrap()
            .current()
            .unwrap_err()
            .to_string();
        assert!(e.contains("[project].version must be a string"), "{e}");
        assert!(e.contains("found integer"), "{e}");

        let d = project(&[(
            PYPROJECT,
            "[project]\nname = \"x\"\nversion = \"1.0-banana\"\n",
        )]);
        let e = Project::open(d.path())
            .unwrap()
            .current()
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a PEP 440 version"), "{e}");

        let d = project(&[(
            PYPROJECT,
            "[project]\nname = \"x\"\nversion = \"1\"\ndynamic = [\"version\"]\n",
        )]);
        assert!(matches!(
            Project::open(d.path()),
            Err(ProjectError::StaticAndDynamic { .. })
        ));

        let d = project(&[(PYPROJECT, "[project\nname = \"x\"\n")]);
        assert!(matches!(
            Project::open(d.path()),
            Err(ProjectError::Toml { .. })
        ));

        let d = project(&[]);
        let e = Project::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("--project DIR"), "{e}");

        let d = project(&[(
            PYPROJECT,
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n[build-system]\nbuild-backend = \"flit_core.buildapi\"\n",
        )]);
        let e = Project::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("x/__init__.py"), "{e}");

        let d = project(&[(
            PYPROJECT,
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n",
        )]);
        let e = Project::open(d.path()).unwrap_err().to_string();
        assert!(e.contains("--version-file"), "{e}");
    }

    #[test]
    fn version_files_update_only_the_assignment_and_must_have_one() {
        let init = "\"\"\"Demo.\"\"\"\n\nVERSION_NOTE = \"__version__ = '0'\"\n__version__: str = '1.0.0'  # keep\n\ndef f():\n    __version__ = \"x\"\n";
        let d = project(&[
            (PYPROJECT, "[project]\nname = \"x\"\nversion = \"1.0.0\"\n"),
            ("src/x/__init__.py", init),
            ("src/x/empty.py", "# nothing\n"),
        ]);
        let p = Project::open(d.path()).unwrap();
        let edits = p
            .set_version(
                &Version::from_str("1.1.0").unwrap(),
                &[PathBuf::from("src/x/__init__.py")],
            )
            .unwrap();
        assert_eq!(edits.len(), 2);
        assert_eq!(edits[1].after, init.replace("'1.0.0'", "'1.1.0'"));
        assert_eq!(edits[1].old, "1.0.0");

        let e = p
            .set_version(&Version::new([2]), &[PathBuf::from("src/x/empty.py")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `__version__ = \"…\"` assignment"), "{e}");
        assert!(matches!(
            p.set_version(&Version::new([2]), &[PathBuf::from("nope.py")]),
            Err(ProjectError::VersionFileMissing { .. })
        ));
    }

    #[test]
    fn every_toml_quoting_style_survives() {
        for lit in ["\"1.0\"", "'1.0'", "'''1.0'''", "\"\"\"1.0\"\"\""] {
            let text = format!("[project]\nname = \"x\"\nversion={lit}# c\n");
            let d = project(&[(PYPROJECT, &text)]);
            let p = Project::open(d.path()).unwrap();
            let edits = p
                .set_version(&Version::from_str("1.1").unwrap(), &[])
                .unwrap();
            assert_eq!(edits[0].after, text.replace("1.0", "1.1"), "{lit}");
        }
        // Inline and dotted forms are found by path too.
        for text in [
            "project = { name = \"x\", version = \"1.0\" }\n",
            "project.name = \"x\"\nproject.version = \"1.0\"\n",
        ] {
            let d = project(&[(PYPROJECT, text)]);
            let p = Project::open(d.path()).unwrap();
            let edits = p
                .set_version(&Version::from_str("1.1").unwrap(), &[])
                .unwrap();
            assert_eq!(edits[0].after, text.replace("1.0", "1.1"), "{text}");
        }
    }

    #[test]
    fn setuptools_version_file() {
        let d = project(&[
            (
                PYPROJECT,
                "[project]\nname = \"x\"\ndynamic = [\"version\"]\n[tool.setuptools.dynamic]\nversion = {file = \"VERSION\"}\n",
            ),
            ("VERSION", "  3.1\n"),
        ]);
        let p = Project::open(d.path()).unwrap();
        assert_eq!(p.current().unwrap().raw, "3.1");
        let edits = p
            .set_version(&Version::from_str("3.2").unwrap(), &[])
            .unwrap();
        assert_eq!(edits[0].after, "  3.2\n");
    }
}
