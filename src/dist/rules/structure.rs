//! What must be inside a wheel or an sdist: the `.dist-info` files warehouse looks for,
//! an `entry_points.txt` PyPI accepts (`entry_points`), one top-level directory holding `PKG-INFO`, and every
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
        if let Some(bytes) = read_zip_member(path, &ep) {
            match super::entry_points::warehouse_verdict(&bytes) {
                Err(why) => sink.error(
                    WHEEL_ENTRY_POINTS,
                    format!("`{ep}`: {why}; PyPI refuses the upload (\"Wheel '…' has invalid entry points defined in the entry_points.txt file\")"),
                    "fix [project.scripts] / [project.gui-scripts] / [project.entry-points] in pyproject.toml (one `name = \"package.module:function\"` per line; names of letters, digits, `_`, `.`, `-`) and rebuild",
                ),
                Ok(ini) => {
                    let bad = super::entry_points::script_value_problems(&ini);
                    if !bad.is_empty() {
                        sink.warning(
                            WHEEL_ENTRY_POINTS_VALUE,
                            format!("`{ep}`: {}; PyPI accepts it, but pip and uv refuse to install the wheel (\"Invalid script entry point\")", bad.join("; ")),
                            "point each script at a function: `name = \"package.module:function\"` in [project.scripts] of pyproject.toml, and rebuild",
                        );
                    }
                }
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

fn read_zip_member(path: &Path, member: &str) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f)).ok()?;
    let entry = zip.by_name(member).ok()?;
    let mut out = Vec::new();
    entry.take(1024 * 1024).read_to_end(&mut out).ok()?;
    Some(out)
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
