//! `sdd-publish check` over the generated corpus (tests/corpus/make.py): every case's files
//! must get exactly the rule ids the corpus expects, and every rule has a passing and a
//! failing case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{repo_root, sdd_publish_bin, venv_bin};

struct Corpus {
    _dir: tempfile::TempDir,
    root: PathBuf,
    expected: BTreeMap<String, Value>,
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("corpus");
    let out = Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/corpus/make.py"))
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(root.join("expected.json")).unwrap();
    let expected: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    Corpus {
        _dir: dir,
        root,
        expected,
    }
}

/// Run `check --json` with the reference renderer available unless `env` overrides it.
fn check(paths: &[PathBuf], args: &[String], env: &[(String, String)]) -> (i32, Value, String) {
    let mut cmd = Command::new(sdd_publish_bin());
    cmd.arg("check")
        .arg("--json")
        .args(args)
        .args(paths)
        .env_remove("GITHUB_ACTIONS")
        .env("SDD_PUBLISH_PYTHON", venv_bin("python"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_json(&mut cmd)
}

/// Run a `check --json` command: its exit code, its report (which must be JSON) and stderr.
fn run_json(cmd: &mut Command) -> (i32, Value, String) {
    let out = cmd.output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn env_of(case: &Value) -> Vec<(String, String)> {
    case.get("env")
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn corpus_cases_get_exactly_the_expected_rules() {
    let c = corpus();
    // Cases with the same options run together: one process per option set.
    let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for (name, case) in &c.expected {
        let key = format!("{:?}{:?}", strings(case.get("args")), env_of(case));
        groups.entry(key).or_default().push(name);
    }
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for names in groups.values() {
        let first = &c.expected[names[0]];
        let dirs: Vec<PathBuf> = names.iter().map(|n| c.root.join(n)).collect();
        let (code, json, stderr) = check(&dirs, &strings(first.get("args")), &env_of(first));
        let mut actual: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
        for f in json["files"].as_array().unwrap() {
            let path = PathBuf::from(f["path"].as_str().unwrap());
            let rules = actual.entry(path).or_default();
            for p in f["problems"].as_array().unwrap() {
                rules.insert(p["rule"].as_str().unwrap().to_string());
            }
        }
        let any_error = json["errors"].as_u64().unwrap() > 0;
        assert_eq!(code, if any_error { 1 } else { 0 }, "{stderr}");
        for name in names {
            let case = &c.expected[*name];
            for (file, rules) in case["files"].as_object().unwrap() {
                let path = c.root.join(name).join(file);
                let want: BTreeSet<String> = strings(Some(rules)).into_iter().collect();
                let got = actual.remove(&path).unwrap_or_default();
                checked += 1;
                if want != got {
                    mismatches.push(format!("{name}/{file}: expected {want:?}, got {got:?}"));
                }
            }
        }
        for (path, rules) in actual {
            if !rules.is_empty() {
                mismatches.push(format!("{}: unexpected {rules:?}", path.display()));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} files disagree:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(checked > 100, "{checked}");
}

#[test]
fn every_rule_has_a_passing_and_a_failing_case() {
    let c = corpus();
    let mut missing = Vec::new();
    for rule in sdd_publish::dist::rules::ALL {
        let fails = c.expected.iter().any(|(name, case)| {
            name.starts_with(&format!("{rule}/fail"))
                && case["files"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|r| strings(Some(r)).iter().any(|x| x == rule))
        });
        let passes = c.expected.iter().any(|(name, case)| {
            name.starts_with(&format!("{rule}/pass"))
                && case["files"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(|r| !strings(Some(r)).iter().any(|x| x == rule))
        });
        if !fails || !passes {
            missing.push(format!("{rule}: fail case {fails}, pass case {passes}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn text_output_groups_by_file_and_actions_get_annotations() {
    let c = corpus();
    let dir = c.root.join("classifier-unknown/fail-made-up");
    let out = Command::new(sdd_publish_bin())
        .arg("check")
        .arg(&dir)
        .env("GITHUB_ACTIONS", "true")
        .env("SDD_PUBLISH_PYTHON", venv_bin("python"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let file = dir.join("pkg-1.0-py3-none-any.whl");
    assert!(
        stdout.contains(&format!(
            "::error title=classifier-unknown,file={}::",
            file.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} (pkg 1.0): FAILED", file.display())),
        "{stdout}"
    );
    assert!(stdout.contains("fix: "), "{stdout}");

    // A clean release passes, and strict turns the twine --strict warnings into errors.
    let (code, json, _) = check(&[c.root.join("ok/pass-release")], &[], &[]);
    assert_eq!((code, json["errors"].as_u64()), (0, Some(0)));
    let strict_case = c.root.join("description-missing/fail-no-body");
    let (code, _, _) = check(std::slice::from_ref(&strict_case), &[], &[]);
    assert_eq!(code, 0, "a strict rule is a warning by default");
    let (code, json, _) = check(&[strict_case], &["--strict".to_string()], &[]);
    assert_eq!(code, 1);
    assert_eq!(json["errors"].as_u64(), Some(1));
}

#[test]
fn named_files_are_checked_each_on_its_own() {
    let c = corpus();
    let a = c
        .root
        .join("release-mixed/fail-two-versions/pkg-1.0-py3-none-any.whl");
    let b = c
        .root
        .join("release-mixed/fail-two-versions/pkg-2.0-py3-none-any.whl");
    let (code, json, _) = check(&[a, b], &[], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["files"].as_array().unwrap().len(), 2);
    let missing = Path::new("/nonexistent/dist");
    let (code, json, _) = check(&[missing.to_path_buf()], &[], &[]);
    assert_eq!(code, 1);
    assert!(json["fatal"][0]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

/// In the pipeline, twine --strict semantics are on for PyPI (a missing description fails
/// before any upload) and off for TestPyPI (a warning annotation, the upload goes ahead).
#[test]
fn pipeline_is_strict_for_pypi_only() {
    use crate::support::{free_port, ActionEnv, PyPIServer};
    let c = corpus();
    let ws = tempfile::tempdir().unwrap();
    let dist = ws.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let wheel = "pkg-1.0-py3-none-any.whl";
    std::fs::copy(
        c.root.join("description-missing/fail-no-body").join(wheel),
        dist.join(wheel),
    )
    .unwrap();

    let server = PyPIServer::start();
    let mut env = ActionEnv::new("push", "refs/tags/v1.0", "master");
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_PACKAGES_DIR", "dist")
        .set(
            "SDD_PUBLISH_PYTHON",
            venv_bin("python").display().to_string(),
        );
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.stdout.contains("::error title=description-missing"),
        "{}",
        r.all_output()
    );
    assert!(server.stored().is_empty());
    assert!(r.summary.contains("description-missing"), "{}", r.summary);

    let mut env = ActionEnv::new("push", "refs/heads/master", "master");
    env.set("INPUT_TESTPYPI_URL", server.upload_url())
        .set("INPUT_TESTPYPI_TOKEN", server.token.clone())
        .set("INPUT_PACKAGES_DIR", "dist")
        .set(
            "INPUT_PYPI_URL",
            format!("http://127.0.0.1:{}/", free_port()),
        )
        .set(
            "SDD_PUBLISH_PYTHON",
            venv_bin("python").display().to_string(),
        );
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout.contains("::warning title=description-missing"),
        "{}",
        r.all_output()
    );
    assert_eq!(server.stored(), vec![wheel.to_string()]);
}

// --- the reference renderer: provisioned, cached, shared --------------------------------

/// A loopback index serving this platform's wheels of the pinned renderer
/// (`scripts/tools` downloads them into `.tools/renderer-wheels`).
fn renderer_index() -> crate::support::PyPIServer {
    let wheels = crate::support::require_tool("renderer-wheels");
    let server = crate::support::PyPIServer::start();
    let packages = server.root.path().join("packages");
    let mut n = 0;
    for e in std::fs::read_dir(&wheels).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, packages.join(p.file_name().unwrap())).unwrap();
        n += 1;
    }
    assert_eq!(n, 4, "expected the 4 pinned wheels in {}", wheels.display());
    server
}

/// A Python without readme_renderer (nor pip): a bare venv of the machine's python3.
fn bare_python(dir: &Path) -> PathBuf {
    let venv = dir.join("bare");
    let out = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .expect("python3 on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py = venv.join("bin/python");
    let has = Command::new(&py)
        .args(["-c", "import readme_renderer"])
        .output()
        .unwrap();
    assert!(!has.status.success(), "the bare Python has readme_renderer");
    py
}

/// `check --json` with exactly this renderer environment: nothing inherited that could
/// point an installer elsewhere.
fn check_env(paths: &[PathBuf], set: &[(&str, String)]) -> (i32, Value) {
    let mut cmd = Command::new(sdd_publish_bin());
    cmd.arg("check").arg("--json").args(paths);
    for k in [
        "GITHUB_ACTIONS",
        "SDD_PUBLISH_PYTHON",
        "SDD_PUBLISH_RENDERER",
        "SDD_PUBLISH_RENDERER_INDEX_URL",
        "RUNNER_TOOL_CACHE",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_NO_INDEX",
        "PIP_CONFIG_FILE",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_EXTRA_INDEX_URL",
        "UV_FIND_LINKS",
        "XDG_CACHE_HOME",
    ] {
        cmd.env_remove(k);
    }
    // pip reads no user config here; uv neither.
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env("UV_NO_CONFIG", "1");
    for (k, v) in set {
        cmd.env(k, v);
    }
    let (code, json, _) = run_json(&mut cmd);
    (code, json)
}

/// file name → rule ids, for every file in a `--json` report.
fn rules_by_file(json: &Value) -> BTreeMap<String, BTreeSet<String>> {
    json["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = PathBuf::from(f["path"].as_str().unwrap());
            let case = path
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            let rules = f["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["rule"].as_str().unwrap().to_string())
                .filter(|r| r.starts_with("description-rst"))
                .collect();
            (case.into_owned(), rules)
        })
        .collect()
}

fn rst_verdicts_are_pypis(json: &Value) {
    let got = rules_by_file(json);
    let invalid: BTreeSet<String> = ["description-rst-invalid".to_string()].into();
    let none = BTreeSet::new();
    for (case, rules) in &got {
        let want = if case.starts_with("fail") {
            &invalid
        } else {
            &none
        };
        assert_eq!(rules, want, "{case}: {json}");
    }
    assert_eq!(got.len(), 6, "{json}");
    assert!(
        !json.to_string().contains("description-unchecked"),
        "{json}"
    );
}

fn no_uv_path(dir: &Path) -> String {
    // Only the system's own directories (no uv there), so pip does the work.
    let bin = dir.join("empty-bin");
    std::fs::create_dir_all(&bin).unwrap();
    assert!(!Path::new("/usr/bin/uv").exists() && !Path::new("/bin/uv").exists());
    format!("{}:/usr/bin:/bin", bin.display())
}

/// The machine's Python lacks readme_renderer: `check` installs the pinned one from the
/// index the user configured for pip (here a loopback pypiserver), into the runner's tool
/// cache, gives PyPI's verdicts — and the next run needs no index at all.
#[test]
fn a_python_without_the_renderer_gets_the_pinned_one_with_pip_and_keeps_it() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let python = bare_python(tmp.path());
    let cache = tmp.path().join("toolcache");
    let server = renderer_index();
    let cases = [c.root.join("description-rst-invalid")];
    let env = vec![
        ("SDD_PUBLISH_PYTHON", python.display().to_string()),
        ("RUNNER_TOOL_CACHE", cache.display().to_string()),
        ("PATH", no_uv_path(tmp.path())),
    ];
    let mut first = env.clone();
    first.push(("PIP_INDEX_URL", server.simple_url()));
    let (code, json) = check_env(&cases, &first);
    assert_eq!(code, 1, "{json}");
    rst_verdicts_are_pypis(&json);

    let envs: Vec<PathBuf> = std::fs::read_dir(cache.join("sdd-publish-renderer"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        envs.len(),
        1,
        "one complete environment, no leftovers: {envs:?}"
    );
    let site = std::fs::read_dir(envs[0].join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    for pinned in [
        "readme_renderer-45.0.dist-info",
        "docutils-0.23.dist-info",
        "pygments-2.20.0.dist-info",
        "nh3-0.3.6.dist-info",
    ] {
        assert!(site.join(pinned).is_dir(), "{pinned} in {}", site.display());
    }
    let cfg = std::fs::read_to_string(envs[0].join("pyvenv.cfg")).unwrap();
    assert!(
        !cfg.contains("uv ="),
        "made by python -m venv, not uv: {cfg}"
    );

    // The index is gone; the cached environment answers.
    drop(server);
    let mut again = env.clone();
    again.push((
        "PIP_INDEX_URL",
        format!("http://127.0.0.1:{}/simple/", crate::support::free_port()),
    ));
    let (code, json) = check_env(&cases, &again);
    assert_eq!(code, 1, "{json}");
    rst_verdicts_are_pypis(&json);
}

/// With uv on PATH the environment is made by uv; our own index setting wins over a pip
/// mirror that does not answer; off a runner the user's cache directory holds it.
#[test]
fn uv_builds_the_renderer_when_on_path_from_our_index_into_the_user_cache() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let python = bare_python(tmp.path());
    let xdg = tmp.path().join("xdg-cache");
    let server = renderer_index();
    let uv_dir = crate::support::venv_bin("uv");
    let path = format!(
        "{}:{}",
        uv_dir.parent().unwrap().display(),
        no_uv_path(tmp.path())
    );
    let (code, json) = check_env(
        &[c.root.join("description-rst-invalid")],
        &[
            ("SDD_PUBLISH_PYTHON", python.display().to_string()),
            ("XDG_CACHE_HOME", xdg.display().to_string()),
            ("HOME", tmp.path().display().to_string()),
            ("PATH", path),
            ("SDD_PUBLISH_RENDERER_INDEX_URL", server.simple_url()),
            (
                "PIP_INDEX_URL",
                format!("http://127.0.0.1:{}/simple/", crate::support::free_port()),
            ),
        ],
    );
    assert_eq!(code, 1, "{json}");
    rst_verdicts_are_pypis(&json);
    let envs: Vec<PathBuf> = std::fs::read_dir(xdg.join("sdd-publish-renderer"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(envs.len(), 1, "{envs:?}");
    let cfg = std::fs::read_to_string(envs[0].join("pyvenv.cfg")).unwrap();
    assert!(cfg.contains("uv = "), "made by uv: {cfg}");
}

/// An index that does not answer is a clear error for the run — naming the index, what to
/// set, and the way out — never a pass, never "unchecked".
#[test]
fn an_unreachable_index_fails_the_run_saying_what_to_do() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let python = bare_python(tmp.path());
    let cache = tmp.path().join("toolcache");
    let dead = format!("http://127.0.0.1:{}/simple/", crate::support::free_port());
    let (code, json) = check_env(
        &[c.root.join("description-rst-invalid")],
        &[
            ("SDD_PUBLISH_PYTHON", python.display().to_string()),
            ("RUNNER_TOOL_CACHE", cache.display().to_string()),
            ("PATH", no_uv_path(tmp.path())),
            ("PIP_INDEX_URL", dead.clone()),
            ("PIP_RETRIES", "0".to_string()),
            ("PIP_DEFAULT_TIMEOUT", "5".to_string()),
        ],
    );
    assert_eq!(code, 1, "{json}");
    let fatal = strings(json.get("fatal"));
    assert_eq!(fatal.len(), 1, "{json}");
    let msg = &fatal[0];
    for needle in [
        "could not install the reference reStructuredText renderer (readme-renderer==45.0, docutils==0.23, pygments==2.20.0, nh3==0.3.6) with pip install from ",
        dead.as_str(),
        "SDD_PUBLISH_RENDERER_INDEX_URL",
        "SDD_PUBLISH_PYTHON",
    ] {
        assert!(msg.contains(needle), "{needle:?} in {msg}");
    }
    assert!(
        !json.to_string().contains("description-unchecked"),
        "{json}"
    );
    // Nothing half-built is left to look finished next time.
    let left: Vec<_> = std::fs::read_dir(cache.join("sdd-publish-renderer"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// No Python at all: one error naming SDD_PUBLISH_PYTHON and the fix, in `check` and in
/// `run`; a Markdown-only release needs no Python and passes. Bad renderer settings name
/// the variable.
#[test]
fn no_python_is_one_clear_error_naming_sdd_publish_python() {
    let c = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let rst = c.root.join("description-rst-invalid");
    let path = ("PATH", empty.display().to_string());
    let (code, json) = check_env(std::slice::from_ref(&rst), std::slice::from_ref(&path));
    assert_eq!(code, 1, "{json}");
    let fatal = strings(json.get("fatal"));
    assert_eq!(fatal.len(), 1, "{json}");
    assert!(
        fatal[0].starts_with("no Python to render the reStructuredText description(s) the way PyPI does: tried `python3`: ")
            && fatal[0].contains("set SDD_PUBLISH_PYTHON to one")
            && fatal[0].contains("actions/setup-python"),
        "{}",
        fatal[0]
    );
    let (code, json) = check_env(
        std::slice::from_ref(&rst),
        &[
            path.clone(),
            ("SDD_PUBLISH_PYTHON", "/no/such/python3".to_string()),
        ],
    );
    assert_eq!(code, 1);
    assert!(
        strings(json.get("fatal"))[0].contains("SDD_PUBLISH_PYTHON names `/no/such/python3`"),
        "{json}"
    );
    // Markdown only: nothing to render, no Python needed.
    let (code, json) = check_env(
        &[c.root.join("ok/pass-release")],
        std::slice::from_ref(&path),
    );
    assert_eq!((code, json["errors"].as_u64()), (0, Some(0)), "{json}");

    for (var, value, expected) in [
        (
            "SDD_PUBLISH_RENDERER",
            "sometimes",
            "`auto` (the default) or `skip`",
        ),
        (
            "SDD_PUBLISH_RENDER_TIMEOUT",
            "soon",
            "a whole number of seconds above 0",
        ),
        (
            "SDD_PUBLISH_RENDER_TIMEOUT",
            "0",
            "a whole number of seconds above 0",
        ),
    ] {
        let (code, json) = check_env(
            std::slice::from_ref(&rst),
            &[
                (var, value.to_string()),
                (
                    "SDD_PUBLISH_PYTHON",
                    venv_bin("python").display().to_string(),
                ),
            ],
        );
        assert_eq!(code, 1);
        assert_eq!(
            strings(json.get("fatal")),
            [format!("{var}=`{value}` is not valid: expected {expected}")]
        );
    }

    // The pipeline stops before any upload with the same message as an error annotation.
    use crate::support::{ActionEnv, PyPIServer};
    let ws = tempfile::tempdir().unwrap();
    let dist = ws.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let wheel = "pkg-1.0-py3-none-any.whl";
    std::fs::copy(
        rst.join("fail-explicit-unknown-directive").join(wheel),
        dist.join(wheel),
    )
    .unwrap();
    let server = PyPIServer::start();
    let mut env = ActionEnv::new("push", "refs/tags/v1.0", "master");
    env.set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_PACKAGES_DIR", "dist")
        .set("PATH", empty.display().to_string());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.stdout.contains("::error") && r.all_output().contains("set SDD_PUBLISH_PYTHON to one"),
        "{}",
        r.all_output()
    );
    assert!(server.stored().is_empty());
}

/// The paths of the files in `check --json` output that have a problem with `rule`.
fn paths_with_rule<'a>(json: &'a Value, rule: &str) -> Vec<&'a str> {
    json["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.to_string().contains(rule))
        .map(|f| f["path"].as_str().unwrap())
        .collect()
}

/// A minimal wheel `pkg-1.0-{tag}.whl` in `dir` whose description is `body`, as rst.
fn rst_wheel(dir: &Path, tag: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("pkg-1.0-{tag}.whl"));
    let meta = format!(
        "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nSummary: s\nDescription-Content-Type: text/x-rst\n\n{body}"
    );
    let f = std::fs::File::create(&path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let o: zip::write::SimpleFileOptions = Default::default();
    for (member, data) in [
        ("pkg/__init__.py", String::new()),
        ("pkg-1.0.dist-info/METADATA", meta),
        (
            "pkg-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\n".to_string(),
        ),
        ("pkg-1.0.dist-info/RECORD", String::new()),
    ] {
        z.start_file(member, o).unwrap();
        std::io::Write::write_all(&mut z, data.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    path
}

/// When the renderer's environment cannot be had, the run says so once, naming what failed
/// and what to do, and leaves nothing half-built in the cache: a venv that cannot be made
/// (no ensurepip), a cache folder that cannot be written, and an environment that installs
/// but whose renderer never imports. The base "Python" is a stand-in script that speaks the
/// renderer's hello without the renderer, makes venvs of itself and installs nothing; uv is
/// kept off PATH so pip's path is the one taken.
#[test]
fn a_renderer_environment_that_cannot_be_made_or_never_imports_is_one_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("python3");
    std::fs::write(
        &fake,
        r#"#!/bin/sh
case "$1" in
  -c) printf '{"hello": {"python": "3.12.0", "executable": "%s", "prefix": "/fake", "unavailable": "ModuleNotFoundError: No module named readme_renderer"}}\n' "$0"; exit 0 ;;
  -m) case "$2" in
        venv) if [ -n "$FAKE_VENV_FAILS" ]; then echo "Error: ensurepip is not available" >&2; exit 1; fi
              mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; exit 0 ;;
        pip) exit 0 ;;
      esac ;;
esac
exit 3
"#,
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    rst_wheel(&dist, "py3-none-any", "Title\n=====\n\nText.\n");
    let cache = tmp.path().join("cache");
    let run = |cache: &Path, extra: &[(&str, String)]| {
        let mut set = vec![
            ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
            ("SDD_PUBLISH_PYTHON", fake.display().to_string()),
            ("RUNNER_TOOL_CACHE", cache.display().to_string()),
        ];
        set.extend_from_slice(extra);
        let (code, json) = check_env(std::slice::from_ref(&dist), &set);
        assert_eq!(code, 1, "{json}");
        let fatal = strings(json.get("fatal"));
        assert_eq!(fatal.len(), 1, "{json}");
        fatal[0].clone()
    };
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(cache.join("sdd-publish-renderer"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    let msg = run(&cache, &[("FAKE_VENV_FAILS", "1".to_string())]);
    assert!(
        msg.starts_with(
            "could not create a virtual environment for the reStructuredText renderer from "
        ) && msg.contains("with python -m venv")
            && msg.contains("ensurepip is not available")
            && msg.contains("apt-get install python3-venv")
            && msg.contains("SDD_PUBLISH_PYTHON"),
        "{msg}"
    );
    assert!(leftovers().is_empty(), "{:?}", leftovers());

    let file = tmp.path().join("not-a-folder");
    std::fs::write(&file, "").unwrap();
    let msg = run(&file, &[]);
    assert!(
        msg.starts_with("cannot write the reStructuredText renderer's cache at ")
            && msg.contains(&file.display().to_string())
            && msg.contains("RUNNER_TOOL_CACHE"),
        "{msg}"
    );

    let msg = run(&cache, &[]);
    assert!(
        msg.starts_with("the installed reStructuredText renderer at ")
            && msg.contains(&cache.join("sdd-publish-renderer").display().to_string())
            && msg.contains("does not start: ModuleNotFoundError: No module named readme_renderer")
            && msg.contains("Delete that folder"),
        "{msg}"
    );
}

/// PyPI renders with docutils' defaults and readme_renderer's settings, nothing else: a
/// `docutils.conf` where `check` runs (here one that names an unknown language, which
/// fails every render) or a `~/.docutils` changes nothing. The renderer named by a
/// relative `SDD_PUBLISH_PYTHON` is found from where `check` runs, although it works in
/// a directory of its own.
#[test]
fn docutils_config_files_around_the_run_do_not_change_pypis_verdict() {
    let ws = tempfile::tempdir().unwrap();
    let dist = ws.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    rst_wheel(&dist, "py3-none-any", "Title\n=====\n\nFine text.\n");
    let bad = rst_wheel(&dist, "py2-none-any", "Title\n=====\n\n.. bogus::\n");
    std::fs::write(
        ws.path().join("docutils.conf"),
        "[general]\nlanguage_code: xx\n",
    )
    .unwrap();
    std::fs::write(
        ws.path().join(".docutils"),
        "[general]\nlanguage_code: xx\n",
    )
    .unwrap();
    let venv = venv_bin("python")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::os::unix::fs::symlink(&venv, ws.path().join("venv")).unwrap();
    let python = Path::new("venv").join("bin").join("python");
    // The files really do change docutils' verdict when it reads them.
    let direct = Command::new(venv_bin("python"))
        .current_dir(ws.path())
        .args([
            "-c",
            "import io, sys; from readme_renderer.rst import render; sys.exit(render('Title\\n=====\\n\\nFine text.\\n', stream=io.StringIO()) is not None)",
        ])
        .status()
        .unwrap();
    assert_eq!(
        direct.code(),
        Some(0),
        "docutils.conf did not make the render fail"
    );

    let mut cmd = Command::new(sdd_publish_bin());
    cmd.current_dir(ws.path())
        .args(["check", "--json", "dist"])
        .env("SDD_PUBLISH_PYTHON", &python)
        .env("HOME", ws.path())
        .env_remove("SDD_PUBLISH_RENDERER")
        .env_remove("DOCUTILSCONFIG");
    let (code, json, _) = run_json(&mut cmd);
    assert_eq!(code, 1, "{json}");
    let failed = paths_with_rule(&json, "description-rst-invalid");
    assert_eq!(failed.len(), 1, "{json}");
    assert!(
        failed[0].ends_with(bad.file_name().unwrap().to_str().unwrap()),
        "{failed:?}"
    );
    assert!(
        !json.to_string().contains("description-unchecked"),
        "{json}"
    );
}

/// Twenty wheels sharing a README and three with their own: four renders in all, in at
/// most one process per core — counted inside the renderer by a `sitecustomize` that
/// wraps readme_renderer's `render`.
#[test]
fn each_distinct_description_is_rendered_once_in_long_lived_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let shared = "Shared\n======\n\nThe same README in every wheel.\n";
    let write = |tag: &str, body: &str| rst_wheel(&dist, tag, body);
    for i in 0..20 {
        write(
            &format!("cp3{i:02}-cp3{i:02}-manylinux_2_17_x86_64"),
            shared,
        );
    }
    for (i, body) in ["One\n===\n", "Two\n===\n", "Three\n=====\n\n.. bogus::\n"]
        .iter()
        .enumerate()
    {
        write(&format!("py3{i}-none-any"), body);
    }
    let hook = tmp.path().join("hook");
    std::fs::create_dir(&hook).unwrap();
    let log = tmp.path().join("render.log");
    std::fs::write(
        hook.join("sitecustomize.py"),
        r#"
import hashlib, os
_log = os.environ["RENDER_LOG"]
with open(_log, "a") as f:
    f.write("start %d\n" % os.getpid())
    f.write("cwd %s\n" % os.getcwd())
    for k in os.environ:
        if k.upper().endswith(("TOKEN", "PASSWORD")):
            f.write("credential %s\n" % k)
try:
    import readme_renderer.rst as _rst
    _orig = _rst.render
    def render(text, *a, **k):
        with open(_log, "a") as f:
            f.write("render %d %s\n" % (os.getpid(), hashlib.sha256(text.encode()).hexdigest()))
        return _orig(text, *a, **k)
    _rst.render = render
except ImportError:
    pass
"#,
    )
    .unwrap();
    let (code, json) = check_env(
        std::slice::from_ref(&dist),
        &[
            (
                "SDD_PUBLISH_PYTHON",
                venv_bin("python").display().to_string(),
            ),
            ("PYTHONPATH", hook.display().to_string()),
            ("RENDER_LOG", log.display().to_string()),
            ("INPUT_PYPI-TOKEN", "pypi-made-up".to_string()),
            ("INDEX_PASSWORD", "made-up".to_string()),
        ],
    );
    assert_eq!(code, 1, "{json}");
    let invalid = paths_with_rule(&json, "description-rst-invalid");
    assert_eq!(invalid.len(), 1, "{json}");
    assert!(
        invalid[0].ends_with("pkg-1.0-py32-none-any.whl"),
        "{invalid:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let starts = text.lines().filter(|l| l.starts_with("start ")).count();
    let renders: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("render "))
        .map(|l| l.split(' ').nth(1).unwrap())
        .collect();
    let distinct: BTreeSet<&&str> = renders.iter().collect();
    assert_eq!((renders.len(), distinct.len()), (4, 4), "{text}");
    // The renderer needs no credential of the job, and works away from the workspace.
    assert!(!text.contains("credential "), "{text}");
    let here = std::env::current_dir().unwrap();
    for cwd in text.lines().filter_map(|l| l.strip_prefix("cwd ")) {
        assert_ne!(Path::new(cwd), here, "{text}");
    }
    let cores = std::thread::available_parallelism().unwrap().get().min(8);
    assert!(
        starts >= 1 && starts <= cores.min(4),
        "{starts} processes for 4 texts on {cores} cores:\n{text}"
    );
}

/// Our reading of `entry_points.txt` gives warehouse's verdict: the same files accepted and
/// refused as Python's configparser set up as warehouse sets it up, over generated files
/// mixing the shapes that matter (headers, continuations, comments, `[DEFAULT]`,
/// duplicates, odd names, CR, BOM).
#[test]
fn entry_points_verdicts_match_pythons_configparser() {
    let pieces = [
        "[console_scripts]\n",
        "[gui_scripts]\n",
        "[other]\n",
        "[DEFAULT]\n",
        "[]\n",
        "[a]b]\n",
        "[console_scripts] x\n",
        "foo = a:b\n",
        "foo=a:b\n",
        "  cont\n",
        "\tmore = x\n",
        "bar baz = a:b\n",
        "= x\n",
        "novalue\n",
        "# c\n",
        "; c\n",
        "  # c\n",
        "\n",
        "  \n",
        "x.y-z_1 = a\n",
        "naïve = a\n",
        "../evil = a\n",
        "foo = dup\n",
        "r = 1\r\n",
        "\u{feff}[console_scripts]\n",
        "a:b = c\n",
        "FOO = a\n",
        "[Console_Scripts]\n",
    ];
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut texts = Vec::new();
    for _ in 0..3000 {
        let n = (next() % 6) as usize + 1;
        let t: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        texts.push(t);
    }
    let script = r#"
import configparser, json, re, sys
name = re.compile(r"[\w.-]+")
out = []
for text in json.load(sys.stdin):
    p = configparser.ConfigParser(delimiters=("=",))
    p.optionxform = str
    try:
        p.read_string(text)
        ok = all(name.fullmatch(k) for s in ("console_scripts", "gui_scripts") if p.has_section(s) for k in p[s])
    except configparser.Error:
        ok = False
    out.append(ok)
json.dump(out, sys.stdout)
"#;
    // configparser reads these shapes alike in Python 3.10 to 3.13 (checked by hand;
    // warehouse runs 3.14), so the tools venv's Python stands for warehouse's.
    let mut child = Command::new(venv_bin("python"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        serde_json::to_string(&texts).unwrap().as_bytes(),
    )
    .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let python: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    let mut differ = Vec::new();
    for (t, py) in texts.iter().zip(&python) {
        let ours = sdd_publish::dist::rules::entry_points::warehouse_verdict(t.as_bytes()).is_ok();
        if ours != *py {
            differ.push(format!("{t:?}: python {py}, ours {ours}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        texts.len(),
        differ[..differ.len().min(10)].join("\n")
    );
    let accepted = python.iter().filter(|x| **x).count();
    assert!(
        accepted > 300 && accepted < 2700,
        "a mix of verdicts: {accepted} accepted"
    );
}
