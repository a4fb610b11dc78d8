//! The legacy upload API (`POST /legacy/`, multipart form): one request per file.
//!
//! Files are hashed in one streaming pass, then streamed again as the request body with a
//! known length, so memory stays flat whatever the wheel's size. Credentials go out only
//! over https (or to loopback, for local test indexes) and only to the configured host.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blake2::{digest::consts::U32, Blake2b, Digest};
use futures_util::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, LOCATION};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use sha2::Sha256;
use url::Url;

use crate::http::may_carry_credentials;

use super::form;
use crate::dist::Distribution;
use crate::retry::retry_after;
use crate::secret::Secret;

const BUF_SIZE: usize = 64 * 1024;
/// Hashing reads bigger chunks: a quarter of the syscalls, still flat memory (one buffer).
const HASH_BUF_SIZE: usize = 256 * 1024;
/// Enough for any error page; more is not read, so a hostile server cannot fill memory.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// What of the server's message we repeat; the rest is noise in a log.
const MAX_MESSAGE_CHARS: usize = 1000;
/// Same-host redirects (e.g. `/legacy` -> `/legacy/`) are re-sent at most this often.
const MAX_REDIRECTS: usize = 3;
/// Once the whole file is sent, the index gets the stall timeout plus this long per byte to
/// answer: it stores and checks the file before it replies (PyPI takes seconds for big ones).
const RESPONSE_BYTES_PER_SEC: u64 = 8 * 1024 * 1024;

/// How long the upload client waits before it calls a connection dead.
///
/// There is no overall request timeout: a 500 MB wheel on a slow runner legitimately takes
/// many minutes, and reqwest's read timeout also fires while a large body is still being
/// written. Instead a watchdog aborts a request whose body has made no progress for `stall`
/// (and, once sent, whose answer takes longer than `stall` + size / 8 MiB/s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            stall: Duration::from_secs(120),
        }
    }
}

/// Bytes of the file handed to the connection so far, and when the last ones went; shared
/// by the body stream, the stall watchdog and whoever shows progress.
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    sent: AtomicU64,
    /// Milliseconds since `start` of the last progress.
    last: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            start: Instant::now(),
            sent: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }
}

impl Progress {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn reset(&self) {
        self.sent.store(0, Ordering::Relaxed);
        self.touch();
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    fn add(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        self.touch();
    }

    fn idle(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Relaxed)))
    }
}

/// Who we are to the index: `__token__` and an API token, or a user and password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    /// The form PyPI's API tokens take (`__token__` as the user name).
    pub fn token(token: Secret) -> Self {
        Credentials {
            username: "__token__".to_string(),
            password: token,
        }
    }
}

/// The digests the upload form carries and the index records; hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    pub sha256: String,
    pub blake2_256: String,
}

/// One streaming pass over the file computing both digests, in constant memory, on a
/// blocking thread (hashing is CPU work; it must not hold up a runtime worker).
pub async fn digest_file(path: &Path) -> std::io::Result<FileDigests> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || digest_path(&path, &|| false))
        .await
        .map_err(std::io::Error::other)?
}

/// [`digest_file`] on the calling thread. `cancelled` is asked between reads: hashing ahead
/// of uploads stops early when the run does.
pub fn digest_path(path: &Path, cancelled: &dyn Fn() -> bool) -> std::io::Result<FileDigests> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut sha = Sha256::new();
    let mut blake = Blake2b::<U32>::new();
    let mut buf = vec![0u8; HASH_BUF_SIZE];
    loop {
        if cancelled() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "hashing stopped: the run ended",
            ));
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        sha.update(chunk);
        blake.update(chunk);
    }
    Ok(FileDigests {
        sha256: hex::encode(sha.finalize()),
        blake2_256: hex::encode(blake.finalize()),
    })
}

/// What the index accepted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Uploaded {
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub blake2_256: String,
    pub status: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("refusing to send credentials to `{url}`: only https:// URLs are allowed (plain http only to 127.0.0.1, ::1 or localhost, for a local test index); set the repository URL to the index's https:// upload address, e.g. https://upload.pypi.org/legacy/")]
    InsecureUrl { url: String },
    #[error("cannot set up the HTTP client: {0}; this is an environment problem (TLS roots?), not a problem with your package")]
    Client(#[source] reqwest::Error),
    #[error("cannot read `{}` for upload: {source}; make sure the packages dir is not modified while publishing", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not upload `{filename}` to `{url}`: {detail}; check the repository URL and the runner's network, then re-run (an upload that did not finish is safe to retry)")]
    Transport {
        filename: String,
        url: String,
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the package index rejected the credentials (HTTP {status}): {message}; check the `pypi-token` / `testpypi-token` secret: it must be a current API token for this index (PyPI and TestPyPI tokens differ) whose scope covers this project")]
    Auth { status: u16, message: String },
    #[error("the package index refused `{filename}` (HTTP {status}): {message}; {}", rejected_hint(*.status))]
    Rejected {
        filename: String,
        status: u16,
        message: String,
        /// The index's `Retry-After`, when it sent one (429, 503).
        retry_after: Option<Duration>,
    },
    #[error("the upload of `{filename}` to `{url}` stalled: {what} for {}s ({sent} of {size} bytes of the file sent); the connection was dropped", .idle.as_secs_f32())]
    Stalled {
        filename: String,
        url: String,
        what: &'static str,
        idle: Duration,
        sent: u64,
        size: u64,
    },
    #[error("the package index redirected the upload of `{filename}` (HTTP {status}) from `{from}` to `{to}`; credentials are only sent to the configured host, so set the repository URL to the final address")]
    Redirect {
        filename: String,
        status: u16,
        from: String,
        to: String,
    },
}

fn rejected_hint(status: u16) -> &'static str {
    match status {
        409 | 400 => "fix what the index names; if this exact file is already on the index, a re-upload is refused — publish a new version instead",
        405 => "this looks like the simple index URL, not the upload URL: set `pypi-url` / `testpypi-url` to the index's legacy upload endpoint (PyPI: https://upload.pypi.org/legacy/, TestPyPI: https://test.pypi.org/legacy/)",
        413 => "the file is larger than the index allows; ask the index for a bigger limit or make the distribution smaller",
        429 => "the index is rate-limiting uploads; wait and re-run",
        500..=599 => "the index had a server-side problem; re-run later",
        _ => "fix what the index names and re-run",
    }
}

impl UploadError {
    /// Worth another attempt as is: the network failed, or the index was overloaded.
    pub fn is_retryable(&self) -> bool {
        match self {
            UploadError::Transport { .. } | UploadError::Stalled { .. } => true,
            UploadError::Rejected { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// How long the index asked us to wait before the next attempt.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UploadError::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The index may hold the file after this error (it failed in flight, or the index
    /// refused it as a duplicate): worth asking the index before deciding.
    pub fn may_have_landed(&self) -> bool {
        matches!(
            self,
            UploadError::Transport { .. }
                | UploadError::Stalled { .. }
                | UploadError::Rejected { .. }
        )
    }

    /// The HTTP status the index answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            UploadError::Auth { status, .. }
            | UploadError::Rejected { status, .. }
            | UploadError::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An upload endpoint with credentials.
#[derive(Debug)]
pub struct Uploader {
    client: reqwest::Client,
    url: Url,
    /// Behind a lock so trusted publishing can swap in a re-minted token between attempts.
    credentials: std::sync::RwLock<Credentials>,
    timeouts: Timeouts,
    /// File name -> the `attestations` form value sent with that file.
    attestations: std::collections::HashMap<String, String>,
}

/// Credentials travel in the Authorization header only; any in the URL are dropped so they
/// can never appear in a message.
fn without_userinfo(mut url: Url) -> Url {
    // Both fail only for URLs that cannot have credentials in the first place.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

/// A redirect we follow with credentials: same host, same or upgraded scheme, and (when the
/// scheme is unchanged) the same port.
fn same_origin(from: &Url, to: &Url) -> bool {
    if from.host_str() != to.host_str() || !may_carry_credentials(to) {
        return false;
    }
    if from.scheme() == to.scheme() {
        from.port_or_known_default() == to.port_or_known_default()
    } else {
        to.scheme() == "https"
    }
}

impl Uploader {
    /// Refuses a non-https URL unless its host is loopback (127.0.0.0/8, ::1, localhost):
    /// credentials must not cross the network in clear.
    pub fn new(url: Url, credentials: Credentials) -> Result<Self, UploadError> {
        Self::with_timeouts(url, credentials, Timeouts::default())
    }

    /// [`Uploader::new`] with explicit timeouts (tests use short ones).
    pub fn with_timeouts(
        url: Url,
        credentials: Credentials,
        timeouts: Timeouts,
    ) -> Result<Self, UploadError> {
        let url = without_userinfo(url);
        if !may_carry_credentials(&url) {
            return Err(UploadError::InsecureUrl {
                url: url.to_string(),
            });
        }
        // Redirects are handled by hand: reqwest would drop the Authorization header (or
        // turn the POST into a GET), and we must re-open the file for a new body anyway.
        // No read timeout: it would also fire while a large body is still being written;
        // the stall watchdog in `send` covers a hung index instead.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sdd-publish/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeouts.connect)
            .build()
            .map_err(UploadError::Client)?;
        Ok(Uploader {
            client,
            url,
            credentials: std::sync::RwLock::new(credentials),
            timeouts,
            attestations: Default::default(),
        })
    }

    /// Send these attestations (file name -> JSON list) with their files' uploads.
    pub fn with_attestations(
        mut self,
        attestations: std::collections::HashMap<String, String>,
    ) -> Self {
        self.attestations = attestations;
        self
    }

    /// Who we are to the index (the query sends them to the same origin only).
    pub fn credentials(&self) -> Credentials {
        self.credentials
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Use these credentials from the next request on (a re-minted trusted-publishing token).
    pub fn set_credentials(&self, credentials: Credentials) {
        *self.credentials.write().unwrap_or_else(|e| e.into_inner()) = credentials;
    }

    /// The upload URL (without any credentials).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Upload one distribution: digest it, then stream it in a multipart form.
    pub async fn upload(&self, dist: &Distribution) -> Result<Uploaded, UploadError> {
        let io_err = |source| UploadError::Io {
            path: dist.path.clone(),
            source,
        };
        let digests = digest_file(&dist.path).await.map_err(io_err)?;
        self.upload_digested(dist, &digests, &Arc::new(Progress::default()))
            .await
    }

    /// One attempt at uploading a file whose digests are known, reporting bytes sent to
    /// `progress`. The file is re-opened for every request (a streamed body is sent once).
    pub async fn upload_digested(
        &self,
        dist: &Distribution,
        digests: &FileDigests,
        progress: &Arc<Progress>,
    ) -> Result<Uploaded, UploadError> {
        let fields = form::upload_fields(
            dist,
            &digests.sha256,
            &digests.blake2_256,
            self.attestations.get(&dist.filename).map(String::as_str),
        );

        let mut url = self.url.clone();
        let mut hops = 0;
        loop {
            progress.reset();
            let (form, size) = self.form(&fields, dist, progress).await?;
            let credentials = self.credentials();
            let request = self
                .client
                .post(url.clone())
                .basic_auth(&credentials.username, Some(credentials.password.expose()))
                .header(ACCEPT, HeaderValue::from_static("application/json"))
                .multipart(form)
                .send();
            let response = tokio::select! {
                r = request => r.map_err(|e| transport(&dist.filename, &url, e))?,
                (what, idle, sent) = self.watchdog(progress, size) => {
                    return Err(UploadError::Stalled {
                        filename: dist.filename.clone(),
                        url: url.to_string(),
                        what,
                        idle,
                        sent,
                        size,
                    })
                }
            };
            let status = response.status();

            if status.is_redirection() {
                let to = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok())
                    .map(without_userinfo);
                match to {
                    Some(to) if hops < MAX_REDIRECTS && same_origin(&url, &to) => {
                        hops += 1;
                        url = to;
                        continue;
                    }
                    to => {
                        return Err(UploadError::Redirect {
                            filename: dist.filename.clone(),
                            status: status.as_u16(),
                            from: url.to_string(),
                            to: to.map_or_else(
                                || "(no valid Location)".to_string(),
                                |u| u.to_string(),
                            ),
                        })
                    }
                }
            }

            if status.is_success() {
                return Ok(Uploaded {
                    filename: dist.filename.clone(),
                    size,
                    sha256: digests.sha256.clone(),
                    blake2_256: digests.blake2_256.clone(),
                    status: status.as_u16(),
                });
            }

            let retry_after = retry_after(response.headers());
            let message = tokio::time::timeout(self.timeouts.stall, self.message(response))
                .await
                .unwrap_or_else(|_| format!("HTTP {status} (the error body did not arrive)"));
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => UploadError::Auth {
                    status: status.as_u16(),
                    message,
                },
                _ => UploadError::Rejected {
                    filename: dist.filename.clone(),
                    status: status.as_u16(),
                    message,
                    retry_after,
                },
            });
        }
    }

    /// The multipart form with the file streamed from disk; re-built per attempt because a
    /// streamed body can be sent only once.
    async fn form(
        &self,
        fields: &[(&'static str, String)],
        dist: &Distribution,
        progress: &Arc<Progress>,
    ) -> Result<(Form, u64), UploadError> {
        let io_err = |source| UploadError::Io {
            path: dist.path.clone(),
            source,
        };
        let file = tokio::fs::File::open(&dist.path).await.map_err(io_err)?;
        let size = file.metadata().await.map_err(io_err)?.len();
        let counter = progress.clone();
        let stream =
            tokio_util::io::ReaderStream::with_capacity(file, BUF_SIZE).inspect(move |chunk| {
                if let Ok(c) = chunk {
                    counter.add(c.len() as u64);
                }
            });
        let body = reqwest::Body::wrap_stream(stream);
        let content = Part::stream_with_length(body, size)
            .file_name(dist.filename.clone())
            .mime_str("application/octet-stream")
            .map_err(UploadError::Client)?;
        let form = fields
            .iter()
            .fold(Form::new(), |form, (name, value)| {
                form.text(*name, value.clone())
            })
            .part("content", content);
        Ok((form, size))
    }

    /// Resolves when the request must be abandoned: the body made no progress for the stall
    /// timeout, or (all sent) the answer is overdue. Returns (what, idle time, bytes sent).
    async fn watchdog(&self, progress: &Progress, size: u64) -> (&'static str, Duration, u64) {
        let stall = self.timeouts.stall;
        let tick = (stall / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(tick).await;
            let sent = progress.sent();
            let idle = progress.idle();
            if sent < size {
                if idle >= stall {
                    return ("no byte of the file was accepted", idle, sent);
                }
            } else {
                let allowance = stall + Duration::from_secs(size / RESPONSE_BYTES_PER_SEC);
                if idle >= allowance {
                    return ("the whole file was sent but no answer came", idle, sent);
                }
            }
        }
    }

    /// The server's own explanation, from a capped read of the body; never the password.
    /// Every form of the credentials is cut out of the body as read (a read cut short at the
    /// cap also loses a form's first characters at the end), and again from the message once
    /// decoded (JSON escapes, HTML entities) — both before the message is shortened.
    async fn message(&self, mut response: reqwest::Response) -> String {
        let status = response.status();
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let body = crate::http::read_capped(&mut response, MAX_ERROR_BODY).await;
        let credentials = self.credentials();
        let mut redactor = crate::secret::Redactor::default();
        redactor.add(&credentials.password);
        redactor.add_user(&credentials.username);
        let text = String::from_utf8_lossy(&body);
        let text = if body.len() >= MAX_ERROR_BODY {
            redactor.redact_truncated(&text)
        } else {
            redactor.redact(&text)
        };
        extract_message_with(&text, is_json, &|m| redactor.redact(m)).unwrap_or_else(|| {
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("(no reason given)")
            )
        })
    }
}

fn transport(filename: &str, url: &Url, e: reqwest::Error) -> UploadError {
    let e = e.without_url();
    let detail = crate::http::error_chain(&e);
    UploadError::Transport {
        filename: filename.to_string(),
        url: url.to_string(),
        detail,
        source: e,
    }
}

/// warehouse (with `Accept: application/json`) answers `{"message": ...}`; pypiserver's
/// bottle pages put the reason in `<pre>` and the status in `<title>`; others send text.
#[cfg(test)]
pub(crate) fn extract_message(body: &str, is_json: bool) -> Option<String> {
    extract_message_with(body, is_json, &str::to_owned)
}

/// [`extract_message`], `scrub` applied to the decoded message before it is shortened.
pub(crate) fn extract_message_with(
    body: &str,
    is_json: bool,
    scrub: &dyn Fn(&str) -> String,
) -> Option<String> {
    let tidy = |s: &str| tidy(&scrub(s));
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    if is_json || trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
            if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
                return Some(tidy(m));
            }
        }
    }
    if trimmed.starts_with('<') {
        for tag in ["pre", "title", "h1"] {
            if let Some(inner) = element_text(trimmed, tag) {
                let t = tidy(&super::html::text(inner));
                // pypiserver renders an error without a reason as `<pre>None</pre>`.
                if !t.is_empty() && t != "None" {
                    return Some(t);
                }
            }
        }
        return None;
    }
    trimmed
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(tidy)
}

/// The inner text of the first `<tag ...>...</tag>`, tag names case-insensitive.
fn element_text<'a>(html: &'a str, tag: &str) -> Option<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut from = 0;
    let start = loop {
        let i = from + lower.get(from..)?.find(&open)?;
        let after = lower.as_bytes().get(i + open.len()).copied();
        if matches!(after, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')) {
            break i;
        }
        from = i + open.len();
    };
    let content_start = start + lower.get(start..)?.find('>')? + 1;
    let close = format!("</{tag}");
    let end = content_start + lower.get(content_start..)?.find(&close)?;
    html.get(content_start..end)
}

/// One line, bounded: whitespace runs collapse, long text is cut.
fn tidy(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", joined.get(..i).unwrap_or_default()),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testserver::{read_request, Request};
    use super::*;
    use crate::dist::metadata::tests::zip_bytes;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const TOKEN: &str = "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAw";
    /// base64("__token__:" + TOKEN), computed independently with Python.
    const BASIC: &str = "Basic X190b2tlbl9fOnB5cGktQWdFSWNIbHdhUzV2Y21jQ0pEQXdNREF3TURBdw==";

    fn creds() -> Credentials {
        Credentials::token(Secret::new(TOKEN))
    }

    /// A one-shot HTTP/1.1 server on loopback: answers each accepted connection with the next
    /// canned response (then closes it) and records every request.
    async fn serve(responses: Vec<String>) -> (Url, Arc<Mutex<Vec<Request>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!(
            "http://{}/legacy/",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for response in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let req = read_request(&mut sock)
                    .await
                    .expect("the client closed before sending the whole request");
                log.lock().unwrap().push(req);
                sock.write_all(response.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        });
        (url, seen)
    }

    fn response(status: &str, content_type: &str, body: &str, extra: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    /// (name, filename, content-type, bytes) of each part.
    type FormPart = (String, Option<String>, Option<String>, Vec<u8>);

    fn parse_multipart(req: &Request) -> Vec<FormPart> {
        let ct = req.header("content-type").unwrap();
        let boundary = ct.split("boundary=").nth(1).unwrap().trim_matches('"');
        let delim = format!("--{boundary}");
        let body = &req.body;
        let mut positions = Vec::new();
        let mut i = 0;
        while let Some(p) = body[i..]
            .windows(delim.len())
            .position(|w| w == delim.as_bytes())
        {
            positions.push(i + p);
            i += p + delim.len();
        }
        let mut parts = Vec::new();
        for pair in positions.windows(2) {
            let raw = &body[pair[0] + delim.len() + 2..pair[1] - 2];
            let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let headers = String::from_utf8(raw[..split].to_vec()).unwrap();
            let content = raw[split + 4..].to_vec();
            let param = |key: &str| {
                headers
                    .split(&format!("{key}=\""))
                    .nth(1)
                    .map(|rest| rest.split('"').next().unwrap().to_string())
            };
            let part_ct = headers
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Content-Type: ")
                        .or(l.strip_prefix("content-type: "))
                })
                .map(str::to_string);
            parts.push((param(" name").unwrap(), param("filename"), part_ct, content));
        }
        parts
    }

    fn text_values(parts: &[FormPart], name: &str) -> Vec<String> {
        parts
            .iter()
            .filter(|p| p.0 == name)
            .map(|p| String::from_utf8(p.3.clone()).unwrap())
            .collect()
    }

    fn make_wheel(dir: &Path) -> Distribution {
        let meta = b"Metadata-Version: 2.1\nName: improved-sdd\nVersion: 1.2.0\nSummary: Spec-driven\nClassifier: Programming Language :: Python :: 3\nClassifier: Typing :: Typed\nRequires-Dist: click>=8\nProject-URL: Source, https://example.org/src\n\n# improved-sdd\n\nLong text.\n";
        let bytes = zip_bytes(&[
            ("improved_sdd/__init__.py", &[0xAB; 5000]),
            ("improved_sdd-1.2.0.dist-info/METADATA", meta),
            (
                "improved_sdd-1.2.0.dist-info/WHEEL",
                b"Wheel-Version: 1.0\n",
            ),
            ("improved_sdd-1.2.0.dist-info/RECORD", b""),
        ]);
        let path = dir.join("improved_sdd-1.2.0-py3-none-any.whl");
        std::fs::write(&path, bytes).unwrap();
        let found = crate::dist::discover(dir).unwrap();
        assert!(found.is_clean(), "{:?}", found.problems);
        found.dists.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn digest_file_matches_known_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"sdd-publish digest test vector\n".repeat(3)).unwrap();
        let d = digest_file(&p).await.unwrap();
        assert_eq!(
            d.sha256,
            "c73217ad01e3c56d1cacafeeebf272ca5203c17951c921b474f1d1e6b4d71e49"
        );
        assert_eq!(
            d.blake2_256,
            "ec3f244f3917a52aff4378ae5b74fa10c7e7fc6a8aee7bb3d542dbb906b34773"
        );

        // Larger than one buffer, so chunking is exercised.
        let big: Vec<u8> = (0..=255u8).cycle().take(256 * 1000).collect();
        std::fs::write(&p, big).unwrap();
        let d = digest_file(&p).await.unwrap();
        assert_eq!(
            d.sha256,
            "b57b64b198d5d59ce5a22a9b9f25e72a7d081476d432051aa923f3dbebb90934"
        );
        assert_eq!(
            d.blake2_256,
            "5d074c3f889bcba3b3a253496ee73cba18832b6d3c67d2b739dc202c78ed2581"
        );

        std::fs::write(&p, b"").unwrap();
        let d = digest_file(&p).await.unwrap();
        assert_eq!(
            d.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            d.blake2_256,
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
        );

        assert!(digest_file(&dir.path().join("missing")).await.is_err());
    }

    #[tokio::test]
    async fn uploads_a_wheel_as_warehouse_expects() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let file_bytes = std::fs::read(&dist.path).unwrap();
        let (url, seen) = serve(vec![response("200 OK", "text/plain", "OK", "")]).await;

        let up = Uploader::new(url, creds()).unwrap();
        let done = up.upload(&dist).await.unwrap();
        assert_eq!(done.status, 200);
        assert_eq!(done.size, file_bytes.len() as u64);
        assert_eq!(done.filename, "improved_sdd-1.2.0-py3-none-any.whl");

        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 1);
        let req = &reqs[0];
        assert!(
            req.head.starts_with("POST /legacy/ HTTP/1.1\r\n"),
            "{}",
            req.head
        );
        assert_eq!(req.header("authorization").as_deref(), Some(BASIC));
        assert_eq!(req.header("accept").as_deref(), Some("application/json"));
        assert_eq!(
            req.header("user-agent"),
            Some(format!("sdd-publish/{}", env!("CARGO_PKG_VERSION")))
        );
        let len: usize = req
            .header("content-length")
            .expect("Content-Length")
            .parse()
            .unwrap();
        assert_eq!(len, req.body.len());
        assert!(req
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data"));

        let parts = parse_multipart(req);
        let one = |name: &str| {
            let v = text_values(&parts, name);
            assert_eq!(v.len(), 1, "{name}: {v:?}");
            v.into_iter().next().unwrap()
        };
        assert_eq!(one(":action"), "file_upload");
        assert_eq!(one("protocol_version"), "1");
        assert_eq!(one("filetype"), "bdist_wheel");
        assert_eq!(one("pyversion"), "py3");
        assert_eq!(one("metadata_version"), "2.1");
        assert_eq!(one("name"), "improved-sdd");
        assert_eq!(one("version"), "1.2.0");
        assert_eq!(one("summary"), "Spec-driven");
        assert_eq!(one("requires_dist"), "click>=8");
        assert_eq!(one("project_urls"), "Source, https://example.org/src");
        assert_eq!(one("description"), "# improved-sdd\n\nLong text.\n");
        assert_eq!(
            text_values(&parts, "classifiers"),
            ["Programming Language :: Python :: 3", "Typing :: Typed"]
        );
        let digests = digest_file(&dist.path).await.unwrap();
        assert_eq!(one("sha256_digest"), digests.sha256);
        assert_eq!(one("blake2_256_digest"), digests.blake2_256);
        assert_eq!(done.sha256, digests.sha256);
        assert!(text_values(&parts, "md5_digest").is_empty());

        let content: Vec<_> = parts.iter().filter(|p| p.0 == "content").collect();
        assert_eq!(content.len(), 1);
        let (_, filename, ct, bytes) = content[0];
        assert_eq!(
            filename.as_deref(),
            Some("improved_sdd-1.2.0-py3-none-any.whl")
        );
        assert_eq!(ct.as_deref(), Some("application/octet-stream"));
        assert_eq!(bytes, &file_bytes, "file bytes must arrive intact");
    }

    #[tokio::test]
    async fn attestations_go_with_their_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let (url, seen) = serve(vec![
            response("200 OK", "text/plain", "OK", ""),
            response("200 OK", "text/plain", "OK", ""),
        ])
        .await;
        let json = r#"[{"version":1,"envelope":{}}]"#;
        let up = Uploader::new(url.clone(), creds())
            .unwrap()
            .with_attestations([(dist.filename.clone(), json.to_string())].into());
        up.upload(&dist).await.unwrap();
        let other = Uploader::new(url, creds())
            .unwrap()
            .with_attestations([("other-1.0.tar.gz".to_string(), json.to_string())].into());
        other.upload(&dist).await.unwrap();

        let reqs = seen.lock().unwrap().clone();
        assert_eq!(
            text_values(&parse_multipart(&reqs[0]), "attestations"),
            [json]
        );
        assert!(text_values(&parse_multipart(&reqs[1]), "attestations").is_empty());
    }

    #[tokio::test]
    async fn forbidden_with_json_message_is_an_auth_error_without_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let body = r#"{"message": "Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.", "code": "403 Forbidden", "title": "Forbidden"}"#;
        let (url, _) = serve(vec![response(
            "403 Forbidden",
            "application/json",
            body,
            "",
        )])
        .await;
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        assert!(
            matches!(err, UploadError::Auth { status: 403, .. }),
            "{err:?}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains("Invalid or non-existent authentication information"),
            "{shown}"
        );
        assert!(shown.contains("pypi-token"), "{shown}");
        assert!(!shown.contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn server_echoing_the_token_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let body = format!("bad password {TOKEN} for user __token__");
        let (url, _) = serve(vec![response("401 Unauthorized", "text/plain", &body, "")]).await;
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        assert!(
            matches!(err, UploadError::Auth { status: 401, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("bad password *** for user"),
            "{err}"
        );
        assert!(!err.to_string().contains(TOKEN));
    }

    #[tokio::test]
    async fn html_rejection_carries_the_servers_message() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        // The shape of pypiserver's (bottle's) error page.
        let body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html>\n<head>\n<title>Error: 400 Bad Request</title>\n</head>\n<body>\n<h1>Error: 400 Bad Request</h1>\n<p>Sorry, the requested URL <tt>&#039;http://127.0.0.1/&#039;</tt> caused an error:</p>\n<pre>Package &#039;improved_sdd-1.2.0-py3-none-any.whl&#039; already exists!\n</pre>\n</body>\n</html>\n";
        let (url, _) = serve(vec![response(
            "400 Bad Request",
            "text/html; charset=UTF-8",
            body,
            "",
        )])
        .await;
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        match &err {
            UploadError::Rejected {
                filename,
                status,
                message,
                ..
            } => {
                assert_eq!(filename, "improved_sdd-1.2.0-py3-none-any.whl");
                assert_eq!(*status, 400);
                assert_eq!(
                    message,
                    "Package 'improved_sdd-1.2.0-py3-none-any.whl' already exists!"
                );
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        assert!(err.to_string().contains("already exists"));
    }

    #[tokio::test]
    async fn empty_error_body_falls_back_to_the_status_reason() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let (url, _) = serve(vec![response(
            "503 Service Unavailable",
            "text/plain",
            "",
            "",
        )])
        .await;
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, UploadError::Rejected { status: 503, message, .. } if message == "503 Service Unavailable"),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn same_host_redirect_is_resent_with_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let (url, seen) = serve(vec![
            response(
                "308 Permanent Redirect",
                "text/plain",
                "",
                "Location: /legacy/v2/\r\n",
            ),
            response("200 OK", "text/plain", "OK", ""),
        ])
        .await;
        let done = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap();
        assert_eq!(done.status, 200);
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 2);
        assert!(
            reqs[1].head.starts_with("POST /legacy/v2/ "),
            "{}",
            reqs[1].head
        );
        assert_eq!(reqs[1].header("authorization").as_deref(), Some(BASIC));
        let first = parse_multipart(&reqs[0]);
        let second = parse_multipart(&reqs[1]);
        assert_eq!(first, second, "the re-sent form must be complete");
    }

    #[tokio::test]
    async fn cross_host_redirect_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        let (url, seen) = serve(vec![response(
            "307 Temporary Redirect",
            "text/plain",
            "",
            "Location: https://elsewhere.example/legacy/\r\n",
        )])
        .await;
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, UploadError::Redirect { status: 307, to, .. } if to == "https://elsewhere.example/legacy/"),
            "{err:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn unreachable_index_is_a_transport_error() {
        let dir = tempfile::tempdir().unwrap();
        let dist = make_wheel(dir.path());
        // Bind then drop, so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/legacy/")).unwrap();
        let err = Uploader::new(url, creds())
            .unwrap()
            .upload(&dist)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::Transport { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        assert!(err.is_retryable());
    }

    /// A server that reads the body slowly but steadily, and one that stops reading: the first
    /// upload takes several stall timeouts and still succeeds, the second is abandoned.
    #[tokio::test]
    async fn stall_timeout_spares_slow_progress_and_stops_a_dead_connection() {
        let dir = tempfile::tempdir().unwrap();
        let mut dist = make_wheel(dir.path());
        let big = dir.path().join("big.whl");
        std::fs::write(&big, vec![7u8; 24 * 1024 * 1024]).unwrap();
        dist.path = big;
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            stall: Duration::from_millis(400),
        };

        for slow_reader in [true, false] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = Url::parse(&format!(
                "http://{}/legacy/",
                listener.local_addr().unwrap()
            ))
            .unwrap();
            let server = tokio::spawn(async move {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut chunk = vec![0u8; 256 * 1024];
                let mut total = 0usize;
                let started = std::time::Instant::now();
                loop {
                    if !slow_reader && total > 1024 * 1024 {
                        // Stop reading; hold the connection open.
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        return started.elapsed();
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return started.elapsed(),
                        Ok(n) => total += n,
                    }
                    if total >= 24 * 1024 * 1024 {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
                            .await;
                        return started.elapsed();
                    }
                    // About 10 MiB/s: the 24 MiB body takes ~2.4 s, six stall timeouts.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            });
            let up = Uploader::with_timeouts(url, creds(), timeouts).unwrap();
            let result = up.upload(&dist).await;
            if slow_reader {
                let done = result.unwrap();
                assert_eq!(done.status, 200);
                let took = server.await.unwrap();
                assert!(took > timeouts.stall * 3, "the body took {took:?}");
            } else {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, UploadError::Stalled { what, sent, size, .. }
                        if what == "no byte of the file was accepted" && sent < size),
                    "{err:?}"
                );
                assert!(err.is_retryable() && err.may_have_landed());
                server.abort();
            }
        }
    }

    #[test]
    fn only_https_or_loopback_http_may_carry_credentials() {
        for ok in [
            "https://upload.pypi.org/legacy/",
            "https://test.pypi.org/legacy/",
            "http://127.0.0.1:8080/",
            "http://127.1.2.3/",
            "http://localhost:8080/legacy/",
            "http://[::1]:8080/",
        ] {
            assert!(
                Uploader::new(Url::parse(ok).unwrap(), creds()).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://upload.pypi.org/legacy/",
            "http://10.0.0.1/",
            "http://localhost.evil.example/",
            "ftp://127.0.0.1/",
            "file:///tmp/x",
        ] {
            let err = Uploader::new(Url::parse(bad).unwrap(), creds()).unwrap_err();
            assert!(
                matches!(err, UploadError::InsecureUrl { .. }),
                "{bad}: {err:?}"
            );
        }
        let err = Uploader::new(
            Url::parse("http://user:hunter2secret@example.org/").unwrap(),
            creds(),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2secret"), "{err}");
        let up = Uploader::new(
            Url::parse("https://u:hunter2secret@example.org/").unwrap(),
            creds(),
        )
        .unwrap();
        assert_eq!(up.url().as_str(), "https://example.org/");
        assert!(!format!("{up:?}").contains(TOKEN));
    }

    #[test]
    fn method_not_allowed_points_at_the_upload_url() {
        let e = UploadError::Rejected {
            filename: "p-1.0.tar.gz".into(),
            status: 405,
            message: "Method Not Allowed".into(),
            retry_after: None,
        };
        assert!(e
            .to_string()
            .contains("simple index URL, not the upload URL"));
        assert!(!e.is_retryable());
    }

    #[test]
    fn redirect_rules() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(&u("https://a.org/x"), &u("https://a.org/y")));
        assert!(same_origin(
            &u("http://127.0.0.1:9/x"),
            &u("http://127.0.0.1:9/y")
        ));
        assert!(!same_origin(
            &u("http://127.0.0.1:9/x"),
            &u("http://127.0.0.1:10/y")
        ));
        assert!(!same_origin(&u("https://a.org/x"), &u("https://b.org/x")));
        assert!(!same_origin(&u("https://a.org/x"), &u("http://a.org/x")));
    }

    #[test]
    fn message_extraction() {
        assert_eq!(
            extract_message(r#"{"message": "400 File already exists"}"#, true).as_deref(),
            Some("400 File already exists")
        );
        assert_eq!(
            extract_message(
                "<html><head><title>403 Forbidden</title></head><body></body></html>",
                false
            )
            .as_deref(),
            Some("403 Forbidden")
        );
        assert_eq!(
            extract_message("\n\n  Conflict: file exists  \nsecond line", false).as_deref(),
            Some("Conflict: file exists")
        );
        // pypiserver's 403 for a wrong password: no reason, so the title it is.
        let pypiserver_403 = "\n    <!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n    <html>\n        <head>\n            <title>Error: 403 Forbidden</title>\n            <style type=\"text/css\">\n              pre {background-color: #eee;}\n            </style>\n        </head>\n        <body>\n            <h1>Error: 403 Forbidden</h1>\n            <pre>None</pre>\n        </body>\n    </html>";
        assert_eq!(
            extract_message(pypiserver_403, false).as_deref(),
            Some("Error: 403 Forbidden")
        );
        assert_eq!(extract_message("   ", false), None);
        let long = "x".repeat(5000);
        assert_eq!(
            extract_message(&long, false).unwrap().chars().count(),
            MAX_MESSAGE_CHARS + 1
        );
        assert_eq!(element_text("<PRE class=\"e\">a</PRE>", "pre"), Some("a"));
        assert_eq!(element_text("<preformatted>a</preformatted>", "pre"), None);
    }
}
