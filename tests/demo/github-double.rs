//! The integration tests' GitHub REST API double (`tests/it/github_double.rs`, this very
//! file through `#[path]`) as a program of its own, for `scripts/demo`:
//!
//! - `github-double serve [--state FILE]` serves the demo's world on a free loopback port:
//!   the commit's checks `Test Suite` and `Security Scan` are in progress at the first poll,
//!   `Test Suite` passes at the second and `Security Scan` at the third, so the gate visibly
//!   waits; this run's own job `Publish` is in progress, as it would be on GitHub. It prints
//!   one line of `NAME=value` words, the variables a runner would set for that world, then
//!   serves until killed. With `--state`, releases and assets are loaded from FILE and saved
//!   to it after every write, so a second demo run finds the release the first one made.
//! - `github-double show --state FILE --tag TAG` prints the release for TAG as the double
//!   recorded it: title, flags, notes, assets.
//! - `github-double record --state FILE --tag TAG` prints one line for scripts:
//!   `releases=N id=ID assets=ID,ID` (N: releases for TAG; the rest empty when none).
//!
//! A cargo example (not under `examples/`, which holds workflow YAML) so that it builds with
//! the crate's dependencies and `clippy --all-targets` lints it.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../it/github_double.rs"]
mod github_double;

/// The one thing the double needs from the tests' support module.
mod support {
    pub fn repo_root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

use github_double::*;

const USAGE: &str = "usage: github-double serve [--state FILE]\n       github-double show --state FILE --tag TAG\n       github-double record --state FILE --tag TAG";

struct Args {
    command: String,
    state: Option<PathBuf>,
    tag: Option<String>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = argv.next().ok_or("no command")?;
    let (mut state, mut tag) = (None, None);
    while let Some(flag) = argv.next() {
        let value = argv.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--state" => state = Some(PathBuf::from(value)),
            "--tag" => tag = Some(value),
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    Ok(Args {
        command,
        state,
        tag,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("github-double: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match (args.command.as_str(), args.state, args.tag) {
        ("serve", state, None) => serve(state),
        ("show", Some(state), Some(tag)) => load(&state).map(|d| show(&d, &tag)),
        ("record", Some(state), Some(tag)) => load(&state).map(|d| record(&d, &tag)),
        _ => {
            eprintln!("github-double: wrong arguments\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("github-double: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The demo's world: both checks in progress, then green one after the other.
fn demo_world() -> GitHubDouble {
    GitHubDouble::scripted(
        |poll| {
            let test = if poll >= 2 {
                done(1, "Test Suite", "success")
            } else {
                running(1, "Test Suite")
            };
            let scan = if poll >= 3 {
                done(2, "Security Scan", "success")
            } else {
                running(2, "Security Scan")
            };
            vec![
                test,
                scan,
                check_run(OWN_JOB, "Publish", "in_progress", None, OWN_SUITE),
            ]
        },
        |_| vec![],
    )
}

fn serve(state: Option<PathBuf>) -> Result<(), String> {
    let double = demo_world();
    if let Some(path) = &state {
        double.persist_releases(path)?;
    }
    // What a runner sets for this world: the API, the repository and commit the checks are
    // on, and the run and runner the gate must recognise as itself.
    println!(
        "GITHUB_API_URL={} GITHUB_REPOSITORY={REPO} GITHUB_SHA={SHA} GITHUB_RUN_ID={RUN_ID} RUNNER_NAME={RUNNER}",
        double.api_url()
    );
    loop {
        std::thread::park();
    }
}

/// A double holding the saved releases (its port is never used).
fn load(state: &std::path::Path) -> Result<GitHubDouble, String> {
    if !state.exists() {
        return Err(format!("no saved state at {}", state.display()));
    }
    let double = GitHubDouble::fixed(vec![], vec![]);
    double.persist_releases(state)?;
    Ok(double)
}

fn for_tag(double: &GitHubDouble, tag: &str) -> Vec<serde_json::Value> {
    double
        .releases()
        .into_iter()
        .filter(|r| r["tag_name"] == tag)
        .collect()
}

fn record(double: &GitHubDouble, tag: &str) {
    let releases = for_tag(double, tag);
    let (id, assets) = match releases.as_slice() {
        [one] => (
            one["id"].to_string(),
            one["assets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["id"].to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => (String::new(), String::new()),
    };
    println!("releases={} id={id} assets={assets}", releases.len());
}

fn show(double: &GitHubDouble, tag: &str) {
    let releases = for_tag(double, tag);
    if releases.is_empty() {
        println!("no release for {tag}");
    }
    for r in &releases {
        let yes_no = |field: &str, what: &str| {
            if r[field] == true {
                what.to_owned()
            } else {
                format!("not a {what}")
            }
        };
        println!(
            "title:  {}\ntag:    {tag} (release id {}; {}, {})\npage:   {}",
            r["name"].as_str().unwrap_or("(none)"),
            r["id"],
            yes_no("draft", "draft"),
            yes_no("prerelease", "pre-release"),
            r["html_url"].as_str().unwrap_or_default(),
        );
        println!("notes:");
        for line in r["body"].as_str().unwrap_or_default().lines() {
            println!("  | {line}");
        }
        println!("assets:");
        for a in r["assets"].as_array().into_iter().flatten() {
            println!(
                "  {}  {} bytes  {}  (asset id {})",
                a["name"].as_str().unwrap_or_default(),
                a["size"],
                a["digest"].as_str().unwrap_or_default(),
                a["id"]
            );
        }
    }
    println!(
        "releases for {tag} on the double: {} (of {} in all)",
        releases.len(),
        double.releases().len()
    );
}
