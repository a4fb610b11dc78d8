//! `sdd-publish run`: the stages in order, folded into a [`Report`].
//!
//! This is the only module that knows the order. Each stage is a function from typed input
//! to typed output; every check that could stop the release runs before the first byte is
//! uploaded, so a run never leaves half a release behind when a check could have caught it.

use std::path::{Path, PathBuf};

use crate::dist::{self, Discovery, Distribution};
use crate::gha::{Annotation, Context, Inputs, Level, Runtime};
use crate::index::{Credentials, Uploader};
use crate::plan::{self, Pattern, Plan, PlanInput, Target};
use crate::report::{FileEntry, FileResult, Report};
use crate::secret::Secret;
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
    #[error("publishing to {label} needs a token: set the `{input}` input (e.g. `{input}: ${{{{ secrets.{secret} }}}}`) from a repository secret holding an API token for {label}")]
    MissingToken {
        label: &'static str,
        input: &'static str,
        secret: &'static str,
    },
    #[error("upload of `{filename}` failed: {source}")]
    Upload {
        filename: String,
        source: crate::index::UploadError,
    },
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
        ..Report::default()
    };
    let result = stages(rc, &mut report).await;
    if let Err(e) = &result {
        report.error = Some(e.to_string());
    }
    (report, result)
}

async fn stages(rc: &RunContext<'_>, report: &mut Report) -> Result<(), PipelineError> {
    let RunContext {
        ctx, inputs, rt, ..
    } = rc;

    rt.group_start("Plan");
    let plan = decide(ctx, inputs);
    rt.info(&format!("{} (target: {})", plan.reason, plan.target));
    rt.group_end();
    report.plan = Some(plan.clone());
    if !plan.should_publish() || inputs.plan_only {
        return Ok(());
    }

    // Configuration before any file work: a missing token is known without reading a byte.
    let (url, token) = target_endpoint(inputs, plan.target)?;
    report.index_url = Some(url.to_string());

    rt.group_start("Check distributions");
    let dir = rc.cwd.join(&inputs.packages_dir);
    let checked = check(&dir, &plan, &inputs.tag_pattern, rt, report);
    rt.group_end();
    let dists = checked?;

    rt.group_start(&format!("Upload to {}", plan.target.label()));
    let uploaded = upload(&dists, url, token, inputs.dry_run, rt, report).await;
    rt.group_end();
    uploaded
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

fn target_endpoint(inputs: &Inputs, target: Target) -> Result<(&url::Url, &Secret), PipelineError> {
    let (url, token, label, input, secret) = match target {
        Target::Pypi => (
            &inputs.pypi_url,
            &inputs.pypi_token,
            "PyPI",
            "pypi-token",
            "PYPI_API_TOKEN",
        ),
        _ => (
            &inputs.testpypi_url,
            &inputs.testpypi_token,
            "TestPyPI",
            "testpypi-token",
            "TEST_PYPI_API_TOKEN",
        ),
    };
    match token {
        Some(t) => Ok((url, t)),
        None => Err(PipelineError::MissingToken {
            label,
            input,
            secret,
        }),
    }
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
        })
        .collect();
    for p in &problems {
        rt.annotate(
            if p.is_error() {
                Level::Error
            } else {
                Level::Warning
            },
            &format!("{} Fix: {}", p.message, p.fix),
            &Annotation {
                title: Some(p.rule.to_string()),
                file: Some(p.path.display().to_string()),
                line: None,
            },
        );
    }
    report.problems = problems;
    let errors = report.problems.iter().filter(|p| p.is_error()).count();
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

/// Stage: upload, wheels before the sdist (discovery already orders them so; PyPI takes the
/// release's metadata from the first file), stopping at the first failure.
async fn upload(
    dists: &[Distribution],
    url: &url::Url,
    token: &Secret,
    dry_run: bool,
    rt: &Runtime,
    report: &mut Report,
) -> Result<(), PipelineError> {
    debug_assert!(dists.windows(2).all(|w| w[0].kind <= w[1].kind));
    let uploader = Uploader::new(
        url.clone(),
        Credentials {
            username: "__token__".into(),
            password: token.clone(),
        },
    )
    .map_err(|source| PipelineError::Upload {
        filename: dists
            .first()
            .map(|d| d.filename.clone())
            .unwrap_or_default(),
        source,
    })?;
    for (i, d) in dists.iter().enumerate() {
        if dry_run {
            let digests = crate::index::digest_file(&d.path).await.ok();
            report.files[i].sha256 = digests.map(|g| g.sha256);
            report.files[i].result = FileResult::WouldUpload;
            rt.info(&format!("would upload {} to {url}", d.filename));
            continue;
        }
        match uploader.upload(d).await {
            Ok(up) => {
                rt.info(&format!(
                    "uploaded {} ({}, sha256 {})",
                    up.filename,
                    crate::report::human_size(up.size),
                    up.sha256
                ));
                report.files[i].sha256 = Some(up.sha256);
                report.files[i].result = FileResult::Uploaded;
            }
            Err(source) => {
                // The caller reports the error once; the report keeps it per file.
                report.files[i].result = FileResult::Failed(source.to_string());
                return Err(PipelineError::Upload {
                    filename: d.filename.clone(),
                    source,
                });
            }
        }
    }
    Ok(())
}
