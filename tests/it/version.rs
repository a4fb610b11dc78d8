//! `sdd-publish version`: the real binary against copies of the golden pyproject fixtures.

use std::path::Path;
use std::process::Command;

use crate::support::{copy_dir, repo_root, sdd_publish_bin};

/// Run `sdd-publish version ARGS` in `dir`: exit code, stdout, stderr.
fn version(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(sdd_publish_bin())
        .arg("version")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> tempfile::TempDir {
    let src = repo_root().join("tests/fixtures/pyproject");
    let dir = tempfile::tempdir().unwrap();
    let flat = src.join(format!("{name}.toml"));
    if flat.is_file() {
        std::fs::copy(flat, dir.path().join("pyproject.toml")).unwrap();
    } else {
        copy_dir(&src.join(name), dir.path());
    }
    dir
}

#[test]
fn bump_matches_the_golden_file_and_prints_next_steps() {
    let d = fixture("setuptools");
    let (code, out, err) = version(d.path(), &["current"]);
    assert_eq!((code, out.as_str()), (0, "1.2.3\n"), "{err}");

    let (code, out, err) = version(d.path(), &["bump", "minor", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[project].version 1.2.3 -> 1.3.0"), "{out}");
    assert!(err.contains("dry run"), "{err}");
    let (_, out, _) = version(d.path(), &["current"]);
    assert_eq!(out, "1.2.3\n", "a dry run writes nothing");

    let (code, _, err) = version(d.path(), &["bump", "minor"]);
    assert_eq!(code, 0, "{err}");
    for step in [
        "git add pyproject.toml",
        "git tag v1.3.0",
        "git push && git push origin v1.3.0",
    ] {
        assert!(err.contains(step), "{step}: {err}");
    }
    let want =
        std::fs::read(repo_root().join("tests/fixtures/pyproject/setuptools.after.toml")).unwrap();
    assert_eq!(
        std::fs::read(d.path().join("pyproject.toml")).unwrap(),
        want
    );
}

#[test]
fn check_exits_1_on_a_mismatch_with_both_values() {
    let d = fixture("hatch");
    let (code, out, err) = version(d.path(), &["check", "--tag", "v1.4.0-beta.2"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = version(d.path(), &["check", "--tag", "v1.4.0"]);
    assert_eq!(code, 1);
    assert!(err.contains("1.4.0b2") && err.contains("1.4.0"), "{err}");
}

#[test]
fn bad_input_exits_2_with_a_fix() {
    let d = fixture("flit");
    let (code, _, err) = version(d.path(), &["bump", "pre"]);
    assert_eq!(code, 2);
    assert!(err.contains("`bump minor --pre rc` (0.5.0rc1)"), "{err}");
    let (code, _, err) = version(d.path(), &["set", "not-a-version"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a PEP 440 version"), "{err}");

    let d = fixture("setuptools-scm");
    let (code, _, err) = version(d.path(), &["bump", "patch"]);
    assert_eq!(code, 2);
    assert!(err.contains("tag the commit instead of bumping"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = version(empty.path(), &["current"]);
    assert_eq!(code, 2);
    assert!(err.contains("no pyproject.toml"), "{err}");
}

#[test]
fn set_updates_the_hatch_path_file_and_extra_version_files() {
    let d = fixture("hatch-path");
    // The hatch path file is the source; an extra file gets the same version.
    std::fs::write(d.path().join("version.py"), "__version__ = '0'\n").unwrap();
    let (code, _, err) = version(
        d.path(),
        &["set", "2.0.0-rc.1", "--version-file", "version.py"],
    );
    assert_eq!(code, 0, "{err}");
    let about = std::fs::read_to_string(d.path().join("src/hatch_demo/__about__.py")).unwrap();
    assert!(about.ends_with("__version__ = '2.0.0rc1'\n"), "{about}");
    assert_eq!(
        std::fs::read_to_string(d.path().join("version.py")).unwrap(),
        "__version__ = '2.0.0rc1'\n"
    );
}

#[test]
fn bump_commit_tag_commits_only_the_version_files_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("pyproject.toml"),
        "[project]\nname = \"x\"\nversion = \"1.2.3\"\n",
    )
    .unwrap();
    std::fs::write(d.join("other.txt"), "a").unwrap();
    let git = |args: &[&str]| crate::support::run_git(d, args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    std::fs::write(d.join("other.txt"), "changed and staged").unwrap();
    git(&["add", "other.txt"]);
    let out = std::process::Command::new(crate::support::sdd_publish_bin())
        .args(["version", "bump", "minor", "--tag", "--project"])
        .arg(d)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(git(&["log", "-1", "--format=%s"]), "Release 1.3.0");
    assert_eq!(
        git(&["show", "--name-only", "--format=", "HEAD"]),
        "pyproject.toml"
    );
    assert_eq!(git(&["tag", "--points-at", "HEAD"]), "v1.3.0");
    assert_eq!(
        git(&["diff", "--cached", "--name-only"]),
        "other.txt",
        "the user's staged change is left alone"
    );
}

#[test]
fn commit_outside_a_git_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\nversion = \"1.0\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::support::sdd_publish_bin())
        .args(["version", "bump", "patch", "--commit", "--project"])
        .arg(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`git add") && err.contains("not a git repository"),
        "{err}"
    );
}
