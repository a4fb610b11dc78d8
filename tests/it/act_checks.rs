//! The checks gate under a real runner: `act` runs a workflow that `uses: ./` with
//! `wait-for: Test Suite` against the GitHub API double; the gate holds the publish step
//! while the check is in progress and releases it when the check succeeds.

use std::process::Command;

use crate::act::{run_act, ActRun};
use crate::github_double::*;
use crate::support::*;

#[test]
fn act_gate_blocks_then_releases_the_publish_step() {
    let server = PyPIServer::start();
    // In progress for the first three polls, then green.
    let double = GitHubDouble::scripted(
        |poll| {
            vec![if poll <= 3 {
                running(1, "Test Suite")
            } else {
                done(1, "Test Suite", "success")
            }]
        },
        |_| vec![],
    );
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
    std::fs::copy(repo_root().join("action.yml"), project.join("action.yml")).unwrap();
    copy_dir(&repo_root().join("dist"), &project.join("dist"));
    copy_dir(&fixture_dists("0.1.0"), &project.join("dist"));
    std::fs::copy(
        repo_root().join("tests/act/checks-gate.yml"),
        project.join(".github/workflows/e2e.yml"),
    )
    .unwrap();

    // act takes GITHUB_SHA and GITHUB_REPOSITORY from the checkout's git HEAD and origin.
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "release",
        ],
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/octo-org/improved-sdd.git",
        ],
    ] {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&project)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    }
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&project)
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();

    let ActRun { log, report, .. } = run_act(
        &project,
        tmp.path(),
        &server,
        &[("GITHUB_API_URL", double.api_url())],
    );
    assert_eq!(
        report,
        "should-publish=true\n\
         checks=[{\"name\":\"Test Suite\",\"conclusion\":\"success\",\"url\":\"https://github.com/octo-org/improved-sdd/runs/1\"}]\n\
         uploaded=improved_sdd-0.1.0-py3-none-any.whl improved_sdd-0.1.0.tar.gz\n",
        "{log}\n{:?}",
        double.paths()
    );
    // It blocked: the gate saw the check in progress, polled until it turned green, and only
    // then did the upload happen.
    assert_eq!(double.counts(Route::CheckRuns).polls, 4, "{log}");
    assert!(log.contains("waiting for Test Suite"), "{log}");
    assert!(log.contains("1 done"), "{log}");
    let waited = log.find("1 done").unwrap();
    let uploaded = log
        .find("uploaded improved_sdd-0.1.0")
        .unwrap_or_else(|| panic!("{log}"));
    assert!(waited < uploaded, "the upload came after the gate opened");
    // The gate asked about this commit, and found its own run first.
    let paths = double.paths();
    assert!(
        paths[0].starts_with("/repos/octo-org/improved-sdd/actions/runs/"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!(
            "/repos/octo-org/improved-sdd/commits/{head}/check-runs"
        )),
        "{paths:?}"
    );
    assert_eq!(server.served("improved-sdd").len(), 2);
}
