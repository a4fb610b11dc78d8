//! `sdd-publish run` against a real pypiserver: a tag push publishes, the files are served
//! with our sha256, pip installs them back, and every failure is one clear error.

use crate::support::*;

const VERSION: &str = "0.1.0";
const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";

fn tag_push(server: &PyPIServer) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_PACKAGES_DIR", "dist");
    env
}

/// Replace the random heredoc delimiters so the output file compares exactly.
fn normalise_delimiters(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("ghadelimiter_") {
            Some(i) => format!("{}ghadelimiter_X", &line[..i]),
            None => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn tag_push_publishes_installs_and_writes_exact_outputs() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push(&server);
    env.set("GITHUB_WORKSPACE", ws.path().display().to_string());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());

    // The index serves exactly our two files, with the sha256 of the bytes on disk.
    let served = server.served("improved-sdd");
    let expected = sha256_of(&ws.path().join("dist"), &[WHEEL, SDIST]);
    assert_eq!(served, expected, "server log:\n{}", server.log());

    // The exact output file, delimiters aside; the wheel goes first.
    let want = "should-publish<<ghadelimiter_X\ntrue\nghadelimiter_X\n\
        dry-run<<ghadelimiter_X\nfalse\nghadelimiter_X\n\
        target<<ghadelimiter_X\npypi\nghadelimiter_X\n\
        reason<<ghadelimiter_X\ntag v0.1.0 matches v* → PyPI\nghadelimiter_X\n\
        name<<ghadelimiter_X\nimproved-sdd\nghadelimiter_X\n\
        version<<ghadelimiter_X\n0.1.0\nghadelimiter_X\n\
        uploaded<<ghadelimiter_X\nimproved_sdd-0.1.0-py3-none-any.whl\nimproved_sdd-0.1.0.tar.gz\nghadelimiter_X\n\
        skipped<<ghadelimiter_X\n\nghadelimiter_X\n\
        checks<<ghadelimiter_X\n[]\nghadelimiter_X\n"
        .to_string()
        + &format!(
            "project-url<<ghadelimiter_X\n{}improved-sdd/\nghadelimiter_X\n",
            server.simple_url()
        )
        + "verified<<ghadelimiter_X\ntrue\nghadelimiter_X\n"
        + "release-url<<ghadelimiter_X\n\nghadelimiter_X\n";
    assert_eq!(normalise_delimiters(&r.output_file), want);
    let delimiters: std::collections::BTreeSet<&str> = r
        .output_file
        .lines()
        .filter_map(|l| l.split_once("<<").map(|x| x.1))
        .collect();
    assert_eq!(delimiters.len(), 12, "a fresh delimiter per output");

    // The token is masked before anything else is printed, and appears nowhere else.
    let first = r.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("::add-mask::{}", server.token));
    assert_eq!(r.all_output().matches(&server.token).count(), 1);
    assert!(r.stdout.contains("::group::Upload to PyPI"), "{}", r.stdout);
    // The connection's group says where and as whom, never with what.
    assert!(
        r.stdout.contains(&format!(
            "::group::Connect to PyPI\nupload to {} with API token (`pypi-token` input); the simple index {} is read with the same credentials (same origin)\n::endgroup::",
            server.upload_url(),
            server.simple_url()
        )),
        "{}",
        r.stdout
    );
    assert!(r
        .summary
        .contains("## sdd-publish: published improved-sdd 0.1.0 to PyPI"));
    assert!(
        r.summary.contains(&expected[WHEEL]),
        "summary lists the sha256"
    );

    // pip installs it back from the index and the console script answers.
    assert_eq!(
        install_and_report_version(&server, &[], &format!("improved-sdd=={VERSION}")),
        "improved-sdd 0.1.0"
    );
}

#[test]
fn wrong_token_is_a_clear_error_and_never_printed() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push(&server);
    let wrong = format!("pypi-WRONG{}", random_hex(8));
    env.set("INPUT_PYPI_TOKEN", wrong.clone());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = r.first_error();
    assert!(err.contains(WHEEL), "the error names the file: {err}");
    assert!(
        err.contains("pypi-token"),
        "the error names the input: {err}"
    );
    assert_eq!(
        r.all_output().matches(&wrong).count(),
        1,
        "only the mask line"
    );
    assert!(server.stored().is_empty(), "nothing reached the index");
    // The run reached the upload, where files can land before one fails: it stays a
    // publishing run, and `uploaded` says what went up (here nothing).
    assert_eq!(r.output("should-publish").as_deref(), Some("true"));
    assert_eq!(r.output("uploaded").as_deref(), Some(""));
}

#[test]
fn push_to_default_branch_publishes_to_testpypi() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.set("INPUT_TESTPYPI_URL", server.upload_url())
        .set("INPUT_TESTPYPI_TOKEN", server.token.clone())
        // The PyPI URL points at a closed port: touching it would fail the run.
        .set(
            "INPUT_PYPI_URL",
            format!("http://127.0.0.1:{}/", free_port()),
        );
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("target").as_deref(), Some("testpypi"));
    assert_eq!(server.stored(), vec![WHEEL.to_string(), SDIST.to_string()]);
}

#[test]
fn pull_request_publishes_nothing_and_says_why() {
    let ws = workspace_with_dists(VERSION);
    let mut env = ActionEnv::new("pull_request", "refs/pull/7/merge", "master");
    env.set("INPUT_PYPI_TOKEN", "pypi-unused").set(
        "INPUT_PYPI_URL",
        format!("http://127.0.0.1:{}/", free_port()),
    );
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("should-publish").as_deref(), Some("false"));
    assert_eq!(r.output("target").as_deref(), Some("none"));
    assert_eq!(
        r.output("reason").as_deref(),
        Some("pull_request events never publish in auto mode")
    );
    assert!(r.summary.contains("nothing to publish"));
}

#[test]
fn tag_version_mismatch_fails_before_any_upload() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push(&server);
    env.set("GITHUB_REF", "refs/tags/v0.2.0");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = r.first_error();
    assert!(err.contains("v0.2.0") && err.contains("0.1.0"), "{err}");
    assert!(server.stored().is_empty());
}

#[test]
fn dry_run_uploads_nothing() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push(&server);
    env.set("INPUT_DRY-RUN", "true");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(server.stored().is_empty());
    assert!(
        r.stdout.contains(&format!("would upload {WHEEL}")),
        "{}",
        r.stdout
    );
    assert_eq!(r.output("uploaded").as_deref(), Some(""));
    assert!(r
        .summary
        .contains("dry run: would publish improved-sdd 0.1.0 to PyPI"));
}

/// A rehearsal needs no credentials (a dry run often runs outside the environment that holds
/// them): it asks the index anonymously, says a real run needs a token, and writes
/// `should-publish=false`, `dry-run=true`.
#[test]
fn a_dry_run_without_a_token_asks_the_index_anonymously() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push(&server);
    env.remove("INPUT_PYPI_TOKEN").set("INPUT_DRY_RUN", "true");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("::notice")
                && l.contains("dry run: no `pypi-token` and no ID token")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("would upload {WHEEL}")),
        "{}",
        r.stdout
    );
    assert!(
        r.summary
            .contains("none (dry run: the index was asked anonymously"),
        "{}",
        r.summary
    );
    assert_eq!(r.output("should-publish").as_deref(), Some("false"));
    assert_eq!(r.output("dry-run").as_deref(), Some("true"));
    assert!(server.stored().is_empty());
}

/// Each bad input: exit 2 or 1, exactly one `::error::` line naming the input and the fix,
/// `should-publish` still written, nothing uploaded.
#[test]
fn bad_inputs_are_one_clear_error_each() {
    let server = PyPIServer::start();
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir(empty.path().join("dist")).unwrap();
    let ws = workspace_with_dists(VERSION);
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        &'a std::path::Path,
        i32,
        &'a [&'a str],
    );
    let cases: Vec<Case> = vec![
        (
            "unknown mode",
            vec![("INPUT_MODE", "production")],
            ws.path(),
            2,
            &["`mode`", "auto, testpypi, pypi"],
        ),
        (
            "bad boolean",
            vec![("INPUT_DRY_RUN", "yes")],
            ws.path(),
            2,
            &["`dry-run`", "YAML 1.2"],
        ),
        (
            "bad url",
            vec![("INPUT_PYPI_URL", "upload.pypi.org")],
            ws.path(),
            2,
            &["`pypi-url`"],
        ),
        (
            "empty packages-dir",
            vec![],
            empty.path(),
            1,
            &["packages-dir", "python -m build"],
        ),
        (
            "missing packages-dir",
            vec![("INPUT_PACKAGES_DIR", "nope")],
            ws.path(),
            1,
            &["packages-dir", "nope"],
        ),
        (
            "missing token",
            vec![("INPUT_PYPI_TOKEN", "")],
            ws.path(),
            1,
            &["`pypi-token`", "secrets.PYPI_API_TOKEN"],
        ),
    ];
    for (what, vars, cwd, code, needles) in cases {
        let mut env = tag_push(&server);
        for (k, v) in vars {
            env.set(k, v);
        }
        let r = env.run(cwd, &["run"]);
        assert_eq!(r.code, code, "{what}: {}", r.all_output());
        let errors = r.errors();
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        for n in needles {
            assert!(
                errors[0].contains(n),
                "{what}: `{n}` missing in {}",
                errors[0]
            );
        }
        assert!(!r.stderr.contains("panicked"), "{what}: {}", r.stderr);
        assert!(
            r.output("should-publish").is_some(),
            "{what}: outputs written"
        );
    }
    assert!(server.stored().is_empty());
}

#[test]
fn plan_only_decides_without_distributions_or_tokens() {
    let empty = tempfile::tempdir().unwrap();
    let mut env = ActionEnv::new("push", "refs/tags/v1.0.0", "master");
    env.set("INPUT_PLAN-ONLY", "true");
    let r = env.run(empty.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("should-publish").as_deref(), Some("true"));
    assert_eq!(r.output("target").as_deref(), Some("pypi"));
    assert!(
        r.summary.contains("plan: this run publishes to PyPI"),
        "{}",
        r.summary
    );
}

/// The guard every run goes through must itself catch a leak.
#[test]
#[should_panic(expected = "a secret leaked")]
fn the_secret_guard_catches_a_leak() {
    let secret = format!("pypi-LEAK{}", random_hex(8));
    register_secret(&secret);
    assert_no_secrets(
        "self-test",
        &format!("::add-mask::{secret}\nok\nerror: bad token {secret}\n"),
    );
}
