//! The local commands: `plan` prints the same decision the action would make.

use std::process::Command;

use crate::support::sdd_publish_bin;

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
        "target: pypi\nshould-publish: true\nreason: tag v1.2.0 matches v* → PyPI\n"
    );
    let (_, out) = plan(&["--ref", "refs/heads/main"]);
    assert!(out.starts_with("target: testpypi\n"), "{out}");
    let (_, out) = plan(&["--ref", "refs/heads/dev", "--branch", "dev"]);
    assert!(out.starts_with("target: testpypi\n"), "{out}");
    let (_, out) = plan(&["--ref", "refs/pull/1/merge", "--event", "pull_request"]);
    assert!(out.starts_with("target: none\n"), "{out}");
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
