//! Shared test helpers: where the tools are, a real pypiserver on a free loopback port, the
//! fixture package built with `python -m build`, and a way to run the action's binary with a
//! controlled environment (never the test process's own `GITHUB_*`).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn tools_dir() -> PathBuf {
    std::env::var_os("SDD_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
}

pub fn sdd_publish_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sdd-publish"))
}

/// A tool under the tools dir; panics (never skips) when it is missing.
pub fn require_tool(rel_path: &str) -> PathBuf {
    let p = tools_dir().join(rel_path);
    assert!(
        p.exists(),
        "required test tool {} is missing: run `scripts/tools` (or `scripts/test`, which runs it) first",
        p.display()
    );
    p
}

pub fn venv_bin(name: &str) -> PathBuf {
    require_tool(&format!("venv/bin/{name}"))
}

/// The repository's `action.yml`, parsed.
pub fn action_yml() -> serde_yaml::Value {
    let path = repo_root().join("action.yml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The names of `action.yml`'s inputs.
pub fn action_inputs() -> std::collections::BTreeSet<String> {
    action_yml()["inputs"]
        .as_mapping()
        .expect("action.yml has no `inputs:` mapping")
        .keys()
        .map(|k| k.as_str().expect("an input name is a string").to_owned())
        .collect()
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

/// `files` in `dir` by name, with their sha256: what [`PyPIServer::served`] should answer.
pub fn sha256_of(dir: &Path, files: &[&str]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|f| (f.to_string(), sha256_file(&dir.join(f))))
        .collect()
}

/// A minimal HTTP GET over loopback (the tests must not depend on the code under test).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nCache-Control: no-cache\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

/// A real pypiserver on 127.0.0.1, uploads behind an htpasswd (`__token__` + a token).
pub struct PyPIServer {
    child: Child,
    pub port: u16,
    pub token: String,
    pub root: tempfile::TempDir,
    log: PathBuf,
}

impl PyPIServer {
    pub fn start() -> PyPIServer {
        PyPIServer::start_with_token(&format!("pypi-TESTTOKEN{}", random_hex(12)))
    }

    /// A server whose htpasswd accepts `__token__` with exactly this token (e.g. the one a
    /// trusted-publishing double mints).
    pub fn start_with_token(token: &str) -> PyPIServer {
        let token = token.to_owned();
        let root = tempfile::tempdir().unwrap();
        let packages = root.path().join("packages");
        std::fs::create_dir(&packages).unwrap();
        register_secret(&token);
        let htpasswd = root.path().join("htpasswd");
        let out = Command::new(venv_bin("python"))
            .args([
                "-c",
                "import os,sys\nfrom passlib.apache import HtpasswdFile\nh=HtpasswdFile(sys.argv[1],new=True)\nh.set_password('__token__',os.environ['TOKEN'])\nh.save()",
            ])
            .arg(&htpasswd)
            .env("TOKEN", &token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "htpasswd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = root.path().join("server.log");
        let mut last_err = String::new();
        // A free port can be taken between our probe and the server's bind: retry a few.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(venv_bin("pypi-server"))
                .args(["run", "-i", "127.0.0.1", "-p", &port.to_string()])
                .arg("-P")
                .arg(&htpasswd)
                .args(["-a", "update", "--disable-fallback", "--server", "auto"])
                .arg(&packages)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("start pypi-server");
            if wait_ready(&mut child, port) {
                return PyPIServer {
                    child,
                    port,
                    token,
                    root,
                    log,
                };
            }
            last_err = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("pypiserver did not start: {last_err}");
    }

    pub fn upload_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn simple_url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    /// Files the index serves for a project, with the sha256 from their `#sha256=` links.
    pub fn served(&self, project: &str) -> BTreeMap<String, String> {
        let (status, body) = http_get(self.port, &format!("/simple/{project}/"));
        if status == 404 {
            return BTreeMap::new();
        }
        assert_eq!(status, 200, "{body}");
        let mut files = BTreeMap::new();
        for part in body.split("href=\"").skip(1) {
            let href = &part[..part.find('"').unwrap_or(0)];
            let (path, frag) = href.split_once('#').unwrap_or((href, ""));
            let name = path.rsplit('/').next().unwrap_or(path).to_owned();
            let sha = frag.strip_prefix("sha256=").unwrap_or("").to_owned();
            files.insert(name, sha);
        }
        files
    }

    /// Serve the wheelhouse too (pytest and its dependencies, setuptools), as PyPI would:
    /// what a pre-flight installs besides the project. [`PyPIServer::stored`] then lists
    /// them as well.
    pub fn serve_wheelhouse(&self) {
        for e in std::fs::read_dir(tools_dir().join("wheelhouse")).unwrap() {
            let p = e.unwrap().path();
            let to = self
                .root
                .path()
                .join("packages")
                .join(p.file_name().unwrap());
            std::fs::copy(&p, to).unwrap();
        }
    }

    /// Files stored on the server's disk (what a later upload would collide with).
    pub fn stored(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root.path().join("packages"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && http_get(port, "/simple/").0 == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Drop for PyPIServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// The fixture package `improved-sdd`, built once per version with `python -m build`
/// (no isolation: setuptools comes from the tools venv, so no index is needed).
/// Returns the folder holding the wheel and the sdist.
pub fn fixture_dists(version: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let cache = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(version) {
        return p.clone();
    }
    let work = repo_root()
        .join("target")
        .join("fixture-builds")
        .join(format!("{version}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let src = work.join("src");
    copy_dir(&repo_root().join("tests/fixtures/improved-sdd"), &src);
    let pyproject = src.join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        text.replacen(
            "version = \"0.1.0\"",
            &format!("version = \"{version}\""),
            1,
        ),
    )
    .unwrap();
    let out = work.join("dist");
    let status = Command::new(venv_bin("python"))
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(&out)
        .arg(&src)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "building the fixture failed");
    cache.insert(version.to_owned(), out.clone());
    out
}

/// `git <args>` in `dir` with a fixed identity (a test machine may have none); panics with
/// git's stderr on failure and returns its trimmed stdout.
pub fn run_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("git is required to run the tests: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Where the text between the `<!-- {name}:start -->` line and `<!-- {name}:end -->` lies
/// (the README's generated blocks); panics naming the missing marker.
pub fn marked_range(text: &str, name: &str) -> std::ops::Range<usize> {
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
    a..b
}

/// `text` with its `name` block (see [`marked_range`]) replaced by `body`.
pub fn replace_between(text: &str, name: &str, body: &str) -> String {
    let r = marked_range(text, name);
    format!("{}{}{}", &text[..r.start], body, &text[r.end..])
}

/// Markdown as a `>` quote, so its headings and tables stay inside one block of the README.
pub fn blockquote(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">\n".to_owned()
            } else {
                format!("> {l}\n")
            }
        })
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let n = name.to_string_lossy();
        if n == "build" || n == "dist" || n.ends_with(".egg-info") || n == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh workspace: a temp dir with `dist/` holding copies of the fixture's files.
pub fn workspace_with_dists(version: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dists(version), &ws.path().join("dist"));
    ws
}

thread_local! {
    /// Every secret this test has handed out (index tokens, passwords). Each run through
    /// [`ActionEnv::run`] is checked against all of them, so no test can leak one unnoticed.
    /// Per test (libtest runs each test on its own thread): one test's made-up token cannot
    /// collide, eight characters at a time, with another test's ordinary output.
    static SECRETS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// User names credentials travel with (`Authorization: Basic base64(user:secret)`).
    static USERS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Every 8-byte run of every form of every secret, lower-cased, with what it came from.
    static WINDOWS: std::cell::RefCell<Option<std::rc::Rc<Windows>>> = const { std::cell::RefCell::new(None) };
}
/// An 8-byte run of a credential's form (lower-cased) → which form it is.
type Windows = HashMap<[u8; 8], String>;

/// How short a run of a credential's form still counts as a leak: a cut-off token is one.
pub const LEAK_WINDOW: usize = 8;

pub fn register_secret(secret: &str) {
    if secret.len() < LEAK_WINDOW {
        return;
    }
    SECRETS.with_borrow_mut(|all| {
        if !all.iter().any(|s| s == secret) {
            all.push(secret.to_owned());
            WINDOWS.set(None);
        }
    });
}

/// A user name some credential is sent with (`__token__` and git's `x-access-token` are
/// always known).
pub fn register_user(user: &str) {
    USERS.with_borrow_mut(|all| {
        if !all.iter().any(|u| u == user) {
            all.push(user.to_owned());
            WINDOWS.set(None);
        }
    });
}

/// Every form a credential can take in text a server or a log writes: raw, percent-encoded
/// (reserved characters or every byte; either hex case, as matching ignores case), form
/// encoding, JSON (with `\/`, or `\uXXXX` outside ASCII), HTML attributes, base64 at each
/// byte alignment (standard and URL-safe), and `Basic base64(user:secret)` for every user.
/// Written here independently of the code under test.
pub fn credential_forms(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    let b = secret.as_bytes();
    let pct = |all: bool| -> String {
        b.iter()
            .map(|&c| {
                if !all && (c.is_ascii_alphanumeric() || b"-._~".contains(&c)) {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    };
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_string();
    let ascii_json: String = json
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut u = [0u16; 2];
                c.encode_utf16(&mut u)
                    .iter()
                    .map(|x| format!("\\u{x:04x}"))
                    .collect()
            }
        })
        .collect();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;");
    let mut out = vec![
        ("raw", secret.to_owned()),
        ("percent-encoded", pct(false)),
        ("percent-encoded (every byte)", pct(true)),
        (
            "form-encoded",
            url::form_urlencoded::byte_serialize(b).collect(),
        ),
        ("JSON-escaped", json.clone()),
        ("JSON-escaped with \\/", json.replace('/', "\\/")),
        ("JSON-escaped ASCII", ascii_json),
        ("HTML-escaped", html),
    ];
    for (name, engine) in [
        ("base64", base64::engine::general_purpose::STANDARD_NO_PAD),
        (
            "base64url",
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ),
    ] {
        for shift in 0..3usize {
            let mut shifted = vec![0u8; shift];
            shifted.extend_from_slice(b);
            let enc = engine.encode(&shifted);
            let start = (shift * 8).div_ceil(6);
            if let Some(s) = enc.get(start..enc.len().saturating_sub(2)) {
                out.push((name, s.to_owned()));
            }
        }
    }
    let mut users: Vec<String> = vec!["__token__".into(), "x-access-token".into()];
    users.extend(USERS.with_borrow(|u| u.clone()));
    for u in users {
        // From the first character holding a bit of the secret: the user's own part is no
        // secret (and is in every request that user sends).
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{secret}"));
        let from = ((u.len() + 1) * 8) / 6;
        out.push(("Basic user:secret", enc[from..].to_owned()));
    }
    out
}

/// Every [`LEAK_WINDOW`]-byte run of every form of `secrets`, lower-cased, with its form.
fn windows_of<'s>(secrets: impl IntoIterator<Item = &'s str>) -> Windows {
    let mut windows = HashMap::new();
    for s in secrets {
        for (kind, form) in credential_forms(s) {
            let lower = form.to_ascii_lowercase().into_bytes();
            for w in lower.windows(LEAK_WINDOW) {
                let key: [u8; 8] = w.try_into().unwrap();
                windows
                    .entry(key)
                    .or_insert_with(|| format!("{kind} form of a credential"));
            }
        }
    }
    windows
}

fn leak_windows() -> std::rc::Rc<Windows> {
    if let Some(w) = WINDOWS.with_borrow(|w| w.clone()) {
        return w;
    }
    let secrets = SECRETS.with_borrow(|s| s.clone());
    let windows = std::rc::Rc::new(windows_of(secrets.iter().map(String::as_str)));
    WINDOWS.set(Some(windows.clone()));
    windows
}

/// The first run of at least [`LEAK_WINDOW`] characters of any form of any registered
/// secret in `text` (case-insensitive), with what it is.
pub fn find_secret(text: &str) -> Option<(String, String)> {
    find_in(&leak_windows(), text)
}

/// [`find_secret`] for these credentials only (registered or not).
pub fn find_forms(text: &str, secrets: &[&str]) -> Option<(String, String)> {
    find_in(&windows_of(secrets.iter().copied()), text)
}

fn find_in(windows: &Windows, text: &str) -> Option<(String, String)> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    (0..bytes.len().saturating_sub(LEAK_WINDOW - 1)).find_map(|i| {
        let key: [u8; 8] = bytes[i..i + LEAK_WINDOW].try_into().unwrap();
        windows.get(&key).map(|kind| {
            let mut from = i.saturating_sub(20);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (i + 28).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            (kind.clone(), text[from..to].to_owned())
        })
    })
}

/// Panic if any form of any registered secret (see [`credential_forms`]; eight characters
/// of one are enough) appears in `text` anywhere but an `::add-mask::` line (the one place
/// the raw value must appear, so the runner can hide it).
pub fn assert_no_secrets(what: &str, text: &str) {
    for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
        if let Some((kind, around)) = find_secret(line) {
            panic!("{what}: a secret leaked into the output ({kind}): …{around:?}…");
        }
    }
}

/// What one run of `sdd-publish run` left behind.
pub struct RunResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub output_file: String,
    pub summary: String,
}

impl RunResult {
    pub fn all_output(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout, self.stderr, self.output_file, self.summary
        )
    }

    /// The `$GITHUB_OUTPUT` entries in order, parsed from the heredoc form.
    pub fn outputs(&self) -> Vec<(String, String)> {
        parse_output_file(&self.output_file)
    }

    /// The `::error` annotation lines on stdout, in order.
    pub fn errors(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("::error"))
            .collect()
    }

    /// The first `::error` annotation line, or "" (so the assertion on it shows the output).
    pub fn first_error(&self) -> &str {
        self.errors().first().copied().unwrap_or_default()
    }

    pub fn output(&self, name: &str) -> Option<String> {
        self.outputs()
            .into_iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// Parse `name<<DELIM\nvalue\nDELIM\n` entries; panics on anything else, so a malformed
/// file fails the test.
pub fn parse_output_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(head) = lines.next() {
        let (name, delim) = head
            .split_once("<<")
            .unwrap_or_else(|| panic!("not a heredoc output line: {head:?}\n{text}"));
        let mut value = Vec::new();
        loop {
            let l = lines
                .next()
                .unwrap_or_else(|| panic!("unterminated output {name}\n{text}"));
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.push((name.to_owned(), value.join("\n")));
    }
    out
}

/// An Actions-like environment for one run: GITHUB_ACTIONS, output/summary files in `dir`,
/// an event payload, and the given extra variables.
pub struct ActionEnv {
    pub dir: tempfile::TempDir,
    pub vars: BTreeMap<String, String>,
}

impl ActionEnv {
    pub fn new(event: &str, git_ref: &str, default_branch: &str) -> ActionEnv {
        let dir = tempfile::tempdir().unwrap();
        let payload = serde_json::json!({
            "ref": git_ref,
            "repository": {
                "full_name": "octo-org/improved-sdd",
                "default_branch": default_branch,
                "fork": false
            }
        });
        let event_path = dir.path().join("event.json");
        std::fs::write(&event_path, payload.to_string()).unwrap();
        let mut vars = BTreeMap::new();
        for (k, v) in [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_REF", git_ref),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REPOSITORY", "octo-org/improved-sdd"),
            ("GITHUB_RUN_ID", "1001"),
            ("GITHUB_RUN_NUMBER", "17"),
            ("GITHUB_RUN_ATTEMPT", "1"),
        ] {
            vars.insert(k.into(), v.into());
        }
        vars.insert("GITHUB_EVENT_PATH".into(), event_path.display().to_string());
        vars.insert(
            "GITHUB_OUTPUT".into(),
            dir.path().join("output").display().to_string(),
        );
        vars.insert(
            "GITHUB_STEP_SUMMARY".into(),
            dir.path().join("summary.md").display().to_string(),
        );
        // Tag pushes would otherwise cut a GitHub Release at api.github.com; `release.rs`
        // turns it on against the API double.
        vars.insert("INPUT_RELEASE".into(), "false".into());
        // Likewise trusted-publishing runs would attest with the public-good Sigstore;
        // `attest.rs` turns it on against the Fulcio and Rekor doubles.
        vars.insert("INPUT_ATTESTATIONS".into(), "false".into());
        ActionEnv { dir, vars }
    }

    pub fn set(&mut self, k: &str, v: impl Into<String>) -> &mut Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    pub fn remove(&mut self, k: &str) -> &mut Self {
        self.vars.remove(k);
        self
    }

    /// Run `sdd-publish <args>` in `cwd` with exactly these variables (plus PATH and HOME).
    pub fn run(&self, cwd: &Path, args: &[&str]) -> RunResult {
        for (k, v) in &self.vars {
            // Tokens and passwords, not every name with TOKEN in it: the value of
            // ACTIONS_ID_TOKEN_REQUEST_URL is a URL that other tests print on purpose.
            if k.ends_with("TOKEN") || k.ends_with("PASSWORD") {
                register_secret(v);
            }
            // A real user's name: `Basic base64(user:password)` is a form to look for too.
            if k.ends_with("_USERNAME") && !v.is_empty() {
                register_user(v);
            }
        }
        let mut cmd = Command::new(sdd_publish_bin());
        let out: Output = cmd
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .envs(&self.vars)
            .output()
            .unwrap();
        let read = |k: &str| {
            self.vars
                .get(k)
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let result = RunResult {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            output_file: read("GITHUB_OUTPUT"),
            summary: read("GITHUB_STEP_SUMMARY"),
        };
        assert_no_secrets(
            &format!("sdd-publish {}", args.join(" ")),
            &result.all_output(),
        );
        result
    }
}

/// Install `requirement` from the server's simple index into a fresh venv with pip (no cache)
/// and return what `improved-sdd --version` prints: the proof that a release installs.
pub fn install_and_report_version(
    server: &PyPIServer,
    pip_args: &[&str],
    requirement: &str,
) -> String {
    let venv = tempfile::tempdir().unwrap();
    let ok = Command::new(venv_bin("python"))
        .args(["-m", "venv"])
        .arg(venv.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "python -m venv failed");
    let pip = Command::new(venv.path().join("bin/pip"))
        .args(["install", "--no-cache-dir", "--disable-pip-version-check"])
        .args(pip_args)
        .arg("--index-url")
        .arg(server.simple_url())
        .arg(requirement)
        .output()
        .unwrap();
    assert!(
        pip.status.success(),
        "{}",
        String::from_utf8_lossy(&pip.stderr)
    );
    let out = Command::new(venv.path().join("bin/improved-sdd"))
        .arg("--version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
