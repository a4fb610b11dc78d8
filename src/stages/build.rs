//! Stage: run the `build` command, first stamping a unique dev version for TestPyPI when
//! `dev-version` is on.

use std::path::Path;

use super::RunError;
use crate::config::Settings;
use crate::gha::{Context, Runtime};
use crate::plan::Target;

/// What the build did.
#[derive(Debug, Clone)]
pub(crate) struct BuildOutcome {
    /// The dev version stamped before the build, if any.
    pub stamped: Option<String>,
}

pub(crate) async fn run(
    command: &str,
    settings: &Settings,
    target: Target,
    ctx: &Context,
    project_dir: &Path,
    rt: &Runtime,
) -> Result<BuildOutcome, RunError> {
    let cfg = crate::build::BuildConfig {
        command: command.to_owned(),
        project_dir: project_dir.to_path_buf(),
        dev_version: settings.dev_version && target == Target::Testpypi,
        version_files: settings.version_files.clone(),
        run_number: ctx.run_number.unwrap_or(0),
        run_attempt: ctx.run_attempt.unwrap_or(1),
        tag_pattern: settings.tag_pattern.clone(),
    };
    let built = crate::build::build(&cfg, &|line| rt.info(line)).await?;
    Ok(BuildOutcome {
        stamped: built.stamped.map(|v| v.to_string()),
    })
}
