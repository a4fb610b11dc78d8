//! The wait-for-checks gate against the GitHub API double: one test per scenario, the double's
//! payloads validated against GitHub's OpenAPI description, and the gate through the binary
//! (`sdd-publish wait`, and `sdd-publish run` where a failed gate stops the release).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sdd_publish::gate::{self, OwnRun, Verdict, WaitConfig, WaitError};
use sdd_publish::github::{GitHub, RetryPolicy, Stats};
use serde_json::Value;

use crate::github_double::*;
use crate::support::*;

const INTERVAL: Duration = Duration::from_millis(200);
const GH_TOKEN: &str = "ghs_TESTTOKEN";

fn cfg(names: &[&str]) -> WaitConfig {
    WaitConfig {
        repo: REPO.into(),
        sha: SHA.into(),
        checks: names.iter().map(|s| s.to_string()).collect(),
        timeout: Duration::from_secs(20),
        interval: INTERVAL,
        appear_timeout: Duration::from_secs(5),
        allowed: gate::DEFAULT_ALLOWED
            .iter()
            .map(|s| s.to_string())
            .collect(),
        own_run: Some(OwnRun {
            run_id: RUN_ID,
            runner_name: Some(RUNNER.into()),
        }),
    }
}

struct Run {
    verdict: Verdict,
    lines: Vec<String>,
    stats: Stats,
    returned: Instant,
}

fn gate(double: &GitHubDouble, cfg: &WaitConfig) -> Run {
    let gh = GitHub::new(
        &double.api_url(),
        Some(sdd_publish::secret::Secret::new(GH_TOKEN)),
    )
    .unwrap()
    .with_policy(RetryPolicy {
        attempts: 4,
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
        total: Duration::from_secs(60),
    })
    .with_secondary_wait(Duration::from_secs(1));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let verdict = rt.block_on(gate::wait(&gh, cfg, &move |s: &str| {
        l.lock().unwrap().push(s.to_owned())
    }));
    let returned = Instant::now();
    let lines = lines.lock().unwrap().clone();
    // The token must not reach a status line or an error, whichever way the gate ends.
    register_secret(GH_TOKEN);
    let shown = format!("{}\n{:?}", lines.join("\n"), verdict.result);
    assert_no_secrets("checks::wait", &shown);
    if let Err(e) = &verdict.result {
        assert_no_secrets("checks::wait error", &e.to_string());
    }
    Run {
        verdict,
        lines,
        stats: gh.stats(),
        returned,
    }
}

fn ours() -> Value {
    check_run(OWN_JOB, "Publish", "in_progress", None, OWN_SUITE)
}

fn names(v: &Verdict) -> Vec<(String, String)> {
    v.checks
        .iter()
        .map(|c| (c.name.clone(), c.conclusion.clone()))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn all_pass() {
    let d = GitHubDouble::fixed(
        vec![
            done(1, "Test Suite", "success"),
            done(2, "Security Scan", "skipped"),
            done(3, "Unrelated", "failure"),
            ours(),
        ],
        vec![],
    );
    let r = gate(&d, &cfg(&["Test Suite", "Security Scan"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(
        names(&r.verdict),
        [
            pair("Security Scan", "skipped"),
            pair("Test Suite", "success")
        ]
    );
    assert_eq!(r.verdict.polls, 1);
    assert_eq!(
        r.verdict.checks[1].url,
        format!("https://github.com/{REPO}/runs/1")
    );
    assert!(d
        .auth_headers()
        .iter()
        .all(|a| *a == format!("Bearer {GH_TOKEN}")));
}

#[test]
fn one_fails_mid_way_and_the_gate_stops_within_an_interval() {
    let d = GitHubDouble::scripted(
        |poll| {
            let test = if poll < 3 {
                running(1, "Test Suite")
            } else {
                done(1, "Test Suite", "failure")
            };
            vec![test, running(2, "Security Scan"), ours()]
        },
        |_| vec![],
    );
    // A long interval, so "stopped before the next poll would have been due" holds with a
    // wide margin on a loaded machine (it checks fail-fast, not speed).
    let mut c = cfg(&["Test Suite", "Security Scan"]);
    c.interval = Duration::from_secs(1);
    let r = gate(&d, &c);
    match &r.verdict.result {
        Err(WaitError::Failed {
            name,
            conclusion,
            url,
            ..
        }) => {
            assert_eq!(
                (name.as_str(), conclusion.as_str()),
                ("Test Suite", "failure")
            );
            assert_eq!(url, &format!("https://github.com/{REPO}/runs/1"));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // The poll that saw the failure was the last one.
    assert_eq!(d.counts(Route::CheckRuns).polls, 3);
    let appeared = d.first_served("Test Suite", "failure").unwrap();
    let after = r.returned.duration_since(appeared);
    assert!(
        after < c.interval,
        "stopped {after:?} after the failure appeared: it waited another interval"
    );
    // One status line per change, not per poll.
    assert_eq!(r.lines.len(), 1, "{:?}", r.lines);
}

#[test]
fn a_rerun_replaces_a_failure_with_success() {
    // GitHub keeps the failed attempt's check run; the re-run's newer one decides.
    let d = GitHubDouble::fixed(
        vec![
            done(10, "Test Suite", "failure"),
            done(25, "Test Suite", "success"),
            done(11, "Security Scan", "success"),
        ],
        vec![],
    );
    let r = gate(&d, &cfg(&["Test Suite", "Security Scan"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(
        names(&r.verdict),
        [
            pair("Security Scan", "success"),
            pair("Test Suite", "success")
        ]
    );
    assert!(r.verdict.checks[1].url.ends_with("/runs/25"));
}

#[test]
fn reads_250_checks_over_3_pages() {
    let d = GitHubDouble::scripted(
        |poll| {
            (0..250)
                .map(|i| {
                    if i == 249 && poll < 2 {
                        running(1000 + i, &format!("matrix ({i})"))
                    } else {
                        done(1000 + i, &format!("matrix ({i})"), "success")
                    }
                })
                .collect()
        },
        |_| vec![],
    );
    let r = gate(&d, &cfg(&["matrix (*)"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(r.verdict.checks.len(), 250);
    assert_eq!(r.verdict.polls, 2, "the check on page 3 was waited for");
    let c = d.counts(Route::CheckRuns);
    assert_eq!(c.requests, 6, "3 pages per poll: {c:?}");
    assert_eq!(c.polls, 2);
    // Second poll: pages 1 and 2 unchanged (304), page 3 changed (200).
    assert_eq!((c.full, c.not_modified), (4, 2), "{c:?}");
}

#[test]
fn our_own_job_in_progress_is_ignored() {
    let world = vec![
        done(1, "Test Suite", "success"),
        ours(),
        // Another job of this run that may `needs:` us: not waited on without names.
        check_run(OWN_JOB + 1, "GitHub Release", "queued", None, OWN_SUITE),
    ];
    // Nothing named: every check outside this run.
    let d = GitHubDouble::fixed(world.clone(), vec![]);
    let r = gate(&d, &cfg(&[]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(names(&r.verdict), [pair("Test Suite", "success")]);
    assert_eq!(
        r.verdict.polls, 2,
        "an unnamed gate confirms on a second poll"
    );

    // Named by a glob that matches our own job too: still never waited on.
    let d = GitHubDouble::fixed(world, vec![]);
    let mut c = cfg(&["Test *", "Pub*"]);
    c.appear_timeout = Duration::from_millis(600);
    let r = gate(&d, &c);
    match &r.verdict.result {
        Err(WaitError::NeverAppeared { missing, .. }) => assert_eq!(missing, &["Pub*"]),
        other => panic!("our own job must not count as `Pub*`: {other:?}"),
    }
    let r = gate(
        &GitHubDouble::fixed(vec![done(1, "Test Suite", "success"), ours()], vec![]),
        &cfg(&["*"]),
    );
    r.verdict.result.as_ref().unwrap();
    assert_eq!(names(&r.verdict), [pair("Test Suite", "success")]);
}

#[test]
fn a_named_check_that_never_appears_times_out_early() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    let mut c = cfg(&["Test Suite", "Docs Build"]);
    c.appear_timeout = Duration::from_millis(800);
    let r = gate(&d, &c);
    match &r.verdict.result {
        Err(e @ WaitError::NeverAppeared { missing, seen, .. }) => {
            assert_eq!(missing, &["Docs Build"]);
            assert_eq!(seen, &["Test Suite"]);
            assert!(e.to_string().contains("`Docs Build`"), "{e}");
        }
        other => panic!("expected never-appeared, got {other:?}"),
    }
    assert!(r.verdict.elapsed < c.timeout);
    assert!(r.verdict.elapsed >= c.appear_timeout);
}

#[test]
fn statuses_only_ci() {
    let d = GitHubDouble::scripted(
        |_| vec![],
        |poll| {
            let state = if poll < 3 { "pending" } else { "success" };
            vec![
                status(1, "ci/jenkins", state),
                status(2, "coverage/codecov", "success"),
            ]
        },
    );
    let r = gate(&d, &cfg(&["ci/*", "coverage/codecov"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(
        names(&r.verdict),
        [
            pair("ci/jenkins", "success"),
            pair("coverage/codecov", "success")
        ]
    );
    assert_eq!(r.verdict.polls, 3);
    assert_eq!(r.verdict.checks[0].url, "https://ci.example.com/1/output");

    let d = GitHubDouble::fixed(vec![], vec![status(1, "ci/jenkins", "error")]);
    let r = gate(&d, &cfg(&[]));
    assert!(
        matches!(&r.verdict.result, Err(WaitError::Failed { conclusion, .. }) if conclusion == "error"),
        "{:?}",
        r.verdict.result
    );
}

#[test]
fn a_long_wait_is_mostly_304s() {
    let d = GitHubDouble::scripted(
        |poll| {
            vec![if poll <= 20 {
                running(1, "Test Suite")
            } else {
                done(1, "Test Suite", "success")
            }]
        },
        |_| vec![],
    );
    let mut c = cfg(&["Test Suite"]);
    c.interval = Duration::from_millis(50);
    let r = gate(&d, &c);
    r.verdict.result.as_ref().unwrap();
    assert_eq!(r.verdict.polls, 21);
    let runs = d.counts(Route::CheckRuns);
    assert_eq!((runs.full, runs.not_modified), (2, 19), "{runs:?}");
    let st = d.counts(Route::Status);
    assert_eq!((st.full, st.not_modified), (1, 20), "{st:?}");
    // Plus one run record and one jobs page to find ourselves.
    assert_eq!(d.total().full, 5);
    assert_eq!(r.stats.full, 5);
    assert_eq!(r.stats.not_modified, 39);
    // Status lines only on change: waiting, then done.
    assert_eq!(r.lines.len(), 2, "{:?}", r.lines);
}

#[test]
fn a_secondary_rate_limit_is_waited_out() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    d.fault(Route::CheckRuns, [Fault::secondary_limit(1)]);
    let r = gate(&d, &cfg(&["Test Suite"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(r.stats.rate_limit_waits, 1);
    assert_eq!(d.counts(Route::CheckRuns).errors, 1);
    assert!(
        r.verdict.elapsed >= Duration::from_secs(1),
        "Retry-After: 1 was honoured ({:?})",
        r.verdict.elapsed
    );
}

#[test]
fn a_spent_primary_limit_is_waited_out_and_a_permission_error_is_not() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    d.fault(
        Route::CheckRuns,
        [Fault {
            status: 403,
            headers: vec![
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), reset.to_string()),
            ],
            body: serde_json::json!({"message": "API rate limit exceeded for installation ID 1."}),
        }],
    );
    let r = gate(&d, &cfg(&["Test Suite"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(r.stats.rate_limit_waits, 1);

    // A 403 that is not a rate limit is the token's permissions: fail at once. The gate says
    // what GitHub answered; the fix (`checks: read`) is the caller's: the action names the
    // job's permissions, `sdd-publish wait` the token (see
    // `a_permission_error_names_the_fix_in_the_callers_words` and
    // `stages::tests::github_answers_get_the_fix_for_their_purpose`).
    let d = refusing_check_runs();
    let r = gate(&d, &cfg(&["Test Suite"]));
    let e = r.verdict.result.unwrap_err();
    assert!(
        matches!(&e, WaitError::Api(g) if g.status() == Some(403)),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("answered 403: Resource not accessible by integration"),
        "{e}"
    );
    assert_eq!(d.counts(Route::CheckRuns).requests, 1, "no retry loop");
}

#[test]
fn a_502_is_retried_until_it_recovers() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    d.fault(
        Route::CheckRuns,
        [Fault::bad_gateway(), Fault::bad_gateway()],
    );
    d.fault(Route::Status, [Fault::bad_gateway()]);
    let r = gate(&d, &cfg(&["Test Suite"]));
    r.verdict.result.as_ref().unwrap();
    assert_eq!(r.stats.retries, 3);
    assert_eq!(d.counts(Route::CheckRuns).requests, 3);

    // An outage that outlasts the retries is an error naming the URL and the status.
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    d.fault(Route::CheckRuns, vec![Fault::bad_gateway(); 10]);
    let r = gate(&d, &cfg(&["Test Suite"]));
    let e = r.verdict.result.unwrap_err().to_string();
    assert!(e.contains("502") && e.contains("/check-runs"), "{e}");
}

#[test]
fn the_overall_timeout_lists_what_was_pending() {
    let d = GitHubDouble::fixed(
        vec![
            running(1, "Test Suite"),
            done(2, "Security Scan", "success"),
        ],
        vec![],
    );
    let mut c = cfg(&["Test Suite", "Security Scan", "Lint"]);
    c.timeout = Duration::from_secs(1);
    let r = gate(&d, &c);
    match &r.verdict.result {
        Err(WaitError::TimedOut {
            pending, missing, ..
        }) => {
            assert_eq!(pending, &["Test Suite"]);
            assert_eq!(missing, &["Lint"]);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(r.verdict.elapsed >= c.timeout);
    assert!(r.verdict.elapsed < c.timeout + Duration::from_secs(2));
}

/// `@octokit/openapi`'s dereferenced description, parsed once.
pub fn openapi() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let p =
            require_tool("node/node_modules/@octokit/openapi/generated/api.github.com.deref.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    })
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema: the type (and enum) also admit null.
pub fn json_schema(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(json_schema).collect()),
        Value::Object(o) => {
            let mut m: serde_json::Map<String, Value> = o
                .iter()
                .filter(|(k, _)| k.as_str() != "nullable")
                .map(|(k, v)| {
                    // `properties`/`example(s)` hold names and data, not schemas: keep them
                    // (their values still get converted when they are schemas).
                    (
                        k.clone(),
                        if k == "example" || k == "examples" {
                            v.clone()
                        } else {
                            json_schema(v)
                        },
                    )
                })
                .collect();
            if o.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::Array(e)) = m.get_mut("enum") {
                    e.push(Value::Null);
                }
                match m.get("type").cloned() {
                    Some(Value::String(t)) => {
                        m.insert("type".into(), serde_json::json!([t, "null"]));
                    }
                    _ => {
                        return serde_json::json!({"anyOf": [Value::Object(m), {"type": "null"}]});
                    }
                }
            }
            Value::Object(m)
        }
        other => other.clone(),
    }
}

fn validator(route: Route) -> jsonschema::Validator {
    let schema = &openapi()["paths"][route.openapi_path()]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert!(schema.is_object(), "no 200 schema for {route:?}");
    jsonschema::validator_for(&json_schema(schema)).unwrap()
}

/// `body`, served on `route` (a check or a release route), against its OpenAPI schema.
pub fn assert_valid(v: &jsonschema::Validator, route: impl std::fmt::Debug, body: &Value) {
    let errors: Vec<String> = v
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{route:?} payload breaks GitHub's schema: {errors:#?}"
    );
}

#[test]
fn every_payload_the_double_serves_matches_githubs_openapi_schema() {
    let d = GitHubDouble::scripted(
        |poll| {
            let mut v: Vec<Value> = (0..120)
                .map(|i| done(500 + i, &format!("m{i}"), "success"))
                .collect();
            v.push(if poll < 2 {
                running(1, "Test Suite")
            } else {
                done(1, "Test Suite", "neutral")
            });
            v.push(check_run(2, "Lint", "queued", None, 9));
            v.push(ours());
            v
        },
        |poll| {
            vec![
                status(
                    1,
                    "ci/jenkins",
                    if poll < 2 { "pending" } else { "success" },
                ),
                status(2, "ci/other", "failure"),
            ]
        },
    );
    d.set_jobs(vec![
        job(OWN_JOB, "Publish", RUNNER, "in_progress"),
        job(OWN_JOB + 1, "Test Suite", "other-runner", "completed"),
    ]);
    let r = gate(&d, &cfg(&["Test Suite", "ci/jenkins"]));
    r.verdict.result.as_ref().unwrap();

    let served = d.served();
    let mut kinds: Vec<Route> = served.iter().map(|(r, _)| *r).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [Route::CheckRuns, Route::Status, Route::Run, Route::Jobs]
    );
    for route in kinds {
        let v = validator(route);
        for (_, body) in served.iter().filter(|(r, _)| *r == route) {
            assert_valid(&v, route, body);
        }
    }

    // The fixtures are still the pinned description's examples (re-run
    // scripts/github-fixtures.mjs after bumping @octokit/openapi).
    for route in [Route::CheckRuns, Route::Status, Route::Run, Route::Jobs] {
        let file = match route {
            Route::CheckRuns => "checks-list-for-ref.json",
            Route::Status => "repos-get-combined-status-for-ref.json",
            Route::Run => "actions-get-workflow-run.json",
            Route::Jobs => "actions-list-jobs-for-workflow-run.json",
        };
        let stored: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("tests/fixtures/github").join(file)).unwrap(),
        )
        .unwrap();
        let example = &openapi()["paths"][route.openapi_path()]["get"]["responses"]["200"]
            ["content"]["application/json"]["examples"]["default"]["value"];
        assert_eq!(&stored, example, "{file} drifted from @octokit/openapi");
    }

    // The validator is not vacuous: a made-up field type is rejected.
    let v = validator(Route::CheckRuns);
    let mut bad = served
        .iter()
        .find(|(r, _)| *r == Route::CheckRuns)
        .unwrap()
        .1
        .clone();
    bad["check_runs"][0]["status"] = serde_json::json!("finished");
    assert!(!v.is_valid(&bad), "an invented status must not validate");
    bad["check_runs"][0]["status"] = serde_json::json!("completed");
    bad["check_runs"][0]["id"] = serde_json::json!("forty-two");
    assert!(!v.is_valid(&bad), "a string id must not validate");
}

// --- through the binary -----------------------------------------------------------------

#[test]
fn the_wait_command_runs_the_gate_locally() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.remove("GITHUB_ACTIONS")
        .set("GITHUB_API_URL", d.api_url())
        .set("GITHUB_TOKEN", "ghs_LOCALTOKEN");
    let dir = tempfile::tempdir().unwrap();
    let ok = env.run(
        dir.path(),
        &[
            "wait",
            "--repo",
            REPO,
            "--sha",
            SHA,
            "--check",
            "Test Suite",
            "--interval",
            "200ms",
            "--json",
        ],
    );
    assert_eq!(ok.code, 0, "{}", ok.all_output());
    let checks: Value = serde_json::from_str(&ok.stdout).unwrap();
    assert_eq!(checks[0]["name"], "Test Suite");
    assert_eq!(checks[0]["conclusion"], "success");
    assert!(d
        .auth_headers()
        .iter()
        .all(|a| a == "Bearer ghs_LOCALTOKEN"));
    assert!(!ok.all_output().contains("ghs_LOCALTOKEN"));

    let bad = env.run(
        dir.path(),
        &[
            "wait",
            "--repo",
            REPO,
            "--sha",
            SHA,
            "--check",
            "Nope",
            "--appear-timeout",
            "300ms",
            "--interval",
            "100ms",
        ],
    );
    assert_eq!(bad.code, 1, "{}", bad.all_output());
    assert!(bad.stderr.contains("`Nope`"), "{}", bad.all_output());
    // The fix names the command's flags, not the action's inputs.
    assert!(
        bad.stderr.contains("Check the --check names") && !bad.stderr.contains("wait-for"),
        "{}",
        bad.all_output()
    );
}

/// A double whose check-runs answer a 403 that is no rate limit: the token's permissions.
fn refusing_check_runs() -> GitHubDouble {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "success")], vec![]);
    d.fault(
        Route::CheckRuns,
        [Fault {
            status: 403,
            headers: vec![("x-ratelimit-remaining".into(), "4999".into())],
            body: serde_json::json!({"message": "Resource not accessible by integration"}),
        }],
    );
    d
}

/// A 403 that is no rate limit: the action's error names the job's permissions, the
/// command's names the token; both quote GitHub's answer.
#[test]
fn a_permission_error_names_the_fix_in_the_callers_words() {
    let d = refusing_check_runs();
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("GITHUB_API_URL", d.api_url())
        .set("INPUT_PYPI_TOKEN", "pypi-unused")
        .set("INPUT_WAIT_FOR", "Test Suite")
        .set("INPUT_WAIT_INTERVAL", "200ms");
    let ws = tempfile::tempdir().unwrap();
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = r.first_error();
    assert!(
        err.contains("answered 403: Resource not accessible by integration. The token may lack a permission: the job needs `permissions: checks: read, statuses: read, actions: read`"),
        "{err}"
    );

    let d = refusing_check_runs();
    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.remove("GITHUB_ACTIONS")
        .set("GITHUB_API_URL", d.api_url());
    let r = env.run(
        ws.path(),
        &[
            "wait",
            "--repo",
            REPO,
            "--sha",
            SHA,
            "--check",
            "Test Suite",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.stderr.contains("answered 403: Resource not accessible by integration. GITHUB_TOKEN may lack a permission")
            && !r.stderr.contains("permissions:"),
        "{}",
        r.all_output()
    );
}

#[test]
fn a_failed_gate_stops_the_run_before_any_file_work() {
    let d = GitHubDouble::fixed(vec![done(1, "Test Suite", "failure"), ours()], vec![]);
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("GITHUB_API_URL", d.api_url())
        .set("RUNNER_NAME", RUNNER)
        .set("INPUT_PYPI_TOKEN", "pypi-unused")
        .set("INPUT_GITHUB_TOKEN", "ghs_ACTIONTOKEN")
        .set("INPUT_WAIT_FOR", "Test Suite")
        .set("INPUT_WAIT_INTERVAL", "200ms");
    // An empty workspace: reaching file work would be a "no distributions" error instead.
    let ws = tempfile::tempdir().unwrap();
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert_eq!(r.output("should-publish").as_deref(), Some("false"));
    let checks: Value = serde_json::from_str(&r.output("checks").unwrap()).unwrap();
    assert_eq!(
        checks,
        serde_json::json!([{"name": "Test Suite", "conclusion": "failure", "url": format!("https://github.com/{REPO}/runs/1")}])
    );
    assert!(
        r.stdout
            .contains("::error::waiting for checks: check `Test Suite` concluded `failure`"),
        "{}",
        r.all_output()
    );
    assert!(
        r.summary.contains("| [Test Suite](<https://github.com/"),
        "{}",
        r.summary
    );
    assert!(
        !r.all_output().contains("no distributions"),
        "{}",
        r.all_output()
    );
    assert!(r.stdout.contains("::add-mask::ghs_ACTIONTOKEN"));
    assert_eq!(
        d.auth_headers().last().map(String::as_str),
        Some("Bearer ghs_ACTIONTOKEN")
    );
}

/// The rate-limit budget of a 10-minute wait at the default 10 s interval (60 polls; Security
/// Scan finishes at poll 20, Test Suite at poll 60), time-compressed (the counts do not depend
/// on the interval): the gate's conditional requests vs a plain loop that GETs the same URLs
/// unconditionally at the same interval. Prints the table in `docs/checks.md`.
#[test]
fn rate_limit_budget_of_a_10_minute_wait() {
    const POLLS: u32 = 60;
    let rows: Vec<(&str, usize)> = vec![("2 checks, 1 page", 0), ("250 checks, 3 pages", 248)];
    let mut table = String::from(
        "| checks on the commit | client | requests | full (200) | 304 | rate-limit units |\n|---|---|---:|---:|---:|---:|\n",
    );
    for (label, extra) in rows {
        let world = move |poll: u32| {
            let mut v: Vec<Value> = (0..extra)
                .map(|i| done(5000 + i as u64, &format!("lint ({i})"), "success"))
                .collect();
            v.push(if poll < 20 {
                running(1, "Security Scan")
            } else {
                done(1, "Security Scan", "success")
            });
            v.push(if poll < POLLS {
                running(2, "Test Suite")
            } else {
                done(2, "Test Suite", "success")
            });
            v
        };
        // Ours.
        let d = GitHubDouble::scripted(world, |_| vec![]);
        let mut c = cfg(&["Test Suite", "Security Scan"]);
        c.interval = Duration::from_millis(5);
        // This counts requests, not time: 60 polls of up to 3 pages each took over the usual
        // 20 s on a loaded 2-core machine, so the deadline is far out of the way.
        c.timeout = Duration::from_secs(300);
        let r = gate(&d, &c);
        r.verdict.result.as_ref().unwrap();
        assert_eq!(r.verdict.polls, POLLS);
        let ours = d.total();
        // Every full response is a first look or a change; the rest were free.
        assert_eq!(ours.requests, ours.full + ours.not_modified);
        // A plain loop over the same URLs, no ETag.
        let d = GitHubDouble::scripted(world, |_| vec![]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let http = reqwest::Client::new();
            for _ in 0..POLLS {
                let mut next = Some(format!(
                    "{}/repos/{REPO}/commits/{SHA}/check-runs?filter=latest&per_page=100",
                    d.api_url()
                ));
                while let Some(u) = next.take() {
                    let resp = http.get(&u).send().await.unwrap();
                    next = resp
                        .headers()
                        .get("link")
                        .and_then(|l| l.to_str().ok())
                        .and_then(|l| l.split_once(">; rel=\"next\""))
                        .map(|(u, _)| u.trim_start_matches('<').to_owned());
                    assert_eq!(resp.status(), 200);
                }
                let s = format!(
                    "{}/repos/{REPO}/commits/{SHA}/status?per_page=100",
                    d.api_url()
                );
                assert_eq!(http.get(&s).send().await.unwrap().status(), 200);
            }
        });
        let plain = d.total();
        assert_eq!(plain.not_modified, 0);
        assert!(ours.full * 10 < plain.full, "{ours:?} vs {plain:?}");
        for (who, n) in [("sdd-publish (ETag)", ours), ("plain polling loop", plain)] {
            table.push_str(&format!(
                "| {label} | {who} | {} | {} | {} | {} |\n",
                n.requests, n.full, n.not_modified, n.full
            ));
        }
    }
    println!("{table}");
}
