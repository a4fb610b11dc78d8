//! A GitHub REST API double on a loopback port, for the checks gate and the GitHub Release
//! (releases and assets kept in memory across runs; uploads go to the `upload_url` it names,
//! under `/uploads/` on the same port).
//!
//! Every payload is built from the `default` examples of GitHub's OpenAPI description
//! (`tests/fixtures/github/`, derived by `scripts/github-fixtures.mjs` from `@octokit/openapi`),
//! changing only the fields a scenario is about; `checks.rs` validates everything it serves
//! against that description's schemas. It behaves like GitHub where the gate depends on it:
//! strong ETags and `304 Not Modified` for `If-None-Match`, `per_page`/`page` pagination
//! with `Link: rel="next"`, `x-ratelimit-*` headers spent only by 200s, and it counts
//! everything. Scenarios script it per poll (the n-th first-page request of a route) and can
//! queue raw faults (a 502, a secondary-rate-limit 403) in front of a route.
//!
//! `scripts/demo` runs this same file as a program (`tests/demo/github-double.rs`), with its
//! releases kept in a file between runs ([`GitHubDouble::persist_releases`]).

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::repo_root;

pub const REPO: &str = "octo-org/improved-sdd";
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
/// Our own run, its check suite, our job (runner) in the double's default world.
pub const RUN_ID: u64 = 1001;
pub const OWN_SUITE: u64 = 777;
pub const OWN_JOB: u64 = 9001;
pub const RUNNER: &str = "sdd-runner-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    CheckRuns,
    Status,
    Run,
    Jobs,
}

impl Route {
    /// The `@octokit/openapi` path of the operation, for schema validation.
    pub fn openapi_path(self) -> &'static str {
        match self {
            Route::CheckRuns => "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            Route::Status => "/repos/{owner}/{repo}/commits/{ref}/status",
            Route::Run => "/repos/{owner}/{repo}/actions/runs/{run_id}",
            Route::Jobs => "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        }
    }
}

/// A scripted raw answer (served instead of the world, once).
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Fault {
    pub fn bad_gateway() -> Fault {
        Fault {
            status: 502,
            headers: vec![],
            body: json!({"message": "Server Error"}),
        }
    }
    /// GitHub's secondary rate limit: 403 with `Retry-After` and the documented message.
    pub fn secondary_limit(retry_after: u64) -> Fault {
        Fault {
            status: 403,
            headers: vec![("retry-after".into(), retry_after.to_string())],
            body: json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
            }),
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub full: u64,
    pub not_modified: u64,
    pub errors: u64,
    /// First-page requests: one per poll.
    pub polls: u32,
}

type World = Box<dyn Fn(u32) -> Vec<Value> + Send>;

struct State {
    check_runs: World,
    statuses: World,
    jobs: Vec<Value>,
    suite: u64,
    faults: BTreeMap<Route, VecDeque<Fault>>,
    counts: BTreeMap<Route, Counts>,
    /// Every 200 body served, for schema validation.
    served: Vec<(Route, Value)>,
    /// When a check run with this name was first served completed with a conclusion.
    first_seen: BTreeMap<(String, String), Instant>,
    rate_remaining: u64,
    /// Tokens seen in Authorization headers (the gate must send them).
    auth: Vec<String>,
    paths: Vec<String>,
    /// Every request as `(method, path)`, release routes included.
    calls: Vec<(String, String)>,
    releases: Releases,
    /// Where the releases world is saved after every write (see `persist_releases`).
    persist: Option<PathBuf>,
}

pub struct GitHubDouble {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// A fixture from `tests/fixtures/github/`, read once.
pub fn fixture(name: &str) -> Value {
    static CACHE: std::sync::OnceLock<Mutex<BTreeMap<String, Value>>> = std::sync::OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(name.to_owned())
        .or_insert_with(|| {
            let p = repo_root().join("tests/fixtures/github").join(name);
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
        })
        .clone()
}

/// A check run: the spec's example with the given identity and state.
pub fn check_run(id: u64, name: &str, status: &str, conclusion: Option<&str>, suite: u64) -> Value {
    let mut r = fixture("checks-list-for-ref.json")["check_runs"][0].clone();
    r["id"] = json!(id);
    r["node_id"] = json!(format!("CR_{id}"));
    r["name"] = json!(name);
    r["head_sha"] = json!(SHA);
    r["status"] = json!(status);
    r["conclusion"] = json!(conclusion);
    if conclusion.is_none() {
        r["completed_at"] = Value::Null;
    }
    r["check_suite"] = json!({ "id": suite });
    r["url"] = json!(format!(
        "https://api.github.com/repos/{REPO}/check-runs/{id}"
    ));
    r["html_url"] = json!(format!("https://github.com/{REPO}/runs/{id}"));
    r
}

pub fn done(id: u64, name: &str, conclusion: &str) -> Value {
    check_run(id, name, "completed", Some(conclusion), 100 + id)
}

pub fn running(id: u64, name: &str) -> Value {
    check_run(id, name, "in_progress", None, 100 + id)
}

/// A commit status: the spec's example with the given context and state.
pub fn status(id: u64, context: &str, state: &str) -> Value {
    let mut s = fixture("repos-get-combined-status-for-ref.json")["statuses"][0].clone();
    s["id"] = json!(id);
    s["node_id"] = json!(format!("ST_{id}"));
    s["context"] = json!(context);
    s["state"] = json!(state);
    s["target_url"] = json!(format!("https://ci.example.com/{id}/output"));
    s
}

/// A job of our run (a job's id is its check run's id).
pub fn job(id: u64, name: &str, runner: &str, status: &str) -> Value {
    let mut j = fixture("actions-list-jobs-for-workflow-run.json")["jobs"][0].clone();
    j["id"] = json!(id);
    j["run_id"] = json!(RUN_ID);
    j["name"] = json!(name);
    j["runner_name"] = json!(runner);
    j["status"] = json!(status);
    // The spec's own example lacks `created_at`, which its schema requires (the schema test
    // caught it); GitHub sends it.
    j["created_at"] = j["started_at"].clone();
    if status != "completed" {
        j["conclusion"] = Value::Null;
        j["completed_at"] = Value::Null;
    }
    j["check_run_url"] = json!(format!(
        "https://api.github.com/repos/{REPO}/check-runs/{id}"
    ));
    j
}

impl GitHubDouble {
    /// A double whose world is the same at every poll.
    pub fn fixed(check_runs: Vec<Value>, statuses: Vec<Value>) -> GitHubDouble {
        GitHubDouble::scripted(move |_| check_runs.clone(), move |_| statuses.clone())
    }

    /// A double whose check runs and statuses depend on the poll number (1-based).
    pub fn scripted(
        check_runs: impl Fn(u32) -> Vec<Value> + Send + 'static,
        statuses: impl Fn(u32) -> Vec<Value> + Send + 'static,
    ) -> GitHubDouble {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            check_runs: Box::new(check_runs),
            statuses: Box::new(statuses),
            jobs: vec![job(OWN_JOB, "Publish", RUNNER, "in_progress")],
            suite: OWN_SUITE,
            faults: BTreeMap::new(),
            counts: BTreeMap::new(),
            served: Vec::new(),
            first_seen: BTreeMap::new(),
            rate_remaining: 5000,
            auth: Vec::new(),
            paths: Vec::new(),
            calls: Vec::new(),
            releases: Releases::default(),
            persist: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, port, &st));
            }
        });
        GitHubDouble { port, state, stop }
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queue raw answers in front of a route's normal ones.
    pub fn fault(&self, route: Route, faults: impl IntoIterator<Item = Fault>) {
        let mut s = self.state.lock().unwrap();
        s.faults.entry(route).or_default().extend(faults);
    }

    pub fn set_jobs(&self, jobs: Vec<Value>) {
        self.state.lock().unwrap().jobs = jobs;
    }

    pub fn counts(&self, route: Route) -> Counts {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(&route)
            .copied()
            .unwrap_or_default()
    }

    pub fn total(&self) -> Counts {
        let s = self.state.lock().unwrap();
        s.counts.values().fold(Counts::default(), |a, c| Counts {
            requests: a.requests + c.requests,
            full: a.full + c.full,
            not_modified: a.not_modified + c.not_modified,
            errors: a.errors + c.errors,
            polls: a.polls + c.polls,
        })
    }

    pub fn served(&self) -> Vec<(Route, Value)> {
        self.state.lock().unwrap().served.clone()
    }

    /// When the double first served check `name` with `conclusion`.
    pub fn first_served(&self, name: &str, conclusion: &str) -> Option<Instant> {
        self.state
            .lock()
            .unwrap()
            .first_seen
            .get(&(name.to_owned(), conclusion.to_owned()))
            .copied()
    }

    /// Every path requested, in order.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().paths.clone()
    }

    pub fn auth_headers(&self) -> Vec<String> {
        self.state.lock().unwrap().auth.clone()
    }

    /// Every request as `(method, path)`, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The releases the double holds (as served, assets included), oldest first.
    pub fn releases(&self) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        s.releases
            .releases
            .iter()
            .map(|r| s.releases.with_assets(r, self.port))
            .collect()
    }

    /// The assets of the release for `tag`: name and the exact bytes uploaded.
    pub fn asset_bytes(&self, tag: &str) -> BTreeMap<String, Vec<u8>> {
        let s = self.state.lock().unwrap();
        let Some(id) = s
            .releases
            .by_tag(tag, true)
            .map(|r| r["id"].as_u64().unwrap())
        else {
            return BTreeMap::new();
        };
        s.releases
            .assets
            .iter()
            .filter(|a| a.release == id)
            .map(|a| (a.json["name"].as_str().unwrap().to_owned(), a.bytes.clone()))
            .collect()
    }

    /// JSON bodies of release writes (`POST`/`PATCH` to releases), as `(method, path, body)`.
    pub fn release_writes(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().releases.writes.clone()
    }

    /// Every release-route body served, with its operation.
    pub fn served_releases(&self) -> Vec<(ReleaseOp, Value)> {
        self.state.lock().unwrap().releases.served.clone()
    }

    /// Queue raw answers in front of the next release writes (POST/PATCH/DELETE, uploads).
    pub fn fault_release_writes(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state
            .lock()
            .unwrap()
            .releases
            .write_faults
            .extend(faults);
    }

    /// Put a release in the world before the run (e.g. a draft made by hand).
    pub fn add_release(&self, tag: &str, draft: bool) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.releases.create(
            &json!({"tag_name": tag, "name": tag, "body": "", "draft": draft, "prerelease": false}),
            self.port,
        )
    }

    /// Attach an asset directly (e.g. one with other bytes than the run will bring).
    pub fn add_asset(&self, release: u64, name: &str, bytes: &[u8]) {
        let mut s = self.state.lock().unwrap();
        s.releases.attach(release, name, bytes);
    }

    /// Keep the releases world (releases, assets and their bytes) in `path`, so a double in
    /// a later process starts where this one ended: load it now when the file exists, then
    /// save it after every release write answered with success.
    pub fn persist_releases(&self, path: &Path) -> Result<(), String> {
        let mut s = self.state.lock().unwrap();
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let saved: SavedReleases = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{} is not a saved GitHub double state ({e}); delete it to start over",
                    path.display()
                )
            })?;
            s.releases.restore(saved, self.port);
        }
        s.persist = Some(path.to_owned());
        Ok(())
    }
}

/// The release operations, with their OpenAPI path, method and success status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReleaseOp {
    GetByTag,
    List,
    Create,
    Update,
    ListAssets,
    DeleteAsset,
    Upload,
}

impl ReleaseOp {
    pub fn openapi(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ReleaseOp::GetByTag => ("/repos/{owner}/{repo}/releases/tags/{tag}", "get", "200"),
            ReleaseOp::List => ("/repos/{owner}/{repo}/releases", "get", "200"),
            ReleaseOp::Create => ("/repos/{owner}/{repo}/releases", "post", "201"),
            ReleaseOp::Update => (
                "/repos/{owner}/{repo}/releases/{release_id}",
                "patch",
                "200",
            ),
            ReleaseOp::ListAssets => (
                "/repos/{owner}/{repo}/releases/{release_id}/assets",
                "get",
                "200",
            ),
            ReleaseOp::DeleteAsset => (
                "/repos/{owner}/{repo}/releases/assets/{asset_id}",
                "delete",
                "204",
            ),
            ReleaseOp::Upload => (
                "/repos/{owner}/{repo}/releases/{release_id}/assets",
                "post",
                "201",
            ),
        }
    }

    /// The stored fixture the payloads start from (`None` for a 204).
    pub fn fixture(self) -> Option<&'static str> {
        Some(match self {
            ReleaseOp::GetByTag => "repos-get-release-by-tag.json",
            ReleaseOp::List => "repos-list-releases.json",
            ReleaseOp::Create => "repos-create-release.json",
            ReleaseOp::Update => "repos-update-release.json",
            ReleaseOp::ListAssets => "repos-list-release-assets.json",
            ReleaseOp::Upload => "repos-upload-release-asset.json",
            ReleaseOp::DeleteAsset => return None,
        })
    }

    pub fn example(self) -> &'static str {
        match self {
            ReleaseOp::Upload => "response-for-successful-upload",
            _ => "default",
        }
    }
}

struct StoredAsset {
    release: u64,
    json: Value,
    bytes: Vec<u8>,
}

/// The releases world: releases and their assets, kept across requests so a re-run sees what
/// the first run made.
#[derive(Default)]
struct Releases {
    releases: Vec<Value>,
    assets: Vec<StoredAsset>,
    next_id: u64,
    writes: Vec<(String, String, Value)>,
    served: Vec<(ReleaseOp, Value)>,
    write_faults: VecDeque<Fault>,
}

/// A release's `upload_url` on this double (GitHub's is on uploads.github.com).
fn upload_url(port: u16, id: u64) -> String {
    format!("http://127.0.0.1:{port}/uploads/repos/{REPO}/releases/{id}/assets{{?name,label}}")
}

/// The releases world on disk (see [`GitHubDouble::persist_releases`]).
#[derive(Serialize, Deserialize)]
struct SavedReleases {
    next_id: u64,
    releases: Vec<Value>,
    assets: Vec<SavedAsset>,
}

#[derive(Serialize, Deserialize)]
struct SavedAsset {
    release: u64,
    json: Value,
    bytes_base64: String,
}

impl Releases {
    fn saved(&self) -> SavedReleases {
        SavedReleases {
            next_id: self.next_id,
            releases: self.releases.clone(),
            assets: self
                .assets
                .iter()
                .map(|a| SavedAsset {
                    release: a.release,
                    json: a.json.clone(),
                    bytes_base64: base64::engine::general_purpose::STANDARD.encode(&a.bytes),
                })
                .collect(),
        }
    }

    /// Take over a saved world; `upload_url`s name this double's port, not the saver's.
    fn restore(&mut self, saved: SavedReleases, port: u16) {
        self.next_id = saved.next_id;
        self.releases = saved.releases;
        for r in &mut self.releases {
            let id = r["id"].as_u64().unwrap_or(0);
            r["upload_url"] = json!(upload_url(port, id));
        }
        self.assets = saved
            .assets
            .into_iter()
            .map(|a| StoredAsset {
                release: a.release,
                json: a.json,
                bytes: base64::engine::general_purpose::STANDARD
                    .decode(a.bytes_base64)
                    .unwrap_or_default(),
            })
            .collect();
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn by_tag(&self, tag: &str, drafts: bool) -> Option<&Value> {
        self.releases
            .iter()
            .find(|r| r["tag_name"] == tag && (drafts || r["draft"] == false))
    }

    /// A release from the spec's example, with our identity and the request's fields. Its
    /// `upload_url` names this double under `/uploads/` (GitHub: uploads.github.com), so the
    /// client must take the host and path from it.
    fn create(&mut self, req: &Value, port: u16) -> u64 {
        let id = self.id();
        let mut r = fixture("repos-create-release.json");
        let tag = req["tag_name"].as_str().unwrap_or_default().to_owned();
        r["id"] = json!(id);
        r["node_id"] = json!(format!("RE_{id}"));
        r["url"] = json!(format!("https://api.github.com/repos/{REPO}/releases/{id}"));
        r["assets_url"] = json!(format!(
            "https://api.github.com/repos/{REPO}/releases/{id}/assets"
        ));
        r["upload_url"] = json!(upload_url(port, id));
        r["tarball_url"] = json!(format!("https://api.github.com/repos/{REPO}/tarball/{tag}"));
        r["zipball_url"] = json!(format!("https://api.github.com/repos/{REPO}/zipball/{tag}"));
        r["tag_name"] = json!(tag);
        r["target_commitish"] = json!("main");
        r["name"] = Value::Null;
        r["body"] = Value::Null;
        r["draft"] = json!(false);
        r["prerelease"] = json!(false);
        r["assets"] = json!([]);
        self.releases.push(r);
        self.update(id, req);
        id
    }

    fn update(&mut self, id: u64, req: &Value) {
        let Some(r) = self.releases.iter_mut().find(|r| r["id"] == id) else {
            return;
        };
        for k in ["tag_name", "name", "body", "draft", "prerelease"] {
            if let Some(v) = req.get(k) {
                r[k] = v.clone();
            }
        }
        let tag = r["tag_name"].as_str().unwrap_or_default().to_owned();
        // GitHub: a draft's page is under an `untagged-` name until it is published.
        r["html_url"] = if r["draft"] == true {
            json!(format!(
                "https://github.com/{REPO}/releases/tag/untagged-{id}"
            ))
        } else {
            json!(format!("https://github.com/{REPO}/releases/tag/{tag}"))
        };
        if r["draft"] == true {
            r["published_at"] = Value::Null;
        } else if r["published_at"].is_null() {
            r["published_at"] = json!("2026-11-24T21:00:00Z");
        }
    }

    fn attach(&mut self, release: u64, name: &str, bytes: &[u8]) -> Value {
        let id = 10_000 + self.id();
        let mut a = fixture("repos-upload-release-asset.json");
        let tag = self
            .releases
            .iter()
            .find(|r| r["id"] == release)
            .map(|r| r["tag_name"].clone())
            .unwrap_or_default();
        a["id"] = json!(id);
        a["node_id"] = json!(format!("RA_{id}"));
        a["url"] = json!(format!(
            "https://api.github.com/repos/{REPO}/releases/assets/{id}"
        ));
        a["browser_download_url"] = json!(format!(
            "https://github.com/{REPO}/releases/download/{}/{name}",
            tag.as_str().unwrap_or_default()
        ));
        a["name"] = json!(name);
        a["label"] = json!("");
        a["content_type"] = json!("application/octet-stream");
        a["size"] = json!(bytes.len());
        a["digest"] = json!(format!("sha256:{}", hex::encode(Sha256::digest(bytes))));
        a["download_count"] = json!(0);
        self.assets.push(StoredAsset {
            release,
            json: a.clone(),
            bytes: bytes.to_vec(),
        });
        a
    }

    fn assets_of(&self, release: u64) -> Vec<Value> {
        self.assets
            .iter()
            .filter(|a| a.release == release)
            .map(|a| a.json.clone())
            .collect()
    }

    fn with_assets(&self, r: &Value, _port: u16) -> Value {
        let mut r = r.clone();
        r["assets"] = Value::Array(self.assets_of(r["id"].as_u64().unwrap_or(0)));
        r
    }
}

fn not_found() -> Answer {
    (
        404,
        vec![],
        Some(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})),
    )
}

/// The release routes (`None` for any other path). Bodies are recorded for the schema test.
fn release_answer(
    state: &Mutex<State>,
    port: u16,
    method: &str,
    path: &str,
    q: &BTreeMap<&str, &str>,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Option<Answer> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let op = match (method, parts.as_slice()) {
        ("GET", ["repos", _, _, "releases", "tags", _]) => ReleaseOp::GetByTag,
        ("GET", ["repos", _, _, "releases"]) => ReleaseOp::List,
        ("POST", ["repos", _, _, "releases"]) => ReleaseOp::Create,
        ("PATCH", ["repos", _, _, "releases", id]) if id.parse::<u64>().is_ok() => {
            ReleaseOp::Update
        }
        ("GET", ["repos", _, _, "releases", id, "assets"]) if id.parse::<u64>().is_ok() => {
            ReleaseOp::ListAssets
        }
        ("DELETE", ["repos", _, _, "releases", "assets", _]) => ReleaseOp::DeleteAsset,
        ("POST", ["uploads", "repos", _, _, "releases", _, "assets"]) => ReleaseOp::Upload,
        _ => return None,
    };
    let mut s = state.lock().unwrap();
    if let Some(a) = headers.get("authorization") {
        s.auth.push(a.clone());
    }
    let rel = &mut s.releases;
    if method != "GET" {
        if let Some(f) = rel.write_faults.pop_front() {
            return Some((f.status, f.headers, Some(f.body)));
        }
    }
    let json_body = || serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let (status, out) = match op {
        ReleaseOp::GetByTag => {
            let tag = percent_decode(parts[5]);
            match rel.by_tag(&tag, false).cloned() {
                Some(r) => (200, rel.with_assets(&r, port)),
                None => return Some(not_found()),
            }
        }
        ReleaseOp::List => {
            let mut all: Vec<Value> = rel
                .releases
                .iter()
                .rev()
                .map(|r| rel.with_assets(r, port))
                .collect();
            let (page, _, _) = paginate(&all, q);
            all = page;
            (200, Value::Array(all))
        }
        ReleaseOp::Create => {
            let req = json_body();
            rel.writes
                .push((method.to_owned(), path.to_owned(), req.clone()));
            let tag = req["tag_name"].as_str().unwrap_or_default();
            if tag.is_empty() {
                return Some((422, vec![], Some(json!({"message": "Validation Failed"}))));
            }
            if rel.by_tag(tag, true).is_some() {
                return Some((
                    422,
                    vec![],
                    Some(json!({
                        "message": "Validation Failed",
                        "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]
                    })),
                ));
            }
            let id = rel.create(&req, port);
            let r = rel.releases.iter().find(|r| r["id"] == id).unwrap().clone();
            (201, rel.with_assets(&r, port))
        }
        ReleaseOp::Update => {
            let req = json_body();
            rel.writes
                .push((method.to_owned(), path.to_owned(), req.clone()));
            let id: u64 = parts[4].parse().unwrap();
            if !rel.releases.iter().any(|r| r["id"] == id) {
                return Some(not_found());
            }
            rel.update(id, &req);
            let r = rel.releases.iter().find(|r| r["id"] == id).unwrap().clone();
            (200, rel.with_assets(&r, port))
        }
        ReleaseOp::ListAssets => {
            let id: u64 = parts[4].parse().unwrap();
            let (page, _, _) = paginate(&rel.assets_of(id), q);
            (200, Value::Array(page))
        }
        ReleaseOp::DeleteAsset => {
            let id: u64 = parts[5].parse().unwrap_or(0);
            let before = rel.assets.len();
            rel.assets.retain(|a| a.json["id"] != id);
            if rel.assets.len() == before {
                return Some(not_found());
            }
            return Some((204, vec![], None));
        }
        ReleaseOp::Upload => {
            let id: u64 = parts[5].parse().unwrap_or(0);
            let name = q.get("name").map(|n| percent_decode(n)).unwrap_or_default();
            if headers.get("content-type").map(String::as_str) != Some("application/octet-stream")
                || name.is_empty()
            {
                return Some((
                    422,
                    vec![],
                    Some(json!({"message": "Bad Content-Type or name"})),
                ));
            }
            if rel
                .assets
                .iter()
                .any(|a| a.release == id && a.json["name"] == name.as_str())
            {
                return Some((
                    422,
                    vec![],
                    Some(json!({
                        "message": "Validation Failed",
                        "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]
                    })),
                ));
            }
            (201, rel.attach(id, &name, body))
        }
    };
    rel.served.push((op, out.clone()));
    Some((status, vec![], Some(out)))
}

/// `%XX` and `+` in a path segment or query value.
fn percent_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or(""), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Drop for GitHubDouble {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The route of a path, for any owner/repo and commit (act picks its own; the double records
/// what it was asked for).
fn route_of(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["repos", _, _, "commits", _, "check-runs"] => Some(Route::CheckRuns),
        ["repos", _, _, "commits", _, "status"] => Some(Route::Status),
        ["repos", _, _, "actions", "runs", id] if id.parse::<u64>().is_ok() => Some(Route::Run),
        ["repos", _, _, "actions", "runs", _, "jobs"] => Some(Route::Jobs),
        _ => None,
    }
}

fn serve(conn: TcpStream, port: u16, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let method = line.split_whitespace().next().unwrap_or("GET").to_owned();
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let q: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut request_body = vec![0u8; len];
    if std::io::Read::read_exact(&mut reader, &mut request_body).is_err() {
        return;
    }
    state
        .lock()
        .unwrap()
        .calls
        .push((method.clone(), path.to_owned()));
    let (status, extra, body) =
        match release_answer(state, port, &method, path, &q, &headers, &request_body) {
            Some(a) => {
                if method != "GET" && (200..300).contains(&a.0) {
                    save_releases(state);
                }
                a
            }
            None => answer(state, port, path, &q, &headers),
        };
    let mut out = conn;
    let body_text = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body_text.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body_text.as_bytes());
    let _ = out.flush();
}

/// Write the releases world where `persist_releases` said, before the answer goes out (so
/// a client that saw the answer finds it saved). Atomic: a temp file renamed over the old.
fn save_releases(state: &Mutex<State>) {
    let s = state.lock().unwrap();
    let Some(path) = s.persist.clone() else {
        return;
    };
    let text = serde_json::to_string_pretty(&s.releases.saved()).unwrap();
    let tmp = path.with_extension("tmp");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path)) {
        eprintln!(
            "github double: cannot save its state to {}: {e}",
            path.display()
        );
    }
}

fn paginate(items: &[Value], q: &BTreeMap<&str, &str>) -> (Vec<Value>, Option<u32>, u32) {
    let per_page: usize = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let last = (items.len().max(1)).div_ceil(per_page) as u32;
    let start = (page as usize - 1) * per_page;
    let slice = items.iter().skip(start).take(per_page).cloned().collect();
    (slice, (page < last).then_some(page + 1), last)
}

type Answer = (u16, Vec<(String, String)>, Option<Value>);

fn answer(
    state: &Mutex<State>,
    port: u16,
    path: &str,
    q: &BTreeMap<&str, &str>,
    headers: &BTreeMap<String, String>,
) -> Answer {
    let mut s = state.lock().unwrap();
    s.paths.push(path.to_owned());
    if let Some(a) = headers.get("authorization") {
        s.auth.push(a.clone());
    }
    let Some(route) = route_of(path) else {
        return (404, vec![], Some(json!({"message": "Not Found"})));
    };
    let first_page = q.get("page").is_none_or(|p| *p == "1");
    {
        let c = s.counts.entry(route).or_default();
        c.requests += 1;
        if first_page {
            c.polls += 1;
        }
    }
    if let Some(f) = s.faults.get_mut(&route).and_then(VecDeque::pop_front) {
        s.counts.entry(route).or_default().errors += 1;
        return (f.status, f.headers, Some(f.body));
    }
    let poll = s.counts[&route].polls;
    let (body, next) = match route {
        Route::CheckRuns => {
            let all = (s.check_runs)(poll);
            let (page, next, _) = paginate(&all, q);
            let mut b = fixture("checks-list-for-ref.json");
            b["total_count"] = json!(all.len());
            b["check_runs"] = Value::Array(page);
            (b, next)
        }
        Route::Status => {
            let all = (s.statuses)(poll);
            let (page, next, _) = paginate(&all, q);
            let state = if all
                .iter()
                .any(|x| x["state"] == "failure" || x["state"] == "error")
            {
                "failure"
            } else if all.is_empty() || all.iter().any(|x| x["state"] == "pending") {
                "pending"
            } else {
                "success"
            };
            let mut b = fixture("repos-get-combined-status-for-ref.json");
            b["sha"] = json!(SHA);
            b["state"] = json!(state);
            b["total_count"] = json!(all.len());
            b["statuses"] = Value::Array(page);
            (b, next)
        }
        Route::Run => {
            let mut b = fixture("actions-get-workflow-run.json");
            b["id"] = json!(RUN_ID);
            b["head_sha"] = json!(SHA);
            b["status"] = json!("in_progress");
            b["conclusion"] = Value::Null;
            b["check_suite_id"] = json!(s.suite);
            b["check_suite_url"] = json!(format!(
                "https://api.github.com/repos/{REPO}/check-suites/{}",
                s.suite
            ));
            (b, None)
        }
        Route::Jobs => {
            let all = s.jobs.clone();
            let (page, next, _) = paginate(&all, q);
            let mut b = fixture("actions-list-jobs-for-workflow-run.json");
            b["total_count"] = json!(all.len());
            b["jobs"] = Value::Array(page);
            (b, next)
        }
    };
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.to_string().as_bytes()))[..32]
    );
    let mut extra = vec![("ETag".to_string(), etag.clone())];
    if let Some(n) = next {
        let mut qq: Vec<String> = q
            .iter()
            .filter(|(k, _)| **k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        qq.push(format!("page={n}"));
        extra.push((
            "Link".into(),
            format!(
                "<http://127.0.0.1:{port}{path}?{}>; rel=\"next\"",
                qq.join("&")
            ),
        ));
    }
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    if headers.get("if-none-match") == Some(&etag) {
        // Free: a 304 does not spend the primary rate limit.
        s.counts.entry(route).or_default().not_modified += 1;
        extra.push(("x-ratelimit-remaining".into(), s.rate_remaining.to_string()));
        extra.push(("x-ratelimit-reset".into(), reset.to_string()));
        return (304, extra, None);
    }
    s.rate_remaining = s.rate_remaining.saturating_sub(1);
    s.counts.entry(route).or_default().full += 1;
    extra.push(("x-ratelimit-limit".into(), "5000".into()));
    extra.push(("x-ratelimit-remaining".into(), s.rate_remaining.to_string()));
    extra.push(("x-ratelimit-reset".into(), reset.to_string()));
    extra.push(("x-ratelimit-resource".into(), "core".into()));
    if route == Route::CheckRuns {
        let now = Instant::now();
        for r in body["check_runs"].as_array().into_iter().flatten() {
            if let (Some(n), Some(c)) = (r["name"].as_str(), r["conclusion"].as_str()) {
                s.first_seen
                    .entry((n.to_owned(), c.to_owned()))
                    .or_insert(now);
            }
        }
    }
    s.served.push((route, body.clone()));
    (200, extra, Some(body))
}
