//! The GitHub Release stage through the binary: a tag push publishes to a real pypiserver,
//! then creates (or updates) the release on the GitHub API double, whose payloads come from
//! GitHub's OpenAPI examples and are validated against its schemas here.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::checks::{assert_valid, json_schema, openapi};
use crate::github_double::*;
use crate::support::*;

const WHEEL: &str = "improved_sdd-1.2.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-1.2.0.tar.gz";
const TOKEN: &str = "ghs_RELEASETOKEN";

const CHANGELOG: &str = "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-11-24\n\n### Added\n\n- Releases cut by the action itself.\n\n## [1.1.0] - 2026-10-01\n\n- Older things.\n";

fn env_for(d: &GitHubDouble, server: &PyPIServer, ws: &Path, version: &str) -> ActionEnv {
    let mut env = ActionEnv::new("push", &format!("refs/tags/v{version}"), "master");
    env.set("GITHUB_API_URL", d.api_url())
        .set("GITHUB_WORKSPACE", ws.display().to_string())
        .set("INPUT_PYPI_URL", server.upload_url())
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("INPUT_GITHUB_TOKEN", TOKEN)
        .set("INPUT_RELEASE", "auto");
    env
}

fn workspace(version: &str, changelog: Option<&str>) -> tempfile::TempDir {
    let ws = workspace_with_dists(version);
    if let Some(c) = changelog {
        std::fs::write(ws.path().join("CHANGELOG.md"), c).unwrap();
    }
    ws
}

fn disk_bytes(ws: &Path) -> BTreeMap<String, Vec<u8>> {
    [WHEEL, SDIST]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(ws.join("dist").join(f)).unwrap(),
            )
        })
        .collect()
}

fn count(d: &GitHubDouble, method: &str, prefix: &str) -> usize {
    d.calls()
        .iter()
        .filter(|(m, p)| m == method && p.starts_with(prefix))
        .count()
}

#[test]
fn a_tag_push_creates_the_release_with_notes_and_assets() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let r = env_for(&d, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());

    let releases = d.releases();
    assert_eq!(releases.len(), 1, "{releases:#?}");
    let rel = &releases[0];
    assert_eq!(rel["tag_name"], "v1.2.0");
    assert_eq!(rel["name"], "v1.2.0");
    assert_eq!(rel["draft"], false);
    assert_eq!(rel["prerelease"], false);
    let body = rel["body"].as_str().unwrap();
    assert!(
        body.starts_with("### Added\n\n- Releases cut by the action itself."),
        "{body}"
    );
    assert!(!body.contains("Older things"), "{body}");
    assert!(body.contains("pip install improved-sdd==1.2.0"), "{body}");
    assert!(body.contains("uvx improved-sdd@1.2.0"), "{body}");
    assert!(
        body.contains(&format!("{}improved-sdd/", server.simple_url())),
        "the project link on the index: {body}"
    );
    for f in [WHEEL, SDIST] {
        let sha = sha256_file(&ws.path().join("dist").join(f));
        assert!(body.contains(&format!("| `{f}` |")), "{body}");
        assert!(body.contains(&format!("`{sha}`")), "{body}");
    }

    // The create request: a latest, non-draft release.
    let writes = d.release_writes();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].0, "POST");
    assert_eq!(writes[0].2["make_latest"], "true");

    // The assets are the exact bytes on disk, uploaded through `upload_url`.
    assert_eq!(d.asset_bytes("v1.2.0"), disk_bytes(ws.path()));
    assert_eq!(count(&d, "POST", "/uploads/"), 2);
    assert!(d
        .auth_headers()
        .iter()
        .all(|h| h == &format!("Bearer {TOKEN}")));

    assert_eq!(
        r.output("release-url").as_deref(),
        Some("https://github.com/octo-org/improved-sdd/releases/tag/v1.2.0")
    );
    assert!(r.stdout.contains("::group::GitHub Release"), "{}", r.stdout);
}

#[test]
fn a_rerun_updates_the_same_release_and_keeps_identical_assets() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let env = env_for(&d, &server, ws.path(), "1.2.0");
    let first = env.run(ws.path(), &["run"]);
    assert_eq!(first.code, 0, "{}", first.all_output());
    let after_first = d.calls().len();
    let second = env.run(ws.path(), &["run"]);
    assert_eq!(second.code, 0, "{}", second.all_output());

    // The whole conversation: 6 requests to create, 3 to confirm on a re-run.
    let calls: Vec<String> = d.calls().iter().map(|(m, p)| format!("{m} {p}")).collect();
    let repo = format!("/repos/{REPO}/releases");
    assert_eq!(
        calls[..after_first],
        [
            format!("GET {repo}/tags/v1.2.0"),
            format!("GET {repo}"),
            format!("POST {repo}"),
            format!("GET {repo}/1/assets"),
            format!("POST /uploads{repo}/1/assets"),
            format!("POST /uploads{repo}/1/assets"),
        ]
    );
    assert_eq!(
        calls[after_first..],
        [
            format!("GET {repo}/tags/v1.2.0"),
            format!("PATCH {repo}/1"),
            format!("GET {repo}/1/assets"),
        ]
    );

    assert_eq!(d.releases().len(), 1, "{:#?}", d.releases());
    let methods: Vec<String> = d.release_writes().into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(methods, ["POST", "PATCH"]);
    // Identical assets are kept: two uploads in all, none deleted, none duplicated.
    assert_eq!(count(&d, "POST", "/uploads/"), 2);
    assert_eq!(count(&d, "DELETE", "/"), 0);
    assert_eq!(d.releases()[0]["assets"].as_array().unwrap().len(), 2);
    assert_eq!(d.asset_bytes("v1.2.0"), disk_bytes(ws.path()));
    assert!(
        second
            .stdout
            .contains(&format!("asset {WHEEL}: already attached, identical; kept")),
        "{}",
        second.stdout
    );
    assert_eq!(first.output("release-url"), second.output("release-url"));
}

#[test]
fn a_different_asset_is_replaced_and_a_draft_is_found() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    // A draft made by hand, with a stale wheel: `releases/tags/v1.2.0` does not find drafts.
    let id = d.add_release("v1.2.0", true);
    d.add_asset(id, WHEEL, b"not the wheel we built");
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let r = env_for(&d, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());

    let releases = d.releases();
    assert_eq!(releases.len(), 1, "{releases:#?}");
    assert_eq!(releases[0]["id"], id);
    assert_eq!(releases[0]["draft"], false, "draft: false publishes it");
    assert_eq!(d.asset_bytes("v1.2.0"), disk_bytes(ws.path()));
    assert_eq!(count(&d, "DELETE", "/repos/"), 1);
    assert!(
        r.stdout.contains(&format!(
            "asset {WHEEL}: attached with other bytes; replaced"
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn a_release_candidate_is_a_prerelease_and_not_latest() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0rc1", Some("# Changes\n\n## v1.2.0rc1\n\nTry it.\n"));
    let r = env_for(&d, &server, ws.path(), "1.2.0rc1").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let rel = &d.releases()[0];
    assert_eq!(rel["prerelease"], true);
    assert_eq!(rel["name"], "v1.2.0rc1");
    assert!(rel["body"].as_str().unwrap().starts_with("Try it."));
    assert_eq!(d.release_writes()[0].2["make_latest"], "false");
}

#[test]
fn a_missing_changelog_section_warns_and_still_releases() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace(
        "1.2.0",
        Some("# Changelog\n\n## 1.1.0\n\n- Older things.\n"),
    );
    let r = env_for(&d, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout.contains("::warning::")
            && r.stdout.contains("CHANGELOG.md has no section for 1.2.0"),
        "{}",
        r.stdout
    );
    let body = d.releases()[0]["body"].as_str().unwrap().to_owned();
    assert!(!body.contains("Older things"), "{body}");
    assert!(body.contains("## Install"), "{body}");

    // No changelog at all is a warning too.
    let d = GitHubDouble::fixed(vec![], vec![]);
    let server = PyPIServer::start();
    let ws = workspace("1.2.0", None);
    let r = env_for(&d, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(
        r.stdout
            .contains("::warning::no release notes: cannot read"),
        "{}",
        r.stdout
    );
    assert_eq!(d.releases().len(), 1);
}

#[test]
fn a_dry_run_only_reads() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let mut env = env_for(&d, &server, ws.path(), "1.2.0");
    env.set("INPUT_DRY_RUN", "true");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let calls = d.calls();
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|(m, _)| m == "GET"), "{calls:#?}");
    assert!(d.releases().is_empty());
    assert!(
        r.stdout
            .contains("dry run: would create the release \"v1.2.0\" for v1.2.0, latest"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("dry run: asset {WHEEL}: would upload")),
        "{}",
        r.stdout
    );
}

#[test]
fn a_token_without_contents_write_is_a_clear_error() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    d.fault_release_writes([Fault {
        status: 403,
        headers: vec![],
        body: serde_json::json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release"
        }),
    }]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let r = env_for(&d, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let out = r.all_output();
    assert!(
        out.contains("Resource not accessible by integration")
            && out.contains("`permissions: contents: write`"),
        "{out}"
    );
    // Exactly one POST: a refused create is not repeated.
    assert_eq!(count(&d, "POST", "/repos/"), 1);
    assert!(d.releases().is_empty());
}

#[test]
fn a_failed_create_is_never_repeated_but_an_update_is_retried() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let env = env_for(&d, &server, ws.path(), "1.2.0");

    // A 502 to the create: GitHub may have made it, so the action looks again instead of
    // POSTing twice; it finds nothing and says what failed.
    d.fault_release_writes([Fault::bad_gateway()]);
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.all_output().contains("answered 502"),
        "{}",
        r.all_output()
    );
    assert_eq!(count(&d, "POST", "/repos/"), 1);
    assert!(d.releases().is_empty());

    // The re-run creates it; a 502 to a later update is retried (PATCH is idempotent).
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    d.fault_release_writes([Fault::bad_gateway()]);
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(count(&d, "PATCH", "/repos/"), 2);
    assert_eq!(d.releases().len(), 1);
    assert_eq!(count(&d, "POST", "/uploads/"), 2);
}

#[test]
fn a_draft_without_assets() {
    let server = PyPIServer::start();
    let d = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let mut env = env_for(&d, &server, ws.path(), "1.2.0");
    env.set("INPUT_DRAFT", "true")
        .set("INPUT_RELEASE_ASSETS", "false")
        .set("INPUT_RELEASE_NAME", "{name} {version}");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let rel = &d.releases()[0];
    assert_eq!(rel["draft"], true);
    assert_eq!(rel["name"], "improved-sdd 1.2.0");
    assert!(rel["assets"].as_array().unwrap().is_empty());
    assert_eq!(count(&d, "POST", "/uploads/"), 0);
    // A draft cannot be made latest; whoever publishes it decides.
    assert!(d.release_writes()[0].2.get("make_latest").is_none());
    // The re-run finds the draft (not served by `releases/tags/`) and updates it.
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(d.releases().len(), 1);
}

#[test]
fn release_false_makes_no_release() {
    let d = GitHubDouble::fixed(vec![], vec![]);
    let server = PyPIServer::start();
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let mut env = env_for(&d, &server, ws.path(), "1.2.0");
    env.set("INPUT_RELEASE", "false");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert!(d.calls().is_empty(), "{:#?}", d.calls());
    assert_eq!(r.output("release-url").as_deref(), Some(""));
}

fn validator(op: ReleaseOp) -> jsonschema::Validator {
    let (path, method, status) = op.openapi();
    let schema = &openapi()["paths"][path][method]["responses"][status]["content"]
        ["application/json"]["schema"];
    assert!(schema.is_object(), "no {status} schema for {op:?}");
    jsonschema::validator_for(&json_schema(schema)).unwrap()
}

#[test]
fn every_release_payload_the_double_serves_matches_githubs_openapi_schema() {
    // One world that creates, one that updates a draft and replaces an asset: every route.
    let server = PyPIServer::start();
    let fresh = GitHubDouble::fixed(vec![], vec![]);
    let ws = workspace("1.2.0", Some(CHANGELOG));
    let r = env_for(&fresh, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let r = env_for(&fresh, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let old = GitHubDouble::fixed(vec![], vec![]);
    let id = old.add_release("v1.2.0", false);
    old.add_asset(id, SDIST, b"stale");
    let r = env_for(&old, &server, ws.path(), "1.2.0").run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());

    let served: Vec<(ReleaseOp, Value)> = fresh
        .served_releases()
        .into_iter()
        .chain(old.served_releases())
        .collect();
    let mut ops: Vec<ReleaseOp> = served.iter().map(|(o, _)| *o).collect();
    ops.sort();
    ops.dedup();
    assert_eq!(
        ops,
        [
            ReleaseOp::GetByTag,
            ReleaseOp::List,
            ReleaseOp::Create,
            ReleaseOp::Update,
            ReleaseOp::ListAssets,
            ReleaseOp::Upload
        ]
    );
    assert_eq!(count(&old, "DELETE", "/repos/"), 1, "the 204 route ran too");
    for op in &ops {
        let v = validator(*op);
        for (_, body) in served.iter().filter(|(o, _)| o == op) {
            assert_valid(&v, op, body);
        }
    }

    // The stored fixtures are still the pinned description's examples.
    for op in ops {
        let (path, method, status) = op.openapi();
        let file = op.fixture().unwrap();
        let stored: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("tests/fixtures/github").join(file)).unwrap(),
        )
        .unwrap();
        let example = &openapi()["paths"][path][method]["responses"][status]["content"]
            ["application/json"]["examples"][op.example()]["value"];
        assert_eq!(&stored, example, "{file} drifted from @octokit/openapi");
    }

    // Not vacuous: a release whose `prerelease` is a string is refused.
    let mut bad = served
        .iter()
        .find(|(o, _)| *o == ReleaseOp::Create)
        .unwrap()
        .1
        .clone();
    bad["prerelease"] = serde_json::json!("no");
    assert!(!validator(ReleaseOp::Create).is_valid(&bad));
}
