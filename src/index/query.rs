//! What the index already has for a project: file name -> sha256 (and URL).
//!
//! Asked before any upload (so a re-run skips identical files and refuses different bytes
//! under an existing name) and again after a failed upload (a retried or parallel upload may
//! have landed). Three dialects, tried in this order:
//!
//! 1. PEP 691 JSON from the simple index (`Accept: application/vnd.pypi.simple.v1+json`),
//!    which warehouse (PyPI, TestPyPI) offers;
//! 2. the JSON API `/pypi/<name>/<version>/json` next to `/simple/`, on PyPI-like indexes
//!    that serve HTML simple pages;
//! 3. the PEP 503 HTML page with `#sha256=` fragments (pypiserver serves only this).
//!
//! Every request carries `Cache-Control: no-cache`: a CDN's copy from before our upload
//! would make a landed file look missing. Parsers never panic on any input.
//!
//! What a hostile index cannot do here: hold a request past the caller's deadline (each
//! request's timeout is what is left of it, [`IndexQuery::files_by`]); fill memory (a page
//! is spooled to disk past a megabyte and parsed as a stream that keeps only the files of
//! the version asked about, and any page over [`MAX_PAGE`] is refused); or get the upload
//! credentials sent anywhere but the configured origin (a redirect off it is not followed
//! with them, and a file URL on another origin is fetched without them).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use url::Url;

use super::upload::Credentials;
use crate::dist::filename::normalize_name;
use crate::http::same_origin;

/// PEP 691 content negotiation: JSON preferred, HTML accepted.
const SIMPLE_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";
const PEP691_JSON: &str = "application/vnd.pypi.simple.v1+json";
/// A project page bigger than this is not a page we can use (PyPI's largest are ~10 MB).
pub const MAX_PAGE: usize = 64 * 1024 * 1024;
/// Pages up to this size stay in memory; bigger ones are spooled to a temporary file.
const IN_MEMORY: usize = 1024 * 1024;
/// Longer file names and URLs than this are not an index's (they are refused, not stored).
const MAX_FIELD: usize = 8 * 1024;
/// A PEP 503 page is read in pieces ending after a `</a>`; a piece without one grows at most
/// to this before it is parsed as it is.
const MAX_PIECE: usize = 4 * 1024 * 1024;

/// One file the index serves.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexFile {
    pub filename: String,
    /// Lower-case hex; `None` when the index did not say.
    pub sha256: Option<String>,
    pub url: Option<String>,
}

/// Which dialect answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    Pep691Json,
    JsonApi,
    Pep503Html,
}

/// The files of one project, by file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub files: BTreeMap<String, IndexFile>,
    pub dialect: Dialect,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("cannot set up the HTTP client for the index query: {0}")]
    Client(#[source] reqwest::Error),
    #[error("could not ask the index `{url}` which files it has: {detail}; check `pypi-index-url` / `testpypi-index-url` and the runner's network")]
    Transport {
        url: String,
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the index answered HTTP {status} for `{url}` when asked which files it has; {}", status_hint(*.status))]
    Status {
        url: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("the index page `{url}` is not a {what}: {detail}; check that `pypi-index-url` / `testpypi-index-url` is the simple index (e.g. https://pypi.org/simple/)")]
    Parse {
        url: String,
        what: &'static str,
        detail: String,
    },
    #[error("could not download the published file `{url}`: {detail}")]
    Download { url: String, detail: String },
    #[error("the index did not answer `{url}` in time: {what}")]
    Deadline { url: String, what: String },
    #[error("the index did not say which files it has within {} ({attempts} attempt(s); the last: {last}); check `pypi-index-url` / `testpypi-index-url`, or re-run when the index is healthy", crate::units::fmt_duration(*budget))]
    Budget {
        budget: Duration,
        attempts: usize,
        last: Box<QueryError>,
    },
    #[error("cannot keep the index page `{url}` in a temporary file while reading it: {source}; point TMPDIR (RUNNER_TEMP in Actions) at a writable directory with free space")]
    Spool {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the published copy to `{}`: {source}; the packages dir must be writable", path.display())]
    Save {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn status_hint(status: u16) -> &'static str {
    match status {
        300..=399 => "a redirect off the index's origin, which is not followed with the upload credentials; set the index URL to the address it redirects to",
        401 | 403 => "the index wants credentials to read; on a private index make the simple index URL the same host as the upload URL so the token is sent",
        429 | 500..=599 => "the index is overloaded or failing; re-run later",
        _ => "check that the index URL is the simple index (…/simple/)",
    }
}

impl QueryError {
    /// Worth asking again: the network failed, or the index was overloaded.
    pub fn is_retryable(&self) -> bool {
        match self {
            QueryError::Transport { .. } => true,
            QueryError::Deadline { .. } | QueryError::Budget { .. } => false,
            QueryError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            QueryError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Reads an index's listing for a project.
///
/// Clones share the connection pool and what was learnt about the index's dialect, so the
/// upload's question before and the verify stage's after cost one connection and no probe
/// the index already said it does not answer.
#[derive(Debug, Clone)]
pub struct IndexQuery {
    /// For requests without credentials: follows redirects anywhere (over http(s)).
    client: reqwest::Client,
    /// For requests with credentials: follows redirects only on their own origin.
    auth_client: reqwest::Client,
    /// One request's own limit (a deadline can only shorten it).
    timeout: Duration,
    simple_url: Url,
    /// Sent only when the simple index is on the upload URL's origin (private indexes that
    /// need auth to read) over https or loopback; never to another host.
    credentials: Option<Credentials>,
    /// The JSON API beside an HTML simple index: unknown, there, or not there.
    json_api: Arc<AtomicU8>,
}

const JSON_API_UNKNOWN: u8 = 0;
const JSON_API_ABSENT: u8 = 1;
const JSON_API_PRESENT: u8 = 2;

impl IndexQuery {
    /// `timeout` bounds each request (connect + whole answer): a hung index cannot hang us.
    pub fn new(simple_url: Url, timeout: Duration) -> Result<Self, QueryError> {
        let mut simple_url = simple_url;
        if !simple_url.path().ends_with('/') {
            let path = format!("{}/", simple_url.path());
            simple_url.set_path(&path);
        }
        let client = crate::http::anonymous_client(timeout, timeout)
            .build()
            .map_err(QueryError::Client)?;
        let auth_client = crate::http::origin_client(timeout, timeout)
            .build()
            .map_err(QueryError::Client)?;
        Ok(IndexQuery {
            client,
            auth_client,
            timeout,
            simple_url,
            credentials: None,
            json_api: Arc::new(AtomicU8::new(JSON_API_UNKNOWN)),
        })
    }

    /// The same index, connection pool and dialect, with another bound per request.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        IndexQuery {
            timeout,
            ..self.clone()
        }
    }

    /// Read with the upload credentials, but only when the simple index shares the upload
    /// URL's origin and that origin may receive credentials (https, or loopback http):
    /// a token for upload.pypi.org never goes to pypi.org, nor anywhere else.
    pub fn with_upload_credentials(mut self, upload_url: &Url, credentials: Credentials) -> Self {
        if same_origin(&self.simple_url, upload_url)
            && crate::http::may_carry_credentials(upload_url)
        {
            self.credentials = Some(credentials);
        }
        self
    }

    /// Whether requests carry credentials (for tests and the log).
    pub fn sends_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    pub fn simple_url(&self) -> &Url {
        &self.simple_url
    }

    /// The project's page in the simple index (PEP 503 normalised name).
    pub fn project_url(&self, project: &str) -> Url {
        let name = normalize_name(project);
        self.simple_url
            .join(&format!("{}/", url_segment(&name)))
            .unwrap_or_else(|_| self.simple_url.clone())
    }

    /// `/pypi/<name>/<version>/json` beside `…/simple/`, when the URL has that shape.
    pub fn json_api_url(&self, project: &str, version: &str) -> Option<Url> {
        let path = self.simple_url.path();
        let base = path.strip_suffix("simple/")?;
        let mut u = self.simple_url.clone();
        u.set_path(&format!(
            "{base}pypi/{}/{}/json",
            url_segment(&normalize_name(project)),
            url_segment(version)
        ));
        Some(u)
    }

    /// The request for `url`: with the credentials when `url` is on the configured index's
    /// origin (and they may go there), else without; its timeout ends by `deadline`.
    fn request(
        &self,
        url: &Url,
        deadline: Option<Instant>,
    ) -> Result<reqwest::RequestBuilder, QueryError> {
        let mut timeout = self.timeout;
        if let Some(d) = deadline {
            match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => timeout = timeout.min(left),
                _ => {
                    return Err(QueryError::Deadline {
                        url: url.to_string(),
                        what: "its time ran out before the request".into(),
                    })
                }
            }
        }
        let req = match &self.credentials {
            Some(c) if same_origin(&self.simple_url, url) => self
                .auth_client
                .get(url.clone())
                .basic_auth(&c.username, Some(c.password.expose())),
            _ => self.client.get(url.clone()),
        };
        Ok(req.timeout(timeout))
    }

    /// Stream a file the index serves into `dest`, returning its sha256. The caller owns
    /// `dest` (and removes it on error). Used when a re-run rebuilt a file the index already
    /// has, to compare contents; more than `max` bytes (announced or sent) is refused, so a
    /// hostile index cannot fill the disk.
    pub async fn download(
        &self,
        url: &Url,
        dest: &std::path::Path,
        max: u64,
    ) -> Result<String, QueryError> {
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        let failed = |detail: String| QueryError::Download {
            url: url.to_string(),
            detail,
        };
        let transport = |e: reqwest::Error| failed(crate::http::error_chain(&e.without_url()));
        let too_big = || {
            failed(format!(
                "it is bigger than {}, far more than the local file; it is not the same distribution",
                crate::units::human_size(max)
            ))
        };
        let mut resp = self.request(url, None)?.send().await.map_err(transport)?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(failed(format!(
                "HTTP {status}: a redirect to another origin, not followed with the index's credentials"
            )));
        }
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 => "; the index wants credentials for it, which are only sent to the simple index's own origin",
                _ => "; the index lists the file but does not serve it",
            };
            return Err(failed(format!("HTTP {status}{hint}")));
        }
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(too_big());
        }
        let io = |source: std::io::Error| QueryError::Save {
            path: dest.to_path_buf(),
            source,
        };
        let mut out = tokio::fs::File::create(dest).await.map_err(io)?;
        let mut hasher = sha2::Sha256::new();
        let mut written = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            written += chunk.len() as u64;
            if written > max {
                return Err(too_big());
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(io)?;
        }
        out.flush().await.map_err(io)?;
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// The files the index has for `version` of `project` (the simple index lists every
    /// version's; the others are dropped as they are read). A project the index has never
    /// seen is empty. Each request has the query's own timeout.
    pub async fn files(&self, project: &str, version: &str) -> Result<Listing, QueryError> {
        self.listing(project, version, None).await
    }

    /// [`IndexQuery::files`], every request's timeout ending by `deadline`.
    pub async fn files_by(
        &self,
        project: &str,
        version: &str,
        deadline: Instant,
    ) -> Result<Listing, QueryError> {
        self.listing(project, version, Some(deadline)).await
    }

    async fn listing(
        &self,
        project: &str,
        version: &str,
        deadline: Option<Instant>,
    ) -> Result<Listing, QueryError> {
        let page = self.project_url(project);
        let ours = Ours::new(version);
        let keep = |f: &str| ours.holds(f);
        let fetched = self.get(&page, SIMPLE_ACCEPT, deadline).await?;
        if fetched.status == StatusCode::NOT_FOUND {
            return Ok(Listing {
                files: BTreeMap::new(),
                dialect: Dialect::Pep503Html,
            });
        }
        let spool = |url: &Url| {
            let url = url.to_string();
            move |source| QueryError::Spool { url, source }
        };
        if fetched.content_type.starts_with(PEP691_JSON) || fetched.content_type.contains("json") {
            let reader = fetched.body.reader().map_err(spool(&fetched.url))?;
            let files =
                read_pep691(reader, &fetched.url, &keep).map_err(|detail| QueryError::Parse {
                    url: fetched.url.to_string(),
                    what: "PEP 691 JSON project page",
                    detail,
                })?;
            return Ok(Listing {
                files,
                dialect: Dialect::Pep691Json,
            });
        }
        // HTML: a PyPI-like index may still have the richer JSON API beside it. An index
        // that showed it has none is not asked again (pypiserver has none).
        let reader = fetched.body.reader().map_err(spool(&fetched.url))?;
        let html = read_pep503(reader, &fetched.url, &keep).map_err(spool(&fetched.url))?;
        drop(fetched);
        let api = self
            .json_api_url(project, version)
            .filter(|_| self.json_api.load(Ordering::Relaxed) != JSON_API_ABSENT);
        if let Some(api) = api {
            let absent = match self.get(&api, "application/json", deadline).await {
                Ok(got) if got.status == StatusCode::OK && got.content_type.contains("json") => {
                    match got
                        .body
                        .reader()
                        .map_err(|e| e.to_string())
                        .and_then(|r| read_json_api(r, &got.url, &keep))
                    {
                        Ok(files) => {
                            self.json_api.store(JSON_API_PRESENT, Ordering::Relaxed);
                            return Ok(Listing {
                                files,
                                dialect: Dialect::JsonApi,
                            });
                        }
                        Err(_) => true,
                    }
                }
                // Something, but not the API.
                Ok(got) if got.status == StatusCode::OK => true,
                // Not found: the API would know a version the simple page lists (the page
                // keeps only that version's files); one it does not list yet may just not
                // be there yet.
                Ok(_) => !html.is_empty(),
                // Overloaded, refused, unreachable, out of time: that says nothing about
                // the API.
                Err(_) => false,
            };
            if absent {
                self.json_api.store(JSON_API_ABSENT, Ordering::Relaxed);
            }
        }
        Ok(Listing {
            files: html,
            dialect: Dialect::Pep503Html,
        })
    }

    /// One GET, caches bypassed; success and 404 come back, anything else is an error. The
    /// body is read whole (it is parsed after), in memory or, past [`IN_MEMORY`], on disk.
    async fn get(
        &self,
        url: &Url,
        accept: &'static str,
        deadline: Option<Instant>,
    ) -> Result<Fetched, QueryError> {
        let req = self
            .request(url, deadline)?
            .header(ACCEPT, HeaderValue::from_static(accept))
            .header(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let transport = |e: reqwest::Error| {
            if e.is_timeout() && deadline.is_some_and(|d| Instant::now() >= d) {
                return QueryError::Deadline {
                    url: url.to_string(),
                    what: "the answer was not complete when the time was up".into(),
                };
            }
            QueryError::Transport {
                url: url.to_string(),
                detail: crate::http::error_chain(&e),
                source: e.without_url(),
            }
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let final_url = resp.url().clone();
        if !status.is_success() && status != StatusCode::NOT_FOUND {
            return Err(QueryError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                retry_after: crate::retry::retry_after(resp.headers()),
            });
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let too_big = || QueryError::Parse {
            url: url.to_string(),
            what: "project page of a sane size",
            detail: format!("more than {MAX_PAGE} bytes"),
        };
        if resp.content_length().is_some_and(|n| n > MAX_PAGE as u64) {
            return Err(too_big());
        }
        let mut body = Body::default();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            body.write(&chunk).map_err(|source| QueryError::Spool {
                url: url.to_string(),
                source,
            })?;
            if body.len > MAX_PAGE {
                return Err(too_big());
            }
        }
        Ok(Fetched {
            status,
            content_type,
            body,
            url: final_url,
        })
    }
}

/// One answer: its status, content type, body and the URL it came from (after redirects).
struct Fetched {
    status: StatusCode,
    content_type: String,
    body: Body,
    url: Url,
}

/// A body in memory, or spooled to a temporary file once it outgrows [`IN_MEMORY`].
#[derive(Default)]
struct Body {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    len: usize,
}

impl Body {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.len += chunk.len();
        if self.file.is_none() && self.memory.len() + chunk.len() > IN_MEMORY {
            let mut f = tempfile::tempfile()?;
            f.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => f.write_all(chunk),
            None => {
                self.memory.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    /// The body from its start (a spooled one that cannot be read back is an error, never
    /// an empty page: that would say the index lacks files it has).
    fn reader(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        match &self.file {
            Some(f) => {
                let mut f = f;
                f.rewind()?;
                Ok(Box::new(BufReader::with_capacity(64 * 1024, f)))
            }
            None => Ok(Box::new(self.memory.as_slice())),
        }
    }
}

/// Which listed files are of the version asked about: a wheel's or sdist's version, compared
/// as PEP 440 versions (`1.0` is `1.0.0`), or as text when ours does not parse.
struct Ours {
    raw: String,
    parsed: Option<pep440_rs::Version>,
}

impl Ours {
    fn new(version: &str) -> Ours {
        Ours {
            raw: version.to_owned(),
            parsed: version.parse().ok(),
        }
    }

    fn holds(&self, filename: &str) -> bool {
        use crate::dist::filename::{parse_sdist, parse_wheel};
        let theirs = parse_wheel(filename)
            .map(|w| w.version)
            .or_else(|_| parse_sdist(filename).map(|s| s.version));
        match (theirs, &self.parsed) {
            (Ok(v), Some(ours)) => v == *ours,
            (Ok(v), None) => v.to_string() == self.raw,
            (Err(_), _) => false,
        }
    }
}

/// A path segment: everything outside the unreserved set percent-encoded.
fn url_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A sha256 as the index spells it, or nothing if it is not one.
fn sha256_hex(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// Warehouse's PEP 691 shape: `{"meta": …, "name": …, "files": [{"filename", "url",
/// "hashes": {"sha256": …}, …}]}`; every file.
#[cfg(test)]
pub fn parse_pep691(body: &[u8], page: &Url) -> Result<BTreeMap<String, IndexFile>, String> {
    read_pep691(body, page, &|_| true)
}

/// Warehouse's `/pypi/<name>/<version>/json`: `{"info": …, "urls": [{"filename", "url",
/// "digests": {"sha256", …}}]}`; every file.
#[cfg(test)]
pub fn parse_json_api(body: &[u8], page: &Url) -> Result<BTreeMap<String, IndexFile>, String> {
    read_json_api(body, page, &|_| true)
}

/// [`parse_pep691`] as a stream, keeping only the files `keep` names: memory holds those
/// and one entry at a time, whatever the page's size.
pub fn read_pep691(
    body: impl Read,
    page: &Url,
    keep: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, IndexFile>, String> {
    read_listing(body, "files", page, keep)
}

/// [`parse_json_api`] as a stream (see [`read_pep691`]).
pub fn read_json_api(
    body: impl Read,
    page: &Url,
    keep: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, IndexFile>, String> {
    read_listing(body, "urls", page, keep)
}

fn read_listing(
    body: impl Read,
    field: &'static str,
    page: &Url,
    keep: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, IndexFile>, String> {
    let mut de = serde_json::Deserializer::from_reader(body);
    let files = ListingSeed { field, page, keep }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(files)
}

/// The page object: the array under `field` is read entry by entry, the rest skipped.
struct ListingSeed<'a> {
    field: &'static str,
    page: &'a Url,
    keep: &'a dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for ListingSeed<'_> {
    type Value = BTreeMap<String, IndexFile>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListingSeed<'_> {
    type Value = BTreeMap<String, IndexFile>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an object with `{}`", self.field)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut files = BTreeMap::new();
        while let Some(Field(key)) = map.next_key()? {
            if key == self.field {
                files = map.next_value_seed(EntriesSeed {
                    page: self.page,
                    keep: self.keep,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(files)
    }
}

struct EntriesSeed<'a> {
    page: &'a Url,
    keep: &'a dyn Fn(&str) -> bool,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = BTreeMap<String, IndexFile>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = BTreeMap<String, IndexFile>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut files = BTreeMap::new();
        while let Some(f) = seq.next_element::<Listed>()? {
            if (self.keep)(&f.filename.0) {
                let (name, file) = entry(self.page, f);
                files.insert(name, file);
            }
        }
        Ok(files)
    }
}

/// One listed file: both JSON dialects give a name, a URL relative to the page, and a map of
/// digests (`hashes` in PEP 691, `digests` in the JSON API) of which only sha256 matters.
#[derive(Deserialize)]
struct Listed {
    filename: Field,
    #[serde(default)]
    url: Option<Field>,
    #[serde(default, alias = "digests")]
    hashes: Digests,
}

/// A string no longer than [`MAX_FIELD`]: a longer one is an error, never stored.
struct Field(String);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a string of at most {MAX_FIELD} bytes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
                if v.len() > MAX_FIELD {
                    return Err(E::custom(format!(
                        "a string of {} bytes, more than the {MAX_FIELD} a file name or URL may have",
                        v.len()
                    )));
                }
                Ok(Field(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

/// The sha256 among an entry's digests; other digests and values that are not strings are
/// skipped.
#[derive(Default)]
struct Digests(Option<String>);

impl<'de> Deserialize<'de> for Digests {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Digests;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of digests")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Digests, A::Error> {
                let mut sha = None;
                while let Some(Field(k)) = map.next_key()? {
                    if k == "sha256" {
                        sha = map.next_value::<MaybeStr>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Digests(sha))
            }
        }
        d.deserialize_map(V)
    }
}

/// A short string, or nothing for any other JSON value (which is consumed).
struct MaybeStr(Option<String>);

impl<'de> Deserialize<'de> for MaybeStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeStr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MaybeStr, E> {
                Ok(MaybeStr((v.len() <= MAX_FIELD).then(|| v.to_owned())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_unit<E>(self) -> Result<MaybeStr, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeStr, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeStr, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn entry(page: &Url, f: Listed) -> (String, IndexFile) {
    let sha256 = f.hashes.0.as_deref().and_then(sha256_hex);
    let url = f.url.map(|u| resolve(page, &u.0));
    let filename = f.filename.0;
    (
        filename.clone(),
        IndexFile {
            filename,
            sha256,
            url,
        },
    )
}

fn resolve(page: &Url, href: &str) -> String {
    page.join(href)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| href.to_string())
}

/// PEP 503: every `<a href="URL#sha256=HEX">FILENAME</a>`. Attributes in any order, quoted
/// with `"` or `'` or not at all, entities decoded; comments skipped. The file name is the
/// anchor text, or the URL's last path segment when the text is empty.
#[cfg(test)]
pub fn parse_pep503(html: &str, page: &Url) -> BTreeMap<String, IndexFile> {
    read_pep503(html.as_bytes(), page, &|_| true).expect("reading memory")
}

/// [`parse_pep503`] as a stream, keeping only the files `keep` names: the page is read in
/// pieces that end after an `</a>` outside any comment (at most [`MAX_PIECE`] each), so
/// memory holds one piece whatever the page's size. A read error is an error, not the end
/// of the page.
pub fn read_pep503(
    mut body: impl Read,
    page: &Url,
    keep: &dyn Fn(&str) -> bool,
) -> std::io::Result<BTreeMap<String, IndexFile>> {
    let mut out = BTreeMap::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        let cut = if n == 0 {
            Some(buf.len())
        } else {
            piece_end(&buf).or((buf.len() > MAX_PIECE).then_some(buf.len()))
        };
        if let Some(cut) = cut {
            let piece = String::from_utf8_lossy(&buf[..cut]).into_owned();
            buf.drain(..cut);
            anchors_into(&piece, page, keep, &mut out);
        }
        if n == 0 {
            return Ok(out);
        }
    }
}

/// Where a piece of HTML may end: after the last `</a…>`, unless that is inside a comment
/// not yet closed (then before the comment).
fn piece_end(buf: &[u8]) -> Option<usize> {
    let lower = buf.to_ascii_lowercase();
    let mut upto = lower.len();
    let cut = loop {
        let open = lower[..upto].windows(3).rposition(|w| w == b"</a")?;
        match lower[open..].iter().position(|b| *b == b'>') {
            Some(gt) => break open + gt + 1,
            None => upto = open,
        }
    };
    match lower[..cut].windows(4).rposition(|w| w == b"<!--") {
        Some(c) if !lower[c..cut].windows(3).any(|w| w == b"-->") => (c > 0).then_some(c),
        _ => Some(cut),
    }
}

fn anchors_into(
    html: &str,
    page: &Url,
    keep: &dyn Fn(&str) -> bool,
    out: &mut BTreeMap<String, IndexFile>,
) {
    for (attrs, text) in anchors(html) {
        let Some(href) = attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("href"))
            .map(|(_, v)| html_escape::decode_html_entities(v).into_owned())
        else {
            continue;
        };
        let (path, fragment) = href.split_once('#').unwrap_or((&href, ""));
        let sha256 = fragment
            .split('&')
            .find_map(|kv| kv.strip_prefix("sha256="))
            .and_then(sha256_hex);
        let text = super::html::text(text).trim().to_string();
        let filename = if text.is_empty() {
            let last = path.rsplit('/').next().unwrap_or("");
            percent_decode(last)
        } else {
            text
        };
        if filename.is_empty() || filename.len() > MAX_FIELD || !keep(&filename) {
            continue;
        }
        out.insert(
            filename.clone(),
            IndexFile {
                filename,
                sha256,
                url: Some(resolve(page, &href)),
            },
        );
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Every `<a …>text</a>` as (attributes, raw inner text). Byte indices only ever land on
/// ASCII characters, so slicing stays on char boundaries; `get` keeps it panic-free anyway.
fn anchors(html: &str) -> Vec<(Vec<(String, String)>, &str)> {
    let bytes = html.as_bytes();
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = lower.get(i..).and_then(|s| s.find('<')) else {
            break;
        };
        let at = i + lt;
        let rest = lower.get(at..).unwrap_or("");
        if rest.starts_with("<!--") {
            i = match rest.find("-->") {
                Some(e) => at + e + 3,
                None => bytes.len(),
            };
            continue;
        }
        let is_a = rest.starts_with("<a")
            && matches!(
                bytes.get(at + 2),
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'>' | b'/')
            );
        if !is_a {
            i = at + 1;
            continue;
        }
        let (attrs, end) = attributes(html, at + 2);
        let text_end = lower
            .get(end..)
            .and_then(|s| s.find("</a"))
            .map_or(bytes.len(), |e| end + e);
        out.push((attrs, html.get(end..text_end).unwrap_or("")));
        i = text_end.max(at + 1);
    }
    out
}

/// Attributes from `start` up to the tag's `>`; returns them and the index after `>`.
fn attributes(html: &str, start: usize) -> (Vec<(String, String)>, usize) {
    let b = html.as_bytes();
    let n = b.len();
    let mut i = start;
    let mut attrs = Vec::new();
    let ws = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    loop {
        while i < n && (ws(b[i]) || b[i] == b'/') {
            i += 1;
        }
        if i >= n {
            return (attrs, n);
        }
        if b[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < n && !ws(b[i]) && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = html.get(name_start..i).unwrap_or("").to_string();
        while i < n && ws(b[i]) {
            i += 1;
        }
        if i < n && b[i] == b'=' {
            i += 1;
            while i < n && ws(b[i]) {
                i += 1;
            }
            let value = if i < n && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let v_start = i + 1;
                let v_end = b
                    .get(v_start..)
                    .and_then(|s| s.iter().position(|&c| c == q))
                    .map_or(n, |p| v_start + p);
                i = (v_end + 1).min(n);
                html.get(v_start..v_end).unwrap_or("")
            } else {
                let v_start = i;
                while i < n && !ws(b[i]) && b[i] != b'>' {
                    i += 1;
                }
                html.get(v_start..i).unwrap_or("")
            };
            attrs.push((name, value.to_string()));
        } else if !name.is_empty() {
            attrs.push((name, String::new()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHA: &str = "4f5c0c0a7b8b0f0a8d6b8e6a2c3f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a43";

    fn page() -> Url {
        Url::parse("https://pypi.example/simple/improved-sdd/").unwrap()
    }

    #[test]
    fn pypiserver_html_page() {
        // pypiserver 2.4.2's template, verbatim shape.
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Links for improved-sdd</title></head>\n<body>\n<h1>Links for improved-sdd</h1>\n            <a href=\"../../packages/improved_sdd-0.1.0-py3-none-any.whl#sha256={SHA}\">improved_sdd-0.1.0-py3-none-any.whl</a><br>\n<a href=\"../../packages/improved_sdd-0.1.0.tar.gz#sha256={}\">improved_sdd-0.1.0.tar.gz</a><br>\n</body></html>",
            SHA.to_uppercase()
        );
        let files = parse_pep503(&html, &page());
        assert_eq!(files.len(), 2);
        let w = &files["improved_sdd-0.1.0-py3-none-any.whl"];
        assert_eq!(w.sha256.as_deref(), Some(SHA));
        assert_eq!(
            w.url.as_deref(),
            Some(&*format!(
                "https://pypi.example/packages/improved_sdd-0.1.0-py3-none-any.whl#sha256={SHA}"
            ))
        );
        assert_eq!(
            files["improved_sdd-0.1.0.tar.gz"].sha256.as_deref(),
            Some(SHA),
            "hex is lower-cased"
        );
    }

    #[test]
    fn warehouse_html_attributes_in_any_order_quotes_and_entities() {
        let html = format!(
            "<a data-requires-python=\"&gt;=3.9\" HREF='https://files.example/p/x-1.0.tar.gz#sha256={SHA}&amp;x=1' data-dist-info-metadata=\"sha256=00\">x-1.0.tar.gz</a><br />\
             <A href=https://files.example/p/x-1.0-py3-none-any.whl#md5=abc>x-1.0-py3-none-any.whl</A>\
             <!-- <a href=\"/ghost.whl#sha256={SHA}\">ghost.whl</a> -->\
             <a href=\"/files/y%2B1-1.0.tar.gz\"></a>\
             <abbr href=\"/no.whl\">no.whl</abbr><a name=x>no href</a>"
        );
        let files = parse_pep503(&html, &page());
        let names: Vec<_> = files.keys().cloned().collect();
        assert_eq!(
            names,
            ["x-1.0-py3-none-any.whl", "x-1.0.tar.gz", "y+1-1.0.tar.gz"]
        );
        assert_eq!(files["x-1.0.tar.gz"].sha256.as_deref(), Some(SHA));
        assert_eq!(files["x-1.0-py3-none-any.whl"].sha256, None);
        assert_eq!(
            files["y+1-1.0.tar.gz"].url.as_deref(),
            Some("https://pypi.example/files/y%2B1-1.0.tar.gz")
        );
    }

    #[test]
    fn warehouse_pep691_json() {
        // The shape of https://pypi.org/simple/<name>/ with the v1 JSON Accept header.
        let body = format!(
            r#"{{"meta":{{"_last-serial":1,"api-version":"1.1"}},"name":"improved-sdd","versions":["0.1.0"],
            "files":[{{"core-metadata":false,"data-dist-info-metadata":false,"filename":"improved_sdd-0.1.0.tar.gz",
            "hashes":{{"sha256":"{SHA}"}},"requires-python":">=3.9","size":3,"upload-time":"2025-01-01T00:00:00.000000Z",
            "url":"https://files.pythonhosted.org/packages/aa/bb/improved_sdd-0.1.0.tar.gz","yanked":false}},
            {{"filename":"improved_sdd-0.1.0-py3-none-any.whl","hashes":{{}},"url":"../../x.whl"}}]}}"#
        );
        let files = parse_pep691(body.as_bytes(), &page()).unwrap();
        assert_eq!(
            files["improved_sdd-0.1.0.tar.gz"].sha256.as_deref(),
            Some(SHA)
        );
        assert_eq!(files["improved_sdd-0.1.0-py3-none-any.whl"].sha256, None);
        assert_eq!(
            files["improved_sdd-0.1.0-py3-none-any.whl"].url.as_deref(),
            Some("https://pypi.example/x.whl")
        );
        assert!(parse_pep691(b"<html>", &page()).is_err());
    }

    #[test]
    fn warehouse_json_api() {
        let body = format!(
            r#"{{"info":{{"name":"improved-sdd","version":"0.1.0"}},"last_serial":1,
            "urls":[{{"digests":{{"blake2b_256":"00","md5":"11","sha256":"{SHA}"}},"filename":"improved_sdd-0.1.0.tar.gz",
            "packagetype":"sdist","url":"https://files.pythonhosted.org/packages/improved_sdd-0.1.0.tar.gz"}}],"vulnerabilities":[]}}"#
        );
        let files = parse_json_api(body.as_bytes(), &page()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(
            files["improved_sdd-0.1.0.tar.gz"].sha256.as_deref(),
            Some(SHA)
        );
    }

    #[test]
    fn urls_for_a_project() {
        let q = IndexQuery::new(
            Url::parse("https://pypi.org/simple").unwrap(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            q.project_url("Improved_SDD").as_str(),
            "https://pypi.org/simple/improved-sdd/"
        );
        assert_eq!(
            q.json_api_url("Improved.SDD", "1.0rc1").unwrap().as_str(),
            "https://pypi.org/pypi/improved-sdd/1.0rc1/json"
        );
        let q = IndexQuery::new(
            Url::parse("https://idx.example/custom/").unwrap(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(q.json_api_url("x", "1"), None);
    }

    use super::super::testserver::{read_request, Request};
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;

    type Routes = Vec<(&'static str, &'static str, &'static str, String)>;

    /// A loopback server answering GETs by path (status line, content type, body); records
    /// every request. Unknown paths get 404.
    async fn serve(routes: Routes) -> (Url, Arc<Mutex<Vec<Request>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!(
            "http://{}/simple/",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    break;
                };
                let Some(req) = read_request(&mut sock).await else {
                    continue;
                };
                let path = req.path().to_string();
                log.lock().unwrap().push(req);
                let (status, ct, body) = routes
                    .iter()
                    .find(|r| r.0 == path)
                    .map(|r| (r.1, r.2, r.3.clone()))
                    .unwrap_or(("404 Not Found", "text/plain", "nope".into()));
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nRetry-After: 3\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
        (base, seen)
    }

    fn creds() -> Credentials {
        Credentials::token(crate::secret::Secret::new("pypi-QUERYTOKEN"))
    }

    #[tokio::test]
    async fn pep691_json_is_asked_for_and_used_with_caches_bypassed() {
        let json = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"improved-sdd","files":[{{"filename":"improved_sdd-0.1.0.tar.gz","url":"../../f/improved_sdd-0.1.0.tar.gz","hashes":{{"sha256":"{SHA}"}}}}]}}"#
        );
        let (base, seen) = serve(vec![(
            "/simple/improved-sdd/",
            "200 OK",
            "application/vnd.pypi.simple.v1+json",
            json,
        )])
        .await;
        let q = IndexQuery::new(base.clone(), Duration::from_secs(5)).unwrap();
        let l = q.files("Improved_SDD", "0.1.0").await.unwrap();
        assert_eq!(l.dialect, Dialect::Pep691Json);
        let f = &l.files["improved_sdd-0.1.0.tar.gz"];
        assert_eq!(f.sha256.as_deref(), Some(SHA));
        assert_eq!(
            f.url.as_deref(),
            Some(base.join("/f/improved_sdd-0.1.0.tar.gz").unwrap().as_str())
        );
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 1, "JSON answered: no other request");
        assert_eq!(reqs[0].header("cache-control").as_deref(), Some("no-cache"));
        assert!(reqs[0]
            .header("accept")
            .unwrap()
            .starts_with("application/vnd.pypi.simple.v1+json"));
        assert_eq!(reqs[0].header("authorization"), None);
    }

    #[tokio::test]
    async fn html_page_then_the_json_api_when_there_is_one() {
        let html = format!("<a href=\"/p/x-1.0.tar.gz#sha256={SHA}\">x-1.0.tar.gz</a>");
        let api = format!(
            r#"{{"urls":[{{"filename":"x-1.0.tar.gz","url":"/api/x-1.0.tar.gz","digests":{{"sha256":"{SHA}"}}}}]}}"#
        );
        let (base, seen) = serve(vec![
            ("/simple/x/", "200 OK", "text/html", html.clone()),
            ("/pypi/x/1.0/json", "200 OK", "application/json", api),
        ])
        .await;
        let q = IndexQuery::new(base.clone(), Duration::from_secs(5)).unwrap();
        let l = q.files("x", "1.0").await.unwrap();
        assert_eq!(l.dialect, Dialect::JsonApi);
        assert!(l.files["x-1.0.tar.gz"]
            .url
            .as_deref()
            .unwrap()
            .ends_with("/api/x-1.0.tar.gz"));
        assert_eq!(seen.lock().unwrap().len(), 2);

        // No JSON API (pypiserver): the HTML page it is.
        let (base, _) = serve(vec![("/simple/x/", "200 OK", "text/html", html)]).await;
        let q = IndexQuery::new(base, Duration::from_secs(5)).unwrap();
        let l = q.files("x", "1.0").await.unwrap();
        assert_eq!(l.dialect, Dialect::Pep503Html);
        assert_eq!(l.files["x-1.0.tar.gz"].sha256.as_deref(), Some(SHA));
    }

    #[tokio::test]
    async fn an_index_without_the_json_api_is_asked_for_it_once_and_clones_remember() {
        let count = |seen: &Arc<Mutex<Vec<Request>>>, path: &str| {
            seen.lock()
                .unwrap()
                .iter()
                .filter(|r| r.path() == path)
                .count()
        };
        // Before the upload the page lists only an older version: a 404 for 1.0 may just
        // mean 1.0 is not there yet, so the API is asked again next time.
        let old = format!("<a href=\"/p/x-0.9.tar.gz#sha256={SHA}\">x-0.9.tar.gz</a>");
        let (base, seen) = serve(vec![("/simple/x/", "200 OK", "text/html", old)]).await;
        let q = IndexQuery::new(base, Duration::from_secs(5)).unwrap();
        q.files("x", "1.0").await.unwrap();
        q.files("x", "1.0").await.unwrap();
        assert_eq!(count(&seen, "/pypi/x/1.0/json"), 2);

        // Once the page lists 1.0 and the API still knows nothing, it has none (pypiserver):
        // later questions, from this query or a clone (verification), go to the page only.
        let html = format!("<a href=\"/p/x-1.0.tar.gz#sha256={SHA}\">x-1.0.tar.gz</a>");
        let (base, seen) = serve(vec![("/simple/x/", "200 OK", "text/html", html)]).await;
        let q = IndexQuery::new(base, Duration::from_secs(5)).unwrap();
        q.files("x", "1.0").await.unwrap();
        let verify = q.with_timeout(Duration::from_secs(7));
        for _ in 0..3 {
            let l = verify.files("x", "1.0").await.unwrap();
            assert_eq!(l.dialect, Dialect::Pep503Html);
            assert_eq!(l.files["x-1.0.tar.gz"].sha256.as_deref(), Some(SHA));
        }
        assert_eq!(count(&seen, "/pypi/x/1.0/json"), 1);
        assert_eq!(count(&seen, "/simple/x/"), 4);

        // An answer that is not the API (an HTML page for every path) is as good as none.
        let page = format!("<a href=\"/p/x-0.9.tar.gz#sha256={SHA}\">x-0.9.tar.gz</a>");
        let (base, seen) = serve(vec![
            ("/simple/x/", "200 OK", "text/html", page.clone()),
            ("/pypi/x/1.0/json", "200 OK", "text/html", page),
        ])
        .await;
        let q = IndexQuery::new(base, Duration::from_secs(5)).unwrap();
        q.files("x", "1.0").await.unwrap();
        q.files("x", "1.0").await.unwrap();
        assert_eq!(count(&seen, "/pypi/x/1.0/json"), 1);
    }

    #[tokio::test]
    async fn each_request_is_bounded_by_the_query_timeout() {
        // Accepts, reads, never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!(
            "http://{}/simple/",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut sock, _)) = listener.accept().await {
                let _ = read_request(&mut sock).await;
                held.push(sock);
            }
        });
        let q = IndexQuery::new(base, Duration::from_secs(60)).unwrap();
        let started = std::time::Instant::now();
        let err = q
            .with_timeout(Duration::from_millis(300))
            .files("x", "1")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn unknown_project_is_empty_and_overload_is_retryable() {
        let (base, _) = serve(vec![(
            "/simple/busy/",
            "503 Service Unavailable",
            "text/plain",
            "later".into(),
        )])
        .await;
        let q = IndexQuery::new(base, Duration::from_secs(5)).unwrap();
        assert!(q.files("new-project", "1").await.unwrap().files.is_empty());
        let err = q.files("busy", "1").await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(err.to_string().contains("HTTP 503"), "{err}");
    }

    #[tokio::test]
    async fn credentials_only_to_the_upload_origin() {
        let (base, seen) = serve(vec![]).await;
        let same = base.join("/legacy/").unwrap();
        let q = IndexQuery::new(base.clone(), Duration::from_secs(5))
            .unwrap()
            .with_upload_credentials(&same, creds());
        assert!(q.sends_credentials());
        q.files("p", "1").await.unwrap();
        let head = seen.lock().unwrap()[0].clone();
        assert!(head
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic ")));

        for other in [
            "https://upload.pypi.org/legacy/",
            "http://127.0.0.2:1/legacy/",
        ] {
            let q = IndexQuery::new(base.clone(), Duration::from_secs(5))
                .unwrap()
                .with_upload_credentials(&Url::parse(other).unwrap(), creds());
            assert!(!q.sends_credentials(), "{other}");
        }
        // Same origin but plain http to a non-loopback host: never.
        let q = IndexQuery::new(
            Url::parse("http://idx.example/simple/").unwrap(),
            Duration::from_secs(5),
        )
        .unwrap()
        .with_upload_credentials(&Url::parse("http://idx.example/").unwrap(), creds());
        assert!(!q.sends_credentials());
    }

    #[tokio::test]
    async fn download_hashes_the_file_and_names_what_failed() {
        let (base, seen) = serve(vec![(
            "/f/x-1.0.tar.gz",
            "200 OK",
            "application/octet-stream",
            "abc".into(),
        )])
        .await;
        let upload = base.join("/legacy/").unwrap();
        let q = IndexQuery::new(base.clone(), Duration::from_secs(5))
            .unwrap()
            .with_upload_credentials(&upload, creds());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("copy");
        let file = base.join("/f/x-1.0.tar.gz").unwrap();
        assert_eq!(
            q.download(&file, &dest, 1024).await.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert!(seen.lock().unwrap()[0].header("authorization").is_some());

        let missing = base.join("/f/gone.tar.gz").unwrap();
        let err = q.download(&missing, &dest, 1024).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, QueryError::Download { .. }), "{err:?}");
        assert!(
            text.contains(missing.as_str()) && text.contains("HTTP 404 Not Found"),
            "{text}"
        );
        assert!(!text.contains("which files it has"), "{text}");

        let unwritable = dir.path().join("no-such-dir").join("copy");
        let err = q.download(&file, &unwritable, 1024).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, QueryError::Save { .. }), "{err:?}");
        assert!(text.contains(&unwritable.display().to_string()), "{text}");
        assert!(!format!("{err:?}").contains("QUERYTOKEN"), "{err:?}");
    }

    #[test]
    fn only_the_asked_versions_files_are_kept() {
        let ours = Ours::new("1.0");
        assert!(
            ours.holds("x-1.0.0-py3-none-any.whl"),
            "PEP 440: 1.0 is 1.0.0"
        );
        assert!(ours.holds("x-1.0.tar.gz"));
        assert!(!ours.holds("x-1.0.1-py3-none-any.whl"));
        assert!(!ours.holds("x-1.0.zip"), "not a file we upload");
        let json = format!(
            r#"{{"files":[{{"filename":"x-0.9.tar.gz","url":"/a","hashes":{{"sha256":"{SHA}"}}}},
            {{"filename":"x-1.0.tar.gz","url":"/b","hashes":{{"md5":"00","sha256":"{SHA}","other":[1,{{"a":2}}]}}}}],"meta":{{}}}}"#
        );
        let keep = |f: &str| ours.holds(f);
        let files = read_pep691(json.as_bytes(), &page(), &keep).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["x-1.0.tar.gz"]);
        assert_eq!(files["x-1.0.tar.gz"].sha256.as_deref(), Some(SHA));
        // A field too long to be a file name is refused, not stored.
        let long = format!(
            r#"{{"files":[{{"filename":"{}"}}]}}"#,
            "a".repeat(MAX_FIELD + 1)
        );
        assert!(read_pep691(long.as_bytes(), &page(), &keep).is_err());
    }

    /// A reader that hands out at most `n` bytes per read, to cut pages anywhere.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// A page that cannot be read to its end (a failing read, a spool file that cannot be
    /// read back) is an error naming the fix, never a shorter page: a shorter page would
    /// say the index lacks files it has.
    #[test]
    fn a_page_that_cannot_be_read_back_is_an_error_not_a_shorter_page() {
        struct Fails<'a>(&'a [u8]);
        impl Read for Fails<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("disk gone"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let html = format!("<a href=\"/p/x-1.0.tar.gz#sha256={SHA}\">x-1.0.tar.gz</a>\n");
        let e = read_pep503(Fails(html.as_bytes()), &page(), &|_| true).unwrap_err();
        assert_eq!(e.to_string(), "disk gone");

        // A spool "file" that cannot seek back to its start: a FIFO.
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .unwrap();
        let body = Body {
            memory: Vec::new(),
            file: Some(f),
            len: 1,
        };
        assert!(body.reader().is_err());
        let shown = QueryError::Spool {
            url: "https://pypi.org/simple/x/".into(),
            source: std::io::Error::other("No space left on device"),
        }
        .to_string();
        assert!(
            shown.contains("`https://pypi.org/simple/x/`") && shown.contains("point TMPDIR"),
            "{shown}"
        );
    }

    #[test]
    fn html_read_in_pieces_finds_the_same_files() {
        let mut html = String::new();
        for i in 0..200 {
            html.push_str(&format!(
                "<a href=\"/p/x-1.{i}.tar.gz#sha256={SHA}\">x-1.{i}.tar.gz</a>\n"
            ));
            if i == 50 {
                // A comment holding anchors, across any piece boundary, hides them.
                html.push_str("<!-- <a href=\"/ghost.tar.gz\">x-9.tar.gz</a> -->\n");
            }
        }
        let whole = parse_pep503(&html, &page());
        assert_eq!(whole.len(), 200);
        for step in [1, 7, 64, 4096] {
            let r = Trickle(html.as_bytes(), step);
            assert_eq!(
                read_pep503(r, &page(), &|_| true).unwrap(),
                whole,
                "reads of {step}"
            );
        }
        assert_eq!(piece_end(b"<a>x</a><a>y</A >z"), Some(17));
        assert_eq!(piece_end(b"<a>x</a> <!-- <a>y</a>"), Some(9));
        assert_eq!(piece_end(b"<!-- <a>y</a>"), None);
        assert_eq!(piece_end(b"<a>x</a"), None);
    }

    #[tokio::test]
    async fn a_download_bigger_than_allowed_is_refused() {
        let (base, _) = serve(vec![(
            "/f/x-1.0.tar.gz",
            "200 OK",
            "application/octet-stream",
            "0123456789".into(),
        )])
        .await;
        let q = IndexQuery::new(base.clone(), Duration::from_secs(5)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("copy");
        let url = base.join("/f/x-1.0.tar.gz").unwrap();
        let err = q.download(&url, &dest, 9).await.unwrap_err();
        assert!(err.to_string().contains("it is bigger than 9 B"), "{err}");
        assert!(q.download(&url, &dest, 10).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_ends_by_the_deadline() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!(
            "http://{}/simple/",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = read_request(&mut sock).await;
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n")
                        .await;
                    loop {
                        if sock.write_all(b" ").await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                });
            }
        });
        let q = IndexQuery::new(base, Duration::from_secs(60)).unwrap();
        let started = Instant::now();
        let err = q
            .files_by("x", "1.0", Instant::now() + Duration::from_millis(700))
            .await
            .unwrap_err();
        assert!(matches!(err, QueryError::Deadline { .. }), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // Past the deadline nothing is sent at all.
        let err = q.files_by("x", "1.0", Instant::now()).await.unwrap_err();
        assert!(
            err.to_string().contains("ran out before the request"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn html_parser_never_panics(s in ".{0,400}") {
            let _ = parse_pep503(&s, &page());
        }

        #[test]
        fn html_parser_never_panics_on_tag_soup(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("<a".to_string()), Just("<A ".to_string()), Just("href=".to_string()),
                    Just("\"".to_string()), Just("'".to_string()), Just(">".to_string()),
                    Just("</a>".to_string()), Just("<!--".to_string()), Just("-->".to_string()),
                    Just("#sha256=".to_string()), Just("&amp;".to_string()), Just("é".to_string()),
                    "[a-z0-9 ./=_-]{0,8}",
                ],
                0..40,
            )
        ) {
            let _ = parse_pep503(&parts.concat(), &page());
        }

        #[test]
        fn json_parsers_never_panic(s in ".{0,200}") {
            let _ = parse_pep691(s.as_bytes(), &page());
            let _ = parse_json_api(s.as_bytes(), &page());
        }

        #[test]
        fn a_generated_anchor_is_found(name in "[a-z][a-z0-9_]{0,10}-1\\.0\\.tar\\.gz", sha in "[0-9a-f]{64}", single in any::<bool>()) {
            let q = if single { '\'' } else { '"' };
            let html = format!("<p><a data-x={q}1{q} href={q}/p/{name}#sha256={sha}{q}>{name}</a></p>");
            let files = parse_pep503(&html, &page());
            prop_assert_eq!(files.get(&name).and_then(|f| f.sha256.clone()), Some(sha));
        }
    }
}
