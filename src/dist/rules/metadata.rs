//! Core metadata rules: `packaging.metadata`'s validation (which warehouse runs on every
//! upload) plus warehouse's own additions in `forklift/metadata.py` — supported metadata
//! versions, no local versions, Summary ≤ 512 characters, known and current classifiers,
//! no direct URL dependencies, License vs License-Expression.

use std::collections::HashMap;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use super::classifiers::{self, Verdict};
use super::*;
use crate::dist::filename::normalize_name;
use crate::dist::CoreMetadata;

/// warehouse `SUPPORTED_METADATA_VERSIONS` (2.0 was never a real version and is refused).
pub const SUPPORTED_METADATA_VERSIONS: [&str; 8] =
    ["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"];

/// Every field `packaging.metadata` knows: (lower-case name, metadata version that
/// introduced it, multiple use).
const FIELDS: &[(&str, &str, bool)] = &[
    ("metadata-version", "1.0", false),
    ("name", "1.0", false),
    ("version", "1.0", false),
    ("dynamic", "2.2", true),
    ("platform", "1.0", true),
    ("supported-platform", "1.1", true),
    ("summary", "1.0", false),
    ("description", "1.0", false),
    ("description-content-type", "2.1", false),
    ("keywords", "1.0", false),
    ("home-page", "1.0", false),
    ("download-url", "1.1", false),
    ("author", "1.0", false),
    ("author-email", "1.0", false),
    ("maintainer", "1.2", false),
    ("maintainer-email", "1.2", false),
    ("license", "1.0", false),
    ("license-expression", "2.4", false),
    ("license-file", "2.4", true),
    ("classifier", "1.1", true),
    ("requires-dist", "1.2", true),
    ("requires-python", "1.2", false),
    ("requires-external", "1.2", true),
    ("project-url", "1.2", true),
    ("provides-extra", "2.1", true),
    ("provides-dist", "1.2", true),
    ("obsoletes-dist", "1.2", true),
    ("requires", "1.1", true),
    ("provides", "1.1", true),
    ("obsoletes", "1.1", true),
    ("import-name", "2.5", true),
    ("import-namespace", "2.5", true),
];

/// warehouse `DYNAMIC_FIELDS`, lower-cased.
const DYNAMIC_FIELDS: &[&str] = &[
    "platform",
    "supported-platform",
    "summary",
    "description",
    "description-content-type",
    "keywords",
    "home-page",
    "download-url",
    "author",
    "author-email",
    "maintainer",
    "maintainer-email",
    "license",
    "license-expression",
    "license-file",
    "classifier",
    "requires-dist",
    "requires-python",
    "requires-external",
    "project-url",
    "provides-extra",
    "provides-dist",
    "obsoletes-dist",
    "requires",
    "provides",
    "obsoletes",
    "import-name",
    "import-namespace",
];

const REBUILD: &str = "fix it in pyproject.toml and rebuild with a current build backend (`pip install -U build` then `python -m build`)";

fn mv(s: &str) -> (u32, u32) {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

/// `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive (packaging, warehouse).
pub fn valid_project_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// The `License-File` values PyPI sees: only from Metadata-Version 2.4 (PEP 639) on. Older
/// setuptools wrote the field into 2.1/2.2 metadata with other semantics; upload clients
/// (twine, and ours: `index::form`) leave it out of the upload form there, so PyPI neither
/// validates it nor looks for the files.
pub fn pep639_license_files(meta: &CoreMetadata) -> Vec<&str> {
    if mv(meta.metadata_version.trim()) >= (2, 4) {
        meta.get_all("License-File").collect()
    } else {
        Vec::new()
    }
}

/// Apply every metadata rule to one file's metadata.
pub fn check(meta: &CoreMetadata, sink: &mut Sink) {
    let version_str = meta.metadata_version.trim();
    let known_version = SUPPORTED_METADATA_VERSIONS.contains(&version_str);
    if !known_version {
        let why = if version_str == "2.0" {
            "Metadata-Version 2.0 was never a real version (old bdist_wheel wrote it); PyPI refuses it".to_string()
        } else {
            format!(
                "Metadata-Version `{version_str}` is not one PyPI supports ({})",
                SUPPORTED_METADATA_VERSIONS.join(", ")
            )
        };
        sink.error(
            METADATA_VERSION_UNSUPPORTED,
            why,
            "rebuild with a current build backend (`pip install -U build setuptools wheel` then `python -m build`)",
        );
    }
    let declared = mv(version_str);

    fields(meta, declared, known_version, sink);
    identity(meta, sink);
    dependencies(meta, declared, sink);
    descriptive(meta, sink);
    license(meta, sink);
    dynamic(meta, sink);
}

fn fields(meta: &CoreMetadata, declared: (u32, u32), check_versions: bool, sink: &mut Sink) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut unknown = Vec::new();
    let mut too_new = Vec::new();
    for (k, _) in &meta.fields {
        let key = k.to_ascii_lowercase();
        *counts.entry(key.clone()).or_default() += 1;
        match FIELDS.iter().find(|(n, _, _)| *n == key) {
            None if !unknown.contains(k) => unknown.push(k.clone()),
            None => {}
            // Legacy setuptools License-File: not sent, so not judged (see pep639_license_files).
            Some(("license-file", _, _)) => {}
            Some((_, added, _)) if check_versions && mv(added) > declared => {
                let s = format!("`{k}` (added in {added})");
                if !too_new.contains(&s) {
                    too_new.push(s);
                }
            }
            _ => {}
        }
    }
    if !unknown.is_empty() {
        // PyPI never sees these (upload clients send only the fields it knows), but
        // `packaging.metadata.parse_email` puts them in `unparsed`, and twine (check and
        // upload alike) refuses the file for it — so the step `check` replaces would fail.
        sink.error(
            METADATA_FIELD_UNKNOWN,
            format!(
                "unknown metadata field(s) {}: packaging.metadata does not recognize them, and twine refuses the file (\"Invalid distribution metadata: unrecognized or malformed field {}\")",
                unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
                unknown.iter().map(|u| format!("'{}'", u.to_ascii_lowercase())).collect::<Vec<_>>().join(", ")
            ),
            "remove the custom header(s) from METADATA/PKG-INFO: they come from a build backend plugin or a hand edit; rebuild with a current build backend (`python -m build`)",
        );
    }
    if !too_new.is_empty() {
        sink.error(
            METADATA_FIELD_TOO_NEW,
            format!(
                "field(s) {} are newer than the declared `Metadata-Version: {}`",
                too_new.join(", "),
                meta.metadata_version
            ),
            "rebuild with a current build backend, which declares the metadata version its fields need",
        );
    }
    let mut repeated: Vec<String> = counts
        .iter()
        .filter(|(k, n)| **n > 1 && FIELDS.iter().any(|(f, _, multi)| f == *k && !multi))
        .map(|(k, n)| format!("`{k}` ×{n}"))
        .collect();
    repeated.sort();
    if !repeated.is_empty() {
        sink.error(
            METADATA_FIELD_REPEATED,
            format!(
                "single-use field(s) given more than once: {}",
                repeated.join(", ")
            ),
            REBUILD,
        );
    }
}

fn identity(meta: &CoreMetadata, sink: &mut Sink) {
    if !meta.name.is_empty() && !valid_project_name(&meta.name) {
        sink.error(
            NAME_INVALID,
            format!(
                "`Name: {}` is not a valid project name (ASCII letters, digits, `.`, `_`, `-`; starting and ending with a letter or digit)",
                meta.name
            ),
            "rename the project in pyproject.toml's [project] table and rebuild",
        );
    }
    if let Ok(v) = Version::from_str(meta.version.trim()) {
        if !v.local().is_empty() {
            sink.error(
                VERSION_LOCAL,
                format!(
                    "`Version: {}` has a local segment (`+…`); PyPI refuses local versions",
                    meta.version
                ),
                "drop the `+local` part: with setuptools-scm set `local_scheme = \"no-local-version\"`; with hatch-vcs `local_scheme = \"no-local-version\"` in [tool.hatch.version.raw-options]",
            );
        }
    }
}

/// The leading name of a requirement when it ends in `.`, `-` or `_` and more follows
/// (`a-!`, `b. >=1`): pep508_rs 0.9.2 panics on those instead of returning an error, so they
/// are refused before it sees them.
fn name_with_bad_end(value: &str) -> Option<&str> {
    let rest = value.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    name.ends_with(['.', '-', '_']).then_some(name)
}

fn dependencies(meta: &CoreMetadata, declared: (u32, u32), sink: &mut Sink) {
    for field in ["Requires-Dist", "Provides-Dist", "Obsoletes-Dist"] {
        for value in meta.get_all(field) {
            if let Some(name) = name_with_bad_end(value) {
                sink.error(
                    REQUIRES_DIST_INVALID,
                    format!("`{field}: {value}` is not a valid PEP 508 requirement: the name `{name}` must end with a letter or digit"),
                    "fix the dependency in pyproject.toml's `dependencies` / `optional-dependencies` (e.g. `requests>=2.31; python_version >= \"3.9\"`) and rebuild",
                );
                continue;
            }
            match pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(value) {
                Ok(req) => {
                    if matches!(req.version_or_url, Some(pep508_rs::VersionOrUrl::Url(_))) {
                        sink.error(
                            REQUIRES_DIST_DIRECT_URL,
                            format!("`{field}: {value}` is a direct URL reference; PyPI refuses dependencies that point at URLs"),
                            "depend on a released version from the index instead (`name>=1.2`), or publish the dependency first",
                        );
                    }
                }
                Err(e) => sink.error(
                    REQUIRES_DIST_INVALID,
                    format!(
                        "`{field}: {value}` is not a valid PEP 508 requirement: {}",
                        e.to_string().lines().next().unwrap_or_default()
                    ),
                    "fix the dependency in pyproject.toml's `dependencies` / `optional-dependencies` (e.g. `requests>=2.31; python_version >= \"3.9\"`) and rebuild",
                ),
            }
        }
    }
    if let Some(rp) = meta.get("Requires-Python") {
        if let Err(e) = VersionSpecifiers::from_str(rp) {
            sink.error(
                REQUIRES_PYTHON_INVALID,
                format!("`Requires-Python: {rp}` is not a valid PEP 440 specifier: {e}"),
                "set `requires-python` in pyproject.toml to a specifier such as `>=3.9` and rebuild",
            );
        }
    }
    for extra in meta.get_all("Provides-Extra") {
        let normalized = normalize_name(extra);
        const FIX: &str = "rename the extra in pyproject.toml's `optional-dependencies` (lower case, `-` between words) and rebuild";
        if !valid_project_name(extra) {
            sink.error(
                PROVIDES_EXTRA_INVALID,
                format!("`Provides-Extra: {extra}` is not a valid extra name"),
                FIX,
            );
        } else if declared >= (2, 3) && normalized != extra {
            // The spec requires normalized extras from 2.3; packaging (so PyPI) accepts them.
            sink.warning(
                PROVIDES_EXTRA_INVALID,
                format!(
                    "`Provides-Extra: {extra}` is not normalized (`{normalized}`), as Metadata-Version {} requires; PyPI accepts it, installers may not match it",
                    meta.metadata_version
                ),
                FIX,
            );
        }
    }
}

fn valid_url(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn descriptive(meta: &CoreMetadata, sink: &mut Sink) {
    if let Some(summary) = meta.get("Summary") {
        let n = summary.chars().count();
        if n > 512 {
            sink.error(
                SUMMARY_TOO_LONG,
                format!("`Summary` is {n} characters; PyPI allows at most 512"),
                "shorten `description` in pyproject.toml's [project] table (the long text belongs in the README) and rebuild",
            );
        }
        if summary.contains('\n') {
            sink.error(
                SUMMARY_MULTILINE,
                "`Summary` spans several lines; PyPI requires one line".to_string(),
                "make `description` in pyproject.toml a single line and rebuild",
            );
        }
    }
    if let Some(ct) = meta.get("Description-Content-Type") {
        if let Err(why) = content_type(ct) {
            sink.error(
                DESCRIPTION_CONTENT_TYPE_INVALID,
                format!("`Description-Content-Type: {ct}`: {why}"),
                "use `text/markdown`, `text/x-rst` or `text/plain` (optionally `; charset=UTF-8`, and for markdown `; variant=GFM` or `CommonMark`): set `readme` in pyproject.toml to a .md/.rst/.txt file and rebuild",
            );
        }
    }
    let mut labels = Vec::new();
    for pu in meta.get_all("Project-URL") {
        let (label, u) = pu
            .split_once(',')
            .map(|(l, u)| (l.trim(), u.trim()))
            .unwrap_or((pu.trim(), ""));
        let why = if label.is_empty() {
            Some("has no label".to_string())
        } else if label.chars().count() > 32 {
            Some("has a label longer than 32 characters".to_string())
        } else if u.is_empty() {
            Some("has no URL".to_string())
        } else if !valid_url(u) {
            Some(format!("`{u}` is not a valid http(s) URL"))
        } else if labels.contains(&label) {
            Some(format!("repeats the label `{label}`"))
        } else {
            None
        };
        labels.push(label);
        if let Some(why) = why {
            sink.error(
                PROJECT_URL_INVALID,
                format!("`Project-URL: {pu}` {why}"),
                "fix [project.urls] in pyproject.toml (`Label = \"https://…\"`, labels ≤ 32 characters, each once) and rebuild",
            );
        }
    }
    for field in ["Home-Page", "Download-URL"] {
        if let Some(u) = meta.get(field) {
            if !u.trim().is_empty() && u.trim() != "UNKNOWN" && !valid_url(u.trim()) {
                sink.error(
                    PROJECT_URL_INVALID,
                    format!("`{field}: {u}` is not a valid http(s) URL"),
                    "use [project.urls] in pyproject.toml with full https:// URLs and rebuild",
                );
            }
        }
    }
    for c in meta.get_all("Classifier") {
        match classifiers::lookup(c) {
            Verdict::Known => {}
            Verdict::Unknown => sink.error(
                CLASSIFIER_UNKNOWN,
                format!("`Classifier: {c}` is not a known trove classifier; PyPI refuses unknown classifiers (including `Private :: …`, which exist to block uploads)"),
                "pick classifiers from https://pypi.org/classifiers/ and fix `classifiers` in pyproject.toml, then rebuild",
            ),
            Verdict::Deprecated(repl) => sink.error(
                CLASSIFIER_DEPRECATED,
                format!(
                    "`Classifier: {c}` is deprecated{}; PyPI refuses deprecated classifiers",
                    if repl.is_empty() { String::new() } else { format!(" (use {})", repl.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(" or ")) }
                ),
                "replace it in pyproject.toml's `classifiers` (for licenses, prefer `license = \"SPDX-expression\"`) and rebuild",
            ),
        }
    }
}

/// `packaging.metadata`'s Description-Content-Type rules.
pub fn content_type(value: &str) -> Result<(), String> {
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !["text/plain", "text/x-rst", "text/markdown"].contains(&mime.as_str()) {
        return Err(format!(
            "`{mime}` is not one of text/plain, text/x-rst, text/markdown"
        ));
    }
    for p in parts {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim().trim_matches('"');
        if k == "charset" && v != "UTF-8" {
            return Err(format!("the charset must be `UTF-8`, not `{v}`"));
        }
        if k == "variant" && mime == "text/markdown" && !["GFM", "CommonMark"].contains(&v) {
            return Err(format!(
                "the markdown variant must be `GFM` or `CommonMark`, not `{v}`"
            ));
        }
    }
    Ok(())
}

fn license(meta: &CoreMetadata, sink: &mut Sink) {
    let expr = meta.get("License-Expression");
    if let Some(e) = expr {
        let mode = spdx::ParseMode {
            allow_deprecated: true,
            ..spdx::ParseMode::STRICT
        };
        if let Err(err) = spdx::Expression::parse_mode(&spdx_case(e), mode) {
            sink.error(
                LICENSE_EXPRESSION_INVALID,
                format!("`License-Expression: {e}` is not a valid SPDX expression: {}", err.reason),
                "use SPDX identifiers from https://spdx.org/licenses/ joined by AND/OR/WITH (e.g. `MIT`, `Apache-2.0 OR MIT`) in pyproject.toml's `license` and rebuild",
            );
        }
    }
    if expr.is_some() && meta.get("License").is_some_and(|l| !l.trim().is_empty()) {
        sink.error(
            LICENSE_CONFLICT,
            "both `License` and `License-Expression` are set; PyPI refuses the legacy `License` next to an expression (PEP 639)".to_string(),
            "keep only `license = \"SPDX-expression\"` in pyproject.toml (remove `license = {text = …}`/`{file = …}`) and rebuild",
        );
    }
    for lf in pep639_license_files(meta) {
        let bad = lf.contains('\\')
            || lf.starts_with('/')
            || lf.split('/').any(|c| c == "..")
            || lf.trim().is_empty();
        if bad {
            sink.error(
                LICENSE_FILE_INVALID,
                format!("`License-File: {lf}` must be a relative path with `/` separators and no `..`"),
                "list license files relative to the project root in pyproject.toml's `license-files` and rebuild",
            );
        }
    }
}

/// SPDX ids in their canonical case and operators upper-cased, as `packaging` canonicalises
/// an expression before validating it (`mit or apache-2.0` is accepted by PyPI); the `spdx`
/// crate's strict parser is case-sensitive.
fn spdx_case(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let (base, plus) = match word.strip_suffix('+') {
            Some(b) => (b, "+"),
            None => (word.as_str(), ""),
        };
        let op = ["AND", "OR", "WITH"]
            .into_iter()
            .find(|o| o.eq_ignore_ascii_case(base));
        let canonical = op
            .or_else(|| {
                spdx::identifiers::LICENSES
                    .iter()
                    .find(|l| l.name.eq_ignore_ascii_case(base))
                    .map(|l| l.name)
            })
            .or_else(|| {
                spdx::identifiers::EXCEPTIONS
                    .iter()
                    .find(|x| x.name.eq_ignore_ascii_case(base))
                    .map(|x| x.name)
            });
        match canonical {
            Some(c) => {
                out.push_str(c);
                out.push_str(plus);
            }
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in expr.chars() {
        if c.is_whitespace() || c == '(' || c == ')' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn dynamic(meta: &CoreMetadata, sink: &mut Sink) {
    for d in meta.get_all("Dynamic") {
        let key = d.trim().to_ascii_lowercase();
        let why = if ["name", "version", "metadata-version"].contains(&key.as_str()) {
            Some(format!("`{d}` may never be dynamic"))
        } else if !DYNAMIC_FIELDS.contains(&key.as_str()) {
            Some(format!("`{d}` is not a field that may be dynamic"))
        } else {
            None
        };
        if let Some(why) = why {
            sink.error(
                DYNAMIC_INVALID,
                format!("`Dynamic: {d}`: {why}"),
                "rebuild with a current build backend (the backend writes `Dynamic`; a custom build script must only name real core-metadata fields)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::metadata::parse;
    use std::path::Path;

    fn rules(text: &str) -> Vec<&'static str> {
        let meta = parse(text.as_bytes()).unwrap();
        let mut sink = Sink::new(Path::new("x"));
        check(&meta, &mut sink);
        sink.out.iter().map(|p| p.rule).collect()
    }

    #[test]
    fn good_metadata_passes() {
        let r = rules("Metadata-Version: 2.4\nName: good\nVersion: 1.0\nSummary: s\nLicense-Expression: MIT OR Apache-2.0\nLicense-File: LICENSE\nRequires-Dist: requests>=2; extra == \"http\"\nProvides-Extra: http\nProject-URL: Source, https://example.org\nClassifier: Programming Language :: Python :: 3\nDynamic: Requires-Dist\nDescription-Content-Type: text/markdown; charset=UTF-8; variant=GFM\n\n# hi\n");
        assert_eq!(r, Vec::<&str>::new());
    }

    #[test]
    fn requirement_names_ending_in_a_separator_are_invalid_not_a_panic() {
        // Found by scripts/fuzz: pep508_rs 0.9.2 panics on these.
        for req in [
            "a-!",
            "x- >=1",
            "1.;python_version>'3'",
            " b_ (>=1)",
            "Provides",
        ] {
            let text =
                format!("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: {req}\n");
            let want: &[&str] = if req == "Provides" {
                &[]
            } else {
                &[REQUIRES_DIST_INVALID]
            };
            assert_eq!(rules(&text), want, "{req}");
        }
        assert_eq!(name_with_bad_end("a-"), Some("a-"), "at the end too");
        assert_eq!(name_with_bad_end("a-b>=1"), None);
    }

    #[test]
    fn each_rule_fires() {
        let cases: &[(&str, &str)] = &[
            ("Metadata-Version: 2.0\nName: a\nVersion: 1\n", METADATA_VERSION_UNSUPPORTED),
            ("Metadata-Version: 3.0\nName: a\nVersion: 1\n", METADATA_VERSION_UNSUPPORTED),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nX-Custom: 1\n", METADATA_FIELD_UNKNOWN),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nLicense-Expression: MIT\n", METADATA_FIELD_TOO_NEW),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: x\nSummary: y\n", METADATA_FIELD_REPEATED),
            ("Metadata-Version: 2.1\nName: -a\nVersion: 1\n", NAME_INVALID),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1.0+local\n", VERSION_LOCAL),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: foo >=\n", REQUIRES_DIST_INVALID),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: foo @ https://x.org/foo.whl\n", REQUIRES_DIST_DIRECT_URL),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Python: >=3.x\n", REQUIRES_PYTHON_INVALID),
            ("Metadata-Version: 2.3\nName: a\nVersion: 1\nProvides-Extra: Dev_Tools\n", PROVIDES_EXTRA_INVALID),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nProject-URL: This label is much longer than thirty-two, https://x.org\n", PROJECT_URL_INVALID),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nClassifier: Made Up :: Thing\n", CLASSIFIER_UNKNOWN),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: a\n  b\n", SUMMARY_MULTILINE),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription-Content-Type: text/html\n", DESCRIPTION_CONTENT_TYPE_INVALID),
            ("Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription-Content-Type: text/markdown; variant=Foo\n", DESCRIPTION_CONTENT_TYPE_INVALID),
            ("Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: MIT OR Nonsense-1.0\n", LICENSE_EXPRESSION_INVALID),
            ("Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-Expression: MIT\nLicense: MIT License\n", LICENSE_CONFLICT),
            ("Metadata-Version: 2.4\nName: a\nVersion: 1\nLicense-File: ../LICENSE\n", LICENSE_FILE_INVALID),
            ("Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Version\n", DYNAMIC_INVALID),
        ];
        for (text, rule) in cases {
            assert_eq!(rules(text), [*rule], "{text}");
        }
        let long = format!(
            "Metadata-Version: 2.1\nName: a\nVersion: 1\nSummary: {}\n",
            "x".repeat(513)
        );
        assert_eq!(rules(&long), [SUMMARY_TOO_LONG]);
    }
}
