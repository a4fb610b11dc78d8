//! The local commands: `plan` prints the same decision the action would make.

use std::process::Command;

use crate::support::{repo_root, sdd_publish_bin, venv_bin};

fn plan(args: &[&str]) -> (i32, String) {
    let out = Command::new(sdd_publish_bin())
        .arg("plan")
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn plan_prints_target_and_reason() {
    let (code, out) = plan(&["--ref", "refs/tags/v1.2.0"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "target: pypi\nshould-publish: true\ndry-run: false\nreason: tag v1.2.0 matches v* → PyPI\n"
    );
    // A rehearsal publishes nothing, and on any branch plans what the default branch gets.
    let (_, out) = plan(&[
        "--ref",
        "refs/heads/feature/x",
        "--event",
        "workflow_dispatch",
        "--default-branch",
        "main",
        "--dry-run",
    ]);
    assert_eq!(
        out,
        "target: testpypi\nshould-publish: false\ndry-run: true\nreason: workflow_dispatch on branch feature/x with dry-run rehearses what a push to the default branch main would publish → TestPyPI\n"
    );
    let (_, out) = plan(&["--ref", "refs/heads/main"]);
    assert!(out.starts_with("target: testpypi\n"), "{out}");
    let (_, out) = plan(&["--ref", "refs/heads/dev", "--branch", "dev"]);
    assert!(out.starts_with("target: testpypi\n"), "{out}");
    let (_, out) = plan(&["--ref", "refs/pull/1/merge", "--event", "pull_request"]);
    assert!(out.starts_with("target: none\n"), "{out}");
}

#[test]
fn plan_rejects_a_broken_runner_context() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{not json").unwrap();
    let out = Command::new(sdd_publish_bin())
        .args(["plan", "--ref", "refs/tags/v1.2.0"])
        .env_clear()
        .env("GITHUB_EVENT_PATH", &event)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("event.json") && !text.contains("target:"),
        "one error naming the payload, no plan: {text}"
    );
}

#[test]
fn plan_rejects_a_bad_mode() {
    let (code, out) = plan(&["--mode", "prod"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("expected one of auto, testpypi, pypi"),
        "{out}"
    );
}

/// The upload benchmark's generated wheels must pass the strict checks a PyPI publish runs,
/// or the benchmark measures a refusal instead of an upload.
#[test]
fn bench_wheels_pass_the_strict_check() {
    let dir = tempfile::tempdir().unwrap();
    // The tools venv's python, as bench/upload.sh runs it, not whatever python3 is on PATH.
    let ok = Command::new(venv_bin("python"))
        .arg(repo_root().join("bench/make_wheels.py"))
        .arg(dir.path())
        .args(["--count", "2", "--size-mb", "1"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "make_wheels.py failed");
    let out = Command::new(sdd_publish_bin())
        .args(["check", "--strict"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 error(s), 0 warning(s)"), "{text}");
}
