//! The GitHub Release for a published tag: find it by tag (drafts too), create or update it,
//! and make its assets match the distributions. The words it carries are [`notes`]'.

pub(crate) mod notes;

use std::path::PathBuf;

pub(crate) use notes::{check_template, is_prerelease, TemplateError, DEFAULT_NAME_TEMPLATE};
pub use notes::{render, ReleaseFacts, ReleaseFile, DEFAULT_BODY_TEMPLATE};

use crate::github::models::{Asset as RemoteAsset, Release, ReleaseWrite};
use crate::github::{GitHub, GitHubError, Method};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReleaseError {
    #[error("GitHub Release for tag `{tag}`: {source}")]
    GitHub {
        tag: String,
        #[source]
        source: GitHubError,
    },
    #[error("GitHub Release for tag `{tag}`: the answer to {what} has no `{field}`; is GITHUB_API_URL a GitHub API?")]
    Shape {
        tag: String,
        what: &'static str,
        field: &'static str,
    },
    #[error("asset `{name}` of the GitHub Release for tag `{tag}`: uploaded, but GitHub now holds {found}; delete the asset on the release page and re-run")]
    AssetMismatch {
        tag: String,
        name: String,
        found: String,
    },
}

impl ReleaseError {
    /// The GitHub error underneath, when GitHub answered or could not be reached.
    pub fn github(&self) -> Option<&GitHubError> {
        match self {
            ReleaseError::GitHub { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A file to attach: where it is and what it must be.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub path: PathBuf,
    pub file: ReleaseFile,
}

/// The release as it should be.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseRequest {
    /// `owner/name`.
    pub repo: String,
    pub tag: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
    /// Empty when `release-assets: false`.
    pub assets: Vec<Asset>,
    /// Read what is there, say what would change, write nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssetAction {
    Uploaded,
    /// Already there with the same bytes.
    Kept,
    /// There with other bytes: deleted and uploaded again.
    Replaced,
    WouldUpload,
    WouldReplace,
}

#[derive(Debug, Clone)]
pub(crate) struct ReleaseOutcome {
    /// `html_url`; `None` only for a dry run that would create the release.
    pub url: Option<String>,
    pub created: bool,
    pub assets: Vec<(String, AssetAction)>,
}

/// A field GitHub must have sent.
fn field<T: Clone>(
    value: &Option<T>,
    field: &'static str,
    what: &'static str,
    tag: &str,
) -> Result<T, ReleaseError> {
    value.clone().ok_or_else(|| ReleaseError::Shape {
        tag: tag.to_owned(),
        what,
        field,
    })
}

/// The existing release for `tag`. `GET releases/tags/{tag}` does not find drafts, so a 404
/// is followed by a look through the first page of releases (newest first) for a draft with
/// that `tag_name`: a re-run after a draft must update it, not add a second one.
pub(crate) async fn find(
    gh: &GitHub,
    repo: &str,
    tag: &str,
) -> Result<Option<Release>, ReleaseError> {
    let err = |source| ReleaseError::GitHub {
        tag: tag.to_owned(),
        source,
    };
    let by_tag = gh
        .url(&format!("repos/{repo}/releases/tags/{}", path_segment(tag)))
        .map_err(err)?;
    match gh.get::<Release>(&by_tag).await {
        Ok(page) => return Ok(Some(page.body)),
        Err(e) if e.status() == Some(404) => {}
        Err(e) => return Err(err(e)),
    }
    let list = gh
        .url(&format!("repos/{repo}/releases?per_page=100"))
        .map_err(err)?;
    let page = gh.get::<Vec<Release>>(&list).await.map_err(err)?;
    Ok(page.body.into_iter().find(|r| r.tag_name == tag))
}

/// A tag as one URL path segment (tags may hold `/`).
fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Create or update the release for `req.tag`, then make its assets match `req.assets`.
pub(crate) async fn sync(
    gh: &GitHub,
    req: &ReleaseRequest,
    log: &(dyn Fn(&str) + Sync),
) -> Result<ReleaseOutcome, ReleaseError> {
    let tag = req.tag.as_str();
    let err = |source| ReleaseError::GitHub {
        tag: tag.to_owned(),
        source,
    };
    let payload = ReleaseWrite {
        tag_name: tag,
        name: &req.name,
        body: &req.body,
        draft: req.draft,
        prerelease: req.prerelease,
        // GitHub: "drafts and prereleases cannot be set as latest", so a draft leaves it to
        // whoever publishes it.
        make_latest: (!req.draft).then_some(if req.prerelease { "false" } else { "true" }),
    };
    let flags = format!(
        "{}{}",
        if req.draft { ", draft" } else { "" },
        if req.prerelease {
            ", pre-release, not latest"
        } else {
            ", latest"
        }
    );
    let existing = find(gh, &req.repo, tag).await?;
    if req.dry_run {
        let url = match &existing {
            Some(r) => {
                let url = field(&r.html_url, "html_url", "get release", tag)?;
                log(&format!(
                    "dry run: would update the release for {tag} ({url}) to \"{}\"{flags}",
                    req.name
                ));
                Some(url)
            }
            None => {
                log(&format!(
                    "dry run: would create the release \"{}\" for {tag}{flags}",
                    req.name
                ));
                None
            }
        };
        let current = match &existing {
            Some(r) => list_assets(gh, &req.repo, r, tag).await?,
            None => Vec::new(),
        };
        let mut assets = Vec::new();
        for a in &req.assets {
            let action = match current.iter().find(|c| c.name == a.file.filename) {
                Some(c) if same_asset(c, &a.file) => AssetAction::Kept,
                Some(_) => AssetAction::WouldReplace,
                None => AssetAction::WouldUpload,
            };
            log(&format!(
                "dry run: asset {}: {}",
                a.file.filename,
                action_word(action)
            ));
            assets.push((a.file.filename.clone(), action));
        }
        return Ok(ReleaseOutcome {
            url,
            created: existing.is_none(),
            assets,
        });
    }

    let (release, created) = match existing {
        Some(r) => {
            let id = field(&r.id, "id", "get release", tag)?;
            let url = gh
                .url(&format!("repos/{}/releases/{id}", req.repo))
                .map_err(err)?;
            let updated: Release = gh.write(Method::Patch, &url, &payload).await.map_err(err)?;
            log(&format!(
                "updated the release \"{}\" for {tag}{flags}",
                req.name
            ));
            (updated, false)
        }
        None => {
            let url = gh
                .url(&format!("repos/{}/releases", req.repo))
                .map_err(err)?;
            match gh.write::<Release>(Method::Post, &url, &payload).await {
                Ok(r) => {
                    log(&format!(
                        "created the release \"{}\" for {tag}{flags}",
                        req.name
                    ));
                    (r, true)
                }
                // A POST that failed without a clear answer may still have created it:
                // look again before giving up, never POST twice.
                Err(e) if e.status().is_none_or(|s| s >= 500) => {
                    match find(gh, &req.repo, tag).await? {
                        Some(r) => {
                            log(&format!(
                                "creating the release for {tag} reported `{e}`, but it exists: using it"
                            ));
                            (r, true)
                        }
                        None => return Err(err(e)),
                    }
                }
                Err(e) => return Err(err(e)),
            }
        }
    };
    let html_url = field(&release.html_url, "html_url", "create/update release", tag)?;

    let mut assets = Vec::new();
    if !req.assets.is_empty() {
        let current = list_assets(gh, &req.repo, &release, tag).await?;
        let upload_url = field(
            &release.upload_url,
            "upload_url",
            "create/update release",
            tag,
        )?;
        for a in &req.assets {
            let name = a.file.filename.as_str();
            let there = current.iter().find(|c| c.name == name);
            let action = match there {
                Some(c) if same_asset(c, &a.file) => {
                    log(&format!("asset {name}: already attached, identical; kept"));
                    AssetAction::Kept
                }
                Some(c) => {
                    let id = field(&c.id, "id", "list release assets", tag)?;
                    let url = gh
                        .url(&format!("repos/{}/releases/assets/{id}", req.repo))
                        .map_err(err)?;
                    match gh.delete(&url).await {
                        // Gone already (a retried DELETE whose first answer was lost).
                        Err(e) if e.status() == Some(404) => {}
                        other => other.map_err(err)?,
                    }
                    attach(gh, &req.repo, &release, &upload_url, a, tag).await?;
                    log(&format!(
                        "asset {name}: attached with other bytes; replaced (sha256 {})",
                        a.file.sha256
                    ));
                    AssetAction::Replaced
                }
                None => {
                    attach(gh, &req.repo, &release, &upload_url, a, tag).await?;
                    log(&format!(
                        "asset {name}: uploaded (sha256 {})",
                        a.file.sha256
                    ));
                    AssetAction::Uploaded
                }
            };
            assets.push((name.to_owned(), action));
        }
    }
    Ok(ReleaseOutcome {
        url: Some(html_url),
        created,
        assets,
    })
}

fn action_word(a: AssetAction) -> &'static str {
    match a {
        AssetAction::Uploaded => "uploaded",
        AssetAction::Kept => "kept (identical)",
        AssetAction::Replaced => "replaced",
        AssetAction::WouldUpload => "would upload",
        AssetAction::WouldReplace => "would replace (other bytes attached)",
    }
}

/// Attach one asset. The POST is not repeated blindly: after a failure the assets are listed
/// again, and an uploaded asset with our bytes counts as success.
async fn attach(
    gh: &GitHub,
    repo: &str,
    release: &Release,
    upload_url: &str,
    a: &Asset,
    tag: &str,
) -> Result<(), ReleaseError> {
    let name = a.file.filename.as_str();
    match gh.upload_asset(upload_url, name, &a.path).await {
        Ok(v) if same_asset(&v, &a.file) => Ok(()),
        Ok(v) => Err(ReleaseError::AssetMismatch {
            tag: tag.to_owned(),
            name: name.to_owned(),
            found: format!(
                "size {} and digest {}",
                v.size.map_or_else(|| "null".to_owned(), |s| s.to_string()),
                v.digest.as_deref().unwrap_or("none")
            ),
        }),
        Err(e) => {
            let now = list_assets(gh, repo, release, tag).await?;
            match now.iter().find(|c| c.name == name) {
                Some(c) if c.state.as_deref() == Some("uploaded") && same_asset(c, &a.file) => {
                    Ok(())
                }
                _ => Err(ReleaseError::GitHub {
                    tag: tag.to_owned(),
                    source: e,
                }),
            }
        }
    }
}

async fn list_assets(
    gh: &GitHub,
    repo: &str,
    release: &Release,
    tag: &str,
) -> Result<Vec<RemoteAsset>, ReleaseError> {
    let id = field(&release.id, "id", "get release", tag)?;
    let url = gh
        .url(&format!("repos/{repo}/releases/{id}/assets?per_page=100"))
        .map_err(|source| ReleaseError::GitHub {
            tag: tag.to_owned(),
            source,
        })?;
    let pages: Vec<Vec<RemoteAsset>> =
        gh.get_all(&url)
            .await
            .map_err(|source| ReleaseError::GitHub {
                tag: tag.to_owned(),
                source,
            })?;
    Ok(pages.into_iter().flatten().collect())
}

/// Is the attached asset these bytes? GitHub's `release-asset` schema has
/// `digest: "sha256:<hex>"` (nullable: assets uploaded before GitHub computed digests have
/// none). Without a digest only the size can be compared, which misses a same-size change;
/// a half-finished upload (`state` other than `uploaded`) never counts.
pub(crate) fn same_asset(asset: &RemoteAsset, file: &ReleaseFile) -> bool {
    if asset.state.as_deref().is_some_and(|s| s != "uploaded") {
        return false;
    }
    match &asset.digest {
        Some(d) => d.eq_ignore_ascii_case(&format!("sha256:{}", file.sha256)),
        None => asset.size == Some(file.size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_compare_by_digest_else_by_size() {
        let asset = |v: serde_json::Value| -> RemoteAsset { serde_json::from_value(v).unwrap() };
        let file = ReleaseFile {
            filename: "x.whl".into(),
            size: 3,
            sha256: "ab".repeat(32),
        };
        let digest = format!("sha256:{}", "ab".repeat(32));
        let a = asset(
            serde_json::json!({"name": "x.whl", "state": "uploaded", "size": 3, "digest": digest}),
        );
        assert!(same_asset(&a, &file));
        let other = asset(
            serde_json::json!({"name": "x.whl", "state": "uploaded", "size": 3, "digest": format!("sha256:{}", "cd".repeat(32))}),
        );
        assert!(!same_asset(&other, &file), "same size, other bytes");
        let legacy = asset(
            serde_json::json!({"name": "x.whl", "state": "uploaded", "size": 3, "digest": null}),
        );
        assert!(same_asset(&legacy, &file), "no digest: the size decides");
        let legacy_other = asset(
            serde_json::json!({"name": "x.whl", "state": "uploaded", "size": 4, "digest": null}),
        );
        assert!(!same_asset(&legacy_other, &file));
        let half = asset(
            serde_json::json!({"name": "x.whl", "state": "starter", "size": 3, "digest": digest}),
        );
        assert!(
            !same_asset(&half, &file),
            "an unfinished upload never counts"
        );
    }

    #[test]
    fn tags_are_one_path_segment() {
        assert_eq!(path_segment("v1.2.0"), "v1.2.0");
        assert_eq!(path_segment("release/1.2.0+x y"), "release%2F1.2.0%2Bx%20y");
    }
}
