//! The checks gate under a real runner: `act` runs a workflow that `uses: ./` with
//! `wait-for: Test Suite` against the GitHub API double; the gate holds the publish step
//! while the check is in progress and releases it when the check succeeds.

use crate::act::{act_project, run_act, ActRun};
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
    let project = act_project(tmp.path(), "checks-gate.yml");
    // act takes GITHUB_SHA and GITHUB_REPOSITORY from the checkout's git HEAD and origin.
    run_git(&project, &["init", "-q"]);
    run_git(&project, &["add", "-A"]);
    run_git(&project, &["commit", "-qm", "release"]);
    run_git(
        &project,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/octo-org/improved-sdd.git",
        ],
    );
    let head = run_git(&project, &["rev-parse", "HEAD"]);

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
