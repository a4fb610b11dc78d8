//! Stage: the index serves every file with our sha256, then (unless `verify-install: false`)
//! `name==version` installs into a fresh environment and the smoke command runs. The files
//! are public by now, so a failure is a warning unless `verify-strict` — except a served hash
//! that differs from ours, which is always an error.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{RunError, StageError};
use crate::config::{IndexTarget, Settings};
use crate::gha::{Context, Runtime};
use crate::index::IndexQuery;
use crate::verify::{self as v, VerifyError};

/// What verification established.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verified {
    /// The index served every file and the install check passed.
    pub verified: bool,
    /// What verification established, one line per fact.
    pub steps: Vec<String>,
    /// What it found wrong (also a warning or the run's error).
    pub error: Option<String>,
    /// Where the index serves each file (file name -> URL), when it said.
    pub urls: BTreeMap<String, String>,
}

/// The release to verify: its name, version and the files with our sha256.
pub(crate) struct Release<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub files: Vec<(String, String)>,
}

/// `query` is the upload's: verification asks the index with the same connection pool and
/// what it learnt of the index's dialect.
pub(crate) async fn run(
    release: &Release<'_>,
    target: &IndexTarget,
    query: &IndexQuery,
    settings: &Settings,
    ctx: &Context,
    rt: &Runtime,
) -> (Verified, Result<(), RunError>) {
    let mut done = Vec::new();
    let mut urls = BTreeMap::new();
    let run = steps(
        release, target, query, settings, ctx, rt, &mut done, &mut urls,
    )
    .await;
    let (verified, error, result) = match run {
        Ok(()) => (true, None, Ok(())),
        Err(Failure::Check(e)) => (false, Some(e.to_string()), judge(e, settings, rt)),
    };
    let outcome = Verified {
        verified,
        steps: done,
        error,
        urls,
    };
    (outcome, result)
}

/// A failed check fails the run only when it must: a served hash that is not ours, or
/// `verify-strict`; otherwise it is a warning (the files are already public).
fn judge(e: VerifyError, settings: &Settings, rt: &Runtime) -> Result<(), RunError> {
    let hard = matches!(e, VerifyError::HashMismatch { .. });
    if hard || settings.verify_strict {
        Err(StageError::Verify(e).into())
    } else {
        rt.warning(&format!(
            "verification failed (a warning: the files are already public; set `verify-strict: true` to fail the run): {e}"
        ));
        Ok(())
    }
}

enum Failure {
    /// A check failed.
    Check(VerifyError),
}

#[allow(clippy::too_many_arguments)]
async fn steps(
    release: &Release<'_>,
    target: &IndexTarget,
    query: &IndexQuery,
    settings: &Settings,
    ctx: &Context,
    rt: &Runtime,
    steps: &mut Vec<String>,
    urls: &mut BTreeMap<String, String>,
) -> Result<(), Failure> {
    let (name, version) = (release.name, release.version);
    let simple_url = &target.index_url;
    let query = query.with_timeout(Duration::from_secs(60));
    let check = v::ServeCheck {
        project: name.to_owned(),
        version: version.to_owned(),
        files: release.files.clone(),
        timeout: settings.verify_timeout,
        interval: settings.tuning.verify_interval,
    };
    let served = v::wait_until_served(&query, &check, &|l| rt.info(l))
        .await
        .map_err(Failure::Check)?;
    steps.push(format!(
        "the index serves every file with our sha256 (after {:.1}s)",
        served.after.as_secs_f64()
    ));
    *urls = served.urls;
    if !settings.verify_install {
        return Ok(());
    }
    let Some(installer) = v::Installer::detect(std::env::var_os("PATH").as_deref()) else {
        return Err(Failure::Check(VerifyError::Spawn {
            program: "uv or python3".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not on PATH"),
        }));
    };
    let base = ctx.runner_temp.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = v::scratch_dir(&base).map_err(Failure::Check)?;
    // A TestPyPI install finds its dependencies on PyPI.
    let extra = settings.dependency_index(target).map(|u| u.to_string());
    let install = v::InstallCheck {
        installer,
        name: name.to_owned(),
        version: version.to_owned(),
        index_url: simple_url.to_string(),
        extra_index_url: extra,
        commands: settings.verify_commands.clone(),
        workdir: scratch.path().to_path_buf(),
        timeout: settings.verify_timeout,
    };
    let r = v::install_and_smoke(&install)
        .await
        .map_err(Failure::Check)?;
    rt.info(&format!(
        "installed {name}=={version} with {} from {simple_url}",
        r.installer
    ));
    steps.push(format!(
        "`{name}=={version}` installs into a fresh environment ({})",
        r.installer
    ));
    for (cmd, out) in &r.command_outputs {
        rt.info(&format!("$ {cmd}\n{out}"));
        steps.push(format!("`{cmd}` runs (exit 0)"));
    }
    Ok(())
}
