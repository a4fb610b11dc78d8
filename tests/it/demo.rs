//! `scripts/demo`, the README's first command: what it can get wrong without running it.
//! CI runs the demo itself twice (`.ci/run`: a first run, then the re-run); these tests pin
//! the parts it stands on: its `INPUT_*` names are the ones action.yml's step passes, and the
//! GitHub double it runs (`tests/demo/github-double.rs`) keeps its releases across a restart,
//! so a second demo run really is a re-run.

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::github_double::*;
use crate::support::*;

/// The `INPUT_*` variables action.yml's run step sets for the binary.
fn mapped_by_action_yml() -> BTreeSet<String> {
    let action = action_yml();
    let steps = action["runs"]["steps"]
        .as_sequence()
        .expect("action.yml: runs.steps");
    let run = steps
        .iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some("run"))
        .expect("action.yml: no step with id `run`");
    run["env"]
        .as_mapping()
        .expect("action.yml: the run step has no env")
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| k.starts_with("INPUT_"))
        .map(str::to_owned)
        .collect()
}

/// Every `INPUT_<name>` in a script (`INPUT_*` in prose has no name and is left out).
fn input_names(script: &str) -> BTreeSet<String> {
    script
        .match_indices("INPUT_")
        .filter(|(i, _)| {
            // `SDD_INPUT_X` or `MY_INPUT_X` is another variable.
            !script[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            let rest = &script[i + "INPUT_".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('-').to_owned()
        })
        .filter(|name| !name.is_empty())
        .map(|name| format!("INPUT_{name}"))
        .collect()
}

/// The names in `script` that action.yml does not pass.
fn unmapped(script: &str, mapped: &BTreeSet<String>) -> Vec<String> {
    input_names(script)
        .into_iter()
        .filter(|n| !mapped.contains(n))
        .collect()
}

#[test]
fn the_demo_spells_every_input_as_action_yml_passes_it() {
    let path = repo_root().join("scripts/demo");
    let script = std::fs::read_to_string(&path).unwrap();
    let mapped = mapped_by_action_yml();
    let used = input_names(&script);
    // The demo sets what a tag push of the example workflow sets; if the scan found none of
    // these, it would check nothing.
    for name in [
        "INPUT_MODE",
        "INPUT_WAIT_FOR",
        "INPUT_BUILD",
        "INPUT_PYPI_URL",
        "INPUT_PYPI_TOKEN",
        "INPUT_VERIFY_COMMAND",
        "INPUT_GITHUB_TOKEN",
        "INPUT_TESTPYPI_TOKEN",
    ] {
        assert!(
            used.contains(name),
            "scripts/demo no longer sets {name}: {used:?}"
        );
    }
    assert_eq!(
        unmapped(&script, &mapped),
        Vec::<String>::new(),
        "scripts/demo sets INPUT_* variables that action.yml's run step does not pass to the \
         binary; spell them as action.yml's `env:` does (INPUT_ + the input name upper-cased, \
         `-` as `_`)"
    );
}

/// The check above is only as good as its scan: the runner's own spelling for a JavaScript
/// action (`INPUT_PACKAGES-DIR`, dashes kept), a typo, an input that does not exist are all
/// caught; prose (`INPUT_*`) and other variables that merely contain `INPUT_` are not names.
#[test]
fn the_input_scan_catches_a_dashed_or_unknown_name() {
    let mapped = mapped_by_action_yml();
    let script = "# the INPUT_* variables\n\
                  env INPUT_PACKAGES-DIR=dist INPUT_WAIT_FOR=x \\\n  \
                  INPUT_PYPI_TOKN=t MY_INPUT_X=1 INPUT_MODE=auto sdd-publish run\n";
    assert_eq!(
        input_names(script),
        [
            "INPUT_MODE",
            "INPUT_PACKAGES-DIR",
            "INPUT_PYPI_TOKN",
            "INPUT_WAIT_FOR"
        ]
        .map(String::from)
        .into(),
    );
    assert_eq!(
        unmapped(script, &mapped),
        ["INPUT_PACKAGES-DIR", "INPUT_PYPI_TOKN"]
    );
}

/// The demo's second run talks to a new double process: the release the first run created
/// must be there (on the new port), so the re-run updates it and keeps its assets.
#[test]
fn a_restarted_double_keeps_the_release_and_a_rerun_updates_it() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists("0.1.0");
    let state = ws.path().join("github-double.json");
    let run = |d: &GitHubDouble| {
        let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
        env.set("GITHUB_API_URL", d.api_url())
            .set("GITHUB_WORKSPACE", ws.path().display().to_string())
            .set("INPUT_PYPI_URL", server.upload_url())
            .set("INPUT_PYPI_TOKEN", server.token.clone())
            .set("INPUT_VERIFY_INSTALL", "false")
            .set("INPUT_GITHUB_TOKEN", "ghs_DEMOSTATETOKEN")
            .set("INPUT_RELEASE", "auto");
        env.run(ws.path(), &["run"])
    };

    let first = GitHubDouble::fixed(vec![], vec![]);
    first.persist_releases(&state).unwrap();
    let r = run(&first);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let created = first.releases();
    let bytes = first.asset_bytes("v0.1.0");
    assert_eq!(created.len(), 1, "{created:#?}");
    assert_eq!(bytes.len(), 2);
    drop(first);

    let second = GitHubDouble::fixed(vec![], vec![]);
    second.persist_releases(&state).unwrap();
    // Everything survives but `upload_url`, which names the port of the double serving it.
    let without_upload_url = |releases: Vec<serde_json::Value>| {
        releases
            .into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("upload_url");
                r
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_upload_url(second.releases()),
        without_upload_url(created),
        "the record survives the restart"
    );
    assert_eq!(second.asset_bytes("v0.1.0"), bytes, "asset bytes included");
    let r = run(&second);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let repo = format!("/repos/{REPO}/releases");
    let calls: Vec<String> = second
        .calls()
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        calls,
        [
            format!("GET {repo}/tags/v0.1.0"),
            format!("PATCH {repo}/1"),
            format!("GET {repo}/1/assets"),
        ],
        "updated in place: no second release, no asset uploaded again"
    );
    assert_eq!(second.releases().len(), 1);
    assert_eq!(second.asset_bytes("v0.1.0"), bytes);
    assert!(
        r.stdout
            .contains("updated the release \"v0.1.0\" for v0.1.0"),
        "{}",
        r.stdout
    );
    // The restored release sends uploads to the double that serves it now.
    let upload_url = second.releases()[0]["upload_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        upload_url.starts_with(&format!("{}/uploads/", second.api_url())),
        "{upload_url}"
    );
}

#[test]
fn a_damaged_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("github-double.json");
    std::fs::write(&state, "{\"releases\": 3").unwrap();
    let err = GitHubDouble::fixed(vec![], vec![])
        .persist_releases(&state)
        .unwrap_err();
    assert!(
        err.contains(&state.display().to_string())
            && err.contains("not a saved GitHub double state")
            && err.contains("delete it to start over"),
        "{err}"
    );
}
