//! Stage: upload the distributions to the target index through the index engine
//! (hash-aware skip, retries, as many at once as pay), wheels before the sdist (discovery already
//! orders them so; PyPI takes the release's metadata from the first file). One log line per
//! file: size, speed, result.
//!
//! In two calls, so `pipeline` can put the attest stage between them: [`connect`] (who we are
//! to the index, trusted publishing's first token, what the index has) and [`run`] (the
//! uploads, each file with its attestation when it has one).

use std::collections::HashMap;
use std::sync::Arc;

use super::{RunError, StageError};
use crate::auth::{self, Session};
use crate::config::{IndexTarget, Settings};
use crate::dist::Distribution;
use crate::gha::oidc::IdTokenRequest;
use crate::gha::{Context, Runtime};
use crate::index::{self as idx, Credentials, IndexQuery, Uploader};

/// How the run will authenticate to the target, chosen before any file is read: a missing
/// token is known without reading a byte.
pub(crate) struct Endpoint<'s> {
    pub target: &'s IndexTarget,
    /// `None`: a dry run without credentials, which asks the index anonymously.
    pub method: Option<auth::Method>,
}

impl Endpoint<'_> {
    /// How the upload authenticates, for the summary (never the credential itself).
    pub(crate) fn auth_description(&self) -> String {
        let names = &self.target.names;
        let Some(method) = &self.method else {
            return format!(
                "none (dry run: the index was asked anonymously; a real run needs `{}` or trusted publishing)",
                names.token_input
            );
        };
        match method {
            auth::Method::Token(c) if self.target.has_user() => format!(
                "user `{}` with the password in `{}` (`{}` input)",
                c.username, names.token_input, names.username_input
            ),
            auth::Method::Token(_) => {
                format!("API token (`{}` input)", names.token_input)
            }
            auth::Method::TrustedPublishing(_) => {
                "trusted publishing (a short-lived token minted by OIDC for this run)".into()
            }
        }
    }
}

/// The token input, else trusted publishing when the job can mint an ID token (see
/// [`auth::choose`]).
pub(crate) fn endpoint<'s>(
    ctx: &Context,
    settings: &Settings,
    target: &'s IndexTarget,
    rt: &Runtime,
) -> Result<Endpoint<'s>, RunError> {
    if let Some(var) = target.url_from_env {
        rt.info(&format!(
            "upload URL {} (from {var}; the `{}` input is empty)",
            target.upload_url, target.names.url_input
        ));
    }
    match auth::choose(
        settings.trusted_publishing,
        target.credentials().as_ref(),
        ctx.id_token.as_ref(),
        target.auth_names(),
        fork_pull_request(ctx),
    )? {
        Some(method) => Ok(Endpoint {
            target,
            method: Some(method),
        }),
        // A rehearsal needs no credentials (in a workflow it often runs outside the
        // environment that holds them): it only asks the index what it has.
        None if settings.dry_run => {
            rt.notice(&format!(
                "dry run: no `{}` and no ID token (`id-token: write`) for {}; asking the index anonymously. A real run needs one of them",
                target.names.token_input, target.names.label
            ));
            Ok(Endpoint {
                target,
                method: None,
            })
        }
        None => Err(StageError::MissingToken {
            label: target.names.label,
            input: target.names.token_input,
            secret: target.names.secret,
        }
        .into()),
    }
}

/// A pull request whose head lives in another repository: GitHub gives it no ID token.
fn fork_pull_request(ctx: &Context) -> bool {
    ctx.event_name.starts_with("pull_request")
        && ctx
            .event
            .pointer("/pull_request/head/repo/full_name")
            .and_then(|v| v.as_str())
            .is_some_and(|head| !head.eq_ignore_ascii_case(&ctx.repository))
}

/// The target, ready to take files: who we are to it (trusted publishing's token exchange
/// done), the uploader, and the query that asks what it already has.
pub(crate) struct Connection<'s> {
    target: &'s IndexTarget,
    /// `None`: a dry run without credentials.
    session: Option<Session<'s>>,
    uploader: Uploader,
    query: IndexQuery,
    /// How long asking the index may take (see `Tuning::query_budget`).
    query_budget: std::time::Duration,
}

impl Connection<'_> {
    /// The job's ID-token endpoint when publishing by trusted publishing (attestations need
    /// ID tokens of their own).
    pub(crate) fn id_token_request(&self) -> Option<&IdTokenRequest> {
        self.session.as_ref()?.id_token_request()
    }

    /// The files the index does not have yet. When it cannot say, all of them: the upload
    /// asks again and skips what is there.
    pub(crate) async fn lacking<'d>(
        &self,
        dists: &'d [Distribution],
        name: &str,
        version: &str,
    ) -> Vec<&'d Distribution> {
        let by = std::time::Instant::now() + self.query_budget;
        let on_index = self
            .query
            .files_by(name, version, by)
            .await
            .map(|l| l.files)
            .unwrap_or_default();
        dists
            .iter()
            .filter(|d| !on_index.contains_key(&d.filename))
            .collect()
    }
}

/// Authenticate to the target (trusted publishing mints its first token here, so a refused
/// publisher stops the run before any file work) and build the uploader and index query.
pub(crate) async fn connect<'s>(
    dists: &[Distribution],
    endpoint: Endpoint<'s>,
    project: Option<String>,
    settings: &Settings,
    rt: &'s Runtime,
) -> Result<Connection<'s>, RunError> {
    let target = endpoint.target;
    let how = endpoint.auth_description();
    let mut session = match endpoint.method {
        Some(method) => Some(Session::new(
            rt,
            method,
            &target.upload_url,
            target.auth_names(),
            project,
        )?),
        None => None,
    };
    // A dry run contacts no OIDC endpoint: it asks the index anonymously.
    let credentials = match &mut session {
        None => None,
        Some(s) if settings.dry_run && s.is_trusted_publishing() => {
            rt.info("dry run: would mint a short-lived token by trusted publishing (OIDC)");
            None
        }
        Some(s) => Some(s.credentials().await?.0),
    };
    if let Some(c) = &credentials {
        // An index that echoes `Authorization: Basic …` echoes this user with the password.
        rt.mask_user(&c.username);
    }
    let url = &target.upload_url;
    let placeholder = Credentials::token(crate::secret::Secret::new(String::new()));
    let uploader = Uploader::with_timeouts(
        url.clone(),
        credentials.clone().unwrap_or(placeholder),
        settings.tuning.timeouts,
    )
    .map_err(|source| StageError::Upload {
        filename: dists
            .first()
            .map(|d| d.filename.clone())
            .unwrap_or_default(),
        source,
    })?;
    // The upload origin's credentials also read a private simple index on that origin.
    let mut query = IndexQuery::new(target.index_url.clone(), settings.tuning.timeouts.stall)?;
    if let Some(c) = credentials {
        query = query.with_upload_credentials(url, c);
    }
    // Where the files go and as whom, so the log group says what was set up (never the
    // credential itself).
    rt.info(&format!(
        "upload to {url} with {how}; the simple index {} is read {}",
        target.index_url,
        if query.sends_credentials() {
            "with the same credentials (same origin)"
        } else {
            "without credentials"
        }
    ));
    Ok(Connection {
        target,
        session,
        uploader,
        query,
        query_budget: settings.tuning.query_budget,
    })
}

/// What the upload stage leaves behind.
pub(crate) struct Uploads {
    /// One per file, in order, even when the stage failed.
    pub outcomes: Vec<idx::FileOutcome>,
    /// How many files went at once, and why (none when fewer than two were uploaded).
    pub parallelism: Option<String>,
    /// The index query, for verification: the same connection pool, and what it learnt of
    /// the index's dialect.
    pub query: IndexQuery,
}

/// Upload every file, each with its attestation when `attestations` has one (`None`: this run
/// does not attest). `scratch` (the runner's temp dir) takes downloads, never `packages-dir`.
pub(crate) async fn run(
    dists: &[Distribution],
    connection: Connection<'_>,
    attestations: Option<HashMap<String, String>>,
    settings: &Settings,
    scratch: &std::path::Path,
    rt: &Runtime,
) -> (Uploads, Result<(), RunError>) {
    debug_assert!(dists.windows(2).all(|w| w[0].kind <= w[1].kind));
    let Connection {
        target,
        session,
        uploader,
        query,
        ..
    } = connection;
    let trusted = session.as_ref().is_some_and(Session::is_trusted_publishing);
    // `None`: not attesting; the names: files whose attestation was made (and saved).
    let attested: Option<Vec<String>> = attestations.as_ref().map(|a| a.keys().cloned().collect());
    let uploader = uploader.with_attestations(attestations.unwrap_or_default());
    // Trusted publishing: before each upload attempt, a token near its expiry is re-minted
    // and handed to the uploader (uploads run in parallel, so the session is shared).
    let session = tokio::sync::Mutex::new(session);
    let refresh = || -> idx::RefreshFuture<'_> {
        Box::pin(async {
            let mut s = session.lock().await;
            let Some(s) = s.as_mut() else {
                return Ok(None);
            };
            s.credentials()
                .await
                .map(|(c, fresh)| fresh.then_some(c))
                .map_err(|e| e.to_string())
        })
    };
    let refresh: Option<&idx::Refresh<'_>> = (trusted && !settings.dry_run).then_some(&refresh);
    let opts = idx::PublishOptions {
        skip_existing: settings.skip_existing,
        max_parallel: settings.max_parallel,
        dry_run: settings.dry_run,
        retry: settings.tuning.retry,
        // TestPyPI: a version pushed again with other contents is skipped with a warning.
        skip_conflicts: target.names == crate::config::TESTPYPI,
        query_budget: settings.tuning.query_budget,
        scratch: scratch.to_path_buf(),
    };
    let bars = crate::progress::Bars::new(!rt.is_actions());
    let parallelism = std::sync::Mutex::new(None);
    let on = |e: idx::Event<'_>| {
        match &e {
            idx::Event::Parallelism(s) => {
                *parallelism.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.to_string())
            }
            idx::Event::Starting {
                filename,
                size,
                progress,
            } => bars.start(filename, *size, Arc::clone(progress)),
            idx::Event::Done(o) => bars.finish(&o.filename, status_word(&o.status)),
            _ => {}
        }
        bars.suspend(|| {
            log_event(rt, target, &e);
            if let (Some(made), idx::Event::Done(o)) = (&attested, &e) {
                attestation_not_sent(rt, o, made.contains(&o.filename));
            }
        });
    };
    let (outcomes, result) = idx::publish_with(dists, &uploader, &query, &opts, &on, refresh).await;
    let uploads = Uploads {
        outcomes,
        parallelism: parallelism.into_inner().unwrap_or_else(|e| e.into_inner()),
        query,
    };
    (uploads, result.map_err(|e| refused(e, target).into()))
}

/// A private index's refusal of a user's password names that user and both inputs; an API
/// token's refusal keeps the index engine's message.
fn refused(e: idx::PublishError, target: &IndexTarget) -> StageError {
    match e {
        idx::PublishError::Upload {
            source: idx::UploadError::Auth { status, message },
            ..
        } if target.has_user() => StageError::PasswordRefused {
            url: target.upload_url.to_string(),
            label: target.names.label,
            username: target.username.clone(),
            status,
            message,
            username_input: target.names.username_input,
            token_input: target.names.token_input,
        },
        e => StageError::Publish(Box::new(e)),
    }
}

/// An index takes a file's attestations with its first upload only: a file skipped as
/// already there goes without.
fn attestation_not_sent(rt: &Runtime, o: &idx::FileOutcome, made: bool) {
    if o.status == idx::Status::IdenticalSkipped {
        rt.warning(&format!(
            "{}: already on the index, so its PEP 740 attestation could not be added (an index takes attestations only with a file's first upload){}",
            o.filename,
            if made { "; the one made is saved beside the file" } else { "" }
        ));
    }
}

/// A file's result in a few words, as the terminal and the progress bars show it.
pub(crate) fn status_word(s: &idx::Status) -> &'static str {
    match s {
        idx::Status::Uploaded => "uploaded",
        idx::Status::IdenticalSkipped => "identical, skipped",
        idx::Status::WouldUpload => "would upload",
        idx::Status::ConflictSkipped(_) => "other contents there, skipped",
        idx::Status::Failed(_) => "FAILED",
        idx::Status::NotAttempted => "not attempted",
    }
}

/// The warning for a file skipped because the index holds other contents under its name.
pub(crate) fn conflict_warning(why: &str, label: &str) -> String {
    format!(
        "{why} Skipped on {label}; the other files go on. {label} never replaces a file: turn on `dev-version` (with `build`) so every push publishes a unique X.Y.Z.devN, or bump the version"
    )
}

fn log_event(rt: &Runtime, target: &IndexTarget, e: &idx::Event<'_>) {
    let url = &target.upload_url;
    use crate::units::human_size;
    match e {
        idx::Event::Checked {
            dialect,
            url: page,
            found,
            took,
        } => rt.info(&format!(
            "asked the index what it has ({page}, {}, {:.3} s): {found} of these files already there",
            serde_json::to_value(dialect)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            took.as_secs_f64()
        )),
        idx::Event::QueryRetrying { delay, reason } => rt.warning(&format!(
            "asking the index again in {:.1}s: {reason}",
            delay.as_secs_f32()
        )),
        idx::Event::Starting { .. } => {}
        idx::Event::Concurrency(d) => rt.info(&format!("parallel uploads {d}")),
        idx::Event::Parallelism(s) => rt.info(&format!("parallel uploads: {s}")),
        idx::Event::Retrying {
            filename,
            attempt,
            attempts,
            delay,
            reason,
            retry_after,
        } => rt.warning(&format!(
            "retrying {filename} in {:.1}s{} (attempt {attempt} of {attempts} failed): {reason}",
            delay.as_secs_f32(),
            if *retry_after {
                ", as the index's Retry-After asks"
            } else {
                ""
            }
        )),
        idx::Event::Landed { filename, after } => rt.info(&format!(
            "{filename}: the index has it now with our sha256 (an earlier attempt landed); the failed attempt said: {after}"
        )),
        idx::Event::Done(o) => {
            let sha = o.sha256.as_deref().unwrap_or("-");
            let line = match &o.status {
                idx::Status::Uploaded => {
                    let secs = o.elapsed.map_or(0.0, |d| d.as_secs_f64()).max(1e-3);
                    format!(
                        "uploaded {} ({} in {secs:.1}s, {}/s, {} attempt(s), sha256 {sha})",
                        o.filename,
                        human_size(o.size),
                        human_size((o.size as f64 / secs) as u64),
                        o.attempts
                    )
                }
                idx::Status::IdenticalSkipped => match &o.note {
                    None => format!(
                        "skipped {} ({}): already on the index, identical (sha256 {sha})",
                        o.filename,
                        human_size(o.size)
                    ),
                    Some(note) => format!(
                        "skipped {} ({}): already on the index (sha256 {sha}); {note}",
                        o.filename,
                        human_size(o.size)
                    ),
                },
                idx::Status::WouldUpload => {
                    format!("would upload {} to {url} (sha256 {sha})", o.filename)
                }
                idx::Status::ConflictSkipped(why) => {
                    rt.warning(&conflict_warning(why, target.names.label));
                    return;
                }
                idx::Status::Failed(m) => format!("FAILED {}: {m}", o.filename),
                idx::Status::NotAttempted => format!("not attempted: {}", o.filename),
            };
            rt.info(&line);
        }
    }
}
