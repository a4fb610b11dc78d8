//! GitHub's REST API: the one HTTP client for it (the checks gate's reads, the release's
//! writes and asset uploads), typed: callers get the serde models of [`models`], never JSON.
//!
//! Every request goes through one loop ([`GitHub::request`]), the one place that sends to
//! GitHub and reads a URL back from a response (`Link: rel="next"`, a release's
//! `upload_url`). Polling is cheap only when it is conditional: every GET sends
//! `If-None-Match` with the last ETag seen for that URL, and a `304 Not Modified` (which
//! GitHub does not count against the primary rate limit) hands back the cached body. Rate
//! limits are waited out, up to a cap (GitHub's own resets come within the hour):
//! `Retry-After`, `x-ratelimit-remaining: 0` until `x-ratelimit-reset`, and secondary limit
//! 403/429s; such waits are not attempts. 5xx and transport errors are retried on the
//! crate's one [`RetryPolicy`] (backoff with jitter, `Retry-After` honoured within its
//! budget) — for writes only when repeating is safe (PATCH, DELETE, or a POST whose
//! connection never opened).
//!
//! The token goes only to the API's own origin (scheme, host, port) and, for an API at
//! `api.<domain>`, to `uploads.<domain>` where GitHub takes release assets: a `Link` or
//! `upload_url` naming anything else is refused before a byte is sent, and a redirect off
//! the origin is not followed. Every attempt's timeout is capped by the budget left
//! ([`GitHub::with_deadline`]), and answers are read up to a size cap.
//!
//! Errors say what happened (method, URL, status, GitHub's message, with every form of the
//! token cut out before it is shortened); which permission or input would fix it is for the
//! caller, who knows what the request was for.
//!
//! Built on `reqwest` (already the crate's HTTP stack) rather than octocrab: the gate needs
//! the raw status, ETag and rate-limit headers of every response, and its own retry rules.

pub(crate) mod models;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::Retryable;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

pub use crate::retry::RetryPolicy;
use crate::retry::{retry_after, within};
use crate::secret::Secret;

pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// The largest answer read: a page of 100 check runs is well under a megabyte.
const MAX_BODY: usize = 32 * 1024 * 1024;
/// What of an error answer is read (its message is a line or two).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// One request's own time limit (a file upload gets more, see [`GitHub::upload_asset`]).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest rate-limit wait obeyed unless [`GitHub::with_max_rate_limit_wait`] says
/// otherwise. GitHub's primary limit resets within the hour, so a `Retry-After` or an
/// `x-ratelimit-reset` further out is a bogus header or a skewed clock; obeying it would hold
/// the job until the runner kills it, with no word of why.
pub(crate) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(61 * 60);

/// Wait after a secondary-rate-limit answer without `Retry-After` (GitHub: at least a minute).
pub(crate) const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// GitHub's retry advice: a few attempts, a second apart and doubling. The total is long
/// because it only bounds when a retry may start; rate-limit waits are capped on their own.
pub(crate) fn default_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 5,
        min_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        total: Duration::from_secs(2 * 60 * 60),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub API URL `{url}` is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{method} {url} failed{}: {message}{}", if *repeatable { format!(" after {attempts} attempt(s)") } else { String::new() }, if *repeatable { "" } else { " (not repeated: GitHub may have processed it)" })]
    Transport {
        method: &'static str,
        url: String,
        attempts: usize,
        message: String,
        /// False for a POST that may have reached GitHub: it was sent once only.
        repeatable: bool,
    },
    #[error("{method} {url} answered {status}: {message}{}", if *gave_up { " (gave up after retrying)" } else { "" })]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
        /// A 5xx that stayed after every retry.
        gave_up: bool,
    },
    #[error("{method} {url} answered with a body that is not the expected JSON: {message}")]
    Body {
        method: &'static str,
        url: String,
        message: String,
    },
    #[error("{request}: GitHub's rate limit asks to wait {}, longer than the {} this client waits (a bogus `Retry-After`/`x-ratelimit-reset` header, or a wrong clock on the runner)", whole_secs(*wait), whole_secs(*max))]
    RateLimited {
        /// The method and URL, e.g. `GET https://...`.
        request: String,
        wait: Duration,
        max: Duration,
    },
    #[error("{method} {url}: refusing to send the GitHub token to `{origin}`, which is not the API's origin ({allowed}); the URL came from GitHub's answer (a `Link` next page or a release's `upload_url`)")]
    ForeignUrl {
        method: &'static str,
        url: String,
        origin: String,
        allowed: String,
    },
    #[error("{method} {url} answered {status}, a redirect to `{to}`, which is not followed: the GitHub token goes only to the API's origin ({allowed})")]
    Redirect {
        method: &'static str,
        url: String,
        status: u16,
        to: String,
        allowed: String,
    },
    #[error("{method} {url}: {what}")]
    Deadline {
        method: &'static str,
        url: String,
        what: String,
    },
    #[error("cannot read `{}` to upload it: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GitHubError {
    /// The HTTP status of an answered request (404 tells "absent" from "broken").
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The request methods this client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    fn http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
    /// GET, PATCH and DELETE may be repeated; a POST that may have been processed must not be.
    fn idempotent(self) -> bool {
        !matches!(self, Method::Post)
    }
}

/// What the client did, for logs, docs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every HTTP request sent.
    pub requests: u64,
    /// 2xx responses (each costs one unit of the primary rate limit).
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
    body: Arc<[u8]>,
    next: Option<Url>,
}

/// One page of a response: its body and the `Link: rel="next"` URL.
#[derive(Debug, Clone)]
pub(crate) struct Page<T> {
    pub body: T,
    pub next: Option<Url>,
}

/// A response the loop accepted (2xx, or a 304 served from the cache).
struct Answer {
    body: Arc<[u8]>,
    next: Option<Url>,
}

/// Why one attempt failed: retried by the loop when it may be.
enum Attempt {
    Transport {
        message: String,
        connected: bool,
    },
    Status {
        status: StatusCode,
        text: String,
        retry_after: Option<Duration>,
    },
    Fatal(GitHubError),
}

type Logger = Arc<dyn Fn(&str) + Send + Sync>;

pub struct GitHub {
    http: reqwest::Client,
    base: Url,
    /// Where the token may go: the API's origin, and its uploads origin.
    origins: Vec<crate::http::Origin>,
    /// No attempt starts, and none runs, past this (the stage's budget).
    deadline: Option<Instant>,
    token: Option<Secret>,
    policy: RetryPolicy,
    secondary_wait: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    stats: Mutex<Stats>,
    /// Epoch second until which the primary limit is spent (from the last response).
    exhausted_until: Mutex<Option<u64>>,
    log: Option<Logger>,
    /// A rate-limit wait longer than this fails instead of sleeping.
    max_rate_limit_wait: Duration,
}

impl GitHub {
    /// A client for `api_url` (GITHUB_API_URL; a GHES path prefix such as `/api/v3` is kept).
    pub fn new(api_url: &str, token: Option<Secret>) -> Result<GitHub, GitHubError> {
        let bad = |reason: String| GitHubError::BadUrl {
            url: crate::secret::url_shown(api_url),
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
                reason: "it carries a user or password, which would be printed with every request's URL; pass the token separately instead".into(),
            });
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = crate::http::origin_client(Duration::from_secs(15), REQUEST_TIMEOUT)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let origins = token_origins(&base);
        Ok(GitHub {
            http,
            base,
            origins,
            deadline: None,
            token: token.filter(|t| !t.expose().is_empty()),
            policy: default_policy(),
            secondary_wait: SECONDARY_WAIT,
            cache: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
            exhausted_until: Mutex::new(None),
            log: None,
            max_rate_limit_wait: MAX_RATE_LIMIT_WAIT,
        })
    }

    /// The stage's deadline: no request starts after it, and every request's timeout ends
    /// by it.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The wait after a secondary rate limit that names no `Retry-After` (tests shorten it).
    pub fn with_secondary_wait(mut self, wait: Duration) -> Self {
        self.secondary_wait = wait;
        self
    }

    /// Where waits and retries are reported (they can take minutes; silence would look hung).
    pub fn with_logger(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.log = Some(Arc::new(log));
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
    pub(crate) fn url(&self, path: &str) -> Result<Url, GitHubError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| GitHubError::BadUrl {
                url: format!("{}{path}", self.base),
                reason: e.to_string(),
            })
    }

    /// The origins the token may go to, for messages.
    fn allowed(&self) -> String {
        self.origins
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An answer's text with every form of the token cut out, before anything shortens it.
    fn scrub(&self, text: &str) -> String {
        match &self.token {
            Some(t) => t.redact(text),
            None => text.to_owned(),
        }
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

    /// GET one page, conditionally.
    pub(crate) async fn get<T: DeserializeOwned>(&self, url: &Url) -> Result<Page<T>, GitHubError> {
        let answer = self
            .request(Method::Get, url, &|| Ok(self.http.get(url.clone())))
            .await?;
        Ok(Page {
            body: parse(Method::Get, url, &answer.body)?,
            next: answer.next,
        })
    }

    /// Every page, following `Link: rel="next"` from `url`.
    pub(crate) async fn get_all<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<Vec<T>, GitHubError> {
        let mut pages = Vec::new();
        let mut next = Some(url.clone());
        while let Some(u) = next.take() {
            let page = self.get(&u).await?;
            next = page.next;
            pages.push(page.body);
            if pages.len() > 1000 {
                break; // a server that links pages in a circle must not hang the gate
            }
        }
        Ok(pages)
    }

    /// A JSON write (`body` for POST/PATCH) whose answer is read as `T`.
    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: &(impl Serialize + Sync),
    ) -> Result<T, GitHubError> {
        let body = serde_json::to_string(body).map_err(|e| GitHubError::Body {
            method: method.name(),
            url: url.to_string(),
            message: e.to_string(),
        })?;
        let answer = self
            .request(method, url, &|| {
                Ok(self
                    .http
                    .request(method.http(), url.clone())
                    .header("Content-Type", "application/json")
                    .body(body.clone()))
            })
            .await?;
        parse(method, url, &answer.body)
    }

    /// A DELETE (answered 204, no body).
    pub(crate) async fn delete(&self, url: &Url) -> Result<(), GitHubError> {
        self.request(Method::Delete, url, &|| Ok(self.http.delete(url.clone())))
            .await
            .map(drop)
    }

    /// Upload `path` as release asset `name` to a release's `upload_url` (a URI template such
    /// as `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`; the host is
    /// whatever the API named). Streamed from disk with a known `Content-Length`; repeated only
    /// when the connection was never made (a half-done upload leaves an asset to re-check).
    pub(crate) async fn upload_asset(
        &self,
        upload_url: &str,
        name: &str,
        path: &std::path::Path,
    ) -> Result<models::Asset, GitHubError> {
        let url = expand_upload_url(upload_url, name)?;
        let file_err = |source: std::io::Error| GitHubError::File {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(file_err)?.len();
        // The client's 60 s limit is for JSON; a file gets a minute plus 100 kB/s.
        let timeout = Duration::from_secs(60 + size / 100_000);
        let answer = self
            .request(Method::Post, &url, &|| {
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
            .await?;
        parse(Method::Post, &url, &answer.body)
    }

    /// The request loop: every request to GitHub goes through here. `build` makes the request
    /// afresh for each attempt (a streamed body cannot be sent twice).
    async fn request(
        &self,
        method: Method,
        url: &Url,
        build: &(dyn Fn() -> Result<reqwest::RequestBuilder, GitHubError> + Sync),
    ) -> Result<Answer, GitHubError> {
        let key = url.to_string();
        let request = format!("{} {key}", method.name());
        if !self.origins.iter().any(|o| o.holds(url)) {
            return Err(GitHubError::ForeignUrl {
                method: method.name(),
                url: key,
                origin: crate::http::Origin::of(url)
                    .map_or_else(|| url.scheme().to_owned(), |o| o.to_string()),
                allowed: self.allowed(),
            });
        }
        let deadline = self.policy.deadline(Instant::now());
        let deadline = self.deadline.map_or(deadline, |d| d.min(deadline));
        let attempts = AtomicUsize::new(0);
        let result = (|| async {
            attempts.fetch_add(1, Ordering::SeqCst);
            self.attempt(method, &key, &request, build, deadline).await
        })
        .retry(self.policy.backoff())
        .when(|e: &Attempt| match e {
            // A POST that may have reached GitHub is never sent twice.
            Attempt::Transport { connected, .. } => method.idempotent() || !connected,
            Attempt::Status { status, .. } => status.is_server_error() && method.idempotent(),
            Attempt::Fatal(_) => false,
        })
        .adjust(|e, delay| {
            let asked = match e {
                Attempt::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            within(deadline, delay, asked)
        })
        .notify(|e, delay| {
            self.bump(|s| s.retries += 1);
            let what = match e {
                Attempt::Transport { message, .. } => message.clone(),
                Attempt::Status { status, .. } => format!("HTTP {}", status.as_u16()),
                Attempt::Fatal(e) => e.to_string(),
            };
            self.note(&format!(
                "{request}: {what}; retrying in {:.1}s (attempt {} of {})",
                delay.as_secs_f64(),
                attempts.load(Ordering::SeqCst) + 1,
                self.policy.attempts
            ));
        })
        .await;
        let attempts = attempts.load(Ordering::SeqCst);
        result.map_err(|e| match e {
            Attempt::Transport { message, connected } => GitHubError::Transport {
                method: method.name(),
                url: key.clone(),
                attempts,
                message,
                repeatable: method.idempotent() || !connected,
            },
            Attempt::Status { status, text, .. } => GitHubError::Status {
                method: method.name(),
                url: key.clone(),
                status: status.as_u16(),
                message: error_message(&self.scrub(&text), method != Method::Get),
                gave_up: status.is_server_error() && method.idempotent(),
            },
            Attempt::Fatal(e) => e,
        })
    }

    /// One attempt: rate limits are waited out here (a rate-limited request was not
    /// processed, and the wait is not an attempt), anything else goes back to the loop.
    async fn attempt(
        &self,
        method: Method,
        key: &str,
        request: &str,
        build: &(dyn Fn() -> Result<reqwest::RequestBuilder, GitHubError> + Sync),
        deadline: Instant,
    ) -> Result<Answer, Attempt> {
        let late = |what: String| {
            Attempt::Fatal(GitHubError::Deadline {
                method: method.name(),
                url: key.to_owned(),
                what,
            })
        };
        loop {
            self.wait_for_primary_limit(request)
                .await
                .map_err(Attempt::Fatal)?;
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(late("the stage's time ran out before this request".into()));
            };
            let cached = (method == Method::Get)
                .then(|| self.cache.lock().ok().and_then(|c| c.get(key).cloned()))
                .flatten();
            let mut req = build()
                .map_err(Attempt::Fatal)?
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(t) = &self.token {
                req = req.bearer_auth(t.expose());
            }
            if let Some(c) = &cached {
                req = req.header("If-None-Match", c.etag.as_str());
            }
            // A request that cannot be built never will be: not a network failure to retry.
            let mut req = req.build().map_err(|e| {
                Attempt::Fatal(GitHubError::Transport {
                    method: method.name(),
                    url: key.to_owned(),
                    message: e.to_string(),
                    attempts: 1,
                    repeatable: true,
                })
            })?;
            // This request's own limit, cut to what is left of the stage's: a server that
            // drips its answer cannot hold the run past its deadline.
            let limit = req.timeout().copied().unwrap_or(REQUEST_TIMEOUT).min(left);
            *req.timeout_mut() = Some(limit);
            self.bump(|s| s.requests += 1);
            let mut resp = self
                .http
                .execute(req)
                .await
                .map_err(|e| Attempt::Transport {
                    // The cause too (DNS, refused, TLS, timed out): the URL is named once.
                    message: crate::http::error_chain(&e),
                    connected: !e.is_connect(),
                })?;
            let status = resp.status();
            let headers = resp.headers().clone();
            self.track_primary_limit(&headers);
            if status == StatusCode::NOT_MODIFIED {
                let Some(c) = cached else {
                    // A 304 to an unconditional request means a broken server or proxy.
                    return Err(Attempt::Status {
                        status,
                        text: r#"{"message":"Not Modified, but no If-None-Match was sent"}"#.into(),
                        retry_after: None,
                    });
                };
                self.bump(|s| s.not_modified += 1);
                return Ok(Answer {
                    body: c.body,
                    next: c.next,
                });
            }
            if status.is_redirection() {
                // Only a redirect off the API's origin comes back (the client follows the rest).
                // Shown in the error: without any credential the address carries.
                let to = crate::secret::url_shown(
                    &self.scrub(&header(&headers, "location").unwrap_or_default()),
                );
                return Err(Attempt::Fatal(GitHubError::Redirect {
                    method: method.name(),
                    url: key.to_owned(),
                    status: status.as_u16(),
                    to,
                    allowed: self.allowed(),
                }));
            }
            if status.is_success() {
                self.bump(|s| s.full += 1);
                let body_err = |message: String| {
                    Attempt::Fatal(GitHubError::Body {
                        method: method.name(),
                        url: key.to_owned(),
                        message,
                    })
                };
                if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
                    return Err(body_err(format!(
                        "it announces more than {} bytes, more than any API answer",
                        MAX_BODY
                    )));
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = resp
                    .chunk()
                    .await
                    .map_err(|e| body_err(e.without_url().to_string()))?
                {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_BODY {
                        return Err(body_err(format!(
                            "more than {MAX_BODY} bytes, more than any API answer"
                        )));
                    }
                }
                let body: Arc<[u8]> = bytes.into();
                let next = next_link(&headers, url_of(key));
                if let (Method::Get, Some(etag)) = (method, header(&headers, "etag")) {
                    if let Ok(mut c) = self.cache.lock() {
                        let cached = Cached {
                            etag,
                            body: body.clone(),
                            next: next.clone(),
                        };
                        c.insert(key.to_owned(), cached);
                    }
                }
                return Ok(Answer { body, next });
            }
            let body = crate::http::read_capped(&mut resp, MAX_ERROR_BODY).await;
            let text = String::from_utf8_lossy(&body).into_owned();
            if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
                let message = error_message(&self.scrub(&text), false);
                if let Some(wait) = rate_limit_wait(&headers, &message, self.secondary_wait) {
                    self.check_wait(wait, request).map_err(Attempt::Fatal)?;
                    self.bump(|s| s.rate_limit_waits += 1);
                    self.note(&format!(
                        "GitHub rate limit ({}): waiting {}s before retrying {key}",
                        status.as_u16(),
                        wait.as_secs_f64().ceil()
                    ));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(Attempt::Status {
                status,
                retry_after: retry_after(&headers),
                text,
            });
        }
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

/// A 2xx body as `T`; an empty body reads as `null` (so `()` and `Option` accept a 204).
fn parse<T: DeserializeOwned>(method: Method, url: &Url, body: &[u8]) -> Result<T, GitHubError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| GitHubError::Body {
        method: method.name(),
        url: url.to_string(),
        message: e.to_string(),
    })
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
pub(crate) fn rate_limit_wait(
    headers: &HeaderMap,
    message: &str,
    secondary_wait: Duration,
) -> Option<Duration> {
    if let Some(wait) = retry_after(headers) {
        return Some(wait);
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
        return Some(secondary_wait);
    }
    None
}

/// GitHub's error bodies are `{"message": ..., "errors": [...]}`; fall back to the first
/// bytes of the text. A write's 422 `errors` say which field was refused.
pub(crate) fn error_message(text: &str, with_errors: bool) -> String {
    let parsed = serde_json::from_str::<models::ApiError>(text).ok();
    let message = parsed
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| text.chars().take(200).collect());
    match parsed.and_then(|e| e.errors) {
        Some(e) if with_errors && e.as_array().is_some_and(|a| !a.is_empty()) => {
            format!("{message} {e}")
        }
        _ => message,
    }
}

/// The URL to upload asset `name` to, from a release's `upload_url` URI template (RFC 6570:
/// `…/assets{?name,label}`); the name is percent-encoded as a query value.
pub(crate) fn expand_upload_url(template: &str, name: &str) -> Result<Url, GitHubError> {
    let base = template.split('{').next().unwrap_or(template);
    let mut url = Url::parse(base).map_err(|e| GitHubError::BadUrl {
        url: template.to_owned(),
        reason: format!("the release's upload_url is not a URL: {e}"),
    })?;
    url.query_pairs_mut().append_pair("name", name);
    Ok(url)
}

/// The API's origin, and where it takes release assets: `uploads.<domain>` beside an API at
/// `api.<domain>` (github.com, ghe.com), on the same scheme and port. GitHub Enterprise
/// Server takes them under its own host (`/api/uploads`).
fn token_origins(base: &Url) -> Vec<crate::http::Origin> {
    let mut origins: Vec<_> = crate::http::Origin::of(base).into_iter().collect();
    if let Some(rest) = base.host_str().and_then(|h| h.strip_prefix("api.")) {
        let mut uploads = base.clone();
        if uploads.set_host(Some(&format!("uploads.{rest}"))).is_ok() {
            origins.extend(crate::http::Origin::of(&uploads));
        }
    }
    origins
}

/// A request key back to its URL (keys are URLs we built).
fn url_of(key: &str) -> Option<Url> {
    Url::parse(key).ok()
}

/// The `rel="next"` target of a `Link` header (RFC 8288, as GitHub writes it), resolved
/// against the URL it answered.
pub(crate) fn next_link(headers: &HeaderMap, base: Option<Url>) -> Option<Url> {
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
        match &base {
            Some(b) => b.join(t).ok(),
            None => Url::parse(t).ok(),
        }
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
            next_link(&h, None).unwrap().as_str(),
            "https://api.github.com/x?page=2"
        );
        let last_only = headers(&[("link", r#"<https://api.github.com/x?page=1>; rel="prev""#)]);
        assert!(next_link(&last_only, None).is_none());
        assert!(next_link(&HeaderMap::new(), None).is_none());
        let rel = headers(&[("link", r#"</x?page=2>; rel="next""#)]);
        let base = Url::parse("https://api.github.com/x?page=1").ok();
        assert_eq!(
            next_link(&rel, base).unwrap().as_str(),
            "https://api.github.com/x?page=2"
        );
    }

    #[test]
    fn rate_limit_waits_follow_githubs_order() {
        let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let h = headers(&[("retry-after", &date)]);
        let w = rate_limit_wait(&h, "", SECONDARY_WAIT).unwrap();
        assert!(
            w > Duration::from_secs(80) && w <= Duration::from_secs(90),
            "{w:?}"
        );
        let p = SECONDARY_WAIT;
        let h = headers(&[("retry-after", "7"), ("x-ratelimit-remaining", "0")]);
        assert_eq!(rate_limit_wait(&h, "", p), Some(Duration::from_secs(7)));
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")]);
        assert_eq!(rate_limit_wait(&h, "", p), Some(Duration::ZERO));
        let h = headers(&[("x-ratelimit-remaining", "12")]);
        assert_eq!(
            rate_limit_wait(&h, "You have exceeded a secondary rate limit.", p),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(&h, "Resource not accessible by integration", p),
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

    /// A loopback API answering every request with `head` (the status line, then any
    /// headers) and a JSON `message`.
    async fn answering_json(head: &str, message: &str) -> (String, Arc<Mutex<u32>>) {
        let body = format!(r#"{{"message":"{message}"}}"#);
        answering(format!(
            "HTTP/1.1 {head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
        .await
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
        let head = "429 Too Many Requests\r\nretry-after: 86400";
        let (api, count) = answering_json(head, "You have exceeded a secondary rate limit.").await;
        let gh = GitHub::new(&api, None).unwrap();
        let url = gh.url("repos/o/r/commits/abc/status").unwrap();
        let err = bounded(gh.get::<serde_json::Value>(&url))
            .await
            .unwrap_err();
        assert_eq!(*count.lock().unwrap(), 1);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("GET {url}: GitHub's rate limit asks to wait 1day"))
                && msg.contains("longer than the 1h 1m this client waits"),
            "{msg}"
        );
        // A write asked to wait past a lowered cap fails the same way, naming its method.
        let gh = GitHub::new(&api, None)
            .unwrap()
            .with_max_rate_limit_wait(Duration::from_secs(60));
        let err = bounded(gh.write::<serde_json::Value>(Method::Patch, &url, &()))
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
        gh.get::<serde_json::Value>(&url).await.unwrap();
        let err = bounded(gh.get::<serde_json::Value>(&url))
            .await
            .unwrap_err();
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
    async fn a_404_says_what_happened_and_leaves_the_fix_to_the_caller() {
        let (api, count) = answering_json("404 Not Found", "Not Found").await;
        let gh = GitHub::new(&api, None).unwrap();
        let url = gh.url("repos/o/r/releases/1/assets").unwrap();
        let err = gh.get::<serde_json::Value>(&url).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.to_string(),
            format!("GET {url} answered 404: Not Found")
        );
        // A 404 is an answer, not a fault: never retried.
        assert_eq!(*count.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn an_unreachable_api_names_the_cause_once_with_the_url() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = format!("http://127.0.0.1:{port}");
        let gh = GitHub::new(&api, None).unwrap().with_policy(RetryPolicy {
            attempts: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            total: Duration::from_secs(10),
        });
        let url = gh.url("repos/o/r/commits/abc/status").unwrap();
        let err = bounded(gh.get::<serde_json::Value>(&url))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("GET {url} failed after 2 attempt(s): ")),
            "{err}"
        );
        // The cause, not only reqwest's "error sending request", and the URL only once.
        assert!(err.to_lowercase().contains("connect"), "{err}");
        assert_eq!(err.matches(url.as_str()).count(), 1, "{err}");
    }

    #[tokio::test]
    async fn server_errors_are_retried_on_the_shared_policy_with_retry_after() {
        let head = "503 Service Unavailable\r\nretry-after: 0";
        let (api, count) = answering_json(head, "Server Error").await;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let gh = GitHub::new(&api, None)
            .unwrap()
            .with_policy(RetryPolicy {
                attempts: 3,
                min_delay: Duration::from_secs(30),
                max_delay: Duration::from_secs(60),
                total: Duration::from_secs(60),
            })
            .with_logger(move |l| seen.lock().unwrap().push(l.to_owned()));
        let url = gh.url("repos/o/r/commits/abc/status").unwrap();
        // `Retry-After: 0` replaces the 30 s backoff, so three attempts take no time.
        let err = bounded(gh.get::<serde_json::Value>(&url))
            .await
            .unwrap_err();
        assert_eq!(*count.lock().unwrap(), 3);
        assert_eq!(gh.stats().retries, 2);
        assert_eq!(
            err.to_string(),
            format!("GET {url} answered 503: Server Error (gave up after retrying)")
        );
        let first = lines.lock().unwrap()[0].clone();
        assert_eq!(
            first,
            format!("GET {url}: HTTP 503; retrying in 0.0s (attempt 2 of 3)")
        );
        // A POST that was answered is never repeated: GitHub may have processed it.
        let before = *count.lock().unwrap();
        let err = gh
            .write::<serde_json::Value>(Method::Post, &url, &())
            .await
            .unwrap_err();
        assert_eq!(*count.lock().unwrap(), before + 1);
        assert_eq!(err.status(), Some(503));
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
    fn the_token_goes_to_the_api_and_its_uploads_host_only() {
        let names = |api: &str| {
            token_origins(&Url::parse(api).unwrap())
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names("https://api.github.com/"),
            ["https://api.github.com", "https://uploads.github.com"]
        );
        assert_eq!(
            names("https://api.acme.ghe.com/"),
            ["https://api.acme.ghe.com", "https://uploads.acme.ghe.com"]
        );
        assert_eq!(
            names("https://ghe.example/api/v3/"),
            ["https://ghe.example"]
        );
    }

    #[tokio::test]
    async fn a_foreign_url_is_refused_before_anything_is_sent() {
        let (api, count) = answering_json("200 OK", "x").await;
        let gh = GitHub::new(&api, Some(Secret::new("ghs_secret_token_value"))).unwrap();
        let (other, other_count) = answering_json("200 OK", "x").await;
        for url in [
            format!("{other}x"),
            api.replace("http://", "https://") + "x",
            format!(
                "http://localhost:{}/x",
                Url::parse(&api).unwrap().port().unwrap()
            ),
        ] {
            let err = gh
                .get::<serde_json::Value>(&Url::parse(&url).unwrap())
                .await
                .unwrap_err();
            assert!(
                matches!(err, GitHubError::ForeignUrl { .. }),
                "{url}: {err}"
            );
        }
        assert_eq!(*count.lock().unwrap(), 0);
        assert_eq!(*other_count.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn no_request_outlives_the_deadline() {
        // Headers, then nothing, the connection held: without the deadline this waits out
        // the 60 s request limit (five times: a GET is retried).
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    let _ = conn.read(&mut buf).await;
                    let _ = conn
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{")
                        .await;
                    tokio::time::sleep(Duration::from_secs(120)).await;
                });
            }
        });
        let gh = GitHub::new(&api, None)
            .unwrap()
            .with_deadline(Instant::now() + Duration::from_millis(500));
        let url = gh.url("repos/o/r/commits/abc/status").unwrap();
        let started = Instant::now();
        assert!(bounded(gh.get::<serde_json::Value>(&url)).await.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
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
