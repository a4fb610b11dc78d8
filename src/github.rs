//! GitHub's REST API: the one HTTP client for it (the checks gate's reads, the release's
//! writes and asset uploads).
//!
//! Polling is cheap only when it is conditional: every GET sends `If-None-Match` with the
//! last ETag seen for that URL, and a `304 Not Modified` (which GitHub does not count against
//! the primary rate limit) hands back the cached body. Rate limits are waited out, up to a
//! cap (GitHub's own resets come within the hour): `Retry-After`, `x-ratelimit-remaining: 0`
//! until `x-ratelimit-reset`, and secondary limit 403/429s; 5xx and transport errors are retried with exponential backoff — for writes
//! only when repeating is safe (PATCH, DELETE, or a POST whose connection never opened).
//!
//! Built on `reqwest` (already the crate's HTTP stack) rather than octocrab: the gate needs
//! the raw status, ETag and rate-limit headers of every response, and its own retry rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use crate::secret::Secret;

pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The longest rate-limit wait obeyed unless [`GitHub::with_max_rate_limit_wait`] says
/// otherwise. GitHub's primary limit resets within the hour, so a `Retry-After` or an
/// `x-ratelimit-reset` further out is a bogus header or a skewed clock; obeying it would hold
/// the job until the runner kills it, with no word of why.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(61 * 60);

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub API URL `{url}` is not usable: {reason}. Set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3")]
    BadUrl { url: String, reason: String },
    #[error("GET {url} failed after {attempts} attempt(s): {message}")]
    Transport {
        url: String,
        attempts: u32,
        message: String,
    },
    #[error("GET {url} answered {status}: {message}{hint}")]
    Status {
        url: String,
        status: u16,
        message: String,
        hint: &'static str,
    },
    #[error("GET {url} answered with a body that is not the expected JSON: {message}")]
    Body { url: String, message: String },
    /// A write (`POST`/`PATCH`/`DELETE`, or an asset upload) that failed.
    #[error("{method} {url} {message}{hint}")]
    Write {
        method: &'static str,
        url: String,
        /// The HTTP status, when the server answered.
        status: Option<u16>,
        message: String,
        hint: &'static str,
    },
    #[error("{request}: GitHub's rate limit asks to wait {}, longer than the {} this client waits (a bogus `Retry-After`/`x-ratelimit-reset` header, or a wrong clock on the runner). Re-run the job after the limit resets, or pass a `github-token` with a limit of its own", whole_secs(*wait), whole_secs(*max))]
    RateLimited {
        /// The method and URL, e.g. `GET https://...`.
        request: String,
        wait: Duration,
        max: Duration,
    },
    #[error("cannot read `{}` to upload it: {message}", path.display())]
    File {
        path: std::path::PathBuf,
        message: String,
    },
}

impl GitHubError {
    /// The HTTP status of an answered request (404 tells "absent" from "broken").
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            GitHubError::Write { status, .. } => *status,
            _ => None,
        }
    }
}

/// The write methods; only these three are sent with a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Post,
    Patch,
    Delete,
}

impl Write {
    fn name(self) -> &'static str {
        match self {
            Write::Post => "POST",
            Write::Patch => "PATCH",
            Write::Delete => "DELETE",
        }
    }
    /// PATCH and DELETE may be repeated; a POST that may have been processed must not be.
    fn idempotent(self) -> bool {
        !matches!(self, Write::Post)
    }
}

/// How hard to try. Tests shrink the delays; production keeps GitHub's recommendations.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for 5xx and transport errors (rate-limit waits do not count).
    pub max_attempts: u32,
    /// First backoff delay; doubled per attempt.
    pub backoff: Duration,
    /// Wait after a secondary-rate-limit answer without `Retry-After` (GitHub: at least a minute).
    pub secondary_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Duration::from_secs(1),
            secondary_wait: Duration::from_secs(60),
        }
    }
}

/// What the client did, for logs, docs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every HTTP request sent.
    pub requests: u64,
    /// 200 responses (each costs one unit of the primary rate limit).
    pub full: u64,
    /// 304 responses (free).
    pub not_modified: u64,
    /// Requests repeated after a 5xx or a transport error.
    pub retries: u64,
    /// Waits for a rate limit.
    pub rate_limit_waits: u64,
}

#[derive(Debug, Clone)]
struct Cached {
    etag: String,
    body: Value,
    next: Option<Url>,
}

/// One page of a response: its JSON and the `Link: rel="next"` URL.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Value,
    pub next: Option<Url>,
    /// Served from the ETag cache after a 304.
    pub cached: bool,
}

type Logger = Arc<dyn Fn(&str) + Send + Sync>;

pub struct GitHub {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    policy: RetryPolicy,
    cache: Mutex<HashMap<String, Cached>>,
    stats: Mutex<Stats>,
    /// Epoch second until which the primary limit is spent (from the last response).
    exhausted_until: Mutex<Option<u64>>,
    log: Option<Logger>,
    /// Said after a permission 403 or a 404: which `permissions:` the caller's calls need.
    permission_hint: &'static str,
    /// A rate-limit wait longer than this fails instead of sleeping.
    max_rate_limit_wait: Duration,
}

impl GitHub {
    /// A client for `api_url` (GITHUB_API_URL; a GHES path prefix such as `/api/v3` is kept).
    pub fn new(api_url: &str, token: Option<Secret>) -> Result<GitHub, GitHubError> {
        let bad = |reason: String| GitHubError::BadUrl {
            url: api_url.to_owned(),
            reason,
        };
        let mut base = Url::parse(api_url.trim()).map_err(|e| bad(e.to_string()))?;
        if base.scheme() != "https" && base.scheme() != "http" {
            return Err(bad("the scheme must be https".into()));
        }
        // Every error and log line names its URL: credentials in it would be printed.
        if !base.username().is_empty() || base.password().is_some() {
            let _ = base.set_username("");
            let _ = base.set_password(None);
            return Err(GitHubError::BadUrl {
                url: base.to_string(),
                reason: "it carries a user or password, which would be printed with every request's URL; pass the token as `github-token` instead".into(),
            });
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("sdd-publish/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(GitHub {
            http,
            base,
            token: token.filter(|t| !t.expose().is_empty()),
            policy: RetryPolicy::default(),
            cache: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
            exhausted_until: Mutex::new(None),
            log: None,
            permission_hint: ". The token may lack a permission: the job needs `permissions: checks: read, statuses: read, actions: read`",
            max_rate_limit_wait: MAX_RATE_LIMIT_WAIT,
        })
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Where waits and retries are reported (they can take minutes; silence would look hung).
    pub fn with_logger(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.log = Some(Arc::new(log));
        self
    }

    /// What a permission 403 says to do (e.g. the release needs `contents: write`).
    pub fn with_permission_hint(mut self, hint: &'static str) -> Self {
        self.permission_hint = hint;
        self
    }

    /// The longest rate-limit wait to sit out (e.g. the gate's `wait-timeout`); a longer one
    /// is a [`GitHubError::RateLimited`] at once.
    pub fn with_max_rate_limit_wait(mut self, max: Duration) -> Self {
        self.max_rate_limit_wait = max;
        self
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// `path` (e.g. `repos/o/r/commits/abc/status?per_page=100`) under the API base.
    pub fn url(&self, path: &str) -> Result<Url, GitHubError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| GitHubError::BadUrl {
                url: format!("{}{path}", self.base),
                reason: e.to_string(),
            })
    }

    fn note(&self, msg: &str) {
        if let Some(l) = &self.log {
            l(msg);
        }
    }

    fn bump(&self, f: impl FnOnce(&mut Stats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// GET one page, conditionally, waiting out rate limits and retrying server errors.
    pub async fn get(&self, url: &Url) -> Result<Page, GitHubError> {
        let key = url.to_string();
        let mut attempt = 0u32;
        loop {
            self.wait_for_primary_limit(&format!("GET {key}")).await?;
            let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
            let mut req = self
                .http
                .get(url.clone())
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(t) = &self.token {
                req = req.bearer_auth(t.expose());
            }
            if let Some(c) = &cached {
                req = req.header("If-None-Match", c.etag.as_str());
            }
            attempt += 1;
            self.bump(|s| s.requests += 1);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    if attempt >= self.policy.max_attempts {
                        return Err(GitHubError::Transport {
                            url: key,
                            attempts: attempt,
                            message: e.to_string(),
                        });
                    }
                    self.retry_after_error(attempt, &format!("GET {key}"), &e.to_string())
                        .await;
                    continue;
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.track_primary_limit(&headers);
            match status {
                StatusCode::NOT_MODIFIED => {
                    if let Some(c) = cached {
                        self.bump(|s| s.not_modified += 1);
                        return Ok(Page {
                            body: c.body,
                            next: c.next,
                            cached: true,
                        });
                    }
                    // A 304 to an unconditional request means a broken server or proxy.
                    return Err(GitHubError::Status {
                        url: key,
                        status: 304,
                        message: "Not Modified, but no If-None-Match was sent".into(),
                        hint: "",
                    });
                }
                s if s.is_success() => {
                    self.bump(|s| s.full += 1);
                    let bytes = resp.bytes().await.map_err(|e| GitHubError::Body {
                        url: key.clone(),
                        message: e.to_string(),
                    })?;
                    let body: Value =
                        serde_json::from_slice(&bytes).map_err(|e| GitHubError::Body {
                            url: key.clone(),
                            message: e.to_string(),
                        })?;
                    let next = next_link(&headers);
                    if let Some(etag) = header(&headers, "etag") {
                        if let Ok(mut c) = self.cache.lock() {
                            c.insert(
                                key,
                                Cached {
                                    etag,
                                    body: body.clone(),
                                    next: next.clone(),
                                },
                            );
                        }
                    }
                    return Ok(Page {
                        body,
                        next,
                        cached: false,
                    });
                }
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
                    let text = resp.text().await.unwrap_or_default();
                    let message = api_message(&text);
                    if let Some(wait) = rate_limit_wait(&headers, &message, &self.policy) {
                        self.check_wait(wait, &format!("GET {key}"))?;
                        self.bump(|s| s.rate_limit_waits += 1);
                        self.note(&format!(
                            "GitHub rate limit ({}): waiting {}s before retrying {key}",
                            status.as_u16(),
                            wait.as_secs_f64().ceil()
                        ));
                        tokio::time::sleep(wait).await;
                        attempt = attempt.saturating_sub(1);
                        continue;
                    }
                    return Err(GitHubError::Status {
                        url: key,
                        status: status.as_u16(),
                        message,
                        hint: self.permission_hint,
                    });
                }
                s if s.is_server_error() => {
                    let text = resp.text().await.unwrap_or_default();
                    if attempt >= self.policy.max_attempts {
                        return Err(GitHubError::Status {
                            url: key,
                            status: s.as_u16(),
                            message: api_message(&text),
                            hint: " (gave up after retrying)",
                        });
                    }
                    self.retry_after_error(
                        attempt,
                        &format!("GET {key}"),
                        &format!("HTTP {}", s.as_u16()),
                    )
                    .await;
                    continue;
                }
                s => {
                    let text = resp.text().await.unwrap_or_default();
                    let hint = match s {
                        // GitHub answers 404, not 403, when the token cannot see the repository.
                        StatusCode::NOT_FOUND => self.permission_hint,
                        StatusCode::UNAUTHORIZED => ". The token was refused: pass a valid `github-token` (default `${{ github.token }}`)",
                        _ => "",
                    };
                    return Err(GitHubError::Status {
                        url: key,
                        status: s.as_u16(),
                        message: api_message(&text),
                        hint,
                    });
                }
            }
        }
    }

    /// A JSON write (`body` for POST/PATCH); a 204 gives `Value::Null`. Rate limits are waited
    /// out as for GET (a rate-limited request was not processed). PATCH and DELETE are
    /// repeated after a 5xx or a transport error; a POST only when the connection was never
    /// made: otherwise it may have been processed, and the caller re-checks GitHub's state.
    pub async fn write(
        &self,
        method: Write,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Value, GitHubError> {
        let body = body.map(Value::to_string);
        let m = match method {
            Write::Post => reqwest::Method::POST,
            Write::Patch => reqwest::Method::PATCH,
            Write::Delete => reqwest::Method::DELETE,
        };
        self.send(method, url, &|| {
            let mut req = self.http.request(m.clone(), url.clone());
            if let Some(b) = &body {
                req = req
                    .header("Content-Type", "application/json")
                    .body(b.clone());
            }
            Ok(req)
        })
        .await
    }

    /// Upload `path` as release asset `name` to a release's `upload_url` (a URI template such
    /// as `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`; the host is
    /// whatever the API named). Streamed from disk with a known `Content-Length`; repeated only
    /// when the connection was never made (a half-done upload leaves an asset to re-check).
    pub async fn upload_asset(
        &self,
        upload_url: &str,
        name: &str,
        path: &std::path::Path,
    ) -> Result<Value, GitHubError> {
        let url = expand_upload_url(upload_url, name)?;
        let file_err = |e: std::io::Error| GitHubError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let size = std::fs::metadata(path).map_err(file_err)?.len();
        // The client's 60 s limit is for JSON; a file gets a minute plus 100 kB/s.
        let timeout = Duration::from_secs(60 + size / 100_000);
        self.send(Write::Post, &url, &|| {
            let file = std::fs::File::open(path).map_err(file_err)?;
            let stream = tokio_util::io::ReaderStream::with_capacity(
                tokio::fs::File::from_std(file),
                64 * 1024,
            );
            Ok(self
                .http
                .post(url.clone())
                .timeout(timeout)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", size)
                .body(reqwest::Body::wrap_stream(stream)))
        })
        .await
    }

    async fn send(
        &self,
        method: Write,
        url: &Url,
        build: &(dyn Fn() -> Result<reqwest::RequestBuilder, GitHubError> + Sync),
    ) -> Result<Value, GitHubError> {
        let key = url.to_string();
        let fail = |status: Option<u16>, message: String, hint: &'static str| GitHubError::Write {
            method: method.name(),
            url: key.clone(),
            status,
            message,
            hint,
        };
        let mut attempt = 0u32;
        loop {
            self.wait_for_primary_limit(&format!("{} {key}", method.name()))
                .await?;
            let mut req = build()?
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(t) = &self.token {
                req = req.bearer_auth(t.expose());
            }
            attempt += 1;
            self.bump(|s| s.requests += 1);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let maybe_processed = !e.is_connect();
                    if maybe_processed && !method.idempotent() {
                        return Err(fail(
                            None,
                            format!("failed: {e}"),
                            " (not repeated: GitHub may have processed it)",
                        ));
                    }
                    if attempt >= self.policy.max_attempts {
                        return Err(fail(
                            None,
                            format!("failed after {attempt} attempt(s): {e}"),
                            "",
                        ));
                    }
                    self.retry_after_error(
                        attempt,
                        &format!("{} {key}", method.name()),
                        &e.to_string(),
                    )
                    .await;
                    continue;
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.track_primary_limit(&headers);
            if status.is_success() {
                self.bump(|s| s.full += 1);
                let bytes = resp
                    .bytes()
                    .await
                    .map_err(|e| fail(Some(status.as_u16()), e.to_string(), ""))?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes).map_err(|e| {
                    fail(
                        Some(status.as_u16()),
                        format!("answered with a body that is not JSON: {e}"),
                        "",
                    )
                });
            }
            let text = resp.text().await.unwrap_or_default();
            let message = api_message(&text);
            if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
                if let Some(wait) = rate_limit_wait(&headers, &message, &self.policy) {
                    self.check_wait(wait, &format!("{} {key}", method.name()))?;
                    self.bump(|s| s.rate_limit_waits += 1);
                    self.note(&format!(
                        "GitHub rate limit ({}): waiting {}s before retrying {} {key}",
                        status.as_u16(),
                        wait.as_secs_f64().ceil(),
                        method.name()
                    ));
                    tokio::time::sleep(wait).await;
                    attempt = attempt.saturating_sub(1);
                    continue;
                }
            }
            if status.is_server_error() && method.idempotent() && attempt < self.policy.max_attempts
            {
                self.retry_after_error(
                    attempt,
                    &format!("{} {key}", method.name()),
                    &format!("HTTP {}", status.as_u16()),
                )
                .await;
                continue;
            }
            let hint = match status {
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => self.permission_hint,
                StatusCode::UNAUTHORIZED => ". The token was refused: pass a valid `github-token` (default `${{ github.token }}`)",
                _ => "",
            };
            return Err(fail(
                Some(status.as_u16()),
                format!(
                    "answered {}: {}",
                    status.as_u16(),
                    with_errors(&message, &text)
                ),
                hint,
            ));
        }
    }

    /// Every page, following `Link: rel="next"` from `url`.
    pub async fn get_all(&self, url: &Url) -> Result<Vec<Page>, GitHubError> {
        let mut pages = Vec::new();
        let mut next = Some(url.clone());
        while let Some(u) = next.take() {
            let page = self.get(&u).await?;
            next = page.next.clone();
            pages.push(page);
            if pages.len() > 1000 {
                break; // a server that links pages in a circle must not hang the gate
            }
        }
        Ok(pages)
    }

    /// `request` is the method and URL, e.g. `GET https://...`.
    async fn retry_after_error(&self, attempt: u32, request: &str, what: &str) {
        let delay = self.policy.backoff * 2u32.saturating_pow(attempt.saturating_sub(1));
        self.bump(|s| s.retries += 1);
        self.note(&format!(
            "{request}: {what}; retrying in {:.1}s (attempt {} of {})",
            delay.as_secs_f64(),
            attempt + 1,
            self.policy.max_attempts
        ));
        tokio::time::sleep(delay).await;
    }

    fn track_primary_limit(&self, headers: &HeaderMap) {
        let remaining =
            header(headers, "x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
        let reset = header(headers, "x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        if let Ok(mut e) = self.exhausted_until.lock() {
            *e = match (remaining, reset) {
                (Some(0), Some(r)) => Some(r),
                _ => None,
            };
        }
    }

    /// A rate-limit wait for `request` is sat out only up to the cap.
    fn check_wait(&self, wait: Duration, request: &str) -> Result<(), GitHubError> {
        if wait > self.max_rate_limit_wait {
            return Err(GitHubError::RateLimited {
                request: request.to_owned(),
                wait,
                max: self.max_rate_limit_wait,
            });
        }
        Ok(())
    }

    /// Before a request: if the last response said the primary limit is spent, sleep until
    /// its reset instead of spending a request on a certain 403.
    async fn wait_for_primary_limit(&self, request: &str) -> Result<(), GitHubError> {
        let until = self.exhausted_until.lock().ok().and_then(|e| *e);
        if let Some(reset) = until {
            let wait = until_epoch(reset);
            self.check_wait(wait, request)?;
            if !wait.is_zero() {
                self.bump(|s| s.rate_limit_waits += 1);
                self.note(&format!(
                    "GitHub rate limit spent: waiting {}s for it to reset",
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
            }
            if let Ok(mut e) = self.exhausted_until.lock() {
                *e = None;
            }
        }
        Ok(())
    }
}

/// A wait as whole seconds (`1h 1m`), for messages.
fn whole_secs(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(d.as_secs()))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(|s| s.trim().to_owned())
}

/// Time from now until an epoch second, plus a second of slack for clock skew.
fn until_epoch(epoch: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if epoch >= now {
        Duration::from_secs(epoch - now + 1)
    } else {
        Duration::ZERO
    }
}

/// How long a 403/429 asks us to wait, or `None` when it is not a rate limit (a permission
/// problem must fail, not loop). Order follows GitHub's docs: `Retry-After` first, then a
/// spent primary limit (`x-ratelimit-remaining: 0` → until `x-ratelimit-reset`), then a
/// secondary limit named in the message (at least a minute).
pub fn rate_limit_wait(
    headers: &HeaderMap,
    message: &str,
    policy: &RetryPolicy,
) -> Option<Duration> {
    if let Some(secs) = header(headers, "retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header(headers, "x-ratelimit-remaining").as_deref() == Some("0") {
        if let Some(reset) =
            header(headers, "x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok())
        {
            return Some(until_epoch(reset));
        }
    }
    let m = message.to_ascii_lowercase();
    if m.contains("rate limit") {
        return Some(policy.secondary_wait);
    }
    None
}

/// GitHub's error bodies are `{"message": ...}`; fall back to the first bytes of the text.
pub(crate) fn api_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

/// A 422's `errors` (`[{"resource","code","field"}]`) say which field was refused.
pub(crate) fn with_errors(message: &str, text: &str) -> String {
    let errors = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()));
    match errors {
        Some(e) => format!("{message} {e}"),
        None => message.to_owned(),
    }
}

/// The URL to upload asset `name` to, from a release's `upload_url` URI template (RFC 6570:
/// `…/assets{?name,label}`); the name is percent-encoded as a query value.
pub fn expand_upload_url(template: &str, name: &str) -> Result<Url, GitHubError> {
    let base = template.split('{').next().unwrap_or(template);
    let mut url = Url::parse(base).map_err(|e| GitHubError::BadUrl {
        url: template.to_owned(),
        reason: format!("the release's upload_url is not a URL: {e}"),
    })?;
    url.query_pairs_mut().append_pair("name", name);
    Ok(url)
}

/// The `rel="next"` target of a `Link` header (RFC 8288, as GitHub writes it).
pub fn next_link(headers: &HeaderMap) -> Option<Url> {
    let link = header(headers, "link")?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let t = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        Url::parse(t).ok()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn next_link_is_found_among_others() {
        let h = headers(&[(
            "link",
            r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=3>; rel="last""#,
        )]);
        assert_eq!(
            next_link(&h).unwrap().as_str(),
            "https://api.github.com/x?page=2"
        );
        let last_only = headers(&[("link", r#"<https://api.github.com/x?page=1>; rel="prev""#)]);
        assert!(next_link(&last_only).is_none());
        assert!(next_link(&HeaderMap::new()).is_none());
    }

    #[test]
    fn rate_limit_waits_follow_githubs_order() {
        let p = RetryPolicy::default();
        let h = headers(&[("retry-after", "7"), ("x-ratelimit-remaining", "0")]);
        assert_eq!(rate_limit_wait(&h, "", &p), Some(Duration::from_secs(7)));
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")]);
        assert_eq!(rate_limit_wait(&h, "", &p), Some(Duration::ZERO));
        let h = headers(&[("x-ratelimit-remaining", "12")]);
        assert_eq!(
            rate_limit_wait(&h, "You have exceeded a secondary rate limit.", &p),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(&h, "Resource not accessible by integration", &p),
            None
        );
    }

    /// A loopback server that answers every request with `response` and counts requests.
    pub(crate) async fn answering(response: String) -> (String, Arc<Mutex<u32>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let count = Arc::new(Mutex::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                *seen.lock().unwrap() += 1;
                let mut buf = vec![0; 64 * 1024];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(response.as_bytes()).await;
            }
        });
        (url, count)
    }

    /// Without the cap these calls would sleep for a day: a loose bound makes that a failure.
    async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("a day-long rate-limit wait was sat out instead of refused")
    }

    fn far_reset() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 86_400
    }

    #[tokio::test]
    async fn a_rate_limit_wait_beyond_the_cap_fails_at_once_naming_the_fix() {
        let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let (api, count) = answering(format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 86400\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
        .await;
        let gh = GitHub::new(&api, None).unwrap();
        let url = gh.url("repos/o/r/commits/abc/status").unwrap();
        let err = bounded(gh.get(&url)).await.unwrap_err();
        assert_eq!(*count.lock().unwrap(), 1);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("GET {url}: GitHub's rate limit asks to wait 1day"))
                && msg.contains("longer than the 1h 1m this client waits")
                && msg.contains("Re-run the job after the limit resets"),
            "{msg}"
        );
        // A write asked to wait past a lowered cap fails the same way, naming its method.
        let gh = GitHub::new(&api, None)
            .unwrap()
            .with_max_rate_limit_wait(Duration::from_secs(60));
        let err = bounded(gh.write(Write::Patch, &url, None))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "PATCH {url}: GitHub's rate limit asks to wait 1day"
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_spent_primary_limit_resetting_beyond_the_cap_fails_the_next_request() {
        let body = "[]";
        let (api, count) = answering(format!(
            "HTTP/1.1 200 OK\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            far_reset(),
            body.len()
        ))
        .await;
        let gh = GitHub::new(&api, None).unwrap();
        let url = gh.url("repos/o/r/commits/abc/check-runs").unwrap();
        gh.get(&url).await.unwrap();
        let err = bounded(gh.get(&url)).await.unwrap_err();
        assert!(
            matches!(&err, GitHubError::RateLimited { wait, max, .. }
                if *wait > Duration::from_secs(86_000) && *max == MAX_RATE_LIMIT_WAIT),
            "{err}"
        );
        // The second request was never sent: the wait was refused before it.
        assert_eq!(*count.lock().unwrap(), 1);
        assert_eq!(gh.stats().rate_limit_waits, 0);
    }

    #[tokio::test]
    async fn a_404_says_what_the_callers_token_needs() {
        let body = r#"{"message":"Not Found"}"#;
        let (api, _) = answering(format!(
            "HTTP/1.1 404 Not Found\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
        .await;
        let gh = GitHub::new(&api, None)
            .unwrap()
            .with_permission_hint(". The release needs `permissions: contents: write`");
        let url = gh.url("repos/o/r/releases/1/assets").unwrap();
        let err = gh.get(&url).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.to_string(),
            format!("GET {url} answered 404: Not Found. The release needs `permissions: contents: write`")
        );
    }

    #[test]
    fn upload_url_templates_expand_to_the_named_host() {
        let u = expand_upload_url(
            "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}",
            "improved_sdd-1.2.0+local-py3-none-any.whl",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://uploads.github.com/repos/o/r/releases/1/assets?name=improved_sdd-1.2.0%2Blocal-py3-none-any.whl"
        );
        let u = expand_upload_url("http://127.0.0.1:9/up/1/assets", "a b.tar.gz").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9/up/1/assets?name=a+b.tar.gz");
        assert!(expand_upload_url("not a url{?name}", "x").is_err());
    }

    #[test]
    fn urls_keep_an_enterprise_prefix() {
        let gh = GitHub::new("https://ghe.example/api/v3", None).unwrap();
        assert_eq!(
            gh.url("repos/o/r/commits/abc/status").unwrap().as_str(),
            "https://ghe.example/api/v3/repos/o/r/commits/abc/status"
        );
        assert!(GitHub::new("ftp://x", None).is_err());
        let err = GitHub::new("https://me:ghp_SECRET@ghe.example/api/v3", None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(
                "`https://ghe.example/api/v3` is not usable: it carries a user or password"
            ) && !err.contains("ghp_SECRET")
                && !err.contains("me@"),
            "{err}"
        );
        assert!(GitHub::new("not a url", None).is_err());
    }
}
