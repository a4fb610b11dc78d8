//! Hostile servers: a package index, GitHub's API and "another host" on loopback, each
//! misbehaving as one case of a table says, against the real binary (`sdd-publish run`).
//!
//! Every case is one test, and every test checks the same things besides its own: the exit
//! code; the wall time against a bound (the behaviour under test is a deadline; the bounds
//! leave room for a loaded 2-core machine); no form of any credential (raw, cut short,
//! percent-, JSON-, HTML- or base64-encoded, `Basic user:secret`; see
//! `support::credential_forms`) in stdout, stderr, annotations, `$GITHUB_OUTPUT` or the
//! step summary, nor in the request log of any host it does not belong to; no line of the
//! log the runner would obey as a command unless it is one of ours; a step summary that
//! renders without raw HTML, images or links to where no one pointed; and outputs that parse
//! into exactly the outputs the action declares.
//!
//! The classes (docs/security.md has the threat table): credentials printed (`r_*`),
//! credentials sent away (`h_*`), injected workflow commands (`c_*`), deadlines (`d_*`),
//! unbounded downloads and the largest inputs (`m_*`: accepted or refused as they should be;
//! their peak memory is measured by `bench/memory.py`, not asserted here).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::github_double::{self as gh, REPO, RUN_ID};
use crate::support::*;

const VERSION: &str = "0.1.0";
const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";
const PAGE: &str = "/simple/improved-sdd/";

// ---------------------------------------------------------------------------------------
// A loopback server whose every answer the case chooses
// ---------------------------------------------------------------------------------------

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub head: String,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    fn text(&self) -> String {
        format!("{}{}", self.head, String::from_utf8_lossy(&self.body))
    }
}

/// What a server does with one request (one request per connection, then it closes).
pub enum Act {
    Reply(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// The head at once, then the body a piece at a time, forever (until the client goes).
    Drip(u16, Vec<(&'static str, String)>, Duration),
    /// The status line and headers one byte at a time, forever (slowloris).
    SlowHead(Duration),
    /// This head, then zeros as fast as the client takes them, forever.
    Endless(u16, Vec<(&'static str, String)>),
}

fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Act {
    Act::Reply(
        status,
        vec![("Content-Type", content_type.into())],
        body.into(),
    )
}

fn json_reply(status: u16, v: &Value) -> Act {
    reply(status, "application/json", v.to_string())
}

type Handler = dyn Fn(&Req) -> Act + Send + Sync;

pub struct Server {
    pub port: u16,
    log: Arc<Mutex<Vec<Req>>>,
}

impl Server {
    /// A server on a port bound now; `handler` is read when the first request comes (so
    /// handlers can name each other's ports).
    fn bind() -> (Server, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        (
            Server {
                port,
                log: Arc::default(),
            },
            listener,
        )
    }

    fn serve(&self, listener: TcpListener, handler: Arc<Handler>) {
        let log = self.log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (log, handler) = (log.clone(), handler.clone());
                std::thread::spawn(move || answer(conn, &log, &*handler));
            }
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    /// Every request as it crossed the wire (heads and bodies).
    pub fn log_text(&self) -> String {
        self.requests().iter().map(Req::text).collect()
    }
}

fn read_req(conn: &mut TcpStream) -> Option<Req> {
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut body = buf[end..].to_vec();
    let mut req = Req {
        method: head.split_whitespace().next().unwrap_or("").into(),
        path: head.split_whitespace().nth(1).unwrap_or("").into(),
        head,
        body: Vec::new(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    req.body = body;
    Some(req)
}

fn head(status: u16, headers: &[(&'static str, String)], len: Option<u64>) -> String {
    let mut h = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = len {
        h.push_str(&format!("Content-Length: {n}\r\n"));
    }
    h.push_str("\r\n");
    h
}

fn answer(mut conn: TcpStream, log: &Mutex<Vec<Req>>, handler: &Handler) {
    let Some(req) = read_req(&mut conn) else {
        return;
    };
    log.lock().unwrap().push(req.clone());
    let until = Instant::now() + Duration::from_secs(600);
    match handler(&req) {
        Act::Reply(status, headers, body) => {
            let has_len = headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
            let len = (!has_len).then_some(body.len() as u64);
            let _ = conn.write_all(head(status, &headers, len).as_bytes());
            let _ = conn.write_all(&body);
        }
        Act::Drip(status, headers, every) => {
            if conn
                .write_all(head(status, &headers, None).as_bytes())
                .is_ok()
            {
                while Instant::now() < until && conn.write_all(b" ").is_ok() {
                    std::thread::sleep(every);
                }
            }
        }
        Act::SlowHead(every) => {
            let line = b"HTTP/1.1 200 OK\r\nX-Slow: ";
            for b in line {
                if conn.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
            while Instant::now() < until && conn.write_all(b"a").is_ok() {
                std::thread::sleep(every);
            }
        }
        Act::Endless(status, headers) => {
            if conn
                .write_all(head(status, &headers, None).as_bytes())
                .is_ok()
            {
                let zeros = vec![b'0'; 64 * 1024];
                while Instant::now() < until && conn.write_all(&zeros).is_ok() {}
            }
        }
    }
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------------------
// The world of one case: an index, GitHub's API, another host
// ---------------------------------------------------------------------------------------

/// What every server of a case can see.
pub struct World {
    pub index: String,
    pub api: String,
    pub evil: String,
    pub evil_port: u16,
    pub api_port: u16,
    /// Our files and their sha256, as the index should list them after the upload.
    pub files: Vec<(String, String)>,
    pub uploads: AtomicUsize,
    pub token: String,
    pub gh_token: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, and the ID token (a JWT) GitHub's side hands out.
    pub request_token: String,
    pub id_token: String,
    /// Served as a big page when a case asks (built once).
    pub big: OnceLock<Vec<u8>>,
}

impl World {
    fn uploaded(&self) -> bool {
        self.uploads.load(Ordering::SeqCst) > 0
    }

    /// The project page listing our files (PEP 503 HTML, `#sha256=` fragments).
    fn listing(&self) -> Act {
        let links: String = self
            .files
            .iter()
            .map(|(f, sha)| format!("<a href=\"/packages/{f}#sha256={sha}\">{f}</a><br>\n"))
            .collect();
        reply(
            200,
            "text/html",
            format!("<html><body>{links}</body></html>"),
        )
    }
}

type Behaviour = fn(&Req, &World) -> Option<Act>;

fn none(_: &Req, _: &World) -> Option<Act> {
    None
}

/// An index that behaves: uploads accepted, the project page empty until then and listing
/// our files after, no JSON API.
fn good_index(req: &Req, w: &World) -> Act {
    if req.path == "/_/oidc/audience" {
        return json_reply(200, &json!({"audience": "pypi"}));
    }
    if req.path == "/_/oidc/mint-token" {
        return json_reply(
            200,
            &json!({"success": true, "token": w.token, "expires": 4_000_000_000u64}),
        );
    }
    if req.method == "POST" {
        w.uploads.fetch_add(1, Ordering::SeqCst);
        return reply(200, "text/plain", "OK");
    }
    if req.path == PAGE && w.uploaded() {
        return w.listing();
    }
    reply(404, "text/plain", "Not Found")
}

/// An ID token as GitHub's looks: three base64url parts, the claims a publisher matches on.
fn jwt() -> String {
    let part = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&json!({"alg": "RS256", "typ": "JWT", "kid": random_hex(8)})),
        part(
            &json!({"sub": format!("repo:{REPO}:ref:refs/tags/v0.1.0"), "repository": REPO, "aud": "pypi", "jti": random_hex(16)})
        ),
        random_hex(64)
    )
}

/// GitHub's API as the gate and the release need it, payloads from the OpenAPI examples;
/// and the runner's ID-token endpoint (trusted publishing).
fn good_github(req: &Req, w: &World) -> Act {
    let p = req.path.as_str();
    if p.starts_with("/_apis/idtoken") {
        let auth = req.header("authorization").unwrap_or_default();
        if !auth.eq_ignore_ascii_case(&format!("bearer {}", w.request_token)) {
            return json_reply(401, &json!({"message": "bad bearer"}));
        }
        return json_reply(200, &json!({ "value": w.id_token }));
    }
    if p.starts_with(&format!("/repos/{REPO}/actions/runs/{RUN_ID}")) {
        let mut run = gh::fixture("actions-get-workflow-run.json");
        run["id"] = json!(RUN_ID);
        run["check_suite_id"] = json!(gh::OWN_SUITE);
        return json_reply(200, &run);
    }
    if p.contains("/check-runs") {
        return json_reply(
            200,
            &json!({"total_count": 1, "check_runs": [gh::done(1, "Test Suite", "success")]}),
        );
    }
    if p.contains("/status") {
        return json_reply(
            200,
            &json!({"state": "success", "statuses": [], "sha": gh::SHA, "total_count": 0}),
        );
    }
    if p.contains("/releases/tags/") {
        return json_reply(404, &json!({"message": "Not Found"}));
    }
    if p.starts_with(&format!("/repos/{REPO}/releases")) && req.method == "GET" {
        return json_reply(200, &json!([]));
    }
    if p == format!("/repos/{REPO}/releases") && req.method == "POST" {
        let mut r = gh::fixture("repos-create-release.json");
        r["id"] = json!(1);
        r["tag_name"] = json!("v0.1.0");
        r["draft"] = json!(false);
        r["html_url"] = json!(format!("https://github.com/{REPO}/releases/tag/v0.1.0"));
        r["upload_url"] = json!(format!(
            "{}/uploads/repos/{REPO}/releases/1/assets{{?name,label}}",
            w.api
        ));
        r["assets"] = json!([]);
        return json_reply(201, &r);
    }
    json_reply(404, &json!({"message": "Not Found"}))
}

/// A case: what misbehaves, the inputs, and what must come of it.
pub struct Case {
    /// The index's misbehaviour (`None` from it: behave).
    index: Behaviour,
    /// GitHub's misbehaviour (`None` from it: behave).
    github: Behaviour,
    /// The other host: whatever it answers, nothing of ours may reach it.
    evil: Behaviour,
    /// Extra inputs and variables (`GITHUB_WORKSPACE` and the like are set for every case).
    inputs: &'static [(&'static str, &'static str)],
    dists: Dists,
    code: i32,
    /// Wall-time bound in seconds: the deadline a `d_*` case proves holds; for the others a
    /// guard against a hang, far above what they take.
    within: u64,
    /// What stdout, stderr or the summary must say.
    says: &'static [&'static str],
    /// Anything else this case checks.
    check: fn(&Outcome),
}

fn nothing_more(_: &Outcome) {}

const CASE: Case = Case {
    index: none,
    github: none,
    evil: none,
    inputs: &[],
    dists: Dists::Fixture,
    code: 0,
    within: 60,
    says: &[],
    check: nothing_more,
};

#[derive(Clone, Copy)]
pub enum Dists {
    Fixture,
    /// The fixture plus a stray file with this name (newlines and all) in `packages-dir`.
    Stray(&'static str),
    /// A wheel of this many one-line members, instead of the fixture's.
    Members(usize),
    /// The fixture's wheel with one more member: a file under this name, or (`Some`) a
    /// symlink to this target.
    WheelMember(&'static str, Option<&'static str>),
    /// The fixture's sdist with one more member: a file under this raw name, or a symlink.
    SdistMember(&'static str, Option<&'static str>),
}

pub struct Outcome {
    pub r: RunResult,
    pub secs: f64,
    pub world: Arc<World>,
    pub index: Server,
    pub api: Server,
    pub evil: Server,
    pub dist: PathBuf,
    pub scratch: PathBuf,
}

impl Outcome {
    fn text(&self) -> String {
        format!("{}\n{}\n{}", self.r.stdout, self.r.stderr, self.r.summary)
    }
}

fn run_case(case: Case) -> Outcome {
    let ws = workspace_with_dists(VERSION);
    let dist = ws.path().join("dist");
    match case.dists {
        Dists::Fixture => {}
        Dists::Stray(name) => {
            std::fs::copy(dist.join(WHEEL), dist.join(name)).unwrap();
        }
        Dists::Members(n) => {
            std::fs::remove_file(dist.join(WHEEL)).unwrap();
            big_wheel(&dist.join(WHEEL), n);
        }
        Dists::WheelMember(name, link) => wheel_with(&dist.join(WHEEL), name, link),
        Dists::SdistMember(name, link) => sdist_with(&dist.join(SDIST), name, link),
    }
    let files = [WHEEL, SDIST]
        .iter()
        .map(|f| (f.to_string(), sha256_file(&dist.join(f))))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let (index, l_index) = Server::bind();
    let (api, l_api) = Server::bind();
    let (evil, l_evil) = Server::bind();
    let world = Arc::new(World {
        index: index.url(""),
        api: api.url(""),
        evil: evil.url(""),
        evil_port: evil.port,
        api_port: api.port,
        files,
        uploads: AtomicUsize::new(0),
        token: format!("pypi-AgEIcHlwaS5vcmc{}", random_hex(24)),
        gh_token: format!("ghs_{}", random_hex(18)),
        request_token: format!("rt{}", random_hex(20)),
        id_token: jwt(),
        big: OnceLock::new(),
    });
    let w = world.clone();
    let (bi, bg, be) = (case.index, case.github, case.evil);
    index.serve(
        l_index,
        Arc::new(move |r: &Req| bi(r, &w).unwrap_or_else(|| good_index(r, &w))),
    );
    let w = world.clone();
    api.serve(
        l_api,
        Arc::new(move |r: &Req| bg(r, &w).unwrap_or_else(|| good_github(r, &w))),
    );
    let w = world.clone();
    evil.serve(
        l_evil,
        Arc::new(move |r: &Req| be(r, &w).unwrap_or_else(|| reply(200, "text/plain", "evil"))),
    );

    register_secret(&world.id_token);
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("GITHUB_WORKSPACE", ws.path().display().to_string())
        .set(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            api.url("/_apis/idtoken?api-version=2.0"),
        )
        .set(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            world.request_token.clone(),
        )
        .set("GITHUB_API_URL", world.api.clone())
        .set("RUNNER_TEMP", scratch.path().display().to_string())
        .set("INPUT_MODE", "pypi")
        .set("INPUT_PYPI_URL", index.url("/legacy/"))
        .set("INPUT_PYPI_INDEX_URL", index.url("/simple/"))
        .set("INPUT_PYPI_TOKEN", world.token.clone())
        .set("INPUT_GITHUB_TOKEN", world.gh_token.clone())
        .set("INPUT_VERIFY_INSTALL", "false")
        .set("INPUT_VERIFY_TIMEOUT", "10s")
        .set("SDD_PUBLISH_RETRY_ATTEMPTS", "3")
        .set("SDD_PUBLISH_RETRY_MIN_DELAY_MS", "50")
        .set("SDD_PUBLISH_RETRY_MAX_DELAY_MS", "200")
        .set("SDD_PUBLISH_VERIFY_INTERVAL_MS", "200");
    for (k, v) in case.inputs {
        let v = v
            .replace("{evil}", &world.evil)
            .replace("{api}", &world.api)
            .replace("{index}", &world.index);
        env.set(k, v);
    }
    let started = Instant::now();
    let r = env.run(ws.path(), &["run"]);
    let secs = started.elapsed().as_secs_f64();
    let out = Outcome {
        r,
        secs,
        world,
        index,
        api,
        evil,
        dist,
        scratch: scratch.path().to_path_buf(),
    };

    // What every case checks.
    let all = out.r.all_output();
    assert_eq!(out.r.code, case.code, "exit code\n{all}");
    assert!(
        out.secs < case.within as f64,
        "took {:.1}s, more than {}s\n{all}",
        out.secs,
        case.within
    );
    for s in case.says {
        assert!(out.text().contains(s), "does not say {s:?}\n{all}");
    }
    assert_inert(&out.r);
    assert_summary_inert(&out.r.summary, &out.world);
    assert_outputs(&out.r);
    // Each credential only where it belongs: the index's token never at GitHub or the other
    // host, GitHub's never at the index or the other host.
    let w = &out.world;
    assert_no_forms(
        "the other host's request log",
        &out.evil.log_text(),
        &[&w.token, &w.gh_token, &w.request_token, &w.id_token],
    );
    assert_no_forms("GitHub's request log", &out.api.log_text(), &[&w.token]);
    assert_no_forms(
        "the index's request log",
        &out.index.log_text(),
        &[&w.gh_token, &w.request_token],
    );
    (case.check)(&out);
    // Scratch files (published copies) never outlive the run.
    let left: Vec<_> = std::fs::read_dir(&out.scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in RUNNER_TEMP: {left:?}");
    drop(scratch);
    drop(ws);
    out
}

/// No form of these secrets in `text` (8 characters of one are enough). One pass over the
/// text: request logs hold whole uploaded files.
fn assert_no_forms(what: &str, text: &str, secrets: &[&str]) {
    if let Some((kind, around)) = find_forms(text, secrets) {
        panic!("{what} holds the {kind} (…{around:?}…)");
    }
}

/// Our own command lines: what the binary itself writes.
const OURS: &[&str] = &[
    "::error::",
    "::error ",
    "::warning::",
    "::warning ",
    "::notice::",
    "::notice ",
    "::group::",
    "::endgroup::",
    "::add-mask::",
];

/// No line the runner would obey as a command, unless it is one of ours: the runner trims
/// leading white space before looking for `::`, and finds the legacy `##[` anywhere.
fn assert_inert(r: &RunResult) {
    for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        for line in text.split(['\n', '\r']) {
            let trimmed = line.trim_start();
            let ours = line.starts_with("::") && OURS.iter().any(|p| line.starts_with(p));
            if trimmed.starts_with("::") || (line.contains("##[") && !ours) {
                assert!(ours, "{stream}: a line the runner would obey: {line:?}");
            }
            for hidden in [
                '\u{2028}', '\u{2029}', '\u{85}', '\u{200b}', '\u{202e}', '\u{1b}',
            ] {
                assert!(!line.contains(hidden), "{stream}: {hidden:?} in {line:?}");
            }
            if let Some(value) = line.strip_prefix("::add-mask::") {
                assert!(
                    find_secret(value).is_some(),
                    "{stream}: a mask for something that is not a credential: {line:?}"
                );
            }
        }
    }
}

/// The summary renders with no raw HTML and no image; every link is http(s); a link whose
/// text is not its own URL goes only to GitHub, the CI pages the API named, or our hosts;
/// and nothing links to where only untrusted text pointed (`evil.example`).
fn assert_summary_inert(md: &str, w: &World) {
    use pulldown_cmark::{Event, LinkType, Options, Parser, Tag};
    for e in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match e {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in the summary: {h}\n{md}"),
            Event::Start(Tag::Image { dest_url, .. }) => {
                panic!("an image in the summary: {dest_url}\n{md}")
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                assert!(
                    (dest_url.starts_with("https://") || dest_url.starts_with("http://"))
                        && !dest_url.contains("evil.example"),
                    "a link to {dest_url} in the summary\n{md}"
                );
                if link_type != LinkType::Autolink {
                    let ok = [
                        "https://github.com/",
                        "https://ci.example.com/",
                        &w.index,
                        &w.api,
                    ]
                    .iter()
                    .any(|p| dest_url.starts_with(p));
                    assert!(ok, "a link to {dest_url} behind text in the summary\n{md}");
                }
            }
            _ => {}
        }
    }
}

/// `$GITHUB_OUTPUT` parses into the declared outputs, each once: nothing injected.
fn assert_outputs(r: &RunResult) {
    let names: Vec<String> = r.outputs().into_iter().map(|(n, _)| n).collect();
    let declared = action_outputs();
    for n in &names {
        assert!(
            declared.contains(n),
            "an undeclared output `{n}`\n{}",
            r.output_file
        );
    }
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "an output written twice\n{}",
        r.output_file
    );
}

fn action_outputs() -> BTreeSet<String> {
    action_yml()["outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// A wheel of `n` one-line modules with valid metadata, made by the generator
/// `bench/memory.py` also uses.
fn big_wheel(path: &Path, n: usize) {
    let ok = std::process::Command::new(venv_bin("python"))
        .arg(repo_root().join("bench/make_big_wheel.py"))
        .arg(path)
        .arg(n.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "could not write {}", path.display());
}

/// The wheel at `path` with one more member, written as is (no path checks).
fn wheel_with(path: &Path, name: &str, link: Option<&str>) {
    let bytes = std::fs::read(path).unwrap();
    let mut old = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..old.len() {
        z.raw_copy_file(old.by_index_raw(i).unwrap()).unwrap();
    }
    let opts = zip::write::SimpleFileOptions::default();
    match link {
        Some(target) => z.add_symlink(name, target, opts).unwrap(),
        None => {
            z.start_file(name, opts).unwrap();
            z.write_all(b"import os\n").unwrap();
        }
    }
    z.finish().unwrap();
}

/// The sdist at `path` with one more member under a raw tar name (the `tar` crate refuses
/// `..` when asked politely).
fn sdist_with(path: &Path, name: &str, link: Option<&str>) {
    let gz = std::fs::read(path).unwrap();
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut tar_bytes)
        .unwrap();
    let mut old = tar::Archive::new(tar_bytes.as_slice());
    let out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(out);
    for e in old.entries().unwrap() {
        let mut e = e.unwrap();
        let header = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        b.append(&header, data.as_slice()).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    let raw = h.as_old_mut();
    raw.name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_mode(0o644);
    h.set_mtime(0);
    let data: &[u8] = match link {
        Some(target) => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
            h.set_size(0);
            b""
        }
        None => {
            h.set_size(10);
            b"import os\n"
        }
    };
    h.set_cksum();
    b.append(&h, data).unwrap();
    let gz = b.into_inner().unwrap().finish().unwrap();
    std::fs::write(path, gz).unwrap();
}

macro_rules! cases {
    ($($(#[$doc:meta])* $name:ident: $case:expr;)*) => {
        $( $(#[$doc])* #[test] fn $name() { run_case($case); } )*
    };
}

// ---------------------------------------------------------------------------------------
// r: credentials are never printed, in any form, however the echo is cut
// ---------------------------------------------------------------------------------------

fn basic(user: &str, secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
}

/// A 403 whose message echoes the token so that the 1000-character message limit falls
/// inside it.
fn echo_cut_at_the_limit(req: &Req, w: &World) -> Option<Act> {
    (req.method == "POST").then(|| {
        let message = format!("{}{} and more", "x".repeat(988), w.token);
        json_reply(403, &json!({ "message": message }))
    })
}

/// A 400 echoing the request's `Authorization` header, as a naive proxy does.
fn echo_basic_header(req: &Req, _: &World) -> Option<Act> {
    (req.method == "POST").then(|| {
        let auth = req.header("authorization").unwrap_or_default();
        reply(
            400,
            "text/plain",
            format!("Bad request. You sent: Authorization: {auth}"),
        )
    })
}

/// A 400 echoing the token in every encoding a server might use.
fn echo_encoded(req: &Req, w: &World) -> Option<Act> {
    (req.method == "POST").then(|| {
        let t = &w.token;
        let lower_pct: String = t
            .bytes()
            .map(|b| format!("%{b:02x}"))
            .collect();
        let unicode: String = t.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
        let body = format!(
            "{{\"message\": \"refused {lower_pct} https://__token__:{t}@idx.example/legacy/ ?token={t}&a=1 {} \\\"{unicode}\\\" {} / {}\"}}",
            t.to_ascii_uppercase(),
            &t[..16],
            basic("__token__", t)
        );
        reply(400, "application/json", body)
    })
}

/// GitHub refusing the token and echoing it as `Bearer` and `token` headers.
fn github_echoes_bearer(req: &Req, w: &World) -> Option<Act> {
    req.path.contains("/check-runs").then(|| {
        json_reply(
            401,
            &json!({"message": format!("Bad credentials: Authorization: Bearer {0}; token {0}; basic {1}", w.gh_token, basic("x-access-token", &w.gh_token))}),
        )
    })
}

/// warehouse refusing the exchange and echoing the ID token it was sent, and the bearer.
fn mint_echoes_the_id_token(req: &Req, w: &World) -> Option<Act> {
    (req.path == "/_/oidc/mint-token").then(|| {
        let sent = String::from_utf8_lossy(&req.body).into_owned();
        json_reply(
            422,
            &json!({
                "message": format!("Token request failed for {sent}"),
                "errors": [{
                    "code": "invalid-publisher",
                    "description": format!("valid token, but no corresponding publisher (token {}, cut {})", w.id_token, &w.id_token[..40]),
                }],
            }),
        )
    })
}

/// The runner's ID-token endpoint failing and echoing the request's bearer token.
fn id_token_endpoint_echoes_the_bearer(req: &Req, _: &World) -> Option<Act> {
    req.path.starts_with("/_apis/idtoken").then(|| {
        let auth = req.header("authorization").unwrap_or_default();
        reply(
            500,
            "text/plain",
            format!("internal error handling Authorization: {auth}"),
        )
    })
}

const TRUSTED: &[(&str, &str)] = &[("INPUT_TRUSTED_PUBLISHING", "always")];

cases! {
    /// The issue's case: a message cut at 1000 characters printed all of the token but its
    /// tail. Now every form is cut out first, then the message is shortened.
    r_upload_error_echoes_the_token_across_the_message_limit: Case {
        index: echo_cut_at_the_limit,
        code: 1,
        says: &["rejected the credentials (HTTP 403)"],
        ..CASE
    };
    r_upload_error_echoes_the_basic_header: Case {
        index: echo_basic_header,
        code: 1,
        says: &["refused `improved_sdd-0.1.0-py3-none-any.whl` (HTTP 400)", "Authorization: Basic X190b2tlbl9fO***"],
        ..CASE
    };
    r_upload_error_echoes_every_encoding: Case {
        index: echo_encoded,
        code: 1,
        says: &["(HTTP 400): refused ***"],
        ..CASE
    };
    r_mint_refusal_echoes_the_id_token: Case {
        index: mint_echoes_the_id_token,
        inputs: TRUSTED,
        code: 1,
        says: &["invalid-publisher"],
        ..CASE
    };
    r_id_token_endpoint_echoes_the_bearer: Case {
        github: id_token_endpoint_echoes_the_bearer,
        inputs: TRUSTED,
        code: 1,
        says: &["(HTTP 500): internal error handling Authorization: bearer ***"],
        ..CASE
    };
    r_github_error_echoes_the_token_as_headers: Case {
        github: github_echoes_bearer,
        inputs: &[("INPUT_WAIT_FOR", "Test Suite"), ("INPUT_WAIT_TIMEOUT", "20s")],
        code: 1,
        says: &["answered 401: Bad credentials: Authorization: Bearer ***"],
        ..CASE
    };
}

// ---------------------------------------------------------------------------------------
// h: a credential goes only to the origin it belongs to
// ---------------------------------------------------------------------------------------

fn link_to(req: &Req, target: String) -> Option<Act> {
    req.path.contains("/check-runs").then(|| {
        Act::Reply(
            200,
            vec![
                ("Content-Type", "application/json".into()),
                ("Link", format!("<{target}>; rel=\"next\"")),
            ],
            json!({"total_count": 2, "check_runs": [gh::done(1, "Test Suite", "success")]})
                .to_string()
                .into_bytes(),
        )
    })
}

fn link_to_other_port(req: &Req, w: &World) -> Option<Act> {
    link_to(
        req,
        format!("{}/repos/{REPO}/commits/x/check-runs?page=2", w.evil),
    )
}

fn link_with_userinfo(req: &Req, w: &World) -> Option<Act> {
    link_to(
        req,
        format!(
            "http://127.0.0.1:{}@127.0.0.1:{}/repos/{REPO}/commits/x/check-runs?page=2",
            w.api_port, w.evil_port
        ),
    )
}

/// A scheme-relative link (`//host:port/…`): relative in form, another origin in fact.
fn link_scheme_relative(req: &Req, w: &World) -> Option<Act> {
    link_to(
        req,
        format!(
            "//127.0.0.1:{}/repos/{REPO}/commits/x/check-runs?page=2",
            w.evil_port
        ),
    )
}

/// The same server by another name: still another origin.
fn link_to_an_alias(req: &Req, w: &World) -> Option<Act> {
    link_to(
        req,
        format!(
            "http://localhost:{}/repos/{REPO}/commits/x/check-runs?page=2",
            w.api_port
        ),
    )
}

fn github_redirects_away(req: &Req, w: &World) -> Option<Act> {
    req.path.contains("/check-runs").then(|| {
        Act::Reply(
            302,
            vec![("Location", format!("{}/stolen", w.evil))],
            Vec::new(),
        )
    })
}

fn upload_url_elsewhere(req: &Req, w: &World) -> Option<Act> {
    (req.method == "POST" && req.path == format!("/repos/{REPO}/releases")).then(|| {
        let mut r = gh::fixture("repos-create-release.json");
        r["id"] = json!(1);
        r["tag_name"] = json!("v0.1.0");
        r["draft"] = json!(false);
        r["upload_url"] = json!(format!(
            "{}/repos/{REPO}/releases/1/assets{{?name,label}}",
            w.evil
        ));
        r["assets"] = json!([]);
        json_reply(201, &r)
    })
}

/// The index lists our wheel with other bytes, served from another host.
fn file_url_elsewhere(req: &Req, w: &World) -> Option<Act> {
    (req.method == "GET" && req.path == PAGE).then(|| {
        reply(
            200,
            "text/html",
            format!(
                "<a href=\"{}/files/{WHEEL}#sha256={}\">{WHEEL}</a>",
                w.evil,
                "0".repeat(64)
            ),
        )
    })
}

fn index_redirects_away(req: &Req, w: &World) -> Option<Act> {
    (req.method == "GET").then(|| {
        Act::Reply(
            302,
            vec![("Location", format!("{}{}", w.evil, req.path))],
            Vec::new(),
        )
    })
}

fn upload_redirects_away(req: &Req, w: &World) -> Option<Act> {
    (req.method == "POST").then(|| {
        Act::Reply(
            307,
            vec![("Location", format!("{}/legacy/", w.evil))],
            Vec::new(),
        )
    })
}

fn evil_is_never_asked(o: &Outcome) {
    assert!(
        o.evil.requests().is_empty(),
        "the other host was asked: {:?}",
        o.evil
            .requests()
            .iter()
            .map(|r| r.head.clone())
            .collect::<Vec<_>>()
    );
}

fn evil_is_asked_without_credentials(o: &Outcome) {
    let reqs = o.evil.requests();
    assert!(!reqs.is_empty(), "the published copy was never fetched");
    for r in reqs {
        assert_eq!(r.header("authorization"), None, "{}", r.head);
    }
}

fn api_never_asked_as_localhost(o: &Outcome) {
    for r in o.api.requests() {
        let host = r.header("host").unwrap_or_default();
        assert!(
            !host.starts_with("localhost"),
            "followed the alias: {}",
            r.head
        );
    }
}

const GATE: &[(&str, &str)] = &[
    ("INPUT_WAIT_FOR", "Test Suite"),
    ("INPUT_WAIT_TIMEOUT", "20s"),
];

cases! {
    /// The issue's case: the token followed a `Link: rel="next"` to another host.
    h_link_next_to_another_port: Case {
        github: link_to_other_port,
        inputs: GATE,
        code: 1,
        says: &["refusing to send the GitHub token to `http://127.0.0.1:"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_link_next_with_a_userinfo_trick: Case {
        github: link_with_userinfo,
        inputs: GATE,
        code: 1,
        says: &["refusing to send the GitHub token"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_link_next_scheme_relative: Case {
        github: link_scheme_relative,
        inputs: GATE,
        code: 1,
        says: &["refusing to send the GitHub token to `http://127.0.0.1:"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_link_next_to_the_same_server_by_another_name: Case {
        github: link_to_an_alias,
        inputs: GATE,
        code: 1,
        says: &["refusing to send the GitHub token to `http://localhost:"],
        check: api_never_asked_as_localhost,
        ..CASE
    };
    h_github_redirects_to_another_host: Case {
        github: github_redirects_away,
        inputs: GATE,
        code: 1,
        says: &["answered 302, a redirect to `http://127.0.0.1:", "which is not followed"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_release_upload_url_on_another_host: Case {
        github: upload_url_elsewhere,
        inputs: &[("INPUT_RELEASE", "true")],
        code: 1,
        says: &["refusing to send the GitHub token to `http://127.0.0.1:"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_published_file_on_another_host_is_fetched_without_credentials: Case {
        index: file_url_elsewhere,
        code: 1,
        says: &["same name, different bytes"],
        check: evil_is_asked_without_credentials,
        ..CASE
    };
    h_index_redirects_to_another_host: Case {
        index: index_redirects_away,
        code: 1,
        says: &["answered HTTP 302"],
        check: evil_is_never_asked,
        ..CASE
    };
    h_upload_redirects_to_another_host: Case {
        index: upload_redirects_away,
        code: 1,
        says: &["redirected the upload"],
        check: evil_is_never_asked,
        ..CASE
    };
}

// ---------------------------------------------------------------------------------------
// c: untrusted text never becomes a workflow command, nor markup in the summary
// ---------------------------------------------------------------------------------------

const HOSTILE_NAMES: &[&str] = &[
    "lint\n::add-mask::mask-me",
    "a\r::error title=x::injected",
    "b\u{2028}::stop-commands::pause",
    "c\u{2029}::warning::injected %0A::error::encoded",
    "  ::endgroup::",
    "\u{200b}::error::zero-width",
    "name ##[add-mask]legacy",
    "<img src=https://evil.example/p.png> [click](https://evil.example) ![x](https://evil.example/t.gif)",
    "x\nghadelimiter_00000000000000000000000000000000\ninjected<<EOF\nevil\nEOF",
    "\u{1b}]8;;https://evil.example\u{7}link\u{1b}]8;;\u{7}",
];

fn hostile_check_runs(req: &Req, _: &World) -> Option<Act> {
    req.path.contains("/check-runs").then(|| {
        let mut runs: Vec<Value> = HOSTILE_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut r = gh::done(10 + i as u64, n, "success");
                r["html_url"] = json!("javascript:alert(1)");
                r
            })
            .collect();
        runs.push(gh::done(1, "Test Suite\n::error::failed", "failure"));
        json_reply(200, &json!({"total_count": runs.len(), "check_runs": runs}))
    })
}

/// The gate saw every hostile context (so the checks above ran on them): the `checks`
/// output lists them all (beside the commit's own check run), each as the API gave it.
fn every_hostile_context_was_waited_for(o: &Outcome) {
    let checks: Value = serde_json::from_str(&o.r.output("checks").unwrap_or_default())
        .unwrap_or_else(|e| panic!("checks output is not JSON ({e}): {}", o.r.all_output()));
    let names: BTreeSet<&str> = checks
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    let missing: Vec<_> = HOSTILE_NAMES
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(missing.is_empty(), "{missing:?}\n{}", o.r.all_output());
}

fn hostile_statuses(req: &Req, _: &World) -> Option<Act> {
    req.path.contains("/status").then(|| {
        let statuses: Vec<Value> = HOSTILE_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut s = gh::status(i as u64, n, "success");
                s["target_url"] = json!(format!("https://ci.example.com/{i}\n::error::x"));
                s
            })
            .collect();
        json_reply(
            200,
            &json!({"state": "success", "statuses": statuses, "sha": gh::SHA}),
        )
    })
}

fn index_message_injects(req: &Req, _: &World) -> Option<Act> {
    (req.method == "POST").then(|| {
        json_reply(
            400,
            &json!({"message": format!("bad file\n::error::injected\r::add-mask::x%0A::warning::y\u{2028}::stop-commands::z ##[add-mask]w {}", HOSTILE_NAMES[7])}),
        )
    })
}

cases! {
    c_check_run_names_carry_commands: Case {
        github: hostile_check_runs,
        inputs: &[("INPUT_WAIT_FOR", "*"), ("INPUT_WAIT_TIMEOUT", "20s")],
        code: 1,
        says: &["Test Suite%0A::error::failed` concluded `failure`"],
        ..CASE
    };
    c_status_contexts_carry_commands: Case {
        github: hostile_statuses,
        inputs: &[("INPUT_WAIT_FOR", "*"), ("INPUT_WAIT_TIMEOUT", "20s")],
        code: 0,
        check: every_hostile_context_was_waited_for,
        ..CASE
    };
    c_index_message_carries_commands: Case {
        index: index_message_injects,
        code: 1,
        says: &["(HTTP 400): bad file"],
        ..CASE
    };
    c_a_file_name_carries_commands: Case {
        dists: Dists::Stray("evil\n::error file=x,title=y::injected ##[add-mask]z,a.whl"),
        code: 1,
        says: &["filename-invalid"],
        ..CASE
    };
    c_a_tag_pattern_carries_commands: Case {
        inputs: &[("INPUT_MODE", "auto"), ("INPUT_TAG_PATTERN", "v9*##[add-mask]x")],
        code: 0,
        says: &["does not match tag-pattern v9*##%5Badd-mask]x"],
        ..CASE
    };
}

// ---------------------------------------------------------------------------------------
// d: every deadline is a deadline
// ---------------------------------------------------------------------------------------

fn drip() -> Act {
    Act::Drip(
        200,
        vec![("Content-Type", "text/html".into())],
        Duration::from_secs(1),
    )
}

/// Accepts the upload, then drips the project page: the issue's `verify-timeout: 10s` case.
fn drips_after_upload(req: &Req, w: &World) -> Option<Act> {
    (req.method == "GET" && w.uploaded()).then(drip)
}

fn drips_always(req: &Req, _: &World) -> Option<Act> {
    (req.method == "GET").then(drip)
}

fn slow_headers(req: &Req, _: &World) -> Option<Act> {
    (req.method == "GET").then_some(Act::SlowHead(Duration::from_secs(1)))
}

fn redirect_loop(req: &Req, _: &World) -> Option<Act> {
    (req.method == "GET").then(|| Act::Reply(302, vec![("Location", req.path.clone())], Vec::new()))
}

fn huge_length(req: &Req, _: &World) -> Option<Act> {
    (req.method == "GET").then(|| {
        Act::Endless(
            200,
            vec![
                ("Content-Type", "application/vnd.pypi.simple.v1+json".into()),
                ("Content-Length", "1099511627776".into()),
            ],
        )
    })
}

fn endless_page(req: &Req, _: &World) -> Option<Act> {
    (req.method == "GET").then(|| Act::Endless(200, vec![("Content-Type", "text/html".into())]))
}

/// 64 MiB of zeros in 64 KiB of gzip, announced as the JSON page it is not.
fn gzip_bomb(req: &Req, w: &World) -> Option<Act> {
    (req.method == "GET").then(|| {
        let body = w.big.get_or_init(|| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..64 {
                gz.write_all(&zeros).unwrap();
            }
            gz.finish().unwrap()
        });
        Act::Reply(
            200,
            vec![
                ("Content-Type", "application/vnd.pypi.simple.v1+json".into()),
                ("Content-Encoding", "gzip".into()),
            ],
            body.clone(),
        )
    })
}

fn github_drips(req: &Req, _: &World) -> Option<Act> {
    req.path.contains("/check-runs").then(|| {
        Act::Drip(
            200,
            vec![("Content-Type", "application/json".into())],
            Duration::from_secs(1),
        )
    })
}

fn github_slow_headers(req: &Req, _: &World) -> Option<Act> {
    req.path
        .contains("/check-runs")
        .then_some(Act::SlowHead(Duration::from_secs(1)))
}

const BRIEF_QUERY: &[(&str, &str)] = &[("SDD_PUBLISH_QUERY_BUDGET_MS", "6000")];
const DRIPPING_GATE: &[(&str, &str)] = &[
    ("INPUT_WAIT_FOR", "Test Suite"),
    ("INPUT_WAIT_TIMEOUT", "10s"),
    ("INPUT_WAIT_INTERVAL", "1s"),
];

cases! {
    /// The issue's case: `verify-timeout: 10s` took 120 s.
    d_verify_timeout_holds_against_a_dripping_index: Case {
        index: drips_after_upload,
        code: 0,
        within: 45,
        says: &["did not serve", "within 10 s (`verify-timeout`)"],
        ..CASE
    };
    d_pre_upload_query_against_a_dripping_page: Case {
        index: drips_always,
        inputs: BRIEF_QUERY,
        code: 1,
        within: 40,
        says: &["did not say which files it has within 6s", "nothing was uploaded"],
        ..CASE
    };
    /// The issue's case (621 s before): the default budget, no knob.
    d_pre_upload_query_default_budget: Case {
        index: drips_always,
        code: 1,
        within: 120,
        says: &["did not say which files it has within 1m"],
        ..CASE
    };
    d_pre_upload_query_against_slowloris_headers: Case {
        index: slow_headers,
        inputs: BRIEF_QUERY,
        code: 1,
        within: 40,
        says: &["did not say which files it has within 6s"],
        ..CASE
    };
    d_redirect_loop: Case {
        index: redirect_loop,
        inputs: BRIEF_QUERY,
        code: 1,
        within: 40,
        says: &["more than 5 redirects"],
        ..CASE
    };
    d_page_announcing_a_terabyte: Case {
        index: huge_length,
        code: 1,
        within: 30,
        says: &["more than 67108864 bytes"],
        ..CASE
    };
    d_endless_page: Case {
        index: endless_page,
        code: 1,
        within: 40,
        says: &["more than 67108864 bytes"],
        ..CASE
    };
    d_compressed_bomb: Case {
        index: gzip_bomb,
        code: 1,
        within: 40,
        says: &["is not a PEP 691 JSON project page"],
        check: no_compression_asked,
        ..CASE
    };
    d_gate_against_a_dripping_api: Case {
        github: github_drips,
        inputs: DRIPPING_GATE,
        code: 1,
        within: 45,
        says: &["timed out after 10s"],
        ..CASE
    };
    d_gate_against_slowloris_headers: Case {
        github: github_slow_headers,
        inputs: DRIPPING_GATE,
        code: 1,
        within: 45,
        says: &["timed out after 10s"],
        ..CASE
    };
}

// ---------------------------------------------------------------------------------------
// m: downloads are bounded; the largest pages and archives accepted or refused
// ---------------------------------------------------------------------------------------

/// Our wheel listed with other bytes at a URL that never ends.
fn endless_published_copy(req: &Req, _: &World) -> Option<Act> {
    if req.method != "GET" {
        return None;
    }
    if req.path == PAGE {
        return Some(reply(
            200,
            "text/html",
            format!(
                "<a href=\"/files/{WHEEL}#sha256={}\">{WHEEL}</a>",
                "0".repeat(64)
            ),
        ));
    }
    req.path.starts_with("/files/").then(|| {
        Act::Endless(
            200,
            vec![("Content-Type", "application/octet-stream".into())],
        )
    })
}

/// The bomb is never inflated because no request asks for a compressed answer.
fn no_compression_asked(o: &Outcome) {
    let requests = o.index.requests();
    assert!(!requests.is_empty());
    for r in requests {
        let asked = r.header("accept-encoding").unwrap_or_default();
        assert!(
            asked.is_empty() || asked.eq_ignore_ascii_case("identity"),
            "{} {} asked for Accept-Encoding: {asked}",
            r.method,
            r.path
        );
    }
}

fn packages_dir_untouched(o: &Outcome) {
    let mut names: Vec<String> = std::fs::read_dir(&o.dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [WHEEL, SDIST]);
    assert_eq!(sha256_file(&o.dist.join(WHEEL)), o.world.files[0].1);
}

/// A 62 MB PEP 691 page (other versions' files), listing ours too once uploaded.
fn pep691_62mb(req: &Req, w: &World) -> Option<Act> {
    if req.method != "GET" || req.path != PAGE {
        return None;
    }
    let base = w.big.get_or_init(|| {
        let mut page = String::from(r#"{"meta":{"api-version":"1.1"},"name":"improved-sdd","files":["#);
        let mut i = 0u64;
        while page.len() < 62_000_000 {
            page.push_str(&format!(
                r#"{{"filename":"improved_sdd-0.0.{i}-py3-none-any.whl","url":"https://files.example/packages/aa/bb/cc/improved_sdd-0.0.{i}-py3-none-any.whl","hashes":{{"sha256":"{:064x}"}},"requires-python":">=3.9","yanked":false,"size":1234}},"#,
                i
            ));
            i += 1;
        }
        page.into_bytes()
    });
    let mut body = base.clone();
    if w.uploaded() {
        for (f, sha) in &w.files {
            body.extend_from_slice(
                format!(
                    r#"{{"filename":"{f}","url":"/packages/{f}","hashes":{{"sha256":"{sha}"}}}},"#
                )
                .as_bytes(),
            );
        }
    }
    body.extend_from_slice(br#"{"filename":"improved_sdd-0.0.0.tar.gz","hashes":{}}]}"#);
    Some(reply(200, "application/vnd.pypi.simple.v1+json", body))
}

/// The same as a 62 MB PEP 503 HTML page.
fn pep503_62mb(req: &Req, w: &World) -> Option<Act> {
    if req.method != "GET" || req.path != PAGE {
        return None;
    }
    let base = w.big.get_or_init(|| {
        let mut page = String::from("<!DOCTYPE html><html><body>\n");
        let mut i = 0u64;
        while page.len() < 62_000_000 {
            page.push_str(&format!(
                "<a href=\"https://files.example/packages/aa/bb/improved_sdd-0.0.{i}-py3-none-any.whl#sha256={i:064x}\" data-requires-python=\"&gt;=3.9\">improved_sdd-0.0.{i}-py3-none-any.whl</a><br/>\n"
            ));
            i += 1;
        }
        page.into_bytes()
    });
    let mut body = base.clone();
    if w.uploaded() {
        for (f, sha) in &w.files {
            body.extend_from_slice(
                format!("<a href=\"/packages/{f}#sha256={sha}\">{f}</a>\n").as_bytes(),
            );
        }
    }
    body.extend_from_slice(b"</body></html>\n");
    Some(reply(200, "text/html", body))
}

cases! {
    /// The issue's case: 3 GiB in 9 s, into `packages-dir`.
    m_published_copy_that_never_ends: Case {
        index: endless_published_copy,
        code: 1,
        within: 40,
        says: &["it is bigger than", "same name, different bytes"],
        check: packages_dir_untouched,
        ..CASE
    };
    /// The issue's case (477 MB of memory for a 62 MB page): parsed as a stream, published.
    m_pep691_page_of_62_mb: Case {
        index: pep691_62mb,
        code: 0,
        within: 120,
        says: &["uploaded improved_sdd-0.1.0-py3-none-any.whl", "the index serves all 2 file(s)"],
        ..CASE
    };
    m_pep503_page_of_62_mb: Case {
        index: pep503_62mb,
        code: 0,
        within: 120,
        says: &["uploaded improved_sdd-0.1.0-py3-none-any.whl", "the index serves all 2 file(s)"],
        ..CASE
    };
    /// At the limit (65 535 members with its metadata): accepted and published.
    m_wheel_at_the_member_limit: Case {
        dists: Dists::Members(65_532),
        code: 0,
        within: 120,
        says: &["uploaded improved_sdd-0.1.0-py3-none-any.whl"],
        ..CASE
    };
    /// The issue's case (210 MB of memory for a 300k-entry wheel): refused before it is read.
    m_wheel_of_300k_members: Case {
        dists: Dists::Members(300_000),
        code: 1,
        within: 90,
        says: &["has more than 65535 members"],
        ..CASE
    };
}

// ---------------------------------------------------------------------------------------
// a: archives whose members would land outside the directory they unpack into
// ---------------------------------------------------------------------------------------

/// `check` says the same as `run` about the same files.
fn check_agrees(o: &Outcome) {
    let out = std::process::Command::new(sdd_publish_bin())
        .arg("check")
        .arg(&o.dist)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("archive-unsafe"), "{text}");
    // Nothing was uploaded: the check stops the run first.
    assert_eq!(o.world.uploads.load(Ordering::SeqCst), 0);
}

cases! {
    a_wheel_member_with_dot_dot: Case {
        dists: Dists::WheelMember("improved_sdd/../../evil.py", None),
        code: 1,
        says: &["archive-unsafe-path"],
        check: check_agrees,
        ..CASE
    };
    a_wheel_member_with_an_absolute_path: Case {
        dists: Dists::WheelMember("/tmp/evil.py", None),
        code: 1,
        says: &["archive-unsafe-path"],
        check: check_agrees,
        ..CASE
    };
    a_wheel_member_that_is_a_symlink: Case {
        dists: Dists::WheelMember("improved_sdd/passwd", Some("/etc/passwd")),
        code: 1,
        says: &["archive-unsafe"],
        check: check_agrees,
        ..CASE
    };
    a_sdist_member_with_dot_dot: Case {
        dists: Dists::SdistMember("improved_sdd-0.1.0/../../evil.py", None),
        code: 1,
        says: &["archive-unsafe-path"],
        check: check_agrees,
        ..CASE
    };
    a_sdist_symlink_out_of_the_tree: Case {
        dists: Dists::SdistMember("improved_sdd-0.1.0/passwd", Some("../../../etc/passwd")),
        code: 1,
        says: &["archive-unsafe-link"],
        check: check_agrees,
        ..CASE
    };
}
