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
