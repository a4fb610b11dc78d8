//! Stage: the pre-flight, after the check and before any upload. The checked files install
//! into a fresh environment (the wheel that fits the runner, else the sdist), `verify-command`
//! runs there line by line, then `test-command` in the workspace against the installed
//! package. A failure stops the run with nothing uploaded, and says so in one error, a row
//! of the Problems table and the `reason` output. It changes nothing on the index, so a dry
//! run does it too.

use std::ffi::OsString;
use std::path::Path;

use super::{RunError, StageError};
use crate::config::{IndexTarget, PreflightSettings, Requirement, Settings};
use crate::dist::{Distribution, Problem};
use crate::gha::{Context, Runtime};
use crate::verify::preflight::{self as pf, PreflightError, PreflightReport};
use crate::verify::{EnvError, Installer};

/// What the pre-flight established, and the problem it found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preflighted {
    pub report: PreflightReport,
    /// The failure as a row of the Problems table.
    pub problem: Option<Problem>,
}

/// The release to try: its name, version and files.
pub(crate) struct Candidate<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub dists: &'a [Distribution],
}

pub(crate) async fn run(
    candidate: &Candidate<'_>,
    preflight: &PreflightSettings,
    target: &IndexTarget,
    settings: &Settings,
    ctx: &Context,
    workspace: &Path,
    rt: &Runtime,
) -> (Preflighted, Result<(), RunError>) {
    let (report, result) =
        match try_run(candidate, preflight, target, settings, ctx, workspace, rt).await {
            Ok((report, result)) => (report, result),
            Err(e) => (PreflightReport::default(), Err(e)),
        };
    let Err(error) = result else {
        return (
            Preflighted {
                report,
                problem: None,
            },
            Ok(()),
        );
    };
    let test = preflight
        .test_commands
        .iter()
        .any(|c| error.command() == Some(c.as_str()));
    let error = StageError::Preflight { error, test };
    let fix = error.fix().unwrap_or_default();
    let file = report
        .installed
        .clone()
        .unwrap_or_else(|| "pre-flight".into());
    let problem = Problem::error(file, rule(&error), error.to_string(), fix);
    (
        Preflighted {
            report,
            problem: Some(problem),
        },
        Err(error.into()),
    )
}

/// The Problems table's rule id for a pre-flight failure.
fn rule(e: &StageError) -> &'static str {
    match e {
        StageError::Preflight {
            error: PreflightError::Command { .. },
            test: false,
        } => "preflight-smoke-command",
        StageError::Preflight {
            error: PreflightError::Command { .. },
            test: true,
        } => "preflight-test-command",
        StageError::Preflight {
            error: PreflightError::SourceTree { .. } | PreflightError::NotImported { .. },
            ..
        } => "preflight-not-installed-package",
        _ => "preflight-install",
    }
}

type Ran = (PreflightReport, Result<(), PreflightError>);

async fn try_run(
    candidate: &Candidate<'_>,
    preflight: &PreflightSettings,
    target: &IndexTarget,
    settings: &Settings,
    ctx: &Context,
    workspace: &Path,
    rt: &Runtime,
) -> Result<Ran, PreflightError> {
    let Some(installer) = Installer::detect(std::env::var_os("PATH").as_deref()) else {
        return Err(EnvError::Spawn {
            program: "uv or python3".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not on PATH"),
        }
        .into());
    };
    let base = ctx.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = crate::verify::scratch_dir_for(&base, "sdd-publish-preflight")?;
    let mut extras = Vec::new();
    let mut requirements: Vec<OsString> = Vec::new();
    for r in &preflight.requirements {
        match r {
            Requirement::Extras(e) => extras.extend(e.iter().cloned()),
            Requirement::File(f) => {
                pf::screen_requirements(&workspace.join(f))?;
                requirements.push("-r".into());
                requirements.push(workspace.join(f).into_os_string());
            }
            Requirement::Spec(s) => requirements.push(s.into()),
        }
    }
    let p = pf::Preflight {
        installer,
        name: candidate.name.to_owned(),
        version: candidate.version.to_owned(),
        dists: candidate.dists.to_vec(),
        index_url: target.index_url.to_string(),
        extra_index_url: settings.dependency_index(target).map(|u| u.to_string()),
        extras,
        requirements,
        smoke_commands: settings.verify_commands.clone(),
        test_commands: preflight.test_commands.clone(),
        workspace: workspace.to_path_buf(),
        workdir: scratch.path().to_path_buf(),
        timeout: settings.verify_timeout,
    };
    let (report, result) = pf::run_preflight(&p, &|l| rt.info(l)).await;
    if result.is_ok() {
        rt.info(&format!(
            "pre-flight passed: {} installs and every command ran (exit 0); nothing was uploaded yet",
            report.installed.as_deref().unwrap_or("the release")
        ));
    }
    Ok((report, result))
}
