//! The wait-for-checks gate: poll the commit's check runs and commit statuses until the
//! checks that matter have concluded, failing fast on the first bad conclusion.
//!
//! The failures of the usual wait-on-check actions are designed out: this run's own check
//! runs are never waited on (found through the run's API record, not guessed from names);
//! a named check that never appears is an error after `appear_timeout`, not a hang or a pass;
//! every page of check runs is read; a re-run's newer check run replaces the older one; and
//! polling is conditional (ETag), so a long wait costs almost no rate limit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::github::models::{CheckRunsPage, CombinedStatus, JobsPage, WorkflowRun};
use crate::github::{GitHub, GitHubError};
use crate::plan::Pattern;

pub const DEFAULT_ALLOWED: &[&str] = &["success", "neutral", "skipped"];

/// This workflow run, so the gate can leave its own check runs out.
#[derive(Debug, Clone, Default)]
pub struct OwnRun {
    /// `GITHUB_RUN_ID`.
    pub run_id: u64,
    /// `RUNNER_NAME`: picks our own job among the run's jobs.
    pub runner_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WaitConfig {
    /// `owner/name`.
    pub repo: String,
    pub sha: String,
    /// Check names or `*` globs; empty = every check on the commit outside this run.
    pub checks: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
    pub appear_timeout: Duration,
    /// Conclusions that count as passed (lower-case).
    pub allowed: Vec<String>,
    pub own_run: Option<OwnRun>,
}

/// One check as the gate last saw it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    /// The conclusion when done, else the status (`queued`, `in_progress`, `pending`).
    pub conclusion: String,
    pub url: String,
    #[serde(skip)]
    pub done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("check `{name}` concluded `{conclusion}` (allowed: {allowed}): {url}")]
    Failed {
        name: String,
        conclusion: String,
        url: String,
        allowed: String,
    },
    #[error("timed out after {}: still pending: {}; never appeared: {}", crate::units::fmt_duration(*after), list(pending), list(missing))]
    TimedOut {
        after: Duration,
        pending: Vec<String>,
        missing: Vec<String>,
    },
    #[error("no check matching {} appeared within {} (seen on the commit: {})", list(missing), crate::units::fmt_duration(*after), list(seen))]
    NeverAppeared {
        after: Duration,
        missing: Vec<String>,
        seen: Vec<String>,
    },
    #[error("check name `{0}` is not a valid glob: {1}")]
    BadPattern(String, String),
    #[error(
        "could not find this run's own check suite ({0}); without it the gate could wait on itself"
    )]
    OwnRun(#[source] GitHubError),
    #[error(transparent)]
    Api(#[from] GitHubError),
}

/// The gate's verdict: what it saw, how long it took, and whether it passed.
#[derive(Debug)]
pub struct Verdict {
    pub checks: Vec<CheckResult>,
    pub elapsed: Duration,
    pub polls: u32,
    pub result: Result<(), WaitError>,
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which of our own run's check runs to leave out.
#[derive(Debug, Default)]
pub(crate) struct Own {
    pub(crate) suite: Option<u64>,
    /// Our job's check run ids (a job's id is its check run's id).
    pub(crate) jobs: BTreeSet<u64>,
}

/// Run the gate. Status lines go to `log`, only when what is pending or done changes.
pub async fn wait(gh: &GitHub, cfg: &WaitConfig, log: &dyn Fn(&str)) -> Verdict {
    let start = Instant::now();
    let mut polls = 0;
    let mut seen = Vec::new();
    let result = run(gh, cfg, log, start, &mut polls, &mut seen).await;
    Verdict {
        checks: seen,
        elapsed: start.elapsed(),
        polls,
        result,
    }
}

async fn run(
    gh: &GitHub,
    cfg: &WaitConfig,
    log: &dyn Fn(&str),
    start: Instant,
    polls: &mut u32,
    seen: &mut Vec<CheckResult>,
) -> Result<(), WaitError> {
    let patterns = cfg
        .checks
        .iter()
        .map(|c| Pattern::new(c).map_err(|e| WaitError::BadPattern(c.clone(), e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let deadline = tokio::time::Instant::from_std(start + cfg.timeout);
    let named = !patterns.is_empty();

    // Finding ourselves is bounded by `wait-timeout` too: it can meet a rate limit.
    let own = match &cfg.own_run {
        None => Own::default(),
        Some(run) => match tokio::time::timeout_at(deadline, own_checks(gh, cfg, run)).await {
            Err(_) => return Err(timed_out(start, seen, &patterns)),
            Ok(Ok(o)) => o,
            Ok(Err(e)) if named => {
                log(&format!(
                    "warning: could not look up this run's own jobs ({e}); checks of this run that match `wait-for` will be waited on"
                ));
                Own::default()
            }
            Ok(Err(e)) => return Err(WaitError::OwnRun(e)),
        },
    };

    let mut last_line = String::new();
    let mut settled_on: Option<Vec<CheckResult>> = None;
    loop {
        let fetched = match tokio::time::timeout_at(deadline, snapshot(gh, cfg, &own, named)).await
        {
            Ok(r) => r?,
            Err(_) => return Err(timed_out(start, seen, &patterns)),
        };
        *polls += 1;
        let relevant: Vec<CheckResult> = if named {
            fetched
                .into_iter()
                .filter(|c| patterns.iter().any(|p| p.is_match(&c.name)))
                .collect()
        } else {
            fetched
        };
        *seen = relevant.clone();

        if let Some(bad) = relevant
            .iter()
            .find(|c| c.done && !cfg.allowed.iter().any(|a| a == &c.conclusion))
        {
            return Err(WaitError::Failed {
                name: bad.name.clone(),
                conclusion: bad.conclusion.clone(),
                url: bad.url.clone(),
                allowed: cfg.allowed.join(", "),
            });
        }
        let pending: Vec<String> = relevant
            .iter()
            .filter(|c| !c.done)
            .map(|c| c.name.clone())
            .collect();
        let missing = missing(&patterns, &relevant);
        let done = relevant.iter().filter(|c| c.done).count();

        let line = status_line(done, &pending, &missing);
        if line != last_line {
            log(&format!(
                "[{}] {line}",
                crate::units::fmt_duration(start.elapsed())
            ));
            last_line = line;
        }

        if pending.is_empty() && missing.is_empty() {
            if named {
                return Ok(());
            }
            // Without names, "nothing pending" may just mean the other CI has not created its
            // checks yet: pass only when a second poll, an interval later, sees the same set.
            if settled_on.as_ref() == Some(&relevant) {
                if relevant.is_empty() {
                    log("no other checks or statuses on this commit; nothing to wait for");
                }
                return Ok(());
            }
            settled_on = Some(relevant.clone());
        } else {
            settled_on = None;
        }
        if !missing.is_empty() && start.elapsed() >= cfg.appear_timeout {
            let mut names: Vec<String> = seen.iter().map(|c| c.name.clone()).collect();
            names.sort();
            names.dedup();
            return Err(WaitError::NeverAppeared {
                after: cfg.appear_timeout,
                missing,
                seen: names,
            });
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(timed_out(start, seen, &patterns));
        }
        tokio::time::sleep_until((now + cfg.interval).min(deadline)).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(timed_out(start, seen, &patterns));
        }
    }
}

fn status_line(done: usize, pending: &[String], missing: &[String]) -> String {
    let mut line = format!("{done} done");
    if !pending.is_empty() {
        line.push_str(&format!(", waiting for {}", pending.join(", ")));
    }
    if !missing.is_empty() {
        line.push_str(&format!(", not yet created: {}", missing.join(", ")));
    }
    line
}

fn missing(patterns: &[Pattern], relevant: &[CheckResult]) -> Vec<String> {
    patterns
        .iter()
        .filter(|p| !relevant.iter().any(|c| p.is_match(&c.name)))
        .map(|p| p.as_str().to_owned())
        .collect()
}

fn timed_out(start: Instant, seen: &[CheckResult], patterns: &[Pattern]) -> WaitError {
    WaitError::TimedOut {
        after: start.elapsed(),
        pending: seen
            .iter()
            .filter(|c| !c.done)
            .map(|c| c.name.clone())
            .collect(),
        missing: missing(patterns, seen),
    }
}

/// This run's check suite (from the run's record) and our own job (the run's in-progress job
/// on this runner).
async fn own_checks(gh: &GitHub, cfg: &WaitConfig, run: &OwnRun) -> Result<Own, GitHubError> {
    let url = gh.url(&format!("repos/{}/actions/runs/{}", cfg.repo, run.run_id))?;
    let record: WorkflowRun = gh.get(&url).await?.body;
    let suite = suite_of(&record);
    let mut jobs = BTreeSet::new();
    if let Some(runner) = run.runner_name.as_deref().filter(|r| !r.is_empty()) {
        let url = gh.url(&format!(
            "repos/{}/actions/runs/{}/jobs?per_page=100",
            cfg.repo, run.run_id
        ))?;
        let pages: Vec<JobsPage> = gh.get_all(&url).await?;
        jobs = own_jobs(&pages, runner);
    }
    Ok(Own { suite, jobs })
}

/// One poll: every check run (all pages, latest per name and app) and every commit status,
/// minus our own.
async fn snapshot(
    gh: &GitHub,
    cfg: &WaitConfig,
    own: &Own,
    named: bool,
) -> Result<Vec<CheckResult>, GitHubError> {
    let runs_url = gh.url(&format!(
        "repos/{}/commits/{}/check-runs?filter=latest&per_page=100",
        cfg.repo, cfg.sha
    ))?;
    let status_url = gh.url(&format!(
        "repos/{}/commits/{}/status?per_page=100",
        cfg.repo, cfg.sha
    ))?;
    let (runs, statuses) = tokio::join!(
        gh.get_all::<CheckRunsPage>(&runs_url),
        gh.get_all::<CombinedStatus>(&status_url)
    );
    Ok(results(&runs?, &statuses?, own, named))
}

/// The check suite of a workflow run record (`check_suite_id`, else the end of
/// `check_suite_url`).
pub(crate) fn suite_of(record: &WorkflowRun) -> Option<u64> {
    record.check_suite_id.or_else(|| {
        record
            .check_suite_url
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .and_then(|id| id.parse().ok())
    })
}

/// The ids of the jobs pages' unfinished jobs on `runner`: our own job.
pub(crate) fn own_jobs(pages: &[JobsPage], runner: &str) -> BTreeSet<u64> {
    pages
        .iter()
        .flat_map(|p| &p.jobs)
        .filter(|j| j.runner_name.as_deref() == Some(runner) && j.status != "completed")
        .map(|j| j.id)
        .collect()
}

/// The check-runs and combined-status pages as one sorted list of results, minus our own.
pub(crate) fn results(
    runs: &[CheckRunsPage],
    statuses: &[CombinedStatus],
    own: &Own,
    named: bool,
) -> Vec<CheckResult> {
    // Latest check run per (app, name): a re-run's newer run replaces the failed one.
    let mut latest: BTreeMap<(u64, String), (u64, CheckResult)> = BTreeMap::new();
    for run in runs.iter().flat_map(|p| &p.check_runs) {
        let suite = run.check_suite.map(|s| s.id);
        let in_our_suite = own.suite.is_some() && suite == own.suite;
        // Unnamed: none of our run's checks. Named: never our own job.
        if (!named && in_our_suite) || own.jobs.contains(&run.id) {
            continue;
        }
        let app = run.app.map_or(0, |a| a.id);
        let done = run.status == "completed";
        let conclusion = if done {
            run.conclusion
                .as_deref()
                .unwrap_or("unknown")
                .to_ascii_lowercase()
        } else {
            run.status.clone()
        };
        let url = run
            .html_url
            .as_deref()
            .or(run.details_url.as_deref())
            .unwrap_or_default()
            .to_owned();
        let entry = CheckResult {
            name: run.name.clone(),
            conclusion,
            url,
            done,
        };
        match latest.get(&(app, run.name.clone())) {
            Some((old, _)) if *old > run.id => {}
            _ => {
                latest.insert((app, run.name.clone()), (run.id, entry));
            }
        }
    }
    let mut out: Vec<CheckResult> = latest.into_values().map(|(_, c)| c).collect();

    // Commit statuses: the combined status already keeps the latest per context.
    let mut contexts = BTreeSet::new();
    for s in statuses.iter().flat_map(|p| &p.statuses) {
        if !contexts.insert(s.context.clone()) {
            continue;
        }
        out.push(CheckResult {
            name: s.context.clone(),
            done: s.state != "pending",
            conclusion: s.state.clone(),
            url: s.target_url.clone().unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.url.cmp(&b.url)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_name_what_is_left() {
        assert_eq!(
            status_line(1, &["Test Suite".into()], &["Security*".into()]),
            "1 done, waiting for Test Suite, not yet created: Security*"
        );
        assert_eq!(status_line(2, &[], &[]), "2 done");
    }

    #[tokio::test]
    async fn a_rate_limit_while_finding_our_own_run_ends_at_the_wait_timeout() {
        let body = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let (api, _) = crate::github::tests::answering(format!(
            "HTTP/1.1 403 Forbidden\r\nretry-after: 3000\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
        .await;
        let gh = GitHub::new(&api, None).unwrap();
        let cfg = WaitConfig {
            repo: "o/r".into(),
            sha: "abc".into(),
            checks: vec![],
            timeout: Duration::from_millis(300),
            interval: Duration::from_millis(100),
            appear_timeout: Duration::from_millis(300),
            allowed: vec!["success".into()],
            own_run: Some(OwnRun {
                run_id: 1,
                runner_name: None,
            }),
        };
        // Loose bound: without the deadline this sits out the 50 minutes it was asked to.
        let v = tokio::time::timeout(Duration::from_secs(30), wait(&gh, &cfg, &|_| {}))
            .await
            .expect("the gate outlived its wait-timeout");
        assert!(
            matches!(v.result, Err(WaitError::TimedOut { .. })),
            "{:?}",
            v.result
        );
    }

    #[test]
    fn errors_name_the_check_and_the_fix() {
        let e = WaitError::Failed {
            name: "Test Suite".into(),
            conclusion: "failure".into(),
            url: "https://github.com/o/r/runs/1".into(),
            allowed: DEFAULT_ALLOWED.join(", "),
        };
        assert_eq!(
            e.to_string(),
            "check `Test Suite` concluded `failure` (allowed: success, neutral, skipped): https://github.com/o/r/runs/1"
        );
        let e = WaitError::TimedOut {
            after: Duration::from_secs(1800),
            pending: vec!["Test Suite".into()],
            missing: vec![],
        };
        assert!(
            e.to_string().starts_with(
                "timed out after 30m: still pending: `Test Suite`; never appeared: none"
            ),
            "{e}"
        );
    }
}
