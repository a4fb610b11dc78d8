//! Stage: the checks gate, on this run's commit, leaving this run's own checks out.

use super::{RunError, StageError};
use crate::config::GateSettings;
use crate::gate::{CheckResult, OwnRun, WaitConfig};
use crate::gha::{Context, Runtime};
use crate::secret::Secret;

/// What the gate saw and decided.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChecksReport {
    pub passed: bool,
    pub elapsed_secs: f64,
    pub checks: Vec<CheckResult>,
}

/// Not passed until it passes: whatever fails below leaves `passed: false` in the outcome.
pub(crate) async fn run(
    ctx: &Context,
    gate: &GateSettings,
    token: Option<&Secret>,
    rt: &Runtime,
) -> (ChecksReport, Result<(), RunError>) {
    let mut outcome = ChecksReport::default();
    if ctx.sha.is_empty() || ctx.repository.is_empty() {
        return (outcome, Err(StageError::NoCommit.into()));
    }
    // Rate-limit waits and retries are logged through the runtime like every other line.
    let gh = match crate::github::GitHub::new(&ctx.api_url, token.cloned()) {
        Ok(gh) => {
            let logger = rt.clone();
            gh.with_logger(move |m| logger.info(m))
        }
        Err(e) => return (outcome, Err(e.into())),
    };
    let cfg = WaitConfig {
        repo: ctx.repository.clone(),
        sha: ctx.sha.clone(),
        checks: gate.checks.clone(),
        timeout: gate.timeout,
        interval: gate.interval,
        appear_timeout: gate.appear_timeout,
        allowed: gate.allowed_conclusions.clone(),
        own_run: ctx.run_id.map(|run_id| OwnRun {
            run_id,
            runner_name: ctx.runner_name.clone(),
        }),
    };
    rt.info(&format!(
        "waiting for {} on {} (timeout {}, every {})",
        if cfg.checks.is_empty() {
            "every check outside this workflow run".to_string()
        } else {
            cfg.checks.join(", ")
        },
        ctx.sha,
        crate::units::fmt_duration(cfg.timeout),
        crate::units::fmt_duration(cfg.interval),
    ));
    let verdict = crate::gate::wait(&gh, &cfg, &|line| rt.info(line)).await;
    let stats = gh.stats();
    rt.info(&format!(
        "checks gate: {} requests, {} full responses, {} not modified (free)",
        stats.requests, stats.full, stats.not_modified
    ));
    outcome = ChecksReport {
        passed: verdict.result.is_ok(),
        elapsed_secs: verdict.elapsed.as_secs_f64(),
        checks: verdict.checks,
    };
    (
        outcome,
        verdict.result.map_err(|e| StageError::Gate(e).into()),
    )
}
