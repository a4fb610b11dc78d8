//! Trusted publishing end to end: `sdd-publish run` against a loopback double of GitHub's
//! ID-token endpoint and of warehouse's `/_/oidc/audience` and `/_/oidc/mint-token` routes
//! (shapes from `warehouse/oidc/views.py` and `@actions/core`'s `getIDToken`), with the
//! index double in front of a real pypiserver whose htpasswd holds the minted token — so a
//! green upload proves the minted token is what reached the index.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::support::*;

const VERSION: &str = "0.1.0";
const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";
const AUDIENCE: &str = "pypi";
const WORKFLOW_REF: &str = "octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v0.1.0";

/// What the mint route answers.
#[derive(Clone)]
pub(crate) enum Mint {
    /// `{"success": true, "token": ..., "expires": now + secs}`.
    Token { token: String, lifetime: u64 },
    /// A 422 with these error codes.
    Refuse { codes: Vec<&'static str> },
}

/// One request the double saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// `github` or `index`.
    pub side: &'static str,
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

struct State {
    request_token: String,
    claims: serde_json::Value,
    mint: Mint,
    issued: Vec<String>,
    used: Vec<String>,
    seen: Vec<Seen>,
}

pub(crate) struct OidcDouble {
    github_port: u16,
    index_port: u16,
    state: Arc<Mutex<State>>,
}

impl OidcDouble {
    /// `upstream`: the pypiserver port every non-OIDC request is forwarded to.
    pub(crate) fn start(
        upstream: Option<u16>,
        claims: serde_json::Value,
        mint: Mint,
    ) -> OidcDouble {
        let state = Arc::new(Mutex::new(State {
            request_token: format!("ghs_REQUESTTOKEN{}", random_hex(12)),
            claims,
            mint,
            issued: Vec::new(),
            used: Vec::new(),
            seen: Vec::new(),
        }));
        let github = TcpListener::bind("127.0.0.1:0").unwrap();
        let index = TcpListener::bind("127.0.0.1:0").unwrap();
        let (github_port, index_port) = (
            github.local_addr().unwrap().port(),
            index.local_addr().unwrap().port(),
        );
        for (listener, side) in [(github, "github"), (index, "index")] {
            let state = state.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || serve(conn, side, &state, upstream));
                }
            });
        }
        OidcDouble {
            github_port,
            index_port,
            state,
        }
    }

    fn request_url(&self) -> String {
        // The runner's URL already carries a query; clients append `&audience=`.
        format!(
            "http://127.0.0.1:{}/_apis/distributedtask/hubs/Actions/plans/p/jobs/j/idtoken?api-version=2.0",
            self.github_port
        )
    }

    pub(crate) fn upload_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.index_port)
    }

    pub(crate) fn request_token(&self) -> String {
        self.state.lock().unwrap().request_token.clone()
    }

    pub(crate) fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    fn count(&self, side: &str, path_prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.side == side && s.path.starts_with(path_prefix))
            .count()
    }

    /// The environment of a job with `id-token: write`.
    pub(crate) fn grant(&self, env: &mut ActionEnv) {
        env.set("ACTIONS_ID_TOKEN_REQUEST_URL", self.request_url())
            .set("ACTIONS_ID_TOKEN_REQUEST_TOKEN", self.request_token());
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// GitHub's claims for a tag push of `publish.yml` in the `pypi` environment.
pub(crate) fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:octo-org/improved-sdd:environment:pypi",
        "repository": "octo-org/improved-sdd",
        "repository_owner": "octo-org",
        "repository_owner_id": "1001",
        "workflow_ref": WORKFLOW_REF,
        "job_workflow_ref": WORKFLOW_REF,
        "ref": "refs/tags/v0.1.0",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "environment": "pypi",
        "event_name": "push"
    })
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// Everything read so far: head and the start of the body.
    raw: Vec<u8>,
    body_start: usize,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

fn read_head(conn: &mut TcpStream) -> Option<Request> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        target,
        headers,
        raw,
        body_start: end + 4,
    })
}

fn read_body_bytes(conn: &mut TcpStream, req: &Request) -> Vec<u8> {
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = req.raw[req.body_start..].to_vec();
    let mut buf = [0u8; 8192];
    while body.len() < len {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    body
}

fn respond(conn: &mut TcpStream, status: u16, body: &str) {
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Both);
}

fn serve(mut conn: TcpStream, side: &'static str, state: &Mutex<State>, upstream: Option<u16>) {
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let Some(req) = read_head(&mut conn) else {
        return;
    };
    let path = req.target.clone();
    let is_oidc = side == "github" || path.starts_with("/_/oidc/");
    // Uploads are read whole too, so tests can see the form (attestations); then forwarded.
    let upload = !is_oidc && req.method == "POST";
    let raw_body = if is_oidc || upload {
        read_body_bytes(&mut conn, &req)
    } else {
        Vec::new()
    };
    let body = String::from_utf8_lossy(&raw_body).into_owned();
    state.lock().unwrap().seen.push(Seen {
        side,
        method: req.method.clone(),
        path: path.clone(),
        authorization: req.header("authorization"),
        body: body.clone(),
    });
    if !is_oidc {
        // Everything else is the index itself: hand the connection to pypiserver.
        let mut sent = req.raw.clone();
        if upload {
            // One request per connection (the index answers `Connection: close`), so the
            // next upload comes through `serve` and is recorded too.
            let line_end = sent.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
            sent.truncate(req.body_start);
            sent.splice(line_end..line_end, b"Connection: close\r\n".iter().copied());
            sent.extend_from_slice(&raw_body);
        }
        match upstream.and_then(|p| TcpStream::connect(("127.0.0.1", p)).ok()) {
            Some(up) => pipe(conn, up, &sent),
            None => respond(&mut conn, 502, r#"{"message": "no upstream"}"#),
        }
        return;
    }
    let mut st = state.lock().unwrap();
    match (
        side,
        req.method.as_str(),
        path.split('?').next().unwrap_or(""),
    ) {
        ("github", "GET", p) if p.ends_with("/idtoken") => {
            let auth_ok = req.header("authorization").is_some_and(|a| {
                a.split_once(' ').is_some_and(|(scheme, tok)| {
                    scheme.eq_ignore_ascii_case("bearer") && tok == st.request_token
                })
            });
            let audience = url::Url::parse(&format!("http://x{path}"))
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "audience")
                        .map(|(_, v)| v.into_owned())
                });
            match (auth_ok, audience) {
                (false, _) => respond(&mut conn, 401, r#"{"message": "bad credentials"}"#),
                (true, None) => respond(&mut conn, 400, r#"{"message": "no audience"}"#),
                (true, Some(aud)) => {
                    let mut claims = st.claims.clone();
                    claims["aud"] = aud.into();
                    claims["jti"] = random_hex(16).into();
                    claims["exp"] = (now() + 300).into();
                    let jwt = format!(
                        "{}.{}.{}",
                        b64(br#"{"alg":"RS256","typ":"JWT","kid":"double"}"#),
                        b64(claims.to_string().as_bytes()),
                        b64(random_hex(64).as_bytes())
                    );
                    st.issued.push(jwt.clone());
                    let body = serde_json::json!({ "count": 1, "value": jwt }).to_string();
                    respond(&mut conn, 200, &body);
                }
            }
        }
        ("index", "GET", "/_/oidc/audience") => {
            respond(
                &mut conn,
                200,
                &serde_json::json!({ "audience": AUDIENCE }).to_string(),
            );
        }
        ("index", "POST", "/_/oidc/mint-token") => {
            let invalid = |codes: &[(&str, &str)]| {
                let errors: Vec<_> = codes
                    .iter()
                    .map(|(c, d)| serde_json::json!({"code": c, "description": d}))
                    .collect();
                serde_json::json!({"message": "Token request failed", "errors": errors}).to_string()
            };
            let token = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("token")?.as_str().map(str::to_owned));
            let Some(token) = token else {
                let b = invalid(&[("invalid-payload", "1 validation error for TokenPayload")]);
                return respond(&mut conn, 422, &b);
            };
            if !st.issued.contains(&token) {
                return respond(
                    &mut conn,
                    422,
                    &invalid(&[("invalid-token", "malformed or invalid token")]),
                );
            }
            if st.used.contains(&token) {
                return respond(
                    &mut conn,
                    422,
                    &invalid(&[("invalid-reuse-token", "invalid token: already used")]),
                );
            }
            st.used.push(token);
            match st.mint.clone() {
                Mint::Token { token, lifetime } => {
                    let body = serde_json::json!({
                        "success": true, "token": token, "expires": now() + lifetime
                    })
                    .to_string();
                    respond(&mut conn, 200, &body);
                }
                Mint::Refuse { codes } => {
                    let pairs: Vec<(&str, &str)> =
                        codes.iter().map(|c| (*c, description(c))).collect();
                    respond(&mut conn, 422, &invalid(&pairs));
                }
            }
        }
        _ => respond(&mut conn, 404, r#"{"message": "not found"}"#),
    }
}

/// Warehouse's descriptions for each code (`warehouse/oidc/views.py`).
fn description(code: &str) -> &'static str {
    match code {
        "invalid-publisher" => "valid token, but no corresponding publisher (Publisher with matching claims was not found)",
        "invalid-pending-publisher" => "valid token, but project already exists",
        "invalid-reuse-token" => "invalid token: already used",
        "invalid-token" => "malformed or invalid token",
        "invalid-payload" => "unknown trusted publishing issuer",
        "not-enabled" => "GitHub trusted publishing functionality not enabled",
        _ => "unknown",
    }
}

/// Forward a connection both ways until either side closes.
fn pipe(mut client: TcpStream, mut upstream: TcpStream, already_read: &[u8]) {
    if upstream.write_all(already_read).is_err() {
        return;
    }
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_r, &mut upstream_w);
        let _ = upstream_w.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
}

pub(crate) fn tag_push() -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("INPUT_PACKAGES_DIR", "dist");
    env
}

/// `sdd-publish run` for a tag push whose job may mint an ID token, publishing to `double`.
fn run_trusted(double: &OidcDouble, ws: &std::path::Path) -> RunResult {
    let mut env = tag_push();
    env.set("INPUT_PYPI_URL", double.upload_url());
    double.grant(&mut env);
    env.run(ws, &["run"])
}

/// Every occurrence of `secret` in all captured output is the runner's mask command.
fn only_masked(r: &RunResult, secret: &str, what: &str) {
    let all = r.all_output();
    let total = all.matches(secret).count();
    let masks = r
        .stdout
        .lines()
        .filter(|l| *l == format!("::add-mask::{secret}"))
        .count();
    assert_eq!(masks, 1, "{what} is masked exactly once:\n{}", r.stdout);
    assert_eq!(
        total, masks,
        "{what} appears outside its mask command:\n{all}"
    );
}

/// The `::error::` line, unescaped.
fn error_text(r: &RunResult) -> String {
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.all_output());
    errors[0]
        .replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%25", "%")
}

#[test]
fn minted_token_reaches_pypiserver_and_never_prints() {
    let minted = format!("pypi-MINTED{}", random_hex(16));
    let server = PyPIServer::start_with_token(&minted);
    let double = OidcDouble::start(
        Some(server.port),
        claims(),
        Mint::Token {
            token: minted.clone(),
            lifetime: 900,
        },
    );
    let ws = workspace_with_dists(VERSION);
    let r = run_trusted(&double, ws.path());
    assert_eq!(r.code, 0, "{}", r.all_output());

    // pypiserver accepted `__token__` + the minted token: the files are there.
    let expected = sha256_of(&ws.path().join("dist"), &[WHEEL, SDIST]);
    assert_eq!(server.served("improved-sdd"), expected, "{}", server.log());
    assert_eq!(
        r.output("uploaded").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );

    // One audience lookup, one ID token for that audience, one exchange of exactly it.
    assert_eq!(double.count("index", "/_/oidc/audience"), 1);
    assert_eq!(double.count("index", "/_/oidc/mint-token"), 1);
    assert_eq!(double.count("github", "/"), 1);
    let issued = double.issued();
    assert_eq!(issued.len(), 1);
    let seen = double.seen();
    let gh = seen.iter().find(|s| s.side == "github").unwrap();
    assert!(
        gh.path.ends_with("?api-version=2.0&audience=pypi"),
        "{}",
        gh.path
    );
    let mint = seen
        .iter()
        .find(|s| s.path == "/_/oidc/mint-token")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&mint.body).unwrap();
    assert_eq!(body, serde_json::json!({ "token": issued[0] }));

    // Credentials go where they belong and nowhere else: the request token only to GitHub,
    // nothing to the OIDC routes, Basic auth (the minted token) only on the uploads.
    assert!(gh
        .authorization
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case(&format!("bearer {}", double.request_token()))));
    for s in seen.iter().filter(|s| s.path.starts_with("/_/oidc/")) {
        assert_eq!(s.authorization, None, "{s:?}");
    }
    let uploads: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.side == "index" && s.method == "POST" && s.path == "/")
        .collect();
    assert!(!uploads.is_empty());
    assert!(uploads.iter().all(|s| s
        .authorization
        .as_deref()
        .is_some_and(|a| a.starts_with("Basic "))));

    // Every token is masked before use and appears nowhere else.
    only_masked(&r, &minted, "the minted token");
    only_masked(&r, &issued[0], "the ID token");
    // The runner's request token is a credential too: masked, in case anything echoes it.
    only_masked(&r, &double.request_token(), "the ID-token request token");
    let mask_id = r
        .stdout
        .find(&format!("::add-mask::{}", issued[0]))
        .unwrap();
    let mask_minted = r.stdout.find(&format!("::add-mask::{minted}")).unwrap();
    let minted_line = r.stdout.find("minted a short-lived API token").unwrap();
    assert!(
        mask_id < mask_minted && mask_minted < minted_line,
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("audience `pypi`"), "{}", r.stdout);
}

#[test]
fn a_token_about_to_expire_is_reminted_with_a_fresh_id_token() {
    let minted = format!("pypi-MINTED{}", random_hex(16));
    let server = PyPIServer::start_with_token(&minted);
    // 60 s left is inside the re-mint margin: every upload needs a new token.
    let double = OidcDouble::start(
        Some(server.port),
        claims(),
        Mint::Token {
            token: minted.clone(),
            lifetime: 60,
        },
    );
    let ws = workspace_with_dists(VERSION);
    let r = run_trusted(&double, ws.path());
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(server.stored(), vec![WHEEL.to_string(), SDIST.to_string()]);
    assert_eq!(
        double.count("index", "/_/oidc/audience"),
        1,
        "audience once"
    );
    // One mint to ask the index what it has, then one before each file's upload (parallel
    // uploads share the session; each attempt re-mints a token inside the margin).
    assert_eq!(
        double.count("index", "/_/oidc/mint-token"),
        3,
        "a mint for the query, then one per file"
    );
    let issued = double.issued();
    assert_eq!(issued.len(), 3);
    let distinct: std::collections::BTreeSet<_> = issued.iter().collect();
    assert_eq!(distinct.len(), 3, "a fresh ID token for each exchange");
    assert!(r.stdout.contains("minting a new one"), "{}", r.stdout);
    for t in &issued {
        only_masked(&r, t, "an ID token");
    }
    // The same value was minted twice here, so it is masked twice and printed nowhere else.
    let all = r.all_output();
    assert_eq!(
        all.matches(&minted).count(),
        r.stdout.matches(&format!("::add-mask::{minted}")).count()
    );
}

#[test]
fn each_refusal_is_explained_with_claims_fix_and_publisher_link() {
    let link = "https://pypi.org/manage/project/improved-sdd/settings/publishing/?provider=github&owner=octo-org&repository=improved-sdd&workflow_filename=publish.yml&environment=pypi";
    let cases: &[(&str, &str)] = &[
        (
            "invalid-publisher",
            "no trusted publisher on PyPI matches this job",
        ),
        ("invalid-pending-publisher", "already exists on PyPI"),
        ("invalid-reuse-token", "already seen this ID token"),
        ("invalid-token", "could not verify the ID token"),
        ("invalid-payload", "does not trust its issuer"),
        ("not-enabled", "switched off on PyPI"),
    ];
    let ws = workspace_with_dists(VERSION);
    for (code, fix) in cases {
        let double = OidcDouble::start(None, claims(), Mint::Refuse { codes: vec![code] });
        let r = run_trusted(&double, ws.path());
        assert_eq!(r.code, 1, "{code}: {}", r.all_output());
        let err = error_text(&r);
        for needle in [
            "trusted publishing to PyPI failed",
            "HTTP 422: Token request failed",
            &format!("* `{code}`: {}", description(code)),
            "  Fix: ",
            fix,
            "repository: octo-org/improved-sdd",
            &format!("workflow_ref: {WORKFLOW_REF}"),
            &format!("job_workflow_ref: {WORKFLOW_REF}"),
            "ref: refs/tags/v0.1.0",
            "environment: pypi",
            link,
        ] {
            assert!(err.contains(needle), "{code}: `{needle}` missing in\n{err}");
        }
        assert!(!err.contains("reusable workflow"), "{err}");
        assert!(r.summary.contains(code), "{code}: {}", r.summary);
        // Nothing was uploaded and the ID token shows only in its mask.
        assert_eq!(double.count("index", "/"), 2, "only the two OIDC routes");
        let issued = double.issued();
        assert_eq!(issued.len(), 1);
        only_masked(&r, &issued[0], "the ID token");
        // Refused before any upload: this run did not publish, and `reason` says where.
        assert_eq!(r.output("should-publish").as_deref(), Some("false"));
        assert!(
            r.output("reason")
                .unwrap()
                .starts_with("the connection to the index failed, so nothing was published"),
            "{:?}",
            r.output("reason")
        );
    }
}

#[test]
fn a_reusable_workflow_refusal_names_both_workflow_refs() {
    let mut c = claims();
    let job_ref = "octo-org/improved-sdd/.github/workflows/pypi-upload.yml@refs/tags/v0.1.0";
    c["job_workflow_ref"] = job_ref.into();
    c.as_object_mut().unwrap().remove("environment");
    let double = OidcDouble::start(
        None,
        c,
        Mint::Refuse {
            codes: vec!["invalid-publisher"],
        },
    );
    let ws = workspace_with_dists(VERSION);
    let r = run_trusted(&double, ws.path());
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = error_text(&r);
    for needle in [
        "This job runs in a reusable workflow",
        &format!("`job_workflow_ref` ({job_ref})")[..],
        &format!("not the calling workflow ({WORKFLOW_REF})"),
        "environment: MISSING",
        "This job has no `environment:`",
        "workflow_filename=pypi-upload.yml",
    ] {
        assert!(err.contains(needle), "`{needle}` missing in\n{err}");
    }
    assert!(!err.contains("&environment="), "{err}");
}

#[test]
fn always_without_id_token_permission_says_how_to_grant_it() {
    let ws = workspace_with_dists(VERSION);
    let mut env = tag_push();
    env.set("INPUT_TRUSTED_PUBLISHING", "always")
        .set("INPUT_PYPI_TOKEN", "pypi-unused-token")
        .set(
            "INPUT_PYPI_URL",
            format!("http://127.0.0.1:{}/", free_port()),
        );
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = error_text(&r);
    assert!(err.contains("`trusted-publishing: always`"), "{err}");
    assert!(err.contains("id-token: write"), "{err}");
    assert!(!err.contains("from a fork"), "{err}");
    assert_eq!(r.output("should-publish").as_deref(), Some("false"));

    // A pull request from a fork (forced to publish) is told why no token will ever come.
    let event = env.dir.path().join("pr.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "pull_request": {"head": {"repo": {"full_name": "mallory/improved-sdd"}}},
            "repository": {"full_name": "octo-org/improved-sdd", "default_branch": "master", "fork": false}
        })
        .to_string(),
    )
    .unwrap();
    env.set("GITHUB_EVENT_NAME", "pull_request")
        .set("GITHUB_REF", "refs/pull/7/merge")
        .set("GITHUB_EVENT_PATH", event.display().to_string())
        .set("INPUT_MODE", "pypi");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = error_text(&r);
    assert!(err.contains("pull request from a fork"), "{err}");
}

#[test]
fn never_or_no_permission_without_a_token_is_the_missing_token_error() {
    let ws = workspace_with_dists(VERSION);
    let double = OidcDouble::start(
        None,
        claims(),
        Mint::Token {
            token: "pypi-never-minted".into(),
            lifetime: 900,
        },
    );
    // `never`: the job could mint, but must not.
    let mut env = tag_push();
    env.set("INPUT_TRUSTED_PUBLISHING", "never")
        .set("INPUT_PYPI_URL", double.upload_url());
    double.grant(&mut env);
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = error_text(&r);
    assert!(err.contains("`pypi-token`"), "{err}");
    assert!(err.contains("secrets.PYPI_API_TOKEN"), "{err}");
    assert!(double.seen().is_empty(), "nothing contacted");

    // `auto` without `id-token: write`: same error, which names the permission too.
    let mut env = tag_push();
    env.set("INPUT_PYPI_URL", double.upload_url());
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let err = error_text(&r);
    assert!(err.contains("`pypi-token`"), "{err}");
    assert!(err.contains("`permissions: id-token: write`"), "{err}");
    assert!(double.seen().is_empty(), "nothing contacted");
}
