//! The README's input and output tables are generated from `action.yml`, so they cannot drift:
//! this test renders them and compares. `SDD_BLESS=1 cargo test --test it docs::` rewrites
//! the README between the `<!-- inputs:start -->`/`<!-- outputs:start -->` markers.

use serde_yaml::Value;

use crate::support::{action_inputs, action_yml, blockquote, replace_between, repo_root};

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

#[test]
fn readme_tables_match_action_yml() {
    let action = action_yml();
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
    let action = action_yml();
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
    use sdd_publish::github_release::{render, ReleaseFacts, ReleaseFile, DEFAULT_BODY_TEMPLATE};
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
    let quoted = blockquote(body.trim_end());
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

// ---------------------------------------------------------------------------------------
// Troubleshooting and migration: the prose must name real messages and real inputs.
// ---------------------------------------------------------------------------------------

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `.rs` file under `src/`, concatenated: where a quoted message must come from.
fn source_text() -> String {
    fn walk(dir: &std::path::Path, out: &mut String) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    walk(&repo_root().join("src"), &mut out);
    out
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The `## ` entries of docs/troubleshooting.md: (heading, body).
fn troubleshooting_entries() -> Vec<(String, String)> {
    let doc = read("docs/troubleshooting.md");
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            entries.push((h.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = entries.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    entries
}

/// Each troubleshooting entry carries `<!-- src: "fragment" | "fragment" -->`: fragments of
/// the messages it quotes. Each must be quoted in the entry and occur verbatim in `src/`, so
/// rewording a message in the code fails here until the page is updated with it.
#[test]
fn troubleshooting_quotes_real_messages() {
    let src = source_text();
    let entries = troubleshooting_entries();
    assert!(entries.len() >= 20, "docs/troubleshooting.md lost entries");
    let mut failures = Vec::new();
    for (heading, body) in &entries {
        let Some(start) = body.find("<!-- src:") else {
            failures.push(format!("`{heading}`: no `<!-- src: \"…\" -->` line"));
            continue;
        };
        let end = start + body[start..].find("-->").expect("unterminated src comment");
        let spec = &body[start + "<!-- src:".len()..end];
        let rest = format!("{}{}", &body[..start], &body[end + 3..]);
        let fragments: Vec<&str> = spec
            .split(" | ")
            .map(|f| f.trim().trim_matches('"'))
            .filter(|f| !f.is_empty())
            .collect();
        if fragments.is_empty() {
            failures.push(format!("`{heading}`: the src comment names no fragment"));
        }
        for f in fragments {
            // Escapes and format braces differ between the source and the output.
            if f.contains(['{', '}', '\\']) || f.len() < 10 {
                failures.push(format!(
                    "`{heading}`: fragment {f:?} must be plain text, 10+ characters"
                ));
                continue;
            }
            if !rest.contains(f) {
                failures.push(format!(
                    "`{heading}`: fragment {f:?} is not in the entry's quote"
                ));
            }
            if !src.contains(f) {
                failures.push(format!(
                    "`{heading}`: fragment {f:?} no longer occurs in src/ (was the message reworded?)"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The errors issue 8 asks the page to cover are there.
#[test]
fn troubleshooting_covers_the_errors_users_meet() {
    let slugs: Vec<String> = troubleshooting_entries()
        .iter()
        .map(|(h, _)| slug(h))
        .collect();
    for want in [
        "trusted-publishing-no-id-token",
        "trusted-publishing-invalid-publisher",
        "trusted-publishing-environment-mismatch",
        "missing-token",
        "wrong-token",
        "file-exists-with-different-bytes",
        "pypi-says-the-filename-has-been-used",
        "the-description-does-not-render",
        "the-description-could-not-be-checked",
        "the-tag-and-the-version-disagree",
        "mixed-releases-in-packages-dir",
        "no-distributions-found",
        "a-check-failed",
        "a-check-never-appeared",
        "waiting-for-checks-timed-out",
        "missing-permissions-for-the-checks-gate",
        "missing-permission-for-the-github-release",
        "verification-files-not-served-yet",
        "verification-install-failed",
        "rate-limits-and-flaky-networks",
    ] {
        assert!(
            slugs.iter().any(|s| s == want),
            "docs/troubleshooting.md has no entry `{want}`"
        );
    }
}

/// The README's index links every entry, and every link (there and inside the page) lands
/// on a heading.
#[test]
fn troubleshooting_index_matches_the_page() {
    let slugs: std::collections::BTreeSet<String> = troubleshooting_entries()
        .iter()
        .map(|(h, _)| slug(h))
        .collect();
    let readme = read("README.md");
    let index = section(&readme, "troubleshooting");
    let linked: std::collections::BTreeSet<String> = index
        .split("docs/troubleshooting.md#")
        .skip(1)
        .map(|t| t.split(')').next().unwrap().to_owned())
        .collect();
    for l in &linked {
        assert!(
            slugs.contains(l),
            "README links #{l}, which docs/troubleshooting.md lacks"
        );
    }
    for s in &slugs {
        assert!(
            linked.contains(s),
            "README's troubleshooting index misses #{s}"
        );
    }
    let doc = read("docs/troubleshooting.md");
    for t in doc.split("](#").skip(1) {
        let l = t.split(')').next().unwrap();
        assert!(
            slugs.contains(l),
            "docs/troubleshooting.md links #{l}, which it lacks"
        );
    }
}

/// The text between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let a = text
        .find(&start)
        .unwrap_or_else(|| panic!("README.md lacks {start}"))
        + start.len();
    let b = a + text[a..]
        .find(&end)
        .unwrap_or_else(|| panic!("README.md lacks {end}"));
    &text[a..b]
}

fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// In the migration tables, the sdd-publish column names inputs in backticks (`name` or
/// `name: value`) and nothing else; each must be an input of action.yml. The peer actions'
/// inputs must all have a row.
#[test]
fn migration_tables_name_only_real_inputs() {
    let inputs = action_inputs();
    let readme = read("README.md");
    let migration = section(&readme, "migration");
    let mut named = 0;
    let mut theirs = std::collections::BTreeSet::new();
    for line in migration.lines() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').collect();
        assert!(
            cells.len() >= 4,
            "migration table row with too few cells: {line}"
        );
        theirs.extend(backticked(cells[1]).into_iter().map(str::to_owned));
        for span in backticked(cells[2]) {
            let name = span.split(':').next().unwrap().trim();
            assert!(
                inputs.contains(name),
                "the migration table names `{span}`, but action.yml has no input `{name}`"
            );
            named += 1;
        }
    }
    assert!(named >= 20, "the migration tables lost their input mapping");
    for peer in [
        // pypa/gh-action-pypi-publish (release/v1 action.yml)
        "user",
        "password",
        "repository-url",
        "packages-dir",
        "verify-metadata",
        "skip-existing",
        "verbose",
        "print-hash",
        "attestations",
        // lewagon/wait-on-check-action (action.yml, README v1.4.1)
        "ref",
        "check-name",
        "check-regexp",
        "repo-token",
        "wait-interval",
        "allowed-conclusions",
        "running-workflow-name",
        "api-endpoint",
        "ignore-checks",
    ] {
        assert!(
            theirs.contains(peer),
            "the migration tables have no row for `{peer}`"
        );
    }
}

/// Every YAML example in the README parses, and every `with:` given to this action uses
/// real inputs. The quick start stays within 10 lines.
#[test]
fn readme_yaml_examples_use_real_inputs() {
    fn steps_of_ours(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Mapping(m) => {
                if m.get("uses")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.starts_with("org/sdd-publish-action"))
                {
                    out.push(v.clone());
                }
                for child in m.values() {
                    steps_of_ours(child, out);
                }
            }
            Value::Sequence(s) => s.iter().for_each(|c| steps_of_ours(c, out)),
            _ => {}
        }
    }
    let inputs = action_inputs();
    let readme = read("README.md");
    let mut ours = Vec::new();
    for block in readme.split("```yaml\n").skip(1) {
        let yaml = block.split("\n```").next().unwrap();
        let doc: Value = serde_yaml::from_str(yaml)
            .unwrap_or_else(|e| panic!("a YAML example in README.md does not parse: {e}\n{yaml}"));
        steps_of_ours(&doc, &mut ours);
    }
    assert!(
        ours.len() >= 3,
        "expected the quick start, usage and migration examples"
    );
    for step in &ours {
        if let Some(with) = step["with"].as_mapping() {
            for k in with.keys() {
                let k = k.as_str().unwrap();
                assert!(
                    inputs.contains(k),
                    "a README example sets `{k}`, which is not an input"
                );
            }
        }
    }
    let quick = section(&readme, "quickstart");
    let yaml = quick
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the quick start has a yaml block");
    assert!(
        yaml.lines().count() <= 10,
        "the quick start is {} lines; keep it within 10",
        yaml.lines().count()
    );
    let doc: Value = serde_yaml::from_str(yaml).unwrap();
    let job = &doc["jobs"]["publish"];
    for (perm, level) in [
        ("id-token", "write"),
        ("contents", "write"),
        ("checks", "read"),
        ("statuses", "read"),
        ("actions", "read"),
    ] {
        assert_eq!(
            job["permissions"][perm].as_str(),
            Some(level),
            "the quick start needs `permissions: {perm}: {level}`"
        );
    }
}
