//! `sdd-publish version …`: the command-line face of this module. Kept here rather than in
//! `cli.rs` so the command is testable with in-memory output and `cli.rs` only dispatches.
//!
//! stdout carries the result (the bare version for `current`, so `$(sdd-publish version
//! current)` works in scripts); stderr carries where it came from and the next steps.
//! Exit codes follow `cli`: 0 ok, 1 a mismatch or a failed write, 2 bad usage or input.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::project::{self, Edit, Project, ProjectError};
use super::{bump, BumpError, Part, PreKind, Version, VersionError};

#[derive(Subcommand, Debug, Clone)]
pub enum VersionCommand {
    /// Print the project's version ([project].version, [tool.poetry].version, or the file a
    /// dynamic-version backend reads).
    Current {
        /// The folder holding pyproject.toml.
        #[arg(long, default_value = ".")]
        project: PathBuf,
    },
    /// Bump the version by PEP 440 rules; never moves it backwards.
    Bump {
        /// major, minor, patch, pre, post, dev or release.
        part: Part,
        /// Start (with major/minor/patch) or move to (with pre) this pre-release phase.
        #[arg(long)]
        pre: Option<PreKind>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Set an explicit PEP 440 version (normalised: `2.0.0-beta.1` is written `2.0.0b1`).
    Set {
        version: String,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Exit 0 if the tag names the project's version (PEP 440 comparison), 1 if not.
    Check {
        /// The release tag, e.g. v2.0.0b1.
        #[arg(long)]
        tag: String,
        /// The tag pattern whose literal prefix is stripped (`release-*`).
        #[arg(long, default_value = "v*")]
        tag_pattern: String,
        #[arg(long, default_value = ".")]
        project: PathBuf,
    },
}

/// Where `bump` and `set` write the new version, and what they do in git afterwards.
#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// Show the change without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Commit the changed files (`git commit -m "Release X"`).
    #[arg(long)]
    pub commit: bool,
    /// Commit, then tag the commit `vX` (annotated). Implies --commit.
    #[arg(long)]
    pub tag: bool,
    /// The folder holding pyproject.toml.
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
    /// Also update `__version__ = "…"` in this Python file, relative to the project
    /// folder (repeatable).
    #[arg(long = "version-file")]
    pub version_files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Bump(#[from] BumpError),
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error("tag `{tag}` names version {tag_version}, but {location} says {project_version}: run `sdd-publish version set {tag_version}` and commit, or tag the commit as v{project_version}")]
    Mismatch {
        tag: String,
        tag_version: String,
        location: String,
        project_version: String,
    },
    #[error("`{command}` failed: {message}. The version files are already written; finish by hand or `git checkout -- .` to undo")]
    Git { command: String, message: String },
}

impl CommandError {
    /// Anything the user can fix in the command or the project files is bad input; a
    /// mismatch or a write that failed is a failure. (`cli` maps these to exit codes.)
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            CommandError::Mismatch { .. }
                | CommandError::Git { .. }
                | CommandError::Project(ProjectError::Io {
                    action: "write",
                    ..
                })
        )
    }
}

/// Run one `version` subcommand; results go to `out`, explanations to `info`.
pub fn run(
    cmd: &VersionCommand,
    out: &mut dyn Write,
    info: &mut dyn Write,
) -> Result<(), CommandError> {
    match cmd {
        VersionCommand::Current { project } => {
            let p = Project::open(project)?;
            let cur = p.current()?;
            let _ = writeln!(out, "{}", cur.version);
            let _ = writeln!(info, "from {}", cur.location);
            if cur.raw != cur.version.to_string() {
                let _ = writeln!(
                    info,
                    "note: written as `{}`, which PEP 440 normalises to {}",
                    cur.raw, cur.version
                );
            }
            Ok(())
        }
        VersionCommand::Bump { part, pre, write } => {
            let p = Project::open(&write.project)?;
            let cur = p.current()?;
            let next = bump(&cur.version, *part, *pre)?;
            change(&p, &cur.version, &next, write, out, info)
        }
        VersionCommand::Set { version, write } => {
            let next = super::parse(version)?;
            let p = Project::open(&write.project)?;
            // The current value may be unreadable (that may be why we are setting it).
            let cur = p.current().ok().map(|c| c.version);
            if let Some(c) = cur.as_ref().filter(|c| next < **c) {
                let _ = writeln!(
                    info,
                    "warning: {next} sorts before the current {c}; pip will prefer {c} wherever both are published"
                );
            }
            let from = cur.unwrap_or_else(|| next.clone());
            change(&p, &from, &next, write, out, info)
        }
        VersionCommand::Check {
            tag,
            tag_pattern,
            project,
        } => {
            let tag_version = super::tag_version(tag, tag_pattern)?;
            let p = Project::open(project)?;
            let cur = p.current()?;
            if cur.version != tag_version {
                return Err(CommandError::Mismatch {
                    tag: tag.clone(),
                    tag_version: tag_version.to_string(),
                    location: cur.location,
                    project_version: cur.version.to_string(),
                });
            }
            let _ = writeln!(
                out,
                "ok: tag {tag} and {} both say {}",
                cur.location, cur.version
            );
            Ok(())
        }
    }
}

fn shown(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}

/// Run one git command in `dir`; its own message is the error when it fails.
fn git(dir: &Path, args: &[&str]) -> Result<(), CommandError> {
    let shown = format!("git {}", args.join(" "));
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| CommandError::Git {
            command: shown.clone(),
            message: format!("{e}; is git installed and on PATH?"),
        })?;
    if !out.status.success() {
        return Err(CommandError::Git {
            command: shown,
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

/// Plan the edits, show them, and (unless dry-run) write them, then commit, tag, or print
/// the next steps.
fn change(
    p: &Project,
    from: &Version,
    next: &Version,
    write: &WriteArgs,
    out: &mut dyn Write,
    info: &mut dyn Write,
) -> Result<(), CommandError> {
    let edits = p.set_version(next, &write.version_files)?;
    for e in &edits {
        show(e, from, next, out);
    }
    if write.dry_run {
        let _ = writeln!(info, "dry run: nothing written");
        return Ok(());
    }
    project::write(&edits)?;
    let files: Vec<String> = edits.iter().map(|e| shown(&e.path)).collect();
    // --tag implies --commit.
    if write.commit || write.tag {
        let mut add = vec!["add", "--"];
        let paths: Vec<String> = edits.iter().map(|e| e.path.display().to_string()).collect();
        add.extend(paths.iter().map(String::as_str));
        git(&p.dir, &add)?;
        let message = format!("Release {next}");
        // Commit only our files, whatever else the user has staged.
        let mut commit = vec!["commit", "-m", message.as_str(), "--"];
        commit.extend(paths.iter().map(String::as_str));
        git(&p.dir, &commit)?;
        let _ = writeln!(info, "committed: {message}");
        if write.tag {
            let tag = format!("v{next}");
            git(&p.dir, &["tag", "-a", &tag, "-m", &message])?;
            let _ = writeln!(
                info,
                "tagged: {tag}\n\nNext step: git push && git push origin {tag}"
            );
        } else {
            let _ = writeln!(
                info,
                "\nNext steps:\n  git tag v{next}\n  git push && git push origin v{next}"
            );
        }
        return Ok(());
    }
    let _ = writeln!(
        info,
        "\nNext steps (sdd-publish runs no git commands):\n  git add {files}\n  git commit -m \"Release {next}\"\n  git tag v{next}\n  git push && git push origin v{next}",
        files = files.join(" ")
    );
    Ok(())
}

/// One line per edit, then the changed lines as a tiny diff, so a dry run shows exactly
/// what a real run writes.
fn show(e: &Edit, from: &Version, next: &Version, out: &mut dyn Write) {
    let _ = writeln!(out, "{}: {} {} -> {next}", shown(&e.path), e.field, e.old);
    if super::parse(&e.old).is_ok_and(|old| old != *from) {
        let _ = writeln!(
            out,
            "  note: this file said {}, not the project's {from}",
            e.old
        );
    }
    for (b, a) in e
        .before
        .lines()
        .zip(e.after.lines())
        .filter(|(b, a)| b != a)
    {
        let _ = writeln!(out, "  - {b}\n  + {a}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct T {
        #[command(subcommand)]
        cmd: VersionCommand,
    }

    fn run_args(dir: &Path, args: &[&str]) -> (Result<(), CommandError>, String, String) {
        let mut argv = vec!["t"];
        argv.extend_from_slice(args);
        let mut cmd = T::try_parse_from(argv).unwrap().cmd;
        match &mut cmd {
            VersionCommand::Current { project } | VersionCommand::Check { project, .. } => {
                *project = dir.into()
            }
            VersionCommand::Bump { write, .. } | VersionCommand::Set { write, .. } => {
                write.project = dir.into()
            }
        }
        let (mut out, mut info) = (Vec::new(), Vec::new());
        let r = run(&cmd, &mut out, &mut info);
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(info).unwrap(),
        )
    }

    fn project(version: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("pyproject.toml"),
            format!("[project]\nname = \"x\"\nversion = \"{version}\"  # here\n"),
        )
        .unwrap();
        std::fs::create_dir_all(d.path().join("x")).unwrap();
        std::fs::write(
            d.path().join("x/__init__.py"),
            format!("__version__ = \"{version}\"\n"),
        )
        .unwrap();
        d
    }

    #[test]
    fn bump_writes_and_prints_next_steps() {
        let d = project("1.2.3");
        let (r, out, info) = run_args(
            d.path(),
            &["bump", "minor", "--version-file", "x/__init__.py"],
        );
        r.unwrap();
        assert!(out.contains("[project].version 1.2.3 -> 1.3.0"), "{out}");
        assert!(out.contains("`__version__` 1.2.3 -> 1.3.0"), "{out}");
        assert!(info.contains("git tag v1.3.0"), "{info}");
        let text = std::fs::read_to_string(d.path().join("pyproject.toml")).unwrap();
        assert!(text.contains("version = \"1.3.0\"  # here"), "{text}");
        let init = std::fs::read_to_string(d.path().join("x/__init__.py")).unwrap();
        assert_eq!(init, "__version__ = \"1.3.0\"\n");
    }

    #[test]
    fn parts_and_kinds_parse_by_clap_with_clear_errors() {
        let parse = |args: &[&str]| T::try_parse_from([&["t", "bump"], args].concat());
        let e = parse(&["micro"]).unwrap_err().to_string();
        assert!(
            e.contains("possible values: major, minor, patch, pre, post, dev, release"),
            "{e}"
        );
        let e = parse(&["minor", "--pre", "gamma"]).unwrap_err().to_string();
        assert!(e.contains("possible values: alpha, beta, rc"), "{e}");
        for (spelled, kind) in [
            ("rc", PreKind::Rc),
            ("c", PreKind::Rc),
            ("preview", PreKind::Rc),
            ("b", PreKind::Beta),
            ("alpha", PreKind::Alpha),
        ] {
            match parse(&["minor", "--pre", spelled]).unwrap().cmd {
                VersionCommand::Bump { part, pre, .. } => {
                    assert_eq!((part, pre), (Part::Minor, Some(kind)), "{spelled}")
                }
                other => panic!("{other:?}"),
            }
        }
        // Every part's own name (as Display writes it) is accepted back.
        for part in <Part as clap::ValueEnum>::value_variants() {
            let name = part.to_string();
            assert!(parse(&[&name]).is_ok(), "{name}");
        }
    }

    #[test]
    fn dry_run_writes_nothing() {
        let d = project("1.3.0");
        let (r, out, info) = run_args(d.path(), &["bump", "minor", "--pre", "rc", "--dry-run"]);
        r.unwrap();
        assert!(out.contains("-> 1.4.0rc1"), "{out}");
        assert!(out.contains("  + version = \"1.4.0rc1\"  # here"), "{out}");
        assert!(info.contains("dry run"), "{info}");
        let text = std::fs::read_to_string(d.path().join("pyproject.toml")).unwrap();
        assert!(text.contains("\"1.3.0\""));
    }

    #[test]
    fn exit_codes() {
        let d = project("1.2.3");
        let (r, ..) = run_args(d.path(), &["bump", "pre"]);
        let e = r.unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("bump minor --pre rc"), "{e}");

        let (r, out, _) = run_args(d.path(), &["check", "--tag", "v1.2.3"]);
        r.unwrap();
        assert!(out.starts_with("ok:"), "{out}");
        let (r, ..) = run_args(d.path(), &["check", "--tag", "v1.2.4"]);
        let e = r.unwrap_err();
        assert!(!e.is_bad_input());
        assert!(
            e.to_string().contains("1.2.4") && e.to_string().contains("1.2.3"),
            "{e}"
        );
        let (r, ..) = run_args(d.path(), &["check", "--tag", "nightly"]);
        assert!(r.unwrap_err().is_bad_input());

        let (r, ..) = run_args(d.path(), &["set", "1.0-banana"]);
        assert!(r.unwrap_err().is_bad_input());
    }

    #[test]
    fn set_normalises_and_current_prints_the_bare_version() {
        let d = project("1.2.3");
        let (r, _, info) = run_args(d.path(), &["set", "2.0.0-beta.1"]);
        r.unwrap();
        assert!(info.contains("git tag v2.0.0b1"), "{info}");
        let (r, out, info) = run_args(d.path(), &["current"]);
        r.unwrap();
        assert_eq!(out, "2.0.0b1\n");
        assert!(
            info.contains("[project].version in pyproject.toml"),
            "{info}"
        );
        // Moving backwards is allowed, with a warning.
        let (r, _, info) = run_args(d.path(), &["set", "1.0"]);
        r.unwrap();
        assert!(
            info.contains("warning: 1.0 sorts before the current 2.0.0b1"),
            "{info}"
        );
    }
}
