//! `action.yml` end to end under a real runner: `act` (host mode) runs a workflow that
//! `uses: ./`; the installer downloads the freshly built binary from a loopback HTTP server
//! and checks it against a sha256 list, then the action publishes a tag push to pypiserver.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::*;

/// Pack the test binary as the release archive the installer expects, and its sha256 list.
pub(crate) fn release_dir(dir: &Path) -> String {
    release_dir_of(dir, &sdd_publish_bin())
}

/// [`release_dir`] with `bin` (the binary, or a wrapper around it) as `sdd-publish`.
pub(crate) fn release_dir_of(dir: &Path, bin: &Path) -> String {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(bin, stage.join("sdd-publish")).unwrap();
    let mut sums = String::new();
    for triple in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        let archive = format!("sdd-publish-{triple}.tar.gz");
        let ok = Command::new("tar")
            .arg("-czf")
            .arg(dir.join(&archive))
            .arg("-C")
            .arg(&stage)
            .arg("sdd-publish")
            .status()
            .unwrap()
            .success();
        assert!(ok, "tar failed");
        sums.push_str(&format!(
            "{}  {archive}\n",
            sha256_file(&dir.join(&archive))
        ));
    }
    sums
}

/// A loopback static file server (python's http.server from the tools venv).
pub(crate) struct FileServer {
    child: std::process::Child,
    pub(crate) port: u16,
}

impl FileServer {
    pub(crate) fn start(dir: &Path) -> FileServer {
        let port = free_port();
        let mut child = Command::new(venv_bin("python"))
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return FileServer { child, port };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("file server did not start");
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The "repository" `run_act` runs: the action itself plus built distributions, as a
/// checkout would be, with `tests/act/<workflow>` as its `.github/workflows/e2e.yml`.
pub(crate) fn act_project(tmp: &Path, workflow: &str) -> PathBuf {
    let project = tmp.join("project");
    std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
    std::fs::copy(repo_root().join("action.yml"), project.join("action.yml")).unwrap();
    copy_dir(&repo_root().join("dist"), &project.join("dist"));
    copy_dir(&fixture_dists("0.1.0"), &project.join("dist"));
    std::fs::copy(
        repo_root().join("tests/act").join(workflow),
        project.join(".github/workflows/e2e.yml"),
    )
    .unwrap();
    project
}

/// One `act` run of the project's `.github/workflows/e2e.yml` for a `v0.1.0` tag push (host
/// mode), with the installer pointed at the freshly built binary on a loopback file server
/// and a sha256 list for it. Returns act's log, the workflow's report file's text, and the
/// file server's port.
pub(crate) struct ActRun {
    pub log: String,
    pub report: String,
    pub files_port: u16,
}

pub(crate) fn run_act(
    project: &Path,
    tmp: &Path,
    server: &PyPIServer,
    extra_env: &[(&str, String)],
) -> ActRun {
    let downloads = tmp.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let sums_file = tmp.join("sha256sums");
    std::fs::write(&sums_file, release_dir(&downloads)).unwrap();
    let files = FileServer::start(&downloads);
    let event = tmp.join("event.json");
    std::fs::write(
        &event,
        r#"{"ref":"refs/tags/v0.1.0","repository":{"full_name":"octo-org/improved-sdd","default_branch":"master","fork":false}}"#,
    )
    .unwrap();
    let report = tmp.join("report.txt");
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut env: Vec<(&str, String)> = vec![
        ("SDD_E2E_SOURCE", project.display().to_string()),
        ("SDD_E2E_REPORT", report.display().to_string()),
        ("SDD_E2E_PYPI_URL", server.upload_url()),
        (
            "SDD_PUBLISH_DIST_URL",
            format!("http://127.0.0.1:{}/", files.port),
        ),
        ("SDD_PUBLISH_SHA256SUMS", sums_file.display().to_string()),
    ];
    env.extend(extra_env.iter().cloned());
    let mut cmd = Command::new(venv_bin("act"));
    cmd.current_dir(project)
        .env("HOME", &home)
        .env("PYPI_TOKEN", &server.token)
        .args(["push", "-W", ".github/workflows/e2e.yml", "-e"])
        .arg(&event)
        .args(["-P", "ubuntu-latest=-self-hosted", "--no-cache-server"])
        .args(["--secret", "PYPI_TOKEN"]);
    for (k, v) in &env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    let out = cmd.output().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "act failed:\n{log}");
    assert_no_secrets("act", &log);
    let report = std::fs::read_to_string(&report).unwrap_or_else(|_| panic!("no report:\n{log}"));
    ActRun {
        log,
        report,
        files_port: files.port,
    }
}

#[test]
fn act_runs_the_action_for_a_tag_push() {
    let server = PyPIServer::start();
    let tmp = tempfile::tempdir().unwrap();

    let project = act_project(tmp.path(), "tag-push.yml");

    let ActRun {
        log,
        report,
        files_port,
    } = run_act(&project, tmp.path(), &server, &[]);
    assert_eq!(
        report,
        "should-publish=true\ntarget=pypi\nname=improved-sdd\nversion=0.1.0\n\
         uploaded=improved_sdd-0.1.0-py3-none-any.whl improved_sdd-0.1.0.tar.gz\n",
        "{log}"
    );
    let served = server.served("improved-sdd");
    assert_eq!(served.len(), 2, "{served:?}");
    for (file, sha) in &served {
        assert_eq!(sha, &sha256_file(&project.join("dist").join(file)));
    }
    // The installer really downloaded and verified (not a source build, not a shortcut).
    let download = format!("downloading http://127.0.0.1:{files_port}/sdd-publish-");
    assert!(
        log.contains(&download),
        "installer downloaded over loopback:\n{log}"
    );
    assert!(
        log.contains("verified sha256 "),
        "installer checked the hash:\n{log}"
    );
    assert!(
        !log.contains("building from source"),
        "no fallback build:\n{log}"
    );
    assert!(
        !log.contains(&server.token),
        "the token never reaches the log"
    );
}
