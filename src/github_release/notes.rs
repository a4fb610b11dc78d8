//! A GitHub Release's words: the notes, from the project's changelog, and the name and body
//! templates that wrap them. Pure text; nothing here talks to GitHub.
//!
//! The notes come from the project's changelog — the section whose heading names this version
//! (Keep a Changelog, release-please, towncrier, plain `## v1.2.0`, setext and reStructuredText
//! underlines alike), compared under PEP 440 so `## [1.0.0-rc.1]` is found for `1.0.0rc1` —
//! followed by the links and hashes a user needs to trust and install the release.

use std::path::{Path, PathBuf};

use pep440_rs::Version;

/// What a release says about one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFile {
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

/// Everything the body template can name.
#[derive(Debug, Clone)]
pub struct ReleaseFacts<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub tag: &'a str,
    /// The version's page on the index, e.g. `https://pypi.org/project/x/1.0/`.
    pub project_url: &'a str,
    /// The changelog section, when one was found.
    pub changelog: Option<&'a str>,
    pub files: &'a [ReleaseFile],
}

pub const DEFAULT_NAME_TEMPLATE: &str = "v{version}";
pub const DEFAULT_BODY_TEMPLATE: &str =
    "{changelog}\n\n## Install\n\n{install}\n\n{project_url}\n\n## Files\n\n{files}\n";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{placeholder}}}`; known: {known}")]
    UnknownPlaceholder { placeholder: String, known: String },
}

/// Whether GitHub should mark the release as a pre-release: any PEP 440 pre- or dev-release.
pub fn is_prerelease(version: &Version) -> bool {
    version.any_prerelease()
}

/// A heading found in a changelog: its level (1 = top) and its text.
#[derive(Debug, Clone, PartialEq)]
struct Heading<'a> {
    line: usize,
    level: u8,
    text: &'a str,
    /// Lines the heading itself occupies (2 for setext / underlined headings).
    span: usize,
}

/// Headings in Markdown (ATX `## x`, setext `x\n---`) and reStructuredText (underlined,
/// optionally overlined). For underlines, levels follow first appearance of each character,
/// as docutils assigns them.
fn headings<'a>(lines: &[&'a str]) -> Vec<Heading<'a>> {
    let mut out = Vec::new();
    let mut underline_levels: Vec<char> = Vec::new();
    let mut in_fence = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_end();
        if trimmed.trim_start().starts_with("```") || trimmed.trim_start().starts_with("~~~") {
            in_fence = !in_fence;
            i += 1;
            continue;
        }
        if in_fence {
            i += 1;
            continue;
        }
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') && !line.starts_with(' ')
        {
            let text = trimmed[hashes..].trim().trim_end_matches('#').trim();
            out.push(Heading {
                line: i,
                level: hashes as u8,
                text,
                span: 1,
            });
            i += 1;
            continue;
        }
        if let Some(next) = lines.get(i + 1) {
            if !trimmed.trim().is_empty() && is_underline(next, trimmed.trim().chars().count()) {
                let c = next.trim().chars().next().unwrap_or('-');
                let level = match underline_levels.iter().position(|&u| u == c) {
                    Some(p) => p,
                    None => {
                        underline_levels.push(c);
                        underline_levels.len() - 1
                    }
                };
                out.push(Heading {
                    line: i,
                    level: (level + 1).min(6) as u8,
                    text: trimmed.trim(),
                    span: 2,
                });
                i += 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// `-----`, `=====`, `~~~~` and the other rst adornments, at least as long as the title
/// (Markdown setext allows shorter, but only `=`/`-`).
fn is_underline(line: &str, title_len: usize) -> bool {
    let t = line.trim_end();
    let Some(c) = t.chars().next() else {
        return false;
    };
    if !t.chars().all(|x| x == c) || t.len() < 3 {
        return false;
    }
    match c {
        '=' | '-' => true,
        '~' | '^' | '"' | '*' | '+' | '#' | '`' | '\'' | ':' | '.' | '_' => {
            t.chars().count() >= title_len
        }
        _ => false,
    }
}

/// Does this heading text name `version`? Tokens are split on whitespace and brackets, a
/// leading `v` and a trailing `:`/`,` are dropped, and each is compared under PEP 440; links
/// (`[1.2.0](https://...)`) count by their text, not their URL.
fn names_version(text: &str, version: &Version) -> bool {
    let without_urls: String = {
        // Drop `(http...)` link targets so a compare URL's `v1.1.0...v1.2.0` can't match.
        let mut s = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("](") {
            s.push_str(&rest[..start + 1]);
            match rest[start..].find(')') {
                Some(end) => rest = &rest[start + end + 1..],
                None => {
                    rest = "";
                }
            }
        }
        s.push_str(rest);
        s
    };
    without_urls
        .split(|c: char| c.is_whitespace() || "[]()`*_,:;".contains(c))
        .filter(|t| !t.is_empty())
        .any(|token| {
            let token = token.trim_start_matches(['v', 'V']);
            token.starts_with(|c: char| c.is_ascii_digit())
                && token.parse::<Version>().is_ok_and(|v| &v == version)
        })
}

/// The changelog section for `version`: the lines after its heading up to the next heading of
/// the same or a higher level, trimmed. `None` when no heading names the version.
pub fn extract_section(changelog: &str, version: &Version) -> Option<String> {
    let lines: Vec<&str> = changelog.lines().collect();
    let heads = headings(&lines);
    let (idx, head) = heads
        .iter()
        .enumerate()
        .find(|(_, h)| names_version(h.text, version))?;
    let start = head.line + head.span;
    let end = heads[idx + 1..]
        .iter()
        .find(|h| h.level <= head.level)
        .map_or(lines.len(), |h| {
            // An overlined rst title starts one line above its text.
            let above = h.line.checked_sub(1).and_then(|l| lines.get(l));
            match above {
                Some(a) if h.span == 2 && is_underline(a, h.text.len()) => h.line - 1,
                _ => h.line,
            }
        });
    let body = lines[start.min(end)..end].join("\n");
    let body = body.trim_matches('\n').trim_end();
    Some(body.to_owned())
}

/// Read a changelog file and extract the section; `Ok(None)` when the file exists but has no
/// section for the version (a warning for the caller, not an error).
pub fn section_from_file(path: &Path, version: &Version) -> std::io::Result<Option<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(extract_section(&text, version))
}

/// An explicitly named notes file that cannot be read as UTF-8 text.
#[derive(Debug, thiserror::Error)]
#[error("`{}` cannot be read: {source}", path.display())]
pub struct NotesFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// An explicitly named notes file must be readable UTF-8 text. Checked before anything is
/// uploaded, so a typo in the path does not leave a release without its notes (or a publish
/// without its release).
pub fn check_notes_file(path: &Path) -> Result<(), NotesFileError> {
    std::fs::read_to_string(path)
        .map(drop)
        .map_err(|source| NotesFileError {
            path: path.to_path_buf(),
            source,
        })
}

/// Where a release's notes came from, and what was found there.
#[derive(Debug)]
pub enum Notes {
    /// The version's section of `path`.
    Section { path: PathBuf, text: String },
    /// `path` has no heading naming the version.
    NoSection { path: PathBuf },
    /// `path` could not be read (only the default `CHANGELOG.md` gets this far: a named file
    /// was checked before the upload).
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Notes {
    /// The changelog section, when one was found.
    pub fn section(&self) -> Option<&str> {
        match self {
            Notes::Section { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// The notes for `version`: from `notes_file` when one is named, else `CHANGELOG.md`, both
/// relative to `workspace`.
pub fn choose(notes_file: Option<&Path>, workspace: &Path, version: &Version) -> Notes {
    let path = workspace.join(notes_file.unwrap_or(Path::new("CHANGELOG.md")));
    match section_from_file(&path, version) {
        Ok(Some(text)) => Notes::Section { path, text },
        Ok(None) => Notes::NoSection { path },
        Err(error) => Notes::Unreadable { path, error },
    }
}

const PLACEHOLDERS: &[&str] = &[
    "name",
    "version",
    "tag",
    "changelog",
    "install",
    "project_url",
    "files",
];

/// Fill `{placeholder}`s; `{{` and `}}` are literal braces. Unknown names are an error so a
/// typo in a workflow is caught on the first run, not shipped in a release.
pub fn render(template: &str, facts: &ReleaseFacts<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        rest = &rest[i..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            out.push(c as char);
            rest = &rest[2..];
            continue;
        }
        if c == b'}' {
            out.push('}');
            rest = &rest[1..];
            continue;
        }
        let Some(close) = rest.find('}') else {
            out.push_str(rest);
            rest = "";
            break;
        };
        let key = &rest[1..close];
        out.push_str(&value(key, facts)?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Refuse an unknown placeholder when the settings are read, long before the release stage.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    let facts = ReleaseFacts {
        name: "",
        version: "",
        tag: "",
        project_url: "",
        changelog: None,
        files: &[],
    };
    render(template, &facts).map(|_| ())
}

fn value(key: &str, f: &ReleaseFacts<'_>) -> Result<String, TemplateError> {
    Ok(match key {
        "name" => f.name.to_owned(),
        "version" => f.version.to_owned(),
        "tag" => f.tag.to_owned(),
        "changelog" => f.changelog.unwrap_or_default().to_owned(),
        "project_url" => f.project_url.to_owned(),
        "install" => format!(
            "```sh\npip install {name}=={version}\n```\n\nor run it without installing: `uvx {name}@{version}`",
            name = f.name,
            version = f.version
        ),
        "files" => {
            let mut t = String::from("| File | Size | sha256 |\n|---|---:|---|\n");
            for file in f.files {
                t.push_str(&format!(
                    "| `{}` | {} | `{}` |\n",
                    file.filename,
                    crate::units::human_size(file.size),
                    file.sha256
                ));
            }
            t.trim_end().to_owned()
        }
        other => {
            return Err(TemplateError::UnknownPlaceholder {
                placeholder: other.to_owned(),
                known: PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    /// Real-world changelog styles: (style, changelog, version, expected section).
    #[test]
    fn extracts_the_section_in_every_common_style() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "keep a changelog",
                "# Changelog\n\n## [Unreleased]\n\n- wip\n\n## [1.2.0] - 2024-05-01\n\n### Added\n\n- a thing\n\n## [1.1.0] - 2024-01-01\n\n- old\n\n[1.2.0]: https://github.com/o/r/compare/v1.1.0...v1.2.0\n",
                "1.2.0",
                Some("### Added\n\n- a thing"),
            ),
            (
                "plain v-heading",
                "## v1.2.0\n\n- fix\n\n## v1.1.0\n\n- old\n",
                "1.2.0",
                Some("- fix"),
            ),
            (
                "version (date)",
                "# History\n\n## 1.2.0 (2024-05-01)\n\n* one\n* two\n\n## 1.1.9 (2024-04-01)\n\n* before\n",
                "1.2.0",
                Some("* one\n* two"),
            ),
            (
                "release-please link",
                "# Changelog\n\n## [1.2.0](https://github.com/o/r/compare/v1.1.0...v1.2.0) (2024-05-01)\n\n### Features\n\n* new ([abc123](https://github.com/o/r/commit/abc123))\n\n## [1.1.0](https://github.com/o/r/compare/v1.0.0...v1.1.0) (2024-01-01)\n\n* x\n",
                "1.2.0",
                Some("### Features\n\n* new ([abc123](https://github.com/o/r/commit/abc123))"),
            ),
            (
                "towncrier markdown",
                "# improved-sdd 1.2.0 (2024-05-01)\n\n## Features\n\n- towncrier entry (#12)\n\n# improved-sdd 1.1.0 (2024-01-01)\n\n- x\n",
                "1.2.0",
                Some("## Features\n\n- towncrier entry (#12)"),
            ),
            (
                "rst underlined (CHANGES.rst)",
                "Changelog\n=========\n\n1.2.0 (2024-05-01)\n------------------\n\n- rst entry\n\n1.1.0 (2024-01-01)\n------------------\n\n- old\n",
                "1.2.0",
                Some("- rst entry"),
            ),
            (
                "markdown setext",
                "Version 1.2.0\n-------------\n\nSetext body.\n\nVersion 1.1.0\n-------------\n\nold\n",
                "1.2.0",
                Some("Setext body."),
            ),
            (
                "Version prefix and colon",
                "### Version 1.2.0:\n- colon style\n### Version 1.1.0:\n- old\n",
                "1.2.0",
                Some("- colon style"),
            ),
            (
                "pre-release spelled semver-style",
                "## [1.0.0-rc.1] - 2024-05-01\n\n- candidate\n\n## [0.9.0]\n",
                "1.0.0rc1",
                Some("- candidate"),
            ),
            (
                "nested under a Releases heading, ends at the parent's sibling",
                "# Project\n\n## Releases\n\n### 1.2.0\n\n- nested\n\n### 1.1.0\n\n- old\n\n## License\n\nMIT\n",
                "1.1.0",
                Some("- old"),
            ),
            (
                "subsections kept until a same-level heading",
                "## 1.2.0\n\n### Fixed\n\n- a\n\n### Added\n\n- b\n\n## 1.1.0\n",
                "1.2.0",
                Some("### Fixed\n\n- a\n\n### Added\n\n- b"),
            ),
            (
                "no section for this version",
                "## 1.1.0\n\n- old\n",
                "1.2.0",
                None,
            ),
            (
                "1.2.0 must not match 11.2.0, 1.2.0.post1 or a compare URL",
                "## 11.2.0\n\n- no\n\n## 1.2.0.post1\n\n- no\n\n## [1.3.0](https://x/compare/v1.2.0...v1.3.0)\n\n- no\n",
                "1.2.0",
                None,
            ),
            (
                "headings inside code fences are not headings",
                "## 1.2.0\n\n```md\n## 1.1.0\n```\n\nafter\n\n## 1.1.0\n\nold\n",
                "1.2.0",
                Some("```md\n## 1.1.0\n```\n\nafter"),
            ),
            (
                "epoch and trailing-zero equivalence",
                "## v1.2\n\n- same as 1.2.0\n",
                "1.2.0",
                Some("- same as 1.2.0"),
            ),
        ];
        for (style, text, version, want) in cases {
            let got = extract_section(text, &v(version));
            assert_eq!(got.as_deref(), *want, "style: {style}");
        }
    }

    #[test]
    fn prerelease_flag_follows_pep440() {
        for (s, pre) in [
            ("1.2.0", false),
            ("1.2.0rc1", true),
            ("1.2.0b2", true),
            ("1.2.0a1", true),
            ("1.2.0.dev3", true),
            ("1.2.0.post1", false),
        ] {
            assert_eq!(is_prerelease(&v(s)), pre, "{s}");
        }
    }

    fn facts<'a>(files: &'a [ReleaseFile], changelog: Option<&'a str>) -> ReleaseFacts<'a> {
        ReleaseFacts {
            name: "improved-sdd",
            version: "1.2.0",
            tag: "v1.2.0",
            project_url: "https://pypi.org/project/improved-sdd/1.2.0/",
            changelog,
            files,
        }
    }

    #[test]
    fn renders_the_default_body() {
        let files = [ReleaseFile {
            filename: "improved_sdd-1.2.0-py3-none-any.whl".into(),
            size: 2048,
            sha256: "ab".repeat(32),
        }];
        let body = render(DEFAULT_BODY_TEMPLATE, &facts(&files, Some("- new"))).unwrap();
        assert!(
            body.starts_with("- new\n\n## Install\n\n```sh\npip install improved-sdd==1.2.0\n```"),
            "{body}"
        );
        assert!(body.contains("`uvx improved-sdd@1.2.0`"));
        assert!(body.contains("https://pypi.org/project/improved-sdd/1.2.0/"));
        assert!(body.contains(&format!(
            "| `improved_sdd-1.2.0-py3-none-any.whl` | 2.0 KiB | `{}` |",
            "ab".repeat(32)
        )));
        assert_eq!(
            render(DEFAULT_NAME_TEMPLATE, &facts(&files, None)).unwrap(),
            "v1.2.0"
        );
    }

    #[test]
    fn templates_escape_braces_and_refuse_unknown_placeholders() {
        let f = facts(&[], None);
        assert_eq!(
            render("{{literal}} {name}}}", &f).unwrap(),
            "{literal} improved-sdd}"
        );
        let err = render("Release {verison}", &f).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`{verison}`") && msg.contains("{version}"),
            "{msg}"
        );
    }
}
