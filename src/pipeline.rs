//! `sdd-publish run`: the stages in order, their outcomes folded into a [`Report`].
//!
//! This is the only module that knows the order; each stage lives in `stages` as a function
//! from typed input to typed outcome. Every check that could stop the release runs before the
//! first byte is uploaded, so a run never leaves half a release behind when a check could
//! have caught it.

use std::path::Path;
use std::time::Instant;

use crate::config::{ReleaseWhen, Settings};
use crate::gha::{Context, Runtime};
use crate::plan::{Plan, Target};
use crate::report::{Phase, Report, RunFacts};
use crate::stages::{self, RunError};

/// What `run` needs from the outside world.
pub(crate) struct RunContext<'a> {
    pub ctx: &'a Context,
    pub settings: &'a Settings,
    pub rt: &'a Runtime,
    /// Relative `packages-dir` values resolve against this (the workspace in Actions).
    pub cwd: &'a Path,
}

/// Run the pipeline. The report is complete whatever happens, so outputs and the summary
/// can always be written; the error, if any, is inside it too.
pub(crate) async fn run(rc: &RunContext<'_>) -> (Report, Result<(), RunError>) {
    let mut report = Report {
        dry_run: rc.settings.dry_run,
        plan_only: rc.settings.plan_only,
        run: Some(RunFacts::from_context(rc.ctx)),
        ..Report::default()
    };
    let started = Instant::now();
    let result = stages(rc, &mut report).await;
    report.total_secs = started.elapsed().as_secs_f64();
    if let Err(e) = &result {
        report.error = Some(e.to_string());
        report.stopped_at = Some(report.phase);
    }
    (report, result)
}

/// The order. Each stage's outcome is folded into the report before its error (if any)
/// stops the run, so the report shows what a failing stage saw.
async fn stages(rc: &RunContext<'_>, report: &mut Report) -> Result<(), RunError> {
    let RunContext {
        ctx, settings, rt, ..
    } = rc;

    let plan = timed(rt, report, Phase::Plan, "Plan", async || {
        let plan = stages::plan::run(ctx, settings);
        rt.info(&format!("{} (target: {})", plan.reason, plan.target));
        plan
    })
    .await;
    report.plan = Some(plan.clone());
    let Some(target) = settings.target(plan.target) else {
        return Ok(());
    };
    if settings.plan_only {
        return Ok(());
    }

    // Configuration before any file work: a missing token is known without reading a byte.
    report.phase = Phase::Setup;
    let endpoint = stages::publish::endpoint(ctx, settings, target, rt)?;
    report.index_url = Some(target.upload_url.to_string());
    report.auth = Some(endpoint.auth_description());
    if let Some(method) = &endpoint.method {
        stages::attest::preflight(&settings.attest, method, target)?;
    }
    let release = wants_release(settings, &plan);
    if release {
        stages::github_release::preflight(&settings.release, rc.cwd)?;
    }

    if let Some(gate) = &settings.wait {
        let token = settings.github_token.as_ref();
        let (checks, result) = timed(rt, report, Phase::Wait, "Wait for checks", async || {
            stages::gate::run(ctx, gate, token, rt).await
        })
        .await;
        report.checks = Some(checks);
        result?;
    }

    if let Some(command) = &settings.build {
        report.build_command = Some(command.clone());
        let built = timed(rt, report, Phase::Build, "Build", async || {
            stages::build::run(command, settings, plan.target, ctx, rc.cwd, rt).await
        })
        .await?;
        report.stamped_version = built.stamped;
    }

    let dir = rc.cwd.join(&settings.packages_dir);
    let (validated, result) = timed(
        rt,
        report,
        Phase::Check,
        "Check distributions",
        async || stages::validate::run(&dir, &plan, &settings.tag_pattern, rt),
    )
    .await;
    report.record_validation(&validated);
    result?;
    let (name, version) = validated.release.clone().unwrap_or_default();
    let project_url = crate::index::project_url(&target.index_url, &name, &version);
    report.project_url = Some(project_url.clone());

    let dists = &validated.dists;
    if let Some(preflight) = &settings.preflight {
        let candidate = stages::preflight::Candidate {
            name: &name,
            version: &version,
            dists,
        };
        let (preflighted, result) = timed(
            rt,
            report,
            Phase::Preflight,
            "Pre-flight (the local files installed and run before any upload)",
            async || {
                stages::preflight::run(&candidate, preflight, target, settings, ctx, rc.cwd, rt)
                    .await
            },
        )
        .await;
        report.record_preflight(preflighted);
        result?;
    }

    let label = target.names.label;
    let scratch = ctx.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
    let project = Some(name.clone());
    let connection = timed(
        rt,
        report,
        Phase::Connect,
        &format!("Connect to {label}"),
        async || stages::publish::connect(dists, endpoint, project, settings, rt).await,
    )
    .await?;

    // After the exchange, so a refused publisher writes nothing to Sigstore's public log.
    let mut attested = None;
    if let Some(id_token) = stages::attest::wanted(&settings.attest, connection.id_token_request())
    {
        let lacking = connection.lacking(dists, &name, &version).await;
        let (made, result) = timed(rt, report, Phase::Attest, "Attest (PEP 740)", async || {
            stages::attest::run(&lacking, id_token, &settings.attest, settings.dry_run, rt).await
        })
        .await;
        report.record_attestations(&made);
        result?;
        attested = Some(made);
    }

    let forms = attested
        .as_ref()
        .map(stages::attest::Attestations::form_values);
    let (uploads, result) = timed(
        rt,
        report,
        Phase::Upload,
        &format!("Upload to {label}"),
        async || stages::publish::run(dists, connection, forms, settings, &scratch, rt).await,
    )
    .await;
    report.record_uploads(uploads.outcomes, uploads.parallelism);
    result?;

    if !settings.dry_run {
        let files = report.published_digests();
        let release = stages::verify::Release {
            name: &name,
            version: &version,
            files,
        };
        let (verified, result) = timed(
            rt,
            report,
            Phase::Verify,
            &format!("Verify on {label}"),
            // The upload's index query: one connection pool, and what it learnt of the index.
            async || stages::verify::run(&release, target, &uploads.query, settings, ctx, rt).await,
        )
        .await;
        report.record_verification(verified);
        result?;
    }

    if let (true, Some(tag)) = (release, plan.tag.as_deref()) {
        let uploaded = report.file_digests();
        let published = stages::github_release::Published {
            tag,
            name: &name,
            version: &version,
            project_url: &project_url,
            dists,
            uploaded: &uploaded,
            attestations: &attested.map(|a| a.saved()).unwrap_or_default(),
        };
        let token = settings.github_token.as_ref();
        let outcome = timed(rt, report, Phase::Release, "GitHub Release", async || {
            stages::github_release::run(
                &published,
                &settings.release,
                settings.dry_run,
                ctx,
                token,
                rc.cwd,
                rt,
            )
            .await
        })
        .await?;
        report.record_release(outcome);
    }
    Ok(())
}

/// Run one stage inside a log group and record its wall time, whether it succeeds or not.
async fn timed<T>(
    rt: &Runtime,
    report: &mut Report,
    phase: Phase,
    title: &str,
    stage: impl AsyncFnOnce() -> T,
) -> T {
    let started = Instant::now();
    report.phase = phase;
    rt.group_start(title);
    let out = stage().await;
    rt.group_end();
    report.stage(phase.key(), started);
    out
}

/// `release: auto` = the PyPI target on a tag; `true` = any target on a tag; `false` = never.
fn wants_release(settings: &Settings, plan: &Plan) -> bool {
    plan.tag.is_some()
        && match settings.release.when {
            ReleaseWhen::Auto => plan.target == Target::Pypi,
            ReleaseWhen::Always => plan.target != Target::None,
            ReleaseWhen::Never => false,
        }
}
