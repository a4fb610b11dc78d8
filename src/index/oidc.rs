//! The index's side of trusted publishing (warehouse's OIDC exchange).
//!
//! `GET /_/oidc/audience` -> `{"audience": "pypi"}` names the audience the ID token must
//! carry; `POST /_/oidc/mint-token` with `{"token": "<JWT>"}` -> `{"success": true,
//! "token": "pypi-...", "expires": <unix time>}` mints an API token valid for 15 minutes,
//! or answers 422 `{"message": "Token request failed", "errors": [{"code", "description"}]}`.
//! Both live on the upload URL's own host (`upload.pypi.org`, `test.pypi.org`), as
//! `pypa/gh-action-pypi-publish` and `uv publish` use them, so the ID token goes only to the
//! index the user configured, and only over https (loopback excepted, for tests).

use std::time::Duration;

use url::Url;

use crate::http::may_carry_credentials;
use crate::secret::Secret;

/// Enough for any error document; a hostile server cannot fill memory.
const MAX_BODY: usize = 64 * 1024;
const MAX_MESSAGE_CHARS: usize = 500;
/// Warehouse's lifetime for minted tokens, when an older index does not say `expires`.
pub const DEFAULT_LIFETIME_SECS: u64 = 900;

/// One reason the index gave for refusing the exchange.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct MintFailure {
    pub code: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("refusing trusted publishing against `{url}`: the ID token is only sent over https (plain http only to loopback, for a local test index)")]
    InsecureUrl { url: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("could not reach `{url}`: {detail}; check the upload URL and the runner's network, then re-run")]
    Transport { url: String, detail: String },
    #[error("the index at `{host}` has trusted publishing disabled (GET /_/oidc/audience answered 403: {message}); use an API token input for now")]
    Disabled { host: String, message: String },
    #[error("the index at `{host}` does not support trusted publishing (GET /_/oidc/audience answered 404); set a token input instead, or check the upload URL")]
    Unsupported { host: String },
    #[error("the index at `{host}` answered `{url}` with HTTP {status}: {message}; the index may be down or in maintenance — re-run later")]
    Unexpected {
        host: String,
        url: String,
        status: u16,
        message: String,
    },
    #[error("the token exchange was refused (HTTP {status}): {message}")]
    Refused {
        status: u16,
        message: String,
        errors: Vec<MintFailure>,
    },
}

/// A minted API token and when it stops working (unix seconds).
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: Secret,
    pub expires: u64,
}

/// The exchange endpoints of one index.
#[derive(Debug)]
pub struct Exchange {
    client: reqwest::Client,
    host: String,
    audience_url: Url,
    mint_url: Url,
}

impl Exchange {
    /// The endpoints on the upload URL's origin (scheme, host and port).
    pub fn new(upload_url: &Url) -> Result<Exchange, ExchangeError> {
        let mut origin = upload_url.clone();
        let _ = origin.set_username("");
        let _ = origin.set_password(None);
        origin.set_query(None);
        origin.set_fragment(None);
        if !may_carry_credentials(&origin) {
            return Err(ExchangeError::InsecureUrl {
                url: origin.to_string(),
            });
        }
        let join = |path: &str| {
            origin
                .join(path)
                .map_err(|e| ExchangeError::Client(e.to_string()))
        };
        // Never follows a redirect: the token must not travel to another host.
        let client =
            crate::http::credential_client(Duration::from_secs(30), Duration::from_secs(60))
                .build()
                .map_err(|e| ExchangeError::Client(e.to_string()))?;
        Ok(Exchange {
            client,
            host: origin.host_str().unwrap_or_default().to_owned(),
            audience_url: join("/_/oidc/audience")?,
            mint_url: join("/_/oidc/mint-token")?,
        })
    }

    pub fn audience_url(&self) -> &Url {
        &self.audience_url
    }

    /// The audience the index expects in the ID token.
    pub async fn audience(&self) -> Result<String, ExchangeError> {
        let url = &self.audience_url;
        let (status, body) = self.send(url, self.client.get(url.clone())).await?;
        #[derive(serde::Deserialize)]
        struct Audience {
            audience: String,
        }
        match status {
            200..=299 => match serde_json::from_str::<Audience>(&body) {
                Ok(a) if !a.audience.trim().is_empty() => Ok(a.audience),
                _ => Err(self.unexpected(url, status, "no `audience` in the answer".into())),
            },
            403 => Err(ExchangeError::Disabled {
                host: self.host.clone(),
                message: json_message(&body).unwrap_or_else(|| short(&body)),
            }),
            404 => Err(ExchangeError::Unsupported {
                host: self.host.clone(),
            }),
            _ => Err(self.unexpected(url, status, short(&body))),
        }
    }

    /// Trade an ID token for an API token. Whatever the index echoes back has the ID token
    /// cut out, so an error can be printed as is.
    pub async fn mint(&self, id_token: &Secret) -> Result<Minted, ExchangeError> {
        let url = &self.mint_url;
        let request = self
            .client
            .post(url.clone())
            .json(&serde_json::json!({ "token": id_token.expose() }));
        let (status, body) = self.send(url, request).await?;

        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<String>,
            expires: Option<u64>,
            message: Option<String>,
            #[serde(default)]
            errors: Vec<MintFailure>,
        }
        let parsed = serde_json::from_str::<Answer>(&body).ok();
        if (200..300).contains(&status) {
            return match parsed
                .and_then(|a| a.token.filter(|t| !t.is_empty()).map(|t| (t, a.expires)))
            {
                Some((token, expires)) => Ok(Minted {
                    token: Secret::new(token),
                    expires: expires.unwrap_or_else(|| now() + DEFAULT_LIFETIME_SECS),
                }),
                None => Err(self.unexpected(
                    url,
                    status,
                    "the answer holds no `token`; the index may be misconfigured — re-run later"
                        .into(),
                )),
            };
        }
        match parsed {
            Some(a) if !a.errors.is_empty() || a.message.is_some() => {
                // Cut out first, then shorten: a cut could split the token's echo in two.
                let scrub = |s: &str| short(&id_token.redact(s));
                Err(ExchangeError::Refused {
                    status,
                    message: scrub(a.message.as_deref().unwrap_or("Token request failed")),
                    errors: a
                        .errors
                        .iter()
                        .map(|e| MintFailure {
                            code: scrub(&e.code),
                            description: scrub(&e.description),
                        })
                        .collect(),
                })
            }
            _ => Err(self.unexpected(url, status, short(&id_token.redact(&body)))),
        }
    }

    /// Send a JSON request; the status and the first bytes of the answer.
    async fn send(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, String), ExchangeError> {
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport(url, e))?;
        let status = response.status().as_u16();
        Ok((status, read_capped(response).await))
    }

    fn transport(&self, url: &Url, e: reqwest::Error) -> ExchangeError {
        ExchangeError::Transport {
            url: url.to_string(),
            detail: crate::http::error_chain(&e.without_url()),
        }
    }

    fn unexpected(&self, url: &Url, status: u16, message: String) -> ExchangeError {
        ExchangeError::Unexpected {
            host: self.host.clone(),
            url: url.to_string(),
            status,
            message,
        }
    }
}

/// Seconds since the epoch (0 if the clock is before it, which only shortens a token's life).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

async fn read_capped(mut response: reqwest::Response) -> String {
    String::from_utf8_lossy(&crate::http::read_capped(&mut response, MAX_BODY).await).into_owned()
}

pub(crate) fn json_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("message")?.as_str().map(short)
}

fn short(s: &str) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", one.get(..i).unwrap_or_default()),
        None if one.is_empty() => "(empty body)".into(),
        None => one,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testserver::read_request;
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A loopback server answering each connection with the next canned (status, body),
    /// recording request heads and bodies.
    async fn serve(answers: Vec<(u16, String)>) -> (Url, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!(
            "http://{}/legacy/",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut s, _) = listener.accept().await.unwrap();
                let req = read_request(&mut s).await.expect("a whole request");
                log.lock().unwrap().push(req.text());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(reply.as_bytes()).await.unwrap();
                let _ = s.shutdown().await;
            }
        });
        (url, seen)
    }

    const JWT: &str = "eyJhbGciOiJub25lIn0.eyJyZXBvc2l0b3J5IjoibyJ9.c2lnbmF0dXJl";

    #[tokio::test]
    async fn audience_then_mint_on_the_upload_host() {
        let (url, seen) = serve(vec![
            (200, r#"{"audience": "pypi"}"#.into()),
            (
                200,
                r#"{"success": true, "token": "pypi-minted-abc", "expires": 1900000000}"#.into(),
            ),
        ])
        .await;
        let ex = Exchange::new(&url).unwrap();
        assert_eq!(ex.audience().await.unwrap(), "pypi");
        let m = ex.mint(&Secret::new(JWT)).await.unwrap();
        assert_eq!(m.token.expose(), "pypi-minted-abc");
        assert_eq!(m.expires, 1_900_000_000);
        let reqs = seen.lock().unwrap().clone();
        assert!(
            reqs[0].starts_with("GET /_/oidc/audience HTTP/1.1"),
            "{}",
            reqs[0]
        );
        assert!(
            reqs[1].starts_with("POST /_/oidc/mint-token HTTP/1.1"),
            "{}",
            reqs[1]
        );
        let body = reqs[1].split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v, serde_json::json!({ "token": JWT }));
        assert!(!reqs
            .iter()
            .any(|r| r.to_ascii_lowercase().contains("authorization")));
    }

    #[tokio::test]
    async fn missing_expires_means_fifteen_minutes() {
        let (url, _) = serve(vec![(
            200,
            r#"{"success": true, "token": "pypi-x"}"#.into(),
        )])
        .await;
        let m = Exchange::new(&url)
            .unwrap()
            .mint(&Secret::new(JWT))
            .await
            .unwrap();
        let left = m.expires - now();
        assert!((DEFAULT_LIFETIME_SECS - 5..=DEFAULT_LIFETIME_SECS).contains(&left));
    }

    #[tokio::test]
    async fn refusal_carries_codes_without_the_id_token() {
        let body = format!(
            r#"{{"message": "Token request failed", "errors": [{{"code": "invalid-payload", "description": "1 validation error: input_value='{JWT}'"}}, {{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}}]}}"#
        );
        let (url, _) = serve(vec![(422, body)]).await;
        let err = Exchange::new(&url)
            .unwrap()
            .mint(&Secret::new(JWT))
            .await
            .unwrap_err();
        match &err {
            ExchangeError::Refused {
                status,
                message,
                errors,
            } => {
                assert_eq!(*status, 422);
                assert_eq!(message, "Token request failed");
                assert_eq!(errors.len(), 2);
                assert_eq!(errors[0].code, "invalid-payload");
                assert!(!errors[0].description.contains(JWT));
                assert_eq!(errors[1].code, "invalid-publisher");
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{err:?}").contains(JWT));
    }

    #[tokio::test]
    async fn audience_errors_say_what_the_index_meant() {
        let (url, _) = serve(vec![
            (
                403,
                r#"{"message": "Trusted publishing functionality not enabled"}"#.into(),
            ),
            (404, "<html>Not Found</html>".into()),
            (503, "down".into()),
        ])
        .await;
        let ex = Exchange::new(&url).unwrap();
        let e = ex.audience().await.unwrap_err();
        assert!(matches!(e, ExchangeError::Disabled { .. }), "{e}");
        assert!(e.to_string().contains("not enabled"), "{e}");
        let e = ex.audience().await.unwrap_err();
        assert!(matches!(e, ExchangeError::Unsupported { .. }), "{e}");
        let e = ex.audience().await.unwrap_err();
        assert!(
            matches!(e, ExchangeError::Unexpected { status: 503, .. }),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_index_is_named_with_the_cause() {
        // A port nothing listens on any more.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let url = Url::parse(&format!("http://{addr}/legacy/")).unwrap();
        let err = Exchange::new(&url).unwrap().audience().await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ExchangeError::Transport { .. }), "{err:?}");
        assert!(
            text.starts_with(&format!(
                "could not reach `http://{addr}/_/oidc/audience`: "
            )),
            "{text}"
        );
        // The cause (connection refused) is there, not only reqwest's outer line.
        let detail = text.split("`: ").nth(1).unwrap();
        assert!(detail.matches(": ").count() >= 2, "{text}");
    }

    #[test]
    fn only_https_or_loopback_and_same_origin() {
        let ex = Exchange::new(&Url::parse("https://upload.pypi.org/legacy/").unwrap()).unwrap();
        assert_eq!(
            ex.audience_url().as_str(),
            "https://upload.pypi.org/_/oidc/audience"
        );
        assert_eq!(
            ex.mint_url.as_str(),
            "https://upload.pypi.org/_/oidc/mint-token"
        );
        let ex = Exchange::new(&Url::parse("https://test.pypi.org/legacy/").unwrap()).unwrap();
        assert_eq!(
            ex.mint_url.as_str(),
            "https://test.pypi.org/_/oidc/mint-token"
        );
        let ex = Exchange::new(&Url::parse("http://127.0.0.1:8080/").unwrap()).unwrap();
        assert_eq!(
            ex.mint_url.as_str(),
            "http://127.0.0.1:8080/_/oidc/mint-token"
        );
        for bad in ["http://upload.pypi.org/legacy/", "ftp://127.0.0.1/"] {
            assert!(matches!(
                Exchange::new(&Url::parse(bad).unwrap()),
                Err(ExchangeError::InsecureUrl { .. })
            ));
        }
    }
}
