//! Stage: create or update the GitHub Release for the tag, with the changelog section,
//! install commands and file hashes, and the distributions attached.

use std::path::{Path, PathBuf};

use super::{RunError, StageError};
use crate::config::ReleaseSettings;
use crate::dist::{DistError, Distribution};
use crate::gha::{Context, Runtime};
use crate::github_release::notes::{self, Notes};
use crate::github_release::{Asset, ReleaseFacts, ReleaseFile, ReleaseOutcome, ReleaseRequest};
use crate::secret::Secret;

/// The release to make: a tag, and what was published for it.
pub(crate) struct Published<'a> {
    pub tag: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    /// The version's page on the index.
    pub project_url: &'a str,
    pub dists: &'a [Distribution],
    /// (filename, size, sha256) as the upload recorded them: the upload may have swapped in
    /// the published copy of a rebuilt file, so these win over the local file's.
    pub uploaded: &'a [(String, u64, Option<String>)],
    /// The PEP 740 attestations this run saved (`<file>.publish.attestation`), attached
    /// beside their files for anyone verifying a download from the release.
    pub attestations: &'a [PathBuf],
}

/// A named notes file must be readable before anything is uploaded.
pub(crate) fn preflight(settings: &ReleaseSettings, workspace: &Path) -> Result<(), RunError> {
    match &settings.notes_file {
        Some(f) => {
            notes::check_notes_file(&workspace.join(f)).map_err(|e| StageError::NotesFile(e).into())
        }
        None => Ok(()),
    }
}

pub(crate) async fn run(
    p: &Published<'_>,
    settings: &ReleaseSettings,
    dry_run: bool,
    ctx: &Context,
    token: Option<&Secret>,
    workspace: &Path,
    rt: &Runtime,
) -> Result<ReleaseOutcome, RunError> {
    if ctx.repository.is_empty() {
        return Err(StageError::NoRepository.into());
    }
    let (name, version) = (p.name, p.version);
    let parsed = crate::version::parse(version)?;
    let notes = notes::choose(settings.notes_file.as_deref(), workspace, &parsed);
    match &notes {
        Notes::Section { path, .. } => rt.info(&format!(
            "release notes: the {version} section of {}",
            path.display()
        )),
        Notes::NoSection { path } => rt.warning(&format!(
            "{} has no section for {version} (e.g. `## [{version}] - date`); the release has no changelog notes",
            path.display()
        )),
        Notes::Unreadable { path, error } => rt.warning(&format!(
            "no release notes: cannot read {} ({error}); set `release-notes-file` to your changelog",
            path.display()
        )),
    }
    let mut files = Vec::new();
    for d in p.dists {
        let entry = p.uploaded.iter().find(|(f, ..)| *f == d.filename);
        let size = entry.map_or(d.size, |(_, size, _)| *size);
        let sha256 = match entry.and_then(|(.., sha)| sha.clone()) {
            Some(s) => s,
            None => sha256_of(&d.path).await?,
        };
        files.push(ReleaseFile {
            filename: d.filename.clone(),
            size,
            sha256,
        });
    }
    let facts = ReleaseFacts {
        name,
        version,
        tag: p.tag,
        project_url: p.project_url,
        changelog: notes.section(),
        files: &files,
    };
    // Templates were checked when the settings were read; a failure here is still an error.
    let title = crate::github_release::render(&settings.name_template, &facts)?;
    let body = crate::github_release::render(&settings.body_template, &facts)?;
    let request = ReleaseRequest {
        repo: ctx.repository.clone(),
        tag: p.tag.to_owned(),
        name: title,
        body,
        draft: settings.draft,
        prerelease: crate::github_release::is_prerelease(&parsed),
        assets: if settings.assets {
            let mut assets: Vec<_> = p
                .dists
                .iter()
                .zip(&files)
                .map(|(d, f)| Asset {
                    path: d.path.clone(),
                    file: f.clone(),
                })
                .collect();
            for path in p.attestations {
                assets.push(Asset {
                    file: ReleaseFile {
                        filename: path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        size: std::fs::metadata(path).map_or(0, |m| m.len()),
                        sha256: sha256_of(path).await?,
                    },
                    path: path.clone(),
                });
            }
            assets
        } else {
            Vec::new()
        },
        dry_run,
    };
    let logger = rt.clone();
    let gh = crate::github::GitHub::new(&ctx.api_url, token.cloned())?
        .with_logger(move |m| logger.info(m));
    let outcome = crate::github_release::sync(&gh, &request, &|line| rt.info(line)).await?;
    if let Some(url) = &outcome.url {
        rt.info(&format!("GitHub Release: {url}"));
    }
    Ok(outcome)
}

/// A local file's sha256, for a file the upload did not record.
async fn sha256_of(path: &Path) -> Result<String, RunError> {
    let digests = crate::index::digest_file(path).await.map_err(|source| {
        StageError::Dist(DistError::Io {
            path: path.to_owned(),
            source,
        })
    })?;
    Ok(digests.sha256)
}
