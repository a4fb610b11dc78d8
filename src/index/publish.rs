//! The upload engine: hash-aware idempotency, retries, adaptive parallelism.
//!
//! 1. Hash the files (sha256 + blake2_256) on a blocking thread, in upload order, while the
//!    index is asked once what it has for the project. Every conflict is found before the
//!    first byte goes out: same name and sha256 → skip (unless `skip_existing` is off), same
//!    name and other bytes → a hard error naming both hashes, and nothing is uploaded. Only
//!    the files the index already has must be hashed before that verdict; the others are
//!    hashed ahead of their upload while earlier files upload.
//! 2. Upload the first file (in the given order: wheels before the sdist) alone — PyPI takes
//!    the release's metadata from the first upload — then the rest, as many at once as
//!    [`Controller`] finds worth it (up to `max_parallel`): more streams while the aggregate
//!    throughput rises, fewer when it does not or the index pushes back. Each decision is an
//!    [`Event::Concurrency`], the outcome an [`Event::Parallelism`].
//! 3. Each upload retries transport errors, stalls, 5xx and 429 (honouring `Retry-After`)
//!    with exponential backoff and jitter, bounded in attempts and total time. After any
//!    failed attempt the index is asked again: a retried or parallel upload may have landed.
//!    Every retry also tells the controller to ease off.
//!
//! Where the index serves the uploaded files is for the verify stage to find out (one
//! listing after the last upload); only a run that fails asks here, for the report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::Retryable;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::sync::oneshot;

use super::concurrency::{Controller, Decision, Finished, Pushback, Sample, Summary};
use super::query::{Dialect, IndexQuery, Listing, QueryError};
use super::upload::{
    digest_path, Credentials, FileDigests, Progress, Timeouts, UploadError, Uploader,
};
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
    /// The most uploads at once; how many run is measured (see [`Controller`]).
    pub max_parallel: usize,
    /// Ask the index, upload nothing.
    pub dry_run: bool,
    pub retry: RetryPolicy,
    /// A file already on the index with other contents is skipped (TestPyPI, where a version
    /// is often re-pushed unchanged) instead of stopping the run (PyPI). Only with
    /// `skip_existing`: without it any existing file is an error.
    pub skip_conflicts: bool,
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
    /// Already on the index with other contents, and skipped (`skip_conflicts`): why.
    ConflictSkipped(String),
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
    /// The index was asked (in `took`, retries included); `found` of our files are there.
    Checked {
        dialect: Dialect,
        url: &'a str,
        found: usize,
        took: Duration,
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
    /// How many files upload at once changed (or was confirmed), and why.
    Concurrency(&'a Decision),
    /// The uploads are over: how many ran at once, and why.
    Parallelism(&'a Summary),
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
    let mut hashing = Hashing::start(dists);
    let result = run(
        dists,
        uploader,
        query,
        opts,
        on,
        refresh,
        &mut outcomes,
        &mut hashing,
    )
    .await;
    // A run that stopped early still reports every file's sha256, as one that hashed
    // everything first did.
    if result.is_err() {
        hashing.fill(&mut outcomes).await;
    }
    (outcomes, result)
}

/// Wheels before the sdist whatever order the caller gave (stable: theirs otherwise).
fn upload_order(dists: &[Distribution]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..dists.len()).collect();
    order.sort_by_key(|&i| dists[i].kind);
    order
}

/// The files' digests, computed in upload order on one blocking thread as soon as the run
/// starts: during the index query, then ahead of the uploads.
struct Hashing {
    pending: Vec<Option<oneshot::Receiver<std::io::Result<FileDigests>>>>,
    paths: Vec<PathBuf>,
}

impl Hashing {
    fn start(dists: &[Distribution]) -> Self {
        let mut pending: Vec<_> = dists.iter().map(|_| None).collect();
        let mut jobs = Vec::with_capacity(dists.len());
        for i in upload_order(dists) {
            let (tx, rx) = oneshot::channel();
            pending[i] = Some(rx);
            jobs.push((dists[i].path.clone(), tx));
        }
        if !jobs.is_empty() {
            tokio::task::spawn_blocking(move || {
                for (path, tx) in jobs {
                    // Nobody waits for it any more: the run is over.
                    if tx.is_closed() {
                        continue;
                    }
                    let digests = digest_path(&path, &|| tx.is_closed());
                    let _ = tx.send(digests);
                }
            });
        }
        Hashing {
            pending,
            paths: dists.iter().map(|d| d.path.clone()).collect(),
        }
    }

    /// File `i`'s digests, to be awaited where they are needed.
    fn take(
        &mut self,
        i: usize,
    ) -> impl std::future::Future<Output = Result<FileDigests, PublishError>> {
        let rx = self.pending.get_mut(i).and_then(Option::take);
        let path = self.paths.get(i).cloned().unwrap_or_default();
        async move {
            let result = match rx {
                Some(rx) => rx
                    .await
                    .unwrap_or_else(|_| Err(std::io::Error::other("the hashing thread stopped"))),
                None => Err(std::io::Error::other("hashed twice (a bug)")),
            };
            result.map_err(|source| PublishError::Digest { path, source })
        }
    }

    /// Wait for the digests nobody asked for and put them in the outcomes.
    async fn fill(&mut self, outcomes: &mut [FileOutcome]) {
        for (i, o) in outcomes.iter_mut().enumerate() {
            if self.pending.get(i).is_some_and(Option::is_some) {
                if let Ok(g) = self.take(i).await {
                    o.sha256.get_or_insert(g.sha256);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    dists: &[Distribution],
    uploader: &Uploader,
    query: &IndexQuery,
    opts: &PublishOptions,
    on: &(dyn Fn(Event<'_>) + Sync),
    refresh: Option<&Refresh<'_>>,
    outcomes: &mut [FileOutcome],
    hashing: &mut Hashing,
) -> Result<(), PublishError> {
    let Some(first) = dists.first() else {
        return Ok(());
    };
    let (project, version) = (&first.metadata.name, &first.metadata.version);

    // 1. Every conflict before the first byte goes out (the files hash meanwhile).
    let asked = Instant::now();
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
        took: asked.elapsed(),
    });
    let mut problems = Vec::new();
    let mut to_upload = Vec::new();
    for (i, d) in dists.iter().enumerate() {
        let Some(existing) = listing.files.get(&d.filename) else {
            to_upload.push(i);
            continue;
        };
        let g = hashing.take(i).await?;
        outcomes[i].sha256 = Some(g.sha256.clone());
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
                    Err(why) if opts.skip_conflicts => {
                        outcomes[i].status = Status::ConflictSkipped(format!(
                            "`{}` is already on the index with other contents (sha256 {remote} there, {} here). {why}",
                            d.filename, g.sha256
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
            outcomes[i].sha256 = Some(hashing.take(i).await?.sha256);
            outcomes[i].status = Status::WouldUpload;
            on(Event::Done(&outcomes[i]));
        }
        return Ok(());
    }
    to_upload.sort_by_key(|&i| dists[i].kind);
    if to_upload.is_empty() {
        return Ok(());
    }

    // 2. The first file alone, then as many at once as pays; a failure starts nothing new.
    let flow = Flow::default();
    let ctx = Ctx {
        uploader,
        query,
        project,
        version,
        policy: &opts.retry,
        on,
        refresh,
        flow: &flow,
    };
    let lead = to_upload[0];
    let mut ctl = Controller::new(opts.max_parallel.max(1));
    let started = Instant::now();
    let mut queue: std::collections::VecDeque<usize> = to_upload.iter().copied().collect();
    // When each upload in flight was started (its digest wait included: a hasher that
    // cannot keep up is a limit like any other).
    let mut since: BTreeMap<usize, Duration> = BTreeMap::new();
    let mut start = |i: usize| {
        let digests = hashing.take(i);
        let (ctx, d) = (&ctx, &dists[i]);
        async move {
            let finished = match digests.await {
                Ok(g) => ctx.upload_one(d, &g).await,
                Err(e) => (ctx.failed(d, &e), Err(e)),
            };
            (i, finished)
        }
    };
    let mut running = FuturesUnordered::new();
    let (mut lead_done, mut stop) = (false, false);
    let mut done: Vec<(usize, Done)> = Vec::new();
    let (mut at, mut last) = (Duration::ZERO, None);
    loop {
        for kind in flow.pushbacks() {
            if let Some(d) = ctl.pushback(at, kind) {
                on(Event::Concurrency(&d));
            }
        }
        let limit = if lead_done { ctl.target() } else { 1 };
        refill(&mut running, &mut queue, limit, stop, &mut |i| {
            since.insert(i, at);
            start(i)
        });
        let sample = Sample {
            at,
            active: running
                .len()
                .saturating_sub(flow.waiting.load(Ordering::Relaxed)),
            // Nothing runs beside the first file, and nothing new after a failure.
            available: match (stop, lead_done) {
                (true, _) => running.len(),
                (false, true) => running.len() + queue.len(),
                (false, false) => 1,
            },
        };
        if let Some(d) = ctl.observe(sample, last.take()) {
            on(Event::Concurrency(&d));
            if lead_done {
                refill(&mut running, &mut queue, ctl.target(), stop, &mut |i| {
                    since.insert(i, at);
                    start(i)
                });
            }
        }
        let Some((i, (o, r))) = running.next().await else {
            break;
        };
        at = started.elapsed();
        lead_done |= i == lead;
        stop |= r.is_err();
        // A file's own time, all of it: the controller's measure of a level.
        let begun = since.remove(&i).unwrap_or_default();
        last = Some(Finished {
            started: begun,
            secs: at.saturating_sub(begun).as_secs_f64(),
            bytes: o.size,
            clean: r.is_ok() && o.attempts == 1,
        });
        on(Event::Done(&o));
        done.push((i, (o, r)));
    }
    if to_upload.len() > 1 {
        on(Event::Parallelism(&ctl.summary()));
    }
    let mut first_error: Option<(usize, PublishError)> = None;
    for (i, (o, r)) in done {
        merge(&mut outcomes[i], o);
        if let Err(e) = r {
            if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                first_error = Some((i, e));
            }
        }
    }
    let Some((_, e)) = first_error else {
        return Ok(());
    };
    // 3. Best effort, briefly, for the report of a failed run: where the index serves what
    // landed.
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
    Err(e)
}

/// Start queued uploads until `limit` run.
fn refill<F>(
    running: &mut FuturesUnordered<F>,
    queue: &mut std::collections::VecDeque<usize>,
    limit: usize,
    stop: bool,
    start: &mut impl FnMut(usize) -> F,
) {
    while !stop && running.len() < limit {
        let Some(i) = queue.pop_front() else { break };
        running.push(start(i));
    }
}

/// What the running uploads tell the scheduler: retry delays and push-back.
#[derive(Default)]
struct Flow {
    /// Uploads waiting out a retry delay (in flight, but not sending).
    waiting: AtomicUsize,
    pushback: Mutex<Vec<Pushback>>,
}

impl Flow {
    fn pushbacks(&self) -> Vec<Pushback> {
        std::mem::take(&mut *self.pushback.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One file's upload, done: its outcome and whether it stops the run.
type Done = (FileOutcome, Result<(), PublishError>);

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
                "Its contents could not be compared: cannot create a file in `{}` for the published copy: {e}; point RUNNER_TEMP (TMPDIR outside Actions) at a writable directory.",
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
    flow: &'a Flow,
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
                if attempts.fetch_add(1, Ordering::SeqCst) > 0 {
                    // The retry delay is over.
                    self.flow.waiting.fetch_sub(1, Ordering::Relaxed);
                }
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
                // A retry follows every notification: the upload waits, then sends again.
                self.flow.waiting.fetch_add(1, Ordering::Relaxed);
                if let AttemptError::Upload(u) = e {
                    let kind = match u.status() {
                        Some(429) => Pushback::RateLimited,
                        _ => Pushback::Failed,
                    };
                    self.flow
                        .pushback
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(kind);
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

    /// The outcome of a file that could not even be hashed.
    fn failed(&self, d: &Distribution, e: &PublishError) -> FileOutcome {
        FileOutcome {
            filename: d.filename.clone(),
            size: d.size,
            sha256: None,
            url: None,
            status: Status::Failed(e.to_string()),
            elapsed: None,
            attempts: 0,
            note: None,
        }
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

    /// Options for a test run: skip identical files, no dry run, default retries.
    fn test_options(max_parallel: usize) -> PublishOptions {
        PublishOptions {
            skip_existing: true,
            max_parallel,
            dry_run: false,
            retry: RetryPolicy::default(),
            skip_conflicts: false,
            query_budget: QUERY_BUDGET,
            scratch: std::env::temp_dir(),
        }
    }

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
        let opts = test_options(2);
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

    /// How a test index takes uploads.
    #[derive(Clone, Copy)]
    enum Takes {
        /// Every upload is held this long, however many run: latency-bound, as a runner far
        /// from the index sees it.
        Parallel(Duration),
        /// Each upload needs this much of the server's time, which it shares evenly among
        /// the uploads in progress (a threaded index on a busy CPU): server-bound.
        Shared(Duration),
    }

    /// A processor-sharing server: `serve(work)` returns once `work` of its time went to
    /// this request, the time shared evenly among all in progress.
    #[derive(Clone, Default)]
    struct Sharing(Arc<Mutex<Vec<Job>>>);

    /// Work left (seconds of the server's time), and whom to tell when it is done.
    type Job = (f64, Option<tokio::sync::oneshot::Sender<()>>);

    impl Sharing {
        fn start(&self) {
            let jobs = self.0.clone();
            tokio::spawn(async move {
                let tick = Duration::from_millis(2);
                let mut last = Instant::now();
                loop {
                    tokio::time::sleep(tick).await;
                    let spent = last.elapsed().as_secs_f64();
                    last = Instant::now();
                    let mut jobs = jobs.lock().unwrap();
                    let share = spent / jobs.len().max(1) as f64;
                    for (left, done) in jobs.iter_mut() {
                        *left -= share;
                        if *left <= 0.0 {
                            if let Some(tx) = done.take() {
                                let _ = tx.send(());
                            }
                        }
                    }
                    jobs.retain(|(_, done)| done.is_some());
                }
            });
        }

        async fn serve(&self, work: Duration) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.0.lock().unwrap().push((work.as_secs_f64(), Some(tx)));
            let _ = rx.await;
        }
    }

    /// An index on loopback: GETs say 404; POSTs are taken as `takes` says, the `throttle`-th
    /// POST (1-based; 0 = none) is answered 429 with `Retry-After: 0`. Records how many uploads
    /// ran at once, at most.
    async fn index_that(takes: Takes, throttle: usize) -> (Url, Arc<Seen>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let seen = Arc::new(Seen::default());
        let (s, server) = (seen.clone(), Sharing::default());
        server.start();
        let posts = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (s, server, posts) = (s.clone(), server.clone(), posts.clone());
                tokio::spawn(async move {
                    while let Some(req) = read_request(&mut sock).await {
                        if req.head.starts_with("GET ") {
                            let _ = sock
                                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                                .await;
                            continue;
                        }
                        let n = s.now.fetch_add(1, Ordering::SeqCst) + 1;
                        s.max.fetch_max(n, Ordering::SeqCst);
                        let reply: &[u8] = if posts.fetch_add(1, Ordering::SeqCst) + 1 == throttle {
                            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nslow"
                        } else {
                            match takes {
                                Takes::Parallel(hold) => tokio::time::sleep(hold).await,
                                Takes::Shared(work) => server.serve(work).await,
                            }
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
                        };
                        s.now.fetch_sub(1, Ordering::SeqCst);
                        if sock.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (base, seen)
    }

    /// Publish `count` wheels of 256 KiB to `base`; the concurrency decisions, in order.
    async fn publish_wheels(base: &Url, count: usize, max_parallel: usize) -> Vec<Decision> {
        let dir = tempfile::tempdir().unwrap();
        let dists: Vec<Distribution> = (0..count)
            .map(|i| {
                let mut d = dist(
                    dir.path(),
                    &format!("p-1.0-cp3{i}-none-any.whl"),
                    DistKind::Wheel,
                );
                std::fs::write(&d.path, vec![i as u8; 256 << 10]).unwrap();
                d.size = 256 << 10;
                d
            })
            .collect();
        let up = Uploader::new(
            base.clone(),
            super::super::Credentials::token(Secret::new("pypi-ADAPTIVETEST")),
        )
        .unwrap();
        let query = IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
        let opts = PublishOptions {
            retry: RetryPolicy {
                min_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                ..RetryPolicy::default()
            },
            ..test_options(max_parallel)
        };
        let decisions = Mutex::new(Vec::new());
        let summary = Mutex::new(None);
        let (outcomes, result) = publish(&dists, &up, &query, &opts, &|e| match e {
            Event::Concurrency(d) => decisions.lock().unwrap().push(d.clone()),
            Event::Parallelism(s) => *summary.lock().unwrap() = Some(s.clone()),
            _ => {}
        })
        .await;
        result.unwrap();
        assert!(outcomes.iter().all(|o| o.status == Status::Uploaded));
        let summary = summary.into_inner().unwrap().expect("a summary");
        assert_eq!(summary.ceiling, max_parallel);
        decisions.into_inner().unwrap()
    }

    fn moves(decisions: &[Decision]) -> Vec<(usize, usize)> {
        decisions.iter().map(|d| (d.from, d.to)).collect()
    }

    #[tokio::test]
    async fn a_latency_bound_index_gets_more_streams_up_to_the_ceiling() {
        // Each upload takes 300 ms however many run: two streams carry twice as much.
        let (base, seen) = index_that(Takes::Parallel(Duration::from_millis(300)), 0).await;
        let decisions = publish_wheels(&base, 12, 4).await;
        assert_eq!(moves(&decisions)[..2], [(1, 2), (2, 4)], "{decisions:#?}");
        assert_eq!(
            seen.max.load(Ordering::SeqCst),
            4,
            "never above the ceiling"
        );
    }

    #[tokio::test]
    async fn a_server_bound_index_is_left_to_one_stream() {
        // The index's time is the limit: two streams carry what one did. (Its work per file
        // dwarfs the client's own per-request costs, which a second stream would overlap.)
        let (base, seen) = index_that(Takes::Shared(Duration::from_millis(400)), 0).await;
        let decisions = publish_wheels(&base, 6, 8).await;
        assert_eq!(moves(&decisions)[..2], [(1, 2), (2, 1)], "{decisions:#?}");
        assert!(matches!(
            decisions[1].why,
            super::super::concurrency::Why::Flat(_)
        ));
        assert_eq!(seen.max.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_429_halves_the_streams() {
        // Latency-bound, so the streams double to four; the ninth upload is answered 429.
        let (base, _) = index_that(Takes::Parallel(Duration::from_millis(300)), 9).await;
        let decisions = publish_wheels(&base, 16, 4).await;
        let cut = decisions
            .iter()
            .find(|d| {
                matches!(
                    d.why,
                    super::super::concurrency::Why::Pushback(Pushback::RateLimited)
                )
            })
            .unwrap_or_else(|| panic!("{decisions:#?}"));
        assert_eq!((cut.from, cut.to), (4, 2), "{decisions:#?}");
    }

    #[tokio::test]
    async fn a_run_that_stops_early_still_reports_every_sha256() {
        // The index refuses the first upload for good: nothing else starts, yet every file's
        // sha256 is in the outcomes, as when all were hashed before anything went out.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    while let Some(req) = read_request(&mut sock).await {
                        let reply: &[u8] = if req.head.starts_with("GET ") {
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                        } else {
                            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 6\r\n\r\nbroken"
                        };
                        if sock.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let dists: Vec<Distribution> = (0..4)
            .map(|i| {
                dist(
                    dir.path(),
                    &format!("p-1.0-cp3{i}-none-any.whl"),
                    DistKind::Wheel,
                )
            })
            .collect();
        let up = Uploader::new(
            base.clone(),
            super::super::Credentials::token(Secret::new("pypi-STOPTEST")),
        )
        .unwrap();
        let query = IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
        let opts = test_options(8);
        let (outcomes, result) = publish(&dists, &up, &query, &opts, &|_| {}).await;
        assert!(result.unwrap_err().to_string().contains("broken"));
        assert!(matches!(outcomes[0].status, Status::Failed(_)));
        for (d, o) in dists.iter().zip(&outcomes) {
            let want = super::super::digest_file(&d.path).await.unwrap().sha256;
            assert_eq!(o.sha256.as_deref(), Some(want.as_str()), "{}", o.filename);
        }
        assert!(outcomes[1..]
            .iter()
            .all(|o| o.status == Status::NotAttempted));
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
            scratch: scratch.path().to_path_buf(),
            ..test_options(1)
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
                ..test_options(1)
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

    /// TestPyPI's rule: other contents under an existing name are skipped, not fatal, and
    /// nothing is sent; without `skip_existing` any existing file stays an error.
    #[tokio::test]
    async fn a_conflict_is_skipped_when_asked_and_only_with_skip_existing() {
        let dir = tempfile::tempdir().unwrap();
        let dists = [dist(dir.path(), "p-1.0.tar.gz", DistKind::Sdist)];
        for (skip_existing, skipped) in [(true, true), (false, false)] {
            let (base, paths) = index_listing_other_bytes().await;
            let up = Uploader::new(
                base.clone(),
                super::super::Credentials::token(Secret::new("pypi-CONFLICTSKIP")),
            )
            .unwrap();
            let query =
                IndexQuery::new(base.join("simple/").unwrap(), Duration::from_secs(5)).unwrap();
            let opts = PublishOptions {
                skip_existing,
                skip_conflicts: true,
                ..test_options(1)
            };
            let (outcomes, result) = publish(&dists, &up, &query, &opts, &|_| {}).await;
            match (&outcomes[0].status, skipped) {
                (Status::ConflictSkipped(why), true) => {
                    result.unwrap();
                    assert!(
                        why.contains("`p-1.0.tar.gz` is already on the index with other contents")
                            && why.contains(&"e".repeat(64)),
                        "{why}"
                    );
                }
                (Status::Failed(m), false) => {
                    assert!(m.contains("same name, different bytes"), "{m}");
                    assert!(result.is_err());
                }
                (other, _) => panic!("skip_existing={skip_existing}: {other:?}"),
            }
            assert!(
                paths.lock().unwrap().iter().all(|p| p != "/"),
                "nothing was uploaded"
            );
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
