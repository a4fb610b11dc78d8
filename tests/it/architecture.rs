//! The map of the crate, as a table, and the test that keeps the code on it.
//!
//! Every module of `src/` sits in one layer. A module may use (`crate::…`) only modules in
//! layers below its own, or itself; an import that points sideways or up fails here with
//! the file, the line and the two layers. Imports that only point down cannot form a cycle.
//! `docs/architecture.md` explains each layer; this table is what holds.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::repo_root;

/// Bottom first: (layer, [(module, its one job)]).
const LAYERS: &[(&str, &[(&str, &str)])] = &[
    (
        "foundations",
        &[
            ("secret", "a credential that never prints itself"),
            (
                "http",
                "an HTTP client for credentials: our user agent, bounded times, no redirects",
            ),
            ("units", "sizes and durations as people read and write them"),
            (
                "retry",
                "the one retry policy: backoff with jitter, Retry-After, a total budget",
            ),
        ],
    ),
    (
        "domain",
        &[
            ("version", "PEP 440 versions and pyproject.toml edits"),
            (
                "dist",
                "distributions on disk: discovery, metadata, the rules PyPI applies",
            ),
            (
                "plan",
                "(ref, event, mode) -> where this run publishes, and why",
            ),
        ],
    ),
    (
        "the outside world",
        &[
            (
                "gha",
                "the GitHub Actions runtime: context, raw inputs, workflow commands, OIDC",
            ),
            (
                "github",
                "GitHub's REST API: one typed client, one request loop",
            ),
            (
                "index",
                "a package index: upload, what it has, trusted publishing",
            ),
        ],
    ),
    (
        "operations",
        &[
            (
                "attest",
                "PEP 740 attestations: signed with Sigstore, verified, saved beside the file",
            ),
            (
                "auth",
                "who we are to the index: token or trusted publishing",
            ),
            (
                "build",
                "run the build command, stamping a dev version first",
            ),
            ("gate", "wait for a commit's checks and statuses"),
            (
                "github_release",
                "a GitHub Release: its notes, assets and flags",
            ),
            ("progress", "upload progress bars on a terminal"),
            (
                "validate",
                "every rule over every file: the `check` command's verdict",
            ),
            (
                "verify",
                "the release installs and runs: from the local files before the upload (verify::preflight), from the index after",
            ),
        ],
    ),
    (
        "settings",
        &[(
            "config",
            "the action's settings, typed, one struct per target index",
        )],
    ),
    (
        "stage errors",
        &[(
            "stages",
            "what stopped a run, and the fix in the workflow's words",
        )],
    ),
    (
        "stages",
        &[
            ("stages::plan", "the plan stage"),
            ("stages::gate", "the wait-for-checks stage"),
            ("stages::build", "the build stage"),
            ("stages::validate", "the check stage"),
            (
                "stages::preflight",
                "the pre-flight: the local files installed and run before any upload",
            ),
            ("stages::attest", "the PEP 740 attestation stage"),
            ("stages::publish", "the upload stage"),
            ("stages::verify", "the verify stage"),
            ("stages::github_release", "the GitHub Release stage"),
        ],
    ),
    (
        "report",
        &[(
            "report",
            "the run's result: outputs, step summary, terminal text, JSON",
        )],
    ),
    (
        "pipeline",
        &[(
            "pipeline",
            "the order of the stages, the run context, the fold",
        )],
    ),
    (
        "edge",
        &[(
            "cli",
            "the command line, exit codes, the fixes that name flags",
        )],
    ),
];

/// Test-only code that reaches everywhere (property tests over every parser).
const EXEMPT: &[&str] = &["fuzzing"];

/// The table entry a module path belongs to: the longest entry that is a prefix of it.
fn place(path: &[String]) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, &'static str)> = None;
    for (layer, (_, modules)) in LAYERS.iter().enumerate() {
        for (module, _) in *modules {
            let parts: Vec<&str> = module.split("::").collect();
            let fits = parts.len() <= path.len() && parts.iter().zip(path).all(|(a, b)| a == b);
            if fits && best.is_none_or(|(_, m)| m.split("::").count() < parts.len()) {
                best = Some((layer, module));
            }
        }
    }
    best
}

/// `src/a/b.rs` -> [a, b]; `src/a/mod.rs` -> [a].
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// Every `crate::` path in a line of code: `crate::a::b::C` and each item of
/// `crate::{a::b, c}` (nested groups included), as their module segments.
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    fn path_at(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut segs = prefix.to_vec();
        let mut rest = s;
        loop {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                if let Some(group) = rest.strip_prefix('{') {
                    let mut depth = 0;
                    let mut start = 0;
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => {
                                path_at(group[start..i].trim(), &segs, out);
                                return;
                            }
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                path_at(group[start..i].trim(), &segs, out);
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                }
                break;
            }
            segs.push(ident.clone());
            rest = &rest[ident.len()..];
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        if segs.len() > prefix.len() {
            out.push(segs);
        }
    }
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        // `sdd_publish::crate::` cannot occur; `$crate::` and `super::crate` are not ours.
        if line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        path_at(&line[i + "crate::".len()..], &[], &mut out);
    }
    out
}

/// Every import that breaks the table, as a message.
fn violations(src: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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
    walk(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let module = module_of(rel);
        if module.is_empty()
            || ["lib", "main"].contains(&module[0].as_str())
            || EXEMPT.contains(&module[0].as_str())
        {
            continue;
        }
        let Some((from_layer, from)) = place(&module) else {
            found.push(format!(
                "src/{}: module `{}` is in no layer of the table in tests/it/architecture.rs; add it where it belongs",
                rel.display(),
                module.join("::")
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for path in crate_paths(line) {
                if EXEMPT.contains(&path[0].as_str()) {
                    continue;
                }
                let Some((to_layer, to)) = place(&path) else {
                    found.push(format!(
                        "src/{}:{}: `crate::{}` is in no layer of the table",
                        rel.display(),
                        n + 1,
                        path.join("::")
                    ));
                    continue;
                };
                if to != from && to_layer >= from_layer {
                    found.push(format!(
                        "src/{}:{}: `{from}` ({}) imports `crate::{}`, which is `{to}` ({}): imports must point down the layer table in tests/it/architecture.rs; move the shared piece down, or the caller up",
                        rel.display(),
                        n + 1,
                        LAYERS[from_layer].0,
                        path.join("::"),
                        LAYERS[to_layer].0,
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn imports_point_down_the_layer_table() {
    let problems = violations(&repo_root().join("src"));
    assert!(
        problems.is_empty(),
        "{} import(s) break the layers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every module declared in `src/lib.rs` has its place in the table (so a new one must be
/// placed before it can be used), and every entry in the table exists.
#[test]
fn the_table_names_every_module_and_only_real_ones() {
    let lib = std::fs::read_to_string(repo_root().join("src/lib.rs")).unwrap();
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_owned())
        })
        .filter(|m| !EXEMPT.contains(&m.as_str()))
        .collect();
    let tabled: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|(_, ms)| {
            ms.iter()
                .map(|(m, _)| m.split("::").next().unwrap().to_owned())
        })
        .collect();
    assert_eq!(declared, tabled, "src/lib.rs and the layer table disagree");
    for (_, modules) in LAYERS {
        for (module, job) in *modules {
            assert!(!job.is_empty(), "`{module}` needs its one job in the table");
            let parts: Vec<&str> = module.split("::").collect();
            let file = repo_root().join("src").join(parts.join("/"));
            assert!(
                file.with_extension("rs").is_file() || file.join("mod.rs").is_file(),
                "the table names `{module}`, which src/ lacks"
            );
        }
    }
}

/// The checker itself: a back-import is caught, grouped imports are read, comments are not.
#[test]
fn the_checker_catches_a_back_import() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("github_release")).unwrap();
    std::fs::create_dir_all(src.join("stages")).unwrap();
    std::fs::write(
        src.join("github_release/mod.rs"),
        "//! See crate::report for how it reads.\nuse crate::{github::GitHub, report::Report};\n",
    )
    .unwrap();
    std::fs::write(
        src.join("stages/gate.rs"),
        "use crate::stages::publish::Endpoint;\nuse super::RunError;\nfn f() { crate::gate::wait(); }\n",
    )
    .unwrap();
    let found = violations(src);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("src/github_release/mod.rs:2: `github_release` (operations) imports `crate::report::Report`, which is `report` (report)"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("src/stages/gate.rs:1: `stages::gate` (stages) imports `crate::stages::publish::Endpoint`, which is `stages::publish` (stages)"),
        "{}",
        found[1]
    );
}
