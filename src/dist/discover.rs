//! Walking a packages dir: classify every file, read every distribution's metadata, and
//! collect every problem rather than stopping at the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::Version;

use super::filename::{self, normalize_name, FilenameError};
use super::metadata::{self, ArchiveError, CoreMetadata};
use super::{rules, Discovery, DistError, DistKind, Distribution, Problem, Severity};

/// What a file is, judged by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Dist(DistKind),
    /// A format PyPI no longer accepts; the string names it for the message.
    Unsupported(&'static str),
    /// Known companions of distributions (signatures, attestations) and anything else.
    Ignored,
}

/// Formats PEP 527 (and PEP 625 for sdists) retired, by lower-cased suffix.
const UNSUPPORTED: &[(&str, &str)] = &[
    (".tar.bz2", "a bzip2 tar sdist"),
    (".tar.xz", "an xz tar sdist"),
    (".tar.zst", "a zstd tar sdist"),
    (".tar.z", "a compress tar sdist"),
    (".tgz", "a `.tgz` sdist"),
    (".tar", "an uncompressed tar sdist"),
    (".zip", "a zip sdist"),
    (".egg", "an egg"),
    (".exe", "a bdist_wininst installer"),
    (".msi", "a bdist_msi installer"),
    (".rpm", "a bdist_rpm package"),
    (".dmg", "a bdist_dmg image"),
    (".deb", "a Debian package"),
];

fn classify(filename: &str) -> Class {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        return Class::Dist(DistKind::Wheel);
    }
    if lower.ends_with(".tar.gz") {
        return Class::Dist(DistKind::Sdist);
    }
    for (suffix, what) in UNSUPPORTED {
        if lower.ends_with(suffix) {
            return Class::Unsupported(what);
        }
    }
    // Strays such as `.gitignore`, `*.attestation`, `*.publish.attestation`,
    // `*.sigstore.json`, `*.asc` and anything else unknown: not ours to judge.
    Class::Ignored
}

/// Walk `dir` recursively (actions/download-artifact puts each artifact in a sub-folder).
pub fn discover(dir: &Path) -> Result<Discovery, DistError> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DistError::DirMissing(dir.to_path_buf()))
        }
        Err(source) => {
            return Err(DistError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(DistError::NotADirectory(dir.to_path_buf()));
    }

    let mut files = Vec::new();
    let mut unusable = Vec::new();
    walk(dir, &mut files, &mut unusable)?;
    files.sort();
    let mut out = examine(files, true)?;
    out.problems.extend(unusable);
    Ok(out)
}

/// Check distribution files named one by one, each as a release of its own (no
/// release-level rules across them): what `sdd-publish check a.whl b.tar.gz` and the
/// real-distribution survey need. A path that cannot be read is an `archive-corrupt` problem.
pub fn discover_files(paths: &[PathBuf]) -> Result<Discovery, DistError> {
    let mut files = Vec::new();
    let mut unreadable = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_file() => files.push((p.clone(), m.len())),
            Ok(_) => unreadable.push(Problem::error(
                p,
                rules::ARCHIVE_CORRUPT,
                "is not a regular file",
                "name a wheel or an sdist, or a folder to search",
            )),
            Err(e) => unreadable.push(Problem::error(
                p,
                rules::ARCHIVE_CORRUPT,
                format!("cannot be read: {e}"),
                "check the path",
            )),
        }
    }
    let mut out = examine(files, false)?;
    out.problems.extend(unreadable);
    Ok(out)
}

/// Classify and inspect `files`; with `one_release`, they are judged as one release
/// (duplicate filenames, mixed projects or versions, several sdists).
fn examine(files: Vec<(PathBuf, u64)>, one_release: bool) -> Result<Discovery, DistError> {
    let mut out = Discovery::default();
    let mut by_filename: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut rst = rules::description::RstChecks::default();
    for (path, size) in files {
        let Some(filename) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            // A non-UTF-8 name can't be a valid distribution name; flag it if it looks like one.
            let lossy = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(Class::Dist(_)) = lossy.as_deref().map(classify) {
                out.problems.push(Problem {
                    severity: Severity::Error,
                    path: path.clone(),
                    rule: rules::FILENAME_INVALID,
                    message: "the filename is not valid UTF-8".to_string(),
                    fix: "rename the file to the ASCII name your build backend would give it"
                        .to_string(),
                });
            } else {
                out.ignored.push(path);
            }
            continue;
        };
        match classify(&filename) {
            Class::Ignored => out.ignored.push(path),
            Class::Unsupported(what) => out.problems.push(Problem {
                severity: Severity::Error,
                message: format!(
                    "`{filename}` is {what}, a format PyPI no longer accepts (PEP 527; PEP 625 allows only `.tar.gz` sdists)"
                ),
                fix: "upload only wheels (`.whl`) and `.tar.gz` sdists: build them with `python -m build`, and remove this file from the packages dir".to_string(),
                path,
                rule: rules::UNSUPPORTED_FORMAT,
            }),
            Class::Dist(kind) => {
                by_filename.entry(filename.clone()).or_default().push(path.clone());
                let (dist, problems, text) = inspect(path.clone(), filename, kind, size);
                out.problems.extend(problems);
                out.dists.extend(dist);
                if let Some(text) = text {
                    rst.add(path, &text);
                }
            }
        }
    }

    for (filename, paths) in by_filename {
        if one_release && paths.len() > 1 {
            let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            for path in paths {
                out.problems.push(Problem {
                severity: Severity::Error,
                    path,
                    rule: rules::DUPLICATE_FILENAME,
                    message: format!(
                        "`{filename}` appears {} times: {}",
                        list.len(),
                        list.join(", ")
                    ),
                    fix: "an index accepts each filename once; keep one copy (check that two jobs do not upload the same artifact)".to_string(),
                });
            }
        }
    }

    rst.finish(&mut out.problems)?;
    if one_release {
        out.problems.extend(rules::release::check(&out.dists));
    }
    out.dists
        .sort_by(|a, b| (a.kind, &a.filename, &a.path).cmp(&(b.kind, &b.filename, &b.path)));
    Ok(out)
}

/// Collect (path, size) of every regular file below `dir`. Symlinked files count;
/// symlinked directories are not followed, so a link loop cannot hang the walk.
/// An entry named like a distribution that is not a readable regular file (a dangling or
/// looping link, a FIFO, a socket, a device) is a problem: skipping it would publish the
/// release without that file. Anything else that is not a regular file is not ours to judge.
fn walk(
    dir: &Path,
    out: &mut Vec<(PathBuf, u64)>,
    unusable: &mut Vec<Problem>,
) -> Result<(), DistError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DistError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_err(&path))?;
        if file_type.is_dir() {
            walk(&path, out, unusable)?;
            continue;
        }
        let looks_like_dist = !matches!(
            classify(&entry.file_name().to_string_lossy()),
            Class::Ignored
        );
        let why = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                out.push((path, m.len()));
                continue;
            }
            // A link to a directory: a folder to publish from is named, not linked.
            Ok(m) if m.is_dir() => continue,
            Ok(_) => "is not a regular file (a FIFO, socket or device)".to_string(),
            Err(e) if file_type.is_symlink() => {
                format!("is a symbolic link whose target cannot be read: {e}")
            }
            Err(e) => format!("cannot be read: {e}"),
        };
        if looks_like_dist {
            unusable.push(Problem::error(
                &path,
                rules::ARCHIVE_CORRUPT,
                why,
                "replace it with the real file (copy the built distribution, not a link to it), or remove it from the packages dir",
            ));
        }
    }
    Ok(())
}

/// Everything about one distribution file: the Distribution if its metadata could be read,
/// every problem found, and the reStructuredText description to render (rendering is
/// batched over all files).
pub(crate) fn inspect(
    path: PathBuf,
    filename: String,
    kind: DistKind,
    size: u64,
) -> (Option<Distribution>, Vec<Problem>, Option<String>) {
    let mut problems = Vec::new();
    let problem = |rule: &'static str, message: String, fix: &str| Problem {
        severity: Severity::Error,
        path: path.clone(),
        rule,
        message,
        fix: fix.to_string(),
    };

    // The filename: name, version, and (wheels) the python tag for `pyversion`.
    let mut wheel_name = None;
    let parsed: Result<(String, Version, String, String), FilenameError> = match kind {
        DistKind::Wheel => filename::parse_wheel(&filename).map(|w| {
            let prefix = format!("{}-{}", w.name, w.version_str);
            wheel_name = Some(w.clone());
            (w.name, w.version, w.python_tag, prefix)
        }),
        DistKind::Sdist => filename::parse_sdist(&filename)
            .map(|s| (s.name, s.version, "source".to_string(), String::new())),
    };
    let parsed = match parsed {
        Ok(p) => Some(p),
        Err(e) => {
            problems.push(problem(
                rules::FILENAME_INVALID,
                e.to_string(),
                match kind {
                    DistKind::Wheel => "keep the name your build backend gave the wheel (`{name}-{version}-{python tag}-{abi tag}-{platform tag}.whl`, name with `_` for `-`); rebuild rather than rename",
                    DistKind::Sdist => "keep the name your build backend gave the sdist (`{name}-{version}.tar.gz`, name with `_` for `-`); rebuild rather than rename",
                },
            ));
            None
        }
    };

    if size == 0 {
        problems.push(problem(
            rules::ARCHIVE_CORRUPT,
            format!("`{filename}` is empty (0 bytes)"),
            "rebuild the distribution (`python -m build`); an empty file usually means an interrupted build or artifact download",
        ));
        return (None, problems, None);
    }

    // A zip whose directory would outgrow memory is refused before anything reads it.
    if kind == DistKind::Wheel {
        if let Err(e) = metadata::check_zip_members(&path) {
            problems.push(archive_problem(&path, &filename, kind, e));
            return (None, problems, None);
        }
    }

    // The archive's listing: compression, duplicates, unsafe paths and links.
    let mut sink = rules::Sink::new(&path);
    // The metadata file inside the archive: an sdist's comes from the same pass.
    let (listing, read) = match kind {
        DistKind::Wheel => (
            rules::archive::zip_rules(&path, &mut sink),
            metadata::read_wheel_metadata(
                &path,
                parsed.as_ref().map(|(_, _, _, prefix)| prefix.as_str()),
            ),
        ),
        DistKind::Sdist => rules::archive::scan_sdist(&path, &mut sink),
    };
    problems.append(&mut sink.out);

    let (member, bytes) = match read {
        Ok(r) => r,
        Err(e) => {
            problems.push(archive_problem(&path, &filename, kind, e));
            return (None, problems, None);
        }
    };
    let meta = match metadata::parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            problems.push(problem(
                rules::METADATA_INVALID,
                format!("`{member}` in `{filename}` {e}"),
                "rebuild with a current build backend (e.g. `pip install -U build setuptools` then `python -m build`); do not edit metadata by hand",
            ));
            return (None, problems, None);
        }
    };
    let missing = meta.missing_required();
    if !missing.is_empty() {
        problems.push(problem(
            rules::METADATA_MISSING,
            format!(
                "`{member}` in `{filename}` lacks the required field(s) {}",
                missing
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "set `name` and `version` in pyproject.toml's [project] table (or make them dynamic) and rebuild",
        ));
        return (None, problems, None);
    }

    if let Some((fname, fversion, _, _)) = &parsed {
        problems.extend(compare(&path, &filename, &member, &meta, fname, fversion));
    }

    // The rules on the metadata, the filename against it, and the archive's structure.
    let mut sink = rules::Sink::new(&path);
    rules::metadata::check(&meta, &mut sink);
    rules::description::strict(&meta, &mut sink);
    match (&wheel_name, kind) {
        (Some(w), DistKind::Wheel) => {
            rules::filename::wheel(&filename, w, &meta, &mut sink);
            if let Some(listing) = &listing {
                let prefix = format!("{}-{}", w.name, w.version_str);
                rules::structure::wheel(&path, &prefix, listing, &meta, &mut sink);
            }
        }
        (_, DistKind::Sdist) => {
            rules::filename::sdist(&filename, &meta, &mut sink);
            if let Some(listing) = &listing {
                rules::structure::sdist(listing, &meta, &mut sink);
            }
        }
        _ => {}
    }
    problems.append(&mut sink.out);
    let rst = rules::description::rst_text(&meta);

    let pyversion = match (&parsed, kind) {
        (Some((_, _, py, _)), _) => py.clone(),
        (None, DistKind::Sdist) => "source".to_string(),
        // A wheel without a parsable python tag cannot be uploaded; its problem is recorded.
        (None, DistKind::Wheel) => return (None, problems, rst),
    };
    let dist = Distribution {
        path,
        filename,
        kind,
        size,
        metadata: meta,
        pyversion,
    };
    (Some(dist), problems, rst)
}

/// Filename and metadata must name the same project and version, as PyPI checks on upload.
fn compare(
    path: &Path,
    filename: &str,
    member: &str,
    meta: &CoreMetadata,
    fname: &str,
    fversion: &Version,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if normalize_name(fname) != normalize_name(&meta.name) {
        problems.push(Problem {
                severity: Severity::Error,
            path: path.to_path_buf(),
            rule: rules::NAME_MISMATCH,
            message: format!(
                "the filename says the project is `{fname}` but `{member}` says `Name: {}`",
                meta.name
            ),
            fix: "rebuild the distribution instead of renaming it, and make sure the packages dir holds only this project's files".to_string(),
        });
    }
    match Version::from_str(meta.version.trim()) {
        Ok(v) if &v == fversion => {}
        Ok(_) => problems.push(Problem {
                severity: Severity::Error,
            path: path.to_path_buf(),
            rule: rules::VERSION_MISMATCH,
            message: format!(
                "the filename says version `{fversion}` but `{member}` says `Version: {}`",
                meta.version
            ),
            fix: "rebuild the distribution instead of renaming it, and clear stale files from the packages dir (e.g. `rm -rf dist/` before `python -m build`)".to_string(),
        }),
        Err(e) => problems.push(Problem {
                severity: Severity::Error,
            path: path.to_path_buf(),
            rule: rules::METADATA_INVALID,
            message: format!(
                "`{member}` in `{filename}` has `Version: {}`, which is not a PEP 440 version: {e}",
                meta.version
            ),
            fix: "use a PEP 440 version such as `1.2.0`, `1.2.0rc1` or `1.2.0.dev3` in pyproject.toml and rebuild".to_string(),
        }),
    }
    problems
}

fn archive_problem(path: &Path, filename: &str, kind: DistKind, e: ArchiveError) -> Problem {
    let what = match kind {
        DistKind::Wheel => "wheel (zip)",
        DistKind::Sdist => "sdist (tar.gz)",
    };
    let (rule, fix) = match &e {
        ArchiveError::TooManyMembers { .. } if kind == DistKind::Sdist => (
            rules::ARCHIVE_CORRUPT,
            "leave generated or vendored trees out of the sdist (MANIFEST.in, or the build backend's sdist `exclude`), or ship bulk data as its own download",
        ),
        ArchiveError::TooManyMembers { .. } => (
            rules::ARCHIVE_CORRUPT,
            "leave generated or vendored trees out of the wheel (check `packages`/`package-data` and MANIFEST.in), or ship bulk data as its own download",
        ),
        ArchiveError::NotFound { .. } | ArchiveError::Ambiguous { .. } => (
            rules::METADATA_MISSING,
            "rebuild with a standard build backend (`python -m build`); the archive must hold exactly one metadata file at that place",
        ),
        _ => (
            rules::ARCHIVE_CORRUPT,
            "rebuild the distribution (`python -m build`); a truncated or damaged file usually comes from an interrupted build, copy or artifact download",
        ),
    };
    Problem {
        severity: Severity::Error,
        path: path.to_path_buf(),
        rule,
        message: format!("the {what} `{filename}` {e}"),
        fix: fix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::metadata::tests::{tar_gz_bytes, zip_bytes};
    use super::*;

    fn meta(name: &str, version: &str) -> Vec<u8> {
        format!(
            "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nDescription-Content-Type: text/markdown\nClassifier: Programming Language :: Python :: 3\nClassifier: Typing :: Typed\n\nBody\n"
        )
        .into_bytes()
    }

    fn wheel(name: &str, version: &str) -> Vec<u8> {
        let escaped = name.replace('-', "_");
        zip_bytes(&[
            (&format!("{escaped}/__init__.py"), b"".as_slice()),
            (
                &format!("{escaped}-{version}.dist-info/METADATA"),
                &meta(name, version),
            ),
            (
                &format!("{escaped}-{version}.dist-info/WHEEL"),
                b"Wheel-Version: 1.0\n",
            ),
            (&format!("{escaped}-{version}.dist-info/RECORD"), b""),
        ])
    }

    fn sdist(name: &str, version: &str) -> Vec<u8> {
        let escaped = name.replace('-', "_");
        tar_gz_bytes(&[
            (
                &format!("{escaped}-{version}/PKG-INFO"),
                &meta(name, version),
            ),
            (
                &format!("{escaped}-{version}/pyproject.toml"),
                b"".as_slice(),
            ),
        ])
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// The per-file rules (release-level ones are tested in `rules::release`).
    fn rules_for(d: &Discovery, path: &Path) -> Vec<&'static str> {
        d.problems_for(path)
            .map(|p| p.rule)
            .filter(|r| !r.starts_with("release-"))
            .collect()
    }

    #[test]
    fn finds_dists_in_sub_folders_wheels_first_and_ignores_strays() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            d,
            "sdist/improved_sdd-1.2.0.tar.gz",
            &sdist("improved-sdd", "1.2.0"),
        );
        write(
            d,
            "wheels/b/improved_sdd-1.2.0-py3-none-any.whl",
            &wheel("improved-sdd", "1.2.0"),
        );
        write(
            d,
            "wheels/a/improved_sdd-1.2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            // Metadata spelling the name and version differently from the filename.
            &zip_bytes(&[
                (
                    "improved_sdd-1.2.0.dist-info/METADATA",
                    &meta("Improved.SDD", "1.2"),
                ),
                (
                    "improved_sdd-1.2.0.dist-info/WHEEL",
                    b"Wheel-Version: 1.0\n",
                ),
                ("improved_sdd-1.2.0.dist-info/RECORD", b""),
            ]),
        );
        let strays = [
            ".gitignore",
            "wheels/improved_sdd-1.2.0-py3-none-any.whl.publish.attestation",
            "sdist/improved_sdd-1.2.0.tar.gz.sigstore.json",
            "sdist/improved_sdd-1.2.0.tar.gz.asc",
            "README.txt",
        ];
        for s in strays {
            write(d, s, b"x");
        }

        let found = discover(d).unwrap();
        assert!(found.is_clean(), "{:#?}", found.problems);
        let names: Vec<_> = found.dists.iter().map(|x| x.filename.as_str()).collect();
        assert_eq!(
            names,
            [
                "improved_sdd-1.2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                "improved_sdd-1.2.0-py3-none-any.whl",
                "improved_sdd-1.2.0.tar.gz"
            ]
        );
        let kinds: Vec<_> = found.dists.iter().map(|x| x.kind).collect();
        assert_eq!(kinds, [DistKind::Wheel, DistKind::Wheel, DistKind::Sdist]);
        let py: Vec<_> = found.dists.iter().map(|x| x.pyversion.as_str()).collect();
        assert_eq!(py, ["cp311", "py3", "source"]);
        let sd = &found.dists[2];
        assert_eq!(sd.path, d.join("sdist/improved_sdd-1.2.0.tar.gz"));
        assert_eq!(sd.size, std::fs::metadata(&sd.path).unwrap().len());
        assert_eq!(sd.metadata.name, "improved-sdd");
        assert_eq!(sd.metadata.get_all("classifier").count(), 2);
        assert_eq!(sd.metadata.description(), Some("Body\n"));
        assert_eq!(found.ignored.len(), strays.len());
    }

    #[test]
    fn every_problem_in_every_file_without_panicking() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let good = write(d, "good-1.0-py3-none-any.whl", &wheel("good", "1.0"));
        let zip = write(d, "legacy-1.0.zip", b"PK");
        let egg = write(d, "sub/legacy-1.0-py3.8.egg", b"x");
        let empty = write(d, "empty-1.0.tar.gz", b"");
        let whole = wheel("trunc", "1.0");
        let trunc = write(d, "trunc-1.0-py3-none-any.whl", &whole[..whole.len() / 2]);
        let garbage = write(d, "garbage-1.0.tar.gz", b"this is not gzip at all");
        let name = write(d, "other-1.0-py3-none-any.whl", &wheel("good", "1.0"));
        let ver = write(d, "good-2.0.tar.gz", &sdist("good", "2.0.1"));
        let badname = write(d, "bad-wheel.whl", &wheel("bad", "1.0"));
        let nometa = write(
            d,
            "nometa-1.0-py3-none-any.whl",
            &zip_bytes(&[("nometa-1.0.dist-info/RECORD", b"")]),
        );
        let missing = write(
            d,
            "missing-1.0.tar.gz",
            &tar_gz_bytes(&[(
                "missing-1.0/PKG-INFO",
                b"Metadata-Version: 2.1\nName: missing\n",
            )]),
        );
        let latin1 = write(
            d,
            "latin-1.0.tar.gz",
            &tar_gz_bytes(&[(
                "latin-1.0/PKG-INFO",
                b"Metadata-Version: 2.1\nName: latin\nVersion: 1.0\nAuthor: Jos\xe9\n",
            )]),
        );

        let found = discover(d).unwrap();
        assert_eq!(rules_for(&found, &good), Vec::<&str>::new());
        assert_eq!(rules_for(&found, &zip), ["unsupported-format"]);
        assert_eq!(rules_for(&found, &egg), ["unsupported-format"]);
        assert!(found
            .problems_for(&zip)
            .next()
            .unwrap()
            .message
            .contains("PEP 527"));
        assert_eq!(rules_for(&found, &empty), ["archive-corrupt"]);
        assert_eq!(rules_for(&found, &trunc), ["archive-corrupt"]);
        assert_eq!(rules_for(&found, &garbage), ["archive-corrupt"]);
        // The dist-info is named after the other project, so PyPI would not find it either.
        assert_eq!(
            rules_for(&found, &name),
            ["name-mismatch", "wheel-structure"]
        );
        assert_eq!(
            rules_for(&found, &ver),
            ["version-mismatch", "sdist-filename-pep625"]
        );
        assert_eq!(rules_for(&found, &badname), ["filename-invalid"]);
        assert_eq!(rules_for(&found, &nometa), ["metadata-missing"]);
        assert_eq!(rules_for(&found, &missing), ["metadata-missing"]);
        assert!(found
            .problems_for(&missing)
            .next()
            .unwrap()
            .message
            .contains("`Version`"));
        assert_eq!(rules_for(&found, &latin1), ["metadata-invalid"]);
        for p in &found.problems {
            assert!(!p.fix.is_empty() && !p.message.is_empty(), "{p:?}");
        }

        // Readable files are listed (with their problems recorded); unreadable ones are not.
        let listed: Vec<_> = found.dists.iter().map(|x| x.filename.as_str()).collect();
        assert_eq!(
            listed,
            [
                "good-1.0-py3-none-any.whl",
                "other-1.0-py3-none-any.whl",
                "good-2.0.tar.gz"
            ]
        );
        assert!(!found.is_clean());
    }

    #[test]
    fn damaged_archives_never_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let wheel_bytes = wheel("p", "1.0");
        let sdist_bytes = sdist("p", "1.0");
        for (name, good) in [
            ("p-1.0-py3-none-any.whl", &wheel_bytes),
            ("p-1.0.tar.gz", &sdist_bytes),
        ] {
            let path = d.join(name);
            let mut variants: Vec<Vec<u8>> = (0..good.len())
                .step_by(7)
                .map(|n| good[..n].to_vec())
                .collect();
            for i in (0..good.len()).step_by(5) {
                let mut v = good.clone();
                v[i] ^= 0x5a;
                variants.push(v);
            }
            for v in variants {
                std::fs::write(&path, &v).unwrap();
                let found = discover(d).unwrap();
                // Either it still reads (a flip in file data the reader never looks at) or
                // it is reported; never a panic, never silently dropped.
                assert!(
                    found.dists.len() == 1 || !found.problems.is_empty(),
                    "{name}: {} bytes vanished without a problem",
                    v.len()
                );
            }
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn same_filename_in_two_folders_is_a_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let a = write(d, "a/p-1.0-py3-none-any.whl", &wheel("p", "1.0"));
        let b = write(d, "b/p-1.0-py3-none-any.whl", &wheel("p", "1.0"));
        let found = discover(d).unwrap();
        assert_eq!(rules_for(&found, &a), ["duplicate-filename"]);
        assert_eq!(rules_for(&found, &b), ["duplicate-filename"]);
    }

    #[test]
    fn directory_level_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("dist");
        let err = discover(&missing).unwrap_err();
        assert!(matches!(err, DistError::DirMissing(_)));
        // The path, not an input name: the caller (action or command) adds the fix.
        assert_eq!(
            err.to_string(),
            format!("`{}` does not exist", missing.display())
        );

        let file = write(tmp.path(), "file", b"");
        assert!(matches!(discover(&file), Err(DistError::NotADirectory(_))));

        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let found = discover(&empty).unwrap();
        assert!(found.dists.is_empty() && found.problems.is_empty() && found.ignored.is_empty());
    }
}
