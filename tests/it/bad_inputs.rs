//! The bad-input catalogue: every input of `action.yml` either has a wrong value here that
//! must stop the run with exit 2 and one `::error::` naming it, or is listed as free-form
//! (any string is meaningful). A new input fails this test until it is classified, so no
//! validated input ships without its error path tested.

use serde_yaml::Value;

use crate::support::*;

/// Inputs whose every value means something (paths, commands, secrets, names, templates
/// checked elsewhere): nothing to refuse at input time.
const FREE_FORM: &[&str] = &[
    "packages-dir",
    "pypi-token",
    "testpypi-token",
    "github-token",
    "build",
    "version-files",
    "verify-command",
    "release-notes-file",
    "allowed-conclusions",
];

/// A wrong value for each validated input.
const WRONG: &[(&str, &str)] = &[
    ("mode", "production"),
    ("tag-pattern", "v["),
    ("branches", "main, rel[ease"),
    ("pypi-url", "upload.pypi.org/legacy/"),
    ("testpypi-url", "ftp://test.pypi.org/legacy/"),
    ("pypi-index-url", "not a url"),
    ("testpypi-index-url", "file:///simple/"),
    ("skip-existing", "yes"),
    ("max-parallel", "0"),
    ("dry-run", "on"),
    ("trusted-publishing", "sometimes"),
    ("plan-only", "1"),
    ("dev-version", "TRUE!"),
    ("wait", "maybe"),
    ("wait-for", "Test [Suite"),
    ("wait-timeout", "forever"),
    ("wait-interval", "0"),
    ("appear-timeout", "-5m"),
    ("release", "sometimes"),
    ("release-name", "v{verison}"),
    ("release-body", "{changelog} {nope}"),
    ("draft", "y"),
    ("release-assets", "no"),
    ("verify-install", "nah"),
    ("verify-strict", "strict"),
    ("verify-timeout", "soon"),
];

fn action_inputs() -> Vec<String> {
    let action: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("action.yml")).unwrap())
            .unwrap();
    action["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_input_is_classified() {
    for input in action_inputs() {
        let known = FREE_FORM.contains(&input.as_str()) || WRONG.iter().any(|(n, _)| *n == input);
        assert!(
            known,
            "input `{input}` is neither free-form nor has a wrong value in tests/it/bad_inputs.rs"
        );
    }
    for (name, _) in WRONG {
        assert!(
            action_inputs().iter().any(|i| i == name),
            "`{name}` is not in action.yml"
        );
    }
}

#[test]
fn every_wrong_value_is_one_clear_error_before_anything_runs() {
    // A closed port: an input error must stop the run before any request is made.
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let ws = workspace_with_dists("0.1.0");
    for (input, wrong) in WRONG {
        for spelling in [
            format!("INPUT_{}", input.to_uppercase()),
            format!("INPUT_{}", input.to_uppercase().replace('-', "_")),
        ] {
            let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
            env.set("INPUT_PYPI_TOKEN", "pypi-catalogue-token")
                .set("GITHUB_API_URL", closed.clone());
            if !input.ends_with("url") {
                env.set("INPUT_PYPI_URL", closed.clone());
            }
            env.set(&spelling, *wrong);
            let r = env.run(ws.path(), &["run"]);
            assert_eq!(r.code, 2, "{spelling}={wrong}: {}", r.all_output());
            let errors: Vec<&str> = r
                .stdout
                .lines()
                .filter(|l| l.starts_with("::error"))
                .collect();
            assert_eq!(errors.len(), 1, "{spelling}={wrong}: {errors:?}");
            assert!(
                errors[0].contains(&format!("`{input}`")),
                "{spelling}={wrong}: the error must name the input: {}",
                errors[0]
            );
            assert!(!r.stderr.contains("panicked"), "{spelling}: {}", r.stderr);
            assert_eq!(
                r.output("should-publish").as_deref(),
                Some("false"),
                "{spelling}"
            );
            assert!(
                !r.stdout.contains("::group::Upload"),
                "{spelling}: no stage may run"
            );
        }
    }
}

/// Environment the runner provides, broken: each is one clear error, never a panic.
#[test]
fn broken_runner_environment_is_a_clear_error() {
    let ws = workspace_with_dists("0.1.0");
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    let missing = ws.path().join("no-event.json");
    env.set("GITHUB_EVENT_PATH", missing.display().to_string());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stdout.contains("GITHUB_EVENT_PATH"), "{}", r.stdout);

    let bad = ws.path().join("bad-event.json");
    std::fs::write(&bad, "{ not json").unwrap();
    env.set("GITHUB_EVENT_PATH", bad.display().to_string());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stdout.contains("not valid JSON"), "{}", r.stdout);

    // An unwritable GITHUB_OUTPUT: the run says so instead of losing the outputs silently.
    let mut env = ActionEnv::new("pull_request", "refs/pull/1/merge", "master");
    env.set(
        "GITHUB_OUTPUT",
        ws.path().join("no/such/dir/out").display().to_string(),
    );
    let r = env.run(ws.path(), &["run"]);
    assert!(
        r.stdout.contains("could not write output `should-publish`"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
