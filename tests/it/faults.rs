//! Uploads against pypiserver: re-runs are idempotent, different bytes under an existing name
//! stop the run before anything is uploaded, and a loopback proxy between us and pypiserver
//! injects faults (a connection dropped mid-body or after the body, 503s, 429 with
//! Retry-After, a stall). Every case ends with exactly the right files on the index, and a
//! log that says what happened. Every run's output is scanned for the token.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;

const VERSION: &str = "0.1.0";
const WHEEL: &str = "improved_sdd-0.1.0-py3-none-any.whl";
const SDIST: &str = "improved_sdd-0.1.0.tar.gz";

/// What the proxy does with the next upload (POST); queries (GET) always pass.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Read half the body, then close the connection.
    DropMidBody,
    /// Forward the whole request (the file lands), then close without an answer.
    DropAfterForward,
    /// Forward the request twice, as if a parallel run had landed the same file first, and
    /// answer with the second answer (pypiserver: 409 already exists).
    ForwardTwice,
    /// Answer with this status (and Retry-After seconds), forwarding nothing.
    Status(u16, Option<u64>),
    /// Read the head, then neither read nor answer for this long.
    Stall(Duration),
}

struct Proxy {
    port: u16,
    /// One line per POST: what the proxy did.
    log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(upstream: u16, faults: Vec<Fault>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(Mutex::new(VecDeque::from(faults)));
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let (faults, log) = (faults.clone(), l.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, upstream, &faults, &log);
                });
            }
        });
        Proxy { port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn read_head(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i + 4]).into_owned();
            return Ok((head, buf[i + 4..].to_vec()));
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

/// One request per connection: the answer always says `Connection: close`.
fn handle(
    mut conn: TcpStream,
    upstream: u16,
    faults: &Mutex<VecDeque<Fault>>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let (head, mut body) = read_head(&mut conn)?;
    let is_post = head.starts_with("POST ");
    let fault = if is_post {
        faults.lock().unwrap().pop_front()
    } else {
        None
    };
    let len = content_length(&head);
    let mut chunk = [0u8; 65536];
    let mut read_body = |conn: &mut TcpStream, body: &mut Vec<u8>, upto: usize| {
        while body.len() < upto {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    };
    match fault {
        Some(Fault::DropMidBody) => {
            read_body(&mut conn, &mut body, len / 2);
            log.lock().unwrap().push("drop-mid-body".into());
            let _ = conn.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Status(code, retry_after)) => {
            read_body(&mut conn, &mut body, len);
            log.lock().unwrap().push(format!("status-{code}"));
            let extra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let text = "injected by the test proxy";
            write!(
                conn,
                "HTTP/1.1 {code} Injected\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{text}",
                text.len()
            )?;
            return Ok(());
        }
        Some(Fault::Stall(d)) => {
            log.lock().unwrap().push("stall".into());
            std::thread::sleep(d);
            return Ok(());
        }
        Some(Fault::DropAfterForward | Fault::ForwardTwice) | None => {}
    }
    read_body(&mut conn, &mut body, len);
    // Forward with `Connection: close`, read the whole answer.
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    let forward = || -> std::io::Result<Vec<u8>> {
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(head.as_bytes())?;
        up.write_all(&body)?;
        let mut answer = Vec::new();
        up.read_to_end(&mut answer)?;
        Ok(answer)
    };
    if fault == Some(Fault::ForwardTwice) {
        forward()?;
    }
    let answer = forward()?;
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_string();
    if fault == Some(Fault::DropAfterForward) {
        log.lock()
            .unwrap()
            .push(format!("forwarded-{status}-then-drop"));
        let _ = conn.shutdown(Shutdown::Both);
        return Ok(());
    }
    if is_post {
        log.lock().unwrap().push(format!("forwarded-{status}"));
    }
    conn.write_all(&answer)?;
    Ok(())
}

/// A tag push whose uploads go through `upload_url`, with fast retries and a short stall.
fn env_for(server: &PyPIServer, upload_url: &str) -> ActionEnv {
    let mut env = ActionEnv::new("push", "refs/tags/v0.1.0", "master");
    env.set("INPUT_PYPI_URL", upload_url)
        .set("INPUT_PYPI_TOKEN", server.token.clone())
        .set("SDD_PUBLISH_RETRY_MIN_DELAY_MS", "50")
        .set("SDD_PUBLISH_RETRY_MAX_DELAY_MS", "200")
        .set("SDD_PUBLISH_RETRY_ATTEMPTS", "4")
        .set("SDD_PUBLISH_RETRY_TOTAL_MS", "20000")
        .set("SDD_PUBLISH_STALL_TIMEOUT_MS", "600");
    env
}

/// The token shows up once, in the `::add-mask::` line, and nowhere else.
fn scan_for_token(r: &RunResult, token: &str) {
    let all = r.all_output();
    assert_eq!(
        all.matches(token).count(),
        1,
        "the token must appear only in the mask line:\n{all}"
    );
    assert!(r
        .stdout
        .lines()
        .any(|l| l == format!("::add-mask::{token}")));
}

/// One run through a proxy with these faults: it succeeds, the index serves exactly our two
/// files, each stored once. Returns the run and the proxy's log.
fn publish_through(faults: Vec<Fault>) -> (RunResult, Vec<String>, PyPIServer) {
    let server = PyPIServer::start();
    let proxy = Proxy::start(server.port, faults);
    let ws = workspace_with_dists(VERSION);
    let env = env_for(&server, &proxy.url());
    let r = env.run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 0, "{}\nproxy: {:?}", r.all_output(), proxy.log());
    assert_eq!(
        server.served("improved-sdd"),
        sha256_of(&ws.path().join("dist"), &[WHEEL, SDIST]),
        "{}",
        server.log()
    );
    assert_eq!(server.stored(), [WHEEL, SDIST]);
    assert_eq!(
        r.output("uploaded").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );
    let log = proxy.log();
    (r, log, server)
}

#[test]
fn second_run_skips_identical_files() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let env = env_for(&server, &server.upload_url());
    let first = env.run(ws.path(), &["run"]);
    scan_for_token(&first, &server.token);
    assert_eq!(first.code, 0, "{}", first.all_output());
    assert_eq!(first.output("skipped").as_deref(), Some(""));

    let second = env.run(ws.path(), &["run"]);
    scan_for_token(&second, &server.token);
    assert_eq!(second.code, 0, "{}", second.all_output());
    assert_eq!(second.output("uploaded").as_deref(), Some(""));
    assert_eq!(
        second.output("skipped").as_deref(),
        Some(format!("{WHEEL}\n{SDIST}").as_str())
    );
    for f in [WHEEL, SDIST] {
        assert!(
            second.stdout.contains(&format!("skipped {f}"))
                && second.stdout.contains("already on the index, identical"),
            "{}",
            second.stdout
        );
    }
    assert!(
        second
            .summary
            .contains("is already on PyPI: every file identical, nothing uploaded"),
        "{}",
        second.summary
    );
    assert!(second.summary.contains("| identical, skipped |"));
    assert!(
        second.summary.contains(&format!(
            "<http://127.0.0.1:{}/packages/{WHEEL}#sha256=",
            server.port
        )),
        "the URL column: {}",
        second.summary
    );
    assert_eq!(server.stored(), [WHEEL, SDIST]);

    // skip-existing: false makes even an identical file an error.
    let mut strict = env_for(&server, &server.upload_url());
    strict.set("INPUT_SKIP_EXISTING", "false");
    let third = strict.run(ws.path(), &["run"]);
    scan_for_token(&third, &server.token);
    assert_eq!(third.code, 1, "{}", third.all_output());
    let err = third.first_error();
    assert!(
        err.contains("skip-existing") && err.contains(WHEEL),
        "{err}"
    );
}

/// Re-gzip the sdist with another header timestamp: a valid archive, different bytes, the
/// same contents — what a rebuild of an already-published version produces.
fn rebuild_sdist(path: &Path) {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut tar)
        .unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(1_234_567)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

/// Rewrite the sdist with one member's contents changed (its README gains a line): what a
/// rebuild after an edit, without a version bump, produces.
pub(crate) fn rebuild_sdist_with_an_edit(path: &Path) {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ));
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name.ends_with("README.md") {
            data.extend_from_slice(b"\nEdited after the release.\n");
        }
        let mut header = entry.header().clone();
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append_data(&mut header, &name, &data[..]).unwrap();
    }
    let gz = builder.into_inner().unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

/// Publish the sdist alone, then bring the wheel (new) and a rebuilt sdist back.
fn publish_then_rebuild(
    rebuild: fn(&Path),
) -> (PyPIServer, tempfile::TempDir, ActionEnv, String, String) {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    std::fs::rename(ws.path().join("dist").join(WHEEL), ws.path().join(WHEEL)).unwrap();
    let env = env_for(&server, &server.upload_url());
    let r = env.run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let published = sha256_file(&ws.path().join("dist").join(SDIST));
    std::fs::rename(ws.path().join(WHEEL), ws.path().join("dist").join(WHEEL)).unwrap();
    rebuild(&ws.path().join("dist").join(SDIST));
    let rebuilt = sha256_file(&ws.path().join("dist").join(SDIST));
    assert_ne!(published, rebuilt);
    (server, ws, env, published, rebuilt)
}

#[test]
fn a_rebuilt_file_with_the_published_contents_is_skipped_and_the_published_bytes_kept() {
    let (server, ws, env, published, rebuilt) = publish_then_rebuild(rebuild_sdist);
    let r = env.run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 0, "{}", r.all_output());
    // The new wheel went up; the sdist was recognised as the published one.
    let mut stored = server.stored();
    stored.sort();
    assert_eq!(stored, [WHEEL, SDIST]);
    assert_eq!(r.output("uploaded").as_deref(), Some(WHEEL));
    assert_eq!(r.output("skipped").as_deref(), Some(SDIST));
    let log = r.all_output();
    assert!(
        log.contains("rebuilt: same contents as the published file")
            && log.contains(&format!("local sha256 was {rebuilt}")),
        "{log}"
    );
    // Later stages see exactly what the index serves.
    assert_eq!(sha256_file(&ws.path().join("dist").join(SDIST)), published);
    assert_eq!(server.served("improved-sdd")[SDIST], published);
    assert!(r.summary.contains(&published), "{}", r.summary);
    // No stray download is left beside the dists.
    let names: Vec<_> = std::fs::read_dir(ws.path().join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_rebuilt_file_with_other_contents_fails_with_both_hashes_and_nothing_is_uploaded() {
    let (server, ws, env, published, rebuilt) = publish_then_rebuild(rebuild_sdist_with_an_edit);
    let r = env.run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 1, "{}", r.all_output());
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    for needle in [
        SDIST,
        &published,
        &rebuilt,
        "rebuilt",
        "nothing was uploaded",
        "The contents differ too: `improved_sdd-0.1.0/README.md` has other contents",
    ] {
        assert!(
            errors[0].contains(needle),
            "`{needle}` missing: {}",
            errors[0]
        );
    }
    // The wheel was checked before anything went out, so it was not uploaded either.
    assert_eq!(server.stored(), [SDIST]);
    assert_eq!(r.output("uploaded").as_deref(), Some(""));
    assert!(r.summary.contains(&published) || r.summary.contains(&rebuilt));
}

/// TestPyPI, as the seed's error table says: a second push of an unchanged version whose
/// sdist was rebuilt with other contents is skipped with a warning naming the file and
/// `dev-version`, and the run goes on (the identical wheel skipped, verification of what the
/// index holds as ours). With `skip-existing: false` any existing file stays an error.
#[test]
fn on_testpypi_other_contents_under_an_existing_name_are_a_warning_not_an_error() {
    let testpypi = |server: &PyPIServer| {
        let mut env = ActionEnv::new("push", "refs/heads/master", "master");
        env.set("INPUT_TESTPYPI_URL", server.upload_url())
            .set("INPUT_TESTPYPI_TOKEN", server.token.clone())
            .set("SDD_PUBLISH_VERIFY_INTERVAL_MS", "200")
            .set("INPUT_VERIFY_INSTALL", "false");
        env
    };
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);
    let r = testpypi(&server).run(ws.path(), &["run"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let published = sha256_file(&ws.path().join("dist").join(SDIST));
    rebuild_sdist_with_an_edit(&ws.path().join("dist").join(SDIST));

    let r = testpypi(&server).run(ws.path(), &["run"]);
    let all = r.all_output();
    assert_eq!(r.code, 0, "{all}");
    let warnings: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{all}");
    for needle in [
        &format!("`{SDIST}` is already on the index with other contents"),
        published.as_str(),
        "The contents differ too",
        "Skipped on TestPyPI; the other files go on",
        "`dev-version`",
    ] {
        assert!(warnings[0].contains(needle), "{needle}: {}", warnings[0]);
    }
    assert_eq!(r.output("skipped").as_deref(), Some(WHEEL), "{all}");
    assert_eq!(r.output("uploaded").as_deref(), Some(""));
    assert_eq!(r.output("verified").as_deref(), Some("true"), "{all}");
    assert!(
        r.summary
            .contains("**1 skipped: other contents already there under the name**"),
        "{}",
        r.summary
    );
    assert_eq!(server.served("improved-sdd")[SDIST], published);

    // `skip-existing: false`: the same state is an error, and nothing is uploaded.
    let mut env = testpypi(&server);
    env.set("INPUT_SKIP_EXISTING", "false");
    let r = env.run(ws.path(), &["run"]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(
        r.first_error().contains("same name, different bytes"),
        "{}",
        r.first_error()
    );
    assert_eq!(server.served("improved-sdd")[SDIST], published);
}

#[test]
fn a_connection_dropped_mid_body_is_retried() {
    let (r, log, _s) = publish_through(vec![Fault::DropMidBody]);
    assert_eq!(log, ["drop-mid-body", "forwarded-200", "forwarded-200"]);
    assert!(
        r.stdout.contains(&format!("retrying {WHEEL} in"))
            && r.stdout.contains("(attempt 1 of 4 failed)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("2 attempt(s)"), "{}", r.stdout);
}

#[test]
fn an_upload_that_landed_before_the_connection_dropped_is_not_sent_again() {
    let (r, log, server) = publish_through(vec![Fault::DropAfterForward]);
    // The retry never happened: the re-check found the file with our sha256.
    assert_eq!(log, ["forwarded-200-then-drop", "forwarded-200"]);
    assert!(
        r.stdout.contains(&format!(
            "{WHEEL}: the index has it now with our sha256 (an earlier attempt landed)"
        )),
        "{}",
        r.stdout
    );
    assert!(!server.log().contains("already exists"), "{}", server.log());
}

#[test]
fn a_file_landed_by_someone_else_meanwhile_counts_when_its_sha256_matches() {
    let (r, log, _s) = publish_through(vec![Fault::ForwardTwice]);
    // pypiserver refused our copy (409: already exists); the re-check found our sha256.
    assert_eq!(log, ["forwarded-409", "forwarded-200"]);
    assert!(
        r.stdout.contains(&format!(
            "{WHEEL}: the index has it now with our sha256 (an earlier attempt landed); the failed attempt said: the package index refused `{WHEEL}` (HTTP 409)"
        )),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("retrying"), "{}", r.stdout);
}

#[test]
fn service_unavailable_is_retried_until_it_passes() {
    let (r, log, _s) = publish_through(vec![Fault::Status(503, None), Fault::Status(502, None)]);
    assert_eq!(
        log,
        ["status-503", "status-502", "forwarded-200", "forwarded-200"]
    );
    assert!(r.stdout.contains("(HTTP 503)"), "{}", r.stdout);
    assert!(r.stdout.contains("(HTTP 502)"), "{}", r.stdout);
    assert!(r.stdout.contains("(attempt 2 of 4 failed)"), "{}", r.stdout);
}

#[test]
fn too_many_requests_waits_as_retry_after_says() {
    let (r, log, _s) = publish_through(vec![Fault::Status(429, Some(1))]);
    assert_eq!(log, ["status-429", "forwarded-200", "forwarded-200"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("retrying"))
        .unwrap_or_default();
    assert!(
        line.contains("in 1.0s, as the index's Retry-After asks") && line.contains("HTTP 429"),
        "{line}"
    );
}

#[test]
fn a_stalled_upload_is_abandoned_and_retried() {
    let (r, log, _s) = publish_through(vec![Fault::Stall(Duration::from_secs(8))]);
    assert_eq!(log, ["stall", "forwarded-200", "forwarded-200"]);
    assert!(
        r.stdout.contains(&format!("the upload of `{WHEEL}`")) && r.stdout.contains("stalled"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_client_error_is_not_retried_and_a_persistent_503_gives_up() {
    let server = PyPIServer::start();
    let ws = workspace_with_dists(VERSION);

    let proxy = Proxy::start(server.port, vec![Fault::Status(400, None)]);
    let r = env_for(&server, &proxy.url()).run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert_eq!(proxy.log(), ["status-400"], "one attempt, nothing after it");
    assert!(!r.stdout.contains("retrying"), "{}", r.stdout);
    assert!(server.stored().is_empty());

    let proxy = Proxy::start(server.port, vec![Fault::Status(503, None); 10]);
    let r = env_for(&server, &proxy.url()).run(ws.path(), &["run"]);
    scan_for_token(&r, &server.token);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert_eq!(proxy.log(), ["status-503"; 4], "bounded attempts");
    let err = r.first_error();
    assert!(
        err.contains(&format!("upload of `{WHEEL}` failed after 4 attempt(s)")),
        "{err}"
    );
    assert!(server.stored().is_empty(), "the sdist never started");
}
