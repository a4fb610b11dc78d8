//! What must be inside a wheel or an sdist: the `.dist-info` files warehouse looks for,
//! a parsable `entry_points.txt`, one top-level directory holding `PKG-INFO`, and every
//! `License-File` where PEP 639 puts it.

use std::io::Read;
use std::path::Path;

use super::archive::Listing;
use super::*;
use crate::dist::CoreMetadata;

/// `prefix` is `{name}-{version}` exactly as the wheel's filename writes them; warehouse
/// reads `{prefix}.dist-info/{WHEEL,METADATA,RECORD}` at those exact paths.
pub fn wheel(path: &Path, prefix: &str, listing: &Listing, meta: &CoreMetadata, sink: &mut Sink) {
    let dist_info = format!("{prefix}.dist-info");
    let missing: Vec<String> = ["METADATA", "WHEEL", "RECORD"]
        .iter()
        .map(|f| format!("{dist_info}/{f}"))
        .filter(|f| !listing.has_file(f))
        .collect();
    if !missing.is_empty() {
        sink.error(
            WHEEL_STRUCTURE,
            format!(
                "lacks {}; PyPI reads these files at exactly these paths",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ),
            "rebuild the wheel with a standard build backend (`python -m build`); the `.dist-info` directory must be named after the wheel's own `{name}-{version}`",
        );
    }
    let in_wheel = |p: &str| listing.has_file(p);
    license_files(
        meta,
        &format!("{dist_info}/licenses"),
        &in_wheel,
        "wheel",
        sink,
    );
    let ep = format!("{dist_info}/entry_points.txt");
    if listing.has_file(&ep) {
        if let Some(text) = read_zip_member(path, &ep) {
            let errors = entry_points(&text);
            if !errors.is_empty() {
                sink.warning(
                    WHEEL_ENTRY_POINTS,
                    format!("`{ep}`: {}", errors.join("; ")),
                    "fix [project.scripts] / [project.entry-points] in pyproject.toml (`name = \"package.module:function\"`) and rebuild",
                );
            }
        }
    }
}

/// PEP 639: every `License-File` is in the archive (`has`), under `dir`.
fn license_files(
    meta: &CoreMetadata,
    dir: &str,
    has: &dyn Fn(&str) -> bool,
    kind: &str,
    sink: &mut Sink,
) {
    let missing: Vec<String> = super::metadata::pep639_license_files(meta)
        .into_iter()
        .map(|lf| format!("{dir}/{lf}"))
        .filter(|p| !has(p))
        .map(|p| format!("`{p}`"))
        .collect();
    if !missing.is_empty() {
        sink.error(
            LICENSE_FILE_MISSING,
            format!("declares License-File(s) missing from the {kind}: {}", missing.join(", ")),
            "list only files that exist in pyproject.toml's `license-files` and rebuild with a PEP 639-aware backend (setuptools ≥ 77, hatchling ≥ 1.27, flit-core ≥ 3.11)",
        );
    }
}

fn read_zip_member(path: &Path, member: &str) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f)).ok()?;
    let entry = zip.by_name(member).ok()?;
    let mut s = String::new();
    entry.take(1024 * 1024).read_to_string(&mut s).ok()?;
    Some(s)
}

/// Problems in an entry_points.txt (INI: `[group]` then `name = module[.sub][:attr] [extras]`).
pub fn entry_points(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut in_group = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if group.trim().is_empty() {
                errors.push(format!("line {n}: empty group name"));
            }
            in_group = true;
            continue;
        }
        if !in_group {
            errors.push(format!("line {n}: entry before any `[group]` header"));
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            errors.push(format!(
                "line {n}: `{line}` is not `name = object.reference`"
            ));
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.starts_with('[') {
            errors.push(format!("line {n}: missing entry point name"));
        }
        if !object_reference(value.trim()) {
            errors.push(format!(
                "line {n}: `{}` is not an object reference `module.path:attr`",
                value.trim()
            ));
        }
    }
    errors
}

fn identifier_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut c = part.chars();
            c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
                && c.all(|x| x.is_alphanumeric() || x == '_')
        })
}

/// `module(.sub)*(:attr(.attr)*)?` optionally followed by `[extras]` (deprecated but valid).
fn object_reference(value: &str) -> bool {
    let (reference, extras) = match value.split_once('[') {
        Some((r, e)) => (r.trim(), Some(e)),
        None => (value, None),
    };
    if extras.is_some_and(|e| !e.trim_end().ends_with(']')) {
        return false;
    }
    match reference.split_once(':') {
        Some((m, a)) => identifier_path(m.trim()) && identifier_path(a.trim()),
        None => identifier_path(reference),
    }
}

/// Exactly one top-level directory, holding `PKG-INFO` (warehouse: "Incorrect number of
/// top-level directories in sdist", "PKG-INFO not found at …"), and every License-File
/// below it.
pub fn sdist(listing: &Listing, meta: &CoreMetadata, sink: &mut Sink) {
    let mut tops: Vec<&str> = listing
        .members
        .iter()
        .filter_map(|m| {
            m.name
                .trim_start_matches("./")
                .split('/')
                .next()
                .filter(|s| !s.is_empty() && *s != ".")
        })
        .collect();
    tops.sort_unstable();
    tops.dedup();
    match tops.as_slice() {
        [top] => {
            let pkg_info = format!("{top}/PKG-INFO");
            let has = |n: &str| {
                listing.has_file(n) || listing.has_file(&format!("./{n}"))
            };
            if !has(&pkg_info) {
                sink.error(
                    SDIST_STRUCTURE,
                    format!("has no `{pkg_info}`; PyPI reads PKG-INFO from the single top-level directory"),
                    "build the sdist with `python -m build --sdist`",
                );
            }
            license_files(meta, top, &has, "sdist", sink);
        }
        [] => {}
        many => sink.error(
            SDIST_STRUCTURE,
            format!(
                "has {} top-level entries ({}); an sdist must hold exactly one directory `{{name}}-{{version}}/`",
                many.len(),
                many.iter().take(5).map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            ),
            "build the sdist with `python -m build --sdist` instead of packing files by hand",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_grammar() {
        assert!(entry_points(
            "[console_scripts]\nfoo = pkg.cli:main\nbar=pkg:main [extra]\n\n[x.y]\nz = a.b\n"
        )
        .is_empty());
        assert_eq!(entry_points("foo = a:b\n").len(), 1);
        assert_eq!(entry_points("[g]\nfoo = 1bad:x\n").len(), 1);
        assert_eq!(entry_points("[g]\nfoo a:b\n").len(), 1);
        assert_eq!(entry_points("[g]\n = a:b\n").len(), 1);
        assert_eq!(entry_points("[g]\nx = a:\n").len(), 1);
    }
}
