//! `examples/publish.yml`, unmodified, under a real runner: `act` (host mode) runs the
//! workflow with local stand-ins for `actions/checkout` and `actions/setup-python`
//! (`tests/act/stand-ins/`), the action itself mapped from this checkout (its installer
//! downloading the freshly built binary over loopback and checking its sha256), two
//! pypiservers standing in for PyPI and TestPyPI (`SDD_PUBLISH_PYPI_URL`,
//! `SDD_PUBLISH_TESTPYPI_URL`) and the GitHub API double (`GITHUB_API_URL`) for the checks
//! the workflow waits for and the GitHub Release. The project is the `improved-sdd` fixture,
//! built by the workflow's own `python -m build` (isolated, from a local wheelhouse).
//!
//! One scenario per test: a master push, a tag push, a re-run of the tag, a pull request, a
//! failed check, rehearsals (`workflow_dispatch` with `dry-run`, on the tag and on a feature
//! branch), and the pre-flight stopping a release whose console script crashes or whose
//! critical tests fail. The pytest those tests need comes from the wheelhouse, served by the
//! PyPI stand-in as PyPI would. `examples/wheels-matrix.yml`'s publish job runs against a
//! TestPyPI conflict, and `examples/private-index.yml` against devpi-server with a user.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::act::{release_dir_of, FileServer};
use crate::github_double::*;
use crate::support::*;

const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
const SETUP_PYTHON: &str = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065";
const DOWNLOAD_ARTIFACT: &str =
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093";
const ACTION: &str = "org/sdd-publish-action@v1";
// No word in it: the secrets guard matches any eight characters of it in the output.
const GITHUB_TOKEN: &str = "ghs_Xq7Lm2Vr9Tz4Kb8Nw5Jd";
const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";

/// Everything one scenario runs against; kept across runs of the same world (a re-run).
struct World {
    tmp: tempfile::TempDir,
    project: PathBuf,
    action: PathBuf,
    pypi: PyPIServer,
    testpypi: PyPIServer,
    double: GitHubDouble,
    files: FileServer,
    sums: PathBuf,
    head: String,
    /// The example under `examples/` this world runs.
    example: &'static str,
}

/// What one `act` run left behind.
struct Outcome {
    ok: bool,
    log: String,
}

impl Outcome {
    /// The first step summary act printed for the publish job (the action's own step).
    fn summary(&self) -> String {
        let mut lines = self.log.lines().skip_while(|l| !l.contains("Summary - "));
        let Some(first) = lines.next() else {
            return String::new();
        };
        let mut md = first[first.find("Summary - ").unwrap() + "Summary - ".len()..].to_owned();
        md.push('\n');
        for l in lines.take_while(|l| !l.starts_with('[')) {
            md.push_str(l);
            md.push('\n');
        }
        md
    }

    /// The value of a step output as act logs it (`::set-output:: name=value`).
    fn output(&self, name: &str) -> Option<String> {
        let needle = format!("::set-output:: {name}=");
        self.log.lines().find_map(|l| {
            l.find(&needle)
                .map(|i| l[i + needle.len()..].trim_end().to_owned())
        })
    }
}

impl World {
    /// A world whose CI checks on the commit are the given ones (at every poll).
    fn new(check_runs: Vec<Value>) -> World {
        World::with_binary(check_runs, &sdd_publish_bin())
    }

    /// [`World::new`] with `bin` installed as the action's `sdd-publish` (a benchmark wraps
    /// the real binary to measure it).
    fn with_binary(check_runs: Vec<Value>, bin: &Path) -> World {
        World::with(check_runs, bin, &|_| {})
    }

    /// A green world whose project `edit` changed before its commit (a bug the pre-flight
    /// must catch).
    fn green_with(edit: &dyn Fn(&Path)) -> World {
        World::with(
            vec![
                done(1, "Test Suite", "success"),
                done(2, "Security Scan", "success"),
            ],
            &sdd_publish_bin(),
            edit,
        )
    }

    fn with(check_runs: Vec<Value>, bin: &Path, edit: &dyn Fn(&Path)) -> World {
        World::of_example("publish.yml", None, check_runs, bin, edit)
    }

    fn of_example(
        example: &'static str,
        job: Option<&'static str>,
        check_runs: Vec<Value>,
        bin: &Path,
        edit: &dyn Fn(&Path),
    ) -> World {
        let tmp = tempfile::tempdir().unwrap();
        // The project as a checkout of improved-sdd would be, with the example as its workflow.
        let project = tmp.path().join("improved-sdd");
        copy_dir(&repo_root().join("tests/fixtures/improved-sdd"), &project);
        for generated in ["dist", "build"] {
            let _ = std::fs::remove_dir_all(project.join(generated));
        }
        edit(&project);
        std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
        let text = std::fs::read_to_string(repo_root().join("examples").join(example)).unwrap();
        std::fs::write(
            project.join(".github/workflows").join(example),
            match job {
                None => text,
                Some(job) => only_job(&text, job),
            },
        )
        .unwrap();
        // act takes GITHUB_SHA and GITHUB_REPOSITORY from the checkout's HEAD and origin.
        run_git(&project, &["init", "-q", "-b", "master"]);
        run_git(&project, &["add", "-A"]);
        run_git(&project, &["commit", "-qm", "improved-sdd 0.1.0"]);
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

        // The action as `uses: org/sdd-publish-action@v1` resolves it: action.yml + dist/.
        let action = tmp.path().join("sdd-publish-action");
        std::fs::create_dir_all(&action).unwrap();
        std::fs::copy(repo_root().join("action.yml"), action.join("action.yml")).unwrap();
        copy_dir(&repo_root().join("dist"), &action.join("dist"));
        let downloads = tmp.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let sums = tmp.path().join("sha256sums");
        std::fs::write(&sums, release_dir_of(&downloads, bin)).unwrap();
        let files = FileServer::start(&downloads);

        register_secret(GITHUB_TOKEN);
        // PyPI serves what the pre-flight installs besides the project: pytest.
        let pypi = PyPIServer::start();
        pypi.serve_wheelhouse();
        World {
            project,
            action,
            pypi,
            testpypi: PyPIServer::start(),
            double: GitHubDouble::fixed(check_runs, vec![]),
            files,
            sums,
            head,
            tmp,
            example,
        }
    }

    /// Where the download-artifact stand-in finds the artifacts: one folder each.
    fn artifacts(&self) -> PathBuf {
        self.tmp.path().join("artifacts")
    }

    fn green() -> World {
        World::new(vec![
            done(1, "Test Suite", "success"),
            done(2, "Security Scan", "success"),
        ])
    }

    /// Run the workflow for one event under act. The log is also kept in
    /// `target/act-logs/<label>.log`, for reading a run that passed.
    fn act(&self, label: &str, event: &str, payload: Value) -> Outcome {
        self.act_with(label, event, payload, &[])
    }

    /// [`World::act`] with more secrets.
    fn act_with(
        &self,
        label: &str,
        event: &str,
        payload: Value,
        secrets: &[(&str, &str)],
    ) -> Outcome {
        let event_file = self.tmp.path().join("event.json");
        std::fs::write(&event_file, payload.to_string()).unwrap();
        let home = self.tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let stand_ins = repo_root().join("tests/act/stand-ins");
        let env: Vec<(&str, String)> = vec![
            ("SDD_E2E_SOURCE", self.project.display().to_string()),
            (
                "SDD_E2E_PYTHON_BIN",
                venv_bin("python").parent().unwrap().display().to_string(),
            ),
            ("SDD_PUBLISH_PYPI_URL", self.pypi.upload_url()),
            ("SDD_PUBLISH_TESTPYPI_URL", self.testpypi.upload_url()),
            ("GITHUB_API_URL", self.double.api_url()),
            (
                "SDD_PUBLISH_DIST_URL",
                format!("http://127.0.0.1:{}/", self.files.port),
            ),
            ("SDD_PUBLISH_SHA256SUMS", self.sums.display().to_string()),
            ("SDD_PUBLISH_VERIFY_INTERVAL_MS", "200".into()),
            ("SDD_E2E_ARTIFACTS", self.artifacts().display().to_string()),
            // No index but loopback: the isolated build finds setuptools in the wheelhouse,
            // and `pip install build` must find it already installed.
            ("PIP_NO_INDEX", "1".into()),
            (
                "PIP_FIND_LINKS",
                tools_dir().join("wheelhouse").display().to_string(),
            ),
        ];
        let mut cmd = Command::new(venv_bin("act"));
        cmd.current_dir(&self.project)
            .env("HOME", &home)
            .env("PYPI_API_TOKEN", &self.pypi.token)
            .env("TEST_PYPI_API_TOKEN", &self.testpypi.token)
            .env("GITHUB_TOKEN", GITHUB_TOKEN)
            .arg(event)
            .arg("-W")
            .arg(format!(".github/workflows/{}", self.example))
            .arg("-e")
            .arg(&event_file)
            .args(["-P", "ubuntu-latest=-self-hosted", "--no-cache-server"])
            .args(["--secret", "PYPI_API_TOKEN"])
            .args(["--secret", "TEST_PYPI_API_TOKEN"])
            .args(["--secret", "GITHUB_TOKEN"])
            .arg("--local-repository")
            .arg(format!("{ACTION}={}", self.action.display()))
            .arg("--local-repository")
            .arg(format!(
                "{CHECKOUT}={}",
                stand_ins.join("checkout").display()
            ))
            .arg("--local-repository")
            .arg(format!(
                "{SETUP_PYTHON}={}",
                stand_ins.join("setup-python").display()
            ))
            .arg("--local-repository")
            .arg(format!(
                "{DOWNLOAD_ARTIFACT}={}",
                stand_ins.join("download-artifact").display()
            ));

        for (k, v) in &env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        for (k, v) in secrets {
            cmd.env(k, v).args(["--secret", k]);
        }

        let out = cmd.output().unwrap();
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_no_secrets("act", &log);
        let logs = repo_root().join("target/act-logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join(format!("{label}.log")), &log).unwrap();
        Outcome {
            ok: out.status.success(),
            log,
        }
    }

    fn push(&self, label: &str, git_ref: &str) -> Outcome {
        self.act(label, "push", self.push_event(git_ref))
    }

    fn push_event(&self, git_ref: &str) -> Value {
        json!({
            "ref": git_ref,
            "after": self.head,
            "repository": {"full_name": REPO, "default_branch": "master", "fork": false},
        })
    }

    /// The improved-sdd files a server stores (not the wheelhouse PyPI also serves).
    fn stored(server: &PyPIServer) -> Vec<String> {
        let mut s = server.stored();
        s.retain(|f| f.starts_with("improved_sdd-"));
        s.sort();
        s
    }

    /// `workflow_dispatch` of `git_ref` with the `dry-run` input on.
    fn rehearse(&self, label: &str, git_ref: &str) -> Outcome {
        self.act(
            label,
            "workflow_dispatch",
            json!({
                "ref": git_ref,
                // GitHub sends workflow_dispatch inputs as strings, booleans too.
                "inputs": {"dry-run": "true"},
                "repository": {"full_name": REPO, "default_branch": "master", "fork": false},
            }),
        )
    }

    fn writes(&self) -> Vec<(String, String)> {
        self.double
            .calls()
            .into_iter()
            .filter(|(m, _)| m != "GET")
            .collect()
    }
}

#[test]
fn master_push_publishes_a_dev_version_to_testpypi() {
    let w = World::green();
    let o = w.push("master-push", "refs/heads/master");
    assert!(o.ok, "{}", o.log);
    assert_eq!(
        o.output("should-publish").as_deref(),
        Some("true"),
        "{}",
        o.log
    );
    assert_eq!(o.output("target").as_deref(), Some("testpypi"));
    let version = o.output("version").unwrap();
    assert!(
        version.starts_with("0.1.1.dev"),
        "a dev version above the last release: {version}"
    );
    let stored = World::stored(&w.testpypi);
    assert_eq!(
        stored,
        vec![
            format!("improved_sdd-{version}-py3-none-any.whl"),
            format!("improved_sdd-{version}.tar.gz"),
        ]
    );
    assert!(World::stored(&w.pypi).is_empty(), "nothing on PyPI");
    // Before the upload, the pre-flight installed the built wheel (pytest from PyPI, the
    // extra index of a TestPyPI target) and ran the smoke commands and the critical tests.
    let preflight = o
        .log
        .find("::group::Pre-flight")
        .unwrap_or_else(|| panic!("{}", o.log));
    let passed = o
        .log
        .find("3 passed")
        .unwrap_or_else(|| panic!("{}", o.log));
    let uploaded = o.log.find("uploaded improved_sdd-").unwrap();
    assert!(preflight < passed && passed < uploaded, "{}", o.log);
    assert!(
        o.log.contains("$ improved-sdd --version")
            && o.log.contains(&format!("improved-sdd {version}")),
        "{}",
        o.log
    );
    // It installs from TestPyPI and runs.
    assert!(o.log.contains("improved-sdd --help"), "{}", o.log);
    assert_eq!(o.output("verified").as_deref(), Some("true"), "{}", o.log);
    // No GitHub Release for a branch push, and the gate only read.
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    // The later job read the outputs.
    assert!(
        o.log.contains(&format!(
            "improved-sdd {version} on testpypi: 2 file(s) uploaded"
        )),
        "{}",
        o.log
    );
}

/// The tag run's expectations, shared by the first run and the re-run.
fn assert_tag_release(w: &World, o: &Outcome) {
    let releases = w.double.releases();
    assert_eq!(
        releases.len(),
        1,
        "one release, never a duplicate: {releases:#?}"
    );
    let rel = &releases[0];
    assert_eq!(rel["tag_name"], "v0.1.0");
    assert_eq!(rel["draft"], false);
    assert_eq!(rel["prerelease"], false);
    let body = rel["body"].as_str().unwrap();
    assert!(
        body.contains("The `improved-sdd` command, with `--help` and `--version`."),
        "notes from the CHANGELOG section: {body}"
    );
    let assets = w.double.asset_bytes("v0.1.0");
    assert_eq!(
        assets.keys().collect::<Vec<_>>(),
        vec![WHEEL, SDIST],
        "the dists attached"
    );
    // The assets are the very files PyPI serves.
    let served = w.pypi.served("improved-sdd");
    for (name, bytes) in &assets {
        use sha2::Digest;
        let sha = format!("{:x}", sha2::Sha256::digest(bytes));
        assert_eq!(served.get(name), Some(&sha), "{name}");
    }
    let url = rel["html_url"].as_str().unwrap();
    assert_eq!(o.output("release-url").as_deref(), Some(url), "{}", o.log);
}

#[test]
fn tag_push_publishes_to_pypi_verifies_and_creates_the_release() {
    let w = World::green();
    let o = w.push("tag-push", "refs/tags/v0.1.0");
    assert!(o.ok, "{}", o.log);
    assert_eq!(o.output("should-publish").as_deref(), Some("true"));
    assert_eq!(o.output("target").as_deref(), Some("pypi"));
    assert_eq!(o.output("version").as_deref(), Some("0.1.0"));
    assert_eq!(World::stored(&w.pypi), vec![WHEEL, SDIST]);
    assert!(World::stored(&w.testpypi).is_empty(), "nothing on TestPyPI");
    assert_eq!(o.output("verified").as_deref(), Some("true"), "{}", o.log);
    // The gate waited for both checks before anything was uploaded.
    let waited = o.log.find("2 done").unwrap_or_else(|| panic!("{}", o.log));
    let uploaded = o.log.find("uploaded improved_sdd-0.1.0").unwrap();
    assert!(waited < uploaded);
    assert_tag_release(&w, &o);
    assert_audit_record(&w, &o);
    // The release was created once, with both assets uploaded once.
    let writes = w.writes();
    assert_eq!(
        writes.iter().filter(|(m, _)| m == "POST").count(),
        3,
        "create + 2 asset uploads: {writes:?}"
    );
    // The later job read the outputs.
    let release = o.output("release-url").unwrap();
    assert!(
        o.log.contains(&format!(
            "improved-sdd 0.1.0 on pypi: 2 file(s) uploaded; http://127.0.0.1:{}/simple/improved-sdd/; release: {release}",
            w.pypi.port
        )),
        "{}",
        o.log
    );
}

#[test]
fn rerun_of_the_tag_skips_identical_files_and_updates_the_release() {
    let w = World::green();
    let first = w.push("tag-first-run", "refs/tags/v0.1.0");
    assert!(first.ok, "{}", first.log);
    let before = w.writes().len();
    let again = w.push("tag-rerun", "refs/tags/v0.1.0");
    assert!(again.ok, "{}", again.log);
    assert_eq!(again.output("should-publish").as_deref(), Some("true"));
    assert_eq!(
        again.output("uploaded").as_deref(),
        Some(""),
        "{}",
        again.log
    );
    // The re-run rebuilt the dists, and setuptools' archives carry build times: the bytes
    // differ, the contents do not. Both files are recognised as the published ones.
    assert_eq!(
        again
            .log
            .lines()
            .filter(|l| l.contains("| skipped improved_sdd-0.1.0")
                && l.contains("rebuilt: same contents as the published file"))
            .count(),
        2,
        "{}",
        again.log
    );
    assert!(
        again.log.contains("already on PyPI: every file identical"),
        "{}",
        again.log
    );
    assert_eq!(World::stored(&w.pypi), vec![WHEEL, SDIST]);
    assert!(
        again
            .summary()
            .contains("| **Upload:** | 0 uploaded, 2 already there (identical, skipped) |"),
        "{}",
        again.summary()
    );
    assert_tag_release(&w, &again);
    // The re-run updated the release in place: one PATCH, no new release, no asset re-upload.
    let rerun_writes: Vec<_> = w.writes().split_off(before);
    assert_eq!(
        rerun_writes
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        vec!["PATCH"],
        "{rerun_writes:?}"
    );
}

#[test]
fn pull_request_publishes_nothing_and_says_so() {
    let w = World::green();
    let o = w.act(
        "pull-request",
        "pull_request",
        json!({
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"ref": "feature", "sha": w.head, "repo": {"full_name": REPO, "fork": false}},
                "base": {"ref": "master", "repo": {"full_name": REPO}},
            },
            "repository": {"full_name": REPO, "default_branch": "master", "fork": false},
        }),
    );
    assert!(o.ok, "{}", o.log);
    assert_eq!(
        o.output("should-publish").as_deref(),
        Some("false"),
        "{}",
        o.log
    );
    assert_eq!(o.output("target").as_deref(), Some("none"));
    assert!(
        o.output("reason").unwrap().contains("pull_request"),
        "{}",
        o.log
    );
    assert!(World::stored(&w.pypi).is_empty() && World::stored(&w.testpypi).is_empty());
    // Nothing to publish means nothing to wait for: not one request to GitHub.
    assert!(w.double.calls().is_empty(), "{:?}", w.double.calls());
    // The later job is skipped.
    assert!(!o.log.contains("file(s) uploaded"), "{}", o.log);
}

#[test]
fn failed_check_stops_the_run_before_anything_is_published() {
    let w = World::new(vec![
        done(1, "Test Suite", "success"),
        done(2, "Security Scan", "failure"),
    ]);
    let o = w.push("failed-check", "refs/tags/v0.1.0");
    assert!(!o.ok, "the run fails:\n{}", o.log);
    assert_eq!(
        o.output("should-publish").as_deref(),
        Some("false"),
        "{}",
        o.log
    );
    assert!(
        o.log.contains("::error") && o.log.contains("Security Scan"),
        "the error names the failed check:\n{}",
        o.log
    );
    assert_nothing_published(&w, &o);
    assert!(w.double.releases().is_empty());
    // Nothing was even built: the gate comes first.
    assert!(!o.log.contains("::group::Build"), "{}", o.log);
}

/// Nothing changed anywhere: neither index stores a file, GitHub saw no write, and the
/// announce job (which runs only after a publish) printed nothing.
fn assert_nothing_published(w: &World, o: &Outcome) {
    assert!(
        World::stored(&w.pypi).is_empty() && World::stored(&w.testpypi).is_empty(),
        "{}",
        o.log
    );
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert!(
        !o.log.contains("file(s) uploaded"),
        "the announce job did not run:\n{}",
        o.log
    );
}

#[test]
fn dry_run_rehearses_the_tag_release_and_changes_nothing() {
    let w = World::green();
    let o = w.rehearse("dry-run", "refs/tags/v0.1.0");
    assert!(o.ok, "{}", o.log);
    assert_eq!(o.output("target").as_deref(), Some("pypi"), "{}", o.log);
    assert_eq!(o.output("uploaded").as_deref(), Some(""));
    assert_rehearsal(&w, &o);
    assert!(
        o.log
            .contains("dry run: would publish improved-sdd 0.1.0 to PyPI"),
        "{}",
        o.log
    );
    assert!(
        o.log
            .contains("dry run: would create the release \"v0.1.0\""),
        "{}",
        o.log
    );
    assert!(w.double.releases().is_empty());
}

/// What every rehearsal shows: it ran in the `rehearse` job (no environment, no token), did
/// every stage that changes nothing — wait, build, check, pre-flight — said what it would
/// upload, and wrote `should-publish=false`, `dry-run=true`; the index and GitHub saw no
/// write, and the announce job did not run.
fn assert_rehearsal(w: &World, o: &Outcome) {
    assert!(o.log.contains("[Publish/Rehearse]"), "{}", o.log);
    assert!(!o.log.contains("[Publish/Publish "), "{}", o.log);
    assert!(
        o.log.contains("2 done"),
        "waited for the checks:\n{}",
        o.log
    );
    for group in [
        "::group::Build",
        "::group::Check distributions",
        "::group::Pre-flight",
    ] {
        assert!(o.log.contains(group), "{group}: {}", o.log);
    }
    assert!(
        o.log.contains("3 passed"),
        "the critical tests ran:\n{}",
        o.log
    );
    assert!(o.log.contains("would upload"), "{}", o.log);
    assert_eq!(
        o.output("should-publish").as_deref(),
        Some("false"),
        "{}",
        o.log
    );
    assert_eq!(o.output("dry-run").as_deref(), Some("true"), "{}", o.log);
    assert_nothing_published(w, o);
}

/// "Run workflow" with dry-run on a feature branch rehearses what master would publish: the
/// dev version stamped, the checks, the pre-flight against TestPyPI's settings; nothing
/// uploaded, and the reason names the dispatch.
#[test]
fn a_dispatch_dry_run_on_a_feature_branch_rehearses_what_master_would_publish() {
    let w = World::green();
    let o = w.rehearse("feature-dry-run", "refs/heads/feature/faster-specs");
    assert!(o.ok, "{}", o.log);
    assert_eq!(o.output("target").as_deref(), Some("testpypi"), "{}", o.log);
    let version = o.output("version").unwrap();
    assert!(
        version.starts_with("0.1.1.dev"),
        "the dev version master would get: {version}"
    );
    let reason = o.output("reason").unwrap();
    assert!(
        reason.starts_with("dry run, nothing was published: ")
            && reason.contains("workflow_dispatch on branch feature/faster-specs with dry-run rehearses what a push to the default branch master would publish → TestPyPI"),
        "{reason}"
    );
    assert_rehearsal(&w, &o);
}

/// The console script crashes: the pre-flight's smoke command fails, nothing reaches either
/// index, `should-publish=false`, and the one error names the command and its exit status.
#[test]
fn a_wheel_whose_console_script_crashes_is_never_published() {
    let w = World::green_with(&|project| {
        let cli = project.join("src/improved_sdd/cli.py");
        let text = std::fs::read_to_string(&cli).unwrap();
        std::fs::write(
            &cli,
            text.replacen(
                "def main(argv=None):\n",
                "def main(argv=None):\n    raise RuntimeError(\"improved-sdd crashed on start\")\n",
                1,
            ),
        )
        .unwrap();
    });
    let o = w.push("crashing-console-script", "refs/tags/v0.1.0");
    assert_stopped_by_the_preflight(
        &w,
        &o,
        "improved-sdd --help",
        "RuntimeError: improved-sdd crashed on start",
    );
}

/// A critical test fails: the same, naming `pytest tests/unit -q`.
#[test]
fn a_failing_critical_test_stops_the_release() {
    let w = World::green_with(&|project| {
        std::fs::write(
            project.join("tests/unit/test_spec_check.py"),
            "def test_spec_check_rejects_an_empty_spec():\n    assert False, \"the spec check accepted an empty spec\"\n",
        )
        .unwrap();
    });
    let o = w.push("failing-critical-test", "refs/heads/master");
    assert_stopped_by_the_preflight(
        &w,
        &o,
        "pytest tests/unit -q",
        "the spec check accepted an empty spec",
    );
}

fn assert_stopped_by_the_preflight(w: &World, o: &Outcome, command: &str, output: &str) {
    assert!(!o.ok, "the run fails:\n{}", o.log);
    assert_nothing_published(w, o);
    assert_eq!(
        o.output("should-publish").as_deref(),
        Some("false"),
        "{}",
        o.log
    );
    assert_eq!(o.output("dry-run").as_deref(), Some("false"), "{}", o.log);
    let reason = o.output("reason").unwrap();
    assert!(
        reason.starts_with("the pre-flight failed, so nothing was published"),
        "{reason}"
    );
    let errors: Vec<&str> = o.log.lines().filter(|l| l.contains("::error::")).collect();
    assert_eq!(errors.len(), 1, "one error: {errors:#?}\n{}", o.log);
    assert!(
        errors[0].contains(&format!(
            "pre-flight: `{command}` exited with exit status 1"
        )),
        "{}",
        errors[0]
    );
    // Its output is in the log (the Pre-flight group), the Problems table has the row.
    assert!(o.log.contains(output), "{}", o.log);
    let md = o.summary();
    assert!(md.contains("### Problems") && md.contains(command), "{md}");
    assert!(!o.log.contains("::group::Upload"), "{}", o.log);
}

/// `examples/wheels-matrix.yml`'s publish job: the artifacts of the build jobs (a wheel per
/// OS, the sdist; here made from the fixture, retagged) downloaded into one folder with
/// `merge-multiple`, then a push to `main` publishes them to TestPyPI. The pre-flight
/// installs the wheel that fits this runner. TestPyPI already holds an sdist of 0.1.0 with
/// other contents (an unchanged version pushed again after an edit): it is skipped with a
/// warning that names it and `dev-version`, and the wheels go up.
#[test]
fn the_matrix_example_publishes_every_wheel_and_warns_on_a_testpypi_conflict() {
    let w = World::of_example(
        "wheels-matrix.yml",
        Some("publish"),
        vec![],
        &sdd_publish_bin(),
        &|_| {},
    );
    let arch = std::env::consts::ARCH;
    let linux = format!("manylinux_2_17_{arch}.manylinux2014_{arch}");
    let built = fixture_dists("0.1.0");
    let mut wheels = Vec::new();
    for (artifact, platform) in [
        ("dist-wheels-ubuntu-latest", linux.as_str()),
        ("dist-wheels-macos-latest", "macosx_11_0_arm64"),
        ("dist-wheels-windows-latest", "win_amd64"),
    ] {
        let dir = w.artifacts().join(artifact);
        std::fs::create_dir_all(&dir).unwrap();
        wheels.push(retag_wheel(&built.join(WHEEL), &dir, platform));
    }
    let sdist_dir = w.artifacts().join("dist-sdist");
    std::fs::create_dir_all(&sdist_dir).unwrap();
    std::fs::copy(built.join(SDIST), sdist_dir.join(SDIST)).unwrap();
    // TestPyPI has this version's sdist already, with other contents.
    let theirs = w.testpypi.root.path().join("packages").join(SDIST);
    std::fs::copy(built.join(SDIST), &theirs).unwrap();
    crate::faults::rebuild_sdist_with_an_edit(&theirs);
    let theirs_sha = sha256_file(&theirs);

    let o = w.act(
        "wheels-matrix",
        "push",
        json!({
            "ref": "refs/heads/main",
            "after": w.head,
            "repository": {"full_name": REPO, "default_branch": "main", "fork": false},
        }),
    );
    assert!(o.ok, "{}", o.log);
    // Only the publish job ran; its download put every artifact's files in dist/.
    assert!(
        o.log.contains("downloaded artifact dist-sdist to dist"),
        "{}",
        o.log
    );
    assert_eq!(o.output("target").as_deref(), Some("testpypi"), "{}", o.log);
    assert_eq!(o.output("should-publish").as_deref(), Some("true"));
    let mut stored = World::stored(&w.testpypi);
    let mut want: Vec<String> = wheels.clone();
    want.push(SDIST.into());
    stored.sort();
    want.sort();
    assert_eq!(stored, want);
    assert_eq!(
        w.testpypi.served("improved-sdd")[SDIST],
        theirs_sha,
        "not replaced"
    );
    // (act logs only the first line of a multi-line output: the log lines say the rest.)
    for wheel in &wheels {
        assert!(
            o.log.contains(&format!("| uploaded {wheel} (")),
            "{wheel}: {}",
            o.log
        );
    }
    // The warning, once, naming the file and the fix.
    let warnings: Vec<&str> = o
        .log
        .lines()
        .filter(|l| l.contains("::warning::"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    for needle in [
        format!("`{SDIST}` is already on the index with other contents"),
        "Skipped on TestPyPI; the other files go on".into(),
        "turn on `dev-version`".into(),
    ] {
        assert!(warnings[0].contains(&needle), "{needle}: {}", warnings[0]);
    }
    // The pre-flight installed the wheel built for this runner's platform.
    let linux_wheel = &wheels[0];
    assert!(
        o.log.contains(&format!(
            "installed {linux_wheel} with uv into a fresh environment"
        )),
        "{}",
        o.log
    );
    assert!(o.log.contains("3 passed"), "{}", o.log);
    assert_eq!(o.output("verified").as_deref(), Some("true"), "{}", o.log);
}

/// `examples/private-index.yml` on a tag push, against devpi-server with a real user: the
/// three settings a user edits (upload URL, simple index, user) pointed at it, her password
/// in the workflow's secret. The upload, the pre-flight and the verification from the index
/// pass; a re-run of the tag (which rebuilds) skips both files as the published ones.
#[test]
fn the_private_index_example_publishes_to_devpi_as_a_user() {
    let devpi = crate::devpi::Devpi::start();
    let w = World::of_example(
        "private-index.yml",
        None,
        vec![],
        &sdd_publish_bin(),
        &|_| {},
    );
    let base = format!("http://127.0.0.1:{}/alice/dev/", devpi.port);
    let workflow = w.project.join(".github/workflows/private-index.yml");
    let text = std::fs::read_to_string(&workflow).unwrap();
    let mut edited = text.clone();
    for (setting, value) in [
        ("PRIVATE_INDEX_URL", base.clone()),
        ("PRIVATE_INDEX_SIMPLE_URL", format!("{base}+simple/")),
        ("PRIVATE_INDEX_USER", "alice".to_string()),
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{setting}: ")))
            .unwrap_or_else(|| panic!("the example sets {setting} in its env"));
        edited = edited.replace(line, &format!("  {setting}: {value}"));
    }
    std::fs::write(&workflow, edited).unwrap();
    let secrets = [("PRIVATE_INDEX_PASSWORD", devpi.password.as_str())];
    let tag = w.push_event("refs/tags/v0.1.0");

    let o = w.act_with("private-index", "push", tag.clone(), &secrets);
    assert!(o.ok, "{}", o.log);
    let served: Vec<String> = devpi.served().into_keys().collect();
    assert_eq!(served, vec![WHEEL, SDIST], "{}", o.log);
    assert_eq!(o.output("should-publish").as_deref(), Some("true"));
    assert_eq!(o.output("verified").as_deref(), Some("true"), "{}", o.log);
    let summary = o.summary();
    // The smoke command ran twice: in the pre-flight, and after installing from devpi.
    for needle in [
        "user `alice` with the password in `pypi-token` (`pypi-username` input)",
        "`improved-sdd --version` passed",
        "`improved-sdd --version` runs (exit 0)",
        "| **Upload:** | 2 uploaded, 0 already there",
    ] {
        assert!(summary.contains(needle), "{needle}:\n{summary}");
    }

    let again = w.act_with("private-index-rerun", "push", tag, &secrets);
    assert!(again.ok, "{}", again.log);
    assert_eq!(
        again.output("uploaded").as_deref(),
        Some(""),
        "{}",
        again.log
    );
    assert!(
        again
            .summary()
            .contains("| **Upload:** | 0 uploaded, 2 already there (identical, skipped) |"),
        "{}",
        again.summary()
    );
    assert_eq!(devpi.served().len(), 2);
}

/// The workflow with `job` alone, its `needs` dropped: act runs a job's needs even with `-j`,
/// and build jobs on macOS and Windows runners (cibuildwheel, artifact uploads) cannot run
/// here; the artifacts they would leave are prepared by the test instead. The job itself is
/// the example's, unchanged.
fn only_job(workflow: &str, job: &str) -> String {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(workflow).unwrap();
    let jobs = doc["jobs"].as_mapping_mut().unwrap();
    let mut kept = jobs
        .get(job)
        .unwrap_or_else(|| panic!("the workflow has no job `{job}`"))
        .clone();
    kept.as_mapping_mut().unwrap().remove("needs");
    jobs.clear();
    jobs.insert(job.into(), kept);
    serde_yaml::to_string(&doc).unwrap()
}

/// `wheel tags --platform-tag`: the fixture's pure wheel as a platform wheel, in `dir`
/// (made from a copy there: the fixture's folder is shared by concurrent tests).
fn retag_wheel(wheel: &Path, dir: &Path, platform: &str) -> String {
    let copy = dir.join(wheel.file_name().unwrap());
    std::fs::copy(wheel, &copy).unwrap();
    let out = Command::new(venv_bin("wheel"))
        .args(["tags", "--remove", "--platform-tag", platform])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!copy.exists(), "`wheel tags --remove` keeps no original");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The step summary of a tag run is a complete audit record: decision and reason, where
/// (repository, commit, ref, run), the index and how it authenticated, the checks waited for,
/// the build, the validation verdict, every file with size, sha256, check verdict and upload
/// result, verification, the release, and the time of each stage.
fn assert_audit_record(w: &World, o: &Outcome) {
    let md = o.summary();
    let served = w.pypi.served("improved-sdd");
    let release = o.output("release-url").unwrap();
    for needle in [
        "## sdd-publish: published improved-sdd 0.1.0 to PyPI".to_string(),
        // The pattern is the user's text: escaped, so `*` is a star, not emphasis.
        "| **Decision:** | tag v0.1.0 matches v\\* → PyPI (target `pypi`) |".into(),
        format!("`{REPO}` @ `{}` · `refs/tags/v0.1.0` · push", &w.head[..12]),
        format!("| **Index:** | <{}> · API token (`pypi-token` input) |", w.pypi.upload_url()),
        "| **Checks:** | passed after".into(),
        "Security Scan `success`, Test Suite `success`".into(),
        "| **Build:** | `python -m build` |".into(),
        "| **Validation:** | 2 file(s) against 49 rules (PyPI's upload checks + twine check --strict): no errors, no warnings |".into(),
        // Two files: the wheel alone, then the sdist, nothing beside either.
        "| **Upload:** | 2 uploaded, 0 already there (identical, skipped); 1 at a time, max-parallel 8: too few files to measure more |".into(),
        "the index serves every file with our sha256".into(),
        "`improved-sdd==0.1.0` installs into a fresh environment (uv)".into(),
        "`improved-sdd --help` runs (exit 0)".into(),
        "`improved-sdd --version` runs (exit 0)".into(),
        format!("| **Pre-flight:** | `{WHEEL}` installed from the local files into a fresh environment (uv); `improved-sdd --help` passed; `improved-sdd --version` passed; `pytest tests/unit -q` passed; the tests imported `improved_sdd` from the environment; nothing uploaded before this passed |"),
        format!("| **GitHub Release:** | <{release}> created; assets: 2 uploaded |"),
        "| **Time:** | plan ".into(),
        "· wait ".into(),
        "· release ".into(),
        "**total ".into(),
        "| [Test Suite](<https://github.com/octo-org/improved-sdd/runs/1>) | `success` |".into(),
    ] {
        assert!(md.contains(&needle), "the summary lacks {needle:?}:\n{md}");
    }
    for (file, sha) in &served {
        let size = std::fs::metadata(w.pypi.root.path().join("packages").join(file))
            .map(|m| m.len())
            .unwrap_or_else(|_| panic!("{file} not in the server's directory"));
        let row = format!(
            "| `{file}` | {} | `{sha}` | passed | uploaded | <http://127.0.0.1:{}/packages/{file}#sha256={sha}> |",
            sdd_publish::units::human_size(size),
            w.pypi.port
        );
        assert!(md.contains(&row), "the summary lacks {row:?}:\n{md}");
    }
    readme_summary_example(w, &md);
}

/// README.md shows a rendered summary of this very run (loopback port and commit fixed, so
/// re-blessing only changes what really changed). `SDD_BLESS=1` rewrites it; otherwise its
/// shape — the row labels and the sections — must match what a tag run prints now.
fn readme_summary_example(w: &World, md: &str) {
    let example = md
        .replace(&format!("127.0.0.1:{}", w.pypi.port), "127.0.0.1:8080")
        .replace(&w.head[..12], "5d1c2a9e7b40");
    let readme_path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    if std::env::var_os("SDD_BLESS").is_some() {
        let blessed = replace_between(&readme, "summary", &blockquote(&example));
        std::fs::write(&readme_path, blessed).unwrap();
        return;
    }
    let shape = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| {
                if l.starts_with("### ") || l.starts_with("## sdd-publish") {
                    Some(l.to_owned())
                } else {
                    l.strip_prefix("| **")
                        .and_then(|r| r.split(":** |").next())
                        .map(str::to_owned)
                }
            })
            .collect()
    };
    let shown: String = readme[marked_range(&readme, "summary")]
        .lines()
        .map(|l| l.strip_prefix('>').unwrap_or(l).trim_start().to_owned() + "\n")
        .collect();
    assert_eq!(
        shape(&shown),
        shape(&example),
        "README.md's step summary example is out of date; run `SDD_BLESS=1 cargo test --test it act_example::tag_push` and commit"
    );
}

/// The whole tag pipeline, timed and measured: not a test but the benchmark that
/// `bench/pipeline.sh` runs (`cargo test --release ... -- --ignored`). Each round is a fresh
/// world (a first publish of the tag, with the GitHub Release) run by act, with the installed
/// `sdd-publish` wrapped by `bench/measure.py`; it prints one JSON line per round.
#[test]
#[ignore = "a benchmark: bench/pipeline.sh runs it"]
fn bench_whole_tag_pipeline() {
    let rounds: usize = std::env::var("SDD_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let scratch = tempfile::tempdir().unwrap();
    for round in 1..=rounds {
        let out = scratch.path().join(format!("round-{round}.jsonl"));
        let wrapper = scratch.path().join("sdd-publish-measured");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nSDD_BENCH_OUT='{}' exec '{}' '{}' '{}' \"$@\"\n",
                out.display(),
                venv_bin("python").display(),
                repo_root().join("bench/measure.py").display(),
                sdd_publish_bin().display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let w = World::with_binary(
            vec![
                done(1, "Test Suite", "success"),
                done(2, "Security Scan", "success"),
            ],
            &wrapper,
        );
        let started = std::time::Instant::now();
        let o = w.push(&format!("bench-{round}"), "refs/tags/v0.1.0");
        let act_secs = started.elapsed().as_secs_f64();
        assert!(o.ok, "{}", o.log);
        assert_eq!(World::stored(&w.pypi), vec![WHEEL, SDIST]);
        assert_eq!(w.double.releases().len(), 1);
        let measured: Value = serde_json::from_str(
            std::fs::read_to_string(&out)
                .unwrap_or_else(|_| panic!("the wrapper wrote nothing:\n{}", o.log))
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        let time_row = o
            .summary()
            .lines()
            .find(|l| l.starts_with("| **Time:** |"))
            .unwrap_or_default()
            .to_owned();
        println!(
            "{}",
            json!({
                "round": round,
                "act_wall_s": (act_secs * 1000.0).round() / 1000.0,
                "sdd_publish": measured,
                "stages": time_row,
            })
        );
    }
}
