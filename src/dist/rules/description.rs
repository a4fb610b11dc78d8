//! The long description: twine `--strict`'s two warnings, and reStructuredText rendered the
//! way PyPI renders it. PyPI refuses an upload whose rst description does not render
//! (warehouse calls `readme_renderer` with no fallback), and `readme_renderer` fails on any
//! docutils warning — a rule set no Rust renderer reproduces faithfully, so `check` asks the
//! reference renderer itself (`dist::render`, which installs it when missing). Markdown and
//! plain text always render.

use std::path::PathBuf;

use super::*;
use crate::dist::render::{self, RenderError, Rendered, MODE_ENV};
use crate::dist::CoreMetadata;

/// twine `--strict`: these are warnings here; [`apply_strict`] makes them errors.
pub fn strict(meta: &CoreMetadata, sink: &mut Sink) {
    if meta.description().is_none_or(|d| d.trim().is_empty()) {
        sink.warning(
            DESCRIPTION_MISSING,
            "has no long description; PyPI will show an empty project page (twine --strict fails on this)".to_string(),
            "set `readme = \"README.md\"` in pyproject.toml's [project] table and rebuild",
        );
    }
    if meta.get("Description-Content-Type").is_none() {
        sink.warning(
            DESCRIPTION_CONTENT_TYPE_MISSING,
            "has no `Description-Content-Type`, so PyPI renders the description as reStructuredText (twine --strict fails on this)".to_string(),
            "set `readme` in pyproject.toml to a file with a .md, .rst or .txt suffix (the backend then writes the content type) and rebuild",
        );
    }
}

/// The text PyPI would render as reStructuredText, if any: the description when the content
/// type is `text/x-rst` or absent. A description from the legacy `Description:` header has
/// the 8-space indentation of its continuation lines removed, as old setuptools wrote it and
/// as the upload client strips it.
pub fn rst_text(meta: &CoreMetadata) -> Option<String> {
    let ct = meta.get("Description-Content-Type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if ct.as_deref().is_some_and(|c| c != "text/x-rst") {
        return None;
    }
    if let Some(body) = &meta.body {
        return Some(body.clone());
    }
    let header = meta.get("Description")?;
    if header.trim().is_empty() {
        return None;
    }
    Some(dedent_legacy(header))
}

/// Remove the 8 spaces (or 7 and a `|`, as setuptools 36–38 wrote) that prefix every
/// continuation line of a header description.
pub fn dedent_legacy(text: &str) -> String {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push(line);
        } else if let Some(rest) = line.strip_prefix("        ") {
            out.push(rest);
        } else if let Some(rest) = line.strip_prefix("       |") {
            out.push(rest);
        } else {
            out.push(line);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// The rst descriptions of a run, rendered as they are found: the first one starts the
/// reference renderer ([`render::Batch`]), so rendering overlaps reading the other archives.
#[derive(Default)]
pub struct RstChecks {
    jobs: Vec<PathBuf>,
    /// `None` until the first text; then the batch (`None` when rendering is turned off),
    /// or why the settings are bad.
    run: Option<Result<Option<render::Batch>, RenderError>>,
}

impl RstChecks {
    pub fn add(&mut self, path: PathBuf, text: &str) {
        let run = self.run.get_or_insert_with(|| {
            render::Settings::from_env().map(|s| (!s.skip).then(|| render::Batch::start(&s)))
        });
        if let Ok(Some(batch)) = run {
            batch.submit(text);
        }
        self.jobs.push(path);
    }

    /// Push one problem per description that does not render. With rendering turned off
    /// (`SDD_PUBLISH_RENDERER=skip`) each gets a "could not check" warning instead. `Err`
    /// when no renderer could be had: the run cannot give PyPI's verdict, and says so once.
    pub fn finish(self, out: &mut Vec<crate::dist::Problem>) -> Result<(), RenderError> {
        let Some(run) = self.run else {
            return Ok(());
        };
        let Some(batch) = run? else {
            for path in self.jobs {
                out.push(crate::dist::Problem::warning(
                    path,
                    DESCRIPTION_UNCHECKED,
                    format!("the reStructuredText description was not rendered ({MODE_ENV}=skip), so whether PyPI can render it is unknown"),
                    format!("unset {MODE_ENV} so `check` renders it with the reference renderer"),
                ));
            }
            return Ok(());
        };
        for (path, r) in self.jobs.into_iter().zip(batch.finish()?) {
            if let Rendered::Failed(msg) = r {
                out.push(crate::dist::Problem::error(
                    path,
                    DESCRIPTION_RST_INVALID,
                    format!(
                        "the long description is reStructuredText (explicitly or by default) and does not render as PyPI renders it — PyPI would refuse the upload (\"The description failed to render\"): {}",
                        msg.replace('\n', " ")
                    ),
                    "fix the README markup (run `python -m readme_renderer README.rst`), or if it is Markdown set `readme = \"README.md\"` so the content type says so; then rebuild",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_description_is_dedented() {
        let meta = crate::dist::metadata::parse(
            b"Metadata-Version: 1.1\nName: a\nVersion: 1\nDescription: Title\n        =====\n        \n        text\n",
        )
        .unwrap();
        assert_eq!(rst_text(&meta).unwrap(), "Title\n=====\n\ntext\n");
    }

    #[test]
    fn markdown_is_not_rst() {
        let meta = crate::dist::metadata::parse(
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription-Content-Type: text/markdown\n\n# x\n",
        )
        .unwrap();
        assert_eq!(rst_text(&meta), None);
    }
}
