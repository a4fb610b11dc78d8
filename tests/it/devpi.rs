//! A private index with real users (also behind `examples/private-index.yml` under act): devpi-server (`devpi-init`, then `devpi-server` on a
//! free loopback port; the user and the index made with devpi-client). Its layout is not
//! PyPI's: the upload URL is `/<user>/<index>/`, the simple index
//! `/<user>/<index>/+simple/` (PEP 691 JSON, relative file URLs under `/<user>/<index>/+f/`).
//! With `pypi-username` and the password in `pypi-token` the action uploads, skips on a
//! re-run, verifies the release from the index, and names the user and both inputs when the
//! password is wrong — never printing it.
//!
//! devpi lets anyone read an index, so a loopback proxy in front of it records each
//! request's `Authorization` header: the pre-upload query must carry the user's
//! credentials (a private Artifactory or Nexus refuses anonymous reads), and only requests
//! from sdd-publish may carry them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

use crate::support::*;

const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";

fn devpi_bin(name: &str) -> PathBuf {
    require_tool(&format!("devpi/bin/{name}"))
}

/// A devpi-server on 127.0.0.1 with user `alice` and her index `alice/dev` (no bases: no
/// PyPI mirror behind it, and `--offline-mode` besides).
pub(crate) struct Devpi {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
    pub(crate) password: String,
}

impl Devpi {
    pub(crate) fn start() -> Devpi {
        let dir = tempfile::tempdir().unwrap();
        let server_dir = dir.path().join("server");
        let out = Command::new(devpi_bin("devpi-init"))
            .arg("--serverdir")
            .arg(&server_dir)
            .arg("--no-root-pypi")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "devpi-init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = dir.path().join("server.log");
        let port = free_port();
        let mut child = Command::new(devpi_bin("devpi-server"))
            .arg("--serverdir")
            .arg(&server_dir)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--offline-mode")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start devpi-server");
        // devpi loads pyramid and its plugins first: seconds, more on a busy machine.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "devpi-server exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && http_get(port, "/").0 == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "devpi-server did not answer: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // No word in it: the redactor hides any eight characters of a secret, "PASSWORD" too.
        let password = format!("devpi-{}", random_hex(12));
        register_secret(&password);
        let server = Devpi {
            child,
            port,
            _dir: dir,
            password,
        };
        let client = server._dir.path().join("client");
        let devpi = |args: &[&str]| {
            let out = Command::new(devpi_bin("devpi"))
                .arg("--clientdir")
                .arg(&client)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "devpi {}: {}{}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        devpi(&["use", &format!("http://127.0.0.1:{port}/")]);
        devpi(&[
            "user",
            "-c",
            "alice",
            &format!("password={}", server.password),
            "email=alice@example.com",
        ]);
        devpi(&["login", "alice", "--password", &server.password]);
        devpi(&["index", "-c", "dev", "bases=", "volatile=False"]);
        server
    }

    /// The files `alice/dev` serves for improved-sdd, with their sha256.
    pub(crate) fn served(&self) -> std::collections::BTreeMap<String, String> {
        let (status, body) = http_get(self.port, "/alice/dev/+simple/improved-sdd/");
        if status == 404 {
            return Default::default();
        }
        assert_eq!(status, 200, "{body}");
        body.split("href=\"")
            .skip(1)
            .filter_map(|part| {
                let href = &part[..part.find('"')?];
                let (path, frag) = href.split_once("#sha256=")?;
                Some((path.rsplit('/').next()?.to_owned(), frag.to_owned()))
            })
            .collect()
    }
}

impl Drop for Devpi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    user_agent: String,
    authorization: Option<String>,
}

/// A loopback proxy in front of devpi: one request per connection (it answers with
/// `Connection: close`), each recorded.
fn recording_proxy(upstream: u16) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            let log = log.clone();
            std::thread::spawn(move || {
                let _ = forward(conn, upstream, &log);
            });
        }
    });
    (port, seen)
}

fn forward(mut conn: TcpStream, upstream: u16, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.split_whitespace();
    log.lock().unwrap().push(Seen {
        method: first.next().unwrap_or_default().to_owned(),
        path: first.next().unwrap_or_default().to_owned(),
        user_agent: header("user-agent").unwrap_or_default(),
        authorization: header("authorization"),
    });
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_owned() + "\r\nConnection: close\r\n\r\n";
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(head.as_bytes())?;
    up.write_all(&buf[head_end..])?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    conn.write_all(&answer)
}

fn publish_env(proxy: u16, password: &str, ws: &Path) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    let base = format!("http://127.0.0.1:{proxy}/alice/dev/");
    env.set("INPUT_PYPI_URL", base.clone())
        .set("INPUT_PYPI_INDEX_URL", format!("{base}+simple/"))
        .set("INPUT_PYPI_USERNAME", "alice")
        .set("INPUT_PYPI_TOKEN", password)
        .set("INPUT_VERIFY_COMMAND", "improved-sdd --version")
        .set("SDD_PUBLISH_VERIFY_INTERVAL_MS", "200")
        .set("GITHUB_WORKSPACE", ws.display().to_string())
        // uv first on PATH: the pre-flight and verification install with it.
        .set(
            "PATH",
            format!(
                "{}:{}",
                venv_bin("uv").parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    env
}

#[test]
fn devpi_with_a_username_uploads_skips_on_a_rerun_verifies_and_names_a_wrong_password() {
    let devpi = Devpi::start();
    let (proxy, seen) = recording_proxy(devpi.port);
    let ws = workspace_with_dists("0.1.0");
    let dist = ws.path().join("dist");

    // 1. The upload, then verification from the index (served hashes, install, command).
    let r = publish_env(proxy, &devpi.password, ws.path()).run(ws.path(), &["run"]);
    let all = r.all_output();
    assert_eq!(r.code, 0, "{all}");
    assert_eq!(devpi.served(), sha256_of(&dist, &[WHEEL, SDIST]), "{all}");
    assert_eq!(
        r.output("uploaded").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );
    assert_eq!(r.output("verified").as_deref(), Some("true"), "{all}");
    assert!(
        r.stdout
            .contains("$ improved-sdd --version\nimproved-sdd 0.1.0"),
        "{all}"
    );
    assert_eq!(
        r.output("project-url").as_deref(),
        Some(format!("http://127.0.0.1:{proxy}/alice/dev/+simple/improved-sdd/").as_str())
    );
    assert!(
        r.summary
            .contains("user `alice` with the password in `pypi-token` (`pypi-username` input)"),
        "{}",
        r.summary
    );

    // Our requests carried alice's credentials, the installer's (uv) none.
    let alice = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("alice:{}", devpi.password))
    );
    let requests = seen.lock().unwrap().clone();
    let ours: Vec<&Seen> = requests
        .iter()
        .filter(|s| s.user_agent.starts_with("sdd-publish"))
        .collect();
    assert!(
        ours.iter()
            .any(|s| s.method == "GET" && s.path == "/alice/dev/+simple/improved-sdd/"),
        "the pre-upload query went through the proxy: {requests:#?}"
    );
    assert_eq!(
        ours.iter().filter(|s| s.method == "POST").count(),
        2,
        "{requests:#?}"
    );
    for s in &ours {
        assert_eq!(s.authorization.as_deref(), Some(alice.as_str()), "{s:?}");
    }
    // The installer did read through the proxy (so the next line tests something).
    let theirs: Vec<&Seen> = requests
        .iter()
        .filter(|s| !s.user_agent.starts_with("sdd-publish"))
        .collect();
    assert!(
        theirs.iter().any(|s| s.path.contains("/+simple/")),
        "{requests:#?}"
    );
    assert!(
        theirs.iter().all(|s| s.authorization.is_none()),
        "{requests:#?}"
    );

    // 2. A re-run: both files are there, identical, skipped; nothing is sent again.
    seen.lock().unwrap().clear();
    let r = publish_env(proxy, &devpi.password, ws.path()).run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(r.output("uploaded").as_deref(), Some(""));
    assert_eq!(
        r.output("skipped").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );
    let rerun = seen.lock().unwrap().clone();
    // It asked the index (through the proxy), and sent nothing.
    assert!(
        rerun
            .iter()
            .any(|s| s.method == "GET" && s.path == "/alice/dev/+simple/improved-sdd/"),
        "{rerun:#?}"
    );
    assert!(rerun.iter().all(|s| s.method != "POST"), "{rerun:#?}");

    // 3. A wrong password: devpi answers 401; the error names the user and both inputs.
    let fresh = workspace_with_dists("0.1.0");
    let other = fresh.path().join("dist");
    for f in [WHEEL, SDIST] {
        // Another version, so the upload is attempted rather than skipped.
        std::fs::remove_file(other.join(f)).unwrap();
    }
    copy_dir(&fixture_dists("1.2.0"), &other);
    let wrong = format!("devpi-WRONG{}", random_hex(8));
    let mut env = publish_env(proxy, &wrong, fresh.path());
    env.set("GITHUB_REF", "refs/tags/v1.2.0");
    let r = env.run(fresh.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    for needle in [
        format!("the index at http://127.0.0.1:{proxy}/alice/dev/ (the PyPI target) refused the password of user `alice` (HTTP 401)"),
        "`pypi-username`".into(),
        "`pypi-token`".into(),
    ] {
        assert!(errors[0].contains(&needle), "{needle}: {}", errors[0]);
    }
    assert_eq!(
        r.all_output().matches(&wrong).count(),
        1,
        "only the mask line"
    );
    assert_eq!(devpi.served().len(), 2, "nothing new on the index");
}
