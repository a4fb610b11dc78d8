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
            command: Some(command.into()),
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
        let (c, _work) = check(
            &server,
            installer.clone(),
            "0.1.0",
            "improved-sdd --version",
        );
        let report = runtime()
            .block_on(install_and_smoke(&c))
            .unwrap_or_else(|e| panic!("{installer:?}: {e}"));
        assert_eq!(
            report.command_output.as_deref(),
            Some("improved-sdd 0.1.0"),
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
