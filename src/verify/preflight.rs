//! Before the upload: prove the release works from the very files this run checked. A fresh
//! virtual environment gets the distribution that fits its interpreter — the wheel the
//! installer itself picks among the local wheels, else the sdist, built — with dependencies
//! from the target's index; then the smoke commands run there, and the project's tests run
//! in the workspace against the installed package.
//!
//! "Against the installed package" is enforced, not hoped for: a test runner started in a
//! flat-layout checkout puts the source tree first on `sys.path` (pytest's rootdir and
//! `conftest.py` insertion, `python -m`'s current directory), and the tests would then pass
//! on sources the wheel may not even contain. A hook placed in the environment's
//! site-packages (a `.pth` line, run at every interpreter start there) resolves the project's
//! own top-level modules from site-packages first and records, per process, where each was
//! imported from; a test command that imported the project from anywhere else, or never
//! imported it in this environment at all, fails the pre-flight.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use super::{isolate, last_lines, run, tail, EnvError, Installer, Sources, Venv};
use crate::dist::{DistKind, Distribution};

/// Versions as PEP 440 compares them (`1.0` is `1.0.0`); as text when either does not parse.
fn same_version(installed: &str, expected: &str) -> bool {
    match (
        installed.parse::<pep440_rs::Version>(),
        expected.parse::<pep440_rs::Version>(),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => installed == expected,
    }
}

/// The module the `.pth` line imports; its name cannot clash with a project's.
const HOOK_MODULE: &str = "_sdd_publish_preflight";

/// Pins the project's top-level modules to site-packages and records where they came from.
/// Inactive unless `SDD_PUBLISH_PREFLIGHT_MODULES` is set, so the installer's own runs in this
/// environment are untouched.
const HOOK: &str = r#"# Written by sdd-publish into its pre-flight environment (see its docs): while
# SDD_PUBLISH_PREFLIGHT_MODULES is set, those top-level modules are imported from this
# site-packages whatever a test runner puts first on sys.path, and each process appends
# where they came from to SDD_PUBLISH_PREFLIGHT_RECORD when it exits.
import os
import sys


def _pin():
    names = {n for n in os.environ.get("SDD_PUBLISH_PREFLIGHT_MODULES", "").split(",") if n}
    if not names:
        return
    import importlib.machinery

    site = os.path.dirname(os.path.abspath(__file__))

    class InstalledFirst:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in names:
                return importlib.machinery.PathFinder.find_spec(name, [site])
            return None

        @staticmethod
        def invalidate_caches():
            pass

    sys.meta_path.insert(0, InstalledFirst)
    record = os.environ.get("SDD_PUBLISH_PREFLIGHT_RECORD")
    if not record:
        return
    import atexit

    def where():
        lines = []
        for name in sorted(names):
            module = sys.modules.get(name)
            if module is None:
                continue
            origin = getattr(module, "__file__", None)
            if not origin:
                origin = next(iter(getattr(module, "__path__", None) or []), "")
            lines.append(name + "\t" + str(origin) + "\n")
        if lines:
            with open(record, "a", encoding="utf-8") as f:
                f.writelines(lines)

    atexit.register(where)


_pin()
"#;

/// Run by the environment's interpreter: the installed distribution's wheel tags, its
/// top-level modules (from its RECORD) and where site-packages is, as JSON.
const INSPECT: &str = r#"
import json, re, sys
from importlib import metadata

def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()

want = norm(sys.argv[1])
dist = next(d for d in metadata.distributions() if norm(d.metadata["Name"] or "") == want)
wheel = dist.read_text("WHEEL") or ""
tags = [l.split(":", 1)[1].strip() for l in wheel.splitlines() if l.startswith("Tag:")]
modules = set()
for f in dist.files or []:
    parts = f.parts
    if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".data", ".egg-info")):
        continue
    if len(parts) > 1:
        modules.add(parts[0])
    elif parts[0].endswith(".py"):
        modules.add(parts[0][:-3])
    elif parts[0].endswith((".so", ".pyd")):
        modules.add(parts[0].split(".")[0])
modules.discard("_sdd_publish_preflight")
print(json.dumps({"version": dist.version, "tags": tags, "modules": sorted(modules),
                  "site": str(dist.locate_file(""))}))
"#;

/// What the pre-flight installs and runs.
#[derive(Debug, Clone)]
pub struct Preflight {
    pub installer: Installer,
    pub name: String,
    pub version: String,
    /// The checked distributions (wheels and the sdist).
    pub dists: Vec<Distribution>,
    /// The target's simple index, for the dependencies.
    pub index_url: String,
    /// PyPI's simple index when the target is TestPyPI.
    pub extra_index_url: Option<String>,
    /// The project's extras to install with it (`.[test]` in `test-requirements`).
    pub extras: Vec<String>,
    /// More requirements (`pytest`, `-r FILE` with FILE absolute).
    pub requirements: Vec<OsString>,
    /// Smoke commands, run in the scratch directory.
    pub smoke_commands: Vec<String>,
    /// Test commands, run in the workspace.
    pub test_commands: Vec<String>,
    pub workspace: PathBuf,
    /// A scratch directory; the environment is made inside it.
    pub workdir: PathBuf,
    /// Bounds each step: making the environment, each install, each command.
    pub timeout: Duration,
}

/// What the pre-flight established (also when it failed part way).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PreflightReport {
    pub installer: &'static str,
    /// The file installed (a wheel, else the sdist).
    pub installed: Option<String>,
    /// Why the sdist was installed instead of a wheel, when it was.
    pub sdist_because: Option<String>,
    /// Each command that passed, in order.
    pub passed: Vec<String>,
    /// The project's modules and where the test commands imported them from.
    pub imported: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("{0}")]
    Env(#[from] EnvError),
    #[error("creating a virtual environment with {installer} failed:\n{output}")]
    Venv {
        installer: &'static str,
        output: String,
    },
    #[error("no wheel of {} installs on this runner's Python and there is no sdist to build instead; {installer} said:\n{output}", .wheels.join(", "))]
    NoInstallable {
        wheels: Vec<String>,
        installer: &'static str,
        output: String,
    },
    #[error(
        "`{file}` did not install with its dependencies from {index} ({installer}):\n{output}"
    )]
    Install {
        file: String,
        index: String,
        installer: &'static str,
        output: String,
    },
    #[error("could not read what was installed from `{file}`: {detail}")]
    Inspect { file: String, detail: String },
    #[error(
        "`{file}` installed version {installed} of `{name}`, but its metadata says {expected}"
    )]
    VersionMismatch {
        file: String,
        name: String,
        installed: String,
        expected: String,
    },
    #[error("could not write the pre-flight's import hook `{}`: {source}", path.display())]
    Hook {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status} in a fresh environment with `{file}` installed")]
    Command {
        command: String,
        status: String,
        file: String,
    },
    #[error("`{command}` imported `{module}` from `{path}`, not from the installed `{file}`")]
    SourceTree {
        command: String,
        module: String,
        path: String,
        file: String,
    },
    #[error("`{}`{}: {why}", file.display(), line.map(|n| format!(" line {n}: `{text}`")).unwrap_or_default())]
    Requirements {
        file: std::path::PathBuf,
        /// `None` when the file itself is the problem (it cannot be read).
        line: Option<usize>,
        text: String,
        why: String,
    },
    #[error("`{command}` passed but never imported {} in the pre-flight environment, so it did not test the installed `{file}`", .modules.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" or "))]
    NotImported {
        command: String,
        modules: Vec<String>,
        file: String,
    },
}

impl PreflightError {
    /// The command that failed, when a command did.
    pub fn command(&self) -> Option<&str> {
        match self {
            PreflightError::Command { command, .. }
            | PreflightError::SourceTree { command, .. }
            | PreflightError::NotImported { command, .. } => Some(command),
            _ => None,
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct Inspected {
    version: String,
    tags: Vec<String>,
    modules: Vec<String>,
    site: PathBuf,
}

/// Every tag a wheel's filename stands for (`py2.py3-none-any` is two).
fn wheel_tags(filename: &str) -> Vec<String> {
    let Ok(w) = crate::dist::filename::parse_wheel(filename) else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    for py in w.python_tag.split('.') {
        for abi in w.abi_tag.split('.') {
            for plat in w.platform_tag.split('.') {
                tags.push(format!("{py}-{abi}-{plat}"));
            }
        }
    }
    tags
}

/// The local wheel whose tags are the installed distribution's (its `WHEEL` file).
fn chosen_wheel<'a>(wheels: &[&'a Distribution], installed: &[String]) -> Option<&'a Distribution> {
    let mut installed: Vec<&str> = installed.iter().map(String::as_str).collect();
    installed.sort_unstable();
    let exact = wheels.iter().find(|w| {
        let mut tags = wheel_tags(&w.filename);
        tags.sort_unstable();
        tags == installed
    });
    match (exact, wheels) {
        (Some(w), _) => Some(w),
        // A WHEEL file without tags: with one candidate there is nothing to choose.
        (None, [only]) => Some(only),
        (None, _) => None,
    }
}

/// Link (or copy) `files` into `dir`: the installer's `--find-links` folder, holding exactly
/// the wheels this run checked.
fn gather(files: &[&Distribution], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in files {
        let to = dir.join(&f.filename);
        if std::fs::hard_link(&f.path, &to).is_err() {
            std::fs::copy(&f.path, &to)?;
        }
    }
    Ok(())
}

/// `name[extras] @ file:///…`: exactly this file, with the extras' requirements.
fn direct_reference(name: &str, extras: &[String], path: &Path) -> Result<String, String> {
    let abs = std::path::absolute(path).map_err(|e| e.to_string())?;
    let url = url::Url::from_file_path(&abs)
        .map_err(|()| format!("`{}` is not an absolute path", abs.display()))?;
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!("[{}]", extras.join(","))
    };
    Ok(format!("{name}{extras} @ {url}"))
}

async fn inspect(
    venv: &Venv,
    name: &str,
    file: &str,
    timeout: Duration,
) -> Result<Inspected, PreflightError> {
    let mut c = Command::new(venv.python());
    isolate(&mut c, std::env::vars_os());
    c.arg("-c").arg(INSPECT).arg(name);
    let out = run(c, "python", "read the installed distribution", timeout).await?;
    let failed = |detail: String| PreflightError::Inspect {
        file: file.to_owned(),
        detail,
    };
    if !out.status.success() {
        return Err(failed(tail(&out, 20)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| failed(e.to_string()))
}

/// Install the fitting file, then run the commands. The report says how far it got.
pub async fn run_preflight(
    p: &Preflight,
    log: &dyn Fn(&str),
) -> (PreflightReport, Result<(), PreflightError>) {
    let mut report = PreflightReport {
        installer: p.installer.label(),
        ..PreflightReport::default()
    };
    let result = steps(p, log, &mut report).await;
    (report, result)
}

async fn steps(
    p: &Preflight,
    log: &dyn Fn(&str),
    report: &mut PreflightReport,
) -> Result<(), PreflightError> {
    let label = p.installer.label();
    let venv = match Venv::create(&p.installer, p.workdir.join("preflight-venv"), p.timeout).await?
    {
        Ok(v) => v,
        Err(output) => {
            return Err(PreflightError::Venv {
                installer: label,
                output,
            })
        }
    };
    let wheels: Vec<&Distribution> = p
        .dists
        .iter()
        .filter(|d| d.kind == DistKind::Wheel)
        .collect();
    let sdist = p.dists.iter().find(|d| d.kind == DistKind::Sdist);

    // 1. Which file: the installer picks among the local wheels alone (no index, no
    //    dependencies), so on a re-run the index's copy of the same version cannot stand in.
    let mut chosen: Option<&Distribution> = None;
    if !wheels.is_empty() {
        let dir = p.workdir.join("wheels");
        gather(&wheels, &dir).map_err(|source| EnvError::Scratch {
            dir: dir.clone(),
            source,
        })?;
        let pin = format!("{}=={}", p.name, p.version);
        match venv
            .install(
                &[pin.into()],
                Sources::Files(&dir),
                true,
                "choose the wheel",
            )
            .await?
        {
            Ok(()) => {
                let first = &wheels[0].filename;
                let seen = inspect(&venv, &p.name, first, p.timeout).await?;
                chosen = chosen_wheel(&wheels, &seen.tags);
                if chosen.is_none() {
                    return Err(PreflightError::Inspect {
                        file: first.clone(),
                        detail: format!(
                            "the installed wheel's tags ({}) match none of the local wheels",
                            seen.tags.join(", ")
                        ),
                    });
                }
            }
            Err(output) => match sdist {
                Some(_) => {
                    let why = last_lines(&output, 1);
                    log(&format!(
                        "no wheel here installs on this runner's Python ({why}); installing the sdist, which builds"
                    ));
                    report.sdist_because = Some(why);
                }
                None => {
                    return Err(PreflightError::NoInstallable {
                        wheels: wheels.iter().map(|w| w.filename.clone()).collect(),
                        installer: label,
                        output,
                    })
                }
            },
        }
    }
    let Some(file) = chosen.or(sdist) else {
        // Validation guarantees at least one distribution; nothing to install is no proof.
        return Err(PreflightError::Inspect {
            file: String::new(),
            detail: "no distribution to install".into(),
        });
    };
    report.installed = Some(file.filename.clone());

    // 2. That file with its dependencies (and the test tools) from the target's index.
    let reference = direct_reference(&p.name, &p.extras, &file.path).map_err(|detail| {
        PreflightError::Inspect {
            file: file.filename.clone(),
            detail,
        }
    })?;
    let mut args: Vec<OsString> = vec![reference.into()];
    args.extend(p.requirements.iter().cloned());
    let from = Sources::Index {
        url: &p.index_url,
        extra: p.extra_index_url.as_deref(),
    };
    if let Err(output) = venv
        .install(&args, from, false, &format!("install {}", file.filename))
        .await?
    {
        return Err(PreflightError::Install {
            file: file.filename.clone(),
            index: p.index_url.clone(),
            installer: label,
            output,
        });
    }
    let seen = inspect(&venv, &p.name, &file.filename, p.timeout).await?;
    if !same_version(&seen.version, &p.version) {
        return Err(PreflightError::VersionMismatch {
            file: file.filename.clone(),
            name: p.name.clone(),
            installed: seen.version,
            expected: p.version.clone(),
        });
    }
    log(&format!(
        "installed {} with {label} into a fresh environment (dependencies from {})",
        file.filename, p.index_url
    ));
    let hook_failed = |path: PathBuf| move |source| PreflightError::Hook { path, source };
    let hook_py = seen.site.join(format!("{HOOK_MODULE}.py"));
    std::fs::write(&hook_py, HOOK).map_err(hook_failed(hook_py.clone()))?;
    let hook_pth = seen.site.join(format!("{HOOK_MODULE}.pth"));
    std::fs::write(&hook_pth, format!("import {HOOK_MODULE}\n"))
        .map_err(hook_failed(hook_pth.clone()))?;

    // 3. The commands: smoke commands beside the environment, tests in the workspace.
    let modules = seen.modules.join(",");
    let site = std::fs::canonicalize(&seen.site).unwrap_or(seen.site.clone());
    let commands = p
        .smoke_commands
        .iter()
        .map(|c| (c, false))
        .chain(p.test_commands.iter().map(|c| (c, true)));
    for (i, (command, is_test)) in commands.enumerate() {
        let record = p.workdir.join(format!("imports-{i}.txt"));
        let env: [(&str, &OsStr); 2] = [
            ("SDD_PUBLISH_PREFLIGHT_MODULES", OsStr::new(&modules)),
            ("SDD_PUBLISH_PREFLIGHT_RECORD", record.as_os_str()),
        ];
        let cwd = if is_test { &p.workspace } else { &p.workdir };
        log(&format!("$ {command}"));
        let ran = venv.run_command(command, cwd, &env, log).await?;
        if !ran.success {
            return Err(PreflightError::Command {
                command: command.clone(),
                status: ran.status,
                file: file.filename.clone(),
            });
        }
        if is_test {
            let imported = read_record(&record);
            if imported.is_empty() && !seen.modules.is_empty() {
                return Err(PreflightError::NotImported {
                    command: command.clone(),
                    modules: seen.modules.clone(),
                    file: file.filename.clone(),
                });
            }
            for (module, path) in imported {
                let real = std::fs::canonicalize(&path).unwrap_or(PathBuf::from(&path));
                if !real.starts_with(&site) {
                    return Err(PreflightError::SourceTree {
                        command: command.clone(),
                        module,
                        path,
                        file: file.filename.clone(),
                    });
                }
                if !report.imported.iter().any(|(m, _)| *m == module) {
                    report.imported.push((module, path));
                }
            }
        }
        report.passed.push(command.clone());
    }
    Ok(())
}

/// `module<TAB>path` lines, as the hook writes them.
fn read_record(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect()
}

/// Options a requirements file may not carry, and why: each sends the install to other
/// sources than the target's index, or installs a source tree instead of the checked files.
const REFUSED_OPTIONS: &[(&str, &str)] = &[
    ("-i", OTHER_SOURCES),
    ("--index-url", OTHER_SOURCES),
    ("--extra-index-url", OTHER_SOURCES),
    ("-f", OTHER_SOURCES),
    ("--find-links", OTHER_SOURCES),
    ("--no-index", OTHER_SOURCES),
    ("-e", EDITABLE),
    ("--editable", EDITABLE),
];
const OTHER_SOURCES: &str = "points the install at other sources than the target's index, so the pre-flight would not test what installs from it; remove the line (the index comes from the action's inputs)";
const EDITABLE: &str = "installs a source tree, not the checked files; the project itself is always installed from them: for its extras put `.[extra]` in `test-requirements`, and list other test tools by name";
const THE_PROJECT: &str = "installs the project from its source tree, not the checked files: for its extras put `.[extra]` in `test-requirements` instead";
/// Deeper `-r` chains than this are a loop, or not worth following.
const MAX_NESTING: usize = 16;

/// Screen a `-r` file named in `test-requirements` (and every file it includes with `-r`
/// or `-c`, relative to its own folder, as pip reads them) by the rules of the input
/// itself: requirements, and installer options that change nothing about where packages
/// come from (`--hash`, `--pre`, `--only-binary`, ...). Refused, naming the file and line:
/// an index or find-links option, an editable install, the project's own source tree
/// (`.`, `.[test]`), and a requirements file fetched from a URL.
pub(crate) fn screen_requirements(file: &Path) -> Result<(), PreflightError> {
    let mut seen = std::collections::HashSet::new();
    screen_file(file, 0, &mut seen)
}

fn screen_file(
    file: &Path,
    depth: usize,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), PreflightError> {
    // A line may name an index with its password: shown without it.
    let refuse = |line: Option<usize>, text: &str, why: String| PreflightError::Requirements {
        file: file.to_path_buf(),
        line,
        text: crate::secret::urls_shown(text),
        why,
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        refuse(None, "", format!("cannot be read ({e}): a `-r` path in `test-requirements` is relative to the workspace, one inside a requirements file to that file's folder"))
    })?;
    if !seen.insert(file.canonicalize().unwrap_or_else(|_| file.to_path_buf())) {
        return Ok(());
    }
    let mut lines = text.lines().enumerate();
    while let Some((i, first)) = lines.next() {
        // A trailing backslash continues the line, as in pip, unless the line holds a
        // comment (pip does not continue those either).
        let mut logical = first.to_owned();
        while logical.ends_with('\\') && strip_comment(&logical) == logical {
            logical.pop();
            match lines.next() {
                Some((_, more)) => logical.push_str(more),
                None => break,
            }
        }
        let content = strip_comment(&logical).trim();
        if content.is_empty() {
            continue;
        }
        let line = Some(i + 1);
        if !content.starts_with('-') && is_project_root(content) {
            return Err(refuse(line, content, THE_PROJECT.into()));
        }
        // Every option on the line counts (pip reads them all), by its full name or by an
        // abbreviation pip would accept.
        let tokens: Vec<&str> = content.split_whitespace().collect();
        for (t, token) in tokens.iter().enumerate() {
            let Some(option) = option_of(token) else {
                continue;
            };
            if let Some((_, why)) = REFUSED_OPTIONS.iter().find(|(o, _)| *o == option) {
                return Err(refuse(line, content, (*why).into()));
            }
            if !matches!(option, "-r" | "--requirement" | "-c" | "--constraint") {
                continue;
            }
            // The file: attached (`-rfile`, `--requirement=file`) or the next token.
            let attached = match token.strip_prefix("--") {
                Some(long) => long.split_once('=').map(|(_, v)| v),
                None => token.get(2..).filter(|v| !v.is_empty()),
            };
            let Some(nested) = attached.or_else(|| tokens.get(t + 1).copied()) else {
                continue;
            };
            if nested.contains("://") {
                return Err(refuse(line, content, "a requirements file fetched from a URL can say anything by the time the pre-flight runs; keep it in the repository".into()));
            }
            if depth + 1 >= MAX_NESTING {
                return Err(refuse(
                    line,
                    content,
                    format!("includes more than {MAX_NESTING} nested `-r`/`-c` files"),
                ));
            }
            let base = file.parent().unwrap_or(Path::new("."));
            screen_file(&base.join(nested), depth + 1, seen)?;
        }
    }
    Ok(())
}

/// The options pip reads in a requirements file (`pip/_internal/req/req_file.py`).
const FILE_OPTIONS: &[&str] = &[
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "--constraint",
    "--requirement",
    "--editable",
    "--find-links",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--require-hashes",
    "--pre",
    "--trusted-host",
    "--use-feature",
    "--config-settings",
    "--hash",
];

/// The option a token names: a short one (`-r`, `-rfile`, `-i`), or the long one it spells
/// out or abbreviates unambiguously, as pip's option parser accepts (`--extra-index` is
/// `--extra-index-url`). `None` for a value or an unknown or ambiguous option.
fn option_of(token: &str) -> Option<&'static str> {
    if let Some(long) = token.strip_prefix("--") {
        let name = format!("--{}", long.split('=').next().unwrap_or_default());
        if let Some(exact) = FILE_OPTIONS.iter().find(|o| **o == name) {
            return Some(exact);
        }
        let mut matches = FILE_OPTIONS.iter().filter(|o| o.starts_with(&name));
        return match (matches.next(), matches.next()) {
            (Some(one), None) if name.len() > 2 => Some(one),
            _ => None,
        };
    }
    let short = token.strip_prefix('-')?;
    ["-r", "-c", "-e", "-i", "-f"]
        .into_iter()
        .find(|o| short.starts_with(&o[1..]))
}

/// pip's comments: `#` at the start or after whitespace (a URL's `#egg=` fragment is not one).
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return &line[..i];
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// `.`, `./`, `.[test]`, `./[test]`: the folder the install runs from, which is the project.
fn is_project_root(line: &str) -> bool {
    let target = line.split([' ', '\t', ';']).next().unwrap_or_default();
    let path = target.split('[').next().unwrap_or_default();
    matches!(path, "." | "./" | ".\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// What pip-compile and hand-written files hold passes; includes are followed relative
    /// to their file, and a loop of includes ends.
    #[test]
    fn requirement_files_with_requirements_hashes_and_harmless_options_pass() {
        let d = tempfile::tempdir().unwrap();
        let main = write(
            d.path(),
            "requirements-test.txt",
            "# via pip-compile\npytest==8.3.2 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n--only-binary :all:\n--pre\nhelper @ https://example.org/helper-1.0.whl#egg=helper\n-r sub/more.txt\n-c constraints.txt\n",
        );
        write(
            d.path(),
            "sub/more.txt",
            "hypothesis  # property tests\n-r ../requirements-test.txt\n",
        );
        write(d.path(), "constraints.txt", "urllib3<3\n");
        screen_requirements(&main).unwrap();
    }

    /// Each way a file could install something other than the checked files from other
    /// places than the target's index is refused, naming the file, the line and why; in an
    /// included file too.
    #[test]
    fn requirement_files_that_change_the_sources_or_install_the_project_are_refused() {
        let d = tempfile::tempdir().unwrap();
        for (line, why) in [
            (
                "--index-url https://mirror.example/simple/",
                "other sources",
            ),
            ("-i https://mirror.example/simple/", "other sources"),
            ("--extra-index-url=https://x/simple/", "other sources"),
            ("-fhttps://x/wheels/", "other sources"),
            ("--find-links ./wheels", "other sources"),
            ("--no-index", "other sources"),
            ("-e .", "source tree"),
            ("-e.[test]", "source tree"),
            ("--editable=./", "source tree"),
            (".", "from its source tree"),
            (".[test,docs]", "from its source tree"),
            ("./ ; python_version >= '3.10'", "from its source tree"),
            ("-r https://example.org/req.txt", "from a URL"),
            // pip reads every option on a line, and unique abbreviations of long ones.
            ("--pre --extra-index-url https://x/simple/", "other sources"),
            ("--extra-index=https://x/simple/", "other sources"),
            ("--index https://x/simple/", "other sources"),
            ("--find ./wheels", "other sources"),
            ("--edit .", "source tree"),
            ("--no-ind", "other sources"),
        ] {
            let main = write(
                d.path(),
                "req.txt",
                &format!("pytest\n# fine so far\n{line}  # why not\n"),
            );
            let e = screen_requirements(&main).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("`{}` line 3: `{line}`", main.display()))
                    && msg.contains(why),
                "{line}: {msg}"
            );
            // The same line one include away names the included file.
            write(d.path(), "nested/inner.txt", &format!("{line}\n"));
            let outer = write(d.path(), "outer.txt", "pytest\n-r nested/inner.txt\n");
            let msg = screen_requirements(&outer).unwrap_err().to_string();
            assert!(
                msg.starts_with(&format!(
                    "`{}` line 1: ",
                    d.path().join("nested/inner.txt").display()
                )),
                "{line}: {msg}"
            );
        }
    }

    #[test]
    fn a_refused_line_is_shown_without_the_password_it_carries() {
        let d = tempfile::tempdir().unwrap();
        for line in [
            "--index-url https://ci:hunter2hunter2@mirror.example/simple/",
            "--extra-index-url=https://ci:hunter2hunter2@mirror.example/simple/",
            "-r https://ci:hunter2hunter2@mirror.example/req.txt",
        ] {
            let main = write(d.path(), "req.txt", &format!("{line}\n"));
            let msg = screen_requirements(&main).unwrap_err().to_string();
            assert!(!msg.contains("hunter2"), "{msg}");
            assert!(msg.contains("https://***@mirror.example/"), "{msg}");
        }
    }

    /// Where pip and a naive reading part ways: a comment line ending in `\` continues
    /// nothing, and an abbreviated `--requirement` still includes its file.
    #[test]
    fn requirement_files_are_read_as_pip_reads_them() {
        let d = tempfile::tempdir().unwrap();
        let main = write(
            d.path(),
            "req.txt",
            "pytest\n# see the docs \\\n--index-url https://x/simple/\n",
        );
        let msg = screen_requirements(&main).unwrap_err().to_string();
        assert!(msg.contains("line 3: `--index-url"), "{msg}");
        write(d.path(), "inner.txt", "-e .\n");
        for line in [
            "--requirem inner.txt",
            "--requirement=inner.txt",
            "-rinner.txt",
            "--pre -r inner.txt",
        ] {
            let main = write(d.path(), "outer.txt", &format!("{line}\n"));
            let msg = screen_requirements(&main).unwrap_err().to_string();
            assert!(msg.contains("inner.txt` line 1: `-e .`"), "{line}: {msg}");
        }
        // Twenty files each including the next: cut, and said so.
        for i in 0..20 {
            write(
                d.path(),
                &format!("chain{i}.txt"),
                &format!("-r chain{}.txt\n", i + 1),
            );
        }
        write(d.path(), "chain20.txt", "pytest\n");
        let msg = screen_requirements(&d.path().join("chain0.txt"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("more than 16 nested `-r`/`-c` files"), "{msg}");
    }

    #[test]
    fn a_missing_requirements_file_is_named_with_where_paths_are_from() {
        let d = tempfile::tempdir().unwrap();
        let main = write(d.path(), "req.txt", "-r missing.txt\n");
        let msg = screen_requirements(&main).unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!(
                "`{}`: cannot be read",
                d.path().join("missing.txt").display()
            )) && msg.contains("relative to the workspace"),
            "{msg}"
        );
    }

    #[test]
    fn versions_compare_as_pep_440_says_and_a_mismatch_names_both() {
        assert!(same_version("1.0", "1.0.0"));
        assert!(same_version("1.0.post0", "1.0.post0"));
        assert!(!same_version("0.1.1.dev3", "0.1.1"));
        assert!(!same_version("not a version", "1.0"));
        let e = PreflightError::VersionMismatch {
            file: "p-1.0.tar.gz".into(),
            name: "p".into(),
            installed: "0.0.0".into(),
            expected: "1.0".into(),
        };
        assert_eq!(
            e.to_string(),
            "`p-1.0.tar.gz` installed version 0.0.0 of `p`, but its metadata says 1.0"
        );
    }

    #[test]
    fn wheel_tags_expand_compressed_sets() {
        assert_eq!(
            wheel_tags("p-1.0-py2.py3-none-any.whl"),
            ["py2-none-any", "py3-none-any"]
        );
        assert_eq!(
            wheel_tags("p-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            [
                "cp312-cp312-manylinux_2_17_x86_64",
                "cp312-cp312-manylinux2014_x86_64"
            ]
        );
        assert!(wheel_tags("not-a-wheel.tar.gz").is_empty());
    }

    fn wheel(filename: &str) -> Distribution {
        Distribution {
            path: PathBuf::from(filename),
            filename: filename.into(),
            kind: DistKind::Wheel,
            size: 0,
            metadata: crate::dist::metadata::parse(
                b"Metadata-Version: 2.1\nName: p\nVersion: 1.0\n",
            )
            .unwrap(),
            pyversion: "py3".into(),
        }
    }

    #[test]
    fn the_installed_wheel_is_found_by_its_tags() {
        let linux = wheel("p-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl");
        let mac = wheel("p-1.0-cp312-cp312-macosx_11_0_arm64.whl");
        let both = [&mac, &linux];
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = chosen_wheel(
            &both,
            &tags(&[
                "cp312-cp312-manylinux2014_x86_64",
                "cp312-cp312-manylinux_2_17_x86_64",
            ]),
        );
        assert_eq!(
            got.map(|w| w.filename.as_str()),
            Some(linux.filename.as_str())
        );
        assert!(chosen_wheel(&both, &[]).is_none());
        assert_eq!(
            chosen_wheel(&[&mac], &[]).map(|w| w.filename.as_str()),
            Some(mac.filename.as_str())
        );
    }

    #[test]
    fn a_direct_reference_names_the_file_and_the_extras() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b/p-1.0-py3-none-any.whl");
        let r = direct_reference("p", &["test".into(), "docs".into()], &path).unwrap();
        assert!(r.starts_with("p[test,docs] @ file:///"), "{r}");
        assert!(r.ends_with("/a%20b/p-1.0-py3-none-any.whl"), "{r}");
        assert_eq!(
            direct_reference("p", &[], &path).unwrap(),
            format!("p @ {}", url::Url::from_file_path(&path).unwrap())
        );
    }

    #[test]
    fn the_record_is_read_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.txt");
        std::fs::write(&f, "p\t/site/p/__init__.py\nbroken line\nq\t/src/q.py\n").unwrap();
        assert_eq!(
            read_record(&f),
            [
                ("p".to_string(), "/site/p/__init__.py".to_string()),
                ("q".to_string(), "/src/q.py".to_string())
            ]
        );
        assert!(read_record(&dir.path().join("missing")).is_empty());
    }
}
