//! `sdd-publish run`: the stages in order, folded into a [`Report`].
//!
//! This is the only module that knows the order. Each stage is a function from typed input
//! to typed output; every check that could stop the release runs before the first byte is
//! uploaded, so a run never leaves half a release behind when a check could have caught it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::{self, IndexNames, Session};
use crate::dist::{self, Discovery, Distribution};
use crate::gha::{Context, Inputs, Runtime};
use crate::index::{self as idx, Credentials, IndexQuery, Uploader};
use crate::plan::{self, Pattern, Plan, PlanInput, Target};
use crate::report::{FileEntry, FileResult, Report};
use crate::version;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Dist(#[from] dist::DistError),
    #[error("no distributions in packages-dir `{}`: expected *.whl or *.tar.gz files. Build them first (e.g. `python -m build`) or point `packages-dir` at them", .0.display())]
    NoDistributions(PathBuf),
    #[error("{count} problem(s) in the distributions; nothing was uploaded (each is listed above with its fix)")]
    Problems { count: usize },
    #[error("the distributions are not one release: {found}. Upload one project version per run: clean `packages-dir` (e.g. `rm -rf dist`) and rebuild")]
    MixedRelease { found: String },
    #[error("tag `{tag}` says version {tag_version} but the distributions are version {dist_version}. Bump the version in pyproject.toml to {tag_version} and rebuild, or tag the commit as v{dist_version}")]
    TagMismatch {
        tag: String,
        tag_version: String,
        dist_version: String,
    },
    #[error(transparent)]
    TagVersion(#[from] version::VersionError),
    #[error("publishing to {label} needs a token: set the `{input}` input (e.g. `{input}: ${{{{ secrets.{secret} }}}}`) from a repository secret holding an API token for {label}, or grant the job `permissions: id-token: write` for trusted publishing (OIDC)")]
    MissingToken {
        label: &'static str,
        input: &'static str,
        secret: &'static str,
    },
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    #[error("verification: {0}")]
    Verify(#[from] crate::verify::VerifyError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("waiting for checks: {0}")]
    Checks(#[from] crate::checks::WaitError),
    #[error(transparent)]
    GitHub(#[from] crate::github::GitHubError),
    #[error("waiting for checks needs the commit and the repository (GITHUB_SHA, GITHUB_REPOSITORY); they are set by the runner")]
    NoCommit,
    #[error("upload of `{filename}` failed: {source}")]
    Upload {
        filename: String,
        source: crate::index::UploadError,
    },
    #[error(transparent)]
    Publish(Box<crate::index::PublishError>),
    #[error(transparent)]
    Query(#[from] crate::index::QueryError),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
    #[error("the GitHub Release needs the repository (GITHUB_REPOSITORY); it is set by the runner, or set `release: false`")]
    NoRepository,
}

/// What `run` needs from the outside world.
pub struct RunContext<'a> {
    pub ctx: &'a Context,
    pub inputs: &'a Inputs,
    pub rt: &'a Runtime,
    /// Relative `packages-dir` values resolve against this (the workspace in Actions).
    pub cwd: &'a Path,
}

/// Run the pipeline. The report is complete whatever happens, so outputs and the summary
/// can always be written; the error, if any, is inside it too.
pub async fn run(rc: &RunContext<'_>) -> (Report, Result<(), PipelineError>) {
    let mut report = Report {
        dry_run: rc.inputs.dry_run,
        plan_only: rc.inputs.plan_only,
        run: Some(crate::report::RunFacts::from_context(rc.ctx)),
        ..Report::default()
    };
    let started = Instant::now();
    let result = stages(rc, &mut report).await;
    report.total_secs = started.elapsed().as_secs_f64();
    if let Err(e) = &result {
        report.error = Some(e.to_string());
    }
    (report, result)
}

async fn stages(rc: &RunContext<'_>, report: &mut Report) -> Result<(), PipelineError> {
    let RunContext {
        ctx, inputs, rt, ..
    } = rc;

    let plan = timed(rt, report, "plan", "Plan", async |report| {
        let plan = decide(ctx, inputs);
        rt.info(&format!("{} (target: {})", plan.reason, plan.target));
        report.plan = Some(plan.clone());
        plan
    })
    .await;
    if !plan.should_publish() || inputs.plan_only {
        return Ok(());
    }

    // Configuration before any file work: a missing token is known without reading a byte.
    let (url, method, names) = target_endpoint(ctx, inputs, plan.target)?;
    report.index_url = Some(url.to_string());
    report.auth = Some(match &method {
        auth::Method::Token(_) => format!("API token (`{}` input)", names.input),
        auth::Method::TrustedPublishing(_) => {
            "trusted publishing (a short-lived token minted by OIDC for this run)".into()
        }
    });
    if let Some((url_input, var)) = inputs.upload_url_env(plan.target) {
        rt.info(&format!(
            "upload URL {url} (from {var}; the `{url_input}` input is empty)"
        ));
    }
    let simple_url = match plan.target {
        Target::Pypi => &inputs.pypi_index_url,
        _ => &inputs.testpypi_index_url,
    };
    if let (true, Some(f)) = (wants_release(inputs, &plan), &inputs.release.notes_file) {
        crate::release::check_notes_file(&rc.cwd.join(f))?;
    }

    if let Some(wait) = &inputs.wait {
        timed(rt, report, "wait", "Wait for checks", async |report| {
            wait_for_checks(ctx, inputs, wait, rt, report).await
        })
        .await?;
    }

    if let Some(command) = &inputs.build {
        report.build_command = Some(command.clone());
        let cfg = crate::build::BuildConfig {
            command: command.clone(),
            project_dir: rc.cwd.to_path_buf(),
            dev_version: inputs.dev_version && plan.target == Target::Testpypi,
            version_files: inputs.version_files.clone(),
            run_number: ctx.run_number.unwrap_or(0),
            run_attempt: ctx.run_attempt.unwrap_or(1),
            tag_pattern: inputs.tag_pattern.clone(),
        };
        let built = timed(rt, report, "build", "Build", async |_| {
            crate::build::build(&cfg, &|line| rt.info(line)).await
        })
        .await?;
        report.stamped_version = built.stamped.map(|v| v.to_string());
    }

    let dir = rc.cwd.join(&inputs.packages_dir);
    let dists = timed(rt, report, "check", "Check distributions", async |report| {
        check(&dir, &plan, &inputs.tag_pattern, rt, report)
    })
    .await?;
    if let (Some(n), Some(v)) = (&report.name, &report.version) {
        report.project_url = Some(crate::index::project_url(simple_url, n, v));
    }

    let label = plan.target.label();
    // The upload's index query serves verification too: one connection pool, one dialect.
    let query = timed(
        rt,
        report,
        "upload",
        &format!("Upload to {label}"),
        async |report| match Session::new(rt, method, url, names, report.name.clone()) {
            Ok(session) => upload(&dists, url, simple_url, session, inputs, rt, report).await,
            Err(e) => Err(e.into()),
        },
    )
    .await?;

    if !inputs.dry_run {
        timed(
            rt,
            report,
            "verify",
            &format!("Verify on {label}"),
            async |report| verify(plan.target, simple_url, &query, inputs, ctx, rt, report).await,
        )
        .await?;
    }

    if wants_release(inputs, &plan) {
        timed(rt, report, "release", "GitHub Release", async |report| {
            release_stage(rc, &plan, &dists, simple_url, report).await
        })
        .await?;
    }
    Ok(())
}

/// Run one stage inside a log group and record its wall time, whether it succeeds or not.
async fn timed<T>(
    rt: &Runtime,
    report: &mut Report,
    key: &str,
    title: &str,
    stage: impl AsyncFnOnce(&mut Report) -> T,
) -> T {
    let started = Instant::now();
    rt.group_start(title);
    let out = stage(report).await;
    rt.group_end();
    report.stage(key, started);
    out
}

/// Stage: the index serves every file with our sha256, then (unless `verify-install: false`)
/// `name==version` installs into a fresh environment and the smoke command runs. The files
/// are public by now, so a failure is a warning unless `verify-strict` — except a served hash
/// that differs from ours, which is always an error.
async fn verify(
    target: Target,
    simple_url: &url::Url,
    query: &IndexQuery,
    inputs: &Inputs,
    ctx: &Context,
    rt: &Runtime,
    report: &mut Report,
) -> Result<(), PipelineError> {
    use crate::verify::{self as v, VerifyError};
    let (Some(name), Some(version)) = (report.name.clone(), report.version.clone()) else {
        return Ok(());
    };
    report.verified = Some(false);
    let files: Vec<(String, String)> = report
        .files
        .iter()
        .filter_map(|f| Some((f.filename.clone(), f.sha256.clone()?)))
        .collect();
    let query = query.with_timeout(Duration::from_secs(60));
    let interval = inputs.tuning.verify_interval;
    let check = v::ServeCheck {
        project: name.clone(),
        version: version.clone(),
        files,
        timeout: inputs.verify_timeout,
        interval,
    };
    let soft = |e: VerifyError, report: &mut Report| -> Result<(), PipelineError> {
        report.verify_error = Some(e.to_string());
        if inputs.verify_strict {
            Err(e.into())
        } else {
            rt.warning(&format!(
                "verification failed (a warning: the files are already public; set `verify-strict: true` to fail the run): {e}"
            ));
            Ok(())
        }
    };
    match v::wait_until_served(&query, &check, &|l| rt.info(l)).await {
        Ok(served) => {
            for f in report.files.iter_mut() {
                if let Some(u) = served.urls.get(&f.filename) {
                    f.url = Some(u.clone());
                }
            }
            report.verify_steps.push(format!(
                "the index serves every file with our sha256 (after {:.1}s)",
                served.after.as_secs_f64()
            ))
        }
        Err(e @ VerifyError::HashMismatch { .. }) => {
            report.verify_error = Some(e.to_string());
            return Err(e.into());
        }
        Err(e) => return soft(e, report),
    }
    if inputs.verify_install {
        let Some(installer) = v::Installer::detect(std::env::var_os("PATH").as_deref()) else {
            return soft(
                VerifyError::Spawn {
                    program: "uv or python3".into(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not on PATH"),
                },
                report,
            );
        };
        let base = ctx.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
        let scratch = match v::scratch_dir(&base) {
            Ok(d) => d,
            Err(e) => return soft(e, report),
        };
        let extra = (target == Target::Testpypi
            && inputs.pypi_index_url != inputs.testpypi_index_url)
            .then(|| inputs.pypi_index_url.to_string());
        let install = v::InstallCheck {
            installer,
            name: name.clone(),
            version: version.clone(),
            index_url: simple_url.to_string(),
            extra_index_url: extra,
            command: inputs.verify_command.clone(),
            workdir: scratch.path().to_path_buf(),
            timeout: inputs.verify_timeout,
        };
        match v::install_and_smoke(&install).await {
            Ok(r) => {
                rt.info(&format!(
                    "installed {name}=={version} with {} from {simple_url}",
                    r.installer
                ));
                report.verify_steps.push(format!(
                    "`{name}=={version}` installs into a fresh environment ({})",
                    r.installer
                ));
                if let (Some(cmd), Some(out)) = (&inputs.verify_command, &r.command_output) {
                    rt.info(&format!("$ {cmd}\n{out}"));
                    report.verify_steps.push(format!("`{cmd}` runs (exit 0)"));
                }
            }
            Err(e) => return soft(e, report),
        }
    }
    report.verified = Some(true);
    Ok(())
}

/// `release: auto` = the PyPI target on a tag; `true` = any target on a tag; `false` = never.
fn wants_release(inputs: &Inputs, plan: &Plan) -> bool {
    use crate::gha::inputs::ReleaseWhen;
    plan.tag.is_some()
        && match inputs.release.when {
            ReleaseWhen::Auto => plan.target == Target::Pypi,
            ReleaseWhen::Always => plan.target != Target::None,
            ReleaseWhen::Never => false,
        }
}

/// Stage: create or update the GitHub Release for the tag, with the changelog section,
/// install commands and file hashes, and the distributions attached.
async fn release_stage(
    rc: &RunContext<'_>,
    plan: &Plan,
    dists: &[Distribution],
    simple_url: &url::Url,
    report: &mut Report,
) -> Result<(), PipelineError> {
    let RunContext {
        ctx, inputs, rt, ..
    } = rc;
    let r = &inputs.release;
    let (Some(tag), Some(name), Some(version)) = (
        plan.tag.as_deref(),
        report.name.clone(),
        report.version.clone(),
    ) else {
        return Ok(());
    };
    if ctx.repository.is_empty() {
        return Err(PipelineError::NoRepository);
    }
    let parsed = version::parse(&version)?;
    let notes = match &r.notes_file {
        Some(f) => rc.cwd.join(f),
        None => rc.cwd.join("CHANGELOG.md"),
    };
    let changelog = match crate::release::section_from_file(&notes, &parsed) {
        Ok(Some(section)) => {
            rt.info(&format!(
                "release notes: the {version} section of {}",
                notes.display()
            ));
            Some(section)
        }
        Ok(None) => {
            rt.warning(&format!(
                "{} has no section for {version} (e.g. `## [{version}] - date`); the release has no changelog notes",
                notes.display()
            ));
            None
        }
        Err(e) => {
            rt.warning(&format!(
                "no release notes: cannot read {} ({e}); set `release-notes-file` to your changelog",
                notes.display()
            ));
            None
        }
    };
    let mut files = Vec::new();
    for d in dists {
        let entry = report.files.iter().find(|f| f.filename == d.filename);
        let known = entry.and_then(|f| f.sha256.clone());
        // The upload may have swapped in the published copy of a rebuilt file.
        let size = entry.map_or(d.size, |f| f.size);
        let sha256 = match known {
            Some(s) => s,
            None => {
                idx::digest_file(&d.path)
                    .await
                    .map_err(|source| {
                        PipelineError::Dist(dist::DistError::Io {
                            path: d.path.clone(),
                            source,
                        })
                    })?
                    .sha256
            }
        };
        files.push(crate::release::ReleaseFile {
            filename: d.filename.clone(),
            size,
            sha256,
        });
    }
    let project_url = idx::project_url(simple_url, &name, &version);
    let facts = crate::release::ReleaseFacts {
        name: &name,
        version: &version,
        tag,
        project_url: &project_url,
        changelog: changelog.as_deref(),
        files: &files,
    };
    // Templates were checked when the inputs were read; a failure here is still an error.
    let render = |t: &str, input| {
        crate::release::render(t, input, &facts)
            .map_err(|e| PipelineError::Release(crate::release::ReleaseError::Template(e)))
    };
    let request = crate::release::ReleaseRequest {
        repo: ctx.repository.clone(),
        tag: tag.to_owned(),
        name: render(&r.name_template, "release-name")?,
        body: render(&r.body_template, "release-body")?,
        draft: r.draft,
        prerelease: crate::release::is_prerelease(&parsed),
        assets: if r.assets {
            dists
                .iter()
                .zip(&files)
                .map(|(d, f)| crate::release::Asset {
                    path: d.path.clone(),
                    file: f.clone(),
                })
                .collect()
        } else {
            Vec::new()
        },
        dry_run: inputs.dry_run,
    };
    let gh = crate::github::GitHub::new(&ctx.api_url, inputs.github_token.clone())?
        .with_logger(|m| println!("{m}"))
        .with_permission_hint(". Creating the GitHub Release needs `permissions: contents: write` for the job's token (`github-token`), or set `release: false`");
    let outcome = crate::release::publish(&gh, &request, &|line| rt.info(line)).await?;
    if let Some(url) = &outcome.url {
        rt.info(&format!("GitHub Release: {url}"));
    }
    report.release_detail = Some(crate::report::release_detail(&outcome));
    report.release_url = outcome.url;
    Ok(())
}

/// Stage: the plan, from the context and the inputs.
pub fn decide(ctx: &Context, inputs: &Inputs) -> Plan {
    // Patterns were validated when the inputs were read; a failure here cannot happen, but
    // degrade to "no target" rather than panic.
    let (Ok(tag_pattern), Ok(branches)) = (
        Pattern::new(&inputs.tag_pattern),
        inputs
            .branches
            .iter()
            .map(|b| Pattern::new(b))
            .collect::<Result<Vec<_>, _>>(),
    ) else {
        return Plan {
            target: Target::None,
            reason: "invalid tag-pattern or branches".into(),
            tag: None,
        };
    };
    plan::plan(&PlanInput {
        event: &ctx.event_name,
        git_ref: &ctx.git_ref,
        default_branch: ctx.default_branch.as_deref(),
        fork: ctx.fork,
        mode: inputs.mode,
        tag_pattern: &tag_pattern,
        branches: &branches,
    })
}

/// Stage: the checks gate, on this run's commit, leaving this run's own checks out.
async fn wait_for_checks(
    ctx: &Context,
    inputs: &Inputs,
    wait: &crate::gha::inputs::WaitInputs,
    rt: &Runtime,
    report: &mut Report,
) -> Result<(), PipelineError> {
    // Not passed until it passes: any failure below leaves `should-publish=false`.
    report.checks = Some(crate::report::ChecksReport::default());
    if ctx.sha.is_empty() || ctx.repository.is_empty() {
        return Err(PipelineError::NoCommit);
    }
    let api = &ctx.api_url;
    // Rate-limit waits and retries print plain lines (URLs and seconds, never the token).
    let gh = crate::github::GitHub::new(api, inputs.github_token.clone())?
        .with_logger(|m| println!("{m}"));
    let cfg = crate::checks::WaitConfig {
        repo: ctx.repository.clone(),
        sha: ctx.sha.clone(),
        checks: wait.checks.clone(),
        timeout: wait.timeout,
        interval: wait.interval,
        appear_timeout: wait.appear_timeout,
        allowed: wait.allowed_conclusions.clone(),
        own_run: ctx.run_id.map(|run_id| crate::checks::OwnRun {
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
        crate::checks::fmt_duration(cfg.timeout),
        crate::checks::fmt_duration(cfg.interval),
    ));
    let verdict = crate::checks::wait(&gh, &cfg, &|line| rt.info(line)).await;
    let stats = gh.stats();
    rt.info(&format!(
        "checks gate: {} requests, {} full responses, {} not modified (free)",
        stats.requests, stats.full, stats.not_modified
    ));
    report.checks = Some(crate::report::ChecksReport {
        passed: verdict.result.is_ok(),
        elapsed_secs: verdict.elapsed.as_secs_f64(),
        checks: verdict.checks,
    });
    Ok(verdict.result?)
}

/// The upload URL and how to authenticate to it: the token input, else trusted publishing
/// when the job can mint an ID token (see [`auth::choose`]).
fn target_endpoint<'i>(
    ctx: &Context,
    inputs: &'i Inputs,
    target: Target,
) -> Result<(&'i url::Url, auth::Method, IndexNames), PipelineError> {
    let (url, token, label, input, secret, web) = match target {
        Target::Pypi => (
            &inputs.pypi_url,
            &inputs.pypi_token,
            "PyPI",
            "pypi-token",
            "PYPI_API_TOKEN",
            "pypi.org",
        ),
        _ => (
            &inputs.testpypi_url,
            &inputs.testpypi_token,
            "TestPyPI",
            "testpypi-token",
            "TEST_PYPI_API_TOKEN",
            "test.pypi.org",
        ),
    };
    let names = IndexNames { label, input, web };
    match auth::choose(
        inputs.trusted_publishing,
        token.as_ref(),
        ctx.id_token.as_ref(),
        names,
        fork_pull_request(ctx),
    )? {
        Some(method) => Ok((url, method, names)),
        None => Err(PipelineError::MissingToken {
            label,
            input,
            secret,
        }),
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

/// Stage: find and validate the distributions; the release-level rules (one project, one
/// version, the tag's version) come after the per-file ones so every problem is listed.
pub fn check(
    dir: &Path,
    plan: &Plan,
    tag_pattern: &str,
    rt: &Runtime,
    report: &mut Report,
) -> Result<Vec<Distribution>, PipelineError> {
    let Discovery {
        dists,
        ignored,
        mut problems,
    } = dist::discover(dir)?;
    // twine --strict semantics are on for PyPI: a missing description or content type fails.
    if plan.target == Target::Pypi {
        dist::rules::apply_strict(&mut problems);
    }
    report.ignored = ignored.iter().map(|p| p.display().to_string()).collect();
    if !ignored.is_empty() {
        rt.notice(&format!(
            "ignored {} file(s) that are not distributions: {}",
            ignored.len(),
            report.ignored.join(", ")
        ));
    }
    for d in &dists {
        rt.info(&format!(
            "{} ({} {}, {})",
            d.filename,
            d.metadata.name,
            d.metadata.version,
            crate::report::human_size(d.size)
        ));
    }
    report.files = dists
        .iter()
        .map(|d| FileEntry {
            filename: d.filename.clone(),
            size: d.size,
            sha256: None,
            result: FileResult::NotAttempted,
            url: None,
            note: None,
        })
        .collect();
    for p in &problems {
        crate::report::annotate(rt, p);
    }
    report.problems = problems;
    let errors = report.problems.iter().filter(|p| p.is_error()).count();
    report.validation = Some(crate::report::Validation {
        files: dists.len(),
        rules: dist::rules::ALL.len(),
        errors,
        warnings: report.problems.len() - errors,
        strict: plan.target == Target::Pypi,
    });
    if errors > 0 {
        return Err(PipelineError::Problems { count: errors });
    }
    if dists.is_empty() {
        return Err(PipelineError::NoDistributions(dir.to_path_buf()));
    }

    // One release per run: every file must agree on the project and the version.
    let first = &dists[0].metadata;
    let version = version::parse(&first.version)?;
    let mut releases: Vec<String> = dists
        .iter()
        .map(|d| {
            let v = version::parse(&d.metadata.version)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| d.metadata.version.clone());
            format!("{} {}", dist::filename::normalize_name(&d.metadata.name), v)
        })
        .collect();
    releases.sort();
    releases.dedup();
    if releases.len() > 1 {
        return Err(PipelineError::MixedRelease {
            found: releases.join(", "),
        });
    }
    report.name = Some(first.name.clone());
    report.version = Some(first.version.clone());

    if let (Some(tag), Target::Pypi) = (&plan.tag, plan.target) {
        let tag_version = version::tag_version(tag, tag_pattern)?;
        if tag_version != version {
            return Err(PipelineError::TagMismatch {
                tag: tag.clone(),
                tag_version: tag_version.to_string(),
                dist_version: version.to_string(),
            });
        }
        rt.info(&format!(
            "tag {tag} names version {tag_version}, as the distributions do"
        ));
    }
    Ok(dists)
}

/// Stage: upload through the index engine (hash-aware skip, retries, a few at a time),
/// wheels before the sdist (discovery already orders them so; PyPI takes the release's
/// metadata from the first file). One log line per file: size, speed, result.
async fn upload(
    dists: &[Distribution],
    url: &url::Url,
    simple_url: &url::Url,
    session: Session<'_>,
    inputs: &Inputs,
    rt: &Runtime,
    report: &mut Report,
) -> Result<IndexQuery, PipelineError> {
    debug_assert!(dists.windows(2).all(|w| w[0].kind <= w[1].kind));
    let trusted = session.is_trusted_publishing();
    let mut session = session;
    // A dry run contacts no OIDC endpoint: it asks the index anonymously.
    let credentials = if inputs.dry_run && trusted {
        rt.info("dry run: would mint a short-lived token by trusted publishing (OIDC)");
        None
    } else {
        Some(session.credentials().await?.0)
    };
    let placeholder = Credentials::token(crate::secret::Secret::new(String::new()));
    let uploader = Uploader::with_timeouts(
        url.clone(),
        credentials.clone().unwrap_or(placeholder),
        inputs.tuning.timeouts,
    )
    .map_err(|source| PipelineError::Upload {
        filename: dists
            .first()
            .map(|d| d.filename.clone())
            .unwrap_or_default(),
        source,
    })?;
    // The upload origin's credentials also read a private simple index on that origin.
    let mut query = IndexQuery::new(simple_url.clone(), inputs.tuning.timeouts.stall)?;
    if let Some(c) = credentials {
        query = query.with_upload_credentials(url, c);
    }
    // Trusted publishing: before each upload attempt, a token near its expiry is re-minted
    // and handed to the uploader (uploads run in parallel, so the session is shared).
    let session = tokio::sync::Mutex::new(session);
    let refresh = || -> idx::RefreshFuture<'_> {
        Box::pin(async {
            let mut s = session.lock().await;
            s.credentials()
                .await
                .map(|(c, fresh)| fresh.then_some(c))
                .map_err(|e| e.to_string())
        })
    };
    let refresh: Option<&idx::Refresh<'_>> = (trusted && !inputs.dry_run).then_some(&refresh);
    let opts = idx::PublishOptions {
        skip_existing: inputs.skip_existing,
        max_parallel: inputs.max_parallel,
        dry_run: inputs.dry_run,
        retry: inputs.tuning.retry,
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
            idx::Event::Done(o) => bars.finish(&o.filename, FileResult::from(&o.status).word()),
            _ => {}
        }
        bars.suspend(|| log_event(rt, url, &e));
    };
    let (outcomes, result) = idx::publish_with(dists, &uploader, &query, &opts, &on, refresh).await;
    for (entry, o) in report.files.iter_mut().zip(outcomes) {
        entry.sha256 = o.sha256;
        entry.url = o.url;
        entry.size = o.size;
        entry.note = o.note;
        entry.result = FileResult::from(&o.status);
    }
    report.parallelism = parallelism.into_inner().unwrap_or_else(|e| e.into_inner());
    result.map_err(|e| PipelineError::Publish(Box::new(e)))?;
    Ok(query)
}

fn log_event(rt: &Runtime, url: &url::Url, e: &idx::Event<'_>) {
    use crate::report::human_size;
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
                idx::Status::Failed(m) => format!("FAILED {}: {m}", o.filename),
                idx::Status::NotAttempted => format!("not attempted: {}", o.filename),
            };
            rt.info(&line);
        }
    }
}
