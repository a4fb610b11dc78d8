//! The install check against a real index: publish the fixture to pypiserver, then install
//! exactly that version into a fresh environment (with uv and with pip) and run it.

use std::time::Duration;

use sdd_publish::verify::{install_and_smoke, InstallCheck, Installer, VerifyError};

use crate::support::*;

/// pypiserver with improved-sdd 0.1.0 published to it by the binary itself.
fn published() -> PyPIServer {
    let server = PyPIServer::start();
    let ws = workspace_with_dists("0.1.0");
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    server
}

fn check(
    server: &PyPIServer,
    installer: Installer,
    version: &str,
    command: &str,
) -> (InstallCheck, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    (
        InstallCheck {
            installer,
            name: "improved-sdd".into(),
            version: version.into(),
            index_url: server.simple_url(),
            extra_index_url: None,
            commands: command.lines().map(str::to_owned).collect(),
            workdir: work.path().to_path_buf(),
            timeout: Duration::from_secs(120),
        },
        work,
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn installs_the_release_and_runs_it_with_uv_and_with_pip() {
    let server = published();
    for installer in [
        Installer::Uv(venv_bin("uv")),
        Installer::Pip {
            python: venv_bin("python"),
        },
    ] {
        // Every line a command: both run, each with its own output.
        let (c, _work) = check(
            &server,
            installer.clone(),
            "0.1.0",
            "improved-sdd --help\nimproved-sdd --version",
        );
        let report = runtime()
            .block_on(install_and_smoke(&c))
            .unwrap_or_else(|e| panic!("{installer:?}: {e}"));
        assert_eq!(report.command_outputs.len(), 2, "{installer:?}");
        assert!(
            report.command_outputs[0].1.contains("usage: improved-sdd"),
            "{installer:?}: {:?}",
            report.command_outputs
        );
        assert_eq!(
            report.command_outputs[1],
            (
                "improved-sdd --version".to_string(),
                "improved-sdd 0.1.0".to_string()
            ),
            "{installer:?}"
        );
    }
}

#[test]
fn a_version_the_index_lacks_and_a_failing_command_are_clear_errors() {
    let server = published();
    let (c, _w) = check(&server, Installer::Uv(venv_bin("uv")), "0.2.0", "true");
    match runtime().block_on(install_and_smoke(&c)) {
        Err(VerifyError::Install { requirement, .. }) => {
            assert_eq!(requirement, "improved-sdd==0.2.0")
        }
        other => panic!("expected an install error, got {other:?}"),
    }
    let (c, _w) = check(
        &server,
        Installer::Pip {
            python: venv_bin("python"),
        },
        "0.1.0",
        "improved-sdd --no-such-flag",
    );
    match runtime().block_on(install_and_smoke(&c)) {
        Err(e @ VerifyError::Command { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("improved-sdd --no-such-flag")
                    && msg.contains("unrecognized arguments"),
                "{msg}"
            );
        }
        other => panic!("expected a command error, got {other:?}"),
    }
}

#[test]
fn waits_until_served_and_catches_a_missing_file_and_a_different_hash() {
    use sdd_publish::index::IndexQuery;
    use sdd_publish::verify::{wait_until_served, ServeCheck};
    let server = published();
    let ws = workspace_with_dists("0.1.0");
    let wheel = "improved_sdd-0.1.0-py3-none-any.whl";
    let sha = sha256_file(&ws.path().join("dist").join(wheel));
    let query = IndexQuery::new(
        url::Url::parse(&server.simple_url()).unwrap(),
        Duration::from_secs(10),
    )
    .unwrap();
    let check = |files: Vec<(String, String)>| ServeCheck {
        project: "improved-sdd".into(),
        version: "0.1.0".into(),
        files,
        timeout: Duration::from_millis(1500),
        interval: Duration::from_millis(200),
    };
    let rt = runtime();
    let served = rt
        .block_on(wait_until_served(
            &query,
            &check(vec![(wheel.into(), sha.clone())]),
            &|_| {},
        ))
        .unwrap();
    // And where: the URL the index gives, for the report's file table.
    let url = &served.urls[wheel];
    assert!(
        url.starts_with(&server.upload_url()) && url.contains(wheel),
        "{url}"
    );
    match rt.block_on(wait_until_served(
        &query,
        &check(vec![(wheel.into(), "0".repeat(64))]),
        &|_| {},
    )) {
        Err(VerifyError::HashMismatch { served, .. }) => assert_eq!(served, sha),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    let never = "improved_sdd-0.1.0-py3-none-manylinux_2_17_x86_64.whl";
    match rt.block_on(wait_until_served(
        &query,
        &check(vec![(never.into(), sha)]),
        &|_| {},
    )) {
        Err(e @ VerifyError::NotServed { .. }) => assert!(e.to_string().contains(never), "{e}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

fn publish_with(vars: &[(&str, &str)]) -> (PyPIServer, RunResult) {
    let server = PyPIServer::start();
    let ws = workspace_with_dists("0.1.0");
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("SDD_PUBLISH_VERIFY_INTERVAL_MS", "200");
    for (k, v) in vars {
        env.set(k, *v);
    }
    let r = env.run(ws.path(), &["run"]);
    (server, r)
}

#[test]
fn the_pipeline_verifies_with_the_smoke_command() {
    let (_server, r) = publish_with(&[("INPUT_VERIFY_COMMAND", "improved-sdd --version")]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("verified").as_deref(), Some("true"));
    assert!(
        r.stdout
            .contains("$ improved-sdd --version\nimproved-sdd 0.1.0\n"),
        "{}",
        r.stdout
    );
    assert!(r.summary.contains("**Verified:**"), "{}", r.summary);
}

#[test]
fn a_failing_smoke_command_is_a_warning_unless_strict() {
    // The pre-flight would stop the run before the upload (tests/it/preflight.rs); this is
    // about the check after it, from the index.
    let (server, r) = publish_with(&[
        ("INPUT_VERIFY_COMMAND", "improved-sdd --no-such-flag"),
        ("INPUT_PREFLIGHT", "false"),
    ]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("verified").as_deref(), Some("false"));
    let warn = r
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning"))
        .unwrap_or_default();
    assert!(
        warn.contains("verify-strict") && warn.contains("--no-such-flag"),
        "{warn}"
    );
    assert_eq!(server.stored().len(), 2, "the upload itself stands");

    let (_server, r) = publish_with(&[
        ("INPUT_VERIFY_COMMAND", "improved-sdd --no-such-flag"),
        ("INPUT_VERIFY_STRICT", "true"),
        ("INPUT_PREFLIGHT", "false"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert_eq!(r.output("verified").as_deref(), Some("false"));
    assert!(
        r.summary.contains("**Verification failed:**"),
        "{}",
        r.summary
    );
}

#[test]
fn verify_install_false_still_checks_the_index() {
    let (_server, r) = publish_with(&[("INPUT_VERIFY_INSTALL", "false")]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("verified").as_deref(), Some("true"));
    assert!(!r.stdout.contains("installed improved-sdd"), "{}", r.stdout);
    assert!(
        r.stdout.contains("the index serves all 2 file(s)"),
        "{}",
        r.stdout
    );
}
