//! The long description: twine `--strict`'s two warnings, and reStructuredText rendered the
//! way PyPI renders it. PyPI refuses an upload whose rst description does not render
//! (warehouse calls `readme_renderer` with no fallback), and `readme_renderer` fails on any
//! docutils warning — a rule set no Rust renderer reproduces faithfully, so `check` asks the
//! reference renderer itself (one Python process for all files) and says "could not check"
//! when it is not installed. Markdown and plain text always render.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::*;
use crate::dist::CoreMetadata;

/// Environment variable naming the Python that has `readme_renderer` (default `python3`).
pub const PYTHON_ENV: &str = "SDD_PUBLISH_PYTHON";

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

/// The reference renderer's verdict on one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    Ok,
    /// The docutils messages that made rendering fail.
    Failed(String),
}

const SCRIPT: &str = r#"
import io, json, sys
try:
    from readme_renderer.rst import render
except Exception as e:
    print(json.dumps({"unavailable": "readme_renderer is not importable: %r" % (e,)}))
    sys.exit(0)
out = []
for text in json.load(sys.stdin):
    stream = io.StringIO()
    ok = render(text, stream=stream) is not None
    out.append({"ok": ok, "messages": stream.getvalue()})
print(json.dumps({"results": out}))
"#;

/// Render every text with `readme_renderer`: identical texts once (a wheel and its sdist
/// share a description), spread over one Python process per core, since docutils is slow
/// (tens of ms per README, up to a second for a long one). `Err` says why it could not be
/// checked (no Python, no readme_renderer).
pub fn render_rst(texts: &[String]) -> Result<Vec<Rendered>, String> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let mut unique: Vec<&String> = texts.iter().collect();
    unique.sort();
    unique.dedup();
    // Longest first, dealt round-robin, so the processes finish at about the same time.
    unique.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(unique.len().div_ceil(4))
        .max(1);
    let mut chunks: Vec<Vec<String>> = vec![Vec::new(); workers];
    for (i, t) in unique.iter().enumerate() {
        chunks[i % workers].push((*t).clone());
    }
    let results: Vec<Result<Vec<Rendered>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|c| scope.spawn(move || render_in_one_process(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("renderer thread failed".into()))
            })
            .collect()
    });
    let mut verdicts: std::collections::HashMap<&str, Rendered> = std::collections::HashMap::new();
    for (chunk, result) in chunks.iter().zip(results) {
        for (text, r) in chunk.iter().zip(result?) {
            verdicts.insert(text.as_str(), r);
        }
    }
    texts
        .iter()
        .map(|t| {
            verdicts
                .get(t.as_str())
                .cloned()
                .ok_or_else(|| "the renderer skipped a text".to_string())
        })
        .collect()
}

fn render_in_one_process(texts: &[String]) -> Result<Vec<Rendered>, String> {
    let python = std::env::var_os(PYTHON_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", python.display()))?;
    let input = serde_json::to_vec(texts).map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{}` failed: {e}", python.display()))?;
    let _ = writer.join();
    #[derive(serde::Deserialize)]
    struct Reply {
        unavailable: Option<String>,
        results: Option<Vec<Item>>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        ok: bool,
        messages: String,
    }
    let reply: Reply = serde_json::from_slice(&out.stdout).map_err(|_| {
        format!(
            "`{}` did not answer: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )
    })?;
    if let Some(why) = reply.unavailable {
        return Err(why);
    }
    let results = reply.results.unwrap_or_default();
    if results.len() != texts.len() {
        return Err("the renderer answered for the wrong number of texts".into());
    }
    Ok(results
        .into_iter()
        .map(|r| {
            if r.ok {
                Rendered::Ok
            } else {
                Rendered::Failed(r.messages.trim().to_string())
            }
        })
        .collect())
}

/// Render the rst descriptions of many files at once; push one problem per failure, or a
/// "could not check" warning per file when the renderer is missing.
pub fn check_rst(jobs: Vec<(PathBuf, String)>, out: &mut Vec<crate::dist::Problem>) {
    if jobs.is_empty() {
        return;
    }
    let texts: Vec<String> = jobs.iter().map(|(_, t)| t.clone()).collect();
    match render_rst(&texts) {
        Ok(results) => {
            for ((path, _), r) in jobs.into_iter().zip(results) {
                if let Rendered::Failed(msg) = r {
                    let msg = if msg.is_empty() {
                        "no message".to_string()
                    } else {
                        msg.replace('\n', " ")
                    };
                    out.push(crate::dist::Problem::error(
                        path,
                        DESCRIPTION_RST_INVALID,
                        format!("the long description is reStructuredText (explicitly or by default) and does not render as PyPI renders it: {msg}"),
                        "fix the README markup (run `python -m readme_renderer README.rst`), or if it is Markdown set `readme = \"README.md\"` so the content type says so; then rebuild",
                    ));
                }
            }
        }
        Err(why) => {
            for (path, _) in jobs {
                out.push(crate::dist::Problem::warning(
                    path,
                    DESCRIPTION_UNCHECKED,
                    format!("could not check that the reStructuredText description renders: {why}"),
                    format!("install the reference renderer (`pip install readme_renderer`) for the Python `check` runs (set {PYTHON_ENV} to choose it)"),
                ));
            }
        }
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
