//! PEP 740 publish attestations, made keylessly with Sigstore: for each distribution,
//!
//! 1. an in-toto Statement naming the file and its sha256, predicate
//!    `https://docs.pypi.org/attestations/publish/v1` ([`model::statement`]);
//! 2. signed as a DSSE envelope by an ephemeral P-256 key whose Fulcio certificate binds it
//!    to the workflow's identity, taken from a GitHub ID token with audience `sigstore`
//!    ([`fulcio`]). One certificate serves many files; a new key and certificate are
//!    fetched whenever the current one is within `refresh_margin` of expiring, so a long
//!    matrix of wheels never signs with an expired certificate (pypa's action signs every
//!    file with one certificate and loses attestations when it runs out);
//! 3. logged in Rekor as a `dsse` entry ([`rekor`]);
//! 4. checked here as a verifier will check it ([`verify`]), then saved beside the file as
//!    `<file>.publish.attestation` in the exact shape `pypi-attestations` reads ([`model`]).
//!
//! Why not the `sigstore` crate: sigstore-rs 0.14 signs only `hashedrekord` message
//! signatures (no DSSE envelopes, no `dsse` Rekor entries), and it brings reqwest 0.13,
//! aws-lc-rs and openidconnect beside our reqwest 0.12/ring. The protocol parts here are
//! two JSON requests; the cryptography is `ring` and the X.509 parsing `x509-cert`.
//!
//! Nothing here prints: tokens never leave [`TokenSource`] and the bearer header.

pub mod crypto;
pub mod fulcio;
pub mod model;
pub mod rekor;
pub mod trust;
pub mod verify;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use url::Url;

use crate::gha::oidc::{Claims, IdTokenError, IdTokenRequest};
// https, or plain http to loopback (the doubles): the index's rule for where a credential may go.
use crate::http::may_carry_credentials;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
pub use model::{Attestation, FILE_SUFFIX};
pub use trust::TrustRoot;

pub const PUBLIC_GOOD_FULCIO: &str = "https://fulcio.sigstore.dev";
pub const PUBLIC_GOOD_REKOR: &str = "https://rekor.sigstore.dev";
/// The ID-token audience Fulcio accepts.
pub const AUDIENCE: &str = "sigstore";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Fulcio,
    Rekor,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Fulcio => "Fulcio",
            Service::Rekor => "Rekor",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("cannot attest: this job cannot mint an ID token (ACTIONS_ID_TOKEN_REQUEST_URL is not set); grant the job `permissions: id-token: write` (pull requests from forks never get one)")]
    NoIdToken,
    #[error("cannot attest: could not get an ID token for Sigstore: {0}")]
    IdToken(#[source] IdTokenError),
    #[error("{service} URL `{url}` must be https (plain http only on loopback, for tests)")]
    InsecureUrl { service: Service, url: String },
    #[error("could not reach {service} at {url}: {detail}; check the runner's network access to {service} (or the configured {service} URL) and re-run")]
    Unreachable {
        service: Service,
        url: String,
        detail: String,
    },
    #[error("{service} at {url} refused the request (HTTP {status}): {message}{}", refused_hint(*.service, *.status))]
    Refused {
        service: Service,
        url: String,
        status: u16,
        message: String,
        /// The service's `Retry-After`, honoured by the retry within its budget.
        retry_after: Option<Duration>,
    },
    #[error("{service} answered something unexpected: {detail}; is the configured {service} URL really {service}?")]
    Malformed { service: Service, detail: String },
    #[error("the ID token names no workflow (its `job_workflow_ref` claim is missing or unreadable), so the certificate's identity could not be checked and nothing was signed; attest from a GitHub Actions job with `permissions: id-token: write`")]
    IdentityUnknown,
    #[error("identity mismatch: Fulcio certified `{certified}`, but this job runs `{expected}`; the Fulcio URL must point at a Fulcio that trusts GitHub's tokens as issued (a proxy or private instance rewrote the identity)")]
    IdentityMismatch { certified: String, expected: String },
    #[error("the attestation for {filename} does not verify: {reason}; nothing was uploaded — re-run, and if it persists check the configured Sigstore URLs and trusted root belong together")]
    Invalid { filename: String, reason: String },
    #[error("could not {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not prepare a signing key or request: {detail}")]
    Local { detail: String },
}

fn refused_hint(service: Service, status: u16) -> &'static str {
    match (service, status) {
        (Service::Fulcio, 400 | 401 | 403) => {
            "; Fulcio did not accept the job's ID token — it must come from GitHub Actions with audience `sigstore` (is the Fulcio URL right?)"
        }
        (_, 429) | (_, 500..=599) => "; the service is having trouble — re-run later",
        _ => "",
    }
}

impl AttestError {
    pub(crate) fn unreachable(service: Service, url: &Url, e: reqwest::Error) -> AttestError {
        AttestError::Unreachable {
            service,
            url: url.to_string(),
            detail: crate::http::error_chain(&e.without_url()),
        }
    }

    /// Worth another try: the network or the service hiccuped. (A resent Rekor entry that
    /// was logged the first time is found again: see `rekor::log`.)
    fn is_transient(&self) -> bool {
        match self {
            AttestError::Unreachable { .. } => true,
            AttestError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Where a fresh GitHub ID token comes from (the runner's endpoint, or a test's).
pub trait TokenSource: Send + Sync {
    fn sigstore_token(&self) -> BoxFuture<'_, Result<Secret, AttestError>>;
}

impl TokenSource for IdTokenRequest {
    fn sigstore_token(&self) -> BoxFuture<'_, Result<Secret, AttestError>> {
        Box::pin(async move { self.fetch(AUDIENCE).await.map_err(AttestError::IdToken) })
    }
}

/// The job has no ID-token endpoint.
pub struct NoTokens;

impl TokenSource for NoTokens {
    fn sigstore_token(&self) -> BoxFuture<'_, Result<Secret, AttestError>> {
        Box::pin(async { Err(AttestError::NoIdToken) })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub fulcio_url: Url,
    pub rekor_url: Url,
    pub trust: TrustRoot,
    /// A certificate this close to expiry is replaced before signing.
    pub refresh_margin: Duration,
    /// How each request is retried when the service or network hiccups: the crate's one
    /// policy (backoff with jitter, `Retry-After` honoured within its budget).
    pub retry: RetryPolicy,
}

/// A Sigstore setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is `{value}`, expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{var}: {source}")]
    Trust {
        var: &'static str,
        #[source]
        source: trust::TrustError,
    },
}

pub const FULCIO_URL_VAR: &str = "SDD_PUBLISH_FULCIO_URL";
pub const REKOR_URL_VAR: &str = "SDD_PUBLISH_REKOR_URL";
pub const TRUSTED_ROOT_VAR: &str = "SDD_PUBLISH_TRUSTED_ROOT";
pub const REFRESH_MARGIN_VAR: &str = "SDD_PUBLISH_ATTEST_REFRESH_MARGIN_S";
pub const ATTEMPTS_VAR: &str = "SDD_PUBLISH_ATTEST_ATTEMPTS";

impl Config {
    /// The public-good instance unless `SDD_PUBLISH_FULCIO_URL`, `SDD_PUBLISH_REKOR_URL` and
    /// `SDD_PUBLISH_TRUSTED_ROOT` (a Sigstore `trusted_root.json`) name another — a private
    /// Sigstore, or a test's doubles. `SDD_PUBLISH_ATTEST_REFRESH_MARGIN_S` and
    /// `SDD_PUBLISH_ATTEST_ATTEMPTS` are knobs for tests. Empty values keep the default.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &str| {
            get(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut c = Config::public_good();
        let url = |var: &'static str, default: Url| match get(var) {
            None => Ok(default),
            // No user or password: every error names the URL.
            Some(v) => match Url::parse(&v) {
                Ok(u)
                    if may_carry_credentials(&u)
                        && u.username().is_empty()
                        && u.password().is_none() =>
                {
                    Ok(u)
                }
                Ok(u) if may_carry_credentials(&u) => Err(ConfigError::Invalid {
                    var,
                    value: "(a URL with a user or password)".into(),
                    expected: "an https URL without credentials",
                }),
                _ => Err(ConfigError::Invalid {
                    var,
                    value: crate::secret::url_shown(&v),
                    expected: "an https URL (plain http only on loopback, for tests)",
                }),
            },
        };
        c.fulcio_url = url(FULCIO_URL_VAR, c.fulcio_url)?;
        c.rekor_url = url(REKOR_URL_VAR, c.rekor_url)?;
        if let Some(path) = get(TRUSTED_ROOT_VAR) {
            c.trust =
                TrustRoot::from_file(Path::new(&path)).map_err(|source| ConfigError::Trust {
                    var: TRUSTED_ROOT_VAR,
                    source,
                })?;
        }
        let num = |var: &'static str| -> Result<Option<u64>, ConfigError> {
            get(var)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| ConfigError::Invalid {
                        var,
                        value: v,
                        expected: "a whole number",
                    })
                })
                .transpose()
        };
        if let Some(s) = num(REFRESH_MARGIN_VAR)? {
            c.refresh_margin = Duration::from_secs(s);
        }
        if let Some(n) = num(ATTEMPTS_VAR)? {
            c.retry.attempts = n.clamp(1, 10) as usize;
        }
        Ok(c)
    }

    pub fn public_good() -> Config {
        Config {
            fulcio_url: Url::parse(PUBLIC_GOOD_FULCIO).expect("valid"),
            rekor_url: Url::parse(PUBLIC_GOOD_REKOR).expect("valid"),
            trust: TrustRoot::public_good(),
            refresh_margin: Duration::from_secs(120),
            retry: RetryPolicy {
                attempts: 3,
                min_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(30),
                total: Duration::from_secs(120),
            },
        }
    }
}

/// One file's attestation, saved.
#[derive(Debug, Clone)]
pub struct Attested {
    pub filename: String,
    pub sha256: String,
    /// `<file>.publish.attestation`.
    pub saved: PathBuf,
    pub attestation: Attestation,
    /// Rekor's (global) log index: `https://search.sigstore.dev/?logIndex=N`.
    pub log_index: u64,
    /// The workflow the certificate names.
    pub identity: String,
}

impl Attested {
    /// The upload form's `attestations` value: a JSON list of attestation objects.
    pub fn form_value(&self) -> String {
        serde_json::to_string(&[&self.attestation]).expect("JSON")
    }
}

pub struct Attester<'a> {
    config: Config,
    tokens: &'a dyn TokenSource,
    client: reqwest::Client,
    signer: Option<fulcio::Signer>,
    certificates: usize,
}

/// `base` + `path`, whether or not `base` ends in a slash.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut s = base.as_str().trim_end_matches('/').to_owned();
    s.push('/');
    s.push_str(path);
    Url::parse(&s).unwrap_or_else(|_| base.clone())
}

/// The largest answer read from a Sigstore service (a certificate chain or a log entry is a
/// few kilobytes): a hostile service cannot fill memory.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// A Sigstore service's answer, whatever its status.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    /// The `Location` header (Rekor names an entry it already holds there).
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
    pub text: String,
}

/// Send a request to a Sigstore service and read its answer, at most [`MAX_ANSWER`] bytes.
pub(crate) async fn send(
    service: Service,
    url: &Url,
    request: reqwest::RequestBuilder,
) -> Result<Answer, AttestError> {
    let mut response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| AttestError::unreachable(service, url, e))?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = crate::retry::retry_after(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| AttestError::unreachable(service, url, e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            body.truncate(MAX_ANSWER);
            if status.is_success() {
                // No certificate or log entry is that long: not the service we expect.
                return Err(AttestError::Malformed {
                    service,
                    detail: format!("an answer longer than {MAX_ANSWER} bytes"),
                });
            }
            break;
        }
    }
    Ok(Answer {
        status,
        location,
        retry_after,
        text: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The error for an answer that is not a success, naming the service (with `secret`, when
/// the request carried one, cut out of the service's message before it is shortened).
pub(crate) fn refused(
    service: Service,
    url: &Url,
    answer: &Answer,
    secret: Option<&Secret>,
) -> AttestError {
    let text = secret.map_or_else(|| answer.text.clone(), |s| s.redact(&answer.text));
    let message = server_message(&text);
    AttestError::Refused {
        service,
        url: url.to_string(),
        status: answer.status.as_u16(),
        message: secret.map_or_else(|| message.clone(), |s| s.redact(&message)),
        retry_after: answer.retry_after,
    }
}

/// Send a JSON POST to a Sigstore service: the answer's text, or the error naming the service.
pub(crate) async fn post(
    service: Service,
    url: &Url,
    request: reqwest::RequestBuilder,
    secret: Option<&Secret>,
) -> Result<String, AttestError> {
    let answer = send(service, url, request).await?;
    if !answer.status.is_success() {
        return Err(refused(service, url, &answer, secret));
    }
    Ok(answer.text)
}

/// A service's error body, short: its JSON `message` if it has one.
pub(crate) fn server_message(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned());
    let one = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None if one.is_empty() => "(empty body)".into(),
        None => one,
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn file_sha256(path: &Path) -> Result<String, AttestError> {
    let io = |source| AttestError::Io {
        what: "read",
        path: path.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The identity a GitHub job's certificate must carry: the workflow file that runs the job.
pub fn expected_identity(claims: &Claims) -> Option<String> {
    claims
        .job_workflow_ref
        .as_deref()
        .map(|r| format!("https://github.com/{r}"))
}

impl<'a> Attester<'a> {
    pub fn new(config: Config, tokens: &'a dyn TokenSource) -> Result<Attester<'a>, AttestError> {
        for (service, url) in [
            (Service::Fulcio, &config.fulcio_url),
            (Service::Rekor, &config.rekor_url),
        ] {
            if !may_carry_credentials(url) {
                return Err(AttestError::InsecureUrl {
                    service,
                    url: url.to_string(),
                });
            }
        }
        let client =
            crate::http::credential_client(Duration::from_secs(30), Duration::from_secs(60))
                .build()
                .map_err(|e| AttestError::Local {
                    detail: e.to_string(),
                })?;
        Ok(Attester {
            config,
            tokens,
            client,
            signer: None,
            certificates: 0,
        })
    }

    /// How many Fulcio certificates this attester has fetched.
    pub fn certificates(&self) -> usize {
        self.certificates
    }

    async fn retrying<T, F, Fut>(&self, call: F) -> Result<T, AttestError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AttestError>>,
    {
        use backon::Retryable;
        let deadline = self.config.retry.deadline(std::time::Instant::now());
        call.retry(self.config.retry.backoff())
            .when(AttestError::is_transient)
            .adjust(|e, delay| {
                let asked = match e {
                    AttestError::Refused { retry_after, .. } => *retry_after,
                    _ => None,
                };
                crate::retry::within(deadline, delay, asked)
            })
            .await
    }

    /// A signer whose certificate outlives the refresh margin: the current one, or a new key
    /// and certificate.
    async fn signer(&mut self, force_new: bool) -> Result<&fulcio::Signer, AttestError> {
        let fresh = |s: &fulcio::Signer| now() + self.config.refresh_margin.as_secs() < s.not_after;
        if force_new || !self.signer.as_ref().is_some_and(fresh) {
            let token = self.tokens.sigstore_token().await?;
            // The identity the certificate must carry, known before asking for one: a token
            // that names no workflow gets no certificate (there would be nothing to check).
            let expected = Claims::decode(&token)
                .as_ref()
                .and_then(expected_identity)
                .ok_or(AttestError::IdentityUnknown)?;
            let (client, url) = (&self.client, &self.config.fulcio_url);
            let signer = self
                .retrying(|| fulcio::request(client, url, &token))
                .await?;
            if signer.identity != expected {
                return Err(AttestError::IdentityMismatch {
                    certified: signer.identity,
                    expected,
                });
            }
            self.certificates += 1;
            self.signer = Some(signer);
        }
        Ok(self.signer.as_ref().expect("set above"))
    }

    /// Attest one distribution, verify the attestation, save it beside the file.
    pub async fn attest_file(&mut self, path: &Path) -> Result<Attested, AttestError> {
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sha256 = file_sha256(path).await?;
        let statement = model::statement(&filename, &sha256);
        let pae = model::pae(model::PAYLOAD_TYPE, &statement);

        // A certificate that expired between our check and Rekor's clock makes the entry
        // unverifiable; one more try with a new certificate covers it.
        let mut force_new = false;
        let (attestation, verified) = loop {
            let signer = self.signer(force_new).await?;
            let signature = signer
                .key
                .sign(&pae)
                .map_err(|detail| AttestError::Local { detail })?;
            let cert_der = signer.cert_der.clone();
            let (client, url) = (&self.client, &self.config.rekor_url);
            let entry = self
                .retrying(|| rekor::log(client, url, &statement, &signature, &cert_der))
                .await?;
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            let attestation = Attestation {
                version: 1,
                verification_material: model::VerificationMaterial {
                    certificate: b64(&cert_der),
                    transparency_entries: vec![entry],
                },
                envelope: model::Envelope {
                    statement: b64(&statement),
                    signature: b64(&signature),
                },
            };
            match verify::verify(&attestation, &filename, &sha256, &self.config.trust) {
                Ok(v) => break (attestation, v),
                Err(r) if r.lapsed && !force_new => force_new = true,
                Err(r) => {
                    return Err(AttestError::Invalid {
                        filename,
                        reason: r.reason,
                    })
                }
            }
        };

        let mut saved = path.as_os_str().to_owned();
        saved.push(FILE_SUFFIX);
        let saved = PathBuf::from(saved);
        let json = serde_json::to_vec(&attestation).expect("JSON");
        tokio::fs::write(&saved, json)
            .await
            .map_err(|source| AttestError::Io {
                what: "write",
                path: saved.clone(),
                source,
            })?;
        Ok(Attested {
            filename,
            sha256,
            saved,
            attestation,
            log_index: verified.log_index,
            identity: verified.identity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback() {
        let ok = |s: &str| may_carry_credentials(&Url::parse(s).unwrap());
        assert!(ok("https://fulcio.sigstore.dev"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(!ok("http://fulcio.example"));
        assert!(!ok("ftp://127.0.0.1"));
    }

    #[test]
    fn join_keeps_a_base_path() {
        let u = Url::parse("http://127.0.0.1:1/fulcio/").unwrap();
        assert_eq!(
            join(&u, "api/v2/signingCert").as_str(),
            "http://127.0.0.1:1/fulcio/api/v2/signingCert"
        );
        let u = Url::parse("https://rekor.sigstore.dev").unwrap();
        assert_eq!(
            join(&u, rekor::PATH).as_str(),
            "https://rekor.sigstore.dev/api/v1/log/entries"
        );
    }

    #[test]
    fn server_messages_are_short() {
        assert_eq!(
            server_message(r#"{"code":401,"message":"bad token"}"#),
            "bad token"
        );
        assert_eq!(server_message(""), "(empty body)");
        assert!(server_message(&"x".repeat(1000)).ends_with('…'));
    }

    #[tokio::test]
    async fn no_id_token_names_the_permission() {
        let tokens = NoTokens;
        let mut config = Config::public_good();
        config.retry.attempts = 1;
        let mut a = Attester::new(config, &tokens).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p-1.0.tar.gz");
        std::fs::write(&f, b"x").unwrap();
        let e = a.attest_file(&f).await.unwrap_err();
        assert!(e.to_string().contains("id-token: write"), "{e}");
        assert!(!dir.path().join("p-1.0.tar.gz.publish.attestation").exists());
    }

    /// Retries follow the crate's policy: a hiccup (503, 429, no connection) is retried,
    /// the service's `Retry-After` is honoured (0 s here, against a 2 s minimum backoff),
    /// and a refusal (400) is final at once.
    #[tokio::test]
    async fn retries_honour_retry_after_and_stop_at_a_refusal() {
        let tokens = NoTokens;
        let a = Attester::new(Config::public_good(), &tokens).unwrap();
        let refused = |status: u16, retry_after: Option<Duration>| AttestError::Refused {
            service: Service::Rekor,
            url: "https://rekor.example/".into(),
            status,
            message: "m".into(),
            retry_after,
        };
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let t0 = std::time::Instant::now();
        let r = a
            .retrying(|| async {
                match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 => Err(refused(503, Some(Duration::ZERO))),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());

        let calls = std::sync::atomic::AtomicUsize::new(0);
        let r: Result<(), _> = a
            .retrying(|| async {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err(refused(400, None))
            })
            .await;
        assert!(matches!(r, Err(AttestError::Refused { status: 400, .. })));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn config_from_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = Config::from_lookup(&vars(&[])).unwrap();
        assert_eq!(c.fulcio_url.as_str(), "https://fulcio.sigstore.dev/");
        let c = Config::from_lookup(&vars(&[
            (FULCIO_URL_VAR, "http://127.0.0.1:1"),
            (REKOR_URL_VAR, " "),
            (REFRESH_MARGIN_VAR, "600"),
        ]))
        .unwrap();
        assert_eq!(c.fulcio_url.as_str(), "http://127.0.0.1:1/");
        assert_eq!(c.rekor_url.as_str(), "https://rekor.sigstore.dev/");
        assert_eq!(c.refresh_margin, Duration::from_secs(600));
        let e = Config::from_lookup(&vars(&[(ATTEMPTS_VAR, "x")])).unwrap_err();
        assert!(e.to_string().contains(ATTEMPTS_VAR), "{e}");
        let e = Config::from_lookup(&vars(&[(TRUSTED_ROOT_VAR, "/nonexistent/root.json")]))
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/root.json"), "{e}");
        let e = Config::from_lookup(&vars(&[(REKOR_URL_VAR, "not a url")])).unwrap_err();
        assert!(e.to_string().contains(REKOR_URL_VAR), "{e}");
        let e =
            Config::from_lookup(&vars(&[(FULCIO_URL_VAR, "http://fulcio.example")])).unwrap_err();
        assert!(e.to_string().contains("plain http only on loopback"), "{e}");
        let e = Config::from_lookup(&vars(&[(
            REKOR_URL_VAR,
            "https://u:hunter22@rekor.example",
        )]))
        .unwrap_err();
        assert!(e.to_string().contains("without credentials"), "{e}");
        assert!(!e.to_string().contains("hunter22"), "{e}");
    }

    #[test]
    fn insecure_urls_are_refused() {
        let mut config = Config::public_good();
        config.rekor_url = Url::parse("http://rekor.example").unwrap();
        let e = Attester::new(config, &NoTokens).err().unwrap();
        assert!(e.to_string().contains("Rekor URL"), "{e}");
    }
}
