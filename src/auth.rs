//! Who we are to the index: the token input, or trusted publishing — a short-lived API token
//! minted from the job's GitHub ID token, re-minted before it expires.
//!
//! The choice is made before any file is read (a missing permission is a configuration
//! error); the exchange itself happens just before the first upload. Both tokens are masked
//! the moment they exist, and a refused exchange is explained from the ID token's claims
//! (decoded, never printed) with the fix for each error code the index returns.

use std::fmt::Write as _;

use url::Url;

use crate::gha::oidc::{Claims, IdTokenError, IdTokenRequest};
use crate::gha::Runtime;
use crate::index::oidc::{now, Exchange, ExchangeError, MintFailure, Minted};
use crate::index::Credentials;

/// Re-mint when the current token has less than this left: a slow upload must not outlive it.
pub const REMINT_MARGIN_SECS: u64 = 5 * 60;

const TROUBLESHOOTING: &str = "https://docs.pypi.org/trusted-publishers/troubleshooting/";

/// The `trusted-publishing` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustedPublishing {
    /// Use it when no token input is given and the job can mint an ID token.
    #[default]
    Auto,
    /// Always use it (a token input is ignored); fail if the job cannot mint an ID token.
    Always,
    /// Never use it: a token input is required.
    Never,
}

impl TrustedPublishing {
    /// Each setting by the name the `trusted-publishing` input takes.
    pub const NAMES: [(&'static str, TrustedPublishing); 3] = [
        ("auto", TrustedPublishing::Auto),
        ("always", TrustedPublishing::Always),
        ("never", TrustedPublishing::Never),
    ];
}

/// The index being published to, as the messages name it.
#[derive(Debug, Clone, Copy)]
pub struct IndexNames {
    /// `PyPI`, `TestPyPI`.
    pub label: &'static str,
    /// The token input for it (`pypi-token`).
    pub input: &'static str,
    /// The index's web site, for the link that pre-fills the publisher form.
    pub web: &'static str,
}

/// How this run authenticates.
#[derive(Debug, Clone)]
pub enum Method {
    /// The token input, with its user name (`__token__`, or a private index's user).
    Token(Credentials),
    TrustedPublishing(IdTokenRequest),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("`trusted-publishing: always` but this job cannot mint an OpenID Connect ID token for {label} (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set). Grant it to the publishing job:\n  permissions:\n    id-token: write\n{fork}Or set `trusted-publishing: auto` with a `{input}` token input.")]
    NoIdToken {
        label: &'static str,
        input: &'static str,
        fork: &'static str,
    },
    #[error("trusted publishing to {label} failed: {source}")]
    IdToken {
        label: &'static str,
        source: IdTokenError,
    },
    #[error("trusted publishing to {label} failed: {source}")]
    Exchange {
        label: &'static str,
        source: ExchangeError,
    },
    #[error("{}", .0.render())]
    Refused(Box<Refusal>),
}

const FORK_NOTE: &str = "This run is a pull request from a fork: GitHub never gives those an ID token (nor secrets), so publish from a push or tag in the repository itself.\n";

/// Decide how to authenticate. `Ok(None)`: no token and no trusted publishing — the caller
/// reports the missing token input.
pub fn choose(
    mode: TrustedPublishing,
    token: Option<&Credentials>,
    id_token: Option<&IdTokenRequest>,
    names: IndexNames,
    fork_pull_request: bool,
) -> Result<Option<Method>, AuthError> {
    match (mode, token, id_token) {
        (TrustedPublishing::Always, _, Some(req)) => {
            Ok(Some(Method::TrustedPublishing(req.clone())))
        }
        (TrustedPublishing::Always, _, None) => Err(AuthError::NoIdToken {
            label: names.label,
            input: names.input,
            fork: if fork_pull_request { FORK_NOTE } else { "" },
        }),
        (_, Some(t), _) => Ok(Some(Method::Token(t.clone()))),
        (TrustedPublishing::Auto, None, Some(req)) => {
            Ok(Some(Method::TrustedPublishing(req.clone())))
        }
        (TrustedPublishing::Auto | TrustedPublishing::Never, None, _) => Ok(None),
    }
}

/// The credentials of one publish run; for trusted publishing it mints on first use and
/// again whenever the token is about to expire.
pub struct Session<'a> {
    rt: &'a Runtime,
    names: IndexNames,
    project: Option<String>,
    state: State,
}

enum State {
    Token {
        credentials: Credentials,
        issued: bool,
    },
    Trusted {
        request: IdTokenRequest,
        exchange: Box<Exchange>,
        audience: Option<String>,
        minted: Option<Minted>,
    },
}

impl<'a> Session<'a> {
    /// `project` names the project in the publisher-form link when an exchange is refused.
    pub fn new(
        rt: &'a Runtime,
        method: Method,
        upload_url: &Url,
        names: IndexNames,
        project: Option<String>,
    ) -> Result<Session<'a>, AuthError> {
        let state = match method {
            Method::Token(credentials) => State::Token {
                credentials,
                issued: false,
            },
            Method::TrustedPublishing(request) => State::Trusted {
                request,
                exchange: Box::new(Exchange::new(upload_url).map_err(|source| {
                    AuthError::Exchange {
                        label: names.label,
                        source,
                    }
                })?),
                audience: None,
                minted: None,
            },
        };
        Ok(Session {
            rt,
            names,
            project,
            state,
        })
    }

    pub fn is_trusted_publishing(&self) -> bool {
        matches!(self.state, State::Trusted { .. })
    }

    /// The job's ID-token endpoint, when publishing by trusted publishing (attestations
    /// need ID tokens of their own, for Sigstore).
    pub fn id_token_request(&self) -> Option<&IdTokenRequest> {
        match &self.state {
            State::Trusted { request, .. } => Some(request),
            State::Token { .. } => None,
        }
    }

    /// Credentials good for at least [`REMINT_MARGIN_SECS`], and whether they differ from
    /// the last ones handed out (the caller then rebuilds its uploader).
    pub async fn credentials(&mut self) -> Result<(Credentials, bool), AuthError> {
        let (rt, names) = (self.rt, self.names);
        match &mut self.state {
            State::Token {
                credentials,
                issued,
            } => {
                let fresh = !*issued;
                *issued = true;
                Ok((credentials.clone(), fresh))
            }
            State::Trusted {
                request,
                exchange,
                audience,
                minted,
            } => {
                if let Some(m) = minted.as_ref() {
                    if m.expires > now() + REMINT_MARGIN_SECS {
                        return Ok((Credentials::token(m.token.clone()), false));
                    }
                    rt.info(&format!(
                        "trusted publishing: the {} token expires in {} s; minting a new one",
                        names.label,
                        m.expires.saturating_sub(now())
                    ));
                }
                let aud =
                    match audience.as_ref() {
                        Some(a) => a.clone(),
                        None => {
                            let a = exchange.audience().await.map_err(|source| {
                                AuthError::Exchange {
                                    label: names.label,
                                    source,
                                }
                            })?;
                            rt.info(&format!(
                                "trusted publishing: {} expects ID tokens for audience `{a}`",
                                exchange.audience_url()
                            ));
                            *audience = Some(a.clone());
                            a
                        }
                    };
                let id_token = request
                    .fetch(&aud)
                    .await
                    .map_err(|source| AuthError::IdToken {
                        label: names.label,
                        source,
                    })?;
                rt.mask(&id_token);
                match exchange.mint(&id_token).await {
                    Ok(m) => {
                        rt.mask(&m.token);
                        rt.info(&format!(
                            "trusted publishing: minted a short-lived API token for {} (valid for {} min)",
                            names.label,
                            m.expires.saturating_sub(now()) / 60
                        ));
                        let creds = Credentials::token(m.token.clone());
                        *minted = Some(m);
                        Ok((creds, true))
                    }
                    Err(ExchangeError::Refused {
                        status,
                        message,
                        errors,
                    }) => Err(AuthError::Refused(Box::new(Refusal {
                        label: names.label,
                        web: names.web,
                        status,
                        message,
                        errors,
                        claims: Claims::decode(&id_token),
                        project: self.project.clone(),
                    }))),
                    Err(source) => Err(AuthError::Exchange {
                        label: names.label,
                        source,
                    }),
                }
            }
        }
    }
}

/// A refused exchange with what is needed to explain it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub label: &'static str,
    pub web: &'static str,
    pub status: u16,
    pub message: String,
    pub errors: Vec<MintFailure>,
    pub claims: Option<Claims>,
    pub project: Option<String>,
}

impl Refusal {
    /// The reasons, each with its likely fix, the claims the index saw, and the link that
    /// pre-fills the publisher form.
    pub fn render(&self) -> String {
        let label = self.label;
        let mut out = format!(
            "trusted publishing to {label} failed: the index refused the token exchange (HTTP {}: {})",
            self.status, self.message
        );
        let claims = self.claims.clone().unwrap_or_default();
        for e in &self.errors {
            let _ = write!(
                out,
                "\n* `{}`: {}\n  Fix: {}",
                e.code,
                e.description,
                fix(&e.code, &claims, label)
            );
        }
        if self.errors.is_empty() {
            let _ = write!(out, "\n  Fix: see {TROUBLESHOOTING}");
        }
        if claims.is_reusable_workflow() {
            let _ = write!(
                out,
                "\nThis job runs in a reusable workflow: {label} matches the publisher against `job_workflow_ref` ({}), not the calling workflow ({}). Configure the publisher with that workflow file (it must live in this repository), or publish from the top-level workflow.",
                show(&claims.job_workflow_ref),
                show(&claims.workflow_ref)
            );
        }
        match &self.claims {
            Some(c) => {
                let _ = write!(
                    out,
                    "\nThe ID token's claims (compare them with the publisher on {label}; do not configure a publisher from them unless they are what you expect):\n  repository: {}\n  workflow_ref: {}\n  job_workflow_ref: {}\n  ref: {}\n  environment: {}",
                    show(&c.repository),
                    show(&c.workflow_ref),
                    show(&c.job_workflow_ref),
                    show(&c.git_ref),
                    show(&c.environment)
                );
            }
            None => out.push_str("\nThe ID token's claims could not be decoded."),
        }
        if let Some(link) = self.publisher_link() {
            let _ = write!(
                out,
                "\nAdd or check the publisher (pre-filled form, as a project owner): {link}"
            );
            let _ = write!(
                out,
                "\nFor a project that does not exist on {label} yet, add a pending publisher with the same values at https://{}/manage/account/publishing/",
                self.web
            );
        }
        let _ = write!(out, "\nMore: {TROUBLESHOOTING}");
        out
    }

    /// `https://pypi.org/manage/project/<name>/settings/publishing/?provider=github&owner=
    /// ...&repository=...&workflow_filename=...&environment=...` — warehouse fills the GitHub
    /// form's fields of the same names from the query (the project page is the one that
    /// takes them, as `gh-action-pypi-publish` links it).
    pub fn publisher_link(&self) -> Option<String> {
        let c = self.claims.as_ref()?;
        let project = self.project.as_deref()?;
        let (owner, repo) = c.repository.as_deref()?.split_once('/')?;
        let workflow = c.workflow_filename()?;
        let mut url = Url::parse(&format!("https://{}/", self.web)).ok()?;
        url.path_segments_mut().ok()?.pop_if_empty().extend([
            "manage",
            "project",
            project,
            "settings",
            "publishing",
            "",
        ]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("provider", "github")
                .append_pair("owner", owner)
                .append_pair("repository", repo)
                .append_pair("workflow_filename", workflow);
            if let Some(env) = c.environment.as_deref().filter(|e| !e.is_empty()) {
                q.append_pair("environment", env);
            }
        }
        Some(url.to_string())
    }
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().filter(|s| !s.is_empty()).unwrap_or("MISSING")
}

/// The likely fix for one of warehouse's error codes.
fn fix(code: &str, claims: &Claims, label: &str) -> String {
    match code {
        "invalid-publisher" => {
            let mut s = format!(
                "no trusted publisher on {label} matches this job. The project's GitHub publisher must name exactly this owner, repository, workflow file ({}) and environment ({}); renaming or transferring the repository or renaming the workflow file breaks it. TestPyPI and PyPI are configured separately.",
                claims.workflow_filename().unwrap_or("MISSING"),
                show(&claims.environment)
            );
            if claims.environment.as_deref().is_none_or(str::is_empty) {
                s.push_str(" This job has no `environment:`; if the publisher names one, add it to the job.");
            }
            s
        }
        "invalid-pending-publisher" => format!(
            "the project already exists on {label}, so a pending publisher no longer applies: add the publisher in the project's own publishing settings (link below)"
        ),
        "invalid-reuse-token" => "the index has already seen this ID token; re-run the job (every exchange fetches a fresh one)".into(),
        "invalid-token" => format!(
            "the index could not verify the ID token (expired, wrong audience, or not issued by GitHub); re-run the job, and check that the upload URL is {label}'s"
        ),
        "invalid-payload" => "the index could not read the ID token or does not trust its issuer (GitHub Enterprise Server and custom issuers need extra setup on the index); use a token input instead".into(),
        "not-enabled" => format!(
            "trusted publishing is switched off on {label} at the moment; use a token input until it is back"
        ),
        _ => format!("see {TROUBLESHOOTING}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::collections::BTreeMap;

    const PYPI: IndexNames = IndexNames {
        label: "PyPI",
        input: "pypi-token",
        web: "pypi.org",
    };

    fn request() -> IdTokenRequest {
        let env: BTreeMap<String, String> = [
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".to_string(),
                "https://x/?api-version=2.0".to_string(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(),
                "t".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        IdTokenRequest::from_env(&env).unwrap()
    }

    #[test]
    fn choice_table() {
        use TrustedPublishing::*;
        let tok = Credentials::token(Secret::new("pypi-abc"));
        let req = request();
        let is_token =
            |r: Result<Option<Method>, AuthError>| matches!(r, Ok(Some(Method::Token(_))));
        let is_tp = |r: Result<Option<Method>, AuthError>| {
            matches!(r, Ok(Some(Method::TrustedPublishing(_))))
        };
        assert!(is_token(choose(Auto, Some(&tok), Some(&req), PYPI, false)));
        assert!(is_tp(choose(Auto, None, Some(&req), PYPI, false)));
        assert!(matches!(choose(Auto, None, None, PYPI, false), Ok(None)));
        assert!(is_token(choose(Never, Some(&tok), Some(&req), PYPI, false)));
        assert!(matches!(
            choose(Never, None, Some(&req), PYPI, false),
            Ok(None)
        ));
        assert!(is_tp(choose(Always, Some(&tok), Some(&req), PYPI, false)));
        let err = choose(Always, None, None, PYPI, true).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("id-token: write"), "{text}");
        assert!(text.contains("fork"), "{text}");
        let text = choose(Always, None, None, PYPI, false)
            .unwrap_err()
            .to_string();
        assert!(!text.contains("fork"), "{text}");
    }

    fn claims(env: Option<&str>, job: &str) -> Claims {
        Claims {
            repository: Some("octo-org/improved-sdd".into()),
            workflow_ref: Some(
                "octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v1.0.0".into(),
            ),
            job_workflow_ref: Some(job.into()),
            git_ref: Some("refs/tags/v1.0.0".into()),
            environment: env.map(str::to_owned),
            ..Claims::default()
        }
    }

    fn refusal(code: &str, c: Option<Claims>) -> Refusal {
        Refusal {
            label: "PyPI",
            web: "pypi.org",
            status: 422,
            message: "Token request failed".into(),
            errors: vec![MintFailure {
                code: code.into(),
                description: "some description".into(),
            }],
            claims: c,
            project: Some("improved-sdd".into()),
        }
    }

    const SAME: &str = "octo-org/improved-sdd/.github/workflows/publish.yml@refs/tags/v1.0.0";

    #[test]
    fn link_prefills_the_project_publisher_form() {
        let r = refusal("invalid-publisher", Some(claims(Some("pypi"), SAME)));
        assert_eq!(
            r.publisher_link().unwrap(),
            "https://pypi.org/manage/project/improved-sdd/settings/publishing/?provider=github&owner=octo-org&repository=improved-sdd&workflow_filename=publish.yml&environment=pypi"
        );
        let r = refusal("invalid-publisher", Some(claims(None, SAME)));
        assert!(!r.publisher_link().unwrap().contains("environment"));
        assert_eq!(refusal("invalid-publisher", None).publisher_link(), None);
    }

    #[test]
    fn each_code_has_its_fix() {
        for (code, needle) in [
            ("invalid-publisher", "no trusted publisher on PyPI matches"),
            ("invalid-pending-publisher", "already exists on PyPI"),
            ("invalid-reuse-token", "already seen this ID token"),
            ("invalid-token", "could not verify the ID token"),
            ("invalid-payload", "does not trust its issuer"),
            ("not-enabled", "switched off on PyPI"),
            ("something-new", TROUBLESHOOTING),
        ] {
            let text = refusal(code, Some(claims(Some("pypi"), SAME))).render();
            assert!(
                text.contains(&format!("* `{code}`: some description")),
                "{text}"
            );
            assert!(text.contains(needle), "{code}: {text}");
            assert!(text.contains("repository: octo-org/improved-sdd"), "{text}");
            assert!(text.contains("environment: pypi"), "{text}");
            assert!(text.contains("?provider=github&owner=octo-org"), "{text}");
            assert!(!text.contains("reusable workflow"), "{text}");
        }
    }

    #[test]
    fn reusable_workflow_and_missing_environment_are_explained() {
        let text = refusal(
            "invalid-publisher",
            Some(claims(
                None,
                "octo-org/improved-sdd/.github/workflows/pypi.yml@refs/tags/v1.0.0",
            )),
        )
        .render();
        assert!(text.contains("reusable workflow"), "{text}");
        assert!(text.contains("environment: MISSING"), "{text}");
        assert!(text.contains("has no `environment:`"), "{text}");
        assert!(text.contains("workflow_filename=pypi.yml"), "{text}");
    }
}
