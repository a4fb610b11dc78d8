//! The upload engine: hash-aware idempotency, retries, bounded parallelism.
//!
//! 1. Digest every file, then ask the index once what it has for the project. Every
//!    conflict is found before the first byte goes out: same name and sha256 → skip
//!    (unless `skip_existing` is off), same name and other bytes → a hard error naming
//!    both hashes, and nothing is uploaded.
//! 2. Upload the first file (in the given order: wheels before the sdist) alone — PyPI takes
//!    the release's metadata from the first upload — then the rest, `max_parallel` at a time.
//! 3. Each upload retries transport errors, stalls, 5xx and 429 (honouring `Retry-After`)
//!    with exponential backoff and jitter, bounded in attempts and total time. After any
//!    failed attempt the index is asked again: a retried or parallel upload may have landed.

use super::upload::Credentials;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::Retryable;
use futures_util::StreamExt;

use super::query::{Dialect, IndexQuery, Listing, QueryError};
use super::upload::{digest_file, FileDigests, Progress, Timeouts, UploadError, Uploader};
use crate::dist::Distribution;
use crate::retry::{within, RetryPolicy};

/// Retry and timeout settings. Not inputs: the defaults suit real indexes; hidden
/// `SDD_PUBLISH_*` variables shorten them so fault-injection tests run in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// How often verification asks the index whether it serves the files yet.
    pub verify_interval: Duration,
    /// How long asking the index what it has may take before the upload, retries included:
    /// every request's timeout ends by then.
    pub query_budget: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            verify_interval: Duration::from_secs(2),
            query_budget: QUERY_BUDGET,
        }
    }
}

/// The default [`Tuning::query_budget`]: PyPI lists even its largest projects in seconds.
pub const QUERY_BUDGET: Duration = Duration::from_secs(60);

/// How long the listing after the uploads may take: it only adds the files' URLs to the
/// report (verification asks again, on its own budget).
const AFTER_UPLOAD_BUDGET: Duration = Duration::from_secs(5);

/// A published copy fetched to compare contents may be this much bigger than the local file
/// (another compression level), plus [`COPY_SLACK`]; more is not the same distribution.
const COPY_MARGIN_PERCENT: u64 = 50;
const COPY_SLACK: u64 = 1024 * 1024;

/// A hidden tuning variable set to something that is not a count or a duration. Ignoring it
/// would run with the defaults while the test that set it believes otherwise.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{var} is `{value}`, expected {expected}. It is a hidden knob for tests: fix it or unset it"
)]
pub struct TuningError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Tuning {
    /// `SDD_PUBLISH_RETRY_ATTEMPTS`, `SDD_PUBLISH_RETRY_MIN_DELAY_MS`,
    /// `SDD_PUBLISH_RETRY_MAX_DELAY_MS`, `SDD_PUBLISH_RETRY_TOTAL_MS`,
    /// `SDD_PUBLISH_STALL_TIMEOUT_MS`, `SDD_PUBLISH_CONNECT_TIMEOUT_MS`,
    /// `SDD_PUBLISH_VERIFY_INTERVAL_MS`, `SDD_PUBLISH_QUERY_BUDGET_MS`; absent or empty
    /// values keep the default, anything else must be a whole number (at least 1 for counts,
    /// timeouts and intervals).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Tuning, TuningError> {
        let num = |var: &'static str, min: u64| -> Result<Option<u64>, TuningError> {
            let Some(v) = get(var).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            match v.trim().parse::<u64>() {
                Ok(n) if n >= min => Ok(Some(n)),
                _ => Err(TuningError {
                    var,
                    value: v,
                    expected: if min == 0 {
                        "a whole number of milliseconds"
                    } else if var.ends_with("_MS") {
                        "a whole number of milliseconds, at least 1"
                    } else {
                        "a whole number, at least 1"
                    },
                }),
            }
        };
        let ms = |var: &'static str, min: u64, d: Duration| -> Result<Duration, TuningError> {
            Ok(num(var, min)?.map_or(d, Duration::from_millis))
        };
        let t = Tuning::default();
        Ok(Tuning {
            retry: RetryPolicy {
                attempts: num("SDD_PUBLISH_RETRY_ATTEMPTS", 1)?
                    .map_or(t.retry.attempts, |n| n.min(100) as usize),
                min_delay: ms("SDD_PUBLISH_RETRY_MIN_DELAY_MS", 0, t.retry.min_delay)?,
                max_delay: ms("SDD_PUBLISH_RETRY_MAX_DELAY_MS", 0, t.retry.max_delay)?,
                total: ms("SDD_PUBLISH_RETRY_TOTAL_MS", 1, t.retry.total)?,
            },
            timeouts: Timeouts {
                connect: ms("SDD_PUBLISH_CONNECT_TIMEOUT_MS", 1, t.timeouts.connect)?,
                stall: ms("SDD_PUBLISH_STALL_TIMEOUT_MS", 1, t.timeouts.stall)?,
            },
            verify_interval: ms("SDD_PUBLISH_VERIFY_INTERVAL_MS", 1, t.verify_interval)?,
            query_budget: ms("SDD_PUBLISH_QUERY_BUDGET_MS", 1, t.query_budget)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// An identical file already on the index is skipped (true) or an error (false).
    pub skip_existing: bool,
    pub max_parallel: usize,
    /// Ask the index, upload nothing.
    pub dry_run: bool,
    pub retry: RetryPolicy,
    /// See [`Tuning::query_budget`].
    pub query_budget: Duration,
    /// Where a published copy is downloaded to compare contents (`RUNNER_TEMP`): never the
    /// packages dir, which holds what is published.
    pub scratch: PathBuf,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Uploaded,
    /// Already on the index with the same sha256.
    IdenticalSkipped,
    WouldUpload,
    Failed(String),
    NotAttempted,
}

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub filename: String,
    pub size: u64,
    pub sha256: Option<String>,
    /// Where the index serves it, when it said.
    pub url: Option<String>,
    pub status: Status,
    /// Wall time of the upload, all attempts included.
    pub elapsed: Option<Duration>,
    pub attempts: usize,
    /// Why a skip was not a byte-for-byte match (a rebuilt file with the published contents).
    pub note: Option<String>,
}

/// What the engine tells its caller as it goes (the caller decides how it reads).
#[derive(Debug)]
pub enum Event<'a> {
    /// The index was asked; `found` of our files are there.
    Checked {
        dialect: Dialect,
        url: &'a str,
        found: usize,
    },
    Starting {
        filename: &'a str,
        size: u64,
        progress: &'a Arc<Progress>,
    },
    Retrying {
        filename: &'a str,
        /// The attempt that failed (1-based) and the bound.
        attempt: usize,
        attempts: usize,
        delay: Duration,
        reason: String,
        retry_after: bool,
    },
    /// An attempt failed but the index has the file with our sha256 now.
    Landed {
        filename: &'a str,
        after: String,
    },
    QueryRetrying {
        delay: Duration,
        reason: String,
    },
    Done(&'a FileOutcome),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("could not get credentials to upload `{filename}`: {message}")]
    Credentials { filename: String, message: String },
    #[error("cannot read `{}`: {source}; make sure the packages dir is not modified while publishing", path.display())]
    Digest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{source}; nothing was uploaded (the index must be asked first, so a re-run never replaces or duplicates a file)")]
    Query {
        #[source]
        source: QueryError,
    },
    #[error("{} file(s) conflict with what the index already has; nothing was uploaded: {}", .problems.len(), .problems.join(" "))]
    Conflicts { problems: Vec<String> },
    #[error("upload of `{filename}` failed after {attempts} attempt(s): {source}")]
    Upload {
        filename: String,
        attempts: usize,
        #[source]
        source: UploadError,
    },
}

/// Why one existing file stops the run.
pub fn mismatch_message(filename: &str, local: &str, remote: &str) -> String {
    format!(
        "`{filename}` is already on the index with sha256 {remote}, but the local file has sha256 {local}: same name, different bytes. \
         Most likely the distribution was rebuilt for a version that is already published (builds are rarely byte-for-byte reproducible). \
         An index never replaces a file: bump the version and publish again, or publish nothing if the files on the index are the right ones."
    )
}

enum AttemptError {
    Upload(UploadError),
    /// Not worth retrying whatever it is (a conflict appeared on the index).
    Fatal(PublishError),
}

impl AttemptError {
    fn retryable(&self) -> bool {
        matches!(self, AttemptError::Upload(e) if e.is_retryable())
    }
}

/// What a credentials refresh returns: new credentials to use, `None` to keep the current
/// ones, or why they could not be had.
pub type RefreshFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Credentials>, String>> + 'a>>;
/// Called before every upload attempt (trusted publishing re-mints a token near expiry).
pub type Refresh<'a> = dyn Fn() -> RefreshFuture<'a> + Sync + 'a;

/// Publish `dists` (in order; wheels first) to the uploader's index. The outcomes cover every
/// file whatever happens; the error, if any, is the first that stopped the run.
pub async fn publish(
    dists: &[Distribution],
    uploader: &Uploader,
    query: &IndexQuery,
    opts: &PublishOptions,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> (Vec<FileOutcome>, Result<(), PublishError>) {
    publish_with(dists, uploader, query, opts, on, None).await
}

/// [`publish`], asking `refresh` for fresh credentials before every upload attempt.
pub async fn publish_with(
    dists: &[Distribution],
    uploader: &Uploader,
    query: &IndexQuery,
    opts: &PublishOptions,
    on: &(dyn Fn(Event<'_>) + Sync),
    refresh: Option<&Refresh<'_>>,
) -> (Vec<FileOutcome>, Result<(), PublishError>) {
    let mut outcomes: Vec<FileOutcome> = dists
        .iter()
        .map(|d| FileOutcome {
            filename: d.filename.clone(),
            size: d.size,
            sha256: None,
            url: None,
            status: Status::NotAttempted,
            elapsed: None,
            attempts: 0,
            note: None,
        })
        .collect();
    let result = run(dists, uploader, query, opts, on, refresh, &mut outcomes).await;
    (outcomes, result)
}

async fn run(
    dists: &[Distribution],
    uploader: &Uploader,
    query: &IndexQuery,
    opts: &PublishOptions,
    on: &(dyn Fn(Event<'_>) + Sync),
    refresh: Option<&Refresh<'_>>,
    outcomes: &mut [FileOutcome],
) -> Result<(), PublishError> {
    let Some(first) = dists.first() else {
        return Ok(());
    };
    let (project, version) = (&first.metadata.name, &first.metadata.version);

    let mut digests = Vec::with_capacity(dists.len());
    for (d, o) in dists.iter().zip(outcomes.iter_mut()) {
        let g = digest_file(&d.path)
            .await
            .map_err(|source| PublishError::Digest {
                path: d.path.clone(),
                source,
            })?;
        o.sha256 = Some(g.sha256.clone());
        digests.push(g);
    }

    // 1. Every conflict before the first byte goes out.
    let listing = query_with_retries(query, project, version, opts, on)
        .await
        .map_err(|source| PublishError::Query { source })?;
    let found = dists
        .iter()
        .filter(|d| listing.files.contains_key(&d.filename))
        .count();
    on(Event::Checked {
        dialect: listing.dialect,
        url: query.project_url(project).as_str(),
        found,
    });
    let mut problems = Vec::new();
    let mut to_upload = Vec::new();
    for (i, (d, g)) in dists.iter().zip(&digests).enumerate() {
        let Some(existing) = listing.files.get(&d.filename) else {
            to_upload.push(i);
            continue;
        };
        outcomes[i].url = existing.url.clone();
        let problem = match existing.sha256.as_deref() {
            Some(remote) if remote == g.sha256 && opts.skip_existing => {
                outcomes[i].status = Status::IdenticalSkipped;
                on(Event::Done(&outcomes[i]));
                continue;
            }
            Some(remote) if remote == g.sha256 => format!(
                "`{}` is already on the index, identical (sha256 {remote}), and `skip-existing` is false, which makes that an error; set `skip-existing: true` to skip identical files.",
                d.filename
            ),
            // An existing file is an error then, whatever it holds: nothing to compare.
            Some(remote) if !opts.skip_existing => {
                mismatch_message(&d.filename, &g.sha256, remote)
            }
            Some(remote) => {
                // A re-run rebuilds, and builds are rarely byte-for-byte reproducible: when
                // the published file holds the same contents, it is the same release.
                match same_as_published(query, d, existing, remote, opts).await {
                    Ok(size) => {
                        outcomes[i].status = Status::IdenticalSkipped;
                        outcomes[i].sha256 = Some(remote.to_owned());
                        outcomes[i].size = size;
                        outcomes[i].note = Some(format!(
                            "rebuilt: same contents as the published file (only archive metadata such as timestamps differed; local sha256 was {}); {}",
                            g.sha256,
                            if opts.dry_run {
                                "a real run keeps the published bytes"
                            } else {
                                "the published bytes replace the rebuilt file, so later stages use exactly what the index serves"
                            }
                        ));
                        on(Event::Done(&outcomes[i]));
                        continue;
                    }
                    Err(why) => format!(
                        "{} {why}",
                        mismatch_message(&d.filename, &g.sha256, remote)
                    ),
                }
            }
            None => format!(
                "`{}` is already on the index, which gives no sha256 to compare with the local file's ({}); an existing file might hide different bytes. \
                 Remove it from packages-dir if the published one is right, or bump the version.",
                d.filename, g.sha256
            ),
        };
        outcomes[i].status = Status::Failed(problem.clone());
        problems.push(problem);
    }
    if !problems.is_empty() {
        return Err(PublishError::Conflicts { problems });
    }
    if opts.dry_run {
        for &i in &to_upload {
            outcomes[i].status = Status::WouldUpload;
            on(Event::Done(&outcomes[i]));
        }
        return Ok(());
    }
    // Wheels before the sdist whatever order the caller gave (stable: theirs otherwise).
    to_upload.sort_by_key(|&i| dists[i].kind);
    let Some((&lead, rest)) = to_upload.split_first() else {
        return Ok(());
    };

    // 2. The first file alone, then the rest a few at a time; a failure starts nothing new.
    let ctx = Ctx {
        uploader,
        query,
        project,
        version,
        policy: &opts.retry,
        on,
        refresh,
    };
    let (o, r) = ctx.upload_one(&dists[lead], &digests[lead]).await;
    merge(&mut outcomes[lead], o);
    on(Event::Done(&outcomes[lead]));
    r?;
    let stop = AtomicBool::new(false);
    let results: Vec<(usize, Option<Finished>)> = futures_util::stream::iter(rest.iter().copied())
        .map(|i| {
            let (ctx, stop, dists, digests) = (&ctx, &stop, dists, &digests);
            async move {
                if stop.load(Ordering::SeqCst) {
                    return (i, None);
                }
                let (o, r) = ctx.upload_one(&dists[i], &digests[i]).await;
                if r.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                on(Event::Done(&o));
                (i, Some((o, r)))
            }
        })
        .buffer_unordered(opts.max_parallel.max(1))
        .collect()
        .await;
    let mut first_error: Option<(usize, PublishError)> = None;
    for (i, res) in results {
        if let Some((o, r)) = res {
            merge(&mut outcomes[i], o);
            if let Err(e) = r {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }

    // 3. Best effort, briefly: where the index serves what we uploaded (the verify stage
    // checks, on its own budget).
    let brief = Instant::now() + AFTER_UPLOAD_BUDGET;
    if let Ok(after) = query.files_by(project, version, brief).await {
        for o in outcomes.iter_mut().filter(|o| o.status == Status::Uploaded) {
            if let Some(f) = after.files.get(&o.filename) {
                if f.sha256 == o.sha256 {
                    o.url = f.url.clone();
                }
            }
        }
    }
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// One file's upload, done: its outcome and whether it stops the run.
type Finished = (FileOutcome, Result<(), PublishError>);

/// Fetch the published copy of `d` and compare contents. `Ok(size)` when they match (the
/// published bytes then replace the local file, unless `dry_run`); `Err` says why not, as
/// the end of the conflict message. The copy goes to `opts.scratch`, capped a little above
/// the local file's size: an index that serves gigabytes fills neither memory nor disk.
async fn same_as_published(
    query: &IndexQuery,
    d: &Distribution,
    existing: &super::IndexFile,
    remote_sha256: &str,
    opts: &PublishOptions,
) -> Result<u64, String> {
    let Some(url) = existing
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    else {
        return Err("The index gives no URL for it, so its contents could not be compared.".into());
    };
    // Under a hidden name no distribution has; removed when dropped: on every early
    // return, and if the run is cancelled mid-download.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.published-", d.filename))
        .tempfile_in(&opts.scratch)
        .map_err(|e| {
            format!(
                "Its contents could not be compared: cannot create a file in `{}` for the published copy: {e}.",
                opts.scratch.display()
            )
        })?
        .into_temp_path();
    let max = d.size + d.size * COPY_MARGIN_PERCENT / 100 + COPY_SLACK;
    let sha = query
        .download(&url, &tmp, max)
        .await
        .map_err(|e| format!("Its contents could not be compared: {e}."))?;
    if sha != remote_sha256 {
        return Err(format!(
            "The index served other bytes (sha256 {sha}) than it lists, so contents were not compared."
        ));
    }
    match crate::dist::same::same_content(&d.path, &tmp) {
        Ok(crate::dist::same::Sameness::Same) => {}
        Ok(crate::dist::same::Sameness::Differ(why)) => {
            return Err(format!("The contents differ too: {why}."))
        }
        Err(e) => return Err(format!("Its contents could not be compared: {e}.")),
    }
    let size = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(d.size);
    if !opts.dry_run {
        replace_with(&tmp, &d.path).map_err(|e| {
            format!(
                "The contents match, but the published copy could not replace `{}`: {e}.",
                d.path.display()
            )
        })?;
    }
    Ok(size)
}

/// Put `copy` in `dest`'s place atomically: copied beside `dest` first (the scratch dir may be
/// another filesystem), then renamed over it.
fn replace_with(copy: &std::path::Path, dest: &std::path::Path) -> std::io::Result<()> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let beside = tempfile::Builder::new()
        .prefix(".sdd-publish-replace-")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::copy(copy, &beside)?;
    beside.persist(dest).map_err(|e| e.error)
}

fn merge(into: &mut FileOutcome, from: FileOutcome) {
    *into = FileOutcome {
        sha256: into.sha256.take().or(from.sha256),
        url: from.url.or(into.url.take()),
        ..from
    };
}

/// The listing before any upload, within `opts.query_budget` in all: every request's
/// timeout ends by then, and no retry starts after it.
async fn query_with_retries(
    query: &IndexQuery,
    project: &str,
    version: &str,
    opts: &PublishOptions,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Listing, QueryError> {
    let started = Instant::now();
    let deadline = started + opts.query_budget;
    let attempts = AtomicUsize::new(0);
    let result = (|| {
        attempts.fetch_add(1, Ordering::SeqCst);
        query.files_by(project, version, deadline)
    })
    .retry(opts.retry.backoff())
    .when(QueryError::is_retryable)
    .adjust(|e, d| within(deadline, d, e.retry_after()))
    .notify(|e, delay| {
        on(Event::QueryRetrying {
            delay,
            reason: e.to_string(),
        })
    })
    .await;
    result.map_err(|last| {
        let spent = started.elapsed();
        // Out of time (not a definite answer such as a 401): say so, with the last error.
        if spent >= opts.query_budget || matches!(last, QueryError::Deadline { .. }) {
            QueryError::Budget {
                budget: opts.query_budget,
                attempts: attempts.load(Ordering::SeqCst),
                last: Box::new(last),
            }
        } else {
            last
        }
    })
}

struct Ctx<'a, 'r> {
    uploader: &'a Uploader,
    query: &'a IndexQuery,
    project: &'a str,
    version: &'a str,
    policy: &'a RetryPolicy,
    on: &'a (dyn Fn(Event<'_>) + Sync),
    refresh: Option<&'a Refresh<'r>>,
}

impl Ctx<'_, '_> {
    async fn upload_one(
        &self,
        d: &Distribution,
        g: &FileDigests,
    ) -> (FileOutcome, Result<(), PublishError>) {
        let started = Instant::now();
        let deadline = started + self.policy.total;
        let progress = Arc::new(Progress::default());
        let attempts = AtomicUsize::new(0);
        (self.on)(Event::Starting {
            filename: &d.filename,
            size: d.size,
            progress: &progress,
        });
        let result = {
            let (progress, attempts) = (&progress, &attempts);
            (move || async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                if let Some(refresh) = self.refresh {
                    match refresh().await {
                        Ok(Some(c)) => self.uploader.set_credentials(c),
                        Ok(None) => {}
                        Err(message) => {
                            return Err(AttemptError::Fatal(PublishError::Credentials {
                                filename: d.filename.clone(),
                                message,
                            }))
                        }
                    }
                }
                match self.uploader.upload_digested(d, g, progress).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.may_have_landed() => self.recheck(d, g, e).await,
                    Err(e) => Err(AttemptError::Upload(e)),
                }
            })
            .retry(self.policy.backoff())
            .when(AttemptError::retryable)
            .adjust(|e, delay| {
                let asked = match e {
                    AttemptError::Upload(u) => u.retry_after(),
                    AttemptError::Fatal(_) => None,
                };
                within(deadline, delay, asked)
            })
            .notify(|e, delay| {
                if let AttemptError::Upload(u) = e {
                    (self.on)(Event::Retrying {
                        filename: &d.filename,
                        attempt: attempts.load(Ordering::SeqCst),
                        attempts: self.policy.attempts,
                        delay,
                        reason: u.to_string(),
                        retry_after: u.retry_after().is_some(),
                    })
                }
            })
            .await
        };
        let n = attempts.load(Ordering::SeqCst);
        let mut outcome = FileOutcome {
            filename: d.filename.clone(),
            size: d.size,
            sha256: Some(g.sha256.clone()),
            url: None,
            status: Status::Uploaded,
            elapsed: Some(started.elapsed()),
            attempts: n,
            note: None,
        };
        let result = match result {
            Ok(()) => Ok(()),
            Err(AttemptError::Upload(source)) => Err(PublishError::Upload {
                filename: d.filename.clone(),
                attempts: n,
                source,
            }),
            Err(AttemptError::Fatal(e)) => Err(e),
        };
        if let Err(e) = &result {
            outcome.status = Status::Failed(e.to_string());
        }
        (outcome, result)
    }

    /// After a failed attempt: has the file landed anyway (ours or a parallel run's)?
    async fn recheck(
        &self,
        d: &Distribution,
        g: &FileDigests,
        e: UploadError,
    ) -> Result<(), AttemptError> {
        let Ok(listing) = self.query.files(self.project, self.version).await else {
            return Err(AttemptError::Upload(e));
        };
        let files: &BTreeMap<_, _> = &listing.files;
        match files.get(&d.filename).map(|f| f.sha256.as_deref()) {
            None => Err(AttemptError::Upload(e)),
            Some(Some(remote)) if remote == g.sha256 => {
                (self.on)(Event::Landed {
                    filename: &d.filename,
                    after: e.to_string(),
                });
                Ok(())
            }
            Some(remote) => Err(AttemptError::Fatal(PublishError::Conflicts {
                problems: vec![mismatch_message(
                    &d.filename,
                    &g.sha256,
                    remote.unwrap_or("(not given)"),
                )],
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testserver::read_request;
    use super::*;
    use crate::dist::{metadata, DistKind};
    use crate::secret::Secret;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    use tokio::io::AsyncWriteExt;
    use url::Url;

    #[derive(Default)]
    struct Seen {
        now: AtomicUsize,
        max: AtomicUsize,
        events: Mutex<Vec<String>>,
    }

    /// An index on loopback: GETs say 404 (nothing there yet); each POST is held 150 ms
    /// and answered 200, while concurrency and start/end order are recorded.
    async fn slow_index() -> (Url, Arc<Seen>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Seen::default());
        let s = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    if req.head.starts_with("GET ") {
                        let _ = sock
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    let body = String::from_utf8_lossy(&req.body);
                    let name = body
                        .split("filename=\"")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or("?")
                        .to_string();
                    let n = s.now.fetch_add(1, Ordering::SeqCst) + 1;
                    s.max.fetch_max(n, Ordering::SeqCst);
                    s.events.lock().unwrap().push(format!("start {name}"));
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    s.events.lock().unwrap().push(format!("end {name}"));
                    s.now.fetch_sub(1, Ordering::SeqCst);
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                        )
                        .await;
                });
            }
        });
        (base, seen)
    }

    fn dist(dir: &std::path::Path, filename: &str, kind: DistKind) -> Distribution {
        let path = dir.join(filename);
        std::fs::write(&path, filename.as_bytes()).unwrap();
        Distribution {
            path,
            filename: filename.into(),
            kind,
            size: filename.len() as u64,
            metadata: metadata::parse(b"Metadata-Version: 2.1\nName: p\nVersion: 1.0\n").unwrap(),
            pyversion: if kind == DistKind::Wheel {
                "py3"
            } else {
                "source"
            }
            .into(),
        }
    }

    #[tokio::test]
    async fn first_file_alone_then_bounded_parallel() {
        let dir = tempfile::tempdir().unwrap();
        let mut dists: Vec<Distribution> = (0..5)
            .map(|i| {
                dist(
                    dir.path(),
                    &format!("p-1.0-cp3{i}-none-any.whl"),
                    DistKind::Wheel,
                )
            })
            .collect();
        dists.push(dist(dir.path(), "p-1.0.tar.gz", DistKind::Sdist));
        let (base, seen) = slow_index().await;
        let up = Uploader::new(
            base.clone(),
            super::super::Credentials::token(Secret::new("pypi-PARALLELTEST")),
        )
        .unwrap();
        let query = IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
        let opts = PublishOptions {
            skip_existing: true,
            max_parallel: 2,
            dry_run: false,
            retry: RetryPolicy::default(),
            query_budget: QUERY_BUDGET,
            scratch: std::env::temp_dir(),
        };
        let (outcomes, result) = publish(&dists, &up, &query, &opts, &|_| {}).await;
        result.unwrap();
        assert!(outcomes.iter().all(|o| o.status == Status::Uploaded));
        let events = seen.events.lock().unwrap().clone();
        assert_eq!(events.len(), 12, "{events:?}");
        assert_eq!(
            events[..2],
            [
                "start p-1.0-cp30-none-any.whl",
                "end p-1.0-cp30-none-any.whl"
            ],
            "the first file goes alone: {events:?}"
        );
        assert_eq!(seen.max.load(Ordering::SeqCst), 2, "{events:?}");
    }

    #[tokio::test]
    async fn a_failed_comparison_says_why_and_leaves_no_download_behind() {
        let dir = tempfile::tempdir().unwrap();
        let d = dist(dir.path(), "p-1.0.tar.gz", DistKind::Sdist);
        let (base, _) = slow_index().await;
        let query = IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
        let listed = |url: Option<String>| super::super::IndexFile {
            filename: d.filename.clone(),
            sha256: Some("0".repeat(64)),
            url,
        };
        let scratch = tempfile::tempdir().unwrap();
        let opts = PublishOptions {
            skip_existing: true,
            max_parallel: 1,
            dry_run: false,
            retry: RetryPolicy::default(),
            query_budget: QUERY_BUDGET,
            scratch: scratch.path().to_path_buf(),
        };
        let why = same_as_published(&query, &d, &listed(None), &"0".repeat(64), &opts)
            .await
            .unwrap_err();
        assert!(why.contains("gives no URL"), "{why}");
        // The index lists the file but answers 404 for it.
        let url = base.join("files/p-1.0.tar.gz").unwrap();
        let why = same_as_published(
            &query,
            &d,
            &listed(Some(url.to_string())),
            &"0".repeat(64),
            &opts,
        )
        .await
        .unwrap_err();
        assert!(
            why.starts_with(
                "Its contents could not be compared: could not download the published file"
            ) && why.contains(url.as_str())
                && why.contains("HTTP 404"),
            "{why}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["p-1.0.tar.gz"]);
        assert_eq!(std::fs::read(&d.path).unwrap(), b"p-1.0.tar.gz");
    }

    /// An index listing `p-1.0.tar.gz` with another sha256 and serving nothing else; the
    /// paths asked for are recorded.
    async fn index_listing_other_bytes() -> (Url, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let log = paths.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let Some(req) = read_request(&mut sock).await else {
                    continue;
                };
                log.lock().unwrap().push(req.path().to_string());
                let body = format!(
                    "<a href=\"/files/p-1.0.tar.gz#sha256={}\">p-1.0.tar.gz</a>",
                    "e".repeat(64)
                );
                let reply = match req.path() {
                    "/simple/p/" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
                };
                let _ = sock.write_all(reply.as_bytes()).await;
            }
        });
        (base, paths)
    }

    #[tokio::test]
    async fn without_skip_existing_other_bytes_are_a_conflict_without_a_download() {
        let dir = tempfile::tempdir().unwrap();
        let dists = [dist(dir.path(), "p-1.0.tar.gz", DistKind::Sdist)];
        for skip_existing in [false, true] {
            let (base, paths) = index_listing_other_bytes().await;
            let up = Uploader::new(
                base.clone(),
                super::super::Credentials::token(Secret::new("pypi-CONFLICTTEST")),
            )
            .unwrap();
            let query =
                IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
            let opts = PublishOptions {
                skip_existing,
                max_parallel: 1,
                dry_run: false,
                retry: RetryPolicy::default(),
                query_budget: QUERY_BUDGET,
                scratch: std::env::temp_dir(),
            };
            let (_, result) = publish(&dists, &up, &query, &opts, &|_| {}).await;
            let err = result.unwrap_err().to_string();
            assert!(err.contains("same name, different bytes"), "{err}");
            let downloaded = paths
                .lock()
                .unwrap()
                .contains(&"/files/p-1.0.tar.gz".into());
            // Only a run that would skip an identical file compares contents.
            assert_eq!(downloaded, skip_existing, "{err}");
        }
    }

    #[test]
    fn tuning_reads_hidden_variables_and_keeps_defaults() {
        let env: BTreeMap<&str, &str> = [
            ("SDD_PUBLISH_RETRY_ATTEMPTS", "3"),
            ("SDD_PUBLISH_STALL_TIMEOUT_MS", "500"),
            ("SDD_PUBLISH_RETRY_MIN_DELAY_MS", ""),
        ]
        .into_iter()
        .collect();
        let t = Tuning::from_lookup(&|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(t.retry.attempts, 3);
        assert_eq!(t.timeouts.stall, Duration::from_millis(500));
        assert_eq!(t.retry.min_delay, RetryPolicy::default().min_delay);
        assert_eq!(Tuning::from_lookup(&|_| None).unwrap(), Tuning::default());
        for (var, bad) in [
            ("SDD_PUBLISH_RETRY_MIN_DELAY_MS", "nonsense"),
            ("SDD_PUBLISH_STALL_TIMEOUT_MS", "0"),
            ("SDD_PUBLISH_RETRY_ATTEMPTS", "-1"),
        ] {
            let e = Tuning::from_lookup(&|k| (k == var).then(|| bad.to_string())).unwrap_err();
            assert_eq!(e.var, var);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn mismatch_names_both_hashes_and_the_cause() {
        let m = mismatch_message("p-1.0.tar.gz", "aaa", "bbb");
        assert!(m.contains("aaa") && m.contains("bbb") && m.contains("rebuilt"));
    }
}
