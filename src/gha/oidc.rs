//! GitHub's side of trusted publishing: the job's OpenID Connect ID token, and its claims.
//!
//! A job granted `permissions: id-token: write` gets `ACTIONS_ID_TOKEN_REQUEST_URL` and
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; `GET $URL&audience=<aud>` with
//! `Authorization: bearer $TOKEN` answers `{"value": "<JWT>"}` (the `@actions/core`
//! `getIDToken` protocol). Fork pull requests never get the variables.
//!
//! The claims are decoded only to explain a refused exchange (which repository, workflow,
//! ref and environment the index saw); nothing here verifies the signature — the index does.

use std::time::Duration;

use base64::Engine;
use url::Url;

use super::Env;
use crate::secret::Secret;

pub const REQUEST_URL_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const REQUEST_TOKEN_VAR: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// What of an error body we repeat.
const MAX_MESSAGE_CHARS: usize = 500;
/// What of an answer is read: `{"value": "<JWT>"}` is a few kilobytes.
const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error(
        "{REQUEST_URL_VAR} is not a valid URL ({0}); it is set by the runner — do not override it"
    )]
    BadUrl(String),
    #[error("refusing to send {REQUEST_TOKEN_VAR} to `{host}`: the ID-token URL must be https (plain http only on loopback, for tests)")]
    InsecureUrl { host: String },
    #[error("could not reach GitHub's ID-token endpoint at `{host}`: {detail}; re-run the job (a transient runner problem)")]
    Transport { host: String, detail: String },
    #[error("GitHub refused the ID-token request (HTTP {status}): {message}. Grant the job `permissions: id-token: write` (pull requests from forks never get an ID token)")]
    Refused { status: u16, message: String },
    #[error(
        "GitHub's ID-token endpoint answered HTTP 200 without a `value`: {detail}; re-run the job"
    )]
    Malformed { detail: String },
}

/// The job's ability to mint ID tokens, read from the runner's environment.
#[derive(Debug, Clone)]
pub struct IdTokenRequest {
    url: String,
    token: Secret,
}

impl IdTokenRequest {
    /// Both variables set and non-empty, else `None` (the job lacks `id-token: write`).
    pub fn from_env(env: &dyn Env) -> Option<IdTokenRequest> {
        let url = env.get(REQUEST_URL_VAR).filter(|v| !v.trim().is_empty())?;
        let token = env
            .get(REQUEST_TOKEN_VAR)
            .filter(|v| !v.trim().is_empty())?;
        Some(IdTokenRequest {
            url: url.trim().to_owned(),
            token: Secret::new(token.trim()),
        })
    }

    /// The bearer token the runner gave us; it is masked by the runner already, and masked
    /// again by the caller before anything prints.
    pub fn request_token(&self) -> &Secret {
        &self.token
    }

    /// A fresh ID token for `audience`. Each exchange needs its own: the index refuses a
    /// token it has seen (`invalid-reuse-token`).
    pub async fn fetch(&self, audience: &str) -> Result<Secret, IdTokenError> {
        let mut url = Url::parse(&self.url).map_err(|e| IdTokenError::BadUrl(e.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if !secure(&url) {
            return Err(IdTokenError::InsecureUrl { host });
        }
        url.query_pairs_mut().append_pair("audience", audience);
        let client =
            crate::http::credential_client(Duration::from_secs(30), Duration::from_secs(60))
                .build()
                .map_err(|e| IdTokenError::Transport {
                    host: host.clone(),
                    detail: e.to_string(),
                })?;
        let transport = |e: reqwest::Error| IdTokenError::Transport {
            host: host.clone(),
            detail: e.without_url().to_string(),
        };
        let mut response = client
            .get(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("bearer {}", self.token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_BODY {
                // A long refusal is still a refusal (its status says why); only a long
                // success is not the answer we expect.
                if !status.is_success() {
                    bytes.truncate(MAX_BODY);
                    break;
                }
                return Err(IdTokenError::Malformed {
                    detail: format!("the answer is longer than {MAX_BODY} bytes"),
                });
            }
        }
        let body = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            // An echo of our bearer token is cut out before the message is shortened.
            return Err(IdTokenError::Refused {
                status: status.as_u16(),
                message: short(&self.token.redact(&body)),
            });
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            value: String,
        }
        match serde_json::from_str::<Answer>(&body) {
            Ok(a) if !a.value.trim().is_empty() => Ok(Secret::new(a.value.trim())),
            Ok(_) => Err(IdTokenError::Malformed {
                detail: "`value` is empty".into(),
            }),
            // Never echo the body: it may hold a token.
            Err(e) => Err(IdTokenError::Malformed {
                detail: format!("not the expected JSON ({:?} error)", e.classify()),
            }),
        }
    }
}

/// https, or plain http to loopback (local test doubles).
fn secure(url: &Url) -> bool {
    crate::http::may_carry_credentials(url)
}

fn short(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &one[..i]),
        None if one.is_empty() => "(empty body)".into(),
        None => one,
    }
}

/// The claims of a GitHub Actions ID token that decide whether a trusted publisher matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Claims {
    pub sub: Option<String>,
    pub repository: Option<String>,
    pub repository_owner: Option<String>,
    pub workflow_ref: Option<String>,
    pub job_workflow_ref: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub event_name: Option<String>,
}

impl Claims {
    /// The JWT's middle part, base64url-decoded; no signature check (the index does that).
    /// `None` for anything that is not a JWT with a JSON object payload.
    pub fn decode(token: &Secret) -> Option<Claims> {
        let mut parts = token.expose().split('.');
        let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The workflow file PyPI matches a publisher against: the one in `job_workflow_ref`
    /// (`owner/repo/.github/workflows/publish.yml@refs/...` -> `publish.yml`).
    pub fn workflow_filename(&self) -> Option<&str> {
        self.job_workflow_ref
            .as_deref()
            .or(self.workflow_ref.as_deref())
            .and_then(workflow_filename)
    }

    /// The job runs in a reusable workflow called from another workflow.
    pub fn is_reusable_workflow(&self) -> bool {
        match (&self.workflow_ref, &self.job_workflow_ref) {
            (Some(w), Some(j)) => w != j,
            _ => false,
        }
    }
}

/// `owner/repo/.github/workflows/NAME.yml@ref` -> `NAME.yml`.
pub fn workflow_filename(workflow_ref: &str) -> Option<&str> {
    let path = match workflow_ref.find(".github/workflows/") {
        Some(i) => &workflow_ref[i + ".github/workflows/".len()..],
        None => return None,
    };
    let end = [".yml@", ".yaml@"]
        .iter()
        .filter_map(|ext| path.find(ext).map(|i| i + ext.len() - 1))
        .min()?;
    let name = &path[..end];
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn jwt(payload: &serde_json::Value) -> Secret {
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        Secret::new(format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","typ":"JWT"}"#),
            b64(payload.to_string().as_bytes()),
            b64(b"signature")
        ))
    }

    #[test]
    fn from_env_needs_both_variables() {
        let mut env = BTreeMap::new();
        assert!(IdTokenRequest::from_env(&env).is_none());
        env.insert(REQUEST_URL_VAR.to_string(), "https://x/?a=1".to_string());
        assert!(IdTokenRequest::from_env(&env).is_none());
        env.insert(REQUEST_TOKEN_VAR.to_string(), "".to_string());
        assert!(IdTokenRequest::from_env(&env).is_none());
        env.insert(REQUEST_TOKEN_VAR.to_string(), "tok".to_string());
        let r = IdTokenRequest::from_env(&env).unwrap();
        assert_eq!(r.request_token().expose(), "tok");
        assert!(!format!("{r:?}").contains("tok\""));
    }

    #[test]
    fn decodes_claims_without_verifying() {
        let t = jwt(&serde_json::json!({
            "sub": "repo:octo-org/improved-sdd:environment:pypi",
            "repository": "octo-org/improved-sdd",
            "repository_owner": "octo-org",
            "workflow_ref": "octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v1.0.0",
            "job_workflow_ref": "octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v1.0.0",
            "ref": "refs/tags/v1.0.0",
            "environment": "pypi",
            "event_name": "push",
            "iss": "https://token.actions.githubusercontent.com"
        }));
        let c = Claims::decode(&t).unwrap();
        assert_eq!(c.repository.as_deref(), Some("octo-org/improved-sdd"));
        assert_eq!(c.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
        assert_eq!(c.environment.as_deref(), Some("pypi"));
        assert_eq!(c.workflow_filename(), Some("publish.yml"));
        assert!(!c.is_reusable_workflow());

        assert_eq!(Claims::decode(&Secret::new("not-a-jwt")), None);
        assert_eq!(Claims::decode(&Secret::new("a.!!!.c")), None);
        assert_eq!(Claims::decode(&Secret::new("a.bm90IGpzb24.c")), None);
    }

    #[test]
    fn reusable_workflows_are_detected() {
        let c = Claims {
            workflow_ref: Some("o/r/.github/workflows/release.yml@refs/tags/v1".into()),
            job_workflow_ref: Some("o/shared/.github/workflows/pypi.yaml@refs/heads/main".into()),
            ..Claims::default()
        };
        assert!(c.is_reusable_workflow());
        assert_eq!(c.workflow_filename(), Some("pypi.yaml"));
    }

    #[test]
    fn workflow_filenames() {
        assert_eq!(
            workflow_filename("o/r/.github/workflows/a.yml@refs/heads/x.yml@y"),
            Some("a.yml")
        );
        assert_eq!(
            workflow_filename("o/r/.github/workflows/b.yaml@sha"),
            Some("b.yaml")
        );
        assert_eq!(workflow_filename("o/r/.github/workflows/@x"), None);
        assert_eq!(workflow_filename("nothing"), None);
    }

    #[test]
    fn only_https_or_loopback() {
        let ok = |s: &str| secure(&Url::parse(s).unwrap());
        assert!(ok(
            "https://pipelines.actions.githubusercontent.com/x?api-version=2.0"
        ));
        assert!(ok("http://127.0.0.1:9/x"));
        assert!(!ok("http://pipelines.actions.githubusercontent.com/x"));
    }

    /// A refusal longer than the cap is still a refusal with its status, not "malformed".
    #[tokio::test]
    async fn a_long_refusal_keeps_its_status() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let body = format!(
                "{{\"message\":\"no id-token permission{}\"}}",
                " ".repeat(MAX_BODY)
            );
            let answer = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(answer.as_bytes()).await;
        });
        let r = IdTokenRequest {
            url: format!("http://127.0.0.1:{port}/token?api-version=2.0"),
            token: Secret::new("bearer-secret"),
        };
        let err = r.fetch("pypi").await.unwrap_err();
        assert!(
            matches!(err, IdTokenError::Refused { status: 403, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn insecure_url_is_refused_before_sending() {
        let r = IdTokenRequest {
            url: "http://example.org/token?api-version=2.0".into(),
            token: Secret::new("bearer-secret"),
        };
        let err = r.fetch("pypi").await.unwrap_err();
        assert!(matches!(err, IdTokenError::InsecureUrl { .. }), "{err}");
        assert!(!err.to_string().contains("bearer-secret"));
    }
}
