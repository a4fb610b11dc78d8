//! The README's input and output tables are generated from `action.yml`, so they cannot drift:
//! this test renders them and compares. `SDD_BLESS=1 cargo test --test it docs::` rewrites
//! the README between the `<!-- inputs:start -->`/`<!-- outputs:start -->` markers.

use serde_yaml::Value;

use crate::support::repo_root;

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn render(action: &Value) -> (String, String) {
    let mut inputs = String::from("| input | default | meaning |\n|---|---|---|\n");
    if let Some(map) = action["inputs"].as_mapping() {
        for (name, spec) in map {
            let default = match &spec["default"] {
                Value::String(s) if !s.is_empty() => format!("`{}`", cell(s)),
                Value::Bool(b) => format!("`{b}`"),
                Value::Number(n) => format!("`{n}`"),
                _ => String::new(),
            };
            inputs.push_str(&format!(
                "| `{}` | {} | {} |\n",
                name.as_str().unwrap_or_default(),
                default,
                cell(spec["description"].as_str().unwrap_or_default())
            ));
        }
    }
    let mut outputs = String::from("| output | meaning |\n|---|---|\n");
    if let Some(map) = action["outputs"].as_mapping() {
        for (name, spec) in map {
            outputs.push_str(&format!(
                "| `{}` | {} |\n",
                name.as_str().unwrap_or_default(),
                cell(spec["description"].as_str().unwrap_or_default())
            ));
        }
    }
    (inputs, outputs)
}

fn replace_between(text: &str, name: &str, body: &str) -> String {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let a = text
        .find(&start)
        .unwrap_or_else(|| panic!("README.md lacks the marker {start:?}"))
        + start.len();
    let b = text[a..]
        .find(&end)
        .unwrap_or_else(|| panic!("README.md lacks the marker {end:?}"))
        + a;
    format!("{}{}{}", &text[..a], body, &text[b..])
}

#[test]
fn readme_tables_match_action_yml() {
    let action: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("action.yml")).unwrap())
            .unwrap();
    let (inputs, outputs) = render(&action);
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = replace_between(
        &replace_between(&readme, "inputs", &inputs),
        "outputs",
        &outputs,
    );
    if std::env::var_os("SDD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        readme == want,
        "README.md's input/output tables differ from action.yml; run `SDD_BLESS=1 cargo test --test it docs::` and commit"
    );
}

#[test]
fn every_input_and_output_is_described() {
    let action: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("action.yml")).unwrap())
            .unwrap();
    for section in ["inputs", "outputs"] {
        for (name, spec) in action[section].as_mapping().unwrap() {
            let d = spec["description"].as_str().unwrap_or_default();
            assert!(d.len() > 10, "{section}.{name:?} needs a real description");
        }
    }
}

/// The README shows the default release body, rendered by the real template code for an
/// example release of improved-sdd 1.2.0 (as a quote, so GitHub renders its Markdown).
/// `SDD_BLESS=1` rewrites it between the `<!-- release-body:start/end -->` markers.
#[test]
fn readme_release_example_is_the_rendered_default_body() {
    use sdd_publish::release::{render, ReleaseFacts, ReleaseFile, DEFAULT_BODY_TEMPLATE};
    use sha2::{Digest, Sha256};
    // Illustrative hashes (of the names), stable so the README does not churn.
    let file = |name: &str, size: u64| ReleaseFile {
        filename: name.into(),
        size,
        sha256: hex::encode(Sha256::digest(name.as_bytes())),
    };
    let files = [
        file("improved_sdd-1.2.0-py3-none-any.whl", 18_740),
        file("improved_sdd-1.2.0.tar.gz", 24_676),
    ];
    let changelog = "### Added\n\n- `improved-sdd check` validates a spec folder before it is published.\n\n### Fixed\n\n- Templates with Windows line endings render again.";
    let body = render(
        DEFAULT_BODY_TEMPLATE,
        "release-body",
        &ReleaseFacts {
            name: "improved-sdd",
            version: "1.2.0",
            tag: "v1.2.0",
            project_url: "https://pypi.org/project/improved-sdd/1.2.0/",
            changelog: Some(changelog),
            files: &files,
        },
    )
    .unwrap();
    let quoted: String = body
        .trim_end()
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">\n".to_owned()
            } else {
                format!("> {l}\n")
            }
        })
        .collect();
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = replace_between(&readme, "release-body", &quoted);
    if std::env::var_os("SDD_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        readme == want,
        "README.md's release example differs from the default template; run `SDD_BLESS=1 cargo test --test it docs::` and commit"
    );
}
