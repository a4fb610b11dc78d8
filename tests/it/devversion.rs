//! Dev versions for TestPyPI through the whole pipeline: two pushes to the default branch
//! build and publish two distinct pre-releases; `pip install --pre` gets the newer one, and
//! each checkout's pyproject.toml is left exactly as it was.

use crate::support::*;

/// A fresh checkout of the fixture project, as actions/checkout would give each run.
fn checkout() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("tests/fixtures/improved-sdd"), ws.path());
    ws
}

#[test]
fn two_pushes_publish_two_dev_versions_and_restore_the_tree() {
    let server = PyPIServer::start();
    let build = format!(
        "{} -m build --no-isolation --outdir dist .",
        venv_bin("python").display()
    );
    let original =
        std::fs::read(repo_root().join("tests/fixtures/improved-sdd/pyproject.toml")).unwrap();
    let mut versions = Vec::new();
    for run_number in ["17", "18"] {
        let ws = checkout();
        let mut env = ActionEnv::new("push", "refs/heads/master", "master");
        env.set("GITHUB_RUN_NUMBER", run_number)
            .set("INPUT_TESTPYPI_URL", server.upload_url())
            .set("INPUT_TESTPYPI_TOKEN", server.token.clone())
            .set("INPUT_BUILD", build.clone())
            .set("INPUT_DEV-VERSION", "true");
        let r = env.run(ws.path(), &["run"]);
        assert_eq!(r.code, 0, "{}", r.all_output());
        let version = r.output("version").unwrap();
        assert!(
            r.summary.contains(&format!("built as `{version}`")),
            "{}",
            r.summary
        );
        assert_eq!(
            std::fs::read(ws.path().join("pyproject.toml")).unwrap(),
            original,
            "pyproject.toml restored byte for byte"
        );
        versions.push(version);
    }
    assert_eq!(versions, ["0.1.1.dev1701", "0.1.1.dev1801"]);
    let served = server.served("improved-sdd");
    for v in &versions {
        assert!(
            served.contains_key(&format!("improved_sdd-{v}-py3-none-any.whl")),
            "{served:?}"
        );
        assert!(
            served.contains_key(&format!("improved_sdd-{v}.tar.gz")),
            "{served:?}"
        );
    }

    // `pip install --pre` picks the newest push.
    assert_eq!(
        install_and_report_version(&server, &["--pre"], "improved-sdd"),
        "improved-sdd 0.1.1.dev1801"
    );
}

#[test]
fn a_failing_build_stops_before_any_upload() {
    let server = PyPIServer::start();
    let ws = checkout();
    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.set("INPUT_TESTPYPI_URL", server.upload_url())
        .set("INPUT_TESTPYPI_TOKEN", server.token.clone())
        .set("INPUT_BUILD", "echo building; exit 7")
        .set("INPUT_DEV_VERSION", "true");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = r.first_error();
    assert!(err.contains("`echo building; exit 7` failed"), "{err}");
    assert!(server.stored().is_empty());
    let original =
        std::fs::read(repo_root().join("tests/fixtures/improved-sdd/pyproject.toml")).unwrap();
    assert_eq!(
        std::fs::read(ws.path().join("pyproject.toml")).unwrap(),
        original
    );
}

#[test]
fn dev_version_without_build_is_an_input_error() {
    let ws = checkout();
    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.set("INPUT_DEV_VERSION", "true");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    let err = r.first_error();
    assert!(
        err.contains("`dev-version`") && err.contains("`build`"),
        "{err}"
    );
}
