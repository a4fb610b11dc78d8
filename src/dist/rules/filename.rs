//! Filename rules beyond the grammar (which `dist::filename` parses): the exact name PyPI
//! expects for a project and version, and the wheel platform tags it accepts — both as
//! warehouse's `file_upload` applies them.

use crate::dist::filename::{normalize_name, WheelName};
use crate::dist::CoreMetadata;

use super::{Sink, FILENAME_NOT_NORMALIZED, SDIST_FILENAME_PEP625, WHEEL_PLATFORM_UNSUPPORTED};

/// `canonicalize_name(name).replace('-', '_')`: the name part PyPI requires in filenames.
pub fn escaped_name(name: &str) -> String {
    normalize_name(name).replace('-', "_")
}

/// A wheel's name part must be exactly the normalized, escaped project name (warehouse:
/// "Filename ... should contain the normalized project name").
pub fn wheel(filename: &str, parsed: &WheelName, meta: &CoreMetadata, sink: &mut Sink) {
    let expected = escaped_name(&meta.name);
    if normalize_name(&parsed.name) == normalize_name(&meta.name) && parsed.name != expected {
        sink.error(
            FILENAME_NOT_NORMALIZED,
            format!(
                "`{filename}` starts with `{}`; PyPI requires the normalized project name `{expected}`",
                parsed.name
            ),
            "rebuild with a current build backend (setuptools ≥ 75.8, hatchling, flit, uv, maturin), which writes normalized names; do not rename by hand",
        );
    }
    let bad: Vec<&str> = parsed
        .platform_tag
        .split('.')
        .filter(|t| !valid_platform_tag(t))
        .collect();
    if !bad.is_empty() {
        let linux = bad.iter().any(|t| t.starts_with("linux_"));
        sink.error(
            WHEEL_PLATFORM_UNSUPPORTED,
            format!(
                "`{filename}` has platform tag(s) {} that PyPI refuses{}",
                bad.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                if linux { " (a plain `linux_*` wheel only runs on the machine that built it)" } else { "" }
            ),
            if linux {
                "build Linux wheels in a manylinux/musllinux container (cibuildwheel) or repair them with `auditwheel repair`"
            } else {
                "build the wheel for a platform PyPI supports (see PEP 600/656 and cibuildwheel); upload pure-Python code as a `py3-none-any` wheel"
            },
        );
    }
}

/// PEP 625: an sdist must be named `{normalized_name}-{normalized version}.tar.gz` (warehouse
/// compares the filename with exactly that string).
pub fn sdist(filename: &str, meta: &CoreMetadata, sink: &mut Sink) {
    let Ok(version) = meta.version.trim().parse::<pep440_rs::Version>() else {
        return; // reported by the version rules
    };
    let expected = format!("{}-{version}.tar.gz", escaped_name(&meta.name));
    if filename != expected {
        sink.error(
            SDIST_FILENAME_PEP625,
            format!("`{filename}` is not the PEP 625 name `{expected}` PyPI requires"),
            "rebuild with a current build backend (e.g. `pip install -U build setuptools` then `python -m build`), which writes PEP 625 names",
        );
    }
}

const ALLOWED: &[&str] = &[
    "any",
    "win32",
    "win_arm64",
    "win_amd64",
    "win_ia64",
    "manylinux1_x86_64",
    "manylinux1_i686",
    "manylinux2010_x86_64",
    "manylinux2010_i686",
    "manylinux2014_x86_64",
    "manylinux2014_i686",
    "manylinux2014_aarch64",
    "manylinux2014_armv7l",
    "manylinux2014_ppc64",
    "manylinux2014_ppc64le",
    "manylinux2014_s390x",
    "linux_armv6l",
    "linux_armv7l",
];
const MACOS_ARCHES: &[&str] = &[
    "ppc",
    "ppc64",
    "i386",
    "x86_64",
    "arm64",
    "intel",
    "fat",
    "fat3",
    "fat64",
    "universal",
    "universal2",
];
const MACOS_MAJORS: &[&str] = &["11", "12", "13", "14", "15", "26"];
const LINUX_ARCHES: &[&str] = &[
    "x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64",
];

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// warehouse `_valid_platform_tag`, rule for rule.
pub fn valid_platform_tag(tag: &str) -> bool {
    if ALLOWED.contains(&tag) {
        return true;
    }
    // macosx_{major}_{minor}_{arch}; arch may itself contain `_`.
    if let Some(rest) = tag.strip_prefix("macosx_") {
        let mut it = rest.splitn(3, '_');
        if let (Some(major), Some(minor), Some(arch)) = (it.next(), it.next(), it.next()) {
            if digits(major) && digits(minor) && MACOS_ARCHES.contains(&arch) {
                return major == "10" || (MACOS_MAJORS.contains(&major) && minor == "0");
            }
        }
        return false;
    }
    for (prefix, extra) in [("manylinux_", Some("ppc64")), ("musllinux_", None)] {
        if let Some(rest) = tag.strip_prefix(prefix) {
            let mut it = rest.splitn(3, '_');
            if let (Some(a), Some(b), Some(arch)) = (it.next(), it.next(), it.next()) {
                if digits(a) && digits(b) {
                    return LINUX_ARCHES.contains(&arch) || Some(arch) == extra;
                }
            }
            return false;
        }
    }
    // ios_{x}_{y}_{arch}_{iphoneos|iphonesimulator}
    if let Some(rest) = tag.strip_prefix("ios_") {
        let mut it = rest.splitn(3, '_');
        if let (Some(a), Some(b), Some(tail)) = (it.next(), it.next(), it.next()) {
            if digits(a) && digits(b) {
                for sdk in ["_iphoneos", "_iphonesimulator"] {
                    if let Some(arch) = tail.strip_suffix(sdk) {
                        return ["arm64", "x86_64"].contains(&arch);
                    }
                }
            }
        }
        return false;
    }
    if let Some(rest) = tag.strip_prefix("android_") {
        if let Some((api, arch)) = rest.split_once('_') {
            return digits(api) && ["armeabi_v7a", "arm64_v8a", "x86", "x86_64"].contains(&arch);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_tags_as_warehouse_judges_them() {
        for ok in [
            "any",
            "win_amd64",
            "manylinux_2_17_x86_64",
            "manylinux2014_aarch64",
            "musllinux_1_2_aarch64",
            "macosx_10_9_x86_64",
            "macosx_11_0_arm64",
            "macosx_14_0_universal2",
            "linux_armv7l",
            "ios_13_0_arm64_iphoneos",
            "android_21_arm64_v8a",
            "manylinux_2_28_ppc64",
        ] {
            assert!(valid_platform_tag(ok), "{ok}");
        }
        for bad in [
            "linux_x86_64",
            "linux_aarch64",
            "macosx_11_1_arm64",
            "macosx_10_9_sparc",
            "musllinux_1_2_ppc64",
            "manylinux_x_y_x86_64",
            "freebsd_13_amd64",
            "",
        ] {
            assert!(!valid_platform_tag(bad), "{bad}");
        }
    }

    #[test]
    fn escaped_names() {
        assert_eq!(escaped_name("Improved.SDD"), "improved_sdd");
        assert_eq!(escaped_name("a--b__c"), "a_b_c");
    }
}
