//! The bad-input catalogue: every input of `action.yml` either has a wrong value here that
//! must stop the run with exit 2 and one `::error::` naming it, or is listed as free-form
//! (any string is meaningful). A new input fails this test until it is classified, so no
//! validated input ships without its error path tested.

use std::path::{Path, PathBuf};

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
    "test-command",
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
    ("attestations", "yes"),
    ("verify-install", "nah"),
    ("verify-strict", "strict"),
    ("verify-timeout", "soon"),
    ("preflight", "yep"),
    (
        "test-requirements",
        "--index-url https://example.org/simple/",
    ),
    ("pypi-username", "alice:secret"),
    ("testpypi-username", "two words"),
];

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
            let errors = r.errors();
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

// ---------------------------------------------------------------------------------------
// Environment variables: every one the binary reads, missing, empty and malformed.
// ---------------------------------------------------------------------------------------

/// A variable's state in one case.
#[derive(Clone, Copy)]
enum Val {
    Unset,
    Empty,
    Set(&'static str),
    /// Built in the case's scratch dir (paths to missing files, directories, bad payloads).
    Make(fn(&Path) -> String),
}

/// What the binary must do.
#[derive(Clone, Copy)]
enum Want {
    /// The documented default: the run carries on and exits 0 (a dry run here, so the index
    /// stays empty); `publishes`: it rehearses a publish (the expected `dry-run` output).
    Default { publishes: bool },
    /// Exit 2 (bad input) before any stage, one `::error` naming the variable and saying
    /// `fix` (how to put it right).
    Error { fix: &'static str },
}

struct EnvCase {
    var: &'static str,
    val: Val,
    /// Other variables this case needs (e.g. the other half of a pair).
    also: &'static [(&'static str, &'static str)],
    want: Want,
}

const RUNS: Want = Want::Default { publishes: true };
const SKIPS: Want = Want::Default { publishes: false };
const RUNNER_SET: Want = Want::Error {
    fix: "do not override it",
};

fn case(var: &'static str, val: Val, want: Want) -> EnvCase {
    EnvCase {
        var,
        val,
        also: &[],
        want,
    }
}

/// Missing and empty give the same documented default; then the malformed values.
fn cases_for(out: &mut Vec<EnvCase>, var: &'static str, default: Want, bad: &[(Val, Want)]) {
    out.push(case(var, Val::Unset, default));
    out.push(case(var, Val::Empty, default));
    for (val, want) in bad {
        out.push(case(var, *val, *want));
    }
}

fn missing_file(dir: &Path) -> String {
    dir.join("no-such-file.json").display().to_string()
}
fn in_missing_dir(dir: &Path) -> String {
    dir.join("no/such/dir/file").display().to_string()
}
fn a_directory(dir: &Path) -> String {
    let d = dir.join("a-directory");
    std::fs::create_dir_all(&d).unwrap();
    d.display().to_string()
}
fn a_file(dir: &Path) -> String {
    let f = dir.join("a-file");
    std::fs::write(&f, "not a directory").unwrap();
    f.display().to_string()
}
fn write_event(dir: &Path, text: &str) -> String {
    let f = dir.join("event-case.json");
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}
fn unreadable_event(dir: &Path) -> String {
    let f = PathBuf::from(write_event(dir, r#"{"repository": {"fork": false}}"#));
    make_unreadable(&f);
    f.display().to_string()
}

/// Make `path` (a file or a directory) fail to read. Mode 000 where that denies reads; as
/// root it does not, so the path becomes a symbolic link to itself (every open fails with
/// "too many levels of symbolic links"). Panics if neither works: never a silent skip.
fn make_unreadable(path: &Path) -> &'static str {
    use std::os::unix::fs::PermissionsExt;
    let readable = |p: &Path| {
        if p.is_dir() {
            std::fs::read_dir(p).is_ok()
        } else {
            std::fs::read(p).is_ok()
        }
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if !readable(path) {
        return "mode 000";
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
    std::os::unix::fs::symlink(path, path).unwrap();
    assert!(
        std::fs::metadata(path).is_err() && !readable(path),
        "cannot make {} unreadable on this machine",
        path.display()
    );
    "a symbolic link to itself (mode 000 does not stop root)"
}

const TUNING: &[(&str, bool)] = &[
    // (variable, whether 0 is refused)
    ("SDD_PUBLISH_RETRY_ATTEMPTS", true),
    ("SDD_PUBLISH_RETRY_MIN_DELAY_MS", false),
    ("SDD_PUBLISH_RETRY_MAX_DELAY_MS", false),
    ("SDD_PUBLISH_RETRY_TOTAL_MS", true),
    ("SDD_PUBLISH_CONNECT_TIMEOUT_MS", true),
    ("SDD_PUBLISH_STALL_TIMEOUT_MS", true),
    ("SDD_PUBLISH_VERIFY_INTERVAL_MS", true),
    ("SDD_PUBLISH_QUERY_BUDGET_MS", true),
];

/// The catalogue. Variables the runner always sets are an error when they hold what the
/// runner never would (guessing would publish from the wrong place or as the wrong
/// version); free-form ones (names, OS labels, a token only `sdd-publish wait` reads) and
/// the ones whose absence has a meaning take their documented default.
fn env_catalogue() -> Vec<EnvCase> {
    use Val::*;
    let mut c = Vec::new();
    // Only `true` turns on workflow commands (@actions/core's convention); anything else
    // is a terminal run, which still writes GITHUB_OUTPUT when it is set.
    cases_for(
        &mut c,
        "GITHUB_ACTIONS",
        RUNS,
        &[(Set("yes"), RUNS), (Set("TRUE"), RUNS)],
    );
    // No or an unknown event, no or a short ref: the plan says "nothing to publish".
    cases_for(
        &mut c,
        "GITHUB_EVENT_NAME",
        SKIPS,
        &[(Set("not_an_event"), SKIPS)],
    );
    cases_for(&mut c, "GITHUB_REF", SKIPS, &[(Set("v0.1.0"), SKIPS)]);
    // Needed only by the checks gate and the release (each says so when it needs it).
    cases_for(
        &mut c,
        "GITHUB_SHA",
        RUNS,
        &[(Set("not-a-sha"), RUNNER_SET), (Set("0123abc"), RUNNER_SET)],
    );
    cases_for(
        &mut c,
        "GITHUB_REPOSITORY",
        RUNS,
        &[
            (Set("octo-org"), RUNNER_SET),
            (Set("octo org/x y"), RUNNER_SET),
        ],
    );
    for var in ["GITHUB_RUN_ID", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ATTEMPT"] {
        cases_for(
            &mut c,
            var,
            RUNS,
            &[(Set("seventeen"), RUNNER_SET), (Set("-1"), RUNNER_SET)],
        );
    }
    for var in ["GITHUB_SERVER_URL", "GITHUB_API_URL"] {
        cases_for(
            &mut c,
            var,
            RUNS,
            &[
                (Set("not a url"), RUNNER_SET),
                (Set("ftp://github.com"), RUNNER_SET),
                (Set("api.github.com"), RUNNER_SET),
            ],
        );
    }
    for var in [
        "GITHUB_WORKFLOW",
        "RUNNER_OS",
        "RUNNER_ARCH",
        "RUNNER_NAME",
        "GITHUB_TOKEN",
    ] {
        cases_for(&mut c, var, RUNS, &[(Set("☃ any text, even odd"), RUNS)]);
    }
    // Absent: the current directory / the system temp dir.
    for var in ["GITHUB_WORKSPACE", "RUNNER_TEMP"] {
        cases_for(
            &mut c,
            var,
            RUNS,
            &[
                (Make(in_missing_dir), RUNNER_SET),
                (Make(a_file), RUNNER_SET),
            ],
        );
    }
    // Absent: no payload (a tag push still publishes; the default branch is unknown).
    let event = |text: fn(&Path) -> String| (Make(text), RUNNER_SET);
    cases_for(
        &mut c,
        "GITHUB_EVENT_PATH",
        RUNS,
        &[
            event(missing_file),
            event(a_directory),
            event(unreadable_event),
            event(|d| write_event(d, "{ not json")),
            event(|d| write_event(d, "")),
            event(|d| write_event(d, "[1, 2]")),
            event(|d| write_event(d, r#""refs/tags/v0.1.0""#)),
            event(|d| write_event(d, r#"{"repository": "octo-org/improved-sdd"}"#)),
            event(|d| write_event(d, r#"{"repository": {"default_branch": 7}}"#)),
            event(|d| write_event(d, r#"{"repository": {"fork": "no"}}"#)),
        ],
    );
    // In Actions the outputs must have somewhere to go.
    let output_unset = Want::Error { fix: "update it" };
    cases_for(
        &mut c,
        "GITHUB_OUTPUT",
        output_unset,
        &[
            (Make(in_missing_dir), RUNNER_SET),
            (Make(a_directory), RUNNER_SET),
        ],
    );
    cases_for(
        &mut c,
        "GITHUB_STEP_SUMMARY",
        RUNS,
        &[
            (Make(in_missing_dir), RUNNER_SET),
            (Make(a_directory), RUNNER_SET),
        ],
    );
    // The ID-token pair: both or neither; any token text is a token.
    let (url, token) = (
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    );
    for (var, value) in [
        (url, "https://token.actions.example/idtoken?x=1"),
        (token, "runner-request-token-for-catalogue"),
    ] {
        c.push(case(var, Val::Unset, RUNS));
        c.push(case(var, Val::Empty, RUNS));
        c.push(EnvCase {
            var,
            val: Set(value),
            also: &[],
            want: Want::Error {
                fix: "Do not set or clear one of them",
            },
        });
    }
    c.push(EnvCase {
        var: url,
        val: Set("not a url"),
        also: &[(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "runner-request-token-for-catalogue",
        )],
        want: RUNNER_SET,
    });
    c.push(EnvCase {
        var: token,
        val: Set("☃ any text"),
        also: &[(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://token.actions.example/idtoken?x=1",
        )],
        want: RUNS,
    });
    let tuning_bad = Want::Error { fix: "unset it" };
    for (var, zero_refused) in TUNING {
        let mut bad = vec![
            (Set("fast"), tuning_bad),
            (Set("-5"), tuning_bad),
            (Set("1.5"), tuning_bad),
        ];
        bad.push((Set("0"), if *zero_refused { tuning_bad } else { RUNS }));
        cases_for(&mut c, var, RUNS, &bad);
    }
    // Upload URLs standing in for empty `pypi-url`/`testpypi-url` inputs. Here `pypi-url` is
    // set (to the test index), and the input wins: the variable is not even read. The
    // TestPyPI one is read (its input is empty) and must be a usable URL.
    cases_for(
        &mut c,
        "SDD_PUBLISH_PYPI_URL",
        RUNS,
        &[(Set("not a url"), RUNS)],
    );
    cases_for(
        &mut c,
        "SDD_PUBLISH_TESTPYPI_URL",
        RUNS,
        &[
            (Set("index.example/legacy"), tuning_bad),
            (Set("ftp://index.example/legacy/"), tuning_bad),
            (Set("https://user:secret@index.example/legacy/"), tuning_bad),
        ],
    );
    // Which Sigstore attests (read with the inputs, so a bad one stops the run even when
    // this run, publishing with a token, would not attest).
    for var in ["SDD_PUBLISH_FULCIO_URL", "SDD_PUBLISH_REKOR_URL"] {
        cases_for(
            &mut c,
            var,
            RUNS,
            &[
                (Set("not a url"), tuning_bad),
                (Set("http://sigstore.example"), tuning_bad),
                (Set("https://user:secret@sigstore.example"), tuning_bad),
            ],
        );
    }
    cases_for(
        &mut c,
        "SDD_PUBLISH_TRUSTED_ROOT",
        RUNS,
        &[
            (Make(missing_file), tuning_bad),
            (Make(a_directory), tuning_bad),
        ],
    );
    cases_for(
        &mut c,
        "SDD_PUBLISH_ATTEST_REFRESH_MARGIN_S",
        RUNS,
        &[(Set("soon"), tuning_bad), (Set("-5"), tuning_bad)],
    );
    cases_for(
        &mut c,
        "SDD_PUBLISH_ATTEST_ATTEMPTS",
        RUNS,
        &[(Set("many"), tuning_bad), (Set("0"), RUNS)],
    );
    // The Python with readme_renderer, asked only for reStructuredText descriptions (the
    // fixture's is Markdown); a wrong one makes `check` say "could not check".
    cases_for(
        &mut c,
        "SDD_PUBLISH_PYTHON",
        RUNS,
        &[(Set("/no/such/python"), RUNS)],
    );
    // The renderer's settings, likewise read only for rst descriptions (tests/it/check.rs
    // covers their bad values); the tool cache is where a missing renderer would go.
    for var in [
        "SDD_PUBLISH_RENDERER",
        "SDD_PUBLISH_RENDER_TIMEOUT",
        "SDD_PUBLISH_RENDERER_INDEX_URL",
        "RUNNER_TOOL_CACHE",
    ] {
        cases_for(&mut c, var, RUNS, &[(Set("☃ not a setting"), RUNS)]);
    }
    c
}

/// Every `GITHUB_*`, `RUNNER_*`, `ACTIONS_*` and `SDD_PUBLISH_*` name anywhere in `src/`.
fn env_names_in_sources() -> std::collections::BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join("src"), &mut files);
    assert!(files.len() > 10, "found no sources under src/");
    let mut names = std::collections::BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let b = text.as_bytes();
        for prefix in ["GITHUB_", "RUNNER_", "ACTIONS_", "SDD_PUBLISH_"] {
            for (i, _) in text.match_indices(prefix) {
                if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
                    continue;
                }
                let end = text[i..]
                    .find(|ch: char| !(ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_'))
                    .map_or(text.len(), |n| i + n);
                let name = text[i..end].trim_end_matches('_');
                if name.len() > prefix.len() {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

#[test]
fn every_env_var_in_the_sources_is_in_the_catalogue() {
    let catalogue = env_catalogue();
    let in_table: std::collections::BTreeSet<String> =
        catalogue.iter().map(|c| c.var.to_owned()).collect();
    let mut in_sources = env_names_in_sources();
    // Set by the pre-flight for the Python processes in its environment (the import hook
    // reads them there); the binary never reads them from its own environment.
    for set_for_children in [
        "SDD_PUBLISH_PREFLIGHT_MODULES",
        "SDD_PUBLISH_PREFLIGHT_RECORD",
    ] {
        assert!(
            in_sources.remove(set_for_children),
            "{set_for_children} is no longer in src/: drop it here"
        );
    }
    let untested: Vec<_> = in_sources.difference(&in_table).collect();
    assert!(
        untested.is_empty(),
        "src/ reads (or names) {untested:?} but tests/it/bad_inputs.rs has no missing/empty/malformed cases for them"
    );
    let stale: Vec<_> = in_table.difference(&in_sources).collect();
    assert!(
        stale.is_empty(),
        "the catalogue lists {stale:?}, which src/ never names"
    );
    for var in &in_table {
        let vals: Vec<Val> = catalogue
            .iter()
            .filter(|c| c.var == var.as_str())
            .map(|c| c.val)
            .collect();
        assert!(
            vals.iter().any(|v| matches!(v, Val::Unset)),
            "{var}: no missing case"
        );
        assert!(
            vals.iter().any(|v| matches!(v, Val::Empty)),
            "{var}: no empty case"
        );
        assert!(
            vals.iter().any(|v| matches!(v, Val::Set(_) | Val::Make(_))),
            "{var}: no malformed case"
        );
    }
}

/// The environment of a real publish to `server`: a tag push with every runner variable set
/// to what the runner would give. `dry_run` keeps the index empty for default cases.
fn publishing_env(server: &PyPIServer, ws: &Path, scratch: &Path, dry_run: bool) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    let closed = format!("http://127.0.0.1:{}/", free_port());
    let runner_temp = scratch.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_INDEX_URL", server.simple_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_VERIFY_INSTALL", "false")
        .set("INPUT_DRY_RUN", dry_run.to_string())
        .set("GITHUB_API_URL", closed)
        .set("GITHUB_SERVER_URL", "https://github.com")
        .set("GITHUB_WORKFLOW", "Release")
        .set("GITHUB_WORKSPACE", ws.display().to_string())
        .set("RUNNER_OS", "Linux")
        .set("RUNNER_ARCH", "X64")
        .set("RUNNER_NAME", "GitHub Actions 2")
        .set("RUNNER_TEMP", runner_temp.display().to_string());
    env
}

/// One clear error: the documented exit code, exactly one `::error` line (plus, for
/// per-file problems, the run's one-line roll-up), naming `names` and saying `fix`; no
/// panic; and nothing on the index.
fn assert_one_clear_error(
    label: &str,
    r: &RunResult,
    code: i32,
    names: &str,
    fix: &str,
    server: &PyPIServer,
) {
    let all = r.all_output();
    assert_eq!(r.code, code, "{label}: exit code\n{all}");
    let errors: Vec<&str> = r
        .errors()
        .into_iter()
        .filter(|l| !l.contains("problem(s) in the distributions; nothing was uploaded"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "{label}: one error expected: {errors:#?}\n{all}"
    );
    // Annotations escape `:` and `,` in properties and `%`, CR, LF in the message.
    let unescaped = errors[0]
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%");
    assert!(
        unescaped.contains(names),
        "{label}: the error must name `{names}`: {}",
        errors[0]
    );
    assert!(
        unescaped.contains(fix),
        "{label}: the error must say how to fix it (`{fix}`): {}",
        errors[0]
    );
    for bad in ["panicked at", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!all.contains(bad), "{label}: {bad}\n{all}");
    }
    assert!(
        !r.stdout.contains("::group::Upload"),
        "{label}: the upload stage must not start\n{all}"
    );
    assert_eq!(
        server.stored(),
        Vec::<String>::new(),
        "{label}: partial publish"
    );
    assert!(
        server.served("improved-sdd").is_empty(),
        "{label}: partial publish"
    );
}

#[test]
fn every_env_var_missing_empty_or_malformed_has_a_default_or_one_clear_error() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists("0.1.0");
    let mut checked = 0;
    for (i, c) in env_catalogue().iter().enumerate() {
        let scratch = tempfile::tempdir().unwrap();
        let dry_run = matches!(c.want, Want::Default { .. });
        let mut env = publishing_env(&server, ws.path(), scratch.path(), dry_run);
        let shown = match c.val {
            Val::Unset => {
                env.remove(c.var);
                "<unset>".to_owned()
            }
            Val::Empty => {
                env.set(c.var, "");
                "<empty>".to_owned()
            }
            Val::Set(v) => {
                env.set(c.var, v);
                v.to_owned()
            }
            Val::Make(f) => {
                let v = f(scratch.path());
                env.set(c.var, v.clone());
                v
            }
        };
        for (k, v) in c.also {
            env.set(k, *v);
        }
        let label = format!("case {i}: {}={shown}", c.var);
        let r = env.run(ws.path(), &["run"]);
        match c.want {
            Want::Default { publishes } => {
                let all = r.all_output();
                assert_eq!(r.code, 0, "{label}: the default must run\n{all}");
                assert!(!r.stdout.contains("::error"), "{label}\n{all}");
                assert!(!all.contains("panicked"), "{label}\n{all}");
                // A dry run never publishes; `dry-run` says whether it rehearsed a publish.
                assert_eq!(
                    r.output("should-publish").as_deref(),
                    Some("false"),
                    "{label}\n{all}"
                );
                assert_eq!(
                    r.output("dry-run").as_deref(),
                    Some(if publishes { "true" } else { "false" }),
                    "{label}\n{all}"
                );
                if publishes {
                    assert!(
                        all.contains("would upload"),
                        "{label}: the dry run must reach the upload\n{all}"
                    );
                }
                assert!(server.stored().is_empty(), "{label}: a dry run uploaded");
            }
            Want::Error { fix } => {
                assert_one_clear_error(&label, &r, 2, c.var, fix, &server);
                if !c.var.starts_with("GITHUB_OUTPUT") && c.var != "GITHUB_STEP_SUMMARY" {
                    assert_eq!(
                        r.output("should-publish").as_deref(),
                        Some("false"),
                        "{label}"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 80, "only {checked} cases ran");
    // Control: the same environment, intact and not a dry run, does publish; so the
    // "nothing uploaded" assertions above could have failed.
    let scratch = tempfile::tempdir().unwrap();
    let r = publishing_env(&server, ws.path(), scratch.path(), false).run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "control run: {}", r.all_output());
    assert_eq!(server.stored().len(), 2, "control run: {}", r.all_output());
}

// ---------------------------------------------------------------------------------------
// Files: every file the binary reads, unreadable or unusable. (The event payload, the
// output and summary files and RUNNER_TEMP are variables: see the catalogue above.)
// ---------------------------------------------------------------------------------------

/// The workspace of a project: the fixture's sources at the root and its dists in `dist/`.
fn project_workspace() -> tempfile::TempDir {
    let ws = workspace_with_dists("0.1.0");
    copy_dir(&repo_root().join("tests/fixtures/improved-sdd"), ws.path());
    assert!(ws.path().join("pyproject.toml").is_file());
    ws
}

const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";

fn replace_wheel(ws: &Path, with: impl FnOnce(&Path)) -> String {
    let wheel = ws.join("dist").join(WHEEL);
    assert!(wheel.is_file(), "the fixture has no {WHEEL}");
    std::fs::remove_file(&wheel).unwrap();
    with(&wheel);
    WHEEL.to_owned()
}

struct FileCase {
    what: &'static str,
    /// Break the workspace / environment; returns the text the error must name.
    setup: fn(&Path, &mut ActionEnv) -> String,
    code: i32,
    fix: &'static str,
}

fn dev_version(env: &mut ActionEnv) {
    env.set("INPUT_MODE", "testpypi")
        .set("INPUT_BUILD", "true")
        .set("INPUT_DEV_VERSION", "true");
}

fn release_notes(env: &mut ActionEnv, file: &str) {
    env.set("INPUT_RELEASE", "true")
        .set("INPUT_RELEASE_NOTES_FILE", file);
}

const FILE_CASES: &[FileCase] = &[
    FileCase {
        what: "a wheel that cannot be read",
        setup: |ws, _| {
            let wheel = ws.join("dist").join(WHEEL);
            let how = make_unreadable(&wheel);
            eprintln!("unreadable wheel: {how}");
            WHEEL.to_owned()
        },
        code: 1,
        fix: "Fix:",
    },
    FileCase {
        what: "a wheel that is a dangling symbolic link",
        setup: |ws, _| {
            replace_wheel(ws, |w| {
                std::os::unix::fs::symlink("/no/such/built/wheel.whl", w).unwrap()
            })
        },
        code: 1,
        fix: "copy the built distribution, not a link to it",
    },
    FileCase {
        what: "a wheel that is a FIFO (reading it would block forever)",
        setup: |ws, _| {
            replace_wheel(ws, |w| {
                let ok = std::process::Command::new("mkfifo")
                    .arg(w)
                    .status()
                    .unwrap()
                    .success();
                assert!(ok, "mkfifo failed");
            })
        },
        code: 1,
        fix: "replace it with the real file",
    },
    FileCase {
        what: "packages-dir is a file",
        setup: |ws, env| {
            std::fs::write(ws.join("dist.txt"), "not a folder").unwrap();
            env.set("INPUT_PACKAGES_DIR", "dist.txt");
            "packages-dir `".to_owned()
        },
        code: 1,
        fix: "set the `packages-dir` input",
    },
    FileCase {
        what: "packages-dir does not exist",
        setup: |_, env| {
            env.set("INPUT_PACKAGES_DIR", "no-such-dist");
            "no-such-dist".to_owned()
        },
        code: 1,
        fix: "set the `packages-dir` input",
    },
    FileCase {
        what: "packages-dir cannot be read",
        setup: |ws, _| {
            let how = make_unreadable(&ws.join("dist"));
            eprintln!("unreadable packages-dir: {how}");
            "dist".to_owned()
        },
        code: 1,
        fix: "check that the path exists",
    },
    FileCase {
        what: "release-notes-file does not exist",
        setup: |_, env| {
            release_notes(env, "NO-SUCH-CHANGELOG.md");
            "NO-SUCH-CHANGELOG.md".to_owned()
        },
        code: 1,
        fix: "fix the `release-notes-file` input",
    },
    FileCase {
        what: "release-notes-file cannot be read",
        setup: |ws, env| {
            let f = ws.join("NOTES.md");
            std::fs::write(&f, "## [0.1.0]\n\nFirst.\n").unwrap();
            make_unreadable(&f);
            release_notes(env, "NOTES.md");
            "NOTES.md".to_owned()
        },
        code: 1,
        fix: "fix the `release-notes-file` input",
    },
    FileCase {
        what: "release-notes-file is not UTF-8",
        setup: |ws, env| {
            std::fs::write(ws.join("NOTES.md"), b"## [0.1.0]\n\n\xff\xfe caf\xe9\n").unwrap();
            release_notes(env, "NOTES.md");
            "NOTES.md".to_owned()
        },
        code: 1,
        fix: "UTF-8",
    },
    FileCase {
        what: "release-notes-file is a directory",
        setup: |ws, env| {
            std::fs::create_dir(ws.join("notes-dir")).unwrap();
            release_notes(env, "notes-dir");
            "notes-dir".to_owned()
        },
        code: 1,
        fix: "fix the `release-notes-file` input",
    },
    FileCase {
        what: "pyproject.toml cannot be read (dev-version)",
        setup: |ws, env| {
            dev_version(env);
            make_unreadable(&ws.join("pyproject.toml"));
            "pyproject.toml".to_owned()
        },
        code: 1,
        fix: "check that the file exists",
    },
    FileCase {
        what: "pyproject.toml is not TOML (dev-version)",
        setup: |ws, env| {
            dev_version(env);
            std::fs::write(ws.join("pyproject.toml"), "[project\nname = 'x'\n").unwrap();
            "pyproject.toml".to_owned()
        },
        code: 1,
        fix: "fix the syntax",
    },
    FileCase {
        what: "pyproject.toml is missing (dev-version)",
        setup: |ws, env| {
            dev_version(env);
            std::fs::remove_file(ws.join("pyproject.toml")).unwrap();
            "pyproject.toml".to_owned()
        },
        code: 1,
        fix: "run in the project's root folder",
    },
    FileCase {
        what: "a version-files entry is missing (dev-version)",
        setup: |_, env| {
            dev_version(env);
            env.set("INPUT_VERSION_FILES", "src/improved_sdd/no_such_version.py");
            "no_such_version.py".to_owned()
        },
        code: 1,
        fix: "the `version-files` input",
    },
];

/// The environment of a real publish of the project workspace to `server`, on both
/// targets (the dev-version cases go to TestPyPI).
fn project_env(server: &PyPIServer, ws: &Path, scratch: &Path) -> ActionEnv {
    let mut env = publishing_env(server, ws, scratch, false);
    env.set("INPUT_TESTPYPI_URL", server.upload_url())
        .set("INPUT_TESTPYPI_INDEX_URL", server.simple_url())
        .set("INPUT_TESTPYPI_TOKEN", server.token.clone());
    env
}

#[test]
fn every_unusable_file_is_one_clear_error_and_nothing_is_published() {
    let server = PyPIServer::start();
    for c in FILE_CASES {
        let ws = project_workspace();
        let scratch = tempfile::tempdir().unwrap();
        let mut env = project_env(&server, ws.path(), scratch.path());
        let names = (c.setup)(ws.path(), &mut env);
        let r = env.run(ws.path(), &["run"]);
        assert_one_clear_error(c.what, &r, c.code, &names, c.fix, &server);
        // Stopped before the upload: this run did not publish.
        assert_eq!(r.output("uploaded").as_deref(), Some(""), "{}", c.what);
        assert_eq!(
            r.output("should-publish").as_deref(),
            Some("false"),
            "{}",
            c.what
        );
    }
    // Controls: the same environments, intact, do publish (pypi, then dev-version to
    // TestPyPI on a fresh index), so the "nothing uploaded" assertions could have failed.
    let ws = project_workspace();
    let scratch = tempfile::tempdir().unwrap();
    let r = project_env(&server, ws.path(), scratch.path()).run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "control: {}", r.all_output());
    assert_eq!(server.stored().len(), 2, "control: {}", r.all_output());
    let fresh = PyPIServer::start();
    let mut env = project_env(&fresh, ws.path(), scratch.path());
    dev_version(&mut env);
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "dev-version control: {}", r.all_output());
    assert_eq!(
        fresh.stored().len(),
        2,
        "dev-version control: {}",
        r.all_output()
    );
}

/// A URL setting that is wrong, and carries a user and password besides: the error shows the
/// URL with `***@` in their place, never the password, whether or not the URL parses.
#[test]
fn a_bad_url_with_a_password_is_shown_without_it() {
    let pw = format!("pw{}", random_hex(8));
    let ws = workspace_with_dists("0.1.0");
    for (var, value) in [
        ("INPUT_PYPI_URL", format!("ftp://alice:{pw}@index.example/")),
        ("INPUT_PYPI_URL", format!("https://alice:{pw}@bad host/")),
        (
            "SDD_PUBLISH_REKOR_URL",
            format!("http://alice:{pw}@rekor.example"),
        ),
        ("GITHUB_API_URL", format!("https://alice:{pw}@bad host")),
    ] {
        let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
        env.set("INPUT_PYPI_TOKEN", "pypi-unused")
            .set(var, value.clone());
        let r = env.run(ws.path(), &["run"]);
        let all = r.all_output();
        assert_eq!(r.code, 2, "{var}={value}: {all}");
        assert!(!all.contains(&pw), "{var}: the password is printed: {all}");
        assert!(
            all.contains(
                var.trim_start_matches("INPUT_")
                    .to_lowercase()
                    .replace('_', "-")
                    .as_str()
            ) || all.contains(var),
            "{var} is named: {all}"
        );
        assert!(
            all.contains("***@"),
            "{var}: the URL is shown without its userinfo: {all}"
        );
    }
}
