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
//! failed check, and a rehearsal (`workflow_dispatch` with `dry-run`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::act::{release_dir_of, FileServer};
use crate::github_double::*;
use crate::support::*;

const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
const SETUP_PYTHON: &str = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065";
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
        for l in lines.take_while(|l| !l.starts_with("[Publish/")) {
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
        let tmp = tempfile::tempdir().unwrap();
        // The project as a checkout of improved-sdd would be, with the example as its workflow.
        let project = tmp.path().join("improved-sdd");
        copy_dir(&repo_root().join("tests/fixtures/improved-sdd"), &project);
        for generated in ["dist", "build"] {
            let _ = std::fs::remove_dir_all(project.join(generated));
        }
        std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
        std::fs::copy(
            repo_root().join("examples/publish.yml"),
            project.join(".github/workflows/publish.yml"),
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
        World {
            project,
            action,
            pypi: PyPIServer::start(),
            testpypi: PyPIServer::start(),
            double: GitHubDouble::fixed(check_runs, vec![]),
            files,
            sums,
            head,
            tmp,
        }
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
            .args(["-W", ".github/workflows/publish.yml", "-e"])
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
            ));
        for (k, v) in &env {
            cmd.arg("--env").arg(format!("{k}={v}"));
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
        self.act(
            label,
            "push",
            json!({
                "ref": git_ref,
                "after": self.head,
                "repository": {"full_name": REPO, "default_branch": "master", "fork": false},
            }),
        )
    }

    /// The files a server stores, by name, with their sha256.
    fn stored(server: &PyPIServer) -> Vec<String> {
        let mut s = server.stored();
        s.sort();
        s
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
    assert!(World::stored(&w.pypi).is_empty() && World::stored(&w.testpypi).is_empty());
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert!(w.double.releases().is_empty());
    // Nothing was even built: the gate comes first.
    assert!(!o.log.contains("::group::Build"), "{}", o.log);
    assert!(!o.log.contains("file(s) uploaded"), "{}", o.log);
}

#[test]
fn dry_run_rehearses_the_tag_release_and_changes_nothing() {
    let w = World::green();
    let o = w.act(
        "dry-run",
        "workflow_dispatch",
        json!({
            "ref": "refs/tags/v0.1.0",
            // GitHub sends workflow_dispatch inputs as strings, booleans too.
            "inputs": {"dry-run": "true"},
            "repository": {"full_name": REPO, "default_branch": "master", "fork": false},
        }),
    );
    assert!(o.ok, "{}", o.log);
    assert_eq!(o.output("target").as_deref(), Some("pypi"), "{}", o.log);
    assert_eq!(o.output("uploaded").as_deref(), Some(""));
    // It did every stage that changes nothing, and says what it would have done.
    assert!(
        o.log.contains("2 done"),
        "waited for the checks:\n{}",
        o.log
    );
    assert!(o.log.contains("::group::Build"), "{}", o.log);
    assert!(
        o.log
            .contains("dry run: would publish improved-sdd 0.1.0 to PyPI"),
        "{}",
        o.log
    );
    assert!(o.log.contains("would upload"), "{}", o.log);
    assert!(
        o.log
            .contains("dry run: would create the release \"v0.1.0\""),
        "{}",
        o.log
    );
    // The index and GitHub saw no writes.
    assert!(World::stored(&w.pypi).is_empty() && World::stored(&w.testpypi).is_empty());
    assert!(w.writes().is_empty(), "{:?}", w.writes());
    assert!(w.double.releases().is_empty());
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
